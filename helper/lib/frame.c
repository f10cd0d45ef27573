/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFrame"

#include "config.h"

#include "frame.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "me-error.h"

/* a frame at least this large that is all the buffer holds is handed over without a copy,
 * and a buffer this large is given back once it is read */
#define FRAME_DECODER_KEEP (64 * 1024)
/* bytes asked of a descriptor per read in me_frame_decoder_read_fd() */
#define FRAME_READ_CHUNK (16 * 1024)

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

/* ---- decoding */

struct _MeFrameDecoder {
	GByteArray *buf;
	gsize pos; /* the bytes of buf already taken */
	gsize max_bytes;
	gboolean refused; /* a length above max_bytes came: nothing after it is kept */
};

/**
 * me_frame_decoder_new:
 * @max_bytes: the largest frame taken (its JSON text, without the length)
 *
 * A decoder for one stream.
 *
 * Returns: (transfer full): the decoder; free it with me_frame_decoder_free()
 */
MeFrameDecoder *
me_frame_decoder_new(gsize max_bytes)
{
	MeFrameDecoder *self;

	g_return_val_if_fail(max_bytes <= G_MAXUINT32 - ME_FRAME_HEADER_SIZE, NULL);

	self = g_new0(MeFrameDecoder, 1);
	self->buf = g_byte_array_new();
	self->max_bytes = max_bytes;
	return self;
}

/**
 * me_frame_decoder_free:
 * @decoder: (nullable): a decoder
 *
 * Frees @decoder and whatever it still holds.
 */
void
me_frame_decoder_free(MeFrameDecoder *decoder)
{
	if (decoder == NULL)
		return;
	g_byte_array_unref(decoder->buf);
	g_free(decoder);
}

/**
 * me_frame_decoder_get_buffered:
 * @decoder: a decoder
 *
 * Returns: the bytes fed and not yet taken as a frame
 */
gsize
me_frame_decoder_get_buffered(MeFrameDecoder *decoder)
{
	g_return_val_if_fail(decoder != NULL, 0);
	return decoder->buf->len - decoder->pos;
}

/**
 * me_frame_decoder_peek_length:
 * @decoder: a decoder
 * @length: (out): the length the next frame announces
 *
 * Returns: %TRUE once the four bytes of the next frame's length are in
 */
gboolean
me_frame_decoder_peek_length(MeFrameDecoder *decoder, guint32 *length)
{
	g_return_val_if_fail(decoder != NULL, FALSE);
	g_return_val_if_fail(length != NULL, FALSE);

	if (me_frame_decoder_get_buffered(decoder) < ME_FRAME_HEADER_SIZE)
		return FALSE;
	/* native byte order, as Thunderbird writes it */
	memcpy(length, decoder->buf->data + decoder->pos, ME_FRAME_HEADER_SIZE);
	return TRUE;
}

/* drops the frames already taken, so the buffer holds only what is still to be read */
static void
decoder_compact(MeFrameDecoder *self)
{
	if (self->pos == 0)
		return;
	if (self->pos == self->buf->len && self->buf->len > FRAME_DECODER_KEEP) {
		/* give back the room a large frame took */
		g_byte_array_unref(self->buf);
		self->buf = g_byte_array_new();
	} else {
		g_byte_array_remove_range(self->buf, 0, (guint)self->pos);
	}
	self->pos = 0;
}

/**
 * me_frame_decoder_feed:
 * @decoder: a decoder
 * @data: (array length=len): bytes read from the stream
 * @len: how many
 *
 * Adds @data to what the decoder holds; me_frame_decoder_next() takes the frames out.
 * After a refused length the input is dropped: the stream cannot be read past it.
 */
void
me_frame_decoder_feed(MeFrameDecoder *decoder, gconstpointer data, gsize len)
{
	g_return_if_fail(decoder != NULL);
	g_return_if_fail(data != NULL || len == 0);

	if (decoder->refused || len == 0)
		return;
	decoder_compact(decoder);
	g_return_if_fail(len <= G_MAXUINT - decoder->buf->len);
	g_byte_array_append(decoder->buf, data, (guint)len);
}

static void
set_refused_error(MeFrameDecoder *self, guint32 length, GError **error)
{
	g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
		    /* TRANSLATORS: a native-messaging message announces more bytes than accepted; %u is its size, %lu the limit, both in bytes */
		    _("A message of %u bytes arrived, more than the limit of %lu bytes; the program at the other end must send smaller messages."),
		    length, (gulong)self->max_bytes);
}

/* the frame of @len bytes after the length at pos */
static GBytes *
decoder_take(MeFrameDecoder *self, gsize len)
{
	gsize start = self->pos + ME_FRAME_HEADER_SIZE;
	g_autoptr(GBytes) all = NULL;

	if (len < FRAME_DECODER_KEEP || self->pos != 0 || self->buf->len != start + len) {
		self->pos = start + len;
		return g_bytes_new(self->buf->data + start, len);
	}
	/* a large frame is often all there is: it keeps the buffer, and a fresh one takes over */
	all = g_byte_array_free_to_bytes(g_steal_pointer(&self->buf));
	self->buf = g_byte_array_new();
	self->pos = 0;
	return g_bytes_new_from_bytes(all, start, len);
}

/**
 * me_frame_decoder_next:
 * @decoder: a decoder
 * @frame: (out) (transfer full) (nullable): the next whole frame (its JSON text, without
 *   the length; empty for a frame of length 0), or %NULL when more input is needed
 * @error: (nullable): return location
 *
 * Takes the next frame out of what was fed.
 *
 * Returns: %TRUE with @frame set, or set to %NULL when no whole frame is buffered yet;
 *   %FALSE with @error set to %ME_ERROR_TOO_LARGE when the next length is above the
 *   decoder's limit (me_frame_decoder_peek_length() tells it), and on every call after
 */
gboolean
me_frame_decoder_next(MeFrameDecoder *decoder, GBytes **frame, GError **error)
{
	guint32 len = 0;

	g_return_val_if_fail(decoder != NULL, FALSE);
	g_return_val_if_fail(frame != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	*frame = NULL;
	if (!me_frame_decoder_peek_length(decoder, &len))
		return TRUE;
	if (len > decoder->max_bytes) {
		decoder->refused = TRUE;
		set_refused_error(decoder, len, error);
		return FALSE;
	}
	if (me_frame_decoder_get_buffered(decoder) - ME_FRAME_HEADER_SIZE < len)
		return TRUE;
	*frame = decoder_take(decoder, len);
	return TRUE;
}

/**
 * me_frame_decoder_is_ready:
 * @decoder: a decoder
 *
 * Returns: %TRUE if me_frame_decoder_next() would not wait for more input: a whole frame
 *   or a refused length is buffered
 */
gboolean
me_frame_decoder_is_ready(MeFrameDecoder *decoder)
{
	guint32 len = 0;

	g_return_val_if_fail(decoder != NULL, FALSE);
	if (!me_frame_decoder_peek_length(decoder, &len))
		return FALSE;
	return len > decoder->max_bytes || me_frame_decoder_get_buffered(decoder) - ME_FRAME_HEADER_SIZE >= len;
}

/**
 * me_frame_decoder_end:
 * @decoder: a decoder
 * @error: (nullable): return location
 *
 * Tells the decoder that the stream ended, after me_frame_decoder_next() took every whole
 * frame.
 *
 * Returns: %TRUE if it ended between two frames; %FALSE with @error set to
 *   %ME_ERROR_INVALID_DATA if part of a frame is left (me_frame_decoder_get_buffered()
 *   and me_frame_decoder_peek_length() tell how much)
 */
gboolean
me_frame_decoder_end(MeFrameDecoder *decoder, GError **error)
{
	g_return_val_if_fail(decoder != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (me_frame_decoder_get_buffered(decoder) == 0)
		return TRUE;
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a native-messaging connection closed in the middle of a message */
			    _("The connection ended in the middle of a message; restart the program at the other end."));
	return FALSE;
}

/* waits until @fd is readable or @deadline (monotonic microseconds) passed, then reads;
 * returns what read() returned, or -1 with @error set */
static gssize
read_before(gint fd, guint8 *buf, gsize size, gint64 deadline, GError **error)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left_us = deadline - g_get_monotonic_time();
		/* rounded up, so the last part of a millisecond does not spin */
		gint rc = poll(&pfd, 1, left_us > 0 ? (gint)MIN(left_us / 1000 + 1, G_MAXINT) : 0);
		gssize n;

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_TIMED_OUT,
					    /* TRANSLATORS: no whole native-messaging message arrived before a deadline */
					    _("No complete message arrived in time; check that the program at the other end is running."));
			return -1;
		}
		n = rc > 0 ? read(fd, buf, size) : -1;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
				    /* TRANSLATORS: reading a native-messaging message failed; %s is the system's reason */
				    _("The connection broke while reading a message (%s); restart the program at the other end."),
				    g_strerror(errno));
			return -1;
		}
		return n;
	}
}

/**
 * me_frame_decoder_read_fd:
 * @decoder: the decoder of the stream on @fd
 * @fd: a descriptor open for reading, blocking or not; it stays open
 * @deadline: when to give up, in g_get_monotonic_time() microseconds
 * @frame: (out) (transfer full) (nullable): the next frame, or %NULL at a clean end
 * @error: (nullable): return location
 *
 * Reads from @fd until a whole frame is in, and takes it.  Bytes read past it stay in
 * @decoder for the next call.
 *
 * Returns: %TRUE with @frame set, or set to %NULL when @fd ended between two frames;
 *   %FALSE with @error set: %ME_ERROR_TIMED_OUT, %ME_ERROR_TOO_LARGE (the length is above
 *   the decoder's limit), %ME_ERROR_INVALID_DATA (@fd ended inside a frame) or
 *   %ME_ERROR_FAILED (read() failed)
 */
gboolean
me_frame_decoder_read_fd(MeFrameDecoder *decoder, gint fd, gint64 deadline, GBytes **frame, GError **error)
{
	guint8 buf[FRAME_READ_CHUNK];

	g_return_val_if_fail(decoder != NULL, FALSE);
	g_return_val_if_fail(fd >= 0, FALSE);
	g_return_val_if_fail(frame != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	for (;;) {
		gssize n;
		if (!me_frame_decoder_next(decoder, frame, error))
			return FALSE;
		if (*frame != NULL)
			return TRUE;
		n = read_before(fd, buf, sizeof(buf), deadline, error);
		if (n < 0)
			return FALSE;
		if (n == 0)
			return me_frame_decoder_end(decoder, error);
		me_frame_decoder_feed(decoder, buf, (gsize)n);
	}
}
