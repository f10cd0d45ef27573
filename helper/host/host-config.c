/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* the configuration methods of mailenroll-helper (messaging/PROTOCOL.md §9, issue 19):
 * config.get, config.set, ca.add, ca.agree and ca.eab.  The options page of the add-on
 * shows the configuration and changes the user's file through them, within the
 * administrator's [policy] locks.  Directory fetches and keyring calls block, so every
 * call runs in a worker thread; writes are serialized */

#define G_LOG_DOMAIN "MeHost"

#include "config.h"

#include "host-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "acme-client.h"
#include "encoding.h"
#include "host-params.h"
#include "keyring.h"
#include "me-config-write.h"
#include "me-config.h"
#include "secmem.h"

/* a directory fetch takes at most this long: the page waits for it */
#define CONFIG_HTTP_CONNECT_MS	   5000
#define CONFIG_HTTP_TOTAL_MS	   10000
#define CONFIG_HTTP_LOW_SPEED_SECS 5
/* a directory document is small; a larger answer is no directory */
#define CONFIG_DIRECTORY_MAX (64 * 1024)
/* configuration calls running or waiting at once; more are answered `busy` */
#define CONFIG_CALLS_MAX 8
/* the longest EAB MAC key text taken (512 bytes of key; CAs give 32 to 64), as
 * `mailenroll provision eab` */
#define CONFIG_EAB_TEXT_MAX 684
#define CONFIG_EAB_KEY_MIN  16

#define GENERAL "general"

typedef enum {
	CALL_GET,
	CALL_SET,
	CALL_CA_ADD,
	CALL_CA_AGREE,
	CALL_CA_EAB,
} CallKind;

typedef struct {
	CallKind kind;
	MeRpcCall *call;
	JsonNode *params;
	JsonNode *result;
} Call;

/* one write at a time: each reads the file, changes it and renames it into place */
static GMutex write_lock;
/* on the main loop's thread only */
static guint calls_running;

static void
call_free(Call *c)
{
	if (c->params != NULL)
		json_node_unref(c->params);
	if (c->result != NULL)
		json_node_unref(c->result);
	g_free(c);
}

/* ---- parameters */

/* the params object in *@obj (%NULL when there are none) */
static gboolean
params_object(JsonNode *params, JsonObject **obj, GError **error)
{
	*obj = NULL;
	if (params == NULL || JSON_NODE_HOLDS_NULL(params))
		return TRUE;
	if (JSON_NODE_HOLDS_OBJECT(params)) {
		*obj = json_node_get_object(params);
		return TRUE;
	}
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: a request's parameters are not an object */
			    _("The request's parameters must be an object; update the mailenroll add-on."));
	return FALSE;
}

/* ---- the answers */

static const gchar *
origin_name(const MeConfig *config, const gchar *path)
{
	if (path == NULL)
		return "default";
	return g_strcmp0(path, me_config_get_system_path(config)) == 0 ? "system" : "user";
}

/* {"value", "locked", "origin"} of one key; @number: the value is a whole number */
static void
add_setting(JsonBuilder *b, const MeConfig *config, const gchar *member, const gchar *group, const gchar *key,
	    gboolean number)
{
	g_autofree gchar *value = me_config_dup_value(config, group, key);

	json_builder_set_member_name(b, member);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "value");
	if (value == NULL)
		json_builder_add_null_value(b);
	else if (number)
		json_builder_add_int_value(b, g_ascii_strtoll(value, NULL, 10));
	else
		json_builder_add_string_value(b, value);
	json_builder_set_member_name(b, "locked");
	json_builder_add_boolean_value(b, me_config_is_locked(config, group, key));
	json_builder_set_member_name(b, "origin");
	json_builder_add_string_value(b, origin_name(config, me_config_get_origin(config, group, key)));
	json_builder_end_object(b);
}

static void
add_strv(JsonBuilder *b, const gchar *member, const gchar *const *values)
{
	json_builder_set_member_name(b, member);
	json_builder_begin_array(b);
	for (guint i = 0; values != NULL && values[i] != NULL; i++)
		json_builder_add_string_value(b, values[i]);
	json_builder_end_array(b);
}

static void
add_meta(JsonBuilder *b, const MeAcmeDirectory *dir)
{
	json_builder_set_member_name(b, "meta");
	json_builder_begin_object(b);
	if (dir->terms_of_service != NULL) {
		json_builder_set_member_name(b, "termsOfService");
		json_builder_add_string_value(b, dir->terms_of_service);
	}
	if (dir->website != NULL) {
		json_builder_set_member_name(b, "website");
		json_builder_add_string_value(b, dir->website);
	}
	json_builder_set_member_name(b, "externalAccountRequired");
	json_builder_add_boolean_value(b, dir->external_account_required);
	add_strv(b, "caaIdentities", (const gchar *const *)dir->caa_identities);
	json_builder_end_object(b);
}

/* a MAC key for the CA's eab-kid is in the keyring; its bytes are never read */
static gboolean
eab_stored(const MeCaProfile *ca)
{
	const gchar *label = ca->eab_secret != NULL ? ca->eab_secret : ca->eab_kid;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = NULL;

	if (ca->eab_kid == NULL)
		return FALSE;
	items = me_keyring_list(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory, &error);
	if (items == NULL) {
		g_debug("eab_stored: %s", error->message);
		return FALSE;
	}
	for (guint i = 0; i < items->len; i++) {
		const MeKeyringItem *item = g_ptr_array_index(items, i);
		if (g_strcmp0(item->fingerprint, label) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the directory of @ca, fetched now with its ca-file and the bounds above */
static MeAcmeClient *
fetch_directory(const gchar *url, const gchar *ca_file, GError **error)
{
	g_autoptr(MeAcmeClient) client = me_acme_client_new(url);
	MeHttp *http = me_acme_client_get_http(client);

	if (ca_file != NULL)
		me_http_set_ca_file(http, ca_file);
	me_http_set_timeouts(http, CONFIG_HTTP_CONNECT_MS, CONFIG_HTTP_TOTAL_MS, CONFIG_HTTP_LOW_SPEED_SECS);
	me_http_set_max_body(http, CONFIG_DIRECTORY_MAX);
	if (me_acme_client_get_directory(client, error) == NULL)
		return NULL;
	return g_steal_pointer(&client);
}

/* whether the terms in force are agreed: by policy, or the URL agreed to is the CA's now;
 * without the directory, an agreed URL is taken as it is (there is nothing to check it
 * against) */
static gboolean
terms_current(const MeCaProfile *ca, const MeAcmeDirectory *dir, gboolean have_meta)
{
	if (ca->agree_tos)
		return TRUE;
	if (!have_meta)
		return ca->agreed_terms != NULL;
	return dir->terms_of_service == NULL || g_strcmp0(ca->agreed_terms, dir->terms_of_service) == 0;
}

/* one CA; @dir its directory when it was fetched, @meta_error why not when that failed */
static void
add_ca(JsonBuilder *b, const MeConfig *config, const MeCaProfile *ca, const MeAcmeDirectory *dir,
       const gchar *meta_error)
{
	g_autofree gchar *group = g_strconcat("ca ", ca->name, NULL);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, ca->name);
	json_builder_set_member_name(b, "origin");
	json_builder_add_string_value(b, origin_name(config, me_config_get_ca_origin(config, ca->name)));
	add_setting(b, config, "directory", group, "directory", FALSE);
	if (dir != NULL)
		add_meta(b, dir);
	if (meta_error != NULL) {
		json_builder_set_member_name(b, "meta_error");
		json_builder_add_string_value(b, meta_error);
	}
	add_setting(b, config, "terms_agreed", group, "agreed-terms", FALSE);
	json_builder_set_member_name(b, "terms_current");
	json_builder_add_boolean_value(b, terms_current(ca, dir, dir != NULL));
	add_setting(b, config, "eab_kid", group, "eab-kid", FALSE);
	json_builder_set_member_name(b, "eab_stored");
	json_builder_add_boolean_value(b, eab_stored(ca));
	add_setting(b, config, "key_type", group, "key-type", FALSE);
	add_setting(b, config, "key_usage", group, "key-usage", FALSE);
	add_setting(b, config, "auto_approve", group, "auto-approve", FALSE);
	add_setting(b, config, "mail_timing", group, "mail-timing", FALSE);
	add_setting(b, config, "mail_wait", group, "mail-wait", TRUE);
	json_builder_end_object(b);
}

/* @ca with its directory fetched now */
static void
add_ca_fetched(JsonBuilder *b, const MeConfig *config, const MeCaProfile *ca)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeAcmeClient) client = fetch_directory(ca->directory, ca->ca_file, &error);

	if (client == NULL) {
		g_debug("[ca %s] directory: %s", ca->name, error->message);
		add_ca(b, config, ca, NULL, error->message);
		return;
	}
	add_ca(b, config, ca, me_acme_client_get_directory(client, NULL), NULL);
}

static JsonNode *
config_to_json(const MeConfig *config, gboolean meta)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	const GPtrArray *cas = me_config_list_cas(config);
	g_auto(GStrv) key_types = me_config_dup_choices(GENERAL, "key-type");
	g_auto(GStrv) key_usages = me_config_dup_choices(GENERAL, "key-usage");

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "files");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "system");
	json_builder_add_string_value(b, me_config_get_system_path(config));
	json_builder_set_member_name(b, "user");
	json_builder_add_string_value(b, me_config_get_user_path(config));
	json_builder_end_object(b);
	/* "ca *" matches the locks that cover every CA, and no lock of one CA by name */
	json_builder_set_member_name(b, "can_add_ca");
	json_builder_add_boolean_value(b, !me_config_is_locked(config, "ca *", "directory"));
	add_setting(b, config, "default_ca", GENERAL, "default-ca", FALSE);
	add_setting(b, config, "key_type", GENERAL, "key-type", FALSE);
	add_setting(b, config, "key_usage", GENERAL, "key-usage", FALSE);
	add_setting(b, config, "auto_approve", GENERAL, "auto-approve", FALSE);
	add_strv(b, "key_types", (const gchar *const *)key_types);
	add_strv(b, "key_usages", (const gchar *const *)key_usages);
	json_builder_set_member_name(b, "cas");
	json_builder_begin_array(b);
	for (guint i = 0; i < cas->len; i++) {
		const MeCaProfile *ca = g_ptr_array_index(cas, i);
		if (meta)
			add_ca_fetched(b, config, ca);
		else
			add_ca(b, config, ca, NULL, NULL);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* {"ca": CA} for the CA @name of @config, its directory given (or fetched when %NULL) */
static JsonNode *
ca_result(const MeConfig *config, const gchar *name, const MeAcmeDirectory *dir)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	const MeCaProfile *ca = me_config_get_ca(config, name);

	/* only a file changed between the write and this load could take it away */
	if (ca == NULL)
		return NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ca");
	if (dir != NULL)
		add_ca(b, config, ca, dir, NULL);
	else
		add_ca_fetched(b, config, ca);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- the methods, in a worker thread */

static const MeCaProfile *
find_ca(const MeConfig *config, const gchar *name, GError **error)
{
	const MeCaProfile *ca = me_config_get_ca(config, name);

	if (ca != NULL)
		return ca;
	g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
		    /* TRANSLATORS: the add-on named a certificate authority the configuration does not have; %s is its name */
		    _("There is no certificate authority named “%s”; choose one of those configured, or add it."),
		    name);
	return NULL;
}

static gboolean
run_get(Call *c, GError **error)
{
	gboolean meta = TRUE;
	JsonObject *obj = NULL;
	g_autoptr(MeConfig) config = NULL;

	if (!params_object(c->params, &obj, error) || !me_host_param_bool(obj, "meta", &meta, error))
		return FALSE;
	config = me_config_load_default(error);
	if (config == NULL)
		return FALSE;
	c->result = config_to_json(config, meta);
	return TRUE;
}

/* the keys config.set writes, in both groups but default-ca */
static gboolean
settable_key(const gchar *key, gboolean in_ca)
{
	static const gchar *const keys[] = {"key-type", "key-usage", "auto-approve", "default-ca"};

	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_strcmp0(keys[i], key) == 0)
			return !in_ca || g_strcmp0(key, "default-ca") != 0;
	}
	return FALSE;
}

static gboolean
run_set(Call *c, GError **error)
{
	JsonObject *obj = NULL;
	const gchar *ca_name = NULL;
	const gchar *key = NULL;
	const gchar *value = NULL;
	gboolean has_value = FALSE;
	g_autofree gchar *group = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(MeConfig) after = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	MeConfigEdit edit;

	if (!params_object(c->params, &obj, error) || !me_host_param_string(obj, "ca", FALSE, &ca_name, NULL, error) ||
	    !me_host_param_string(obj, "key", TRUE, &key, NULL, error) ||
	    !me_host_param_string(obj, "value", FALSE, &value, &has_value, error))
		return FALSE;
	if (!has_value || !settable_key(key, ca_name != NULL)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: config.set was asked for a setting it does not change; keep the key names */
			    _("The options page can set key-type, key-usage, auto-approve and (for all certificate authorities) default-ca, each with a value or null; update the mailenroll add-on."));
		return FALSE;
	}
	config = me_config_load_default(error);
	if (config == NULL || (ca_name != NULL && find_ca(config, ca_name, error) == NULL))
		return FALSE;
	group = ca_name != NULL ? g_strconcat("ca ", ca_name, NULL) : g_strdup(GENERAL);
	edit = (MeConfigEdit){group, key, value};
	if (!me_config_write(config, &edit, 1, error))
		return FALSE;
	after = me_config_load_default(error);
	if (after == NULL)
		return FALSE;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "config");
	json_builder_add_value(b, config_to_json(after, FALSE));
	json_builder_end_object(b);
	c->result = json_builder_get_root(b);
	return TRUE;
}

/* a CA name from the directory's host: lowercase, what a name may not hold as hyphens */
static gchar *
name_from_host(const gchar *url)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	g_autofree gchar *host = uri != NULL ? g_ascii_strdown(g_uri_get_host(uri), -1) : g_strdup("ca");
	GString *name = g_string_new(NULL);

	for (const gchar *p = host; *p != '\0' && name->len < ME_CONFIG_CA_NAME_MAX - 4; p++)
		g_string_append_c(name, g_ascii_isalnum(*p) || *p == '.' || *p == '-' ? *p : '-');
	if (name->len == 0)
		g_string_append(name, "ca");
	return g_string_free(name, FALSE);
}

/* the name ca.add gives: derived from the host, the user's own CA of the same directory
 * kept, else made unique with -2, -3 ... */
static gchar *
pick_name(const MeConfig *config, const gchar *url)
{
	g_autofree gchar *base = name_from_host(url);

	for (guint n = 1; n <= ME_CONFIG_CA_MAX + 1; n++) {
		g_autofree gchar *name = n == 1 ? g_strdup(base) : g_strdup_printf("%s-%u", base, n);
		const MeCaProfile *ca = me_config_get_ca(config, name);
		if (ca == NULL)
			return g_steal_pointer(&name);
		if (g_strcmp0(ca->directory, url) == 0 &&
		    g_strcmp0(origin_name(config, me_config_get_ca_origin(config, name)), "user") == 0)
			return g_steal_pointer(&name);
	}
	return g_strdup(base);
}

static gboolean
check_add_params(const MeConfig *config, const gchar *url, const gchar *name, GError **error)
{
	if (!me_config_directory_url_is_valid(url)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the directory URL typed into the options page is not one mailenroll takes; keep the addresses */
				    _("That is not the address of an ACME directory; use the https:// address the certificate authority gives, or an http:// one on 127.0.0.1, ::1 or localhost."));
		return FALSE;
	}
	if (!me_config_ca_name_is_valid(name)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the name for a new certificate authority is not valid; %u is the longest name */
			    _("A certificate authority's name must be 1 to %u letters, digits, dots, hyphens or underscores; choose another name."),
			    ME_CONFIG_CA_NAME_MAX);
		return FALSE;
	}
	if (me_config_get_ca(config, name) != NULL &&
	    g_strcmp0(origin_name(config, me_config_get_ca_origin(config, name)), "system") == 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the name for a new certificate authority is one the administrator set up already; %s is the name */
			    _("Your administrator set up a certificate authority named “%s” already; choose another name."),
			    name);
		return FALSE;
	}
	return TRUE;
}

/* an answer that is no ACME directory is the URL's fault; the network's errors stay */
static void
explain_directory_error(GError *error)
{
	if (error->domain != ME_ERROR || (error->code != ME_ERROR_INVALID_DATA && error->code != ME_ERROR_SERVER &&
					  error->code != ME_ERROR_TOO_LARGE && error->code != ME_ERROR_ACME &&
					  error->code != ME_ERROR_NOT_FOUND))
		return;
	g_debug("not a directory: %s", error->message);
	g_free(error->message);
	error->code = ME_ERROR_INVALID_ARGUMENT;
	/* TRANSLATORS: the address typed into the options page answered, but not with an ACME directory */
	error->message = g_strdup(_("The address does not lead to an ACME directory; check the address the certificate authority gave you."));
}

/* the keyring's EAB MAC key of @ca, stored again under the new directory @url, since the
 * engine looks for it under the profile's directory: a CA that moved keeps its EAB, and no
 * key stays behind under an address no profile names. Sets @moved to the key's label once
 * it is stored under @url; the caller clears the old item once the file names @url, or the
 * new one if it could not write the file. A profile without a key in the keyring has
 * nothing to move; a keyring that cannot be read or written fails the call, before the
 * file is touched. */
static gboolean
eab_move(const MeCaProfile *ca, const gchar *url, gchar **moved, GError **error)
{
	const gchar *label = ca->eab_secret != NULL ? ca->eab_secret : ca->eab_kid;
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) key = NULL;
	g_autoptr(MeKeyringItem) item = NULL;

	if (label == NULL)
		return TRUE;
	key = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory, label, &local);
	if (key == NULL) {
		if (g_error_matches(local, ME_ERROR, ME_ERROR_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, url, label);
	if (!me_keyring_store(item, g_bytes_get_data(key, NULL), g_bytes_get_size(key), error))
		return FALSE;
	*moved = g_strdup(label);
	return TRUE;
}

static gboolean
run_ca_add(Call *c, GError **error)
{
	JsonObject *obj = NULL;
	const gchar *url = NULL;
	const gchar *given = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *group = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(MeConfig) after = NULL;
	g_autoptr(MeAcmeClient) client = NULL;
	const MeCaProfile *existing;
	g_autofree gchar *moved = NULL;
	MeConfigEdit edits[2];
	gsize n = 1;

	if (!params_object(c->params, &obj, error) || !me_host_param_string(obj, "directory", TRUE, &url, NULL, error) ||
	    !me_host_param_string(obj, "name", FALSE, &given, NULL, error))
		return FALSE;
	config = me_config_load_default(error);
	if (config == NULL)
		return FALSE;
	name = given != NULL ? g_strdup(given) : pick_name(config, url);
	if (!check_add_params(config, url, name, error))
		return FALSE;
	group = g_strconcat("ca ", name, NULL);
	edits[0] = (MeConfigEdit){group, "directory", url};
	/* refused before the CA is asked anything */
	if (!me_config_write_check_locks(config, edits, 1, error))
		return FALSE;
	existing = me_config_get_ca(config, name);
	client = fetch_directory(url, existing != NULL ? existing->ca_file : me_config_get_new_ca_file(), error);
	if (client == NULL) {
		explain_directory_error(*error);
		return FALSE;
	}
	if (me_config_get_general(config)->default_ca == NULL && !me_config_is_locked(config, GENERAL, "default-ca"))
		edits[n++] = (MeConfigEdit){GENERAL, "default-ca", name};
	if (existing != NULL && g_strcmp0(existing->directory, url) != 0 && !eab_move(existing, url, &moved, error))
		return FALSE;
	if (!me_config_write(config, edits, n, error)) {
		if (moved != NULL)
			(void)me_keyring_clear(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, url, moved, NULL);
		return FALSE;
	}
	/* the profile's key went with it to its new address */
	if (moved != NULL)
		(void)me_keyring_clear(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, existing->directory, moved, NULL);
	after = me_config_load_default(error);
	if (after == NULL)
		return FALSE;
	c->result = ca_result(after, name, me_acme_client_get_directory(client, NULL));
	return c->result != NULL || find_ca(after, name, error) != NULL;
}

static gboolean
run_ca_agree(Call *c, GError **error)
{
	JsonObject *obj = NULL;
	const gchar *name = NULL;
	const gchar *terms = NULL;
	g_autofree gchar *group = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(MeConfig) after = NULL;
	g_autoptr(MeAcmeClient) client = NULL;
	const MeAcmeDirectory *dir;
	const MeCaProfile *ca;
	MeConfigEdit edit;

	if (!params_object(c->params, &obj, error) || !me_host_param_string(obj, "ca", TRUE, &name, NULL, error) ||
	    !me_host_param_string(obj, "terms", TRUE, &terms, NULL, error))
		return FALSE;
	config = me_config_load_default(error);
	if (config == NULL || (ca = find_ca(config, name, error)) == NULL)
		return FALSE;
	group = g_strconcat("ca ", name, NULL);
	edit = (MeConfigEdit){group, "agreed-terms", terms};
	if (!me_config_write_check_locks(config, &edit, 1, error))
		return FALSE;
	client = fetch_directory(ca->directory, ca->ca_file, error);
	if (client == NULL)
		return FALSE;
	dir = me_acme_client_get_directory(client, NULL);
	if (dir->terms_of_service == NULL || g_strcmp0(dir->terms_of_service, terms) != 0) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the person agreed to terms of service the CA no longer names */
				    _("The certificate authority's terms of service have changed; read them again and agree to the terms shown now."));
		return FALSE;
	}
	if (!me_config_write(config, &edit, 1, error))
		return FALSE;
	after = me_config_load_default(error);
	if (after == NULL)
		return FALSE;
	c->result = ca_result(after, name, dir);
	return c->result != NULL || find_ca(after, name, error) != NULL;
}

/* the MAC key as the CA gave it: strict unpadded base64url of at least 16 bytes */
static GBytes *
decode_mac_key(const gchar *text, GError **error)
{
	g_autoptr(GBytes) mac = text[0] != '\0' ? me_b64u_decode_secret(text, CONFIG_EAB_TEXT_MAX, NULL) : NULL;

	if (mac != NULL && g_bytes_get_size(mac) >= CONFIG_EAB_KEY_MIN)
		return g_steal_pointer(&mac);
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: the EAB MAC key typed into the options page is not what a CA gives; keep base64url */
			    _("The MAC key is not a base64url key of at least 16 bytes (only A-Z, a-z, 0-9, - and _); enter it exactly as the certificate authority gave it."));
	return NULL;
}

/* the key in the keyring under the CA's directory and @label, then the file: a file that
 * cannot take it never gets a key that is not there */
static gboolean
store_eab(const MeConfig *config, const MeCaProfile *ca, const MeConfigEdit *edits, gsize n, GBytes *mac,
	  GError **error)
{
	g_autoptr(MeKeyringItem) item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory,
							    edits[0].value);

	if (!me_config_write_check(config, edits, n, error) ||
	    !me_keyring_store(item, g_bytes_get_data(mac, NULL), g_bytes_get_size(mac), error))
		return FALSE;
	if (me_config_write(config, edits, n, error))
		return TRUE;
	(void)me_keyring_clear(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory, edits[0].value, NULL);
	return FALSE;
}

static gboolean
run_ca_eab(Call *c, GError **error)
{
	JsonObject *obj = NULL;
	const gchar *name = NULL;
	const gchar *kid = NULL;
	const gchar *mac_text = NULL;
	g_autofree gchar *group = NULL;
	g_autofree gchar *secret = NULL;
	g_autofree gchar *old_label = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(MeConfig) after = NULL;
	g_autoptr(GBytes) mac = NULL;
	const MeCaProfile *ca;
	MeConfigEdit edits[2];

	if (!params_object(c->params, &obj, error) || !me_host_param_string(obj, "ca", TRUE, &name, NULL, error) ||
	    !me_host_param_string(obj, "kid", FALSE, &kid, NULL, error) ||
	    !me_host_param_string(obj, "mac_key", kid != NULL, &mac_text, NULL, error))
		return FALSE;
	config = me_config_load_default(error);
	if (config == NULL || (ca = find_ca(config, name, error)) == NULL)
		return FALSE;
	group = g_strconcat("ca ", name, NULL);
	/* the key's keyring label is the key ID, where the engine looks without eab-secret */
	secret = kid != NULL ? g_strconcat("keyring:", kid, NULL) : NULL;
	edits[0] = (MeConfigEdit){group, "eab-kid", kid};
	edits[1] = (MeConfigEdit){group, "eab-secret", secret};
	if (!me_config_write_check_locks(config, edits, 2, error))
		return FALSE;
	old_label = g_strdup(ca->eab_secret);
	if (kid == NULL) {
		if (!me_config_write(config, edits, 2, error))
			return FALSE;
	} else {
		mac = decode_mac_key(mac_text, error);
		/* the request's copy of the key is not needed any more: wiped where it lies */
		me_secure_wipe((gpointer)mac_text, strlen(mac_text));
		if (mac == NULL || !store_eab(config, ca, edits, 2, mac, error))
			return FALSE;
	}
	/* the key the file no longer names goes from the keyring */
	if (old_label != NULL && g_strcmp0(old_label, kid) != 0)
		(void)me_keyring_clear(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, ca->directory, old_label, NULL);
	after = me_config_load_default(error);
	if (after == NULL)
		return FALSE;
	c->result = ca_result(after, name, NULL);
	return c->result != NULL || find_ca(after, name, error) != NULL;
}

static gboolean
run_call(Call *c, GError **error)
{
	gboolean ok;

	if (c->kind == CALL_GET)
		return run_get(c, error);
	g_mutex_lock(&write_lock);
	switch (c->kind) {
	case CALL_SET:
		ok = run_set(c, error);
		break;
	case CALL_CA_ADD:
		ok = run_ca_add(c, error);
		break;
	case CALL_CA_AGREE:
		ok = run_ca_agree(c, error);
		break;
	case CALL_CA_EAB:
	default:
		ok = run_ca_eab(c, error);
		break;
	}
	g_mutex_unlock(&write_lock);
	return ok;
}

static void
call_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	Call *c = data;
	GError *error = NULL;

	(void)source;
	(void)cancellable;
	if (run_call(c, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

static void
call_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Call *c = g_task_get_task_data(G_TASK(res));
	g_autoptr(GError) error = NULL;

	(void)source;
	(void)user_data;
	calls_running--;
	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		me_rpc_call_return_error(c->call, error);
		return;
	}
	me_rpc_call_return(c->call, g_steal_pointer(&c->result));
}

static void
config_method_cb(MeRpcServer *server, JsonNode *params, MeRpcCall *call, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	Call *c;

	(void)server;
	if (calls_running >= CONFIG_CALLS_MAX) {
		g_autoptr(GError) error = g_error_new(ME_ERROR, ME_ERROR_BUSY,
						      /* TRANSLATORS: the mail client sent more requests than the helper takes at once; %u is that number */
						      _("The helper is already working on %u requests; wait for their answers, then try again."),
						      (guint)CONFIG_CALLS_MAX);
		me_rpc_call_return_error(call, error);
		return;
	}
	c = g_new0(Call, 1);
	c->kind = (CallKind)GPOINTER_TO_INT(user_data);
	c->call = call;
	c->params = params != NULL ? json_node_ref(params) : NULL;
	task = g_task_new(NULL, NULL, call_done, NULL);
	g_task_set_task_data(task, c, (GDestroyNotify)call_free);
	calls_running++;
	g_task_run_in_thread(task, call_thread);
}

/**
 * me_host_config_register_methods:
 * @server: the helper's JSON-RPC server
 *
 * Adds `config.get`, `config.set`, `ca.add`, `ca.agree` and `ca.eab`.
 */
void
me_host_config_register_methods(MeRpcServer *server)
{
	static const struct {
		const gchar *name;
		CallKind kind;
	} methods[] = {
		{ "config.get", CALL_GET },	  { "config.set", CALL_SET }, { "ca.add", CALL_CA_ADD },
		{ "ca.agree", CALL_CA_AGREE }, { "ca.eab", CALL_CA_EAB },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(methods); i++)
		me_rpc_server_add_method(server, methods[i].name, config_method_cb, GINT_TO_POINTER(methods[i].kind),
					 NULL);
}
