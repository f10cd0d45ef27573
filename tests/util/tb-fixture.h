/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* a real Thunderbird for the tests: Debian's package started headless in a home folder of
 * the test's own, in a process group of its own; it dies with the test */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MeTestThunderbird MeTestThunderbird;

/* one IMAP account with one identity and one SMTP server, all plain (no TLS); SMTP
 * without authentication */
typedef struct {
	const gchar *imap_host; /* %NULL: 127.0.0.1 */
	guint16 imap_port;
	const gchar *imap_user;
	const gchar *full_name;
	const gchar *email;
	const gchar *smtp_host; /* %NULL: 127.0.0.1 */
	guint16 smtp_port;
} MeTestTbAccount;

const gchar *
me_test_thunderbird_base_prefs(void);
gchar *
me_test_thunderbird_make_profile(const gchar *parent, const gchar *name, const gchar *extra_user_js);
gchar *
me_test_thunderbird_account_prefs(const MeTestTbAccount *account);
gboolean
me_test_thunderbird_seed_login(const gchar *profile, const gchar *origin, const gchar *username,
			       const gchar *password, GError **error);
gboolean
me_test_thunderbird_install_extension(const gchar *profile, const gchar *extension_id, const gchar *path,
				      GError **error);
gchar *
me_test_thunderbird_write_host_manifest(const gchar *home, const gchar *helper_path, GError **error);
MeTestThunderbird *
me_test_thunderbird_start(const gchar *home, const gchar *profile, GError **error);
MeTestThunderbird *
me_test_thunderbird_start_with_env(const gchar *home, const gchar *profile, const gchar *const *env, GError **error);
GPid
me_test_thunderbird_get_pid(MeTestThunderbird *tb);
const gchar *
me_test_thunderbird_get_profile(MeTestThunderbird *tb);
gchar *
me_test_thunderbird_get_log(MeTestThunderbird *tb);
void
me_test_thunderbird_stop(MeTestThunderbird *tb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestThunderbird, me_test_thunderbird_stop)

/* a sandboxed Thunderbird's profile as a Snap or Flatpak leaves it in a home folder, held by
 * a stand-in: a copy of sleep(1) named thunderbird, which the lock names.  No snapd and no
 * Flatpak runtime run here; what the helper checks (the folders, the ini files, the lock,
 * the process's name and owner) is all real. */
typedef enum {
	ME_TEST_TB_SNAP,
	ME_TEST_TB_FLATPAK,
} MeTestTbLayout;

typedef struct {
	gchar *root;	/* the folder with profiles.ini */
	gchar *profile; /* the profile folder */
	GSubprocess *thunderbird;
	GPid pid;
} MeTestSandboxTb;

MeTestSandboxTb *
me_test_sandbox_tb_start(const gchar *home, MeTestTbLayout layout, const gchar *prefs_js);
void
me_test_sandbox_tb_stop(MeTestSandboxTb *tb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestSandboxTb, me_test_sandbox_tb_stop)

G_END_DECLS
