/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeSubmission"

#include "config.h"

#include "submission.h"

#include <glib/gi18n-lib.h>

#include "keyring.h"
#include "secmem.h"
#include "smtp.h"

struct _MeSubmission {
	gchar *host;
	guint port;
	MeSmtpSecurity security;
	gchar *username;
	MeSecretStr *password;
	gchar *ca_file;
};

/**
 * me_submission_free:
 * @submission: (nullable): a submission server
 *
 * Frees @submission and wipes the password it holds.
 */
void
me_submission_free(MeSubmission *submission)
{
	if (submission == NULL)
		return;
	g_free(submission->host);
	g_free(submission->username);
	g_free(submission->ca_file);
	me_secret_str_free(submission->password);
	g_free(submission);
}

static MeSmtpSecurity
security_from_config(MeConfigSmtpSecurity security)
{
	if (security == ME_CONFIG_SMTP_SECURITY_TLS)
		return ME_SMTP_SECURITY_TLS;
	if (security == ME_CONFIG_SMTP_SECURITY_NONE)
		return ME_SMTP_SECURITY_NONE;
	return ME_SMTP_SECURITY_STARTTLS;
}

/**
 * me_submission_new:
 * @smtp: (nullable): the configuration's [smtp] group
 * @error: return location for a #GError
 *
 * The submission server of the configuration, with the password of its user from the
 * keyring (`mailenroll provision smtp-password` puts it there) and the CA file its TLS
 * certificate is checked against (`ca-file`, else the system's), ready to send.
 *
 * Returns: (transfer full): the server, or %NULL when none is configured or the password is
 *   not in the keyring
 */
MeSubmission *
me_submission_new(const MeConfigSmtp *smtp, GError **error)
{
	g_autoptr(MeSubmission) self = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (smtp == NULL || smtp->host == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: SMTP was asked for but not configured */
				    _("No SMTP server is configured; add an [smtp] group to mailenroll.conf."));
		return NULL;
	}
	self = g_new0(MeSubmission, 1);
	self->host = g_strdup(smtp->host);
	self->port = smtp->port;
	self->security = security_from_config(smtp->security);
	self->username = g_strdup(smtp->username);
	self->ca_file = g_strdup(smtp->ca_file);
	if (smtp->username != NULL) {
		self->password =
		    me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, smtp->username, smtp->host, NULL, error);
		if (self->password == NULL)
			return NULL;
	}
	return g_steal_pointer(&self);
}

/**
 * me_submission_send:
 * @submission: a submission server
 * @fields: the reply's fields (me_enroll_approve()): its sender and recipients
 * @reply: the reply as it goes on the wire
 * @on_data: (nullable) (scope call): called once when the server is ready for the message,
 *   before its first byte goes out (me_smtp_send()); %FALSE from it aborts the submission
 * @user_data: its data
 * @error: return location for a #GError
 *
 * Submits @reply from its sender to its recipients.
 *
 * Returns: %TRUE when the server accepted it
 */
gboolean
me_submission_send(MeSubmission *submission,
		   const MeMailReply *fields,
		   GBytes *reply,
		   MeSmtpDataFunc on_data,
		   gpointer user_data,
		   GError **error)
{
	g_autoptr(GPtrArray) to = g_ptr_array_new();
	MeSmtpServer server = {
	    .host = submission->host,
	    .port = submission->port,
	    .security = submission->security,
	    .username = submission->username,
	    .password = submission->password,
	    .ca_file = submission->ca_file,
	};

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	for (guint i = 0; i < fields->to->len; i++)
		g_ptr_array_add(to, g_ptr_array_index(fields->to, i));
	g_ptr_array_add(to, NULL);
	if (!me_smtp_send(&server, fields->from, (const gchar *const *)to->pdata, reply, on_data, user_data, error))
		return FALSE;
	/* when the server took the reply: where a late validation is looked for next */
	g_debug("reply from %s accepted by %s:%u", fields->from, submission->host, submission->port);
	return TRUE;
}
