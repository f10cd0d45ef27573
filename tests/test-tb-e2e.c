/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The whole product in a real Thunderbird: Debian's thunderbird headless on a fresh
 * profile with an IMAP account on a standalone dovecot, the built extension (.xpi) and the
 * built mailenroll-helper registered for it, the RFC 8823 test CA mailing its challenge
 * into dovecot and taking replies on its SMTP listener (Thunderbird's SMTP server), the
 * helper's keyring a gnome-keyring on the test's private D-Bus session.
 *
 * The test drives the extension through the helper's test control socket
 * (messaging/PROTOCOL.md §10): it asks for a certificate as the options page does and
 * answers the prompt as the Approve/Decline buttons do.  Everything else is the product:
 * Thunderbird fetching the challenge, the extension spotting it and asking the helper,
 * the reply sent through the identity's own account, the CA validating it, the
 * certificate imported into the running profile and bound to the identity, and finally a
 * message Thunderbird signs with it, verified by `openssl smime -verify`. */

#define G_LOG_DOMAIN "MeTestTbE2e"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "dnsmasq.h"
#include "dovecot.h"
#include "keyring-fixture.h"
#include "state.h"
#include "tb-fixture.h"
#include "test-util.h"

#define USER	  "alice"
#define PASSWORD  "imap-secret"
#define MAILBOX	  "alice@example.org"
#define FULL_NAME "Alice Example"
/* every wait: Thunderbird starts in 1-3 s, far slower on a busy 2-core machine */
#define WAIT_MS 90000

typedef struct {
	MeTestAcmeCa *ca;
	MeTestDnsmasq *dns;
	MeTestDovecot *dovecot;
	MeTestThunderbird *tb;
	gchar *dir;
	gchar *home;
	gchar *profile;
	gchar *sysconf;
	gchar *control_path;
	GSocketConnection *control;
	GDataInputStream *control_in;
	gint64 t0;
	gboolean dumping;
} Fixture;

typedef struct {
	gboolean approve;
	gboolean forged_first;
	gboolean restart;
} Scenario;

static const gchar *
missing_program(void)
{
	if (!g_file_test("/usr/bin/thunderbird", G_FILE_TEST_IS_EXECUTABLE))
		return "Thunderbird is not installed";
	if (!g_file_test("/usr/sbin/dovecot", G_FILE_TEST_IS_EXECUTABLE))
		return "dovecot is not installed (Debian package dovecot-imapd)";
	if (g_getenv("ME_TEST_XPI") == NULL || !g_file_test(g_getenv("ME_TEST_XPI"), G_FILE_TEST_EXISTS))
		return "the extension (.xpi) was not built";
	return NULL;
}

static void
test_skipped(gconstpointer data)
{
	g_test_skip(data);
}

/* ---- logs and steps */

static JsonNode *control_call(Fixture *fx, const gchar *method, const gchar *params_json, gchar **error_message);

static void
dump_logs(Fixture *fx)
{
	/* the extension's own log lines (Thunderbird's stdout is written late); once, as a
	 * control that fails gets here again */
	if (fx->control != NULL && !fx->dumping) {
		g_autoptr(JsonNode) state = control_call(fx, "state", NULL, NULL);
		JsonArray *lines = state != NULL && JSON_NODE_HOLDS_OBJECT(state)
				       ? json_object_get_array_member(json_node_get_object(state), "log")
				       : NULL;
		fx->dumping = TRUE;
		g_test_message("---- the extension's log");
		for (guint i = 0; lines != NULL && i < json_array_get_length(lines); i++)
			g_test_message("  %s", json_array_get_string_element(lines, i));
	}
	if (fx->tb != NULL) {
		g_autofree gchar *log = me_test_thunderbird_get_log(fx->tb);
		g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
		g_test_message("---- Thunderbird log");
		for (guint i = 0; lines[i] != NULL; i++) {
			if (*g_strstrip(lines[i]) != '\0' && strstr(lines[i], "gtk_icon_theme_") == NULL)
				g_test_message("  %s", lines[i]);
		}
	}
	if (fx->dovecot != NULL) {
		g_autofree gchar *log = me_test_dovecot_get_log(fx->dovecot);
		g_test_message("---- dovecot log\n%s", log);
	}
}

static void
step(Fixture *fx, gboolean ok, const gchar *what)
{
	gdouble elapsed = (gdouble)(g_get_monotonic_time() - fx->t0) / G_USEC_PER_SEC;

	if (!ok) {
		g_test_message("FAILED after %.2f s: %s", elapsed, what);
		dump_logs(fx);
	} else {
		g_test_message("%6.2f s  %s", elapsed, what);
	}
	g_assert_true(ok);
}

/* ---- the test control socket */

static void
control_close(Fixture *fx)
{
	if (fx->control != NULL)
		g_io_stream_close(G_IO_STREAM(fx->control), NULL, NULL);
	g_clear_object(&fx->control_in);
	g_clear_object(&fx->control);
}

/* connects once the helper Thunderbird started listens (the extension starts it at once) */
static void
control_connect(Fixture *fx)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(fx->control_path);
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

	control_close(fx);
	while (fx->control == NULL && g_get_monotonic_time() < deadline) {
		fx->control = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(address), NULL, NULL);
		if (fx->control == NULL)
			g_usleep(100000);
	}
	step(fx, fx->control != NULL, "the extension started mailenroll-helper (its test control socket answers)");
	g_socket_set_timeout(g_socket_connection_get_socket(fx->control), WAIT_MS / 1000);
	fx->control_in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(fx->control)));
}

/* one test.<method> request to the extension; returns its result, or %NULL and the error's
 * message in @error_message */
static JsonNode *
control_call(Fixture *fx, const gchar *method, const gchar *params_json, gchar **error_message)
{
	g_autofree gchar *line = g_strdup_printf("{\"method\":\"%s\",\"params\":%s}\n", method,
						 params_json != NULL ? params_json : "{}");
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(fx->control));
	g_autoptr(GError) error = NULL;
	g_autofree gchar *answer = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *obj;

	g_assert_true(g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error));
	g_assert_no_error(error);
	answer = g_data_input_stream_read_line_utf8(fx->control_in, NULL, NULL, &error);
	if (answer == NULL) {
		g_test_message("test.%s: %s", method, error != NULL ? error->message : "the helper hung up");
		step(fx, FALSE, "the extension answers the test control");
	}
	g_assert_true(json_parser_load_from_data(parser, answer, -1, &error));
	obj = json_node_get_object(json_parser_get_root(parser));
	if (json_object_has_member(obj, "error")) {
		const gchar *msg = json_object_get_string_member(json_object_get_object_member(obj, "error"), "message");
		g_test_message("test.%s → error: %s", method, msg);
		if (error_message != NULL)
			*error_message = g_strdup(msg);
		return NULL;
	}
	return json_node_copy(json_object_get_member(obj, "result"));
}

static JsonNode *
control_call_ok(Fixture *fx, const gchar *method, const gchar *params_json)
{
	g_autofree gchar *msg = NULL;
	JsonNode *result = control_call(fx, method, params_json, &msg);

	if (result == NULL) {
		g_autofree gchar *what = g_strdup_printf("test.%s succeeds (%s)", method, msg);
		step(fx, FALSE, what);
	}
	return result;
}

/* polls test.state until @member of its result is at least @at_least */
static gboolean
wait_state_count(Fixture *fx, const gchar *member, gint64 at_least)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(JsonNode) state = control_call(fx, "state", NULL, NULL);
		if (state != NULL && JSON_NODE_HOLDS_OBJECT(state) &&
		    json_object_get_int_member_with_default(json_node_get_object(state), member, 0) >= at_least)
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

/* ---- the helper's enrollment, read from its state file (the test's own view) */

static gchar *
enrollment_step(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->home, ".local", "state", "mailenroll", NULL);
	g_autoptr(GPtrArray) states = me_state_list(dir, NULL);

	for (guint i = 0; states != NULL && i < states->len; i++) {
		MeState *st = g_ptr_array_index(states, i);
		if (g_strcmp0(me_state_get_string(st, "mailbox"), MAILBOX) == 0)
			return g_strdup(me_state_get_string(st, "state"));
	}
	return NULL;
}

static gboolean
wait_enrollment_step(Fixture *fx, const gchar *want)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		g_autofree gchar *now = enrollment_step(fx);
		if (g_strcmp0(now, want) == 0)
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

static gint64
ca_counter(Fixture *fx, const gchar *what)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *challenges = json_object_get_array_member(status, "challenges");
	gint64 n = 0;

	if (g_strcmp0(what, "replies") == 0) {
		for (guint i = 0; challenges != NULL && i < json_array_get_length(challenges); i++)
			n += json_object_get_int_member(json_array_get_object_element(challenges, i), "reply_count");
		return n;
	}
	return json_object_get_int_member_with_default(json_object_get_object_member(status, "counters"), what, 0);
}

/* ---- set-up */

static void
write_config(Fixture *fx)
{
	g_autofree gchar *conf = g_strdup_printf("[general]\n"
						 "default-ca=test\n"
						 "[ca test]\n"
						 "directory=%s\n"
						 "ca-file=%s\n"
						 "dns-server=%s\n"
						 "key-type=ec-p256\n"
						 "agree-tos=true\n"
						 /* Thunderbird signs only with a certificate it can verify */
						 "trust-ca=true\n",
						 me_test_acme_ca_get(fx->ca, "DIRECTORY"), me_test_acme_ca_get(fx->ca, "CA_FILE"),
						 me_test_dnsmasq_get_nameserver(fx->dns));
	g_autofree gchar *path = NULL;

	fx->sysconf = g_build_filename(fx->dir, "etc", NULL);
	g_assert_cmpint(g_mkdir(fx->sysconf, 0700), ==, 0);
	path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", conf);
}

static void
setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *txt = NULL;
	g_autofree gchar *prefs = NULL;
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *ca_maildir = NULL;
	MeTestTbAccount account = {0};

	const Scenario *sc = data;

	fx->t0 = g_get_monotonic_time();
	fx->dir = me_test_tmpdir();
	fx->home = g_build_filename(fx->dir, "home", NULL);
	g_assert_cmpint(g_mkdir(fx->home, 0700), ==, 0);
	fx->dovecot = me_test_dovecot_start(USER, PASSWORD, &error);
	g_assert_no_error(error);
	ca_maildir = g_strdup_printf("--maildir=%s", me_test_dovecot_get_maildir(fx->dovecot));
	{
		/* with a forgery first, the real challenge takes a few seconds longer to come */
		const gchar *argv[] = {"--dkim", "ed25519", ca_maildir, sc->forged_first ? "--mail-delay=4" : NULL, NULL};
		fx->ca = me_test_acme_ca_start(argv, &error);
		g_assert_no_error(error);
	}
	g_assert_true(g_file_get_contents(me_test_acme_ca_get(fx->ca, "DKIM_TXT"), &txt, NULL, NULL));
	fx->dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_txt(fx->dns, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"), g_strstrip(txt));
	me_test_dnsmasq_start(fx->dns, &error);
	g_assert_no_error(error);
	write_config(fx);

	account.imap_port = me_test_dovecot_get_port(fx->dovecot);
	account.imap_user = USER;
	account.full_name = FULL_NAME;
	account.email = MAILBOX;
	account.smtp_port = (guint16)g_ascii_strtoull(me_test_acme_ca_get(fx->ca, "SMTP_REPLY_PORT"), NULL, 10);
	prefs = me_test_thunderbird_account_prefs(&account);
	fx->profile = me_test_thunderbird_make_profile(fx->dir, "profile", prefs);
	g_assert_true(me_test_thunderbird_seed_login(fx->profile, "imap://127.0.0.1", USER, PASSWORD, &error));
	g_assert_no_error(error);
	g_assert_true(me_test_thunderbird_install_extension(fx->profile, ME_EXTENSION_ID, g_getenv("ME_TEST_XPI"), &error));
	g_assert_no_error(error);
	manifest = me_test_thunderbird_write_host_manifest(fx->home, g_getenv("ME_TEST_HELPER"), &error);
	g_assert_no_error(error);
	fx->control_path = g_build_filename(fx->dir, "control.sock", NULL);
	step(fx, TRUE, "dovecot, the test CA, dnsmasq and the profile are ready");
}

static void
start_thunderbird(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sysconf = g_strdup_printf("MAILENROLL_SYSCONFDIR=%s", fx->sysconf);
	g_autofree gchar *control = g_strdup_printf("MAILENROLL_TEST_CONTROL=%s", fx->control_path);
	g_autofree gchar *bus = g_strdup_printf("DBUS_SESSION_BUS_ADDRESS=%s", g_getenv("DBUS_SESSION_BUS_ADDRESS"));
	const gchar *env[] = {sysconf, control, bus, "G_MESSAGES_DEBUG=MeHost", NULL};

	fx->tb = me_test_thunderbird_start_with_env(fx->home, fx->profile, env, &error);
	g_assert_no_error(error);
	step(fx, TRUE, "Thunderbird runs");
	control_connect(fx);
	step(fx, wait_state_count(fx, "identities", 1), "the extension is connected and sees the identity");
}

static void
stop_thunderbird(Fixture *fx)
{
	control_close(fx);
	me_test_thunderbird_stop(g_steal_pointer(&fx->tb));
	step(fx, TRUE, "Thunderbird quit");
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	control_close(fx);
	me_test_thunderbird_stop(fx->tb);
	me_test_dnsmasq_free(fx->dns);
	me_test_acme_ca_stop(fx->ca);
	me_test_dovecot_stop(fx->dovecot);
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->home);
	g_free(fx->profile);
	g_free(fx->sysconf);
	g_free(fx->control_path);
}

/* ---- the checks */

/* a challenge-looking mail from the CA's address that no order asked for and nobody signed */
static void
deliver_forged(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");
	g_autofree gchar *msg = g_strdup_printf("From: %s\r\n"
						"To: " MAILBOX "\r\n"
						"Subject: ACME: dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu\r\n"
						"Date: %s\r\n"
						"Message-ID: <forged-e2e@attacker.test>\r\n"
						"Auto-Submitted: auto-generated; type=acme\r\n"
						"MIME-Version: 1.0\r\n"
						"Content-Type: text/plain; charset=us-ascii\r\n"
						"\r\n"
						"This is a forged challenge.\r\n",
						me_test_acme_ca_get(fx->ca, "FROM"), date);

	g_assert_true(me_test_dovecot_deliver(fx->dovecot, msg, -1, &error));
	g_assert_no_error(error);
}

/* the certificate in the profile's NSS database, read by Thunderbird's certutil after it quit */
static void
check_profile_store(Fixture *fx)
{
	g_autofree gchar *db = g_strconcat("sql:", fx->profile, NULL);
	const gchar *argv[] = {"env", "LD_LIBRARY_PATH=/usr/lib/thunderbird", "certutil", "-L", "-d", db, NULL};
	g_autofree gchar *out = NULL;
	gint rc = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, NULL, &rc));
	g_test_message("certutil -L:\n%s", out);
	step(fx, rc == 0 && strstr(out, MAILBOX) != NULL && strstr(out, "u,u,u") != NULL,
	     "the certificate and its key are in the profile's NSS database");
}

/* Thunderbird signed a message with the new certificate; openssl verifies it against the
 * test CA's S/MIME root */
static void
check_signed_message(Fixture *fx)
{
	g_autoptr(JsonNode) sent = NULL;
	g_autofree gchar *dir = g_strdup(me_test_acme_ca_get(fx->ca, "SMTP_RECEIVED_DIR"));
	g_autofree gchar *found = NULL;
	gint64 deadline;

	sent = control_call_ok(fx, "sendSigned",
			       "{\"mailbox\":\"" MAILBOX "\",\"to\":\"bob@example.net\",\"subject\":\"signed by mailenroll e2e\","
			       "\"body\":\"This message is signed.\"}");
	deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
	while (found == NULL && g_get_monotonic_time() < deadline) {
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *path = g_build_filename(dir, name, NULL);
			g_autofree gchar *text = NULL;
			if (g_str_has_suffix(name, ".eml") && g_file_get_contents(path, &text, NULL, NULL) &&
			    strstr(text, "signed by mailenroll e2e") != NULL)
				found = g_steal_pointer(&path);
		}
		if (found == NULL)
			g_usleep(200000);
	}
	step(fx, found != NULL, "Thunderbird sent the signed message");
	{
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		gint rc = -1;
		/* the CA's intermediate is offered in case Thunderbird left it out */
		const gchar *argv[] = {"openssl", "cms", "-verify", "-in", found, "-CAfile",
				       me_test_acme_ca_get(fx->ca, "SMIME_ROOT"), "-certfile",
				       me_test_acme_ca_get(fx->ca, "SMIME_INTERMEDIATE"), "-purpose", "smimesign",
				       "-out", "/dev/null", NULL};
		g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &rc));
		g_test_message("openssl cms -verify: %s%s", out, err);
		step(fx, rc == 0 && strstr(err, "Verification successful") != NULL, "openssl cms -verify accepts its signature");
	}
}

/* ---- the in-client timeline (issue 18): every part's own clock, side by side
 *
 * Each part says when it did what: the test (the request, the click on Approve), the test
 * CA (each request answered, the mail sent, the reply received, the challenge decided;
 * its status "timeline"), dovecot (what it told Thunderbird and what Thunderbird asked, in
 * its rawlog) and the extension (its log lines).  All are wall-clock times of one machine,
 * so they line up; the test's polling adds nothing to them. */

typedef struct {
	gdouble at; /* seconds since the epoch */
	gchar *what;
} Mark;

static void
mark_clear(gpointer data)
{
	g_free(((Mark *)data)->what);
}

static void
mark_add(GArray *marks, gdouble at, const gchar *who, const gchar *what)
{
	Mark m = {at, g_strdup_printf("%-9s %s", who, what)};

	g_array_append_val(marks, m);
}

static gint
mark_cmp(gconstpointer a, gconstpointer b)
{
	gdouble d = ((const Mark *)a)->at - ((const Mark *)b)->at;

	return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/* the CA's events after @since */
static void
timeline_ca(Fixture *fx, GArray *marks, gdouble since)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *events = json_object_get_array_member(status, "timeline");

	for (guint i = 0; events != NULL && i < json_array_get_length(events); i++) {
		JsonObject *e = json_array_get_object_element(events, i);
		gdouble at = json_object_get_double_member(e, "at");
		if (at >= since)
			mark_add(marks, at, "CA", json_object_get_string_member(e, "event"));
	}
}

/* dovecot's rawlog lines ("SECONDS.MICROS text") after @since that hold one of @needles */
static void
timeline_imap(Fixture *fx, GArray *marks, gdouble since, MeTestImapDirection dir, const gchar *who,
	      const gchar *const *needles)
{
	g_autofree gchar *log = me_test_dovecot_get_rawlog(fx->dovecot, dir);
	g_auto(GStrv) lines = g_strsplit(log != NULL ? log : "", "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *end = NULL;
		gdouble at = g_ascii_strtod(lines[i], &end);
		if (end == lines[i] || at < since)
			continue;
		for (guint n = 0; needles[n] != NULL; n++) {
			if (strstr(end, needles[n]) != NULL) {
				g_autofree gchar *text = g_strndup(g_strstrip(end), 90);
				mark_add(marks, at, who, text);
				break;
			}
		}
	}
}

/* the extension's log lines (ISO 8601 UTC to the millisecond, then the text) after @since */
static void
timeline_extension(Fixture *fx, GArray *marks, gdouble since)
{
	g_autoptr(JsonNode) state = control_call(fx, "state", NULL, NULL);
	JsonArray *lines = state != NULL && JSON_NODE_HOLDS_OBJECT(state)
			       ? json_object_get_array_member(json_node_get_object(state), "log")
			       : NULL;

	for (guint i = 0; lines != NULL && i < json_array_get_length(lines); i++) {
		const gchar *line = json_array_get_string_element(lines, i);
		const gchar *space = strchr(line, ' ');
		g_autofree gchar *iso = space != NULL ? g_strndup(line, (gsize)(space - line)) : NULL;
		g_autoptr(GDateTime) when = iso != NULL ? g_date_time_new_from_iso8601(iso, NULL) : NULL;
		gdouble at;
		g_autofree gchar *text = NULL;

		if (when == NULL)
			continue;
		at = (gdouble)g_date_time_to_unix(when) + g_date_time_get_microsecond(when) / 1e6;
		text = g_strndup(space + 1, 90);
		if (at >= since)
			mark_add(marks, at, "extension", text);
	}
}

/* prints every part's events between the request and the installed certificate, and the
 * time the person took to click (not the product's) */
static void
print_timeline(Fixture *fx, gdouble t_request, gdouble t_click, gdouble t_installed)
{
	g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
	const gchar *from_server[] = {" EXISTS", NULL};
	const gchar *from_client[] = {"IDLE", "fetch", "FETCH", NULL};
	gdouble t_shown = 0, t_answered = 0;

	g_array_set_clear_func(marks, mark_clear);
	mark_add(marks, t_request, "test", "asks for a certificate (the options page's button)");
	mark_add(marks, t_click, "test", "clicks Approve");
	mark_add(marks, t_installed, "test", "sees the state file say installed");
	timeline_ca(fx, marks, t_request);
	timeline_imap(fx, marks, t_request, ME_TEST_IMAP_TO_CLIENT, "dovecot", from_server);
	timeline_imap(fx, marks, t_request, ME_TEST_IMAP_FROM_CLIENT, "TB IMAP", from_client);
	timeline_extension(fx, marks, t_request);
	g_array_sort(marks, mark_cmp);
	g_test_message("in-client timeline (ms since the request; +ms since the line before):");
	for (guint i = 0; i < marks->len; i++) {
		Mark *m = &g_array_index(marks, Mark, i);
		gdouble prev = i > 0 ? g_array_index(marks, Mark, i - 1).at : m->at;
		if (t_shown == 0 && strstr(m->what, "prompt shown for") != NULL)
			t_shown = m->at;
		if (t_answered == 0 && strstr(m->what, "prompt answered for") != NULL)
			t_answered = m->at;
		g_test_message("  %7.0f %+6.0f  %s", (m->at - t_request) * 1000, (m->at - prev) * 1000, m->what);
	}
	/* the test clicks as soon as it sees the prompt counted, and again until the page
	 * answers: the time from the page shown to its answer is the person's, not ours */
	if (t_shown > 0 && t_answered >= t_shown)
		g_test_message("in-client enrollment without the %.0f ms from the prompt shown to its answer: %.2f s",
			       (t_answered - t_shown) * 1000, (t_installed - t_request) - (t_answered - t_shown));
}

/* ---- the scenarios */

static void
test_enroll(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	g_autoptr(JsonNode) enrolled = NULL;
	g_autoptr(JsonNode) binding = NULL;
	gint64 t_request;
	gdouble wall_request, wall_click = 0;

	start_thunderbird(fx);
	t_request = g_get_monotonic_time();
	wall_request = (gdouble)g_get_real_time() / G_USEC_PER_SEC;
	enrolled = control_call_ok(fx, "enroll", "{\"mailbox\":\"" MAILBOX "\"}");
	step(fx, wait_enrollment_step(fx, "waiting-challenge"), "the helper ordered; the CA mails the challenge");
	if (sc->forged_first) {
		/* a forgery in the CA's name races the real challenge */
		deliver_forged(fx);
		step(fx, wait_state_count(fx, "warnings", 1), "the forged challenge is shown as a warning, not a prompt");
	}
	step(fx, wait_state_count(fx, "prompts", 1), "the extension found the challenge and shows the prompt");
	g_assert_cmpint(ca_counter(fx, "replies"), ==, 0);

	if (sc->restart) {
		/* Thunderbird closes before anyone answered: on the next start it finds the
		 * challenge again (start-up scan) and asks again */
		stop_thunderbird(fx);
		start_thunderbird(fx);
		step(fx, wait_state_count(fx, "prompts", 1), "after the restart the extension asks again");
	}
	if (!sc->approve) {
		g_autoptr(JsonNode) clicked = control_call_ok(fx, "prompt.answer", "{\"approve\":false}");
		step(fx, wait_enrollment_step(fx, "waiting-challenge"), "declined: the enrollment waits for another challenge");
		g_usleep(2 * G_USEC_PER_SEC);
		step(fx, ca_counter(fx, "replies_received") == 0, "and nothing was sent");
		return;
	}
	{
		g_autoptr(JsonNode) clicked = NULL;
		wall_click = (gdouble)g_get_real_time() / G_USEC_PER_SEC;
		clicked = control_call_ok(fx, "prompt.answer", "{\"approve\":true}");
	}
	step(fx, wait_enrollment_step(fx, "installed"), "the reply left, the CA issued, the helper installed it");
	g_test_message("in-client enrollment: %.1f s from the request to the installed certificate",
		       (gdouble)(g_get_monotonic_time() - t_request) / G_USEC_PER_SEC);
	print_timeline(fx, wall_request, wall_click, (gdouble)g_get_real_time() / G_USEC_PER_SEC);
	step(fx, ca_counter(fx, "replies") == 1 && ca_counter(fx, "replies_received") == 1,
	     "exactly one reply reached the CA, and nothing else (a forgery gets no answer)");
	/* the extension binds once reply.sent has answered with the import */
	{
		gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
		gboolean bound = FALSE;
		while (!bound && g_get_monotonic_time() < deadline) {
			g_clear_pointer(&binding, json_node_unref);
			binding = control_call_ok(fx, "identity", "{\"mailbox\":\"" MAILBOX "\"}");
			bound = JSON_NODE_HOLDS_OBJECT(binding) &&
				json_object_get_string_member_with_default(json_node_get_object(binding), "signing_cert_dbkey", NULL) !=
				    NULL &&
				json_object_get_boolean_member_with_default(json_node_get_object(binding), "signing_found", FALSE);
			if (!bound)
				g_usleep(200000);
		}
		step(fx, bound, "the certificate is bound to the identity for signing");
	}
	check_signed_message(fx);
	stop_thunderbird(fx);
	check_profile_store(fx);
}

int
main(int argc, char **argv)
{
	static const Scenario approve = {.approve = TRUE};
	static const Scenario forged = {.approve = TRUE, .forged_first = TRUE};
	static const Scenario decline = {.approve = FALSE};
	static const Scenario restart = {.approve = TRUE, .restart = TRUE};
	const gchar *missing;
	gint rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	missing = missing_program();
	if (missing != NULL) {
		g_test_add_data_func("/tb-e2e/enroll", missing, test_skipped);
		return g_test_run();
	}
	me_test_keyring_start();
	g_test_add("/tb-e2e/enroll", Fixture, &approve, setup, test_enroll, teardown);
	g_test_add("/tb-e2e/forged-first", Fixture, &forged, setup, test_enroll, teardown);
	g_test_add("/tb-e2e/decline", Fixture, &decline, setup, test_enroll, teardown);
	g_test_add("/tb-e2e/restart", Fixture, &restart, setup, test_enroll, teardown);
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
