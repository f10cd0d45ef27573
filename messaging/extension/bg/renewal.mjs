/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The periodic check (an alarm every 6 hours, and at start-up): notifications for
// certificates renewed, failed or expiring since the last look; work the helper left half
// done goes on (reply.sent after the reply went out, install of an issued certificate);
// an enrollment waiting for its challenge mail is resumed with `enroll`, where the helper
// decides whether the CA is told to go ahead, and says why no challenge was answered yet;
// installed certificates are offered to `renew` (the helper decides whether it is due),
// and a certificate renewed outside Thunderbird (systemd timer, CLI) is bound once.

import { statusEvents } from "../lib/enrollment.mjs";
import { withTimeout } from "./jobs.mjs";
import { KEYS, load, save } from "./store.mjs";
import { _, errorText } from "./text.mjs";

export const CHECK_ALARM = "mailenroll-check";
export const CHECK_PERIOD_MIN = 6 * 60;
// steps after which the extension resumes the helper's work (reply.sent goes on from there)
export const RESUME_REPLY_SENT = Object.freeze(["reply-sent", "challenge-posted", "validated", "key-stored", "finalized"]);

// the helper's `wait` values that mean the wait for the challenge mail is over (PROTOCOL.md §9)
export const WAIT_OVER = Object.freeze(["no-mail", "unauthenticated", "temporary"]);

/**
 * What the periodic check does for an enrollment in `state` (PROTOCOL.md §9):
 * "reply.sent" (finish the order), "install", "renew" (bind a renewal done elsewhere,
 * then offer renew), "enroll" (it waits for the challenge mail: the helper's wait
 * decision), or null (nothing: it waits for the person, or failed).
 */
export function nextStep(state) {
  if (state === "waiting-challenge") {
    return "enroll";
  }
  if (RESUME_REPLY_SENT.includes(state)) {
    return "reply.sent";
  }
  if (state === "issued") {
    return "install";
  }
  if (state === "installed") {
    return "renew";
  }
  return null;
}

export class PeriodicCheck {
  /**
   * @param {object} options
   * @param {{call: Function}} options.helper the helper connection (bg/helper.mjs)
   * @param {import("./status.mjs").Status} options.status
   * @param {import("./binding.mjs").Binder} options.binder
   * @param {import("./reply.mjs").ReplySender} options.replies finishes after a reply
   * @param {(id: string, title: string, message: string) => void} options.notify
   * @param {(...args: any[]) => void} [options.log]
   */
  constructor({ helper, status, binder, replies, notify, log = () => {} }) {
    this.helper = helper;
    this.status = status;
    this.binder = binder;
    this.replies = replies;
    this.notify = notify;
    this.log = log;
  }

  /** At start-up: the alarm exists (alarms survive a restart of Thunderbird). */
  async ensureAlarm() {
    try {
      const alarm = await withTimeout(browser.alarms.get(CHECK_ALARM), 2000, "alarms.get() did not settle");
      if (!alarm) {
        browser.alarms.create(CHECK_ALARM, { delayInMinutes: 1, periodInMinutes: CHECK_PERIOD_MIN });
      }
    } catch (e) {
      this.log("alarms unavailable:", errorText(e));
    }
  }

  /** Whether `alarm` (alarms.onAlarm) is this check's. */
  isAlarm(alarm) {
    return !!(alarm && alarm.name === CHECK_ALARM);
  }

  /**
   * Every few hours and at start-up: notifications for what changed, renewals the helper
   * finds due, work the helper left half done (the reply went out but Thunderbird closed
   * before the certificate came), bindings a renewal outside Thunderbird left stale.
   */
  async run() {
    const enrollments = await this.status.refresh();
    if (this.status.error !== null) {
      return;
    }
    const nowSec = Math.floor(Date.now() / 1000);
    const { events, snapshot } = statusEvents(await load(KEYS.snapshot, {}), enrollments, nowSec);
    await save(KEYS.snapshot, snapshot);
    for (const ev of events) {
      const date = ev.notAfter ? new Date(ev.notAfter * 1000).toLocaleDateString() : "";
      if (ev.type === "renewed") {
        this.notify(`renewed-${ev.mailbox}`, _("notifyRenewedTitle"), _("notifyRenewedBody", [ev.mailbox, date]));
      } else if (ev.type === "failed") {
        this.notify(`failed-${ev.mailbox}`, _("notifyFailedTitle"), _("notifyFailedBody", [ev.mailbox, ev.failure || ""]));
      } else if (ev.type === "expiring") {
        this.notify(`expiring-${ev.mailbox}`, _("notifyExpiringTitle"), _("notifyExpiringBody", [ev.mailbox, date]));
      }
    }
    for (const e of enrollments) {
      if (!e || typeof e.mailbox !== "string") {
        continue;
      }
      if (this.replies.isBusy(e.mailbox)) {
        continue;
      }
      try {
        const step = nextStep(e.state);
        if (step === "reply.sent") {
          // may take minutes: not in the queue of challenge mails
          this.replies.finishAfterReply(e.mailbox, e.ca).catch(err => this.log("resuming failed:", errorText(err)));
        } else if (step === "enroll") {
          await this.resumeWait(e);
        } else if (step === "install") {
          await this.binder.install(e.mailbox, e.ca, { explicit: null });
        } else if (step === "renew") {
          // a renewal the systemd timer or the CLI did: bind the new certificate
          await this.binder.bind(e.mailbox, e, { explicit: null, quiet: true });
          const params = { mailbox: e.mailbox };
          if (e.ca) params.ca = e.ca;
          const r = await this.helper.call("renew", params);
          if (r && r.renewing) {
            this.log("renewal started for", e.mailbox);
            this.notify(`renewing-${e.mailbox}`, _("notifyRenewingTitle"), _("notifyRenewingBody", [e.mailbox]));
          }
        }
      } catch (err) {
        this.log("periodic check of", e.mailbox, "failed:", errorText(err));
      }
    }
    await this.status.refresh();
  }

  /**
   * An enrollment that waits for its challenge mail: `enroll` resumes it, so the helper
   * can tell a CA that mails only after being asked to go ahead; once the wait is over,
   * its sentence (no mail yet, or a mail that could not be authenticated and why) is a
   * notification, shown again only when it changes.
   */
  async resumeWait(e) {
    const params = { mailbox: e.mailbox };
    if (e.ca) params.ca = e.ca;
    const r = await this.helper.call("enroll", params);
    if (!r || !WAIT_OVER.includes(r.wait) || typeof r.wait_message !== "string") {
      return;
    }
    const told = await load(KEYS.waitNotices, {});
    const key = e.mailbox.toLowerCase();
    if (told[key] === r.wait_message) {
      return;
    }
    told[key] = r.wait_message;
    await save(KEYS.waitNotices, told);
    this.log("waiting for the challenge mail for", e.mailbox, ":", r.wait);
    this.notify(`wait-${e.mailbox}`, _("notifyWaitTitle"), r.wait_message);
  }
}
