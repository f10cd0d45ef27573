// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/subject.mjs: the cheap subject filter and address helpers
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addressesOf,
  decodeMimeWords,
  isChallengeCandidate,
  parseAddress,
  splitAddressList,
} from "../../messaging/extension/lib/subject.mjs";

const TOKEN = "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME";

test("an RFC 8823 challenge subject is a candidate", () => {
  assert.equal(isChallengeCandidate(`ACME: ${TOKEN}`), true);
  assert.equal(isChallengeCandidate(`  ACME:\t${TOKEN}`), true);
  // the helper judges form and token; the filter only looks for the prefix
  assert.equal(isChallengeCandidate("ACME:x"), true);
});

test("ordinary mail, replies and forwards are not candidates", () => {
  for (const s of ["", "Hello", `Re: ACME: ${TOKEN}`, `Fwd: ACME: ${TOKEN}`, `acme: ${TOKEN}`, `[list] ACME: ${TOKEN}`, "About ACME:"]) {
    assert.equal(isChallengeCandidate(s), false, s);
  }
  assert.equal(isChallengeCandidate(undefined), false);
  assert.equal(isChallengeCandidate(null), false);
  assert.equal(isChallengeCandidate(42), false);
});

test("encoded-words Thunderbird left are decoded first (B and Q, UTF-8 and ASCII)", () => {
  const b64 = Buffer.from(`ACME: ${TOKEN}`).toString("base64");
  assert.equal(isChallengeCandidate(`=?UTF-8?B?${b64}?=`), true);
  assert.equal(isChallengeCandidate(`=?us-ascii?Q?ACME:_${TOKEN}?=`), true);
  // split over two adjacent words: the white space between them goes
  assert.equal(isChallengeCandidate(`=?utf-8?Q?ACME:?= =?utf-8?Q?_${TOKEN}?=`), true);
  assert.equal(isChallengeCandidate(`=?utf-8?Q?Re:_ACME:_${TOKEN}?=`), false);
});

test("an encoded-word that cannot be decoded keeps the mail a candidate, as in C", () => {
  assert.equal(isChallengeCandidate("=?x-no-such-charset?Q?ACME:_abc?="), true);
  assert.equal(decodeMimeWords("=?x-no-such-charset?Q?abc?=").undecoded, true);
});

test("decodeMimeWords: RFC 2047 §8 examples", () => {
  assert.equal(decodeMimeWords("(=?ISO-8859-1?Q?a?=)").text, "(a)");
  assert.equal(decodeMimeWords("(=?ISO-8859-1?Q?a?= b)").text, "(a b)");
  assert.equal(decodeMimeWords("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)").text, "(ab)");
  assert.equal(decodeMimeWords("(=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=)").text, "(ab)");
  assert.equal(decodeMimeWords("(=?ISO-8859-1?Q?a_b?=)").text, "(a b)");
  assert.equal(decodeMimeWords("=?ISO-8859-1?Q?Andr=E9?= Pirard").text, "André Pirard");
  assert.equal(decodeMimeWords("=?utf-8*en?B?w6Q=?=").text, "ä");
  assert.equal(decodeMimeWords("plain text").undecoded, false);
});

test("a huge subject is cut before it is looked at", () => {
  assert.equal(isChallengeCandidate("ACME: " + "A".repeat(100000)), true);
  assert.equal(isChallengeCandidate(" ".repeat(20000) + "ACME: x"), false);
});

test("parseAddress takes the address out of a mailbox and lower-cases it", () => {
  assert.equal(parseAddress("ACME CA <Acme-Challenge@CA.example>"), "acme-challenge@ca.example");
  assert.equal(parseAddress("alice@example.org"), "alice@example.org");
  assert.equal(parseAddress(' "Doe, Jane" <jane@example.org> '), "jane@example.org");
  assert.equal(parseAddress("mailto:bob@example.org"), "bob@example.org");
  for (const bad of ["", "no address", "@example.org", "a@", "a b@c", null, 5]) {
    assert.equal(parseAddress(bad), "", String(bad));
  }
});

test("address lists split at commas outside quotes and brackets", () => {
  assert.deepEqual(splitAddressList('"Doe, Jane" <jane@example.org>, bob@example.org'), ['"Doe, Jane" <jane@example.org>', "bob@example.org"]);
  assert.deepEqual(addressesOf(['"Doe, Jane" <Jane@example.org>, bob@example.org', "bob@example.org"]), [
    "jane@example.org",
    "bob@example.org",
  ]);
  assert.deepEqual(addressesOf("x@y.example"), ["x@y.example"]);
  assert.deepEqual(addressesOf(undefined), []);
});
