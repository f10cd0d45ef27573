/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * me-acme-issue: one complete issuance through the mailenroll ACME core, for the
 * benchmark harness (tests/bench/acme-bench.sh) to time beside the peer clients.
 *
 *   me-acme-issue --directory URL --ca-file PEM --state DIR register
 *   me-acme-issue --directory URL --ca-file PEM --state DIR --name NAME new|existing
 *
 * `register` makes a throwaway benchmark account and leaves its key, its URL and the
 * CA's directory in DIR for `existing` runs (this is a benchmark against a local Pebble: the real product
 * keeps account keys in the keyring).  `new` makes a fresh account per run.  The
 * certificate goes to DIR/cert.pem; one line of counters goes to stderr.
 */

#include "config.h"

#include <stdio.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "keys.h"
#include "test-util.h"

typedef struct {
	gchar *directory;
	gchar *ca_file;
	gchar *state;
	gchar *name;
	gchar *mode;
} Options;

static gboolean
finish(MeAcmeClient *client, MeAcmeOrder *order, GBytes *csr, const gchar *cert_path, GError **error)
{
	g_autoptr(MeAcmeOrder) done = me_acme_order_finalize(client, order, csr, error);
	g_autoptr(MeAcmeChain) chain = NULL;

	if (done == NULL)
		return FALSE;
	chain = me_acme_order_download(client, done->certificate, error);
	if (chain == NULL)
		return FALSE;
	return g_file_set_contents(cert_path, chain->pem, -1, error);
}

static gboolean
issue(MeAcmeClient *client, const gchar *name, const gchar *cert_path, GError **error)
{
	MeAcmeIdentifier id = {.type = (gchar *)"dns", .value = (gchar *)name};
	g_autoptr(EVP_PKEY) cert_key = NULL;
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(MeAcmeAuthz) valid = NULL;
	g_autoptr(MeAcmeChallenge) answered = NULL;
	g_autoptr(GBytes) csr = NULL;
	const MeAcmeChallenge *challenge;

	order = me_acme_order_new(client, &id, 1, NULL, error);
	if (order == NULL)
		return FALSE;
	authz = me_acme_authz_get(client, order->authorizations[0], error);
	if (authz == NULL)
		return FALSE;
	/* a CA may hand out an authorization that is valid already: nothing to prove */
	if (g_strcmp0(authz->status, "valid") == 0) {
		cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, error);
		if (cert_key == NULL)
			return FALSE;
		csr = me_test_csr_dns(cert_key, name);
		return finish(client, order, csr, cert_path, error);
	}
	challenge = me_acme_authz_find_challenge(authz, "http-01");
	if (challenge == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED, "no http-01 challenge");
		return FALSE;
	}
	answered = me_acme_challenge_respond(client, challenge->url, error);
	if (answered == NULL)
		return FALSE;
	/* the key and the CSR are made while the CA validates; the poll's first wait counts
	 * from the challenge response, so this time is not waited again */
	cert_key = me_key_generate(ME_KEY_TYPE_EC_P256, error);
	if (cert_key == NULL)
		return FALSE;
	csr = me_test_csr_dns(cert_key, name);
	/* a challenge that is already valid needs no poll */
	if (g_strcmp0(answered->status, "valid") != 0) {
		valid = me_acme_authz_poll(client, authz->url, error);
		if (valid == NULL)
			return FALSE;
	}
	return finish(client, order, csr, cert_path, error);
}

static gboolean
account_register(MeAcmeClient *client, const Options *opts, gboolean save, GError **error)
{
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, error);
	g_autoptr(MeAcmeAccount) account = NULL;
	g_autoptr(MeSecretStr) pem = NULL;
	g_autofree gchar *key_path = g_build_filename(opts->state, "account.pem", NULL);
	g_autofree gchar *url_path = g_build_filename(opts->state, "account.url", NULL);
	g_autofree gchar *dir_path = g_build_filename(opts->state, "directory.json", NULL);
	g_autoptr(GBytes) dir_json = NULL;
	MeAcmeAccountRequest req = {.terms_agreed = TRUE};

	if (key == NULL)
		return FALSE;
	me_acme_client_set_account_key(client, key);
	account = me_acme_client_new_account(client, &req, error);
	if (account == NULL)
		return FALSE;
	if (!save)
		return TRUE;
	pem = me_key_to_pem(key, error);
	dir_json = me_acme_client_get_directory_json(client);
	return pem != NULL && g_file_set_contents_full(key_path, pem, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error) &&
	       g_file_set_contents(url_path, account->url, -1, error) &&
	       g_file_set_contents(dir_path, g_bytes_get_data(dir_json, NULL), g_bytes_get_size(dir_json), error);
}

static gboolean
account_load(MeAcmeClient *client, const Options *opts, GError **error)
{
	g_autofree gchar *key_path = g_build_filename(opts->state, "account.pem", NULL);
	g_autofree gchar *url_path = g_build_filename(opts->state, "account.url", NULL);
	g_autofree gchar *dir_path = g_build_filename(opts->state, "directory.json", NULL);
	g_autoptr(MeSecretStr) pem = NULL;
	g_autofree gchar *url = NULL;
	g_autofree gchar *dir_text = NULL;
	gsize dir_len = 0;
	g_autoptr(EVP_PKEY) key = NULL;
	gsize len = 0;

	if (!g_file_get_contents(key_path, &pem, &len, error) || !g_file_get_contents(url_path, &url, NULL, error))
		return FALSE;
	/* a returning client keeps the directory with its account, as the product's state does */
	if (g_file_get_contents(dir_path, &dir_text, &dir_len, NULL)) {
		g_autoptr(GBytes) dir_json = g_bytes_new_take(g_steal_pointer(&dir_text), dir_len);
		if (!me_acme_client_load_directory(client, dir_json, error))
			return FALSE;
	}
	key = me_key_from_pem(pem, len, error);
	if (key == NULL)
		return FALSE;
	me_acme_client_set_account_key(client, key);
	me_acme_client_set_account_url(client, g_strstrip(url));
	return TRUE;
}

static gboolean
run(const Options *opts, MeAcmeClient *client, GError **error)
{
	g_autofree gchar *cert_path = g_build_filename(opts->state, "cert.pem", NULL);

	if (g_strcmp0(opts->mode, "register") == 0)
		return account_register(client, opts, TRUE, error);
	if (opts->name == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT, "--name is required");
		return FALSE;
	}
	if (g_strcmp0(opts->mode, "new") == 0) {
		if (!account_register(client, opts, FALSE, error))
			return FALSE;
	} else if (g_strcmp0(opts->mode, "existing") == 0) {
		if (!account_load(client, opts, error))
			return FALSE;
	} else {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT, "unknown mode %s", opts->mode);
		return FALSE;
	}
	return issue(client, opts->name, cert_path, error);
}

/* the process's own view of its memory: the harness measures the peak of everything,
 * shared library pages included; this tells how much of it is private */
static gchar *
memory_line(void)
{
	g_autofree gchar *status = NULL;
	g_auto(GStrv) lines = NULL;
	GString *out = g_string_new(NULL);

	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return g_string_free(out, FALSE);
	lines = g_strsplit(status, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "VmHWM:") || g_str_has_prefix(lines[i], "RssAnon:") ||
		    g_str_has_prefix(lines[i], "RssFile:")) {
			g_auto(GStrv) kv = g_strsplit_set(lines[i], ": \t", -1);
			g_string_append_printf(out, " %s_kib=%s", kv[0], kv[g_strv_length(kv) - 2]);
		}
	}
	return g_string_free(out, FALSE);
}

int
main(int argc, char **argv)
{
	Options opts = {0};
	GOptionEntry entries[] = {
	    {"directory", 0, 0, G_OPTION_ARG_STRING, &opts.directory, "ACME directory URL", "URL"},
	    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opts.ca_file, "CA file of the server", "PEM"},
	    {"state", 0, 0, G_OPTION_ARG_FILENAME, &opts.state, "state directory", "DIR"},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &opts.name, "DNS name to issue for", "NAME"},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("register|new|existing");
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeClient) client = NULL;
	MeHttp *http;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc != 2 || opts.directory == NULL ||
	    opts.state == NULL) {
		fprintf(stderr, "usage: %s --directory URL --ca-file PEM --state DIR [--name NAME] register|new|existing\n",
			g_get_prgname());
		return 2;
	}
	opts.mode = argv[1];
	client = me_acme_client_new(opts.directory);
	http = me_acme_client_get_http(client);
	me_http_set_ca_file(http, opts.ca_file);
	if (!run(&opts, client, &error)) {
		fprintf(stderr, "me-acme-issue: %s\n", error->message);
		return 1;
	}
	{
		g_autofree gchar *mem = memory_line();
		fprintf(stderr, "me-acme-issue: requests=%u connections=%u bad_nonce_retries=%u%s\n",
			me_http_get_request_count(http), me_http_get_connection_count(http),
			me_acme_client_get_bad_nonce_count(client), mem);
	}
	return 0;
}
