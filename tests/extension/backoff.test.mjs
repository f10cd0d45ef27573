// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/backoff.mjs: the reconnect policy
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../messaging/extension/lib/backoff.mjs";

test("delays double from the first and stop at the cap", () => {
  const b = new Backoff({ initialMs: 1000, maxMs: 30000, factor: 2, jitter: 0 });
  assert.deepEqual(
    Array.from({ length: 8 }, () => b.next()),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
  );
  assert.equal(b.attempts, 8);
});

test("reset starts again from the first delay", () => {
  const b = new Backoff({ initialMs: 500, maxMs: 10000, jitter: 0 });
  b.next();
  b.next();
  b.reset();
  assert.equal(b.next(), 500);
});

test("jitter stays within its fraction and never passes the cap", () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const b = new Backoff({ initialMs: 1000, maxMs: 4000, jitter: 0.2, random: () => r });
    const d = [b.next(), b.next(), b.next(), b.next()];
    assert.ok(d[0] >= 800 && d[0] <= 1200, `first ${d[0]}`);
    assert.ok(d[3] <= 4000 && d[3] >= 3200, `capped ${d[3]}`);
  }
});

test("a thousand failures do not overflow", () => {
  const b = new Backoff({ initialMs: 1000, maxMs: 300000, jitter: 0 });
  let last = 0;
  for (let i = 0; i < 1000; i++) last = b.next();
  assert.equal(last, 300000);
});

test("nonsense parameters are refused", () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 1000, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ factor: 0.5 }), RangeError);
  assert.throws(() => new Backoff({ jitter: 1 }), RangeError);
});
