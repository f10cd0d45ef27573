/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the persisted state of one enrollment per (CA, mailbox): public data only, as JSON under
 * $XDG_STATE_HOME/mailenroll/, written atomically, one process at a time */

#include <glib.h>
#include <json-glib/json-glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/* the largest state file read */
#define ME_STATE_FILE_MAX (1024 * 1024)
/* the format written; older files are read, newer ones refused */
#define ME_STATE_VERSION 1

/**
 * MeStateStep:
 * @ME_STATE_STEP_NEW: nothing done yet
 * @ME_STATE_STEP_ACCOUNT: the ACME account exists
 * @ME_STATE_STEP_ORDER: the order was created
 * @ME_STATE_STEP_WAITING_CHALLENGE: the authorization is known; waiting for the CA's mail
 * @ME_STATE_STEP_WAITING_APPROVAL: a challenge mail passed every check; the reply is
 *   composed and waits for the person's approval
 * @ME_STATE_STEP_ANSWERED: approved: the challenge counts as answered from here on, and
 *   the reply was handed out to be sent
 * @ME_STATE_STEP_REPLY_SENT: the reply left
 * @ME_STATE_STEP_CHALLENGE_POSTED: the challenge was POSTed to the CA
 * @ME_STATE_STEP_VALIDATED: the authorization is valid
 * @ME_STATE_STEP_KEY_STORED: the certificate key is made and in the keyring
 * @ME_STATE_STEP_FINALIZED: the CSR was sent
 * @ME_STATE_STEP_ISSUED: the certificate is downloaded and checked
 * @ME_STATE_STEP_INSTALLED: the certificate is installed into the mail client's store
 * @ME_STATE_STEP_FAILED: the CA refused or the order expired; start again
 *
 * The steps of an enrollment, in order.  Each is persisted when it is reached.
 */
typedef enum {
	ME_STATE_STEP_NEW = 0,
	ME_STATE_STEP_ACCOUNT,
	ME_STATE_STEP_ORDER,
	ME_STATE_STEP_WAITING_CHALLENGE,
	ME_STATE_STEP_WAITING_APPROVAL,
	ME_STATE_STEP_ANSWERED,
	ME_STATE_STEP_REPLY_SENT,
	ME_STATE_STEP_CHALLENGE_POSTED,
	ME_STATE_STEP_VALIDATED,
	ME_STATE_STEP_KEY_STORED,
	ME_STATE_STEP_FINALIZED,
	ME_STATE_STEP_ISSUED,
	ME_STATE_STEP_INSTALLED,
	ME_STATE_STEP_FAILED,
} MeStateStep;

const gchar *
me_state_step_to_string(MeStateStep state);
gboolean
me_state_step_from_string(const gchar *text, MeStateStep *state);

typedef struct _MeState MeState;

MeState *
me_state_open(const gchar *state_dir, const gchar *ca, const gchar *mailbox, GError **error);
MeState *
me_state_load_readonly(const gchar *path, GError **error);
void
me_state_free(MeState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeState, me_state_free)

gboolean
me_state_save(MeState *state, GError **error);
gboolean
me_state_reset(MeState *state, GError **error);
const gchar *
me_state_get_path(MeState *state);
MeStateStep
me_state_get_step(MeState *state);
void
me_state_set_step(MeState *state, MeStateStep step);
const gchar *
me_state_get_string(MeState *state, const gchar *key);
void
me_state_set_string(MeState *state, const gchar *key, const gchar *value);
gint64
me_state_get_int(MeState *state, const gchar *key);
void
me_state_set_int(MeState *state, const gchar *key, gint64 value);
gboolean
me_state_get_bool(MeState *state, const gchar *key);
void
me_state_set_bool(MeState *state, const gchar *key, gboolean value);
JsonObject *
me_state_get_object(MeState *state);
GPtrArray *
me_state_list(const gchar *state_dir, GError **error);
gchar *
me_state_get_ca_note(const gchar *state_dir, const gchar *ca, const gchar *directory, const gchar *key);
gboolean
me_state_set_ca_note(const gchar *state_dir,
		     const gchar *ca,
		     const gchar *directory,
		     const gchar *key,
		     const gchar *value,
		     GError **error);

/**
 * MeStateAccount:
 * @url: (nullable): the account URL at the CA; %NULL while the account is being made (its
 *   key is in the keyring, the CA may not know it yet)
 * @key_fp: the account key's JWK thumbprint, which finds it in the keyring
 * @created_by: (nullable): the mailbox whose enrollment made the account, or whose own
 *   account of an older mailenroll became it
 * @created: when, in seconds since 1970
 *
 * The ACME account that all of a user's mailboxes share at one CA (docs/design.md §3).
 */
typedef struct {
	gchar *url;
	gchar *key_fp;
	gchar *created_by;
	gint64 created;
} MeStateAccount;

void
me_state_account_free(MeStateAccount *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeStateAccount, me_state_account_free)

MeStateAccount *
me_state_get_ca_account(const gchar *state_dir, const gchar *ca, const gchar *directory, GError **error);
gboolean
me_state_set_ca_account(const gchar *state_dir,
			const gchar *ca,
			const gchar *directory,
			const MeStateAccount *account,
			GError **error);

typedef struct _MeStateLock MeStateLock;

MeStateLock *
me_state_lock_ca(const gchar *state_dir, const gchar *ca, guint timeout_ms, GError **error);
void
me_state_lock_free(MeStateLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeStateLock, me_state_lock_free)

G_END_DECLS
