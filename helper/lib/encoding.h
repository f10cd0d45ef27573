/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *
me_b64u_encode(gconstpointer data, gsize len);
gchar *
me_b64u_encode_bytes(GBytes *bytes);
GBytes *
me_b64u_decode(const gchar *text, gsize max_len, GError **error);
GBytes *
me_b64u_decode_secret(const gchar *text, gsize max_len, GError **error);
gboolean
me_b64u_is_valid(const gchar *text, gsize max_len);

G_END_DECLS
