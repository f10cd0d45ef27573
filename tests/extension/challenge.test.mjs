// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// messaging/extension/lib/challenge.mjs: which enrollment a mail may answer, what a
// verdict means, and checks on the reply and the compose window
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  candidateEnrollments,
  checkComposeDetails,
  checkReply,
  classifyVerdict,
  composeBody,
  encryptionOff,
  responseLines,
  tryNextCandidate,
} from "../../messaging/extension/lib/challenge.mjs";

const enrollments = [
  { mailbox: "alice@example.org", ca: "example", state: "waiting-challenge", challenge_from: "acme-challenge@ca.example" },
  { mailbox: "bob@example.org", ca: "other", state: "waiting-challenge", challenge_from: "acme@other.example" },
  { mailbox: "carol@example.org", ca: "example", state: "installed", challenge_from: "acme-challenge@ca.example" },
  { mailbox: "dave@example.org", state: "waiting-approval" },
  "garbage",
];

test("only waiting enrollments among the recipients are candidates", () => {
  assert.deepEqual(candidateEnrollments(enrollments, { recipients: ["Alice <Alice@Example.org>"], author: "CA <acme-challenge@ca.example>" }), [
    { mailbox: "alice@example.org", ca: "example" },
  ]);
  assert.deepEqual(candidateEnrollments(enrollments, { recipients: ["carol@example.org"] }), []);
  assert.deepEqual(candidateEnrollments(enrollments, { recipients: ["nobody@example.org"] }), []);
  assert.deepEqual(candidateEnrollments(enrollments, { recipients: ["dave@example.org"] }), [{ mailbox: "dave@example.org", ca: undefined }]);
  assert.deepEqual(candidateEnrollments(null, {}), []);
});

test("a mailbox of the receiving account counts when the mail came by Bcc", () => {
  assert.deepEqual(candidateEnrollments(enrollments, { recipients: ["list@example.org"], accountEmails: ["bob@example.org"] }), [
    { mailbox: "bob@example.org", ca: "other" },
  ]);
});

test("recipients first, then the announced sender breaks ties", () => {
  const list = [
    { mailbox: "a@x.example", ca: "one", state: "waiting-challenge", challenge_from: "ca@one.example" },
    { mailbox: "a@x.example", ca: "two", state: "waiting-challenge", challenge_from: "ca@two.example" },
    { mailbox: "b@x.example", ca: "one", state: "waiting-challenge", challenge_from: "ca@two.example" },
  ];
  const got = candidateEnrollments(list, { recipients: ["a@x.example"], ccList: [], author: "ca@two.example", accountEmails: ["b@x.example"] });
  assert.deepEqual(got, [
    { mailbox: "a@x.example", ca: "two" },
    { mailbox: "a@x.example", ca: "one" },
    { mailbox: "b@x.example", ca: "one" },
  ]);
});

test("verdicts sort into approved, declined, quiet, warning and invalid", () => {
  const reply = { from: "alice@example.org", to: ["acme-challenge@ca.example"], subject: "Re: ACME: abc", body: "x" };
  assert.equal(classifyVerdict({ answerable: true, reason: "ok", approved: true, reply, message: "m" }).kind, "approved");
  assert.equal(classifyVerdict({ answerable: true, reason: "ok", approved: false }).kind, "declined");
  assert.equal(classifyVerdict({ answerable: true, reason: "ok", approved: true }).kind, "invalid");
  for (const reason of ["not-challenge", "reply", "no-pending", "already-answered", "to-mismatch"]) {
    assert.equal(classifyVerdict({ answerable: false, reason }).kind, "quiet", reason);
  }
  for (const reason of ["unauthenticated", "stale", "from-mismatch", "not-auto-generated", "mailing-list", "bad-token", "authz-expired", "some-new-reason"]) {
    const v = classifyVerdict({ answerable: false, reason, message: "why" });
    assert.equal(v.kind, "warning", reason);
    assert.equal(v.message, "why");
  }
  assert.equal(classifyVerdict(null).kind, "invalid");
  assert.equal(classifyVerdict({ reason: "ok" }).kind, "invalid");
});

test("another candidate is tried after a recipient or sender mismatch only", () => {
  assert.equal(tryNextCandidate({ answerable: false, reason: "to-mismatch" }), true);
  assert.equal(tryNextCandidate({ answerable: false, reason: "from-mismatch" }), true);
  assert.equal(tryNextCandidate({ answerable: false, reason: "unauthenticated" }), false);
  assert.equal(tryNextCandidate({ answerable: true, reason: "ok" }), false);
  assert.equal(tryNextCandidate(undefined), false);
});

const goodReply = {
  from: "alice@example.org",
  to: ["acme-challenge@ca.example"],
  subject: "Re: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME",
  in_reply_to: "<c1@ca.example>",
  references: "<c1@ca.example>",
  body: "-----BEGIN ACME RESPONSE-----\r\nLPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ\r\n-----END ACME RESPONSE-----\r\n",
  raw: "…",
};

test("the helper's reply passes the checks", () => {
  assert.deepEqual(checkReply(goodReply, "Alice@Example.org"), []);
});

test("a reply from another address, without the block or with a strange subject is stopped", () => {
  assert.deepEqual(checkReply({ ...goodReply, from: "mallory@example.org" }, "alice@example.org"), ["from is not the mailbox"]);
  assert.deepEqual(checkReply({ ...goodReply, to: [] }, "alice@example.org"), ["to is not a list of addresses"]);
  assert.deepEqual(checkReply({ ...goodReply, subject: "Hello" }, "alice@example.org"), ["subject is not Re: ACME: token"]);
  assert.deepEqual(checkReply({ ...goodReply, subject: "Re: ACME: x\r\nBcc: evil@x" }, "alice@example.org"), ["subject is not Re: ACME: token"]);
  assert.deepEqual(checkReply({ ...goodReply, body: "hi" }, "alice@example.org"), ["body lacks the ACME response block"]);
  assert.deepEqual(checkReply({ ...goodReply, body: "x".repeat(70000) }, "alice@example.org"), ["body missing or too large"]);
  assert.deepEqual(checkReply(null, "alice@example.org"), ["reply missing"]);
});

test("the body goes to compose with LF line ends", () => {
  assert.equal(composeBody(goodReply.body), "-----BEGIN ACME RESPONSE-----\nLPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ\n-----END ACME RESPONSE-----\n");
  assert.deepEqual(responseLines(goodReply.body), [
    "-----BEGIN ACME RESPONSE-----",
    "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
    "-----END ACME RESPONSE-----",
  ]);
  assert.deepEqual(responseLines("no block"), []);
});

const goodDetails = {
  identityId: "id1",
  isPlainText: true,
  subject: goodReply.subject,
  to: ["ACME CA <acme-challenge@ca.example>"],
  cc: [],
  bcc: [],
  // format=flowed may leave trailing spaces; compose drops the final line end
  plainTextBody: "-----BEGIN ACME RESPONSE----- \nLPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ\n-----END ACME RESPONSE-----",
  selectedEncryptionTechnology: { name: "S/MIME", signMessage: false, encryptBody: false },
};

test("the compose window holds exactly the reply", () => {
  assert.deepEqual(checkComposeDetails(goodDetails, goodReply, "id1"), []);
  const { selectedEncryptionTechnology, ...noTech } = goodDetails;
  assert.deepEqual(checkComposeDetails(noTech, goodReply, "id1"), []);
});

test("differences in the compose window stop the send", () => {
  const cases = [
    [{ identityId: "id2" }, "identity differs"],
    [{ isPlainText: false }, "not plain text"],
    [{ subject: "Re: Re: ACME: x" }, "subject differs"],
    [{ to: ["reply-to@elsewhere.example"] }, "recipients differ"],
    [{ cc: ["boss@example.org"] }, "cc or bcc not empty"],
    [{ plainTextBody: "-----BEGIN ACME RESPONSE-----\nchanged\n-----END ACME RESPONSE-----" }, "response block differs"],
    [{ selectedEncryptionTechnology: { name: "S/MIME", signMessage: true, encryptBody: false } }, "signing or encryption is on"],
    [{ selectedEncryptionTechnology: { name: "OpenPGP", signMessage: false, encryptBody: true } }, "signing or encryption is on"],
  ];
  for (const [change, problem] of cases) {
    assert.deepEqual(checkComposeDetails({ ...goodDetails, ...change }, goodReply, "id1"), [problem], problem);
  }
  assert.deepEqual(checkComposeDetails(null, goodReply, "id1"), ["compose details missing"]);
});

test("signing and encryption go off in whatever technology Thunderbird selected", () => {
  assert.deepEqual(encryptionOff({ selectedEncryptionTechnology: { name: "S/MIME", signMessage: true, encryptBody: true } }), {
    name: "S/MIME",
    signMessage: false,
    encryptBody: false,
  });
  assert.deepEqual(encryptionOff({ selectedEncryptionTechnology: { name: "OpenPGP", signMessage: true } }), {
    name: "OpenPGP",
    signMessage: false,
    encryptBody: false,
    encryptSubject: false,
  });
  assert.equal(encryptionOff({}), null);
  assert.equal(encryptionOff(undefined), null);
});
