/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* mailenroll doctor: looks at everything an enrollment needs, without changing anything,
 * and says in one sentence per result what is wrong and what to do.  It loads the
 * configuration itself, so that a configuration that does not load is one failed result
 * instead of the end of the run. */

#define G_LOG_DOMAIN "MeDoctor"

#include "config.h"

#include "doctor.h"

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gi18n-lib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acme-client.h"
#include "dns.h"
#include "enroll.h"
#include "file.h"
#include "frame.h"
#include "keyring.h"
#include "me-config.h"
#include "smime.h"
#include "state.h"
#include "thunderbird.h"

/* a CA gets this long to open the connection and to send its directory */
#define DOCTOR_HTTP_CONNECT_MS	   5000
#define DOCTOR_HTTP_TOTAL_MS	   10000
#define DOCTOR_HTTP_LOW_SPEED_SECS 10
/* the largest host manifest read; Thunderbird's own are a few hundred bytes */
#define DOCTOR_MANIFEST_MAX (64 * 1024)
/* the helper gets this long to answer hello, and then to exit once its stdin is closed */
#define DOCTOR_HELLO_TIMEOUT_MS 3000
#define DOCTOR_HELPER_EXIT_MS	2000
#define DOCTOR_HELPER_POLL_MS	10
/* the largest hello answer taken: the method list is well under 1 KiB */
#define DOCTOR_HELLO_REPLY_MAX (64 * 1024)
/* the name asked when the configuration gives no better one: resolvers answer it themselves
 * (RFC 6761 §6.3), so the answer proves the resolver and nothing beyond it */
#define DOCTOR_DNS_FALLBACK_NAME "localhost"
/* a mailbox no keyring item has: looking it up proves that the keyring service answers */
#define DOCTOR_PROBE_MAILBOX "doctor@mailenroll.invalid"

typedef enum {
	DOCTOR_STATUS_OK,
	DOCTOR_STATUS_WARNING,
	DOCTOR_STATUS_FAILED,
} DoctorStatus;

static const gchar *const status_names[] = {"ok", "warning", "failed"};
static const gchar *const status_prefixes[] = {"✓ ", "! ", "✗ "};

typedef struct {
	gchar *check;
	DoctorStatus status;
	gchar *message;
} DoctorResult;

typedef struct {
	const MeDoctorOptions *opts;
	MeConfig *config;
	GPtrArray *results; /* element-type DoctorResult */
} Doctor;

static void
doctor_result_free(DoctorResult *result)
{
	g_free(result->check);
	g_free(result->message);
	g_free(result);
}

static void
doctor_clear(Doctor *doc)
{
	me_config_free(doc->config);
	g_clear_pointer(&doc->results, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Doctor, doctor_clear)

/* ---- results */

static void
doctor_add(Doctor *doc, const gchar *check, DoctorStatus status, const gchar *format, ...) G_GNUC_PRINTF(4, 5);

/* records one result; without --json it is printed at once, so a slow check shows progress */
static void
doctor_add(Doctor *doc, const gchar *check, DoctorStatus status, const gchar *format, ...)
{
	DoctorResult *result = g_new0(DoctorResult, 1);
	va_list ap;

	va_start(ap, format);
	result->message = g_strdup_vprintf(format, ap);
	va_end(ap);
	result->check = g_strdup(check);
	result->status = status;
	g_ptr_array_add(doc->results, result);
	if (!doc->opts->json) {
		/* standard output through the CLI's output function, which has stand-ins for the
		 * check marks where the terminal cannot show them */
		if (doc->opts->out == stdout)
			g_print("%s%s\n", status_prefixes[status], result->message);
		else
			fprintf(doc->opts->out, "%s%s\n", status_prefixes[status], result->message);
		fflush(doc->opts->out);
	}
}

static gboolean
doctor_any_failed(const Doctor *doc)
{
	for (guint i = 0; i < doc->results->len; i++) {
		const DoctorResult *result = g_ptr_array_index(doc->results, i);
		if (result->status == DOCTOR_STATUS_FAILED)
			return TRUE;
	}
	return FALSE;
}

static void
doctor_print_json(const Doctor *doc)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	json_builder_begin_array(builder);
	for (guint i = 0; i < doc->results->len; i++) {
		const DoctorResult *result = g_ptr_array_index(doc->results, i);
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "check");
		json_builder_add_string_value(builder, result->check);
		json_builder_set_member_name(builder, "status");
		json_builder_add_string_value(builder, status_names[result->status]);
		json_builder_set_member_name(builder, "message");
		json_builder_add_string_value(builder, result->message);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	fprintf(doc->opts->out, "%s\n", text);
	fflush(doc->opts->out);
}

/* an error's message for a parenthesis inside another sentence: without its full stop */
static gchar *
reason_of(const GError *error)
{
	gchar *text = g_strdup(error->message);
	gsize len = strlen(text);

	if (len > 0 && text[len - 1] == '.')
		text[len - 1] = '\0';
	return text;
}

/* text a server chose, fit for a terminal: control characters become U+FFFD */
static gchar *
printable(const gchar *text)
{
	GString *out = g_string_new(NULL);

	if (!g_utf8_validate(text, -1, NULL))
		return g_string_free(out, FALSE);
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		g_string_append_unichar(out, g_unichar_iscntrl(c) ? 0xfffd : c);
	}
	return g_string_free(out, FALSE);
}

/* ---- 1. the configuration */

static void
check_ca_choice(Doctor *doc)
{
	const gchar *name = doc->opts->ca_name;
	const MeCaProfile *ca = me_config_get_ca(doc->config, name);

	if (ca != NULL) {
		doctor_add(doc, "configuration", DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the configuration is fine; %s is the name of the CA used */
			   _("The configuration loads, and the certificate authority “%s” is chosen."), ca->name);
	} else if (name != NULL) {
		doctor_add(doc, "configuration", DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: --ca named a CA the configuration does not have; %s is the name */
			   _("There is no certificate authority “%s” in the configuration; add a [ca %s] group to mailenroll.conf."),
			   name, name);
	} else if (me_config_list_cas(doc->config)->len == 0) {
		doctor_add(doc, "configuration", DOCTOR_STATUS_WARNING, "%s",
			   /* TRANSLATORS: doctor: no [ca NAME] group in the configuration */
			   _("The configuration has no certificate authority; add a [ca NAME] group to mailenroll.conf."));
	} else {
		doctor_add(doc, "configuration", DOCTOR_STATUS_WARNING, "%s",
			   /* TRANSLATORS: doctor: several CAs and none is the default */
			   _("The configuration has several certificate authorities and no default; set default-ca in mailenroll.conf, or pass --ca."));
	}
}

static void
check_configuration(Doctor *doc)
{
	g_autoptr(GError) error = NULL;
	const GPtrArray *diagnostics;

	doc->config = me_config_load_default(&error);
	if (doc->config == NULL) {
		doctor_add(doc, "configuration", DOCTOR_STATUS_FAILED, "%s", error->message);
		return;
	}
	diagnostics = me_config_get_diagnostics(doc->config);
	for (guint i = 0; diagnostics != NULL && i < diagnostics->len; i++)
		doctor_add(doc, "configuration", DOCTOR_STATUS_WARNING, "%s",
			   (const gchar *)g_ptr_array_index(diagnostics, i));
	check_ca_choice(doc);
}

/* the CAs to look at: the one --ca names, else every CA; none when the configuration failed */
static GPtrArray *
doctor_list_cas(const Doctor *doc)
{
	GPtrArray *cas = g_ptr_array_new();
	const GPtrArray *all;

	if (doc->config == NULL)
		return cas;
	if (doc->opts->ca_name != NULL) {
		const MeCaProfile *ca = me_config_get_ca(doc->config, doc->opts->ca_name);
		if (ca != NULL)
			g_ptr_array_add(cas, (gpointer)ca);
		return cas;
	}
	all = me_config_list_cas(doc->config);
	for (guint i = 0; i < all->len; i++)
		g_ptr_array_add(cas, g_ptr_array_index(all, i));
	return cas;
}

/* ---- 2. each CA profile */

static void
check_eab_secret(Doctor *doc, const gchar *check, const MeCaProfile *ca)
{
	const gchar *label = ca->eab_secret != NULL ? ca->eab_secret : ca->eab_kid;
	g_autoptr(GError) error = NULL;
	/* a GBytes that wipes the key when it goes; nothing of it is shown */
	g_autoptr(GBytes) key = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory, label, &error);

	if (key != NULL) {
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the EAB key is provisioned; %s are its keyring label and the CA */
			   _("The External Account Binding key “%s” of the certificate authority “%s” is in the keyring."),
			   label, ca->name);
	} else if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the EAB key is missing; %s are the label, the CA and the label again */
			   _("The External Account Binding key “%s” of the certificate authority “%s” is not in the keyring; run mailenroll provision eab %s with the key the CA gave you."),
			   label, ca->name, label);
	} else {
		g_autofree gchar *reason = reason_of(error);
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the keyring could not be asked for the EAB key; %s are the label, the CA and the keyring's reason */
			   _("The External Account Binding key “%s” of the certificate authority “%s” cannot be read from the keyring (%s)."),
			   label, ca->name, reason);
	}
}

static void
check_eab(Doctor *doc, const MeCaProfile *ca, const MeAcmeDirectory *dir)
{
	g_autofree gchar *check = g_strconcat("eab:", ca->name, NULL);

	if (ca->eab_kid != NULL) {
		check_eab_secret(doc, check, ca);
		return;
	}
	if (dir != NULL && dir->external_account_required)
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the CA needs EAB and the configuration has none; %s are the CA's name twice */
			   _("The certificate authority “%s” requires External Account Binding, but none is configured; set eab-kid and eab-secret=keyring:LABEL in its [ca %s] group and run mailenroll provision eab LABEL."),
			   ca->name, ca->name);
}

static void
check_terms(Doctor *doc, const MeCaProfile *ca, const MeAcmeDirectory *dir)
{
	g_autofree gchar *check = NULL;
	g_autofree gchar *url = NULL;

	if (dir->terms_of_service == NULL || ca->agree_tos)
		return;
	check = g_strconcat("terms:", ca->name, NULL);
	url = printable(dir->terms_of_service);
	doctor_add(doc, check, DOCTOR_STATUS_WARNING,
		   /* TRANSLATORS: doctor: the CA has terms of service nobody agreed to yet; %s are the CA, the terms' URL and the CA again; keep --agree-tos and agree-tos=true */
		   _("The certificate authority “%s” has terms of service at %s; read them, then pass --agree-tos or set agree-tos=true in its [ca %s] group."),
		   ca->name, url, ca->name);
}

static void
check_ca(Doctor *doc, const MeCaProfile *ca)
{
	g_autoptr(MeAcmeClient) client = me_acme_client_new(ca->directory);
	MeHttp *http = me_acme_client_get_http(client);
	g_autofree gchar *check = g_strconcat("ca:", ca->name, NULL);
	g_autoptr(GError) error = NULL;
	const MeAcmeDirectory *dir;

	if (ca->ca_file != NULL)
		me_http_set_ca_file(http, ca->ca_file);
	me_http_set_timeouts(http, DOCTOR_HTTP_CONNECT_MS, DOCTOR_HTTP_TOTAL_MS, DOCTOR_HTTP_LOW_SPEED_SECS);
	dir = me_acme_client_get_directory(client, &error);
	if (dir == NULL) {
		g_autofree gchar *reason = reason_of(error);
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the CA's directory could not be fetched; %s are the CA, its URL and the reason */
			   _("The certificate authority “%s” does not answer at %s; check its directory URL, its ca-file and the network (%s)."),
			   ca->name, ca->directory, reason);
		/* the EAB key can still be looked for */
		check_eab(doc, ca, NULL);
		return;
	}
	doctor_add(doc, check, DOCTOR_STATUS_OK,
		   /* TRANSLATORS: doctor: the CA's directory answered; %s are the CA and its URL */
		   _("The certificate authority “%s” answers at %s."), ca->name, ca->directory);
	check_eab(doc, ca, dir);
	check_terms(doc, ca, dir);
}

/* ---- 3. the keyring */

/* a lookup of an existing item is what meets a locked keyring; a missing one says only
 * that the service answers */
static gboolean
keyring_probe_item(const MeKeyringItem *item, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	/* the secret is wiped when this goes, unseen */
	g_autoptr(GBytes) secret =
	    me_keyring_lookup_bytes(item->kind, item->mailbox, item->ca, item->fingerprint, &error_local);

	if (secret != NULL || g_error_matches(error_local, ME_ERROR, ME_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&error_local));
	return FALSE;
}

static gboolean
keyring_probe(GError **error)
{
	static const MeKeyringKind kinds[] = {
	    ME_KEYRING_KIND_SMTP_PASSWORD, ME_KEYRING_KIND_EAB_MAC_KEY, ME_KEYRING_KIND_ACCOUNT_KEY,
	    ME_KEYRING_KIND_CERTIFICATE_KEY, ME_KEYRING_KIND_DKIM_KEY,
	};
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MeSecretStr) none = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		/* attributes only: listing needs no unlocking */
		g_autoptr(GPtrArray) items = me_keyring_list(kinds[i], NULL, NULL, error);
		if (items == NULL)
			return FALSE;
		if (items->len > 0)
			return keyring_probe_item(g_ptr_array_index(items, 0), error);
	}
	none = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, DOCTOR_PROBE_MAILBOX, NULL, NULL, &error_local);
	if (none != NULL || g_error_matches(error_local, ME_ERROR, ME_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&error_local));
	return FALSE;
}

static void
check_smtp_password(Doctor *doc)
{
	const MeConfigSmtp *smtp = doc->config != NULL ? me_config_get_smtp(doc->config) : NULL;
	g_autoptr(MeSecretStr) password = NULL;
	g_autoptr(GError) error = NULL;

	if (smtp == NULL || smtp->username == NULL)
		return;
	password = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, smtp->username, smtp->host, NULL, &error);
	if (password != NULL) {
		doctor_add(doc, "smtp-password", DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the SMTP password is provisioned; %s is the SMTP user name */
			   _("The SMTP password of %s is in the keyring."), smtp->username);
	} else if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		doctor_add(doc, "smtp-password", DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the SMTP password is missing; %s is the SMTP user name, twice */
			   _("No SMTP password for %s is in the keyring; run mailenroll provision smtp-password %s."),
			   smtp->username, smtp->username);
	} else {
		doctor_add(doc, "smtp-password", DOCTOR_STATUS_FAILED, "%s", error->message);
	}
}

static void
check_keyring(Doctor *doc)
{
	g_autoptr(GError) error = NULL;

	if (!keyring_probe(&error)) {
		/* the keyring's own sentence says what is wrong and what to do */
		doctor_add(doc, "keyring", DOCTOR_STATUS_FAILED, "%s", error->message);
		return;
	}
	doctor_add(doc, "keyring", DOCTOR_STATUS_OK, "%s",
		   /* TRANSLATORS: doctor: the Secret Service answered and is not locked */
		   _("The keyring (Secret Service) answers and is unlocked."));
	check_smtp_password(doc);
}

/* ---- 4. DNS */

static const gchar *
doctor_state_dir(const Doctor *doc, gchar **owned)
{
	if (doc->config != NULL)
		return me_config_get_state_dir(doc->config);
	*owned = g_build_filename(g_get_user_state_dir(), PACKAGE_NAME, NULL);
	return *owned;
}

/* what to ask: the CA's DKIM key record, else the directory's host name, else a name every
 * resolver answers itself */
static gchar *
dns_probe_name(const MeCaProfile *ca)
{
	g_autoptr(GUri) uri = NULL;
	const gchar *host;

	if (ca->dkim_selector != NULL && ca->dkim_domain != NULL)
		return g_strdup_printf("%s._domainkey.%s", ca->dkim_selector, ca->dkim_domain);
	uri = g_uri_parse(ca->directory, G_URI_FLAGS_NONE, NULL);
	host = uri != NULL ? g_uri_get_host(uri) : NULL;
	if (host == NULL || host[0] == '\0' || g_hostname_is_ip_address(host))
		return g_strdup(DOCTOR_DNS_FALLBACK_NAME);
	return g_strdup(host);
}

/* any answer proves the resolver, also "no such name" and "no TXT record" */
static gboolean
dns_answered(MeDns *dns, const gchar *name, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *txt = me_dns_lookup_txt(dns, name, &error_local);

	if (txt != NULL || g_error_matches(error_local, ME_ERROR, ME_ERROR_NOT_FOUND) ||
	    g_error_matches(error_local, ME_ERROR, ME_ERROR_TOO_LARGE))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&error_local));
	return FALSE;
}

static void
dns_report_failure(Doctor *doc, const gchar *check, const MeCaProfile *ca, const GError *error)
{
	g_autofree gchar *reason = reason_of(error);

	if (ca->dns_server != NULL)
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the configured DNS server failed; %s are the server, the CA, the CA again and the reason */
			   _("The DNS server %s of the certificate authority “%s” does not answer; check dns-server in its [ca %s] group (%s)."),
			   ca->dns_server, ca->name, ca->name, reason);
	else
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the system's resolver failed; %s are the CA and the reason */
			   _("The system's DNS resolver does not answer; check /etc/resolv.conf, or set dns-server in the [ca %s] group (%s)."),
			   ca->name, reason);
}

/* the lookup every enrollment at the CA makes failed: no answer, a refusal, a server failure */
static void
dns_report_key_failure(Doctor *doc, const gchar *check, const MeCaProfile *ca, const gchar *name, const GError *error)
{
	g_autofree gchar *reason = reason_of(error);

	if (ca->dns_server != NULL)
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the configured DNS server failed the lookup enrollments need; %s are the server, the name of the CA's DKIM key, the CA and the reason */
			   _("The DNS server %s does not answer the lookup of the certificate authority's DKIM key %s, which every challenge mail needs; check dns-server in the [ca %s] group (%s)."),
			   ca->dns_server, name, ca->name, reason);
	else
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the system's resolver failed the lookup enrollments need; %s are the name of the CA's DKIM key, the CA and the reason */
			   _("The system's DNS resolver does not answer the lookup of the certificate authority's DKIM key %s, which every challenge mail needs; check /etc/resolv.conf, or set dns-server in the [ca %s] group (%s)."),
			   name, ca->name, reason);
}

/* a name doctor only guessed was refused or failed: a server that holds only the CA's DKIM
 * keys answers so for any other name, so this proves only that the server is there */
static void
dns_report_guess_refused(Doctor *doc, const gchar *check, const MeCaProfile *ca, const gchar *name)
{
	if (ca->dns_server != NULL)
		doctor_add(doc, check, DOCTOR_STATUS_WARNING,
			   /* TRANSLATORS: doctor: the configured DNS server refused a name doctor guessed; %s are the server and the name */
			   _("The DNS server %s answers but refused the lookup of %s, as a server that holds only the certificate authority's DKIM keys does; the first challenge mail shows whether it serves those."),
			   ca->dns_server, name);
	else
		doctor_add(doc, check, DOCTOR_STATUS_WARNING,
			   /* TRANSLATORS: doctor: the system's resolver refused a name doctor guessed; %s is the name */
			   _("The system's DNS resolver answers but refused the lookup of %s; the first challenge mail shows whether it serves the certificate authority's DKIM keys."),
			   name);
}

static void
dns_report_ok(Doctor *doc, const gchar *check, const MeCaProfile *ca, const gchar *name, gboolean learnt)
{
	if (learnt && ca->dns_server != NULL)
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the configured DNS server answered the lookup enrollments need; %s are the server and the name of the CA's DKIM key */
			   _("The DNS server %s answers the lookup of the certificate authority's DKIM key %s."),
			   ca->dns_server, name);
	else if (learnt)
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the system's resolver answered the lookup enrollments need; %s is the name of the CA's DKIM key */
			   _("The system's DNS resolver answers the lookup of the certificate authority's DKIM key %s."),
			   name);
	else if (ca->dns_server != NULL)
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the configured DNS server answered; %s are the server and the name asked for */
			   _("The DNS server %s answers (asked for %s)."), ca->dns_server, name);
	else
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the system's resolver answered; %s is the name asked for */
			   _("The system's DNS resolver answers (asked for %s)."), name);
}

/* what an enrollment needs of DNS: the TXT lookup of the CA's DKIM key through the
 * configured server.  Its name is known once a challenge mail passed by DKIM
 * (ME_ENROLL_NOTE_DKIM_KEY); an answer, "no such name" included, proves the server, and
 * only silence, a refusal or a server failure fails.  Before that, doctor guesses a name,
 * and a refusal of the guess is only a warning */
static void
check_dns(Doctor *doc, const MeCaProfile *ca)
{
	g_autofree gchar *check = g_strconcat("dns:", ca->name, NULL);
	g_autofree gchar *owned = NULL;
	g_autofree gchar *learnt = me_state_get_ca_note(doctor_state_dir(doc, &owned), ca->name, ca->directory,
							ME_ENROLL_NOTE_DKIM_KEY);
	g_autofree gchar *name = learnt != NULL ? g_strdup(learnt) : dns_probe_name(ca);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = me_dns_new(ca->dns_server, &error);

	if (dns != NULL && dns_answered(dns, name, &error))
		dns_report_ok(doc, check, ca, name, learnt != NULL);
	else if (dns != NULL && learnt == NULL && g_error_matches(error, ME_ERROR, ME_ERROR_NETWORK))
		dns_report_guess_refused(doc, check, ca, name);
	else if (dns != NULL && learnt != NULL)
		dns_report_key_failure(doc, check, ca, name, error);
	else
		dns_report_failure(doc, check, ca, error);
}

/* ---- 4b. the S/MIME trust of each CA profile */

static void
check_smime_trust(Doctor *doc, const MeCaProfile *ca)
{
	g_autofree gchar *check = g_strconcat("smime:", ca->name, NULL);
	g_autofree gchar *system = NULL;

	if (g_strcmp0(ca->smime_trust, ME_CONFIG_SMIME_TRUST_NONE) == 0) {
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: smime-trust=none; %s is the CA, twice; keep smime-trust */
			   _("The certificate authority “%s” gets no S/MIME trust (smime-trust is none), so only its DKIM-signed challenges can pass; set smime-trust in its [ca %s] group if it signs with S/MIME."),
			   ca->name, ca->name);
	} else if (g_strcmp0(ca->smime_trust, ME_CONFIG_SMIME_TRUST_SYSTEM) != 0) {
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the S/MIME trust is a file the configuration names; the CA, then the file */
			   _("S/MIME-signed challenges of the certificate authority “%s” must chain to a certificate in %s."),
			   ca->name, ca->smime_trust_file);
	} else if (ca->smime_trust_file != NULL) {
		doctor_add(doc, check, DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the S/MIME trust is the system's TLS bundle; the CA, then the file */
			   _("S/MIME-signed challenges of the certificate authority “%s” must chain to the system's trusted certificates in %s (a bundle meant for TLS)."),
			   ca->name, ca->smime_trust_file);
	} else {
		system = me_smime_trust_system_file();
		doctor_add(doc, check, DOCTOR_STATUS_WARNING,
			   /* TRANSLATORS: doctor: smime-trust=system but there is no bundle; the file, the CA, the CA again;
			    * keep smime-trust */
			   _("The system has no trusted certificates at %s, so S/MIME-signed challenges of the certificate authority “%s” cannot pass; install the ca-certificates package, or set smime-trust in its [ca %s] group."),
			   system, ca->name, ca->name);
	}
}

/* ---- 4c. the interop quirks of each CA profile: each one lowers a check, so it is a warning */

static void
check_quirks(Doctor *doc, const MeCaProfile *ca)
{
	g_autofree gchar *check = NULL;
	g_autofree gchar *file = NULL;
	const gchar *path;

	if (!(ca->quirks & ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED))
		return;
	check = g_strconcat("quirks:", ca->name, NULL);
	path = me_config_get_ca_key_origin(doc->config, ca->name, "quirks");
	file = path != NULL ? g_filename_display_name(path) : g_strdup("mailenroll.conf");
	doctor_add(doc, check, DOCTOR_STATUS_WARNING,
		   /* TRANSLATORS: doctor: an interop quirk is on for a CA; %s are the CA, the CA again and the configuration
		    * file; keep quirks=missing-auto-submitted, Auto-Submitted and RFC 8823 */
		   _("The certificate authority “%s” has quirks=missing-auto-submitted in [ca %s] of %s: its challenge mail is accepted without the Auto-Submitted header RFC 8823 requires, when its DKIM signature covers the other required header fields; remove the setting once the CA sends the header."),
		   ca->name, ca->name, file);
}

/* ---- 5. the native-messaging host registration */

static gchar *
read_bounded(const gchar *path, gsize max, GError **error)
{
	gsize len = 0;
	gint errnum = 0;
	gchar *data = me_file_read_bounded(path, max, &len, NULL, &errnum);

	if (data == NULL && errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; %u is the limit */
			    _("it is larger than %u bytes"), (guint)max);
	} else if (data == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; %s is the system's reason */
			    _("it cannot be read (%s)"), g_strerror(errnum));
	}
	return data;
}

static const gchar *
json_string_member(JsonObject *obj, const gchar *member)
{
	JsonNode *node = json_object_get_member(obj, member);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

static JsonObject *
manifest_load(const gchar *path, GError **error)
{
	g_autofree gchar *text = read_bounded(path, DOCTOR_MANIFEST_MAX, error);
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;

	if (text == NULL)
		return NULL;
	if (!json_parser_load_from_data(parser, text, -1, NULL) || (root = json_parser_get_root(parser)) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken */
				    _("it is not a JSON object"));
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

static gboolean
manifest_allows_extension(JsonObject *obj)
{
	JsonNode *node = json_object_get_member(obj, "allowed_extensions");
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return FALSE;
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *element = json_array_get_element(array, i);
		if (JSON_NODE_HOLDS_VALUE(element) && json_node_get_value_type(element) == G_TYPE_STRING &&
		    g_strcmp0(json_node_get_string(element), ME_EXTENSION_ID) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the fields Thunderbird reads (docs/thunderbird.md §1.2); @helper points into @obj */
static gboolean
manifest_validate(JsonObject *obj, const gchar **helper, GError **error)
{
	const gchar *path = json_string_member(obj, "path");

	if (g_strcmp0(json_string_member(obj, "name"), ME_HOST_NAME) != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; keep “name”; %s is the host name */
			    _("its “name” is not %s"), ME_HOST_NAME);
		return FALSE;
	}
	if (g_strcmp0(json_string_member(obj, "type"), "stdio") != 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; keep “type” and “stdio” */
				    _("its “type” is not “stdio”"));
		return FALSE;
	}
	if (!manifest_allows_extension(obj)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; keep “allowed_extensions”; %s is the extension's id */
			    _("its “allowed_extensions” do not include %s"), ME_EXTENSION_ID);
		return FALSE;
	}
	if (path == NULL || !g_path_is_absolute(path) || !g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) ||
	    g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autofree gchar *shown = path != NULL ? printable(path) : g_strdup("");
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: doctor: part of a sentence, why a host manifest is broken; keep “path”; %s is the path */
			    _("its “path” “%s” is not the absolute path of a program"), shown);
		return FALSE;
	}
	*helper = path;
	return TRUE;
}

/* ---- 5b. the helper answers hello */

static GBytes *
hello_frame(GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "jsonrpc");
	json_builder_add_string_value(b, "2.0");
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "method");
	json_builder_add_string_value(b, "hello");
	json_builder_set_member_name(b, "params");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "protocol");
	json_builder_begin_array(b);
	for (gint v = ME_PROTOCOL_VERSION_MIN; v <= ME_PROTOCOL_VERSION_MAX; v++)
		json_builder_add_int_value(b, v);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "client");
	json_builder_add_string_value(b, "mailenroll-doctor/" PACKAGE_VERSION);
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return me_frame_encode(root, ME_FRAME_MAX_OUTBOUND, error);
}

static void
set_no_answer_error(GError **error)
{
	g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
		    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work; %u is a number of seconds */
		    _("it did not answer hello within %u seconds"), (guint)(DOCTOR_HELLO_TIMEOUT_MS / 1000));
}

static void
set_invalid_answer_error(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work */
			    _("its answer to hello is not a valid message"));
}

/* the text of the helper's first frame; the library's reasons become doctor's sentences */
static gchar *
read_frame(gint fd, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)DOCTOR_HELLO_TIMEOUT_MS * 1000;
	g_autoptr(MeFrameDecoder) decoder = me_frame_decoder_new(DOCTOR_HELLO_REPLY_MAX);
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error_local = NULL;

	if (!me_frame_decoder_read_fd(decoder, fd, deadline, &frame, &error_local)) {
		g_debug("reading the answer to hello: %s", error_local->message);
		if (g_error_matches(error_local, ME_ERROR, ME_ERROR_TIMED_OUT)) {
			set_no_answer_error(error);
			return NULL;
		}
		if (g_error_matches(error_local, ME_ERROR, ME_ERROR_TOO_LARGE)) {
			set_invalid_answer_error(error);
			return NULL;
		}
	}
	if (frame == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work */
				    _("it ended without answering hello"));
		return NULL;
	}
	if (g_bytes_get_size(frame) == 0) {
		set_invalid_answer_error(error);
		return NULL;
	}
	return g_strndup(g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

/* the agreed protocol version from a hello answer, or -1 */
static gint64
hello_reply_protocol(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;
	JsonNode *result;
	JsonNode *protocol;

	if (!json_parser_load_from_data(parser, text, -1, NULL) || (root = json_parser_get_root(parser)) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(root))
		return -1;
	result = json_object_get_member(json_node_get_object(root), "result");
	if (result == NULL || !JSON_NODE_HOLDS_OBJECT(result))
		return -1;
	protocol = json_object_get_member(json_node_get_object(result), "protocol");
	if (protocol == NULL || !JSON_NODE_HOLDS_VALUE(protocol) || json_node_get_value_type(protocol) != G_TYPE_INT64)
		return -1;
	return json_node_get_int(protocol);
}

static gboolean
helper_exchange(GSubprocess *proc, gint64 *protocol, GError **error)
{
	GOutputStream *in = g_subprocess_get_stdin_pipe(proc);
	gint out_fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(proc)));
	g_autoptr(GBytes) frame = hello_frame(error);
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *reply = NULL;

	if (frame == NULL)
		return FALSE;
	if (!g_output_stream_write_all(in, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame), NULL, NULL,
				       &error_local)) {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work; %s is the system's reason */
			    _("it does not read its input (%s)"), error_local->message);
		return FALSE;
	}
	reply = read_frame(out_fd, error);
	if (reply == NULL)
		return FALSE;
	*protocol = hello_reply_protocol(reply);
	if (*protocol < ME_PROTOCOL_VERSION_MIN || *protocol > ME_PROTOCOL_VERSION_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work */
				    _("it refused hello or answered it wrongly"));
		return FALSE;
	}
	return TRUE;
}

/* closes its stdin, as Thunderbird does, and gives it a moment to go */
static void
helper_stop(GSubprocess *proc)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)DOCTOR_HELPER_EXIT_MS * 1000;

	(void)g_output_stream_close(g_subprocess_get_stdin_pipe(proc), NULL, NULL);
	/* GLib's worker thread reaps the child; the identifier goes once it has */
	while (g_subprocess_get_identifier(proc) != NULL && g_get_monotonic_time() < deadline)
		g_usleep(DOCTOR_HELPER_POLL_MS * 1000);
	if (g_subprocess_get_identifier(proc) != NULL) {
		g_debug("the helper did not exit after its input closed; killing it");
		g_subprocess_force_exit(proc);
	}
	(void)g_subprocess_wait(proc, NULL, NULL);
}

/* starts @helper as Thunderbird does (docs/thunderbird.md §1.2) and says hello */
static gboolean
helper_hello(const gchar *helper, const gchar *manifest, gint64 *protocol, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_autofree gchar *cwd = g_path_get_dirname(helper);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error_local = NULL;
	gboolean ok;

	g_subprocess_launcher_set_cwd(launcher, cwd);
	proc = g_subprocess_launcher_spawn(launcher, &error_local, helper, manifest, ME_EXTENSION_ID, NULL);
	if (proc == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: doctor: part of a sentence, why the helper does not work; %s is the system's reason */
			    _("it cannot be started (%s)"), error_local->message);
		return FALSE;
	}
	ok = helper_exchange(proc, protocol, error);
	helper_stop(proc);
	return ok;
}

static void
report_broken_manifest(Doctor *doc, const gchar *check, const gchar *path, gboolean user, const GError *error)
{
	if (user)
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the user's host manifest is broken; %s are its path and what is wrong (a part of a sentence) */
			   _("The host manifest %s is broken: %s; run mailenroll register to write it again."), path,
			   error->message);
	else
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the system's host manifest is broken; %s are its path and what is wrong (a part of a sentence) */
			   _("The system host manifest %s is broken: %s; reinstall mailenroll."), path, error->message);
}

static void
check_manifest(Doctor *doc, const gchar *path, gboolean user)
{
	const gchar *check = user ? "host-manifest:user" : "host-manifest:system";
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) obj = manifest_load(path, &error);
	const gchar *helper = NULL;
	g_autofree gchar *shown = NULL;
	gint64 protocol = -1;

	if (obj == NULL || !manifest_validate(obj, &helper, &error)) {
		report_broken_manifest(doc, check, path, user, error);
		return;
	}
	shown = printable(helper);
	if (!helper_hello(helper, path, &protocol, &error)) {
		doctor_add(doc, check, DOCTOR_STATUS_FAILED,
			   /* TRANSLATORS: doctor: the helper a manifest names does not work; %s are the helper, the manifest and what is wrong (a part of a sentence) */
			   _("The helper %s that %s starts does not work: %s; reinstall mailenroll, or run mailenroll register --helper PATH."),
			   shown, path, error->message);
		return;
	}
	doctor_add(doc, check, DOCTOR_STATUS_OK,
		   /* TRANSLATORS: doctor: the host is registered and answers; %s are the manifest and the helper, %d the protocol version */
		   _("Thunderbird can start the helper: %s starts %s, which answers hello with protocol %d."), path, shown,
		   (gint)protocol);
}

/* a Snap or Flatpak Thunderbird starts the helper through the desktop portal, which reads
 * the same manifests: one line for each that is installed for this user */
static void
check_sandboxes(Doctor *doc, gboolean registered, const gchar *user_path)
{
	const MeTbSandbox sandboxes[] = {ME_TB_SANDBOX_SNAP, ME_TB_SANDBOX_FLATPAK};

	for (guint i = 0; i < G_N_ELEMENTS(sandboxes); i++) {
		g_autofree gchar *folder = me_tb_sandbox_get_folder(NULL, sandboxes[i]);
		g_autofree gchar *check = NULL;
		const gchar *name = me_tb_sandbox_to_string(sandboxes[i]);

		if (folder == NULL)
			continue;
		check = g_strconcat("host-", sandboxes[i] == ME_TB_SANDBOX_SNAP ? "snap" : "flatpak", NULL);
		if (registered)
			doctor_add(doc, check, DOCTOR_STATUS_OK,
				   /* TRANSLATORS: doctor: a Snap or Flatpak Thunderbird is installed and the host is registered; the %s are Snap or Flatpak, its folder */
				   _("The %s Thunderbird in %s can start the helper through the desktop portal, which reads the manifest above."),
				   name, folder);
		else
			doctor_add(doc, check, DOCTOR_STATUS_WARNING,
				   /* TRANSLATORS: doctor: a Snap or Flatpak Thunderbird is installed and no host manifest exists; the %s are Snap or Flatpak, its folder, and the manifest its desktop portal reads */
				   _("The %s Thunderbird in %s cannot start the helper: its desktop portal reads %s, which does not exist; run mailenroll register."),
				   name, folder, user_path);
	}
}

static void
check_host(Doctor *doc)
{
	const gchar *name = ME_HOST_NAME ".json";
	g_autofree gchar *user_path = g_build_filename(g_get_home_dir(), ".mozilla", "native-messaging-hosts", name, NULL);
	g_autofree gchar *system_path = g_build_filename(doc->opts->nmhostdir, name, NULL);
	gboolean user_present = g_file_test(user_path, G_FILE_TEST_EXISTS);
	gboolean system_present = g_file_test(system_path, G_FILE_TEST_EXISTS);

	if (user_present)
		check_manifest(doc, user_path, TRUE);
	if (system_present)
		check_manifest(doc, system_path, FALSE);
	if (!user_present && !system_present)
		doctor_add(doc, "host-manifest", DOCTOR_STATUS_WARNING,
			   /* TRANSLATORS: doctor: neither host manifest exists; %s are the user's and the system's manifest */
			   _("Thunderbird cannot start the helper: neither %s nor %s exists; run mailenroll register."),
			   user_path, system_path);
	check_sandboxes(doc, user_present || system_present, user_path);
}

/* ---- 6. Thunderbird */

static void
check_identity(Doctor *doc, const MeTbProfile *profile, const gchar *mailbox)
{
	g_autofree gchar *check = g_strconcat("identity:", mailbox, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *key = me_tb_prefs_find_identity(profile->path, mailbox, &error);

	if (key == NULL) {
		/* its sentence says to add the address to an account, or to choose another profile */
		doctor_add(doc, check, DOCTOR_STATUS_WARNING, "%s", error->message);
		return;
	}
	doctor_add(doc, check, DOCTOR_STATUS_OK,
		   /* TRANSLATORS: doctor: the certified address is an identity of the profile; %s are the address and the identity key (id1) */
		   _("The address %s is the identity %s of the default Thunderbird profile."), mailbox, key);
}

/* every enrollment with an issued certificate needs an identity to use it */
static void
check_identities(Doctor *doc, const MeTbProfile *profile)
{
	g_autofree gchar *owned = NULL;
	const gchar *state_dir = doctor_state_dir(doc, &owned);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) states = me_state_list(state_dir, &error);

	if (states == NULL) {
		doctor_add(doc, "enrollments", DOCTOR_STATUS_FAILED, "%s", error->message);
		return;
	}
	for (guint i = 0; i < states->len; i++) {
		MeState *st = g_ptr_array_index(states, i);
		const gchar *mailbox = me_state_get_string(st, "mailbox");
		if (mailbox == NULL || me_state_get_string(st, "certificate") == NULL)
			continue;
		if (doc->opts->ca_name != NULL && g_strcmp0(me_state_get_string(st, "ca"), doc->opts->ca_name) != 0)
			continue;
		check_identity(doc, profile, mailbox);
	}
}

static void
check_default_profile(Doctor *doc, const MeTbProfile *profile)
{
	g_autofree gchar *cert_db = g_build_filename(profile->path, "cert9.db", NULL);

	if (!g_file_test(cert_db, G_FILE_TEST_IS_REGULAR)) {
		doctor_add(doc, "thunderbird", DOCTOR_STATUS_WARNING,
			   /* TRANSLATORS: doctor: the profile has no NSS database yet; %s is the profile folder */
			   _("The default Thunderbird profile %s has no certificate database yet; start Thunderbird once with this profile."),
			   profile->path);
		return;
	}
	if (me_tb_profile_is_running(profile->path, NULL))
		doctor_add(doc, "thunderbird", DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the profile is ready and in use; %s is the profile folder */
			   _("The default Thunderbird profile %s has its certificate database, and Thunderbird is running with it."),
			   profile->path);
	else
		doctor_add(doc, "thunderbird", DOCTOR_STATUS_OK,
			   /* TRANSLATORS: doctor: the profile is ready and not in use; %s is the profile folder */
			   _("The default Thunderbird profile %s has its certificate database, and Thunderbird is not running."),
			   profile->path);
}

static void
check_thunderbird(Doctor *doc)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) profiles = me_tb_profiles_list(NULL, &error);
	g_autoptr(MeTbProfile) profile = NULL;

	if (profiles == NULL) {
		if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND))
			doctor_add(doc, "thunderbird", DOCTOR_STATUS_WARNING, "%s",
				   /* TRANSLATORS: doctor: no Thunderbird profile; keep nssdb and pkcs12 */
				   _("No Thunderbird profile was found; until Thunderbird has been started once, only the nssdb and pkcs12 stores can be used."));
		else
			doctor_add(doc, "thunderbird", DOCTOR_STATUS_FAILED, "%s", error->message);
		return;
	}
	profile = me_tb_profile_get_default(NULL, &error);
	if (profile == NULL) {
		doctor_add(doc, "thunderbird", DOCTOR_STATUS_WARNING, "%s", error->message);
		return;
	}
	check_default_profile(doc, profile);
	check_identities(doc, profile);
}

/* ---- the run */

/**
 * me_doctor_run:
 * @opts: what to check and how to report
 *
 * Runs every check and writes to @opts->out one line per result (`✓`, `!` or `✗` first),
 * or with @opts->json a JSON array of `{"check", "status", "message"}` objects, status `ok`,
 * `warning` or `failed`.  Nothing is changed, and no secret is shown.
 *
 * Returns: 0 when no check failed (warnings allowed), 1 otherwise
 */
gint
me_doctor_run(const MeDoctorOptions *opts)
{
	g_auto(Doctor) doc = {.opts = opts};
	g_autoptr(GPtrArray) cas = NULL;
	void (*old_sigpipe)(int);

	g_return_val_if_fail(opts != NULL, 1);
	g_return_val_if_fail(opts->out != NULL, 1);
	g_return_val_if_fail(opts->nmhostdir != NULL, 1);

	/* a helper that dies early must give an error from write(), not kill us */
	old_sigpipe = signal(SIGPIPE, SIG_IGN);
	doc.results = g_ptr_array_new_with_free_func((GDestroyNotify)doctor_result_free);
	check_configuration(&doc);
	cas = doctor_list_cas(&doc);
	for (guint i = 0; i < cas->len; i++)
		check_ca(&doc, g_ptr_array_index(cas, i));
	check_keyring(&doc);
	for (guint i = 0; i < cas->len; i++) {
		check_dns(&doc, g_ptr_array_index(cas, i));
		check_smime_trust(&doc, g_ptr_array_index(cas, i));
		check_quirks(&doc, g_ptr_array_index(cas, i));
	}
	check_host(&doc);
	check_thunderbird(&doc);
	if (opts->json)
		doctor_print_json(&doc);
	signal(SIGPIPE, old_sigpipe);
	return doctor_any_failed(&doc) ? 1 : 0;
}
