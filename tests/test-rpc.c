/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestRpc"

#include "config.h"

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "me-error.h"
#include "rpc-server.h"
#include "test-util.h"

/* how long a test waits for an answer before it fails */
#define WAIT_MS 20000
/* the inbound cap of the fixture: small, so the oversized path is cheap to reach */
#define TEST_MAX_INBOUND (64 * 1024)

/* ---- the fixture: a server on one end of a socket pair, the test as the extension on the other */

typedef struct {
	gint fds[2];
	MeRpcServer *server;
	MeFrameDecoder *rx; /* what the server wrote */
	guint rx_source;
	gboolean rx_eof;
	guint closed_count;
	GError *closed_error;
	GPtrArray *held; /* MeRpcCall, for the "hold" method */
	guint sentinel;
} Fixture;

static gboolean
rx_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	Fixture *fx = user_data;
	guint8 buf[65536];

	for (;;) {
		gssize n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			me_frame_decoder_feed(fx->rx, buf, (gsize)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		fx->rx_eof = TRUE;
		fx->rx_source = 0;
		return G_SOURCE_REMOVE;
	}
}

static void
closed_cb(MeRpcServer *server, const GError *error, gpointer user_data)
{
	Fixture *fx = user_data;
	fx->closed_count++;
	g_clear_error(&fx->closed_error);
	if (error != NULL)
		fx->closed_error = g_error_copy(error);
}

static gboolean
timeout_cb(gpointer user_data)
{
	gboolean *expired = user_data;
	*expired = TRUE;
	return G_SOURCE_REMOVE;
}

/* runs the main loop until @done(@fx) or WAIT_MS passed */
static gboolean
wait_for(Fixture *fx, gboolean (*done)(Fixture *fx), guint ms)
{
	gboolean expired = FALSE;
	guint id = g_timeout_add(ms, timeout_cb, &expired);

	while (!done(fx) && !expired)
		g_main_context_iteration(NULL, TRUE);
	if (!expired)
		g_source_remove(id);
	return done(fx);
}

static gboolean
have_frame(Fixture *fx)
{
	return me_frame_decoder_is_ready(fx->rx) || fx->rx_eof;
}

static gboolean
is_closed(Fixture *fx)
{
	return fx->closed_count > 0;
}

static void
fixture_setup_with_cap(Fixture *fx, gsize cap)
{
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(GOutputStream) out = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->fds), ==, 0);
	g_assert_true(g_unix_set_fd_nonblocking(fx->fds[0], TRUE, NULL));
	g_assert_true(g_unix_set_fd_nonblocking(fx->fds[1], TRUE, NULL));
	in = g_unix_input_stream_new(fx->fds[0], FALSE);
	out = g_unix_output_stream_new(fx->fds[0], FALSE);
	fx->server = me_rpc_server_new(in, out, cap);
	fx->rx = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	fx->rx_source = g_unix_fd_add(fx->fds[1], G_IO_IN | G_IO_HUP | G_IO_ERR, rx_cb, fx);
	fx->held = g_ptr_array_new();
	g_signal_connect(fx->server, "closed", G_CALLBACK(closed_cb), fx);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fixture_setup_with_cap(fx, TEST_MAX_INBOUND);
}

/* the product's default cap */
static void
fixture_setup_default_cap(Fixture *fx, gconstpointer data)
{
	fixture_setup_with_cap(fx, ME_RPC_DEFAULT_MAX_INBOUND);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_assert_cmpuint(fx->held->len, ==, 0);
	g_ptr_array_unref(fx->held);
	me_rpc_server_close(fx->server);
	g_signal_handlers_disconnect_by_data(fx->server, fx);
	g_object_unref(fx->server);
	/* let the cancelled read and any write finish, so the server is gone before the fds */
	while (g_main_context_iteration(NULL, FALSE))
		;
	if (fx->rx_source != 0)
		g_source_remove(fx->rx_source);
	close(fx->fds[0]);
	close(fx->fds[1]);
	me_frame_decoder_free(fx->rx);
	g_clear_error(&fx->closed_error);
}

/* ---- the test's side of the wire */

static void
send_raw(Fixture *fx, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len > 0) {
		gssize n = write(fx->fds[1], p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* the server reads, and the answers are taken in, while the pipe is full */
			g_main_context_iteration(NULL, TRUE);
			continue;
		}
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= (gsize)n;
	}
}

static void
send_frame_len(Fixture *fx, const gchar *body, gsize len)
{
	g_autoptr(GBytes) frame = me_frame_encode_data(body, len);
	send_raw(fx, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

static void
send_frame(Fixture *fx, const gchar *json)
{
	send_frame_len(fx, json, strlen(json));
}

/* appends @json to @wire as one frame */
static void
append_frame(GString *wire, const gchar *json)
{
	g_autoptr(GBytes) frame = me_frame_encode_data(json, strlen(json));
	g_string_append_len(wire, g_bytes_get_data(frame, NULL), (gssize)g_bytes_get_size(frame));
}

/* the next frame's text, or NULL at the end of the stream (which must not cut a frame) */
static gchar *
recv_text(Fixture *fx, gsize *len_out)
{
	gchar *text;

	g_assert_true(wait_for(fx, have_frame, WAIT_MS));
	text = me_test_frame_take_text(fx->rx, len_out);
	if (text == NULL) {
		g_assert_true(fx->rx_eof);
		g_assert_true(me_frame_decoder_end(fx->rx, NULL));
	}
	return text;
}

static JsonNode *
recv_node(Fixture *fx)
{
	g_autofree gchar *text = recv_text(fx, NULL);
	g_assert_nonnull(text);
	return me_test_json_parse(text);
}

static JsonNode *
call(Fixture *fx, const gchar *json)
{
	send_frame(fx, json);
	return recv_node(fx);
}

/* proves no answer is pending: the next answer is the one to a fresh ping */
static void
assert_no_answer(Fixture *fx)
{
	g_autofree gchar *id = g_strdup_printf("sentinel-%u", ++fx->sentinel);
	g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"ping\"}", id);
	g_autoptr(JsonNode) answer = call(fx, req);
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(answer), "id"), ==, id);
}

/* ---- methods the tests register */

static void
ping_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *c, gpointer user_data)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "pong");
	json_builder_add_boolean_value(b, TRUE);
	if (params != NULL) {
		json_builder_set_member_name(b, "params");
		json_builder_add_value(b, json_node_copy(params));
	}
	json_builder_end_object(b);
	me_rpc_call_return(c, json_builder_get_root(b));
}

/* answers with a string of params[0] bytes (may contain invalid UTF-8 if params[1]) */
static void
blob_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *c, gpointer user_data)
{
	JsonArray *array = json_node_get_array(params);
	gsize n = (gsize)json_array_get_int_element(array, 0);
	g_autofree gchar *s = g_malloc(n + 1);
	JsonNode *node = json_node_new(JSON_NODE_VALUE);

	memset(s, 'b', n);
	s[n] = '\0';
	if (json_array_get_length(array) > 1 && n > 0)
		s[0] = (gchar)0xff;
	json_node_set_string(node, s);
	me_rpc_call_return(c, node);
}

static void
nan_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *c, gpointer user_data)
{
	JsonNode *node = json_node_new(JSON_NODE_VALUE);
	json_node_set_double(node, NAN);
	me_rpc_call_return(c, node);
}

static void
hold_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *c, gpointer user_data)
{
	Fixture *fx = user_data;
	g_ptr_array_add(fx->held, c);
}

/* fails with the MeError code params[0]; with an ACME problem if params[1] */
static void
fail_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *c, gpointer user_data)
{
	JsonArray *array = json_node_get_array(params);
	gint code = (gint)json_array_get_int_element(array, 0);
	g_autoptr(GError) error = NULL;

	if (json_array_get_length(array) > 1) {
		g_autoptr(MeAcmeProblem) problem = me_acme_problem_new();
		MeAcmeSubproblem *sub = g_new0(MeAcmeSubproblem, 1);
		problem->type = g_strdup("urn:ietf:params:acme:error:rateLimited");
		problem->detail = g_strdup("too many new orders");
		problem->status = 429;
		problem->retry_after = 3600;
		sub->type = g_strdup("urn:ietf:params:acme:error:rejectedIdentifier");
		sub->detail = g_strdup("no");
		sub->identifier_type = g_strdup("email");
		sub->identifier_value = g_strdup("alice@example.org");
		g_ptr_array_add(problem->subproblems, sub);
		me_error_set_problem(&error, problem);
	} else if (code == 0) {
		error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "The file is missing; create it.");
	} else {
		error = g_error_new(ME_ERROR, code, "Error number %d happened; do something.", code);
	}
	me_rpc_call_return_error(c, error);
}

static void
register_methods(Fixture *fx)
{
	me_rpc_server_add_method(fx->server, "ping", ping_cb, NULL, NULL);
	me_rpc_server_add_method(fx->server, "blob", blob_cb, NULL, NULL);
	me_rpc_server_add_method(fx->server, "nan", nan_cb, NULL, NULL);
	me_rpc_server_add_method(fx->server, "hold", hold_cb, fx, NULL);
	me_rpc_server_add_method(fx->server, "fail", fail_cb, NULL, NULL);
	me_rpc_server_add_event(fx->server, "progress");
}

static void
start(Fixture *fx)
{
	register_methods(fx);
	me_rpc_server_start(fx->server);
}

static void
hello(Fixture *fx)
{
	g_autoptr(JsonNode) answer =
	    call(fx, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"test/1\"}}");
	g_assert_cmpint(json_object_get_int_member(me_test_rpc_assert_result(answer, 0), "protocol"), ==, 1);
}

static void
start_hello(Fixture *fx)
{
	start(fx);
	hello(fx);
}

static void
release_held(Fixture *fx)
{
	for (guint i = 0; i < fx->held->len; i++)
		me_rpc_call_return(g_ptr_array_index(fx->held, i), json_node_init_int(json_node_alloc(), i));
	g_ptr_array_set_size(fx->held, 0);
}

/* ---- framing and the error table, without a connection */

static void
test_frame_encode(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) msg = me_test_json_parse("{\"a\":\"é\"}");
	g_autoptr(GBytes) frame = me_frame_encode(msg, ME_FRAME_MAX_OUTBOUND, &error);
	g_autoptr(JsonNode) scalar = me_test_json_parse("1");
	g_autoptr(JsonNode) big = NULL;
	g_autoptr(JsonNode) bad = NULL;
	g_autoptr(GBytes) none = NULL;
	gsize len = 0;
	const guint8 *data;
	guint32 n;

	g_assert_no_error(error);
	data = g_bytes_get_data(frame, &len);
	memcpy(&n, data, 4);
	g_assert_cmpuint(n, ==, len - 4);
	/* native byte order: little-endian here, as Thunderbird reads it on x86-64 */
	if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
		g_assert_cmpuint(data[0], ==, len - 4);
	g_assert_cmpmem(data + 4, len - 4, "{\"a\":\"é\"}", strlen("{\"a\":\"é\"}"));

	/* exactly at the limit is fine, one byte more is not */
	none = me_frame_encode(msg, len - 4, &error);
	g_assert_no_error(error);
	g_clear_pointer(&none, g_bytes_unref);
	none = me_frame_encode(msg, len - 5, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	me_test_assert_sentence(error);
	g_assert_null(none);
	g_clear_error(&error);

	none = me_frame_encode(scalar, ME_FRAME_MAX_OUTBOUND, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_clear_error(&error);

	big = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(big, json_array_new());
	json_array_add_double_element(json_node_get_array(big), INFINITY);
	none = me_frame_encode(big, ME_FRAME_MAX_OUTBOUND, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	bad = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(bad, json_array_new());
	json_array_add_string_element(json_node_get_array(bad), "\xc3\x28");
	none = me_frame_encode(bad, ME_FRAME_MAX_OUTBOUND, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
}

/* the frame of @json, as the wire carries it */
static GBytes *
wire_frame(const gchar *json)
{
	return me_frame_encode_data(json, strlen(json));
}

/* the next frame of @decoder as text; NULL when it needs more input */
static gchar *
take_text(MeFrameDecoder *decoder)
{
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(me_frame_decoder_next(decoder, &frame, &error));
	g_assert_no_error(error);
	if (frame == NULL)
		return NULL;
	return g_strndup(g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

static void
test_frame_round_trip(void)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	g_autoptr(JsonNode) msg = me_test_json_parse("{\"jsonrpc\":\"2.0\",\"id\":\"é\",\"result\":[1,2.5,null,{\"a\":true}]}");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) frame = me_frame_encode(msg, ME_FRAME_MAX_OUTBOUND, &error);
	g_autoptr(GBytes) empty = me_frame_encode_data("", 0);
	g_autoptr(GBytes) decoded = NULL;
	g_autoptr(GBytes) decoded_empty = NULL;
	g_autoptr(JsonNode) back = NULL;
	g_autofree gchar *text = NULL;

	g_assert_no_error(error);
	me_frame_decoder_feed(decoder, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
	g_assert_true(me_frame_decoder_is_ready(decoder));
	g_assert_true(me_frame_decoder_next(decoder, &decoded, &error));
	g_assert_no_error(error);
	g_assert_nonnull(decoded);
	g_assert_cmpuint(g_bytes_get_size(decoded), ==, g_bytes_get_size(frame) - ME_FRAME_HEADER_SIZE);
	text = g_strndup(g_bytes_get_data(decoded, NULL), g_bytes_get_size(decoded));
	back = me_test_json_parse(text);
	g_assert_true(json_node_equal(msg, back));
	g_assert_cmpuint(me_frame_decoder_get_buffered(decoder), ==, 0);
	g_assert_false(me_frame_decoder_is_ready(decoder));

	/* a frame of length 0 is a frame: what it means is for the caller to say */
	me_frame_decoder_feed(decoder, g_bytes_get_data(empty, NULL), g_bytes_get_size(empty));
	g_assert_cmpuint(g_bytes_get_size(empty), ==, ME_FRAME_HEADER_SIZE);
	g_assert_true(me_frame_decoder_next(decoder, &decoded_empty, &error));
	g_assert_nonnull(decoded_empty);
	g_assert_cmpuint(g_bytes_get_size(decoded_empty), ==, 0);
	g_assert_true(me_frame_decoder_end(decoder, &error));
	g_assert_no_error(error);
}

/* frames cut into single bytes come out whole, each once its last byte is in */
static void
test_frame_one_byte_feeds(void)
{
	const gchar *texts[] = {"{\"a\":1}", "[]", "{\"b\":\"0123456789\"}"};
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(64);
	g_autoptr(GString) wire = g_string_new(NULL);
	g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
	guint taken = 0;

	for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
		append_frame(wire, texts[i]);
		g_array_append_val(ends, wire->len);
	}
	for (gsize i = 0; i < wire->len; i++) {
		g_autofree gchar *text = NULL;
		me_frame_decoder_feed(decoder, wire->str + i, 1);
		text = take_text(decoder);
		if (i + 1 == g_array_index(ends, gsize, taken)) {
			g_assert_cmpstr(text, ==, texts[taken]);
			taken++;
		} else {
			g_assert_null(text);
		}
	}
	g_assert_cmpuint(taken, ==, G_N_ELEMENTS(texts));
	g_assert_true(me_frame_decoder_end(decoder, NULL));
}

/* one read may bring many frames and the start of the next */
static void
test_frame_several_in_one_feed(void)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	g_autoptr(GString) wire = g_string_new(NULL);
	g_autofree gchar *tail = NULL;
	guint32 len = 0;

	for (guint i = 0; i < 100; i++) {
		g_autofree gchar *req = g_strdup_printf("{\"id\":%u}", i);
		append_frame(wire, req);
	}
	append_frame(wire, "{\"id\":\"last\"}");
	/* all but the last 3 bytes in one go */
	me_frame_decoder_feed(decoder, wire->str, wire->len - 3);
	for (guint i = 0; i < 100; i++) {
		g_autofree gchar *expected = g_strdup_printf("{\"id\":%u}", i);
		g_autofree gchar *text = take_text(decoder);
		g_assert_cmpstr(text, ==, expected);
	}
	g_assert_null(take_text(decoder));
	g_assert_false(me_frame_decoder_is_ready(decoder));
	g_assert_true(me_frame_decoder_peek_length(decoder, &len));
	g_assert_cmpuint(len, ==, strlen("{\"id\":\"last\"}"));
	g_assert_cmpuint(me_frame_decoder_get_buffered(decoder), ==, ME_FRAME_HEADER_SIZE + len - 3);
	me_frame_decoder_feed(decoder, wire->str + wire->len - 3, 3);
	tail = take_text(decoder);
	g_assert_cmpstr(tail, ==, "{\"id\":\"last\"}");
	g_assert_cmpuint(me_frame_decoder_get_buffered(decoder), ==, 0);
}

/* large frames, alone in the buffer or with the next one behind them */
static void
test_frame_large(void)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	g_autofree gchar *big = g_strnfill(300 * 1024, 'x');
	g_autoptr(GBytes) frame = wire_frame(big);
	g_autoptr(GString) wire = g_string_new(NULL);
	const gchar *data = g_bytes_get_data(frame, NULL);
	gsize size = g_bytes_get_size(frame);
	g_autofree gchar *alone = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;

	/* fed in pieces, as reads bring it */
	for (gsize off = 0; off < size; off += 7000)
		me_frame_decoder_feed(decoder, data + off, MIN(7000, size - off));
	alone = take_text(decoder);
	/* compared as bytes: a failure would print 300 KiB */
	g_assert_cmpmem(alone, strlen(alone), big, strlen(big));
	g_assert_null(take_text(decoder));
	g_assert_cmpuint(me_frame_decoder_get_buffered(decoder), ==, 0);

	/* with a small frame right behind it, in the same feed */
	g_string_append_len(wire, data, (gssize)size);
	append_frame(wire, "{}");
	me_frame_decoder_feed(decoder, wire->str, wire->len);
	first = take_text(decoder);
	g_assert_cmpmem(first, strlen(first), big, strlen(big));
	second = take_text(decoder);
	g_assert_cmpstr(second, ==, "{}");
	g_assert_true(me_frame_decoder_end(decoder, NULL));
}

/* a length above the limit is refused from its four bytes alone, and nothing after it is
 * kept: a 4 GiB length allocates nothing, even for the largest limit a decoder takes */
static void
test_frame_refused(void)
{
	const guint8 huge[] = {0xff, 0xff, 0xff, 0xff};
	gsize limits[] = {ME_FRAME_MAX_OUTBOUND, G_MAXUINT32 - ME_FRAME_HEADER_SIZE};

	for (guint i = 0; i < G_N_ELEMENTS(limits); i++) {
		g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(limits[i]);
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) frame = NULL;
		guint32 len = 0;

		me_frame_decoder_feed(decoder, huge, sizeof(huge));
		g_assert_true(me_frame_decoder_is_ready(decoder));
		g_assert_false(me_frame_decoder_next(decoder, &frame, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
		me_test_assert_sentence(error);
		g_assert_null(frame);
		g_assert_true(me_frame_decoder_peek_length(decoder, &len));
		g_assert_cmpuint(len, ==, G_MAXUINT32);
		/* what follows is dropped, and the refusal stays */
		me_frame_decoder_feed(decoder, "{\"jsonrpc\":\"2.0\"}", 17);
		g_assert_cmpuint(me_frame_decoder_get_buffered(decoder), ==, sizeof(huge));
		g_clear_error(&error);
		g_assert_false(me_frame_decoder_next(decoder, &frame, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	}
}

/* the limit is the largest frame taken: exactly at it passes, one byte more does not */
static void
test_frame_limit(void)
{
	g_autoptr(MeFrameDecoder) at = me_frame_decoder_new(10);
	g_autoptr(MeFrameDecoder) over = me_frame_decoder_new(10);
	g_autoptr(GBytes) ten = wire_frame("[1,2,3,45]");
	g_autoptr(GBytes) eleven = wire_frame("[1,2,3,456]");
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	me_frame_decoder_feed(at, g_bytes_get_data(ten, NULL), g_bytes_get_size(ten));
	text = take_text(at);
	g_assert_cmpstr(text, ==, "[1,2,3,45]");
	/* refused before the body is in */
	me_frame_decoder_feed(over, g_bytes_get_data(eleven, NULL), ME_FRAME_HEADER_SIZE);
	g_assert_false(me_frame_decoder_next(over, &frame, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	g_assert_nonnull(strstr(error->message, "11"));
	g_assert_nonnull(strstr(error->message, "10"));
}

/* the end of the stream inside a length or a body is an error; between frames it is not */
static void
test_frame_truncated(void)
{
	g_autoptr(MeFrameDecoder) in_header = me_frame_decoder_new(1024);
	g_autoptr(MeFrameDecoder) in_body = me_frame_decoder_new(1024);
	g_autoptr(MeFrameDecoder) clean = me_frame_decoder_new(1024);
	g_autoptr(GBytes) frame = wire_frame("{\"jsonrpc\":\"2.0\"}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	guint32 len = 0;

	me_frame_decoder_feed(in_header, g_bytes_get_data(frame, NULL), 3);
	g_assert_null(take_text(in_header));
	g_assert_false(me_frame_decoder_peek_length(in_header, &len));
	g_assert_false(me_frame_decoder_end(in_header, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	me_frame_decoder_feed(in_body, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame) - 1);
	g_assert_null(take_text(in_body));
	g_assert_true(me_frame_decoder_peek_length(in_body, &len));
	g_assert_cmpuint(len, ==, 17);
	g_assert_cmpuint(me_frame_decoder_get_buffered(in_body), ==, ME_FRAME_HEADER_SIZE + 16);
	g_assert_false(me_frame_decoder_end(in_body, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_clear_error(&error);

	me_frame_decoder_feed(clean, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
	text = take_text(clean);
	g_assert_cmpstr(text, ==, "{\"jsonrpc\":\"2.0\"}");
	g_assert_true(me_frame_decoder_end(clean, &error));
	g_assert_no_error(error);
}

static void
write_all(gint fd, const void *data, gsize len)
{
	g_assert_cmpint(write(fd, data, len), ==, (gssize)len);
}

/* the blocking reader: frames from a pipe, a deadline, the end of the pipe */
static void
test_frame_read_fd(void)
{
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(1024);
	g_autoptr(GString) wire = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	gint fds[2];

	g_assert_true(g_unix_open_pipe(fds, FD_CLOEXEC, NULL));
	append_frame(wire, "{\"n\":1}");
	append_frame(wire, "{\"n\":2}");
	append_frame(wire, "{\"n\":3}");
	/* two frames and part of the third in one write */
	write_all(fds[1], wire->str, wire->len - 2);
	for (guint i = 1; i <= 2; i++) {
		g_autoptr(GBytes) frame = NULL;
		g_autofree gchar *expected = g_strdup_printf("{\"n\":%u}", i);
		g_assert_true(me_frame_decoder_read_fd(decoder, fds[0], g_get_monotonic_time() + 5 * G_USEC_PER_SEC, &frame,
						       &error));
		g_assert_no_error(error);
		g_assert_cmpmem(g_bytes_get_data(frame, NULL), g_bytes_get_size(frame), expected, strlen(expected));
	}
	/* the rest of the third does not come in time */
	{
		g_autoptr(GBytes) frame = NULL;
		gint64 start = g_get_monotonic_time();
		g_assert_false(me_frame_decoder_read_fd(decoder, fds[0], start + 50 * 1000, &frame, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
		me_test_assert_sentence(error);
		g_assert_cmpint(g_get_monotonic_time() - start, >=, 50 * 1000);
		g_assert_null(frame);
		g_clear_error(&error);
	}
	/* then it does; the end of the pipe after it is a clean end */
	write_all(fds[1], wire->str + wire->len - 2, 2);
	close(fds[1]);
	{
		g_autoptr(GBytes) frame = NULL;
		g_autoptr(GBytes) none = NULL;
		g_assert_true(me_frame_decoder_read_fd(decoder, fds[0], g_get_monotonic_time() + 5 * G_USEC_PER_SEC, &frame,
						       &error));
		g_assert_cmpmem(g_bytes_get_data(frame, NULL), g_bytes_get_size(frame), "{\"n\":3}", 7);
		g_assert_true(me_frame_decoder_read_fd(decoder, fds[0], g_get_monotonic_time() + 5 * G_USEC_PER_SEC, &none,
						       &error));
		g_assert_no_error(error);
		g_assert_null(none);
	}
	close(fds[0]);
}

/* what the blocking reader refuses: an end inside a frame, a length above the limit */
static void
test_frame_read_fd_errors(void)
{
	guint32 huge = 1025;
	gint fds[2];

	for (guint i = 0; i < 2; i++) {
		g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(1024);
		g_autoptr(GBytes) frame = NULL;
		g_autoptr(GError) error = NULL;

		g_assert_true(g_unix_open_pipe(fds, FD_CLOEXEC, NULL));
		if (i == 0) {
			write_all(fds[1], "\x20\x00\x00\x00{\"jsonrpc\"", 14);
			close(fds[1]);
		} else {
			/* one byte above the limit; the pipe stays open */
			write_all(fds[1], &huge, sizeof(huge));
		}
		g_assert_false(me_frame_decoder_read_fd(decoder, fds[0], g_get_monotonic_time() + 5 * G_USEC_PER_SEC,
							&frame, &error));
		g_assert_null(frame);
		if (i == 0) {
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		} else {
			g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
			close(fds[1]);
		}
		me_test_assert_sentence(error);
		close(fds[0]);
	}
}

static void
test_error_table(void)
{
	gsize n = 0;
	const MeRpcErrorInfo *table = me_rpc_error_table(&n);
	g_autoptr(GHashTable) codes = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GError) io = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "gone");
	g_autoptr(GError) odd = g_error_new_literal(ME_ERROR, 999, "odd");
	g_autoptr(JsonNode) dump = me_rpc_error_table_to_json();

	for (gsize i = 0; i < n; i++) {
		g_assert_true(g_hash_table_add(codes, GINT_TO_POINTER(table[i].code)));
		g_assert_true(g_hash_table_add(names, (gpointer)table[i].name));
		g_assert_true(g_regex_match_simple("^[a-z]+(-[a-z]+)*$", table[i].name, 0, 0));
		g_assert_cmpstr(me_rpc_error_name(table[i].code), ==, table[i].name);
		if (table[i].me_error != 0)
			g_assert_true(table[i].code <= -32010 && table[i].code >= -32099);
	}
	/* every MeError value has its own code, in the application range */
	for (gint code = ME_ERROR_FAILED; code <= ME_ERROR_POLICY_LOCKED; code++) {
		g_autoptr(GError) error = g_error_new_literal(ME_ERROR, code, "x");
		gint rpc = me_rpc_error_code_from_gerror(error);
		g_assert_true(rpc <= -32010 && rpc >= -32099);
		g_assert_nonnull(me_rpc_error_name(rpc));
		if (code != ME_ERROR_FAILED)
			g_assert_cmpint(rpc, !=, -32010);
	}
	g_assert_cmpuint(n, ==, 8 + ME_ERROR_POLICY_LOCKED);
	g_assert_cmpstr(me_rpc_error_name(me_rpc_error_code_from_gerror(io)), ==, "not-found");
	g_assert_cmpint(me_rpc_error_code_from_gerror(odd), ==, -32010);
	g_assert_null(me_rpc_error_name(-31999));
	/* and back, for the extension's answers to the helper's requests */
	for (gsize i = 0; i < n; i++) {
		if (table[i].me_error != 0)
			g_assert_cmpint(me_rpc_error_code_to_me_error(table[i].code), ==, table[i].me_error);
	}
	g_assert_cmpint(me_rpc_error_code_to_me_error(ME_RPC_ERROR_METHOD_NOT_FOUND), ==, ME_ERROR_NOT_SUPPORTED);
	g_assert_cmpint(me_rpc_error_code_to_me_error(ME_RPC_ERROR_INVALID_PARAMS), ==, ME_ERROR_INVALID_ARGUMENT);
	g_assert_cmpint(me_rpc_error_code_to_me_error(ME_RPC_ERROR_PARSE), ==, ME_ERROR_FAILED);
	g_assert_cmpint(me_rpc_error_code_to_me_error(G_MAXINT64), ==, ME_ERROR_FAILED);
	/* a code that cut to 32 bits would be invalid-data's */
	g_assert_cmpint(me_rpc_error_code_to_me_error(-32012 - ((gint64)1 << 32)), ==, ME_ERROR_FAILED);
	g_assert_cmpuint(json_array_get_length(json_node_get_array(dump)), ==, n);
}

/* ---- hello */

static void
test_hello_required(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;

	start(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	me_test_rpc_assert_error(a1, 1, ME_RPC_ERROR_HELLO_REQUIRED);
	/* unknown methods too: hello comes before everything */
	a2 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no.such\"}");
	me_test_rpc_assert_error(a2, 2, ME_RPC_ERROR_HELLO_REQUIRED);
	/* a notification before hello is dropped without an answer */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}");
	g_assert_cmpuint(me_rpc_server_get_protocol(fx->server), ==, 0);
	hello(fx);
	assert_no_answer(fx);
}

static void
test_hello_negotiate(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonNode) expected = me_test_json_parse("[\"blob\",\"fail\",\"hello\",\"hold\",\"nan\",\"ping\"]");
	g_autoptr(JsonNode) events = me_test_json_parse("[\"progress\"]");
	g_autofree gchar *helper = g_strdup_printf("mailenroll %s", PACKAGE_VERSION);
	JsonObject *result;

	start(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\","
		      "\"params\":{\"protocol\":[3,1,2],\"client\":\"mailenroll-ext/0.1\",\"extra\":true}}");
	result = me_test_rpc_assert_result(a1, 1);
	g_assert_cmpint(json_object_get_int_member(result, "protocol"), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(result, "helper"), ==, helper);
	g_assert_true(json_node_equal(json_object_get_member(result, "methods"), expected));
	g_assert_true(json_node_equal(json_object_get_member(result, "events"), events));
	g_assert_cmpuint(me_rpc_server_get_protocol(fx->server), ==, 1);
	g_assert_cmpstr(me_rpc_server_get_client(fx->server), ==, "mailenroll-ext/0.1");

	/* a second hello is idempotent */
	a2 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\","
		      "\"params\":{\"protocol\":[3,1,2],\"client\":\"mailenroll-ext/0.1\",\"extra\":true}}");
	g_assert_true(json_node_equal(a1, a2));
}

static void
test_hello_unsupported(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonNode) a3 = NULL;
	g_autoptr(JsonNode) supported = me_test_json_parse("[1]");
	JsonObject *err_data;

	start(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":[0,2,99],\"client\":\"x/9\"}}");
	err_data = me_test_rpc_assert_error(a1, 1, ME_RPC_ERROR_PROTOCOL_UNSUPPORTED);
	g_assert_true(json_node_equal(json_object_get_member(err_data, "supported"), supported));
	/* still no hello */
	a2 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
	me_test_rpc_assert_error(a2, 2, ME_RPC_ERROR_HELLO_REQUIRED);
	hello(fx);
	/* a failed hello later keeps the version agreed before */
	a3 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"hello\",\"params\":{\"protocol\":[2],\"client\":\"x/9\"}}");
	me_test_rpc_assert_error(a3, 3, ME_RPC_ERROR_PROTOCOL_UNSUPPORTED);
	g_assert_cmpuint(me_rpc_server_get_protocol(fx->server), ==, 1);
}

static void
test_hello_invalid_params(Fixture *fx, gconstpointer data)
{
	g_autoptr(GString) many = g_string_new("[1");
	g_autofree gchar *long_client = g_strnfill(257, 'c');
	g_autofree gchar *p_many = NULL;
	g_autofree gchar *p_long = NULL;
	const gchar *params[] = {
	    NULL,
	    "[]",
	    "[1]",
	    "{}",
	    "{\"protocol\":1,\"client\":\"x/1\"}",
	    "{\"protocol\":\"1\",\"client\":\"x/1\"}",
	    "{\"protocol\":[],\"client\":\"x/1\"}",
	    "{\"protocol\":[\"1\"],\"client\":\"x/1\"}",
	    "{\"protocol\":[1.0],\"client\":\"x/1\"}",
	    "{\"protocol\":[1]}",
	    "{\"protocol\":[1],\"client\":\"\"}",
	    "{\"protocol\":[1],\"client\":7}",
	    "{\"protocol\":[1],\"client\":null}",
	};

	for (guint i = 0; i < 32; i++)
		g_string_append(many, ",1");
	g_string_append(many, "]");
	p_many = g_strdup_printf("{\"protocol\":%s,\"client\":\"x/1\"}", many->str);
	p_long = g_strdup_printf("{\"protocol\":[1],\"client\":\"%s\"}", long_client);
	start(fx);
	for (guint i = 0; i < G_N_ELEMENTS(params) + 2; i++) {
		const gchar *p = i < G_N_ELEMENTS(params) ? params[i] : (i == G_N_ELEMENTS(params) ? p_many : p_long);
		g_autofree gchar *req = NULL;
		g_autoptr(JsonNode) answer = NULL;
		if (p == NULL)
			req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"hello\"}", i);
		else
			req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"hello\",\"params\":%s}", i, p);
		answer = call(fx, req);
		me_test_rpc_assert_error(answer, i, ME_RPC_ERROR_INVALID_PARAMS);
	}
	g_assert_cmpuint(me_rpc_server_get_protocol(fx->server), ==, 0);
}

/* ---- requests */

static void
test_method_not_found(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autofree gchar *long_name = g_strnfill(ME_RPC_METHOD_MAX + 1, 'm');
	g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"%s\"}", long_name);
	JsonObject *d;

	start_hello(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"enroll\"}");
	d = me_test_rpc_assert_error(a1, 1, ME_RPC_ERROR_METHOD_NOT_FOUND);
	g_assert_cmpstr(json_object_get_string_member(d, "method"), ==, "enroll");
	a2 = call(fx, req);
	d = me_test_rpc_assert_error(a2, 2, ME_RPC_ERROR_METHOD_NOT_FOUND);
	g_assert_false(json_object_has_member(d, "method"));
	/* a notification of an unknown method is dropped */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"enroll\"}");
	assert_no_answer(fx);
}

/* 257 bytes: one more than ME_RPC_ID_MAX */
#define LONG_ID                                                                                                        \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"             \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"             \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"

static void
test_invalid_request(Fixture *fx, gconstpointer data)
{
	const struct {
		const gchar *json;
		gint64 id; /* -1: null */
		const gchar *member;
	} cases[] = {
	    {"{\"id\":1,\"method\":\"ping\"}", 1, "jsonrpc"},
	    {"{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"ping\"}", 2, "jsonrpc"},
	    {"{\"jsonrpc\":2.0,\"id\":3,\"method\":\"ping\"}", 3, "jsonrpc"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":4}", 4, "method"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":5}", 5, "method"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"\"}", 6, "method"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":\"x\"}", 7, "params"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":3}", 8, "params"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", -1, "id"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", -1, "id"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -1, "id"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"" LONG_ID "\",\"method\":\"ping\"}", -1, "id"},
	    {"42", -1, NULL},
	    {"\"ping\"", -1, NULL},
	    {"null", -1, NULL},
	};

	G_STATIC_ASSERT(sizeof(LONG_ID) - 1 == ME_RPC_ID_MAX + 1);
	start_hello(fx);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) answer = call(fx, cases[i].json);
		JsonObject *d = me_test_rpc_assert_error(answer, cases[i].id, ME_RPC_ERROR_INVALID_REQUEST);
		g_assert_cmpstr(json_object_get_string_member_with_default(d, "member", NULL), ==, cases[i].member);
	}
	assert_no_answer(fx);
}

static void
test_ids(Fixture *fx, gconstpointer data)
{
	/* an id holding \u0000 makes the request invalid-params (/host/nul-in-message); an escaped
	 * backslash before u0000 is an ordinary id */
	const gchar *ids[] = {"\"a\"", "\"\"", "-7", "1.5", "null", "9007199254740993", "\"é\\\\u0000x\""};

	start_hello(fx);
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
		g_autoptr(JsonNode) sent = me_test_json_parse(ids[i]);
		g_autoptr(JsonNode) answer = call(fx, req);
		g_assert_true(json_node_equal(json_object_get_member(me_test_json_object(answer), "id"), sent));
		g_assert_true(json_object_has_member(me_test_json_object(answer), "result"));
	}
}

static void
test_params_passed(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonNode) p1 = me_test_json_parse("{\"x\":[1,{\"y\":null}],\"é\":\"ü\"}");
	g_autoptr(JsonNode) p2 = me_test_json_parse("[true,false]");

	start_hello(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":[1,{\"y\":null}],\"é\":\"ü\"}}");
	g_assert_true(json_node_equal(json_object_get_member(me_test_rpc_assert_result(a1, 1), "params"), p1));
	a2 = call(fx, "{\"method\":\"ping\",\"params\":[true,false],\"id\":2,\"jsonrpc\":\"2.0\"}");
	g_assert_true(json_node_equal(json_object_get_member(me_test_rpc_assert_result(a2, 2), "params"), p2));
}

static void
test_application_errors(Fixture *fx, gconstpointer data)
{
	gsize n = 0;
	const MeRpcErrorInfo *table = me_rpc_error_table(&n);
	g_autoptr(JsonNode) a_problem = NULL;
	g_autoptr(JsonNode) a_io = NULL;
	g_autoptr(JsonNode) expected = me_test_json_parse("{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":"
					     "\"too many new orders\",\"status\":429,\"subproblems\":[{\"type\":"
					     "\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"no\","
					     "\"identifier\":{\"type\":\"email\",\"value\":\"alice@example.org\"}}]}");
	JsonObject *d;

	start_hello(fx);
	/* every MeError value reaches the wire with the code and name of its row */
	for (gsize i = 0; i < n; i++) {
		g_autofree gchar *req = NULL;
		g_autoptr(JsonNode) answer = NULL;
		if (table[i].me_error == 0)
			continue;
		req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"fail\",\"params\":[%d]}", table[i].me_error,
				      table[i].me_error);
		answer = call(fx, req);
		d = me_test_rpc_assert_error(answer, table[i].me_error, table[i].code);
		g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, table[i].name);
		g_assert_false(json_object_has_member(d, "problem"));
	}
	/* the ACME problem and Retry-After travel in data */
	a_problem = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"fail\",\"params\":[0,true]}");
	d = me_test_rpc_assert_error(a_problem, 100, -32023);
	g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, "rate-limited");
	g_assert_true(json_node_equal(json_object_get_member(d, "problem"), expected));
	g_assert_cmpint(json_object_get_int_member(d, "retryAfter"), ==, 3600);
	/* another domain is converted first */
	a_io = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":101,\"method\":\"fail\",\"params\":[0]}");
	d = me_test_rpc_assert_error(a_io, 101, -32019);
	g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, "not-found");
}

static void
test_async_completion(Fixture *fx, gconstpointer data)
{
	start_hello(fx);
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hold\"}");
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"hold\"}");
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"hold\"}");
	while (fx->held->len < 3)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(me_rpc_call_is_notification(g_ptr_array_index(fx->held, 2)));
	g_assert_cmpstr(me_rpc_call_get_method(g_ptr_array_index(fx->held, 0)), ==, "hold");
	/* answered in the order they complete: 2 first */
	me_rpc_call_return(g_ptr_array_index(fx->held, 1), json_node_init_string(json_node_alloc(), "two"));
	{
		g_autoptr(JsonNode) answer = recv_node(fx);
		g_assert_cmpint(json_object_get_int_member(me_test_json_object(answer), "id"), ==, 2);
		g_assert_cmpstr(json_object_get_string_member(me_test_json_object(answer), "result"), ==, "two");
	}
	me_rpc_call_return_error_literal(g_ptr_array_index(fx->held, 0), ME_RPC_ERROR_INTERNAL,
					 "The test made this error on purpose; ignore it.");
	{
		g_autoptr(JsonNode) answer = recv_node(fx);
		me_test_rpc_assert_error(answer, 1, ME_RPC_ERROR_INTERNAL);
	}
	me_rpc_call_return(g_ptr_array_index(fx->held, 2), NULL);
	g_ptr_array_set_size(fx->held, 0);
	assert_no_answer(fx);
}

/* more calls waiting than the server allows: it stops reading, and goes on when they end */
static void
test_backpressure(Fixture *fx, gconstpointer data)
{
	g_autoptr(GString) burst = g_string_new(NULL);
	const guint total = 1100;
	guint answered = 0;

	start_hello(fx);
	for (guint i = 0; i < total; i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"hold\"}", i);
		append_frame(burst, req);
	}
	send_raw(fx, burst->str, burst->len);
	for (guint i = 0; i < 200; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(fx->held->len, ==, 1024);
	while (answered < total) {
		guint n = fx->held->len;
		release_held(fx);
		for (guint i = 0; i < n; i++) {
			g_autoptr(JsonNode) answer = recv_node(fx);
			g_assert_cmpint(json_object_get_int_member(me_test_json_object(answer), "id"), ==, answered);
			answered++;
		}
		while (answered < total && fx->held->len == 0)
			g_main_context_iteration(NULL, TRUE);
	}
}

/* ---- malformed input */

static void
test_parse_errors_keep_going(Fixture *fx, gconstpointer data)
{
	const gchar *bodies[] = {"{", "{\"jsonrpc\":\"2.0\",", "nul", "[1,]", "{\"a\" 1}", "\x7f\x01", " "};
	g_autoptr(JsonNode) a_utf8 = NULL;
	g_autoptr(JsonNode) a_nul = NULL;
	g_autoptr(JsonNode) a_zero = NULL;
	guint32 zero = 0;
	JsonObject *d;

	start_hello(fx);
	for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autoptr(JsonNode) answer = NULL;
		send_frame(fx, bodies[i]);
		answer = recv_node(fx);
		me_test_rpc_assert_error(answer, -1, ME_RPC_ERROR_PARSE);
	}
	/* invalid UTF-8, and a NUL byte inside otherwise good JSON */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xc3\x28ng\"}");
	a_utf8 = recv_node(fx);
	d = me_test_rpc_assert_error(a_utf8, -1, ME_RPC_ERROR_PARSE);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "invalid-utf8");
	send_frame_len(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0", 41);
	a_nul = recv_node(fx);
	d = me_test_rpc_assert_error(a_nul, -1, ME_RPC_ERROR_PARSE);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "invalid-utf8");
	/* a zero-length frame */
	send_raw(fx, &zero, 4);
	a_zero = recv_node(fx);
	d = me_test_rpc_assert_error(a_zero, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "empty-frame");
	assert_no_answer(fx);
	g_assert_cmpuint(fx->closed_count, ==, 0);
}

static void
test_limits_depth_and_size(Fixture *fx, gconstpointer data)
{
	g_autoptr(GString) deep = g_string_new(NULL);
	g_autoptr(GString) ok_deep = g_string_new("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":");
	g_autoptr(GString) wide = g_string_new("[");
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonNode) a3 = NULL;
	JsonObject *d;

	/* json-glib recurses once per level: 30,000 levels must never reach it */
	for (guint i = 0; i < 30000; i++)
		g_string_append_c(deep, '[');
	for (guint i = 0; i < 30000; i++)
		g_string_append_c(deep, ']');
	/* brackets inside strings do not count */
	for (guint i = 0; i < ME_RPC_MAX_DEPTH - 1; i++)
		g_string_append(ok_deep, "[\"[[[[\\\"{{\",");
	g_string_append_c(ok_deep, '0');
	for (guint i = 0; i < ME_RPC_MAX_DEPTH - 1; i++)
		g_string_append_c(ok_deep, ']');
	g_string_append_c(ok_deep, '}');
	/* 100,001 values */
	for (guint i = 0; i < 100001; i++)
		g_string_append(wide, i == 0 ? "0" : ",0");
	g_string_append_c(wide, ']');

	start_hello(fx);
	a1 = call(fx, deep->str);
	d = me_test_rpc_assert_error(a1, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "too-deep");
	a2 = call(fx, ok_deep->str);
	me_test_rpc_assert_result(a2, 5);
	a3 = call(fx, wide->str);
	d = me_test_rpc_assert_error(a3, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "too-complex");
	assert_no_answer(fx);
}

static void
test_frame_oversized(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) answer = NULL;
	guint32 len = TEST_MAX_INBOUND + 1;
	JsonObject *d;

	start_hello(fx);
	send_raw(fx, &len, 4);
	send_raw(fx, "{\"jsonrpc\"", 10);
	answer = recv_node(fx);
	d = me_test_rpc_assert_error(answer, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "frame-too-large");
	g_assert_cmpint(json_object_get_int_member(d, "length"), ==, TEST_MAX_INBOUND + 1);
	g_assert_cmpint(json_object_get_int_member(d, "limit"), ==, TEST_MAX_INBOUND);
	g_assert_true(wait_for(fx, is_closed, WAIT_MS));
	g_assert_cmpuint(fx->closed_count, ==, 1);
	g_assert_error(fx->closed_error, ME_ERROR, ME_ERROR_TOO_LARGE);
	me_test_assert_sentence(fx->closed_error);
	g_assert_true(me_rpc_server_is_closed(fx->server));
	/* nothing more is read or answered */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	for (guint i = 0; i < 50; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(me_frame_decoder_get_buffered(fx->rx), ==, 0);
}

/* exactly at the cap is still read */
static void
test_frame_at_cap(Fixture *fx, gconstpointer data)
{
	g_autoptr(GString) req = g_string_new("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"");
	g_autoptr(JsonNode) answer = NULL;

	while (req->len < TEST_MAX_INBOUND - 3)
		g_string_append_c(req, 'p');
	g_string_append(req, "\"}}");
	g_assert_cmpuint(req->len, ==, TEST_MAX_INBOUND);
	start_hello(fx);
	answer = call(fx, req->str);
	me_test_rpc_assert_result(answer, 1);
}

static void
test_eof_clean(Fixture *fx, gconstpointer data)
{
	start_hello(fx);
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	g_assert_cmpint(shutdown(fx->fds[1], SHUT_WR), ==, 0);
	g_assert_true(wait_for(fx, is_closed, WAIT_MS));
	g_assert_no_error(fx->closed_error);
	/* what came before the end is still answered */
	{
		g_autoptr(JsonNode) answer = recv_node(fx);
		me_test_rpc_assert_result(answer, 1);
	}
}

static void
run_truncated(Fixture *fx, const void *data, gsize len)
{
	start_hello(fx);
	send_raw(fx, data, len);
	g_assert_cmpint(shutdown(fx->fds[1], SHUT_WR), ==, 0);
	g_assert_true(wait_for(fx, is_closed, WAIT_MS));
	g_assert_cmpuint(fx->closed_count, ==, 1);
	g_assert_error(fx->closed_error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(fx->closed_error);
}

static void
test_truncated_header(Fixture *fx, gconstpointer data)
{
	run_truncated(fx, "\x10\x00", 2);
}

static void
test_truncated_body(Fixture *fx, gconstpointer data)
{
	run_truncated(fx, "\x30\x00\x00\x00{\"jsonrpc\":", 15);
}

/* frames that arrive one byte at a time, as a slow pipe may deliver them */
static void
test_one_byte_reads(Fixture *fx, gconstpointer data)
{
	const gchar *reqs[] = {
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"slow/1\"}}",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
	};
	g_autoptr(GString) wire = g_string_new(NULL);

	start(fx);
	for (guint i = 0; i < G_N_ELEMENTS(reqs); i++)
		append_frame(wire, reqs[i]);
	for (gsize i = 0; i < wire->len; i++) {
		send_raw(fx, wire->str + i, 1);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	for (gint64 id = 0; id < 2; id++) {
		g_autoptr(JsonNode) answer = recv_node(fx);
		me_test_rpc_assert_result(answer, id);
	}
}

/* ---- batches */

static void
test_batch(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonNode) a3 = NULL;
	g_autoptr(GString) big = g_string_new("[");
	JsonArray *array;

	start_hello(fx);
	/* the JSON-RPC 2.0 specification's own example, adapted */
	a1 = call(fx, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},"
		      "{\"foo\":\"boo\"},"
		      "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"foo.get\"},"
		      "1,"
		      "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":[9]}]");
	g_assert_true(JSON_NODE_HOLDS_ARRAY(a1));
	array = json_node_get_array(a1);
	g_assert_cmpuint(json_array_get_length(array), ==, 5);
	me_test_rpc_assert_result(json_array_get_element(array, 0), 1);
	me_test_rpc_assert_error(json_array_get_element(array, 1), -1, ME_RPC_ERROR_INVALID_REQUEST);
	me_test_rpc_assert_error(json_array_get_element(array, 2), 5, ME_RPC_ERROR_METHOD_NOT_FOUND);
	me_test_rpc_assert_error(json_array_get_element(array, 3), -1, ME_RPC_ERROR_INVALID_REQUEST);
	me_test_rpc_assert_result(json_array_get_element(array, 4), 9);

	/* [1,2,3] gives three errors */
	a2 = call(fx, "[1,2,3]");
	g_assert_cmpuint(json_array_get_length(json_node_get_array(a2)), ==, 3);

	/* only notifications: nothing at all */
	send_frame(fx, "[{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}]");
	assert_no_answer(fx);

	/* empty, and too large */
	a3 = call(fx, "[]");
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_error(a3, -1, ME_RPC_ERROR_INVALID_REQUEST), "reason"), ==,
			"empty-batch");
	for (guint i = 0; i <= ME_RPC_MAX_BATCH; i++)
		g_string_append_printf(big, "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}", i > 0 ? "," : "", i);
	g_string_append_c(big, ']');
	{
		g_autoptr(JsonNode) answer = call(fx, big->str);
		JsonObject *d = me_test_rpc_assert_error(answer, -1, ME_RPC_ERROR_INVALID_REQUEST);
		g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "batch-too-large");
	}
}

/* a batch waits for its slowest call and keeps the order of the batch */
static void
test_batch_async(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) answer = NULL;
	JsonArray *array;

	start_hello(fx);
	send_frame(fx, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hold\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"},"
		       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"hold\"}]");
	while (fx->held->len < 2)
		g_main_context_iteration(NULL, TRUE);
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(me_frame_decoder_get_buffered(fx->rx), ==, 0);
	me_rpc_call_return(g_ptr_array_index(fx->held, 1), json_node_init_int(json_node_alloc(), 30));
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(me_frame_decoder_get_buffered(fx->rx), ==, 0);
	me_rpc_call_return(g_ptr_array_index(fx->held, 0), json_node_init_int(json_node_alloc(), 10));
	g_ptr_array_set_size(fx->held, 0);
	answer = recv_node(fx);
	array = json_node_get_array(answer);
	g_assert_cmpuint(json_array_get_length(array), ==, 3);
	for (guint i = 0; i < 3; i++)
		g_assert_cmpint(json_object_get_int_member(me_test_json_object(json_array_get_element(array, i)), "id"), ==, i + 1);
	g_assert_cmpint(json_object_get_int_member(me_test_json_object(json_array_get_element(array, 2)), "result"), ==, 30);
}

/* a batch whose answers together pass 1 MiB: the largest become response-too-large */
static void
test_batch_too_large_answer(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) answer = NULL;
	gsize len = 0;
	g_autofree gchar *text = NULL;
	JsonArray *array;

	start_hello(fx);
	send_frame(fx, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[600000]},"
		       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"blob\",\"params\":[500000]},"
		       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"blob\",\"params\":[10]}]");
	text = recv_text(fx, &len);
	g_assert_cmpuint(len, <=, ME_RPC_MAX_OUTBOUND);
	answer = me_test_json_parse(text);
	array = json_node_get_array(answer);
	g_assert_cmpuint(json_array_get_length(array), ==, 3);
	me_test_rpc_assert_error(json_array_get_element(array, 0), 1, ME_RPC_ERROR_RESPONSE_TOO_LARGE);
	me_test_rpc_assert_result(json_array_get_element(array, 1), 2);
	g_assert_cmpuint(strlen(json_object_get_string_member(me_test_json_object(json_array_get_element(array, 1)), "result")), ==,
			 500000);
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(json_array_get_element(array, 2)), "result"), ==, "bbbbbbbbbb");
}

/* ---- the outbound limit */

static void
test_outbound_limit(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) small = NULL;
	g_autoptr(JsonNode) at_limit = NULL;
	g_autoptr(JsonNode) over = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *req = NULL;
	gsize len = 0;
	gsize overhead;
	JsonObject *d;

	start_hello(fx);
	/* the answer's size without its string: {"jsonrpc":"2.0","id":1,"result":""} */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[0]}");
	text = recv_text(fx, &len);
	overhead = len;
	g_clear_pointer(&text, g_free);

	req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[%" G_GSIZE_FORMAT "]}",
			      ME_RPC_MAX_OUTBOUND - overhead);
	send_frame(fx, req);
	text = recv_text(fx, &len);
	g_assert_cmpuint(len, ==, ME_RPC_MAX_OUTBOUND);
	at_limit = me_test_json_parse(text);
	me_test_rpc_assert_result(at_limit, 1);
	g_clear_pointer(&req, g_free);

	req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[%" G_GSIZE_FORMAT "]}",
			      ME_RPC_MAX_OUTBOUND - overhead + 1);
	over = call(fx, req);
	d = me_test_rpc_assert_error(over, 1, ME_RPC_ERROR_RESPONSE_TOO_LARGE);
	g_assert_cmpint(json_object_get_int_member(d, "size"), ==, ME_RPC_MAX_OUTBOUND + 1);
	g_assert_cmpint(json_object_get_int_member(d, "limit"), ==, ME_RPC_MAX_OUTBOUND);
	small = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
	me_test_rpc_assert_result(small, 2);
}

/* answers JSON cannot carry become internal-error instead of a broken frame */
static void
test_unsendable_answer(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;

	start_hello(fx);
	a1 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[4,true]}");
	me_test_rpc_assert_error(a1, 1, ME_RPC_ERROR_INTERNAL);
	a2 = call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nan\"}");
	me_test_rpc_assert_error(a2, 2, ME_RPC_ERROR_INTERNAL);
}

/* ---- from the helper to the extension */

static void
test_notify(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) params = me_test_json_parse("{\"step\":\"order\",\"percent\":40}");
	g_autoptr(JsonNode) note = NULL;
	g_autoptr(JsonNode) huge = json_node_new(JSON_NODE_OBJECT);
	g_autofree gchar *blob = g_strnfill(ME_RPC_MAX_OUTBOUND, 'h');

	start_hello(fx);
	g_assert_true(me_rpc_server_notify(fx->server, "progress", params, &error));
	g_assert_no_error(error);
	note = recv_node(fx);
	g_assert_false(json_object_has_member(me_test_json_object(note), "id"));
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(note), "jsonrpc"), ==, "2.0");
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(note), "method"), ==, "progress");
	g_assert_true(json_node_equal(json_object_get_member(me_test_json_object(note), "params"), params));

	/* over 1 MiB: refused, nothing written */
	json_node_take_object(huge, json_object_new());
	json_object_set_string_member(json_node_get_object(huge), "blob", blob);
	g_assert_false(me_rpc_server_notify(fx->server, "progress", huge, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	me_test_assert_sentence(error);
	assert_no_answer(fx);
}

typedef struct {
	JsonNode *result;
	GError *error;
	gboolean done;
} RequestResult;

static void
request_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	RequestResult *r = user_data;
	r->result = me_rpc_server_request_finish(ME_RPC_SERVER(source), res, &r->error);
	r->done = TRUE;
}

static gboolean
request_done(RequestResult *r)
{
	gboolean expired = FALSE;
	guint id = g_timeout_add(WAIT_MS, timeout_cb, &expired);
	while (!r->done && !expired)
		g_main_context_iteration(NULL, TRUE);
	if (!expired)
		g_source_remove(id);
	return r->done;
}

static void
request_result_clear(RequestResult *r)
{
	g_clear_pointer(&r->result, json_node_unref);
	g_clear_error(&r->error);
	r->done = FALSE;
}

static void
test_request_round_trip(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) params = me_test_json_parse("{\"ca\":\"Test CA\",\"mailbox\":\"alice@example.org\"}");
	g_autoptr(JsonNode) req = NULL;
	g_autoptr(JsonNode) req2 = NULL;
	g_autoptr(JsonNode) expected = me_test_json_parse("{\"approved\":true}");
	g_autofree gchar *answer = NULL;
	RequestResult r = {0};
	const gchar *id;

	start_hello(fx);
	me_rpc_server_request(fx->server, "prompt", params, NULL, request_cb, &r);
	req = recv_node(fx);
	id = json_object_get_string_member(me_test_json_object(req), "id");
	g_assert_cmpstr(id, ==, "me-1");
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(req), "method"), ==, "prompt");
	g_assert_true(json_node_equal(json_object_get_member(me_test_json_object(req), "params"), params));

	/* answers with ids of no waiting request are ignored */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":\"me-77\",\"result\":{\"approved\":false}}");
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"approved\":false}}");
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}");
	assert_no_answer(fx);
	g_assert_false(r.done);

	/* the right one, inside a batch with a request */
	answer = g_strdup_printf("[{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"approved\":true}},"
				 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}]",
				 id);
	{
		g_autoptr(JsonNode) batch_answer = call(fx, answer);
		g_assert_cmpuint(json_array_get_length(json_node_get_array(batch_answer)), ==, 1);
	}
	g_assert_true(request_done(&r));
	g_assert_no_error(r.error);
	g_assert_true(json_node_equal(r.result, expected));
	request_result_clear(&r);

	/* an error answer maps back through the table */
	me_rpc_server_request(fx->server, "prompt", NULL, NULL, request_cb, &r);
	req2 = recv_node(fx);
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(req2), "id"), ==, "me-2");
	g_assert_false(json_object_has_member(me_test_json_object(req2), "params"));
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":\"me-2\",\"error\":{\"code\":-32035,\"message\":\"The keyring is locked; unlock it.\"}}");
	g_assert_true(request_done(&r));
	g_assert_error(r.error, ME_ERROR, ME_ERROR_LOCKED);
	g_assert_cmpstr(r.error->message, ==, "The keyring is locked; unlock it.");
	request_result_clear(&r);
}

static void
test_request_errors(Fixture *fx, gconstpointer data)
{
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(JsonNode) huge = json_node_new(JSON_NODE_ARRAY);
	g_autofree gchar *blob = g_strnfill(ME_RPC_MAX_OUTBOUND, 'h');
	RequestResult r = {0};
	const struct {
		const gchar *answer;
		gint code;
	} answers[] = {
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"@ID@\",\"error\":{\"code\":-32601,\"message\":\"No such method.\"}}",
	     ME_ERROR_NOT_SUPPORTED},
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"@ID@\",\"error\":{\"code\":1,\"message\":\"\"}}", ME_ERROR_FAILED},
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"@ID@\",\"error\":\"no\"}", ME_ERROR_INVALID_DATA},
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"@ID@\",\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}",
	     ME_ERROR_INVALID_DATA},
	};
	guint next = 0;

	start_hello(fx);
	for (guint i = 0; i < G_N_ELEMENTS(answers); i++) {
		g_autoptr(JsonNode) req = NULL;
		g_autofree gchar *text = NULL;
		me_rpc_server_request(fx->server, "prompt", NULL, NULL, request_cb, &r);
		req = recv_node(fx);
		next++;
		text = g_strdup_printf("\"me-%u\"", next);
		{
			g_autoptr(GString) answer = g_string_new(answers[i].answer);
			g_string_replace(answer, "\"@ID@\"", text, 0);
			send_frame(fx, answer->str);
		}
		g_assert_true(request_done(&r));
		g_assert_error(r.error, ME_ERROR, answers[i].code);
		me_test_assert_sentence(r.error);
		request_result_clear(&r);
	}

	/* cancelled: the caller hears at once, the late answer is ignored */
	me_rpc_server_request(fx->server, "prompt", NULL, cancellable, request_cb, &r);
	{
		g_autoptr(JsonNode) req = recv_node(fx);
		g_autofree gchar *late = NULL;
		next++;
		g_cancellable_cancel(cancellable);
		g_assert_true(request_done(&r));
		g_assert_error(r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
		request_result_clear(&r);
		late = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":\"me-%u\",\"result\":true}", next);
		send_frame(fx, late);
		assert_no_answer(fx);
	}

	/* over 1 MiB: not sent */
	json_node_take_array(huge, json_array_new());
	json_array_add_string_element(json_node_get_array(huge), blob);
	me_rpc_server_request(fx->server, "prompt", huge, NULL, request_cb, &r);
	g_assert_true(request_done(&r));
	g_assert_error(r.error, ME_ERROR, ME_ERROR_TOO_LARGE);
	request_result_clear(&r);
	assert_no_answer(fx);

	/* the connection ends while one waits */
	me_rpc_server_request(fx->server, "prompt", NULL, NULL, request_cb, &r);
	{
		g_autoptr(JsonNode) req = recv_node(fx);
	}
	g_assert_cmpint(shutdown(fx->fds[1], SHUT_WR), ==, 0);
	g_assert_true(request_done(&r));
	g_assert_error(r.error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(r.error);
	request_result_clear(&r);
	g_assert_cmpuint(fx->closed_count, ==, 1);
	g_assert_no_error(fx->closed_error);

	/* and after the end */
	me_rpc_server_request(fx->server, "prompt", NULL, NULL, request_cb, &r);
	g_assert_true(request_done(&r));
	g_assert_error(r.error, ME_ERROR, ME_ERROR_FAILED);
	request_result_clear(&r);
}

/* ---- throughput and robustness */

static void
test_pipelined(Fixture *fx, gconstpointer data)
{
	g_autoptr(GString) burst = g_string_new(NULL);

	start_hello(fx);
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}", i);
		append_frame(burst, req);
	}
	send_raw(fx, burst->str, burst->len);
	for (gint64 i = 0; i < 1000; i++) {
		g_autoptr(JsonNode) answer = recv_node(fx);
		me_test_rpc_assert_result(answer, i);
	}
}

static gchar *
random_body(GRand *rand, gsize *len)
{
	const gchar *seeds[] = {
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":[1,2,{\"b\":null}]}}",
	    "[{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"f/1\"}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"me-1\",\"result\":{\"approved\":true}}",
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"fail\",\"params\":[5]}",
	};
	guint kind = g_rand_int_range(rand, 0, 3);
	gchar *body;

	if (kind == 0) {
		/* bytes of any value */
		*len = (gsize)g_rand_int_range(rand, 1, 300);
		body = g_malloc(*len);
		for (gsize i = 0; i < *len; i++)
			body[i] = (gchar)g_rand_int_range(rand, 0, 256);
		return body;
	}
	/* a valid message with a few bytes changed, cut or repeated */
	body = g_strdup(seeds[g_rand_int_range(rand, 0, G_N_ELEMENTS(seeds))]);
	*len = strlen(body);
	for (gint i = g_rand_int_range(rand, 1, 5); i > 0; i--) {
		gsize at = (gsize)g_rand_int_range(rand, 0, (gint32)*len);
		if (kind == 1)
			body[at] = "{}[]\",:0\\ \x80\xff"[g_rand_int_range(rand, 0, 13)];
		else
			*len = MAX(at, 1);
	}
	return body;
}

static void
test_fuzz_frames(Fixture *fx, gconstpointer data)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(20261130);

	start(fx);
	for (guint i = 0; i < 400; i++) {
		gsize len = 0;
		g_autofree gchar *body = random_body(rand, &len);
		send_frame_len(fx, body, len);
		/* every answer is a JSON object or array within the limit (recv_text checks) */
		while (g_main_context_iteration(NULL, FALSE))
			;
		while (me_frame_decoder_is_ready(fx->rx)) {
			g_autofree gchar *text = recv_text(fx, NULL);
			g_autoptr(JsonNode) node = me_test_json_parse(text);
			g_assert_true(JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node));
		}
	}
	g_assert_cmpuint(fx->closed_count, ==, 0);
	hello(fx);
	/* collect any answer still on the way, then prove the server still answers */
	assert_no_answer(fx);
}

/* ---- flush and close */

static void
flush_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *flushed = user_data;
	g_autoptr(GError) error = NULL;
	g_assert_true(me_rpc_server_flush_finish(ME_RPC_SERVER(source), res, &error));
	g_assert_no_error(error);
	*flushed = TRUE;
}

static void
test_flush_and_close(Fixture *fx, gconstpointer data)
{
	gboolean flushed = FALSE;
	g_autoptr(JsonNode) answer = NULL;

	start_hello(fx);
	me_rpc_server_flush(fx->server, flush_cb, &flushed);
	while (!flushed)
		g_main_context_iteration(NULL, TRUE);
	/* a large answer is queued; flush waits for all of it */
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[900000]}");
	flushed = FALSE;
	me_rpc_server_close(fx->server);
	g_assert_cmpuint(fx->closed_count, ==, 1);
	g_assert_no_error(fx->closed_error);
	me_rpc_server_close(fx->server);
	g_assert_cmpuint(fx->closed_count, ==, 1);
	me_rpc_server_flush(fx->server, flush_cb, &flushed);
	while (!flushed)
		g_main_context_iteration(NULL, TRUE);
	/* the request sent before close was never read: nothing comes */
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(me_frame_decoder_get_buffered(fx->rx), ==, 0);
}

/* the extension went away: writing fails, the server closes with an error */
static void
test_write_failure(Fixture *fx, gconstpointer data)
{
	start_hello(fx);
	g_source_remove(fx->rx_source);
	fx->rx_source = 0;
	g_assert_cmpint(shutdown(fx->fds[1], SHUT_RD), ==, 0);
	send_frame(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":[500000]}");
	g_assert_true(wait_for(fx, is_closed, WAIT_MS));
	g_assert_error(fx->closed_error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(fx->closed_error);
}

int
main(int argc, char **argv)
{
	/* writes to a closed socket must fail with EPIPE, as they do in the helper */
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/rpc/frame/encode", test_frame_encode);
	g_test_add_func("/rpc/frame/round-trip", test_frame_round_trip);
	g_test_add_func("/rpc/frame/one-byte-feeds", test_frame_one_byte_feeds);
	g_test_add_func("/rpc/frame/several-in-one-feed", test_frame_several_in_one_feed);
	g_test_add_func("/rpc/frame/large", test_frame_large);
	g_test_add_func("/rpc/frame/refused", test_frame_refused);
	g_test_add_func("/rpc/frame/limit", test_frame_limit);
	g_test_add_func("/rpc/frame/truncated", test_frame_truncated);
	g_test_add_func("/rpc/frame/read-fd", test_frame_read_fd);
	g_test_add_func("/rpc/frame/read-fd-errors", test_frame_read_fd_errors);
	g_test_add_func("/rpc/error-table", test_error_table);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/rpc/hello/required", test_hello_required);
	ADD("/rpc/hello/negotiate", test_hello_negotiate);
	ADD("/rpc/hello/unsupported", test_hello_unsupported);
	ADD("/rpc/hello/invalid-params", test_hello_invalid_params);
	ADD("/rpc/request/method-not-found", test_method_not_found);
	ADD("/rpc/request/invalid", test_invalid_request);
	ADD("/rpc/request/ids", test_ids);
	ADD("/rpc/request/params", test_params_passed);
	ADD("/rpc/request/application-errors", test_application_errors);
	ADD("/rpc/request/async", test_async_completion);
	ADD("/rpc/request/backpressure", test_backpressure);
	ADD("/rpc/input/parse-errors", test_parse_errors_keep_going);
	g_test_add("/rpc/input/depth-and-size", Fixture, NULL, fixture_setup_default_cap, test_limits_depth_and_size,
		   fixture_teardown);
	ADD("/rpc/input/oversized", test_frame_oversized);
	ADD("/rpc/input/at-cap", test_frame_at_cap);
	ADD("/rpc/input/eof", test_eof_clean);
	ADD("/rpc/input/truncated-header", test_truncated_header);
	ADD("/rpc/input/truncated-body", test_truncated_body);
	ADD("/rpc/input/one-byte", test_one_byte_reads);
	ADD("/rpc/input/fuzz", test_fuzz_frames);
	ADD("/rpc/input/pipelined", test_pipelined);
	ADD("/rpc/batch/mixed", test_batch);
	ADD("/rpc/batch/async", test_batch_async);
	ADD("/rpc/batch/too-large-answer", test_batch_too_large_answer);
	ADD("/rpc/output/limit", test_outbound_limit);
	ADD("/rpc/output/unsendable", test_unsendable_answer);
	ADD("/rpc/output/write-failure", test_write_failure);
	ADD("/rpc/output/flush-and-close", test_flush_and_close);
	ADD("/rpc/outgoing/notify", test_notify);
	ADD("/rpc/outgoing/request", test_request_round_trip);
	ADD("/rpc/outgoing/request-errors", test_request_errors);
#undef ADD
	return g_test_run();
}
