/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeError"

#include "config.h"

#include "me-error.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#define ME_ACME_ERROR_URN "urn:ietf:params:acme:error:"

typedef struct {
	MeAcmeProblem *problem;
	/* the setting a refused write named, `group/key` (me_error_set_setting()) */
	gchar *setting;
} MeErrorPrivate;

static void
me_error_private_init(MeErrorPrivate *priv)
{
	priv->problem = NULL;
	priv->setting = NULL;
}

static void
me_error_private_copy(const MeErrorPrivate *src, MeErrorPrivate *dest)
{
	dest->problem = src->problem != NULL ? me_acme_problem_copy(src->problem) : NULL;
	dest->setting = g_strdup(src->setting);
}

static void
me_error_private_clear(MeErrorPrivate *priv)
{
	g_clear_pointer(&priv->problem, me_acme_problem_free);
	g_clear_pointer(&priv->setting, g_free);
}

G_DEFINE_EXTENDED_ERROR(MeError, me_error)

static void
me_acme_subproblem_free(MeAcmeSubproblem *sub)
{
	g_free(sub->type);
	g_free(sub->detail);
	g_free(sub->identifier_type);
	g_free(sub->identifier_value);
	g_free(sub);
}

/**
 * me_acme_problem_new:
 *
 * Returns: (transfer full): an empty problem with no `Retry-After`
 */
MeAcmeProblem *
me_acme_problem_new(void)
{
	MeAcmeProblem *problem = g_new0(MeAcmeProblem, 1);
	problem->retry_after = -1;
	problem->subproblems = g_ptr_array_new_with_free_func((GDestroyNotify)me_acme_subproblem_free);
	return problem;
}

/**
 * me_acme_problem_copy:
 * @problem: a problem
 *
 * Returns: (transfer full): a deep copy of @problem
 */
MeAcmeProblem *
me_acme_problem_copy(const MeAcmeProblem *problem)
{
	MeAcmeProblem *copy = me_acme_problem_new();
	copy->type = g_strdup(problem->type);
	copy->detail = g_strdup(problem->detail);
	copy->instance = g_strdup(problem->instance);
	copy->status = problem->status;
	copy->retry_after = problem->retry_after;
	copy->algorithms = g_strdupv(problem->algorithms);
	copy->links = g_strdupv(problem->links);
	for (guint i = 0; i < problem->subproblems->len; i++) {
		const MeAcmeSubproblem *sub = g_ptr_array_index(problem->subproblems, i);
		MeAcmeSubproblem *dup = g_new0(MeAcmeSubproblem, 1);
		dup->type = g_strdup(sub->type);
		dup->detail = g_strdup(sub->detail);
		dup->identifier_type = g_strdup(sub->identifier_type);
		dup->identifier_value = g_strdup(sub->identifier_value);
		g_ptr_array_add(copy->subproblems, dup);
	}
	return copy;
}

void
me_acme_problem_free(MeAcmeProblem *problem)
{
	if (problem == NULL)
		return;
	g_free(problem->type);
	g_free(problem->detail);
	g_free(problem->instance);
	g_ptr_array_unref(problem->subproblems);
	g_strfreev(problem->algorithms);
	g_strfreev(problem->links);
	g_free(problem);
}

/**
 * me_acme_problem_get_short_type:
 * @problem: a problem
 *
 * Returns: the type without the `urn:ietf:params:acme:error:` prefix, e.g. `badNonce`,
 * or the whole type for types outside the ACME namespace
 */
const gchar *
me_acme_problem_get_short_type(const MeAcmeProblem *problem)
{
	if (problem->type == NULL)
		return "";
	if (g_str_has_prefix(problem->type, ME_ACME_ERROR_URN))
		return problem->type + strlen(ME_ACME_ERROR_URN);
	return problem->type;
}

/**
 * me_acme_problem_to_code:
 * @problem: a problem
 *
 * Returns: the #MeError code callers use to tell this problem type apart
 */
MeError
me_acme_problem_to_code(const MeAcmeProblem *problem)
{
	static const struct {
		const gchar *type;
		MeError code;
	} map[] = {
	    {"badNonce", ME_ERROR_BAD_NONCE},
	    {"rateLimited", ME_ERROR_RATE_LIMITED},
	    {"userActionRequired", ME_ERROR_USER_ACTION_REQUIRED},
	    {"externalAccountRequired", ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED},
	    {"badCSR", ME_ERROR_BAD_CSR},
	    {"accountDoesNotExist", ME_ERROR_ACCOUNT_DOES_NOT_EXIST},
	    {"unauthorized", ME_ERROR_UNAUTHORIZED},
	    {"orderNotReady", ME_ERROR_ORDER_NOT_READY},
	    {"alreadyRevoked", ME_ERROR_ALREADY_REVOKED},
	    {"alreadyReplaced", ME_ERROR_ALREADY_REPLACED},
	    {"incorrectResponse", ME_ERROR_INCORRECT_RESPONSE},
	    {"rejectedIdentifier", ME_ERROR_REJECTED_IDENTIFIER},
	    {"unsupportedIdentifier", ME_ERROR_REJECTED_IDENTIFIER},
	};
	const gchar *short_type;

	if (problem->type == NULL || !g_str_has_prefix(problem->type, ME_ACME_ERROR_URN))
		return ME_ERROR_ACME;
	short_type = me_acme_problem_get_short_type(problem);
	for (gsize i = 0; i < G_N_ELEMENTS(map); i++) {
		if (g_strcmp0(short_type, map[i].type) == 0)
			return map[i].code;
	}
	return ME_ERROR_ACME;
}

/* which part of the certificate request a badCSR refused: RFC 8555 §6.7.1 subproblems
 * name identifiers; otherwise the CA's detail says it in words (Boulder, Pebble, step-ca,
 * the test CA and acme2certifier name the subjectAltName, the identifiers or the key) */
typedef enum {
	BAD_CSR_OTHER,
	BAD_CSR_IDENTIFIER,
	BAD_CSR_KEY,
} BadCsrPart;

static gboolean
text_has_any(const gchar *text, const gchar *const *words)
{
	g_autofree gchar *lower = text != NULL ? g_ascii_strdown(text, -1) : NULL;

	for (guint i = 0; lower != NULL && words[i] != NULL; i++) {
		if (strstr(lower, words[i]) != NULL)
			return TRUE;
	}
	return FALSE;
}

static BadCsrPart
bad_csr_part(const MeAcmeProblem *problem)
{
	static const gchar *const identifier_words[] = {"subjectaltname", "subject alternative name", "identifier",
							 "rfc822", "address", "mailbox", "names", NULL};
	static const gchar *const key_words[] = {"key", "curve", "rsa", "ecdsa", "ed25519", "exponent", "bits", NULL};

	for (guint i = 0; problem->subproblems != NULL && i < problem->subproblems->len; i++) {
		const MeAcmeSubproblem *sub = g_ptr_array_index(problem->subproblems, i);
		if (sub->identifier_value != NULL)
			return BAD_CSR_IDENTIFIER;
	}
	if (text_has_any(problem->detail, identifier_words))
		return BAD_CSR_IDENTIFIER;
	if (text_has_any(problem->detail, key_words))
		return BAD_CSR_KEY;
	return BAD_CSR_OTHER;
}

static gchar *
bad_csr_message(const MeAcmeProblem *problem, const gchar *detail)
{
	switch (bad_csr_part(problem)) {
	case BAD_CSR_IDENTIFIER:
		/* TRANSLATORS: the CA refused the mailbox address (subjectAltName) of the certificate request; %s is the CA's own explanation */
		return g_strdup_printf(_("The certificate authority refused the mailbox address in the certificate request (%s); another key type will not help: ask the certificate authority whether it issues certificates for this address, or use one that does."),
				       detail);
	case BAD_CSR_KEY:
		/* TRANSLATORS: the CA refused the key of the certificate request; %s is the CA's own explanation; keep key-type and key-usage */
		return g_strdup_printf(_("The certificate authority refused the key in the certificate request (%s); choose another key type or usage with key-type= or key-usage= in mailenroll.conf."),
				       detail);
	case BAD_CSR_OTHER:
	default:
		/* TRANSLATORS: %s is the CA's own explanation */
		return g_strdup_printf(_("The certificate authority rejected the certificate request (%s); choose another key type or usage."),
				       detail);
	}
}

static gchar *
problem_message(const MeAcmeProblem *problem)
{
	const gchar *detail = problem->detail != NULL && problem->detail[0] != '\0'
				  ? problem->detail
				  : me_acme_problem_get_short_type(problem);
	switch (me_acme_problem_to_code(problem)) {
	case ME_ERROR_RATE_LIMITED:
		if (problem->retry_after >= 0) {
			/* TRANSLATORS: %s is the CA's own explanation, %d a number of seconds */
			return g_strdup_printf(_("The certificate authority is limiting requests (%s); try again in %d seconds."),
					       detail, (gint)MIN(problem->retry_after, G_MAXINT));
		}
		/* TRANSLATORS: %s is the CA's own explanation */
		return g_strdup_printf(_("The certificate authority is limiting requests (%s); try again later."), detail);
	case ME_ERROR_USER_ACTION_REQUIRED:
		/* TRANSLATORS: %s is the CA's own explanation; the person must visit the CA's page */
		return g_strdup_printf(_("The certificate authority needs you to act first (%s); open its page, then try again."),
				       detail);
	case ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED:
		/* TRANSLATORS: %s is the CA's own explanation; EAB = credentials given by the CA */
		return g_strdup_printf(_("The certificate authority requires an external account binding (%s); enter the key ID and key it gave you."),
				       detail);
	case ME_ERROR_BAD_CSR:
		return bad_csr_message(problem, detail);
	default:
		/* TRANSLATORS: %s is the CA's own explanation */
		return g_strdup_printf(_("The certificate authority refused the request: %s."), detail);
	}
}

/**
 * me_error_set_problem:
 * @error: (nullable): return location
 * @problem: the problem document
 *
 * Sets @error to the code of @problem with a sentence for a person, and attaches a copy
 * of @problem that me_error_get_problem() returns.
 */
void
me_error_set_problem(GError **error, const MeAcmeProblem *problem)
{
	g_autofree gchar *msg = NULL;
	MeErrorPrivate *priv;

	if (error == NULL)
		return;
	msg = problem_message(problem);
	g_set_error_literal(error, ME_ERROR, me_acme_problem_to_code(problem), msg);
	priv = me_error_get_private(*error);
	priv->problem = me_acme_problem_copy(problem);
}

/**
 * me_error_set_http_status:
 * @error: (nullable): return location
 * @status: the HTTP status of a response without a problem document
 * @retry_after: its `Retry-After` in seconds, or -1
 *
 * Sets @error for an error status the CA did not explain, keeping `Retry-After` where
 * me_error_get_retry_after() finds it.  A 429 counts as %ME_ERROR_RATE_LIMITED.
 */
void
me_error_set_http_status(GError **error, guint status, gint64 retry_after)
{
	MeErrorPrivate *priv;

	if (error == NULL)
		return;
	if (status == 429) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_RATE_LIMITED,
				    /* TRANSLATORS: HTTP 429 without an explanation */
				    _("The certificate authority is limiting requests; try again later."));
	} else {
		g_set_error(error, ME_ERROR, ME_ERROR_SERVER,
			    /* TRANSLATORS: %u is an HTTP status code such as 500 */
			    _("The certificate authority answered with an error (HTTP %u); try again later."), status);
	}
	priv = me_error_get_private(*error);
	priv->problem = me_acme_problem_new();
	priv->problem->status = status;
	priv->problem->retry_after = retry_after;
}

/**
 * me_error_get_problem:
 * @error: an error
 *
 * Returns: (transfer none) (nullable): the ACME problem behind @error, if any
 */
const MeAcmeProblem *
me_error_get_problem(const GError *error)
{
	MeErrorPrivate *priv;
	if (error == NULL || error->domain != ME_ERROR)
		return NULL;
	priv = me_error_get_private(error);
	return priv != NULL ? priv->problem : NULL;
}

/**
 * me_error_get_retry_after:
 * @error: an error
 *
 * Returns: the `Retry-After` of the response behind @error in seconds, or -1
 */
gint64
me_error_get_retry_after(const GError *error)
{
	const MeAcmeProblem *problem = me_error_get_problem(error);
	return problem != NULL ? problem->retry_after : -1;
}

/**
 * me_error_set_setting:
 * @error: an error in #ME_ERROR
 * @setting: the setting it is about, as the configuration file spells it:
 *   `group/key`, e.g. `general/auto-approve` or `ca example/directory`
 *
 * Attaches @setting to @error, for %ME_ERROR_POLICY_LOCKED: the protocol sends it as
 * `error.data.key`.
 */
void
me_error_set_setting(GError *error, const gchar *setting)
{
	MeErrorPrivate *priv;

	g_return_if_fail(error != NULL && error->domain == ME_ERROR);
	priv = me_error_get_private(error);
	if (priv == NULL)
		return;
	g_free(priv->setting);
	priv->setting = g_strdup(setting);
}

/**
 * me_error_get_setting:
 * @error: an error
 *
 * Returns: (transfer none) (nullable): the setting me_error_set_setting() attached
 */
const gchar *
me_error_get_setting(const GError *error)
{
	MeErrorPrivate *priv;

	if (error == NULL || error->domain != ME_ERROR)
		return NULL;
	priv = me_error_get_private(error);
	return priv != NULL ? priv->setting : NULL;
}

/**
 * me_error_convert:
 * @error: (nullable): an error in a foreign domain, or %NULL
 *
 * Replaces a GIO, GLib file or key-file error with an #ME_ERROR one with the same message.
 *
 * Returns: %TRUE if @error is now in #ME_ERROR (or unset)
 */
gboolean
me_error_convert(GError **error)
{
	GError *err;
	MeError code = ME_ERROR_FAILED;

	if (error == NULL || *error == NULL)
		return TRUE;
	err = *error;
	if (err->domain == ME_ERROR)
		return TRUE;
	if (err->domain == G_IO_ERROR) {
		switch (err->code) {
		case G_IO_ERROR_NOT_FOUND:
			code = ME_ERROR_NOT_FOUND;
			break;
		case G_IO_ERROR_TIMED_OUT:
			code = ME_ERROR_TIMED_OUT;
			break;
		case G_IO_ERROR_INVALID_ARGUMENT:
			code = ME_ERROR_INVALID_ARGUMENT;
			break;
		case G_IO_ERROR_INVALID_DATA:
		case G_IO_ERROR_PARTIAL_INPUT:
			code = ME_ERROR_INVALID_DATA;
			break;
		case G_IO_ERROR_NOT_SUPPORTED:
			code = ME_ERROR_NOT_SUPPORTED;
			break;
		case G_IO_ERROR_MESSAGE_TOO_LARGE:
		case G_IO_ERROR_NO_SPACE:
			code = ME_ERROR_TOO_LARGE;
			break;
		default:
			break;
		}
	} else if (err->domain == G_FILE_ERROR) {
		if (err->code == G_FILE_ERROR_NOENT)
			code = ME_ERROR_NOT_FOUND;
	} else if (err->domain == G_KEY_FILE_ERROR || err->domain == G_MARKUP_ERROR) {
		code = ME_ERROR_INVALID_DATA;
	}
	/* a new error: ME_ERROR carries private data that a foreign GError has no room for */
	*error = g_error_new_literal(ME_ERROR, code, err->message);
	g_error_free(err);
	return TRUE;
}
