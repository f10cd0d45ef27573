/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestSmtp"

#include "config.h"

#include <string.h>

#include "smtp-server.h"
#include "smtp.h"
#include "test-util.h"

/*
 * helper/lib/smtp.c, the submission of the challenge reply, against a real SMTP server:
 * aiosmtpd on 127.0.0.1 (tests/util/smtp-server.py), which stores what it accepts and logs
 * every command, so a test sees both the bytes delivered and what was said on the way.
 */

#define FROM	 "alice@example.org"
#define TO	 "acme-challenge@ca.example"
#define USER	 "alice"
#define PASSWORD "s3cret-Pa55word!"

/* a reply as enroll.c composes one, with what SMTP must carry unchanged: lines that start
 * with a dot (RFC 5321 §4.5.2), a line that is only a dot, 8-bit UTF-8, trailing blanks */
static const gchar reply[] = "From: Alice <" FROM ">\r\n"
			     "To: " TO "\r\n"
			     "Subject: RE: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=\r\n"
			     "Message-ID: <reply.1@example.org>\r\n"
			     "MIME-Version: 1.0\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n"
			     "Content-Transfer-Encoding: 8bit\r\n"
			     "\r\n"
			     "-----BEGIN ACME RESPONSE-----\r\n"
			     "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\r\n"
			     "-----END ACME RESPONSE-----\r\n"
			     ".leading dot\r\n"
			     "..two dots\r\n"
			     ".\r\n"
			     "Gr\xc3\xbc\xc3\x9f""e, \xe2\x9c\x93   \r\n"
			     "\r\n"
			     ".\r\n";

/* every log message, debug included, while a test asks for them */
static GString *captured_log;

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	for (gsize i = 0; captured_log != NULL && i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			g_string_append_printf(captured_log, "%s\n", (const gchar *)fields[i].value);
	}
	return g_log_writer_default(level, fields, n_fields, user_data);
}

static MeTestSmtp *
server_start(MeTestSmtpTls tls, const gchar *user, const gchar *const *refuse)
{
	MeTestSmtpOptions options = {.tls = tls, .user = user, .password = PASSWORD, .refuse = refuse};
	g_autoptr(GError) error = NULL;
	MeTestSmtp *smtp = me_test_smtp_start(&options, &error);

	g_assert_no_error(error);
	g_assert_nonnull(smtp);
	return smtp;
}

/* where the client submits: the test server, as @security */
static MeSmtpServer
target(MeTestSmtp *smtp, MeSmtpSecurity security)
{
	MeSmtpServer server = {.host = "127.0.0.1",
			       .port = me_test_smtp_get_port(smtp),
			       .security = security,
			       .ca_file = security != ME_SMTP_SECURITY_NONE ? me_test_smtp_get_ca_file(smtp) : NULL};
	return server;
}

static gboolean
send_reply(const MeSmtpServer *server, const gchar *const *to, GError **error)
{
	g_autoptr(GBytes) message = g_bytes_new_static(reply, sizeof(reply) - 1);
	return me_smtp_send(server, FROM, to, message, NULL, NULL, error);
}

static void
assert_delivered(MeTestSmtp *smtp, guint index, const gchar *const *to, gboolean tls)
{
	g_autoptr(MeTestSmtpMessage) message = NULL;
	gsize len = 0;
	gconstpointer data;

	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, index + 1);
	message = me_test_smtp_get_message(smtp, index);
	data = g_bytes_get_data(message->data, &len);
	/* byte for byte */
	g_assert_cmpmem(data, len, reply, sizeof(reply) - 1);
	g_assert_cmpstr(message->mail_from, ==, FROM);
	g_assert_cmpstrv(message->rcpt_to, to);
	g_assert_cmpint(message->tls, ==, tls);
}

/* the server saw no MAIL command: the client gave up before anything was sent */
static void
assert_nothing_sent(MeTestSmtp *smtp)
{
	g_autofree gchar *events = me_test_smtp_get_events(smtp);

	g_test_message("server events:\n%s", events);
	g_assert_null(strstr(events, "MAIL "));
	g_assert_null(strstr(events, "DATA "));
	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, 0);
}

/* ---- plain SMTP, to a loopback host only */

static void
test_plain(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_NONE);
	const gchar *to[] = {TO, "copy@example.org", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *events = NULL;

	g_assert_true(send_reply(&server, to, &error));
	g_assert_no_error(error);
	assert_delivered(smtp, 0, to, FALSE);
	events = me_test_smtp_get_events(smtp);
	g_assert_nonnull(strstr(events, "MAIL " FROM " plain\nRCPT " TO " plain\nRCPT copy@example.org plain\n"));

	/* "localhost" is loopback too */
	server.host = "localhost";
	g_assert_true(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_no_error(error);
	assert_delivered(smtp, 1, (const gchar *[]){TO, NULL}, FALSE);
}

/* a large message crosses many reads of the upload callback unchanged */
static void
test_large(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_NONE);
	g_autoptr(GString) text = g_string_new("From: " FROM "\r\nTo: " TO "\r\nSubject: big\r\n\r\n");
	g_autoptr(GBytes) message = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTestSmtpMessage) got = NULL;
	const gchar *to[] = {TO, NULL};

	for (guint i = 0; text->len < 512 * 1024; i++)
		g_string_append_printf(text, "%s%u %s\r\n", i % 7 == 0 ? "." : "", i, "abcdefghijklmnopqrstuvwxyz0123456789");
	message = g_bytes_new(text->str, text->len);
	g_assert_true(me_smtp_send(&server, FROM, to, message, NULL, NULL, &error));
	g_assert_no_error(error);
	got = me_test_smtp_get_message(smtp, 0);
	g_assert_true(g_bytes_equal(got->data, message));
}

static void
test_plain_not_loopback(void)
{
	const gchar *hosts[] = {"192.0.2.1", "smtp.example.org", "127.0.0.2", "::ffff:127.0.0.1",
				"localhost.example.org", "0.0.0.0"};

	for (guint i = 0; i < G_N_ELEMENTS(hosts); i++) {
		MeSmtpServer server = {.host = hosts[i], .port = 25, .security = ME_SMTP_SECURITY_NONE};
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();

		g_test_message("host %s", hosts[i]);
		g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		me_test_assert_sentence(error);
		g_assert_nonnull(strstr(error->message, "starttls"));
		/* refused before any connection or name lookup */
		g_assert_cmpint(g_get_monotonic_time() - start, <, 100 * 1000);
	}
}

/* ---- what the server refuses */

static void
test_recipient_refused(void)
{
	const gchar *refuse[] = {"nobody@ca.example", NULL};
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, refuse);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_NONE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *events = NULL;

	g_assert_false(send_reply(&server, (const gchar *[]){"nobody@ca.example", NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NETWORK);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "127.0.0.1"));
	g_clear_error(&error);
	/* one good and one refused recipient: nothing is sent, to nobody */
	g_assert_false(send_reply(&server, (const gchar *[]){TO, "nobody@ca.example", NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NETWORK);
	events = me_test_smtp_get_events(smtp);
	g_test_message("server events:\n%s", events);
	g_assert_nonnull(strstr(events, "RCPT nobody@ca.example"));
	g_assert_null(strstr(events, "DATA "));
	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, 0);
}

static void
test_server_down(void)
{
	MeSmtpServer server = {.host = "127.0.0.1", .port = me_test_free_port(), .security = ME_SMTP_SECURITY_NONE};
	g_autoptr(GError) error = NULL;

	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NETWORK);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "127.0.0.1"));
}

/* settings and addresses that are refused before connecting: the server hears nothing */
static void
test_bad_arguments(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, NULL);
	g_autoptr(GBytes) message = g_bytes_new_static(reply, sizeof(reply) - 1);
	g_autofree gchar *long_local = g_strnfill(250, 'a');
	g_autofree gchar *too_long = g_strdup_printf("%s@example.org", long_local);
	const gchar *bad_addresses[] = {"alice", "", "alice @example.org", "<alice@example.org>", "alice@example.org>",
					"al\tice@example.org", "alice@exa\x7fmple.org", "alice@example.org\r\nRCPT TO:<x@y>",
					too_long};
	MeSmtpServer good = target(smtp, ME_SMTP_SECURITY_NONE);
	MeSmtpServer bad_servers[] = {good, good, good};
	g_autofree gchar *events = NULL;

	bad_servers[0].host = NULL;
	bad_servers[1].port = 0;
	bad_servers[2].port = 65536;
	for (guint i = 0; i < G_N_ELEMENTS(bad_servers); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(me_smtp_send(&bad_servers[i], FROM, (const gchar *[]){TO, NULL}, message, NULL, NULL, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		me_test_assert_sentence(error);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad_addresses); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) error_to = NULL;
		g_test_message("address \"%s\"", bad_addresses[i]);
		g_assert_false(me_smtp_send(&good, bad_addresses[i], (const gchar *[]){TO, NULL}, message, NULL, NULL, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		me_test_assert_sentence(error);
		g_assert_false(me_smtp_send(&good, FROM, (const gchar *[]){TO, bad_addresses[i], NULL}, message, NULL, NULL, &error_to));
		g_assert_error(error_to, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) error_empty = NULL;
		g_autoptr(GError) error_from = NULL;
		g_assert_false(me_smtp_send(&good, FROM, NULL, message, NULL, NULL, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_false(me_smtp_send(&good, FROM, (const gchar *[]){NULL}, message, NULL, NULL, &error_empty));
		g_assert_error(error_empty, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
		g_assert_false(me_smtp_send(&good, NULL, (const gchar *[]){TO, NULL}, message, NULL, NULL, &error_from));
		g_assert_error(error_from, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	}
	events = me_test_smtp_get_events(smtp);
	g_assert_cmpstr(events, ==, "");
}

/* ---- TLS */

static void
test_starttls(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);
	const gchar *to[] = {TO, NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *events = NULL;

	g_assert_true(send_reply(&server, to, &error));
	g_assert_no_error(error);
	assert_delivered(smtp, 0, to, TRUE);
	events = me_test_smtp_get_events(smtp);
	g_test_message("server events:\n%s", events);
	g_assert_true(g_str_has_prefix(events, "CONNECT plain\nEHLO "));
	g_assert_nonnull(strstr(events, "\nSTARTTLS tls\n"));
	g_assert_nonnull(strstr(events, "\nMAIL " FROM " tls\n"));
	g_assert_null(strstr(events, "MAIL " FROM " plain"));
}

/* certificates are always verified: not against the system's CAs, not against another CA */
static void
test_starttls_untrusted(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, NULL, NULL);
	g_autofree gchar *other_dir = me_test_tmpdir();
	g_autofree gchar *other_cert = NULL;
	g_autofree gchar *other_key = NULL;
	g_autoptr(GError) error = NULL;
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);

	server.ca_file = NULL;
	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	me_test_assert_sentence(error);
	g_clear_error(&error);

	g_assert_true(me_test_make_tls_cert(other_dir, &other_cert, &other_key, &error));
	g_assert_no_error(error);
	server.ca_file = other_cert;
	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	assert_nothing_sent(smtp);
	me_test_rm_rf(other_dir);
}

/* STARTTLS asked for and not offered: no fallback to plain text */
static void
test_starttls_not_offered(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *events = NULL;

	server.ca_file = me_test_smtp_get_ca_file(smtp);
	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	me_test_assert_sentence(error);
	events = me_test_smtp_get_events(smtp);
	/* it did connect and ask */
	g_assert_true(g_str_has_prefix(events, "CONNECT plain\nEHLO "));
	assert_nothing_sent(smtp);
}

static void
test_implicit_tls(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_IMPLICIT, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_TLS);
	const gchar *to[] = {TO, NULL};
	g_autoptr(GError) error = NULL;

	g_assert_true(send_reply(&server, to, &error));
	g_assert_no_error(error);
	assert_delivered(smtp, 0, to, TRUE);
}

/* implicit TLS to a server that greets in plain text */
static void
test_implicit_tls_to_plain(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, NULL, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_TLS);
	g_autoptr(GError) error = NULL;

	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_TLS);
	me_test_assert_sentence(error);
	assert_nothing_sent(smtp);
}

/* ---- AUTH, and the password in no log */

static void
test_auth(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, USER, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);
	const gchar *to[] = {TO, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(MeTestSmtpMessage) got = NULL;
	g_autofree gchar *events = NULL;

	server.username = USER;
	server.password = PASSWORD;
	g_assert_true(send_reply(&server, to, &error));
	g_assert_no_error(error);
	assert_delivered(smtp, 0, to, TRUE);
	got = me_test_smtp_get_message(smtp, 0);
	g_assert_cmpstr(got->login, ==, USER);
	events = me_test_smtp_get_events(smtp);
	/* after STARTTLS, never before */
	g_assert_nonnull(strstr(events, " ok tls\n"));
	g_assert_null(strstr(events, "AUTH PLAIN ok plain"));
	g_assert_null(strstr(events, "AUTH LOGIN ok plain"));
}

static void
test_auth_refused(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, USER, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_none = NULL;
	g_autofree gchar *wrong = g_strconcat(PASSWORD, "x", NULL);
	g_autofree gchar *log = NULL;

	server.username = USER;
	server.password = wrong;
	captured_log = g_string_new(NULL);
	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_UNAUTHORIZED);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, "127.0.0.1"));
	log = g_string_free(g_steal_pointer(&captured_log), FALSE);
	g_test_message("logged:\n%s", log);
	/* the debug log was seen (the failure is logged there), and the password went to the
	 * server only */
	g_assert_nonnull(strstr(log, "SMTP smtp://127.0.0.1:"));
	g_assert_null(strstr(error->message, wrong));
	g_assert_null(strstr(log, wrong));
	g_assert_null(strstr(log, PASSWORD));

	/* no login at all where one is required */
	server.username = NULL;
	server.password = NULL;
	g_assert_false(send_reply(&server, (const gchar *[]){TO, NULL}, &error_none));
	g_assert_nonnull(error_none);
	g_assert_true(error_none->domain == ME_ERROR);
	me_test_assert_sentence(error_none);
	assert_nothing_sent(smtp);
}

/* ---- the moment the message starts to go out (the engine saves "submitting" there) */

typedef struct {
	MeTestSmtp *smtp;
	guint calls;
	gchar *events;
	guint stored;
	gboolean refuse;
} DataHook;

static gboolean
data_hook(gpointer user_data, GError **error)
{
	DataHook *hook = user_data;

	hook->calls++;
	g_free(hook->events);
	hook->events = me_test_smtp_get_events(hook->smtp);
	hook->stored = me_test_smtp_count_messages(hook->smtp);
	if (hook->refuse) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED, "The state could not be saved; check the disk.");
		return FALSE;
	}
	return TRUE;
}

/* after TLS, AUTH, MAIL and RCPT were accepted, once, and before the server has any of the
 * message; then the message goes out unchanged */
static void
test_data_hook_order(void)
{
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_STARTTLS, USER, NULL);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_STARTTLS);
	g_autoptr(GBytes) message = g_bytes_new_static(reply, sizeof(reply) - 1);
	const gchar *to[] = {TO, NULL};
	g_autoptr(GError) error = NULL;
	DataHook hook = {.smtp = smtp};

	server.username = USER;
	server.password = PASSWORD;
	g_assert_true(me_smtp_send(&server, FROM, to, message, data_hook, &hook, &error));
	g_assert_no_error(error);
	g_test_message("server events at the hook:\n%s", hook.events);
	g_assert_cmpuint(hook.calls, ==, 1);
	g_assert_cmpuint(hook.stored, ==, 0);
	g_assert_nonnull(strstr(hook.events, " ok tls\nMAIL " FROM " tls\nRCPT " TO " tls\n"));
	g_assert_null(strstr(hook.events, "DATA "));
	assert_delivered(smtp, 0, to, TRUE);
	g_free(hook.events);
}

/* the hook says no: its error comes back and the server has no message; a refused
 * recipient never gets as far as the hook */
static void
test_data_hook_abort(void)
{
	const gchar *refuse[] = {"nobody@ca.example", NULL};
	g_autoptr(MeTestSmtp) smtp = server_start(ME_TEST_SMTP_TLS_NONE, NULL, refuse);
	MeSmtpServer server = target(smtp, ME_SMTP_SECURITY_NONE);
	g_autoptr(GBytes) message = g_bytes_new_static(reply, sizeof(reply) - 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_rcpt = NULL;
	g_autofree gchar *events = NULL;
	DataHook hook = {.smtp = smtp, .refuse = TRUE};

	g_assert_false(me_smtp_send(&server, FROM, (const gchar *[]){TO, NULL}, message, data_hook, &hook, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	g_assert_cmpstr(error->message, ==, "The state could not be saved; check the disk.");
	g_assert_cmpuint(hook.calls, ==, 1);
	g_clear_pointer(&hook.events, g_free);
	g_assert_false(me_smtp_send(&server, FROM, (const gchar *[]){"nobody@ca.example", NULL}, message, data_hook,
				    &hook, &error_rcpt));
	g_assert_error(error_rcpt, ME_ERROR, ME_ERROR_NETWORK);
	g_assert_cmpuint(hook.calls, ==, 1);
	events = me_test_smtp_get_events(smtp);
	g_test_message("server events:\n%s", events);
	g_assert_nonnull(strstr(events, "RCPT " TO " plain\n"));
	g_assert_null(strstr(events, "DATA "));
	g_assert_cmpuint(me_test_smtp_count_messages(smtp), ==, 0);
}

int
main(int argc, char **argv)
{
	g_log_set_writer_func(log_writer, NULL, NULL);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smtp/plain/delivery", test_plain);
	g_test_add_func("/smtp/plain/large", test_large);
	g_test_add_func("/smtp/plain/not-loopback", test_plain_not_loopback);
	g_test_add_func("/smtp/refused/recipient", test_recipient_refused);
	g_test_add_func("/smtp/refused/server-down", test_server_down);
	g_test_add_func("/smtp/refused/bad-arguments", test_bad_arguments);
	g_test_add_func("/smtp/tls/starttls", test_starttls);
	g_test_add_func("/smtp/tls/starttls-untrusted", test_starttls_untrusted);
	g_test_add_func("/smtp/tls/starttls-not-offered", test_starttls_not_offered);
	g_test_add_func("/smtp/tls/implicit", test_implicit_tls);
	g_test_add_func("/smtp/tls/implicit-to-plain", test_implicit_tls_to_plain);
	g_test_add_func("/smtp/auth/login", test_auth);
	g_test_add_func("/smtp/auth/refused", test_auth_refused);
	g_test_add_func("/smtp/data-hook/order", test_data_hook_order);
	g_test_add_func("/smtp/data-hook/abort", test_data_hook_abort);
	return g_test_run();
}
