/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

const gchar *
me_jws_alg_for_key(EVP_PKEY *key);
gchar *
me_jwk_to_canonical(EVP_PKEY *key, GError **error);
JsonNode *
me_jwk_new(EVP_PKEY *key, GError **error);
gchar *
me_jwk_thumbprint(EVP_PKEY *key, GError **error);
EVP_PKEY *
me_jwk_to_key(JsonObject *jwk, GError **error);

gchar *
me_jws_sign_input(EVP_PKEY *key,
		  const gchar *protected_b64,
		  const gchar *payload_b64,
		  GError **error);
gboolean
me_jws_verify(EVP_PKEY *key,
	      const gchar *alg,
	      const gchar *protected_b64,
	      const gchar *payload_b64,
	      const gchar *signature_b64,
	      GError **error);
gchar *
me_jws_hmac(const gchar *alg,
	    GBytes *mac_key,
	    const gchar *protected_b64,
	    const gchar *payload_b64,
	    GError **error);
gchar *
me_jws_flattened(EVP_PKEY *key,
		 const gchar *url,
		 const gchar *nonce,
		 const gchar *kid,
		 const gchar *payload,
		 GError **error);
gchar *
me_jws_eab(const gchar *eab_kid,
	   GBytes *mac_key,
	   const gchar *alg,
	   const gchar *url,
	   EVP_PKEY *account_key,
	   GError **error);

G_END_DECLS
