/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* watching a Maildir (new/ and cur/) for mail that arrives: every message once, read within a
 * bound, handed to the caller, which decides what it is */

#include <glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/**
 * MeMaildirFunc:
 * @message: one message, at most the watch's size limit
 * @done: (out): set to %TRUE to end the wait: this was the message waited for
 * @user_data: the caller's data
 * @error: return location for a #GError
 *
 * Looks at one message of the Maildir.
 *
 * Returns: %FALSE with @error set to end the wait with that error
 */
typedef gboolean (*MeMaildirFunc)(GBytes *message, gboolean *done, gpointer user_data, GError **error);

typedef struct _MeMaildir MeMaildir;

MeMaildir *
me_maildir_new(const gchar *path, gsize max_size);
void
me_maildir_free(MeMaildir *maildir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeMaildir, me_maildir_free)

const gchar *
me_maildir_get_path(MeMaildir *maildir);
const gchar *
me_maildir_get_current_name(MeMaildir *maildir);
gboolean
me_maildir_wait(MeMaildir *maildir,
		gint64 deadline,
		MeMaildirFunc func,
		gpointer user_data,
		gboolean *done,
		GError **error);

G_END_DECLS
