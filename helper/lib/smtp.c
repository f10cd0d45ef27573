/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeSmtp"

#include "config.h"

#include "smtp.h"

#include <curl/curl.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "dl.h"

/* with http.c the only libcurl user: SMTP submission of the one reply */

/* libcurl is loaded on first use (dl.c; http.c says why): every function of it this file calls
 * is in this list and is called as sym_NAME() */
#define SMTP_SYMBOLS(X)                                                                                                \
	X(curl_easy_cleanup)                                                                                           \
	X(curl_easy_init)                                                                                              \
	X(curl_easy_perform)                                                                                           \
	X(curl_easy_setopt)                                                                                            \
	X(curl_easy_strerror)                                                                                          \
	X(curl_slist_append)                                                                                           \
	X(curl_slist_free_all)

SMTP_SYMBOLS(ME_DL_DECLARE)

static gboolean
smtp_load(GError **error)
{
	static const MeDlSymbol symbols[] = {SMTP_SYMBOLS(ME_DL_ROW)};

	return me_dl_load(ME_DL_LIBRARY_CURL, symbols, G_N_ELEMENTS(symbols), error);
}

typedef struct {
	const guint8 *data;
	gsize len;
	gsize pos;
	gboolean started;
	MeSmtpDataFunc on_data;
	gpointer on_data_user;
	GError *on_data_error;
} Upload;

/* the moment the message starts to go out is the first call of the read callback: libcurl
 * sends MAIL, RCPT and DATA itself and asks for the body only once the server answered
 * DATA with 354, before it has sent a byte of it.  CURLOPT_PREREQFUNCTION comes too early
 * (before MAIL FROM, so a refused recipient would look like a message that may have left),
 * and watching the debug callback for "354" would parse the protocol a second time */
static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *user_data)
{
	Upload *up = user_data;
	gsize n = MIN(size * nmemb, up->len - up->pos);

	if (!up->started) {
		up->started = TRUE;
		if (up->on_data != NULL && !up->on_data(up->on_data_user, &up->on_data_error))
			return CURL_READFUNC_ABORT;
	}
	memcpy(buf, up->data + up->pos, n);
	up->pos += n;
	return n;
}

static gboolean
is_loopback(const gchar *host)
{
	return g_strcmp0(host, "127.0.0.1") == 0 || g_strcmp0(host, "::1") == 0 || g_strcmp0(host, "localhost") == 0;
}

static gboolean
valid_address(const gchar *addr)
{
	/* an addr-spec for the envelope: no spaces, controls or angle brackets, one @ at least */
	if (addr == NULL || strchr(addr, '@') == NULL || strlen(addr) > 254)
		return FALSE;
	for (const gchar *p = addr; *p != '\0'; p++) {
		if ((guchar)*p <= 0x20 || *p == '<' || *p == '>' || *p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

/**
 * me_smtp_send:
 * @server: the submission server
 * @from: the envelope sender (the mailbox)
 * @to: (array zero-terminated=1): the envelope recipients
 * @message: the whole message, CRLF line ends
 * @on_data: (nullable) (scope call): called once, after the server said go ahead to DATA and
 *   before the first byte of @message is sent; %FALSE from it aborts with its error
 * @user_data: its data
 * @error: return location for a #GError
 *
 * Submits @message.  Certificates are always verified; STARTTLS must succeed when asked
 * for; a plain connection is allowed only to a loopback host.  The password goes only to
 * libcurl, never to a log.  A failure before @on_data was called means that no part of
 * @message reached the server.
 *
 * Returns: %TRUE when the server accepted the message (250 to its end)
 */
gboolean
me_smtp_send(const MeSmtpServer *server,
	     const gchar *from,
	     const gchar *const *to,
	     GBytes *message,
	     MeSmtpDataFunc on_data,
	     gpointer user_data,
	     GError **error)
{
	g_autofree gchar *url = NULL;
	g_autofree gchar *from_path = NULL;
	struct curl_slist *rcpt = NULL;
	Upload up = {0};
	CURL *c;
	CURLcode rc;
	gchar errbuf[CURL_ERROR_SIZE] = "";
	gboolean ok;

	if (server->host == NULL || server->port == 0 || server->port > 65535 ||
	    (server->security == ME_SMTP_SECURITY_NONE && !is_loopback(server->host))) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the SMTP server settings are incomplete or ask for an unencrypted connection to another machine */
				    _("The SMTP settings are incomplete or ask for an unencrypted connection; set host, port and security=starttls or tls."));
		return FALSE;
	}
	if (!valid_address(from) || to == NULL || to[0] == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the reply has no valid sender or recipient */
				    _("The reply has no valid sender or recipient address; check the mailbox."));
		return FALSE;
	}
	if (!smtp_load(error))
		return FALSE;
	for (guint i = 0; to[i] != NULL; i++) {
		if (!valid_address(to[i])) {
			sym_curl_slist_free_all(rcpt);
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
					    /* TRANSLATORS: the reply has no valid sender or recipient */
					    _("The reply has no valid sender or recipient address; check the mailbox."));
			return FALSE;
		}
		rcpt = sym_curl_slist_append(rcpt, to[i]);
	}

	url = g_strdup_printf("%s://%s%s%s:%u", server->security == ME_SMTP_SECURITY_TLS ? "smtps" : "smtp",
			      strchr(server->host, ':') != NULL ? "[" : "", server->host,
			      strchr(server->host, ':') != NULL ? "]" : "", server->port);
	from_path = g_strdup_printf("<%s>", from);
	up.data = g_bytes_get_data(message, &up.len);
	up.on_data = on_data;
	up.on_data_user = user_data;

	c = sym_curl_easy_init();
	sym_curl_easy_setopt(c, CURLOPT_URL, url);
	sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	sym_curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_path);
	sym_curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	sym_curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	sym_curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	sym_curl_easy_setopt(c, CURLOPT_READDATA, &up);
	sym_curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (server->security == ME_SMTP_SECURITY_STARTTLS)
		sym_curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (server->ca_file != NULL)
		sym_curl_easy_setopt(c, CURLOPT_CAINFO, server->ca_file);
	if (server->username != NULL) {
		sym_curl_easy_setopt(c, CURLOPT_USERNAME, server->username);
		sym_curl_easy_setopt(c, CURLOPT_PASSWORD, server->password != NULL ? server->password : "");
	}
	rc = sym_curl_easy_perform(c);
	ok = rc == CURLE_OK;
	if (up.on_data_error != NULL) {
		/* the caller refused to go on: its reason, not libcurl's "aborted by callback" */
		g_debug("SMTP %s: stopped before the message: %s", url, up.on_data_error->message);
		g_propagate_error(error, g_steal_pointer(&up.on_data_error));
		ok = FALSE;
	} else if (!ok) {
		g_debug("SMTP %s: %s: %s", url, sym_curl_easy_strerror(rc), errbuf);
		if (rc == CURLE_LOGIN_DENIED)
			g_set_error(error, ME_ERROR, ME_ERROR_UNAUTHORIZED,
				    /* TRANSLATORS: the SMTP server refused the login; %s is the server */
				    _("The mail server %s refused the login; check the user name and the password in the keyring."),
				    server->host);
		else if (rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION)
			g_set_error(error, ME_ERROR, ME_ERROR_TLS,
				    /* TRANSLATORS: no secure connection to the SMTP server; %s is the server */
				    _("No secure connection to the mail server %s could be made; check the security setting and the server's certificate."),
				    server->host);
		else
			g_set_error(error, ME_ERROR, ME_ERROR_NETWORK,
				    /* TRANSLATORS: sending the reply by SMTP failed; %s is the server, %s the reason */
				    _("The reply could not be sent through %s (%s); check the connection and the [smtp] settings, then run “mailenroll status” to see how to send it again."),
				    server->host, errbuf[0] != '\0' ? errbuf : sym_curl_easy_strerror(rc));
	}
	sym_curl_slist_free_all(rcpt);
	sym_curl_easy_cleanup(c);
	return ok;
}
