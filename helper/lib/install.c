/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeInstall"

#include "config.h"

#include "install.h"

#include <glib/gi18n-lib.h>

#include "autocleanups.h"
#include "bundle.h"
#include "nssdb.h"
#include "store.h"
#include "thunderbird.h"

/* the names the enrollment's state records (me_enroll_mark_installed()) and --store takes */
static const gchar *const store_names[] = {
    [ME_INSTALL_STORE_THUNDERBIRD] = "thunderbird",
    [ME_INSTALL_STORE_NSSDB] = "nssdb",
    [ME_INSTALL_STORE_PKCS12] = "pkcs12",
};

static gboolean
store_lookup(const gchar *text, MeInstallStore *store)
{
	for (guint i = ME_INSTALL_STORE_THUNDERBIRD; i < G_N_ELEMENTS(store_names); i++) {
		if (g_strcmp0(text, store_names[i]) == 0) {
			*store = (MeInstallStore)i;
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * me_install_store_from_string:
 * @text: `thunderbird`, `nssdb` or `pkcs12`
 * @store: (out): the store it names
 * @error: return location for a #GError
 *
 * Reads a store's name, as the command line's `--store` gives it.
 *
 * Returns: %TRUE when @text names a store
 */
gboolean
me_install_store_from_string(const gchar *text, MeInstallStore *store, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (store_lookup(text, store))
		return TRUE;
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
		    /* TRANSLATORS: --store named an unknown store; %s is what was given */
		    _("“%s” is not a store; use thunderbird, nssdb or pkcs12."), text);
	return FALSE;
}

/**
 * me_install_store_to_string:
 * @store: a #MeInstallStore
 *
 * Returns: the store's name, or %NULL for %ME_INSTALL_STORE_AUTO
 */
const gchar *
me_install_store_to_string(MeInstallStore store)
{
	if ((guint)store >= G_N_ELEMENTS(store_names))
		return NULL;
	return store_names[store];
}

/**
 * me_install_result_free:
 * @result: (nullable): an install result
 *
 * Frees @result and wipes the password it holds.
 */
void
me_install_result_free(MeInstallResult *result)
{
	if (result == NULL)
		return;
	g_free(result->location);
	g_free(result->nickname);
	g_free(result->db_key);
	g_free(result->identity);
	me_secret_str_free(result->password);
	g_free(result);
}

/* what is installed, and how, when nobody says: a renewed (or re-installed) certificate goes
 * where the last one went, bound as it was; a PKCS#12 file is written only where asked */
typedef struct {
	MeInstallStore store;
	const gchar *location;
	gboolean bind;
} Target;

/* the store an explicit target option names: --nssdb DIR, --output FILE or --profile DIR;
 * it wins over where the last certificate went and over the configuration's store= */
static gboolean
explicit_store(const MeInstallOptions *options, MeInstallStore *store, GError **error)
{
	guint given = (options->nssdb != NULL) + (options->output != NULL) + (options->profile != NULL);

	*store = ME_INSTALL_STORE_AUTO;
	if (given > 1) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: several of --nssdb, --output and --profile were given without --store; keep the option names */
				    _("--nssdb, --output and --profile each name a different place for the certificate; give only one, or choose with --store."));
		return FALSE;
	}
	if (options->nssdb != NULL)
		*store = ME_INSTALL_STORE_NSSDB;
	else if (options->output != NULL)
		*store = ME_INSTALL_STORE_PKCS12;
	else if (options->profile != NULL)
		*store = ME_INSTALL_STORE_THUNDERBIRD;
	return TRUE;
}

static gboolean
choose_target(MeEnroll *enroll, const MeInstallOptions *options, Target *out, GError **error)
{
	Target target = {options->store, NULL, options->bind};
	JsonObject *last = me_enroll_get_last_install(enroll);
	MeInstallStore last_store = ME_INSTALL_STORE_AUTO;

	if (target.store == ME_INSTALL_STORE_AUTO && !explicit_store(options, &target.store, error))
		return FALSE;
	*out = target;
	if (target.store != ME_INSTALL_STORE_AUTO)
		return TRUE;
	if (last != NULL &&
	    store_lookup(json_object_get_string_member_with_default(last, "store", NULL), &last_store) &&
	    last_store != ME_INSTALL_STORE_PKCS12) {
		target.store = last_store;
		target.location = json_object_get_string_member_with_default(last, "location", NULL);
		target.bind = target.bind || json_object_get_boolean_member_with_default(last, "bound", FALSE);
		*out = target;
		return TRUE;
	}
	target.store = options->configured_store == ME_CONFIG_STORE_NSSDB    ? ME_INSTALL_STORE_NSSDB
		       : options->configured_store == ME_CONFIG_STORE_PKCS12 ? ME_INSTALL_STORE_PKCS12
									     : ME_INSTALL_STORE_THUNDERBIRD;
	*out = target;
	return TRUE;
}

static MeTbProfile *
find_profile(const MeInstallOptions *options, const Target *target, GError **error)
{
	const gchar *path = options->profile != NULL ? options->profile : target->location;

	if (path != NULL)
		return me_tb_profile_new_for_path(path, error);
	if (options->launcher_profile != NULL)
		return me_tb_profile_new_for_path(options->launcher_profile, error);
	if (options->launcher != 0)
		return me_tb_profile_find_launching(NULL, options->launcher, error);
	return me_tb_profile_get_default(NULL, error);
}

static MeInstallResult *
install_thunderbird(MeEnroll *enroll, const gchar *mailbox, EVP_PKEY *key, GPtrArray *chain,
		    const MeInstallOptions *options, const Target *target, GError **error)
{
	g_autoptr(MeTbProfile) profile = find_profile(options, target, error);
	g_autoptr(MeStoreInstall) inst = NULL;
	MeInstallResult *result;
	MeStoreFlags flags = (options->trust_ca ? ME_STORE_FLAGS_TRUST_CA : ME_STORE_FLAGS_NONE) |
			     (target->bind ? ME_STORE_FLAGS_BIND_IDENTITY : ME_STORE_FLAGS_NONE);

	if (profile == NULL)
		return NULL;
	inst = me_store_install_thunderbird(profile->path, key, chain, mailbox, me_enroll_get_usage(enroll), NULL, flags,
					    error);
	if (inst == NULL)
		return NULL;
	result = g_new0(MeInstallResult, 1);
	result->store = ME_INSTALL_STORE_THUNDERBIRD;
	result->location = g_steal_pointer(&inst->profile);
	result->nickname = g_steal_pointer(&inst->nickname);
	result->db_key = g_steal_pointer(&inst->db_key);
	result->identity = g_steal_pointer(&inst->identity);
	result->signing = inst->signing;
	result->encryption = inst->encryption;
	result->bound = inst->bound;
	return result;
}

static MeInstallResult *
install_nssdb(EVP_PKEY *key, GPtrArray *chain, const MeInstallOptions *options, const Target *target,
	      GError **error)
{
	g_autofree gchar *dir = options->nssdb != NULL	   ? g_strdup(options->nssdb)
				: target->location != NULL ? g_strdup(target->location)
							   : me_nssdb_get_user_dir();
	MeNssdbImportFlags flags =
	    ME_NSSDB_IMPORT_FLAGS_CREATE | (options->trust_ca ? ME_NSSDB_IMPORT_FLAGS_TRUST_CA : ME_NSSDB_IMPORT_FLAGS_NONE);
	g_autoptr(MeNssdbImport) imp = me_nssdb_import(dir, key, chain, NULL, NULL, flags, error);
	MeInstallResult *result;

	if (imp == NULL)
		return NULL;
	result = g_new0(MeInstallResult, 1);
	result->store = ME_INSTALL_STORE_NSSDB;
	result->location = g_steal_pointer(&dir);
	result->nickname = g_steal_pointer(&imp->nickname);
	result->db_key = g_steal_pointer(&imp->db_key);
	return result;
}

static MeInstallResult *
install_pkcs12(const gchar *mailbox, EVP_PKEY *key, GPtrArray *chain, const MeInstallOptions *options,
	       GError **error)
{
	g_autoptr(MeSecretStr) password = NULL;
	g_autoptr(GBytes) p12 = NULL;
	MeInstallResult *result;

	if (options->output == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: a PKCS#12 export needs --output */
				    _("Say where the certificate file goes with --output FILE."));
		return NULL;
	}
	password = me_bundle_generate_password();
	p12 = me_bundle_pkcs12_new(key, chain, mailbox, password, error);
	if (p12 == NULL || !me_bundle_write_pkcs12(options->output, p12, ME_BUNDLE_WRITE_FLAGS_NONE, error))
		return NULL;
	result = g_new0(MeInstallResult, 1);
	result->store = ME_INSTALL_STORE_PKCS12;
	result->location = g_strdup(options->output);
	result->password = g_steal_pointer(&password);
	return result;
}

/* the default Thunderbird profile is missing: the certificate would have nowhere to go */
static void
set_no_profile_error(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: before a certificate is requested: no Thunderbird profile to install it into; keep --nssdb, --output, --store and store= */
			    _("No Thunderbird profile was found to install the certificate into; give --nssdb DIR or --output FILE (or --store), or set store=nssdb or store=pkcs12 in mailenroll.conf."));
}

/**
 * me_install_check_target:
 * @enroll: an enrollment, maybe not issued yet
 * @options: where and how, as me_install_certificate() will be asked
 * @error: return location for a #GError
 *
 * Checks, before a certificate is requested, that me_install_certificate() with @options
 * will have somewhere to put it: a Thunderbird profile is found, a PKCS#12 export names its
 * file.  So no certificate is issued that cannot be installed.
 *
 * Returns: %TRUE when the target is usable
 */
gboolean
me_install_check_target(MeEnroll *enroll, const MeInstallOptions *options, GError **error)
{
	Target target;
	g_autoptr(MeTbProfile) profile = NULL;
	g_autoptr(GError) local = NULL;

	g_return_val_if_fail(enroll != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!choose_target(enroll, options, &target, error))
		return FALSE;
	if (target.store == ME_INSTALL_STORE_PKCS12 && options->output == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: a PKCS#12 export needs --output */
				    _("Say where the certificate file goes with --output FILE."));
		return FALSE;
	}
	if (target.store != ME_INSTALL_STORE_THUNDERBIRD)
		return TRUE;
	profile = find_profile(options, &target, &local);
	if (profile != NULL)
		return TRUE;
	/* the default profile missing is what the person can fix with another target; a named
	 * profile that is wrong, or several profiles, say so themselves */
	if (options->profile == NULL && target.location == NULL &&
	    g_error_matches(local, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		set_no_profile_error(error);
		return FALSE;
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/**
 * me_install_certificate:
 * @enroll: an issued enrollment
 * @mailbox: its mailbox, as the person gave it (names the Thunderbird identity and the
 *   PKCS#12 file's friendly name)
 * @options: where and how
 * @error: return location for a #GError
 *
 * Installs the issued certificate with its key and chain into the store @options names
 * (or, for %ME_INSTALL_STORE_AUTO, where the last one went), and records in the enrollment
 * where it went, so that the next renewal goes there too.
 *
 * Returns: (transfer full): what was installed, or %NULL with @error set
 */
MeInstallResult *
me_install_certificate(MeEnroll *enroll, const gchar *mailbox, const MeInstallOptions *options, GError **error)
{
	Target target;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(GPtrArray) chain = NULL;
	g_autoptr(MeInstallResult) result = NULL;

	g_return_val_if_fail(enroll != NULL, NULL);
	g_return_val_if_fail(mailbox != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!choose_target(enroll, options, &target, error) || !me_enroll_load_certificate(enroll, &key, &chain, error))
		return NULL;
	if (options->progress != NULL)
		options->progress(ME_STATE_STEP_INSTALLED,
				  /* TRANSLATORS: progress: the certificate is put into the mail program's store */
				  _("Installing the certificate…"), options->progress_data);
	switch (target.store) {
	case ME_INSTALL_STORE_NSSDB:
		result = install_nssdb(key, chain, options, &target, error);
		break;
	case ME_INSTALL_STORE_PKCS12:
		result = install_pkcs12(mailbox, key, chain, options, error);
		break;
	default:
		result = install_thunderbird(enroll, mailbox, key, chain, options, &target, error);
		break;
	}
	if (result == NULL) {
		if (error != NULL && *error != NULL)
			me_enroll_note_failure(enroll, ME_STATE_STEP_INSTALLED, *error);
		return NULL;
	}
	if (!me_enroll_mark_installed(enroll, me_install_store_to_string(result->store), result->location,
				      result->nickname, result->db_key, result->bound, error))
		return NULL;
	return g_steal_pointer(&result);
}
