// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// The background's small parts (messaging/extension/bg/): jobs.mjs, log.mjs, text.mjs,
// notify.mjs, identities.mjs, messages.mjs and seen.mjs. Thunderbird's APIs are stand-ins
// (stand-in.mjs) or given as parameters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Serial, withTimeout } from "../../messaging/extension/bg/jobs.mjs";
import { Log } from "../../messaging/extension/bg/log.mjs";
import { errorText } from "../../messaging/extension/bg/text.mjs";
import { Notifier, notificationId } from "../../messaging/extension/bg/notify.mjs";
import { listIdentities } from "../../messaging/extension/bg/identities.mjs";
import { MAX_RAW_BYTES, listMessages, rawText } from "../../messaging/extension/bg/messages.mjs";
import { SeenStore } from "../../messaging/extension/bg/seen.mjs";
import { KEYS } from "../../messaging/extension/bg/store.mjs";
import { settled, standInBrowser } from "./stand-in.mjs";

test("Serial runs one job after another, and goes on after a failed one", async () => {
  const q = new Serial();
  const order = [];
  let release;
  const first = q.run(() => new Promise(resolve => (release = resolve)).then(() => order.push("first")));
  const second = q.run(() => {
    order.push("second");
    throw new Error("no");
  });
  const third = q.run(() => {
    order.push("third");
    return 3;
  });
  await settled();
  assert.deepEqual(order, [], "nothing overtakes the first job");
  release();
  await first;
  await assert.rejects(second, /no/);
  assert.equal(await third, 3);
  assert.deepEqual(order, ["first", "second", "third"]);
});

test("withTimeout: the promise's result, or the message once the time is up", async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000, "late"), 7);
  await assert.rejects(withTimeout(Promise.reject(new Error("own")), 1000, "late"), /own/);
  const never = new Promise(() => {});
  await assert.rejects(withTimeout(never, 10, "did not settle"), { message: "did not settle" });
});

test("Log: every line to the console with the prefix, the last ones kept", () => {
  const printed = [];
  const log = new Log({ keep: 2, console: { log: (...a) => printed.push(a) }, now: () => new Date(0) });
  log.write("one", { a: 1 });
  log.write("two");
  log.write("three", 3);
  assert.deepEqual(printed[0], ["[mailenroll]", "one", { a: 1 }]);
  assert.deepEqual(log.tail(5), ["1970-01-01T00:00:00.000Z two", "1970-01-01T00:00:00.000Z three 3"]);
  assert.deepEqual(log.tail(1), ["1970-01-01T00:00:00.000Z three 3"]);
});

test("errorText of errors and of anything else thrown", () => {
  assert.equal(errorText(null), "");
  assert.equal(errorText(undefined), "");
  assert.equal(errorText(new Error("broken")), "broken");
  assert.equal(errorText("plain"), "plain");
  assert.equal(errorText({ message: 42 }), "42");
  assert.equal(errorText({}), "[object Object]");
});

test("notifications: a safe id of ours; a click on ours opens the options page", async () => {
  assert.equal(notificationId("sent-alice@example.org"), "mailenroll-sent-alice@example.org");
  assert.equal(notificationId("warning-<a b>/c"), "mailenroll-warning-_a_b__c");
  assert.equal(notificationId("x".repeat(300)).length, 200);

  const { calls } = standInBrowser();
  const notifier = new Notifier();
  // the other parts get notify itself, unbound
  const { notify } = notifier;
  notify("sent-a@b", "T".repeat(300), "M");
  notifier.onClicked("someone-else");
  notifier.onClicked("mailenroll-sent-a_b");
  await settled();
  assert.deepEqual(calls[0], ["notify", "mailenroll-sent-a@b", "T".repeat(200), "M"]);
  assert.deepEqual(
    calls.slice(1).map(c => c[0]),
    ["runtime.openOptionsPage", "notifications.clear"]
  );
});

test("listIdentities: every identity of every account; none when the accounts cannot be listed", async () => {
  const accounts = {
    list: async all => {
      assert.equal(all, false, "without folders");
      return [
        { id: "a1", name: "Work", identities: [{ id: "i1", email: "alice@work.example", name: "Alice", label: "work" }] },
        { id: "a2", name: "News" },
        { id: "a3", name: "Home", identities: [{ id: "i2", email: "alice@home.example" }] },
      ];
    },
  };
  assert.deepEqual(await listIdentities({ accounts }), [
    { id: "i1", email: "alice@work.example", name: "Alice", label: "work", accountId: "a1", accountName: "Work" },
    { id: "i2", email: "alice@home.example", name: "", label: "", accountId: "a3", accountName: "Home" },
  ]);
  const logged = [];
  const broken = { list: async () => Promise.reject(new Error("no accounts")) };
  assert.deepEqual(await listIdentities({ accounts: broken, log: (...a) => logged.push(a.join(" ")) }), []);
  assert.deepEqual(logged, ["accounts.list failed: no accounts"]);
});

test("listMessages: an array as it is, a paged list page by page, a long one cut", async () => {
  const aborted = [];
  const pages = { p2: { id: "p3", messages: [{ id: 3 }, { id: 4 }] }, p3: { id: null, messages: [{ id: 5 }] } };
  const messages = { continueList: async id => pages[id], abortList: async id => aborted.push(id) };
  const arr = [{ id: 1 }];
  assert.equal(await listMessages(arr, { messages }), arr);
  const all = await listMessages({ id: "p2", messages: [{ id: 1 }, { id: 2 }] }, { messages });
  assert.deepEqual(all.map(m => m.id), [1, 2, 3, 4, 5]);
  assert.deepEqual(aborted, []);
  const cut = await listMessages({ id: "p2", messages: [{ id: 1 }, { id: 2 }] }, { messages, max: 3 });
  assert.deepEqual(cut.map(m => m.id), [1, 2, 3, 4], "whole pages up to the limit");
  assert.deepEqual(aborted, ["p3"], "the rest of the list is given up");
});

test("rawText: UTF-8 as it is, other bytes with replacement characters, a limit", async () => {
  const getRaw = value => ({
    getRaw: async (id, options) => {
      assert.deepEqual(options, { data_format: "File" });
      return value;
    },
  });
  const utf8 = "Subject: ACME: x\r\n\r\nGrüße\r\n";
  assert.equal(await rawText(1, { messages: getRaw(new Blob([utf8])) }), utf8);

  const logged = [];
  const latin1 = new Blob([Uint8Array.from([0x47, 0x72, 0xfc, 0xdf, 0x65])]);
  assert.equal(await rawText(1, { messages: getRaw(latin1), log: m => logged.push(m) }), "Gr\ufffd\ufffde");
  assert.equal(logged.length, 1);

  // an old Thunderbird's binary string: one char per byte
  assert.equal(await rawText(1, { messages: getRaw("Gr\xc3\xbc\xc3\x9f") }), "Grüß");

  await assert.rejects(rawText(1, { messages: getRaw(new Blob([new Uint8Array(MAX_RAW_BYTES + 1)])) }), /too large/);
});

test("SeenStore: marks and forgets are saved; forgetting an outcome waits for the next mark", async () => {
  const { storage } = standInBrowser();
  const seen = new SeenStore();
  await seen.load();
  await seen.mark("<a@example>", "approved");
  await seen.mark("b@example", "no-enrollment");
  await seen.mark("c@example", "no-enrollment");
  assert.equal(seen.has("a@example"), true, "<> or not, the same Message-ID");
  assert.deepEqual(storage[KEYS.seen].map(r => r[0]), ["a@example", "b@example", "c@example"]);

  await seen.forget("a@example");
  assert.equal(seen.has("a@example"), false);
  assert.deepEqual(storage[KEYS.seen].map(r => r[0]), ["b@example", "c@example"]);

  seen.forgetOutcome("no-enrollment");
  assert.equal(seen.has("b@example"), false);
  assert.equal(seen.has("c@example"), false);
  assert.equal(storage[KEYS.seen].length, 2, "in memory only");
  await seen.mark("d@example", "declined");
  assert.deepEqual(storage[KEYS.seen].map(r => [r[0], r[2]]), [["d@example", "declined"]]);

  const again = new SeenStore();
  await again.load();
  assert.equal(again.has("d@example"), true);
  assert.equal(again.has("b@example"), false);
});
