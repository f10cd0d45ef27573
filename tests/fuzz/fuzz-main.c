/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzMain"

#include "config.h"

#include <gio/gio.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* replays inputs through a fuzz target without libFuzzer: every file of each directory
 * argument, each file argument, and stdin when there are none (or for "-") */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* larger than any mail limit, so oversize inputs still reach the target's own check */
#define REPLAY_MAX_INPUT (64u * 1024u * 1024u)

static gboolean
run_bytes(const gchar *name, GBytes *bytes)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);

	g_debug("replaying %s (%" G_GSIZE_FORMAT " bytes)", name, len);
	LLVMFuzzerTestOneInput(data, len);
	return TRUE;
}

static gboolean
run_file(const gchar *path, guint *count)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	g_autoptr(GBytes) bytes = NULL;

	if (!g_file_get_contents(path, &contents, &len, &error)) {
		g_printerr("%s: %s\n", path, error->message);
		return FALSE;
	}
	bytes = g_bytes_new_take(g_steal_pointer(&contents), len);
	(*count)++;
	return run_bytes(path, bytes);
}

static gboolean
run_dir(const gchar *path, guint *count)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(path, 0, &error);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	if (dir == NULL) {
		g_printerr("%s: %s\n", path, error->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_build_filename(path, name, NULL));
	/* a stable order, so a failure names the same file every run */
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < names->len; i++) {
		const gchar *file = g_ptr_array_index(names, i);
		if (g_file_test(file, G_FILE_TEST_IS_REGULAR) && !run_file(file, count))
			return FALSE;
	}
	return TRUE;
}

static gboolean
run_stdin(guint *count)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(GBytes) bytes = NULL;
	guint8 chunk[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
		if (buf->len + (gsize)n > REPLAY_MAX_INPUT)
			return FALSE;
		g_byte_array_append(buf, chunk, (guint)n);
	}
	if (n < 0)
		return FALSE;
	(*count)++;
	bytes = g_byte_array_free_to_bytes(g_steal_pointer(&buf));
	return run_bytes("stdin", bytes);
}

int
main(int argc, char **argv)
{
	guint count = 0;
	gboolean ok = TRUE;

	if (argc < 2)
		ok = run_stdin(&count);
	for (int i = 1; ok && i < argc; i++) {
		if (g_strcmp0(argv[i], "-") == 0)
			ok = run_stdin(&count);
		else if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
			ok = run_dir(argv[i], &count);
		else
			ok = run_file(argv[i], &count);
	}
	if (!ok)
		return 1;
	g_printerr("replayed %u inputs\n", count);
	return count > 0 ? 0 : 1;
}
