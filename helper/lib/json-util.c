/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeJson"

#include "config.h"

#include "json-util.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "me-error.h"

static void
set_malformed(GError **error, const gchar *member)
{
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: %s is a field name of the CA's answer, e.g. "status" */
		    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
		    member);
}

/**
 * me_json_scan_structure:
 * @text: untrusted JSON text
 * @len: its length
 * @max_depth: the deepest nesting of arrays and objects accepted
 * @max_values: the most values accepted (0: no limit)
 * @too_deep: (out): whether the nesting was what went past a limit
 *
 * Counts the nesting and the values of @text without parsing it, stopping at the first
 * limit passed.  json-glib's parser recurses once per level with no limit of its own, so
 * every parse of untrusted text runs this first.
 *
 * Returns: %TRUE when @text stays within both limits
 */
gboolean
me_json_scan_structure(const gchar *text, gsize len, guint max_depth, guint max_values, gboolean *too_deep)
{
	guint depth = 0;
	guint values = 0;
	gboolean in_string = FALSE;

	*too_deep = FALSE;
	for (gsize i = 0; i < len; i++) {
		gchar c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				*too_deep = TRUE;
				return FALSE;
			}
			values++;
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (c == ',') {
			values++;
		}
		if (max_values > 0 && values > max_values)
			return FALSE;
	}
	return TRUE;
}

/**
 * me_json_parse_object:
 * @body: untrusted JSON text (its size was already capped by the transport)
 * @error: (nullable): return location
 *
 * Text nested more than #ME_JSON_MAX_DEPTH levels deep is refused before it is parsed.
 *
 * Returns: (transfer full): the root node, which is an object, or %NULL with @error set
 */
JsonNode *
me_json_parse_object(GBytes *body, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) error_local = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);
	JsonNode *root;
	gboolean too_deep = FALSE;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (len > 0 && !me_json_scan_structure(data, len, ME_JSON_MAX_DEPTH, 0, &too_deep)) {
		g_debug("JSON nested more than %d levels deep", ME_JSON_MAX_DEPTH);
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    _("The certificate authority sent an answer that is not valid JSON; try again later or ask its operator."));
		return NULL;
	}
	if (len == 0 || len > G_MAXSSIZE || !json_parser_load_from_data(parser, data, (gssize)len, &error_local)) {
		if (error_local != NULL)
			g_debug("invalid JSON: %s", error_local->message);
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the server's answer is not JSON */
				    _("The certificate authority sent an answer that is not valid JSON; try again later or ask its operator."));
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    _("The certificate authority sent an answer that is not valid JSON; try again later or ask its operator."));
		return NULL;
	}
	return json_node_ref(root);
}

/**
 * me_json_get_string:
 * @obj: an object
 * @member: the member name
 * @required: whether a missing member is an error
 * @error: (nullable): return location
 *
 * Returns: (transfer none) (nullable): the string, which is bounded by #ME_JSON_STRING_MAX;
 * %NULL if absent and not required, or on error (with @error set)
 */
const gchar *
me_json_get_string(JsonObject *obj, const gchar *member, gboolean required, GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);
	const gchar *value;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		if (required)
			set_malformed(error, member);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		set_malformed(error, member);
		return NULL;
	}
	value = json_node_get_string(node);
	if (strnlen(value, ME_JSON_STRING_MAX + 1) > ME_JSON_STRING_MAX) {
		set_malformed(error, member);
		return NULL;
	}
	return value;
}

/**
 * me_json_get_strv:
 * @obj: an object
 * @member: the member name of an array of strings
 * @max_items: the most elements accepted
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the strings (empty if the member is absent), or %NULL on error
 */
GStrv
me_json_get_strv(JsonObject *obj, const gchar *member, guint max_items, GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	JsonArray *array;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return g_strv_builder_end(builder);
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		set_malformed(error, member);
		return NULL;
	}
	array = json_node_get_array(node);
	if (json_array_get_length(array) > max_items) {
		set_malformed(error, member);
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *item = json_array_get_element(array, i);
		if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING ||
		    strnlen(json_node_get_string(item), ME_JSON_STRING_MAX + 1) > ME_JSON_STRING_MAX) {
			set_malformed(error, member);
			return NULL;
		}
		g_strv_builder_add(builder, json_node_get_string(item));
	}
	return g_strv_builder_end(builder);
}

/**
 * me_json_get_time:
 * @obj: an object
 * @member: the member name of an RFC 3339 timestamp
 * @out_unix: (out): seconds since the epoch, or 0 when the member is absent
 * @error: (nullable): return location
 *
 * Returns: %TRUE if the member is absent or a valid timestamp
 */
gboolean
me_json_get_time(JsonObject *obj, const gchar *member, gint64 *out_unix, GError **error)
{
	g_autoptr(GDateTime) dt = NULL;
	g_autoptr(GError) error_local = NULL;
	const gchar *text = me_json_get_string(obj, member, FALSE, &error_local);

	*out_unix = 0;
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (text == NULL)
		return TRUE;
	dt = g_date_time_new_from_iso8601(text, NULL);
	if (dt == NULL) {
		set_malformed(error, member);
		return FALSE;
	}
	*out_unix = g_date_time_to_unix(dt);
	return TRUE;
}
