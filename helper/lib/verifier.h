/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "challenge.h"

G_BEGIN_DECLS

/*
 * The authenticity check of a challenge mail (RFC 8823 §3.1 item 6), as the hook that
 * me_challenge_inspect() calls: a DKIM signature by the From domain with the required
 * h= names (keys looked up through the configured nameserver), else an S/MIME signature
 * by the From address with header protection, chained to the configured trust anchors.
 * A trusted Authentication-Results header is checked by challenge.c itself.
 */
typedef struct _MeVerifier MeVerifier;

MeVerifier *
me_verifier_new(const gchar *nameserver, GError **error);
void
me_verifier_free(MeVerifier *verifier);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeVerifier, me_verifier_free)

gboolean
me_verifier_add_trust_file(MeVerifier *verifier, const gchar *pem_file, GError **error);
void
me_verifier_set_dns_timeout(MeVerifier *verifier, guint timeout_ms);
void
me_verifier_set_budget(MeVerifier *verifier, guint max_lookups, guint time_ms);
void
me_verifier_apply(MeVerifier *verifier, MeChallengeOptions *options);
gboolean
me_verifier_authenticate(GBytes *crlf_message,
			 const gchar *from_addr,
			 const gchar *to_addr,
			 const gchar *subject,
			 MeChallengeAuthRule rule,
			 MeChallengeAuthResult *result,
			 gpointer user_data);

G_END_DECLS
