/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "dns.h"
#include "me-error.h"

G_BEGIN_DECLS

/* the largest message we verify or sign; RFC 8823 mails are a few KiB */
#define ME_DKIM_MESSAGE_MAX (16 * 1024 * 1024)
/* the most DKIM-Signature fields we look at; each may cost a DNS lookup */
#define ME_DKIM_SIGNATURES_MAX 8

/**
 * MeDkimPolicy:
 * @ME_DKIM_POLICY_CHALLENGE: the challenge mail (RFC 8823 §3.1): 13 header fields, Auto-Submitted included
 * @ME_DKIM_POLICY_REPLY: the response mail (RFC 8823 §3.2): the same 12 without Auto-Submitted
 *
 * Which of the two RFC 8823 header lists a signature's `h=` must hold.
 */
typedef enum {
	ME_DKIM_POLICY_CHALLENGE,
	ME_DKIM_POLICY_REPLY,
} MeDkimPolicy;

/**
 * MeDkimSignature:
 * @verified: the signature verified: key found, body hash and signature match, not expired,
 *   and an algorithm we accept (never rsa-sha1, RFC 8301)
 * @domain: `d=`
 * @selector: `s=`
 * @algorithm: `a=`, e.g. `rsa-sha256` or `ed25519-sha256`
 * @signed_headers: `h=` in order, lowercase, repeats kept
 * @expires: `x=` in seconds since the epoch, 0 if absent
 * @body_length: `l=`, -1 if absent
 * @error: (nullable): why it did not verify, one sentence; %NULL when @verified
 * @temporary: it did not verify because its key lookup failed for now (no answer, server
 *   failure): verifying the message again later may succeed
 *
 * One DKIM-Signature header field of a message and what became of it.
 */
typedef struct {
	gboolean verified;
	gchar *domain;
	gchar *selector;
	gchar *algorithm;
	GStrv signed_headers;
	gint64 expires;
	gssize body_length;
	gchar *error;
	gboolean temporary;
} MeDkimSignature;

typedef struct _MeDkim MeDkim;

void
me_dkim_signature_free(MeDkimSignature *sig);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeDkimSignature, me_dkim_signature_free)

MeDkim *
me_dkim_new(MeDns *dns, GError **error);
void
me_dkim_free(MeDkim *dkim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeDkim, me_dkim_free)

gboolean
me_dkim_has_ed25519(MeDkim *dkim);
GPtrArray *
me_dkim_verify(MeDkim *dkim, GBytes *message, const gchar *from_domain, GError **error);
const gchar *const *
me_dkim_required_headers(MeDkimPolicy policy);
const gchar *const *
me_dkim_recommended_headers(void);
gboolean
me_dkim_check_rfc8823(const MeDkimSignature *sig, const gchar *from_domain, MeDkimPolicy policy, gchar **why);
GBytes *
me_dkim_sign(MeDkim *dkim, GBytes *message, const gchar *domain, const gchar *selector, EVP_PKEY *key,
	     MeDkimPolicy policy, GError **error);

G_END_DECLS
