/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestJson"

#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "json-util.h"
#include "me-error.h"
#include "test-util.h"

/* helper/lib/json-util.c: how the answers of a CA are taken apart.  Every body here is what a
 * CA could send; every refusal must be ME_ERROR_INVALID_DATA with one sentence naming the field */

static JsonNode *
parse(const gchar *text, GError **error)
{
	g_autoptr(GBytes) body = g_bytes_new(text, strlen(text));
	return me_json_parse_object(body, error);
}

/* the object of a body that must parse */
static JsonObject *
object_of(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = parse(text, &error);

	g_assert_no_error(error);
	g_assert_nonnull(root);
	return json_object_ref(json_node_get_object(root));
}

/* a refusal of the malformed-field kind: the field's name is in the sentence */
static void
assert_malformed(const GError *error, const gchar *member)
{
	g_autofree gchar *quoted = g_strdup_printf("\"%s\"", member);

	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, quoted));
}

/* ---- me_json_parse_object */

static void
test_parse_object(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = parse("{\"status\": \"valid\", \"n\": 1, \"list\": [1, 2], \"o\": {}}", &error);
	JsonObject *obj;

	g_assert_no_error(error);
	g_assert_nonnull(root);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
	obj = json_node_get_object(root);
	g_assert_cmpuint(json_object_get_size(obj), ==, 4);
	g_assert_cmpstr(json_object_get_string_member(obj, "status"), ==, "valid");
	g_assert_cmpint(json_object_get_int_member(obj, "n"), ==, 1);
	/* sealed: the members callers borrow cannot change under them */
	g_assert_true(json_node_is_immutable(root));
}

static void
test_parse_refused(void)
{
	/* not an object at the top, not JSON, cut short, trailing text, not UTF-8 */
	const gchar *bad[] = {"[]",
			      "[{\"status\": \"valid\"}]",
			      "\"valid\"",
			      "42",
			      "null",
			      "true",
			      "<html><body>502 Bad Gateway</body></html>",
			      "{\"status\": \"valid\"",
			      "{\"status\": }",
			      "{\"status\": \"valid\"} trailing",
			      "{status: \"valid\"}",
			      "{\"status\": \"\xff\xfe\"}",
			      " ",
			      "\n\n"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) root = parse(bad[i], &error);
		g_autofree gchar *shown = g_strescape(bad[i], NULL);
		/* escaped: the TAP log must stay UTF-8 */
		g_test_message("body %u: %s", i, shown);
		g_assert_null(root);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		me_test_assert_sentence(error);
	}
}

static void
test_parse_empty(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
	g_autoptr(JsonNode) root = me_json_parse_object(empty, &error);

	g_assert_null(root);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
}

/* a body with a NUL inside its length is not JSON, even if what comes before the NUL is */
static void
test_parse_embedded_nul(void)
{
	static const gchar body_data[] = "{\"status\": \"valid\"}\0{\"evil\": 1}";
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = g_bytes_new_static(body_data, sizeof(body_data) - 1);
	g_autoptr(JsonNode) root = me_json_parse_object(body, &error);

	g_assert_null(root);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
}

/* numbers no JSON reader can hold exactly still parse: they are refused where a string is
 * wanted, never a reason to fail the whole answer */
static void
test_parse_huge_numbers(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"big\": 99999999999999999999999999999,"
					      " \"neg\": -99999999999999999999999999999,"
					      " \"exp\": 1e400, \"tiny\": -1e-400, \"min\": -9223372036854775808}");
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(json_object_get_size(obj), ==, 5);
	g_assert_cmpint(json_object_get_int_member(obj, "min"), ==, G_MININT64);
	g_assert_null(me_json_get_string(obj, "big", FALSE, &error));
	assert_malformed(error, "big");
}

/* Nesting as deep as a body of ME_HTTP_BODY_MAX_DEFAULT bytes allows.  A CA's answer is
 * capped by size only, so this must be refused (or read) without exhausting the stack.  The
 * parse runs in a forked child: json-glib's parser recurses once per level, and a crash must
 * not take the other tests with it. */
#define DEEP_LEVELS	  ((ME_HTTP_BODY_MAX_DEFAULT - 16) / 2)
#define DEEP_WRONG_ERROR 3

static GBytes *
deep_body(void)
{
	g_autoptr(GString) text = g_string_sized_new(ME_HTTP_BODY_MAX_DEFAULT);

	g_string_append(text, "{\"a\":");
	for (guint i = 0; i < DEEP_LEVELS; i++)
		g_string_append_c(text, '[');
	for (guint i = 0; i < DEEP_LEVELS; i++)
		g_string_append_c(text, ']');
	g_string_append_c(text, '}');
	g_assert_cmpuint(text->len, <=, ME_HTTP_BODY_MAX_DEFAULT);
	return g_string_free_to_bytes(g_steal_pointer(&text));
}

/* in the child: 0 for an answer either way, DEEP_WRONG_ERROR for a refusal of the wrong kind */
static gint
parse_deep(GBytes *body)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = me_json_parse_object(body, &error);

	if (root == NULL && !g_error_matches(error, ME_ERROR, ME_ERROR_INVALID_DATA))
		return DEEP_WRONG_ERROR;
	return 0;
}

static void
test_parse_deep(void)
{
	g_autoptr(GBytes) body = deep_body();
	gint status = 0;
	pid_t pid = fork();

	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		/* the child's memory is checked too (valgrind follows the fork): free before _exit */
		gint rc = parse_deep(body);
		g_clear_pointer(&body, g_bytes_unref);
		_exit(rc);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	/* killed (or, under ASan, reported) means the parser recursed into the stack's end */
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* the depth bound itself: ME_JSON_MAX_DEPTH levels are read, one more is refused */
static void
test_parse_depth_bound(void)
{
	for (guint extra = 0; extra <= 1; extra++) {
		g_autoptr(GString) text = g_string_new("{\"a\":");
		g_autoptr(GBytes) body = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) root = NULL;
		/* the object itself is the first level */
		for (guint i = 1; i < ME_JSON_MAX_DEPTH + extra; i++)
			g_string_append_c(text, '[');
		for (guint i = 1; i < ME_JSON_MAX_DEPTH + extra; i++)
			g_string_append_c(text, ']');
		g_string_append_c(text, '}');
		body = g_string_free_to_bytes(g_steal_pointer(&text));
		root = me_json_parse_object(body, &error);
		if (extra == 0) {
			g_assert_no_error(error);
			g_assert_nonnull(root);
		} else {
			g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
			g_assert_null(root);
		}
	}
}

/* ---- me_json_get_string */

static void
test_get_string(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"url\": \"https://ca.example/acme/new-order\", \"empty\": \"\","
					      " \"utf8\": \"caf\\u00e9 \xe2\x9c\x93\", \"nothing\": null}");
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr(me_json_get_string(obj, "url", TRUE, &error), ==, "https://ca.example/acme/new-order");
	g_assert_no_error(error);
	g_assert_cmpstr(me_json_get_string(obj, "url", FALSE, &error), ==, "https://ca.example/acme/new-order");
	g_assert_no_error(error);
	g_assert_cmpstr(me_json_get_string(obj, "empty", TRUE, &error), ==, "");
	g_assert_no_error(error);
	g_assert_cmpstr(me_json_get_string(obj, "utf8", TRUE, &error), ==, "caf\xc3\xa9 \xe2\x9c\x93");
	g_assert_no_error(error);

	/* absent or null: no error unless required */
	g_assert_null(me_json_get_string(obj, "missing", FALSE, &error));
	g_assert_no_error(error);
	g_assert_null(me_json_get_string(obj, "nothing", FALSE, &error));
	g_assert_no_error(error);
	g_assert_null(me_json_get_string(obj, "missing", TRUE, &error));
	assert_malformed(error, "missing");
	g_clear_error(&error);
	g_assert_null(me_json_get_string(obj, "nothing", TRUE, &error));
	assert_malformed(error, "nothing");
	g_clear_error(&error);
	/* a caller that does not want the error still gets NULL */
	g_assert_null(me_json_get_string(obj, "missing", TRUE, NULL));
}

/* another type where a string belongs is an error even for an optional member */
static void
test_get_string_wrong_type(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"int\": 1, \"negative\": -1, \"huge\": 18446744073709551616,"
					      " \"double\": 1.5, \"true\": true, \"false\": false,"
					      " \"array\": [\"a\"], \"object\": {\"a\": \"b\"}}");
	const gchar *members[] = {"int", "negative", "huge", "double", "true", "false", "array", "object"};

	for (guint i = 0; i < G_N_ELEMENTS(members); i++) {
		for (guint required = 0; required <= 1; required++) {
			g_autoptr(GError) error = NULL;
			g_test_message("member %s, required %u", members[i], required);
			g_assert_null(me_json_get_string(obj, members[i], required, &error));
			assert_malformed(error, members[i]);
		}
	}
}

static gchar *
object_with_string(const gchar *member, gsize len)
{
	g_autofree gchar *value = g_strnfill(len, 'x');
	return g_strdup_printf("{\"%s\": \"%s\"}", member, value);
}

static void
test_get_string_bound(void)
{
	g_autofree gchar *at_max = object_with_string("detail", ME_JSON_STRING_MAX);
	g_autofree gchar *over_max = object_with_string("detail", ME_JSON_STRING_MAX + 1);
	g_autofree gchar *far_over = object_with_string("detail", 200 * 1024);
	g_autoptr(JsonObject) ok = object_of(at_max);
	g_autoptr(JsonObject) over = object_of(over_max);
	g_autoptr(JsonObject) far = object_of(far_over);
	g_autoptr(GError) error = NULL;
	const gchar *value = me_json_get_string(ok, "detail", TRUE, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(strlen(value), ==, ME_JSON_STRING_MAX);
	g_assert_null(me_json_get_string(over, "detail", FALSE, &error));
	assert_malformed(error, "detail");
	g_clear_error(&error);
	g_assert_null(me_json_get_string(far, "detail", TRUE, &error));
	assert_malformed(error, "detail");
}

/* ---- me_json_get_strv */

static void
test_get_strv(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"authorizations\": [\"https://ca.example/a/1\", \"\","
					      " \"https://ca.example/a/3\"], \"empty\": [], \"nothing\": null}");
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) strv = me_json_get_strv(obj, "authorizations", 3, &error);
	g_auto(GStrv) empty = NULL;
	g_auto(GStrv) nothing = NULL;
	g_auto(GStrv) missing = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(strv);
	g_assert_cmpuint(g_strv_length(strv), ==, 3);
	/* in the CA's order */
	g_assert_cmpstr(strv[0], ==, "https://ca.example/a/1");
	g_assert_cmpstr(strv[1], ==, "");
	g_assert_cmpstr(strv[2], ==, "https://ca.example/a/3");

	/* absent, null and [] are all an empty list, never NULL */
	empty = me_json_get_strv(obj, "empty", 0, &error);
	g_assert_no_error(error);
	g_assert_nonnull(empty);
	g_assert_cmpuint(g_strv_length(empty), ==, 0);
	nothing = me_json_get_strv(obj, "nothing", 5, &error);
	g_assert_no_error(error);
	g_assert_nonnull(nothing);
	g_assert_cmpuint(g_strv_length(nothing), ==, 0);
	missing = me_json_get_strv(obj, "missing", 5, &error);
	g_assert_no_error(error);
	g_assert_nonnull(missing);
	g_assert_cmpuint(g_strv_length(missing), ==, 0);
}

static void
test_get_strv_max_items(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"list\": [\"a\", \"b\", \"c\"]}");
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) exact = me_json_get_strv(obj, "list", 3, &error);
	g_auto(GStrv) over = NULL;
	g_auto(GStrv) none = NULL;

	g_assert_no_error(error);
	g_assert_cmpuint(g_strv_length(exact), ==, 3);
	over = me_json_get_strv(obj, "list", 2, &error);
	g_assert_null(over);
	assert_malformed(error, "list");
	g_clear_error(&error);
	none = me_json_get_strv(obj, "list", 0, &error);
	g_assert_null(none);
	assert_malformed(error, "list");
}

/* one bad element spoils the list: no partial result */
static void
test_get_strv_refused(void)
{
	g_autofree gchar *long_item = g_strnfill(ME_JSON_STRING_MAX + 1, 'y');
	g_autofree gchar *text = g_strdup_printf("{\"string\": \"a\", \"object\": {\"0\": \"a\"}, \"number\": 7,"
						 " \"with-int\": [\"a\", 1], \"with-null\": [\"a\", null],"
						 " \"with-array\": [[\"a\"]], \"with-object\": [{\"a\": \"b\"}],"
						 " \"with-bool\": [false], \"with-long\": [\"a\", \"%s\"]}",
						 long_item);
	g_autoptr(JsonObject) obj = object_of(text);
	const gchar *members[] = {"string", "object", "number", "with-int", "with-null",
				  "with-array", "with-object", "with-bool", "with-long"};

	for (guint i = 0; i < G_N_ELEMENTS(members); i++) {
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) strv = me_json_get_strv(obj, members[i], 100, &error);
		g_test_message("member %s", members[i]);
		g_assert_null(strv);
		assert_malformed(error, members[i]);
	}
}

/* ---- me_json_get_time */

typedef struct {
	const gchar *text;
	gint64 unix_time;
} TimeCase;

static void
test_get_time(void)
{
	/* the values cross-checked with `date -u -d TEXT +%s` */
	const TimeCase cases[] = {
	    {"2020-12-05T10:08:55Z", 1607162935},
	    {"2020-12-05T10:08:55.123456789Z", 1607162935},
	    {"2020-12-05T11:08:55+01:00", 1607162935},
	    {"2020-12-05T04:38:55-05:30", 1607162935},
	    {"1970-01-01T00:00:00Z", 0},
	    {"1969-12-31T23:59:59Z", -1},
	    {"9999-12-31T23:59:59Z", 253402300799},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text = g_strdup_printf("{\"expires\": \"%s\"}", cases[i].text);
		g_autoptr(JsonObject) obj = object_of(text);
		g_autoptr(GError) error = NULL;
		gint64 value = 42;
		g_test_message("time %s", cases[i].text);
		g_assert_true(me_json_get_time(obj, "expires", &value, &error));
		g_assert_no_error(error);
		g_assert_cmpint(value, ==, cases[i].unix_time);
	}
}

/* cross-check of the table above with an independent clock: date(1) */
static void
test_get_time_date_cli(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"expires\": \"2031-07-04T23:10:01+02:00\"}");
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"date", "-u", "-d", "2031-07-04T23:10:01+02:00", "+%s", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;
	gint64 value = 0;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	g_assert_cmpint(status, ==, 0);
	g_assert_true(me_json_get_time(obj, "expires", &value, &error));
	g_assert_no_error(error);
	g_assert_cmpint(value, ==, g_ascii_strtoll(out, NULL, 10));
}

static void
test_get_time_absent(void)
{
	g_autoptr(JsonObject) obj = object_of("{\"expires\": null}");
	g_autoptr(GError) error = NULL;
	gint64 value = 42;

	g_assert_true(me_json_get_time(obj, "missing", &value, &error));
	g_assert_no_error(error);
	g_assert_cmpint(value, ==, 0);
	value = 42;
	g_assert_true(me_json_get_time(obj, "expires", &value, &error));
	g_assert_no_error(error);
	g_assert_cmpint(value, ==, 0);
}

static void
test_get_time_refused(void)
{
	/* no zone (RFC 3339 §5.6 requires one), a date only, a year past 9999, a negative year,
	 * out of range fields, not a date, another type */
	const gchar *bad[] = {"\"2020-12-05T10:08:55\"", "\"2020-12-05\"", "\"99999-01-01T00:00:00Z\"",
			      "\"-2020-12-05T10:08:55Z\"", "\"2020-13-05T10:08:55Z\"", "\"2020-12-32T10:08:55Z\"",
			      "\"2020-12-05T25:08:55Z\"", "\"yesterday\"", "\"\"", "1607162935", "-1",
			      "99999999999999999999", "true", "[\"2020-12-05T10:08:55Z\"]", "{}"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *text = g_strdup_printf("{\"expires\": %s}", bad[i]);
		g_autoptr(JsonObject) obj = object_of(text);
		g_autoptr(GError) error = NULL;
		gint64 value = 42;
		g_test_message("expires %s", bad[i]);
		g_assert_false(me_json_get_time(obj, "expires", &value, &error));
		assert_malformed(error, "expires");
		/* never a stale value left behind */
		g_assert_cmpint(value, ==, 0);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/json-util/parse/object", test_parse_object);
	g_test_add_func("/json-util/parse/refused", test_parse_refused);
	g_test_add_func("/json-util/parse/empty", test_parse_empty);
	g_test_add_func("/json-util/parse/embedded-nul", test_parse_embedded_nul);
	g_test_add_func("/json-util/parse/huge-numbers", test_parse_huge_numbers);
	g_test_add_func("/json-util/parse/deep", test_parse_deep);
	g_test_add_func("/json-util/parse/depth-bound", test_parse_depth_bound);
	g_test_add_func("/json-util/string/get", test_get_string);
	g_test_add_func("/json-util/string/wrong-type", test_get_string_wrong_type);
	g_test_add_func("/json-util/string/bound", test_get_string_bound);
	g_test_add_func("/json-util/strv/get", test_get_strv);
	g_test_add_func("/json-util/strv/max-items", test_get_strv_max_items);
	g_test_add_func("/json-util/strv/refused", test_get_strv_refused);
	g_test_add_func("/json-util/time/get", test_get_time);
	g_test_add_func("/json-util/time/date-cli", test_get_time_date_cli);
	g_test_add_func("/json-util/time/absent", test_get_time_absent);
	g_test_add_func("/json-util/time/refused", test_get_time_refused);
	return g_test_run();
}
