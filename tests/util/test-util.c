/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "test-util.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autocleanups.h"
#include "http.h"
#include "keys.h"
#include "rpc-error.h"

/**
 * me_test_assert_sentence:
 * @error: an error meant for a person
 *
 * Asserts that its message is one sentence: a capital letter first, a full stop last,
 * valid UTF-8, no line break.
 */
void
me_test_assert_sentence(const GError *error)
{
	gsize len;

	g_assert_nonnull(error);
	g_assert_nonnull(error->message);
	len = strlen(error->message);
	g_test_message("error %d: %s", error->code, error->message);
	g_assert_cmpuint(len, >, 10);
	g_assert_true(g_utf8_validate(error->message, -1, NULL));
	g_assert_true(g_unichar_isupper(g_utf8_get_char(error->message)));
	g_assert_cmpint(error->message[len - 1], ==, '.');
	g_assert_null(strchr(error->message, '\n'));
}

/**
 * me_test_python:
 *
 * Returns: Debian's interpreter, which has the packages the tests use (never a pyenv one)
 */
const gchar *
me_test_python(void)
{
	const gchar *python = g_getenv("ME_TEST_PYTHON");
	return python != NULL ? python : "/usr/bin/python3";
}

/**
 * me_test_tmpdir:
 *
 * Returns: (transfer full): a new private directory; remove it with me_test_rm_rf()
 */
gchar *
me_test_tmpdir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("mailenroll-test-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

/**
 * me_test_rm_rf:
 * @path: (nullable): a directory made by the test
 */
void
me_test_rm_rf(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (path == NULL)
		return;
	dir = g_dir_open(path, 0, NULL);
	if (dir == NULL) {
		(void)g_remove(path);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			me_test_rm_rf(child);
		else
			(void)g_remove(child);
	}
	(void)g_rmdir(path);
}

/**
 * me_test_free_port:
 *
 * Returns: a TCP port on 127.0.0.1 that was free a moment ago
 */
guint16
me_test_free_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	gint fd = socket(AF_INET, SOCK_STREAM, 0);
	guint16 port;

	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	port = ntohs(addr.sin_port);
	close(fd);
	return port;
}

/**
 * me_test_wait_port:
 * @port: a TCP port on 127.0.0.1
 * @timeout_ms: how long to wait
 *
 * Returns: %TRUE once something accepts connections on @port
 */
gboolean
me_test_wait_port(guint16 port, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (g_get_monotonic_time() < deadline) {
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
		gint fd = socket(AF_INET, SOCK_STREAM, 0);
		gboolean ok;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
		close(fd);
		if (ok)
			return TRUE;
		g_usleep(5000);
	}
	return FALSE;
}

static gboolean
add_ext(X509 *cert, X509 *issuer, gint nid, const gchar *value)
{
	X509V3_CTX ctx;
	g_autoptr(X509_EXTENSION) ext = NULL;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	return ext != NULL && X509_add_ext(cert, ext, -1) == 1;
}

static gboolean
write_pem(const gchar *path, gboolean is_key, gpointer obj)
{
	g_autoptr(BIO) bio = BIO_new_file(path, "w");
	if (bio == NULL)
		return FALSE;
	if (is_key)
		return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL) == 1;
	return PEM_write_bio_X509(bio, obj) == 1;
}

/**
 * me_test_make_tls_cert:
 * @dir: where to write `tls-cert.pem` and `tls-key.pem`
 * @cert_path: (out): the certificate file (it is also the CA file clients trust)
 * @key_path: (out): the key file
 * @error: (nullable): return location
 *
 * A throwaway self-signed P-256 server certificate for 127.0.0.1 and localhost.
 *
 * Returns: %TRUE on success
 */
gboolean
me_test_make_tls_cert(const gchar *dir, gchar **cert_path, gchar **key_path, GError **error)
{
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, error);
	g_autoptr(X509) cert = X509_new();
	X509_NAME *name;

	if (key == NULL)
		return FALSE;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)g_random_int_range(1, G_MAXINT32));
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const guchar *)"localhost", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	if (!add_ext(cert, cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") ||
	    !add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(cert, cert, NID_ext_key_usage, "serverAuth") || X509_sign(cert, key, EVP_sha256()) == 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make test TLS certificate");
		return FALSE;
	}
	*cert_path = g_build_filename(dir, "tls-cert.pem", NULL);
	*key_path = g_build_filename(dir, "tls-key.pem", NULL);
	if (!write_pem(*cert_path, FALSE, cert) || !write_pem(*key_path, TRUE, key)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write test TLS certificate");
		return FALSE;
	}
	return TRUE;
}

/**
 * me_test_csr_dns:
 * @key: the certificate key
 * @dns_name: the DNS name (Pebble issues for `dns` identifiers only)
 *
 * Returns: (transfer full): a DER PKCS#10 request with that name as CN and SAN
 */
GBytes *
me_test_csr_dns(EVP_PKEY *key, const gchar *dns_name)
{
	g_autoptr(X509_REQ) req = X509_REQ_new();
	g_autofree gchar *san = g_strdup_printf("DNS:%s", dns_name);
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	guchar *der = NULL;
	gint len;

	X509_REQ_set_version(req, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8, (const guchar *)dns_name, -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	g_assert_nonnull(ext);
	sk_X509_EXTENSION_push(exts, ext);
	g_assert_cmpint(X509_REQ_add_extensions(req, exts), ==, 1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	g_assert_cmpint(X509_REQ_sign(req, key, EVP_sha256()), >, 0);
	len = i2d_X509_REQ(req, &der);
	g_assert_cmpint(len, >, 0);
	{
		GBytes *bytes = g_bytes_new(der, len);
		OPENSSL_free(der);
		return bytes;
	}
}

/**
 * me_test_dkim_txt:
 * @key: an RSA key
 *
 * Returns: (transfer full): the DKIM key record for @key, `v=DKIM1; k=rsa; p=...`
 */
gchar *
me_test_dkim_txt(EVP_PKEY *key)
{
	guchar *der = NULL;
	gint len = i2d_PUBKEY(key, &der);
	g_autofree gchar *b64 = NULL;

	g_assert_cmpint(len, >, 0);
	b64 = g_base64_encode(der, len);
	OPENSSL_free(der);
	return g_strdup_printf("v=DKIM1; k=rsa; p=%s", b64);
}

/**
 * me_test_spawn_sync:
 * @argv: the program and its arguments
 * @stdin_text: (nullable): text for its standard input
 * @out: (out) (optional): its standard output
 * @err: (out) (optional): its standard error
 * @status: (out) (optional): its exit status (-1 if it did not exit normally)
 *
 * Returns: %TRUE if it ran
 */
gboolean
me_test_spawn_sync(const gchar *const *argv, const gchar *stdin_text, gchar **out, gchar **err, gint *status)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out_local = NULL;
	g_autofree gchar *err_local = NULL;

	proc = g_subprocess_newv(argv,
				 G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
				     G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &error);
	if (proc == NULL) {
		g_test_message("cannot run %s: %s", argv[0], error->message);
		return FALSE;
	}
	if (!g_subprocess_communicate_utf8(proc, stdin_text, NULL, &out_local, &err_local, &error)) {
		g_test_message("%s: %s", argv[0], error->message);
		return FALSE;
	}
	if (status != NULL)
		*status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	if (out != NULL)
		*out = g_steal_pointer(&out_local);
	if (err != NULL)
		*err = g_steal_pointer(&err_local);
	return TRUE;
}

/**
 * me_test_write_tmp:
 * @dir: a directory of the test
 * @name: a file name
 * @contents: the text
 *
 * Returns: (transfer full): the path written
 */
gchar *
me_test_write_tmp(const gchar *dir, const gchar *name, const gchar *contents)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(dir, name, NULL);
	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
	return path;
}

/* the text of a frame from the helper: never empty, UTF-8 without a NUL byte */
static gchar *
frame_text(GBytes *frame, gsize *len)
{
	gsize size = 0;
	const gchar *data = g_bytes_get_data(frame, &size);
	gchar *text;

	g_assert_cmpuint(size, >, 0);
	text = g_strndup(data, size);
	g_assert_cmpuint(strlen(text), ==, size);
	g_assert_true(g_utf8_validate(text, (gssize)size, NULL));
	if (len != NULL)
		*len = size;
	return text;
}

/**
 * me_test_frame_take_text:
 * @decoder: the decoder of what the test read from the helper
 * @len: (out) (optional): the length of the text
 *
 * Takes the next whole frame out of @decoder.  The test fails if its length is above the
 * decoder's limit, or if it is empty, not UTF-8 or holds a NUL byte.
 *
 * Returns: (transfer full) (nullable): its text, or %NULL when no whole frame is buffered
 */
gchar *
me_test_frame_take_text(MeFrameDecoder *decoder, gsize *len)
{
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;

	me_frame_decoder_next(decoder, &frame, &error);
	g_assert_no_error(error);
	return frame != NULL ? frame_text(frame, len) : NULL;
}

/**
 * me_test_frame_read_text:
 * @decoder: the decoder of the stream on @fd
 * @fd: the helper's output, blocking or not
 * @timeout_ms: how long the frame may take
 * @len: (out) (optional): the length of the text
 *
 * Reads the next frame from @fd, or fails the test: on a timeout, a length above the
 * decoder's limit, an end inside a frame, and the frames me_test_frame_take_text() refuses.
 *
 * Returns: (transfer full) (nullable): its text, or %NULL when @fd ended between frames
 */
gchar *
me_test_frame_read_text(MeFrameDecoder *decoder, gint fd, guint timeout_ms, gsize *len)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;

	me_frame_decoder_read_fd(decoder, fd, deadline, &frame, &error);
	g_assert_no_error(error);
	return frame != NULL ? frame_text(frame, len) : NULL;
}

/**
 * me_test_frame_write:
 * @out: the helper's input
 * @msg: a JSON message
 *
 * Writes @msg as one native-messaging frame, as the mail client would, or fails the test.
 */
void
me_test_frame_write(GOutputStream *out, JsonNode *msg)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) frame = me_frame_encode(msg, ME_FRAME_MAX_OUTBOUND, &error);
	gsize len = 0;
	const guint8 *data;

	g_assert_no_error(error);
	data = g_bytes_get_data(frame, &len);
	g_assert_true(g_output_stream_write_all(out, data, len, NULL, NULL, &error));
	g_assert_no_error(error);
}

static void
subprocess_ended_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *ended = user_data;

	(void)g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	*ended = TRUE;
}

static gboolean
subprocess_timeout_cb(gpointer user_data)
{
	gboolean *timed_out = user_data;

	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

/**
 * me_test_subprocess_end:
 * @proc: a server the test started, already asked to stop (SIGTERM, stdin closed)
 * @what: what it is, for the test log
 * @timeout_ms: how long it may take to stop
 *
 * Waits for @proc to exit, at most @timeout_ms; then kills it (SIGKILL), says so in the
 * test log, and waits for that.  A server that hangs on its way out must not hang the
 * test with it.
 */
void
me_test_subprocess_end(GSubprocess *proc, const gchar *what, guint timeout_ms)
{
	g_autoptr(GMainContext) context = g_main_context_new();
	g_autoptr(GSource) timeout = g_timeout_source_new(timeout_ms);
	gboolean ended = FALSE;
	gboolean timed_out = FALSE;

	g_main_context_push_thread_default(context);
	g_subprocess_wait_async(proc, NULL, subprocess_ended_cb, &ended);
	g_source_set_callback(timeout, subprocess_timeout_cb, &timed_out, NULL);
	g_source_attach(timeout, context);
	while (!ended && !timed_out)
		g_main_context_iteration(context, TRUE);
	if (!ended) {
		g_test_message("%s did not stop within %u ms; killed", what, timeout_ms);
		g_subprocess_force_exit(proc);
		while (!ended)
			g_main_context_iteration(context, TRUE);
	}
	g_source_destroy(timeout);
	g_main_context_pop_thread_default(context);
}

static gchar *
pebble_config(MeTestPebble *pebble, const gchar *cert, const gchar *key, const gchar *eab_keys_json)
{
	return g_strdup_printf("{\"pebble\": {"
			       "\"listenAddress\": \"127.0.0.1:%u\","
			       "\"managementListenAddress\": \"127.0.0.1:%u\","
			       "\"certificate\": \"%s\", \"privateKey\": \"%s\","
			       "\"httpPort\": %u, \"tlsPort\": %u, \"ocspResponderURL\": \"\","
			       "\"externalAccountBindingRequired\": %s,"
			       "\"externalAccountMACKeys\": %s}}",
			       pebble->port, pebble->mgmt_port, cert, key, me_test_free_port(), me_test_free_port(),
			       eab_keys_json != NULL ? "true" : "false", eab_keys_json != NULL ? eab_keys_json : "{}");
}

/* runs in the child: Pebble dies with the test, even when the test crashes */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocessLauncher *
pebble_launcher(MeTestPebble *pebble, const gchar *const *envp)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	g_subprocess_launcher_set_stdout_file_path(launcher, pebble->log_path);
	g_subprocess_launcher_take_stderr_fd(launcher, -1);
	g_subprocess_launcher_set_flags(launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	/* a fast, deterministic CA: every challenge passes, no artificial sleeps */
	g_subprocess_launcher_setenv(launcher, "PEBBLE_VA_ALWAYS_VALID", "1", TRUE);
	g_subprocess_launcher_setenv(launcher, "PEBBLE_VA_NOSLEEP", "1", TRUE);
	g_subprocess_launcher_setenv(launcher, "PEBBLE_WFE_NONCEREJECT", "0", TRUE);
	g_subprocess_launcher_setenv(launcher, "PEBBLE_AUTHZREUSE", "0", TRUE);
	for (guint i = 0; envp != NULL && envp[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(envp[i], "=", 2);
		g_subprocess_launcher_setenv(launcher, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
	}
	return launcher;
}

/**
 * me_test_pebble_start:
 * @envp: (nullable): extra `NAME=VALUE` settings, e.g. `PEBBLE_WFE_NONCEREJECT=50`
 * @eab_keys_json: (nullable): a JSON object of EAB key IDs to base64url MAC keys; when
 *   given, Pebble requires external account binding
 * @error: (nullable): return location
 *
 * Starts Pebble on free ports of 127.0.0.1 with a TLS certificate made for the run.
 *
 * Returns: (transfer full): the running Pebble, or %NULL with @error set
 */
MeTestPebble *
me_test_pebble_start(const gchar *const *envp, const gchar *eab_keys_json, GError **error)
{
	g_autoptr(MeTestPebble) pebble = g_new0(MeTestPebble, 1);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree gchar *key = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *config_path = NULL;
	const gchar *binary = g_getenv("ME_TEST_PEBBLE") != NULL ? g_getenv("ME_TEST_PEBBLE") : "pebble";

	pebble->dir = me_test_tmpdir();
	pebble->log_path = g_build_filename(pebble->dir, "pebble.log", NULL);
	if (!me_test_make_tls_cert(pebble->dir, &pebble->ca_file, &key, error))
		return NULL;
	pebble->port = me_test_free_port();
	pebble->mgmt_port = me_test_free_port();
	config = pebble_config(pebble, pebble->ca_file, key, eab_keys_json);
	config_path = me_test_write_tmp(pebble->dir, "pebble.json", config);
	launcher = pebble_launcher(pebble, envp);
	pebble->proc = g_subprocess_launcher_spawn(launcher, error, binary, "-config", config_path, "-strict=false", NULL);
	if (pebble->proc == NULL)
		return NULL;
	if (!me_test_wait_port(pebble->port, 10000)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Pebble did not start");
		return NULL;
	}
	pebble->directory_url = g_strdup_printf("https://127.0.0.1:%u/dir", pebble->port);
	return g_steal_pointer(&pebble);
}

void
me_test_pebble_stop(MeTestPebble *pebble)
{
	if (pebble == NULL)
		return;
	if (pebble->proc != NULL) {
		g_subprocess_force_exit(pebble->proc);
		me_test_subprocess_end(pebble->proc, "Pebble", 15000);
		g_object_unref(pebble->proc);
	}
	me_test_rm_rf(pebble->dir);
	g_free(pebble->dir);
	g_free(pebble->directory_url);
	g_free(pebble->ca_file);
	g_free(pebble->log_path);
	g_free(pebble);
}

/**
 * me_test_pebble_get_pem:
 * @pebble: a running Pebble
 * @path: a management path, e.g. `/roots/0` or `/intermediates/0`
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the PEM Pebble serves there
 */
gchar *
me_test_pebble_get_pem(MeTestPebble *pebble, const gchar *path, GError **error)
{
	g_autoptr(MeHttp) http = me_http_new();
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *url = g_strdup_printf("https://127.0.0.1:%u%s", pebble->mgmt_port, path);

	me_http_set_ca_file(http, pebble->ca_file);
	response = me_http_request(http, "GET", url, NULL, NULL, NULL, error);
	if (response == NULL)
		return NULL;
	return g_strndup(g_bytes_get_data(response->body, NULL), g_bytes_get_size(response->body));
}

/**
 * me_test_pebble_count_requests:
 * @pebble: a running Pebble
 * @needle: a substring of Pebble's handler log lines, e.g. `POST /chalZ/`
 *
 * Returns: how many requests Pebble has logged that contain @needle
 */
guint
me_test_pebble_count_requests(MeTestPebble *pebble, const gchar *needle)
{
	g_autofree gchar *log = NULL;
	g_auto(GStrv) lines = NULL;
	guint count = 0;

	if (!g_file_get_contents(pebble->log_path, &log, NULL, NULL))
		return 0;
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], "-> calling handler()") != NULL && strstr(lines[i], needle) != NULL)
			count++;
	}
	return count;
}

static gboolean
acme_ca_read_control(MeTestAcmeCa *ca, GError **error)
{
	g_autoptr(GDataInputStream) lines = g_data_input_stream_new(g_subprocess_get_stdout_pipe(ca->proc));

	/* keep the pipe open after READY: the CA still writes STOPPED into it at the end */
	g_filter_input_stream_set_close_base_stream(G_FILTER_INPUT_STREAM(lines), FALSE);

	for (;;) {
		g_autofree gchar *line = g_data_input_stream_read_line_utf8(lines, NULL, NULL, error);
		gchar *eq;
		if (line == NULL) {
			if (error != NULL && *error == NULL)
				g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the test CA exited before READY");
			return FALSE;
		}
		if (g_strcmp0(line, "READY") == 0)
			return TRUE;
		eq = strchr(line, '=');
		if (eq != NULL) {
			*eq = '\0';
			g_hash_table_insert(ca->control, g_strdup(line), g_strdup(eq + 1));
		}
	}
}

/**
 * me_test_acme_ca_start:
 * @switches: (nullable): extra command-line switches, e.g. `--token-join`, `binary`
 * @error: (nullable): return location
 *
 * Starts tests/acme-ca with Debian's python on random loopback ports; it exits with the
 * test because its standard input is a pipe that closes when the test ends.
 *
 * Returns: (transfer full): the running CA, or %NULL with @error set
 */
MeTestAcmeCa *
me_test_acme_ca_start(const gchar *const *switches, GError **error)
{
	g_autoptr(MeTestAcmeCa) ca = g_new0(MeTestAcmeCa, 1);
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "acme-ca", "acme-ca.py", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	g_ptr_array_add(argv, (gpointer)me_test_python());
	g_ptr_array_add(argv, script);
	g_ptr_array_add(argv, (gpointer) "--exit-on-stdin-eof");
	for (guint i = 0; switches != NULL && switches[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)switches[i]);
	g_ptr_array_add(argv, NULL);
	ca->control = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ca->proc = g_subprocess_newv((const gchar *const *)argv->pdata,
				     G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
	if (ca->proc == NULL || !acme_ca_read_control(ca, error))
		return NULL;
	return g_steal_pointer(&ca);
}

/**
 * me_test_acme_ca_get:
 * @ca: a running test CA
 * @key: a control key such as `DIRECTORY`, `CA_FILE`, `MAILDIR`, `DROP_DIR`
 *
 * Returns: (transfer none): the value it printed
 */
const gchar *
me_test_acme_ca_get(MeTestAcmeCa *ca, const gchar *key)
{
	const gchar *value = g_hash_table_lookup(ca->control, key);
	g_assert_nonnull(value);
	return value;
}

/**
 * me_test_acme_ca_status:
 * @ca: a running test CA
 *
 * Returns: (transfer full): the CA's status document
 */
JsonObject *
me_test_acme_ca_status(MeTestAcmeCa *ca)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	json_parser_load_from_file(parser, me_test_acme_ca_get(ca, "STATUS_FILE"), &error);
	g_assert_no_error(error);
	return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

void
me_test_acme_ca_stop(MeTestAcmeCa *ca)
{
	if (ca == NULL)
		return;
	if (ca->proc != NULL) {
		/* closing stdin asks it to stop and clean its state dir; SIGTERM if it lingers */
		g_output_stream_close(g_subprocess_get_stdin_pipe(ca->proc), NULL, NULL);
		g_subprocess_send_signal(ca->proc, SIGTERM);
		me_test_subprocess_end(ca->proc, "the test CA", 15000);
		g_object_unref(ca->proc);
	}
	g_hash_table_unref(ca->control);
	g_free(ca);
}

/**
 * me_test_acme_ca_wait_mail:
 * @ca: a running test CA
 *
 * Waits, bounded to 5 s, for the next challenge mail in the CA's Maildir and moves it from
 * `new/` to `cur/`, as a mail reader does, so the next call returns the next mail.
 *
 * Returns: (transfer full): its bytes
 */
GBytes *
me_test_acme_ca_wait_mail(MeTestAcmeCa *ca)
{
	g_autofree gchar *dir = g_build_filename(me_test_acme_ca_get(ca, "MAILDIR"), "new", NULL);

	for (guint i = 0; i < 250; i++) {
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const gchar *name = d != NULL ? g_dir_read_name(d) : NULL;
		if (name != NULL) {
			g_autofree gchar *path = g_build_filename(dir, name, NULL);
			g_autofree gchar *seen = g_strdup_printf("%s/../cur/%s:2,S", dir, name);
			gchar *text = NULL;
			gsize len = 0;
			g_assert_true(g_file_get_contents(path, &text, &len, NULL));
			g_assert_cmpint(g_rename(path, seen), ==, 0);
			return g_bytes_new_take(text, len);
		}
		g_usleep(20000);
	}
	g_assert_not_reached();
	return NULL;
}

/**
 * me_test_make_cert:
 * @cn: the subject's common name
 * @subject_key: the key the certificate certifies
 * @issuer: (nullable): the issuing certificate; %NULL for a self-signed one
 * @issuer_key: the key that signs
 * @is_ca: a CA certificate (keyCertSign) or an S/MIME one (digitalSignature,
 *   keyEncipherment, EKU emailProtection)
 * @san_email: (nullable): the rfc822Name for subjectAltName
 *
 * Makes a certificate valid from an hour ago for a day, with a random 128-bit serial whose
 * top bit is set.
 *
 * Returns: (transfer full): the certificate
 */
X509 *
me_test_make_cert(const gchar *cn, EVP_PKEY *subject_key, X509 *issuer, EVP_PKEY *issuer_key, gboolean is_ca,
		  const gchar *san_email)
{
	g_autoptr(X509) cert = X509_new();
	g_autoptr(X509_NAME) name = X509_NAME_new();
	X509V3_CTX ctx;
	guint8 serial[16];
	g_autoptr(BIGNUM) bn = NULL;

	g_assert_nonnull(cert);
	g_assert_true(X509_set_version(cert, X509_VERSION_3));
	/* random like a real CA's, with the top bit set so the DER INTEGER needs a leading zero */
	g_assert_cmpint(RAND_bytes(serial, sizeof(serial)), ==, 1);
	serial[0] |= 0x80;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	g_assert_nonnull(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)));
	g_assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const guchar *)cn, -1, -1, 0));
	g_assert_true(X509_set_subject_name(cert, name));
	g_assert_true(X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name));
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
	g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
	g_assert_true(X509_set_pubkey(cert, subject_key));

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	{
		const gchar *exts[][2] = {
		    {"basicConstraints", is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
		    {"keyUsage", is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment"},
		    {"subjectKeyIdentifier", "hash"},
		    {"authorityKeyIdentifier", "keyid:always"},
		    {"extendedKeyUsage", is_ca ? NULL : "emailProtection"},
		};
		for (gsize i = 0; i < G_N_ELEMENTS(exts); i++) {
			g_autoptr(X509_EXTENSION) ext = NULL;
			if (exts[i][1] == NULL)
				continue;
			ext = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
			g_assert_nonnull(ext);
			g_assert_true(X509_add_ext(cert, ext, -1));
		}
		if (san_email != NULL) {
			g_autofree gchar *value = g_strdup_printf("email:%s", san_email);
			g_autoptr(X509_EXTENSION) ext = X509V3_EXT_conf(NULL, &ctx, "subjectAltName", value);
			g_assert_nonnull(ext);
			g_assert_true(X509_add_ext(cert, ext, -1));
		}
	}
	g_assert_cmpint(X509_sign(cert, issuer_key, EVP_sha256()), >, 0);
	return g_steal_pointer(&cert);
}

/* ---- JSON-RPC answers */

/* @json parsed; the test fails when it is not JSON */
JsonNode *
me_test_json_parse(const gchar *json)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	json_parser_load_from_data(parser, json, -1, &error);
	g_assert_no_error(error);
	return json_node_ref(json_parser_get_root(parser));
}

JsonObject *
me_test_json_object(JsonNode *node)
{
	g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
	return json_node_get_object(node);
}

/* asserts @answer is the result of call @id; returns the result object, %NULL for a result
 * of another type */
JsonObject *
me_test_rpc_assert_result(JsonNode *answer, gint64 id)
{
	JsonObject *response = me_test_json_object(answer);

	g_assert_cmpstr(json_object_get_string_member(response, "jsonrpc"), ==, "2.0");
	g_assert_cmpint(json_object_get_int_member(response, "id"), ==, id);
	g_assert_false(json_object_has_member(response, "error"));
	g_assert_true(json_object_has_member(response, "result"));
	if (!JSON_NODE_HOLDS_OBJECT(json_object_get_member(response, "result")))
		return NULL;
	return json_object_get_object_member(response, "result");
}

/* asserts @answer is an error with @code, one sentence and its table name, for call @id
 * (@id < 0: a null id); returns error.data */
JsonObject *
me_test_rpc_assert_error(JsonNode *answer, gint64 id, gint code)
{
	JsonObject *response = me_test_json_object(answer);
	g_autoptr(GError) as_gerror = NULL;
	JsonObject *error;
	JsonObject *data;

	g_assert_cmpstr(json_object_get_string_member(response, "jsonrpc"), ==, "2.0");
	g_assert_false(json_object_has_member(response, "result"));
	if (id < 0)
		g_assert_true(json_object_get_null_member(response, "id"));
	else
		g_assert_cmpint(json_object_get_int_member(response, "id"), ==, id);
	error = json_object_get_object_member(response, "error");
	g_assert_nonnull(error);
	g_assert_cmpint(json_object_get_int_member(error, "code"), ==, code);
	as_gerror = g_error_new_literal(ME_ERROR, ME_ERROR_FAILED, json_object_get_string_member(error, "message"));
	me_test_assert_sentence(as_gerror);
	data = json_object_get_object_member(error, "data");
	g_assert_nonnull(data);
	if (me_rpc_error_name(code) != NULL)
		g_assert_cmpstr(json_object_get_string_member(data, "name"), ==, me_rpc_error_name(code));
	return data;
}

/**
 * me_test_allow_core_dumps:
 *
 * Raises this process's soft core-file limit to its hard one, so that the binaries a test
 * starts would dump core unless they turn it off themselves.  The test program itself stays
 * undumpable (PR_SET_DUMPABLE 0, which execve() resets for the children): a failed assertion
 * must not leave a core file of the test in the working folder.
 *
 * Returns: %FALSE when the hard limit is 0 (nothing to tell apart; the caller skips)
 */
gboolean
me_test_allow_core_dumps(void)
{
	struct rlimit lim;

	g_assert_cmpint(getrlimit(RLIMIT_CORE, &lim), ==, 0);
	if (lim.rlim_max == 0)
		return FALSE;
	g_assert_cmpint(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), ==, 0);
	lim.rlim_cur = lim.rlim_max;
	g_assert_cmpint(setrlimit(RLIMIT_CORE, &lim), ==, 0);
	return TRUE;
}

/* the "Max core file size" line of /proc/PID/limits: its soft and hard values */
static gboolean
core_limits(const gchar *pid, gchar **soft, gchar **hard)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%s/limits", pid);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) words = NULL;
		if (!g_str_has_prefix(lines[i], "Max core file size"))
			continue;
		words = g_strsplit_set(lines[i] + strlen("Max core file size"), " ", -1);
		for (guint j = 0; words[j] != NULL; j++) {
			if (words[j][0] == '\0')
				continue;
			if (*soft == NULL)
				*soft = g_strdup(words[j]);
			else if (*hard == NULL)
				*hard = g_strdup(words[j]);
		}
		return *soft != NULL && *hard != NULL;
	}
	return FALSE;
}

/**
 * me_test_assert_no_core_dumps:
 * @pid: a running process of ours (its /proc folder), started after me_test_allow_core_dumps()
 *
 * Asserts that the process has turned core dumps off (RLIMIT_CORE 0, soft and hard), waiting
 * up to 10 s for it to get there, and, when the test does not run as root, that it is not
 * dumpable (PR_SET_DUMPABLE 0 gives its /proc files to root).
 */
void
me_test_assert_no_core_dumps(const gchar *pid)
{
	g_autofree gchar *soft = NULL;
	g_autofree gchar *hard = NULL;
	g_autofree gchar *status = g_strdup_printf("/proc/%s/status", pid);
	GStatBuf st;

	for (guint i = 0; i < 100; i++) {
		g_clear_pointer(&soft, g_free);
		g_clear_pointer(&hard, g_free);
		g_assert_true(core_limits(pid, &soft, &hard));
		if (g_strcmp0(soft, "0") == 0 && g_strcmp0(hard, "0") == 0)
			break;
		g_usleep(100 * 1000);
	}
	g_test_message("process %s: core file size %s (soft), %s (hard)", pid, soft, hard);
	g_assert_cmpstr(soft, ==, "0");
	g_assert_cmpstr(hard, ==, "0");
	if (getuid() != 0) {
		g_assert_cmpint(g_stat(status, &st), ==, 0);
		g_assert_cmpuint(st.st_uid, ==, 0);
	} else {
		g_test_message("running as root: PR_SET_DUMPABLE is checked by /encoding/harden-process only");
	}
}
