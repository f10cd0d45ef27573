/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeEncoding"

#include "config.h"

#include "encoding.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "me-error.h"
#include "secmem.h"

/**
 * me_b64u_encode:
 * @data: bytes
 * @len: their number
 *
 * Base64url without padding (RFC 7515 §2), the encoding of every binary ACME field.
 *
 * Returns: (transfer full): the text
 */
gchar *
me_b64u_encode(gconstpointer data, gsize len)
{
	gchar *text = g_base64_encode(data, len);
	gsize j = 0;

	for (gsize i = 0; text[i] != '\0'; i++) {
		if (text[i] == '=')
			break;
		text[j++] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : text[i];
	}
	text[j] = '\0';
	return text;
}

/**
 * me_b64u_encode_bytes:
 * @bytes: bytes
 *
 * Returns: (transfer full): @bytes as unpadded base64url
 */
gchar *
me_b64u_encode_bytes(GBytes *bytes)
{
	gsize len = 0;
	gconstpointer data = g_bytes_get_data(bytes, &len);
	return me_b64u_encode(data, len);
}

static gboolean
b64u_char_ok(gchar c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/**
 * me_b64u_is_valid:
 * @text: (nullable): text
 * @max_len: the most characters allowed
 *
 * Returns: %TRUE if @text is non-empty unpadded base64url of at most @max_len characters
 */
gboolean
me_b64u_is_valid(const gchar *text, gsize max_len)
{
	gsize len;

	if (text == NULL)
		return FALSE;
	len = strnlen(text, max_len + 1);
	if (len == 0 || len > max_len || len % 4 == 1)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!b64u_char_ok(text[i]))
			return FALSE;
	}
	return TRUE;
}

static guchar *
b64u_decode_raw(const gchar *text, gsize max_len, gsize *out_len, GError **error)
{
	gsize len;
	gchar *std;
	guchar *out;

	*out_len = 0;
	if (text != NULL && text[0] == '\0')
		return g_malloc0(1);
	if (!me_b64u_is_valid(text, max_len)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: base64url is an encoding; this is a protocol error */
				    _("A value is not valid base64url text."));
		return NULL;
	}
	len = strlen(text);
	std = g_malloc(len + 4);
	for (gsize i = 0; i < len; i++)
		std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	while (len % 4 != 0)
		std[len++] = '=';
	std[len] = '\0';
	out = g_base64_decode(std, out_len);
	/* the text may encode a secret (an EAB MAC key) */
	me_secure_free(std, len);
	return out;
}

/**
 * me_b64u_decode:
 * @text: unpadded base64url
 * @max_len: the most characters accepted
 * @error: (nullable): return location
 *
 * Decodes strictly: padding, the standard alphabet, white space and a length no encoder
 * produces are all errors, as RFC 8555 §6.1 asks of a server and we ask of one.
 *
 * Returns: (transfer full): the bytes, or %NULL with @error set
 */
GBytes *
me_b64u_decode(const gchar *text, gsize max_len, GError **error)
{
	gsize out_len = 0;
	guchar *out;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	out = b64u_decode_raw(text, max_len, &out_len, error);
	if (out == NULL)
		return NULL;
	return g_bytes_new_take(out, out_len);
}

/**
 * me_b64u_decode_secret:
 * @text: unpadded base64url encoding a secret
 * @max_len: the most characters accepted
 * @error: (nullable): return location
 *
 * Like me_b64u_decode(), for secrets: every buffer is wiped.
 *
 * Returns: (transfer full): bytes that are wiped when freed, or %NULL with @error set
 */
GBytes *
me_b64u_decode_secret(const gchar *text, gsize max_len, GError **error)
{
	gsize out_len = 0;
	guchar *out;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	out = b64u_decode_raw(text, max_len, &out_len, error);
	if (out == NULL)
		return NULL;
	return me_secure_bytes_new_take(out, out_len);
}
