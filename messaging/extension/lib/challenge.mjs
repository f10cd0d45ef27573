/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// What to do with a candidate challenge mail and with the helper's verdict on it
// (messaging/PROTOCOL.md §9 challenge.inspect), and checks on the reply before it is
// sent through Thunderbird. Pure logic; tests/extension/challenge.test.mjs.

import { addressesOf, parseAddress } from "./subject.mjs";

/** Enrollment states in which a challenge mail is expected (PROTOCOL.md §9). */
export const WAITING_STATES = Object.freeze(["waiting-challenge", "waiting-approval"]);

// verdict reasons (helper/lib/challenge.c) that are not worth a warning: ordinary mail, a
// reply, something already dealt with, or mail for another request
const QUIET_REASONS = new Set(["not-challenge", "reply", "no-pending", "already-answered", "to-mismatch"]);

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The enrollments a candidate mail may answer, best first: those waiting for a
 * challenge whose mailbox is among the mail's recipients, then those whose mailbox is an
 * identity of the account the mail arrived in (a Bcc or an alias). Within each group an
 * enrollment whose announced challenge sender is the mail's author comes first. Mail
 * that fits no waiting enrollment is not sent to the helper at all.
 *
 * @param {Array<object>} enrollments `status` result entries
 * @param {object} mail
 * @param {string[]|string} [mail.recipients] Thunderbird's MessageHeader.recipients
 * @param {string[]|string} [mail.ccList]
 * @param {string} [mail.author]
 * @param {string[]} [mail.accountEmails] addresses of the receiving account's identities
 * @returns {Array<{mailbox: string, ca: (string|undefined)}>}
 */
export function candidateEnrollments(enrollments, { recipients = [], ccList = [], author = "", accountEmails = [] } = {}) {
  if (!Array.isArray(enrollments)) {
    return [];
  }
  const rcpt = addressesOf(recipients).concat(addressesOf(ccList));
  const own = addressesOf(accountEmails);
  const from = parseAddress(author);
  const scored = [];
  for (const e of enrollments) {
    if (!isObject(e) || typeof e.mailbox !== "string" || !WAITING_STATES.includes(e.state)) {
      continue;
    }
    const mailbox = e.mailbox.toLowerCase();
    let score = rcpt.includes(mailbox) ? 4 : own.includes(mailbox) ? 2 : 0;
    if (score === 0) {
      continue;
    }
    if (from && typeof e.challenge_from === "string" && parseAddress(e.challenge_from) === from) {
      score += 1;
    }
    scored.push({ score, mailbox: e.mailbox, ca: typeof e.ca === "string" ? e.ca : undefined });
  }
  // stable: Array.prototype.sort is stable, equal scores keep the helper's order
  scored.sort((a, b) => b.score - a.score);
  const seen = new Set();
  return scored
    .filter(c => {
      const k = `${c.mailbox.toLowerCase()}\u0000${c.ca || ""}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map(({ mailbox, ca }) => ({ mailbox, ca }));
}

/**
 * Sorts a challenge.inspect result into what the extension does next:
 *  - `approved`: send `reply`, then call reply.sent;
 *  - `declined`: the person (or the helper's policy) said no; nothing is sent;
 *  - `quiet`: not a challenge for this request, or already dealt with; no fuss;
 *  - `warning`: it looks like a challenge for a pending request but failed a check
 *    (authentication, sender, freshness, form): shown on the message, never prompted;
 *  - `invalid`: the result is not what PROTOCOL.md describes.
 *
 * @returns {{kind: string, reason: string, message: string}}
 */
export function classifyVerdict(verdict) {
  if (!isObject(verdict) || typeof verdict.answerable !== "boolean") {
    return { kind: "invalid", reason: "invalid", message: "" };
  }
  const reason = typeof verdict.reason === "string" && verdict.reason ? verdict.reason : "unknown";
  const message = typeof verdict.message === "string" ? verdict.message : "";
  if (verdict.answerable) {
    if (verdict.approved === true) {
      return isObject(verdict.reply) ? { kind: "approved", reason, message } : { kind: "invalid", reason, message };
    }
    return { kind: "declined", reason, message };
  }
  if (QUIET_REASONS.has(reason)) {
    return { kind: "quiet", reason, message };
  }
  return { kind: "warning", reason, message };
}

/** Whether another candidate enrollment should be tried after this verdict. */
export function tryNextCandidate(verdict) {
  return isObject(verdict) && verdict.answerable === false && (verdict.reason === "to-mismatch" || verdict.reason === "from-mismatch");
}

const BEGIN = "-----BEGIN ACME RESPONSE-----";
const END = "-----END ACME RESPONSE-----";
const MAX_BODY = 64 * 1024;

/**
 * Checks the helper's `reply` before it goes out from `mailbox` (PROTOCOL.md §9): the
 * extension sends it unchanged, so anything odd stops the send.
 *
 * @returns {string[]} problems, empty when it may be sent
 */
export function checkReply(reply, mailbox) {
  const problems = [];
  if (!isObject(reply)) {
    return ["reply missing"];
  }
  if (typeof mailbox !== "string" || parseAddress(reply.from) !== parseAddress(mailbox) || parseAddress(mailbox) === "") {
    problems.push("from is not the mailbox");
  }
  if (!Array.isArray(reply.to) || reply.to.length === 0 || reply.to.some(a => parseAddress(a) === "")) {
    problems.push("to is not a list of addresses");
  }
  if (typeof reply.subject !== "string" || !reply.subject.startsWith("Re: ACME: ") || /[\r\n]/.test(reply.subject)) {
    problems.push("subject is not Re: ACME: token");
  }
  if (typeof reply.body !== "string" || reply.body.length > MAX_BODY) {
    problems.push("body missing or too large");
  } else {
    const b = reply.body.indexOf(BEGIN);
    const e = reply.body.indexOf(END);
    if (b === -1 || e === -1 || e < b) {
      problems.push("body lacks the ACME response block");
    }
  }
  return problems;
}

/** The reply body for compose.* (which wants LF line ends and adds its own). */
export function composeBody(body) {
  return String(body).replace(/\r\n/g, "\n").replace(/\r/g, "\n");
}

/** The lines of the response block, trimmed, for comparing with what compose holds. */
export function responseLines(body) {
  const lines = composeBody(body)
    .split("\n")
    .map(l => l.trim());
  const b = lines.indexOf(BEGIN);
  const e = lines.indexOf(END);
  return b !== -1 && e > b ? lines.slice(b, e + 1).filter(Boolean) : [];
}

/**
 * Checks the compose window's details (compose.getComposeDetails) against the reply
 * just before sending: right identity, plain text, subject exactly the helper's,
 * recipients exactly the helper's, the response block intact, no signing or
 * encryption of any kind.
 *
 * @param {object} details
 * @param {object} reply
 * @param {string} identityId
 * @returns {string[]} problems
 */
export function checkComposeDetails(details, reply, identityId) {
  const problems = [];
  if (!isObject(details)) {
    return ["compose details missing"];
  }
  if (identityId && details.identityId !== identityId) {
    problems.push("identity differs");
  }
  if (details.isPlainText !== true) {
    problems.push("not plain text");
  }
  if (details.subject !== reply.subject) {
    problems.push("subject differs");
  }
  const want = addressesOf(reply.to).sort();
  const have = addressesOf(details.to).sort();
  if (want.join(",") !== have.join(",")) {
    problems.push("recipients differ");
  }
  if (addressesOf(details.cc).length > 0 || addressesOf(details.bcc).length > 0) {
    problems.push("cc or bcc not empty");
  }
  const wantLines = responseLines(reply.body);
  const haveLines = responseLines(typeof details.plainTextBody === "string" ? details.plainTextBody : "");
  if (wantLines.length === 0 || wantLines.join("\n") !== haveLines.join("\n")) {
    problems.push("response block differs");
  }
  const t = details.selectedEncryptionTechnology;
  if (isObject(t) && (t.signMessage === true || t.encryptBody === true || t.encryptSubject === true)) {
    problems.push("signing or encryption is on");
  }
  return problems;
}

/**
 * The compose setting that turns signing and encryption off for this one message, or
 * null when nothing is selected. The technology stays what Thunderbird chose: naming
 * S/MIME for an identity without S/MIME throws (ext-compose.js), and OpenPGP signing
 * must go off too, since RFC 8823 wants a plain text/plain reply.
 */
export function encryptionOff(details) {
  const t = isObject(details) ? details.selectedEncryptionTechnology : null;
  if (!isObject(t) || typeof t.name !== "string") {
    return null;
  }
  if (t.name === "OpenPGP") {
    return { name: "OpenPGP", signMessage: false, encryptBody: false, encryptSubject: false };
  }
  return { name: "S/MIME", signMessage: false, encryptBody: false };
}
