/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzChain"

#include "config.h"

#include <glib.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "acme-client.h"

/* the input is the certificate chain a CA hands out (application/pem-certificate-chain,
 * RFC 8555 §9.1): only CERTIFICATE blocks, each one a certificate, or a refusal */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) pem = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeChain) chain = me_acme_chain_parse(pem, &error);

	g_assert_true((chain == NULL) == (error != NULL));
	if (chain == NULL)
		return 0;
	g_assert_cmpuint(chain->certs->len, >=, 1);
	g_assert_nonnull(chain->pem);
	for (guint i = 0; i < chain->certs->len; i++) {
		/* the renewal-information id reads the certificate's serial and key identifier */
		g_autofree gchar *id = me_acme_cert_id(g_ptr_array_index(chain->certs, i), NULL);
		(void)id;
	}
	return 0;
}
