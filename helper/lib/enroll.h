/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the enrollment engine: one persisted, resumable state machine per (CA, mailbox) that
 * drives the ACME client, the RFC 8823 checks, the keyring and the stores */

#include <glib.h>
#include <openssl/evp.h>

#include "challenge.h"
#include "keys.h"
#include "mail.h"
#include "me-config.h"
#include "me-error.h"
#include "state.h"

G_BEGIN_DECLS

/* the CA note (me_state_get_ca_note()) that holds the DNS name of the CA's DKIM key, learnt
 * from a challenge mail that passed by DKIM: the lookup every enrollment at that CA needs */
#define ME_ENROLL_NOTE_DKIM_KEY "dkim-key"

/**
 * MeEnrollMailTiming:
 * @ME_ENROLL_MAIL_TIMING_DETECT: as this CA was seen to do before (the engine remembers it per
 *   CA); for a CA not seen yet, wait for the mail and POST the challenge before the reply only
 *   as a last resort, when the authorization would expire anyway and no mail that looks like
 *   the challenge has come (me_enroll_check_wait())
 * @ME_ENROLL_MAIL_TIMING_AUTHZ: the CA mails when the authorization is fetched; never POST
 *   before the reply
 * @ME_ENROLL_MAIL_TIMING_CHALLENGE: the CA mails only after the challenge is POSTed
 *
 * When a CA sends its challenge mail (docs/design.md §3); a per-CA setting.
 */
typedef enum {
	ME_ENROLL_MAIL_TIMING_DETECT = 0,
	ME_ENROLL_MAIL_TIMING_AUTHZ,
	ME_ENROLL_MAIL_TIMING_CHALLENGE,
} MeEnrollMailTiming;

gboolean
me_enroll_mail_timing_from_string(const gchar *text, MeEnrollMailTiming *timing);
const gchar *
me_enroll_mail_timing_to_string(MeEnrollMailTiming timing);

/**
 * MeEnrollReplyDelivery:
 * @ME_ENROLL_REPLY_DELIVERY_UNKNOWN: not recorded (a state from before it was)
 * @ME_ENROLL_REPLY_DELIVERY_SMTP: mailenroll submits the reply itself by SMTP
 * @ME_ENROLL_REPLY_DELIVERY_FILE: the reply went into a file the person sends
 * @ME_ENROLL_REPLY_DELIVERY_STDOUT: the reply was printed for the person to send
 * @ME_ENROLL_REPLY_DELIVERY_MAIL_CLIENT: the mail client (the extension) sends it
 *
 * How an approved reply is handed out, and so who is responsible for sending it: for
 * %ME_ENROLL_REPLY_DELIVERY_SMTP that is mailenroll, which sends the same reply again after
 * a crash (docs/design.md §3); for the others the person or the mail client.
 */
typedef enum {
	ME_ENROLL_REPLY_DELIVERY_UNKNOWN = 0,
	ME_ENROLL_REPLY_DELIVERY_SMTP,
	ME_ENROLL_REPLY_DELIVERY_FILE,
	ME_ENROLL_REPLY_DELIVERY_STDOUT,
	ME_ENROLL_REPLY_DELIVERY_MAIL_CLIENT,
} MeEnrollReplyDelivery;

const gchar *
me_enroll_reply_delivery_to_string(MeEnrollReplyDelivery delivery);
MeEnrollReplyDelivery
me_enroll_reply_delivery_from_state(MeState *state);

/**
 * MeEnrollOptions:
 * @ca_name: the CA profile's name (names the state file)
 * @directory: the ACME directory URL
 * @ca_file: (nullable): a PEM bundle to trust for the ACME server (private and test CAs)
 * @token_join: how the CA joins the token parts
 * @mail_timing: when the CA sends its mail
 * @key_type: the certificate key's type
 * @usage: what the certificate is for
 * @contacts: (nullable): `mailto:` contacts for the account; %NULL or empty for the
 *   mailbox whose enrollment makes the account (`mailto:` + the mailbox), a list holding
 *   `none` for no contact
 * @terms_agreed: the person or the policy agreed to the CA's terms of service
 * @agreed_terms: (nullable): the URL of the terms the person agreed to (`agreed-terms`);
 *   they count as agreed while the CA's directory names the same URL
 * @eab_kid: (nullable): the External Account Binding key id
 * @eab_label: (nullable): the keyring name of its MAC key (kind eab-mac-key, the directory as
 *   CA, this as fingerprint; `mailenroll provision eab` puts it there); %NULL for @eab_kid
 * @trusted_authserv_ids: (nullable): authserv-ids whose Authentication-Results are trusted
 * @dns_server: (nullable): `host:port` of the nameserver for DKIM keys; %NULL for the system's
 * @smime_trust_file: (nullable): PEM anchors for S/MIME-signed challenges
 * @dkim_selector: (nullable): with @dkim_key_label, the replies are DKIM-signed with `s=`
 *   this (for CAs that require signed replies)
 * @dkim_domain: (nullable): their `d=`; %NULL for the mailbox's domain (RFC 8823 wants that)
 * @dkim_key_label: (nullable): the keyring name of the signing key (kind dkim-key, this as
 *   fingerprint; `mailenroll provision dkim` puts it there)
 * @mail_wait: seconds a front-end waits for the challenge mail before it says why none was
 *   answered (me_enroll_check_wait()); 0 for the default (300)
 * @renew_fraction: without renewal information from the CA, renew when this part of the
 *   lifetime has passed; 0 for the default (2/3)
 * @now: seconds since the epoch for the freshness checks; 0 for the clock (tests)
 * @quirks: the departures from RFC 8823 allowed for this CA's challenge mail
 * @config: (nullable): the configuration the options came from, so that a message about a
 *   setting names the file it is in (me_config_get_ca_key_origin()); %NULL says
 *   `mailenroll.conf`
 *
 * What an enrollment needs to know; the caller keeps it alive while the #MeEnroll lives.
 */
typedef struct {
	const gchar *ca_name;
	const gchar *directory;
	const gchar *ca_file;
	MeTokenJoin token_join;
	MeEnrollMailTiming mail_timing;
	MeKeyType key_type;
	MeKeyUsage usage;
	const gchar *const *contacts;
	gboolean terms_agreed;
	const gchar *agreed_terms;
	const gchar *eab_kid;
	const gchar *eab_label;
	const gchar *const *trusted_authserv_ids;
	const gchar *dns_server;
	const gchar *smime_trust_file;
	const gchar *dkim_selector;
	const gchar *dkim_domain;
	const gchar *dkim_key_label;
	guint mail_wait;
	gdouble renew_fraction;
	gint64 now;
	MeChallengeQuirks quirks;
	const MeConfig *config;
} MeEnrollOptions;

/**
 * MeEnrollProgressFunc:
 * @step: the step about to be worked on or just reached
 * @message: one translated sentence for the person
 * @user_data: the caller's data
 *
 * Progress of a long step.
 */
typedef void (*MeEnrollProgressFunc)(MeStateStep step, const gchar *message, gpointer user_data);

/**
 * MeEnrollWait:
 * @ME_ENROLL_WAIT_DONE: the enrollment no longer waits for the challenge mail
 * @ME_ENROLL_WAIT_MAIL: it waits for the mail; look again at the time given
 * @ME_ENROLL_WAIT_NO_MAIL: the wait is over and no mail that looks like the challenge came
 * @ME_ENROLL_WAIT_UNAUTHENTICATED: a mail that looks like the challenge came, but failed a
 *   check (not authentic, not for this request, declined); nothing was answered
 * @ME_ENROLL_WAIT_TEMPORARY: a mail that looks like the challenge came, but could not be
 *   checked for now (its DKIM key could not be looked up); it is worth showing it again later
 *
 * Where the wait for the challenge mail stands (me_enroll_check_wait()).  Every outcome but
 * %ME_ENROLL_WAIT_DONE leaves the enrollment waiting; none of them gives up the order.
 */
typedef enum {
	ME_ENROLL_WAIT_DONE = 0,
	ME_ENROLL_WAIT_MAIL,
	ME_ENROLL_WAIT_NO_MAIL,
	ME_ENROLL_WAIT_UNAUTHENTICATED,
	ME_ENROLL_WAIT_TEMPORARY,
} MeEnrollWait;

const gchar *
me_enroll_wait_to_nick(MeEnrollWait wait);

void
me_enroll_options_init(MeEnrollOptions *options, const MeCaProfile *ca, const MeConfigGeneral *general);

typedef struct _MeEnroll MeEnroll;

MeEnroll *
me_enroll_open(const gchar *state_dir, const MeEnrollOptions *options, const gchar *mailbox, GError **error);
void
me_enroll_free(MeEnroll *enroll);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeEnroll, me_enroll_free)

void
me_enroll_set_progress(MeEnroll *enroll, MeEnrollProgressFunc func, gpointer user_data);
MeState *
me_enroll_get_state(MeEnroll *enroll);
MeStateStep
me_enroll_get_step(MeEnroll *enroll);
MeKeyUsage
me_enroll_get_usage(MeEnroll *enroll);
gboolean
me_enroll_restart(MeEnroll *enroll, GError **error);

void
me_enroll_note_failure(MeEnroll *enroll, MeStateStep step, const GError *error);
gboolean
me_enroll_start(MeEnroll *enroll, GError **error);
gboolean
me_enroll_post_challenge(MeEnroll *enroll, GError **error);
gboolean
me_enroll_check_wait(MeEnroll *enroll, gint64 since, MeEnrollWait *wait, gint64 *until, GError **error);
gchar *
me_enroll_describe_timing_hint(MeEnroll *enroll);
gchar *
me_enroll_describe_wait(MeEnroll *enroll, MeEnrollWait wait);
MeChallengeVerdict *
me_enroll_inspect(MeEnroll *enroll, const gchar *data, gsize len, GError **error);
gboolean
me_enroll_wants_approval(MeEnroll *enroll, const MeChallengeVerdict *verdict);
GBytes *
me_enroll_approve(MeEnroll *enroll, MeMailReply **fields, GError **error);
gboolean
me_enroll_decline(MeEnroll *enroll, GError **error);
void
me_enroll_set_reply_delivery(MeEnroll *enroll, MeEnrollReplyDelivery delivery);
MeEnrollReplyDelivery
me_enroll_get_reply_delivery(MeEnroll *enroll);
GBytes *
me_enroll_get_reply_bytes(MeEnroll *enroll, MeMailReply **fields, GError **error);
gboolean
me_enroll_reply_submitting(MeEnroll *enroll, GError **error);
gboolean
me_enroll_is_reply_submitting(MeEnroll *enroll);
gboolean
me_enroll_reply_sent(MeEnroll *enroll, GError **error);
gboolean
me_enroll_reply_failed(MeEnroll *enroll, GError **error);
gboolean
me_enroll_finish(MeEnroll *enroll, GError **error);
const gchar *
me_enroll_get_reorder_note(MeEnroll *enroll);
gboolean
me_enroll_is_renewal_due(MeEnroll *enroll, gint64 *renew_at);
gboolean
me_enroll_renew(MeEnroll *enroll, GError **error);
gboolean
me_enroll_begin_renewal(MeEnroll *enroll, gboolean force, gboolean *renewing, GError **error);
gboolean
me_enroll_revoke(MeEnroll *enroll, gint reason, GError **error);
gboolean
me_enroll_load_certificate(MeEnroll *enroll, EVP_PKEY **key, GPtrArray **chain, GError **error);
gboolean
me_enroll_mark_installed(MeEnroll *enroll,
			 const gchar *store,
			 const gchar *location,
			 const gchar *nickname,
			 const gchar *db_key,
			 gboolean bound,
			 GError **error);
JsonObject *
me_enroll_get_last_install(MeEnroll *enroll);

G_END_DECLS
