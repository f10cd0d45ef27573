/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "smtp-server.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "test-util.h"

struct _MeTestSmtp {
	GSubprocess *proc;
	gchar *dir;	/* the messages and events.log */
	gchar *tls_dir; /* the server's certificate, outside @dir */
	gchar *cert;
	gchar *key;
	gchar *log; /* its standard error */
	guint16 port;
};

void
me_test_smtp_message_free(MeTestSmtpMessage *message)
{
	if (message == NULL)
		return;
	g_bytes_unref(message->data);
	g_free(message->mail_from);
	g_strfreev(message->rcpt_to);
	g_free(message->login);
	g_free(message);
}

/* runs in the child: the server dies with the test, even when the test crashes */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static GPtrArray *
command_line(MeTestSmtp *smtp, const MeTestSmtpOptions *options)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	const gchar *tls[] = {"none", "starttls", "implicit"};

	g_ptr_array_add(argv, g_strdup(me_test_python()));
	g_ptr_array_add(argv, g_test_build_filename(G_TEST_DIST, "util", "smtp-server.py", NULL));
	g_ptr_array_add(argv, g_strdup("--dir"));
	g_ptr_array_add(argv, g_strdup(smtp->dir));
	g_ptr_array_add(argv, g_strdup("--tls"));
	g_ptr_array_add(argv, g_strdup(tls[options->tls]));
	g_ptr_array_add(argv, g_strdup("--cert"));
	g_ptr_array_add(argv, g_strdup(smtp->cert));
	g_ptr_array_add(argv, g_strdup("--key"));
	g_ptr_array_add(argv, g_strdup(smtp->key));
	if (options->user != NULL) {
		g_ptr_array_add(argv, g_strdup("--auth"));
		g_ptr_array_add(argv, g_strdup_printf("%s:%s", options->user, options->password));
	}
	for (guint i = 0; options->refuse != NULL && options->refuse[i] != NULL; i++) {
		g_ptr_array_add(argv, g_strdup("--refuse"));
		g_ptr_array_add(argv, g_strdup(options->refuse[i]));
	}
	g_ptr_array_add(argv, NULL);
	return argv;
}

/* the PORT=N line, then READY */
static gboolean
read_ready(MeTestSmtp *smtp, GError **error)
{
	g_autoptr(GDataInputStream) lines = g_data_input_stream_new(g_subprocess_get_stdout_pipe(smtp->proc));

	g_filter_input_stream_set_close_base_stream(G_FILTER_INPUT_STREAM(lines), FALSE);
	for (;;) {
		g_autofree gchar *line = g_data_input_stream_read_line_utf8(lines, NULL, NULL, error);
		if (line == NULL) {
			if (error != NULL && *error == NULL)
				g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
						    "the SMTP server exited before READY (is python3-aiosmtpd installed?)");
			return FALSE;
		}
		if (g_str_has_prefix(line, "PORT="))
			smtp->port = (guint16)g_ascii_strtoull(line + 5, NULL, 10);
		if (g_strcmp0(line, "READY") == 0)
			return smtp->port != 0;
	}
}

/**
 * me_test_smtp_start:
 * @options: what the server asks for
 * @error: (nullable): return location
 *
 * Starts tests/util/smtp-server.py with Debian's python on 127.0.0.1 and a free port, with a
 * throwaway certificate for 127.0.0.1 and localhost (me_test_smtp_get_ca_file()).  It stops
 * when its standard input closes, or when the test dies.
 *
 * Returns: (transfer full): the running server, or %NULL with @error set
 */
MeTestSmtp *
me_test_smtp_start(const MeTestSmtpOptions *options, GError **error)
{
	g_autoptr(MeTestSmtp) smtp = g_new0(MeTestSmtp, 1);
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GPtrArray) argv = NULL;

	smtp->dir = me_test_tmpdir();
	smtp->tls_dir = me_test_tmpdir();
	if (!me_test_make_tls_cert(smtp->tls_dir, &smtp->cert, &smtp->key, error))
		return NULL;
	argv = command_line(smtp, options);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	/* aiosmtpd prints a traceback for every client that gives up on TLS: kept out of the
	 * test's output, shown when the server fails to start */
	smtp->log = g_build_filename(smtp->tls_dir, "server.log", NULL);
	g_subprocess_launcher_set_stderr_file_path(launcher, smtp->log);
	smtp->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (smtp->proc == NULL)
		return NULL;
	if (!read_ready(smtp, error)) {
		g_autofree gchar *log = NULL;
		if (g_file_get_contents(smtp->log, &log, NULL, NULL))
			g_test_message("the SMTP server did not start:\n%s", log);
		return NULL;
	}
	return g_steal_pointer(&smtp);
}

/**
 * me_test_smtp_get_port:
 * @smtp: a running server
 *
 * Returns: its port on 127.0.0.1
 */
guint16
me_test_smtp_get_port(MeTestSmtp *smtp)
{
	return smtp->port;
}

/**
 * me_test_smtp_get_ca_file:
 * @smtp: a running server
 *
 * Returns: (transfer none): its self-signed certificate, the one CA a client must trust
 */
const gchar *
me_test_smtp_get_ca_file(MeTestSmtp *smtp)
{
	return smtp->cert;
}

/**
 * me_test_smtp_count_messages:
 * @smtp: a running server
 *
 * A message is stored before the server answers the end of DATA, so a client that was told
 * 250 finds it here at once.
 *
 * Returns: how many messages it accepted
 */
guint
me_test_smtp_count_messages(MeTestSmtp *smtp)
{
	guint n = 0;

	for (;;) {
		g_autofree gchar *name = g_strdup_printf("%u.eml", n + 1);
		g_autofree gchar *path = g_build_filename(smtp->dir, name, NULL);
		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			return n;
		n++;
	}
}

/**
 * me_test_smtp_get_message:
 * @smtp: a running server
 * @index: 0 for the first message accepted
 *
 * Returns: (transfer full): the message and its envelope
 */
MeTestSmtpMessage *
me_test_smtp_get_message(MeTestSmtp *smtp, guint index)
{
	g_autoptr(MeTestSmtpMessage) message = g_new0(MeTestSmtpMessage, 1);
	g_autofree gchar *eml = g_strdup_printf("%s/%u.eml", smtp->dir, index + 1);
	g_autofree gchar *meta = g_strdup_printf("%s/%u.json", smtp->dir, index + 1);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GStrvBuilder) rcpt = g_strv_builder_new();
	JsonObject *obj;
	JsonArray *to;
	gchar *data = NULL;
	gsize len = 0;

	g_assert_true(g_file_get_contents(eml, &data, &len, &error));
	g_assert_no_error(error);
	message->data = g_bytes_new_take(data, len);
	g_assert_true(json_parser_load_from_file(parser, meta, &error));
	g_assert_no_error(error);
	obj = json_node_get_object(json_parser_get_root(parser));
	message->mail_from = g_strdup(json_object_get_string_member(obj, "mail_from"));
	to = json_object_get_array_member(obj, "rcpt_to");
	for (guint i = 0; i < json_array_get_length(to); i++)
		g_strv_builder_add(rcpt, json_array_get_string_element(to, i));
	message->rcpt_to = g_strv_builder_end(rcpt);
	message->tls = json_object_get_boolean_member(obj, "tls");
	message->login = g_strdup(json_object_get_string_member_with_default(obj, "login", NULL));
	return g_steal_pointer(&message);
}

/**
 * me_test_smtp_get_events:
 * @smtp: a running server
 *
 * Returns: (transfer full): every command it acted on, one a line, each followed by "tls" or
 *   "plain" (`CONNECT plain`, `EHLO localhost plain`, `STARTTLS tls`, `AUTH PLAIN ok tls`,
 *   `MAIL a@example.org tls`, `RCPT b@example.org tls`, `DATA 123 tls`); "" before any
 */
gchar *
me_test_smtp_get_events(MeTestSmtp *smtp)
{
	g_autofree gchar *path = g_build_filename(smtp->dir, "events.log", NULL);
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

/**
 * me_test_smtp_stop:
 * @smtp: (nullable): a server
 *
 * Stops it and removes its files.
 */
void
me_test_smtp_stop(MeTestSmtp *smtp)
{
	if (smtp == NULL)
		return;
	if (smtp->proc != NULL) {
		/* closing stdin asks it to stop; SIGTERM if it lingers */
		g_output_stream_close(g_subprocess_get_stdin_pipe(smtp->proc), NULL, NULL);
		if (!g_subprocess_wait_check(smtp->proc, NULL, NULL))
			g_test_message("the SMTP server did not stop cleanly");
		g_object_unref(smtp->proc);
	}
	me_test_rm_rf(smtp->dir);
	me_test_rm_rf(smtp->tls_dir);
	g_free(smtp->dir);
	g_free(smtp->tls_dir);
	g_free(smtp->cert);
	g_free(smtp->key);
	g_free(smtp->log);
	g_free(smtp);
}
