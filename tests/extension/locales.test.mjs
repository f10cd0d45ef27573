// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/_locales: en, de and fr complete, every message described, every
// placeholder used, every message the code and pages name present, nothing unused
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { STEPS, REVOCATION_REASONS } from "../../messaging/extension/lib/enrollment.mjs";

const ext = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "messaging", "extension");
const LANGS = ["en", "de", "fr"];
const load = lang => JSON.parse(readFileSync(join(ext, "_locales", lang, "messages.json"), "utf8"));
const catalogs = Object.fromEntries(LANGS.map(l => [l, load(l)]));

function sources(dir = ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "_locales") out.push(...sources(p));
    } else if (/\.(m?js|html|json)$/.test(name)) {
      out.push([p, readFileSync(p, "utf8")]);
    }
  }
  return out;
}

// the message names the code and pages use; `lenient` also counts string literals that
// name a message (chosen by a condition, as in _(ok ? "a" : "b"))
function usedNames(lenient = false) {
  const used = new Set();
  for (const [path, text] of sources()) {
    for (const m of text.matchAll(/__MSG_([A-Za-z0-9_@]+)__/g)) used.add(m[1]);
    for (const m of text.matchAll(/data-i18n(?:-[a-z-]+)?="([A-Za-z0-9_@]+)"/g)) used.add(m[1]);
    if (/\.m?js$/.test(path)) {
      // a whole name as the argument ("state_" + x is built from data, below)
      for (const m of text.matchAll(/(?:\b_|getMessage)\(\s*"([A-Za-z0-9_@]+)"\s*[,)]/g)) used.add(m[1]);
      if (lenient) {
        for (const m of text.matchAll(/"([A-Za-z0-9_]+)"/g)) {
          if (m[1] in catalogs.en) used.add(m[1]);
        }
      }
    }
  }
  // built from data: enrollment states and revocation reasons
  for (const s of [...STEPS, "failed", "unknown"]) used.add("state_" + s.replace(/-/g, "_"));
  for (const r of REVOCATION_REASONS) used.add("revokeReason" + r);
  used.delete("@@bidi_dir");
  return used;
}

test("every language has exactly the English messages", () => {
  const en = Object.keys(catalogs.en).sort();
  for (const lang of LANGS) {
    assert.deepEqual(Object.keys(catalogs[lang]).sort(), en, lang);
  }
});

test("every message has text, a description, and uses exactly its placeholders", () => {
  for (const lang of LANGS) {
    for (const [name, entry] of Object.entries(catalogs[lang])) {
      assert.match(name, /^[A-Za-z0-9_]+$/, `${lang} ${name}`);
      assert.equal(typeof entry.message, "string");
      assert.ok(entry.message.trim().length > 0, `${lang} ${name} is empty`);
      assert.ok(typeof entry.description === "string" && entry.description.length > 5, `${lang} ${name} lacks a description`);
      const used = new Set([...entry.message.matchAll(/\$([A-Za-z_]+)\$/g)].map(m => m[1].toLowerCase()));
      const declared = new Set(Object.keys(entry.placeholders || {}).map(k => k.toLowerCase()));
      assert.deepEqual([...used].sort(), [...declared].sort(), `${lang} ${name} placeholders`);
      assert.deepEqual(entry.placeholders || {}, catalogs.en[name].placeholders || {}, `${lang} ${name}: same placeholders as en`);
      assert.doesNotMatch(entry.message, /\$\d/, `${lang} ${name}: use named placeholders`);
    }
  }
});

test("translations are translated (not English copies) for the long texts", () => {
  let same = 0;
  for (const [name, entry] of Object.entries(catalogs.en)) {
    for (const lang of ["de", "fr"]) {
      if (entry.message.length > 40 && catalogs[lang][name].message === entry.message) {
        same++;
        assert.fail(`${lang} ${name} is the English text`);
      }
    }
  }
  assert.equal(same, 0);
});

test("every message the extension names exists, and every message is used", () => {
  const used = usedNames();
  const have = new Set(Object.keys(catalogs.en));
  const missing = [...used].filter(n => !have.has(n));
  const lenient = usedNames(true);
  const unused = [...have].filter(n => !lenient.has(n));
  assert.deepEqual(missing, [], "named but missing");
  assert.deepEqual(unused, [], "present but unused");
});

test("pages have no hard-coded visible text", () => {
  for (const [path, text] of sources()) {
    if (!path.endsWith(".html")) continue;
    const body = text.replace(/<head>[\s\S]*<\/head>/, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
    assert.equal(body, "", `${path} has text outside data-i18n: ${body.slice(0, 80)}`);
  }
});
