/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFrame"

#include "config.h"

#include "frame.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "me-error.h"

G_STATIC_ASSERT(ME_FRAME_HEADER_SIZE == sizeof(guint32));

/* ---- encoding */

static gboolean
node_can_carry(JsonNode *node, guint depth)
{
	if (node == NULL || depth > ME_FRAME_MAX_DEPTH)
		return node == NULL;
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT: {
		JsonObjectIter iter;
		const gchar *name;
		JsonNode *member;
		json_object_iter_init(&iter, json_node_get_object(node));
		while (json_object_iter_next(&iter, &name, &member)) {
			if (!g_utf8_validate(name, -1, NULL) || !node_can_carry(member, depth + 1))
				return FALSE;
		}
		return TRUE;
	}
	case JSON_NODE_ARRAY: {
		JsonArray *array = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(array); i++) {
			if (!node_can_carry(json_array_get_element(array, i), depth + 1))
				return FALSE;
		}
		return TRUE;
	}
	case JSON_NODE_VALUE:
		if (json_node_get_value_type(node) == G_TYPE_STRING)
			return g_utf8_validate(json_node_get_string(node), -1, NULL);
		if (json_node_get_value_type(node) == G_TYPE_DOUBLE)
			return isfinite(json_node_get_double(node));
		return TRUE;
	case JSON_NODE_NULL:
	default:
		return TRUE;
	}
}

/**
 * me_frame_can_carry:
 * @node: (nullable): a JSON value
 *
 * Whether @node can be written as valid JSON: json-glib would write invalid UTF-8 as is
 * and NaN or infinity as bare words, either of which makes Thunderbird drop the port.
 * Nesting deeper than %ME_FRAME_MAX_DEPTH is refused too, which keeps the check finite.
 *
 * Returns: %TRUE if @node is %NULL or can be sent
 */
gboolean
me_frame_can_carry(JsonNode *node)
{
	return node_can_carry(node, 0);
}

/**
 * me_frame_encode_data:
 * @data: (array length=len): the message
 * @len: its length, at most %G_MAXUINT32
 *
 * Puts the length before @data, in native byte order as Thunderbird reads it with a
 * Uint32Array.  Nothing is checked: use me_frame_encode() for a message not yet known
 * to be valid JSON within the limit.
 *
 * Returns: (transfer full): the frame
 */
GBytes *
me_frame_encode_data(gconstpointer data, gsize len)
{
	guint32 len32 = (guint32)len;
	guint8 *buf;

	g_return_val_if_fail(data != NULL || len == 0, NULL);
	g_return_val_if_fail(len <= G_MAXUINT32, NULL);

	buf = g_malloc(len + ME_FRAME_HEADER_SIZE);
	memcpy(buf, &len32, ME_FRAME_HEADER_SIZE);
	if (len > 0)
		memcpy(buf + ME_FRAME_HEADER_SIZE, data, len);
	return g_bytes_new_take(buf, len + ME_FRAME_HEADER_SIZE);
}

static void
set_too_large_error(GError **error, gsize size, gsize limit)
{
	g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
		    /* TRANSLATORS: a message for the mail client is too large; the first %lu is its size, the second the limit, both in bytes */
		    _("The message for the mail client is %lu bytes, more than its limit of %lu bytes; send less data at a time."),
		    (gulong)size, (gulong)limit);
}

/**
 * me_frame_encode:
 * @message: the message, an object or an array
 * @max_bytes: the largest JSON text allowed, usually %ME_FRAME_MAX_OUTBOUND
 * @error: (nullable): return location
 *
 * Writes @message as one native-messaging frame: a 4-byte length in native byte order and
 * the compact UTF-8 JSON text.
 *
 * Returns: (transfer full): the frame, or %NULL with @error set to %ME_ERROR_TOO_LARGE
 *   (the text exceeds @max_bytes) or %ME_ERROR_INVALID_DATA (@message holds a string
 *   that is not UTF-8 or a number that is not finite)
 */
GBytes *
me_frame_encode(JsonNode *message, gsize max_bytes, GError **error)
{
	g_autoptr(JsonGenerator) gen = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;

	g_return_val_if_fail(message != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!JSON_NODE_HOLDS_OBJECT(message) && !JSON_NODE_HOLDS_ARRAY(message)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a programming error: only JSON objects and arrays may be sent */
				    _("The message for the mail client is not a JSON object or array; report this as a bug."));
		return NULL;
	}
	if (!me_frame_can_carry(message)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a programming error: the message holds text that is not UTF-8 or a number that is not finite */
				    _("The message for the mail client holds data that JSON cannot carry; report this as a bug."));
		return NULL;
	}
	gen = json_generator_new();
	json_generator_set_root(gen, message);
	text = json_generator_to_data(gen, &len);
	if (len > max_bytes || len > G_MAXUINT32) {
		set_too_large_error(error, len, MIN(max_bytes, G_MAXUINT32));
		return NULL;
	}
	/* success */
	return me_frame_encode_data(text, len);
}
