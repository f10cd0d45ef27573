/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzChallenge"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "challenge.h"
#include "mail.h"

/* the fixed world every input is judged in: one pending challenge, a verifier that
 * says yes, so that a well-formed input reaches reply composition too */
#define FUZZ_NOW 1607159635

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean
fuzz_auth(GBytes *crlf, const gchar *from, const gchar *to, const gchar *subject, MeChallengeAuthRule rule,
	  MeChallengeAuthResult *result, gpointer user_data)
{
	me_challenge_auth_result_set_pass(result, ME_CHALLENGE_AUTH_DKIM, "fuzz");
	return TRUE;
}

static void
fuzz_reply(const MeChallengeVerdict *verdict, const MePendingChallenge *pending)
{
	g_autoptr(MeMailReply) reply = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(MeMail) again = NULL;

	reply = me_challenge_build_reply(verdict, pending, "1_nKJnlH9boVxdoO63T8zP7O2w42qZL4d6xj35Hy5aI", FALSE, NULL);
	if (reply == NULL)
		return;
	bytes = me_mail_reply_serialize(reply, NULL);
	if (bytes == NULL)
		return;
	/* whatever we write must parse again */
	again = me_mail_new_from_bytes(bytes, NULL, NULL);
	g_assert_nonnull(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gchar *const trusted[] = {"mx.example.com", NULL};
	MePendingChallenge pending[] = {
	    {"alexey@example.com", "acme-generator@example.org", "DGyRejmCefe7v4NfDGDKfA", "https://ca.example/c/1",
	     FUZZ_NOW + 86400, FUZZ_NOW - 360, ME_TOKEN_JOIN_STRING, FALSE},
	    {"bob@example.com", "acme-generator@example.org", "DGyRejmCefe7v4NfDGDKfA", "https://ca.example/c/2",
	     FUZZ_NOW + 86400, FUZZ_NOW - 360, ME_TOKEN_JOIN_BINARY, FALSE, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED},
	};
	MeChallengeOptions options = {.now = FUZZ_NOW, .trusted_authserv_ids = trusted, .auth_func = fuzz_auth};
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	/* a private copy, so reads past the end are caught */
	g_autofree gchar *copy = g_memdup2(data, size);

	(void)me_challenge_quick_check(copy, size);
	verdict = me_challenge_inspect(copy, size, pending, G_N_ELEMENTS(pending), &options);
	g_assert_nonnull(verdict);
	g_assert_nonnull(verdict->message);
	if (verdict->answerable) {
		g_assert_cmpint(verdict->matched, >=, 0);
		fuzz_reply(verdict, &pending[verdict->matched]);
	}
	return 0;
}
