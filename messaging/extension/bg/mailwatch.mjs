/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Watching the mail for challenges (messaging/README.md, Message flow): new mail in any
// folder but Sent, Drafts, Templates, Outbox and Trash, and a scan of the last days of
// Inbox mail at start-up, every few hours and after a request. A candidate (subject
// "ACME:", not from one of the person's identities, not inspected before) goes to the
// helper's challenge.inspect for the enrollment it may answer, one mail at a time; the
// verdict decides: send the reply, remember it quietly, or warn.

import { Backoff } from "../lib/backoff.mjs";
import { candidateEnrollments, classifyVerdict, tryNextCandidate } from "../lib/challenge.mjs";
import { RpcError } from "../lib/jsonrpc.mjs";
import { isChallengeCandidate, parseAddress } from "../lib/subject.mjs";
import { MAX_RAW_BYTES, listMessages, rawText } from "./messages.mjs";
import { KEYS, load, save } from "./store.mjs";
import { _, errorText } from "./text.mjs";

const DAY_MS = 24 * 3600 * 1000;
export const SCAN_DAYS = 7;
export const RESCAN_AFTER_MS = 10 * 60 * 1000;
// a mail the helper was too busy for is looked at again after this
const BUSY_RETRY_MS = 60 * 1000;
// a mail Thunderbird could not hand over (messages.getRaw failing while a fresh profile
// syncs its folders) is tried again this soon, then after twice as long, a few times, before
// it is left to the next scan
export const READ_RETRY = Object.freeze({ initialMs: 1000, maxMs: 16000, attempts: 5 });
// folders whose new mail is never a challenge
export const SKIP_FOLDER_USES = Object.freeze(["sent", "drafts", "templates", "outbox", "trash"]);

/** Whether new mail in `folder` may be a challenge (not Sent, Drafts, Templates, Outbox, Trash). */
export function isWatchedFolder(folder) {
  return !(folder && Array.isArray(folder.specialUse) && folder.specialUse.some(u => SKIP_FOLDER_USES.includes(u)));
}

/**
 * The messages worth asking the helper about: an "ACME:" subject, not from one of the
 * person's own addresses, not inspected before.
 *
 * @param {object[]} messages MessageHeaders
 * @param {string[]} ownEmails the addresses of the person's identities
 * @param {(headerMessageId: string) => boolean} isSeen
 */
export function challengeCandidates(messages, ownEmails, isSeen) {
  const own = new Set(ownEmails.map(e => parseAddress(e)));
  return messages.filter(m => m && isChallengeCandidate(m.subject) && !own.has(parseAddress(m.author)) && !isSeen(m.headerMessageId));
}

/** The messages.query of a scan: "ACME:" subjects of the last SCAN_DAYS days, and none before `since` (ms). */
export function scanQuery(now, since = 0) {
  return { fromDate: new Date(Math.max(since, now - SCAN_DAYS * DAY_MS)), subject: "ACME:" };
}

export class MailWatcher {
  /**
   * @param {object} options
   * @param {{call: Function}} options.helper the helper connection (bg/helper.mjs)
   * @param {import("./seen.mjs").SeenStore} options.seen the inspected mails
   * @param {import("./status.mjs").Status} options.status
   * @param {import("./reply.mjs").ReplySender} options.replies sends an approved reply
   * @param {import("./warnings.mjs").MessageWarnings} options.warnings
   * @param {() => Promise<object[]>} options.identities bg/identities.mjs listIdentities
   * @param {{run: (fn: Function) => Promise<any>}} options.queue one job after another
   *   (bg/jobs.mjs Serial), shared with the periodic check
   * @param {(id: string, title: string, message: string) => void} options.notify
   * @param {(...args: any[]) => void} [options.log]
   * @param {{initialMs: number, maxMs: number, attempts: number}} [options.readRetry]
   */
  constructor({ helper, seen, status, replies, warnings, identities, queue, notify, log = () => {}, readRetry = READ_RETRY }) {
    this.helper = helper;
    this.seen = seen;
    this.status = status;
    this.replies = replies;
    this.warnings = warnings;
    this.identities = identities;
    this.queue = queue;
    this.notify = notify;
    this.log = log;
    // Message-IDs being inspected now
    this.inflight = new Set();
    // Message-ID -> Backoff of a mail that could not be read, while it is tried again
    this.readRetry = readRetry;
    this.retries = new Map();
    // a scan ran (a later helper connection need not force one)
    this.scannedOnce = false;
  }

  /** messages.onNewMailReceived */
  async onNewMail(folder, list) {
    if (!isWatchedFolder(folder)) {
      return;
    }
    let messages;
    try {
      messages = await listMessages(list);
    } catch (e) {
      this.log("could not list new mail:", errorText(e));
      return;
    }
    await this.considerMessages(messages, folder);
  }

  /** Queues the candidates among `messages` for inspect(). */
  async considerMessages(messages, folder) {
    const own = (await this.identities()).map(i => i.email);
    for (const m of challengeCandidates(messages, own, id => this.seen.has(id))) {
      this.queue.run(() => this.inspect(m, m.folder || folder));
    }
  }

  /**
   * Looks through the last days of Inbox mail for challenges that came while Thunderbird
   * was closed (or while the helper was away).
   *
   * @param {{force?: boolean, since?: number}} options since: only mail dated after this (ms)
   */
  async scanRecent({ force = false, since = 0 } = {}) {
    const last = await load(KEYS.lastScan, 0);
    if (!force && Date.now() - last < RESCAN_AFTER_MS) {
      return;
    }
    await save(KEYS.lastScan, Date.now());
    this.scannedOnce = true;
    const query = scanQuery(Date.now(), since);
    try {
      const inboxes = await browser.folders.query({ specialUse: ["inbox"] });
      if (Array.isArray(inboxes) && inboxes.length > 0) {
        query.folderId = inboxes.map(f => f.id);
      }
    } catch (e) {
      // folders.query is missing: search every folder; the filter below still applies
    }
    let messages = [];
    try {
      this.log("scan: querying", JSON.stringify(query));
      messages = await listMessages(await browser.messages.query(query));
    } catch (e) {
      this.log("start-up scan failed:", errorText(e));
      return;
    }
    this.log(`scan: ${messages.length} recent message(s) with ACME: in the subject`);
    await this.considerMessages(messages, null);
  }

  /**
   * A new request was made: mail that matched no enrollment before may be its challenge
   * (it came while the order was being made, or is an older copy).
   */
  forgetUnmatched() {
    this.seen.forgetOutcome("no-enrollment");
  }

  /** One candidate mail: challenge.inspect, then what the verdict asks for. */
  async inspect(message, folder) {
    const id = message.headerMessageId;
    if (this.seen.has(id) || this.inflight.has(id)) {
      return;
    }
    this.inflight.add(id);
    let readFailed = false;
    try {
      const enrollments = await this.status.refresh();
      const identities = await this.identities();
      const accountId = (folder && folder.accountId) || (message.folder && message.folder.accountId);
      const accountEmails = identities.filter(i => i.accountId === accountId).map(i => i.email);
      const candidates = candidateEnrollments(enrollments, {
        recipients: message.recipients,
        ccList: message.ccList,
        author: message.author,
        accountEmails,
      });
      if (candidates.length === 0) {
        if (this.status.complete) {
          // no request waits for mail to this address: not a challenge of ours, now or later
          await this.seen.mark(id, "no-enrollment");
        }
        return;
      }
      if (message.size > MAX_RAW_BYTES) {
        await this.seen.mark(id, "too-large");
        return;
      }
      const raw = await rawText(message.id, { log: this.log });
      let verdict = null;
      let used = null;
      for (let i = 0; i < candidates.length; i++) {
        used = candidates[i];
        const params = { mailbox: used.mailbox, message: raw };
        if (used.ca) {
          params.ca = used.ca;
        }
        this.log("inspecting", id, "for", used.mailbox);
        verdict = await this.helper.call("challenge.inspect", params);
        if (!(tryNextCandidate(verdict) && i + 1 < candidates.length)) {
          break;
        }
      }
      const v = classifyVerdict(verdict);
      this.log("verdict for", id, ":", v.kind, v.reason);
      switch (v.kind) {
        case "approved":
          await this.seen.mark(id, "approved");
          await this.replies.send(message, used, verdict.reply);
          break;
        case "declined":
          await this.seen.mark(id, "declined");
          break;
        case "quiet":
          await this.seen.mark(id, v.reason);
          break;
        case "warning":
          await this.seen.mark(id, "warning");
          await this.warnings.add(message, used.mailbox, v);
          break;
        default:
          this.log("unexpected challenge.inspect result", JSON.stringify(verdict).slice(0, 300));
      }
    } catch (e) {
      // not marked: the next scan tries again (a dismissed prompt, the helper away, busy)
      if (!(e instanceof RpcError)) {
        readFailed = true;
        this.retryRead(message, folder, e);
        return;
      }
      this.log("inspecting", id, "failed:", errorText(e));
      if (e instanceof RpcError && e.errorName === "busy") {
        // the helper works on this mailbox (a reply.sent under way): look again soon
        setTimeout(() => this.considerMessages([message], folder), BUSY_RETRY_MS);
      } else if (e instanceof RpcError && e.errorName !== "dismissed") {
        this.notify(`inspect-${id}`, _("notifyInspectFailedTitle"), e.message);
      }
    } finally {
      if (!readFailed) {
        this.retries.delete(id);
      }
      this.inflight.delete(id);
      this.status.refresh();
    }
  }

  /**
   * A candidate failed for a reason of Thunderbird's, not the helper's (its raw message or
   * the identities could not be read): look again soon, with a growing delay, and after the
   * last try leave it to the next scan.
   */
  retryRead(message, folder, error) {
    const id = message.headerMessageId;
    let backoff = this.retries.get(id);
    if (!backoff) {
      backoff = new Backoff({ initialMs: this.readRetry.initialMs, maxMs: this.readRetry.maxMs, jitter: 0 });
      this.retries.set(id, backoff);
    }
    if (backoff.attempts >= this.readRetry.attempts) {
      this.retries.delete(id);
      this.log("inspecting", id, "failed:", errorText(error), "- the next scan looks again");
      return;
    }
    const delay = backoff.next();
    this.log("inspecting", id, "failed:", errorText(error), `- trying again in ${delay} ms`);
    setTimeout(() => this.considerMessages([message], folder), delay);
  }
}
