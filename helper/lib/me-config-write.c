/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeConfig"

#include "config.h"

#include "me-config-write.h"

#include <errno.h>
#include <stdlib.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "file.h"

/*
 * Why text and not GKeyFile: g_key_file_to_data() rewrites the whole file (it
 * drops a byte order mark, moves comments that follow the last key of a group,
 * normalizes blank lines and spacing around `=`), and the file is the person's
 * or the administrator's handwriting.  So the lines are read the way GKeyFile
 * reads them (a [group] line, a `key = value` line, a `#` comment, a blank
 * line) and only the lines of the keys being changed are touched.  The result
 * is then loaded again, with the system file, through the configuration loader:
 * a write that the loader would refuse is never made, and its message is the
 * loader's.
 */

#define GROUP_CA_PREFIX "ca "
#define UTF8_BOM        "\xef\xbb\xbf"

typedef enum {
	LINE_OTHER, /* blank, comment, or something GKeyFile would refuse */
	LINE_GROUP,
	LINE_KEY,
} LineKind;

typedef struct {
	gchar *text; /* the whole line with its line break, if it has one */
	LineKind kind;
	gchar *name; /* the group or the key */
} Line;

static void
line_free(Line *line)
{
	g_free(line->text);
	g_free(line->name);
	g_free(line);
}

/* the kind and name of @text the way GKeyFile sees them */
static Line *
line_new(gchar *text, gboolean first)
{
	Line *line = g_new0(Line, 1);
	const gchar *p = text;
	const gchar *end;

	line->text = text;
	if (first && g_str_has_prefix(p, UTF8_BOM))
		p += strlen(UTF8_BOM);
	while (*p != '\0' && g_ascii_isspace(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return line;
	if (*p == '[') {
		end = strrchr(p, ']');
		if (end != NULL) {
			line->kind = LINE_GROUP;
			line->name = g_strndup(p + 1, (gsize)(end - p - 1));
		}
		return line;
	}
	end = strchr(p, '=');
	if (end == NULL)
		return line;
	while (end > p && g_ascii_isspace(end[-1]))
		end--;
	line->kind = LINE_KEY;
	line->name = g_strndup(p, (gsize)(end - p));
	return line;
}

static GPtrArray *
lines_split(const gchar *text)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify)line_free);
	const gchar *p = text;

	while (*p != '\0') {
		const gchar *nl = strchr(p, '\n');
		gsize len = nl != NULL ? (gsize)(nl - p + 1) : strlen(p);
		g_ptr_array_add(lines, line_new(g_strndup(p, len), lines->len == 0));
		p += len;
	}
	return lines;
}

/* @value as a key file string: backslash, line breaks and tabs escaped, and a
 * leading space, which GKeyFile would otherwise strip */
static gchar *
escape_value(const gchar *value)
{
	GString *out = g_string_new(NULL);

	for (const gchar *p = value; *p != '\0'; p++) {
		switch (*p) {
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		case ' ':
			g_string_append(out, p == value ? "\\s" : " ");
			break;
		default:
			g_string_append_c(out, *p);
			break;
		}
	}
	return g_string_free(out, FALSE);
}

/* the line break the file uses, so that a line written into it matches its
 * neighbours */
static const gchar *
line_break_of(GPtrArray *lines)
{
	for (guint i = 0; i < lines->len; i++) {
		const Line *line = g_ptr_array_index(lines, i);
		if (g_str_has_suffix(line->text, "\r\n"))
			return "\r\n";
		if (g_str_has_suffix(line->text, "\n"))
			return "\n";
	}
	return "\n";
}

static Line *
key_line_new(const gchar *key, const gchar *value, const gchar *eol)
{
	g_autofree gchar *escaped = escape_value(value);
	return line_new(g_strconcat(key, "=", escaped, eol, NULL), FALSE);
}

/* the last line ends with a line break, so that a line can follow it */
static void
lines_terminate(GPtrArray *lines, const gchar *eol)
{
	Line *last;
	gchar *text;

	if (lines->len == 0)
		return;
	last = g_ptr_array_index(lines, lines->len - 1);
	if (g_str_has_suffix(last->text, "\n"))
		return;
	text = g_strconcat(last->text, eol, NULL);
	g_free(last->text);
	last->text = text;
}

/* where a new key of @group goes: after the last key (or the header) of the
 * group's last section, so that comments and blank lines before the next group
 * stay with that group; -1 when the file has no such group */
static gint
insert_position(GPtrArray *lines, const gchar *group)
{
	gint pos = -1;
	gboolean inside = FALSE;

	for (guint i = 0; i < lines->len; i++) {
		const Line *line = g_ptr_array_index(lines, i);
		if (line->kind == LINE_GROUP) {
			inside = g_strcmp0(line->name, group) == 0;
			if (inside)
				pos = (gint)i + 1;
		} else if (inside && line->kind == LINE_KEY) {
			pos = (gint)i + 1;
		}
	}
	return pos;
}

static void
apply_edit(GPtrArray *lines, const MeConfigEdit *edit, const gchar *eol)
{
	const gchar *group = NULL;
	gboolean replaced = FALSE;
	gint pos;

	for (guint i = 0; i < lines->len;) {
		Line *line = g_ptr_array_index(lines, i);
		if (line->kind == LINE_GROUP)
			group = line->name;
		if (line->kind != LINE_KEY || g_strcmp0(group, edit->group) != 0 ||
		    g_strcmp0(line->name, edit->key) != 0) {
			i++;
			continue;
		}
		/* the first line of the key takes the new value, in place; GKeyFile would
     * let a later duplicate win, so every other line of it goes */
		if (edit->value != NULL && !replaced) {
			const gchar *own = g_str_has_suffix(line->text, "\r\n") ? "\r\n"
					   : g_str_has_suffix(line->text, "\n") ? "\n"
										: "";
			g_ptr_array_index(lines, i) = key_line_new(edit->key, edit->value, own);
			line_free(line);
			replaced = TRUE;
			i++;
			continue;
		}
		g_ptr_array_remove_index(lines, i);
	}
	if (edit->value == NULL || replaced)
		return;
	pos = insert_position(lines, edit->group);
	if (pos >= 0) {
		if (pos == (gint)lines->len)
			lines_terminate(lines, eol);
		g_ptr_array_insert(lines, pos, key_line_new(edit->key, edit->value, eol));
		return;
	}
	/* a new group at the end, after one blank line */
	lines_terminate(lines, eol);
	if (lines->len > 0)
		g_ptr_array_add(lines, line_new(g_strdup(eol), FALSE));
	g_ptr_array_add(lines, line_new(g_strconcat("[", edit->group, "]", eol, NULL), FALSE));
	g_ptr_array_add(lines, key_line_new(edit->key, edit->value, eol));
}

/**
 * me_config_write_edit_text:
 * @text: the text of a configuration file (may be empty)
 * @edits: (array length=n_edits): the changes, made in order
 * @n_edits: how many
 *
 * Makes @edits in @text and in nothing else: a key that is there gets its new
 * value on its own line (duplicates of it go), a new key goes after the last
 * key of its group, a new group at the end; a %NULL value removes the key's
 * lines.  Values are escaped as key files want.  No check is made here: see
 * me_config_write().
 *
 * Returns: (transfer full): the new text
 */
gchar *
me_config_write_edit_text(const gchar *text, const MeConfigEdit *edits, gsize n_edits)
{
	g_autoptr(GPtrArray) lines = NULL;
	GString *out;
	const gchar *eol;

	g_return_val_if_fail(text != NULL, NULL);
	g_return_val_if_fail(edits != NULL || n_edits == 0, NULL);

	lines = lines_split(text);
	eol = line_break_of(lines);
	for (gsize i = 0; i < n_edits; i++)
		apply_edit(lines, &edits[i], eol);
	out = g_string_new(NULL);
	for (guint i = 0; i < lines->len; i++)
		g_string_append(out, ((const Line *)g_ptr_array_index(lines, i))->text);
	return g_string_free(out, FALSE);
}

/* ---- checks */

static void
set_locked_error(GError **error, const gchar *group, const gchar *key)
{
	g_autofree gchar *setting = g_strconcat(group, "/", key, NULL);

	g_set_error(error, ME_ERROR, ME_ERROR_POLICY_LOCKED,
		    /* TRANSLATORS: the person tried to change a setting the administrator
         locked; %s is the setting as group/key, e.g. general/auto-approve */
		    _("Your administrator set %s; it cannot be changed here."), setting);
	if (error != NULL)
		me_error_set_setting(*error, setting);
}

/**
 * me_config_write_check_locks:
 * @config: the configuration as loaded, with the system file's [policy]
 * @edits: (array length=n_edits): the changes
 * @n_edits: how many
 * @error: (nullable): return location
 *
 * Whether the administrator lets the person make @edits: no key the system
 * file's [policy] locked= covers, and no new [ca NAME] group where `ca
 * NAME/directory` is locked (the loader would ignore either).
 *
 * Returns: %TRUE if none is locked; else %FALSE with @error set to
 *   %ME_ERROR_POLICY_LOCKED, the setting attached with me_error_set_setting()
 */
gboolean
me_config_write_check_locks(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error)
{
	g_return_val_if_fail(config != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	for (gsize i = 0; i < n_edits; i++) {
		const gchar *group = edits[i].group;
		if (g_str_has_prefix(group, GROUP_CA_PREFIX) &&
		    me_config_get_ca(config, group + strlen(GROUP_CA_PREFIX)) == NULL &&
		    me_config_is_locked(config, group, "directory")) {
			set_locked_error(error, group, "directory");
			return FALSE;
		}
		if (me_config_is_locked(config, group, edits[i].key)) {
			set_locked_error(error, group, edits[i].key);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
check_edits_known(const MeConfigEdit *edits, gsize n_edits, GError **error)
{
	for (gsize i = 0; i < n_edits; i++) {
		if (g_strcmp0(edits[i].group, "policy") != 0 && g_strcmp0(edits[i].group, "smtp") != 0 &&
		    me_config_is_known_key(edits[i].group, edits[i].key))
			continue;
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: a program asked to write a setting mailenroll
                   does not let it write; the [group], then the key */
			    _("The setting [%s] %s cannot be written here; change it in "
			      "the configuration file."),
			    edits[i].group, edits[i].key);
		return FALSE;
	}
	return TRUE;
}

/* the file's bytes, NUL-terminated, "" when there is none; the loader's limit
 * applies */
static gchar *
read_current(const gchar *path, gsize *len, GError **error)
{
	g_autofree gchar *file = NULL;
	gint errnum = 0;
	gchar *data = me_file_read_bounded(path, ME_CONFIG_FILE_MAX, len, NULL, &errnum);

	if (data != NULL)
		return data;
	if (errnum == ENOENT) {
		*len = 0;
		return g_strdup("");
	}
	file = g_filename_display_name(path);
	if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a configuration file is too big to be real; %s is its
           path */
			    _("The configuration file %s is larger than 1 MiB; shorten it."), file);
		return NULL;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: a configuration file cannot be read; %s is its
                 path, then the system's reason */
		    _("The configuration file %s cannot be read (%s); check its "
		      "permissions."),
		    file, g_strerror(errnum));
	return NULL;
}

/* what the loader says of the two files with @user_text as the user's */
static gboolean
check_loads(const MeConfig *config, const gchar *user_text, gsize user_len, GError **error)
{
	const gchar *system_path = me_config_get_system_path(config);
	const gchar *user_path = me_config_get_user_path(config);
	g_autoptr(GBytes) system_data = NULL;
	g_autoptr(GBytes) user_data = g_bytes_new(user_text, user_len);
	g_autoptr(MeConfig) loaded = NULL;

	if (system_path != NULL) {
		gsize len = 0;
		gint errnum = 0;
		gchar *data = me_file_read_bounded(system_path, ME_CONFIG_FILE_MAX, &len, NULL, &errnum);
		if (data != NULL)
			system_data = g_bytes_new_take(data, len);
	}
	loaded = me_config_load_from_data(system_path != NULL ? system_path : "", system_data, user_path, user_data,
					  error);
	return loaded != NULL;
}

/* the new text holds each value as it was given: what escape_value() wrote
 * reads back */
static gboolean
check_read_back(const gchar *text, gsize len, const MeConfigEdit *edits, gsize n_edits, GError **error)
{
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	const gchar *start = g_str_has_prefix(text, UTF8_BOM) ? text + strlen(UTF8_BOM) : text;

	if (g_key_file_load_from_data(keyfile, start, len - (gsize)(start - text), G_KEY_FILE_NONE, NULL)) {
		gsize i;
		for (i = 0; i < n_edits; i++) {
			g_autofree gchar *got = g_key_file_get_string(keyfile, edits[i].group, edits[i].key, NULL);
			if (g_strcmp0(got, edits[i].value) != 0)
				break;
		}
		if (i == n_edits)
			return TRUE;
	}
	g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: mailenroll could not write a setting so that it reads back the same (a bug) */
			    _("The setting could not be written so that it reads back the same; report this as a bug of mailenroll."));
	return FALSE;
}

/* temporary file in the same folder, fsync, rename: the old file or the new,
 * never half.  A user file that is a link (dotfiles kept elsewhere and linked into
 * place) is written where it points, so the link stays */
static gboolean
write_atomic(const gchar *path, const gchar *text, gsize len, GError **error)
{
	g_autofree gchar *resolved = g_file_test(path, G_FILE_TEST_IS_SYMLINK) ? realpath(path, NULL) : NULL;
	const gchar *target = resolved != NULL ? resolved : path;
	g_autofree gchar *dir = g_path_get_dirname(target);
	g_autoptr(GError) local = NULL;
	g_autofree gchar *file = NULL;

	if (g_mkdir_with_parents(dir, 0700) == 0 &&
	    g_file_set_contents_full(target, text, (gssize)len,
				     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &local))
		return TRUE;
	if (local != NULL)
		g_debug("%s: %s", path, local->message);
	file = g_filename_display_name(path);
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: the user's configuration file could not be saved; %s is its path, then the system's reason */
		    _("The configuration file %s cannot be written (%s); check the permissions of its folder."),
		    file, local != NULL ? local->message : g_strerror(errno));
	return FALSE;
}

/* the new text of the user's file, every check made; %NULL with @error set */
static gchar *
prepare(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, gsize *out_len, GError **error)
{
	const gchar *path = me_config_get_user_path(config);
	g_autoptr(GError) local = NULL;
	g_autofree gchar *current = NULL;
	g_autofree gchar *next = NULL;
	gsize len = 0;

	if (!check_edits_known(edits, n_edits, error) || !me_config_write_check_locks(config, edits, n_edits, error))
		return NULL;
	current = read_current(path, &len, error);
	/* a file the loader refuses is the person's to fix: never written over */
	if (current == NULL || !check_loads(config, current, len, error))
		return NULL;
	next = me_config_write_edit_text(current, edits, n_edits);
	len = strlen(next);
	if (len > ME_CONFIG_FILE_MAX) {
		g_autofree gchar *file = g_filename_display_name(path);
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a configuration file is too big to be real; %s is its path */
			    _("The configuration file %s is larger than 1 MiB; shorten it."), file);
		return NULL;
	}
	if (!check_read_back(next, len, edits, n_edits, error))
		return NULL;
	if (!check_loads(config, next, len, &local)) {
		/* the file was good before: the new value is what the loader refuses */
		if (local->domain == ME_ERROR && local->code == ME_ERROR_INVALID_DATA)
			local->code = ME_ERROR_INVALID_ARGUMENT;
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	*out_len = len;
	return g_steal_pointer(&next);
}

/**
 * me_config_write_check:
 * @config: the configuration as loaded
 * @edits: (array length=n_edits): the changes
 * @n_edits: how many
 * @error: (nullable): return location
 *
 * Every check of me_config_write(), without writing: for a caller that must do something
 * else first (store a key in the keyring) and only when the file will take the change.
 *
 * Returns: %TRUE if me_config_write() would write, barring a failure of the disk
 */
gboolean
me_config_write_check(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error)
{
	g_autofree gchar *next = NULL;
	gsize len = 0;

	g_return_val_if_fail(config != NULL && me_config_get_user_path(config) != NULL, FALSE);
	g_return_val_if_fail(edits != NULL || n_edits == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	next = prepare(config, edits, n_edits, &len, error);
	return next != NULL;
}

/**
 * me_config_write:
 * @config: the configuration as loaded (its paths and the system file's [policy])
 * @edits: (array length=n_edits): the changes, of `general` and `ca NAME` keys
 * @n_edits: how many
 * @error: (nullable): return location
 *
 * Makes @edits in the user's file (me_config_get_user_path()), all or none: refused when
 * a key is locked (me_config_write_check_locks()), when the file as it is does not load
 * (%ME_ERROR_INVALID_DATA, the loader's message), when it would not load with the
 * change (%ME_ERROR_INVALID_ARGUMENT, the loader's message), or when it would exceed
 * %ME_CONFIG_FILE_MAX.  The file (and its folder, mode 0700) is created when missing; it
 * is replaced through a temporary file in its folder, synced, then renamed, with mode
 * 0600.  A file that is a symbolic link is replaced where the link points.
 *
 * Returns: %TRUE when written; %FALSE with @error set (%ME_ERROR_POLICY_LOCKED,
 *   %ME_ERROR_INVALID_DATA, %ME_ERROR_INVALID_ARGUMENT, %ME_ERROR_TOO_LARGE,
 *   %ME_ERROR_FAILED), the file unchanged
 */
gboolean
me_config_write(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error)
{
	g_autofree gchar *next = NULL;
	gsize len = 0;

	g_return_val_if_fail(config != NULL && me_config_get_user_path(config) != NULL, FALSE);
	g_return_val_if_fail(edits != NULL || n_edits == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	next = prepare(config, edits, n_edits, &len, error);
	if (next == NULL)
		return FALSE;
	return write_atomic(me_config_get_user_path(config), next, len, error);
}
