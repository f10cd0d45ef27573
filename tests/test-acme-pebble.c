/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* the ACME core against a real Pebble on 127.0.0.1: complete issuances for `dns`
 * identifiers (Pebble does not know `email`), accounts, EAB, nonce rejection,
 * revocation and key rollover; every chain is checked in C and with the openssl CLI */

#include "config.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "encoding.h"
#include "keys.h"
#include "test-util.h"

/* a MAC key for Pebble's EAB table, base64url as Pebble wants it */
#define EAB_KID "kid-mailenroll"
#define EAB_KEY "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

typedef struct {
	MeTestPebble *pebble;
} Fixture;

static void
fixture_start(Fixture *fx, const gchar *const *envp, const gchar *eab)
{
	g_autoptr(GError) error = NULL;
	fx->pebble = me_test_pebble_start(envp, eab, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->pebble);
}

static void
setup_plain(Fixture *fx, gconstpointer data)
{
	fixture_start(fx, NULL, NULL);
}

static void
setup_nonce_reject(Fixture *fx, gconstpointer data)
{
	const gchar *envp[] = {data, NULL};
	fixture_start(fx, envp, NULL);
}

static void
setup_eab(Fixture *fx, gconstpointer data)
{
	fixture_start(fx, NULL, "{\"" EAB_KID "\": \"" EAB_KEY "\"}");
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	g_clear_pointer(&fx->pebble, me_test_pebble_stop);
}

static MeAcmeClient *
client_new(Fixture *fx, EVP_PKEY *account_key)
{
	MeAcmeClient *client = me_acme_client_new(fx->pebble->directory_url);
	me_http_set_ca_file(me_acme_client_get_http(client), fx->pebble->ca_file);
	me_acme_client_set_account_key(client, account_key);
	return client;
}

static EVP_PKEY *
key_new(MeKeyType type)
{
	g_autoptr(GError) error = NULL;
	EVP_PKEY *key = me_key_generate(type, &error);
	g_assert_no_error(error);
	return key;
}

static MeAcmeAccount *
account_new(MeAcmeClient *client)
{
	g_autoptr(GError) error = NULL;
	const gchar *contacts[] = {"mailto:admin@example.com", NULL};
	MeAcmeAccountRequest req = {.terms_agreed = TRUE, .contacts = contacts};
	MeAcmeAccount *account = me_acme_client_new_account(client, &req, &error);
	g_assert_no_error(error);
	g_assert_nonnull(account);
	return account;
}

static gchar *
random_name(void)
{
	return g_strdup_printf("test-%08x%08x.example.com", g_random_int(), g_random_int());
}

/* one issuance on an existing account; the certificate key is returned for revocation */
static MeAcmeChain *
issue_dns(MeAcmeClient *client, const gchar *name, EVP_PKEY *cert_key)
{
	g_autoptr(GError) error = NULL;
	MeAcmeIdentifier id = {.type = (gchar *)"dns", .value = (gchar *)name};
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeOrder) done = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(GBytes) csr = NULL;
	const MeAcmeChallenge *challenge;
	MeAcmeChain *chain;

	order = me_acme_order_new(client, &id, 1, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(order->status, ==, "pending");
	g_assert_cmpuint(g_strv_length(order->authorizations), ==, 1);
	authz = me_acme_authz_get(client, order->authorizations[0], &error);
	g_assert_no_error(error);
	g_assert_cmpstr(authz->identifier.value, ==, name);
	challenge = me_acme_authz_find_challenge(authz, "http-01");
	g_assert_nonnull(challenge);
	answered = me_acme_challenge_respond(client, challenge->url, &error);
	g_assert_no_error(error);
	valid = me_acme_authz_poll(client, authz->url, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(valid->status, ==, "valid");
	csr = me_test_csr_dns(cert_key, name);
	done = me_acme_order_finalize(client, order, csr, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(done->status, ==, "valid");
	chain = me_acme_order_download(client, done->certificate, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(chain->certs->len, >=, 2);
	return chain;
}

static void
check_chain_in_c(MeAcmeChain *chain, EVP_PKEY *cert_key, const gchar *name)
{
	X509 *ee = g_ptr_array_index(chain->certs, 0);
	X509 *issuer = g_ptr_array_index(chain->certs, 1);
	g_autoptr(EVP_PKEY) issuer_key = X509_get_pubkey(issuer);
	g_autoptr(EVP_PKEY) ee_key = X509_get_pubkey(ee);

	g_assert_true(me_key_public_equal(ee_key, cert_key));
	g_assert_cmpint(X509_check_host(ee, name, 0, 0, NULL), ==, 1);
	g_assert_cmpint(X509_verify(ee, issuer_key), ==, 1);
	g_assert_cmpint(X509_check_issued(issuer, ee), ==, X509_V_OK);
}

/* the independent check: openssl verify up to Pebble's root, served on its management port */
static void
check_chain_with_openssl(Fixture *fx, MeAcmeChain *chain, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *root = me_test_pebble_get_pem(fx->pebble, "/roots/0", &error);
	g_autofree gchar *root_path = NULL;
	g_autofree gchar *chain_path = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	g_assert_no_error(error);
	root_path = me_test_write_tmp(dir, "root.pem", root);
	chain_path = me_test_write_tmp(dir, "chain.pem", chain->pem);
	{
		const gchar *argv[] = {"openssl", "verify", "-CAfile", root_path, "-untrusted", chain_path,
				       "-verify_hostname", name, chain_path, NULL};
		g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	}
	g_test_message("openssl verify: %s%s", out, err);
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(out, ": OK"));
	me_test_rm_rf(dir);
}

/* exactly one of every request an issuance needs; only the polls may repeat, and only
 * when the CA had not finished yet (docs/standards.md §3.2) */
static void
assert_request_sequence(Fixture *fx, guint new_accounts)
{
	static const struct {
		const gchar *request;
		guint count;
	} once[] = {
	    {"GET /dir", 1},	     {"HEAD /nonce-plz", 1},	   {"POST /order-plz", 1},
	    {"POST /chalZ/", 1},     {"POST /finalize-order/", 1}, {"POST /certZ/", 1},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(once); i++)
		g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, once[i].request), ==, once[i].count);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /sign-me-up"), ==, new_accounts);
	/* the authz fetch, then its polls; and the order polls after finalize */
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /authZ/"), >=, 2);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /authZ/"), <=, 3);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /my-order/"), <=, 2);
}

static void
test_new_account_issuance(Fixture *fx, gconstpointer data)
{
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = account_new(client);
	g_autofree gchar *name = random_name();
	g_autoptr(MeAcmeChain) chain = NULL;
	MeHttp *http = me_acme_client_get_http(client);

	g_assert_true(account->created);
	g_assert_cmpstr(account->status, ==, "valid");
	g_assert_cmpstr(me_acme_client_get_account_url(client), ==, account->url);
	chain = issue_dns(client, name, cert_key);
	check_chain_in_c(chain, cert_key, name);
	check_chain_with_openssl(fx, chain, name);
	/* the fewest requests the protocol allows, on one connection (docs/standards.md §3.2) */
	g_test_message("new account: %u requests, %u connections", me_http_get_request_count(http),
		       me_http_get_connection_count(http));
	g_assert_cmpuint(me_http_get_connection_count(http), ==, 1);
	g_assert_cmpuint(me_http_get_request_count(http), <=, 11);
	/* Pebble (Go's net/http) offers HTTP/2 over TLS, and we take it */
	g_assert_cmpuint(me_http_get_http_version(http), ==, 20);
	assert_request_sequence(fx, 1);
}

static void
test_existing_account(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_RSA_2048);
	g_autoptr(MeAcmeClient) first = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) created = account_new(first);
	g_autoptr(MeAcmeClient) again = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) found = NULL;
	g_autoptr(MeAcmeClient) returning = client_new(fx, account_key);
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autofree gchar *name = random_name();
	MeAcmeAccountRequest lookup = {.only_return_existing = TRUE};

	/* the same key finds the same account, whether asked to create or only to look up */
	found = me_acme_client_new_account(again, &lookup, &error);
	g_assert_no_error(error);
	g_assert_false(found->created);
	g_assert_cmpstr(found->url, ==, created->url);

	/* a returning client that knows its kid skips newAccount altogether */
	me_acme_client_set_account_url(returning, created->url);
	chain = issue_dns(returning, name, cert_key);
	check_chain_in_c(chain, cert_key, name);
	check_chain_with_openssl(fx, chain, name);
	g_test_message("existing account: %u requests",
		       me_http_get_request_count(me_acme_client_get_http(returning)));
	g_assert_cmpuint(me_http_get_request_count(me_acme_client_get_http(returning)), <=, 10);
	g_assert_cmpuint(me_http_get_connection_count(me_acme_client_get_http(returning)), ==, 1);
}

static gchar *
replace_all(const gchar *text, const gchar *from, const gchar *to)
{
	g_auto(GStrv) parts = g_strsplit(text, from, -1);
	return g_strjoinv(to, parts);
}

static void
test_cached_directory(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) first = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = account_new(first);
	g_autoptr(GBytes) json = me_acme_client_get_directory_json(first);
	g_autofree gchar *text = g_strndup(g_bytes_get_data(json, NULL), g_bytes_get_size(json));
	g_autofree gchar *moved = NULL;
	g_autoptr(GBytes) stale = NULL;
	g_autoptr(MeAcmeClient) cached = client_new(fx, account_key);
	g_autoptr(MeAcmeClient) outdated = client_new(fx, account_key);
	g_autoptr(MeAcmeChain) chain1 = NULL;
	g_autoptr(MeAcmeChain) chain2 = NULL;
	g_autofree gchar *name1 = random_name();
	g_autofree gchar *name2 = random_name();

	/* a returning client with the directory from its state skips GET /dir: 8 requests */
	g_assert_true(me_acme_client_load_directory(cached, json, &error));
	g_assert_no_error(error);
	me_acme_client_set_account_url(cached, account->url);
	chain1 = issue_dns(cached, name1, cert_key);
	check_chain_in_c(chain1, cert_key, name1);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "GET /dir"), ==, 1);
	g_assert_cmpuint(me_http_get_request_count(me_acme_client_get_http(cached)), <=, 9);

	/* a stale copy (the CA moved its endpoints) is noticed by the 404 and fetched anew */
	moved = replace_all(text, "/nonce-plz", "/nonce-moved");
	g_free(g_steal_pointer(&text));
	text = replace_all(moved, "/order-plz", "/order-moved");
	stale = g_bytes_new(text, strlen(text));
	g_assert_true(me_acme_client_load_directory(outdated, stale, &error));
	me_acme_client_set_account_url(outdated, account->url);
	chain2 = issue_dns(outdated, name2, cert_key);
	check_chain_in_c(chain2, cert_key, name2);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "GET /dir"), ==, 2);

	/* only newOrder moved: the nonce works, the order's 404 triggers the fetch and one retry */
	{
		g_autofree gchar *orig = g_strndup(g_bytes_get_data(json, NULL), g_bytes_get_size(json));
		g_autofree gchar *order_moved = replace_all(orig, "/order-plz", "/order-moved");
		g_autoptr(GBytes) stale_order = g_bytes_new(order_moved, strlen(order_moved));
		g_autoptr(MeAcmeClient) half = client_new(fx, account_key);
		g_autofree gchar *name3 = random_name();
		g_autoptr(MeAcmeChain) chain3 = NULL;

		g_assert_true(me_acme_client_load_directory(half, stale_order, &error));
		me_acme_client_set_account_url(half, account->url);
		chain3 = issue_dns(half, name3, cert_key);
		check_chain_in_c(chain3, cert_key, name3);
		g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "GET /dir"), ==, 3);
	}
}

static void
test_account_does_not_exist(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, key);
	g_autoptr(MeAcmeAccount) account = NULL;
	MeAcmeAccountRequest lookup = {.only_return_existing = TRUE};

	account = me_acme_client_new_account(client, &lookup, &error);
	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_ACCOUNT_DOES_NOT_EXIST);
	g_assert_cmpstr(me_acme_problem_get_short_type(me_error_get_problem(error)), ==, "accountDoesNotExist");
	g_assert_null(me_acme_client_get_account_url(client));
}

static void
test_key_types(Fixture *fx, gconstpointer data)
{
	const MeKeyType types[] = {ME_KEY_TYPE_EC_P384, ME_KEY_TYPE_RSA_2048};
	for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(EVP_PKEY) account_key = key_new(types[i]);
		g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
		g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
		g_autoptr(MeAcmeAccount) account = account_new(client);
		g_autofree gchar *name = random_name();
		g_autoptr(MeAcmeChain) chain = issue_dns(client, name, cert_key);
		check_chain_in_c(chain, cert_key, name);
	}
}

static void
test_nonce_reject(Fixture *fx, gconstpointer data)
{
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = NULL;

	/* Pebble rejects half of all valid nonces at random: with 20 retries a request
	 * fails only once in a million runs, yet two issuances see rejections for sure */
	me_acme_client_set_bad_nonce_retries(client, 20);
	account = account_new(client);
	for (guint i = 0; i < 2; i++) {
		g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
		g_autofree gchar *name = random_name();
		g_autoptr(MeAcmeChain) chain = issue_dns(client, name, cert_key);
		check_chain_in_c(chain, cert_key, name);
	}
	g_test_message("badNonce retries: %u", me_acme_client_get_bad_nonce_count(client));
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(client), >, 0);
	/* every retry used the nonce that came with the error: one HEAD in all */
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "HEAD /nonce-plz"), ==, 1);
}

static void
test_nonce_reject_all(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, key);
	g_autoptr(MeAcmeAccount) account = NULL;
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};

	/* a CA that rejects every nonce: the default cap of 3 retries ends it */
	account = me_acme_client_new_account(client, &req, &error);
	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_NONCE);
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(client), ==, 3);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /sign-me-up"), ==, 4);
}

static MeAcmeAccount *
eab_account(MeAcmeClient *client, const gchar *kid, const gchar *mac_b64, GError **error)
{
	g_autoptr(GBytes) mac = me_b64u_decode_secret(mac_b64, 1024, NULL);
	MeAcmeAccountRequest req = {.terms_agreed = TRUE, .eab_kid = kid, .eab_mac_key = mac};
	return me_acme_client_new_account(client, &req, error);
}

static void
test_eab(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autofree gchar *name = random_name();
	const MeAcmeDirectory *dir = me_acme_client_get_directory(client, &error);

	g_assert_no_error(error);
	g_assert_true(dir->external_account_required);
	account = eab_account(client, EAB_KID, EAB_KEY, &error);
	g_assert_no_error(error);
	g_assert_true(account->created);
	g_assert_true(json_object_has_member(json_node_get_object(account->json), "externalAccountBinding") ||
		      g_strcmp0(account->status, "valid") == 0);
	chain = issue_dns(client, name, cert_key);
	check_chain_in_c(chain, cert_key, name);
}

static void
test_eab_missing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, key);
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};
	g_autoptr(MeAcmeAccount) account = me_acme_client_new_account(client, &req, &error);

	/* the directory says EAB is required, so nothing is sent without it */
	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED);
	g_assert_cmpuint(me_test_pebble_count_requests(fx->pebble, "POST /sign-me-up"), ==, 0);
}

static void
test_eab_wrong_mac(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, key);
	g_autoptr(MeAcmeAccount) account = NULL;
	const MeAcmeProblem *problem;

	account = eab_account(client, EAB_KID, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &error);
	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_UNAUTHORIZED);
	g_assert_nonnull(strstr(error->message, "external account"));
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_test_message("wrong MAC: %s (%s)", error->message, problem->type);
	g_assert_true(g_str_has_prefix(problem->type, "urn:ietf:params:acme:error:"));
	g_assert_cmpuint(problem->status, ==, 403);
	g_assert_null(me_acme_client_get_account_url(client));
	g_clear_error(&error);

	/* an unknown key ID fails too, and clearly */
	account = eab_account(client, "kid-unknown", EAB_KEY, &error);
	g_assert_null(account);
	g_assert_nonnull(me_error_get_problem(error));
}

static GBytes *
chain_ee_der(MeAcmeChain *chain)
{
	guchar *der = NULL;
	gint len = i2d_X509(g_ptr_array_index(chain->certs, 0), &der);
	GBytes *bytes;
	g_assert_cmpint(len, >, 0);
	bytes = g_bytes_new(der, len);
	OPENSSL_free(der);
	return bytes;
}

static void
test_revoke(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) key1 = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) key2 = key_new(ME_KEY_TYPE_RSA_2048);
	g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = account_new(client);
	g_autofree gchar *name1 = random_name();
	g_autofree gchar *name2 = random_name();
	g_autoptr(MeAcmeChain) chain1 = issue_dns(client, name1, key1);
	g_autoptr(MeAcmeChain) chain2 = issue_dns(client, name2, key2);
	g_autoptr(GBytes) der1 = chain_ee_der(chain1);
	g_autoptr(GBytes) der2 = chain_ee_der(chain2);
	g_autoptr(MeAcmeClient) stranger = NULL;

	/* by the account key (kid), with a reason */
	g_assert_true(me_acme_cert_revoke(client, der1, 4, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(me_acme_cert_revoke(client, der1, 4, NULL, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_ALREADY_REVOKED);
	g_clear_error(&error);

	/* by the certificate's own key (jwk), from a client with no account at all */
	stranger = me_acme_client_new(fx->pebble->directory_url);
	me_http_set_ca_file(me_acme_client_get_http(stranger), fx->pebble->ca_file);
	g_assert_true(me_acme_cert_revoke(stranger, der2, 1, key2, &error));
	g_assert_no_error(error);
}

static void
test_key_rollover(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) old_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) new_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, old_key);
	g_autoptr(MeAcmeAccount) account = account_new(client);
	g_autoptr(MeAcmeClient) with_old = client_new(fx, old_key);
	g_autoptr(MeAcmeClient) with_new = client_new(fx, new_key);
	g_autoptr(MeAcmeAccount) found = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autofree gchar *name = random_name();
	MeAcmeAccountRequest lookup = {.only_return_existing = TRUE};

	g_assert_true(me_acme_client_change_key(client, new_key, &error));
	g_assert_no_error(error);
	g_assert_true(me_acme_client_get_account_key(client) == new_key);
	/* the next order is signed with the new key */
	chain = issue_dns(client, name, cert_key);
	check_chain_in_c(chain, cert_key, name);
	/* the account now belongs to the new key only */
	found = me_acme_client_new_account(with_new, &lookup, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(found->url, ==, account->url);
	g_clear_pointer(&found, me_acme_account_free);
	found = me_acme_client_new_account(with_old, &lookup, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_ACCOUNT_DOES_NOT_EXIST);
}

static void
test_update_and_deactivate(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, key);
	g_autoptr(MeAcmeAccount) account = account_new(client);
	g_autoptr(MeAcmeAccount) updated = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	const gchar *contacts[] = {"mailto:new@example.com", NULL};
	const gchar *bad_contacts[] = {"mailto:a@example.com?subject=x", NULL};
	MeAcmeIdentifier id = {.type = (gchar *)"dns", .value = (gchar *)"after.example.com"};

	updated = me_acme_client_update_account(client, contacts, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(updated->contact[0], ==, "mailto:new@example.com");
	g_assert_null(me_acme_client_update_account(client, bad_contacts, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	g_assert_true(me_acme_client_deactivate_account(client, &error));
	g_assert_no_error(error);
	order = me_acme_order_new(client, &id, 1, NULL, &error);
	g_assert_null(order);
	g_assert_error(error, ME_ERROR, ME_ERROR_UNAUTHORIZED);
}

static void
test_bad_csr(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) account_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(EVP_PKEY) cert_key = key_new(ME_KEY_TYPE_EC_P256);
	g_autoptr(MeAcmeClient) client = client_new(fx, account_key);
	g_autoptr(MeAcmeAccount) account = account_new(client);
	g_autofree gchar *name = random_name();
	MeAcmeIdentifier id = {.type = (gchar *)"dns", .value = name};
	g_autoptr(MeAcmeOrder) order = me_acme_order_new(client, &id, 1, NULL, &error);
	g_autoptr(MeAcmeOrder) ready = NULL;
	g_autoptr(MeAcmeOrder) done = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(GBytes) wrong = me_test_csr_dns(cert_key, "someone-else.example.com");
	g_autoptr(GBytes) account_csr = me_test_csr_dns(account_key, name);
	g_autoptr(GBytes) right = me_test_csr_dns(cert_key, name);

	g_assert_no_error(error);
	authz = me_acme_authz_get(client, order->authorizations[0], &error);
	g_assert_no_error(error);
	answered = me_acme_challenge_respond(client, me_acme_authz_find_challenge(authz, "http-01")->url, &error);
	g_assert_no_error(error);
	ready = me_acme_order_poll(client, order->url, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(ready->status, ==, "ready");
	/* a CSR for another name is refused (Pebble calls it unauthorized) ... */
	g_assert_null(me_acme_order_finalize(client, ready, wrong, &error));
	g_assert_nonnull(me_error_get_problem(error));
	g_test_message("wrong name: %s", error->message);
	g_clear_error(&error);
	/* ... and one with the account's own key is a badCSR callers can tell apart */
	g_assert_null(me_acme_order_finalize(client, ready, account_csr, &error));
	g_test_message("account key: %s", error->message);
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_CSR);
	g_clear_error(&error);
	/* the order stayed ready for a corrected request */
	done = me_acme_order_finalize(client, ready, right, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(done->status, ==, "valid");
}

#define add(path, setup, data, func) g_test_add(path, Fixture, data, setup, func, teardown)

int
main(int argc, char **argv)
{
	g_autofree gchar *pebble = NULL;

	g_test_init(&argc, &argv, NULL);
	pebble = g_find_program_in_path(g_getenv("ME_TEST_PEBBLE") != NULL ? g_getenv("ME_TEST_PEBBLE") : "pebble");
	if (pebble == NULL) {
		g_printerr("pebble is not installed; run contrib/setup.sh\n");
		return 1;
	}
	add("/acme/pebble/new-account", setup_plain, NULL, test_new_account_issuance);
	add("/acme/pebble/existing-account", setup_plain, NULL, test_existing_account);
	add("/acme/pebble/cached-directory", setup_plain, NULL, test_cached_directory);
	add("/acme/pebble/account-does-not-exist", setup_plain, NULL, test_account_does_not_exist);
	add("/acme/pebble/account-key-types", setup_plain, NULL, test_key_types);
	add("/acme/pebble/nonce-reject-50", setup_nonce_reject, "PEBBLE_WFE_NONCEREJECT=50",
	    test_nonce_reject);
	add("/acme/pebble/nonce-reject-all", setup_nonce_reject, "PEBBLE_WFE_NONCEREJECT=100",
	    test_nonce_reject_all);
	add("/acme/pebble/eab", setup_eab, NULL, test_eab);
	add("/acme/pebble/eab-missing", setup_eab, NULL, test_eab_missing);
	add("/acme/pebble/eab-wrong-mac", setup_eab, NULL, test_eab_wrong_mac);
	add("/acme/pebble/revoke", setup_plain, NULL, test_revoke);
	add("/acme/pebble/key-rollover", setup_plain, NULL, test_key_rollover);
	add("/acme/pebble/update-deactivate", setup_plain, NULL, test_update_and_deactivate);
	add("/acme/pebble/bad-csr", setup_plain, NULL, test_bad_csr);
	return g_test_run();
}
