/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeStore"

#include "config.h"

#include "store.h"

#include <glib/gi18n-lib.h>

#include "nssdb.h"
#include "thunderbird.h"

/**
 * me_store_install_free:
 * @install: (nullable): an install report
 *
 * Frees @install.
 */
void
me_store_install_free(MeStoreInstall *install)
{
	if (install == NULL)
		return;
	g_free(install->profile);
	g_free(install->nickname);
	g_free(install->db_key);
	g_free(install->identity);
	g_free(install);
}

/**
 * me_store_install_thunderbird:
 * @profile: the Thunderbird profile folder (me_tb_profile_find_launching() or
 *   me_tb_profile_get_default() find it)
 * @key: the certificate's private key
 * @chain: (element-type X509): the issued chain, end-entity first, checked by
 *   me_csr_check_issued()
 * @mailbox: the certificate's mailbox, which names the identity to bind
 * @usage: what the certificate is for: the binding is for signing, encryption or both
 * @password: (nullable): the profile's Primary Password, if it has one
 * @flags: #MeStoreFlags
 * @error: return location for a #GError
 *
 * Installs the certificate with its key and chain into the profile's NSS database
 * (me_nssdb_import()), and with %ME_STORE_FLAGS_BIND_IDENTITY binds it to the identity that
 * uses @mailbox.  The identity is looked up before anything is imported, so a profile
 * without one is left as it was.  While Thunderbird runs on the profile the certificate is
 * imported (Thunderbird sees it at once) but user.js is left alone: the report carries the
 * nickname and dbKey for the extension to bind.  Installing again changes nothing and
 * reports the same binding.
 *
 * Returns: (transfer full): what was done, or %NULL with @error set
 */
MeStoreInstall *
me_store_install_thunderbird(const gchar *profile, EVP_PKEY *key, GPtrArray *chain, const gchar *mailbox,
			     MeKeyUsage usage, const gchar *password, MeStoreFlags flags, GError **error)
{
	g_autoptr(MeStoreInstall) result = g_new0(MeStoreInstall, 1);
	g_autoptr(MeNssdbImport) imp = NULL;
	MeNssdbImportFlags import_flags = ME_NSSDB_IMPORT_FLAGS_NONE;
	gboolean bind = (flags & ME_STORE_FLAGS_BIND_IDENTITY) != 0;

	g_return_val_if_fail(profile != NULL, NULL);
	g_return_val_if_fail(mailbox != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (usage != ME_KEY_USAGE_SIGNING && usage != ME_KEY_USAGE_ENCRYPTION && usage != ME_KEY_USAGE_DUAL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the certificate's use must be signing, encryption or both */
				    _("Say whether the certificate is for signing, encryption or both."));
		return NULL;
	}
	result->profile = g_strdup(profile);
	result->signing = usage != ME_KEY_USAGE_ENCRYPTION;
	result->encryption = usage != ME_KEY_USAGE_SIGNING;
	if (bind) {
		result->identity = me_tb_prefs_find_identity(profile, mailbox, error);
		if (result->identity == NULL)
			return NULL;
	}
	if ((flags & ME_STORE_FLAGS_TRUST_CA) != 0)
		import_flags |= ME_NSSDB_IMPORT_FLAGS_TRUST_CA;
	imp = me_nssdb_import(profile, key, chain, NULL, password, import_flags, error);
	if (imp == NULL)
		return NULL;
	result->nickname = g_steal_pointer(&imp->nickname);
	result->db_key = g_steal_pointer(&imp->db_key);
	result->certs_added = imp->certs_added;
	result->thunderbird_running = me_tb_profile_is_running(profile, NULL);

	if (bind && !result->thunderbird_running) {
		MeTbCertBinding binding = {
		    .nickname = result->nickname,
		    .db_key = result->db_key,
		    .signing = result->signing,
		    .encryption = result->encryption,
		    .sign_by_default = result->signing && (flags & ME_STORE_FLAGS_SIGN_BY_DEFAULT) != 0,
		};
		g_autoptr(GError) bind_error = NULL;
		if (!me_tb_user_js_bind_identity(profile, result->identity, &binding, &bind_error)) {
			/* Thunderbird started between the check and the write: the extension binds */
			if (!g_error_matches(bind_error, ME_ERROR, ME_ERROR_BUSY)) {
				g_propagate_error(error, g_steal_pointer(&bind_error));
				return NULL;
			}
			result->thunderbird_running = TRUE;
		} else {
			result->bound = TRUE;
		}
	}
	g_debug("%s: \"%s\" installed%s%s", profile, result->nickname,
		result->bound ? ", bound to " : "", result->bound ? result->identity : "");
	return g_steal_pointer(&result);
}
