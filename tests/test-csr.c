/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestCsr"

#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <locale.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "autocleanups.h"
#include "csr.h"
#include "keys.h"
#include "me-error.h"
#include "test-util.h"

#define MAILBOX "alice@example.com"

/* ---- keys: each type is generated once; RSA-4096 is slow, so it is skipped under valgrind */

static EVP_PKEY *cached_keys[ME_KEY_TYPE_RSA_4096 + 1];

static gboolean
under_valgrind(void)
{
	return g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0;
}

/* returns NULL (and marks the test skipped) for RSA-4096 under valgrind */
static EVP_PKEY *
get_key(MeKeyType type)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(type, >, ME_KEY_TYPE_UNKNOWN);
	g_assert_cmpint(type, <=, ME_KEY_TYPE_RSA_4096);
	if (type == ME_KEY_TYPE_RSA_4096 && under_valgrind()) {
		g_test_skip("RSA-4096 generation takes minutes under valgrind; the normal run covers it");
		return NULL;
	}
	if (cached_keys[type] == NULL) {
		cached_keys[type] = me_key_generate(type, &error);
		g_assert_no_error(error);
		g_assert_nonnull(cached_keys[type]);
	}
	return cached_keys[type];
}

static EVP_PKEY *
new_key(MeKeyType type)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = me_key_generate(type, &error);
	g_assert_no_error(error);
	g_assert_nonnull(key);
	return key;
}

/* ---- the expected Key Usage, written out independently of keys.c */

typedef struct {
	MeKeyType type;
	MeKeyUsage usage;
	guint32 bits;
	const gchar *text; /* as `openssl req -text` prints it */
} KuCase;

static const KuCase ku_cases[] = {
    {ME_KEY_TYPE_RSA_2048, ME_KEY_USAGE_SIGNING, KU_DIGITAL_SIGNATURE, "Digital Signature"},
    {ME_KEY_TYPE_RSA_2048, ME_KEY_USAGE_ENCRYPTION, KU_KEY_ENCIPHERMENT, "Key Encipherment"},
    {ME_KEY_TYPE_RSA_2048, ME_KEY_USAGE_DUAL, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
     "Digital Signature, Key Encipherment"},
    {ME_KEY_TYPE_RSA_3072, ME_KEY_USAGE_SIGNING, KU_DIGITAL_SIGNATURE, "Digital Signature"},
    {ME_KEY_TYPE_RSA_3072, ME_KEY_USAGE_ENCRYPTION, KU_KEY_ENCIPHERMENT, "Key Encipherment"},
    {ME_KEY_TYPE_RSA_3072, ME_KEY_USAGE_DUAL, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
     "Digital Signature, Key Encipherment"},
    {ME_KEY_TYPE_RSA_4096, ME_KEY_USAGE_SIGNING, KU_DIGITAL_SIGNATURE, "Digital Signature"},
    {ME_KEY_TYPE_RSA_4096, ME_KEY_USAGE_ENCRYPTION, KU_KEY_ENCIPHERMENT, "Key Encipherment"},
    {ME_KEY_TYPE_RSA_4096, ME_KEY_USAGE_DUAL, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
     "Digital Signature, Key Encipherment"},
    {ME_KEY_TYPE_EC_P256, ME_KEY_USAGE_SIGNING, KU_DIGITAL_SIGNATURE, "Digital Signature"},
    {ME_KEY_TYPE_EC_P256, ME_KEY_USAGE_ENCRYPTION, KU_KEY_AGREEMENT, "Key Agreement"},
    {ME_KEY_TYPE_EC_P256, ME_KEY_USAGE_DUAL, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT,
     "Digital Signature, Key Agreement"},
    {ME_KEY_TYPE_EC_P384, ME_KEY_USAGE_SIGNING, KU_DIGITAL_SIGNATURE, "Digital Signature"},
    {ME_KEY_TYPE_EC_P384, ME_KEY_USAGE_ENCRYPTION, KU_KEY_AGREEMENT, "Key Agreement"},
    {ME_KEY_TYPE_EC_P384, ME_KEY_USAGE_DUAL, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT,
     "Digital Signature, Key Agreement"},
};

static void
test_key_usage_table(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ku_cases); i++) {
		const KuCase *c = &ku_cases[i];
		g_test_message("%s/%s", me_key_type_to_string(c->type), me_key_usage_to_string(c->usage));
		g_assert_cmphex(me_key_usage_get_bits(c->type, c->usage), ==, c->bits);
		/* what is asked for is always allowed */
		g_assert_cmphex(me_key_usage_get_allowed_bits(c->type) & c->bits, ==, c->bits);
	}
	g_assert_cmphex(me_key_usage_get_bits(ME_KEY_TYPE_UNKNOWN, ME_KEY_USAGE_DUAL), ==, 0);
	g_assert_cmphex(me_key_usage_get_bits(ME_KEY_TYPE_RSA_3072, ME_KEY_USAGE_UNKNOWN), ==, 0);
	g_assert_cmphex(me_key_usage_get_allowed_bits(ME_KEY_TYPE_RSA_2048), ==,
			KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT);
	g_assert_cmphex(me_key_usage_get_allowed_bits(ME_KEY_TYPE_EC_P384), ==,
			KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_AGREEMENT | KU_ENCIPHER_ONLY |
			    KU_DECIPHER_ONLY);
	g_assert_cmphex(me_key_usage_get_allowed_bits(ME_KEY_TYPE_UNKNOWN), ==, 0);
}

static void
test_key_usage_strings(void)
{
	const MeKeyUsage usages[] = {ME_KEY_USAGE_SIGNING, ME_KEY_USAGE_ENCRYPTION, ME_KEY_USAGE_DUAL};

	for (gsize i = 0; i < G_N_ELEMENTS(usages); i++)
		g_assert_cmpint(me_key_usage_from_string(me_key_usage_to_string(usages[i])), ==, usages[i]);
	g_assert_cmpstr(me_key_usage_to_string(ME_KEY_USAGE_DUAL), ==, "dual");
	g_assert_cmpint(me_key_usage_from_string("both"), ==, ME_KEY_USAGE_UNKNOWN);
	g_assert_cmpint(me_key_usage_from_string(NULL), ==, ME_KEY_USAGE_UNKNOWN);
}

/* E-29: the key types we generate, with the sizes and exponent the BR allow */
static void
test_key_types(void)
{
	const MeKeyType types[] = {ME_KEY_TYPE_EC_P256, ME_KEY_TYPE_EC_P384, ME_KEY_TYPE_RSA_2048,
				   ME_KEY_TYPE_RSA_3072, ME_KEY_TYPE_RSA_4096};
	const gint bits[] = {256, 384, 2048, 3072, 4096};

	g_assert_cmpint(ME_KEY_TYPE_ACCOUNT, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpint(ME_KEY_TYPE_CERTIFICATE_DEFAULT, ==, ME_KEY_TYPE_RSA_3072);
	for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(BIGNUM) e = NULL;
		EVP_PKEY *key = types[i] == ME_KEY_TYPE_RSA_4096 && under_valgrind() ? NULL : get_key(types[i]);

		if (key == NULL)
			continue;
		g_assert_cmpint(me_key_get_type(key), ==, types[i]);
		g_assert_cmpint(EVP_PKEY_get_bits(key), ==, bits[i]);
		if (!EVP_PKEY_is_a(key, "RSA"))
			continue;
		g_assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e));
		g_assert_cmpuint(BN_get_word(e), ==, 65537);
	}
}

static void
test_key_distinct(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account = new_key(ME_KEY_TYPE_ACCOUNT);
	g_autoptr(EVP_PKEY) cert = new_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) copy = NULL;
	g_autoptr(MeSecretStr) pem = NULL;

	g_assert_true(me_key_check_distinct(account, cert, &error));
	g_assert_no_error(error);
	g_assert_true(me_key_check_distinct(account, get_key(ME_KEY_TYPE_RSA_2048), &error));
	g_assert_no_error(error);

	g_assert_false(me_key_check_distinct(account, account, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	/* the same key read back from the keyring is another object but the same key */
	pem = me_key_to_pem(account, &error);
	g_assert_no_error(error);
	copy = me_key_from_pem(pem, (gsize)-1, &error);
	g_assert_no_error(error);
	g_assert_false(me_key_check_distinct(account, copy, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
}

/* ---- looking inside a CSR with the OpenSSL API */

static X509_REQ *
parse_csr(GBytes *der)
{
	gsize len = 0;
	const guchar *data = g_bytes_get_data(der, &len);
	X509_REQ *req = d2i_X509_REQ(NULL, &data, (long)len);

	g_assert_nonnull(req);
	g_assert_true(data == (const guchar *)g_bytes_get_data(der, NULL) + len);
	return req;
}

static const X509_EXTENSION *
find_ext(const MeX509ExtStack *exts, gint nid)
{
	for (gint i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		const X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)ext)) == nid)
			return ext;
	}
	return NULL;
}

/* exactly SAN and critical KU with @ku_bits; no EKU, nothing else (E-31); signature valid */
static void
assert_csr_structure(X509_REQ *req, EVP_PKEY *key, guint32 ku_bits, gboolean empty_subject)
{
	g_autoptr(MeX509ExtStack) exts = X509_REQ_get_extensions(req);
	const X509_EXTENSION *san;
	const X509_EXTENSION *ku;
	g_autoptr(ASN1_BIT_STRING) bits = NULL;
	guint32 have = 0;

	g_assert_cmpint(X509_REQ_get_version(req), ==, X509_REQ_VERSION_1);
	g_assert_cmpint(X509_REQ_verify(req, key), ==, 1);
	g_assert_true(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) == 1);
	g_assert_cmpint(X509_REQ_get_signature_nid(req), ==,
			EVP_PKEY_is_a(key, "RSA") ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256);
	g_assert_cmpint(X509_REQ_get_attr_count(req), ==, 1);
	g_assert_nonnull(exts);
	g_assert_cmpint(sk_X509_EXTENSION_num(exts), ==, 2);
	g_assert_null(find_ext(exts, NID_ext_key_usage));
	g_assert_null(find_ext(exts, NID_basic_constraints));
	san = find_ext(exts, NID_subject_alt_name);
	ku = find_ext(exts, NID_key_usage);
	g_assert_nonnull(san);
	g_assert_nonnull(ku);
	g_assert_cmpint(X509_EXTENSION_get_critical(ku), ==, 1);
	g_assert_cmpint(X509_EXTENSION_get_critical(san), ==, empty_subject ? 1 : 0);
	bits = X509V3_EXT_d2i((X509_EXTENSION *)ku);
	g_assert_nonnull(bits);
	for (gint n = 0; n <= 8; n++) {
		if (ASN1_BIT_STRING_get_bit(bits, n))
			have |= n < 8 ? 0x80u >> n : 0x8000u;
	}
	g_assert_cmphex(have, ==, ku_bits);
	g_assert_cmpint(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), ==, empty_subject ? 0 : 1);
}

/* the one general name of the request's SAN */
static GENERAL_NAMES *
csr_san(X509_REQ *req)
{
	g_autoptr(MeX509ExtStack) exts = X509_REQ_get_extensions(req);
	const X509_EXTENSION *san = find_ext(exts, NID_subject_alt_name);
	GENERAL_NAMES *names;

	g_assert_nonnull(san);
	names = X509V3_EXT_d2i((X509_EXTENSION *)san);
	g_assert_nonnull(names);
	g_assert_cmpint(sk_GENERAL_NAME_num(names), ==, 1);
	return names;
}

static gchar *
csr_cn(X509_REQ *req)
{
	X509_NAME *subject = X509_REQ_get_subject_name(req);
	gint idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	const ASN1_STRING *str;

	g_assert_cmpint(idx, >=, 0);
	str = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
	g_assert_cmpint(ASN1_STRING_type(str), ==, V_ASN1_UTF8STRING);
	return g_strndup((const gchar *)ASN1_STRING_get0_data(str), ASN1_STRING_length(str));
}

/* ---- looking inside a CSR with the openssl program, an independent parser */

typedef struct {
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = me_test_tmpdir();
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
}

static gchar *
write_der(Fixture *fx, const gchar *name, gconstpointer data, gsize len)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(fx->dir, name, NULL);

	g_file_set_contents(path, data, len, &error);
	g_assert_no_error(error);
	return path;
}

/* stdout and stderr of `openssl ...`, which must succeed */
static gchar *
run_openssl(const gchar *const *argv)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	g_test_message("%s %s: %s%s", argv[0], argv[1], out, err);
	g_assert_cmpint(status, ==, 0);
	return g_strconcat(out, err, NULL);
}

static gchar *
openssl_req_text(Fixture *fx, GBytes *der)
{
	g_autofree gchar *path = write_der(fx, "req.der", g_bytes_get_data(der, NULL), g_bytes_get_size(der));
	const gchar *argv[] = {"openssl", "req", "-in", path, "-inform", "DER", "-noout", "-text", "-verify", NULL};
	gchar *text = run_openssl(argv);

	g_assert_nonnull(strstr(text, "verify OK"));
	g_assert_null(strstr(text, "Extended Key Usage"));
	return text;
}

/* the line after @header, stripped */
static gchar *
line_after(const gchar *text, const gchar *header)
{
	const gchar *at = strstr(text, header);
	const gchar *start;
	const gchar *end;

	g_assert_nonnull(at);
	start = strchr(at, '\n');
	g_assert_nonnull(start);
	start++;
	end = strchr(start, '\n');
	g_assert_nonnull(end);
	return g_strstrip(g_strndup(start, end - start));
}

/* ---- E-28, E-30, E-31: every key type × usage */

static void
test_new_case(Fixture *fx, gconstpointer data)
{
	const KuCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) der = NULL;
	g_autoptr(X509_REQ) req = NULL;
	g_autoptr(GENERAL_NAMES) names = NULL;
	g_autofree gchar *cn = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *ku_line = NULL;
	g_autofree gchar *san_line = NULL;
	g_autofree gchar *bits_line = NULL;
	EVP_PKEY *key = get_key(c->type);

	if (key == NULL)
		return;
	bits_line = g_strdup_printf("Public-Key: (%d bit)", EVP_PKEY_get_bits(key));
	der = me_csr_new(key, MAILBOX, c->usage, ME_CSR_FLAGS_NONE, &error);
	g_assert_no_error(error);
	g_assert_nonnull(der);

	/* in C */
	req = parse_csr(der);
	assert_csr_structure(req, key, c->bits, FALSE);
	names = csr_san(req);
	g_assert_cmpint(sk_GENERAL_NAME_value(names, 0)->type, ==, GEN_EMAIL);
	cn = csr_cn(req);
	g_assert_cmpstr(cn, ==, MAILBOX);

	/* with the openssl program */
	text = openssl_req_text(fx, der);
	g_assert_nonnull(strstr(text, "Subject: CN = " MAILBOX "\n"));
	g_assert_nonnull(strstr(text, bits_line));
	g_assert_nonnull(strstr(text, EVP_PKEY_is_a(key, "RSA") ? "Signature Algorithm: sha256WithRSAEncryption"
								: "Signature Algorithm: ecdsa-with-SHA256"));
	ku_line = line_after(text, "X509v3 Key Usage: critical\n");
	g_assert_cmpstr(ku_line, ==, c->text);
	san_line = line_after(text, "X509v3 Subject Alternative Name: \n");
	g_assert_cmpstr(san_line, ==, "email:" MAILBOX);
}

/* an empty subject makes the SAN critical (RFC 5280 §4.2.1.6) */
static void
test_new_empty_subject(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = get_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GBytes) der = me_csr_new(key, MAILBOX, ME_KEY_USAGE_SIGNING, ME_CSR_FLAGS_EMPTY_SUBJECT, &error);
	g_autoptr(X509_REQ) req = NULL;
	g_autofree gchar *text = NULL;

	g_assert_no_error(error);
	req = parse_csr(der);
	assert_csr_structure(req, key, KU_DIGITAL_SIGNATURE, TRUE);
	text = openssl_req_text(fx, der);
	g_assert_nonnull(strstr(text, "Subject: \n"));
	g_assert_nonnull(strstr(text, "X509v3 Subject Alternative Name: critical\n"));
}

/* a mailbox longer than ub-common-name cannot be a CN, so the subject is left empty */
static void
test_new_long_mailbox(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = get_key(ME_KEY_TYPE_EC_P256);
	g_autofree gchar *local = g_strnfill(60, 'a');
	g_autofree gchar *mailbox = g_strdup_printf("%s@example.com", local);
	g_autoptr(GBytes) der = me_csr_new(key, mailbox, ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, &error);
	g_autoptr(X509_REQ) req = NULL;
	g_autoptr(GENERAL_NAMES) names = NULL;
	const ASN1_STRING *email;

	g_assert_no_error(error);
	req = parse_csr(der);
	assert_csr_structure(req, key, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT, TRUE);
	names = csr_san(req);
	email = sk_GENERAL_NAME_value(names, 0)->d.rfc822Name;
	g_assert_cmpmem(ASN1_STRING_get0_data(email), ASN1_STRING_length(email), mailbox, strlen(mailbox));
}

static void
test_pem(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) der = me_csr_new(get_key(ME_KEY_TYPE_RSA_2048), MAILBOX, ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, &error);
	g_autofree gchar *pem = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GBytes) garbage = g_bytes_new_static("\x30\x03\x02\x01", 4);

	g_assert_no_error(error);
	pem = me_csr_to_pem(der, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));
	g_assert_true(g_str_has_suffix(pem, "-----END CERTIFICATE REQUEST-----\n"));
	path = me_test_write_tmp(fx->dir, "req.pem", pem);
	{
		const gchar *argv[] = {"openssl", "req", "-in", path, "-noout", "-verify", NULL};
		text = run_openssl(argv);
	}
	g_assert_nonnull(strstr(text, "verify OK"));

	g_assert_null(me_csr_to_pem(garbage, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
}

/* ---- E-32, RFC 9598: internationalized mailboxes */

/* the exact DER of GeneralNames { otherName { id-on-SmtpUTF8Mailbox, [0] EXPLICIT UTF8String } } */
static GByteArray *
smtputf8_der(const gchar *value)
{
	static const guint8 oid[] = {0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x09};
	gsize len = strlen(value);
	GByteArray *der = g_byte_array_new();
	guint8 head[2];

	g_assert_cmpuint(len, <, 100); /* every length below fits one octet */
	head[0] = 0x30, head[1] = (guint8)(len + 2 + 2 + sizeof(oid) + 2);
	g_byte_array_append(der, head, 2);
	head[0] = 0xa0, head[1] = (guint8)(len + 2 + 2 + sizeof(oid));
	g_byte_array_append(der, head, 2);
	g_byte_array_append(der, oid, sizeof(oid));
	head[0] = 0xa0, head[1] = (guint8)(len + 2);
	g_byte_array_append(der, head, 2);
	head[0] = 0x0c, head[1] = (guint8)len;
	g_byte_array_append(der, head, 2);
	g_byte_array_append(der, (const guint8 *)value, len);
	return der;
}

static void
assert_smtputf8_csr(Fixture *fx, const gchar *mailbox, const gchar *expected)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = get_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GBytes) der = me_csr_new(key, mailbox, ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, &error);
	g_autoptr(X509_REQ) req = NULL;
	g_autoptr(MeX509ExtStack) exts = NULL;
	g_autoptr(GByteArray) want = smtputf8_der(expected);
	g_autofree gchar *san_path = NULL;
	g_autofree gchar *asn1 = NULL;
	g_autofree gchar *utf8_line = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *cn = NULL;
	const ASN1_OCTET_STRING *value;

	g_assert_no_error(error);
	req = parse_csr(der);
	assert_csr_structure(req, key, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT, FALSE);
	cn = csr_cn(req);
	g_assert_cmpstr(cn, ==, expected);

	/* the extension's value, byte for byte */
	exts = X509_REQ_get_extensions(req);
	value = X509_EXTENSION_get_data((X509_EXTENSION *)find_ext(exts, NID_subject_alt_name));
	g_assert_cmpmem(ASN1_STRING_get0_data(value), ASN1_STRING_length(value), want->data, want->len);

	/* and as openssl reads it */
	san_path = write_der(fx, "san.der", ASN1_STRING_get0_data(value), ASN1_STRING_length(value));
	{
		const gchar *argv[] = {"openssl", "asn1parse", "-inform", "DER", "-in", san_path, "-i", NULL};
		asn1 = run_openssl(argv);
	}
	utf8_line = g_strdup_printf("d=3  hl=2 l=%4d prim:    UTF8STRING        :%s\n", (gint)strlen(expected), expected);
	g_assert_nonnull(strstr(asn1, "cons: SEQUENCE"));
	g_assert_nonnull(strstr(asn1, "cons:  cont [ 0 ]"));
	g_assert_nonnull(strstr(asn1, "d=2  hl=2 l=   8 prim:   OBJECT            :Smtp UTF8 Mailbox\n"));
	g_assert_nonnull(strstr(asn1, "cons:   cont [ 0 ]"));
	g_assert_nonnull(strstr(asn1, utf8_line));
	g_assert_null(strstr(asn1, "IA5STRING"));
	text = openssl_req_text(fx, der);
	g_assert_nonnull(strstr(text, "othername: SmtpUTF8Mailbox:"));
	g_assert_null(strstr(text, "email:"));
}

static void
test_idn_smtputf8(Fixture *fx, gconstpointer data)
{
	assert_smtputf8_csr(fx, "пример@example.com", "пример@example.com");
}

/* the local part keeps its case; the domain becomes lowercase A-labels */
static void
test_idn_smtputf8_mixed_case(Fixture *fx, gconstpointer data)
{
	assert_smtputf8_csr(fx, "Üser@Bücher.Example", "Üser@xn--bcher-kva.example");
}

/* an ASCII local part is an rfc822Name, even with a Unicode domain */
static void
test_idn_a_label_domain(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = get_key(ME_KEY_TYPE_RSA_2048);
	g_autoptr(GBytes) der = me_csr_new(key, "user@bücher.example", ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, &error);
	g_autoptr(X509_REQ) req = NULL;
	g_autoptr(GENERAL_NAMES) names = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *san_line = NULL;
	const GENERAL_NAME *name;

	g_assert_no_error(error);
	req = parse_csr(der);
	assert_csr_structure(req, key, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, FALSE);
	names = csr_san(req);
	name = sk_GENERAL_NAME_value(names, 0);
	g_assert_cmpint(name->type, ==, GEN_EMAIL);
	g_assert_cmpint(ASN1_STRING_type(name->d.rfc822Name), ==, V_ASN1_IA5STRING);
	text = openssl_req_text(fx, der);
	san_line = line_after(text, "X509v3 Subject Alternative Name: \n");
	g_assert_cmpstr(san_line, ==, "email:user@xn--bcher-kva.example");
	g_assert_null(strstr(text, "othername"));
}

typedef struct {
	const gchar *input;
	const gchar *normalized; /* NULL: refused */
	gboolean smtputf8;
} NormalizeCase;

static void
test_normalize(void)
{
	g_autofree gchar *local64 = g_strnfill(64, 'a');
	g_autofree gchar *local65 = g_strnfill(65, 'a');
	g_autofree gchar *ok64 = g_strdup_printf("%s@x.example", local64);
	g_autofree gchar *long65 = g_strdup_printf("%s@x.example", local65);
	g_autofree gchar *label63 = g_strnfill(63, 'd');
	g_autofree gchar *long255 = g_strdup_printf("a@%s.%s.%s.%s", label63, label63, label63, label63);
	/* 32 two-octet letters: 64 octets is the limit, in octets */
	g_autofree gchar *cyr64 = g_strdup_printf("%s@x.example", "жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж");
	g_autofree gchar *cyr66 = g_strdup_printf("%s@x.example", "жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж");
	const NormalizeCase cases[] = {
	    {"alice@example.com", "alice@example.com", FALSE},
	    {"Alice@Example.COM", "Alice@example.com", FALSE},
	    {"user@bücher.example", "user@xn--bcher-kva.example", FALSE},
	    {"user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example", FALSE},
	    {"пример@example.com", "пример@example.com", TRUE},
	    {"Üser@Bücher.Example", "Üser@xn--bcher-kva.example", TRUE},
	    {ok64, ok64, FALSE},
	    {cyr64, cyr64, TRUE},
	    {cyr66, NULL, FALSE},
	    {long65, NULL, FALSE},
	    {long255, NULL, FALSE},
	    {"a*b@x.example", NULL, FALSE},
	    {"ab@*.example", NULL, FALSE},
	    {"ab.x.example", NULL, FALSE},
	    {"", NULL, FALSE},
	    {"@x.example", NULL, FALSE},
	    {"ab@", NULL, FALSE},
	    {"a@b@x.example", NULL, FALSE},
	    {"ab@x.example\r\nBcc: eve@x.example", NULL, FALSE},
	    {"ab\r@x.example", NULL, FALSE},
	    {"ab\n@x.example", NULL, FALSE},
	    {"ab\t@x.example", NULL, FALSE},
	    {"a b@x.example", NULL, FALSE},
	    {"ab@x.example\x7f", NULL, FALSE},
	    {"ab\xc2\x85@x.example", NULL, FALSE},     /* NEL, a C1 control */
	    {"ab\xe2\x80\xae@x.example", NULL, FALSE}, /* right-to-left override */
	    {"ab\xff@x.example", NULL, FALSE},         /* not UTF-8 */
	    {"ab@x_y.example", NULL, FALSE},
	    {"ab@x..example", NULL, FALSE},
	    {"ab@[192.0.2.1]", NULL, FALSE},
	    {"ab@-x.example", NULL, FALSE},
	    {"ab@x-.example", NULL, FALSE},
	    {"ab@x-y.example", "ab@x-y.example", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *result = NULL;
		gboolean smtputf8 = !cases[i].smtputf8;

		g_test_message("case %" G_GSIZE_FORMAT, i);
		result = me_csr_normalize_mailbox(cases[i].input, &smtputf8, &error);
		if (cases[i].normalized == NULL) {
			g_assert_null(result);
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
			me_test_assert_sentence(error);
			continue;
		}
		g_assert_no_error(error);
		g_assert_cmpstr(result, ==, cases[i].normalized);
		g_assert_cmpint(smtputf8, ==, cases[i].smtputf8);
	}
}

/* me_csr_new refuses what the normalization refuses, and keys or usages it cannot serve */
static void
assert_refused(EVP_PKEY *key, const gchar *mailbox, MeKeyUsage usage, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) der = me_csr_new(key, mailbox, usage, ME_CSR_FLAGS_NONE, &error);

	g_assert_null(der);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, needle));
}

static void
test_refuse(void)
{
	EVP_PKEY *key = get_key(ME_KEY_TYPE_EC_P256);
	g_autofree gchar *local65 = g_strnfill(65, 'a');
	g_autofree gchar *long65 = g_strdup_printf("%s@x.example", local65);
	g_autoptr(EVP_PKEY) rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	g_autoptr(EVP_PKEY) p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");

	assert_refused(key, "a*b@x.example", ME_KEY_USAGE_SIGNING, "“*”");
	assert_refused(key, "ab.x.example", ME_KEY_USAGE_SIGNING, "exactly one “@”");
	assert_refused(key, long65, ME_KEY_USAGE_SIGNING, "64 bytes");
	assert_refused(key, "ab\r\n@x.example", ME_KEY_USAGE_SIGNING, "line breaks");
	assert_refused(key, "ab@x.example\n", ME_KEY_USAGE_SIGNING, "line breaks");
	assert_refused(key, "ab@-", ME_KEY_USAGE_SIGNING, "valid domain name");
	assert_refused(key, MAILBOX, ME_KEY_USAGE_UNKNOWN, "signing, encryption or both");
	assert_refused(key, MAILBOX, (MeKeyUsage)42, "signing, encryption or both");
	g_assert_nonnull(rsa1024);
	assert_refused(rsa1024, MAILBOX, ME_KEY_USAGE_SIGNING, "RSA or EC key");
	g_assert_nonnull(p521);
	assert_refused(p521, MAILBOX, ME_KEY_USAGE_SIGNING, "RSA or EC key");
}

/* ---- I-01: checking an issued chain, against a small CA made here */

typedef struct {
	const gchar *san;  /* X509V3_EXT_conf_nid syntax, or NULL */
	const gchar *eku;  /* or NULL */
	const gchar *ku;   /* or NULL */
	gboolean ca;
	const gchar *smtputf8; /* instead of @san: one otherName SmtpUTF8Mailbox, from hand-made DER */
} CertSpec;

/* the config syntax cannot give UTF-8 to an otherName inside a SAN list, so the DER is made here */
static void
add_smtputf8_san(X509 *cert, const gchar *value)
{
	g_autoptr(GByteArray) der = smtputf8_der(value);
	g_autoptr(ASN1_OCTET_STRING) data = ASN1_OCTET_STRING_new();
	g_autoptr(X509_EXTENSION) ext = NULL;

	g_assert_cmpint(ASN1_OCTET_STRING_set(data, der->data, (gint)der->len), ==, 1);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, data);
	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
}

static void
add_ext(X509 *cert, X509 *issuer, gint nid, const gchar *value)
{
	X509V3_CTX ctx;
	g_autoptr(X509_EXTENSION) ext = NULL;

	if (value == NULL)
		return;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
}

/* a certificate for @key named CN=@cn, signed by @issuer_key as @issuer (itself when NULL) */
static X509 *
make_cert(const gchar *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const CertSpec *spec)
{
	static glong serial = 1;
	X509 *cert = X509_new();
	X509_NAME *name = X509_get_subject_name(cert);

	g_assert_cmpint(X509_set_version(cert, X509_VERSION_3), ==, 1);
	g_assert_cmpint(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++), ==, 1);
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
	g_assert_cmpint(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const guchar *)cn, -1, -1, 0), ==, 1);
	g_assert_cmpint(X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name), ==, 1);
	g_assert_cmpint(X509_set_pubkey(cert, key), ==, 1);
	add_ext(cert, issuer != NULL ? issuer : cert, NID_basic_constraints, spec->ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(cert, issuer != NULL ? issuer : cert, NID_key_usage, spec->ku);
	add_ext(cert, issuer != NULL ? issuer : cert, NID_ext_key_usage, spec->eku);
	add_ext(cert, issuer != NULL ? issuer : cert, NID_subject_alt_name, spec->san);
	if (spec->smtputf8 != NULL)
		add_smtputf8_san(cert, spec->smtputf8);
	g_assert_cmpint(X509_sign(cert, issuer_key, EVP_sha256()), >, 0);
	return cert;
}

typedef struct {
	EVP_PKEY *root_key;
	EVP_PKEY *inter_key;
	X509 *root;
	X509 *inter;
} TestCa;

static TestCa ca;

static void
ca_ensure(void)
{
	const CertSpec ca_spec = {NULL, NULL, "critical,keyCertSign,cRLSign", TRUE};

	if (ca.root != NULL)
		return;
	ca.root_key = new_key(ME_KEY_TYPE_EC_P256);
	ca.inter_key = new_key(ME_KEY_TYPE_EC_P384);
	ca.root = make_cert("mailenroll test root", ca.root_key, NULL, ca.root_key, &ca_spec);
	ca.inter = make_cert("mailenroll test intermediate", ca.inter_key, ca.root, ca.root_key, &ca_spec);
}

static void
ca_clear(void)
{
	g_clear_pointer(&ca.root, X509_free);
	g_clear_pointer(&ca.inter, X509_free);
	g_clear_pointer(&ca.root_key, EVP_PKEY_free);
	g_clear_pointer(&ca.inter_key, EVP_PKEY_free);
}

/* EE (for @ee_key), intermediate, root */
static GPtrArray *
chain_new(EVP_PKEY *ee_key, const CertSpec *spec)
{
	GPtrArray *chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);

	ca_ensure();
	g_ptr_array_add(chain, make_cert("ee", ee_key, ca.inter, ca.inter_key, spec));
	g_ptr_array_add(chain, X509_dup(ca.inter));
	g_ptr_array_add(chain, X509_dup(ca.root));
	return chain;
}

static void
assert_issued(GPtrArray *chain, EVP_PKEY *key, const gchar *mailbox, MeKeyUsage usage, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = me_csr_check_issued(chain, key, mailbox, usage, &error);

	if (needle == NULL) {
		g_assert_no_error(error);
		g_assert_true(ok);
		return;
	}
	g_assert_false(ok);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, needle));
}

#define RSA_DUAL_KU "critical,digitalSignature,keyEncipherment"
#define EC_DUAL_KU "critical,digitalSignature,keyAgreement"

static void
test_issued_good(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	EVP_PKEY *ec = get_key(ME_KEY_TYPE_EC_P256);
	const CertSpec rsa_spec = {"email:" MAILBOX, "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec ec_spec = {"email:" MAILBOX, "emailProtection,clientAuth", "critical,digitalSignature,nonRepudiation", FALSE};
	g_autoptr(GPtrArray) chain = chain_new(rsa, &rsa_spec);
	g_autoptr(GPtrArray) ec_chain = chain_new(ec, &ec_spec);

	for (MeKeyUsage usage = ME_KEY_USAGE_SIGNING; usage <= ME_KEY_USAGE_DUAL; usage++)
		assert_issued(chain, rsa, MAILBOX, usage, NULL);
	/* the CA may leave out the root */
	g_ptr_array_set_size(chain, 2);
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, NULL);
	g_ptr_array_set_size(chain, 1);
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, NULL);
	/* the mailbox as the user typed it, with the domain in another case */
	assert_issued(chain, rsa, "alice@EXAMPLE.com", ME_KEY_USAGE_DUAL, NULL);
	assert_issued(ec_chain, ec, MAILBOX, ME_KEY_USAGE_SIGNING, NULL);
}

/* RFC 9598: SmtpUTF8Mailbox for a non-ASCII local part, domain compared without case */
static void
test_issued_smtputf8(void)
{
	EVP_PKEY *ec = get_key(ME_KEY_TYPE_EC_P384);
	const CertSpec good = {NULL, "emailProtection", EC_DUAL_KU, FALSE, "Üser@xn--bcher-kva.example"};
	const CertSpec upper = {NULL, "emailProtection", EC_DUAL_KU, FALSE, "Üser@XN--BCHER-KVA.EXAMPLE"};
	const CertSpec lower_local = {NULL, "emailProtection", EC_DUAL_KU, FALSE, "üser@xn--bcher-kva.example"};
	const CertSpec as_email = {"email:user@xn--bcher-kva.example", "emailProtection", EC_DUAL_KU, FALSE};
	const CertSpec as_other = {NULL, "emailProtection", EC_DUAL_KU, FALSE, "user@xn--bcher-kva.example"};
	g_autoptr(GPtrArray) good_chain = chain_new(ec, &good);
	g_autoptr(GPtrArray) upper_chain = chain_new(ec, &upper);
	g_autoptr(GPtrArray) lower_chain = chain_new(ec, &lower_local);
	g_autoptr(GPtrArray) email_chain = chain_new(ec, &as_email);
	g_autoptr(GPtrArray) other_chain = chain_new(ec, &as_other);

	assert_issued(good_chain, ec, "Üser@Bücher.Example", ME_KEY_USAGE_DUAL, NULL);
	assert_issued(upper_chain, ec, "Üser@bücher.example", ME_KEY_USAGE_DUAL, NULL);
	/* the local part is compared octet for octet */
	assert_issued(lower_chain, ec, "Üser@bücher.example", ME_KEY_USAGE_DUAL, "not for Üser@xn--bcher-kva.example alone");
	/* an ASCII local part must be an rfc822Name, and only that */
	assert_issued(email_chain, ec, "user@bücher.example", ME_KEY_USAGE_DUAL, NULL);
	assert_issued(other_chain, ec, "user@bücher.example", ME_KEY_USAGE_DUAL, "not for user@xn--bcher-kva.example alone");
}

static void
test_issued_wrong_key(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	g_autoptr(EVP_PKEY) other = new_key(ME_KEY_TYPE_EC_P256);
	const CertSpec spec = {"email:" MAILBOX, "emailProtection", EC_DUAL_KU, FALSE};
	g_autoptr(GPtrArray) chain = chain_new(other, &spec);

	assert_issued(chain, get_key(ME_KEY_TYPE_EC_P256), MAILBOX, ME_KEY_USAGE_DUAL, "different key");
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "different key");
	assert_issued(chain, other, MAILBOX, ME_KEY_USAGE_DUAL, NULL);
}

static void
test_issued_wrong_san(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	const CertSpec other = {"email:mallory@example.com", "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec two = {"email:" MAILBOX ",email:mallory@example.com", "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec upper_local = {"email:Alice@example.com", "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec dns = {"DNS:example.com", "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec none = {NULL, "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec *specs[] = {&other, &two, &upper_local, &dns, &none};

	for (gsize i = 0; i < G_N_ELEMENTS(specs); i++) {
		g_autoptr(GPtrArray) chain = chain_new(rsa, specs[i]);
		assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "is not for " MAILBOX " alone");
	}
}

static void
test_issued_no_email_protection(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	const CertSpec server = {"email:" MAILBOX, "serverAuth", RSA_DUAL_KU, FALSE};
	const CertSpec none = {"email:" MAILBOX, NULL, RSA_DUAL_KU, FALSE};
	const CertSpec any = {"email:" MAILBOX, "anyExtendedKeyUsage", RSA_DUAL_KU, FALSE};
	const CertSpec *specs[] = {&server, &none, &any};

	for (gsize i = 0; i < G_N_ELEMENTS(specs); i++) {
		g_autoptr(GPtrArray) chain = chain_new(rsa, specs[i]);
		assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_SIGNING, "not meant for email");
	}
}

static void
test_issued_key_usage(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	EVP_PKEY *ec = get_key(ME_KEY_TYPE_EC_P256);
	const CertSpec rsa_sign = {"email:" MAILBOX, "emailProtection", "critical,digitalSignature", FALSE};
	const CertSpec rsa_enc = {"email:" MAILBOX, "emailProtection", "critical,keyEncipherment", FALSE};
	const CertSpec rsa_none = {"email:" MAILBOX, "emailProtection", NULL, FALSE};
	const CertSpec rsa_cert_sign = {"email:" MAILBOX, "emailProtection", "critical,digitalSignature,keyCertSign", FALSE};
	const CertSpec ec_enc_rsa_style = {"email:" MAILBOX, "emailProtection", "critical,digitalSignature,keyEncipherment", FALSE};
	const CertSpec ec_agree = {"email:" MAILBOX, "emailProtection", "critical,keyAgreement,encipherOnly", FALSE};
	g_autoptr(GPtrArray) c_rsa_sign = chain_new(rsa, &rsa_sign);
	g_autoptr(GPtrArray) c_rsa_enc = chain_new(rsa, &rsa_enc);
	g_autoptr(GPtrArray) c_rsa_none = chain_new(rsa, &rsa_none);
	g_autoptr(GPtrArray) c_rsa_cert_sign = chain_new(rsa, &rsa_cert_sign);
	g_autoptr(GPtrArray) c_ec_rsa_style = chain_new(ec, &ec_enc_rsa_style);
	g_autoptr(GPtrArray) c_ec_agree = chain_new(ec, &ec_agree);

	/* the defect the issue names: an RSA dual-use request without keyEncipherment */
	assert_issued(c_rsa_sign, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "may not be used to encrypt mail");
	assert_issued(c_rsa_sign, rsa, MAILBOX, ME_KEY_USAGE_ENCRYPTION, "may not be used to encrypt mail");
	assert_issued(c_rsa_sign, rsa, MAILBOX, ME_KEY_USAGE_SIGNING, NULL);
	assert_issued(c_rsa_enc, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "may not be used to sign mail");
	assert_issued(c_rsa_enc, rsa, MAILBOX, ME_KEY_USAGE_ENCRYPTION, NULL);
	assert_issued(c_rsa_none, rsa, MAILBOX, ME_KEY_USAGE_SIGNING, "does not say what its key may be used for");
	assert_issued(c_rsa_cert_sign, rsa, MAILBOX, ME_KEY_USAGE_SIGNING, "do not fit its key");
	/* EC encrypts by key agreement, never key encipherment */
	assert_issued(c_ec_rsa_style, ec, MAILBOX, ME_KEY_USAGE_ENCRYPTION, "may not be used to encrypt mail");
	assert_issued(c_ec_rsa_style, ec, MAILBOX, ME_KEY_USAGE_SIGNING, "do not fit its key");
	assert_issued(c_ec_agree, ec, MAILBOX, ME_KEY_USAGE_ENCRYPTION, NULL);
	assert_issued(c_ec_agree, ec, MAILBOX, ME_KEY_USAGE_DUAL, "may not be used to sign mail");
}

static void
test_issued_chain_order(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	const CertSpec spec = {"email:" MAILBOX, "emailProtection", RSA_DUAL_KU, FALSE};
	g_autoptr(GPtrArray) chain = chain_new(rsa, &spec);
	g_autoptr(GPtrArray) empty = g_ptr_array_new();
	gpointer tmp;

	/* EE, root, intermediate */
	tmp = chain->pdata[1];
	chain->pdata[1] = chain->pdata[2];
	chain->pdata[2] = tmp;
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "out of order or broken at certificate 1");
	/* EE, root */
	g_ptr_array_set_size(chain, 2);
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "out of order or broken at certificate 1");
	assert_issued(empty, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "sent no certificate");
}

/* right names, wrong signature: an impostor intermediate with the same name and another key */
static void
test_issued_chain_signature(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	const CertSpec spec = {"email:" MAILBOX, "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec ca_spec = {NULL, NULL, "critical,keyCertSign,cRLSign", TRUE};
	g_autoptr(EVP_PKEY) impostor_key = new_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GPtrArray) chain = chain_new(rsa, &spec);
	X509 *impostor = make_cert("mailenroll test intermediate", impostor_key, ca.root, ca.root_key, &ca_spec);

	g_assert_cmpint(X509_check_issued(impostor, chain->pdata[0]), ==, X509_V_OK);
	X509_free(chain->pdata[1]);
	chain->pdata[1] = impostor;
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "out of order or broken at certificate 1");
}

/* right key, wrong name: the signature verifies but the issuer is not the one named */
static void
test_issued_chain_name(void)
{
	EVP_PKEY *rsa = get_key(ME_KEY_TYPE_RSA_2048);
	const CertSpec spec = {"email:" MAILBOX, "emailProtection", RSA_DUAL_KU, FALSE};
	const CertSpec ca_spec = {NULL, NULL, "critical,keyCertSign,cRLSign", TRUE};
	g_autoptr(GPtrArray) chain = chain_new(rsa, &spec);
	X509 *renamed = make_cert("mailenroll renamed intermediate", ca.inter_key, ca.root, ca.root_key, &ca_spec);

	g_assert_cmpint(X509_verify(chain->pdata[0], X509_get0_pubkey(renamed)), ==, 1);
	X509_free(chain->pdata[1]);
	chain->pdata[1] = renamed;
	assert_issued(chain, rsa, MAILBOX, ME_KEY_USAGE_DUAL, "out of order or broken at certificate 1");
}

static void
add_new_case(const KuCase *c)
{
	g_autofree gchar *path = g_strdup_printf("/csr/new/%s/%s", me_key_type_to_string(c->type), me_key_usage_to_string(c->usage));
	g_test_add(path, Fixture, c, fixture_setup, test_new_case, fixture_teardown);
}

int
main(int argc, char **argv)
{
	gint status;

	/* the test messages hold non-ASCII mailboxes */
	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/csr/key/types", test_key_types);
	g_test_add_func("/csr/key/distinct", test_key_distinct);
	g_test_add_func("/csr/key/usage-strings", test_key_usage_strings);
	g_test_add_func("/csr/key/usage-table", test_key_usage_table);
	for (gsize i = 0; i < G_N_ELEMENTS(ku_cases); i++)
		add_new_case(&ku_cases[i]);
	g_test_add("/csr/new/empty-subject", Fixture, NULL, fixture_setup, test_new_empty_subject, fixture_teardown);
	g_test_add("/csr/new/long-mailbox", Fixture, NULL, fixture_setup, test_new_long_mailbox, fixture_teardown);
	g_test_add("/csr/new/pem", Fixture, NULL, fixture_setup, test_pem, fixture_teardown);
	g_test_add("/csr/idn/smtputf8", Fixture, NULL, fixture_setup, test_idn_smtputf8, fixture_teardown);
	g_test_add("/csr/idn/smtputf8-mixed-case", Fixture, NULL, fixture_setup, test_idn_smtputf8_mixed_case, fixture_teardown);
	g_test_add("/csr/idn/a-label-domain", Fixture, NULL, fixture_setup, test_idn_a_label_domain, fixture_teardown);
	g_test_add_func("/csr/normalize", test_normalize);
	g_test_add_func("/csr/refuse", test_refuse);
	g_test_add_func("/csr/issued/good", test_issued_good);
	g_test_add_func("/csr/issued/smtputf8", test_issued_smtputf8);
	g_test_add_func("/csr/issued/wrong-key", test_issued_wrong_key);
	g_test_add_func("/csr/issued/wrong-san", test_issued_wrong_san);
	g_test_add_func("/csr/issued/no-email-protection", test_issued_no_email_protection);
	g_test_add_func("/csr/issued/key-usage", test_issued_key_usage);
	g_test_add_func("/csr/issued/chain-order", test_issued_chain_order);
	g_test_add_func("/csr/issued/chain-signature", test_issued_chain_signature);
	g_test_add_func("/csr/issued/chain-name", test_issued_chain_name);
	status = g_test_run();

	ca_clear();
	for (gsize i = 0; i < G_N_ELEMENTS(cached_keys); i++)
		g_clear_pointer(&cached_keys[i], EVP_PKEY_free);
	return status;
}
