/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "autocleanups.h"
#include "smime.h"
#include "test-util.h"

/*
 * Fixtures are made at test time, so nothing expires: certificates with the OpenSSL C API
 * (which lets one be expired on purpose), signatures mostly with the `openssl cms` CLI, an
 * implementation independent of helper/lib/smime.c.  RFC 7508 attributes need the C API, since
 * the CLI cannot add a signed attribute; their DER is built by hand here.
 */

#define FROM "acme-generator@example.org"
#define TO "alexey@example.com"
#define SUBJECT "ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME="
#define BODY "This is an automatically generated ACME challenge for your address.\r\n"
#define OID_SECURE_HEADERS "1.2.840.113549.1.9.16.2.55"


typedef struct {
	X509 *cert;
	gchar *path;
} TestCert;

static struct {
	gchar *dir;
	EVP_PKEY *ca_key;
	EVP_PKEY *rogue_key;
	EVP_PKEY *key;
	gchar *key_path;
	X509 *ca;
	X509 *rogue_ca;
	TestCert signer;
	TestCert other;
	TestCert nosan;
	TestCert expired;
	TestCert rogue;
	TestCert noeku;
} fx;

static void
add_ext(X509 *cert, X509V3_CTX *ctx, gint nid, const gchar *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
	X509_EXTENSION_free(ext);
}

/* a certificate valid from @from_s to @until_s seconds from now; @issuer NULL: self-signed CA */
static X509 *
make_cert(EVP_PKEY *key, const gchar *cn, X509 *issuer, EVP_PKEY *issuer_key, const gchar *san, const gchar *eku, glong from_s, glong until_s)
{
	static glong serial = 1;
	X509 *cert = X509_new();
	X509_NAME *name = X509_get_subject_name(cert);
	X509V3_CTX ctx;

	g_assert_cmpint(X509_set_version(cert, X509_VERSION_3), ==, 1);
	g_assert_cmpint(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++), ==, 1);
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), from_s));
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert), until_s));
	g_assert_cmpint(X509_set_pubkey(cert, key), ==, 1);
	g_assert_cmpint(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const guchar *)cn, -1, -1, 0), ==, 1);
	g_assert_cmpint(X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name), ==, 1);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
		add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation");
		add_ext(cert, &ctx, NID_ext_key_usage, eku);
	}
	if (san != NULL) {
		g_autofree gchar *value = g_strdup_printf("email:%s", san);
		add_ext(cert, &ctx, NID_subject_alt_name, value);
	}
	g_assert_cmpint(X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()), >, 0);
	return cert;
}

static void
test_cert_make(TestCert *tc, const gchar *file, X509 *issuer, EVP_PKEY *issuer_key, const gchar *san, const gchar *eku, glong from_s, glong until_s)
{
	g_autoptr(BIO) bio = NULL;

	tc->cert = make_cert(fx.key, file, issuer, issuer_key, san, eku, from_s, until_s);
	tc->path = g_build_filename(fx.dir, file, NULL);
	bio = BIO_new_file(tc->path, "w");
	g_assert_nonnull(bio);
	g_assert_cmpint(PEM_write_bio_X509(bio, tc->cert), ==, 1);
}

static void
fixtures_setup(void)
{
	const glong day = 24 * 3600;
	g_autoptr(BIO) bio = NULL;

	fx.dir = me_test_tmpdir();
	fx.ca_key = EVP_EC_gen("P-256");
	fx.rogue_key = EVP_EC_gen("P-256");
	fx.key = EVP_EC_gen("P-256");
	g_assert_nonnull(fx.ca_key);
	g_assert_nonnull(fx.rogue_key);
	g_assert_nonnull(fx.key);
	fx.key_path = g_build_filename(fx.dir, "signer.key", NULL);
	bio = BIO_new_file(fx.key_path, "w");
	g_assert_cmpint(PEM_write_bio_PrivateKey(bio, fx.key, NULL, NULL, 0, NULL, NULL), ==, 1);
	fx.ca = make_cert(fx.ca_key, "Test S/MIME CA", NULL, NULL, NULL, NULL, -day, 30 * day);
	fx.rogue_ca = make_cert(fx.rogue_key, "Test S/MIME CA", NULL, NULL, NULL, NULL, -day, 30 * day);
	test_cert_make(&fx.signer, "signer.pem", fx.ca, fx.ca_key, FROM, "emailProtection", -day, 30 * day);
	test_cert_make(&fx.other, "other.pem", fx.ca, fx.ca_key, "someone@example.net", "emailProtection", -day, 30 * day);
	test_cert_make(&fx.nosan, "nosan.pem", fx.ca, fx.ca_key, NULL, "emailProtection", -day, 30 * day);
	test_cert_make(&fx.expired, "expired.pem", fx.ca, fx.ca_key, FROM, "emailProtection", -30 * day, -day);
	test_cert_make(&fx.rogue, "rogue.pem", fx.rogue_ca, fx.rogue_key, FROM, "emailProtection", -day, 30 * day);
	test_cert_make(&fx.noeku, "noeku.pem", fx.ca, fx.ca_key, FROM, "serverAuth", -day, 30 * day);
}

static void
test_cert_clear(TestCert *tc)
{
	X509_free(tc->cert);
	g_free(tc->path);
}

static void
fixtures_teardown(void)
{
	test_cert_clear(&fx.signer);
	test_cert_clear(&fx.other);
	test_cert_clear(&fx.nosan);
	test_cert_clear(&fx.expired);
	test_cert_clear(&fx.rogue);
	test_cert_clear(&fx.noeku);
	X509_free(fx.ca);
	X509_free(fx.rogue_ca);
	EVP_PKEY_free(fx.ca_key);
	EVP_PKEY_free(fx.rogue_key);
	EVP_PKEY_free(fx.key);
	g_free(fx.key_path);
	me_test_rm_rf(fx.dir);
	g_free(fx.dir);
}

/* ---- messages */

static gchar *
outer_headers(const gchar *from, const gchar *to, const gchar *subject)
{
	return g_strdup_printf("From: %s\r\nTo: %s\r\nSubject: %s\r\n"
			       "Date: Sat, 5 Dec 2020 10:08:55 +0100\r\n"
			       "Message-ID: <A2299BB.FF7788@example.org>\r\n"
			       "Auto-Submitted: auto-generated; type=acme\r\n",
			       from,
			       to,
			       subject);
}

/* RFC 8551 §3.1: the whole message, headers included, wrapped as message/rfc822 */
static gchar *
inner_wrapped(const gchar *from, const gchar *to, const gchar *subject)
{
	g_autofree gchar *headers = outer_headers(from, to, subject);
	return g_strdup_printf("Content-Type: message/rfc822; forwarded=no\r\n\r\n"
			       "%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" BODY,
			       headers);
}

/* RFC 9788: the protected fields in the cryptographic payload's own header block */
static gchar *
inner_hp(const gchar *from, const gchar *to, const gchar *subject)
{
	return g_strdup_printf("Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n"
			       "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n" BODY,
			       from,
			       to,
			       subject);
}

static const gchar *inner_plain = "Content-Type: text/plain; charset=us-ascii\r\n\r\n" BODY;

/* the `openssl cms -sign` output for @inner: a MIME entity with CRLF line ends */
static gchar *
sign_cli(const gchar *inner, const TestCert *signer, gboolean opaque)
{
	g_autofree gchar *in_path = me_test_write_tmp(fx.dir, "inner.eml", inner);
	const gchar *argv[] = {"openssl", "cms", "-sign", "-in", in_path, "-signer", signer->path, "-inkey", fx.key_path,
			       "-md", "sha256", "-crlfeol", opaque ? "-nodetach" : NULL, NULL};
	g_autofree gchar *err = NULL;
	gchar *out = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	if (status != 0)
		g_test_message("openssl cms: %s", err);
	g_assert_cmpint(status, ==, 0);
	g_assert_true(g_str_has_prefix(out, "MIME-Version: 1.0\r\n"));
	return out;
}

/* a challenge: the outer headers, then the S/MIME entity made by the openssl CLI */
static gchar *
challenge_cli(const gchar *inner, const TestCert *signer, gboolean opaque)
{
	g_autofree gchar *headers = outer_headers("ACME Generator <" FROM ">", TO, SUBJECT);
	g_autofree gchar *entity = sign_cli(inner, signer, opaque);
	return g_strconcat(headers, entity, NULL);
}

static gchar *
challenge_wrapped(const TestCert *signer, gboolean opaque)
{
	g_autofree gchar *inner = inner_wrapped(FROM, TO, SUBJECT);
	return challenge_cli(inner, signer, opaque);
}

static X509_STORE *
trust_store(void)
{
	X509_STORE *store = X509_STORE_new();
	g_assert_cmpint(X509_STORE_add_cert(store, fx.ca), ==, 1);
	return store;
}

static MeSmimeResult *
verify_with(const gchar *message, gsize len, const gchar *from, const gchar *to, const gchar *subject, GError **error)
{
	g_autoptr(X509_STORE) store = trust_store();
	g_autoptr(GBytes) bytes = g_bytes_new(message, len);
	MeSmimeResult *result = me_smime_verify(bytes, store, from, to, subject, error);

	if (result != NULL) {
		g_test_message("verified=%d signature=%d chain=%d san=%d headers=%d scheme=%s reason=%s",
			       result->verified,
			       result->signature_valid,
			       result->chain_valid,
			       result->signer_matches_from,
			       result->headers_protected,
			       result->scheme,
			       result->reason);
	}
	return result;
}

/* verified against the challenge's own outer values, as a caller passes them */
static MeSmimeResult *
verify(const gchar *message)
{
	g_autoptr(GError) error = NULL;
	MeSmimeResult *result = verify_with(message, strlen(message), "ACME Generator <" FROM ">", TO, SUBJECT, &error);
	g_assert_no_error(error);
	g_assert_nonnull(result);
	return result;
}

static void
assert_verified(const MeSmimeResult *result, const gchar *scheme)
{
	g_assert_true(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_true(result->signer_matches_from);
	g_assert_true(result->headers_protected);
	g_assert_cmpstr(result->scheme, ==, scheme);
	g_assert_true(result->verified);
	g_assert_null(result->reason);
	g_assert_nonnull(result->signer_emails);
	g_assert_cmpstr(result->signer_emails[0], ==, FROM);
	g_assert_null(result->signer_emails[1]);
}

/* not verified, for a reason that is one sentence and mentions @needle */
static void
assert_reason(const MeSmimeResult *result, const gchar *needle)
{
	gsize len;

	g_assert_false(result->verified);
	g_assert_nonnull(result->reason);
	len = strlen(result->reason);
	g_assert_true(g_unichar_isupper(g_utf8_get_char(result->reason)));
	g_assert_cmpint(result->reason[len - 1], ==, '.');
	g_assert_null(strchr(result->reason, '\n'));
	if (strstr(result->reason, needle) == NULL)
		g_error("reason \"%s\" does not mention \"%s\"", result->reason, needle);
}

static gchar *
replace_all(const gchar *text, const gchar *old, const gchar *new_text)
{
	g_auto(GStrv) parts = g_strsplit(text, old, -1);
	g_assert_cmpuint(g_strv_length(parts), >, 1);
	return g_strjoinv(new_text, parts);
}

/* ---- well-formed challenges */

static void
test_detached_wrapped(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = NULL;

	g_assert_nonnull(strstr(msg, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\""));
	result = verify(msg);
	assert_verified(result, "rfc8551-wrapped");
}

static void
test_opaque_wrapped(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.signer, TRUE);
	g_autoptr(MeSmimeResult) result = NULL;

	g_assert_nonnull(strstr(msg, "Content-Type: application/pkcs7-mime; smime-type=signed-data"));
	g_assert_null(strstr(msg, "forwarded=no")); /* the inner copy is inside the base64 */
	result = verify(msg);
	assert_verified(result, "rfc8551-wrapped");
}

static void
test_detached_x_pkcs7(void)
{
	g_autofree gchar *signed_msg = challenge_wrapped(&fx.signer, FALSE);
	g_autofree gchar *msg = replace_all(signed_msg, "application/pkcs7-signature", "application/x-pkcs7-signature");
	g_autoptr(MeSmimeResult) result = verify(msg);

	assert_verified(result, "rfc8551-wrapped");
}

static void
test_rfc9788_hp_clear(void)
{
	g_autofree gchar *inner = inner_hp(FROM, TO, SUBJECT);
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	assert_verified(result, "rfc9788");
}

static void
test_rfc9788_opaque(void)
{
	g_autofree gchar *inner = inner_hp(FROM, TO, SUBJECT);
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, TRUE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	assert_verified(result, "rfc9788");
}

/* outer values taken from the message itself; folding, display names and domain case ignored */
static void
test_outer_from_message(void)
{
	g_autofree gchar *inner = inner_wrapped("\"Generator, ACME\" <acme-generator@EXAMPLE.ORG>", "<" TO "> (you)", SUBJECT);
	g_autofree gchar *entity = sign_cli(inner, &fx.signer, FALSE);
	g_autofree gchar *headers =
	    outer_headers("ACME (robot) <acme-generator@example.org>", "Alexey\r\n <" TO ">", "ACME:\r\n LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=");
	g_autofree gchar *msg = g_strconcat(headers, entity, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result = verify_with(msg, strlen(msg), NULL, NULL, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(result);
	assert_verified(result, "rfc8551-wrapped");
}

/* RFC 2047 words are not decoded: identical raw values pass, a decoded outer value does not */
static void
test_encoded_subject(void)
{
	const gchar *encoded = "=?UTF-8?Q?ACME:_LgYemJLy3F1LDki=20JrdIGbEzyFJyOyf=20=206vBdyZ1TG3sME=3D?=";
	g_autofree gchar *inner = inner_wrapped(FROM, TO, encoded);
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) same = verify_with(msg, strlen(msg), FROM, TO, encoded, &error);
	g_autoptr(MeSmimeResult) decoded = NULL;

	g_assert_no_error(error);
	assert_verified(same, "rfc8551-wrapped");
	decoded = verify_with(msg, strlen(msg), FROM, TO, "ACME: LgYemJLy3F1LDki JrdIGbEzyFJyOyf  6vBdyZ1TG3sME=", &error);
	g_assert_no_error(error);
	g_assert_false(decoded->headers_protected);
	assert_reason(decoded, "Subject");
}

/* ---- the signer */

static void
test_signer_other_address(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.other, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_true(result->headers_protected);
	g_assert_false(result->signer_matches_from);
	g_assert_cmpstr(result->signer_emails[0], ==, "someone@example.net");
	assert_reason(result, "From address");
}

static void
test_signer_no_san(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.nosan, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_false(result->signer_matches_from);
	g_assert_nonnull(result->signer_emails);
	g_assert_null(result->signer_emails[0]);
	assert_reason(result, "no email address");
}

/* the local part is compared exactly, unlike the domain */
static void
test_signer_local_part_case(void)
{
	g_autofree gchar *inner = inner_wrapped("ACME-generator@example.org", TO, SUBJECT);
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result = verify_with(msg, strlen(msg), "ACME-generator@example.org", TO, SUBJECT, &error);

	g_assert_no_error(error);
	g_assert_true(result->headers_protected);
	g_assert_false(result->signer_matches_from);
	assert_reason(result, "From address");
}

static void
test_chain_untrusted(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.rogue, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->chain_valid);
	g_assert_true(result->signer_matches_from);
	g_assert_true(result->headers_protected);
	assert_reason(result, "trusted authority");
}

static void
test_chain_expired(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.expired, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->chain_valid);
	g_assert_true(result->signer_matches_from);
	assert_reason(result, "expired");
}

static void
test_chain_wrong_purpose(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.noeku, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->chain_valid);
	assert_reason(result, "signing mail");
}

/* ---- the signature */

static void
test_signature_tampered_body(void)
{
	g_autofree gchar *signed_msg = challenge_wrapped(&fx.signer, FALSE);
	g_autofree gchar *msg = replace_all(signed_msg, "automatically generated", "automatically generaTed");
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_false(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_true(result->headers_protected);
	assert_reason(result, "does not match the signed content");
}

/* changing the subject inside and outside alike keeps them equal, but breaks the signature */
static void
test_signature_tampered_headers(void)
{
	g_autofree gchar *signed_msg = challenge_wrapped(&fx.signer, FALSE);
	g_autofree gchar *msg = replace_all(signed_msg, "LgYemJLy3F1", "XXXXXXXXXXX");
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result = verify_with(msg, strlen(msg), NULL, NULL, NULL, &error);

	g_assert_no_error(error);
	g_assert_true(result->headers_protected);
	g_assert_false(result->signature_valid);
	assert_reason(result, "does not match the signed content");
}

/* a signature with the signer certificate left out (openssl cms -nocerts) */
static void
test_signature_no_certs(void)
{
	g_autofree gchar *inner = inner_wrapped(FROM, TO, SUBJECT);
	g_autofree gchar *in_path = me_test_write_tmp(fx.dir, "inner.eml", inner);
	const gchar *argv[] = {"openssl", "cms", "-sign", "-in", in_path, "-signer", fx.signer.path, "-inkey", fx.key_path,
			       "-nocerts", "-crlfeol", NULL};
	g_autofree gchar *entity = NULL;
	g_autofree gchar *headers = outer_headers(FROM, TO, SUBJECT);
	g_autofree gchar *msg = NULL;
	g_autoptr(MeSmimeResult) result = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &entity, NULL, &status));
	g_assert_cmpint(status, ==, 0);
	msg = g_strconcat(headers, entity, NULL);
	result = verify(msg);
	g_assert_false(result->signature_valid);
	g_assert_false(result->chain_valid);
	g_assert_null(result->signer_emails[0]);
	assert_reason(result, "certificate");
}

/* ---- header protection */

typedef struct {
	const gchar *from;
	const gchar *to;
	const gchar *subject;
	const gchar *header;
} HeaderCase;

static void
test_headers_mismatch(gconstpointer data)
{
	const HeaderCase *hc = data;
	g_autofree gchar *inner = inner_wrapped(hc->from, hc->to, hc->subject);
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_true(result->signer_matches_from);
	g_assert_false(result->headers_protected);
	g_assert_cmpstr(result->scheme, ==, "rfc8551-wrapped");
	assert_reason(result, hc->header);
}

/* a recipient added outside the signature is not protected */
static void
test_headers_outer_extra_to(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.signer, FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result =
	    verify_with(msg, strlen(msg), FROM, TO ", mallory@example.com", SUBJECT, &error);

	g_assert_no_error(error);
	g_assert_true(result->signature_valid);
	g_assert_false(result->headers_protected);
	assert_reason(result, "To");
}

static void
test_rfc9788_mismatch(void)
{
	g_autofree gchar *inner = inner_hp(FROM, TO, "ACME: somethingelse");
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->headers_protected);
	g_assert_cmpstr(result->scheme, ==, "rfc9788");
	assert_reason(result, "Subject");
}

static void
test_headers_unprotected(void)
{
	g_autofree gchar *msg = challenge_cli(inner_plain, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_true(result->chain_valid);
	g_assert_true(result->signer_matches_from);
	g_assert_false(result->headers_protected);
	g_assert_null(result->scheme);
	assert_reason(result, "From, To and Subject");
}

static void
test_headers_duplicate_from(void)
{
	g_autofree gchar *wrapped = inner_wrapped(FROM, TO, SUBJECT);
	g_autofree gchar *inner = replace_all(wrapped, "To: ", "From: evil@example.net\r\nTo: ");
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->headers_protected);
	assert_reason(result, "more than one From");
}

/* a wrapped message/rfc822 must not hide behind base64 (RFC 2046 §5.2.1) */
static void
test_headers_wrapped_base64(void)
{
	g_autofree gchar *wrapped = inner_wrapped(FROM, TO, SUBJECT);
	g_autofree gchar *inner =
	    replace_all(wrapped, "forwarded=no\r\n", "forwarded=no\r\nContent-Transfer-Encoding: base64\r\n");
	g_autofree gchar *msg = challenge_cli(inner, &fx.signer, FALSE);
	g_autoptr(MeSmimeResult) result = verify(msg);

	g_assert_true(result->signature_valid);
	g_assert_false(result->headers_protected);
	assert_reason(result, "encoded");
}

/* ---- RFC 7508 */

static void
der_append(GByteArray *out, guint8 tag, const guint8 *content, gsize len)
{
	guint8 hdr[4] = {tag};
	guint hdr_len;

	g_assert_cmpuint(len, <, 65536);
	if (len < 128) {
		hdr[1] = (guint8)len;
		hdr_len = 2;
	} else if (len < 256) {
		hdr[1] = 0x81;
		hdr[2] = (guint8)len;
		hdr_len = 3;
	} else {
		hdr[1] = 0x82;
		hdr[2] = (guint8)(len >> 8);
		hdr[3] = (guint8)len;
		hdr_len = 4;
	}
	g_byte_array_append(out, hdr, hdr_len);
	g_byte_array_append(out, content, (guint)len);
}

typedef struct {
	const gchar *name;
	const gchar *value;
	gint status; /* -1: left out, so DEFAULT duplicated */
} ShfEntry;

/* SecureHeaderFields ::= SET { canonAlgorithm ENUMERATED, secHeaderFields SEQUENCE OF HeaderField } */
static GByteArray *
shf_encode(guint8 canon, const ShfEntry *entries, guint n)
{
	g_autoptr(GByteArray) list = g_byte_array_new();
	g_autoptr(GByteArray) set = g_byte_array_new();
	GByteArray *out = g_byte_array_new();

	for (guint i = 0; i < n; i++) {
		g_autoptr(GByteArray) field = g_byte_array_new();
		guint8 status = (guint8)entries[i].status;

		der_append(field, 0x1a, (const guint8 *)entries[i].name, strlen(entries[i].name));
		der_append(field, 0x0c, (const guint8 *)entries[i].value, strlen(entries[i].value));
		if (entries[i].status >= 0)
			der_append(field, 0x02, &status, 1);
		der_append(list, 0x30, field->data, field->len);
	}
	der_append(set, 0x0a, &canon, 1);
	der_append(set, 0x30, list->data, list->len);
	der_append(out, 0x31, set->data, set->len);
	return out;
}

/*
 * a multipart/signed challenge made with the C API, carrying @attr as a signed attribute;
 * CMS_STREAM leaves the signing to SMIME_write_CMS(), after the attribute is added
 */
static gchar *
challenge_api(const gchar *inner, const guint8 *attr, gsize attr_len)
{
	const guint flags = CMS_DETACHED | CMS_BINARY | CMS_STREAM;
	g_autoptr(CMS_ContentInfo) cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	g_autoptr(ASN1_OBJECT) oid = OBJ_txt2obj(OID_SECURE_HEADERS, 1);
	g_autoptr(BIO) data = BIO_new_mem_buf(inner, -1);
	g_autoptr(BIO) out = BIO_new(BIO_s_mem());
	g_autofree gchar *headers = outer_headers(FROM, TO, SUBJECT);
	CMS_SignerInfo *si;
	gchar *ptr = NULL;
	long len;

	g_assert_nonnull(cms);
	si = CMS_add1_signer(cms, fx.signer.cert, fx.key, EVP_sha256(), CMS_BINARY | CMS_PARTIAL);
	g_assert_nonnull(si);
	g_assert_cmpint(CMS_signed_add1_attr_by_OBJ(si, oid, V_ASN1_SET, attr, (int)attr_len), ==, 1);
	g_assert_cmpint(SMIME_write_CMS(out, cms, data, flags | CMS_CRLFEOL), ==, 1);
	len = BIO_get_mem_data(out, &ptr);
	g_assert_cmpint(len, >, 0);
	return g_strdup_printf("%s%.*s", headers, (int)len, ptr);
}

static MeSmimeResult *
verify_rfc7508(const ShfEntry *entries, guint n, guint8 canon)
{
	g_autoptr(GByteArray) der = shf_encode(canon, entries, n);
	g_autofree gchar *msg = challenge_api(inner_plain, der->data, der->len);
	return verify(msg);
}

static void
test_rfc7508_simple(void)
{
	const ShfEntry entries[] = {
	    {"From", "ACME Generator <" FROM ">", -1},
	    {"To", TO, 0},
	    {"Subject", SUBJECT, -1},
	    {"Auto-Submitted", "auto-generated; type=acme", -1},
	};
	g_autoptr(MeSmimeResult) result = verify_rfc7508(entries, G_N_ELEMENTS(entries), 0);

	assert_verified(result, "rfc7508");
}

static void
test_rfc7508_relaxed(void)
{
	const ShfEntry entries[] = {
	    {"from", FROM, -1},
	    {"to", TO, -1},
	    {"subject", "ACME:  \t LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=", -1},
	};
	g_autoptr(MeSmimeResult) relaxed = verify_rfc7508(entries, G_N_ELEMENTS(entries), 1);
	g_autoptr(MeSmimeResult) simple = verify_rfc7508(entries, G_N_ELEMENTS(entries), 0);

	assert_verified(relaxed, "rfc7508");
	g_assert_false(simple->headers_protected);
	g_assert_cmpstr(simple->scheme, ==, "rfc7508");
	assert_reason(simple, "Subject");
}

static void
test_rfc7508_mismatch(void)
{
	const ShfEntry entries[] = {
	    {"From", FROM, -1},
	    {"To", TO, -1},
	    {"Subject", "ACME: AAAAAAAAAAAAAAAAAAAAAA", -1},
	};
	g_autoptr(MeSmimeResult) result = verify_rfc7508(entries, G_N_ELEMENTS(entries), 0);

	g_assert_true(result->signature_valid);
	g_assert_false(result->headers_protected);
	g_assert_cmpstr(result->scheme, ==, "rfc7508");
	assert_reason(result, "Subject");
}

static void
test_rfc7508_missing_to(void)
{
	const ShfEntry entries[] = {
	    {"From", FROM, -1},
	    {"Subject", SUBJECT, -1},
	};
	g_autoptr(MeSmimeResult) result = verify_rfc7508(entries, G_N_ELEMENTS(entries), 0);

	g_assert_false(result->headers_protected);
	assert_reason(result, "protect the To header");
}

/* a field marked "modified" (2) is not a copy of the outer one */
static void
test_rfc7508_status_modified(void)
{
	const ShfEntry entries[] = {
	    {"From", FROM, 2},
	    {"To", TO, -1},
	    {"Subject", SUBJECT, -1},
	};
	g_autoptr(MeSmimeResult) result = verify_rfc7508(entries, G_N_ELEMENTS(entries), 0);

	g_assert_false(result->headers_protected);
	assert_reason(result, "From");
}

/* well-formed DER that is not a valid SecureHeaderFields */
static void
test_rfc7508_malformed(void)
{
	const guint8 zero = 0;
	const guint8 seven = 7;
	const guint8 nine = 9;
	const guint8 five = 5;
	g_autoptr(GByteArray) field_colon = g_byte_array_new();
	g_autoptr(GByteArray) field_status = g_byte_array_new();
	g_autoptr(GByteArray) list_colon = g_byte_array_new();
	g_autoptr(GByteArray) list_status = g_byte_array_new();
	GByteArray *bodies[5];

	der_append(field_colon, 0x1a, (const guint8 *)"From:", 5);
	der_append(field_colon, 0x0c, (const guint8 *)FROM, strlen(FROM));
	der_append(list_colon, 0x30, field_colon->data, field_colon->len);
	der_append(field_status, 0x1a, (const guint8 *)"From", 4);
	der_append(field_status, 0x0c, (const guint8 *)FROM, strlen(FROM));
	der_append(field_status, 0x02, &nine, 1);
	der_append(list_status, 0x30, field_status->data, field_status->len);
	for (guint i = 0; i < G_N_ELEMENTS(bodies); i++)
		bodies[i] = g_byte_array_new();
	/* SET { INTEGER 5 } */
	der_append(bodies[0], 0x02, &five, 1);
	/* canonAlgorithm 7 */
	der_append(bodies[1], 0x0a, &seven, 1);
	der_append(bodies[1], 0x30, list_colon->data, 0);
	/* an empty list of fields */
	der_append(bodies[2], 0x0a, &zero, 1);
	der_append(bodies[2], 0x30, NULL, 0);
	/* a field name with a colon */
	der_append(bodies[3], 0x0a, &zero, 1);
	der_append(bodies[3], 0x30, list_colon->data, list_colon->len);
	/* field-Status 9 */
	der_append(bodies[4], 0x0a, &zero, 1);
	der_append(bodies[4], 0x30, list_status->data, list_status->len);

	for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autoptr(GByteArray) set = g_byte_array_new();
		g_autofree gchar *msg = NULL;
		g_autoptr(MeSmimeResult) result = NULL;

		der_append(set, 0x31, bodies[i]->data, bodies[i]->len);
		g_byte_array_unref(bodies[i]);
		msg = challenge_api(inner_plain, set->data, set->len);
		result = verify(msg);
		g_assert_true(result->signature_valid);
		g_assert_false(result->headers_protected);
		g_assert_cmpstr(result->scheme, ==, "rfc7508");
		assert_reason(result, "could not be read");
	}
}

/* ---- not S/MIME, damaged, too large */

static void
assert_error(const gchar *msg, gsize len, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result = verify_with(msg, len, FROM, TO, SUBJECT, &error);

	g_assert_null(result);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
}

static void
test_not_smime(void)
{
	g_autofree gchar *headers = outer_headers(FROM, TO, SUBJECT);
	g_autofree gchar *plain = g_strconcat(headers, "Content-Type: text/plain\r\n\r\n" BODY, NULL);
	g_autofree gchar *bare = g_strconcat(headers, "\r\n" BODY, NULL);
	g_autofree gchar *pgp = g_strconcat(headers,
					    "Content-Type: multipart/signed; protocol=\"application/pgp-signature\";"
					    " micalg=pgp-sha256; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
					    NULL);
	g_autofree gchar *enveloped =
	    g_strconcat(headers, "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nAAAA\r\n", NULL);

	assert_error(plain, strlen(plain), ME_ERROR_NOT_SUPPORTED);
	assert_error(bare, strlen(bare), ME_ERROR_NOT_SUPPORTED);
	assert_error(pgp, strlen(pgp), ME_ERROR_NOT_SUPPORTED);
	assert_error(enveloped, strlen(enveloped), ME_ERROR_NOT_SUPPORTED);
	assert_error("", 0, ME_ERROR_NOT_SUPPORTED);
}

static void
test_garbage_signature(void)
{
	g_autofree gchar *headers = outer_headers(FROM, TO, SUBJECT);
	g_autofree gchar *msg = g_strconcat(headers,
					    "MIME-Version: 1.0\r\n"
					    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
					    " micalg=sha-256; boundary=\"XyZ\"\r\n\r\n"
					    "--XyZ\r\nContent-Type: text/plain\r\n\r\n" BODY "\r\n"
					    "--XyZ\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
					    "Content-Transfer-Encoding: base64\r\n\r\nZ2FyYmFnZSBnYXJiYWdl\r\n--XyZ--\r\n",
					    NULL);
	g_autofree gchar *two_ct = g_strconcat(headers, "Content-Type: text/plain\r\n",
					       "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nAAAA\r\n", NULL);

	assert_error(msg, strlen(msg), ME_ERROR_INVALID_DATA);
	assert_error(two_ct, strlen(two_ct), ME_ERROR_INVALID_DATA);
}

/* a challenge cut anywhere before its end never verifies, and never crashes */
static void
test_truncated(void)
{
	g_autofree gchar *msg = challenge_wrapped(&fx.signer, FALSE);
	const gchar *closing = g_strrstr(msg, "\r\n------");
	gsize limit;
	guint results = 0;

	g_assert_nonnull(closing);
	limit = (gsize)(closing - msg);
	for (gsize cut = 0; cut < limit; cut += 1 + limit / 97) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeSmimeResult) result = verify_with(msg, cut, FROM, TO, SUBJECT, &error);

		g_assert_true((result == NULL) != (error == NULL));
		if (error != NULL)
			g_assert_true(error->domain == ME_ERROR);
		if (result != NULL) {
			g_assert_false(result->verified);
			results++;
		}
	}
	g_test_message("%u of the cuts gave a result", results);
}

static void
test_too_large(void)
{
	const gchar *head = "Content-Type: text/plain\r\n\r\n";
	gsize len = ME_SMIME_MAX_SIZE + 1;
	g_autofree gchar *big = g_malloc(len);

	memset(big, 'a', len);
	memcpy(big, head, strlen(head));
	assert_error(big, len, ME_ERROR_TOO_LARGE);
	/* exactly at the limit it is read, and is merely not S/MIME */
	assert_error(big, len - 1, ME_ERROR_NOT_SUPPORTED);
}

static const HeaderCase header_cases[] = {
    {"acme-generator@example.net", TO, SUBJECT, "From"},
    {"someone-else@example.org", TO, SUBJECT, "From"},
    {FROM, "mallory@example.com", SUBJECT, "To"},
    {FROM, TO ", mallory@example.com", SUBJECT, "To"},
    {FROM, TO, "ACME: AAAAAAAAAAAAAAAAAAAAAA", "Subject"},
    {FROM, TO, "Re: " SUBJECT, "Subject"},
};

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	fixtures_setup();

	g_test_add_func("/smime/detached/wrapped", test_detached_wrapped);
	g_test_add_func("/smime/detached/x-pkcs7", test_detached_x_pkcs7);
	g_test_add_func("/smime/opaque/wrapped", test_opaque_wrapped);
	g_test_add_func("/smime/rfc9788/hp-clear", test_rfc9788_hp_clear);
	g_test_add_func("/smime/rfc9788/opaque", test_rfc9788_opaque);
	g_test_add_func("/smime/rfc9788/mismatch", test_rfc9788_mismatch);
	g_test_add_func("/smime/headers/outer-from-message", test_outer_from_message);
	g_test_add_func("/smime/headers/encoded-subject", test_encoded_subject);
	for (guint i = 0; i < G_N_ELEMENTS(header_cases); i++) {
		g_autofree gchar *path = g_strdup_printf("/smime/headers/mismatch/%s-%u", header_cases[i].header, i);
		g_test_add_data_func(path, &header_cases[i], test_headers_mismatch);
	}
	g_test_add_func("/smime/headers/outer-extra-to", test_headers_outer_extra_to);
	g_test_add_func("/smime/headers/unprotected", test_headers_unprotected);
	g_test_add_func("/smime/headers/duplicate-from", test_headers_duplicate_from);
	g_test_add_func("/smime/headers/wrapped-base64", test_headers_wrapped_base64);
	g_test_add_func("/smime/signer/other-address", test_signer_other_address);
	g_test_add_func("/smime/signer/no-san", test_signer_no_san);
	g_test_add_func("/smime/signer/local-part-case", test_signer_local_part_case);
	g_test_add_func("/smime/chain/untrusted", test_chain_untrusted);
	g_test_add_func("/smime/chain/expired", test_chain_expired);
	g_test_add_func("/smime/chain/wrong-purpose", test_chain_wrong_purpose);
	g_test_add_func("/smime/signature/tampered-body", test_signature_tampered_body);
	g_test_add_func("/smime/signature/tampered-headers", test_signature_tampered_headers);
	g_test_add_func("/smime/signature/no-certs", test_signature_no_certs);
	g_test_add_func("/smime/rfc7508/simple", test_rfc7508_simple);
	g_test_add_func("/smime/rfc7508/relaxed", test_rfc7508_relaxed);
	g_test_add_func("/smime/rfc7508/mismatch", test_rfc7508_mismatch);
	g_test_add_func("/smime/rfc7508/missing-to", test_rfc7508_missing_to);
	g_test_add_func("/smime/rfc7508/status-modified", test_rfc7508_status_modified);
	g_test_add_func("/smime/rfc7508/malformed", test_rfc7508_malformed);
	g_test_add_func("/smime/error/not-smime", test_not_smime);
	g_test_add_func("/smime/error/garbage-signature", test_garbage_signature);
	g_test_add_func("/smime/error/truncated", test_truncated);
	g_test_add_func("/smime/error/too-large", test_too_large);

	rc = g_test_run();
	fixtures_teardown();
	return rc;
}
