/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestStore"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "autocleanups.h"
#include "keys.h"
#include "me-error.h"
#include "store.h"
#include "tb-fixture.h"
#include "test-util.h"
#include "thunderbird.h"

/*
 * The whole install into a Thunderbird profile: NSS import plus the identity binding, with
 * a real headless Thunderbird reading the binding back (its own prefs.js after it exits)
 * and holding the profile open for the running case.
 */

#define MAILBOX "alice@example.org"

/* what Thunderbird keeps in prefs.js for a POP3 account that never connects by itself,
 * with identity id1 for MAILBOX (id2 is somebody else) */
static const gchar prefs_js[] =
    "// Mozilla User Preferences\n"
    "user_pref(\"mail.accountmanager.accounts\", \"account1,account2\");\n"
    "user_pref(\"mail.accountmanager.defaultaccount\", \"account1\");\n"
    "user_pref(\"mail.accountmanager.localfoldersserver\", \"server2\");\n"
    "user_pref(\"mail.account.account1.identities\", \"id2,id1\");\n"
    "user_pref(\"mail.account.account1.server\", \"server1\");\n"
    "user_pref(\"mail.account.account2.server\", \"server2\");\n"
    "user_pref(\"mail.identity.id1.fullName\", \"Alice\");\n"
    "user_pref(\"mail.identity.id1.useremail\", \"alice@Example.ORG\");\n"
    "user_pref(\"mail.identity.id1.valid\", true);\n"
    "user_pref(\"mail.identity.id2.fullName\", \"Bob\");\n"
    "user_pref(\"mail.identity.id2.useremail\", \"bob@example.org\");\n"
    "user_pref(\"mail.identity.id2.valid\", true);\n"
    "user_pref(\"mail.server.server1.type\", \"pop3\");\n"
    "user_pref(\"mail.server.server1.hostname\", \"127.0.0.1\");\n"
    "user_pref(\"mail.server.server1.port\", 9);\n"
    "user_pref(\"mail.server.server1.userName\", \"alice\");\n"
    "user_pref(\"mail.server.server1.login_at_startup\", false);\n"
    "user_pref(\"mail.server.server1.check_new_mail\", false);\n"
    "user_pref(\"mail.server.server1.directory-rel\", \"[ProfD]Mail/pop\");\n"
    "user_pref(\"mail.server.server2.type\", \"none\");\n"
    "user_pref(\"mail.server.server2.hostname\", \"Local Folders\");\n"
    "user_pref(\"mail.server.server2.userName\", \"nobody\");\n"
    "user_pref(\"mail.server.server2.directory-rel\", \"[ProfD]Mail/Local Folders\");\n";

typedef struct {
	gchar *dir;
	gchar *home;
	gchar *profile;
	EVP_PKEY *ca_key;
	EVP_PKEY *ee_key;
	GPtrArray *chain;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *prefs = NULL;
	X509 *ca;

	(void)data;
	fx->dir = me_test_tmpdir();
	fx->home = g_build_filename(fx->dir, "home", NULL);
	g_assert_cmpint(g_mkdir(fx->home, 0700), ==, 0);
	fx->profile = me_test_thunderbird_make_profile(fx->dir, "profile", NULL);
	prefs = me_test_write_tmp(fx->profile, "prefs.js", prefs_js);

	fx->ca_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	fx->ee_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	ca = me_test_make_cert("Example Enterprise CA", fx->ca_key, NULL, fx->ca_key, TRUE, NULL);
	fx->chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	g_ptr_array_add(fx->chain, me_test_make_cert(MAILBOX, fx->ee_key, ca, fx->ca_key, FALSE, MAILBOX));
	g_ptr_array_add(fx->chain, ca);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	g_ptr_array_unref(fx->chain);
	EVP_PKEY_free(fx->ca_key);
	EVP_PKEY_free(fx->ee_key);
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->home);
	g_free(fx->profile);
}

static gchar *
read_file(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

static guint
count_substr(const gchar *haystack, const gchar *needle)
{
	guint n = 0;

	for (const gchar *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const gchar *
pref_value(GHashTable *prefs, const gchar *name)
{
	MeTbPref *pref = g_hash_table_lookup(prefs, name);

	return pref != NULL ? pref->value : NULL;
}

/* Thunderbird's NSS lists the certificate as a user certificate (key present).  While
 * Thunderbird runs it holds the database open and writes to it now and then, and certutil
 * may then find it busy for a moment (exit status 255): that is asked again, for a while. */
static void
assert_in_store(const gchar *profile, const gchar *nickname)
{
	g_autofree gchar *db = g_strconcat("sql:", profile, NULL);
	const gchar *argv[] = {"env", "LD_LIBRARY_PATH=/usr/lib/thunderbird", "certutil", "-L", "-d", db, NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *line = NULL;
	gint status = -1;

	for (guint attempt = 0; attempt < 50; attempt++) {
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
		if (status == 0)
			break;
		g_test_message("certutil -L exited with %d (%s); asking again", status, err != NULL ? g_strstrip(err) : "");
		g_usleep(100 * 1000);
	}
	g_assert_cmpint(status, ==, 0);
	line = g_strdup_printf("\n%s", nickname);
	g_assert_nonnull(strstr(out, line));
	g_assert_nonnull(strstr(strstr(out, line), "u,u,u"));
}

/* ---- Thunderbird not running: imported, bound in user.js, and Thunderbird takes it */

static void
test_bind_offline(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeStoreInstall) inst = NULL;
	g_autoptr(MeStoreInstall) again = NULL;
	g_autoptr(GHashTable) prefs = NULL;
	g_autofree gchar *user_js = NULL;
	g_autofree gchar *user_js_again = NULL;
	g_autofree gchar *prefs_path = g_build_filename(fx->profile, "prefs.js", NULL);
	MeTestThunderbird *tb;

	(void)data;
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_DUAL, NULL,
					    ME_STORE_FLAGS_BIND_IDENTITY | ME_STORE_FLAGS_SIGN_BY_DEFAULT |
						ME_STORE_FLAGS_TRUST_CA,
					    &error);
	g_assert_no_error(error);
	g_assert_cmpstr(inst->identity, ==, "id1");
	g_assert_true(inst->bound);
	g_assert_false(inst->thunderbird_running);
	g_assert_cmpuint(inst->certs_added, ==, 2);
	g_assert_cmpstr(inst->nickname, ==, MAILBOX " (Example Enterprise CA)");
	user_js = read_file(fx->profile, "user.js");
	g_assert_cmpuint(count_substr(user_js, "mail.identity.id1.signing_cert_dbkey"), ==, 1);
	g_assert_cmpuint(count_substr(user_js, "mail.identity.id1.encryption_cert_dbkey"), ==, 1);
	g_assert_cmpuint(count_substr(user_js, "mail.identity.id2."), ==, 0);

	/* again: nothing new, the same binding, user.js unchanged */
	again = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_DUAL, NULL,
					     ME_STORE_FLAGS_BIND_IDENTITY | ME_STORE_FLAGS_SIGN_BY_DEFAULT |
						 ME_STORE_FLAGS_TRUST_CA,
					     &error);
	g_assert_no_error(error);
	g_assert_cmpuint(again->certs_added, ==, 0);
	g_assert_cmpstr(again->db_key, ==, inst->db_key);
	user_js_again = read_file(fx->profile, "user.js");
	g_assert_cmpstr(user_js_again, ==, user_js);

	/* Thunderbird reads user.js at start and writes the binding into its prefs.js at exit */
	g_assert_cmpint(g_unlink(prefs_path), ==, 0);
	g_assert_true(g_file_set_contents(prefs_path, prefs_js, -1, NULL));
	tb = me_test_thunderbird_start(fx->home, fx->profile, &error);
	g_assert_no_error(error);
	/* it saves prefs.js while it starts, as soon as the user.js values differ from it */
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *now = read_file(fx->profile, "prefs.js");
		if (strstr(now, "signing_cert_dbkey") != NULL)
			break;
		g_usleep(20000);
	}
	me_test_thunderbird_stop(tb);
	prefs = me_tb_prefs_load_file(prefs_path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pref_value(prefs, "mail.identity.id1.signing_cert_dbkey"), ==, inst->db_key);
	g_assert_cmpstr(pref_value(prefs, "mail.identity.id1.encryption_cert_dbkey"), ==, inst->db_key);
	g_assert_cmpstr(pref_value(prefs, "mail.identity.id1.signing_cert_name"), ==, inst->nickname);
	g_assert_cmpstr(pref_value(prefs, "mail.identity.id1.encryption_cert_name"), ==, inst->nickname);
	g_assert_cmpstr(pref_value(prefs, "mail.identity.id1.sign_mail"), ==, "true");
	g_assert_null(pref_value(prefs, "mail.identity.id2.signing_cert_dbkey"));
	/* and its NSS still has the certificate with its key after it ran */
	assert_in_store(fx->profile, inst->nickname);
}

/* ---- Thunderbird running: imported (it sees it at once), the binding left to the
 * extension, user.js untouched */

static void
test_running(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeStoreInstall) inst = NULL;
	g_autofree gchar *before = read_file(fx->profile, "user.js");
	g_autofree gchar *after = NULL;
	MeTestThunderbird *tb;

	(void)data;
	tb = me_test_thunderbird_start(fx->home, fx->profile, &error);
	g_assert_no_error(error);
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_SIGNING, NULL,
					    ME_STORE_FLAGS_BIND_IDENTITY, &error);
	g_assert_no_error(error);
	g_assert_true(inst->thunderbird_running);
	g_assert_false(inst->bound);
	g_assert_cmpstr(inst->identity, ==, "id1");
	g_assert_true(inst->signing);
	g_assert_false(inst->encryption);
	g_assert_nonnull(inst->db_key);
	assert_in_store(fx->profile, inst->nickname);
	after = read_file(fx->profile, "user.js");
	g_assert_cmpstr(after, ==, before);
	me_test_thunderbird_stop(tb);
	assert_in_store(fx->profile, inst->nickname);
}

/* ---- what the usage binds */

static void
test_encryption_only(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeStoreInstall) inst = NULL;
	g_autofree gchar *user_js = NULL;

	(void)data;
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_ENCRYPTION, NULL,
					    ME_STORE_FLAGS_BIND_IDENTITY | ME_STORE_FLAGS_SIGN_BY_DEFAULT, &error);
	g_assert_no_error(error);
	g_assert_true(inst->bound);
	user_js = read_file(fx->profile, "user.js");
	g_assert_cmpuint(count_substr(user_js, "mail.identity.id1.encryption_cert_dbkey"), ==, 1);
	g_assert_cmpuint(count_substr(user_js, "signing_cert"), ==, 0);
	g_assert_cmpuint(count_substr(user_js, "sign_mail"), ==, 0);
}

/* ---- no identity uses the mailbox: refused before anything is imported */

static void
test_no_identity(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeStoreInstall) inst = NULL;
	g_autofree gchar *cert9 = g_build_filename(fx->profile, "cert9.db", NULL);
	g_autofree gchar *before = read_file(fx->profile, "user.js");
	g_autofree gchar *after = NULL;

	(void)data;
	{
		g_autofree gchar *prefs = me_test_write_tmp(fx->profile, "prefs.js",
							    "user_pref(\"mail.identity.id2.useremail\", \"bob@example.org\");\n");
	}
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_DUAL, NULL,
					    ME_STORE_FLAGS_BIND_IDENTITY, &error);
	g_assert_null(inst);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_assert_false(g_file_test(cert9, G_FILE_TEST_EXISTS));
	after = read_file(fx->profile, "user.js");
	g_assert_cmpstr(after, ==, before);

	g_clear_error(&error);
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_UNKNOWN, NULL,
					    ME_STORE_FLAGS_NONE, &error);
	g_assert_null(inst);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_assert_false(g_file_test(cert9, G_FILE_TEST_EXISTS));

	/* without a binding the identity does not matter */
	g_clear_error(&error);
	inst = me_store_install_thunderbird(fx->profile, fx->ee_key, fx->chain, MAILBOX, ME_KEY_USAGE_DUAL, NULL,
					    ME_STORE_FLAGS_NONE, &error);
	g_assert_no_error(error);
	g_assert_null(inst->identity);
	g_assert_false(inst->bound);
	assert_in_store(fx->profile, inst->nickname);
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	g_test_add("/store/bind-offline", Fixture, NULL, fixture_setup, test_bind_offline, fixture_teardown);
	g_test_add("/store/running", Fixture, NULL, fixture_setup, test_running, fixture_teardown);
	g_test_add("/store/encryption-only", Fixture, NULL, fixture_setup, test_encryption_only, fixture_teardown);
	g_test_add("/store/no-identity", Fixture, NULL, fixture_setup, test_no_identity, fixture_teardown);
	return g_test_run();
}
