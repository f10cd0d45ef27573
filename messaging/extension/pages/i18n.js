/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Translations for the extension's pages: every visible string comes from
// _locales/*/messages.json through i18n.getMessage. Elements name their message with
// data-i18n (text), data-i18n-title, data-i18n-placeholder and data-i18n-aria-label.

export function _(name, substitutions) {
  const text = browser.i18n.getMessage(name, substitutions);
  return text || name;
}

export function localize(root = document) {
  document.documentElement.lang = browser.i18n.getUILanguage();
  document.documentElement.dir = _("@@bidi_dir") === "rtl" ? "rtl" : "ltr";
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = _(el.dataset.i18n);
  }
  for (const [attr, data] of [
    ["title", "i18nTitle"],
    ["placeholder", "i18nPlaceholder"],
    ["aria-label", "i18nAriaLabel"],
  ]) {
    for (const el of root.querySelectorAll(`[data-${data.replace(/[A-Z]/g, c => "-" + c.toLowerCase())}]`)) {
      el.setAttribute(attr, _(el.dataset[data]));
    }
  }
}

/** Creates an element with text and attributes, never HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k === "text") {
      node.textContent = v;
    } else if (k === "className") {
      node.className = v;
    } else if (k.startsWith("on") && typeof v === "function") {
      node.addEventListener(k.slice(2), v);
    } else {
      node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) {
      node.append(c instanceof Node ? c : String(c));
    }
  }
  return node;
}

/** Asks the background; throws with its error text. */
export async function ask(type, extra = {}) {
  const reply = await browser.runtime.sendMessage(Object.assign({ type }, extra));
  if (!reply) {
    throw new Error(_("errorNoBackground"));
  }
  if (!reply.ok) {
    const error = new Error(reply.error || _("errorUnknown"));
    // the helper's stable error name (PROTOCOL.md §7), e.g. "policy-locked"
    error.code = reply.name || null;
    throw error;
  }
  return reply.result;
}

/** A translated name for an enrollment state (PROTOCOL.md §9). */
export function stateName(state) {
  if (typeof state !== "string" || !/^[a-z-]{1,40}$/.test(state)) {
    return _("state_unknown");
  }
  const text = browser.i18n.getMessage("state_" + state.replace(/-/g, "_"));
  return text || state;
}

/** How the challenge mail was authenticated, in words. */
export function authName(auth) {
  switch (auth) {
    case "DKIM":
      return _("authDkim");
    case "S/MIME":
      return _("authSmime");
    case "Authentication-Results":
      return _("authResults");
    default:
      return auth ? auth : _("authUnknown");
  }
}
