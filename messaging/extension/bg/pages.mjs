/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The extension's own pages (pages/options.html, prompt.html, warning.html) talk to the
// background with runtime messages {type, ...} and get {ok: true, result} or {ok: false,
// error, name} back; the background tells open pages of changes with broadcast()
// ({source: "mailenroll-background", type: "changed" | "progress" | ...}). The options
// page's view is state(): the connection, identities and their bindings, enrollments,
// progress, failures.

import { enrollParams, REVOCATION_REASONS } from "../lib/enrollment.mjs";
import { RpcError } from "../lib/jsonrpc.mjs";
import { canConfigure } from "../lib/setup.mjs";
import { KEYS, load } from "./store.mjs";
import { _, errorText } from "./text.mjs";

// a new request or renewal also looks at mail this much older than itself
const RESCAN_BEFORE_MS = 10 * 60 * 1000;

/** Tells every open page of the extension; nothing happens when none is open. */
export function broadcast(msg) {
  browser.runtime.sendMessage(Object.assign({ source: "mailenroll-background" }, msg)).catch(() => {
    // no page is open
  });
}

/**
 * Whether a runtime message is a request of one of the extension's own pages: a `type`,
 * sent by this extension, from one of its URLs (when the sender has a URL).
 *
 * @param {object} msg
 * @param {object} sender runtime.MessageSender
 * @param {{id: string, baseUrl: string}} self the extension's id and runtime.getURL("")
 */
export function fromOwnPage(msg, sender, { id, baseUrl }) {
  if (!msg || typeof msg.type !== "string" || !sender || sender.id !== id) {
    return false;
  }
  if (typeof sender.url === "string" && !sender.url.startsWith(baseUrl)) {
    return false;
  }
  return true;
}

export class PageRouter {
  /**
   * @param {object} options
   * @param {string} options.version the extension's version
   * @param {() => Promise<void>} options.init the background's init()
   * @param {import("./helper.mjs").HelperConnection} options.helper
   * @param {import("./status.mjs").Status} options.status
   * @param {import("./prompts.mjs").Prompts} options.prompts
   * @param {import("./warnings.mjs").MessageWarnings} options.warnings
   * @param {import("./mailwatch.mjs").MailWatcher} options.mail
   * @param {import("./binding.mjs").Binder} options.binder
   * @param {import("./reply.mjs").ReplySender} options.replies
   * @param {() => Promise<object[]>} options.identities bg/identities.mjs listIdentities
   * @param {object} [options.runtime] the runtime API (id, getURL)
   */
  constructor({ version, init, helper, status, prompts, warnings, mail, binder, replies, identities, runtime = browser.runtime }) {
    this.version = version;
    this.init = init;
    this.helper = helper;
    this.status = status;
    this.prompts = prompts;
    this.warnings = warnings;
    this.mail = mail;
    this.binder = binder;
    this.replies = replies;
    this.identities = identities;
    this.runtime = runtime;
  }

  /** runtime.onMessage from the extension's own pages; undefined for anything else. */
  onMessage(msg, sender) {
    if (!fromOwnPage(msg, sender, { id: this.runtime.id, baseUrl: this.runtime.getURL("") })) {
      return undefined;
    }
    const handlers = {
      "state.get": () => this.state(),
      "status.refresh": () => this.status.refresh().then(() => this.state()),
      "helper.reconnect": () => {
        this.helper.connectNow();
        return this.state();
      },
      enroll: () => this.enroll(msg),
      renew: () => this.renew(msg),
      revoke: () => this.revoke(msg),
      install: () => this.install(msg),
      bind: () => this.bind(msg),
      "prompt.get": () => Promise.resolve(this.prompts.details(String(msg.key))),
      "prompt.answer": () => Promise.resolve(this.prompts.answer(String(msg.key), msg.approve === true)),
      "warning.get": () => Promise.resolve(this.warnings.forTab(msg.tabId)),
      "scan.now": () => this.mail.scanRecent({ force: true }).then(() => true),
      "setup.get": () => this.setupGet(msg),
      "setup.set": () => this.setupCall("config.set", msg.params),
      "setup.addCa": () => this.setupCall("ca.add", msg.params),
      "setup.agree": () => this.setupCall("ca.agree", msg.params),
      "setup.eab": () => this.setupCall("ca.eab", msg.params),
    };
    const handler = handlers[msg.type];
    if (!handler) {
      return undefined;
    }
    return this.init()
      .then(handler)
      .then(
        result => ({ ok: true, result }),
        e => ({ ok: false, error: errorText(e), name: e instanceof RpcError ? e.errorName : null })
      );
  }

  /** What the options page shows. */
  async state() {
    const identities = await this.identities();
    const bindings = await this.binder.bindings(identities);
    return {
      version: this.version,
      connection: this.helper.describe(),
      experiment: this.binder.hasExperiment(),
      identities,
      bindings,
      enrollments: this.status.enrollments,
      statusError: this.status.error,
      progress: this.status.progressView(),
      failures: await load(KEYS.failures, {}),
      manual: await load(KEYS.manual, {}),
      busy: this.replies.busyMailboxes(),
      prompts: this.prompts.count,
    };
  }

  /**
   * The helper's configuration for the options page's set-up part: {configurable: false}
   * for a helper without the configuration methods (the page then says it is too old to
   * be configured here), else {configurable: true, config} (`config.get`; `meta: false`
   * skips fetching the CAs' directories).
   */
  async setupGet(msg) {
    await this.helper.ready(15000, true);
    if (!canConfigure(this.helper.describe().methods)) {
      return { configurable: false };
    }
    const config = await this.helper.call("config.get", { meta: msg.meta !== false }, { now: true });
    return { configurable: true, config };
  }

  /** One configuration write of the options page, passed on as the page built it (lib/setup.mjs). */
  async setupCall(method, params) {
    if (!params || typeof params !== "object" || Array.isArray(params)) {
      throw new Error(_("errorUnknown"));
    }
    return this.helper.call(method, params, { now: true });
  }

  /** The options page's "Request a certificate" ({form: {mailbox, ca}, identityId?}). */
  async enroll(msg) {
    const { params, problem } = enrollParams(msg.form);
    if (!params) {
      throw new Error(_(problem === "ca" ? "errorBadCa" : "errorBadMailbox"));
    }
    if (typeof msg.identityId === "string") {
      await this.binder.rememberPick(params.mailbox, msg.identityId);
    }
    await this.replies.clearFailure(params.mailbox);
    const started = Date.now();
    const result = await this.status.whileEnrolling(() => this.helper.call("enroll", params, { now: true }));
    await this.status.refresh();
    // a challenge that came while the order was being made, or an older copy
    this.mail.forgetUnmatched();
    await this.mail.scanRecent({ force: true, since: started - RESCAN_BEFORE_MS });
    return result;
  }

  async renew(msg) {
    const params = { mailbox: String(msg.mailbox || ""), force: msg.force === true };
    if (msg.ca) params.ca = String(msg.ca);
    const result = await this.helper.call("renew", params, { now: true });
    await this.status.refresh();
    await this.mail.scanRecent({ force: true, since: Date.now() - RESCAN_BEFORE_MS });
    return result;
  }

  async revoke(msg) {
    const reason = Number(msg.reason);
    if (!REVOCATION_REASONS.includes(reason)) {
      throw new Error(_("errorBadReason"));
    }
    const params = { mailbox: String(msg.mailbox || ""), reason };
    if (msg.ca) params.ca = String(msg.ca);
    const result = await this.helper.call("revoke", params, { now: true });
    await this.status.refresh();
    return result;
  }

  async install(msg) {
    const mailbox = String(msg.mailbox || "");
    const explicit = typeof msg.identityId === "string" ? msg.identityId : null;
    const result = await this.binder.install(mailbox, msg.ca ? String(msg.ca) : undefined, { explicit, now: true });
    await this.status.refresh();
    return result;
  }

  async bind(msg) {
    const mailbox = String(msg.mailbox || "");
    const e = this.status.find(mailbox);
    if (!e) {
      throw new Error(_("errorNoCertificate", [mailbox]));
    }
    await this.binder.bind(mailbox, e, { explicit: typeof msg.identityId === "string" ? msg.identityId : true });
    return true;
  }
}
