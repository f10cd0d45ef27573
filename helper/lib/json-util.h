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

JsonNode *
me_json_parse_object(GBytes *body, GError **error);
const gchar *
me_json_get_string(JsonObject *obj, const gchar *member, gboolean required, GError **error);
GStrv
me_json_get_strv(JsonObject *obj, const gchar *member, guint max_items, GError **error);
gboolean
me_json_get_time(JsonObject *obj, const gchar *member, gint64 *out_unix, GError **error);

G_END_DECLS
