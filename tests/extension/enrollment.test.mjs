// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/enrollment.mjs: status, installation, binding, notifications
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  STEPS,
  bindingPlan,
  enrollParams,
  expiryInfo,
  identitiesFor,
  installInfo,
  isBound,
  isPending,
  statusEvents,
  stepProgress,
} from "../../messaging/extension/lib/enrollment.mjs";

test("steps follow PROTOCOL.md §9 and give progress", () => {
  assert.equal(STEPS[0], "new");
  assert.equal(STEPS.at(-1), "installed");
  assert.deepEqual(stepProgress("new"), { index: 0, total: 12, fraction: 0 });
  assert.equal(stepProgress("installed").fraction, 1);
  assert.equal(stepProgress("failed"), null);
  assert.equal(stepProgress("bogus"), null);
  assert.equal(isPending("waiting-challenge"), true);
  assert.equal(isPending("finalized"), true);
  assert.equal(isPending("issued"), false);
  assert.equal(isPending("installed"), false);
  assert.equal(isPending("failed"), false);
});

test("expiry in whole days", () => {
  const now = 1_800_000_000;
  assert.deepEqual(expiryInfo(now + 10 * 86400 + 5, now), { expired: false, daysLeft: 10 });
  assert.deepEqual(expiryInfo(now - 1, now), { expired: true, daysLeft: -1 });
  assert.equal(expiryInfo(0, now), null);
  assert.equal(expiryInfo(undefined, now), null);
});

test("install info from reply.sent/install results and from status summaries", () => {
  assert.deepEqual(
    installInfo({ state: "installed", profile: "/p", nickname: "alice (ex)", db_key: "AAAA", signing: true, encryption: false }),
    { nickname: "alice (ex)", dbKey: "AAAA", signing: true, encryption: false, profile: "/p", bound: null }
  );
  const summary = {
    mailbox: "alice@example.org",
    state: "installed",
    installed: [
      { store: "thunderbird", location: "/old", nickname: "old", db_key: "OLD", bound: true, at: 1 },
      { store: "pkcs12", location: "/x.p12", at: 2 },
      { store: "thunderbird", location: "/p", nickname: "new", db_key: "NEW", bound: false, at: 3 },
    ],
  };
  assert.deepEqual(installInfo(summary), { nickname: "new", dbKey: "NEW", signing: true, encryption: true, profile: "/p", bound: false });
  assert.equal(installInfo({ installed: [{ store: "pkcs12" }] }), null);
  assert.equal(installInfo({ state: "waiting-challenge" }), null);
  assert.equal(installInfo(null), null);
});

const cert = { dbKey: "NEW", signing: true, encryption: true };

test("empty slots, slots of a vanished certificate and our old certificate get the new one", () => {
  assert.deepEqual(bindingPlan({}, cert), { signing: true, encryption: true });
  assert.deepEqual(bindingPlan({ signingDbKey: "GONE", signingFound: false, encryptionDbKey: "" }, cert), { signing: true, encryption: true });
  assert.deepEqual(
    bindingPlan({ signingDbKey: "OLD", signingFound: true, encryptionDbKey: "OLD", encryptionFound: true }, cert, { known: ["OLD"] }),
    { signing: true, encryption: true }
  );
});

test("a certificate the person chose stays, unless they asked for this one", () => {
  const mine = { signingDbKey: "THEIRS", signingFound: true, encryptionDbKey: "THEIRS", encryptionFound: true };
  assert.deepEqual(bindingPlan(mine, cert, { known: ["OLD"] }), { signing: false, encryption: false });
  assert.deepEqual(bindingPlan(mine, cert, { explicit: true }), { signing: true, encryption: true });
});

test("only the slots the certificate serves; nothing when already bound", () => {
  assert.deepEqual(bindingPlan({}, { dbKey: "S", signing: true, encryption: false }), { signing: true, encryption: false });
  const bound = { signingDbKey: "NEW", signingFound: true, encryptionDbKey: "NEW", encryptionFound: true };
  assert.deepEqual(bindingPlan(bound, cert), { signing: false, encryption: false });
  assert.equal(isBound(bound, cert), true);
  assert.equal(isBound({ signingDbKey: "NEW" }, cert), false);
  assert.equal(isBound({ signingDbKey: "NEW" }, { dbKey: "NEW", signing: true, encryption: false }), true);
  assert.deepEqual(bindingPlan({}, null), { signing: false, encryption: false });
});

test("identities for a mailbox, case-insensitively", () => {
  const ids = [
    { id: "id1", email: "Alice@Example.org" },
    { id: "id2", email: "bob@example.org" },
    { id: "id3", email: "alice@example.org" },
  ];
  assert.deepEqual(identitiesFor(ids, "alice@example.org").map(i => i.id), ["id1", "id3"]);
  assert.deepEqual(identitiesFor(ids, "x"), []);
  assert.deepEqual(identitiesFor(null, "alice@example.org"), []);
});

test("status events: issued, renewed, failed, expiring (once)", () => {
  const now = 1_800_000_000;
  let r = statusEvents({}, [{ mailbox: "a@x", ca: "c", state: "waiting-challenge" }], now);
  assert.deepEqual(r.events, []);
  r = statusEvents(r.snapshot, [{ mailbox: "a@x", ca: "c", state: "installed", not_after: now + 100 * 86400 }], now);
  assert.deepEqual(r.events.map(e => e.type), ["issued"]);
  r = statusEvents(r.snapshot, [{ mailbox: "a@x", ca: "c", state: "installed", not_after: now + 200 * 86400 }], now);
  assert.deepEqual(r.events.map(e => e.type), ["renewed"]);
  r = statusEvents(r.snapshot, [{ mailbox: "a@x", ca: "c", state: "failed", failure: "refused", not_after: now + 5 * 86400 }], now + 195 * 86400);
  assert.deepEqual(r.events.map(e => [e.type, e.failure]), [["failed", "refused"], ["expiring", undefined]]);
  r = statusEvents(r.snapshot, [{ mailbox: "a@x", ca: "c", state: "failed", not_after: now + 5 * 86400 }], now + 196 * 86400);
  assert.deepEqual(r.events, [], "no second expiry warning for the same certificate");
  // a renewal under way does not warn
  r = statusEvents({}, [{ mailbox: "b@x", state: "waiting-challenge", not_after: now + 86400 }], now);
  assert.deepEqual(r.events, []);
  assert.deepEqual(statusEvents(null, null, now), { events: [], snapshot: {} });
});

test("enroll parameters: mailbox, an optional CA profile name, restart", () => {
  assert.deepEqual(enrollParams({ mailbox: " alice@example.org ", ca: "", restart: false }), {
    params: { mailbox: "alice@example.org" },
    problem: null,
  });
  assert.deepEqual(enrollParams({ mailbox: "alice@example.org", ca: " example ", restart: true }), {
    params: { mailbox: "alice@example.org", ca: "example", restart: true },
    problem: null,
  });
  assert.equal(enrollParams({ mailbox: "Alice <alice@example.org>" }).problem, "mailbox");
  assert.equal(enrollParams({ mailbox: "nope" }).problem, "mailbox");
  assert.equal(enrollParams({ mailbox: "alice@example.org", ca: "bad name!" }).problem, "ca");
  assert.equal(enrollParams(null).problem, "mailbox");
});
