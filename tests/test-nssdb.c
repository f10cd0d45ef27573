/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE 1 /* memmem() */
#define G_LOG_DOMAIN "MeTestNssdb"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <nss.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>

#include "autocleanups.h"
#include "keys.h"
#include "me-error.h"
#include "nssdb.h"
#include "test-util.h"
#include "thunderbird.h"
#include "tb-fixture.h"

/*
 * Every import goes into a fresh NSS database and is checked by the independent NSS
 * tools: Debian's certutil/pk12util (NSS 3.87) and the same tools run on Thunderbird's own
 * NSS (3.125, LD_LIBRARY_PATH=/usr/lib/thunderbird), plus OpenSSL for the exported key and
 * python3-cryptography for the dbKey.  The whole run uses one HOME, which the last test
 * searches for any private key stored unencrypted.
 */

#define MAILBOX "alice@example.org"
#define TB_LIBDIR "/usr/lib/thunderbird"

static gchar *home;
/* every certificate key this run made, for the final search of HOME */
static GPtrArray *all_keys;

typedef enum {
	NSS_DEBIAN,
	NSS_THUNDERBIRD,
} NssTools;

typedef struct {
	EVP_PKEY *root_key;
	EVP_PKEY *int_key;
	EVP_PKEY *ee_key;
	GPtrArray *chain; /* X509, EE first */
	gchar *dir;
	gchar *db; /* "sql:" + dir */
} Fixture;

static EVP_PKEY *
new_key(MeKeyType type)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = me_key_generate(type, &error);

	g_assert_no_error(error);
	g_ptr_array_add(all_keys, key);
	EVP_PKEY_up_ref(key);
	return key;
}

static GPtrArray *
make_chain(EVP_PKEY *ee_key, const gchar *mailbox, X509 *inter, EVP_PKEY *int_key, X509 *root)
{
	GPtrArray *chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);

	g_ptr_array_add(chain, me_test_make_cert(mailbox, ee_key, inter, int_key, FALSE, mailbox));
	X509_up_ref(inter);
	g_ptr_array_add(chain, inter);
	if (root != NULL) {
		X509_up_ref(root);
		g_ptr_array_add(chain, root);
	}
	return chain;
}

static gchar *
run_tool(NssTools tools, const gchar *const *args, gint expect_status)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_ptr_array_add(argv, (gpointer) "env");
	if (tools == NSS_THUNDERBIRD)
		g_ptr_array_add(argv, (gpointer) "LD_LIBRARY_PATH=" TB_LIBDIR);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	g_assert_true(me_test_spawn_sync((const gchar *const *)argv->pdata, NULL, &out, &err, &status));
	if (status != expect_status)
		g_test_message("%s: status %d\nstdout:\n%s\nstderr:\n%s", args[0], status, out, err);
	g_assert_cmpint(status, ==, expect_status);
	return g_strconcat(out, err, NULL);
}

/* `certutil -L`: nickname → trust flags */
static GHashTable *
list_certs(NssTools tools, const gchar *db)
{
	const gchar *args[] = {"certutil", "-L", "-d", db, NULL};
	g_autofree gchar *out = run_tool(tools, args, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	GHashTable *certs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *sp = strrchr(g_strchomp(lines[i]), ' ');
		if (sp == NULL || g_str_has_prefix(lines[i], "Certificate Nickname") || lines[i][0] == ' ')
			continue;
		if (strchr(sp + 1, ',') == NULL)
			continue;
		g_hash_table_insert(certs, g_strchomp(g_strndup(lines[i], sp - lines[i])), g_strdup(sp + 1));
	}
	return certs;
}

/* `certutil -K`: the private keys, one line each, "< n> type id nickname" */
static gchar **
list_keys(NssTools tools, const gchar *db)
{
	g_autofree gchar *empty = me_test_write_tmp(home, "empty-password", "");
	const gchar *args[] = {"certutil", "-K", "-d", db, "-f", empty, NULL};
	g_autofree gchar *out = run_tool(tools, args, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	g_autoptr(GStrvBuilder) keys = g_strv_builder_new();

	for (guint i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '<')
			g_strv_builder_add(keys, lines[i]);
	}
	return g_strv_builder_end(keys);
}

/* the CKA_ID NSS files the key under, as `certutil -K` prints it: SHA-1 of the RSA modulus
 * or of the EC point */
static gchar *
key_id_hex(EVP_PKEY *key)
{
	guint8 buf[1024];
	gsize len = 0;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		g_autoptr(BIGNUM) n = NULL;
		g_assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n));
		len = (gsize)BN_bn2bin(n, buf);
	} else {
		g_assert_true(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len));
	}
	return g_compute_checksum_for_data(G_CHECKSUM_SHA1, buf, len);
}

static void
assert_key_listed(gchar **keys, EVP_PKEY *key, const gchar *nickname)
{
	g_autofree gchar *id = key_id_hex(key);

	for (guint i = 0; keys[i] != NULL; i++) {
		if (strstr(keys[i], id) != NULL && g_str_has_suffix(keys[i], nickname))
			return;
	}
	g_error("no key %s named \"%s\" in certutil -K", id, nickname);
}

static gchar *
python_db_key(X509 *cert)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "nss-dbkey.py", NULL);
	const gchar *argv[] = {me_test_python(), script, NULL};
	g_autofree gchar *pem = NULL;
	gchar *out = NULL;
	gint status = -1;
	BUF_MEM *mem;

	g_assert_true(PEM_write_bio_X509(bio, cert));
	BIO_get_mem_ptr(bio, &mem);
	pem = g_strndup(mem->data, mem->length);
	g_assert_true(me_test_spawn_sync(argv, pem, &out, NULL, &status));
	g_assert_cmpint(status, ==, 0);
	return g_strchomp(out);
}

static guint
count_substr(const gchar *haystack, const gchar *needle)
{
	guint n = 0;

	for (const gchar *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* pk12util exports what NSS holds under @nickname; OpenSSL reads the key back from a pipe
 * (never a file: HOME is searched for plain keys at the end) and it must be @key */
static void
assert_key_bound(const Fixture *fx, const gchar *nickname, EVP_PKEY *key)
{
	g_autofree gchar *p12 = g_build_filename(fx->dir, "export.p12", NULL);
	const gchar *export[] = {"pk12util", "-o", p12, "-n", nickname, "-d", fx->db, "-W", "pw", "-K", "",
				 "-c", "AES-256-CBC", "-C", "AES-256-CBC", NULL};
	const gchar *read[] = {"openssl", "pkcs12", "-in", p12, "-passin", "pass:pw", "-nodes", "-nocerts", NULL};
	g_autofree gchar *out = NULL;
	g_autoptr(BIO) bio = NULL;
	g_autoptr(EVP_PKEY) back = NULL;
	gint status = -1;

	g_free(run_tool(NSS_DEBIAN, export, 0));
	g_assert_true(me_test_spawn_sync(read, NULL, &out, NULL, &status));
	g_assert_cmpint(status, ==, 0);
	bio = BIO_new_mem_buf(out, -1);
	back = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	g_assert_nonnull(back);
	g_assert_cmpint(EVP_PKEY_eq(back, key), ==, 1);
	me_secure_wipe(out, strlen(out));
	g_assert_cmpint(g_unlink(p12), ==, 0);
}

static void
create_db(Fixture *fx, const gchar *password)
{
	g_autofree gchar *pwfile = me_test_write_tmp(fx->dir, "pw", password != NULL ? password : "");
	const gchar *with_pw[] = {"certutil", "-N", "-d", fx->db, "-f", pwfile, NULL};
	const gchar *empty[] = {"certutil", "-N", "-d", fx->db, "--empty-password", NULL};

	g_free(run_tool(NSS_DEBIAN, password != NULL ? with_pw : empty, 0));
	g_assert_cmpint(g_unlink(pwfile), ==, 0);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	MeKeyType type = GPOINTER_TO_INT(data) != 0 ? (MeKeyType)GPOINTER_TO_INT(data) : ME_KEY_TYPE_EC_P256;
	g_autoptr(X509) root = NULL;
	g_autoptr(X509) inter = NULL;
	static guint n;

	fx->root_key = new_key(ME_KEY_TYPE_EC_P256);
	fx->int_key = new_key(ME_KEY_TYPE_EC_P256);
	fx->ee_key = new_key(type);
	root = me_test_make_cert("Test Root", fx->root_key, NULL, fx->root_key, TRUE, NULL);
	inter = me_test_make_cert("Test Intermediate", fx->int_key, root, fx->root_key, TRUE, NULL);
	fx->chain = make_chain(fx->ee_key, MAILBOX, inter, fx->int_key, root);
	fx->dir = g_strdup_printf("%s/db%u", home, n++);
	fx->db = g_strconcat("sql:", fx->dir, NULL);
	g_assert_cmpint(g_mkdir(fx->dir, 0700), ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	EVP_PKEY_free(fx->root_key);
	EVP_PKEY_free(fx->int_key);
	EVP_PKEY_free(fx->ee_key);
	g_ptr_array_unref(fx->chain);
	g_free(fx->dir);
	g_free(fx->db);
}

static MeNssdbImport *
import_ok(const Fixture *fx, EVP_PKEY *key, GPtrArray *chain, const gchar *nickname, const gchar *password,
	  MeNssdbImportFlags flags)
{
	g_autoptr(GError) error = NULL;
	MeNssdbImport *imp = me_nssdb_import(fx->dir, key, chain, nickname, password, flags, &error);

	g_assert_no_error(error);
	g_assert_nonnull(imp);
	return imp;
}

/* ---- a first import: three certificates, the key bound to the user certificate */

static void
assert_first_import(const Fixture *fx, NssTools tools, const gchar *nickname)
{
	g_autoptr(GHashTable) certs = list_certs(tools, fx->db);
	g_auto(GStrv) keys = list_keys(tools, fx->db);

	g_assert_cmpuint(g_hash_table_size(certs), ==, 3);
	g_assert_cmpstr(g_hash_table_lookup(certs, nickname), ==, "u,u,u");
	g_assert_cmpstr(g_hash_table_lookup(certs, "Test Intermediate"), ==, ",,");
	g_assert_cmpstr(g_hash_table_lookup(certs, "Test Root"), ==, ",,");
	g_assert_cmpuint(g_strv_length(keys), ==, 1);
	assert_key_listed(keys, fx->ee_key, nickname);
	g_assert_nonnull(strstr(keys[0], EVP_PKEY_get_base_id(fx->ee_key) == EVP_PKEY_RSA ? "> rsa " : "> ec "));
}

static void
test_import(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autofree gchar *expected_key = NULL;
	const gchar *nickname = MAILBOX " (Test Intermediate)";

	(void)data;
	create_db(fx, NULL);
	imp = import_ok(fx, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	g_assert_cmpstr(imp->nickname, ==, nickname);
	g_assert_cmpuint(imp->certs_added, ==, 3);
	g_assert_true(imp->key_added);
	g_assert_false(imp->trust_changed);

	/* Thunderbird's dbKey, recomputed by python3-cryptography (the serial's top bit is set,
	 * so this also checks the leading zero of the DER INTEGER) */
	expected_key = python_db_key(g_ptr_array_index(fx->chain, 0));
	g_assert_cmpstr(imp->db_key, ==, expected_key);

	assert_first_import(fx, NSS_DEBIAN, nickname);
	assert_first_import(fx, NSS_THUNDERBIRD, nickname);
	assert_key_bound(fx, nickname, fx->ee_key);
}

/* ---- the same import again adds nothing, and reports the same binding */

static void
test_reimport(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeNssdbImport) first = NULL;
	g_autoptr(MeNssdbImport) again = NULL;
	g_autoptr(GHashTable) certs = NULL;
	g_auto(GStrv) keys = NULL;

	(void)data;
	create_db(fx, NULL);
	first = import_ok(fx, fx->ee_key, fx->chain, "Alice", NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	for (guint i = 0; i < 2; i++) {
		g_clear_pointer(&again, me_nssdb_import_free);
		/* a different nickname asked for the second time changes nothing either */
		again = import_ok(fx, fx->ee_key, fx->chain, i == 0 ? "Alice" : "Other", NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
		g_assert_cmpuint(again->certs_added, ==, 0);
		g_assert_false(again->key_added);
		g_assert_cmpstr(again->nickname, ==, first->nickname);
		g_assert_cmpstr(again->db_key, ==, first->db_key);
	}
	for (NssTools t = NSS_DEBIAN; t <= NSS_THUNDERBIRD; t++) {
		g_clear_pointer(&certs, g_hash_table_unref);
		g_clear_pointer(&keys, g_strfreev);
		certs = list_certs(t, fx->db);
		keys = list_keys(t, fx->db);
		g_assert_cmpuint(g_hash_table_size(certs), ==, 3);
		g_assert_cmpuint(g_strv_length(keys), ==, 1);
	}
}

/* ---- a renewed certificate (same subject, new key) joins its predecessor: NSS wants one
 * nickname per subject; the dbKey tells them apart and both keys stay */

static void
test_renewal(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeNssdbImport) first = NULL;
	g_autoptr(MeNssdbImport) renewed = NULL;
	g_autoptr(EVP_PKEY) new_ee_key = new_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GPtrArray) chain2 = make_chain(new_ee_key, MAILBOX, g_ptr_array_index(fx->chain, 1), fx->int_key, NULL);
	g_autoptr(GHashTable) certs = NULL;
	g_auto(GStrv) keys = NULL;
	const gchar *args[] = {"certutil", "-L", "-d", fx->db, "-n", NULL, NULL};
	g_autofree gchar *out = NULL;

	(void)data;
	create_db(fx, NULL);
	first = import_ok(fx, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	renewed = import_ok(fx, new_ee_key, chain2, "ignored, the subject has a nickname", NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	g_assert_cmpstr(renewed->nickname, ==, first->nickname);
	g_assert_cmpstr(renewed->db_key, !=, first->db_key);
	g_assert_cmpuint(renewed->certs_added, ==, 1);
	g_assert_true(renewed->key_added);

	keys = list_keys(NSS_THUNDERBIRD, fx->db);
	g_assert_cmpuint(g_strv_length(keys), ==, 2);
	assert_key_listed(keys, fx->ee_key, first->nickname);
	assert_key_listed(keys, new_ee_key, first->nickname);
	certs = list_certs(NSS_DEBIAN, fx->db);
	g_assert_cmpuint(g_hash_table_size(certs), ==, 3); /* one line per nickname */
	args[5] = first->nickname;
	out = run_tool(NSS_DEBIAN, args, 0);
	/* certutil -L -n prints every certificate of the nickname */
	g_assert_cmpuint(count_substr(out, "Serial Number:"), ==, 2);
}

/* ---- a nickname another subject has gets a number */

static void
test_nickname_conflict(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeNssdbImport) first = NULL;
	g_autoptr(MeNssdbImport) second = NULL;
	g_autoptr(EVP_PKEY) bob_key = new_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GPtrArray) bob = make_chain(bob_key, "bob@example.org", g_ptr_array_index(fx->chain, 1), fx->int_key, NULL);
	g_autoptr(GHashTable) certs = NULL;

	(void)data;
	create_db(fx, NULL);
	first = import_ok(fx, fx->ee_key, fx->chain, "Mail certificate", NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	second = import_ok(fx, bob_key, bob, "Mail certificate", NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	g_assert_cmpstr(first->nickname, ==, "Mail certificate");
	g_assert_cmpstr(second->nickname, ==, "Mail certificate #2");
	certs = list_certs(NSS_THUNDERBIRD, fx->db);
	g_assert_cmpstr(g_hash_table_lookup(certs, "Mail certificate"), ==, "u,u,u");
	g_assert_cmpstr(g_hash_table_lookup(certs, "Mail certificate #2"), ==, "u,u,u");
	assert_key_bound(fx, "Mail certificate #2", bob_key);
}

/* ---- trust only when asked: without it NSS cannot verify the certificate for e-mail, with
 * it both NSS versions can */

static void
assert_verifies(const Fixture *fx, NssTools tools, const gchar *nickname, gboolean valid)
{
	const gchar *args[] = {"certutil", "-V", "-d", fx->db, "-n", nickname, "-u", "S", NULL};
	g_autofree gchar *out = run_tool(tools, args, valid ? 0 : 255);

	g_test_message("certutil -V: %s", out);
	if (valid)
		g_assert_nonnull(strstr(out, "certificate is valid"));
	else
		g_assert_nonnull(strstr(out, "certificate is invalid"));
}

static void
test_trust(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeNssdbImport) plain = NULL;
	g_autoptr(MeNssdbImport) trusted = NULL;
	g_autoptr(MeNssdbImport) again = NULL;
	g_autoptr(GHashTable) certs = NULL;

	(void)data;
	create_db(fx, NULL);
	plain = import_ok(fx, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE);
	assert_verifies(fx, NSS_DEBIAN, plain->nickname, FALSE);
	assert_verifies(fx, NSS_THUNDERBIRD, plain->nickname, FALSE);

	trusted = import_ok(fx, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_TRUST_CA);
	g_assert_true(trusted->trust_changed);
	g_assert_cmpuint(trusted->certs_added, ==, 0);
	for (NssTools t = NSS_DEBIAN; t <= NSS_THUNDERBIRD; t++) {
		g_clear_pointer(&certs, g_hash_table_unref);
		certs = list_certs(t, fx->db);
		g_assert_cmpstr(g_hash_table_lookup(certs, "Test Root"), ==, ",C,");
		g_assert_cmpstr(g_hash_table_lookup(certs, "Test Intermediate"), ==, ",,");
		assert_verifies(fx, t, trusted->nickname, TRUE);
	}
	/* already trusted: nothing changes the second time */
	again = import_ok(fx, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_TRUST_CA);
	g_assert_false(again->trust_changed);
}

/* ---- a Primary Password: asked for, refused when wrong, and nothing is added meanwhile */

static void
test_primary_password(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autoptr(GHashTable) certs = NULL;
	g_autofree gchar *pwfile = NULL;
	const gchar *passwords[] = {NULL, "wrong", ""};

	(void)data;
	create_db(fx, "s3cret Zoë");
	for (guint i = 0; i < G_N_ELEMENTS(passwords); i++) {
		g_clear_error(&error);
		imp = me_nssdb_import(fx->dir, fx->ee_key, fx->chain, NULL, passwords[i], ME_NSSDB_IMPORT_FLAGS_NONE, &error);
		g_assert_null(imp);
		g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
		me_test_assert_sentence(error);
		g_assert_nonnull(strstr(error->message, "Primary Password"));
		g_assert_nonnull(strstr(error->message, fx->dir));
	}
	certs = list_certs(NSS_DEBIAN, fx->db);
	g_assert_cmpuint(g_hash_table_size(certs), ==, 0);

	imp = import_ok(fx, fx->ee_key, fx->chain, NULL, "s3cret Zoë", ME_NSSDB_IMPORT_FLAGS_NONE);
	g_assert_true(imp->key_added);
	pwfile = me_test_write_tmp(fx->dir, "pw", "s3cret Zoë");
	{
		const gchar *args[] = {"certutil", "-K", "-d", fx->db, "-f", pwfile, NULL};
		g_autofree gchar *out = run_tool(NSS_THUNDERBIRD, args, 0);
		g_assert_nonnull(strstr(out, imp->nickname));
	}
	g_assert_cmpint(g_unlink(pwfile), ==, 0);
}

/* ---- ~/.pki/nssdb: created when asked, refused when missing otherwise */

static void
test_user_dir(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = me_nssdb_get_user_dir();
	g_autofree gchar *expected = g_build_filename(home, ".pki", "nssdb", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autofree gchar *db = g_strconcat("sql:", dir, NULL);
	GStatBuf st;

	(void)data;
	g_assert_cmpstr(dir, ==, expected);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	imp = me_nssdb_import(dir, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE, &error);
	g_assert_null(imp);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));

	g_clear_error(&error);
	imp = me_nssdb_import(dir, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_CREATE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(imp->certs_added, ==, 3);
	g_assert_cmpint(g_stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
	/* an ordinary database with no password: the tools open it without asking */
	{
		g_auto(GStrv) keys = list_keys(NSS_DEBIAN, db);
		g_autoptr(GHashTable) certs = list_certs(NSS_THUNDERBIRD, db);
		g_assert_cmpuint(g_strv_length(keys), ==, 1);
		g_assert_cmpstr(g_hash_table_lookup(certs, imp->nickname), ==, "u,u,u");
	}
}

/* ---- bad input: a clear sentence each, and the database untouched */

static void
assert_refused(const Fixture *fx, const gchar *dir, EVP_PKEY *key, GPtrArray *chain, const gchar *nickname,
	       MeNssdbImportFlags flags, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeNssdbImport) imp = me_nssdb_import(dir != NULL ? dir : fx->dir, key, chain, nickname, NULL, flags, &error);

	g_assert_null(imp);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
	g_test_message("refused: %s", error->message);
}

static void
test_bad_input(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) empty = g_ptr_array_new();
	g_autoptr(GPtrArray) ee_only = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	g_autoptr(EVP_PKEY) other = new_key(ME_KEY_TYPE_EC_P256);
	g_autofree gchar *long_name = g_strnfill(ME_NSSDB_NICKNAME_MAX + 1, 'a');
	g_autofree gchar *file = me_test_write_tmp(fx->dir, "not-a-dir", "x");
	g_autofree gchar *missing = g_build_filename(fx->dir, "missing", NULL);
	g_autoptr(GHashTable) certs = NULL;

	(void)data;
	create_db(fx, NULL);
	X509_up_ref(g_ptr_array_index(fx->chain, 0));
	g_ptr_array_add(ee_only, g_ptr_array_index(fx->chain, 0));

	assert_refused(fx, NULL, fx->ee_key, empty, NULL, 0, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, NULL, NULL, fx->chain, NULL, 0, ME_ERROR_INVALID_ARGUMENT);
	/* a key that is not the certificate's would bind the wrong key */
	assert_refused(fx, NULL, other, fx->chain, NULL, 0, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, NULL, fx->ee_key, fx->chain, "", 0, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, NULL, fx->ee_key, fx->chain, long_name, 0, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, NULL, fx->ee_key, fx->chain, "tab\there", 0, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, NULL, fx->ee_key, fx->chain, "bad \xff utf-8", 0, ME_ERROR_INVALID_ARGUMENT);
	/* trusting "the CA" of a chain without one */
	assert_refused(fx, NULL, fx->ee_key, ee_only, NULL, ME_NSSDB_IMPORT_FLAGS_TRUST_CA, ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, file, fx->ee_key, fx->chain, NULL, ME_NSSDB_IMPORT_FLAGS_CREATE, ME_ERROR_NOT_FOUND);
	assert_refused(fx, missing, fx->ee_key, fx->chain, NULL, 0, ME_ERROR_NOT_FOUND);
	g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));

	certs = list_certs(NSS_DEBIAN, fx->db);
	g_assert_cmpuint(g_hash_table_size(certs), ==, 0);
}

/* ---- a damaged database: refused with a sentence, and not made worse */

static void
test_damaged(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *cert9 = g_build_filename(fx->dir, "cert9.db", NULL);
	g_autofree gchar *key4 = g_build_filename(fx->dir, "key4.db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autofree gchar *after = NULL;
	const gchar *junk = "this is not an SQLite database, it was damaged";

	(void)data;
	g_assert_true(g_file_set_contents(cert9, junk, -1, NULL));
	g_assert_true(g_file_set_contents(key4, junk, -1, NULL));
	imp = me_nssdb_import(fx->dir, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE, &error);
	g_assert_null(imp);
	g_assert_nonnull(error);
	g_assert_true(error->domain == ME_ERROR);
	me_test_assert_sentence(error);
	g_test_message("damaged: %s", error->message);
	g_assert_true(g_file_get_contents(cert9, &after, NULL, NULL));
	g_assert_cmpstr(after, ==, junk);
}

/* ---- the import itself on Thunderbird's NSS 3.125: this binary again, as a child with
 * Thunderbird's libraries first */

static void
test_thunderbird_nss_child(Fixture *fx, gconstpointer data)
{
	const gchar *dir = g_getenv("ME_TEST_NSSDB_CHILD_DIR");
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autoptr(GError) error = NULL;

	(void)data;
	g_assert_nonnull(dir);
	/* NSS_Initialize has not run yet; the version is the library's */
	g_assert_true(NSS_VersionCheck("3.100"));
	imp = me_nssdb_import(dir, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_TRUST_CA, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(imp->certs_added, ==, 3);
	g_assert_true(imp->trust_changed);
	g_print("IMPORTED %s\n", imp->nickname);
}

static void
test_thunderbird_nss(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *child_dir = g_strconcat("ME_TEST_NSSDB_CHILD_DIR=", fx->dir, NULL);
	g_autofree gchar *child_home = g_strconcat("HOME=", home, NULL);
	g_autofree gchar *exe = g_file_read_link("/proc/self/exe", NULL);
	const gchar *args[] = {"env", child_dir, child_home, exe, "-p", "/nssdb/thunderbird-nss-child", NULL};
	g_autofree gchar *out = NULL;
	g_autoptr(GHashTable) certs = NULL;
	const gchar *nickname = MAILBOX " (Test Intermediate)";

	(void)data;
	create_db(fx, NULL);
	/* the child makes its own chain; run it, then check its work with both NSS versions */
	out = run_tool(NSS_THUNDERBIRD, args, 0);
	g_assert_nonnull(strstr(out, "IMPORTED " MAILBOX));
	for (NssTools t = NSS_DEBIAN; t <= NSS_THUNDERBIRD; t++) {
		g_auto(GStrv) keys = list_keys(t, fx->db);
		g_clear_pointer(&certs, g_hash_table_unref);
		certs = list_certs(t, fx->db);
		g_assert_cmpstr(g_hash_table_lookup(certs, nickname), ==, "u,u,u");
		g_assert_cmpuint(g_strv_length(keys), ==, 1);
	}
	/* trust written by NSS 3.125 is not readable by 3.87 (docs/thunderbird.md §5b): only
	 * Thunderbird's NSS is asked about it */
	g_assert_cmpstr(g_hash_table_lookup(certs, "Test Root"), ==, ",C,");
}

/* ---- import while Thunderbird runs on the profile: Thunderbird keeps it when it exits */

static void
test_thunderbird_running(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeNssdbImport) imp = NULL;
	g_autoptr(GHashTable) certs = NULL;
	g_autofree gchar *tb_home = g_build_filename(fx->dir, "home", NULL);
	g_autofree gchar *profile = g_build_filename(fx->dir, "profile", NULL);
	g_autofree gchar *db = g_strconcat("sql:", profile, NULL);
	MeTestThunderbird *tb;

	(void)data;
	g_assert_cmpint(g_mkdir(tb_home, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(profile, 0700), ==, 0);
	tb = me_test_thunderbird_start(tb_home, profile, &error);
	g_assert_no_error(error);
	g_assert_true(me_tb_profile_is_running(profile, NULL));
	/* as when Thunderbird starts the helper: its certificate database exists (on a fresh
	 * profile Thunderbird creates it during start-up; importing while it is being created
	 * failed under valgrind's load) */
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *cert9 = g_build_filename(profile, "cert9.db", NULL);
		g_autofree gchar *key4 = g_build_filename(profile, "key4.db", NULL);
		if (g_file_test(cert9, G_FILE_TEST_EXISTS) && g_file_test(key4, G_FILE_TEST_EXISTS))
			break;
		g_usleep(20000);
	}
	g_usleep(500000);

	imp = me_nssdb_import(profile, fx->ee_key, fx->chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_TRUST_CA, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(imp->certs_added, ==, 3);
	/* visible to another process at once, while Thunderbird still has the database open */
	certs = list_certs(NSS_THUNDERBIRD, db);
	g_assert_cmpstr(g_hash_table_lookup(certs, imp->nickname), ==, "u,u,u");
	me_test_thunderbird_stop(tb);

	g_clear_pointer(&certs, g_hash_table_unref);
	certs = list_certs(NSS_THUNDERBIRD, db);
	g_assert_cmpstr(g_hash_table_lookup(certs, imp->nickname), ==, "u,u,u");
	g_assert_cmpstr(g_hash_table_lookup(certs, "Test Root"), ==, ",C,");
	{
		g_auto(GStrv) keys = list_keys(NSS_THUNDERBIRD, db);
		g_assert_cmpuint(g_strv_length(keys), ==, 1);
		g_assert_true(g_str_has_suffix(keys[0], imp->nickname));
	}
	g_free(fx->db);
	fx->db = g_steal_pointer(&db);
	g_free(fx->dir);
	fx->dir = g_steal_pointer(&profile);
	assert_key_bound(fx, imp->nickname, fx->ee_key);
}

/* ---- after everything above: no file under HOME holds a private key in the clear */

static void
add_needle(GPtrArray *needles, const guint8 *data, gsize len)
{
	g_ptr_array_add(needles, g_bytes_new(data, len));
}

static GPtrArray *
key_needles(EVP_PKEY *key)
{
	GPtrArray *needles = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(MeSecretStr) pem = me_key_to_pem(key, NULL);
	g_autoptr(BIGNUM) secret = NULL;
	g_auto(GStrv) lines = NULL;
	guint8 buf[1024];
	gint len;

	/* the raw secret: EC's private scalar, RSA's first prime */
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		g_assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, &secret));
	else
		g_assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &secret));
	len = BN_bn2bin(secret, buf);
	g_assert_cmpint(len, >=, 24);
	add_needle(needles, buf, (gsize)len);
	/* a line from the middle of the PKCS#8 PEM */
	g_assert_nonnull(pem);
	lines = g_strsplit(pem, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), >=, 4);
	add_needle(needles, (const guint8 *)lines[2], strlen(lines[2]));
	me_secure_wipe(buf, sizeof(buf));
	return needles;
}

static void
scan_dir(const gchar *dir, GPtrArray *needles, guint *files)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_autofree gchar *data = NULL;
		gsize len = 0;

		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			scan_dir(path, needles, files);
			continue;
		}
		if (!g_file_get_contents(path, &data, &len, NULL))
			continue;
		(*files)++;
		for (guint i = 0; i < needles->len; i++) {
			gsize n_len;
			gconstpointer n = g_bytes_get_data(g_ptr_array_index(needles, i), &n_len);
			if (memmem(data, len, n, n_len) != NULL)
				g_error("%s holds a private key in the clear", path);
		}
	}
}

static void
test_no_plain_key(void)
{
	g_autoptr(GPtrArray) needles = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	guint files = 0;

	for (guint i = 0; i < all_keys->len; i++) {
		g_autoptr(GPtrArray) n = key_needles(g_ptr_array_index(all_keys, i));
		for (guint j = 0; j < n->len; j++)
			g_ptr_array_add(needles, g_bytes_ref(g_ptr_array_index(n, j)));
	}
	scan_dir(home, needles, &files);
	g_test_message("%u keys, %u files searched", all_keys->len, files);
	/* the tests above made databases: cert9.db, key4.db each */
	g_assert_cmpuint(files, >=, 10);
	g_assert_cmpuint(all_keys->len, >=, 10);
}

int
main(int argc, char **argv)
{
	gint rc;

	setlocale(LC_ALL, "");
	/* one HOME for the whole run, before GLib caches the real one */
	home = me_test_tmpdir();
	g_setenv("HOME", home, TRUE);
	g_test_init(&argc, &argv, NULL);
	all_keys = g_ptr_array_new_with_free_func((GDestroyNotify)EVP_PKEY_free);

#define ADD(path, data, fn) g_test_add(path, Fixture, GINT_TO_POINTER(data), fixture_setup, fn, fixture_teardown)
	ADD("/nssdb/import-rsa-2048", ME_KEY_TYPE_RSA_2048, test_import);
	ADD("/nssdb/import-ec-p256", ME_KEY_TYPE_EC_P256, test_import);
	ADD("/nssdb/import-ec-p384", ME_KEY_TYPE_EC_P384, test_import);
	ADD("/nssdb/reimport", ME_KEY_TYPE_RSA_2048, test_reimport);
	ADD("/nssdb/renewal", 0, test_renewal);
	ADD("/nssdb/nickname-conflict", 0, test_nickname_conflict);
	ADD("/nssdb/trust", 0, test_trust);
	ADD("/nssdb/primary-password", 0, test_primary_password);
	ADD("/nssdb/user-dir", 0, test_user_dir);
	ADD("/nssdb/bad-input", 0, test_bad_input);
	ADD("/nssdb/damaged", 0, test_damaged);
	ADD("/nssdb/thunderbird-nss", 0, test_thunderbird_nss);
	if (g_getenv("ME_TEST_NSSDB_CHILD_DIR") != NULL)
		ADD("/nssdb/thunderbird-nss-child", 0, test_thunderbird_nss_child);
	ADD("/nssdb/thunderbird-running", ME_KEY_TYPE_RSA_2048, test_thunderbird_running);
#undef ADD
	g_test_add_func("/nssdb/no-plain-key", test_no_plain_key);

	rc = g_test_run();
	g_ptr_array_unref(all_keys);
	me_test_rm_rf(home);
	g_free(home);
	return rc;
}
