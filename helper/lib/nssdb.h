/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the NSS certificate database (sql: cert9.db + key4.db) of a Thunderbird profile or of
 * ~/.pki/nssdb: the only file that calls libnss3 */

#include <glib.h>
#include <openssl/evp.h>

#include "me-error.h"

G_BEGIN_DECLS

/* bytes of UTF-8 in a nickname, without the NUL */
#define ME_NSSDB_NICKNAME_MAX 256

/**
 * MeNssdbImportFlags:
 * @ME_NSSDB_IMPORT_FLAGS_NONE: import into an existing database; trust nothing
 * @ME_NSSDB_IMPORT_FLAGS_TRUST_CA: mark the chain's last CA certificate trusted for e-mail
 *   (certutil's `,C,`); only for an enterprise or private CA the configuration names, since
 *   public CAs are trusted by the mail client already
 * @ME_NSSDB_IMPORT_FLAGS_CREATE: create the folder (mode 0700) and an empty database with no
 *   password when they are missing, as for `~/.pki/nssdb`
 *
 * How me_nssdb_import() treats the database.
 */
typedef enum {
	ME_NSSDB_IMPORT_FLAGS_NONE = 0,
	ME_NSSDB_IMPORT_FLAGS_TRUST_CA = 1 << 0,
	ME_NSSDB_IMPORT_FLAGS_CREATE = 1 << 1,
} MeNssdbImportFlags;

/**
 * MeNssdbImport:
 * @nickname: the certificate's nickname in the database, which Thunderbird shows and which
 *   `mail.identity.*.signing_cert_name` names
 * @db_key: Thunderbird's `nsIX509Cert.dbKey` for the certificate, the preferred way for
 *   `mail.identity.*.signing_cert_dbkey` to find it
 * @certs_added: certificates of the chain that were not in the database before
 * @key_added: whether the private key was not in the database before
 * @trust_changed: whether the CA's trust flags were changed
 *
 * What me_nssdb_import() did.  A repeated import adds nothing and reports the same
 * @nickname and @db_key.
 */
typedef struct {
	gchar *nickname;
	gchar *db_key;
	guint certs_added;
	gboolean key_added;
	gboolean trust_changed;
} MeNssdbImport;

void
me_nssdb_import_free(MeNssdbImport *import);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeNssdbImport, me_nssdb_import_free)

gchar *
me_nssdb_get_user_dir(void);
MeNssdbImport *
me_nssdb_import(const gchar *dir, EVP_PKEY *key, GPtrArray *chain, const gchar *nickname,
		const gchar *password, MeNssdbImportFlags flags, GError **error);

G_END_DECLS
