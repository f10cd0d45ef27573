/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestDns"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "dnsmasq.h"
#include "test-util.h"

/*
 * helper/lib/dns.c, the TXT lookups of DKIM keys, against Debian's dnsmasq on 127.0.0.1
 * (tests/util/dnsmasq.c).  Only the faults dnsmasq cannot produce (a server that never
 * answers, forged datagrams) come from sockets of the test's own.  The nameserver syntax, the
 * TCP fallback, several records at one name and bad names are in test-dkim's /dkim/dns/.
 */

#define ZONE	   "example.org"
#define SIMPLE	   "sel._domainkey." ZONE
#define SPLIT	   "split._domainkey." ZONE
#define HOST	   "host." ZONE
#define BIG	   "big._domainkey." ZONE
#define SIMPLE_TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

/* one dnsmasq for the whole run: starting one costs more than every lookup here */
static MeTestDnsmasq *dnsmasq;

static MeDns *
dns_new(const gchar *nameserver)
{
	g_autoptr(GError) error = NULL;
	MeDns *dns = me_dns_new(nameserver, &error);

	g_assert_no_error(error);
	g_assert_nonnull(dns);
	return dns;
}

static gchar *
lookup_ok(MeDns *dns, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	gchar *text = me_dns_lookup_txt(dns, name, &error);

	g_assert_no_error(error);
	g_assert_nonnull(text);
	return text;
}

/* a refusal of @code, in one sentence that contains @needle */
static void
assert_lookup_fails(MeDns *dns, const gchar *name, gint code, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = me_dns_lookup_txt(dns, name, &error);

	g_assert_null(text);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
	if (needle != NULL && strstr(error->message, needle) == NULL)
		g_error("\"%s\" does not mention \"%s\"", error->message, needle);
}

/* a UDP socket on 127.0.0.1 and a free port, as a server that the test drives itself */
static gint
udp_socket(guint16 *port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	gint fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

/* ---- answers */

static void
test_txt(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));
	g_autofree gchar *text = lookup_ok(dns, SIMPLE);

	g_assert_cmpstr(text, ==, SIMPLE_TXT);
}

/* RFC 6376 §3.6.2.2: the character-strings of one record are joined with nothing between */
static void
test_txt_multi_string(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));
	g_autofree gchar *text = lookup_ok(dns, SPLIT);
	g_autofree gchar *long_part = g_strnfill(255, 'B');
	g_autofree gchar *expected = g_strconcat("v=DKIM1; k=rsa; ", "p=AAAA", long_part, " tail ", NULL);

	g_assert_cmpstr(text, ==, expected);
}

static void
test_nxdomain(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));

	assert_lookup_fails(dns, "missing._domainkey." ZONE, ME_ERROR_NOT_FOUND, "missing._domainkey." ZONE);
}

/* the name exists (an A record) but has no TXT record */
static void
test_no_txt(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));

	assert_lookup_fails(dns, HOST, ME_ERROR_NOT_FOUND, "There is no TXT record at " HOST);
}

/* a name outside every zone it knows: dnsmasq, with no upstream, refuses the query */
static void
test_refused(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));

	assert_lookup_fails(dns, "sel._domainkey.example.net", ME_ERROR_NETWORK, "example.net");
}

/* a record over ME_DNS_TXT_MAX bytes (fetched over TCP, it is too big for UDP) */
static void
test_too_large(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));

	assert_lookup_fails(dns, BIG, ME_ERROR_TOO_LARGE, NULL);
}

/* one resolver, many threads: every lookup gets its own answer */
#define THREADS		 4
#define LOOKUPS_PER_THREAD 25

static gpointer
lookup_thread(gpointer data)
{
	MeDns *dns = data;
	guint good = 0;

	for (guint i = 0; i < LOOKUPS_PER_THREAD; i++) {
		const gchar *name = i % 2 == 0 ? SIMPLE : HOST;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *text = me_dns_lookup_txt(dns, name, &error);
		if (i % 2 == 0 && g_strcmp0(text, SIMPLE_TXT) == 0 && error == NULL)
			good++;
		if (i % 2 == 1 && text == NULL && g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND))
			good++;
	}
	return GUINT_TO_POINTER(good);
}

static void
test_threads(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));
	GThread *threads[THREADS];

	for (guint i = 0; i < THREADS; i++)
		threads[i] = g_thread_new("lookup", lookup_thread, dns);
	for (guint i = 0; i < THREADS; i++)
		g_assert_cmpuint(GPOINTER_TO_UINT(g_thread_join(threads[i])), ==, LOOKUPS_PER_THREAD);
}

/* ---- servers that misbehave */

/* the queries that reached @fd, without waiting */
static guint
count_queries(gint fd)
{
	guchar buf[512];
	guint n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 12)
		n++;
	return n;
}

/* a server that takes the queries and never answers: a timeout within the budget, after
 * every try was sent */
static void
assert_silent_timeout(guint budget_ms)
{
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autofree gchar *budget = g_strdup_printf("%u ms", budget_ms);
	g_autoptr(MeDns) dns = dns_new(server);
	gint64 start;
	gint64 elapsed_ms;

	if (budget_ms != ME_DNS_TIMEOUT_MS)
		me_dns_set_timeout(dns, budget_ms);
	start = g_get_monotonic_time();
	assert_lookup_fails(dns, SIMPLE, ME_ERROR_TIMED_OUT, budget);
	elapsed_ms = (g_get_monotonic_time() - start) / 1000;
	g_test_message("timed out after %" G_GINT64_FORMAT " ms (budget %u ms)", elapsed_ms, budget_ms);
	/* the whole budget was used, and not much more */
	g_assert_cmpint(elapsed_ms, >=, budget_ms - 50);
	g_assert_cmpint(elapsed_ms, <=, budget_ms + 500);
	/* three tries in it */
	g_assert_cmpuint(count_queries(fd), ==, 3);
	close(fd);
}

static void
test_silent_default(void)
{
	assert_silent_timeout(ME_DNS_TIMEOUT_MS);
}

static void
test_silent_short(void)
{
	assert_silent_timeout(300);
}

/* between the resolver and dnsmasq: before relaying the real answer, sends a datagram with
 * another ID, a query (no QR bit) with the right ID, and a runt */
typedef struct {
	gint fd;
	guint16 upstream_port;
	guint forged;
} Forger;

static gpointer
forger_thread(gpointer data)
{
	Forger *fg = data;
	guchar query[512];
	guchar answer[4096];
	struct sockaddr_in client = {0};
	struct sockaddr_in upstream = {.sin_family = AF_INET, .sin_port = htons(fg->upstream_port)};
	socklen_t client_len = sizeof(client);
	gssize qlen = recvfrom(fg->fd, query, sizeof(query), 0, (struct sockaddr *)&client, &client_len);
	gint up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = up, .events = POLLIN};
	guchar forged[512];
	gssize alen;

	if (qlen < 12 || up < 0)
		return NULL;
	/* another ID, the QR bit set */
	memcpy(forged, query, (gsize)qlen);
	forged[1] ^= 0x5a;
	forged[2] |= 0x80;
	sendto(fg->fd, forged, (gsize)qlen, 0, (struct sockaddr *)&client, client_len);
	/* the right ID, but a query, not an answer */
	memcpy(forged, query, (gsize)qlen);
	forged[2] &= 0x7f;
	sendto(fg->fd, forged, (gsize)qlen, 0, (struct sockaddr *)&client, client_len);
	/* shorter than a header */
	sendto(fg->fd, query, 5, 0, (struct sockaddr *)&client, client_len);
	fg->forged = 3;

	upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(up, query, (gsize)qlen, 0, (struct sockaddr *)&upstream, sizeof(upstream));
	if (poll(&pfd, 1, 2000) == 1) {
		alen = recv(up, answer, sizeof(answer), 0);
		if (alen > 0)
			sendto(fg->fd, answer, (gsize)alen, 0, (struct sockaddr *)&client, client_len);
	}
	close(up);
	return NULL;
}

static void
test_forged_datagrams(void)
{
	Forger fg = {.upstream_port = me_test_dnsmasq_get_port(dnsmasq)};
	guint16 port;
	g_autofree gchar *server = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autofree gchar *text = NULL;
	GThread *thread;

	fg.fd = udp_socket(&port);
	server = g_strdup_printf("127.0.0.1:%u", port);
	dns = dns_new(server);
	thread = g_thread_new("forger", forger_thread, &fg);
	text = lookup_ok(dns, SIMPLE);
	g_thread_join(thread);
	g_assert_cmpuint(fg.forged, ==, 3);
	g_assert_cmpstr(text, ==, SIMPLE_TXT);
	/* answered on the first try: the forged datagrams cost no retry */
	g_assert_cmpuint(count_queries(fg.fd), ==, 0);
	close(fg.fd);
}

static void
start_dnsmasq(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *long_part = g_strnfill(255, 'B');
	const gchar *split[] = {"v=DKIM1; k=rsa; ", "p=AAAA", long_part, " tail ", NULL};
	g_autoptr(GString) big = g_string_new("v=DKIM1; k=rsa; p=");

	while (big->len <= ME_DNS_TXT_MAX)
		g_string_append(big, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	dnsmasq = me_test_dnsmasq_new();
	me_test_dnsmasq_add_zone(dnsmasq, ZONE);
	me_test_dnsmasq_add_txt(dnsmasq, SIMPLE, SIMPLE_TXT);
	me_test_dnsmasq_add_txt_strings(dnsmasq, SPLIT, split);
	me_test_dnsmasq_add_host(dnsmasq, HOST, "192.0.2.1");
	me_test_dnsmasq_add_txt(dnsmasq, BIG, big->str);
	me_test_dnsmasq_start(dnsmasq, &error);
	g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	start_dnsmasq();
	g_test_add_func("/dns/txt", test_txt);
	g_test_add_func("/dns/txt-multi-string", test_txt_multi_string);
	g_test_add_func("/dns/nxdomain", test_nxdomain);
	g_test_add_func("/dns/no-txt", test_no_txt);
	g_test_add_func("/dns/refused", test_refused);
	g_test_add_func("/dns/too-large", test_too_large);
	g_test_add_func("/dns/threads", test_threads);
	g_test_add_func("/dns/silent/default", test_silent_default);
	g_test_add_func("/dns/silent/short", test_silent_short);
	g_test_add_func("/dns/forged-datagrams", test_forged_datagrams);
	rc = g_test_run();
	me_test_dnsmasq_free(dnsmasq);
	return rc;
}
