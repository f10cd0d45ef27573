/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeMaildir"

#include "config.h"

#include "maildir.h"

#include <gio/gio.h>
#include <string.h>

#include "file.h"

/* a watched Maildir is looked at on every change (inotify), and at least this often where
 * the file system sends no change events (network file systems) */
#define ME_MAILDIR_POLL_MS 1000

/* the folders a delivered message is in: new/ until a mail reader saw it, then cur/ */
static const gchar *const subdirs[] = {"new", "cur"};

struct _MeMaildir {
	gchar *path;
	gsize max_size;
	GMainContext *context;
	GPtrArray *monitors;
	GSource *tick;
	/* the unique part of every file name looked at (before the ':' of the flags) */
	GHashTable *seen;
	gboolean changed;
	/* new/NAME or cur/NAME of the message being handed to the caller, else NULL */
	gchar *current;
};

static void
maildir_changed(GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, gpointer user_data)
{
	MeMaildir *self = user_data;

	(void)monitor;
	(void)file;
	(void)other;
	(void)event;
	self->changed = TRUE;
}

static gboolean
maildir_tick(gpointer user_data)
{
	MeMaildir *self = user_data;

	self->changed = TRUE;
	return G_SOURCE_CONTINUE;
}

/**
 * me_maildir_new:
 * @path: the Maildir (the folder with new/ and cur/)
 * @max_size: the largest message handed on; larger ones are skipped
 *
 * Starts watching @path on the thread-default main context: a change in new/ or cur/, or
 * every second, wakes me_maildir_wait().  A folder that cannot be watched is
 * still looked at on each tick.
 *
 * Returns: (transfer full): the watch; free it with me_maildir_free()
 */
MeMaildir *
me_maildir_new(const gchar *path, gsize max_size)
{
	MeMaildir *self;

	g_return_val_if_fail(path != NULL, NULL);

	self = g_new0(MeMaildir, 1);
	self->path = g_strdup(path);
	self->max_size = max_size;
	self->context = g_main_context_ref_thread_default();
	self->monitors = g_ptr_array_new_with_free_func(g_object_unref);
	self->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint s = 0; s < G_N_ELEMENTS(subdirs); s++) {
		g_autofree gchar *dir = g_build_filename(path, subdirs[s], NULL);
		g_autoptr(GFile) file = g_file_new_for_path(dir);
		GFileMonitor *monitor = g_file_monitor_directory(file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
		if (monitor == NULL)
			continue;
		g_signal_connect(monitor, "changed", G_CALLBACK(maildir_changed), self);
		g_ptr_array_add(self->monitors, monitor);
	}
	self->tick = g_timeout_source_new(ME_MAILDIR_POLL_MS);
	g_source_set_callback(self->tick, maildir_tick, self, NULL);
	g_source_attach(self->tick, self->context);
	return self;
}

/**
 * me_maildir_free:
 * @maildir: (nullable): a Maildir watch
 *
 * Stops watching and frees @maildir.
 */
void
me_maildir_free(MeMaildir *maildir)
{
	if (maildir == NULL)
		return;
	g_source_destroy(maildir->tick);
	g_source_unref(maildir->tick);
	for (guint i = 0; i < maildir->monitors->len; i++)
		g_signal_handlers_disconnect_by_data(g_ptr_array_index(maildir->monitors, i), maildir);
	g_ptr_array_unref(maildir->monitors);
	g_hash_table_unref(maildir->seen);
	g_main_context_unref(maildir->context);
	g_free(maildir->path);
	g_free(maildir->current);
	g_free(maildir);
}

/**
 * me_maildir_get_path:
 * @maildir: a Maildir watch
 *
 * Returns: the watched folder
 */
const gchar *
me_maildir_get_path(MeMaildir *maildir)
{
	return maildir->path;
}

/* a message not looked at before, or %NULL; a mail reader moving new/X to cur/X:2,S leaves
 * the same message */
static GBytes *
read_new_message(MeMaildir *self, const gchar *subdir, const gchar *dir, const gchar *name)
{
	g_autofree gchar *base = g_strdup(name);
	g_autofree gchar *path = NULL;
	gchar *colon = strchr(base, ':');
	gchar *data;
	gsize len = 0;
	gint errnum = 0;

	if (colon != NULL)
		*colon = '\0';
	if (g_hash_table_contains(self->seen, base))
		return NULL;
	g_hash_table_add(self->seen, g_steal_pointer(&base));
	path = g_build_filename(dir, name, NULL);
	data = me_file_read_bounded(path, self->max_size, &len, NULL, &errnum);
	if (data == NULL) {
		g_debug("%s/%s: %s", subdir, name, g_strerror(errnum));
		return NULL;
	}
	/* when a mail was first seen: the timeline of a slow enrollment starts here */
	g_debug("%s/%s: read, %" G_GSIZE_FORMAT " bytes", subdir, name, len);
	return g_bytes_new_take(data, len);
}

/* every message of new/ and cur/ not looked at yet, until @func is done with one */
static gboolean
scan(MeMaildir *self, MeMaildirFunc func, gpointer user_data, gboolean *done, GError **error)
{
	for (guint s = 0; s < G_N_ELEMENTS(subdirs); s++) {
		g_autofree gchar *dir = g_build_filename(self->path, subdirs[s], NULL);
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const gchar *name;

		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			gboolean ok;
			g_autoptr(GBytes) msg = read_new_message(self, subdirs[s], dir, name);
			if (msg == NULL)
				continue;
			g_free(self->current);
			self->current = g_build_filename(subdirs[s], name, NULL);
			ok = func(msg, done, user_data, error);
			g_clear_pointer(&self->current, g_free);
			if (!ok)
				return FALSE;
			if (*done)
				return TRUE;
		}
	}
	return TRUE;
}

/**
 * me_maildir_get_current_name:
 * @maildir: a Maildir watch
 *
 * Inside the #MeMaildirFunc of me_maildir_wait(): which file the message is, so the
 * person can find it.
 *
 * Returns: (nullable): `new/NAME` or `cur/NAME` of the message being looked at; %NULL
 *   outside the callback
 */
const gchar *
me_maildir_get_current_name(MeMaildir *maildir)
{
	return maildir->current;
}

/**
 * me_maildir_wait:
 * @maildir: a Maildir watch
 * @deadline: the monotonic time (g_get_monotonic_time()) after which the wait ends
 * @func: called with every message not looked at before, by this wait or an earlier one
 * @user_data: data for @func
 * @done: (out): whether @func ended the wait
 * @error: return location for a #GError
 *
 * Hands every message of the Maildir to @func, then each that arrives, until @func is done
 * or @deadline has passed (then *@done is %FALSE).  The main context runs while it waits.
 *
 * Returns: %FALSE with @error set when @func failed
 */
gboolean
me_maildir_wait(MeMaildir *maildir, gint64 deadline, MeMaildirFunc func, gpointer user_data, gboolean *done,
		GError **error)
{
	g_return_val_if_fail(maildir != NULL, FALSE);
	g_return_val_if_fail(func != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	*done = FALSE;
	for (;;) {
		maildir->changed = FALSE;
		if (!scan(maildir, func, user_data, done, error))
			return FALSE;
		if (*done || g_get_monotonic_time() > deadline)
			return TRUE;
		/* sleep until the Maildir changes or the tick comes */
		while (!maildir->changed)
			g_main_context_iteration(maildir->context, TRUE);
	}
}
