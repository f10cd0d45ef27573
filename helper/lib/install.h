/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* installing an issued certificate where the person wants it: a Thunderbird profile, an NSS
 * database or a PKCS#12 file, and a renewed one where the certificate it replaces went.  Both
 * front-ends call it; they only gather the options and show the result */

#include <glib.h>

#include "enroll.h"
#include "me-config.h"
#include "me-error.h"
#include "secmem.h"

G_BEGIN_DECLS

/**
 * MeInstallStore:
 * @ME_INSTALL_STORE_AUTO: the store an explicit target of #MeInstallOptions names, else
 *   where the last certificate went (unless that was a PKCS#12 file), else the configured
 *   store
 * @ME_INSTALL_STORE_THUNDERBIRD: a Thunderbird profile's NSS database
 * @ME_INSTALL_STORE_NSSDB: an NSS database folder
 * @ME_INSTALL_STORE_PKCS12: a PKCS#12 file
 *
 * Where me_install_certificate() puts the certificate.
 */
typedef enum {
	ME_INSTALL_STORE_AUTO = 0,
	ME_INSTALL_STORE_THUNDERBIRD,
	ME_INSTALL_STORE_NSSDB,
	ME_INSTALL_STORE_PKCS12,
} MeInstallStore;

gboolean
me_install_store_from_string(const gchar *text, MeInstallStore *store, GError **error);
const gchar *
me_install_store_to_string(MeInstallStore store);

/**
 * MeInstallOptions:
 * @store: where the certificate goes
 * @configured_store: the configuration's `store=`, for %ME_INSTALL_STORE_AUTO when the
 *   certificate was never installed
 * @profile: (nullable): the Thunderbird profile folder; %NULL for where the last certificate
 *   went, else @launcher_profile, else the profile of @launcher, else the default profile.  With @store
 *   %ME_INSTALL_STORE_AUTO, @nssdb, @output or @profile (one of them) chooses the store
 *   itself: an explicit target wins over the last one and over @configured_store
 * @launcher_profile: (nullable): the profile the caller's Thunderbird is known to use (the
 *   add-on named it and me_tb_profile_verify_claimed() took it); it stands for @launcher's
 * @launcher: the Thunderbird process that started the caller (its profile is the default),
 *   or 0
 * @nssdb: (nullable): the NSS database folder; %NULL for where the last certificate went,
 *   else `~/.pki/nssdb`
 * @output: (nullable): the PKCS#12 file to write; needed for %ME_INSTALL_STORE_PKCS12
 * @bind: bind the certificate to the Thunderbird identity of the mailbox (a renewal is
 *   bound also when the certificate it replaces was)
 * @trust_ca: mark the issuing CA trusted for mail in the store
 * @progress: (nullable): where the progress sentence goes
 * @progress_data: its user data
 *
 * What me_install_certificate() is asked to do.
 */
typedef struct {
	MeInstallStore store;
	MeConfigStore configured_store;
	const gchar *profile;
	const gchar *launcher_profile;
	GPid launcher;
	const gchar *nssdb;
	const gchar *output;
	gboolean bind;
	gboolean trust_ca;
	MeEnrollProgressFunc progress;
	gpointer progress_data;
} MeInstallOptions;

/**
 * MeInstallResult:
 * @store: where the certificate went (never %ME_INSTALL_STORE_AUTO)
 * @location: the profile folder, database folder or file
 * @nickname: (nullable): the certificate's nickname in the database
 * @db_key: (nullable): Thunderbird's dbKey of the certificate
 * @identity: (nullable): the identity key (`id3`) the certificate is bound to
 * @signing: the certificate is for signing (Thunderbird only)
 * @encryption: the certificate is for encryption (Thunderbird only)
 * @bound: the binding was written into the profile's user.js
 * @password: (nullable): the generated password of the PKCS#12 file, to be shown once
 *
 * What me_install_certificate() did; the enrollment recorded it already.
 */
typedef struct {
	MeInstallStore store;
	gchar *location;
	gchar *nickname;
	gchar *db_key;
	gchar *identity;
	gboolean signing;
	gboolean encryption;
	gboolean bound;
	MeSecretStr *password;
} MeInstallResult;

void
me_install_result_free(MeInstallResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeInstallResult, me_install_result_free)

gboolean
me_install_check_target(MeEnroll *enroll, const MeInstallOptions *options, GError **error);
MeInstallResult *
me_install_certificate(MeEnroll *enroll, const gchar *mailbox, const MeInstallOptions *options, GError **error);

G_END_DECLS
