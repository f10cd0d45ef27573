/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include <json-glib/json-glib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <string.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "keys.h"
#include "fault-server.h"
#include "test-util.h"

/*
 * How the ACME client copes with what a real CA (Pebble) cannot be made to do: every
 * test starts tests/util/fault-server.py with one scenario on 127.0.0.1 and drives the
 * client to the step where that scenario misbehaves.
 */

#define ERR_URN		      "urn:ietf:params:acme:error:"
#define ARI_CERT_ID	      "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

/* ---- the fault server */

static guint
fault_server_count(MeTestFaultServer *fs, const gchar *key)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	JsonObject *counts = json_object_get_object_member(json_node_get_object(root), "counts");
	return json_object_has_member(counts, key) ? (guint)json_object_get_int_member(counts, key) : 0;
}

static guint
fault_server_count_prefix(MeTestFaultServer *fs, const gchar *prefix)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	JsonObject *counts = json_object_get_object_member(json_node_get_object(root), "counts");
	g_autoptr(GList) members = json_object_get_members(counts);
	guint total = 0;

	for (GList *l = members; l != NULL; l = l->next) {
		if (g_str_has_prefix(l->data, prefix))
			total += (guint)json_object_get_int_member(counts, l->data);
	}
	return total;
}

static void
fault_server_assert_nonces_ok(MeTestFaultServer *fs)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	JsonArray *errors = json_object_get_array_member(json_node_get_object(root), "nonce_errors");

	for (guint i = 0; i < json_array_get_length(errors); i++)
		g_test_message("server: %s", json_array_get_string_element(errors, i));
	g_assert_cmpuint(json_array_get_length(errors), ==, 0);
}

/* the server's monotonic times, in ms, of every request with this method and path */
static GArray *
fault_server_times_ms(MeTestFaultServer *fs, const gchar *method, const gchar *path)
{
	g_autoptr(JsonNode) root = me_test_fault_server_stats(fs);
	JsonArray *requests = json_object_get_array_member(json_node_get_object(root), "requests");
	GArray *times = g_array_new(FALSE, FALSE, sizeof(gdouble));

	for (guint i = 0; i < json_array_get_length(requests); i++) {
		JsonObject *req = json_array_get_object_element(requests, i);
		if (g_strcmp0(json_object_get_string_member(req, "method"), method) == 0 &&
		    g_strcmp0(json_object_get_string_member(req, "path"), path) == 0) {
			gdouble t = json_object_get_double_member(req, "t") * 1000.0;
			g_array_append_val(times, t);
		}
	}
	return times;
}

/* ---- certificates built in memory */

static const guint8 ari_aki[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
				 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};

static void
cert_add_ext(X509 *cert, X509 *issuer, gint nid, const gchar *value)
{
	X509V3_CTX ctx;
	g_autoptr(X509_EXTENSION) ext = NULL;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	g_assert_nonnull(ext);
	g_assert_cmpint(X509_add_ext(cert, ext, -1), ==, 1);
}

static void
cert_add_aki(X509 *cert, const guint8 *keyid, gsize len)
{
	g_autoptr(AUTHORITY_KEYID) akid = AUTHORITY_KEYID_new();

	akid->keyid = ASN1_OCTET_STRING_new();
	g_assert_cmpint(ASN1_OCTET_STRING_set(akid->keyid, keyid, (gint)len), ==, 1);
	g_assert_cmpint(X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT), ==, 1);
}

/* an X509 as a downloaded certificate is: parsed from DER, extension caches fresh */
static X509 *
cert_reparse(X509 *cert)
{
	guchar *der = NULL;
	const guchar *p;
	gint len = i2d_X509(cert, &der);
	X509 *copy;

	g_assert_cmpint(len, >, 0);
	p = der;
	copy = d2i_X509(NULL, &p, len);
	OPENSSL_free(der);
	g_assert_nonnull(copy);
	return copy;
}

/*
 * make_cert:
 * @cn: the subject common name
 * @key: the subject key
 * @issuer: (nullable): the issuing certificate; %NULL for self-signed
 * @issuer_key: (nullable): its key
 * @serial_hex: the serial number, hex
 * @aki: (nullable): an explicit authority key identifier (20 bytes), else one derived
 *   from @issuer
 * @is_ca: a CA certificate (else an S/MIME end-entity one)
 */
static X509 *
make_cert(const gchar *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const gchar *serial_hex,
	  const guint8 *aki, gboolean is_ca)
{
	g_autoptr(X509) cert = X509_new();
	g_autoptr(BIGNUM) serial = NULL;
	X509_NAME *name = X509_get_subject_name(cert);

	X509_set_version(cert, 2);
	g_assert_cmpint(BN_hex2bn(&serial, serial_hex), >, 0);
	g_assert_nonnull(BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)));
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 30 * 24 * 3600);
	X509_set_pubkey(cert, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const guchar *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name);
	if (is_ca) {
		cert_add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
		cert_add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
		cert_add_ext(cert, issuer, NID_subject_key_identifier, "hash");
	} else {
		cert_add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
		cert_add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
		cert_add_ext(cert, issuer, NID_ext_key_usage, "emailProtection");
		cert_add_ext(cert, issuer, NID_subject_alt_name, "email:alice@example.test");
	}
	if (aki != NULL)
		cert_add_aki(cert, aki, sizeof(ari_aki));
	else if (issuer != NULL)
		cert_add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
	g_assert_cmpint(X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()), >, 0);
	return cert_reparse(cert);
}

static gchar *
cert_to_pem(X509 *cert)
{
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;

	g_assert_cmpint(PEM_write_bio_X509(bio, cert), ==, 1);
	BIO_get_mem_ptr(bio, &mem);
	return g_strndup(mem->data, mem->length);
}

/* a two-certificate chain, end-entity first, as a CA would send it */
static gchar *
make_chain_pem(X509 **ee_out)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) ca_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(EVP_PKEY) ee_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(X509) ca = NULL;
	g_autoptr(X509) ee = NULL;
	g_autofree gchar *ca_pem = NULL;
	g_autofree gchar *ee_pem = NULL;

	g_assert_no_error(error);
	ca = make_cert("mailenroll fault test CA", ca_key, NULL, NULL, "1001", NULL, TRUE);
	ee = make_cert("alice@example.test", ee_key, ca, ca_key, "0a0b0c0d0e0f", NULL, FALSE);
	ca_pem = cert_to_pem(ca);
	ee_pem = cert_to_pem(ee);
	if (ee_out != NULL)
		*ee_out = g_steal_pointer(&ee);
	return g_strconcat(ee_pem, ca_pem, NULL);
}

static X509 *
make_ari_cert(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);

	g_assert_no_error(error);
	/* BN_hex2bn gives 0x87654321; its DER content gains a leading zero: 00 87 65 43 21 */
	return make_cert("alice@example.test", key, NULL, NULL, "87654321", ari_aki, FALSE);
}

/* ---- assertions */

static gboolean
strv_has_match(const gchar *const *strv, const gchar *needle1, const gchar *needle2)
{
	for (guint i = 0; strv != NULL && strv[i] != NULL; i++) {
		if (strstr(strv[i], needle1) != NULL && strstr(strv[i], needle2) != NULL)
			return TRUE;
	}
	return FALSE;
}

static gdouble
elapsed_ms(gint64 start_us)
{
	return (gdouble)(g_get_monotonic_time() - start_us) / 1000.0;
}

/* ---- the fixture: one server and one client per test */

typedef struct {
	const gchar *scenario;
	gchar *tmp;
	gchar *chain_path;
	MeTestFaultServer *server;
	EVP_PKEY *account_key;
	MeAcmeClient *client;
	gchar *directory_url;
	gchar *account_url;
} Fixture;

static MeAcmeClient *
fixture_client_new(Fixture *f, const gchar *directory_url)
{
	MeAcmeClient *client = me_acme_client_new(directory_url);
	me_http_set_ca_file(me_acme_client_get_http(client), f->server->ca_file);
	me_acme_client_set_account_key(client, f->account_key);
	return client;
}

static void
fixture_setup(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *chain = make_chain_pem(NULL);

	f->scenario = user_data;
	f->tmp = me_test_tmpdir();
	f->chain_path = me_test_write_tmp(f->tmp, "chain.pem", chain);
	f->server = me_test_fault_server_start(f->tmp, f->scenario, f->chain_path);
	f->directory_url = g_strdup_printf("%s/directory", f->server->base);
	f->account_url = g_strdup_printf("%s/acct/1", f->server->base);
	f->account_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	f->client = fixture_client_new(f, f->directory_url);
}

static void
fixture_teardown(Fixture *f, gconstpointer user_data)
{
	me_acme_client_free(f->client);
	EVP_PKEY_free(f->account_key);
	me_test_fault_server_stop(f->server);
	me_test_rm_rf(f->tmp);
	g_free(f->tmp);
	g_free(f->chain_path);
	g_free(f->directory_url);
	g_free(f->account_url);
}

/* scenarios past account creation: skip newAccount with a made-up account URL */
static void
fixture_use_account(Fixture *f)
{
	me_acme_client_set_account_url(f->client, f->account_url);
}

static MeAcmeAccount *
fixture_new_account(Fixture *f, GError **error)
{
	const gchar *contacts[] = {"mailto:alice@example.test", NULL};
	MeAcmeAccountRequest req = {.terms_agreed = TRUE, .contacts = contacts};
	return me_acme_client_new_account(f->client, &req, error);
}

static MeAcmeOrder *
fixture_new_order(Fixture *f, GError **error)
{
	MeAcmeIdentifier id = {.type = (gchar *)"email", .value = (gchar *)"alice@example.test"};
	return me_acme_order_new(f->client, &id, 1, NULL, error);
}

/* ---- a well-behaved run, so the faults below are known to be the only difference */

static void
test_ok_flow(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(MeAcmeOrder) done = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autoptr(EVP_PKEY) cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(GBytes) csr = NULL;
	g_autofree gchar *authz_url = g_strdup_printf("%s/authz/1", f->server->base);
	const MeAcmeChallenge *challenge;
	MeHttp *http = me_acme_client_get_http(f->client);

	g_assert_no_error(error);
	account = fixture_new_account(f, &error);
	g_assert_no_error(error);
	g_assert_true(account->created);
	g_assert_cmpstr(account->url, ==, f->account_url);
	g_assert_cmpstr(account->status, ==, "valid");
	g_assert_cmpstr(me_acme_client_get_account_url(f->client), ==, f->account_url);

	order = fixture_new_order(f, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(order->status, ==, "pending");
	g_assert_cmpuint(g_strv_length(order->authorizations), ==, 1);
	g_assert_cmpstr(order->authorizations[0], ==, authz_url);

	authz = me_acme_authz_get(f->client, order->authorizations[0], &error);
	g_assert_no_error(error);
	g_assert_cmpstr(authz->status, ==, "pending");
	g_assert_cmpstr(authz->identifier.value, ==, "alice@example.test");
	challenge = me_acme_authz_find_challenge(authz, "email-reply-00");
	g_assert_nonnull(challenge);
	g_assert_cmpstr(me_acme_challenge_get_member(challenge, "from"), ==, "acme-challenge@ca.example.test");

	answered = me_acme_challenge_respond(f->client, challenge->url, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(answered->status, ==, "processing");
	valid = me_acme_authz_poll(f->client, authz->url, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(valid->status, ==, "valid");

	csr = me_test_csr_dns(cert_key, "alice.example.test");
	done = me_acme_order_finalize(f->client, order, csr, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(done->status, ==, "valid");
	g_assert_nonnull(done->certificate);
	chain = me_acme_order_download(f->client, done->certificate, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(chain->certs->len, ==, 2);
	g_assert_cmpuint(g_strv_length(chain->alternates), ==, 0);

	/* every nonce was one the server handed out, used once; one connection for all */
	fault_server_assert_nonces_ok(f->server);
	g_assert_cmpuint(fault_server_count(f->server, "GET /directory"), ==, 1);
	/* the directory and every answer carried a nonce, so none had to be fetched */
	g_assert_cmpuint(fault_server_count(f->server, "HEAD /new-nonce"), ==, 0);
	g_assert_cmpuint(me_http_get_connection_count(http), ==, 1);
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(f->client), ==, 0);
}

/* ---- the directory */

static void
test_directory_fault(Fixture *f, gconstpointer user_data)
{
	static const struct {
		const gchar *scenario;
		MeError code;
	} table[] = {
	    {"dir-500", ME_ERROR_SERVER},
	    {"dir-truncated", ME_ERROR_NETWORK},
	    {"dir-oversized", ME_ERROR_TOO_LARGE},
	    {"dir-oversized-chunked", ME_ERROR_TOO_LARGE},
	    {"dir-invalid-json", ME_ERROR_INVALID_DATA},
	    {"dir-missing-newnonce", ME_ERROR_INVALID_DATA},
	};
	g_autoptr(GError) error = NULL;
	const MeAcmeDirectory *dir;
	MeError want = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
		if (g_strcmp0(table[i].scenario, f->scenario) == 0)
			want = table[i].code;
	}
	g_assert_cmpint(want, !=, 0);
	dir = me_acme_client_get_directory(f->client, &error);
	g_assert_null(dir);
	g_assert_error(error, ME_ERROR, (gint)want);
	me_test_assert_sentence(error);
	g_assert_null(me_acme_client_get_directory_json(f->client));
	g_assert_cmpuint(fault_server_count(f->server, "GET /directory"), ==, 1);

	if (want == ME_ERROR_SERVER) {
		const MeAcmeProblem *problem = me_error_get_problem(error);
		g_assert_nonnull(problem);
		g_assert_null(problem->type);
		g_assert_cmpuint(problem->status, ==, 500);
		g_assert_cmpint(problem->retry_after, ==, -1);
		g_assert_nonnull(strstr(error->message, "500"));
	}
	if (g_strcmp0(f->scenario, "dir-missing-newnonce") == 0)
		g_assert_nonnull(strstr(error->message, "newNonce"));
}

static void
test_directory_http_url(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "newAccount"));
	/* refused on sight: nothing was posted anywhere, over either scheme */
	g_assert_cmpuint(fault_server_count_prefix(f->server, "POST "), ==, 0);
	g_assert_cmpuint(fault_server_count_prefix(f->server, "plain "), ==, 0);
	g_assert_cmpuint(fault_server_count(f->server, "HEAD /new-nonce"), ==, 0);
}

static void
test_directory_redirect(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeClient) insecure = NULL;
	g_autoptr(MeAcmeClient) loop = NULL;
	g_autofree gchar *new_nonce = g_strdup_printf("%s/new-nonce", f->server->base);
	g_autofree gchar *insecure_url = g_strdup_printf("%s/_redirect/http", f->server->base);
	g_autofree gchar *loop_url = g_strdup_printf("%s/_redirect/loop", f->server->base);
	const MeAcmeDirectory *dir;

	/* https to https on the same server: followed */
	dir = me_acme_client_get_directory(f->client, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(dir->new_nonce, ==, new_nonce);
	g_assert_cmpuint(fault_server_count(f->server, "GET /directory"), ==, 1);
	g_assert_cmpuint(fault_server_count(f->server, "GET /directory-moved"), ==, 1);

	/* https to http: refused, though a plain-HTTP directory would have answered there */
	insecure = fixture_client_new(f, insecure_url);
	g_assert_null(me_acme_client_get_directory(insecure, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	g_assert_cmpuint(fault_server_count(f->server, "GET /_redirect/http"), ==, 1);
	g_assert_cmpuint(fault_server_count(f->server, "GET /directory"), ==, 1);
	g_assert_cmpuint(fault_server_count_prefix(f->server, "plain "), ==, 0);

	/* a loop ends at the redirect cap */
	loop = fixture_client_new(f, loop_url);
	g_assert_null(me_acme_client_get_directory(loop, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_cmpuint(fault_server_count(f->server, "GET /_redirect/loop"), >=, 2);
	g_assert_cmpuint(fault_server_count(f->server, "GET /_redirect/loop"), <=, 4);
}

static void
test_directory_stall(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeClient) second = fixture_client_new(f, f->directory_url);
	gint64 start;
	gdouble ms;

	/* the low-speed limit: below 1 byte/s for 1 s */
	me_http_set_timeouts(me_acme_client_get_http(f->client), 2000, 20000, 1);
	start = g_get_monotonic_time();
	g_assert_null(me_acme_client_get_directory(f->client, &error));
	ms = elapsed_ms(start);
	g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
	me_test_assert_sentence(error);
	g_test_message("low-speed timeout after %.0f ms", ms);
	g_assert_cmpfloat(ms, >=, 900);
	g_assert_cmpfloat(ms, <, 5000);
	g_clear_error(&error);

	/* the total time limit, with the low-speed check off */
	me_http_set_timeouts(me_acme_client_get_http(second), 2000, 700, 0);
	start = g_get_monotonic_time();
	g_assert_null(me_acme_client_get_directory(second, &error));
	ms = elapsed_ms(start);
	g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
	me_test_assert_sentence(error);
	g_test_message("total timeout after %.0f ms", ms);
	g_assert_cmpfloat(ms, >=, 600);
	g_assert_cmpfloat(ms, <, 3000);
}

/* ---- problem documents */

static void
test_rate_limited(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	const MeAcmeProblem *problem;

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_RATE_LIMITED);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "rateLimited");
	g_assert_cmpstr(me_acme_problem_get_short_type(problem), ==, "rateLimited");
	g_assert_cmpstr(problem->detail, ==, "too many new accounts from this address");
	g_assert_cmpuint(problem->status, ==, 429);
	g_assert_nonnull(strstr(error->message, problem->detail));
	if (g_strcmp0(f->scenario, "rate-limited-date") == 0) {
		/* an HTTP-date 30 s ahead; a second or two may have passed */
		g_assert_cmpint(problem->retry_after, >=, 25);
		g_assert_cmpint(problem->retry_after, <=, 31);
	} else {
		g_assert_cmpint(problem->retry_after, ==, 7);
		g_assert_nonnull(strstr(error->message, "7 seconds"));
		g_assert_true(strv_has_match((const gchar *const *)problem->links,
					     "<https://ca.example.test/docs/rate-limits>", "rel=\"help\""));
	}
	g_assert_cmpint(me_error_get_retry_after(error), ==, problem->retry_after);
	/* a rate limit is not retried */
	g_assert_cmpuint(fault_server_count(f->server, "POST /new-account"), ==, 1);
	g_assert_null(me_acme_client_get_account_url(f->client));
}

static void
test_user_action(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	const MeAcmeProblem *problem;

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_USER_ACTION_REQUIRED);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "userActionRequired");
	g_assert_cmpstr(problem->detail, ==, "the terms of service have changed");
	g_assert_cmpstr(problem->instance, ==, "https://ca.example.test/agree?account=1");
	g_assert_cmpuint(problem->status, ==, 403);
	g_assert_cmpint(problem->retry_after, ==, -1);
	g_assert_true(strv_has_match((const gchar *const *)problem->links, "<https://ca.example.test/tos-v2>",
				     "rel=\"terms-of-service\""));
}

static void
test_eab_required(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	const MeAcmeProblem *problem;

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "externalAccountRequired");
	g_assert_cmpstr(problem->detail, ==, "this CA needs an external account binding");
	g_assert_cmpuint(problem->status, ==, 400);
}

static void
test_server_error_plain(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	const MeAcmeProblem *problem;

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_SERVER);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "500"));
	/* no problem document, but the status and Retry-After are kept */
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_null(problem->type);
	g_assert_cmpuint(problem->status, ==, 500);
	g_assert_cmpint(me_error_get_retry_after(error), ==, 120);
	g_assert_cmpuint(fault_server_count(f->server, "POST /new-account"), ==, 1);
}

static void
test_subproblems(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	const MeAcmeProblem *problem;
	const MeAcmeSubproblem *sub;

	fixture_use_account(f);
	order = fixture_new_order(f, &error);
	g_assert_null(order);
	g_assert_error(error, ME_ERROR, ME_ERROR_REJECTED_IDENTIFIER);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "rejectedIdentifier");
	g_assert_cmpstr(problem->detail, ==, "some identifiers were rejected");
	g_assert_cmpuint(problem->subproblems->len, ==, 2);
	sub = g_ptr_array_index(problem->subproblems, 0);
	g_assert_cmpstr(sub->type, ==, ERR_URN "rejectedIdentifier");
	g_assert_cmpstr(sub->detail, ==, "this mailbox is not served");
	g_assert_cmpstr(sub->identifier_type, ==, "email");
	g_assert_cmpstr(sub->identifier_value, ==, "bob@example.test");
	sub = g_ptr_array_index(problem->subproblems, 1);
	g_assert_cmpstr(sub->type, ==, ERR_URN "unsupportedIdentifier");
	g_assert_cmpstr(sub->detail, ==, "dns is not offered");
	g_assert_cmpstr(sub->identifier_type, ==, "dns");
	g_assert_cmpstr(sub->identifier_value, ==, "example.test");
}

/* ---- nonces */

static void
test_always_bad_nonce(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	g_autoptr(MeAcmeClient) impatient = NULL;
	g_autoptr(MeAcmeAccount) account2 = NULL;
	const MeAcmeProblem *problem;

	g_assert_null(account);
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_NONCE);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "badNonce");
	/* the default cap is 3 retries: 4 POSTs, each with the nonce of the error before it */
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(f->client), ==, 3);
	g_assert_cmpuint(fault_server_count(f->server, "POST /new-account"), ==, 3 + 1);
	g_assert_cmpuint(fault_server_count(f->server, "HEAD /new-nonce"), ==, 0);
	fault_server_assert_nonces_ok(f->server);
	g_clear_error(&error);

	/* no retries at all */
	impatient = fixture_client_new(f, f->directory_url);
	me_acme_client_set_bad_nonce_retries(impatient, 0);
	account2 = me_acme_client_new_account(impatient, &(MeAcmeAccountRequest){.terms_agreed = TRUE}, &error);
	g_assert_null(account2);
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_NONCE);
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(impatient), ==, 0);
	g_assert_cmpuint(fault_server_count(f->server, "POST /new-account"), ==, 3 + 1 + 1);
}

static void
test_bad_nonce_once(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);

	g_assert_no_error(error);
	g_assert_nonnull(account);
	g_assert_cmpstr(account->url, ==, f->account_url);
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(f->client), ==, 1);
	g_assert_cmpuint(fault_server_count(f->server, "POST /new-account"), ==, 2);
	/* the directory's nonce, then the one that came with the error: none fetched */
	g_assert_cmpuint(fault_server_count(f->server, "HEAD /new-nonce"), ==, 0);
	fault_server_assert_nonces_ok(f->server);
}

static void
test_bad_nonce_header(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = fixture_new_account(f, &error);
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(account);
	order = fixture_new_order(f, &error);
	g_assert_no_error(error);
	authz = me_acme_authz_get(f->client, order->authorizations[0], &error);
	g_assert_no_error(error);
	/* every Replay-Nonce but newNonce's was invalid and ignored: one HEAD per POST, and
	 * the server never saw one of its invalid values come back */
	g_assert_cmpuint(fault_server_count(f->server, "HEAD /new-nonce"), ==, 3);
	g_assert_cmpuint(fault_server_count_prefix(f->server, "POST "), ==, 3);
	fault_server_assert_nonces_ok(f->server);
	g_assert_cmpuint(me_acme_client_get_bad_nonce_count(f->client), ==, 0);
}

/* ---- certificate download */

static void
test_cert_refused(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/cert/1", f->server->base);

	fixture_use_account(f);
	chain = me_acme_order_download(f->client, url, &error);
	g_assert_null(chain);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_cmpuint(fault_server_count(f->server, "POST /cert/1"), ==, 1);
}

static void
test_cert_alternates(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/cert/1", f->server->base);
	g_autofree gchar *alt1 = g_strdup_printf("%s/cert/1/alt/1", f->server->base);
	g_autofree gchar *alt2 = g_strdup_printf("%s/cert/1/alt/2", f->server->base);

	fixture_use_account(f);
	chain = me_acme_order_download(f->client, url, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(chain->certs->len, ==, 2);
	/* end-entity first, issued by the second */
	g_assert_cmpint(X509_check_issued(g_ptr_array_index(chain->certs, 1), g_ptr_array_index(chain->certs, 0)), ==,
			X509_V_OK);
	g_assert_true(g_str_has_prefix(chain->pem, "-----BEGIN CERTIFICATE-----"));
	/* both alternates, and not the rel="index" link every response carries */
	g_assert_cmpuint(g_strv_length(chain->alternates), ==, 2);
	g_assert_cmpstr(chain->alternates[0], ==, alt1);
	g_assert_cmpstr(chain->alternates[1], ==, alt2);
}

/* ---- orders and authorizations */

static void
test_order_invalid(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeOrder) polled = NULL;
	const MeAcmeProblem *problem;

	fixture_use_account(f);
	order = fixture_new_order(f, &error);
	g_assert_no_error(error);
	polled = me_acme_order_poll(f->client, order->url, &error);
	g_assert_null(polled);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	if (g_strcmp0(f->scenario, "order-invalid-bare") == 0) {
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_STATE);
		g_assert_null(problem);
	} else {
		/* the order's own problem travels with the error, coded by its type */
		g_assert_error(error, ME_ERROR, ME_ERROR_ACME);
		g_assert_nonnull(problem);
		g_assert_cmpstr(problem->type, ==, ERR_URN "caa");
		g_assert_cmpstr(problem->detail, ==, "CAA record forbids issuance");
		g_assert_cmpuint(problem->status, ==, 403);
		g_assert_nonnull(strstr(error->message, problem->detail));
	}
	g_assert_cmpuint(fault_server_count(f->server, "POST /order/1"), ==, 1);
}

static void
test_authz_invalid(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	const MeAcmeProblem *problem;

	fixture_use_account(f);
	authz = me_acme_authz_poll(f->client, url, &error);
	g_assert_null(authz);
	g_assert_error(error, ME_ERROR, ME_ERROR_INCORRECT_RESPONSE);
	me_test_assert_sentence(error);
	problem = me_error_get_problem(error);
	g_assert_nonnull(problem);
	g_assert_cmpstr(problem->type, ==, ERR_URN "incorrectResponse");
	g_assert_cmpstr(problem->detail, ==, "the reply's digest does not match");
}

static void
test_bad_status_value(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;

	fixture_use_account(f);
	order = fixture_new_order(f, &error);
	g_assert_null(order);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "weird"));
}

/* ---- polling */

static void
test_poll_retry_after(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(GArray) times = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	gint64 start;
	gdouble ms;

	fixture_use_account(f);
	start = g_get_monotonic_time();
	authz = me_acme_authz_poll(f->client, url, &error);
	ms = elapsed_ms(start);
	g_assert_no_error(error);
	g_assert_cmpstr(authz->status, ==, "valid");
	g_test_message("two Retry-After: 1 took %.0f ms", ms);
	g_assert_cmpfloat(ms, >=, 1900);
	g_assert_cmpfloat(ms, <, 4000);
	/* each wait honoured Retry-After (1 s), and was not much longer */
	times = fault_server_times_ms(f->server, "POST", "/authz/1");
	g_assert_cmpuint(times->len, ==, 3);
	for (guint i = 1; i < times->len; i++) {
		gdouble gap = g_array_index(times, gdouble, i) - g_array_index(times, gdouble, i - 1);
		g_test_message("gap %u: %.0f ms", i, gap);
		g_assert_cmpfloat(gap, >=, 950);
		g_assert_cmpfloat(gap, <, 1800);
	}
}

static void
test_poll_no_retry_after(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	gint64 start;
	gdouble ms;

	fixture_use_account(f);
	start = g_get_monotonic_time();
	authz = me_acme_authz_poll(f->client, url, &error);
	ms = elapsed_ms(start);
	g_assert_no_error(error);
	g_assert_cmpstr(authz->status, ==, "valid");
	/* the default policy: a few ms, then a short doubling back-off */
	g_test_message("three pending without Retry-After took %.0f ms", ms);
	g_assert_cmpfloat(ms, <, 900);
	g_assert_cmpuint(fault_server_count(f->server, "POST /authz/1"), ==, 4);
}

static void
test_poll_backoff(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(GArray) times = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	MeAcmePollPolicy policy;
	gdouble start_ms, first, gap1, gap2, gap3;

	/* steps long enough to tell apart from what each request itself costs */
	me_acme_client_get_poll_policy(f->client, &policy);
	policy.first_poll_ms = 150;
	policy.first_backoff_ms = 100;
	me_acme_client_set_poll_policy(f->client, &policy);
	fixture_use_account(f);
	/* waits count from the last response (here: the directory's), not from the call */
	g_assert_nonnull(me_acme_client_get_directory(f->client, &error));
	g_assert_no_error(error);
	/* the server's time.monotonic() and g_get_monotonic_time() read the same clock */
	start_ms = (gdouble)g_get_monotonic_time() / 1000.0;
	authz = me_acme_authz_poll(f->client, url, &error);
	g_assert_no_error(error);
	times = fault_server_times_ms(f->server, "POST", "/authz/1");
	g_assert_cmpuint(times->len, ==, 4);
	first = g_array_index(times, gdouble, 0) - start_ms;
	gap1 = g_array_index(times, gdouble, 1) - g_array_index(times, gdouble, 0);
	gap2 = g_array_index(times, gdouble, 2) - g_array_index(times, gdouble, 1);
	gap3 = g_array_index(times, gdouble, 3) - g_array_index(times, gdouble, 2);
	g_test_message("first poll after %.0f ms, then gaps of %.0f, %.0f, %.0f ms", first, gap1, gap2, gap3);
	/* the documented sequence: first_poll_ms, then first_backoff_ms doubling each time
	 * (100, 200, 400); the differences cancel out the cost of each request */
	g_assert_cmpfloat(first, >=, 150);
	g_assert_cmpfloat(first, <, 400);
	g_assert_cmpfloat(gap1, >=, 100);
	g_assert_cmpfloat(gap2 - gap1, >=, 70);
	g_assert_cmpfloat(gap2 - gap1, <, 150);
	g_assert_cmpfloat(gap3 - gap2, >=, 150);
	g_assert_cmpfloat(gap3 - gap2, <, 280);
}

static void
test_poll_work_in_between(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(GArray) times = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	MeAcmePollPolicy policy;
	gdouble call_ms, first;

	me_acme_client_get_poll_policy(f->client, &policy);
	policy.first_poll_ms = 150;
	me_acme_client_set_poll_policy(f->client, &policy);
	fixture_use_account(f);
	g_assert_nonnull(me_acme_client_get_directory(f->client, &error));
	g_assert_no_error(error);
	/* the caller works for longer than the first wait (a key, a CSR) before polling:
	 * that time counts, so the first poll goes out at once */
	g_usleep(200 * 1000);
	call_ms = (gdouble)g_get_monotonic_time() / 1000.0;
	authz = me_acme_authz_poll(f->client, url, &error);
	g_assert_no_error(error);
	times = fault_server_times_ms(f->server, "POST", "/authz/1");
	first = g_array_index(times, gdouble, 0) - call_ms;
	g_test_message("first poll %.0f ms after the call", first);
	g_assert_cmpfloat(first, <, 60);
}

static void
test_poll_expires(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autofree gchar *url = g_strdup_printf("%s/authz/1", f->server->base);
	MeAcmePollPolicy policy;
	gint64 start;
	gdouble ms;

	/* a poll timeout well past the authorization's expiry (~2 s): the expiry must win */
	me_acme_client_get_poll_policy(f->client, &policy);
	policy.timeout_ms = 8000;
	me_acme_client_set_poll_policy(f->client, &policy);
	fixture_use_account(f);
	start = g_get_monotonic_time();
	authz = me_acme_authz_poll(f->client, url, &error);
	ms = elapsed_ms(start);
	g_assert_null(authz);
	g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
	me_test_assert_sentence(error);
	g_test_message("gave up after %.0f ms and %u polls", ms, fault_server_count(f->server, "POST /authz/1"));
	g_assert_cmpfloat(ms, <, 4000);
}

/* ---- ACME renewal information (RFC 9773) */

static void
test_ari_cert_id(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(X509) cert = make_ari_cert();
	g_autoptr(X509) ee = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(X509) no_aki = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *pem = NULL;
	g_autofree gchar *ee_id = NULL;
	g_auto(GStrv) parts = NULL;

	g_assert_no_error(error);
	/* docs/standards.md §2.7 */
	id = me_acme_cert_id(cert, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, ARI_CERT_ID);

	/* an issued certificate whose AKI comes from its issuer: 20 bytes, serial kept */
	pem = make_chain_pem(&ee);
	ee_id = me_acme_cert_id(ee, &error);
	g_assert_no_error(error);
	parts = g_strsplit(ee_id, ".", -1);
	g_assert_cmpuint(g_strv_length(parts), ==, 2);
	g_assert_cmpuint(strlen(parts[0]), ==, 27);
	g_assert_cmpstr(parts[1], ==, "CgsMDQ4P");
	g_assert_null(strchr(ee_id, '='));

	/* no authority key identifier, no certID */
	no_aki = make_cert("self", key, NULL, NULL, "01", NULL, TRUE);
	g_assert_null(me_acme_cert_id(no_aki, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
}

static void
test_ari_ok(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(X509) cert = make_ari_cert();
	g_autoptr(MeAcmeRenewalInfo) info = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	info = me_acme_renewal_info_get(f->client, cert, &error);
	g_assert_no_error(error);
	g_assert_cmpint(info->retry_after, ==, 3600);
	g_assert_cmpint(info->start, >=, now + 86400 - 60);
	g_assert_cmpint(info->start, <=, now + 86400 + 60);
	g_assert_cmpint(info->end, ==, info->start + 2 * 86400);
	g_assert_cmpstr(info->explanation_url, ==, "https://ca.example.test/ari");
	/* an unauthenticated GET of <renewalInfo>/<certID> */
	g_assert_cmpuint(fault_server_count(f->server, "GET /renewal-info/" ARI_CERT_ID), ==, 1);
	g_assert_cmpuint(fault_server_count_prefix(f->server, "POST "), ==, 0);
	for (guint i = 0; i < 50; i++) {
		gint64 when = me_acme_renewal_info_pick_time(info, now);
		g_assert_cmpint(when, >=, info->start);
		g_assert_cmpint(when, <=, info->end);
	}
}

static void
test_ari_bad_window(Fixture *f, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(X509) cert = make_ari_cert();
	g_autoptr(MeAcmeRenewalInfo) info = NULL;

	info = me_acme_renewal_info_get(f->client, cert, &error);
	g_assert_null(info);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "suggestedWindow"));
	g_assert_cmpuint(fault_server_count(f->server, "GET /renewal-info/" ARI_CERT_ID), ==, 1);
}

static void
test_ari_pick_time(void)
{
	MeAcmeRenewalInfo info = {.start = 1000000, .end = 1000000 + 86400, .retry_after = -1};
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	static gint64 picks[200];

	/* the window lies ahead: anywhere in it, and not always the same moment */
	for (guint i = 0; i < G_N_ELEMENTS(picks); i++) {
		picks[i] = me_acme_renewal_info_pick_time(&info, 500000);
		g_assert_cmpint(picks[i], >=, info.start);
		g_assert_cmpint(picks[i], <=, info.end);
		g_hash_table_add(seen, &picks[i]);
	}
	g_assert_cmpuint(g_hash_table_size(seen), >, 1);
	/* we are inside it: only what is left of it */
	for (guint i = 0; i < 200; i++) {
		gint64 when = me_acme_renewal_info_pick_time(&info, info.start + 80000);
		g_assert_cmpint(when, >=, info.start + 80000);
		g_assert_cmpint(when, <=, info.end);
	}
	/* it has passed (or ends right now): renew now */
	g_assert_cmpint(me_acme_renewal_info_pick_time(&info, info.end + 5), ==, info.end + 5);
	g_assert_cmpint(me_acme_renewal_info_pick_time(&info, info.end), ==, info.end);
}

/* ---- me_acme_chain_parse() on its own */

static void
assert_chain_refused(const gchar *data, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);
	g_autoptr(MeAcmeChain) chain = me_acme_chain_parse(bytes, &error);

	g_assert_null(chain);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
}

static void
test_chain_parse(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(X509) ee = NULL;
	g_autofree gchar *pem = make_chain_pem(&ee);
	g_autoptr(GBytes) bytes = g_bytes_new(pem, strlen(pem));
	g_autoptr(MeAcmeChain) chain = me_acme_chain_parse(bytes, &error);
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(MeSecretStr) key_pem = NULL;
	g_autofree gchar *with_key = NULL;
	g_autofree gchar *key_first = NULL;
	g_autofree gchar *with_nul = NULL;
	g_autofree gchar *with_csr = NULL;
	g_autofree gchar *broken = NULL;
	g_autoptr(GString) ten = g_string_new(NULL);
	g_autoptr(GString) eleven = NULL;
	g_autoptr(GBytes) ten_bytes = NULL;
	g_autoptr(MeAcmeChain) ten_chain = NULL;
	gsize pem_len = strlen(pem);
	const gchar *ec_key = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
	const gchar *garbage = "this is not a certificate chain\n";

	g_assert_no_error(error);
	g_assert_nonnull(chain);
	g_assert_cmpuint(chain->certs->len, ==, 2);
	g_assert_cmpint(X509_cmp(g_ptr_array_index(chain->certs, 0), ee), ==, 0);
	g_assert_cmpstr(chain->pem, ==, pem);
	g_assert_nonnull(chain->alternates);
	g_assert_cmpuint(g_strv_length(chain->alternates), ==, 0);

	/* RFC 8555 §11.4: a key anywhere in the file refuses all of it */
	key_pem = me_key_to_pem(key, &error);
	g_assert_no_error(error);
	with_key = g_strconcat(pem, key_pem, NULL);
	assert_chain_refused(with_key, strlen(with_key));
	key_first = g_strconcat(key_pem, pem, NULL);
	assert_chain_refused(key_first, strlen(key_first));
	assert_chain_refused(ec_key, strlen(ec_key));
	with_csr = g_strconcat(pem, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
			       NULL);
	assert_chain_refused(with_csr, strlen(with_csr));

	/* empty, a NUL byte, not PEM, a CERTIFICATE block that does not parse */
	assert_chain_refused("", 0);
	with_nul = g_memdup2(pem, pem_len);
	with_nul[pem_len / 2] = '\0';
	assert_chain_refused(with_nul, pem_len);
	assert_chain_refused(garbage, strlen(garbage));
	broken = g_strdup(pem);
	memcpy(strstr(broken, "-----BEGIN CERTIFICATE-----\n") + 28, "!!!!", 4);
	assert_chain_refused(broken, strlen(broken));

	/* ten certificates are fine, eleven are too many */
	for (guint i = 0; i < 5; i++)
		g_string_append(ten, pem);
	ten_bytes = g_bytes_new(ten->str, ten->len);
	ten_chain = me_acme_chain_parse(ten_bytes, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ten_chain->certs->len, ==, 10);
	eleven = g_string_new(ten->str);
	g_string_append_len(eleven, pem, strstr(pem + 1, "-----BEGIN") - pem);
	assert_chain_refused(eleven->str, eleven->len);
}

int
main(int argc, char **argv)
{
	static const gchar *const directory_faults[] = {"dir-500",
							"dir-truncated",
							"dir-oversized",
							"dir-oversized-chunked",
							"dir-invalid-json",
							"dir-missing-newnonce"};

	g_test_init(&argc, &argv, NULL);

#define ADD(path, scenario, func) \
	g_test_add("/acme-faults/" path, Fixture, scenario, fixture_setup, func, fixture_teardown)

	ADD("ok/full-flow", "ok", test_ok_flow);
	for (gsize i = 0; i < G_N_ELEMENTS(directory_faults); i++) {
		g_autofree gchar *path = g_strdup_printf("/acme-faults/directory/%s", directory_faults[i] + 4);
		g_test_add(path, Fixture, directory_faults[i], fixture_setup, test_directory_fault, fixture_teardown);
	}
	ADD("directory/http-url", "dir-http-url", test_directory_http_url);
	ADD("directory/redirect", "redirect", test_directory_redirect);
	ADD("directory/stall", "stall", test_directory_stall);
	ADD("problem/rate-limited", "rate-limited", test_rate_limited);
	ADD("problem/rate-limited-date", "rate-limited-date", test_rate_limited);
	ADD("problem/user-action", "user-action", test_user_action);
	ADD("problem/eab-required", "eab-required", test_eab_required);
	ADD("problem/server-error-plain", "server-error-plain", test_server_error_plain);
	ADD("problem/subproblems", "subproblems", test_subproblems);
	ADD("nonce/always-bad", "always-bad-nonce", test_always_bad_nonce);
	ADD("nonce/bad-once", "bad-nonce-once", test_bad_nonce_once);
	ADD("nonce/bad-header", "bad-nonce-header", test_bad_nonce_header);
	ADD("cert/with-key", "cert-with-key", test_cert_refused);
	ADD("cert/garbage", "cert-garbage", test_cert_refused);
	ADD("cert/alternates", "cert-alternates", test_cert_alternates);
	ADD("order/invalid", "order-invalid", test_order_invalid);
	ADD("order/invalid-bare", "order-invalid-bare", test_order_invalid);
	ADD("order/bad-status-value", "bad-status-value", test_bad_status_value);
	ADD("authz/invalid", "authz-invalid", test_authz_invalid);
	ADD("poll/retry-after", "poll-retry-after", test_poll_retry_after);
	ADD("poll/no-retry-after", "poll-no-retry-after", test_poll_no_retry_after);
	ADD("poll/backoff", "poll-no-retry-after", test_poll_backoff);
	ADD("poll/work-in-between", "poll-no-retry-after", test_poll_work_in_between);
	ADD("poll/expires", "poll-expires", test_poll_expires);
	ADD("ari/renewal-info", "ok-ari", test_ari_ok);
	ADD("ari/bad-window", "ari-bad-window", test_ari_bad_window);
#undef ADD
	g_test_add_func("/acme-faults/ari/cert-id", test_ari_cert_id);
	g_test_add_func("/acme-faults/ari/pick-time", test_ari_pick_time);
	g_test_add_func("/acme-faults/chain/parse", test_chain_parse);

	return g_test_run();
}
