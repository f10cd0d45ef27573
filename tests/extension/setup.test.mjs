// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/setup.mjs: what the options page's set-up part shows from the
// helper's `config.get` (cfg-contract: setting objects, CAs with meta), which controls are
// locked, when "Request certificate" is allowed, and the params of the writes
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SETUP_METHODS,
  caAddParams,
  canConfigure,
  choiceLabel,
  chosenCa,
  configSetParams,
  eabParams,
  eabState,
  requestBlocker,
  safeUrl,
  selectValue,
  setting,
  setupView,
  termsState,
  withCa,
  withoutMetaRefresh,
} from "../../messaging/extension/lib/setup.mjs";

const S = (value, origin = "default", locked = false) => ({ value, locked, origin });
const TERMS = "https://127.0.0.1:8443/terms";

function caEntry(name, extra = {}) {
  return Object.assign(
    {
      name,
      origin: "user",
      directory: S(`https://127.0.0.1:8443/${name}/directory`, "user"),
      meta: { termsOfService: TERMS, website: "https://ca.example/", externalAccountRequired: false, caaIdentities: [] },
      terms_agreed: S(null),
      terms_current: false,
      eab_kid: S(null),
      eab_stored: false,
      key_type: S("rsa-3072"),
      key_usage: S("dual"),
      auto_approve: S("never"),
      mail_timing: S("detect"),
      mail_wait: S(300),
    },
    extra
  );
}

function config(cas, extra = {}) {
  return Object.assign(
    {
      files: { system: "/etc/mailenroll/mailenroll.conf", user: "/home/a/.config/mailenroll/mailenroll.conf" },
      can_add_ca: true,
      default_ca: S(cas.length ? cas[0].name : null, cas.length ? "user" : "default"),
      key_type: S("rsa-3072"),
      key_usage: S("dual"),
      auto_approve: S("never"),
      key_types: ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"],
      key_usages: ["signing", "encryption", "dual"],
      cas,
    },
    extra
  );
}

test("the set-up needs every configuration method in hello's list; an older helper has none", () => {
  assert.equal(canConfigure(["hello", "status", "enroll", ...SETUP_METHODS]), true);
  assert.equal(canConfigure(["hello", "status", "enroll", "renew", "challenge.inspect"]), false);
  assert.equal(canConfigure(["config.get"]), false);
  assert.equal(canConfigure(undefined), false);
});

test("setting objects: anything malformed is an unset, unlocked default", () => {
  assert.deepEqual(setting(S("ec-p256", "user", true)), { value: "ec-p256", locked: true, origin: "user" });
  assert.deepEqual(setting(null), { value: null, locked: false, origin: "default" });
  assert.deepEqual(setting({ value: { x: 1 }, locked: "yes", origin: "elsewhere" }), { value: null, locked: false, origin: "default" });
});

test("links from a CA's meta are http(s) only", () => {
  assert.equal(safeUrl("https://ca.example/terms"), "https://ca.example/terms");
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("data:text/html,x"), null);
  assert.equal(safeUrl("not a url"), null);
  assert.equal(safeUrl(42), null);
  assert.equal(setupView(config([caEntry("a", { meta: { website: "javascript:x", termsOfService: "file:///etc/passwd" } })])).website, null);
});

test("the picker shows the picked CA, else the default, else the first", () => {
  const cfg = config([caEntry("one"), caEntry("two")], { default_ca: S("two", "user") });
  assert.equal(chosenCa(cfg, "one").name, "one");
  assert.equal(chosenCa(cfg, "gone").name, "two");
  assert.equal(chosenCa(cfg, null).name, "two");
  assert.equal(chosenCa(config([caEntry("one")], { default_ca: S(null) }), null).name, "one");
  assert.equal(chosenCa(config([]), null), null);
  // a name the helper would never send is not shown
  assert.deepEqual(setupView(config([caEntry("bad name")])).cas, []);
});

test("request is disabled until the terms are agreed where the CA has terms", () => {
  const fresh = caEntry("test");
  assert.equal(termsState(fresh).needed, true);
  assert.equal(requestBlocker(fresh), "terms");
  const agreed = caEntry("test", { terms_agreed: S(TERMS, "user"), terms_current: true });
  assert.equal(termsState(agreed).needed, false);
  assert.equal(requestBlocker(agreed), null);
  // no terms at all: nothing to agree to
  const none = caEntry("test", { meta: { externalAccountRequired: false } });
  assert.deepEqual(termsState(none), { url: null, current: false, changed: false, needed: false, locked: false });
  assert.equal(requestBlocker(none), null);
  // agreed to an older version: asked again, and the page says why
  const older = caEntry("test", { terms_agreed: S("https://127.0.0.1:8443/terms-2025", "user"), terms_current: false });
  assert.equal(termsState(older).changed, true);
  assert.equal(requestBlocker(older), "terms");
  // no CA: nothing to request from
  assert.equal(requestBlocker(null), "no-ca");
  assert.equal(setupView(config([])).request, "no-ca");
});

test("a CA whose directory could not be read does not block the request; its sentence is shown", () => {
  const down = caEntry("down", { meta: undefined, meta_error: "The CA's directory did not answer; try again later." });
  delete down.meta;
  const view = setupView(config([down]));
  assert.equal(view.metaError, "The CA's directory did not answer; try again later.");
  assert.equal(view.request, null);
  assert.equal(view.terms.url, null);
});

test("the page first shows the configuration without the CAs' meta: no request until it is known", () => {
  // config.get {meta: false}: no meta and no meta_error yet
  const pending = caEntry("test");
  delete pending.meta;
  assert.equal(requestBlocker(pending), "loading");
  assert.equal(setupView(config([pending])).request, "loading");
  // the second answer, with meta, is merged into the first (or into a newer write's answer)
  const merged = withoutMetaRefresh(config([caEntry("test", { terms_agreed: S(TERMS, "user"), terms_current: true })]), config([pending]));
  assert.equal(requestBlocker(merged.cas[0]), null);
  assert.equal(merged.cas[0].meta.termsOfService, TERMS);
});

test("EAB fields only when the CA requires EAB; stored is shown, never a key", () => {
  assert.equal(eabState(caEntry("x")).required, false);
  const needs = caEntry("x", { meta: { termsOfService: TERMS, externalAccountRequired: true }, terms_current: true, terms_agreed: S(TERMS, "user") });
  assert.deepEqual(eabState(needs), { required: true, stored: false, kid: null, locked: false });
  assert.equal(requestBlocker(needs), "eab");
  const stored = Object.assign({}, needs, { eab_kid: S("kid-1", "user"), eab_stored: true });
  assert.deepEqual(eabState(stored), { required: true, stored: true, kid: "kid-1", locked: false });
  assert.equal(requestBlocker(stored), null);
  assert.doesNotMatch(JSON.stringify(setupView(config([stored]))), /mac/i);
});

test("locked settings are read-only, the CA of the system file is locked, and no CA can be added when forbidden", () => {
  const sys = caEntry("corp", {
    origin: "system",
    directory: S("https://acme.corp.example/directory", "system", true),
    auto_approve: S("verified", "system", true),
  });
  const view = setupView(config([sys], { can_add_ca: false, default_ca: S("corp", "system", true) }));
  assert.equal(view.caLocked, true);
  assert.equal(view.canAddCa, false);
  assert.equal(view.defaultCaLocked, true);
  assert.deepEqual(
    Object.fromEntries(Object.entries(view.settings).map(([k, s]) => [k, s.locked])),
    { "key-type": false, "key-usage": false, "auto-approve": true }
  );
  assert.equal(view.settings["auto-approve"].value, "verified");
  // the person's own CA with nothing locked
  const own = setupView(config([caEntry("mine")]));
  assert.equal(own.caLocked, false);
  assert.equal(own.canAddCa, true);
  assert.deepEqual(own.settings["key-type"].choices, ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"]);
  assert.deepEqual(own.settings["auto-approve"].choices, ["never", "verified"]);
  assert.deepEqual(own.files, { system: "/etc/mailenroll/mailenroll.conf", user: "/home/a/.config/mailenroll/mailenroll.conf" });
});

test("a select shows the person's own value, else the default entry", () => {
  assert.equal(selectValue(S("ec-p256", "user")), "ec-p256");
  assert.equal(selectValue(S("rsa-3072", "default")), "");
  assert.equal(selectValue(S(null, "user")), "");
});

test("config.set params: a CA's key, the default entry removes the value, nothing else goes", () => {
  const choices = ["ec-p256", "rsa-3072"];
  assert.deepEqual(configSetParams("test", "key-type", "ec-p256", choices), { ca: "test", key: "key-type", value: "ec-p256" });
  assert.deepEqual(configSetParams("test", "key-type", "", choices), { ca: "test", key: "key-type", value: null });
  assert.deepEqual(configSetParams("test", "default-ca", "", []), { key: "default-ca", value: null });
  assert.equal(configSetParams("test", "key-type", "dsa-1024", choices), null);
  assert.equal(configSetParams("test", "directory", "https://evil.example/", choices), null);
});

test("ca.add and ca.eab params are checked before they go", () => {
  assert.deepEqual(caAddParams(" https://127.0.0.1:8443/directory "), { params: { directory: "https://127.0.0.1:8443/directory" }, problem: null });
  assert.equal(caAddParams("ftp://x/").problem, "url");
  assert.equal(caAddParams("").problem, "url");
  assert.deepEqual(eabParams("test", " kid-1 ", "c2VjcmV0LWtleQ"), { params: { ca: "test", kid: "kid-1", mac_key: "c2VjcmV0LWtleQ" }, problem: null });
  assert.equal(eabParams("test", "", "c2VjcmV0").problem, "kid");
  assert.equal(eabParams("test", "kid", "not base64url!").problem, "mac");
  assert.equal(eabParams("test", "kid", "c2VjcmV0==").problem, "mac");
});

test("answers of the writes are merged: a CA replaced or added, meta kept across config.set", () => {
  const before = config([caEntry("a", { terms_current: true, terms_agreed: S(TERMS, "user") }), caEntry("b")]);
  const added = withCa(before, caEntry("c"));
  assert.deepEqual(added.cas.map(c => c.name), ["a", "b", "c"]);
  const replaced = withCa(before, caEntry("b", { eab_stored: true }));
  assert.equal(replaced.cas[1].eab_stored, true);
  assert.equal(replaced.cas.length, 2);
  // config.set answers without meta (and cannot tell whether the terms are current)
  const bare = config([caEntry("a", { key_type: S("ec-p256", "user"), terms_current: false, terms_agreed: S(TERMS, "user") }), caEntry("b")]);
  for (const c of bare.cas) delete c.meta;
  const merged = withoutMetaRefresh(before, bare);
  assert.equal(merged.cas[0].key_type.value, "ec-p256");
  assert.equal(merged.cas[0].meta.termsOfService, TERMS);
  assert.equal(merged.cas[0].terms_current, true);
  assert.equal(setupView(merged, "a").request, null);
});

test("choices in words", () => {
  const _ = name => `<${name}>`;
  assert.equal(choiceLabel("key-type", "ec-p256", _), "ECDSA P-256");
  assert.equal(choiceLabel("key-type", "rsa-3072", _), "RSA 3072");
  assert.equal(choiceLabel("key-usage", "dual", _), "<usageDual>");
  assert.equal(choiceLabel("auto-approve", "verified", _), "<approveVerified>");
});
