/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * mailenroll-helper: the native-messaging host Thunderbird starts for the extension
 * (messaging/PROTOCOL.md).  stdin and stdout carry frames and nothing else; every log line
 * goes to stderr, which Thunderbird shows in its Browser Console.
 */

#define G_LOG_DOMAIN "MeHost"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-methods.h"
#ifdef ME_TEST_HOOKS
#include "host-test-control.h"
#ifdef HAVE_MALLINFO2
#include <malloc.h>
#endif
#endif
#include "me-config.h"
#include "rpc-error.h"
#include "secmem.h"
#include "rpc-server.h"

/* how long output may take to drain at the end: Thunderbird sends SIGTERM 3 s after it
 * closed our stdin, and SIGKILL 3 s after that */
#define HOST_FLUSH_TIMEOUT_MS 1000
/* the largest payload ping makes, enough to pass the 1 MiB outbound limit */
#define HOST_PING_SIZE_MAX (2 * ME_RPC_MAX_OUTBOUND)

typedef struct {
	GMainLoop *loop;
	MeRpcServer *server;
	gint exit_status;
	gboolean closing;
} HostState;

/* ---- ping: a health check, and a diagnostic that makes answers of a chosen size */

/* ping's optional params: {"echo": any, "size": 0..HOST_PING_SIZE_MAX} */
static gboolean
ping_parse(JsonNode *params, JsonNode **echo, gint64 *size)
{
	JsonObject *obj;
	JsonNode *size_node;

	*echo = NULL;
	*size = -1;
	if (params == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(params))
		return FALSE;
	obj = json_node_get_object(params);
	*echo = json_object_get_member(obj, "echo");
	size_node = json_object_get_member(obj, "size");
	if (size_node == NULL)
		return TRUE;
	if (json_node_get_value_type(size_node) != G_TYPE_INT64)
		return FALSE;
	*size = json_node_get_int(size_node);
	return *size >= 0 && *size <= HOST_PING_SIZE_MAX;
}

static void
ping_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	g_autoptr(JsonObject) result = NULL;
	JsonNode *echo = NULL;
	JsonNode *node;
	gint64 size = -1;

	if (!ping_parse(params, &echo, &size)) {
		g_autofree gchar *msg =
		    /* TRANSLATORS: the parameters of ping are wrong; keep "size" as it is; %d is the largest size */
		    g_strdup_printf(_("The ping parameters are not valid; send \"size\" as a whole number from 0 to %d."),
				    HOST_PING_SIZE_MAX);
		me_rpc_call_return_error_literal(call, ME_RPC_ERROR_INVALID_PARAMS, msg);
		return;
	}
	result = json_object_new();
	json_object_set_boolean_member(result, "pong", TRUE);
	if (echo != NULL)
		json_object_set_member(result, "echo", json_node_copy(echo));
	if (size >= 0) {
		g_autofree gchar *payload = g_malloc((gsize)size + 1);
		memset(payload, 'x', (gsize)size);
		payload[size] = '\0';
		json_object_set_string_member(result, "payload", payload);
	}
	node = json_node_new(JSON_NODE_OBJECT);
	json_node_set_object(node, result);
	me_rpc_call_return(call, node);
}

#ifdef ME_TEST_HOOKS
/* test.heap, in the test build only (messaging/PROTOCOL.md §10): the bytes the allocator
 * holds in use for the helper now, in every arena and in blocks of their own. The resident
 * size cannot tell a helper that keeps memory from one whose freed memory stays mapped:
 * what a leak takes first fills holes the heap already has */
static void
test_heap_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
#ifdef HAVE_MALLINFO2
	struct mallinfo2 info = mallinfo2();
	g_autoptr(JsonObject) result = json_object_new();
	JsonNode *node = json_node_new(JSON_NODE_OBJECT);

	json_object_set_int_member(result, "in-use", (gint64)(info.uordblks + info.hblkhd));
	json_node_set_object(node, result);
	me_rpc_call_return(call, node);
#else
	me_rpc_call_return_error_literal(call, ME_RPC_ERROR_METHOD_NOT_FOUND, "test.heap needs mallinfo2()");
#endif
}
#endif

/* ---- the end */

static gboolean
flush_timeout_cb(gpointer user_data)
{
	HostState *state = user_data;
	g_message("output did not drain within %d ms; exiting", HOST_FLUSH_TIMEOUT_MS);
	g_main_loop_quit(state->loop);
	return G_SOURCE_REMOVE;
}

static void
flush_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	HostState *state = user_data;
	g_autoptr(GError) error = NULL;

	if (!me_rpc_server_flush_finish(ME_RPC_SERVER(source), res, &error)) {
		g_message("%s", error->message);
		state->exit_status = 1;
	}
	g_main_loop_quit(state->loop);
}

static void
closed_cb(MeRpcServer *server, const GError *error, gpointer user_data)
{
	HostState *state = user_data;

	if (error != NULL) {
		g_message("%s", error->message);
		state->exit_status = 1;
	}
	state->closing = TRUE;
	g_timeout_add(HOST_FLUSH_TIMEOUT_MS, flush_timeout_cb, state);
	me_rpc_server_flush(server, flush_cb, state);
}

static gboolean
signal_cb(gpointer user_data)
{
	HostState *state = user_data;

	/* a second signal while draining: stop waiting */
	if (state->closing) {
		g_main_loop_quit(state->loop);
		return G_SOURCE_CONTINUE;
	}
	g_debug("terminating on a signal");
	me_rpc_server_close(state->server);
	return G_SOURCE_CONTINUE;
}

/* ---- the standard streams */

/* moves the frame stream on @fd to a descriptor of its own and puts @replacement on @fd,
 * so a stray printf() cannot corrupt the frames and nothing else reads them */
static gint
take_fd(gint fd, gint replacement)
{
	gint copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct stat st;

	if (copy < 0 || dup2(replacement, fd) < 0)
		return -1;
	/* pipes and sockets: never block the main loop on a full pipe */
	if (fstat(copy, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		(void)g_unix_set_fd_nonblocking(copy, TRUE, NULL);
	return copy;
}

static void
print_to_stderr(const gchar *text)
{
	fputs(text, stderr);
}

static gint
dump_error_codes(void)
{
	g_autoptr(JsonNode) table = me_rpc_error_table_to_json();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;

	json_generator_set_pretty(gen, TRUE);
	json_generator_set_root(gen, table);
	text = json_generator_to_data(gen, NULL);
	g_print("%s\n", text);
	return 0;
}

/* the inbound cap: the configuration's max-frame-bytes; a configuration that cannot be read
 * must not silence the helper, so that case logs why and keeps the default */
static gsize
inbound_cap(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = me_config_load_default(&error);
	const GPtrArray *diagnostics;

	if (config == NULL) {
		g_message("%s", error->message);
		return ME_RPC_DEFAULT_MAX_INBOUND;
	}
	diagnostics = me_config_get_diagnostics(config);
	for (guint i = 0; i < diagnostics->len; i++)
		g_message("%s", (const gchar *)g_ptr_array_index(diagnostics, i));
	return CLAMP(me_config_get_general(config)->max_frame_bytes, ME_RPC_MIN_INBOUND, ME_RPC_MAX_INBOUND);
}

static gint
run(const gchar *extension_id)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GInputStream) input = NULL;
	g_autoptr(GOutputStream) output = NULL;
	HostState state = {.loop = loop, .exit_status = 0};
	gint null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	gint in_fd = null_fd >= 0 ? take_fd(STDIN_FILENO, null_fd) : -1;
	gint out_fd = take_fd(STDOUT_FILENO, STDERR_FILENO);
	gsize max_inbound = inbound_cap();
	guint term_id;
	guint int_id;
#ifdef ME_TEST_HOOKS
	MeHostTestControl *control = NULL;
#endif

	if (null_fd >= 0)
		close(null_fd);
	if (in_fd < 0 || out_fd < 0) {
		g_printerr("%s\n",
			   /* TRANSLATORS: the helper could not set up its standard input and output */
			   _("The helper could not take over its standard input and output; start it from Thunderbird."));
		return 1;
	}
	/* a mail client that went away must end in an error from write(), not in SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	g_set_print_handler(print_to_stderr);

	input = g_unix_input_stream_new(in_fd, TRUE);
	output = g_unix_output_stream_new(out_fd, TRUE);
	state.server = me_rpc_server_new(input, output, max_inbound);
	me_rpc_server_set_extension_id(state.server, extension_id);
	me_rpc_server_add_method(state.server, "ping", ping_cb, NULL, NULL);
	me_host_register_methods(state.server);
#ifdef ME_TEST_HOOKS
	me_rpc_server_add_unlisted_method(state.server, "test.heap", test_heap_cb, NULL, NULL);
#endif
	g_signal_connect(state.server, "closed", G_CALLBACK(closed_cb), &state);
	term_id = g_unix_signal_add(SIGTERM, signal_cb, &state);
	int_id = g_unix_signal_add(SIGINT, signal_cb, &state);

	me_rpc_server_start(state.server);
#ifdef ME_TEST_HOOKS
	/* end-to-end tests only, and only in the test build (mailenroll-helper-test): their
	 * driver's socket (host-test-control.c); what ships has no such code */
	if (g_getenv(ME_HOST_TEST_CONTROL_ENV) != NULL) {
		g_autoptr(GError) error = NULL;
		control = me_host_test_control_start(state.server, g_getenv(ME_HOST_TEST_CONTROL_ENV), &error);
		if (control == NULL)
			g_message("test control: %s", error->message);
	}
#endif
	g_main_loop_run(loop);
#ifdef ME_TEST_HOOKS
	g_clear_pointer(&control, me_host_test_control_free);
#endif

	g_source_remove(term_id);
	g_source_remove(int_id);
	/* let cancelled reads and writes finish, so the server can go */
	for (guint i = 0; i < 100 && g_main_context_iteration(NULL, FALSE); i++)
		;
	g_signal_handlers_disconnect_by_data(state.server, &state);
	g_object_unref(state.server);
	return state.exit_status;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) remaining = NULL;
	gboolean version = FALSE;
	gboolean dump_codes = FALSE;
	const GOptionEntry entries[] = {
	    /* TRANSLATORS: help for --version */
	    {"version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Show the version and exit"), NULL},
	    {"dump-error-codes", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &dump_codes, NULL, NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &remaining, NULL, NULL},
	    {NULL},
	};

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	/* stdout is the wire: every log level goes to stderr */
	g_log_writer_default_set_use_stderr(TRUE);
	/* keys and passwords pass through this process: no core dump may keep them */
	if (!me_secure_harden_process(&error)) {
		g_printerr("%s\n", error->message);
		return 1;
	}

	/* TRANSLATORS: the arguments Thunderbird passes; shown by --help */
	context = g_option_context_new(_("[MANIFEST [EXTENSION-ID]]"));
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(context,
				     /* TRANSLATORS: the summary shown by mailenroll-helper --help */
				     _("The native-messaging host of the mailenroll Thunderbird extension. Thunderbird starts it; "
				       "it speaks JSON-RPC 2.0 on standard input and output."));
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr(/* TRANSLATORS: %s is GLib's reason, e.g. "Unknown option --foo" */
			   _("The command line is not valid (%s); run mailenroll-helper --help to see the options."),
			   error->message);
		g_printerr("\n");
		return 2;
	}
	if (version) {
		g_print("mailenroll-helper %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (dump_codes)
		return dump_error_codes();
	/* Thunderbird, or the desktop portal for a sandboxed one, passes the manifest path and
	 * the extension id; the id decides whether the profile hello names is taken */
	if (remaining != NULL && remaining[0] != NULL)
		g_debug("started for %s", remaining[0]);
	return run(remaining != NULL && remaining[0] != NULL ? remaining[1] : NULL);
}
