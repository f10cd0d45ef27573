// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// The extension's JSON-RPC client (lib/jsonrpc.mjs) against the real mailenroll-helper,
// framed as Thunderbird frames it (4-byte native-endian length, UTF-8 JSON): hello
// first, the method list the background relies on, errors with data.name, clean exit on
// end of input. Skipped when the helper was not built (ME_TEST_HELPER).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { JsonRpcPeer, RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { PROTOCOL_VERSIONS, TIMEOUTS } from "../../messaging/extension/bg/helper.mjs";
import { frame, frameReader, skipWithoutHelper as skip, spawnHelper } from "./helper-process.mjs";

const systemConfig = existsSync("/etc/mailenroll/mailenroll.conf");

function startHelper() {
  const { child, exited, stderr } = spawnHelper();
  const requests = [];
  const notifications = [];
  const peer = new JsonRpcPeer({
    send: msg => child.stdin.write(frame(msg)),
    onRequest: (method, params) => {
      requests.push([method, params]);
      return { approve: false };
    },
    onNotification: (method, params) => notifications.push([method, params]),
    defaultTimeoutMs: 15000,
  });
  child.stdout.on("data", frameReader(msg => peer.handleMessage(msg)));
  const stop = async () => {
    child.stdin.end();
    const r = await exited;
    peer.close();
    return r;
  };
  return { child, peer, stop, requests, notifications, stderr };
}

test("hello, then the methods the extension uses; an EOF ends the helper cleanly", { skip }, async () => {
  const h = startHelper();
  try {
    // before hello, everything is refused
    await assert.rejects(h.peer.request("status"), e => e instanceof RpcError && e.errorName === "hello-required");

    const hello = await h.peer.request("hello", { protocol: PROTOCOL_VERSIONS, client: "mailenroll-extension/test" });
    assert.equal(hello.protocol, 1);
    assert.match(hello.helper, /^mailenroll /);
    for (const m of ["challenge.inspect", "enroll", "install", "renew", "reply.failed", "reply.sent", "revoke", "status"]) {
      assert.ok(hello.methods.includes(m), `helper has ${m}`);
      assert.ok(TIMEOUTS[m] > 0, `the extension has a timeout for ${m}`);
    }
    assert.ok(hello.events.includes("progress"));

    assert.deepEqual(await h.peer.request("ping", { echo: { ü: [1, "zwei"] } }), { pong: true, echo: { ü: [1, "zwei"] } });
    assert.deepEqual(await h.peer.request("status", {}), { enrollments: [] });

    if (!systemConfig) {
      // no configuration: a clear error with a stable name, as the pages show it
      await assert.rejects(
        h.peer.request("enroll", { mailbox: "alice@example.org" }),
        e => e instanceof RpcError && e.errorName === "not-found" && /certificate authority/.test(e.message)
      );
      await assert.rejects(
        h.peer.request("challenge.inspect", { mailbox: "alice@example.org", message: "Subject: ACME: x\r\n\r\n" }),
        e => e instanceof RpcError && e.errorName === "not-found"
      );
    }
    await assert.rejects(h.peer.request("enroll", {}), e => e instanceof RpcError && e.errorName === "invalid-argument");
    await assert.rejects(h.peer.request("no.such.method"), e => e instanceof RpcError && e.errorName === "method-not-found");
    assert.deepEqual(h.requests, [], "the helper asks nothing outside challenge.inspect");
  } finally {
    const r = await h.stop();
    assert.deepEqual(r, { code: 0, signal: null }, h.stderr());
  }
});

test("no protocol in common: protocol-unsupported with the helper's versions", { skip }, async () => {
  const h = startHelper();
  try {
    await assert.rejects(
      h.peer.request("hello", { protocol: [99], client: "mailenroll-extension/future" }),
      e => e instanceof RpcError && e.errorName === "protocol-unsupported" && Array.isArray(e.data.supported)
    );
  } finally {
    await h.stop();
  }
});
