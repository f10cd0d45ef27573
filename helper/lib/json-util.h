/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* the longest string member we take from a server's JSON (URLs, tokens, details) */
#define ME_JSON_STRING_MAX 8192
/* the deepest nesting of arrays and objects taken from a server: its answers are a few
 * levels deep, and json-glib's parser recurses once per level */
#define ME_JSON_MAX_DEPTH 64

gboolean
me_json_scan_structure(const gchar *text, gsize len, guint max_depth, guint max_values, gboolean *too_deep);

JsonNode *
me_json_parse_object(GBytes *body, GError **error);
const gchar *
me_json_get_string(JsonObject *obj, const gchar *member, gboolean required, GError **error);
GStrv
me_json_get_strv(JsonObject *obj, const gchar *member, guint max_items, GError **error);
gboolean
me_json_get_time(JsonObject *obj, const gchar *member, gint64 *out_unix, GError **error);

G_END_DECLS
