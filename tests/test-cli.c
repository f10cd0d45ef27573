/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The mailenroll command line end to end, as a person or a script runs it: the built
 * binary against the RFC 8823 test CA (challenge mail in its Maildir, the reply over its
 * SMTP listener or its drop folder), a real gnome-keyring, dnsmasq for the CA's DKIM key,
 * and the certificate checked in an NSS database with certutil.  The CA's reply counter
 * proves one reply each, also when the CLI is killed at every step and run again. */

#define G_LOG_DOMAIN "MeTestCli"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "autocleanups.h"
#include "dnsmasq.h"
#include "enroll.h"
#include "keyring-fixture.h"
#include "smtp-server.h"
#include "state.h"
#include "test-util.h"

#define MAILBOX "alice@example.org"

typedef struct {
	MeTestAcmeCa *ca;
	MeTestDnsmasq *dns;
	gchar *tmp;
	gchar *sysconf;
	gchar *state;
	gchar *nssdb;
	gchar *dkim_pem;
	/* HOME for the CLI, when the scenario gives it one of its own (no Thunderbird profile) */
	gchar *home;
} Fixture;

typedef struct {
	const gchar *ca_switches;
	const gchar *conf_extra;
	const gchar *kill_at;
	gboolean reply_dkim;
	/* the CA signs its mail with S/MIME only (these switches), no DKIM; smime-trust is its
	 * SMIME_SIGNER_ROOT */
	const gchar *smime;
	/* the reason an S/MIME-signed mail is refused for, or NULL when it passes */
	const gchar *smime_reason;
	gboolean rerun;
	/* the configuration leaves store= at its default (thunderbird), and HOME has no profile */
	gboolean no_store;
} Scenario;

#define DKIM_SELECTOR "reply2026"
#define DKIM_LABEL    "dkim-example.org"

/* a DKIM key for the mailbox's domain made with the openssl CLI, and its DNS record in
 * the file the test CA reads with --reply-dkim-keys; returns the key's PEM path */
static gchar *
make_reply_dkim_key(const gchar *dir, gchar **records_path)
{
	g_autofree gchar *pem = g_build_filename(dir, "dkim.pem", NULL);
	g_autofree gchar *der = g_build_filename(dir, "dkim.pub.der", NULL);
	const gchar *gen[] = {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem, NULL};
	const gchar *pub[] = {"openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER", "-out", der, NULL};
	g_autofree gchar *spki = NULL;
	gsize len = 0;
	g_autofree gchar *b64 = NULL;
	g_autofree gchar *record = NULL;
	gint rc = -1;

	g_assert_true(me_test_spawn_sync(gen, NULL, NULL, NULL, &rc));
	g_assert_cmpint(rc, ==, 0);
	g_assert_true(me_test_spawn_sync(pub, NULL, NULL, NULL, &rc));
	g_assert_cmpint(rc, ==, 0);
	g_assert_true(g_file_get_contents(der, &spki, &len, NULL));
	b64 = g_base64_encode((const guchar *)spki, len);
	record = g_strdup_printf(DKIM_SELECTOR "._domainkey.example.org v=DKIM1; k=rsa; p=%s\n", b64);
	*records_path = me_test_write_tmp(dir, "reply-dkim-keys", record);
	return g_steal_pointer(&pem);
}

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
	const Scenario *sc = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *switches = NULL;
	g_auto(GStrv) argv = NULL;
	g_autofree gchar *txt = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *conf_path = NULL;
	g_autofree gchar *smime_trust = NULL;

	fx->tmp = me_test_tmpdir();
	if (sc->reply_dkim) {
		/* the CA takes only replies DKIM-signed for the mailbox's domain (dkimpy checks) */
		g_autofree gchar *records = NULL;
		fx->dkim_pem = make_reply_dkim_key(fx->tmp, &records);
		switches = g_strdup_printf("--dkim ed25519 --require-reply-dkim --reply-dkim-keys %s", records);
	} else if (sc->smime != NULL) {
		switches = g_strdup(sc->smime);
	} else {
		switches = g_strdup_printf("--dkim ed25519 %s", sc->ca_switches != NULL ? sc->ca_switches : "");
	}
	argv = g_strsplit(g_strstrip(switches), " ", -1);
	fx->ca = me_test_acme_ca_start((const gchar *const *)argv, &error);
	g_assert_no_error(error);
	fx->dns = me_test_dnsmasq_new();
	if (sc->smime == NULL) {
		txt = read_text(me_test_acme_ca_get(fx->ca, "DKIM_TXT"));
		me_test_dnsmasq_add_txt(fx->dns, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"), txt);
	} else {
		/* the trust for the CA's S/MIME signer; the mail has no DKIM signature */
		smime_trust = g_strdup_printf("smime-trust=%s\n", me_test_acme_ca_get(fx->ca, "SMIME_SIGNER_ROOT"));
	}
	me_test_dnsmasq_start(fx->dns, &error);
	g_assert_no_error(error);
	fx->sysconf = g_build_filename(fx->tmp, "etc", NULL);
	fx->state = g_build_filename(fx->tmp, "state", NULL);
	fx->nssdb = g_build_filename(fx->tmp, "nssdb", NULL);
	g_assert_cmpint(g_mkdir(fx->sysconf, 0700), ==, 0);
	if (sc->no_store) {
		fx->home = g_build_filename(fx->tmp, "home", NULL);
		g_assert_cmpint(g_mkdir(fx->home, 0700), ==, 0);
	}
	conf = g_strdup_printf("[general]\n"
			       "default-ca=test\n"
			       "%s"
			       "[ca test]\n"
			       "directory=%s\n"
			       "ca-file=%s\n"
			       "dns-server=%s\n"
			       "key-type=ec-p256\n"
			       "agree-tos=true\n"
			       /* a lost mail fails the test in seconds, not minutes */
			       "mail-wait=15\n"
			       "%s%s"
			       "[smtp]\n"
			       "host=127.0.0.1\n"
			       "port=%s\n"
			       "security=none\n",
			       sc->no_store ? "" : "store=nssdb\n", me_test_acme_ca_get(fx->ca, "DIRECTORY"),
			       me_test_acme_ca_get(fx->ca, "CA_FILE"),
			       me_test_dnsmasq_get_nameserver(fx->dns), sc->conf_extra != NULL ? sc->conf_extra : "",
			       smime_trust != NULL ? smime_trust : "", me_test_acme_ca_get(fx->ca, "SMTP_REPLY_PORT"));
	conf_path = me_test_write_tmp(fx->sysconf, "mailenroll.conf", conf);
}

static void
teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	me_test_dnsmasq_free(fx->dns);
	me_test_acme_ca_stop(fx->ca);
	me_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->sysconf);
	g_free(fx->state);
	g_free(fx->nssdb);
	g_free(fx->dkim_pem);
	g_free(fx->home);
}

/* the locale the CLI runs in; /cli/ascii-locale sets C */
static const gchar *cli_locale = "C.UTF-8";

/* runs the CLI; returns its wait status */
static gint
run_cli(Fixture *fx, const gchar *kill_after, const gchar *stdin_text, gchar **out, gchar **err, ...)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;
	const gchar *arg;
	va_list ap;

	g_ptr_array_add(argv, (gpointer)g_getenv("ME_TEST_MAILENROLL"));
	va_start(ap, err);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_setenv(launcher, "MAILENROLL_SYSCONFDIR", fx->sysconf, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_STATE_HOME", fx->state, TRUE);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", cli_locale, TRUE);
	if (fx->home != NULL)
		g_subprocess_launcher_setenv(launcher, "HOME", fx->home, TRUE);
	if (kill_after != NULL)
		g_subprocess_launcher_setenv(launcher, "MAILENROLL_TEST_KILL_AFTER", kill_after, TRUE);
	else
		g_subprocess_launcher_unsetenv(launcher, "MAILENROLL_TEST_KILL_AFTER");
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	/* always a (maybe empty) stdin: GLib 2.74 leaks a buffer when a piped stdin gets none */
	g_assert_true(g_subprocess_communicate_utf8(proc, stdin_text != NULL ? stdin_text : "", NULL, &o, &e, &error));
	g_assert_no_error(error);
	g_test_message("mailenroll %s → %d\nstdout: %s\nstderr: %s", (const gchar *)argv->pdata[1],
		       g_subprocess_get_status(proc), o, e);
	if (out != NULL)
		*out = g_steal_pointer(&o);
	if (err != NULL)
		*err = g_steal_pointer(&e);
	return g_subprocess_get_status(proc);
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

static guint
count_certs_issued(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *orders = json_object_get_array_member(status, "orders");
	guint n = 0;

	for (guint i = 0; orders != NULL && i < json_array_get_length(orders); i++) {
		const gchar *st = json_object_get_string_member_with_default(json_array_get_object_element(orders, i),
									     "status", "");
		n += g_strcmp0(st, "valid") == 0;
	}
	return n;
}

static guint
count_orders(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *orders = json_object_get_array_member(status, "orders");

	return orders != NULL ? json_array_get_length(orders) : 0;
}

/* the certificate with its key in the NSS database, and the state "installed" */
static void
assert_installed(Fixture *fx)
{
	g_autofree gchar *db = g_strconcat("sql:", fx->nssdb, NULL);
	const gchar *argv[] = {"certutil", "-L", "-d", db, NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *status = NULL;
	gint rc = -1;

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, NULL, &rc));
	g_assert_cmpint(rc, ==, 0);
	g_assert_nonnull(strstr(out, MAILBOX));
	g_assert_nonnull(strstr(out, "u,u,u"));
	g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", "--json", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(status, "\"state\" : \"installed\""));
	g_assert_null(strstr(status, "PRIVATE KEY"));
}

/* one command does it all: the Maildir watched, the reply over SMTP, the NSS import */
static void
test_one_command(Fixture *fx, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
	/* what went over SMTP is the reply, from the mailbox, answering the challenge's token */
	{
		g_autofree gchar *path = g_build_filename(me_test_acme_ca_get(fx->ca, "SMTP_RECEIVED_DIR"), "1.eml", NULL);
		g_autofree gchar *sent = NULL;
		g_assert_true(g_file_get_contents(path, &sent, NULL, NULL));
		g_assert_nonnull(strstr(sent, "From: " MAILBOX));
		g_assert_nonnull(strstr(sent, "Subject: Re: ACME: "));
		g_assert_nonnull(strstr(sent, "-----BEGIN ACME RESPONSE-----"));
	}
	/* the name of the CA's DKIM key is learnt: what `mailenroll doctor` asks DNS for */
	{
		g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
		g_autofree gchar *key = me_state_get_ca_note(dir, "test", me_test_acme_ca_get(fx->ca, "DIRECTORY"),
							     ME_ENROLL_NOTE_DKIM_KEY);
		g_assert_cmpstr(key, ==, me_test_acme_ca_get(fx->ca, "DKIM_RECORD"));
	}
}

/* the person's own mailer: the reply to a file, sent by hand, then `continue` */
static void
test_reply_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reply = g_build_filename(fx->tmp, "reply.eml", NULL);
	g_autofree gchar *mail_path = g_build_filename(fx->tmp, "challenge.eml", NULL);
	g_autofree gchar *drop_tmp = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), ".reply", NULL);
	g_autofree gchar *drop = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), "reply.eml", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GBytes) mail = NULL;
	gsize len = 0;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "enroll", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "mailenroll challenge"));
	mail = me_test_acme_ca_wait_mail(fx->ca);
	g_assert_true(g_file_set_contents(mail_path, g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail), NULL));
	/* no terminal and no --yes: refused, nothing answered */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "challenge", "--reply-file", reply, MAILBOX, mail_path, NULL),
			!=, 0);
	g_assert_false(g_file_test(reply, G_FILE_TEST_EXISTS));
	/* from standard input this time */
	g_assert_cmpint(run_cli(fx, NULL, g_bytes_get_data(mail, NULL), NULL, NULL, "challenge", "--yes", "--reply-file",
				reply, MAILBOX, "-", NULL),
			==, 0);
	g_assert_true(g_file_get_contents(reply, &text, &len, NULL));
	g_assert_true(g_str_has_prefix(text, "From:") || strstr(text, "\r\nSubject: Re: ACME:") != NULL);
	/* the same mail again: already answered, no second reply file */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "challenge", "--yes", "--reply-file", drop_tmp, MAILBOX,
				mail_path, NULL),
			!=, 0);
	g_assert_false(g_file_test(drop_tmp, G_FILE_TEST_EXISTS));
	/* the person sends it */
	g_assert_true(g_file_set_contents(drop_tmp, text, (gssize)len, NULL));
	g_assert_cmpint(g_rename(drop_tmp, drop), ==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "continue", "--nssdb", fx->nssdb, MAILBOX, NULL), ==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
}

/* a forged challenge first: refused, still waiting; the real one then goes through */
static void
test_forged_first(Fixture *fx, gconstpointer data)
{
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(GString) forged = NULL;
	g_autofree gchar *err = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	forged = g_string_new_len(g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail));
	g_string_replace(forged, "Subject: ACME: ", "Subject: ACME: x", 1);
	g_assert_cmpint(run_cli(fx, NULL, forged->str, NULL, &err, "challenge", "--yes", "--smtp", MAILBOX, "-", NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "Not answered (<"));
	/* issue 15: a forged mail is said to be one, with nothing to do but wait */
	g_assert_nonnull(strstr(err, "The mail's DKIM signature does not verify, so the mail is not from the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine challenge mail."));
	g_assert_null(strstr(err, "DNS"));
	g_assert_cmpint(reply_count(fx), ==, 0);
	g_assert_cmpint(run_cli(fx, NULL, g_bytes_get_data(mail, NULL), NULL, NULL, "challenge", "--yes", "--smtp",
				"--nssdb", fx->nssdb, MAILBOX, "-", NULL),
			==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
}

/* the challenge mail with its DKIM signature renamed away: what a forger without the CA's
 * key sends, with the real CA's From, To and token */
static gchar *
unsigned_copy(GBytes *mail)
{
	g_autoptr(GString) forged = g_string_new_len(g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail));

	g_assert_cmpuint(g_string_replace(forged, "DKIM-Signature:", "X-Was-Signature:", 0), ==, 1);
	return g_string_free(g_steal_pointer(&forged), FALSE);
}

static gchar *
state_of(Fixture *fx, const gchar *mailbox)
{
	g_autofree gchar *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *list;

	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "status", "--json", mailbox, NULL), ==, 0);
	g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
	list = json_node_get_array(json_parser_get_root(parser));
	g_assert_cmpuint(json_array_get_length(list), ==, 1);
	return g_strdup(json_object_get_string_member(json_array_get_object_element(list, 0), "state"));
}

/* issue 13 item 1: a forged mail while the genuine challenge's reply waits for approval
 * asks nothing, answers nothing and changes nothing; the genuine one still goes through */
static void
test_forged_awaiting_approval(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mail_path = g_build_filename(fx->tmp, "challenge.eml", NULL);
	g_autofree gchar *forged = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *step = NULL;
	g_autoptr(GBytes) mail = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	g_assert_true(g_file_set_contents(mail_path, g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail), NULL));
	/* no terminal to ask on: the reply is composed and waits for approval */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "challenge", "--smtp", MAILBOX, mail_path, NULL), !=, 0);
	step = state_of(fx, MAILBOX);
	g_assert_cmpstr(step, ==, "waiting-approval");
	forged = unsigned_copy(mail);
	g_assert_cmpint(run_cli(fx, NULL, forged, NULL, &err, "challenge", "--yes", "--smtp", MAILBOX, "-", NULL), !=, 0);
	g_assert_nonnull(strstr(err, "Not answered"));
	g_assert_nonnull(strstr(err, "The mail carries no DKIM signature, so the mail is not from the certificate authority"));
	g_assert_null(strstr(err, "passed every check"));
	g_assert_cmpint(reply_count(fx), ==, 0);
	g_free(step);
	step = state_of(fx, MAILBOX);
	g_assert_cmpstr(step, ==, "waiting-approval");
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "challenge", "--yes", "--smtp", "--nssdb", fx->nssdb, MAILBOX,
				mail_path, NULL),
			==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
}

/* the first challenge of the CA's status document */
static JsonObject *
first_challenge(Fixture *fx)
{
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *challenges = json_object_get_array_member(status, "challenges");

	g_assert_cmpuint(json_array_get_length(challenges), >=, 1);
	return json_object_ref(json_array_get_object_element(challenges, 0));
}

/* issue 13 item 5: a challenge mail came but failed a check: the wait ends saying so, and
 * the challenge is never POSTed before a reply (the CA did mail; the POST would burn it) */
static void
test_timing_unauthenticated(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	g_autoptr(JsonObject) chall = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "looks like the challenge"));
	g_assert_nonnull(strstr(err, "and was refused: new/"));
	g_assert_nonnull(strstr(err, "The mail's DKIM signature does not verify"));
	g_assert_null(strstr(err, "No challenge mail"));
	/* past the last resort for a CA never seen (4 s before the authorization's end, for a
	 * life of 16 s and a mail-wait of 2 s) but before that end: still no POST, the mail came */
	{
		g_autoptr(JsonObject) first = first_challenge(fx);
		g_autoptr(GDateTime) expires = g_date_time_new_from_iso8601(json_object_get_string_member(first, "expires"), NULL);
		gint64 wait = g_date_time_to_unix(expires) - 3 - g_get_real_time() / G_USEC_PER_SEC;
		g_assert_cmpint(wait, <, 16);
		if (wait > 0)
			g_usleep((gulong)wait * G_USEC_PER_SEC);
	}
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	chall = first_challenge(fx);
	g_assert_cmpint(json_object_get_int_member_with_default(chall, "post_count", 0), ==, 0);
	g_assert_cmpint(reply_count(fx), ==, 0);
}

/* issue 13 item 5: the DKIM key cannot be looked up (the nameserver is gone): a temporary
 * failure, said as such; no POST */
static void
test_timing_dns_down(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	g_autoptr(JsonObject) chall = NULL;

	g_autofree gchar *dns_down = NULL;

	(void)data;
	/* issue 15: the server that did not answer, the key record it was asked for, and the
	 * setting to check; never the words for a forged mail */
	dns_down = g_strdup_printf("The DNS server %s did not answer the lookup of the DKIM key %s, so the challenge mail "
				   "could not be checked yet; check the network or the dns-server setting in mailenroll.conf.",
				   me_test_dnsmasq_get_nameserver(fx->dns), me_test_acme_ca_get(fx->ca, "DKIM_RECORD"));
	me_test_dnsmasq_free(fx->dns);
	fx->dns = NULL;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "could not be checked for now"));
	g_assert_nonnull(strstr(err, dns_down));
	g_assert_null(strstr(err, "not from the certificate authority"));
	chall = first_challenge(fx);
	g_assert_cmpint(json_object_get_int_member_with_default(chall, "post_count", 0), ==, 0);
}

/* issue 13 item 5: the CA mails on the authorization, but the mail is held up (greylisting)
 * past mail-wait, and the CA looks for the reply only briefly after the POST (like
 * acme2certifier): the wait ends honestly without a POST, and a later run answers it */
static void
test_timing_greylisted(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	g_autoptr(JsonObject) chall = NULL;
	JsonObject *reply;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "No challenge mail"));
	g_assert_nonnull(strstr(err, "mailenroll enroll " MAILBOX));
	chall = first_challenge(fx);
	g_assert_cmpint(json_object_get_int_member_with_default(chall, "post_count", 0), ==, 0);
	g_clear_pointer(&chall, json_object_unref);
	/* the mail comes late; the next run answers it, and only then tells the CA */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	assert_installed(fx);
	chall = first_challenge(fx);
	reply = json_array_get_object_element(json_object_get_array_member(chall, "replies"), 0);
	g_assert_cmpfloat(json_object_get_double_member(chall, "posted"), >=,
			  json_object_get_double_member(reply, "received"));
}

/* issue 13 item 5: a CA that mails only after the POST, not configured as such: the first
 * enrollment POSTs as the last resort and notes the CA's timing; the next one at the same
 * CA POSTs at once */
static void
test_timing_learned(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	g_autofree gchar *nssdb2 = g_strconcat(fx->nssdb, "2", NULL);
	const gchar *go = "go ahead with the challenge";
	const gchar *waiting = "Waiting up to";

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_nonnull(strstr(err, go));
	g_assert_true(strstr(err, waiting) < strstr(err, go));
	g_assert_cmpint(reply_count(fx), ==, 1);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", nssdb2, "bob@example.org", NULL),
			==, 0);
	g_assert_nonnull(strstr(err, go));
	g_assert_true(strstr(err, go) < strstr(err, waiting));
	g_assert_cmpint(reply_count(fx), ==, 2);
}

/* issue 13 item 9: another order for the same mailbox made the CA send a genuine mail, and
 * that mail was answered: the CA refuses our challenge, and the CLI orders anew, once,
 * on the same account, says so in one sentence, and finishes with the new challenge */
static void
test_reorder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *other_state = g_build_filename(fx->tmp, "other-state", NULL);
	g_autofree gchar *own_state = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GBytes) own_mail = NULL;
	g_autoptr(GBytes) other_mail = NULL;
	g_autoptr(JsonObject) status = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	own_mail = me_test_acme_ca_wait_mail(fx->ca);
	/* someone else (another account, another state) asks for the same mailbox */
	own_state = g_steal_pointer(&fx->state);
	fx->state = g_strdup(other_state);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	g_free(fx->state);
	fx->state = g_steal_pointer(&own_state);
	other_mail = me_test_acme_ca_wait_mail(fx->ca);
	/* the other order's mail is genuine and passes every check a client can make */
	g_assert_cmpint(run_cli(fx, NULL, g_bytes_get_data(other_mail, NULL), NULL, &err, "challenge", "--yes", "--smtp",
				"--nssdb", fx->nssdb, MAILBOX, "-", NULL),
			==, 0);
	g_assert_nonnull(strstr(err, "did not accept the answer"));
	g_assert_nonnull(strstr(err, "a new request was made"));
	/* the new order's mail is answered, the certificate issued, on the first account */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	assert_installed(fx);
	status = me_test_acme_ca_status(fx->ca);
	g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(status, "counters"), "accounts_created"),
			==, 2);
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
}

/* an empty Maildir of the test's own: new/ and cur/ */
static gchar *
make_maildir(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->tmp, "own-maildir", NULL);
	g_autofree gchar *new_dir = g_build_filename(dir, "new", NULL);
	g_autofree gchar *cur_dir = g_build_filename(dir, "cur", NULL);

	g_assert_cmpint(g_mkdir_with_parents(new_dir, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(cur_dir, 0700), ==, 0);
	return g_steal_pointer(&dir);
}

/* issue 15: the wait ends with nothing in the Maildir: said so, naming the Maildir and the
 * time waited, never as mail that was refused */
static void
test_wait_nothing(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *maildir = make_maildir(fx);
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir", maildir, MAILBOX,
				NULL),
			!=, 0);
	expected = g_strdup_printf("No challenge mail from %s arrived in %s within 2 s; mail can be held up",
				   me_test_acme_ca_get(fx->ca, "FROM"), maildir);
	g_assert_nonnull(strstr(err, expected));
	g_assert_nonnull(strstr(err, "run \u201cmailenroll enroll " MAILBOX "\u201d again later"));
	g_assert_null(strstr(err, "refused"));
	g_assert_null(strstr(err, "Not answered"));
}

/* issue 15: the wait ends after mails came and were refused: how many, which files, and
 * each one's reason; the "Not answered" line names the file too */
static void
test_wait_refused(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *maildir = make_maildir(fx);
	g_autofree gchar *forged_path = g_build_filename(maildir, "new", "1700000000.forged.eml", NULL);
	g_autofree gchar *lunch_path = g_build_filename(maildir, "new", "1700000001.lunch.eml", NULL);
	g_autofree gchar *forged = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *summary = NULL;
	g_autoptr(GBytes) mail = NULL;
	const gchar *no_dkim = "The mail carries no DKIM signature, so the mail is not from the certificate authority; it "
			       "gets no reply, and there is nothing to do but wait for the genuine challenge mail.";

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	forged = unsigned_copy(mail);
	g_assert_true(g_file_set_contents(forged_path, forged, -1, NULL));
	/* an ordinary mail beside it is no refused challenge */
	g_assert_true(g_file_set_contents(lunch_path, "From: bob@example.org\nTo: " MAILBOX "\nSubject: Lunch\n\nAt noon?\n",
					  -1, NULL));
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir", maildir, MAILBOX,
				NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "Not answered (new/1700000000.forged.eml): "));
	summary = g_strdup_printf("1 mail that looks like the challenge arrived in %s within 2 s and was refused: "
				  "new/1700000000.forged.eml: %s Run \u201cmailenroll enroll " MAILBOX "\u201d again later",
				  maildir, no_dkim);
	g_assert_nonnull(strstr(err, summary));
	g_assert_null(strstr(err, "lunch"));
	g_assert_null(strstr(err, "No challenge mail"));
	g_assert_cmpint(reply_count(fx), ==, 0);
}

/* issue 15: `challenge MAILBOX FILE` with a mail that is no challenge, or not this one:
 * it says why, naming the file, and exits 1 */
static void
test_challenge_not_challenge(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *lunch = me_test_write_tmp(fx->tmp, "lunch.eml",
						    "From: bob@example.org\nTo: " MAILBOX "\nSubject: Lunch\n"
						    "Message-ID: <lunch@example.org>\n\nAt noon?\n");
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *to_path = NULL;
	g_autofree gchar *from_path = NULL;
	g_autoptr(GBytes) mail = NULL;
	g_autoptr(GString) to_bob = NULL;
	g_autoptr(GString) from_other = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "challenge", "--yes", MAILBOX, lunch, NULL), ==, 1 << 8);
	expected = g_strdup_printf("Not answered (%s): The mail is not an ACME challenge: its subject \"Lunch\" does not "
				   "begin with \"ACME: \".", lunch);
	g_assert_nonnull(strstr(err, expected));
	/* from standard input: named by its Message-ID */
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, "Subject: Lunch\nMessage-ID: <lunch@example.org>\n"
					  "Date: Mon, 07 Dec 2026 12:00:00 +0000\n\nAt noon?\n",
				NULL, &err, "challenge", "--yes", MAILBOX, "-", NULL),
			==, 1 << 8);
	g_assert_nonnull(strstr(err, "Not answered (<lunch@example.org> of 2026-12-07 12:00:00 UTC): The mail is not an ACME challenge"));
	/* the CA's mail, but to another mailbox, or from another sender */
	mail = me_test_acme_ca_wait_mail(fx->ca);
	to_bob = g_string_new_len(g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail));
	g_assert_cmpuint(g_string_replace(to_bob, "To: " MAILBOX, "To: bob@example.org", 1), ==, 1);
	to_path = me_test_write_tmp(fx->tmp, "to-bob.eml", to_bob->str);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "challenge", "--yes", MAILBOX, to_path, NULL), ==, 1 << 8);
	g_assert_nonnull(strstr(err, "The challenge mail is addressed to bob@example.org, not to " MAILBOX
				     ", the mailbox of the pending request"));
	from_other = g_string_new_len(g_bytes_get_data(mail, NULL), (gssize)g_bytes_get_size(mail));
	g_free(expected);
	expected = g_strdup_printf("From: %s", me_test_acme_ca_get(fx->ca, "FROM"));
	g_assert_cmpuint(g_string_replace(from_other, expected, "From: acme@forger.example", 1), ==, 1);
	from_path = me_test_write_tmp(fx->tmp, "from-other.eml", from_other->str);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "challenge", "--yes", MAILBOX, from_path, NULL), ==, 1 << 8);
	g_free(expected);
	expected = g_strdup_printf("The challenge mail comes from acme@forger.example, not from %s, the address the "
				   "certificate authority announced",
				   me_test_acme_ca_get(fx->ca, "FROM"));
	g_assert_nonnull(strstr(err, expected));
	g_assert_cmpint(reply_count(fx), ==, 0);
}

/* the configuration file the CLI reads, with ca-file=@from changed to ca-file=@to */
static gchar *
swap_ca_file(Fixture *fx, const gchar *from, const gchar *to)
{
	g_autofree gchar *path = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GString) conf = NULL;
	g_autofree gchar *old_line = g_strdup_printf("ca-file=%s\n", from);
	g_autofree gchar *new_line = g_strdup_printf("ca-file=%s\n", to);

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	conf = g_string_new(text);
	g_assert_cmpuint(g_string_replace(conf, old_line, new_line, 1), ==, 1);
	g_assert_true(g_file_set_contents(path, conf->str, -1, NULL));
	return g_steal_pointer(&path);
}

/* runs enroll, which fails; returns its standard error */
static gchar *
enroll_fails(Fixture *fx)
{
	gchar *err = NULL;

	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", MAILBOX, NULL), ==, 1 << 8);
	return err;
}

/* issue 15: a wrong ca-file names ca-file=, its CA and the file it is set in: a file that is
 * not there, one that is not PEM, and one of a CA that did not issue the server's certificate */
static void
test_config_ca_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *missing = g_build_filename(fx->tmp, "missing.pem", NULL);
	g_autofree gchar *not_pem = me_test_write_tmp(fx->tmp, "not-pem.txt", "this is no certificate\n");
	g_autofree gchar *other = g_build_filename(fx->tmp, "other-ca.pem", NULL);
	g_autofree gchar *other_key = g_build_filename(fx->tmp, "other-ca.key", NULL);
	const gchar *make_other[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
				     "-nodes", "-keyout", other_key, "-out", other, "-subj", "/CN=another CA",
				     "-days", "2", NULL};
	g_autofree gchar *conf = swap_ca_file(fx, me_test_acme_ca_get(fx->ca, "CA_FILE"), missing);
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;
	gint rc = -1;

	(void)data;
	err = enroll_fails(fx);
	expected = g_strdup_printf("mailenroll: The ca-file %s cannot be read (No such file or directory); correct "
				   "ca-file= in [ca test] of %s.\n", missing, conf);
	g_assert_cmpstr(err, ==, expected);

	g_free(swap_ca_file(fx, missing, not_pem));
	g_free(err);
	g_free(expected);
	err = enroll_fails(fx);
	expected = g_strdup_printf("mailenroll: The ca-file %s holds no PEM certificate; set ca-file= in [ca test] of %s "
				   "to the PEM file of the CA that issued the server's certificate.\n",
				   not_pem, conf);
	g_assert_cmpstr(err, ==, expected);

	g_assert_true(me_test_spawn_sync(make_other, NULL, NULL, NULL, &rc));
	g_assert_cmpint(rc, ==, 0);
	g_free(swap_ca_file(fx, not_pem, other));
	g_free(err);
	g_free(expected);
	err = enroll_fails(fx);
	expected = g_strdup_printf("mailenroll: The server of the certificate authority at %s could not be verified with "
				   "the certificates in ca-file %s; set ca-file= in [ca test] of %s to the CA that issued "
				   "the server's certificate.\n",
				   me_test_acme_ca_get(fx->ca, "DIRECTORY"), other, conf);
	g_assert_nonnull(strstr(err, expected));
}

/* issue 15: an EAB key that was never provisioned names eab-kid=, the file, and the command */
static void
test_config_eab_missing(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *conf = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", MAILBOX, NULL), ==, 1 << 8);
	expected = g_strdup_printf("The EAB key for eab-kid=kid-2 of [ca test] in %s is not in the keyring; store the "
				   "MAC key the certificate authority gave you with \u201cmailenroll provision eab "
				   "eab-never-stored --ca test\u201d.",
				   conf);
	g_assert_nonnull(strstr(err, expected));
}

/* issue 15: a CA that mails only when told to go ahead, configured as mailing at once: the
 * wait says no mail came, and names mail-timing=, the file and the fix */
static void
test_config_mail_timing(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *conf = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), MAILBOX, NULL),
			==, 1 << 8);
	g_assert_nonnull(strstr(err, "No challenge mail from "));
	expected = g_strdup_printf("(mail-timing=authz in [ca test] of %s), so it was not told to go ahead; if it mails "
				   "only when told, set mail-timing=challenge there.",
				   conf);
	g_assert_nonnull(strstr(err, expected));
}

/* issue 16: acme2certifier's challenge mail, without Auto-Submitted, at a CA without the
 * quirk: refused, with the one sentence that names quirks=missing-auto-submitted, the CA's
 * group and the file; no reply goes out and no certificate is issued */
static void
test_quirk_refused(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *conf = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 1 << 8);
	expected = g_strdup_printf("The challenge mail has no Auto-Submitted header, which RFC 8823 requires; if your CA "
				   "is known to leave it out (acme2certifier does), an administrator can set "
				   "quirks=missing-auto-submitted in [ca test] of %s.",
				   conf);
	g_assert_nonnull(strstr(err, expected));
	g_assert_nonnull(strstr(err, "Not answered ("));
	g_assert_cmpint(reply_count(fx), ==, 0);
	g_assert_cmpuint(count_certs_issued(fx), ==, 0);
	g_assert_cmpint(g_file_test(fx->nssdb, G_FILE_TEST_EXISTS), ==, FALSE);
}

/* the one challenge mail the CA wrote, wherever in its Maildir the CLI left it */
static gchar *
the_challenge_mail(Fixture *fx)
{
	const gchar *subdirs[] = {"new", "cur"};
	gchar *text = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree gchar *dir = g_build_filename(me_test_acme_ca_get(fx->ca, "MAILDIR"), subdirs[i], NULL);
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *path = g_build_filename(dir, name, NULL);
			g_assert_null(text);
			g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
		}
	}
	g_assert_nonnull(text);
	return text;
}

/* issue 16: the same mail with quirks=missing-auto-submitted in the CA's group: answered
 * (its DKIM signature is the CA's, over the other 12 names) and the certificate installed */
static void
test_quirk_issued(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mail = NULL;

	test_one_command(fx, data);
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	/* the mail that was answered had no Auto-Submitted at all, and the CA's DKIM signature */
	mail = the_challenge_mail(fx);
	g_assert_null(strstr(mail, "\r\nAuto-Submitted:"));
	g_assert_true(g_str_has_prefix(mail, "DKIM-Signature:"));
}

/* only printable ASCII, tabs and line ends, and no "?" a failed conversion leaves */
static void
assert_plain_ascii(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p >= 0x80 || *p == '?' || ((guchar)*p < 0x20 && *p != '\n' && *p != '\t'))
			g_error("not plain ASCII at %" G_GSIZE_FORMAT " of: %s", (gsize)(p - text), text);
	}
}

/* issue 15: in a C locale the bullets, quotes and ellipses have ASCII stand-ins, never "?" */
static void
test_ascii_locale(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	(void)data;
	cli_locale = "C";
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, &err, "enroll", MAILBOX, NULL), ==, 0);
	assert_plain_ascii(out);
	assert_plain_ascii(err);
	g_assert_nonnull(strstr(err, "* "));
	g_assert_nonnull(strstr(err, "..."));
	g_assert_nonnull(strstr(out, "\"mailenroll challenge " MAILBOX " FILE\""));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "frobnicate", NULL), ==, 2 << 8);
	assert_plain_ascii(err);
	g_assert_nonnull(strstr(err, "\"frobnicate\" is not a command"));
	g_clear_pointer(&out, g_free);
	run_cli(fx, NULL, NULL, &out, NULL, "doctor", NULL);
	assert_plain_ascii(out);
	g_assert_true(g_str_has_prefix(out, "v ") || g_str_has_prefix(out, "! ") || g_str_has_prefix(out, "x "));
	cli_locale = "C.UTF-8";
}

/* S/MIME instead of DKIM: the CA signs with header protection, smime-trust names its root;
 * the one command enrolls, and the check that passed is S/MIME with the scheme used */
static void
test_smime_pass(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	g_autofree gchar *err = NULL;

	g_assert_null(sc->smime_reason);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_nonnull(strstr(err, "passed every check (authenticity: S/MIME)"));
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
}

/* a signed mail that fails one S/MIME check: refused with that reason, nothing answered */
static void
test_smime_refused(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	g_autoptr(GBytes) mail = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *status = NULL;

	g_assert_nonnull(sc->smime_reason);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", MAILBOX, NULL), ==, 0);
	mail = me_test_acme_ca_wait_mail(fx->ca);
	/* the CLI says the mail could not be authenticated, and why */
	g_assert_cmpint(run_cli(fx, NULL, g_bytes_get_data(mail, NULL), &out, &err, "challenge", "--yes", "--smtp",
				"--nssdb", fx->nssdb, MAILBOX, "-", NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "Not answered ("));
	g_assert_nonnull(strstr(err, "The mail's S/MIME signature does not verify, so the mail is not from the certificate authority"));
	g_assert_nonnull(strstr(err, sc->smime_reason));
	g_assert_cmpint(reply_count(fx), ==, 0);
	g_assert_cmpuint(count_certs_issued(fx), ==, 0);
	/* still waiting for a challenge that passes */
	g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", "--json", MAILBOX, NULL), ==, 0);
	g_assert_null(strstr(status, "\"state\" : \"installed\""));
	g_assert_null(strstr(status, "\"state\" : \"answered\""));
}

/* issue 15: an explicit target wins over store= (here the default, thunderbird), and a
 * target that cannot be used stops the enrollment before anything is asked of the CA */
static void
test_explicit_target(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;

	(void)data;
	/* no Thunderbird profile and no other target: refused before any order, naming the fixes */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "No Thunderbird profile was found to install the certificate into"));
	g_assert_nonnull(strstr(err, "--nssdb"));
	g_assert_nonnull(strstr(err, "store="));
	g_assert_cmpuint(count_orders(fx), ==, 0);
	g_assert_cmpint(reply_count(fx), ==, 0);
	/* two targets at once are refused too, before any order */
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--nssdb", fx->nssdb, "--output", "x.p12",
				MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "give only one"));
	g_assert_cmpuint(count_orders(fx), ==, 0);
	/* --nssdb alone is the target: issued once and installed there */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	assert_installed(fx);
}

/* the one entry of `status --json MAILBOX` */
static JsonObject *
status_json(Fixture *fx)
{
	g_autofree gchar *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *list;

	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "status", "--json", MAILBOX, NULL), ==, 0);
	g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
	list = json_node_get_array(json_parser_get_root(parser));
	g_assert_cmpuint(json_array_get_length(list), ==, 1);
	return json_object_ref(json_array_get_object_element(list, 0));
}

/* the authorization expires while the mail is awaited (the CA mails only once told, and the
 * configuration says it mails at once, so nothing comes): the wait ends then, not a minute
 * later, and says the request is over and how to start anew, never that it stays open; the
 * state records the failure, and the next run says the same */
static void
test_wait_expired(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *maildir = make_maildir(fx);
	g_autofree gchar *err = NULL;
	g_autofree gchar *again = NULL;
	g_autoptr(JsonObject) entry = NULL;
	const gchar *failure;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir", maildir, MAILBOX,
				NULL),
			!=, 0);
	g_test_message("%s", err);
	g_assert_nonnull(strstr(err, "The challenge for " MAILBOX " expired on "));
	g_assert_nonnull(strstr(err, "start a new one with --restart."));
	g_assert_null(strstr(err, "stays open"));
	entry = status_json(fx);
	failure = json_object_get_string_member_with_default(entry, "failure", "");
	g_assert_true(g_str_has_prefix(failure, "The challenge for " MAILBOX " expired on "));
	g_assert_cmpstr(json_object_get_string_member(entry, "state"), ==, "failed");

	/* the same command again: the request is over, and it says so at once */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &again, "enroll", "--yes", "--smtp", "--maildir", maildir,
				MAILBOX, NULL),
			!=, 0);
	g_test_message("%s", again);
	g_assert_nonnull(strstr(again, "--restart"));
	g_assert_null(strstr(again, "stays open"));
}

/* issue 15: a failed attempt is recorded (the step, the sentence, when) and status shows
 * it; the next enroll goes on from the step reached and forgets it; once installed, neither
 * the state nor status --json keeps the reply's text */
static void
test_status_failure(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
	g_autofree gchar *err = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *reason = NULL;
	g_autoptr(JsonObject) entry = NULL;
	g_autoptr(JsonObject) ca_status = NULL;
	JsonArray *installed;

	(void)data;
	/* the EAB key is not in the keyring yet: setting up the account fails */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			!=, 0);
	/* the one line after the progress lines */
	g_assert_nonnull(g_strrstr(err, "\nmailenroll: "));
	reason = g_strstrip(g_strdup(g_strrstr(err, "\nmailenroll: ") + strlen("\nmailenroll: ")));
	g_assert_true(g_str_has_suffix(reason, "."));
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "status", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(out, MAILBOX " at test: new\n  failed at step “account” on "));
	g_assert_nonnull(strstr(out, reason));
	entry = status_json(fx);
	g_assert_cmpstr(json_object_get_string_member(entry, "state"), ==, "new");
	g_assert_cmpstr(json_object_get_string_member(entry, "failed_step"), ==, "account");
	g_assert_cmpstr(json_object_get_string_member(entry, "failure"), ==, reason);
	g_assert_cmpint(json_object_get_int_member(entry, "failed_at"), >, 0);
	g_assert_cmpint(json_object_get_int_member(entry, "failed_at"), <=, g_get_real_time() / G_USEC_PER_SEC);

	/* provisioned: the same command goes on, with one account and one order at the CA */
	g_assert_cmpint(run_cli(fx, NULL, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n", NULL, NULL, "provision", "eab",
				"eab-test", NULL),
			==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	assert_installed(fx);
	ca_status = me_test_acme_ca_status(fx->ca);
	g_assert_cmpint(
	    json_object_get_int_member(json_object_get_object_member(ca_status, "counters"), "accounts_created"), ==, 1);
	g_assert_cmpuint(count_orders(fx), ==, 1);
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "status", MAILBOX, NULL), ==, 0);
	g_assert_null(strstr(out, "failed"));

	/* what a script needs, and nothing of the reply, the tokens or the certificate's PEM */
	g_clear_pointer(&entry, json_object_unref);
	entry = status_json(fx);
	g_assert_cmpstr(json_object_get_string_member(entry, "state"), ==, "installed");
	g_assert_cmpstr(json_object_get_string_member(entry, "mailbox"), ==, MAILBOX);
	g_assert_cmpstr(json_object_get_string_member(entry, "ca"), ==, "test");
	g_assert_cmpint(json_object_get_int_member(entry, "not_after"), >, g_get_real_time() / G_USEC_PER_SEC);
	g_assert_cmpint(json_object_get_int_member(entry, "renew_at"), >, 0);
	installed = json_object_get_array_member(entry, "installed");
	g_assert_cmpuint(json_array_get_length(installed), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(installed, 0), "store"), ==,
			"nssdb");
	for (const gchar *const *m = (const gchar *const[]){"failure", "failed_step", "failed_at", "reply", "certificate",
							     "token_part2", "used_tokens", "account_key_fp", NULL};
	     *m != NULL; m++)
		g_assert_false(json_object_has_member(entry, *m));
	/* and the state file itself dropped the reply once it left */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(MeState) st = me_state_open(dir, "test", MAILBOX, &error);
		g_assert_no_error(error);
		g_assert_false(json_object_has_member(me_state_get_object(st), "reply"));
		g_assert_false(json_object_has_member(me_state_get_object(st), "failure"));
	}
}

/* issue 15: the reply goes by SMTP with STARTTLS to a mail server whose certificate comes
 * from a private CA, named by [smtp] ca-file: the CLI is stopped after the server's 250,
 * and the server holds the reply, received over TLS; the same reply given to the CA then
 * finishes the enrollment */
static void
test_smtp_private_ca(Fixture *fx, gconstpointer data)
{
	MeTestSmtpOptions options = {.tls = ME_TEST_SMTP_TLS_STARTTLS};
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTestSmtp) smtp = me_test_smtp_start(&options, &error);
	g_autoptr(MeTestSmtpMessage) message = NULL;
	g_autofree gchar *conf_path = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *conf = read_text(conf_path);
	g_autofree gchar *plain =
	    g_strdup_printf("port=%s\nsecurity=none\n", me_test_acme_ca_get(fx->ca, "SMTP_REPLY_PORT"));
	g_autofree gchar *tls = g_strdup_printf("port=%u\nsecurity=starttls\nca-file=%s\n", me_test_smtp_get_port(smtp),
						me_test_smtp_get_ca_file(smtp));
	g_autoptr(GString) text = g_string_new(conf);
	g_autofree gchar *drop_tmp = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), ".reply", NULL);
	g_autofree gchar *drop = g_build_filename(me_test_acme_ca_get(fx->ca, "DROP_DIR"), "reply.eml", NULL);
	g_autofree gchar *events = NULL;

	(void)data;
	g_assert_no_error(error);
	g_string_append_c(text, '\n');
	g_assert_cmpuint(g_string_replace(text, plain, tls, 1), ==, 1);
	g_assert_true(g_file_set_contents(conf_path, text->str, -1, &error));
	g_assert_no_error(error);
	g_assert_cmpint(run_cli(fx, "submitted", NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			!=, 0);
	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, 1);
	message = me_test_smtp_get_message(smtp, 0);
	g_assert_true(message->tls);
	g_assert_cmpstr(message->mail_from, ==, MAILBOX);
	g_assert_nonnull(g_strstr_len(g_bytes_get_data(message->data, NULL), (gssize)g_bytes_get_size(message->data),
				      "-----BEGIN ACME RESPONSE-----"));
	events = me_test_smtp_get_events(smtp);
	g_assert_nonnull(strstr(events, "STARTTLS tls\n"));
	g_assert_nonnull(strstr(events, "MAIL " MAILBOX " tls\n"));
	/* the mail server delivers it to the CA; the rerun sends the same reply again (the CA
	 * counts the first) and installs */
	g_assert_true(g_file_set_contents(drop_tmp, g_bytes_get_data(message->data, NULL),
					  (gssize)g_bytes_get_size(message->data), &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_rename(drop_tmp, drop), ==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "continue", "--nssdb", fx->nssdb, MAILBOX, NULL), ==, 0);
	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, 2);
	g_assert_cmpint(reply_count(fx), ==, 1);
	assert_installed(fx);
}

/* EAB: the MAC key provisioned into the keyring from standard input */
static void
test_eab(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", MAILBOX, NULL), !=, 0);
	/* strict base64url: padding, the standard alphabet, spaces and stray characters are
	 * refused, not skipped (g_base64_decode() took them all) */
	for (const gchar *const *bad = (const gchar *const[]){"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n",
							       "MDEyMzQ1Njc4OWFi!Y2RlZjAxMjM0NTY3ODlhYmNkZWY\n",
							       "MDEyMzQ1Njc4OWFi Y2RlZjAxMjM0NTY3ODlhYmNkZWY\n",
							       "MDEyMzQ1Njc4OWFi+Y2RlZjAxMjM0NTY3ODlhYmNkZWY\n", NULL};
	     *bad != NULL; bad++) {
		g_clear_pointer(&err, g_free);
		g_assert_cmpint(run_cli(fx, NULL, *bad, NULL, &err, "provision", "eab", "eab-test", NULL), !=, 0);
		g_assert_nonnull(strstr(err, "not valid base64url"));
	}
	/* an EAB key belongs to a CA: one the configuration lacks is refused by name */
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n", NULL, &err, "provision", "eab",
				"--ca", "elsewhere", "eab-test", NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "no certificate authority “elsewhere”"));
	g_assert_cmpint(run_cli(fx, NULL, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n", NULL, NULL, "provision", "eab",
				"eab-test", NULL),
			==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	assert_installed(fx);
}

/* two mailboxes at a CA whose EAB key makes one account: both get their certificate under
 * that one account, whose contact is the first mailbox; the second sends no newAccount */
static void
test_account_shared(Fixture *fx, gconstpointer data)
{
	g_autoptr(JsonObject) status = NULL;
	JsonObject *counters;
	JsonArray *accounts;
	JsonArray *contact;
	const gchar *const mailboxes[] = {MAILBOX, "bob@example.org"};

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n", NULL, NULL, "provision", "eab",
				"eab-test", NULL),
			==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(mailboxes); i++)
		g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
					me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, mailboxes[i], NULL),
				==, 0);
	status = me_test_acme_ca_status(fx->ca);
	counters = json_object_get_object_member(status, "counters");
	g_assert_cmpint(json_object_get_int_member(counters, "new_account_requests"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(counters, "certificates_issued"), ==, 2);
	accounts = json_object_get_array_member(status, "accounts");
	g_assert_cmpuint(json_array_get_length(accounts), ==, 1);
	g_assert_cmpint(json_object_get_int_member(json_array_get_object_element(accounts, 0), "orders"), ==, 2);
	contact = json_object_get_array_member(json_array_get_object_element(accounts, 0), "contact");
	g_assert_cmpuint(json_array_get_length(contact), ==, 1);
	g_assert_cmpstr(json_array_get_string_element(contact, 0), ==, "mailto:" MAILBOX);
}

/* SIGKILL right after each step is saved, then the same command again: one reply, one
 * certificate, the key in the keyring (the NSS import needs it) */
static const gchar *const kill_points[] = {
    "account", "order", "waiting-challenge", "waiting-approval", "reply-sent", "challenge-posted",
    "validated", "key-stored", "finalized", "issued", "installed",
};

static void
kill_and_resume(Fixture *fx, const gchar *point)
{
	gint status;

	status = run_cli(fx, point, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
			 me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	assert_installed(fx);
}

/* the replies the test CA's SMTP listener received, in order, as received */
static GPtrArray *
received_replies(Fixture *fx)
{
	GPtrArray *replies = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	for (guint i = 1;; i++) {
		g_autofree gchar *name = g_strdup_printf("%u.eml", i);
		g_autofree gchar *path = g_build_filename(me_test_acme_ca_get(fx->ca, "SMTP_RECEIVED_DIR"), name, NULL);
		gchar *data = NULL;
		gsize len = 0;

		if (!g_file_get_contents(path, &data, &len, NULL))
			return replies;
		g_ptr_array_add(replies, g_bytes_new_take(data, len));
	}
}

static guint
count_received(Fixture *fx)
{
	g_autoptr(GPtrArray) replies = received_replies(fx);

	return replies->len;
}

/* the value of a header field of a received reply (unfolded lines only, as ours are) */
static gchar *
header_value(GBytes *message, const gchar *name)
{
	g_autofree gchar *text = g_strndup(g_bytes_get_data(message, NULL), g_bytes_get_size(message));
	g_autofree gchar *key = g_strdup_printf("\r\n%s: ", name);
	const gchar *at = strstr(text, key);
	const gchar *end;

	if (at == NULL)
		return NULL;
	at += strlen(key);
	end = strstr(at, "\r\n");
	return g_strndup(at, end != NULL ? (gsize)(end - at) : strlen(at));
}

/* the CA got between one and @max replies, all the same bytes with the same Message-ID;
 * it decided on the first, the right one, and counted no other */
static void
assert_same_replies(Fixture *fx, guint max)
{
	g_autoptr(GPtrArray) replies = received_replies(fx);
	g_autoptr(JsonObject) status = me_test_acme_ca_status(fx->ca);
	JsonArray *challenges = json_object_get_array_member(status, "challenges");
	JsonObject *chall;
	JsonArray *seen;
	g_autofree gchar *first_id = NULL;

	g_assert_cmpuint(replies->len, >=, 1);
	g_assert_cmpuint(replies->len, <=, max);
	first_id = header_value(g_ptr_array_index(replies, 0), "Message-ID");
	g_assert_nonnull(first_id);
	for (guint i = 1; i < replies->len; i++) {
		g_autofree gchar *id = header_value(g_ptr_array_index(replies, i), "Message-ID");
		g_assert_cmpstr(id, ==, first_id);
		g_assert_true(g_bytes_equal(g_ptr_array_index(replies, i), g_ptr_array_index(replies, 0)));
	}
	g_assert_cmpuint(json_array_get_length(challenges), ==, 1);
	chall = json_array_get_object_element(challenges, 0);
	g_assert_cmpstr(json_object_get_string_member(chall, "status"), ==, "valid");
	g_assert_cmpstr(json_object_get_string_member(chall, "decided_digest"), ==,
			json_object_get_string_member(chall, "expected_digest"));
	seen = json_object_get_array_member(chall, "replies");
	g_assert_cmpuint(json_array_get_length(seen), ==, replies->len);
	for (guint i = 0; i < json_array_get_length(seen); i++) {
		JsonObject *r = json_array_get_object_element(seen, i);
		g_assert_true(json_object_get_boolean_member(r, "ok"));
		g_assert_cmpint(json_object_get_boolean_member(r, "counted"), ==, i == 0);
	}
}

/* the command a text names as the next step: “mailenroll VERB ARGS…” */
static GStrv
next_command(const gchar *text)
{
	const gchar *at = strstr(text, "“mailenroll ");
	const gchar *end = at != NULL ? strstr(at, "”") : NULL;
	g_autofree gchar *command = NULL;

	g_assert_nonnull(end);
	command = g_strndup(at + strlen("“"), (gsize)(end - at) - strlen("“"));
	return g_strsplit(command, " ", -1);
}

/* runs @command (from a “mailenroll …” the CLI printed) with --nssdb for the test's database */
static gint
run_next_command(Fixture *fx, GStrv command, gchar **err)
{
	g_assert_cmpstr(command[0], ==, "mailenroll");
	g_assert_cmpuint(g_strv_length(command), ==, 3);
	return run_cli(fx, NULL, NULL, NULL, err, command[1], "--nssdb", fx->nssdb, command[2], NULL);
}

/* SIGKILL while the reply is sent by SMTP: right after "answered" is saved, after
 * "submitting" is saved (the server said go ahead to DATA, nothing of the message sent), and
 * right after the server's 250 to the message, before "reply-sent" is saved.  The person
 * does what `mailenroll status` names next (or runs the same command again), never
 * `continue` (that POSTs a challenge whose reply may be lost); it sends the same reply
 * again, with one sentence saying so.  The
 * certificate is issued, the CA saw at most two copies of the one reply, byte for byte
 * (a DKIM-signed one too), and decided on it */
static void
test_kill_smtp(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;
	gboolean after_250 = g_strcmp0(sc->kill_at, "submitted") == 0;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *err2 = NULL;
	g_auto(GStrv) command = NULL;
	gint rc;

	if (sc->reply_dkim) {
		g_autofree gchar *pem = NULL;
		g_assert_true(g_file_get_contents(fx->dkim_pem, &pem, NULL, NULL));
		g_assert_cmpint(run_cli(fx, NULL, pem, NULL, NULL, "provision", "dkim", DKIM_LABEL, NULL), ==, 0);
	}
	rc = run_cli(fx, sc->kill_at, NULL, &out, &err, "enroll", "--yes", "--smtp", "--maildir",
		     me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL);
	g_assert_true(WIFSIGNALED(rc));
	g_assert_cmpint(WTERMSIG(rc), ==, SIGKILL);
	g_assert_cmpuint(count_received(fx), ==, after_250 ? 1 : 0);

	if (sc->rerun) {
		/* what a person does first: the same command again */
		g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err2, "enroll", "--yes", "--smtp", "--maildir",
					me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
				==, 0);
	} else {
		g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", MAILBOX, NULL), ==, 0);
		g_assert_nonnull(strstr(status, ": answered\n"));
		g_assert_null(strstr(status, "continue"));
		command = next_command(status);
		g_assert_cmpstr(command[1], ==, "enroll");
		g_assert_cmpint(run_next_command(fx, command, &err2), ==, 0);
	}
	g_assert_null(strstr(err2, "continue"));
	if (g_strcmp0(sc->kill_at, "answered") == 0)
		g_assert_nonnull(strstr(err2, "The reply for " MAILBOX " was approved but not sent yet, so it is sent now."));
	else
		g_assert_nonnull(strstr(err2, "so the same reply is sent again; the certificate authority counts only the first copy."));
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	assert_installed(fx);
	assert_same_replies(fx, after_250 ? 2 : 1);
	g_assert_cmpint(reply_count(fx), ==, after_250 ? 2 : 1);
}

/* the same reply again needs the same answer from `continue`: it sends rather than
 * assuming the reply left */
static void
test_kill_smtp_continue(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	gint rc;

	(void)data;
	rc = run_cli(fx, "submitted", NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
		     me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL);
	g_assert_true(WIFSIGNALED(rc));
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "continue", "--nssdb", fx->nssdb, MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(err, "so the same reply is sent again"));
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	assert_installed(fx);
	assert_same_replies(fx, 2);
}

/* a reply the person sends (here written to a file) keeps the old advice: only they know
 * whether it left */
static void
test_kill_reply_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reply = g_build_filename(fx->tmp, "reply.eml", NULL);
	g_autofree gchar *status = NULL;
	g_autofree gchar *err = NULL;
	gint rc;

	(void)data;
	rc = run_cli(fx, "answered", NULL, NULL, NULL, "enroll", "--yes", "--reply-file", reply, "--maildir",
		     me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL);
	g_assert_true(WIFSIGNALED(rc));
	g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(status, "“mailenroll continue " MAILBOX "”"));
	g_assert_nonnull(strstr(status, "“mailenroll enroll --restart " MAILBOX "”"));
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			!=, 0);
	g_assert_nonnull(strstr(err, "--restart"));
	g_assert_cmpuint(count_received(fx), ==, 0);
	g_assert_cmpint(reply_count(fx), ==, 0);
}

static void
test_kill_at(Fixture *fx, gconstpointer data)
{
	const Scenario *sc = data;

	kill_and_resume(fx, sc->kill_at);
}

/* register writes the per-user host manifest Thunderbird reads: the installed manifest's
 * fields, with the path of a helper that runs; unregister removes it */
static void
test_register(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(g_get_home_dir(), ".mozilla", "native-messaging-hosts",
						  "org.mailenroll.helper.json", NULL);
	g_autoptr(JsonParser) ours = json_parser_new();
	g_autoptr(JsonParser) installed = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonObject *a;
	JsonObject *b;
	const gchar *helper;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "register", NULL), ==, 0);
	g_assert_true(json_parser_load_from_file(ours, path, &error));
	g_assert_no_error(error);
	g_assert_true(json_parser_load_from_file(installed, g_getenv("ME_TEST_HOST_MANIFEST"), &error));
	g_assert_no_error(error);
	a = json_node_get_object(json_parser_get_root(ours));
	b = json_node_get_object(json_parser_get_root(installed));
	for (const gchar *const *m = (const gchar *const[]){"name", "description", "type", NULL}; *m != NULL; m++)
		g_assert_cmpstr(json_object_get_string_member(a, *m), ==, json_object_get_string_member(b, *m));
	g_assert_cmpstr(json_array_get_string_element(json_object_get_array_member(a, "allowed_extensions"), 0), ==,
			json_array_get_string_element(json_object_get_array_member(b, "allowed_extensions"), 0));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(a, "allowed_extensions")), ==, 1);
	helper = json_object_get_string_member(a, "path");
	g_assert_true(g_path_is_absolute(helper));
	{
		const gchar *argv[] = {helper, "--version", NULL};
		g_autofree gchar *out = NULL;
		gint status = -1;
		g_assert_true(me_test_spawn_sync(argv, NULL, &out, NULL, &status));
		g_assert_cmpint(status, ==, 0);
		g_assert_true(g_str_has_prefix(out, "mailenroll"));
	}
	/* a helper that is not there is refused, the manifest left as it was */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "register", "--helper", "/nonexistent/mailenroll-helper", NULL),
			!=, 0);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "unregister", NULL), ==, 0);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* renew: nothing before the certificate is due; --force gets a new certificate that names
 * the old one as replaced (the CA checks the RFC 9773 certID), the old key superseded */
static void
test_renew(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) status = NULL;
	JsonArray *orders;
	const gchar *replaces = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	/* --ca before the verb too */
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "--ca", "test", "renew", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "not due"));
	g_clear_pointer(&out, g_free);
	/* the timer's check: nothing due, nothing ordered */
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "renew", "--all", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "No certificate is due"));
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "renew", "--force", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpuint(count_certs_issued(fx), ==, 2);
	g_assert_cmpint(reply_count(fx), ==, 2);
	status = me_test_acme_ca_status(fx->ca);
	orders = json_object_get_array_member(status, "orders");
	for (guint i = 0; i < json_array_get_length(orders); i++) {
		JsonObject *o = json_array_get_object_element(orders, i);
		if (json_object_has_member(o, "replaces") && !json_object_get_null_member(o, "replaces"))
			replaces = json_object_get_string_member(o, "replaces");
	}
	g_assert_nonnull(replaces);
	assert_installed(fx);
	g_free(out);
	out = NULL;
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "status", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "renewal due"));
}

/* moves the renewal time of MAILBOX's certificate to the past, as time passing would */
static void
make_renewal_due(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeState) st = me_state_open(dir, "test", MAILBOX, &error);

	g_assert_no_error(error);
	g_assert_cmpint(me_state_get_int(st, "renew_at"), >, g_get_real_time() / G_USEC_PER_SEC);
	me_state_set_int(st, "renew_at", g_get_real_time() / G_USEC_PER_SEC - 1);
	g_assert_true(me_state_save(st, &error));
	g_assert_no_error(error);
}

/* the renewal timer's `renew --all`: without a way to answer alone it orders and tells
 * the person; once the configuration names the Maildir, SMTP and auto-approval, it
 * finishes that same order unattended and installs where the old certificate went */
static void
test_renew_unattended(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *conf_path = g_build_filename(fx->sysconf, "mailenroll.conf", NULL);
	g_autofree gchar *conf = read_text(conf_path);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *unattended = NULL;
	g_autofree gchar *general = NULL;
	g_autoptr(GError) error = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	make_renewal_due(fx);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "renew", "--all", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "Renewing " MAILBOX));
	g_assert_cmpuint(count_orders(fx), ==, 2);
	g_assert_cmpint(reply_count(fx), ==, 1);

	/* the Maildir, SMTP and auto-approval configured: the next run finishes it */
	general = g_strdup_printf("store=nssdb\nmaildir=%s\nreply-method=smtp\nauto-approve=verified\n",
				  me_test_acme_ca_get(fx->ca, "MAILDIR"));
	{
		GString *text = g_string_new(conf);
		g_assert_cmpuint(g_string_replace(text, "store=nssdb\n", general, 1), ==, 1);
		unattended = g_string_free(text, FALSE);
	}
	g_assert_true(g_file_set_contents(conf_path, unattended, -1, &error));
	g_assert_no_error(error);
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, &err, "renew", "--all", NULL), ==, 0);
	g_test_message("renew --all: %s%s", out, err);
	/* the same renewal order, one reply to it (the first challenge mail, still in the
	 * Maildir, gets none), and the new certificate in the database the old one is in */
	g_assert_cmpuint(count_orders(fx), ==, 2);
	g_assert_cmpuint(count_certs_issued(fx), ==, 2);
	g_assert_cmpint(reply_count(fx), ==, 2);
	assert_installed(fx);
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "renew", "--all", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "No certificate is due"));
	g_assert_cmpuint(count_orders(fx), ==, 2);
	{
		g_autofree gchar *db = g_strconcat("sql:", fx->nssdb, NULL);
		const gchar *argv[] = {"certutil", "-L", "-d", db, NULL};
		g_autofree gchar *list = NULL;
		gint rc = -1;
		guint mine = 0;
		g_auto(GStrv) lines = NULL;
		g_assert_true(me_test_spawn_sync(argv, NULL, &list, NULL, &rc));
		lines = g_strsplit(list, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++)
			mine += strstr(lines[i], "u,u,u") != NULL;
		/* the renewed certificate beside the old one (its key kept for old mail) */
		g_assert_cmpuint(mine, ==, 2);
	}
}

/* a renewal order that failed or expired is ordered again by the timer (and by renew):
 * the certificate it replaces is still due */
static void
test_renew_failed_retry(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = g_build_filename(fx->state, "mailenroll", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *status = NULL;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	make_renewal_due(fx);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "renew", "--all", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "Renewing " MAILBOX));
	g_assert_cmpuint(count_orders(fx), ==, 2);
	/* the renewal order fails (as an expired one does) */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(MeState) st = me_state_open(dir, "test", MAILBOX, &error);
		g_assert_no_error(error);
		g_assert_nonnull(me_state_get_string(st, "replaces"));
		me_state_set_step(st, ME_STATE_STEP_FAILED);
		g_assert_true(me_state_save(st, &error));
		g_assert_no_error(error);
	}
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &out, NULL, "renew", "--all", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "Renewing " MAILBOX));
	g_assert_cmpuint(count_orders(fx), ==, 3);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", "--json", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(status, "\"state\" : \"waiting-challenge\""));
	g_assert_nonnull(strstr(status, "\"replaces\""));
	/* nothing was answered on the way */
	g_assert_cmpint(reply_count(fx), ==, 1);
}

/* a CA that takes only DKIM-signed replies: unsigned, the reply is refused and nothing is
 * issued; with the domain's key provisioned (from stdin, into the keyring), the CLI signs
 * the reply and dkimpy in the CA verifies it */
static void
test_reply_dkim(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *pem = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *status = NULL;

	(void)data;
	/* not provisioned yet: a clear error before anything is handed out */
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			!=, 0);
	g_test_message("%s", err);
	g_assert_nonnull(strstr(err, "mailenroll provision dkim " DKIM_LABEL));
	g_assert_cmpint(reply_count(fx), ==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, &status, NULL, "status", "--json", MAILBOX, NULL), ==, 0);
	g_assert_nonnull(strstr(status, "\"state\" : \"waiting-approval\""));

	/* a key that is no PEM, then the real one */
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, "not a key\n", NULL, &err, "provision", "dkim", DKIM_LABEL, NULL), !=, 0);
	g_assert_nonnull(strstr(err, "not a private key in PEM form"));
	g_assert_true(g_file_get_contents(fx->dkim_pem, &pem, NULL, NULL));
	g_assert_cmpint(run_cli(fx, NULL, pem, &out, NULL, "provision", "dkim", DKIM_LABEL, NULL), ==, 0);
	g_assert_nonnull(strstr(out, "Stored in the keyring"));

	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpint(reply_count(fx), ==, 1);
	g_assert_cmpuint(count_certs_issued(fx), ==, 1);
	assert_installed(fx);
}

/* revoke: the CA revokes the certificate (signed with the account key); a second time is
 * a clear error; a bad reason is refused before anything is sent */
static void
test_revoke(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *err = NULL;
	g_autoptr(JsonObject) status = NULL;
	JsonObject *counters;

	(void)data;
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "enroll", "--yes", "--smtp", "--maildir",
				me_test_acme_ca_get(fx->ca, "MAILDIR"), "--nssdb", fx->nssdb, MAILBOX, NULL),
			==, 0);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "revoke", "--reason", "7", MAILBOX, NULL), !=, 0);
	g_assert_nonnull(strstr(err, "not a revocation reason"));
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, NULL, "revoke", "--reason", "4", MAILBOX, NULL), ==, 0);
	status = me_test_acme_ca_status(fx->ca);
	counters = json_object_get_object_member(status, "counters");
	g_assert_cmpint(json_object_get_int_member(counters, "certificates_revoked"), ==, 1);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_cli(fx, NULL, NULL, NULL, &err, "revoke", MAILBOX, NULL), !=, 0);
	g_assert_nonnull(strstr(err, "revoked"));
}

/* the CLI on its own, for what it says about its command line (nothing here gets as far as
 * the configuration); returns its exit status */
static gint
run_alone(gchar **out, gchar **err, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const gchar *arg;
	gint status = -1;
	va_list ap;

	g_ptr_array_add(argv, (gpointer)g_getenv("ME_TEST_MAILENROLL"));
	va_start(ap, err);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_assert_true(me_test_spawn_sync((const gchar *const *)argv->pdata, "", out, err, &status));
	g_test_message("mailenroll %s → %d\nstdout: %s\nstderr: %s", (const gchar *)argv->pdata[1], status,
		       out != NULL ? *out : "", err != NULL ? *err : "");
	return status;
}

/* a launcher for mailenroll alone: pipes, and configuration and state in @tmp only */
static GSubprocessLauncher *
alone_launcher(const gchar *tmp, const gchar *etc)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

	g_subprocess_launcher_setenv(launcher, "MAILENROLL_SYSCONFDIR", etc, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", tmp, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_STATE_HOME", tmp, TRUE);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", cli_locale, TRUE);
	return launcher;
}

/* a mailenroll waiting for its secret on standard input has core dumps off; and it takes
 * the one line it reads and nothing after it (read(2), no stdio buffer) */
static void
test_no_core_dumps(void)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = me_test_tmpdir();
	g_autofree gchar *etc = g_build_filename(tmp, "etc", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	const gchar *script = "\"$0\" provision smtp-password user@example.org; echo \"rest: $(cat)\"";

	if (!me_test_allow_core_dumps()) {
		g_test_skip("the hard core-file limit is 0 here, so a mailenroll that leaves core dumps on cannot be told apart");
		return;
	}
	launcher = alone_launcher(tmp, etc);
	proc = g_subprocess_launcher_spawn(launcher, &error, g_getenv("ME_TEST_MAILENROLL"), "provision",
					   "smtp-password", "user@example.org", NULL);
	g_assert_no_error(error);
	me_test_assert_no_core_dumps(g_subprocess_get_identifier(proc));
	/* no [smtp] configured: the secret is read, then refused */
	g_assert_true(g_subprocess_communicate_utf8(proc, "s3cret\n", NULL, &out, &err, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 1);
	g_assert_nonnull(strstr(err, "No SMTP server is configured"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_clear_object(&proc);
	g_clear_object(&launcher);

	/* what follows the secret's line is still there for the next reader */
	launcher = alone_launcher(tmp, etc);
	proc = g_subprocess_launcher_spawn(launcher, &error, "/bin/sh", "-c", script, g_getenv("ME_TEST_MAILENROLL"), NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, "s3cret\nnext line\n", NULL, &out, &err, &error));
	g_assert_no_error(error);
	g_test_message("stdout: %s\nstderr: %s", out, err);
	g_assert_cmpstr(out, ==, "rest: next line\n");
	me_test_rm_rf(tmp);
}

/* the long options a --help prints on its option lines */
static GPtrArray *
help_options(const gchar *help)
{
	g_auto(GStrv) lines = g_strsplit(help, "\n", -1);
	GPtrArray *options = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *line = g_strchug(lines[i]);
		const gchar *dashes = strstr(line, "--");
		if (line[0] != '-' || dashes == NULL)
			continue;
		g_ptr_array_add(options, g_strndup(dashes, strcspn(dashes, "= ")));
	}
	return options;
}

static gboolean
has_option(GPtrArray *options, const gchar *name)
{
	return g_ptr_array_find_with_equal_func(options, name, g_str_equal, NULL);
}

/* a verb's --help: its own usage line and summary, and only the options it takes */
static void
test_help_enroll(void)
{
	g_autofree gchar *out = NULL;
	g_autoptr(GPtrArray) options = NULL;

	g_assert_cmpint(run_alone(&out, NULL, "enroll", "--help", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "mailenroll enroll [OPTION…] MAILBOX\n"));
	g_assert_nonnull(strstr(out, "Ask the CA for a certificate for MAILBOX"));
	options = help_options(out);
	for (const gchar *const *o = (const gchar *const[]){"--maildir", "--yes", "--smtp", "--reply-file", "--restart",
							     "--agree-tos", "--store", "--nssdb", "--ca", NULL};
	     *o != NULL; o++)
		g_assert_true(has_option(options, *o));
	for (const gchar *const *o = (const gchar *const[]){"--reason", "--all", "--force", "--json", "--helper",
							     "--version", NULL};
	     *o != NULL; o++)
		g_assert_false(has_option(options, *o));
}

static void
test_help_revoke(void)
{
	g_autofree gchar *out = NULL;
	g_autoptr(GPtrArray) options = NULL;

	g_assert_cmpint(run_alone(&out, NULL, "revoke", "-h", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "mailenroll revoke [OPTION…] MAILBOX\n"));
	options = help_options(out);
	g_assert_true(has_option(options, "--reason"));
	g_assert_true(has_option(options, "--ca"));
	g_assert_false(has_option(options, "--maildir"));
	g_assert_false(has_option(options, "--yes"));
}

/* an option of another verb (or of none) is a usage error that names the verb and its help */
static void
test_help_wrong_verb(void)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	g_assert_cmpint(run_alone(&out, &err, "status", "--reason", "1", NULL), ==, 2);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==, "mailenroll: “status” does not take --reason; see “mailenroll status --help”.\n");
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_alone(NULL, &err, "register", "-y", NULL), ==, 2);
	g_assert_nonnull(strstr(err, "“register” does not take -y; see “mailenroll register --help”"));
	g_clear_pointer(&err, g_free);
	/* a value that looks like an option is the option's value, not an option */
	g_assert_cmpint(run_alone(NULL, &err, "register", "--helper", "--all", "--reason=4", NULL), ==, 2);
	g_assert_nonnull(strstr(err, "does not take --reason;"));
	g_clear_pointer(&err, g_free);
	/* before the verb only --ca and --version */
	g_assert_cmpint(run_alone(NULL, &err, "--json", "status", NULL), ==, 2);
	g_clear_pointer(&err, g_free);
	/* the wrong arguments keep their message */
	g_assert_cmpint(run_alone(NULL, &err, "enroll", NULL), ==, 2);
	g_assert_nonnull(strstr(err, "“enroll” is not a command or has the wrong arguments"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_alone(NULL, &err, "frobnicate", NULL), ==, 2);
	g_assert_nonnull(strstr(err, "“frobnicate” is not a command or has the wrong arguments"));
}

/* `mailenroll --help` lists every verb of the table once, and each has a help of its own */
static void
test_help_verbs(void)
{
	const gchar *const expected[] = {"enroll", "challenge", "continue", "install",	  "renew", "revoke",
					 "status", "provision", "register", "unregister", "doctor"};
	g_autofree gchar *out = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GPtrArray) listed = g_ptr_array_new_with_free_func(g_free);
	gboolean in_commands = FALSE;

	g_assert_cmpint(run_alone(&out, NULL, "--help", NULL), ==, 0);
	lines = g_strsplit(out, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_strcmp0(lines[i], "Commands:") == 0) {
			in_commands = TRUE;
			continue;
		}
		if (in_commands && lines[i][0] == '\0')
			break;
		/* a verb's line starts with two spaces and the verb; a long one's summary follows */
		if (in_commands && g_str_has_prefix(lines[i], "  ") && lines[i][2] != ' ')
			g_ptr_array_add(listed, g_strndup(lines[i] + 2, strcspn(lines[i] + 2, " ")));
	}
	g_assert_cmpuint(listed->len, ==, G_N_ELEMENTS(expected));
	for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
		g_autofree gchar *help = NULL;
		g_autofree gchar *usage = g_strdup_printf("  mailenroll %s [OPTION…]", expected[i]);
		g_assert_cmpstr(g_ptr_array_index(listed, i), ==, expected[i]);
		g_assert_cmpint(run_alone(&help, NULL, expected[i], "--help", NULL), ==, 0);
		g_assert_nonnull(strstr(help, usage));
	}
	/* the global options are few */
	{
		g_autoptr(GPtrArray) options = help_options(out);
		g_assert_true(has_option(options, "--ca"));
		g_assert_true(has_option(options, "--version"));
		g_assert_false(has_option(options, "--maildir"));
		g_assert_false(has_option(options, "--json"));
	}
}

/* the four S/MIME forms that must pass, and one refusal per check, spread over the forms */
static const struct {
	const gchar *name;
	Scenario scenario;
} smime_scenarios[] = {
    {"wrapped-detached", {.smime = "--smime-sign wrapped --smime-form detached"}},
    {"wrapped-opaque", {.smime = "--smime-sign wrapped --smime-form opaque"}},
    {"lamps-detached", {.smime = "--smime-sign lamps --smime-form detached"}},
    {"lamps-opaque", {.smime = "--smime-sign lamps --smime-form opaque"}},
    {"refused/san-mismatch",
     {.smime = "--smime-sign wrapped --smime-form detached --smime-fault san-mismatch",
      .smime_reason = "S/MIME: The signer's certificate is not issued for the message's From address."}},
    {"refused/untrusted",
     {.smime = "--smime-sign lamps --smime-form opaque --smime-fault untrusted",
      .smime_reason = "S/MIME: The signer's certificate is not issued by a trusted authority."}},
    {"refused/tampered-wrapped",
     {.smime = "--smime-sign wrapped --smime-form opaque --smime-fault tampered",
      .smime_reason = "S/MIME: The signed Subject header differs from the one the message shows."}},
    {"refused/tampered-lamps",
     {.smime = "--smime-sign lamps --smime-form detached --smime-fault tampered",
      .smime_reason = "S/MIME: The signed Subject header differs from the one the message shows."}},
    {"refused/no-header-protection",
     {.smime = "--smime-sign lamps --smime-form detached --smime-fault no-hp",
      .smime_reason = "S/MIME: The signature does not protect the From, To and Subject headers."}},
    {"refused/expired",
     {.smime = "--smime-sign wrapped --smime-form detached --smime-fault expired",
      .smime_reason = "S/MIME: The signer's certificate or one of its issuers has expired."}},
};

int
main(int argc, char **argv)
{
	static const Scenario plain = {NULL, NULL};
	static const Scenario binary = {"--token-join binary", "token-join=binary\n"};
	static const Scenario on_challenge = {"--mail-on challenge", "mail-timing=challenge\n"};
	/* the last resort POSTs at half the authorization's life (15 s): 15 s are left for the
	 * mail and the reply, enough for an ASan build on a loaded machine */
	static const Scenario detect = {"--mail-on challenge --challenge-expiry 30", "mail-timing=detect\nmail-wait=15\n"};
	static const Scenario bad_dkim = {"--dkim-domain elsewhere.example --challenge-expiry 16", "mail-wait=2\n"};
	static const Scenario short_wait = {NULL, "mail-wait=2\n"};
	/* nothing is mailed (the CA waits for the POST that mail-timing=authz never sends), and
	 * the authorization ends long before the wait would */
	static const Scenario expiring = {"--mail-on challenge --challenge-expiry 4", "mail-timing=authz\nmail-wait=120\n"};
	static const Scenario greylisted = {"--mail-delay 4 --reply-window 1", "mail-wait=2\n"};
	static const Scenario reorder_sc = {"--reply-window 2", NULL};
	static const Scenario repeated = {"--repeat-mail 3", NULL};
	static const Scenario reply_dkim = {.reply_dkim = TRUE,
					    .conf_extra = "dkim-selector=" DKIM_SELECTOR "\ndkim-domain=example.org\n"
							   "dkim-key=keyring:" DKIM_LABEL "\n"};
	static const Scenario eab = {"--eab kid-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "eab-kid=kid-1\neab-secret=keyring:eab-test\n"};
	static const Scenario no_store = {.no_store = TRUE};
	static const Scenario eab_once = {"--eab kid-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY --eab-single-use",
					  "eab-kid=kid-1\neab-secret=keyring:eab-test\n"};
	static const Scenario eab_missing = {"--eab kid-2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
					     "eab-kid=kid-2\neab-secret=keyring:eab-never-stored\n"};
	static const Scenario timing_authz = {"--mail-on challenge", "mail-timing=authz\nmail-wait=2\n"};
	static const Scenario no_auto_submitted = {"--no-auto-submitted", "mail-wait=2\n"};
	static const Scenario quirk_on = {"--no-auto-submitted", "quirks=missing-auto-submitted\n"};
	static const Scenario kill_answered = {.kill_at = "answered"};
	static const Scenario kill_submitting = {.kill_at = "submitting"};
	static const Scenario kill_submitted = {.kill_at = "submitted"};
	static const Scenario kill_submitting_rerun = {.kill_at = "submitting", .rerun = TRUE};
	static const Scenario kill_submitted_dkim = {.kill_at = "submitted",
						     .reply_dkim = TRUE,
						     .conf_extra = "dkim-selector=" DKIM_SELECTOR "\ndkim-domain=example.org\n"
								    "dkim-key=keyring:" DKIM_LABEL "\n"};
	gint rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	me_test_keyring_start();
	g_test_add_func("/cli/help/enroll", test_help_enroll);
	g_test_add_func("/cli/help/revoke", test_help_revoke);
	g_test_add_func("/cli/help/wrong-verb", test_help_wrong_verb);
	g_test_add_func("/cli/help/verbs", test_help_verbs);
	g_test_add_func("/cli/no-core-dumps", test_no_core_dumps);
	g_test_add("/cli/one-command", Fixture, &plain, setup, test_one_command, teardown);
	g_test_add("/cli/binary-join", Fixture, &binary, setup, test_one_command, teardown);
	g_test_add("/cli/mail-on-challenge", Fixture, &on_challenge, setup, test_one_command, teardown);
	g_test_add("/cli/timing/learned", Fixture, &detect, setup, test_timing_learned, teardown);
	g_test_add("/cli/timing/unauthenticated", Fixture, &bad_dkim, setup, test_timing_unauthenticated, teardown);
	g_test_add("/cli/timing/dns-down", Fixture, &short_wait, setup, test_timing_dns_down, teardown);
	g_test_add("/cli/timing/greylisted", Fixture, &greylisted, setup, test_timing_greylisted, teardown);
	g_test_add("/cli/forged-awaiting-approval", Fixture, &plain, setup, test_forged_awaiting_approval, teardown);
	g_test_add("/cli/reorder", Fixture, &reorder_sc, setup, test_reorder, teardown);
	g_test_add("/cli/repeated-mail", Fixture, &repeated, setup, test_one_command, teardown);
	g_test_add("/cli/reply-file", Fixture, &plain, setup, test_reply_file, teardown);
	g_test_add("/cli/forged-first", Fixture, &plain, setup, test_forged_first, teardown);
	g_test_add("/cli/wait/nothing", Fixture, &short_wait, setup, test_wait_nothing, teardown);
	g_test_add("/cli/wait/refused", Fixture, &short_wait, setup, test_wait_refused, teardown);
	g_test_add("/cli/wait/expired", Fixture, &expiring, setup, test_wait_expired, teardown);
	g_test_add("/cli/challenge/not-a-challenge", Fixture, &plain, setup, test_challenge_not_challenge, teardown);
	g_test_add("/cli/ascii-locale", Fixture, &plain, setup, test_ascii_locale, teardown);
	g_test_add("/cli/config/ca-file", Fixture, &plain, setup, test_config_ca_file, teardown);
	g_test_add("/cli/config/eab-missing", Fixture, &eab_missing, setup, test_config_eab_missing, teardown);
	g_test_add("/cli/config/mail-timing", Fixture, &timing_authz, setup, test_config_mail_timing, teardown);
	g_test_add("/cli/quirk/refused", Fixture, &no_auto_submitted, setup, test_quirk_refused, teardown);
	g_test_add("/cli/quirk/issued", Fixture, &quirk_on, setup, test_quirk_issued, teardown);
	g_test_add("/cli/eab", Fixture, &eab, setup, test_eab, teardown);
	g_test_add("/cli/account/shared", Fixture, &eab_once, setup, test_account_shared, teardown);
	g_test_add("/cli/register", Fixture, &plain, setup, test_register, teardown);
	g_test_add("/cli/renew", Fixture, &plain, setup, test_renew, teardown);
	g_test_add("/cli/reply-dkim", Fixture, &reply_dkim, setup, test_reply_dkim, teardown);
	g_test_add("/cli/renew-failed-retry", Fixture, &plain, setup, test_renew_failed_retry, teardown);
	g_test_add("/cli/renew-unattended", Fixture, &plain, setup, test_renew_unattended, teardown);
	g_test_add("/cli/revoke", Fixture, &plain, setup, test_revoke, teardown);
	g_test_add("/cli/explicit-target", Fixture, &no_store, setup, test_explicit_target, teardown);
	g_test_add("/cli/status/failure", Fixture, &eab, setup, test_status_failure, teardown);
	g_test_add("/cli/smtp/private-ca", Fixture, &plain, setup, test_smtp_private_ca, teardown);
	for (gsize i = 0; i < G_N_ELEMENTS(smime_scenarios); i++) {
		g_autofree gchar *path = g_strconcat("/cli/smime/", smime_scenarios[i].name, NULL);
		g_test_add(path, Fixture, &smime_scenarios[i].scenario, setup,
			   smime_scenarios[i].scenario.smime_reason == NULL ? test_smime_pass : test_smime_refused, teardown);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(kill_points); i++) {
		g_autofree gchar *path = g_strdup_printf("/cli/kill/%s", kill_points[i]);
		static Scenario scenarios[G_N_ELEMENTS(kill_points)];
		scenarios[i].kill_at = kill_points[i];
		g_test_add(path, Fixture, &scenarios[i], setup, test_kill_at, teardown);
	}
	g_test_add("/cli/kill/answered", Fixture, &kill_answered, setup, test_kill_smtp, teardown);
	g_test_add("/cli/kill/submitting", Fixture, &kill_submitting, setup, test_kill_smtp, teardown);
	g_test_add("/cli/kill/submitted", Fixture, &kill_submitted, setup, test_kill_smtp, teardown);
	g_test_add("/cli/kill/submitting-rerun", Fixture, &kill_submitting_rerun, setup, test_kill_smtp, teardown);
	g_test_add("/cli/kill/submitted-dkim", Fixture, &kill_submitted_dkim, setup, test_kill_smtp, teardown);
	g_test_add("/cli/kill/submitted-continue", Fixture, &plain, setup, test_kill_smtp_continue, teardown);
	g_test_add("/cli/kill/answered-reply-file", Fixture, &plain, setup, test_kill_reply_file, teardown);
	rc = g_test_run();
	me_test_keyring_stop();
	return rc;
}
