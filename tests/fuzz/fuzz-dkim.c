/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzDkim"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dkim.h"
#include "dns.h"
#include "fuzz-mail.h"

/* the input is a DKIM key record (RFC 6376 §3.6.1) on its first line, then a mail with
 * DKIM-Signature fields (bare LF become CR LF).  The mail is verified as a challenge from
 * example.org; every key lookup, over the real resolver code, reaches a nameserver on
 * 127.0.0.1 in this process that answers each TXT query with that record.  So the tag lists
 * of the signatures and of the key both come from the input */

#define FUZZ_DKIM_FROM_DOMAIN "example.org"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the record the nameserver hands out; the lookup and the answer take turns */
static GMutex record_lock;
static gchar *record;

static MeDns *dns;
static MeDkim *dkim;
static GThread *responder;

/* the head of the answer RR: a name pointer to the question, TXT, IN, a TTL of 300 */
static const guint8 rr_head[] = {0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c};

/* where the question of @msg ends: after its name, type and class; 0 if malformed */
static gsize
question_end(const guint8 *msg, gsize len)
{
	gsize off = 12;

	while (off < len && msg[off] != 0) {
		if ((msg[off] & 0xc0) != 0)
			return 0;
		off += (gsize)msg[off] + 1;
	}
	off += 1 + 4;
	return off <= len ? off : 0;
}

/* the answer to @query: its question, and the record as one TXT RR of 255-byte strings */
static gsize
make_answer(const guint8 *query, gsize qlen, guint8 *out, gsize size)
{
	gsize qend = question_end(query, qlen);
	g_autofree gchar *text = NULL;
	gsize tlen;
	gsize off;
	gsize rdlen = 0;

	if (qend == 0 || qend > size)
		return 0;
	g_mutex_lock(&record_lock);
	text = g_strdup(record != NULL ? record : "");
	g_mutex_unlock(&record_lock);
	tlen = strlen(text);
	memcpy(out, query, qend);
	/* QR, AA, RD, RA; one question, one answer */
	out[2] = 0x85;
	out[3] = 0x80;
	out[4] = 0, out[5] = 1, out[6] = 0, out[7] = 1;
	memset(out + 8, 0, 4);
	off = qend;
	for (gsize i = 0; i < tlen || i == 0; i += 255)
		rdlen += 1 + MIN(255, tlen - MIN(i, tlen));
	if (off + sizeof(rr_head) + 2 + rdlen > size)
		return 0;
	memcpy(out + off, rr_head, sizeof(rr_head));
	off += sizeof(rr_head);
	out[off++] = (guint8)(rdlen >> 8);
	out[off++] = (guint8)(rdlen & 0xff);
	for (gsize i = 0; i < tlen || i == 0; i += 255) {
		gsize n = MIN(255, tlen - MIN(i, tlen));
		out[off++] = (guint8)n;
		memcpy(out + off, text + i, n);
		off += n;
	}
	return off;
}

static gpointer
responder_main(gpointer user_data)
{
	gint fd = GPOINTER_TO_INT(user_data);
	guint8 query[512];
	guint8 answer[65535];

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		gssize n = recvfrom(fd, query, sizeof(query), 0, (struct sockaddr *)&peer, &peer_len);
		gsize alen;

		if (n < 12)
			continue;
		alen = make_answer(query, (gsize)n, answer, sizeof(answer));
		if (alen > 0)
			(void)sendto(fd, answer, alen, 0, (struct sockaddr *)&peer, peer_len);
	}
	return NULL;
}

/* the nameserver and the verifier, once for the whole run */
static void
setup(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof(addr);
	g_autofree gchar *nameserver = NULL;
	gint fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	responder = g_thread_new("fuzz-dns", responder_main, GINT_TO_POINTER(fd));
	nameserver = g_strdup_printf("127.0.0.1:%u", ntohs(addr.sin_port));
	dns = me_dns_new(nameserver, NULL);
	g_assert_nonnull(dns);
	me_dns_set_timeout(dns, 1000);
	dkim = me_dkim_new(dns, NULL);
	g_assert_nonnull(dkim);
}

static void
check_signatures(GPtrArray *sigs)
{
	for (guint i = 0; i < sigs->len; i++) {
		MeDkimSignature *sig = g_ptr_array_index(sigs, i);
		g_autofree gchar *why = NULL;

		g_assert_true(sig->verified == (sig->error == NULL));
		(void)me_dkim_check_rfc8823(sig, FUZZ_DKIM_FROM_DOMAIN, ME_DKIM_POLICY_CHALLENGE, &why);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	gsize rlen = nl != NULL ? (gsize)(nl - data) : size;
	gsize mstart = nl != NULL ? rlen + 1 : size;
	g_autoptr(GBytes) message = NULL;
	g_autoptr(GPtrArray) sigs = NULL;
	g_autoptr(GError) error = NULL;

	if (dkim == NULL)
		setup();
	g_mutex_lock(&record_lock);
	g_free(record);
	/* a record is text: it ends at a NUL, and a CR before the line end is not part of it */
	record = g_strndup((const gchar *)data, rlen);
	g_strchomp(record);
	g_mutex_unlock(&record_lock);
	message = fuzz_mail_crlf(data + mstart, size - mstart);
	sigs = me_dkim_verify(dkim, message, FUZZ_DKIM_FROM_DOMAIN, &error);
	g_assert_true((sigs == NULL) == (error != NULL));
	if (sigs != NULL)
		check_signatures(sigs);
	return 0;
}
