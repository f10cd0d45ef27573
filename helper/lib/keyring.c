/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeKeyring"

#include "config.h"

#include "keyring.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "dl.h"

/* the only file that talks to libsecret: every secret of mailenroll lives in the Secret
 * Service (GNOME Keyring, KWallet), never in a file, and no error of libsecret, GDBus or
 * GIO leaves this file unconverted */

/* libsecret is loaded on first use (dl.c): every function of it this file calls is in this
 * list and is called as sym_NAME(); its macros that call a function (SECRET_ERROR,
 * SECRET_IS_ITEM ...) are spelled out with the pointers.  The build does not link libsecret,
 * so a function called by its own name fails to link (CONTRIBUTING.md) */
#define KEYRING_SYMBOLS(X)                                                                                             \
	X(secret_error_get_quark)                                                                                      \
	X(secret_item_get_locked)                                                                                      \
	X(secret_item_get_type)                                                                                        \
	X(secret_item_set_attributes_sync)                                                                             \
	X(secret_item_set_label_sync)                                                                                  \
	X(secret_password_clearv_sync)                                                                                 \
	X(secret_password_free)                                                                                        \
	X(secret_password_lookupv_binary_sync)                                                                         \
	X(secret_password_lookupv_nonpageable_sync)                                                                    \
	X(secret_password_searchv_sync)                                                                                \
	X(secret_password_storev_binary_sync)                                                                          \
	X(secret_retrievable_get_attributes)                                                                           \
	X(secret_retrievable_get_created)                                                                              \
	X(secret_retrievable_get_label)                                                                                \
	X(secret_retrievable_get_type)                                                                                 \
	X(secret_value_get)                                                                                            \
	X(secret_value_new)                                                                                            \
	X(secret_value_unref)

KEYRING_SYMBOLS(ME_DL_DECLARE)

static gboolean
keyring_load(GError **error)
{
	static const MeDlSymbol symbols[] = {KEYRING_SYMBOLS(ME_DL_ROW)};

	return me_dl_load(ME_DL_LIBRARY_SECRET, symbols, G_N_ELEMENTS(symbols), error);
}

/* libsecret's own g_autoptr(SecretValue) would call secret_value_unref() by name */
typedef SecretValue KeyringValue;

static void
keyring_value_unref(KeyringValue *value)
{
	sym_secret_value_unref(value);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(KeyringValue, keyring_value_unref)

#define ME_KEYRING_STATE_CURRENT    "current"
#define ME_KEYRING_STATE_SUPERSEDED "superseded"

static const SecretSchema me_keyring_schema = {
    "org.mailenroll.Secret",
    SECRET_SCHEMA_NONE,
    {
	{"kind", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"mailbox", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"ca", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"fingerprint", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"state", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{NULL, 0},
    },
    0,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static const gchar *const me_keyring_kinds[] = {
    [ME_KEYRING_KIND_ACCOUNT_KEY] = "account-key",
    [ME_KEYRING_KIND_CERTIFICATE_KEY] = "certificate-key",
    [ME_KEYRING_KIND_EAB_MAC_KEY] = "eab-mac-key",
    [ME_KEYRING_KIND_DKIM_KEY] = "dkim-key",
    [ME_KEYRING_KIND_SMTP_PASSWORD] = "smtp-password",
};

/**
 * me_keyring_kind_to_string:
 * @kind: a kind of keyring item
 *
 * Returns: (nullable): the `kind` attribute stored for @kind, e.g. `certificate-key`, or
 *   %NULL for %ME_KEYRING_KIND_UNKNOWN
 */
const gchar *
me_keyring_kind_to_string(MeKeyringKind kind)
{
	if (kind <= ME_KEYRING_KIND_UNKNOWN || kind > ME_KEYRING_KIND_SMTP_PASSWORD)
		return NULL;
	return me_keyring_kinds[kind];
}

/**
 * me_keyring_kind_from_string:
 * @text: (nullable): a `kind` attribute
 *
 * Returns: the kind, or %ME_KEYRING_KIND_UNKNOWN
 */
MeKeyringKind
me_keyring_kind_from_string(const gchar *text)
{
	if (text == NULL)
		return ME_KEYRING_KIND_UNKNOWN;
	for (guint i = ME_KEYRING_KIND_ACCOUNT_KEY; i <= ME_KEYRING_KIND_SMTP_PASSWORD; i++) {
		if (g_strcmp0(text, me_keyring_kinds[i]) == 0)
			return (MeKeyringKind)i;
	}
	return ME_KEYRING_KIND_UNKNOWN;
}

/**
 * me_keyring_item_new:
 * @kind: what the item holds
 * @mailbox: (nullable): the mailbox, or %NULL
 * @ca: (nullable): the CA directory URL, or %NULL
 * @fingerprint: (nullable): hex SHA-256 of the public key, or %NULL
 *
 * Returns: (transfer full): the attributes of a current (not superseded) item
 */
MeKeyringItem *
me_keyring_item_new(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint)
{
	MeKeyringItem *item = g_new0(MeKeyringItem, 1);
	item->kind = kind;
	item->mailbox = g_strdup(mailbox);
	item->ca = g_strdup(ca);
	item->fingerprint = g_strdup(fingerprint);
	return item;
}

/**
 * me_keyring_item_free:
 * @item: (nullable): item attributes
 *
 * Frees @item.
 */
void
me_keyring_item_free(MeKeyringItem *item)
{
	if (item == NULL)
		return;
	g_free(item->mailbox);
	g_free(item->ca);
	g_free(item->fingerprint);
	g_free(item->label);
	g_free(item);
}

static gboolean
keyring_kind_is_binary(MeKeyringKind kind)
{
	return kind == ME_KEYRING_KIND_EAB_MAC_KEY;
}

static void
keyring_set_locked_error(GError **error)
{
	g_set_error_literal(error,
			    ME_ERROR,
			    ME_ERROR_LOCKED,
			    /* TRANSLATORS: the Secret Service keyring is locked and no unlock prompt could be shown */
			    _("The keyring is locked; unlock it (for example by logging in to the desktop) and try again."));
}

static void
keyring_set_no_service_error(GError **error)
{
	g_set_error_literal(error,
			    ME_ERROR,
			    ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: no Secret Service provider (GNOME Keyring, KWallet) answers on D-Bus */
			    _("No keyring service (Secret Service) is running; start GNOME Keyring or KWallet and try again."));
}

static void
keyring_set_not_found_error(GError **error, MeKeyringKind kind)
{
	g_set_error(error,
		    ME_ERROR,
		    ME_ERROR_NOT_FOUND,
		    /* TRANSLATORS: a key or password is not in the keyring; %s is its kind, e.g. “certificate-key” */
		    _("No %s for this account is in the keyring; enroll again to create it."),
		    me_keyring_kind_to_string(kind));
}

static gboolean
keyring_error_is_no_service(const GError *err)
{
	if (err->domain == G_DBUS_ERROR) {
		switch (err->code) {
		case G_DBUS_ERROR_SERVICE_UNKNOWN:
		case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
		case G_DBUS_ERROR_NO_SERVER:
		case G_DBUS_ERROR_DISCONNECTED:
		case G_DBUS_ERROR_FILE_NOT_FOUND:
		case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
		case G_DBUS_ERROR_SPAWN_FORK_FAILED:
		case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
		case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
		case G_DBUS_ERROR_SPAWN_FAILED:
		case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
		case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
		case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
		case G_DBUS_ERROR_SPAWN_FILE_INVALID:
		case G_DBUS_ERROR_SPAWN_NO_MEMORY:
		case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
		case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
			return TRUE;
		default:
			return FALSE;
		}
	}
	/* from connecting to the session bus: no socket, refused, no bus address, closed */
	if (err->domain == G_IO_ERROR)
		return !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
		       !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	return FALSE;
}

/* replaces a libsecret, GDBus or GIO error with an ME_ERROR one a person can act on */
static void
keyring_convert_error(GError **error, GError *err, MeKeyringKind kind)
{
	g_autoptr(GError) owned = err;

	g_debug("keyring error: %s (%s, %d)", err->message, g_quark_to_string(err->domain), err->code);
	if (err->domain == ME_ERROR) {
		g_propagate_error(error, g_steal_pointer(&owned));
		return;
	}
	if (g_error_matches(err, sym_secret_error_get_quark(), SECRET_ERROR_IS_LOCKED) ||
	    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		/* a dismissed or impossible unlock prompt */
		keyring_set_locked_error(error);
		return;
	}
	if (g_error_matches(err, sym_secret_error_get_quark(), SECRET_ERROR_NO_SUCH_OBJECT)) {
		keyring_set_not_found_error(error, kind);
		return;
	}
	if (g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
	    g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)) {
		/* gnome-keyring says this when the `default` alias names a collection that is gone */
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: the Secret Service has no default keyring (collection) to store into */
				    _("The keyring service has no default keyring; create one (for example in Passwords and Keys) and try again."));
		return;
	}
	if (keyring_error_is_no_service(err)) {
		keyring_set_no_service_error(error);
		return;
	}
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
	    g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
	    g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
	    g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_TIMED_OUT,
				    /* TRANSLATORS: the Secret Service did not answer in time */
				    _("The keyring service did not answer; restart GNOME Keyring or KWallet and try again."));
		return;
	}
	g_set_error(error,
		    ME_ERROR,
		    ME_ERROR_FAILED,
		    /* TRANSLATORS: the Secret Service failed; %s is its technical message */
		    _("The keyring service failed (%s); check that GNOME Keyring or KWallet works and try again."),
		    err->message);
}

static GHashTable *
keyring_attributes_new(MeKeyringKind kind, const gchar *mailbox, const gchar *ca)
{
	GHashTable *attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(attrs, (gpointer) "kind", (gpointer)me_keyring_kind_to_string(kind));
	g_hash_table_insert(attrs, (gpointer) "mailbox", (gpointer)(mailbox != NULL ? mailbox : ""));
	g_hash_table_insert(attrs, (gpointer) "ca", (gpointer)(ca != NULL ? ca : ""));
	return attrs;
}

/* the attributes that pick one item: the current one, or the one with @fingerprint */
static GHashTable *
keyring_attributes_for_lookup(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint)
{
	GHashTable *attrs = keyring_attributes_new(kind, mailbox, ca);
	if (fingerprint != NULL)
		g_hash_table_insert(attrs, (gpointer) "fingerprint", (gpointer)fingerprint);
	else
		g_hash_table_insert(attrs, (gpointer) "state", (gpointer)ME_KEYRING_STATE_CURRENT);
	return attrs;
}

static gboolean
keyring_check_kind(MeKeyringKind kind, GError **error)
{
	if (me_keyring_kind_to_string(kind) != NULL)
		return TRUE;
	g_set_error_literal(error,
			    ME_ERROR,
			    ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: an internal error: a keyring item of an unknown kind was asked for */
			    _("The kind of keyring item is not known; report this as a bug."));
	return FALSE;
}

static gchar *
keyring_make_label(const MeKeyringItem *item)
{
	const gchar *mailbox = item->mailbox != NULL ? item->mailbox : "";
	const gchar *ca = item->ca != NULL ? item->ca : "";
	const gchar *suffix = item->superseded ? " (superseded)" : "";

	/* labels are shown by Seahorse and KWalletManager; kept in English like the attributes */
	switch (item->kind) {
	case ME_KEYRING_KIND_ACCOUNT_KEY:
		return g_strdup_printf("mailenroll: ACME account key for %s%s", ca, suffix);
	case ME_KEYRING_KIND_CERTIFICATE_KEY:
		return g_strdup_printf("mailenroll: S/MIME key for %s%s", mailbox, suffix);
	case ME_KEYRING_KIND_EAB_MAC_KEY:
		return g_strdup_printf("mailenroll: External Account Binding key for %s", ca);
	case ME_KEYRING_KIND_DKIM_KEY:
		/* provisioned by label (mailenroll provision dkim LABEL) */
		if (item->mailbox == NULL && item->fingerprint != NULL)
			return g_strdup_printf("mailenroll: DKIM key %s", item->fingerprint);
		return g_strdup_printf("mailenroll: DKIM key for %s%s", mailbox, suffix);
	case ME_KEYRING_KIND_SMTP_PASSWORD:
		return g_strdup_printf("mailenroll: SMTP password for %s", mailbox);
	case ME_KEYRING_KIND_UNKNOWN:
	default:
		return g_strdup("mailenroll");
	}
}

/* TRUE if an item matching @attrs exists but is locked, so a lookup that found nothing
 * was stopped by the lock (a dismissed or impossible prompt) rather than a missing item */
static gboolean
keyring_match_is_locked(GHashTable *attrs)
{
	g_autoptr(GError) error_local = NULL;
	GList *items = sym_secret_password_searchv_sync(&me_keyring_schema, attrs, SECRET_SEARCH_ALL, NULL, &error_local);
	gboolean locked = FALSE;

	for (GList *l = items; l != NULL; l = l->next) {
		if (G_TYPE_CHECK_INSTANCE_TYPE(l->data, sym_secret_item_get_type()) &&
		    sym_secret_item_get_locked((SecretItem *)l->data))
			locked = TRUE;
	}
	g_list_free_full(items, g_object_unref);
	return locked;
}

/**
 * me_keyring_store:
 * @item: the attributes of the item; @item->label is ignored
 * @secret: the secret: PEM or a password (UTF-8, no NUL) or, for
 *   %ME_KEYRING_KIND_EAB_MAC_KEY, raw bytes
 * @len: the size of @secret in bytes
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Stores @secret in the default collection of the Secret Service, replacing an item with
 * the same attributes.  Items with another fingerprint are left alone: once a new key is
 * stored, call me_keyring_mark_superseded() (or me_keyring_clear()) for the old one so
 * that only one item is current.  If the collection is locked, libsecret asks the
 * desktop to unlock it; without a desktop this fails.
 *
 * Returns: %TRUE on success
 */
gboolean
me_keyring_store(const MeKeyringItem *item, gconstpointer secret, gsize len, GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	g_autoptr(KeyringValue) value = NULL;
	g_autofree gchar *label = NULL;
	GError *error_local = NULL;
	const gchar *content_type = "text/plain";

	g_return_val_if_fail(item != NULL, FALSE);
	g_return_val_if_fail(secret != NULL || len == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!keyring_check_kind(item->kind, error))
		return FALSE;
	if (!keyring_load(error))
		return FALSE;
	if (len == 0) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a password or key to be stored is empty */
				    _("The secret to store is empty; enter it again."));
		return FALSE;
	}
	if (keyring_kind_is_binary(item->kind)) {
		content_type = "application/octet-stream";
	} else if (memchr(secret, '\0', len) != NULL || !g_utf8_validate(secret, (gssize)len, NULL)) {
		/* libsecret's password lookups return text only */
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a password or PEM key to be stored is not valid UTF-8 text */
				    _("The secret to store is not text; enter it again."));
		return FALSE;
	}

	attrs = keyring_attributes_new(item->kind, item->mailbox, item->ca);
	g_hash_table_insert(attrs, (gpointer) "fingerprint", (gpointer)(item->fingerprint != NULL ? item->fingerprint : ""));
	g_hash_table_insert(attrs,
			    (gpointer) "state",
			    (gpointer)(item->superseded ? ME_KEYRING_STATE_SUPERSEDED : ME_KEYRING_STATE_CURRENT));
	label = keyring_make_label(item);

	/* secret_value_new() copies into libsecret's locked, wiped memory */
	value = sym_secret_value_new(secret, (gssize)len, content_type);
	if (!sym_secret_password_storev_binary_sync(&me_keyring_schema,
						    attrs,
						    SECRET_COLLECTION_DEFAULT,
						    label,
						    value,
						    NULL,
						    &error_local)) {
		if (error_local == NULL) {
			/* the unlock prompt was dismissed or could not be shown */
			keyring_set_locked_error(error);
			return FALSE;
		}
		keyring_convert_error(error, error_local, item->kind);
		return FALSE;
	}

	/* success */
	return TRUE;
}

/**
 * me_keyring_lookup:
 * @kind: a text kind (every kind but %ME_KEYRING_KIND_EAB_MAC_KEY)
 * @mailbox: (nullable): the mailbox, %NULL for none
 * @ca: (nullable): the CA directory URL, %NULL for none
 * @fingerprint: (nullable): the fingerprint of the wanted key, current or superseded;
 *   %NULL for the current item
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Fetches a secret with libsecret's nonpageable lookup.  %ME_ERROR_NOT_FOUND when there
 * is no such item; %ME_ERROR_LOCKED when the keyring is locked and could
 * not be unlocked; %ME_ERROR_NOT_SUPPORTED when no Secret Service runs.
 *
 * Returns: (transfer full) (nullable): the secret, wiped when freed with
 *   me_secret_str_free()
 */
MeSecretStr *
me_keyring_lookup(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint, GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	GError *error_local = NULL;
	gchar *password;
	MeSecretStr *result;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!keyring_check_kind(kind, error))
		return NULL;
	if (!keyring_load(error))
		return NULL;
	if (keyring_kind_is_binary(kind)) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: an internal error: binary key material was asked for as text */
				    _("This keyring item holds binary data, not text; report this as a bug."));
		return NULL;
	}
	attrs = keyring_attributes_for_lookup(kind, mailbox, ca, fingerprint);
	password = sym_secret_password_lookupv_nonpageable_sync(&me_keyring_schema, attrs, NULL, &error_local);
	if (error_local != NULL) {
		keyring_convert_error(error, error_local, kind);
		return NULL;
	}
	if (password == NULL) {
		if (keyring_match_is_locked(attrs))
			keyring_set_locked_error(error);
		else
			keyring_set_not_found_error(error, kind);
		return NULL;
	}
	result = g_strdup(password);
	sym_secret_password_free(password);
	return result;
}

/**
 * me_keyring_lookup_bytes:
 * @kind: any kind
 * @mailbox: (nullable): the mailbox, %NULL for none
 * @ca: (nullable): the CA directory URL, %NULL for none
 * @fingerprint: (nullable): the fingerprint of the wanted item; %NULL for the current one
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Like me_keyring_lookup(), for binary secrets such as the EAB MAC key.
 *
 * Returns: (transfer full) (nullable): the secret, in a #GBytes that wipes it when freed
 */
GBytes *
me_keyring_lookup_bytes(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint, GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	g_autoptr(KeyringValue) value = NULL;
	GError *error_local = NULL;
	const gchar *data;
	gsize len = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!keyring_check_kind(kind, error))
		return NULL;
	if (!keyring_load(error))
		return NULL;
	attrs = keyring_attributes_for_lookup(kind, mailbox, ca, fingerprint);
	/* the value is decrypted into libsecret's nonpageable memory */
	value = sym_secret_password_lookupv_binary_sync(&me_keyring_schema, attrs, NULL, &error_local);
	if (error_local != NULL) {
		keyring_convert_error(error, error_local, kind);
		return NULL;
	}
	if (value == NULL) {
		if (keyring_match_is_locked(attrs))
			keyring_set_locked_error(error);
		else
			keyring_set_not_found_error(error, kind);
		return NULL;
	}
	data = sym_secret_value_get(value, &len);
	return me_secure_bytes_new(data, len);
}

/**
 * me_keyring_mark_superseded:
 * @kind: what the item holds
 * @mailbox: (nullable): the mailbox, %NULL for none
 * @ca: (nullable): the CA directory URL, %NULL for none
 * @fingerprint: the fingerprint of the old key
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Sets the `state` of the item with @fingerprint to `superseded` and notes it in the
 * label.  The secret is kept: an old certificate key still decrypts mail sent to the old
 * certificate, and me_keyring_lookup() with @fingerprint still finds it.
 *
 * Returns: %TRUE on success; %ME_ERROR_NOT_FOUND if there is no such item
 */
gboolean
me_keyring_mark_superseded(MeKeyringKind kind,
			   const gchar *mailbox,
			   const gchar *ca,
			   const gchar *fingerprint,
			   GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	g_autoptr(MeKeyringItem) desc = NULL;
	g_autofree gchar *label = NULL;
	GError *error_local = NULL;
	GList *items;
	gboolean ok = TRUE;

	g_return_val_if_fail(fingerprint != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!keyring_check_kind(kind, error))
		return FALSE;
	if (!keyring_load(error))
		return FALSE;
	attrs = keyring_attributes_for_lookup(kind, mailbox, ca, fingerprint);
	items = sym_secret_password_searchv_sync(&me_keyring_schema,
						 attrs,
						 SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
						 NULL,
						 &error_local);
	if (error_local != NULL) {
		keyring_convert_error(error, error_local, kind);
		return FALSE;
	}
	if (items == NULL) {
		keyring_set_not_found_error(error, kind);
		return FALSE;
	}

	desc = me_keyring_item_new(kind, mailbox, ca, fingerprint);
	desc->superseded = TRUE;
	label = keyring_make_label(desc);
	g_hash_table_insert(attrs, (gpointer) "state", (gpointer)ME_KEYRING_STATE_SUPERSEDED);
	for (GList *l = items; l != NULL && ok; l = l->next) {
		SecretItem *item;
		if (!G_TYPE_CHECK_INSTANCE_TYPE(l->data, sym_secret_item_get_type()))
			continue;
		item = (SecretItem *)l->data;
		if (sym_secret_item_get_locked(item)) {
			/* SECRET_SEARCH_UNLOCK could not unlock it: a dismissed prompt */
			keyring_set_locked_error(error);
			ok = FALSE;
		} else if (!sym_secret_item_set_attributes_sync(item, &me_keyring_schema, attrs, NULL, &error_local) ||
			   !sym_secret_item_set_label_sync(item, label, NULL, &error_local)) {
			keyring_convert_error(error, error_local, kind);
			ok = FALSE;
		}
	}
	g_list_free_full(items, g_object_unref);
	return ok;
}

/**
 * me_keyring_clear:
 * @kind: what the items hold
 * @mailbox: (nullable): the mailbox, %NULL for none
 * @ca: (nullable): the CA directory URL, %NULL for none
 * @fingerprint: (nullable): the fingerprint of the one item to remove; %NULL removes
 *   every item (current and superseded) of @kind for @mailbox and @ca
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Deletes items from the keyring.  Removing items that do not exist is not an error.
 *
 * Returns: %TRUE on success
 */
gboolean
me_keyring_clear(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint, GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	GError *error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!keyring_check_kind(kind, error))
		return FALSE;
	if (!keyring_load(error))
		return FALSE;
	attrs = keyring_attributes_new(kind, mailbox, ca);
	if (fingerprint != NULL)
		g_hash_table_insert(attrs, (gpointer) "fingerprint", (gpointer)fingerprint);
	/* clears every match; FALSE without an error only means there was nothing to clear */
	if (!sym_secret_password_clearv_sync(&me_keyring_schema, attrs, NULL, &error_local) && error_local != NULL) {
		keyring_convert_error(error, error_local, kind);
		return FALSE;
	}
	if (keyring_match_is_locked(attrs)) {
		/* still there: the unlock prompt was dismissed */
		keyring_set_locked_error(error);
		return FALSE;
	}

	/* success */
	return TRUE;
}

static MeKeyringItem *
keyring_item_from_retrievable(SecretRetrievable *retrievable)
{
	g_autoptr(GHashTable) attrs = sym_secret_retrievable_get_attributes(retrievable);
	MeKeyringItem *item = g_new0(MeKeyringItem, 1);
	const gchar *value;

	item->kind = me_keyring_kind_from_string(g_hash_table_lookup(attrs, "kind"));
	value = g_hash_table_lookup(attrs, "mailbox");
	item->mailbox = value != NULL && value[0] != '\0' ? g_strdup(value) : NULL;
	value = g_hash_table_lookup(attrs, "ca");
	item->ca = value != NULL && value[0] != '\0' ? g_strdup(value) : NULL;
	value = g_hash_table_lookup(attrs, "fingerprint");
	item->fingerprint = value != NULL && value[0] != '\0' ? g_strdup(value) : NULL;
	item->superseded = g_strcmp0(g_hash_table_lookup(attrs, "state"), ME_KEYRING_STATE_SUPERSEDED) == 0;
	item->label = sym_secret_retrievable_get_label(retrievable);
	item->created = sym_secret_retrievable_get_created(retrievable);
	return item;
}

/**
 * me_keyring_list:
 * @kind: what the items hold
 * @mailbox: (nullable): only items of this mailbox; %NULL for every mailbox
 * @ca: (nullable): only items of this CA; %NULL for every CA
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Lists items (current and superseded) without fetching any secret, so this needs no
 * unlock prompt.
 *
 * Returns: (transfer full) (element-type MeKeyringItem): the items, possibly none
 */
GPtrArray *
me_keyring_list(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, GError **error)
{
	g_autoptr(GHashTable) attrs = NULL;
	GError *error_local = NULL;
	GPtrArray *result;
	GList *items;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!keyring_check_kind(kind, error))
		return NULL;
	if (!keyring_load(error))
		return NULL;
	attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(attrs, (gpointer) "kind", (gpointer)me_keyring_kind_to_string(kind));
	if (mailbox != NULL)
		g_hash_table_insert(attrs, (gpointer) "mailbox", (gpointer)mailbox);
	if (ca != NULL)
		g_hash_table_insert(attrs, (gpointer) "ca", (gpointer)ca);
	/* no SECRET_SEARCH_LOAD_SECRETS: attributes only */
	items = sym_secret_password_searchv_sync(&me_keyring_schema, attrs, SECRET_SEARCH_ALL, NULL, &error_local);
	if (error_local != NULL) {
		keyring_convert_error(error, error_local, kind);
		return NULL;
	}
	result = g_ptr_array_new_with_free_func((GDestroyNotify)me_keyring_item_free);
	for (GList *l = items; l != NULL; l = l->next)
		g_ptr_array_add(result, keyring_item_from_retrievable((SecretRetrievable *)l->data));
	g_list_free_full(items, g_object_unref);
	return result;
}
