/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * MeError:
 *
 * The one error domain of mailenroll.  Errors from GLib, libcurl, OpenSSL and the other
 * libraries are converted into it at the file that talks to that library, so callers see
 * only these codes.  The ACME problem types a caller must tell apart have codes of their
 * own; the whole problem document travels with the error (see me_error_get_problem()).
 */
typedef enum {
	ME_ERROR_FAILED = 1,
	ME_ERROR_INVALID_ARGUMENT,
	ME_ERROR_INVALID_DATA,
	ME_ERROR_TOO_LARGE,
	ME_ERROR_NETWORK,
	ME_ERROR_TIMED_OUT,
	ME_ERROR_TLS,
	ME_ERROR_CRYPTO,
	ME_ERROR_NOT_SUPPORTED,
	ME_ERROR_NOT_FOUND,
	/* the CA answered with an error status and no usable problem document */
	ME_ERROR_SERVER,
	/* ACME problem documents (RFC 8555 §6.7); ME_ERROR_ACME is every other type */
	ME_ERROR_ACME,
	ME_ERROR_BAD_NONCE,
	ME_ERROR_RATE_LIMITED,
	ME_ERROR_USER_ACTION_REQUIRED,
	ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED,
	ME_ERROR_BAD_CSR,
	ME_ERROR_ACCOUNT_DOES_NOT_EXIST,
	ME_ERROR_UNAUTHORIZED,
	ME_ERROR_ORDER_NOT_READY,
	ME_ERROR_ALREADY_REVOKED,
	ME_ERROR_ALREADY_REPLACED,
	ME_ERROR_INCORRECT_RESPONSE,
	ME_ERROR_REJECTED_IDENTIFIER,
	/* an order or authorization ended in a state other than valid */
	ME_ERROR_INVALID_STATE,
	/* the keyring holding a secret is locked */
	ME_ERROR_LOCKED,
	/* something else is using the resource (a running mail client holds the profile) */
	ME_ERROR_BUSY,
	/* the administrator's [policy] locks the setting a write would change */
	ME_ERROR_POLICY_LOCKED,
} MeError;

#define ME_ERROR (me_error_quark())
GQuark
me_error_quark(void);

/**
 * MeAcmeSubproblem:
 *
 * One entry of a problem's `subproblems` array (RFC 8555 §6.7.1).
 */
typedef struct {
	gchar *type;
	gchar *detail;
	gchar *identifier_type;
	gchar *identifier_value;
} MeAcmeSubproblem;

/**
 * MeAcmeProblem:
 *
 * An `application/problem+json` document (RFC 7807) as the CA sent it, plus the
 * `Retry-After` of the same response in seconds (-1 when absent).
 */
typedef struct {
	gchar *type;
	gchar *detail;
	gchar *instance;
	guint status;
	gint64 retry_after;
	GPtrArray *subproblems; /* element-type MeAcmeSubproblem */
	GStrv algorithms;
	GStrv links; /* raw Link header values of the response, e.g. terms-of-service */
} MeAcmeProblem;

MeAcmeProblem *
me_acme_problem_new(void);
MeAcmeProblem *
me_acme_problem_copy(const MeAcmeProblem *problem);
void
me_acme_problem_free(MeAcmeProblem *problem);
const gchar *
me_acme_problem_get_short_type(const MeAcmeProblem *problem);
MeError
me_acme_problem_to_code(const MeAcmeProblem *problem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeAcmeProblem, me_acme_problem_free)

void
me_error_set_problem(GError **error, const MeAcmeProblem *problem);
void
me_error_set_http_status(GError **error, guint status, gint64 retry_after);
const MeAcmeProblem *
me_error_get_problem(const GError *error);
gint64
me_error_get_retry_after(const GError *error);

gboolean
me_error_convert(GError **error);

void
me_error_set_setting(GError *error, const gchar *setting);
const gchar *
me_error_get_setting(const GError *error);

G_END_DECLS
