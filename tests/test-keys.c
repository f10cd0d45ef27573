/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestKeys"

#include "config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "autocleanups.h"
#include "keys.h"
#include "test-util.h"

/*
 * helper/lib/keys.c: key generation, the PEM form kept in the keyring, the key types and
 * usages.  Every key is cross-checked with the openssl CLI, and keys the CLI made in each of
 * its forms are read back.
 */

typedef struct {
	MeKeyType type;
	const gchar *name;
	gboolean is_ec;
	guint bits;
	const gchar *curve; /* as `openssl pkey -text` names it */
} KeyTypeInfo;

static const KeyTypeInfo key_types[] = {
    {ME_KEY_TYPE_EC_P256, "ec-p256", TRUE, 256, "prime256v1"},
    {ME_KEY_TYPE_EC_P384, "ec-p384", TRUE, 384, "secp384r1"},
    {ME_KEY_TYPE_RSA_2048, "rsa-2048", FALSE, 2048, NULL},
    {ME_KEY_TYPE_RSA_3072, "rsa-3072", FALSE, 3072, NULL},
    {ME_KEY_TYPE_RSA_4096, "rsa-4096", FALSE, 4096, NULL},
};

static gchar *work_dir;

static gboolean
under_valgrind(void)
{
	return g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0;
}

/* runs the openssl CLI, which must succeed; returns its standard output */
static gchar *
openssl(const gchar *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree gchar *err = NULL;
	gchar *out = NULL;
	gint status = -1;

	g_ptr_array_add(argv, (gpointer) "openssl");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	g_assert_true(me_test_spawn_sync((const gchar *const *)argv->pdata, NULL, &out, &err, &status));
	if (status != 0)
		g_test_message("openssl %s: %s", args[0], err);
	g_assert_cmpint(status, ==, 0);
	return out;
}

/* the public key as PEM SubjectPublicKeyInfo, written by OpenSSL directly */
static gchar *
public_pem(EVP_PKEY *key)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;

	g_assert_cmpint(PEM_write_bio_PUBKEY(bio, key), ==, 1);
	BIO_get_mem_ptr(bio, &mem);
	return g_strndup(mem->data, mem->length);
}

static EVP_PKEY *
from_pem_ok(const gchar *pem)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = me_key_from_pem(pem, (gsize)-1, &error);

	g_assert_no_error(error);
	g_assert_nonnull(key);
	return key;
}

/* ---- generation, checked by the openssl CLI */

static void
test_generate(gconstpointer data)
{
	const KeyTypeInfo *info = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(EVP_PKEY) other = NULL;
	g_autoptr(EVP_PKEY) back = NULL;
	g_autoptr(MeSecretStr) pem = NULL;
	g_autoptr(MeSecretStr) pem_again = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *check = NULL;
	g_autofree gchar *cli_public = NULL;
	g_autofree gchar *our_public = NULL;
	g_autofree gchar *bits_line = NULL;

	/* RSA-2048 takes the same code path; the larger primes only make valgrind's run long */
	if (info->bits >= 3072 && under_valgrind()) {
		g_test_skip("RSA-3072 and RSA-4096 generation take minutes under valgrind; the normal run covers them");
		return;
	}
	key = me_key_generate(info->type, &error);
	g_assert_no_error(error);
	g_assert_nonnull(key);
	g_assert_cmpint(me_key_get_type(key), ==, info->type);
	g_assert_cmpint(EVP_PKEY_get_bits(key), ==, info->bits);
	g_assert_true(EVP_PKEY_is_a(key, info->is_ec ? "EC" : "RSA"));

	/* unencrypted PKCS#8 */
	pem = me_key_to_pem(key, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(pem, "-----BEGIN PRIVATE KEY-----\n"));
	g_assert_true(g_str_has_suffix(pem, "-----END PRIVATE KEY-----\n"));

	/* what the openssl CLI makes of it */
	path = me_test_write_tmp(work_dir, "key.pem", pem);
	text = openssl((const gchar *[]){"pkey", "-in", path, "-noout", "-text", NULL});
	bits_line = g_strdup_printf("Private-Key: (%u bit", info->bits);
	g_assert_true(g_str_has_prefix(text, bits_line));
	if (info->is_ec) {
		g_autofree gchar *curve_line = g_strdup_printf("ASN1 OID: %s\n", info->curve);
		g_assert_nonnull(strstr(text, curve_line));
	} else {
		g_assert_nonnull(strstr(text, "publicExponent: 65537 (0x10001)"));
	}
	check = openssl((const gchar *[]){"pkey", "-in", path, "-noout", "-check", NULL});
	g_assert_nonnull(strstr(check, "Key is valid"));
	cli_public = openssl((const gchar *[]){"pkey", "-in", path, "-pubout", NULL});
	our_public = public_pem(key);
	g_assert_cmpstr(cli_public, ==, our_public);

	/* the PEM round trip: the same key, the same PEM */
	back = from_pem_ok(pem);
	g_assert_cmpint(me_key_get_type(back), ==, info->type);
	g_assert_true(me_key_public_equal(key, back));
	pem_again = me_key_to_pem(back, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pem_again, ==, pem);

	/* a second key is another key */
	other = me_key_generate(info->type, &error);
	g_assert_no_error(error);
	g_assert_false(me_key_public_equal(key, other));
}

static void
test_generate_unknown(void)
{
	const MeKeyType bad[] = {ME_KEY_TYPE_UNKNOWN, (MeKeyType)(ME_KEY_TYPE_RSA_4096 + 1), (MeKeyType)-1};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(EVP_PKEY) key = me_key_generate(bad[i], &error);
		g_assert_null(key);
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		me_test_assert_sentence(error);
	}
}

/* ---- keys the openssl CLI made, in each form it writes */

typedef struct {
	const gchar *what;
	const gchar *args[8];
	const gchar *header; /* the PEM header the CLI writes */
	MeKeyType type;
} CliKeyCase;

static const CliKeyCase cli_keys[] = {
    {"PKCS#8 P-256", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_EC_P256},
    {"PKCS#8 P-384", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_EC_P384},
    {"SEC1 P-256", {"ecparam", "-name", "prime256v1", "-genkey", "-noout", NULL},
     "-----BEGIN EC PRIVATE KEY-----", ME_KEY_TYPE_EC_P256},
    {"SEC1 P-384", {"ecparam", "-name", "secp384r1", "-genkey", "-noout", NULL},
     "-----BEGIN EC PRIVATE KEY-----", ME_KEY_TYPE_EC_P384},
    {"PKCS#1 RSA-2048", {"genrsa", "-traditional", "2048", NULL}, "-----BEGIN RSA PRIVATE KEY-----",
     ME_KEY_TYPE_RSA_2048},
    {"PKCS#8 RSA-3072", {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_RSA_3072},
    /* readable, but no type we make: jws.c may still sign with them, the rest refuses them */
    {"RSA-1024", {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_UNKNOWN},
    {"P-521", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_UNKNOWN},
    {"secp256k1", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", NULL},
     "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_UNKNOWN},
    {"Ed25519", {"genpkey", "-algorithm", "ED25519", NULL}, "-----BEGIN PRIVATE KEY-----", ME_KEY_TYPE_UNKNOWN},
};

static void
test_from_cli(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(cli_keys); i++) {
		const CliKeyCase *tc = &cli_keys[i];
		g_autofree gchar *pem = openssl(tc->args);
		g_autofree gchar *path = me_test_write_tmp(work_dir, "cli.pem", pem);
		g_autofree gchar *cli_public = NULL;
		g_autofree gchar *our_public = NULL;
		g_autoptr(EVP_PKEY) key = NULL;

		g_test_message("%s", tc->what);
		g_assert_true(g_str_has_prefix(pem, tc->header));
		key = from_pem_ok(pem);
		g_assert_cmpint(me_key_get_type(key), ==, tc->type);
		cli_public = openssl((const gchar *[]){"pkey", "-in", path, "-pubout", NULL});
		our_public = public_pem(key);
		g_assert_cmpstr(our_public, ==, cli_public);
		/* a length shorter than the text reads only that much: here, a cut key */
		{
			g_autoptr(GError) error = NULL;
			g_autoptr(EVP_PKEY) cut = me_key_from_pem(pem, strlen(pem) / 2, &error);
			g_assert_null(cut);
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		}
	}
}

/* ---- bad input */

static void
assert_refused(const gchar *pem, gsize len, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_from_pem(pem, len, &error);

	g_assert_null(key);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
	/* the OpenSSL error queue is emptied into the debug log, not left for the next caller */
	g_assert_cmpuint(ERR_peek_error(), ==, 0);
}

static void
test_from_pem_refused(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(MeSecretStr) pem = me_key_to_pem(key, &error);
	g_autofree gchar *public_only = public_pem(key);
	g_autofree gchar *bad_base64 = g_strdup(pem);
	g_autofree gchar *no_footer = g_strndup(pem, strstr(pem, "-----END") - pem);
	g_autoptr(X509) cert = me_test_make_cert("Test", key, NULL, key, TRUE, NULL);
	g_autoptr(BIO) cert_bio = BIO_new(BIO_s_mem());
	g_autofree gchar *cert_pem = NULL;
	g_autofree gchar *huge = NULL;
	BUF_MEM *mem = NULL;

	g_assert_no_error(error);
	/* one character of the base64 body changed to one that is not base64 */
	bad_base64[strlen("-----BEGIN PRIVATE KEY-----\n") + 10] = '*';
	g_assert_cmpint(PEM_write_bio_X509(cert_bio, cert), ==, 1);
	BIO_get_mem_ptr(cert_bio, &mem);
	cert_pem = g_strndup(mem->data, mem->length);

	assert_refused("", (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused("not a key", (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused(public_only, (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused(cert_pem, (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused(bad_base64, (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused(no_footer, (gsize)-1, ME_ERROR_INVALID_DATA);
	assert_refused(pem, 0, ME_ERROR_INVALID_DATA);

	/* more than 64 KiB is no key of ours, whatever it holds: refused before parsing */
	huge = g_strnfill(64 * 1024 + 1, 'A');
	assert_refused(huge, (gsize)-1, ME_ERROR_TOO_LARGE);
	assert_refused(pem, 64 * 1024 + 1, ME_ERROR_TOO_LARGE);
}

/* ---- two keys, two jobs */

static void
test_distinct(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account = me_key_generate(ME_KEY_TYPE_ACCOUNT, &error);
	g_autoptr(EVP_PKEY) cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(EVP_PKEY) rsa = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
	g_autoptr(MeSecretStr) pem = me_key_to_pem(account, &error);
	g_autoptr(EVP_PKEY) account_copy = from_pem_ok(pem);

	g_assert_no_error(error);
	g_assert_cmpint(me_key_get_type(account), ==, ME_KEY_TYPE_EC_P256);
	g_assert_true(me_key_check_distinct(account, cert_key, &error));
	g_assert_no_error(error);
	g_assert_true(me_key_check_distinct(account, rsa, &error));
	g_assert_no_error(error);
	g_assert_false(me_key_public_equal(account, rsa));

	/* the same object, and the same key read back from its PEM */
	g_assert_false(me_key_check_distinct(account, account, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	g_assert_true(me_key_public_equal(account, account_copy));
	g_assert_false(me_key_check_distinct(account, account_copy, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(me_key_check_distinct(account_copy, account, NULL));
}

/* ---- names */

static void
test_type_names(void)
{
	const gchar *bad[] = {"", "unknown", "EC-P256", "ec_p256", "rsa-1024", "rsa-8192", "ed25519", "p256"};

	for (guint i = 0; i < G_N_ELEMENTS(key_types); i++) {
		g_assert_cmpstr(me_key_type_to_string(key_types[i].type), ==, key_types[i].name);
		g_assert_cmpint(me_key_type_from_string(key_types[i].name), ==, key_types[i].type);
	}
	g_assert_cmpstr(me_key_type_to_string(ME_KEY_TYPE_UNKNOWN), ==, "unknown");
	g_assert_cmpstr(me_key_type_to_string((MeKeyType)99), ==, "unknown");
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(me_key_type_from_string(bad[i]), ==, ME_KEY_TYPE_UNKNOWN);
	g_assert_cmpint(me_key_type_from_string(NULL), ==, ME_KEY_TYPE_UNKNOWN);
	/* the documented defaults */
	g_assert_cmpint(ME_KEY_TYPE_ACCOUNT, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpint(ME_KEY_TYPE_CERTIFICATE_DEFAULT, ==, ME_KEY_TYPE_RSA_3072);
}

static void
test_usage_names(void)
{
	const struct {
		MeKeyUsage usage;
		const gchar *name;
	} usages[] = {{ME_KEY_USAGE_SIGNING, "signing"}, {ME_KEY_USAGE_ENCRYPTION, "encryption"}, {ME_KEY_USAGE_DUAL, "dual"}};
	const gchar *bad[] = {"", "unknown", "Signing", "sign", "both", "dual "};

	for (guint i = 0; i < G_N_ELEMENTS(usages); i++) {
		g_assert_cmpstr(me_key_usage_to_string(usages[i].usage), ==, usages[i].name);
		g_assert_cmpint(me_key_usage_from_string(usages[i].name), ==, usages[i].usage);
	}
	g_assert_cmpstr(me_key_usage_to_string(ME_KEY_USAGE_UNKNOWN), ==, "unknown");
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(me_key_usage_from_string(bad[i]), ==, ME_KEY_USAGE_UNKNOWN);
	g_assert_cmpint(me_key_usage_from_string(NULL), ==, ME_KEY_USAGE_UNKNOWN);
}

/* ---- Key Usage bits, against OpenSSL's reading of the names in keys.h's table */

/* the bits OpenSSL finds in a certificate whose keyUsage is @names in config syntax */
static guint32
openssl_key_usage(const gchar *names)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(X509) cert = X509_new();
	g_autoptr(X509_EXTENSION) ext = NULL;
	X509V3_CTX ctx;

	g_assert_no_error(error);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, names);
	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
	g_assert_cmpint(X509_set_pubkey(cert, key), ==, 1);
	g_assert_cmpint(X509_sign(cert, key, EVP_sha256()), >, 0);
	return X509_get_key_usage(cert);
}

static void
test_usage_bits(void)
{
	/* the table in keys.h, row by row */
	const struct {
		MeKeyUsage usage;
		const gchar *rsa;
		const gchar *ec;
	} table[] = {
	    {ME_KEY_USAGE_SIGNING, "critical,digitalSignature", "critical,digitalSignature"},
	    {ME_KEY_USAGE_ENCRYPTION, "critical,keyEncipherment", "critical,keyAgreement"},
	    {ME_KEY_USAGE_DUAL, "critical,digitalSignature,keyEncipherment", "critical,digitalSignature,keyAgreement"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
		guint32 rsa = openssl_key_usage(table[i].rsa);
		guint32 ec = openssl_key_usage(table[i].ec);
		for (guint t = 0; t < G_N_ELEMENTS(key_types); t++) {
			guint32 bits = me_key_usage_get_bits(key_types[t].type, table[i].usage);
			g_test_message("%s %s: 0x%x", key_types[t].name, me_key_usage_to_string(table[i].usage), bits);
			g_assert_cmphex(bits, ==, key_types[t].is_ec ? ec : rsa);
			/* what is asked for is always allowed */
			g_assert_cmphex(bits & ~me_key_usage_get_allowed_bits(key_types[t].type), ==, 0);
		}
	}
	/* unknown type or usage: nothing to ask for */
	g_assert_cmphex(me_key_usage_get_bits(ME_KEY_TYPE_UNKNOWN, ME_KEY_USAGE_DUAL), ==, 0);
	g_assert_cmphex(me_key_usage_get_bits(ME_KEY_TYPE_RSA_2048, ME_KEY_USAGE_UNKNOWN), ==, 0);
	g_assert_cmphex(me_key_usage_get_bits(ME_KEY_TYPE_EC_P256, (MeKeyUsage)42), ==, 0);
}

static void
test_usage_allowed(void)
{
	guint32 rsa = openssl_key_usage("digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment");
	guint32 ec = openssl_key_usage("digitalSignature,nonRepudiation,keyAgreement,encipherOnly,decipherOnly");

	for (guint t = 0; t < G_N_ELEMENTS(key_types); t++) {
		guint32 allowed = me_key_usage_get_allowed_bits(key_types[t].type);
		g_assert_cmphex(allowed, ==, key_types[t].is_ec ? ec : rsa);
		/* never a CA's bits */
		g_assert_cmphex(allowed & (KU_KEY_CERT_SIGN | KU_CRL_SIGN), ==, 0);
	}
	g_assert_cmphex(me_key_usage_get_allowed_bits(ME_KEY_TYPE_UNKNOWN), ==, 0);
}

/* ---- errors from OpenSSL, and the secret PEM */

static void
test_crypto_error(void)
{
	g_autoptr(GError) error = NULL;

	ERR_raise(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM);
	ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
	g_assert_cmpuint(ERR_peek_error(), !=, 0);
	me_crypto_set_error(&error, ME_ERROR_CRYPTO, "The private key could not be generated.");
	g_assert_error(error, ME_ERROR, ME_ERROR_CRYPTO);
	/* the person reads our sentence, not OpenSSL's text */
	g_assert_cmpstr(error->message, ==, "The private key could not be generated.");
	g_assert_cmpuint(ERR_peek_error(), ==, 0);
	/* a caller that wants no error still gets the queue emptied */
	ERR_raise(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM);
	me_crypto_set_error(NULL, ME_ERROR_CRYPTO, "ignored");
	g_assert_cmpuint(ERR_peek_error(), ==, 0);
}

/*
 * The PEM is a MeSecretStr: me_secret_str_free() wipes it with me_secure_wipe() before freeing
 * it.  What happens to freed memory cannot be looked at, so the wipe is checked on a live copy
 * the same way, and the free itself by valgrind and ASan, which see a wrong or double free.
 */
static void
test_pem_wipe(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	MeSecretStr *pem = me_key_to_pem(key, &error);
	gsize len = strlen(pem);
	g_autofree gchar *copy = g_strdup(pem);

	g_assert_no_error(error);
	g_assert_cmpuint(len, >, 100);
	me_secure_wipe(copy, len);
	for (gsize i = 0; i < len; i++)
		g_assert_cmpint(copy[i], ==, 0);
	me_secret_str_free(pem);
	me_secret_str_free(NULL);
}

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	work_dir = me_test_tmpdir();
	for (guint i = 0; i < G_N_ELEMENTS(key_types); i++) {
		g_autofree gchar *path = g_strdup_printf("/keys/generate/%s", key_types[i].name);
		g_test_add_data_func(path, &key_types[i], test_generate);
	}
	g_test_add_func("/keys/generate/unknown", test_generate_unknown);
	g_test_add_func("/keys/from-pem/openssl-cli", test_from_cli);
	g_test_add_func("/keys/from-pem/refused", test_from_pem_refused);
	g_test_add_func("/keys/distinct", test_distinct);
	g_test_add_func("/keys/names/type", test_type_names);
	g_test_add_func("/keys/names/usage", test_usage_names);
	g_test_add_func("/keys/usage/bits", test_usage_bits);
	g_test_add_func("/keys/usage/allowed", test_usage_allowed);
	g_test_add_func("/keys/crypto-error", test_crypto_error);
	g_test_add_func("/keys/pem-wipe", test_pem_wipe);
	rc = g_test_run();
	me_test_rm_rf(work_dir);
	g_free(work_dir);
	return rc;
}
