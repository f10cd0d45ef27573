/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "tb-fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "test-util.h"

#define THUNDERBIRD_BINARY "/usr/bin/thunderbird"
#define START_TIMEOUT_MS   30000
#define STOP_TIMEOUT_MS	   10000
#define POLL_MS		   20
#define LOG_TAIL_LINES	   40

struct _MeTestThunderbird {
	GSubprocess *proc;
	GPid pid;
	gchar *home;
	gchar *profile; /* the folder it locked */
	gchar *log_path;
};

/* what the probe found keeps a headless Thunderbird quiet and off the network
 * (docs/thunderbird.md §2.2) */
static const gchar base_prefs[] =
    "// written by the mailenroll tests\n"
    "user_pref(\"mail.provider.suppress_dialog_on_startup\", true);\n"
    "user_pref(\"mail.shell.checkDefaultClient\", false);\n"
    "user_pref(\"mailnews.start_page.enabled\", false);\n"
    "user_pref(\"mail.rights.version\", 1);\n"
    "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n"
    "user_pref(\"datareporting.healthreport.uploadEnabled\", false);\n"
    "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);\n"
    "user_pref(\"app.update.auto\", false);\n"
    "user_pref(\"mail.spotlight.firstRunDone\", true);\n"
    "user_pref(\"mail.winsearch.firstRunDone\", true);\n"
    "user_pref(\"browser.safebrowsing.update.enabled\", false);\n"
    "user_pref(\"network.connectivity-service.enabled\", false);\n"
    "user_pref(\"network.captive-portal-service.enabled\", false);\n"
    "user_pref(\"services.settings.server\", \"http://127.0.0.1:9/\");\n"
    "user_pref(\"app.donation.eoy.version.viewed\", 999);\n"
    "user_pref(\"extensions.update.enabled\", false);\n"
    "user_pref(\"extensions.getAddons.cache.enabled\", false);\n"
    /* add-ons put into the profile (me_test_thunderbird_install_extension()) start enabled */
    "user_pref(\"extensions.autoDisableScopes\", 0);\n"
    /* console.log() of an add-on's background page goes to Thunderbird's log */
    "user_pref(\"devtools.console.stdout.content\", true);\n";

/**
 * me_test_thunderbird_base_prefs:
 *
 * Returns: (transfer none): user.js lines that keep a headless Thunderbird from first-run
 *   dialogs, updates and the network
 */
const gchar *
me_test_thunderbird_base_prefs(void)
{
	return base_prefs;
}

/**
 * me_test_thunderbird_make_profile:
 * @parent: a folder of the test
 * @name: the new profile folder's name
 * @extra_user_js: (nullable): lines to add to user.js after the base prefs
 *
 * A fresh profile folder: Thunderbird needs nothing in it but a user.js with
 * me_test_thunderbird_base_prefs().
 *
 * Returns: (transfer full): its path
 */
gchar *
me_test_thunderbird_make_profile(const gchar *parent, const gchar *name, const gchar *extra_user_js)
{
	g_autofree gchar *dir = g_build_filename(parent, name, NULL);
	g_autofree gchar *user_js = g_strconcat(base_prefs, extra_user_js != NULL ? extra_user_js : "", NULL);
	g_autofree gchar *path = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	path = me_test_write_tmp(dir, "user.js", user_js);
	return g_steal_pointer(&dir);
}

/* a JavaScript string literal for user.js */
static void
append_js_string(GString *out, const gchar *text)
{
	g_string_append_c(out, '"');
	for (const gchar *p = text; *p != '\0'; p++) {
		/* a test's names and addresses; a line break would end the pref */
		g_assert_false(g_ascii_iscntrl(*p));
		if (*p == '"' || *p == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static void
append_pref_string(GString *out, const gchar *name, const gchar *value)
{
	g_string_append_printf(out, "user_pref(\"%s\", ", name);
	append_js_string(out, value);
	g_string_append(out, ");\n");
}

static void
append_pref(GString *out, const gchar *name, const gchar *literal)
{
	g_string_append_printf(out, "user_pref(\"%s\", %s);\n", name, literal);
}

static void
append_imap_server(GString *out, const MeTestTbAccount *account, const gchar *host)
{
	g_autofree gchar *port = g_strdup_printf("%u", account->imap_port);
	g_autofree gchar *dir = g_strdup_printf("[ProfD]ImapMail/%s", host);

	append_pref_string(out, "mail.server.server1.type", "imap");
	append_pref_string(out, "mail.server.server1.hostname", host);
	append_pref(out, "mail.server.server1.port", port);
	append_pref_string(out, "mail.server.server1.userName", account->imap_user);
	append_pref_string(out, "mail.server.server1.name", account->email);
	/* plain connection, password in the clear (the login seeded into logins.json) */
	append_pref(out, "mail.server.server1.socketType", "0");
	append_pref(out, "mail.server.server1.authMethod", "3");
	/* log in at start-up and hear of new mail at once (IDLE), checked every minute too */
	append_pref(out, "mail.server.server1.login_at_startup", "true");
	append_pref(out, "mail.server.server1.use_idle", "true");
	append_pref(out, "mail.server.server1.check_new_mail", "true");
	append_pref(out, "mail.server.server1.check_time", "1");
	append_pref_string(out, "mail.server.server1.directory-rel", dir);
}

/**
 * me_test_thunderbird_account_prefs:
 * @account: the servers and the identity
 *
 * user.js lines (for me_test_thunderbird_make_profile()) that define account1: IMAP on
 * @account's host and port as server1 (folders under `PROFILE/ImapMail/<host>`), logging in
 * at start-up and using IDLE, with the identity id1 (full name, address) sending through
 * the SMTP server smtp1, no authentication; plus Local Folders (account2).  The IMAP
 * password goes in with me_test_thunderbird_seed_login(), origin `imap://<host>`.
 *
 * Returns: (transfer full): the lines
 */
gchar *
me_test_thunderbird_account_prefs(const MeTestTbAccount *account)
{
	const gchar *imap_host = account->imap_host != NULL ? account->imap_host : "127.0.0.1";
	const gchar *smtp_host = account->smtp_host != NULL ? account->smtp_host : "127.0.0.1";
	g_autofree gchar *smtp_port = g_strdup_printf("%u", account->smtp_port);
	GString *out = g_string_new("// one IMAP account, its identity and SMTP server (mailenroll tests)\n");

	append_pref_string(out, "mail.accountmanager.accounts", "account1,account2");
	append_pref_string(out, "mail.accountmanager.defaultaccount", "account1");
	append_pref_string(out, "mail.accountmanager.localfoldersserver", "server2");
	append_pref_string(out, "mail.account.account1.identities", "id1");
	append_pref_string(out, "mail.account.account1.server", "server1");
	append_pref_string(out, "mail.account.account2.server", "server2");
	append_pref_string(out, "mail.identity.id1.fullName", account->full_name);
	append_pref_string(out, "mail.identity.id1.useremail", account->email);
	append_pref_string(out, "mail.identity.id1.smtpServer", "smtp1");
	append_pref(out, "mail.identity.id1.valid", "true");
	append_imap_server(out, account, imap_host);
	append_pref_string(out, "mail.server.server2.type", "none");
	append_pref_string(out, "mail.server.server2.hostname", "Local Folders");
	append_pref_string(out, "mail.server.server2.name", "Local Folders");
	append_pref_string(out, "mail.server.server2.userName", "nobody");
	append_pref_string(out, "mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
	append_pref_string(out, "mail.smtpservers", "smtp1");
	append_pref_string(out, "mail.smtp.defaultserver", "smtp1");
	append_pref_string(out, "mail.smtpserver.smtp1.type", "smtp");
	append_pref_string(out, "mail.smtpserver.smtp1.hostname", smtp_host);
	append_pref(out, "mail.smtpserver.smtp1.port", smtp_port);
	/* 1: no authentication; try_ssl 0: plain */
	append_pref(out, "mail.smtpserver.smtp1.authMethod", "1");
	append_pref(out, "mail.smtpserver.smtp1.try_ssl", "0");
	append_pref_string(out, "mail.smtpserver.smtp1.username", "");
	return g_string_free(out, FALSE);
}

/* runs a tool to its end; its output goes into the error when it fails */
static gboolean
run_tool(const gchar *const *argv, const gchar *stdin_text, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *out = NULL;

	proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					   G_SUBPROCESS_FLAGS_STDERR_MERGE,
				 error);
	if (proc == NULL || !g_subprocess_communicate_utf8(proc, stdin_text, NULL, &out, NULL, error))
		return FALSE;
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", argv[0], out);
		return FALSE;
	}
	return TRUE;
}

static gchar *
login_json(const gchar *origin, const gchar *username, const gchar *password)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "origin");
	json_builder_add_string_value(builder, origin);
	json_builder_set_member_name(builder, "username");
	json_builder_add_string_value(builder, username);
	json_builder_set_member_name(builder, "password");
	json_builder_add_string_value(builder, password);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/**
 * me_test_thunderbird_seed_login:
 * @profile: a profile folder Thunderbird does not run on
 * @origin: where the login is for, e.g. `imap://127.0.0.1` (an IMAP server's host, no port)
 * @username: the user name
 * @password: the password
 * @error: (nullable): return location
 *
 * Saves a login in the profile's logins.json the way Thunderbird does, encrypted with NSS
 * SDR under the profile's key4.db (made first with `certutil -N --empty-password` when the
 * profile has none), by tests/util/seed-login.py on Debian's python; Thunderbird then logs
 * in without a password prompt, which would block a headless run.  The password reaches
 * the script on its stdin, not on a command line.
 *
 * Returns: %TRUE on success
 */
gboolean
me_test_thunderbird_seed_login(const gchar *profile, const gchar *origin, const gchar *username,
			       const gchar *password, GError **error)
{
	g_autofree gchar *key4 = g_build_filename(profile, "key4.db", NULL);
	g_autofree gchar *db = g_strconcat("sql:", profile, NULL);
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "util", "seed-login.py", NULL);
	g_autofree gchar *login = login_json(origin, username, password);
	const gchar *certutil[] = {"certutil", "-N", "-d", db, "--empty-password", NULL};
	const gchar *seed[] = {me_test_python(), script, profile, NULL};

	if (!g_file_test(key4, G_FILE_TEST_EXISTS) && !run_tool(certutil, NULL, error))
		return FALSE;
	return run_tool(seed, login, error);
}

/**
 * me_test_thunderbird_install_extension:
 * @profile: a profile folder Thunderbird does not run on
 * @extension_id: the add-on's id (`browser_specific_settings.gecko.id` in its manifest)
 * @path: an .xpi file, or the folder of an unpacked add-on
 * @error: (nullable): return location
 *
 * Installs an unsigned add-on into the profile the way Thunderbird picks it up at its next
 * start (docs/thunderbird.md §2.1): an .xpi is copied to `PROFILE/extensions/<id>.xpi`; for a
 * folder, the proxy file `PROFILE/extensions/<id>` names its absolute path, so Thunderbird
 * runs the sources in place.  The base prefs' `extensions.autoDisableScopes = 0` enables
 * it; with `devtools.console.stdout.content` its background page's console.log() goes to
 * Thunderbird's log.
 *
 * Returns: %TRUE on success
 */
gboolean
me_test_thunderbird_install_extension(const gchar *profile, const gchar *extension_id, const gchar *path,
				      GError **error)
{
	g_autofree gchar *dir = g_build_filename(profile, "extensions", NULL);
	g_autofree gchar *source = g_canonicalize_filename(path, NULL);

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make %s", dir);
		return FALSE;
	}
	if (g_file_test(source, G_FILE_TEST_IS_DIR)) {
		g_autofree gchar *proxy = g_build_filename(dir, extension_id, NULL);
		return g_file_set_contents(proxy, source, -1, error);
	}
	{
		g_autofree gchar *name = g_strconcat(extension_id, ".xpi", NULL);
		g_autofree gchar *dest = g_build_filename(dir, name, NULL);
		g_autofree gchar *xpi = NULL;
		gsize len = 0;
		if (!g_file_get_contents(source, &xpi, &len, error))
			return FALSE;
		return g_file_set_contents(dest, xpi, (gssize)len, error);
	}
}

/**
 * me_test_thunderbird_write_host_manifest:
 * @home: the home folder Thunderbird gets (me_test_thunderbird_start())
 * @helper_path: the native host it is to start, an executable
 * @error: (nullable): return location
 *
 * Writes the native-messaging host manifest of mailenroll's helper where Thunderbird looks
 * first, `HOME/.mozilla/native-messaging-hosts/org.mailenroll.helper.json`
 * (docs/thunderbird.md §1.1): type stdio, the absolute @helper_path, and only mailenroll's
 * add-on (`mailenroll@mailenroll.org`) allowed.
 *
 * Returns: (transfer full): the manifest's path, or %NULL with @error set
 */
gchar *
me_test_thunderbird_write_host_manifest(const gchar *home, const gchar *helper_path, GError **error)
{
	g_autofree gchar *dir = g_build_filename(home, ".mozilla", "native-messaging-hosts", NULL);
	g_autofree gchar *path = g_build_filename(dir, ME_HOST_NAME ".json", NULL);
	g_autofree gchar *helper = g_canonicalize_filename(helper_path, NULL);
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	/* Thunderbird tells the add-on only "An unexpected error occurred" */
	if (!g_file_test(helper, G_FILE_TEST_IS_EXECUTABLE) || g_file_test(helper, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s is not an executable", helper);
		return NULL;
	}
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make %s", dir);
		return NULL;
	}
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "name");
	json_builder_add_string_value(builder, ME_HOST_NAME);
	json_builder_set_member_name(builder, "description");
	json_builder_add_string_value(builder, "mailenroll helper (tests)");
	json_builder_set_member_name(builder, "path");
	json_builder_add_string_value(builder, helper);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "stdio");
	json_builder_set_member_name(builder, "allowed_extensions");
	json_builder_begin_array(builder);
	json_builder_add_string_value(builder, ME_EXTENSION_ID);
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	text = json_generator_to_data(generator, NULL);
	if (!g_file_set_contents(path, text, -1, error))
		return NULL;
	return g_steal_pointer(&path);
}

/* runs in the child: a process group of its own, so stop can reach the content processes;
 * and Thunderbird gets SIGTERM when the test dies, even when it crashes */
static void
child_setup(gpointer user_data)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* the pid a `lock` symbolic link names ("127.0.0.1:+4242"), or 0 */
static GPid
lock_pid(const gchar *profile)
{
	g_autofree gchar *lock = g_build_filename(profile, "lock", NULL);
	g_autofree gchar *target = g_file_read_link(lock, NULL);
	const gchar *colon = target != NULL ? strrchr(target, ':') : NULL;
	guint64 pid = 0;

	if (colon == NULL)
		return 0;
	colon += colon[1] == '+' ? 2 : 1;
	if (!g_ascii_string_to_unsigned(colon, 10, 1, G_MAXINT32, &pid, NULL))
		return 0;
	return (GPid)pid;
}

/* the profile folder under a root whose lock names @pid, for a Thunderbird that made its
 * own profile; found without the code under test */
static gchar *
find_locked_profile(const gchar *root, GPid pid)
{
	g_autoptr(GDir) dir = g_dir_open(root, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(root, name, NULL);
		if (lock_pid(path) == pid)
			return g_steal_pointer(&path);
	}
	return NULL;
}

static gboolean
thunderbird_locked(MeTestThunderbird *tb, const gchar *profile)
{
	const gchar *roots[] = {".thunderbird", ".config/thunderbird"};

	if (profile != NULL) {
		if (lock_pid(profile) != tb->pid)
			return FALSE;
		tb->profile = g_strdup(profile);
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(roots); i++) {
		g_autofree gchar *root = g_build_filename(tb->home, roots[i], NULL);
		tb->profile = find_locked_profile(root, tb->pid);
		if (tb->profile != NULL)
			return TRUE;
	}
	return FALSE;
}

static gboolean
thunderbird_exited(MeTestThunderbird *tb)
{
	/* GSubprocess reaps the child in GLib's worker thread, without a main loop */
	return g_subprocess_get_identifier(tb->proc) == NULL;
}

static void
print_log_tail(MeTestThunderbird *tb)
{
	g_autofree gchar *log = NULL;
	g_auto(GStrv) lines = NULL;
	guint n;

	if (tb->log_path == NULL || !g_file_get_contents(tb->log_path, &log, NULL, NULL))
		return;
	lines = g_strsplit(log, "\n", -1);
	n = g_strv_length(lines);
	g_test_message("last lines of %s:", tb->log_path);
	for (guint i = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0; i < n; i++)
		g_test_message("  %s", lines[i]);
}

static GSubprocessLauncher *
thunderbird_launcher(MeTestThunderbird *tb, gint log_fd)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autofree gchar *config = g_build_filename(tb->home, ".config", NULL);
	g_autofree gchar *cache = g_build_filename(tb->home, ".cache", NULL);
	g_autofree gchar *data = g_build_filename(tb->home, ".local", "share", NULL);
	g_autofree gchar *state = g_build_filename(tb->home, ".local", "state", NULL);
	/* a clean environment: nothing of the test's (G_DEBUG=fatal-criticals would abort it on
	 * GTK's headless criticals; no sanitizer or valgrind preload; no display) */
	const gchar *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "MOZ_CRASHREPORTER_DISABLE=1", NULL};

	g_subprocess_launcher_set_environ(launcher, (gchar **)envp);
	g_subprocess_launcher_setenv(launcher, "HOME", tb->home, TRUE);
	g_subprocess_launcher_setenv(launcher, "TMPDIR", tb->home, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", config, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CACHE_HOME", cache, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_DATA_HOME", data, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_STATE_HOME", state, TRUE);
	g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
	g_subprocess_launcher_take_stdout_fd(launcher, log_fd);
	g_subprocess_launcher_set_flags(launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	return launcher;
}

static gboolean
thunderbird_wait_locked(MeTestThunderbird *tb, const gchar *profile, GError **error)
{
	for (guint waited = 0; waited < START_TIMEOUT_MS; waited += POLL_MS) {
		if (thunderbird_locked(tb, profile))
			return TRUE;
		if (thunderbird_exited(tb)) {
			print_log_tail(tb);
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "Thunderbird exited before it locked its profile");
			return FALSE;
		}
		g_usleep(POLL_MS * 1000);
	}
	print_log_tail(tb);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Thunderbird did not lock its profile in 30 s");
	return FALSE;
}

/**
 * me_test_thunderbird_start:
 * @home: the home folder it gets (HOME, the XDG folders and TMPDIR all under it); its log
 *   goes to a file there
 * @profile: (nullable): the profile folder (`-profile`); %NULL lets Thunderbird make its
 *   default profile under @home
 * @error: (nullable): return location
 *
 * Starts `thunderbird --headless --no-remote` (or `$ME_TEST_THUNDERBIRD`) with no display
 * and no crash reporter, and waits (at most 30 s) until the profile's `lock` names its pid.
 *
 * Returns: (transfer full): the running Thunderbird; stop it with me_test_thunderbird_stop()
 */
MeTestThunderbird *
me_test_thunderbird_start(const gchar *home, const gchar *profile, GError **error)
{
	return me_test_thunderbird_start_with_env(home, profile, NULL, error);
}

/**
 * me_test_thunderbird_start_with_env:
 * @home: as for me_test_thunderbird_start()
 * @profile: (nullable): as for me_test_thunderbird_start()
 * @env: (nullable): `NAME=VALUE` strings added to its clean environment (the native host it
 *   starts inherits them: the test's D-Bus session with its keyring, the helper's
 *   configuration, its test control socket)
 * @error: (nullable): return location
 *
 * With `DISPLAY=...` in @env it runs on that X server (an Xvfb the test started, for
 * screenshots) instead of `--headless`.
 *
 * Returns: (transfer full): the running Thunderbird
 */
MeTestThunderbird *
me_test_thunderbird_start_with_env(const gchar *home, const gchar *profile, const gchar *const *env, GError **error)
{
	g_autoptr(MeTestThunderbird) tb = g_new0(MeTestThunderbird, 1);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const gchar *binary = g_getenv("ME_TEST_THUNDERBIRD");
	gboolean on_display = FALSE;
	gint log_fd;

	tb->home = g_strdup(home);
	tb->log_path = g_build_filename(home, "thunderbird-XXXXXX.log", NULL);
	log_fd = g_mkstemp_full(tb->log_path, O_WRONLY | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make %s", tb->log_path);
		return NULL;
	}
	launcher = thunderbird_launcher(tb, log_fd);
	for (guint i = 0; env != NULL && env[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(env[i], "=", 2);
		g_assert_nonnull(kv[1]);
		g_subprocess_launcher_setenv(launcher, kv[0], kv[1], TRUE);
		if (g_str_equal(kv[0], "DISPLAY"))
			on_display = TRUE;
	}
	g_ptr_array_add(argv, (gpointer)(binary != NULL ? binary : THUNDERBIRD_BINARY));
	if (!on_display)
		g_ptr_array_add(argv, (gpointer) "--headless");
	g_ptr_array_add(argv, (gpointer) "--no-remote");
	if (profile != NULL) {
		g_ptr_array_add(argv, (gpointer) "-profile");
		g_ptr_array_add(argv, (gpointer)profile);
	}
	g_ptr_array_add(argv, NULL);
	tb->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (tb->proc == NULL)
		return NULL;
	if (g_subprocess_get_identifier(tb->proc) == NULL) {
		print_log_tail(tb);
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Thunderbird exited at once");
		return NULL;
	}
	tb->pid = (GPid)g_ascii_strtoll(g_subprocess_get_identifier(tb->proc), NULL, 10);
	if (!thunderbird_wait_locked(tb, profile, error))
		return NULL;
	g_test_message("Thunderbird %d runs on %s", (gint)tb->pid, tb->profile);
	return g_steal_pointer(&tb);
}

/**
 * me_test_thunderbird_get_pid:
 * @tb: a running Thunderbird
 *
 * Returns: the process id of its main process
 */
GPid
me_test_thunderbird_get_pid(MeTestThunderbird *tb)
{
	return tb->pid;
}

/**
 * me_test_thunderbird_get_profile:
 * @tb: a running Thunderbird
 *
 * Returns: (transfer none): the profile folder it locked
 */
const gchar *
me_test_thunderbird_get_profile(MeTestThunderbird *tb)
{
	return tb->profile;
}

/**
 * me_test_thunderbird_get_log:
 * @tb: a running Thunderbird
 *
 * Returns: (transfer full): what it has written to stdout and stderr so far
 */
gchar *
me_test_thunderbird_get_log(MeTestThunderbird *tb)
{
	gchar *log = NULL;

	if (!g_file_get_contents(tb->log_path, &log, NULL, NULL))
		return g_strdup("");
	return log;
}

static gboolean
thunderbird_wait_exit(MeTestThunderbird *tb, guint timeout_ms)
{
	for (guint waited = 0; waited < timeout_ms; waited += POLL_MS) {
		if (thunderbird_exited(tb))
			return TRUE;
		g_usleep(POLL_MS * 1000);
	}
	return thunderbird_exited(tb);
}

/* SIGTERM is Thunderbird's graceful quit, and it then ends by that signal */
static gboolean
thunderbird_exit_was_clean(MeTestThunderbird *tb)
{
	if (g_subprocess_get_if_signaled(tb->proc))
		return g_subprocess_get_term_sig(tb->proc) == SIGTERM;
	return g_subprocess_get_if_exited(tb->proc) && g_subprocess_get_exit_status(tb->proc) == 0;
}

/**
 * me_test_thunderbird_stop:
 * @tb: (nullable): a Thunderbird from me_test_thunderbird_start()
 *
 * Quits it gracefully with SIGTERM (it saves prefs.js and removes its lock), waits at most
 * 10 s, then kills what is left of its process group and frees @tb.  Its log's last lines
 * go to the test output when it did not exit cleanly.
 */
void
me_test_thunderbird_stop(MeTestThunderbird *tb)
{
	gboolean trouble = FALSE;

	if (tb == NULL)
		return;
	if (tb->proc != NULL) {
		if (!thunderbird_exited(tb))
			g_subprocess_send_signal(tb->proc, SIGTERM);
		if (!thunderbird_wait_exit(tb, STOP_TIMEOUT_MS)) {
			g_test_message("Thunderbird %d did not quit in 10 s; killed", (gint)tb->pid);
			trouble = TRUE;
		}
		/* the content processes, and the main one if it hangs */
		if (tb->pid > 0)
			(void)kill(-tb->pid, SIGKILL);
		g_subprocess_wait(tb->proc, NULL, NULL);
		if (!trouble && !thunderbird_exit_was_clean(tb)) {
			g_test_message("Thunderbird %d did not exit cleanly", (gint)tb->pid);
			trouble = TRUE;
		}
		g_object_unref(tb->proc);
	}
	if (trouble)
		print_log_tail(tb);
	g_free(tb->home);
	g_free(tb->profile);
	g_free(tb->log_path);
	g_free(tb);
}

/* ---- a sandboxed Thunderbird's profile, held by a stand-in process */

static GSubprocess *
sandbox_stand_in_start(const gchar *home)
{
	g_autofree gchar *bin = g_build_filename(home, ".stand-in", NULL);
	g_autofree gchar *exe = g_build_filename(bin, "thunderbird", NULL);
	g_autofree gchar *sleep_data = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	GSubprocess *proc;

	/* a copy, not a link: its command name and its /proc/PID/exe both say thunderbird */
	g_assert_cmpint(g_mkdir_with_parents(bin, 0700), ==, 0);
	g_assert_true(g_file_get_contents("/bin/sleep", &sleep_data, &len, &error));
	g_assert_true(g_file_set_contents_full(exe, sleep_data, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0700, &error));
	g_assert_no_error(error);
	/* it dies with the test and holds none of its output open, so a failed test does not
	 * keep the harness waiting; the spawn returns once the exec is done, so /proc shows
	 * the new name already */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
	proc = g_subprocess_launcher_spawn(launcher, &error, exe, "600", NULL);
	g_assert_no_error(error);
	return proc;
}

/**
 * me_test_sandbox_tb_start:
 * @home: the test's home folder
 * @layout: the Snap's `~/snap/thunderbird/common/.thunderbird` or the Flatpak's
 *   `~/.var/app/org.mozilla.Thunderbird/.thunderbird`
 * @prefs_js: (nullable): the profile's prefs.js; %NULL for a comment line
 *
 * Makes the profile root with profiles.ini and installs.ini naming one default profile,
 * the profile with prefs.js and compatibility.ini, starts the stand-in and points the
 * profile's `lock` at it, as Thunderbird does ("127.0.0.1:+PID").
 *
 * Returns: (transfer full): the layout; me_test_sandbox_tb_stop() ends the stand-in
 */
MeTestSandboxTb *
me_test_sandbox_tb_start(const gchar *home, MeTestTbLayout layout, const gchar *prefs_js)
{
	MeTestSandboxTb *tb = g_new0(MeTestSandboxTb, 1);
	g_autofree gchar *lock = NULL;
	g_autofree gchar *target = NULL;

	tb->root = layout == ME_TEST_TB_SNAP
			   ? g_build_filename(home, "snap", "thunderbird", "common", ".thunderbird", NULL)
			   : g_build_filename(home, ".var", "app", "org.mozilla.Thunderbird", ".thunderbird", NULL);
	tb->profile = g_build_filename(tb->root, "k3xq9z1a.default-release", NULL);
	g_assert_cmpint(g_mkdir_with_parents(tb->profile, 0700), ==, 0);
	g_free(me_test_write_tmp(tb->root, "profiles.ini",
				 "[Profile0]\nName=default-release\nIsRelative=1\nPath=k3xq9z1a.default-release\nDefault=1\n\n"
				 "[General]\nStartWithLastProfile=1\nVersion=2\n\n"
				 "[Install6E0C4E2D1F3B2A19]\nDefault=k3xq9z1a.default-release\nLocked=1\n"));
	g_free(me_test_write_tmp(tb->root, "installs.ini", "[6E0C4E2D1F3B2A19]\nDefault=k3xq9z1a.default-release\nLocked=1\n"));
	g_free(me_test_write_tmp(tb->profile, "prefs.js", prefs_js != NULL ? prefs_js : "// Mozilla User Preferences\n"));
	g_free(me_test_write_tmp(tb->profile, "compatibility.ini",
				 "[Compatibility]\nLastVersion=153.8.0_20261120213735/20261120213735\n"));
	tb->thunderbird = sandbox_stand_in_start(home);
	tb->pid = (GPid)g_ascii_strtoll(g_subprocess_get_identifier(tb->thunderbird), NULL, 10);
	lock = g_build_filename(tb->profile, "lock", NULL);
	target = g_strdup_printf("127.0.0.1:+%d", (gint)tb->pid);
	g_assert_cmpint(symlink(target, lock), ==, 0);
	return tb;
}

/**
 * me_test_sandbox_tb_stop:
 * @tb: (nullable): a layout from me_test_sandbox_tb_start()
 *
 * Ends the stand-in; the folders stay for the test to remove with its home.
 */
void
me_test_sandbox_tb_stop(MeTestSandboxTb *tb)
{
	if (tb == NULL)
		return;
	g_subprocess_force_exit(tb->thunderbird);
	g_subprocess_wait(tb->thunderbird, NULL, NULL);
	g_object_unref(tb->thunderbird);
	g_free(tb->root);
	g_free(tb->profile);
	g_free(tb);
}
