/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The background logic of the mailenroll MailExtension (messaging/README.md has the
// picture): it detects challenge mails, has the helper inspect them, shows the helper's
// questions, sends the approved reply through the person's own account, binds the
// issued certificate to the identity, watches renewals, and serves the pages.

import { enrollParams, REVOCATION_REASONS } from "../lib/enrollment.mjs";
import { RpcError } from "../lib/jsonrpc.mjs";
import { HelperConnection } from "./helper.mjs";
import { Prompts } from "./prompts.mjs";
import { TestControl } from "./testcontrol.mjs";
import { KEYS, boundMap, load, save } from "./store.mjs";
import { Log } from "./log.mjs";
import { Serial } from "./jobs.mjs";
import { _, errorText } from "./text.mjs";
import { Notifier } from "./notify.mjs";
import { listIdentities } from "./identities.mjs";
import { Status } from "./status.mjs";
import { SeenStore } from "./seen.mjs";
import { Binder } from "./binding.mjs";
import { ReplySender } from "./reply.mjs";
import { MessageWarnings } from "./warnings.mjs";
import { MailWatcher } from "./mailwatch.mjs";
import { PeriodicCheck } from "./renewal.mjs";


export class App {
  constructor() {
    this.version = browser.runtime.getManifest().version;
    this.logger = new Log();
    this.log = this.logger.write;
    this.notifier = new Notifier({ log: this.log });
    this.notify = this.notifier.notify;
    this.prompts = new Prompts({ log: this.log, onChange: () => this.broadcast({ type: "changed" }) });
    this.helper = new HelperConnection({
      clientName: `mailenroll-extension/${this.version}`,
      onRequest: (method, params) => this.onHelperRequest(method, params),
      onNotification: (method, params) => this.onHelperNotification(method, params),
      onStateChange: conn => this.onConnectionChange(conn),
      log: this.log,
    });
    this.status = new Status({ helper: this.helper, broadcast: msg => this.broadcast(msg) });
    this.seen = new SeenStore();
    this.binder = new Binder({
      helper: this.helper,
      identities: () => this.identities(),
      notify: this.notify,
      broadcast: msg => this.broadcast(msg),
      log: this.log,
    });
    this.replies = new ReplySender({
      helper: this.helper,
      seen: this.seen,
      status: this.status,
      binder: this.binder,
      identities: () => this.identities(),
      notify: this.notify,
      broadcast: msg => this.broadcast(msg),
      log: this.log,
    });
    this.serial = new Serial();
    this.warnings = new MessageWarnings({ notify: this.notify, log: this.log });
    this.mail = new MailWatcher({
      helper: this.helper,
      seen: this.seen,
      status: this.status,
      replies: this.replies,
      warnings: this.warnings,
      identities: () => this.identities(),
      queue: this.serial,
      notify: this.notify,
      log: this.log,
    });
    this.check = new PeriodicCheck({
      helper: this.helper,
      status: this.status,
      binder: this.binder,
      replies: this.replies,
      notify: this.notify,
      log: this.log,
    });
    // start() is through (with or without the helper): later connections rescan themselves
    this.startupDone = false;
  }

  // ---- start-up

  /** Loads what the extension keeps; cheap, and awaited by every event handler. */
  init() {
    if (!this._init) {
      this._init = this.seen.load();
    }
    return this._init;
  }

  /** init(), the connection to the helper, the start-up scan and check (once). */
  start() {
    if (!this._start) {
      this._start = this._startOnce();
    }
    return this._start;
  }

  async _startOnce() {
    await this.init();
    this.log("starting; experiment API", this.hasExperiment() ? "available" : "not available");
    this.helper.start();
    // neither may hold up the start-up scan: each gives up after 2 s (seen: disable() not
    // settling right after a restart of a headless Thunderbird)
    await this.warnings.reset();
    await this.check.ensureAlarm();
    try {
      await this.helper.ready(20000);
    } catch (e) {
      this.log("helper not available at start-up:", errorText(e));
      this.startupDone = true;
      return;
    }
    await this.status.refresh();
    this.log(`start-up: ${this.status.enrollments.length} enrollment(s)`, this.status.error || "");
    // always at start-up: mail may have come while Thunderbird was closed
    await this.mail.scanRecent({ force: true });
    this.startupDone = true;
    this.serial.run(() => this.check.run());
  }

  hasExperiment() {
    return this.binder.hasExperiment();
  }

  onConnectionChange(conn) {
    if (conn.state !== "ready") {
      this.prompts.cancelAll(_("promptCancelledDisconnect"));
    } else if (this.startupDone) {
      // a helper after none or after a lost one: what waited for it can go on
      const first = !this.mail.scannedOnce;
      this.status.refresh().then(() => this.mail.scanRecent({ force: first }));
      if (first) {
        this.serial.run(() => this.check.run());
      }
    }
    this.broadcast({ type: "changed" });
  }

  // ---- the helper's requests and events

  async onHelperRequest(method, params) {
    if (method === "prompt") {
      this.log("helper asks the person about a challenge for", params && params.mailbox);
      return this.prompts.ask(params);
    }
    if (method.startsWith("test.")) {
      // only a helper started by an automated test sends these (PROTOCOL.md §10)
      this.testControl = this.testControl || new TestControl(this);
      return this.testControl.handle(method, params);
    }
    throw new RpcError(-32601, `The extension does not know the method ${method}.`, { name: "method-not-found", method });
  }

  onHelperNotification(method, params) {
    if (method === "progress") {
      this.status.onProgress(params);
    }
  }

  identities() {
    return listIdentities({ log: this.log });
  }

  // ---- the periodic check

  async onAlarm(alarm) {
    if (this.check.isAlarm(alarm)) {
      await this.init();
      this.serial.run(() => this.check.run());
      await this.mail.scanRecent({ force: true });
    }
  }

  // ---- the pages

  broadcast(msg) {
    browser.runtime.sendMessage(Object.assign({ source: "mailenroll-background" }, msg)).catch(() => {
      // no page is open
    });
  }

  /** runtime.onMessage from the extension's own pages. */
  onPageMessage(msg, sender) {
    if (!msg || typeof msg.type !== "string" || !sender || sender.id !== browser.runtime.id) {
      return undefined;
    }
    if (typeof sender.url === "string" && !sender.url.startsWith(browser.runtime.getURL(""))) {
      return undefined;
    }
    const handlers = {
      "state.get": () => this.pageState(),
      "status.refresh": () => this.status.refresh().then(() => this.pageState()),
      "helper.reconnect": () => {
        this.helper.connectNow();
        return this.pageState();
      },
      enroll: () => this.pageEnroll(msg),
      renew: () => this.pageRenew(msg),
      revoke: () => this.pageRevoke(msg),
      install: () => this.pageInstall(msg),
      bind: () => this.pageBind(msg),
      "prompt.get": () => Promise.resolve(this.prompts.details(String(msg.key))),
      "prompt.answer": () => Promise.resolve(this.prompts.answer(String(msg.key), msg.approve === true)),
      "warning.get": () => Promise.resolve(this.warnings.forTab(msg.tabId)),
      "scan.now": () => this.mail.scanRecent({ force: true }).then(() => true),
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

  async pageState() {
    const identities = await this.identities();
    const bindings = await this.binder.bindings(identities);
    return {
      version: this.version,
      connection: this.helper.describe(),
      experiment: this.hasExperiment(),
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

  async pageEnroll(msg) {
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
    await this.mail.scanRecent({ force: true, since: started - 10 * 60 * 1000 });
    return result;
  }

  async pageRenew(msg) {
    const params = { mailbox: String(msg.mailbox || ""), force: msg.force === true };
    if (msg.ca) params.ca = String(msg.ca);
    const result = await this.helper.call("renew", params, { now: true });
    await this.status.refresh();
    await this.mail.scanRecent({ force: true, since: Date.now() - 10 * 60 * 1000 });
    return result;
  }

  async pageRevoke(msg) {
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

  async pageInstall(msg) {
    const mailbox = String(msg.mailbox || "");
    const explicit = typeof msg.identityId === "string" ? msg.identityId : null;
    const result = await this.binder.install(mailbox, msg.ca ? String(msg.ca) : undefined, { explicit, now: true });
    await this.status.refresh();
    return result;
  }

  async pageBind(msg) {
    const mailbox = String(msg.mailbox || "");
    const e = this.status.find(mailbox);
    if (!e) {
      throw new Error(_("errorNoCertificate", [mailbox]));
    }
    await this.binder.bind(mailbox, e, { explicit: typeof msg.identityId === "string" ? msg.identityId : true });
    return true;
  }
}
