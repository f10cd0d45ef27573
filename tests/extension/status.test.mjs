// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/bg/status.mjs Status over the real HelperConnection (bg/helper.mjs)
// and the real mailenroll-helper: runtime.connectNative is the one stand-in, a port that
// starts the helper and frames messages as Thunderbird does (helper-process.mjs).
// Skipped when the helper was not built (ME_TEST_HELPER).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { HOST_NAME, HelperConnection } from "../../messaging/extension/bg/helper.mjs";
import { Status } from "../../messaging/extension/bg/status.mjs";
import { nativePort, skipWithoutHelper as skip } from "./helper-process.mjs";

async function until(what, cond, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `waited ${ms} ms for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

test("the helper's status, an enroll call under way, the helper lost and back", { skip }, async () => {
  const ports = [];
  globalThis.browser = {
    runtime: {
      connectNative: name => {
        assert.equal(name, HOST_NAME);
        const port = nativePort();
        ports.push(port);
        return port;
      },
    },
  };
  const states = [];
  const broadcasts = [];
  const conn = new HelperConnection({
    clientName: "mailenroll-extension/test",
    onRequest: method => {
      throw new Error(`unexpected request ${method}`);
    },
    onNotification: () => {},
    onStateChange: c => states.push(c.state),
  });
  const status = new Status({ helper: conn, broadcast: msg => broadcasts.push(msg) });
  try {
    conn.start();
    await conn.ready(15000);

    // a fresh HOME: no enrollments, and the status is all there is
    assert.deepEqual(await status.refresh(), []);
    assert.equal(status.error, null);
    assert.equal(status.complete, true);
    assert.deepEqual(broadcasts.at(-1), { type: "changed" });

    // while an enroll call is under way the status may lack its enrollment
    let during = null;
    await assert.rejects(
      status.whileEnrolling(() => {
        during = status.complete;
        return conn.call("enroll", {});
      }),
      e => e instanceof RpcError && e.errorName === "invalid-argument"
    );
    assert.equal(during, false);
    assert.equal(status.complete, true, "a failed enroll call is over too");

    // the helper goes away: the last enrollments stay, the error says why
    status.enrollments = [{ mailbox: "alice@example.org", state: "installed" }];
    ports[0].kill();
    await ports[0].exited;
    await until("the connection to notice", () => conn.state === "waiting");
    assert.deepEqual(await status.refresh(), [{ mailbox: "alice@example.org", state: "installed" }]);
    assert.match(status.error, /helper/);
    assert.equal(status.complete, false);

    // after the back-off (about 1 s) the connection is back, and so is the status
    await until("the reconnection", () => states.filter(s => s === "ready").length === 2);
    assert.equal(ports.length, 2);
    assert.deepEqual(await status.refresh(), []);
    assert.equal(status.error, null);
  } finally {
    // no further reconnection; every helper started ends
    conn._clearTimer();
    for (const port of ports) port.disconnect();
    const exits = await Promise.all(ports.map(p => p.exited));
    assert.deepEqual(exits.at(-1), { code: 0, signal: null }, ports.at(-1).stderr());
  }
});

test("progress events: the last one per mailbox, clipped, malformed ones ignored", () => {
  const broadcasts = [];
  const status = new Status({ helper: null, broadcast: msg => broadcasts.push(msg) });
  status.onProgress({ mailbox: "Alice@Example.org", step: "validated", message: "x".repeat(2000) });
  status.onProgress({ mailbox: "alice@example.org", step: "finalized", message: "done" });
  status.onProgress({ step: "validated" });
  status.onProgress(null);
  const view = status.progressView();
  assert.deepEqual(Object.keys(view), ["alice@example.org"]);
  assert.equal(view["alice@example.org"].step, "finalized");
  assert.equal(broadcasts.length, 2);
  assert.equal(broadcasts[0].type, "progress");
  assert.equal(broadcasts[0].progress.message.length, 1024);
  assert.equal(broadcasts[0].progress.mailbox, "Alice@Example.org");
});

test("find() looks the mailbox up in any case", () => {
  const status = new Status({ helper: null });
  status.enrollments = [null, { mailbox: "Bob@Example.org", state: "issued" }];
  assert.equal(status.find("bob@example.ORG").state, "issued");
  assert.equal(status.find("carol@example.org"), undefined);
});
