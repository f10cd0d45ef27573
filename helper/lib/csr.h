/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the PKCS#10 request for an S/MIME certificate, and the check of what the CA issued
 * (S/MIME BR mailbox-validated profile, RFC 8823, RFC 9598; docs/standards.md §4) */

#include <glib.h>
#include <openssl/evp.h>

#include "keys.h"
#include "me-error.h"

G_BEGIN_DECLS

/* RFC 5321 §4.5.3.1.1: 64 octets of local part; §4.5.3.1.3: 256 octets of path, less "<>" */
#define ME_CSR_LOCAL_PART_MAX 64
#define ME_CSR_MAILBOX_MAX 254

/**
 * MeCsrFlags:
 * @ME_CSR_FLAGS_NONE: subject `CN=<mailbox>`, SAN not critical
 * @ME_CSR_FLAGS_EMPTY_SUBJECT: an empty subject; the SAN is then critical (RFC 5280
 *   §4.2.1.6).  A mailbox of more than 64 characters cannot be a commonName
 *   (ub-common-name), so it always gets an empty subject.
 */
typedef enum {
	ME_CSR_FLAGS_NONE = 0,
	ME_CSR_FLAGS_EMPTY_SUBJECT = 1 << 0,
} MeCsrFlags;

gchar *
me_csr_normalize_mailbox(const gchar *mailbox, gboolean *smtputf8, GError **error);
GBytes *
me_csr_new(EVP_PKEY *cert_key, const gchar *mailbox, MeKeyUsage usage, MeCsrFlags flags, GError **error);
gchar *
me_csr_to_pem(GBytes *der, GError **error);
gboolean
me_csr_check_issued(GPtrArray *chain, EVP_PKEY *cert_key, const gchar *mailbox, MeKeyUsage usage, GError **error);

G_END_DECLS
