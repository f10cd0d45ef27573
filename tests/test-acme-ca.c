/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* the ACME core against the project's strict RFC 8823 test CA: a whole email-identifier
 * issuance, with the challenge read from the CA's Maildir and the reply put into its drop
 * folder.  The reply is written here by hand from the RFC, as an independent check of the
 * core's JWS, thumbprints and request sequence; the product's own reply comes later. */

#include "config.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <glib/gstdio.h>
#include <string.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "csr.h"
#include "encoding.h"
#include "jws.h"
#include "keys.h"
#include "test-util.h"

#define MAILBOX "alice@example.org"

typedef struct {
	MeTestAcmeCa *ca;
	MeAcmeClient *client;
	EVP_PKEY *account_key;
} Fixture;

static void
setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) switches = g_strsplit(data != NULL ? data : "", " ", -1);

	fx->ca = me_test_acme_ca_start(data != NULL ? (const gchar *const *)switches : NULL, &error);
	g_assert_no_error(error);
	fx->account_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_assert_no_error(error);
	fx->client = me_acme_client_new(me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	me_http_set_ca_file(me_acme_client_get_http(fx->client), me_test_acme_ca_get(fx->ca, "CA_FILE"));
	me_acme_client_set_account_key(fx->client, fx->account_key);
	/* at a 40% rejection rate the default cap of 3 retries fails 2.6% of requests */
	if (data != NULL && strstr(data, "--bad-nonce-rate") != NULL)
		me_acme_client_set_bad_nonce_retries(fx->client, 12);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	me_acme_client_free(fx->client);
	EVP_PKEY_free(fx->account_key);
	me_test_acme_ca_stop(fx->ca);
}

static void
account_new(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	const gchar *contacts[] = {"mailto:" MAILBOX, NULL};
	MeAcmeAccountRequest req = {.terms_agreed = TRUE, .contacts = contacts};
	g_autoptr(MeAcmeAccount) account = me_acme_client_new_account(fx->client, &req, &error);
	g_assert_no_error(error);
	g_assert_true(account->created);
}

static gchar *
wait_for_mail(Fixture *fx)
{
	g_autoptr(GBytes) mail = me_test_acme_ca_wait_mail(fx->ca);
	return g_strndup(g_bytes_get_data(mail, NULL), g_bytes_get_size(mail));
}

static gchar *
header_value(const gchar *mail, const gchar *name)
{
	g_auto(GStrv) lines = g_strsplit(mail, "\r\n", -1);
	g_autofree gchar *prefix = g_strdup_printf("%s: ", name);
	for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		if (g_ascii_strncasecmp(lines[i], prefix, strlen(prefix)) == 0)
			return g_strdup(lines[i] + strlen(prefix));
	}
	return NULL;
}

/* RFC 8823 §3.2 with the "string" join: SHA-256 of token-part1 ‖ token-part2 . thumbprint */
static gchar *
reply_digest(EVP_PKEY *account_key, const gchar *part1, const gchar *part2)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *thumbprint = me_jwk_thumbprint(account_key, &error);
	g_autofree gchar *key_auth = g_strdup_printf("%s%s.%s", part1, part2, thumbprint);
	guchar md[32];
	gsize md_len = sizeof(md);

	g_assert_no_error(error);
	g_assert_true(EVP_Q_digest(NULL, "SHA256", NULL, key_auth, strlen(key_auth), md, &md_len));
	return me_b64u_encode(md, md_len);
}

static void
drop_reply(Fixture *fx, const gchar *mail, const gchar *from, const gchar *part2)
{
	g_autofree gchar *subject = header_value(mail, "Subject");
	g_autofree gchar *message_id = header_value(mail, "Message-ID");
	g_autofree gchar *part1 = NULL;
	g_autofree gchar *digest = NULL;
	g_autofree gchar *reply = NULL;
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *final = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");

	g_assert_true(g_str_has_prefix(subject, "ACME: "));
	part1 = g_strdup(subject + strlen("ACME: "));
	digest = reply_digest(fx->account_key, part1, part2);
	reply = g_strdup_printf("From: <" MAILBOX ">\r\nTo: <%s>\r\nSubject: Re: ACME: %s\r\nDate: %s\r\n"
				"Message-ID: <reply-%08x@example.org>\r\nIn-Reply-To: %s\r\nReferences: %s\r\n"
				"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
				"Content-Transfer-Encoding: 7bit\r\n\r\n"
				"-----BEGIN ACME RESPONSE-----\r\n%s\r\n-----END ACME RESPONSE-----\r\n",
				from, part1, date, g_random_int(), message_id, message_id, digest);
	/* written aside, then renamed in, so the CA never reads half a file */
	tmp = g_build_filename(me_test_acme_ca_get(fx->ca, "STATE_DIR"), "reply.tmp", NULL);
	final = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), "reply.eml", NULL);
	g_assert_true(g_file_set_contents(tmp, reply, -1, NULL));
	g_assert_cmpint(g_rename(tmp, final), ==, 0);
}

static void
check_certificate(Fixture *fx, MeAcmeChain *chain, EVP_PKEY *cert_key)
{
	X509 *ee = g_ptr_array_index(chain->certs, 0);
	g_autoptr(EVP_PKEY) ee_key = X509_get_pubkey(ee);
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *chain_path = me_test_write_tmp(dir, "chain.pem", chain->pem);
	g_autofree gchar *out = NULL;
	gint status = -1;
	const gchar *argv[] = {"openssl", "verify", "-CAfile", me_test_acme_ca_get(fx->ca, "SMIME_ROOT"),
			       "-untrusted", chain_path, "-purpose", "smimesign", chain_path, NULL};

	g_assert_cmpuint(chain->certs->len, ==, 2);
	g_assert_true(me_key_public_equal(ee_key, cert_key));
	g_assert_cmpint(X509_check_email(ee, MAILBOX, 0, 0), ==, 1);
	g_assert_true((X509_get_extended_key_usage(ee) & XKU_SMIME) != 0);
	g_assert_true(me_test_spawn_sync(argv, NULL, &out, NULL, &status));
	g_test_message("openssl verify: %s", out);
	g_assert_cmpint(status, ==, 0);
	me_test_rm_rf(dir);
}

static void
check_replied_once(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *challenges = json_object_get_array_member(status, "challenges");
	JsonObject *challenge = json_array_get_object_element(challenges, 0);

	g_assert_cmpuint(json_array_get_length(challenges), ==, 1);
	g_assert_cmpint(json_object_get_int_member(challenge, "reply_count"), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(challenge, "status"), ==, "valid");
}

static MeAcmeAuthz *
order_and_authz(Fixture *fx, MeAcmeOrder **order_out)
{
	g_autoptr(GError) error = NULL;
	MeAcmeIdentifier id = {.type = (gchar *)"email", .value = (gchar *)MAILBOX};
	MeAcmeOrder *order = me_acme_order_new(fx->client, &id, 1, NULL, &error);
	MeAcmeAuthz *authz;

	g_assert_no_error(error);
	g_assert_cmpstr(order->status, ==, "pending");
	authz = me_acme_authz_get(fx->client, order->authorizations[0], &error);
	g_assert_no_error(error);
	g_assert_cmpstr(authz->identifier.type, ==, "email");
	g_assert_cmpstr(authz->identifier.value, ==, MAILBOX);
	*order_out = order;
	return authz;
}

/* a renewal order names the certificate it replaces (RFC 9773 §5), once */
static void
check_renewal_order(Fixture *fx, X509 *cert)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *cert_id = me_acme_cert_id(cert, &error);
	MeAcmeIdentifier id = {.type = (gchar *)"email", .value = (gchar *)MAILBOX};
	g_autoptr(MeAcmeOrder) renewal = NULL;
	g_autoptr(MeAcmeOrder) again = NULL;

	g_assert_no_error(error);
	renewal = me_acme_order_new(fx->client, &id, 1, cert_id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(renewal->replaces, ==, cert_id);
	again = me_acme_order_new(fx->client, &id, 1, cert_id, &error);
	g_assert_null(again);
	g_assert_error(error, ME_ERROR, ME_ERROR_ALREADY_REPLACED);
}

/* issue 15: a badCSR for the address is told apart from one for the key, each with its
 * own advice; the order stays ready for the right request */
static void
check_bad_csr(Fixture *fx, MeAcmeOrder *order)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, NULL);
	g_autoptr(GBytes) other_san = me_csr_new(cert_key, "bob@example.org", ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, NULL);
	g_autoptr(GBytes) account_csr =
	    me_csr_new(fx->account_key, MAILBOX, ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, NULL);

	g_assert_null(me_acme_order_finalize(fx->client, order, other_san, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_CSR);
	g_test_message("other address: %s", error->message);
	me_test_assert_sentence(error);
	g_assert_true(g_str_has_prefix(error->message, "The certificate authority refused the mailbox address in the "
							"certificate request (subjectAltName"));
	g_assert_nonnull(strstr(error->message, "another key type will not help"));
	g_clear_error(&error);
	g_assert_null(me_acme_order_finalize(fx->client, order, account_csr, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_BAD_CSR);
	g_test_message("account key: %s", error->message);
	me_test_assert_sentence(error);
	g_assert_true(g_str_has_prefix(error->message, "The certificate authority refused the key in the certificate "
							"request (the CSR key is an ACME account key"));
	g_assert_nonnull(strstr(error->message, "key-type= or key-usage= in mailenroll.conf"));
}

static void
test_email_issuance(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(MeAcmeOrder) done = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autoptr(MeAcmeRenewalInfo) ari = NULL;
	g_autoptr(EVP_PKEY) cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, NULL);
	g_autoptr(GBytes) csr = me_csr_new(cert_key, MAILBOX, ME_KEY_USAGE_DUAL, ME_CSR_FLAGS_NONE, NULL);
	g_autofree gchar *mail = NULL;
	const MeAcmeChallenge *challenge;
	const gchar *from;

	account_new(fx);
	authz = order_and_authz(fx, &order);
	challenge = me_acme_authz_find_challenge(authz, "email-reply-00");
	g_assert_nonnull(challenge);
	g_assert_nonnull(challenge->token);
	from = me_acme_challenge_get_member(challenge, "from");
	g_assert_cmpstr(from, ==, me_test_acme_ca_get(fx->ca, "FROM"));

	mail = wait_for_mail(fx);
	drop_reply(fx, mail, from, challenge->token);
	answered = me_acme_challenge_respond(fx->client, challenge->url, &error);
	g_assert_no_error(error);
	valid = me_acme_authz_poll(fx->client, authz->url, &error);
	g_assert_no_error(error);
	check_bad_csr(fx, order);
	done = me_acme_order_finalize(fx->client, order, csr, &error);
	g_assert_no_error(error);
	chain = me_acme_order_download(fx->client, done->certificate, &error);
	g_assert_no_error(error);
	check_certificate(fx, chain, cert_key);
	check_replied_once(fx);

	/* the CA offers renewal information for what it issued */
	ari = me_acme_renewal_info_get(fx->client, g_ptr_array_index(chain->certs, 0), &error);
	g_assert_no_error(error);
	g_assert_cmpint(ari->end, >, ari->start);
	g_test_message("%u requests, %u connection(s), %u badNonce retries",
		       me_http_get_request_count(me_acme_client_get_http(fx->client)),
		       me_http_get_connection_count(me_acme_client_get_http(fx->client)),
		       me_acme_client_get_bad_nonce_count(fx->client));
	g_assert_cmpuint(me_http_get_connection_count(me_acme_client_get_http(fx->client)), ==, 1);
	check_renewal_order(fx, g_ptr_array_index(chain->certs, 0));
}

static void
test_retry_after(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autofree gchar *mail = NULL;
	const MeAcmeChallenge *challenge;
	gint64 start;
	gdouble elapsed;

	account_new(fx);
	authz = order_and_authz(fx, &order);
	challenge = me_acme_authz_find_challenge(authz, "email-reply-00");
	mail = wait_for_mail(fx);
	drop_reply(fx, mail, me_acme_challenge_get_member(challenge, "from"), challenge->token);
	answered = me_acme_challenge_respond(fx->client, challenge->url, &error);
	g_assert_no_error(error);
	/* the CA keeps the challenge processing for 1.5 s and asks for 1 s between polls */
	start = g_get_monotonic_time();
	valid = me_acme_authz_poll(fx->client, authz->url, &error);
	elapsed = (g_get_monotonic_time() - start) / 1e6;
	g_assert_no_error(error);
	g_test_message("validated after %.2f s", elapsed);
	g_assert_cmpfloat(elapsed, >=, 1.0);
	g_assert_cmpfloat(elapsed, <, 4.0);
}

static void
test_rejects_dns(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	MeAcmeIdentifier id = {.type = (gchar *)"dns", .value = (gchar *)"example.org"};
	g_autoptr(MeAcmeOrder) order = NULL;

	account_new(fx);
	order = me_acme_order_new(fx->client, &id, 1, NULL, &error);
	g_assert_null(order);
	g_assert_error(error, ME_ERROR, ME_ERROR_REJECTED_IDENTIFIER);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/acme/test-ca/email-issuance", Fixture, NULL, setup, test_email_issuance, teardown);
	g_test_add("/acme/test-ca/email-issuance-bad-nonces", Fixture, "--bad-nonce-rate 0.4 --seed 7", setup,
		   test_email_issuance, teardown);
	g_test_add("/acme/test-ca/retry-after", Fixture, "--retry-after 1 --validation-delay 1.5", setup,
		   test_retry_after, teardown);
	g_test_add("/acme/test-ca/rejects-dns", Fixture, NULL, setup, test_rejects_dns, teardown);
	return g_test_run();
}
