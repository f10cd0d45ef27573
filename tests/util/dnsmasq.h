/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* a real DNS server for the tests: Debian's dnsmasq on 127.0.0.1 and a free port, serving the
 * TXT records a test gives it (DKIM keys); it dies with the test */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MeTestDnsmasq MeTestDnsmasq;

MeTestDnsmasq *
me_test_dnsmasq_new(void);
void
me_test_dnsmasq_add_zone(MeTestDnsmasq *dnsmasq, const gchar *domain);
void
me_test_dnsmasq_add_txt(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *text);
void
me_test_dnsmasq_add_txt_strings(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *const *strings);
void
me_test_dnsmasq_add_host(MeTestDnsmasq *dnsmasq, const gchar *name, const gchar *ipv4);
gboolean
me_test_dnsmasq_start(MeTestDnsmasq *dnsmasq, GError **error);
const gchar *
me_test_dnsmasq_get_nameserver(MeTestDnsmasq *dnsmasq);
guint16
me_test_dnsmasq_get_port(MeTestDnsmasq *dnsmasq);
guint
me_test_dnsmasq_count_queries(MeTestDnsmasq *dnsmasq, const gchar *suffix);
void
me_test_dnsmasq_free(MeTestDnsmasq *dnsmasq);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestDnsmasq, me_test_dnsmasq_free)

G_END_DECLS
