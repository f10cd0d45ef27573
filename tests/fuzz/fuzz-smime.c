/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzSmime"

#include "config.h"

#include <glib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <string.h>

#include "autocleanups.h"
#include "smime.h"
#include "fuzz-mail.h"

/* the input is a mail (bare LF become CR LF) checked as an S/MIME-signed RFC 8823 challenge
 * (RFC 8551, RFC 8823 §3.1): multipart/signed or application/pkcs7-mime, CMS, certificates,
 * header protection.  The one trust anchor is the CA below; the seed corpus holds mails
 * signed by a certificate it issued for acme-generator@example.org (EC P-256, valid until
 * 2126), made with `openssl cms -sign`, and damaged variants */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const gchar fuzz_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgDCCASagAwIBAgIUNz8auGSFXnEYpAimXswHMtpNwcEwCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwSbWFpbGVucm9sbCBmdXp6IENBMCAXDTI2MTIwNzA3MDMzMloY\n"
    "DzIxMjYxMTEzMDcwMzMyWjAdMRswGQYDVQQDDBJtYWlsZW5yb2xsIGZ1enogQ0Ew\n"
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARrL0kMXNvvGKlADWgA/tRCeDSgX28T\n"
    "45pfM90UNtcKosVuLoBpCVUbdqNSt7Yp+/22ugQCOw1gjPbx7HM6duh1o0IwQDAP\n"
    "BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUmAofp0rw\n"
    "0trlkqPC1b4hGLkr8XUwCgYIKoZIzj0EAwIDSAAwRQIhAMTmeKKwZsLtAA8lt9bc\n"
    "smY8wKBsFLYXkvQjXzKoEO5rAiAfU5jAjMTntLKNQdQGfZtOUqt4Y3MfzxCt448B\n"
    "vO7uBg==\n"
    "-----END CERTIFICATE-----\n"
    ;

static X509_STORE *trust;

static X509_STORE *
trust_new(void)
{
	X509_STORE *store = X509_STORE_new();
	g_autoptr(BIO) bio = BIO_new_mem_buf(fuzz_ca_pem, -1);
	g_autoptr(X509) ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	g_assert_nonnull(ca);
	g_assert_cmpint(X509_STORE_add_cert(store, ca), ==, 1);
	return store;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) message = fuzz_mail_crlf(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) result = NULL;

	if (trust == NULL)
		trust = trust_new();
	result = me_smime_verify(message, trust, NULL, NULL, NULL, &error);
	g_assert_true((result == NULL) == (error != NULL));
	if (result == NULL)
		return 0;
	/* trusted only when every part of the check passed, and a reason when not */
	if (result->verified)
		g_assert_true(result->signature_valid && result->chain_valid && result->signer_matches_from &&
			      result->headers_protected);
	else
		g_assert_nonnull(result->reason);
	return 0;
}
