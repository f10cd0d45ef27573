/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The enrollment engine against the project's RFC 8823 test CA, with a real keyring
 * (gnome-keyring-daemon on a private session bus) and dnsmasq serving the
 * CA's DKIM key: every step persisted, resumed from a fresh process state, one reply. */

#define G_LOG_DOMAIN "MeTestEnroll"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "dnsmasq.h"
#include "enroll.h"
#include "keyring-fixture.h"
#include "jws.h"
#include "keyring.h"
#include "keys.h"
#include "test-util.h"

#define MAILBOX "alice@example.org"

typedef struct {
	MeTestAcmeCa *ca;
	MeTestDnsmasq *dns;
	MeEnrollOptions opts;
	gchar *state_dir;
	gchar *tmp;
} Fixture;

static gchar *
read_text(const gchar *path)
{
	gchar *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return g_strstrip(text);
}

static void
setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *switches = g_strdup_printf("--dkim ed25519 %s", data != NULL ? (const gchar *)data : "");
	g_auto(GStrv) argv = g_strsplit(g_strstrip(switches), " ", -1);
	g_autofree gchar *txt = NULL;

	fx->ca = me_test_acme_ca_start((const gchar *const *)argv, &error);
	g_assert_no_error(error);
	txt = read_text(me_test_acme_ca_get(fx->ca, "DKIM_TXT"));
	fx->dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_txt(fx->dns, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"), txt);
	me_test_dnsmasq_start(fx->dns, &error);
	g_assert_no_error(error);
	fx->tmp = me_test_tmpdir();
	fx->state_dir = g_build_filename(fx->tmp, "state", NULL);
	fx->opts.ca_name = "test-ca";
	fx->opts.directory = me_test_acme_ca_get(fx->ca, "DIRECTORY");
	fx->opts.ca_file = me_test_acme_ca_get(fx->ca, "CA_FILE");
	fx->opts.token_join = data != NULL && strstr(data, "binary") != NULL ? ME_TOKEN_JOIN_BINARY : ME_TOKEN_JOIN_STRING;
	fx->opts.mail_timing = data != NULL && strstr(data, "--mail-on challenge") != NULL ? ME_ENROLL_MAIL_TIMING_CHALLENGE
										      : ME_ENROLL_MAIL_TIMING_AUTHZ;
	fx->opts.key_type = ME_KEY_TYPE_EC_P256;
	fx->opts.usage = ME_KEY_USAGE_DUAL;
	fx->opts.terms_agreed = TRUE;
	fx->opts.dns_server = me_test_dnsmasq_get_nameserver(fx->dns);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	me_test_dnsmasq_free(fx->dns);
	me_test_acme_ca_stop(fx->ca);
	me_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->state_dir);
}

static MeEnroll *
open_enroll(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	MeEnroll *e = me_enroll_open(fx->state_dir, &fx->opts, MAILBOX, &error);

	g_assert_no_error(error);
	g_assert_nonnull(e);
	return e;
}

/* the state file is public data: no key in any form */
static void
assert_state_has_no_secret(MeEnroll *e)
{
	g_autofree gchar *text = read_text(me_state_get_path(me_enroll_get_state(e)));

	g_assert_null(strstr(text, "PRIVATE KEY"));
	g_assert_null(strstr(text, "\"d\""));
}

static void
drop_reply(Fixture *fx, GBytes *reply)
{
	g_autofree gchar *tmp = g_build_filename(me_test_acme_ca_get(fx->ca, "STATE_DIR"), "reply.tmp", NULL);
	g_autofree gchar *final = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), "reply.eml", NULL);

	g_assert_true(g_file_set_contents(tmp, g_bytes_get_data(reply, NULL), (gssize)g_bytes_get_size(reply), NULL));
	g_assert_cmpint(g_rename(tmp, final), ==, 0);
}

static gint64
reply_count(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *challenges = json_object_get_array_member(status, "challenges");
	gint64 n = 0;

	for (guint i = 0; i < json_array_get_length(challenges); i++)
		n += json_object_get_int_member(json_array_get_object_element(challenges, i), "reply_count");
	return n;
}

static MeChallengeVerdict *
inspect(MeEnroll *e, GBytes *mail)
{
	g_autoptr(GError) error = NULL;
	MeChallengeVerdict *v = me_enroll_inspect(e, g_bytes_get_data(mail, NULL), g_bytes_get_size(mail), &error);

	g_assert_no_error(error);
	g_assert_nonnull(v);
	return v;
}

/* everything after the mail, reopening the enrollment between steps when @reopen */
static void
answer_and_finish(Fixture *fx, MeEnroll **e, GBytes *mail, gboolean reopen)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeChallengeVerdict) v = inspect(*e, mail);
	g_autoptr(GBytes) reply = NULL;
	g_autoptr(GBytes) again = NULL;
	g_autoptr(MeMailReply) fields = NULL;

	g_assert_true(v->answerable);
	g_assert_cmpint(me_enroll_get_step(*e), ==, ME_STATE_STEP_WAITING_APPROVAL);
	if (reopen) {
		me_enroll_free(*e);
		*e = open_enroll(fx);
	}
	/* the test hands the reply to the CA itself, as a mail client would */
	me_enroll_set_reply_delivery(*e, ME_ENROLL_REPLY_DELIVERY_MAIL_CLIENT);
	reply = me_enroll_approve(*e, &fields, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(fields->from, ==, MAILBOX);
	g_assert_true(g_str_has_prefix(fields->subject, "Re: ACME:"));
	g_assert_cmpint(me_enroll_get_step(*e), ==, ME_STATE_STEP_ANSWERED);
	/* handed out once, never again */
	again = me_enroll_approve(*e, NULL, &error);
	g_assert_null(again);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_STATE);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	drop_reply(fx, reply);
	g_assert_true(me_enroll_reply_sent(*e, &error));
	g_assert_no_error(error);
	if (reopen) {
		me_enroll_free(*e);
		*e = open_enroll(fx);
	}
	g_assert_true(me_enroll_finish(*e, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(*e), ==, ME_STATE_STEP_ISSUED);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_state_has_no_secret(*e);
}

static void
assert_issued(MeEnroll *e)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(GPtrArray) chain = NULL;

	g_assert_true(me_enroll_load_certificate(e, &key, &chain, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(chain->len, >=, 2);
	g_assert_cmpint(X509_check_private_key(g_ptr_array_index(chain, 0), key), ==, 1);
	g_assert_true(me_enroll_mark_installed(e, "nssdb", "/nowhere", "nick", NULL, FALSE, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_INSTALLED);
}

/* the engine's debug lines with "travelled" in them (structured logging: a writer of its
 * own sees them whatever G_MESSAGES_DEBUG says) */
static guint keys_made_early;

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	for (gsize i = 0; (level & G_LOG_LEVEL_DEBUG) != 0 && i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length == -1 &&
		    strstr(fields[i].value, "the certificate key was made while the reply travelled") != NULL)
			keys_made_early++;
	}
	return g_log_writer_default(level, fields, n_fields, user_data);
}

static void
test_full(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	/* starting again does nothing: no second order */
	g_assert_true(me_enroll_start(e, &error));
	assert_state_has_no_secret(e);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	keys_made_early = 0;
	answer_and_finish(fx, &e, mail, FALSE);
	assert_issued(e);
	/* issue 18: the key was made on its own thread from the approval on, while the reply
	 * went out and the CA validated it, and it is the one in the keyring and the
	 * certificate (assert_issued() matched them) */
	g_assert_cmpuint(keys_made_early, ==, 1);

	keys = me_keyring_list(ME_KEYRING_KIND_CERTIFICATE_KEY, MAILBOX, fx->opts.directory, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 1);
}

/* a fresh MeEnroll (as after a restart) at every step */
static void
test_resume(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	MeEnroll *e = open_enroll(fx);
	g_autoptr(GBytes) mail = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	me_enroll_free(e);
	e = open_enroll(fx);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	answer_and_finish(fx, &e, mail, TRUE);
	me_enroll_free(e);
	e = open_enroll(fx);
	assert_issued(e);
	me_enroll_free(e);
}

/* the CA mails only after the challenge POST */
static void
test_mail_on_challenge(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) mail = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	g_assert_true(me_state_get_bool(me_enroll_get_state(e), "challenge_posted"));
	mail = me_test_acme_ca_wait_mail(fx->ca);
	answer_and_finish(fx, &e, mail, FALSE);
}

/* repeated mails of one challenge: the first composes the reply, the rest change nothing,
 * and once answered every copy is refused as answered */
static void
test_repeated_mail(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) first = NULL;
	g_autoptr(GBytes) second = NULL;
	g_autoptr(MeChallengeVerdict) v1 = NULL;
	g_autoptr(MeChallengeVerdict) v2 = NULL;
	g_autoptr(MeChallengeVerdict) v3 = NULL;
	g_autoptr(GBytes) reply = NULL;
	g_autofree gchar *reply_before = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	first = me_test_acme_ca_wait_mail(fx->ca);
	second = me_test_acme_ca_wait_mail(fx->ca);
	g_assert_false(g_bytes_equal(first, second));
	v1 = inspect(e, first);
	g_assert_true(v1->answerable);
	reply_before = g_strdup(json_object_get_string_member(
	    json_object_get_object_member(me_state_get_object(me_enroll_get_state(e)), "reply"), "raw"));
	v2 = inspect(e, second);
	g_assert_true(v2->answerable);
	g_assert_cmpstr(json_object_get_string_member(
			    json_object_get_object_member(me_state_get_object(me_enroll_get_state(e)), "reply"), "raw"),
			==, reply_before);
	reply = me_enroll_approve(e, NULL, &error);
	g_assert_no_error(error);
	v3 = inspect(e, second);
	g_assert_false(v3->answerable);
	g_assert_cmpstr(me_challenge_reason_to_nick(v3->reason), ==, "already-answered");
}

/* a forged challenge first: refused, the enrollment still waits; then the real one */
static void
test_forged_first(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(GBytes) forged = NULL;
	g_autoptr(MeChallengeVerdict) v = NULL;
	g_autoptr(GString) text = NULL;
	gchar *from;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	/* the same mail, its From changed by someone without the CA's DKIM key */
	text = g_string_new_len(g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail));
	from = strstr(text->str, "acme-challenge@");
	g_assert_nonnull(from);
	from[0] = 'b';
	forged = g_bytes_new(text->str, text->len);
	v = inspect(e, forged);
	g_assert_false(v->answerable);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	answer_and_finish(fx, &e, mail, FALSE);
}

/* declining: the same mail gets no answer afterwards */
static void
test_decline(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(MeChallengeVerdict) v1 = NULL;
	g_autoptr(MeChallengeVerdict) v2 = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	v1 = inspect(e, mail);
	g_assert_true(v1->answerable);
	g_assert_true(me_enroll_decline(e, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	v2 = inspect(e, mail);
	g_assert_false(v2->answerable);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	g_assert_cmpint(reply_count(fx), ==, 0);
}

/* after --restart the old order's mail is still in the mailbox: it must never be answered
 * against the new order's challenge (its reply was handed out already) */
static void
test_old_mail_after_restart(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) old_mail = NULL;
	g_autoptr(GBytes) new_mail = NULL;
	g_autoptr(GBytes) lost = NULL;
	g_autoptr(MeChallengeVerdict) v1 = NULL;
	g_autoptr(MeChallengeVerdict) v2 = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	old_mail = me_test_acme_ca_wait_mail(fx->ca);
	v1 = inspect(e, old_mail);
	g_assert_true(v1->answerable);
	lost = me_enroll_approve(e, NULL, &error);
	g_assert_no_error(error);
	/* the reply is lost; the person starts over */
	g_assert_true(me_enroll_restart(e, &error));
	g_assert_no_error(error);
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	new_mail = me_test_acme_ca_wait_mail(fx->ca);
	v2 = inspect(e, old_mail);
	g_assert_false(v2->answerable);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
	answer_and_finish(fx, &e, new_mail, FALSE);
}

/* renewal: a new certificate that names the old one as replaced; both keys stay in the
 * keyring, the old one marked superseded */
static void
test_renew(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(GBytes) first = NULL;
	g_autoptr(GBytes) second = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree gchar *old_fp = NULL;
	gint64 renew_at = 0;
	guint superseded = 0;
	JsonObject *last;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	first = me_test_acme_ca_wait_mail(fx->ca);
	answer_and_finish(fx, &e, first, FALSE);
	/* not due yet: the CA's renewal window (or 2/3 of a year) lies ahead */
	g_assert_false(me_enroll_is_renewal_due(e, &renew_at));
	g_assert_cmpint(renew_at, >, g_get_real_time() / G_USEC_PER_SEC);
	g_assert_nonnull(me_state_get_string(me_enroll_get_state(e), "cert_id"));
	old_fp = g_strdup(me_state_get_string(me_enroll_get_state(e), "cert_key_fp"));
	g_assert_null(me_enroll_get_last_install(e));
	g_assert_true(me_enroll_mark_installed(e, "thunderbird", "/profile", "nick", "dbkey", TRUE, &error));
	g_assert_no_error(error);

	g_assert_true(me_enroll_renew(e, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(e), "replaces"), !=, NULL);
	/* the renewal knows where the certificate it replaces went, bound as it was */
	last = me_enroll_get_last_install(e);
	g_assert_nonnull(last);
	g_assert_cmpstr(json_object_get_string_member(last, "store"), ==, "thunderbird");
	g_assert_cmpstr(json_object_get_string_member(last, "location"), ==, "/profile");
	g_assert_true(json_object_get_boolean_member(last, "bound"));
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	second = me_test_acme_ca_wait_mail(fx->ca);
	{
		g_autoptr(MeChallengeVerdict) v = inspect(e, second);
		g_autoptr(GBytes) reply = NULL;
		g_assert_true(v->answerable);
		reply = me_enroll_approve(e, NULL, &error);
		g_assert_no_error(error);
		drop_reply(fx, reply);
	}
	g_assert_true(me_enroll_reply_sent(e, &error) && me_enroll_finish(e, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(e), "cert_key_fp"), !=, old_fp);
	g_assert_true(me_enroll_mark_installed(e, "nssdb", "/elsewhere", "nick2", NULL, FALSE, &error));
	last = me_enroll_get_last_install(e);
	g_assert_cmpstr(json_object_get_string_member(last, "location"), ==, "/elsewhere");
	keys = me_keyring_list(ME_KEYRING_KIND_CERTIFICATE_KEY, MAILBOX, fx->opts.directory, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 2);
	for (guint i = 0; i < keys->len; i++) {
		MeKeyringItem *item = g_ptr_array_index(keys, i);
		if (item->superseded) {
			superseded++;
			g_assert_cmpstr(item->fingerprint, ==, old_fp);
		}
	}
	g_assert_cmpuint(superseded, ==, 1);
}

/* one process at a time per enrollment */
static void
test_busy(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autoptr(MeEnroll) other = NULL;

	(void)data;
	other = me_enroll_open(fx->state_dir, &fx->opts, MAILBOX, &error);
	g_assert_null(other);
	g_assert_error(error, ME_ERROR, ME_ERROR_BUSY);
	me_test_assert_sentence(error);
}

/* External Account Binding: the MAC key comes from the keyring */
static void
test_eab(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = NULL;
	g_autoptr(MeKeyringItem) item = NULL;
	static const guint8 mac[] = "0123456789abcdef0123456789abcdef";

	(void)data;
	fx->opts.eab_kid = "kid-1";
	e = open_enroll(fx);
	/* no MAC key in the keyring yet: a clear error, nothing sent */
	g_assert_false(me_enroll_start(e, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, fx->opts.directory, "kid-1");
	g_assert_true(me_keyring_store(item, mac, 32, &error));
	g_assert_no_error(error);
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_WAITING_CHALLENGE);
}

/* ---- one account per (user, CA), shared by the mailboxes */

#define BOB   "bob@example.org"
#define CAROL "carol@example.org"

static gint64
ca_counter(Fixture *fx, const gchar *name)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonObject *counters = json_object_get_object_member(status, "counters");

	return json_object_get_int_member_with_default(counters, name, 0);
}

/* the account URL the CA holds the order for @mailbox under */
static gchar *
ca_order_account(Fixture *fx, const gchar *mailbox)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *orders = json_object_get_array_member(status, "orders");
	gchar *found = NULL;

	for (guint i = 0; i < json_array_get_length(orders); i++) {
		JsonObject *o = json_array_get_object_element(orders, i);
		JsonArray *ids = json_object_get_array_member(o, "identifiers");
		if (g_strcmp0(json_array_get_string_element(ids, 0), mailbox) == 0) {
			g_free(found);
			found = g_strdup(json_object_get_string_member(o, "account"));
		}
	}
	g_assert_nonnull(found);
	return found;
}

/* the contacts of the CA's only account, joined by spaces */
static gchar *
ca_only_account_contacts(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *accounts = json_object_get_array_member(status, "accounts");
	JsonArray *contact;
	g_autoptr(GString) out = g_string_new(NULL);

	g_assert_cmpuint(json_array_get_length(accounts), ==, 1);
	contact = json_object_get_array_member(json_array_get_object_element(accounts, 0), "contact");
	for (guint i = 0; i < json_array_get_length(contact); i++)
		g_string_append_printf(out, "%s%s", i > 0 ? " " : "", json_array_get_string_element(contact, i));
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static MeEnroll *
open_enroll_for(Fixture *fx, const gchar *mailbox)
{
	g_autoptr(GError) error = NULL;
	MeEnroll *e = me_enroll_open(fx->state_dir, &fx->opts, mailbox, &error);

	g_assert_no_error(error);
	g_assert_nonnull(e);
	return e;
}

/* @mailbox's challenge mail is the next one: answered and the certificate issued */
static void
finish_for(Fixture *fx, MeEnroll *e, const gchar *mailbox)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) mail = me_test_acme_ca_wait_mail(fx->ca);
	g_autofree gchar *to = g_strdup_printf("To: %s\r\n", mailbox);
	g_autofree gchar *text = g_strndup(g_bytes_get_data(mail, NULL), g_bytes_get_size(mail));
	g_autoptr(MeChallengeVerdict) v = NULL;
	g_autoptr(GBytes) reply = NULL;

	g_assert_nonnull(strstr(text, to));
	v = inspect(e, mail);
	g_assert_true(v->answerable);
	reply = me_enroll_approve(e, NULL, &error);
	g_assert_no_error(error);
	drop_reply(fx, reply);
	g_assert_true(me_enroll_reply_sent(e, &error));
	g_assert_no_error(error);
	g_assert_true(me_enroll_finish(e, &error));
	g_assert_no_error(error);
	g_assert_cmpint(me_enroll_get_step(e), ==, ME_STATE_STEP_ISSUED);
}

/* two mailboxes, one account: the second enrollment makes no newAccount call, and its
 * certificate is issued under the first one's account, whose contact is the first mailbox */
static void
test_account_shared(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) alice = open_enroll(fx);
	g_autoptr(MeEnroll) bob = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree gchar *contacts = NULL;
	g_autofree gchar *alice_account = NULL;
	g_autofree gchar *bob_account = NULL;

	(void)data;
	g_assert_true(me_enroll_start(alice, &error));
	g_assert_no_error(error);
	finish_for(fx, alice, MAILBOX);
	g_assert_cmpint(ca_counter(fx, "new_account_requests"), ==, 1);

	bob = open_enroll_for(fx, BOB);
	g_assert_true(me_enroll_start(bob, &error));
	g_assert_no_error(error);
	finish_for(fx, bob, BOB);
	g_assert_cmpint(ca_counter(fx, "new_account_requests"), ==, 1);
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 1);
	alice_account = ca_order_account(fx, MAILBOX);
	bob_account = ca_order_account(fx, BOB);
	g_assert_cmpstr(alice_account, ==, bob_account);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(bob), "account_url"), ==, alice_account);
	contacts = ca_only_account_contacts(fx);
	g_assert_cmpstr(contacts, ==, "mailto:" MAILBOX);
	/* one account key in the keyring, the CA's, of no mailbox */
	keys = me_keyring_list(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, fx->opts.directory, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 1);
	g_assert_null(((MeKeyringItem *)g_ptr_array_index(keys, 0))->mailbox);
}

/* a CA whose EAB key makes one account only: the second mailbox gets its certificate too */
static void
test_account_eab_single_use(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) alice = NULL;
	g_autoptr(MeEnroll) bob = NULL;
	g_autoptr(MeKeyringItem) item = NULL;
	static const guint8 mac[] = "0123456789abcdef0123456789abcdef";

	(void)data;
	fx->opts.eab_kid = "kid-1";
	item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, fx->opts.directory, "kid-1");
	g_assert_true(me_keyring_store(item, mac, 32, &error));
	g_assert_no_error(error);
	alice = open_enroll(fx);
	g_assert_true(me_enroll_start(alice, &error));
	g_assert_no_error(error);
	finish_for(fx, alice, MAILBOX);
	bob = open_enroll_for(fx, BOB);
	g_assert_true(me_enroll_start(bob, &error));
	g_assert_no_error(error);
	finish_for(fx, bob, BOB);
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 1);
}

/* the CA's record removed (as its damaged-record message says to do): the account is found
 * again from the enrollments that use it, no second one is made */
static void
test_account_record_lost(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) alice = open_enroll(fx);
	g_autoptr(MeEnroll) bob = NULL;
	g_autofree gchar *record = g_build_filename(fx->state_dir, "test-ca", "ca.account", NULL);

	(void)data;
	g_assert_true(me_enroll_start(alice, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_unlink(record), ==, 0);
	bob = open_enroll_for(fx, BOB);
	g_assert_true(me_enroll_start(bob, &error));
	g_assert_no_error(error);
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 1);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(bob), "account_url"), ==,
			me_state_get_string(me_enroll_get_state(alice), "account_url"));
	g_assert_true(g_file_test(record, G_FILE_TEST_IS_REGULAR));
}

typedef struct {
	Fixture *fx;
	const gchar *mailbox;
	GError *error;
} StartJob;

static gpointer
start_thread(gpointer data)
{
	StartJob *job = data;
	g_autoptr(MeEnroll) e = me_enroll_open(job->fx->state_dir, &job->fx->opts, job->mailbox, &job->error);

	if (e != NULL)
		me_enroll_start(e, &job->error);
	return NULL;
}

/* two mailboxes enrolling at the same moment still make one account */
static void
test_account_concurrent(Fixture *fx, gconstpointer data)
{
	StartJob jobs[] = {{fx, MAILBOX, NULL}, {fx, BOB, NULL}, {fx, CAROL, NULL}};
	GThread *threads[G_N_ELEMENTS(jobs)];

	(void)data;
	for (guint i = 0; i < G_N_ELEMENTS(jobs); i++)
		threads[i] = g_thread_new("enroll", start_thread, &jobs[i]);
	for (guint i = 0; i < G_N_ELEMENTS(jobs); i++) {
		g_thread_join(threads[i]);
		g_assert_no_error(jobs[i].error);
	}
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 1);
	g_assert_cmpint(ca_counter(fx, "new_account_requests"), ==, 1);
}

/* the contact: configured addresses, or none */
static void
account_contact(Fixture *fx, const gchar *data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = NULL;
	g_autofree gchar *contacts = NULL;
	const gchar *configured[] = {"mailto:pki@example.org", "mailto:ops@example.org", NULL};
	const gchar *none[] = {"none", NULL};

	fx->opts.contacts = g_strcmp0(data, "none") == 0 ? none : configured;
	e = open_enroll(fx);
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	contacts = ca_only_account_contacts(fx);
	g_assert_cmpstr(contacts, ==, g_strcmp0(data, "none") == 0 ? "" : "mailto:pki@example.org mailto:ops@example.org");
}

static void
test_account_contact(Fixture *fx, gconstpointer data)
{
	(void)data;
	account_contact(fx, "configured");
}

/* unset, the contact is the mailbox whose enrollment makes the account */
static void
test_account_contact_default(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(fx);
	g_autofree gchar *contacts = NULL;

	(void)data;
	g_assert_true(me_enroll_start(e, &error));
	g_assert_no_error(error);
	contacts = ca_only_account_contacts(fx);
	g_assert_cmpstr(contacts, ==, "mailto:" MAILBOX);
}

static void
test_account_contact_none(Fixture *fx, gconstpointer data)
{
	(void)data;
	account_contact(fx, "none");
}

/* an account as mailenroll made them before they were shared: a key of the mailbox's own
 * in the keyring, registered at the CA, and the mailbox's state file naming it.  With
 * @order, an order made under it and saved, as an enrollment under way has */
static gchar *
make_old_account(Fixture *fx, const gchar *mailbox, gboolean order)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_ACCOUNT, &error);
	g_autoptr(MeSecretStr) pem = me_key_to_pem(key, &error);
	g_autofree gchar *thumb = me_jwk_thumbprint(key, &error);
	g_autoptr(MeKeyringItem) item = me_keyring_item_new(ME_KEYRING_KIND_ACCOUNT_KEY, mailbox, fx->opts.directory, thumb);
	g_autoptr(MeAcmeClient) client = me_acme_client_new(fx->opts.directory);
	g_autoptr(MeAcmeAccount) account = NULL;
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autofree gchar *dir = g_build_filename(fx->state_dir, "test-ca", NULL);
	g_autofree gchar *file = g_strconcat(mailbox, ".json", NULL);
	g_autofree gchar *path = g_build_filename(dir, file, NULL);
	g_autofree gchar *text = NULL;
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};

	g_assert_no_error(error);
	g_assert_true(me_keyring_store(item, pem, strlen(pem), &error));
	g_assert_no_error(error);
	me_http_set_ca_file(me_acme_client_get_http(client), fx->opts.ca_file);
	me_acme_client_set_account_key(client, key);
	account = me_acme_client_new_account(client, &req, &error);
	g_assert_no_error(error);
	json_object_set_int_member(obj, "version", 1);
	json_object_set_string_member(obj, "state", "account");
	json_object_set_string_member(obj, "ca", "test-ca");
	json_object_set_string_member(obj, "mailbox", mailbox);
	json_object_set_string_member(obj, "directory", fx->opts.directory);
	json_object_set_string_member(obj, "key_type", "ec-p256");
	json_object_set_string_member(obj, "usage", "dual");
	json_object_set_string_member(obj, "account_key_fp", thumb);
	json_object_set_string_member(obj, "account_url", account->url);
	if (order) {
		MeAcmeIdentifier id = {(gchar *)"email", (gchar *)mailbox};
		g_autoptr(MeAcmeOrder) made = me_acme_order_new(client, &id, 1, NULL, &error);
		g_assert_no_error(error);
		json_object_set_string_member(obj, "state", "order");
		json_object_set_string_member(obj, "order_url", made->url);
		json_object_set_string_member(obj, "authz_url", made->authorizations[0]);
		json_object_set_int_member(obj, "order_expires", made->expires);
	}
	json_node_set_object(root, obj);
	text = json_to_string(root, TRUE);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
	g_assert_no_error(error);
	return g_strdup(account->url);
}

/* state from before the accounts were shared: the oldest account becomes the CA's; an order
 * under way is finished with its own account's key; no key is lost */
static void
test_account_migrate(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *bob_url = make_old_account(fx, BOB, FALSE);
	g_autofree gchar *alice_url = NULL;
	g_autofree gchar *carol_url = NULL;
	g_autofree gchar *order_account = NULL;
	g_autoptr(MeEnroll) alice = NULL;
	g_autoptr(MeEnroll) carol = NULL;
	g_autoptr(MeEnroll) bob = NULL;
	g_autoptr(GPtrArray) shared = NULL;
	const gchar *const mailboxes[] = {MAILBOX, BOB, CAROL};

	(void)data;
	/* the keyring's times are in seconds: bob's key is the oldest */
	g_usleep(1100 * 1000);
	alice_url = make_old_account(fx, MAILBOX, FALSE);
	carol_url = make_old_account(fx, CAROL, TRUE);
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 3);

	alice = open_enroll(fx);
	g_assert_true(me_enroll_start(alice, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(alice), "account_url"), ==, bob_url);
	finish_for(fx, alice, MAILBOX);
	order_account = ca_order_account(fx, MAILBOX);
	g_assert_cmpstr(order_account, ==, bob_url);
	g_clear_pointer(&order_account, g_free);

	/* carol's order was made under her own account, and is answered with its key */
	carol = open_enroll_for(fx, CAROL);
	g_assert_true(me_enroll_start(carol, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(carol), "account_url"), ==, carol_url);
	finish_for(fx, carol, CAROL);
	order_account = ca_order_account(fx, CAROL);
	g_assert_cmpstr(order_account, ==, carol_url);

	bob = open_enroll_for(fx, BOB);
	g_assert_true(me_enroll_start(bob, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(me_state_get_string(me_enroll_get_state(bob), "account_url"), ==, bob_url);
	g_assert_cmpint(ca_counter(fx, "accounts_created"), ==, 3);

	/* every old key is still there, and the CA's is bob's */
	for (guint i = 0; i < G_N_ELEMENTS(mailboxes); i++) {
		g_autoptr(GPtrArray) keys = me_keyring_list(ME_KEYRING_KIND_ACCOUNT_KEY, mailboxes[i], fx->opts.directory, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(keys->len, ==, 1);
	}
	shared = me_keyring_list(ME_KEYRING_KIND_ACCOUNT_KEY, "", fx->opts.directory, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(shared->len, ==, 1);
	g_assert_cmpstr(((MeKeyringItem *)g_ptr_array_index(shared, 0))->fingerprint, ==,
			me_state_get_string(me_enroll_get_state(bob), "account_key_fp"));
}

int
main(int argc, char **argv)
{
	gint rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	g_log_set_writer_func(log_writer, NULL, NULL);
	me_test_keyring_start();
#define ADD(path, switches, fn) g_test_add(path, Fixture, switches, setup, fn, teardown)
	ADD("/enroll/full", NULL, test_full);
	ADD("/enroll/resume", NULL, test_resume);
	ADD("/enroll/binary-join", "--token-join binary", test_full);
	ADD("/enroll/mail-on-challenge", "--mail-on challenge", test_mail_on_challenge);
	ADD("/enroll/repeated-mail", "--repeat-mail 2", test_repeated_mail);
	ADD("/enroll/forged-first", NULL, test_forged_first);
	ADD("/enroll/decline", NULL, test_decline);
	ADD("/enroll/busy", NULL, test_busy);
	ADD("/enroll/old-mail-after-restart", NULL, test_old_mail_after_restart);
	ADD("/enroll/renew", NULL, test_renew);
	ADD("/enroll/eab", "--eab kid-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", test_eab);
	ADD("/enroll/account/shared", NULL, test_account_shared);
	ADD("/enroll/account/eab-single-use", "--eab kid-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY --eab-single-use",
	    test_account_eab_single_use);
	ADD("/enroll/account/concurrent", NULL, test_account_concurrent);
	ADD("/enroll/account/record-lost", NULL, test_account_record_lost);
	ADD("/enroll/account/contact-default", NULL, test_account_contact_default);
	ADD("/enroll/account/contact", NULL, test_account_contact);
	ADD("/enroll/account/contact-none", NULL, test_account_contact_none);
	ADD("/enroll/account/migrate", NULL, test_account_migrate);
#undef ADD
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
