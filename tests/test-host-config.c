/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The configuration methods of mailenroll-helper (config.get, config.set, ca.add, ca.agree,
 * ca.eab; issue 19), driven over native-messaging frames as the options page drives them.
 * Real parts: the built helper, the RFC 8823 test CA (with --eab for External Account
 * Binding), gnome-keyring on a private session bus.  Asserted on the far side: the user's
 * file byte for byte, the keyring's item, the account the CA made. */

#define G_LOG_DOMAIN "MeTestHostConfig"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "encoding.h"
#include "keyring-fixture.h"
#include "keyring.h"
#include "test-util.h"

#define EAB_KID "kid-2026"
/* 32 bytes, as CAs give them */
#define EAB_KEY	 "c2VjcmV0LW1hYy1rZXktb2YtdGhlLXRlc3QtY2EtMDE"
#define MAILBOX	 "alice@example.org"
#define NOTES	 "# my own notes: keep them\n"

typedef struct {
	/* more switches for the test CA; the system file, @DIR@ for its directory and
	 * @CAFILE@ for its CA file */
	const gchar *ca_switches;
	const gchar *system_conf;
	/* the user's file before the test; @DIR@ for the directory, @BASE@ for its URL without /dir */
	const gchar *user_conf;
} Scenario;

typedef struct {
	MeTestAcmeCa *ca;
	gchar *tmp;
	gchar *user_path;
	gchar *system_path;
	gchar *log_path;
	gchar *base; /* the CA's URL without /dir */
	GSubprocess *helper;
	GOutputStream *to_helper;
	GInputStream *from_helper;
	MeFrameDecoder *rx;
	gint64 next_id;
	/* the text of the last answer, to look for what must not be in it */
	gchar *last_text;
} Fixture;

static void
send_text(Fixture *fx, const gchar *json)
{
	g_autoptr(JsonNode) msg = me_test_json_parse(json);

	me_test_frame_write(fx->to_helper, msg);
}

/* a request, and the answer to it (progress events skipped) */
static JsonNode *
call(Fixture *fx, const gchar *method, const gchar *params)
{
	gint64 id = ++fx->next_id;
	gint fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(fx->from_helper));
	g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\": \"2.0\", \"id\": %" G_GINT64_FORMAT
						", \"method\": \"%s\"%s%s}",
						id, method, params != NULL ? ", \"params\": " : "",
						params != NULL ? params : "");

	send_text(fx, req);
	for (;;) {
		g_autofree gchar *text = me_test_frame_read_text(fx->rx, fd, 120 * 1000, NULL);
		JsonNode *msg;

		g_assert_nonnull(text);
		msg = me_test_json_parse(text);
		if (json_object_has_member(json_node_get_object(msg), "method")) {
			json_node_unref(msg);
			continue;
		}
		g_free(fx->last_text);
		fx->last_text = g_steal_pointer(&text);
		return msg;
	}
}

static JsonObject *
call_ok(Fixture *fx, const gchar *method, const gchar *params, JsonNode **keep)
{
	*keep = call(fx, method, params);
	if (json_object_has_member(json_node_get_object(*keep), "error"))
		g_test_message("%s: %s", method, fx->last_text);
	return me_test_rpc_assert_result(*keep, fx->next_id);
}

/* the error's data (me_test_rpc_assert_error() checks the name and that the message is one
 * sentence) */
static JsonObject *
call_error(Fixture *fx, const gchar *method, const gchar *params, gint code, JsonNode **keep)
{
	*keep = call(fx, method, params);
	g_test_message("%s: %s", method, fx->last_text);
	return me_test_rpc_assert_error(*keep, fx->next_id, code);
}

static gchar *
read_user(Fixture *fx)
{
	gchar *text = NULL;

	if (!g_file_get_contents(fx->user_path, &text, NULL, NULL))
		return NULL;
	return text;
}

/* @templ with @DIR@ and @BASE@ (or @CAFILE@) replaced */
static gchar *
fill(const gchar *templ, const gchar *dir, const gchar *other)
{
	g_autoptr(GString) out = g_string_new(templ);

	g_string_replace(out, "@DIR@", dir, 0);
	g_string_replace(out, "@BASE@", other, 0);
	g_string_replace(out, "@CAFILE@", other, 0);
	return g_strdup(out->str);
}

static void
setup(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = g_strsplit(sc->ca_switches != NULL ? sc->ca_switches : "", " ", -1);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree gchar *etc = NULL;
	g_autofree gchar *xdg = NULL;
	g_autoptr(JsonNode) hello = NULL;
	const gchar *dir;

	fx->ca = me_test_acme_ca_start(argv[0] != NULL ? (const gchar *const *)argv : NULL, &error);
	g_assert_no_error(error);
	dir = me_test_acme_ca_get(fx->ca, "DIRECTORY");
	g_assert_true(g_str_has_suffix(dir, "/dir"));
	fx->base = g_strndup(dir, strlen(dir) - strlen("/dir"));
	fx->tmp = me_test_tmpdir();
	etc = g_build_filename(fx->tmp, "etc", NULL);
	xdg = g_build_filename(fx->tmp, "xdg", NULL);
	g_assert_cmpint(g_mkdir(etc, 0700), ==, 0);
	fx->system_path = g_build_filename(etc, "mailenroll.conf", NULL);
	fx->user_path = g_build_filename(xdg, "mailenroll", "mailenroll.conf", NULL);
	fx->log_path = g_build_filename(fx->tmp, "helper.log", NULL);
	if (sc->system_conf != NULL) {
		g_autofree gchar *text = fill(sc->system_conf, dir, me_test_acme_ca_get(fx->ca, "CA_FILE"));
		g_assert_true(g_file_set_contents(fx->system_path, text, -1, NULL));
	}
	if (sc->user_conf != NULL) {
		g_autofree gchar *text = fill(sc->user_conf, dir, fx->base);
		g_autofree gchar *folder = g_path_get_dirname(fx->user_path);
		g_assert_cmpint(g_mkdir_with_parents(folder, 0700), ==, 0);
		g_assert_true(g_file_set_contents(fx->user_path, text, -1, NULL));
	}

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_subprocess_launcher_setenv(launcher, "MAILENROLL_SYSCONFDIR", etc, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", xdg, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_STATE_HOME", fx->tmp, TRUE);
	g_subprocess_launcher_setenv(launcher, "HOME", fx->tmp, TRUE);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
	/* every debug line, to show that the MAC key is in none */
	g_subprocess_launcher_setenv(launcher, "G_MESSAGES_DEBUG", "all", TRUE);
	/* the test CA's own root stands in for the system's store (test build only) */
	g_subprocess_launcher_setenv(launcher, "MAILENROLL_TEST_CA_FILE", me_test_acme_ca_get(fx->ca, "CA_FILE"), TRUE);
	g_subprocess_launcher_set_stderr_file_path(launcher, fx->log_path);
	fx->helper = g_subprocess_launcher_spawn(launcher, &error, g_getenv("ME_TEST_HELPER"),
						 "/nonexistent/org.mailenroll.helper.json", "mailenroll@mailenroll.org", NULL);
	g_assert_no_error(error);
	fx->to_helper = g_object_ref(g_subprocess_get_stdin_pipe(fx->helper));
	fx->from_helper = g_object_ref(g_subprocess_get_stdout_pipe(fx->helper));
	fx->rx = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	hello = call(fx, "hello", "{\"protocol\": [1], \"client\": \"test-host-config\"}");
	me_test_rpc_assert_result(hello, fx->next_id);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *log = NULL;

	(void)data;
	g_output_stream_close(fx->to_helper, NULL, NULL);
	g_assert_true(g_subprocess_wait(fx->helper, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->helper));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->helper), ==, 0);
	/* the MAC key is in no log line */
	g_assert_true(g_file_get_contents(fx->log_path, &log, NULL, NULL));
	g_assert_null(strstr(log, EAB_KEY));
	g_object_unref(fx->to_helper);
	g_object_unref(fx->from_helper);
	me_frame_decoder_free(fx->rx);
	g_object_unref(fx->helper);
	me_test_acme_ca_stop(fx->ca);
	me_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->user_path);
	g_free(fx->system_path);
	g_free(fx->log_path);
	g_free(fx->base);
	g_free(fx->last_text);
}

static JsonObject *
setting(JsonObject *obj, const gchar *member)
{
	return json_object_get_object_member(obj, member);
}

static void
assert_setting(JsonObject *obj, const gchar *member, const gchar *value, gboolean locked, const gchar *origin)
{
	JsonObject *s = setting(obj, member);
	JsonNode *v = json_object_get_member(s, "value");

	if (value == NULL)
		g_assert_true(JSON_NODE_HOLDS_NULL(v));
	else
		g_assert_cmpstr(json_node_get_string(v), ==, value);
	g_assert_cmpint(json_object_get_boolean_member(s, "locked"), ==, locked);
	g_assert_cmpstr(json_object_get_string_member(s, "origin"), ==, origin);
}

/* ---- from an empty configuration to an account: add, agree, EAB, enroll */

static void
test_set_up_from_empty(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL, a2 = NULL, a3 = NULL, a4 = NULL, a5 = NULL, a6 = NULL, a7 = NULL, a8 = NULL;
	g_autoptr(JsonNode) a9 = NULL;
	g_autofree gchar *dir = g_strdup(me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	g_autoptr(GString) moved_url = g_string_new(dir);
	const gchar *moved;
	g_autofree gchar *moved_add = NULL;
	g_autofree gchar *terms = g_strconcat(fx->base, "/terms", NULL);
	g_autofree gchar *add = g_strdup_printf("{\"directory\": \"%s\"}", dir);
	g_autofree gchar *agree = g_strdup_printf("{\"ca\": \"127.0.0.1\", \"terms\": \"%s\"}", terms);
	g_autofree gchar *stale = g_strdup_printf("{\"ca\": \"127.0.0.1\", \"terms\": \"%s/old\"}", terms);
	g_autofree gchar *text = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GBytes) stored = NULL;
	g_autoptr(GBytes) given = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) status = NULL;
	JsonObject *res;
	JsonObject *ca;
	JsonObject *meta;
	JsonObject *data_obj;

	(void)data;
	g_assert_cmpuint(g_string_replace(moved_url, "//127.0.0.1:", "//localhost:", 1), ==, 1);
	moved = moved_url->str;
	moved_add = g_strdup_printf("{\"name\": \"127.0.0.1\", \"directory\": \"%s\"}", moved);
	/* nothing configured: the page offers to add a CA */
	res = call_ok(fx, "config.get", NULL, &a1);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(res, "cas")), ==, 0);
	g_assert_true(json_object_get_boolean_member(res, "can_add_ca"));
	g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(res, "files"), "user"), ==,
			fx->user_path);
	assert_setting(res, "default_ca", NULL, FALSE, "default");
	assert_setting(res, "key_type", "rsa-3072", FALSE, "default");
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(res, "key_types")), ==, 5);

	/* add the CA by its URL: named after its host, made the default, its meta shown */
	res = call_ok(fx, "ca.add", add, &a2);
	ca = json_object_get_object_member(res, "ca");
	g_assert_cmpstr(json_object_get_string_member(ca, "name"), ==, "127.0.0.1");
	g_assert_cmpstr(json_object_get_string_member(ca, "origin"), ==, "user");
	assert_setting(ca, "directory", dir, FALSE, "user");
	meta = json_object_get_object_member(ca, "meta");
	g_assert_cmpstr(json_object_get_string_member(meta, "termsOfService"), ==, terms);
	g_assert_cmpstr(json_object_get_string_member(meta, "website"), ==, "https://github.com/mailenroll/mailenroll");
	g_assert_true(json_object_get_boolean_member(meta, "externalAccountRequired"));
	g_assert_false(json_object_get_boolean_member(ca, "terms_current"));
	g_assert_false(json_object_get_boolean_member(ca, "eab_stored"));
	text = read_user(fx);
	expected = g_strdup_printf(NOTES "\n[ca 127.0.0.1]\ndirectory=%s\n\n[general]\ndefault-ca=127.0.0.1\n", dir);
	g_assert_cmpstr(text, ==, expected);

	/* terms the CA does not name (any more) are refused, and nothing is written */
	data_obj = call_error(fx, "ca.agree", stale, -32011, &a3);
	g_assert_cmpstr(json_object_get_string_member(data_obj, "name"), ==, "invalid-argument");
	g_free(text);
	text = read_user(fx);
	g_assert_cmpstr(text, ==, expected);

	res = call_ok(fx, "ca.agree", agree, &a4);
	ca = json_object_get_object_member(res, "ca");
	assert_setting(ca, "terms_agreed", terms, FALSE, "user");
	g_assert_true(json_object_get_boolean_member(ca, "terms_current"));

	res = call_ok(fx, "ca.eab", "{\"ca\": \"127.0.0.1\", \"kid\": \"" EAB_KID "\", \"mac_key\": \"" EAB_KEY "\"}",
		      &a5);
	ca = json_object_get_object_member(res, "ca");
	assert_setting(ca, "eab_kid", EAB_KID, FALSE, "user");
	g_assert_true(json_object_get_boolean_member(ca, "eab_stored"));
	g_assert_null(strstr(fx->last_text, EAB_KEY));
	/* the keyring holds the key's bytes, where the engine looks: the directory, the key ID */
	stored = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, dir, EAB_KID, &error);
	g_assert_no_error(error);
	given = me_b64u_decode(EAB_KEY, 256, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(stored, given));

	/* the CA at a new address (the same CA, by its other host name): the profile keeps its
	 * EAB, whose key goes with it in the keyring, and none stays under the old address */
	res = call_ok(fx, "ca.add", moved_add, &a9);
	ca = json_object_get_object_member(res, "ca");
	assert_setting(ca, "directory", moved, FALSE, "user");
	assert_setting(ca, "eab_kid", EAB_KID, FALSE, "user");
	g_assert_true(json_object_get_boolean_member(ca, "eab_stored"));
	g_clear_pointer(&stored, g_bytes_unref);
	stored = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, moved, EAB_KID, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(stored, given));
	g_clear_pointer(&stored, g_bytes_unref);
	stored = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, dir, EAB_KID, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_clear_error(&error);

	res = call_ok(fx, "config.set", "{\"ca\": \"127.0.0.1\", \"key\": \"key-type\", \"value\": \"ec-p256\"}", &a6);
	ca = json_array_get_object_element(json_object_get_array_member(json_object_get_object_member(res, "config"), "cas"),
					   0);
	assert_setting(ca, "key_type", "ec-p256", FALSE, "user");
	g_free(text);
	g_free(expected);
	text = read_user(fx);
	expected = g_strdup_printf(NOTES "\n[ca 127.0.0.1]\ndirectory=%s\nagreed-terms=%s\neab-kid=" EAB_KID
					 "\neab-secret=keyring:" EAB_KID "\nkey-type=ec-p256\n\n[general]\n"
					 "default-ca=127.0.0.1\n",
				   moved, terms);
	g_assert_cmpstr(text, ==, expected);
	g_assert_null(strstr(text, EAB_KEY));

	/* the engine agrees to the terms and binds the account with the key from the keyring */
	res = call_ok(fx, "enroll", "{\"mailbox\": \"" MAILBOX "\"}", &a7);
	g_assert_cmpstr(json_object_get_string_member(res, "state"), ==, "waiting-challenge");
	status = me_test_acme_ca_status(fx->ca);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(status, "accounts")), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(
				json_array_get_object_element(json_object_get_array_member(status, "accounts"), 0), "eab_kid"),
			==, EAB_KID);

	/* removing the EAB takes both keys from the file and the key from the keyring */
	res = call_ok(fx, "ca.eab", "{\"ca\": \"127.0.0.1\", \"kid\": null}", &a8);
	ca = json_object_get_object_member(res, "ca");
	assert_setting(ca, "eab_kid", NULL, FALSE, "default");
	g_assert_false(json_object_get_boolean_member(ca, "eab_stored"));
	g_free(text);
	text = read_user(fx);
	g_assert_null(strstr(text, "eab-"));
	g_clear_pointer(&stored, g_bytes_unref);
	stored = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, moved, EAB_KID, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
}

/* ---- agreed-terms against the CA's terms of the day */

static void
test_terms_current(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	JsonObject *res;

	(void)data;
	res = call_ok(fx, "enroll", "{\"mailbox\": \"" MAILBOX "\"}", &a1);
	g_assert_cmpstr(json_object_get_string_member(res, "state"), ==, "waiting-challenge");
}

static void
test_terms_stale(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL;
	g_autoptr(JsonNode) a2 = NULL;
	g_autoptr(JsonObject) status = NULL;
	g_autofree gchar *terms = g_strconcat(fx->base, "/terms", NULL);
	JsonObject *err;
	JsonObject *ca;

	(void)data;
	a1 = call(fx, "enroll", "{\"mailbox\": \"" MAILBOX "\"}");
	g_test_message("%s", fx->last_text);
	err = json_object_get_object_member(json_node_get_object(a1), "error");
	me_test_rpc_assert_error(a1, fx->next_id, -32024);
	g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), terms));
	g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), "agree to them again"));
	/* the CA was not asked for an account */
	status = me_test_acme_ca_status(fx->ca);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(status, "accounts")), ==, 0);
	/* and the page shows the terms as not current */
	ca = json_array_get_object_element(
	    json_object_get_array_member(call_ok(fx, "config.get", NULL, &a2), "cas"), 0);
	g_assert_false(json_object_get_boolean_member(ca, "terms_current"));
}

/* ---- the administrator's locks */

static void
test_locked(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL, a2 = NULL, a3 = NULL, a4 = NULL, a5 = NULL, a6 = NULL;
	g_autofree gchar *before = read_user(fx);
	g_autofree gchar *after = NULL;
	g_autofree gchar *add = g_strdup_printf("{\"directory\": \"%s\"}", me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	g_autofree gchar *terms = g_strconcat(fx->base, "/terms", NULL);
	g_autofree gchar *agree = g_strdup_printf("{\"ca\": \"corp\", \"terms\": \"%s\"}", terms);
	JsonObject *res;
	JsonObject *ca;
	JsonObject *meta;
	JsonObject *d;

	(void)data;
	res = call_ok(fx, "config.get", NULL, &a1);
	g_assert_false(json_object_get_boolean_member(res, "can_add_ca"));
	assert_setting(res, "auto_approve", "never", TRUE, "default");
	assert_setting(res, "key_type", "ec-p256", FALSE, "user");
	ca = json_array_get_object_element(json_object_get_array_member(res, "cas"), 0);
	g_assert_cmpstr(json_object_get_string_member(ca, "origin"), ==, "system");
	assert_setting(ca, "directory", me_test_acme_ca_get(fx->ca, "DIRECTORY"), TRUE, "system");
	assert_setting(ca, "auto_approve", "never", TRUE, "default");
	/* the system's CA, its meta fetched with its ca-file */
	meta = json_object_get_object_member(ca, "meta");
	g_assert_cmpstr(json_object_get_string_member(meta, "termsOfService"), ==, terms);
	g_assert_false(json_object_get_boolean_member(meta, "externalAccountRequired"));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(meta, "caaIdentities")), ==, 0);
	g_assert_false(json_object_has_member(ca, "meta_error"));

	d = call_error(fx, "config.set", "{\"key\": \"auto-approve\", \"value\": \"verified\"}", -32037, &a2);
	g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, "policy-locked");
	g_assert_cmpstr(json_object_get_string_member(d, "key"), ==, "general/auto-approve");
	d = call_error(fx, "config.set", "{\"ca\": \"corp\", \"key\": \"auto-approve\", \"value\": \"verified\"}", -32037,
		       &a3);
	g_assert_cmpstr(json_object_get_string_member(d, "key"), ==, "ca corp/auto-approve");
	d = call_error(fx, "ca.add", add, -32037, &a4);
	g_assert_cmpstr(json_object_get_string_member(d, "key"), ==, "ca 127.0.0.1/directory");
	after = read_user(fx);
	g_assert_cmpstr(after, ==, before);

	/* what the administrator left open can still be set, in the user's file */
	res = call_ok(fx, "ca.agree", agree, &a5);
	g_assert_true(json_object_get_boolean_member(json_object_get_object_member(res, "ca"), "terms_current"));
	g_free(after);
	after = read_user(fx);
	{
		g_autofree gchar *expected = g_strdup_printf("%s\n[ca corp]\nagreed-terms=%s\n", before, terms);
		g_assert_cmpstr(after, ==, expected);
	}
	res = call_ok(fx, "config.get", "{\"meta\": false}", &a6);
	ca = json_array_get_object_element(json_object_get_array_member(res, "cas"), 0);
	g_assert_false(json_object_has_member(ca, "meta"));
}

/* ---- a CA that does not answer, and an address that is no directory */

static void
test_directory_down(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL, a2 = NULL, a3 = NULL, a4 = NULL;
	guint16 port = me_test_free_port();
	g_autofree gchar *down = g_strdup_printf("{\"directory\": \"https://127.0.0.1:%u/dir\"}", port);
	g_autofree gchar *not_dir = g_strdup_printf("{\"directory\": \"%s/terms\", \"name\": \"terms\"}", fx->base);
	JsonObject *res;
	JsonObject *ca;
	JsonObject *d;

	(void)data;
	res = call_ok(fx, "config.get", NULL, &a1);
	ca = json_array_get_object_element(json_object_get_array_member(res, "cas"), 0);
	g_assert_cmpstr(json_object_get_string_member(ca, "name"), ==, "down");
	g_assert_false(json_object_has_member(ca, "meta"));
	g_assert_nonnull(json_object_get_string_member(ca, "meta_error"));
	g_test_message("meta_error: %s", json_object_get_string_member(ca, "meta_error"));
	{
		g_autoptr(GError) e = g_error_new_literal(ME_ERROR, 1, json_object_get_string_member(ca, "meta_error"));
		me_test_assert_sentence(e);
	}
	d = call_error(fx, "ca.add", down, -32014, &a2);
	g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, "network");
	d = call_error(fx, "ca.add", not_dir, -32011, &a3);
	g_assert_cmpstr(json_object_get_string_member(d, "name"), ==, "invalid-argument");
	d = call_error(fx, "ca.add", "{\"directory\": \"https://127.0.0.1/dir\", \"name\": \"down\"}", -32011, &a4);
	g_assert_nonnull(strstr(fx->last_text, "administrator set up"));
	/* nothing of it reached the user's file */
	g_assert_false(g_file_test(fx->user_path, G_FILE_TEST_EXISTS));
}

static void
test_bad_params(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonNode) a1 = NULL, a2 = NULL, a3 = NULL, a4 = NULL, a5 = NULL, a6 = NULL;
	g_autofree gchar *before = read_user(fx);
	g_autofree gchar *after = NULL;

	(void)data;
	call_error(fx, "config.set", "{\"key\": \"store\", \"value\": \"nssdb\"}", -32011, &a1);
	call_error(fx, "config.set", "{\"ca\": \"127.0.0.1\", \"key\": \"default-ca\", \"value\": \"x\"}", -32011, &a2);
	call_error(fx, "ca.agree", "{\"ca\": \"nope\", \"terms\": \"https://x.example/t\"}", -32019, &a3);
	call_error(fx, "ca.eab", "{\"ca\": \"test\", \"kid\": \"k\", \"mac_key\": \"c2hvcnQ\"}", -32011, &a4);
	call_error(fx, "config.get", "[1]", -32011, &a5);
	call_error(fx, "ca.add", "{\"directory\": \"file:///etc/passwd\"}", -32011, &a6);
	after = read_user(fx);
	g_assert_cmpstr(after, ==, before);
}

int
main(int argc, char **argv)
{
	static const Scenario from_empty = {.ca_switches = "--eab " EAB_KID ":" EAB_KEY, .user_conf = NOTES};
	static const Scenario terms_current = {
	    .user_conf = "[ca test]\ndirectory=@DIR@\nagreed-terms=@BASE@/terms\n",
	};
	static const Scenario terms_stale = {
	    .user_conf = "[ca test]\ndirectory=@DIR@\nagreed-terms=@BASE@/terms-2025\n",
	};
	static const Scenario locked = {
	    .system_conf = "# the administrator's\n[policy]\nlocked=general/auto-approve;ca */directory\n\n"
			   "[ca corp]\ndirectory=@DIR@\nca-file=@CAFILE@\n",
	    .user_conf = "# mine\n[general]\nkey-type=ec-p256\n",
	};
	static const Scenario down = {
	    .system_conf = "[ca down]\ndirectory=https://127.0.0.1:1/dir\n",
	};
	static const Scenario plain = {.user_conf = "[ca test]\ndirectory=@DIR@\n"};
	gint rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	me_test_keyring_start();
	g_test_add("/host-config/set-up-from-empty", Fixture, &from_empty, setup, test_set_up_from_empty, teardown);
	g_test_add("/host-config/terms/current", Fixture, &terms_current, setup, test_terms_current, teardown);
	g_test_add("/host-config/terms/stale", Fixture, &terms_stale, setup, test_terms_stale, teardown);
	g_test_add("/host-config/locked", Fixture, &locked, setup, test_locked, teardown);
	g_test_add("/host-config/directory-down", Fixture, &down, setup, test_directory_down, teardown);
	g_test_add("/host-config/bad-params", Fixture, &plain, setup, test_bad_params, teardown);
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
