/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzTbProfiles"

#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thunderbird.h"

/* the input is a Thunderbird profiles.ini, then a NUL byte and an installs.ini (none when
 * there is no NUL), in ~/.thunderbird of a home of its own that holds the profile folders
 * below; they are read as mailenroll finds the profiles and the default one */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the profile folders that exist, relative to ~/.thunderbird */
static const gchar *const fuzz_profiles[] = {"abcd1234.default", "efgh5678.default-release", "Profiles/x.work", NULL};

static gchar *home;
static gchar *root;
static gchar *ini_path;
static gchar *installs_path;

static void
cleanup(void)
{
	g_autofree gchar *profiles_dir = g_build_filename(root, "Profiles", NULL);

	(void)g_unlink(ini_path);
	(void)g_unlink(installs_path);
	for (guint i = 0; fuzz_profiles[i] != NULL; i++) {
		g_autofree gchar *dir = g_build_filename(root, fuzz_profiles[i], NULL);
		(void)g_rmdir(dir);
	}
	(void)g_rmdir(profiles_dir);
	(void)g_rmdir(root);
	(void)g_rmdir(home);
}

/* a home of its own for the whole run, removed at the end */
static void
setup(void)
{
	home = g_dir_make_tmp("fuzz-tb-profiles-XXXXXX", NULL);
	g_assert_nonnull(home);
	root = g_build_filename(home, ".thunderbird", NULL);
	ini_path = g_build_filename(root, "profiles.ini", NULL);
	installs_path = g_build_filename(root, "installs.ini", NULL);
	for (guint i = 0; fuzz_profiles[i] != NULL; i++) {
		g_autofree gchar *dir = g_build_filename(root, fuzz_profiles[i], NULL);
		g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	}
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	gsize ini_len = nul != NULL ? (gsize)(nul - data) : size;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) default_error = NULL;
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(MeTbProfile) def = NULL;

	if (home == NULL)
		setup();
	g_assert_true(g_file_set_contents(ini_path, (const gchar *)data, (gssize)ini_len, NULL));
	if (nul != NULL)
		g_assert_true(g_file_set_contents(installs_path, (const gchar *)nul + 1, (gssize)(size - ini_len - 1), NULL));
	else
		(void)g_unlink(installs_path);
	profiles = me_tb_profiles_list(home, &error);
	g_assert_true((profiles == NULL) == (error != NULL));
	for (guint i = 0; profiles != NULL && i < profiles->len; i++) {
		MeTbProfile *profile = g_ptr_array_index(profiles, i);
		g_assert_nonnull(profile->path);
		g_assert_true(g_path_is_absolute(profile->path));
	}
	def = me_tb_profile_get_default(home, &default_error);
	g_assert_true((def == NULL) == (default_error != NULL));
	return 0;
}
