/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// The options page's set-up part from the helper's configuration methods (`config.get`,
// `config.set`, `ca.add`, `ca.agree`, `ca.eab`; messaging/PROTOCOL.md): whether the helper
// can be configured here at all, which CA is shown, what each control shows and whether it
// may be changed, and when "Request certificate" is allowed. Pure logic, no browser APIs;
// tests/extension/setup.test.mjs.

/** The helper methods the set-up needs; a helper without all of them is configured by file. */
export const SETUP_METHODS = Object.freeze(["config.get", "config.set", "ca.add", "ca.agree", "ca.eab"]);

/** The settings the page offers for the chosen CA: `config.set` key, the CA's member, its choices' member. */
export const SETTING_KEYS = Object.freeze([
  { key: "key-type", member: "key_type", choices: "key_types" },
  { key: "key-usage", member: "key_usage", choices: "key_usages" },
  { key: "auto-approve", member: "auto_approve", choices: null },
]);

export const AUTO_APPROVE_CHOICES = Object.freeze(["never", "verified"]);

// the helper's defaults (me-config.c config_new), for the one-line explanation
export const DEFAULTS = Object.freeze({ "key-type": "rsa-3072", "key-usage": "dual", "auto-approve": "never" });

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Whether hello's `methods` has everything the set-up needs. */
export function canConfigure(methods) {
  return Array.isArray(methods) && SETUP_METHODS.every(m => methods.includes(m));
}

/** A setting object ({value, locked, origin}) as the page uses it; anything malformed is an unset, unlocked default. */
export function setting(s) {
  if (!isObject(s)) {
    return { value: null, locked: false, origin: "default" };
  }
  const v = s.value;
  const value = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : null;
  const origin = ["default", "system", "user"].includes(s.origin) ? s.origin : "default";
  return { value, locked: s.locked === true, origin };
}

/** An http(s) URL for a link, or null: a CA's meta is untrusted input. */
export function safeUrl(u) {
  if (typeof u !== "string" || u.length > 2048) {
    return null;
  }
  try {
    const url = new URL(u);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

/** The CAs of a `config.get` result with valid names, in the helper's order. */
export function caList(config) {
  if (!isObject(config) || !Array.isArray(config.cas)) {
    return [];
  }
  return config.cas.filter(ca => isObject(ca) && typeof ca.name === "string" && NAME_RE.test(ca.name));
}

/**
 * The CA the page shows: the one the person picked when it is still there, else the
 * configured default, else the first; null when there is none.
 */
export function chosenCa(config, picked) {
  const cas = caList(config);
  const byName = name => cas.find(ca => ca.name === name);
  return byName(picked) || byName(setting(config && config.default_ca).value) || cas[0] || null;
}

/** The CA's terms: {url, agreed, needed}; needed: the CA has terms and they are not agreed in their current version. */
export function termsState(ca) {
  const meta = isObject(ca) && isObject(ca.meta) ? ca.meta : {};
  const url = safeUrl(meta.termsOfService);
  const agreed = setting(ca && ca.terms_agreed);
  const current = !!(url && ca.terms_current === true);
  return {
    url,
    current,
    // agreed to an older version: the checkbox is cleared and the page says the terms changed
    changed: !!(url && agreed.value !== null && !current),
    needed: !!url && !current,
    locked: agreed.locked,
  };
}

/** External Account Binding: {required, stored, kid, locked}; the MAC key is never part of it. */
export function eabState(ca) {
  const meta = isObject(ca) && isObject(ca.meta) ? ca.meta : {};
  const kid = setting(ca && ca.eab_kid);
  return {
    required: meta.externalAccountRequired === true,
    stored: !!(ca && ca.eab_stored === true),
    kid: typeof kid.value === "string" ? kid.value : null,
    locked: kid.locked,
  };
}

/** Why "Request certificate" is not allowed for this CA, or null when it is. */
export function requestBlocker(ca) {
  if (!ca) {
    return "no-ca";
  }
  if (typeof ca.meta_error === "string" && !isObject(ca.meta)) {
    return null; // the helper says why at the request; the page shows the sentence already
  }
  if (!isObject(ca.meta)) {
    // the page shows the configuration first and asks the CA for its terms after:
    // until they are known, nothing says whether they need agreeing to
    return "loading";
  }
  if (termsState(ca).needed) {
    return "terms";
  }
  const eab = eabState(ca);
  if (eab.required && !eab.stored) {
    return "eab";
  }
  return null;
}

/**
 * What the set-up part of the page shows, from a `config.get` result and the CA the
 * person picked:
 *  - cas: [{name, label}] for the picker; ca: the chosen one's name;
 *  - caLocked: the chosen CA's directory is the administrator's;
 *  - canAddCa: "Add a certificate authority" is offered;
 *  - website, terms, eab: the chosen CA's;
 *  - settings: for key-type, key-usage and auto-approve {value, locked, origin, choices};
 *  - defaultCaLocked; request: null when allowed, else why not ("no-ca", "loading", "terms", "eab");
 *  - files: {system, user} for the administrators' note.
 */
export function setupView(config, picked) {
  const ca = chosenCa(config, picked);
  const cfg = isObject(config) ? config : {};
  const meta = ca && isObject(ca.meta) ? ca.meta : null;
  const settings = {};
  for (const { key, member, choices } of SETTING_KEYS) {
    const s = setting(ca ? ca[member] : cfg[member]);
    const list = choices ? cfg[choices] : AUTO_APPROVE_CHOICES;
    settings[key] = Object.assign(s, {
      choices: Array.isArray(list) ? list.filter(c => typeof c === "string" && /^[a-z0-9-]{1,32}$/.test(c)) : [],
    });
  }
  const files = isObject(cfg.files) ? cfg.files : {};
  return {
    cas: caList(config).map(c => ({ name: c.name, origin: c.origin === "system" ? "system" : "user" })),
    ca: ca ? ca.name : null,
    caLocked: !!ca && (ca.origin === "system" || setting(ca.directory).locked),
    directory: ca ? setting(ca.directory).value : null,
    canAddCa: cfg.can_add_ca === true,
    defaultCaLocked: setting(cfg.default_ca).locked,
    website: meta ? safeUrl(meta.website) : null,
    metaError: ca && typeof ca.meta_error === "string" ? ca.meta_error : null,
    terms: ca ? termsState(ca) : null,
    eab: ca ? eabState(ca) : null,
    settings,
    request: requestBlocker(ca),
    files: {
      system: typeof files.system === "string" ? files.system : null,
      user: typeof files.user === "string" ? files.user : null,
    },
  };
}

/** A select's value for a setting: "" (the default) unless the person's own file sets it. */
export function selectValue(s) {
  return s && s.origin !== "default" && typeof s.value === "string" ? s.value : "";
}

/**
 * The params of `config.set` from a select: "" removes the person's value (null).
 *
 * @returns {object|null} null when the key or value is not one the page offers
 */
export function configSetParams(ca, key, value, choices) {
  if (!SETTING_KEYS.some(k => k.key === key) && key !== "default-ca") {
    return null;
  }
  if (value !== "" && !(Array.isArray(choices) && choices.includes(value))) {
    return null;
  }
  const params = { key, value: value === "" ? null : value };
  if (typeof ca === "string" && NAME_RE.test(ca) && key !== "default-ca") {
    params.ca = ca;
  }
  return params;
}

/** The params of `ca.add` from the form, or {problem} ("url") for an obviously wrong URL. */
export function caAddParams(url) {
  const text = typeof url === "string" ? url.trim() : "";
  if (!safeUrl(text)) {
    return { params: null, problem: "url" };
  }
  return { params: { directory: text }, problem: null };
}

// RFC 4648 §5, as the CA hands it out; padding is not part of it
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/** The params of `ca.eab`, or {problem} ("kid" or "mac"). The helper checks both again. */
export function eabParams(ca, kid, macKey) {
  const k = typeof kid === "string" ? kid.trim() : "";
  const m = typeof macKey === "string" ? macKey.trim() : "";
  if (!k || k.length > 256) {
    return { params: null, problem: "kid" };
  }
  if (!B64URL_RE.test(m) || m.length > 1024) {
    return { params: null, problem: "mac" };
  }
  return { params: { ca, kid: k, mac_key: m }, problem: null };
}

/** `config` with one CA replaced by (or added as) `ca`, as `ca.add`, `ca.agree` and `ca.eab` return it. */
export function withCa(config, ca) {
  if (!isObject(config) || !isObject(ca) || typeof ca.name !== "string") {
    return config;
  }
  const cas = Array.isArray(config.cas) ? config.cas.slice() : [];
  const i = cas.findIndex(c => isObject(c) && c.name === ca.name);
  if (i === -1) {
    cas.push(ca);
  } else {
    cas[i] = ca;
  }
  return Object.assign({}, config, { cas });
}

/**
 * The `config.get` result without meta that `config.set` returns, with each CA's meta
 * (and meta_error) kept from the last result that had them: a setting does not change a
 * CA's directory.
 */
export function withoutMetaRefresh(before, after) {
  if (!isObject(after)) {
    return before;
  }
  const old = new Map(caList(before).map(c => [c.name, c]));
  const cas = caList(after).map(c => {
    const prev = old.get(c.name);
    if (isObject(c.meta) || !prev || setting(prev.directory).value !== setting(c.directory).value) {
      return c;
    }
    const kept = Object.assign({}, c);
    if (isObject(prev.meta)) kept.meta = prev.meta;
    if (typeof prev.meta_error === "string") kept.meta_error = prev.meta_error;
    // without the directory the helper cannot know whether the terms are current
    kept.terms_current = prev.terms_current === true;
    return kept;
  });
  return Object.assign({}, after, { cas });
}

/** A key type, usage or approval choice in words; key types are names, the others translated messages. */
export function choiceLabel(key, value, _) {
  if (key === "key-type") {
    const m = /^(ec|rsa)-(p?)(\d+)$/.exec(value || "");
    if (!m) return String(value);
    return m[1] === "ec" ? `ECDSA P-${m[3]}` : `RSA ${m[3]}`;
  }
  if (key === "key-usage") {
    return { signing: _("usageSigning"), encryption: _("usageEncryption"), dual: _("usageDual") }[value] || String(value);
  }
  if (key === "auto-approve") {
    return { never: _("approveNever"), verified: _("approveVerified") }[value] || String(value);
  }
  return String(value);
}
