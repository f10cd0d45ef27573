/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzFrame"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "me-error.h"

/* the input is a native-messaging byte stream (lengths in native byte order, then JSON),
 * fed to one MeFrameDecoder in pieces whose sizes the first byte chooses; every frame taken
 * out, encoded again, must give back the bytes it came from */

/* small, so that the refusal of a length above the limit is reached too */
#define FUZZ_FRAME_MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* takes out every whole frame; FALSE once the decoder refused a length */
static gboolean
drain(MeFrameDecoder *decoder, GByteArray *again)
{
	for (;;) {
		g_autoptr(GBytes) frame = NULL;
		g_autoptr(GBytes) encoded = NULL;
		g_autoptr(GError) error = NULL;
		gsize len = 0;
		const guint8 *bytes;

		if (!me_frame_decoder_next(decoder, &frame, &error)) {
			g_assert_true(g_error_matches(error, ME_ERROR, ME_ERROR_TOO_LARGE));
			return FALSE;
		}
		if (frame == NULL)
			return TRUE;
		g_assert_cmpuint(g_bytes_get_size(frame), <=, FUZZ_FRAME_MAX);
		bytes = g_bytes_get_data(frame, &len);
		encoded = me_frame_encode_data(bytes, len);
		bytes = g_bytes_get_data(encoded, &len);
		g_byte_array_append(again, bytes, (guint)len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(FUZZ_FRAME_MAX);
	g_autoptr(GByteArray) again = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	gsize piece;
	gsize off = 1;
	gboolean refused = FALSE;
	gboolean ended;

	if (size == 0)
		return 0;
	/* 1 to 64 bytes a read, or everything at once */
	piece = data[0] == 0 ? size : (gsize)(data[0] % 64) + 1;
	while (off < size && !refused) {
		gsize n = MIN(piece, size - off);
		me_frame_decoder_feed(decoder, data + off, n);
		off += n;
		refused = !drain(decoder, again);
	}
	ended = me_frame_decoder_end(decoder, &error);
	g_assert_true(ended == (error == NULL));
	if (!refused && ended) {
		/* the whole stream was frames: they encode to exactly the input */
		g_assert_cmpuint(again->len, ==, size - 1);
		g_assert_true(again->len == 0 || memcmp(again->data, data + 1, again->len) == 0);
	} else {
		/* what was taken is a prefix of the input */
		g_assert_cmpuint(again->len, <=, size - 1);
		g_assert_true(again->len == 0 || memcmp(again->data, data + 1, again->len) == 0);
	}
	return 0;
}
