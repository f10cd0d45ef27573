/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * The test driver's way into a real Thunderbird (messaging/PROTOCOL.md, "Test control").
 * Only when the environment names a socket path in MAILENROLL_TEST_CONTROL — which the
 * end-to-end tests set on the Thunderbird they start, and nothing else does — the helper
 * listens there.  A driver sends one JSON object a line, {"method": "...", "params": ...};
 * the helper passes it to the extension as the request `test.<method>` and writes the
 * answer back as one line, {"result": ...} or {"error": {"code": ..., "message": ...}}.
 * The extension acts on the same functions its pages call (a click on Approve, a request
 * from the options page), so a headless Thunderbird can be driven where no one can click.
 */

#define G_LOG_DOMAIN "MeHost"

#include "config.h"

#include "host-test-control.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>

/* a driver's line: the largest request the tests send is far smaller */
#define TEST_CONTROL_LINE_MAX (64 * 1024)

struct _MeHostTestControl {
	MeRpcServer *server;
	GSocketService *service;
	gchar *path;
};

typedef struct {
	MeHostTestControl *control;
	GSocketConnection *connection;
	GDataInputStream *in;
} Client;

static void client_read_next(Client *client);

static void
client_free(Client *client)
{
	g_io_stream_close(G_IO_STREAM(client->connection), NULL, NULL);
	g_object_unref(client->in);
	g_object_unref(client->connection);
	g_free(client);
}

static void
client_write(Client *client, JsonNode *answer)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(client->connection));
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;
	g_autofree gchar *line = NULL;

	json_generator_set_root(gen, answer);
	text = json_generator_to_data(gen, NULL);
	line = g_strconcat(text, "\n", NULL);
	/* the driver reads what it asked for; a driver that went away loses its answer */
	(void)g_output_stream_write_all(out, line, strlen(line), NULL, NULL, NULL);
}

static void
client_write_error(Client *client, gint code, const gchar *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) answer = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_int_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	json_builder_end_object(b);
	answer = json_builder_get_root(b);
	client_write(client, answer);
}

static void
forward_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Client *client = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) result = me_rpc_server_request_finish(ME_RPC_SERVER(source), res, &error);

	if (result == NULL) {
		client_write_error(client, error->code, error->message);
	} else {
		g_autoptr(JsonObject) obj = json_object_new();
		g_autoptr(JsonNode) answer = json_node_new(JSON_NODE_OBJECT);
		json_object_set_member(obj, "result", g_steal_pointer(&result));
		json_node_set_object(answer, obj);
		client_write(client, answer);
	}
	client_read_next(client);
}

/* one driver line: checked, then passed on as test.<method> */
static void
client_handle_line(Client *client, const gchar *line)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree gchar *method = NULL;
	JsonObject *obj;
	JsonNode *params;
	const gchar *name;

	if (!json_parser_load_from_data(parser, line, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		client_write_error(client, ME_RPC_ERROR_PARSE, "a test control line must be one JSON object");
		client_read_next(client);
		return;
	}
	obj = json_node_get_object(json_parser_get_root(parser));
	name = json_object_get_string_member_with_default(obj, "method", NULL);
	if (name == NULL || *name == '\0' || strlen(name) > 64) {
		client_write_error(client, ME_RPC_ERROR_INVALID_REQUEST, "a test control line needs a \"method\" string");
		client_read_next(client);
		return;
	}
	params = json_object_get_member(obj, "params");
	method = g_strconcat("test.", name, NULL);
	g_debug("test control: %s", method);
	me_rpc_server_request(client->control->server, method, params, NULL, forward_done, client);
}

static void
client_line_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Client *client = user_data;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), res, &len, &error);

	if (line == NULL || len > TEST_CONTROL_LINE_MAX) {
		/* the driver hung up (or sent what no driver sends) */
		client_free(client);
		return;
	}
	client_handle_line(client, line);
}

static void
client_read_next(Client *client)
{
	g_data_input_stream_read_line_async(client->in, G_PRIORITY_DEFAULT, NULL, client_line_cb, client);
}

static gboolean
incoming_cb(GSocketService *service, GSocketConnection *connection, GObject *source, gpointer user_data)
{
	Client *client = g_new0(Client, 1);

	(void)service;
	(void)source;
	client->control = user_data;
	client->connection = g_object_ref(connection);
	client->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(connection)));
	g_buffered_input_stream_set_buffer_size(G_BUFFERED_INPUT_STREAM(client->in), TEST_CONTROL_LINE_MAX);
	client_read_next(client);
	return TRUE;
}

/**
 * me_host_test_control_start:
 * @server: the helper's connection to the extension
 * @path: where to listen, a UNIX socket path the test chose
 * @error: return location for a #GError
 *
 * Starts the test control socket (see the file's comment).
 *
 * Returns: (transfer full) (nullable): the control, for me_host_test_control_free()
 */
MeHostTestControl *
me_host_test_control_start(MeRpcServer *server, const gchar *path, GError **error)
{
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	MeHostTestControl *control = g_new0(MeHostTestControl, 1);

	control->server = g_object_ref(server);
	control->path = g_strdup(path);
	control->service = g_socket_service_new();
	(void)g_unlink(path);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(control->service), address, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error)) {
		me_host_test_control_free(control);
		return NULL;
	}
	g_signal_connect(control->service, "incoming", G_CALLBACK(incoming_cb), control);
	g_socket_service_start(control->service);
	g_message("test control listening on %s", path);
	return control;
}

/**
 * me_host_test_control_free:
 * @control: (nullable): a test control
 */
void
me_host_test_control_free(MeHostTestControl *control)
{
	if (control == NULL)
		return;
	g_socket_service_stop(control->service);
	g_socket_listener_close(G_SOCKET_LISTENER(control->service));
	g_object_unref(control->service);
	(void)g_unlink(control->path);
	g_free(control->path);
	g_object_unref(control->server);
	g_free(control);
}
