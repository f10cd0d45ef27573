/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * challenge-bench: how fast RFC 8823 challenge recognition turns mail away or accepts
 * it, and how much memory that takes.  It generates its own corpus: ordinary mail with
 * and without large attachments, forged challenges, and genuine DKIM-signed challenges
 * whose key dnsmasq serves on loopback; then it prints messages per second on one core
 * for the header-only rejection, the full rejection of forgeries and the full
 * DKIM-verified acceptance, and the peak RSS of classifying a 100 MiB message from disk.
 *
 *   challenge-bench [--seconds S] [--big-mib N]
 */

#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "autocleanups.h"
#include "challenge.h"
#include "dkim.h"
#include "dnsmasq.h"
#include "dns.h"
#include "keys.h"
#include "smime.h"
#include "test-util.h"
#include "verifier.h"

#define FROM	"acme-challenge@ca.example"
#define MAILBOX "alice@example.org"
#define TOKEN2	"DGyRejmCefe7v4NfDGDKfA"

static GBytes *
ordinary_mail(guint i, gsize attachment)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
			       "From: Bob <bob%u@example.net>\r\nTo: " MAILBOX "\r\nSubject: Lunch on day %u\r\n"
			       "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%u@example.net>\r\n"
			       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
			       "--b\r\nContent-Type: text/plain\r\n\r\nSee you at noon.\r\n--b\r\n"
			       "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			       i, i, i);
	while (attachment > 0) {
		gsize n = MIN(attachment, 76);
		for (gsize k = 0; k < n; k++)
			g_string_append_c(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"[(i + k) % 32]);
		g_string_append(s, "\r\n");
		attachment -= n;
	}
	g_string_append(s, "--b--\r\n");
	return g_string_free_to_bytes(s);
}

static GBytes *
challenge_mail(const gchar *from, const gchar *date)
{
	g_autofree gchar *text = g_strdup_printf(
	    "From: %s\r\nTo: " MAILBOX "\r\nSubject: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME\r\n"
	    "Date: %s\r\nMessage-ID: <c%u@ca.example>\r\nAuto-Submitted: auto-generated; type=acme\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nThis is an ACME challenge.\r\n",
	    from, date, g_random_int());
	return g_bytes_new(text, strlen(text));
}

typedef gboolean (*ClassifyFunc)(GBytes *msg, gpointer user_data);

/* messages per second over the corpus, on this one thread, for about @seconds */
static gdouble
rate(GPtrArray *corpus, ClassifyFunc func, gpointer user_data, gdouble seconds, guint *accepted)
{
	gint64 start = g_get_monotonic_time();
	gint64 end = start + (gint64)(seconds * G_USEC_PER_SEC);
	guint64 n = 0;

	*accepted = 0;
	while (g_get_monotonic_time() < end) {
		for (guint i = 0; i < corpus->len; i++, n++) {
			if (func(g_ptr_array_index(corpus, i), user_data))
				(*accepted)++;
		}
	}
	return (gdouble)n / ((gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
}

static gboolean
classify_quick(GBytes *msg, gpointer user_data)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(msg, &len);
	return me_challenge_quick_check(data, len);
}

typedef struct {
	MePendingChallenge pending;
	MeChallengeOptions options;
} Full;

static gboolean
classify_full(GBytes *msg, gpointer user_data)
{
	Full *full = user_data;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(msg, &len);
	g_autoptr(MeChallengeVerdict) verdict = NULL;

	if (!me_challenge_quick_check(data, len))
		return FALSE;
	verdict = me_challenge_inspect(data, len, &full->pending, 1, &full->options);
	return verdict->answerable;
}

/* as challenge.inspect checks each mail: a verifier of its own, with the CA profile's
 * S/MIME trust file (smime-trust=system: the system's bundle), then the full checks */
typedef struct {
	Full *full;
	const gchar *nameserver;
	gchar *trust_file;
} Fresh;

static gboolean
classify_fresh(GBytes *msg, gpointer user_data)
{
	Fresh *fresh = user_data;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(msg, &len);
	g_autoptr(MeVerifier) verifier = me_verifier_new(fresh->nameserver, NULL);
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	MeChallengeOptions options = fresh->full->options;

	g_assert_nonnull(verifier);
	if (!me_verifier_add_trust_file(verifier, fresh->trust_file, NULL))
		return FALSE;
	me_verifier_apply(verifier, &options);
	verdict = me_challenge_inspect(data, len, &fresh->full->pending, 1, &options);
	return verdict->answerable;
}

static glong
vm_hwm_kib(void)
{
	g_autofree gchar *status = NULL;
	const gchar *line;
	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return -1;
	line = strstr(status, "VmHWM:");
	return line != NULL ? strtol(line + 6, NULL, 10) : -1;
}

/* a message of @mib MiB on disk, classified through a file stream */
static void
big_message(guint mib)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "big.eml", NULL);
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileOutputStream) out = g_file_replace(file, NULL, FALSE, 0, NULL, NULL);
	g_autoptr(GFileInputStream) in = NULL;
	g_autoptr(GBytes) head = NULL;
	g_autoptr(GBytes) chunk = ordinary_mail(1, 1024 * 1024);
	glong before;
	gint64 start;
	gboolean maybe;

	/* written one MiB at a time, so building it does not raise our own peak */
	for (guint i = 0; i < mib; i++)
		g_output_stream_write_bytes(G_OUTPUT_STREAM(out), chunk, NULL, NULL);
	g_output_stream_close(G_OUTPUT_STREAM(out), NULL, NULL);
	before = vm_hwm_kib();
	start = g_get_monotonic_time();
	in = g_file_read(file, NULL, NULL);
	maybe = me_challenge_quick_check_stream(G_INPUT_STREAM(in), &head, NULL, NULL);
	printf("| %u MiB ordinary message from disk | %.3f ms | read %" G_GSIZE_FORMAT " bytes | peak RSS %.1f MiB (%.1f before) | %s |\n",
	       mib, (g_get_monotonic_time() - start) / 1000.0, g_bytes_get_size(head), vm_hwm_kib() / 1024.0,
	       before / 1024.0, maybe ? "passed on" : "rejected");
	me_test_rm_rf(dir);
}

int
main(int argc, char **argv)
{
	gdouble seconds = 2.0;
	gint big_mib = 100;
	GOptionEntry entries[] = {
	    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "time per measurement", "S"},
	    {"big-mib", 0, 0, G_OPTION_ARG_INT, &big_mib, "size of the large message", "N"},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) ordinary = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GPtrArray) forged = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GPtrArray) genuine = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(MeTestDnsmasq) dns = NULL;
	g_autoptr(MeVerifier) verifier = NULL;
	g_autoptr(MeDns) sign_dns = NULL;
	g_autoptr(MeDkim) dkim = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");
	g_autofree gchar *txt = NULL;
	Full full = {0};
	Fresh fresh = {0};
	guint accepted = 0;
	gdouble r;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 2;
	}
	/* first, while nothing else is in memory: the large message must not raise the peak */
	printf("| large message | time | bytes read | memory | verdict |\n|---|---|---|---|---|\n");
	big_message((guint)big_mib);
	printf("\n");
	/* ordinary mail: half small, the rest with 64 KiB to 4 MiB attachments */
	for (guint i = 0; i < 64; i++)
		g_ptr_array_add(ordinary, ordinary_mail(i, i % 2 == 0 ? 0 : (64u * 1024u) << (i % 7)));
	key = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
	txt = me_test_dkim_txt(key);
	dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_txt(dns, "sel._domainkey.ca.example", txt);
	if (!me_test_dnsmasq_start(dns, &error)) {
		fprintf(stderr, "dnsmasq: %s\n", error->message);
		return 1;
	}
	sign_dns = me_dns_new(NULL, NULL);
	dkim = me_dkim_new(sign_dns, &error);
	for (guint i = 0; i < 16; i++) {
		g_autoptr(GBytes) plain = challenge_mail(FROM, date);
		g_ptr_array_add(genuine, me_dkim_sign(dkim, plain, "ca.example", "sel", key, ME_DKIM_POLICY_CHALLENGE, &error));
		/* forgeries: a look-alike sender, and an unsigned copy of the genuine mail */
		g_ptr_array_add(forged, challenge_mail("acme-challenge@ca-example.com", date));
		g_ptr_array_add(forged, g_bytes_ref(plain));
	}
	verifier = me_verifier_new(me_test_dnsmasq_get_nameserver(dns), &error);
	full.pending = (MePendingChallenge){.identifier = MAILBOX, .from = FROM, .token_part2 = TOKEN2,
					    .challenge_url = "https://ca.example/chall/1",
					    .expires = g_date_time_to_unix(now) + 3600,
					    .fetched_at = g_date_time_to_unix(now) - 60};
	me_verifier_apply(verifier, &full.options);

	printf("| corpus | messages/s (one core) | accepted |\n|---|---|---|\n");
	r = rate(ordinary, classify_quick, NULL, seconds, &accepted);
	printf("| ordinary mail, header-only rejection (64 messages, 0-4 MiB attachments) | %.0f | %u |\n", r, accepted);
	r = rate(forged, classify_full, &full, seconds, &accepted);
	printf("| forged challenges, full checks (look-alike From, unsigned) | %.0f | %u |\n", r, accepted);
	r = rate(genuine, classify_full, &full, seconds, &accepted);
	printf("| genuine challenges, full checks + DKIM verified via dnsmasq | %.0f | %u |\n", r, accepted);
	fresh.full = &full;
	fresh.nameserver = me_test_dnsmasq_get_nameserver(dns);
	fresh.trust_file = me_smime_trust_system_file();
	if (g_access(fresh.trust_file, R_OK) == 0) {
		r = rate(genuine, classify_fresh, &fresh, seconds, &accepted);
		printf("| genuine challenges as challenge.inspect checks each: a verifier of its own with the system's "
		       "trust file, full checks + DKIM | %.0f | %u |\n",
		       r, accepted);
	} else {
		printf("| genuine challenges as challenge.inspect checks each | skipped: no system trust file at %s | |\n",
		       fresh.trust_file);
	}
	g_free(fresh.trust_file);
	return 0;
}
