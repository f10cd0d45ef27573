/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* submitting the challenge reply over SMTP (RFC 6409) with libcurl */

#include <glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/**
 * MeSmtpSecurity:
 * @ME_SMTP_SECURITY_STARTTLS: plain connection upgraded with STARTTLS, which must succeed
 * @ME_SMTP_SECURITY_TLS: implicit TLS from the first byte (RFC 8314)
 * @ME_SMTP_SECURITY_NONE: no TLS; only to a loopback host
 *
 * How the connection to the submission server is protected.
 */
typedef enum {
	ME_SMTP_SECURITY_STARTTLS = 0,
	ME_SMTP_SECURITY_TLS,
	ME_SMTP_SECURITY_NONE,
} MeSmtpSecurity;

/**
 * MeSmtpServer:
 * @host: the submission server
 * @port: its port
 * @security: #MeSmtpSecurity
 * @username: (nullable): the login for AUTH; %NULL for none
 * @password: (nullable): its password (from the keyring)
 * @ca_file: (nullable): a PEM bundle to trust instead of the system's
 *
 * Where the reply is submitted.
 */
typedef struct {
	const gchar *host;
	guint port;
	MeSmtpSecurity security;
	const gchar *username;
	const gchar *password;
	const gchar *ca_file;
} MeSmtpServer;

/**
 * MeSmtpDataFunc:
 * @user_data: the caller's data
 * @error: return location for a #GError
 *
 * Called once per submission, when the server has accepted the envelope and said go ahead
 * to DATA (354), right before the first byte of the message goes out: from here on the
 * server may end up with the message.  Returning %FALSE aborts the submission with @error
 * before any of the message was sent.
 *
 * Returns: %TRUE to send the message
 */
typedef gboolean (*MeSmtpDataFunc)(gpointer user_data, GError **error);

gboolean
me_smtp_send(const MeSmtpServer *server,
	     const gchar *from,
	     const gchar *const *to,
	     GBytes *message,
	     MeSmtpDataFunc on_data,
	     gpointer user_data,
	     GError **error);

G_END_DECLS
