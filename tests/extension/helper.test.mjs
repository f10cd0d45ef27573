// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// The extension's JSON-RPC client (lib/jsonrpc.mjs) against the real mailenroll-helper,
// framed as Thunderbird frames it (4-byte native-endian length, UTF-8 JSON): hello
// first, the method list the background relies on, errors with data.name, clean exit on
// end of input. Skipped when the helper was not built (ME_TEST_HELPER).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcPeer, RpcError } from "../../messaging/extension/lib/jsonrpc.mjs";
import { HelperConnection, PROTOCOL_VERSIONS, TIMEOUTS } from "../../messaging/extension/bg/helper.mjs";
import { frame, frameReader, nativePort, skipWithoutHelper as skip, spawnHelper } from "./helper-process.mjs";

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

// a Snap or Flatpak Thunderbird starts the helper through the desktop portal: the
// connection sends the profile folder the Experiment reads in hello, and the helper takes
// it only when it can verify it (PROTOCOL.md §4); a folder that is no running
// Thunderbird's profile is refused with the helper's sentence, which the connection keeps
test("hello names the profile folder; one the helper cannot verify is refused with its sentence", { skip }, async () => {
  const ports = [];
  globalThis.browser = {
    runtime: {
      connectNative: () => {
        const port = nativePort();
        ports.push(port);
        return port;
      },
    },
  };
  const notProfile = mkdtempSync(join(tmpdir(), "mailenroll-ext-profile-"));
  const conn = new HelperConnection({
    clientName: "mailenroll-extension/test",
    onRequest: method => {
      throw new Error(`unexpected request ${method}`);
    },
    onNotification: () => {},
    profileDir: async () => notProfile,
  });
  try {
    conn.start();
    await assert.rejects(conn.ready(15000));
    assert.equal(conn.state, "waiting");
    assert.ok(conn.lastError.includes(notProfile), conn.lastError);
    assert.match(conn.lastError, /cannot confirm .* profile of a Thunderbird running for you; .*\.$/);
  } finally {
    conn._clearTimer();
    for (const port of ports) port.disconnect();
    await Promise.all(ports.map(p => p.exited));
    rmSync(notProfile, { recursive: true, force: true });
  }
});

// without the Experiment, or when it fails, hello goes without a profile, as before
test("no profile folder known: hello without one, and the helper is ready", { skip }, async () => {
  const ports = [];
  globalThis.browser = {
    runtime: {
      connectNative: () => {
        const port = nativePort();
        ports.push(port);
        return port;
      },
    },
  };
  const conn = new HelperConnection({
    clientName: "mailenroll-extension/test",
    onRequest: method => {
      throw new Error(`unexpected request ${method}`);
    },
    onNotification: () => {},
    profileDir: async () => {
      throw new Error("no Experiment");
    },
  });
  try {
    conn.start();
    await conn.ready(15000);
    assert.equal(conn.hello.profile, undefined);
  } finally {
    conn._clearTimer();
    for (const port of ports) port.disconnect();
    await Promise.all(ports.map(p => p.exited));
  }
});
