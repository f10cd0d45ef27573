/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* Thunderbird's profiles on disk: where they are (profiles.ini, installs.ini), whether a
 * Thunderbird holds one (its lock), which identity has an address (prefs.js, user.js), and the
 * user.js lines that bind a certificate to an identity.  The only file that knows this layout;
 * the certificate database itself is nssdb.c's. */

#include <glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/* the most bytes of profiles.ini or installs.ini read */
#define ME_TB_PROFILES_INI_MAX (1024u * 1024u)
/* the most [ProfileN] sections of one profiles.ini */
#define ME_TB_PROFILES_MAX 256u
/* the most bytes of prefs.js or user.js read */
#define ME_TB_PREFS_FILE_MAX (16u * 1024u * 1024u)
/* the most bytes of /proc/PID/cmdline read */
#define ME_TB_CMDLINE_MAX (64u * 1024u)
/* bounds of the values me_tb_user_js_bind_identity() writes, in bytes */
#define ME_TB_IDENTITY_KEY_MAX 64u
#define ME_TB_NICKNAME_MAX     512u
#define ME_TB_DB_KEY_MAX       4096u

/**
 * MeTbProfile:
 * @name: (nullable): `Name=` from profiles.ini; %NULL for a profile known only by its path
 * @path: the absolute path of the profile folder
 * @is_default: whether Thunderbird starts this profile when none is named
 *
 * One Thunderbird profile.
 */
typedef struct {
	gchar *name;
	gchar *path;
	gboolean is_default;
} MeTbProfile;

void
me_tb_profile_free(MeTbProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTbProfile, me_tb_profile_free)

MeTbProfile *
me_tb_profile_new_for_path(const gchar *path, GError **error);
GPtrArray *
me_tb_profiles_list(const gchar *home, GError **error);
MeTbProfile *
me_tb_profile_get_default(const gchar *home, GError **error);
MeTbProfile *
me_tb_profile_find_launching(const gchar *home, GPid pid, GError **error);
gboolean
me_tb_profile_is_running(const gchar *profile_path, GPid *pid_out);
MeTbProfile *
me_tb_profile_verify_claimed(const gchar *home, const gchar *path, GPid launcher, GError **error);

/**
 * MeTbSandbox:
 * @ME_TB_SANDBOX_SNAP: Ubuntu's Thunderbird snap, `~/snap/thunderbird`
 * @ME_TB_SANDBOX_FLATPAK: Flathub's `org.mozilla.Thunderbird`, `~/.var/app/org.mozilla.Thunderbird`
 *
 * A sandboxed Thunderbird, which starts native-messaging hosts through the WebExtensions
 * desktop portal (or xdg-native-messaging-proxy); both read the manifest from the same
 * folders as a deb Thunderbird, `~/.mozilla/native-messaging-hosts` first.
 */
typedef enum {
	ME_TB_SANDBOX_SNAP,
	ME_TB_SANDBOX_FLATPAK,
} MeTbSandbox;

const gchar *
me_tb_sandbox_to_string(MeTbSandbox sandbox);
gchar *
me_tb_sandbox_get_folder(const gchar *home, MeTbSandbox sandbox);

/**
 * MeTbPrefType:
 * @ME_TB_PREF_TYPE_STRING: a string, kept as UTF-8
 * @ME_TB_PREF_TYPE_INT: an integer, kept in decimal
 * @ME_TB_PREF_TYPE_BOOL: `true` or `false`
 *
 * The type of a pref's value.
 */
typedef enum {
	ME_TB_PREF_TYPE_STRING,
	ME_TB_PREF_TYPE_INT,
	ME_TB_PREF_TYPE_BOOL,
} MeTbPrefType;

/**
 * MeTbPref:
 * @type: the type of the value
 * @value: the value as text: the decoded string, the integer in decimal, or `true`/`false`
 * @is_user: whether it was set by `user_pref()` rather than `pref()` or `sticky_pref()`
 *
 * One pref as a prefs file sets it.
 */
typedef struct {
	MeTbPrefType type;
	gchar *value;
	gboolean is_user;
} MeTbPref;

void
me_tb_pref_free(MeTbPref *pref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTbPref, me_tb_pref_free)

GHashTable *
me_tb_prefs_load_file(const gchar *path, GError **error);
gchar *
me_tb_prefs_find_identity(const gchar *profile_path, const gchar *mailbox, GError **error);

/**
 * MeTbCertBinding:
 * @nickname: the certificate's NSS nickname, which Thunderbird shows as its name
 * @db_key: the certificate's `nsIX509Cert.dbKey`, base64
 * @signing: bind it as the identity's signing certificate
 * @encryption: bind it as the identity's encryption certificate
 * @sign_by_default: also sign every message by default (`sign_mail`); needs @signing
 *
 * The S/MIME certificate of an identity, as me_tb_user_js_bind_identity() writes it.
 */
typedef struct {
	const gchar *nickname;
	const gchar *db_key;
	gboolean signing;
	gboolean encryption;
	gboolean sign_by_default;
} MeTbCertBinding;

gboolean
me_tb_user_js_bind_identity(const gchar *profile_path,
			    const gchar *identity_key,
			    const MeTbCertBinding *binding,
			    GError **error);

G_END_DECLS
