/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <stdint.h>

/* the fuzz input as a mail with CR LF line ends (each bare LF gains its CR), the way the
 * engine hands a mail to the DKIM and S/MIME checks; the seed corpora are plain text files */
static inline GBytes *
fuzz_mail_crlf(const uint8_t *data, size_t size)
{
	GByteArray *out = g_byte_array_sized_new((guint)size + 64);

	for (gsize i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			g_byte_array_append(out, (const guint8 *)"\r", 1);
		g_byte_array_append(out, data + i, 1);
	}
	return g_byte_array_free_to_bytes(out);
}
