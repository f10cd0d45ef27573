/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestHost"

#include "config.h"

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "frame.h"
#include "me-config.h"
#include "rpc-error.h"
#include "test-util.h"

/* the real mailenroll-helper, spawned with pipes as Thunderbird does, and the test speaking
 * frames to it as the extension would; under the valgrind setup the helper runs under
 * valgrind too, and under ASan its leak check decides its exit status */

#define HELLO "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"test-host/1\"}}"

typedef struct {
	GSubprocess *proc;
	gint in_fd;  /* the helper's stdin */
	gint out_fd; /* the helper's stdout */
	MeFrameDecoder *rx; /* the helper's stdout */
	gboolean rx_eof;
	gchar *dir;
	gchar *stderr_path;
} Host;

static gboolean
under_valgrind(void)
{
	return g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0;
}

/* time limits stretch under valgrind, which runs the helper tens of times slower */
static guint
scaled_ms(guint ms)
{
	return under_valgrind() ? ms * 10 : ms;
}

static const gchar *
helper_path(void)
{
	const gchar *path = g_getenv("ME_TEST_HELPER");
	g_assert_nonnull(path);
	return path;
}

/* @config (nullable): the user's mailenroll.conf; the system one never exists */
static Host *
host_start_with_config(const gchar *config)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *config_home = NULL;
	g_autofree gchar *sysconfdir = NULL;
	Host *host = g_new0(Host, 1);

	host->dir = me_test_tmpdir();
	host->stderr_path = g_build_filename(host->dir, "stderr.log", NULL);
	manifest = g_build_filename(host->dir, "org.mailenroll.helper.json", NULL);
	/* no configuration of the machine or of the person running the tests counts */
	config_home = g_build_filename(host->dir, "config", NULL);
	sysconfdir = g_build_filename(host->dir, "etc", NULL);
	if (config != NULL) {
		g_autofree gchar *folder = g_build_filename(config_home, "mailenroll", NULL);
		g_autofree gchar *path = NULL;
		g_assert_cmpint(g_mkdir_with_parents(folder, 0700), ==, 0);
		path = me_test_write_tmp(folder, "mailenroll.conf", config);
	}
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", config_home, TRUE);
	g_subprocess_launcher_setenv(launcher, "MAILENROLL_SYSCONFDIR", sysconfdir, TRUE);
	if (under_valgrind()) {
		g_ptr_array_add(argv, g_strdup("valgrind"));
		g_ptr_array_add(argv, g_strdup("--quiet"));
		g_ptr_array_add(argv, g_strdup("--error-exitcode=99"));
		g_ptr_array_add(argv, g_strdup("--leak-check=full"));
		g_ptr_array_add(argv, g_strdup("--errors-for-leak-kinds=definite"));
		g_ptr_array_add(argv, g_strdup_printf("--suppressions=%s/valgrind.supp", g_getenv("G_TEST_SRCDIR")));
	}
	g_ptr_array_add(argv, g_strdup(helper_path()));
	/* as Thunderbird starts it, with one argument more that must be ignored */
	g_ptr_array_add(argv, g_strdup(manifest));
	g_ptr_array_add(argv, g_strdup("mailenroll@mailenroll.org"));
	g_ptr_array_add(argv, g_strdup("--"));
	g_ptr_array_add(argv, g_strdup("extra"));
	g_ptr_array_add(argv, NULL);
	/* every log level on: none of it may reach stdout */
	g_subprocess_launcher_setenv(launcher, "G_MESSAGES_DEBUG", "all", TRUE);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
	g_subprocess_launcher_set_stderr_file_path(launcher, host->stderr_path);
	g_subprocess_launcher_set_cwd(launcher, host->dir);
	host->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	host->in_fd = g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(g_subprocess_get_stdin_pipe(host->proc)));
	host->out_fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(host->proc)));
	g_assert_true(g_unix_set_fd_nonblocking(host->in_fd, TRUE, NULL));
	g_assert_true(g_unix_set_fd_nonblocking(host->out_fd, TRUE, NULL));
	host->rx = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	return host;
}

static Host *
host_start(void)
{
	return host_start_with_config(NULL);
}

static gchar *
host_stderr(Host *host)
{
	gchar *text = NULL;
	g_autoptr(GError) error = NULL;
	g_file_get_contents(host->stderr_path, &text, NULL, &error);
	g_assert_no_error(error);
	return text;
}

static void
host_free(Host *host)
{
	if (host == NULL)
		return;
	if (g_subprocess_get_identifier(host->proc) != NULL) {
		g_subprocess_force_exit(host->proc);
		g_subprocess_wait(host->proc, NULL, NULL);
	}
	g_object_unref(host->proc);
	me_frame_decoder_free(host->rx);
	me_test_rm_rf(host->dir);
	g_free(host->dir);
	g_free(host->stderr_path);
	g_free(host);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Host, host_free)

/* the end of the helper's input; the stream owns the descriptor, so it closes it */
static void
host_close_stdin(Host *host)
{
	g_autoptr(GError) error = NULL;
	g_output_stream_close(g_subprocess_get_stdin_pipe(host->proc), NULL, &error);
	g_assert_no_error(error);
	host->in_fd = -1;
}

/* takes what the helper wrote, waiting at most @timeout_ms; FALSE on timeout */
static gboolean
host_pump(Host *host, gboolean want_write, gint timeout_ms)
{
	struct pollfd fds[2] = {{.fd = host->out_fd, .events = POLLIN}, {.fd = host->in_fd, .events = POLLOUT}};
	gint n;

	if (host->rx_eof)
		fds[0].fd = -1;
	n = poll(fds, want_write ? 2 : 1, timeout_ms);
	if (n < 0 && errno == EINTR)
		return TRUE;
	g_assert_cmpint(n, >=, 0);
	if (n == 0)
		return FALSE;
	if (fds[0].revents != 0) {
		guint8 buf[65536];
		gssize got = read(host->out_fd, buf, sizeof(buf));
		if (got > 0)
			me_frame_decoder_feed(host->rx, buf, (gsize)got);
		else if (got == 0 || (errno != EAGAIN && errno != EINTR))
			host->rx_eof = TRUE;
	}
	return TRUE;
}

/* writes all of @data, reading answers meanwhile so neither side can block the other */
static void
host_send_raw(Host *host, const void *data, gsize len)
{
	const guint8 *p = data;
	gint64 deadline = g_get_monotonic_time() + scaled_ms(30000) * G_TIME_SPAN_MILLISECOND;

	while (len > 0) {
		gssize n = write(host->in_fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			host_pump(host, TRUE, 100);
			continue;
		}
		/* a helper that closed on its own (an oversized frame) reads no more */
		if (n < 0 && errno == EPIPE)
			return;
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= (gsize)n;
	}
}

static void
host_send_frame_len(Host *host, const gchar *body, gsize len)
{
	g_autoptr(GBytes) frame = me_frame_encode_data(body, len);
	host_send_raw(host, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

static void
host_send(Host *host, const gchar *json)
{
	host_send_frame_len(host, json, strlen(json));
}

/* the next frame's text (NULL if the helper closed stdout first); checks every frame is
 * within the 1 MiB limit and is a JSON object or array in valid UTF-8 */
static gchar *
host_recv_text(Host *host, gsize *len_out)
{
	gchar *text = me_test_frame_read_text(host->rx, host->out_fd, scaled_ms(20000), len_out);

	if (text != NULL)
		g_assert_true(text[0] == '{' || text[0] == '[');
	return text;
}

static JsonNode *
host_recv(Host *host)
{
	g_autofree gchar *text = host_recv_text(host, NULL);
	g_assert_nonnull(text);
	return me_test_json_parse(text);
}

static JsonNode *
host_call(Host *host, const gchar *json)
{
	host_send(host, json);
	return host_recv(host);
}

static void
host_hello(Host *host)
{
	g_autoptr(JsonNode) answer = host_call(host, HELLO);
	g_assert_cmpint(json_object_get_int_member(me_test_rpc_assert_result(answer, 0), "protocol"), ==, 1);
}

/* the next answer is the one to a fresh ping: nothing else was pending */
static void
host_assert_no_answer(Host *host)
{
	g_autoptr(JsonNode) answer = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":\"sentinel\",\"method\":\"ping\"}");
	g_assert_cmpstr(json_object_get_string_member(me_test_json_object(answer), "id"), ==, "sentinel");
}

typedef struct {
	gboolean done;
} WaitData;

static void
wait_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WaitData *w = user_data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	w->done = TRUE;
}

static gboolean
set_true_cb(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

/* waits for the helper to exit; returns its exit status, asserting it was not a signal */
static gint
host_wait(Host *host, guint timeout_ms)
{
	WaitData w = {FALSE};
	gboolean expired = FALSE;
	guint id;

	g_subprocess_wait_async(host->proc, NULL, wait_cb, &w);
	id = g_timeout_add(timeout_ms, set_true_cb, &expired);
	while (!w.done && !expired)
		g_main_context_iteration(NULL, TRUE);
	if (!expired)
		g_source_remove(id);
	g_assert_true(w.done);
	if (!g_subprocess_get_if_exited(host->proc)) {
		g_autofree gchar *log = host_stderr(host);
		g_test_message("helper stderr:\n%s", log);
		g_assert_not_reached();
	}
	return g_subprocess_get_exit_status(host->proc);
}

/* closes the helper's stdin and waits for the end: status 0 and no leak or memory error */
static void
host_finish(Host *host)
{
	host_close_stdin(host);
	g_assert_cmpint(host_wait(host, scaled_ms(10000)), ==, 0);
}

/* ---- no core dumps: secrets pass through the helper (docs/standards.md P-09) */

static void
test_no_core_dumps(void)
{
	g_autoptr(Host) host = NULL;

	if (!me_test_allow_core_dumps()) {
		g_test_skip("the hard core-file limit is 0 here, so a helper that leaves core dumps on cannot be told apart");
		return;
	}
	host = host_start();
	host_hello(host);
	me_test_assert_no_core_dumps(g_subprocess_get_identifier(host->proc));
	host_finish(host);
}

/* ---- command line */

static void
test_command_line(void)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = g_strdup_printf("mailenroll-helper %s\n", PACKAGE_VERSION);
	g_autoptr(JsonNode) table = NULL;
	const gchar *version[] = {helper_path(), "--version", NULL};
	const gchar *help[] = {helper_path(), "--help", NULL};
	const gchar *bad[] = {helper_path(), "--no-such-option", NULL};
	const gchar *dump[] = {helper_path(), "--dump-error-codes", NULL};
	gsize n = 0;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(version, NULL, &out, &err, &status));
	g_assert_cmpint(status, ==, 0);
	g_assert_cmpstr(out, ==, expected);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_true(me_test_spawn_sync(help, NULL, &out, &err, &status));
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(out, "MANIFEST"));
	g_assert_nonnull(strstr(out, "--version"));
	/* the hidden option stays hidden */
	g_assert_null(strstr(out, "dump-error-codes"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_true(me_test_spawn_sync(bad, NULL, &out, &err, &status));
	g_assert_cmpint(status, ==, 2);
	g_assert_cmpstr(out, ==, "");
	/* one line, one sentence */
	g_assert_true(g_str_has_suffix(err, ".\n"));
	g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_true(me_test_spawn_sync(dump, NULL, &out, &err, &status));
	g_assert_cmpint(status, ==, 0);
	table = me_test_json_parse(out);
	me_rpc_error_table(&n);
	g_assert_cmpuint(json_array_get_length(json_node_get_array(table)), ==, n);
}

/* ---- the conversation */

static void
test_hello(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) early = NULL;
	g_autoptr(JsonNode) unsupported = NULL;
	g_autoptr(JsonNode) first = NULL;
	g_autoptr(JsonNode) second = NULL;
	g_autoptr(JsonNode) methods =
	    me_test_json_parse("[\"ca.add\",\"ca.agree\",\"ca.eab\",\"challenge.inspect\",\"config.get\",\"config.set\",\"enroll\",\"hello\",\"install\",\"ping\",\"renew\",\"reply.failed\",\"reply.sent\",\"revoke\",\"status\"]");
	g_autoptr(JsonNode) supported = me_test_json_parse("[1]");
	g_autofree gchar *helper = g_strdup_printf("mailenroll %s", PACKAGE_VERSION);
	JsonObject *result;

	early = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	me_test_rpc_assert_error(early, 1, ME_RPC_ERROR_HELLO_REQUIRED);
	unsupported =
	    host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"hello\",\"params\":{\"protocol\":[2,3],\"client\":\"x/1\"}}");
	g_assert_true(json_node_equal(json_object_get_member(me_test_rpc_assert_error(unsupported, 2, ME_RPC_ERROR_PROTOCOL_UNSUPPORTED),
							     "supported"),
				      supported));
	first = host_call(host, HELLO);
	result = me_test_rpc_assert_result(first, 0);
	g_assert_cmpint(json_object_get_int_member(result, "protocol"), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(result, "helper"), ==, helper);
	g_assert_true(json_node_equal(json_object_get_member(result, "methods"), methods));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(result, "events")), ==, 1);
	g_assert_cmpstr(json_array_get_string_element(json_object_get_array_member(result, "events"), 0), ==, "progress");
	second = host_call(host, HELLO);
	g_assert_true(json_node_equal(first, second));
	host_finish(host);
}

/* a profile named in hello that the helper cannot verify (a folder that is no running
 * Thunderbird's profile): hello fails with one sentence naming it, and the helper keeps
 * working without it */
static void
test_hello_profile_refused(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) refused = NULL;
	g_autoptr(JsonNode) early = NULL;
	g_autofree gchar *req = g_strdup_printf(
	    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"x/1\",\"profile\":\"%s\"}}",
	    host->dir);
	JsonObject *error;
	const gchar *message;

	refused = host_call(host, req);
	me_test_rpc_assert_error(refused, 5, -32011);
	error = json_object_get_object_member(json_node_get_object(refused), "error");
	message = json_object_get_string_member(error, "message");
	g_assert_nonnull(strstr(message, host->dir));
	g_assert_true(g_str_has_suffix(message, "."));
	g_assert_true(g_ascii_isupper(message[0]));
	/* nothing agreed: still hello first */
	early = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}");
	me_test_rpc_assert_error(early, 6, ME_RPC_ERROR_HELLO_REQUIRED);
	host_hello(host);
	host_finish(host);
}

/* one line from the test control socket, bounded in time */
static JsonNode *
control_roundtrip(GSocketConnection *conn, GDataInputStream *in, const gchar *line)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	g_autoptr(GError) error = NULL;
	g_autofree gchar *answer = NULL;

	g_assert_true(g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error));
	g_assert_no_error(error);
	answer = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(answer);
	return me_test_json_parse(answer);
}

/* the test control socket: only with MAILENROLL_TEST_CONTROL; a driver's line becomes the
 * request test.<method> to the extension, whose answer (result or error) comes back */
static void
test_control(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "control.sock", NULL);
	g_autoptr(Host) host = NULL;
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GDataInputStream) in = NULL;
	g_autoptr(GError) error = NULL;
	gint64 deadline = g_get_monotonic_time() + scaled_ms(5000) * G_TIME_SPAN_MILLISECOND;

	g_setenv("MAILENROLL_TEST_CONTROL", path, TRUE);
	host = host_start();
	g_unsetenv("MAILENROLL_TEST_CONTROL");
	host_hello(host);
	while (!g_file_test(path, G_FILE_TEST_EXISTS) && g_get_monotonic_time() < deadline)
		g_usleep(10 * G_TIME_SPAN_MILLISECOND);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(address), NULL, &error);
	g_assert_no_error(error);
	g_socket_set_timeout(g_socket_connection_get_socket(conn), scaled_ms(10000) / 1000);
	in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));

	/* passed on, answered by the extension (this test), the answer passed back */
	{
		GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
		const gchar *line = "{\"method\":\"prompt.answer\",\"params\":{\"approve\":true}}\n";
		g_autoptr(JsonNode) request = NULL;
		g_autoptr(JsonNode) answer = NULL;
		g_autofree gchar *reply = NULL;
		g_autofree gchar *text = NULL;
		JsonObject *req;
		g_assert_true(g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error));
		request = host_recv(host);
		req = me_test_json_object(request);
		g_assert_cmpstr(json_object_get_string_member(req, "method"), ==, "test.prompt.answer");
		g_assert_true(json_object_get_boolean_member(json_object_get_object_member(req, "params"), "approve"));
		/* the helper's own ids are strings */
		reply = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"clicked\":\"approve\"}}",
					json_object_get_string_member(req, "id"));
		host_send(host, reply);
		text = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);
		g_assert_no_error(error);
		answer = me_test_json_parse(text);
		g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(me_test_json_object(answer), "result"), "clicked"),
				==, "approve");
	}
	/* the extension's error comes back as an error */
	{
		GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
		const gchar *line = "{\"method\":\"nothing\"}\n";
		g_autoptr(JsonNode) request = NULL;
		g_autoptr(JsonNode) answer = NULL;
		g_autofree gchar *reply = NULL;
		g_autofree gchar *text = NULL;
		g_assert_true(g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error));
		request = host_recv(host);
		reply = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":\"%s\""
					",\"error\":{\"code\":-32601,\"message\":\"There is no test command nothing.\"}}",
					json_object_get_string_member(me_test_json_object(request), "id"));
		host_send(host, reply);
		text = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);
		g_assert_no_error(error);
		answer = me_test_json_parse(text);
		g_assert_nonnull(strstr(json_object_get_string_member(json_object_get_object_member(me_test_json_object(answer), "error"), "message"),
					"no test command"));
	}
	/* a line that is no request: an error for the driver, nothing for the extension */
	{
		g_autoptr(JsonNode) answer = control_roundtrip(conn, in, "not json\n");
		g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(me_test_json_object(answer), "error"), "code"), ==,
				ME_RPC_ERROR_PARSE);
	}
	host_assert_no_answer(host);
	g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
	host_finish(host);
	/* the socket goes with the helper */
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	me_test_rm_rf(dir);
}

static void
test_ping(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) plain = NULL;
	g_autoptr(JsonNode) echo = NULL;
	g_autoptr(JsonNode) echoed = me_test_json_parse("{\"a\":[1,\"ü\",null,true]}");
	const gchar *bad[] = {
	    "[1]",
	    "{\"size\":\"x\"}",
	    "{\"size\":-1}",
	    "{\"size\":2097153}",
	    "{\"size\":1.5}",
	};

	host_hello(host);
	plain = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	g_assert_true(json_object_get_boolean_member(me_test_rpc_assert_result(plain, 1), "pong"));
	g_assert_cmpuint(json_object_get_size(me_test_rpc_assert_result(plain, 1)), ==, 1);
	echo = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":{\"echo\":{\"a\":[1,\"ü\",null,true]},\"size\":3}}");
	g_assert_true(json_node_equal(json_object_get_member(me_test_rpc_assert_result(echo, 2), "echo"), echoed));
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_result(echo, 2), "payload"), ==, "xxx");
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\",\"params\":%s}", i, bad[i]);
		g_autoptr(JsonNode) answer = host_call(host, req);
		me_test_rpc_assert_error(answer, i, ME_RPC_ERROR_INVALID_PARAMS);
	}
	host_finish(host);
}

static void
test_errors_keep_going(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) unknown = NULL;
	g_autoptr(JsonNode) bad_json = NULL;
	g_autoptr(JsonNode) bad_utf8 = NULL;
	g_autoptr(JsonNode) zero = NULL;
	g_autoptr(JsonNode) scalar = NULL;
	guint32 zero_len = 0;

	host_hello(host);
	unknown = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no.such.method\",\"params\":{}}");
	me_test_rpc_assert_error(unknown, 1, ME_RPC_ERROR_METHOD_NOT_FOUND);
	bad_json = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":2,");
	me_test_rpc_assert_error(bad_json, -1, ME_RPC_ERROR_PARSE);
	bad_utf8 = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"\xed\xa0\x80\"}");
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_error(bad_utf8, -1, ME_RPC_ERROR_PARSE), "reason"), ==,
			"invalid-utf8");
	host_send_raw(host, &zero_len, 4);
	zero = host_recv(host);
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_error(zero, -1, ME_RPC_ERROR_INVALID_REQUEST), "reason"), ==,
			"empty-frame");
	scalar = host_call(host, "\"ping\"");
	me_test_rpc_assert_error(scalar, -1, ME_RPC_ERROR_INVALID_REQUEST);
	/* notifications get nothing, known or not */
	host_send(host, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}");
	host_send(host, "{\"jsonrpc\":\"2.0\",\"method\":\"no.such.method\"}");
	host_assert_no_answer(host);
	host_finish(host);
}

/* a NUL (\u0000) in a mail for challenge.inspect: json-glib would cut the mail short there, so
 * the request is refused as a whole, with a sentence; an escaped backslash before "u0000" is
 * no NUL */
static void
test_nul_in_message(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) inspect = NULL;
	g_autoptr(JsonNode) echo = NULL;
	g_autoptr(GError) as_error = NULL;
	JsonObject *error_obj;

	host_hello(host);
	inspect = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"challenge.inspect\",\"params\":"
				  "{\"mailbox\":\"alexey@example.com\",\"message\":\"Subject: ACME: x\\r\\n\\u0000"
				  "From: evil@attacker.example\\r\\n\\r\\nbody\\r\\n\"}}");
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_error(inspect, 7, ME_RPC_ERROR_INVALID_PARAMS),
						      "reason"),
			==, "nul-character");
	error_obj = json_object_get_object_member(json_node_get_object(inspect), "error");
	as_error = g_error_new_literal(ME_ERROR, ME_ERROR_INVALID_ARGUMENT, json_object_get_string_member(error_obj, "message"));
	me_test_assert_sentence(as_error);
	echo = host_call(host, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":{\"echo\":\"a\\\\u0000b\"}}");
	g_assert_cmpstr(json_object_get_string_member(me_test_rpc_assert_result(echo, 8), "echo"), ==, "a\\u0000b");
	host_finish(host);
}

static void
test_batch(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) mixed = NULL;
	g_autoptr(JsonNode) empty = NULL;
	JsonArray *array;

	host_hello(host);
	mixed = host_call(host, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},"
				"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"},\"x\"]");
	array = json_node_get_array(mixed);
	g_assert_cmpuint(json_array_get_length(array), ==, 3);
	me_test_rpc_assert_result(json_array_get_element(array, 0), 1);
	me_test_rpc_assert_error(json_array_get_element(array, 1), 2, ME_RPC_ERROR_METHOD_NOT_FOUND);
	me_test_rpc_assert_error(json_array_get_element(array, 2), -1, ME_RPC_ERROR_INVALID_REQUEST);
	host_send(host, "[{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]");
	host_assert_no_answer(host);
	empty = host_call(host, "[]");
	me_test_rpc_assert_error(empty, -1, ME_RPC_ERROR_INVALID_REQUEST);
	host_finish(host);
}

/* ---- limits */

static void
test_outbound_limit(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) over = NULL;
	g_autoptr(JsonNode) at_limit = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *req = NULL;
	gsize len = 0;
	gsize overhead;
	JsonObject *data;

	host_hello(host);
	/* the size of the answer around a payload of 0 bytes, with an id of the same length */
	host_send(host, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":{\"size\":0}}");
	text = host_recv_text(host, &len);
	overhead = len;
	g_clear_pointer(&text, g_free);

	req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":{\"size\":%" G_GSIZE_FORMAT "}}",
			      ME_FRAME_MAX_OUTBOUND - overhead);
	host_send(host, req);
	text = host_recv_text(host, &len);
	/* exactly 1 MiB: the largest frame Thunderbird takes */
	g_assert_cmpuint(len, ==, ME_FRAME_MAX_OUTBOUND);
	at_limit = me_test_json_parse(text);
	me_test_rpc_assert_result(at_limit, 8);
	g_clear_pointer(&req, g_free);

	req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":{\"size\":%" G_GSIZE_FORMAT "}}",
			      ME_FRAME_MAX_OUTBOUND - overhead + 1);
	over = host_call(host, req);
	data = me_test_rpc_assert_error(over, 9, ME_RPC_ERROR_RESPONSE_TOO_LARGE);
	g_assert_cmpint(json_object_get_int_member(data, "size"), ==, ME_FRAME_MAX_OUTBOUND + 1);
	host_finish(host);
}

/* inbound messages may be larger than outbound ones: 3 MiB in, under the 16 MiB default */
static void
test_large_inbound(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(GString) req = g_string_new("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"echo\":\"");
	g_autoptr(JsonNode) answer = NULL;

	for (guint i = 0; i < 3 * 1024 * 1024; i++)
		g_string_append_c(req, 'e');
	g_string_append(req, "\"}}");
	host_hello(host);
	answer = host_call(host, req->str);
	/* echoed back it would be too large for Thunderbird */
	me_test_rpc_assert_error(answer, 1, ME_RPC_ERROR_RESPONSE_TOO_LARGE);
	host_finish(host);
}

static void
test_oversized_frame(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) answer = NULL;
	g_autofree gchar *log = NULL;
	guint32 len = G_MAXUINT32;
	JsonObject *data;

	host_hello(host);
	host_send_raw(host, &len, 4);
	host_send_raw(host, "{\"jsonrpc\":", 11);
	answer = host_recv(host);
	data = me_test_rpc_assert_error(answer, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpstr(json_object_get_string_member(data, "reason"), ==, "frame-too-large");
	g_assert_cmpint(json_object_get_int_member(data, "length"), ==, G_MAXUINT32);
	g_assert_cmpint(json_object_get_int_member(data, "limit"), ==, ME_CONFIG_MAX_FRAME_BYTES_DEFAULT);
	/* it closes on its own, without waiting for the end of its input */
	g_assert_cmpint(host_wait(host, scaled_ms(5000)), ==, 1);
	g_assert_null(host_recv_text(host, NULL));
	log = host_stderr(host);
	g_assert_nonnull(strstr(log, "exceeds the limit"));
}

/* the cap comes from the configuration's max-frame-bytes */
static void
test_configured_cap(void)
{
	g_autoptr(Host) host = host_start_with_config("[general]\nmax-frame-bytes=2048\n");
	g_autoptr(GString) req = g_string_new("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"echo\":\"");
	g_autoptr(JsonNode) at_cap = NULL;
	g_autoptr(JsonNode) over = NULL;
	JsonObject *data;

	while (req->len < 2048 - 3)
		g_string_append_c(req, 'e');
	g_string_append(req, "\"}}");
	host_hello(host);
	at_cap = host_call(host, req->str);
	me_test_rpc_assert_result(at_cap, 1);
	g_string_insert_c(req, req->len - 3, 'e');
	over = host_call(host, req->str);
	data = me_test_rpc_assert_error(over, -1, ME_RPC_ERROR_INVALID_REQUEST);
	g_assert_cmpint(json_object_get_int_member(data, "limit"), ==, 2048);
	g_assert_cmpint(json_object_get_int_member(data, "length"), ==, 2049);
	g_assert_cmpint(host_wait(host, scaled_ms(5000)), ==, 1);
}

/* a configuration that cannot be read is logged; the helper still answers */
static void
test_broken_config(void)
{
	g_autoptr(Host) host = host_start_with_config("[general\nmax-frame-bytes=\n");
	g_autofree gchar *log = NULL;

	host_hello(host);
	host_finish(host);
	log = host_stderr(host);
	g_test_message("%s", log);
	g_assert_nonnull(strstr(log, "mailenroll.conf"));
}

static void
run_truncated(const void *data, gsize len, const gchar *log_line)
{
	g_autoptr(Host) host = host_start();
	g_autofree gchar *log = NULL;

	host_hello(host);
	host_send_raw(host, data, len);
	host_close_stdin(host);
	g_assert_cmpint(host_wait(host, scaled_ms(5000)), ==, 1);
	log = host_stderr(host);
	g_assert_nonnull(strstr(log, log_line));
	g_assert_null(strstr(log, "CRITICAL"));
}

static void
test_truncated_header(void)
{
	run_truncated("\x20\x00\x00", 3, "ended inside a frame header");
}

static void
test_truncated_body(void)
{
	run_truncated("\x20\x00\x00\x00{\"jsonrpc\"", 14, "ended inside a frame (10 of 32 bytes)");
}

/* ---- the end of a session */

static void
test_eof(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(JsonNode) answer = NULL;
	gint64 start;

	host_hello(host);
	/* a request just before the end is still answered */
	host_send(host, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{\"size\":200000}}");
	start = g_get_monotonic_time();
	host_close_stdin(host);
	answer = host_recv(host);
	me_test_rpc_assert_result(answer, 5);
	g_assert_cmpint(host_wait(host, scaled_ms(3000)), ==, 0);
	g_test_message("exit %.3f s after the end of input", (g_get_monotonic_time() - start) / 1e6);
	g_assert_cmpint(g_get_monotonic_time() - start, <, scaled_ms(3000) * G_TIME_SPAN_MILLISECOND);
}

static void
test_sigterm(void)
{
	g_autoptr(Host) host = host_start();
	gint64 start;
	gdouble seconds;

	host_hello(host);
	start = g_get_monotonic_time();
	g_subprocess_send_signal(host->proc, SIGTERM);
	g_assert_cmpint(host_wait(host, scaled_ms(5000)), ==, 0);
	seconds = (g_get_monotonic_time() - start) / 1e6;
	g_test_message("exit %.3f s after SIGTERM", seconds);
	/* Thunderbird sends SIGKILL 3 s after SIGTERM; this holds under valgrind too */
	g_assert_cmpfloat(seconds, <, 3.0);
}

/* a mail client that stopped reading cannot hold the helper past its grace period */
static void
test_sigterm_stuck_output(void)
{
	g_autoptr(Host) host = host_start();
	gint64 start;
	gdouble seconds;

	host_hello(host);
	/* about 3 MiB of answers that nobody reads: more than the pipe holds */
	for (guint i = 0; i < 3; i++)
		host_send(host, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"size\":1000000}}");
	g_usleep(scaled_ms(200) * 1000);
	start = g_get_monotonic_time();
	g_subprocess_send_signal(host->proc, SIGTERM);
	g_assert_cmpint(host_wait(host, scaled_ms(5000)), ==, 0);
	seconds = (g_get_monotonic_time() - start) / 1e6;
	g_test_message("exit %.3f s after SIGTERM with output stuck", seconds);
	g_assert_cmpfloat(seconds, <, 3.0);
}

/* ---- volume and robustness */

static void
test_pipelined(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(GByteArray) burst = g_byte_array_new();

	host_hello(host);
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}", i);
		g_autoptr(GBytes) frame = me_frame_encode_data(req, strlen(req));
		g_byte_array_append(burst, g_bytes_get_data(frame, NULL), (guint)g_bytes_get_size(frame));
	}
	/* one write */
	host_send_raw(host, burst->data, burst->len);
	for (gint64 i = 0; i < 1000; i++) {
		g_autoptr(JsonNode) answer = host_recv(host);
		me_test_rpc_assert_result(answer, i);
	}
	host_finish(host);
}

static void
test_garbage(void)
{
	g_autoptr(Host) host = host_start();
	g_autoptr(GRand) rand = g_rand_new_with_seed(8823);
	guint answers = 0;

	host_hello(host);
	for (guint i = 0; i < 300; i++) {
		gsize len = (gsize)g_rand_int_range(rand, 1, 200);
		g_autofree guint8 *body = g_malloc(len);
		for (gsize k = 0; k < len; k++)
			body[k] = (guint8)g_rand_int_range(rand, 0, 256);
		/* every third frame starts like JSON, so the parser gets further in */
		if (i % 3 == 0)
			body[0] = (i % 2 == 0) ? '{' : '[';
		host_send_frame_len(host, (const gchar *)body, len);
		while (host_pump(host, FALSE, 0))
			;
		while (me_frame_decoder_is_ready(host->rx)) {
			g_autofree gchar *text = host_recv_text(host, NULL);
			g_autoptr(JsonNode) node = me_test_json_parse(text);
			answers++;
		}
	}
	/* take the answers still on the way, up to the one to a last ping */
	host_send(host, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
	for (;;) {
		g_autoptr(JsonNode) node = host_recv(host);
		if (JSON_NODE_HOLDS_OBJECT(node) &&
		    g_strcmp0(json_object_get_string_member_with_default(me_test_json_object(node), "id", NULL), "last") == 0)
			break;
		answers++;
	}
	g_test_message("%u answers to 300 garbage frames", answers);
	g_assert_cmpuint(answers, >, 0);
	host_finish(host);
}

/* ---- the document */

static void
test_protocol_doc(void)
{
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "check-protocol.py", NULL);
	g_autofree gchar *doc = g_test_build_filename(G_TEST_DIST, "..", "messaging", "PROTOCOL.md", NULL);
	g_autofree gchar *header = g_test_build_filename(G_TEST_DIST, "..", "helper", "lib", "me-error.h", NULL);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	const gchar *argv[] = {me_test_python(), script, "--helper", helper_path(), "--doc", doc, "--error-header", header, NULL};

	/* stdout and stderr together, taken as bytes, so any failure shows in the log */
	proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
	g_assert_no_error(error);
	g_subprocess_communicate(proc, NULL, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	text = g_utf8_make_valid(g_bytes_get_data(out, NULL), (gssize)g_bytes_get_size(out));
	g_test_message("%s", text);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
}

int
main(int argc, char **argv)
{
	/* writing to a helper that has exited must fail with EPIPE, not end the test */
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/host/command-line", test_command_line);
	g_test_add_func("/host/hello", test_hello);
	g_test_add_func("/host/hello/profile-refused", test_hello_profile_refused);
	g_test_add_func("/host/ping", test_ping);
	g_test_add_func("/host/errors-keep-going", test_errors_keep_going);
	g_test_add_func("/host/batch", test_batch);
	g_test_add_func("/host/nul-in-message", test_nul_in_message);
	g_test_add_func("/host/limit/outbound", test_outbound_limit);
	g_test_add_func("/host/limit/large-inbound", test_large_inbound);
	g_test_add_func("/host/limit/oversized-frame", test_oversized_frame);
	g_test_add_func("/host/limit/configured", test_configured_cap);
	g_test_add_func("/host/limit/broken-config", test_broken_config);
	g_test_add_func("/host/end/truncated-header", test_truncated_header);
	g_test_add_func("/host/end/truncated-body", test_truncated_body);
	g_test_add_func("/host/end/eof", test_eof);
	g_test_add_func("/host/end/sigterm", test_sigterm);
	g_test_add_func("/host/end/sigterm-stuck-output", test_sigterm_stuck_output);
	g_test_add_func("/host/pipelined", test_pipelined);
	g_test_add_func("/host/garbage", test_garbage);
	g_test_add_func("/host/protocol-doc", test_protocol_doc);
	g_test_add_func("/host/test-control", test_control);
	g_test_add_func("/host/no-core-dumps", test_no_core_dumps);
	return g_test_run();
}
