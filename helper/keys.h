/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/evp.h>

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

G_END_DECLS
