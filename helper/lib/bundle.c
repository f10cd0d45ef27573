/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeBundle"

#include "config.h"

#include "bundle.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <string.h>
#include <unistd.h>

#include "autocleanups.h"
#include "keys.h"

/* OpenSSL types autocleanups.h does not cover */

static gboolean
check_password(const gchar *password, GError **error)
{
	gsize len = strlen(password);

	if (len == 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the password for the exported certificate file was empty */
				    _("The password for the certificate file is empty; choose a password."));
		return FALSE;
	}
	if (len > ME_BUNDLE_PASSWORD_MAX) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: the password for the exported certificate file is too long; %d is the limit in bytes */
			    _("The password for the certificate file is too long; choose one of at most %d bytes."),
			    ME_BUNDLE_PASSWORD_MAX);
		return FALSE;
	}
	if (!g_utf8_validate(password, (gssize)len, NULL)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the password for the exported certificate file is not valid text */
				    _("The password for the certificate file is not valid UTF-8 text; type it again."));
		return FALSE;
	}
	return TRUE;
}

/* the MAC PKCS12_set_mac() wrote must be the one we asked for, and must verify */
static gboolean
check_mac(PKCS12 *p12, const gchar *password)
{
	const ASN1_OCTET_STRING *mac = NULL;
	const X509_ALGOR *mac_alg = NULL;
	const ASN1_OCTET_STRING *salt = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj = NULL;

	PKCS12_get0_mac(&mac, &mac_alg, &salt, &iter, p12);
	if (mac == NULL || mac_alg == NULL || iter == NULL)
		return FALSE;
	X509_ALGOR_get0(&obj, NULL, NULL, mac_alg);
	if (OBJ_obj2nid(obj) != NID_sha256 || ASN1_INTEGER_get(iter) != ME_BUNDLE_KDF_ITERATIONS)
		return FALSE;
	return PKCS12_verify_mac(p12, password, -1) == 1;
}

static gboolean
check_inputs(EVP_PKEY *key, GPtrArray *chain, const gchar *friendly_name, const gchar *password, GError **error)
{
	if (!check_password(password, error))
		return FALSE;
	if (friendly_name != NULL && !g_utf8_validate(friendly_name, -1, NULL)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the name given to the certificate in the exported file is not valid text */
				    _("The name for the certificate is not valid UTF-8 text; choose another name."));
		return FALSE;
	}
	if (chain->len == 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: there was no certificate to put into the exported file */
				    _("There is no certificate to export; request a certificate first."));
		return FALSE;
	}
	/* PKCS12_create_ex() checks this too, but its error says nothing a person can act on */
	if (X509_check_private_key(g_ptr_array_index(chain, 0), key) != 1) {
		ERR_clear_error();
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the private key does not belong to the certificate being exported */
				    _("The private key does not belong to the certificate; export the key the certificate was requested with."));
		return FALSE;
	}
	/* success */
	return TRUE;
}

/* the certificates after the end-entity one, each with a reference of its own */
static MeX509Stack *
chain_to_ca_stack(GPtrArray *chain)
{
	g_autoptr(MeX509Stack) ca = sk_X509_new_null();

	if (ca == NULL)
		return NULL;
	for (guint i = 1; i < chain->len; i++) {
		X509 *cert = g_ptr_array_index(chain, i);
		if (!X509_up_ref(cert))
			return NULL;
		if (!sk_X509_push(ca, cert)) {
			X509_free(cert);
			return NULL;
		}
	}
	return g_steal_pointer(&ca);
}

/* encodes straight into our own buffer, so no copy is left in OpenSSL's heap */
static GBytes *
pkcs12_to_der(PKCS12 *p12)
{
	guchar *der;
	guchar *p;
	int len = i2d_PKCS12(p12, NULL);

	if (len <= 0)
		return NULL;
	der = g_malloc((gsize)len);
	p = der;
	if (i2d_PKCS12(p12, &p) != len) {
		me_secure_free(der, (gsize)len);
		return NULL;
	}
	/* encrypted, so not secret; wiped anyway when freed, as it holds the key */
	return me_secure_bytes_new_take(der, (gsize)len);
}

/**
 * me_bundle_pkcs12_new:
 * @key: the certificate's private key
 * @chain: (element-type X509): the certificate chain, end-entity certificate first; the
 *   end-entity certificate must belong to @key
 * @friendly_name: (nullable): the UTF-8 name mail clients show for the certificate and key
 *   (PKCS#9 friendlyName on the end-entity certificate and the key)
 * @password: the password, non-empty UTF-8 of at most %ME_BUNDLE_PASSWORD_MAX bytes
 * @error: (nullable): return location
 *
 * Makes a PKCS#12 file (RFC 7292) holding @key and every certificate of @chain.  The key
 * bag and the certificate bags are encrypted with PBES2: PBKDF2 with HMAC-SHA256 and
 * %ME_BUNDLE_KDF_ITERATIONS iterations, and AES-256-CBC (RFC 8018); the whole is
 * protected by an HMAC-SHA256 MAC with the same iteration count.  The legacy PKCS#12 PBE
 * schemes (RC2, 3DES, SHA-1) are never used.
 *
 * Returns: (transfer full): the DER encoding, or %NULL with @error set to
 *   %ME_ERROR_INVALID_ARGUMENT (empty chain or password, password not UTF-8),
 *   %ME_ERROR_TOO_LARGE (password too long), %ME_ERROR_INVALID_DATA (@key is not the
 *   key of the end-entity certificate) or %ME_ERROR_CRYPTO
 */
GBytes *
me_bundle_pkcs12_new(EVP_PKEY *key, GPtrArray *chain, const gchar *friendly_name, const gchar *password,
		     GError **error)
{
	g_autoptr(MeX509Stack) ca = NULL;
	g_autoptr(PKCS12) p12 = NULL;
	GBytes *der;

	g_return_val_if_fail(key != NULL, NULL);
	g_return_val_if_fail(chain != NULL, NULL);
	g_return_val_if_fail(password != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	for (guint i = 0; i < chain->len; i++)
		g_return_val_if_fail(g_ptr_array_index(chain, i) != NULL, NULL);

	if (!check_inputs(key, chain, friendly_name, password, error))
		return NULL;
	ca = chain_to_ca_stack(chain);
	/* mac_iter -1: no MAC yet, as PKCS12_create_ex() would make it with SHA-1 */
	if (ca != NULL)
		p12 = PKCS12_create_ex(password, friendly_name, key, g_ptr_array_index(chain, 0), ca, NID_aes_256_cbc,
				       NID_aes_256_cbc, ME_BUNDLE_KDF_ITERATIONS, -1, 0, NULL, NULL);
	if (p12 == NULL || PKCS12_set_mac(p12, password, -1, NULL, 0, ME_BUNDLE_KDF_ITERATIONS, EVP_sha256()) != 1 ||
	    !check_mac(p12, password) || (der = pkcs12_to_der(p12)) == NULL) {
		/* TRANSLATORS: building the exported certificate file failed inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The certificate file could not be created."));
		return NULL;
	}
	/* success */
	return der;
}

/**
 * me_bundle_generate_password:
 *
 * Makes a password for the PKCS#12 file, to be shown to the person once: 30 characters
 * from %ME_BUNDLE_PASSWORD_ALPHABET (lower case and digits without 0, 1, l and o, so
 * nothing can be misread), in 6 groups of 5 joined by '-' (150 bits from RAND_bytes()),
 * e.g. `k7m2x-9qdfa-...`.
 *
 * Returns: (transfer full) (nullable): the password of %ME_BUNDLE_PASSWORD_LEN
 *   characters, free with me_secret_str_free(); %NULL only if the random number
 *   generator failed
 */
MeSecretStr *
me_bundle_generate_password(void)
{
	static const gchar alphabet[] = ME_BUNDLE_PASSWORD_ALPHABET;
	guchar random[ME_BUNDLE_PASSWORD_GROUPS * ME_BUNDLE_PASSWORD_GROUP_LEN];
	MeSecretStr *password;
	gsize out = 0;

	G_STATIC_ASSERT(sizeof(alphabet) - 1 == 32);
	if (RAND_bytes(random, sizeof(random)) != 1) {
		me_secure_wipe(random, sizeof(random));
		me_crypto_set_error(NULL, ME_ERROR_CRYPTO, "RAND_bytes failed");
		g_warning("The random number generator failed; no password was made");
		return NULL;
	}
	password = g_malloc(ME_BUNDLE_PASSWORD_LEN + 1);
	for (gsize i = 0; i < sizeof(random); i++) {
		if (i > 0 && i % ME_BUNDLE_PASSWORD_GROUP_LEN == 0)
			password[out++] = '-';
		/* 256 is a multiple of 32: no bias */
		password[out++] = alphabet[random[i] & 31];
	}
	password[out] = '\0';
	me_secure_wipe(random, sizeof(random));
	return password;
}

static void
set_write_error(GError **error, const gchar *path, const gchar *reason)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: saving the certificate file failed; %s is its path, then the system's reason */
		    _("The certificate file %s could not be saved (%s); choose another place."), display, reason);
}

/* a name taken by anything, even a dangling symbolic link; other lstat() errors are left
 * for the write to report */
static gboolean
path_exists(const gchar *path)
{
	GStatBuf st;

	return g_lstat(path, &st) == 0;
}

static void
set_exists_error(GError **error, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
		    /* TRANSLATORS: the certificate file would replace a file that is already there; %s is its path */
		    _("The file %s already exists; choose another name or allow replacing it."), display);
}

static gboolean
set_contents(const gchar *path, const gchar *target, GBytes *p12, GError **error)
{
	g_autoptr(GError) local = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(p12, &len);

	if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
		/* GLib's message names the temporary file: give the reason only */
		static const struct {
			GFileError code;
			int errnum;
		} reasons[] = {
		    {G_FILE_ERROR_NOENT, ENOENT}, {G_FILE_ERROR_ACCES, EACCES}, {G_FILE_ERROR_PERM, EPERM},
		    {G_FILE_ERROR_NOSPC, ENOSPC}, {G_FILE_ERROR_ROFS, EROFS},   {G_FILE_ERROR_NOTDIR, ENOTDIR},
		    {G_FILE_ERROR_ISDIR, EISDIR}, {G_FILE_ERROR_NAMETOOLONG, ENAMETOOLONG},
		};
		int errnum = EIO;

		g_debug("%s", local->message);
		for (gsize i = 0; i < G_N_ELEMENTS(reasons); i++) {
			if (g_error_matches(local, G_FILE_ERROR, reasons[i].code))
				errnum = reasons[i].errnum;
		}
		set_write_error(error, target, g_strerror(errnum));
		return FALSE;
	}
	return TRUE;
}

/**
 * me_bundle_write_pkcs12:
 * @path: where to save the file
 * @p12: the DER from me_bundle_pkcs12_new()
 * @flags: whether an existing file may be replaced
 * @error: (nullable): return location
 *
 * Saves @p12 atomically (a temporary file, fsync(), rename()) with mode 0600.  Without
 * %ME_BUNDLE_WRITE_FLAGS_OVERWRITE an existing file, directory or symbolic link at @path
 * is never replaced: the temporary file is hard-linked to @path, which fails if anything
 * is there.  On a file system without hard links (vfat) the check is a lstat() before the
 * rename, so a file created by someone else in between could still be replaced.
 *
 * Returns: %TRUE on success, or %FALSE with @error set to %ME_ERROR_INVALID_ARGUMENT
 *   (the file exists) or %ME_ERROR_FAILED
 */
gboolean
me_bundle_write_pkcs12(const gchar *path, GBytes *p12, MeBundleWriteFlags flags, GError **error)
{
	g_autofree gchar *tmp = NULL;
	int errsv;

	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(p12 != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (flags & ME_BUNDLE_WRITE_FLAGS_OVERWRITE)
		return set_contents(path, path, p12, error);

	if (path_exists(path)) {
		set_exists_error(error, path);
		return FALSE;
	}
	tmp = g_strdup_printf("%s.%08x%08x.tmp", path, g_random_int(), g_random_int());
	if (!set_contents(tmp, path, p12, error))
		return FALSE;
	if (link(tmp, path) == 0) {
		g_unlink(tmp);
		/* success */
		return TRUE;
	}
	errsv = errno;
	if (errsv == EEXIST) {
		g_unlink(tmp);
		set_exists_error(error, path);
		return FALSE;
	}
	if (errsv == EPERM || errsv == ENOTSUP || errsv == EOPNOTSUPP || errsv == ENOSYS || errsv == EMLINK) {
		/* no hard links here: check again, then rename */
		if (path_exists(path)) {
			g_unlink(tmp);
			set_exists_error(error, path);
			return FALSE;
		}
		if (g_rename(tmp, path) == 0) {
			/* success */
			return TRUE;
		}
		errsv = errno;
	}
	g_unlink(tmp);
	set_write_error(error, path, g_strerror(errsv));
	return FALSE;
}
