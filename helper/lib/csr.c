/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeCsr"

#include "config.h"

#include "csr.h"

#include <glib/gi18n-lib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "autocleanups.h"

/* the largest CSR we read back: an RSA-8192 request is under 2 KiB */
#define ME_CSR_DER_MAX (64 * 1024)
/* ub-common-name (RFC 5280 appendix A) */
#define ME_CSR_CN_MAX 64
/* RFC 1035 §2.3.4 */
#define ME_CSR_DOMAIN_MAX 253
#define ME_CSR_LABEL_MAX 63

static gpointer
invalid_argument(GError **error, const gchar *message)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT, message);
	return NULL;
}

static gboolean
invalid_issued(GError **error, const gchar *message)
{
	/* a failed check may leave OpenSSL errors behind that belong to nobody */
	ERR_clear_error();
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA, message);
	return FALSE;
}

/* line breaks, tabs, bidi overrides, zero-width characters: nothing a person can see */
static gboolean
has_invisible(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_iscntrl(c) || g_unichar_isspace(c) || g_unichar_type(c) == G_UNICODE_FORMAT)
			return TRUE;
	}
	return FALSE;
}

static gboolean
is_ascii(const gchar *text, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if ((guchar)text[i] >= 0x80)
			return FALSE;
	}
	return TRUE;
}

/* letters, digits and inner hyphens in dot-separated labels of 1 to 63 octets (RFC 1123 §2.1) */
static gboolean
domain_is_ldh(const gchar *domain)
{
	g_auto(GStrv) labels = NULL;

	if (strlen(domain) > ME_CSR_DOMAIN_MAX)
		return FALSE;
	labels = g_strsplit(domain, ".", -1);
	for (guint i = 0; labels[i] != NULL; i++) {
		gsize len = strlen(labels[i]);
		if (len == 0 || len > ME_CSR_LABEL_MAX || labels[i][0] == '-' || labels[i][len - 1] == '-')
			return FALSE;
		for (gsize j = 0; j < len; j++) {
			if (!g_ascii_isalnum(labels[i][j]) && labels[i][j] != '-')
				return FALSE;
		}
	}
	return TRUE;
}

/* the checks that need no parsing; returns the one '@' */
static const gchar *
check_mailbox_text(const gchar *mailbox, GError **error)
{
	gsize len = strnlen(mailbox, ME_CSR_MAILBOX_MAX + 1);
	const gchar *at;

	if (len > ME_CSR_MAILBOX_MAX)
		/* TRANSLATORS: the mail address the user typed is too long for a certificate */
		return invalid_argument(error, _("The mail address is too long; use an address of at most 254 bytes."));
	if (!g_utf8_validate(mailbox, len, NULL))
		/* TRANSLATORS: the mail address is not valid UTF-8 */
		return invalid_argument(error, _("The mail address is not valid text; type it again."));
	if (has_invisible(mailbox))
		/* TRANSLATORS: the mail address has a line break, tab, space or invisible character in it */
		return invalid_argument(error, _("The mail address contains spaces, line breaks or other invisible characters; type it again without them."));
	if (strchr(mailbox, '*') != NULL)
		/* TRANSLATORS: RFC 8823 forbids wildcards in the address; keep the quotes around the star */
		return invalid_argument(error, _("The mail address contains “*”, which a certificate cannot hold; type the address without it."));
	at = strchr(mailbox, '@');
	if (at == NULL || at == mailbox || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		/* TRANSLATORS: the mail address lacks the @, or the part before or after it */
		return invalid_argument(error, _("The mail address needs exactly one “@” with a name before it and a domain after it; type the full address."));
	if ((gsize)(at - mailbox) > ME_CSR_LOCAL_PART_MAX)
		/* TRANSLATORS: the part of the mail address before the @ is too long */
		return invalid_argument(error, _("The part of the mail address before the “@” is longer than 64 bytes; use a shorter address."));
	return at;
}

/**
 * me_csr_normalize_mailbox:
 * @mailbox: a mail address as the user typed it, UTF-8
 * @smtputf8: (out) (optional): set to %TRUE if the local part is not ASCII
 * @error: (nullable): return location
 *
 * Puts a mailbox in the one form used in the order, the CSR and the issued certificate
 * (RFC 9598, docs/standards.md §4.6): the local part unchanged, the domain as lowercase
 * A-labels.  With an ASCII local part the result goes into an rfc822Name; otherwise
 * (@smtputf8) into an otherName SmtpUTF8Mailbox.
 *
 * Refuses, with %ME_ERROR_INVALID_ARGUMENT: a `*` (RFC 8823 §3), no `@` or more than one,
 * control, space or invisible characters, a local part over 64 octets, an address over
 * 254 octets, and a domain that is not a valid host name.
 *
 * Returns: (transfer full): the normalized mailbox, or %NULL with @error set
 */
gchar *
me_csr_normalize_mailbox(const gchar *mailbox, gboolean *smtputf8, GError **error)
{
	g_autofree gchar *ascii = NULL;
	g_autofree gchar *domain = NULL;
	g_autofree gchar *normalized = NULL;
	const gchar *at;

	g_return_val_if_fail(mailbox != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	at = check_mailbox_text(mailbox, error);
	if (at == NULL)
		return NULL;
	ascii = g_hostname_to_ascii(at + 1);
	if (ascii == NULL || !domain_is_ldh(ascii))
		/* TRANSLATORS: the part of the mail address after the @ is not a domain name */
		return invalid_argument(error, _("The part of the mail address after the “@” is not a valid domain name; check the address for typos."));
	domain = g_ascii_strdown(ascii, -1);
	normalized = g_strdup_printf("%.*s@%s", (gint)(at - mailbox), mailbox, domain);
	if (strlen(normalized) > ME_CSR_MAILBOX_MAX)
		/* TRANSLATORS: the mail address becomes too long once its domain is in ASCII (punycode) form */
		return invalid_argument(error, _("The mail address is too long once its domain is converted to ASCII; use a shorter address."));
	if (smtputf8 != NULL)
		*smtputf8 = !is_ascii(mailbox, at - mailbox);
	return g_steal_pointer(&normalized);
}

/* rfc822Name (IA5String) for an ASCII local part, otherName SmtpUTF8Mailbox (UTF8String) otherwise */
static GENERAL_NAME *
san_name_new(const gchar *mailbox, gboolean smtputf8)
{
	g_autoptr(GENERAL_NAME) name = GENERAL_NAME_new();
	g_autoptr(ASN1_STRING) str = ASN1_STRING_type_new(smtputf8 ? V_ASN1_UTF8STRING : V_ASN1_IA5STRING);
	g_autoptr(ASN1_TYPE) value = NULL;

	if (name == NULL || str == NULL || !ASN1_STRING_set(str, mailbox, -1))
		return NULL;
	if (!smtputf8) {
		GENERAL_NAME_set0_value(name, GEN_EMAIL, g_steal_pointer(&str));
		return g_steal_pointer(&name);
	}
	value = ASN1_TYPE_new();
	if (value == NULL)
		return NULL;
	ASN1_TYPE_set(value, V_ASN1_UTF8STRING, g_steal_pointer(&str));
	if (!GENERAL_NAME_set0_othername(name, OBJ_nid2obj(NID_id_on_SmtpUTF8Mailbox), value))
		return NULL;
	g_steal_pointer(&value);
	return g_steal_pointer(&name);
}

static gboolean
add_san(MeX509ExtStack **exts, const gchar *mailbox, gboolean smtputf8, gboolean critical)
{
	g_autoptr(GENERAL_NAMES) names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *name = san_name_new(mailbox, smtputf8);

	if (names == NULL || name == NULL || !sk_GENERAL_NAME_push(names, name)) {
		GENERAL_NAME_free(name);
		return FALSE;
	}
	return X509V3_add1_i2d(exts, NID_subject_alt_name, names, critical, X509V3_ADD_APPEND) == 1;
}

/* KU_* flags hold bit n of the named bit list at 0x80 >> n, and decipherOnly (n = 8) at 0x8000 */
static gboolean
add_key_usage(MeX509ExtStack **exts, guint32 bits)
{
	g_autoptr(ASN1_STRING) str = ASN1_STRING_type_new(V_ASN1_BIT_STRING);

	if (str == NULL)
		return FALSE;
	for (gint n = 0; n <= 8; n++) {
		guint32 flag = n < 8 ? 0x80u >> n : 0x8000u;
		if ((bits & flag) != 0 && !ASN1_BIT_STRING_set_bit(str, n, 1))
			return FALSE;
	}
	return X509V3_add1_i2d(exts, NID_key_usage, str, 1, X509V3_ADD_APPEND) == 1;
}

/* exactly SAN and KU, and nothing else: CAs refuse other extensions (docs/standards.md §4.5) */
static gboolean
add_extensions(X509_REQ *req, const gchar *mailbox, gboolean smtputf8, guint32 ku, gboolean san_critical)
{
	g_autoptr(MeX509ExtStack) exts = NULL;

	if (!add_san(&exts, mailbox, smtputf8, san_critical) || !add_key_usage(&exts, ku))
		return FALSE;
	return X509_REQ_add_extensions(req, exts) == 1;
}

static gboolean
set_subject_cn(X509_REQ *req, const gchar *mailbox)
{
	g_autoptr(X509_NAME) subject = X509_NAME_new();

	if (subject == NULL ||
	    !X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8, (const guchar *)mailbox, -1, -1, 0))
		return FALSE;
	return X509_REQ_set_subject_name(req, subject) == 1;
}

static GBytes *
req_to_der(X509_REQ *req, GError **error)
{
	guchar *der = NULL;
	gint len = i2d_X509_REQ(req, &der);
	GBytes *bytes;

	if (len <= 0) {
		/* TRANSLATORS: encoding the certificate request failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The certificate request could not be encoded."));
		return NULL;
	}
	bytes = g_bytes_new(der, len);
	OPENSSL_free(der);
	return bytes;
}

static gboolean
build_request(X509_REQ *req, EVP_PKEY *cert_key, const gchar *mailbox, gboolean smtputf8, guint32 ku,
	      MeCsrFlags flags)
{
	gboolean empty = (flags & ME_CSR_FLAGS_EMPTY_SUBJECT) != 0 || g_utf8_strlen(mailbox, -1) > ME_CSR_CN_MAX;

	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_pubkey(req, cert_key))
		return FALSE;
	if (!empty && !set_subject_cn(req, mailbox))
		return FALSE;
	if (!add_extensions(req, mailbox, smtputf8, ku, empty))
		return FALSE;
	/* SHA-256; for RSA keys the default padding is PKCS#1 v1.5 (sha256WithRSAEncryption) */
	return X509_REQ_sign(req, cert_key, EVP_sha256()) > 0;
}

static guint32
requested_bits(EVP_PKEY *cert_key, MeKeyUsage usage, GError **error)
{
	guint32 ku;

	if (me_key_get_type(cert_key) == ME_KEY_TYPE_UNKNOWN) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the key is not RSA 2048/3072/4096 or EC P-256/P-384 */
				    _("This key cannot be used for an S/MIME certificate; generate a new RSA or EC key for it."));
		return 0;
	}
	ku = me_key_usage_get_bits(me_key_get_type(cert_key), usage);
	if (ku == 0)
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the certificate's purpose is neither signing, encryption nor both */
				    _("The certificate’s use is not known; choose signing, encryption or both."));
	return ku;
}

/**
 * me_csr_new:
 * @cert_key: the certificate key (never the account key: see me_key_check_distinct())
 * @mailbox: the mailbox, as for me_csr_normalize_mailbox()
 * @usage: what the certificate is for
 * @flags: #MeCsrFlags
 * @error: (nullable): return location
 *
 * Makes the PKCS#10 request of docs/standards.md §4.5: subject `CN=<mailbox>` or empty, and an
 * extensionRequest holding exactly a subjectAltName with the normalized @mailbox
 * (rfc822Name, or otherName SmtpUTF8Mailbox for a non-ASCII local part) and a critical
 * keyUsage from the table at #MeKeyUsage; no extended key usage and nothing else.  It is
 * signed with @cert_key using SHA-256 (PKCS#1 v1.5 for RSA).
 *
 * Returns: (transfer full): the DER request, or %NULL with @error set
 */
GBytes *
me_csr_new(EVP_PKEY *cert_key, const gchar *mailbox, MeKeyUsage usage, MeCsrFlags flags, GError **error)
{
	g_autoptr(X509_REQ) req = NULL;
	g_autofree gchar *normalized = NULL;
	gboolean smtputf8 = FALSE;
	guint32 ku;

	g_return_val_if_fail(cert_key != NULL, NULL);
	g_return_val_if_fail(mailbox != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	ku = requested_bits(cert_key, usage, error);
	if (ku == 0)
		return NULL;
	normalized = me_csr_normalize_mailbox(mailbox, &smtputf8, error);
	if (normalized == NULL)
		return NULL;
	req = X509_REQ_new();
	if (req == NULL || !build_request(req, cert_key, normalized, smtputf8, ku, flags)) {
		/* TRANSLATORS: making or signing the certificate request failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The certificate request could not be created."));
		return NULL;
	}
	return req_to_der(req, error);
}

/**
 * me_csr_to_pem:
 * @der: a DER request from me_csr_new()
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the request as `CERTIFICATE REQUEST` PEM, or %NULL with @error set
 */
gchar *
me_csr_to_pem(GBytes *der, GError **error)
{
	g_autoptr(X509_REQ) req = NULL;
	g_autoptr(BIO) bio = NULL;
	const guchar *data;
	gsize len = 0;
	BUF_MEM *mem = NULL;

	g_return_val_if_fail(der != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	data = g_bytes_get_data(der, &len);
	if (len > ME_CSR_DER_MAX || (req = d2i_X509_REQ(NULL, &data, (long)len)) == NULL) {
		/* TRANSLATORS: a certificate request to be shown as text is damaged */
		me_crypto_set_error(error, ME_ERROR_INVALID_DATA, _("The certificate request is damaged; create it again."));
		return NULL;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || !PEM_write_bio_X509_REQ(bio, req)) {
		/* TRANSLATORS: turning the certificate request into text failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The certificate request could not be encoded."));
		return NULL;
	}
	BIO_get_mem_ptr(bio, &mem);
	return g_strndup(mem->data, mem->length);
}

/* an ASN.1 string that names the mailbox: local part octet for octet, domain in any case */
static gboolean
mailbox_equal(const ASN1_STRING *str, const gchar *normalized)
{
	const gchar *data = (const gchar *)ASN1_STRING_get0_data(str);
	gint len = ASN1_STRING_length(str);
	const gchar *want_at = strrchr(normalized, '@');
	g_autofree gchar *have = NULL;
	g_autofree gchar *have_domain = NULL;
	const gchar *have_at;

	if (data == NULL || len <= 0 || len > ME_CSR_MAILBOX_MAX || memchr(data, '\0', len) != NULL)
		return FALSE;
	have = g_strndup(data, len);
	have_at = strrchr(have, '@');
	if (have_at == NULL || !g_utf8_validate(have, -1, NULL))
		return FALSE;
	if (have_at - have != want_at - normalized || memcmp(have, normalized, have_at - have) != 0)
		return FALSE;
	have_domain = g_hostname_to_ascii(have_at + 1);
	return have_domain != NULL && g_ascii_strcasecmp(have_domain, want_at + 1) == 0;
}

static gboolean
san_matches(const GENERAL_NAMES *names, const gchar *normalized, gboolean smtputf8)
{
	const GENERAL_NAME *name;

	if (names == NULL || sk_GENERAL_NAME_num(names) != 1)
		return FALSE;
	name = sk_GENERAL_NAME_value(names, 0);
	if (!smtputf8 && name->type == GEN_EMAIL)
		return mailbox_equal(name->d.rfc822Name, normalized);
	if (smtputf8 && name->type == GEN_OTHERNAME &&
	    OBJ_obj2nid(name->d.otherName->type_id) == NID_id_on_SmtpUTF8Mailbox &&
	    name->d.otherName->value != NULL && name->d.otherName->value->type == V_ASN1_UTF8STRING)
		return mailbox_equal(name->d.otherName->value->value.utf8string, normalized);
	return FALSE;
}

static gboolean
check_ee_key(X509 *ee, EVP_PKEY *cert_key, GError **error)
{
	EVP_PKEY *ee_key = X509_get0_pubkey(ee);

	if (ee_key == NULL || !me_key_public_equal(ee_key, cert_key))
		/* TRANSLATORS: the CA issued the certificate for some other key than ours */
		return invalid_issued(error, _("The issued certificate is for a different key than the request; do not use it, and request a new certificate."));
	return TRUE;
}

static gboolean
check_ee_san(X509 *ee, const gchar *normalized, gboolean smtputf8, GError **error)
{
	g_autoptr(GENERAL_NAMES) names = X509_get_ext_d2i(ee, NID_subject_alt_name, NULL, NULL);

	if (!san_matches(names, normalized, smtputf8)) {
		g_autofree gchar *message = g_strdup_printf(
		    /* TRANSLATORS: the certificate's subjectAltName is not exactly the user's address; %s is that address */
		    _("The issued certificate is not for %s alone; do not use it, and tell the certificate authority."), normalized);
		return invalid_issued(error, message);
	}
	return TRUE;
}

static gboolean
check_ee_eku(X509 *ee, GError **error)
{
	if ((X509_get_extension_flags(ee) & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(ee) & XKU_SMIME) == 0)
		/* TRANSLATORS: the certificate lacks the extended key usage emailProtection */
		return invalid_issued(error, _("The issued certificate is not meant for email; do not use it, and tell the certificate authority."));
	return TRUE;
}

static gboolean
check_ee_ku(X509 *ee, MeKeyType type, MeKeyUsage usage, GError **error)
{
	guint32 want = me_key_usage_get_bits(type, usage);
	guint32 management = want & ~(guint32)KU_DIGITAL_SIGNATURE;
	guint32 have;

	if ((X509_get_extension_flags(ee) & EXFLAG_KUSAGE) == 0)
		/* TRANSLATORS: the certificate has no key usage extension, which S/MIME requires */
		return invalid_issued(error, _("The issued certificate does not say what its key may be used for; do not use it, and tell the certificate authority."));
	have = X509_get_key_usage(ee);
	if ((want & KU_DIGITAL_SIGNATURE) != 0 && (have & KU_DIGITAL_SIGNATURE) == 0)
		/* TRANSLATORS: the user asked for a signing certificate, but its key usage forbids signing */
		return invalid_issued(error, _("The issued certificate may not be used to sign mail; do not use it, and request a new certificate."));
	if (management != 0 && (have & management) == 0)
		/* TRANSLATORS: the user asked for an encryption certificate, but its key usage forbids encryption */
		return invalid_issued(error, _("The issued certificate may not be used to encrypt mail; do not use it, and request a new certificate."));
	if ((have & ~me_key_usage_get_allowed_bits(type)) != 0)
		/* TRANSLATORS: the certificate's key usage has bits the S/MIME rules forbid for this kind of key */
		return invalid_issued(error, _("The issued certificate has key usages that do not fit its key; do not use it, and tell the certificate authority."));
	return TRUE;
}

/* each certificate is issued by the next one: names, key identifiers and the signature */
static gboolean
check_chain_order(GPtrArray *chain, GError **error)
{
	for (guint i = 0; i + 1 < chain->len; i++) {
		X509 *subject = g_ptr_array_index(chain, i);
		X509 *issuer = g_ptr_array_index(chain, i + 1);
		EVP_PKEY *issuer_key = X509_get0_pubkey(issuer);

		if (X509_check_issued(issuer, subject) != X509_V_OK || issuer_key == NULL ||
		    X509_verify(subject, issuer_key) != 1) {
			g_autofree gchar *message = g_strdup_printf(
			    /* TRANSLATORS: certificate number %u of the chain the CA sent was not issued by the next one */
			    _("The certificate chain is out of order or broken at certificate %u; do not use it, and tell the certificate authority."),
			    i + 1);
			return invalid_issued(error, message);
		}
	}
	return TRUE;
}

static gboolean
check_ee_readable(X509 *ee, GError **error)
{
	if (ee == NULL || (X509_get_extension_flags(ee) & EXFLAG_INVALID) != 0)
		/* TRANSLATORS: the issued certificate has extensions that cannot be parsed */
		return invalid_issued(error, _("The issued certificate is damaged; do not use it, and request a new certificate."));
	return TRUE;
}

/**
 * me_csr_check_issued:
 * @chain: (element-type X509): the chain the CA sent, end-entity certificate first
 * @cert_key: the key the request was made with
 * @mailbox: the mailbox the request was made for
 * @usage: the usage the request asked for
 * @error: (nullable): return location
 *
 * Checks an issued certificate before it is used or installed (docs/standards.md §7 I-01):
 * its public key is @cert_key; its subjectAltName holds exactly the one normalized
 * @mailbox (rfc822Name or SmtpUTF8Mailbox as in me_csr_new(); the local part compared
 * octet for octet, the domain without regard to case); its extended key usage has
 * emailProtection; its key usage has the bits @usage needs for this key type (see
 * #MeKeyUsage) and none the S/MIME BR forbid for it; and each certificate in @chain is
 * issued by the next (names and signature).  The chain is not checked against trust
 * anchors here.
 *
 * Returns: %TRUE if the chain can be used, or %FALSE with @error set to
 * %ME_ERROR_INVALID_DATA naming the first defect
 */
gboolean
me_csr_check_issued(GPtrArray *chain, EVP_PKEY *cert_key, const gchar *mailbox, MeKeyUsage usage, GError **error)
{
	g_autofree gchar *normalized = NULL;
	gboolean smtputf8 = FALSE;
	MeKeyType type;
	X509 *ee;

	g_return_val_if_fail(chain != NULL, FALSE);
	g_return_val_if_fail(cert_key != NULL, FALSE);
	g_return_val_if_fail(mailbox != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	if (requested_bits(cert_key, usage, error) == 0)
		return FALSE;
	normalized = me_csr_normalize_mailbox(mailbox, &smtputf8, error);
	if (normalized == NULL)
		return FALSE;
	if (chain->len == 0)
		/* TRANSLATORS: the CA's answer held no certificate at all */
		return invalid_issued(error, _("The certificate authority sent no certificate; request the certificate again."));
	ee = g_ptr_array_index(chain, 0);
	type = me_key_get_type(cert_key);
	if (!check_ee_readable(ee, error) || !check_ee_key(ee, cert_key, error) ||
	    !check_ee_san(ee, normalized, smtputf8, error) || !check_ee_eku(ee, error) ||
	    !check_ee_ku(ee, type, usage, error) || !check_chain_order(chain, error))
		return FALSE;

	/* success */
	return TRUE;
}
