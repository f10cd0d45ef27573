// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/jsonrpc.mjs: ids, answers, errors, timeouts, the helper's own
// requests and notifications, disconnects
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  JsonRpcPeer,
  RpcDisconnectedError,
  RpcError,
  RpcTimeoutError,
  EXTENSION_ERRORS,
} from "../../messaging/extension/lib/jsonrpc.mjs";

// timers the test advances by hand
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const timers = new Map();
  return {
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && timers.has(id)) {
          timers.delete(id);
          t.fn();
        }
      }
    },
    get count() {
      return timers.size;
    },
  };
}

function peer(opts = {}) {
  const sent = [];
  const timers = fakeTimers();
  const p = new JsonRpcPeer(Object.assign({ send: m => sent.push(m), timers, defaultTimeoutMs: 1000 }, opts));
  return { p, sent, timers };
}

const tick = () => new Promise(r => setImmediate(r));

test("a request carries jsonrpc 2.0, a fresh id and its params; the answer resolves it", async () => {
  const { p, sent } = peer();
  const a = p.request("hello", { protocol: [1], client: "t/1" });
  const b = p.request("status");
  assert.deepEqual(sent[0], { jsonrpc: "2.0", id: 1, method: "hello", params: { protocol: [1], client: "t/1" } });
  assert.deepEqual(sent[1], { jsonrpc: "2.0", id: 2, method: "status" });
  assert.equal(p.pendingCount, 2);
  // answers may come in any order
  p.handleMessage({ jsonrpc: "2.0", id: 2, result: { enrollments: [] } });
  p.handleMessage({ jsonrpc: "2.0", id: 1, result: { protocol: 1 } });
  assert.deepEqual(await a, { protocol: 1 });
  assert.deepEqual(await b, { enrollments: [] });
  assert.equal(p.pendingCount, 0);
});

test("an error answer rejects with RpcError keeping code, message and data.name", async () => {
  const { p } = peer();
  const r = p.request("enroll", { mailbox: "a@b.example" });
  p.handleMessage({
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32019, message: "No certificate authority is chosen.", data: { name: "not-found" } },
  });
  await assert.rejects(r, e => e instanceof RpcError && e.code === -32019 && e.errorName === "not-found" && /No certificate/.test(e.message));
});

test("answers inside a batch are matched one by one", async () => {
  const { p } = peer();
  const a = p.request("ping");
  const b = p.request("ping");
  p.handleMessage([
    { jsonrpc: "2.0", id: 1, result: { pong: true } },
    { jsonrpc: "2.0", id: 2, error: { code: -32003, message: "too large", data: { name: "response-too-large" } } },
  ]);
  assert.deepEqual(await a, { pong: true });
  await assert.rejects(b, e => e.errorName === "response-too-large");
});

test("no answer within the timeout rejects with RpcTimeoutError; a late answer is ignored", async () => {
  const errors = [];
  const { p, timers } = peer({ onProtocolError: (m, why) => errors.push(why) });
  const r = p.request("status", undefined, { timeoutMs: 500 });
  timers.advance(499);
  assert.equal(p.pendingCount, 1);
  timers.advance(1);
  await assert.rejects(r, e => e instanceof RpcTimeoutError && e.method === "status");
  p.handleMessage({ jsonrpc: "2.0", id: 1, result: {} });
  assert.deepEqual(errors, ["answer to no waiting request"]);
});

test("timeout 0 waits for ever", async () => {
  const { p, timers } = peer();
  const r = p.request("reply.sent", {}, { timeoutMs: 0 });
  assert.equal(timers.count, 0);
  timers.advance(10 ** 9);
  p.handleMessage({ jsonrpc: "2.0", id: 1, result: { state: "installed" } });
  assert.equal((await r).state, "installed");
});

test("close rejects everything waiting with a clear error, and later requests at once", async () => {
  const { p, timers } = peer();
  const a = p.request("challenge.inspect", {});
  const b = p.request("status");
  p.close(new RpcDisconnectedError("helper connection lost: exited"));
  await assert.rejects(a, e => e instanceof RpcDisconnectedError && /exited/.test(e.message));
  await assert.rejects(b, RpcDisconnectedError);
  await assert.rejects(p.request("ping"), RpcDisconnectedError);
  assert.equal(timers.count, 0);
  assert.equal(p.notify("x"), false);
});

test("a send that throws rejects the request as disconnected", async () => {
  const p = new JsonRpcPeer({
    send: () => {
      throw new Error("Attempt to postMessage on disconnected port");
    },
    timers: fakeTimers(),
  });
  await assert.rejects(p.request("ping"), e => e instanceof RpcDisconnectedError && /disconnected port/.test(e.message));
  assert.equal(p.pendingCount, 0);
});

test("the helper's prompt request gets its handler's result under the same id", async () => {
  const seen = [];
  const { p, sent } = peer({
    onRequest: async (method, params) => {
      seen.push([method, params.mailbox]);
      return { approve: true };
    },
  });
  p.handleMessage({ jsonrpc: "2.0", id: "me-1", method: "prompt", params: { mailbox: "alice@example.org" } });
  await tick();
  await tick();
  assert.deepEqual(seen, [["prompt", "alice@example.org"]]);
  assert.deepEqual(sent.at(-1), { jsonrpc: "2.0", id: "me-1", result: { approve: true } });
});

test("a handler that throws answers with an error object; RpcError keeps its code", async () => {
  const { p, sent } = peer({
    onRequest: async method => {
      if (method === "prompt") throw new RpcError(EXTENSION_ERRORS.DISMISSED, "closed", { name: "dismissed" });
      throw new Error("boom");
    },
  });
  p.handleMessage({ jsonrpc: "2.0", id: "me-1", method: "prompt", params: {} });
  p.handleMessage({ jsonrpc: "2.0", id: "me-2", method: "other", params: {} });
  await tick();
  await tick();
  const byId = Object.fromEntries(sent.map(m => [m.id, m]));
  assert.deepEqual(byId["me-1"].error, { code: -32000, message: "closed", data: { name: "dismissed" } });
  assert.equal(byId["me-2"].error.code, -32603);
  assert.equal(byId["me-2"].error.message, "boom");
});

test("without a request handler the helper's requests get method-not-found", async () => {
  const { p, sent } = peer();
  p.handleMessage({ jsonrpc: "2.0", id: "me-7", method: "prompt" });
  await tick();
  assert.equal(sent[0].id, "me-7");
  assert.equal(sent[0].error.code, -32601);
});

test("notifications go to their handler and get no answer", () => {
  const got = [];
  const { p, sent } = peer({ onNotification: (m, params) => got.push([m, params.step]) });
  p.handleMessage({ jsonrpc: "2.0", method: "progress", params: { mailbox: "a@b", step: "order", message: "…" } });
  assert.deepEqual(got, [["progress", "order"]]);
  assert.equal(sent.length, 0);
});

test("timeouts are suspended while the person answers a prompt, then start afresh", async () => {
  let release;
  const { p, timers, sent } = peer({
    onRequest: () => new Promise(r => (release = r)),
  });
  const inspect = p.request("challenge.inspect", {}, { timeoutMs: 1000 });
  timers.advance(900);
  p.handleMessage({ jsonrpc: "2.0", id: "me-1", method: "prompt", params: {} });
  await tick();
  assert.equal(p.inboundCount, 1);
  timers.advance(60 * 60 * 1000); // an hour of thinking
  assert.equal(p.pendingCount, 1, "no timeout while the question is open");
  release({ approve: false });
  await tick();
  await tick();
  assert.deepEqual(sent.at(-1), { jsonrpc: "2.0", id: "me-1", result: { approve: false } });
  timers.advance(999);
  assert.equal(p.pendingCount, 1);
  timers.advance(1);
  await assert.rejects(inspect, RpcTimeoutError);
});

test("an answer to a prompt after the connection closed is dropped", async () => {
  let release;
  const { p, sent } = peer({ onRequest: () => new Promise(r => (release = r)) });
  p.handleMessage({ jsonrpc: "2.0", id: "me-1", method: "prompt", params: {} });
  await tick();
  p.close();
  release({ approve: true });
  await tick();
  await tick();
  assert.equal(sent.length, 0);
});

test("malformed messages are reported and change nothing", async () => {
  const why = [];
  const { p } = peer({ onProtocolError: (m, w) => why.push(w) });
  const r = p.request("ping");
  p.handleMessage(42);
  p.handleMessage({ jsonrpc: "1.0", id: 1, result: {} });
  p.handleMessage({ jsonrpc: "2.0", id: 1 });
  p.handleMessage({ jsonrpc: "2.0", method: 5 });
  p.handleMessage({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse", data: { name: "parse-error" } } });
  p.handleMessage([]);
  assert.deepEqual(why, [
    "not an object",
    "jsonrpc is not 2.0",
    "neither a request nor an answer",
    "method is not a string",
    "error about a whole message",
    "empty batch",
  ]);
  assert.equal(p.pendingCount, 1);
  p.handleMessage({ jsonrpc: "2.0", id: 1, result: null });
  assert.equal(await r, null);
});

test("an error member that is not an object still rejects", async () => {
  const { p } = peer();
  const r = p.request("ping");
  p.handleMessage({ jsonrpc: "2.0", id: 1, error: "bad" });
  await assert.rejects(r, RpcError);
});
