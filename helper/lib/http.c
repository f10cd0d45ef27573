/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeHttp"

#include "config.h"

#include "http.h"

#include <curl/curl.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "dl.h"
#include "me-error.h"

/* limits on what a server may send us besides the body */
#define ME_HTTP_HEADER_BYTES_MAX (64 * 1024)
#define ME_HTTP_LINKS_MAX	 32
#define ME_HTTP_REDIRECTS_MAX	 3


/* libcurl and its ~30 dependencies are loaded by the first request (dl.c), not at every start
 * of a front-end whose job makes none (hello, status, --version): every function of it this
 * file calls is in this list and is called as sym_NAME().  The build does not link libcurl,
 * so a function called by its own name fails to link (CONTRIBUTING.md).  Called through a
 * pointer, curl_easy_setopt() is not checked by curl/typecheck-gcc.h: every value below is
 * of its option's type, cast where needed. */
#define HTTP_SYMBOLS(X)                                                                                                \
	X(curl_easy_cleanup)                                                                                           \
	X(curl_easy_getinfo)                                                                                           \
	X(curl_easy_init)                                                                                              \
	X(curl_easy_perform)                                                                                           \
	X(curl_easy_setopt)                                                                                            \
	X(curl_easy_strerror)                                                                                          \
	X(curl_getdate)                                                                                                \
	X(curl_global_init)                                                                                            \
	X(curl_slist_append)                                                                                           \
	X(curl_slist_free_all)                                                                                         \
	X(curl_version_info)

HTTP_SYMBOLS(ME_DL_DECLARE)

static gboolean
http_load(GError **error)
{
	static const MeDlSymbol symbols[] = {HTTP_SYMBOLS(ME_DL_ROW)};

	return me_dl_load(ME_DL_LIBRARY_CURL, symbols, G_N_ELEMENTS(symbols), error);
}

struct _MeHttp {
	CURL *curl;
	gchar *ca_file;
	gchar *builtin_ca_file;
	gchar *user_agent;
	gchar *accept_language;
	gsize max_body;
	guint connect_ms;
	guint total_ms;
	guint low_speed_secs;
	guint requests;
	guint connections;
	guint http_version;
};

/* what the callbacks collect during one transfer */
typedef struct {
	GByteArray *body;
	gsize max_body;
	gboolean body_too_large;
	gsize header_bytes;
	gboolean headers_too_large;
	MeHttpResponse *response;
	gchar *raw_retry_after;
} Transfer;

void
me_http_response_free(MeHttpResponse *response)
{
	if (response == NULL)
		return;
	g_free(response->content_type);
	g_free(response->location);
	g_free(response->replay_nonce);
	g_ptr_array_unref(response->links);
	if (response->body != NULL)
		g_bytes_unref(response->body);
	g_free(response);
}

static MeHttpResponse *
response_new(void)
{
	MeHttpResponse *response = g_new0(MeHttpResponse, 1);
	response->retry_after = -1;
	response->links = g_ptr_array_new_with_free_func(g_free);
	return response;
}

static void
response_reset_headers(MeHttpResponse *response)
{
	g_clear_pointer(&response->content_type, g_free);
	g_clear_pointer(&response->location, g_free);
	g_clear_pointer(&response->replay_nonce, g_free);
	g_ptr_array_set_size(response->links, 0);
}

static gboolean
link_has_rel(const gchar *link, const gchar *rel)
{
	g_auto(GStrv) params = g_strsplit(link, ";", -1);
	for (guint i = 1; params[i] != NULL; i++) {
		g_autofree gchar *param = g_strstrip(g_strdup(params[i]));
		g_autofree gchar *want_quoted = g_strdup_printf("rel=\"%s\"", rel);
		g_autofree gchar *want_plain = g_strdup_printf("rel=%s", rel);
		if (g_ascii_strcasecmp(param, want_quoted) == 0 || g_ascii_strcasecmp(param, want_plain) == 0)
			return TRUE;
	}
	return FALSE;
}

static gchar *
link_target(const gchar *link)
{
	const gchar *start = strchr(link, '<');
	const gchar *end = start != NULL ? strchr(start, '>') : NULL;
	if (end == NULL)
		return NULL;
	return g_strndup(start + 1, end - start - 1);
}

/**
 * me_http_response_find_links:
 * @response: a response
 * @rel: a link relation, e.g. `alternate`
 *
 * Returns: (transfer full): the target URLs of every `Link` with that relation
 */
GStrv
me_http_response_find_links(const MeHttpResponse *response, const gchar *rel)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	for (guint i = 0; i < response->links->len; i++) {
		const gchar *link = g_ptr_array_index(response->links, i);
		g_autofree gchar *target = NULL;
		if (!link_has_rel(link, rel))
			continue;
		target = link_target(link);
		if (target != NULL)
			g_strv_builder_add(builder, target);
	}
	return g_strv_builder_end(builder);
}

/**
 * me_http_response_find_link:
 * @response: a response
 * @rel: a link relation, e.g. `terms-of-service`
 *
 * Returns: (transfer full) (nullable): the target of the first `Link` with that relation
 */
gchar *
me_http_response_find_link(const MeHttpResponse *response, const gchar *rel)
{
	g_auto(GStrv) links = me_http_response_find_links(response, rel);
	return links[0] != NULL ? g_strdup(links[0]) : NULL;
}

/**
 * me_http_parse_retry_after:
 * @value: (nullable): a `Retry-After` header value
 * @now_unix: the current time, seconds since the epoch
 *
 * Parses both forms, delay-seconds and HTTP-date (RFC 9110 §10.2.3).
 *
 * Returns: seconds to wait (0 for a date in the past), or -1 if @value is absent or invalid
 */
gint64
me_http_parse_retry_after(const gchar *value, gint64 now_unix)
{
	guint64 seconds = 0;
	time_t when;

	if (value == NULL)
		return -1;
	while (g_ascii_isspace(*value))
		value++;
	if (g_ascii_isdigit(*value)) {
		g_autofree gchar *trimmed = g_strstrip(g_strdup(value));
		if (!g_ascii_string_to_unsigned(trimmed, 10, 0, G_MAXINT32, &seconds, NULL))
			return -1;
		return (gint64)seconds;
	}
	/* only answers libcurl fetched carry this header, so it is loaded by then; a caller of
	 * its own that cannot load it gets "no valid hint" */
	if (!http_load(NULL))
		return -1;
	when = sym_curl_getdate(value, NULL);
	if (when == -1)
		return -1;
	if (when <= now_unix)
		return 0;
	/* the same bound as for delay-seconds: a date centuries ahead is no real answer */
	if ((gint64)when - now_unix > G_MAXINT32)
		return -1;
	return (gint64)(when - now_unix);
}

static void
split_links(GPtrArray *links, const gchar *value)
{
	const gchar *p = value;
	/* links are separated by commas outside <...>; a URL may contain commas */
	while (*p != '\0' && links->len < ME_HTTP_LINKS_MAX) {
		const gchar *start;
		gboolean in_uri = FALSE;
		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		for (; *p != '\0'; p++) {
			if (*p == '<')
				in_uri = TRUE;
			else if (*p == '>')
				in_uri = FALSE;
			else if (*p == ',' && !in_uri)
				break;
		}
		if (p > start)
			g_ptr_array_add(links, g_strstrip(g_strndup(start, p - start)));
	}
}

static void
transfer_take_header(Transfer *xfer, const gchar *name, const gchar *value)
{
	MeHttpResponse *response = xfer->response;

	if (g_ascii_strcasecmp(name, "content-type") == 0) {
		g_autofree gchar *type = g_strndup(value, strcspn(value, ";"));
		g_free(response->content_type);
		response->content_type = g_ascii_strdown(g_strstrip(type), -1);
	} else if (g_ascii_strcasecmp(name, "location") == 0) {
		g_free(response->location);
		response->location = g_strdup(value);
	} else if (g_ascii_strcasecmp(name, "replay-nonce") == 0) {
		g_free(response->replay_nonce);
		response->replay_nonce = g_strdup(value);
	} else if (g_ascii_strcasecmp(name, "retry-after") == 0) {
		g_free(xfer->raw_retry_after);
		xfer->raw_retry_after = g_strdup(value);
	} else if (g_ascii_strcasecmp(name, "link") == 0) {
		split_links(response->links, value);
	}
}

static size_t
header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Transfer *xfer = userdata;
	gsize len = size * nitems;
	g_autofree gchar *line = NULL;
	gchar *colon;

	xfer->header_bytes += len;
	if (xfer->header_bytes > ME_HTTP_HEADER_BYTES_MAX) {
		xfer->headers_too_large = TRUE;
		return 0;
	}
	/* a new status line starts a new header block (after a redirect or a 1xx) */
	if (len >= 5 && g_ascii_strncasecmp(buffer, "HTTP/", 5) == 0) {
		response_reset_headers(xfer->response);
		g_clear_pointer(&xfer->raw_retry_after, g_free);
		return len;
	}
	line = g_strndup(buffer, len);
	colon = strchr(line, ':');
	if (colon == NULL)
		return len;
	*colon = '\0';
	transfer_take_header(xfer, g_strstrip(line), g_strstrip(colon + 1));
	return len;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Transfer *xfer = userdata;
	gsize len = size * nmemb;

	/* MAXFILESIZE alone does not catch a body without Content-Length, so count here */
	if (len > xfer->max_body || xfer->body->len > xfer->max_body - len) {
		xfer->body_too_large = TRUE;
		return 0;
	}
	g_byte_array_append(xfer->body, (const guint8 *)ptr, len);
	return len;
}

static gchar *
accept_language_new(void)
{
	const gchar *const *names = g_get_language_names();
	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree gchar *tag = NULL;
		if (strchr(names[i], '.') != NULL || strchr(names[i], '@') != NULL)
			continue;
		if (g_strcmp0(names[i], "C") == 0 || g_strcmp0(names[i], "POSIX") == 0)
			break;
		tag = g_strdelimit(g_strdup(names[i]), "_", '-');
		if (g_str_has_prefix(tag, "en"))
			return g_steal_pointer(&tag);
		return g_strdup_printf("%s, en;q=0.5", tag);
	}
	return g_strdup("en");
}

static void
http_global_init(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		sym_curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&once, 1);
	}
}

/* CURLOPT_CAINFO set to NULL means no CA file at all, not libcurl's built-in bundle, so
 * "the system store" has to name that bundle explicitly */
static gchar *
builtin_ca_file(CURL *curl)
{
	const gchar *path = NULL;

	if (sym_curl_easy_getinfo(curl, CURLINFO_CAINFO, &path) != CURLE_OK)
		return NULL;
	return g_strdup(path);
}

/* loads libcurl and makes the client's handle, once */
static gboolean
http_start(MeHttp *http, GError **error)
{
	const curl_version_info_data *info;

	if (http->curl != NULL)
		return TRUE;
	if (!http_load(error))
		return FALSE;
	http_global_init();
	info = sym_curl_version_info(CURLVERSION_NOW);
	http->curl = sym_curl_easy_init();
	if (http->curl == NULL) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_FAILED,
				    /* TRANSLATORS: libcurl could not make its connection handle (out of memory) */
				    _("The HTTPS client could not be started; free some memory and try again."));
		return FALSE;
	}
	http->builtin_ca_file = builtin_ca_file(http->curl);
	g_free(http->user_agent);
	http->user_agent = g_strdup_printf("mailenroll/%s libcurl/%s", PACKAGE_VERSION, info->version);
	return TRUE;
}

/**
 * me_http_new:
 *
 * One HTTPS client for one CA: a single libcurl handle, so every request reuses the same
 * connection (HTTP/2 where the server offers it).  Proxies come from the usual
 * environment variables (`https_proxy`, `no_proxy`), as libcurl reads them.
 *
 * Returns: (transfer full): a client with the default limits
 */
MeHttp *
me_http_new(void)
{
	MeHttp *http = g_new0(MeHttp, 1);

	/* libcurl is loaded and the handle made by the first request (http_start()) */
	http->accept_language = accept_language_new();
	http->max_body = ME_HTTP_BODY_MAX_DEFAULT;
	http->connect_ms = 10000;
	http->total_ms = 60000;
	http->low_speed_secs = 15;
	return http;
}

void
me_http_free(MeHttp *http)
{
	if (http == NULL)
		return;
	if (http->curl != NULL)
		sym_curl_easy_cleanup(http->curl);
	g_free(http->ca_file);
	g_free(http->builtin_ca_file);
	g_free(http->user_agent);
	g_free(http->accept_language);
	g_free(http);
}

/**
 * me_http_set_ca_file:
 * @http: a client
 * @ca_file: (nullable): a PEM file of trust anchors, or %NULL for the system store
 *
 * Replaces the trust anchors; verification itself is never turned off.
 */
void
me_http_set_ca_file(MeHttp *http, const gchar *ca_file)
{
	g_free(http->ca_file);
	http->ca_file = g_strdup(ca_file);
}

void
me_http_set_max_body(MeHttp *http, gsize max_body)
{
	http->max_body = max_body;
}

/**
 * me_http_set_timeouts:
 * @http: a client
 * @connect_ms: the longest a connection may take to open
 * @total_ms: the longest a whole request may take
 * @low_speed_secs: how long a transfer may stall below 1 byte/s before it is dropped
 */
void
me_http_set_timeouts(MeHttp *http, guint connect_ms, guint total_ms, guint low_speed_secs)
{
	http->connect_ms = connect_ms;
	http->total_ms = total_ms;
	http->low_speed_secs = low_speed_secs;
}

const gchar *
me_http_get_user_agent(MeHttp *http)
{
	/* it names libcurl's version: before the first request, load libcurl to know it */
	if (http->user_agent == NULL && !http_start(http, NULL))
		http->user_agent = g_strdup_printf("mailenroll/%s", PACKAGE_VERSION);
	return http->user_agent;
}

/**
 * me_http_get_request_count:
 * @http: a client
 *
 * Returns: how many requests were sent
 */
guint
me_http_get_request_count(MeHttp *http)
{
	return http->requests;
}

/**
 * me_http_get_http_version:
 * @http: a client
 *
 * Returns: the HTTP version of the last response: 20 for HTTP/2, 11 or 10; 0 before any
 */
guint
me_http_get_http_version(MeHttp *http)
{
	return http->http_version;
}

/**
 * me_http_get_connection_count:
 * @http: a client
 *
 * Returns: how many connections were opened (1 when everything reused one)
 */
guint
me_http_get_connection_count(MeHttp *http)
{
	return http->connections;
}

static gboolean
has_crlf(const gchar *text)
{
	return text != NULL && strpbrk(text, "\r\n") != NULL;
}

static gboolean
request_check(const gchar *method, const gchar *url, const gchar *content_type, const gchar *accept, GError **error)
{
	if (url == NULL || g_ascii_strncasecmp(url, "https://", 8) != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: %s is a web address; only https:// ones are allowed */
			    _("The address %s is not an https:// address; certificate authorities are only reached over HTTPS."),
			    url != NULL && url[0] != '\0' ? url : "(none)");
		return FALSE;
	}
	if (has_crlf(url) || has_crlf(content_type) || has_crlf(accept) ||
	    (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0 && g_strcmp0(method, "POST") != 0)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: an internal request was malformed */
				    _("The request is malformed and was not sent."));
		return FALSE;
	}
	return TRUE;
}

static struct curl_slist *
request_headers(MeHttp *http, const gchar *content_type, const gchar *accept)
{
	struct curl_slist *headers = NULL;
	g_autofree gchar *lang = g_strdup_printf("Accept-Language: %s", http->accept_language);

	headers = sym_curl_slist_append(headers, lang);
	/* every request body is small; waiting for 100-continue would cost a round trip */
	headers = sym_curl_slist_append(headers, "Expect:");
	if (content_type != NULL) {
		g_autofree gchar *hdr = g_strdup_printf("Content-Type: %s", content_type);
		headers = sym_curl_slist_append(headers, hdr);
	}
	if (accept != NULL) {
		g_autofree gchar *hdr = g_strdup_printf("Accept: %s", accept);
		headers = sym_curl_slist_append(headers, hdr);
	}
	return headers;
}

static void
request_setup(MeHttp *http, const gchar *method, const gchar *url, const gchar *body, Transfer *xfer)
{
	CURL *c = http->curl;
	gboolean is_get = g_strcmp0(method, "GET") == 0;

	sym_curl_easy_setopt(c, CURLOPT_URL, url);
	sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	sym_curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	/* only a GET (the directory) may be redirected; a signed POST names its exact URL */
	sym_curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, is_get ? 1L : 0L);
	sym_curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)ME_HTTP_REDIRECTS_MAX);
	sym_curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	sym_curl_easy_setopt(c, CURLOPT_CAINFO, http->ca_file != NULL ? http->ca_file : http->builtin_ca_file);
	sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)http->connect_ms);
	sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)http->total_ms);
	sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)http->low_speed_secs);
	sym_curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->max_body);
	sym_curl_easy_setopt(c, CURLOPT_USERAGENT, http->user_agent);
	sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, xfer);
	sym_curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	sym_curl_easy_setopt(c, CURLOPT_HEADERDATA, xfer);
	sym_curl_easy_setopt(c, CURLOPT_NOBODY, g_strcmp0(method, "HEAD") == 0 ? 1L : 0L);
	if (g_strcmp0(method, "POST") == 0) {
		sym_curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		sym_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? strlen(body) : 0));
	} else if (is_get) {
		sym_curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
}

static void
set_curl_error(GError **error, CURLcode rc, const Transfer *xfer, const gchar *url)
{
	MeError code = ME_ERROR_NETWORK;
	const gchar *what;

	g_debug("%s: libcurl error %d: %s", url, rc, sym_curl_easy_strerror(rc));
	if (xfer->body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		code = ME_ERROR_TOO_LARGE;
		/* TRANSLATORS: the server sent more data than any genuine answer has */
		what = _("The certificate authority sent an answer far larger than any genuine one; try again later or ask its operator.");
	} else if (xfer->headers_too_large) {
		code = ME_ERROR_TOO_LARGE;
		what = _("The certificate authority sent an answer far larger than any genuine one; try again later or ask its operator.");
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		code = ME_ERROR_TIMED_OUT;
		/* TRANSLATORS: the server stopped answering */
		what = _("The certificate authority did not answer in time; check the network connection and try again.");
	} else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
		   rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
		code = ME_ERROR_TLS;
		/* TRANSLATORS: the server's TLS certificate could not be verified */
		what = _("The certificate authority's identity could not be verified; check the address and the system's trusted certificates.");
	} else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_TOO_MANY_REDIRECTS) {
		code = ME_ERROR_INVALID_DATA;
		/* TRANSLATORS: the server sent us to an http:// address or round in circles */
		what = _("The certificate authority redirected to an insecure or endless chain of addresses; check the directory address.");
	} else if (rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR) {
		/* TRANSLATORS: the connection closed in the middle of an answer */
		what = _("The certificate authority's answer was cut short; try again.");
	} else {
		/* TRANSLATORS: generic network failure */
		what = _("The certificate authority could not be reached; check the network connection and the address.");
	}
	g_set_error_literal(error, ME_ERROR, code, what);
}

/**
 * me_http_request:
 * @http: a client
 * @method: `GET`, `HEAD` or `POST`
 * @url: an https:// URL
 * @content_type: (nullable): the body's media type
 * @body: (nullable): the body of a POST
 * @accept: (nullable): the `Accept` header
 * @error: (nullable): return location
 *
 * Sends one request on the client's connection.  An HTTP error status is not an error
 * here: the caller reads it (and the problem document) from the response.
 *
 * Returns: (transfer full): the response, or %NULL with @error set
 */
MeHttpResponse *
me_http_request(MeHttp *http,
		const gchar *method,
		const gchar *url,
		const gchar *content_type,
		const gchar *body,
		const gchar *accept,
		GError **error)
{
	Transfer xfer = {0};
	struct curl_slist *headers = NULL;
	g_autoptr(MeHttpResponse) response = NULL;
	CURLcode rc;
	long status = 0;
	long connects = 0;
	long version = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!request_check(method, url, content_type, accept, error) || !http_start(http, error))
		return NULL;
	response = response_new();
	xfer.response = response;
	xfer.body = g_byte_array_new();
	xfer.max_body = http->max_body;
	request_setup(http, method, url, body, &xfer);
	headers = request_headers(http, content_type, accept);
	sym_curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, headers);
	rc = sym_curl_easy_perform(http->curl);
	sym_curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, NULL);
	sym_curl_slist_free_all(headers);
	http->requests++;
	sym_curl_easy_getinfo(http->curl, CURLINFO_NUM_CONNECTS, &connects);
	http->connections += (guint)connects;
	response->body = g_byte_array_free_to_bytes(xfer.body);
	if (rc != CURLE_OK) {
		set_curl_error(error, rc, &xfer, url);
		g_free(xfer.raw_retry_after);
		return NULL;
	}
	sym_curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
	sym_curl_easy_getinfo(http->curl, CURLINFO_HTTP_VERSION, &version);
	http->http_version = version == CURL_HTTP_VERSION_2_0 ? 20 : version == CURL_HTTP_VERSION_1_1 ? 11 : 10;
	response->status = (guint)status;
	response->retry_after = me_http_parse_retry_after(xfer.raw_retry_after, g_get_real_time() / G_USEC_PER_SEC);
	g_free(xfer.raw_retry_after);
	g_debug("%s %s -> HTTP/%u.%u %u (%" G_GSIZE_FORMAT " bytes)", method, url, http->http_version / 10,
		http->http_version % 10, response->status, g_bytes_get_size(response->body));
	return g_steal_pointer(&response);
}
