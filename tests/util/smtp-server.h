/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* a real SMTP server for the tests: Debian's aiosmtpd (tests/util/smtp-server.py) on
 * 127.0.0.1 and a free port, storing what it accepts in a temporary folder; it dies with the
 * test */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
	ME_TEST_SMTP_TLS_NONE,	   /* plain, no STARTTLS offered */
	ME_TEST_SMTP_TLS_STARTTLS, /* STARTTLS offered and required before MAIL */
	ME_TEST_SMTP_TLS_IMPLICIT, /* TLS from the first byte (RFC 8314) */
} MeTestSmtpTls;

/**
 * MeTestSmtpOptions:
 * @tls: how the server speaks
 * @user: (nullable): when set, AUTH with @user and @password is required before MAIL
 * @password: (nullable): the password
 * @refuse: (nullable): recipients answered with 550
 */
typedef struct {
	MeTestSmtpTls tls;
	const gchar *user;
	const gchar *password;
	const gchar *const *refuse;
} MeTestSmtpOptions;

/**
 * MeTestSmtpMessage:
 * @data: the message as received, the SMTP transparency undone
 * @mail_from: the envelope sender
 * @rcpt_to: the envelope recipients the server accepted
 * @tls: whether it came over TLS
 * @login: (nullable): the AUTH user, %NULL without AUTH
 */
typedef struct {
	GBytes *data;
	gchar *mail_from;
	GStrv rcpt_to;
	gboolean tls;
	gchar *login;
} MeTestSmtpMessage;

void
me_test_smtp_message_free(MeTestSmtpMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestSmtpMessage, me_test_smtp_message_free)

typedef struct _MeTestSmtp MeTestSmtp;

MeTestSmtp *
me_test_smtp_start(const MeTestSmtpOptions *options, GError **error);
guint16
me_test_smtp_get_port(MeTestSmtp *smtp);
const gchar *
me_test_smtp_get_ca_file(MeTestSmtp *smtp);
guint
me_test_smtp_count_messages(MeTestSmtp *smtp);
MeTestSmtpMessage *
me_test_smtp_get_message(MeTestSmtp *smtp, guint index);
gchar *
me_test_smtp_get_events(MeTestSmtp *smtp);
void
me_test_smtp_stop(MeTestSmtp *smtp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestSmtp, me_test_smtp_stop)

G_END_DECLS
