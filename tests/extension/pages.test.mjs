// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/pages.mjs: the options page's set-up requests (setup.get,
// setup.set, setup.addCa, setup.agree, setup.eab) against a helper that has the
// configuration methods and one that is too old for them; and bg/testcontrol.mjs's
// test.page, which drives the open options page. Thunderbird's APIs and the helper are
// stand-ins (stand-in.mjs); tests/test-tb-e2e.c runs the page in Thunderbird.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PageRouter } from "../../messaging/extension/bg/pages.mjs";
import { TestControl } from "../../messaging/extension/bg/testcontrol.mjs";
import { RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { SETUP_METHODS } from "../../messaging/extension/lib/setup.mjs";
import { standInBrowser, standInHelper } from "./stand-in.mjs";

const OLD_METHODS = ["hello", "ping", "status", "enroll", "renew", "revoke", "install", "challenge.inspect", "reply.sent", "reply.failed"];
const SENDER = { id: "mailenroll@mailenroll.org", url: "moz-extension://test/pages/options.html" };

function router(methods, answers = {}) {
  standInBrowser();
  const helper = standInHelper(answers);
  helper.describe = () => ({ state: "ready", methods });
  helper.ready = async () => {};
  const pages = new PageRouter({ version: "0", init: async () => {}, helper, status: {}, prompts: {}, warnings: {}, mail: {}, binder: {}, replies: {}, identities: async () => [] });
  return { pages, helper };
}

test("an older helper without the configuration methods: the page is told, nothing is asked", async () => {
  const { pages, helper } = router(OLD_METHODS);
  assert.deepEqual(await pages.onMessage({ type: "setup.get" }, SENDER), { ok: true, result: { configurable: false } });
  assert.deepEqual(helper.methods(), []);
});

test("a helper with them: config.get with the CAs' meta, or without when the page asks", async () => {
  const config = { can_add_ca: true, cas: [] };
  const { pages, helper } = router([...OLD_METHODS, ...SETUP_METHODS], { "config.get": config });
  assert.deepEqual(await pages.onMessage({ type: "setup.get" }, SENDER), { ok: true, result: { configurable: true, config } });
  await pages.onMessage({ type: "setup.get", meta: false }, SENDER);
  assert.deepEqual(
    helper.calls.map(c => [c[0], c[1]]),
    [
      ["config.get", { meta: true }],
      ["config.get", { meta: false }],
    ]
  );
});

test("the writes go to the helper as the page built them; a locked key comes back with its sentence and name", async () => {
  const locked = new RpcError(-32037, "Your administrator set general/auto-approve; it cannot be changed here.", {
    name: "policy-locked",
    key: "general/auto-approve",
  });
  const { pages, helper } = router([...OLD_METHODS, ...SETUP_METHODS], {
    "config.set": () => locked,
    "ca.add": p => ({ ca: { name: "test", directory: { value: p.directory } } }),
    "ca.agree": p => ({ ca: { name: p.ca, terms_current: true } }),
    "ca.eab": p => ({ ca: { name: p.ca, eab_stored: true } }),
  });
  assert.deepEqual(await pages.onMessage({ type: "setup.set", params: { ca: "test", key: "auto-approve", value: "verified" } }, SENDER), {
    ok: false,
    error: "Your administrator set general/auto-approve; it cannot be changed here.",
    name: "policy-locked",
  });
  assert.equal((await pages.onMessage({ type: "setup.addCa", params: { directory: "https://127.0.0.1:1/dir" } }, SENDER)).result.ca.name, "test");
  assert.equal((await pages.onMessage({ type: "setup.agree", params: { ca: "test", terms: "https://x/terms" } }, SENDER)).result.ca.terms_current, true);
  assert.equal((await pages.onMessage({ type: "setup.eab", params: { ca: "test", kid: "k", mac_key: "AAAA" } }, SENDER)).result.ca.eab_stored, true);
  assert.deepEqual(
    helper.calls.map(c => c[0]),
    ["config.set", "ca.add", "ca.agree", "ca.eab"]
  );
  assert.deepEqual(helper.calls[3][1], { ca: "test", kid: "k", mac_key: "AAAA" });
  // no params at all: refused without asking
  assert.equal((await pages.onMessage({ type: "setup.set" }, SENDER)).ok, false);
  assert.equal(helper.calls.length, 4);
  // another extension's message is not answered
  assert.equal(await pages.onMessage({ type: "setup.set", params: {} }, { id: "other@example.org" }), undefined);
});

test("test.page opens the options page when none answers, waits for it, and returns what it shows", async () => {
  const { browser, calls } = standInBrowser();
  let open = false;
  const sent = [];
  browser.runtime.openOptionsPage = async () => {
    calls.push(["openOptionsPage"]);
    setTimeout(() => (open = true), 150);
  };
  browser.runtime.sendMessage = async msg => {
    sent.push(msg);
    if (!open) throw new Error("Could not establish connection. Receiving end does not exist.");
    return { loaded: true, action: msg.action, url: msg.url };
  };
  const control = new TestControl({ init: async () => {}, helper: {}, prompts: {}, pages: {}, binder: {}, warnings: {}, identities: async () => [], logger: {}, broadcast: () => {} });
  const shown = await control.handle("test.page", { action: "addCa", url: "https://127.0.0.1:1/dir", other: "dropped" });
  assert.deepEqual(shown, { loaded: true, action: "addCa", url: "https://127.0.0.1:1/dir" });
  assert.deepEqual(calls.filter(c => c[0] === "openOptionsPage").length, 1);
  assert.deepEqual(sent.at(-1), { source: "mailenroll-background", type: "test.page", action: "addCa", url: "https://127.0.0.1:1/dir" });
  await assert.rejects(control.handle("test.page", { action: "format-disk" }), { message: /no page action/ });
});
