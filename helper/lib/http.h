/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the largest response body accepted unless the caller says otherwise */
#define ME_HTTP_BODY_MAX_DEFAULT (1024 * 1024)

typedef struct _MeHttp MeHttp;

/**
 * MeHttpResponse:
 * @status: the HTTP status code
 * @content_type: (nullable): the media type, without parameters, lowercase
 * @location: (nullable): the `Location` header
 * @replay_nonce: (nullable): the `Replay-Nonce` header
 * @retry_after: seconds the server asked us to wait, or -1 when it did not say
 * @links: the `Link` header values, one element per link
 * @body: the body
 *
 * One response, headers already picked out.
 */
typedef struct {
	guint status;
	gchar *content_type;
	gchar *location;
	gchar *replay_nonce;
	gint64 retry_after;
	GPtrArray *links; /* element-type utf8 */
	GBytes *body;
} MeHttpResponse;

void
me_http_response_free(MeHttpResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeHttpResponse, me_http_response_free)
gchar *
me_http_response_find_link(const MeHttpResponse *response, const gchar *rel);
GStrv
me_http_response_find_links(const MeHttpResponse *response, const gchar *rel);

MeHttp *
me_http_new(void);
void
me_http_free(MeHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeHttp, me_http_free)

void
me_http_set_ca_file(MeHttp *http, const gchar *ca_file);
void
me_http_set_max_body(MeHttp *http, gsize max_body);
void
me_http_set_timeouts(MeHttp *http, guint connect_ms, guint total_ms, guint low_speed_secs);
const gchar *
me_http_get_user_agent(MeHttp *http);
guint
me_http_get_request_count(MeHttp *http);
guint
me_http_get_connection_count(MeHttp *http);
guint
me_http_get_http_version(MeHttp *http);

MeHttpResponse *
me_http_request(MeHttp *http,
		const gchar *method,
		const gchar *url,
		const gchar *content_type,
		const gchar *body,
		const gchar *accept,
		GError **error);

gint64
me_http_parse_retry_after(const gchar *value, gint64 now_unix);

G_END_DECLS
