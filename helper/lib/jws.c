/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeJws"

#include "config.h"

#include "jws.h"

#include <glib/gi18n-lib.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <string.h>

#include "autocleanups.h"
#include "encoding.h"
#include "keys.h"
#include "me-error.h"
#include "secmem.h"

/* the longest base64url JWK member we accept: RSA-16384 moduli are 2731 characters */
#define ME_JWK_MEMBER_MAX 4096

typedef struct {
	const gchar *alg;
	const gchar *digest;
	gsize coord_len; /* ECDSA: bytes of R and of S; 0 for RSA */
} JwsAlg;

static const JwsAlg jws_algs[] = {
    {"ES256", "SHA256", 32},
    {"ES384", "SHA384", 48},
    {"RS256", "SHA256", 0},
};

static const JwsAlg *
jws_alg_lookup(const gchar *alg)
{
	for (gsize i = 0; i < G_N_ELEMENTS(jws_algs); i++) {
		if (g_strcmp0(jws_algs[i].alg, alg) == 0)
			return &jws_algs[i];
	}
	return NULL;
}

/**
 * me_jws_alg_for_key:
 * @key: a key
 *
 * Returns: (nullable): `ES256` for P-256, `ES384` for P-384, `RS256` for RSA of at least
 * 2048 bits (RFC 7518 §3.3), or %NULL for keys ACME cannot use
 */
const gchar *
me_jws_alg_for_key(EVP_PKEY *key)
{
	switch (me_key_get_type(key)) {
	case ME_KEY_TYPE_EC_P256:
		return "ES256";
	case ME_KEY_TYPE_EC_P384:
		return "ES384";
	default:
		break;
	}
	if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048)
		return "RS256";
	return NULL;
}

static void
set_unsupported_key(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: an account key of a type ACME cannot sign with */
			    _("This key cannot sign ACME requests; use a P-256, P-384 or RSA (2048 bits or more) key."));
}

static gchar *
bn_param_b64u(EVP_PKEY *key, const gchar *name, gsize pad_to, GError **error)
{
	g_autoptr(BIGNUM) bn = NULL;
	g_autofree guchar *buf = NULL;
	gint len;

	if (!EVP_PKEY_get_bn_param(key, name, &bn)) {
		/* TRANSLATORS: a public key lacks a component we need */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
		return NULL;
	}
	/* EC coordinates keep their leading zeros (RFC 7518 §6.2.1.2); RSA integers have none */
	len = pad_to > 0 ? (gint)pad_to : BN_num_bytes(bn);
	buf = g_malloc0(MAX(len, 1));
	if (BN_bn2binpad(bn, buf, len) != len) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
		return NULL;
	}
	return me_b64u_encode(buf, len);
}

/**
 * me_jwk_to_canonical:
 * @key: a P-256, P-384 or RSA key
 * @error: (nullable): return location
 *
 * The public key as a JWK with only its required members, in lexicographic order and
 * without white space: the input of an RFC 7638 thumbprint, and the `jwk` we send.
 *
 * Returns: (transfer full): the JSON text, or %NULL with @error set
 */
gchar *
me_jwk_to_canonical(EVP_PKEY *key, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (EVP_PKEY_is_a(key, "RSA")) {
		g_autofree gchar *n = bn_param_b64u(key, OSSL_PKEY_PARAM_RSA_N, 0, error);
		g_autofree gchar *e = n != NULL ? bn_param_b64u(key, OSSL_PKEY_PARAM_RSA_E, 0, error) : NULL;
		if (e == NULL)
			return NULL;
		return g_strdup_printf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
	} else {
		MeKeyType type = me_key_get_type(key);
		gsize coord = type == ME_KEY_TYPE_EC_P256 ? 32 : 48;
		g_autofree gchar *x = NULL;
		g_autofree gchar *y = NULL;
		if (type != ME_KEY_TYPE_EC_P256 && type != ME_KEY_TYPE_EC_P384) {
			set_unsupported_key(error);
			return NULL;
		}
		x = bn_param_b64u(key, OSSL_PKEY_PARAM_EC_PUB_X, coord, error);
		y = x != NULL ? bn_param_b64u(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord, error) : NULL;
		if (y == NULL)
			return NULL;
		return g_strdup_printf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				       type == ME_KEY_TYPE_EC_P256 ? "P-256" : "P-384", x, y);
	}
}

/**
 * me_jwk_new:
 * @key: a P-256, P-384 or RSA key
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the public JWK as a JSON object node, or %NULL with @error set
 */
JsonNode *
me_jwk_new(EVP_PKEY *key, GError **error)
{
	g_autofree gchar *text = me_jwk_to_canonical(key, error);
	if (text == NULL)
		return NULL;
	return json_from_string(text, error);
}

/**
 * me_jwk_thumbprint:
 * @key: a P-256, P-384 or RSA key
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the RFC 7638 SHA-256 thumbprint in base64url, or %NULL
 */
gchar *
me_jwk_thumbprint(EVP_PKEY *key, GError **error)
{
	g_autofree gchar *text = me_jwk_to_canonical(key, error);
	guchar md[32];
	gsize md_len = sizeof(md);

	if (text == NULL)
		return NULL;
	if (!EVP_Q_digest(NULL, "SHA256", NULL, text, strlen(text), md, &md_len)) {
		/* TRANSLATORS: hashing failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("A digest could not be computed."));
		return NULL;
	}
	return me_b64u_encode(md, md_len);
}

static BIGNUM *
jwk_member_bn(JsonObject *jwk, const gchar *name, GError **error)
{
	const gchar *text = json_object_get_string_member_with_default(jwk, name, NULL);
	g_autoptr(GBytes) bytes = NULL;
	gsize len = 0;
	const guchar *data;
	BIGNUM *bn;

	if (text == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: %s names a member of a JSON Web Key, e.g. "n" */
			    _("The key lacks its \"%s\" member."), name);
		return NULL;
	}
	bytes = me_b64u_decode_secret(text, ME_JWK_MEMBER_MAX, error);
	if (bytes == NULL)
		return NULL;
	data = g_bytes_get_data(bytes, &len);
	bn = BN_bin2bn(data, (int)len, NULL);
	if (bn == NULL)
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
	return bn;
}

/* the builder stores pointers to the numbers and buffers pushed into it, not copies
 * (OSSL_PARAM_BLD_push_BN(3)): each must stay alive until OSSL_PARAM_BLD_to_param(), so
 * every builder below is converted inside the function that owns what it points to */
static OSSL_PARAM *
bld_to_param(OSSL_PARAM_BLD *bld, GError **error)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL)
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
	return params;
}

static gboolean
coord_has_full_length(JsonObject *jwk, const gchar *member, gsize coord)
{
	const gchar *text = json_object_get_string_member_with_default(jwk, member, "");
	/* unpadded base64url of n bytes has ceil(4n/3) characters */
	return strlen(text) == (coord * 4 + 2) / 3;
}

static OSSL_PARAM *
jwk_ec_params(JsonObject *jwk, GError **error)
{
	const gchar *crv = json_object_get_string_member_with_default(jwk, "crv", "");
	gsize coord = g_strcmp0(crv, "P-256") == 0 ? 32 : g_strcmp0(crv, "P-384") == 0 ? 48 : 0;
	g_autoptr(OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new();
	g_autoptr(BIGNUM) x = NULL;
	g_autoptr(BIGNUM) y = NULL;
	g_autoptr(BIGNUM) d = NULL;
	guchar point[1 + 2 * 48];

	if (coord == 0) {
		set_unsupported_key(error);
		return NULL;
	}
	/* RFC 7518 §6.2.1.2: coordinates are always full length, leading zeros included */
	if (!coord_has_full_length(jwk, "x", coord) || !coord_has_full_length(jwk, "y", coord)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA, _("The key's curve point is malformed."));
		return NULL;
	}
	x = jwk_member_bn(jwk, "x", error);
	y = x != NULL ? jwk_member_bn(jwk, "y", error) : NULL;
	if (y == NULL)
		return NULL;
	if (json_object_has_member(jwk, "d")) {
		d = jwk_member_bn(jwk, "d", error);
		if (d == NULL)
			return NULL;
	}
	point[0] = 0x04;
	if (BN_bn2binpad(x, point + 1, (int)coord) < 0 || BN_bn2binpad(y, point + 1 + coord, (int)coord) < 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a JSON Web Key holds a malformed EC point */
				    _("The key's curve point is malformed."));
		return NULL;
	}
	if (bld == NULL || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord) ||
	    (d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
		return NULL;
	}
	return bld_to_param(bld, error);
}

static OSSL_PARAM *
jwk_rsa_params(JsonObject *jwk, GError **error)
{
	static const struct {
		const gchar *member;
		const gchar *param;
	} members[] = {
	    {"n", OSSL_PKEY_PARAM_RSA_N},
	    {"e", OSSL_PKEY_PARAM_RSA_E},
	    /* the private members, all or none */
	    {"d", OSSL_PKEY_PARAM_RSA_D},
	    {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
	    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
	    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
	    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
	    {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
	};
	gsize n_members = json_object_has_member(jwk, "d") ? G_N_ELEMENTS(members) : 2;
	g_autoptr(OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new();
	g_autoptr(GPtrArray) bns = g_ptr_array_new_with_free_func((GDestroyNotify)BN_clear_free);

	if (bld == NULL) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
		return NULL;
	}
	for (gsize i = 0; i < n_members; i++) {
		BIGNUM *bn = jwk_member_bn(jwk, members[i].member, error);
		if (bn == NULL)
			return NULL;
		g_ptr_array_add(bns, bn);
		if (!OSSL_PARAM_BLD_push_BN(bld, members[i].param, bn)) {
			me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The public key could not be read."));
			return NULL;
		}
	}
	return bld_to_param(bld, error);
}

/* the parameters may hold private key material; OpenSSL 3.0 has no OSSL_PARAM_clear_free() */
static void
params_clear_free(OSSL_PARAM *params)
{
	for (OSSL_PARAM *p = params; p->key != NULL; p++)
		me_secure_wipe(p->data, p->data_size);
	OSSL_PARAM_free(params);
}

/**
 * me_jwk_to_key:
 * @jwk: a JWK object (EC P-256/P-384 or RSA; with its private members or without)
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the key, or %NULL with @error set
 */
EVP_PKEY *
me_jwk_to_key(JsonObject *jwk, GError **error)
{
	const gchar *kty = json_object_get_string_member_with_default(jwk, "kty", "");
	gboolean is_rsa = g_strcmp0(kty, "RSA") == 0;
	gboolean has_private = json_object_has_member(jwk, "d");
	OSSL_PARAM *params = NULL;
	g_autoptr(EVP_PKEY_CTX) ctx = NULL;
	EVP_PKEY *key = NULL;
	gboolean ok;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!is_rsa && g_strcmp0(kty, "EC") != 0) {
		set_unsupported_key(error);
		return NULL;
	}
	params = is_rsa ? jwk_rsa_params(jwk, error) : jwk_ec_params(jwk, error);
	if (params == NULL)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, is_rsa ? "RSA" : "EC", NULL);
	ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
	     EVP_PKEY_fromdata(ctx, &key, has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) > 0;
	params_clear_free(params);
	if (!ok) {
		me_crypto_set_error(error, ME_ERROR_INVALID_DATA, _("The public key could not be read."));
		return NULL;
	}
	return key;
}

static gchar *
signing_input(const gchar *protected_b64, const gchar *payload_b64)
{
	return g_strconcat(protected_b64, ".", payload_b64, NULL);
}

static gchar *
ecdsa_der_to_raw(const guchar *der, gsize der_len, gsize coord, GError **error)
{
	const guchar *p = der;
	g_autoptr(ECDSA_SIG) sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r = NULL;
	const BIGNUM *s = NULL;
	guchar raw[2 * 48];

	if (sig == NULL) {
		/* TRANSLATORS: making a digital signature failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The request could not be signed."));
		return NULL;
	}
	/* JWS wants R‖S as fixed-size big-endian integers, never DER (RFC 7518 §3.4) */
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, (int)coord) < 0 || BN_bn2binpad(s, raw + coord, (int)coord) < 0) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The request could not be signed."));
		return NULL;
	}
	return me_b64u_encode(raw, 2 * coord);
}

/**
 * me_jws_sign_input:
 * @key: the private key
 * @protected_b64: the encoded protected header
 * @payload_b64: the encoded payload (empty for POST-as-GET)
 * @error: (nullable): return location
 *
 * Signs `protected.payload` with the algorithm me_jws_alg_for_key() picks.
 *
 * Returns: (transfer full): the base64url signature, or %NULL with @error set
 */
gchar *
me_jws_sign_input(EVP_PKEY *key, const gchar *protected_b64, const gchar *payload_b64, GError **error)
{
	const JwsAlg *alg = jws_alg_lookup(me_jws_alg_for_key(key));
	g_autofree gchar *input = NULL;
	g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
	g_autofree guchar *sig = NULL;
	size_t sig_len = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (alg == NULL) {
		set_unsupported_key(error);
		return NULL;
	}
	input = signing_input(protected_b64, payload_b64);
	if (md == NULL || EVP_DigestSignInit_ex(md, NULL, alg->digest, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const guchar *)input, strlen(input)) != 1) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The request could not be signed."));
		return NULL;
	}
	sig = g_malloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (const guchar *)input, strlen(input)) != 1) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The request could not be signed."));
		return NULL;
	}
	if (alg->coord_len > 0)
		return ecdsa_der_to_raw(sig, sig_len, alg->coord_len, error);
	return me_b64u_encode(sig, sig_len);
}

static GBytes *
ecdsa_raw_to_der(GBytes *raw, gsize coord, GError **error)
{
	gsize len = 0;
	const guchar *data = g_bytes_get_data(raw, &len);
	g_autoptr(ECDSA_SIG) sig = ECDSA_SIG_new();
	BIGNUM *r;
	BIGNUM *s;
	guchar *der = NULL;
	gint der_len;

	if (len != 2 * coord || sig == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a signature has the wrong size */
				    _("The signature is malformed."));
		return NULL;
	}
	r = BN_bin2bn(data, (int)coord, NULL);
	s = BN_bin2bn(data + coord, (int)coord, NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The signature is malformed."));
		return NULL;
	}
	der_len = i2d_ECDSA_SIG(sig, &der);
	if (der_len <= 0) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The signature is malformed."));
		return NULL;
	}
	{
		GBytes *bytes = g_bytes_new(der, der_len);
		OPENSSL_free(der);
		return bytes;
	}
}

/**
 * me_jws_verify:
 * @key: the public key
 * @alg: the JWS algorithm, `ES256`, `ES384` or `RS256`; it must be the one
 *   me_jws_alg_for_key() gives for @key
 * @protected_b64: the encoded protected header
 * @payload_b64: the encoded payload
 * @signature_b64: the encoded signature
 * @error: (nullable): return location
 *
 * Returns: %TRUE if the signature verifies
 */
gboolean
me_jws_verify(EVP_PKEY *key,
	      const gchar *alg,
	      const gchar *protected_b64,
	      const gchar *payload_b64,
	      const gchar *signature_b64,
	      GError **error)
{
	const JwsAlg *info = jws_alg_lookup(alg);
	g_autoptr(GBytes) sig = NULL;
	g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
	g_autofree gchar *input = NULL;
	gsize sig_len = 0;
	const guchar *sig_data;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	if (info == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: %s is a JWS algorithm name such as "HS1" */
			    _("The signature algorithm %s is not supported."), alg);
		return FALSE;
	}
	/* one key, one algorithm (RFC 8725 §3.1): otherwise an "RS256" header passes a DER
	 * ECDSA signature straight to an EC key, and "ES384" verifies a P-256 key over SHA-384 */
	if (g_strcmp0(me_jws_alg_for_key(key), alg) != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: %s is a JWS algorithm name such as "ES256" */
			    _("The signature algorithm %s does not fit the key."), alg);
		return FALSE;
	}
	sig = me_b64u_decode(signature_b64, 4096, error);
	if (sig == NULL)
		return FALSE;
	if (info->coord_len > 0) {
		GBytes *der = ecdsa_raw_to_der(sig, info->coord_len, error);
		if (der == NULL)
			return FALSE;
		g_bytes_unref(sig);
		sig = der;
	}
	sig_data = g_bytes_get_data(sig, &sig_len);
	input = signing_input(protected_b64, payload_b64);
	if (md == NULL || EVP_DigestVerifyInit_ex(md, NULL, info->digest, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestVerify(md, sig_data, sig_len, (const guchar *)input, strlen(input)) != 1) {
		/* TRANSLATORS: a digital signature did not match */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The signature does not verify."));
		return FALSE;
	}
	return TRUE;
}

/**
 * me_jws_hmac:
 * @alg: `HS256`, `HS384` or `HS512`
 * @mac_key: the MAC key
 * @protected_b64: the encoded protected header
 * @payload_b64: the encoded payload
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the base64url MAC, or %NULL with @error set
 */
gchar *
me_jws_hmac(const gchar *alg, GBytes *mac_key, const gchar *protected_b64, const gchar *payload_b64, GError **error)
{
	const gchar *digest = g_strcmp0(alg, "HS256") == 0   ? "SHA256"
			      : g_strcmp0(alg, "HS384") == 0 ? "SHA384"
			      : g_strcmp0(alg, "HS512") == 0 ? "SHA512"
							     : NULL;
	g_autofree gchar *input = NULL;
	guchar mac[64];
	gsize mac_len = 0;
	gsize key_len = 0;
	const guchar *key_data = g_bytes_get_data(mac_key, &key_len);
	gchar *result;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (digest == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    _("The signature algorithm %s is not supported."), alg);
		return NULL;
	}
	if (key_len == 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: EAB = external account binding, given by the CA */
				    _("The external account key is empty; enter the key the certificate authority gave you."));
		return NULL;
	}
	input = signing_input(protected_b64, payload_b64);
	if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key_data, key_len, (const guchar *)input,
		      strlen(input), mac, sizeof(mac), &mac_len) == NULL) {
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The request could not be signed."));
		return NULL;
	}
	result = me_b64u_encode(mac, mac_len);
	me_secure_wipe(mac, sizeof(mac));
	return result;
}

static gchar *
flattened_json(const gchar *protected_b64, const gchar *payload_b64, const gchar *signature_b64)
{
	return g_strdup_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
			       protected_b64, payload_b64, signature_b64);
}

static gchar *
protected_header(EVP_PKEY *key, const gchar *url, const gchar *nonce, const gchar *kid, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "alg");
	json_builder_add_string_value(builder, me_jws_alg_for_key(key));
	if (kid != NULL) {
		json_builder_set_member_name(builder, "kid");
		json_builder_add_string_value(builder, kid);
	} else {
		JsonNode *jwk = me_jwk_new(key, error);
		if (jwk == NULL)
			return NULL;
		json_builder_set_member_name(builder, "jwk");
		json_builder_add_value(builder, jwk);
	}
	if (nonce != NULL) {
		json_builder_set_member_name(builder, "nonce");
		json_builder_add_string_value(builder, nonce);
	}
	json_builder_set_member_name(builder, "url");
	json_builder_add_string_value(builder, url);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	return json_to_string(root, FALSE);
}

/**
 * me_jws_flattened:
 * @key: the private key that signs
 * @url: the exact URL the request goes to
 * @nonce: (nullable): a nonce from the server; %NULL only for the inner JWS of a key change
 * @kid: (nullable): the account URL; %NULL to send the public key as `jwk` instead
 * @payload: (nullable): the JSON payload; %NULL for POST-as-GET (an empty payload)
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the flattened JWS JSON serialization (RFC 7515 §7.2.2), or %NULL
 */
gchar *
me_jws_flattened(EVP_PKEY *key, const gchar *url, const gchar *nonce, const gchar *kid, const gchar *payload, GError **error)
{
	g_autofree gchar *header = NULL;
	g_autofree gchar *protected_b64 = NULL;
	g_autofree gchar *payload_b64 = NULL;
	g_autofree gchar *signature_b64 = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (me_jws_alg_for_key(key) == NULL) {
		set_unsupported_key(error);
		return NULL;
	}
	header = protected_header(key, url, nonce, kid, error);
	if (header == NULL)
		return NULL;
	protected_b64 = me_b64u_encode(header, strlen(header));
	payload_b64 = payload != NULL ? me_b64u_encode(payload, strlen(payload)) : g_strdup("");
	signature_b64 = me_jws_sign_input(key, protected_b64, payload_b64, error);
	if (signature_b64 == NULL)
		return NULL;
	return flattened_json(protected_b64, payload_b64, signature_b64);
}

/**
 * me_jws_eab:
 * @eab_kid: the key identifier the CA gave
 * @mac_key: the MAC key the CA gave (decoded)
 * @alg: (nullable): `HS256` (default), `HS384` or `HS512`
 * @url: the newAccount URL
 * @account_key: the account key being bound
 * @error: (nullable): return location
 *
 * The `externalAccountBinding` member of a newAccount payload (RFC 8555 §7.3.4): a JWS
 * over the account's public JWK, MACed with the CA's key, with no nonce.
 *
 * Returns: (transfer full): the JWS as JSON text, or %NULL with @error set
 */
gchar *
me_jws_eab(const gchar *eab_kid, GBytes *mac_key, const gchar *alg, const gchar *url, EVP_PKEY *account_key, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *header = NULL;
	g_autofree gchar *jwk = NULL;
	g_autofree gchar *protected_b64 = NULL;
	g_autofree gchar *payload_b64 = NULL;
	g_autofree gchar *mac_b64 = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (alg == NULL)
		alg = "HS256";
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "alg");
	json_builder_add_string_value(builder, alg);
	json_builder_set_member_name(builder, "kid");
	json_builder_add_string_value(builder, eab_kid);
	json_builder_set_member_name(builder, "url");
	json_builder_add_string_value(builder, url);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	header = json_to_string(root, FALSE);
	jwk = me_jwk_to_canonical(account_key, error);
	if (jwk == NULL)
		return NULL;
	protected_b64 = me_b64u_encode(header, strlen(header));
	payload_b64 = me_b64u_encode(jwk, strlen(jwk));
	mac_b64 = me_jws_hmac(alg, mac_key, protected_b64, payload_b64, error);
	if (mac_b64 == NULL)
		return NULL;
	return flattened_json(protected_b64, payload_b64, mac_b64);
}
