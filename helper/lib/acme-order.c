/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeAcme"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "acme-client.h"
#include "acme-private.h"
#include "autocleanups.h"
#include "encoding.h"
#include "json-util.h"

#define ME_ACME_IDENTIFIERS_MAX	  100
#define ME_ACME_AUTHZ_MAX	  100
#define ME_ACME_CHALLENGES_MAX	  16
#define ME_ACME_CHAIN_CERTS_MAX	  10
#define ME_ACME_PEM_CHAIN	  "application/pem-certificate-chain"

static const gchar *const order_states[] = {"pending", "ready", "processing", "valid", "invalid", NULL};
static const gchar *const authz_states[] = {"pending", "valid", "invalid", "deactivated", "expired", "revoked", NULL};
static const gchar *const challenge_states[] = {"pending", "processing", "valid", "invalid", NULL};

void
me_acme_identifier_clear(MeAcmeIdentifier *id)
{
	g_clear_pointer(&id->type, g_free);
	g_clear_pointer(&id->value, g_free);
}

static void
identifier_free(MeAcmeIdentifier *id)
{
	me_acme_identifier_clear(id);
	g_free(id);
}

void
me_acme_challenge_free(MeAcmeChallenge *challenge)
{
	if (challenge == NULL)
		return;
	g_free(challenge->url);
	g_free(challenge->type);
	g_free(challenge->status);
	g_free(challenge->token);
	me_acme_problem_free(challenge->error);
	if (challenge->json != NULL)
		json_node_unref(challenge->json);
	g_free(challenge);
}

void
me_acme_authz_free(MeAcmeAuthz *authz)
{
	if (authz == NULL)
		return;
	g_free(authz->url);
	g_free(authz->status);
	me_acme_identifier_clear(&authz->identifier);
	g_ptr_array_unref(authz->challenges);
	if (authz->json != NULL)
		json_node_unref(authz->json);
	g_free(authz);
}

void
me_acme_order_free(MeAcmeOrder *order)
{
	if (order == NULL)
		return;
	g_free(order->url);
	g_free(order->status);
	g_ptr_array_unref(order->identifiers);
	g_strfreev(order->authorizations);
	g_free(order->finalize);
	g_free(order->certificate);
	g_free(order->replaces);
	me_acme_problem_free(order->error);
	if (order->json != NULL)
		json_node_unref(order->json);
	g_free(order);
}

void
me_acme_chain_free(MeAcmeChain *chain)
{
	if (chain == NULL)
		return;
	g_free(chain->pem);
	g_ptr_array_unref(chain->certs);
	g_strfreev(chain->alternates);
	g_free(chain);
}

void
me_acme_renewal_info_free(MeAcmeRenewalInfo *info)
{
	if (info == NULL)
		return;
	g_free(info->explanation_url);
	g_free(info);
}

/**
 * me_acme_authz_find_challenge:
 * @authz: an authorization
 * @type: a challenge type, e.g. `email-reply-00`
 *
 * Returns: (transfer none) (nullable): the first challenge of that type
 */
const MeAcmeChallenge *
me_acme_authz_find_challenge(const MeAcmeAuthz *authz, const gchar *type)
{
	for (guint i = 0; i < authz->challenges->len; i++) {
		const MeAcmeChallenge *challenge = g_ptr_array_index(authz->challenges, i);
		if (g_strcmp0(challenge->type, type) == 0)
			return challenge;
	}
	return NULL;
}

/**
 * me_acme_challenge_get_member:
 * @challenge: a challenge
 * @member: a type-specific string member, e.g. `from` for `email-reply-00`
 *
 * Returns: (transfer none) (nullable): the member's bounded string value
 */
const gchar *
me_acme_challenge_get_member(const MeAcmeChallenge *challenge, const gchar *member)
{
	return me_json_get_string(json_node_get_object(challenge->json), member, FALSE, NULL);
}

static gboolean
take_state(JsonObject *obj, const gchar *const *allowed, gchar **out, GError **error)
{
	const gchar *status = me_json_get_string(obj, "status", TRUE, error);
	if (status == NULL)
		return FALSE;
	if (!g_strv_contains(allowed, status)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: %s is a state name the CA sent that ACME does not define */
			    _("The certificate authority sent an unknown status \"%s\"; try again later or ask its operator."),
			    status);
		return FALSE;
	}
	*out = g_strdup(status);
	return TRUE;
}

static gboolean
take_url(JsonObject *obj, const gchar *member, gboolean required, gchar **out, GError **error)
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
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent an invalid address for \"%s\"; try again later or ask its operator."),
			    member);
		return FALSE;
	}
	*out = g_strdup(url);
	return TRUE;
}

static MeAcmeProblem *
take_problem(JsonObject *obj)
{
	JsonNode *node = json_object_get_member(obj, "error");
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	return me_acme_client_parse_problem(json_node_get_object(node), NULL);
}

static gboolean
identifier_parse(JsonNode *node, MeAcmeIdentifier *id, GError **error)
{
	JsonObject *obj;
	const gchar *type;
	const gchar *value;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
			    "identifier");
		return FALSE;
	}
	obj = json_node_get_object(node);
	type = me_json_get_string(obj, "type", TRUE, error);
	value = type != NULL ? me_json_get_string(obj, "value", TRUE, error) : NULL;
	if (value == NULL)
		return FALSE;
	id->type = g_strdup(type);
	id->value = g_strdup(value);
	return TRUE;
}

/**
 * me_acme_challenge_parse:
 * @node: a challenge object (RFC 8555 §7.1.5)
 * @error: (nullable): return location
 *
 * Internal to the ACME client and its fuzz target (acme-private.h).
 *
 * Returns: (transfer full): the challenge, or %NULL with @error set
 */
MeAcmeChallenge *
me_acme_challenge_parse(JsonNode *node, GError **error)
{
	g_autoptr(MeAcmeChallenge) challenge = g_new0(MeAcmeChallenge, 1);
	JsonObject *obj;
	const gchar *type;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
			    "challenges");
		return NULL;
	}
	challenge->json = json_node_ref(node);
	obj = json_node_get_object(node);
	type = me_json_get_string(obj, "type", TRUE, error);
	if (type == NULL || !take_state(obj, challenge_states, &challenge->status, error) ||
	    !take_url(obj, "url", TRUE, &challenge->url, error))
		return NULL;
	challenge->type = g_strdup(type);
	challenge->token = g_strdup(me_json_get_string(obj, "token", FALSE, NULL));
	challenge->error = take_problem(obj);
	return g_steal_pointer(&challenge);
}

static gboolean
authz_take_challenges(MeAcmeAuthz *authz, JsonObject *obj, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "challenges");
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node) ||
	    json_array_get_length(json_node_get_array(node)) > ME_ACME_CHALLENGES_MAX) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
			    "challenges");
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		MeAcmeChallenge *challenge = me_acme_challenge_parse(json_array_get_element(array, i), error);
		if (challenge == NULL)
			return FALSE;
		g_ptr_array_add(authz->challenges, challenge);
	}
	return TRUE;
}

/**
 * me_acme_authz_parse:
 * @response: the CA's answer with an authorization object (RFC 8555 §7.1.4)
 * @url: the authorization's URL
 * @error: (nullable): return location
 *
 * Internal to the ACME client and its fuzz target (acme-private.h).
 *
 * Returns: (transfer full): the authorization, or %NULL with @error set
 */
MeAcmeAuthz *
me_acme_authz_parse(MeHttpResponse *response, const gchar *url, GError **error)
{
	g_autoptr(MeAcmeAuthz) authz = g_new0(MeAcmeAuthz, 1);
	JsonObject *obj;
	JsonNode *wildcard;

	authz->url = g_strdup(url);
	authz->retry_after = response->retry_after;
	authz->challenges = g_ptr_array_new_with_free_func((GDestroyNotify)me_acme_challenge_free);
	authz->json = me_json_parse_object(response->body, error);
	if (authz->json == NULL)
		return NULL;
	obj = json_node_get_object(authz->json);
	if (!take_state(obj, authz_states, &authz->status, error) ||
	    !identifier_parse(json_object_get_member(obj, "identifier"), &authz->identifier, error) ||
	    !me_json_get_time(obj, "expires", &authz->expires, error) || !authz_take_challenges(authz, obj, error))
		return NULL;
	wildcard = json_object_get_member(obj, "wildcard");
	authz->wildcard = wildcard != NULL && JSON_NODE_HOLDS_VALUE(wildcard) &&
			  json_node_get_value_type(wildcard) == G_TYPE_BOOLEAN && json_node_get_boolean(wildcard);
	return g_steal_pointer(&authz);
}

static gboolean
order_take_identifiers(MeAcmeOrder *order, JsonObject *obj, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "identifiers");
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node) ||
	    json_array_get_length(json_node_get_array(node)) > ME_ACME_IDENTIFIERS_MAX) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
			    "identifiers");
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		MeAcmeIdentifier *id = g_new0(MeAcmeIdentifier, 1);
		g_ptr_array_add(order->identifiers, id);
		if (!identifier_parse(json_array_get_element(array, i), id, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
order_take_authorizations(MeAcmeOrder *order, JsonObject *obj, GError **error)
{
	order->authorizations = me_json_get_strv(obj, "authorizations", ME_ACME_AUTHZ_MAX, error);
	if (order->authorizations == NULL)
		return FALSE;
	for (guint i = 0; order->authorizations[i] != NULL; i++) {
		if (!me_acme_client_url_is_valid(order->authorizations[i])) {
			g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    _("The certificate authority sent an invalid address for \"%s\"; try again later or ask its operator."),
				    "authorizations");
			return FALSE;
		}
	}
	return TRUE;
}

/**
 * me_acme_order_parse:
 * @response: the CA's answer with an order object (RFC 8555 §7.1.3)
 * @url: the order's URL
 * @error: (nullable): return location
 *
 * Internal to the ACME client and its fuzz target (acme-private.h).
 *
 * Returns: (transfer full): the order, or %NULL with @error set
 */
MeAcmeOrder *
me_acme_order_parse(MeHttpResponse *response, const gchar *url, GError **error)
{
	g_autoptr(MeAcmeOrder) order = g_new0(MeAcmeOrder, 1);
	JsonObject *obj;

	order->url = g_strdup(url);
	order->retry_after = response->retry_after;
	order->identifiers = g_ptr_array_new_with_free_func((GDestroyNotify)identifier_free);
	order->json = me_json_parse_object(response->body, error);
	if (order->json == NULL)
		return NULL;
	obj = json_node_get_object(order->json);
	if (!take_state(obj, order_states, &order->status, error) || !order_take_identifiers(order, obj, error) ||
	    !order_take_authorizations(order, obj, error) || !take_url(obj, "finalize", TRUE, &order->finalize, error) ||
	    !take_url(obj, "certificate", FALSE, &order->certificate, error) ||
	    !me_json_get_time(obj, "expires", &order->expires, error))
		return NULL;
	order->replaces = g_strdup(me_json_get_string(obj, "replaces", FALSE, NULL));
	order->error = take_problem(obj);
	return g_steal_pointer(&order);
}

static gchar *
new_order_payload(const MeAcmeIdentifier *ids, guint n_ids, const gchar *replaces)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "identifiers");
	json_builder_begin_array(builder);
	for (guint i = 0; i < n_ids; i++) {
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "type");
		json_builder_add_string_value(builder, ids[i].type);
		json_builder_set_member_name(builder, "value");
		json_builder_add_string_value(builder, ids[i].value);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	if (replaces != NULL) {
		json_builder_set_member_name(builder, "replaces");
		json_builder_add_string_value(builder, replaces);
	}
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	return json_to_string(root, FALSE);
}

/**
 * me_acme_order_new:
 * @client: a client with an account
 * @identifiers: (array length=n_identifiers): what the certificate is for; type `email`
 *   for mailboxes (RFC 8823), `dns` for the conformance tests against Pebble
 * @n_identifiers: their number
 * @replaces: (nullable): the RFC 9773 certID of the certificate this one renews; only
 *   sent when the CA offers renewal information
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the new order, or %NULL with @error set
 */
MeAcmeOrder *
me_acme_order_new(MeAcmeClient *client,
			 const MeAcmeIdentifier *identifiers,
			 guint n_identifiers,
			 const gchar *replaces,
			 GError **error)
{
	const MeAcmeDirectory *dir;
	g_autofree gchar *payload = NULL;
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (n_identifiers == 0 || n_identifiers > ME_ACME_IDENTIFIERS_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: internal: an order must name what it is for */
				    _("An order needs at least one identifier."));
		return NULL;
	}
	if (!me_acme_client_ensure_nonce(client, error))
		return NULL;
	for (guint attempt = 0; response == NULL; attempt++) {
		g_autoptr(GError) error_local = NULL;
		dir = me_acme_client_get_directory(client, error);
		if (dir == NULL)
			return NULL;
		g_free(payload);
		payload = new_order_payload(identifiers, n_identifiers, dir->renewal_info != NULL ? replaces : NULL);
		response = me_acme_client_post(client, dir->new_order, payload, NULL, "application/json", &error_local);
		/* one retry, when a cached directory turned out stale */
		if (response == NULL && (attempt > 0 || !me_acme_client_drop_stale_directory(client, error_local))) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
	}
	if (!me_acme_client_url_is_valid(response->location)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent an invalid address for \"%s\"; try again later or ask its operator."),
			    "Location");
		return NULL;
	}
	return me_acme_order_parse(response, response->location, error);
}

/**
 * me_acme_order_get:
 * @client: a client with an account
 * @url: the order URL
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the order as it is now, or %NULL with @error set
 */
MeAcmeOrder *
me_acme_order_get(MeAcmeClient *client, const gchar *url, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	response = me_acme_client_post(client, url, NULL, NULL, "application/json", error);
	if (response == NULL)
		return NULL;
	return me_acme_order_parse(response, url, error);
}

/**
 * me_acme_authz_get:
 * @client: a client with an account
 * @url: the authorization URL
 * @error: (nullable): return location
 *
 * For `email-reply-00` this fetch is what makes the CA send its challenge mail.
 *
 * Returns: (transfer full): the authorization, or %NULL with @error set
 */
MeAcmeAuthz *
me_acme_authz_get(MeAcmeClient *client, const gchar *url, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	response = me_acme_client_post(client, url, NULL, NULL, "application/json", error);
	if (response == NULL)
		return NULL;
	return me_acme_authz_parse(response, url, error);
}

/**
 * me_acme_challenge_respond:
 * @client: a client with an account
 * @url: the challenge URL
 * @error: (nullable): return location
 *
 * Tells the CA the challenge is ready to be validated (payload `{}`).
 *
 * Returns: (transfer full): the challenge as the CA now sees it, or %NULL with @error set
 */
MeAcmeChallenge *
me_acme_challenge_respond(MeAcmeClient *client, const gchar *url, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;
	g_autoptr(JsonNode) root = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	response = me_acme_client_post(client, url, "{}", NULL, "application/json", error);
	if (response == NULL)
		return NULL;
	root = me_json_parse_object(response->body, error);
	if (root == NULL)
		return NULL;
	return me_acme_challenge_parse(root, error);
}

static gint64
poll_deadline(MeAcmeClient *client, gint64 expires_unix)
{
	MeAcmePollPolicy policy;
	gint64 deadline;

	me_acme_client_get_poll_policy(client, &policy);
	deadline = g_get_monotonic_time() + (gint64)policy.timeout_ms * 1000;
	if (expires_unix > 0) {
		gint64 left_us = (expires_unix - g_get_real_time() / G_USEC_PER_SEC) * G_USEC_PER_SEC;
		deadline = MIN(deadline, g_get_monotonic_time() + MAX(left_us, 0));
	}
	return deadline;
}

static void
set_poll_timeout(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_TIMED_OUT,
			    /* TRANSLATORS: the CA kept saying "not yet" */
			    _("The certificate authority has not finished yet; try again later to continue where this stopped."));
}

static void
set_invalid_state(GError **error, const gchar *what, const MeAcmeProblem *problem)
{
	if (problem != NULL) {
		me_error_set_problem(error, problem);
		return;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
		    /* TRANSLATORS: %s is "order" or "authorization"; the CA gave up on it */
		    _("The certificate authority marked the %s invalid; start a new request."), what);
}

static const MeAcmeProblem *
authz_problem(const MeAcmeAuthz *authz)
{
	for (guint i = 0; i < authz->challenges->len; i++) {
		const MeAcmeChallenge *challenge = g_ptr_array_index(authz->challenges, i);
		if (challenge->error != NULL)
			return challenge->error;
	}
	return NULL;
}

/**
 * me_acme_authz_poll:
 * @client: a client with an account
 * @url: the authorization URL
 * @error: (nullable): return location
 *
 * Polls until the authorization leaves `pending`, as the polling policy says (see
 * me_acme_client_wait()), never past the poll timeout or the authorization's expiry.
 * Call it right after me_acme_challenge_respond().
 *
 * Returns: (transfer full): the valid authorization, or %NULL with @error set (the
 * challenge's own problem when the CA attached one, e.g. `incorrectResponse`)
 */
MeAcmeAuthz *
me_acme_authz_poll(MeAcmeClient *client, const gchar *url, GError **error)
{
	g_autoptr(MeAcmeAuthz) authz = NULL;
	gint64 deadline = poll_deadline(client, 0);
	gint64 retry_after = -1;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	for (guint attempt = 0;; attempt++) {
		me_acme_client_wait(client, attempt, retry_after, deadline);
		if (attempt > 0 && g_get_monotonic_time() >= deadline) {
			set_poll_timeout(error);
			return NULL;
		}
		g_clear_pointer(&authz, me_acme_authz_free);
		authz = me_acme_authz_get(client, url, error);
		if (authz == NULL)
			return NULL;
		if (g_strcmp0(authz->status, "valid") == 0)
			return g_steal_pointer(&authz);
		if (g_strcmp0(authz->status, "pending") != 0) {
			set_invalid_state(error, _("authorization"), authz_problem(authz));
			return NULL;
		}
		retry_after = authz->retry_after;
		/* the authorization cannot outlive its own expiry */
		if (authz->expires > 0)
			deadline = MIN(deadline, poll_deadline(client, authz->expires));
	}
}

static gboolean
order_is_waiting(const MeAcmeOrder *order)
{
	return g_strcmp0(order->status, "processing") == 0 || g_strcmp0(order->status, "pending") == 0;
}

static MeAcmeOrder *
order_poll_from(MeAcmeClient *client, MeAcmeOrder *current, GError **error)
{
	g_autoptr(MeAcmeOrder) order = current;
	g_autofree gchar *url = g_strdup(current->url);
	gint64 deadline = poll_deadline(client, current->expires);

	for (guint attempt = 0; order_is_waiting(order); attempt++) {
		me_acme_client_wait(client, attempt, order->retry_after, deadline);
		if (g_get_monotonic_time() >= deadline) {
			set_poll_timeout(error);
			return NULL;
		}
		g_clear_pointer(&order, me_acme_order_free);
		order = me_acme_order_get(client, url, error);
		if (order == NULL)
			return NULL;
	}
	if (g_strcmp0(order->status, "invalid") == 0) {
		set_invalid_state(error, _("order"), order->error);
		return NULL;
	}
	return g_steal_pointer(&order);
}

/**
 * me_acme_order_poll:
 * @client: a client with an account
 * @url: the order URL
 * @error: (nullable): return location
 *
 * Polls until the order is neither `pending` nor `processing`.
 *
 * Returns: (transfer full): the order (`ready` or `valid`), or %NULL with @error set
 */
MeAcmeOrder *
me_acme_order_poll(MeAcmeClient *client, const gchar *url, GError **error)
{
	MeAcmeOrder *order;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	order = me_acme_order_get(client, url, error);
	if (order == NULL)
		return NULL;
	return order_poll_from(client, order, error);
}

/**
 * me_acme_order_finalize:
 * @client: a client with an account
 * @order: a `ready` order (a `valid` one is returned again, so a resumed enrollment
 *   does not finalize twice)
 * @csr_der: the PKCS#10 request, DER
 * @error: (nullable): return location
 *
 * Sends the CSR and polls until the certificate is issued.  `badCSR` leaves the order
 * `ready`, so the caller may retry with another request.
 *
 * Returns: (transfer full): the `valid` order with its certificate URL, or %NULL
 */
MeAcmeOrder *
me_acme_order_finalize(MeAcmeClient *client, const MeAcmeOrder *order, GBytes *csr_der, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *csr = NULL;
	g_autofree gchar *payload = NULL;
	MeAcmeOrder *result;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (g_strcmp0(order->status, "valid") == 0 && order->certificate != NULL)
		return me_acme_order_get(client, order->url, error);
	csr = me_b64u_encode_bytes(csr_der);
	payload = g_strdup_printf("{\"csr\":\"%s\"}", csr);
	response = me_acme_client_post(client, order->finalize, payload, NULL, "application/json", error);
	if (response == NULL)
		return NULL;
	result = me_acme_order_parse(response, order->url, error);
	if (result == NULL)
		return NULL;
	result = order_poll_from(client, result, error);
	if (result != NULL && (g_strcmp0(result->status, "valid") != 0 || result->certificate == NULL)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the CA says the order is done but gives no certificate */
				    _("The certificate authority finished the order without a certificate; ask its operator."));
		me_acme_order_free(result);
		return NULL;
	}
	return result;
}

static gboolean
pem_labels_check(const gchar *text, gsize len, guint *n_blocks, GError **error)
{
	static const gchar begin[] = "-----BEGIN ";
	const gchar *p = text;
	const gchar *end = text + len;

	*n_blocks = 0;
	while ((p = g_strstr_len(p, end - p, begin)) != NULL) {
		const gchar *label = p + strlen(begin);
		const gchar *label_end = g_strstr_len(label, end - label, "-----");
		/* RFC 8555 §11.4: anything but a certificate (a key, above all) is an attack */
		if (label_end == NULL || label_end - label != 11 || strncmp(label, "CERTIFICATE", 11) != 0) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: the downloaded chain holds e.g. a private key */
					    _("The certificate authority sent a chain with something other than certificates in it; it was refused for safety."));
			return FALSE;
		}
		(*n_blocks)++;
		p = label_end;
	}
	return TRUE;
}

/**
 * me_acme_chain_parse:
 * @pem: an `application/pem-certificate-chain` body
 * @error: (nullable): return location
 *
 * Accepts only PEM `CERTIFICATE` blocks, every one of which must parse.
 *
 * Returns: (transfer full): the chain, end-entity first, or %NULL with @error set
 */
MeAcmeChain *
me_acme_chain_parse(GBytes *pem, GError **error)
{
	gsize len = 0;
	const gchar *text = g_bytes_get_data(pem, &len);
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autoptr(BIO) bio = NULL;
	guint n_blocks = 0;
	X509 *cert;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (len == 0 || len > G_MAXINT || memchr(text, '\0', len) != NULL || !pem_labels_check(text, len, &n_blocks, error)) {
		if (error != NULL && *error == NULL)
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: the downloaded certificate chain is unreadable */
					    _("The certificate authority sent an unreadable certificate chain; try again later or ask its operator."));
		return NULL;
	}
	chain = g_new0(MeAcmeChain, 1);
	chain->certs = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	chain->pem = g_strndup(text, len);
	bio = BIO_new_mem_buf(text, (int)len);
	while (chain->certs->len <= ME_ACME_CHAIN_CERTS_MAX && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		g_ptr_array_add(chain->certs, cert);
	ERR_clear_error();
	if (n_blocks == 0 || chain->certs->len != n_blocks || n_blocks > ME_ACME_CHAIN_CERTS_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    _("The certificate authority sent an unreadable certificate chain; try again later or ask its operator."));
		return NULL;
	}
	chain->alternates = g_new0(gchar *, 1);
	return g_steal_pointer(&chain);
}

/**
 * me_acme_order_download:
 * @client: a client with an account
 * @url: the certificate URL of a valid order
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the checked chain with the URLs of alternate chains, or %NULL
 */
MeAcmeChain *
me_acme_order_download(MeAcmeClient *client, const gchar *url, GError **error)
{
	g_autoptr(MeHttpResponse) response = NULL;
	MeAcmeChain *chain;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	response = me_acme_client_post(client, url, NULL, NULL, ME_ACME_PEM_CHAIN, error);
	if (response == NULL)
		return NULL;
	chain = me_acme_chain_parse(response->body, error);
	if (chain == NULL)
		return NULL;
	g_strfreev(chain->alternates);
	chain->alternates = me_http_response_find_links(response, "alternate");
	return chain;
}

/**
 * me_acme_cert_revoke:
 * @client: a client
 * @cert_der: the certificate, DER
 * @reason: an RFC 5280 reason code, or -1 to leave it out
 * @cert_key: (nullable): sign with the certificate's own key (no account needed);
 *   %NULL signs with the account key
 * @error: (nullable): return location
 *
 * Returns: %TRUE if the CA revoked the certificate
 */
gboolean
me_acme_cert_revoke(MeAcmeClient *client, GBytes *cert_der, gint reason, EVP_PKEY *cert_key, GError **error)
{
	const MeAcmeDirectory *dir;
	g_autofree gchar *cert = NULL;
	g_autofree gchar *payload = NULL;
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	dir = me_acme_client_get_fresh_directory(client, error);
	if (dir == NULL)
		return FALSE;
	if (dir->revoke_cert == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the CA offers no way to revoke over ACME */
				    _("This certificate authority does not support revocation over ACME; ask its operator."));
		return FALSE;
	}
	cert = me_b64u_encode_bytes(cert_der);
	if (reason >= 0)
		payload = g_strdup_printf("{\"certificate\":\"%s\",\"reason\":%d}", cert, reason);
	else
		payload = g_strdup_printf("{\"certificate\":\"%s\"}", cert);
	response = me_acme_client_post(client, dir->revoke_cert, payload, cert_key, NULL, error);
	return response != NULL;
}

static gchar *
serial_b64u(X509 *cert)
{
	g_autofree guchar *der = NULL;
	guchar *p;
	gint len = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(cert), NULL);
	gint off;

	if (len < 3)
		return NULL;
	der = g_malloc(len);
	p = der;
	i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(cert), &p);
	/* skip tag and length: RFC 9773 wants the content octets, leading zero kept */
	off = (der[1] & 0x80) ? 2 + (der[1] & 0x7f) : 2;
	if (off >= len)
		return NULL;
	return me_b64u_encode(der + off, len - off);
}

/**
 * me_acme_cert_id:
 * @cert: an issued certificate
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the RFC 9773 certID, `b64u(AKI keyIdentifier).b64u(serial)`
 */
gchar *
me_acme_cert_id(X509 *cert, GError **error)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(cert);
	g_autofree gchar *aki_b64 = NULL;
	g_autofree gchar *serial = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	serial = serial_b64u(cert);
	if (aki == NULL || serial == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: ARI = ACME renewal information (RFC 9773) */
				    _("The certificate has no authority key identifier, so its renewal window cannot be asked for."));
		return NULL;
	}
	aki_b64 = me_b64u_encode(ASN1_STRING_get0_data(aki), ASN1_STRING_length(aki));
	return g_strdup_printf("%s.%s", aki_b64, serial);
}

/**
 * me_acme_renewal_info_parse:
 * @response: the CA's answer from its renewalInfo endpoint (RFC 9773 §4.2)
 * @error: (nullable): return location
 *
 * Internal to the ACME client and its fuzz target (acme-private.h).
 *
 * Returns: (transfer full): the suggested window, or %NULL with @error set
 */
MeAcmeRenewalInfo *
me_acme_renewal_info_parse(MeHttpResponse *response, GError **error)
{
	g_autoptr(JsonNode) root = me_json_parse_object(response->body, error);
	g_autoptr(MeAcmeRenewalInfo) info = NULL;
	JsonObject *obj;
	JsonNode *window;

	if (root == NULL)
		return NULL;
	obj = json_node_get_object(root);
	window = json_object_get_member(obj, "suggestedWindow");
	info = g_new0(MeAcmeRenewalInfo, 1);
	info->retry_after = response->retry_after;
	info->explanation_url = g_strdup(me_json_get_string(obj, "explanationURL", FALSE, NULL));
	if (window == NULL || !JSON_NODE_HOLDS_OBJECT(window) ||
	    !me_json_get_time(json_node_get_object(window), "start", &info->start, NULL) ||
	    !me_json_get_time(json_node_get_object(window), "end", &info->end, NULL) || info->start == 0 ||
	    info->end <= info->start) {
		/* RFC 9773 §4.2: a window that ends before it starts counts as a failed fetch */
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    _("The certificate authority sent a malformed answer (field \"%s\"); try again later or ask its operator."),
			    "suggestedWindow");
		return NULL;
	}
	return g_steal_pointer(&info);
}

/**
 * me_acme_renewal_info_get:
 * @client: a client
 * @cert: the certificate to ask about
 * @error: (nullable): return location
 *
 * Asks the CA's ARI endpoint (an unauthenticated GET, RFC 9773 §4.1) when to renew.
 *
 * Returns: (transfer full): the suggested window, or %NULL with @error set
 */
MeAcmeRenewalInfo *
me_acme_renewal_info_get(MeAcmeClient *client, X509 *cert, GError **error)
{
	const MeAcmeDirectory *dir;
	g_autofree gchar *cert_id = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr(MeHttpResponse) response = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	dir = me_acme_client_get_directory(client, error);
	if (dir == NULL)
		return NULL;
	if (dir->renewal_info == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the CA does not publish renewal windows */
				    _("This certificate authority does not publish renewal windows."));
		return NULL;
	}
	cert_id = me_acme_cert_id(cert, error);
	if (cert_id == NULL)
		return NULL;
	url = g_strdup_printf("%s%s%s", dir->renewal_info, g_str_has_suffix(dir->renewal_info, "/") ? "" : "/", cert_id);
	response = me_http_request(me_acme_client_get_http(client), "GET", url, NULL, NULL, "application/json", error);
	if (response == NULL || !me_acme_client_check_response(client, response, error))
		return NULL;
	return me_acme_renewal_info_parse(response, error);
}

/**
 * me_acme_renewal_info_pick_time:
 * @info: a renewal window
 * @now_unix: the current time
 *
 * Picks a uniformly random moment in what is left of the window (RFC 9773 §4.2), so
 * that many clients do not all renew at once; now, if the window has passed.
 *
 * Returns: when to renew, seconds since the epoch
 */
gint64
me_acme_renewal_info_pick_time(const MeAcmeRenewalInfo *info, gint64 now_unix)
{
	gint64 start = MAX(info->start, now_unix);
	if (start >= info->end)
		return now_unix;
	return start + (gint64)(g_random_double() * (gdouble)(info->end - start));
}
