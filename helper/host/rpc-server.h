/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* WebExtension native messaging (a 4-byte native-endian length, then that many bytes of
 * UTF-8 JSON) carrying JSON-RPC 2.0 in both directions; the wire contract is
 * messaging/PROTOCOL.md */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "me-error.h"

G_BEGIN_DECLS

/* the largest message a host may send: Thunderbird disconnects at 1 MiB + 1 */
#define ME_RPC_MAX_OUTBOUND (1024 * 1024)
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
 * MeRpcErrorCode:
 * @ME_RPC_ERROR_PARSE: the message is not valid UTF-8 JSON
 * @ME_RPC_ERROR_INVALID_REQUEST: the message is not a valid request (also: a frame that is
 *   empty, too large or too deeply nested; an empty or too large batch)
 * @ME_RPC_ERROR_METHOD_NOT_FOUND: no such method
 * @ME_RPC_ERROR_INVALID_PARAMS: the parameters do not fit the method
 * @ME_RPC_ERROR_INTERNAL: the helper could not produce an answer
 * @ME_RPC_ERROR_PROTOCOL_UNSUPPORTED: `hello` found no protocol version in common
 * @ME_RPC_ERROR_HELLO_REQUIRED: a method was called before `hello`
 * @ME_RPC_ERROR_RESPONSE_TOO_LARGE: the answer would exceed %ME_RPC_MAX_OUTBOUND
 *
 * The JSON-RPC error codes of the protocol itself.  The codes of the core's #MeError
 * values lie in -32010..-32099; see me_rpc_error_code_from_gerror().
 */
typedef enum {
	ME_RPC_ERROR_PARSE = -32700,
	ME_RPC_ERROR_INVALID_REQUEST = -32600,
	ME_RPC_ERROR_METHOD_NOT_FOUND = -32601,
	ME_RPC_ERROR_INVALID_PARAMS = -32602,
	ME_RPC_ERROR_INTERNAL = -32603,
	ME_RPC_ERROR_PROTOCOL_UNSUPPORTED = -32001,
	ME_RPC_ERROR_HELLO_REQUIRED = -32002,
	ME_RPC_ERROR_RESPONSE_TOO_LARGE = -32003,
} MeRpcErrorCode;

/**
 * MeRpcErrorInfo:
 * @code: the JSON-RPC error code
 * @name: its stable name, sent as `error.data.name`
 * @me_error: the #MeError it stands for, or 0 for the protocol's own codes
 * @meaning: one line for PROTOCOL.md (not translated)
 *
 * One row of the error table.
 */
typedef struct {
	gint code;
	const gchar *name;
	gint me_error;
	const gchar *meaning;
} MeRpcErrorInfo;

const MeRpcErrorInfo *
me_rpc_error_table(gsize *n_entries);
const gchar *
me_rpc_error_name(gint code);
gint
me_rpc_error_code_from_gerror(const GError *error);
JsonNode *
me_rpc_error_table_to_json(void);

/* ---- framing */

GBytes *
me_rpc_frame_encode(JsonNode *message, gsize max_bytes, GError **error);

/* ---- the server */

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
me_rpc_server_add_event(MeRpcServer *server, const gchar *name);
void
me_rpc_server_start(MeRpcServer *server);
gboolean
me_rpc_server_is_closed(MeRpcServer *server);
guint
me_rpc_server_get_protocol(MeRpcServer *server);
const gchar *
me_rpc_server_get_client(MeRpcServer *server);
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
