/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* tests/util/fault-server.py, a loopback HTTPS server that misbehaves on purpose (one
 * scenario per run), for the faults a real CA cannot be made to produce */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "http.h"

G_BEGIN_DECLS

typedef struct {
	GSubprocess *proc;
	gchar *ca_file;
	gchar *key_file;
	gchar *base;
	guint16 port;
	/* the same server over plain HTTP: where its http:// URLs point */
	guint16 plain_port;
	MeHttp *stats_http;
} MeTestFaultServer;

MeTestFaultServer *
me_test_fault_server_start(const gchar *dir, const gchar *scenario, const gchar *chain_path);
void
me_test_fault_server_stop(MeTestFaultServer *fs);
JsonNode *
me_test_fault_server_stats(MeTestFaultServer *fs);
gboolean
me_test_fault_server_wait_exit(GSubprocess *proc, guint timeout_ms);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestFaultServer, me_test_fault_server_stop)

G_END_DECLS
