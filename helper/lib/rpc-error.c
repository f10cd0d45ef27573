/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeRpcError"

#include "config.h"

#include "rpc-error.h"

/* the codes are part of the wire contract: never renumber, only add (PROTOCOL.md §Errors) */
static const MeRpcErrorInfo error_table[] = {
    {ME_RPC_ERROR_PARSE, "parse-error", 0, "the message is not valid UTF-8 JSON"},
    {ME_RPC_ERROR_INVALID_REQUEST, "invalid-request", 0,
     "not a JSON-RPC 2.0 request; also an empty, oversized or too deeply nested frame, an empty or too large batch"},
    {ME_RPC_ERROR_METHOD_NOT_FOUND, "method-not-found", 0, "no such method"},
    {ME_RPC_ERROR_INVALID_PARAMS, "invalid-params", 0, "the parameters do not fit the method"},
    {ME_RPC_ERROR_INTERNAL, "internal-error", 0, "the helper could not produce a valid answer (a bug)"},
    {ME_RPC_ERROR_PROTOCOL_UNSUPPORTED, "protocol-unsupported", 0, "hello: no protocol version in common"},
    {ME_RPC_ERROR_HELLO_REQUIRED, "hello-required", 0, "a method other than hello was called before hello"},
    {ME_RPC_ERROR_RESPONSE_TOO_LARGE, "response-too-large", 0,
     "the answer would exceed the 1 MiB a host may send; it was replaced by this error"},
    {-32010, "failed", ME_ERROR_FAILED, "the operation failed"},
    {-32011, "invalid-argument", ME_ERROR_INVALID_ARGUMENT, "an argument is not acceptable"},
    {-32012, "invalid-data", ME_ERROR_INVALID_DATA, "data (a message, a file, an answer) is malformed"},
    {-32013, "too-large", ME_ERROR_TOO_LARGE, "something is larger than its limit"},
    {-32014, "network", ME_ERROR_NETWORK, "the network failed"},
    {-32015, "timed-out", ME_ERROR_TIMED_OUT, "an operation timed out"},
    {-32016, "tls", ME_ERROR_TLS, "a TLS connection could not be established or verified"},
    {-32017, "crypto", ME_ERROR_CRYPTO, "a cryptographic operation failed"},
    {-32018, "not-supported", ME_ERROR_NOT_SUPPORTED, "not supported"},
    {-32019, "not-found", ME_ERROR_NOT_FOUND, "not found"},
    {-32020, "server", ME_ERROR_SERVER, "the CA answered with an error status and no problem document"},
    {-32021, "acme", ME_ERROR_ACME, "the CA sent an ACME problem of another type"},
    {-32022, "bad-nonce", ME_ERROR_BAD_NONCE, "ACME badNonce"},
    {-32023, "rate-limited", ME_ERROR_RATE_LIMITED, "ACME rateLimited or HTTP 429"},
    {-32024, "user-action-required", ME_ERROR_USER_ACTION_REQUIRED, "ACME userActionRequired"},
    {-32025, "external-account-required", ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED, "ACME externalAccountRequired"},
    {-32026, "bad-csr", ME_ERROR_BAD_CSR, "ACME badCSR"},
    {-32027, "account-does-not-exist", ME_ERROR_ACCOUNT_DOES_NOT_EXIST, "ACME accountDoesNotExist"},
    {-32028, "unauthorized", ME_ERROR_UNAUTHORIZED, "ACME unauthorized"},
    {-32029, "order-not-ready", ME_ERROR_ORDER_NOT_READY, "ACME orderNotReady"},
    {-32030, "already-revoked", ME_ERROR_ALREADY_REVOKED, "ACME alreadyRevoked"},
    {-32031, "already-replaced", ME_ERROR_ALREADY_REPLACED, "ACME alreadyReplaced"},
    {-32032, "incorrect-response", ME_ERROR_INCORRECT_RESPONSE, "ACME incorrectResponse"},
    {-32033, "rejected-identifier", ME_ERROR_REJECTED_IDENTIFIER, "ACME rejectedIdentifier or unsupportedIdentifier"},
    {-32034, "invalid-state", ME_ERROR_INVALID_STATE, "an order or authorization ended in a state other than valid"},
    {-32035, "locked", ME_ERROR_LOCKED, "the keyring holding a secret is locked"},
    {-32036, "busy", ME_ERROR_BUSY,
     "something else is using the resource, or the helper has too many requests under way"},
    {-32037, "policy-locked", ME_ERROR_POLICY_LOCKED,
     "the administrator's policy locks the setting a write would change; data.key names it"},
};

/* every MeError value has exactly one row (checked again by the tests) */
G_STATIC_ASSERT(G_N_ELEMENTS(error_table) == 8 + ME_ERROR_POLICY_LOCKED);

/**
 * me_rpc_error_table:
 * @n_entries: (out): the number of rows
 *
 * The JSON-RPC error codes the helper sends: the protocol's own (#MeRpcErrorCode) and one
 * per #MeError value.
 *
 * Returns: (transfer none) (array length=n_entries): the table
 */
const MeRpcErrorInfo *
me_rpc_error_table(gsize *n_entries)
{
	g_return_val_if_fail(n_entries != NULL, NULL);
	*n_entries = G_N_ELEMENTS(error_table);
	return error_table;
}

static const MeRpcErrorInfo *
error_info_for_code(gint code)
{
	for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++) {
		if (error_table[i].code == code)
			return &error_table[i];
	}
	return NULL;
}

static const MeRpcErrorInfo *
error_info_for_me_error(gint me_error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++) {
		if (error_table[i].me_error != 0 && error_table[i].me_error == me_error)
			return &error_table[i];
	}
	return NULL;
}

/**
 * me_rpc_error_name:
 * @code: a JSON-RPC error code
 *
 * Returns: (nullable): the stable name of @code (`error.data.name`), or %NULL for a code
 *   outside the table
 */
const gchar *
me_rpc_error_name(gint code)
{
	const MeRpcErrorInfo *info = error_info_for_code(code);
	return info != NULL ? info->name : NULL;
}

/**
 * me_rpc_error_code_from_gerror:
 * @error: an error
 *
 * Maps @error to the JSON-RPC code it is sent with: an #ME_ERROR code through the table,
 * any other domain first through me_error_convert().
 *
 * Returns: a code in -32010..-32099 (-32010, "failed", for a code the table lacks)
 */
gint
me_rpc_error_code_from_gerror(const GError *error)
{
	const MeRpcErrorInfo *info;
	gint me_code;

	g_return_val_if_fail(error != NULL, -32010);
	if (error->domain == ME_ERROR) {
		me_code = error->code;
	} else {
		g_autoptr(GError) copy = g_error_copy(error);
		me_error_convert(&copy);
		me_code = copy->code;
	}
	info = error_info_for_me_error(me_code);
	return info != NULL ? info->code : -32010;
}

/**
 * me_rpc_error_code_to_me_error:
 * @code: a JSON-RPC error code, e.g. from the extension's answer to a request
 *
 * Maps @code back to the #MeError it stands for: a row of the table that has one, the
 * protocol's `method-not-found` and `invalid-params` to what they mean for the caller.
 *
 * Returns: the #MeError; %ME_ERROR_FAILED for any other code
 */
MeError
me_rpc_error_code_to_me_error(gint64 code)
{
	const MeRpcErrorInfo *info = NULL;

	if (code >= G_MININT && code <= G_MAXINT)
		info = error_info_for_code((gint)code);
	if (info != NULL && info->me_error != 0)
		return info->me_error;
	if (code == ME_RPC_ERROR_METHOD_NOT_FOUND)
		return ME_ERROR_NOT_SUPPORTED;
	if (code == ME_RPC_ERROR_INVALID_PARAMS)
		return ME_ERROR_INVALID_ARGUMENT;
	return ME_ERROR_FAILED;
}

static const gchar *
me_rpc_error_enum_nick(gint code)
{
	/* MeError has no GType; the names are kept here for --dump-error-codes only */
	static const gchar *const names[] = {
	    NULL,
	    "ME_ERROR_FAILED",
	    "ME_ERROR_INVALID_ARGUMENT",
	    "ME_ERROR_INVALID_DATA",
	    "ME_ERROR_TOO_LARGE",
	    "ME_ERROR_NETWORK",
	    "ME_ERROR_TIMED_OUT",
	    "ME_ERROR_TLS",
	    "ME_ERROR_CRYPTO",
	    "ME_ERROR_NOT_SUPPORTED",
	    "ME_ERROR_NOT_FOUND",
	    "ME_ERROR_SERVER",
	    "ME_ERROR_ACME",
	    "ME_ERROR_BAD_NONCE",
	    "ME_ERROR_RATE_LIMITED",
	    "ME_ERROR_USER_ACTION_REQUIRED",
	    "ME_ERROR_EXTERNAL_ACCOUNT_REQUIRED",
	    "ME_ERROR_BAD_CSR",
	    "ME_ERROR_ACCOUNT_DOES_NOT_EXIST",
	    "ME_ERROR_UNAUTHORIZED",
	    "ME_ERROR_ORDER_NOT_READY",
	    "ME_ERROR_ALREADY_REVOKED",
	    "ME_ERROR_ALREADY_REPLACED",
	    "ME_ERROR_INCORRECT_RESPONSE",
	    "ME_ERROR_REJECTED_IDENTIFIER",
	    "ME_ERROR_INVALID_STATE",
	    "ME_ERROR_LOCKED",
	    "ME_ERROR_BUSY",
	    "ME_ERROR_POLICY_LOCKED",
	};
	G_STATIC_ASSERT(G_N_ELEMENTS(names) == ME_ERROR_POLICY_LOCKED + 1);
	if (code <= 0 || (gsize)code >= G_N_ELEMENTS(names))
		return NULL;
	return names[code];
}

/**
 * me_rpc_error_table_to_json:
 *
 * The error table as a JSON array of `{"code", "name", "meError", "meaning"}` objects
 * (`meError` is the C name of the #MeError value, or null), for tools that check
 * PROTOCOL.md against the code.
 *
 * Returns: (transfer full): an array node
 */
JsonNode *
me_rpc_error_table_to_json(void)
{
	g_autoptr(JsonArray) array = json_array_new();
	JsonNode *node = json_node_new(JSON_NODE_ARRAY);

	for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++) {
		JsonObject *obj = json_object_new();
		const gchar *nick = me_rpc_error_enum_nick(error_table[i].me_error);
		json_object_set_int_member(obj, "code", error_table[i].code);
		json_object_set_string_member(obj, "name", error_table[i].name);
		if (nick != NULL)
			json_object_set_string_member(obj, "meError", nick);
		else
			json_object_set_null_member(obj, "meError");
		json_object_set_string_member(obj, "meaning", error_table[i].meaning);
		json_array_add_object_element(array, obj);
	}
	json_node_take_array(node, g_steal_pointer(&array));
	return node;
}

