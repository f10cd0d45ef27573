/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "http.h"
#include "me-error.h"

G_BEGIN_DECLS

/*
 * The ACME client core (RFC 8555, with RFC 9773 renewal information).
 *
 * One MeAcmeClient talks to one CA over one reused HTTPS connection.  It keeps the
 * directory and a pool of nonces fed from every response, retries `badNonce` with the
 * nonce that came with the error, and turns every `application/problem+json` into a
 * #GError in #ME_ERROR whose code tells the problem types callers act on apart, with the
 * whole problem attached (me_error_get_problem()).
 *
 * A typical issuance:
 *
 *   client = me_acme_client_new(directory_url);
 *   me_acme_client_set_account_key(client, account_key);
 *   account = me_acme_client_new_account(client, &(MeAcmeAccountRequest){.terms_agreed = TRUE}, &error);
 *   order = me_acme_order_new(client, ids, 1, NULL, &error);
 *   authz = me_acme_authz_get(client, order->authorizations[0], &error);
 *   ... prove control of the identifier ...
 *   me_acme_challenge_respond(client, challenge->url, &error);
 *   authz = me_acme_authz_poll(client, authz->url, &error);
 *   order = me_acme_order_finalize(client, order, csr_der, &error);
 *   chain = me_acme_order_download(client, order->certificate, &error);
 */

typedef struct _MeAcmeClient MeAcmeClient;

typedef struct {
	gchar *new_nonce;
	gchar *new_account;
	gchar *new_order;
	gchar *new_authz;
	gchar *revoke_cert;
	gchar *key_change;
	gchar *renewal_info;
	gchar *terms_of_service;
	gchar *website;
	GStrv caa_identities;
	gboolean external_account_required;
} MeAcmeDirectory;

typedef struct {
	gchar *type;
	gchar *value;
} MeAcmeIdentifier;

typedef struct {
	gchar *url;
	gchar *status;
	GStrv contact;
	gchar *orders;
	gboolean created;
	JsonNode *json;
} MeAcmeAccount;

typedef struct {
	gchar *url;
	gchar *type;
	gchar *status;
	gchar *token;
	MeAcmeProblem *error;
	JsonNode *json; /* the whole object, for type-specific members such as `from` */
} MeAcmeChallenge;

typedef struct {
	gchar *url;
	gchar *status;
	MeAcmeIdentifier identifier;
	gint64 expires;
	gboolean wildcard;
	GPtrArray *challenges; /* element-type MeAcmeChallenge */
	gint64 retry_after;
	JsonNode *json;
} MeAcmeAuthz;

typedef struct {
	gchar *url;
	gchar *status;
	gint64 expires;
	GPtrArray *identifiers; /* element-type MeAcmeIdentifier */
	GStrv authorizations;
	gchar *finalize;
	gchar *certificate;
	gchar *replaces;
	MeAcmeProblem *error;
	gint64 retry_after;
	JsonNode *json;
} MeAcmeOrder;

typedef struct {
	gchar *pem;
	GPtrArray *certs; /* element-type X509, end-entity first */
	GStrv alternates; /* URLs of other chains (Link rel="alternate") */
} MeAcmeChain;

typedef struct {
	gint64 start;
	gint64 end;
	gchar *explanation_url;
	gint64 retry_after;
} MeAcmeRenewalInfo;

/**
 * MeAcmeAccountRequest:
 * @terms_agreed: the person (or the administrator's policy) agreed to the CA's terms
 * @agreed_terms: (nullable): the URL of the terms the person agreed to: they count as
 *   agreed when the directory's `termsOfService` is this URL; when the CA names other
 *   terms now (and @terms_agreed is not set) no account is asked for, and the error
 *   (%ME_ERROR_USER_ACTION_REQUIRED) says to read and agree to the new terms
 * @contacts: (nullable): `mailto:` URLs
 * @only_return_existing: only look the account up; never create it
 * @eab_kid: (nullable): the external account key identifier, when the CA requires one
 * @eab_mac_key: (nullable): the external account MAC key (decoded)
 * @eab_alg: (nullable): `HS256` (default), `HS384` or `HS512`
 */
typedef struct {
	gboolean terms_agreed;
	const gchar *agreed_terms;
	const gchar *const *contacts;
	gboolean only_return_existing;
	const gchar *eab_kid;
	GBytes *eab_mac_key;
	const gchar *eab_alg;
} MeAcmeAccountRequest;

/**
 * MeAcmePollPolicy:
 * @retry_after_min_ms: the shortest wait a `Retry-After` can make us take
 * @max_wait_ms: the longest single wait
 * @first_poll_ms: the wait before the first re-poll when the server gives no
 *   `Retry-After`: a few milliseconds, less than one round trip to any real CA
 * @first_backoff_ms: the wait before the second re-poll; each later one doubles, up to
 *   @max_wait_ms
 * @timeout_ms: the longest a whole poll may take
 */
typedef struct {
	guint retry_after_min_ms;
	guint max_wait_ms;
	guint first_poll_ms;
	guint first_backoff_ms;
	guint timeout_ms;
} MeAcmePollPolicy;

void
me_acme_directory_free(MeAcmeDirectory *dir);
void
me_acme_identifier_clear(MeAcmeIdentifier *id);
void
me_acme_account_free(MeAcmeAccount *account);
void
me_acme_challenge_free(MeAcmeChallenge *challenge);
void
me_acme_authz_free(MeAcmeAuthz *authz);
void
me_acme_order_free(MeAcmeOrder *order);
void
me_acme_chain_free(MeAcmeChain *chain);
void
me_acme_renewal_info_free(MeAcmeRenewalInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeAccount, me_acme_account_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeChallenge, me_acme_challenge_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeAuthz, me_acme_authz_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeOrder, me_acme_order_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeChain, me_acme_chain_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeRenewalInfo, me_acme_renewal_info_free)

const MeAcmeChallenge *
me_acme_authz_find_challenge(const MeAcmeAuthz *authz, const gchar *type);
const gchar *
me_acme_challenge_get_member(const MeAcmeChallenge *challenge, const gchar *member);

MeAcmeClient *
me_acme_client_new(const gchar *directory_url);
void
me_acme_client_free(MeAcmeClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeClient, me_acme_client_free)

MeHttp *
me_acme_client_get_http(MeAcmeClient *client);
void
me_acme_client_set_account_key(MeAcmeClient *client, EVP_PKEY *key);
EVP_PKEY *
me_acme_client_get_account_key(MeAcmeClient *client);
void
me_acme_client_set_account_url(MeAcmeClient *client, const gchar *url);
const gchar *
me_acme_client_get_account_url(MeAcmeClient *client);
void
me_acme_client_set_bad_nonce_retries(MeAcmeClient *client, guint retries);
guint
me_acme_client_get_bad_nonce_count(MeAcmeClient *client);
void
me_acme_client_set_poll_policy(MeAcmeClient *client, const MeAcmePollPolicy *policy);
void
me_acme_client_get_poll_policy(MeAcmeClient *client, MeAcmePollPolicy *policy);

const MeAcmeDirectory *
me_acme_client_get_directory(MeAcmeClient *client, GError **error);
gboolean
me_acme_client_load_directory(MeAcmeClient *client, GBytes *json, GError **error);
GBytes *
me_acme_client_get_directory_json(MeAcmeClient *client);
const gchar *
me_acme_client_get_directory_url(MeAcmeClient *client);
void
me_acme_client_add_nonce(MeAcmeClient *client, const gchar *nonce);
GStrv
me_acme_client_steal_nonces(MeAcmeClient *client);

MeAcmeAccount *
me_acme_client_new_account(MeAcmeClient *client, const MeAcmeAccountRequest *request, GError **error);
MeAcmeAccount *
me_acme_client_update_account(MeAcmeClient *client, const gchar *const *contacts, GError **error);
gboolean
me_acme_client_deactivate_account(MeAcmeClient *client, GError **error);
gboolean
me_acme_client_change_key(MeAcmeClient *client, EVP_PKEY *new_key, GError **error);

MeAcmeOrder *
me_acme_order_new(MeAcmeClient *client,
			 const MeAcmeIdentifier *identifiers,
			 guint n_identifiers,
			 const gchar *replaces,
			 GError **error);
MeAcmeOrder *
me_acme_order_get(MeAcmeClient *client, const gchar *url, GError **error);
MeAcmeOrder *
me_acme_order_poll(MeAcmeClient *client, const gchar *url, GError **error);
MeAcmeAuthz *
me_acme_authz_get(MeAcmeClient *client, const gchar *url, GError **error);
MeAcmeAuthz *
me_acme_authz_poll(MeAcmeClient *client, const gchar *url, GError **error);
MeAcmeChallenge *
me_acme_challenge_respond(MeAcmeClient *client, const gchar *url, GError **error);
MeAcmeOrder *
me_acme_order_finalize(MeAcmeClient *client, const MeAcmeOrder *order, GBytes *csr_der, GError **error);
MeAcmeChain *
me_acme_order_download(MeAcmeClient *client, const gchar *url, GError **error);
gboolean
me_acme_cert_revoke(MeAcmeClient *client, GBytes *cert_der, gint reason, EVP_PKEY *cert_key, GError **error);

MeAcmeChain *
me_acme_chain_parse(GBytes *pem, GError **error);
gchar *
me_acme_cert_id(X509 *cert, GError **error);
MeAcmeRenewalInfo *
me_acme_renewal_info_get(MeAcmeClient *client, X509 *cert, GError **error);
gint64
me_acme_renewal_info_pick_time(const MeAcmeRenewalInfo *info, gint64 now_unix);

G_END_DECLS
