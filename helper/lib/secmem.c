/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeSecmem"

#include "config.h"

#include "secmem.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "me-error.h"

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

/* ---- secrets from a descriptor, never through stdio (whose buffer nobody wipes) */

/* one read(2), again after a signal */
static gssize
read_retry(gint fd, gpointer buf, gsize count)
{
	gssize n;

	do
		n = read(fd, buf, count);
	while (n < 0 && errno == EINTR);
	return n;
}

/* fills @buf (@cap bytes) from @fd; a line stops after its first newline, read a byte at a
 * time so that nothing after it leaves the descriptor; returns the length, or -1 with errno */
static gssize
read_into(gint fd, gchar *buf, gsize cap, gboolean line)
{
	gsize len = 0;

	while (len < cap) {
		gssize n = read_retry(fd, buf + len, line ? 1 : cap - len);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (gsize)n;
		if (line && buf[len - 1] == '\n')
			break;
	}
	return (gssize)len;
}

/**
 * me_secret_str_read_fd:
 * @fd: the descriptor to read, e.g. standard input
 * @max: the most bytes the secret may have (its line end not counted)
 * @line: %TRUE for one line (its `\n` or `\r\n` removed, and nothing after it read),
 *   %FALSE for everything up to the end of input
 * @errnum: (out): why it failed: the errno of read(), `EFBIG` for more than @max bytes,
 *   `EINVAL` for a NUL byte, `ENODATA` for no input at all
 *
 * Reads a secret with read(2) into memory that is wiped when freed: no stdio buffer keeps
 * a copy, and every buffer, also on failure, is wiped.
 *
 * Returns: (transfer full) (nullable): the secret, for me_secret_str_free(), or %NULL
 */
MeSecretStr *
me_secret_str_read_fd(gint fd, gsize max, gboolean line, gint *errnum)
{
	/* room for the line end and the byte that tells a secret over @max */
	gsize cap = max + 3;
	gchar *buf = g_malloc0(cap);
	gssize got = read_into(fd, buf, cap - 1, line);
	gsize len;

	*errnum = 0;
	if (got < 0)
		*errnum = errno;
	else if (got == 0)
		*errnum = ENODATA;
	if (*errnum != 0) {
		me_secure_free(buf, cap);
		return NULL;
	}
	len = (gsize)got;
	if (line && len > 0 && buf[len - 1] == '\n')
		len--;
	if (line && len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > max || (line && (gsize)got == cap - 1 && buf[got - 1] != '\n'))
		*errnum = EFBIG;
	else if (memchr(buf, '\0', len) != NULL)
		*errnum = EINVAL;
	if (*errnum != 0) {
		me_secure_free(buf, cap);
		return NULL;
	}
	/* the line end goes; what follows the secret is zero, so me_secret_str_free() wipes all */
	me_secure_wipe(buf + len, cap - len);
	return buf;
}

/* ---- the process */

/**
 * me_secure_harden_process:
 * @error: (nullable): return location
 *
 * Keeps secrets in memory off the disk: no core dump (`RLIMIT_CORE` 0) and not dumpable
 * (`PR_SET_DUMPABLE` 0, which also keeps other processes of the user from reading its
 * memory through /proc or ptrace).  Both binaries call it first thing in main().
 *
 * Returns: %TRUE on success
 */
gboolean
me_secure_harden_process(GError **error)
{
	const struct rlimit none = {0, 0};
	gint errsv;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (setrlimit(RLIMIT_CORE, &none) == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
		return TRUE;
	errsv = errno;
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: at start-up mailenroll turns core dumps off so that no secret reaches the disk, and that failed; %s is the system's reason */
		    _("Core dumps cannot be turned off (%s), so mailenroll does not start; report this to your administrator."),
		    g_strerror(errsv));
	return FALSE;
}
