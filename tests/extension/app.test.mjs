// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// The background put together (messaging/extension/bg/app.mjs) against the real
// mailenroll-helper: the start-up, the pages' requests (bg/pages.mjs) and the helper's
// requests (prompt, test.*). runtime.connectNative starts the real helper
// (helper-process.mjs); the rest of Thunderbird's `browser` is a stand-in (stand-in.mjs).
// Skipped when the helper was not built (ME_TEST_HELPER).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { fromOwnPage } from "../../messaging/extension/bg/pages.mjs";
import { nativePort, skipWithoutHelper as skip } from "./helper-process.mjs";
import { settled, standInBrowser } from "./stand-in.mjs";

const systemConfig = existsSync("/etc/mailenroll/mailenroll.conf");
const SELF = { id: "mailenroll@mailenroll.org", baseUrl: "moz-extension://test/" };
const PAGE = { id: "mailenroll@mailenroll.org", url: "moz-extension://test/pages/options.html" };

test("fromOwnPage: a request with a type, from this extension, from one of its pages", () => {
  assert.equal(fromOwnPage({ type: "state.get" }, PAGE, SELF), true);
  assert.equal(fromOwnPage({ type: "state.get" }, { id: SELF.id }, SELF), true, "a sender without a URL");
  assert.equal(fromOwnPage({ type: "state.get" }, { ...PAGE, id: "other@example.org" }, SELF), false);
  assert.equal(fromOwnPage({ type: "state.get" }, { ...PAGE, url: "https://example.org/" }, SELF), false);
  assert.equal(fromOwnPage({ type: 1 }, PAGE, SELF), false);
  assert.equal(fromOwnPage(null, PAGE, SELF), false);
  assert.equal(fromOwnPage({ type: "state.get" }, null, SELF), false);
});

test("the background against the real helper: start-up, the pages' requests, the helper's", { skip }, async () => {
  const queries = [];
  const env = standInBrowser({
    extra: {
      messages: {
        query: async q => {
          queries.push(q);
          return { id: null, messages: [] };
        },
      },
      folders: { query: async () => [{ id: "inbox-1" }] },
    },
  });
  const ports = [];
  env.browser.runtime.connectNative = () => {
    const port = nativePort();
    ports.push(port);
    return port;
  };
  const { App } = await import("../../messaging/extension/bg/app.mjs");
  const app = new App();
  const ask = msg => app.pages.onMessage(msg, PAGE);
  try {
    await app.start();
    assert.equal(app.startupDone, true);
    assert.equal(queries.length, 1, "the start-up scan");
    assert.ok(app.logger.tail(50).some(l => l.endsWith("start-up: 0 enrollment(s) ")), app.logger.tail(50).join("\n"));

    const state = await ask({ type: "state.get" });
    assert.equal(state.ok, true);
    assert.equal(state.result.connection.state, "ready");
    assert.match(state.result.connection.helper, /^mailenroll /);
    assert.equal(state.result.experiment, false, "no Experiment in the stand-in");
    assert.deepEqual(state.result.identities.map(i => i.email), ["alice@example.org"]);
    assert.deepEqual(state.result.enrollments, []);
    assert.equal(state.result.statusError, null);
    assert.deepEqual(state.result.busy, []);
    assert.equal(state.result.prompts, 0);

    // not for this listener: undefined, so another may answer
    assert.equal(ask({ type: "no.such.request" }), undefined);
    assert.equal(app.pages.onMessage({ type: "state.get" }, { ...PAGE, id: "other@example.org" }), undefined);

    // refused before the helper is asked, in the person's language
    assert.deepEqual(await ask({ type: "enroll", form: { mailbox: "not an address" } }), { ok: false, error: "errorBadMailbox", name: null });
    assert.deepEqual(await ask({ type: "revoke", mailbox: "alice@example.org", reason: 3 }), { ok: false, error: "errorBadReason", name: null });
    assert.deepEqual(await ask({ type: "bind", mailbox: "alice@example.org" }), {
      ok: false,
      error: "errorNoCertificate:alice@example.org",
      name: null,
    });
    if (!systemConfig) {
      // the helper's own error, with its name, as the options page shows it
      const r = await ask({ type: "enroll", form: { mailbox: "alice@example.org" }, identityId: "id1" });
      assert.equal(r.ok, false);
      assert.equal(r.name, "not-found");
      assert.match(r.error, /certificate authority/);
      assert.equal(queries.length, 1, "no rescan after a failed request");
    }

    assert.deepEqual(await ask({ type: "warning.get", tabId: 5 }), { ok: true, result: null });
    assert.deepEqual(await ask({ type: "prompt.get", key: "none" }), { ok: true, result: null });
    assert.deepEqual(await ask({ type: "prompt.answer", key: "none", approve: true }), { ok: true, result: false });
    assert.deepEqual(await ask({ type: "scan.now" }), { ok: true, result: true });
    assert.equal(queries.length, 2);
    assert.equal((await ask({ type: "status.refresh" })).result.statusError, null);

    // the pages are told of changes
    await settled();
    const told = env.calls.filter(c => c[0] === "runtime.sendMessage").map(c => c[1]);
    assert.ok(told.length > 0);
    assert.ok(told.every(m => m.source === "mailenroll-background"));

    // the helper's requests: test.* (only a test's helper sends them), nothing else
    const ts = await app.onHelperRequest("test.state", {});
    assert.deepEqual({ ...ts, log: undefined }, { connected: true, identities: 1, prompts: 0, warnings: 0, experiment: false, log: undefined });
    assert.ok(ts.log.length > 0);
    await assert.rejects(app.onHelperRequest("test.nothing", {}), e => e instanceof RpcError && e.errorName === "method-not-found");
    await assert.rejects(app.onHelperRequest("something", {}), e => e instanceof RpcError && e.code === -32601);
  } finally {
    app.helper._clearTimer();
    for (const port of ports) port.disconnect();
    await Promise.all(ports.map(p => p.exited));
  }
});
