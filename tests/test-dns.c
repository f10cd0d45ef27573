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

/* issue 14 item 6: a budget of lookups, counted where the queries arrive */
static void
test_budget_lookups(void)
{
	g_autoptr(MeDns) dns = dns_new(me_test_dnsmasq_get_nameserver(dnsmasq));
	guint before = me_test_dnsmasq_count_queries(dnsmasq, SIMPLE);

	me_dns_set_budget(dns, 2, 0);
	g_free(lookup_ok(dns, SIMPLE));
	g_free(lookup_ok(dns, SIMPLE));
	assert_lookup_fails(dns, SIMPLE, ME_ERROR_TOO_LARGE, "2");
	g_assert_cmpuint(me_test_dnsmasq_count_queries(dnsmasq, SIMPLE), ==, before + 2);
	/* a new budget counts afresh */
	me_dns_set_budget(dns, 1, 0);
	g_free(lookup_ok(dns, SIMPLE));
	assert_lookup_fails(dns, SIMPLE, ME_ERROR_TOO_LARGE, NULL);
	g_assert_cmpuint(me_test_dnsmasq_count_queries(dnsmasq, SIMPLE), ==, before + 3);
}

/* a deadline: a lookup to a silent server ends there, not after its own timeout, and one
 * that starts after it sends nothing */
static void
test_budget_deadline(void)
{
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autoptr(MeDns) dns = dns_new(server);
	gint64 start = g_get_monotonic_time();
	gint64 elapsed_ms;

	me_dns_set_budget(dns, 0, start + 400 * 1000);
	assert_lookup_fails(dns, SIMPLE, ME_ERROR_TIMED_OUT, NULL);
	elapsed_ms = (g_get_monotonic_time() - start) / 1000;
	g_test_message("the lookup ended after %" G_GINT64_FORMAT " ms (deadline 400 ms, timeout %u ms)", elapsed_ms,
		       (guint)ME_DNS_TIMEOUT_MS);
	g_assert_cmpint(elapsed_ms, <=, 400 + 300);
	g_assert_cmpuint(count_queries(fd), ==, 3);
	assert_lookup_fails(dns, SIMPLE, ME_ERROR_TIMED_OUT, NULL);
	g_assert_cmpuint(count_queries(fd), ==, 0);
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

/* ---- forged answers that carry the right ID */

#define EVIL_TXT "v=DKIM1; k=ed25519; p=EVILEVILEVILEVILEVILEVILEVILEVILEVILEVILEVI="
#define OTHER	 "evil._domainkey." ZONE

static void
put16(GByteArray *msg, guint value)
{
	guint8 b[2] = {(guint8)(value >> 8), (guint8)(value & 0xff)};
	g_byte_array_append(msg, b, 2);
}

/* a name as uncompressed labels */
static void
put_name(GByteArray *msg, const gchar *name)
{
	g_auto(GStrv) labels = g_strsplit(name, ".", -1);

	for (guint i = 0; labels[i] != NULL; i++) {
		guint8 n = (guint8)strlen(labels[i]);
		if (n == 0)
			continue;
		g_byte_array_append(msg, &n, 1);
		g_byte_array_append(msg, (const guint8 *)labels[i], n);
	}
	g_byte_array_append(msg, (const guint8 *)"", 1);
}

/* a response header: @id from the query, QR AA RD RA, NOERROR, the counts */
static GByteArray *
msg_new(const guchar *query, guint qdcount, guint ancount)
{
	GByteArray *msg = g_byte_array_new();

	g_byte_array_append(msg, query, 2);
	put16(msg, 0x8580);
	put16(msg, qdcount);
	put16(msg, ancount);
	put16(msg, 0);
	put16(msg, 0);
	return msg;
}

static void
put_question(GByteArray *msg, const gchar *name, guint type, guint klass)
{
	put_name(msg, name);
	put16(msg, type);
	put16(msg, klass);
}

static void
put_txt(GByteArray *msg, const gchar *owner, const gchar *text)
{
	guint8 n = (guint8)strlen(text);

	put_name(msg, owner);
	put16(msg, 16);
	put16(msg, 1);
	put16(msg, 0);
	put16(msg, 60);
	put16(msg, n + 1u);
	g_byte_array_append(msg, &n, 1);
	g_byte_array_append(msg, (const guint8 *)text, n);
}

static void
put_cname(GByteArray *msg, const gchar *owner, const gchar *target)
{
	g_autoptr(GByteArray) rdata = g_byte_array_new();

	put_name(rdata, target);
	put_name(msg, owner);
	put16(msg, 5);
	put16(msg, 1);
	put16(msg, 0);
	put16(msg, 60);
	put16(msg, rdata->len);
	g_byte_array_append(msg, rdata->data, rdata->len);
}

typedef enum {
	FORGE_WRONG_QUESTIONS, /* right ID, another question; then the genuine answer, or nothing */
	FORGE_OTHER_OWNER,     /* right ID and question, a TXT record of another name before ours */
	FORGE_OTHER_OWNER_ONLY, /* right ID and question, only a TXT record of another name */
	FORGE_CNAME_CHAIN,     /* a CNAME chain to the record, a TXT record of another name first */
} ForgeKind;

typedef struct {
	gint fd;
	guint16 upstream_port; /* 0: never relay the genuine answer */
	ForgeKind kind;
	guint queries;
} Forger2;

/* datagrams that carry the query's ID but answer another question */
static GPtrArray *
wrong_questions(const guchar *query)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	GByteArray *m;

	/* another name, its TXT record */
	m = msg_new(query, 1, 1);
	put_question(m, OTHER, 16, 1);
	put_txt(m, OTHER, EVIL_TXT);
	g_ptr_array_add(out, m);
	/* our name, but type A */
	m = msg_new(query, 1, 1);
	put_question(m, SIMPLE, 1, 1);
	put_txt(m, SIMPLE, EVIL_TXT);
	g_ptr_array_add(out, m);
	/* class CH */
	m = msg_new(query, 1, 1);
	put_question(m, SIMPLE, 16, 3);
	put_txt(m, SIMPLE, EVIL_TXT);
	g_ptr_array_add(out, m);
	/* two questions, ours first */
	m = msg_new(query, 2, 1);
	put_question(m, SIMPLE, 16, 1);
	put_question(m, OTHER, 16, 1);
	put_txt(m, SIMPLE, EVIL_TXT);
	g_ptr_array_add(out, m);
	/* no question at all */
	m = msg_new(query, 0, 1);
	put_txt(m, SIMPLE, EVIL_TXT);
	g_ptr_array_add(out, m);
	return out;
}

static GByteArray *
answer_for(const guchar *query, ForgeKind kind)
{
	GByteArray *m = msg_new(query, 1, kind == FORGE_OTHER_OWNER_ONLY ? 1 : kind == FORGE_CNAME_CHAIN ? 4 : 2);

	put_question(m, "SEL._DomainKey.Example.ORG", 16, 1);
	put_txt(m, OTHER, EVIL_TXT);
	if (kind == FORGE_OTHER_OWNER) {
		put_txt(m, SIMPLE, SIMPLE_TXT);
	} else if (kind == FORGE_CNAME_CHAIN) {
		put_cname(m, SIMPLE, "a.keys.example.net");
		put_cname(m, "A.Keys.Example.NET", "b.keys.example.net");
		put_txt(m, "b.keys.example.net", SIMPLE_TXT);
	}
	return m;
}

static void
relay(Forger2 *fg, const guchar *query, gsize qlen, struct sockaddr_in *client, socklen_t client_len)
{
	struct sockaddr_in upstream = {.sin_family = AF_INET, .sin_port = htons(fg->upstream_port)};
	gint up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = up, .events = POLLIN};
	guchar answer[4096];
	gssize alen;

	upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(up, query, qlen, 0, (struct sockaddr *)&upstream, sizeof(upstream));
	if (poll(&pfd, 1, 2000) == 1) {
		alen = recv(up, answer, sizeof(answer), 0);
		if (alen > 0)
			sendto(fg->fd, answer, (gsize)alen, 0, (struct sockaddr *)client, client_len);
	}
	close(up);
}

/* answers every query that comes within a second of the last one */
static gpointer
forger2_thread(gpointer data)
{
	Forger2 *fg = data;
	struct pollfd pfd = {.fd = fg->fd, .events = POLLIN};

	while (poll(&pfd, 1, 1000) == 1) {
		guchar query[512];
		struct sockaddr_in client = {0};
		socklen_t client_len = sizeof(client);
		gssize qlen = recvfrom(fg->fd, query, sizeof(query), 0, (struct sockaddr *)&client, &client_len);
		g_autoptr(GPtrArray) forged = NULL;

		if (qlen < 12)
			continue;
		fg->queries++;
		if (fg->kind == FORGE_WRONG_QUESTIONS) {
			forged = wrong_questions(query);
		} else {
			forged = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
			g_ptr_array_add(forged, answer_for(query, fg->kind));
		}
		for (guint i = 0; i < forged->len; i++) {
			GByteArray *m = g_ptr_array_index(forged, i);
			sendto(fg->fd, m->data, m->len, 0, (struct sockaddr *)&client, client_len);
		}
		if (fg->upstream_port != 0)
			relay(fg, query, (gsize)qlen, &client, client_len);
	}
	return NULL;
}

/* runs @kind against a lookup of SIMPLE; returns the lookup's text, or NULL with @error set */
static gchar *
forged_lookup(ForgeKind kind, gboolean genuine_follows, guint budget_ms, guint *queries, GError **error)
{
	Forger2 fg = {.kind = kind, .upstream_port = genuine_follows ? me_test_dnsmasq_get_port(dnsmasq) : 0};
	guint16 port;
	g_autofree gchar *server = NULL;
	g_autoptr(MeDns) dns = NULL;
	GThread *thread;
	gchar *text;

	fg.fd = udp_socket(&port);
	server = g_strdup_printf("127.0.0.1:%u", port);
	dns = dns_new(server);
	if (budget_ms != 0)
		me_dns_set_timeout(dns, budget_ms);
	thread = g_thread_new("forger", forger2_thread, &fg);
	text = me_dns_lookup_txt(dns, SIMPLE, error);
	g_thread_join(thread);
	close(fg.fd);
	*queries = fg.queries;
	return text;
}

/* right ID, wrong question (name, type, class, count): ignored, and the genuine answer that
 * follows is taken on the first try */
static void
test_forged_wrong_question(void)
{
	g_autoptr(GError) error = NULL;
	guint queries = 0;
	g_autofree gchar *text = forged_lookup(FORGE_WRONG_QUESTIONS, TRUE, 0, &queries, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, SIMPLE_TXT);
	g_assert_cmpuint(queries, ==, 1);
}

/* with only answers to other questions, the lookup times out as if nothing had come */
static void
test_forged_wrong_question_only(void)
{
	g_autoptr(GError) error = NULL;
	guint queries = 0;
	g_autofree gchar *text = forged_lookup(FORGE_WRONG_QUESTIONS, FALSE, 300, &queries, &error);

	g_assert_null(text);
	g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
	me_test_assert_sentence(error);
	g_assert_cmpuint(queries, ==, 3);
}

/* our question, but a TXT record of another name before ours: that one is not used */
static void
test_forged_other_owner(void)
{
	g_autoptr(GError) error = NULL;
	guint queries = 0;
	g_autofree gchar *text = forged_lookup(FORGE_OTHER_OWNER, FALSE, 0, &queries, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, SIMPLE_TXT);
}

/* our question and only a TXT record of another name: the name has no TXT record */
static void
test_forged_other_owner_only(void)
{
	g_autoptr(GError) error = NULL;
	guint queries = 0;
	g_autofree gchar *text = forged_lookup(FORGE_OTHER_OWNER_ONLY, FALSE, 0, &queries, &error);

	g_assert_null(text);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	me_test_assert_sentence(error);
}

/* a CNAME chain (as for keys a provider hosts) is followed, in any case, from the asked name
 * on; the record of another name in front of it still does not count */
static void
test_cname_chain(void)
{
	g_autoptr(GError) error = NULL;
	guint queries = 0;
	g_autofree gchar *text = forged_lookup(FORGE_CNAME_CHAIN, FALSE, 0, &queries, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, SIMPLE_TXT);
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
	g_test_add_func("/dns/forged/wrong-question", test_forged_wrong_question);
	g_test_add_func("/dns/forged/wrong-question-only", test_forged_wrong_question_only);
	g_test_add_func("/dns/forged/other-owner", test_forged_other_owner);
	g_test_add_func("/dns/forged/other-owner-only", test_forged_other_owner_only);
	g_test_add_func("/dns/cname-chain", test_cname_chain);
	g_test_add_func("/dns/budget/lookups", test_budget_lookups);
	g_test_add_func("/dns/budget/deadline", test_budget_deadline);
	rc = g_test_run();
	me_test_dnsmasq_free(dnsmasq);
	return rc;
}
