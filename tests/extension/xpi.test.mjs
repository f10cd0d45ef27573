// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// the built .xpi files (messaging/meson.build): manifest.json at the root, every file of
// messaging/extension/ and nothing else; the no-experiment variant without the Experiment
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, dirname, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const ext = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "messaging", "extension");
const XPI = process.env.ME_TEST_XPI;
const XPI_NOEXP = process.env.ME_TEST_XPI_NO_EXPERIMENT;
const XPI_TEST = process.env.ME_TEST_XPI_TEST;

// what only the tests' .xpi has (messaging/make-xpi.py): these files, and in every script the
// lines from "// ME_TEST_HOOKS begin" to "// ME_TEST_HOOKS end"
const TEST_ONLY = ["bg/testcontrol.mjs"];

function stripHooks(text) {
  const out = [];
  let inside = false;
  for (const line of text.split(/(?<=\n)/)) {
    const mark = line.trim();
    if (mark === "// ME_TEST_HOOKS begin") inside = true;
    else if (mark === "// ME_TEST_HOOKS end") inside = false;
    else if (!inside) out.push(line);
  }
  return out.join("");
}

// a source file as the release .xpi holds it
function releaseContent(name) {
  const data = readFileSync(join(ext, name));
  return /\.m?js$/.test(name) ? Buffer.from(stripHooks(data.toString("utf8")), "utf8") : data;
}

// a small zip reader: the central directory, then each entry's data
function readZip(path) {
  const buf = readFileSync(path);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, "no end of central directory");
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, "central directory entry");
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, "local header");
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    entries.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function sourceFiles(dir = ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else out.push(relative(ext, p).split(sep).join("/"));
  }
  return out.sort();
}

// the background's modules: background.js and everything it imports, directly or not
const BACKGROUND = [
  "background.js",
  "bg/app.mjs",
  "bg/binding.mjs",
  "bg/helper.mjs",
  "bg/identities.mjs",
  "bg/jobs.mjs",
  "bg/log.mjs",
  "bg/mailwatch.mjs",
  "bg/messages.mjs",
  "bg/notify.mjs",
  "bg/pages.mjs",
  "bg/prompts.mjs",
  "bg/renewal.mjs",
  "bg/reply.mjs",
  "bg/seen.mjs",
  "bg/status.mjs",
  "bg/store.mjs",
  "bg/testcontrol.mjs",
  "bg/text.mjs",
  "bg/warnings.mjs",
  "lib/backoff.mjs",
  "lib/challenge.mjs",
  "lib/dedup.mjs",
  "lib/enrollment.mjs",
  "lib/jsonrpc.mjs",
  "lib/setup.mjs",
  "lib/subject.mjs",
];

// the files `start` imports (static import ... from "./x"), and theirs, as read from `files`
function importClosure(start, read) {
  const out = new Set();
  const todo = [start];
  while (todo.length > 0) {
    const f = todo.pop();
    if (out.has(f)) continue;
    out.add(f);
    for (const m of read(f).matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gms)) {
      todo.push(posix.normalize(posix.join(posix.dirname(f), m[1])));
    }
  }
  return [...out].sort();
}

test("background.js imports exactly the background's modules", () => {
  assert.deepEqual(importClosure("background.js", f => readFileSync(join(ext, f), "utf8")), [...BACKGROUND].sort());
});

test("every xpi holds every module of its background", { skip: [XPI, XPI_NOEXP, XPI_TEST].some(p => !p || !existsSync(p)) }, () => {
  for (const [path, modules] of [
    [XPI, BACKGROUND.filter(f => !TEST_ONLY.includes(f))],
    [XPI_NOEXP, BACKGROUND.filter(f => !TEST_ONLY.includes(f))],
    [XPI_TEST, BACKGROUND],
  ]) {
    const zip = readZip(path);
    for (const f of modules) {
      assert.ok(zip.has(f), `${f} in ${path}`);
    }
    // and what the archive's own background.js imports is in the archive
    assert.deepEqual(importClosure("background.js", f => zip.get(f).toString("utf8")), [...modules].sort());
  }
});

test("the xpi holds the extension's files with manifest.json at its root, the test control left out", { skip: !XPI || !existsSync(XPI || "") }, () => {
  const zip = readZip(XPI);
  assert.deepEqual([...zip.keys()].sort(), sourceFiles().filter(f => !TEST_ONLY.includes(f)));
  for (const [name, data] of zip) {
    assert.deepEqual(data, releaseContent(name), name);
    assert.ok(!data.toString("utf8").includes("ME_TEST_HOOKS"), name);
  }
  const manifest = JSON.parse(zip.get("manifest.json"));
  assert.equal(manifest.browser_specific_settings.gecko.id, "mailenroll@mailenroll.org");
  assert.ok(manifest.experiment_apis.mailenrollSmime);
});

test("the tests' xpi holds every file of messaging/extension as it is", { skip: !XPI_TEST || !existsSync(XPI_TEST || "") }, () => {
  const zip = readZip(XPI_TEST);
  assert.deepEqual([...zip.keys()].sort(), sourceFiles());
  for (const [name, data] of zip) {
    assert.deepEqual(data, readFileSync(join(ext, name)), name);
  }
});

test("the no-experiment xpi leaves the Experiment out and nothing else", { skip: !XPI_NOEXP || !existsSync(XPI_NOEXP || "") }, () => {
  const zip = readZip(XPI_NOEXP);
  assert.deepEqual([...zip.keys()].sort(), sourceFiles().filter(f => !f.startsWith("experiment/") && !TEST_ONLY.includes(f)));
  const manifest = JSON.parse(zip.get("manifest.json"));
  const original = JSON.parse(readFileSync(join(ext, "manifest.json"), "utf8"));
  delete original.experiment_apis;
  assert.deepEqual(manifest, original);
});
