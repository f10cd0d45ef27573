// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/app.mjs sendReply(): what the helper is told about the send.
//
// A send that certainly failed is a fault real Thunderbird does not produce headless (its
// send-error dialog blocks instead, which is the timeout path), so the `browser` object
// here is a stand-in: just enough of the compose, accounts, storage and notifications APIs
// for sendReply(), recording what it is asked. tests/test-tb-e2e.c covers the real send.
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
        composed = { identityId: details.identityId, isPlainText: true, plainTextBody: details.plainTextBody };
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

async function newApp() {
  const { App } = await import("../../messaging/extension/bg/app.mjs");
  const app = new App();
  await app.init();
  const helperCalls = [];
  app.helper.call = async (method, params) => {
    helperCalls.push([method, params]);
    return method === "status" ? { enrollments: [] } : {};
  };
  app.finishAfterReply = async () => {};
  return { app, helperCalls };
}

const MESSAGE = { id: 42, headerMessageId: "challenge-1@acme-ca.test", folder: { accountId: "account1" } };

test("a send that failed is reported with reply.failed and the mail is asked about again", async () => {
  const { calls } = fakeBrowser({ sendFails: true });
  const { app, helperCalls } = await newApp();
  await app.markSeen(MESSAGE.headerMessageId, "approved");
  await app.sendReply(MESSAGE, { mailbox: MAILBOX, ca: "test" }, REPLY);
  assert.deepEqual(
    helperCalls.map(c => c[0]),
    ["reply.failed"],
    "the helper is told, and not told reply.sent"
  );
  assert.deepEqual(helperCalls[0][1], { mailbox: MAILBOX, ca: "test" });
  assert.equal(app.seen.has(MESSAGE.headerMessageId), false, "the challenge mail will be inspected again");
  assert.ok(calls.some(c => c[0] === "tabs.remove" && c[1] === 7), "the compose window is closed");
  assert.equal(app.lateCompose.size, 0, "a failed send is not waited for");
});

test("a reply the helper handed out in a bad shape is taken back before anything is composed", async () => {
  const { calls } = fakeBrowser({ sendFails: false });
  const { app, helperCalls } = await newApp();
  await app.markSeen(MESSAGE.headerMessageId, "approved");
  await app.sendReply(MESSAGE, { mailbox: MAILBOX }, { ...REPLY, subject: "Hello" });
  assert.deepEqual(helperCalls, [["reply.failed", { mailbox: MAILBOX }]]);
  assert.equal(calls.filter(c => c[0] === "beginReply").length, 0);
  assert.equal(app.seen.has(MESSAGE.headerMessageId), false);
});

test("a send that worked is not reported as failed", async () => {
  const { calls } = fakeBrowser({ sendFails: false });
  const { app, helperCalls } = await newApp();
  await app.markSeen(MESSAGE.headerMessageId, "approved");
  await app.sendReply(MESSAGE, { mailbox: MAILBOX }, REPLY);
  assert.equal(calls.filter(c => c[0] === "sendMessage").length, 1);
  assert.equal(helperCalls.filter(c => c[0] === "reply.failed").length, 0);
  assert.equal(app.seen.has(MESSAGE.headerMessageId), true);
});
