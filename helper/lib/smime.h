/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "me-error.h"

G_BEGIN_DECLS

/* the largest whole message me_smime_verify() reads */
#define ME_SMIME_MAX_SIZE (10 * 1024 * 1024)
/* the largest file of trust anchors me_smime_trust_load() reads; Debian's whole bundle is
 * about 200 KiB */
#define ME_SMIME_TRUST_FILE_MAX (8 * 1024 * 1024)

/**
 * MeSmimeResult:
 * @verified: the message passes RFC 8823 §3.1 S/MIME authenticity: @signature_valid,
 *   @chain_valid, @signer_matches_from and @headers_protected are all %TRUE
 * @signature_valid: every CMS signer's signature matches the signed content
 * @chain_valid: every signer certificate chains to the trust anchors, for S/MIME signing
 * @signer_matches_from: a signer certificate has an rfc822Name SAN equal to the From address
 * @signer_emails: (array zero-terminated=1): the rfc822Name SANs of the signer certificates
 * @headers_protected: a header-protection scheme covers From, To and Subject, and their
 *   protected values match the outer ones
 * @scheme: (nullable): "rfc8551-wrapped", "rfc7508" or "rfc9788": the scheme that protected
 *   the headers, or when none did, the first one the message used; %NULL when it used none
 * @reason: (nullable): one translated sentence saying why the message is not verified;
 *   %NULL when @verified
 *
 * The outcome of me_smime_verify() for a message that is S/MIME signed.
 */
typedef struct {
	gboolean verified;
	gboolean signature_valid;
	gboolean chain_valid;
	gboolean signer_matches_from;
	GStrv signer_emails;
	gboolean headers_protected;
	gchar *scheme;
	gchar *reason;
} MeSmimeResult;

void
me_smime_result_free(MeSmimeResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeSmimeResult, me_smime_result_free)

MeSmimeResult *
me_smime_verify(GBytes *message,
		X509_STORE *trust,
		const gchar *outer_from,
		const gchar *outer_to,
		const gchar *outer_subject,
		GError **error);

gchar *
me_smime_trust_system_file(void);
guint
me_smime_trust_load(X509_STORE *store, const gchar *path, GError **error);

G_END_DECLS
