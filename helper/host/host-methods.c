/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* the enrollment methods of mailenroll-helper (messaging/PROTOCOL.md §9): the engine's
 * blocking steps run in a worker thread, answers and progress go out on the main loop */

#define G_LOG_DOMAIN "MeHost"

#include "config.h"

#include "host-methods.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "csr.h"
#include "enroll.h"
#include "host-config.h"
#include "host-params.h"
#include "install.h"
#include "me-config.h"

/* the engine's blocking steps run on this many threads at most ... */
#define HOST_JOB_THREADS 4
/* ... and this many jobs may be running or waiting for one; a call beyond is answered
 * `busy` at once, so a mail client cannot pile up work, threads or memory in the helper */
#define HOST_JOB_QUEUE_MAX 32

/* the pool and its count live on the main loop's thread; workers only run jobs */
static GThreadPool *job_pool;
static guint jobs_queued;

typedef enum {
	JOB_ENROLL,
	JOB_INSPECT,
	JOB_REPLY_SENT,
	JOB_REPLY_FAILED,
	JOB_INSTALL,
	JOB_RENEW,
	JOB_REVOKE,
} JobKind;

typedef struct {
	JobKind kind;
	MeRpcServer *server;
	MeRpcCall *call;
	MeConfig *config;
	MeEnrollOptions opts;
	gchar *mailbox;
	gchar *ca;
	gchar *profile;
	/* the profile the add-on named in hello, verified; copied for the worker */
	gchar *hello_profile;
	gboolean restart;
	gboolean force;
	gint reason;
	GBytes *message;
	/* the enrollment it works on (turn_key()), and whether its question is up */
	gchar *turn;
	gboolean asking;
	/* filled by the worker */
	MeEnroll *enroll;
	MeChallengeVerdict *verdict;
	JsonNode *result;
} Job;

static void turn_end(Job *job);

static void
job_free(Job *job)
{
	/* the enrollment first: its options point into the configuration; then the next job
	 * that waits for it may go */
	me_enroll_free(job->enroll);
	job->enroll = NULL;
	turn_end(job);
	g_free(job->turn);
	g_object_unref(job->server);
	me_config_free(job->config);
	g_free(job->mailbox);
	g_free(job->ca);
	g_free(job->profile);
	g_free(job->hello_profile);
	if (job->message != NULL)
		g_bytes_unref(job->message);
	me_challenge_verdict_free(job->verdict);
	if (job->result != NULL)
		json_node_unref(job->result);
	g_free(job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Job, job_free)

/* ---- one enrollment, one job at a time
 *
 * A job holds its enrollment's lock while it works on it, and the engine answers a second
 * job on the same enrollment `busy` (state.c) — the mail client looks again a minute later.
 * Within the helper, a job whose enrollment another job is checking a mail for waits its
 * turn instead: checking a mail takes moments, and a forged mail that is being checked
 * when the CA's arrives must not turn the CA's away, again and again for as long as forged
 * mail keeps coming. Behind anything longer (a question to the person, the CA's checks
 * after a reply) a job still goes at once, and the engine answers it busy. */

typedef struct {
	Job *holder;
	GQueue waiting; /* Job, in the order the calls came */
} Turn;

/* enrollment (turn_key()) → Turn; on the main loop's thread only */
static GHashTable *turns;

static void job_dispatch(Job *job);

/* what names the enrollment a job works on: the state folder, the CA profile and the
 * mailbox as the engine writes it (an address it refuses stands for itself; its job fails) */
static gchar *
turn_key(Job *job)
{
	g_autofree gchar *mailbox = me_csr_normalize_mailbox(job->mailbox, NULL, NULL);

	return g_strjoin("\n", me_config_get_state_dir(job->config), job->opts.ca_name,
			 mailbox != NULL ? mailbox : job->mailbox, NULL);
}

static void
turn_free(Turn *turn)
{
	g_queue_clear(&turn->waiting);
	g_free(turn);
}

/* whether a job may wait for @turn's holder: only while it checks a mail */
static gboolean
turn_is_brief(Turn *turn)
{
	return (turn->holder->kind == JOB_INSPECT || turn->holder->kind == JOB_REPLY_FAILED) && !turn->holder->asking;
}

/* the jobs that wait for @turn go now, to be answered by the engine: its holder will be long */
static void
turn_release_waiting(Turn *turn)
{
	Job *job;

	while ((job = g_queue_pop_head(&turn->waiting)) != NULL)
		job_dispatch(job);
}

/* @job starts, or waits for the job that holds its enrollment */
static void
turn_begin(Job *job)
{
	Turn *turn;

	if (turns == NULL)
		turns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)turn_free);
	turn = g_hash_table_lookup(turns, job->turn);
	if (turn == NULL) {
		turn = g_new0(Turn, 1);
		turn->holder = job;
		g_queue_init(&turn->waiting);
		g_hash_table_insert(turns, g_strdup(job->turn), turn);
		job_dispatch(job);
		return;
	}
	if (turn_is_brief(turn)) {
		g_debug("%s waits for the enrollment's other job", me_rpc_call_get_method(job->call));
		g_queue_push_tail(&turn->waiting, job);
		return;
	}
	job_dispatch(job);
}

/* @job, which holds its enrollment, asks the person: the jobs that wait for it go now */
static void
turn_ask(Job *job)
{
	Turn *turn = turns != NULL ? g_hash_table_lookup(turns, job->turn) : NULL;

	job->asking = TRUE;
	if (turn != NULL && turn->holder == job)
		turn_release_waiting(turn);
}

/* @job is done: if it held its enrollment, the next job that waits for it has it */
static void
turn_end(Job *job)
{
	Turn *turn = turns != NULL && job->turn != NULL ? g_hash_table_lookup(turns, job->turn) : NULL;
	Job *next;

	if (turn == NULL || turn->holder != job)
		return;
	next = g_queue_pop_head(&turn->waiting);
	if (next == NULL) {
		g_hash_table_remove(turns, job->turn);
		return;
	}
	turn->holder = next;
	job_dispatch(next);
	if (!turn_is_brief(turn))
		turn_release_waiting(turn);
}

/* ---- parameters */

/* a string member, copied */
static gboolean
param_string(JsonObject *params, const gchar *name, gboolean required, gchar **out, GError **error)
{
	const gchar *value = NULL;

	if (!me_host_param_string(params, name, required, &value, NULL, error))
		return FALSE;
	if (value != NULL)
		*out = g_strdup(value);
	return TRUE;
}

/* the configuration and the CA profile, read afresh for each request */
static Job *
job_new(JobKind kind, MeRpcServer *server, JsonNode *params, MeRpcCall *call, GError **error)
{
	g_autoptr(Job) job = g_new0(Job, 1);
	JsonObject *obj = params != NULL && JSON_NODE_HOLDS_OBJECT(params) ? json_node_get_object(params) : NULL;
	const MeCaProfile *ca;

	job->kind = kind;
	job->server = g_object_ref(server);
	job->call = call;
	if (params != NULL && obj == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: a request's parameters are not an object */
				    _("The request's parameters must be an object; update the mailenroll add-on."));
		return NULL;
	}
	if (!param_string(obj, "mailbox", TRUE, &job->mailbox, error) ||
	    !param_string(obj, "ca", FALSE, &job->ca, error) ||
	    !param_string(obj, "profile", FALSE, &job->profile, error) ||
	    !me_host_param_bool(obj, "restart", &job->restart, error) || !me_host_param_bool(obj, "force", &job->force, error))
		return NULL;
	job->hello_profile = g_strdup(me_rpc_server_get_profile(server));
	job->reason = -1;
	if (obj != NULL && json_object_has_member(obj, "reason")) {
		JsonNode *node = json_object_get_member(obj, "reason");
		if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
					    /* TRANSLATORS: the revocation reason in a request is not a number */
					    _("The request's “reason” must be a whole number; update the mailenroll add-on."));
			return NULL;
		}
		job->reason = (gint)CLAMP(json_node_get_int(node), -2, 11);
	}
	if (kind == JOB_INSPECT) {
		g_autofree gchar *text = NULL;
		if (!param_string(obj, "message", TRUE, &text, error))
			return NULL;
		job->message = g_bytes_new_take(text, strlen(text));
		text = NULL;
	}
	job->config = me_config_load_default(error);
	if (job->config == NULL)
		return NULL;
	ca = me_config_get_ca(job->config, job->ca);
	if (ca == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_FOUND,
				    /* TRANSLATORS: no CA is configured, or several without a default */
				    _("No certificate authority is chosen; add a [ca NAME] group to mailenroll.conf, set default-ca, or pass --ca."));
		return NULL;
	}
	me_enroll_options_init(&job->opts, ca, me_config_get_general(job->config));
	job->opts.config = job->config;
	job->turn = turn_key(job);
	return g_steal_pointer(&job);
}

/* ---- progress: from the worker thread to the extension */

typedef struct {
	MeRpcServer *server;
	JsonNode *params;
} Progress;

static gboolean
progress_idle(gpointer data)
{
	Progress *p = data;
	g_autoptr(GError) error = NULL;

	if (!me_rpc_server_notify(p->server, "progress", p->params, &error))
		g_debug("progress: %s", error->message);
	g_object_unref(p->server);
	json_node_unref(p->params);
	g_free(p);
	return G_SOURCE_REMOVE;
}

static void
progress_cb(MeStateStep step, const gchar *message, gpointer user_data)
{
	Job *job = user_data;
	g_autoptr(JsonBuilder) b = json_builder_new();
	Progress *p = g_new0(Progress, 1);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mailbox");
	json_builder_add_string_value(b, job->mailbox);
	json_builder_set_member_name(b, "step");
	json_builder_add_string_value(b, me_state_step_to_string(step));
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	p->server = g_object_ref(job->server);
	p->params = json_builder_get_root(b);
	g_idle_add(progress_idle, p);
}

/* ---- results */

static JsonNode *
state_summary(MeState *state)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	const gchar *keys[] = {"mailbox", "ca", "state", "challenge_from", "failure"};
	JsonObject *obj = me_state_get_object(state);
	JsonNode *installed = json_object_get_member(obj, "installed");

	json_builder_begin_object(b);
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		const gchar *value = me_state_get_string(state, keys[i]);
		if (value == NULL)
			continue;
		json_builder_set_member_name(b, keys[i]);
		json_builder_add_string_value(b, value);
	}
	if (me_state_get_int(state, "not_after") != 0) {
		json_builder_set_member_name(b, "not_after");
		json_builder_add_int_value(b, me_state_get_int(state, "not_after"));
	}
	if (installed != NULL) {
		json_builder_set_member_name(b, "installed");
		json_builder_add_value(b, json_node_copy(installed));
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *
reply_fields(const MeMailReply *reply, GBytes *raw)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "from");
	json_builder_add_string_value(b, reply->from);
	json_builder_set_member_name(b, "to");
	json_builder_begin_array(b);
	for (guint i = 0; i < reply->to->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(reply->to, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "subject");
	json_builder_add_string_value(b, reply->subject);
	if (reply->in_reply_to != NULL) {
		json_builder_set_member_name(b, "in_reply_to");
		json_builder_add_string_value(b, reply->in_reply_to);
	}
	if (reply->references != NULL) {
		json_builder_set_member_name(b, "references");
		json_builder_add_string_value(b, reply->references);
	}
	json_builder_set_member_name(b, "body");
	json_builder_add_string_value(b, reply->body);
	json_builder_set_member_name(b, "raw");
	{
		/* the reply's bytes are not NUL-terminated */
		gsize len = 0;
		const gchar *data = g_bytes_get_data(raw, &len);
		g_autofree gchar *text = g_strndup(data, len);
		json_builder_add_string_value(b, text);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- the worker */

/* into the profile the add-on names, else the one it named in hello (verified there; a
 * sandboxed Thunderbird is not our parent), else the profile of the Thunderbird that
 * started us; the binding is the add-on's, which sees the result */
static gboolean
install_certificate(Job *job, GError **error)
{
	const MeCaProfile *ca = me_config_get_ca(job->config, job->ca);
	const MeInstallOptions options = {
	    .store = ME_INSTALL_STORE_THUNDERBIRD,
	    .profile = job->profile,
	    .launcher_profile = job->hello_profile,
	    .launcher = getppid(),
	    .trust_ca = ca->trust_ca,
	    .progress = progress_cb,
	    .progress_data = job,
	};
	g_autoptr(MeInstallResult) inst = me_install_certificate(job->enroll, job->mailbox, &options, error);
	g_autoptr(JsonBuilder) b = json_builder_new();

	if (inst == NULL)
		return FALSE;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, me_state_step_to_string(me_enroll_get_step(job->enroll)));
	json_builder_set_member_name(b, "profile");
	json_builder_add_string_value(b, inst->location);
	json_builder_set_member_name(b, "nickname");
	json_builder_add_string_value(b, inst->nickname);
	json_builder_set_member_name(b, "db_key");
	json_builder_add_string_value(b, inst->db_key);
	json_builder_set_member_name(b, "signing");
	json_builder_add_boolean_value(b, inst->signing);
	json_builder_set_member_name(b, "encryption");
	json_builder_add_boolean_value(b, inst->encryption);
	json_builder_end_object(b);
	job->result = json_builder_get_root(b);
	return TRUE;
}

/* the state, and while the enrollment waits for the challenge mail, where that wait stands:
 * the engine may tell the CA to go ahead now (me_enroll_check_wait()), and says why no
 * challenge was answered once the CA's mail-wait is over */
static gboolean
summarize_wait(Job *job, GError **error)
{
	MeEnrollWait wait = ME_ENROLL_WAIT_DONE;
	g_autofree gchar *why = NULL;
	JsonObject *obj;

	if (!me_enroll_check_wait(job->enroll, 0, &wait, NULL, error))
		return FALSE;
	job->result = state_summary(me_enroll_get_state(job->enroll));
	obj = json_node_get_object(job->result);
	if (wait == ME_ENROLL_WAIT_DONE)
		return TRUE;
	json_object_set_string_member(obj, "wait", me_enroll_wait_to_nick(wait));
	why = me_enroll_describe_wait(job->enroll, wait);
	if (why != NULL)
		json_object_set_string_member(obj, "wait_message", why);
	return TRUE;
}

static gboolean
run_job(Job *job, GError **error)
{
	g_autofree gchar *state_dir = g_strdup(me_config_get_state_dir(job->config));

	job->enroll = me_enroll_open(state_dir, &job->opts, job->mailbox, error);
	if (job->enroll == NULL)
		return FALSE;
	me_enroll_set_progress(job->enroll, progress_cb, job);
	switch (job->kind) {
	case JOB_ENROLL:
		if (job->restart && !me_enroll_restart(job->enroll, error))
			return FALSE;
		if (!me_enroll_start(job->enroll, error))
			return FALSE;
		return summarize_wait(job, error);
	case JOB_INSPECT:
		job->verdict = me_enroll_inspect(job->enroll, g_bytes_get_data(job->message, NULL),
						 g_bytes_get_size(job->message), error);
		return job->verdict != NULL;
	case JOB_REPLY_SENT:
		if (!me_enroll_reply_sent(job->enroll, error) || !me_enroll_finish(job->enroll, error))
			return FALSE;
		if (me_enroll_get_step(job->enroll) == ME_STATE_STEP_WAITING_CHALLENGE) {
			/* the CA refused the challenge; a new order waits for its mail */
			job->result = state_summary(me_enroll_get_state(job->enroll));
			json_object_set_string_member(json_node_get_object(job->result), "reordered",
						      me_enroll_get_reorder_note(job->enroll));
			return TRUE;
		}
		if (me_enroll_get_step(job->enroll) == ME_STATE_STEP_INSTALLED) {
			job->result = state_summary(me_enroll_get_state(job->enroll));
			return TRUE;
		}
		return install_certificate(job, error);
	case JOB_REPLY_FAILED:
		if (!me_enroll_reply_failed(job->enroll, error))
			return FALSE;
		job->result = state_summary(me_enroll_get_state(job->enroll));
		return TRUE;
	case JOB_INSTALL:
		return install_certificate(job, error);
	case JOB_RENEW: {
		gint64 at = 0;
		gboolean renewing = FALSE;
		/* when the current certificate is due, reported also once its renewal began */
		(void)me_enroll_is_renewal_due(job->enroll, &at);
		if (!me_enroll_begin_renewal(job->enroll, job->force, &renewing, error))
			return FALSE;
		if (renewing && !me_enroll_start(job->enroll, error))
			return FALSE;
		job->result = state_summary(me_enroll_get_state(job->enroll));
		json_object_set_boolean_member(json_node_get_object(job->result), "renewing", renewing);
		if (at != 0)
			json_object_set_int_member(json_node_get_object(job->result), "renew_at", at);
		return TRUE;
	}
	case JOB_REVOKE:
		if (!me_enroll_revoke(job->enroll, job->reason, error))
			return FALSE;
		job->result = state_summary(me_enroll_get_state(job->enroll));
		json_object_set_boolean_member(json_node_get_object(job->result), "revoked", TRUE);
		return TRUE;
	default:
		g_assert_not_reached();
	}
}

/* a thread of job_pool: the GTask brings the answer back to the main loop */
static void
worker(gpointer data, gpointer user_data)
{
	g_autoptr(GTask) task = data;
	Job *job = g_task_get_task_data(task);
	GError *error = NULL;

	(void)user_data;
	if (run_job(job, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

/* ---- back on the main loop: answer, or ask the person first */

static void
answer_verdict(Job *job, gboolean approved, GBytes *raw, const MeMailReply *fields)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	const MeChallengeVerdict *v = job->verdict;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "answerable");
	json_builder_add_boolean_value(b, v->answerable);
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, me_challenge_reason_to_nick(v->reason));
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, v->message != NULL ? v->message : "");
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, me_state_step_to_string(me_enroll_get_step(job->enroll)));
	if (v->answerable) {
		json_builder_set_member_name(b, "approved");
		json_builder_add_boolean_value(b, approved);
	}
	if (raw != NULL) {
		json_builder_set_member_name(b, "reply");
		json_builder_add_value(b, reply_fields(fields, raw));
	}
	json_builder_end_object(b);
	me_rpc_call_return(job->call, json_builder_get_root(b));
}

static void
approve_or_decline(Job *job, gboolean approve)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(MeMailReply) fields = NULL;

	if (!approve) {
		if (!me_enroll_decline(job->enroll, &error)) {
			me_rpc_call_return_error(job->call, error);
			return;
		}
		answer_verdict(job, FALSE, NULL, NULL);
		return;
	}
	me_enroll_set_reply_delivery(job->enroll, ME_ENROLL_REPLY_DELIVERY_MAIL_CLIENT);
	raw = me_enroll_approve(job->enroll, &fields, &error);
	if (raw == NULL) {
		me_rpc_call_return_error(job->call, error);
		return;
	}
	answer_verdict(job, TRUE, raw, fields);
}

static void
prompt_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(Job) job = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) answer = me_rpc_server_request_finish(ME_RPC_SERVER(source), res, &error);
	JsonNode *approve = NULL;

	if (answer != NULL && JSON_NODE_HOLDS_OBJECT(answer))
		approve = json_object_get_member(json_node_get_object(answer), "approve");
	if (approve == NULL || !JSON_NODE_HOLDS_VALUE(approve) || json_node_get_value_type(approve) != G_TYPE_BOOLEAN) {
		/* no usable answer is no approval: the reply stays unsent and can be asked for again */
		g_debug("prompt: %s", error != NULL ? error->message : "no boolean approve");
		if (error == NULL)
			g_set_error_literal(&error, ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: the add-on's answer to the approval question was not understood */
					    _("The add-on's answer to the approval question was not understood; update the mailenroll add-on."));
		me_rpc_call_return_error(job->call, error);
		return;
	}
	approve_or_decline(job, json_node_get_boolean(approve));
}

static void
ask_person(Job *job)
{
	MeState *st = me_enroll_get_state(job->enroll);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) params = NULL;
	g_autofree gchar *question = g_strdup_printf(
	    /* TRANSLATORS: the approval question the add-on shows; %s are the CA's address, the mailbox and how the mail was verified */
	    _("%s asks to confirm that you control %s (the mail passed the %s check). Send the reply?"),
	    me_state_get_string(st, "challenge_from"), job->mailbox, me_state_get_string(st, "auth_method"));

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mailbox");
	json_builder_add_string_value(b, job->mailbox);
	json_builder_set_member_name(b, "ca");
	json_builder_add_string_value(b, job->opts.ca_name);
	json_builder_set_member_name(b, "from");
	json_builder_add_string_value(b, me_state_get_string(st, "challenge_from"));
	json_builder_set_member_name(b, "auth");
	json_builder_add_string_value(b, me_state_get_string(st, "auth_method"));
	json_builder_set_member_name(b, "question");
	json_builder_add_string_value(b, question);
	json_builder_end_object(b);
	params = json_builder_get_root(b);
	turn_ask(job);
	me_rpc_server_request(job->server, "prompt", params, NULL, prompt_done, job);
}

static void
job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Job *job = user_data;
	g_autoptr(GError) error = NULL;

	(void)source;
	jobs_queued--;
	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		me_rpc_call_return_error(job->call, error);
		job_free(job);
		return;
	}
	if (job->kind != JOB_INSPECT) {
		me_rpc_call_return(job->call, g_steal_pointer(&job->result));
		job_free(job);
		return;
	}
	/* only this mail's own verdict counts: a forged one while a reply waits asks nothing */
	if (!me_enroll_wants_approval(job->enroll, job->verdict)) {
		answer_verdict(job, FALSE, NULL, NULL);
		job_free(job);
		return;
	}
	/* the enrollment stays open (and locked) while the person decides */
	if (me_config_get_ca(job->config, job->ca)->auto_approve == ME_CONFIG_AUTO_APPROVE_VERIFIED) {
		approve_or_decline(job, TRUE);
		job_free(job);
		return;
	}
	ask_person(job);
}

static void
return_busy(MeRpcCall *call)
{
	g_autoptr(GError) error = g_error_new(ME_ERROR, ME_ERROR_BUSY,
					      /* TRANSLATORS: the mail client sent more requests than the helper takes at once; %u is that number */
					      _("The helper is already working on %u requests; wait for their answers, then try again."),
					      (guint)HOST_JOB_QUEUE_MAX);

	me_rpc_call_return_error(call, error);
}

/* @job goes to a worker thread; its answer comes back to job_done() on the main loop */
static void
job_dispatch(Job *job)
{
	GTask *task;

	if (job_pool == NULL)
		job_pool = g_thread_pool_new(worker, NULL, HOST_JOB_THREADS, FALSE, NULL);
	task = g_task_new(NULL, NULL, job_done, job);
	g_task_set_task_data(task, job, NULL);
	/* a non-exclusive pool only fails to push when it cannot start a thread at all */
	g_thread_pool_push(job_pool, task, NULL);
}

static void
start_job(JobKind kind, MeRpcServer *server, JsonNode *params, MeRpcCall *call)
{
	g_autoptr(GError) error = NULL;
	Job *job;

	/* refused before the configuration is read or the message copied: a flood costs nothing */
	if (jobs_queued >= HOST_JOB_QUEUE_MAX) {
		g_debug("%u jobs queued: %s answered busy", jobs_queued, me_rpc_call_get_method(call));
		return_busy(call);
		return;
	}
	job = job_new(kind, server, params, call, &error);
	if (job == NULL) {
		me_rpc_call_return_error(call, error);
		return;
	}
	jobs_queued++;
	turn_begin(job);
}

/* every worker method: the job kind rides in the method's user data */
static void
job_method_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	start_job((JobKind)GPOINTER_TO_INT(user_data), server, params, call);
}

/* status reads files only: answered at once */
static void
status_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = me_config_load_default(&error);
	g_autoptr(GPtrArray) states = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree gchar *mailbox = NULL;
	JsonObject *obj = params != NULL && JSON_NODE_HOLDS_OBJECT(params) ? json_node_get_object(params) : NULL;

	(void)server;
	(void)user_data;
	if (config == NULL || !param_string(obj, "mailbox", FALSE, &mailbox, &error) ||
	    (states = me_state_list(me_config_get_state_dir(config), &error)) == NULL) {
		me_rpc_call_return_error(call, error);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enrollments");
	json_builder_begin_array(b);
	for (guint i = 0; i < states->len; i++) {
		MeState *st = g_ptr_array_index(states, i);
		if (mailbox != NULL && g_strcmp0(me_state_get_string(st, "mailbox"), mailbox) != 0)
			continue;
		json_builder_add_value(b, state_summary(st));
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	me_rpc_call_return(call, json_builder_get_root(b));
}

/**
 * me_host_register_methods:
 * @server: the helper's JSON-RPC server
 *
 * Adds the enrollment methods (`enroll`, `challenge.inspect`, `reply.sent`, `install`,
 * `renew`, `revoke`, `status`), the configuration methods (host-config.c) and the
 * `progress` event; the helper's own `prompt` request asks the person
 * through the add-on before a reply is handed out.
 */
void
me_host_register_methods(MeRpcServer *server)
{
	static const struct {
		const gchar *name;
		JobKind kind;
	} jobs[] = {
	    {"enroll", JOB_ENROLL},	  {"challenge.inspect", JOB_INSPECT}, {"reply.sent", JOB_REPLY_SENT},
	    {"reply.failed", JOB_REPLY_FAILED}, {"install", JOB_INSTALL}, {"renew", JOB_RENEW},
	    {"revoke", JOB_REVOKE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(jobs); i++)
		me_rpc_server_add_method(server, jobs[i].name, job_method_cb, GINT_TO_POINTER(jobs[i].kind), NULL);
	me_rpc_server_add_method(server, "status", status_cb, NULL, NULL);
	/* config.get, config.set, ca.add, ca.agree, ca.eab: helper/host/host-config.c */
	me_host_config_register_methods(server);
	me_rpc_server_add_event(server, "progress");
}
