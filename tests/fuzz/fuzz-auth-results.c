/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzAuthResults"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "challenge.h"
#include "mail.h"

/* the input is the value of an Authentication-Results header (RFC 8601), or several, one a
 * line, topmost first; they are put into a mail from alexey@example.com and read as
 * me_challenge_check_auth_results() reads them, with mx.example.com trusted */

#define FUZZ_AR_HEADERS_MAX 8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GBytes *
mail_with_headers(const uint8_t *data, size_t size)
{
	GByteArray *raw = g_byte_array_new();
	static const gchar rest[] = "From: alexey@example.com\r\n"
				    "To: acme@ca.example\r\n"
				    "Subject: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=\r\n"
				    "\r\n"
				    "body\r\n";
	gsize off = 0;

	for (guint n = 0; off < size && n < FUZZ_AR_HEADERS_MAX; n++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		gsize len = nl != NULL ? (gsize)(nl - (data + off)) : size - off;
		g_byte_array_append(raw, (const guint8 *)"Authentication-Results: ", 24);
		g_byte_array_append(raw, data + off, (guint)len);
		g_byte_array_append(raw, (const guint8 *)"\r\n", 2);
		off += len + 1;
	}
	g_byte_array_append(raw, (const guint8 *)rest, sizeof(rest) - 1);
	return g_byte_array_free_to_bytes(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gchar *const trusted[] = {"mx.example.com", NULL};
	g_autoptr(GBytes) raw = mail_with_headers(data, size);
	g_autoptr(MeMail) mail = me_mail_new_from_bytes(raw, NULL, NULL);
	MeChallengeAuthResult result;
	gboolean pass;

	if (mail == NULL)
		return 0;
	me_challenge_auth_result_init(&result);
	pass = me_challenge_check_auth_results(mail, "alexey@example.com", trusted, &result);
	/* a pass names the method and what passed; anything else says why not */
	if (pass)
		g_assert_nonnull(result.detail);
	else
		g_assert_cmpuint(result.failures->len, >, 0);
	me_challenge_auth_result_clear(&result);
	return 0;
}
