/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeNssdb"

#include "config.h"

#include "nssdb.h"

#include <cert.h>
#include <certdb.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <keyhi.h>
#include <nss.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <string.h>

#include "autocleanups.h"
#include "dl.h"
#include "secmem.h"

/*
 * NSS keeps one global state per process.  Each import opens the database with
 * NSS_InitContext() and closes it again, so the process never holds a profile's database
 * open while Thunderbird works on it, and the mutex keeps two imports from sharing it.  The
 * `sql:` database is made for several processes at once (docs/thunderbird.md §5b); the module
 * database (pkcs11.txt) is not opened, so a profile's smart-card modules are neither loaded
 * nor rewritten.
 */
static GMutex nss_mutex;

/* NSS is loaded on first use (dl.c), by me_nssdb_import(): every function of NSS, its util
 * library and NSPR that this file calls is in this list and is called as sym_NAME().  The
 * build does not link NSS, so a function called by its own name fails to link
 * (CONTRIBUTING.md) */
#define NSSDB_SYMBOLS(X)                                                                                               \
	X(CERT_ChangeCertTrust)                                                                                        \
	X(CERT_CreateSubjectCertList)                                                                                  \
	X(CERT_DestroyCertList)                                                                                        \
	X(CERT_DestroyCertificate)                                                                                     \
	X(CERT_DupCertificate)                                                                                         \
	X(CERT_ExtractPublicKey)                                                                                       \
	X(CERT_GetCertTrust)                                                                                           \
	X(CERT_GetCommonName)                                                                                          \
	X(CERT_GetDefaultCertDB)                                                                                       \
	X(CERT_GetFirstEmailAddress)                                                                                   \
	X(CERT_GetOrgName)                                                                                             \
	X(CERT_NewTempCertificate)                                                                                     \
	X(NSS_InitContext)                                                                                             \
	X(NSS_ShutdownContext)                                                                                         \
	X(PK11_Authenticate)                                                                                           \
	X(PK11_CheckUserPassword)                                                                                      \
	X(PK11_DeleteTokenPrivateKey)                                                                                  \
	X(PK11_FindCertFromDERCertItem)                                                                                \
	X(PK11_FindKeyByAnyCert)                                                                                       \
	X(PK11_FreeSlot)                                                                                               \
	X(PK11_GetInternalKeySlot)                                                                                     \
	X(PK11_GetTokenName)                                                                                           \
	X(PK11_ImportCert)                                                                                             \
	X(PK11_ImportDERPrivateKeyInfoAndReturnKey)                                                                    \
	X(PK11_InitPin)                                                                                                \
	X(PK11_IsLoggedIn)                                                                                             \
	X(PK11_KeyForCertExists)                                                                                       \
	X(PK11_NeedLogin)                                                                                              \
	X(PK11_NeedUserInit)                                                                                           \
	X(PK11_SetPasswordFunc)                                                                                        \
	X(PORT_Free)                                                                                                   \
	X(PORT_GetError)                                                                                               \
	X(PORT_Strdup)                                                                                                 \
	X(PR_ErrorToName)                                                                                              \
	X(PR_ErrorToString)                                                                                            \
	X(PR_Now)                                                                                                      \
	X(SECKEY_DestroyPrivateKey)                                                                                    \
	X(SECKEY_DestroyPublicKey)                                                                                     \
	X(SEC_CertNicknameConflict)                                                                                    \
	X(SEC_DeletePermCertificate)

NSSDB_SYMBOLS(ME_DL_DECLARE)

static gboolean
nssdb_load(GError **error)
{
	static const MeDlSymbol symbols[] = {NSSDB_SYMBOLS(ME_DL_ROW)};

	return me_dl_load(ME_DL_LIBRARY_NSS, symbols, G_N_ELEMENTS(symbols), error);
}

/* NSS is included by this file only, so its cleanups live here (CONTRIBUTING.md, "Cleanups") */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CERTCertificate, sym_CERT_DestroyCertificate)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CERTCertList, sym_CERT_DestroyCertList)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PK11SlotInfo, sym_PK11_FreeSlot)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SECKEYPrivateKey, sym_SECKEY_DestroyPrivateKey)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SECKEYPublicKey, sym_SECKEY_DestroyPublicKey)

typedef struct {
	const gchar *password;
	guint calls;
} PasswordCtx;

/* NSS asks again after a wrong password: answer once, so a wrong one fails instead of looping */
static char *
password_cb(PK11SlotInfo *slot, PRBool retry, void *arg)
{
	PasswordCtx *ctx = arg;

	(void)slot;
	if (ctx == NULL || ctx->password == NULL || retry || ctx->calls++ > 0)
		return NULL;
	return sym_PORT_Strdup(ctx->password);
}

/**
 * me_nssdb_import_free:
 * @import: (nullable): an import report
 *
 * Frees @import.
 */
void
me_nssdb_import_free(MeNssdbImport *import)
{
	if (import == NULL)
		return;
	g_free(import->nickname);
	g_free(import->db_key);
	g_free(import);
}

/**
 * me_nssdb_get_user_dir:
 *
 * The shared NSS database of the user that Evolution, Chromium and the NSS tools use:
 * `~/.pki/nssdb`.
 *
 * Returns: (transfer full): the folder
 */
gchar *
me_nssdb_get_user_dir(void)
{
	return g_build_filename(g_get_home_dir(), ".pki", "nssdb", NULL);
}

/* the NSS error in words for the debug log; the user sees one sentence of ours */
static void
log_nss_error(const gchar *what)
{
	PRErrorCode code = sym_PORT_GetError();
	const char *name = sym_PR_ErrorToName(code);

	g_debug("%s: %s (%d): %s", what, name != NULL ? name : "unknown", (gint)code,
		sym_PR_ErrorToString(code, PR_LANGUAGE_I_DEFAULT));
}

static void
set_store_error(GError **error, const gchar *dir, const gchar *what)
{
	PRErrorCode code = sym_PORT_GetError();

	log_nss_error(what);
	if (code == SEC_ERROR_READ_ONLY || code == SEC_ERROR_IO) {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: the certificate database (NSS) could not be written; %s is its folder */
			    _("The certificate store in %s cannot be written; check that the folder and its files belong to you and are writable."),
			    dir);
		return;
	}
	if (code == SEC_ERROR_BAD_DATABASE || code == SEC_ERROR_PKCS11_GENERAL_ERROR ||
	    code == SEC_ERROR_LEGACY_DATABASE) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: the certificate database (NSS) in the folder %s is not usable */
			    _("The certificate store in %s is damaged or not a certificate database; repair it in the mail client or choose another folder."),
			    dir);
		return;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: adding the certificate to the certificate database (NSS) failed; %s is its folder */
		    _("The certificate could not be added to the certificate store in %s; run with G_MESSAGES_DEBUG=all for details."),
		    dir);
}

static gboolean
prepare_dir(const gchar *dir, MeNssdbImportFlags flags, GError **error)
{
	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		return TRUE;
	if ((flags & ME_NSSDB_IMPORT_FLAGS_CREATE) == 0 || g_file_test(dir, G_FILE_TEST_EXISTS)) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: the folder of the certificate database does not exist; %s is the folder */
			    _("There is no certificate store folder %s; check the path, or start the mail client once so that it creates one."),
			    dir);
		return FALSE;
	}
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		gint errsv = errno;
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: creating the certificate database folder failed; %s is the folder, %s the system's reason */
			    _("The certificate store folder %s could not be created (%s); check the permissions of its parent folder."),
			    dir, g_strerror(errsv));
		return FALSE;
	}
	return TRUE;
}

/* an empty database has no password yet, and NSS stores no key until it has one: give it
 * the empty password, as Thunderbird and `certutil -N --empty-password` do; then log in if
 * the database has a (Primary) password */
static gboolean
open_slot(PK11SlotInfo *slot, const gchar *dir, PasswordCtx *pw, GError **error)
{
	if (sym_PK11_NeedUserInit(slot)) {
		if (sym_PK11_InitPin(slot, NULL, "") != SECSuccess) {
			set_store_error(error, dir, "PK11_InitPin");
			return FALSE;
		}
	}
	if (!sym_PK11_NeedLogin(slot) || sym_PK11_IsLoggedIn(slot, pw))
		return TRUE;
	/* no Primary Password is an empty one: a database another process (Thunderbird on a
	 * fresh profile) has just set up can ask for a login all the same */
	if (sym_PK11_CheckUserPassword(slot, "") == SECSuccess)
		return TRUE;
	if (pw->password == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_LOCKED,
			    /* TRANSLATORS: the certificate database is protected by a password (Thunderbird calls it the Primary Password); %s is its folder */
			    _("The certificate store in %s is protected by a Primary Password; enter that password to add the certificate."),
			    dir);
		return FALSE;
	}
	if (sym_PK11_Authenticate(slot, PR_TRUE, pw) != SECSuccess) {
		log_nss_error("PK11_Authenticate");
		g_set_error(error, ME_ERROR, ME_ERROR_LOCKED,
			    /* TRANSLATORS: the password for the certificate database was wrong; %s is its folder */
			    _("The Primary Password for the certificate store in %s is wrong; type it again."),
			    dir);
		return FALSE;
	}
	return TRUE;
}

static CERTCertificate *
cert_from_x509(X509 *x509, const gchar *dir, GError **error)
{
	g_autofree guint8 *der = NULL;
	guint8 *p;
	gint len = i2d_X509(x509, NULL);
	SECItem item = {siDERCertBuffer, NULL, 0};
	CERTCertificate *cert;

	if (len <= 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a certificate of the chain could not be encoded for the certificate store */
				    _("A certificate of the chain cannot be encoded; ask the CA for the certificate again."));
		return NULL;
	}
	der = g_malloc(len);
	p = der;
	i2d_X509(x509, &p);
	item.data = der;
	item.len = (guint)len;
	cert = sym_CERT_NewTempCertificate(sym_CERT_GetDefaultCertDB(), &item, NULL, PR_FALSE, PR_TRUE);
	if (cert == NULL) {
		log_nss_error("CERT_NewTempCertificate");
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: the certificate store (NSS) does not accept a certificate of the chain; %s is its folder */
			    _("The certificate store in %s does not accept a certificate of the chain; ask the CA for the certificate again."),
			    dir);
	}
	return cert;
}

/* NSS names a certificate "token:nickname" when its token is not the first one; the nickname
 * Thunderbird and the tools show is the part after the token name */
static gchar *
bare_nickname(const CERTCertificate *cert)
{
	const gchar *nick = cert->nickname;

	if (nick == NULL || nick[0] == '\0')
		return NULL;
	if (cert->slot != NULL) {
		const gchar *token = sym_PK11_GetTokenName(cert->slot);
		gsize len = token != NULL ? strlen(token) : 0;
		if (len > 0 && strncmp(nick, token, len) == 0 && nick[len] == ':')
			nick += len + 1;
	}
	return g_strdup(nick);
}

/* NSS gives every certificate of one subject the same nickname: a renewed certificate
 * takes the nickname its predecessor has */
static gchar *
existing_subject_nickname(CERTCertificate *cert)
{
	g_autoptr(CERTCertList) list =
		sym_CERT_CreateSubjectCertList(NULL, sym_CERT_GetDefaultCertDB(), &cert->derSubject, sym_PR_Now(), PR_FALSE);

	if (list == NULL)
		return NULL;
	for (CERTCertListNode *n = CERT_LIST_HEAD(list); !CERT_LIST_END(n, list); n = CERT_LIST_NEXT(n)) {
		if (n->cert->isperm && n->cert->nickname != NULL && n->cert->nickname[0] != '\0')
			return bare_nickname(n->cert);
	}
	return NULL;
}

static gchar *
default_nickname(CERTCertificate *cert, gboolean is_ca)
{
	g_autofree gchar *issuer = NULL;
	const char *email = is_ca ? NULL : sym_CERT_GetFirstEmailAddress(cert);
	char *name = NULL;

	if (email == NULL || email[0] == '\0') {
		gchar *result;
		name = sym_CERT_GetCommonName(&cert->subject);
		if (name == NULL)
			name = sym_CERT_GetOrgName(&cert->subject);
		result = g_strdup(name != NULL ? name : (is_ca ? "CA" : "S/MIME"));
		sym_PORT_Free(name);
		return result;
	}
	name = sym_CERT_GetCommonName(&cert->issuer);
	if (name == NULL)
		name = sym_CERT_GetOrgName(&cert->issuer);
	if (name == NULL)
		return g_strdup(email);
	issuer = g_strdup(name);
	sym_PORT_Free(name);
	return g_strdup_printf("%s (%s)", email, issuer);
}

/* a nickname no certificate of another subject has, with " #2", " #3"… when needed */
static gchar *
pick_nickname(CERTCertificate *cert, const gchar *wanted, gboolean is_ca)
{
	g_autofree gchar *base = NULL;
	gchar *existing = existing_subject_nickname(cert);

	if (existing != NULL)
		return existing;
	base = wanted != NULL ? g_strdup(wanted) : default_nickname(cert, is_ca);
	if (!g_utf8_validate(base, -1, NULL) || strlen(base) > ME_NSSDB_NICKNAME_MAX)
		base = g_utf8_make_valid(base, MIN(strlen(base), ME_NSSDB_NICKNAME_MAX));
	if (!sym_SEC_CertNicknameConflict(base, &cert->derSubject, sym_CERT_GetDefaultCertDB()))
		return g_steal_pointer(&base);
	for (guint i = 2; i < 1000; i++) {
		g_autofree gchar *candidate = g_strdup_printf("%s #%u", base, i);
		if (!sym_SEC_CertNicknameConflict(candidate, &cert->derSubject, sym_CERT_GetDefaultCertDB()))
			return g_steal_pointer(&candidate);
	}
	return g_strdup_printf("%s #%" G_GINT64_FORMAT, base, g_get_real_time());
}

/* nsIX509Cert.dbKey as Thunderbird computes it (nsNSSCertificate::GetDbKey): base64 of
 * be32 0 (module), be32 0 (slot), be32 serial length, be32 issuer length, the serial's
 * DER contents, the issuer's DER */
static gchar *
compute_db_key(CERTCertificate *cert)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint32 header[4] = {0, 0, GUINT32_TO_BE(cert->serialNumber.len), GUINT32_TO_BE(cert->derIssuer.len)};

	g_byte_array_append(buf, (const guint8 *)header, sizeof(header));
	g_byte_array_append(buf, cert->serialNumber.data, cert->serialNumber.len);
	g_byte_array_append(buf, cert->derIssuer.data, cert->derIssuer.len);
	return g_base64_encode(buf->data, buf->len);
}

typedef struct {
	const gchar *dir;
	PK11SlotInfo *slot;
	PasswordCtx *pw;
	/* what this import added, removed again if a later step fails */
	GPtrArray *added_certs;
	SECKEYPrivateKey *added_key;
	MeNssdbImport *result;
} ImportCtx;

static gboolean
import_ca_cert(ImportCtx *ctx, CERTCertificate *cert, GError **error)
{
	g_autoptr(CERTCertificate) found = sym_PK11_FindCertFromDERCertItem(ctx->slot, &cert->derCert, ctx->pw);
	g_autofree gchar *nickname = NULL;

	if (found != NULL)
		return TRUE;
	nickname = pick_nickname(cert, NULL, TRUE);
	if (sym_PK11_ImportCert(ctx->slot, cert, CK_INVALID_HANDLE, nickname, PR_FALSE) != SECSuccess) {
		set_store_error(error, ctx->dir, "sym_PK11_ImportCert (CA)");
		return FALSE;
	}
	g_ptr_array_add(ctx->added_certs, sym_CERT_DupCertificate(cert));
	ctx->result->certs_added++;
	return TRUE;
}

static gboolean
key_to_pkcs8(EVP_PKEY *key, guint8 **der_out, gint *len_out)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	gint len;
	guint8 *der;
	guint8 *p;

	if (p8 == NULL)
		return FALSE;
	len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (len <= 0) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		return FALSE;
	}
	der = g_malloc(len);
	p = der;
	i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
	/* OpenSSL wipes the key octets when it frees a PKCS8_PRIV_KEY_INFO */
	PKCS8_PRIV_KEY_INFO_free(p8);
	*der_out = der;
	*len_out = len;
	return TRUE;
}

/* the private key, unless the database already has the key of this certificate; NSS files
 * it under the ID it derives from the public key, which binds it to the certificate */
static gboolean
import_key(ImportCtx *ctx, CERTCertificate *cert, EVP_PKEY *key, const gchar *nickname, GError **error)
{
	g_autoptr(SECKEYPrivateKey) existing = sym_PK11_FindKeyByAnyCert(cert, ctx->pw);
	g_autoptr(SECKEYPublicKey) pub = NULL;
	SECItem *public_value;
	guint8 *der = NULL;
	gint der_len = 0;
	SECItem der_item = {siBuffer, NULL, 0};
	SECItem nick_item = {siUTF8String, (unsigned char *)nickname, (guint)strlen(nickname)};
	guint key_usage = cert->keyUsagePresent ? cert->keyUsage : KU_ALL;
	SECStatus rv;

	if (existing != NULL)
		return TRUE;
	pub = sym_CERT_ExtractPublicKey(cert);
	if (pub == NULL) {
		set_store_error(error, ctx->dir, "CERT_ExtractPublicKey");
		return FALSE;
	}
	if (pub->keyType == rsaKey)
		public_value = &pub->u.rsa.modulus;
	else if (pub->keyType == ecKey)
		public_value = &pub->u.ec.publicValue;
	else {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the certificate's key is neither RSA nor EC */
				    _("The certificate has a key type the certificate store cannot take; enroll again with an RSA or EC key."));
		return FALSE;
	}
	if (!key_to_pkcs8(key, &der, &der_len)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_CRYPTO,
				    /* TRANSLATORS: the private key could not be prepared for the certificate store */
				    _("The private key cannot be prepared for the certificate store; check that the key in the keyring is intact."));
		return FALSE;
	}
	der_item.data = der;
	der_item.len = (guint)der_len;
	rv = sym_PK11_ImportDERPrivateKeyInfoAndReturnKey(ctx->slot, &der_item, &nick_item, public_value, PR_TRUE,
							  PR_TRUE, key_usage, &ctx->added_key, ctx->pw);
	me_secure_free(der, (gsize)der_len);
	if (rv != SECSuccess || ctx->added_key == NULL) {
		set_store_error(error, ctx->dir, "PK11_ImportDERPrivateKeyInfo");
		return FALSE;
	}
	ctx->result->key_added = TRUE;
	return TRUE;
}

static gboolean
import_user_cert(ImportCtx *ctx, CERTCertificate *cert, EVP_PKEY *key, const gchar *wanted, GError **error)
{
	g_autoptr(CERTCertificate) found = sym_PK11_FindCertFromDERCertItem(ctx->slot, &cert->derCert, ctx->pw);
	g_autoptr(PK11SlotInfo) key_slot = NULL;
	g_autofree gchar *nickname = NULL;
	CK_OBJECT_HANDLE key_handle = CK_INVALID_HANDLE;

	if (found != NULL)
		nickname = bare_nickname(found);
	if (nickname == NULL)
		nickname = pick_nickname(cert, wanted, FALSE);
	if (!import_key(ctx, cert, key, nickname, error))
		return FALSE;
	if (found == NULL) {
		key_slot = sym_PK11_KeyForCertExists(cert, &key_handle, ctx->pw);
		if (key_slot == NULL) {
			set_store_error(error, ctx->dir, "PK11_KeyForCertExists");
			return FALSE;
		}
		if (sym_PK11_ImportCert(key_slot, cert, key_handle, nickname, PR_FALSE) != SECSuccess) {
			set_store_error(error, ctx->dir, "sym_PK11_ImportCert (user)");
			return FALSE;
		}
		g_ptr_array_add(ctx->added_certs, sym_CERT_DupCertificate(cert));
		ctx->result->certs_added++;
	}
	ctx->result->nickname = g_steal_pointer(&nickname);
	ctx->result->db_key = compute_db_key(cert);
	return TRUE;
}

/* `,C,`: a valid CA for e-mail, added to whatever trust the certificate has for TLS and code */
static gboolean
trust_ca(ImportCtx *ctx, CERTCertificate *cert, GError **error)
{
	CERTCertTrust trust = {0};

	const guint explicit_trust = CERTDB_TRUSTED_CA | CERTDB_TRUSTED | CERTDB_TERMINAL_RECORD;

	if (!cert->isperm || sym_CERT_GetCertTrust(cert, &trust) != SECSuccess)
		memset(&trust, 0, sizeof(trust));
	if ((trust.emailFlags & (CERTDB_TRUSTED_CA | CERTDB_VALID_CA)) == (CERTDB_TRUSTED_CA | CERTDB_VALID_CA))
		return TRUE;
	/* keep a decision someone made for TLS or code signing, not what NSS merely implies
	 * for any CA certificate */
	if ((trust.sslFlags & explicit_trust) == 0)
		trust.sslFlags = 0;
	if ((trust.objectSigningFlags & explicit_trust) == 0)
		trust.objectSigningFlags = 0;
	trust.emailFlags |= CERTDB_TRUSTED_CA | CERTDB_VALID_CA;
	if (sym_CERT_ChangeCertTrust(sym_CERT_GetDefaultCertDB(), cert, &trust) != SECSuccess) {
		set_store_error(error, ctx->dir, "CERT_ChangeCertTrust");
		return FALSE;
	}
	ctx->result->trust_changed = TRUE;
	return TRUE;
}

/* never leave half an import behind: remove the key and certificates this import added */
static void
roll_back(ImportCtx *ctx)
{
	for (guint i = ctx->added_certs->len; i > 0; i--) {
		CERTCertificate *cert = g_ptr_array_index(ctx->added_certs, i - 1);
		if (sym_SEC_DeletePermCertificate(cert) != SECSuccess)
			log_nss_error("roll back: SEC_DeletePermCertificate");
	}
	if (ctx->added_key != NULL) {
		/* PK11_DeleteTokenPrivateKey() also destroys the handle */
		if (sym_PK11_DeleteTokenPrivateKey(ctx->added_key, PR_TRUE) != SECSuccess)
			log_nss_error("roll back: PK11_DeleteTokenPrivateKey");
		ctx->added_key = NULL;
	}
}

static gboolean
check_inputs(EVP_PKEY *key, GPtrArray *chain, const gchar *nickname, GError **error)
{
	if (key == NULL || chain == NULL || chain->len == 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the certificate store was asked to import without a key or certificate */
				    _("There is no certificate or key to add to the certificate store; finish the enrollment first."));
		return FALSE;
	}
	if (nickname != NULL && (nickname[0] == '\0' || strlen(nickname) > ME_NSSDB_NICKNAME_MAX ||
				 !g_utf8_validate(nickname, -1, NULL))) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the name given to the certificate in the store is empty, too long or not text; %d is the limit in bytes */
			    _("The certificate's name must be text of 1 to %d bytes; choose another name."),
			    ME_NSSDB_NICKNAME_MAX);
		return FALSE;
	}
	if (X509_check_private_key(g_ptr_array_index(chain, 0), key) != 1) {
		ERR_clear_error();
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the private key given for the import is not the certificate's key */
				    _("The private key does not belong to the certificate; import the key that was made for this certificate."));
		return FALSE;
	}
	for (const gchar *p = nickname; p != NULL && *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f) {
			g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the name given to the certificate in the store contains control characters; %d is the limit in bytes */
				    _("The certificate's name must be text of 1 to %d bytes; choose another name."),
				    ME_NSSDB_NICKNAME_MAX);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
import_all(ImportCtx *ctx, EVP_PKEY *key, GPtrArray *chain, const gchar *nickname, MeNssdbImportFlags flags,
	   GError **error)
{
	g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func((GDestroyNotify)sym_CERT_DestroyCertificate);

	for (guint i = 0; i < chain->len; i++) {
		CERTCertificate *cert = cert_from_x509(g_ptr_array_index(chain, i), ctx->dir, error);
		if (cert == NULL)
			return FALSE;
		g_ptr_array_add(certs, cert);
	}
	if ((flags & ME_NSSDB_IMPORT_FLAGS_TRUST_CA) != 0 && certs->len < 2) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the configuration asks to trust the CA, but the CA sent no CA certificate */
				    _("The CA's certificate is missing from the chain, so it cannot be trusted; add the CA certificate to the configuration."));
		return FALSE;
	}
	/* the CAs first, so the user certificate finds its issuer */
	for (guint i = 1; i < certs->len; i++) {
		if (!import_ca_cert(ctx, g_ptr_array_index(certs, i), error))
			return FALSE;
	}
	if (!import_user_cert(ctx, g_ptr_array_index(certs, 0), key, nickname, error))
		return FALSE;
	if ((flags & ME_NSSDB_IMPORT_FLAGS_TRUST_CA) != 0) {
		g_autoptr(CERTCertificate) ca = NULL;
		CERTCertificate *top = g_ptr_array_index(certs, certs->len - 1);
		ca = sym_PK11_FindCertFromDERCertItem(ctx->slot, &top->derCert, ctx->pw);
		if (!trust_ca(ctx, ca != NULL ? ca : top, error))
			return FALSE;
	}
	return TRUE;
}

/**
 * me_nssdb_import:
 * @dir: the database folder: a Thunderbird profile, or `~/.pki/nssdb`
 * @key: the certificate's private key
 * @chain: (element-type X509): the issued chain, end-entity first (me_csr_check_issued()
 *   has checked it)
 * @nickname: (nullable): the nickname for the certificate; %NULL for
 *   "<mailbox> (<issuer>)".  A certificate whose subject is already in the database takes
 *   the nickname that subject has, as NSS requires
 * @password: (nullable): the database's (Primary) password, if it has one
 * @flags: #MeNssdbImportFlags
 * @error: return location for a #GError
 *
 * Imports the key, the certificate and the intermediates into the NSS `sql:` database in
 * @dir, with the key bound to the certificate, the way Thunderbird's own PKCS#12 import
 * would.  Safe while Thunderbird runs on the profile: it sees the certificate at once.
 * Nothing that is already there is added twice, and a failure removes what this call added.
 * The key never touches a file outside the database, which stores it encrypted.
 *
 * Returns: (transfer full): what was done, or %NULL with @error set (%ME_ERROR_LOCKED for a
 *   missing or wrong Primary Password, %ME_ERROR_NOT_FOUND for a missing folder)
 */
MeNssdbImport *
me_nssdb_import(const gchar *dir, EVP_PKEY *key, GPtrArray *chain, const gchar *nickname, const gchar *password,
		MeNssdbImportFlags flags, GError **error)
{
	g_autoptr(GMutexLocker) locker = NULL;
	g_autoptr(MeNssdbImport) result = g_new0(MeNssdbImport, 1);
	g_autoptr(GPtrArray) added = NULL;
	g_autofree gchar *config = NULL;
	PasswordCtx pw = {password, 0};
	ImportCtx ctx = {dir, NULL, &pw, NULL, NULL, result};
	NSSInitContext *nss;
	gboolean ok;

	g_return_val_if_fail(dir != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!check_inputs(key, chain, nickname, error) || !nssdb_load(error) || !prepare_dir(dir, flags, error))
		return NULL;
	/* the free function is NSS's, known once NSS is loaded */
	added = g_ptr_array_new_with_free_func((GDestroyNotify)sym_CERT_DestroyCertificate);
	ctx.added_certs = added;

	locker = g_mutex_locker_new(&nss_mutex);
	config = g_strconcat("sql:", dir, NULL);
	nss = sym_NSS_InitContext(config, "", "", "", NULL, NSS_INIT_NOMODDB | NSS_INIT_NOROOTINIT);
	if (nss == NULL) {
		set_store_error(error, dir, "NSS_InitContext");
		return NULL;
	}
	sym_PK11_SetPasswordFunc(password_cb);
	ctx.slot = sym_PK11_GetInternalKeySlot();
	ok = ctx.slot != NULL && open_slot(ctx.slot, dir, &pw, error) &&
	     import_all(&ctx, key, chain, nickname, flags, error);
	if (!ok && ctx.slot == NULL)
		set_store_error(error, dir, "PK11_GetInternalKeySlot");
	if (!ok && ctx.slot != NULL)
		roll_back(&ctx);
	if (ctx.added_key != NULL)
		sym_SECKEY_DestroyPrivateKey(ctx.added_key);
	g_ptr_array_set_size(added, 0);
	if (ctx.slot != NULL)
		sym_PK11_FreeSlot(ctx.slot);
	if (sym_NSS_ShutdownContext(nss) != SECSuccess)
		log_nss_error("NSS_ShutdownContext");
	if (!ok)
		return NULL;
	g_debug("%s: nickname \"%s\", %u certificate(s) added, key %s", dir, result->nickname, result->certs_added,
		result->key_added ? "added" : "already there");
	return g_steal_pointer(&result);
}
