/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeDns"

#include "config.h"

#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The only file that talks to libresolv.  With an explicit nameserver we build the query with
 * res_nmkquery() and send it ourselves, because libresolv cannot be given a port or an IPv6
 * server portably and its timeouts count in whole seconds; with the system resolver we use
 * res_nquery().  Both paths parse the answer with ns_initparse()/ns_parserr().
 */

/* UDP tries share the time budget; a truncated answer is fetched again over TCP */
#define ME_DNS_UDP_TRIES 3
/* the biggest DNS message TCP can carry; we refuse more than this before reading it */
#define ME_DNS_ANSWER_MAX 65535
#define ME_DNS_QUERY_MAX  512
#define ME_DNS_LABEL_MAX  63
/* the longest CNAME chain followed inside one answer */
#define ME_DNS_CNAMES_MAX 8

struct _MeDns {
	GMutex lock; /* guards res: libresolv state is not thread-safe */
	struct __res_state res;
	gboolean res_ready; /* res_nclose() on a state res_ninit() did not fill would close fd 0 */
	gboolean custom;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	guint timeout_ms;
	/* the budget of a whole check (me_dns_set_budget()): 0 is no bound */
	guint max_lookups;
	guint lookups;
	gint64 deadline;
};

static gboolean
parse_port(const gchar *text, guint16 *port, GError **error)
{
	guint64 value = 0;

	if (!g_ascii_string_to_unsigned(text, 10, 1, 65535, &value, NULL)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the configured DNS server has a bad port; %s is what was given */
			    _("The DNS server port “%s” is not a number from 1 to 65535."), text);
		return FALSE;
	}
	*port = (guint16)value;
	return TRUE;
}

static gboolean
set_address(MeDns *dns, const gchar *host, guint16 port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&dns->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dns->addr;

	memset(&dns->addr, 0, sizeof(dns->addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		dns->addr_len = sizeof(*sin);
		return TRUE;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		dns->addr_len = sizeof(*sin6);
		return TRUE;
	}
	return FALSE;
}

/* "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]" or "[::1]:5353" */
static gboolean
parse_nameserver(MeDns *dns, const gchar *text, GError **error)
{
	g_autofree gchar *host = NULL;
	guint16 port = 53;
	const gchar *colon = strrchr(text, ':');

	if (text[0] == '[') {
		const gchar *close = strchr(text, ']');
		if (close != NULL && close[1] == ':' && !parse_port(close + 2, &port, error))
			return FALSE;
		if (close != NULL && (close[1] == ':' || close[1] == '\0'))
			host = g_strndup(text + 1, close - text - 1);
	} else if (colon != NULL && strchr(text, ':') == colon) {
		if (!parse_port(colon + 1, &port, error))
			return FALSE;
		host = g_strndup(text, colon - text);
	} else {
		host = g_strdup(text);
	}
	if (host == NULL || !set_address(dns, host, port)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the configured DNS server is not an IP address; %s is what was given */
			    _("The DNS server “%s” is not an IP address with an optional port."), text);
		return FALSE;
	}
	return TRUE;
}

/**
 * me_dns_new:
 * @nameserver: (nullable): `192.0.2.1`, `192.0.2.1:5353`, `::1`, `[::1]` or `[::1]:5353`
 *   (port 53 when none is given), or %NULL for the servers of `/etc/resolv.conf`
 * @error: (nullable): return location
 *
 * Makes a stub resolver for TXT lookups.  One #MeDns may be used from several threads; its
 * lookups then run one at a time.
 *
 * Returns: (transfer full): the resolver, or %NULL with @error set
 */
MeDns *
me_dns_new(const gchar *nameserver, GError **error)
{
	g_autoptr(MeDns) dns = g_new0(MeDns, 1);

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	g_mutex_init(&dns->lock);
	dns->timeout_ms = ME_DNS_TIMEOUT_MS;
	if (res_ninit(&dns->res) != 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NETWORK,
				    /* TRANSLATORS: the system's DNS resolver could not be set up */
				    _("The DNS resolver could not be initialised."));
		return NULL;
	}
	dns->res_ready = TRUE;
	/* a DKIM key name is always absolute: never append search domains */
	dns->res.options &= ~(RES_DEFNAMES | RES_DNSRCH);
	dns->res.retrans = 1;
	dns->res.retry = 2;
	if (nameserver != NULL) {
		if (!parse_nameserver(dns, nameserver, error))
			return NULL;
		dns->custom = TRUE;
	}
	return g_steal_pointer(&dns);
}

/**
 * me_dns_set_timeout:
 * @dns: a resolver
 * @timeout_ms: how long one lookup may take in all, tries included
 *
 * Changes the time budget of later lookups (the default is %ME_DNS_TIMEOUT_MS).  With the
 * system resolver libresolv counts in seconds, so the bound there is about one second coarser.
 */
void
me_dns_set_timeout(MeDns *dns, guint timeout_ms)
{
	g_return_if_fail(dns != NULL);
	g_mutex_lock(&dns->lock);
	dns->timeout_ms = MAX(timeout_ms, 100);
	dns->res.retrans = MAX(1, (gint)(timeout_ms / 2000));
	g_mutex_unlock(&dns->lock);
}

/**
 * me_dns_set_budget:
 * @dns: a resolver
 * @max_lookups: how many lookups @dns may still make in all, 0 for no bound
 * @deadline: the g_get_monotonic_time() by which every lookup must be done, 0 for none
 *
 * Bounds what one untrusted input can make @dns do: once @max_lookups lookups were made
 * further ones fail with %ME_ERROR_TOO_LARGE without a query, and no lookup waits past
 * @deadline (one that starts after it fails with %ME_ERROR_TIMED_OUT at once).  The count
 * starts again at each call.
 */
void
me_dns_set_budget(MeDns *dns, guint max_lookups, gint64 deadline)
{
	g_return_if_fail(dns != NULL);
	g_mutex_lock(&dns->lock);
	dns->max_lookups = max_lookups;
	dns->lookups = 0;
	dns->deadline = deadline;
	g_mutex_unlock(&dns->lock);
}

/* the budget's share of this lookup: FALSE with @error set when nothing is left */
static gboolean
budget_take(MeDns *dns, guint *timeout_ms, GError **error)
{
	gint64 left_ms;

	*timeout_ms = dns->timeout_ms;
	if (dns->max_lookups > 0 && dns->lookups >= dns->max_lookups) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a mail would make the helper send more DNS queries than allowed; %u is the limit */
			    _("Checking this message would take more than %u DNS lookups; it is not checked further."),
			    dns->max_lookups);
		return FALSE;
	}
	if (dns->deadline > 0) {
		left_ms = (dns->deadline - g_get_monotonic_time()) / 1000;
		if (left_ms <= 0) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_TIMED_OUT,
					    /* TRANSLATORS: the time allowed for checking one mail ran out before a DNS lookup */
					    _("The time for checking this message ran out before its DNS lookups were done; try again later."));
			return FALSE;
		}
		*timeout_ms = (guint)MIN((gint64)dns->timeout_ms, left_ms);
	}
	dns->lookups++;
	return TRUE;
}

/**
 * me_dns_free:
 * @dns: (nullable): a resolver
 */
void
me_dns_free(MeDns *dns)
{
	if (dns == NULL)
		return;
	if (dns->res_ready)
		res_nclose(&dns->res);
	g_mutex_clear(&dns->lock);
	g_free(dns);
}

static gboolean
label_is_valid(const gchar *label, gsize len)
{
	if (len == 0 || len > ME_DNS_LABEL_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		/* letters, digits, hyphen; underscore for `_domainkey` and friends */
		if (!g_ascii_isalnum(label[i]) && label[i] != '-' && label[i] != '_')
			return FALSE;
	}
	return TRUE;
}

/* checked before any query: ASCII labels of 1–63 characters, at most 253 in all */
static gboolean
name_check(const gchar *name, GError **error)
{
	gsize len = name != NULL ? strnlen(name, ME_DNS_NAME_MAX + 2) : 0;
	const gchar *label = name;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > ME_DNS_NAME_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: a DNS name to look up is empty or longer than 253 characters */
				    _("The DNS name is empty or longer than 253 characters."));
		return FALSE;
	}
	for (gsize i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (!label_is_valid(label, name + i - label)) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
					    /* TRANSLATORS: a DNS name to look up has an empty, long or non-ASCII part */
					    _("The DNS name has an empty, overlong or invalid label."));
			return FALSE;
		}
		label = name + i + 1;
	}
	return TRUE;
}

/* waits until @fd is ready for @events or @deadline passes: 1 ready, 0 timed out, -1 error */
static gint
wait_fd(gint fd, gshort events, gint64 deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		gint64 left_ms = (deadline - g_get_monotonic_time() + 999) / 1000;
		gint rc;

		if (left_ms <= 0)
			return 0;
		rc = poll(&pfd, 1, (gint)MIN(left_ms, G_MAXINT));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		return rc > 0 ? 1 : 0;
	}
}

static void
close_fd(gint *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* two DNS names in presentation form, ASCII case and a trailing dot ignored */
static gboolean
names_equal(const gchar *a, const gchar *b)
{
	gsize a_len = strlen(a);
	gsize b_len = strlen(b);

	if (a_len > 0 && a[a_len - 1] == '.')
		a_len--;
	if (b_len > 0 && b[b_len - 1] == '.')
		b_len--;
	return a_len == b_len && g_ascii_strncasecmp(a, b, a_len) == 0;
}

/* the question section is exactly one question: @name, TXT, IN (RFC 1035 §4.1.2) */
static gboolean
question_matches(const guchar *answer, gsize len, const gchar *name)
{
	gchar qname[NS_MAXDNAME];
	const guchar *end = answer + len;
	gint n;

	if (len < NS_HFIXEDSZ || answer[4] != 0 || answer[5] != 1)
		return FALSE;
	n = dn_expand(answer, end, answer + NS_HFIXEDSZ, qname, sizeof(qname));
	if (n < 0 || (gsize)n > len - NS_HFIXEDSZ || len - NS_HFIXEDSZ - (gsize)n < 4)
		return FALSE;
	return names_equal(qname, name) && ns_get16(answer + NS_HFIXEDSZ + n) == ns_t_txt &&
	       ns_get16(answer + NS_HFIXEDSZ + n + 2) == ns_c_in;
}

/* a reply to our query: long enough, the QR bit set, the same ID and the same question; the
 * ID alone is 16 bits an off-path forger may guess */
static gboolean
is_reply_to(const guchar *query, const gchar *name, const guchar *answer, gssize len)
{
	return len >= NS_HFIXEDSZ && (answer[2] & 0x80) != 0 && answer[0] == query[0] && answer[1] == query[1] &&
	       question_matches(answer, (gsize)len, name);
}

/* one UDP try; returns the answer length, 0 when nothing (usable) came back in time */
static gssize
udp_try(MeDns *dns, const guchar *query, gsize qlen, const gchar *name, guchar *answer, gint64 deadline)
{
	gint fd __attribute__((cleanup(close_fd))) = socket(dns->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&dns->addr, dns->addr_len) != 0)
		return 0;
	if (send(fd, query, qlen, 0) != (gssize)qlen)
		return 0;
	while (wait_fd(fd, POLLIN, deadline) > 0) {
		/* without EDNS0 an answer is at most 512 bytes; take whatever a server sends */
		gssize len = recv(fd, answer, ME_DNS_ANSWER_MAX, 0);
		/* ECONNREFUSED: nothing listens there; the try has failed, not the whole lookup */
		if (len < 0 && errno != EINTR)
			return 0;
		if (is_reply_to(query, name, answer, len))
			return len;
		/* a stray or forged datagram, or an answer to another question: keep waiting for ours */
	}
	return 0;
}

static gssize
udp_exchange(MeDns *dns, const guchar *query, gsize qlen, const gchar *name, guchar *answer, GError **error)
{
	gint64 start = g_get_monotonic_time();
	gint64 end = start + (gint64)dns->timeout_ms * 1000;

	for (guint i = 0; i < ME_DNS_UDP_TRIES; i++) {
		gint64 now = g_get_monotonic_time();
		gint64 deadline = now + (end - now) / (ME_DNS_UDP_TRIES - i);
		gssize len;

		if (now >= end)
			break;
		len = udp_try(dns, query, qlen, name, answer, deadline);
		if (len > 0)
			return len;
		/* a refused try returns at once: pace the next one so the tries spread over the budget */
		if (wait_fd(-1, 0, deadline) < 0)
			break;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
		    /* TRANSLATORS: the DNS server did not answer; %u is the time waited in milliseconds */
		    _("The DNS server did not answer within %u ms."), dns->timeout_ms);
	return -1;
}

static gboolean
tcp_io(gint fd, guchar *buf, gsize len, gboolean out, gint64 deadline)
{
	gsize done = 0;

	while (done < len) {
		gssize n;
		if (wait_fd(fd, out ? POLLOUT : POLLIN, deadline) <= 0)
			return FALSE;
		n = out ? send(fd, buf + done, len - done, MSG_NOSIGNAL) : recv(fd, buf + done, len - done, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return FALSE;
		done += (gsize)n;
	}
	return TRUE;
}

static gboolean
tcp_connect(MeDns *dns, gint fd, gint64 deadline)
{
	gint err = 0;
	socklen_t err_len = sizeof(err);

	if (connect(fd, (struct sockaddr *)&dns->addr, dns->addr_len) == 0)
		return TRUE;
	if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) <= 0)
		return FALSE;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) == 0 && err == 0;
}

/* RFC 1035 §4.2.2: the same query over TCP, each message behind a two-byte length */
static gssize
tcp_exchange(MeDns *dns, const guchar *query, gsize qlen, const gchar *name, guchar *answer, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)dns->timeout_ms * 1000;
	gint fd __attribute__((cleanup(close_fd))) =
	    socket(dns->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	guchar frame[2 + ME_DNS_QUERY_MAX];
	guchar prefix[2];
	gsize len;

	frame[0] = (guchar)(qlen >> 8);
	frame[1] = (guchar)(qlen & 0xff);
	memcpy(frame + 2, query, qlen);
	if (fd < 0 || !tcp_connect(dns, fd, deadline) || !tcp_io(fd, frame, qlen + 2, TRUE, deadline) ||
	    !tcp_io(fd, prefix, sizeof(prefix), FALSE, deadline)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_TIMED_OUT,
				    /* TRANSLATORS: a long DNS answer had to be fetched over TCP, which failed */
				    _("The DNS server did not answer over TCP."));
		return -1;
	}
	len = ((gsize)prefix[0] << 8) | prefix[1];
	if (!tcp_io(fd, answer, len, FALSE, deadline) || !is_reply_to(query, name, answer, (gssize)len)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a DNS answer over TCP was cut short or did not match the question */
				    _("The DNS answer over TCP was incomplete or did not match the question."));
		return -1;
	}
	return (gssize)len;
}

static gssize
custom_query(MeDns *dns, const guchar *query, gsize qlen, const gchar *name, guchar *answer, GError **error)
{
	gssize len = udp_exchange(dns, query, qlen, name, answer, error);

	if (len < 0)
		return -1;
	/* TC: the answer did not fit a datagram */
	if ((answer[2] & 0x02) != 0) {
		g_debug("truncated answer over UDP, asking again over TCP");
		return tcp_exchange(dns, query, qlen, name, answer, error);
	}
	return len;
}

static gssize
system_query(MeDns *dns, const gchar *name, guchar *answer, GError **error)
{
	gint len = res_nquery(&dns->res, name, ns_c_in, ns_t_txt, answer, ME_DNS_ANSWER_MAX);

	if (len >= 0)
		return MIN(len, ME_DNS_ANSWER_MAX);
	switch (dns->res.res_h_errno) {
	case HOST_NOT_FOUND:
	case NO_DATA:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: a DNS name has no TXT record; %s is the name */
			    _("There is no TXT record at %s."), name);
		break;
	case TRY_AGAIN:
		g_set_error_literal(error, ME_ERROR, ME_ERROR_TIMED_OUT,
				    /* TRANSLATORS: the system's DNS servers gave no usable answer in time */
				    _("The DNS servers did not answer in time."));
		break;
	default:
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NETWORK,
				    /* TRANSLATORS: the system's DNS servers refused or failed the lookup */
				    _("The DNS servers could not answer the lookup."));
		break;
	}
	return -1;
}

static void
set_malformed_txt(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a DNS TXT record could not be decoded */
			    _("The DNS TXT record is malformed."));
}

/* one TXT RDATA: one or more <length><bytes> character-strings, joined */
static gboolean
txt_rdata_append(GString *text, const guchar *rdata, gsize rdlen, GError **error)
{
	gsize off = 0;

	if (rdlen == 0) {
		set_malformed_txt(error);
		return FALSE;
	}
	while (off < rdlen) {
		gsize n = rdata[off++];
		/* a string that runs past the RDATA, or a NUL that would cut our C string short */
		if (n > rdlen - off || memchr(rdata + off, '\0', n) != NULL) {
			set_malformed_txt(error);
			return FALSE;
		}
		if (n > ME_DNS_TXT_MAX - text->len) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_TOO_LARGE,
					    /* TRANSLATORS: a DNS TXT record is implausibly large */
					    _("The DNS TXT record is too large."));
			return FALSE;
		}
		g_string_append_len(text, (const gchar *)rdata + off, (gssize)n);
		off += n;
	}
	return TRUE;
}

static gboolean
check_rcode(ns_msg *msg, const gchar *name, GError **error)
{
	gint rcode = ns_msg_getflag(*msg, ns_f_rcode);

	if (rcode == ns_r_noerror)
		return TRUE;
	if (rcode == ns_r_nxdomain) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: a DNS name does not exist; %s is the name */
			    _("The DNS name %s does not exist."), name);
		return FALSE;
	}
	g_debug("DNS rcode %d for %s", rcode, name);
	g_set_error(error, ME_ERROR, ME_ERROR_NETWORK,
		    /* TRANSLATORS: the DNS server failed or refused a lookup; %s is the name */
		    _("The DNS server could not answer the lookup of %s."), name);
	return FALSE;
}

/* RFC 6376 §3.6.1: a key record may start with "v=DKIM1", with optional whitespace */
static gboolean
is_dkim_record(const gchar *text)
{
	while (*text == ' ' || *text == '\t')
		text++;
	if (!g_str_has_prefix(text, "v=DKIM1"))
		return FALSE;
	text += strlen("v=DKIM1");
	return *text == '\0' || *text == ';' || *text == ' ' || *text == '\t';
}

static gchar *
pick_record(GPtrArray *records, const gchar *name, GError **error)
{
	if (records->len == 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: a DNS name exists but has no TXT record; %s is the name */
			    _("There is no TXT record at %s."), name);
		return NULL;
	}
	if (records->len == 1)
		return g_strdup(g_ptr_array_index(records, 0));
	for (guint i = 0; i < records->len; i++) {
		if (is_dkim_record(g_ptr_array_index(records, i)))
			return g_strdup(g_ptr_array_index(records, i));
	}
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: a DNS name has several TXT records and none is a DKIM key; %s is the name */
		    _("There are several TXT records at %s and none is a DKIM key."), name);
	return NULL;
}

/* a CNAME whose owner is *owner moves *owner to its target; FALSE when its RDATA is no name */
static gboolean
follow_cname(ns_msg *msg, ns_rr *rr, gchar *owner, gsize size)
{
	gchar target[NS_MAXDNAME];

	if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(*rr), target, sizeof(target)) < 0)
		return FALSE;
	g_strlcpy(owner, target, size);
	return TRUE;
}

/**
 * me_dns_parse_answer:
 * @answer: a DNS answer as the server sent it, to a TXT query for @name
 * @len: its length in bytes
 * @name: the name asked for
 * @error: (nullable): return location
 *
 * The answer half of me_dns_lookup_txt(), without the network: the TXT record of @name (or
 * of where its CNAME chain leads) picked and joined as that function describes, with its
 * errors.  Exported for tests/fuzz/fuzz-dns.c.
 *
 * Returns: (transfer full): the record's text, or %NULL with @error set
 */
gchar *
me_dns_parse_answer(const guchar *answer, gsize len, const gchar *name, GError **error)
{
	g_autoptr(GPtrArray) records = NULL;
	/* the name whose TXT records count: @name, or where its CNAME chain leads */
	gchar owner[NS_MAXDNAME];
	guint cnames = 0;
	ns_msg msg;

	g_return_val_if_fail(answer != NULL || len == 0, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (len > G_MAXINT) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a DNS server sent an answer that could not be decoded */
				    _("The DNS answer is malformed."));
		return NULL;
	}
	records = g_ptr_array_new_with_free_func(g_free);
	if (ns_initparse(answer, (gint)len, &msg) < 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a DNS server sent an answer that could not be decoded */
				    _("The DNS answer is malformed."));
		return NULL;
	}
	if (!check_rcode(&msg, name, error))
		return NULL;
	g_strlcpy(owner, name, sizeof(owner));
	for (guint i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		g_autoptr(GString) text = g_string_new(NULL);
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, (gint)i, &rr) < 0) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: a record in a DNS answer could not be decoded */
					    _("A record in the DNS answer is malformed."));
			return NULL;
		}
		/* records of any other name are ignored, never used: only @name and, along a CNAME
		 * chain that starts there (in the order the answer gives), its targets count */
		if (ns_rr_class(rr) != ns_c_in || !names_equal(ns_rr_name(rr), owner)) {
			g_debug("answer for %s: record of %s ignored", name, ns_rr_name(rr));
			continue;
		}
		if (ns_rr_type(rr) == ns_t_cname && cnames < ME_DNS_CNAMES_MAX) {
			cnames++;
			if (!follow_cname(&msg, &rr, owner, sizeof(owner))) {
				g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
						    /* TRANSLATORS: a record in a DNS answer could not be decoded */
						    _("A record in the DNS answer is malformed."));
				return NULL;
			}
			continue;
		}
		if (ns_rr_type(rr) != ns_t_txt)
			continue;
		if (!txt_rdata_append(text, ns_rr_rdata(rr), ns_rr_rdlen(rr), error))
			return NULL;
		g_ptr_array_add(records, g_string_free(g_steal_pointer(&text), FALSE));
	}
	return pick_record(records, name, error);
}

static gchar *
lookup_locked(MeDns *dns, const gchar *name, GError **error)
{
	g_autofree guchar *answer = g_malloc(ME_DNS_ANSWER_MAX);
	guchar query[ME_DNS_QUERY_MAX];
	gssize len;

	if (dns->custom) {
		gint qlen = res_nmkquery(&dns->res, ns_o_query, name, ns_c_in, ns_t_txt, NULL, 0, NULL, query,
					 sizeof(query));
		if (qlen <= 0) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
					    /* TRANSLATORS: a DNS query could not be built for a name */
					    _("The DNS query could not be built."));
			return NULL;
		}
		len = custom_query(dns, query, (gsize)qlen, name, answer, error);
	} else {
		len = system_query(dns, name, answer, error);
	}
	if (len < 0)
		return NULL;
	return me_dns_parse_answer(answer, (gsize)len, name, error);
}

/**
 * me_dns_lookup_txt:
 * @dns: a resolver
 * @name: an absolute DNS name such as `sel._domainkey.example.org` (ASCII, A-labels)
 * @error: (nullable): return location
 *
 * Looks up the TXT record at @name and joins its character-strings without separators, as
 * RFC 6376 §3.6.2.2 asks for DKIM key records split into 255-byte strings.  When @name has
 * several TXT records the first one in the answer that starts with `v=DKIM1` is returned; when
 * it has exactly one, that one is returned whatever it holds; several with none of them a DKIM
 * key is %ME_ERROR_INVALID_DATA.
 *
 * Errors: %ME_ERROR_INVALID_ARGUMENT for a bad or longer-than-253 name (no query is sent),
 * %ME_ERROR_NOT_FOUND for NXDOMAIN or no TXT record (NODATA), %ME_ERROR_TIMED_OUT when no
 * answer came within the time budget (see me_dns_set_timeout()), %ME_ERROR_INVALID_DATA for a
 * malformed answer, %ME_ERROR_TOO_LARGE for a record over %ME_DNS_TXT_MAX bytes and
 * %ME_ERROR_NETWORK when the server failed or refused the query.  Past the budget of
 * me_dns_set_budget(): %ME_ERROR_TOO_LARGE or %ME_ERROR_TIMED_OUT, without a query.
 *
 * Returns: (transfer full): the record's text, or %NULL with @error set
 */
gchar *
me_dns_lookup_txt(MeDns *dns, const gchar *name, GError **error)
{
	gchar *text;
	guint timeout_ms = 0;
	guint saved_ms;
	gint saved_retrans;

	g_return_val_if_fail(dns != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!name_check(name, error))
		return NULL;
	g_mutex_lock(&dns->lock);
	if (!budget_take(dns, &timeout_ms, error)) {
		g_mutex_unlock(&dns->lock);
		return NULL;
	}
	/* this lookup's share of the budget; the configured timeout comes back after it */
	saved_ms = dns->timeout_ms;
	saved_retrans = dns->res.retrans;
	dns->timeout_ms = MAX(timeout_ms, 1);
	dns->res.retrans = MAX(1, (gint)(dns->timeout_ms / 2000));
	text = lookup_locked(dns, name, error);
	dns->timeout_ms = saved_ms;
	dns->res.retrans = saved_retrans;
	g_mutex_unlock(&dns->lock);
	g_debug("TXT %s: %s", name, text != NULL ? "found" : "failed");
	return text;
}
