/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeThunderbird"

#include "config.h"

#include "thunderbird.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "mail.h"

/* the longest path taken from profiles.ini, installs.ini or a command line */
#define TB_PATH_MAX 4096
/* the longest profile name kept */
#define TB_NAME_MAX 1024
/* an install section is named after a 64-bit hash of the install folder, in hex */
#define TB_INSTALL_HASH_LEN 16
/* a lock symbolic link points at "ADDR:+PID", e.g. "127.0.0.1:+4242" */
#define TB_LOCK_TARGET_MAX 128
/* the longest keyword of the prefs syntax (sticky_pref) with room to spare */
#define TB_PREFS_KEYWORD_MAX 16

static gint
file_error_to_errno(const GError *error)
{
	static const struct {
		GFileError code;
		gint errnum;
	} map[] = {
	    {G_FILE_ERROR_NOENT, ENOENT}, {G_FILE_ERROR_ACCES, EACCES}, {G_FILE_ERROR_PERM, EPERM},
	    {G_FILE_ERROR_NOSPC, ENOSPC}, {G_FILE_ERROR_ROFS, EROFS},   {G_FILE_ERROR_NOTDIR, ENOTDIR},
	    {G_FILE_ERROR_ISDIR, EISDIR}, {G_FILE_ERROR_NAMETOOLONG, ENAMETOOLONG},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(map); i++) {
		if (g_error_matches(error, G_FILE_ERROR, map[i].code))
			return map[i].errnum;
	}
	return EIO;
}

/* ---- profiles */

/**
 * me_tb_profile_free:
 * @profile: (nullable): a profile
 *
 * Frees @profile.
 */
void
me_tb_profile_free(MeTbProfile *profile)
{
	if (profile == NULL)
		return;
	g_free(profile->name);
	g_free(profile->path);
	g_free(profile);
}

static MeTbProfile *
profile_new(const gchar *name, const gchar *path, gboolean is_default)
{
	MeTbProfile *profile = g_new0(MeTbProfile, 1);
	profile->name = g_strdup(name);
	profile->path = g_strdup(path);
	profile->is_default = is_default;
	return profile;
}

static MeTbProfile *
profile_copy(const MeTbProfile *profile)
{
	return profile_new(profile->name, profile->path, profile->is_default);
}

static void
set_folder_missing_error(GError **error, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
		    /* TRANSLATORS: a Thunderbird profile folder was given but is not there; %s is its path */
		    _("The Thunderbird profile folder %s does not exist; give the path of an existing profile folder."),
		    display);
}

/**
 * me_tb_profile_new_for_path:
 * @path: a profile folder, as given to Thunderbird's `-profile`; a relative path is taken
 *   from the current directory
 * @error: (nullable): return location
 *
 * A profile known only by its folder, which must exist.
 *
 * Returns: (transfer full): the profile with an absolute path and no name, or %NULL with
 *   @error set to %ME_ERROR_INVALID_ARGUMENT (empty or too long, or not a folder),
 *   %ME_ERROR_NOT_FOUND or %ME_ERROR_FAILED
 */
MeTbProfile *
me_tb_profile_new_for_path(const gchar *path, GError **error)
{
	g_autofree gchar *absolute = NULL;
	g_autofree gchar *display = NULL;
	GStatBuf st;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (path[0] == '\0' || strlen(path) > TB_PATH_MAX) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the profile folder given is an empty text or longer than %d bytes */
			    _("The profile folder name is empty or longer than %d bytes; give the path of a Thunderbird profile folder."),
			    TB_PATH_MAX);
		return NULL;
	}
	absolute = g_canonicalize_filename(path, NULL);
	display = g_filename_display_name(absolute);
	if (g_stat(absolute, &st) != 0) {
		gint errsv = errno;
		if (errsv == ENOENT || errsv == ENOTDIR) {
			set_folder_missing_error(error, absolute);
			return NULL;
		}
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: a Thunderbird profile folder cannot be opened; %s is its path, then the system's reason */
			    _("The Thunderbird profile folder %s cannot be opened (%s); check its permissions."), display,
			    g_strerror(errsv));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the path given as a Thunderbird profile folder is a file; %s is the path */
			    _("The path %s is not a folder; give the path of a Thunderbird profile folder."), display);
		return NULL;
	}
	return profile_new(NULL, absolute, FALSE);
}

/* every folder a Thunderbird keeps profiles.ini in: Mozilla's own, the XDG one newer builds
 * use, the Snap's and the Flatpak's */
static GPtrArray *
profile_roots(const gchar *home)
{
	GPtrArray *roots = g_ptr_array_new_with_free_func(g_free);
	const gchar *base = home != NULL ? home : g_get_home_dir();
	/* the environment describes the current user, so it is only asked when @home is not given */
	g_autofree gchar *config =
	    home != NULL ? g_build_filename(home, ".config", NULL) : g_strdup(g_get_user_config_dir());

	g_ptr_array_add(roots, g_build_filename(base, ".thunderbird", NULL));
	g_ptr_array_add(roots, g_build_filename(config, "thunderbird", NULL));
	g_ptr_array_add(roots, g_build_filename(base, "snap", "thunderbird", "common", ".thunderbird", NULL));
	g_ptr_array_add(roots, g_build_filename(base, ".var", "app", "org.mozilla.Thunderbird", ".thunderbird", NULL));
	return roots;
}

typedef struct {
	/* element-type MeTbProfile; is_default holds the legacy Default=1 until the end */
	GPtrArray *profiles;
	/* the distinct absolute paths [Install...] sections name as their default */
	GPtrArray *install_defaults;
	/* dev and inode of each root read, so a root reached twice by a symbolic link counts once */
	GArray *roots_seen;
} ProfileList;

static void
profile_list_clear(ProfileList *list)
{
	g_clear_pointer(&list->profiles, g_ptr_array_unref);
	g_clear_pointer(&list->install_defaults, g_ptr_array_unref);
	g_clear_pointer(&list->roots_seen, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ProfileList, profile_list_clear)

static const MeTbProfile *
profile_list_find(const ProfileList *list, const gchar *path)
{
	for (guint i = 0; i < list->profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(list->profiles, i);
		if (g_strcmp0(profile->path, path) == 0)
			return profile;
	}
	return NULL;
}

static gboolean
profile_list_root_seen(ProfileList *list, const GStatBuf *st)
{
	guint64 id[2] = {(guint64)st->st_dev, (guint64)st->st_ino};

	for (guint i = 0; i + 1 < list->roots_seen->len; i += 2) {
		if (g_array_index(list->roots_seen, guint64, i) == id[0] &&
		    g_array_index(list->roots_seen, guint64, i + 1) == id[1])
			return TRUE;
	}
	g_array_append_vals(list->roots_seen, id, 2);
	return FALSE;
}

/* a path from profiles.ini or installs.ini, made absolute; %NULL when it must not be used: a
 * relative one must stay inside @root, an absolute one must be absolute */
static gchar *
resolve_ini_path(const gchar *root, const gchar *value, gboolean relative)
{
	g_auto(GStrv) parts = NULL;

	if (value == NULL || value[0] == '\0' || strlen(value) > TB_PATH_MAX)
		return NULL;
	if (!relative)
		return g_path_is_absolute(value) ? g_canonicalize_filename(value, NULL) : NULL;
	if (g_path_is_absolute(value))
		return NULL;
	parts = g_strsplit(value, G_DIR_SEPARATOR_S, -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (g_strcmp0(parts[i], "..") == 0)
			return NULL;
	}
	return g_canonicalize_filename(value, root);
}

static void
set_profiles_ini_read_error(GError **error, const gchar *path, gint errnum)
{
	g_autofree gchar *display = g_filename_display_name(path);

	if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: Thunderbird's list of profiles is too big to be real; %s is its path */
			    _("The Thunderbird profile list %s is larger than 1 MiB; remove the damaged file, or give the profile folder."),
			    display);
		return;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: Thunderbird's list of profiles cannot be read; %s is its path, then the system's reason */
		    _("The Thunderbird profile list %s cannot be read (%s); check its permissions, or give the profile folder."),
		    display, g_strerror(errnum));
}

static void
set_profiles_ini_damaged_error(GError **error, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: Thunderbird's list of profiles is not in the expected format; %s is its path */
		    _("The Thunderbird profile list %s is damaged; repair or remove it, or give the profile folder."),
		    display);
}

/* profiles.ini or installs.ini; *ini stays %NULL when the file is not there */
static gboolean
load_ini(const gchar *path, GKeyFile **ini, GError **error)
{
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;
	gint errnum = 0;

	*ini = NULL;
	data = me_file_read_bounded(path, ME_TB_PROFILES_INI_MAX, &len, NULL, &errnum);
	if (data == NULL) {
		if (errnum == ENOENT) {
			g_debug("%s is not there", path);
			return TRUE;
		}
		set_profiles_ini_read_error(error, path, errnum);
		return FALSE;
	}
	if (!g_key_file_load_from_data(keyfile, data, len, G_KEY_FILE_NONE, &local)) {
		g_debug("%s: %s", path, local->message);
		set_profiles_ini_damaged_error(error, path);
		return FALSE;
	}
	*ini = g_steal_pointer(&keyfile);
	return TRUE;
}

/* "Profile" and a number, as Mozilla writes them */
static gboolean
is_profile_group(const gchar *group)
{
	const gchar *digits;

	if (!g_str_has_prefix(group, "Profile"))
		return FALSE;
	digits = group + strlen("Profile");
	if (digits[0] == '\0' || strlen(digits) > 9)
		return FALSE;
	for (const gchar *p = digits; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
	}
	return TRUE;
}

static void
profile_list_add_one(ProfileList *list, const gchar *root, GKeyFile *ini, const gchar *group)
{
	g_autofree gchar *is_relative = g_key_file_get_value(ini, group, "IsRelative", NULL);
	g_autofree gchar *value = g_key_file_get_value(ini, group, "Path", NULL);
	g_autofree gchar *name = g_key_file_get_value(ini, group, "Name", NULL);
	g_autofree gchar *is_default = g_key_file_get_value(ini, group, "Default", NULL);
	g_autofree gchar *path = resolve_ini_path(root, value, g_strcmp0(is_relative, "1") == 0);

	if (path == NULL) {
		g_debug("%s: [%s] has no usable Path, skipped", root, group);
		return;
	}
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_debug("%s: [%s] names %s, which is not a folder, skipped", root, group, path);
		return;
	}
	if (profile_list_find(list, path) != NULL) {
		g_debug("%s: [%s] names %s a second time, skipped", root, group, path);
		return;
	}
	if (name != NULL && (strlen(name) > TB_NAME_MAX || !g_utf8_validate(name, -1, NULL))) {
		g_debug("%s: [%s] has a name that is too long or not UTF-8, dropped", root, group);
		g_clear_pointer(&name, g_free);
	}
	g_ptr_array_add(list->profiles, profile_new(name, path, g_strcmp0(is_default, "1") == 0));
}

static gboolean
profile_list_add_profiles(ProfileList *list, const gchar *root, const gchar *ini_path, GKeyFile *ini, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(ini, NULL);
	guint count = 0;

	for (guint i = 0; groups[i] != NULL; i++) {
		if (is_profile_group(groups[i]))
			count++;
	}
	if (count > ME_TB_PROFILES_MAX) {
		g_autofree gchar *display = g_filename_display_name(ini_path);
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: Thunderbird's list of profiles names too many; %s is its path, %u the limit */
			    _("The Thunderbird profile list %s names more than %u profiles; remove unused profiles, or give the profile folder."),
			    display, ME_TB_PROFILES_MAX);
		return FALSE;
	}
	/* as Thunderbird reads them: Profile0, Profile1, ... up to the first gap or the first
	 * section without IsRelative */
	for (guint n = 0; n < ME_TB_PROFILES_MAX; n++) {
		g_autofree gchar *group = g_strdup_printf("Profile%u", n);
		if (!g_key_file_has_key(ini, group, "IsRelative", NULL))
			break;
		profile_list_add_one(list, root, ini, group);
	}
	return TRUE;
}

static gboolean
is_install_hash(const gchar *text)
{
	if (strlen(text) != TB_INSTALL_HASH_LEN)
		return FALSE;
	for (const gchar *p = text; *p != '\0'; p++) {
		if (!g_ascii_isxdigit(*p))
			return FALSE;
	}
	return TRUE;
}

/* Default= of every [<prefix><16 hex>] section: the profile path as profiles.ini writes it */
static void
profile_list_add_install_defaults(ProfileList *list, const gchar *root, GKeyFile *ini, const gchar *prefix)
{
	g_auto(GStrv) groups = g_key_file_get_groups(ini, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *value = NULL;
		g_autofree gchar *path = NULL;

		if (!g_str_has_prefix(groups[i], prefix) || !is_install_hash(groups[i] + strlen(prefix)))
			continue;
		value = g_key_file_get_value(ini, groups[i], "Default", NULL);
		if (value == NULL)
			continue;
		path = resolve_ini_path(root, value, !g_path_is_absolute(value));
		if (path == NULL) {
			g_debug("%s: [%s] has no usable Default, ignored", root, groups[i]);
			continue;
		}
		if (!g_ptr_array_find_with_equal_func(list->install_defaults, path, g_str_equal, NULL)) {
			g_debug("%s: install %s starts %s", root, groups[i], path);
			g_ptr_array_add(list->install_defaults, g_steal_pointer(&path));
		}
	}
}

static gboolean
profile_list_add_root(ProfileList *list, const gchar *root, GError **error)
{
	g_autofree gchar *ini_path = g_build_filename(root, "profiles.ini", NULL);
	g_autofree gchar *installs_path = g_build_filename(root, "installs.ini", NULL);
	g_autoptr(GKeyFile) ini = NULL;
	g_autoptr(GKeyFile) installs = NULL;
	GStatBuf st;

	if (g_stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		g_debug("no profile root %s", root);
		return TRUE;
	}
	if (profile_list_root_seen(list, &st)) {
		g_debug("profile root %s was read already", root);
		return TRUE;
	}
	if (!load_ini(ini_path, &ini, error))
		return FALSE;
	if (ini == NULL)
		return TRUE;
	if (!profile_list_add_profiles(list, root, ini_path, ini, error))
		return FALSE;
	profile_list_add_install_defaults(list, root, ini, "Install");
	/* older builds kept the install sections in installs.ini alone, without the prefix */
	if (!load_ini(installs_path, &installs, error))
		return FALSE;
	if (installs != NULL)
		profile_list_add_install_defaults(list, root, installs, "");
	return TRUE;
}

/* one install default wins; several installs disagreeing (or none) leave Default=1 */
static void
profile_list_settle_default(ProfileList *list)
{
	const gchar *install_default;

	if (list->install_defaults->len != 1) {
		g_debug("%u install defaults: the legacy Default=1 counts", list->install_defaults->len);
		return;
	}
	install_default = g_ptr_array_index(list->install_defaults, 0);
	if (profile_list_find(list, install_default) == NULL) {
		g_debug("the install default %s is not a listed profile: the legacy Default=1 counts",
			install_default);
		return;
	}
	for (guint i = 0; i < list->profiles->len; i++) {
		MeTbProfile *profile = g_ptr_array_index(list->profiles, i);
		profile->is_default = g_strcmp0(profile->path, install_default) == 0;
	}
}

static void
set_no_profile_error(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: no Thunderbird profile exists for this user */
			    _("No Thunderbird profile was found; start Thunderbird once, or give the profile folder."));
}

/**
 * me_tb_profiles_list:
 * @home: (nullable): the home folder to look in; %NULL for the current user's, and then
 *   `$XDG_CONFIG_HOME` is honoured too
 * @error: (nullable): return location
 *
 * Every profile of every Thunderbird profile root: `~/.thunderbird`,
 * `$XDG_CONFIG_HOME/thunderbird` (`~/.config/thunderbird`), the Snap's
 * `~/snap/thunderbird/common/.thunderbird` and the Flatpak's
 * `~/.var/app/org.mozilla.Thunderbird/.thunderbird`.  Each root's `profiles.ini` is read as
 * Thunderbird reads it: `[Profile0]`, `[Profile1]`, ... with `Name`, `IsRelative`, `Path` and
 * `Default`.  Profiles whose folder does not exist, or whose relative path leaves the root,
 * are skipped.  The default is the one profile the install sections (`[Install<hash>]` in
 * profiles.ini, `[<hash>]` in installs.ini) name, when they all name the same one; otherwise
 * the profiles with the legacy `Default=1`.
 *
 * Returns: (transfer full) (element-type MeTbProfile): the profiles, or %NULL with @error set
 *   to %ME_ERROR_NOT_FOUND (none), %ME_ERROR_INVALID_DATA (a damaged profiles.ini or
 *   installs.ini), %ME_ERROR_TOO_LARGE (more than %ME_TB_PROFILES_INI_MAX bytes or
 *   %ME_TB_PROFILES_MAX profiles) or %ME_ERROR_FAILED
 */
GPtrArray *
me_tb_profiles_list(const gchar *home, GError **error)
{
	g_auto(ProfileList) list = {NULL, NULL, NULL};
	g_autoptr(GPtrArray) roots = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	list.profiles = g_ptr_array_new_with_free_func((GDestroyNotify)me_tb_profile_free);
	list.install_defaults = g_ptr_array_new_with_free_func(g_free);
	list.roots_seen = g_array_new(FALSE, FALSE, sizeof(guint64));
	roots = profile_roots(home);
	for (guint i = 0; i < roots->len; i++) {
		if (!profile_list_add_root(&list, g_ptr_array_index(roots, i), error))
			return NULL;
	}
	if (list.profiles->len == 0) {
		set_no_profile_error(error);
		return NULL;
	}
	profile_list_settle_default(&list);
	return g_steal_pointer(&list.profiles);
}

/**
 * me_tb_profile_get_default:
 * @home: (nullable): the home folder, as for me_tb_profiles_list()
 * @error: (nullable): return location
 *
 * The profile Thunderbird starts when none is named: the single default profile, or the
 * only profile there is.
 *
 * Returns: (transfer full): the profile, or %NULL with @error set to %ME_ERROR_NOT_FOUND,
 *   %ME_ERROR_INVALID_ARGUMENT (several profiles and no single default) or an error of
 *   me_tb_profiles_list()
 */
MeTbProfile *
me_tb_profile_get_default(const gchar *home, GError **error)
{
	g_autoptr(GPtrArray) profiles = NULL;
	const MeTbProfile *found = NULL;
	guint n_default = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	profiles = me_tb_profiles_list(home, error);
	if (profiles == NULL)
		return NULL;
	for (guint i = 0; i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (profile->is_default) {
			found = profile;
			n_default++;
		}
	}
	if (n_default == 1)
		return profile_copy(found);
	if (profiles->len == 1)
		return profile_copy(g_ptr_array_index(profiles, 0));
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: there are several Thunderbird profiles and none is clearly the default; keep "--profile" as is */
			    _("Several Thunderbird profiles were found and none is the only default; choose one with --profile."));
	return NULL;
}

/* ---- locks */

/* the pid in a `lock` symbolic link, "ADDR:+PID" (or the older "ADDR:PID"), or 0 */
static GPid
lock_symlink_pid(const gchar *profile_path)
{
	g_autofree gchar *lock = g_build_filename(profile_path, "lock", NULL);
	gchar target[TB_LOCK_TARGET_MAX];
	const gchar *colon;
	guint64 pid = 0;
	gssize n;

	n = readlink(lock, target, sizeof(target) - 1);
	if (n <= 0 || (gsize)n >= sizeof(target) - 1)
		return 0;
	target[n] = '\0';
	colon = strrchr(target, ':');
	if (colon == NULL)
		return 0;
	colon++;
	if (*colon == '+')
		colon++;
	if (!g_ascii_isdigit(*colon) || !g_ascii_string_to_unsigned(colon, 10, 1, G_MAXINT32, &pid, NULL))
		return 0;
	return (GPid)pid;
}

/* as Mozilla's nsProfileLock asks: a process we may not signal is alive too */
static gboolean
pid_is_alive(GPid pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Mozilla holds a write lock on .parentlock while it uses the profile; closing our
 * descriptor would drop a lock this process held itself, which the helper never does */
static gboolean
parentlock_is_held(const gchar *profile_path, GPid *pid)
{
	g_autofree gchar *path = g_build_filename(profile_path, ".parentlock", NULL);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	gboolean held;
	gint fd;

	fd = g_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return FALSE;
	held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	*pid = held && fl.l_pid > 0 ? fl.l_pid : 0;
	return held;
}

/**
 * me_tb_profile_is_running:
 * @profile_path: a profile folder
 * @pid_out: (out) (optional): the process id of the Thunderbird using it when known, else 0
 *
 * Whether a Thunderbird (or another Mozilla program) uses the profile now: someone holds
 * the write lock on `.parentlock` that Mozilla's profile lock takes, or the `lock` symbolic
 * link names a process that is alive.  A `lock` link left by a process that died does not
 * count.
 *
 * Returns: %TRUE if the profile is in use
 */
gboolean
me_tb_profile_is_running(const gchar *profile_path, GPid *pid_out)
{
	GPid pid = 0;

	g_return_val_if_fail(profile_path != NULL, FALSE);

	if (pid_out != NULL)
		*pid_out = 0;
	if (parentlock_is_held(profile_path, &pid)) {
		g_debug("%s: .parentlock is held by process %d", profile_path, (gint)pid);
		if (pid_out != NULL)
			*pid_out = pid;
		return TRUE;
	}
	pid = lock_symlink_pid(profile_path);
	if (pid_is_alive(pid)) {
		g_debug("%s: the lock names process %d, which is alive", profile_path, (gint)pid);
		if (pid_out != NULL)
			*pid_out = pid;
		return TRUE;
	}
	if (pid > 0)
		g_debug("%s: the lock names process %d, which is gone", profile_path, (gint)pid);
	return FALSE;
}

/* ---- the profile of a running Thunderbird */

static gchar **
read_cmdline(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	g_autofree gchar *data = NULL;
	GPtrArray *argv;
	gsize len = 0;
	gint errnum = 0;

	data = me_file_read_bounded(path, ME_TB_CMDLINE_MAX, &len, NULL, &errnum);
	if (data == NULL) {
		g_debug("%s: %s", path, g_strerror(errnum));
		return NULL;
	}
	argv = g_ptr_array_new();
	for (gsize off = 0; off < len;) {
		gsize arg_len = strnlen(data + off, len - off);
		g_ptr_array_add(argv, g_strndup(data + off, arg_len));
		off += arg_len + 1;
	}
	g_ptr_array_add(argv, NULL);
	return (gchar **)g_ptr_array_free(argv, FALSE);
}

typedef enum {
	LAUNCH_NONE,
	LAUNCH_PATH,
	LAUNCH_NAME,
} LaunchKind;

/* Mozilla takes options with one dash or two, in any case */
static gboolean
option_is(const gchar *opt, gsize len, const gchar *name)
{
	return len == strlen(name) && g_ascii_strncasecmp(opt, name, len) == 0;
}

/* the profile a Thunderbird command line names: `-profile PATH`, `--profile PATH`,
 * `--profile=PATH`, or `-P NAME`; a -P without a name opens the profile manager */
static LaunchKind
cmdline_profile(gchar **argv, const gchar **value)
{
	for (guint i = 1; argv[0] != NULL && argv[i] != NULL; i++) {
		const gchar *arg = argv[i];
		gboolean two_dashes = arg[0] == '-' && arg[1] == '-';
		const gchar *opt = arg + (two_dashes ? 2 : 1);
		const gchar *eq = two_dashes ? strchr(opt, '=') : NULL;
		gsize len = eq != NULL ? (gsize)(eq - opt) : strlen(opt);

		if (arg[0] != '-')
			continue;
		*value = eq != NULL ? eq + 1 : argv[i + 1];
		if (option_is(opt, len, "profile"))
			return *value != NULL && (*value)[0] != '\0' ? LAUNCH_PATH : LAUNCH_NONE;
		if (option_is(opt, len, "p"))
			return *value != NULL && (*value)[0] != '\0' && (*value)[0] != '-' ? LAUNCH_NAME : LAUNCH_NONE;
	}
	return LAUNCH_NONE;
}

static gboolean
same_folder(const gchar *a, const gchar *b)
{
	GStatBuf st_a, st_b;

	if (g_strcmp0(a, b) == 0)
		return TRUE;
	return g_stat(a, &st_a) == 0 && g_stat(b, &st_b) == 0 && st_a.st_dev == st_b.st_dev &&
	       st_a.st_ino == st_b.st_ino;
}

/* a `-profile` path, relative to the process's working folder; the listed profile when it
 * is one, so the name and default flag come along */
static MeTbProfile *
profile_for_cmdline_path(GPtrArray *profiles, GPid pid, const gchar *value)
{
	g_autofree gchar *cwd = NULL;
	g_autofree gchar *path = NULL;

	if (strlen(value) > TB_PATH_MAX)
		return NULL;
	if (!g_path_is_absolute(value)) {
		g_autofree gchar *cwd_link = g_strdup_printf("/proc/%d/cwd", (gint)pid);
		cwd = g_file_read_link(cwd_link, NULL);
		if (cwd == NULL)
			return NULL;
	}
	path = g_canonicalize_filename(value, cwd);
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_debug("process %d names the profile %s, which is not a folder", (gint)pid, path);
		return NULL;
	}
	for (guint i = 0; profiles != NULL && i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (same_folder(profile->path, path))
			return profile_copy(profile);
	}
	return profile_new(NULL, path, FALSE);
}

static MeTbProfile *
profile_for_name(GPtrArray *profiles, const gchar *name)
{
	for (guint i = 0; profiles != NULL && i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (g_strcmp0(profile->name, name) == 0)
			return profile_copy(profile);
	}
	return NULL;
}

static MeTbProfile *
profile_for_lock(GPtrArray *profiles, GPid pid)
{
	for (guint i = 0; profiles != NULL && i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (lock_symlink_pid(profile->path) == pid)
			return profile_copy(profile);
	}
	return NULL;
}

/**
 * me_tb_profile_find_launching:
 * @home: (nullable): the home folder, as for me_tb_profiles_list()
 * @pid: the process id of a running Thunderbird; the native-messaging host passes
 *   getppid(), as Thunderbird is its parent
 * @error: (nullable): return location
 *
 * The profile the Thunderbird with process id @pid uses.  First its command line
 * (`/proc/PID/cmdline`, at most %ME_TB_CMDLINE_MAX bytes): `-profile PATH`, `--profile PATH`,
 * `--profile=PATH`, or `-P NAME` looked up among me_tb_profiles_list(); then the listed
 * profile whose `lock` symbolic link names @pid.
 *
 * Returns: (transfer full): the profile, or %NULL with @error set to %ME_ERROR_NOT_FOUND or
 *   an error of me_tb_profiles_list()
 */
MeTbProfile *
me_tb_profile_find_launching(const gchar *home, GPid pid, GError **error)
{
	g_auto(GStrv) argv = NULL;
	g_autoptr(GPtrArray) profiles = NULL;
	g_autoptr(GError) list_error = NULL;
	MeTbProfile *profile = NULL;
	const gchar *value = NULL;
	LaunchKind kind;

	g_return_val_if_fail(pid > 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	/* a broken profile list only matters when the command line does not settle it */
	profiles = me_tb_profiles_list(home, &list_error);
	argv = read_cmdline(pid);
	kind = argv != NULL ? cmdline_profile(argv, &value) : LAUNCH_NONE;
	if (kind == LAUNCH_PATH)
		profile = profile_for_cmdline_path(profiles, pid, value);
	else if (kind == LAUNCH_NAME)
		profile = profile_for_name(profiles, value);
	if (profile == NULL && kind != LAUNCH_NONE)
		g_debug("the command line of process %d names a profile that was not found", (gint)pid);
	if (profile == NULL)
		profile = profile_for_lock(profiles, pid);
	if (profile != NULL) {
		g_debug("process %d uses the profile %s", (gint)pid, profile->path);
		return profile;
	}
	if (list_error != NULL && !g_error_matches(list_error, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&list_error));
		return NULL;
	}
	g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: the helper could not tell which profile the Thunderbird that started it uses; keep "--profile" as is */
			    _("The profile of the running Thunderbird was not found; give the profile folder with --profile."));
	return NULL;
}

/* ---- sandboxed Thunderbirds */

/**
 * me_tb_sandbox_to_string:
 * @sandbox: a sandbox
 *
 * Returns: its name as people know it: `Snap` or `Flatpak`
 */
const gchar *
me_tb_sandbox_to_string(MeTbSandbox sandbox)
{
	return sandbox == ME_TB_SANDBOX_SNAP ? "Snap" : "Flatpak";
}

/**
 * me_tb_sandbox_get_folder:
 * @home: (nullable): the home folder; %NULL for the current user's
 * @sandbox: a sandbox
 *
 * The folder the sandboxed Thunderbird keeps its data in, which exists once it has run for
 * this user: `~/snap/thunderbird` or `~/.var/app/org.mozilla.Thunderbird`.
 *
 * Returns: (transfer full) (nullable): the folder, or %NULL when it is not there
 */
gchar *
me_tb_sandbox_get_folder(const gchar *home, MeTbSandbox sandbox)
{
	const gchar *base = home != NULL ? home : g_get_home_dir();
	g_autofree gchar *folder = sandbox == ME_TB_SANDBOX_SNAP
				       ? g_build_filename(base, "snap", "thunderbird", NULL)
				       : g_build_filename(base, ".var", "app", "org.mozilla.Thunderbird", NULL);

	return g_file_test(folder, G_FILE_TEST_IS_DIR) ? g_steal_pointer(&folder) : NULL;
}

/* ---- the profile the add-on says it runs in */

/* the names a Thunderbird's main process has: the deb's and the Flatpak's `thunderbird`,
 * the Snap's and Mozilla's tarball's `thunderbird-bin` */
static gboolean
is_thunderbird_name(const gchar *name)
{
	return g_strcmp0(name, "thunderbird") == 0 || g_strcmp0(name, "thunderbird-bin") == 0;
}

/* the process runs as this user and is a Thunderbird by its command name or its program's
 * file name; a process in another PID namespace cannot be asked, see
 * me_tb_profile_verify_claimed() */
static gboolean
process_is_thunderbird(GPid pid)
{
	g_autofree gchar *proc = g_strdup_printf("/proc/%d", (gint)pid);
	g_autofree gchar *comm_path = g_build_filename(proc, "comm", NULL);
	g_autofree gchar *exe_path = g_build_filename(proc, "exe", NULL);
	g_autofree gchar *comm = NULL;
	g_autofree gchar *exe = NULL;
	g_autofree gchar *exe_name = NULL;
	GStatBuf st;

	if (g_stat(proc, &st) != 0 || st.st_uid != getuid()) {
		g_debug("process %d is not there or not this user's", (gint)pid);
		return FALSE;
	}
	if (g_file_get_contents(comm_path, &comm, NULL, NULL) && is_thunderbird_name(g_strstrip(comm)))
		return TRUE;
	exe = g_file_read_link(exe_path, NULL);
	exe_name = exe != NULL ? g_path_get_basename(exe) : NULL;
	if (exe_name != NULL && is_thunderbird_name(exe_name))
		return TRUE;
	g_debug("process %d is %s, not a Thunderbird", (gint)pid, comm != NULL ? comm : "unknown");
	return FALSE;
}

static gboolean
is_profile_folder(const gchar *path)
{
	g_autofree gchar *prefs = g_build_filename(path, "prefs.js", NULL);
	g_autofree gchar *compat = g_build_filename(path, "compatibility.ini", NULL);

	return g_file_test(prefs, G_FILE_TEST_IS_REGULAR) || g_file_test(compat, G_FILE_TEST_IS_REGULAR);
}

/* inside one of the profile roots of @home (each resolved, as @path is), or a profile one of
 * their profiles.ini lists */
static gboolean
is_known_profile(const gchar *home, const gchar *path)
{
	g_autoptr(GPtrArray) roots = profile_roots(home);
	g_autoptr(GPtrArray) profiles = me_tb_profiles_list(home, NULL);

	for (guint i = 0; i < roots->len; i++) {
		g_autofree gchar *root = realpath(g_ptr_array_index(roots, i), NULL);
		g_autofree gchar *prefix = root != NULL ? g_strconcat(root, G_DIR_SEPARATOR_S, NULL) : NULL;
		if (prefix != NULL && g_str_has_prefix(path, prefix))
			return TRUE;
	}
	for (guint i = 0; profiles != NULL && i < profiles->len; i++) {
		const MeTbProfile *profile = g_ptr_array_index(profiles, i);
		if (same_folder(profile->path, path))
			return TRUE;
	}
	return FALSE;
}

/* the launching Thunderbird's own profile: what getppid() finds for a deb Thunderbird */
static gboolean
is_launcher_profile(const gchar *home, GPid launcher, const gchar *path)
{
	g_autoptr(MeTbProfile) profile = NULL;

	if (launcher <= 0)
		return FALSE;
	profile = me_tb_profile_find_launching(home, launcher, NULL);
	return profile != NULL && same_folder(profile->path, path);
}

/* why @path is not taken, for the log; %NULL when it is */
static const gchar *
claim_refusal(const gchar *home, const gchar *path, GPid launcher)
{
	GPid pid = 0;

	if (is_launcher_profile(home, launcher, path))
		return NULL;
	if (!is_profile_folder(path))
		return "it has neither prefs.js nor compatibility.ini";
	if (!is_known_profile(home, path))
		return "it is under no profile folder of this user and no profiles.ini lists it";
	if (!me_tb_profile_is_running(path, &pid))
		return "no running program holds its lock";
	if (pid <= 0)
		return "its lock names no process this helper can see";
	if (!process_is_thunderbird(pid))
		return "its lock names a process that is not this user's Thunderbird";
	return NULL;
}

/**
 * me_tb_profile_verify_claimed:
 * @home: (nullable): the home folder, as for me_tb_profiles_list()
 * @path: the profile folder the add-on says its Thunderbird uses
 * @launcher: the process that started the caller (getppid()), or 0
 * @error: (nullable): return location
 *
 * Takes the add-on's word for its profile only as far as it can be checked.  A
 * sandboxed Thunderbird (Snap, Flatpak) starts the helper through the desktop portal, so
 * the helper's parent says nothing about the profile.  @path is taken when, with symbolic
 * links resolved, it is the profile of @launcher (me_tb_profile_find_launching(): a deb
 * Thunderbird), or when all of these hold: it is a folder with `prefs.js` or
 * `compatibility.ini`; it lies under one of the profile roots of me_tb_profiles_list() or
 * one of their profiles.ini lists it; its lock is held (me_tb_profile_is_running()) by a
 * process of this user whose command name or program is `thunderbird` or
 * `thunderbird-bin`.
 *
 * The limit: the `lock` link names a process id of Thunderbird's PID namespace.  A Snap
 * shares the helper's namespace; a Flatpak does not, so there only the `.parentlock`
 * lock, whose holder the kernel names in the caller's namespace, can be checked.  A holder
 * the kernel cannot name (pid 0) is not taken.
 *
 * Returns: (transfer full): the profile, with its resolved path and no name, or %NULL with
 *   @error set to %ME_ERROR_INVALID_ARGUMENT
 */
MeTbProfile *
me_tb_profile_verify_claimed(const gchar *home, const gchar *path, GPid launcher, GError **error)
{
	g_autofree gchar *resolved = NULL;
	g_autofree gchar *display = NULL;
	const gchar *refusal = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (g_path_is_absolute(path) && strlen(path) <= TB_PATH_MAX)
		resolved = realpath(path, NULL);
	if (resolved == NULL || !g_file_test(resolved, G_FILE_TEST_IS_DIR))
		refusal = "it is not an absolute path of a folder";
	else
		refusal = claim_refusal(home, resolved, launcher);
	if (refusal == NULL) {
		g_debug("the add-on's profile %s is verified", resolved);
		return profile_new(NULL, resolved, FALSE);
	}
	g_debug("the add-on's profile is not taken: %s", refusal);
	display = g_utf8_make_valid(path, MIN(strlen(path), (gsize)TB_PATH_MAX));
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
		    /* TRANSLATORS: the add-on named the Thunderbird profile it runs in, and the helper could not confirm it; %s is the folder */
		    _("The helper cannot confirm that %s is the profile of a Thunderbird running for you; restart Thunderbird, and if this stays, run mailenroll doctor."),
		    display);
	return NULL;
}

/* ---- prefs files: Mozilla's syntax, `user_pref("name", value);` and friends */

typedef struct {
	const gchar *data;
	gsize len;
	gsize pos;
	guint line;
} PrefsLexer;

typedef void (*PrefsFunc)(const gchar *name,
			  MeTbPrefType type,
			  const gchar *value,
			  gboolean is_user,
			  gsize start,
			  gsize end,
			  gpointer user_data);

static gboolean
lexer_at(const PrefsLexer *lx, const gchar *text)
{
	gsize n = strlen(text);
	return lx->len - lx->pos >= n && memcmp(lx->data + lx->pos, text, n) == 0;
}

static gchar
lexer_peek(const PrefsLexer *lx)
{
	return lx->pos < lx->len ? lx->data[lx->pos] : '\0';
}

/* white space and comments (`//`, `#`, block comments); %FALSE at an unterminated block
 * comment, left where it starts */
static gboolean
lexer_skip(PrefsLexer *lx)
{
	while (lx->pos < lx->len) {
		gchar c = lx->data[lx->pos];
		if (c == '\n') {
			lx->line++;
			lx->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->pos++;
		} else if (c == '#' || lexer_at(lx, "//")) {
			const gchar *nl = memchr(lx->data + lx->pos, '\n', lx->len - lx->pos);
			lx->pos = nl != NULL ? (gsize)(nl - lx->data) : lx->len;
		} else if (lexer_at(lx, "/*")) {
			const gchar *end = g_strstr_len(lx->data + lx->pos + 2, (gssize)(lx->len - lx->pos - 2), "*/");
			if (end == NULL)
				return FALSE;
			for (const gchar *p = lx->data + lx->pos; p < end; p++)
				lx->line += *p == '\n';
			lx->pos = (gsize)(end - lx->data) + 2;
		} else {
			break;
		}
	}
	return TRUE;
}

static gboolean
lexer_expect(PrefsLexer *lx, gchar c)
{
	if (lx->pos >= lx->len || lx->data[lx->pos] != c)
		return FALSE;
	lx->pos++;
	return TRUE;
}

static gboolean
lexer_keyword(PrefsLexer *lx, gchar *buf, gsize size)
{
	gsize n = 0;

	while (lx->pos < lx->len && (g_ascii_isalnum(lx->data[lx->pos]) || lx->data[lx->pos] == '_')) {
		if (n + 1 >= size)
			return FALSE;
		buf[n++] = lx->data[lx->pos++];
	}
	buf[n] = '\0';
	return n > 0;
}

static gboolean
lexer_hex(PrefsLexer *lx, guint digits, gunichar *out)
{
	*out = 0;
	if (lx->len - lx->pos < digits)
		return FALSE;
	for (guint i = 0; i < digits; i++) {
		gint v = g_ascii_xdigit_value(lx->data[lx->pos + i]);
		if (v < 0)
			return FALSE;
		*out = *out * 16 + (gunichar)v;
	}
	lx->pos += digits;
	return TRUE;
}

/* \uHHHH, and the low half that must follow a high surrogate */
static gboolean
lexer_unicode_escape(PrefsLexer *lx, GString *out)
{
	gunichar u;
	gunichar low;

	if (!lexer_hex(lx, 4, &u) || u == 0 || (u >= 0xdc00 && u <= 0xdfff))
		return FALSE;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (!lexer_at(lx, "\\u"))
			return FALSE;
		lx->pos += 2;
		if (!lexer_hex(lx, 4, &low) || low < 0xdc00 || low > 0xdfff)
			return FALSE;
		u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
	}
	g_string_append_unichar(out, u);
	return TRUE;
}

static gboolean
lexer_escape(PrefsLexer *lx, GString *out)
{
	gunichar byte;
	gchar e;

	if (lx->pos >= lx->len)
		return FALSE;
	e = lx->data[lx->pos++];
	if (e == '\\' || e == '"' || e == '\'') {
		g_string_append_c(out, e);
		return TRUE;
	}
	if (e == 'n' || e == 'r' || e == 't') {
		/* Thunderbird's own parser refuses \t; read it anyway, as what it obviously means */
		g_string_append_c(out, e == 'n' ? '\n' : e == 'r' ? '\r' : '\t');
		return TRUE;
	}
	if (e == 'x') {
		/* a byte, not a code point: Mozilla's parser reads "\xe9" as the byte 0xe9 */
		if (!lexer_hex(lx, 2, &byte) || byte == 0)
			return FALSE;
		g_string_append_c(out, (gchar)byte);
		return TRUE;
	}
	if (e == 'u')
		return lexer_unicode_escape(lx, out);
	return FALSE;
}

static gboolean
lexer_string(PrefsLexer *lx, GString *out)
{
	gchar quote = lexer_peek(lx);

	g_string_truncate(out, 0);
	if (quote != '"' && quote != '\'')
		return FALSE;
	lx->pos++;
	while (lx->pos < lx->len) {
		gchar c = lx->data[lx->pos++];
		if (c == quote)
			return TRUE;
		if (c == '\0')
			return FALSE;
		if (c == '\\') {
			if (!lexer_escape(lx, out))
				return FALSE;
			continue;
		}
		lx->line += c == '\n';
		g_string_append_c(out, c);
	}
	return FALSE;
}

/* an integer; Mozilla keeps them in 32 bits */
static gboolean
lexer_number(PrefsLexer *lx, GString *out)
{
	gboolean negative = FALSE;
	guint digits = 0;
	gint64 v = 0;

	if (lexer_peek(lx) == '+' || lexer_peek(lx) == '-')
		negative = lx->data[lx->pos++] == '-';
	while (lx->pos < lx->len && g_ascii_isdigit(lx->data[lx->pos])) {
		if (++digits > 10)
			return FALSE;
		v = v * 10 + (lx->data[lx->pos++] - '0');
	}
	if (digits == 0)
		return FALSE;
	v = negative ? -v : v;
	if (v < G_MININT32 || v > G_MAXINT32)
		return FALSE;
	g_string_printf(out, "%" G_GINT64_FORMAT, v);
	return TRUE;
}

static gboolean
lexer_value(PrefsLexer *lx, MeTbPrefType *type, GString *out)
{
	gchar c = lexer_peek(lx);
	gchar keyword[TB_PREFS_KEYWORD_MAX];

	if (c == '"' || c == '\'') {
		*type = ME_TB_PREF_TYPE_STRING;
		return lexer_string(lx, out);
	}
	if (c == '+' || c == '-' || g_ascii_isdigit(c)) {
		*type = ME_TB_PREF_TYPE_INT;
		return lexer_number(lx, out);
	}
	*type = ME_TB_PREF_TYPE_BOOL;
	if (!lexer_keyword(lx, keyword, sizeof(keyword)) || (g_strcmp0(keyword, "true") != 0 && g_strcmp0(keyword, "false") != 0))
		return FALSE;
	g_string_assign(out, keyword);
	return TRUE;
}

/* `, locked` and `, sticky` after the value, as default prefs files have them */
static gboolean
lexer_attributes(PrefsLexer *lx)
{
	gchar keyword[TB_PREFS_KEYWORD_MAX];

	while (lexer_peek(lx) == ',') {
		lx->pos++;
		if (!lexer_skip(lx) || !lexer_keyword(lx, keyword, sizeof(keyword)) ||
		    (g_strcmp0(keyword, "locked") != 0 && g_strcmp0(keyword, "sticky") != 0) || !lexer_skip(lx))
			return FALSE;
	}
	return TRUE;
}

/* strings are handed on as UTF-8 whatever bytes the file had */
static gchar *
string_to_utf8(const GString *text)
{
	if (g_utf8_validate_len(text->str, text->len, NULL))
		return g_strndup(text->str, text->len);
	return g_utf8_make_valid(text->str, (gssize)text->len);
}

static gboolean
prefs_parse_statement(PrefsLexer *lx, GString *name, GString *value, PrefsFunc func, gpointer user_data)
{
	gchar keyword[TB_PREFS_KEYWORD_MAX];
	g_autofree gchar *name_utf8 = NULL;
	g_autofree gchar *value_utf8 = NULL;
	gsize start = lx->pos;
	MeTbPrefType type = ME_TB_PREF_TYPE_STRING;
	gboolean is_user;

	if (!lexer_keyword(lx, keyword, sizeof(keyword)))
		return FALSE;
	is_user = g_strcmp0(keyword, "user_pref") == 0;
	if (!is_user && g_strcmp0(keyword, "pref") != 0 && g_strcmp0(keyword, "sticky_pref") != 0)
		return FALSE;
	if (!lexer_skip(lx) || !lexer_expect(lx, '(') || !lexer_skip(lx) || !lexer_string(lx, name) ||
	    !lexer_skip(lx) || !lexer_expect(lx, ',') || !lexer_skip(lx) || !lexer_value(lx, &type, value) ||
	    !lexer_skip(lx) || !lexer_attributes(lx) || !lexer_expect(lx, ')') || !lexer_skip(lx) ||
	    !lexer_expect(lx, ';'))
		return FALSE;
	name_utf8 = string_to_utf8(name);
	value_utf8 = string_to_utf8(value);
	func(name_utf8, type, value_utf8, is_user, start, lx->pos, user_data);
	return TRUE;
}

/* calls @func for every statement; %FALSE with *error_line at the first one it cannot read */
static gboolean
prefs_parse(const gchar *data, gsize len, PrefsFunc func, gpointer user_data, guint *error_line)
{
	PrefsLexer lx = {data, len, 0, 1};
	g_autoptr(GString) name = g_string_new(NULL);
	g_autoptr(GString) value = g_string_new(NULL);

	if (lexer_at(&lx, "\xef\xbb\xbf"))
		lx.pos = 3;
	for (;;) {
		guint line;
		if (!lexer_skip(&lx)) {
			*error_line = lx.line;
			return FALSE;
		}
		if (lx.pos >= lx.len)
			return TRUE;
		line = lx.line;
		if (!prefs_parse_statement(&lx, name, value, func, user_data)) {
			*error_line = line;
			return FALSE;
		}
	}
}

/**
 * me_tb_pref_free:
 * @pref: (nullable): a pref
 *
 * Frees @pref.
 */
void
me_tb_pref_free(MeTbPref *pref)
{
	if (pref == NULL)
		return;
	g_free(pref->value);
	g_free(pref);
}

/* later lines win, except that a default never replaces a user value */
static void
prefs_collect(const gchar *name,
	      MeTbPrefType type,
	      const gchar *value,
	      gboolean is_user,
	      gsize start,
	      gsize end,
	      gpointer user_data)
{
	GHashTable *prefs = user_data;
	MeTbPref *old = g_hash_table_lookup(prefs, name);
	MeTbPref *pref;

	if (old != NULL && old->is_user && !is_user)
		return;
	pref = g_new0(MeTbPref, 1);
	pref->type = type;
	pref->value = g_strdup(value);
	pref->is_user = is_user;
	g_hash_table_replace(prefs, g_strdup(name), pref);
}

static void
set_prefs_read_error(GError **error, const gchar *path, gint errnum)
{
	g_autofree gchar *display = g_filename_display_name(path);

	if (errnum == ENOENT) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: a Thunderbird settings file (prefs.js, user.js) is not there; %s is its path */
			    _("The Thunderbird settings file %s does not exist; start Thunderbird once with this profile."),
			    display);
	} else if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a Thunderbird settings file (prefs.js, user.js) is too big to be real; %s is its path */
			    _("The Thunderbird settings file %s is larger than 16 MiB; remove the damaged file, or choose another profile."),
			    display);
	} else {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: a Thunderbird settings file (prefs.js, user.js) cannot be read; %s is its path, then the system's reason */
			    _("The Thunderbird settings file %s cannot be read (%s); check its permissions."), display,
			    g_strerror(errnum));
	}
}

static void
set_prefs_damaged_error(GError **error, const gchar *path, guint line)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: a Thunderbird settings file (prefs.js, user.js) has a line that is not a setting; %s is its path, %u the line number */
		    _("The Thunderbird settings file %s is damaged at line %u; repair that line, or choose another profile."),
		    display, line);
}

/* parses @path into @prefs; a missing file is no error when @missing_ok */
static gboolean
prefs_load_into(GHashTable *prefs, const gchar *path, gboolean missing_ok, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	gint errnum = 0;
	guint line = 0;

	data = me_file_read_bounded(path, ME_TB_PREFS_FILE_MAX, &len, NULL, &errnum);
	if (data == NULL) {
		if (errnum == ENOENT && missing_ok) {
			g_debug("%s is not there", path);
			return TRUE;
		}
		set_prefs_read_error(error, path, errnum);
		return FALSE;
	}
	if (!prefs_parse(data, len, prefs_collect, prefs, &line)) {
		g_debug("%s: cannot parse line %u", path, line);
		set_prefs_damaged_error(error, path, line);
		return FALSE;
	}
	return TRUE;
}

static GHashTable *
prefs_table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)me_tb_pref_free);
}

/**
 * me_tb_prefs_load_file:
 * @path: a prefs file, such as a profile's prefs.js or user.js
 * @error: (nullable): return location
 *
 * Reads a file in Mozilla's prefs syntax: `user_pref("name", value);`, `pref(...)` and
 * `sticky_pref(...)`; strings in double or single quotes with the escapes `\\`, `\"`, `\'`,
 * `\n`, `\r`, `\t`, `\xHH` (a byte) and `\uHHHH` (surrogate pairs joined); integers; `true`
 * and `false`; comments with `//`, `#` and block comments.  Later lines win, but a
 * `pref()` never replaces a `user_pref()`.
 *
 * Returns: (transfer full) (element-type utf8 MeTbPref): the prefs by name, or %NULL with
 *   @error set to %ME_ERROR_NOT_FOUND, %ME_ERROR_TOO_LARGE (more than
 *   %ME_TB_PREFS_FILE_MAX bytes), %ME_ERROR_INVALID_DATA (the file cannot be parsed; the
 *   message names the file and line) or %ME_ERROR_FAILED
 */
GHashTable *
me_tb_prefs_load_file(const gchar *path, GError **error)
{
	g_autoptr(GHashTable) prefs = prefs_table_new();

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!prefs_load_into(prefs, path, FALSE, error))
		return NULL;
	return g_steal_pointer(&prefs);
}

/* an identity key as Thunderbird makes them ("id3"), or any plain word */
static gboolean
is_identity_key(const gchar *key, gsize len)
{
	if (len == 0 || len > ME_TB_IDENTITY_KEY_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(key[i]) && key[i] != '_')
			return FALSE;
	}
	return TRUE;
}

/* N of "idN", or -1 */
static gint64
identity_key_number(const gchar *key)
{
	guint64 n = 0;

	if (!g_str_has_prefix(key, "id") || !g_ascii_isdigit(key[2]) || strlen(key + 2) > 9 ||
	    !g_ascii_string_to_unsigned(key + 2, 10, 0, G_MAXUINT32, &n, NULL))
		return -1;
	return (gint64)n;
}

/* id2 before id10, and both before keys of another form */
static gint
identity_key_compare(const gchar *a, const gchar *b)
{
	gint64 na = identity_key_number(a);
	gint64 nb = identity_key_number(b);

	if (na >= 0 && nb >= 0 && na != nb)
		return na < nb ? -1 : 1;
	if ((na >= 0) != (nb >= 0))
		return na >= 0 ? -1 : 1;
	return strcmp(a, b);
}

/* "id3" of "mail.identity.id3.useremail" */
static gchar *
useremail_identity_key(const gchar *name)
{
	static const gchar prefix[] = "mail.identity.";
	static const gchar suffix[] = ".useremail";
	gsize len = strlen(name);
	const gchar *key;
	gsize key_len;

	if (len < strlen(prefix) + strlen(suffix) || !g_str_has_prefix(name, prefix) ||
	    !g_str_has_suffix(name, suffix))
		return NULL;
	key = name + strlen(prefix);
	key_len = len - strlen(prefix) - strlen(suffix);
	if (!is_identity_key(key, key_len) || (key_len == 7 && strncmp(key, "default", 7) == 0))
		return NULL;
	return g_strndup(key, key_len);
}

/**
 * me_tb_prefs_find_identity:
 * @profile_path: a profile folder
 * @mailbox: an addr-spec, e.g. `alice@example.org`
 * @error: (nullable): return location
 *
 * The identity whose `mail.identity.<key>.useremail` is @mailbox (compared with
 * me_addr_spec_equal()), as the profile's prefs.js and then user.js set it (user.js wins).
 * When several match, the lowest `idN` is taken.
 *
 * Returns: (transfer full): the identity key, e.g. `id3`, or %NULL with @error set to
 *   %ME_ERROR_INVALID_ARGUMENT (@mailbox is no address), %ME_ERROR_NOT_FOUND or an error of
 *   me_tb_prefs_load_file()
 */
gchar *
me_tb_prefs_find_identity(const gchar *profile_path, const gchar *mailbox, GError **error)
{
	g_autoptr(GHashTable) prefs = prefs_table_new();
	g_autofree gchar *prefs_js = NULL;
	g_autofree gchar *user_js = NULL;
	g_autofree gchar *best = NULL;
	GHashTableIter iter;
	gpointer name;
	gpointer value;

	g_return_val_if_fail(profile_path != NULL, NULL);
	g_return_val_if_fail(mailbox != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!me_addr_spec_is_valid(mailbox)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the address to find a Thunderbird identity for is not an e-mail address */
				    _("The e-mail address to look for is not valid; give the address the certificate is for."));
		return NULL;
	}
	prefs_js = g_build_filename(profile_path, "prefs.js", NULL);
	user_js = g_build_filename(profile_path, "user.js", NULL);
	if (!prefs_load_into(prefs, prefs_js, TRUE, error) || !prefs_load_into(prefs, user_js, TRUE, error))
		return NULL;
	g_hash_table_iter_init(&iter, prefs);
	while (g_hash_table_iter_next(&iter, &name, &value)) {
		const MeTbPref *pref = value;
		g_autofree gchar *key = useremail_identity_key(name);
		if (key == NULL || pref->type != ME_TB_PREF_TYPE_STRING || !me_addr_spec_equal(pref->value, mailbox))
			continue;
		if (best == NULL || identity_key_compare(key, best) < 0) {
			g_free(best);
			best = g_steal_pointer(&key);
		}
	}
	if (best == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: no identity (account address) in the Thunderbird profile has this address; %s is the address */
			    _("No identity in the Thunderbird profile uses the address %s; add the address to an account in Thunderbird, or choose another profile."),
			    mailbox);
		return NULL;
	}
	g_debug("%s: %s is the identity of %s", profile_path, best, mailbox);
	return g_steal_pointer(&best);
}

/* ---- user.js */

static gboolean
is_nickname(const gchar *nickname)
{
	gsize len = strlen(nickname);

	if (len == 0 || len > ME_TB_NICKNAME_MAX || !g_utf8_validate(nickname, (gssize)len, NULL))
		return FALSE;
	for (const gchar *p = nickname; *p != '\0'; p = g_utf8_next_char(p)) {
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return FALSE;
	}
	return TRUE;
}

static gboolean
is_db_key(const gchar *db_key)
{
	gsize len = strlen(db_key);

	if (len == 0 || len > ME_TB_DB_KEY_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(db_key[i]) && db_key[i] != '+' && db_key[i] != '/' && db_key[i] != '=')
			return FALSE;
	}
	return TRUE;
}

static gboolean
check_binding(const gchar *identity_key, const MeTbCertBinding *binding, GError **error)
{
	if (!is_identity_key(identity_key, strlen(identity_key))) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the internal name of a Thunderbird identity is malformed; keep "id1" as is */
				    _("The Thunderbird identity name is not valid; use the identity found for the address, such as id1."));
		return FALSE;
	}
	if (binding->nickname == NULL || !is_nickname(binding->nickname)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the certificate's name in the certificate store is unusable; %u is the limit in bytes */
			    _("The certificate name is empty, longer than %u bytes or not plain text; import the certificate again."),
			    ME_TB_NICKNAME_MAX);
		return FALSE;
	}
	if (binding->db_key == NULL || !is_db_key(binding->db_key)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the certificate's key in Thunderbird's certificate store is unusable; %u is the limit in characters */
			    _("The certificate database key is not base64 of at most %u characters; import the certificate again."),
			    ME_TB_DB_KEY_MAX);
		return FALSE;
	}
	if (!binding->signing && !binding->encryption) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the certificate was to be set for neither signing nor encrypting mail */
				    _("The certificate is to be used neither for signing nor for encryption; choose at least one."));
		return FALSE;
	}
	if (binding->sign_by_default && !binding->signing) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: signing every message was asked for without a certificate for signing */
				    _("Signing every message needs a signing certificate; use the certificate for signing too."));
		return FALSE;
	}
	return TRUE;
}

/* a JS string literal Mozilla's parser reads back as @text: ASCII only, with \uXXXX for
 * everything else (surrogate pairs above U+FFFF); never \t, which it refuses */
static void
append_js_string(GString *out, const gchar *text)
{
	g_string_append_c(out, '"');
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == '\\' || c == '"') {
			g_string_append_c(out, '\\');
			g_string_append_c(out, (gchar)c);
		} else if (c >= 0x20 && c < 0x7f) {
			g_string_append_c(out, (gchar)c);
		} else if (c < 0x10000) {
			g_string_append_printf(out, "\\u%04x", c);
		} else {
			c -= 0x10000;
			g_string_append_printf(out, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
		}
	}
	g_string_append_c(out, '"');
}

static void
append_user_pref(GString *out, GPtrArray *names, const gchar *identity_key, const gchar *suffix, const gchar *text,
		 gboolean is_bool)
{
	g_autofree gchar *name = g_strdup_printf("mail.identity.%s.%s", identity_key, suffix);

	g_string_append_printf(out, "user_pref(\"%s\", ", name);
	if (is_bool)
		g_string_append(out, text);
	else
		append_js_string(out, text);
	g_string_append(out, ");\n");
	g_ptr_array_add(names, g_steal_pointer(&name));
}

/* the lines a binding adds to user.js; @names gets the pref names they set */
static GString *
binding_lines(const gchar *identity_key, const MeTbCertBinding *binding, GPtrArray *names)
{
	GString *out = g_string_new(NULL);

	if (binding->signing) {
		append_user_pref(out, names, identity_key, "signing_cert_name", binding->nickname, FALSE);
		append_user_pref(out, names, identity_key, "signing_cert_dbkey", binding->db_key, FALSE);
	}
	if (binding->encryption) {
		append_user_pref(out, names, identity_key, "encryption_cert_name", binding->nickname, FALSE);
		append_user_pref(out, names, identity_key, "encryption_cert_dbkey", binding->db_key, FALSE);
	}
	if (binding->sign_by_default)
		append_user_pref(out, names, identity_key, "sign_mail", "true", TRUE);
	return out;
}

typedef struct {
	GPtrArray *names; /* the pref names being written */
	GArray *ranges;	  /* gsize pairs: the statements that set one of them */
} UserJsScan;

static void
user_js_collect(const gchar *name,
		MeTbPrefType type,
		const gchar *value,
		gboolean is_user,
		gsize start,
		gsize end,
		gpointer user_data)
{
	UserJsScan *scan = user_data;

	if (!g_ptr_array_find_with_equal_func(scan->names, name, g_str_equal, NULL))
		return;
	g_array_append_val(scan->ranges, start);
	g_array_append_val(scan->ranges, end);
}

static gboolean
only_blanks(const gchar *data, gsize from, gsize to)
{
	for (gsize i = from; i < to; i++) {
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
			return FALSE;
	}
	return TRUE;
}

/* @data without the statements in @ranges; a line left with nothing but blanks goes whole,
 * every other line stays byte for byte */
static GString *
user_js_remove(const gchar *data, gsize len, GArray *ranges)
{
	GString *out = g_string_sized_new(len + 1);
	gsize copied = 0;

	for (guint i = 0; i + 1 < ranges->len; i += 2) {
		gsize start = g_array_index(ranges, gsize, i);
		gsize end = g_array_index(ranges, gsize, i + 1);
		gsize line_start = start;
		gsize line_end;

		/* statements apart only by blanks on one line go as one */
		while (i + 3 < ranges->len && only_blanks(data, end, g_array_index(ranges, gsize, i + 2))) {
			end = g_array_index(ranges, gsize, i + 3);
			i += 2;
		}
		while (line_start > copied && data[line_start - 1] != '\n')
			line_start--;
		line_end = end;
		while (line_end < len && data[line_end] != '\n')
			line_end++;
		if ((line_start == 0 || data[line_start - 1] == '\n') && only_blanks(data, line_start, start) &&
		    only_blanks(data, end, line_end)) {
			start = line_start;
			end = line_end < len ? line_end + 1 : line_end;
		}
		g_string_append_len(out, data + copied, (gssize)(start - copied));
		copied = end;
	}
	g_string_append_len(out, data + copied, (gssize)(len - copied));
	return out;
}

/* user.js itself, or the file it links to, so a user.js kept elsewhere stays a link */
static gchar *
user_js_target(const gchar *profile_path)
{
	g_autofree gchar *path = g_build_filename(profile_path, "user.js", NULL);
	g_autofree gchar *resolved = NULL;

	if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK))
		return g_steal_pointer(&path);
	resolved = realpath(path, NULL);
	if (resolved == NULL)
		return g_steal_pointer(&path);
	g_debug("%s links to %s", path, resolved);
	return g_strdup(resolved);
}

static gboolean
user_js_write(const gchar *path, const GString *contents, guint mode, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents_full(path, contents->str, (gssize)contents->len, G_FILE_SET_CONTENTS_CONSISTENT,
				      (gint)mode, &local)) {
		g_autofree gchar *display = g_filename_display_name(path);
		/* GLib's message names the temporary file: give the reason only */
		g_debug("%s", local->message);
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: Thunderbird's user.js could not be written; %s is its path, then the system's reason */
			    _("The Thunderbird settings file %s could not be saved (%s); check the permissions of the profile folder."),
			    display, g_strerror(file_error_to_errno(local)));
		return FALSE;
	}
	/* the new file was created under the umask: give it the old file's mode exactly */
	if (g_chmod(path, (gint)mode) != 0)
		g_debug("%s: cannot set mode %o: %s", path, mode, g_strerror(errno));
	return TRUE;
}

/* user.js as it is (empty, mode 0600, when there is none yet) */
static gchar *
user_js_read(const gchar *path, gsize *len, guint *mode, GError **error)
{
	gchar *data;
	gint errnum = 0;

	data = me_file_read_bounded(path, ME_TB_PREFS_FILE_MAX, len, mode, &errnum);
	if (data == NULL && errnum == ENOENT) {
		*len = 0;
		*mode = 0600;
		return g_strdup("");
	}
	if (data == NULL)
		set_prefs_read_error(error, path, errnum);
	return data;
}

/**
 * me_tb_user_js_bind_identity:
 * @profile_path: a profile folder
 * @identity_key: the identity, e.g. `id1` from me_tb_prefs_find_identity(): letters,
 *   digits and `_`, at most %ME_TB_IDENTITY_KEY_MAX bytes
 * @binding: the certificate: a nickname of UTF-8 without control characters, at most
 *   %ME_TB_NICKNAME_MAX bytes; a base64 db_key of at most %ME_TB_DB_KEY_MAX characters; and
 *   at least one of signing and encryption
 * @error: (nullable): return location
 *
 * Binds the certificate to the identity in the profile's user.js, which Thunderbird reads at
 * every start (and copies to prefs.js): `mail.identity.<key>.signing_cert_name` and
 * `signing_cert_dbkey`, `encryption_cert_name` and `encryption_cert_dbkey`, and
 * `sign_mail`.  Lines of user.js that set these prefs before are removed, so binding again
 * replaces; every other line stays byte for byte.  The file is replaced atomically, keeps
 * its mode (0600 when new), and stays a symbolic link if it is one (the file it links to is
 * replaced).  Strings are written as
 * ASCII JS literals (`\"`, `\\`, `\uXXXX`), which Thunderbird reads back as the same UTF-8.
 *
 * A running Thunderbird would not see the change before its next start, so a profile in
 * use is refused.  A Thunderbird started between the check and the write sees either the
 * old or the new file.
 *
 * Returns: %TRUE on success, or %FALSE with @error set to %ME_ERROR_INVALID_ARGUMENT,
 *   %ME_ERROR_NOT_FOUND (no such profile folder), %ME_ERROR_BUSY (Thunderbird uses the
 *   profile), %ME_ERROR_TOO_LARGE or %ME_ERROR_INVALID_DATA (an existing user.js over
 *   %ME_TB_PREFS_FILE_MAX bytes or that cannot be parsed) or %ME_ERROR_FAILED
 */
gboolean
me_tb_user_js_bind_identity(const gchar *profile_path,
			    const gchar *identity_key,
			    const MeTbCertBinding *binding,
			    GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(gsize));
	g_autoptr(GString) lines = NULL;
	g_autoptr(GString) contents = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *data = NULL;
	UserJsScan scan = {NULL, NULL};
	GPid pid = 0;
	gsize len = 0;
	guint mode = 0600;
	guint line = 0;

	g_return_val_if_fail(profile_path != NULL, FALSE);
	g_return_val_if_fail(identity_key != NULL, FALSE);
	g_return_val_if_fail(binding != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!check_binding(identity_key, binding, error))
		return FALSE;
	if (!g_file_test(profile_path, G_FILE_TEST_IS_DIR)) {
		set_folder_missing_error(error, profile_path);
		return FALSE;
	}
	if (me_tb_profile_is_running(profile_path, &pid)) {
		g_debug("%s is in use by process %d", profile_path, (gint)pid);
		g_set_error_literal(error, ME_ERROR, ME_ERROR_BUSY,
				    /* TRANSLATORS: Thunderbird has the profile open, so its settings cannot be changed now */
				    _("Thunderbird is using this profile; close Thunderbird first, or let the mailenroll add-on bind the certificate."));
		return FALSE;
	}
	path = user_js_target(profile_path);
	data = user_js_read(path, &len, &mode, error);
	if (data == NULL)
		return FALSE;
	lines = binding_lines(identity_key, binding, names);
	scan.names = names;
	scan.ranges = ranges;
	if (!prefs_parse(data, len, user_js_collect, &scan, &line)) {
		g_debug("%s: cannot parse line %u", path, line);
		set_prefs_damaged_error(error, path, line);
		return FALSE;
	}
	contents = user_js_remove(data, len, ranges);
	if (contents->len > 0 && contents->str[contents->len - 1] != '\n')
		g_string_append_c(contents, '\n');
	g_string_append_len(contents, lines->str, (gssize)lines->len);
	if (!user_js_write(path, contents, mode, error))
		return FALSE;
	g_debug("%s: identity %s bound (%u earlier lines replaced)", path, identity_key, ranges->len / 2);
	/* success */
	return TRUE;
}
