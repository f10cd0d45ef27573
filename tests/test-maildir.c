/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestMaildir"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "test-util.h"

#define MESSAGE_MAX 4096

/* a Maildir of its own in a temporary folder */
typedef struct {
	gchar *root;
	gchar *path;
	/* the messages handed to the callback, in order */
	GPtrArray *seen;
	/* the callback is done when it meets a message that starts with this */
	const gchar *wanted;
	/* the callback fails on a message that starts with this */
	const gchar *poison;
	guint serial;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	const gchar *subdirs[] = {"tmp", "new", "cur"};

	fx->root = me_test_tmpdir();
	fx->path = g_build_filename(fx->root, "Maildir", NULL);
	for (guint i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree gchar *dir = g_build_filename(fx->path, subdirs[i], NULL);
		g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	}
	fx->seen = g_ptr_array_new_with_free_func(g_free);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	me_test_rm_rf(fx->root);
	g_ptr_array_unref(fx->seen);
	g_free(fx->path);
	g_free(fx->root);
}

/* delivers @text as an MDA does: written into tmp/, then renamed into new/; returns the name */
static gchar *
deliver(Fixture *fx, const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = g_strdup_printf("%" G_GINT64_FORMAT ".M%uP%u.test", g_get_real_time(), ++fx->serial,
						 (guint)getpid());
	g_autofree gchar *tmp = g_build_filename(fx->path, "tmp", name, NULL);
	g_autofree gchar *dest = g_build_filename(fx->path, "new", name, NULL);

	g_file_set_contents(tmp, text, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_rename(tmp, dest), ==, 0);
	return g_steal_pointer(&name);
}

/* a mail reader marks the message seen: new/NAME becomes cur/NAME:2,S */
static void
mark_read(Fixture *fx, const gchar *name)
{
	g_autofree gchar *from = g_build_filename(fx->path, "new", name, NULL);
	g_autofree gchar *flagged = g_strconcat(name, ":2,S", NULL);
	g_autofree gchar *to = g_build_filename(fx->path, "cur", flagged, NULL);

	g_assert_cmpint(g_rename(from, to), ==, 0);
}

static gboolean
message_cb(GBytes *message, gboolean *done, gpointer user_data, GError **error)
{
	Fixture *fx = user_data;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(message, &len);

	g_assert_cmpuint(len, <=, MESSAGE_MAX);
	g_ptr_array_add(fx->seen, g_strndup(data, len));
	if (fx->poison != NULL && g_str_has_prefix(data, fx->poison)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA, "The test refuses this message.");
		return FALSE;
	}
	if (fx->wanted != NULL && g_str_has_prefix(data, fx->wanted))
		*done = TRUE;
	return TRUE;
}

static gint64
deadline_in_ms(guint ms)
{
	return g_get_monotonic_time() + (gint64)ms * 1000;
}

/* what is there already is handed on once each, from new/ and cur/, until one is wanted */
static void
test_existing(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeMaildir) md = me_maildir_new(fx->path, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *first = deliver(fx, "Subject: one\r\n\r\n");
	g_autofree gchar *second = deliver(fx, "Subject: two\r\n\r\n");
	gboolean done = TRUE;

	mark_read(fx, first);
	g_assert_true(me_maildir_wait(md, deadline_in_ms(0), message_cb, fx, &done, &error));
	g_assert_no_error(error);
	g_assert_false(done);
	g_assert_cmpuint(fx->seen->len, ==, 2);

	/* a second wait does not hand them on again, even after new/ -> cur/ */
	mark_read(fx, second);
	g_assert_true(me_maildir_wait(md, deadline_in_ms(0), message_cb, fx, &done, &error));
	g_assert_false(done);
	g_assert_cmpuint(fx->seen->len, ==, 2);
	g_assert_cmpstr(me_maildir_get_path(md), ==, fx->path);
}

static gboolean
deliver_later_cb(gpointer user_data)
{
	Fixture *fx = user_data;
	g_autofree gchar *name = deliver(fx, "Subject: ACME: the one\r\n\r\n");

	return G_SOURCE_REMOVE;
}

/* a message that arrives while waiting ends the wait when it is the wanted one, long before
 * the deadline: the watch wakes on the change, it does not wait out the deadline */
static void
test_arrival(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeMaildir) md = me_maildir_new(fx->path, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *other = deliver(fx, "Subject: not this one\r\n\r\n");
	gboolean done = FALSE;
	gint64 start = g_get_monotonic_time();

	fx->wanted = "Subject: ACME:";
	g_timeout_add(200, deliver_later_cb, fx);
	g_assert_true(me_maildir_wait(md, deadline_in_ms(60000), message_cb, fx, &done, &error));
	g_assert_no_error(error);
	g_assert_true(done);
	g_assert_cmpuint(fx->seen->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(fx->seen, 1), ==, "Subject: ACME: the one\r\n\r\n");
	g_assert_cmpint(g_get_monotonic_time() - start, <, 30 * G_USEC_PER_SEC);
}

/* nothing wanted arrives: the wait ends at its deadline (within the one-second tick) */
static void
test_deadline(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeMaildir) md = me_maildir_new(fx->path, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	gboolean done = TRUE;
	gint64 start = g_get_monotonic_time();

	g_assert_true(me_maildir_wait(md, deadline_in_ms(1500), message_cb, fx, &done, &error));
	g_assert_no_error(error);
	g_assert_false(done);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 1500 * 1000);
	g_assert_cmpuint(fx->seen->len, ==, 0);
}

/* a message over the limit is never handed on; the next one is */
static void
test_oversized(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeMaildir) md = me_maildir_new(fx->path, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *big = g_strnfill(MESSAGE_MAX + 1, 'x');
	g_autofree gchar *big_name = deliver(fx, big);
	g_autofree gchar *small_name = deliver(fx, "Subject: small\r\n\r\n");
	gboolean done = FALSE;

	g_assert_true(me_maildir_wait(md, deadline_in_ms(0), message_cb, fx, &done, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fx->seen->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(fx->seen, 0), ==, "Subject: small\r\n\r\n");
}

/* the callback's error ends the wait with that error */
static void
test_callback_error(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeMaildir) md = me_maildir_new(fx->path, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = deliver(fx, "Subject: poison\r\n\r\n");
	gboolean done = FALSE;

	fx->poison = "Subject: poison";
	g_assert_false(me_maildir_wait(md, deadline_in_ms(60000), message_cb, fx, &done, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_false(done);
}

/* a folder that is not there yet is looked at on each tick, and read once it appears */
static void
test_missing_folder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *later = g_build_filename(fx->root, "Later", NULL);
	g_autoptr(MeMaildir) md = me_maildir_new(later, MESSAGE_MAX);
	g_autoptr(GError) error = NULL;
	gboolean done = TRUE;

	g_assert_true(me_maildir_wait(md, deadline_in_ms(0), message_cb, fx, &done, &error));
	g_assert_no_error(error);
	g_assert_false(done);
	g_assert_cmpuint(fx->seen->len, ==, 0);

	/* the same watch, once the folder exists (this fixture's Maildir moved there) */
	g_assert_cmpint(g_rename(fx->path, later), ==, 0);
	g_free(fx->path);
	fx->path = g_strdup(later);
	g_clear_pointer(&error, g_error_free);
	{
		g_autofree gchar *name = deliver(fx, "Subject: ACME: late\r\n\r\n");
		fx->wanted = "Subject: ACME:";
		g_assert_true(me_maildir_wait(md, deadline_in_ms(60000), message_cb, fx, &done, &error));
	}
	g_assert_no_error(error);
	g_assert_true(done);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/maildir/existing", Fixture, NULL, fixture_setup, test_existing, fixture_teardown);
	g_test_add("/maildir/arrival", Fixture, NULL, fixture_setup, test_arrival, fixture_teardown);
	g_test_add("/maildir/deadline", Fixture, NULL, fixture_setup, test_deadline, fixture_teardown);
	g_test_add("/maildir/oversized", Fixture, NULL, fixture_setup, test_oversized, fixture_teardown);
	g_test_add("/maildir/callback-error", Fixture, NULL, fixture_setup, test_callback_error, fixture_teardown);
	g_test_add("/maildir/missing-folder", Fixture, NULL, fixture_setup, test_missing_folder, fixture_teardown);
	return g_test_run();
}
