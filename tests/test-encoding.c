/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestEncoding"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "encoding.h"
#include "me-error.h"
#include "secmem.h"

/* generous enough for every valid vector below */
#define TEST_MAX_LEN 64

typedef struct {
	const gchar *data;
	gsize len;
	const gchar *text;
} B64uCase;

/* RFC 4648 §10 test strings, then bytes that hit '-' and '_' (the two url-safe characters) */
static const B64uCase b64u_cases[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xff", 2, "-_8"},
    {"\xfb\xf0", 2, "-_A"},
    {"\xff\xff\xff", 3, "____"},
    {"\x00", 1, "AA"},
    {"\x00\x00\x00\x00", 4, "AAAAAA"},
    {"\x3e\x3f", 2, "Pj8"},
};

static void
assert_bytes_eq(GBytes *bytes, gconstpointer data, gsize len)
{
	gsize got_len = 0;
	gconstpointer got = g_bytes_get_data(bytes, &got_len);
	g_assert_cmpmem(got, got_len, data, len);
}

static void
test_b64u_encode(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(b64u_cases); i++) {
		const B64uCase *tc = &b64u_cases[i];
		g_autoptr(GBytes) bytes = g_bytes_new(tc->data, tc->len);
		g_autofree gchar *text = me_b64u_encode(tc->data, tc->len);
		g_autofree gchar *text_bytes = me_b64u_encode_bytes(bytes);

		g_test_message("encode case %" G_GSIZE_FORMAT ": %s", i, tc->text);
		g_assert_cmpstr(text, ==, tc->text);
		g_assert_cmpstr(text_bytes, ==, tc->text);
	}
}

static void
test_b64u_decode(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(b64u_cases); i++) {
		const B64uCase *tc = &b64u_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) bytes = me_b64u_decode(tc->text, TEST_MAX_LEN, &error);

		g_test_message("decode case %" G_GSIZE_FORMAT ": %s", i, tc->text);
		g_assert_no_error(error);
		g_assert_nonnull(bytes);
		assert_bytes_eq(bytes, tc->data, tc->len);
	}
}

static void
test_b64u_decode_secret(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(b64u_cases); i++) {
		const B64uCase *tc = &b64u_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) plain = me_b64u_decode(tc->text, TEST_MAX_LEN, NULL);
		g_autoptr(GBytes) secret = me_b64u_decode_secret(tc->text, TEST_MAX_LEN, &error);

		g_assert_no_error(error);
		g_assert_nonnull(secret);
		assert_bytes_eq(secret, tc->data, tc->len);
		g_assert_true(g_bytes_equal(secret, plain));
	}
}

/* every byte value at every position of a 3-byte group, against GLib's standard base64 */
static void
test_b64u_all_bytes(void)
{
	guint8 data[258];
	g_autofree gchar *std = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GBytes) bytes = NULL;

	for (gsize i = 0; i < sizeof(data); i++)
		data[i] = (guint8)i;
	std = g_base64_encode(data, sizeof(data));
	g_strdelimit(std, "+", '-');
	g_strdelimit(std, "/", '_');
	text = me_b64u_encode(data, sizeof(data));
	g_assert_cmpstr(text, ==, std);
	for (gsize len = 0; len < 6; len++) {
		g_autofree gchar *part = me_b64u_encode(data + 250, len);
		g_assert_null(strchr(part, '='));
		g_assert_cmpuint(strlen(part), ==, (len * 8 + 5) / 6);
	}
	bytes = me_b64u_decode(text, 1024, NULL);
	g_assert_nonnull(bytes);
	assert_bytes_eq(bytes, data, sizeof(data));
}

typedef struct {
	const gchar *what;
	const gchar *text;
	gsize max_len;
} B64uRejectCase;

static const B64uRejectCase b64u_rejects[] = {
    {"padding", "Zg==", TEST_MAX_LEN},
    {"one pad character", "Zm8=", TEST_MAX_LEN},
    {"padding inside", "Zg==Zg", TEST_MAX_LEN},
    {"standard alphabet +", "+_8A", TEST_MAX_LEN},
    {"standard alphabet /", "-/8A", TEST_MAX_LEN},
    {"space", "Zm9v Yg", TEST_MAX_LEN},
    {"leading space", " Zm9v", TEST_MAX_LEN},
    {"newline", "Zm9v\nYmFy", TEST_MAX_LEN},
    {"trailing newline", "Zm9vYg\n", TEST_MAX_LEN},
    {"tab", "Zm9v\tYg", TEST_MAX_LEN},
    {"carriage return", "Zm9v\r", TEST_MAX_LEN},
    {"length 1", "A", TEST_MAX_LEN},
    {"length 5", "Zm9vY", TEST_MAX_LEN},
    {"length 9", "Zm9vYmFyA", TEST_MAX_LEN},
    {"punctuation", "Zm9v!g", TEST_MAX_LEN},
    {"non-ascii", "Zm9v\xc3\xa9", TEST_MAX_LEN},
    {"over max_len by one", "Zm9vYmFy", 7},
    {"far over max_len", "Zm9vYmFyZm9vYmFyZm9vYmFy", 8},
    {"null", NULL, TEST_MAX_LEN},
};

static void
test_b64u_decode_rejects(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(b64u_rejects); i++) {
		const B64uRejectCase *tc = &b64u_rejects[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) error_secret = NULL;
		g_autoptr(GBytes) bytes = me_b64u_decode(tc->text, tc->max_len, &error);
		g_autoptr(GBytes) secret = me_b64u_decode_secret(tc->text, tc->max_len, &error_secret);

		g_test_message("reject case: %s", tc->what);
		g_assert_null(bytes);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		g_assert_null(secret);
		g_assert_error(error_secret, ME_ERROR, ME_ERROR_INVALID_DATA);
		g_assert_false(me_b64u_is_valid(tc->text, tc->max_len));
	}
}

/* max_len counts characters and is inclusive */
static void
test_b64u_max_len(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = me_b64u_decode("Zm9vYmFy", 8, &error);

	g_assert_no_error(error);
	assert_bytes_eq(bytes, "foobar", 6);
	g_assert_true(me_b64u_is_valid("Zm9vYmFy", 8));
	g_assert_false(me_b64u_is_valid("Zm9vYmFy", 7));
	/* the empty string is valid base64url for no bytes, but not a valid token */
	g_assert_false(me_b64u_is_valid("", TEST_MAX_LEN));
}

typedef struct {
	const gchar *a;
	gsize a_len;
	const gchar *b;
	gsize b_len;
	gboolean equal;
} MemeqCase;

static const MemeqCase memeq_cases[] = {
    {"token", 5, "token", 5, TRUE},
    {"token", 5, "tokeN", 5, FALSE},
    {"Token", 5, "token", 5, FALSE},
    {"token", 5, "token!", 6, FALSE},
    {"token!", 6, "token", 5, FALSE},
    {"a\0b", 3, "a\0c", 3, FALSE},
    {"a\0b", 3, "a\0b", 3, TRUE},
    {"", 0, "", 0, TRUE},
    {NULL, 0, NULL, 0, TRUE},
    {"", 0, "x", 1, FALSE},
};

static void
test_memeq_ct(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(memeq_cases); i++) {
		const MemeqCase *tc = &memeq_cases[i];
		g_test_message("memeq case %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(me_memeq_ct(tc->a, tc->a_len, tc->b, tc->b_len), ==, tc->equal);
		g_assert_cmpint(me_memeq_ct(tc->b, tc->b_len, tc->a, tc->a_len), ==, tc->equal);
	}
}

typedef struct {
	const gchar *a;
	const gchar *b;
	gboolean equal;
} StreqCase;

static const StreqCase streq_cases[] = {
    {"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", TRUE},
    {"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX1", FALSE},
    {"abc", "abcd", FALSE},
    {"abcd", "abc", FALSE},
    {"", "", TRUE},
    {"", "a", FALSE},
    {NULL, "a", FALSE},
    {"a", NULL, FALSE},
    {NULL, "", FALSE},
    {NULL, NULL, FALSE},
};

static void
test_streq_ct(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(streq_cases); i++) {
		const StreqCase *tc = &streq_cases[i];
		g_test_message("streq case %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(me_streq_ct(tc->a, tc->b), ==, tc->equal);
		g_assert_cmpint(me_streq_ct(tc->b, tc->a), ==, tc->equal);
	}
}

/* ---- secrets from a descriptor (me_secret_str_read_fd) */

/* a pipe holding @data, its writing end closed */
static gint
pipe_with(const gchar *data, gsize len)
{
	gint fds[2];

	g_assert_cmpint(pipe(fds), ==, 0);
	g_assert_cmpint(write(fds[1], data, len), ==, (gssize)len);
	close(fds[1]);
	return fds[0];
}

/* one line, and nothing after it taken from the descriptor: what stdio's read-ahead would
 * have swallowed (and kept in a buffer nobody wipes) is still there for the next reader */
static void
test_secret_read_line(void)
{
	static const struct {
		const gchar *input;
		const gchar *secret;
		const gchar *rest;
	} cases[] = {
	    {"s3cret\nrest of input", "s3cret", "rest of input"},
	    {"s3cret\r\nrest", "s3cret", "rest"},
	    {"s3cret", "s3cret", ""},
	    {"\nrest", "", "rest"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint fd = pipe_with(cases[i].input, strlen(cases[i].input));
		gint errnum = -1;
		g_autoptr(MeSecretStr) secret = me_secret_str_read_fd(fd, 64, TRUE, &errnum);
		gchar rest[64] = {0};
		gssize n;

		g_test_message("case %" G_GSIZE_FORMAT, i);
		g_assert_nonnull(secret);
		g_assert_cmpint(errnum, ==, 0);
		g_assert_cmpstr(secret, ==, cases[i].secret);
		n = read(fd, rest, sizeof(rest) - 1);
		g_assert_cmpint(n, ==, (gssize)strlen(cases[i].rest));
		g_assert_cmpstr(rest, ==, cases[i].rest);
		close(fd);
	}
}

/* the whole input (a PEM key); refusals with their errno */
static void
test_secret_read_limits(void)
{
	static const struct {
		const gchar *input;
		gsize len;
		gsize max;
		gboolean line;
		gint errnum;
	} cases[] = {
	    {"", 0, 8, TRUE, ENODATA},
	    {"", 0, 8, FALSE, ENODATA},
	    {"12345678\n", 9, 8, TRUE, 0},
	    {"123456789\n", 10, 8, TRUE, EFBIG},
	    {"123456789", 9, 8, TRUE, EFBIG},
	    {"1234567890123", 13, 8, TRUE, EFBIG},
	    {"12345678", 8, 8, FALSE, 0},
	    {"123456789", 9, 8, FALSE, EFBIG},
	    {"ab\0cd\n", 6, 8, TRUE, EINVAL},
	    {"ab\0cd", 5, 8, FALSE, EINVAL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint fd = pipe_with(cases[i].input, cases[i].len);
		gint errnum = -1;
		g_autoptr(MeSecretStr) secret = me_secret_str_read_fd(fd, cases[i].max, cases[i].line, &errnum);

		g_test_message("case %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(errnum, ==, cases[i].errnum);
		g_assert_true((secret != NULL) == (cases[i].errnum == 0));
		close(fd);
	}
	{
		gint errnum = -1;
		g_autoptr(MeSecretStr) secret = me_secret_str_read_fd(-1, 8, TRUE, &errnum);
		g_assert_null(secret);
		g_assert_cmpint(errnum, ==, EBADF);
	}
}

/* me_secure_harden_process(), in a child of its own: not dumpable, no core file */
static void
test_harden_process(void)
{
	if (g_test_subprocess()) {
		struct rlimit lim;
		g_autoptr(GError) error = NULL;

		g_assert_true(me_secure_harden_process(&error));
		g_assert_no_error(error);
		g_assert_cmpint(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 0);
		g_assert_cmpint(getrlimit(RLIMIT_CORE, &lim), ==, 0);
		g_assert_cmpuint(lim.rlim_cur, ==, 0);
		g_assert_cmpuint(lim.rlim_max, ==, 0);
		return;
	}
	g_assert_cmpint(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 1);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/encoding/b64u/encode", test_b64u_encode);
	g_test_add_func("/encoding/b64u/decode", test_b64u_decode);
	g_test_add_func("/encoding/b64u/decode-secret", test_b64u_decode_secret);
	g_test_add_func("/encoding/b64u/all-bytes", test_b64u_all_bytes);
	g_test_add_func("/encoding/b64u/decode-rejects", test_b64u_decode_rejects);
	g_test_add_func("/encoding/b64u/max-len", test_b64u_max_len);
	g_test_add_func("/encoding/memeq-ct", test_memeq_ct);
	g_test_add_func("/encoding/streq-ct", test_streq_ct);
	g_test_add_func("/encoding/secret-read/line", test_secret_read_line);
	g_test_add_func("/encoding/secret-read/limits", test_secret_read_limits);
	g_test_add_func("/encoding/harden-process", test_harden_process);
	return g_test_run();
}
