/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The parts of the real-Thunderbird end-to-end test, proved together before the add-on
 * exists: a standalone dovecot whose Maildir the project's test CA writes its challenge
 * mail into, and a headless Thunderbird on a fresh profile with an IMAP account on that
 * dovecot (password seeded offline), its SMTP server the CA's reply listener, and a
 * stand-in add-on with mailenroll's id that starts the native host the manifest names.
 * Every fact is checked on the far side: dovecot's log and rawlog for what Thunderbird
 * did over IMAP, the host's own record for what Thunderbird started. */

#define _GNU_SOURCE 1 /* memmem() */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "dovecot.h"
#include "keys.h"
#include "tb-fixture.h"
#include "test-util.h"

#define USER	  "alice"
#define PASSWORD  "imap-secret"
#define MAILBOX	  "alice@example.org"
#define FULL_NAME "Alice Example"
/* a second add-on, installed from an .xpi; it only says it runs */
#define XPI_ID	  "tb-mail-xpi@mailenroll.test"
/* every wait for Thunderbird: it starts in 1-3 s, far slower on a busy 2-core machine */
#define WAIT_MS	  60000

typedef struct {
	MeTestDovecot *dovecot;
	MeTestAcmeCa *ca;
	MeTestThunderbird *tb;
	gchar *dir;  /* the stand-in add-ons and host */
	gchar *home; /* Thunderbird's HOME */
	gchar *profile;
	gint64 t0;
} Fixture;

/* why the test cannot run here, or %NULL */
static const gchar *
missing_program(void)
{
	const gchar *tb = g_getenv("ME_TEST_THUNDERBIRD");

	if (!g_file_test(tb != NULL ? tb : "/usr/bin/thunderbird", G_FILE_TEST_IS_EXECUTABLE))
		return "Thunderbird is not installed";
	if (!g_file_test("/usr/sbin/dovecot", G_FILE_TEST_IS_EXECUTABLE))
		return "dovecot is not installed (Debian package dovecot-imapd)";
	return NULL;
}

static void
test_skipped(gconstpointer data)
{
	g_test_skip(data);
}

/* the log's lines, without blank lines and GTK's complaints about having no display */
static void
dump_text(const gchar *what, const gchar *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	g_test_message("---- %s", what);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (*g_strstrip(lines[i]) == '\0' || strstr(lines[i], "gtk_icon_theme_") != NULL)
			continue;
		g_test_message("  %s", lines[i]);
	}
}

/* what Thunderbird keeps of the IMAP account in the profile: each file with its size */
static void
dump_tree(const gchar *profile, const gchar *sub)
{
	g_autofree gchar *path = g_build_filename(profile, sub, NULL);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	if (dir == NULL) {
		g_test_message("---- %s: missing", sub);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(sub, name, NULL);
		g_autofree gchar *full = g_build_filename(profile, child, NULL);
		GStatBuf st;

		if (g_stat(full, &st) == 0 && S_ISDIR(st.st_mode))
			dump_tree(profile, child);
		else
			g_test_message("---- %s: %" G_GINT64_FORMAT " bytes", child, (gint64)st.st_size);
	}
}

/* the logs of a Thunderbird that quit: they stay in its HOME until teardown */
static void
dump_quit_logs(const gchar *home)
{
	g_autoptr(GDir) dir = g_dir_open(home, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(home, name, NULL);
		g_autofree gchar *log = NULL;

		if (g_str_has_prefix(name, "thunderbird-") && g_str_has_suffix(name, ".log") &&
		    g_file_get_contents(path, &log, NULL, NULL))
			dump_text(name, log);
	}
}

static void
dump_logs(Fixture *fx)
{
	if (fx->dovecot != NULL) {
		g_autofree gchar *log = me_test_dovecot_get_log(fx->dovecot);
		g_autofree gchar *in = me_test_dovecot_get_rawlog(fx->dovecot, ME_TEST_IMAP_FROM_CLIENT);
		dump_text("dovecot log", log);
		dump_text("IMAP commands (rawlog)", in);
	}
	if (fx->tb != NULL) {
		g_autofree gchar *log = me_test_thunderbird_get_log(fx->tb);
		dump_text("Thunderbird log", log);
	} else if (fx->home != NULL) {
		dump_quit_logs(fx->home);
	}
	if (fx->profile != NULL)
		dump_tree(fx->profile, "ImapMail");
}

/* one step of the test: its time goes to the test log; on failure, every log does */
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

static gboolean
wait_file_has(const gchar *path, const gchar *needle, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		g_autofree gchar *text = NULL;
		gsize len = 0;
		if (g_file_get_contents(path, &text, &len, NULL) && memmem(text, len, needle, strlen(needle)) != NULL)
			return TRUE;
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(50000);
	}
}

/* ---- the stand-in add-ons and native host */

static void
write_file(const gchar *dir, const gchar *name, const gchar *text, gint mode)
{
	g_autofree gchar *path = me_test_write_tmp(dir, name, text);
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

/* an add-on with mailenroll's id (so the manifest allows it) that connects to the host and
 * sends it one message */
static gchar *
make_native_addon(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->dir, "native-addon", NULL);

	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	write_file(dir, "manifest.json",
		   "{\"manifest_version\": 2, \"name\": \"tb-mail native stand-in\", \"version\": \"1.0\",\n"
		   " \"browser_specific_settings\": {\"gecko\": {\"id\": \"" ME_EXTENSION_ID "\"}},\n"
		   " \"background\": {\"scripts\": [\"background.js\"]},\n"
		   " \"permissions\": [\"nativeMessaging\"]}\n",
		   0600);
	write_file(dir, "background.js",
		   "const port = browser.runtime.connectNative(\"" ME_HOST_NAME "\");\n"
		   "port.postMessage({hello: \"tb-mail\"});\n"
		   "console.log(\"tb-mail native stand-in connected\");\n",
		   0600);
	return g_steal_pointer(&dir);
}

/* the host records how it was started and then everything Thunderbird writes to it, until
 * Thunderbird closes its stdin */
static gchar *
make_host(Fixture *fx)
{
	g_autofree gchar *script = g_strdup_printf("#!/bin/sh\n"
						   "printf '%%s\\n' \"$@\" > '%s/host-argv.tmp'\n"
						   "mv '%s/host-argv.tmp' '%s/host-argv'\n"
						   "exec cat > '%s/host-stdin'\n",
						   fx->dir, fx->dir, fx->dir, fx->dir);

	write_file(fx->dir, "host.sh", script, 0700);
	return g_build_filename(fx->dir, "host.sh", NULL);
}

/* an .xpi (a zip, made by Debian's python) of an add-on that only logs that it runs */
static gchar *
make_xpi_addon(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->dir, "xpi-addon", NULL);
	g_autofree gchar *xpi = g_build_filename(fx->dir, "standin.xpi", NULL);
	g_autofree gchar *manifest = g_build_filename(dir, "manifest.json", NULL);
	g_autofree gchar *background = g_build_filename(dir, "background.js", NULL);
	static const gchar code[] = "import sys, zipfile\n"
				    "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
				    "    z.write(sys.argv[2], 'manifest.json')\n"
				    "    z.write(sys.argv[3], 'background.js')\n";
	const gchar *argv[] = {me_test_python(), "-c", code, xpi, manifest, background, NULL};
	gint status = -1;

	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	write_file(dir, "manifest.json",
		   "{\"manifest_version\": 2, \"name\": \"tb-mail xpi stand-in\", \"version\": \"1.0\",\n"
		   " \"browser_specific_settings\": {\"gecko\": {\"id\": \"" XPI_ID "\"}},\n"
		   " \"background\": {\"scripts\": [\"background.js\"]}}\n",
		   0600);
	write_file(dir, "background.js", "console.log(\"tb-mail xpi stand-in runs\");\n", 0600);
	g_assert_true(me_test_spawn_sync(argv, NULL, NULL, NULL, &status));
	g_assert_cmpint(status, ==, 0);
	return g_steal_pointer(&xpi);
}

/* ---- set-up */

static void
setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *prefs = NULL;
	const gchar *switches[] = {"--maildir", NULL, NULL};
	MeTestTbAccount account = {.imap_user = USER, .full_name = FULL_NAME, .email = MAILBOX};

	(void)data;
	fx->t0 = g_get_monotonic_time();
	fx->dir = me_test_tmpdir();
	fx->home = g_build_filename(fx->dir, "home", NULL);
	g_assert_cmpint(g_mkdir(fx->home, 0700), ==, 0);

	fx->dovecot = me_test_dovecot_start(USER, PASSWORD, &error);
	g_assert_no_error(error);
	switches[1] = me_test_dovecot_get_maildir(fx->dovecot);
	fx->ca = me_test_acme_ca_start(switches, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(me_test_acme_ca_get(fx->ca, "MAILDIR"), ==, me_test_dovecot_get_maildir(fx->dovecot));

	account.imap_port = me_test_dovecot_get_port(fx->dovecot);
	account.smtp_port = (guint16)g_ascii_strtoull(me_test_acme_ca_get(fx->ca, "SMTP_REPLY_PORT"), NULL, 10);
	g_assert_cmpuint(account.smtp_port, >, 0);
	prefs = me_test_thunderbird_account_prefs(&account);
	fx->profile = me_test_thunderbird_make_profile(fx->dir, "profile", prefs);
	me_test_thunderbird_seed_login(fx->profile, "imap://127.0.0.1", USER, PASSWORD, &error);
	g_assert_no_error(error);
	step(fx, TRUE, "dovecot, test CA and profile ready");
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	me_test_thunderbird_stop(fx->tb);
	me_test_acme_ca_stop(fx->ca);
	me_test_dovecot_stop(fx->dovecot);
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->home);
	g_free(fx->profile);
}

/* ---- the checks */

/* the seeded password is in logins.json, encrypted: the clear text is nowhere in it */
static void
check_seeded_login(Fixture *fx)
{
	g_autofree gchar *path = g_build_filename(fx->profile, "logins.json", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonArray *logins;
	JsonObject *login;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_null(strstr(text, PASSWORD));
	g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
	g_assert_no_error(error);
	logins = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)), "logins");
	g_assert_cmpuint(json_array_get_length(logins), ==, 1);
	login = json_array_get_object_element(logins, 0);
	g_assert_cmpstr(json_object_get_string_member(login, "hostname"), ==, "imap://127.0.0.1");
	g_assert_cmpstr(json_object_get_string_member(login, "httpRealm"), ==, "imap://127.0.0.1");
	g_assert_cmpint(json_object_get_int_member(login, "encType"), ==, 1);
	/* SDR output: ASN.1 DER, so base64 "M..." */
	g_assert_true(g_str_has_prefix(json_object_get_string_member(login, "encryptedPassword"), "M"));
}

static void
install_addons(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *native = make_native_addon(fx);
	g_autofree gchar *xpi = make_xpi_addon(fx);
	g_autofree gchar *host = make_host(fx);
	g_autofree gchar *manifest = NULL;

	me_test_thunderbird_install_extension(fx->profile, ME_EXTENSION_ID, native, &error);
	g_assert_no_error(error);
	me_test_thunderbird_install_extension(fx->profile, XPI_ID, xpi, &error);
	g_assert_no_error(error);
	manifest = me_test_thunderbird_write_host_manifest(fx->home, host, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(manifest, fx->home));
}

/* Thunderbird started the host the manifest names for the add-on it allows, and the
 * add-on's first message came through */
static void
check_native_host(Fixture *fx)
{
	g_autofree gchar *argv_path = g_build_filename(fx->dir, "host-argv", NULL);
	g_autofree gchar *stdin_path = g_build_filename(fx->dir, "host-stdin", NULL);
	g_autofree gchar *manifest = g_build_filename(fx->home, ".mozilla", "native-messaging-hosts",
						      ME_HOST_NAME ".json", NULL);
	/* one frame: the JSON's length as a native (little-endian) uint32, then the JSON */
	static const gchar frame[] = "\x13\0\0\0{\"hello\":\"tb-mail\"}";
	g_autofree gchar *argv_text = NULL;
	g_autofree gchar *received = NULL;
	gsize len = 0;
	g_auto(GStrv) args = NULL;

	step(fx, wait_file_has(stdin_path, "{\"hello\":\"tb-mail\"}", WAIT_MS),
	     "the stand-in add-on (unpacked, proxy file) reached the native host");
	g_assert_true(g_file_get_contents(stdin_path, &received, &len, NULL));
	g_assert_cmpmem(received, len, frame, sizeof(frame) - 1);
	g_assert_true(g_file_get_contents(argv_path, &argv_text, NULL, NULL));
	args = g_strsplit(argv_text, "\n", -1);
	g_assert_cmpstr(args[0], ==, manifest);
	g_assert_cmpstr(args[1], ==, ME_EXTENSION_ID);
	step(fx, TRUE, "the host was started with the manifest and the add-on id");
}

static gboolean
thunderbird_log_has(Fixture *fx, const gchar *needle, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		g_autofree gchar *log = me_test_thunderbird_get_log(fx->tb);
		if (strstr(log, needle) != NULL)
			return TRUE;
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(50000);
	}
}

/* Thunderbird logged in, opened the INBOX and waits in IDLE for new mail */
static void
check_idle(Fixture *fx)
{
	MeTestDovecot *dv = fx->dovecot;

	step(fx, me_test_dovecot_wait_log(dv, "imap-login: Info: Login: user=<" USER ">,", WAIT_MS),
	     "Thunderbird logged in to dovecot with the seeded password");
	step(fx,
	     me_test_dovecot_wait_rawlog(dv, ME_TEST_IMAP_FROM_CLIENT, "select \"INBOX\"", WAIT_MS) &&
		 me_test_dovecot_wait_rawlog(dv, ME_TEST_IMAP_TO_CLIENT, "OK [READ-WRITE] Select completed", WAIT_MS),
	     "it selected the INBOX");
	step(fx, me_test_dovecot_wait_rawlog(dv, ME_TEST_IMAP_FROM_CLIENT, " IDLE\r\n", WAIT_MS), "it entered IDLE");
}

/* a new message in the INBOX reached Thunderbird: dovecot sent it its headers, which only
 * happens when the client fetches them */
static void
check_fetched(Fixture *fx, const gchar *message_id, const gchar *what)
{
	g_autofree gchar *needle = g_strdup_printf("Message-ID: %s", message_id);

	step(fx, me_test_dovecot_wait_rawlog(fx->dovecot, ME_TEST_IMAP_TO_CLIENT, needle, WAIT_MS), what);
}

static gchar *
deliver_message(Fixture *fx, gchar **body_token)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *token = g_uuid_string_random();
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");
	g_autofree gchar *message = NULL;
	gchar *message_id = g_strdup_printf("<%s@tb-mail.test>", token);

	*body_token = g_strdup_printf("body-%s", token);
	message = g_strdup_printf("From: Test Sender <sender@tb-mail.test>\r\n"
				  "To: " FULL_NAME " <" MAILBOX ">\r\n"
				  "Subject: tb-mail %s\r\n"
				  "Date: %s\r\n"
				  "Message-ID: %s\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: text/plain; charset=us-ascii\r\n"
				  "\r\n"
				  "A message for the tb-mail test: %s\r\n",
				  token, date, message_id, *body_token);
	me_test_dovecot_deliver(fx->dovecot, message, -1, &error);
	g_assert_no_error(error);
	return message_id;
}

/* an ACME order for the mailbox: the CA writes its challenge mail into dovecot's Maildir
 * when the authorization is first fetched; returns that mail's Message-ID */
static gchar *
order_challenge(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(MeAcmeClient) client = me_acme_client_new(me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	g_autoptr(MeAcmeAccount) account = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(JsonObject) status = NULL;
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};
	MeAcmeIdentifier id = {.type = (gchar *)"email", .value = (gchar *)MAILBOX};
	JsonArray *mails;

	g_assert_no_error(error);
	me_http_set_ca_file(me_acme_client_get_http(client), me_test_acme_ca_get(fx->ca, "CA_FILE"));
	me_acme_client_set_account_key(client, key);
	account = me_acme_client_new_account(client, &req, &error);
	g_assert_no_error(error);
	order = me_acme_order_new(client, &id, 1, NULL, &error);
	g_assert_no_error(error);
	authz = me_acme_authz_get(client, order->authorizations[0], &error);
	g_assert_no_error(error);
	/* the CA sends the mail after its response; the status file has it once it is written */
	for (guint i = 0; i < 250; i++) {
		g_clear_pointer(&status, json_object_unref);
		status = me_test_acme_ca_status(fx->ca);
		if (json_object_has_member(status, "mails") &&
		    json_array_get_length(json_object_get_array_member(status, "mails")) > 0)
			break;
		g_usleep(20000);
	}
	mails = json_object_get_array_member(status, "mails");
	g_assert_cmpuint(json_array_get_length(mails), ==, 1);
	return g_strdup(json_object_get_string_member(json_array_get_object_element(mails, 0), "message_id"));
}

/* the INBOX's offline store in the profile: one mbox file, or a folder of files with the
 * maildir store */
static GString *
read_offline_store(const gchar *path, GString *text)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autofree gchar *part = NULL;
		gsize len = 0;
		if (g_file_get_contents(path, &part, &len, NULL))
			g_string_append_len(text, part, (gssize)len);
		return text;
	}
	dir = g_dir_open(path, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		read_offline_store(child, text);
	}
	return text;
}

/* the INBOX's files in the profile with @suffix ("" for the offline store, ".msf" for the
 * summary).  Thunderbird names them INBOX, or INBOX-1 (-2, …) when its folder discovery on a
 * fresh profile met the name taken already: seen once in a few runs on a loaded machine,
 * with both mails stored in INBOX-1 and an empty INBOX.msf beside it */
static GPtrArray *
inbox_files(Fixture *fx, const gchar *suffix)
{
	g_autofree gchar *dir_path = g_build_filename(fx->profile, "ImapMail", "127.0.0.1", NULL);
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *base = NULL;
		const gchar *rest;

		if (!g_str_has_suffix(name, suffix))
			continue;
		base = g_strndup(name, strlen(name) - strlen(suffix));
		if (!g_str_has_prefix(base, "INBOX"))
			continue;
		rest = base + strlen("INBOX");
		if (*rest == '-') {
			rest++;
			if (*rest == '\0' || strspn(rest, "0123456789") != strlen(rest))
				continue;
		} else if (*rest != '\0') {
			continue;
		}
		g_ptr_array_add(found, g_build_filename(dir_path, name, NULL));
	}
	return found;
}

/* how often @needle stands in @text */
static guint
count_in(const gchar *text, const gchar *needle)
{
	guint n = 0;

	for (const gchar *p = text != NULL ? strstr(text, needle) : NULL; p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Thunderbird downloaded the whole of its @nth new message (BODY.PEEK[], as it does for new
 * mail in an IMAP INBOX it keeps offline), and the server sent @needle from its body.  When
 * the copy lands in the offline store in the profile is Thunderbird's own business (under
 * load it came more than a minute later): the log says whether it is there yet. */
static void
check_downloaded(Fixture *fx, guint nth, const gchar *needle, const gchar *what)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
	gboolean found = FALSE;

	while (!found && g_get_monotonic_time() < deadline) {
		g_autofree gchar *asked = me_test_dovecot_get_rawlog(fx->dovecot, ME_TEST_IMAP_FROM_CLIENT);
		g_autofree gchar *sent = me_test_dovecot_get_rawlog(fx->dovecot, ME_TEST_IMAP_TO_CLIENT);
		found = count_in(asked, " BODY.PEEK[])") >= nth && count_in(sent, needle) > 0;
		if (!found)
			g_usleep(50000);
	}
	step(fx, found, what);
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	for (found = FALSE; !found && g_get_monotonic_time() < deadline;) {
		g_autoptr(GPtrArray) stores = inbox_files(fx, "");
		g_autoptr(GString) text = g_string_new(NULL);
		for (guint i = 0; i < stores->len; i++)
			read_offline_store(g_ptr_array_index(stores, i), text);
		found = memmem(text->str, text->len, needle, strlen(needle)) != NULL;
		if (!found)
			g_usleep(50000);
	}
	g_test_message("         %s", found ? "it is in the offline store" : "not in the offline store yet, 10 s later");
}

/* after Thunderbird quit: the message is in the INBOX's summary database in the profile */
static void
check_summary(Fixture *fx, const gchar *message_id, const gchar *what)
{
	g_autoptr(GPtrArray) summaries = inbox_files(fx, ".msf");
	/* the summary keeps the Message-ID without its angle brackets */
	g_autofree gchar *bare = g_strndup(message_id + 1, strlen(message_id) - 2);
	gboolean found = FALSE;

	for (guint i = 0; !found && i < summaries->len; i++)
		found = wait_file_has(g_ptr_array_index(summaries, i), bare, 0);
	step(fx, found, what);
}

static void
test_imap_idle_fetch(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *message_id = NULL;
	g_autofree gchar *body_token = NULL;
	g_autofree gchar *challenge_id = NULL;
	g_autofree gchar *challenge_header = NULL;
	const gchar *tb_env[] = {"MOZ_LOG=timestamp,IMAPOffline:5,MsgDB:4,MsgPurge:4", NULL};

	(void)data;
	check_seeded_login(fx);
	install_addons(fx);
	/* what Thunderbird does with the offline copy and the summary goes to its log, which a
	 * failure prints */
	fx->tb = me_test_thunderbird_start_with_env(fx->home, fx->profile, tb_env, &error);
	g_assert_no_error(error);
	step(fx, TRUE, "Thunderbird runs");

	check_idle(fx);
	check_native_host(fx);
	step(fx, thunderbird_log_has(fx, "tb-mail xpi stand-in runs", WAIT_MS), "the .xpi add-on runs");

	message_id = deliver_message(fx, &body_token);
	check_fetched(fx, message_id, "Thunderbird fetched the delivered message's headers");
	check_downloaded(fx, 1, body_token, "and downloaded the whole message");
	challenge_id = order_challenge(fx);
	challenge_header = g_strdup_printf("Message-ID: %s", challenge_id);
	check_fetched(fx, challenge_id, "Thunderbird fetched the test CA's challenge mail's headers");
	check_downloaded(fx, 2, challenge_header, "and downloaded the whole challenge mail");

	me_test_thunderbird_stop(g_steal_pointer(&fx->tb));
	step(fx, TRUE, "Thunderbird quit");
	check_summary(fx, message_id, "the INBOX summary in the profile lists the delivered message");
	check_summary(fx, challenge_id, "and the challenge mail");
}

int
main(int argc, char **argv)
{
	const gchar *missing;

	g_test_init(&argc, &argv, NULL);
	missing = missing_program();
	if (missing != NULL)
		g_test_add_data_func("/tb-mail/imap-idle-fetch", missing, test_skipped);
	else
		g_test_add("/tb-mail/imap-idle-fetch", Fixture, NULL, setup, test_imap_idle_fetch, teardown);
	return g_test_run();
}
