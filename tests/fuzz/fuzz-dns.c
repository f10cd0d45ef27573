/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzDns"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

/* the input is a DNS answer (RFC 1035 §4) to the TXT query for a DKIM key record, read as
 * me_dns_lookup_txt() reads what the nameserver sent: the record's text, bounded, or an
 * error */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end are caught */
	g_autofree guchar *answer = g_memdup2(data, size);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = me_dns_parse_answer(answer, size, "acme._domainkey.example.org", &error);

	g_assert_true((text == NULL) == (error != NULL));
	if (text != NULL)
		g_assert_cmpuint(strlen(text), <=, ME_DNS_TXT_MAX);
	return 0;
}
