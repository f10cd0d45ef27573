/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestJws"

#include "config.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <string.h>

#include "autocleanups.h"
#include "encoding.h"
#include "jws.h"
#include "keys.h"
#include "me-error.h"
#include "secmem.h"
#include "test-util.h"

/* the payload the RFC 7515 appendix examples share; its CRLFs must survive untouched */
#define RFC7515_PAYLOAD                                                                            \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0" \
	"cnVlfQ"

/* RFC 7515 A.1: HS256 */
#define A1_K "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
#define A1_PROTECTED "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
#define A1_SIGNATURE "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

/* RFC 7515 A.2: RS256; PKCS#1 v1.5 is deterministic, so the signature can be compared */
#define A2_N                                                                                       \
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0B" \
	"m4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5" \
	"z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7" \
	"aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_E "AQAB"
#define A2_D                                                                                       \
	"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2N" \
	"XOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M" \
	"_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x" \
	"_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"
#define A2_P                                                                                       \
	"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py" \
	"5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
#define A2_Q                                                                                       \
	"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQ" \
	"eZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
#define A2_DP                                                                                      \
	"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu" \
	"1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"
#define A2_DQ                                                                                      \
	"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0a" \
	"jaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"
#define A2_QI                                                                                      \
	"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY" \
	"7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
#define A2_PUBLIC_JWK "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"" A2_E "\"}"
#define A2_PRIVATE_JWK                                                                             \
	"{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"" A2_E "\",\"d\":\"" A2_D "\",\"p\":\"" A2_P      \
	"\",\"q\":\"" A2_Q "\",\"dp\":\"" A2_DP "\",\"dq\":\"" A2_DQ "\",\"qi\":\"" A2_QI "\"}"
#define A2_CANONICAL "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" A2_N "\"}"
#define A2_PROTECTED "eyJhbGciOiJSUzI1NiJ9"
#define A2_SIGNATURE                                                                               \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2F" \
	"p5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQB" \
	"MHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeY" \
	"I2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
#define A2_THUMBPRINT "IsUn6_e04MaShXFIISMp4kG62LWzMIPy_MvSA5pJgX8"

/* RFC 7515 A.3: ES256; ECDSA is randomized, so only verification has a fixed answer */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define A3_PUBLIC_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}"
#define A3_PRIVATE_JWK                                                                             \
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\",\"d\":\"" A3_D "\"}"
#define A3_CANONICAL                                                                               \
	"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","   \
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define A3_THUMBPRINT "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
#define A3_PROTECTED "eyJhbGciOiJFUzI1NiJ9"
#define A3_SIGNATURE "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

/* RFC 7638 §3.1: the source JWK carries alg and kid, which the thumbprint must drop */
#define RFC7638_N                                                                                  \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE" \
	"CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q" \
	"vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6" \
	"WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JWK                                                                                \
	"{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}"
#define RFC7638_CANONICAL "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}"
#define RFC7638_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* a P-384 key whose x has a leading zero octet: searching for one takes about 256 key
 * generations, too slow under valgrind, so it was found once with Python's cryptography
 * package, which also computed the thumbprint */
#define P384Z_X "AMRjArSO6-y0Mo9xhrUdS_wrXLGnW5d17MTwDoiJEl7XJzU1CjzMYrg-gVXGunsd"
#define P384Z_Y "BjDR65CYUd-SufV-Lr2IkHJu6B3Qw7PpymUOi7PhRdTwRrHUEgL04gfyOautKp9P"
#define P384Z_D "u81MVk9buEt541NPYJyHF58Px5KFlkw9nlKSInCOSMSMkgEWtcJmXb429ulaINOG"
#define P384Z_JWK                                                                                  \
	"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" P384Z_X "\",\"y\":\"" P384Z_Y "\",\"d\":\"" P384Z_D "\"}"
#define P384Z_THUMBPRINT "gBcKSt_jdzSW4uhDEiKs2ryoSBqbipmV1sU8B3-X31U"

#define TEST_URL "https://ca.example/acme/order/42?a=1&b=/x"
#define TEST_NONCE "oFvnlFP1wIhRlYS2jTaXbA"
#define TEST_KID "https://ca.example/acme/acct/7"
#define TEST_EAB_KID "kid-1"
#define TEST_NEW_ACCOUNT "https://ca.example/acme/new-account"

static JsonNode *
parse_object(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_from_string(text, &error);

	g_assert_no_error(error);
	g_assert_nonnull(node);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
	return node;
}

static EVP_PKEY *
key_from_jwk(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = parse_object(text);
	EVP_PKEY *key = me_jwk_to_key(json_node_get_object(node), &error);

	g_assert_no_error(error);
	g_assert_nonnull(key);
	return key;
}

/* keys are slow to make under valgrind, so each kind is made once and shared */
static EVP_PKEY *key_cache[ME_KEY_TYPE_RSA_4096 + 1];
static EVP_PKEY *short_x_cache[ME_KEY_TYPE_RSA_4096 + 1];

static EVP_PKEY *
cached_key(MeKeyType type)
{
	g_autoptr(GError) error = NULL;

	if (key_cache[type] != NULL)
		return key_cache[type];
	/* making an RSA-2048 key takes 15-40 s under valgrind; the A.2 key is one too */
	if (type == ME_KEY_TYPE_RSA_2048)
		key_cache[type] = key_from_jwk(A2_PRIVATE_JWK);
	else
		key_cache[type] = me_key_generate(type, &error);
	g_assert_no_error(error);
	g_assert_cmpint(me_key_get_type(key_cache[type]), ==, type);
	return key_cache[type];
}

static void
key_cache_clear(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(key_cache); i++) {
		g_clear_pointer(&key_cache[i], EVP_PKEY_free);
		g_clear_pointer(&short_x_cache[i], EVP_PKEY_free);
	}
}

static GBytes *
b64u_decode_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	GBytes *bytes = me_b64u_decode(text, 8192, &error);

	g_assert_no_error(error);
	g_assert_nonnull(bytes);
	return bytes;
}

static gchar *
bytes_to_str(GBytes *bytes)
{
	return g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

static gchar *
bytes_to_hex(GBytes *bytes)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);
	GString *hex = g_string_new(NULL);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(hex, "%02x", data[i]);
	return g_string_free(hex, FALSE);
}

/* base64url from GLib alone, so the reference values do not lean on the code under test */
static gchar *
ref_b64u(gconstpointer data, gsize len)
{
	gchar *text = g_base64_encode(data, len);
	gchar *end = strchr(text, '=');

	if (end != NULL)
		*end = '\0';
	g_strdelimit(text, "+", '-');
	g_strdelimit(text, "/", '_');
	return text;
}

/* an RFC 7638 thumbprint with GLib's SHA-256 */
static gchar *
ref_thumbprint(const gchar *canonical)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize len = sizeof(digest);

	g_checksum_update(sum, (const guchar *)canonical, -1);
	g_checksum_get_digest(sum, digest, &len);
	return ref_b64u(digest, len);
}

/* a key parameter as base64url: padded to @pad_to bytes, or minimal when it is 0 */
static gchar *
ref_bn_b64u(EVP_PKEY *key, const gchar *param, gint pad_to)
{
	g_autoptr(BIGNUM) bn = NULL;
	guint8 buf[1024];
	gint len;

	g_assert_true(EVP_PKEY_get_bn_param(key, param, &bn));
	len = pad_to > 0 ? pad_to : BN_num_bytes(bn);
	g_assert_cmpint(len, <=, (gint)sizeof(buf));
	g_assert_cmpint(BN_bn2binpad(bn, buf, len), ==, len);
	return ref_b64u(buf, len);
}

static gchar *
ref_ec_canonical(EVP_PKEY *key, const gchar *crv, gint coord)
{
	g_autofree gchar *x = ref_bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_X, coord);
	g_autofree gchar *y = ref_bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord);
	return g_strdup_printf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv, x, y);
}

/* the sorted member names of an object, comma-joined: its exact shape in one string */
static gchar *
member_names(JsonObject *obj)
{
	g_autoptr(GList) names = g_list_sort(json_object_get_members(obj), (GCompareFunc)g_strcmp0);
	GString *out = g_string_new(NULL);

	for (GList *l = names; l != NULL; l = l->next)
		g_string_append_printf(out, "%s%s", out->len > 0 ? "," : "", (const gchar *)l->data);
	return g_string_free(out, FALSE);
}

static void
assert_members(JsonObject *obj, const gchar *expected)
{
	g_autofree gchar *names = member_names(obj);
	g_assert_cmpstr(names, ==, expected);
}

/* decodes a base64url member and parses it as a JSON object */
static JsonNode *
decode_json_member(JsonObject *obj, const gchar *member)
{
	g_autoptr(GBytes) bytes = b64u_decode_ok(json_object_get_string_member(obj, member));
	g_autofree gchar *text = bytes_to_str(bytes);
	return parse_object(text);
}

static gchar *
flip_bit(const gchar *b64, gsize bit)
{
	g_autoptr(GBytes) bytes = b64u_decode_ok(b64);
	gsize len = 0;
	g_autofree guint8 *buf = g_bytes_unref_to_data(g_steal_pointer(&bytes), &len);

	g_assert_cmpuint(bit / 8, <, len);
	buf[bit / 8] ^= (guint8)(1u << (bit % 8));
	return me_b64u_encode(buf, len);
}

/* ---- HMAC (RFC 7515 A.1) */

static GBytes *
a1_key(void)
{
	g_autoptr(GError) error = NULL;
	GBytes *key = me_b64u_decode_secret(A1_K, 512, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(g_bytes_get_size(key), ==, 64);
	return key;
}

static void
test_hmac_rfc7515_a1(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = a1_key();
	g_autofree gchar *mac = me_jws_hmac("HS256", key, A1_PROTECTED, RFC7515_PAYLOAD, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(mac, ==, A1_SIGNATURE);
}

typedef struct {
	const gchar *alg;
	GChecksumType checksum;
	gsize mac_len;
} HmacCase;

static const HmacCase hmac_cases[] = {
    {"HS256", G_CHECKSUM_SHA256, 32},
    {"HS384", G_CHECKSUM_SHA384, 48},
    {"HS512", G_CHECKSUM_SHA512, 64},
};

/* the MAC of each algorithm has its size and equals GLib's HMAC over the signing input */
static void
test_hmac_sizes(void)
{
	g_autoptr(GBytes) key = a1_key();
	g_autofree gchar *input = g_strconcat(A1_PROTECTED, ".", RFC7515_PAYLOAD, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(hmac_cases); i++) {
		const HmacCase *tc = &hmac_cases[i];
		g_autoptr(GError) error = NULL;
		g_autofree gchar *mac = me_jws_hmac(tc->alg, key, A1_PROTECTED, RFC7515_PAYLOAD, &error);
		g_autoptr(GBytes) raw = NULL;
		g_autofree gchar *hex = NULL;
		g_autofree gchar *want = g_compute_hmac_for_data(tc->checksum, g_bytes_get_data(key, NULL),
								 g_bytes_get_size(key), (const guchar *)input,
								 strlen(input));

		g_test_message("%s", tc->alg);
		g_assert_no_error(error);
		raw = b64u_decode_ok(mac);
		g_assert_cmpuint(g_bytes_get_size(raw), ==, tc->mac_len);
		hex = bytes_to_hex(raw);
		g_assert_cmpstr(hex, ==, want);
	}
}

static void
test_hmac_errors(void)
{
	static const gchar *bad_algs[] = {"HS1", "hs256", "none", "RS256", "ES256", ""};
	g_autoptr(GBytes) key = a1_key();
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *mac = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(bad_algs); i++) {
		g_autoptr(GError) alg_error = NULL;
		g_autofree gchar *bad = me_jws_hmac(bad_algs[i], key, A1_PROTECTED, RFC7515_PAYLOAD, &alg_error);
		g_test_message("alg \"%s\"", bad_algs[i]);
		g_assert_null(bad);
		g_assert_error(alg_error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	}
	mac = me_jws_hmac("HS256", empty, A1_PROTECTED, RFC7515_PAYLOAD, &error);
	g_assert_null(mac);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
}

/* ---- RS256 (RFC 7515 A.2) */

static void
test_sign_rfc7515_a2(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(A2_PRIVATE_JWK);
	g_autofree gchar *sig = NULL;

	g_assert_cmpstr(me_jws_alg_for_key(key), ==, "RS256");
	sig = me_jws_sign_input(key, A2_PROTECTED, RFC7515_PAYLOAD, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(sig, ==, A2_SIGNATURE);
}

static void
test_verify_rfc7515_a2(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(A2_PUBLIC_JWK);
	gsize bits[] = {0, 7, 1000, 2047};

	g_assert_true(me_jws_verify(key, "RS256", A2_PROTECTED, RFC7515_PAYLOAD, A2_SIGNATURE, &error));
	g_assert_no_error(error);
	for (gsize i = 0; i < G_N_ELEMENTS(bits); i++) {
		g_autoptr(GError) flip_error = NULL;
		g_autofree gchar *flipped = flip_bit(A2_SIGNATURE, bits[i]);
		g_test_message("bit %" G_GSIZE_FORMAT, bits[i]);
		g_assert_false(me_jws_verify(key, "RS256", A2_PROTECTED, RFC7515_PAYLOAD, flipped, &flip_error));
		g_assert_error(flip_error, ME_ERROR, ME_ERROR_CRYPTO);
	}
}

/* ---- ES256 (RFC 7515 A.3) */

static gchar *
raw_sig_to_der(const gchar *raw_b64, gsize coord)
{
	g_autoptr(GBytes) raw = b64u_decode_ok(raw_b64);
	const guint8 *data = g_bytes_get_data(raw, NULL);
	g_autoptr(ECDSA_SIG) sig = ECDSA_SIG_new();
	guchar *der = NULL;
	gint der_len;
	gchar *text;

	g_assert_cmpuint(g_bytes_get_size(raw), ==, 2 * coord);
	g_assert_true(ECDSA_SIG_set0(sig, BN_bin2bn(data, (gint)coord, NULL), BN_bin2bn(data + coord, (gint)coord, NULL)));
	der_len = i2d_ECDSA_SIG(sig, &der);
	g_assert_cmpint(der_len, >, 0);
	text = me_b64u_encode(der, der_len);
	OPENSSL_free(der);
	return text;
}

static void
assert_verify_fails(EVP_PKEY *key, const gchar *alg, const gchar *protected_b64, const gchar *payload_b64,
		    const gchar *signature_b64, gint code)
{
	g_autoptr(GError) error = NULL;
	g_assert_false(me_jws_verify(key, alg, protected_b64, payload_b64, signature_b64, &error));
	g_assert_error(error, ME_ERROR, code);
}

static void
test_verify_rfc7515_a3(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PUBLIC_JWK);

	g_assert_cmpstr(me_jws_alg_for_key(key), ==, "ES256");
	g_assert_true(me_jws_verify(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, A3_SIGNATURE, &error));
	g_assert_no_error(error);
}

static void
test_verify_rfc7515_a3_tampered(void)
{
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PUBLIC_JWK);
	g_autofree gchar *payload = g_strdup(RFC7515_PAYLOAD);
	g_autofree gchar *header = g_strdup(A3_PROTECTED);
	g_autofree gchar *flipped = flip_bit(A3_SIGNATURE, 300);

	payload[20] = payload[20] == 'A' ? 'B' : 'A';
	assert_verify_fails(key, "ES256", A3_PROTECTED, payload, A3_SIGNATURE, ME_ERROR_CRYPTO);
	header[5] = header[5] == 'A' ? 'B' : 'A';
	assert_verify_fails(key, "ES256", header, RFC7515_PAYLOAD, A3_SIGNATURE, ME_ERROR_CRYPTO);
	assert_verify_fails(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, flipped, ME_ERROR_CRYPTO);
	/* the same bytes, but the payload is not part of what was signed */
	assert_verify_fails(key, "ES256", A3_PROTECTED, "", A3_SIGNATURE, ME_ERROR_CRYPTO);
}

/* JWS ECDSA signatures are R‖S of fixed size (RFC 7518 §3.4): DER and odd sizes are refused */
static void
test_verify_rfc7515_a3_format(void)
{
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PUBLIC_JWK);
	g_autofree gchar *der = raw_sig_to_der(A3_SIGNATURE, 32);
	g_autofree gchar *truncated = g_strndup(A3_SIGNATURE, 83);
	g_autofree gchar *padded = g_strconcat(A3_SIGNATURE, "==", NULL);

	assert_verify_fails(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, der, ME_ERROR_INVALID_DATA);
	assert_verify_fails(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, truncated, ME_ERROR_INVALID_DATA);
	assert_verify_fails(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, padded, ME_ERROR_INVALID_DATA);
	assert_verify_fails(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, "", ME_ERROR_INVALID_DATA);
	assert_verify_fails(key, "HS256", A3_PROTECTED, RFC7515_PAYLOAD, A3_SIGNATURE, ME_ERROR_NOT_SUPPORTED);
	assert_verify_fails(key, "none", A3_PROTECTED, RFC7515_PAYLOAD, A3_SIGNATURE, ME_ERROR_NOT_SUPPORTED);
}

static void
test_sign_rfc7515_a3(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PRIVATE_JWK);
	g_autoptr(EVP_PKEY) pub = key_from_jwk(A3_PUBLIC_JWK);
	g_autofree gchar *sig = me_jws_sign_input(key, A3_PROTECTED, RFC7515_PAYLOAD, &error);
	g_autoptr(GBytes) raw = NULL;

	g_assert_no_error(error);
	g_assert_true(me_key_public_equal(key, pub));
	g_assert_cmpuint(strlen(sig), ==, 86);
	raw = b64u_decode_ok(sig);
	g_assert_cmpuint(g_bytes_get_size(raw), ==, 64);
	g_assert_true(me_jws_verify(pub, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, sig, &error));
	g_assert_no_error(error);
}

/* about one signature in 128 has R or S below 2^248: those must keep their zero octets */
static void
test_sign_es256_short_r(void)
{
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PRIVATE_JWK);

	for (guint i = 0; i < 5000; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *sig = me_jws_sign_input(key, A3_PROTECTED, RFC7515_PAYLOAD, &error);
		g_autoptr(GBytes) raw = NULL;
		const guint8 *data;

		g_assert_no_error(error);
		g_assert_cmpuint(strlen(sig), ==, 86);
		raw = b64u_decode_ok(sig);
		g_assert_cmpuint(g_bytes_get_size(raw), ==, 64);
		data = g_bytes_get_data(raw, NULL);
		if (data[0] != 0 && data[32] != 0)
			continue;
		g_test_message("short R or S after %u signatures", i + 1);
		g_assert_true(me_jws_verify(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, sig, &error));
		g_assert_no_error(error);
		return;
	}
	g_assert_not_reached();
}

static gchar *
sign_der(EVP_PKEY *key, const gchar *digest, const gchar *input)
{
	g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
	guint8 sig[1024];
	gsize sig_len = sizeof(sig);

	g_assert_cmpint(EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, key, NULL), ==, 1);
	g_assert_cmpint(EVP_DigestSign(md, sig, &sig_len, (const guchar *)input, strlen(input)), ==, 1);
	return me_b64u_encode(sig, sig_len);
}

static gchar *
der_sig_to_raw(const gchar *der_b64, gint coord)
{
	g_autoptr(GBytes) der = b64u_decode_ok(der_b64);
	const guchar *p = g_bytes_get_data(der, NULL);
	g_autoptr(ECDSA_SIG) sig = d2i_ECDSA_SIG(NULL, &p, (long)g_bytes_get_size(der));
	guint8 raw[2 * 66];

	g_assert_nonnull(sig);
	g_assert_cmpint(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, coord), ==, coord);
	g_assert_cmpint(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + coord, coord), ==, coord);
	return me_b64u_encode(raw, 2 * coord);
}

/* one key, one algorithm (RFC 8725 §3.1): the header's alg may not pick how a key verifies */
static void
test_verify_alg_key_mismatch(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(A3_PRIVATE_JWK);
	g_autoptr(EVP_PKEY) rsa = key_from_jwk(A2_PUBLIC_JWK);
	g_autofree gchar *input = g_strconcat(A3_PROTECTED, ".", RFC7515_PAYLOAD, NULL);
	g_autofree gchar *der256 = sign_der(key, "SHA256", input);
	g_autofree gchar *der384 = sign_der(key, "SHA384", input);
	g_autofree gchar *raw256 = der_sig_to_raw(der256, 32);
	g_autofree gchar *raw384 = der_sig_to_raw(der384, 48);

	/* the signatures are genuine: in the right form they verify */
	g_assert_true(me_jws_verify(key, "ES256", A3_PROTECTED, RFC7515_PAYLOAD, raw256, &error));
	g_assert_no_error(error);
	/* a DER ECDSA signature under "RS256", a P-256 key under "ES384", an RSA key under "ES256" */
	assert_verify_fails(key, "RS256", A3_PROTECTED, RFC7515_PAYLOAD, der256, ME_ERROR_INVALID_DATA);
	assert_verify_fails(key, "ES384", A3_PROTECTED, RFC7515_PAYLOAD, raw384, ME_ERROR_INVALID_DATA);
	assert_verify_fails(rsa, "ES256", A2_PROTECTED, RFC7515_PAYLOAD, raw256, ME_ERROR_INVALID_DATA);
}

/* ---- thumbprints (RFC 7638) */

typedef struct {
	const gchar *path;
	const gchar *jwk;
	const gchar *canonical;
	const gchar *thumbprint;
} ThumbprintCase;

static const ThumbprintCase thumbprint_cases[] = {
    {"/jws/thumbprint/rfc7638", RFC7638_JWK, RFC7638_CANONICAL, RFC7638_THUMBPRINT},
    {"/jws/thumbprint/rfc7515-a2", A2_PRIVATE_JWK, A2_CANONICAL, A2_THUMBPRINT},
    {"/jws/thumbprint/rfc7515-a3", A3_PRIVATE_JWK, A3_CANONICAL, A3_THUMBPRINT},
};

static void
test_thumbprint(gconstpointer user_data)
{
	const ThumbprintCase *tc = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_from_jwk(tc->jwk);
	g_autofree gchar *canonical = me_jwk_to_canonical(key, &error);
	g_autofree gchar *thumbprint = NULL;
	g_autofree gchar *reference = ref_thumbprint(tc->canonical);
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *node_text = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(canonical, ==, tc->canonical);
	thumbprint = me_jwk_thumbprint(key, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(thumbprint, ==, tc->thumbprint);
	g_assert_cmpstr(reference, ==, tc->thumbprint);
	node = me_jwk_new(key, &error);
	g_assert_no_error(error);
	node_text = json_to_string(node, FALSE);
	g_assert_cmpstr(node_text, ==, tc->canonical);
}

/* ---- coordinate lengths (RFC 7518 §6.2.1.2, §6.3.1.1) */

static EVP_PKEY *
short_x_key(MeKeyType type, gint coord)
{
	if (short_x_cache[type] != NULL)
		return short_x_cache[type];
	for (guint i = 0; i < 20000; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(EVP_PKEY) key = me_key_generate(type, &error);
		g_autoptr(BIGNUM) x = NULL;

		g_assert_no_error(error);
		g_assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x));
		if (BN_num_bytes(x) < coord) {
			g_test_message("x with a leading zero octet after %u keys", i + 1);
			short_x_cache[type] = g_steal_pointer(&key);
			return short_x_cache[type];
		}
	}
	g_assert_not_reached();
	return NULL;
}

typedef struct {
	const gchar *path;
	MeKeyType type;
	const gchar *crv;
	gint coord;
	gboolean short_x;
	const gchar *jwk;	 /* a fixed key, or NULL to generate one */
	const gchar *thumbprint; /* the fixed key's thumbprint */
} EcJwkCase;

static const EcJwkCase ec_jwk_cases[] = {
    {"/jws/jwk/p256-leading-zero", ME_KEY_TYPE_EC_P256, "P-256", 32, TRUE, NULL, NULL},
    {"/jws/jwk/p256-random", ME_KEY_TYPE_EC_P256, "P-256", 32, FALSE, NULL, NULL},
    {"/jws/jwk/p384-leading-zero", ME_KEY_TYPE_EC_P384, "P-384", 48, TRUE, P384Z_JWK, P384Z_THUMBPRINT},
    {"/jws/jwk/p384-random", ME_KEY_TYPE_EC_P384, "P-384", 48, FALSE, NULL, NULL},
};

static EVP_PKEY *
ec_case_key(const EcJwkCase *tc, EVP_PKEY **owned)
{
	if (tc->jwk != NULL) {
		*owned = key_from_jwk(tc->jwk);
		return *owned;
	}
	return tc->short_x ? short_x_key(tc->type, tc->coord) : cached_key(tc->type);
}

static void
assert_coord(JsonObject *jwk, const gchar *member, gint coord, gboolean leading_zero)
{
	g_autoptr(GBytes) bytes = b64u_decode_ok(json_object_get_string_member(jwk, member));
	const guint8 *data = g_bytes_get_data(bytes, NULL);

	g_assert_cmpuint(g_bytes_get_size(bytes), ==, (gsize)coord);
	if (leading_zero)
		g_assert_cmpuint(data[0], ==, 0);
}

static void
test_ec_jwk(gconstpointer user_data)
{
	const EcJwkCase *tc = user_data;
	g_autoptr(EVP_PKEY) owned = NULL;
	EVP_PKEY *key = ec_case_key(tc, &owned);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *canonical = me_jwk_to_canonical(key, &error);
	g_autofree gchar *reference = ref_ec_canonical(key, tc->crv, tc->coord);
	g_autofree gchar *ref_thumb = ref_thumbprint(reference);
	g_autofree gchar *thumbprint = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(EVP_PKEY) back = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(canonical, ==, reference);
	node = parse_object(canonical);
	assert_coord(json_node_get_object(node), "x", tc->coord, tc->short_x);
	assert_coord(json_node_get_object(node), "y", tc->coord, FALSE);
	thumbprint = me_jwk_thumbprint(key, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(thumbprint, ==, ref_thumb);
	if (tc->thumbprint != NULL)
		g_assert_cmpstr(thumbprint, ==, tc->thumbprint);
	back = me_jwk_to_key(json_node_get_object(node), &error);
	g_assert_no_error(error);
	g_assert_true(me_key_public_equal(back, key));
}

/* RSA n and e are minimal: no leading zero octet, e=65537 is "AQAB"; the top bit of n is
 * set, so a DER-style sign octet would show */
static void
test_rsa_jwk(void)
{
	EVP_PKEY *key = cached_key(ME_KEY_TYPE_RSA_2048);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *canonical = me_jwk_to_canonical(key, &error);
	g_autofree gchar *n = ref_bn_b64u(key, OSSL_PKEY_PARAM_RSA_N, 0);
	g_autofree gchar *reference = g_strdup_printf("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", n);
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GBytes) n_bytes = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(canonical, ==, reference);
	node = parse_object(canonical);
	n_bytes = b64u_decode_ok(json_object_get_string_member(json_node_get_object(node), "n"));
	g_assert_cmpuint(g_bytes_get_size(n_bytes), ==, 256);
	g_assert_cmpuint(((const guint8 *)g_bytes_get_data(n_bytes, NULL))[0], !=, 0);
}

typedef struct {
	const gchar *what;
	const gchar *jwk;
	gint code;
} JwkRejectCase;

#define EC_JWK(crv, x, y) "{\"kty\":\"EC\",\"crv\":\"" crv "\",\"x\":\"" x "\",\"y\":\"" y "\"}"

static const JwkRejectCase jwk_rejects[] = {
    {"oct key", "{\"kty\":\"oct\",\"k\":\"" A1_K "\"}", ME_ERROR_NOT_SUPPORTED},
    {"no kty", "{\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", ME_ERROR_NOT_SUPPORTED},
    {"P-521", EC_JWK("P-521", A3_X, A3_Y), ME_ERROR_NOT_SUPPORTED},
    {"no y", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}", ME_ERROR_INVALID_DATA},
    {"padded x", EC_JWK("P-256", A3_X "=", A3_Y), ME_ERROR_INVALID_DATA},
    {"off the curve", EC_JWK("P-256", A3_Y, A3_X), ME_ERROR_INVALID_DATA},
    {"x too long", EC_JWK("P-256", A3_X "AAAA", A3_Y), ME_ERROR_INVALID_DATA},
    {"no e", "{\"kty\":\"RSA\",\"n\":\"" A2_N "\"}", ME_ERROR_INVALID_DATA},
    {"private without p", "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQAB\",\"d\":\"" A2_D "\"}",
     ME_ERROR_INVALID_DATA},
};

static void
test_jwk_rejects(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(jwk_rejects); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = parse_object(jwk_rejects[i].jwk);
		g_autoptr(EVP_PKEY) key = me_jwk_to_key(json_node_get_object(node), &error);

		g_test_message("%s", jwk_rejects[i].what);
		g_assert_null(key);
		g_assert_error(error, ME_ERROR, jwk_rejects[i].code);
	}
}

/* ---- flattened JWS (RFC 7515 §7.2.2, RFC 8555 §6.2) */

typedef struct {
	const gchar *path;
	MeKeyType type;
	const gchar *alg;
	gsize sig_len;
	const gchar *nonce;
	const gchar *kid;
	const gchar *payload;
} FlattenedCase;

static const FlattenedCase flattened_cases[] = {
    {"/jws/flattened/es256-kid", ME_KEY_TYPE_EC_P256, "ES256", 64, TEST_NONCE, TEST_KID, "{\"status\":\"valid\"}"},
    {"/jws/flattened/es256-jwk", ME_KEY_TYPE_EC_P256, "ES256", 64, TEST_NONCE, NULL, "{\"contact\":[]}"},
    {"/jws/flattened/no-nonce", ME_KEY_TYPE_EC_P256, "ES256", 64, NULL, NULL, "{\"account\":\"x\"}"},
    {"/jws/flattened/post-as-get", ME_KEY_TYPE_EC_P256, "ES256", 64, TEST_NONCE, TEST_KID, NULL},
    {"/jws/flattened/empty-object", ME_KEY_TYPE_EC_P256, "ES256", 64, TEST_NONCE, TEST_KID, "{}"},
    {"/jws/flattened/es384-kid", ME_KEY_TYPE_EC_P384, "ES384", 96, TEST_NONCE, TEST_KID, "{}"},
    {"/jws/flattened/es384-jwk", ME_KEY_TYPE_EC_P384, "ES384", 96, TEST_NONCE, NULL, NULL},
    {"/jws/flattened/rs256-kid", ME_KEY_TYPE_RSA_2048, "RS256", 256, TEST_NONCE, TEST_KID, "{}"},
    {"/jws/flattened/rs256-jwk", ME_KEY_TYPE_RSA_2048, "RS256", 256, TEST_NONCE, NULL, "{\"a\":\"\\r\\n\"}"},
};

static void
assert_jwk_is_canonical(JsonObject *jwk, EVP_PKEY *key)
{
	g_autofree gchar *canonical = me_jwk_to_canonical(key, NULL);
	g_autoptr(JsonNode) want_node = parse_object(canonical);
	JsonObject *want = json_node_get_object(want_node);
	g_autofree gchar *want_names = member_names(want);
	g_autoptr(GList) members = json_object_get_members(want);

	assert_members(jwk, want_names);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		g_assert_cmpstr(json_object_get_string_member(jwk, name), ==,
				json_object_get_string_member(want, name));
	}
}

static void
check_flattened_header(JsonObject *header, EVP_PKEY *key, const FlattenedCase *tc)
{
	g_autofree gchar *names = g_strjoin(",", "alg", tc->kid != NULL ? "kid" : "jwk",
					   tc->nonce != NULL ? "nonce,url" : "url", NULL);

	assert_members(header, names);
	g_assert_cmpstr(json_object_get_string_member(header, "alg"), ==, tc->alg);
	g_assert_cmpstr(json_object_get_string_member(header, "url"), ==, TEST_URL);
	if (tc->nonce != NULL)
		g_assert_cmpstr(json_object_get_string_member(header, "nonce"), ==, tc->nonce);
	if (tc->kid != NULL)
		g_assert_cmpstr(json_object_get_string_member(header, "kid"), ==, tc->kid);
	else
		assert_jwk_is_canonical(json_object_get_object_member(header, "jwk"), key);
}

static void
check_flattened_payload(JsonObject *obj, const FlattenedCase *tc)
{
	const gchar *payload_b64 = json_object_get_string_member(obj, "payload");
	g_autoptr(GBytes) payload = NULL;
	g_autofree gchar *text = NULL;

	if (tc->payload == NULL) {
		g_assert_cmpstr(payload_b64, ==, "");
		return;
	}
	payload = b64u_decode_ok(payload_b64);
	text = bytes_to_str(payload);
	g_assert_cmpstr(text, ==, tc->payload);
}

static void
test_flattened(gconstpointer user_data)
{
	const FlattenedCase *tc = user_data;
	EVP_PKEY *key = cached_key(tc->type);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *jws = me_jws_flattened(key, TEST_URL, tc->nonce, tc->kid, tc->payload, &error);
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonNode) header = NULL;
	g_autoptr(GBytes) sig = NULL;
	JsonObject *obj;

	g_assert_no_error(error);
	root = parse_object(jws);
	obj = json_node_get_object(root);
	assert_members(obj, "payload,protected,signature");
	header = decode_json_member(obj, "protected");
	check_flattened_header(json_node_get_object(header), key, tc);
	check_flattened_payload(obj, tc);
	sig = b64u_decode_ok(json_object_get_string_member(obj, "signature"));
	g_assert_cmpuint(g_bytes_get_size(sig), ==, tc->sig_len);
	g_assert_true(me_jws_verify(key, tc->alg, json_object_get_string_member(obj, "protected"),
				    json_object_get_string_member(obj, "payload"),
				    json_object_get_string_member(obj, "signature"), &error));
	g_assert_no_error(error);
}

/* RSA below 2048 bits (RFC 7518 §3.3) and key types ACME has no alg for */
static void
test_flattened_unsupported(void)
{
	g_autoptr(EVP_PKEY) rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	g_autoptr(EVP_PKEY) ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *keys[] = {rsa1024, ed25519};

	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) sign_error = NULL;
		g_autofree gchar *jws = NULL;
		g_autofree gchar *sig = NULL;

		g_assert_nonnull(keys[i]);
		g_assert_null(me_jws_alg_for_key(keys[i]));
		jws = me_jws_flattened(keys[i], TEST_URL, TEST_NONCE, NULL, "{}", &error);
		g_assert_null(jws);
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		sig = me_jws_sign_input(keys[i], A3_PROTECTED, RFC7515_PAYLOAD, &sign_error);
		g_assert_null(sig);
		g_assert_error(sign_error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	}
}

/* ---- external account binding (RFC 8555 §7.3.4) */

typedef struct {
	const gchar *path;
	const gchar *alg;
	const gchar *want_alg;
	GChecksumType checksum;
	gsize mac_len;
} EabCase;

static const EabCase eab_cases[] = {
    {"/jws/eab/hs256", "HS256", "HS256", G_CHECKSUM_SHA256, 32},
    {"/jws/eab/default-alg", NULL, "HS256", G_CHECKSUM_SHA256, 32},
    {"/jws/eab/hs512", "HS512", "HS512", G_CHECKSUM_SHA512, 64},
};

static void
check_eab_mac(JsonObject *obj, GBytes *mac_key, const EabCase *tc)
{
	const gchar *protected_b64 = json_object_get_string_member(obj, "protected");
	const gchar *payload_b64 = json_object_get_string_member(obj, "payload");
	const gchar *signature_b64 = json_object_get_string_member(obj, "signature");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *mac = me_jws_hmac(tc->want_alg, mac_key, protected_b64, payload_b64, &error);
	g_autofree gchar *input = g_strconcat(protected_b64, ".", payload_b64, NULL);
	g_autofree gchar *want_hex = g_compute_hmac_for_data(tc->checksum, g_bytes_get_data(mac_key, NULL),
							     g_bytes_get_size(mac_key), (const guchar *)input,
							     strlen(input));
	g_autoptr(GBytes) raw = b64u_decode_ok(signature_b64);
	g_autofree gchar *hex = bytes_to_hex(raw);

	g_assert_no_error(error);
	g_assert_cmpstr(signature_b64, ==, mac);
	g_assert_cmpuint(g_bytes_get_size(raw), ==, tc->mac_len);
	g_assert_cmpstr(hex, ==, want_hex);
}

static void
test_eab(gconstpointer user_data)
{
	const EabCase *tc = user_data;
	EVP_PKEY *account = cached_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(GBytes) mac_key = a1_key();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *eab = me_jws_eab(TEST_EAB_KID, mac_key, tc->alg, TEST_NEW_ACCOUNT, account, &error);
	g_autofree gchar *canonical = ref_ec_canonical(account, "P-256", 32);
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonNode) header = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autofree gchar *payload_text = NULL;
	JsonObject *obj;

	g_assert_no_error(error);
	root = parse_object(eab);
	obj = json_node_get_object(root);
	assert_members(obj, "payload,protected,signature");
	header = decode_json_member(obj, "protected");
	assert_members(json_node_get_object(header), "alg,kid,url");
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(header), "alg"), ==, tc->want_alg);
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(header), "kid"), ==, TEST_EAB_KID);
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(header), "url"), ==, TEST_NEW_ACCOUNT);
	payload = b64u_decode_ok(json_object_get_string_member(obj, "payload"));
	payload_text = bytes_to_str(payload);
	g_assert_cmpstr(payload_text, ==, canonical);
	check_eab_mac(obj, mac_key, tc);
}

static void
test_eab_errors(void)
{
	EVP_PKEY *account = cached_key(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	g_autoptr(GBytes) mac_key = a1_key();
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
	g_autoptr(GError) error_alg = NULL;
	g_autoptr(GError) error_key = NULL;
	g_autoptr(GError) error_account = NULL;
	g_autofree gchar *bad_alg = me_jws_eab(TEST_EAB_KID, mac_key, "ES256", TEST_NEW_ACCOUNT, account, &error_alg);
	g_autofree gchar *bad_key = me_jws_eab(TEST_EAB_KID, empty, "HS256", TEST_NEW_ACCOUNT, account, &error_key);
	g_autofree gchar *bad_account =
	    me_jws_eab(TEST_EAB_KID, mac_key, "HS256", TEST_NEW_ACCOUNT, ed25519, &error_account);

	g_assert_null(bad_alg);
	g_assert_error(error_alg, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	g_assert_null(bad_key);
	g_assert_error(error_key, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_assert_null(bad_account);
	g_assert_error(error_account, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
}

/* ---- independent cross-check with josepy */

static gchar *
public_pem(EVP_PKEY *key)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;

	g_assert_cmpint(PEM_write_bio_PUBKEY(bio, key), ==, 1);
	BIO_get_mem_ptr(bio, &mem);
	return g_strndup(mem->data, mem->length);
}

static void
manifest_set(JsonBuilder *manifest, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(manifest, name);
	if (value != NULL)
		json_builder_add_string_value(manifest, value);
	else
		json_builder_add_null_value(manifest);
}

/* writes NAME.json (the JWS) and NAME.pem (the public key), and starts the manifest entry */
static void
crosscheck_write(JsonBuilder *manifest, const gchar *dir, const gchar *name, const gchar *jws, EVP_PKEY *key)
{
	g_autofree gchar *pem = public_pem(key);
	g_autofree gchar *jws_name = g_strconcat(name, ".json", NULL);
	g_autofree gchar *pem_name = g_strconcat(name, ".pem", NULL);
	g_autofree gchar *jws_path = me_test_write_tmp(dir, jws_name, jws);
	g_autofree gchar *pem_path = me_test_write_tmp(dir, pem_name, pem);
	g_autofree gchar *thumbprint = me_jwk_thumbprint(key, NULL);

	g_assert_nonnull(thumbprint);
	json_builder_begin_object(manifest);
	manifest_set(manifest, "name", name);
	manifest_set(manifest, "jws", jws_name);
	manifest_set(manifest, "pem", pem_name);
	manifest_set(manifest, "thumbprint", thumbprint);
}

/* the same JWS with another payload: the signature must no longer verify */
static gchar *
swap_payload(const gchar *jws)
{
	g_autoptr(JsonNode) root = parse_object(jws);
	JsonObject *obj = json_node_get_object(root);
	g_autofree gchar *other = me_b64u_encode("{\"tampered\":true}", 17);

	json_object_set_string_member(obj, "payload", other);
	return json_to_string(root, FALSE);
}

typedef struct {
	const gchar *name;
	EVP_PKEY *key;
	const gchar *nonce;
	const gchar *kid;
	const gchar *payload;
	gboolean tamper;
} CrossJws;

static void
crosscheck_add_jws(JsonBuilder *manifest, const gchar *dir, const CrossJws *item)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *jws = me_jws_flattened(item->key, TEST_URL, item->nonce, item->kid, item->payload, &error);
	g_autofree gchar *sent = NULL;

	g_assert_no_error(error);
	sent = item->tamper ? swap_payload(jws) : g_strdup(jws);
	crosscheck_write(manifest, dir, item->name, sent, item->key);
	manifest_set(manifest, "kind", "jws");
	manifest_set(manifest, "expect", item->tamper ? "invalid" : "valid");
	manifest_set(manifest, "alg", me_jws_alg_for_key(item->key));
	manifest_set(manifest, "url", TEST_URL);
	manifest_set(manifest, "nonce", item->nonce);
	manifest_set(manifest, "kid", item->kid);
	manifest_set(manifest, "payload", item->payload != NULL ? item->payload : "");
	json_builder_end_object(manifest);
}

static void
crosscheck_add_eab(JsonBuilder *manifest, const gchar *dir, const gchar *name, const gchar *alg, EVP_PKEY *account)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) mac_key = a1_key();
	g_autofree gchar *eab = me_jws_eab(TEST_EAB_KID, mac_key, alg, TEST_NEW_ACCOUNT, account, &error);

	g_assert_no_error(error);
	crosscheck_write(manifest, dir, name, eab, account);
	manifest_set(manifest, "kind", "eab");
	manifest_set(manifest, "expect", "valid");
	manifest_set(manifest, "alg", alg);
	manifest_set(manifest, "url", TEST_NEW_ACCOUNT);
	manifest_set(manifest, "kid", TEST_EAB_KID);
	manifest_set(manifest, "mac_key", A1_K);
	json_builder_end_object(manifest);
}

static guint
crosscheck_write_all(const gchar *dir)
{
	g_autoptr(EVP_PKEY) a2 = key_from_jwk(A2_PRIVATE_JWK);
	g_autoptr(EVP_PKEY) p384z = key_from_jwk(P384Z_JWK);
	g_autoptr(JsonBuilder) manifest = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *path = NULL;
	const CrossJws items[] = {
	    {"es256-kid", cached_key(ME_KEY_TYPE_EC_P256), TEST_NONCE, TEST_KID, "{\"a\":1}", FALSE},
	    {"es256-jwk-short-x", short_x_key(ME_KEY_TYPE_EC_P256, 32), TEST_NONCE, NULL, "{}", FALSE},
	    {"es384-jwk-short-x", p384z, TEST_NONCE, NULL, "{\"b\":[1,2]}", FALSE},
	    {"es384-kid-post-as-get", cached_key(ME_KEY_TYPE_EC_P384), TEST_NONCE, TEST_KID, NULL, FALSE},
	    {"rs256-jwk", a2, TEST_NONCE, NULL, "{}", FALSE},
	    {"rs256-kid", a2, NULL, TEST_KID, "{\"c\":\"\\u00e9\"}", FALSE},
	    {"es256-tampered", cached_key(ME_KEY_TYPE_EC_P256), TEST_NONCE, TEST_KID, "{}", TRUE},
	};

	json_builder_begin_array(manifest);
	for (gsize i = 0; i < G_N_ELEMENTS(items); i++)
		crosscheck_add_jws(manifest, dir, &items[i]);
	crosscheck_add_eab(manifest, dir, "eab-hs256", "HS256", cached_key(ME_KEY_TYPE_EC_P256));
	crosscheck_add_eab(manifest, dir, "eab-hs512-rsa", "HS512", a2);
	json_builder_end_array(manifest);
	root = json_builder_get_root(manifest);
	text = json_to_string(root, TRUE);
	path = me_test_write_tmp(dir, "manifest.json", text);
	return G_N_ELEMENTS(items) + 2;
}

static guint
count_ok_lines(const gchar *out)
{
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	guint n_ok = 0;

	for (guint i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] != '\0')
			g_test_message("josepy: %s", lines[i]);
		if (g_str_has_prefix(lines[i], "ok "))
			n_ok++;
	}
	return n_ok;
}

static void
test_crosscheck_josepy(void)
{
	const gchar *python = me_test_python();
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "jose-crosscheck.py", NULL);
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	const gchar *argv[] = {python, script, dir, NULL};
	gint status = -1;
	guint n_items;
	gboolean ran;

	if (!g_file_test(python, G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip("no Python interpreter, so no josepy");
		return;
	}
	n_items = crosscheck_write_all(dir);
	ran = me_test_spawn_sync(argv, NULL, &out, &err, &status);
	me_test_rm_rf(dir);
	g_assert_true(ran);
	if (status == 77) {
		g_autofree gchar *why = g_strdup_printf("%s lacks josepy: %s", python, err);
		g_test_skip(why);
		return;
	}
	if (status != 0)
		g_test_message("stderr: %s", err);
	g_assert_cmpuint(count_ok_lines(out), ==, n_items);
	g_assert_cmpint(status, ==, 0);
}

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/jws/hmac/rfc7515-a1", test_hmac_rfc7515_a1);
	g_test_add_func("/jws/hmac/sizes", test_hmac_sizes);
	g_test_add_func("/jws/hmac/errors", test_hmac_errors);
	g_test_add_func("/jws/sign/rfc7515-a2", test_sign_rfc7515_a2);
	g_test_add_func("/jws/verify/rfc7515-a2", test_verify_rfc7515_a2);
	g_test_add_func("/jws/verify/rfc7515-a3", test_verify_rfc7515_a3);
	g_test_add_func("/jws/verify/rfc7515-a3-tampered", test_verify_rfc7515_a3_tampered);
	g_test_add_func("/jws/verify/rfc7515-a3-format", test_verify_rfc7515_a3_format);
	g_test_add_func("/jws/verify/alg-key-mismatch", test_verify_alg_key_mismatch);
	g_test_add_func("/jws/sign/rfc7515-a3", test_sign_rfc7515_a3);
	g_test_add_func("/jws/sign/es256-short-r", test_sign_es256_short_r);
	for (gsize i = 0; i < G_N_ELEMENTS(thumbprint_cases); i++)
		g_test_add_data_func(thumbprint_cases[i].path, &thumbprint_cases[i], test_thumbprint);
	for (gsize i = 0; i < G_N_ELEMENTS(ec_jwk_cases); i++)
		g_test_add_data_func(ec_jwk_cases[i].path, &ec_jwk_cases[i], test_ec_jwk);
	g_test_add_func("/jws/jwk/rsa-no-leading-zero", test_rsa_jwk);
	g_test_add_func("/jws/jwk/rejects", test_jwk_rejects);
	for (gsize i = 0; i < G_N_ELEMENTS(flattened_cases); i++)
		g_test_add_data_func(flattened_cases[i].path, &flattened_cases[i], test_flattened);
	g_test_add_func("/jws/flattened/unsupported-keys", test_flattened_unsupported);
	for (gsize i = 0; i < G_N_ELEMENTS(eab_cases); i++)
		g_test_add_data_func(eab_cases[i].path, &eab_cases[i], test_eab);
	g_test_add_func("/jws/eab/errors", test_eab_errors);
	g_test_add_func("/jws/crosscheck/josepy", test_crosscheck_josepy);
	rc = g_test_run();
	key_cache_clear();
	return rc;
}
