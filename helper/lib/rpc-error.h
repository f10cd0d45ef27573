/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the JSON-RPC error codes of the native-messaging protocol and their stable names
 * (messaging/PROTOCOL.md §7): the protocol's own, and one for each #MeError value */

#include <glib.h>
#include <json-glib/json-glib.h>

#include "me-error.h"

G_BEGIN_DECLS

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
 * @ME_RPC_ERROR_RESPONSE_TOO_LARGE: the answer would exceed %ME_FRAME_MAX_OUTBOUND
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
MeError
me_rpc_error_code_to_me_error(gint64 code);
JsonNode *
me_rpc_error_table_to_json(void);

G_END_DECLS
