/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeAcme"

#include "config.h"

#include "acme-client.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "acme-private.h"
#include "autocleanups.h"
#include "json-util.h"
#include "jws.h"

#define ME_ACME_NONCE_POOL_MAX	  8
#define ME_ACME_NONCE_LEN_MAX	  256
#define ME_ACME_BAD_NONCE_RETRIES 3
#define ME_ACME_SUBPROBLEMS_MAX	  100

struct _MeAcmeClient {
	gchar *directory_url;
	MeHttp *http;
	MeAcmeDirectory *directory;
	GBytes *directory_json;
	gboolean directory_cached; /* loaded from a caller's cache, not fetched this session */
	GQueue nonces;
	EVP_PKEY *account_key;
	gchar *account_url;
	guint bad_nonce_retries;
	guint bad_nonce_count;
	MeAcmePollPolicy poll;
	gint64 last_response_us; /* monotonic time the last response arrived */
};

void
me_acme_directory_free(MeAcmeDirectory *dir)
{
	if (dir == NULL)
		return;
	g_free(dir->new_nonce);
	g_free(dir->new_account);
	g_free(dir->new_order);
	g_free(dir->new_authz);
	g_free(dir->revoke_cert);
	g_free(dir->key_change);
	g_free(dir->renewal_info);
	g_free(dir->terms_of_service);
	g_free(dir->website);
	g_strfreev(dir->caa_identities);
	g_free(dir);
}

void
me_acme_account_free(MeAcmeAccount *account)
{
	if (account == NULL)
		return;
	g_free(account->url);
	g_free(account->status);
	g_strfreev(account->contact);
	g_free(account->orders);
	if (account->json != NULL)
		json_node_unref(account->json);
	g_free(account);
}

/**
 * me_acme_client_new:
 * @directory_url: the CA's directory URL (https://)
 *
 * Returns: (transfer full): a client with no account key yet
 */
MeAcmeClient *
me_acme_client_new(const gchar *directory_url)
{
	MeAcmeClient *client = g_new0(MeAcmeClient, 1);
	client->directory_url = g_strdup(directory_url);
	client->http = me_http_new();
	g_queue_init(&client->nonces);
	client->bad_nonce_retries = ME_ACME_BAD_NONCE_RETRIES;
	/* a near-immediate re-poll, then 25, 50, 100 ... ms.  CAs finish asynchronously:
	 * Pebble needs 1-3 ms after answering "processing"; counted from that answer, a
	 * re-poll at 0 ms wasted a request in 77% of runs, at 2 ms in 7%, at 3 ms in 1%, at
	 * 4 ms in none, and 4 ms is far below one round trip to any real CA.  Remote CAs
	 * send Retry-After, which wins over all of this */
	client->poll.retry_after_min_ms = 100;
	client->poll.max_wait_ms = 60 * 1000;
	client->poll.first_poll_ms = 4;
	client->poll.first_backoff_ms = 25;
	client->poll.timeout_ms = 10 * 60 * 1000;
	return client;
}

void
me_acme_client_free(MeAcmeClient *client)
{
	if (client == NULL)
		return;
	g_free(client->directory_url);
	me_http_free(client->http);
	me_acme_directory_free(client->directory);
	if (client->directory_json != NULL)
		g_bytes_unref(client->directory_json);
	g_queue_clear_full(&client->nonces, g_free);
	EVP_PKEY_free(client->account_key);
	g_free(client->account_url);
	g_free(client);
}

/**
 * me_acme_client_get_http:
 * @client: a client
 *
 * Returns: (transfer none): the HTTPS client, to set a CA file, limits, or read counters
 */
MeHttp *
me_acme_client_get_http(MeAcmeClient *client)
{
	return client->http;
}

/**
 * me_acme_client_set_account_key:
 * @client: a client
 * @key: (nullable): the account's private key; a reference is taken
 */
void
me_acme_client_set_account_key(MeAcmeClient *client, EVP_PKEY *key)
{
	if (key != NULL)
		EVP_PKEY_up_ref(key);
	EVP_PKEY_free(client->account_key);
	client->account_key = key;
}

/**
 * me_acme_client_get_account_key:
 * @client: a client
 *
 * Returns: (transfer none) (nullable): the account key
 */
EVP_PKEY *
me_acme_client_get_account_key(MeAcmeClient *client)
{
	return client->account_key;
}

/**
 * me_acme_client_set_account_url:
 * @client: a client
 * @url: (nullable): the account URL (the `kid`) of an account made earlier
 *
 * Lets a returning account skip newAccount entirely.
 */
void
me_acme_client_set_account_url(MeAcmeClient *client, const gchar *url)
{
	g_free(client->account_url);
	client->account_url = g_strdup(url);
}

const gchar *
me_acme_client_get_account_url(MeAcmeClient *client)
{
	return client->account_url;
}

/**
 * me_acme_client_set_bad_nonce_retries:
 * @client: a client
 * @retries: how often one request is retried after `badNonce` (default 3)
 */
void
me_acme_client_set_bad_nonce_retries(MeAcmeClient *client, guint retries)
{
	client->bad_nonce_retries = retries;
}

/**
 * me_acme_client_get_bad_nonce_count:
 * @client: a client
 *
 * Returns: how many requests were retried after `badNonce` so far
 */
guint
me_acme_client_get_bad_nonce_count(MeAcmeClient *client)
{
	return client->bad_nonce_count;
}

void
me_acme_client_set_poll_policy(MeAcmeClient *client, const MeAcmePollPolicy *policy)
{
	client->poll = *policy;
}

void
me_acme_client_get_poll_policy(MeAcmeClient *client, MeAcmePollPolicy *policy)
{
	*policy = client->poll;
}

/**
 * me_acme_client_url_is_valid:
 * @url: (nullable): a URL from the CA
 *
 * Returns: %TRUE if @url is an https:// URL of sane length without control characters
 */
gboolean
me_acme_client_url_is_valid(const gchar *url)
{
	if (url == NULL || !g_str_has_prefix(url, "https://") || strlen(url) > ME_JSON_STRING_MAX)
		return FALSE;
	for (const gchar *p = url; *p != '\0'; p++) {
		if ((guchar)*p <= 0x20 || *p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

static void
set_bad_url(GError **error, const gchar *what)
{
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: %s names a field of the CA's answer */
		    _("The certificate authority sent an invalid address for \"%s\"; try again later or ask its operator."),
		    what);
}

static gboolean
dir_take_url(JsonObject *obj, const gchar *member, gboolean required, gchar **out, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	const gchar *url = me_json_get_string(obj, member, required, &error_local);
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (url == NULL)
		return TRUE;
	if (!me_acme_client_url_is_valid(url)) {
		set_bad_url(error, member);
		return FALSE;
	}
	*out = g_strdup(url);
	return TRUE;
}

static gboolean
dir_take_meta(MeAcmeDirectory *dir, JsonObject *obj, GError **error)
{
	JsonObject *meta = json_object_get_member(obj, "meta") != NULL &&
				   JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "meta"))
			       ? json_object_get_object_member(obj, "meta")
			       : NULL;
	JsonNode *ear;

	if (meta == NULL)
		return TRUE;
	dir->terms_of_service = g_strdup(me_json_get_string(meta, "termsOfService", FALSE, NULL));
	dir->website = g_strdup(me_json_get_string(meta, "website", FALSE, NULL));
	dir->caa_identities = me_json_get_strv(meta, "caaIdentities", 64, error);
	if (dir->caa_identities == NULL)
		return FALSE;
	ear = json_object_get_member(meta, "externalAccountRequired");
	dir->external_account_required = ear != NULL && JSON_NODE_HOLDS_VALUE(ear) &&
					 json_node_get_value_type(ear) == G_TYPE_BOOLEAN &&
					 json_node_get_boolean(ear);
	return TRUE;
}

static MeAcmeDirectory *
directory_parse(GBytes *body, GError **error)
{
	g_autoptr(JsonNode) root = me_json_parse_object(body, error);
	MeAcmeDirectory *dir;
	JsonObject *obj;
	gboolean ok;

	if (root == NULL)
		return NULL;
	obj = json_node_get_object(root);
	dir = g_new0(MeAcmeDirectory, 1);
	ok = dir_take_url(obj, "newNonce", TRUE, &dir->new_nonce, error) &&
	     dir_take_url(obj, "newAccount", TRUE, &dir->new_account, error) &&
	     dir_take_url(obj, "newOrder", TRUE, &dir->new_order, error) &&
	     dir_take_url(obj, "newAuthz", FALSE, &dir->new_authz, error) &&
	     dir_take_url(obj, "revokeCert", FALSE, &dir->revoke_cert, error) &&
	     dir_take_url(obj, "keyChange", FALSE, &dir->key_change, error) &&
	     dir_take_url(obj, "renewalInfo", FALSE, &dir->renewal_info, error) && dir_take_meta(dir, obj, error);
	if (!ok) {
		me_acme_directory_free(dir);
		return NULL;
	}
	return dir;
}

/**
 * me_acme_client_load_directory:
 * @client: a client
 * @json: a directory document saved earlier with me_acme_client_get_directory_json()
 * @error: (nullable): return location
 *
 * Saves the directory request on later runs.  A stale copy costs nothing worse than one
 * failed request, after which the caller fetches it again.
 *
 * Returns: %TRUE if @json is a valid directory
 */
gboolean
me_acme_client_load_directory(MeAcmeClient *client, GBytes *json, GError **error)
{
	MeAcmeDirectory *dir = directory_parse(json, error);
	if (dir == NULL)
		return FALSE;
	me_acme_directory_free(client->directory);
	client->directory = dir;
	if (client->directory_json != NULL)
		g_bytes_unref(client->directory_json);
	client->directory_json = g_bytes_ref(json);
	client->directory_cached = TRUE;
	return TRUE;
}

/**
 * me_acme_client_drop_stale_directory:
 * @client: a client
 * @error: the error of a request to a URL from the directory
 *
 * A directory from a cache may be stale: a 404 on one of its URLs is the sign.  Then
 * the cached copy is dropped, so the next me_acme_client_get_directory() fetches it.
 *
 * Returns: %TRUE if the caller should retry its request with a fresh directory
 */
gboolean
me_acme_client_drop_stale_directory(MeAcmeClient *client, const GError *error)
{
	const MeAcmeProblem *problem = me_error_get_problem(error);

	if (!client->directory_cached || problem == NULL || problem->status != 404)
		return FALSE;
	g_debug("the cached directory is stale; fetching it again");
	g_clear_pointer(&client->directory, me_acme_directory_free);
	client->directory_cached = FALSE;
	return TRUE;
}

/**
 * me_acme_client_get_fresh_directory:
 * @client: a client
 * @error: (nullable): return location
 *
 * Like me_acme_client_get_directory(), but never trusts a cached copy: for the rare
 * requests (accounts, key changes, revocation) a fetch costs little and a stale URL
 * there would cost a confusing error.
 *
 * Returns: (transfer none): the directory, or %NULL with @error set
 */
const MeAcmeDirectory *
me_acme_client_get_fresh_directory(MeAcmeClient *client, GError **error)
{
	if (client->directory_cached) {
		g_clear_pointer(&client->directory, me_acme_directory_free);
		client->directory_cached = FALSE;
	}
	return me_acme_client_get_directory(client, error);
}

/**
 * me_acme_client_get_directory_json:
 * @client: a client
 *
 * Returns: (transfer full) (nullable): the directory document as fetched, for a cache
 */
GBytes *
me_acme_client_get_directory_json(MeAcmeClient *client)
{
	return client->directory_json != NULL ? g_bytes_ref(client->directory_json) : NULL;
}

static void
nonce_pool_add(MeAcmeClient *client, const gchar *nonce)
{
	gsize len;

	if (nonce == NULL)
		return;
	len = strnlen(nonce, ME_ACME_NONCE_LEN_MAX + 1);
	if (len == 0 || len > ME_ACME_NONCE_LEN_MAX)
		return;
	/* RFC 8555 §6.5.1: base64url characters only; anything else is ignored */
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(nonce[i]) && nonce[i] != '-' && nonce[i] != '_')
			return;
	}
	g_queue_push_head(&client->nonces, g_strdup(nonce));
	while (g_queue_get_length(&client->nonces) > ME_ACME_NONCE_POOL_MAX)
		g_free(g_queue_pop_tail(&client->nonces));
}

/**
 * me_acme_client_get_directory_url:
 * @client: a client
 *
 * Returns: (transfer none): the directory URL the client was made for
 */
const gchar *
me_acme_client_get_directory_url(MeAcmeClient *client)
{
	return client->directory_url;
}

/**
 * me_acme_client_add_nonce:
 * @client: a client
 * @nonce: a nonce the same CA handed out to another client of this process, unused
 *
 * Saves the next request its newNonce round trip.  A nonce that is not base64url is
 * ignored; one the CA no longer takes costs a `badNonce` answer, which carries a fresh one.
 */
void
me_acme_client_add_nonce(MeAcmeClient *client, const gchar *nonce)
{
	nonce_pool_add(client, nonce);
}

/**
 * me_acme_client_steal_nonces:
 * @client: a client
 *
 * Empties the client's pool of unused nonces, so that a later client of the same CA may use
 * them (me_acme_client_add_nonce()); each nonce is good for one request only.
 *
 * Returns: (transfer full): the nonces, the newest first; an empty array when none is left
 */
GStrv
me_acme_client_steal_nonces(MeAcmeClient *client)
{
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	gchar *nonce;

	while ((nonce = g_queue_pop_head(&client->nonces)) != NULL) {
		g_strv_builder_add(out, nonce);
		g_free(nonce);
	}
	return g_strv_builder_end(out);
}

/**
 * me_acme_client_get_directory:
 * @client: a client
 * @error: (nullable): return location
 *
 * Fetches the directory once; later calls return the cached copy.
 *
 * Returns: (transfer none): the directory, or %NULL with @error set
 */
const MeAcmeDirectory *
me_acme_client_get_directory(MeAcmeClient *client, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (client->directory != NULL)
		return client->directory;
	response = me_http_request(client->http, "GET", client->directory_url, NULL, NULL, "application/json", error);
	if (response == NULL || !me_acme_client_check_response(client, response, error))
		return NULL;
	if (!me_acme_client_load_directory(client, response->body, error))
		return NULL;
	client->directory_cached = FALSE;
	return client->directory;
}

static gboolean
nonce_fetch(MeAcmeClient *client, GError **error)
{
	const MeAcmeDirectory *dir = me_acme_client_get_directory(client, error);
	g_autoptr(MeHttpResponse) response = NULL;

	if (dir == NULL)
		return FALSE;
	response = me_http_request(client->http, "HEAD", dir->new_nonce, NULL, NULL, NULL, error);
	return response != NULL && me_acme_client_check_response(client, response, error);
}

static gchar *
nonce_take(MeAcmeClient *client, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (!g_queue_is_empty(&client->nonces))
		return g_queue_pop_head(&client->nonces);
	/* with a cached directory this is the session's first request: it finds staleness */
	if (!nonce_fetch(client, &error_local)) {
		if (!me_acme_client_drop_stale_directory(client, error_local)) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (!nonce_fetch(client, error))
			return NULL;
	}
	if (g_queue_is_empty(&client->nonces)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the CA did not hand out a nonce, which ACME needs */
				    _("The certificate authority sent no usable nonce; try again later or ask its operator."));
		return NULL;
	}
	return g_queue_pop_head(&client->nonces);
}

static void
problem_take_subproblems(MeAcmeProblem *problem, JsonObject *obj)
{
	JsonNode *node = json_object_get_member(obj, "subproblems");
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return;
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array) && i < ME_ACME_SUBPROBLEMS_MAX; i++) {
		JsonNode *item = json_array_get_element(array, i);
		JsonObject *sub_obj;
		JsonNode *ident;
		MeAcmeSubproblem *sub;

		if (!JSON_NODE_HOLDS_OBJECT(item))
			continue;
		sub_obj = json_node_get_object(item);
		sub = g_new0(MeAcmeSubproblem, 1);
		sub->type = g_strdup(me_json_get_string(sub_obj, "type", FALSE, NULL));
		sub->detail = g_strdup(me_json_get_string(sub_obj, "detail", FALSE, NULL));
		ident = json_object_get_member(sub_obj, "identifier");
		if (ident != NULL && JSON_NODE_HOLDS_OBJECT(ident)) {
			JsonObject *id_obj = json_node_get_object(ident);
			sub->identifier_type = g_strdup(me_json_get_string(id_obj, "type", FALSE, NULL));
			sub->identifier_value = g_strdup(me_json_get_string(id_obj, "value", FALSE, NULL));
		}
		g_ptr_array_add(problem->subproblems, sub);
	}
}

/**
 * me_acme_client_parse_problem:
 * @obj: a problem document or an `error` member of an order, authorization or challenge
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the problem, or %NULL if @obj has no valid `type`
 */
MeAcmeProblem *
me_acme_client_parse_problem(JsonObject *obj, GError **error)
{
	const gchar *type = me_json_get_string(obj, "type", TRUE, error);
	MeAcmeProblem *problem;
	JsonNode *status;

	if (type == NULL)
		return NULL;
	problem = me_acme_problem_new();
	problem->type = g_strdup(type);
	problem->detail = g_strdup(me_json_get_string(obj, "detail", FALSE, NULL));
	problem->instance = g_strdup(me_json_get_string(obj, "instance", FALSE, NULL));
	status = json_object_get_member(obj, "status");
	if (status != NULL && JSON_NODE_HOLDS_VALUE(status) && json_node_get_value_type(status) == G_TYPE_INT64)
		problem->status = (guint)CLAMP(json_node_get_int(status), 0, 999);
	problem->algorithms = me_json_get_strv(obj, "algorithms", 32, NULL);
	problem_take_subproblems(problem, obj);
	return problem;
}

/**
 * me_acme_client_check_response:
 * @client: a client
 * @response: a response from the CA
 * @error: (nullable): return location
 *
 * Takes the response's nonce into the pool and turns an error status into a #GError:
 * from the problem document when there is one, else from the status code.
 *
 * Returns: %TRUE for a 2xx response
 */
gboolean
me_acme_client_check_response(MeAcmeClient *client, MeHttpResponse *response, GError **error)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(MeAcmeProblem) problem = NULL;

	/* error responses carry fresh nonces too (RFC 8555 §6.5) */
	nonce_pool_add(client, response->replay_nonce);
	client->last_response_us = g_get_monotonic_time();
	if (response->status >= 200 && response->status < 300)
		return TRUE;
	if (g_strcmp0(response->content_type, "application/problem+json") == 0 ||
	    g_strcmp0(response->content_type, "application/json") == 0)
		root = me_json_parse_object(response->body, NULL);
	if (root != NULL)
		problem = me_acme_client_parse_problem(json_node_get_object(root), NULL);
	if (problem == NULL) {
		me_error_set_http_status(error, response->status, response->retry_after);
		return FALSE;
	}
	if (problem->status == 0)
		problem->status = response->status;
	problem->retry_after = response->retry_after;
	problem->links = g_new0(gchar *, response->links->len + 1);
	for (guint i = 0; i < response->links->len; i++)
		problem->links[i] = g_strdup(g_ptr_array_index(response->links, i));
	me_error_set_problem(error, problem);
	return FALSE;
}

static gchar *
jws_for(MeAcmeClient *client, const gchar *url, const gchar *payload, EVP_PKEY *jwk_key, GError **error)
{
	g_autofree gchar *nonce = nonce_take(client, error);
	if (nonce == NULL)
		return NULL;
	if (jwk_key != NULL)
		return me_jws_flattened(jwk_key, url, nonce, NULL, payload, error);
	return me_jws_flattened(client->account_key, url, nonce, client->account_url, payload, error);
}

static gboolean
post_precheck(MeAcmeClient *client, const gchar *url, EVP_PKEY *jwk_key, GError **error)
{
	if (!me_acme_client_url_is_valid(url)) {
		set_bad_url(error, "url");
		return FALSE;
	}
	if (jwk_key == NULL && (client->account_key == NULL || client->account_url == NULL)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: a request needs an ACME account that does not exist yet */
				    _("There is no ACME account for this certificate authority yet; create one first."));
		return FALSE;
	}
	return TRUE;
}

/**
 * me_acme_client_ensure_nonce:
 * @client: a client
 * @error: (nullable): return location
 *
 * Makes sure a nonce is at hand before a caller reads URLs from the directory: with a
 * cached directory, fetching the first nonce is what finds out that it is stale.
 *
 * Returns: %TRUE when the pool holds a nonce
 */
gboolean
me_acme_client_ensure_nonce(MeAcmeClient *client, GError **error)
{
	gchar *nonce;

	if (!g_queue_is_empty(&client->nonces))
		return TRUE;
	nonce = nonce_take(client, error);
	if (nonce == NULL)
		return FALSE;
	g_queue_push_head(&client->nonces, nonce);
	return TRUE;
}

/**
 * me_acme_client_post:
 * @client: a client
 * @url: the exact URL
 * @payload: (nullable): JSON payload, or %NULL for POST-as-GET
 * @jwk_key: (nullable): sign with this key and send it as `jwk` (newAccount, revocation
 *   by certificate key); %NULL signs with the account key and its `kid`
 * @accept: (nullable): the `Accept` header
 * @error: (nullable): return location
 *
 * One signed request, retried with the nonce the server sent when it says `badNonce`.
 *
 * Returns: (transfer full): a 2xx response, or %NULL with @error set
 */
MeHttpResponse *
me_acme_client_post(MeAcmeClient *client,
		    const gchar *url_in,
		    const gchar *payload,
		    EVP_PKEY *jwk_key,
		    const gchar *accept,
		    GError **error)
{
	/* a copy: fetching a nonce may replace the directory that @url_in points into */
	g_autofree gchar *url = g_strdup(url_in);

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!post_precheck(client, url, jwk_key, error))
		return NULL;
	for (guint attempt = 0;; attempt++) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(MeHttpResponse) response = NULL;
		g_autofree gchar *jws = jws_for(client, url, payload, jwk_key, error);

		if (jws == NULL)
			return NULL;
		response = me_http_request(client->http, "POST", url, ME_ACME_JOSE_JSON, jws, accept, error);
		if (response == NULL)
			return NULL;
		if (me_acme_client_check_response(client, response, &error_local))
			return g_steal_pointer(&response);
		if (!g_error_matches(error_local, ME_ERROR, ME_ERROR_BAD_NONCE) ||
		    attempt >= client->bad_nonce_retries) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		client->bad_nonce_count++;
		g_debug("badNonce from %s, retry %u", url, attempt + 1);
	}
}

/**
 * me_acme_client_wait:
 * @client: a client
 * @attempt: how many polls were already made (0 after the first)
 * @retry_after: the server's `Retry-After` in seconds, or -1
 * @deadline_us: the monotonic time by which the poll must end
 *
 * Sleeps as the polling policy says: the server's `Retry-After` (with a floor and a
 * cap) when it sent one, else a few milliseconds before the first re-poll and a short
 * doubling back-off after that; never past @deadline_us.  Every wait counts from the
 * arrival of the last response, as `Retry-After` does, so time the caller spent in
 * between (making a key and a CSR while the CA validates, say) is not waited again.
 */
void
me_acme_client_wait(MeAcmeClient *client, guint attempt, gint64 retry_after, gint64 deadline_us)
{
	gint64 wait_ms;
	gint64 until_us;

	if (retry_after >= 0) {
		wait_ms = CLAMP(retry_after * 1000, (gint64)client->poll.retry_after_min_ms,
				(gint64)client->poll.max_wait_ms);
	} else if (attempt == 0) {
		wait_ms = client->poll.first_poll_ms;
	} else {
		guint shift = MIN(attempt - 1, 20u);
		wait_ms = MIN((gint64)client->poll.first_backoff_ms << shift, (gint64)client->poll.max_wait_ms);
	}
	until_us = MIN(client->last_response_us + wait_ms * 1000, deadline_us);
	for (gint64 now = g_get_monotonic_time(); now < until_us; now = g_get_monotonic_time())
		g_usleep((gulong)(until_us - now));
}

/**
 * me_acme_account_parse:
 * @response: the CA's answer to a newAccount or account request
 * @error: (nullable): return location
 *
 * Reads an account resource (RFC 8555 §7.1.2) and its `Location`; internal to the ACME
 * client and its fuzz target (acme-private.h).
 *
 * Returns: (transfer full): the account, or %NULL with @error set
 */
MeAcmeAccount *
me_acme_account_parse(MeHttpResponse *response, GError **error)
{
	MeAcmeAccount *account = g_new0(MeAcmeAccount, 1);
	JsonObject *obj;

	account->url = g_strdup(response->location);
	account->created = response->status == 201;
	if (!me_acme_client_url_is_valid(account->url)) {
		me_acme_account_free(account);
		set_bad_url(error, "Location");
		return NULL;
	}
	/* the body is optional for an existing account (some CAs send none) */
	if (g_bytes_get_size(response->body) == 0) {
		account->contact = g_new0(gchar *, 1);
		return account;
	}
	account->json = me_json_parse_object(response->body, error);
	if (account->json == NULL) {
		me_acme_account_free(account);
		return NULL;
	}
	obj = json_node_get_object(account->json);
	account->status = g_strdup(me_json_get_string(obj, "status", FALSE, NULL));
	account->orders = g_strdup(me_json_get_string(obj, "orders", FALSE, NULL));
	account->contact = me_json_get_strv(obj, "contact", 16, NULL);
	if (account->contact == NULL)
		account->contact = g_new0(gchar *, 1);
	return account;
}

static gboolean
contacts_add(JsonBuilder *builder, const gchar *const *contacts, GError **error)
{
	json_builder_set_member_name(builder, "contact");
	json_builder_begin_array(builder);
	for (guint i = 0; contacts != NULL && contacts[i] != NULL; i++) {
		/* one addr-spec per mailto:, no hfields (RFC 8555 §7.3) */
		if (!g_str_has_prefix(contacts[i], "mailto:") || strpbrk(contacts[i], "?,\r\n ") != NULL) {
			g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: %s is a contact such as mailto:alice@example.com */
				    _("The contact %s is not a single mailto: address."), contacts[i]);
			return FALSE;
		}
		json_builder_add_string_value(builder, contacts[i]);
	}
	json_builder_end_array(builder);
	return TRUE;
}

/* agreed by the person or the policy, or by the person to the very terms the CA names now */
static gboolean
account_terms_agreed(const MeAcmeAccountRequest *req, const MeAcmeDirectory *dir)
{
	return req->terms_agreed || (req->agreed_terms != NULL && dir->terms_of_service != NULL &&
				     g_strcmp0(req->agreed_terms, dir->terms_of_service) == 0);
}

static gchar *
account_payload(MeAcmeClient *client, const MeAcmeAccountRequest *req, const MeAcmeDirectory *dir, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	if (req->only_return_existing) {
		json_builder_set_member_name(builder, "onlyReturnExisting");
		json_builder_add_boolean_value(builder, TRUE);
	} else {
		json_builder_set_member_name(builder, "termsOfServiceAgreed");
		json_builder_add_boolean_value(builder, account_terms_agreed(req, dir));
		if (req->contacts != NULL && !contacts_add(builder, req->contacts, error))
			return NULL;
	}
	if (req->eab_kid != NULL && !req->only_return_existing) {
		g_autofree gchar *eab = me_jws_eab(req->eab_kid, req->eab_mac_key, req->eab_alg, dir->new_account,
						   client->account_key, error);
		JsonNode *node = eab != NULL ? json_from_string(eab, error) : NULL;
		if (node == NULL)
			return NULL;
		json_builder_set_member_name(builder, "externalAccountBinding");
		json_builder_add_value(builder, node);
	}
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	return json_to_string(root, FALSE);
}

static gboolean
account_request_check(MeAcmeClient *client, const MeAcmeAccountRequest *req, const MeAcmeDirectory *dir, GError **error)
{
	if (client->account_key == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: internal: no key was given for the ACME account */
				    _("No account key was given."));
		return FALSE;
	}
	if (req->eab_kid != NULL && req->eab_mac_key == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    _("The external account key is empty; enter the key the certificate authority gave you."));
		return FALSE;
	}
	/* the person agreed to terms the CA has replaced since: their consent does not carry over */
	if (!req->only_return_existing && req->agreed_terms != NULL && dir->terms_of_service != NULL &&
	    !account_terms_agreed(req, dir)) {
		g_autofree gchar *terms = g_strescape(dir->terms_of_service, NULL);
		g_set_error(error, ME_ERROR, ME_ERROR_USER_ACTION_REQUIRED,
			    /* TRANSLATORS: the CA changed its terms of service after the person agreed to them; %s is the URL of the new terms */
			    _("The certificate authority has new terms of service at %s; read them and agree to them again before you request a certificate."),
			    terms);
		return FALSE;
	}
	if (dir->external_account_required && req->eab_kid == NULL && !req->only_return_existing) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED,
				    /* TRANSLATORS: EAB credentials are given out by the CA itself */
				    _("This certificate authority requires an external account binding; enter the key ID and key it gave you."));
		return FALSE;
	}
	return TRUE;
}

/* the CA's own words ("JWS verification error") do not tell a person what to fix */
static void
eab_explain(GError *error)
{
	g_free(error->message);
	/* TRANSLATORS: EAB = the key ID and MAC key the CA gave out of band */
	error->message = g_strdup(_("The certificate authority did not accept the external account binding; check the key ID and key it gave you."));
}

/**
 * me_acme_client_new_account:
 * @client: a client with an account key
 * @request: what to ask for
 * @error: (nullable): return location
 *
 * Creates the account for the client's key, or finds the one that exists (200; the
 * request's fields are then ignored by the CA).  On success the client uses the account
 * URL as its `kid` from now on.
 *
 * Returns: (transfer full): the account, or %NULL with @error set
 */
MeAcmeAccount *
me_acme_client_new_account(MeAcmeClient *client, const MeAcmeAccountRequest *request, GError **error)
{
	const MeAcmeDirectory *dir;
	g_autofree gchar *payload = NULL;
	g_autoptr(MeHttpResponse) response = NULL;
	g_autoptr(GError) error_local = NULL;
	MeAcmeAccount *account;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	dir = me_acme_client_get_fresh_directory(client, error);
	if (dir == NULL || !account_request_check(client, request, dir, error))
		return NULL;
	payload = account_payload(client, request, dir, error);
	if (payload == NULL)
		return NULL;
	response = me_acme_client_post(client, dir->new_account, payload, client->account_key, "application/json", &error_local);
	if (response == NULL) {
		if (request->eab_kid != NULL && g_error_matches(error_local, ME_ERROR, ME_ERROR_UNAUTHORIZED))
			eab_explain(error_local);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	account = me_acme_account_parse(response, error);
	if (account != NULL)
		me_acme_client_set_account_url(client, account->url);
	return account;
}

static MeAcmeAccount *
account_post(MeAcmeClient *client, const gchar *payload, GError **error)
{
	g_autoptr(MeHttpResponse) response =
	    me_acme_client_post(client, client->account_url, payload, NULL, "application/json", error);
	if (response == NULL)
		return NULL;
	/* the account URL is not echoed in Location here */
	if (response->location == NULL)
		response->location = g_strdup(client->account_url);
	return me_acme_account_parse(response, error);
}

/**
 * me_acme_client_update_account:
 * @client: a client with an account
 * @contacts: (nullable): the new `mailto:` contacts (none removes them all)
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the updated account, or %NULL with @error set
 */
MeAcmeAccount *
me_acme_client_update_account(MeAcmeClient *client, const gchar *const *contacts, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *payload = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	json_builder_begin_object(builder);
	if (!contacts_add(builder, contacts, error))
		return NULL;
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	payload = json_to_string(root, FALSE);
	return account_post(client, payload, error);
}

/**
 * me_acme_client_deactivate_account:
 * @client: a client with an account
 * @error: (nullable): return location
 *
 * Deactivates the account for good (RFC 8555 §7.3.6).
 *
 * Returns: %TRUE if the CA confirmed it
 */
gboolean
me_acme_client_deactivate_account(MeAcmeClient *client, GError **error)
{
	g_autoptr(MeAcmeAccount) account = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	account = account_post(client, "{\"status\":\"deactivated\"}", error);
	if (account == NULL)
		return FALSE;
	if (account->status != NULL && g_strcmp0(account->status, "deactivated") != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: %s is an account status such as "valid" */
			    _("The certificate authority did not deactivate the account (it is still %s)."), account->status);
		return FALSE;
	}
	return TRUE;
}

static gchar *
key_change_inner(MeAcmeClient *client, EVP_PKEY *new_key, const gchar *url, GError **error)
{
	g_autofree gchar *old_jwk = me_jwk_to_canonical(client->account_key, error);
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *payload = NULL;

	if (old_jwk == NULL)
		return NULL;
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "account");
	json_builder_add_string_value(builder, client->account_url);
	json_builder_set_member_name(builder, "oldKey");
	json_builder_add_value(builder, json_from_string(old_jwk, NULL));
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	payload = json_to_string(root, FALSE);
	/* the inner JWS names the new key as jwk and carries no nonce (RFC 8555 §7.3.5) */
	return me_jws_flattened(new_key, url, NULL, NULL, payload, error);
}

/**
 * me_acme_client_change_key:
 * @client: a client with an account
 * @new_key: the account's next key (never one used before)
 * @error: (nullable): return location
 *
 * Rolls the account over to @new_key; on success the client signs with it from now on.
 *
 * Returns: %TRUE on success
 */
gboolean
me_acme_client_change_key(MeAcmeClient *client, EVP_PKEY *new_key, GError **error)
{
	const MeAcmeDirectory *dir;
	g_autofree gchar *inner = NULL;
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	dir = me_acme_client_get_fresh_directory(client, error);
	if (dir == NULL)
		return FALSE;
	if (dir->key_change == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the CA has no key rollover endpoint */
				    _("This certificate authority does not support changing the account key."));
		return FALSE;
	}
	if (client->account_url == NULL || client->account_key == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    _("There is no ACME account for this certificate authority yet; create one first."));
		return FALSE;
	}
	inner = key_change_inner(client, new_key, dir->key_change, error);
	if (inner == NULL)
		return FALSE;
	response = me_acme_client_post(client, dir->key_change, inner, NULL, NULL, error);
	if (response == NULL)
		return FALSE;
	me_acme_client_set_account_key(client, new_key);
	return TRUE;
}
