/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "mail.h"
#include "secmem.h"

G_BEGIN_DECLS

/*
 * RFC 8823 ("email-reply-00") on the client side: recognise a challenge mail, decide
 * whether it may be answered, compute the response digest and build the reply.
 *
 * Typical use:
 *
 *   if (!me_challenge_quick_check(raw, raw_len))
 *           return;                                   (ordinary mail: cost ~ header size)
 *   verdict = me_challenge_inspect(raw, raw_len, pending, n_pending, &options);
 *   if (!verdict->answerable) {
 *           g_info("challenge ignored: %s", verdict->message);
 *           return;
 *   }
 *   ... ask the person, persist "answered" for pending[verdict->matched] ...
 *   reply = me_challenge_build_reply(verdict, &pending[verdict->matched], thumbprint,
 *                                    FALSE, &error);
 *   bytes = me_mail_reply_serialize(reply, &error);
 *
 * Decisions taken where RFC 8823 leaves room (docs/standards.md §1.3, §1.5, §6):
 *
 *  - To must hold exactly one addr-spec and it must be the pending identifier: the RFC
 *    names "the" address of the requester; a CA has no reason to add others, and a
 *    message to several people looks forwarded or list-borne.  Cc may be present (C5).
 *  - A reply is recognised by the Subject alone: any text before `ACME:` (`Re:`, `Fwd:`,
 *    `AW:`, `SV:`, even an unknown prefix) rejects the mail.  In-Reply-To and References
 *    are allowed on a challenge, since RFC 8823 has the CA sign them; the loop guard
 *    for auto-responders is the required `Auto-Submitted: auto-generated`.
 *  - A challenge carrying `List-Id` or `List-Post` came through a mailing list and is
 *    rejected; other List-* fields alone are tolerated.
 *  - Duplicates of From, To, Subject, Date, Message-ID, Reply-To or Auto-Submitted
 *    reject the mail: readers (and DKIM) would disagree on which one counts.
 *  - Freshness: the authorization's `expires` must lie ahead, the authorization must have
 *    been fetched at most 24 h ago, and a Date header must be at most 24 h old, not in
 *    the future and not before the fetch (each with a clock-skew allowance).  A missing
 *    Date is tolerated, an unreadable one is not.
 *  - Dedupe ("at most one reply per challenge, ever") belongs to the caller, who
 *    persists it: a pending challenge marked @answered gets %ME_CHALLENGE_REASON_ALREADY_ANSWERED
 *    for every later mail, whatever its token-part1.
 *  - Authenticity is never optional: without a trusted Authentication-Results or an
 *    authentication hook saying yes, the verdict is %ME_CHALLENGE_REASON_UNAUTHENTICATED.
 *    It is checked last, so forged mail failing cheaper checks causes no DNS lookups.
 */

/* token-part1 longer than this is refused before decoding */
#define ME_CHALLENGE_TOKEN_MAX_LEN 512
/* RFC 8823 §3.1: at least 128 bits */
#define ME_CHALLENGE_TOKEN_MIN_BYTES 16
/* S/MIME BR 3.2.2.4: a Random Value lives at most 24 h */
#define ME_CHALLENGE_MAX_AGE_DEFAULT (24 * 60 * 60)
#define ME_CHALLENGE_CLOCK_SKEW_DEFAULT (15 * 60)

/**
 * MeTokenJoin:
 * @ME_TOKEN_JOIN_STRING: token-part1 then token-part2 as received, whitespace removed,
 *   padding kept (acme4j, acme2certifier); the default
 * @ME_TOKEN_JOIN_BINARY: base64url_nopad(decode(part1) ‖ decode(part2)) (acmez,
 *   certbot_castle)
 *
 * How a CA joins the two token parts (docs/standards.md §1.4); a per-CA setting.
 */
typedef enum {
	ME_TOKEN_JOIN_STRING = 0,
	ME_TOKEN_JOIN_BINARY,
} MeTokenJoin;

gboolean
me_token_join_from_string(const gchar *text, MeTokenJoin *join);

/**
 * MeChallengeQuirks:
 * @ME_CHALLENGE_QUIRK_NONE: RFC 8823 as written
 * @ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED: `missing-auto-submitted`: a challenge mail
 *   without an Auto-Submitted header (acme2certifier 0.39 to 0.43.1 sends none) is accepted
 *   when, and only when, a DKIM signature verifies with `d=` the From domain and `h=` covers
 *   the 12 other names RFC 8823 §3.1 requires; S/MIME and Authentication-Results do not
 *   count for such a mail, and an Auto-Submitted header with another keyword is still refused
 *
 * Departures from RFC 8823 an administrator allows for one CA (`quirks=` of a CA profile,
 * docs/interop.md); a bit set, none by default.
 */
typedef enum {
	ME_CHALLENGE_QUIRK_NONE = 0,
	ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED = 1 << 0,
} MeChallengeQuirks;

/* the quirk names of the configuration, in bit order */
#define ME_CHALLENGE_QUIRK_NAME_MISSING_AUTO_SUBMITTED "missing-auto-submitted"

gboolean
me_challenge_quirk_from_nick(const gchar *nick, MeChallengeQuirks *quirk);
const gchar *
me_challenge_quirk_to_nick(MeChallengeQuirks quirk);

/**
 * MePendingChallenge:
 * @identifier: the `email` identifier of the order
 * @from: the challenge object's `from`
 * @token_part2: the challenge object's `token`
 * @challenge_url: the challenge object's `url`
 * @expires: the authorization's `expires`, seconds since the epoch; 0 when absent
 * @fetched_at: when the authorization was first fetched, seconds since the epoch
 * @token_join: the CA profile's join
 * @answered: a reply for this challenge was already sent (persisted by the caller)
 * @quirks: the departures from RFC 8823 the CA profile allows (#MeChallengeQuirks)
 *
 * One email-reply-00 challenge the caller is waiting for; all strings stay the caller's.
 */
typedef struct {
	const gchar *identifier;
	const gchar *from;
	const gchar *token_part2;
	const gchar *challenge_url;
	gint64 expires;
	gint64 fetched_at;
	MeTokenJoin token_join;
	gboolean answered;
	MeChallengeQuirks quirks;
} MePendingChallenge;

/**
 * MeChallengeAuthMethod:
 * @ME_CHALLENGE_AUTH_NONE: not authenticated
 * @ME_CHALLENGE_AUTH_DKIM: a DKIM signature with d= the From domain and RFC 8823's h= list
 * @ME_CHALLENGE_AUTH_SMIME: an S/MIME signature by the From address, with header protection
 * @ME_CHALLENGE_AUTH_RESULTS: a trusted Authentication-Results header (RFC 8601) saying
 *   dkim=pass for the From domain
 */
typedef enum {
	ME_CHALLENGE_AUTH_NONE = 0,
	ME_CHALLENGE_AUTH_DKIM,
	ME_CHALLENGE_AUTH_SMIME,
	ME_CHALLENGE_AUTH_RESULTS,
} MeChallengeAuthMethod;

const gchar *
me_challenge_auth_method_to_string(MeChallengeAuthMethod method);

/**
 * MeChallengeAuthResult:
 * @method: the method that passed, or %ME_CHALLENGE_AUTH_NONE
 * @detail: (nullable): what passed, for the log and the prompt (e.g. "d=example.org s=acme")
 * @failures: (element-type utf8): why each method tried did not pass
 * @temporary: a method could not decide for now (a DKIM key lookup found no nameserver
 *   answering); the same mail may pass later
 * @dkim_key_name: (nullable): with %ME_CHALLENGE_AUTH_DKIM, the DNS name of the key that
 *   verified the signature (`selector._domainkey.domain`), the lookup the next challenge
 *   from that sender needs
 * @signed_by: (nullable): the kind of signature the mail carries that did not verify
 *   (`DKIM` or `S/MIME`); %NULL for a mail without any
 * @results_failed: the trusted Authentication-Results header says the DKIM check failed
 * @dns_name: (nullable): with @temporary, the DKIM key record whose lookup got no answer
 * @dns_server: (nullable): with @temporary, the nameserver asked; %NULL for the system's
 *
 * What me_challenge_verdict_describe() needs to tell a forged mail (not signed, a signature
 * that does not verify, a trusted server that says fail) from one that could not be
 * checked because DNS did not answer.
 */
typedef struct {
	MeChallengeAuthMethod method;
	gchar *detail;
	GPtrArray *failures;
	gboolean temporary;
	gchar *dkim_key_name;
	const gchar *signed_by;
	gboolean results_failed;
	gchar *dns_name;
	gchar *dns_server;
} MeChallengeAuthResult;

/**
 * MeChallengeAuthRule:
 * @ME_CHALLENGE_AUTH_RULE_RFC8823: RFC 8823 §3.1 item 6: a DKIM signature with `d=` the From
 *   domain and the 13 `h=` names, or an S/MIME signature by the From address with header
 *   protection
 * @ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED: the `missing-auto-submitted` quirk, for a
 *   mail without Auto-Submitted: a DKIM signature with `d=` the From domain and the 12 other
 *   `h=` names, and nothing else
 *
 * What the authenticity check must find.
 */
typedef enum {
	ME_CHALLENGE_AUTH_RULE_RFC8823 = 0,
	ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED,
} MeChallengeAuthRule;

void
me_challenge_auth_result_init(MeChallengeAuthResult *result);
void
me_challenge_auth_result_clear(MeChallengeAuthResult *result);
void
me_challenge_auth_result_set_pass(MeChallengeAuthResult *result,
				  MeChallengeAuthMethod method,
				  const gchar *detail);
void
me_challenge_auth_result_add_failure(MeChallengeAuthResult *result, const gchar *format, ...)
    G_GNUC_PRINTF(2, 3);

/**
 * MeChallengeAuthFunc:
 * @crlf_message: the message as received, CRLF line ends, Thunderbird's prefix removed
 * @from_addr: the From addr-spec that passed every other check
 * @to_addr: the To addr-spec (the identifier)
 * @subject: the decoded Subject
 * @rule: what must be found
 * @result: where to record the method that passed, or the failures
 * @user_data: the caller's data
 *
 * Verifies DKIM (RFC 8823 §3.1 item 6: d= the From domain, the 13 h= names) or an
 * S/MIME signature with header protection; under
 * %ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED only DKIM, with the 12 names other
 * than Auto-Submitted.  Supplied by the caller; called only for a mail that passed every
 * other check.
 *
 * Returns: %TRUE if the message is authentic, with @result->method set
 */
typedef gboolean (*MeChallengeAuthFunc)(GBytes *crlf_message,
					const gchar *from_addr,
					const gchar *to_addr,
					const gchar *subject,
					MeChallengeAuthRule rule,
					MeChallengeAuthResult *result,
					gpointer user_data);

/**
 * MeChallengeOptions:
 * @now: the current time in seconds since the epoch; 0 for the clock (tests fake it)
 * @max_age: seconds a challenge stays fresh; 0 for %ME_CHALLENGE_MAX_AGE_DEFAULT
 * @clock_skew: seconds of clock difference tolerated; 0 for the default, negative for none
 * @trusted_authserv_ids: (nullable): authserv-ids whose Authentication-Results are
 *   believed: only the receiving domain's own, and only where its MTA removes forged
 *   copies (RFC 8601 §5); %NULL trusts none
 * @auth_func: (nullable): the DKIM / S/MIME verifier
 * @auth_user_data: its data
 * @limits: (nullable): bounds for parsing; %NULL for the defaults
 */
typedef struct {
	gint64 now;
	gint64 max_age;
	gint64 clock_skew;
	const gchar *const *trusted_authserv_ids;
	MeChallengeAuthFunc auth_func;
	gpointer auth_user_data;
	const MeMailLimits *limits;
} MeChallengeOptions;

/**
 * MeChallengeReason:
 *
 * Why a message is not answered; %ME_CHALLENGE_REASON_OK when it may be.
 * me_challenge_reason_to_nick() gives a stable name for logs and tests.
 */
typedef enum {
	ME_CHALLENGE_REASON_OK = 0,
	ME_CHALLENGE_REASON_NOT_CHALLENGE,     /* no `ACME:` in the Subject */
	ME_CHALLENGE_REASON_TOO_LARGE,	       /* a parse bound was passed */
	ME_CHALLENGE_REASON_MALFORMED,	       /* not a readable mail message */
	ME_CHALLENGE_REASON_BAD_CHARSET,       /* an encoded-word other than UTF-8/US-ASCII */
	ME_CHALLENGE_REASON_BAD_HEADER_TEXT,   /* a header that is not UTF-8 text */
	ME_CHALLENGE_REASON_REPLY,	       /* text before `ACME:` */
	ME_CHALLENGE_REASON_BAD_SUBJECT,       /* no FWS after `ACME:`, or no token */
	ME_CHALLENGE_REASON_BAD_TOKEN,	       /* not base64url, bad padding, too long */
	ME_CHALLENGE_REASON_SHORT_TOKEN,       /* fewer than 16 bytes */
	ME_CHALLENGE_REASON_DUPLICATE_HEADER,  /* two From, To, Subject... */
	ME_CHALLENGE_REASON_MAILING_LIST,      /* List-Id or List-Post */
	ME_CHALLENGE_REASON_NOT_AUTO_GENERATED, /* Auto-Submitted missing or not auto-generated */
	ME_CHALLENGE_REASON_BAD_FROM,	       /* From missing, unreadable, or not one mailbox */
	ME_CHALLENGE_REASON_BAD_TO,	       /* To missing, unreadable, or not one mailbox */
	ME_CHALLENGE_REASON_NO_PENDING,	       /* nothing is pending at all */
	ME_CHALLENGE_REASON_TO_MISMATCH,       /* To is no pending identifier */
	ME_CHALLENGE_REASON_FROM_MISMATCH,     /* From is not the pending challenge's from */
	ME_CHALLENGE_REASON_AMBIGUOUS,	       /* more than one pending challenge matches */
	ME_CHALLENGE_REASON_ALREADY_ANSWERED,  /* the matched challenge was answered */
	ME_CHALLENGE_REASON_AUTHZ_EXPIRED,     /* past the authorization's expires */
	ME_CHALLENGE_REASON_STALE,	       /* older than 24 h, dated before the fetch, or
						* dated in the future */
	ME_CHALLENGE_REASON_UNAUTHENTICATED,   /* no DKIM, S/MIME or trusted A-R */
	ME_CHALLENGE_REASON_LAST,
} MeChallengeReason;

const gchar *
me_challenge_reason_to_nick(MeChallengeReason reason);
gboolean
me_challenge_reason_from_nick(const gchar *nick, MeChallengeReason *reason);
const gchar *
me_challenge_reason_to_string(MeChallengeReason reason);

/**
 * MeChallengeVerdict:
 * @is_challenge: the Subject has `ACME:` (so a rejection is worth a log line)
 * @answerable: every check passed, authenticity included
 * @matched: the index of the matched pending challenge, or -1
 * @reason: why not answerable
 * @message: one translated sentence for the log and the prompt
 * @token_part1: (nullable): token-part1 as received, whitespace removed
 * @subject: (nullable): the decoded Subject
 * @from: (nullable): the From addr-spec
 * @to: (nullable): the To addr-spec
 * @reply_to: (nullable) (element-type utf8): the Reply-To addr-specs
 * @message_id: (nullable): the Message-ID with angle brackets
 * @references: (nullable): the References msg-ids
 * @date: the Date in seconds since the epoch, or -1
 * @auth: how authenticity was (or was not) established
 * @auto_submitted_missing: the mail has no Auto-Submitted header at all (so that a front-end
 *   can name the `missing-auto-submitted` quirk when it refuses the mail for that)
 * @quirks_used: the quirks of the matched challenge the verdict relied on
 */
typedef struct {
	gboolean is_challenge;
	gboolean answerable;
	gint matched;
	MeChallengeReason reason;
	gchar *message;
	gchar *token_part1;
	gchar *subject;
	gchar *from;
	gchar *to;
	GPtrArray *reply_to;
	gchar *message_id;
	GStrv references;
	gint64 date;
	MeChallengeAuthResult auth;
	gboolean auto_submitted_missing;
	MeChallengeQuirks quirks_used;
} MeChallengeVerdict;

void
me_challenge_verdict_free(MeChallengeVerdict *verdict);
gchar *
me_challenge_verdict_describe(const MeChallengeVerdict *verdict);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeChallengeVerdict, me_challenge_verdict_free)

gboolean
me_challenge_quick_check(const gchar *data, gsize len);
gboolean
me_challenge_quick_check_stream(GInputStream *stream, GBytes **head, GCancellable *cancellable, GError **error);
MeChallengeVerdict *
me_challenge_inspect(const gchar *data,
		     gsize len,
		     const MePendingChallenge *pending,
		     guint n_pending,
		     const MeChallengeOptions *options);
MeChallengeVerdict *
me_challenge_inspect_mail(MeMail *mail,
			  const MePendingChallenge *pending,
			  guint n_pending,
			  const MeChallengeOptions *options);

MeChallengeReason
me_challenge_parse_subject(const gchar *subject, gchar **token_part1);
gboolean
me_challenge_check_auth_results(MeMail *mail,
				const gchar *from_addr,
				const gchar *const *trusted_authserv_ids,
				MeChallengeAuthResult *result);

MeSecretStr *
me_challenge_join_token(const gchar *token_part1,
			const gchar *token_part2,
			MeTokenJoin join,
			GError **error);
MeSecretStr *
me_challenge_key_authorization(const gchar *token_part1,
			       const gchar *token_part2,
			       MeTokenJoin join,
			       const gchar *thumbprint,
			       GError **error);
gchar *
me_challenge_digest(const gchar *token_part1,
		    const gchar *token_part2,
		    MeTokenJoin join,
		    const gchar *thumbprint,
		    GError **error);
gboolean
me_challenge_digest_equal(const gchar *a, const gchar *b);

MeMailReply *
me_challenge_build_reply(const MeChallengeVerdict *verdict,
			 const MePendingChallenge *pending,
			 const gchar *thumbprint,
			 gboolean auto_replied,
			 GError **error);

G_END_DECLS
