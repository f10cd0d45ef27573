// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/dedup.mjs: each challenge mail is inspected once, bounded
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeenMessages, normalizeMessageId } from "../../messaging/extension/lib/dedup.mjs";

test("Message-IDs with and without angle brackets are the same; junk is refused", () => {
  assert.equal(normalizeMessageId("<c1@ca.example>"), "c1@ca.example");
  assert.equal(normalizeMessageId(" c1@ca.example "), "c1@ca.example");
  for (const bad of ["", "<>", "a b@c", null, 7, "x".repeat(999)]) {
    assert.equal(normalizeMessageId(bad), null, String(bad));
  }
});

test("added ids are seen with their outcome", () => {
  const s = new SeenMessages();
  assert.equal(s.has("c1@ca.example"), false);
  assert.equal(s.add("<c1@ca.example>", "approved"), true);
  assert.equal(s.has("c1@ca.example"), true);
  assert.equal(s.get("c1@ca.example"), "approved");
  assert.equal(s.add("", "x"), false);
  assert.equal(s.size, 1);
  assert.equal(s.delete("c1@ca.example"), true);
  assert.equal(s.has("c1@ca.example"), false);
});

test("the set keeps at most limit entries, the oldest go first", () => {
  let t = 0;
  const s = new SeenMessages({ limit: 3, now: () => ++t });
  for (const id of ["a@x", "b@x", "c@x", "d@x"]) s.add(id);
  assert.deepEqual(s.toJSON().map(r => r[0]), ["b@x", "c@x", "d@x"]);
  // adding again refreshes
  s.add("b@x");
  s.add("e@x");
  assert.deepEqual(s.toJSON().map(r => r[0]), ["d@x", "b@x", "e@x"]);
});

test("old entries are pruned", () => {
  let now = 1000;
  const s = new SeenMessages({ maxAgeMs: 100, now: () => now });
  s.add("old@x");
  now = 1050;
  s.add("new@x");
  now = 1120;
  assert.equal(s.prune(), 1);
  assert.equal(s.has("old@x"), false);
  assert.equal(s.has("new@x"), true);
});

test("round trip through storage JSON, tolerating damage", () => {
  let now = 5000;
  const a = new SeenMessages({ now: () => now });
  a.add("one@x", "approved");
  now++;
  a.add("two@x", "warning");
  const stored = JSON.parse(JSON.stringify(a.toJSON()));
  stored.push("garbage", [1, 2], ["three@x", "not a time"], ["<four@x>", 4000]);
  const b = SeenMessages.fromJSON(stored, { now: () => now });
  assert.deepEqual(b.toJSON().map(r => r[0]), ["four@x", "one@x", "two@x"]);
  assert.equal(b.get("two@x"), "warning");
  assert.equal(SeenMessages.fromJSON(null).size, 0);
  assert.equal(SeenMessages.fromJSON({}).size, 0);
  assert.equal(SeenMessages.fromJSON(Array.from({ length: 50 }, (_, i) => [`m${i}@x`, now]), { limit: 10, now: () => now }).size, 10);
});

test("limit below 1 is refused", () => {
  assert.throws(() => new SeenMessages({ limit: 0 }), RangeError);
});
