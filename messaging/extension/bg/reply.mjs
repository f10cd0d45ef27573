/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Sending the reply to a challenge the helper approved (messaging/README.md, Message
// flow): a reply from the person's own identity through compose.beginReply, checked
// against the helper's subject, recipients and body, sent now with a deadline; then
// `reply.sent` (the helper finishes the order, the certificate is bound) or, when the
// reply certainly did not leave, `reply.failed` (the helper takes the reply back and the
// mail is asked about again). Failures to send are kept for the options page
// (KEYS.failures).

import { checkComposeDetails, checkReply, composeBody, encryptionOff } from "../lib/challenge.mjs";
import { identitiesFor } from "../lib/enrollment.mjs";
import { withTimeout } from "./jobs.mjs";
import { KEYS, boundMap, load, save } from "./store.mjs";
import { _, errorText } from "./text.mjs";

export const SEND_TIMEOUT_MS = 120 * 1000;

export class ReplySender {
  /**
   * @param {object} options
   * @param {{call: Function}} options.helper the helper connection (bg/helper.mjs)
   * @param {import("./seen.mjs").SeenStore} options.seen the inspected mails
   * @param {import("./status.mjs").Status} options.status
   * @param {import("./binding.mjs").Binder} options.binder
   * @param {() => Promise<object[]>} options.identities bg/identities.mjs listIdentities
   * @param {(id: string, title: string, message: string) => void} options.notify
   * @param {(msg: object) => void} [options.broadcast] tells the open pages
   * @param {(...args: any[]) => void} [options.log]
   */
  constructor({ helper, seen, status, binder, identities, notify, broadcast = () => {}, log = () => {} }) {
    this.helper = helper;
    this.seen = seen;
    this.status = status;
    this.binder = binder;
    this.identities = identities;
    this.notify = notify;
    this.broadcast = broadcast;
    this.log = log;
    // lower-case mailboxes whose reply.sent is under way
    this.busy = new Set();
    // compose tabs whose send timed out: if the person sends one after all, go on
    this.lateCompose = new Map();
  }

  /**
   * Sends the helper's reply (challenge.inspect's `reply`) to the challenge mail from the
   * mailbox's identity, then reply.sent; or reply.failed when it certainly did not leave.
   *
   * @param {object} message the challenge mail's MessageHeader
   * @param {{mailbox: string, ca?: string}} enrollment the enrollment it was inspected for
   * @param {object} reply
   */
  async send(message, enrollment, reply) {
    const mailbox = enrollment.mailbox;
    const problems = checkReply(reply, mailbox);
    if (problems.length > 0) {
      await this.replyNotSent(message, enrollment);
      await this.sendFailed(mailbox, _("errorReplyUnusable", [problems.join(", ")]));
      return;
    }
    const identities = identitiesFor(await this.identities(), mailbox);
    const accountId = message.folder && message.folder.accountId;
    const identity = identities.find(i => i.accountId === accountId) || identities[0];
    if (!identity) {
      await this.replyNotSent(message, enrollment);
      await this.sendFailed(mailbox, _("errorNoIdentity", [mailbox]));
      return;
    }
    const timeoutText = _("errorSendTimeout", [String(SEND_TIMEOUT_MS / 1000)]);
    let tab = null;
    try {
      // exactly the helper's subject and recipients (a Reply-To must not redirect it), no
      // copies to anyone: given with the reply itself, one round trip to the compose window
      // less; checkComposeDetails() below checks that Thunderbird took them
      tab = await browser.compose.beginReply(message.id, "replyToSender", {
        isPlainText: true,
        plainTextBody: composeBody(reply.body),
        identityId: identity.id,
        subject: reply.subject,
        to: reply.to,
        cc: [],
        bcc: [],
      });
      let details = await browser.compose.getComposeDetails(tab.id);
      const off = encryptionOff(details);
      if (off) {
        await browser.compose.setComposeDetails(tab.id, { selectedEncryptionTechnology: off });
      }
      for (const extra of [{ attachVCard: false }, { attachPublicPGPKey: false }, { returnReceipt: false }]) {
        const name = Object.keys(extra)[0];
        if (name in details && details[name] !== false) {
          await browser.compose.setComposeDetails(tab.id, extra).catch(() => {});
        }
      }
      details = await browser.compose.getComposeDetails(tab.id);
      const wrong = checkComposeDetails(details, reply, identity.id);
      if (wrong.length > 0) {
        throw new Error(_("errorComposeMismatch", [wrong.join(", ")]));
      }
      this.log("sending the challenge reply for", mailbox, "through identity", identity.id);
      // a failed send opens a modal error dialog and the promise never settles
      // (docs/thunderbird.md §4): give up after a while and close the window
      await withTimeout(browser.compose.sendMessage(tab.id, { mode: "sendNow" }), SEND_TIMEOUT_MS, timeoutText);
      tab = null;
    } catch (e) {
      const timedOut = e instanceof Error && e.message === timeoutText;
      if (tab && timedOut) {
        // it may still leave (a modal error dialog waits for someone): onAfterSend goes on
        this.lateCompose.set(tab.id, { mailbox, ca: enrollment.ca });
      }
      await this.closeCompose(tab);
      if (!timedOut) {
        // it certainly did not leave: the helper takes the reply back, the mail asks again
        await this.replyNotSent(message, enrollment);
      }
      await this.sendFailed(mailbox, errorText(e));
      return;
    }
    await this.clearFailure(mailbox);
    this.notify(`sent-${mailbox}`, _("notifyReplySentTitle"), _("notifyReplySentBody", [mailbox]));
    // minutes of waiting for the CA: not in the queue of challenge mails
    this.finishAfterReply(mailbox, enrollment.ca).catch(e => this.log("finishing failed:", errorText(e)));
  }

  /** The helper's reply did not leave: reply.failed, and the mail is asked about again. */
  async replyNotSent(message, enrollment) {
    const params = { mailbox: enrollment.mailbox };
    if (enrollment.ca) {
      params.ca = enrollment.ca;
    }
    try {
      await this.helper.call("reply.failed", params);
      await this.seen.forget(message.headerMessageId);
    } catch (e) {
      this.log("reply.failed:", errorText(e));
    }
  }

  async closeCompose(tab) {
    if (!tab) {
      return;
    }
    try {
      await withTimeout(browser.compose.setComposeDetails(tab.id, { isModified: false }), 5000, "timeout");
    } catch (e) {
      // older Thunderbird, or a send still hangs: the window may ask whether to save
    }
    // while Thunderbird's send error dialog is open, the window closes only once someone
    // dismisses the dialog (docs/thunderbird.md §4); do not wait for that
    try {
      await withTimeout(browser.tabs.remove(tab.id), 5000, "the compose window did not close");
      this.log("asked the compose window to close");
    } catch (e) {
      this.log("could not close the compose window yet:", errorText(e));
    }
  }

  /**
   * compose.onAfterSend: a compose window whose send had timed out was sent after all
   * (slowly, or by the person after Thunderbird's error dialog): the reply left, so the
   * helper goes on.
   */
  async onAfterSend(tab, sendInfo) {
    const late = tab ? this.lateCompose.get(tab.id) : null;
    if (!late) {
      return;
    }
    this.lateCompose.delete(tab.id);
    // a failure has an `error` member (its text may be empty); only a message that
    // really left has a headerMessageId
    if (!sendInfo || "error" in sendInfo || sendInfo.mode !== "sendNow" || !sendInfo.headerMessageId) {
      this.log("the timed-out challenge reply for", late.mailbox, "failed:", sendInfo && sendInfo.error);
      return;
    }
    this.log("the challenge reply for", late.mailbox, "left after all");
    await this.clearFailure(late.mailbox);
    await this.finishAfterReply(late.mailbox, late.ca);
  }

  /** The reply for `mailbox` was not sent: the options page and a notification say why. */
  async sendFailed(mailbox, why) {
    this.log("the challenge reply for", mailbox, "was not sent:", why);
    const failures = await load(KEYS.failures, {});
    failures[mailbox.toLowerCase()] = { mailbox, error: why, at: Date.now() };
    await save(KEYS.failures, boundMap(failures, 50));
    this.notify(`sendfail-${mailbox}`, _("notifySendFailedTitle"), _("notifySendFailedBody", [mailbox, why]));
    this.broadcast({ type: "changed" });
  }

  /** Forgets an earlier failure to send for `mailbox` (its reply left, or a new request). */
  async clearFailure(mailbox) {
    const failures = await load(KEYS.failures, {});
    delete failures[mailbox.toLowerCase()];
    await save(KEYS.failures, failures);
  }

  /** Whether reply.sent is under way for `mailbox` (any case). */
  isBusy(mailbox) {
    return this.busy.has(mailbox.toLowerCase());
  }

  /** The mailboxes (lower case) whose reply.sent is under way, for the pages. */
  busyMailboxes() {
    return [...this.busy];
  }

  /** reply.sent: the helper finishes the order and installs; then the binding. */
  async finishAfterReply(mailbox, ca) {
    const key = mailbox.toLowerCase();
    if (this.busy.has(key)) {
      return;
    }
    this.busy.add(key);
    try {
      const params = { mailbox };
      if (ca) {
        params.ca = ca;
      }
      const result = await this.helper.call("reply.sent", params);
      if (result && typeof result.reordered === "string") {
        // the CA refused the challenge; the helper made a new request, whose mail the
        // mail watcher answers as it did the first
        this.log("the CA refused the challenge for", mailbox, "; a new request was made");
        this.notify(`reordered-${mailbox}`, _("notifyReorderedTitle"), result.reordered);
        return;
      }
      await this.binder.bind(mailbox, result, { explicit: null });
    } catch (e) {
      this.log("reply.sent for", mailbox, "failed:", errorText(e));
      this.notify(`finish-${mailbox}`, _("notifyFinishFailedTitle"), _("notifyFinishFailedBody", [mailbox, errorText(e)]));
    } finally {
      this.busy.delete(key);
      await this.status.refresh();
    }
  }
}
