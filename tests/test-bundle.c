/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestBundle"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

#include "autocleanups.h"
#include "bundle.h"
#include "keys.h"
#include "me-error.h"
#include "test-util.h"

/* OpenSSL types autocleanups.h does not cover */

#define MAILBOX "alice@example.org"
/* not ASCII, to see that the friendly name is carried as UTF-8 */
#define FRIENDLY_NAME "Alice Müller <" MAILBOX ">"
#define PASSWORD "correct horse battery staple ✓"

/* ---- a three-certificate chain made with me_test_me_test_make_cert(): root → intermediate → EE */

typedef struct {
	EVP_PKEY *root_key;
	EVP_PKEY *int_key;
	EVP_PKEY *ee_key;
	GPtrArray *chain; /* X509, EE first */
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	MeKeyType ee_type = GPOINTER_TO_INT(data) != 0 ? (MeKeyType)GPOINTER_TO_INT(data) : ME_KEY_TYPE_EC_P256;
	g_autoptr(GError) error = NULL;
	X509 *root, *inter, *ee;

	fx->root_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	fx->int_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	fx->ee_key = me_key_generate(ee_type, &error);
	g_assert_no_error(error);

	root = me_test_make_cert("Test Root", fx->root_key, NULL, fx->root_key, TRUE, NULL);
	inter = me_test_make_cert("Test Intermediate", fx->int_key, root, fx->root_key, TRUE, NULL);
	ee = me_test_make_cert(MAILBOX, fx->ee_key, inter, fx->int_key, FALSE, MAILBOX);
	fx->chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	g_ptr_array_add(fx->chain, ee);
	g_ptr_array_add(fx->chain, inter);
	g_ptr_array_add(fx->chain, root);
	fx->dir = me_test_tmpdir();
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	EVP_PKEY_free(fx->root_key);
	EVP_PKEY_free(fx->int_key);
	EVP_PKEY_free(fx->ee_key);
	g_ptr_array_unref(fx->chain);
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
}

static gchar *
export_to_file(Fixture *fx, const gchar *password)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) p12 = NULL;
	gchar *path = g_build_filename(fx->dir, "alice.p12", NULL);

	p12 = me_bundle_pkcs12_new(fx->ee_key, fx->chain, FRIENDLY_NAME, password, &error);
	g_assert_no_error(error);
	g_assert_nonnull(p12);
	g_assert_cmpuint(g_bytes_get_size(p12), >, 0);
	g_assert_true(me_bundle_write_pkcs12(path, p12, ME_BUNDLE_WRITE_FLAGS_NONE, &error));
	g_assert_no_error(error);
	return path;
}

static gchar *
run_ok(const gchar *const *argv, const gchar *stdin_text)
{
	gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, stdin_text, &out, &err, &status));
	if (status != 0)
		g_test_message("%s exited %d: %s", argv[0], status, err);
	g_assert_cmpint(status, ==, 0);
	return out;
}

static guint
count_substr(const gchar *haystack, const gchar *needle)
{
	guint n = 0;
	for (const gchar *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- (1) openssl sees PBES2/PBKDF2/AES-256-CBC bags and a SHA-256 MAC, with our counts */

static void
check_openssl_info(const gchar *path)
{
	g_autofree gchar *passin = g_strdup("pass:" PASSWORD);
	const gchar *argv[] = {"openssl", "pkcs12", "-in", path, "-info", "-noout", "-passin", passin, NULL};
	g_autofree gchar *out = NULL;
	gchar *err = NULL;
	gint status = -1;
	g_autofree gchar *mac = g_strdup_printf("MAC: sha256, Iteration %d", ME_BUNDLE_KDF_ITERATIONS);
	g_autofree gchar *kdf =
	    g_strdup_printf("PBES2, PBKDF2, AES-256-CBC, Iteration %d, PRF hmacWithSHA256", ME_BUNDLE_KDF_ITERATIONS);
	g_autofree gchar *enc = g_strconcat("PKCS7 Encrypted data: ", kdf, NULL);
	g_autofree gchar *bag = g_strconcat("Shrouded Keybag: ", kdf, NULL);

	/* -info writes to stderr */
	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	g_test_message("openssl -info:\n%s", err);
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(err, mac));
	g_assert_nonnull(strstr(err, enc));
	g_assert_nonnull(strstr(err, bag));
	g_assert_null(strstr(err, "pbeWithSHA1"));
	g_assert_null(strstr(err, "RC2"));
	g_assert_null(strstr(err, "3DES"));
	g_free(err);
}

/* ---- (2) openssl extracts the three certificates and the key, and they are ours */

static void
check_openssl_contents(Fixture *fx, const gchar *path)
{
	g_autofree gchar *passin = g_strdup("pass:" PASSWORD);
	g_autofree gchar *pem = g_build_filename(fx->dir, "out.pem", NULL);
	const gchar *argv[] = {"openssl", "pkcs12", "-in", path, "-nodes", "-passin", passin, "-out", pem, NULL};
	g_autofree gchar *out = NULL;
	g_autoptr(BIO) bio = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	guint found = 0;

	g_free(run_ok(argv, NULL));
	/* not through me_test_spawn_sync(): OpenSSL 3.0 prints a BMPString friendlyName as
	 * Latin-1, which is not UTF-8; NSS checks the name below */
	g_assert_true(g_file_get_contents(pem, &out, NULL, NULL));
	g_assert_cmpuint(count_substr(out, "-----BEGIN CERTIFICATE-----"), ==, 3);
	g_assert_cmpuint(count_substr(out, "-----BEGIN PRIVATE KEY-----"), ==, 1);
	g_assert_cmpuint(count_substr(out, "friendlyName: Alice M"), ==, 2); /* the EE and the key */

	bio = BIO_new_mem_buf(out, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	g_assert_nonnull(key);
	g_assert_true(me_key_public_equal(key, fx->ee_key));
	g_assert_cmpint(EVP_PKEY_eq(key, fx->ee_key), ==, 1);

	BIO_free_all(g_steal_pointer(&bio));
	bio = BIO_new_mem_buf(out, -1);
	for (;;) {
		g_autoptr(X509) cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (cert == NULL)
			break;
		for (guint i = 0; i < fx->chain->len; i++) {
			if (X509_cmp(cert, g_ptr_array_index(fx->chain, i)) == 0)
				found |= 1u << i;
		}
	}
	ERR_clear_error();
	g_assert_cmpuint(found, ==, 7);
}

/* ---- (3) NSS (another implementation) imports it into a fresh database */

static void
check_nss_import(Fixture *fx, const gchar *path)
{
	g_autofree gchar *nssdir = g_build_filename(fx->dir, "nss", NULL);
	g_autofree gchar *db = NULL;
	g_autofree gchar *empty = me_test_write_tmp(fx->dir, "empty-password", "");
	g_autofree gchar *out = NULL;

	g_assert_cmpint(g_mkdir(nssdir, 0700), ==, 0);
	db = g_strconcat("sql:", nssdir, NULL);
	{
		const gchar *argv[] = {"certutil", "-N", "-d", db, "--empty-password", NULL};
		g_free(run_ok(argv, NULL));
	}
	{
		const gchar *argv[] = {"pk12util", "-i", path, "-d", db, "-W", PASSWORD, "-K", "", NULL};
		g_free(run_ok(argv, NULL));
	}
	{
		const gchar *argv[] = {"certutil", "-L", "-d", db, NULL};
		out = run_ok(argv, NULL);
		g_test_message("certutil -L:\n%s", out);
		g_assert_nonnull(strstr(out, FRIENDLY_NAME "                            u,u,u"));
		g_assert_nonnull(strstr(out, "Test Intermediate"));
		g_assert_nonnull(strstr(out, "Test Root"));
		g_clear_pointer(&out, g_free);
	}
	{
		const gchar *argv[] = {"certutil", "-K", "-d", db, "-f", empty, NULL};
		out = run_ok(argv, NULL);
		g_test_message("certutil -K:\n%s", out);
		g_assert_nonnull(strstr(out, FRIENDLY_NAME));
		g_assert_nonnull(strstr(out, EVP_PKEY_get_base_id(fx->ee_key) == EVP_PKEY_RSA ? "> rsa " : "> ec "));
		g_clear_pointer(&out, g_free);
	}
	{
		/* the imported certificate is our EE: its e-mail address is there */
		const gchar *argv[] = {"certutil", "-L", "-d", db, "-n", FRIENDLY_NAME, NULL};
		out = run_ok(argv, NULL);
		g_assert_nonnull(strstr(out, MAILBOX));
	}
}

/* ---- (4) a wrong password is refused */

static void
check_wrong_password(const gchar *path)
{
	const gchar *argv[] = {"openssl", "pkcs12", "-in", path, "-nodes", "-passin", "pass:" PASSWORD "x", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	g_assert_cmpint(status, !=, 0);
	g_assert_null(strstr(out, "PRIVATE KEY"));
	g_assert_nonnull(strstr(err, "Mac verify error"));
}

static void
test_export(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = export_to_file(fx, PASSWORD);

	(void)data;
	check_openssl_info(path);
	check_openssl_contents(fx, path);
	check_nss_import(fx, path);
	check_wrong_password(path);
}

/* ---- (5) generated passwords */

static void
test_password(void)
{
	g_autoptr(MeSecretStr) a = me_bundle_generate_password();
	g_autoptr(MeSecretStr) b = me_bundle_generate_password();
	const gchar *ambiguous = "01lIoO";

	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_cmpuint(strlen(a), ==, 35);
	g_assert_cmpuint(strlen(b), ==, 35);
	g_assert_cmpstr(a, !=, b);
	for (gsize i = 0; i < 35; i++) {
		if (i % 6 == 5) {
			g_assert_cmpint(a[i], ==, '-');
		} else {
			g_assert_nonnull(strchr("23456789abcdefghijkmnpqrstuvwxyz", a[i]));
			g_assert_null(strchr(ambiguous, a[i]));
		}
	}
	/* 6 × 5 symbols of 5 bits */
	g_assert_cmpuint(ME_BUNDLE_PASSWORD_GROUPS * ME_BUNDLE_PASSWORD_GROUP_LEN * 5, >=, 128);

	/* a generated password works as the file's password */
	{
		g_autoptr(GError) error = NULL;
		EVP_PKEY *key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
		g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
		g_autoptr(GBytes) p12 = NULL;
		g_autoptr(PKCS12) parsed = NULL;
		const guchar *p;
		gsize len;

		g_assert_no_error(error);
		g_ptr_array_add(chain, me_test_make_cert(MAILBOX, key, NULL, key, FALSE, MAILBOX));
		p12 = me_bundle_pkcs12_new(key, chain, NULL, a, &error);
		g_assert_no_error(error);
		p = g_bytes_get_data(p12, &len);
		parsed = d2i_PKCS12(NULL, &p, (long)len);
		g_assert_nonnull(parsed);
		g_assert_cmpint(PKCS12_verify_mac(parsed, a, -1), ==, 1);
		g_assert_cmpint(PKCS12_verify_mac(parsed, b, -1), ==, 0);
		EVP_PKEY_free(key);
	}
}

/* ---- (6) inputs that must be refused */

static void
assert_refused(Fixture *fx, EVP_PKEY *key, GPtrArray *chain, const gchar *password, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) p12 = me_bundle_pkcs12_new(key, chain, FRIENDLY_NAME, password, &error);

	(void)fx;
	g_assert_null(p12);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
}

static void
test_bad_input(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) empty = g_ptr_array_new();
	g_autofree gchar *long_password = g_strnfill(ME_BUNDLE_PASSWORD_MAX + 1, 'a');
	g_autofree gchar *max_password = g_strnfill(ME_BUNDLE_PASSWORD_MAX, 'a');
	g_autoptr(GBytes) ok = NULL;
	g_autoptr(GError) error = NULL;

	(void)data;
	assert_refused(fx, fx->ee_key, fx->chain, "", ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, fx->ee_key, fx->chain, long_password, ME_ERROR_TOO_LARGE);
	assert_refused(fx, fx->ee_key, fx->chain, "bad \xff utf-8", ME_ERROR_INVALID_ARGUMENT);
	assert_refused(fx, fx->ee_key, empty, PASSWORD, ME_ERROR_INVALID_ARGUMENT);
	/* the intermediate's key is not the EE's */
	assert_refused(fx, fx->int_key, fx->chain, PASSWORD, ME_ERROR_INVALID_DATA);
	/* a key of another type is not either */
	{
		g_autoptr(EVP_PKEY) rsa = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
		g_assert_no_error(error);
		assert_refused(fx, rsa, fx->chain, PASSWORD, ME_ERROR_INVALID_DATA);
	}
	/* the limit itself is allowed */
	ok = me_bundle_pkcs12_new(fx->ee_key, fx->chain, FRIENDLY_NAME, max_password, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ok);
}

/* ---- (7) writing the file */

static void
assert_mode_0600(const gchar *path)
{
	GStatBuf st;

	g_assert_cmpint(g_lstat(path, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
}

static guint
count_dir_entries(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d) != NULL)
		n++;
	return n;
}

static void
test_write(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(fx->dir, "out.p12", NULL);
	g_autofree gchar *link_path = g_build_filename(fx->dir, "dangling.p12", NULL);
	g_autoptr(GBytes) one = g_bytes_new_static("first", 5);
	g_autoptr(GBytes) two = g_bytes_new_static("second", 6);
	g_autofree gchar *contents = NULL;
	mode_t old_umask;

	(void)data;
	/* a permissive umask must not make the file readable by others */
	old_umask = umask(0);
	g_assert_true(me_bundle_write_pkcs12(path, one, ME_BUNDLE_WRITE_FLAGS_NONE, &error));
	umask(old_umask);
	g_assert_no_error(error);
	assert_mode_0600(path);
	g_assert_cmpuint(count_dir_entries(fx->dir), ==, 1);

	/* refused without the flag, and the file is untouched */
	g_assert_false(me_bundle_write_pkcs12(path, two, ME_BUNDLE_WRITE_FLAGS_NONE, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "first");
	g_clear_pointer(&contents, g_free);
	g_assert_cmpuint(count_dir_entries(fx->dir), ==, 1);

	/* a dangling symbolic link is not followed or replaced either */
	g_assert_cmpint(symlink("/nonexistent/target.p12", link_path), ==, 0);
	g_assert_false(me_bundle_write_pkcs12(link_path, two, ME_BUNDLE_WRITE_FLAGS_NONE, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_cmpuint(count_dir_entries(fx->dir), ==, 2);

	/* replaced with the flag, still 0600 */
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	g_assert_true(me_bundle_write_pkcs12(path, two, ME_BUNDLE_WRITE_FLAGS_OVERWRITE, &error));
	g_assert_no_error(error);
	assert_mode_0600(path);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "second");
	g_assert_cmpuint(count_dir_entries(fx->dir), ==, 2);

	/* a directory that does not exist gives a sentence, not a crash */
	{
		g_autofree gchar *bad = g_build_filename(fx->dir, "missing", "x.p12", NULL);
		g_assert_false(me_bundle_write_pkcs12(bad, one, ME_BUNDLE_WRITE_FLAGS_NONE, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
		me_test_assert_sentence(error);
		g_clear_error(&error);
	}
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);

	g_test_add("/bundle/export/ec-p256", Fixture, GINT_TO_POINTER(ME_KEY_TYPE_EC_P256), fixture_setup,
		   test_export, fixture_teardown);
	/* 600,000 PBKDF2 iterations per bag take a minute under valgrind: there one export
	 * is checked, the plain and sanitizer runs check them all */
	if (g_getenv("ME_TEST_UNDER_VALGRIND") == NULL) {
		g_test_add("/bundle/export/rsa-2048", Fixture, GINT_TO_POINTER(ME_KEY_TYPE_RSA_2048), fixture_setup,
			   test_export, fixture_teardown);
		g_test_add_func("/bundle/password", test_password);
		g_test_add("/bundle/bad-input", Fixture, NULL, fixture_setup, test_bad_input, fixture_teardown);
		g_test_add("/bundle/write", Fixture, NULL, fixture_setup, test_write, fixture_teardown);
	}
	return g_test_run();
}
