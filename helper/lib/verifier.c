/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeVerifier"

#include "config.h"

#include "verifier.h"

#include <glib/gi18n-lib.h>

#include "autocleanups.h"
#include "dkim.h"
#include "dns.h"
#include "keys.h"
#include "mail.h"
#include "smime.h"

struct _MeVerifier {
	MeDns *dns;
	MeDkim *dkim;
	X509_STORE *trust;
	gchar *nameserver; /* as configured, for the person; NULL for the system's resolver */
};

/**
 * me_verifier_new:
 * @nameserver: (nullable): where DKIM keys are looked up, e.g. `127.0.0.1:5353`; %NULL
 *   for the system resolver
 * @error: (nullable): return location
 *
 * Returns: (transfer full): a verifier with no S/MIME trust anchors yet, or %NULL
 */
MeVerifier *
me_verifier_new(const gchar *nameserver, GError **error)
{
	g_autoptr(MeVerifier) verifier = g_new0(MeVerifier, 1);

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	verifier->dns = me_dns_new(nameserver, error);
	if (verifier->dns == NULL)
		return NULL;
	verifier->dkim = me_dkim_new(verifier->dns, error);
	if (verifier->dkim == NULL)
		return NULL;
	verifier->trust = X509_STORE_new();
	verifier->nameserver = g_strdup(nameserver);
	return g_steal_pointer(&verifier);
}

void
me_verifier_free(MeVerifier *verifier)
{
	if (verifier == NULL)
		return;
	/* the DKIM context borrows the resolver, so it goes first */
	me_dkim_free(verifier->dkim);
	me_dns_free(verifier->dns);
	X509_STORE_free(verifier->trust);
	g_free(verifier->nameserver);
	g_free(verifier);
}

/**
 * me_verifier_add_trust_file:
 * @verifier: a verifier
 * @pem_file: a PEM file of CA certificates trusted to vouch for S/MIME signers
 * @error: (nullable): return location
 *
 * Reads the file as me_smime_trust_load() does, bounded.
 *
 * Returns: %TRUE if every certificate in the file was added, else %FALSE with @error set
 *   to %ME_ERROR_INVALID_DATA (a missing, unreadable, oversized or damaged file alike)
 */
gboolean
me_verifier_add_trust_file(MeVerifier *verifier, const gchar *pem_file, GError **error)
{
	g_autoptr(GError) local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	if (me_smime_trust_load(verifier->trust, pem_file, &local) > 0)
		return TRUE;
	/* one code for every unusable trust file, as callers have always been told */
	local->code = ME_ERROR_INVALID_DATA;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/**
 * me_verifier_set_dns_timeout:
 * @verifier: a verifier
 * @timeout_ms: the longest one key lookup may take
 */
void
me_verifier_set_dns_timeout(MeVerifier *verifier, guint timeout_ms)
{
	me_dns_set_timeout(verifier->dns, timeout_ms);
}

/**
 * me_verifier_set_budget:
 * @verifier: a verifier
 * @max_lookups: the most DNS lookups one check may make, 0 for no bound
 * @time_ms: how long from now its DNS lookups may go on, 0 for no bound
 *
 * Bounds what one mail can make the verifier do (me_dns_set_budget()): a signature whose
 * key lookup is past the budget fails for now, as a lookup that timed out does.
 */
void
me_verifier_set_budget(MeVerifier *verifier, guint max_lookups, guint time_ms)
{
	gint64 deadline = time_ms > 0 ? g_get_monotonic_time() + (gint64)time_ms * 1000 : 0;

	me_dns_set_budget(verifier->dns, max_lookups, deadline);
}

/**
 * me_verifier_apply:
 * @verifier: a verifier that outlives @options
 * @options: inspection options to fill in
 *
 * Makes me_challenge_inspect() verify authenticity with @verifier.
 */
void
me_verifier_apply(MeVerifier *verifier, MeChallengeOptions *options)
{
	options->auth_func = me_verifier_authenticate;
	options->auth_user_data = verifier;
}

/* a signature whose key lookup got no answer: the mail may be genuine, and the person is
 * told which lookup of which server to look into */
static void
note_temporary(MeVerifier *verifier, const MeDkimSignature *sig, MeChallengeAuthResult *result)
{
	if (!sig->temporary)
		return;
	result->temporary = TRUE;
	if (result->dns_name != NULL)
		return;
	result->dns_name = g_strdup_printf("%s._domainkey.%s", sig->selector, sig->domain);
	g_free(result->dns_server);
	result->dns_server = g_strdup(verifier->nameserver);
}

static gboolean
try_dkim(MeVerifier *verifier,
	 GBytes *message,
	 const gchar *from_addr,
	 MeDkimPolicy policy,
	 MeChallengeAuthResult *result)
{
	g_autoptr(GError) error = NULL;
	const gchar *from_domain = me_addr_spec_get_domain(from_addr);
	g_autoptr(GPtrArray) sigs = NULL;

	/* a signature by any other domain is refused before its key is looked up (D-05) */
	if (from_domain == NULL) {
		me_challenge_auth_result_add_failure(result, "DKIM: the From address has no domain");
		return FALSE;
	}
	sigs = me_dkim_verify(verifier->dkim, message, from_domain, &error);

	if (sigs == NULL) {
		result->signed_by = "DKIM";
		me_challenge_auth_result_add_failure(result, "DKIM: %s", error->message);
		return FALSE;
	}
	if (sigs->len == 0)
		me_challenge_auth_result_add_failure(result, "%s", _("DKIM: the message carries no DKIM signature."));
	else
		result->signed_by = "DKIM";
	for (guint i = 0; i < sigs->len; i++) {
		const MeDkimSignature *sig = g_ptr_array_index(sigs, i);
		g_autofree gchar *why = NULL;
		if (!sig->verified) {
			note_temporary(verifier, sig, result);
			me_challenge_auth_result_add_failure(result, "DKIM d=%s s=%s: %s", sig->domain, sig->selector,
							     sig->error != NULL ? sig->error : "");
			continue;
		}
		if (!me_dkim_check_rfc8823(sig, from_domain, policy, &why)) {
			me_challenge_auth_result_add_failure(result, "DKIM d=%s s=%s: %s", sig->domain, sig->selector, why);
			continue;
		}
		{
			g_autofree gchar *detail = g_strdup_printf("DKIM d=%s s=%s %s", sig->domain, sig->selector,
								   sig->algorithm);
			me_challenge_auth_result_set_pass(result, ME_CHALLENGE_AUTH_DKIM, detail);
			g_free(result->dkim_key_name);
			result->dkim_key_name = g_strdup_printf("%s._domainkey.%s", sig->selector, sig->domain);
		}
		return TRUE;
	}
	return FALSE;
}

static gboolean
try_smime(MeVerifier *verifier, GBytes *message, MeChallengeAuthResult *result)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSmimeResult) smime = me_smime_verify(message, verifier->trust, NULL, NULL, NULL, &error);
	g_autofree gchar *detail = NULL;

	if (smime == NULL) {
		/* plain mail is no failure worth a line of its own beside the DKIM one */
		if (!g_error_matches(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED)) {
			if (result->signed_by == NULL)
				result->signed_by = "S/MIME";
			g_debug("S/MIME: %s", error->message);
			me_challenge_auth_result_add_failure(result, "S/MIME: %s", error->message);
		}
		return FALSE;
	}
	if (!smime->verified) {
		if (result->signed_by == NULL)
			result->signed_by = "S/MIME";
		/* the front-ends show only that the mail is not authentic; the log says why */
		g_debug("S/MIME: %s", smime->reason != NULL ? smime->reason : "");
		me_challenge_auth_result_add_failure(result, "S/MIME: %s", smime->reason != NULL ? smime->reason : "");
		return FALSE;
	}
	detail = g_strdup_printf("S/MIME %s (%s)", smime->signer_emails[0] != NULL ? smime->signer_emails[0] : "",
				 smime->scheme != NULL ? smime->scheme : "");
	me_challenge_auth_result_set_pass(result, ME_CHALLENGE_AUTH_SMIME, detail);
	return TRUE;
}

/**
 * me_verifier_authenticate:
 * @crlf_message: the message, CRLF line ends
 * @from_addr: the From addr-spec
 * @to_addr: the To addr-spec
 * @subject: the decoded Subject
 * @rule: what must be found
 * @result: where the method that passed, or every failure, is recorded
 * @user_data: the #MeVerifier
 *
 * The #MeChallengeAuthFunc of a verifier: DKIM first (what CAs use), then S/MIME.  Under
 * %ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED only DKIM, whose `h=` must hold the 12
 * names of %ME_DKIM_POLICY_REPLY: the challenge's 13 without Auto-Submitted.
 *
 * Returns: %TRUE if the message is authentic
 */
gboolean
me_verifier_authenticate(GBytes *crlf_message,
			 const gchar *from_addr,
			 const gchar *to_addr,
			 const gchar *subject,
			 MeChallengeAuthRule rule,
			 MeChallengeAuthResult *result,
			 gpointer user_data)
{
	MeVerifier *verifier = user_data;

	if (rule == ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED)
		return try_dkim(verifier, crlf_message, from_addr, ME_DKIM_POLICY_REPLY, result);
	if (try_dkim(verifier, crlf_message, from_addr, ME_DKIM_POLICY_CHALLENGE, result))
		return TRUE;
	return try_smime(verifier, crlf_message, result);
}
