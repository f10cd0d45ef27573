/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestState"

#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "test-util.h"

/* helper/lib/state.c: the persisted state of one enrollment, in a temporary state folder */

#define CA	"example"
#define MAILBOX "alice@example.org"

/* what the children of /state/busy open, handed down through the environment */
#define CHILD_DIR_ENV  "ME_TEST_STATE_CHILD_DIR"
#define CHILD_MODE_ENV "ME_TEST_STATE_CHILD"

typedef struct {
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = me_test_tmpdir();
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	me_test_rm_rf(fx->dir);
	g_free(fx->dir);
}

static MeState *
open_ok(const gchar *dir, const gchar *ca, const gchar *mailbox)
{
	g_autoptr(GError) error = NULL;
	MeState *state = me_state_open(dir, ca, mailbox, &error);

	g_assert_no_error(error);
	g_assert_nonnull(state);
	return state;
}

static gchar *
read_text(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	gchar *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_no_error(error);
	return text;
}

/* the file as JSON, read with json-glib directly rather than through state.c */
static JsonObject *
read_json(const gchar *path)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(json_parser_load_from_file(parser, path, &error));
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* every name in @dir, sorted, joined with spaces */
static gchar *
list_names(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_strings);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (gchar **)names->pdata);
}

/* ---- step names */

static void
test_step_names(void)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (MeStateStep step = ME_STATE_STEP_NEW; step <= ME_STATE_STEP_FAILED; step++) {
		const gchar *name = me_state_step_to_string(step);
		MeStateStep back = ME_STATE_STEP_FAILED + 1;
		g_test_message("step %d: %s", step, name);
		g_assert_cmpstr(name, !=, "unknown");
		g_assert_true(g_hash_table_add(seen, (gpointer)name));
		g_assert_true(me_state_step_from_string(name, &back));
		g_assert_cmpint(back, ==, step);
	}
	g_assert_cmpuint(g_hash_table_size(seen), ==, ME_STATE_STEP_FAILED + 1);
	g_assert_cmpstr(me_state_step_to_string(ME_STATE_STEP_FAILED + 1), ==, "unknown");
	g_assert_cmpstr(me_state_step_to_string((MeStateStep)-1), ==, "unknown");
}

static void
test_step_unknown(void)
{
	const gchar *bad[] = {"", "unknown", "NEW", "New", "new ", " new", "issued\n", "waiting_challenge", "step"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		MeStateStep step = ME_STATE_STEP_ISSUED;
		g_test_message("name \"%s\"", bad[i]);
		g_assert_false(me_state_step_from_string(bad[i], &step));
		/* untouched on failure */
		g_assert_cmpint(step, ==, ME_STATE_STEP_ISSUED);
	}
	{
		MeStateStep step = ME_STATE_STEP_ISSUED;
		g_assert_false(me_state_step_from_string(NULL, &step));
		g_assert_cmpint(step, ==, ME_STATE_STEP_ISSUED);
	}
}

/* the wire contract lists the steps too (messaging/PROTOCOL.md §9): the same names in the
 * same order */
static void
test_step_names_protocol(void)
{
	g_autofree gchar *path = g_test_build_filename(G_TEST_DIST, "..", "messaging", "PROTOCOL.md", NULL);
	g_autofree gchar *text = read_text(path);
	g_autofree gchar *flat = NULL;
	g_autofree gchar *list = NULL;
	g_auto(GStrv) parts = NULL;
	const gchar *start = NULL;
	const gchar *end = NULL;
	guint step = 0;

	flat = g_strdelimit(g_strdup(text), "\n", ' ');
	start = strstr(flat, "Steps are those of the state file: ");
	g_assert_nonnull(start);
	start += strlen("Steps are those of the state file: ");
	end = strstr(start, ". ");
	g_assert_nonnull(end);
	list = g_strndup(start, end - start);
	parts = g_strsplit(list, ",", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		g_autofree gchar *name = g_strdup(g_strstrip(parts[i]));
		if (name[0] == '\0')
			continue;
		g_assert_true(g_str_has_prefix(name, "`") && g_str_has_suffix(name, "`"));
		name[strlen(name) - 1] = '\0';
		g_assert_cmpstr(name + 1, ==, me_state_step_to_string(step));
		step++;
	}
	g_assert_cmpuint(step, ==, ME_STATE_STEP_FAILED + 1);
}

/* ---- open, save, load */

static void
test_new(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
	g_autofree gchar *expected = g_build_filename(fx->dir, CA, MAILBOX ".json", NULL);
	g_autofree gchar *ca_dir = g_build_filename(fx->dir, CA, NULL);
	GStatBuf st;

	g_assert_cmpstr(me_state_get_path(state), ==, expected);
	g_assert_cmpint(me_state_get_step(state), ==, ME_STATE_STEP_NEW);
	g_assert_cmpstr(me_state_get_string(state, "ca"), ==, CA);
	g_assert_cmpstr(me_state_get_string(state, "mailbox"), ==, MAILBOX);
	/* nothing written until saved; the folder is private */
	g_assert_false(g_file_test(expected, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_stat(ca_dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
}

static void
test_round_trip(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = NULL;
	g_autoptr(JsonObject) json = NULL;
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;

	{
		g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
		g_autoptr(GError) error = NULL;
		me_state_set_step(state, ME_STATE_STEP_WAITING_CHALLENGE);
		me_state_set_string(state, "order_url", "https://ca.example/order/1");
		me_state_set_string(state, "gone", "soon");
		me_state_set_string(state, "gone", NULL);
		me_state_set_int(state, "big", G_MAXINT64);
		me_state_set_int(state, "negative", -42);
		me_state_set_bool(state, "eab", TRUE);
		g_assert_true(me_state_save(state, &error));
		g_assert_no_error(error);
		path = g_strdup(me_state_get_path(state));
	}

	/* what is on disk, read without state.c */
	json = read_json(path);
	g_assert_cmpint(json_object_get_int_member(json, "version"), ==, ME_STATE_VERSION);
	g_assert_cmpstr(json_object_get_string_member(json, "state"), ==, "waiting-challenge");
	g_assert_cmpstr(json_object_get_string_member(json, "ca"), ==, CA);
	g_assert_cmpstr(json_object_get_string_member(json, "mailbox"), ==, MAILBOX);
	g_assert_cmpstr(json_object_get_string_member(json, "order_url"), ==, "https://ca.example/order/1");
	g_assert_false(json_object_has_member(json, "gone"));
	g_assert_cmpint(json_object_get_int_member(json, "updated"), >=, before);
	g_assert_cmpint(json_object_get_int_member(json, "updated"), <=, g_get_real_time() / G_USEC_PER_SEC);

	/* read back, locked and unlocked */
	{
		g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
		g_autoptr(GError) error = NULL;
		g_autoptr(MeState) ro = NULL;
		g_assert_cmpint(me_state_get_step(state), ==, ME_STATE_STEP_WAITING_CHALLENGE);
		g_assert_cmpstr(me_state_get_string(state, "order_url"), ==, "https://ca.example/order/1");
		g_assert_cmpint(me_state_get_int(state, "big"), ==, G_MAXINT64);
		g_assert_cmpint(me_state_get_int(state, "negative"), ==, -42);
		g_assert_true(me_state_get_bool(state, "eab"));
		g_assert_null(me_state_get_string(state, "gone"));
		g_assert_true(me_state_get_object(state) != NULL);
		g_assert_true(json_object_has_member(me_state_get_object(state), "updated"));
		/* the unlocked reader works while the lock is held */
		ro = me_state_load_readonly(path, &error);
		g_assert_no_error(error);
		g_assert_cmpint(me_state_get_step(ro), ==, ME_STATE_STEP_WAITING_CHALLENGE);
		g_assert_cmpstr(me_state_get_string(ro, "mailbox"), ==, MAILBOX);
		g_assert_cmpint(me_state_get_int(ro, "negative"), ==, -42);
	}
}

/* each getter answers only for its own type */
static void
test_types(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);

	me_state_set_string(state, "s", "1");
	me_state_set_int(state, "i", 1);
	me_state_set_bool(state, "b", TRUE);
	g_assert_cmpstr(me_state_get_string(state, "s"), ==, "1");
	g_assert_null(me_state_get_string(state, "i"));
	g_assert_null(me_state_get_string(state, "b"));
	g_assert_null(me_state_get_string(state, "missing"));
	g_assert_cmpint(me_state_get_int(state, "i"), ==, 1);
	g_assert_cmpint(me_state_get_int(state, "s"), ==, 0);
	g_assert_cmpint(me_state_get_int(state, "b"), ==, 0);
	g_assert_cmpint(me_state_get_int(state, "missing"), ==, 0);
	g_assert_true(me_state_get_bool(state, "b"));
	g_assert_false(me_state_get_bool(state, "s"));
	g_assert_false(me_state_get_bool(state, "i"));
	g_assert_false(me_state_get_bool(state, "missing"));
}

/* atomic and private: mode 0600 whatever the umask, and no temporary file left beside it */
static void
test_atomic_write(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *ca_dir = g_build_filename(fx->dir, CA, NULL);
	g_autofree gchar *names = NULL;
	mode_t old_umask = umask(0);
	GStatBuf st;

	for (guint i = 0; i < 5; i++) {
		me_state_set_int(state, "round", i);
		g_assert_true(me_state_save(state, &error));
		g_assert_no_error(error);
	}
	umask(old_umask);
	g_assert_cmpint(g_stat(me_state_get_path(state), &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	names = list_names(ca_dir);
	g_assert_cmpstr(names, ==, MAILBOX ".json " MAILBOX ".json.lock");
}

/* the CA and the mailbox become file names that stay inside the state folder */
static void
test_file_names(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeState) traversal = open_ok(fx->dir, "../../ca", "../../x/y@Example.ORG");
	g_autoptr(MeState) upper = NULL;
	g_autoptr(MeState) lower_local = NULL;
	g_autofree gchar *prefix = g_strconcat(fx->dir, G_DIR_SEPARATOR_S, NULL);
	const gchar *path = me_state_get_path(traversal);
	g_autofree gchar *base = g_path_get_basename(path);
	g_autofree gchar *parent = g_path_get_dirname(path);
	g_autofree gchar *grandparent = g_path_get_dirname(parent);
	g_autoptr(GError) error = NULL;

	g_test_message("path %s", path);
	g_assert_true(g_str_has_prefix(path, prefix));
	g_assert_null(strstr(path + strlen(prefix), "/../"));
	g_assert_cmpstr(grandparent, ==, fx->dir);
	g_assert_false(g_str_has_prefix(base, "."));
	/* the domain is folded to lower case, the local part kept */
	g_assert_true(g_str_has_suffix(base, "@example.org.json"));
	g_assert_true(me_state_save(traversal, &error));
	g_assert_no_error(error);

	/* alice@EXAMPLE.org is alice@example.org: the same enrollment, so the same lock */
	{
		g_autoptr(MeState) a = open_ok(fx->dir, CA, "alice@EXAMPLE.org");
		g_autoptr(MeState) b = me_state_open(fx->dir, CA, MAILBOX, &error);
		g_assert_null(b);
		g_assert_error(error, ME_ERROR, ME_ERROR_BUSY);
		g_clear_error(&error);
	}
	/* Alice@ is another local part */
	upper = open_ok(fx->dir, CA, "Alice@example.org");
	lower_local = open_ok(fx->dir, CA, MAILBOX);
	g_assert_cmpstr(me_state_get_path(upper), !=, me_state_get_path(lower_local));
}

static void
write_file(const gchar *path, const gchar *text, gssize len)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_path_get_dirname(path);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, text, len, &error));
	g_assert_no_error(error);
}

/* a state file written by a newer mailenroll is refused, and left as it is */
static void
test_newer_version(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->dir, CA, MAILBOX ".json", NULL);
	g_autofree gchar *text = g_strdup_printf("{\"version\": %d, \"state\": \"order\", \"ca\": \"" CA "\","
						 " \"mailbox\": \"" MAILBOX "\", \"future\": true}",
						 ME_STATE_VERSION + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) state = NULL;
	g_autoptr(MeState) ro = NULL;
	g_autofree gchar *after = NULL;

	write_file(path, text, -1);
	state = me_state_open(fx->dir, CA, MAILBOX, &error);
	g_assert_null(state);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, path));
	g_clear_error(&error);
	ro = me_state_load_readonly(path, &error);
	g_assert_null(ro);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	after = read_text(path);
	g_assert_cmpstr(after, ==, text);
}

typedef struct {
	const gchar *what;
	const gchar *text;
} DamagedCase;

/* damaged files are named in one sentence that says what to do, and never overwritten */
static void
test_damaged(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->dir, CA, MAILBOX ".json", NULL);
	g_autofree gchar *good = NULL;
	g_autofree gchar *truncated = NULL;
	g_autofree gchar *huge = NULL;
	DamagedCase cases[] = {
	    {"truncated", NULL},
	    {"empty", ""},
	    {"not JSON", "state=order\nca=example\n"},
	    {"binary", "\x89PNG\r\n\x1a\n\x01\x02"},
	    {"an array", "[{\"version\": 1, \"state\": \"order\"}]"},
	    {"no version", "{\"state\": \"order\", \"ca\": \"" CA "\"}"},
	    {"version 0", "{\"version\": 0, \"state\": \"order\", \"ca\": \"" CA "\"}"},
	    {"negative version", "{\"version\": -1, \"state\": \"order\", \"ca\": \"" CA "\"}"},
	    {"version a string", "{\"version\": \"1\", \"state\": \"order\", \"ca\": \"" CA "\"}"},
	    {"no state", "{\"version\": 1, \"ca\": \"" CA "\"}"},
	    {"unknown state", "{\"version\": 1, \"state\": \"done\", \"ca\": \"" CA "\"}"},
	    {"another CA", "{\"version\": 1, \"state\": \"order\", \"ca\": \"other\"}"},
	    {"too large", NULL},
	};

	/* a real file, cut in the middle */
	{
		g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
		g_autoptr(GError) error = NULL;
		me_state_set_step(state, ME_STATE_STEP_ORDER);
		me_state_set_string(state, "order_url", "https://ca.example/order/1");
		g_assert_true(me_state_save(state, &error));
		g_assert_no_error(error);
	}
	good = read_text(path);
	truncated = g_strndup(good, strlen(good) / 2);
	cases[0].text = truncated;
	/* valid JSON, one byte over the bound */
	{
		g_autoptr(GString) big = g_string_new("{\"version\": 1, \"state\": \"order\", \"ca\": \"" CA "\", \"pad\": \"");
		while (big->len < ME_STATE_FILE_MAX)
			g_string_append_c(big, 'x');
		g_string_append(big, "\"}");
		huge = g_string_free(g_steal_pointer(&big), FALSE);
		cases[G_N_ELEMENTS(cases) - 1].text = huge;
	}

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeState) state = NULL;
		g_autoptr(MeState) ro = NULL;
		g_autofree gchar *after = NULL;
		gsize len = strlen(cases[i].text);
		GStatBuf before_st;
		GStatBuf after_st;

		g_test_message("damaged: %s", cases[i].what);
		write_file(path, cases[i].text, (gssize)len);
		g_assert_cmpint(g_stat(path, &before_st), ==, 0);
		state = me_state_open(fx->dir, CA, MAILBOX, &error);
		g_assert_null(state);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		me_test_assert_sentence(error);
		g_assert_nonnull(strstr(error->message, path));
		g_assert_nonnull(strstr(error->message, "--restart"));
		g_clear_error(&error);
		/* the status reader says the same (the CA check is the locked opener's) */
		ro = me_state_load_readonly(path, &error);
		if (g_strcmp0(cases[i].what, "another CA") == 0) {
			g_assert_no_error(error);
			g_assert_nonnull(ro);
		} else {
			g_assert_null(ro);
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		}
		/* untouched: the same bytes, the same inode */
		after = read_text(path);
		g_assert_cmpstr(after, ==, cases[i].text);
		g_assert_cmpint(g_stat(path, &after_st), ==, 0);
		g_assert_cmpuint(after_st.st_ino, ==, before_st.st_ino);
		g_assert_cmpint(after_st.st_size, ==, before_st.st_size);
	}
}

/* a missing file is no damage for the reader: an error that names it */
static void
test_readonly_missing(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->dir, CA, "nobody@example.org.json", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) ro = me_state_load_readonly(path, &error);

	g_assert_null(ro);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, path));
}

/* a state that cannot be saved is refused in one sentence, and nothing else is written */
static void
test_unwritable(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *file_not_dir = g_build_filename(fx->dir, "file", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) blocked = NULL;
	g_autoptr(MeState) state = NULL;

	/* the state folder is a file */
	write_file(file_not_dir, "x", 1);
	blocked = me_state_open(file_not_dir, CA, MAILBOX, &error);
	g_assert_null(blocked);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	/* the state file's name is taken by a folder */
	state = open_ok(fx->dir, CA, MAILBOX);
	g_assert_cmpint(g_mkdir(me_state_get_path(state), 0700), ==, 0);
	g_assert_false(me_state_save(state, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	g_assert_true(g_file_test(me_state_get_path(state), G_FILE_TEST_IS_DIR));
}

/* a state read without its lock cannot be saved */
static void
test_readonly_no_save(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = NULL;
	g_autoptr(MeState) ro = NULL;
	g_autoptr(GError) error = NULL;

	{
		g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
		g_assert_true(me_state_save(state, &error));
		g_assert_no_error(error);
		path = g_strdup(me_state_get_path(state));
	}
	ro = me_state_load_readonly(path, &error);
	g_assert_no_error(error);
	me_state_set_step(ro, ME_STATE_STEP_FAILED);
	g_test_expect_message("MeState", G_LOG_LEVEL_CRITICAL, "*lock_fd >= 0*");
	g_assert_false(me_state_save(ro, &error));
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	{
		g_autoptr(JsonObject) json = read_json(path);
		g_assert_cmpstr(json_object_get_string_member(json, "state"), ==, "new");
	}
}

/* ---- one process at a time */

/* in the child of /state/busy (the same test, rerun): opens the enrollment the parent may
 * hold, in the parent's state folder, as $ME_TEST_STATE_CHILD says, and prints what happened */
static void
busy_child(Fixture *fx)
{
	const gchar *mode = g_getenv(CHILD_MODE_ENV);
	g_autoptr(GError) error = NULL;
	MeState *state = me_state_open(g_getenv(CHILD_DIR_ENV), CA,
				       g_strcmp0(mode, "other") == 0 ? "bob@example.org" : MAILBOX, &error);

	if (state == NULL) {
		g_print("REFUSED %s %d: %s\n", g_quark_to_string(error->domain), error->code, error->message);
		return;
	}
	g_print("OPENED\n");
	if (g_strcmp0(mode, "dies") == 0) {
		/* no me_state_free(), no atexit handlers: as a killed process */
		me_test_rm_rf(fx->dir);
		fflush(stdout);
		_exit(0);
	}
	me_state_free(state);
}

static void
trap_child(const gchar *mode)
{
	g_setenv(CHILD_MODE_ENV, mode, TRUE);
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
}

static void
test_busy(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *busy_pattern = g_strdup_printf("REFUSED %s %d: Another mailenroll is working on the "
							 "certificate for " MAILBOX "*",
							 g_quark_to_string(ME_ERROR), ME_ERROR_BUSY);
	MeState *held;

	if (g_test_subprocess()) {
		busy_child(fx);
		return;
	}
	g_setenv(CHILD_DIR_ENV, fx->dir, TRUE);
	held = open_ok(fx->dir, CA, MAILBOX);

	/* another process: refused while this one holds it */
	trap_child("same");
	g_test_trap_assert_stdout(busy_pattern);
	/* another mailbox is another lock */
	trap_child("other");
	g_test_trap_assert_stdout("OPENED\n");

	/* released with the state */
	me_state_free(held);
	trap_child("same");
	g_test_trap_assert_stdout("OPENED\n");

	/* and with the process: a child that dies holding it leaves no lock behind */
	trap_child("dies");
	g_test_trap_assert_stdout("OPENED\n");
	held = open_ok(fx->dir, CA, MAILBOX);
	me_state_free(held);
	g_unsetenv(CHILD_DIR_ENV);
	g_unsetenv(CHILD_MODE_ENV);
}

/* ---- many enrollments */

/* the warnings state.c logs (structured logging, which g_test_expect_message() cannot see):
 * captured while capture_warnings() is in force, instead of aborting the test */
static GString *warnings;

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	if (warnings != NULL && (level & G_LOG_LEVEL_WARNING) != 0) {
		for (gsize i = 0; i < n_fields; i++) {
			if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
				g_string_append_printf(warnings, "%s\n", (const gchar *)fields[i].value);
		}
		return G_LOG_WRITER_HANDLED;
	}
	return g_log_writer_default(level, fields, n_fields, user_data);
}

static GLogLevelFlags
capture_warnings(void)
{
	g_assert_null(warnings);
	warnings = g_string_new(NULL);
	return g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

/* the warnings captured since capture_warnings(); fatal again from here on */
static gchar *
end_capture(GLogLevelFlags fatal)
{
	g_log_set_always_fatal(fatal);
	return g_string_free(g_steal_pointer(&warnings), FALSE);
}

static void
save_step(const gchar *dir, const gchar *ca, const gchar *mailbox, MeStateStep step)
{
	g_autoptr(MeState) state = open_ok(dir, ca, mailbox);
	g_autoptr(GError) error = NULL;

	me_state_set_step(state, step);
	g_assert_true(me_state_save(state, &error));
	g_assert_no_error(error);
}

static gint
compare_by_mailbox(gconstpointer a, gconstpointer b)
{
	MeState *sa = *(MeState *const *)a;
	MeState *sb = *(MeState *const *)b;
	gint by_ca = g_strcmp0(me_state_get_string(sa, "ca"), me_state_get_string(sb, "ca"));

	return by_ca != 0 ? by_ca : g_strcmp0(me_state_get_string(sa, "mailbox"), me_state_get_string(sb, "mailbox"));
}

static void
test_list(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) none = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *missing = g_build_filename(fx->dir, "missing", NULL);
	g_autofree gchar *damaged = g_build_filename(fx->dir, CA, "damaged@example.org.json", NULL);
	g_autofree gchar *not_state = g_build_filename(fx->dir, CA, "notes.txt", NULL);
	g_autofree gchar *top_level = g_build_filename(fx->dir, "stray.json", NULL);

	none = me_state_list(missing, &error);
	g_assert_no_error(error);
	g_assert_nonnull(none);
	g_assert_cmpuint(none->len, ==, 0);

	save_step(fx->dir, CA, MAILBOX, ME_STATE_STEP_ISSUED);
	save_step(fx->dir, CA, "bob@example.org", ME_STATE_STEP_WAITING_APPROVAL);
	save_step(fx->dir, "other", MAILBOX, ME_STATE_STEP_FAILED);
	/* an enrollment opened but never saved is no enrollment yet */
	{
		g_autoptr(MeState) unsaved = open_ok(fx->dir, CA, "carol@example.org");
		(void)unsaved;
	}
	write_file(damaged, "{\"version\": 1", -1);
	write_file(not_state, "{}", -1);
	write_file(top_level, "{\"version\": 1, \"state\": \"new\", \"ca\": \"x\"}", -1);

	/* the damaged one is skipped with a warning that names it */
	{
		GLogLevelFlags fatal = capture_warnings();
		g_autofree gchar *logged = NULL;
		g_auto(GStrv) lines = NULL;
		list = me_state_list(fx->dir, &error);
		logged = end_capture(fatal);
		g_test_message("logged: %s", logged);
		g_assert_nonnull(strstr(logged, damaged));
		/* that one only: one line, then the empty rest */
		lines = g_strsplit(logged, "\n", -1);
		g_assert_cmpuint(g_strv_length(lines), ==, 2);
	}
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 3);
	g_ptr_array_sort(list, compare_by_mailbox);
	g_assert_cmpstr(me_state_get_string(g_ptr_array_index(list, 0), "mailbox"), ==, MAILBOX);
	g_assert_cmpint(me_state_get_step(g_ptr_array_index(list, 0)), ==, ME_STATE_STEP_ISSUED);
	g_assert_cmpstr(me_state_get_string(g_ptr_array_index(list, 1), "mailbox"), ==, "bob@example.org");
	g_assert_cmpint(me_state_get_step(g_ptr_array_index(list, 1)), ==, ME_STATE_STEP_WAITING_APPROVAL);
	g_assert_cmpstr(me_state_get_string(g_ptr_array_index(list, 2), "ca"), ==, "other");
	g_assert_cmpint(me_state_get_step(g_ptr_array_index(list, 2)), ==, ME_STATE_STEP_FAILED);

	/* listing takes no locks: it works while an enrollment is held */
	{
		g_autoptr(MeState) held = open_ok(fx->dir, CA, MAILBOX);
		g_autoptr(GPtrArray) again = NULL;
		GLogLevelFlags fatal = capture_warnings();
		g_autofree gchar *logged = NULL;
		again = me_state_list(fx->dir, &error);
		logged = end_capture(fatal);
		g_assert_nonnull(strstr(logged, damaged));
		g_assert_no_error(error);
		g_assert_cmpuint(again->len, ==, 3);
		(void)held;
	}
}

/* start over: the old file kept as .old, a fresh "new" one saved with the same CA and mailbox */
static void
test_reset(Fixture *fx, gconstpointer data)
{
	g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *old_path = NULL;
	g_autofree gchar *before = NULL;
	g_autofree gchar *old_text = NULL;
	g_autoptr(JsonObject) json = NULL;

	me_state_set_step(state, ME_STATE_STEP_FAILED);
	me_state_set_string(state, "order_url", "https://ca.example/order/1");
	g_assert_true(me_state_save(state, &error));
	g_assert_no_error(error);
	before = read_text(me_state_get_path(state));

	g_assert_true(me_state_reset(state, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_state_get_step(state), ==, ME_STATE_STEP_NEW);
	g_assert_null(me_state_get_string(state, "order_url"));
	g_assert_cmpstr(me_state_get_string(state, "ca"), ==, CA);
	g_assert_cmpstr(me_state_get_string(state, "mailbox"), ==, MAILBOX);

	old_path = g_strconcat(me_state_get_path(state), ".old", NULL);
	old_text = read_text(old_path);
	g_assert_cmpstr(old_text, ==, before);
	json = read_json(me_state_get_path(state));
	g_assert_cmpstr(json_object_get_string_member(json, "state"), ==, "new");
	g_assert_cmpstr(json_object_get_string_member(json, "mailbox"), ==, MAILBOX);
	g_assert_false(json_object_has_member(json, "order_url"));

	/* a reset before anything was saved only writes the new file */
	{
		g_autoptr(MeState) fresh = open_ok(fx->dir, CA, "bob@example.org");
		g_autofree gchar *fresh_old = g_strconcat(me_state_get_path(fresh), ".old", NULL);
		g_assert_true(me_state_reset(fresh, &error));
		g_assert_no_error(error);
		g_assert_true(g_file_test(me_state_get_path(fresh), G_FILE_TEST_IS_REGULAR));
		g_assert_false(g_file_test(fresh_old, G_FILE_TEST_EXISTS));
	}
}

/* ---- the state folder is private (docs/standards.md P-07) */

static void
assert_refused(GError *error, const gchar *words)
{
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, words));
}

/* a folder others may write to (or, with root, one of another user) is refused for the
 * state, the list and the CA notes; nothing is written into it */
static void
refuse_folder(const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) state = me_state_open(dir, CA, MAILBOX, &error);
	g_autoptr(GPtrArray) list = NULL;
	g_autofree gchar *ca_dir = g_build_filename(dir, CA, NULL);

	g_assert_null(state);
	assert_refused(error, "belongs to another user or others can write to it");
	g_clear_error(&error);
	list = me_state_list(dir, &error);
	g_assert_null(list);
	assert_refused(error, "belongs to another user or others can write to it");
	g_clear_error(&error);
	g_assert_false(me_state_set_ca_note(dir, CA, "https://ca.example/dir", "mail-wait", "30", &error));
	assert_refused(error, "belongs to another user or others can write to it");
	g_assert_false(g_file_test(ca_dir, G_FILE_TEST_EXISTS));
}

static void
test_private_folder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *shared = g_build_filename(fx->dir, "shared", NULL);
	g_autofree gchar *group = g_build_filename(fx->dir, "group", NULL);
	g_autofree gchar *theirs = g_build_filename(fx->dir, "theirs", NULL);

	/* world- and group-writable, as a shared /var/lib/mailenroll would have to be */
	g_assert_cmpint(g_mkdir(shared, 0700), ==, 0);
	g_assert_cmpint(g_chmod(shared, 01777), ==, 0);
	refuse_folder(shared);
	g_assert_cmpint(g_mkdir(group, 0700), ==, 0);
	g_assert_cmpint(g_chmod(group, 0770), ==, 0);
	refuse_folder(group);
	/* another user's, mode 0700 */
	if (geteuid() != 0) {
		g_test_message("not root: a folder of another user cannot be made, that case is left out");
		return;
	}
	g_assert_cmpint(g_mkdir(theirs, 0700), ==, 0);
	g_assert_cmpint(chown(theirs, 65534, 65534), ==, 0);
	refuse_folder(theirs);
}

/* each level mailenroll makes is 0700; a CA folder others may write to is refused */
static void
test_private_levels(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = g_build_filename(fx->dir, "a", "b", NULL);
	g_autofree gchar *a = g_build_filename(fx->dir, "a", NULL);
	g_autofree gchar *ca_dir = g_build_filename(dir, CA, NULL);
	const gchar *levels[] = {a, dir, ca_dir};
	g_autoptr(GError) error = NULL;
	mode_t mask = umask(0);

	{
		g_autoptr(MeState) state = open_ok(dir, CA, MAILBOX);
		g_assert_true(me_state_save(state, &error));
		g_assert_no_error(error);
	}
	umask(mask);
	for (guint i = 0; i < G_N_ELEMENTS(levels); i++) {
		GStatBuf st;
		g_assert_cmpint(g_stat(levels[i], &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, 0700);
	}
	g_assert_cmpint(g_chmod(ca_dir, 0777), ==, 0);
	{
		g_autoptr(MeState) state = me_state_open(dir, CA, MAILBOX, &error);
		g_assert_null(state);
		assert_refused(error, "belongs to another user or others can write to it");
	}
}

/* a planted .lock or state symlink is never followed: nothing is created or read through it */
static void
test_symlinks(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *target = g_build_filename(fx->dir, "target", NULL);
	g_autofree gchar *planted = g_build_filename(fx->dir, "planted.json", NULL);
	g_autofree gchar *path = NULL;
	g_autofree gchar *lock = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = NULL;
	GLogLevelFlags fatal;
	g_autofree gchar *logged = NULL;

	{
		g_autoptr(MeState) state = open_ok(fx->dir, CA, MAILBOX);
		path = g_strdup(me_state_get_path(state));
		lock = g_strconcat(path, ".lock", NULL);
	}
	/* the lock: a link to a file that does not exist yet */
	g_assert_cmpint(g_unlink(lock), ==, 0);
	g_assert_cmpint(symlink(target, lock), ==, 0);
	{
		g_autoptr(MeState) state = me_state_open(fx->dir, CA, MAILBOX, &error);
		g_assert_null(state);
		assert_refused(error, "is a symbolic link");
		g_clear_error(&error);
	}
	g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_unlink(lock), ==, 0);

	/* the state: a link to state JSON another user wrote */
	write_file(planted, "{\"version\":1,\"state\":\"waiting-approval\",\"ca\":\"" CA "\",\"mailbox\":\"" MAILBOX
			    "\",\"reply_to\":\"attacker@example.net\"}",
		   -1);
	g_assert_cmpint(symlink(planted, path), ==, 0);
	{
		g_autoptr(MeState) state = me_state_open(fx->dir, CA, MAILBOX, &error);
		g_assert_null(state);
		assert_refused(error, "is a symbolic link");
		g_clear_error(&error);
	}
	{
		g_autoptr(MeState) state = me_state_load_readonly(path, &error);
		g_assert_null(state);
		assert_refused(error, "is a symbolic link");
		g_clear_error(&error);
	}
	fatal = capture_warnings();
	list = me_state_list(fx->dir, &error);
	logged = end_capture(fatal);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 0);
	g_assert_nonnull(strstr(logged, "is a symbolic link"));
}

/* ---- the account the mailboxes share at a CA */

#define DIRECTORY  "https://ca.example/dir"
#define DIRECTORY2 "https://other.example/dir"

static void
test_ca_account_round_trip(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeStateAccount) none = NULL;
	g_autoptr(MeStateAccount) got = NULL;
	g_autoptr(MeStateAccount) other = NULL;
	g_autoptr(GPtrArray) list = NULL;
	MeStateAccount pending = {NULL, (gchar *)"fp-1", (gchar *)MAILBOX, 1700000000};
	MeStateAccount made = {(gchar *)"https://ca.example/acct/1", (gchar *)"fp-1", (gchar *)MAILBOX, 1700000000};
	MeStateAccount second = {(gchar *)"https://other.example/acct/9", (gchar *)"fp-2", (gchar *)"bob@example.org", 5};

	/* none yet: no error */
	none = me_state_get_ca_account(fx->dir, CA, DIRECTORY, &error);
	g_assert_no_error(error);
	g_assert_null(none);
	/* saved before the CA knows the key: no URL */
	g_assert_true(me_state_set_ca_account(fx->dir, CA, DIRECTORY, &pending, &error));
	g_assert_no_error(error);
	got = me_state_get_ca_account(fx->dir, CA, DIRECTORY, &error);
	g_assert_no_error(error);
	g_assert_null(got->url);
	g_assert_cmpstr(got->key_fp, ==, "fp-1");
	g_clear_pointer(&got, me_state_account_free);
	g_assert_true(me_state_set_ca_account(fx->dir, CA, DIRECTORY, &made, &error));
	/* the profile pointed at another CA once: its account stays recorded beside */
	g_assert_true(me_state_set_ca_account(fx->dir, CA, DIRECTORY2, &second, &error));
	g_assert_no_error(error);
	got = me_state_get_ca_account(fx->dir, CA, DIRECTORY, &error);
	other = me_state_get_ca_account(fx->dir, CA, DIRECTORY2, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->url, ==, made.url);
	g_assert_cmpstr(got->key_fp, ==, "fp-1");
	g_assert_cmpstr(got->created_by, ==, MAILBOX);
	g_assert_cmpint(got->created, ==, 1700000000);
	g_assert_cmpstr(other->url, ==, second.url);
	/* it is no enrollment */
	list = me_state_list(fx->dir, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 0);
}

static void
test_ca_account_damaged(Fixture *fx, gconstpointer data)
{
	const gchar *const bad[] = {"{", "[]", "{\"accounts\":{}}", "{\"accounts\":[{\"directory\":\"" DIRECTORY "\"}]}"};
	g_autofree gchar *ca_dir = g_build_filename(fx->dir, CA, NULL);
	g_autofree gchar *path = g_build_filename(ca_dir, "ca.account", NULL);
	MeStateAccount made = {(gchar *)"https://ca.example/acct/1", (gchar *)"fp-1", NULL, 1};

	g_assert_cmpint(g_mkdir_with_parents(ca_dir, 0700), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeStateAccount) got = NULL;

		g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
		got = me_state_get_ca_account(fx->dir, CA, DIRECTORY, &error);
		g_assert_null(got);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		me_test_assert_sentence(error);
		g_clear_error(&error);
		/* never written over: the account it named would be lost */
		if (i < 3) {
			g_assert_false(me_state_set_ca_account(fx->dir, CA, DIRECTORY, &made, &error));
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		}
	}
}

static void
test_ca_account_lock(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	MeStateLock *held = me_state_lock_ca(fx->dir, CA, 0, &error);
	MeStateLock *again;
	MeStateLock *other;
	gint64 start;

	g_assert_no_error(error);
	g_assert_nonnull(held);
	/* flock() locks an open file, so a second open in the same process contends as
	 * another process would */
	start = g_get_monotonic_time();
	again = me_state_lock_ca(fx->dir, CA, 200, &error);
	g_assert_null(again);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 200 * 1000);
	g_assert_error(error, ME_ERROR, ME_ERROR_BUSY);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	/* another CA is another lock */
	other = me_state_lock_ca(fx->dir, "other", 0, &error);
	g_assert_no_error(error);
	me_state_lock_free(other);
	me_state_lock_free(held);
	again = me_state_lock_ca(fx->dir, CA, 0, &error);
	g_assert_no_error(error);
	g_assert_nonnull(again);
	me_state_lock_free(again);
}

int
main(int argc, char **argv)
{
	g_log_set_writer_func(log_writer, NULL, NULL);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/state/step/names", test_step_names);
	g_test_add_func("/state/step/unknown", test_step_unknown);
	g_test_add_func("/state/step/protocol", test_step_names_protocol);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/state/new", test_new);
	ADD("/state/round-trip", test_round_trip);
	ADD("/state/types", test_types);
	ADD("/state/atomic-write", test_atomic_write);
	ADD("/state/file-names", test_file_names);
	ADD("/state/newer-version", test_newer_version);
	ADD("/state/damaged", test_damaged);
	ADD("/state/readonly-missing", test_readonly_missing);
	ADD("/state/readonly-no-save", test_readonly_no_save);
	ADD("/state/unwritable", test_unwritable);
	ADD("/state/busy", test_busy);
	ADD("/state/list", test_list);
	ADD("/state/reset", test_reset);
	ADD("/state/private/folder", test_private_folder);
	ADD("/state/private/levels", test_private_levels);
	ADD("/state/private/symlinks", test_symlinks);
	ADD("/state/ca-account/round-trip", test_ca_account_round_trip);
	ADD("/state/ca-account/damaged", test_ca_account_damaged);
	ADD("/state/ca-account/lock", test_ca_account_lock);
#undef ADD
	return g_test_run();
}
