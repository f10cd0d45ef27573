/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* `mailenroll doctor` end to end: the built binary against the RFC 8823 test CA, dnsmasq, a
 * real gnome-keyring on a private bus, the built mailenroll-helper and a Thunderbird profile
 * folder, each case breaking one thing and reading the verdict from --json. */

#define G_LOG_DOMAIN "MeTestDoctor"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "dnsmasq.h"
#include "enroll.h"
#include "keyring-fixture.h"
#include "state.h"
#include "test-util.h"

#define MAILBOX	      "alice@example.org"
#define EAB_KID	      "kid-1"
#define EAB_KEY	      "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
#define SMTP_PASSWORD "doctor-s3cret-never-shown"
/* the longest a doctor run may take when a DNS server stays silent (its budget is 2 s) */
#define DNS_SILENT_MAX_MS 8000

typedef struct {
	MeTestAcmeCa *ca;
	MeTestDnsmasq *dns;
	gchar *tmp;
	gchar *sysconf;
	gchar *state;
	gchar *home;
} Fixture;

typedef struct {
	const gchar *ca_switches;
} Scenario;

static gboolean
under_valgrind(void)
{
	return g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0;
}

static void
setup(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = g_strsplit(sc->ca_switches != NULL ? sc->ca_switches : "", " ", -1);

	fx->ca = me_test_acme_ca_start(sc->ca_switches != NULL ? (const gchar *const *)argv : NULL, &error);
	g_assert_no_error(error);
	/* doctor asks a directory on 127.0.0.1 about "localhost": a zone of dnsmasq's own */
	fx->dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_zone(fx->dns, "localhost");
	me_test_dnsmasq_start(fx->dns, &error);
	g_assert_no_error(error);
	fx->tmp = me_test_tmpdir();
	fx->sysconf = g_build_filename(fx->tmp, "etc", NULL);
	fx->state = g_build_filename(fx->tmp, "state", NULL);
	fx->home = g_build_filename(fx->tmp, "home", NULL);
	g_assert_cmpint(g_mkdir(fx->sysconf, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(fx->home, 0700), ==, 0);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	me_test_dnsmasq_free(fx->dns);
	me_test_acme_ca_stop(fx->ca);
	me_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->sysconf);
	g_free(fx->state);
	g_free(fx->home);
}

/* one [ca test] group, the default; @extra goes after its keys (more keys, or [smtp]) */
static void
write_config(Fixture *fx, const gchar *directory, const gchar *dns_server, const gchar *extra)
{
	g_autofree gchar *conf = g_strdup_printf("[general]\n"
						 "default-ca=test\n"
						 "[ca test]\n"
						 "directory=%s\n"
						 "ca-file=%s\n"
						 "dns-server=%s\n"
						 "%s",
						 directory != NULL ? directory : me_test_acme_ca_get(fx->ca, "DIRECTORY"),
						 me_test_acme_ca_get(fx->ca, "CA_FILE"),
						 dns_server != NULL ? dns_server : me_test_dnsmasq_get_nameserver(fx->dns),
						 extra != NULL ? extra : "");
	g_autofree gchar *path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", conf);
}

static GSubprocessLauncher *
cli_launcher(Fixture *fx)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autofree gchar *config_home = g_build_filename(fx->home, ".config", NULL);

	g_subprocess_launcher_setenv(launcher, "MAILENROLL_SYSCONFDIR", fx->sysconf, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_STATE_HOME", fx->state, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", config_home, TRUE);
	g_subprocess_launcher_setenv(launcher, "HOME", fx->home, TRUE);
	/* a folder of the test's own for the system manifest: one that a mailenroll installed on
	 * this machine left in /usr/lib/mozilla would be checked as well */
	g_subprocess_launcher_setenv(launcher, "MAILENROLL_TEST_NMHOSTDIR", fx->home, TRUE);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
	return launcher;
}

/* doctor itself runs under valgrind in the valgrind setup, so its leaks count */
static void
add_valgrind(GPtrArray *argv)
{
	g_ptr_array_add(argv, g_strdup("valgrind"));
	g_ptr_array_add(argv, g_strdup("--quiet"));
	g_ptr_array_add(argv, g_strdup("--error-exitcode=99"));
	g_ptr_array_add(argv, g_strdup("--leak-check=full"));
	g_ptr_array_add(argv, g_strdup("--errors-for-leak-kinds=definite"));
	g_ptr_array_add(argv, g_strdup("--num-callers=40"));
	g_ptr_array_add(argv, g_strdup_printf("--suppressions=%s/valgrind.supp", g_getenv("G_TEST_SRCDIR")));
}

/* runs the CLI; returns its exit status (-1 when it was killed) */
static gint
run_cli(Fixture *fx, const gchar *stdin_text, gchar **out, ...)
{
	g_autoptr(GSubprocessLauncher) launcher = cli_launcher(fx);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;
	const gchar *arg;
	va_list ap;

	va_start(ap, out);
	arg = va_arg(ap, const gchar *);
	if (under_valgrind() && g_strcmp0(arg, "doctor") == 0)
		add_valgrind(argv);
	g_ptr_array_add(argv, g_strdup(g_getenv("ME_TEST_MAILENROLL")));
	for (; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, g_strdup(arg));
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	/* always a (maybe empty) stdin: GLib 2.74 leaks a buffer when a piped stdin gets none */
	g_assert_true(g_subprocess_communicate_utf8(proc, stdin_text != NULL ? stdin_text : "", NULL, &o, &e, &error));
	g_assert_no_error(error);
	g_test_message("mailenroll → %d\nstdout: %s\nstderr: %s", g_subprocess_get_status(proc), o, e);
	if (out != NULL)
		*out = g_steal_pointer(&o);
	return g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
}

/* `mailenroll doctor --json`: its exit status, and the results in @results */
static gint
run_doctor(Fixture *fx, JsonArray **results, const gchar *ca_name)
{
	g_autofree gchar *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	gint status;
	JsonNode *root;

	if (ca_name != NULL)
		status = run_cli(fx, NULL, &out, "doctor", "--json", "--ca", ca_name, NULL);
	else
		status = run_cli(fx, NULL, &out, "doctor", "--json", NULL);
	g_assert_true(json_parser_load_from_data(parser, out, -1, &error));
	g_assert_no_error(error);
	root = json_parser_get_root(parser);
	g_assert_true(JSON_NODE_HOLDS_ARRAY(root));
	*results = json_array_ref(json_node_get_array(root));
	return status;
}

/* one sentence meant for a person: a capital first, a full stop last, one line */
static void
assert_sentence(const gchar *text)
{
	gsize len = strlen(text);

	g_assert_cmpuint(len, >, 10);
	g_assert_true(g_utf8_validate(text, -1, NULL));
	g_assert_true(g_unichar_isupper(g_utf8_get_char(text)));
	g_assert_cmpint(text[len - 1], ==, '.');
	g_assert_null(strchr(text, '\n'));
}

/* the first result of @check, or NULL */
static JsonObject *
find_result(JsonArray *results, const gchar *check)
{
	for (guint i = 0; i < json_array_get_length(results); i++) {
		JsonObject *obj = json_array_get_object_element(results, i);
		if (g_strcmp0(json_object_get_string_member(obj, "check"), check) == 0)
			return obj;
	}
	return NULL;
}

static void
assert_check(JsonArray *results, const gchar *check, const gchar *status, const gchar *needle)
{
	JsonObject *obj = find_result(results, check);
	const gchar *message;

	if (obj == NULL)
		g_error("no result for the check %s", check);
	message = json_object_get_string_member(obj, "message");
	g_test_message("%s: %s: %s", check, json_object_get_string_member(obj, "status"), message);
	g_assert_cmpstr(json_object_get_string_member(obj, "status"), ==, status);
	assert_sentence(message);
	if (needle != NULL)
		g_assert_nonnull(strstr(message, needle));
}

static void
assert_all(JsonArray *results, const gchar *status)
{
	g_assert_cmpuint(json_array_get_length(results), >, 0);
	for (guint i = 0; i < json_array_get_length(results); i++) {
		JsonObject *obj = json_array_get_object_element(results, i);
		g_test_message("%s: %s", json_object_get_string_member(obj, "check"),
			       json_object_get_string_member(obj, "message"));
		g_assert_cmpstr(json_object_get_string_member(obj, "status"), ==, status);
		assert_sentence(json_object_get_string_member(obj, "message"));
	}
}

/* ---- what the good cases set up */

static void
register_helper(Fixture *fx)
{
	g_assert_cmpint(run_cli(fx, NULL, NULL, "register", "--helper", g_getenv("ME_TEST_HELPER"), NULL), ==, 0);
}

static gchar *
manifest_path(Fixture *fx)
{
	return g_build_filename(fx->home, ".mozilla", "native-messaging-hosts", "org.mailenroll.helper.json", NULL);
}

/* a profile as Thunderbird leaves it: profiles.ini, a prefs.js with one identity, and
 * (unless @with_db is FALSE) the NSS database Thunderbird makes at its first start */
static gchar *
make_tb_profile(Fixture *fx, gboolean with_db)
{
	g_autofree gchar *root = g_build_filename(fx->home, ".thunderbird", NULL);
	g_autofree gchar *profile = g_build_filename(root, "doctor.default", NULL);
	g_autofree gchar *ini = NULL;
	g_autofree gchar *prefs = NULL;

	g_assert_cmpint(g_mkdir_with_parents(profile, 0700), ==, 0);
	ini = me_test_write_tmp(root, "profiles.ini",
				"[General]\nStartWithLastProfile=1\nVersion=2\n\n"
				"[Profile0]\nName=default\nIsRelative=1\nPath=doctor.default\nDefault=1\n");
	prefs = me_test_write_tmp(profile, "prefs.js",
				  "// Mozilla User Preferences\n"
				  "user_pref(\"mail.identity.id1.fullName\", \"Alice\");\n"
				  "user_pref(\"mail.identity.id1.useremail\", \"" MAILBOX "\");\n");
	if (with_db) {
		g_autofree gchar *db = g_strconcat("sql:", profile, NULL);
		const gchar *argv[] = {"certutil", "-N", "-d", db, "--empty-password", NULL};
		gint status = -1;
		g_assert_true(me_test_spawn_sync(argv, NULL, NULL, NULL, &status));
		g_assert_cmpint(status, ==, 0);
	}
	return g_steal_pointer(&profile);
}

/* an enrollment of @mailbox whose certificate was issued */
static void
make_issued_state(Fixture *fx, const gchar *mailbox)
{
	g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) st = me_state_open(dir, "test", mailbox, &error);

	g_assert_no_error(error);
	me_state_set_step(st, ME_STATE_STEP_ISSUED);
	me_state_set_string(st, "certificate", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
	g_assert_true(me_state_save(st, &error));
	g_assert_no_error(error);
}

/* ---- the cases */

/* everything set up: every check ok, exit 0, in JSON and in lines; no secret shown */
static void
test_all_good(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) missing = NULL;
	g_autoptr(JsonArray) results = NULL;
	g_autofree gchar *profile = NULL;
	g_autofree gchar *out = NULL;
	g_auto(GStrv) lines = NULL;

	(void)data;
	write_config(fx, NULL, NULL,
		     "agree-tos=true\n"
		     "[smtp]\nhost=127.0.0.1\nport=2525\nsecurity=none\nusername=doctor-good@example.org\n");
	/* the SMTP password not provisioned yet: the one failure, with the command that fixes it */
	g_assert_cmpint(run_doctor(fx, &missing, NULL), ==, 1);
	assert_check(missing, "smtp-password", "failed", "mailenroll provision smtp-password doctor-good@example.org");
	g_assert_cmpint(run_cli(fx, SMTP_PASSWORD "\n", NULL, "provision", "smtp-password", "doctor-good@example.org", NULL),
			==, 0);
	register_helper(fx);
	profile = make_tb_profile(fx, TRUE);
	make_issued_state(fx, MAILBOX);

	g_assert_cmpint(run_doctor(fx, &results, NULL), ==, 0);
	assert_all(results, "ok");
	assert_check(results, "configuration", "ok", "“test”");
	assert_check(results, "ca:test", "ok", me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	assert_check(results, "keyring", "ok", NULL);
	assert_check(results, "smtp-password", "ok", "doctor-good@example.org");
	assert_check(results, "dns:test", "ok", me_test_dnsmasq_get_nameserver(fx->dns));
	assert_check(results, "host-manifest:user", "ok", g_getenv("ME_TEST_HELPER"));
	assert_check(results, "thunderbird", "ok", profile);
	assert_check(results, "identity:" MAILBOX, "ok", "id1");
	g_assert_null(find_result(results, "terms:test"));
	g_assert_null(find_result(results, "eab:test"));

	/* the same as lines, each with its mark */
	g_assert_cmpint(run_cli(fx, NULL, &out, "doctor", NULL), ==, 0);
	g_assert_null(strstr(out, SMTP_PASSWORD));
	lines = g_strsplit(g_strstrip(out), "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, json_array_get_length(results));
	for (guint i = 0; lines[i] != NULL; i++)
		g_assert_true(g_str_has_prefix(lines[i], "✓ "));
}

/* a configuration that does not load is one failed result that names the problem, not the
 * end of the run; an unknown --ca fails too */
static void
test_broken_config(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) results = NULL;
	g_autoptr(JsonArray) unknown = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;

	(void)data;
	path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", "[general]\ndefault-ca=test\n[ca test\ndirectory=x\n");
	g_assert_cmpint(run_doctor(fx, &results, NULL), ==, 1);
	assert_check(results, "configuration", "failed", "key file syntax");
	assert_check(results, "configuration", "failed", path);
	g_assert_null(find_result(results, "ca:test"));
	/* the rest is still looked at */
	g_assert_nonnull(find_result(results, "keyring"));
	g_assert_nonnull(find_result(results, "thunderbird"));
	/* the lines: the failure is marked */
	g_assert_cmpint(run_cli(fx, NULL, &out, "doctor", NULL), ==, 1);
	g_assert_true(g_str_has_prefix(out, "✗ "));

	write_config(fx, NULL, NULL, "agree-tos=true\n");
	g_assert_cmpint(run_doctor(fx, &unknown, "nope"), ==, 1);
	assert_check(unknown, "configuration", "failed", "“nope”");
}

/* a directory URL where nothing listens: that CA fails */
static void
test_ca_unreachable(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) results = NULL;
	g_autofree gchar *url = g_strdup_printf("https://127.0.0.1:%u/dir", me_test_free_port());

	(void)data;
	write_config(fx, url, NULL, "agree-tos=true\n");
	g_assert_cmpint(run_doctor(fx, &results, NULL), ==, 1);
	assert_check(results, "ca:test", "failed", url);
	assert_check(results, "dns:test", "ok", NULL);
}

/* a DNS server that never answers: DNS fails, within the lookup's time budget */
static void
test_dns_silent(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) results = NULL;
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", me_test_free_port());
	gint64 start;
	gint64 took_ms;

	(void)data;
	write_config(fx, NULL, server, "agree-tos=true\n");
	start = g_get_monotonic_time();
	g_assert_cmpint(run_doctor(fx, &results, NULL), ==, 1);
	took_ms = (g_get_monotonic_time() - start) / 1000;
	g_test_message("doctor took %" G_GINT64_FORMAT " ms", took_ms);
	g_assert_cmpint(took_ms, <, under_valgrind() ? 10 * DNS_SILENT_MAX_MS : DNS_SILENT_MAX_MS);
	assert_check(results, "dns:test", "failed", server);
	assert_check(results, "ca:test", "ok", NULL);
}

/* the name of a CA's DKIM key, as an enrollment learns it from a challenge mail */
#define DKIM_KEY_NAME "acme-ca._domainkey.acme-ca.test"

static void
note_dkim_key(Fixture *fx, const gchar *name)
{
	g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(me_state_set_ca_note(dir, "test", me_test_acme_ca_get(fx->ca, "DIRECTORY"), ME_ENROLL_NOTE_DKIM_KEY,
					   name, &error));
	g_assert_no_error(error);
}

/* issue 15: a DNS server that holds only the CA's DKIM key (dnsmasq with one TXT record and
 * nothing else, refusing every other name) is what enrollments need, and doctor does not
 * fail it; once an enrollment learnt the key's name, doctor asks exactly that: answered is
 * ok, refused fails */
static void
test_dns_dkim_only(Fixture *fx, gconstpointer data)
{
	MeTestDnsmasq *dkim_only = me_test_dnsmasq_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonArray) guessed = NULL;
	g_autoptr(JsonArray) learnt = NULL;
	g_autoptr(JsonArray) missing = NULL;
	const gchar *server;

	(void)data;
	me_test_dnsmasq_add_txt(dkim_only, DKIM_KEY_NAME,
				"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	me_test_dnsmasq_start(dkim_only, &error);
	g_assert_no_error(error);
	server = me_test_dnsmasq_get_nameserver(dkim_only);
	write_config(fx, NULL, server, "agree-tos=true\n");
	/* nothing learnt yet: doctor's guess is refused, which such a server does: a warning */
	run_doctor(fx, &guessed, NULL);
	assert_check(guessed, "dns:test", "warning", server);
	/* learnt: the key's own lookup, answered */
	note_dkim_key(fx, DKIM_KEY_NAME);
	run_doctor(fx, &learnt, NULL);
	assert_check(learnt, "dns:test", "ok", DKIM_KEY_NAME);
	/* a key the server does not serve: refused, and an enrollment would fail the same way */
	note_dkim_key(fx, "other._domainkey.acme-ca.test");
	g_assert_cmpint(run_doctor(fx, &missing, NULL), ==, 1);
	assert_check(missing, "dns:test", "failed", "the lookup of the certificate authority's DKIM key other._domainkey.acme-ca.test");
	me_test_dnsmasq_free(dkim_only);
}

static void
write_manifest(Fixture *fx, const gchar *helper_path)
{
	g_autofree gchar *path = manifest_path(fx);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *text = g_strdup_printf("{\"name\": \"org.mailenroll.helper\", \"description\": \"test\", "
						 "\"path\": \"%s\", \"type\": \"stdio\", "
						 "\"allowed_extensions\": [\"mailenroll@mailenroll.org\"]}",
						 helper_path);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static gchar *
write_script(Fixture *fx, const gchar *name, const gchar *body)
{
	g_autofree gchar *path = me_test_write_tmp(fx->tmp, name, body);
	g_assert_cmpint(g_chmod(path, 0755), ==, 0);
	return g_steal_pointer(&path);
}

/* not registered is a warning; a manifest that cannot work fails: a program that is not
 * there, no JSON, a program that answers nonsense, one that does not answer in time */
static void
test_registration(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) none = NULL;
	g_autoptr(JsonArray) missing = NULL;
	g_autoptr(JsonArray) not_json = NULL;
	g_autoptr(JsonArray) echo = NULL;
	g_autoptr(JsonArray) silent = NULL;
	g_autofree gchar *path = manifest_path(fx);
	g_autofree gchar *cat = write_script(fx, "echo-helper", "#!/bin/sh\nexec cat\n");
	/* it keeps its stdout open (fd 3) and never writes to it */
	g_autofree gchar *mute = write_script(fx, "mute-helper", "#!/bin/sh\nexec cat 3>&1 1>&2\n");
	gint64 start;

	(void)data;
	/* no agree-tos: the terms are a warning, and warnings leave the exit status 0 */
	write_config(fx, NULL, NULL, NULL);
	g_assert_cmpint(run_doctor(fx, &none, NULL), ==, 0);
	assert_check(none, "host-manifest", "warning", "mailenroll register");
	assert_check(none, "terms:test", "warning", "--agree-tos");
	assert_check(none, "thunderbird", "warning", "nssdb");

	write_manifest(fx, "/nonexistent/mailenroll-helper");
	g_assert_cmpint(run_doctor(fx, &missing, NULL), ==, 1);
	assert_check(missing, "host-manifest:user", "failed", "/nonexistent/mailenroll-helper");

	g_assert_true(g_file_set_contents(path, "{\"name\": ", -1, NULL));
	g_assert_cmpint(run_doctor(fx, &not_json, NULL), ==, 1);
	assert_check(not_json, "host-manifest:user", "failed", "JSON");

	write_manifest(fx, cat);
	g_assert_cmpint(run_doctor(fx, &echo, NULL), ==, 1);
	assert_check(echo, "host-manifest:user", "failed", cat);

	write_manifest(fx, mute);
	start = g_get_monotonic_time();
	g_assert_cmpint(run_doctor(fx, &silent, NULL), ==, 1);
	g_assert_cmpint((g_get_monotonic_time() - start) / 1000, <, under_valgrind() ? 60000 : 8000);
	assert_check(silent, "host-manifest:user", "failed", "3 seconds");
}

/* a Snap and a Flatpak Thunderbird of this user: doctor names each and says whether the
 * manifest their desktop portal reads is there; register says they read it too */
static void
test_sandboxes(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) before = NULL;
	g_autoptr(JsonArray) after = NULL;
	g_autofree gchar *path = manifest_path(fx);
	g_autofree gchar *snap = g_build_filename(fx->home, "snap", "thunderbird", NULL);
	g_autofree gchar *flatpak = g_build_filename(fx->home, ".var", "app", "org.mozilla.Thunderbird", NULL);
	g_autofree gchar *snap_root = g_build_filename(snap, "common", ".thunderbird", NULL);
	g_autofree gchar *flatpak_root = g_build_filename(flatpak, ".thunderbird", NULL);
	g_autofree gchar *out = NULL;

	(void)data;
	write_config(fx, NULL, NULL, NULL);
	g_assert_cmpint(g_mkdir_with_parents(snap_root, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(flatpak_root, 0700), ==, 0);
	/* the exit status is the other checks' business (a system manifest of the machine) */
	(void)run_doctor(fx, &before, NULL);
	/* a system manifest counts for the portal too: without one, the user's is missing */
	if (!g_file_test("/usr/lib/mozilla/native-messaging-hosts/org.mailenroll.helper.json", G_FILE_TEST_EXISTS)) {
		assert_check(before, "host-snap", "warning", snap);
		assert_check(before, "host-snap", "warning", path);
		assert_check(before, "host-flatpak", "warning", flatpak);
		assert_check(before, "host-flatpak", "warning", "mailenroll register");
	} else {
		g_test_message("a system manifest exists: the warnings without one are not checked");
		assert_check(before, "host-snap", "ok", snap);
	}

	g_assert_cmpint(run_cli(fx, NULL, &out, "register", "--helper", g_getenv("ME_TEST_HELPER"), NULL), ==, 0);
	g_assert_nonnull(strstr(out, "Snap Thunderbird in "));
	g_assert_nonnull(strstr(out, snap));
	g_assert_nonnull(strstr(out, "Flatpak Thunderbird in "));
	g_assert_nonnull(strstr(out, flatpak));
	g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	(void)run_doctor(fx, &after, NULL);
	assert_check(after, "host-snap", "ok", snap);
	assert_check(after, "host-flatpak", "ok", flatpak);
}

/* the CA requires EAB: none configured fails; configured but not provisioned fails;
 * provisioned passes */
static void
test_eab(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) none = NULL;
	g_autoptr(JsonArray) missing = NULL;
	g_autoptr(JsonArray) provisioned = NULL;

	(void)data;
	write_config(fx, NULL, NULL, "agree-tos=true\n");
	g_assert_cmpint(run_doctor(fx, &none, NULL), ==, 1);
	assert_check(none, "eab:test", "failed", "eab-kid");
	assert_check(none, "ca:test", "ok", NULL);

	write_config(fx, NULL, NULL, "agree-tos=true\neab-kid=" EAB_KID "\neab-secret=keyring:doctor-eab\n");
	g_assert_cmpint(run_doctor(fx, &missing, NULL), ==, 1);
	assert_check(missing, "eab:test", "failed", "mailenroll provision eab doctor-eab");

	g_assert_cmpint(run_cli(fx, EAB_KEY "\n", NULL, "provision", "eab", "doctor-eab", NULL), ==, 0);
	g_assert_cmpint(run_doctor(fx, &provisioned, NULL), ==, 0);
	assert_check(provisioned, "eab:test", "ok", "doctor-eab");
}

/* Thunderbird: no profile, then one without its database, then an issued certificate
 * whose address is no identity: warnings, never failures */
static void
test_thunderbird(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) no_db = NULL;
	g_autoptr(JsonArray) identities = NULL;
	g_autofree gchar *profile = NULL;

	(void)data;
	write_config(fx, NULL, NULL, "agree-tos=true\n");
	register_helper(fx);
	profile = make_tb_profile(fx, FALSE);
	g_assert_cmpint(run_doctor(fx, &no_db, NULL), ==, 0);
	assert_check(no_db, "thunderbird", "warning", "start Thunderbird once");

	me_test_rm_rf(profile);
	g_free(profile);
	profile = make_tb_profile(fx, TRUE);
	make_issued_state(fx, MAILBOX);
	make_issued_state(fx, "bob@example.org");
	g_assert_cmpint(run_doctor(fx, &identities, NULL), ==, 0);
	assert_check(identities, "thunderbird", "ok", "not running");
	assert_check(identities, "identity:" MAILBOX, "ok", NULL);
	assert_check(identities, "identity:bob@example.org", "warning", "bob@example.org");
}

/* a locked keyring fails the keyring check; the lock stays, so this case runs last */
static void
test_keyring_locked(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonArray) results = NULL;

	(void)data;
	write_config(fx, NULL, NULL,
		     "agree-tos=true\n"
		     "[smtp]\nhost=127.0.0.1\nport=2525\nsecurity=none\nusername=doctor-locked@example.org\n");
	g_assert_cmpint(run_cli(fx, SMTP_PASSWORD "\n", NULL, "provision", "smtp-password", "doctor-locked@example.org",
				NULL),
			==, 0);
	me_test_keyring_lock();
	g_assert_cmpint(run_doctor(fx, &results, NULL), ==, 1);
	assert_check(results, "keyring", "failed", "locked");
	/* nothing more is asked of a keyring that cannot answer */
	g_assert_null(find_result(results, "smtp-password"));
}

/* the S/MIME trust each CA gets: a file, none, the system's bundle, or a warning without one */
static void
test_smime_trust(Fixture *fx, gconstpointer data)
{
	const gchar *root = me_test_acme_ca_get(fx->ca, "SMIME_ROOT");
	g_autofree gchar *missing = g_build_filename(fx->tmp, "no-bundle.pem", NULL);
	g_autofree gchar *extra = g_strdup_printf("agree-tos=true\nsmime-trust=%s\n", root);
	g_autofree gchar *saved = g_strdup(g_getenv("SSL_CERT_FILE"));
	g_autoptr(JsonArray) file = NULL;
	g_autoptr(JsonArray) none = NULL;
	g_autoptr(JsonArray) system = NULL;
	g_autoptr(JsonArray) no_bundle = NULL;

	(void)data;
	write_config(fx, NULL, NULL, extra);
	run_doctor(fx, &file, NULL);
	assert_check(file, "smime:test", "ok", root);
	write_config(fx, NULL, NULL, "agree-tos=true\nsmime-trust=none\n");
	run_doctor(fx, &none, NULL);
	assert_check(none, "smime:test", "ok", "smime-trust is none");
	/* the default, with the bundle $SSL_CERT_FILE names for OpenSSL, then without one */
	write_config(fx, NULL, NULL, "agree-tos=true\n");
	g_setenv("SSL_CERT_FILE", root, TRUE);
	run_doctor(fx, &system, NULL);
	assert_check(system, "smime:test", "ok", root);
	g_setenv("SSL_CERT_FILE", missing, TRUE);
	run_doctor(fx, &no_bundle, NULL);
	assert_check(no_bundle, "smime:test", "warning", missing);
	if (saved != NULL)
		g_setenv("SSL_CERT_FILE", saved, TRUE);
	else
		g_unsetenv("SSL_CERT_FILE");
}

/* issue 16: an interop quirk in use is a warning that names it, the CA and the file; none
 * is listed for a CA without one, and a warning does not fail the run */
static void
test_quirks(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *conf = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *expected = NULL;
	g_autoptr(JsonArray) with = NULL;
	g_autoptr(JsonArray) without = NULL;
	gint status_with;

	(void)data;
	write_config(fx, NULL, NULL, "agree-tos=true\nquirks=missing-auto-submitted\n");
	status_with = run_doctor(fx, &with, NULL);
	expected = g_strdup_printf("The certificate authority “test” has quirks=missing-auto-submitted in [ca test] of %s: "
				   "its challenge mail is accepted without the Auto-Submitted header RFC 8823 requires, "
				   "when its DKIM signature covers the other required header fields; remove the setting "
				   "once the CA sends the header.",
				   conf);
	assert_check(with, "quirks:test", "warning", NULL);
	g_assert_cmpstr(json_object_get_string_member(find_result(with, "quirks:test"), "message"), ==, expected);
	write_config(fx, NULL, NULL, "agree-tos=true\n");
	/* a warning, not a failure: the exit status is what it is without the quirk */
	g_assert_cmpint(run_doctor(fx, &without, NULL), ==, status_with);
	g_assert_null(find_result(without, "quirks:test"));
}

int
main(int argc, char **argv)
{
	static const Scenario plain = {NULL};
	static const Scenario eab = {"--eab " EAB_KID ":" EAB_KEY};
	gint rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	me_test_keyring_start();
	g_test_add("/doctor/all-good", Fixture, &plain, setup, test_all_good, teardown);
	g_test_add("/doctor/broken-config", Fixture, &plain, setup, test_broken_config, teardown);
	g_test_add("/doctor/ca-unreachable", Fixture, &plain, setup, test_ca_unreachable, teardown);
	g_test_add("/doctor/dns-silent", Fixture, &plain, setup, test_dns_silent, teardown);
	g_test_add("/doctor/dns-dkim-only", Fixture, &plain, setup, test_dns_dkim_only, teardown);
	g_test_add("/doctor/smime-trust", Fixture, &plain, setup, test_smime_trust, teardown);
	g_test_add("/doctor/quirks", Fixture, &plain, setup, test_quirks, teardown);
	g_test_add("/doctor/registration", Fixture, &plain, setup, test_registration, teardown);
	g_test_add("/doctor/sandboxes", Fixture, &plain, setup, test_sandboxes, teardown);
	g_test_add("/doctor/eab", Fixture, &eab, setup, test_eab, teardown);
	g_test_add("/doctor/thunderbird", Fixture, &plain, setup, test_thunderbird, teardown);
	/* last: nothing unlocks the keyring again */
	g_test_add("/doctor/keyring-locked", Fixture, &plain, setup, test_keyring_locked, teardown);
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
