/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* RFC 8823 end to end against the project's test CA, with real parts only: the CA
 * DKIM-signs its challenge mail, dnsmasq on loopback serves the key, the verifier checks
 * it, the reply we compose goes into the CA's drop folder, and the CA's own reply checks
 * (and, where asked, its DKIM verification of our signed reply) decide the challenge. */

#include "config.h"

#include <glib/gstdio.h>
#include <openssl/x509.h>
#include <string.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "challenge.h"
#include "dkim.h"
#include "dnsmasq.h"
#include "jws.h"
#include "keys.h"
#include "mail.h"
#include "test-util.h"
#include "verifier.h"

#define MAILBOX	    "alice@example.org"
#define REPLY_SEL   "mail"
#define REPLY_DOMAIN "example.org"

static EVP_PKEY *reply_key_shared;

typedef struct {
	MeTestAcmeCa *ca;
	MeTestDnsmasq *dns;
	MeVerifier *verifier;
	MeAcmeClient *client;
	EVP_PKEY *account_key;
	EVP_PKEY *reply_key; /* our provider's DKIM key for example.org */
	MeTokenJoin join;
	gchar *tmp;
} Fixture;

static gchar *
read_file(const gchar *path)
{
	gchar *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return g_strstrip(text);
}

static void
start_dns(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *txt = read_file(me_test_acme_ca_get(fx->ca, "DKIM_TXT"));

	fx->dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_txt(fx->dns, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"), txt);
	g_assert_true(me_test_dnsmasq_start(fx->dns, &error));
	g_assert_no_error(error);
}

static void
setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply_txt = NULL;
	g_autofree gchar *keys = NULL;
	g_autofree gchar *keys_path = NULL;
	g_autofree gchar *switches = NULL;
	g_auto(GStrv) argv = NULL;

	fx->join = data != NULL && strstr(data, "binary") != NULL ? ME_TOKEN_JOIN_BINARY : ME_TOKEN_JOIN_STRING;
	/* one RSA key for the whole run: generating it per test is slow under valgrind */
	if (reply_key_shared == NULL)
		reply_key_shared = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
	g_assert_no_error(error);
	EVP_PKEY_up_ref(reply_key_shared);
	fx->reply_key = reply_key_shared;
	/* the CA looks our reply key up in a file it rereads for every reply */
	fx->tmp = me_test_tmpdir();
	reply_txt = me_test_dkim_txt(fx->reply_key);
	keys = g_strdup_printf("%s._domainkey.%s %s\n", REPLY_SEL, REPLY_DOMAIN, reply_txt);
	keys_path = me_test_write_tmp(fx->tmp, "reply-keys.txt", keys);
	switches = g_strdup_printf("--dkim ed25519 --reply-dkim-keys %s %s", keys_path,
				   data != NULL ? (const gchar *)data : "");
	argv = g_strsplit(g_strstrip(switches), " ", -1);
	fx->ca = me_test_acme_ca_start((const gchar *const *)argv, &error);
	g_assert_no_error(error);
	start_dns(fx);
	fx->verifier = me_verifier_new(me_test_dnsmasq_get_nameserver(fx->dns), &error);
	g_assert_no_error(error);
	fx->account_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	fx->client = me_acme_client_new(me_test_acme_ca_get(fx->ca, "DIRECTORY"));
	me_http_set_ca_file(me_acme_client_get_http(fx->client), me_test_acme_ca_get(fx->ca, "CA_FILE"));
	me_acme_client_set_account_key(fx->client, fx->account_key);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	me_acme_client_free(fx->client);
	EVP_PKEY_free(fx->account_key);
	EVP_PKEY_free(fx->reply_key);
	me_verifier_free(fx->verifier);
	me_test_dnsmasq_free(fx->dns);
	me_test_acme_ca_stop(fx->ca);
	me_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
}

typedef struct {
	MeAcmeOrder *order;
	MeAcmeAuthz *authz;
	const MeAcmeChallenge *challenge;
	MePendingChallenge pending;
	gchar *thumbprint;
} Pending;

static void
pending_clear(Pending *p)
{
	me_acme_order_free(p->order);
	me_acme_authz_free(p->authz);
	g_free(p->thumbprint);
}

static void
order_email(Fixture *fx, Pending *p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeAccount) account = NULL;
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};
	MeAcmeIdentifier id = {.type = (gchar *)"email", .value = (gchar *)MAILBOX};
	gint64 fetched_at = g_get_real_time() / G_USEC_PER_SEC - 1;

	account = me_acme_client_new_account(fx->client, &req, &error);
	g_assert_no_error(error);
	p->order = me_acme_order_new(fx->client, &id, 1, NULL, &error);
	g_assert_no_error(error);
	p->authz = me_acme_authz_get(fx->client, p->order->authorizations[0], &error);
	g_assert_no_error(error);
	p->challenge = me_acme_authz_find_challenge(p->authz, "email-reply-00");
	g_assert_nonnull(p->challenge);
	p->thumbprint = me_jwk_thumbprint(fx->account_key, &error);
	g_assert_no_error(error);
	p->pending = (MePendingChallenge){
	    .identifier = MAILBOX,
	    .from = me_acme_challenge_get_member(p->challenge, "from"),
	    .token_part2 = p->challenge->token,
	    .challenge_url = p->challenge->url,
	    .expires = p->authz->expires,
	    .fetched_at = fetched_at,
	    .token_join = fx->join,
	};
}

static MeChallengeVerdict *
inspect(Fixture *fx, Pending *p, GBytes *mail)
{
	MeChallengeOptions options = {0};
	gsize len = 0;
	const gchar *data = g_bytes_get_data(mail, &len);

	me_verifier_apply(fx->verifier, &options);
	return me_challenge_inspect(data, len, &p->pending, 1, &options);
}

static void
drop_reply(Fixture *fx, GBytes *reply)
{
	g_autofree gchar *tmp = g_build_filename(me_test_acme_ca_get(fx->ca, "STATE_DIR"), "reply.tmp", NULL);
	g_autofree gchar *final = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), "reply.eml", NULL);

	/* written aside, then renamed in, so the CA never reads half a file */
	g_assert_true(g_file_set_contents(tmp, g_bytes_get_data(reply, NULL), g_bytes_get_size(reply), NULL));
	g_assert_cmpint(g_rename(tmp, final), ==, 0);
}

static GBytes *
compose_reply(Fixture *fx, Pending *p, MeChallengeVerdict *verdict, gboolean sign)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMailReply) reply = me_challenge_build_reply(verdict, &p->pending, p->thumbprint, FALSE, &error);
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = NULL;

	g_assert_no_error(error);
	bytes = me_mail_reply_serialize(reply, &error);
	g_assert_no_error(error);
	if (!sign)
		return g_steal_pointer(&bytes);
	/* an enterprise-provisioned DKIM key for the mailbox's domain signs the reply */
	dns = me_dns_new(NULL, &error);
	dkim = me_dkim_new(dns, &error);
	g_assert_no_error(error);
	{
		GBytes *signed_reply = me_dkim_sign(dkim, bytes, REPLY_DOMAIN, REPLY_SEL, fx->reply_key,
						    ME_DKIM_POLICY_REPLY, &error);
		g_assert_no_error(error);
		return signed_reply;
	}
}

static void
finish_and_check(Fixture *fx, Pending *p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(JsonObject) status = NULL;
	JsonObject *challenge;

	answered = me_acme_challenge_respond(fx->client, p->challenge->url, &error);
	g_assert_no_error(error);
	valid = me_acme_authz_poll(fx->client, p->authz->url, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(valid->status, ==, "valid");
	status = me_test_acme_ca_status(fx->ca);
	challenge = json_array_get_object_element(json_object_get_array_member(status, "challenges"), 0);
	g_assert_cmpint(json_object_get_int_member(challenge, "reply_count"), ==, 1);
	/* a careful reply draws no SHOULD-level warnings from the CA either */
	{
		JsonArray *replies = json_object_get_array_member(challenge, "replies");
		JsonObject *first = json_array_get_object_element(replies, 0);
		JsonArray *warnings = json_object_has_member(first, "warnings")
					  ? json_object_get_array_member(first, "warnings")
					  : NULL;
		g_assert_true(warnings == NULL || json_array_get_length(warnings) == 0);
	}
}

static void
test_dkim_challenge_answered(Fixture *fx, gconstpointer data)
{
	Pending p = {0};
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	g_autoptr(GBytes) reply = NULL;

	order_email(fx, &p);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	verdict = inspect(fx, &p, mail);
	g_test_message("verdict: %s (%s)", verdict->message, verdict->auth.detail);
	g_assert_true(verdict->answerable);
	g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_DKIM);
	reply = compose_reply(fx, &p, verdict, data != NULL && strstr(data, "require-reply-dkim") != NULL);
	drop_reply(fx, reply);
	finish_and_check(fx, &p);
	pending_clear(&p);
}

static void
test_forged_not_answered(Fixture *fx, gconstpointer data)
{
	Pending p = {0};
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(MeChallengeVerdict) verdict = NULL;

	order_email(fx, &p);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	verdict = inspect(fx, &p, mail);
	g_test_message("verdict: %s; %u failure(s), first: %s", verdict->message, verdict->auth.failures->len,
		       verdict->auth.failures->len > 0 ? (const gchar *)g_ptr_array_index(verdict->auth.failures, 0) : "");
	g_assert_false(verdict->answerable);
	g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_UNAUTHENTICATED);
	g_assert_cmpint(verdict->auth.method, ==, ME_CHALLENGE_AUTH_NONE);
	pending_clear(&p);
}

static void
test_tampered_not_answered(Fixture *fx, gconstpointer data)
{
	Pending p = {0};
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(GBytes) tampered = NULL;
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	g_autoptr(MeChallengeVerdict) genuine = NULL;
	gchar *text;
	gsize len = 0;

	order_email(fx, &p);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	genuine = inspect(fx, &p, mail);
	g_assert_true(genuine->answerable);
	/* one byte of the body changed after signing */
	g_bytes_get_data(mail, &len);
	text = g_memdup2(g_bytes_get_data(mail, NULL), len);
	text[len - 3] = text[len - 3] == 'x' ? 'y' : 'x';
	tampered = g_bytes_new_take(text, len);
	verdict = inspect(fx, &p, tampered);
	g_assert_false(verdict->answerable);
	g_assert_cmpint(verdict->reason, ==, ME_CHALLENGE_REASON_UNAUTHENTICATED);
	pending_clear(&p);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/challenge/e2e/dkim-string-join", Fixture, NULL, setup, test_dkim_challenge_answered, teardown);
	g_test_add("/challenge/e2e/dkim-binary-join", Fixture, "--token-join binary", setup,
		   test_dkim_challenge_answered, teardown);
	g_test_add("/challenge/e2e/padded-token-part1", Fixture, "--pad-token-part1", setup,
		   test_dkim_challenge_answered, teardown);
	g_test_add("/challenge/e2e/reply-dkim-signed", Fixture, "--require-reply-dkim", setup,
		   test_dkim_challenge_answered, teardown);
	g_test_add("/challenge/e2e/forged-h-without-auto-submitted", Fixture, "--dkim-omit Auto-Submitted", setup,
		   test_forged_not_answered, teardown);
	g_test_add("/challenge/e2e/forged-d-other-domain", Fixture, "--dkim-domain other.test", setup,
		   test_forged_not_answered, teardown);
	g_test_add("/challenge/e2e/tampered-body", Fixture, NULL, setup, test_tampered_not_answered, teardown);
	{
		gint status = g_test_run();
		EVP_PKEY_free(reply_key_shared);
		return status;
	}
}
