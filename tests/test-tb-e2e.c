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
 * message Thunderbird signs with it, verified by `openssl smime -verify`.
 *
 * /tb-e2e/setup-page starts from an empty configuration and sets everything up in the
 * options page, as a person would (messaging/README.md, "Setting up in the options page"):
 * the test CA added by its URL, its terms agreed, the EAB key entered, then the request.
 * /tb-e2e/setup-locked has a system file that locks the CA and auto-approve: the page shows
 * them as the administrator's, and a write through the page is refused.  With
 * ME_TEST_SCREENSHOTS=DIR both save screenshots of the page there (Thunderbird on an Xvfb
 * of the test's own instead of --headless; docs/screenshots/README.md). */

#define G_LOG_DOMAIN "MeTestTbE2e"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

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
/* the test CA's External Account Binding for /tb-e2e/setup-page (--eab KID:KEY) */
#define EAB_KID "kid-e2e-2026"
#define EAB_KEY "bWFpbGVucm9sbC1lMmUtZWFiLW1hYy1rZXktMzJieXQ"
/* the administrator's CA in /tb-e2e/setup-locked */
#define LOCKED_CA "corp"
#define USER_FILE_TEXT "# Alice's own settings: kept as they are\n[general]\nkey-usage=dual\n"

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
	GSubprocess *xvfb;
	gchar *display; /* DISPLAY of the test's Xvfb, with ME_TEST_SCREENSHOTS */
} Fixture;

/* where the helper's configuration comes from */
typedef enum {
	CONFIG_FILE,   /* a system file with the test CA, written by the test */
	CONFIG_PAGE,   /* none at all: the options page sets it up */
	CONFIG_LOCKED, /* a system file that locks the CA and auto-approve, and a user file */
} ConfigKind;

typedef struct {
	gboolean approve;
	gboolean forged_first;
	gboolean restart;
	ConfigKind config;
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

static gchar *
user_config_path(Fixture *fx)
{
	return g_build_filename(fx->home, ".config", "mailenroll", "mailenroll.conf", NULL);
}

/* the administrator's file of /tb-e2e/setup-locked: the CA, auto-approve and every CA's
 * directory locked (so no CA can be added) */
static void
write_locked_config(Fixture *fx)
{
	g_autofree gchar *conf = g_strdup_printf("[general]\n"
						 "default-ca=" LOCKED_CA "\n"
						 "auto-approve=verified\n"
						 "trust-ca=true\n"
						 "[ca " LOCKED_CA "]\n"
						 "directory=%s\n"
						 "ca-file=%s\n"
						 "dns-server=%s\n"
						 "auto-approve=verified\n"
						 "[policy]\n"
						 "locked=ca */directory;ca */auto-approve;"
						 "general/auto-approve;general/default-ca\n",
						 me_test_acme_ca_get(fx->ca, "DIRECTORY"),
						 me_test_acme_ca_get(fx->ca, "CA_FILE"),
						 me_test_dnsmasq_get_nameserver(fx->dns));
	g_autofree gchar *path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", conf);
	g_autofree gchar *dir = g_build_filename(fx->home, ".config", "mailenroll", NULL);
	g_autofree gchar *user = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	user = me_test_write_tmp(dir, "mailenroll.conf", USER_FILE_TEXT);
}

static void
write_config(Fixture *fx, ConfigKind kind)
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
	if (kind == CONFIG_LOCKED)
		write_locked_config(fx);
	else if (kind == CONFIG_FILE)
		path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", conf);
	/* CONFIG_PAGE: no file at all */
}

/* ---- screenshots (ME_TEST_SCREENSHOTS=DIR): an Xvfb of the test's own */

static void
xvfb_child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void
start_xvfb(Fixture *fx)
{
	const gchar *argv[] = {"/usr/bin/Xvfb", "-displayfd", "1", "-screen", "0", "1280x1600x24",
			       "-nolisten", "tcp", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GDataInputStream) in = NULL;
	g_autofree gchar *number = NULL;

	if (g_getenv("ME_TEST_SCREENSHOTS") == NULL)
		return;
	if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE) ||
	    !g_file_test("/usr/bin/xwd", G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_message("ME_TEST_SCREENSHOTS needs Xvfb and xwd (Debian packages xvfb, x11-apps): none taken");
		return;
	}
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	/* it dies with the test, also when an assertion aborts it before the teardown */
	g_subprocess_launcher_set_child_setup(launcher, xvfb_child_setup, NULL, NULL);
	fx->xvfb = g_subprocess_launcher_spawnv(launcher, argv, &error);
	g_assert_no_error(error);
	in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->xvfb));
	number = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(number);
	fx->display = g_strdup_printf(":%s", g_strstrip(number));
}

/* the root window of the Xvfb (Thunderbird's main window on black) as DIR/@name */
static void
screenshot(Fixture *fx, const gchar *name)
{
	g_autofree gchar *xwd = NULL;
	g_autofree gchar *png = NULL;
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "util", "xwd-to-png.py", NULL);
	gint rc = -1;

	if (fx->display == NULL)
		return;
	/* the page draws what the last action changed */
	g_usleep(G_USEC_PER_SEC);
	xwd = g_build_filename(fx->dir, "shot.xwd", NULL);
	png = g_build_filename(g_getenv("ME_TEST_SCREENSHOTS"), name, NULL);
	{
		const gchar *argv[] = {"/usr/bin/xwd", "-root", "-silent", "-display", fx->display, "-out", xwd, NULL};
		g_assert_true(me_test_spawn_sync(argv, NULL, NULL, NULL, &rc));
		g_assert_cmpint(rc, ==, 0);
	}
	{
		const gchar *argv[] = {me_test_python(), script, xwd, png, "--crop-black", NULL};
		g_assert_true(me_test_spawn_sync(argv, NULL, NULL, NULL, &rc));
		g_assert_cmpint(rc, ==, 0);
	}
	g_test_message("screenshot: %s", png);
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
		g_autoptr(GPtrArray) argv = g_ptr_array_new();
		g_ptr_array_add(argv, (gpointer) "--dkim");
		g_ptr_array_add(argv, (gpointer) "ed25519");
		g_ptr_array_add(argv, ca_maildir);
		if (sc->forged_first)
			g_ptr_array_add(argv, (gpointer) "--mail-delay=4");
		/* the CA the person adds in the options page requires EAB */
		if (sc->config == CONFIG_PAGE)
			g_ptr_array_add(argv, (gpointer) "--eab=" EAB_KID ":" EAB_KEY);
		g_ptr_array_add(argv, NULL);
		fx->ca = me_test_acme_ca_start((const gchar *const *)argv->pdata, &error);
		g_assert_no_error(error);
	}
	g_assert_true(g_file_get_contents(me_test_acme_ca_get(fx->ca, "DKIM_TXT"), &txt, NULL, NULL));
	fx->dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_txt(fx->dns, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"), g_strstrip(txt));
	me_test_dnsmasq_start(fx->dns, &error);
	g_assert_no_error(error);
	write_config(fx, sc->config);
	start_xvfb(fx);

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
	g_autofree gchar *display = fx->display != NULL ? g_strdup_printf("DISPLAY=%s", fx->display) : NULL;
	/* the test CA's TLS root for a CA the person adds in the options page (a real CA's
	 * certificate chains to the system's roots); read by the test build of the helper only */
	g_autofree gchar *ca_file =
	    g_strdup_printf("MAILENROLL_TEST_CA_FILE=%s", me_test_acme_ca_get(fx->ca, "CA_FILE"));
	const gchar *env[] = {sysconf, control, bus, "G_MESSAGES_DEBUG=MeHost", ca_file, display, NULL};

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
	if (fx->xvfb != NULL) {
		g_subprocess_send_signal(fx->xvfb, SIGTERM);
		g_subprocess_wait(fx->xvfb, NULL, NULL);
		g_clear_object(&fx->xvfb);
	}
	g_free(fx->display);
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


/* ---- the options page (test.page: the page fills in and clicks its own controls) */

static JsonObject *
page(Fixture *fx, const gchar *params_json, JsonNode **keep)
{
	g_autofree gchar *text = NULL;
	JsonNode *shown = control_call_ok(fx, "page", params_json);

	g_assert_true(JSON_NODE_HOLDS_OBJECT(shown));
	text = json_to_string(shown, FALSE);
	g_test_message("page %s → %s", params_json, text);
	/* whatever the page shows, the EAB MAC key is never part of it */
	g_assert_null(strstr(text, EAB_KEY));
	g_clear_pointer(keep, json_node_unref);
	*keep = shown;
	return json_node_get_object(shown);
}

static gboolean
shows(JsonObject *page, const gchar *member)
{
	return json_object_get_boolean_member_with_default(page, member, FALSE);
}

static const gchar *
shown_text(JsonObject *page, const gchar *member)
{
	JsonNode *node = json_object_get_member(page, member);
	return node != NULL && JSON_NODE_HOLDS_VALUE(node) ? json_node_get_string(node) : NULL;
}

/* the result line under a control: its text, and whether the page shows it as an error */
static const gchar *
note(JsonObject *page, const gchar *id, gboolean *is_error)
{
	JsonObject *n = json_object_get_object_member(json_object_get_object_member(page, "notes"), id);

	*is_error = json_object_get_boolean_member_with_default(n, "error", FALSE);
	return json_object_get_string_member_with_default(n, "text", "");
}

static JsonObject *
shown_setting(JsonObject *page, const gchar *key)
{
	return json_object_get_object_member(json_object_get_object_member(page, "settings"), key);
}

static guint
shown_cas(JsonObject *page)
{
	JsonArray *cas = json_object_get_array_member(page, "cas");
	return cas != NULL ? json_array_get_length(cas) : 0;
}

static gboolean
file_has(const gchar *path, const gchar *needle)
{
	g_autofree gchar *text = NULL;

	return g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL;
}

/* the test CA's terms: its directory URL ends in /dir, the terms are /terms beside it */
static gchar *
ca_terms_url(Fixture *fx)
{
	const gchar *dir = me_test_acme_ca_get(fx->ca, "DIRECTORY");
	g_autofree gchar *base = NULL;

	g_assert_true(g_str_has_suffix(dir, "/dir"));
	base = g_strndup(dir, strlen(dir) - 4);
	return g_strconcat(base, "/terms", NULL);
}

/* the key ID the CA's first account was bound to, "" for none */
static gchar *
first_account_eab_kid(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *accounts = json_object_get_array_member(status, "accounts");
	JsonObject *account = accounts != NULL && json_array_get_length(accounts) > 0
				  ? json_array_get_object_element(accounts, 0)
				  : NULL;

	return g_strdup(account != NULL ? json_object_get_string_member_with_default(account, "eab_kid", "") : "");
}

/* The test CA's DKIM key is in the test's own dnsmasq, not in the public DNS where a real CA's
 * is: the one line a person never writes (the test build of the helper takes the test CA's TLS
 * root from $MAILENROLL_TEST_CA_FILE in the same spirit).  Put right under the CA's group line,
 * which ca.add wrote; the later writes through the page must keep it. */
static void
add_test_dns_server(Fixture *fx, const gchar *user_file, const gchar *ca)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *group = g_strdup_printf("[ca %s]\n", ca);
	g_autofree gchar *more = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *at;

	g_assert_true(g_file_get_contents(user_file, &text, NULL, NULL));
	at = strstr(text, group);
	g_assert_nonnull(at);
	at += strlen(group);
	more = g_strdup_printf("%.*sdns-server=%s\n%s", (gint)(at - text), text,
			       me_test_dnsmasq_get_nameserver(fx->dns), at);
	g_assert_true(g_file_set_contents_full(user_file, more, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
	g_assert_no_error(error);
}

/* from no configuration at all to an installed certificate, all in the options page */
static void
test_setup_page(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) keep = NULL;
	g_autofree gchar *user_file = user_config_path(fx);
	g_autofree gchar *terms = ca_terms_url(fx);
	g_autofree gchar *add =
	    g_strdup_printf("{\"action\":\"addCa\",\"url\":\"%s\"}", me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	g_autofree gchar *directory_line = g_strdup_printf("directory=%s", me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	g_autofree gchar *terms_line = g_strdup_printf("agreed-terms=%s", terms);
	JsonObject *p;
	gboolean err = FALSE;
	const gchar *text;

	(void)data;
	start_thunderbird(fx);
	step(fx, !g_file_test(user_file, G_FILE_TEST_EXISTS), "no configuration: no user file (and no system file)");
	p = page(fx, "{\"action\":\"read\"}", &keep);
	step(fx, shows(p, "configurable") && shown_cas(p) == 0 && shows(p, "addCaShown") && shows(p, "requestDisabled"),
	     "the options page offers to add a CA; Request certificate is disabled");
	screenshot(fx, "options-empty.png");

	p = page(fx, add, &keep);
	text = note(p, "add-ca-result", &err);
	step(fx, !err && shown_cas(p) == 1, "the test CA was added by its URL in the options page");
	step(fx, file_has(user_file, directory_line), "the user's file has the CA's directory");
	add_test_dns_server(fx, user_file, shown_text(p, "ca"));
	step(fx, g_strcmp0(shown_text(p, "terms"), terms) == 0 && shows(p, "termsShown") && !shows(p, "termsChecked") &&
		     shows(p, "eabShown") && shown_text(p, "website") != NULL && shows(p, "requestDisabled"),
	     "the page shows the CA's website and terms (not agreed) and asks for EAB; Request is disabled");
	(void)text;

	p = page(fx, "{\"action\":\"agree\"}", &keep);
	text = note(p, "terms-result", &err);
	step(fx, !err && shows(p, "termsChecked") && shows(p, "termsDisabled"), "the terms are agreed in the page");
	step(fx, file_has(user_file, terms_line), "the user's file records the URL of the terms agreed to");
	step(fx, shows(p, "requestDisabled"), "Request stays disabled until the EAB key is stored");

	p = page(fx, "{\"action\":\"eab\",\"kid\":\"" EAB_KID "\",\"mac\":\"" EAB_KEY "\"}", &keep);
	text = note(p, "eab-result", &err);
	step(fx, !err && shown_text(p, "eabStored") != NULL && strstr(shown_text(p, "eabStored"), EAB_KID) != NULL,
	     "the EAB key is stored; the page shows its key ID, not the key");
	step(fx, file_has(user_file, "eab-kid=" EAB_KID) && !file_has(user_file, EAB_KEY),
	     "the user's file names the key ID and holds no key");
	step(fx, file_has(user_file, "dns-server="), "the page's writes kept the line the test added");
	step(fx, !shows(p, "requestDisabled"), "Request certificate is enabled");
	page(fx, "{\"action\":\"show\",\"target\":\"setup\"}", &keep);
	screenshot(fx, "options-setup.png");

	p = page(fx, "{\"action\":\"request\",\"mailbox\":\"" MAILBOX "\"}", &keep);
	text = note(p, "request-result", &err);
	step(fx, !err, "the page's Request certificate started the enrollment");
	step(fx, wait_state_count(fx, "prompts", 1), "the extension found the challenge and shows the prompt");
	{
		g_autoptr(JsonNode) clicked = control_call_ok(fx, "prompt.answer", "{\"approve\":true}");
	}
	step(fx, wait_enrollment_step(fx, "installed"), "approved: the CA issued, the helper installed it");
	{
		g_autofree gchar *kid = first_account_eab_kid(fx);
		step(fx, g_strcmp0(kid, EAB_KID) == 0, "the CA's account was bound to the EAB key ID");
	}
	stop_thunderbird(fx);
	check_profile_store(fx);
}

/* what the administrator locked is shown as theirs, and a write through the page is refused */
static void
test_setup_locked(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) keep = NULL;
	g_autofree gchar *user_file = user_config_path(fx);
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	JsonObject *p;
	JsonObject *approve;
	gboolean err = FALSE;
	const gchar *text;

	(void)data;
	g_assert_true(g_file_get_contents(user_file, &before, NULL, NULL));
	start_thunderbird(fx);
	p = page(fx, "{\"action\":\"read\"}", &keep);
	step(fx, shows(p, "configurable") && shown_cas(p) == 1 && g_strcmp0(shown_text(p, "ca"), LOCKED_CA) == 0,
	     "the page shows the administrator's CA");
	step(fx, shows(p, "caLocked") && g_strcmp0(shown_text(p, "lockedText"), "Set by your administrator") == 0,
	     "the CA says \"Set by your administrator\"");
	step(fx, !shows(p, "addCaShown") && shows(p, "addCaLocked"), "no CA can be added");
	approve = shown_setting(p, "auto-approve");
	step(fx, shows(approve, "locked") && shows(approve, "disabled"),
	     "auto-approve is read-only, set by the administrator");
	step(fx, !shows(shown_setting(p, "key-type"), "locked") && !shows(shown_setting(p, "key-type"), "disabled"),
	     "the key type, which is not locked, can be chosen");
	page(fx, "{\"action\":\"show\",\"target\":\"setup\"}", &keep);
	screenshot(fx, "options-locked.png");

	/* the locked select is disabled; the test sends the write the page would, and the helper refuses it */
	p = page(fx, "{\"action\":\"set\",\"key\":\"auto-approve\",\"value\":\"never\"}", &keep);
	text = note(p, "settings-result", &err);
	step(fx, err && strstr(text, "cannot be changed here") != NULL,
	     "the write is refused with the policy-locked sentence");
	g_assert_true(g_file_get_contents(user_file, &after, NULL, NULL));
	step(fx, g_strcmp0(before, after) == 0, "the user's file is unchanged");
	stop_thunderbird(fx);
}

int
main(int argc, char **argv)
{
	static const Scenario approve = {.approve = TRUE};
	static const Scenario forged = {.approve = TRUE, .forged_first = TRUE};
	static const Scenario decline = {.approve = FALSE};
	static const Scenario restart = {.approve = TRUE, .restart = TRUE};
	static const Scenario setup_page = {.approve = TRUE, .config = CONFIG_PAGE};
	static const Scenario setup_locked = {.config = CONFIG_LOCKED};
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
	g_test_add("/tb-e2e/setup-page", Fixture, &setup_page, setup, test_setup_page, teardown);
	g_test_add("/tb-e2e/setup-locked", Fixture, &setup_locked, setup, test_setup_locked, teardown);
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
