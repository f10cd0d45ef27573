/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* shared between acme-client.c (transport, accounts) and acme-order.c (orders) only */

#include "acme-client.h"

G_BEGIN_DECLS

#define ME_ACME_JOSE_JSON "application/jose+json"

MeHttpResponse *
me_acme_client_post(MeAcmeClient *client,
		    const gchar *url,
		    const gchar *payload,
		    EVP_PKEY *jwk_key,
		    const gchar *accept,
		    GError **error);
gboolean
me_acme_client_check_response(MeAcmeClient *client, MeHttpResponse *response, GError **error);
void
me_acme_client_wait(MeAcmeClient *client, guint attempt, gint64 retry_after, gint64 deadline_us);
MeAcmeProblem *
me_acme_client_parse_problem(JsonObject *obj, GError **error);
gboolean
me_acme_client_url_is_valid(const gchar *url);
gboolean
me_acme_client_ensure_nonce(MeAcmeClient *client, GError **error);
gboolean
me_acme_client_drop_stale_directory(MeAcmeClient *client, const GError *error);
const MeAcmeDirectory *
me_acme_client_get_fresh_directory(MeAcmeClient *client, GError **error);

/* the parsers of the CA's resources, exported for tests/fuzz/fuzz-acme.c */
MeAcmeAccount *
me_acme_account_parse(MeHttpResponse *response, GError **error);
MeAcmeOrder *
me_acme_order_parse(MeHttpResponse *response, const gchar *url, GError **error);
MeAcmeAuthz *
me_acme_authz_parse(MeHttpResponse *response, const gchar *url, GError **error);
MeAcmeChallenge *
me_acme_challenge_parse(JsonNode *node, GError **error);
MeAcmeRenewalInfo *
me_acme_renewal_info_parse(MeHttpResponse *response, GError **error);

G_END_DECLS
