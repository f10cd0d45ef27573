/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestThunderbird"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "me-error.h"
#include "test-util.h"
#include "thunderbird.h"
#include "tb-fixture.h"

/* not ASCII, with a quote, a backslash and a character outside the BMP, so the user.js
 * escaping is tried in full */
#define NICKNAME "Zoë \"test\" \\ cert 😀"
#define DB_KEY	 "AAAAAAAAAAAAAAAUAAAAHyd2UURmg3mLRbXN+V53j2Op3RenMB0xGzAZBgNVBAMMEkFDTUUgUHJvYmUgVGVzdCBDQQ=="

/* ---- small helpers */

/* plain writes: g_file_set_contents() would fsync every one of the many files made here */
static void
write_file(const gchar *path, const gchar *contents, gssize len)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	gsize left = len < 0 ? strlen(contents) : (gsize)len;
	gint fd;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	while (left > 0) {
		gssize n = write(fd, contents, left);
		g_assert_cmpint(n, >, 0);
		contents += n;
		left -= (gsize)n;
	}
	g_assert_cmpint(close(fd), ==, 0);
}

static gchar *
read_file(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	gchar *text = NULL;

	g_file_get_contents(path, &text, NULL, &error);
	g_assert_no_error(error);
	return text;
}

static gchar *
make_dir(const gchar *parent, const gchar *rel)
{
	gchar *dir = g_build_filename(parent, rel, NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	return dir;
}

/* root/profiles.ini */
static void
write_ini(const gchar *root, const gchar *name, const gchar *text)
{
	g_autofree gchar *path = g_build_filename(root, name, NULL);
	write_file(path, text, -1);
}

static const MeTbProfile *
find_profile(GPtrArray *profiles, const gchar *path)
{
	for (guint i = 0; i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (g_strcmp0(profile->path, path) == 0)
			return profile;
	}
	return NULL;
}

static guint
count_defaults(GPtrArray *profiles)
{
	guint n = 0;
	for (guint i = 0; i < profiles->len; i++)
		n += ((const MeTbProfile *)g_ptr_array_index(profiles, i))->is_default ? 1 : 0;
	return n;
}

static GPtrArray *
list_ok(const gchar *home)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *profiles = me_tb_profiles_list(home, &error);
	g_assert_no_error(error);
	g_assert_nonnull(profiles);
	return profiles;
}

static void
assert_error_names(const GError *error, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, display));
}

static guint
count_substr(const gchar *haystack, const gchar *needle)
{
	guint n = 0;
	for (const gchar *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* the pid of a process that has exited and been reaped */
static GPid
dead_pid(void)
{
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"/bin/true", NULL};
	GPid pid = 0;

	/* reaped here, not in GLib's worker thread, so the pid is known before it is gone */
	g_spawn_async(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
	g_assert_no_error(error);
	g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
	g_assert_cmpint(kill(pid, 0), !=, 0);
	return pid;
}

static void
make_lock(const gchar *profile, const gchar *target)
{
	g_autofree gchar *lock = g_build_filename(profile, "lock", NULL);
	(void)g_unlink(lock);
	g_assert_cmpint(symlink(target, lock), ==, 0);
}

/* a python that prints "ready" and sleeps, with @args on its command line */
static GSubprocess *
spawn_sleeper(const gchar *cwd, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree gchar *line = NULL;
	GSubprocess *proc;

	g_ptr_array_add(argv, (gpointer)me_test_python());
	g_ptr_array_add(argv, (gpointer) "-c");
	g_ptr_array_add(argv, (gpointer) "import time\nprint('ready', flush=True)\ntime.sleep(60)");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_set_cwd(launcher, cwd);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	/* once it printed, /proc shows its own command line, not the one of the fork */
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	line = g_data_input_stream_read_line_utf8(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "ready");
	return proc;
}

static GPid
subprocess_pid(GSubprocess *proc)
{
	return (GPid)g_ascii_strtoll(g_subprocess_get_identifier(proc), NULL, 10);
}

static void
stop_sleeper(GSubprocess *proc)
{
	g_subprocess_force_exit(proc);
	g_subprocess_wait(proc, NULL, NULL);
	g_object_unref(proc);
}

/* ---- me_tb_profile_new_for_path() */

static void
test_new_for_path(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile_dir = make_dir(dir, "p");
	g_autofree gchar *cwd = g_get_current_dir();
	g_autofree gchar *file = g_build_filename(dir, "file", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "missing", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTbProfile) profile = NULL;

	/* a relative path becomes absolute, "." and ".." gone */
	g_assert_cmpint(g_chdir(dir), ==, 0);
	profile = me_tb_profile_new_for_path("./x/../p", &error);
	g_assert_cmpint(g_chdir(cwd), ==, 0);
	g_assert_no_error(error);
	g_assert_cmpstr(profile->path, ==, profile_dir);
	g_assert_null(profile->name);
	g_assert_false(profile->is_default);

	g_assert_null(me_tb_profile_new_for_path(missing, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	assert_error_names(error, missing);
	g_clear_error(&error);

	write_file(file, "x", -1);
	g_assert_null(me_tb_profile_new_for_path(file, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	assert_error_names(error, file);
	g_clear_error(&error);

	g_assert_null(me_tb_profile_new_for_path("", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	me_test_rm_rf(dir);
}

/* ---- me_tb_profiles_list() on hand-written profiles.ini */

static void
test_profiles_relative_absolute(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *rel = make_dir(root, "abcd1234.default");
	g_autofree gchar *elsewhere = make_dir(home, "elsewhere/work profile");
	g_autofree gchar *ini = g_strdup_printf("[General]\nStartWithLastProfile=1\nVersion=2\n\n"
						"[Profile0]\nName=default\nIsRelative=1\nPath=abcd1234.default\n\n"
						"[Profile1]\nName=Wörk\nIsRelative=0\nPath=%s\nDefault=1\n",
						elsewhere);
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(MeTbProfile) def = NULL;
	g_autoptr(GError) error = NULL;
	const MeTbProfile *p;

	write_ini(root, "profiles.ini", ini);
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 2);
	p = g_ptr_array_index(profiles, 0);
	g_assert_cmpstr(p->name, ==, "default");
	g_assert_cmpstr(p->path, ==, rel);
	g_assert_false(p->is_default);
	p = g_ptr_array_index(profiles, 1);
	g_assert_cmpstr(p->name, ==, "Wörk");
	g_assert_cmpstr(p->path, ==, elsewhere);
	g_assert_true(p->is_default);

	def = me_tb_profile_get_default(home, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(def->path, ==, elsewhere);
	me_test_rm_rf(home);
}

/* Thunderbird's own layout (seen on a fresh home): the install section names the profile it
 * made, while an older profile still carries Default=1 */
static void
test_profiles_install_section(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *legacy = make_dir(root, "r6ar85lo.default");
	g_autofree gchar *fresh = make_dir(root, "p3ln8fn8.default-default");
	g_autoptr(GPtrArray) profiles = NULL;

	write_ini(root, "profiles.ini",
		  "[Profile1]\nName=default\nIsRelative=1\nPath=r6ar85lo.default\nDefault=1\n\n"
		  "[InstallFDC34C9F024745EB]\nDefault=p3ln8fn8.default-default\nLocked=1\n\n"
		  "[Profile0]\nName=default-default\nIsRelative=1\nPath=p3ln8fn8.default-default\n\n"
		  "[General]\nStartWithLastProfile=1\nVersion=2\n");
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 2);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	g_assert_true(find_profile(profiles, fresh)->is_default);
	g_assert_false(find_profile(profiles, legacy)->is_default);
	me_test_rm_rf(home);
}

static void
test_profiles_installs_ini(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *a = make_dir(root, "a.default");
	g_autofree gchar *b = make_dir(root, "b.other");
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *installs = g_build_filename(root, "installs.ini", NULL);

	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a.default\nDefault=1\n\n"
		  "[Profile1]\nName=b\nIsRelative=1\nPath=b.other\n");
	/* the install section only in installs.ini, as older builds wrote it */
	write_ini(root, "installs.ini", "[0123456789ABCDEF]\nDefault=b.other\nLocked=1\n");
	profiles = list_ok(home);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	g_assert_true(find_profile(profiles, b)->is_default);
	g_clear_pointer(&profiles, g_ptr_array_unref);

	/* a damaged installs.ini is named */
	write_ini(root, "installs.ini", "this is not an ini file\n");
	g_assert_null(me_tb_profiles_list(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	assert_error_names(error, installs);
	me_test_rm_rf(home);
}

static void
test_profiles_several_installs(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *a = make_dir(root, "a.default");
	g_autofree gchar *b = make_dir(root, "b.esr");
	g_autofree gchar *c = make_dir(root, "c.legacy");
	g_autoptr(GPtrArray) profiles = NULL;

	/* two installs disagree: the legacy Default=1 counts */
	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a.default\n\n"
		  "[Profile1]\nName=b\nIsRelative=1\nPath=b.esr\n\n"
		  "[Profile2]\nName=c\nIsRelative=1\nPath=c.legacy\nDefault=1\n\n"
		  "[Install1111111111111111]\nDefault=a.default\n\n"
		  "[Install2222222222222222]\nDefault=b.esr\n");
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 3);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	g_assert_true(find_profile(profiles, c)->is_default);
	g_clear_pointer(&profiles, g_ptr_array_unref);

	/* the same install in profiles.ini and installs.ini is one install */
	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a.default\n\n"
		  "[Profile1]\nName=c\nIsRelative=1\nPath=c.legacy\nDefault=1\n\n"
		  "[Install1111111111111111]\nDefault=a.default\n");
	write_ini(root, "installs.ini", "[1111111111111111]\nDefault=a.default\n");
	profiles = list_ok(home);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	g_assert_true(find_profile(profiles, a)->is_default);
	g_clear_pointer(&profiles, g_ptr_array_unref);

	/* an install default that names no listed profile leaves the legacy default */
	write_ini(root, "installs.ini", "[1111111111111111]\nDefault=gone.default\n");
	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a.default\n\n"
		  "[Profile1]\nName=c\nIsRelative=1\nPath=c.legacy\nDefault=1\n");
	profiles = list_ok(home);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	g_assert_true(find_profile(profiles, c)->is_default);
	(void)b;
	me_test_rm_rf(home);
}

static void
test_profiles_skipped(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *ok = make_dir(root, "ok.default");
	g_autofree gchar *outside = make_dir(home, "outside");
	g_autofree gchar *ini = NULL;
	g_autoptr(GPtrArray) profiles = NULL;

	/* a missing folder, a relative path that climbs out of the root, an absolute path
	 * marked relative and a relative one marked absolute are all skipped; listing stops at
	 * the first gap in the numbering, as Thunderbird's does */
	ini = g_strdup_printf("[Profile0]\nName=missing\nIsRelative=1\nPath=gone.default\n\n"
			      "[Profile1]\nName=climb\nIsRelative=1\nPath=ok.default/../../outside\n\n"
			      "[Profile2]\nName=abs-as-rel\nIsRelative=1\nPath=%s\n\n"
			      "[Profile3]\nName=rel-as-abs\nIsRelative=0\nPath=ok.default\n\n"
			      "[Profile4]\nName=ok\nIsRelative=1\nPath=ok.default\n\n"
			      "[Profile5]\nName=twice\nIsRelative=1\nPath=./ok.default\n\n"
			      "[Profile7]\nName=after-gap\nIsRelative=0\nPath=%s\n",
			      outside, outside);
	write_ini(root, "profiles.ini", ini);
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 1);
	g_assert_cmpstr(((const MeTbProfile *)g_ptr_array_index(profiles, 0))->path, ==, ok);
	g_assert_cmpstr(((const MeTbProfile *)g_ptr_array_index(profiles, 0))->name, ==, "ok");
	me_test_rm_rf(home);
}

/* the XDG, Snap and Flatpak roots; the current user's XDG_CONFIG_HOME when no home is given */
static void
test_profiles_roots(void)
{
	const gchar *home = g_get_home_dir();
	const gchar *config = g_get_user_config_dir();
	const gchar *roots[] = {
	    ".thunderbird",
	    "snap/thunderbird/common/.thunderbird",
	    ".var/app/org.mozilla.Thunderbird/.thunderbird",
	};
	g_autofree gchar *xdg_root = g_build_filename(config, "thunderbird", NULL);
	g_autofree gchar *xdg_profile = make_dir(xdg_root, "x.default");
	g_autofree gchar *home_config_root = g_build_filename(home, ".config", "thunderbird", NULL);
	g_autofree gchar *home_config_profile = make_dir(home_config_root, "h.default");
	g_autoptr(GPtrArray) profiles = NULL;

	g_test_message("HOME %s, XDG_CONFIG_HOME %s", home, config);
	/* main() put XDG_CONFIG_HOME outside HOME, so only the environment leads there */
	g_assert_false(g_str_has_prefix(config, home));
	write_ini(xdg_root, "profiles.ini", "[Profile0]\nName=xdg\nIsRelative=1\nPath=x.default\n");
	write_ini(home_config_root, "profiles.ini", "[Profile0]\nName=home-config\nIsRelative=1\nPath=h.default\n");
	for (gsize i = 0; i < G_N_ELEMENTS(roots); i++) {
		g_autofree gchar *root = g_build_filename(home, roots[i], NULL);
		g_autofree gchar *profile = make_dir(root, "p.default");
		g_autofree gchar *ini = g_strdup_printf("[Profile0]\nName=root%zu\nIsRelative=1\nPath=p.default\n", i);
		write_ini(root, "profiles.ini", ini);
	}

	profiles = list_ok(NULL);
	g_assert_cmpuint(profiles->len, ==, 4);
	g_assert_nonnull(find_profile(profiles, xdg_profile));
	g_assert_null(find_profile(profiles, home_config_profile));
	for (gsize i = 0; i < G_N_ELEMENTS(roots); i++) {
		g_autofree gchar *profile = g_build_filename(home, roots[i], "p.default", NULL);
		g_assert_nonnull(find_profile(profiles, profile));
	}
	g_clear_pointer(&profiles, g_ptr_array_unref);

	/* a home given: its own .config, whatever the environment says */
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 4);
	g_assert_nonnull(find_profile(profiles, home_config_profile));
	g_assert_null(find_profile(profiles, xdg_profile));

	/* leave HOME and XDG_CONFIG_HOME empty again */
	me_test_rm_rf(xdg_root);
	for (gsize i = 0; i < G_N_ELEMENTS(roots); i++) {
		g_autofree gchar *top = g_build_filename(home, i == 0 ? ".thunderbird" : i == 1 ? "snap" : ".var", NULL);
		me_test_rm_rf(top);
	}
	{
		g_autofree gchar *dot_config = g_build_filename(home, ".config", NULL);
		me_test_rm_rf(dot_config);
	}
}

/* a root reached twice (~/.config/thunderbird linking to ~/.thunderbird) lists once */
static void
test_profiles_same_root_twice(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *profile = make_dir(root, "p.default");
	g_autofree gchar *config = make_dir(home, ".config");
	g_autofree gchar *link = g_build_filename(config, "thunderbird", NULL);
	g_autoptr(GPtrArray) profiles = NULL;

	write_ini(root, "profiles.ini", "[Profile0]\nName=p\nIsRelative=1\nPath=p.default\nDefault=1\n");
	g_assert_cmpint(symlink(root, link), ==, 0);
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 1);
	me_test_rm_rf(home);
}

static void
test_profiles_too_many(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *ini_path = g_build_filename(root, "profiles.ini", NULL);
	g_autoptr(GString) ini = g_string_new(NULL);
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < ME_TB_PROFILES_MAX; i++) {
		g_autofree gchar *name = g_strdup_printf("p%u", i);
		g_autofree gchar *dir = make_dir(root, name);
		g_string_append_printf(ini, "[Profile%u]\nName=%s\nIsRelative=1\nPath=%s\n\n", i, name, name);
	}
	write_file(ini_path, ini->str, -1);
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, ME_TB_PROFILES_MAX);

	g_string_append_printf(ini, "[Profile%u]\nName=one-too-many\nIsRelative=1\nPath=p0\n", ME_TB_PROFILES_MAX);
	write_file(ini_path, ini->str, -1);
	g_assert_null(me_tb_profiles_list(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	assert_error_names(error, ini_path);
	me_test_rm_rf(home);
}

static void
test_profiles_oversized(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *profile = make_dir(root, "p.default");
	g_autofree gchar *ini_path = g_build_filename(root, "profiles.ini", NULL);
	static const gchar head[] = "[Profile0]\nName=p\nIsRelative=1\nPath=p.default\n";
	g_autofree gchar *big = g_malloc(ME_TB_PROFILES_INI_MAX + 2);
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(GError) error = NULL;

	/* exactly the limit: comment lines after the profile */
	memset(big, '#', ME_TB_PROFILES_INI_MAX + 1);
	memcpy(big, head, strlen(head));
	for (gsize i = strlen(head) + 80; i < ME_TB_PROFILES_INI_MAX; i += 80)
		big[i] = '\n';
	big[ME_TB_PROFILES_INI_MAX - 1] = '\n';
	write_file(ini_path, big, ME_TB_PROFILES_INI_MAX);
	profiles = list_ok(home);
	g_assert_cmpuint(profiles->len, ==, 1);

	/* one byte more */
	big[ME_TB_PROFILES_INI_MAX] = '\n';
	write_file(ini_path, big, ME_TB_PROFILES_INI_MAX + 1);
	g_assert_null(me_tb_profiles_list(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	assert_error_names(error, ini_path);
	me_test_rm_rf(home);
}

static void
test_profiles_garbage(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *ini_path = g_build_filename(root, "profiles.ini", NULL);
	const gchar *bad[] = {
	    "just some words\n",
	    "[Profile0\nName=x\n",
	    "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
	    "[Profile0]\nName=\xff\xfe\nIsRelative=1\nPath=x\n",
	};
	const gsize bad_len[] = {strlen(bad[0]), strlen(bad[1]), 16, strlen(bad[3])};
	GRand *rand = g_rand_new_with_seed(8823);

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) profiles = NULL;
		write_file(ini_path, bad[i], (gssize)bad_len[i]);
		profiles = me_tb_profiles_list(home, &error);
		/* no crash; either damaged, or nothing usable in it */
		g_assert_null(profiles);
		g_assert_true(g_error_matches(error, ME_ERROR, ME_ERROR_INVALID_DATA) ||
			      g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND));
		if (i < 3) {
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
			assert_error_names(error, ini_path);
		}
	}
	/* random bytes never crash */
	for (guint round = 0; round < 50; round++) {
		guint8 noise[512];
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) profiles = NULL;
		for (gsize i = 0; i < sizeof(noise); i++)
			noise[i] = (guint8)g_rand_int_range(rand, 0, 256);
		write_file(ini_path, (const gchar *)noise, sizeof(noise));
		profiles = me_tb_profiles_list(home, &error);
		g_assert_true(profiles != NULL || error != NULL);
	}
	g_rand_free(rand);
	me_test_rm_rf(home);
}

static void
test_profiles_none(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_null(me_tb_profiles_list(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "Thunderbird"));
	g_clear_error(&error);

	g_assert_null(me_tb_profile_get_default(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	root = make_dir(home, ".thunderbird");
	write_ini(root, "profiles.ini", "[General]\nStartWithLastProfile=1\nVersion=2\n");
	g_assert_null(me_tb_profiles_list(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_rm_rf(home);
}

static void
test_profiles_get_default(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *a = make_dir(root, "a");
	g_autofree gchar *b = make_dir(root, "b");
	g_autoptr(MeTbProfile) profile = NULL;
	g_autoptr(GError) error = NULL;

	/* the only profile, though not marked default */
	write_ini(root, "profiles.ini", "[Profile0]\nName=a\nIsRelative=1\nPath=a\n");
	profile = me_tb_profile_get_default(home, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(profile->path, ==, a);
	g_clear_pointer(&profile, me_tb_profile_free);

	/* several, none default */
	write_ini(root, "profiles.ini", "[Profile0]\nName=a\nIsRelative=1\nPath=a\n\n[Profile1]\nName=b\nIsRelative=1\nPath=b\n");
	g_assert_null(me_tb_profile_get_default(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "--profile"));
	g_clear_error(&error);

	/* several, each claiming Default=1 */
	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a\nDefault=1\n\n[Profile1]\nName=b\nIsRelative=1\nPath=b\nDefault=1\n");
	g_assert_null(me_tb_profile_get_default(home, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	/* one default */
	write_ini(root, "profiles.ini", "[Profile0]\nName=a\nIsRelative=1\nPath=a\n\n[Profile1]\nName=b\nIsRelative=1\nPath=b\nDefault=1\n");
	profile = me_tb_profile_get_default(home, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(profile->path, ==, b);
	g_assert_cmpstr(profile->name, ==, "b");
	me_test_rm_rf(home);
}

/* ---- locks, without a Thunderbird */

static void
test_lock_hand_made(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *parentlock = g_build_filename(profile, ".parentlock", NULL);
	g_autofree gchar *target = NULL;
	const gchar *junk[] = {"junk", "127.0.0.1:", "127.0.0.1:+", "127.0.0.1:+0", "127.0.0.1:+-5", "127.0.0.1:+12x",
			       "127.0.0.1:+99999999999"};
	GPid pid = 4242;

	/* nothing at all */
	g_assert_false(me_tb_profile_is_running(profile, &pid));
	g_assert_cmpint(pid, ==, 0);

	/* a stale lock: a process that is gone, and an unlocked .parentlock */
	write_file(parentlock, "", 0);
	target = g_strdup_printf("127.0.0.1:+%d", (gint)dead_pid());
	make_lock(profile, target);
	g_assert_false(me_tb_profile_is_running(profile, &pid));
	g_assert_cmpint(pid, ==, 0);

	/* a live one: this process */
	g_free(target);
	target = g_strdup_printf("127.0.0.1:+%d", (gint)getpid());
	make_lock(profile, target);
	g_assert_true(me_tb_profile_is_running(profile, &pid));
	g_assert_cmpint(pid, ==, getpid());
	g_assert_true(me_tb_profile_is_running(profile, NULL));
	/* the older form without '+' */
	g_free(target);
	target = g_strdup_printf("10.1.2.3:%d", (gint)getpid());
	make_lock(profile, target);
	g_assert_true(me_tb_profile_is_running(profile, &pid));

	for (gsize i = 0; i < G_N_ELEMENTS(junk); i++) {
		make_lock(profile, junk[i]);
		g_assert_false(me_tb_profile_is_running(profile, &pid));
		g_assert_cmpint(pid, ==, 0);
	}
	me_test_rm_rf(dir);
}

/* a process that holds @parentlock the way Thunderbird does (fcntl); it lets go when its
 * standard input closes */
static GSubprocess *
hold_parentlock(const gchar *parentlock)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree gchar *line = NULL;

	write_file(parentlock, "", 0);
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
				me_test_python(), "-c",
				"import fcntl, sys\n"
				"f = open(sys.argv[1], 'r+')\n"
				"fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
				"print('locked', flush=True)\n"
				"sys.stdin.read()\n",
				parentlock, NULL);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	line = g_data_input_stream_read_line_utf8(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "locked");
	return g_steal_pointer(&proc);
}

/* .parentlock locked with fcntl() by another process, as Mozilla's nsProfileLock does */
static void
test_lock_parentlock(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *parentlock = g_build_filename(profile, ".parentlock", NULL);
	g_autoptr(GSubprocess) proc = NULL;
	GPid pid = 0;

	proc = hold_parentlock(parentlock);

	g_assert_true(me_tb_profile_is_running(profile, &pid));
	g_assert_cmpint(pid, ==, subprocess_pid(proc));

	/* the holder ends: free again */
	g_output_stream_close(g_subprocess_get_stdin_pipe(proc), NULL, NULL);
	g_assert_true(g_subprocess_wait(proc, NULL, NULL));
	g_assert_false(me_tb_profile_is_running(profile, &pid));
	me_test_rm_rf(dir);
}

/* ---- me_tb_profile_find_launching() without a Thunderbird */

static void
test_launching_lock(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *a = make_dir(root, "a.default");
	g_autofree gchar *b = make_dir(root, "b.work");
	g_autofree gchar *target = g_strdup_printf("127.0.0.1:+%d", (gint)getpid());
	g_autofree gchar *other = g_strdup_printf("127.0.0.1:+%d", (gint)dead_pid());
	g_autoptr(MeTbProfile) profile = NULL;
	g_autoptr(GError) error = NULL;
	GSubprocess *sleeper;
	const gchar *no_args[] = {NULL};

	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=a\nIsRelative=1\nPath=a.default\nDefault=1\n\n[Profile1]\nName=work\nIsRelative=1\nPath=b.work\n");
	make_lock(a, other);
	make_lock(b, target);
	/* this test's own command line names no profile: the lock settles it */
	profile = me_tb_profile_find_launching(home, getpid(), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(profile->path, ==, b);
	g_assert_cmpstr(profile->name, ==, "work");
	g_assert_false(profile->is_default);

	/* a process no lock names */
	sleeper = spawn_sleeper(home, no_args);
	g_assert_null(me_tb_profile_find_launching(home, subprocess_pid(sleeper), &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	stop_sleeper(sleeper);

	/* a process that is gone */
	g_assert_null(me_tb_profile_find_launching(home, dead_pid(), &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_rm_rf(home);
}

/* ---- me_tb_profile_verify_claimed(): the profile the add-on names, as a sandboxed
 * Thunderbird's helper gets it (its parent is the desktop portal, here this test) */

static void
assert_claim_refused(const gchar *home, const gchar *path, GPid launcher)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTbProfile) profile = me_tb_profile_verify_claimed(home, path, launcher, &error);

	g_assert_null(profile);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, path));
}

static void
assert_claim_taken(const gchar *home, const gchar *path, GPid launcher, const gchar *expect)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTbProfile) profile = me_tb_profile_verify_claimed(home, path, launcher, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(profile->path, ==, expect);
}

static void
test_claimed_layout(gconstpointer data)
{
	MeTestTbLayout layout = GPOINTER_TO_INT(data);
	g_autofree gchar *home = me_test_tmpdir();
	g_autoptr(MeTestSandboxTb) tb = me_test_sandbox_tb_start(home, layout, NULL);
	g_autofree gchar *via_dots = g_build_filename(tb->root, "..", ".thunderbird", "k3xq9z1a.default-release", NULL);
	g_autofree gchar *prefs = g_build_filename(tb->profile, "prefs.js", NULL);
	g_autofree gchar *compat = g_build_filename(tb->profile, "compatibility.ini", NULL);

	/* the helper's parent (this test) is no Thunderbird: the lock and its holder decide */
	assert_claim_taken(home, tb->profile, getpid(), tb->profile);
	assert_claim_taken(home, via_dots, 0, tb->profile);
	assert_claim_refused(home, "k3xq9z1a.default-release", 0);

	/* a Thunderbird profile has prefs.js or compatibility.ini */
	g_assert_cmpint(g_unlink(prefs), ==, 0);
	assert_claim_taken(home, tb->profile, 0, tb->profile);
	g_assert_cmpint(g_unlink(compat), ==, 0);
	assert_claim_refused(home, tb->profile, 0);
	write_file(prefs, "// Mozilla User Preferences\n", -1);

	/* the lock names this test, which is no Thunderbird, then a process that is gone */
	{
		g_autofree gchar *self = g_strdup_printf("127.0.0.1:+%d", (gint)getpid());
		g_autofree gchar *gone = g_strdup_printf("127.0.0.1:+%d", (gint)dead_pid());
		make_lock(tb->profile, self);
		assert_claim_refused(home, tb->profile, 0);
		make_lock(tb->profile, gone);
		assert_claim_refused(home, tb->profile, 0);
	}
	/* the stand-in ended: nothing holds the profile */
	{
		g_autofree gchar *target = g_strdup_printf("127.0.0.1:+%d", (gint)tb->pid);
		make_lock(tb->profile, target);
		assert_claim_taken(home, tb->profile, 0, tb->profile);
		g_subprocess_force_exit(tb->thunderbird);
		g_subprocess_wait(tb->thunderbird, NULL, NULL);
		assert_claim_refused(home, tb->profile, 0);
	}
	me_test_rm_rf(home);
}

/* a folder outside every profile root is taken only when a profiles.ini lists it, and a
 * link inside a root that leads out of it counts as where it leads */
static void
test_claimed_outside(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autoptr(MeTestSandboxTb) tb = me_test_sandbox_tb_start(home, ME_TEST_TB_SNAP, NULL);
	g_autofree gchar *outside = make_dir(home, "elsewhere");
	g_autofree gchar *prefs = g_build_filename(outside, "prefs.js", NULL);
	g_autofree gchar *link = g_build_filename(tb->root, "linked.default", NULL);
	g_autofree gchar *target = g_strdup_printf("127.0.0.1:+%d", (gint)tb->pid);
	g_autofree gchar *ini = NULL;

	write_file(prefs, "// Mozilla User Preferences\n", -1);
	make_lock(outside, target);
	assert_claim_refused(home, outside, 0);
	g_assert_cmpint(symlink(outside, link), ==, 0);
	assert_claim_refused(home, link, 0);

	ini = g_strdup_printf("[Profile0]\nName=default-release\nIsRelative=1\nPath=k3xq9z1a.default-release\n\n"
			      "[Profile1]\nName=elsewhere\nIsRelative=0\nPath=%s\n",
			      outside);
	write_ini(tb->root, "profiles.ini", ini);
	assert_claim_taken(home, outside, 0, outside);
	me_test_rm_rf(home);
}

/* a deb Thunderbird started the helper: its own profile is taken wherever it is, with no
 * lock or prefs needed, as getppid() always found it */
static void
test_claimed_launcher(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(home, "anywhere");
	const gchar *args[] = {"-profile", profile, NULL};
	GSubprocess *launcher = spawn_sleeper(home, args);

	assert_claim_taken(home, profile, subprocess_pid(launcher), profile);
	/* another process's word for it is not enough */
	assert_claim_refused(home, profile, getpid());
	stop_sleeper(launcher);
	me_test_rm_rf(home);
}

/* a .parentlock held by a process that is not a Thunderbird */
static void
test_claimed_parentlock(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autoptr(MeTestSandboxTb) tb = me_test_sandbox_tb_start(home, ME_TEST_TB_FLATPAK, NULL);
	g_autofree gchar *lock = g_build_filename(tb->profile, "lock", NULL);
	g_autofree gchar *parentlock = g_build_filename(tb->profile, ".parentlock", NULL);
	g_autoptr(GSubprocess) proc = NULL;

	/* the link's pid may be another namespace's: the .parentlock holder counts first */
	proc = hold_parentlock(parentlock);
	assert_claim_refused(home, tb->profile, 0);
	g_output_stream_close(g_subprocess_get_stdin_pipe(proc), NULL, NULL);
	g_assert_true(g_subprocess_wait(proc, NULL, NULL));
	/* released: the link to the stand-in counts again */
	g_assert_true(g_file_test(lock, G_FILE_TEST_IS_SYMLINK));
	assert_claim_taken(home, tb->profile, 0, tb->profile);
	me_test_rm_rf(home);
}

typedef struct {
	const gchar *args[4];
	const gchar *expect; /* the profile folder relative to home, or NULL for not found */
	const gchar *name;
} LaunchCase;

static void
test_launching_cmdline(void)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *root = make_dir(home, ".thunderbird");
	g_autofree gchar *a = make_dir(root, "a.default");
	g_autofree gchar *w = make_dir(root, "w.work");
	g_autofree gchar *loose = make_dir(home, "loose/profile");
	g_autofree gchar *abs_w = g_build_filename(root, "w.work", NULL);
	g_autofree gchar *eq_loose = g_strdup_printf("--profile=%s", loose);
	const LaunchCase cases[] = {
	    {{"-profile", loose, NULL}, "loose/profile", NULL},
	    {{"--profile", "loose/profile", NULL}, "loose/profile", NULL},
	    {{eq_loose, NULL}, "loose/profile", NULL},
	    {{"-PROFILE", abs_w, NULL}, ".thunderbird/w.work", "work"},
	    {{"-P", "work", NULL}, ".thunderbird/w.work", "work"},
	    {{"-p", "work", NULL}, ".thunderbird/w.work", "work"},
	    {{"--P", "work", NULL}, ".thunderbird/w.work", "work"},
	    {{"--headless", "-P", "work", NULL}, ".thunderbird/w.work", "work"},
	    {{"-P", NULL}, NULL, NULL},
	    {{"-P", "nobody", NULL}, NULL, NULL},
	    {{"-profile", "no/such/folder", NULL}, NULL, NULL},
	};

	write_ini(root, "profiles.ini",
		  "[Profile0]\nName=default\nIsRelative=1\nPath=a.default\nDefault=1\n\n"
		  "[Profile1]\nName=work\nIsRelative=1\nPath=w.work\n");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		GSubprocess *sleeper = spawn_sleeper(home, cases[i].args);
		g_autoptr(MeTbProfile) profile = NULL;
		g_autoptr(GError) error = NULL;

		g_test_message("case %zu: %s %s", i, cases[i].args[0], cases[i].args[1] != NULL ? cases[i].args[1] : "");
		profile = me_tb_profile_find_launching(home, subprocess_pid(sleeper), &error);
		if (cases[i].expect == NULL) {
			g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
			me_test_assert_sentence(error);
		} else {
			g_autofree gchar *expect = g_build_filename(home, cases[i].expect, NULL);
			g_assert_no_error(error);
			g_assert_cmpstr(profile->path, ==, expect);
			g_assert_cmpstr(profile->name, ==, cases[i].name);
		}
		stop_sleeper(sleeper);
	}
	(void)a;
	(void)w;
	me_test_rm_rf(home);
}

/* ---- prefs files */

static const gchar odd_prefs[] =
    "# a shell-style comment\n"
    "/* a block comment\n   over two lines */ user_pref ( \"mail.identity.id10.useremail\" ,\n"
    "   'alice@example.org' ) ;\n"
    "user_pref(\"mail.identity.id2.useremail\",\"alice@EXAMPLE.org\"); // a trailing comment\n"
    "user_pref(\"mail.identity.id3.useremail\", \"bob\\u0040example.org\");\n"
    "user_pref(\"mail.identity.id4.useremail\", 'carol\\x40example.org');\n"
    "user_pref(\"mail.identity.id5.useremail\", \"ALICE@example.org\");\n"
    "user_pref(\"mail.identity.id6.useremail\", 42);\n"
    "user_pref(\"mail.identity.id7.fullName\", \"Alice \\\"A\\\" O'Neil \\\\ \\u00e9\\ud83d\\ude00\");\n"
    "pref(\"mail.identity.id8.useremail\", \"dave@example.org\", locked);\n"
    "sticky_pref(\"some.sticky\", true);\n"
    "user_pref(\"some.int\", -17);user_pref(\"some.plus\", +7);\n";

static void
test_prefs_identity(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *prefs_js = g_build_filename(profile, "prefs.js", NULL);
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	g_autoptr(GError) error = NULL;
	const struct {
		const gchar *mailbox;
		const gchar *key;
	} cases[] = {
	    /* id2 before id10; the domain's case does not matter */
	    {"alice@example.org", "id2"},
	    {"alice@Example.Org", "id2"},
	    {"bob@example.org", "id3"},
	    {"carol@EXAMPLE.ORG", "id4"},
	    /* the local part's case does */
	    {"ALICE@example.org", "id5"},
	    {"dave@example.org", "id8"},
	    {"erin@example.org", NULL},
	};

	write_file(prefs_js, odd_prefs, -1);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *key = me_tb_prefs_find_identity(profile, cases[i].mailbox, &error);
		if (cases[i].key == NULL) {
			g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
			me_test_assert_sentence(error);
			g_assert_nonnull(strstr(error->message, cases[i].mailbox));
			g_clear_error(&error);
		} else {
			g_assert_no_error(error);
			g_assert_cmpstr(key, ==, cases[i].key);
		}
	}

	/* user.js wins over prefs.js */
	write_file(user_js, "user_pref(\"mail.identity.id2.useremail\", \"other@example.org\");\n"
			    "user_pref(\"mail.identity.id9.useremail\", \"erin@example.org\");\n", -1);
	{
		g_autofree gchar *key = me_tb_prefs_find_identity(profile, "alice@example.org", &error);
		g_assert_no_error(error);
		g_assert_cmpstr(key, ==, "id10");
		g_free(key);
		key = me_tb_prefs_find_identity(profile, "erin@example.org", &error);
		g_assert_no_error(error);
		g_assert_cmpstr(key, ==, "id9");
	}

	g_assert_null(me_tb_prefs_find_identity(profile, "not an address", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	/* no prefs at all */
	g_assert_cmpint(g_unlink(prefs_js), ==, 0);
	g_assert_cmpint(g_unlink(user_js), ==, 0);
	g_assert_null(me_tb_prefs_find_identity(profile, "alice@example.org", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	me_test_rm_rf(dir);
}

static const MeTbPref *
get_pref(GHashTable *prefs, const gchar *name, MeTbPrefType type)
{
	const MeTbPref *pref = g_hash_table_lookup(prefs, name);
	g_assert_nonnull(pref);
	g_assert_cmpint(pref->type, ==, type);
	return pref;
}

static void
test_prefs_values(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "prefs.js", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "missing.js", NULL);
	g_autoptr(GHashTable) prefs = NULL;
	g_autoptr(GError) error = NULL;

	write_file(path,
		   "\xef\xbb\xbf"
		   "user_pref(\"a.bytes\", \"\\xc3\\xa9 and \\xe9\");\n"
		   "user_pref(\"a.raw\", \"Zoë\ttab\");\n"
		   "user_pref(\"a.esc\", 'it\\'s \\n\\r\\t');\n"
		   "user_pref(\"a.user\", 1);\npref(\"a.user\", 2);\n"
		   "pref(\"a.default\", 1);\nuser_pref(\"a.default\", 3);\n"
		   "user_pref(\"a.later\", 1);\nuser_pref(\"a.later\", false);\n",
		   -1);
	write_file(missing, "", 0);
	g_assert_cmpint(g_unlink(missing), ==, 0);
	prefs = me_tb_prefs_load_file(path, &error);
	g_assert_no_error(error);
	/* \x is a byte, as Mozilla reads it; bytes that are not UTF-8 become U+FFFD */
	g_assert_cmpstr(get_pref(prefs, "a.bytes", ME_TB_PREF_TYPE_STRING)->value, ==, "é and \xef\xbf\xbd");
	g_assert_cmpstr(get_pref(prefs, "a.raw", ME_TB_PREF_TYPE_STRING)->value, ==, "Zoë\ttab");
	g_assert_cmpstr(get_pref(prefs, "a.esc", ME_TB_PREF_TYPE_STRING)->value, ==, "it's \n\r\t");
	g_assert_cmpstr(get_pref(prefs, "a.user", ME_TB_PREF_TYPE_INT)->value, ==, "1");
	g_assert_cmpstr(get_pref(prefs, "a.default", ME_TB_PREF_TYPE_INT)->value, ==, "3");
	g_assert_cmpstr(get_pref(prefs, "a.later", ME_TB_PREF_TYPE_BOOL)->value, ==, "false");
	g_clear_pointer(&prefs, g_hash_table_unref);

	write_file(path, odd_prefs, -1);
	prefs = me_tb_prefs_load_file(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(get_pref(prefs, "mail.identity.id7.fullName", ME_TB_PREF_TYPE_STRING)->value, ==,
			"Alice \"A\" O'Neil \\ é😀");
	g_assert_cmpstr(get_pref(prefs, "mail.identity.id6.useremail", ME_TB_PREF_TYPE_INT)->value, ==, "42");
	g_assert_cmpstr(get_pref(prefs, "some.sticky", ME_TB_PREF_TYPE_BOOL)->value, ==, "true");
	g_assert_false(get_pref(prefs, "some.sticky", ME_TB_PREF_TYPE_BOOL)->is_user);
	g_assert_cmpstr(get_pref(prefs, "some.int", ME_TB_PREF_TYPE_INT)->value, ==, "-17");
	g_assert_cmpstr(get_pref(prefs, "some.plus", ME_TB_PREF_TYPE_INT)->value, ==, "7");
	g_assert_cmpuint(g_hash_table_size(prefs), ==, 11);

	g_assert_null(me_tb_prefs_load_file(missing, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	assert_error_names(error, missing);
	me_test_rm_rf(dir);
}

static void
assert_damaged(const gchar *path, guint line)
{
	g_autoptr(GHashTable) prefs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *at = g_strdup_printf("line %u;", line);

	prefs = me_tb_prefs_load_file(path, &error);
	g_assert_null(prefs);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	assert_error_names(error, path);
	g_assert_nonnull(strstr(error->message, at));
}

static void
test_prefs_malformed(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "prefs.js", NULL);
	const struct {
		const gchar *text;
		guint line;
	} bad[] = {
	    {"user_pref(\"a\", \"unterminated", 1},
	    {"user_pref(\"a\", 1)", 1},
	    {"user_pref(\"a\", 1);\nuser_pref(\"b\", 2)\nuser_pref(\"c\", 3);", 2},
	    {"user_pref(\"a\" 1);", 1},
	    {"user_pref(a, 1);", 1},
	    {"user_pref(\"a\", 1.5);", 1},
	    {"user_pref(\"a\", 99999999999);", 1},
	    {"user_pref(\"a\", 2147483648);", 1},
	    {"user_pref(\"a\", -);", 1},
	    {"user_pref(\"a\", tru);", 1},
	    {"\n\nuser_pref(\"a\", \"\\q\");", 3},
	    {"user_pref(\"a\", \"\\x4\");", 1},
	    {"user_pref(\"a\", \"\\x00\");", 1},
	    {"user_pref(\"a\", \"\\u0000\");", 1},
	    {"user_pref(\"a\", \"\\ud83d\");", 1},
	    {"user_pref(\"a\", \"\\ude00\");", 1},
	    {"user_pref(\"a\", \"\\ud83d\\u0041\");", 1},
	    {"user_pref(\"a\", \"\\u12\");", 1},
	    {"user_pref(\"a\", \"\\", 1},
	    {"set_pref(\"a\", 1);", 1},
	    {"user_pref(\"a\", 1);\n/* unterminated", 2},
	    {"user_pref(\"a\", 'x' 'y');", 1},
	    {"user_pref(\"a\", 1, frozen);", 1},
	    {"user_pref(\"a\", 1);;", 1},
	    {"user_pref(\"a\",\n\"two\nlines\", oops);", 1},
	    {"garbage\x01\x02", 1},
	    {"user_pref(\"averyveryveryverylongkeywordthatisnotone", 1},
	    {"user_preference(\"a\", 1);", 1},
	};
	static const gchar with_nul[] = "user_pref(\"a\", \"x\0y\");";
	GRand *rand = g_rand_new_with_seed(8823);
	gsize len = strlen(odd_prefs);

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("case %zu", i);
		write_file(path, bad[i].text, -1);
		assert_damaged(path, bad[i].line);
	}
	write_file(path, with_nul, sizeof(with_nul) - 1);
	assert_damaged(path, 1);

	/* every truncation of a good file loads or is called damaged: never a crash */
	for (gsize cut = 0; cut <= len; cut++) {
		g_autoptr(GHashTable) prefs = NULL;
		g_autoptr(GError) error = NULL;
		write_file(path, odd_prefs, (gssize)cut);
		prefs = me_tb_prefs_load_file(path, &error);
		if (prefs == NULL)
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	}
	/* and so does a good file with a few bytes changed */
	for (guint round = 0; round < 300; round++) {
		g_autofree gchar *copy = g_strdup(odd_prefs);
		g_autoptr(GHashTable) prefs = NULL;
		g_autoptr(GError) error = NULL;
		guint changes = (guint)g_rand_int_range(rand, 1, 5);
		for (guint c = 0; c < changes; c++)
			copy[g_rand_int_range(rand, 0, (gint32)len)] = (gchar)g_rand_int_range(rand, 0, 256);
		write_file(path, copy, (gssize)len);
		prefs = me_tb_prefs_load_file(path, &error);
		if (prefs == NULL)
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	}
	g_rand_free(rand);
	me_test_rm_rf(dir);
}

/* a sparse file one byte over the prefs limit */
static void
write_oversized(const gchar *path)
{
	gint fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)ME_TB_PREFS_FILE_MAX + 1), ==, 0);
	close(fd);
}

static void
test_prefs_too_large(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *prefs_js = g_build_filename(profile, "prefs.js", NULL);
	g_autoptr(GError) error = NULL;

	write_oversized(prefs_js);
	g_assert_null(me_tb_prefs_load_file(prefs_js, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	assert_error_names(error, prefs_js);
	g_clear_error(&error);
	g_assert_null(me_tb_prefs_find_identity(profile, "alice@example.org", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	me_test_rm_rf(dir);
}

/* ---- user.js */

static const MeTbCertBinding full_binding = {NICKNAME, DB_KEY, TRUE, TRUE, TRUE};

static void
assert_bound(GHashTable *prefs, const gchar *key, const gchar *nickname, const gchar *db_key)
{
	const gchar *suffixes[] = {"signing_cert_name", "signing_cert_dbkey", "encryption_cert_name",
				   "encryption_cert_dbkey"};
	const gchar *values[] = {nickname, db_key, nickname, db_key};
	g_autofree gchar *sign_mail = g_strdup_printf("mail.identity.%s.sign_mail", key);

	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree gchar *name = g_strdup_printf("mail.identity.%s.%s", key, suffixes[i]);
		const MeTbPref *pref = get_pref(prefs, name, ME_TB_PREF_TYPE_STRING);
		g_assert_cmpstr(pref->value, ==, values[i]);
		g_assert_true(pref->is_user);
	}
	g_assert_cmpstr(get_pref(prefs, sign_mail, ME_TB_PREF_TYPE_BOOL)->value, ==, "true");
}

static void
test_user_js_round_trip(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	g_autoptr(GHashTable) prefs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	MeTbCertBinding signing_only = {"plain", "QUJD", TRUE, FALSE, FALSE};
	GStatBuf st;

	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_stat(user_js, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	text = read_file(user_js);
	g_test_message("%s", text);
	/* ASCII only, escaped the way Mozilla's parser reads back */
	for (const gchar *p = text; *p != '\0'; p++)
		g_assert_cmpint((guchar)*p, <, 0x80);
	g_assert_nonnull(strstr(text, "user_pref(\"mail.identity.id1.signing_cert_name\", "
				      "\"Zo\\u00eb \\\"test\\\" \\\\ cert \\ud83d\\ude00\");\n"));
	g_assert_nonnull(strstr(text, "user_pref(\"mail.identity.id1.sign_mail\", true);\n"));

	prefs = me_tb_prefs_load_file(user_js, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(prefs), ==, 5);
	assert_bound(prefs, "id1", NICKNAME, DB_KEY);
	g_clear_pointer(&prefs, g_hash_table_unref);

	/* another identity, for signing only: its two prefs are added, id1's stay */
	g_assert_true(me_tb_user_js_bind_identity(profile, "id12", &signing_only, &error));
	g_assert_no_error(error);
	prefs = me_tb_prefs_load_file(user_js, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(prefs), ==, 7);
	assert_bound(prefs, "id1", NICKNAME, DB_KEY);
	g_assert_cmpstr(get_pref(prefs, "mail.identity.id12.signing_cert_name", ME_TB_PREF_TYPE_STRING)->value, ==, "plain");
	g_assert_cmpstr(get_pref(prefs, "mail.identity.id12.signing_cert_dbkey", ME_TB_PREF_TYPE_STRING)->value, ==, "QUJD");
	g_assert_null(g_hash_table_lookup(prefs, "mail.identity.id12.encryption_cert_name"));
	me_test_rm_rf(dir);
}

static gchar *
binding_lines(const gchar *key, const gchar *nickname_literal)
{
	return g_strdup_printf("user_pref(\"mail.identity.%s.signing_cert_name\", \"%s\");\n"
			       "user_pref(\"mail.identity.%s.signing_cert_dbkey\", \"" DB_KEY "\");\n"
			       "user_pref(\"mail.identity.%s.encryption_cert_name\", \"%s\");\n"
			       "user_pref(\"mail.identity.%s.encryption_cert_dbkey\", \"" DB_KEY "\");\n"
			       "user_pref(\"mail.identity.%s.sign_mail\", true);\n",
			       key, nickname_literal, key, key, nickname_literal, key, key);
}

/* earlier lines for the same prefs go (so a second bind never duplicates); everything else
 * stays byte for byte */
static void
test_user_js_replace(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	static const gchar before[] =
	    "// my settings\r\n"
	    "user_pref(\"browser.x\", 1);\r\n"
	    "user_pref(\"mail.identity.id1.signing_cert_name\", \"old\");\n"
	    "  user_pref(\"mail.identity.id1.signing_cert_dbkey\",\n   \"OLD\");  \n"
	    "user_pref(\"keep.me\", true); user_pref(\"mail.identity.id1.encryption_cert_name\", 'old'); // tail\n"
	    "user_pref(\"mail.identity.id1.sign_mail\", false);user_pref(\"mail.identity.id1.encryption_cert_dbkey\", \"OLD\");\n"
	    "\n"
	    "user_pref(\"mail.identity.id11.signing_cert_name\", \"other identity\");\n"
	    "/* end */";
	static const gchar kept[] =
	    "// my settings\r\n"
	    "user_pref(\"browser.x\", 1);\r\n"
	    "user_pref(\"keep.me\", true);  // tail\n"
	    "\n"
	    "user_pref(\"mail.identity.id11.signing_cert_name\", \"other identity\");\n"
	    "/* end */\n";
	MeTbCertBinding second = {"second", DB_KEY, TRUE, TRUE, TRUE};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *first_lines = binding_lines("id1", "Zo\\u00eb \\\"test\\\" \\\\ cert \\ud83d\\ude00");
	g_autofree gchar *second_lines = binding_lines("id1", "second");
	g_autofree gchar *expect = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GHashTable) prefs = NULL;

	write_file(user_js, before, -1);
	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	text = read_file(user_js);
	expect = g_strconcat(kept, first_lines, NULL);
	g_assert_cmpstr(text, ==, expect);

	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &second, &error));
	g_assert_no_error(error);
	g_free(text);
	g_free(expect);
	text = read_file(user_js);
	expect = g_strconcat(kept, second_lines, NULL);
	g_assert_cmpstr(text, ==, expect);
	g_assert_cmpuint(count_substr(text, "id1.signing_cert_name"), ==, 1);
	g_assert_cmpuint(count_substr(text, "id1.sign_mail"), ==, 1);

	prefs = me_tb_prefs_load_file(user_js, &error);
	g_assert_no_error(error);
	assert_bound(prefs, "id1", "second", DB_KEY);
	me_test_rm_rf(dir);
}

static void
test_user_js_mode_symlink(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	g_autofree gchar *elsewhere = g_build_filename(dir, "dotfiles", "user.js", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	GStatBuf st;

	/* the mode a person gave the file stays */
	write_file(user_js, "user_pref(\"a\", 1);\n", -1);
	g_assert_cmpint(g_chmod(user_js, 0640), ==, 0);
	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_stat(user_js, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0640);

	/* a user.js kept elsewhere and linked stays a link */
	g_assert_cmpint(g_unlink(user_js), ==, 0);
	write_file(elsewhere, "user_pref(\"from.dotfiles\", 1);\n", -1);
	g_assert_cmpint(symlink(elsewhere, user_js), ==, 0);
	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_test(user_js, G_FILE_TEST_IS_SYMLINK));
	text = read_file(elsewhere);
	g_assert_true(g_str_has_prefix(text, "user_pref(\"from.dotfiles\", 1);\n"));
	g_assert_nonnull(strstr(text, "id1.signing_cert_dbkey"));
	me_test_rm_rf(dir);
}

static void
assert_bind_refused(const gchar *profile, const gchar *key, const MeTbCertBinding *binding, gint code)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(me_tb_user_js_bind_identity(profile, key, binding, &error));
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
}

static void
test_user_js_invalid(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *profile = make_dir(dir, "p");
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "missing", NULL);
	g_autofree gchar *long_key = g_strnfill(ME_TB_IDENTITY_KEY_MAX + 1, 'a');
	g_autofree gchar *max_key = g_strnfill(ME_TB_IDENTITY_KEY_MAX, 'a');
	g_autofree gchar *long_nick = g_strnfill(ME_TB_NICKNAME_MAX + 1, 'n');
	g_autofree gchar *max_nick = g_strnfill(ME_TB_NICKNAME_MAX, 'n');
	g_autofree gchar *long_db_key = g_strnfill(ME_TB_DB_KEY_MAX + 1, 'A');
	g_autofree gchar *max_db_key = g_strnfill(ME_TB_DB_KEY_MAX, 'A');
	g_autofree gchar *lock = g_strdup_printf("127.0.0.1:+%d", (gint)getpid());
	const gchar *bad_keys[] = {"", "id1;", "id 1", "mail.identity", "ïd1", "id1\"", long_key};
	const gchar *bad_nicks[] = {"", "a\tb", "a\nb", "del\x7f", "nel\xc2\x85", "bad\xff", long_nick};
	const gchar *bad_db_keys[] = {"", "abc def", "abc\"", "ab\\c", "é", long_db_key};
	MeTbCertBinding b = full_binding;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	static const gchar broken[] = "user_pref(\"a\", 1);\nuser_pref(\"b\", oops);\n";

	for (gsize i = 0; i < G_N_ELEMENTS(bad_keys); i++)
		assert_bind_refused(profile, bad_keys[i], &full_binding, ME_ERROR_INVALID_ARGUMENT);
	for (gsize i = 0; i < G_N_ELEMENTS(bad_nicks); i++) {
		b.nickname = bad_nicks[i];
		assert_bind_refused(profile, "id1", &b, ME_ERROR_INVALID_ARGUMENT);
	}
	b.nickname = NULL;
	assert_bind_refused(profile, "id1", &b, ME_ERROR_INVALID_ARGUMENT);
	b = full_binding;
	for (gsize i = 0; i < G_N_ELEMENTS(bad_db_keys); i++) {
		b.db_key = bad_db_keys[i];
		assert_bind_refused(profile, "id1", &b, ME_ERROR_INVALID_ARGUMENT);
	}
	b = full_binding;
	b.signing = b.encryption = b.sign_by_default = FALSE;
	assert_bind_refused(profile, "id1", &b, ME_ERROR_INVALID_ARGUMENT);
	b.encryption = b.sign_by_default = TRUE;
	assert_bind_refused(profile, "id1", &b, ME_ERROR_INVALID_ARGUMENT);
	g_assert_false(g_file_test(user_js, G_FILE_TEST_EXISTS));

	/* the limits themselves are fine */
	b = full_binding;
	b.nickname = max_nick;
	b.db_key = max_db_key;
	g_assert_true(me_tb_user_js_bind_identity(profile, max_key, &b, &error));
	g_assert_no_error(error);
	g_assert_true(me_tb_user_js_bind_identity(profile, "id_2", &full_binding, &error));
	g_assert_no_error(error);

	assert_bind_refused(missing, "id1", &full_binding, ME_ERROR_NOT_FOUND);

	/* a user.js it cannot parse is left alone */
	write_file(user_js, broken, -1);
	g_assert_false(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	assert_error_names(error, user_js);
	g_assert_nonnull(strstr(error->message, "line 2;"));
	g_clear_error(&error);
	text = read_file(user_js);
	g_assert_cmpstr(text, ==, broken);

	/* a running Thunderbird (here: a lock naming this live process) */
	write_file(user_js, "", 0);
	make_lock(profile, lock);
	assert_bind_refused(profile, "id1", &full_binding, ME_ERROR_BUSY);
	g_free(text);
	text = read_file(user_js);
	g_assert_cmpstr(text, ==, "");

	/* a stale lock does not stop it */
	g_free(lock);
	lock = g_strdup_printf("127.0.0.1:+%d", (gint)dead_pid());
	make_lock(profile, lock);
	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);

	write_oversized(user_js);
	assert_bind_refused(profile, "id1", &full_binding, ME_ERROR_TOO_LARGE);
	me_test_rm_rf(dir);
}

/* ---- a real Thunderbird */

static gboolean
have_thunderbird(void)
{
	const gchar *binary = g_getenv("ME_TEST_THUNDERBIRD");

	if (g_file_test(binary != NULL ? binary : "/usr/bin/thunderbird", G_FILE_TEST_IS_EXECUTABLE))
		return TRUE;
	g_test_skip("Thunderbird is not installed");
	return FALSE;
}

static gboolean
prefs_js_has(const gchar *path, const gchar *needle)
{
	g_autofree gchar *text = NULL;
	return g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL;
}

/* Thunderbird started with no profile in a fresh home has made one, written profiles.ini
 * and installs.ini, and locked it */
static void
check_default_profile(const gchar *home, MeTestThunderbird *tb)
{
	const gchar *profile = me_test_thunderbird_get_profile(tb);
	g_autofree gchar *ini_path = g_build_filename(home, ".thunderbird", "profiles.ini", NULL);
	g_autofree gchar *ini = read_file(ini_path);
	g_autofree gchar *user_js = g_build_filename(profile, "user.js", NULL);
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(MeTbProfile) def = NULL;
	g_autoptr(MeTbProfile) launching = NULL;
	g_autoptr(GError) error = NULL;
	GPid running_pid = 0;

	g_test_message("%s:\n%s", ini_path, ini);
	profiles = list_ok(home);
	g_assert_nonnull(find_profile(profiles, profile));
	g_assert_true(find_profile(profiles, profile)->is_default);
	g_assert_cmpuint(count_defaults(profiles), ==, 1);
	def = me_tb_profile_get_default(home, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(def->path, ==, profile);

	g_assert_true(me_tb_profile_is_running(profile, &running_pid));
	g_assert_cmpint(running_pid, ==, me_test_thunderbird_get_pid(tb));

	/* its command line names no profile: found by the lock */
	launching = me_tb_profile_find_launching(home, me_test_thunderbird_get_pid(tb), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(launching->path, ==, profile);
	g_assert_true(launching->is_default);

	assert_bind_refused(profile, "id1", &full_binding, ME_ERROR_BUSY);
	g_assert_false(g_file_test(user_js, G_FILE_TEST_EXISTS));
}

/* a second Thunderbird on a profile folder of its own, bound offline before it started */
static void
check_profile_option(const gchar *home, MeTestThunderbird *tb, MeTestThunderbird *first)
{
	const gchar *profile = me_test_thunderbird_get_profile(tb);
	g_autofree gchar *prefs_js = g_build_filename(profile, "prefs.js", NULL);
	g_autofree gchar *log = NULL;
	g_autoptr(MeTbProfile) launching = NULL;
	g_autoptr(MeTbProfile) launching_first = NULL;
	g_autoptr(GError) error = NULL;
	GPid running_pid = 0;

	/* not in profiles.ini: only its command line can tell */
	launching = me_tb_profile_find_launching(home, me_test_thunderbird_get_pid(tb), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(launching->path, ==, profile);
	g_assert_null(launching->name);
	g_assert_false(launching->is_default);
	launching_first = me_tb_profile_find_launching(home, me_test_thunderbird_get_pid(first), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(launching_first->path, ==, me_test_thunderbird_get_profile(first));

	g_assert_true(me_tb_profile_is_running(profile, &running_pid));
	g_assert_cmpint(running_pid, ==, me_test_thunderbird_get_pid(tb));
	assert_bind_refused(profile, "id1", &full_binding, ME_ERROR_BUSY);

	/* a fresh profile's prefs.js is written while it starts; wait for it (at most 20 s) */
	for (guint i = 0; i < 1000 && !prefs_js_has(prefs_js, "id1.sign_mail"); i++)
		g_usleep(20000);
	log = me_test_thunderbird_get_log(tb);
	g_assert_null(strstr(log, "prefs parse error"));
}

/* the decisive check of the escaping: Thunderbird has read our user.js and written the same
 * values into its own prefs.js, which our reader reads back */
static void
check_prefs_js(const gchar *profile)
{
	g_autofree gchar *prefs_js = g_build_filename(profile, "prefs.js", NULL);
	g_autofree gchar *text = read_file(prefs_js);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) prefs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *key = NULL;

	for (guint i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], "mail.identity.id1.") != NULL)
			g_test_message("prefs.js: %s", lines[i]);
	}
	prefs = me_tb_prefs_load_file(prefs_js, &error);
	g_assert_no_error(error);
	assert_bound(prefs, "id1", NICKNAME, DB_KEY);
	g_assert_cmpstr(get_pref(prefs, "mail.identity.id1.fullName", ME_TB_PREF_TYPE_STRING)->value, ==, "Zoë");
	key = me_tb_prefs_find_identity(profile, "zoe@EXAMPLE.org", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(key, ==, "id1");
}

/* two real Thunderbirds in one fresh home: one on the profile it makes itself, one on a
 * profile folder given with -profile */
static void
test_real(void)
{
	g_autofree gchar *home = NULL;
	g_autofree gchar *profile = NULL;
	g_autofree gchar *first_profile = NULL;
	g_autofree gchar *lock = NULL;
	g_autoptr(MeTestThunderbird) first = NULL;
	g_autoptr(MeTestThunderbird) second = NULL;
	g_autoptr(GError) error = NULL;
	GPid first_pid;
	GPid running_pid = 0;

	if (!have_thunderbird())
		return;
	home = me_test_tmpdir();
	first = me_test_thunderbird_start(home, NULL, &error);
	g_assert_no_error(error);
	first_pid = me_test_thunderbird_get_pid(first);
	first_profile = g_strdup(me_test_thunderbird_get_profile(first));
	check_default_profile(home, first);

	profile = me_test_thunderbird_make_profile(home, "work profile",
						   "user_pref(\"mail.identity.id1.useremail\", \"zoe@example.org\");\n"
						   "user_pref(\"mail.identity.id1.fullName\", \"Zoë\");\n");
	g_assert_true(me_tb_user_js_bind_identity(profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	second = me_test_thunderbird_start(home, profile, &error);
	g_assert_no_error(error);
	check_profile_option(home, second, first);

	me_test_thunderbird_stop(g_steal_pointer(&second));
	g_assert_false(me_tb_profile_is_running(profile, NULL));
	check_prefs_js(profile);

	me_test_thunderbird_stop(g_steal_pointer(&first));
	lock = g_build_filename(first_profile, "lock", NULL);
	g_assert_false(me_tb_profile_is_running(first_profile, &running_pid));
	g_assert_cmpint(running_pid, ==, 0);
	g_assert_false(g_file_test(lock, G_FILE_TEST_IS_SYMLINK));
	g_assert_null(me_tb_profile_find_launching(home, first_pid, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_true(me_tb_user_js_bind_identity(first_profile, "id1", &full_binding, &error));
	g_assert_no_error(error);
	me_test_rm_rf(home);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *dirs = NULL;
	g_autofree gchar *home = NULL;
	g_autofree gchar *config = NULL;
	int status;

	setlocale(LC_ALL, "C.UTF-8");
	/* a HOME and an XDG_CONFIG_HOME (outside HOME) of the test's own, set before GLib reads
	 * and caches them, so no test ever sees the user's Thunderbird (G_TEST_OPTION_ISOLATE_DIRS
	 * would too, but GLib 2.74 leaks its strings at every test) */
	dirs = me_test_tmpdir();
	home = make_dir(dirs, "home");
	config = make_dir(dirs, "config");
	g_setenv("HOME", home, TRUE);
	g_setenv("XDG_CONFIG_HOME", config, TRUE);
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/thunderbird/profile/new-for-path", test_new_for_path);
	g_test_add_func("/thunderbird/profiles/relative-absolute", test_profiles_relative_absolute);
	g_test_add_func("/thunderbird/profiles/install-section", test_profiles_install_section);
	g_test_add_func("/thunderbird/profiles/installs-ini", test_profiles_installs_ini);
	g_test_add_func("/thunderbird/profiles/several-installs", test_profiles_several_installs);
	g_test_add_func("/thunderbird/profiles/skipped", test_profiles_skipped);
	g_test_add_func("/thunderbird/profiles/roots", test_profiles_roots);
	g_test_add_func("/thunderbird/profiles/same-root-twice", test_profiles_same_root_twice);
	g_test_add_func("/thunderbird/profiles/too-many", test_profiles_too_many);
	g_test_add_func("/thunderbird/profiles/oversized", test_profiles_oversized);
	g_test_add_func("/thunderbird/profiles/garbage", test_profiles_garbage);
	g_test_add_func("/thunderbird/profiles/none", test_profiles_none);
	g_test_add_func("/thunderbird/profiles/get-default", test_profiles_get_default);
	g_test_add_func("/thunderbird/lock/hand-made", test_lock_hand_made);
	g_test_add_func("/thunderbird/lock/parentlock", test_lock_parentlock);
	g_test_add_func("/thunderbird/launching/lock", test_launching_lock);
	g_test_add_func("/thunderbird/launching/cmdline", test_launching_cmdline);
	g_test_add_data_func("/thunderbird/claimed/snap", GINT_TO_POINTER(ME_TEST_TB_SNAP), test_claimed_layout);
	g_test_add_data_func("/thunderbird/claimed/flatpak", GINT_TO_POINTER(ME_TEST_TB_FLATPAK), test_claimed_layout);
	g_test_add_func("/thunderbird/claimed/outside", test_claimed_outside);
	g_test_add_func("/thunderbird/claimed/launcher", test_claimed_launcher);
	g_test_add_func("/thunderbird/claimed/parentlock", test_claimed_parentlock);
	g_test_add_func("/thunderbird/prefs/identity", test_prefs_identity);
	g_test_add_func("/thunderbird/prefs/values", test_prefs_values);
	g_test_add_func("/thunderbird/prefs/malformed", test_prefs_malformed);
	g_test_add_func("/thunderbird/prefs/too-large", test_prefs_too_large);
	g_test_add_func("/thunderbird/user-js/round-trip", test_user_js_round_trip);
	g_test_add_func("/thunderbird/user-js/replace", test_user_js_replace);
	g_test_add_func("/thunderbird/user-js/mode-symlink", test_user_js_mode_symlink);
	g_test_add_func("/thunderbird/user-js/invalid", test_user_js_invalid);
	g_test_add_func("/thunderbird/real", test_real);
	status = g_test_run();
	me_test_rm_rf(dirs);
	return status;
}
