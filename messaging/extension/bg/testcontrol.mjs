/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The helper's `test.*` requests (messaging/PROTOCOL.md §10). The helper sends them only
// when an automated test started Thunderbird with MAILENROLL_TEST_CONTROL; they let the
// test do in a headless Thunderbird what a person does with the mouse, through the same
// functions the pages use:
//
//   test.state          counts the test waits on: identities, open prompts, warnings,
//                       and whether the helper connection is ready
//   test.enroll         {mailbox, ca?}: the options page's "Request a certificate"
//   test.prompt.answer  {approve}: a click on Approve or Decline in the open prompt window
//   test.identity       {mailbox}: the identity's S/MIME binding (Experiment)
//   test.sendSigned     {mailbox, to, subject, body}: a new message from the identity,
//                       S/MIME-signed, sent now
//   test.page           {action, ...}: the options page (opened when it is not) fills in
//                       and clicks what a person would (pages/options.js: addCa {url},
//                       pick {ca}, agree, eab {kid, mac}, set {key, value}, request
//                       {mailbox}, show {target}, reload, read) and answers with what
//                       it shows
//
// Anything else is method-not-found, as for any unknown request.

import { RpcError } from "../lib/jsonrpc.mjs";
import { errorText } from "./text.mjs";

const CLICK_TIMEOUT_MS = 20000;
// the options page: opening it, and the longest action (a request)
const PAGE_OPEN_TIMEOUT_MS = 30000;
const PAGE_REOPEN_MS = 5000;
const PAGE_ACTIONS = ["read", "reload", "addCa", "pick", "agree", "eab", "set", "request", "show"];
const SEND_TIMEOUT_MS = 60000;

function str(v, max = 1024) {
  return typeof v === "string" ? v.slice(0, max) : "";
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

export class TestControl {
  /**
   * @param {object} options
   * @param {() => Promise<void>} options.init the background's init()
   * @param {import("./helper.mjs").HelperConnection} options.helper
   * @param {import("./prompts.mjs").Prompts} options.prompts
   * @param {import("./pages.mjs").PageRouter} options.pages what the pages do
   * @param {import("./binding.mjs").Binder} options.binder
   * @param {import("./warnings.mjs").MessageWarnings} options.warnings
   * @param {() => Promise<object[]>} options.identities bg/identities.mjs listIdentities
   * @param {import("./log.mjs").Log} options.logger
   * @param {(msg: object) => void} options.broadcast tells the open pages
   */
  constructor({ init, helper, prompts, pages, binder, warnings, identities, logger, broadcast }) {
    this.init = init;
    this.helper = helper;
    this.prompts = prompts;
    this.pages = pages;
    this.binder = binder;
    this.warnings = warnings;
    this.identities = identities;
    this.logger = logger;
    this.broadcast = broadcast;
  }

  async handle(method, params) {
    const p = params && typeof params === "object" ? params : {};
    const handlers = {
      "test.state": () => this.state(),
      "test.enroll": () => this.pages.enroll({ form: { mailbox: str(p.mailbox, 320), ca: str(p.ca, 64) } }),
      "test.prompt.answer": () => this.answerPrompt(p.approve === true),
      "test.identity": () => this.binding(str(p.mailbox, 320)),
      "test.sendSigned": () => this.sendSigned(p),
      "test.page": () => this.page(p),
    };
    const handler = handlers[method];
    if (!handler) {
      throw new RpcError(-32601, `There is no test command ${method}.`, { name: "method-not-found", method });
    }
    await this.init();
    return handler();
  }

  async state() {
    const identities = await this.identities();
    const warnings = await this.warnings.count();
    return {
      connected: this.helper.describe().state === "ready",
      identities: identities.length,
      prompts: this.prompts.count,
      warnings,
      experiment: this.binder.hasExperiment(),
      log: this.logger.tail(50),
    };
  }

  // the prompt page listens for this and clicks its own button, so the click runs the
  // page's code (pages/prompt.js) exactly as a person's would
  async answerPrompt(approve) {
    const before = this.prompts.count;
    if (before === 0) {
      throw new RpcError(-32602, "No prompt is open.", { name: "invalid-params" });
    }
    const deadline = Date.now() + CLICK_TIMEOUT_MS;
    // the window may still be loading: click again until its page has the listener
    for (let tick = 0; this.prompts.count >= before; tick++) {
      if (Date.now() > deadline) {
        throw new RpcError(-32603, "The prompt window did not answer the click.", { name: "internal-error" });
      }
      if (tick % 10 === 0) {
        this.broadcast({ type: "test.click", button: approve ? "approve" : "decline" });
      }
      await sleep(50);
    }
    return { clicked: approve ? "approve" : "decline" };
  }

  // one message to the options page; undefined when no page answers it
  async toPage(msg) {
    try {
      return await browser.runtime.sendMessage(Object.assign({ source: "mailenroll-background", type: "test.page" }, msg));
    } catch (e) {
      return undefined; // no page is open (yet)
    }
  }

  // the options page does what a person would; it is opened first when it is not open
  async page(p) {
    const action = str(p.action, 32);
    if (!PAGE_ACTIONS.includes(action)) {
      throw new RpcError(-32602, `There is no page action ${action}.`, { name: "invalid-params" });
    }
    const deadline = Date.now() + PAGE_OPEN_TIMEOUT_MS;
    let opened = 0;
    let seen = await this.toPage({ action: "read" });
    // until the page has loaded its state and the set-up part; right after start-up
    // Thunderbird may refuse to open the tab or drop it, so it is asked again
    while (!(seen && seen.loaded)) {
      if (Date.now() > deadline) {
        throw new RpcError(-32603, "The options page did not open.", { name: "internal-error" });
      }
      if (seen === undefined && Date.now() - opened > PAGE_REOPEN_MS) {
        opened = Date.now();
        await browser.runtime.openOptionsPage().catch(e => this.logger.write("test.page: opening the options page failed:", errorText(e)));
      }
      await sleep(100);
      seen = await this.toPage({ action: "read" });
    }
    const params = { action };
    for (const k of ["url", "ca", "kid", "mac", "key", "value", "mailbox", "target"]) {
      if (typeof p[k] === "string") params[k] = str(p[k], 2048);
    }
    return this.toPage(params);
  }

  async identityFor(mailbox) {
    const want = mailbox.toLowerCase();
    const identity = (await this.identities()).find(i => (i.email || "").toLowerCase() === want);
    if (!identity) {
      throw new RpcError(-32602, `No identity has the address ${mailbox}.`, { name: "invalid-params" });
    }
    return identity;
  }

  async binding(mailbox) {
    const identity = await this.identityFor(mailbox);
    if (!this.binder.hasExperiment()) {
      throw new RpcError(-32603, "The Experiment API is not available.", { name: "internal-error" });
    }
    const b = await this.binder.binding(identity.id);
    return {
      identity: identity.id,
      signing_cert_name: b.signingCertName || null,
      signing_cert_dbkey: b.signingDbKey || null,
      signing_found: b.signingFound === true,
      encryption_cert_dbkey: b.encryptionDbKey || null,
    };
  }

  async sendSigned(p) {
    const identity = await this.identityFor(str(p.mailbox, 320));
    const tab = await browser.compose.beginNew({
      identityId: identity.id,
      to: [str(p.to, 320)],
      subject: str(p.subject, 200),
      isPlainText: true,
      plainTextBody: str(p.body, 4096),
    });
    try {
      await browser.compose.setComposeDetails(tab.id, {
        selectedEncryptionTechnology: { name: "S/MIME", signMessage: true, encryptBody: false },
      });
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new RpcError(-32603, "Sending the signed message timed out.", { name: "internal-error" })), SEND_TIMEOUT_MS);
      });
      const sent = await Promise.race([browser.compose.sendMessage(tab.id, { mode: "sendNow" }), timeout]);
      clearTimeout(timer);
      return { headerMessageId: sent && sent.headerMessageId ? sent.headerMessageId : null };
    } catch (e) {
      browser.tabs.remove(tab.id).catch(() => {});
      throw e;
    }
  }
}
