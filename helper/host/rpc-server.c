/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeRpc"

#include "config.h"

#include "rpc-server.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "json-util.h"
#include "thunderbird.h"

/* bytes asked of the input stream per read */
#define RPC_READ_CHUNK (64 * 1024)
/* stop reading while this much output waits to be written ... */
#define RPC_WRITE_QUEUE_MAX (4 * 1024 * 1024)
/* ... or while this many calls wait for their handlers */
#define RPC_PENDING_MAX 1024
/* small frames are joined into writes of up to this many bytes */
#define RPC_WRITE_CHUNK (64 * 1024)
/* JSON values (containers plus separators) in one inbound message */
#define RPC_MAX_NODES 100000
/* versions a client may list in hello, and the longest client name */
#define RPC_HELLO_VERSIONS_MAX 32
#define RPC_CLIENT_MAX 256
/* the longest error message taken from the extension's answer */
#define RPC_REMOTE_MESSAGE_MAX 1024
/* an answer this small is never replaced in a batch that is too large */
#define RPC_SMALL_ANSWER 1024
/* subproblems of an ACME problem passed on */
#define RPC_SUBPROBLEMS_MAX 32

/* an answer may wrap inbound data, which is nested at most ME_RPC_MAX_DEPTH deep */
G_STATIC_ASSERT(2 * ME_RPC_MAX_DEPTH <= ME_FRAME_MAX_DEPTH);

/* ---- JSON helpers */

static gchar *
node_to_string(JsonNode *node, gsize *len)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_root(gen, node);
	return json_generator_to_data(gen, len);
}

/* ---- sentences used in more than one place */

static const gchar *
msg_write_broken(void)
{
	/* TRANSLATORS: the helper could not write to Thunderbird, which probably quit */
	return _("The connection to the mail client broke while writing; restart the mail client.");
}

static const gchar *
msg_closed_before_answer(void)
{
	/* TRANSLATORS: the helper asked the extension something, and the connection ended first */
	return _("The connection to the mail client closed before it answered; start the action again.");
}

static const gchar *
msg_not_json(void)
{
	/* TRANSLATORS: a message from Thunderbird is not JSON */
	return _("The message from the mail client is not valid JSON; send one JSON-RPC 2.0 request per message.");
}

/* ---- error objects */

static JsonObject *
problem_to_json(const MeAcmeProblem *problem)
{
	JsonObject *obj = json_object_new();
	JsonArray *subs = json_array_new();

	if (problem->type != NULL)
		json_object_set_string_member(obj, "type", problem->type);
	if (problem->detail != NULL)
		json_object_set_string_member(obj, "detail", problem->detail);
	if (problem->status != 0)
		json_object_set_int_member(obj, "status", problem->status);
	for (guint i = 0; i < problem->subproblems->len && i < RPC_SUBPROBLEMS_MAX; i++) {
		const MeAcmeSubproblem *sub = g_ptr_array_index(problem->subproblems, i);
		JsonObject *entry = json_object_new();
		if (sub->type != NULL)
			json_object_set_string_member(entry, "type", sub->type);
		if (sub->detail != NULL)
			json_object_set_string_member(entry, "detail", sub->detail);
		if (sub->identifier_type != NULL && sub->identifier_value != NULL) {
			JsonObject *ident = json_object_new();
			json_object_set_string_member(ident, "type", sub->identifier_type);
			json_object_set_string_member(ident, "value", sub->identifier_value);
			json_object_set_object_member(entry, "identifier", ident);
		}
		json_array_add_object_element(subs, entry);
	}
	if (json_array_get_length(subs) > 0)
		json_object_set_array_member(obj, "subproblems", subs);
	else
		json_array_unref(subs);
	return obj;
}

/* {"code", "message", "data": {"name", ...}}; @data (transfer full, nullable) gets the name */
static JsonObject *
error_object_new(gint code, const gchar *message, JsonObject *data)
{
	JsonObject *obj = json_object_new();
	JsonObject *full = json_object_new();
	const gchar *name = me_rpc_error_name(code);

	/* the name first, where a person reading a log looks */
	if (name != NULL)
		json_object_set_string_member(full, "name", name);
	if (data != NULL) {
		JsonObjectIter iter;
		const gchar *member;
		JsonNode *value;
		json_object_iter_init(&iter, data);
		while (json_object_iter_next(&iter, &member, &value)) {
			if (g_strcmp0(member, "name") != 0)
				json_object_set_member(full, member, json_node_copy(value));
		}
		json_object_unref(data);
	}
	json_object_set_int_member(obj, "code", code);
	json_object_set_string_member(obj, "message", message);
	json_object_set_object_member(obj, "data", full);
	return obj;
}

static JsonObject *
error_object_from_gerror(const GError *error)
{
	gint code = me_rpc_error_code_from_gerror(error);
	const MeAcmeProblem *problem = me_error_get_problem(error);
	JsonObject *data = json_object_new();

	if (problem != NULL) {
		if (problem->type != NULL || problem->detail != NULL || problem->status != 0)
			json_object_set_object_member(data, "problem", problem_to_json(problem));
		if (problem->retry_after >= 0)
			json_object_set_int_member(data, "retryAfter", problem->retry_after);
	}
	/* a refused write names the locked setting (policy-locked) */
	if (me_error_get_setting(error) != NULL)
		json_object_set_string_member(data, "key", me_error_get_setting(error));
	return error_object_new(code, error->message, data);
}

static JsonNode *
response_new(JsonNode *id, JsonNode *result, JsonObject *error_obj)
{
	JsonObject *obj = json_object_new();
	JsonNode *node = json_node_new(JSON_NODE_OBJECT);

	json_object_set_string_member(obj, "jsonrpc", "2.0");
	if (id != NULL)
		json_object_set_member(obj, "id", json_node_copy(id));
	else
		json_object_set_null_member(obj, "id");
	if (error_obj != NULL)
		json_object_set_object_member(obj, "error", error_obj);
	else if (result != NULL)
		json_object_set_member(obj, "result", json_node_copy(result));
	else
		json_object_set_null_member(obj, "result");
	json_node_take_object(node, obj);
	return node;
}

/* the serialized error response for @id; @data (transfer full, nullable) */
static gchar *
error_response_text(JsonNode *id, gint code, const gchar *message, JsonObject *data, gsize *len)
{
	g_autoptr(JsonNode) node = response_new(id, NULL, error_object_new(code, message, data));
	return node_to_string(node, len);
}

static gchar *
too_large_response_text(JsonNode *id, gsize size, gsize *len)
{
	JsonObject *data = json_object_new();
	json_object_set_int_member(data, "size", (gint64)size);
	json_object_set_int_member(data, "limit", ME_RPC_MAX_OUTBOUND);
	return error_response_text(id, ME_RPC_ERROR_RESPONSE_TOO_LARGE,
				   /* TRANSLATORS: the helper's answer would be larger than the mail client accepts */
				   _("The answer is larger than the 1 MiB a mail client accepts; ask for less data at a time."),
				   data, len);
}

/* the text of a response to @id, never larger than ME_RPC_MAX_OUTBOUND: an oversized one
 * is replaced by a response-too-large error, one that cannot be written by internal-error */
static gchar *
response_text(JsonNode *id, JsonNode *result, JsonObject *error_obj, gsize *len)
{
	g_autoptr(JsonNode) node = response_new(id, result, error_obj);
	gchar *text;

	if (!me_frame_can_carry(node)) {
		g_message("an answer holds invalid UTF-8 or a number that is not finite; sending internal-error");
		return error_response_text(id, ME_RPC_ERROR_INTERNAL,
					   /* TRANSLATORS: a bug: the helper's answer cannot be written as JSON */
					   _("The helper produced an answer that JSON cannot carry; report this as a bug."),
					   NULL, len);
	}
	text = node_to_string(node, len);
	if (*len > ME_RPC_MAX_OUTBOUND) {
		gsize size = *len;
		g_free(text);
		g_message("an answer of %" G_GSIZE_FORMAT " bytes exceeds the limit; sending response-too-large", size);
		return too_large_response_text(id, size, len);
	}
	return text;
}

/* ---- the server */

typedef struct {
	MeRpcMethodFunc func;
	gpointer user_data;
	GDestroyNotify destroy;
	/* answered, but not listed by hello */
	gboolean unlisted;
} RpcMethod;

static void
rpc_method_free(RpcMethod *method)
{
	if (method->destroy != NULL)
		method->destroy(method->user_data);
	g_free(method);
}

/* the answers of one batch, collected in order until the last call completes */
typedef struct {
	MeRpcServer *server;
	GPtrArray *texts; /* element-type gchar*, NULL until answered */
	GArray *lens;	  /* element-type gsize */
	GPtrArray *ids;	  /* element-type JsonNode, for a replacement error */
	guint outstanding;
} RpcBatch;

struct _MeRpcCall {
	MeRpcServer *server;
	gchar *method;
	JsonNode *id; /* NULL for a notification */
	JsonNode *params;
	RpcBatch *batch;
	guint slot;
};

/* one request the helper sent, waiting for the extension's answer */
typedef struct {
	MeRpcServer *server; /* not a reference: the server drops these before it goes */
	gchar *id;
	GTask *task;
	GSource *cancel_source;
} RpcOutRequest;

struct _MeRpcServer {
	GObject parent_instance;
	GInputStream *input;
	GOutputStream *output;
	gsize max_inbound;
	GMainContext *context;
	GCancellable *cancellable;
	JsonParser *parser;
	/* the message being handled holds a \u0000 escape, which json-glib silently cuts at */
	gboolean nul_in_message;
	GHashTable *methods; /* name → RpcMethod */
	GPtrArray *events;

	/* input */
	MeFrameDecoder *decoder;
	guint8 *readbuf; /* RPC_READ_CHUNK bytes, what one read brings */
	gboolean started;
	gboolean reading;
	gboolean eof;
	gboolean closed;
	gboolean in_pump;
	guint pump_id;
	guint pending_calls;

	/* output */
	GQueue outq; /* GBytes */
	gsize out_queued;
	gboolean writing;
	gboolean write_failed;
	GBytes *in_flight;
	GPtrArray *flush_tasks;

	/* hello */
	guint protocol;
	gchar *client;
	/* the add-on the helper was started for (argv), and the profile it named in hello once
	 * verified */
	gchar *extension_id;
	gchar *profile;

	/* requests to the extension */
	guint64 next_id;
	GHashTable *requests; /* id → RpcOutRequest */
};

G_DEFINE_TYPE(MeRpcServer, me_rpc_server, G_TYPE_OBJECT)

enum { SIGNAL_CLOSED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST];

static void
pump(MeRpcServer *self);
static void
hello_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data);

/* ---- writing */

static gboolean
input_paused(MeRpcServer *self)
{
	return self->out_queued > RPC_WRITE_QUEUE_MAX || self->pending_calls >= RPC_PENDING_MAX;
}

static gboolean
pump_idle_cb(gpointer user_data)
{
	MeRpcServer *self = ME_RPC_SERVER(user_data);
	self->pump_id = 0;
	pump(self);
	return G_SOURCE_REMOVE;
}

/* continue reading from the main loop, never from inside a caller's stack */
static void
schedule_pump(MeRpcServer *self)
{
	GSource *source;

	if (self->pump_id != 0 || self->closed || !self->started)
		return;
	source = g_idle_source_new();
	g_source_set_callback(source, pump_idle_cb, self, NULL);
	g_source_set_static_name(source, "[mailenroll] rpc pump");
	self->pump_id = g_source_attach(source, self->context);
	g_source_unref(source);
}

static void
complete_flush_tasks(MeRpcServer *self, const GError *error)
{
	g_autoptr(GPtrArray) tasks = g_steal_pointer(&self->flush_tasks);

	self->flush_tasks = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < tasks->len; i++) {
		GTask *task = g_ptr_array_index(tasks, i);
		if (error != NULL)
			g_task_return_error(task, g_error_copy(error));
		else
			g_task_return_boolean(task, TRUE);
	}
}

static void
close_with_error(MeRpcServer *self, GError *error);
static void
start_write(MeRpcServer *self);

static void
write_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(MeRpcServer) self = ME_RPC_SERVER(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) chunk = g_steal_pointer(&self->in_flight);
	gsize written = 0;

	self->writing = FALSE;
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, &written, &error)) {
		GError *error_close;
		g_message("writing to the mail client failed: %s", error->message);
		self->write_failed = TRUE;
		g_queue_clear_full(&self->outq, (GDestroyNotify)g_bytes_unref);
		self->out_queued = 0;
		error_close = g_error_new_literal(ME_ERROR, ME_ERROR_FAILED, msg_write_broken());
		complete_flush_tasks(self, error_close);
		close_with_error(self, error_close);
		return;
	}
	self->out_queued -= g_bytes_get_size(chunk);
	if (!g_queue_is_empty(&self->outq)) {
		start_write(self);
		return;
	}
	complete_flush_tasks(self, NULL);
	schedule_pump(self);
}

/* the next write: one large frame as it is, or small frames joined, so a burst of answers
 * takes few system calls (writev_all_async() is not used: GLib 2.74 warns when writev()
 * fails on a pollable stream) */
static GBytes *
next_chunk(MeRpcServer *self)
{
	GBytes *head = g_queue_pop_head(&self->outq);
	GByteArray *joined;

	if (g_bytes_get_size(head) >= RPC_WRITE_CHUNK || g_queue_is_empty(&self->outq) ||
	    g_bytes_get_size(head) + g_bytes_get_size(g_queue_peek_head(&self->outq)) > RPC_WRITE_CHUNK)
		return head;
	joined = g_byte_array_sized_new(RPC_WRITE_CHUNK);
	g_byte_array_append(joined, g_bytes_get_data(head, NULL), (guint)g_bytes_get_size(head));
	g_bytes_unref(head);
	while (!g_queue_is_empty(&self->outq) &&
	       joined->len + g_bytes_get_size(g_queue_peek_head(&self->outq)) <= RPC_WRITE_CHUNK) {
		GBytes *frame = g_queue_pop_head(&self->outq);
		g_byte_array_append(joined, g_bytes_get_data(frame, NULL), (guint)g_bytes_get_size(frame));
		g_bytes_unref(frame);
	}
	return g_byte_array_free_to_bytes(joined);
}

static void
start_write(MeRpcServer *self)
{
	gsize size = 0;
	gconstpointer data;

	if (self->writing || self->write_failed || g_queue_is_empty(&self->outq))
		return;
	self->in_flight = next_chunk(self);
	data = g_bytes_get_data(self->in_flight, &size);
	self->writing = TRUE;
	g_output_stream_write_all_async(self->output, data, size, G_PRIORITY_DEFAULT, NULL, write_cb,
					g_object_ref(self));
}

/* queues @text (transfer full, at most ME_RPC_MAX_OUTBOUND bytes) as one frame */
static void
send_text(MeRpcServer *self, gchar *text, gsize len)
{
	GBytes *frame;

	if (self->write_failed) {
		g_free(text);
		return;
	}
	/* every caller keeps below the limit; this is the last guard for Thunderbird's */
	if (len > ME_RPC_MAX_OUTBOUND) {
		g_message("a frame of %" G_GSIZE_FORMAT " bytes was not written: over the limit", len);
		g_free(text);
		return;
	}
	frame = me_frame_encode_data(text, len);
	g_free(text);
	self->out_queued += g_bytes_get_size(frame);
	g_queue_push_tail(&self->outq, frame);
	start_write(self);
}

static void
send_error(MeRpcServer *self, JsonNode *id, gint code, const gchar *message, JsonObject *data)
{
	gsize len = 0;
	gchar *text = error_response_text(id, code, message, data, &len);
	send_text(self, text, len);
}

static JsonObject *
data_with_reason(const gchar *reason)
{
	JsonObject *data = json_object_new();
	json_object_set_string_member(data, "reason", reason);
	return data;
}

/* ---- closing */

static void
fail_out_requests(MeRpcServer *self)
{
	g_autoptr(GList) values = g_hash_table_get_values(self->requests);

	for (GList *l = values; l != NULL; l = l->next) {
		RpcOutRequest *req = l->data;
		g_autoptr(GTask) task = g_object_ref(req->task);
		g_hash_table_remove(self->requests, req->id);
		g_task_return_new_error(task, ME_ERROR, ME_ERROR_FAILED, "%s", msg_closed_before_answer());
	}
}

/* stops reading for good and tells "closed"; @error (transfer full, nullable) */
static void
close_with_error(MeRpcServer *self, GError *error)
{
	g_autoptr(GError) error_owned = error;

	if (self->closed)
		return;
	self->closed = TRUE;
	g_cancellable_cancel(self->cancellable);
	if (self->pump_id != 0) {
		g_source_remove(self->pump_id);
		self->pump_id = 0;
	}
	fail_out_requests(self);
	g_signal_emit(self, signals[SIGNAL_CLOSED], 0, error_owned);
}

/* ---- calls */

static MeRpcCall *
call_new(MeRpcServer *self, const gchar *method, JsonNode *id, JsonNode *params)
{
	MeRpcCall *call = g_new0(MeRpcCall, 1);
	call->server = g_object_ref(self);
	call->method = g_strdup(method);
	call->id = id != NULL ? json_node_copy(id) : NULL;
	call->params = params != NULL ? json_node_copy(params) : NULL;
	self->pending_calls++;
	return call;
}

static void
batch_finish(RpcBatch *batch)
{
	MeRpcServer *self = batch->server;
	g_autoptr(GString) out = NULL;
	gsize total = 1;
	guint answered = 0;

	for (guint i = 0; i < batch->texts->len; i++) {
		if (g_ptr_array_index(batch->texts, i) != NULL) {
			total += g_array_index(batch->lens, gsize, i) + 1;
			answered++;
		}
	}
	/* too large together: replace the largest answers by response-too-large until it fits;
	 * that error is far smaller than RPC_SMALL_ANSWER and a batch has at most
	 * ME_RPC_MAX_BATCH entries, so this ends */
	while (total > ME_RPC_MAX_OUTBOUND) {
		guint largest = 0;
		gsize size;
		gsize len = 0;
		for (guint i = 1; i < batch->lens->len; i++) {
			if (g_array_index(batch->lens, gsize, i) > g_array_index(batch->lens, gsize, largest))
				largest = i;
		}
		size = g_array_index(batch->lens, gsize, largest);
		if (size <= RPC_SMALL_ANSWER)
			break;
		g_free(g_ptr_array_index(batch->texts, largest));
		g_ptr_array_index(batch->texts, largest) =
		    too_large_response_text(g_ptr_array_index(batch->ids, largest), size, &len);
		g_array_index(batch->lens, gsize, largest) = len;
		total = total - size + len;
	}
	if (answered > 0) {
		out = g_string_sized_new(total);
		g_string_append_c(out, '[');
		for (guint i = 0; i < batch->texts->len; i++) {
			const gchar *text = g_ptr_array_index(batch->texts, i);
			if (text == NULL)
				continue;
			if (out->len > 1)
				g_string_append_c(out, ',');
			g_string_append_len(out, text, (gssize)g_array_index(batch->lens, gsize, i));
		}
		g_string_append_c(out, ']');
		if (out->len <= ME_RPC_MAX_OUTBOUND) {
			gsize len = out->len;
			send_text(self, g_string_free(g_steal_pointer(&out), FALSE), len);
		} else {
			g_message("a batch answer of %" G_GSIZE_FORMAT " bytes cannot be made to fit; dropped", out->len);
		}
	}
	g_ptr_array_unref(batch->texts);
	g_array_unref(batch->lens);
	g_ptr_array_unref(batch->ids);
	g_object_unref(batch->server);
	g_free(batch);
}

static void
batch_release(RpcBatch *batch)
{
	if (--batch->outstanding == 0)
		batch_finish(batch);
}

/* a slot for one answer of @batch; @id (nullable) is copied */
static guint
batch_add_slot(RpcBatch *batch, JsonNode *id)
{
	gsize zero = 0;
	g_ptr_array_add(batch->texts, NULL);
	g_array_append_val(batch->lens, zero);
	g_ptr_array_add(batch->ids, id != NULL ? json_node_copy(id) : json_node_new(JSON_NODE_NULL));
	return batch->texts->len - 1;
}

static void
batch_set(RpcBatch *batch, guint slot, gchar *text, gsize len)
{
	g_ptr_array_index(batch->texts, slot) = text;
	g_array_index(batch->lens, gsize, slot) = len;
}

/* answers @call (NULL @error_obj: @result) and frees it */
static void
call_complete(MeRpcCall *call, JsonNode *result, JsonObject *error_obj)
{
	MeRpcServer *self = call->server;

	if (call->id == NULL) {
		if (error_obj != NULL)
			json_object_unref(error_obj);
	} else {
		gsize len = 0;
		gchar *text = response_text(call->id, result, error_obj, &len);
		if (call->batch != NULL)
			batch_set(call->batch, call->slot, text, len);
		else
			send_text(self, text, len);
	}
	if (call->batch != NULL)
		batch_release(call->batch);
	self->pending_calls--;
	schedule_pump(self);
	g_free(call->method);
	if (call->id != NULL)
		json_node_unref(call->id);
	if (call->params != NULL)
		json_node_unref(call->params);
	g_object_unref(call->server);
	g_free(call);
}

/**
 * me_rpc_call_get_method:
 * @call: a call
 *
 * Returns: the method name
 */
const gchar *
me_rpc_call_get_method(MeRpcCall *call)
{
	g_return_val_if_fail(call != NULL, NULL);
	return call->method;
}

/**
 * me_rpc_call_is_notification:
 * @call: a call
 *
 * Returns: %TRUE if @call is a notification, whose answer is not sent
 */
gboolean
me_rpc_call_is_notification(MeRpcCall *call)
{
	g_return_val_if_fail(call != NULL, FALSE);
	return call->id == NULL;
}

/**
 * me_rpc_call_return:
 * @call: (transfer full): the call
 * @result: (transfer full) (nullable): the result; %NULL sends `null`
 *
 * Answers @call with @result and frees @call.  An answer larger than
 * %ME_RPC_MAX_OUTBOUND is replaced by a `response-too-large` error (-32003), and one
 * holding invalid UTF-8 or a non-finite number by an `internal-error` (-32603).
 */
void
me_rpc_call_return(MeRpcCall *call, JsonNode *result)
{
	g_autoptr(JsonNode) result_owned = result;

	g_return_if_fail(call != NULL);
	call_complete(call, result_owned, NULL);
}

/**
 * me_rpc_call_return_error:
 * @call: (transfer full): the call
 * @error: the error; its message goes to the extension as is, so it must be a
 *   translated sentence for a person
 *
 * Answers @call with the JSON-RPC code of @error (me_rpc_error_code_from_gerror()),
 * its stable name in `error.data.name`, and the ACME problem behind it, if any, in
 * `error.data.problem` (and its `Retry-After` in `error.data.retryAfter`); frees @call.
 */
void
me_rpc_call_return_error(MeRpcCall *call, const GError *error)
{
	g_return_if_fail(call != NULL);
	g_return_if_fail(error != NULL);
	call_complete(call, NULL, error_object_from_gerror(error));
}

/**
 * me_rpc_call_return_error_literal:
 * @call: (transfer full): the call
 * @code: a JSON-RPC error code, e.g. %ME_RPC_ERROR_INVALID_PARAMS
 * @message: a translated sentence for a person
 *
 * Answers @call with the error @code (and its name from the table, if it has one) and
 * frees @call.
 */
void
me_rpc_call_return_error_literal(MeRpcCall *call, gint code, const gchar *message)
{
	g_return_if_fail(call != NULL);
	g_return_if_fail(message != NULL);
	call_complete(call, NULL, error_object_new(code, message, NULL));
}

/* ---- incoming requests */

static void
dispatch_call(MeRpcServer *self, const gchar *method, JsonNode *id, JsonNode *params, RpcBatch *batch)
{
	gboolean before_hello = self->protocol == 0 && g_strcmp0(method, "hello") != 0;
	RpcMethod *entry;
	MeRpcCall *call;

	if (before_hello && id == NULL) {
		g_debug("notification %.128s before hello dropped", method);
		return;
	}
	call = call_new(self, method, id, params);
	if (batch != NULL && id != NULL) {
		call->batch = batch;
		call->slot = batch_add_slot(batch, id);
		batch->outstanding++;
	}
	if (before_hello) {
		me_rpc_call_return_error_literal(call, ME_RPC_ERROR_HELLO_REQUIRED,
						 /* TRANSLATORS: the extension called a method before hello */
						 _("The mail client must call hello first; call hello, then repeat the request."));
		return;
	}
	entry = strlen(method) <= ME_RPC_METHOD_MAX ? g_hash_table_lookup(self->methods, method) : NULL;
	if (entry == NULL) {
		JsonObject *data = json_object_new();
		if (strlen(method) <= ME_RPC_METHOD_MAX)
			json_object_set_string_member(data, "method", method);
		g_debug("unknown method %.128s", method);
		call_complete(call, NULL,
			      error_object_new(ME_RPC_ERROR_METHOD_NOT_FOUND,
					       /* TRANSLATORS: the extension called a method this helper does not have */
					       _("The helper does not know this method; update the helper and the extension to matching versions."),
					       data));
		return;
	}
	entry->func(self, call->params, call, entry->user_data);
}

static void
handle_response(MeRpcServer *self, JsonObject *obj);

/* the invalid-request error for a message that is not a request; @member names the
 * offending member, or NULL */
static gchar *
invalid_request_text(JsonNode *id, const gchar *member, gsize *len)
{
	JsonObject *data = json_object_new();
	if (member != NULL)
		json_object_set_string_member(data, "member", member);
	return error_response_text(id, ME_RPC_ERROR_INVALID_REQUEST,
				   /* TRANSLATORS: the extension sent something that is not a JSON-RPC 2.0 request; keep "jsonrpc" and "2.0" as they are */
				   _("The message from the mail client is not a valid JSON-RPC 2.0 request; send an object with \"jsonrpc\": \"2.0\" and a method name."),
				   data, len);
}

static gboolean
id_is_valid(JsonNode *id)
{
	GType type;

	if (JSON_NODE_HOLDS_NULL(id))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(id))
		return FALSE;
	type = json_node_get_value_type(id);
	/* every answer repeats the id, so an error about a huge one would itself be too large */
	if (type == G_TYPE_STRING)
		return strlen(json_node_get_string(id)) <= ME_RPC_ID_MAX;
	return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* one element of a message: a request, a notification or a response; returns the text
 * of an immediate error answer, or NULL when the element was dispatched */
static gchar *
handle_element(MeRpcServer *self, JsonNode *node, RpcBatch *batch, gsize *len)
{
	JsonObject *obj;
	JsonNode *id = NULL;
	JsonNode *method;
	JsonNode *params;
	JsonNode *version;

	if (!JSON_NODE_HOLDS_OBJECT(node))
		return invalid_request_text(NULL, NULL, len);
	obj = json_node_get_object(node);
	if (json_object_has_member(obj, "id")) {
		id = json_object_get_member(obj, "id");
		if (!id_is_valid(id))
			return invalid_request_text(NULL, "id", len);
	}
	method = json_object_get_member(obj, "method");
	if (method == NULL && id != NULL &&
	    (json_object_has_member(obj, "result") || json_object_has_member(obj, "error"))) {
		handle_response(self, obj);
		return NULL;
	}
	version = json_object_get_member(obj, "jsonrpc");
	if (version == NULL || json_node_get_value_type(version) != G_TYPE_STRING ||
	    g_strcmp0(json_node_get_string(version), "2.0") != 0)
		return invalid_request_text(id, "jsonrpc", len);
	if (method == NULL || json_node_get_value_type(method) != G_TYPE_STRING ||
	    json_node_get_string(method)[0] == '\0')
		return invalid_request_text(id, "method", len);
	params = json_object_get_member(obj, "params");
	if (params != NULL && !JSON_NODE_HOLDS_OBJECT(params) && !JSON_NODE_HOLDS_ARRAY(params))
		return invalid_request_text(id, "params", len);
	/* json-glib ends a string at a NUL, so a mail in challenge.inspect would be checked cut
	 * short; the mailenroll CLI refuses such a mail too */
	if (self->nul_in_message)
		return id != NULL ? error_response_text(id, ME_RPC_ERROR_INVALID_PARAMS,
							/* TRANSLATORS: a request from Thunderbird, e.g. a mail to check, contains a NUL character (\u0000) */
							_("The request contains a NUL character, which no mail or parameter may hold; it was not carried out."),
							data_with_reason("nul-character"), len)
				  : NULL;
	dispatch_call(self, json_node_get_string(method), id, params, batch);
	return NULL;
}

static void
handle_batch(MeRpcServer *self, JsonArray *array)
{
	guint n = json_array_get_length(array);
	RpcBatch *batch;

	if (n == 0) {
		send_error(self, NULL, ME_RPC_ERROR_INVALID_REQUEST,
			   /* TRANSLATORS: the extension sent a JSON-RPC batch with no requests in it */
			   _("The mail client sent an empty batch; send at least one request in a batch."),
			   data_with_reason("empty-batch"));
		return;
	}
	if (n > ME_RPC_MAX_BATCH) {
		JsonObject *data = data_with_reason("batch-too-large");
		g_autofree gchar *msg =
		    /* TRANSLATORS: %d is the largest number of requests in one batch */
		    g_strdup_printf(_("The mail client sent a batch of more than %d requests; split it into smaller batches."),
				    ME_RPC_MAX_BATCH);
		json_object_set_int_member(data, "limit", ME_RPC_MAX_BATCH);
		send_error(self, NULL, ME_RPC_ERROR_INVALID_REQUEST, msg, data);
		return;
	}
	batch = g_new0(RpcBatch, 1);
	batch->server = g_object_ref(self);
	batch->texts = g_ptr_array_new_with_free_func(g_free);
	batch->lens = g_array_new(FALSE, TRUE, sizeof(gsize));
	batch->ids = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	/* held until every element is dispatched, so a call answered at once cannot end it */
	batch->outstanding = 1;
	for (guint i = 0; i < n; i++) {
		gsize len = 0;
		gchar *text = handle_element(self, json_array_get_element(array, i), batch, &len);
		if (text != NULL)
			batch_set(batch, batch_add_slot(batch, NULL), text, len);
	}
	batch_release(batch);
}

/* whether a string in JSON @text holds the escape \u0000 */
static gboolean
has_nul_escape(const gchar *text, gsize len)
{
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len; i++) {
		if (!in_string) {
			in_string = text[i] == '"';
		} else if (text[i] == '"') {
			in_string = FALSE;
		} else if (text[i] == '\\' && i + 1 < len) {
			if (text[i + 1] == 'u' && len - i >= 6 && memcmp(text + i + 2, "0000", 4) == 0)
				return TRUE;
			i++;
		}
	}
	return FALSE;
}

static void
handle_message(MeRpcServer *self, const gchar *text, gsize len)
{
	g_autoptr(GError) error = NULL;
	gboolean too_deep = FALSE;
	JsonNode *root;

	if (!g_utf8_validate_len(text, len, NULL)) {
		send_error(self, NULL, ME_RPC_ERROR_PARSE,
			   /* TRANSLATORS: a message from Thunderbird is not UTF-8 text */
			   _("The message from the mail client is not valid UTF-8 text; send JSON encoded as UTF-8."),
			   data_with_reason("invalid-utf8"));
		return;
	}
	if (!me_json_scan_structure(text, len, ME_RPC_MAX_DEPTH, RPC_MAX_NODES, &too_deep)) {
		JsonObject *data = data_with_reason(too_deep ? "too-deep" : "too-complex");
		g_autofree gchar *msg = NULL;
		if (too_deep) {
			/* TRANSLATORS: %d is the deepest nesting of JSON arrays and objects accepted */
			msg = g_strdup_printf(_("The message from the mail client nests JSON more than %d levels deep; send flatter data."),
					      ME_RPC_MAX_DEPTH);
		} else {
			/* TRANSLATORS: the message has too many JSON values; %d is the limit */
			msg = g_strdup_printf(_("The message from the mail client has more than %d JSON values; send smaller requests."),
					      RPC_MAX_NODES);
		}
		json_object_set_int_member(data, "limit", too_deep ? ME_RPC_MAX_DEPTH : RPC_MAX_NODES);
		send_error(self, NULL, ME_RPC_ERROR_INVALID_REQUEST, msg, data);
		return;
	}
	/* one parser for the whole connection: it drops the previous tree when it loads */
	if (self->parser == NULL)
		self->parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(self->parser, text, (gssize)len, &error)) {
		g_debug("invalid JSON: %s", error->message);
		send_error(self, NULL, ME_RPC_ERROR_PARSE, msg_not_json(), NULL);
		return;
	}
	root = json_parser_get_root(self->parser);
	self->nul_in_message = has_nul_escape(text, len);
	if (root != NULL && JSON_NODE_HOLDS_ARRAY(root)) {
		handle_batch(self, json_node_get_array(root));
	} else if (root != NULL) {
		gsize out_len = 0;
		gchar *out = handle_element(self, root, NULL, &out_len);
		if (out != NULL)
			send_text(self, out, out_len);
	} else {
		send_error(self, NULL, ME_RPC_ERROR_PARSE, msg_not_json(), NULL);
	}
}

/* ---- reading */

/* a length above the cap: what follows cannot be skipped without reading it, so answer
 * and stop */
static void
refuse_frame(MeRpcServer *self)
{
	JsonObject *data = data_with_reason("frame-too-large");
	g_autofree gchar *msg = NULL;
	guint32 len = 0;

	(void)me_frame_decoder_peek_length(self->decoder, &len);
	/* TRANSLATORS: %u is the size of the message Thunderbird sent, %lu the limit, both in bytes */
	msg = g_strdup_printf(_("The mail client sent a message of %u bytes, more than the limit of %lu bytes; send less data at a time or raise max-frame-bytes in the configuration."),
			      len, (gulong)self->max_inbound);
	json_object_set_int_member(data, "length", len);
	json_object_set_int_member(data, "limit", (gint64)self->max_inbound);
	g_message("a frame of %u bytes exceeds the limit of %" G_GSIZE_FORMAT " bytes; closing", len, self->max_inbound);
	send_error(self, NULL, ME_RPC_ERROR_INVALID_REQUEST, msg, data);
	close_with_error(self, g_error_new_literal(ME_ERROR, ME_ERROR_TOO_LARGE, msg));
}

static void
handle_frame(MeRpcServer *self, GBytes *frame)
{
	gsize len = 0;
	const gchar *text = g_bytes_get_data(frame, &len);

	if (len == 0) {
		send_error(self, NULL, ME_RPC_ERROR_INVALID_REQUEST,
			   /* TRANSLATORS: Thunderbird sent a message of length zero */
			   _("The mail client sent an empty message; send a JSON-RPC 2.0 request in every message."),
			   data_with_reason("empty-frame"));
		return;
	}
	handle_message(self, text, len);
}

static void
read_cb(GObject *source, GAsyncResult *res, gpointer user_data);

static void
start_read(MeRpcServer *self)
{
	if (self->reading || self->eof || self->closed)
		return;
	self->reading = TRUE;
	g_input_stream_read_async(self->input, self->readbuf, RPC_READ_CHUNK, G_PRIORITY_DEFAULT, self->cancellable,
				  read_cb, g_object_ref(self));
}

static void
handle_eof(MeRpcServer *self)
{
	gsize left = me_frame_decoder_get_buffered(self->decoder);
	guint32 len = 0;

	/* the decoder's sentence is for a generic peer: the mail client gets its own below */
	if (me_frame_decoder_end(self->decoder, NULL)) {
		g_debug("the mail client closed the connection");
		close_with_error(self, NULL);
		return;
	}
	if (!me_frame_decoder_peek_length(self->decoder, &len))
		g_message("the input ended inside a frame header (%" G_GSIZE_FORMAT " of 4 bytes); closing", left);
	else
		g_message("the input ended inside a frame (%" G_GSIZE_FORMAT " of %u bytes); closing", left - 4, len);
	close_with_error(self, g_error_new_literal(ME_ERROR, ME_ERROR_INVALID_DATA,
						   /* TRANSLATORS: Thunderbird closed the connection in the middle of a message */
						   _("The mail client closed the connection in the middle of a message; restart the mail client.")));
}

static void
read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(MeRpcServer) self = ME_RPC_SERVER(user_data);
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	self->reading = FALSE;
	if (self->closed)
		return;
	if (n < 0) {
		g_message("reading from the mail client failed: %s", error->message);
		close_with_error(self, g_error_new_literal(ME_ERROR, ME_ERROR_FAILED,
							   /* TRANSLATORS: reading from Thunderbird failed */
							   _("The connection to the mail client broke while reading; restart the mail client.")));
		return;
	}
	if (n == 0)
		self->eof = TRUE;
	else
		me_frame_decoder_feed(self->decoder, self->readbuf, (gsize)n);
	pump(self);
}

/* handles every complete frame buffered, then reads on; stops while output or calls pile up */
static void
pump(MeRpcServer *self)
{
	if (self->in_pump || !self->started)
		return;
	self->in_pump = TRUE;
	g_object_ref(self);
	while (!self->closed && !input_paused(self)) {
		g_autoptr(GBytes) frame = NULL;
		if (!me_frame_decoder_next(self->decoder, &frame, NULL)) {
			refuse_frame(self);
			break;
		}
		if (frame != NULL) {
			handle_frame(self, frame);
			continue;
		}
		if (self->eof)
			handle_eof(self);
		else
			start_read(self);
		break;
	}
	self->in_pump = FALSE;
	g_object_unref(self);
}

/* ---- requests to the extension */

static void
out_request_free(RpcOutRequest *req)
{
	if (req->cancel_source != NULL) {
		g_source_destroy(req->cancel_source);
		g_source_unref(req->cancel_source);
	}
	g_clear_object(&req->task);
	g_free(req->id);
	g_free(req);
}

static GError *
remote_error(JsonNode *error_node)
{
	JsonObject *obj;
	JsonNode *code_node;
	JsonNode *message_node;
	MeError code;
	const gchar *message = NULL;

	if (error_node == NULL || !JSON_NODE_HOLDS_OBJECT(error_node))
		return NULL;
	obj = json_node_get_object(error_node);
	code_node = json_object_get_member(obj, "code");
	message_node = json_object_get_member(obj, "message");
	if (code_node == NULL || json_node_get_value_type(code_node) != G_TYPE_INT64 || message_node == NULL ||
	    json_node_get_value_type(message_node) != G_TYPE_STRING)
		return NULL;
	code = me_rpc_error_code_to_me_error(json_node_get_int(code_node));
	message = json_node_get_string(message_node);
	if (message[0] != '\0' && strlen(message) <= RPC_REMOTE_MESSAGE_MAX)
		return g_error_new_literal(ME_ERROR, code, message);
	return g_error_new_literal(ME_ERROR, code,
				   /* TRANSLATORS: the extension answered a request of the helper with an error and no explanation */
				   _("The mail client refused the request without saying why; try again."));
}

static void
handle_response(MeRpcServer *self, JsonObject *obj)
{
	JsonNode *id = json_object_get_member(obj, "id");
	JsonNode *result = json_object_get_member(obj, "result");
	JsonNode *error_node = json_object_get_member(obj, "error");
	RpcOutRequest *req = NULL;
	g_autoptr(GTask) task = NULL;
	GError *error;

	if (json_node_get_value_type(id) == G_TYPE_STRING)
		req = g_hash_table_lookup(self->requests, json_node_get_string(id));
	if (req == NULL) {
		g_message("ignoring a response with an unknown id");
		return;
	}
	task = g_object_ref(req->task);
	g_hash_table_remove(self->requests, json_node_get_string(id));
	if (result != NULL && error_node == NULL) {
		g_task_return_pointer(task, json_node_copy(result), (GDestroyNotify)json_node_unref);
		return;
	}
	error = result == NULL ? remote_error(error_node) : NULL;
	if (error == NULL) {
		error = g_error_new_literal(ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: the extension's answer to a request of the helper is malformed */
					    _("The mail client sent a malformed answer; update the extension."));
	}
	g_task_return_error(task, error);
}

static gboolean
out_request_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	RpcOutRequest *req = user_data;
	MeRpcServer *self = req->server;
	g_autoptr(GTask) task = g_object_ref(req->task);

	g_hash_table_remove(self->requests, req->id);
	g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s",
				/* TRANSLATORS: a request to the extension was cancelled */
				_("The request to the mail client was cancelled."));
	return G_SOURCE_REMOVE;
}

static JsonNode *
message_new(const gchar *method, JsonNode *params, const gchar *id)
{
	JsonObject *obj = json_object_new();
	JsonNode *node = json_node_new(JSON_NODE_OBJECT);

	json_object_set_string_member(obj, "jsonrpc", "2.0");
	if (id != NULL)
		json_object_set_string_member(obj, "id", id);
	json_object_set_string_member(obj, "method", method);
	if (params != NULL)
		json_object_set_member(obj, "params", json_node_copy(params));
	json_node_take_object(node, obj);
	return node;
}

static gboolean
send_message(MeRpcServer *self, JsonNode *message, GError **error)
{
	g_autoptr(GBytes) frame = NULL;

	if (self->write_failed) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED, msg_write_broken());
		return FALSE;
	}
	frame = me_frame_encode(message, ME_RPC_MAX_OUTBOUND, error);
	if (frame == NULL)
		return FALSE;
	self->out_queued += g_bytes_get_size(frame);
	g_queue_push_tail(&self->outq, g_steal_pointer(&frame));
	start_write(self);
	return TRUE;
}

/**
 * me_rpc_server_notify:
 * @server: a server
 * @method: the event name, one given to me_rpc_server_add_event()
 * @params: (nullable): an object or array
 * @error: (nullable): return location
 *
 * Sends a notification (a progress event) to the extension.  Nothing is written if the
 * message would exceed %ME_RPC_MAX_OUTBOUND.
 *
 * Returns: %TRUE if it was queued; %FALSE with @error set to %ME_ERROR_TOO_LARGE,
 *   %ME_ERROR_INVALID_DATA or (the connection is broken) %ME_ERROR_FAILED
 */
gboolean
me_rpc_server_notify(MeRpcServer *server, const gchar *method, JsonNode *params, GError **error)
{
	g_autoptr(JsonNode) message = NULL;

	g_return_val_if_fail(ME_IS_RPC_SERVER(server), FALSE);
	g_return_val_if_fail(method != NULL, FALSE);
	g_return_val_if_fail(params == NULL || JSON_NODE_HOLDS_OBJECT(params) || JSON_NODE_HOLDS_ARRAY(params), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	message = message_new(method, params, NULL);
	return send_message(server, message, error);
}

/**
 * me_rpc_server_request:
 * @server: a server
 * @method: the method the extension implements, e.g. `prompt`
 * @params: (nullable): an object or array
 * @cancellable: (nullable): cancels waiting for the answer (the request stays sent)
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Sends a request to the extension; its id is a string `"me-N"`.  There is no timeout:
 * the extension may take as long as a person needs.  Answers whose id is not one of a
 * waiting request are logged and ignored.
 */
void
me_rpc_server_request(MeRpcServer *server, const gchar *method, JsonNode *params, GCancellable *cancellable,
		      GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(JsonNode) message = NULL;
	g_autoptr(GError) error = NULL;
	RpcOutRequest *req;

	g_return_if_fail(ME_IS_RPC_SERVER(server));
	g_return_if_fail(method != NULL);
	g_return_if_fail(params == NULL || JSON_NODE_HOLDS_OBJECT(params) || JSON_NODE_HOLDS_ARRAY(params));

	task = g_task_new(server, cancellable, callback, user_data);
	g_task_set_source_tag(task, me_rpc_server_request);
	if (server->closed) {
		g_task_return_new_error(task, ME_ERROR, ME_ERROR_FAILED, "%s", msg_closed_before_answer());
		return;
	}
	if (g_task_return_error_if_cancelled(task))
		return;
	req = g_new0(RpcOutRequest, 1);
	req->server = server;
	req->id = g_strdup_printf("me-%" G_GUINT64_FORMAT, ++server->next_id);
	message = message_new(method, params, req->id);
	if (!send_message(server, message, &error)) {
		out_request_free(req);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	req->task = g_object_ref(task);
	if (cancellable != NULL) {
		req->cancel_source = g_cancellable_source_new(cancellable);
		g_source_set_callback(req->cancel_source, G_SOURCE_FUNC(out_request_cancelled_cb), req, NULL);
		g_source_attach(req->cancel_source, server->context);
	}
	g_hash_table_insert(server->requests, req->id, req);
}

/**
 * me_rpc_server_request_finish:
 * @server: a server
 * @result: the result given to the callback
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the `result` of the extension's answer, or %NULL with @error
 *   set: to the #MeError of the extension's error (its message as sent; codes outside
 *   the table give %ME_ERROR_FAILED), %ME_ERROR_INVALID_DATA for a malformed answer,
 *   %ME_ERROR_FAILED when the connection closed first, or %G_IO_ERROR_CANCELLED
 */
JsonNode *
me_rpc_server_request_finish(MeRpcServer *server, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, server), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	return g_task_propagate_pointer(G_TASK(result), error);
}

/**
 * me_rpc_server_flush:
 * @server: a server
 * @callback: called once everything queued so far is written, or writing failed
 * @user_data: data for @callback
 *
 * Waits for the queued output.  Callers that must not wait forever (a mail client that
 * stopped reading) add a timeout of their own.
 */
void
me_rpc_server_flush(MeRpcServer *server, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;

	g_return_if_fail(ME_IS_RPC_SERVER(server));
	task = g_task_new(server, NULL, callback, user_data);
	g_task_set_source_tag(task, me_rpc_server_flush);
	if (server->write_failed) {
		g_task_return_new_error(task, ME_ERROR, ME_ERROR_FAILED, "%s", msg_write_broken());
		return;
	}
	if (!server->writing && g_queue_is_empty(&server->outq)) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	g_ptr_array_add(server->flush_tasks, g_steal_pointer(&task));
}

/**
 * me_rpc_server_flush_finish:
 * @server: a server
 * @result: the result given to the callback
 * @error: (nullable): return location
 *
 * Returns: %TRUE if all output was written; %FALSE with @error set to %ME_ERROR_FAILED
 */
gboolean
me_rpc_server_flush_finish(MeRpcServer *server, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, server), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- hello */

static void
hello_invalid_params(MeRpcCall *call)
{
	me_rpc_call_return_error_literal(call, ME_RPC_ERROR_INVALID_PARAMS,
					 /* TRANSLATORS: the parameters of hello are wrong; keep "protocol" and "client" as they are */
					 _("The hello parameters are not valid; send \"protocol\" as a list of version numbers and \"client\" as a name."));
}

static JsonArray *
sorted_strv_to_array(GList *names)
{
	JsonArray *array = json_array_new();
	names = g_list_sort(names, (GCompareFunc)g_strcmp0);
	for (GList *l = names; l != NULL; l = l->next)
		json_array_add_string_element(array, l->data);
	g_list_free(names);
	return array;
}

/* the methods hello announces: all but those added by me_rpc_server_add_unlisted_method() */
static GList *
announced_methods(MeRpcServer *self)
{
	GList *names = NULL;
	GHashTableIter iter;
	gpointer name;
	gpointer method;

	g_hash_table_iter_init(&iter, self->methods);
	while (g_hash_table_iter_next(&iter, &name, &method)) {
		if (!((RpcMethod *)method)->unlisted)
			names = g_list_prepend(names, name);
	}
	return names;
}

static JsonNode *
hello_result(MeRpcServer *self)
{
	JsonObject *obj = json_object_new();
	JsonNode *node = json_node_new(JSON_NODE_OBJECT);
	JsonArray *events = json_array_new();

	json_object_set_int_member(obj, "protocol", self->protocol);
	json_object_set_string_member(obj, "helper", PACKAGE_NAME " " PACKAGE_VERSION);
	json_object_set_array_member(obj, "methods", sorted_strv_to_array(announced_methods(self)));
	for (guint i = 0; i < self->events->len; i++)
		json_array_add_string_element(events, g_ptr_array_index(self->events, i));
	json_object_set_array_member(obj, "events", events);
	if (self->profile != NULL)
		json_object_set_string_member(obj, "profile", self->profile);
	json_node_take_object(node, obj);
	return node;
}

/* the highest version in @versions the helper speaks, 0 if none, -1 if @versions is malformed */
static gint
hello_negotiate(JsonArray *versions)
{
	guint n = json_array_get_length(versions);
	gint best = 0;

	if (n == 0 || n > RPC_HELLO_VERSIONS_MAX)
		return -1;
	for (guint i = 0; i < n; i++) {
		JsonNode *v = json_array_get_element(versions, i);
		gint64 version;
		if (json_node_get_value_type(v) != G_TYPE_INT64)
			return -1;
		version = json_node_get_int(v);
		if (version >= ME_PROTOCOL_VERSION_MIN && version <= ME_PROTOCOL_VERSION_MAX && version > best)
			best = (gint)version;
	}
	return best;
}

/* the profile hello names, taken only from mailenroll's add-on and only as far as
 * me_tb_profile_verify_claimed() can check it */
static MeTbProfile *
hello_verify_profile(MeRpcServer *self, const gchar *path, GError **error)
{
	if (self->extension_id == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the helper was started without the add-on's id on its command line, so it ignores the profile the add-on names */
				    _("The helper was not told which add-on started it, so it does not take the profile the add-on names; let Thunderbird start the helper through its manifest."));
		return NULL;
	}
	if (g_strcmp0(self->extension_id, ME_EXTENSION_ID) != 0) {
		g_autofree gchar *shown = g_utf8_make_valid(self->extension_id, -1);
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the helper was started for another add-on than mailenroll's; %s is that add-on's id */
			    _("The helper was started for the add-on %s, not for mailenroll's, so it does not take the profile it names; run mailenroll register to write the helper's manifest again."),
			    shown);
		return NULL;
	}
	return me_tb_profile_verify_claimed(NULL, path, getppid(), error);
}

static void
hello_cb(MeRpcServer *self, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	JsonObject *obj;
	JsonNode *protocol;
	JsonNode *client;
	JsonNode *profile;
	const gchar *client_name;
	g_autoptr(MeTbProfile) verified = NULL;
	gint version;

	if (params == NULL || !JSON_NODE_HOLDS_OBJECT(params)) {
		hello_invalid_params(call);
		return;
	}
	obj = json_node_get_object(params);
	protocol = json_object_get_member(obj, "protocol");
	client = json_object_get_member(obj, "client");
	profile = json_object_get_member(obj, "profile");
	if (protocol == NULL || !JSON_NODE_HOLDS_ARRAY(protocol) || client == NULL ||
	    json_node_get_value_type(client) != G_TYPE_STRING ||
	    (profile != NULL && json_node_get_value_type(profile) != G_TYPE_STRING)) {
		hello_invalid_params(call);
		return;
	}
	client_name = json_node_get_string(client);
	version = hello_negotiate(json_node_get_array(protocol));
	if (version < 0 || client_name[0] == '\0' || strlen(client_name) > RPC_CLIENT_MAX) {
		hello_invalid_params(call);
		return;
	}
	if (version == 0) {
		JsonObject *data = json_object_new();
		JsonArray *supported = json_array_new();
		for (gint v = ME_PROTOCOL_VERSION_MIN; v <= ME_PROTOCOL_VERSION_MAX; v++)
			json_array_add_int_element(supported, v);
		json_object_set_array_member(data, "supported", supported);
		call_complete(call, NULL,
			      error_object_new(ME_RPC_ERROR_PROTOCOL_UNSUPPORTED,
					       /* TRANSLATORS: the extension and the helper speak different protocol versions */
					       _("The helper and the extension have no protocol version in common; update the older of the two."),
					       data));
		return;
	}
	if (profile != NULL) {
		g_autoptr(GError) error = NULL;
		verified = hello_verify_profile(self, json_node_get_string(profile), &error);
		if (verified == NULL) {
			me_rpc_call_return_error(call, error);
			return;
		}
	}
	self->protocol = (guint)version;
	g_free(self->client);
	self->client = g_strdup(client_name);
	g_free(self->profile);
	self->profile = verified != NULL ? g_strdup(verified->path) : NULL;
	{
		g_autofree gchar *escaped = g_strescape(client_name, NULL);
		g_info("hello from %s, protocol %d", escaped, version);
	}
	me_rpc_call_return(call, hello_result(self));
}

/* ---- construction */

static void
me_rpc_server_dispose(GObject *object)
{
	MeRpcServer *self = ME_RPC_SERVER(object);

	self->closed = TRUE;
	g_cancellable_cancel(self->cancellable);
	if (self->pump_id != 0) {
		g_source_remove(self->pump_id);
		self->pump_id = 0;
	}
	if (self->requests != NULL)
		fail_out_requests(self);
	G_OBJECT_CLASS(me_rpc_server_parent_class)->dispose(object);
}

static void
me_rpc_server_finalize(GObject *object)
{
	MeRpcServer *self = ME_RPC_SERVER(object);

	g_clear_object(&self->input);
	g_clear_object(&self->output);
	g_clear_object(&self->cancellable);
	g_clear_object(&self->parser);
	g_main_context_unref(self->context);
	g_hash_table_unref(self->methods);
	g_ptr_array_unref(self->events);
	me_frame_decoder_free(self->decoder);
	g_free(self->readbuf);
	g_free(self->extension_id);
	g_free(self->profile);
	g_queue_clear_full(&self->outq, (GDestroyNotify)g_bytes_unref);
	g_clear_pointer(&self->in_flight, g_bytes_unref);
	g_ptr_array_unref(self->flush_tasks);
	g_free(self->client);
	g_hash_table_unref(self->requests);
	G_OBJECT_CLASS(me_rpc_server_parent_class)->finalize(object);
}

static void
me_rpc_server_class_init(MeRpcServerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = me_rpc_server_dispose;
	object_class->finalize = me_rpc_server_finalize;

	/**
	 * MeRpcServer::closed:
	 * @server: the server
	 * @error: (nullable): why, or %NULL for a clean end of input
	 *
	 * Emitted once when the server stops reading: at the end of the input (%NULL), after
	 * a frame that cannot be read past (over the inbound cap, or cut off by the end of
	 * the input), when reading or writing fails, or on me_rpc_server_close().  Output
	 * already queued is still written; me_rpc_server_flush() waits for it.
	 */
	signals[SIGNAL_CLOSED] = g_signal_new("closed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					      NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
me_rpc_server_init(MeRpcServer *self)
{
	self->context = g_main_context_ref_thread_default();
	self->cancellable = g_cancellable_new();
	self->methods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)rpc_method_free);
	self->events = g_ptr_array_new_with_free_func(g_free);
	self->readbuf = g_malloc(RPC_READ_CHUNK);
	g_queue_init(&self->outq);
	self->flush_tasks = g_ptr_array_new_with_free_func(g_object_unref);
	self->requests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)out_request_free);
}

/**
 * me_rpc_server_new:
 * @input: the frames from the extension (stdin); a pollable stream keeps the main loop
 *   free, any other is read in GIO's worker threads
 * @output: the frames to the extension (stdout); nothing else may write to it
 * @max_inbound: the largest inbound message in bytes (%ME_RPC_DEFAULT_MAX_INBOUND unless
 *   configured; from %ME_RPC_MIN_INBOUND to %ME_RPC_MAX_INBOUND)
 *
 * A JSON-RPC 2.0 endpoint over native-messaging frames, driven by the thread-default
 * main context.  It has the built-in method `hello`; add the others with
 * me_rpc_server_add_method(), then call me_rpc_server_start().
 *
 * Returns: (transfer full): the server
 */
MeRpcServer *
me_rpc_server_new(GInputStream *input, GOutputStream *output, gsize max_inbound)
{
	MeRpcServer *self;

	g_return_val_if_fail(G_IS_INPUT_STREAM(input), NULL);
	g_return_val_if_fail(G_IS_OUTPUT_STREAM(output), NULL);
	g_return_val_if_fail(max_inbound >= ME_RPC_MIN_INBOUND && max_inbound <= ME_RPC_MAX_INBOUND, NULL);

	self = g_object_new(ME_TYPE_RPC_SERVER, NULL);
	self->input = g_object_ref(input);
	self->output = g_object_ref(output);
	self->max_inbound = max_inbound;
	self->decoder = me_frame_decoder_new(max_inbound);
	me_rpc_server_add_method(self, "hello", hello_cb, NULL, NULL);
	return self;
}

static void
add_method(MeRpcServer *server, const gchar *name, MeRpcMethodFunc func, gpointer user_data, GDestroyNotify destroy,
	   gboolean unlisted)
{
	RpcMethod *method;

	g_return_if_fail(ME_IS_RPC_SERVER(server));
	g_return_if_fail(name != NULL && name[0] != '\0' && strlen(name) <= ME_RPC_METHOD_MAX);
	g_return_if_fail(!g_str_has_prefix(name, "rpc."));
	g_return_if_fail(!g_hash_table_contains(server->methods, name));
	g_return_if_fail(func != NULL);

	method = g_new0(RpcMethod, 1);
	method->func = func;
	method->user_data = user_data;
	method->destroy = destroy;
	method->unlisted = unlisted;
	g_hash_table_insert(server->methods, g_strdup(name), method);
}

/**
 * me_rpc_server_add_method:
 * @server: a server
 * @name: the method name (not `hello`, which is built in, and not starting with `rpc.`)
 * @func: the handler
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data with the server
 *
 * Registers a method; `hello` lists it in its result.
 */
void
me_rpc_server_add_method(MeRpcServer *server, const gchar *name, MeRpcMethodFunc func, gpointer user_data,
			 GDestroyNotify destroy)
{
	add_method(server, name, func, user_data, destroy, FALSE);
}

/**
 * me_rpc_server_add_unlisted_method:
 * @server: a server
 * @name: the method name, as for me_rpc_server_add_method()
 * @func: the handler
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data with the server
 *
 * Registers a method that `hello` does not list: one the test build answers, which is no
 * part of the protocol a mail client may rely on (messaging/PROTOCOL.md §10).
 */
void
me_rpc_server_add_unlisted_method(MeRpcServer *server, const gchar *name, MeRpcMethodFunc func, gpointer user_data,
				  GDestroyNotify destroy)
{
	add_method(server, name, func, user_data, destroy, TRUE);
}

/**
 * me_rpc_server_add_event:
 * @server: a server
 * @name: the name of a notification the helper sends, e.g. `progress`
 *
 * Lists @name in the `events` of the `hello` result.
 */
void
me_rpc_server_add_event(MeRpcServer *server, const gchar *name)
{
	g_return_if_fail(ME_IS_RPC_SERVER(server));
	g_return_if_fail(name != NULL && name[0] != '\0');
	g_ptr_array_add(server->events, g_strdup(name));
}

/**
 * me_rpc_server_start:
 * @server: a server
 *
 * Starts reading requests.
 */
void
me_rpc_server_start(MeRpcServer *server)
{
	g_return_if_fail(ME_IS_RPC_SERVER(server));
	g_return_if_fail(!server->started);
	server->started = TRUE;
	pump(server);
}

/**
 * me_rpc_server_close:
 * @server: a server
 *
 * Stops reading (a SIGTERM, say), fails the requests waiting for the extension and emits
 * #MeRpcServer::closed with no error, if not done before.  Queued output is still written.
 */
void
me_rpc_server_close(MeRpcServer *server)
{
	g_return_if_fail(ME_IS_RPC_SERVER(server));
	close_with_error(server, NULL);
}

/**
 * me_rpc_server_is_closed:
 * @server: a server
 *
 * Returns: %TRUE once #MeRpcServer::closed was emitted
 */
gboolean
me_rpc_server_is_closed(MeRpcServer *server)
{
	g_return_val_if_fail(ME_IS_RPC_SERVER(server), TRUE);
	return server->closed;
}

/**
 * me_rpc_server_get_protocol:
 * @server: a server
 *
 * Returns: the protocol version `hello` agreed on, or 0 before a successful `hello`
 */
guint
me_rpc_server_get_protocol(MeRpcServer *server)
{
	g_return_val_if_fail(ME_IS_RPC_SERVER(server), 0);
	return server->protocol;
}

/**
 * me_rpc_server_get_client:
 * @server: a server
 *
 * Returns: (nullable): the `client` the extension named in `hello`
 */
const gchar *
me_rpc_server_get_client(MeRpcServer *server)
{
	g_return_val_if_fail(ME_IS_RPC_SERVER(server), NULL);
	return server->client;
}

/**
 * me_rpc_server_set_extension_id:
 * @server: a server
 * @extension_id: (nullable): the add-on id Thunderbird (or the desktop portal) passed on
 *   the command line
 *
 * Says which add-on the helper was started for: only mailenroll's may name its profile in
 * `hello`.
 */
void
me_rpc_server_set_extension_id(MeRpcServer *server, const gchar *extension_id)
{
	g_return_if_fail(ME_IS_RPC_SERVER(server));
	g_free(server->extension_id);
	server->extension_id = g_strdup(extension_id);
}

/**
 * me_rpc_server_get_profile:
 * @server: a server
 *
 * Returns: (nullable): the Thunderbird profile folder the add-on named in `hello`, verified
 *   by me_tb_profile_verify_claimed(); %NULL when it named none
 */
const gchar *
me_rpc_server_get_profile(MeRpcServer *server)
{
	g_return_val_if_fail(ME_IS_RPC_SERVER(server), NULL);
	return server->profile;
}
