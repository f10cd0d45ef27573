/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestFile"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "test-util.h"

static gchar *
write_file(const gchar *dir, const gchar *name, const gchar *data, gsize len, guint mode)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(dir, name, NULL);

	g_file_set_contents(path, data, (gssize)len, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(path, (gint)mode), ==, 0);
	return path;
}

/* the whole file, a NUL after it, its length and its permission bits */
static void
test_read_whole(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	/* a NUL inside: the length, not strlen(), says how much was read */
	static const gchar data[] = "key=value\n\0after the NUL\n";
	g_autofree gchar *path = write_file(dir, "a.conf", data, sizeof(data) - 1, 0640);
	g_autofree gchar *got = NULL;
	gsize len = 0;
	guint mode = 0;
	gint errnum = 0;

	got = me_file_read_bounded(path, 1024, &len, &mode, &errnum);
	g_assert_nonnull(got);
	g_assert_cmpuint(len, ==, sizeof(data) - 1);
	g_assert_cmpmem(got, len, data, sizeof(data) - 1);
	g_assert_cmpint(got[len], ==, '\0');
	g_assert_cmpuint(mode, ==, 0640);
	me_test_rm_rf(dir);
}

/* exactly the limit is read; one byte more is EFBIG */
static void
test_read_limit(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *at = g_strnfill(4096, 'a');
	g_autofree gchar *at_path = write_file(dir, "at", at, 4096, 0600);
	g_autofree gchar *over_path = write_file(dir, "over", at, 4096, 0600);
	g_autofree gchar *got = NULL;
	gsize len = 0;
	gint errnum = 0;

	got = me_file_read_bounded(at_path, 4096, &len, NULL, &errnum);
	g_assert_nonnull(got);
	g_assert_cmpuint(len, ==, 4096);
	g_clear_pointer(&got, g_free);

	got = me_file_read_bounded(over_path, 4095, &len, NULL, &errnum);
	g_assert_null(got);
	g_assert_cmpint(errnum, ==, EFBIG);

	/* an empty file is a file */
	g_clear_pointer(&over_path, g_free);
	over_path = write_file(dir, "empty", "", 0, 0600);
	errnum = 0;
	got = me_file_read_bounded(over_path, 16, &len, NULL, &errnum);
	g_assert_nonnull(got);
	g_assert_cmpuint(len, ==, 0);
	g_assert_cmpint(errnum, ==, 0);
	me_test_rm_rf(dir);
}

/* what is not a regular file is refused with a reason: missing, a folder, a FIFO */
static void
test_read_refusals(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *missing = g_build_filename(dir, "missing", NULL);
	g_autofree gchar *fifo = g_build_filename(dir, "fifo", NULL);
	gsize len = 0;
	gint errnum = 0;
	gint64 start;

	g_assert_null(me_file_read_bounded(missing, 16, &len, NULL, &errnum));
	g_assert_cmpint(errnum, ==, ENOENT);

	errnum = 0;
	g_assert_null(me_file_read_bounded(dir, 16, &len, NULL, &errnum));
	g_assert_cmpint(errnum, ==, EINVAL);

	/* nobody writes to the FIFO: a blocking open would hang here for ever */
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	errnum = 0;
	start = g_get_monotonic_time();
	g_assert_null(me_file_read_bounded(fifo, 16, &len, NULL, &errnum));
	g_assert_cmpint(errnum, ==, EINVAL);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
	me_test_rm_rf(dir);
}

/* files in /proc say they have 0 bytes: the reader grows as the data comes */
static void
test_read_proc(void)
{
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *got = NULL;
	gsize len = 0;
	gsize expected = 0;
	gint errnum = 0;
	struct stat st;

	g_assert_cmpint(g_stat("/proc/self/status", &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 0);
	got = me_file_read_bounded("/proc/self/status", 1024 * 1024, &len, NULL, &errnum);
	g_assert_nonnull(got);
	g_assert_cmpuint(len, >, 100);
	g_assert_true(g_str_has_prefix(got, "Name:"));
	g_clear_pointer(&got, g_free);

	/* and a limit smaller than what /proc hands out is still kept */
	g_assert_true(g_file_get_contents("/proc/self/status", &cmdline, &expected, NULL));
	g_assert_cmpuint(expected, >, 64);
	got = me_file_read_bounded("/proc/self/status", 64, &len, NULL, &errnum);
	g_assert_null(got);
	g_assert_cmpint(errnum, ==, EFBIG);
}

/* a descriptor (standard input, a pipe) is read to its end, in pieces, within the limit */
static void
test_read_fd(void)
{
	gint fds[2];
	g_autofree gchar *got = NULL;
	g_autofree gchar *big = g_strnfill(3 * 65536 + 7, 'x');
	gsize len = 0;
	gint errnum = 0;
	GPid pid;

	/* a writer in another process, so the pipe's buffer fills and drains while we read */
	g_assert_cmpint(pipe(fds), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		gsize done = 0;
		close(fds[0]);
		while (done < strlen(big)) {
			gssize n = write(fds[1], big + done, MIN(strlen(big) - done, (gsize)1000));
			if (n <= 0)
				_exit(1);
			done += (gsize)n;
		}
		/* the child's memory is checked too (valgrind follows the fork): free before _exit */
		g_clear_pointer(&big, g_free);
		_exit(0);
	}
	close(fds[1]);
	got = me_file_read_fd_bounded(fds[0], 0, strlen(big), &len, &errnum);
	close(fds[0]);
	g_assert_nonnull(got);
	g_assert_cmpuint(len, ==, strlen(big));
	g_assert_cmpmem(got, len, big, strlen(big));
	g_spawn_close_pid(pid);

	/* the same stream, one byte over the limit */
	g_clear_pointer(&got, g_free);
	g_assert_cmpint(pipe(fds), ==, 0);
	g_assert_cmpint(write(fds[1], "0123456789", 10), ==, 10);
	close(fds[1]);
	got = me_file_read_fd_bounded(fds[0], 0, 9, &len, &errnum);
	close(fds[0]);
	g_assert_null(got);
	g_assert_cmpint(errnum, ==, EFBIG);
}

/* a descriptor that cannot be read gives read()'s errno */
static void
test_read_fd_error(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = write_file(dir, "w", "data", 4, 0600);
	gint fd = g_open(path, O_WRONLY | O_CLOEXEC, 0);
	gsize len = 0;
	gint errnum = 0;

	g_assert_cmpint(fd, >=, 0);
	g_assert_null(me_file_read_fd_bounded(fd, 0, 16, &len, &errnum));
	g_assert_cmpint(errnum, ==, EBADF);
	close(fd);
	me_test_rm_rf(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/file/read/whole", test_read_whole);
	g_test_add_func("/file/read/limit", test_read_limit);
	g_test_add_func("/file/read/refusals", test_read_refusals);
	g_test_add_func("/file/read/proc", test_read_proc);
	g_test_add_func("/file/read-fd/pipe", test_read_fd);
	g_test_add_func("/file/read-fd/error", test_read_fd_error);
	return g_test_run();
}
