/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* a real gnome-keyring-daemon for the tests, on a private session bus of their own */

#include "config.h"

#include "keyring-fixture.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>
#include <sys/prctl.h>

#include "test-util.h"

#define SECRETS_BUS_NAME "org.freedesktop.secrets"

/* the daemons go when the test goes, even when it aborts: nothing may hold the test's
 * output pipes open after it (meson would wait for the timeout) */
static void
die_with_test(gpointer user_data)
{
	(void)user_data;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static gchar *test_home;
static GSubprocess *keyring_daemon;
static GSubprocess *bus_daemon;

/* a session bus of the test's own, so neither the user's bus nor a wrapper such as
 * dbus-run-session is involved (and valgrind sees the test itself) */
static void
private_bus_start(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree gchar *address = NULL;

	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);

	g_subprocess_launcher_set_child_setup(launcher, die_with_test, NULL, NULL);
	bus_daemon = g_subprocess_launcher_spawn(launcher, &error, "dbus-daemon", "--session", "--nofork",
						 "--print-address", NULL);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(bus_daemon));
	address = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(address);
	g_setenv("DBUS_SESSION_BUS_ADDRESS", g_strstrip(address), TRUE);
}

static gboolean
bus_name_has_owner(GDBusConnection *bus, const gchar *name)
{
	g_autoptr(GVariant) reply = NULL;
	gboolean has_owner = FALSE;

	reply = g_dbus_connection_call_sync(bus,
					    "org.freedesktop.DBus",
					    "/org/freedesktop/DBus",
					    "org.freedesktop.DBus",
					    "NameHasOwner",
					    g_variant_new("(s)", name),
					    G_VARIANT_TYPE("(b)"),
					    G_DBUS_CALL_FLAGS_NONE,
					    5000,
					    NULL,
					    NULL);
	if (reply != NULL)
		g_variant_get(reply, "(b)", &has_owner);
	return has_owner;
}

static void
update_activation_environment(GDBusConnection *bus, const gchar *runtime, const gchar *data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	GVariantBuilder env;

	g_variant_builder_init(&env, G_VARIANT_TYPE("a{ss}"));
	g_variant_builder_add(&env, "{ss}", "HOME", test_home);
	g_variant_builder_add(&env, "{ss}", "XDG_DATA_HOME", data);
	g_variant_builder_add(&env, "{ss}", "XDG_CONFIG_HOME", test_home);
	g_variant_builder_add(&env, "{ss}", "XDG_CACHE_HOME", test_home);
	g_variant_builder_add(&env, "{ss}", "XDG_RUNTIME_DIR", runtime);
	reply = g_dbus_connection_call_sync(bus,
					    "org.freedesktop.DBus",
					    "/org/freedesktop/DBus",
					    "org.freedesktop.DBus",
					    "UpdateActivationEnvironment",
					    g_variant_new("(a{ss})", &env),
					    NULL,
					    G_DBUS_CALL_FLAGS_NONE,
					    5000,
					    NULL,
					    &error);
	g_assert_no_error(error);
}

/* a private HOME and a fresh gnome-keyring-daemon with an unlocked login keyring */
/**
 * me_test_keyring_start:
 *
 * A private HOME (and XDG folders) under the temporary folder and a fresh
 * gnome-keyring-daemon with an unlocked login keyring on the session bus, which must be a
 * private one the fixture starts itself: the user's own keyring is never touched.
 *
 * Returns: (transfer none): the private HOME
 */
const gchar *
me_test_keyring_start(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GOutputStream) stdin_pipe = NULL;
	g_autofree gchar *runtime = NULL;
	g_autofree gchar *data = NULL;
	gint64 deadline;

	g_autofree gchar *daemon_path = g_find_program_in_path("gnome-keyring-daemon");

	if (daemon_path == NULL)
		g_error("gnome-keyring-daemon is not installed");

	test_home = g_dir_make_tmp("mailenroll-keyring-XXXXXX", &error);
	g_assert_no_error(error);
	runtime = g_build_filename(test_home, "run", NULL);
	data = g_build_filename(test_home, "data", NULL);
	g_assert_cmpint(g_mkdir_with_parents(runtime, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(data, 0700), ==, 0);
	/* set before anything connects, so the user's own keyring is never touched */
	g_setenv("HOME", test_home, TRUE);
	g_setenv("XDG_DATA_HOME", data, TRUE);
	g_setenv("XDG_CONFIG_HOME", test_home, TRUE);
	g_setenv("XDG_CACHE_HOME", test_home, TRUE);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
	/* no prompter may show: the locked test expects a failure, not a window */
	g_unsetenv("DISPLAY");
	g_unsetenv("WAYLAND_DISPLAY");
	g_unsetenv("GNOME_KEYRING_CONTROL");
	g_assert_true(g_str_has_prefix(g_getenv("HOME"), g_get_tmp_dir()));
	g_assert_true(g_str_has_prefix(g_getenv("XDG_DATA_HOME"), test_home));

	private_bus_start();
	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	/* a Secret Service already on this bus means a desktop bus, not a private one */
	if (bus_name_has_owner(bus, SECRETS_BUS_NAME))
		g_error("%s is already running on the private bus", SECRETS_BUS_NAME);

	/* should the bus ever activate a keyring daemon itself, it gets the private HOME too */
	update_activation_environment(bus, runtime, data);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_child_setup(launcher, die_with_test, NULL, NULL);
	keyring_daemon = g_subprocess_launcher_spawn(launcher,
						     &error,
						     "gnome-keyring-daemon",
						     "--unlock",
						     "--components=secrets",
						     "--foreground",
						     NULL);
	g_assert_no_error(error);
	/* an empty password line creates and unlocks a fresh login keyring */
	stdin_pipe = g_object_ref(g_subprocess_get_stdin_pipe(keyring_daemon));
	g_assert_true(g_output_stream_write_all(stdin_pipe, "\n", 1, NULL, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_output_stream_close(stdin_pipe, NULL, &error));
	g_assert_no_error(error);

	deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!bus_name_has_owner(bus, SECRETS_BUS_NAME)) {
		if (g_get_monotonic_time() > deadline)
			g_error("gnome-keyring-daemon did not take %s", SECRETS_BUS_NAME);
		g_usleep(50 * 1000);
	}
	return test_home;
}

/**
 * me_test_keyring_stop:
 *
 * Stops the daemon and removes the private HOME.
 */
void
me_test_keyring_stop(void)
{
	if (keyring_daemon != NULL) {
		g_subprocess_send_signal(keyring_daemon, SIGTERM);
		(void)g_subprocess_wait(keyring_daemon, NULL, NULL);
		g_clear_object(&keyring_daemon);
	}
	if (bus_daemon != NULL) {
		g_subprocess_send_signal(bus_daemon, SIGTERM);
		(void)g_subprocess_wait(bus_daemon, NULL, NULL);
		g_clear_object(&bus_daemon);
	}
	if (test_home != NULL) {
		me_test_rm_rf(test_home);
		g_clear_pointer(&test_home, g_free);
	}
}


/* locks the default collection, as a screen lock or a logout would; nothing in the
 * tests can unlock it again (there is no prompter), so a test that calls this runs last */
void
me_test_keyring_lock(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SecretService) service = secret_service_get_sync(SECRET_SERVICE_NONE, NULL, &error);
	g_autoptr(SecretCollection) collection = NULL;
	GList *objects;
	gint n_locked;

	g_assert_no_error(error);
	collection = secret_collection_for_alias_sync(service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, NULL,
						       &error);
	g_assert_no_error(error);
	g_assert_nonnull(collection);
	objects = g_list_append(NULL, collection);
	n_locked = secret_service_lock_sync(service, objects, NULL, NULL, &error);
	g_list_free(objects);
	g_assert_no_error(error);
	g_assert_cmpint(n_locked, ==, 1);
}
