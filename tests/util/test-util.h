/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* shared fixtures for the tests: temporary dirs, ports, throwaway TLS certs, CSRs,
 * external programs, and a Pebble started on 127.0.0.1 */

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "frame.h"

G_BEGIN_DECLS

void
me_test_assert_sentence(const GError *error);
const gchar *
me_test_python(void);
gchar *
me_test_tmpdir(void);
void
me_test_rm_rf(const gchar *path);
guint16
me_test_free_port(void);
gboolean
me_test_wait_port(guint16 port, guint timeout_ms);
gboolean
me_test_make_tls_cert(const gchar *dir, gchar **cert_path, gchar **key_path, GError **error);
GBytes *
me_test_csr_dns(EVP_PKEY *key, const gchar *dns_name);
gboolean
me_test_spawn_sync(const gchar *const *argv, const gchar *stdin_text, gchar **out, gchar **err, gint *status);
gboolean
me_test_allow_core_dumps(void);
void
me_test_assert_no_core_dumps(const gchar *pid);
void
me_test_subprocess_end(GSubprocess *proc, const gchar *what, guint timeout_ms);
gchar *
me_test_write_tmp(const gchar *dir, const gchar *name, const gchar *contents);

/* native-messaging frames from the helper, through the library's decoder */
gchar *
me_test_frame_take_text(MeFrameDecoder *decoder, gsize *len);
gchar *
me_test_frame_read_text(MeFrameDecoder *decoder, gint fd, guint timeout_ms, gsize *len);
void
me_test_frame_write(GOutputStream *out, JsonNode *msg);

/* JSON-RPC answers as the tests of the host and its server read them */
JsonNode *
me_test_json_parse(const gchar *json);
JsonObject *
me_test_json_object(JsonNode *node);
JsonObject *
me_test_rpc_assert_result(JsonNode *answer, gint64 id);
JsonObject *
me_test_rpc_assert_error(JsonNode *answer, gint64 id, gint code);

typedef struct {
	GSubprocess *proc;
	gchar *dir;
	gchar *directory_url;
	gchar *ca_file;
	gchar *log_path;
	guint16 port;
	guint16 mgmt_port;
} MeTestPebble;

MeTestPebble *
me_test_pebble_start(const gchar *const *envp, const gchar *eab_keys_json, GError **error);
void
me_test_pebble_stop(MeTestPebble *pebble);
gchar *
me_test_pebble_get_pem(MeTestPebble *pebble, const gchar *path, GError **error);
guint
me_test_pebble_count_requests(MeTestPebble *pebble, const gchar *needle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestPebble, me_test_pebble_stop)

/* the project's RFC 8823 test CA (tests/acme-ca), one per test */
typedef struct {
	GSubprocess *proc;
	GHashTable *control; /* the KEY=VALUE lines it printed before READY */
} MeTestAcmeCa;

MeTestAcmeCa *
me_test_acme_ca_start(const gchar *const *switches, GError **error);
const gchar *
me_test_acme_ca_get(MeTestAcmeCa *ca, const gchar *key);
JsonObject *
me_test_acme_ca_status(MeTestAcmeCa *ca);
void
me_test_acme_ca_stop(MeTestAcmeCa *ca);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestAcmeCa, me_test_acme_ca_stop)
GBytes *
me_test_acme_ca_wait_mail(MeTestAcmeCa *ca);
gchar *
me_test_dkim_txt(EVP_PKEY *key);

X509 *
me_test_make_cert(const gchar *cn, EVP_PKEY *subject_key, X509 *issuer, EVP_PKEY *issuer_key, gboolean is_ca,
		  const gchar *san_email);

G_END_DECLS
