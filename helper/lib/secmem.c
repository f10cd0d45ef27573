/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeSecmem"

#include "config.h"

#include "secmem.h"

#include <openssl/crypto.h>
#include <string.h>

/**
 * me_secure_wipe:
 * @data: (nullable): memory that held a secret
 * @len: its size
 *
 * Overwrites @data in a way the compiler may not drop.
 */
void
me_secure_wipe(gpointer data, gsize len)
{
	if (data != NULL && len > 0)
		OPENSSL_cleanse(data, len);
}

/**
 * me_secure_free:
 * @data: (nullable): memory from g_malloc() that held a secret
 * @len: its size
 *
 * Wipes, then frees @data.
 */
void
me_secure_free(gpointer data, gsize len)
{
	me_secure_wipe(data, len);
	g_free(data);
}

/**
 * me_secret_str_free:
 * @str: (nullable): a NUL-terminated secret from g_malloc()
 *
 * Wipes the whole string, then frees it.
 */
void
me_secret_str_free(MeSecretStr *str)
{
	if (str == NULL)
		return;
	me_secure_free(str, strlen(str));
}

typedef struct {
	gpointer data;
	gsize len;
} SecureBlock;

static void
secure_block_free(gpointer user_data)
{
	SecureBlock *block = user_data;
	me_secure_free(block->data, block->len);
	g_free(block);
}

/**
 * me_secure_bytes_new_take:
 * @data: (transfer full): memory from g_malloc() holding a secret
 * @len: its size
 *
 * Returns: (transfer full): a #GBytes that wipes @data when its last reference goes
 */
GBytes *
me_secure_bytes_new_take(gpointer data, gsize len)
{
	SecureBlock *block = g_new0(SecureBlock, 1);
	block->data = data;
	block->len = len;
	return g_bytes_new_with_free_func(data, len, secure_block_free, block);
}

/**
 * me_secure_bytes_new:
 * @data: a secret
 * @len: its size
 *
 * Returns: (transfer full): a #GBytes holding a copy of @data that is wiped when freed
 */
GBytes *
me_secure_bytes_new(gconstpointer data, gsize len)
{
	return me_secure_bytes_new_take(g_memdup2(data, len), len);
}

/**
 * me_memeq_ct:
 * @a: first buffer
 * @a_len: its size
 * @b: second buffer
 * @b_len: its size
 *
 * Compares two secrets (tokens, digests, MACs) in time that depends only on the length.
 *
 * Returns: %TRUE if the buffers are equal
 */
gboolean
me_memeq_ct(gconstpointer a, gsize a_len, gconstpointer b, gsize b_len)
{
	if (a_len != b_len)
		return FALSE;
	if (a_len == 0)
		return TRUE;
	return CRYPTO_memcmp(a, b, a_len) == 0;
}

/**
 * me_streq_ct:
 * @a: (nullable): a string
 * @b: (nullable): a string
 *
 * Returns: %TRUE if both are non-%NULL and equal, compared with me_memeq_ct()
 */
gboolean
me_streq_ct(const gchar *a, const gchar *b)
{
	if (a == NULL || b == NULL)
		return FALSE;
	return me_memeq_ct(a, strlen(a), b, strlen(b));
}
