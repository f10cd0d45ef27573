/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzAcme"

#include "config.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "acme-client.h"
#include "acme-private.h"
#include "json-util.h"

/* the input is the body of an answer from a CA, read as every ACME resource mailenroll
 * takes (RFC 8555 §7.1: directory, account, order, authorization, challenge; RFC 9773
 * renewal information) and as a problem document (RFC 7807) of an error answer; a parser
 * either returns its resource or one translated sentence, never both */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static MeHttpResponse *
fake_response(GBytes *body, guint status, const gchar *content_type)
{
	MeHttpResponse *response = g_new0(MeHttpResponse, 1);

	response->status = status;
	response->content_type = g_strdup(content_type);
	response->location = g_strdup("https://ca.example/acme/acct/1");
	response->replay_nonce = g_strdup("fuzz-nonce");
	response->retry_after = -1;
	response->links = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(response->links, g_strdup("<https://ca.example/acme/directory>;rel=\"index\""));
	response->body = g_bytes_ref(body);
	return response;
}

/* one of the two: a result or an error with a message */
static void
check_outcome(gconstpointer result, const GError *error)
{
	g_assert_true((result == NULL) == (error != NULL));
	if (error != NULL) {
		g_assert_true(error->domain == ME_ERROR);
		g_assert_nonnull(error->message);
		g_assert_cmpuint(strlen(error->message), >, 0);
	}
}

static void
fuzz_resources(GBytes *body)
{
	g_autoptr(MeHttpResponse) response = fake_response(body, 200, "application/json");
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	g_autoptr(GError) e4 = NULL;
	g_autoptr(MeAcmeAccount) account = me_acme_account_parse(response, &e1);
	g_autoptr(MeAcmeOrder) order = me_acme_order_parse(response, "https://ca.example/acme/order/1", &e2);
	g_autoptr(MeAcmeAuthz) authz = me_acme_authz_parse(response, "https://ca.example/acme/authz/1", &e3);
	g_autoptr(MeAcmeRenewalInfo) info = me_acme_renewal_info_parse(response, &e4);

	check_outcome(account, e1);
	check_outcome(order, e2);
	check_outcome(authz, e3);
	check_outcome(info, e4);
	if (authz != NULL) {
		(void)me_acme_authz_find_challenge(authz, "email-reply-00");
		for (guint i = 0; i < authz->challenges->len; i++)
			(void)me_acme_challenge_get_member(g_ptr_array_index(authz->challenges, i), "from");
	}
	if (info != NULL)
		(void)me_acme_renewal_info_pick_time(info, 1700000000);
}

static void
fuzz_challenge(GBytes *body)
{
	g_autoptr(JsonNode) root = me_json_parse_object(body, NULL);
	g_autoptr(MeAcmeChallenge) challenge = NULL;
	g_autoptr(GError) error = NULL;

	if (root == NULL)
		return;
	challenge = me_acme_challenge_parse(root, &error);
	check_outcome(challenge, error);
}

static void
fuzz_directory_and_problem(GBytes *body)
{
	g_autoptr(MeAcmeClient) client = me_acme_client_new("https://ca.example/acme/directory");
	g_autoptr(MeHttpResponse) response = fake_response(body, 403, "application/problem+json");
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	gboolean loaded = me_acme_client_load_directory(client, body, &e1);

	g_assert_true(loaded == (e1 == NULL));
	if (loaded)
		(void)me_acme_client_get_directory(client, NULL);
	/* an error answer: a GError from the problem document or from the status */
	g_assert_false(me_acme_client_check_response(client, response, &e2));
	g_assert_nonnull(e2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) body = g_bytes_new(data, size);

	fuzz_resources(body);
	fuzz_challenge(body);
	fuzz_directory_and_problem(body);
	return 0;
}
