/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "http.h"
#include "me-error.h"
#include "fault-server.h"
#include "test-util.h"

/*
 * The HTTPS layer against tests/util/fault-server.py on 127.0.0.1: limits, refusals,
 * TLS verification, the headers every request carries and connection reuse.
 */


/* ---- the fault server */

static JsonNode *
body_to_json(MeHttpResponse *response)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = g_strndup(g_bytes_get_data(response->body, NULL), g_bytes_get_size(response->body));
	JsonNode *root = json_from_string(text, &error);

	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
	return root;
}

static guint
fault_server_request_count(MeTestFaultServer *fs)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	return json_array_get_length(json_object_get_array_member(json_node_get_object(root), "requests"));
}

/* requests that reached the plain-HTTP listener */
static guint
fault_server_plain_count(MeTestFaultServer *fs)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	JsonArray *requests = json_object_get_array_member(json_node_get_object(root), "requests");
	guint count = 0;

	for (guint i = 0; i < json_array_get_length(requests); i++) {
		if (!json_object_get_boolean_member(json_array_get_object_element(requests, i), "tls"))
			count++;
	}
	return count;
}

/* the plain-HTTP listener really answers: refusing to talk to it is the client's doing */
static void
fault_server_assert_plain_answers(MeTestFaultServer *fs)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketClient) sc = g_socket_client_new();
	g_autoptr(GSocketConnection) conn = NULL;
	const gchar *request = "GET /_echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	gchar reply[13] = {0};
	gsize got = 0;

	g_socket_client_set_timeout(sc, 5);
	conn = g_socket_client_connect_to_host(sc, "127.0.0.1", fs->plain_port, NULL, &error);
	g_assert_no_error(error);
	g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), request, strlen(request), NULL,
				  NULL, &error);
	g_assert_no_error(error);
	g_input_stream_read_all(g_io_stream_get_input_stream(G_IO_STREAM(conn)), reply, sizeof(reply) - 1, &got, NULL,
				&error);
	g_assert_no_error(error);
	g_assert_cmpstr(reply, ==, "HTTP/1.1 200");
}

/* ---- the fixture: one server and one client per test */

typedef struct {
	gchar *tmp;
	MeTestFaultServer *server;
	MeHttp *http;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer user_data)
{
	f->tmp = me_test_tmpdir();
	f->server = me_test_fault_server_start(f->tmp, user_data != NULL ? user_data : "ok", NULL);
	f->http = me_http_new();
	me_http_set_ca_file(f->http, f->server->ca_file);
}

static void
fixture_teardown(Fixture *f, gconstpointer user_data)
{
	me_http_free(f->http);
	me_test_fault_server_stop(f->server);
	me_test_rm_rf(f->tmp);
	g_free(f->tmp);
}

static gchar *
fixture_url(Fixture *f, const gchar *path)
{
	return g_strdup_printf("%s%s", f->server->base, path);
}

static MeHttpResponse *
fixture_get(Fixture *f, const gchar *path, GError **error)
{
	g_autofree gchar *url = fixture_url(f, path);
	return me_http_request(f->http, "GET", url, NULL, NULL, NULL, error);
}

/* ---- responses */

static void
test_response_basic(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = NULL;
	g_autoptr(JsonNode) echo = NULL;
	g_autofree gchar *url = fixture_url(f, "/_echo");
	g_autofree gchar *index = NULL;
	g_autofree gchar *want_index = fixture_url(f, "/directory");
	JsonObject *headers;

	response = me_http_request(f->http, "POST", url, "application/jose+json", "{\"a\":1}", "application/json",
				   &error);
	g_assert_no_error(error);
	g_assert_cmpuint(response->status, ==, 200);
	/* lowercase, parameters dropped */
	g_assert_cmpstr(response->content_type, ==, "application/json");
	g_assert_nonnull(response->replay_nonce);
	g_assert_cmpint(response->retry_after, ==, -1);
	index = me_http_response_find_link(response, "index");
	g_assert_cmpstr(index, ==, want_index);

	echo = body_to_json(response);
	headers = json_node_get_object(echo);
	g_assert_cmpstr(json_object_get_string_member(headers, "content-type"), ==, "application/jose+json");
	g_assert_cmpstr(json_object_get_string_member(headers, "accept"), ==, "application/json");
	g_assert_cmpstr(json_object_get_string_member(headers, "content-length"), ==, "7");
	/* a small body never waits for 100-continue */
	g_assert_false(json_object_has_member(headers, "expect"));
}

static void
test_response_headers_every_request(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) stats = NULL;
	g_autofree gchar *echo_url = fixture_url(f, "/_echo");
	g_autofree gchar *nonce_url = fixture_url(f, "/new-nonce");
	g_autofree gchar *dir_url = fixture_url(f, "/directory");
	const gchar *ua = me_http_get_user_agent(f->http);
	JsonArray *requests;
	struct {
		const gchar *method;
		const gchar *url;
	} sends[] = {
	    {"GET", echo_url}, {"HEAD", echo_url}, {"POST", echo_url}, {"HEAD", nonce_url}, {"GET", dir_url},
	};

	/* name and version of the client and of the HTTP library (RFC 8555 §6.1) */
	g_assert_true(g_str_has_prefix(ua, "mailenroll/" PACKAGE_VERSION " "));
	g_assert_nonnull(strstr(ua, "libcurl/"));
	for (gsize i = 0; i < G_N_ELEMENTS(sends); i++) {
		g_autoptr(MeHttpResponse) response =
		    me_http_request(f->http, sends[i].method, sends[i].url, NULL, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(response->status, ==, 200);
		if (g_strcmp0(sends[i].method, "HEAD") == 0)
			g_assert_cmpuint(g_bytes_get_size(response->body), ==, 0);
	}

	stats = me_test_fault_server_stats(f->server);
	requests = json_object_get_array_member(json_node_get_object(stats), "requests");
	g_assert_cmpuint(json_array_get_length(requests), ==, G_N_ELEMENTS(sends));
	for (guint i = 0; i < json_array_get_length(requests); i++) {
		JsonObject *req = json_array_get_object_element(requests, i);
		const gchar *got_ua = json_object_get_string_member(req, "user_agent");
		const gchar *lang = json_object_get_string_member(req, "accept_language");
		g_assert_cmpstr(json_object_get_string_member(req, "method"), ==, sends[i].method);
		g_assert_cmpstr(got_ua, ==, ua);
		g_assert_true(g_str_has_prefix(got_ua, "mailenroll/"));
		g_assert_nonnull(lang);
		g_assert_cmpstr(lang, !=, "");
	}
}

static void
test_response_links(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = fixture_get(f, "/_links", &error);
	g_auto(GStrv) alternates = NULL;
	g_auto(GStrv) none = NULL;
	g_autofree gchar *help = NULL;
	g_autofree gchar *missing = NULL;

	g_assert_no_error(error);
	/* two Link headers, one of them with two links and a comma inside a URL */
	alternates = me_http_response_find_links(response, "alternate");
	g_assert_cmpuint(g_strv_length(alternates), ==, 2);
	g_assert_cmpstr(alternates[0], ==, "https://a.example/x,y");
	g_assert_cmpstr(alternates[1], ==, "https://b.example/");
	help = me_http_response_find_link(response, "help");
	g_assert_cmpstr(help, ==, "https://c.example/help");
	none = me_http_response_find_links(response, "up");
	g_assert_cmpuint(g_strv_length(none), ==, 0);
	missing = me_http_response_find_link(response, "up");
	g_assert_null(missing);
}

static void
test_response_status(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) unavailable = fixture_get(f, "/_status?code=503&retry_after=5", &error);
	g_autoptr(MeHttpResponse) limited = NULL;
	g_autoptr(MeHttpResponse) plain = NULL;

	/* an error status is the caller's business, not a transport error */
	g_assert_no_error(error);
	g_assert_cmpuint(unavailable->status, ==, 503);
	g_assert_cmpint(unavailable->retry_after, ==, 5);
	limited = fixture_get(f, "/_status?code=429&retry_after=later", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(limited->status, ==, 429);
	g_assert_cmpint(limited->retry_after, ==, -1);
	plain = fixture_get(f, "/_status?code=404", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(plain->status, ==, 404);
	g_assert_cmpint(plain->retry_after, ==, -1);
}

/* ---- one connection */

static void
test_connection_reuse(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) stats = NULL;
	g_autofree gchar *url = fixture_url(f, "/_echo");
	const gchar *methods[] = {"GET", "HEAD", "POST", "GET", "POST"};
	JsonArray *requests;

	for (gsize i = 0; i < G_N_ELEMENTS(methods); i++) {
		g_autoptr(MeHttpResponse) response =
		    me_http_request(f->http, methods[i], url, "application/jose+json", "{}", NULL, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(response->status, ==, 200);
	}
	g_assert_cmpuint(me_http_get_request_count(f->http), ==, 5);
	g_assert_cmpuint(me_http_get_connection_count(f->http), ==, 1);
	/* and the server agrees: all five came over its connection number 1 */
	stats = me_test_fault_server_stats(f->server);
	requests = json_object_get_array_member(json_node_get_object(stats), "requests");
	g_assert_cmpuint(json_array_get_length(requests), ==, 5);
	for (guint i = 0; i < 5; i++)
		g_assert_cmpint(json_object_get_int_member(json_array_get_object_element(requests, i), "conn"), ==, 1);
}

/* ---- limits */

static void
assert_body_size(Fixture *f, const gchar *path, gsize want)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = fixture_get(f, path, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(response->status, ==, 200);
	g_assert_cmpuint(g_bytes_get_size(response->body), ==, want);
}

static void
assert_too_large(Fixture *f, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = fixture_get(f, path, &error);

	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	me_test_assert_sentence(error);
}

static void
test_limits_body(Fixture *f, gconstpointer user_data)
{
	g_autofree gchar *at_default = g_strdup_printf("/_bytes?n=%u", ME_HTTP_BODY_MAX_DEFAULT);
	g_autofree gchar *over_default = g_strdup_printf("/_bytes?n=%u", ME_HTTP_BODY_MAX_DEFAULT + 1);
	g_autofree gchar *over_default_chunked = g_strdup_printf("/_bytes?n=%u&chunked=1", ME_HTTP_BODY_MAX_DEFAULT + 1);

	/* the default cap, exactly */
	assert_body_size(f, at_default, ME_HTTP_BODY_MAX_DEFAULT);
	assert_too_large(f, over_default);
	assert_too_large(f, over_default_chunked);

	/* a small cap: with Content-Length it is refused up front, chunked while counting */
	me_http_set_max_body(f->http, 100);
	assert_body_size(f, "/_bytes?n=100", 100);
	assert_body_size(f, "/_bytes?n=100&chunked=1", 100);
	assert_too_large(f, "/_bytes?n=101");
	assert_too_large(f, "/_bytes?n=101&chunked=1");
	assert_too_large(f, "/_bytes?n=5000&chunked=1");
	/* a refused answer leaves the client usable */
	assert_body_size(f, "/_bytes?n=0", 0);
	assert_body_size(f, "/_bytes?n=99&chunked=1", 99);
}

static void
test_limits_headers(Fixture *f, gconstpointer user_data)
{
	/* ~80 KiB of headers, over the 64 KiB cap */
	assert_too_large(f, "/_big-headers");
	assert_body_size(f, "/_bytes?n=10", 10);
}

/* ---- refused without sending anything */

static void
assert_refused(MeHttp *http, const gchar *method, const gchar *url, const gchar *content_type, const gchar *accept)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = me_http_request(http, method, url, content_type, "{}", accept, &error);

	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	me_test_assert_sentence(error);
}

static void
test_refuse_insecure_url(Fixture *f, gconstpointer user_data)
{
	g_autofree gchar *http_url = g_strdup_printf("http://127.0.0.1:%u/_echo", f->server->plain_port);
	g_autofree gchar *ftp_url = g_strdup_printf("ftp://127.0.0.1:%u/_echo", f->server->port);

	assert_refused(f->http, "GET", http_url, NULL, NULL);
	assert_refused(f->http, "POST", http_url, "application/jose+json", NULL);
	assert_refused(f->http, "GET", ftp_url, NULL, NULL);
	assert_refused(f->http, "GET", "file:///etc/passwd", NULL, NULL);
	assert_refused(f->http, "GET", "", NULL, NULL);
	assert_refused(f->http, "GET", NULL, NULL, NULL);
	/* no request left this process, none reached the server, though it would answer */
	g_assert_cmpuint(me_http_get_request_count(f->http), ==, 0);
	g_assert_cmpuint(me_http_get_connection_count(f->http), ==, 0);
	g_assert_cmpuint(fault_server_request_count(f->server), ==, 0);
	fault_server_assert_plain_answers(f->server);
	g_assert_cmpuint(fault_server_plain_count(f->server), ==, 1);
}

static void
test_refuse_crlf(Fixture *f, gconstpointer user_data)
{
	g_autofree gchar *url = fixture_url(f, "/_echo");
	g_autofree gchar *url_cr = fixture_url(f, "/_echo\r\nX-Injected: 1");
	g_autofree gchar *url_lf = fixture_url(f, "/_echo\nX-Injected: 1");

	assert_refused(f->http, "POST", url, "application/jose+json\r\nX-Injected: 1", NULL);
	assert_refused(f->http, "POST", url, "application/jose+json\n", NULL);
	assert_refused(f->http, "GET", url, NULL, "application/json\r\nX-Injected: 1");
	assert_refused(f->http, "GET", url, NULL, "\rapplication/json");
	assert_refused(f->http, "GET", url_cr, NULL, NULL);
	assert_refused(f->http, "GET", url_lf, NULL, NULL);
	g_assert_cmpuint(me_http_get_request_count(f->http), ==, 0);
	g_assert_cmpuint(fault_server_request_count(f->server), ==, 0);
}

static void
test_refuse_method(Fixture *f, gconstpointer user_data)
{
	g_autofree gchar *url = fixture_url(f, "/_echo");
	const gchar *methods[] = {"PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "get", "Post", "", "GET ", "POST\r\n"};

	for (gsize i = 0; i < G_N_ELEMENTS(methods); i++)
		assert_refused(f->http, methods[i], url, NULL, NULL);
	assert_refused(f->http, NULL, url, NULL, NULL);
	g_assert_cmpuint(me_http_get_request_count(f->http), ==, 0);
	g_assert_cmpuint(fault_server_request_count(f->server), ==, 0);
}

/* ---- TLS and the network */

static void
test_tls_wrong_ca(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *other_dir = g_build_filename(f->tmp, "other", NULL);
	g_autofree gchar *other_cert = NULL;
	g_autofree gchar *other_key = NULL;
	g_autofree gchar *missing = g_build_filename(f->tmp, "no-such-ca.pem", NULL);
	g_autofree gchar *url = fixture_url(f, "/_echo");

	/* another self-signed certificate for the same names: verification must fail */
	g_assert_cmpint(g_mkdir(other_dir, 0700), ==, 0);
	g_assert_true(me_test_make_tls_cert(other_dir, &other_cert, &other_key, &error));
	g_assert_no_error(error);
	me_http_set_ca_file(f->http, other_cert);
	response = me_http_request(f->http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	/* a CA file that does not exist never means "trust anything" */
	me_http_set_ca_file(f->http, missing);
	response = me_http_request(f->http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	/* nor does the system store know this throwaway certificate */
	me_http_set_ca_file(f->http, NULL);
	response = me_http_request(f->http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	g_clear_error(&error);

	/* no HTTP request got through; the right CA works on the same client */
	g_assert_cmpuint(fault_server_request_count(f->server), ==, 0);
	me_http_set_ca_file(f->http, f->server->ca_file);
	response = me_http_request(f->http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(response->status, ==, 200);
}

static void
test_network_refused(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttp) http = me_http_new();
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *url = g_strdup_printf("https://127.0.0.1:%u/directory", me_test_free_port());
	gint64 start = g_get_monotonic_time();

	response = me_http_request(http, "GET", url, NULL, NULL, NULL, &error);
	g_assert_null(response);
	g_assert_error(error, ME_ERROR, ME_ERROR_NETWORK);
	me_test_assert_sentence(error);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
	g_assert_cmpuint(me_http_get_connection_count(http), ==, 0);
}

static void
test_redirect(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeHttpResponse) followed = fixture_get(f, "/_redirect/https", &error);
	g_autoptr(MeHttpResponse) posted = NULL;
	g_autoptr(MeHttpResponse) insecure = NULL;
	g_autofree gchar *redirect_url = fixture_url(f, "/_redirect/https");
	g_autofree gchar *dir_url = fixture_url(f, "/directory");

	/* a GET follows an https redirect and sees only the final answer's headers */
	g_assert_no_error(error);
	g_assert_cmpuint(followed->status, ==, 200);
	g_assert_cmpstr(followed->content_type, ==, "application/json");
	g_assert_null(followed->location);

	/* a POST is never redirected: it names its exact URL */
	posted = me_http_request(f->http, "POST", redirect_url, "application/jose+json", "{}", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(posted->status, ==, 302);
	g_assert_cmpstr(posted->location, ==, dir_url);

	/* https to http is refused, though the plain-HTTP listener would have answered */
	insecure = fixture_get(f, "/_redirect/http", &error);
	g_assert_null(insecure);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "insecure"));
	me_test_assert_sentence(error);
	g_assert_cmpuint(fault_server_request_count(f->server), ==, 4);
	g_assert_cmpuint(fault_server_plain_count(f->server), ==, 0);
	fault_server_assert_plain_answers(f->server);
}

/* ---- the harness itself: the server must not outlive a test that crashed */

static void
test_server_stdin_eof(void)
{
	g_autofree gchar *tmp = me_test_tmpdir();
	MeTestFaultServer *fs = me_test_fault_server_start(tmp, "ok", NULL);

	g_assert_true(g_output_stream_close(g_subprocess_get_stdin_pipe(fs->proc), NULL, NULL));
	g_assert_true(me_test_fault_server_wait_exit(fs->proc, 5000));
	g_assert_true(g_subprocess_get_if_exited(fs->proc));
	g_clear_object(&fs->proc);
	me_test_fault_server_stop(fs);
	me_test_rm_rf(tmp);
}

/* ---- Retry-After */

static void
test_retry_after_parse(void)
{
	/* 2023-11-14 22:13:20 UTC */
	const gint64 now = 1700000000;
	static const struct {
		const gchar *value;
		gint64 want;
	} table[] = {
	    {"0", 0},
	    {"7", 7},
	    {" 7 ", 7},
	    {"\t7\t", 7},
	    {"3600", 3600},
	    {"2147483647", 2147483647},
	    /* HTTP-date in its three forms (RFC 9110 §5.6.7), 40 s ahead */
	    {"Tue, 14 Nov 2023 22:14:00 GMT", 40},
	    {"Tuesday, 14-Nov-23 22:14:00 GMT", 40},
	    {"Tue Nov 14 22:14:00 2023", 40},
	    {" Tue, 14 Nov 2023 22:14:00 GMT", 40},
	    /* in the past, or right now: no wait */
	    {"Tue, 14 Nov 2023 22:00:00 GMT", 0},
	    {"Tue, 14 Nov 2023 22:13:20 GMT", 0},
	    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
	    /* invalid */
	    {"", -1},
	    {"   ", -1},
	    {"soon", -1},
	    {"-5", -1},
	    {"+7", -1},
	    {"1.5", -1},
	    {"7 seconds", -1},
	    {"7s", -1},
	    {"0x10", -1},
	    {"2147483648", -1},
	    {"99999999999999999999", -1},
	    /* a date further ahead than any delay-seconds we accept */
	    {"Fri, 31 Dec 9999 23:59:59 GMT", -1},
	    {"Mon, 32 Nov 2023 22:14:00 GMT", -1},
	    {"GMT", -1},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
		gint64 got = me_http_parse_retry_after(table[i].value, now);
		if (got != table[i].want)
			g_test_message("\"%s\": got %" G_GINT64_FORMAT, table[i].value, got);
		g_assert_cmpint(got, ==, table[i].want);
	}
	g_assert_cmpint(me_http_parse_retry_after(NULL, now), ==, -1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add("/http/" path, Fixture, "ok", fixture_setup, func, fixture_teardown)
	ADD("response/basic", test_response_basic);
	ADD("response/headers-every-request", test_response_headers_every_request);
	ADD("response/links", test_response_links);
	ADD("response/status", test_response_status);
	ADD("connection/reuse", test_connection_reuse);
	ADD("limits/body", test_limits_body);
	ADD("limits/headers", test_limits_headers);
	ADD("refuse/insecure-url", test_refuse_insecure_url);
	ADD("refuse/crlf", test_refuse_crlf);
	ADD("refuse/method", test_refuse_method);
	ADD("tls/wrong-ca", test_tls_wrong_ca);
	ADD("redirect", test_redirect);
#undef ADD
	g_test_add_func("/http/network/refused", test_network_refused);
	g_test_add_func("/http/retry-after/parse", test_retry_after_parse);
	g_test_add_func("/http/fault-server/stdin-eof", test_server_stdin_eof);

	return g_test_run();
}
