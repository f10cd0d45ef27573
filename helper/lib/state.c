/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeState"

#include "config.h"

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "json-util.h"

struct _MeState {
	gchar *path;
	gchar *ca;
	gchar *mailbox;
	gint lock_fd;
	JsonObject *obj;
};

static const gchar *const state_names[] = {
    [ME_STATE_STEP_NEW] = "new",
    [ME_STATE_STEP_ACCOUNT] = "account",
    [ME_STATE_STEP_ORDER] = "order",
    [ME_STATE_STEP_WAITING_CHALLENGE] = "waiting-challenge",
    [ME_STATE_STEP_WAITING_APPROVAL] = "waiting-approval",
    [ME_STATE_STEP_ANSWERED] = "answered",
    [ME_STATE_STEP_REPLY_SENT] = "reply-sent",
    [ME_STATE_STEP_CHALLENGE_POSTED] = "challenge-posted",
    [ME_STATE_STEP_VALIDATED] = "validated",
    [ME_STATE_STEP_KEY_STORED] = "key-stored",
    [ME_STATE_STEP_FINALIZED] = "finalized",
    [ME_STATE_STEP_ISSUED] = "issued",
    [ME_STATE_STEP_INSTALLED] = "installed",
    [ME_STATE_STEP_FAILED] = "failed",
};

/**
 * me_state_step_to_string:
 * @state: a step
 *
 * Returns: the step's stable name, as in the state file and the protocol
 */
const gchar *
me_state_step_to_string(MeStateStep state)
{
	if ((guint)state >= G_N_ELEMENTS(state_names))
		return "unknown";
	return state_names[state];
}

/**
 * me_state_step_from_string:
 * @text: a name from me_state_step_to_string()
 * @state: (out): the step
 *
 * Returns: %TRUE if @text names a step
 */
gboolean
me_state_step_from_string(const gchar *text, MeStateStep *state)
{
	for (guint i = 0; text != NULL && i < G_N_ELEMENTS(state_names); i++) {
		if (g_strcmp0(text, state_names[i]) == 0) {
			*state = (MeStateStep)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* a file name for any CA name or address: bytes other than [A-Za-z0-9._@+-] as %XX, and
 * never a leading dot */
static gchar *
escape_name(const gchar *text, gboolean lower_domain)
{
	GString *out = g_string_new(NULL);
	const gchar *at = lower_domain ? strrchr(text, '@') : NULL;

	for (const gchar *p = text; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (at != NULL && p > at)
			c = (guchar)g_ascii_tolower(c);
		if (g_ascii_isalnum(c) || strchr("_@+-", c) != NULL || (c == '.' && p != text))
			g_string_append_c(out, (gchar)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
	return g_string_free(out, FALSE);
}

static gboolean
set_io_error(GError **error, const gchar *path, gint errsv)
{
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: the state file of an enrollment could not be read or written; the first %s is its path, the second the system's reason */
		    _("The enrollment state %s cannot be used (%s); check that the folder belongs to you and the disk is not full."),
		    path, g_strerror(errsv));
	return FALSE;
}

static gboolean
set_damaged_error(GError **error, const gchar *path)
{
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: the saved state of an enrollment is not valid; %s is its path */
		    _("The saved enrollment state %s is damaged; start the enrollment again with --restart."),
		    path);
	return FALSE;
}

static gboolean
set_symlink_error(GError **error, const gchar *path)
{
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: a state or lock file of mailenroll is a symbolic link, which another user may have planted; %s is its path */
		    _("The enrollment state %s is a symbolic link, which mailenroll does not follow; remove it and check who else can write to its folder."),
		    path);
	return FALSE;
}

static gboolean
set_unsafe_dir_error(GError **error, const gchar *path)
{
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: the state folder belongs to another user or others may write to it; %s is its path; keep state-dir */
		    _("The state folder %s belongs to another user or others can write to it; use a folder of your own that only you can write to (state-dir in mailenroll.conf)."),
		    path);
	return FALSE;
}

/* the state is private to the user: a folder of another user, or one that others may write
 * to, could hold state (a reply's address) or a lock planted by them (docs/standards.md P-07) */
static gboolean
check_private_dir(const gchar *path, GError **error)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return set_io_error(error, path, errno);
	if (!S_ISDIR(st.st_mode))
		return set_io_error(error, path, ENOTDIR);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return set_unsafe_dir_error(error, path);
	return TRUE;
}

/* @dir, made 0700 where missing (each level mailenroll creates), and checked */
static gboolean
ensure_private_dir(const gchar *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0700) != 0)
		return set_io_error(error, dir, errno);
	return check_private_dir(dir, error);
}

/* opens a file of the state folder without following a symbolic link; -1 with errno */
static gint
open_nofollow(const gchar *path, gint flags)
{
	return g_open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
}

/* a state file's bytes: %NULL without @error when it does not exist */
static gchar *
read_state_file(const gchar *path, gsize *len, GError **error)
{
	gint fd = open_nofollow(path, O_RDONLY | O_NONBLOCK);
	gint errnum = 0;
	struct stat st;
	gchar *data = NULL;

	if (fd < 0) {
		if (errno == ELOOP)
			set_symlink_error(error, path);
		else if (errno != ENOENT)
			set_io_error(error, path, errno);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		set_damaged_error(error, path);
	else if (st.st_size > ME_STATE_FILE_MAX)
		set_damaged_error(error, path);
	else
		data = me_file_read_fd_bounded(fd, (gsize)st.st_size, ME_STATE_FILE_MAX, len, &errnum);
	if (errnum == EFBIG)
		set_damaged_error(error, path);
	else if (errnum != 0)
		set_io_error(error, path, errnum);
	close(fd);
	return data;
}

static JsonObject *
parse_state(const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;
	JsonObject *obj;
	MeStateStep step;

	data = read_state_file(path, &len, error);
	if (data == NULL)
		return NULL;
	if (len > ME_STATE_FILE_MAX || !json_parser_load_from_data(parser, data, (gssize)len, NULL)) {
		set_damaged_error(error, path);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		set_damaged_error(error, path);
		return NULL;
	}
	obj = json_node_get_object(root);
	if (json_object_get_int_member_with_default(obj, "version", 0) < 1 ||
	    !me_state_step_from_string(json_object_get_string_member_with_default(obj, "state", NULL), &step)) {
		set_damaged_error(error, path);
		return NULL;
	}
	if (json_object_get_int_member(obj, "version") > ME_STATE_VERSION) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: the state file was written by a newer mailenroll; %s is its path */
			    _("The enrollment state %s comes from a newer mailenroll; update mailenroll to continue."),
			    path);
		return NULL;
	}
	return json_object_ref(obj);
}

/**
 * me_state_open:
 * @state_dir: the state folder, e.g. `$XDG_STATE_HOME/mailenroll`
 * @ca: the CA profile's name
 * @mailbox: the mailbox
 * @error: return location for a #GError
 *
 * Opens (or starts) the state of the enrollment of @mailbox at @ca and holds its lock until
 * me_state_free(), so two processes never work on one enrollment.  The lock goes with the
 * process, so a killed process never leaves it behind.
 *
 * Returns: (transfer full): the state, or %NULL with @error set (%ME_ERROR_BUSY when
 *   another process holds it)
 */
MeState *
me_state_open(const gchar *state_dir, const gchar *ca, const gchar *mailbox, GError **error)
{
	g_autoptr(MeState) state = g_new0(MeState, 1);
	g_autofree gchar *ca_dir = NULL;
	g_autofree gchar *ca_name = escape_name(ca, FALSE);
	g_autofree gchar *file = NULL;
	g_autofree gchar *lock_path = NULL;
	g_autofree gchar *mailbox_name = escape_name(mailbox, TRUE);
	g_autoptr(GError) local = NULL;

	state->lock_fd = -1;
	ca_dir = g_build_filename(state_dir, ca_name, NULL);
	if (!ensure_private_dir(state_dir, error) || !ensure_private_dir(ca_dir, error))
		return NULL;
	file = g_strconcat(mailbox_name, ".json", NULL);
	state->path = g_build_filename(ca_dir, file, NULL);
	state->ca = g_strdup(ca);
	state->mailbox = g_strdup(mailbox);
	lock_path = g_strconcat(state->path, ".lock", NULL);
	state->lock_fd = open_nofollow(lock_path, O_RDWR | O_CREAT);
	if (state->lock_fd < 0) {
		if (errno == ELOOP)
			set_symlink_error(error, lock_path);
		else
			set_io_error(error, lock_path, errno);
		return NULL;
	}
	if (flock(state->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			g_set_error(error, ME_ERROR, ME_ERROR_BUSY,
				    /* TRANSLATORS: another mailenroll process works on the same enrollment; %s is the mailbox */
				    _("Another mailenroll is working on the certificate for %s; wait until it has finished."),
				    mailbox);
			return NULL;
		}
		set_io_error(error, lock_path, errno);
		return NULL;
	}
	state->obj = parse_state(state->path, &local);
	if (local != NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (state->obj != NULL) {
		if (g_strcmp0(me_state_get_string(state, "ca"), ca) != 0) {
			set_damaged_error(error, state->path);
			return NULL;
		}
	} else {
		state->obj = json_object_new();
		json_object_set_string_member(state->obj, "state", me_state_step_to_string(ME_STATE_STEP_NEW));
	}
	json_object_set_string_member(state->obj, "ca", ca);
	json_object_set_string_member(state->obj, "mailbox", mailbox);
	return g_steal_pointer(&state);
}

/**
 * me_state_load_readonly:
 * @path: a state file
 * @error: return location for a #GError
 *
 * Reads a state file without taking its lock, for status reports.  The result cannot be
 * saved.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 */
MeState *
me_state_load_readonly(const gchar *path, GError **error)
{
	g_autoptr(MeState) state = g_new0(MeState, 1);

	state->lock_fd = -1;
	state->path = g_strdup(path);
	state->obj = parse_state(path, error);
	if (state->obj == NULL) {
		if (error != NULL && *error == NULL)
			set_io_error(error, path, ENOENT);
		return NULL;
	}
	state->ca = g_strdup(me_state_get_string(state, "ca"));
	state->mailbox = g_strdup(me_state_get_string(state, "mailbox"));
	return g_steal_pointer(&state);
}

/**
 * me_state_free:
 * @state: (nullable): a state
 *
 * Frees @state and releases its lock; unsaved changes are dropped.
 */
void
me_state_free(MeState *state)
{
	if (state == NULL)
		return;
	if (state->lock_fd >= 0)
		close(state->lock_fd);
	if (state->obj != NULL)
		json_object_unref(state->obj);
	g_free(state->path);
	g_free(state->ca);
	g_free(state->mailbox);
	g_free(state);
}

/* errno for a GFileError, for the one message above */
static gint
file_error_errno(GFileError code)
{
	return code == G_FILE_ERROR_NOSPC ? ENOSPC : code == G_FILE_ERROR_ACCES ? EACCES : EIO;
}

/**
 * me_state_save:
 * @state: a state opened with me_state_open()
 * @error: return location for a #GError
 *
 * Writes the state atomically (a crash leaves the old or the new file, never a mix) and
 * durably, mode 0600.
 *
 * Returns: %TRUE on success
 */
gboolean
me_state_save(MeState *state, GError **error)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(GError) local = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_return_val_if_fail(state->lock_fd >= 0, FALSE);
	json_object_set_int_member(state->obj, "version", ME_STATE_VERSION);
	json_object_set_int_member(state->obj, "updated", g_get_real_time() / G_USEC_PER_SEC);
	json_node_set_object(root, state->obj);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	data = json_generator_to_data(gen, &len);
	if (!g_file_set_contents_full(state->path, data, (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &local))
		return set_io_error(error, state->path, local->domain == G_FILE_ERROR ? file_error_errno((GFileError)local->code) : EIO);
	return TRUE;
}

/**
 * me_state_reset:
 * @state: a state opened with me_state_open()
 * @error: return location for a #GError
 *
 * Starts the enrollment over: the old file is kept beside as `.old` for the record, and a
 * new one in state "new" is saved.  Keys in the keyring are never touched.
 *
 * Returns: %TRUE on success
 */
gboolean
me_state_reset(MeState *state, GError **error)
{
	g_autofree gchar *old = g_strconcat(state->path, ".old", NULL);

	if (g_file_test(state->path, G_FILE_TEST_EXISTS) && g_rename(state->path, old) != 0)
		return set_io_error(error, state->path, errno);
	json_object_unref(state->obj);
	state->obj = json_object_new();
	json_object_set_string_member(state->obj, "ca", state->ca);
	json_object_set_string_member(state->obj, "mailbox", state->mailbox);
	json_object_set_string_member(state->obj, "state", me_state_step_to_string(ME_STATE_STEP_NEW));
	return me_state_save(state, error);
}

/**
 * me_state_get_path:
 * @state: a state
 *
 * Returns: the state file's path
 */
const gchar *
me_state_get_path(MeState *state)
{
	return state->path;
}

/**
 * me_state_get_step:
 * @state: a state
 *
 * Returns: the step the enrollment has reached
 */
MeStateStep
me_state_get_step(MeState *state)
{
	MeStateStep step = ME_STATE_STEP_NEW;

	me_state_step_from_string(me_state_get_string(state, "state"), &step);
	return step;
}

/**
 * me_state_set_step:
 * @state: a state
 * @step: the step reached
 *
 * Records @step; me_state_save() persists it.
 */
void
me_state_set_step(MeState *state, MeStateStep step)
{
	me_state_set_string(state, "state", me_state_step_to_string(step));
}

/**
 * me_state_get_string:
 * @state: a state
 * @key: a member name
 *
 * Returns: (nullable): the string member, or %NULL when absent or not a string
 */
const gchar *
me_state_get_string(MeState *state, const gchar *key)
{
	JsonNode *node = json_object_get_member(state->obj, key);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

/**
 * me_state_set_string:
 * @state: a state
 * @key: a member name
 * @value: (nullable): the value; %NULL removes the member
 *
 * Sets a string member.
 */
void
me_state_set_string(MeState *state, const gchar *key, const gchar *value)
{
	if (value == NULL)
		json_object_remove_member(state->obj, key);
	else
		json_object_set_string_member(state->obj, key, value);
}

/**
 * me_state_get_int:
 * @state: a state
 * @key: a member name
 *
 * Returns: the integer member, or 0 when absent or not an integer
 */
gint64
me_state_get_int(MeState *state, const gchar *key)
{
	JsonNode *node = json_object_get_member(state->obj, key);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
		return 0;
	return json_node_get_int(node);
}

/**
 * me_state_set_int:
 * @state: a state
 * @key: a member name
 * @value: the value
 *
 * Sets an integer member.
 */
void
me_state_set_int(MeState *state, const gchar *key, gint64 value)
{
	json_object_set_int_member(state->obj, key, value);
}

/**
 * me_state_get_bool:
 * @state: a state
 * @key: a member name
 *
 * Returns: the boolean member, or %FALSE when absent or not a boolean
 */
gboolean
me_state_get_bool(MeState *state, const gchar *key)
{
	JsonNode *node = json_object_get_member(state->obj, key);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
		return FALSE;
	return json_node_get_boolean(node);
}

/**
 * me_state_set_bool:
 * @state: a state
 * @key: a member name
 * @value: the value
 *
 * Sets a boolean member.
 */
void
me_state_set_bool(MeState *state, const gchar *key, gboolean value)
{
	json_object_set_boolean_member(state->obj, key, value);
}

/**
 * me_state_get_object:
 * @state: a state
 *
 * Returns: (transfer none): the whole state, for status reports
 */
JsonObject *
me_state_get_object(MeState *state)
{
	return state->obj;
}

static void
list_dir(const gchar *dir, GPtrArray *out)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_autoptr(GError) error = NULL;
		MeState *state;

		if (!g_str_has_suffix(name, ".json") || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
			continue;
		state = me_state_load_readonly(path, &error);
		if (state == NULL) {
			g_warning("%s", error->message);
			continue;
		}
		g_ptr_array_add(out, state);
	}
}

/**
 * me_state_list:
 * @state_dir: the state folder
 * @error: return location for a #GError
 *
 * Every enrollment under @state_dir, read without locks; a damaged file is skipped with a
 * warning.
 *
 * Returns: (transfer full) (element-type MeState): the states
 */
GPtrArray *
me_state_list(const gchar *state_dir, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)me_state_free);
	g_autoptr(GDir) d = NULL;
	const gchar *name;

	if (!g_file_test(state_dir, G_FILE_TEST_IS_DIR))
		return g_steal_pointer(&out);
	if (!check_private_dir(state_dir, error))
		return NULL;
	d = g_dir_open(state_dir, 0, NULL);
	if (d == NULL) {
		set_io_error(error, state_dir, EACCES);
		return NULL;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(state_dir, name, NULL);
		g_autoptr(GError) local = NULL;
		if (!g_file_test(path, G_FILE_TEST_IS_DIR))
			continue;
		/* another user's folder inside ours is skipped, as a damaged file is */
		if (check_private_dir(path, &local))
			list_dir(path, out);
		else
			g_warning("%s", local->message);
	}
	return g_steal_pointer(&out);
}

/* ---- what was learnt about a CA, beside its enrollments */

/* a file of @ca's own in its folder: its notes, its account record, its lock */
static gchar *
ca_file_path(const gchar *state_dir, const gchar *ca, const gchar *name)
{
	g_autofree gchar *ca_name = escape_name(ca, FALSE);

	return g_build_filename(state_dir, ca_name, name, NULL);
}


/* the largest notes file read */
#define CA_NOTES_MAX (16 * 1024)
/* no .json: me_state_list() takes every .json for an enrollment */
#define CA_NOTES_FILE "ca.notes"

/* the notes of @ca, or an empty set when there are none, they are damaged or they were
 * about another directory URL (the profile now names another CA) */
static GKeyFile *
ca_notes_load(const gchar *path, const gchar *directory)
{
	g_autoptr(GKeyFile) notes = g_key_file_new();
	g_autofree gchar *data = NULL;
	g_autofree gchar *about = NULL;
	gsize len = 0;
	gint errnum = 0;
	gint fd = open_nofollow(path, O_RDONLY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return g_key_file_new();
	/* a symbolic link or another user's file is no note of ours */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		data = me_file_read_fd_bounded(fd, (gsize)MIN(st.st_size, CA_NOTES_MAX), CA_NOTES_MAX, &len, &errnum);
	close(fd);
	if (data == NULL || !g_key_file_load_from_data(notes, data, len, G_KEY_FILE_NONE, NULL))
		return g_key_file_new();
	about = g_key_file_get_string(notes, "ca", "directory", NULL);
	if (g_strcmp0(about, directory) != 0)
		return g_key_file_new();
	return g_steal_pointer(&notes);
}

/**
 * me_state_get_ca_note:
 * @state_dir: the state folder
 * @ca: the CA profile's name
 * @directory: its directory URL; notes made about another URL do not count
 * @key: what was noted
 *
 * Something learnt about a CA by an earlier enrollment (its mail timing, for one).  A note
 * is a hint: a missing or damaged notes file reads as no note.
 *
 * Returns: (transfer full) (nullable): the note, or %NULL
 */
gchar *
me_state_get_ca_note(const gchar *state_dir, const gchar *ca, const gchar *directory, const gchar *key)
{
	g_autofree gchar *path = ca_file_path(state_dir, ca, CA_NOTES_FILE);
	g_autoptr(GKeyFile) notes = ca_notes_load(path, directory);

	return g_key_file_get_string(notes, "notes", key, NULL);
}

/**
 * me_state_set_ca_note:
 * @state_dir: the state folder
 * @ca: the CA profile's name
 * @directory: its directory URL
 * @key: what is noted
 * @value: the note
 * @error: return location for a #GError
 *
 * Notes something learnt about a CA, for later enrollments; written atomically.
 *
 * Returns: %TRUE on success
 */
gboolean
me_state_set_ca_note(const gchar *state_dir,
		     const gchar *ca,
		     const gchar *directory,
		     const gchar *key,
		     const gchar *value,
		     GError **error)
{
	g_autofree gchar *path = ca_file_path(state_dir, ca, CA_NOTES_FILE);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autoptr(GKeyFile) notes = ca_notes_load(path, directory);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!ensure_private_dir(state_dir, error) || !ensure_private_dir(dir, error))
		return FALSE;
	g_key_file_set_string(notes, "ca", "directory", directory);
	g_key_file_set_string(notes, "notes", key, value);
	data = g_key_file_to_data(notes, &len, NULL);
	if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
		return set_io_error(error, path, errno);
	return TRUE;
}

/* ---- the account the user's mailboxes share at a CA */

/* no .json: me_state_list() takes every .json for an enrollment */
#define CA_ACCOUNT_FILE "ca.account"
#define CA_LOCK_FILE	"ca.lock"
#define CA_ACCOUNT_MAX	(64 * 1024)

struct _MeStateLock {
	gint fd;
};

/**
 * me_state_account_free:
 * @account: (nullable): an account
 *
 * Frees @account.
 */
void
me_state_account_free(MeStateAccount *account)
{
	if (account == NULL)
		return;
	g_free(account->url);
	g_free(account->key_fp);
	g_free(account->created_by);
	g_free(account);
}

static gboolean
set_account_damaged_error(GError **error, const gchar *path)
{
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: the saved record of the ACME account shared by the user's mailboxes is not valid; %s is its path */
		    _("The saved account record %s is damaged; remove it, and mailenroll finds the account again from the enrollments that use it."),
		    path);
	return FALSE;
}

/* the accounts array of the file at @path: an empty one when there is no file */
static JsonArray *
ca_accounts_load(const gchar *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autofree gchar *data = NULL;
	gsize len = 0;
	JsonNode *root;
	JsonNode *accounts;

	data = read_state_file(path, &len, &local);
	if (local != NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (data == NULL)
		return json_array_new();
	if (len > CA_ACCOUNT_MAX || !json_parser_load_from_data(parser, data, (gssize)len, NULL)) {
		set_account_damaged_error(error, path);
		return NULL;
	}
	root = json_parser_get_root(parser);
	accounts = root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_object_get_member(json_node_get_object(root), "accounts")
								 : NULL;
	if (accounts == NULL || !JSON_NODE_HOLDS_ARRAY(accounts)) {
		set_account_damaged_error(error, path);
		return NULL;
	}
	return json_array_ref(json_node_get_array(accounts));
}

/* the entry about @directory, or -1 */
static gint
ca_accounts_find(JsonArray *accounts, const gchar *directory)
{
	for (guint i = 0; i < json_array_get_length(accounts); i++) {
		JsonNode *node = json_array_get_element(accounts, i);
		if (JSON_NODE_HOLDS_OBJECT(node) &&
		    g_strcmp0(me_json_get_string(json_node_get_object(node), "directory", FALSE, NULL), directory) == 0)
			return (gint)i;
	}
	return -1;
}

/**
 * me_state_get_ca_account:
 * @state_dir: the state folder
 * @ca: the CA profile's name
 * @directory: its directory URL: the account is the one at this CA
 * @error: return location for a #GError
 *
 * The account the user's mailboxes share at the CA, as me_state_set_ca_account() saved
 * it.  Read it while holding me_state_lock_ca().
 *
 * Returns: (transfer full) (nullable): the account, or %NULL: with @error set when the
 *   record cannot be read or is damaged, without when there is none yet
 */
MeStateAccount *
me_state_get_ca_account(const gchar *state_dir, const gchar *ca, const gchar *directory, GError **error)
{
	g_autofree gchar *path = ca_file_path(state_dir, ca, CA_ACCOUNT_FILE);
	g_autoptr(JsonArray) accounts = ca_accounts_load(path, error);
	g_autoptr(MeStateAccount) account = NULL;
	JsonObject *obj;
	gint i;

	if (accounts == NULL)
		return NULL;
	i = ca_accounts_find(accounts, directory);
	if (i < 0)
		return NULL;
	obj = json_array_get_object_element(accounts, (guint)i);
	account = g_new0(MeStateAccount, 1);
	account->url = g_strdup(me_json_get_string(obj, "url", FALSE, NULL));
	account->key_fp = g_strdup(me_json_get_string(obj, "key_fp", FALSE, NULL));
	account->created_by = g_strdup(me_json_get_string(obj, "created_by", FALSE, NULL));
	account->created = json_object_get_int_member_with_default(obj, "created", 0);
	if (account->key_fp == NULL) {
		set_account_damaged_error(error, path);
		return NULL;
	}
	return g_steal_pointer(&account);
}

/**
 * me_state_set_ca_account:
 * @state_dir: the state folder
 * @ca: the CA profile's name
 * @directory: its directory URL
 * @account: the account the user's mailboxes share there
 * @error: return location for a #GError
 *
 * Records @account, atomically and durably; the accounts at other directory URLs of the
 * same profile stay recorded.  Call it while holding me_state_lock_ca().
 *
 * Returns: %TRUE on success
 */
gboolean
me_state_set_ca_account(const gchar *state_dir,
			const gchar *ca,
			const gchar *directory,
			const MeStateAccount *account,
			GError **error)
{
	g_autofree gchar *path = ca_file_path(state_dir, ca, CA_ACCOUNT_FILE);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autoptr(JsonArray) accounts = NULL;
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonObject) top = json_object_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(GError) local = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;
	gint i;

	if (!ensure_private_dir(state_dir, error) || !ensure_private_dir(dir, error))
		return FALSE;
	accounts = ca_accounts_load(path, error);
	if (accounts == NULL)
		return FALSE;
	json_object_set_string_member(obj, "directory", directory);
	if (account->url != NULL)
		json_object_set_string_member(obj, "url", account->url);
	json_object_set_string_member(obj, "key_fp", account->key_fp);
	if (account->created_by != NULL)
		json_object_set_string_member(obj, "created_by", account->created_by);
	json_object_set_int_member(obj, "created", account->created);
	i = ca_accounts_find(accounts, directory);
	if (i >= 0)
		json_array_remove_element(accounts, (guint)i);
	json_array_add_object_element(accounts, json_object_ref(obj));
	json_object_set_int_member(top, "version", ME_STATE_VERSION);
	json_object_set_array_member(top, "accounts", json_array_ref(accounts));
	json_node_set_object(root, top);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	data = json_generator_to_data(gen, &len);
	if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, &local))
		return set_io_error(error, path, local->domain == G_FILE_ERROR ? file_error_errno((GFileError)local->code) : EIO);
	return TRUE;
}

/**
 * me_state_lock_ca:
 * @state_dir: the state folder
 * @ca: the CA profile's name
 * @timeout_ms: how long to wait for another process that holds it
 * @error: return location for a #GError
 *
 * Takes the lock of the CA's shared records (the account), so that two enrollments at the
 * same CA never make two accounts.  It is held for as long as making or finding the account
 * takes, never while waiting for mail; it goes with the process.
 *
 * Returns: (transfer full): the lock, released by me_state_lock_free(), or %NULL with
 *   @error set (%ME_ERROR_BUSY when another process held it for all of @timeout_ms)
 */
MeStateLock *
me_state_lock_ca(const gchar *state_dir, const gchar *ca, guint timeout_ms, GError **error)
{
	g_autofree gchar *path = ca_file_path(state_dir, ca, CA_LOCK_FILE);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autoptr(MeStateLock) lock = g_new0(MeStateLock, 1);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	lock->fd = -1;
	if (!ensure_private_dir(state_dir, error) || !ensure_private_dir(dir, error))
		return NULL;
	lock->fd = open_nofollow(path, O_RDWR | O_CREAT);
	if (lock->fd < 0) {
		if (errno == ELOOP)
			set_symlink_error(error, path);
		else
			set_io_error(error, path, errno);
		return NULL;
	}
	while (flock(lock->fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			set_io_error(error, path, errno);
			return NULL;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, ME_ERROR, ME_ERROR_BUSY,
				    /* TRANSLATORS: another mailenroll process sets up the account at the same CA; %s is the CA profile's name */
				    _("Another mailenroll is setting up the account at the certificate authority %s; wait until it has finished and try again."),
				    ca);
			return NULL;
		}
		g_usleep(50 * 1000);
	}
	return g_steal_pointer(&lock);
}

/**
 * me_state_lock_free:
 * @lock: (nullable): a lock from me_state_lock_ca()
 *
 * Releases @lock.
 */
void
me_state_lock_free(MeStateLock *lock)
{
	if (lock == NULL)
		return;
	if (lock->fd >= 0)
		close(lock->fd);
	g_free(lock);
}
