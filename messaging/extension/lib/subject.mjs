/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// The cheap first look at a message, before its raw text is fetched and handed to the
// helper: RFC 8823 §3.1 challenge mails have a Subject that starts with "ACME: " and a
// token. The helper's own first pass (helper/lib/challenge.c, me_challenge_quick_check)
// lets through every Subject that contains "ACME:" or an RFC 2047 encoded-word, and its
// full check then refuses text before "ACME:" as a reply. Thunderbird hands us the
// Subject already decoded, so here a Subject is a candidate when, after decoding any
// encoded-words that are left and dropping leading white space, it starts with "ACME:";
// an encoded-word we cannot decode (an unknown charset) keeps it a candidate, as in C.
// Replies ("Re: ACME: ...", our own sent reply among them) are not candidates.

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
const MAX_SUBJECT = 16384;

function bytesFromBase64(text) {
  const clean = text.replace(/[^A-Za-z0-9+/=]/g, "");
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

function bytesFromQ(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "_") {
      out.push(0x20);
    } else if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c.charCodeAt(0) & 0xff);
    }
  }
  return new Uint8Array(out);
}

/**
 * Decodes RFC 2047 encoded-words; white space between two adjacent encoded-words goes
 * (RFC 2047 §6.2).
 *
 * @param {string} text
 * @returns {{text: string, undecoded: boolean}} `undecoded`: some encoded-word could
 *   not be decoded (unknown charset or broken base64) and was left as it was
 */
export function decodeMimeWords(text) {
  let undecoded = false;
  let out = "";
  let last = 0;
  let prevWasWord = false;
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(text); m !== null; m = ENCODED_WORD.exec(text)) {
    const between = text.slice(last, m.index);
    if (!(prevWasWord && /^[ \t\r\n]*$/.test(between))) {
      out += between;
    }
    const charset = m[1].split("*")[0].toLowerCase();
    let decoded = null;
    try {
      const bytes = m[2].toUpperCase() === "B" ? bytesFromBase64(m[3]) : bytesFromQ(m[3]);
      decoded = new TextDecoder(charset === "us-ascii" ? "utf-8" : charset).decode(bytes);
    } catch (e) {
      decoded = null;
    }
    if (decoded === null) {
      undecoded = true;
      out += m[0];
    } else {
      out += decoded;
    }
    last = m.index + m[0].length;
    prevWasWord = true;
  }
  out += text.slice(last);
  return { text: out, undecoded };
}

/**
 * Whether a message with this Subject may be an RFC 8823 challenge and deserves
 * `messages.getRaw` and `challenge.inspect`.
 *
 * @param {string} subject as Thunderbird reports it (normally decoded)
 */
export function isChallengeCandidate(subject) {
  if (typeof subject !== "string" || subject === "") {
    return false;
  }
  let s = subject.length > MAX_SUBJECT ? subject.slice(0, MAX_SUBJECT) : subject;
  if (s.includes("=?")) {
    const d = decodeMimeWords(s);
    if (d.undecoded) {
      return true;
    }
    s = d.text;
  }
  // folding white space (RFC 5322 unfolding leaves the CR LF out; be lenient)
  s = s.replace(/^[ \t\r\n]+/, "");
  return s.startsWith("ACME:");
}

/**
 * The bare address of "Name <local@domain>" or "local@domain", lower case; "" when
 * there is none.
 */
export function parseAddress(text) {
  if (typeof text !== "string") {
    return "";
  }
  let s = text.trim();
  const lt = s.lastIndexOf("<");
  const gt = s.lastIndexOf(">");
  if (lt !== -1 && gt > lt) {
    s = s.slice(lt + 1, gt);
  }
  s = s.trim().replace(/^mailto:/i, "");
  if (s.startsWith('"') && s.endsWith('"') && s.length > 1) {
    s = s.slice(1, -1);
  }
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1 || /\s/.test(s)) {
    return "";
  }
  return s.toLowerCase();
}

/** Splits an address list at commas outside quotes, comments and angle brackets. */
export function splitAddressList(text) {
  const parts = [];
  let cur = "";
  let quoted = false;
  let angle = 0;
  let paren = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"' && paren === 0) {
      quoted = !quoted;
    } else if (!quoted) {
      if (c === "<") angle++;
      else if (c === ">" && angle > 0) angle--;
      else if (c === "(") paren++;
      else if (c === ")" && paren > 0) paren--;
      else if ((c === "," || c === ";") && angle === 0 && paren === 0) {
        parts.push(cur);
        cur = "";
        continue;
      }
    }
    cur += c;
  }
  parts.push(cur);
  return parts.map(p => p.trim()).filter(Boolean);
}

/** The bare addresses of Thunderbird's `recipients`/`ccList` (an array of strings) or of one header value. */
export function addressesOf(list) {
  const items = Array.isArray(list) ? list : typeof list === "string" ? [list] : [];
  const out = [];
  for (const item of items) {
    for (const part of splitAddressList(String(item))) {
      const a = parseAddress(part);
      if (a && !out.includes(a)) {
        out.push(a);
      }
    }
  }
  return out;
}
