/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "dnsmasq.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "test-util.h"

#define DNSMASQ_BINARY "/usr/sbin/dnsmasq"
/* a TXT character-string holds at most 255 bytes (RFC 1035 §3.3) */
#define TXT_STRING_MAX 255
/* a port that was free a moment ago may be taken by the time dnsmasq binds it */
#define START_ATTEMPTS 3

struct _MeTestDnsmasq {
	GPtrArray *options; /* --local, --txt-record, --host-record: on the command line, where
			     * dnsmasq has no line length limit as it has in a conf file */
	GSubprocess *proc;
	gchar *dir;
	gchar *nameserver;
	guint16 port;
};

/**
 * me_test_dnsmasq_new:
 *
 * Returns: (transfer full): a server with no records yet; add some, then me_test_dnsmasq_start()
 */
MeTestDnsmasq *
me_test_dnsmasq_new(void)
{
	MeTestDnsmasq *dnsmasq = g_new0(MeTestDnsmasq, 1);
	dnsmasq->options = g_ptr_array_new_with_free_func(g_free);
	dnsmasq->dir = me_test_tmpdir();
	return dnsmasq;
}

/**
 * me_test_dnsmasq_add_zone:
 * @dnsmasq: a server not started yet
 * @domain: a domain it is authoritative for: unknown names below it get NXDOMAIN, not REFUSED
 */
void
me_test_dnsmasq_add_zone(MeTestDnsmasq *dnsmasq, const gchar *domain)
{
	g_assert_null(dnsmasq->proc);
	g_ptr_array_add(dnsmasq->options, g_strdup_printf("--local=/%s/", domain));
}

/**
 * me_test_dnsmasq_add_txt_strings:
 * @dnsmasq: a server not started yet
 * @name: the owner name
 * @strings: the character-strings of one TXT record, each at most 255 bytes and without commas
 *
 * Adds one TXT record; calling it twice for a name gives the name two records.
 */
void
me_test_dnsmasq_add_txt_strings(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *const *strings)
{
	GString *option = g_string_new("--txt-record=");

	g_assert_null(dnsmasq->proc);
	g_string_append(option, name);
	for (guint i = 0; strings[i] != NULL; i++) {
		/* on the command line dnsmasq splits the strings at commas and takes no quoting */
		g_assert_cmpuint(strlen(strings[i]), <=, TXT_STRING_MAX);
		g_assert_null(strchr(strings[i], ','));
		g_string_append_c(option, ',');
		g_string_append(option, strings[i]);
	}
	g_ptr_array_add(dnsmasq->options, g_string_free(option, FALSE));
}

/**
 * me_test_dnsmasq_add_txt:
 * @dnsmasq: a server not started yet
 * @name: the owner name
 * @text: the record's text, cut into 255-byte character-strings as DKIM key records are
 */
void
me_test_dnsmasq_add_txt(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *text)
{
	g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
	gsize len = strlen(text);

	for (gsize off = 0; off < len || off == 0; off += TXT_STRING_MAX)
		g_ptr_array_add(strings, g_strndup(text + off, MIN(TXT_STRING_MAX, len - off)));
	g_ptr_array_add(strings, NULL);
	me_test_dnsmasq_add_txt_strings(dnsmasq, name, (const gchar *const *)strings->pdata);
}

/**
 * me_test_dnsmasq_add_host:
 * @dnsmasq: a server not started yet
 * @name: a name
 * @ipv4: its A record; a TXT query for @name then gets an empty answer (NODATA)
 */
void
me_test_dnsmasq_add_host(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *ipv4)
{
	g_assert_null(dnsmasq->proc);
	g_ptr_array_add(dnsmasq->options, g_strdup_printf("--host-record=%s,%s", name, ipv4));
}

/* runs in the child: dnsmasq dies with the test, even when the test crashes */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static GPtrArray *
command_line(MeTestDnsmasq *dnsmasq)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	const gchar *fixed[] = {DNSMASQ_BINARY, "--no-daemon", "--conf-file=/dev/null", "--listen-address=127.0.0.1",
				"--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--log-facility=-",
				"--log-queries"};

	for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, g_strdup(fixed[i]));
	g_ptr_array_add(argv, g_strdup_printf("--port=%u", dnsmasq->port));
	for (guint i = 0; i < dnsmasq->options->len; i++)
		g_ptr_array_add(argv, g_strdup(g_ptr_array_index(dnsmasq->options, i)));
	g_ptr_array_add(argv, NULL);
	return argv;
}

/* dnsmasq answers TCP on the same port once it is ready; stop waiting if it exited */
static gboolean
wait_ready(MeTestDnsmasq *dnsmasq)
{
	for (guint i = 0; i < 100; i++) {
		if (me_test_wait_port(dnsmasq->port, 50))
			return TRUE;
		if (g_subprocess_get_identifier(dnsmasq->proc) == NULL)
			return FALSE;
	}
	return FALSE;
}

static gboolean
start_once(MeTestDnsmasq *dnsmasq, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_autofree gchar *log_path = g_build_filename(dnsmasq->dir, "dnsmasq.log", NULL);
	g_autoptr(GPtrArray) argv = NULL;
	g_autofree gchar *log = NULL;

	dnsmasq->port = me_test_free_port();
	argv = command_line(dnsmasq);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_path);
	dnsmasq->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (dnsmasq->proc == NULL)
		return FALSE;
	if (wait_ready(dnsmasq))
		return TRUE;
	g_subprocess_force_exit(dnsmasq->proc);
	g_subprocess_wait(dnsmasq->proc, NULL, NULL);
	g_clear_object(&dnsmasq->proc);
	if (g_file_get_contents(log_path, &log, NULL, NULL))
		g_test_message("dnsmasq did not start:\n%s", log);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "dnsmasq did not start");
	return FALSE;
}

/**
 * me_test_dnsmasq_start:
 * @dnsmasq: a server with its records
 * @error: (nullable): return location
 *
 * Starts `/usr/sbin/dnsmasq --no-daemon` on 127.0.0.1 and a free UDP/TCP port, with no
 * configuration file, no upstream servers and no /etc/hosts: it knows only the records added.
 * Its log (queries included) goes to the test log when it fails to start.
 *
 * Returns: %TRUE once it accepts queries
 */
gboolean
me_test_dnsmasq_start(MeTestDnsmasq *dnsmasq, GError **error)
{
	g_assert_null(dnsmasq->proc);
	if (!g_file_test(DNSMASQ_BINARY, G_FILE_TEST_IS_EXECUTABLE)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    DNSMASQ_BINARY " is missing (Debian package dnsmasq-base)");
		return FALSE;
	}
	for (guint i = 0; i < START_ATTEMPTS; i++) {
		g_clear_error(error);
		if (start_once(dnsmasq, error)) {
			dnsmasq->nameserver = g_strdup_printf("127.0.0.1:%u", dnsmasq->port);
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * me_test_dnsmasq_get_nameserver:
 * @dnsmasq: a running server
 *
 * Returns: (transfer none): `127.0.0.1:PORT`, as me_dns_new() takes it
 */
const gchar *
me_test_dnsmasq_get_nameserver(MeTestDnsmasq *dnsmasq)
{
	g_assert_nonnull(dnsmasq->nameserver);
	return dnsmasq->nameserver;
}

/**
 * me_test_dnsmasq_get_port:
 * @dnsmasq: a running server
 *
 * Returns: its port on 127.0.0.1
 */
guint16
me_test_dnsmasq_get_port(MeTestDnsmasq *dnsmasq)
{
	return dnsmasq->port;
}

/* the query name of one --log-queries line, "... query[TXT] NAME from 127.0.0.1", or NULL */
static gchar *
query_name(const gchar *line)
{
	const gchar *start = strstr(line, " query[");
	const gchar *end;

	if (start == NULL || (start = strstr(start, "] ")) == NULL)
		return NULL;
	start += 2;
	end = strstr(start, " from ");
	return end != NULL ? g_strndup(start, end - start) : NULL;
}

/**
 * me_test_dnsmasq_count_queries:
 * @dnsmasq: a running server
 * @suffix: (nullable): count only names that end in this (ASCII case ignored), e.g. a domain
 *
 * Reads dnsmasq's query log (`--log-queries`): what reached the server, whatever the
 * resolver under test made of the answers.
 *
 * Returns: how many queries of any type dnsmasq has received so far
 */
guint
me_test_dnsmasq_count_queries(MeTestDnsmasq *dnsmasq, const gchar *suffix)
{
	g_autofree gchar *path = g_build_filename(dnsmasq->dir, "dnsmasq.log", NULL);
	g_autofree gchar *log = NULL;
	g_autofree gchar *lower_suffix = suffix != NULL ? g_ascii_strdown(suffix, -1) : NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0;

	g_assert_nonnull(dnsmasq->proc);
	if (!g_file_get_contents(path, &log, NULL, NULL))
		return 0;
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autofree gchar *name = query_name(lines[i]);
		g_autofree gchar *lower = name != NULL ? g_ascii_strdown(name, -1) : NULL;
		if (lower != NULL && (lower_suffix == NULL || g_str_has_suffix(lower, lower_suffix)))
			n++;
	}
	return n;
}

/**
 * me_test_dnsmasq_free:
 * @dnsmasq: (nullable): a server
 *
 * Stops it and removes its files.
 */
void
me_test_dnsmasq_free(MeTestDnsmasq *dnsmasq)
{
	if (dnsmasq == NULL)
		return;
	if (dnsmasq->proc != NULL) {
		g_subprocess_send_signal(dnsmasq->proc, SIGTERM);
		me_test_subprocess_end(dnsmasq->proc, "dnsmasq", 15000);
		g_object_unref(dnsmasq->proc);
	}
	me_test_rm_rf(dnsmasq->dir);
	g_free(dnsmasq->dir);
	g_free(dnsmasq->nameserver);
	g_ptr_array_unref(dnsmasq->options);
	g_free(dnsmasq);
}
