/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// storage.local, key by key. Everything the extension keeps is small public state: which
// mails were inspected, warnings to show on messages, which certificates mailenroll put
// into the store for which mailbox, what the last `status` looked like. Secrets never
// come here; they stay in the helper's keyring.

export const KEYS = Object.freeze({
  seen: "seenMessages",
  warnings: "messageWarnings",
  known: "knownCertificates",
  bound: "boundCertificates",
  explicit: "explicitBindings",
  snapshot: "statusSnapshot",
  failures: "sendFailures",
  manual: "manualBindings",
  lastScan: "lastScan",
  waitNotices: "waitNotices",
});

export async function load(key, fallback) {
  try {
    const r = await browser.storage.local.get(key);
    return r[key] === undefined ? fallback : r[key];
  } catch (e) {
    console.warn("[mailenroll] storage.local.get failed:", e.message);
    return fallback;
  }
}

export async function save(key, value) {
  try {
    await browser.storage.local.set({ [key]: value });
  } catch (e) {
    console.warn("[mailenroll] storage.local.set failed:", e.message);
  }
}

/** Keeps at most `limit` entries of an object map, dropping those with the oldest `at`. */
export function boundMap(map, limit) {
  const entries = Object.entries(map || {});
  if (entries.length <= limit) {
    return map || {};
  }
  entries.sort((a, b) => (b[1] && b[1].at ? b[1].at : 0) - (a[1] && a[1].at ? a[1].at : 0));
  return Object.fromEntries(entries.slice(0, limit));
}
