// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/binding.mjs: install, then bind the certificate to the mailbox's
// identities through the Experiment, or tell the person what to select. The decisions
// are lib/enrollment.mjs' (enrollment.test.mjs); this is what Binder does with them and
// keeps in storage.local. The Experiment, the helper and Thunderbird's APIs are stand-ins
// (stand-in.mjs) that record what they are asked; tests/test-tb-e2e.c binds for real.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Binder } from "../../messaging/extension/bg/binding.mjs";
import { listIdentities } from "../../messaging/extension/bg/identities.mjs";
import { Notifier } from "../../messaging/extension/bg/notify.mjs";
import { KEYS } from "../../messaging/extension/bg/store.mjs";
import { settled, standInBrowser, standInHelper } from "./stand-in.mjs";

const ALICE = "alice@example.org";
const RESULT = { db_key: "key-1", nickname: "Alice's certificate" };

/** An Experiment whose identities have the given bindings; `fail` makes getBinding throw. */
function experiment(bindings = {}, { fail = null } = {}) {
  const bound = [];
  return {
    bound,
    getBinding: async id => {
      if (fail) throw new Error(fail);
      return bindings[id] || { signingDbKey: "", encryptionDbKey: "" };
    },
    bind: async (id, dbKey, plan) => {
      bound.push([id, dbKey, plan]);
      bindings[id] = { signingDbKey: plan.signing ? dbKey : "", encryptionDbKey: plan.encryption ? dbKey : "", signingFound: true, encryptionFound: true };
    },
  };
}

function newBinder(api, answers = {}) {
  const env = standInBrowser({
    identities: [
      { id: "id1", email: ALICE },
      { id: "id2", email: "Alice@Example.org" },
      { id: "id3", email: "bob@example.org" },
    ],
  });
  const helper = standInHelper(answers);
  const broadcasts = [];
  const binder = new Binder({
    helper,
    identities: () => listIdentities(),
    notify: new Notifier().notify,
    broadcast: msg => broadcasts.push(msg),
    experiment: () => api,
  });
  return { binder, helper, env, broadcasts };
}

test("with the Experiment: every identity of the mailbox gets the certificate, once", async () => {
  const api = experiment();
  const { binder, env, broadcasts } = newBinder(api);
  assert.equal(binder.hasExperiment(), true);
  await binder.bind(ALICE, RESULT);
  assert.deepEqual(api.bound, [
    ["id1", "key-1", { signing: true, encryption: true }],
    ["id2", "key-1", { signing: true, encryption: true }],
  ]);
  assert.deepEqual(env.storage[KEYS.known], { [ALICE]: ["key-1"] });
  assert.deepEqual(env.storage[KEYS.bound], ["key-1"]);
  assert.deepEqual(env.storage[KEYS.manual], {});
  await settled();
  assert.deepEqual(env.notified(), [`mailenroll-installed-${ALICE}`]);
  assert.deepEqual(broadcasts, [{ type: "changed" }]);

  // bound already: nothing to do, quietly
  await binder.bind(ALICE, RESULT, { quiet: true });
  assert.equal(api.bound.length, 2);
  assert.deepEqual(await binder.bindings([{ id: "id1" }, { id: "id3" }]), {
    id1: { signingDbKey: "key-1", encryptionDbKey: "key-1", signingFound: true, encryptionFound: true },
    id3: { signingDbKey: "", encryptionDbKey: "" },
  });
});

test("a certificate the person picked is replaced only for the identity picked for the request", async () => {
  const theirs = { signingDbKey: "theirs", encryptionDbKey: "theirs", signingFound: true, encryptionFound: true };
  const api = experiment({ id1: { ...theirs }, id2: { ...theirs } });
  const { binder, env } = newBinder(api);
  await binder.bind(ALICE, RESULT);
  assert.deepEqual(api.bound, [], "their choice stays");
  assert.equal(env.storage[KEYS.manual][ALICE].dbKey, "key-1", "so the person is told what to select");

  await binder.rememberPick("ALICE@example.org", "id2");
  assert.equal(env.storage[KEYS.explicit][ALICE].identityId, "id2");
  await binder.bind(ALICE, RESULT);
  assert.deepEqual(api.bound, [["id2", "key-1", { signing: true, encryption: true }]]);
  assert.deepEqual(env.storage[KEYS.explicit], {}, "the pick is used up");
  assert.deepEqual(env.storage[KEYS.manual], {});
});

test("without the Experiment, or when it fails: the person is told what to select", async () => {
  const none = newBinder(undefined);
  assert.equal(none.binder.hasExperiment(), false);
  assert.deepEqual(await none.binder.bindings([{ id: "id1" }]), {});
  await none.binder.bind(ALICE, RESULT);
  const manual = none.env.storage[KEYS.manual][ALICE];
  assert.equal(manual.nickname, RESULT.nickname);
  assert.equal(manual.error, null);
  assert.equal(none.env.storage[KEYS.bound], undefined);
  await settled();
  assert.deepEqual(none.env.notified(), [`mailenroll-manual-${ALICE}`]);

  const broken = newBinder(experiment({}, { fail: "no such identity" }));
  await broken.binder.bind(ALICE, RESULT, { quiet: true });
  assert.equal(broken.env.storage[KEYS.manual][ALICE].error, "no such identity");
  await settled();
  assert.deepEqual(broken.env.notified(), [], "quiet");
});

test("nothing installed, nothing bound; install asks the helper, then binds", async () => {
  const api = experiment();
  const { binder, helper, env } = newBinder(api, { install: RESULT });
  await binder.bind(ALICE, { state: "issued" });
  assert.deepEqual(env.storage, {});

  assert.deepEqual(await binder.install(ALICE, "test", { now: true }), RESULT);
  assert.deepEqual(helper.calls, [["install", { mailbox: ALICE, ca: "test" }, { now: true }]]);
  assert.equal(api.bound.length, 2);
  await binder.install(ALICE);
  assert.deepEqual(helper.calls[1], ["install", { mailbox: ALICE }, { now: false }]);
});
