/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestChallenge"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "autocleanups.h"
#include "challenge.h"
#include "jws.h"
#include "mail.h"
#include "me-error.h"
#include "test-util.h"

#define CRLF "\r\n"

/* the RFC 8823 example values (docs/standards.md §2.1, §2.2) */
#define PART1	   "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME="
/* PART1 inside a Q encoded-word */
#define PART1_Q	   "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=3D"
#define PART2	   "DGyRejmCefe7v4NfDGDKfA"
#define THUMB	   "1_nKJnlH9boVxdoO63T8zP7O2w42qZL4d6xj35Hy5aI"
#define DIGEST_STR "AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk"
#define CA_FROM	   "acme-generator@example.org"
#define USER	   "alexey@example.com"
#define MSGID	   "<A2299BB.FF7788@example.org>"
/* the example's Date, "Sat, 5 Dec 2020 10:08:55 +0100" */
#define MAIL_DATE 1607159335
#define NOW	  (MAIL_DATE + 300)
#define FETCHED	  (MAIL_DATE - 60)
#define DAY	  (24 * 60 * 60)

static const gchar *const base_headers[] = {
    "Auto-Submitted: auto-generated; type=acme",
    "Date: Sat, 5 Dec 2020 10:08:55 +0100",
    "Message-ID: " MSGID,
    "From: " CA_FROM,
    "To: " USER,
    "Subject: ACME: " PART1,
    "Content-Type: text/plain",
    "MIME-Version: 1.0",
};

enum {
	F_NONE = 0,
	F_NO_PENDING = 1 << 0,
	F_AUTH_FAIL = 1 << 1,
	F_NO_HOOK = 1 << 2,
	F_HOOK_NO_METHOD = 1 << 3,
	F_TRUST_AR = 1 << 4,
	F_ANSWERED = 1 << 5,
	F_EXPIRED = 1 << 6,
	F_FETCH_OLD = 1 << 7,
	F_NO_FETCH = 1 << 8,
	F_LF = 1 << 9,
	F_MOZ = 1 << 10,
	F_AMBIGUOUS = 1 << 11,
	F_SECOND = 1 << 12,
	F_SMALL_LIMIT = 1 << 13,
	F_NUL = 1 << 14,
	F_MIME_BOMB = 1 << 15,
	F_HUGE_HEADER = 1 << 16,
	F_MULTIPART = 1 << 17,
	F_QUIRK = 1 << 18,	 /* the matched challenge's CA has quirks=missing-auto-submitted */
	F_QUIRK_OTHER = 1 << 19, /* only another pending challenge's CA has it */
	F_HOOK_SMIME = 1 << 20,	 /* the hook passes the mail by S/MIME */
};

/* edits: "Name: v" replaces the first Name (or appends), "-Name" drops every Name,
 * "+Name: v" appends another, "^Name: v" puts one on top */
typedef struct {
	const gchar *id;
	const gchar *edits[6];
	guint flags;
	MeChallengeReason reason;
	const gchar *token; /* token-part1 expected when answerable */
} ChallengeCase;

static gsize
name_len(const gchar *line)
{
	const gchar *colon = strchr(line, ':');
	return colon != NULL ? (gsize)(colon - line) : strlen(line);
}

static gboolean
same_name(const gchar *a, const gchar *b)
{
	gsize n = name_len(a);
	return n == name_len(b) && g_ascii_strncasecmp(a, b, n) == 0;
}

static void
apply_edit(GPtrArray *headers, const gchar *edit)
{
	if (edit[0] == '-') {
		for (guint i = headers->len; i > 0; i--) {
			if (same_name(g_ptr_array_index(headers, i - 1), edit + 1))
				g_ptr_array_remove_index(headers, i - 1);
		}
		return;
	}
	if (edit[0] == '+') {
		g_ptr_array_add(headers, g_strdup(edit + 1));
		return;
	}
	if (edit[0] == '^') {
		g_ptr_array_insert(headers, 0, g_strdup(edit + 1));
		return;
	}
	for (guint i = 0; i < headers->len; i++) {
		if (same_name(g_ptr_array_index(headers, i), edit)) {
			g_free(g_ptr_array_index(headers, i));
			g_ptr_array_index(headers, i) = g_strdup(edit);
			return;
		}
	}
	g_ptr_array_add(headers, g_strdup(edit));
}

static void
append_mime_bomb(GString *s, guint depth)
{
	g_string_append(s, "Content-Type: multipart/mixed; boundary=\"b0\"" CRLF CRLF "--b0" CRLF);
	for (guint i = 1; i < depth; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"b%u\"" CRLF CRLF "--b%u" CRLF, i, i);
	g_string_append(s, "Content-Type: text/plain" CRLF CRLF "x" CRLF);
	for (guint i = depth; i > 0; i--)
		g_string_append_printf(s, "--b%u--" CRLF, i - 1);
}

static const gchar multipart_body[] =
    "--alt" CRLF "Content-Type: text/plain" CRLF CRLF "explanation" CRLF
    "--alt" CRLF "Content-Type: text/html" CRLF CRLF "<p>explanation</p>" CRLF "--alt--" CRLF;

static GBytes *
build_mail(const gchar *const *edits, guint flags)
{
	g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func(g_free);
	GString *s = g_string_new(NULL);
	gchar *data;
	gsize len;

	for (guint i = 0; i < G_N_ELEMENTS(base_headers); i++)
		g_ptr_array_add(headers, g_strdup(base_headers[i]));
	if (flags & F_MULTIPART)
		apply_edit(headers, "Content-Type: multipart/alternative; boundary=\"alt\"");
	if (flags & F_MIME_BOMB)
		apply_edit(headers, "-Content-Type");
	for (guint i = 0; edits != NULL && i < 6 && edits[i] != NULL; i++)
		apply_edit(headers, edits[i]);
	if (flags & F_MOZ)
		g_string_append(s, "From - Sat Dec  5 10:09:01 2020\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n");
	for (guint i = 0; i < headers->len; i++)
		g_string_append_printf(s, "%s" CRLF, (const gchar *)g_ptr_array_index(headers, i));
	if (flags & F_HUGE_HEADER) {
		g_string_append(s, "X-Pad: x");
		for (guint i = 0; i < 5000; i++)
			g_string_append(s, CRLF " padding padding padding padding padding padding padding");
		g_string_append(s, CRLF);
	}
	if (flags & F_MIME_BOMB)
		append_mime_bomb(s, 500);
	else
		g_string_append(s, CRLF);
	g_string_append(s, (flags & F_MULTIPART) ? multipart_body : "(human-readable explanation)" CRLF);
	if (flags & F_LF) {
		g_auto(GStrv) lines = g_strsplit(s->str, CRLF, -1);
		g_string_assign(s, "");
		for (guint i = 0; lines[i] != NULL; i++)
			g_string_append_printf(s, "%s%s", i > 0 ? "\n" : "", lines[i]);
	}
	len = s->len;
	data = g_string_free(s, FALSE);
	/* a NUL inside the header block, where "@NUL@" was */
	if (flags & F_NUL) {
		gchar *at = strstr(data, "@NUL@");
		g_assert_nonnull(at);
		at[0] = '\0';
	}
	return g_bytes_new_take(data, len);
}

typedef struct {
	gboolean pass;
	MeChallengeAuthMethod method;
	guint calls;
	MeChallengeAuthRule rule; /* what the last call was asked to find */
} HookState;

static gboolean
test_auth_hook(GBytes *crlf,
	       const gchar *from_addr,
	       const gchar *to_addr,
	       const gchar *subject,
	       MeChallengeAuthRule rule,
	       MeChallengeAuthResult *result,
	       gpointer user_data)
{
	HookState *state = user_data;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(crlf, &len);

	state->calls++;
	state->rule = rule;
	/* the verifier gets the message as sent: CRLF, no Thunderbird prefix */
	g_assert_false(g_str_has_prefix(data, "X-Mozilla") || g_str_has_prefix(data, "From "));
	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\n')
			g_assert_cmpint(data[i - 1], ==, '\r');
	}
	g_assert_nonnull(from_addr);
	g_assert_nonnull(to_addr);
	g_assert_nonnull(subject);
	if (!state->pass) {
		me_challenge_auth_result_add_failure(result, "dkim: signature did not verify");
		return FALSE;
	}
	me_challenge_auth_result_set_pass(result, state->method, "d=example.org s=test");
	return TRUE;
}

static const gchar *const trusted_ids[] = {"mx.example.com", NULL};

static MeChallengeVerdict *
run_case(const ChallengeCase *tc, HookState *state, GBytes **mail_out)
{
	g_autoptr(GBytes) mail = build_mail(tc->edits, tc->flags);
	MePendingChallenge pending[2] = {
	    {USER, CA_FROM, PART2, "https://ca.example/chall/1", NOW + 7 * DAY, FETCHED, ME_TOKEN_JOIN_STRING, FALSE},
	    {"bob@example.com", CA_FROM, PART2, "https://ca.example/chall/2", NOW + 7 * DAY, FETCHED,
	     ME_TOKEN_JOIN_STRING, FALSE},
	};
	MeMailLimits small = {.max_size = 200};
	MeChallengeOptions options = {.now = NOW, .auth_func = test_auth_hook, .auth_user_data = state};
	guint n = 1;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(mail, &len);

	state->pass = !(tc->flags & F_AUTH_FAIL);
	state->method = (tc->flags & F_HOOK_NO_METHOD) ? ME_CHALLENGE_AUTH_NONE
			: (tc->flags & F_HOOK_SMIME)   ? ME_CHALLENGE_AUTH_SMIME
						       : ME_CHALLENGE_AUTH_DKIM;
	if (tc->flags & F_NO_HOOK)
		options.auth_func = NULL;
	if (tc->flags & F_TRUST_AR)
		options.trusted_authserv_ids = trusted_ids;
	if (tc->flags & F_SMALL_LIMIT)
		options.limits = &small;
	if (tc->flags & F_ANSWERED)
		pending[0].answered = TRUE;
	if (tc->flags & F_EXPIRED)
		pending[0].expires = NOW - 1;
	if (tc->flags & F_FETCH_OLD)
		pending[0].fetched_at = NOW - DAY - 3600;
	if (tc->flags & F_NO_FETCH)
		pending[0].fetched_at = 0;
	if (tc->flags & F_AMBIGUOUS) {
		pending[1] = pending[0];
		n = 2;
	}
	if (tc->flags & F_SECOND) {
		MePendingChallenge tmp = pending[0];
		pending[0] = pending[1];
		pending[1] = tmp;
		n = 2;
	}
	if (tc->flags & F_QUIRK)
		pending[0].quirks = ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED;
	if (tc->flags & F_QUIRK_OTHER) {
		pending[1].quirks = ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED;
		n = 2;
	}
	if (tc->flags & F_NO_PENDING)
		n = 0;
	if (mail_out != NULL)
		*mail_out = g_bytes_ref(mail);
	return me_challenge_inspect(data, len, pending, n, &options);
}

static void
assert_sentence(const gchar *message)
{
	g_autoptr(GError) error = g_error_new_literal(ME_ERROR, ME_ERROR_FAILED, message);
	me_test_assert_sentence(error);
}

static void
check_case(const ChallengeCase *tc)
{
	HookState state = {0};
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(MeChallengeVerdict) verdict = run_case(tc, &state, &mail);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(mail, &len);

	g_test_message("case %s: %s (%s)", tc->id, me_challenge_reason_to_nick(verdict->reason), verdict->message);
	g_assert_cmpstr(me_challenge_reason_to_nick(verdict->reason), ==, me_challenge_reason_to_nick(tc->reason));
	g_assert_cmpint(verdict->answerable, ==, tc->reason == ME_CHALLENGE_REASON_OK);
	assert_sentence(verdict->message);
	/* authenticity is checked last: nothing that failed earlier reached the verifier */
	if (tc->reason != ME_CHALLENGE_REASON_OK && tc->reason != ME_CHALLENGE_REASON_UNAUTHENTICATED)
		g_assert_cmpuint(state.calls, ==, 0);
	if (tc->reason == ME_CHALLENGE_REASON_NOT_CHALLENGE)
		g_assert_false(verdict->is_challenge);
	else if (tc->reason != ME_CHALLENGE_REASON_MALFORMED && tc->reason != ME_CHALLENGE_REASON_TOO_LARGE)
		g_assert_true(verdict->is_challenge);
	if (tc->reason != ME_CHALLENGE_REASON_OK) {
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_NONE);
		return;
	}
	g_assert_true(me_challenge_quick_check(data, len));
	g_assert_cmpstr(verdict->token_part1, ==, tc->token != NULL ? tc->token : PART1);
	g_assert_cmpstr(verdict->to, ==, (tc->flags & F_SECOND) ? USER : USER);
	g_assert_cmpint(verdict->matched, ==, (tc->flags & F_SECOND) ? 1 : 0);
	g_assert_cmpint(verdict->auth.method, !=, ME_CHALLENGE_AUTH_NONE);
	g_assert_nonnull(verdict->auth.detail);
}

/* mail that must be answered */
static const ChallengeCase valid_cases[] = {
    {"base", {NULL}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"lf-only", {NULL}, F_LF, ME_CHALLENGE_REASON_OK, NULL},
    {"mozilla-prefix", {NULL}, F_MOZ, ME_CHALLENGE_REASON_OK, NULL},
    {"mozilla-prefix-lf", {NULL}, F_MOZ | F_LF, ME_CHALLENGE_REASON_OK, NULL},
    {"E-05-acme4j-q", {"Subject: =?UTF-8?Q?ACME:_LgYemJLy3F1LDki=20JrdIGbEzyFJyOyf=20=206vBdyZ1TG3sME=3D?="},
     F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-05-rfc2231-language", {"Subject: =?UTF-8*en?Q?ACME:_LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=3D?="}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-05-b-us-ascii", {"Subject: =?US-ASCII?B?QUNNRTogTGdZZW1KTHkzRjFMRGtpSnJkSUdiRXp5Rkp5T3lmNnZCZHlaMVRHM3NNRT0=?="},
     F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-05-folded-token", {"Subject: ACME: LgYemJLy3F1LDki" CRLF "  JrdIGbEzyFJyOyf  6vBdyZ1TG3sME="}, F_NONE,
     ME_CHALLENGE_REASON_OK, NULL},
    {"E-05-folded-after-prefix", {"Subject: ACME:" CRLF "\t" PART1}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-06-16-bytes", {"Subject: ACME: AAECAwQFBgcICQoLDA0ODw"}, F_NONE, ME_CHALLENGE_REASON_OK,
     "AAECAwQFBgcICQoLDA0ODw"},
    {"E-07-display-name-and-case", {"From: \"ACME CA\" <acme-generator@EXAMPLE.ORG>"}, F_NONE,
     ME_CHALLENGE_REASON_OK, NULL},
    {"E-08-to-display-name", {"To: Alexey <alexey@example.com>"}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-09-parameters", {"Auto-Submitted: auto-generated; type=acme; x=y"}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"E-09-no-parameters", {"Auto-Submitted: Auto-Generated"}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"authentication-results", {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"authentication-results-cfws",
     {"^Authentication-Results: mx.example.com 1 (our MTA); spf=pass smtp.mailfrom=example.org;" CRLF
      " dkim = pass (2048-bit key) header.d=\"Example.Org\" header.s=acme"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"ar-nested-comment-and-quoted-pairs",
     {"^Authentication-Results: mx.example.com (outer (inner \\) still inner) outer); dkim=pass"
      " reason=\"key \\\"ok\\\"; fine\" (a comment; dkim=fail) header.d=example.org header.b=\"ab/cd\""},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"ar-version-1-and-method-version-1", {"^Authentication-Results: mx.example.com 1; dkim/1=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"ar-real-world-shape",
     {"^Authentication-Results: mx.example.com;" CRLF " dkim=pass header.i=@example.org header.d=example.org"
      " header.s=s1 header.b=AbCd/12+;" CRLF " spf=pass (mx.example.com: domain of acme@example.org designates"
      " 192.0.2.1 as permitted sender) smtp.mailfrom=acme@example.org;" CRLF
      " dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"ar-untrusted-above-trusted",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org",
      "^Authentication-Results: filter.example.com; spf=none smtp.mailfrom=\"a b\"@example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_OK, NULL},
    {"multipart-alternative", {NULL}, F_MULTIPART, ME_CHALLENGE_REASON_OK, NULL},
    {"cc-and-in-reply-to", {"Cc: other@example.net", "In-Reply-To: <earlier@example.org>"}, F_NONE,
     ME_CHALLENGE_REASON_OK, NULL},
    {"no-date", {"-Date"}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
    {"second-pending", {NULL}, F_SECOND, ME_CHALLENGE_REASON_OK, NULL},
    {"list-unsubscribe-only", {"List-Unsubscribe: <mailto:u@example.org>"}, F_NONE, ME_CHALLENGE_REASON_OK, NULL},
};

/* forged or malformed challenges: never answered, each for its own reason */
static const ChallengeCase forged_cases[] = {
    {"E-03-no-pending", {NULL}, F_NO_PENDING, ME_CHALLENGE_REASON_NO_PENDING, NULL},
    {"E-04-re", {"Subject: Re: ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-RE-no-space", {"Subject: RE:ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-fwd", {"Subject: Fwd: ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-aw", {"Subject: AW: ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-sv", {"Subject: SV: ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-tag", {"Subject: [EXTERNAL] ACME: " PART1}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-encoded-re", {"Subject: =?UTF-8?Q?Re:_ACME:_" PART1 "?="}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-04-re-then-encoded", {"Subject: Re: =?UTF-8?Q?ACME:_" PART1_Q "?="}, F_NONE, ME_CHALLENGE_REASON_REPLY, NULL},
    {"E-05-no-space", {"Subject: ACME:" PART1}, F_NONE, ME_CHALLENGE_REASON_BAD_SUBJECT, NULL},
    {"E-05-no-token", {"Subject: ACME:   "}, F_NONE, ME_CHALLENGE_REASON_BAD_SUBJECT, NULL},
    {"E-05-iso-8859-1", {"Subject: =?ISO-8859-1?Q?ACME:_" PART1_Q "?="}, F_NONE, ME_CHALLENGE_REASON_BAD_CHARSET, NULL},
    {"E-05-windows-1252-b", {"Subject: =?windows-1252?B?QUNNRTogTGdZZW1KTHkzRjFMRGtpSnJkSUdiRXp5Rkp5T3lmNnZCZHlaMVRHM3NNRT0=?="},
     F_NONE, ME_CHALLENGE_REASON_BAD_CHARSET, NULL},
    {"E-05-us-ascii-8bit", {"Subject: =?US-ASCII?Q?ACME:_=E9AAECAwQFBgcICQoLDA0ODw?="}, F_NONE, ME_CHALLENGE_REASON_BAD_CHARSET,
     NULL},
    {"E-06-15-bytes", {"Subject: ACME: AAECAwQFBgcICQoLDA0O"}, F_NONE, ME_CHALLENGE_REASON_SHORT_TOKEN, NULL},
    {"token-standard-alphabet", {"Subject: ACME: LgYemJLy3F1LDki+JrdIGbEzyFJyOyf/vBdyZ1TG3sME="}, F_NONE,
     ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"token-padding-in-middle", {"Subject: ACME: LgYemJLy3F1L=DkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME"}, F_NONE,
     ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"token-three-pads", {"Subject: ACME: AAECAwQFBgcICQoLDA0ODw==="}, F_NONE, ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"token-bad-pad-length", {"Subject: ACME: AAECAwQFBgcICQoLDA0ODw="}, F_NONE, ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"token-impossible-length", {"Subject: ACME: AAECAwQFBgcICQoLDA0OD"}, F_NONE, ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"token-punctuation", {"Subject: ACME: " PART1 " (urgent!)"}, F_NONE, ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"E-07-other-sender", {"From: acme@attacker.example"}, F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-homoglyph-domain", {"From: acme-generator@ex\xd0\xb0mple.org"}, F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH,
     NULL},
    {"E-07-extra-subdomain", {"From: acme-generator@mail.example.org"}, F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-parent-as-prefix", {"From: acme-generator@example.org.attacker.example"}, F_NONE,
     ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-trailing-dot", {"From: acme-generator@example.org."}, F_NONE, ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-local-part-case", {"From: Acme-Generator@example.org"}, F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-display-name-spoof", {"From: \"acme-generator@example.org\" <evil@attacker.example>"}, F_NONE,
     ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-unquoted-display-spoof", {"From: acme-generator@example.org <evil@attacker.example>"}, F_NONE,
     ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-two-addresses", {"From: acme-generator@example.org, evil@attacker.example"}, F_NONE,
     ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-two-from-headers", {"+From: evil@attacker.example"}, F_NONE, ME_CHALLENGE_REASON_DUPLICATE_HEADER, NULL},
    {"E-07-missing-from", {"-From"}, F_NONE, ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-null-from", {"From: <>"}, F_NONE, ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-encoded-display-injection", {"From: =?UTF-8?Q?acme-generator@example.org=0D=0ATo:?= <evil@attacker.example>"},
     F_NONE, ME_CHALLENGE_REASON_BAD_FROM, NULL},
    {"E-07-encoded-display-name-spoof", {"From: =?UTF-8?Q?acme-generator=40example.org?= <evil@attacker.example>"},
     F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"E-07-crlf-in-display-name",
     {"From: \"acme-generator@example.org" CRLF "To: alexey@example.com\" <evil@attacker.example>"}, F_NONE,
     ME_CHALLENGE_REASON_DUPLICATE_HEADER, NULL},
    {"E-08-other-recipient", {"To: bob@example.com"}, F_NONE, ME_CHALLENGE_REASON_TO_MISMATCH, NULL},
    {"E-08-two-recipients", {"To: alexey@example.com, bob@example.com"}, F_NONE, ME_CHALLENGE_REASON_BAD_TO, NULL},
    {"E-08-group", {"To: undisclosed-recipients:;"}, F_NONE, ME_CHALLENGE_REASON_BAD_TO, NULL},
    {"E-08-missing-to", {"-To"}, F_NONE, ME_CHALLENGE_REASON_BAD_TO, NULL},
    {"E-09-missing", {"-Auto-Submitted"}, F_NONE, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL},
    {"E-09-auto-replied", {"Auto-Submitted: auto-replied"}, F_NONE, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL},
    {"E-09-no", {"Auto-Submitted: no"}, F_NONE, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL},
    {"E-09-lookalike-keyword", {"Auto-Submitted: auto-generated-x; type=acme"}, F_NONE,
     ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL},
    {"E-09-twice", {"+Auto-Submitted: auto-replied"}, F_NONE, ME_CHALLENGE_REASON_DUPLICATE_HEADER, NULL},
    {"E-27-older-than-a-day", {"Date: Fri, 4 Dec 2020 08:00:00 +0100"}, F_FETCH_OLD, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-fetched-over-a-day-ago", {NULL}, F_FETCH_OLD, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-dated-in-future", {"Date: Sat, 5 Dec 2020 12:30:00 +0100"}, F_NONE, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-dated-before-fetch", {"Date: Sat, 5 Dec 2020 08:00:00 +0100"}, F_NONE, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-unreadable-date", {"Date: yesterday"}, F_NONE, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-no-fetch-time", {NULL}, F_NO_FETCH, ME_CHALLENGE_REASON_STALE, NULL},
    {"E-27-authz-expired", {NULL}, F_EXPIRED, ME_CHALLENGE_REASON_AUTHZ_EXPIRED, NULL},
    {"already-answered", {NULL}, F_ANSWERED, ME_CHALLENGE_REASON_ALREADY_ANSWERED, NULL},
    {"replayed-other-token", {"Subject: ACME: AAECAwQFBgcICQoLDA0ODw"}, F_ANSWERED,
     ME_CHALLENGE_REASON_ALREADY_ANSWERED, NULL},
    {"ambiguous-pending", {NULL}, F_AMBIGUOUS, ME_CHALLENGE_REASON_AMBIGUOUS, NULL},
    {"unauthenticated-hook-says-no", {NULL}, F_AUTH_FAIL, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"unauthenticated-no-verifier", {NULL}, F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"unauthenticated-hook-names-no-method", {NULL}, F_HOOK_NO_METHOD, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-untrusted-authserv-id", {"^Authentication-Results: mx.attacker.example; dkim=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-not-configured", {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org"}, F_NO_HOOK,
     ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-other-domain", {"^Authentication-Results: mx.example.com; dkim=pass header.d=attacker.example"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-parent-domain", {"From: acme-generator@ca.example.org",
			  "^Authentication-Results: mx.example.com; dkim=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
    {"ar-dkim-fail", {"^Authentication-Results: mx.example.com; dkim=fail header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-pass-in-comment",
     {"^Authentication-Results: mx.example.com; dkim=fail (dkim=pass header.d=example.org) header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-forged-copy-below",
     {"^Authentication-Results: mx.example.com; dkim=none", "+Authentication-Results: mx.example.com; dkim=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-spf-only", {"^Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-header-i-only", {"^Authentication-Results: mx.example.com; dkim=pass header.i=@example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-empty", {"^Authentication-Results:", "+Authentication-Results: ;;"}, F_TRUST_AR | F_NO_HOOK,
     ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-quoted-semicolon",
     {"^Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=\"x;dkim=pass header.d=example.org;\"@attacker.example"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-quoted-semicolon-value",
     {"^Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=\"x; dkim=pass header.d=example.org\""},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-pass-only-in-comment",
     {"^Authentication-Results: mx.example.com; spf=pass (; dkim=pass header.d=example.org) smtp.mailfrom=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-nested-comment",
     {"^Authentication-Results: mx.example.com; dkim=fail (a (b) \\) ; dkim=pass header.d=example.org) header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-unterminated-comment",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org (unterminated"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-unterminated-quote",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org smtp.mailfrom=\"x"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-non-utf8-on-top",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org",
      "^Authentication-Results: mx.example.com; dkim=fail (\xff) header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-unreadable-untrusted-on-top",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org",
      "^Authentication-Results: filter.example.com; spf=pass smtp.mailfrom=\"x"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-none", {"^Authentication-Results: mx.example.com; none"}, F_TRUST_AR | F_NO_HOOK,
     ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-none-above-pass",
     {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org", "^Authentication-Results: mx.example.com 1; none"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-version-2", {"^Authentication-Results: mx.example.com 2; dkim=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-method-version-2", {"^Authentication-Results: mx.example.com; dkim/2=pass header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-header-d-twice", {"^Authentication-Results: mx.example.com; dkim=pass header.d=attacker.example header.d=example.org"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"ar-trailing-semicolon", {"^Authentication-Results: mx.example.com; dkim=pass header.d=example.org;"},
     F_TRUST_AR | F_NO_HOOK, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
    {"mailing-list", {"List-Id: <acme.lists.example.org>"}, F_NONE, ME_CHALLENGE_REASON_MAILING_LIST, NULL},
    {"two-subjects", {"+Subject: ACME: AAECAwQFBgcICQoLDA0ODw"}, F_NONE, ME_CHALLENGE_REASON_DUPLICATE_HEADER, NULL},
    {"invalid-utf8-from", {"From: \"\xff\xfe\" <acme-generator@example.org>"}, F_NONE,
     ME_CHALLENGE_REASON_BAD_HEADER_TEXT, NULL},
    {"invalid-utf8-subject", {"Subject: ACME: " PART1 " \xc3"}, F_NONE, ME_CHALLENGE_REASON_BAD_HEADER_TEXT, NULL},
    {"nul-byte-in-header", {"Subject: ACME: " PART1 "@NUL@x"}, F_NUL, ME_CHALLENGE_REASON_MALFORMED, NULL},
    {"bare-cr-in-header", {"Subject: ACME: " PART1 "\rBcc: evil@attacker.example"}, F_NONE,
     ME_CHALLENGE_REASON_MALFORMED, NULL},
    {"reply-to-garbage", {"Reply-To: <<<>>>"}, F_NONE, ME_CHALLENGE_REASON_MALFORMED, NULL},
    {"oversized", {NULL}, F_SMALL_LIMIT, ME_CHALLENGE_REASON_TOO_LARGE, NULL},
    {"oversized-header-block", {NULL}, F_HUGE_HEADER, ME_CHALLENGE_REASON_TOO_LARGE, NULL},
    {"nested-mime-bomb", {"Content-Type: multipart/mixed; boundary=\"b0\""}, F_MIME_BOMB,
     ME_CHALLENGE_REASON_TOO_LARGE, NULL},
    {"no-subject", {"-Subject"}, F_NONE, ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
    {"lowercase-acme", {"Subject: acme: " PART1}, F_NONE, ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
};

static void
test_valid_cases(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(valid_cases); i++)
		check_case(&valid_cases[i]);
}

static void
test_forged_corpus(void)
{
	guint seen[ME_CHALLENGE_REASON_LAST] = {0};

	g_assert_cmpuint(G_N_ELEMENTS(forged_cases), >=, 40);
	for (guint i = 0; i < G_N_ELEMENTS(forged_cases); i++) {
		g_assert_cmpint(forged_cases[i].reason, !=, ME_CHALLENGE_REASON_OK);
		check_case(&forged_cases[i]);
		seen[forged_cases[i].reason]++;
	}
	/* every reason but "ok" is exercised */
	for (guint r = 1; r < ME_CHALLENGE_REASON_LAST; r++) {
		g_test_message("reason %s: %u cases", me_challenge_reason_to_nick(r), seen[r]);
		g_assert_cmpuint(seen[r], >, 0);
	}
}

static void
test_verdict_fields(void)
{
	static const ChallengeCase tc = {"fields",
					 {"Reply-To: a@ca.example, \"B\" <b@ca.example>", "References: <r1@x> <r2@x>",
					  "From: \"ACME CA\" <acme-generator@example.org>"},
					 F_MOZ,
					 ME_CHALLENGE_REASON_OK,
					 NULL};
	HookState state = {0};
	g_autoptr(MeChallengeVerdict) verdict = run_case(&tc, &state, NULL);

	g_assert_true(verdict->answerable);
	g_assert_cmpuint(state.calls, ==, 1);
	g_assert_cmpstr(verdict->from, ==, CA_FROM);
	g_assert_cmpstr(verdict->to, ==, USER);
	g_assert_cmpstr(verdict->subject, ==, "ACME: " PART1);
	g_assert_cmpstr(verdict->message_id, ==, MSGID);
	g_assert_cmpuint(verdict->reply_to->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(verdict->reply_to, 1), ==, "b@ca.example");
	g_assert_cmpuint(g_strv_length(verdict->references), ==, 2);
	g_assert_cmpint(verdict->date, ==, MAIL_DATE);
	g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_DKIM);
	g_assert_cmpstr(me_challenge_auth_method_to_string(verdict->auth.method), ==, "DKIM");
}

/* every check passes, but the verifier says no: never answerable */
static void
test_hook_says_not_authenticated(void)
{
	static const ChallengeCase tc = {"hook-no", {NULL}, F_AUTH_FAIL, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL};
	HookState state = {0};
	g_autoptr(MeChallengeVerdict) verdict = run_case(&tc, &state, NULL);

	g_assert_cmpuint(state.calls, ==, 1);
	g_assert_false(verdict->answerable);
	g_assert_true(verdict->is_challenge);
	g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_UNAUTHENTICATED);
	g_assert_cmpint(verdict->matched, ==, 0);
	g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_NONE);
	g_assert_cmpuint(verdict->auth.failures->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(verdict->auth.failures, 0), ==, "dkim: signature did not verify");
}

/* issue 15: each refusal names its cause: an ordinary mail by its subject, the wrong To or
 * From by both addresses, and a forged mail apart from a trusted server's "fail" */
static void
test_messages(void)
{
	static const struct {
		ChallengeCase tc;
		const gchar *message;
	} cases[] = {
	    {{"ordinary", {"Subject: Lunch"}, F_NONE, ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
	     "The mail is not an ACME challenge: its subject \"Lunch\" does not begin with \"ACME: \"."},
	    {{"no-subject", {"-Subject"}, F_NONE, ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
	     "The mail is not an ACME challenge: it has no subject, and a challenge's subject begins with \"ACME: \"."},
	    {{"to", {"To: carol@example.com"}, F_NONE, ME_CHALLENGE_REASON_TO_MISMATCH, NULL},
	     "The challenge mail is addressed to carol@example.com, not to " USER
	     ", the mailbox of the pending request; it is not answered."},
	    {{"from", {"From: acme@forger.example"}, F_NONE, ME_CHALLENGE_REASON_FROM_MISMATCH, NULL},
	     "The challenge mail comes from acme@forger.example, not from " CA_FROM
	     ", the address the certificate authority announced; it is not answered."},
	    {{"unsigned", {NULL}, F_AUTH_FAIL, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
	     "The mail carries no DKIM signature, so the mail is not from the certificate authority; it gets no reply, "
	     "and there is nothing to do but wait for the genuine challenge mail."},
	    {{"ar-fail",
	      {"^Authentication-Results: mx.example.com; dkim=fail header.d=example.org"},
	      F_TRUST_AR | F_NO_HOOK,
	      ME_CHALLENGE_REASON_UNAUTHENTICATED,
	      NULL},
	     "The receiving mail server found that the mail's DKIM signature does not verify, so the mail is not from "
	     "the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine "
	     "challenge mail."},
	    {{"ar-none",
	      {"^Authentication-Results: mx.example.com; dkim=none"},
	      F_TRUST_AR | F_NO_HOOK,
	      ME_CHALLENGE_REASON_UNAUTHENTICATED,
	      NULL},
	     "The mail carries no DKIM signature, so the mail is not from the certificate authority; it gets no reply, "
	     "and there is nothing to do but wait for the genuine challenge mail."},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		HookState state = {0};
		g_autoptr(MeChallengeVerdict) verdict = run_case(&cases[i].tc, &state, NULL);

		g_test_message("case %s: %s", cases[i].tc.id, verdict->message);
		g_assert_cmpstr(me_challenge_reason_to_nick(verdict->reason), ==,
				me_challenge_reason_to_nick(cases[i].tc.reason));
		g_assert_cmpstr(verdict->message, ==, cases[i].message);
		assert_sentence(verdict->message);
	}
}

/* issue 16, the missing-auto-submitted quirk: a mail without Auto-Submitted reaches the
 * verifier only when the matched challenge's CA has the quirk, and then it is asked for DKIM
 * over the other 12 names and nothing else will do: not a trusted Authentication-Results,
 * not S/MIME.  Without the quirk, or with another keyword, it is refused as before.  (The
 * d= and h= rules themselves, with real signatures, are in test-verifier.) */
static void
test_quirk_missing_auto_submitted(void)
{
	static const struct {
		ChallengeCase tc;
		guint calls;
		MeChallengeAuthRule rule;
		gboolean missing;
	} cases[] = {
	    {{"off", {"-Auto-Submitted"}, F_NONE, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL}, 0, 0, TRUE},
	    {{"on-dkim", {"-Auto-Submitted"}, F_QUIRK, ME_CHALLENGE_REASON_OK, NULL},
	     1, ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, TRUE},
	    {{"on-header-present", {NULL}, F_QUIRK, ME_CHALLENGE_REASON_OK, NULL}, 1, ME_CHALLENGE_AUTH_RULE_RFC8823, FALSE},
	    {{"on-keyword-no", {"Auto-Submitted: no"}, F_QUIRK, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL}, 0, 0, FALSE},
	    {{"on-empty-header", {"Auto-Submitted: "}, F_QUIRK, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL}, 0, 0, FALSE},
	    {{"on-smime-only", {"-Auto-Submitted"}, F_QUIRK | F_HOOK_SMIME, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
	     1, ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, TRUE},
	    {{"on-ar-only",
	      {"-Auto-Submitted", "^Authentication-Results: mx.example.com; dkim=pass header.d=example.org"},
	      F_QUIRK | F_TRUST_AR | F_AUTH_FAIL,
	      ME_CHALLENGE_REASON_UNAUTHENTICATED,
	      NULL},
	     1, ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, TRUE},
	    {{"on-ar-no-hook",
	      {"-Auto-Submitted", "^Authentication-Results: mx.example.com; dkim=pass header.d=example.org"},
	      F_QUIRK | F_TRUST_AR | F_NO_HOOK,
	      ME_CHALLENGE_REASON_UNAUTHENTICATED,
	      NULL},
	     0, 0, TRUE},
	    {{"on-dkim-fails", {"-Auto-Submitted"}, F_QUIRK | F_AUTH_FAIL, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL},
	     1, ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, TRUE},
	    {{"on-for-another-ca", {"-Auto-Submitted"}, F_QUIRK_OTHER, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL},
	     0, 0, TRUE},
	    {{"on-stale", {"-Auto-Submitted"}, F_QUIRK | F_FETCH_OLD, ME_CHALLENGE_REASON_STALE, NULL}, 0, 0, TRUE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		HookState state = {0};
		g_autoptr(MeChallengeVerdict) verdict = run_case(&cases[i].tc, &state, NULL);

		g_test_message("case %s: %s (%s)", cases[i].tc.id, me_challenge_reason_to_nick(verdict->reason),
			       verdict->message);
		g_assert_cmpstr(me_challenge_reason_to_nick(verdict->reason), ==,
				me_challenge_reason_to_nick(cases[i].tc.reason));
		g_assert_cmpint(verdict->answerable, ==, cases[i].tc.reason == ME_CHALLENGE_REASON_OK);
		g_assert_cmpint(verdict->auto_submitted_missing, ==, cases[i].missing);
		g_assert_cmpuint(state.calls, ==, cases[i].calls);
		if (state.calls > 0)
			g_assert_cmpint(state.rule, ==, cases[i].rule);
		assert_sentence(verdict->message);
		if (!verdict->answerable) {
			g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_NONE);
			g_assert_cmpuint(verdict->quirks_used, ==, 0);
			continue;
		}
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_DKIM);
		g_assert_cmpuint(verdict->quirks_used, ==,
				 cases[i].missing ? ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED : ME_CHALLENGE_QUIRK_NONE);
		if (cases[i].missing)
			g_assert_cmpstr(verdict->auth.detail, ==, "d=example.org s=test, quirk missing-auto-submitted");
	}
}

/* the quirk names the configuration and the doctor use */
static void
test_quirk_names(void)
{
	MeChallengeQuirks quirk = ME_CHALLENGE_QUIRK_NONE;

	g_assert_true(me_challenge_quirk_from_nick("missing-auto-submitted", &quirk));
	g_assert_cmpint(quirk, ==, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED);
	g_assert_cmpstr(me_challenge_quirk_to_nick(ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED), ==,
			"missing-auto-submitted");
	g_assert_false(me_challenge_quirk_from_nick("Missing-Auto-Submitted", &quirk));
	g_assert_false(me_challenge_quirk_from_nick("", &quirk));
	g_assert_false(me_challenge_quirk_from_nick(NULL, &quirk));
	g_assert_null(me_challenge_quirk_to_nick(ME_CHALLENGE_QUIRK_NONE));
	g_assert_null(me_challenge_quirk_to_nick((MeChallengeQuirks)(1 << 30)));
}

/* a verifier whose DKIM key lookup got no answer, as verifier.c reports it */
static gboolean
dns_down_hook(GBytes *crlf,
	      const gchar *from_addr,
	      const gchar *to_addr,
	      const gchar *subject,
	      MeChallengeAuthRule rule,
	      MeChallengeAuthResult *result,
	      gpointer user_data)
{
	const gchar *server = user_data;

	result->temporary = TRUE;
	result->signed_by = "DKIM";
	result->dns_name = g_strdup("acme._domainkey.example.org");
	result->dns_server = g_strdup(server);
	me_challenge_auth_result_add_failure(result, "DKIM d=example.org s=acme: no answer");
	return FALSE;
}

/* issue 15: DNS that does not answer is told apart from a forged mail, naming the server,
 * the key record and the setting; the system resolver is named as such */
static void
test_dns_down_message(void)
{
	g_autoptr(GBytes) mail = build_mail(NULL, F_NONE);
	MePendingChallenge pending = {USER, CA_FROM, PART2, "https://ca.example/chall/1", NOW + 7 * DAY, FETCHED,
				      ME_TOKEN_JOIN_STRING, FALSE};
	MeChallengeOptions options = {.now = NOW, .auth_func = dns_down_hook, .auth_user_data = (gpointer) "192.0.2.53:53"};
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	g_autoptr(MeChallengeVerdict) system = NULL;

	verdict = me_challenge_inspect(g_bytes_get_data(mail, NULL), g_bytes_get_size(mail), &pending, 1, &options);
	g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_UNAUTHENTICATED);
	g_assert_cmpstr(verdict->message, ==,
			"The DNS server 192.0.2.53:53 did not answer the lookup of the DKIM key acme._domainkey.example.org, "
			"so the challenge mail could not be checked yet; check the network or the dns-server setting in "
			"mailenroll.conf.");
	options.auth_user_data = NULL;
	system = me_challenge_inspect(g_bytes_get_data(mail, NULL), g_bytes_get_size(mail), &pending, 1, &options);
	g_assert_cmpstr(system->message, ==,
			"The system's DNS resolver did not answer the lookup of the DKIM key acme._domainkey.example.org, "
			"so the challenge mail could not be checked yet; check the network, or name a DNS server with "
			"dns-server in mailenroll.conf.");
	assert_sentence(system->message);
}

typedef struct {
	const gchar *subject;
	MeChallengeReason reason;
	const gchar *token;
} SubjectCase;

static const SubjectCase subject_cases[] = {
    {"ACME: " PART1, ME_CHALLENGE_REASON_OK, PART1},
    {"ACME: LgYemJLy3F1LDki JrdIGbEzyFJyOyf  6vBdyZ1TG3sME=", ME_CHALLENGE_REASON_OK, PART1},
    {"  ACME:\t" PART1 "  ", ME_CHALLENGE_REASON_OK, PART1},
    {"ACME: AAECAwQFBgcICQoLDA0ODw", ME_CHALLENGE_REASON_OK, "AAECAwQFBgcICQoLDA0ODw"},
    {"ACME: AAECAwQFBgcICQoLDA0ODw==", ME_CHALLENGE_REASON_OK, "AAECAwQFBgcICQoLDA0ODw=="},
    {"ACME:" PART1, ME_CHALLENGE_REASON_BAD_SUBJECT, NULL},
    {"ACME:", ME_CHALLENGE_REASON_BAD_SUBJECT, NULL},
    {"ACME: AAECAwQFBgcICQoLDA0O", ME_CHALLENGE_REASON_SHORT_TOKEN, NULL},
    {"ACME: AAECAwQFBgcICQoLDA0O==", ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"ACME: =AAECAwQFBgcICQoLDA0ODw", ME_CHALLENGE_REASON_BAD_TOKEN, NULL},
    {"Re: ACME: " PART1, ME_CHALLENGE_REASON_REPLY, NULL},
    {"Hello", ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
    {"", ME_CHALLENGE_REASON_NOT_CHALLENGE, NULL},
};

static void
test_subject_table(void)
{
	g_autoptr(GString) long_token = g_string_new("ACME: ");

	for (guint i = 0; i < G_N_ELEMENTS(subject_cases); i++) {
		const SubjectCase *tc = &subject_cases[i];
		g_autofree gchar *token = NULL;
		MeChallengeReason reason = me_challenge_parse_subject(tc->subject, &token);

		g_test_message("subject case %u: %s", i, tc->subject);
		g_assert_cmpstr(me_challenge_reason_to_nick(reason), ==, me_challenge_reason_to_nick(tc->reason));
		g_assert_cmpstr(token, ==, tc->token);
	}
	for (guint i = 0; i < ME_CHALLENGE_TOKEN_MAX_LEN / 4 + 1; i++)
		g_string_append(long_token, "AAAA");
	g_assert_cmpint(me_challenge_parse_subject(long_token->str, NULL), ==, ME_CHALLENGE_REASON_BAD_TOKEN);
}

typedef struct {
	const gchar *part1;
	const gchar *part2;
	const gchar *thumbprint;
	MeTokenJoin join;
	const gchar *digest;
} DigestCase;

/* docs/standards.md §2.2–2.4 (E-13) */
static const DigestCase digest_cases[] = {
    {PART1, PART2, THUMB, ME_TOKEN_JOIN_STRING, DIGEST_STR},
    {PART1, PART2, THUMB, ME_TOKEN_JOIN_BINARY, "xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk"},
    {"V4nE8NhYh6edBpfQTg5qqQ", "x6I65YvEk6xC4KV0QMvdJw", "hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ",
     ME_TOKEN_JOIN_BINARY, "Fjt2SD7KoqSt3I6jwgg8ljjkP9Er7h1w0wF0UihvQIU"},
    {"V4nE8NhYh6edBpfQTg5qqQ", "x6I65YvEk6xC4KV0QMvdJw", "hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ",
     ME_TOKEN_JOIN_STRING, "gtzugYfQ1gO_Pi-ripWZTUtKP_xzPoQe-brDkSOvX5c"},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", PART2, "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", ME_TOKEN_JOIN_STRING,
     "rRJ_YZrkZnAGXyTlxstW4AkMhRSfI9___xD8PbpD4X8"},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", PART2, "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", ME_TOKEN_JOIN_BINARY,
     "rRJ_YZrkZnAGXyTlxstW4AkMhRSfI9___xD8PbpD4X8"},
    {"AAECAwQFBgcICQoLDA0ODw", PART2, "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", ME_TOKEN_JOIN_STRING,
     "bmwOeXENmYFc4kBt-P3ESHGS9muqrR8SX7-iZuCWQWQ"},
    {"AAECAwQFBgcICQoLDA0ODw", PART2, "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", ME_TOKEN_JOIN_BINARY,
     "AuB8KFUopvZTIJVZokus7fWTLAgj3i1xB7bhLf1DgK0"},
    /* white space left in token-part1 is removed before joining */
    {"LgYemJLy3F1LDki JrdIGbEzyFJyOyf  6vBdyZ1TG3sME=", PART2, THUMB, ME_TOKEN_JOIN_STRING, DIGEST_STR},
};

static void
test_digest_vectors(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(digest_cases); i++) {
		const DigestCase *tc = &digest_cases[i];
		g_autoptr(GError) error = NULL;
		g_autofree gchar *digest = me_challenge_digest(tc->part1, tc->part2, tc->join, tc->thumbprint, &error);

		g_test_message("digest case %u", i);
		g_assert_no_error(error);
		g_assert_cmpstr(digest, ==, tc->digest);
		g_assert_cmpuint(strlen(digest), ==, 43);
		g_assert_true(me_challenge_digest_equal(digest, tc->digest));
	}
	g_assert_false(me_challenge_digest_equal(DIGEST_STR, "xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk"));
	g_assert_false(me_challenge_digest_equal(DIGEST_STR, NULL));
}

static void
test_key_authorization(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) ka = me_challenge_key_authorization(PART1, PART2, ME_TOKEN_JOIN_STRING, THUMB, &error);
	g_autoptr(MeSecretStr) token = me_challenge_join_token(PART1, PART2, ME_TOKEN_JOIN_BINARY, &error);
	MeTokenJoin join = ME_TOKEN_JOIN_BINARY;

	g_assert_no_error(error);
	g_assert_cmpstr(ka, ==, PART1 PART2 "." THUMB);
	/* binary: 32 + 16 bytes, re-encoded without padding */
	g_assert_cmpuint(strlen(token), ==, 64);
	g_assert_true(g_str_has_prefix(token, "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME"));
	g_assert_true(me_token_join_from_string("string", &join));
	g_assert_cmpint(join, ==, ME_TOKEN_JOIN_STRING);
	g_assert_true(me_token_join_from_string("binary", &join));
	g_assert_cmpint(join, ==, ME_TOKEN_JOIN_BINARY);
	g_assert_false(me_token_join_from_string("concat", &join));
}

static void
test_token_errors(void)
{
	static const gchar *const bad[][3] = {
	    {"a+b/", PART2, THUMB},
	    {PART1, "x=y", THUMB},
	    {PART1, PART2, "not a thumbprint!"},
	    {"", PART2, THUMB},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		for (guint j = 0; j < 2; j++) {
			g_autoptr(GError) error = NULL;
			g_autofree gchar *digest = me_challenge_digest(bad[i][0], bad[i][1], (MeTokenJoin)j, bad[i][2], &error);
			g_test_message("token error case %u/%u", i, j);
			g_assert_null(digest);
			g_assert_nonnull(error);
			me_test_assert_sentence(error);
		}
	}
}

/* the §2.2 thumbprint from the acme4j key's public JWK, through our own JWK code */
static void
test_thumbprint_from_jwk(void)
{
	const gchar *json = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"27Z2spNnDcdfd-LSXjIAblFX-fCXimg85H7TfEe-"
			    "1BJ50tfUJKAMLoKGQMnh-pw0xfwsYJKCymPV3RvyApAO7Q\"}";
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = json_from_string(json, &error);
	g_autoptr(EVP_PKEY) key = NULL;
	g_autofree gchar *thumb = NULL;
	g_autofree gchar *digest = NULL;

	g_assert_no_error(error);
	key = me_jwk_to_key(json_node_get_object(node), &error);
	g_assert_no_error(error);
	thumb = me_jwk_thumbprint(key, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(thumb, ==, THUMB);
	digest = me_challenge_digest(PART1, PART2, ME_TOKEN_JOIN_STRING, thumb, &error);
	g_assert_cmpstr(digest, ==, DIGEST_STR);
}

typedef struct {
	const gchar *raw;
	gboolean pass;
} QuickCase;

static const QuickCase quick_cases[] = {
    {"From: a@x.example" CRLF "Subject: ACME: " PART1 CRLF CRLF "body", TRUE},
    {"X-Mozilla-Status: 0001\nFrom: a@x.example\nSubject: Re: ACME: x\n\nbody", TRUE},
    {"subject   : ACME: x" CRLF CRLF, TRUE},
    {"Subject: =?UTF-8?Q?ACME:_x?=" CRLF CRLF, TRUE},
    {"Subject: hello" CRLF "\tACME: folded" CRLF CRLF, TRUE},
    {"Subject: lunch" CRLF "From: a@x.example" CRLF CRLF "ACME: in the body" CRLF, FALSE},
    {"X-Note: ACME: not the subject" CRLF "Subject: lunch" CRLF CRLF, FALSE},
    {"Subject: lunch" CRLF "X-Fold: x" CRLF " ACME: folded into another header" CRLF CRLF, FALSE},
    {"Subjects: ACME: x" CRLF CRLF, FALSE},
    {"Subject: AC" CRLF " ME: split" CRLF CRLF, FALSE},
    {"Subject: acme: lower" CRLF CRLF, FALSE},
    {"", FALSE},
    {CRLF "Subject: ACME: after the header block" CRLF, FALSE},
};

static void
test_quick_check_table(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(quick_cases); i++) {
		g_test_message("quick case %u", i);
		g_assert_cmpint(me_challenge_quick_check(quick_cases[i].raw, strlen(quick_cases[i].raw)), ==,
				quick_cases[i].pass);
	}
	g_assert_false(me_challenge_quick_check(NULL, 0));
}

/* 20 MiB of message whose body lies in pages that fault when touched: the quick check
 * must decide from the headers alone */
static void
check_guarded(const gchar *headers, gboolean expected)
{
	gsize page = (gsize)sysconf(_SC_PAGESIZE);
	gsize total = 20 * 1024 * 1024 + page;
	gsize hlen = strlen(headers);
	guint8 *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gchar *start;

	g_assert_true(map != MAP_FAILED);
	g_assert_cmpuint(hlen, <, page);
	g_assert_cmpint(mprotect(map + page, total - page, PROT_NONE), ==, 0);
	/* the header block ends exactly at the guard */
	start = (gchar *)map + page - hlen;
	memcpy(start, headers, hlen);
	g_assert_cmpint(me_challenge_quick_check(start, total - (page - hlen)), ==, expected);
	g_assert_cmpint(munmap(map, total), ==, 0);
}

static void
test_quick_check_headers_only(void)
{
	check_guarded("From: friend@example.net" CRLF "To: " USER CRLF "Subject: holiday photos" CRLF
		      "MIME-Version: 1.0" CRLF "Content-Type: multipart/mixed; boundary=x" CRLF CRLF,
		      FALSE);
	check_guarded("From: " CA_FROM CRLF "To: " USER CRLF "Subject: ACME: " PART1 CRLF CRLF, TRUE);
}

static void
test_reason_names(void)
{
	for (guint r = 0; r < ME_CHALLENGE_REASON_LAST; r++) {
		MeChallengeReason back = ME_CHALLENGE_REASON_LAST;
		g_assert_true(me_challenge_reason_from_nick(me_challenge_reason_to_nick(r), &back));
		g_assert_cmpint(back, ==, r);
		assert_sentence(me_challenge_reason_to_string(r));
	}
	g_assert_false(me_challenge_reason_from_nick("nope", &(MeChallengeReason){0}));
}

/* ---- the reply */

static MeMailReply *
reply_for(const ChallengeCase *tc, MePendingChallenge *pending_out, gboolean auto_replied, MeChallengeVerdict **verdict_out)
{
	HookState state = {0};
	g_autoptr(GError) error = NULL;
	MeChallengeVerdict *verdict = run_case(tc, &state, NULL);
	MePendingChallenge pending = {USER, CA_FROM, PART2, "https://ca.example/chall/1", NOW + DAY, FETCHED,
				      ME_TOKEN_JOIN_STRING, FALSE};
	MeMailReply *reply;

	g_assert_true(verdict->answerable);
	reply = me_challenge_build_reply(verdict, &pending, THUMB, auto_replied, &error);
	g_assert_no_error(error);
	g_assert_nonnull(reply);
	if (pending_out != NULL)
		*pending_out = pending;
	if (verdict_out != NULL)
		*verdict_out = verdict;
	else
		me_challenge_verdict_free(verdict);
	return reply;
}

static GBytes *
serialize_ok(const MeMailReply *reply)
{
	g_autoptr(GError) error = NULL;
	GBytes *bytes = me_mail_reply_serialize(reply, &error);
	g_assert_no_error(error);
	g_assert_nonnull(bytes);
	return bytes;
}

/* E-21, E-22: CRLF only, 7bit, no trailing blanks, lines within 78 here */
static void
assert_wire_format(GBytes *bytes, gsize max_line)
{
	gsize len = 0;
	const guchar *data = g_bytes_get_data(bytes, &len);
	gsize line = 0;

	for (gsize i = 0; i < len; i++) {
		g_assert_cmpuint(data[i], <, 0x80);
		g_assert_cmpuint(data[i], !=, 0);
		if (data[i] == '\n') {
			g_assert_true(i > 0 && data[i - 1] == '\r');
			g_assert_true(i < 2 || (data[i - 2] != ' ' && data[i - 2] != '\t'));
			line = 0;
			continue;
		}
		if (data[i] == '\r')
			g_assert_true(i + 1 < len && data[i + 1] == '\n');
		else
			line++;
		g_assert_cmpuint(line, <=, max_line);
	}
	g_assert_true(len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n');
}

static MeMail *
reparse(GBytes *bytes)
{
	g_autoptr(GError) error = NULL;
	MeMail *mail = me_mail_new_from_bytes(bytes, NULL, &error);
	g_assert_no_error(error);
	return mail;
}

static const ChallengeCase plain_case = {"reply", {"References: <r1@x.example> <r2@x.example>"}, F_NONE,
					 ME_CHALLENGE_REASON_OK, NULL};

static void
test_reply_headers(void)
{
	g_autoptr(MeMailReply) reply = reply_for(&plain_case, NULL, FALSE, NULL);
	g_autoptr(MeMailReply) reply2 = reply_for(&plain_case, NULL, FALSE, NULL);
	g_autoptr(GBytes) bytes = serialize_ok(reply);
	g_autoptr(MeMail) mail = reparse(bytes);
	g_autoptr(GPtrArray) from = me_mail_get_addresses(mail, "From", NULL);
	g_autoptr(GPtrArray) to = me_mail_get_addresses(mail, "To", NULL);
	g_autofree gchar *subject = me_mail_get_subject(mail, NULL, NULL);
	g_autofree gchar *msgid = me_mail_get_message_id(mail);
	g_autofree gchar *irt = me_mail_get_in_reply_to(mail);
	g_auto(GStrv) refs = me_mail_get_references(mail);

	assert_wire_format(bytes, 78);
	/* E-16 */
	g_assert_cmpuint(from->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(from, 0), ==, USER);
	/* E-17 without Reply-To: the challenge's From */
	g_assert_cmpuint(to->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(to, 0), ==, CA_FROM);
	/* E-15 */
	g_assert_cmpstr(subject, ==, "Re: ACME: " PART1);
	g_assert_cmpint(me_challenge_parse_subject(subject + 4, NULL), ==, ME_CHALLENGE_REASON_OK);
	/* E-18 */
	g_assert_cmpstr(irt, ==, MSGID);
	g_assert_cmpuint(g_strv_length(refs), ==, 3);
	g_assert_cmpstr(refs[0], ==, "<r1@x.example>");
	g_assert_cmpstr(refs[1], ==, "<r2@x.example>");
	g_assert_cmpstr(refs[2], ==, MSGID);
	g_assert_true(g_str_has_suffix(msgid, "@example.com>"));
	g_assert_cmpstr(msgid, !=, reply2->message_id);
	g_assert_cmpstr(msgid, !=, MSGID);
	g_assert_cmpint(me_mail_get_date(mail), >, NOW);
	g_assert_cmpstr(me_mail_get_header(mail, "MIME-Version"), ==, "1.0");
	/* E-19 */
	g_assert_null(me_mail_get_header(mail, "Cc"));
	g_assert_false(me_mail_has_header_prefix(mail, "List-"));
	/* E-24: a person confirmed this one */
	g_assert_null(me_mail_get_header(mail, "Auto-Submitted"));
	/* structured fields agree with the bytes */
	g_assert_cmpstr(reply->subject, ==, "Re: ACME: " PART1);
	g_assert_cmpstr(reply->in_reply_to, ==, MSGID);
	g_assert_cmpstr(reply->references, ==, "<r1@x.example> <r2@x.example> " MSGID);
}

/* E-20, E-21, E-22 */
static void
test_reply_body(void)
{
	g_autoptr(MeMailReply) reply = reply_for(&plain_case, NULL, FALSE, NULL);
	g_autoptr(GBytes) bytes = serialize_ok(reply);
	g_autoptr(MeMail) mail = reparse(bytes);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);
	const gchar *body = g_strstr_len(data, (gssize)len, CRLF CRLF);

	g_assert_cmpstr(me_mail_get_media_type(mail), ==, "text/plain");
	g_assert_cmpstr(me_mail_get_header(mail, "Content-Type"), ==, "text/plain; charset=us-ascii");
	g_assert_cmpstr(me_mail_get_header(mail, "Content-Transfer-Encoding"), ==, "7bit");
	g_assert_null(g_strstr_len(data, (gssize)len, "flowed"));
	g_assert_nonnull(body);
	g_assert_cmpmem(body + 4, len - (gsize)(body + 4 - data),
			"-----BEGIN ACME RESPONSE-----" CRLF DIGEST_STR CRLF "-----END ACME RESPONSE-----" CRLF,
			strlen("-----BEGIN ACME RESPONSE-----" CRLF DIGEST_STR CRLF "-----END ACME RESPONSE-----" CRLF));
	g_assert_cmpstr(reply->body, ==,
			"-----BEGIN ACME RESPONSE-----" CRLF DIGEST_STR CRLF "-----END ACME RESPONSE-----" CRLF);
}

/* E-17: every Reply-To address */
static void
test_reply_to_two(void)
{
	static const ChallengeCase tc = {"reply-to",
					 {"Reply-To: \"CA desk\" <desk@ca.example>, replies@ca.example"},
					 F_NONE,
					 ME_CHALLENGE_REASON_OK,
					 NULL};
	g_autoptr(MeMailReply) reply = reply_for(&tc, NULL, FALSE, NULL);
	g_autoptr(GBytes) bytes = serialize_ok(reply);
	g_autoptr(MeMail) mail = reparse(bytes);
	g_autoptr(GPtrArray) to = me_mail_get_addresses(mail, "To", NULL);

	assert_wire_format(bytes, 78);
	g_assert_cmpuint(to->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(to, 0), ==, "desk@ca.example");
	g_assert_cmpstr(g_ptr_array_index(to, 1), ==, "replies@ca.example");
	g_assert_cmpuint(reply->to->len, ==, 2);
}

/* E-15: a 64-character token folds once, at the FWS after ACME: */
static void
test_reply_subject_folding(void)
{
	static const gchar token[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v";
	static const ChallengeCase tc = {"long-token",
					 {"Subject: ACME: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"},
					 F_NONE,
					 ME_CHALLENGE_REASON_OK,
					 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"};
	g_autoptr(MeMailReply) reply = reply_for(&tc, NULL, FALSE, NULL);
	g_autoptr(GBytes) bytes = serialize_ok(reply);
	g_autoptr(MeMail) mail = reparse(bytes);
	g_autofree gchar *subject = me_mail_get_subject(mail, NULL, NULL);
	g_autofree gchar *expected_line = g_strdup_printf(CRLF "Subject: Re: ACME:" CRLF " %s" CRLF, token);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);

	g_assert_cmpuint(strlen(token), ==, 64);
	assert_wire_format(bytes, 78);
	g_assert_nonnull(g_strstr_len(data, (gssize)len, expected_line));
	g_assert_cmpstr(subject, ==, "Re: ACME: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v");
}

/* E-24: sent by policy, with no person: auto-replied, never auto-generated */
static void
test_reply_auto_replied(void)
{
	g_autoptr(MeMailReply) reply = reply_for(&plain_case, NULL, TRUE, NULL);
	g_autoptr(GBytes) bytes = serialize_ok(reply);
	g_autoptr(MeMail) mail = reparse(bytes);
	g_autofree gchar *keyword = me_mail_get_auto_submitted(mail);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);

	g_assert_cmpstr(keyword, ==, "auto-replied");
	g_assert_null(g_strstr_len(data, (gssize)len, "auto-generated"));
}

static void
test_reply_binary_join(void)
{
	HookState state = {0};
	g_autoptr(MeChallengeVerdict) verdict = run_case(&plain_case, &state, NULL);
	MePendingChallenge pending = {USER, CA_FROM, PART2, "u", NOW + DAY, FETCHED, ME_TOKEN_JOIN_BINARY, FALSE};
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMailReply) reply = me_challenge_build_reply(verdict, &pending, THUMB, FALSE, &error);

	g_assert_no_error(error);
	g_assert_nonnull(strstr(reply->body, CRLF "xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk" CRLF));
}

static void
test_reply_refused(void)
{
	static const ChallengeCase tc = {"refused", {NULL}, F_AUTH_FAIL, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL};
	HookState state = {0};
	g_autoptr(MeChallengeVerdict) verdict = run_case(&tc, &state, NULL);
	g_autoptr(MeChallengeVerdict) good = run_case(&plain_case, &state, NULL);
	MePendingChallenge pending = {USER, CA_FROM, PART2, "u", NOW + DAY, FETCHED, ME_TOKEN_JOIN_STRING, FALSE};
	MePendingChallenge other = {"bob@example.com", CA_FROM, PART2, "u", NOW + DAY, FETCHED, ME_TOKEN_JOIN_STRING, FALSE};
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMailReply) reply = me_challenge_build_reply(verdict, &pending, THUMB, FALSE, &error);
	g_autoptr(MeMailReply) reply2 = NULL;

	g_assert_null(reply);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	/* the reply always comes from the identifier the challenge went to */
	reply2 = me_challenge_build_reply(good, &other, THUMB, FALSE, &error);
	g_assert_null(reply2);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
}

static gboolean
stream_check(const gchar *text, gsize len, gsize *head_len)
{
	g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data(text, len, NULL);
	g_autoptr(GBytes) head = NULL;
	g_autoptr(GError) error = NULL;
	gboolean result = me_challenge_quick_check_stream(stream, &head, NULL, &error);

	g_assert_no_error(error);
	*head_len = g_bytes_get_size(head);
	return result;
}

static void
test_quick_check_stream(void)
{
	const gchar *challenge = "From: a@ca.example\r\nTo: b@example.org\r\nSubject: ACME: "
				 "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME\r\n\r\nbody\r\n";
	g_autoptr(GString) big = g_string_new("From: a@example.net\nSubject: lunch\n\n");
	gsize head_len = 0;

	g_assert_true(stream_check(challenge, strlen(challenge), &head_len));
	g_assert_cmpuint(head_len, ==, strlen(challenge));
	/* a 2 MiB body behind ordinary headers is not read: one 4 KiB chunk at most */
	while (big->len < 2 * 1024 * 1024)
		g_string_append(big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	g_assert_false(stream_check(big->str, big->len, &head_len));
	g_assert_cmpuint(head_len, <=, 4096);
	g_assert_false(stream_check("", 0, &head_len));
	g_assert_cmpuint(head_len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/challenge/inspect/valid", test_valid_cases);
	g_test_add_func("/challenge/inspect/forged-corpus", test_forged_corpus);
	g_test_add_func("/challenge/inspect/verdict-fields", test_verdict_fields);
	g_test_add_func("/challenge/inspect/hook-says-not-authenticated", test_hook_says_not_authenticated);
	g_test_add_func("/challenge/inspect/messages", test_messages);
	g_test_add_func("/challenge/inspect/dns-down-message", test_dns_down_message);
	g_test_add_func("/challenge/quirk/missing-auto-submitted", test_quirk_missing_auto_submitted);
	g_test_add_func("/challenge/quirk/names", test_quirk_names);
	g_test_add_func("/challenge/subject/table", test_subject_table);
	g_test_add_func("/challenge/token/E-13-vectors", test_digest_vectors);
	g_test_add_func("/challenge/token/key-authorization", test_key_authorization);
	g_test_add_func("/challenge/token/errors", test_token_errors);
	g_test_add_func("/challenge/token/thumbprint-from-jwk", test_thumbprint_from_jwk);
	g_test_add_func("/challenge/quick-check/table", test_quick_check_table);
	g_test_add_func("/challenge/quick-check/headers-only", test_quick_check_headers_only);
	g_test_add_func("/challenge/reason/names", test_reason_names);
	g_test_add_func("/challenge/reply/headers", test_reply_headers);
	g_test_add_func("/challenge/reply/body", test_reply_body);
	g_test_add_func("/challenge/reply/reply-to-two", test_reply_to_two);
	g_test_add_func("/challenge/reply/subject-folding", test_reply_subject_folding);
	g_test_add_func("/challenge/reply/auto-replied", test_reply_auto_replied);
	g_test_add_func("/challenge/reply/binary-join", test_reply_binary_join);
	g_test_add_func("/challenge/reply/refused", test_reply_refused);
	g_test_add_func("/challenge/quick-check/stream", test_quick_check_stream);
	return g_test_run();
}
