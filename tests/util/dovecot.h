/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* a real IMAP server for the tests: Debian's dovecot on 127.0.0.1 and a free port, with a
 * configuration, state, log and one user's Maildir of its own in a temporary folder; it
 * dies with the test */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MeTestDovecot MeTestDovecot;

/* the two halves of the IMAP conversation dovecot records for every session after login */
typedef enum {
	ME_TEST_IMAP_FROM_CLIENT, /* the client's commands: `3 select "INBOX"`, `5 IDLE` */
	ME_TEST_IMAP_TO_CLIENT,	  /* the server's answers, with the headers and bodies it sent */
} MeTestImapDirection;

MeTestDovecot *
me_test_dovecot_start(const gchar *user, const gchar *password, GError **error);
guint16
me_test_dovecot_get_port(MeTestDovecot *dovecot);
const gchar *
me_test_dovecot_get_user(MeTestDovecot *dovecot);
const gchar *
me_test_dovecot_get_maildir(MeTestDovecot *dovecot);
gboolean
me_test_dovecot_deliver(MeTestDovecot *dovecot, const gchar *message, gssize len, GError **error);
gchar *
me_test_dovecot_get_log(MeTestDovecot *dovecot);
gboolean
me_test_dovecot_wait_log(MeTestDovecot *dovecot, const gchar *needle, guint timeout_ms);
gchar *
me_test_dovecot_get_rawlog(MeTestDovecot *dovecot, MeTestImapDirection direction);
gboolean
me_test_dovecot_wait_rawlog(MeTestDovecot *dovecot, MeTestImapDirection direction, const gchar *needle,
			    guint timeout_ms);
void
me_test_dovecot_stop(MeTestDovecot *dovecot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestDovecot, me_test_dovecot_stop)

G_END_DECLS
