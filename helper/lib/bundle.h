/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the PKCS#12 file a person imports into a mail client: the certificate key and the whole
 * chain, protected by a password shown once (RFC 7292, RFC 8018; NIST SP 800-132) */

#include <glib.h>
#include <openssl/evp.h>

#include "me-error.h"
#include "secmem.h"

G_BEGIN_DECLS

/* PBKDF2-HMAC-SHA256 iterations for the key and certificate bags, and the iteration count
 * of the SHA-256 MAC (so the MAC is not a cheaper way to test guesses): OWASP Password
 * Storage Cheat Sheet (2023) for PBKDF2-HMAC-SHA256 */
#define ME_BUNDLE_KDF_ITERATIONS 600000

/* bytes of UTF-8, without the NUL; longer passwords are refused */
#define ME_BUNDLE_PASSWORD_MAX 1024

/* me_bundle_generate_password(): ME_BUNDLE_PASSWORD_GROUPS groups of
 * ME_BUNDLE_PASSWORD_GROUP_LEN characters from a 32-character alphabet, joined by '-':
 * 6 × 5 × 5 = 150 bits of entropy */
#define ME_BUNDLE_PASSWORD_ALPHABET "23456789abcdefghijkmnpqrstuvwxyz"
#define ME_BUNDLE_PASSWORD_GROUPS 6
#define ME_BUNDLE_PASSWORD_GROUP_LEN 5
#define ME_BUNDLE_PASSWORD_LEN (ME_BUNDLE_PASSWORD_GROUPS * (ME_BUNDLE_PASSWORD_GROUP_LEN + 1) - 1)

/**
 * MeBundleWriteFlags:
 * @ME_BUNDLE_WRITE_FLAGS_NONE: refuse to replace an existing file (or symbolic link)
 * @ME_BUNDLE_WRITE_FLAGS_OVERWRITE: replace an existing file atomically
 *
 * How me_bundle_write_pkcs12() treats a file that is already there.
 */
typedef enum {
	ME_BUNDLE_WRITE_FLAGS_NONE = 0,
	ME_BUNDLE_WRITE_FLAGS_OVERWRITE = 1 << 0,
} MeBundleWriteFlags;

GBytes *
me_bundle_pkcs12_new(EVP_PKEY *key, GPtrArray *chain, const gchar *friendly_name, const gchar *password,
		     GError **error);
MeSecretStr *
me_bundle_generate_password(void);
gboolean
me_bundle_write_pkcs12(const gchar *path, GBytes *p12, MeBundleWriteFlags flags, GError **error);

G_END_DECLS
