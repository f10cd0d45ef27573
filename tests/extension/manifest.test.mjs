// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/manifest.json and the Experiment API: id, versions, permissions,
// files, and an Experiment that can do nothing but the identity's S/MIME binding
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ext = join(root, "messaging", "extension");
const manifest = JSON.parse(readFileSync(join(ext, "manifest.json"), "utf8"));

test("id, Thunderbird 128 and later, Manifest V3", () => {
  assert.equal(manifest.manifest_version, 3);
  assert.equal(manifest.browser_specific_settings.gecko.id, "mailenroll@mailenroll.org");
  assert.equal(manifest.browser_specific_settings.gecko.strict_min_version, "128.0");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  assert.equal(manifest.default_locale, "en");
  assert.equal(manifest.name, "__MSG_extensionName__");
});

test("the version matches the project's", () => {
  const meson = readFileSync(join(root, "meson.build"), "utf8");
  const m = meson.match(/version:\s*'([^']+)'/);
  assert.ok(m);
  assert.equal(manifest.version, m[1]);
});

test("the host manifest allows this extension and names the host the extension connects to", () => {
  const tmpl = readFileSync(join(root, "data", "org.mailenroll.helper.json.in"), "utf8");
  assert.match(tmpl, /"allowed_extensions": \["@EXTENSION_ID@"\]/);
  const meson = readFileSync(join(root, "meson.build"), "utf8");
  assert.match(meson, /host_name = 'org\.mailenroll\.helper'/);
  assert.match(meson, /extension_id = 'mailenroll@mailenroll\.org'/);
  const helperJs = readFileSync(join(ext, "bg", "helper.mjs"), "utf8");
  assert.match(helperJs, /HOST_NAME = "org\.mailenroll\.helper"/);
});

test("only the permissions the extension uses", () => {
  assert.deepEqual([...manifest.permissions].sort(), [
    "accountsRead",
    "alarms",
    "compose",
    "compose.send",
    "messagesRead",
    "nativeMessaging",
    "notifications",
    "storage",
  ]);
  assert.equal(manifest.host_permissions, undefined);
  assert.equal(manifest.content_security_policy, undefined, "the default CSP: no eval");
});

test("every file the manifest names exists; the background is a module", () => {
  assert.equal(manifest.background.type, "module");
  const files = [
    ...manifest.background.scripts,
    manifest.options_ui.page,
    manifest.action.default_icon,
    manifest.message_display_action.default_icon,
    manifest.message_display_action.default_popup,
    ...Object.values(manifest.icons),
    manifest.experiment_apis.mailenrollSmime.schema,
    manifest.experiment_apis.mailenrollSmime.parent.script,
  ];
  for (const f of files) {
    assert.ok(existsSync(join(ext, f)), f);
  }
});

test("the Experiment is minimal: bind, unbind, getBinding, getProfileDir, in the parent only", () => {
  const api = manifest.experiment_apis.mailenrollSmime;
  assert.deepEqual(api.parent.scopes, ["addon_parent"]);
  assert.deepEqual(api.parent.paths, [["mailenrollSmime"]]);
  assert.equal(api.child, undefined);
  const schema = JSON.parse(readFileSync(join(ext, api.schema), "utf8"));
  assert.equal(schema.length, 1);
  assert.equal(schema[0].namespace, "mailenrollSmime");
  assert.deepEqual(schema[0].functions.map(f => f.name).sort(), ["bind", "getBinding", "getProfileDir", "unbind"]);
  // getProfileDir takes nothing and only reads the profile folder's path
  assert.deepEqual(schema[0].functions.find(f => f.name === "getProfileDir").parameters, []);
  assert.equal(schema[0].events, undefined);
  const impl = readFileSync(join(ext, api.parent.script), "utf8");
  for (const bad of [/\beval\s*\(/, /evalInSandbox/, /\bFunction\s*\(/, /importPKCS12/, /setStringPref|setCharPref|setIntPref|setBoolPref/, /\.getIdentity\s*\(/]) {
    assert.doesNotMatch(impl, bad, String(bad));
  }
  assert.match(impl, /async getProfileDir\(\) \{\n\s*return Services\.dirsvc\.get\("ProfD", Ci\.nsIFile\)\.path;\n\s*\}/);
  const attrs = [...impl.matchAll(/set(?:Unichar|Char)Attribute\("([a-z_]+)"/g)].map(m => m[1]);
  assert.deepEqual([...new Set(attrs)].sort(), ["encryption_cert_dbkey", "encryption_cert_name", "signing_cert_dbkey", "signing_cert_name"]);
});

// every script of the background and the pages; a new one is added here (the test below
// fails until it is)
const SCRIPTS = [
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
  "pages/i18n.js",
  "pages/options.js",
  "pages/prompt.js",
  "pages/warning.js",
];

test("the list of scripts is complete", () => {
  const found = ["background.js"];
  for (const dir of ["bg", "pages"]) {
    for (const name of readdirSync(join(ext, dir))) {
      if (/\.m?js$/.test(name)) found.push(`${dir}/${name}`);
    }
  }
  assert.deepEqual(found.sort(), [...SCRIPTS].sort());
});

test("no page or script uses innerHTML, eval or remote code", () => {
  for (const f of SCRIPTS) {
    const text = readFileSync(join(ext, f), "utf8");
    assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|\beval\s*\(|new Function|https?:\/\/(?!mailenroll\.org)/, f);
  }
});
