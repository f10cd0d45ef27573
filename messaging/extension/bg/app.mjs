/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The background of the mailenroll MailExtension, put together (messaging/README.md has
// the picture). Each concern is a module of its own that gets what it works with by
// constructor; App makes one of each, wires them together, and runs the start-up, the
// reaction to the helper's connection and the alarm. background.js adds the listeners
// and hands each event to the module it is for:
//
//   bg/mailwatch.mjs  MailWatcher     new mail, the scan of recent mail, inspecting candidates
//   bg/warnings.mjs   MessageWarnings warnings on messages the helper will not answer
//   bg/reply.mjs      ReplySender     compose and send the reply, reply.sent / reply.failed
//   bg/binding.mjs    Binder          install, and bind the certificate to identities
//   bg/renewal.mjs    PeriodicCheck   the 6-hour check: notices, resumption, renewals
//   bg/pages.mjs      PageRouter      the pages' requests and the options page's view
//   bg/prompts.mjs    Prompts         the helper's `prompt` as a popup window
//   bg/helper.mjs     HelperConnection the native-messaging port to mailenroll-helper
//   bg/status.mjs     Status          the helper's enrollments and progress
//   bg/seen.mjs       SeenStore       the challenge mails already inspected

import { RpcError } from "../lib/jsonrpc.mjs";
import { Binder } from "./binding.mjs";
import { HelperConnection } from "./helper.mjs";
import { listIdentities } from "./identities.mjs";
import { Serial } from "./jobs.mjs";
import { Log } from "./log.mjs";
import { MailWatcher } from "./mailwatch.mjs";
import { Notifier } from "./notify.mjs";
import { PageRouter, broadcast } from "./pages.mjs";
import { Prompts } from "./prompts.mjs";
import { PeriodicCheck } from "./renewal.mjs";
import { ReplySender } from "./reply.mjs";
import { SeenStore } from "./seen.mjs";
import { Status } from "./status.mjs";
// ME_TEST_HOOKS begin
import { TestControl } from "./testcontrol.mjs";
// ME_TEST_HOOKS end
import { _, errorText } from "./text.mjs";
import { MessageWarnings } from "./warnings.mjs";

export class App {
  constructor() {
    this.version = browser.runtime.getManifest().version;
    this.logger = new Log();
    const log = this.logger.write;
    this.log = log;
    this.notifier = new Notifier({ log });
    const notify = this.notifier.notify;
    const identities = () => listIdentities({ log });
    const init = () => this.init();

    this.helper = new HelperConnection({
      clientName: `mailenroll-extension/${this.version}`,
      onRequest: (method, params) => this.onHelperRequest(method, params),
      onNotification: (method, params) => this.onHelperNotification(method, params),
      onStateChange: conn => this.onConnectionChange(conn),
      log,
      // without the Experiment (the no-experiment build) the helper finds the profile from
      // its parent, which works for a deb Thunderbird only
      profileDir: () => {
        const api = browser.mailenrollSmime;
        return api && typeof api.getProfileDir === "function" ? api.getProfileDir() : null;
      },
    });
    const helper = this.helper;
    this.prompts = new Prompts({ log, onChange: () => broadcast({ type: "changed" }) });
    this.status = new Status({ helper, broadcast });
    this.seen = new SeenStore();
    // one inspection or check at a time: the helper works on one enrollment at a time
    this.queue = new Serial();

    this.binder = new Binder({ helper, identities, notify, broadcast, log });
    this.replies = new ReplySender({ helper, seen: this.seen, status: this.status, binder: this.binder, identities, notify, broadcast, log });
    this.warnings = new MessageWarnings({ notify, log });
    this.mail = new MailWatcher({
      helper,
      seen: this.seen,
      status: this.status,
      replies: this.replies,
      warnings: this.warnings,
      identities,
      queue: this.queue,
      notify,
      log,
    });
    this.check = new PeriodicCheck({ helper, status: this.status, binder: this.binder, replies: this.replies, notify, log });
    this.pages = new PageRouter({
      version: this.version,
      init,
      helper,
      status: this.status,
      prompts: this.prompts,
      warnings: this.warnings,
      mail: this.mail,
      binder: this.binder,
      replies: this.replies,
      identities,
    });
    // ME_TEST_HOOKS begin
    // made on the first test.* request (only a test build of the helper sends one; a release
    // .xpi has none of this, messaging/make-xpi.py)
    this.makeTestControl = () =>
      new TestControl({
        init,
        helper,
        prompts: this.prompts,
        pages: this.pages,
        binder: this.binder,
        warnings: this.warnings,
        identities,
        logger: this.logger,
        broadcast,
      });
    // ME_TEST_HOOKS end
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
    this.log("starting; experiment API", this.binder.hasExperiment() ? "available" : "not available");
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
    this.queue.run(() => this.check.run());
  }

  onConnectionChange(conn) {
    if (conn.state !== "ready") {
      this.prompts.cancelAll(_("promptCancelledDisconnect"));
    } else if (this.startupDone) {
      // a helper after none or after a lost one: what waited for it can go on
      const first = !this.mail.scannedOnce;
      this.status.refresh().then(() => this.mail.scanRecent({ force: first }));
      if (first) {
        this.queue.run(() => this.check.run());
      }
    }
    broadcast({ type: "changed" });
  }

  // ---- the helper's requests and events

  async onHelperRequest(method, params) {
    if (method === "prompt") {
      this.log("helper asks the person about a challenge for", params && params.mailbox);
      return this.prompts.ask(params);
    }
    // ME_TEST_HOOKS begin
    if (method.startsWith("test.")) {
      // only a test build of the helper sends these (PROTOCOL.md §10)
      this.testControl = this.testControl || this.makeTestControl();
      return this.testControl.handle(method, params);
    }
    // ME_TEST_HOOKS end
    throw new RpcError(-32601, `The extension does not know the method ${method}.`, { name: "method-not-found", method });
  }

  onHelperNotification(method, params) {
    if (method === "progress") {
      this.status.onProgress(params);
    }
  }

  // ---- the periodic check

  /** alarms.onAlarm: the periodic check, then a scan. */
  async onAlarm(alarm) {
    if (this.check.isAlarm(alarm)) {
      await this.init();
      this.queue.run(() => this.check.run());
      await this.mail.scanRecent({ force: true });
    }
  }
}
