/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "me-error.h"
#include "secmem.h"

G_BEGIN_DECLS

typedef enum {
	ME_KEY_TYPE_UNKNOWN = 0,
	ME_KEY_TYPE_EC_P256,
	ME_KEY_TYPE_EC_P384,
	ME_KEY_TYPE_RSA_2048,
	ME_KEY_TYPE_RSA_3072,
	ME_KEY_TYPE_RSA_4096,
} MeKeyType;

/* the ACME account key: always P-256, and never the certificate key (RFC 8555 §11.1) */
#define ME_KEY_TYPE_ACCOUNT ME_KEY_TYPE_EC_P256
/* the certificate key when the user chose none: RSA works with every mail client (docs/standards.md §4.2) */
#define ME_KEY_TYPE_CERTIFICATE_DEFAULT ME_KEY_TYPE_RSA_3072

/**
 * MeKeyUsage:
 * @ME_KEY_USAGE_UNKNOWN: not a usage
 * @ME_KEY_USAGE_SIGNING: the certificate signs mail only
 * @ME_KEY_USAGE_ENCRYPTION: the certificate receives encrypted mail only
 * @ME_KEY_USAGE_DUAL: both
 *
 * What the user wants the S/MIME certificate for.  The Key Usage bits this asks for
 * (S/MIME BR §7.1.2.3(e), docs/standards.md §4.3; me_key_usage_get_bits()) are:
 *
 * |                 | RSA (2048, 3072, 4096)               | EC (P-256, P-384)                 |
 * |-----------------|--------------------------------------|-----------------------------------|
 * | signing         | digitalSignature                     | digitalSignature                  |
 * | encryption      | keyEncipherment                      | keyAgreement                      |
 * | dual            | digitalSignature, keyEncipherment    | digitalSignature, keyAgreement    |
 *
 * digitalSignature is always asked for when signing (the BR require it, though RFC 8823
 * allows nonRepudiation alone).  The optional nonRepudiation, dataEncipherment,
 * encipherOnly and decipherOnly are never asked for, but a certificate that has them is
 * still accepted (me_key_usage_get_allowed_bits()).  The extension is always critical.
 */
typedef enum {
	ME_KEY_USAGE_UNKNOWN = 0,
	ME_KEY_USAGE_SIGNING,
	ME_KEY_USAGE_ENCRYPTION,
	ME_KEY_USAGE_DUAL,
} MeKeyUsage;

void
me_crypto_set_error(GError **error, MeError code, const gchar *what);
EVP_PKEY *
me_key_generate(MeKeyType type, GError **error);
MeKeyType
me_key_get_type(EVP_PKEY *key);
const gchar *
me_key_type_to_string(MeKeyType type);
MeKeyType
me_key_type_from_string(const gchar *text);
MeSecretStr *
me_key_to_pem(EVP_PKEY *key, GError **error);
EVP_PKEY *
me_key_from_pem(const gchar *pem, gsize len, GError **error);
gboolean
me_key_public_equal(EVP_PKEY *a, EVP_PKEY *b);
gboolean
me_key_check_distinct(EVP_PKEY *account_key, EVP_PKEY *cert_key, GError **error);
const gchar *
me_key_usage_to_string(MeKeyUsage usage);
MeKeyUsage
me_key_usage_from_string(const gchar *text);
guint32
me_key_usage_get_bits(MeKeyType type, MeKeyUsage usage);
guint32
me_key_usage_get_allowed_bits(MeKeyType type);

G_END_DECLS
