/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestVerifier"

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autocleanups.h"
#include "dnsmasq.h"
#include "keys.h"
#include "test-util.h"
#include "verifier.h"

/*
 * helper/lib/verifier.c, the authenticity check of a challenge mail: DKIM first (keys from a
 * real dnsmasq on 127.0.0.1), then S/MIME chained to the trust anchors it was given.  The
 * signatures come from independent implementations: dkimpy (tests/dkim-crosscheck.py) and the
 * `openssl cms` CLI; the certificates are made here with OpenSSL, so one can be expired or
 * issued for the wrong purpose on purpose.  test-dkim and test-smime try every fault of each
 * method on its own; this test is about how the verifier combines them.
 */

#define DOMAIN	"example.org"
#define FROM	"acme-generator@" DOMAIN
#define TO	"alexey@example.com"
#define TOKEN1	"LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME="
#define SUBJECT "ACME: " TOKEN1
#define BODY	"This is an automatically generated ACME challenge for your address.\r\n"

/* RFC 8823 §3.1: the header fields a challenge's DKIM signature must cover */
#define CHALLENGE_HEADERS                                                                                          \
	"from:sender:reply-to:to:cc:subject:date:in-reply-to:references:message-id:auto-submitted:content-type:"     \
	"content-transfer-encoding"
/* the same without auto-submitted: what the missing-auto-submitted quirk needs (issue 16) */
#define QUIRK_HEADERS                                                                                              \
	"from:sender:reply-to:to:cc:subject:date:in-reply-to:references:message-id:content-type:"                   \
	"content-transfer-encoding"

typedef struct {
	X509 *cert;
	gchar *path;
} TestCert;

static struct {
	gchar *dir;
	MeTestDnsmasq *dns;
	EVP_PKEY *dkim_key;	  /* published at sel._domainkey.example.org and sel._domainkey.other.example */
	EVP_PKEY *dkim_other_key; /* published nowhere */
	EVP_PKEY *ca_key;
	EVP_PKEY *rogue_key;
	EVP_PKEY *signer_key;
	gchar *signer_key_path;
	X509 *ca;
	X509 *rogue_ca;
	gchar *ca_path;
	gchar *two_cas_path;
	TestCert signer;
	TestCert expired;
	TestCert rogue;
	TestCert server_eku;
	TestCert other_address;
} fx;

/* ---- certificates */

static void
add_ext(X509 *cert, X509V3_CTX *ctx, gint nid, const gchar *value)
{
	g_autoptr(X509_EXTENSION) ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
}

/* valid from @from_s to @until_s seconds from now; @issuer %NULL makes a self-signed CA */
static X509 *
make_cert(EVP_PKEY *key, const gchar *cn, X509 *issuer, EVP_PKEY *issuer_key, const gchar *san, const gchar *eku,
	  glong from_s, glong until_s)
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
		g_autofree gchar *value = g_strdup_printf("email:%s", san);
		add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
		add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature");
		add_ext(cert, &ctx, NID_ext_key_usage, eku);
		add_ext(cert, &ctx, NID_subject_alt_name, value);
	}
	g_assert_cmpint(X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()), >, 0);
	return cert;
}

static gchar *
write_certs(const gchar *file, X509 *first, X509 *second)
{
	gchar *path = g_build_filename(fx.dir, file, NULL);
	g_autoptr(BIO) bio = BIO_new_file(path, "w");

	g_assert_nonnull(bio);
	g_assert_cmpint(PEM_write_bio_X509(bio, first), ==, 1);
	if (second != NULL)
		g_assert_cmpint(PEM_write_bio_X509(bio, second), ==, 1);
	return path;
}

static void
signer_make(TestCert *tc, const gchar *file, X509 *issuer, EVP_PKEY *issuer_key, const gchar *san, const gchar *eku,
	    glong from_s, glong until_s)
{
	tc->cert = make_cert(fx.signer_key, file, issuer, issuer_key, san, eku, from_s, until_s);
	tc->path = write_certs(file, tc->cert, NULL);
}

static gchar *
write_key(EVP_PKEY *key, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) pem = me_key_to_pem(key, &error);

	g_assert_no_error(error);
	return me_test_write_tmp(fx.dir, file, pem);
}

static EVP_PKEY *
generate(MeKeyType type)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = me_key_generate(type, &error);

	g_assert_no_error(error);
	return key;
}

static void
fixtures_setup(void)
{
	const glong day = 24 * 3600;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *record = NULL;

	fx.dir = me_test_tmpdir();
	fx.dkim_key = generate(ME_KEY_TYPE_RSA_2048);
	fx.dkim_other_key = generate(ME_KEY_TYPE_RSA_2048);
	fx.ca_key = generate(ME_KEY_TYPE_EC_P256);
	fx.rogue_key = generate(ME_KEY_TYPE_EC_P256);
	fx.signer_key = generate(ME_KEY_TYPE_EC_P256);
	fx.signer_key_path = write_key(fx.signer_key, "signer.key");

	/* the rogue CA has the same name as the trusted one: only the key tells them apart */
	fx.ca = make_cert(fx.ca_key, "Test S/MIME CA", NULL, NULL, NULL, NULL, -day, 30 * day);
	fx.rogue_ca = make_cert(fx.rogue_key, "Test S/MIME CA", NULL, NULL, NULL, NULL, -day, 30 * day);
	fx.ca_path = write_certs("ca.pem", fx.ca, NULL);
	fx.two_cas_path = write_certs("two-cas.pem", fx.rogue_ca, fx.ca);
	signer_make(&fx.signer, "signer.pem", fx.ca, fx.ca_key, FROM, "emailProtection", -day, 30 * day);
	signer_make(&fx.expired, "expired.pem", fx.ca, fx.ca_key, FROM, "emailProtection", -30 * day, -day);
	signer_make(&fx.rogue, "rogue.pem", fx.rogue_ca, fx.rogue_key, FROM, "emailProtection", -day, 30 * day);
	signer_make(&fx.server_eku, "server-eku.pem", fx.ca, fx.ca_key, FROM, "serverAuth", -day, 30 * day);
	signer_make(&fx.other_address, "other-address.pem", fx.ca, fx.ca_key, "someone@example.net", "emailProtection",
		    -day, 30 * day);

	record = me_test_dkim_txt(fx.dkim_key);
	fx.dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_zone(fx.dns, DOMAIN);
	me_test_dnsmasq_add_zone(fx.dns, "other.example");
	me_test_dnsmasq_add_txt(fx.dns, "sel._domainkey." DOMAIN, record);
	me_test_dnsmasq_add_txt(fx.dns, "sel._domainkey.other.example", record);
	me_test_dnsmasq_start(fx.dns, &error);
	g_assert_no_error(error);
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
	me_test_dnsmasq_free(fx.dns);
	test_cert_clear(&fx.signer);
	test_cert_clear(&fx.expired);
	test_cert_clear(&fx.rogue);
	test_cert_clear(&fx.server_eku);
	test_cert_clear(&fx.other_address);
	X509_free(fx.ca);
	X509_free(fx.rogue_ca);
	EVP_PKEY_free(fx.dkim_key);
	EVP_PKEY_free(fx.dkim_other_key);
	EVP_PKEY_free(fx.ca_key);
	EVP_PKEY_free(fx.rogue_key);
	EVP_PKEY_free(fx.signer_key);
	g_free(fx.signer_key_path);
	g_free(fx.ca_path);
	g_free(fx.two_cas_path);
	me_test_rm_rf(fx.dir);
	g_free(fx.dir);
}

/* ---- messages */

/* the headers of a challenge; @auto_submitted %NULL for none, as acme2certifier sends it */
static gchar *
outer_headers_with(const gchar *auto_submitted)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");

	return g_strdup_printf("From: ACME Generator <" FROM ">\r\n"
			       "To: " TO "\r\n"
			       "Subject: " SUBJECT "\r\n"
			       "Date: %s\r\n"
			       "Message-ID: <challenge.1@" DOMAIN ">\r\n"
			       "%s%s%s",
			       date, auto_submitted != NULL ? "Auto-Submitted: " : "",
			       auto_submitted != NULL ? auto_submitted : "", auto_submitted != NULL ? "\r\n" : "");
}

static gchar *
outer_headers(void)
{
	return outer_headers_with("auto-generated; type=acme");
}

/* a challenge with no signature of any kind */
static gchar *
plain_challenge(void)
{
	g_autofree gchar *headers = outer_headers();
	return g_strconcat(headers, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", BODY, NULL);
}

/* every line end CRLF (in place of the string, which it frees) */
static gchar *
crlf(gchar *text)
{
	g_auto(GStrv) lf_lines = g_strsplit(text, "\r\n", -1);
	g_autofree gchar *lf = g_strjoinv("\n", lf_lines);
	g_auto(GStrv) lines = g_strsplit(lf, "\n", -1);

	g_free(text);
	return g_strjoinv("\r\n", lines);
}

/* an S/MIME challenge (RFC 8551 §3.1 header protection: the whole message wrapped as
 * message/rfc822), signed by the `openssl cms` CLI */
static gchar *
smime_challenge_with(const TestCert *signer, const gchar *auto_submitted)
{
	g_autofree gchar *headers = outer_headers_with(auto_submitted);
	g_autofree gchar *inner = g_strdup_printf("Content-Type: message/rfc822; forwarded=no\r\n\r\n"
						  "%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" BODY,
						  headers);
	g_autofree gchar *in_path = me_test_write_tmp(fx.dir, "inner.eml", inner);
	const gchar *argv[] = {"openssl", "cms", "-sign", "-in", in_path, "-signer", signer->path, "-inkey",
			       fx.signer_key_path, "-md", "sha256", "-crlfeol", NULL};
	g_autofree gchar *entity = NULL;
	g_autofree gchar *normalized = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &entity, &err, &status));
	if (status != 0)
		g_test_message("openssl cms: %s", err);
	g_assert_cmpint(status, ==, 0);
	g_assert_true(g_str_has_prefix(entity, "MIME-Version: 1.0\r\n"));
	/* OpenSSL 3.0 ends the base64 lines of the signature in LF alone despite -crlfeol; mail
	 * arrives with CRLF throughout, as SMTP carries it */
	normalized = crlf(g_steal_pointer(&entity));
	return g_strconcat(headers, normalized, NULL);
}

static gchar *
smime_challenge(const TestCert *signer)
{
	return smime_challenge_with(signer, "auto-generated; type=acme");
}

/* @text DKIM-signed by dkimpy; %NULL (and the test skipped) without dkimpy */
static gchar *
dkim_sign(const gchar *text, EVP_PKEY *key, const gchar *domain, const gchar *headers)
{
	g_autofree gchar *msg_path = me_test_write_tmp(fx.dir, "unsigned.eml", text);
	g_autofree gchar *key_path = write_key(key, "dkim.key");
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "dkim-crosscheck.py", NULL);
	g_autofree gchar *err = NULL;
	gchar *out = NULL;
	gint status = -1;
	const gchar *argv[] = {me_test_python(), script, "--sign", key_path, "--domain", domain, "--selector", "sel",
			       "--algorithm", "rsa-sha256", "--canon", "relaxed/relaxed", "--headers", headers,
			       msg_path, NULL};

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	if (status == 77) {
		g_test_skip("dkimpy is not available to /usr/bin/python3");
		g_free(out);
		return NULL;
	}
	if (status != 0)
		g_test_message("dkimpy: %s", err);
	g_assert_cmpint(status, ==, 0);
	g_assert_true(g_str_has_prefix(out, "DKIM-Signature: "));
	return out;
}

static gchar *
dkim_challenge(EVP_PKEY *key, const gchar *domain, const gchar *headers)
{
	g_autofree gchar *text = plain_challenge();
	return dkim_sign(text, key, domain, headers);
}

/* ---- verifying */

static MeVerifier *
verifier_new(const gchar *trust_file)
{
	g_autoptr(GError) error = NULL;
	MeVerifier *verifier = me_verifier_new(me_test_dnsmasq_get_nameserver(fx.dns), &error);

	g_assert_no_error(error);
	g_assert_nonnull(verifier);
	if (trust_file != NULL) {
		g_assert_true(me_verifier_add_trust_file(verifier, trust_file, &error));
		g_assert_no_error(error);
	}
	return verifier;
}

static gboolean
authenticate(MeVerifier *verifier, const gchar *message, MeChallengeAuthResult *result)
{
	g_autoptr(GBytes) bytes = g_bytes_new(message, strlen(message));
	gboolean ok;

	me_challenge_auth_result_init(result);
	ok = me_verifier_authenticate(bytes, FROM, TO, SUBJECT, ME_CHALLENGE_AUTH_RULE_RFC8823, result, verifier);
	g_test_message("authentic=%d method=%s detail=%s", ok, me_challenge_auth_method_to_string(result->method),
		       result->detail);
	for (guint i = 0; i < result->failures->len; i++)
		g_test_message("failure %u: %s", i, (const gchar *)g_ptr_array_index(result->failures, i));
	return ok;
}

/* the failure line of @result that starts with @prefix, or %NULL */
static const gchar *
find_failure(const MeChallengeAuthResult *result, const gchar *prefix)
{
	for (guint i = 0; i < result->failures->len; i++) {
		if (g_str_has_prefix(g_ptr_array_index(result->failures, i), prefix))
			return g_ptr_array_index(result->failures, i);
	}
	return NULL;
}

static void
assert_failure(const MeChallengeAuthResult *result, const gchar *prefix, const gchar *needle)
{
	const gchar *line = find_failure(result, prefix);

	g_assert_nonnull(line);
	if (strstr(line, needle) == NULL)
		g_error("\"%s\" does not say \"%s\"", line, needle);
}

/* not authentic: a DKIM failure line that starts with @dkim_prefix and says @dkim_why, and
 * an S/MIME one that says @smime_why, or none when that is %NULL */
static void
assert_not_authentic(MeVerifier *verifier, const gchar *message, const gchar *dkim_prefix, const gchar *dkim_why,
		     const gchar *smime_why)
{
	MeChallengeAuthResult result;

	g_assert_false(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_NONE);
	g_assert_null(result.detail);
	assert_failure(&result, dkim_prefix, dkim_why);
	if (smime_why != NULL)
		assert_failure(&result, "S/MIME: ", smime_why);
	else
		g_assert_null(find_failure(&result, "S/MIME"));
	me_challenge_auth_result_clear(&result);
}

/* ---- set-up */

static void
test_new(void)
{
	const gchar *bad[] = {"", "dns.example.org", "127.0.0.1:0", "[::1"};
	g_autoptr(GError) error = NULL;
	g_autoptr(MeVerifier) system = me_verifier_new(NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(system);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) bad_error = NULL;
		g_autoptr(MeVerifier) verifier = me_verifier_new(bad[i], &bad_error);
		g_assert_null(verifier);
		g_assert_error(bad_error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		me_test_assert_sentence(bad_error);
	}
	me_verifier_free(NULL);
}

static void
test_trust_file(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autofree gchar *missing = g_build_filename(fx.dir, "missing.pem", NULL);
	g_autofree gchar *garbage = me_test_write_tmp(fx.dir, "garbage.pem", "not a certificate\n");
	g_autoptr(GError) error = NULL;

	g_assert_true(me_verifier_add_trust_file(verifier, fx.ca_path, &error));
	g_assert_no_error(error);
	g_assert_true(me_verifier_add_trust_file(verifier, fx.two_cas_path, &error));
	g_assert_no_error(error);
	g_assert_false(me_verifier_add_trust_file(verifier, missing, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, missing));
	g_clear_error(&error);
	g_assert_false(me_verifier_add_trust_file(verifier, garbage, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, garbage));
}

/* whether a fresh verifier with the trust file at @path, as challenge.inspect makes one for
 * each mail, finds @message authentic */
static gboolean
trusted_by_file(const gchar *path, const gchar *message)
{
	g_autoptr(MeVerifier) verifier = verifier_new(path);
	MeChallengeAuthResult result;
	gboolean ok = authenticate(verifier, message, &result);

	me_challenge_auth_result_clear(&result);
	return ok;
}

/* the trust file's certificates are kept between checks (the system's bundle took tens of
 * milliseconds to read for every mail), but a check always goes by the file as it is
 * now: replaced, rewritten in place, damaged or gone */
static void
test_trust_file_changed(void)
{
	g_autofree gchar *path = g_build_filename(fx.dir, "changing.pem", NULL);
	g_autofree gchar *message = smime_challenge(&fx.signer);
	g_autofree gchar *ca_pem = NULL;
	g_autofree gchar *rogue_pem = NULL;
	g_autofree gchar *rogue_path = write_certs("changing-rogue-ca.pem", fx.rogue_ca, NULL);
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autoptr(GError) error = NULL;
	FILE *f;

	g_assert_true(g_file_get_contents(fx.ca_path, &ca_pem, NULL, NULL));
	g_assert_true(g_file_get_contents(rogue_path, &rogue_pem, NULL, NULL));
	/* another CA only: not trusted, also the second time, when the file is known */
	g_assert_true(g_file_set_contents(path, rogue_pem, -1, NULL));
	g_assert_false(trusted_by_file(path, message));
	g_assert_false(trusted_by_file(path, message));
	/* a new file in its place (a package update renames one over it) */
	g_assert_true(g_file_set_contents(path, ca_pem, -1, NULL));
	g_assert_true(trusted_by_file(path, message));
	g_assert_true(trusted_by_file(path, message));
	/* the same file rewritten in place */
	f = fopen(path, "w");
	g_assert_nonnull(f);
	g_assert_cmpint(fputs(rogue_pem, f), >=, 0);
	g_assert_cmpint(fclose(f), ==, 0);
	g_assert_false(trusted_by_file(path, message));
	/* damaged, then gone: refused as the first time, never what was read before */
	g_assert_true(g_file_set_contents(path, "not a certificate\n", -1, NULL));
	g_assert_false(me_verifier_add_trust_file(verifier, path, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_false(me_verifier_add_trust_file(verifier, path, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, path));
	g_unlink(rogue_path);
}

static void
test_apply(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	MeChallengeOptions options = {0};

	me_verifier_apply(verifier, &options);
	g_assert_true(options.auth_func == me_verifier_authenticate);
	g_assert_true(options.auth_user_data == verifier);
}

/* ---- DKIM */

static void
test_dkim_pass(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autofree gchar *message = dkim_challenge(fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	MeChallengeAuthResult result;

	if (message == NULL)
		return;
	g_assert_true(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_DKIM);
	g_assert_cmpstr(result.detail, ==, "DKIM d=" DOMAIN " s=sel rsa-sha256");
	g_assert_cmpuint(result.failures->len, ==, 0);
	me_challenge_auth_result_clear(&result);
}

/* a good signature by another domain than From's is no authentication (RFC 8823 §3.1) */
static void
test_dkim_other_domain(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *message = dkim_challenge(fx.dkim_key, "other.example", CHALLENGE_HEADERS);

	if (message == NULL)
		return;
	assert_not_authentic(verifier, message, "DKIM d=other.example s=sel: ", "not by the sender's domain", NULL);
}

/* a good signature that leaves out header fields RFC 8823 wants signed */
static void
test_dkim_too_few_headers(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autofree gchar *message = dkim_challenge(fx.dkim_key, DOMAIN, "from:to:subject:date:message-id");

	if (message == NULL)
		return;
	assert_not_authentic(verifier, message, "DKIM d=" DOMAIN " s=sel: ", "does not cover", NULL);
}

/* signed with a key that is not the one published */
static void
test_dkim_wrong_key(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autofree gchar *message = dkim_challenge(fx.dkim_other_key, DOMAIN, CHALLENGE_HEADERS);

	if (message == NULL)
		return;
	assert_not_authentic(verifier, message, "DKIM d=" DOMAIN " s=sel: ", "does not match", NULL);
}

/* the body changed after signing */
static void
test_dkim_tampered(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(NULL);
	g_autofree gchar *message = dkim_challenge(fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	gchar *body;

	if (message == NULL)
		return;
	body = strstr(message, "automatically generated");
	g_assert_nonnull(body);
	body[0] = 'A';
	assert_not_authentic(verifier, message, "DKIM d=" DOMAIN " s=sel: ", "body was changed", NULL);
}

/* a nameserver that never answers: the key lookup ends within the verifier's DNS budget */
static void
test_dkim_dns_timeout(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	gint fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_autofree gchar *server = NULL;
	g_autofree gchar *message = NULL;
	g_autoptr(MeVerifier) verifier = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start;
	gint64 elapsed_ms;

	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	server = g_strdup_printf("127.0.0.1:%u", ntohs(addr.sin_port));
	message = dkim_challenge(fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	if (message == NULL) {
		close(fd);
		return;
	}
	verifier = me_verifier_new(server, &error);
	g_assert_no_error(error);
	me_verifier_set_dns_timeout(verifier, 300);
	start = g_get_monotonic_time();
	assert_not_authentic(verifier, message, "DKIM d=" DOMAIN " s=sel: ", "could not be looked up", NULL);
	elapsed_ms = (g_get_monotonic_time() - start) / 1000;
	g_test_message("gave up after %" G_GINT64_FORMAT " ms", elapsed_ms);
	g_assert_cmpint(elapsed_ms, >=, 250);
	g_assert_cmpint(elapsed_ms, <, 300 + 1000);
	close(fd);
}

/* ---- S/MIME */

static void
test_smime_pass(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *message = smime_challenge(&fx.signer);
	MeChallengeAuthResult result;

	g_assert_true(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_SMIME);
	g_assert_cmpstr(result.detail, ==, "S/MIME " FROM " (rfc8551-wrapped)");
	/* DKIM was tried first, and found nothing */
	g_assert_cmpuint(result.failures->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(result.failures, 0), ==, "DKIM: the message carries no DKIM signature.");
	me_challenge_auth_result_clear(&result);
}

/* a trust file with several CAs: the one that issued counts */
static void
test_smime_bundle(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.two_cas_path);
	g_autofree gchar *message = smime_challenge(&fx.signer);
	MeChallengeAuthResult result;

	g_assert_true(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_SMIME);
	me_challenge_auth_result_clear(&result);
}

static void
test_smime_refused(void)
{
	const struct {
		const gchar *what;
		const TestCert *signer;
		gboolean trusted; /* the verifier trusts the test CA */
		const gchar *why;
	} cases[] = {
	    {"no trust anchor at all", &fx.signer, FALSE, "not issued by a trusted authority"},
	    {"a CA of the same name, another key", &fx.rogue, TRUE, "not issued by a trusted authority"},
	    {"expired", &fx.expired, TRUE, "expired"},
	    {"serverAuth, not emailProtection", &fx.server_eku, TRUE, "not meant for signing mail"},
	    {"a certificate for another address", &fx.other_address, TRUE, "From address"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(MeVerifier) verifier = verifier_new(cases[i].trusted ? fx.ca_path : NULL);
		g_autofree gchar *message = smime_challenge(cases[i].signer);
		g_test_message("S/MIME: %s", cases[i].what);
		assert_not_authentic(verifier, message, "DKIM: ", "no DKIM signature", cases[i].why);
	}
}

/* plain mail is no S/MIME failure worth a line: only DKIM says why */
static void
test_plain_mail(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *message = plain_challenge();
	MeChallengeAuthResult result;

	g_assert_false(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_NONE);
	g_assert_cmpuint(result.failures->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(result.failures, 0), ==, "DKIM: the message carries no DKIM signature.");
	me_challenge_auth_result_clear(&result);
}

/* ---- both */

/* DKIM first: with both valid, DKIM is what passed */
static void
test_both_dkim_first(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *smime = smime_challenge(&fx.signer);
	g_autofree gchar *message = dkim_sign(smime, fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	MeChallengeAuthResult result;

	if (message == NULL)
		return;
	g_assert_true(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_DKIM);
	g_assert_cmpuint(result.failures->len, ==, 0);
	me_challenge_auth_result_clear(&result);
}

/* a failing DKIM signature does not hide a good S/MIME one; the DKIM failure is kept */
static void
test_dkim_fails_smime_passes(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *smime = smime_challenge(&fx.signer);
	g_autofree gchar *message = dkim_sign(smime, fx.dkim_other_key, DOMAIN, CHALLENGE_HEADERS);
	MeChallengeAuthResult result;

	if (message == NULL)
		return;
	g_assert_true(authenticate(verifier, message, &result));
	g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_SMIME);
	assert_failure(&result, "DKIM d=" DOMAIN " s=sel: ", "does not match");
	me_challenge_auth_result_clear(&result);
}

/* both fail: a line for each */
static void
test_both_fail(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *smime = smime_challenge(&fx.rogue);
	g_autofree gchar *message = dkim_sign(smime, fx.dkim_other_key, DOMAIN, CHALLENGE_HEADERS);

	if (message == NULL)
		return;
	assert_not_authentic(verifier, message, "DKIM d=" DOMAIN " s=sel: ", "does not match", "not issued by a trusted");
}

/* ---- through me_challenge_inspect(), as the front-ends use it */

static void
test_inspect(void)
{
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *dkim = dkim_challenge(fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	g_autofree gchar *forged = dkim_challenge(fx.dkim_other_key, DOMAIN, CHALLENGE_HEADERS);
	g_autofree gchar *smime = smime_challenge(&fx.signer);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	MePendingChallenge pending = {.identifier = TO,
				      .from = FROM,
				      .token_part2 = "DGyRejmCefe7v4NfDGDKfA",
				      .challenge_url = "https://ca.example/chall/1",
				      .expires = now + 3600,
				      .fetched_at = now - 60};
	MeChallengeOptions options = {0};

	if (dkim == NULL)
		return;
	me_verifier_apply(verifier, &options);
	{
		g_autoptr(MeChallengeVerdict) verdict = me_challenge_inspect(dkim, strlen(dkim), &pending, 1, &options);
		g_test_message("DKIM: %s", verdict->message);
		g_assert_true(verdict->answerable);
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_DKIM);
	}
	{
		g_autoptr(MeChallengeVerdict) verdict = me_challenge_inspect(smime, strlen(smime), &pending, 1, &options);
		g_test_message("S/MIME: %s", verdict->message);
		g_assert_true(verdict->answerable);
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_SMIME);
	}
	{
		g_autoptr(MeChallengeVerdict) verdict = me_challenge_inspect(forged, strlen(forged), &pending, 1, &options);
		g_test_message("forged: %s", verdict->message);
		g_assert_false(verdict->answerable);
		g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_UNAUTHENTICATED);
	}
}

/* ---- the missing-auto-submitted quirk (issue 16), through me_challenge_inspect() */

/* a challenge with @auto_submitted (%NULL: none), DKIM-signed by @domain over @headers */
static gchar *
quirk_mail(const gchar *auto_submitted, EVP_PKEY *key, const gchar *domain, const gchar *headers)
{
	g_autofree gchar *head = outer_headers_with(auto_submitted);
	g_autofree gchar *text =
	    g_strconcat(head, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", BODY, NULL);

	return dkim_sign(text, key, domain, headers);
}

static MeChallengeVerdict *
quirk_inspect(MeVerifier *verifier, const gchar *message, MeChallengeQuirks quirks, const gchar *const *trusted)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	MePendingChallenge pending = {.identifier = TO,
				      .from = FROM,
				      .token_part2 = "DGyRejmCefe7v4NfDGDKfA",
				      .challenge_url = "https://ca.example/chall/1",
				      .expires = now + 3600,
				      .fetched_at = now - 60,
				      .quirks = quirks};
	MeChallengeOptions options = {.trusted_authserv_ids = trusted};
	MeChallengeVerdict *verdict;

	me_verifier_apply(verifier, &options);
	verdict = me_challenge_inspect(message, strlen(message), &pending, 1, &options);
	g_test_message("%s: %s", me_challenge_reason_to_nick(verdict->reason), verdict->message);
	return verdict;
}

static void
assert_quirk_refused(MeVerifier *verifier, const gchar *message, MeChallengeReason reason,
		     const gchar *const *trusted)
{
	g_autoptr(MeChallengeVerdict) verdict = quirk_inspect(verifier, message, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED,
							      trusted);

	g_assert_false(verdict->answerable);
	g_assert_cmpstr(me_challenge_reason_to_nick(verdict->reason), ==, me_challenge_reason_to_nick(reason));
	g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_NONE);
	g_assert_cmpuint(verdict->quirks_used, ==, 0);
}

/* with the quirk, a mail without Auto-Submitted passes on a DKIM signature by the From
 * domain over the 12 other names, and on nothing less: one name short, another d=, a
 * valid S/MIME signature or a trusted Authentication-Results alone stay refused, and so
 * does an Auto-Submitted with another keyword; without the quirk the same mail is refused */
static void
test_quirk_missing_auto_submitted(void)
{
	static const gchar *const trusted[] = {"mx.example.com", NULL};
	g_autoptr(MeVerifier) verifier = verifier_new(fx.ca_path);
	g_autofree gchar *good = quirk_mail(NULL, fx.dkim_key, DOMAIN, QUIRK_HEADERS);
	g_autofree gchar *no_sender = NULL;
	g_autofree gchar *other_domain = NULL;
	g_autofree gchar *keyword_no = NULL;
	g_autofree gchar *smime = NULL;
	g_autofree gchar *plain = NULL;
	g_autofree gchar *ar_only = NULL;

	if (good == NULL)
		return;
	{
		g_autoptr(MeChallengeVerdict) verdict = quirk_inspect(verifier, good, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED,
								      NULL);
		g_assert_true(verdict->answerable);
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_DKIM);
		g_assert_cmpuint(verdict->quirks_used, ==, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED);
		g_assert_cmpstr(verdict->auth.detail, ==, "DKIM d=" DOMAIN " s=sel rsa-sha256, quirk missing-auto-submitted");
	}
	{
		g_autoptr(MeChallengeVerdict) verdict = quirk_inspect(verifier, good, ME_CHALLENGE_QUIRK_NONE, NULL);
		g_assert_false(verdict->answerable);
		g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED);
		g_assert_true(verdict->auto_submitted_missing);
	}
	/* h= one name short: Sender, which the mail does not even have */
	no_sender = quirk_mail(NULL, fx.dkim_key, DOMAIN,
			       "from:reply-to:to:cc:subject:date:in-reply-to:references:message-id:content-type:"
			       "content-transfer-encoding");
	assert_quirk_refused(verifier, no_sender, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL);
	/* a good signature, with every name, by a domain that is not From's */
	other_domain = quirk_mail(NULL, fx.dkim_key, "other.example", CHALLENGE_HEADERS);
	assert_quirk_refused(verifier, other_domain, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL);
	/* a keyword other than auto-generated is not a missing header */
	keyword_no = quirk_mail("no", fx.dkim_key, DOMAIN, CHALLENGE_HEADERS);
	assert_quirk_refused(verifier, keyword_no, ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, NULL);
	/* S/MIME that verifies, but no DKIM */
	smime = smime_challenge_with(&fx.signer, NULL);
	assert_quirk_refused(verifier, smime, ME_CHALLENGE_REASON_UNAUTHENTICATED, NULL);
	/* the verifier itself, asked for the quirk's rule, does not even try S/MIME */
	{
		g_autoptr(GBytes) bytes = g_bytes_new(smime, strlen(smime));
		MeChallengeAuthResult result;

		me_challenge_auth_result_init(&result);
		g_assert_false(me_verifier_authenticate(bytes, FROM, TO, SUBJECT,
							ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, &result, verifier));
		g_assert_cmpint(result.method, ==, ME_CHALLENGE_AUTH_NONE);
		g_assert_null(find_failure(&result, "S/MIME"));
		me_challenge_auth_result_clear(&result);
	}
	/* a trusted receiving server that says dkim=pass, but no signature of the CA's */
	{
		g_autofree gchar *head = outer_headers_with(NULL);
		plain = g_strconcat(head, "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n", BODY, NULL);
		ar_only = g_strconcat("Authentication-Results: mx.example.com; dkim=pass header.d=" DOMAIN "\r\n", plain,
				      NULL);
	}
	assert_quirk_refused(verifier, ar_only, ME_CHALLENGE_REASON_UNAUTHENTICATED, trusted);
	/* the same A-R does pass a mail that has its Auto-Submitted: the header is what is missing */
	{
		g_autofree gchar *head = outer_headers();
		g_autofree gchar *with_header = g_strconcat("Authentication-Results: mx.example.com; dkim=pass header.d=" DOMAIN
							    "\r\n",
							    head, "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n",
							    BODY, NULL);
		g_autoptr(MeChallengeVerdict) verdict =
		    quirk_inspect(verifier, with_header, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED, trusted);
		g_assert_true(verdict->answerable);
		g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_RESULTS);
		g_assert_cmpuint(verdict->quirks_used, ==, 0);
	}
}

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	fixtures_setup();
	g_test_add_func("/verifier/new", test_new);
	g_test_add_func("/verifier/trust-file", test_trust_file);
	g_test_add_func("/verifier/trust-file/changed", test_trust_file_changed);
	g_test_add_func("/verifier/apply", test_apply);
	g_test_add_func("/verifier/dkim/pass", test_dkim_pass);
	g_test_add_func("/verifier/dkim/other-domain", test_dkim_other_domain);
	g_test_add_func("/verifier/dkim/too-few-headers", test_dkim_too_few_headers);
	g_test_add_func("/verifier/dkim/wrong-key", test_dkim_wrong_key);
	g_test_add_func("/verifier/dkim/tampered", test_dkim_tampered);
	g_test_add_func("/verifier/dkim/dns-timeout", test_dkim_dns_timeout);
	g_test_add_func("/verifier/smime/pass", test_smime_pass);
	g_test_add_func("/verifier/smime/bundle", test_smime_bundle);
	g_test_add_func("/verifier/smime/refused", test_smime_refused);
	g_test_add_func("/verifier/plain-mail", test_plain_mail);
	g_test_add_func("/verifier/both/dkim-first", test_both_dkim_first);
	g_test_add_func("/verifier/both/dkim-fails-smime-passes", test_dkim_fails_smime_passes);
	g_test_add_func("/verifier/both/fail", test_both_fail);
	g_test_add_func("/verifier/inspect", test_inspect);
	g_test_add_func("/verifier/quirk/missing-auto-submitted", test_quirk_missing_auto_submitted);
	rc = g_test_run();
	fixtures_teardown();
	return rc;
}
