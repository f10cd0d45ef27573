/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestMail"

#include "config.h"

#include <malloc.h>
#include <string.h>

#include "mail.h"
#include "me-error.h"
#include "test-util.h"

#define CRLF "\r\n"

/* RFC 8823 Figure 1, with a folded Subject and odd spacing the CRLF copy must keep */
static const gchar *const challenge_crlf =
    "Auto-Submitted: auto-generated; type=acme" CRLF
    "Date: Sat, 5 Dec 2020 10:08:55 +0100" CRLF
    "Message-ID: <A2299BB.FF7788@example.org>" CRLF
    "From: \"ACME CA\" <acme-generator@example.org>" CRLF
    "To: alexey@example.com" CRLF
    "Subject: ACME:" CRLF
    "  LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=   " CRLF
    "References: <a@x.example>" CRLF
    "\t<b@x.example>" CRLF
    "Content-Type: text/plain" CRLF
    "MIME-Version: 1.0" CRLF
    CRLF
    "(human-readable explanation)" CRLF;

static gchar *
to_lf(const gchar *crlf)
{
	g_auto(GStrv) parts = g_strsplit(crlf, CRLF, -1);
	return g_strjoinv("\n", parts);
}

static MeMail *
parse_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	MeMail *mail = me_mail_new_from_data(text, strlen(text), NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(mail);
	return mail;
}

static void
assert_parse_fails(const gchar *data, gsize len, const MeMailLimits *limits, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMail) mail = me_mail_new_from_data(data, len, limits, &error);

	g_assert_null(mail);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
}

static void
assert_crlf_only(GBytes *bytes)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);

	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\n')
			g_assert_true(i > 0 && data[i - 1] == '\r');
		if (data[i] == '\r')
			g_assert_true(i + 1 < len && data[i + 1] == '\n');
	}
}

static void
test_crlf_and_lf(void)
{
	g_autofree gchar *lf = to_lf(challenge_crlf);
	g_autoptr(MeMail) a = parse_ok(challenge_crlf);
	g_autoptr(MeMail) b = parse_ok(lf);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(me_mail_get_crlf(a), &len);

	g_assert_null(strchr(lf, '\r'));
	/* the CRLF copy is the input byte for byte, not GMime's rewrite of it */
	g_assert_cmpmem(data, len, challenge_crlf, strlen(challenge_crlf));
	g_assert_true(g_bytes_equal(me_mail_get_crlf(a), me_mail_get_crlf(b)));
	assert_crlf_only(me_mail_get_crlf(b));
	g_assert_cmpuint(me_mail_get_n_headers(a), ==, 9);
	g_assert_cmpuint(me_mail_get_n_headers(b), ==, 9);
	g_assert_cmpstr(me_mail_get_header(b, "subject"), ==,
			"ACME:  LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=");
}

static void
test_mozilla_prefix(void)
{
	/* what Thunderbird's getRaw() returns: LF prefix lines, then the CRLF message */
	const gchar *prefixes[] = {
	    "X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n",
	    "From - Sat Dec  5 10:09:01 2020\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n"
	    "X-Mozilla-Keys:                                                                                 \n",
	    "X-MOZILLA-STATUS: 0001\r\nx-mozilla-keys: $label1\r\n",
	};

	for (guint i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		g_autofree gchar *raw = g_strconcat(prefixes[i], challenge_crlf, NULL);
		g_autoptr(MeMail) mail = parse_ok(raw);
		gsize len = 0;
		const gchar *data = g_bytes_get_data(me_mail_get_crlf(mail), &len);

		g_test_message("prefix %u", i);
		g_assert_cmpuint(me_mail_get_stripped_prefix_len(mail), ==, strlen(prefixes[i]));
		g_assert_cmpmem(data, len, challenge_crlf, strlen(challenge_crlf));
		g_assert_null(me_mail_get_header(mail, "X-Mozilla-Status"));
		g_assert_cmpuint(me_mail_count_header(mail, "X-Mozilla-Keys"), ==, 0);
	}
}

static void
test_mozilla_not_inside(void)
{
	/* only leading lines are Thunderbird's; the same name further down is the message's */
	g_autofree gchar *raw = g_strconcat("To: a@b.example" CRLF "X-Mozilla-Status: 0001" CRLF,
					    challenge_crlf + strlen("Auto-Submitted: auto-generated; type=acme" CRLF),
					    NULL);
	g_autoptr(MeMail) mail = parse_ok(raw);

	g_assert_cmpuint(me_mail_get_stripped_prefix_len(mail), ==, 0);
	g_assert_cmpstr(me_mail_get_header(mail, "X-Mozilla-Status"), ==, "0001");
}

static void
test_headers(void)
{
	g_autoptr(MeMail) mail = parse_ok(challenge_crlf);
	g_autofree gchar *msgid = me_mail_get_message_id(mail);
	g_autofree gchar *auto_sub = me_mail_get_auto_submitted(mail);
	g_auto(GStrv) refs = me_mail_get_references(mail);
	g_autofree gchar *irt = me_mail_get_in_reply_to(mail);

	g_assert_cmpstr(msgid, ==, "<A2299BB.FF7788@example.org>");
	g_assert_cmpstr(auto_sub, ==, "auto-generated");
	g_assert_nonnull(refs);
	g_assert_cmpuint(g_strv_length(refs), ==, 2);
	g_assert_cmpstr(refs[0], ==, "<a@x.example>");
	g_assert_cmpstr(refs[1], ==, "<b@x.example>");
	g_assert_null(irt);
	g_assert_cmpint(me_mail_get_date(mail), ==, 1607159335);
	g_assert_cmpstr(me_mail_get_media_type(mail), ==, "text/plain");
	g_assert_cmpstr(me_mail_get_header_name(mail, 0), ==, "Auto-Submitted");
	g_assert_true(me_mail_has_header_prefix(mail, "mime-"));
	g_assert_false(me_mail_has_header_prefix(mail, "List-"));
}

typedef struct {
	const gchar *value;
	const gchar *expected; /* addr-specs joined by '|', or NULL for an error */
} AddrCase;

static const AddrCase addr_cases[] = {
    {"acme-generator@example.org", "acme-generator@example.org"},
    {"\"ACME CA\" <acme-generator@example.org>", "acme-generator@example.org"},
    {"ACME CA <acme-generator@example.org> (the CA)", "acme-generator@example.org"},
    {"=?UTF-8?Q?ACME_CA?= <acme-generator@example.org>", "acme-generator@example.org"},
    {"a@x.example, \"B, b\" <b@y.example>", "a@x.example|b@y.example"},
    {"\"acme-generator@example.org\" <evil@attacker.example>", "evil@attacker.example"},
    {"friends: a@x.example, b@y.example;", "a@x.example|b@y.example"},
    {"undisclosed-recipients:;", ""},
    {"acme-generator@example.org <evil@attacker.example>", NULL},
    {"<>", NULL},
    {"", NULL},
    {"not an address", NULL},
    {"a@x.example.", NULL},
    {"a@@x.example", NULL},
};

static void
test_addresses(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(addr_cases); i++) {
		const AddrCase *tc = &addr_cases[i];
		g_autofree gchar *raw = g_strdup_printf("From: %s" CRLF "Subject: x" CRLF CRLF "body" CRLF, tc->value);
		g_autoptr(MeMail) mail = parse_ok(raw);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) addrs = me_mail_get_addresses(mail, "From", &error);

		g_test_message("address case %u: %s", i, tc->value);
		if (tc->expected == NULL) {
			g_assert_null(addrs);
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
			me_test_assert_sentence(error);
		} else {
			g_autofree gchar *joined = NULL;
			g_assert_no_error(error);
			g_ptr_array_add(addrs, NULL);
			joined = g_strjoinv("|", (gchar **)addrs->pdata);
			g_assert_cmpstr(joined, ==, tc->expected);
		}
	}
}

/* issue 14 item 5: values that took GMime 3.2's strict address parser down a path that
 * drops what it has read (129 bytes a time); LeakSanitizer sees each one in the ASan
 * build, and the heap's growth over many rounds shows it in any build */
static const gchar *const leak_cases[] = {
    "\"\"\",d>",
    "\"\",d>",
    "x, \"\"\",d>",
    "(open, d>",
    "\"a\\\",d>",
    "a@x.example (c) >",
    "a@x.example <b@y.example>",
};

static gsize
heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	return mallinfo2().uordblks;
#else
	return 0;
#endif
}

static void
addresses_refused(const gchar *value)
{
	g_autofree gchar *raw = g_strdup_printf("From: %s" CRLF "Subject: x" CRLF CRLF "body" CRLF, value);
	g_autoptr(MeMail) mail = parse_ok(raw);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) addrs = me_mail_get_addresses(mail, "From", &error);

	g_assert_null(addrs);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
}

static void
test_addresses_gmime_leak(void)
{
	gsize before, after;

	for (guint i = 0; i < G_N_ELEMENTS(leak_cases); i++) {
		g_test_message("leak case %u: %s", i, leak_cases[i]);
		addresses_refused(leak_cases[i]);
	}
	/* warm up GMime's and GLib's caches, then measure */
	for (guint round = 0; round < 50; round++)
		addresses_refused(leak_cases[0]);
	before = heap_in_use();
	for (guint round = 0; round < 2000; round++)
		addresses_refused(leak_cases[0]);
	after = heap_in_use();
	g_test_message("heap in use: %" G_GSIZE_FORMAT " bytes before 2000 rounds, %" G_GSIZE_FORMAT " after",
		       before, after);
	/* 2000 leaks of 129 bytes would be over 250 KiB; valgrind and ASan report 0 here and check on their own */
	g_assert_cmpuint(after, <, before + 16 * 1024);
}

static void
test_addresses_missing(void)
{
	g_autoptr(MeMail) mail = parse_ok("From: a@x.example" CRLF CRLF);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) addrs = me_mail_get_addresses(mail, "Reply-To", &error);

	g_assert_null(addrs);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
}

typedef struct {
	const gchar *a;
	const gchar *b;
	gboolean equal;
} AddrEqCase;

static const AddrEqCase addr_eq_cases[] = {
    {"acme@example.org", "acme@example.org", TRUE},
    {"acme@example.org", "acme@EXAMPLE.org", TRUE},
    {"acme@example.org", "Acme@example.org", FALSE},
    {"acme@example.org", "acme@example.org.", FALSE},
    {"acme@example.org", "acme@mail.example.org", FALSE},
    {"acme@example.org", "acme@ex\xd0\xb0mple.org", FALSE},
    {"acme@example.org", "acme+x@example.org", FALSE},
    {"acme@example.org", "\"acme\"@example.org", FALSE},
    {"acme@example.org", NULL, FALSE},
    {"", "", FALSE},
    {"acme@bücher.example", "acme@BÜCHER.example", FALSE},
    {"acme@bücher.example", "acme@bÜcher.example", FALSE},
    {"acme@bücher.example", "acme@BüCHER.example", TRUE},
};

static void
test_addr_spec_equal(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(addr_eq_cases); i++) {
		const AddrEqCase *tc = &addr_eq_cases[i];
		g_test_message("equal case %u", i);
		g_assert_cmpint(me_addr_spec_equal(tc->a, tc->b), ==, tc->equal);
		g_assert_cmpint(me_addr_spec_equal(tc->b, tc->a), ==, tc->equal);
	}
	g_assert_cmpstr(me_addr_spec_get_domain("a@b.example"), ==, "b.example");
}

typedef struct {
	const gchar *in;
	const gchar *out;   /* NULL: an error */
	gint code;	    /* the error */
	const gchar *charset;
} DecodeCase;

static const DecodeCase decode_cases[] = {
    /* acme4j's vector (docs/standards.md §1.3 C2) */
    {"=?UTF-8?Q?ACME:_LgYemJLy3F1LDki=20JrdIGbEzyFJyOyf=20=206vBdyZ1TG3sME=3D?=",
     "ACME: LgYemJLy3F1LDki JrdIGbEzyFJyOyf  6vBdyZ1TG3sME=", 0, NULL},
    /* RFC 2231 §5 language suffix */
    {"=?UTF-8*en?Q?ACME:_abc?=", "ACME: abc", 0, NULL},
    {"=?us-ascii?B?QUNNRTogYWJj?=", "ACME: abc", 0, NULL},
    {"=?utf-8?b?w6k=?=", "\xc3\xa9", 0, NULL},
    /* white space between encoded-words goes, around literal text it stays */
    {"=?UTF-8?Q?ACME:_ab?= =?UTF-8?Q?cd?=", "ACME: abcd", 0, NULL},
    {"=?UTF-8?Q?ACME:?=  plain", "ACME:  plain", 0, NULL},
    {"Re: =?UTF-8?Q?ACME:_x?=", "Re: ACME: x", 0, NULL},
    {"ACME: plain", "ACME: plain", 0, NULL},
    /* not encoded-words: left literal */
    {"=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0, NULL},
    {"=?UTF-8?Q?a=ZZ?=", "=?UTF-8?Q?a=ZZ?=", 0, NULL},
    {"=?UTF-8?Q?abc", "=?UTF-8?Q?abc", 0, NULL},
    /* charsets RFC 8823 forbids */
    {"=?ISO-8859-1?Q?ACME:_abc?=", NULL, ME_ERROR_NOT_SUPPORTED, "ISO-8859-1"},
    {"=?windows-1252*en?B?QUNNRTogYWJj?=", NULL, ME_ERROR_NOT_SUPPORTED, "windows-1252"},
    {"=?US-ASCII?Q?caf=E9?=", NULL, ME_ERROR_NOT_SUPPORTED, "us-ascii (8-bit data)"},
    /* bytes that are not text */
    {"=?UTF-8?Q?a=E9b?=", NULL, ME_ERROR_INVALID_DATA, NULL},
    {"=?UTF-8?Q?a=0D=0AFrom:_x?=", NULL, ME_ERROR_INVALID_DATA, NULL},
    {"caf\xe9", NULL, ME_ERROR_INVALID_DATA, NULL},
    {"a\x01b", NULL, ME_ERROR_INVALID_DATA, NULL},
};

static void
test_decode_header_text(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(decode_cases); i++) {
		const DecodeCase *tc = &decode_cases[i];
		g_autoptr(GError) error = NULL;
		g_autofree gchar *charset = NULL;
		g_autofree gchar *out = me_mail_decode_header_text(tc->in, &charset, &error);
		g_autofree gchar *shown = g_strescape(tc->in, NULL);

		g_test_message("decode case %u: %s", i, shown);
		if (tc->out != NULL) {
			g_assert_no_error(error);
			g_assert_cmpstr(out, ==, tc->out);
		} else {
			g_assert_null(out);
			g_assert_error(error, ME_ERROR, tc->code);
			me_test_assert_sentence(error);
			g_assert_cmpstr(charset, ==, tc->charset);
		}
	}
}

static void
test_subject(void)
{
	g_autoptr(MeMail) mail = parse_ok(
	    "From: a@x.example" CRLF
	    "Subject: =?UTF-8?Q?ACME:_LgYemJLy3F1LDki=20JrdIGbEzyFJyOyf=20=206vBdyZ1TG3sME=3D?=" CRLF CRLF);
	g_autoptr(MeMail) bad = parse_ok("From: a@x.example" CRLF "Subject: =?ISO-8859-1?Q?ACME:_x?=" CRLF CRLF);
	g_autoptr(MeMail) none = parse_ok("From: a@x.example" CRLF CRLF);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *charset = NULL;
	g_autofree gchar *subject = me_mail_get_subject(mail, NULL, &error);
	g_autofree gchar *bad_subject = NULL;
	g_autofree gchar *no_subject = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(subject, ==, "ACME: LgYemJLy3F1LDki JrdIGbEzyFJyOyf  6vBdyZ1TG3sME=");
	bad_subject = me_mail_get_subject(bad, &charset, &error);
	g_assert_null(bad_subject);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	g_assert_cmpstr(charset, ==, "ISO-8859-1");
	g_clear_error(&error);
	no_subject = me_mail_get_subject(none, NULL, &error);
	g_assert_null(no_subject);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
}

static void
test_malformed(void)
{
	static const gchar nul_header[] = "From: a@x.example" CRLF "Subject: a\0b" CRLF CRLF "body";
	static const gchar *const bad[] = {
	    "From: a@x.example" CRLF "Subject: a\rBcc: b@y.example" CRLF CRLF,
	    "From: a@x.example" CRLF "no colon here" CRLF CRLF,
	    " leading continuation" CRLF "From: a@x.example" CRLF CRLF,
	    CRLF "body only" CRLF,
	    "",
	    "Bad Name: x" CRLF CRLF,
	};

	assert_parse_fails(nul_header, sizeof(nul_header) - 1, NULL, ME_ERROR_INVALID_DATA);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("malformed case %u", i);
		assert_parse_fails(bad[i], strlen(bad[i]), NULL, ME_ERROR_INVALID_DATA);
	}
}

static void
test_limit_size(void)
{
	MeMailLimits limits = {.max_size = 100};
	g_autoptr(MeMail) mail = NULL;
	g_autoptr(GError) error = NULL;

	assert_parse_fails(challenge_crlf, strlen(challenge_crlf), &limits, ME_ERROR_TOO_LARGE);
	limits.max_size = strlen(challenge_crlf);
	mail = me_mail_new_from_data(challenge_crlf, strlen(challenge_crlf), &limits, &error);
	g_assert_no_error(error);
	g_assert_nonnull(mail);
}

static void
test_limit_header_block(void)
{
	g_autoptr(GString) raw = g_string_new("From: a@x.example" CRLF "X-Big: ");
	g_autoptr(GString) ok = NULL;

	/* one long folded header of 300 KiB: under the size limit, over the header limit */
	for (guint i = 0; i < 300 * 16; i++)
		g_string_append(raw, CRLF " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789a");
	g_string_append(raw, CRLF CRLF "body" CRLF);
	assert_parse_fails(raw->str, raw->len, NULL, ME_ERROR_TOO_LARGE);

	/* and no end of headers at all */
	ok = g_string_new("From: a@x.example" CRLF);
	for (guint i = 0; i < 300 * 1024 / 16; i++)
		g_string_append(ok, "X-H: 0123456789" CRLF);
	assert_parse_fails(ok->str, ok->len, &(MeMailLimits){.max_headers = G_MAXUINT}, ME_ERROR_TOO_LARGE);
}

static void
test_limit_header_count(void)
{
	g_autoptr(GString) raw = g_string_new("From: a@x.example" CRLF);
	g_autoptr(MeMail) mail = NULL;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < ME_MAIL_MAX_HEADERS_DEFAULT - 1; i++)
		g_string_append(raw, "Received: x" CRLF);
	g_string_append(raw, CRLF "body" CRLF);
	mail = me_mail_new_from_data(raw->str, raw->len, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(me_mail_get_n_headers(mail), ==, ME_MAIL_MAX_HEADERS_DEFAULT);

	g_string_prepend(raw, "Received: y" CRLF);
	assert_parse_fails(raw->str, raw->len, NULL, ME_ERROR_TOO_LARGE);
}

static gchar *
nested_mime(guint depth, gboolean via_rfc822)
{
	GString *s = g_string_new("From: a@x.example" CRLF "Subject: nested" CRLF "MIME-Version: 1.0" CRLF);

	for (guint i = 0; i < depth; i++) {
		if (via_rfc822 && i % 2 == 1) {
			g_string_append(s, "Content-Type: message/rfc822" CRLF CRLF "Subject: inner" CRLF);
			continue;
		}
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"b%u\"" CRLF CRLF "--b%u" CRLF,
				       i, i);
	}
	g_string_append(s, "Content-Type: text/plain" CRLF CRLF "leaf" CRLF);
	for (guint i = depth; i > 0; i--) {
		if (via_rfc822 && (i - 1) % 2 == 1)
			continue;
		g_string_append_printf(s, "--b%u--" CRLF, i - 1);
	}
	return g_string_free(s, FALSE);
}

static void
test_limit_depth(void)
{
	g_autofree gchar *ok = nested_mime(ME_MAIL_MAX_DEPTH_DEFAULT, FALSE);
	g_autofree gchar *deep = nested_mime(ME_MAIL_MAX_DEPTH_DEFAULT + 1, FALSE);
	g_autofree gchar *bomb = nested_mime(2000, FALSE);
	g_autofree gchar *rfc822 = nested_mime(40, TRUE);
	g_autoptr(MeMail) mail = parse_ok(ok);

	g_assert_cmpstr(me_mail_get_media_type(mail), ==, "multipart/mixed");
	assert_parse_fails(deep, strlen(deep), NULL, ME_ERROR_TOO_LARGE);
	assert_parse_fails(bomb, strlen(bomb), NULL, ME_ERROR_TOO_LARGE);
	assert_parse_fails(rfc822, strlen(rfc822), NULL, ME_ERROR_TOO_LARGE);
	assert_parse_fails(ok, strlen(ok), &(MeMailLimits){.max_depth = 4}, ME_ERROR_TOO_LARGE);
}

/* a stream that hands out one byte per read (CONTRIBUTING.md, "Tests") */
typedef struct {
	GInputStream parent_instance;
	GBytes *bytes;
	gsize pos;
} TestOneByteStream;

typedef struct {
	GInputStreamClass parent_class;
} TestOneByteStreamClass;

GType
test_one_byte_stream_get_type(void);
G_DEFINE_TYPE(TestOneByteStream, test_one_byte_stream, G_TYPE_INPUT_STREAM)

static gssize
test_one_byte_stream_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
	TestOneByteStream *self = (TestOneByteStream *)stream;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(self->bytes, &len);

	if (self->pos >= len || count == 0)
		return 0;
	((guint8 *)buffer)[0] = data[self->pos++];
	return 1;
}

static void
test_one_byte_stream_finalize(GObject *object)
{
	g_bytes_unref(((TestOneByteStream *)object)->bytes);
	G_OBJECT_CLASS(test_one_byte_stream_parent_class)->finalize(object);
}

static void
test_one_byte_stream_class_init(TestOneByteStreamClass *klass)
{
	G_INPUT_STREAM_CLASS(klass)->read_fn = test_one_byte_stream_read;
	G_OBJECT_CLASS(klass)->finalize = test_one_byte_stream_finalize;
}

static void
test_one_byte_stream_init(TestOneByteStream *self)
{
}

static GInputStream *
one_byte_stream_new(const gchar *text)
{
	TestOneByteStream *self = g_object_new(test_one_byte_stream_get_type(), NULL);
	self->bytes = g_bytes_new(text, strlen(text));
	return G_INPUT_STREAM(self);
}

static void
test_stream(void)
{
	g_autofree gchar *raw = g_strconcat("X-Mozilla-Status: 0001\n", challenge_crlf, NULL);
	g_autoptr(GInputStream) stream = one_byte_stream_new(raw);
	g_autoptr(GInputStream) stream2 = one_byte_stream_new(raw);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMail) mail = me_mail_new_from_stream(stream, NULL, NULL, &error);
	g_autoptr(MeMail) small = NULL;
	gsize len = 0;
	const gchar *data;

	g_assert_no_error(error);
	g_assert_nonnull(mail);
	data = g_bytes_get_data(me_mail_get_crlf(mail), &len);
	g_assert_cmpmem(data, len, challenge_crlf, strlen(challenge_crlf));

	small = me_mail_new_from_stream(stream2, &(MeMailLimits){.max_size = 64}, NULL, &error);
	g_assert_null(small);
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
}

static void
test_bytes(void)
{
	g_autoptr(GBytes) bytes = g_bytes_new_static(challenge_crlf, strlen(challenge_crlf));
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMail) mail = me_mail_new_from_bytes(bytes, NULL, &error);

	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(bytes, me_mail_get_crlf(mail)));
}

static MeMailReply *
golden_reply(void)
{
	MeMailReply *reply = me_mail_reply_new();

	reply->from = g_strdup("alexey@example.com");
	g_ptr_array_add(reply->to, g_strdup("acme-generator@example.org"));
	reply->subject = g_strdup("Re: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=");
	reply->in_reply_to = g_strdup("<A2299BB.FF7788@example.org>");
	reply->references = g_strdup("<A2299BB.FF7788@example.org>");
	reply->message_id = g_strdup("<111-22222-3333333@example.com>");
	reply->date = 1607166105;
	reply->body = g_strdup("-----BEGIN ACME RESPONSE-----" CRLF "AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk" CRLF
			       "-----END ACME RESPONSE-----" CRLF);
	return reply;
}

/* docs/standards.md §1.5, the example reply with our Date form */
static const gchar golden_reply_text[] =
    "From: alexey@example.com" CRLF
    "To: acme-generator@example.org" CRLF
    "Subject: Re: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=" CRLF
    "Date: Sat, 5 Dec 2020 11:01:45 +0000" CRLF
    "Message-ID: <111-22222-3333333@example.com>" CRLF
    "In-Reply-To: <A2299BB.FF7788@example.org>" CRLF
    "References: <A2299BB.FF7788@example.org>" CRLF
    "MIME-Version: 1.0" CRLF
    "Content-Type: text/plain; charset=us-ascii" CRLF
    "Content-Transfer-Encoding: 7bit" CRLF
    CRLF
    "-----BEGIN ACME RESPONSE-----" CRLF
    "AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk" CRLF
    "-----END ACME RESPONSE-----" CRLF;

static void
test_reply_golden(void)
{
	g_autoptr(MeMailReply) reply = golden_reply();
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = me_mail_reply_serialize(reply, &error);
	gsize len = 0;
	const gchar *data;

	g_assert_no_error(error);
	data = g_bytes_get_data(bytes, &len);
	g_assert_cmpmem(data, len, golden_reply_text, sizeof(golden_reply_text) - 1);

	reply->auto_replied = TRUE;
	g_clear_pointer(&bytes, g_bytes_unref);
	bytes = me_mail_reply_serialize(reply, &error);
	g_assert_no_error(error);
	data = g_bytes_get_data(bytes, &len);
	g_assert_nonnull(g_strstr_len(data, (gssize)len, CRLF "Auto-Submitted: auto-replied" CRLF CRLF));
}

static void
test_reply_injection(void)
{
	/* every field that could carry a line break into the header block, and a bad body */
	for (guint i = 0; i < 8; i++) {
		g_autoptr(MeMailReply) reply = golden_reply();
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) bytes = NULL;

		switch (i) {
		case 0:
			g_free(reply->subject);
			reply->subject = g_strdup("Re: ACME: x" CRLF "Bcc: evil@attacker.example");
			break;
		case 1:
			g_free(reply->from);
			reply->from = g_strdup("alexey@example.com\nBcc: evil@attacker.example");
			break;
		case 2:
			g_ptr_array_add(reply->to, g_strdup("evil@attacker.example\r\nX: y"));
			break;
		case 3:
			g_free(reply->in_reply_to);
			reply->in_reply_to = g_strdup("<a@b>\r\nBcc: evil@attacker.example");
			break;
		case 4:
			g_free(reply->body);
			reply->body = g_strdup("bare\nline feed" CRLF);
			break;
		case 5:
			g_free(reply->body);
			reply->body = g_strdup("8-bit caf\xc3\xa9" CRLF);
			break;
		case 6:
			g_ptr_array_set_size(reply->to, 0);
			break;
		case 7:
			g_free(reply->subject);
			reply->subject = g_strdup("Re: ACME: caf\xc3\xa9");
			break;
		default:
			g_assert_not_reached();
		}
		g_test_message("injection case %u", i);
		bytes = me_mail_reply_serialize(reply, &error);
		g_assert_null(bytes);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		me_test_assert_sentence(error);
	}
}

static void
test_message_id(void)
{
	g_autofree gchar *a = me_mail_make_message_id("example.com");
	g_autofree gchar *b = me_mail_make_message_id("example.com");

	g_assert_true(g_str_has_prefix(a, "<"));
	g_assert_true(g_str_has_suffix(a, "@example.com>"));
	g_assert_cmpstr(a, !=, b);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mail/parse/crlf-and-lf", test_crlf_and_lf);
	g_test_add_func("/mail/parse/mozilla-prefix", test_mozilla_prefix);
	g_test_add_func("/mail/parse/mozilla-not-inside", test_mozilla_not_inside);
	g_test_add_func("/mail/parse/headers", test_headers);
	g_test_add_func("/mail/parse/bytes", test_bytes);
	g_test_add_func("/mail/parse/stream-one-byte", test_stream);
	g_test_add_func("/mail/parse/malformed", test_malformed);
	g_test_add_func("/mail/limits/size", test_limit_size);
	g_test_add_func("/mail/limits/header-block", test_limit_header_block);
	g_test_add_func("/mail/limits/header-count", test_limit_header_count);
	g_test_add_func("/mail/limits/depth", test_limit_depth);
	g_test_add_func("/mail/addresses/table", test_addresses);
	g_test_add_func("/mail/addresses/missing", test_addresses_missing);
	g_test_add_func("/mail/addresses/gmime-leak", test_addresses_gmime_leak);
	g_test_add_func("/mail/addresses/equal", test_addr_spec_equal);
	g_test_add_func("/mail/decode/table", test_decode_header_text);
	g_test_add_func("/mail/decode/subject", test_subject);
	g_test_add_func("/mail/reply/golden", test_reply_golden);
	g_test_add_func("/mail/reply/injection", test_reply_injection);
	g_test_add_func("/mail/reply/message-id", test_message_id);
	return g_test_run();
}
