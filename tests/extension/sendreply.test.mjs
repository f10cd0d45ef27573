// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/reply.mjs ReplySender.send(): what the helper is told about the send.
//
// A send that certainly failed is a fault real Thunderbird does not produce headless (its
// send-error dialog blocks instead, which is the timeout path), so the `browser` object
// here is a stand-in: just enough of the compose, accounts, storage and notifications APIs
// for send(), recording what it is asked; so is the helper, which answers every call. The
// background's own parts are the real ones: the seen-mail store, the status, the binder,
// the identity list and the notifications. tests/test-tb-e2e.c covers the real send.
import { test } from "node:test";
import assert from "node:assert/strict";

const MAILBOX = "alice@example.org";
const REPLY = {
  from: MAILBOX,
  to: ["acme-challenge@acme-ca.test"],
  subject: "Re: ACME: dG9rZW4tcGFydC0xLXRva2VuLXBhcnQ",
  body: "-----BEGIN ACME RESPONSE-----\r\nLoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\r\n-----END ACME RESPONSE-----\r\n",
};

function fakeBrowser({ sendFails }) {
  const storage = {};
  const calls = [];
  let composed = {};
  globalThis.browser = {
    runtime: { getManifest: () => ({ version: "0.0-test" }), getURL: p => `moz-extension://test/${p}`, sendMessage: async () => {} },
    i18n: { getMessage: name => name },
    storage: {
      local: {
        get: async key => (key in storage ? { [key]: storage[key] } : {}),
        set: async obj => Object.assign(storage, obj),
      },
    },
    accounts: { list: async () => [{ id: "account1", name: "Alice", identities: [{ id: "id1", email: MAILBOX, name: "Alice" }] }] },
    compose: {
      beginReply: async (messageId, type, details) => {
        calls.push(["beginReply", messageId]);
        // Thunderbird applies the details given with the reply (compose.beginReply)
        composed = { ...details, isPlainText: true };
        return { id: 7 };
      },
      setComposeDetails: async (tabId, details) => Object.assign(composed, details),
      getComposeDetails: async () => ({ cc: [], bcc: [], ...composed }),
      sendMessage: async () => {
        calls.push(["sendMessage"]);
        if (sendFails) {
          throw new Error("The SMTP server refused the message.");
        }
        return { headerMessageId: "reply@test" };
      },
    },
    tabs: { remove: async id => calls.push(["tabs.remove", id]) },
    windows: { remove: async () => {} },
    notifications: { create: async (id, opts) => calls.push(["notify", id, opts.title]) },
  };
  return { storage, calls };
}

const BG = "../../messaging/extension/bg/";

async function newSender() {
  const { ReplySender } = await import(BG + "reply.mjs");
  const { SeenStore } = await import(BG + "seen.mjs");
  const { Status } = await import(BG + "status.mjs");
  const { Binder } = await import(BG + "binding.mjs");
  const { Notifier } = await import(BG + "notify.mjs");
  const { listIdentities } = await import(BG + "identities.mjs");
  const helperCalls = [];
  const helper = {
    call: async (method, params) => {
      helperCalls.push([method, params]);
      return method === "status" ? { enrollments: [] } : {};
    },
  };
  const seen = new SeenStore();
  await seen.load();
  const identities = () => listIdentities();
  const { notify } = new Notifier();
  const status = new Status({ helper });
  const binder = new Binder({ helper, identities, notify });
  const sender = new ReplySender({ helper, seen, status, binder, identities, notify });
  return { sender, seen, helperCalls };
}

// what send() left running (reply.sent after a sent reply) has settled
const settled = () => new Promise(resolve => setImmediate(resolve));

const MESSAGE = { id: 42, headerMessageId: "challenge-1@acme-ca.test", folder: { accountId: "account1" } };

test("a send that failed is reported with reply.failed and the mail is asked about again", async () => {
  const { calls } = fakeBrowser({ sendFails: true });
  const { sender, seen, helperCalls } = await newSender();
  await seen.mark(MESSAGE.headerMessageId, "approved");
  await sender.send(MESSAGE, { mailbox: MAILBOX, ca: "test" }, REPLY);
  await settled();
  assert.deepEqual(
    helperCalls.map(c => c[0]),
    ["reply.failed"],
    "the helper is told, and not told reply.sent"
  );
  assert.deepEqual(helperCalls[0][1], { mailbox: MAILBOX, ca: "test" });
  assert.equal(seen.has(MESSAGE.headerMessageId), false, "the challenge mail will be inspected again");
  assert.ok(calls.some(c => c[0] === "tabs.remove" && c[1] === 7), "the compose window is closed");
  assert.equal(sender.lateCompose.size, 0, "a failed send is not waited for");
  assert.ok(calls.some(c => c[0] === "notify" && c[1] === `mailenroll-sendfail-${MAILBOX}`), "the person is told");
});

test("a reply the helper handed out in a bad shape is taken back before anything is composed", async () => {
  const { calls } = fakeBrowser({ sendFails: false });
  const { sender, seen, helperCalls } = await newSender();
  await seen.mark(MESSAGE.headerMessageId, "approved");
  await sender.send(MESSAGE, { mailbox: MAILBOX }, { ...REPLY, subject: "Hello" });
  await settled();
  assert.deepEqual(helperCalls, [["reply.failed", { mailbox: MAILBOX }]]);
  assert.equal(calls.filter(c => c[0] === "beginReply").length, 0);
  assert.equal(seen.has(MESSAGE.headerMessageId), false);
});

test("a send that worked is not reported as failed: reply.sent goes on", async () => {
  const { calls } = fakeBrowser({ sendFails: false });
  const { sender, seen, helperCalls } = await newSender();
  await seen.mark(MESSAGE.headerMessageId, "approved");
  await sender.send(MESSAGE, { mailbox: MAILBOX }, REPLY);
  await settled();
  assert.equal(calls.filter(c => c[0] === "sendMessage").length, 1);
  assert.deepEqual(helperCalls, [["reply.sent", { mailbox: MAILBOX }], ["status", {}]], "reply.sent, then a fresh status");
  assert.equal(seen.has(MESSAGE.headerMessageId), true);
  assert.equal(sender.isBusy(MAILBOX), false, "reply.sent is over");
});
