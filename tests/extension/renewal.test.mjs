// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/renewal.mjs: what the periodic check does for each enrollment,
// with the real status, binder and reply sender; Thunderbird's APIs, the Experiment and
// the helper are stand-ins (stand-in.mjs) that record what they are asked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Binder } from "../../messaging/extension/bg/binding.mjs";
import { listIdentities } from "../../messaging/extension/bg/identities.mjs";
import { Notifier } from "../../messaging/extension/bg/notify.mjs";
import { CHECK_ALARM, CHECK_PERIOD_MIN, PeriodicCheck, nextStep } from "../../messaging/extension/bg/renewal.mjs";
import { ReplySender } from "../../messaging/extension/bg/reply.mjs";
import { SeenStore } from "../../messaging/extension/bg/seen.mjs";
import { Status } from "../../messaging/extension/bg/status.mjs";
import { KEYS } from "../../messaging/extension/bg/store.mjs";
import { STEPS } from "../../messaging/extension/lib/enrollment.mjs";
import { settled, standInBrowser, standInHelper } from "./stand-in.mjs";

const CERT = { store: "thunderbird", db_key: "key-new", nickname: "alice cert" };

test("nextStep: reply.sent after the reply went out, install when issued, renew when installed", () => {
  // every step of PROTOCOL.md §9
  const want = {
    new: null,
    account: null,
    order: null,
    // the helper's wait decision (issue 13 item 5): it may tell the CA to go ahead
    "waiting-challenge": "enroll",
    "waiting-approval": null,
    // the reply is being sent: the extension that sends it goes on itself
    answered: null,
    "reply-sent": "reply.sent",
    "challenge-posted": "reply.sent",
    validated: "reply.sent",
    "key-stored": "reply.sent",
    finalized: "reply.sent",
    issued: "install",
    installed: "renew",
  };
  assert.deepEqual(Object.keys(want), [...STEPS]);
  for (const state of STEPS) {
    assert.equal(nextStep(state), want[state], state);
  }
  assert.equal(nextStep("failed"), null);
  assert.equal(nextStep(undefined), null);
});

async function newCheck({ enrollments, answers = {}, busy = [] }) {
  const env = standInBrowser();
  const bound = [];
  const experiment = {
    getBinding: async () => ({ signingDbKey: null, encryptionDbKey: null }),
    bind: async (identityId, dbKey, plan) => bound.push([identityId, dbKey, plan]),
  };
  const helper = standInHelper({ status: () => ({ enrollments }), ...answers });
  const seen = new SeenStore();
  const { notify } = new Notifier();
  const identities = () => listIdentities();
  const status = new Status({ helper });
  const binder = new Binder({ helper, identities, notify, experiment: () => experiment });
  const replies = new ReplySender({ helper, seen, status, binder, identities, notify });
  for (const mailbox of busy) replies.busy.add(mailbox);
  const check = new PeriodicCheck({ helper, status, binder, replies, notify });
  return { check, helper, env, bound };
}

test("the check installs, resumes, binds a renewal done elsewhere and offers renew", async () => {
  const { check, helper, env, bound } = await newCheck({
    enrollments: [
      { mailbox: "issued@example.org", state: "issued", ca: "test" },
      { mailbox: "alice@example.org", state: "installed", installed: [CERT] },
      { mailbox: "resume@example.org", state: "validated", ca: "test" },
      { mailbox: "waits@example.org", state: "waiting-challenge" },
      null,
    ],
    answers: { install: {}, renew: { renewing: true }, "reply.sent": {}, enroll: { state: "waiting-challenge", wait: "mail" } },
  });
  await check.run();
  await settled();
  const asked = helper.calls.map(c => [c[0], c[1]]);
  assert.deepEqual(asked.slice(0, 5), [
    ["status", {}],
    ["install", { mailbox: "issued@example.org", ca: "test" }],
    ["renew", { mailbox: "alice@example.org" }],
    ["reply.sent", { mailbox: "resume@example.org", ca: "test" }],
    ["enroll", { mailbox: "waits@example.org" }],
  ]);
  assert.equal(asked.filter(c => c[0] === "status").length, 3, "before, after, and after reply.sent");
  assert.deepEqual(bound, [["id1", "key-new", { signing: true, encryption: true }]], "the renewal is bound");
  assert.deepEqual(env.notified(), ["mailenroll-renewing-alice@example.org"], "binding a renewal is quiet");
  assert.deepEqual(env.storage[KEYS.bound], ["key-new"]);
});

test("a mailbox whose reply.sent is under way is left alone; a failed status stops the check", async () => {
  const busy = await newCheck({ enrollments: [{ mailbox: "Resume@example.org", state: "validated" }], busy: ["resume@example.org"] });
  await busy.check.run();
  await settled();
  assert.deepEqual(busy.helper.methods(), ["status", "status"]);

  const down = await newCheck({ enrollments: [], answers: { status: new Error("the helper is not connected") } });
  await down.check.run();
  assert.deepEqual(down.helper.methods(), ["status"]);
  assert.equal(down.env.storage[KEYS.snapshot], undefined, "no snapshot from no status");
});

test("notices: renewed and failed since the last look, expiring once", async () => {
  const now = Math.floor(Date.now() / 1000);
  const { check, env } = await newCheck({
    enrollments: [
      { mailbox: "renewed@example.org", state: "installed", not_after: now + 90 * 86400 },
      { mailbox: "failed@example.org", state: "failed", failure: "the CA said no" },
      { mailbox: "expiring@example.org", state: "installed", not_after: now + 3 * 86400 },
    ],
    answers: { renew: { renewing: false } },
  });
  env.storage[KEYS.snapshot] = {
    "renewed@example.org\u0000": { notAfter: now + 10 * 86400, state: "installed", warned: true },
    "failed@example.org\u0000": { notAfter: 0, state: "waiting-challenge", warned: false },
  };
  await check.run();
  assert.deepEqual(env.notified(), [
    "mailenroll-renewed-renewed@example.org",
    "mailenroll-failed-failed@example.org",
    "mailenroll-expiring-expiring@example.org",
  ]);
  await check.run();
  assert.equal(env.notified().length, 3, "nothing new the second time");
});

test("a wait for the challenge mail that is over is told once, in the helper's words", async () => {
  const why = "A mail that looks like the challenge reached waits@example.org but was not answered: no DKIM signature.";
  const { check, helper, env } = await newCheck({
    enrollments: [{ mailbox: "waits@example.org", state: "waiting-challenge", ca: "test" }],
    answers: { enroll: { state: "waiting-challenge", wait: "unauthenticated", wait_message: why } },
  });
  await check.run();
  await check.run();
  assert.deepEqual(helper.methods().filter(m => m === "enroll").length, 2, "resumed at every check");
  assert.deepEqual(env.notified(), ["mailenroll-wait-waits@example.org"], "told once");
  assert.deepEqual(env.storage[KEYS.waitNotices], { "waits@example.org": why });
});

test("reply.sent that ends in a new request (a burned challenge) tells so and binds nothing", async () => {
  const note = "The certificate authority did not accept the answer to its challenge (no reply); a new request was made, so answer its challenge mail.";
  const { check, helper, env, bound } = await newCheck({
    enrollments: [{ mailbox: "resume@example.org", state: "challenge-posted", ca: "test" }],
    answers: { "reply.sent": { state: "waiting-challenge", reordered: note } },
  });
  await check.run();
  await settled();
  assert.ok(helper.methods().includes("reply.sent"));
  assert.deepEqual(bound, [], "nothing to bind");
  assert.deepEqual(env.notified(), ["mailenroll-reordered-resume@example.org"]);
});

test("the alarm: created once, every 6 hours", async () => {
  const { check, env } = await newCheck({ enrollments: [] });
  await check.ensureAlarm();
  assert.deepEqual(env.calls.filter(c => c[0] === "alarms.create"), [["alarms.create", CHECK_ALARM, { delayInMinutes: 1, periodInMinutes: CHECK_PERIOD_MIN }]]);
  assert.equal(CHECK_PERIOD_MIN, 360);
  env.browser.alarms.get = async name => ({ name });
  await check.ensureAlarm();
  assert.equal(env.calls.filter(c => c[0] === "alarms.create").length, 1, "an existing alarm is kept");
  assert.equal(check.isAlarm({ name: CHECK_ALARM }), true);
  assert.equal(check.isAlarm({ name: "other" }), false);
  assert.equal(check.isAlarm(undefined), false);
});
