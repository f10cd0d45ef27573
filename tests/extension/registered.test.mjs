// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// tests/extension/meson.build names every *.test.mjs of this folder, one a line: a file
// it does not name is a test that never runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = process.env.ME_TEST_SOURCE_ROOT
  ? join(process.env.ME_TEST_SOURCE_ROOT, "tests", "extension")
  : dirname(fileURLToPath(import.meta.url));

test("meson.build registers every test file of the folder, and no other", () => {
  const meson = readFileSync(join(here, "meson.build"), "utf8");
  const list = meson.match(/^extension_tests = \[\n((?:\s+'[^']+',\n)*)\]/m);
  assert.ok(list, "extension_tests = [ ... ] with one file a line");
  const registered = [...list[1].matchAll(/'([^']+)'/g)].map(m => m[1]);
  assert.equal(new Set(registered).size, registered.length, "each once");
  const files = readdirSync(here).filter(f => f.endsWith(".test.mjs"));
  assert.deepEqual([...registered].sort(), files.sort());
});
