/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "autocleanups.h"
#include "dkim.h"
#include "dns.h"
#include "dnsmasq.h"
#include "keys.h"
#include "test-util.h"

/* the keys of the whole run: made once, because RSA key generation is slow under valgrind */
static EVP_PKEY *rsa_key;
static EVP_PKEY *rsa_other_key;
static EVP_PKEY *ed_key;
static gchar *rsa_record;
static gchar *rsa_other_record;
static gchar *ed_record;
/* one dnsmasq for the DKIM tests, serving the key records below */
static MeTestDnsmasq *keys_dns;
static gchar *work_dir;

#define CHALLENGE_HEADERS                                                                                          \
	"from:sender:reply-to:to:cc:subject:date:in-reply-to:references:message-id:auto-submitted:content-type:"     \
	"content-transfer-encoding"
#define REPLY_ONLY_HEADERS                                                                                         \
	"from:sender:reply-to:to:cc:subject:date:in-reply-to:references:message-id:content-type:"                   \
	"content-transfer-encoding"
#define NO_FROM_HEADERS "to:subject:date:message-id:auto-submitted"

/* an RFC 8823 challenge (RFC 8823 figure 1) with folding and odd whitespace, so that relaxed
 * and simple canonicalization really differ */
static const gchar challenge_mail[] = "Auto-Submitted: auto-generated; type=acme\r\n"
				      "Date: Sat, 5 Dec 2020 10:08:55 +0100\r\n"
				      "Message-ID: <A2299BB.FF7788@example.org>\r\n"
				      "From: ACME  Generator <acme-generator@example.org>\r\n"
				      "To: alexey@example.com\r\n"
				      "Subject: ACME:\r\n"
				      " LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=\r\n"
				      "Content-Type:   text/plain\r\n"
				      "MIME-Version: 1.0\r\n"
				      "\r\n"
				      "This is an ACME challenge.  \r\n"
				      "\tIt is not for you to answer by hand.\r\n"
				      "\r\n"
				      "\r\n";

/* ---- helpers */

static gchar *
record_for(EVP_PKEY *key)
{
	g_autofree gchar *p = NULL;
	const gchar *k;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		guchar raw[32];
		gsize len = sizeof(raw);
		g_assert_cmpint(EVP_PKEY_get_raw_public_key(key, raw, &len), ==, 1);
		p = g_base64_encode(raw, len);
		k = "ed25519";
	} else {
		guchar *der = NULL;
		gint len = i2d_PUBKEY(key, &der);
		g_assert_cmpint(len, >, 0);
		p = g_base64_encode(der, (gsize)len);
		OPENSSL_free(der);
		k = "rsa";
	}
	return g_strdup_printf("v=DKIM1; k=%s; p=%s", k, p);
}

static gchar *
write_key_pem(EVP_PKEY *key, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) pem = me_key_to_pem(key, &error);

	g_assert_no_error(error);
	return me_test_write_tmp(work_dir, name, pem);
}

static GBytes *
mail(const gchar *text)
{
	return g_bytes_new(text, strlen(text));
}

static gchar *
script(void)
{
	return g_test_build_filename(G_TEST_DIST, "dkim-crosscheck.py", NULL);
}

/* dkimpy signs @text; %NULL (and the test skipped) if this python has no dkimpy */
static GBytes *
dkimpy_sign(const gchar *text, EVP_PKEY *key, const gchar *selector, const gchar *algorithm, const gchar *canon,
	    const gchar *headers, const gchar *extra)
{
	g_autofree gchar *msg_path = me_test_write_tmp(work_dir, "unsigned.eml", text);
	g_autofree gchar *key_path = write_key_pem(key, "key.pem");
	g_autofree gchar *path = script();
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;
	const gchar *argv[] = {me_test_python(), path, "--sign", key_path, "--domain", "example.org",
			       "--selector", selector, "--algorithm", algorithm, "--canon", canon,
			       "--headers", headers, msg_path, extra, NULL};

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	if (status == 77) {
		g_test_skip("dkimpy is not available to /usr/bin/python3");
		return NULL;
	}
	if (status != 0)
		g_test_message("dkimpy sign: %s", err);
	g_assert_cmpint(status, ==, 0);
	g_assert_true(g_str_has_prefix(out, "DKIM-Signature: "));
	return g_bytes_new(out, strlen(out));
}

/* dkimpy's verdict on the top signature of @signed_mail, given the key record */
static gchar *
dkimpy_verify(GBytes *signed_mail, const gchar *record)
{
	g_autofree gchar *text = g_strndup(g_bytes_get_data(signed_mail, NULL), g_bytes_get_size(signed_mail));
	g_autofree gchar *msg_path = me_test_write_tmp(work_dir, "signed.eml", text);
	g_autofree gchar *rec_path = me_test_write_tmp(work_dir, "record.txt", record);
	g_autofree gchar *path = script();
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;
	const gchar *argv[] = {me_test_python(), path, msg_path, rec_path, NULL};

	g_assert_true(me_test_spawn_sync(argv, NULL, &out, &err, &status));
	if (status == 77)
		return g_strdup("skip");
	g_test_message("dkimpy verify: %s%s", out, err);
	return g_strdup(g_strstrip(out));
}

static MeDkim *
dkim_for_keys(MeDns **dns_out)
{
	g_autoptr(GError) error = NULL;
	MeDkim *dkim;

	*dns_out = me_dns_new(me_test_dnsmasq_get_nameserver(keys_dns), &error);
	g_assert_no_error(error);
	dkim = me_dkim_new(*dns_out, &error);
	g_assert_no_error(error);
	return dkim;
}

static GPtrArray *
verify(GBytes *signed_mail)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);
	GPtrArray *sigs = me_dkim_verify(dkim, signed_mail, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(sigs);
	for (guint i = 0; i < sigs->len; i++) {
		MeDkimSignature *sig = g_ptr_array_index(sigs, i);
		g_test_message("signature %u: d=%s s=%s a=%s verified=%d error=%s", i, sig->domain, sig->selector,
			       sig->algorithm, sig->verified, sig->error);
	}
	return sigs;
}

static MeDkimSignature *
only_signature(GPtrArray *sigs)
{
	g_assert_cmpuint(sigs->len, ==, 1);
	return g_ptr_array_index(sigs, 0);
}

static void
assert_failed_with_sentence(const MeDkimSignature *sig)
{
	g_autoptr(GError) as_error = NULL;

	g_assert_false(sig->verified);
	g_assert_nonnull(sig->error);
	as_error = g_error_new_literal(ME_ERROR, ME_ERROR_FAILED, sig->error);
	me_test_assert_sentence(as_error);
	g_assert_false(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, NULL));
}

/* a copy of @signed_mail with @from replaced by @to once */
static GBytes *
tamper(GBytes *signed_mail, const gchar *from, const gchar *to)
{
	g_autofree gchar *text = g_strndup(g_bytes_get_data(signed_mail, NULL), g_bytes_get_size(signed_mail));
	gchar *at = strstr(text, from);
	g_autoptr(GString) out = g_string_new(NULL);

	g_assert_nonnull(at);
	g_string_append_len(out, text, at - text);
	g_string_append(out, to);
	g_string_append(out, at + strlen(from));
	return g_bytes_new(out->str, out->len);
}

static gboolean
skip_without_ed25519(void)
{
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);

	if (me_dkim_has_ed25519(dkim))
		return FALSE;
	g_test_skip("libopendkim was built without Ed25519");
	return TRUE;
}

/* ---- DNS */

static MeTestDnsmasq *
start_dnsmasq(MeTestDnsmasq *dnsmasq)
{
	g_autoptr(GError) error = NULL;

	me_test_dnsmasq_start(dnsmasq, &error);
	g_assert_no_error(error);
	return dnsmasq;
}

static MeDns *
dns_for(MeTestDnsmasq *dnsmasq)
{
	g_autoptr(GError) error = NULL;
	MeDns *dns = me_dns_new(me_test_dnsmasq_get_nameserver(dnsmasq), &error);

	g_assert_no_error(error);
	return dns;
}

static void
test_dns_nameserver(void)
{
	const gchar *good[] = {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:53", "[2001:db8::1]:5353"};
	const gchar *bad[] = {"", "localhost", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1",
			      "[::1]:", "1.2.3.4.5", "::1:53:x"};

	/* the system resolver: made from /etc/resolv.conf, never asked anything here */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(MeDns) dns = me_dns_new(NULL, &error);
		g_autofree gchar *text = NULL;
		g_assert_no_error(error);
		text = me_dns_lookup_txt(dns, "bad name", &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_null(text);
	}
	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeDns) dns = me_dns_new(good[i], &error);
		g_assert_no_error(error);
		g_assert_nonnull(dns);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeDns) dns = me_dns_new(bad[i], &error);
		g_test_message("nameserver \"%s\"", bad[i]);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_null(dns);
		me_test_assert_sentence(error);
	}
}

static void
test_dns_txt_split(void)
{
	g_autoptr(MeTestDnsmasq) dnsmasq = me_test_dnsmasq_new();
	const gchar *strings[] = {"v=DKIM1; k=rsa; ", "p=AAAA", "BBBB", "CCCC", NULL};
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	me_test_dnsmasq_add_zone(dnsmasq, "example.org");
	me_test_dnsmasq_add_txt_strings(dnsmasq, "split._domainkey.example.org", strings);
	dns = dns_for(start_dnsmasq(dnsmasq));
	text = me_dns_lookup_txt(dns, "split._domainkey.example.org", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, "v=DKIM1; k=rsa; p=AAAABBBBCCCC");
	/* a trailing dot names the same absolute name; case does not matter in DNS */
	g_clear_pointer(&text, g_free);
	text = me_dns_lookup_txt(dns, "SPLIT._domainkey.Example.ORG.", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, "v=DKIM1; k=rsa; p=AAAABBBBCCCC");
}

/* a record too big for a 512-byte UDP answer comes back truncated and is fetched over TCP */
static void
test_dns_txt_tcp(void)
{
	g_autoptr(MeTestDnsmasq) dnsmasq = me_test_dnsmasq_new();
	g_autoptr(GString) big = g_string_new("v=DKIM1; k=rsa; p=");
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	for (guint i = 0; big->len < 1500; i++)
		g_string_append_c(big, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26]);
	me_test_dnsmasq_add_txt(dnsmasq, "big._domainkey.example.org", big->str);
	dns = dns_for(start_dnsmasq(dnsmasq));
	text = me_dns_lookup_txt(dns, "big._domainkey.example.org", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, big->str);
}

static void
test_dns_several_records(void)
{
	g_autoptr(MeTestDnsmasq) dnsmasq = me_test_dnsmasq_new();
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *none = NULL;

	me_test_dnsmasq_add_txt(dnsmasq, "mixed.example.org", "google-site-verification=abc");
	me_test_dnsmasq_add_txt(dnsmasq, "mixed.example.org", "v=DKIM1; k=ed25519; p=KEY");
	me_test_dnsmasq_add_txt(dnsmasq, "junk.example.org", "one");
	me_test_dnsmasq_add_txt(dnsmasq, "junk.example.org", "two");
	dns = dns_for(start_dnsmasq(dnsmasq));
	text = me_dns_lookup_txt(dns, "mixed.example.org", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(text, ==, "v=DKIM1; k=ed25519; p=KEY");
	none = me_dns_lookup_txt(dns, "junk.example.org", &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_null(none);
	me_test_assert_sentence(error);
}

static void
test_dns_not_found(void)
{
	g_autoptr(MeTestDnsmasq) dnsmasq = me_test_dnsmasq_new();
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	me_test_dnsmasq_add_zone(dnsmasq, "example.org");
	me_test_dnsmasq_add_txt(dnsmasq, "there._domainkey.example.org", "v=DKIM1; p=X");
	me_test_dnsmasq_add_host(dnsmasq, "host.example.org", "192.0.2.1");
	dns = dns_for(start_dnsmasq(dnsmasq));
	/* NXDOMAIN */
	text = me_dns_lookup_txt(dns, "missing._domainkey.example.org", &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_assert_null(text);
	me_test_assert_sentence(error);
	g_clear_error(&error);
	/* NODATA: the name exists, with an A record only */
	text = me_dns_lookup_txt(dns, "host.example.org", &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_assert_null(text);
}

static gint
udp_socket(guint16 *port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	gint fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

static void
assert_timed_out(MeDns *dns, guint bound_ms)
{
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	g_autofree gchar *text = me_dns_lookup_txt(dns, "sel._domainkey.example.org", &error);
	gint64 elapsed_ms = (g_get_monotonic_time() - start) / 1000;

	g_test_message("timed out after %" G_GINT64_FORMAT " ms (bound %u ms)", elapsed_ms, bound_ms);
	g_assert_error(error, ME_ERROR, ME_ERROR_TIMED_OUT);
	g_assert_null(text);
	me_test_assert_sentence(error);
	g_assert_cmpint(elapsed_ms, <=, bound_ms + 400);
}

/* nothing listens: every try is refused, and the lookup still ends within the bound */
static void
test_dns_timeout_refused(void)
{
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = NULL;

	close(fd); /* the port is now closed */
	dns = me_dns_new(server, &error);
	g_assert_no_error(error);
	assert_timed_out(dns, ME_DNS_TIMEOUT_MS);
}

/* a server that reads the query and never answers */
static void
test_dns_timeout_silent(void)
{
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = me_dns_new(server, &error);
	guchar buf[512];
	gint64 start = g_get_monotonic_time();

	g_assert_no_error(error);
	me_dns_set_timeout(dns, 600);
	assert_timed_out(dns, 600);
	g_assert_cmpint((g_get_monotonic_time() - start) / 1000, >=, 550);
	/* it was asked (three tries) */
	g_assert_cmpint(recv(fd, buf, sizeof(buf), 0), >, 12);
	close(fd);
}

static void
test_dns_bad_names(void)
{
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = me_dns_new(server, &error);
	g_autoptr(GString) long_name = g_string_new(NULL);
	g_autofree gchar *long_label = g_strnfill(64, 'a');
	g_autofree gchar *label_name = g_strdup_printf("%s.example.org", long_label);
	const gchar *bad[] = {long_name->str, label_name, "", "a..b", ".", "sel ector.example.org",
			      "s\xc3\xa9l.example.org", "a;b.example.org", "a\\.b.example.org"};
	guchar buf[512];

	g_assert_no_error(error);
	/* 254 characters: 50 labels "abcd" and a final "abc" */
	while (long_name->len < 250)
		g_string_append(long_name, "abcd.");
	g_string_append(long_name, "abc");
	g_assert_cmpuint(long_name->len, ==, 253);
	g_string_prepend_c(long_name, 'x');
	bad[0] = long_name->str;
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		gint64 start = g_get_monotonic_time();
		g_autofree gchar *text = me_dns_lookup_txt(dns, bad[i], &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_null(text);
		me_test_assert_sentence(error);
		g_assert_cmpint(g_get_monotonic_time() - start, <, 100 * 1000);
		g_clear_error(&error);
	}
	/* no query was sent for any of them */
	g_assert_cmpint(recv(fd, buf, sizeof(buf), 0), ==, -1);
	close(fd);
}

/* ---- DKIM: signatures made by dkimpy, checked by us */

static void
check_dkimpy_signature(EVP_PKEY *key, const gchar *selector, const gchar *algorithm, const gchar *canon)
{
	g_autoptr(GBytes) signed_mail =
	    dkimpy_sign(challenge_mail, key, selector, algorithm, canon, CHALLENGE_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	g_autofree gchar *why = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	g_assert_null(sig->error);
	g_assert_true(sig->verified);
	g_assert_cmpstr(sig->domain, ==, "example.org");
	g_assert_cmpstr(sig->selector, ==, selector);
	g_assert_cmpstr(sig->algorithm, ==, algorithm);
	g_assert_cmpuint(g_strv_length(sig->signed_headers), ==, 13);
	g_assert_cmpstr(sig->signed_headers[0], ==, "from");
	g_assert_cmpstr(sig->signed_headers[12], ==, "content-transfer-encoding");
	g_assert_cmpint(sig->expires, ==, 0);
	g_assert_cmpint(sig->body_length, ==, -1);
	g_assert_true(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, &why));
	g_assert_null(why);
	g_assert_true(me_dkim_check_rfc8823(sig, "EXAMPLE.org", ME_DKIM_POLICY_REPLY, &why));
}

static void
test_verify_dkimpy_rsa_relaxed(void)
{
	check_dkimpy_signature(rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed");
}

static void
test_verify_dkimpy_rsa_simple(void)
{
	check_dkimpy_signature(rsa_key, "rsa", "rsa-sha256", "simple/simple");
}

static void
test_verify_dkimpy_ed25519_relaxed(void)
{
	if (!skip_without_ed25519())
		check_dkimpy_signature(ed_key, "ed", "ed25519-sha256", "relaxed/relaxed");
}

static void
test_verify_dkimpy_ed25519_simple(void)
{
	if (!skip_without_ed25519())
		check_dkimpy_signature(ed_key, "ed", "ed25519-sha256", "simple/relaxed");
}

/* a simple-canonicalization signature breaks when whitespace changes; relaxed does not */
static void
test_verify_canonicalization(void)
{
	g_autoptr(GBytes) simple = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "simple/simple",
					       CHALLENGE_HEADERS, NULL);
	g_autoptr(GBytes) relaxed = NULL;
	g_autoptr(GBytes) simple_moved = NULL;
	g_autoptr(GBytes) relaxed_moved = NULL;
	g_autoptr(GPtrArray) sigs_simple = NULL;
	g_autoptr(GPtrArray) sigs_relaxed = NULL;

	if (simple == NULL)
		return;
	relaxed = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed", CHALLENGE_HEADERS, NULL);
	simple_moved = tamper(simple, "Content-Type:   text/plain", "Content-Type: text/plain");
	relaxed_moved = tamper(relaxed, "Content-Type:   text/plain", "Content-Type: text/plain");
	sigs_simple = verify(simple_moved);
	sigs_relaxed = verify(relaxed_moved);
	assert_failed_with_sentence(only_signature(sigs_simple));
	g_assert_true(only_signature(sigs_relaxed)->verified);
}

/* l= is reported; content appended after the signed length does not break the signature */
static void
test_verify_body_length(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, "--length");
	g_autoptr(GBytes) appended = NULL;
	g_autoptr(GPtrArray) sigs = NULL;
	g_autoptr(GPtrArray) sigs_appended = NULL;
	g_autoptr(GString) text = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	g_assert_true(sig->verified);
	g_assert_cmpint(sig->body_length, >, 0);
	text = g_string_new_len(g_bytes_get_data(signed_mail, NULL), (gssize)g_bytes_get_size(signed_mail));
	g_string_append(text, "Appended by someone else.\r\n");
	appended = g_bytes_new(text->str, text->len);
	sigs_appended = verify(appended);
	g_assert_true(only_signature(sigs_appended)->verified);
}

static void
test_verify_no_signature(void)
{
	g_autoptr(GBytes) plain = mail(challenge_mail);
	g_autoptr(GPtrArray) sigs = verify(plain);

	g_assert_cmpuint(sigs->len, ==, 0);
}

static void
test_verify_bare_lf(void)
{
	g_autoptr(GBytes) lf = mail("From: a@example.org\nTo: b@example.com\n\nbody\n");
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) sigs = me_dkim_verify(dkim, lf, NULL, &error);

	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	g_assert_null(sigs);
	me_test_assert_sentence(error);
}

/* ---- DKIM: negative cases */

static void
check_tampered(const gchar *from, const gchar *to, const gchar *needle)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, NULL);
	g_autoptr(GBytes) changed = NULL;
	g_autoptr(GPtrArray) sigs = NULL;

	if (signed_mail == NULL)
		return;
	changed = tamper(signed_mail, from, to);
	sigs = verify(changed);
	assert_failed_with_sentence(only_signature(sigs));
	g_assert_nonnull(strstr(only_signature(sigs)->error, needle));
}

static void
test_negative_body(void)
{
	check_tampered("It is not for you", "It is for you", "body");
}

static void
test_negative_header(void)
{
	check_tampered("To: alexey@example.com", "To: mallory@example.com", "header fields");
}

static void
check_selector_fails(EVP_PKEY *key, const gchar *selector, const gchar *needle)
{
	g_autoptr(GBytes) signed_mail =
	    dkimpy_sign(challenge_mail, key, selector, "rsa-sha256", "relaxed/relaxed", CHALLENGE_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	assert_failed_with_sentence(sig);
	g_assert_false(sig->temporary);
	if (needle != NULL)
		g_assert_nonnull(strstr(sig->error, needle));
}

static void
test_negative_key_missing(void)
{
	check_selector_fails(rsa_key, "missing", "missing._domainkey.example.org");
}

static void
test_negative_key_revoked(void)
{
	check_selector_fails(rsa_key, "revoked", "revoked");
}

static void
test_negative_wrong_key(void)
{
	check_selector_fails(rsa_key, "wrong", NULL);
}

/* libopendkim takes at most 1024 bytes of key record; a bigger one is refused, not cut */
static void
test_negative_key_too_large(void)
{
	check_selector_fails(rsa_key, "huge", "too large");
}

static void
test_negative_expired(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, "--expired");
	g_autoptr(GPtrArray) sigs = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	assert_failed_with_sentence(sig);
	g_assert_cmpint(sig->expires, >, 0);
	g_assert_cmpint(sig->expires, <, g_get_real_time() / G_USEC_PER_SEC);
	g_assert_nonnull(strstr(sig->error, "expired"));
}

/* a key lookup that gets no answer: reported as such, and the signature does not count */
static void
test_negative_dns_timeout(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, NULL);
	guint16 port;
	gint fd = udp_socket(&port);
	g_autofree gchar *server = g_strdup_printf("127.0.0.1:%u", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeDns) dns = me_dns_new(server, &error);
	g_autoptr(MeDkim) dkim = NULL;
	g_autoptr(GPtrArray) sigs = NULL;
	MeDkimSignature *sig;

	g_assert_no_error(error);
	me_dns_set_timeout(dns, 300);
	dkim = me_dkim_new(dns, &error);
	g_assert_no_error(error);
	if (signed_mail != NULL) {
		sigs = me_dkim_verify(dkim, signed_mail, NULL, &error);
		g_assert_no_error(error);
		sig = only_signature(sigs);
		assert_failed_with_sentence(sig);
		g_assert_nonnull(strstr(sig->error, "could not be looked up"));
		g_assert_true(sig->temporary);
	}
	close(fd);
}

/* RFC 8301: rsa-sha1 verifies cryptographically but must not count */
static void
test_negative_rsa_sha1(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha1", "relaxed/relaxed",
						    CHALLENGE_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	g_assert_cmpstr(sig->algorithm, ==, "rsa-sha1");
	assert_failed_with_sentence(sig);
}

/* a DKIM-Signature that is not even a tag list is reported, not dropped */
static void
test_negative_malformed(void)
{
	g_autofree gchar *text = g_strconcat("DKIM-Signature: this is not a tag list\r\n", challenge_mail, NULL);
	g_autoptr(GBytes) broken = mail(text);
	g_autoptr(GPtrArray) sigs = verify(broken);

	assert_failed_with_sentence(only_signature(sigs));
}

/* d=example.org on mail From: a subdomain: verifies, but is not RFC 8823's exact match */
static void
test_policy_parent_domain(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	g_autofree gchar *why = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	g_assert_true(sig->verified);
	g_assert_false(me_dkim_check_rfc8823(sig, "mail.example.org", ME_DKIM_POLICY_CHALLENGE, &why));
	g_assert_nonnull(why);
	g_test_message("why: %s", why);
	g_assert_nonnull(strstr(why, "mail.example.org"));
	g_clear_pointer(&why, g_free);
	g_assert_false(me_dkim_check_rfc8823(sig, "org", ME_DKIM_POLICY_REPLY, &why));
	g_assert_false(me_dkim_check_rfc8823(sig, "ample.org", ME_DKIM_POLICY_REPLY, NULL));
}

static void
test_policy_no_auto_submitted(void)
{
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    REPLY_ONLY_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	g_autofree gchar *why = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	g_assert_true(sig->verified);
	g_assert_false(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, &why));
	g_assert_nonnull(strstr(why, "Auto-Submitted"));
	g_clear_pointer(&why, g_free);
	g_assert_true(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_REPLY, &why));
	g_assert_null(why);
}

static void
test_policy_no_from(void)
{
	g_autoptr(GBytes) signed_mail =
	    dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed", NO_FROM_HEADERS, NULL);
	g_autoptr(GPtrArray) sigs = NULL;
	g_autofree gchar *why = NULL;
	MeDkimSignature *sig;

	if (signed_mail == NULL)
		return;
	sigs = verify(signed_mail);
	sig = only_signature(sigs);
	/* RFC 6376 §5.4: From MUST be signed, so this one never verifies */
	assert_failed_with_sentence(sig);
	g_assert_false(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_REPLY, &why));
	g_assert_nonnull(why);
}

/* one signature by a missing key on top, one good below: both are reported */
static void
test_two_signatures(void)
{
	g_autoptr(GBytes) inner = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
					      CHALLENGE_HEADERS, NULL);
	g_autoptr(GBytes) outer = NULL;
	g_autoptr(GPtrArray) sigs = NULL;
	g_autofree gchar *inner_text = NULL;
	guint good = 0;

	if (inner == NULL)
		return;
	inner_text = g_strndup(g_bytes_get_data(inner, NULL), g_bytes_get_size(inner));
	outer = dkimpy_sign(inner_text, rsa_key, "missing", "rsa-sha256", "relaxed/relaxed", CHALLENGE_HEADERS, NULL);
	sigs = verify(outer);
	g_assert_cmpuint(sigs->len, ==, 2);
	for (guint i = 0; i < sigs->len; i++) {
		MeDkimSignature *sig = g_ptr_array_index(sigs, i);
		if (me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, NULL)) {
			g_assert_cmpstr(sig->selector, ==, "rsa");
			good++;
		} else {
			g_assert_cmpstr(sig->selector, ==, "missing");
		}
	}
	g_assert_cmpuint(good, ==, 1);
}

static void
test_too_many_signatures(void)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GBytes) many = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) sigs = NULL;

	for (guint i = 0; i <= ME_DKIM_SIGNATURES_MAX; i++)
		g_string_append_printf(text, "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s%u; h=from; bh=; b=\r\n", i);
	g_string_append(text, challenge_mail);
	many = g_bytes_new(text->str, text->len);
	sigs = me_dkim_verify(dkim, many, NULL, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_TOO_LARGE);
	g_assert_null(sigs);
}

/* D-05: signatures by other domains, parent and subdomains among them, around a genuine one:
 * no DNS query for any of them (dnsmasq's own query log says so), and the genuine one still
 * verifies */
static void
test_foreign_domains_not_looked_up(void)
{
	static const gchar *const foreign[] = {"attacker1.example", "attacker2.example", "attacker3.example",
					       "mail.example.org",  "org",		 "example.org.attacker.example",
					       "xn--exmple-cua.org"};
	g_autoptr(GBytes) signed_mail = dkimpy_sign(challenge_mail, rsa_key, "rsa", "rsa-sha256", "relaxed/relaxed",
						    CHALLENGE_HEADERS, NULL);
	g_autoptr(MeTestDnsmasq) dnsmasq = me_test_dnsmasq_new();
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GBytes) forged = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = NULL;
	g_autoptr(GPtrArray) sigs = NULL;
	g_autoptr(GError) error = NULL;
	gint64 elapsed_ms;
	guint good = 0;

	if (signed_mail == NULL)
		return;
	me_test_dnsmasq_add_zone(dnsmasq, "example.org");
	me_test_dnsmasq_add_txt(dnsmasq, "rsa._domainkey.example.org", rsa_record);
	for (guint i = 0; i < G_N_ELEMENTS(foreign); i++) {
		g_autofree gchar *name = g_strdup_printf("s%u._domainkey.%s", i, foreign[i]);
		/* each name exists, so that a lookup would be answered at once and be logged */
		me_test_dnsmasq_add_txt(dnsmasq, name, rsa_other_record);
		g_string_append_printf(text,
				       "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s%u;\r\n"
				       "\th=" CHALLENGE_HEADERS ";\r\n"
				       "\tbh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAAAAAA\r\n",
				       foreign[i], i);
	}
	g_string_append_len(text, g_bytes_get_data(signed_mail, NULL), (gssize)g_bytes_get_size(signed_mail));
	forged = g_bytes_new(text->str, text->len);
	dns = dns_for(start_dnsmasq(dnsmasq));
	dkim = me_dkim_new(dns, &error);
	g_assert_no_error(error);

	elapsed_ms = g_get_monotonic_time();
	sigs = me_dkim_verify(dkim, forged, "example.org", &error);
	elapsed_ms = (g_get_monotonic_time() - elapsed_ms) / 1000;
	g_assert_no_error(error);
	/* what reached the server: the genuine key, once, and nothing else */
	g_test_message("dnsmasq saw %u queries in %" G_GINT64_FORMAT " ms", me_test_dnsmasq_count_queries(dnsmasq, NULL),
		       elapsed_ms);
	g_assert_cmpuint(me_test_dnsmasq_count_queries(dnsmasq, "rsa._domainkey.example.org"), ==, 1);
	g_assert_cmpuint(me_test_dnsmasq_count_queries(dnsmasq, NULL), ==, 1);
	g_assert_cmpuint(sigs->len, ==, G_N_ELEMENTS(foreign) + 1);
	for (guint i = 0; i < sigs->len; i++) {
		MeDkimSignature *sig = g_ptr_array_index(sigs, i);
		g_test_message("d=%s s=%s verified=%d: %s", sig->domain, sig->selector, sig->verified, sig->error);
		if (g_strcmp0(sig->domain, "example.org") == 0) {
			g_assert_true(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, NULL));
			good++;
			continue;
		}
		assert_failed_with_sentence(sig);
		g_assert_nonnull(strstr(sig->error, "not by the sender's domain example.org"));
		g_assert_false(sig->temporary);
	}
	g_assert_cmpuint(good, ==, 1);
}

/* ---- policy on its own */

static void
test_policy_lists(void)
{
	const gchar *const *challenge = me_dkim_required_headers(ME_DKIM_POLICY_CHALLENGE);
	const gchar *const *reply = me_dkim_required_headers(ME_DKIM_POLICY_REPLY);

	g_assert_cmpuint(g_strv_length((GStrv)challenge), ==, 13);
	g_assert_cmpuint(g_strv_length((GStrv)reply), ==, 12);
	g_assert_cmpuint(g_strv_length((GStrv)me_dkim_recommended_headers()), ==, 12);
	g_assert_true(g_strv_contains(challenge, "Auto-Submitted"));
	g_assert_false(g_strv_contains(reply, "Auto-Submitted"));
	for (guint i = 0; reply[i] != NULL; i++)
		g_assert_true(g_strv_contains(challenge, reply[i]));
}

static void
test_policy_synthetic(void)
{
	g_auto(GStrv) upper = g_strsplit("FROM:Sender:REPLY-TO:to:Cc:SUBJECT:date:In-Reply-To:references:MESSAGE-ID:"
					 "content-type:Content-Transfer-Encoding", ":", -1);
	MeDkimSignature sig = {.verified = TRUE, .domain = (gchar *)"Example.ORG", .signed_headers = upper,
			       .body_length = -1};
	g_autofree gchar *why = NULL;

	g_assert_true(me_dkim_check_rfc8823(&sig, "example.org.", ME_DKIM_POLICY_REPLY, NULL));
	g_assert_false(me_dkim_check_rfc8823(&sig, "example.org", ME_DKIM_POLICY_CHALLENGE, &why));
	g_assert_nonnull(strstr(why, "Auto-Submitted"));
	g_assert_false(me_dkim_check_rfc8823(&sig, "sub.example.org", ME_DKIM_POLICY_REPLY, NULL));
	g_assert_false(me_dkim_check_rfc8823(&sig, "org", ME_DKIM_POLICY_REPLY, NULL));
	sig.verified = FALSE;
	sig.error = (gchar *)"The message body was changed after it was signed.";
	g_clear_pointer(&why, g_free);
	g_assert_false(me_dkim_check_rfc8823(&sig, "example.org", ME_DKIM_POLICY_REPLY, &why));
	g_assert_cmpstr(why, ==, sig.error);
}

/* ---- signing: ours, checked by us and by dkimpy */

static GBytes *
sign_ok(EVP_PKEY *key, const gchar *selector, MeDkimPolicy policy)
{
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);
	g_autoptr(GBytes) message = mail(challenge_mail);
	g_autoptr(GError) error = NULL;
	GBytes *signed_mail = me_dkim_sign(dkim, message, "example.org", selector, key, policy, &error);

	g_assert_no_error(error);
	g_assert_nonnull(signed_mail);
	return signed_mail;
}

static guint
count_name(GStrv names, const gchar *name)
{
	guint n = 0;
	for (guint i = 0; names[i] != NULL; i++)
		n += g_strcmp0(names[i], name) == 0;
	return n;
}

static void
check_our_signature(EVP_PKEY *key, const gchar *selector, const gchar *record, const gchar *algorithm)
{
	g_autoptr(GBytes) signed_mail = sign_ok(key, selector, ME_DKIM_POLICY_CHALLENGE);
	g_autofree gchar *text = g_strndup(g_bytes_get_data(signed_mail, NULL), g_bytes_get_size(signed_mail));
	g_autoptr(GPtrArray) sigs = verify(signed_mail);
	g_autofree gchar *verdict = dkimpy_verify(signed_mail, record);
	MeDkimSignature *sig = only_signature(sigs);

	g_test_message("%s", text);
	g_assert_true(g_str_has_prefix(text, "DKIM-Signature: "));
	g_assert_true(g_str_has_suffix(text, challenge_mail));
	g_assert_null(strstr(text, "l="));
	g_assert_true(sig->verified);
	g_assert_cmpstr(sig->algorithm, ==, algorithm);
	g_assert_true(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, NULL));
	for (guint i = 0; me_dkim_recommended_headers()[i] != NULL; i++) {
		g_autofree gchar *name = g_ascii_strdown(me_dkim_recommended_headers()[i], -1);
		g_assert_cmpuint(count_name(sig->signed_headers, name), >=, 1);
	}
	/* over-signed: a present field is listed once more than it occurs, an absent one once */
	g_assert_cmpuint(count_name(sig->signed_headers, "from"), ==, 2);
	g_assert_cmpuint(count_name(sig->signed_headers, "sender"), ==, 1);
	if (g_strcmp0(verdict, "skip") != 0)
		g_assert_cmpstr(verdict, ==, "ok");
}

static void
test_sign_rsa(void)
{
	check_our_signature(rsa_key, "rsa", rsa_record, "rsa-sha256");
}

static gboolean
under_leak_checker(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return TRUE;
#elif defined(RUNNING_ON_VALGRIND)
	return RUNNING_ON_VALGRIND != 0;
#else
	return g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0;
#endif
}

static void
test_sign_ed25519(void)
{
	/* libopendkim 2.11.0~beta2 never frees what dkim_privkey_load() made for an Ed25519
	 * signature (its struct dkim_crypto and the EVP_PKEY holding the private key); a leak
	 * checker rightly flags that on every run, and no suppression could single it out */
	if (under_leak_checker()) {
		g_test_skip("libopendkim leaks the Ed25519 signing key; the normal run covers this");
		return;
	}
	if (!skip_without_ed25519())
		check_our_signature(ed_key, "ed", ed_record, "ed25519-sha256");
}

static void
test_sign_reply(void)
{
	g_autoptr(GBytes) signed_mail = sign_ok(rsa_key, "rsa", ME_DKIM_POLICY_REPLY);
	g_autoptr(GPtrArray) sigs = verify(signed_mail);
	MeDkimSignature *sig = only_signature(sigs);

	g_assert_true(sig->verified);
	g_assert_cmpuint(count_name(sig->signed_headers, "auto-submitted"), ==, 0);
	g_assert_true(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_REPLY, NULL));
	g_assert_false(me_dkim_check_rfc8823(sig, "example.org", ME_DKIM_POLICY_CHALLENGE, NULL));
}

/* adding a second Subject or an absent Reply-To after signing breaks our signature, for us and dkimpy */
static void
test_sign_oversigned(void)
{
	g_autoptr(GBytes) signed_mail = sign_ok(rsa_key, "rsa", ME_DKIM_POLICY_CHALLENGE);
	const gchar *added[] = {"To: alexey@example.com\r\nSubject: Re: something else\r\n",
				"To: alexey@example.com\r\nReply-To: mallory@example.net\r\n"};

	for (guint i = 0; i < G_N_ELEMENTS(added); i++) {
		g_autoptr(GBytes) changed = tamper(signed_mail, "To: alexey@example.com\r\n", added[i]);
		g_autoptr(GPtrArray) sigs = verify(changed);
		g_autofree gchar *verdict = dkimpy_verify(changed, rsa_record);
		assert_failed_with_sentence(only_signature(sigs));
		g_assert_true(g_str_has_prefix(verdict, "fails") || g_strcmp0(verdict, "skip") == 0);
	}
}

static void
test_sign_bad_keys(void)
{
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = dkim_for_keys(&dns);
	g_autoptr(GBytes) message = mail(challenge_mail);
	g_autoptr(EVP_PKEY) ec = me_key_generate(ME_KEY_TYPE_EC_P256, NULL);
	g_autoptr(EVP_PKEY) small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	EVP_PKEY *keys[] = {ec, small};

	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) out = me_dkim_sign(dkim, message, "example.org", "s", keys[i],
						     ME_DKIM_POLICY_CHALLENGE, &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		g_assert_null(out);
		me_test_assert_sentence(error);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) out = me_dkim_sign(dkim, message, "example.org", "bad;selector", rsa_key,
						     ME_DKIM_POLICY_CHALLENGE, &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_null(out);
	}
}

/* ---- setup */

static void
make_keys(void)
{
	g_autoptr(GError) error = NULL;

	rsa_key = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
	g_assert_no_error(error);
	rsa_other_key = me_key_generate(ME_KEY_TYPE_RSA_2048, &error);
	g_assert_no_error(error);
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	g_assert_nonnull(ed_key);
	rsa_record = record_for(rsa_key);
	rsa_other_record = record_for(rsa_other_key);
	ed_record = record_for(ed_key);
}

static void
start_keys_dns(void)
{
	g_autoptr(GError) error = NULL;

	keys_dns = me_test_dnsmasq_new();
	me_test_dnsmasq_add_zone(keys_dns, "example.org");
	me_test_dnsmasq_add_txt(keys_dns, "rsa._domainkey.example.org", rsa_record);
	me_test_dnsmasq_add_txt(keys_dns, "ed._domainkey.example.org", ed_record);
	/* selector "wrong" publishes another key than the one that signs */
	me_test_dnsmasq_add_txt(keys_dns, "wrong._domainkey.example.org", rsa_other_record);
	{
		g_autofree gchar *filler = g_strnfill(1500, 'A');
		g_autofree gchar *huge = g_strdup_printf("v=DKIM1; k=rsa; p=%s", filler);
		me_test_dnsmasq_add_txt(keys_dns, "huge._domainkey.example.org", huge);
	}
	/* RFC 6376 §3.6.1: an empty p= means the key was revoked */
	me_test_dnsmasq_add_txt(keys_dns, "revoked._domainkey.example.org", "v=DKIM1; k=rsa; p=");
	me_test_dnsmasq_start(keys_dns, &error);
	g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
	gint rc;

	g_test_init(&argc, &argv, NULL);
	work_dir = me_test_tmpdir();
	make_keys();
	start_keys_dns();

	g_test_add_func("/dkim/dns/nameserver", test_dns_nameserver);
	g_test_add_func("/dkim/dns/txt-split", test_dns_txt_split);
	g_test_add_func("/dkim/dns/txt-tcp", test_dns_txt_tcp);
	g_test_add_func("/dkim/dns/several-records", test_dns_several_records);
	g_test_add_func("/dkim/dns/not-found", test_dns_not_found);
	g_test_add_func("/dkim/dns/timeout-refused", test_dns_timeout_refused);
	g_test_add_func("/dkim/dns/timeout-silent", test_dns_timeout_silent);
	g_test_add_func("/dkim/dns/bad-names", test_dns_bad_names);
	g_test_add_func("/dkim/verify/dkimpy/rsa-relaxed", test_verify_dkimpy_rsa_relaxed);
	g_test_add_func("/dkim/verify/dkimpy/rsa-simple", test_verify_dkimpy_rsa_simple);
	g_test_add_func("/dkim/verify/dkimpy/ed25519-relaxed", test_verify_dkimpy_ed25519_relaxed);
	g_test_add_func("/dkim/verify/dkimpy/ed25519-simple", test_verify_dkimpy_ed25519_simple);
	g_test_add_func("/dkim/verify/canonicalization", test_verify_canonicalization);
	g_test_add_func("/dkim/verify/body-length", test_verify_body_length);
	g_test_add_func("/dkim/verify/no-signature", test_verify_no_signature);
	g_test_add_func("/dkim/verify/bare-lf", test_verify_bare_lf);
	g_test_add_func("/dkim/verify/two-signatures", test_two_signatures);
	g_test_add_func("/dkim/verify/too-many-signatures", test_too_many_signatures);
	g_test_add_func("/dkim/verify/foreign-domains-not-looked-up", test_foreign_domains_not_looked_up);
	g_test_add_func("/dkim/negative/body-changed", test_negative_body);
	g_test_add_func("/dkim/negative/header-changed", test_negative_header);
	g_test_add_func("/dkim/negative/key-missing", test_negative_key_missing);
	g_test_add_func("/dkim/negative/key-revoked", test_negative_key_revoked);
	g_test_add_func("/dkim/negative/wrong-key", test_negative_wrong_key);
	g_test_add_func("/dkim/negative/key-too-large", test_negative_key_too_large);
	g_test_add_func("/dkim/negative/expired", test_negative_expired);
	g_test_add_func("/dkim/negative/dns-timeout", test_negative_dns_timeout);
	g_test_add_func("/dkim/negative/rsa-sha1", test_negative_rsa_sha1);
	g_test_add_func("/dkim/negative/malformed", test_negative_malformed);
	g_test_add_func("/dkim/policy/lists", test_policy_lists);
	g_test_add_func("/dkim/policy/synthetic", test_policy_synthetic);
	g_test_add_func("/dkim/policy/parent-domain", test_policy_parent_domain);
	g_test_add_func("/dkim/policy/no-auto-submitted", test_policy_no_auto_submitted);
	g_test_add_func("/dkim/policy/no-from", test_policy_no_from);
	g_test_add_func("/dkim/sign/rsa", test_sign_rsa);
	g_test_add_func("/dkim/sign/ed25519", test_sign_ed25519);
	g_test_add_func("/dkim/sign/reply", test_sign_reply);
	g_test_add_func("/dkim/sign/oversigned", test_sign_oversigned);
	g_test_add_func("/dkim/sign/bad-keys", test_sign_bad_keys);
	rc = g_test_run();

	me_test_dnsmasq_free(keys_dns);
	me_test_rm_rf(work_dir);
	g_free(work_dir);
	g_free(rsa_record);
	g_free(rsa_other_record);
	g_free(ed_record);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other_key);
	EVP_PKEY_free(ed_key);
	return rc;
}
