/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeEnroll"

#include "config.h"

#include "enroll.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme-client.h"
#include "autocleanups.h"
#include "csr.h"
#include "dkim.h"
#include "dns.h"
#include "jws.h"
#include "keyring.h"
#include "smime.h"
#include "verifier.h"

/*
 * Every step is saved the moment it is reached, and every step checks where it stands
 * before it acts, so a process killed anywhere resumes without a second reply, a second
 * order or a lost key:
 *
 *  - keys go into the keyring before anything refers to them, and their fingerprint into
 *    the state right after; a kill in between leaves an unused key, never a missing one;
 *  - "answered" is saved before the reply is handed out (docs/design.md §3), together with
 *    the exact bytes of the reply (DKIM signature included) and who sends it.  Where the
 *    person or the mail client sends it, a kill can lose a reply, never send two.  Where
 *    mailenroll submits it by SMTP, "submitting" is saved the moment the server is ready for
 *    the message and "reply-sent" after its 250; a kill in between cannot tell whether the
 *    reply left, so the rerun submits the same bytes again (same Message-ID, same
 *    signature).  A duplicate of the one reply is harmless, the CA counts the first; a lost
 *    reply kills the order, since the only other way on POSTs a challenge nobody answered;
 *  - the order is read back before finalizing, so a CSR is never sent twice;
 *  - the one window that cannot be closed is between the CA creating an order and the
 *    order URL being saved: a kill there leaves an order the CA forgets when it expires.
 */

struct _MeEnroll {
	MeState *state;
	gchar *state_dir;
	const MeEnrollOptions *opts;
	gchar *mailbox;
	MeAcmeClient *client;
	EVP_PKEY *account_key;
	MeEnrollProgressFunc progress;
	gpointer progress_data;
	MeEnrollReplyDelivery delivery;
	/* the step the last progress sentence announced: what a failure interrupted */
	MeStateStep attempting;
	/* what this run was told already, so the next step need not ask again: the challenge
	 * POST's answer said valid (so is the authorization, RFC 8555 §7.1.6), and the order
	 * as finalizing left it (valid, with its certificate URL) */
	gboolean challenge_valid;
	MeAcmeOrder *finalized_order;
};

static const gchar *const timing_names[] = {"detect", "authz", "challenge"};

/**
 * me_enroll_mail_timing_from_string:
 * @text: `detect`, `authz` or `challenge`
 * @timing: (out): the timing
 *
 * Returns: %TRUE if @text names a timing
 */
gboolean
me_enroll_mail_timing_from_string(const gchar *text, MeEnrollMailTiming *timing)
{
	for (guint i = 0; text != NULL && i < G_N_ELEMENTS(timing_names); i++) {
		if (g_strcmp0(text, timing_names[i]) == 0) {
			*timing = (MeEnrollMailTiming)i;
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * me_enroll_mail_timing_to_string:
 * @timing: a timing
 *
 * Returns: its name
 */
const gchar *
me_enroll_mail_timing_to_string(MeEnrollMailTiming timing)
{
	return (guint)timing < G_N_ELEMENTS(timing_names) ? timing_names[timing] : "detect";
}

/**
 * me_enroll_options_init:
 * @options: (out caller-allocates): the options to fill
 * @ca: the CA profile of the configuration (kept by the caller)
 * @general: the configuration's [general] values
 *
 * The engine's options as the configuration sets them; the CA's own values win.
 */
void
me_enroll_options_init(MeEnrollOptions *options, const MeCaProfile *ca, const MeConfigGeneral *general)
{
	memset(options, 0, sizeof(*options));
	options->ca_name = ca->name;
	options->directory = ca->directory;
	options->ca_file = ca->ca_file;
	options->token_join = ca->token_join;
	options->mail_timing = ca->mail_timing == ME_CONFIG_MAIL_TIMING_AUTHZ	     ? ME_ENROLL_MAIL_TIMING_AUTHZ
			       : ca->mail_timing == ME_CONFIG_MAIL_TIMING_CHALLENGE ? ME_ENROLL_MAIL_TIMING_CHALLENGE
										    : ME_ENROLL_MAIL_TIMING_DETECT;
	options->key_type = ca->key_type != ME_KEY_TYPE_UNKNOWN ? ca->key_type : general->key_type;
	options->usage = ca->key_usage != ME_KEY_USAGE_UNKNOWN ? ca->key_usage : general->key_usage;
	options->contacts = (const gchar *const *)ca->contact;
	options->terms_agreed = ca->agree_tos;
	options->agreed_terms = ca->agreed_terms;
	options->eab_kid = ca->eab_kid;
	options->eab_label = ca->eab_secret;
	options->trusted_authserv_ids = (const gchar *const *)ca->trusted_authserv_ids;
	options->dns_server = ca->dns_server;
	/* resolved by the configuration: the file, the system's bundle, or NULL for none */
	options->smime_trust_file = ca->smime_trust_file;
	options->dkim_selector = ca->dkim_selector;
	options->dkim_domain = ca->dkim_domain;
	options->dkim_key_label = ca->dkim_key;
	options->mail_wait = ca->mail_wait;
	options->renew_fraction = general->renew_fraction;
	options->quirks = ca->quirks;
}

/* json-glib's getters complain about a missing member; these do not */
static JsonObject *
get_object(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);
	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

static JsonArray *
get_array(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);
	return node != NULL && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

static gint64
now_unix(MeEnroll *e)
{
	return e->opts->now != 0 ? e->opts->now : g_get_real_time() / G_USEC_PER_SEC;
}

static void
progress(MeEnroll *e, MeStateStep step, const gchar *message)
{
	g_debug("%s: %s: %s", e->mailbox, me_state_step_to_string(step), message);
	e->attempting = step;
	if (e->progress != NULL)
		e->progress(step, message, e->progress_data);
}

static gboolean start_steps(MeEnroll *enroll, GError **error);
static gboolean finish_steps(MeEnroll *enroll, GError **error);

#ifdef ME_TEST_HOOKS
/* the kill tests stop the process the moment a step is saved: a kill at an exact point
 * is a fault no real part produces on demand (tests/test-cli.c).  Only the test build
 * (-DME_TEST_HOOKS, helper/lib/meson.build) has them */
static void
test_kill_point_named(const gchar *point)
{
	const gchar *at = g_getenv("MAILENROLL_TEST_KILL_AFTER");

	if (at != NULL && g_strcmp0(at, point) == 0)
		raise(SIGKILL);
}

static void
test_kill_point(MeStateStep step)
{
	test_kill_point_named(me_state_step_to_string(step));
}
#else
/* what ships: no kill point, not even its name */
#define test_kill_point_named(point) G_STMT_START { } G_STMT_END
#define test_kill_point(step)	     G_STMT_START { } G_STMT_END
#endif

/* the members me_enroll_note_failure() records; a step reached clears them */
static const gchar *const failure_keys[] = {"failure", "failed_step", "failed_at"};

static void
forget_failure(MeEnroll *e)
{
	for (gsize i = 0; i < G_N_ELEMENTS(failure_keys); i++)
		json_object_remove_member(me_state_get_object(e->state), failure_keys[i]);
}

static gboolean
save_step(MeEnroll *e, MeStateStep step, GError **error)
{
	me_state_set_step(e->state, step);
	if (step != ME_STATE_STEP_FAILED)
		forget_failure(e);
	/* once the reply left (or the order ended), its text is never handed out again */
	if (step >= ME_STATE_STEP_REPLY_SENT)
		json_object_remove_member(me_state_get_object(e->state), "reply");
	if (!me_state_save(e->state, error))
		return FALSE;
	test_kill_point(step);
	return TRUE;
}

/**
 * me_enroll_open:
 * @state_dir: the state folder
 * @options: the CA profile and choices; kept by the caller while the enrollment lives
 * @mailbox: the mailbox to enroll
 * @error: return location for a #GError
 *
 * Opens the enrollment of @mailbox at @options->ca_name, resuming where it stopped, and
 * holds it so no other process works on it meanwhile.
 *
 * Returns: (transfer full): the enrollment, or %NULL with @error set
 */
MeEnroll *
me_enroll_open(const gchar *state_dir, const MeEnrollOptions *options, const gchar *mailbox, GError **error)
{
	g_autoptr(MeEnroll) e = g_new0(MeEnroll, 1);
	g_autofree gchar *normal = NULL;
	const gchar *saved_dir;

	g_return_val_if_fail(options != NULL && options->ca_name != NULL && options->directory != NULL, NULL);
	normal = me_csr_normalize_mailbox(mailbox, NULL, error);
	if (normal == NULL)
		return NULL;
	e->opts = options;
	e->mailbox = g_steal_pointer(&normal);
	e->state_dir = g_strdup(state_dir);
	e->state = me_state_open(state_dir, options->ca_name, e->mailbox, error);
	if (e->state == NULL)
		return NULL;
	saved_dir = me_state_get_string(e->state, "directory");
	if (saved_dir != NULL && g_strcmp0(saved_dir, options->directory) != 0 &&
	    me_state_get_step(e->state) < ME_STATE_STEP_INSTALLED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: the CA profile's directory changed while an enrollment was under way; %s is the mailbox */
			    _("The CA's address changed while the certificate for %s was being requested; start again with --restart."),
			    e->mailbox);
		return NULL;
	}
	return g_steal_pointer(&e);
}

static void ca_cache_save(MeAcmeClient *client);
static void keygen_start(MeEnroll *e);

/**
 * me_enroll_free:
 * @enroll: (nullable): an enrollment
 *
 * Frees @enroll and releases its lock.
 */
void
me_enroll_free(MeEnroll *enroll)
{
	if (enroll == NULL)
		return;
	me_state_free(enroll->state);
	me_acme_order_free(enroll->finalized_order);
	if (enroll->client != NULL) {
		ca_cache_save(enroll->client);
		me_acme_client_free(enroll->client);
	}
	EVP_PKEY_free(enroll->account_key);
	g_free(enroll->mailbox);
	g_free(enroll->state_dir);
	g_free(enroll);
}

/**
 * me_enroll_set_progress:
 * @enroll: an enrollment
 * @func: (nullable): called before each long step
 * @user_data: its data
 *
 * Sets where progress goes.
 */
void
me_enroll_set_progress(MeEnroll *enroll, MeEnrollProgressFunc func, gpointer user_data)
{
	enroll->progress = func;
	enroll->progress_data = user_data;
}

/**
 * me_enroll_get_state:
 * @enroll: an enrollment
 *
 * Returns: (transfer none): the persisted state
 */
MeState *
me_enroll_get_state(MeEnroll *enroll)
{
	return enroll->state;
}

/**
 * me_enroll_get_step:
 * @enroll: an enrollment
 *
 * Returns: the step reached
 */
MeStateStep
me_enroll_get_step(MeEnroll *enroll)
{
	return me_state_get_step(enroll->state);
}

/**
 * me_enroll_note_failure:
 * @enroll: an enrollment
 * @step: the step that was being attempted
 * @error: why it failed (its message is one sentence for the person)
 *
 * Records in the state that an attempt failed: at which step, why and when, so that
 * `status` shows it.  The step reached stays as it was, so the next attempt goes on from
 * there; reaching any step forgets the failure.  A failed order (%ME_STATE_STEP_FAILED)
 * keeps the reason it failed for.  A state that cannot be saved only loses the note.
 */
void
me_enroll_note_failure(MeEnroll *enroll, MeStateStep step, const GError *error)
{
	g_autoptr(GError) local = NULL;

	g_return_if_fail(enroll != NULL && error != NULL);

	if (me_state_get_step(enroll->state) == ME_STATE_STEP_FAILED &&
	    me_state_get_string(enroll->state, "failure") != NULL)
		return;
	me_state_set_string(enroll->state, "failure", error->message);
	me_state_set_string(enroll->state, "failed_step", me_state_step_to_string(step));
	me_state_set_int(enroll->state, "failed_at", now_unix(enroll));
	if (!me_state_save(enroll->state, &local))
		g_debug("%s: noting the failure: %s", enroll->mailbox, local->message);
}

/**
 * me_enroll_restart:
 * @enroll: an enrollment
 * @error: return location for a #GError
 *
 * Forgets the order under way (the old state is kept beside as `.old`); the account and
 * every key stay in the keyring.  A challenge already answered stays answered at the CA,
 * so the new order gets a new challenge.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_restart(MeEnroll *enroll, GError **error)
{
	const gchar *fp = me_state_get_string(enroll->state, "account_key_fp");
	const gchar *url = me_state_get_string(enroll->state, "account_url");
	g_autofree gchar *keep_fp = g_strdup(fp);
	g_autofree gchar *keep_url = g_strdup(url);

	JsonArray *used = get_array(me_state_get_object(enroll->state), "used_tokens");
	g_autoptr(JsonArray) keep_used = used != NULL ? json_array_ref(used) : json_array_new();
	JsonArray *previous = get_array(me_state_get_object(enroll->state), "previous");
	g_autoptr(JsonArray) keep_previous = previous != NULL ? json_array_ref(previous) : NULL;
	g_autofree gchar *keep_replaces = g_strdup(me_state_get_string(enroll->state, "replaces"));
	g_autofree gchar *keep_replaces_account = g_strdup(me_state_get_string(enroll->state, "replaces_account"));

	if (!me_state_reset(enroll->state, error))
		return FALSE;
	/* the account outlives the order, and so do the memory of challenges seen and, during
	 * a renewal, the certificates it replaces */
	me_state_set_string(enroll->state, "account_key_fp", keep_fp);
	me_state_set_string(enroll->state, "account_url", keep_url);
	json_object_set_array_member(me_state_get_object(enroll->state), "used_tokens", json_array_ref(keep_used));
	if (keep_previous != NULL)
		json_object_set_array_member(me_state_get_object(enroll->state), "previous", json_array_ref(keep_previous));
	me_state_set_string(enroll->state, "replaces", keep_replaces);
	me_state_set_string(enroll->state, "replaces_account", keep_replaces_account);
	return me_state_save(enroll->state, error);
}

/* ---- messages about a setting: they name the key and the file it is in */

/* the file that sets @key of this CA's group, or has the group, for the person */
static gchar *
setting_file(MeEnroll *e, const gchar *key)
{
	const gchar *path =
	    e->opts->config != NULL ? me_config_get_ca_key_origin(e->opts->config, e->opts->ca_name, key) : NULL;

	return path != NULL ? g_filename_display_name(path) : g_strdup("mailenroll.conf");
}

/* ca-file: a file that cannot be read or holds no certificate is said before any request,
 * rather than as a CA whose identity could not be verified */
static gboolean
check_ca_file(MeEnroll *e, GError **error)
{
	g_autoptr(X509_STORE) store = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree gchar *display = NULL;
	g_autofree gchar *file = NULL;

	if (e->opts->ca_file == NULL)
		return TRUE;
	display = g_filename_display_name(e->opts->ca_file);
	file = setting_file(e, "ca-file");
	if (g_access(e->opts->ca_file, R_OK) != 0) {
		gint errsv = errno;
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: the ca-file of a CA cannot be read; %s are the file, the system's reason, the CA's name and the configuration file; keep ca-file= */
			    _("The ca-file %s cannot be read (%s); correct ca-file= in [ca %s] of %s."), display,
			    g_strerror(errsv), e->opts->ca_name, file);
		return FALSE;
	}
	store = X509_STORE_new();
	if (me_smime_trust_load(store, e->opts->ca_file, &local) <= 0) {
		g_debug("ca-file %s: %s", e->opts->ca_file, local != NULL ? local->message : "no certificate");
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: the ca-file of a CA holds no PEM certificate; %s are the file, the CA's name and the configuration file; keep ca-file= */
			    _("The ca-file %s holds no PEM certificate; set ca-file= in [ca %s] of %s to the PEM file of the CA that issued the server's certificate."),
			    display, e->opts->ca_name, file);
		return FALSE;
	}
	return TRUE;
}

/* a server the ca-file does not vouch for: the setting to fix, not the system's store;
 * returns FALSE, for the failure it explains */
static gboolean
explain_ca_file(MeEnroll *e, GError **error)
{
	g_autofree gchar *display = NULL;
	g_autofree gchar *file = NULL;

	if (error == NULL || *error == NULL || e->opts->ca_file == NULL || !g_error_matches(*error, ME_ERROR, ME_ERROR_TLS))
		return FALSE;
	display = g_filename_display_name(e->opts->ca_file);
	file = setting_file(e, "ca-file");
	g_debug("TLS: %s", (*error)->message);
	g_free((*error)->message);
	(*error)->message = g_strdup_printf(
	    /* TRANSLATORS: the CA's server is not verified by the ca-file; %s are the directory URL, the ca-file, the CA's name and the configuration file; keep ca-file= */
	    _("The server of the certificate authority at %s could not be verified with the certificates in ca-file %s; set ca-file= in [ca %s] of %s to the CA that issued the server's certificate."),
	    e->opts->directory, display, e->opts->ca_name, file);
	return FALSE;
}

/* ---- the account: one per (user, CA), shared by the user's mailboxes (docs/design.md §3,
 * "One account per CA"): a CA that hands out single-use EAB keys takes one account only,
 * and the CA sees one customer, not one per mailbox */

/* how long an enrollment waits for another one that sets up the same CA's account */
#define CA_LOCK_TIMEOUT_MS (120 * 1000)

/* ---- what this process learned from a CA, for its next enrollment there
 *
 * The helper runs as long as the mail client does and makes one MeEnroll per call, and a
 * renewal of many mailboxes makes one per mailbox: without this, each would fetch the
 * CA's directory and a nonce again, two requests more than the protocol needs.  The
 * directory is kept for an hour (a stale one costs one failed request, after which it is
 * fetched again: me_acme_client_drop_stale_directory()); the unused nonces for a minute,
 * each handed to one client only (one the CA no longer takes costs a badNonce answer,
 * which carries a fresh one). */

#define CA_CACHE_DIRECTORY_SECS 3600
#define CA_CACHE_NONCE_SECS	60

typedef struct {
	GBytes *directory;
	gint64 directory_at; /* monotonic µs */
	GStrv nonces;
	gint64 nonces_at;
} CaCache;

static GMutex ca_cache_lock;
static GHashTable *ca_cache; /* directory URL -> CaCache */

static void
ca_cache_free(gpointer data)
{
	CaCache *c = data;

	g_clear_pointer(&c->directory, g_bytes_unref);
	g_strfreev(c->nonces);
	g_free(c);
}

/* a new client of @url gets the directory and the nonces an earlier one left */
static void
ca_cache_restore(MeAcmeClient *client, const gchar *url)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ca_cache_lock);
	CaCache *c = ca_cache != NULL ? g_hash_table_lookup(ca_cache, url) : NULL;
	gint64 now = g_get_monotonic_time();
	g_auto(GStrv) nonces = NULL;

	if (c == NULL)
		return;
	if (c->directory != NULL && now - c->directory_at < (gint64)CA_CACHE_DIRECTORY_SECS * G_USEC_PER_SEC)
		(void)me_acme_client_load_directory(client, c->directory, NULL);
	nonces = g_steal_pointer(&c->nonces);
	if (nonces == NULL || now - c->nonces_at >= (gint64)CA_CACHE_NONCE_SECS * G_USEC_PER_SEC)
		return;
	/* the pool takes the newest first: add the oldest first */
	for (guint i = g_strv_length(nonces); i > 0; i--)
		me_acme_client_add_nonce(client, nonces[i - 1]);
}

/* a client that is done leaves what it learned for the next one */
static void
ca_cache_save(MeAcmeClient *client)
{
	/* the client's own copy: the options the enrollment was opened with may be gone */
	const gchar *url = me_acme_client_get_directory_url(client);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ca_cache_lock);
	g_autoptr(GBytes) directory = me_acme_client_get_directory_json(client);
	CaCache *c;

	if (ca_cache == NULL)
		ca_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ca_cache_free);
	c = g_hash_table_lookup(ca_cache, url);
	if (c == NULL) {
		c = g_new0(CaCache, 1);
		g_hash_table_insert(ca_cache, g_strdup(url), c);
	}
	/* a copy that came from here keeps its age; a fetched one starts anew */
	if (directory != NULL && (c->directory == NULL || !g_bytes_equal(directory, c->directory))) {
		g_clear_pointer(&c->directory, g_bytes_unref);
		c->directory = g_steal_pointer(&directory);
		c->directory_at = g_get_monotonic_time();
	}
	g_strfreev(c->nonces);
	c->nonces = me_acme_client_steal_nonces(client);
	c->nonces_at = g_get_monotonic_time();
}

static MeAcmeClient *
get_client(MeEnroll *e)
{
	if (e->client == NULL) {
		e->client = me_acme_client_new(e->opts->directory);
		if (e->opts->ca_file != NULL)
			me_http_set_ca_file(me_acme_client_get_http(e->client), e->opts->ca_file);
		ca_cache_restore(e->client, e->opts->directory);
	}
	return e->client;
}

/* the account's contacts: the configured ones, none for `contact=none`, else the mailbox
 * whose enrollment makes the account, since some CAs refuse an account without one */
static GStrv
account_contacts(MeEnroll *e)
{
	const gchar *const *configured = e->opts->contacts;
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	if (configured != NULL && configured[0] != NULL) {
		if (!g_strv_contains(configured, "none"))
			g_strv_builder_addv(builder, (const gchar **)configured);
	} else if (strpbrk(e->mailbox, "?,%\r\n \t") == NULL) {
		/* a mailbox that is no plain mailto: address (RFC 8555 §7.3) goes without */
		g_autofree gchar *own = g_strconcat("mailto:", e->mailbox, NULL);
		g_strv_builder_add(builder, own);
	}
	return g_strv_builder_end(builder);
}

/* the EAB MAC key from the keyring; one that is not there names eab-kid=, its file and the
 * command that stores it */
static GBytes *
load_eab_key(MeEnroll *e, GError **error)
{
	const gchar *label = e->opts->eab_label != NULL ? e->opts->eab_label : e->opts->eab_kid;
	g_autoptr(GError) local = NULL;
	g_autofree gchar *file = NULL;
	GBytes *key = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, e->opts->directory, label, &local);

	if (key != NULL)
		return key;
	if (!g_error_matches(local, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	file = setting_file(e, "eab-kid");
	g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
		    /* TRANSLATORS: the EAB key is not in the keyring; %s are the key id, the CA's name, the configuration file, the keyring label and the CA's name; keep eab-kid= and the command */
		    _("The EAB key for eab-kid=%s of [ca %s] in %s is not in the keyring; store the MAC key the certificate authority gave you with “mailenroll provision eab %s --ca %s”."),
		    e->opts->eab_kid, e->opts->ca_name, file, label, e->opts->ca_name);
	return NULL;
}

/* the account key with thumbprint @fp: the shared one (no mailbox), or else @mailbox's own,
 * made by an older mailenroll, which an order made before the migration still needs */
static EVP_PKEY *
lookup_account_key(MeEnroll *e, const gchar *mailbox, const gchar *fp, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(MeSecretStr) pem = me_keyring_lookup(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, e->opts->directory, fp, &local);

	if (pem == NULL && g_error_matches(local, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		g_clear_error(&local);
		pem = me_keyring_lookup(ME_KEYRING_KIND_ACCOUNT_KEY, mailbox, e->opts->directory, fp, &local);
	}
	if (pem == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	return me_key_from_pem(pem, strlen(pem), error);
}

/* a new shared account key, into the keyring and the CA's record before the CA hears of it:
 * a kill before newAccount leaves a record without URL, and the next run registers the
 * same key, which the CA answers with the same account */
static MeStateAccount *
new_shared_key(MeEnroll *e, GError **error)
{
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_ACCOUNT, error);
	g_autoptr(MeSecretStr) pem = key != NULL ? me_key_to_pem(key, error) : NULL;
	g_autofree gchar *thumb = pem != NULL ? me_jwk_thumbprint(key, error) : NULL;
	g_autoptr(MeKeyringItem) item = NULL;
	g_autoptr(MeStateAccount) account = NULL;

	if (thumb == NULL)
		return NULL;
	item = me_keyring_item_new(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, e->opts->directory, thumb);
	if (!me_keyring_store(item, pem, strlen(pem), error))
		return NULL;
	account = g_new0(MeStateAccount, 1);
	account->key_fp = g_steal_pointer(&thumb);
	account->created_by = g_strdup(e->mailbox);
	account->created = now_unix(e);
	if (!me_state_set_ca_account(e->state_dir, e->opts->ca_name, e->opts->directory, account, error))
		return NULL;
	return g_steal_pointer(&account);
}

/* newAccount for the shared key; the first mailbox's address is its default contact */
static gboolean
register_account(MeEnroll *e, MeStateAccount *account, GError **error)
{
	g_autoptr(EVP_PKEY) key = lookup_account_key(e, NULL, account->key_fp, error);
	MeAcmeClient *client;
	g_autoptr(MeAcmeAccount) made = NULL;
	g_autoptr(GBytes) eab_key = NULL;
	g_auto(GStrv) contacts = account_contacts(e);
	MeAcmeAccountRequest req = {
	    .terms_agreed = e->opts->terms_agreed,
	    .agreed_terms = e->opts->agreed_terms,
	    .contacts = (const gchar *const *)contacts,
	    .eab_kid = e->opts->eab_kid,
	};

	if (key == NULL)
		return FALSE;
	progress(e, ME_STATE_STEP_ACCOUNT,
		 /* TRANSLATORS: progress: an account at the certificate authority is being set up */
		 _("Setting up the account at the certificate authority…"));
	if (e->opts->eab_kid != NULL) {
		eab_key = load_eab_key(e, error);
		if (eab_key == NULL)
			return FALSE;
		req.eab_mac_key = eab_key;
	}
	/* the enrollment's own client: the order that follows reuses its directory, nonce and
	 * connection; ensure_account() sets the key again */
	client = get_client(e);
	me_acme_client_set_account_key(client, key);
	made = me_acme_client_new_account(client, &req, error);
	if (made == NULL)
		return FALSE;
	account->url = g_strdup(made->url);
	return me_state_set_ca_account(e->state_dir, e->opts->ca_name, e->opts->directory, account, error);
}

typedef struct {
	gchar *mailbox;
	gchar *fp;
	guint64 created;
	gboolean shared;
} Candidate;

static void
candidate_free(Candidate *c)
{
	g_free(c->mailbox);
	g_free(c->fp);
	g_free(c);
}

/* the oldest key first, then by mailbox: the same state always picks the same account */
static gint
candidate_compare(gconstpointer a, gconstpointer b)
{
	const Candidate *x = *(const Candidate *const *)a;
	const Candidate *y = *(const Candidate *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return g_strcmp0(x->mailbox, y->mailbox);
}

/* the keyring item of @c's key: the mailbox's own, or the shared one (when the CA's record
 * was removed after the accounts were shared); %FALSE without @error when neither is there */
static gboolean
candidate_find_key(MeEnroll *e, Candidate *c, GError **error)
{
	const gchar *owners[] = {c->mailbox, ""};

	for (guint i = 0; i < G_N_ELEMENTS(owners); i++) {
		g_autoptr(GPtrArray) items = me_keyring_list(ME_KEYRING_KIND_ACCOUNT_KEY, owners[i], e->opts->directory, error);
		if (items == NULL)
			return FALSE;
		for (guint j = 0; j < items->len; j++) {
			MeKeyringItem *item = g_ptr_array_index(items, j);
			if (g_strcmp0(item->fingerprint, c->fp) == 0) {
				c->created = item->created;
				c->shared = i > 0;
				return TRUE;
			}
		}
	}
	return FALSE;
}

/* the enrollments at this CA that name an account whose key is still in the keyring: from
 * an older mailenroll one account each, or all the shared one */
static GPtrArray *
migration_candidates(MeEnroll *e, GError **error)
{
	g_autoptr(GPtrArray) states = me_state_list(e->state_dir, error);
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)candidate_free);

	if (states == NULL)
		return NULL;
	for (guint i = 0; i < states->len; i++) {
		MeState *s = g_ptr_array_index(states, i);
		const gchar *mailbox = me_state_get_string(s, "mailbox");
		const gchar *fp = me_state_get_string(s, "account_key_fp");
		g_autoptr(GError) local = NULL;
		Candidate *c;

		if (g_strcmp0(me_state_get_string(s, "ca"), e->opts->ca_name) != 0 ||
		    g_strcmp0(me_state_get_string(s, "directory"), e->opts->directory) != 0 || mailbox == NULL ||
		    fp == NULL || me_state_get_string(s, "account_url") == NULL)
			continue;
		c = g_new0(Candidate, 1);
		c->mailbox = g_strdup(mailbox);
		c->fp = g_strdup(fp);
		if (!candidate_find_key(e, c, &local)) {
			candidate_free(c);
			if (local != NULL) {
				g_propagate_error(error, g_steal_pointer(&local));
				return NULL;
			}
			continue;
		}
		g_ptr_array_add(out, c);
	}
	g_ptr_array_sort(out, candidate_compare);
	return g_steal_pointer(&out);
}

/* asks the CA whether @c's account is still good to use; %NULL without @error when the CA
 * no longer knows it or closed it, with @error when the CA could not be asked */
static gchar *
candidate_check(MeEnroll *e, const Candidate *c, GError **error)
{
	g_autoptr(EVP_PKEY) key = lookup_account_key(e, c->mailbox, c->fp, error);
	g_autoptr(MeAcmeClient) client = NULL;
	g_autoptr(MeAcmeAccount) found = NULL;
	g_autoptr(GError) local = NULL;
	MeAcmeAccountRequest req = {.only_return_existing = TRUE};

	if (key == NULL)
		return NULL;
	client = me_acme_client_new(e->opts->directory);
	if (e->opts->ca_file != NULL)
		me_http_set_ca_file(me_acme_client_get_http(client), e->opts->ca_file);
	me_acme_client_set_account_key(client, key);
	found = me_acme_client_new_account(client, &req, &local);
	if (found == NULL && (g_error_matches(local, ME_ERROR, ME_ERROR_ACCOUNT_DOES_NOT_EXIST) ||
			      g_error_matches(local, ME_ERROR, ME_ERROR_UNAUTHORIZED))) {
		g_debug("%s: the account of %s is gone: %s", e->mailbox, c->mailbox, local->message);
		return NULL;
	}
	if (found == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (g_strcmp0(found->status, "valid") != 0)
		return NULL;
	return g_strdup(found->url);
}

/* the first use after an upgrade: the oldest per-mailbox account that is still valid
 * becomes the CA's, its key copied into the keyring as the shared one.  No key is removed:
 * the others stay, unused by new orders; an order under way keeps its own (ensure_account()) */
static MeStateAccount *
migrate_account(MeEnroll *e, GError **error)
{
	g_autoptr(GPtrArray) candidates = migration_candidates(e, error);

	if (candidates == NULL)
		return NULL;
	for (guint i = 0; i < candidates->len; i++) {
		const Candidate *c = g_ptr_array_index(candidates, i);
		g_autoptr(GError) local = NULL;
		g_autofree gchar *url = candidate_check(e, c, &local);
		g_autoptr(MeSecretStr) pem = NULL;
		g_autoptr(MeKeyringItem) item = NULL;
		g_autoptr(MeStateAccount) account = NULL;

		if (local != NULL) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
		if (url == NULL)
			continue;
		if (!c->shared) {
			pem = me_keyring_lookup(ME_KEYRING_KIND_ACCOUNT_KEY, c->mailbox, e->opts->directory, c->fp, error);
			item = me_keyring_item_new(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, e->opts->directory, c->fp);
			if (pem == NULL || !me_keyring_store(item, pem, strlen(pem), error))
				return NULL;
		}
		account = g_new0(MeStateAccount, 1);
		account->url = g_steal_pointer(&url);
		account->key_fp = g_strdup(c->fp);
		account->created_by = g_strdup(c->mailbox);
		account->created = c->created != 0 ? (gint64)c->created : now_unix(e);
		g_debug("%s: the account of %s becomes the one for %s", e->mailbox, c->mailbox, e->opts->ca_name);
		if (!me_state_set_ca_account(e->state_dir, e->opts->ca_name, e->opts->directory, account, error))
			return NULL;
		return g_steal_pointer(&account);
	}
	return NULL;
}

/* the CA's account, found, migrated or made, under the CA's lock so that two enrollments at
 * once never make two */
static MeStateAccount *
get_ca_account(MeEnroll *e, GError **error)
{
	g_autoptr(MeStateLock) lock = me_state_lock_ca(e->state_dir, e->opts->ca_name, CA_LOCK_TIMEOUT_MS, error);
	g_autoptr(MeStateAccount) account = NULL;
	g_autoptr(GError) local = NULL;

	if (lock == NULL)
		return NULL;
	account = me_state_get_ca_account(e->state_dir, e->opts->ca_name, e->opts->directory, &local);
	if (account == NULL && local == NULL)
		account = migrate_account(e, &local);
	if (account == NULL && local == NULL)
		account = new_shared_key(e, &local);
	if (account == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (account->url == NULL && !register_account(e, account, error))
		return NULL;
	return g_steal_pointer(&account);
}

/* the enrollment's next order goes under the CA's account */
static gboolean
use_ca_account(MeEnroll *e, GError **error)
{
	g_autoptr(MeStateAccount) account = get_ca_account(e, error);
	const gchar *before = NULL;

	if (account == NULL)
		return FALSE;
	before = me_state_get_string(e->state, "account_url");
	/* a renewal names the certificate it replaces only at the account that owns it */
	if (before != NULL && me_state_get_string(e->state, "replaces") != NULL &&
	    me_state_get_string(e->state, "replaces_account") == NULL)
		me_state_set_string(e->state, "replaces_account", before);
	if (g_strcmp0(me_state_get_string(e->state, "account_key_fp"), account->key_fp) != 0)
		g_clear_pointer(&e->account_key, EVP_PKEY_free);
	me_state_set_string(e->state, "account_key_fp", account->key_fp);
	me_state_set_string(e->state, "account_url", account->url);
	me_state_set_string(e->state, "directory", e->opts->directory);
	if (me_state_get_step(e->state) < ME_STATE_STEP_ACCOUNT)
		return save_step(e, ME_STATE_STEP_ACCOUNT, error);
	return me_state_save(e->state, error);
}

/* the account key of the enrollment's order */
static gboolean
load_account_key(MeEnroll *e, GError **error)
{
	if (e->account_key != NULL)
		return TRUE;
	if (me_state_get_string(e->state, "account_key_fp") == NULL && !use_ca_account(e, error))
		return FALSE;
	e->account_key = lookup_account_key(e, e->mailbox, me_state_get_string(e->state, "account_key_fp"), error);
	return e->account_key != NULL;
}

static gboolean
ensure_account(MeEnroll *e, GError **error)
{
	MeAcmeClient *client = get_client(e);

	/* an order keeps the account it was made under until it is done: its challenge answer
	 * carries that account key's thumbprint, and its certificate belongs to that account.
	 * Only a new order goes under the CA's shared account */
	if ((me_state_get_string(e->state, "order_url") == NULL || me_state_get_string(e->state, "account_url") == NULL) &&
	    !use_ca_account(e, error))
		return FALSE;
	if (!load_account_key(e, error))
		return FALSE;
	me_acme_client_set_account_key(client, e->account_key);
	me_acme_client_set_account_url(client, me_state_get_string(e->state, "account_url"));
	return TRUE;
}

/* ---- when the CA mails: configured, or as it was seen to do */

#define NOTE_MAIL_TIMING "mail-timing"

/* what one mail may make a check do: DNS lookups (one per DKIM signature of the sender's
 * domain, ME_DKIM_SIGNATURES_MAX at most) and time for them and the parsing around them */
#define INSPECT_DNS_LOOKUPS_MAX 8
#define INSPECT_TIME_MS		10000

static MeEnrollMailTiming
effective_timing(MeEnroll *e)
{
	g_autofree gchar *seen = NULL;
	MeEnrollMailTiming timing = ME_ENROLL_MAIL_TIMING_DETECT;

	if (e->opts->mail_timing != ME_ENROLL_MAIL_TIMING_DETECT)
		return e->opts->mail_timing;
	seen = me_state_get_ca_note(e->state_dir, e->opts->ca_name, e->opts->directory, NOTE_MAIL_TIMING);
	if (seen != NULL && me_enroll_mail_timing_from_string(seen, &timing))
		return timing;
	return ME_ENROLL_MAIL_TIMING_DETECT;
}

/* a genuine challenge mail came: before any POST the CA mails on the authorization, after
 * a POST made before the reply it mails only then; later enrollments at it go by that */
static void
learn_timing(MeEnroll *e)
{
	MeEnrollMailTiming seen = me_state_get_bool(e->state, "challenge_posted") ? ME_ENROLL_MAIL_TIMING_CHALLENGE
										 : ME_ENROLL_MAIL_TIMING_AUTHZ;
	g_autoptr(GError) local = NULL;

	if (!me_state_set_ca_note(e->state_dir, e->opts->ca_name, e->opts->directory, NOTE_MAIL_TIMING,
				  me_enroll_mail_timing_to_string(seen), &local))
		g_debug("noting the mail timing: %s", local->message);
}

/* a challenge mail passed by DKIM: the name of the CA's key is the lookup every enrollment
 * at it needs, which `mailenroll doctor` asks the configured DNS server for */
static void
learn_dkim_key(MeEnroll *e, const MeChallengeVerdict *verdict)
{
	g_autoptr(GError) local = NULL;

	if (verdict->auth.method != ME_CHALLENGE_AUTH_DKIM || verdict->auth.dkim_key_name == NULL)
		return;
	if (!me_state_set_ca_note(e->state_dir, e->opts->ca_name, e->opts->directory, ME_ENROLL_NOTE_DKIM_KEY,
				  verdict->auth.dkim_key_name, &local))
		g_debug("noting the DKIM key: %s", local->message);
}

/* ---- order and authorization */

/* the enrollment failed for good with @local's sentence: recorded as such, so `status` and
 * the next run say it, and only a --restart goes on */
static gboolean
fail_expired(MeEnroll *e, GError *local, GError **error)
{
	me_state_set_string(e->state, "failure", local->message);
	me_state_set_int(e->state, "failed_at", now_unix(e));
	(void)save_step(e, ME_STATE_STEP_FAILED, NULL);
	g_propagate_error(error, local);
	return FALSE;
}

static gchar *
format_unix_local(gint64 secs)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(secs);

	return g_date_time_format(when, "%c");
}

static gboolean
check_not_expired(MeEnroll *e, GError **error)
{
	gint64 expires = me_state_get_int(e->state, "order_expires");
	g_autofree gchar *text = NULL;
	GError *local = NULL;

	if (expires == 0 || expires > now_unix(e) || me_state_get_step(e->state) >= ME_STATE_STEP_ISSUED)
		return TRUE;
	text = format_unix_local(expires);
	g_set_error(&local, ME_ERROR, ME_ERROR_INVALID_STATE,
		    /* TRANSLATORS: the CA's order expired; %s is the mailbox, %s the date */
		    _("The certificate request for %s expired on %s; start again with --restart."), e->mailbox, text);
	return fail_expired(e, local, error);
}

/* while the challenge mail is awaited: the authorization still lives.  Once it expired no
 * reply can count (a late mail is refused as too late), so the wait ends for good instead
 * of telling the person that the request stays open */
static gboolean
check_authz_not_expired(MeEnroll *e, GError **error)
{
	gint64 expires = me_state_get_int(e->state, "authz_expires");
	g_autofree gchar *text = NULL;
	GError *local = NULL;

	if (expires == 0 || expires > now_unix(e))
		return TRUE;
	text = format_unix_local(expires);
	g_set_error(&local, ME_ERROR, ME_ERROR_INVALID_STATE,
		    /* TRANSLATORS: the challenge of a request expired before its mail was answered; %s is the mailbox, %s the date; keep --restart */
		    _("The challenge for %s expired on %s before its mail was answered, so this request cannot be completed; start a new one with --restart."),
		    e->mailbox, text);
	return fail_expired(e, local, error);
}

static gboolean
ensure_order(MeEnroll *e, GError **error)
{
	MeAcmeIdentifier id = {(gchar *)"email", e->mailbox};
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(GError) local = NULL;
	const gchar *replaces = me_state_get_string(e->state, "replaces");
	const gchar *owner = me_state_get_string(e->state, "replaces_account");

	if (me_state_get_string(e->state, "order_url") != NULL)
		return TRUE;
	/* a CA takes `replaces` only from the account that owns the certificate; a renewal of a
	 * certificate made under a mailbox's own account, from before the accounts were shared,
	 * goes without the hint */
	if (replaces != NULL && owner != NULL && g_strcmp0(owner, me_state_get_string(e->state, "account_url")) != 0)
		replaces = NULL;
	progress(e, ME_STATE_STEP_ORDER,
		 /* TRANSLATORS: progress: the certificate is being requested from the CA */
		 _("Asking the certificate authority for a certificate…"));
	/* a renewal names the certificate it replaces (RFC 9773 §5) */
	order = me_acme_order_new(get_client(e), &id, 1, replaces, &local);
	if (order == NULL && replaces != NULL && g_error_matches(local, ME_ERROR, ME_ERROR_ALREADY_REPLACED)) {
		/* an earlier renewal order that failed here still counts as the replacement at
		 * the CA; the certificate must be renewed all the same, and the hint is optional */
		g_debug("%s: %s; ordering without replaces", e->mailbox, local->message);
		g_clear_error(&local);
		order = me_acme_order_new(get_client(e), &id, 1, NULL, &local);
	}
	if (order == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (order->authorizations == NULL || g_strv_length(order->authorizations) != 1) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the CA's order does not have exactly one authorization */
				    _("The certificate authority answered with an order this program cannot follow; report this to the CA."));
		return FALSE;
	}
	me_state_set_string(e->state, "order_url", order->url);
	me_state_set_string(e->state, "authz_url", order->authorizations[0]);
	me_state_set_int(e->state, "order_expires", order->expires);
	return save_step(e, ME_STATE_STEP_ORDER, error);
}

static gboolean
ensure_authz(MeEnroll *e, GError **error)
{
	g_autoptr(MeAcmeAuthz) authz = NULL;
	const MeAcmeChallenge *challenge;
	const gchar *from;

	authz = me_acme_authz_get(get_client(e), me_state_get_string(e->state, "authz_url"), error);
	if (authz == NULL)
		return FALSE;
	if (g_strcmp0(authz->status, "valid") == 0)
		return save_step(e, ME_STATE_STEP_VALIDATED, error);
	challenge = me_acme_authz_find_challenge(authz, "email-reply-00");
	from = challenge != NULL ? me_acme_challenge_get_member(challenge, "from") : NULL;
	if (challenge == NULL || from == NULL || challenge->token == NULL || g_strcmp0(authz->status, "pending") != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: the CA offers no e-mail challenge (RFC 8823) for the address; %s is the mailbox */
			    _("The certificate authority offers no e-mail challenge for %s; choose a CA that supports RFC 8823."),
			    e->mailbox);
		return FALSE;
	}
	me_state_set_string(e->state, "challenge_url", challenge->url);
	me_state_set_string(e->state, "challenge_from", from);
	me_state_set_string(e->state, "token_part2", challenge->token);
	me_state_set_string(e->state, "token_join", e->opts->token_join == ME_TOKEN_JOIN_BINARY ? "binary" : "string");
	me_state_set_int(e->state, "authz_expires", authz->expires);
	me_state_set_int(e->state, "authz_fetched_at", now_unix(e));
	if (!save_step(e, ME_STATE_STEP_WAITING_CHALLENGE, error))
		return FALSE;
	if (effective_timing(e) == ME_ENROLL_MAIL_TIMING_CHALLENGE)
		return me_enroll_post_challenge(e, error);
	return TRUE;
}

/**
 * me_enroll_start:
 * @enroll: an enrollment
 * @error: return location for a #GError
 *
 * Does what can be done before the CA's mail: the account (key into the keyring first),
 * the order, the authorization; at a CA that mails only after it (configured, or seen
 * before) also the challenge POST.
 * Returns at once when the enrollment is further along.
 *
 * Returns: %TRUE when the enrollment waits for the challenge mail or is further along
 */
gboolean
me_enroll_start(MeEnroll *enroll, GError **error)
{
	g_autoptr(GError) local = NULL;

	enroll->attempting = me_state_get_step(enroll->state);
	if (start_steps(enroll, &local))
		return TRUE;
	me_enroll_note_failure(enroll, enroll->attempting, local);
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static gboolean
start_steps(MeEnroll *enroll, GError **error)
{
	MeStateStep step = me_state_get_step(enroll->state);

	if (step == ME_STATE_STEP_FAILED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: the last request failed; %s is the mailbox */
			    _("The last certificate request for %s failed; start again with --restart."), enroll->mailbox);
		return FALSE;
	}
	if (!check_not_expired(enroll, error))
		return FALSE;
	if (step >= ME_STATE_STEP_WAITING_CHALLENGE)
		return TRUE;
	me_state_set_string(enroll->state, "directory", enroll->opts->directory);
	me_state_set_string(enroll->state, "key_type", me_key_type_to_string(enroll->opts->key_type));
	me_state_set_string(enroll->state, "usage", me_key_usage_to_string(enroll->opts->usage));
	if (!check_ca_file(enroll, error))
		return FALSE;
	if (ensure_account(enroll, error) && ensure_order(enroll, error) && ensure_authz(enroll, error))
		return TRUE;
	return explain_ca_file(enroll, error);
}

/**
 * me_enroll_post_challenge:
 * @enroll: an enrollment that waits for the challenge mail
 * @error: return location for a #GError
 *
 * Tells the CA to go ahead with the challenge before the reply left, for CAs that send
 * their mail only then (%ME_ENROLL_MAIL_TIMING_CHALLENGE, or the last resort of
 * me_enroll_check_wait()).  Doing it twice is harmless.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_post_challenge(MeEnroll *enroll, GError **error)
{
	g_autoptr(MeAcmeChallenge) challenge = NULL;

	if (me_state_get_bool(enroll->state, "challenge_posted"))
		return TRUE;
	if (!ensure_account(enroll, error))
		return FALSE;
	progress(enroll, ME_STATE_STEP_CHALLENGE_POSTED,
		 /* TRANSLATORS: progress: the CA is told to send or check its challenge */
		 _("Telling the certificate authority to go ahead with the challenge…"));
	challenge = me_acme_challenge_respond(get_client(enroll), me_state_get_string(enroll->state, "challenge_url"),
						     error);
	if (challenge == NULL)
		return FALSE;
	/* a CA that had the reply already may validate at once and say so here */
	enroll->challenge_valid = g_strcmp0(challenge->status, "valid") == 0;
	me_state_set_bool(enroll->state, "challenge_posted", TRUE);
	me_state_set_int(enroll->state, "challenge_posted_at", now_unix(enroll));
	return me_state_save(enroll->state, error);
}

/* ---- waiting for the challenge mail: the one place that decides when to POST early */

static const gchar *const wait_nicks[] = {"done", "mail", "no-mail", "unauthenticated", "temporary"};

/**
 * me_enroll_wait_to_nick:
 * @wait: where a wait stands
 *
 * Returns: its name in the protocol and the logs (`no-mail`, ...)
 */
const gchar *
me_enroll_wait_to_nick(MeEnrollWait wait)
{
	return (guint)wait < G_N_ELEMENTS(wait_nicks) ? wait_nicks[wait] : "mail";
}

static guint
mail_wait_secs(MeEnroll *e)
{
	return e->opts->mail_wait != 0 ? e->opts->mail_wait : 300;
}

/* when a CA not seen before gets its challenge POSTed before a reply, as the last resort for
 * one that mails only after the POST: in the last quarter of the authorization's life, or
 * mail-wait before its end if that is earlier, but never in its first half.  A CA that
 * mailed on the authorization did so long before, greylisting included, so the POST cannot
 * cost an order that would have lived; 0 when the authorization has no end */
static gint64
last_resort_at(MeEnroll *e)
{
	gint64 expires = me_state_get_int(e->state, "authz_expires");
	gint64 fetched = me_state_get_int(e->state, "authz_fetched_at");
	gint64 margin;

	if (expires == 0 || fetched == 0 || expires <= fetched)
		return 0;
	margin = MIN(MAX((expires - fetched) / 4, (gint64)mail_wait_secs(e)), (expires - fetched) / 2);
	return expires - margin;
}

static MeEnrollWait
wait_outcome(MeEnroll *e)
{
	JsonObject *suspect = get_object(me_state_get_object(e->state), "suspect_mail");

	if (suspect == NULL)
		return ME_ENROLL_WAIT_NO_MAIL;
	if (json_object_get_boolean_member_with_default(suspect, "temporary", FALSE))
		return ME_ENROLL_WAIT_TEMPORARY;
	return ME_ENROLL_WAIT_UNAUTHENTICATED;
}

/**
 * me_enroll_check_wait:
 * @enroll: an enrollment
 * @since: when the front-end began this wait (seconds since the epoch), or 0 for when the
 *   authorization was fetched
 * @wait: (out): where the wait stands
 * @until: (out) (optional): with %ME_ENROLL_WAIT_MAIL, when to call again (seconds since the
 *   epoch); 0 otherwise
 * @error: return location for a #GError
 *
 * Decides, for every front-end alike, what waiting for the challenge mail means now.  The
 * challenge is POSTed before the reply only at a CA that mails only after the POST
 * (configured, or seen so before), or as the last resort of last_resort_at() at a CA not
 * seen yet; never once a mail that looks like this request's challenge came, authentic or
 * not, or could not be checked.  After `mail-wait` seconds from @since (or from the early
 * POST) the wait is reported over, saying why; the enrollment keeps waiting all the same.
 *
 * Once the authorization expired with no challenge answered, the enrollment is recorded as
 * failed and the error says to start anew with --restart: no reply can count any more.
 *
 * Returns: %FALSE with @error set when the POST failed or the authorization expired
 */
gboolean
me_enroll_check_wait(MeEnroll *enroll, gint64 since, MeEnrollWait *wait, gint64 *until, GError **error)
{
	MeEnrollMailTiming timing;
	gboolean posted = me_state_get_bool(enroll->state, "challenge_posted");
	gboolean suspect = get_object(me_state_get_object(enroll->state), "suspect_mail") != NULL;
	gint64 now = now_unix(enroll);
	gint64 resort = 0;
	gint64 end;

	*wait = ME_ENROLL_WAIT_DONE;
	if (until != NULL)
		*until = 0;
	if (me_state_get_step(enroll->state) != ME_STATE_STEP_WAITING_CHALLENGE)
		return TRUE;
	if (!check_authz_not_expired(enroll, error))
		return FALSE;
	timing = effective_timing(enroll);
	if (!posted && !suspect && timing == ME_ENROLL_MAIL_TIMING_CHALLENGE)
		posted = me_enroll_post_challenge(enroll, error);
	else if (!posted && !suspect && timing == ME_ENROLL_MAIL_TIMING_DETECT) {
		resort = last_resort_at(enroll);
		if (resort != 0 && now >= resort)
			posted = me_enroll_post_challenge(enroll, error);
	}
	if (error != NULL && *error != NULL)
		return FALSE;
	if (since == 0)
		since = me_state_get_int(enroll->state, "authz_fetched_at");
	if (posted)
		since = MAX(since, me_state_get_int(enroll->state, "challenge_posted_at"));
	end = since + mail_wait_secs(enroll);
	if (now < end) {
		gint64 expires = me_state_get_int(enroll->state, "authz_expires");
		*wait = ME_ENROLL_WAIT_MAIL;
		if (until != NULL)
			*until = resort > now && !posted ? MIN(end, resort) : end;
		/* look again when the authorization ends, not only when the wait would */
		if (until != NULL && expires > now)
			*until = MIN(*until, expires);
		return TRUE;
	}
	*wait = wait_outcome(enroll);
	return TRUE;
}

/**
 * me_enroll_describe_timing_hint:
 * @enroll: an enrollment whose wait ended with no challenge mail
 *
 * A configured mail timing that may not fit the CA: with `mail-timing=authz` the CA is never
 * told to go ahead before the reply, so a CA that mails only then never mails.
 *
 * Returns: (transfer full) (nullable): one translated sentence naming the key and its file,
 *   or %NULL when the timing is not configured so
 */
gchar *
me_enroll_describe_timing_hint(MeEnroll *enroll)
{
	g_autofree gchar *file = NULL;

	if (enroll->opts->mail_timing != ME_ENROLL_MAIL_TIMING_AUTHZ)
		return NULL;
	file = setting_file(enroll, "mail-timing");
	return g_strdup_printf(
	    /* TRANSLATORS: no mail came while the configuration says the CA mails at once; %s are the CA's name and the configuration file; keep mail-timing=authz and mail-timing=challenge */
	    _("The configuration says this certificate authority mails as soon as the request is made (mail-timing=authz in [ca %s] of %s), so it was not told to go ahead; if it mails only when told, set mail-timing=challenge there."),
	    enroll->opts->ca_name, file);
}

/**
 * me_enroll_describe_wait:
 * @enroll: an enrollment
 * @wait: what me_enroll_check_wait() said
 *
 * Returns: (transfer full) (nullable): one translated sentence on why no challenge was
 *   answered yet, for a wait that is over; %NULL for the others
 */
gchar *
me_enroll_describe_wait(MeEnroll *enroll, MeEnrollWait wait)
{
	const gchar *from = me_state_get_string(enroll->state, "challenge_from");
	JsonObject *suspect = get_object(me_state_get_object(enroll->state), "suspect_mail");
	const gchar *why = suspect != NULL ? json_object_get_string_member_with_default(suspect, "message", "") : "";

	switch (wait) {
	case ME_ENROLL_WAIT_NO_MAIL: {
		g_autofree gchar *hint = me_enroll_describe_timing_hint(enroll);
		g_autofree gchar *text = g_strdup_printf(
		    /* TRANSLATORS: the wait for the CA's mail ended without one; %s are the CA's address and the mailbox */
		    _("No challenge mail from %s has reached %s yet. Mail can be held up for half an hour or longer; the request stays open."),
		    from, enroll->mailbox);
		if (hint == NULL)
			return g_steal_pointer(&text);
		return g_strconcat(text, " ", hint, NULL);
	}
	case ME_ENROLL_WAIT_UNAUTHENTICATED:
		return g_strdup_printf(
		    /* TRANSLATORS: a mail that looks like the challenge came but failed a check; %s are the mailbox and the reason (a sentence) */
		    _("A mail that looks like the challenge reached %s but was not answered: %s"), enroll->mailbox, why);
	case ME_ENROLL_WAIT_TEMPORARY:
		return g_strdup_printf(
		    /* TRANSLATORS: the challenge mail could not be checked for now (DNS); %s are the mailbox and the reason */
		    _("A mail that looks like the challenge reached %s but could not be checked for now, and is checked again when it is read again: %s"),
		    enroll->mailbox, why);
	case ME_ENROLL_WAIT_DONE:
	case ME_ENROLL_WAIT_MAIL:
	default:
		return NULL;
	}
}

/* ---- the challenge mail */

/* a challenge mail's token-part1 is remembered (as a hash) once a reply was composed for
 * it: after a restart the CA's mail for the old order is still in the mailbox, and it must
 * never be answered against the new order's challenge */
static gchar *
token_hash(const gchar *token_part1)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token_part1, -1);
}

static gboolean
token_used(MeEnroll *e, const gchar *token_part1)
{
	JsonArray *used = get_array(me_state_get_object(e->state), "used_tokens");
	g_autofree gchar *hash = NULL;

	if (used == NULL || token_part1 == NULL)
		return FALSE;
	hash = token_hash(token_part1);
	for (guint i = 0; i < json_array_get_length(used); i++) {
		if (g_strcmp0(json_array_get_string_element(used, i), hash) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
token_remember(MeEnroll *e, const gchar *token_part1)
{
	JsonObject *obj = me_state_get_object(e->state);
	JsonArray *used = get_array(obj, "used_tokens");
	g_autofree gchar *hash = token_hash(token_part1);

	if (used == NULL) {
		used = json_array_new();
		json_object_set_array_member(obj, "used_tokens", used);
	}
	json_array_add_string_element(used, hash);
}

/* the reply waiting for approval answers this token-part1 (the last one remembered) */
static gboolean
token_is_reply_token(MeEnroll *e, const gchar *token_part1)
{
	JsonArray *used = get_array(me_state_get_object(e->state), "used_tokens");
	g_autofree gchar *hash = NULL;
	guint n = used != NULL ? json_array_get_length(used) : 0;

	if (n == 0 || token_part1 == NULL)
		return FALSE;
	hash = token_hash(token_part1);
	return g_strcmp0(json_array_get_string_element(used, n - 1), hash) == 0;
}

/* reasons that say the mail is not about this request at all */
static gboolean
reason_is_elsewhere(MeChallengeReason reason)
{
	return reason == ME_CHALLENGE_REASON_NOT_CHALLENGE || reason == ME_CHALLENGE_REASON_TO_MISMATCH ||
	       reason == ME_CHALLENGE_REASON_ALREADY_ANSWERED || reason == ME_CHALLENGE_REASON_NO_PENDING;
}

/* a mail that looks like this request's challenge but is not answered: from now on the
 * challenge is never POSTed before a reply (the CA may well have mailed, and the POST would
 * tell it to check a reply that does not exist), and the end of the wait says why */
static gboolean
note_suspect_mail(MeEnroll *e, const MeChallengeVerdict *verdict, GError **error)
{
	g_autofree gchar *why = NULL;
	JsonObject *obj;

	if (!verdict->is_challenge || reason_is_elsewhere(verdict->reason))
		return TRUE;
	why = me_challenge_verdict_describe(verdict);
	obj = json_object_new();
	json_object_set_string_member(obj, "reason", me_challenge_reason_to_nick(verdict->reason));
	json_object_set_string_member(obj, "message", why);
	json_object_set_boolean_member(obj, "temporary",
				       verdict->reason == ME_CHALLENGE_REASON_UNAUTHENTICATED && verdict->auth.temporary);
	json_object_set_int_member(obj, "at", now_unix(e));
	json_object_set_object_member(me_state_get_object(e->state), "suspect_mail", obj);
	return me_state_save(e->state, error);
}

static void
pending_from_state(MeEnroll *e, MePendingChallenge *pending)
{
	MeTokenJoin join = ME_TOKEN_JOIN_STRING;

	me_token_join_from_string(me_state_get_string(e->state, "token_join"), &join);
	pending->identifier = e->mailbox;
	pending->from = me_state_get_string(e->state, "challenge_from");
	pending->token_part2 = me_state_get_string(e->state, "token_part2");
	pending->challenge_url = me_state_get_string(e->state, "challenge_url");
	pending->expires = me_state_get_int(e->state, "authz_expires");
	pending->fetched_at = me_state_get_int(e->state, "authz_fetched_at");
	pending->token_join = join;
	pending->answered = me_state_get_step(e->state) >= ME_STATE_STEP_ANSWERED;
	/* as configured now, not as when the order was made: the administrator decides */
	pending->quirks = e->opts->quirks;
}

/* a mail refused only for having no Auto-Submitted: the sentence names the setting that
 * would let this CA's mail through, and where it goes */
static void
explain_missing_auto_submitted(MeEnroll *e, MeChallengeVerdict *verdict)
{
	g_autofree gchar *file = NULL;

	if (verdict->reason != ME_CHALLENGE_REASON_NOT_AUTO_GENERATED || !verdict->auto_submitted_missing)
		return;
	file = setting_file(e, "quirks");
	g_free(verdict->message);
	verdict->message = g_strdup_printf(
	    /* TRANSLATORS: a challenge mail has no Auto-Submitted header; %s are the CA's name and the configuration file; keep Auto-Submitted, RFC 8823, acme2certifier and quirks=missing-auto-submitted */
	    _("The challenge mail has no Auto-Submitted header, which RFC 8823 requires; if your CA is known to leave it out (acme2certifier does), an administrator can set quirks=missing-auto-submitted in [ca %s] of %s."),
	    e->opts->ca_name, file);
}

static void
save_reply_fields(MeEnroll *e, const MeMailReply *reply, GBytes *bytes)
{
	JsonObject *obj = json_object_new();
	JsonArray *to = json_array_new();

	for (guint i = 0; i < reply->to->len; i++)
		json_array_add_string_element(to, g_ptr_array_index(reply->to, i));
	json_object_set_string_member(obj, "from", reply->from);
	json_object_set_array_member(obj, "to", to);
	json_object_set_string_member(obj, "subject", reply->subject);
	if (reply->in_reply_to != NULL)
		json_object_set_string_member(obj, "in_reply_to", reply->in_reply_to);
	if (reply->references != NULL)
		json_object_set_string_member(obj, "references", reply->references);
	json_object_set_string_member(obj, "message_id", reply->message_id);
	json_object_set_int_member(obj, "date", reply->date);
	json_object_set_string_member(obj, "body", reply->body);
	json_object_set_string_member(obj, "raw", g_bytes_get_data(bytes, NULL));
	json_object_set_object_member(me_state_get_object(e->state), "reply", obj);
}

static MeMailReply *
load_reply_fields(MeEnroll *e)
{
	JsonObject *obj = get_object(me_state_get_object(e->state), "reply");
	MeMailReply *reply;
	JsonArray *to;

	if (obj == NULL)
		return NULL;
	reply = me_mail_reply_new();
	reply->from = g_strdup(json_object_get_string_member_with_default(obj, "from", ""));
	to = get_array(obj, "to");
	for (guint i = 0; to != NULL && i < json_array_get_length(to); i++)
		g_ptr_array_add(reply->to, g_strdup(json_array_get_string_element(to, i)));
	reply->subject = g_strdup(json_object_get_string_member_with_default(obj, "subject", ""));
	reply->in_reply_to = g_strdup(json_object_get_string_member_with_default(obj, "in_reply_to", NULL));
	reply->references = g_strdup(json_object_get_string_member_with_default(obj, "references", NULL));
	reply->message_id = g_strdup(json_object_get_string_member_with_default(obj, "message_id", ""));
	reply->date = json_object_get_int_member_with_default(obj, "date", 0);
	reply->body = g_strdup(json_object_get_string_member_with_default(obj, "body", ""));
	return reply;
}

/**
 * me_enroll_inspect:
 * @enroll: an enrollment
 * @data: a raw message as received
 * @len: its length
 * @error: return location for a #GError (only for failures of the enrollment itself; a
 *   message that is no valid challenge is a verdict, not an error)
 *
 * Checks a message against this enrollment's challenge (me_challenge_inspect(), with DKIM
 * and S/MIME verification).  A message that passes, while the enrollment waits for one,
 * has its reply composed and saved: the enrollment then waits for the person's approval.
 * The same challenge arriving again keeps the first reply; once answered, every further
 * copy is refused as answered.
 *
 * Returns: (transfer full): the verdict, or %NULL with @error set
 */
MeChallengeVerdict *
me_enroll_inspect(MeEnroll *enroll, const gchar *data, gsize len, GError **error)
{
	MeChallengeOptions options = {
	    .now = enroll->opts->now,
	    .trusted_authserv_ids = enroll->opts->trusted_authserv_ids,
	};
	MePendingChallenge pending = {0};
	g_autoptr(MeVerifier) verifier = NULL;
	g_autoptr(MeChallengeVerdict) verdict = NULL;
	g_autoptr(MeMailReply) reply = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autofree gchar *thumb = NULL;
	MeStateStep step = me_state_get_step(enroll->state);
	const gchar *declined;
	gint64 started;

	if (step < ME_STATE_STEP_WAITING_CHALLENGE) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: a challenge mail came before the certificate was requested; %s is the mailbox */
			    _("No certificate request for %s is waiting for a challenge; start the enrollment first."),
			    enroll->mailbox);
		return NULL;
	}
	verifier = me_verifier_new(enroll->opts->dns_server, error);
	if (verifier == NULL)
		return NULL;
	if (enroll->opts->smime_trust_file != NULL &&
	    !me_verifier_add_trust_file(verifier, enroll->opts->smime_trust_file, error))
		return NULL;
	me_verifier_set_budget(verifier, INSPECT_DNS_LOOKUPS_MAX, INSPECT_TIME_MS);
	me_verifier_apply(verifier, &options);
	pending_from_state(enroll, &pending);
	started = g_get_monotonic_time();
	verdict = me_challenge_inspect(data, len, &pending, 1, &options);
	explain_missing_auto_submitted(enroll, verdict);
	if (!verdict->answerable && g_get_monotonic_time() - started > (gint64)INSPECT_TIME_MS * 1000) {
		/* not a verdict on the mail: the check itself was cut short */
		g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
			    /* TRANSLATORS: checking one challenge mail took too long; %u is the limit in seconds */
			    _("Checking the message took longer than %u seconds, so it was not answered; check it again later."),
			    (guint)(INSPECT_TIME_MS / 1000));
		return NULL;
	}
	declined = me_state_get_string(enroll->state, "declined_message_id");
	if (verdict->answerable && declined != NULL && g_strcmp0(declined, verdict->message_id) == 0) {
		verdict->answerable = FALSE;
		g_free(verdict->message);
		/* TRANSLATORS: the person already said no to this challenge mail */
		verdict->message = g_strdup(_("You declined this challenge before; it gets no answer."));
	}
	if (verdict->answerable && step == ME_STATE_STEP_WAITING_CHALLENGE && token_used(enroll, verdict->token_part1)) {
		verdict->answerable = FALSE;
		verdict->reason = ME_CHALLENGE_REASON_ALREADY_ANSWERED;
		g_free(verdict->message);
		/* TRANSLATORS: the mail is the challenge of an earlier request, which is never answered again */
		verdict->message = g_strdup(_("This challenge mail belongs to an earlier request; it gets no answer."));
	}
	if (verdict->answerable && step == ME_STATE_STEP_WAITING_APPROVAL &&
	    !token_is_reply_token(enroll, verdict->token_part1)) {
		verdict->answerable = FALSE;
		verdict->reason = ME_CHALLENGE_REASON_AMBIGUOUS;
		g_free(verdict->message);
		/* TRANSLATORS: a second, different challenge mail came while the reply to the first waits for approval */
		verdict->message = g_strdup(_("Another challenge mail for this request already waits for your approval; this one gets no answer."));
	}
	if (step == ME_STATE_STEP_WAITING_CHALLENGE && !verdict->answerable && !note_suspect_mail(enroll, verdict, error))
		return NULL;
	if (!verdict->answerable || step != ME_STATE_STEP_WAITING_CHALLENGE)
		return g_steal_pointer(&verdict);

	if (!load_account_key(enroll, error))
		return NULL;
	thumb = me_jwk_thumbprint(enroll->account_key, error);
	if (thumb == NULL)
		return NULL;
	reply = me_challenge_build_reply(verdict, &pending, thumb, FALSE, error);
	if (reply == NULL)
		return NULL;
	bytes = me_mail_reply_serialize(reply, error);
	if (bytes == NULL)
		return NULL;
	save_reply_fields(enroll, reply, bytes);
	token_remember(enroll, verdict->token_part1);
	learn_timing(enroll);
	learn_dkim_key(enroll, verdict);
	me_state_set_string(enroll->state, "challenge_message_id", verdict->message_id);
	me_state_set_string(enroll->state, "auth_method", me_challenge_auth_method_to_string(verdict->auth.method));
	/* a mail let through by a quirk says so in the state, for whoever looks into it later */
	me_state_set_string(enroll->state, "auth_quirk",
			    me_challenge_quirk_to_nick(verdict->quirks_used & ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED));
	if (!save_step(enroll, ME_STATE_STEP_WAITING_APPROVAL, error))
		return NULL;
	return g_steal_pointer(&verdict);
}

/**
 * me_enroll_wants_approval:
 * @enroll: an enrollment
 * @verdict: the verdict me_enroll_inspect() just gave
 *
 * Whether the person is to be asked now: only for an answerable verdict about the challenge
 * whose reply waits for approval.  Any other mail, whatever the enrollment's step, asks
 * nothing and changes nothing.
 *
 * Returns: %TRUE when the reply waits for approval because of @verdict's mail
 */
gboolean
me_enroll_wants_approval(MeEnroll *enroll, const MeChallengeVerdict *verdict)
{
	return verdict != NULL && verdict->answerable && me_state_get_step(enroll->state) == ME_STATE_STEP_WAITING_APPROVAL;
}

/* the reply as it leaves: DKIM-signed where the CA profile names a key (RFC 8823 §3.2:
 * d= the mailbox's domain, the 12 header fields of the reply) */
static GBytes *
sign_reply(MeEnroll *e, const gchar *raw, GError **error)
{
	g_autoptr(GBytes) message = g_bytes_new(raw, strlen(raw));
	g_autoptr(MeSecretStr) pem = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(MeDns) dns = NULL;
	g_autoptr(MeDkim) dkim = NULL;
	g_autoptr(GError) local = NULL;
	const gchar *domain = e->opts->dkim_domain != NULL ? e->opts->dkim_domain : strrchr(e->mailbox, '@') + 1;

	if (e->opts->dkim_selector == NULL || e->opts->dkim_key_label == NULL)
		return g_steal_pointer(&message);
	pem = me_keyring_lookup(ME_KEYRING_KIND_DKIM_KEY, NULL, NULL, e->opts->dkim_key_label, &local);
	if (pem == NULL && g_error_matches(local, ME_ERROR, ME_ERROR_NOT_FOUND)) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: the CA's replies must be DKIM-signed, but the key is missing; %s is its label, twice */
			    _("The DKIM key “%s” for signing the reply is not in the keyring; store it with “mailenroll provision dkim %s”."),
			    e->opts->dkim_key_label, e->opts->dkim_key_label);
		return NULL;
	}
	if (pem == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	key = me_key_from_pem(pem, strlen(pem), error);
	if (key == NULL)
		return NULL;
	/* signing looks nothing up; the resolver is only what libopendkim is set up with */
	dns = me_dns_new(e->opts->dns_server, error);
	dkim = dns != NULL ? me_dkim_new(dns, error) : NULL;
	if (dkim == NULL)
		return NULL;
	return me_dkim_sign(dkim, message, domain, e->opts->dkim_selector, key, ME_DKIM_POLICY_REPLY, error);
}

/* the reply exactly as it is handed out, kept so that a reply mailenroll submits itself goes
 * out byte for byte the same when it is sent again after a crash: a DKIM signature made a
 * second time may differ (its t=), and the reply is public, no secret */
static gboolean
save_reply_wire(MeEnroll *e, JsonObject *reply, GBytes *wire, GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(wire, &len);
	g_autofree gchar *text = NULL;

	if (len == 0 || !g_utf8_validate_len(data, len, NULL)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the composed (and maybe DKIM-signed) reply is not text; it is not sent */
				    _("The reply could not be prepared for sending; start again with --restart."));
		return FALSE;
	}
	text = g_strndup(data, len);
	json_object_set_string_member(reply, "wire", text);
	if (e->delivery != ME_ENROLL_REPLY_DELIVERY_UNKNOWN)
		me_state_set_string(e->state, "reply_delivery", me_enroll_reply_delivery_to_string(e->delivery));
	else
		json_object_remove_member(me_state_get_object(e->state), "reply_delivery");
	json_object_remove_member(me_state_get_object(e->state), "submitting_at");
	return TRUE;
}

/**
 * me_enroll_approve:
 * @enroll: an enrollment that waits for approval
 * @fields: (out) (optional) (transfer full): the reply as fields, for a mail client's
 *   compose API
 * @error: return location for a #GError
 *
 * The person approved the reply.  The challenge is saved as answered first, with the reply's
 * exact bytes and how it is handed out (me_enroll_set_reply_delivery()); only then is the
 * reply handed out, once: asking again is refused.  Only a reply mailenroll submits itself
 * is given out again after a crash, the same bytes (me_enroll_get_reply_bytes()).
 *
 * Returns: (transfer full): the reply message (RFC 5322, CRLF), or %NULL with @error set
 */
GBytes *
me_enroll_approve(MeEnroll *enroll, MeMailReply **fields, GError **error)
{
	JsonObject *reply = get_object(me_state_get_object(enroll->state), "reply");
	const gchar *raw = reply != NULL ? json_object_get_string_member_with_default(reply, "raw", NULL) : NULL;
	g_autoptr(GBytes) out = NULL;

	if (me_state_get_step(enroll->state) != ME_STATE_STEP_WAITING_APPROVAL || raw == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: there is no reply waiting for approval; %s is the mailbox */
			    _("No reply for %s is waiting for approval; a challenge is answered only once, so start again with --restart if the reply was lost."),
			    enroll->mailbox);
		return NULL;
	}
	/* signed before the step moves on: a keyring that cannot give the key hands out nothing */
	out = sign_reply(enroll, raw, error);
	if (out == NULL || !save_reply_wire(enroll, reply, out, error)) {
		if (error != NULL && *error != NULL)
			me_enroll_note_failure(enroll, ME_STATE_STEP_ANSWERED, *error);
		return NULL;
	}
	me_state_set_int(enroll->state, "answered_at", now_unix(enroll));
	if (!save_step(enroll, ME_STATE_STEP_ANSWERED, error))
		return NULL;
	keygen_start(enroll);
	if (fields != NULL)
		*fields = load_reply_fields(enroll);
	return g_steal_pointer(&out);
}

/**
 * me_enroll_decline:
 * @enroll: an enrollment that waits for approval
 * @error: return location for a #GError
 *
 * The person said no: the reply is dropped, this message will get no answer, and the
 * enrollment waits for another challenge mail.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_decline(MeEnroll *enroll, GError **error)
{
	if (me_state_get_step(enroll->state) != ME_STATE_STEP_WAITING_APPROVAL) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: there is no reply waiting for approval; %s is the mailbox */
			    _("No reply for %s is waiting for approval."), enroll->mailbox);
		return FALSE;
	}
	me_state_set_string(enroll->state, "declined_message_id", me_state_get_string(enroll->state, "challenge_message_id"));
	json_object_remove_member(me_state_get_object(enroll->state), "reply");
	return save_step(enroll, ME_STATE_STEP_WAITING_CHALLENGE, error);
}

/**
 * me_enroll_reply_failed:
 * @enroll: an answered enrollment
 * @error: return location for a #GError
 *
 * The mail client says the reply handed out by me_enroll_approve() could not be sent (its
 * send failed; not a send that only took long).  Nothing reached the CA, so the enrollment
 * waits for approval again with the same reply: the same challenge mail may be approved
 * and answered once more.  Already waiting for approval is not an error.
 *
 * Returns: %TRUE on success; %ME_ERROR_INVALID_STATE when no reply is out
 */
gboolean
me_enroll_reply_failed(MeEnroll *enroll, GError **error)
{
	MeStateStep step = me_state_get_step(enroll->state);

	if (step == ME_STATE_STEP_WAITING_APPROVAL)
		return TRUE;
	if (step != ME_STATE_STEP_ANSWERED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: reply.failed came, but no reply was handed out (or it was reported sent); %s is the mailbox */
			    _("No reply for %s is waiting to be sent, so there is no failed send to record."), enroll->mailbox);
		return FALSE;
	}
	me_state_set_int(enroll->state, "send_failed_at", now_unix(enroll));
	return save_step(enroll, ME_STATE_STEP_WAITING_APPROVAL, error);
}

static const gchar *const delivery_names[] = {"unknown", "smtp", "file", "stdout", "mail-client"};

/**
 * me_enroll_reply_delivery_to_string:
 * @delivery: a way of handing out the reply
 *
 * Returns: its name in the state: `smtp`, `file`, `stdout`, `mail-client` (or `unknown`)
 */
const gchar *
me_enroll_reply_delivery_to_string(MeEnrollReplyDelivery delivery)
{
	return (guint)delivery < G_N_ELEMENTS(delivery_names) ? delivery_names[delivery] : "unknown";
}

/**
 * me_enroll_reply_delivery_from_state:
 * @state: an enrollment's state (also one read without its lock, as `status` does)
 *
 * Returns: how its approved reply was handed out; %ME_ENROLL_REPLY_DELIVERY_UNKNOWN when
 *   that was not recorded
 */
MeEnrollReplyDelivery
me_enroll_reply_delivery_from_state(MeState *state)
{
	const gchar *name = me_state_get_string(state, "reply_delivery");

	for (guint i = 1; name != NULL && i < G_N_ELEMENTS(delivery_names); i++) {
		if (g_strcmp0(name, delivery_names[i]) == 0)
			return (MeEnrollReplyDelivery)i;
	}
	return ME_ENROLL_REPLY_DELIVERY_UNKNOWN;
}

/**
 * me_enroll_set_reply_delivery:
 * @enroll: an enrollment
 * @delivery: how the reply will be handed out
 *
 * Says, before me_enroll_approve(), how the reply will be handed out; the approval saves it
 * with the step, so a rerun after a crash knows who is responsible for sending the reply.
 */
void
me_enroll_set_reply_delivery(MeEnroll *enroll, MeEnrollReplyDelivery delivery)
{
	enroll->delivery = delivery;
}

/**
 * me_enroll_get_reply_delivery:
 * @enroll: an enrollment
 *
 * Returns: how the approved reply was handed out, as saved with it
 */
MeEnrollReplyDelivery
me_enroll_get_reply_delivery(MeEnroll *enroll)
{
	return me_enroll_reply_delivery_from_state(enroll->state);
}

/**
 * me_enroll_get_reply_bytes:
 * @enroll: an answered enrollment whose reply mailenroll submits itself
 * @fields: (out) (optional) (transfer full): the reply's fields: its envelope
 * @error: return location for a #GError
 *
 * The reply me_enroll_approve() handed out, byte for byte (the same Message-ID, the same
 * DKIM signature), to be submitted again after a crash left it unclear whether it left.
 * Only for %ME_ENROLL_REPLY_DELIVERY_SMTP: a reply the person or the mail client sends is
 * never given out twice.
 *
 * Returns: (transfer full): the reply, or %NULL with @error set
 */
GBytes *
me_enroll_get_reply_bytes(MeEnroll *enroll, MeMailReply **fields, GError **error)
{
	JsonObject *reply = get_object(me_state_get_object(enroll->state), "reply");
	const gchar *wire = reply != NULL ? json_object_get_string_member_with_default(reply, "wire", NULL) : NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (me_state_get_step(enroll->state) != ME_STATE_STEP_ANSWERED || wire == NULL ||
	    me_enroll_get_reply_delivery(enroll) != ME_ENROLL_REPLY_DELIVERY_SMTP) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: a reply was to be sent again, but none is waiting to be sent by mailenroll; %s is the mailbox */
			    _("No reply for %s is waiting to be sent by SMTP; see “mailenroll status”."), enroll->mailbox);
		return NULL;
	}
	if (fields != NULL)
		*fields = load_reply_fields(enroll);
	return g_bytes_new(wire, strlen(wire));
}

/**
 * me_enroll_reply_submitting:
 * @enroll: an answered enrollment
 * @error: return location for a #GError
 *
 * Saves that the reply is being submitted: the SMTP server is ready for the message and its
 * first byte goes out next (a #MeSmtpDataFunc).  Until me_enroll_reply_sent(), it is unknown
 * whether the reply left.
 *
 * Returns: %TRUE on success; on %FALSE the reply must not be sent
 */
gboolean
me_enroll_reply_submitting(MeEnroll *enroll, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (me_state_get_step(enroll->state) != ME_STATE_STEP_ANSWERED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: a reply was about to be sent, but no reply was handed out; %s is the mailbox */
			    _("No reply for %s was handed out yet; approve the challenge first."), enroll->mailbox);
		return FALSE;
	}
	me_state_set_int(enroll->state, "submitting_at", now_unix(enroll));
	if (!me_state_save(enroll->state, error))
		return FALSE;
	test_kill_point_named("submitting");
	return TRUE;
}

/**
 * me_enroll_is_reply_submitting:
 * @enroll: an enrollment
 *
 * Returns: %TRUE when the answered reply was being submitted and it is unknown whether it
 *   left (me_enroll_reply_submitting() without me_enroll_reply_sent())
 */
gboolean
me_enroll_is_reply_submitting(MeEnroll *enroll)
{
	return me_state_get_step(enroll->state) == ME_STATE_STEP_ANSWERED &&
	       me_state_get_int(enroll->state, "submitting_at") != 0;
}

/**
 * me_enroll_reply_sent:
 * @enroll: an answered enrollment
 * @error: return location for a #GError
 *
 * Records that the reply left; me_enroll_finish() then goes on.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_reply_sent(MeEnroll *enroll, GError **error)
{
	MeStateStep step = me_state_get_step(enroll->state);

	if (step >= ME_STATE_STEP_REPLY_SENT && step != ME_STATE_STEP_FAILED)
		return TRUE;
	/* the kill tests' point between the SMTP server's 250 and "reply-sent" being saved */
	if (me_enroll_is_reply_submitting(enroll))
		test_kill_point_named("submitted");
	if (step != ME_STATE_STEP_ANSWERED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: the person said the reply was sent, but no reply was handed out; %s is the mailbox */
			    _("No reply for %s was handed out yet; approve the challenge first."), enroll->mailbox);
		return FALSE;
	}
	me_state_set_int(enroll->state, "reply_sent_at", now_unix(enroll));
	return save_step(enroll, ME_STATE_STEP_REPLY_SENT, error);
}

/* ---- after the reply: validation, key, CSR, certificate */

static gboolean
wait_validated(MeEnroll *e, GError **error)
{
	g_autoptr(MeAcmeAuthz) authz = NULL;
	g_autoptr(GError) local = NULL;

	progress(e, ME_STATE_STEP_VALIDATED,
		 /* TRANSLATORS: progress: waiting for the CA to receive and check the reply */
		 _("Waiting for the certificate authority to check the reply…"));
	/* the authorization's one challenge is valid: so is the authorization */
	if (e->challenge_valid)
		return save_step(e, ME_STATE_STEP_VALIDATED, error);
	authz = me_acme_authz_poll(get_client(e), me_state_get_string(e->state, "authz_url"), &local);
	if (authz == NULL) {
		/* a refused challenge ends this order; a network failure does not */
		if (local->domain == ME_ERROR &&
		    (local->code == ME_ERROR_INCORRECT_RESPONSE || local->code == ME_ERROR_INVALID_STATE ||
		     local->code == ME_ERROR_UNAUTHORIZED || local->code == ME_ERROR_REJECTED_IDENTIFIER)) {
			me_state_set_string(e->state, "failure", local->message);
			me_state_set_string(e->state, "failed_step", me_state_step_to_string(ME_STATE_STEP_VALIDATED));
			me_state_set_int(e->state, "failed_at", now_unix(e));
			(void)save_step(e, ME_STATE_STEP_FAILED, NULL);
		}
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return save_step(e, ME_STATE_STEP_VALIDATED, error);
}

static EVP_PKEY *
load_cert_key(MeEnroll *e, GError **error)
{
	g_autoptr(MeSecretStr) pem = me_keyring_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, e->mailbox, e->opts->directory,
						      me_state_get_string(e->state, "cert_key_fp"), error);

	if (pem == NULL)
		return NULL;
	return me_key_from_pem(pem, strlen(pem), error);
}

/* ---- the certificate key, made while the reply travels
 *
 * An RSA-3072 key, the default, takes a quarter of a second or more to make; once the
 * person approved, the reply still has to be sent and the CA has to validate it.  So the
 * key is made then, on a thread of its own, and make_cert_key() takes it once the
 * challenge is valid, as before: it reaches the keyring at the same step, and a process
 * that ends before loses nothing but a key nobody used.  One key per enrollment (CA,
 * mailbox and key type); a second approval of the same one finds it made or being made. */

typedef struct {
	MeKeyType type;
	GThread *thread; /* returns the EVP_PKEY, or NULL with @error set */
	GError *error;
} KeyJob;

static GMutex keygen_lock;
static GHashTable *keygen_jobs; /* "directory mailbox type" -> KeyJob */

static MeKeyType
cert_key_type(MeEnroll *e)
{
	MeKeyType type = me_key_type_from_string(me_state_get_string(e->state, "key_type"));

	return type != ME_KEY_TYPE_UNKNOWN ? type : e->opts->key_type;
}

static gchar *
keygen_id(MeEnroll *e, MeKeyType type)
{
	return g_strdup_printf("%s %s %d", e->opts->directory, e->mailbox, (gint)type);
}

static gpointer
keygen_thread(gpointer data)
{
	KeyJob *job = data;

	return me_key_generate(job->type, &job->error);
}

/* at exit: a key still being made is waited for, since OpenSSL's own exit handler (which
 * ran its registration earlier, so runs after this one) frees what the thread uses */
static void
keygen_join_all(void)
{
	GHashTableIter iter;
	gpointer value;

	g_mutex_lock(&keygen_lock);
	g_hash_table_iter_init(&iter, keygen_jobs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		KeyJob *job = value;
		EVP_PKEY_free(g_thread_join(job->thread));
		g_clear_error(&job->error);
		g_free(job);
		g_hash_table_iter_remove(&iter);
	}
	g_mutex_unlock(&keygen_lock);
}

/* starts making the key the enrollment will need, unless that is under way already; only
 * where this process goes on after the approval (it sends the reply itself, or the mail
 * client does and calls back): a reply handed out in a file or on the terminal ends the
 * process, and `continue` makes the key later */
static void
keygen_start(MeEnroll *e)
{
	g_autoptr(GMutexLocker) locker = NULL;
	MeKeyType type = cert_key_type(e);
	g_autofree gchar *id = keygen_id(e, type);
	KeyJob *job;

	if (e->delivery != ME_ENROLL_REPLY_DELIVERY_SMTP && e->delivery != ME_ENROLL_REPLY_DELIVERY_MAIL_CLIENT)
		return;
	locker = g_mutex_locker_new(&keygen_lock);
	if (keygen_jobs == NULL) {
		keygen_jobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		atexit(keygen_join_all);
	}
	if (g_hash_table_contains(keygen_jobs, id))
		return;
	job = g_new0(KeyJob, 1);
	job->type = type;
	job->thread = g_thread_try_new("me-keygen", keygen_thread, job, NULL);
	if (job->thread == NULL) {
		/* no thread to spare: make_cert_key() makes it itself */
		g_free(job);
		return;
	}
	g_hash_table_insert(keygen_jobs, g_steal_pointer(&id), job);
}

/* the key keygen_start() made for @e, waiting for it if need be; else one made now */
static EVP_PKEY *
keygen_take(MeEnroll *e, GError **error)
{
	MeKeyType type = cert_key_type(e);
	g_autofree gchar *id = keygen_id(e, type);
	KeyJob *job = NULL;
	gchar *stolen_id = NULL;
	EVP_PKEY *key;

	g_mutex_lock(&keygen_lock);
	if (keygen_jobs != NULL && g_hash_table_steal_extended(keygen_jobs, id, (gpointer *)&stolen_id, (gpointer *)&job))
		g_free(stolen_id);
	g_mutex_unlock(&keygen_lock);
	if (job == NULL)
		return me_key_generate(type, error);
	key = g_thread_join(job->thread);
	g_debug("%s: the certificate key %s made while the reply travelled", e->mailbox, key != NULL ? "was" : "could not be");
	if (key == NULL)
		g_propagate_error(error, g_steal_pointer(&job->error));
	g_clear_error(&job->error);
	g_free(job);
	return key;
}

static gboolean
make_cert_key(MeEnroll *e, GError **error)
{
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(MeSecretStr) pem = NULL;
	g_autofree gchar *thumb = NULL;
	g_autoptr(MeKeyringItem) item = NULL;

	progress(e, ME_STATE_STEP_KEY_STORED,
		 /* TRANSLATORS: progress: the certificate's private key is being made and stored in the keyring */
		 _("Making the private key and storing it in the keyring…"));
	key = keygen_take(e, error);
	if (key == NULL)
		return FALSE;
	if (me_key_public_equal(key, e->account_key)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_CRYPTO,
				    /* TRANSLATORS: a freshly made key equals the account key, which must never happen */
				    _("The new key equals the account key; try again."));
		return FALSE;
	}
	pem = me_key_to_pem(key, error);
	thumb = pem != NULL ? me_jwk_thumbprint(key, error) : NULL;
	if (thumb == NULL)
		return FALSE;
	item = me_keyring_item_new(ME_KEYRING_KIND_CERTIFICATE_KEY, e->mailbox, e->opts->directory, thumb);
	if (!me_keyring_store(item, pem, strlen(pem), error))
		return FALSE;
	me_state_set_string(e->state, "cert_key_fp", thumb);
	return save_step(e, ME_STATE_STEP_KEY_STORED, error);
}

static MeKeyUsage
state_usage(MeEnroll *e)
{
	MeKeyUsage usage = me_key_usage_from_string(me_state_get_string(e->state, "usage"));
	return usage != ME_KEY_USAGE_UNKNOWN ? usage : e->opts->usage;
}

/**
 * me_enroll_get_usage:
 * @enroll: an enrollment
 *
 * Returns: what the certificate is for, as recorded when the enrollment started
 */
MeKeyUsage
me_enroll_get_usage(MeEnroll *enroll)
{
	return state_usage(enroll);
}

/* the order is read back first, so a CSR that already went out is not sent again */
static gboolean
finalize(MeEnroll *e, GError **error)
{
	MeAcmeClient *client = get_client(e);
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeOrder) done = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(GBytes) csr = NULL;

	progress(e, ME_STATE_STEP_FINALIZED,
		 /* TRANSLATORS: progress: the certificate request (CSR) is sent */
		 _("Sending the certificate request…"));
	order = me_acme_order_poll(client, me_state_get_string(e->state, "order_url"), error);
	if (order == NULL)
		return FALSE;
	if (g_strcmp0(order->status, "ready") == 0) {
		key = load_cert_key(e, error);
		if (key == NULL)
			return FALSE;
		csr = me_csr_new(key, e->mailbox, state_usage(e), ME_CSR_FLAGS_NONE, error);
		if (csr == NULL)
			return FALSE;
		done = me_acme_order_finalize(client, order, csr, error);
		if (done == NULL)
			return FALSE;
		/* valid, with its certificate URL (me_acme_order_finalize() checked): download()
		 * need not ask for the order again */
		me_acme_order_free(e->finalized_order);
		e->finalized_order = g_steal_pointer(&done);
	} else if (g_strcmp0(order->status, "valid") != 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: the order is in a state that does not allow a certificate; %s is the mailbox, %s the state */
			    _("The certificate authority reports the request for %s as “%s”; start again with --restart."),
			    e->mailbox, order->status);
		return FALSE;
	}
	return save_step(e, ME_STATE_STEP_FINALIZED, error);
}

/* when to renew: the CA's renewal window (RFC 9773) where it offers one, else the
 * configured part of the lifetime */
static void
schedule_renewal(MeEnroll *e, X509 *ee, gint64 not_before, gint64 not_after)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *cert_id = me_acme_cert_id(ee, &local);
	const MeAcmeDirectory *dir = me_acme_client_get_directory(get_client(e), NULL);
	gdouble fraction = e->opts->renew_fraction > 0 && e->opts->renew_fraction < 1 ? e->opts->renew_fraction : 2.0 / 3.0;
	gint64 renew_at = not_before + (gint64)((gdouble)(not_after - not_before) * fraction);

	if (cert_id != NULL)
		me_state_set_string(e->state, "cert_id", cert_id);
	if (cert_id != NULL && dir != NULL && dir->renewal_info != NULL) {
		g_autoptr(MeAcmeRenewalInfo) info = me_acme_renewal_info_get(get_client(e), ee, &local);
		if (info != NULL)
			renew_at = me_acme_renewal_info_pick_time(info, now_unix(e));
		else
			g_debug("renewal information: %s", local->message);
	}
	me_state_set_int(e->state, "renew_at", renew_at);
}

/* the keys of the certificates this one replaces stay in the keyring (mail encrypted to
 * them must stay readable), marked superseded */
static void
supersede_previous_keys(MeEnroll *e)
{
	JsonArray *previous = get_array(me_state_get_object(e->state), "previous");

	for (guint i = 0; previous != NULL && i < json_array_get_length(previous); i++) {
		JsonObject *p = json_array_get_object_element(previous, i);
		const gchar *fp = json_object_get_string_member_with_default(p, "cert_key_fp", NULL);
		g_autoptr(GError) local = NULL;
		if (fp != NULL && !me_keyring_mark_superseded(ME_KEYRING_KIND_CERTIFICATE_KEY, e->mailbox,
							      e->opts->directory, fp, &local))
			g_debug("superseding %s: %s", fp, local->message);
	}
}

static gboolean
download(MeEnroll *e, GError **error)
{
	MeAcmeClient *client = get_client(e);
	g_autoptr(MeAcmeOrder) order = NULL;
	g_autoptr(MeAcmeChain) chain = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	X509 *ee;
	gint64 not_before = 0, not_after = 0;
	gint day = 0, sec = 0;

	progress(e, ME_STATE_STEP_ISSUED,
		 /* TRANSLATORS: progress: the issued certificate is downloaded and checked */
		 _("Downloading and checking the certificate…"));
	order = g_steal_pointer(&e->finalized_order);
	if (order == NULL)
		order = me_acme_order_poll(client, me_state_get_string(e->state, "order_url"), error);
	if (order == NULL)
		return FALSE;
	if (g_strcmp0(order->status, "valid") != 0 || order->certificate == NULL)
		return finalize(e, error) && download(e, error);
	chain = me_acme_order_download(client, order->certificate, error);
	if (chain == NULL)
		return FALSE;
	key = load_cert_key(e, error);
	if (key == NULL || !me_csr_check_issued(chain->certs, key, e->mailbox, state_usage(e), error))
		return FALSE;
	ee = g_ptr_array_index(chain->certs, 0);
	/* seconds since the epoch of notBefore and notAfter */
	if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notBefore(ee)))
		not_before = now_unix(e) + (gint64)day * 86400 + sec;
	if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(ee)))
		not_after = now_unix(e) + (gint64)day * 86400 + sec;
	me_state_set_string(e->state, "certificate_url", order->certificate);
	me_state_set_string(e->state, "certificate", chain->pem);
	me_state_set_int(e->state, "not_before", not_before);
	me_state_set_int(e->state, "not_after", not_after);
	schedule_renewal(e, ee, not_before, not_after);
	supersede_previous_keys(e);
	return save_step(e, ME_STATE_STEP_ISSUED, error);
}

/* the CA refused the challenge (a wrong answer, or none in time): it is burned, and so is
 * the order; the CA can still validate the mailbox with a new one */
static gboolean
challenge_burned(const GError *error)
{
	return error->domain == ME_ERROR && (error->code == ME_ERROR_INCORRECT_RESPONSE ||
					     error->code == ME_ERROR_INVALID_STATE || error->code == ME_ERROR_UNAUTHORIZED);
}

/* once per enrollment, a burned challenge gets a new order on the same account; the tokens
 * answered stay remembered, so the mail that burned it is never answered again */
static gboolean
reorder(MeEnroll *e, const GError *why, GError **error)
{
	g_autofree gchar *note = g_strdup_printf(
	    /* TRANSLATORS: the CA refused the reply and a new request was made automatically; %s is the CA's reason */
	    _("The certificate authority did not accept the answer to its challenge (%s), which happens when the mail answered belonged to another request for the same address; a new request was made, so answer its challenge mail."),
	    why->message);

	g_message("%s: %s", e->mailbox, note);
	if (!me_enroll_restart(e, error))
		return FALSE;
	me_state_set_bool(e->state, "reordered", TRUE);
	me_state_set_string(e->state, "reorder_note", note);
	if (!me_state_save(e->state, error))
		return FALSE;
	progress(e, ME_STATE_STEP_ORDER, note);
	return me_enroll_start(e, error);
}

/**
 * me_enroll_get_reorder_note:
 * @enroll: an enrollment
 *
 * Returns: (nullable): the translated sentence saying why the order was made anew, when
 *   me_enroll_finish() replaced a burned challenge; %NULL otherwise
 */
const gchar *
me_enroll_get_reorder_note(MeEnroll *enroll)
{
	return me_state_get_string(enroll->state, "reorder_note");
}

/**
 * me_enroll_finish:
 * @enroll: an enrollment whose reply was sent
 * @error: return location for a #GError
 *
 * Goes on from wherever the enrollment stands after the reply: POSTs the challenge,
 * waits until the CA has validated it, makes the certificate key (into the keyring first),
 * finalizes with the CSR and downloads and checks the certificate.  Safe to call again
 * after a failure or a kill.
 *
 * When the CA refuses the challenge, the first time in an enrollment a new order is made
 * on the same account (reorder()): the enrollment then waits for the new challenge mail,
 * me_enroll_get_step() says %ME_STATE_STEP_WAITING_CHALLENGE and
 * me_enroll_get_reorder_note() says why.
 *
 * Returns: %TRUE when the certificate is issued (or further), or a new order waits for its
 *   challenge mail
 */
gboolean
me_enroll_finish(MeEnroll *enroll, GError **error)
{
	g_autoptr(GError) local = NULL;

	enroll->attempting = me_state_get_step(enroll->state);
	if (check_ca_file(enroll, &local) && finish_steps(enroll, &local))
		return TRUE;
	explain_ca_file(enroll, &local);
	me_enroll_note_failure(enroll, enroll->attempting, local);
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static gboolean
finish_steps(MeEnroll *enroll, GError **error)
{
	for (;;) {
		MeStateStep step = me_state_get_step(enroll->state);
		gboolean ok;

		if (step >= ME_STATE_STEP_ISSUED && step != ME_STATE_STEP_FAILED)
			return TRUE;
		if (step < ME_STATE_STEP_REPLY_SENT || step == ME_STATE_STEP_FAILED) {
			g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
				    /* TRANSLATORS: the certificate cannot be finished yet; %s is the mailbox, %s the step it is at */
				    _("The certificate for %s cannot be finished at this step (%s); see “mailenroll status”."),
				    enroll->mailbox, me_state_step_to_string(step));
			return FALSE;
		}
		if (!check_not_expired(enroll, error) || !ensure_account(enroll, error))
			return FALSE;
		switch (step) {
		case ME_STATE_STEP_REPLY_SENT:
			ok = me_enroll_post_challenge(enroll, error) &&
			     save_step(enroll, ME_STATE_STEP_CHALLENGE_POSTED, error);
			break;
		case ME_STATE_STEP_CHALLENGE_POSTED: {
			g_autoptr(GError) local = NULL;
			if (wait_validated(enroll, &local))
				continue;
			if (me_state_get_step(enroll->state) == ME_STATE_STEP_FAILED && challenge_burned(local) &&
			    !me_state_get_bool(enroll->state, "reordered"))
				return reorder(enroll, local, error);
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		case ME_STATE_STEP_VALIDATED:
			ok = make_cert_key(enroll, error);
			break;
		case ME_STATE_STEP_KEY_STORED:
			ok = finalize(enroll, error);
			break;
		case ME_STATE_STEP_FINALIZED:
			ok = download(enroll, error);
			break;
		default:
			g_assert_not_reached();
		}
		if (!ok)
			return FALSE;
	}
}

/**
 * me_enroll_is_renewal_due:
 * @enroll: an enrollment
 * @renew_at: (out) (optional): when the certificate is due, seconds since the epoch; 0
 *   when there is no certificate
 *
 * Returns: %TRUE when the enrollment has a certificate and its renewal time has come
 */
gboolean
me_enroll_is_renewal_due(MeEnroll *enroll, gint64 *renew_at)
{
	MeStateStep step = me_state_get_step(enroll->state);
	gint64 at = me_state_get_int(enroll->state, "renew_at");

	if (renew_at != NULL)
		*renew_at = step >= ME_STATE_STEP_ISSUED && step != ME_STATE_STEP_FAILED ? at : 0;
	return step >= ME_STATE_STEP_ISSUED && step != ME_STATE_STEP_FAILED && at != 0 && at <= now_unix(enroll);
}

/**
 * me_enroll_renew:
 * @enroll: an enrollment with an issued certificate
 * @error: return location for a #GError
 *
 * Starts the renewal: the current certificate goes into the record of previous ones (its
 * key stays in the keyring), and a new order is prepared that names it as replaced
 * (RFC 9773).  me_enroll_start() then goes on as for a first enrollment; the old key is
 * marked superseded once the new certificate is issued.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_renew(MeEnroll *enroll, GError **error)
{
	JsonObject *obj = me_state_get_object(enroll->state);
	JsonArray *previous = get_array(obj, "previous");
	g_autoptr(JsonArray) keep = previous != NULL ? json_array_ref(previous) : json_array_new();
	JsonObject *entry = json_object_new();
	g_autofree gchar *cert_id = g_strdup(me_state_get_string(enroll->state, "cert_id"));
	g_autofree gchar *cert_account = g_strdup(me_state_get_string(enroll->state, "account_url"));
	MeStateStep step = me_state_get_step(enroll->state);
	const gchar *keys[] = {"certificate_url", "cert_key_fp", "cert_id"};

	if (step < ME_STATE_STEP_ISSUED || step == ME_STATE_STEP_FAILED) {
		json_object_unref(entry);
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: renew was asked for, but there is no certificate yet; %s is the mailbox */
			    _("There is no certificate for %s to renew yet; finish the enrollment first."), enroll->mailbox);
		return FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		const gchar *value = me_state_get_string(enroll->state, keys[i]);
		if (value != NULL)
			json_object_set_string_member(entry, keys[i], value);
	}
	json_object_set_int_member(entry, "not_after", me_state_get_int(enroll->state, "not_after"));
	/* where it went, so the renewed certificate goes to the same place */
	if (get_array(obj, "installed") != NULL)
		json_object_set_array_member(entry, "installed", json_array_ref(get_array(obj, "installed")));
	json_array_add_object_element(keep, entry);
	if (!me_enroll_restart(enroll, error))
		return FALSE;
	obj = me_state_get_object(enroll->state);
	json_object_set_array_member(obj, "previous", json_array_ref(keep));
	me_state_set_string(enroll->state, "replaces", cert_id);
	/* the account that owns it: the new order may go under another one (use_ca_account()) */
	me_state_set_string(enroll->state, "replaces_account", cert_account);
	return me_state_save(enroll->state, error);
}

/**
 * me_enroll_begin_renewal:
 * @enroll: an enrollment
 * @force: renew even when the certificate is not due yet
 * @renewing: (out): whether a renewal is under way afterwards
 * @error: return location for a #GError
 *
 * The one place that decides about renewing (the CLI's `renew` and `renew --all`, the
 * host's `renew`): a renewal under way goes on; a renewal whose order failed or expired
 * is ordered again (the certificate it replaces is still due); otherwise a renewal starts
 * when the certificate is due, or with @force (me_enroll_renew()).  Nothing is sent to the
 * CA here; me_enroll_start() goes on from the step this leaves.
 *
 * Returns: %TRUE on success, also when nothing is due (*@renewing is then %FALSE)
 */
gboolean
me_enroll_begin_renewal(MeEnroll *enroll, gboolean force, gboolean *renewing, GError **error)
{
	MeStateStep step = me_state_get_step(enroll->state);
	gboolean replacing = me_state_get_string(enroll->state, "replaces") != NULL;

	*renewing = FALSE;
	if (replacing && step == ME_STATE_STEP_FAILED) {
		if (!me_enroll_restart(enroll, error))
			return FALSE;
	} else if (!(replacing && step < ME_STATE_STEP_ISSUED)) {
		if (!force && !me_enroll_is_renewal_due(enroll, NULL))
			return TRUE;
		if (!me_enroll_renew(enroll, error))
			return FALSE;
	}
	*renewing = TRUE;
	return TRUE;
}

/**
 * me_enroll_revoke:
 * @enroll: an enrollment with an issued certificate
 * @reason: an RFC 5280 reason code (0 unspecified, 1 keyCompromise, 4 superseded, 5
 *   cessationOfOperation), or -1 to give none
 * @error: return location for a #GError
 *
 * Asks the CA to revoke the current certificate, signed with the account key.  The key
 * stays in the keyring (mail encrypted to it stays readable); the state records the
 * revocation, and renewal no longer applies to it.
 *
 * Returns: %TRUE when the CA revoked it (%ME_ERROR_ALREADY_REVOKED when it was before)
 */
gboolean
me_enroll_revoke(MeEnroll *enroll, gint reason, GError **error)
{
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(GPtrArray) chain = NULL;
	g_autoptr(GBytes) der = NULL;
	guint8 *buf = NULL;
	gint len;

	if (reason < -1 || reason > 10 || reason == 7) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: an invalid revocation reason was given; %d is it */
			    _("%d is not a revocation reason; use 0 (unspecified), 1 (key compromise), 4 (superseded) or 5 (no longer used)."),
			    reason);
		return FALSE;
	}
	if (!me_enroll_load_certificate(enroll, &key, &chain, error) || !ensure_account(enroll, error))
		return FALSE;
	len = i2d_X509(g_ptr_array_index(chain, 0), &buf);
	if (len <= 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the certificate to revoke could not be encoded */
				    _("The certificate cannot be encoded for the revocation; check the saved state."));
		return FALSE;
	}
	der = g_bytes_new(buf, (gsize)len);
	OPENSSL_free(buf);
	progress(enroll, ME_STATE_STEP_ISSUED,
		 /* TRANSLATORS: progress: the certificate is being revoked */
		 _("Asking the certificate authority to revoke the certificate…"));
	if (!me_acme_cert_revoke(get_client(enroll), der, reason, NULL, error))
		return FALSE;
	me_state_set_int(enroll->state, "revoked_at", now_unix(enroll));
	me_state_set_int(enroll->state, "renew_at", 0);
	return me_state_save(enroll->state, error);
}

/**
 * me_enroll_load_certificate:
 * @enroll: an issued enrollment
 * @key: (out) (transfer full): the certificate's key, from the keyring
 * @chain: (out) (transfer full) (element-type X509): the chain, end-entity first
 * @error: return location for a #GError
 *
 * What a store needs to install the certificate.
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_load_certificate(MeEnroll *enroll, EVP_PKEY **key, GPtrArray **chain, GError **error)
{
	const gchar *pem = me_state_get_string(enroll->state, "certificate");
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(MeAcmeChain) parsed = NULL;
	MeStateStep step = me_state_get_step(enroll->state);

	if (pem == NULL || step < ME_STATE_STEP_ISSUED || step == ME_STATE_STEP_FAILED) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: there is no issued certificate to install; %s is the mailbox */
			    _("There is no issued certificate for %s yet; finish the enrollment first."), enroll->mailbox);
		return FALSE;
	}
	bytes = g_bytes_new(pem, strlen(pem));
	parsed = me_acme_chain_parse(bytes, error);
	if (parsed == NULL)
		return FALSE;
	*key = load_cert_key(enroll, error);
	if (*key == NULL)
		return FALSE;
	*chain = g_ptr_array_ref(parsed->certs);
	return TRUE;
}

/**
 * me_enroll_mark_installed:
 * @enroll: an issued enrollment
 * @store: `thunderbird`, `nssdb` or `pkcs12`
 * @location: the profile, database folder or file
 * @nickname: (nullable): the certificate's nickname there
 * @db_key: (nullable): Thunderbird's dbKey
 * @bound: the certificate was bound to the mailbox's identity
 * @error: return location for a #GError
 *
 * Records where the certificate went; a renewal installs the next one there
 * (me_enroll_get_last_install()).
 *
 * Returns: %TRUE on success
 */
gboolean
me_enroll_mark_installed(MeEnroll *enroll,
			 const gchar *store,
			 const gchar *location,
			 const gchar *nickname,
			 const gchar *db_key,
			 gboolean bound,
			 GError **error)
{
	JsonObject *state = me_state_get_object(enroll->state);
	JsonArray *installed = get_array(state, "installed");
	JsonObject *entry = json_object_new();

	if (installed == NULL) {
		installed = json_array_new();
		json_object_set_array_member(state, "installed", installed);
	}
	json_object_set_string_member(entry, "store", store);
	json_object_set_string_member(entry, "location", location);
	if (nickname != NULL)
		json_object_set_string_member(entry, "nickname", nickname);
	if (db_key != NULL)
		json_object_set_string_member(entry, "db_key", db_key);
	json_object_set_boolean_member(entry, "bound", bound);
	json_object_set_int_member(entry, "at", now_unix(enroll));
	json_array_add_object_element(installed, entry);
	return save_step(enroll, ME_STATE_STEP_INSTALLED, error);
}

static JsonObject *
last_object(JsonArray *array)
{
	guint n = array != NULL ? json_array_get_length(array) : 0;
	JsonNode *node = n > 0 ? json_array_get_element(array, n - 1) : NULL;

	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

/**
 * me_enroll_get_last_install:
 * @enroll: an enrollment
 *
 * Where the current certificate was last installed or, while a renewal is under way and
 * the new one is not installed yet, where the certificate it replaces was.  The members
 * are those me_enroll_mark_installed() records: `store`, `location`, `nickname`,
 * `db_key`, `bound`.
 *
 * Returns: (transfer none) (nullable): the record, or %NULL when it was never installed
 */
JsonObject *
me_enroll_get_last_install(MeEnroll *enroll)
{
	JsonObject *obj = me_state_get_object(enroll->state);
	JsonObject *current = last_object(get_array(obj, "installed"));
	JsonObject *previous;

	if (current != NULL)
		return current;
	previous = last_object(get_array(obj, "previous"));
	if (previous == NULL || me_state_get_string(enroll->state, "replaces") == NULL)
		return NULL;
	return last_object(get_array(previous, "installed"));
}
