/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzTbPrefs"

#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "thunderbird.h"

/* the input is a Thunderbird prefs.js, and the same bytes as the profile's user.js: the
 * prefs are read and searched for an identity as mailenroll does, and a certificate is
 * bound to an identity in user.js; after a binding, user.js must read back with the
 * binding in it, whatever it held before */

#define FUZZ_NICKNAME "mailenroll \"alexey\" \xc3\xa9\\ alexey@example.com"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gchar *profile;
static gchar *prefs_path;
static gchar *user_js_path;

static void
cleanup(void)
{
	(void)g_unlink(prefs_path);
	(void)g_unlink(user_js_path);
	(void)g_rmdir(profile);
}

/* a profile folder of its own for the whole run, removed at the end */
static void
setup(void)
{
	profile = g_dir_make_tmp("fuzz-tb-prefs-XXXXXX", NULL);
	g_assert_nonnull(profile);
	prefs_path = g_build_filename(profile, "prefs.js", NULL);
	user_js_path = g_build_filename(profile, "user.js", NULL);
	atexit(cleanup);
}

static void
fuzz_prefs(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) find_error = NULL;
	g_autoptr(GHashTable) prefs = me_tb_prefs_load_file(prefs_path, &error);
	g_autofree gchar *identity = NULL;

	g_assert_true((prefs == NULL) == (error != NULL));
	identity = me_tb_prefs_find_identity(profile, "alexey@example.com", &find_error);
	g_assert_true((identity == NULL) == (find_error != NULL));
}

static void
fuzz_user_js(void)
{
	const MeTbCertBinding binding = {FUZZ_NICKNAME, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/==", TRUE, TRUE, TRUE};
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) prefs = NULL;
	MeTbPref *pref;

	if (!me_tb_user_js_bind_identity(profile, "id1", &binding, &error)) {
		g_assert_nonnull(error);
		return;
	}
	prefs = me_tb_prefs_load_file(user_js_path, &error);
	g_assert_no_error(error);
	pref = g_hash_table_lookup(prefs, "mail.identity.id1.signing_cert_name");
	g_assert_nonnull(pref);
	g_assert_cmpstr(pref->value, ==, FUZZ_NICKNAME);
	pref = g_hash_table_lookup(prefs, "mail.identity.id1.sign_mail");
	g_assert_nonnull(pref);
	g_assert_cmpstr(pref->value, ==, "true");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (profile == NULL)
		setup();
	g_assert_true(g_file_set_contents(prefs_path, (const gchar *)data, (gssize)size, NULL));
	g_assert_true(g_file_set_contents(user_js_path, (const gchar *)data, (gssize)size, NULL));
	fuzz_prefs();
	fuzz_user_js();
	return 0;
}
