/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* WebExtension native-messaging frames (messaging/PROTOCOL.md §1): a 4-byte length in
 * native byte order, then that many bytes of UTF-8 JSON.  The encoder, and the one decoder
 * every reader of frames uses: the helper's JSON-RPC server, doctor and the tests */

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* the length before every frame */
#define ME_FRAME_HEADER_SIZE 4
/* the largest message a host may send: Thunderbird disconnects at 1 MiB + 1 */
#define ME_FRAME_MAX_OUTBOUND (1024 * 1024)
/* the deepest nesting of JSON arrays and objects a frame is encoded with */
#define ME_FRAME_MAX_DEPTH 128

gboolean
me_frame_can_carry(JsonNode *node);
GBytes *
me_frame_encode(JsonNode *message, gsize max_bytes, GError **error);
GBytes *
me_frame_encode_data(gconstpointer data, gsize len);

/**
 * MeFrameDecoder:
 *
 * Turns a byte stream into frames, whatever pieces it arrives in: feed it what was read,
 * take the whole frames out.  A length above the decoder's limit is refused as soon as its
 * four bytes are in, before anything is allocated for the frame; the stream cannot be read
 * past it.
 */
typedef struct _MeFrameDecoder MeFrameDecoder;

MeFrameDecoder *
me_frame_decoder_new(gsize max_bytes);
void
me_frame_decoder_free(MeFrameDecoder *decoder);
void
me_frame_decoder_feed(MeFrameDecoder *decoder, gconstpointer data, gsize len);
gboolean
me_frame_decoder_next(MeFrameDecoder *decoder, GBytes **frame, GError **error);
gboolean
me_frame_decoder_end(MeFrameDecoder *decoder, GError **error);
gboolean
me_frame_decoder_is_ready(MeFrameDecoder *decoder);
gsize
me_frame_decoder_get_buffered(MeFrameDecoder *decoder);
gboolean
me_frame_decoder_peek_length(MeFrameDecoder *decoder, guint32 *length);
gboolean
me_frame_decoder_read_fd(MeFrameDecoder *decoder, gint fd, gint64 deadline, GBytes **frame, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeFrameDecoder, me_frame_decoder_free)

G_END_DECLS
