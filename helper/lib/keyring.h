/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "me-error.h"
#include "secmem.h"

G_BEGIN_DECLS

/* the keyring: every secret of mailenroll lives in the Secret Service (GNOME Keyring,
 * KWallet) under the schema `org.mailenroll.Secret`, never in a file.  Errors, all in
 * #ME_ERROR:
 *  - %ME_ERROR_NOT_SUPPORTED: no Secret Service runs or can be started, or it has no
 *    default collection
 *  - %ME_ERROR_USER_ACTION_REQUIRED: the keyring is locked and no unlock prompt could be
 *    shown (headless), or the person dismissed it
 *  - %ME_ERROR_NOT_FOUND: no such item
 *  - %ME_ERROR_TIMED_OUT, %ME_ERROR_FAILED: the service did not answer, or failed */

/**
 * MeKeyringKind:
 * @ME_KEYRING_KIND_UNKNOWN: not a kind
 * @ME_KEYRING_KIND_ACCOUNT_KEY: the ACME account key (PEM), one per CA
 * @ME_KEYRING_KIND_CERTIFICATE_KEY: the S/MIME certificate key (PEM), per mailbox and CA
 * @ME_KEYRING_KIND_EAB_MAC_KEY: the External Account Binding MAC key (raw bytes)
 * @ME_KEYRING_KIND_DKIM_KEY: a DKIM signing key (PEM)
 * @ME_KEYRING_KIND_SMTP_PASSWORD: the password of the mailbox's SMTP account
 *
 * What a keyring item holds; stored as the `kind` attribute.  Only
 * %ME_KEYRING_KIND_EAB_MAC_KEY is binary (`application/octet-stream`), every other
 * kind is UTF-8 text (`text/plain`).
 */
typedef enum {
	ME_KEYRING_KIND_UNKNOWN = 0,
	ME_KEYRING_KIND_ACCOUNT_KEY,
	ME_KEYRING_KIND_CERTIFICATE_KEY,
	ME_KEYRING_KIND_EAB_MAC_KEY,
	ME_KEYRING_KIND_DKIM_KEY,
	ME_KEYRING_KIND_SMTP_PASSWORD,
} MeKeyringKind;

/**
 * MeKeyringItem:
 * @kind: what the item holds
 * @mailbox: (nullable): the mailbox it belongs to, e.g. `alice@example.org`
 * @ca: (nullable): the CA directory URL it belongs to
 * @fingerprint: (nullable): lowercase hex SHA-256 of the public key (DER
 *   SubjectPublicKeyInfo), so that one key among several can be found again
 * @superseded: %TRUE once a newer key replaced this one; the item is kept so that mail
 *   encrypted to the old certificate stays readable
 * @label: (nullable): the label the keyring shows; filled in by me_keyring_list(),
 *   ignored by me_keyring_store() (which makes its own)
 * @created: when the item was created, in seconds since 1970 (0 when unknown)
 *
 * The attributes of one keyring item (never its secret).  An unset (%NULL) string is
 * stored as an empty attribute, so that lookups match it exactly.
 */
typedef struct {
	MeKeyringKind kind;
	gchar *mailbox;
	gchar *ca;
	gchar *fingerprint;
	gboolean superseded;
	gchar *label;
	guint64 created;
} MeKeyringItem;

MeKeyringItem *
me_keyring_item_new(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint);
void
me_keyring_item_free(MeKeyringItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeKeyringItem, me_keyring_item_free)

const gchar *
me_keyring_kind_to_string(MeKeyringKind kind);
MeKeyringKind
me_keyring_kind_from_string(const gchar *text);

gboolean
me_keyring_store(const MeKeyringItem *item, gconstpointer secret, gsize len, GError **error);
MeSecretStr *
me_keyring_lookup(MeKeyringKind kind,
		  const gchar *mailbox,
		  const gchar *ca,
		  const gchar *fingerprint,
		  GError **error);
GBytes *
me_keyring_lookup_bytes(MeKeyringKind kind,
			const gchar *mailbox,
			const gchar *ca,
			const gchar *fingerprint,
			GError **error);
gboolean
me_keyring_mark_superseded(MeKeyringKind kind,
			   const gchar *mailbox,
			   const gchar *ca,
			   const gchar *fingerprint,
			   GError **error);
gboolean
me_keyring_clear(MeKeyringKind kind,
		 const gchar *mailbox,
		 const gchar *ca,
		 const gchar *fingerprint,
		 GError **error);
GPtrArray *
me_keyring_list(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, GError **error);

G_END_DECLS
