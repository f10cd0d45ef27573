/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the interop suite's mail system and CA, all on 127.0.0.1 in a temporary folder of its own:
 * acme2certifier (a patched copy of the pinned snapshot in ../shared/interop) over HTTPS,
 * Postfix with its own configuration directory and queue (SMTP, and submission with STARTTLS
 * and Dovecot SASL), an OpenDKIM milter signing both domains, Dovecot (IMAPS for
 * acme2certifier, LMTP for Postfix) and dnsmasq serving the DKIM keys.  Nothing of the
 * machine's own mail configuration is read or written; everything dies with the test. */

#include <gio/gio.h>

#include "dnsmasq.h"

G_BEGIN_DECLS

#define ME_TEST_INTEROP_CA_DOMAIN   "ca.example"
#define ME_TEST_INTEROP_USER_DOMAIN "user.example"
#define ME_TEST_INTEROP_CA_MAILBOX  "acme@" ME_TEST_INTEROP_CA_DOMAIN
#define ME_TEST_INTEROP_SELECTOR    "interop"

typedef struct {
	gchar *dir; /* everything of the stack, removed by stop */
	gchar *a2c_dir;
	gchar *directory_url;
	gchar *tls_ca_file; /* the private CA of the HTTPS, submission and IMAPS servers */
	gchar *root_ca;	    /* acme2certifier's S/MIME root and issuing CA */
	gchar *issuing_ca;
	gchar *crl;
	gchar *postfix_conf_dir;
	gchar *a2c_log;
	gchar *postfix_log;
	gchar *dovecot_log;
	guint16 smtp_port;
	guint16 submission_port;
	guint16 imaps_port;
	guint16 lmtp_port;
	guint16 auth_port;
	guint16 milter_port;
	guint16 acme_port;
	/* acme2certifier/patches has a2c-cert-rfc822name.patch, and the copy has it: revocation
	 * of an email certificate works (without it, acme2certifier 0.43.1 refuses it) */
	gboolean revocation_patched;
	MeTestDnsmasq *dns;
	GHashTable *passwords;	  /* mailbox -> its password at Dovecot */
	GHashTable *dkim_records; /* domain -> the text of its DKIM key record */
	GPtrArray *procs;      /* the services, in the order they were started */
} MeTestInterop;

gchar *
me_test_interop_shared_dir(void);
gboolean
me_test_interop_can_run(const gchar *shared_dir, gchar **why);
MeTestInterop *
me_test_interop_start(const gchar *shared_dir, const gchar *const *mailboxes, const gchar *hold_mailbox,
		      GError **error);
gchar *
me_test_interop_get_maildir(MeTestInterop *stack, const gchar *mailbox);
const gchar *
me_test_interop_get_password(MeTestInterop *stack, const gchar *mailbox);
gboolean
me_test_interop_release_held(MeTestInterop *stack, GError **error);
guint
me_test_interop_count_held(MeTestInterop *stack);
gchar *
me_test_interop_a2c_query(MeTestInterop *stack, const gchar *sql);
void
me_test_interop_stop(MeTestInterop *stack);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestInterop, me_test_interop_stop)

G_END_DECLS
