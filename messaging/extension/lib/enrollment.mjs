/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// Enrollment summaries as the helper reports them (`status`, `enroll`, `renew`,
// `reply.sent`, `install`; messaging/PROTOCOL.md §9) turned into what the pages show
// and what the background does next: progress, expiry, where a certificate went, when
// to bind it to an identity, what changed since the last look. Pure logic;
// tests/extension/enrollment.test.mjs.

import { parseAddress } from "./subject.mjs";

/** The steps of an enrollment in order (PROTOCOL.md §9); `failed` is outside the order. */
export const STEPS = Object.freeze([
  "new",
  "account",
  "order",
  "waiting-challenge",
  "waiting-approval",
  "answered",
  "reply-sent",
  "challenge-posted",
  "validated",
  "key-stored",
  "finalized",
  "issued",
  "installed",
]);

const DAY = 24 * 3600;

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Progress of a state: {index, total, fraction}, or null for `failed` and unknown states. */
export function stepProgress(state) {
  const index = STEPS.indexOf(state);
  if (index === -1) {
    return null;
  }
  return { index, total: STEPS.length - 1, fraction: index / (STEPS.length - 1) };
}

/** Whether the helper still works on it (or waits for mail) rather than being done or failed. */
export function isPending(state) {
  const i = STEPS.indexOf(state);
  return i !== -1 && i < STEPS.indexOf("installed") && state !== "issued";
}

/** `not_after` (seconds since the epoch) against `nowSec`: {expired, daysLeft}, or null. */
export function expiryInfo(notAfter, nowSec) {
  if (!Number.isFinite(notAfter) || notAfter <= 0) {
    return null;
  }
  const left = notAfter - nowSec;
  return { expired: left <= 0, daysLeft: Math.floor(left / DAY) };
}

/**
 * Where a certificate was put in Thunderbird: from the result of reply.sent or
 * install (`nickname`, `db_key`, `signing`, `encryption`, `profile`), or from the last
 * Thunderbird entry of a summary's `installed` list. null when there is none.
 */
export function installInfo(result) {
  if (!isObject(result)) {
    return null;
  }
  if (typeof result.db_key === "string" && result.db_key && typeof result.nickname === "string") {
    return {
      nickname: result.nickname,
      dbKey: result.db_key,
      signing: result.signing !== false,
      encryption: result.encryption !== false,
      profile: typeof result.profile === "string" ? result.profile : null,
      bound: null,
    };
  }
  if (Array.isArray(result.installed)) {
    for (let i = result.installed.length - 1; i >= 0; i--) {
      const e = result.installed[i];
      if (isObject(e) && e.store === "thunderbird" && typeof e.db_key === "string" && e.db_key) {
        return {
          nickname: typeof e.nickname === "string" ? e.nickname : "",
          dbKey: e.db_key,
          // the summary does not say what the certificate is for (see the report's protocol gaps)
          signing: e.signing !== false,
          encryption: e.encryption !== false,
          profile: typeof e.location === "string" ? e.location : null,
          bound: typeof e.bound === "boolean" ? e.bound : null,
        };
      }
    }
  }
  return null;
}

/**
 * Which S/MIME slots of an identity get the new certificate.
 *
 * A slot is set when the certificate serves it and the slot is empty, points at a
 * certificate that is gone, or at one of ours that this one replaces (a renewal); a
 * certificate the person picked themselves is replaced only when they asked for this
 * enrollment for the identity just now (`explicit`).
 *
 * @param {object} current getBinding(): signingDbKey, signingFound, encryptionDbKey, encryptionFound
 * @param {{dbKey: string, signing: boolean, encryption: boolean}} cert
 * @param {{known?: string[], explicit?: boolean}} [options] known: dbKeys mailenroll installed before
 * @returns {{signing: boolean, encryption: boolean}}
 */
export function bindingPlan(current, cert, { known = [], explicit = false } = {}) {
  const cur = isObject(current) ? current : {};
  const slot = (usage, key, found) => {
    if (!usage || !cert || !cert.dbKey) return false;
    if (key === cert.dbKey && found !== false) return false;
    if (!key || found === false) return true;
    return explicit || known.includes(key);
  };
  return {
    signing: slot(cert && cert.signing, cur.signingDbKey, cur.signingFound),
    encryption: slot(cert && cert.encryption, cur.encryptionDbKey, cur.encryptionFound),
  };
}

/** Whether an identity's binding already names this certificate for every slot it serves. */
export function isBound(current, cert) {
  if (!isObject(current) || !cert) {
    return false;
  }
  return (!cert.signing || current.signingDbKey === cert.dbKey) && (!cert.encryption || current.encryptionDbKey === cert.dbKey);
}

/** The identities (accounts.list()/identities.list() entries) whose address is the mailbox. */
export function identitiesFor(identities, mailbox) {
  const want = parseAddress(mailbox);
  if (!want || !Array.isArray(identities)) {
    return [];
  }
  return identities.filter(i => isObject(i) && parseAddress(i.email) === want);
}

/**
 * What changed between two looks at `status`, for notifications:
 *  - `renewed`: a newer certificate (`not_after` grew) for the mailbox;
 *  - `issued`: a certificate where there was none;
 *  - `failed`: the enrollment went to `failed`;
 *  - `expiring`: fewer than `warnDays` days left and no renewal under way (once per mailbox
 *    and certificate: the snapshot remembers it).
 *
 * @param {object} snapshot from the last call (or {}); mailbox -> {notAfter, state, warned}
 * @param {Array<object>} enrollments the new `status` entries
 * @param {number} nowSec
 * @param {{warnDays?: number}} [options]
 * @returns {{events: Array<{type: string, mailbox: string, ca?: string, notAfter?: number, failure?: string}>, snapshot: object}}
 */
export function statusEvents(snapshot, enrollments, nowSec, { warnDays = 14 } = {}) {
  const prev = isObject(snapshot) ? snapshot : {};
  const next = {};
  const events = [];
  for (const e of Array.isArray(enrollments) ? enrollments : []) {
    if (!isObject(e) || typeof e.mailbox !== "string") {
      continue;
    }
    const key = `${e.mailbox.toLowerCase()}\u0000${e.ca || ""}`;
    const before = isObject(prev[key]) ? prev[key] : null;
    const notAfter = Number.isFinite(e.not_after) ? e.not_after : 0;
    const entry = { notAfter, state: e.state, warned: before && before.notAfter === notAfter ? !!before.warned : false };
    if (before) {
      if (notAfter > 0 && before.notAfter > 0 && notAfter > before.notAfter) {
        events.push({ type: "renewed", mailbox: e.mailbox, ca: e.ca, notAfter });
      } else if (notAfter > 0 && !(before.notAfter > 0)) {
        events.push({ type: "issued", mailbox: e.mailbox, ca: e.ca, notAfter });
      }
      if (e.state === "failed" && before.state !== "failed") {
        events.push({ type: "failed", mailbox: e.mailbox, ca: e.ca, failure: typeof e.failure === "string" ? e.failure : "" });
      }
    }
    const info = expiryInfo(notAfter, nowSec);
    if (info && info.daysLeft < warnDays && !entry.warned && !isPending(e.state)) {
      events.push({ type: "expiring", mailbox: e.mailbox, ca: e.ca, notAfter });
      entry.warned = true;
    }
    next[key] = entry;
  }
  return { events, snapshot: next };
}

/**
 * The parameters of `enroll` from the request form. Protocol 1 takes `mailbox`, `ca`
 * and `restart` only; the CA's directory, terms of service, External Account Binding
 * and key type come from mailenroll.conf. Empty fields are left out, so the helper's
 * configuration decides.
 *
 * @param {{mailbox: string, ca?: string, restart?: boolean}} form
 * @returns {{params: object|null, problem: string|null}}
 */
export function enrollParams(form) {
  if (!isObject(form)) {
    return { params: null, problem: "mailbox" };
  }
  const mailbox = typeof form.mailbox === "string" ? form.mailbox.trim() : "";
  if (parseAddress(mailbox) === "" || parseAddress(mailbox) !== mailbox.toLowerCase()) {
    return { params: null, problem: "mailbox" };
  }
  const params = { mailbox };
  const ca = typeof form.ca === "string" ? form.ca.trim() : "";
  if (ca) {
    // a [ca NAME] group name (data/mailenroll.conf.example)
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(ca)) {
      return { params: null, problem: "ca" };
    }
    params.ca = ca;
  }
  if (form.restart === true) {
    params.restart = true;
  }
  return { params, problem: null };
}

/** RFC 5280 reasons the helper's `revoke` accepts (PROTOCOL.md §9). */
export const REVOCATION_REASONS = Object.freeze([0, 1, 4, 5]);
