/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* installing an issued certificate into a mail client: the Thunderbird profile's NSS
 * database and the identity that uses the mailbox (nssdb.c and thunderbird.c together) */

#include <glib.h>
#include <openssl/evp.h>

#include "keys.h"
#include "me-error.h"

G_BEGIN_DECLS

/**
 * MeStoreFlags:
 * @ME_STORE_FLAGS_NONE: import only
 * @ME_STORE_FLAGS_TRUST_CA: mark the chain's CA trusted for e-mail (an enterprise or private
 *   CA the configuration names; see %ME_NSSDB_IMPORT_FLAGS_TRUST_CA)
 * @ME_STORE_FLAGS_BIND_IDENTITY: bind the certificate to the profile's identity for the
 *   mailbox: written into user.js when Thunderbird is not running, otherwise reported for
 *   the extension to bind
 * @ME_STORE_FLAGS_SIGN_BY_DEFAULT: with a binding for signing, also sign every message by
 *   default
 *
 * What me_store_install_thunderbird() does besides the import.
 */
typedef enum {
	ME_STORE_FLAGS_NONE = 0,
	ME_STORE_FLAGS_TRUST_CA = 1 << 0,
	ME_STORE_FLAGS_BIND_IDENTITY = 1 << 1,
	ME_STORE_FLAGS_SIGN_BY_DEFAULT = 1 << 2,
} MeStoreFlags;

/**
 * MeStoreInstall:
 * @profile: the profile folder
 * @nickname: the certificate's nickname (for `mail.identity.*.signing_cert_name`)
 * @db_key: Thunderbird's dbKey of the certificate (for `*_cert_dbkey`)
 * @identity: (nullable): the identity key (`id3`) that uses the mailbox, when a binding was
 *   asked for
 * @signing: the certificate is for signing (bind it as `signing_cert_*`)
 * @encryption: the certificate is for encryption (bind it as `encryption_cert_*`)
 * @bound: the binding was written into user.js
 * @thunderbird_running: Thunderbird had the profile open, so the binding is left to the
 *   extension (it takes effect at once there), and user.js was not touched
 * @certs_added: certificates new to the database; 0 when this was installed before
 *
 * What me_store_install_thunderbird() did.
 */
typedef struct {
	gchar *profile;
	gchar *nickname;
	gchar *db_key;
	gchar *identity;
	gboolean signing;
	gboolean encryption;
	gboolean bound;
	gboolean thunderbird_running;
	guint certs_added;
} MeStoreInstall;

void
me_store_install_free(MeStoreInstall *install);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeStoreInstall, me_store_install_free)

MeStoreInstall *
me_store_install_thunderbird(const gchar *profile, EVP_PKEY *key, GPtrArray *chain, const gchar *mailbox,
			     MeKeyUsage usage, const gchar *password, MeStoreFlags flags, GError **error);

G_END_DECLS
