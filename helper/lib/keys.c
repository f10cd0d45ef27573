/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeKeys"

#include "config.h"

#include "keys.h"

#include <glib/gi18n-lib.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "autocleanups.h"

/* the largest PEM private key we read: RSA-8192 in PKCS#8 is about 6.5 KiB */
#define ME_KEY_PEM_MAX (64 * 1024)

static const struct {
	MeKeyType type;
	const gchar *name;
} key_names[] = {
    {ME_KEY_TYPE_EC_P256, "ec-p256"},
    {ME_KEY_TYPE_EC_P384, "ec-p384"},
    {ME_KEY_TYPE_RSA_2048, "rsa-2048"},
    {ME_KEY_TYPE_RSA_3072, "rsa-3072"},
    {ME_KEY_TYPE_RSA_4096, "rsa-4096"},
};

/**
 * me_crypto_set_error:
 * @error: (nullable): return location
 * @code: the #MeError code
 * @what: what failed, for a person
 *
 * Sets @error from the OpenSSL error queue, which it empties.  The queue's text goes to
 * the debug log: it helps a developer but means nothing to a person.
 */
void
me_crypto_set_error(GError **error, MeError code, const gchar *what)
{
	unsigned long err;
	gchar buf[256];

	while ((err = ERR_get_error()) != 0) {
		ERR_error_string_n(err, buf, sizeof(buf));
		g_debug("%s: %s", what, buf);
	}
	g_set_error_literal(error, ME_ERROR, code, what);
}

/**
 * me_key_type_to_string:
 * @type: a key type
 *
 * Returns: the name used in configuration and state, e.g. `ec-p256`
 */
const gchar *
me_key_type_to_string(MeKeyType type)
{
	for (gsize i = 0; i < G_N_ELEMENTS(key_names); i++) {
		if (key_names[i].type == type)
			return key_names[i].name;
	}
	return "unknown";
}

/**
 * me_key_type_from_string:
 * @text: (nullable): a name from me_key_type_to_string()
 *
 * Returns: the key type, or %ME_KEY_TYPE_UNKNOWN
 */
MeKeyType
me_key_type_from_string(const gchar *text)
{
	for (gsize i = 0; i < G_N_ELEMENTS(key_names); i++) {
		if (g_strcmp0(key_names[i].name, text) == 0)
			return key_names[i].type;
	}
	return ME_KEY_TYPE_UNKNOWN;
}

/**
 * me_key_generate:
 * @type: the key type
 * @error: (nullable): return location
 *
 * Returns: (transfer full): a new private key, or %NULL with @error set
 */
EVP_PKEY *
me_key_generate(MeKeyType type, GError **error)
{
	EVP_PKEY *key = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	switch (type) {
	case ME_KEY_TYPE_EC_P256:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ME_KEY_TYPE_EC_P384:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case ME_KEY_TYPE_RSA_2048:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ME_KEY_TYPE_RSA_3072:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case ME_KEY_TYPE_RSA_4096:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the configured key type is not one we know */
				    _("This key type is not supported; choose ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096."));
		return NULL;
	}
	if (key == NULL) {
		/* TRANSLATORS: generating a private key failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The private key could not be generated."));
		return NULL;
	}
	return key;
}

static MeKeyType
ec_key_type(EVP_PKEY *key)
{
	gchar group[32] = {0};
	size_t len = 0;

	if (!EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len))
		return ME_KEY_TYPE_UNKNOWN;
	if (g_strcmp0(group, "prime256v1") == 0 || g_strcmp0(group, "P-256") == 0)
		return ME_KEY_TYPE_EC_P256;
	if (g_strcmp0(group, "secp384r1") == 0 || g_strcmp0(group, "P-384") == 0)
		return ME_KEY_TYPE_EC_P384;
	return ME_KEY_TYPE_UNKNOWN;
}

/**
 * me_key_get_type:
 * @key: a key
 *
 * Returns: its type, or %ME_KEY_TYPE_UNKNOWN for keys we do not make (RSA of another size
 * counts as unknown, though jws.c can still sign with any RSA key of 2048 bits or more)
 */
MeKeyType
me_key_get_type(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "EC"))
		return ec_key_type(key);
	if (EVP_PKEY_is_a(key, "RSA")) {
		switch (EVP_PKEY_get_bits(key)) {
		case 2048:
			return ME_KEY_TYPE_RSA_2048;
		case 3072:
			return ME_KEY_TYPE_RSA_3072;
		case 4096:
			return ME_KEY_TYPE_RSA_4096;
		default:
			return ME_KEY_TYPE_UNKNOWN;
		}
	}
	return ME_KEY_TYPE_UNKNOWN;
}

/**
 * me_key_to_pem:
 * @key: a private key
 * @error: (nullable): return location
 *
 * Serialises @key as unencrypted PKCS#8 PEM, for the keyring only.
 *
 * Returns: (transfer full): the PEM, wiped when freed with me_secret_str_free()
 */
MeSecretStr *
me_key_to_pem(EVP_PKEY *key, GError **error)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_secmem());
	BUF_MEM *mem = NULL;
	MeSecretStr *pem;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		/* TRANSLATORS: turning a private key into text for storage failed */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The private key could not be serialised."));
		return NULL;
	}
	BIO_get_mem_ptr(bio, &mem);
	pem = g_malloc(mem->length + 1);
	memcpy(pem, mem->data, mem->length); /* nocheck:blocked: sized from the BIO itself */
	pem[mem->length] = '\0';
	return pem;
}

/* the key type of a PKCS#8 PrivateKeyInfo, from its algorithm; %NULL for another */
static const gchar *
pkcs8_key_type(const guchar *der, long len)
{
	const guchar *p = der;
	g_autoptr(PKCS8_PRIV_KEY_INFO) info = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
	const ASN1_OBJECT *algorithm = NULL;

	if (info == NULL || !PKCS8_pkey_get0(&algorithm, NULL, NULL, NULL, info))
		return NULL;
	switch (OBJ_obj2nid(algorithm)) {
	case NID_X9_62_id_ecPublicKey:
		return "EC";
	case NID_rsaEncryption:
		return "RSA";
	default:
		return NULL;
	}
}

/*
 * The PKCS#8 PEM that me_key_to_pem() writes, read with a decoder told the input (DER), the
 * structure (PrivateKeyInfo) and the key type.  PEM_read_bio_PrivateKey() gives OpenSSL 3.0
 * none of these, so it gathers and chains every decoder of every provider first: about 3 of
 * the 13.7 million instructions a process spends reading its first key (callgrind,
 * tests/bench/RESULTS.md).  %NULL for anything else; the caller then takes the general path.
 */
static EVP_PKEY *
key_from_pkcs8_pem(const gchar *pem, gsize len)
{
	g_autoptr(BIO) bio = BIO_new_mem_buf(pem, (int)len);
	g_autoptr(OSSL_DECODER_CTX) decoder = NULL;
	char *name = NULL;
	char *header = NULL;
	guchar *der = NULL;
	long der_len = 0;
	const gchar *type = NULL;
	EVP_PKEY *key = NULL;

	if (bio == NULL || !PEM_read_bio(bio, &name, &header, &der, &der_len)) {
		ERR_clear_error();
		return NULL;
	}
	if (strcmp(name, PEM_STRING_PKCS8INF) == 0 && header[0] == '\0')
		type = pkcs8_key_type(der, der_len);
	if (type != NULL)
		decoder = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "PrivateKeyInfo", type, EVP_PKEY_KEYPAIR, NULL, NULL);
	if (decoder != NULL) {
		const guchar *p = der;
		gsize left = (gsize)der_len;
		if (!OSSL_DECODER_from_data(decoder, &p, &left) || left != 0) {
			EVP_PKEY_free(key);
			key = NULL;
		}
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	/* the DER is the private key */
	OPENSSL_clear_free(der, (gsize)der_len);
	ERR_clear_error();
	return key;
}

/**
 * me_key_from_pem:
 * @pem: PEM text of a private key (PKCS#8 or the traditional forms)
 * @len: its length, or -1 if NUL-terminated
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the key, or %NULL with @error set
 */
EVP_PKEY *
me_key_from_pem(const gchar *pem, gsize len, GError **error)
{
	g_autoptr(BIO) bio = NULL;
	EVP_PKEY *key;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (len == (gsize)-1)
		len = strnlen(pem, ME_KEY_PEM_MAX + 1);
	if (len > ME_KEY_PEM_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_TOO_LARGE,
				    /* TRANSLATORS: a stored private key is implausibly large */
				    _("The stored private key is too large to be genuine."));
		return NULL;
	}
	key = key_from_pkcs8_pem(pem, len);
	if (key != NULL)
		return key;
	bio = BIO_new_mem_buf(pem, (int)len);
	key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (key == NULL) {
		/* TRANSLATORS: a stored private key could not be read back */
		me_crypto_set_error(error, ME_ERROR_INVALID_DATA, _("The stored private key is damaged and cannot be read."));
		return NULL;
	}
	return key;
}

/**
 * me_key_public_equal:
 * @a: a key
 * @b: another key
 *
 * Returns: %TRUE if both have the same public key
 */
gboolean
me_key_public_equal(EVP_PKEY *a, EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}

/**
 * me_key_check_distinct:
 * @account_key: the ACME account key
 * @cert_key: the key the certificate is requested for
 * @error: (nullable): return location
 *
 * Refuses to use one key for both: a certificate key that also signs ACME requests would
 * let whoever holds the certificate act for the account (RFC 8555 §11.1).
 *
 * Returns: %TRUE if the two public keys differ
 */
gboolean
me_key_check_distinct(EVP_PKEY *account_key, EVP_PKEY *cert_key, GError **error)
{
	g_return_val_if_fail(account_key != NULL, FALSE);
	g_return_val_if_fail(cert_key != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	if (account_key == cert_key || me_key_public_equal(account_key, cert_key)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the key for the certificate is the key of the ACME account */
				    _("The certificate key is the same as the account key; generate a separate key for the certificate."));
		return FALSE;
	}

	/* success */
	return TRUE;
}

static const struct {
	MeKeyUsage usage;
	const gchar *name;
} usage_names[] = {
    {ME_KEY_USAGE_SIGNING, "signing"},
    {ME_KEY_USAGE_ENCRYPTION, "encryption"},
    {ME_KEY_USAGE_DUAL, "dual"},
};

/**
 * me_key_usage_to_string:
 * @usage: a usage
 *
 * Returns: the name used in configuration and state: `signing`, `encryption` or `dual`
 */
const gchar *
me_key_usage_to_string(MeKeyUsage usage)
{
	for (gsize i = 0; i < G_N_ELEMENTS(usage_names); i++) {
		if (usage_names[i].usage == usage)
			return usage_names[i].name;
	}
	return "unknown";
}

/**
 * me_key_usage_from_string:
 * @text: (nullable): a name from me_key_usage_to_string()
 *
 * Returns: the usage, or %ME_KEY_USAGE_UNKNOWN
 */
MeKeyUsage
me_key_usage_from_string(const gchar *text)
{
	for (gsize i = 0; i < G_N_ELEMENTS(usage_names); i++) {
		if (g_strcmp0(usage_names[i].name, text) == 0)
			return usage_names[i].usage;
	}
	return ME_KEY_USAGE_UNKNOWN;
}

static gboolean
key_type_is_rsa(MeKeyType type)
{
	return type == ME_KEY_TYPE_RSA_2048 || type == ME_KEY_TYPE_RSA_3072 || type == ME_KEY_TYPE_RSA_4096;
}

static gboolean
key_type_is_ec(MeKeyType type)
{
	return type == ME_KEY_TYPE_EC_P256 || type == ME_KEY_TYPE_EC_P384;
}

/* the key management bit of the BR: RSA encrypts the content key, EC agrees on it */
static guint32
key_management_bit(MeKeyType type)
{
	if (key_type_is_rsa(type))
		return KU_KEY_ENCIPHERMENT;
	if (key_type_is_ec(type))
		return KU_KEY_AGREEMENT;
	return 0;
}

/**
 * me_key_usage_get_bits:
 * @type: the certificate key's type
 * @usage: what the certificate is for
 *
 * The Key Usage to ask for, as in the table at #MeKeyUsage.
 *
 * Returns: OpenSSL `KU_*` bits (as X509_get_key_usage() returns them), or 0 if @type or
 * @usage is unknown
 */
guint32
me_key_usage_get_bits(MeKeyType type, MeKeyUsage usage)
{
	guint32 management = key_management_bit(type);

	if (management == 0)
		return 0;
	switch (usage) {
	case ME_KEY_USAGE_SIGNING:
		return KU_DIGITAL_SIGNATURE;
	case ME_KEY_USAGE_ENCRYPTION:
		return management;
	case ME_KEY_USAGE_DUAL:
		return KU_DIGITAL_SIGNATURE | management;
	default:
		return 0;
	}
}

/**
 * me_key_usage_get_allowed_bits:
 * @type: the certificate key's type
 *
 * Every Key Usage bit the S/MIME BR let a subscriber certificate with this key have:
 * digitalSignature and nonRepudiation, plus keyEncipherment and dataEncipherment for RSA,
 * or keyAgreement, encipherOnly and decipherOnly for EC.  Any other bit SHALL NOT be set.
 *
 * Returns: OpenSSL `KU_*` bits, or 0 if @type is unknown
 */
guint32
me_key_usage_get_allowed_bits(MeKeyType type)
{
	const guint32 signing = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;

	if (key_type_is_rsa(type))
		return signing | KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT;
	if (key_type_is_ec(type))
		return signing | KU_KEY_AGREEMENT | KU_ENCIPHER_ONLY | KU_DECIPHER_ONLY;
	return 0;
}
