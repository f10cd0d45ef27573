// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/mailwatch.mjs: which mail is a candidate, and what a verdict of
// challenge.inspect leads to. The watcher works with the real seen-mail store, status,
// reply sender, binder and warnings; Thunderbird's APIs and the helper are stand-ins
// (stand-in.mjs) that record what they are asked. tests/test-tb-e2e.c runs the real thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { Binder } from "../../messaging/extension/bg/binding.mjs";
import { listIdentities } from "../../messaging/extension/bg/identities.mjs";
import { Serial } from "../../messaging/extension/bg/jobs.mjs";
import {
  MailWatcher,
  RESCAN_AFTER_MS,
  SCAN_DAYS,
  challengeCandidates,
  isWatchedFolder,
  scanQuery,
} from "../../messaging/extension/bg/mailwatch.mjs";
import { Notifier } from "../../messaging/extension/bg/notify.mjs";
import { ReplySender } from "../../messaging/extension/bg/reply.mjs";
import { SeenStore } from "../../messaging/extension/bg/seen.mjs";
import { Status } from "../../messaging/extension/bg/status.mjs";
import { KEYS } from "../../messaging/extension/bg/store.mjs";
import { MessageWarnings } from "../../messaging/extension/bg/warnings.mjs";
import { settled, standInBrowser, standInHelper } from "./stand-in.mjs";

const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const RAW = "From: acme-challenge@acme-ca.test\r\nSubject: ACME: dG9rZW4\r\n\r\nchallenge\r\n";
const REPLY = {
  from: ALICE,
  to: ["acme-challenge@acme-ca.test"],
  subject: "Re: ACME: dG9rZW4",
  body: "-----BEGIN ACME RESPONSE-----\r\nLoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\r\n-----END ACME RESPONSE-----\r\n",
};

function mail(n, extra = {}) {
  return {
    id: n,
    headerMessageId: `challenge-${n}@acme-ca.test`,
    subject: "ACME: dG9rZW4",
    author: "ACME CA <acme-challenge@acme-ca.test>",
    recipients: [ALICE],
    ccList: [],
    folder: { accountId: "account1", specialUse: ["inbox"] },
    size: RAW.length,
    ...extra,
  };
}

const waiting = (mailbox, ca) => ({ mailbox, ca, state: "waiting-challenge" });

/** A MailWatcher with the real parts around it; `inspect` answers challenge.inspect per mailbox. */
async function newWatcher({ enrollments = [], inspect = {}, extra = {}, readRetry = undefined } = {}) {
  const composed = [];
  const env = standInBrowser({
    identities: [
      { id: "id1", email: ALICE },
      { id: "id2", email: BOB },
    ],
    extra: {
      messages: { getRaw: async () => new Blob([RAW]), query: async () => [] },
      folders: { query: async () => [{ id: "inbox-1" }, { id: "inbox-2" }] },
      compose: {
        beginReply: async (id, type, details) => {
          composed.push(id);
          // Thunderbird applies the details given with the reply (compose.beginReply)
          env.composeDetails = { ...details, isPlainText: true };
          return { id: 7 };
        },
        setComposeDetails: async (tabId, details) => Object.assign(env.composeDetails, details),
        getComposeDetails: async () => ({ cc: [], bcc: [], ...env.composeDetails }),
        sendMessage: async () => ({ headerMessageId: "reply@example.org" }),
      },
      tabs: { remove: async () => {} },
      ...extra,
    },
  });
  const helper = standInHelper({
    status: () => ({ enrollments }),
    "challenge.inspect": params => {
      const v = inspect[params.mailbox];
      return typeof v === "function" ? v(params) : v;
    },
  });
  const seen = new SeenStore();
  await seen.load();
  const { notify } = new Notifier();
  const identities = () => listIdentities();
  const status = new Status({ helper });
  const binder = new Binder({ helper, identities, notify });
  const replies = new ReplySender({ helper, seen, status, binder, identities, notify });
  const warnings = new MessageWarnings({ notify });
  const queue = new Serial();
  const logged = [];
  const log = (...args) => logged.push(args.join(" "));
  const watcher = new MailWatcher({ helper, seen, status, replies, warnings, identities, queue, notify, log, readRetry });
  // every inspection queued so far is over, and what it left running
  const idle = async () => {
    await queue.run(() => {});
    await settled();
  };
  return { watcher, helper, seen, status, env, composed, idle, logged };
}

test("new mail in Sent, Drafts, Templates, Outbox and Trash is never a challenge", () => {
  assert.equal(isWatchedFolder(null), true);
  assert.equal(isWatchedFolder({ specialUse: ["inbox"] }), true);
  assert.equal(isWatchedFolder({ specialUse: ["junk"] }), true);
  assert.equal(isWatchedFolder({}), true);
  for (const use of ["sent", "drafts", "templates", "outbox", "trash"]) {
    assert.equal(isWatchedFolder({ specialUse: [use] }), false, use);
  }
});

test("candidates: an ACME: subject, not from the person, not inspected before", () => {
  const seen = new Set(["old@acme-ca.test"]);
  const msgs = [
    { headerMessageId: "new@acme-ca.test", subject: "ACME: abc", author: "ca@acme-ca.test" },
    { headerMessageId: "old@acme-ca.test", subject: "ACME: abc", author: "ca@acme-ca.test" },
    { headerMessageId: "own@example.org", subject: "ACME: abc", author: "Alice <ALICE@example.org>" },
    { headerMessageId: "other@example.org", subject: "Re: ACME: abc", author: "ca@acme-ca.test" },
    { headerMessageId: "encoded@acme-ca.test", subject: "=?UTF-8?Q?ACME:_abc?=", author: "ca@acme-ca.test" },
    null,
  ];
  const got = challengeCandidates(msgs, [ALICE], id => seen.has(id)).map(m => m.headerMessageId);
  assert.deepEqual(got, ["new@acme-ca.test", "encoded@acme-ca.test"]);
});

test("a scan looks SCAN_DAYS back, or less when asked to", () => {
  const now = Date.UTC(2026, 0, 31);
  assert.deepEqual(scanQuery(now), { fromDate: new Date(now - SCAN_DAYS * 24 * 3600 * 1000), subject: "ACME:" });
  assert.deepEqual(scanQuery(now, now - 600000).fromDate, new Date(now - 600000));
  assert.deepEqual(scanQuery(now, now - 30 * 24 * 3600 * 1000).fromDate, new Date(now - SCAN_DAYS * 24 * 3600 * 1000));
});

test("a mail no enrollment waits for is remembered, but not while an enroll call is under way", async () => {
  const { watcher, seen, status, helper } = await newWatcher();
  let finishEnroll;
  const enrolling = status.whileEnrolling(() => new Promise(resolve => (finishEnroll = resolve)));
  await watcher.inspect(mail(1), null);
  assert.equal(seen.has(mail(1).headerMessageId), false, "the enrollment may not be in the status yet");
  finishEnroll();
  await enrolling;
  await watcher.inspect(mail(1), null);
  assert.equal(seen.messages.get(mail(1).headerMessageId), "no-enrollment");
  assert.equal(helper.methods().includes("challenge.inspect"), false, "the helper is not asked");
});

test("an approved challenge: remembered, the reply sent from the identity, then reply.sent", async () => {
  const { watcher, seen, helper, composed, idle } = await newWatcher({
    enrollments: [waiting(ALICE, "test")],
    inspect: { [ALICE]: { answerable: true, approved: true, reason: "approved", reply: REPLY } },
  });
  await watcher.onNewMail({ accountId: "account1", specialUse: ["inbox"] }, [mail(2)]);
  await idle();
  assert.equal(seen.messages.get(mail(2).headerMessageId), "approved");
  const inspectCall = helper.calls.find(c => c[0] === "challenge.inspect");
  assert.deepEqual(inspectCall[1], { mailbox: ALICE, ca: "test", message: RAW });
  assert.deepEqual(composed, [2], "a reply to the challenge mail");
  assert.ok(helper.methods().includes("reply.sent"));
  assert.equal(helper.methods().includes("reply.failed"), false);
});

test("a warning: remembered, kept for the message display action, and the person is told", async () => {
  const { watcher, seen, env, idle } = await newWatcher({
    enrollments: [waiting(ALICE)],
    inspect: { [ALICE]: { answerable: false, reason: "unauthenticated", message: "The mail is not signed." } },
  });
  await watcher.inspect(mail(3), null);
  await idle();
  assert.equal(seen.messages.get(mail(3).headerMessageId), "warning");
  const w = env.storage[KEYS.warnings][mail(3).headerMessageId];
  assert.equal(w.mailbox, ALICE);
  assert.equal(w.reason, "unauthenticated");
  assert.equal(w.message, "The mail is not signed.");
  assert.deepEqual(env.notified(), [`mailenroll-warning-${mail(3).headerMessageId}`]);
});

test("to-mismatch for one enrollment: the next candidate is tried; a decline is remembered quietly", async () => {
  const { watcher, seen, helper, env } = await newWatcher({
    enrollments: [waiting(ALICE), waiting(BOB)],
    inspect: {
      [ALICE]: { answerable: false, reason: "to-mismatch" },
      [BOB]: { answerable: true, approved: false, reason: "declined" },
    },
  });
  await watcher.inspect(mail(4, { recipients: [ALICE, BOB] }), null);
  const asked = helper.calls.filter(c => c[0] === "challenge.inspect").map(c => c[1].mailbox);
  assert.deepEqual(asked, [ALICE, BOB]);
  assert.equal(seen.messages.get(mail(4).headerMessageId), "declined");
  assert.deepEqual(env.notified(), []);
});

test("a prompt closed without an answer: asked about again later, no notice; other helper errors are shown", async () => {
  const dismissed = new RpcError(-32000, "closed", { name: "dismissed" });
  const broken = new RpcError(-32603, "the helper broke", { name: "internal-error" });
  let answer = dismissed;
  const { watcher, seen, env } = await newWatcher({
    enrollments: [waiting(ALICE)],
    inspect: { [ALICE]: () => Promise.reject(answer) },
  });
  await watcher.inspect(mail(5), null);
  assert.equal(seen.has(mail(5).headerMessageId), false);
  assert.deepEqual(env.notified(), []);
  answer = broken;
  await watcher.inspect(mail(5), null);
  assert.equal(seen.has(mail(5).headerMessageId), false);
  await settled();
  assert.deepEqual(env.notified(), [`mailenroll-inspect-${mail(5).headerMessageId}`]);
});

test("new mail: each candidate is inspected once, in turn; Sent and the person's own mail are skipped", async () => {
  let inspections = 0;
  const { watcher, idle } = await newWatcher({
    enrollments: [waiting(ALICE)],
    inspect: {
      [ALICE]: () => {
        inspections++;
        return { answerable: false, reason: "already-answered" };
      },
    },
  });
  await watcher.onNewMail({ specialUse: ["sent"] }, [mail(6)]);
  await watcher.onNewMail(null, [mail(6), mail(6), mail(7, { author: ALICE })]);
  await idle();
  assert.equal(inspections, 1);
  await watcher.onNewMail(null, [mail(6)]);
  await idle();
  assert.equal(inspections, 1, "remembered: not inspected again");
});

test("the scan: at most every RESCAN_AFTER_MS unless forced, Inbox folders, since the given time", async () => {
  const queries = [];
  const { watcher, env } = await newWatcher({
    extra: {
      messages: {
        getRaw: async () => new Blob([RAW]),
        query: async q => {
          queries.push(q);
          return { id: null, messages: [] };
        },
      },
    },
  });
  await watcher.scanRecent();
  assert.equal(queries.length, 1, "the first scan runs");
  assert.equal(watcher.scannedOnce, true);
  await watcher.scanRecent();
  assert.equal(queries.length, 1, `not again within ${RESCAN_AFTER_MS} ms`);
  const since = Date.now() - 60000;
  await watcher.scanRecent({ force: true, since });
  assert.equal(queries.length, 2);
  assert.deepEqual(queries[1], { fromDate: new Date(since), subject: "ACME:", folderId: ["inbox-1", "inbox-2"] });
  assert.ok(env.storage[KEYS.lastScan] > 0);
});

/** Waits until `done()` holds, or fails after `ms`. */
async function eventually(done, ms = 5000) {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) {
      assert.fail("timed out");
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

test("a mail Thunderbird could not hand over is tried again soon, and then inspected", async () => {
  let reads = 0;
  const warned = { kind: "warning", answerable: false, reason: "not-authentic", detail: "no DKIM signature" };
  const { watcher, helper, seen, idle, logged } = await newWatcher({
    enrollments: [waiting(ALICE, "test")],
    inspect: { [ALICE]: warned },
    readRetry: { initialMs: 200, maxMs: 400, attempts: 3 },
    extra: {
      messages: {
        // a fresh profile's first folder sync: the first getRaw fails
        getRaw: async () => {
          reads++;
          if (reads === 1) {
            throw new Error("An unexpected error occurred");
          }
          return new Blob([RAW]);
        },
        query: async () => [],
      },
    },
  });
  await watcher.onNewMail({ specialUse: ["inbox"] }, [mail(7)]);
  await idle();
  assert.equal(helper.calls.filter(c => c[0] === "challenge.inspect").length, 0, "nothing inspected yet");
  assert.ok(logged.some(l => /failed: An unexpected error occurred - trying again in 200 ms/.test(l)), logged.join("\n"));
  await eventually(() => seen.has(mail(7).headerMessageId));
  await idle();
  assert.equal(reads, 2);
  assert.equal(helper.calls.filter(c => c[0] === "challenge.inspect").length, 1);
  assert.equal(watcher.retries.size, 0, "nothing left to retry");
});

test("a mail that cannot be read at all is tried a few times, then left to the next scan", async () => {
  let reads = 0;
  const { watcher, helper, seen, idle, logged } = await newWatcher({
    enrollments: [waiting(ALICE, "test")],
    readRetry: { initialMs: 5, maxMs: 10, attempts: 3 },
    extra: {
      messages: {
        getRaw: async () => {
          reads++;
          throw new Error("An unexpected error occurred");
        },
        query: async () => [],
      },
    },
  });
  await watcher.onNewMail({ specialUse: ["inbox"] }, [mail(8)]);
  await eventually(() => logged.some(l => /the next scan looks again/.test(l)));
  await idle();
  assert.equal(reads, 4, "the first read and three more");
  assert.equal(helper.calls.filter(c => c[0] === "challenge.inspect").length, 0);
  assert.equal(seen.has(mail(8).headerMessageId), false, "not remembered: a scan tries again");
  assert.equal(watcher.retries.size, 0);
});
