/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the JSON-RPC 2.0 server of mailenroll-helper: requests, notifications and batches from
 * the extension, `hello`, and requests of the helper's own to the extension, over
 * native-messaging frames (frame.h); the wire contract is messaging/PROTOCOL.md */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "frame.h"
#include "rpc-error.h"

G_BEGIN_DECLS

/* the largest message the server sends: what native messaging lets a host send */
#define ME_RPC_MAX_OUTBOUND ME_FRAME_MAX_OUTBOUND
/* the product's default inbound cap (config key max-frame-bytes) */
#define ME_RPC_DEFAULT_MAX_INBOUND (16 * 1024 * 1024)
/* the range of inbound caps accepted */
#define ME_RPC_MIN_INBOUND 1024
#define ME_RPC_MAX_INBOUND (1024 * 1024 * 1024)
/* arrays and objects nested deeper than this are refused before parsing */
#define ME_RPC_MAX_DEPTH 64
/* requests in one batch */
#define ME_RPC_MAX_BATCH 256
/* the longest method name taken */
#define ME_RPC_METHOD_MAX 128
/* the longest string id taken (bytes) */
#define ME_RPC_ID_MAX 256

/**
 * MeRpcServer:
 *
 * One JSON-RPC 2.0 connection over native-messaging frames: a final #GObject, so it is
 * reference counted (g_object_unref(), g_autoptr()) and tells the end of the connection
 * with the #MeRpcServer::closed signal.  Every pending read, write, call and outgoing
 * request holds a reference, so it lives until they are done; me_rpc_server_close() ends
 * reading.  Single-threaded: use it from the thread whose thread-default main context was
 * current when it was made.
 */
#define ME_TYPE_RPC_SERVER (me_rpc_server_get_type())
G_DECLARE_FINAL_TYPE(MeRpcServer, me_rpc_server, ME, RPC_SERVER, GObject)

/**
 * MeRpcCall:
 *
 * One incoming request or notification, handed to a #MeRpcMethodFunc.  The handler must
 * complete it exactly once, at once or later, with me_rpc_call_return(),
 * me_rpc_call_return_error() or me_rpc_call_return_error_literal(); completing frees it.
 * For a notification nothing is sent, but the call must still be completed.
 */
typedef struct _MeRpcCall MeRpcCall;

/**
 * MeRpcMethodFunc:
 * @server: the server
 * @params: (nullable): the request's `params` (an object or an array), or %NULL if absent
 * @call: (transfer full): the call to complete
 * @user_data: the data given to me_rpc_server_add_method()
 *
 * Handles one request.  @params is valid until @call is completed.
 */
typedef void (*MeRpcMethodFunc)(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data);

MeRpcServer *
me_rpc_server_new(GInputStream *input, GOutputStream *output, gsize max_inbound);
void
me_rpc_server_add_method(MeRpcServer *server, const gchar *name, MeRpcMethodFunc func, gpointer user_data,
			 GDestroyNotify destroy);
void
me_rpc_server_add_unlisted_method(MeRpcServer *server, const gchar *name, MeRpcMethodFunc func, gpointer user_data,
				  GDestroyNotify destroy);
void
me_rpc_server_add_event(MeRpcServer *server, const gchar *name);
void
me_rpc_server_start(MeRpcServer *server);
gboolean
me_rpc_server_is_closed(MeRpcServer *server);
guint
me_rpc_server_get_protocol(MeRpcServer *server);
const gchar *
me_rpc_server_get_client(MeRpcServer *server);
void
me_rpc_server_set_extension_id(MeRpcServer *server, const gchar *extension_id);
const gchar *
me_rpc_server_get_profile(MeRpcServer *server);
gboolean
me_rpc_server_notify(MeRpcServer *server, const gchar *method, JsonNode *params, GError **error);
void
me_rpc_server_request(MeRpcServer *server, const gchar *method, JsonNode *params, GCancellable *cancellable,
		      GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
me_rpc_server_request_finish(MeRpcServer *server, GAsyncResult *result, GError **error);
void
me_rpc_server_close(MeRpcServer *server);
void
me_rpc_server_flush(MeRpcServer *server, GAsyncReadyCallback callback, gpointer user_data);
gboolean
me_rpc_server_flush_finish(MeRpcServer *server, GAsyncResult *result, GError **error);

const gchar *
me_rpc_call_get_method(MeRpcCall *call);
gboolean
me_rpc_call_is_notification(MeRpcCall *call);
void
me_rpc_call_return(MeRpcCall *call, JsonNode *result);
void
me_rpc_call_return_error(MeRpcCall *call, const GError *error);
void
me_rpc_call_return_error_literal(MeRpcCall *call, gint code, const gchar *message);

G_END_DECLS
