/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFile"

#include "config.h"

#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

/**
 * me_file_read_fd_bounded:
 * @fd: a descriptor open for reading; it stays open
 * @size_hint: how many bytes are expected (0 when unknown: a pipe, a file in /proc)
 * @max: the most bytes accepted
 * @len: (out): how many bytes were read
 * @errnum: (out): why nothing is returned: EFBIG past @max, else read()'s errno
 *
 * Reads @fd to its end, never holding more than @max + 1 bytes.
 *
 * Returns: (transfer full) (nullable): the bytes and a NUL byte after them
 */
gchar *
me_file_read_fd_bounded(gint fd, gsize size_hint, gsize max, gsize *len, gint *errnum)
{
	/* one byte more than the limit is how a longer file is noticed */
	gsize cap = MIN(size_hint, max) + 1;
	g_autofree gchar *data = g_malloc(cap + 1);
	gsize used = 0;

	g_return_val_if_fail(fd >= 0, NULL);
	g_return_val_if_fail(max < G_MAXSIZE - 2, NULL);
	g_return_val_if_fail(len != NULL && errnum != NULL, NULL);

	for (;;) {
		gssize n;
		if (used == cap) {
			cap = MIN(cap * 2, max + 1);
			data = g_realloc(data, cap + 1);
		}
		n = read(fd, data + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*errnum = errno;
			return NULL;
		}
		if (n == 0)
			break;
		used += (gsize)n;
		if (used > max) {
			*errnum = EFBIG;
			return NULL;
		}
	}
	data[used] = '\0';
	*len = used;
	return g_steal_pointer(&data);
}

/**
 * me_file_read_bounded:
 * @path: the file
 * @max: the most bytes accepted
 * @len: (out): how many bytes were read
 * @mode: (out) (optional): the file's permission bits
 * @errnum: (out): why nothing is returned (see file.h)
 *
 * Reads the regular file @path whole when it has at most @max bytes.  The open does not
 * block (a FIFO in place of the file is refused as EINVAL) and follows no controlling
 * terminal.
 *
 * Returns: (transfer full) (nullable): the bytes and a NUL byte after them
 */
gchar *
me_file_read_bounded(const gchar *path, gsize max, gsize *len, guint *mode, gint *errnum)
{
	gchar *data = NULL;
	struct stat st;
	gint fd;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(len != NULL && errnum != NULL, NULL);

	fd = g_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0) {
		*errnum = errno;
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		*errnum = errno;
	else if (!S_ISREG(st.st_mode))
		*errnum = EINVAL;
	else if (st.st_size < 0 || (guint64)st.st_size > max)
		*errnum = EFBIG;
	else
		/* files in /proc say 0 bytes: the buffer grows as the data comes */
		data = me_file_read_fd_bounded(fd, (gsize)st.st_size, max, len, errnum);
	close(fd);
	if (data != NULL && mode != NULL)
		*mode = st.st_mode & 07777;
	return data;
}
