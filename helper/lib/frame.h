/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* WebExtension native-messaging frames (messaging/PROTOCOL.md §1): a 4-byte length in
 * native byte order, then that many bytes of UTF-8 JSON */

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

G_END_DECLS
