/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The one bounded reader of files and file descriptors.  Every file mailenroll reads may
 * have been put there by somebody else (configuration, Thunderbird's profiles.ini and
 * prefs, a native-messaging manifest, a mail), so none is read past a limit the caller
 * names, and a FIFO or device put in place of a file never hangs the reader.
 *
 * Both functions return the bytes read with a NUL byte after them (the data may contain
 * NUL bytes itself; *len says how many were read), or %NULL with *errnum saying why:
 *  - ENOENT: there is no such file;
 *  - EFBIG: it has more than @max bytes;
 *  - EINVAL: it is not a regular file (me_file_read_bounded() only);
 *  - any other errno of open(), fstat() or read().
 * The callers turn *errnum into their own sentence, which names the file's role.
 */
gchar *
me_file_read_bounded(const gchar *path, gsize max, gsize *len, guint *mode, gint *errnum);
gchar *
me_file_read_fd_bounded(gint fd, gsize size_hint, gsize max, gsize *len, gint *errnum);

G_END_DECLS
