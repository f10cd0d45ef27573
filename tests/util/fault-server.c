/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "fault-server.h"

#include <signal.h>
#include <string.h>

#include "test-util.h"

#define FAULT_SERVER_START_MS 10000
#define FAULT_SERVER_STOP_MS  5000


static gboolean
fault_server_read_ready(MeTestFaultServer *fs, GString *out)
{
	GInputStream *stream = g_subprocess_get_stdout_pipe(fs->proc);
	gint64 deadline = g_get_monotonic_time() + (gint64)FAULT_SERVER_START_MS * 1000;
	g_auto(GStrv) lines = NULL;

	g_assert_true(G_IS_POLLABLE_INPUT_STREAM(stream));
	/* bounded: a server that never says READY fails the test instead of hanging it */
	while (strstr(out->str, "READY\n") == NULL) {
		g_autoptr(GError) error = NULL;
		gchar buf[256];
		gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(stream), buf, sizeof(buf),
								    NULL, &error);
		if (n > 0) {
			g_string_append_len(out, buf, n);
			continue;
		}
		if (n == 0 || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			return FALSE;
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(2000);
	}
	lines = g_strsplit(out->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "PORT="))
			fs->port = (guint16)g_ascii_strtoull(lines[i] + 5, NULL, 10);
		else if (g_str_has_prefix(lines[i], "PLAIN_PORT="))
			fs->plain_port = (guint16)g_ascii_strtoull(lines[i] + 11, NULL, 10);
	}
	return fs->port != 0 && fs->plain_port != 0;
}

static void
fault_server_wait_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	*done = TRUE;
}

/**
 * me_test_fault_server_wait_exit:
 * @proc: a server process
 * @timeout_ms: how long it may take to exit
 *
 * Waits, bounded, for the process to exit; kills it when the time is up.
 *
 * Returns: %TRUE if it exited by itself in time
 */
gboolean
me_test_fault_server_wait_exit(GSubprocess *proc, guint timeout_ms)
{
	g_autoptr(GMainContext) ctx = g_main_context_new();
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gboolean done = FALSE;

	g_main_context_push_thread_default(ctx);
	g_subprocess_wait_async(proc, NULL, fault_server_wait_cb, &done);
	while (!done && g_get_monotonic_time() < deadline) {
		if (!g_main_context_iteration(ctx, FALSE))
			g_usleep(1000);
	}
	if (!done) {
		/* SIGKILL cannot be ignored, so this second wait always ends */
		g_subprocess_force_exit(proc);
		while (!done)
			g_main_context_iteration(ctx, TRUE);
	}
	g_main_context_pop_thread_default(ctx);
	return g_subprocess_get_if_signaled(proc) ? g_subprocess_get_term_sig(proc) != SIGKILL
						  : g_subprocess_get_if_exited(proc);
}

void
me_test_fault_server_stop(MeTestFaultServer *fs)
{
	if (fs == NULL)
		return;
	if (fs->proc != NULL) {
		g_subprocess_send_signal(fs->proc, SIGTERM);
		g_assert_true(me_test_fault_server_wait_exit(fs->proc, FAULT_SERVER_STOP_MS));
		g_object_unref(fs->proc);
	}
	me_http_free(fs->stats_http);
	g_free(fs->ca_file);
	g_free(fs->key_file);
	g_free(fs->base);
	g_free(fs);
}

MeTestFaultServer *
me_test_fault_server_start(const gchar *dir, const gchar *scenario, const gchar *chain_path)
{
	g_autoptr(MeTestFaultServer) fs = g_new0(MeTestFaultServer, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "util", "fault-server.py", NULL);

	g_assert_true(me_test_make_tls_cert(dir, &fs->ca_file, &fs->key_file, &error));
	g_assert_no_error(error);
	g_ptr_array_add(argv, (gpointer)me_test_python());
	g_ptr_array_add(argv, script);
	g_ptr_array_add(argv, (gpointer) "--cert");
	g_ptr_array_add(argv, fs->ca_file);
	g_ptr_array_add(argv, (gpointer) "--key");
	g_ptr_array_add(argv, fs->key_file);
	g_ptr_array_add(argv, (gpointer) "--scenario");
	g_ptr_array_add(argv, (gpointer)scenario);
	if (chain_path != NULL) {
		g_ptr_array_add(argv, (gpointer) "--chain");
		g_ptr_array_add(argv, (gpointer)chain_path);
	}
	g_ptr_array_add(argv, NULL);
	/* stdin is a pipe the server watches: it exits when this process does, even on a crash */
	fs->proc = g_subprocess_newv((const gchar *const *)argv->pdata,
				     G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
	g_assert_no_error(error);
	if (!fault_server_read_ready(fs, out)) {
		g_test_message("fault server (%s) did not start; it said: %s", scenario, out->str);
		g_assert_not_reached();
	}
	fs->base = g_strdup_printf("https://127.0.0.1:%u", fs->port);
	fs->stats_http = me_http_new();
	me_http_set_ca_file(fs->stats_http, fs->ca_file);
	return g_steal_pointer(&fs);
}

/* the server's view: request counts, nonce misuse, request times */
JsonNode *
me_test_fault_server_stats(MeTestFaultServer *fs)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/_stats", fs->base);
	g_autofree gchar *text = NULL;
	JsonNode *root;

	response = me_http_request(fs->stats_http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(response->status, ==, 200);
	text = g_strndup(g_bytes_get_data(response->body, NULL), g_bytes_get_size(response->body));
	root = json_from_string(text, &error);
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
	return root;
}

