/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzRpc"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "rpc-server.h"

/* the input is one message from the mail client, the text of one native-messaging frame:
 * a request, a notification, a response or a batch.  The server reads it over memory
 * streams after a valid hello, with two methods of its own (echo answers at once, later
 * from the main loop); everything it writes back must be frames of JSON-RPC 2.0 */

/* as small as the server takes, so the too-large answer is reached too */
#define FUZZ_RPC_MAX_INBOUND 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const gchar fuzz_hello[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"fuzz\"}}";

static void
echo_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	me_rpc_call_return(call, params != NULL ? json_node_copy(params) : json_node_new(JSON_NODE_NULL));
}

static gboolean
later_idle_cb(gpointer user_data)
{
	me_rpc_call_return_error_literal(user_data, -32000, "Answered later.");
	return G_SOURCE_REMOVE;
}

static void
later_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	g_idle_add(later_idle_cb, call);
}

static void
closed_cb(MeRpcServer *server, const GError *error, gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
}

static void
flushed_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	(void)me_rpc_server_flush_finish(ME_RPC_SERVER(source), res, NULL);
	*(gboolean *)user_data = TRUE;
}

static void
append_frame(GByteArray *stream, const void *text, gsize len)
{
	g_autoptr(GBytes) frame = me_frame_encode_data(text, len);
	g_byte_array_append(stream, g_bytes_get_data(frame, NULL), (guint)g_bytes_get_size(frame));
}

/* every frame the server wrote is a JSON-RPC 2.0 object, or a batch of them */
static void
check_output(GMemoryOutputStream *out)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(ME_RPC_MAX_OUTBOUND);
	g_autoptr(GBytes) frame = NULL;
	guint frames = 0;

	me_frame_decoder_feed(decoder, g_memory_output_stream_get_data(out),
			      g_memory_output_stream_get_data_size(out));
	while (me_frame_decoder_next(decoder, &frame, NULL) && frame != NULL) {
		g_autoptr(JsonParser) parser = json_parser_new();
		gsize len = 0;
		const gchar *text = g_bytes_get_data(frame, &len);
		JsonNode *root;

		g_assert_true(json_parser_load_from_data(parser, text, (gssize)len, NULL));
		root = json_parser_get_root(parser);
		g_assert_true(JSON_NODE_HOLDS_OBJECT(root) || JSON_NODE_HOLDS_ARRAY(root));
		if (JSON_NODE_HOLDS_OBJECT(root))
			g_assert_cmpstr(json_object_get_string_member_with_default(json_node_get_object(root), "jsonrpc", ""), ==, "2.0");
		g_clear_pointer(&frame, g_bytes_unref);
		frames++;
	}
	g_assert_true(me_frame_decoder_end(decoder, NULL));
	/* at least the answer to hello */
	g_assert_cmpuint(frames, >=, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GByteArray) stream = g_byte_array_new();
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(MeRpcServer) server = NULL;
	gboolean closed = FALSE;
	gboolean flushed = FALSE;

	append_frame(stream, fuzz_hello, strlen(fuzz_hello));
	append_frame(stream, data, size);
	in = g_memory_input_stream_new_from_data(stream->data, stream->len, NULL);
	server = me_rpc_server_new(in, out, FUZZ_RPC_MAX_INBOUND);
	me_rpc_server_add_method(server, "echo", echo_cb, NULL, NULL);
	me_rpc_server_add_method(server, "later", later_cb, NULL, NULL);
	me_rpc_server_add_event(server, "progress");
	g_signal_connect(server, "closed", G_CALLBACK(closed_cb), &closed);
	me_rpc_server_start(server);
	while (!closed)
		g_main_context_iteration(NULL, TRUE);
	/* calls answered later still write after the input ended */
	while (g_main_context_iteration(NULL, FALSE))
		;
	me_rpc_server_flush(server, flushed_cb, &flushed);
	while (!flushed)
		g_main_context_iteration(NULL, TRUE);
	check_output(G_MEMORY_OUTPUT_STREAM(out));
	me_rpc_server_close(server);
	g_signal_handlers_disconnect_by_data(server, &closed);
	g_clear_object(&server);
	while (g_main_context_iteration(NULL, FALSE))
		;
	return 0;
}
