/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/* the longest name we look up, in the presentation form without the final dot (RFC 1035 §2.3.4) */
#define ME_DNS_NAME_MAX 253
/* the default time a lookup may take, all tries included */
#define ME_DNS_TIMEOUT_MS 2000
/* the most TXT text we return; a DKIM RSA-4096 key record is about 800 bytes */
#define ME_DNS_TXT_MAX (16 * 1024)

typedef struct _MeDns MeDns;

MeDns *
me_dns_new(const gchar *nameserver, GError **error);
void
me_dns_set_timeout(MeDns *dns, guint timeout_ms);
void
me_dns_set_budget(MeDns *dns, guint max_lookups, gint64 deadline);
gchar *
me_dns_lookup_txt(MeDns *dns, const gchar *name, GError **error);
gchar *
me_dns_parse_answer(const guchar *answer, gsize len, const gchar *name, GError **error);
void
me_dns_free(MeDns *dns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeDns, me_dns_free)

G_END_DECLS
