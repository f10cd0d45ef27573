/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeConfig"

#include "config.h"

#include "me-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "smime.h"

/*
 * How the two files combine:
 *
 *  - each file is read on its own (bounded, UTF-8, key-file syntax) and every value in it
 *    is checked as it is applied, so a bad value is an error even where another file
 *    overrides it; an unknown group or key is only a diagnostic (forward compatibility);
 *  - the system file is applied first, then the user's; a user value replaces the system
 *    value key by key, lists included, unless [policy] locked in the system file names
 *    the key, in which case it is dropped with a diagnostic (and never checked);
 *  - a [ca NAME] group present only in the user file adds a CA, unless its directory is
 *    locked (`*`, `ca * / *`, `ca * /directory`, `ca NAME / *` ...);
 *  - only then are CA values resolved against [general] (key-type, key-usage,
 *    auto-approve and trust-ca fall back to it) and the checks that look at several keys
 *    made, each naming the file that set the offending value.
 */

/* the longest path the environment may name */
#define CONFIG_ENV_PATH_MAX 4096
/* the longest value shown in a message; the rest is cut */
#define CONFIG_DISPLAY_MAX 64
/* the longest user name for [smtp] */
#define CONFIG_USERNAME_MAX 256
/* the longest EAB key identifier */
#define CONFIG_KID_MAX 256
/* an RFC 5321 path and an RFC 8601 authserv-id are shorter than this */
#define CONFIG_ADDRESS_MAX 254
/* RFC 1035 §2.3.4 */
#define CONFIG_HOST_MAX	 253
#define CONFIG_LABEL_MAX 63

#define GROUP_GENERAL_NAME "general"
#define GROUP_SMTP_NAME	   "smtp"
#define GROUP_POLICY_NAME  "policy"
#define GROUP_CA_PREFIX	   "ca "
#define LOCK_ANY_CA	   "ca *"
#define KEYRING_PREFIX	   "keyring:"

typedef enum {
	GROUP_GENERAL,
	GROUP_CA,
	GROUP_SMTP,
	GROUP_POLICY,
	GROUP_UNKNOWN,
	GROUP_BAD_CA,
} GroupKind;

typedef enum {
	KIND_CHOICE,   /* one word of a list, stored as a gint-sized enum */
	KIND_BOOL,     /* true or false, stored as gboolean */
	KIND_UINT,     /* a whole number in [min, max], stored as guint */
	KIND_FRACTION, /* 0 < x < 1, stored as gdouble */
	KIND_TEXT,     /* a string that @check accepts, stored as gchar * */
	KIND_LIST,     /* ;-separated strings that @check accepts, stored as GStrv */
	KIND_FLAGS,    /* ;-separated words of @choice, their values or-ed into a gint-sized bit set;
			* a word it does not know is a diagnostic, as an unknown key is */
	KIND_KEYRING,  /* `keyring:LABEL`, stored as the LABEL */
} ValueKind;

typedef struct {
	/* NULL-terminated, in the order messages list them */
	const gchar *names[8];
	/* the enum value of a name in @names, or -1; NULL: the index in @names */
	gint (*parse)(const gchar *text);
} Choice;

typedef struct {
	GroupKind group;
	const gchar *key;
	ValueKind kind;
	/* into MeConfigGeneral, MeCaProfile or MeConfigSmtp */
	gsize offset;
	const Choice *choice;
	guint min;
	guint max;
	gboolean (*check)(const gchar *value);
	/* what to use instead, a clause after a semicolon (N_()) */
	const gchar *hint;
	/* a CA key whose value falls back to the [general] key of the same name */
	gboolean inherit;
} KeyDesc;

/* one [ca NAME] group; @profile first, so the list can hand out MeCaProfile pointers */
typedef struct {
	MeCaProfile profile;
	/* bits of the keys[] entries a file set */
	guint64 set;
	/* the first file that had the group */
	const gchar *origin;
} CaEntry;

struct _MeConfig {
	gchar *system_path;
	gchar *user_path;
	MeConfigGeneral general;
	MeConfigSmtp smtp;
	/* bits of the [general] and [smtp] keys[] entries a file set */
	guint64 set;
	/* element-type CaEntry, in file order */
	GPtrArray *cas;
	/* `group/key`, `group/ *` and `*` entries of the system file's [policy] locked */
	GPtrArray *locks;
	GPtrArray *diagnostics;
	gboolean diagnostics_full;
	/* "group\037key" -> the path of the file that set it (system_path or user_path) */
	GHashTable *origins;
	gchar *state_dir;
};

/* every stored enum is written through a gint pointer */
G_STATIC_ASSERT(sizeof(MeKeyType) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeKeyUsage) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeTokenJoin) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeConfigReplyMethod) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeConfigAutoApprove) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeConfigStore) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeConfigMailTiming) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeConfigSmtpSecurity) == sizeof(gint));
G_STATIC_ASSERT(sizeof(MeChallengeQuirks) == sizeof(gint));
G_STATIC_ASSERT(sizeof(gboolean) == sizeof(gint));

/* ---- choices */

static gint
parse_key_type(const gchar *text)
{
	MeKeyType type = me_key_type_from_string(text);
	return type == ME_KEY_TYPE_UNKNOWN ? -1 : (gint)type;
}

static gint
parse_key_usage(const gchar *text)
{
	MeKeyUsage usage = me_key_usage_from_string(text);
	return usage == ME_KEY_USAGE_UNKNOWN ? -1 : (gint)usage;
}

static gint
parse_token_join(const gchar *text)
{
	MeTokenJoin join = ME_TOKEN_JOIN_STRING;
	return me_token_join_from_string(text, &join) ? (gint)join : -1;
}

/* a quirk's bit, for KIND_FLAGS */
static gint
parse_quirk(const gchar *text)
{
	MeChallengeQuirks quirk;
	return me_challenge_quirk_from_nick(text, &quirk) ? (gint)quirk : -1;
}

static const Choice choice_key_type = {{"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", NULL},
				       parse_key_type};
static const Choice choice_key_usage = {{"signing", "encryption", "dual", NULL}, parse_key_usage};
static const Choice choice_token_join = {{"string", "binary", NULL}, parse_token_join};
/* the index of each name is its enum value */
static const Choice choice_reply_method = {{"print", "file", "smtp", NULL}, NULL};
static const Choice choice_auto_approve = {{"never", "verified", NULL}, NULL};
static const Choice choice_store = {{"thunderbird", "nssdb", "pkcs12", NULL}, NULL};
static const Choice choice_mail_timing = {{"authz", "challenge", "detect", NULL}, NULL};
static const Choice choice_smtp_security = {{"starttls", "tls", "none", NULL}, NULL};
static const Choice choice_quirks = {{ME_CHALLENGE_QUIRK_NAME_MISSING_AUTO_SUBMITTED, NULL}, parse_quirk};

static gint
choice_parse(const Choice *choice, const gchar *text)
{
	for (guint i = 0; choice->names[i] != NULL; i++) {
		if (g_strcmp0(choice->names[i], text) == 0)
			return choice->parse != NULL ? choice->parse(text) : (gint)i;
	}
	return -1;
}

static gchar *
choice_list(const Choice *choice)
{
	return g_strjoinv(", ", (gchar **)choice->names);
}

/* ---- syntax checks */

static gboolean
has_control(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f)
			return TRUE;
	}
	return FALSE;
}

static gboolean
is_ascii_graph(const gchar *text, gsize max)
{
	gsize len = strlen(text);

	if (len == 0 || len > max)
		return FALSE;
	for (const gchar *p = text; *p != '\0'; p++) {
		if (!g_ascii_isgraph(*p))
			return FALSE;
	}
	return TRUE;
}

/* a DNS label of letters, digits and hyphens (and underscores if @underscore) */
static gboolean
is_label(const gchar *label, gsize len, gboolean underscore)
{
	if (len == 0 || len > CONFIG_LABEL_MAX || label[0] == '-' || label[len - 1] == '-')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(label[i]) && label[i] != '-' && !(underscore && label[i] == '_'))
			return FALSE;
	}
	return TRUE;
}

static gboolean
is_dotted_name(const gchar *name, gboolean underscore)
{
	const gchar *start = name;
	gsize len = strlen(name);

	if (len == 0 || len > CONFIG_HOST_MAX)
		return FALSE;
	for (const gchar *p = name;; p++) {
		if (*p != '.' && *p != '\0')
			continue;
		if (!is_label(start, (gsize)(p - start), underscore))
			return FALSE;
		if (*p == '\0')
			return TRUE;
		start = p + 1;
	}
}

/* a host name; a last label of digits only would be a mistyped IPv4 address */
static gboolean
is_hostname(const gchar *name)
{
	const gchar *last;

	if (!is_dotted_name(name, FALSE))
		return FALSE;
	last = strrchr(name, '.');
	last = last != NULL ? last + 1 : name;
	for (const gchar *p = last; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p))
			return TRUE;
	}
	return FALSE;
}

static gboolean
is_host(const gchar *host)
{
	return g_hostname_is_ip_address(host) || is_hostname(host);
}

static gboolean
is_loopback(const gchar *host)
{
	return g_strcmp0(host, "127.0.0.1") == 0 || g_strcmp0(host, "::1") == 0 ||
	       g_ascii_strcasecmp(host, "localhost") == 0;
}

static gboolean
check_ca_name(const gchar *name)
{
	gsize len = strlen(name);

	if (len == 0 || len > ME_CONFIG_CA_NAME_MAX)
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
check_absolute_path(const gchar *value)
{
	return g_path_is_absolute(value);
}

static gboolean
check_directory_url(const gchar *value)
{
	g_autoptr(GUri) uri = NULL;
	const gchar *scheme;
	const gchar *host;

	if (strchr(value, ' ') != NULL)
		return FALSE;
	uri = g_uri_parse(value, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL)
		return FALSE;
	scheme = g_uri_get_scheme(uri);
	host = g_uri_get_host(uri);
	/* credentials in the URL would be a secret in the file */
	if (host == NULL || !is_host(host) || g_uri_get_userinfo(uri) != NULL || g_uri_get_fragment(uri) != NULL)
		return FALSE;
	if (g_ascii_strcasecmp(scheme, "https") == 0)
		return TRUE;
	return g_ascii_strcasecmp(scheme, "http") == 0 && is_loopback(host);
}

/* the terms of service a person agreed to: any https:// URL (the CA's terms may live on
 * another host than its directory), or http:// on this computer as for directories */
static gboolean
check_terms_url(const gchar *value)
{
	g_autoptr(GUri) uri = NULL;
	const gchar *host;

	if (strchr(value, ' ') != NULL)
		return FALSE;
	uri = g_uri_parse(value, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL)
		return FALSE;
	host = g_uri_get_host(uri);
	if (host == NULL || host[0] == '\0' || g_uri_get_userinfo(uri) != NULL)
		return FALSE;
	if (g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0)
		return TRUE;
	return check_directory_url(value);
}

static gboolean
check_kid(const gchar *value)
{
	return is_ascii_graph(value, CONFIG_KID_MAX);
}

static gboolean
check_authserv_id(const gchar *value)
{
	return is_ascii_graph(value, CONFIG_ADDRESS_MAX) && strchr(value, ';') == NULL;
}

static gboolean
check_port(const gchar *text)
{
	return g_ascii_string_to_unsigned(text, 10, 1, 65535, NULL, NULL);
}

/* `192.0.2.53`, `192.0.2.53:5353`, `ns.example.org:53`, `::1`, `[::1]` or `[::1]:5353` */
static gboolean
check_dns_server(const gchar *value)
{
	g_autofree gchar *host = NULL;
	const gchar *colon = strchr(value, ':');

	if (value[0] == '[') {
		const gchar *close = strchr(value, ']');
		if (close == NULL || (close[1] != '\0' && (close[1] != ':' || !check_port(close + 2))))
			return FALSE;
		host = g_strndup(value + 1, (gsize)(close - value - 1));
		return strchr(host, ':') != NULL && g_hostname_is_ip_address(host);
	}
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return g_hostname_is_ip_address(value);
	if (colon != NULL && !check_port(colon + 1))
		return FALSE;
	host = colon != NULL ? g_strndup(value, (gsize)(colon - value)) : g_strdup(value);
	return is_host(host);
}

static gboolean
check_smime_trust(const gchar *value)
{
	return g_strcmp0(value, ME_CONFIG_SMIME_TRUST_SYSTEM) == 0 || g_strcmp0(value, ME_CONFIG_SMIME_TRUST_NONE) == 0 ||
	       g_path_is_absolute(value);
}

static gboolean
check_dkim_selector(const gchar *value)
{
	return is_dotted_name(value, TRUE);
}

static gboolean
check_contact(const gchar *value)
{
	const gchar *addr = value + strlen("mailto:");
	const gchar *at;

	/* no contact at all, for a CA that takes accounts without one */
	if (g_strcmp0(value, "none") == 0)
		return TRUE;
	if (g_ascii_strncasecmp(value, "mailto:", strlen("mailto:")) != 0 || strlen(addr) > CONFIG_ADDRESS_MAX)
		return FALSE;
	at = strchr(addr, '@');
	/* one address, no header fields (RFC 8555 §7.3) */
	if (at == NULL || at == addr || strchr(at + 1, '@') != NULL || strpbrk(addr, ",?<>\"()[]\\") != NULL)
		return FALSE;
	for (const gchar *p = addr; p < at; p++) {
		if (!g_ascii_isgraph(*p))
			return FALSE;
	}
	return is_hostname(at + 1);
}

static gboolean
check_username(const gchar *value)
{
	return strlen(value) <= CONFIG_USERNAME_MAX;
}

/* ---- the keys */

#define GEN(field) G_STRUCT_OFFSET(MeConfigGeneral, field)
#define CA(field)  G_STRUCT_OFFSET(MeCaProfile, field)
#define SMTP(field) G_STRUCT_OFFSET(MeConfigSmtp, field)

static const KeyDesc keys[] = {
    {GROUP_GENERAL, "default-ca", KIND_TEXT, GEN(default_ca), .check = check_ca_name,
     /* TRANSLATORS: what to write for [general] default-ca instead of a bad value */
     .hint = N_("use the NAME of a [ca NAME] group")},
    {GROUP_GENERAL, "key-type", KIND_CHOICE, GEN(key_type), .choice = &choice_key_type},
    {GROUP_GENERAL, "key-usage", KIND_CHOICE, GEN(key_usage), .choice = &choice_key_usage},
    {GROUP_GENERAL, "reply-method", KIND_CHOICE, GEN(reply_method), .choice = &choice_reply_method},
    {GROUP_GENERAL, "auto-approve", KIND_CHOICE, GEN(auto_approve), .choice = &choice_auto_approve},
    {GROUP_GENERAL, "renew-fraction", KIND_FRACTION, GEN(renew_fraction)},
    {GROUP_GENERAL, "state-dir", KIND_TEXT, GEN(state_dir), .check = check_absolute_path,
     /* TRANSLATORS: what to write for a folder or file setting instead of a bad value */
     .hint = N_("use an absolute path")},
    {GROUP_GENERAL, "max-frame-bytes", KIND_UINT, GEN(max_frame_bytes), .min = ME_CONFIG_MAX_FRAME_BYTES_MIN,
     .max = ME_CONFIG_MAX_FRAME_BYTES_MAX},
    {GROUP_GENERAL, "store", KIND_CHOICE, GEN(store), .choice = &choice_store},
    {GROUP_GENERAL, "trust-ca", KIND_BOOL, GEN(trust_ca)},
    {GROUP_GENERAL, "maildir", KIND_TEXT, GEN(maildir), .check = check_absolute_path,
     /* TRANSLATORS: what to write for a folder or file setting instead of a bad value */
     .hint = N_("use an absolute path")},

    {GROUP_CA, "directory", KIND_TEXT, CA(directory), .check = check_directory_url,
     /* TRANSLATORS: what to write for a CA's ACME directory instead of a bad value; keep the addresses */
     .hint = N_("use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost")},
    {GROUP_CA, "ca-file", KIND_TEXT, CA(ca_file), .check = check_absolute_path,
     /* TRANSLATORS: what to write for a folder or file setting instead of a bad value */
     .hint = N_("use an absolute path")},
    {GROUP_CA, "token-join", KIND_CHOICE, CA(token_join), .choice = &choice_token_join},
    {GROUP_CA, "mail-timing", KIND_CHOICE, CA(mail_timing), .choice = &choice_mail_timing},
    {GROUP_CA, "mail-wait", KIND_UINT, CA(mail_wait), .min = 1, .max = ME_CONFIG_MAIL_WAIT_MAX},
    {GROUP_CA, "eab-kid", KIND_TEXT, CA(eab_kid), .check = check_kid,
     /* TRANSLATORS: what to write for the External Account Binding key identifier instead of a bad value */
     .hint = N_("use the key identifier the CA gave, without spaces")},
    {GROUP_CA, "eab-secret", KIND_KEYRING, CA(eab_secret)},
    {GROUP_CA, "key-type", KIND_CHOICE, CA(key_type), .choice = &choice_key_type, .inherit = TRUE},
    {GROUP_CA, "key-usage", KIND_CHOICE, CA(key_usage), .choice = &choice_key_usage, .inherit = TRUE},
    {GROUP_CA, "trusted-authserv-ids", KIND_LIST, CA(trusted_authserv_ids), .check = check_authserv_id,
     /* TRANSLATORS: what to write for the trusted Authentication-Results servers instead of a bad entry */
     .hint = N_("use host names without spaces, separated by semicolons")},
    {GROUP_CA, "dns-server", KIND_TEXT, CA(dns_server), .check = check_dns_server,
     /* TRANSLATORS: what to write for the DNS server instead of a bad value; keep the example */
     .hint = N_("use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53")},
    {GROUP_CA, "smime-trust", KIND_TEXT, CA(smime_trust), .check = check_smime_trust,
     /* TRANSLATORS: what to write for the S/MIME trust instead of a bad value; keep system and none */
     .hint = N_("use system, none, or the absolute path of a PEM file of CA certificates")},
    {GROUP_CA, "dkim-selector", KIND_TEXT, CA(dkim_selector), .check = check_dkim_selector,
     /* TRANSLATORS: what to write for the DKIM selector instead of a bad value; keep the example */
     .hint = N_("use a DKIM selector such as mail2026")},
    {GROUP_CA, "dkim-domain", KIND_TEXT, CA(dkim_domain), .check = is_hostname,
     /* TRANSLATORS: what to write for the DKIM domain instead of a bad value; keep the example */
     .hint = N_("use a domain name such as example.org")},
    {GROUP_CA, "dkim-key", KIND_KEYRING, CA(dkim_key)},
    {GROUP_CA, "auto-approve", KIND_CHOICE, CA(auto_approve), .choice = &choice_auto_approve, .inherit = TRUE},
    {GROUP_CA, "trust-ca", KIND_BOOL, CA(trust_ca), .inherit = TRUE},
    {GROUP_CA, "contact", KIND_LIST, CA(contact), .check = check_contact,
     /* TRANSLATORS: what to write for the account contacts instead of a bad entry; keep the example */
     .hint = N_("use mailto: addresses separated by semicolons, such as mailto:admin@example.org")},
    {GROUP_CA, "agree-tos", KIND_BOOL, CA(agree_tos)},
    {GROUP_CA, "agreed-terms", KIND_TEXT, CA(agreed_terms), .check = check_terms_url,
     /* TRANSLATORS: what to write for the agreed terms of service instead of a bad value */
     .hint = N_("use the https:// URL of the terms of service you agreed to")},
    {GROUP_CA, "quirks", KIND_FLAGS, CA(quirks), .choice = &choice_quirks},

    {GROUP_SMTP, "host", KIND_TEXT, SMTP(host), .check = is_host,
     /* TRANSLATORS: what to write for the SMTP server instead of a bad value */
     .hint = N_("use a host name or an IP address")},
    {GROUP_SMTP, "port", KIND_UINT, SMTP(port), .min = 1, .max = 65535},
    {GROUP_SMTP, "security", KIND_CHOICE, SMTP(security), .choice = &choice_smtp_security},
    {GROUP_SMTP, "username", KIND_TEXT, SMTP(username), .check = check_username,
     /* TRANSLATORS: what to write for the SMTP user name instead of a bad value */
     .hint = N_("use a name of at most 256 bytes")},
    {GROUP_SMTP, "password", KIND_KEYRING, SMTP(password)},
    {GROUP_SMTP, "ca-file", KIND_TEXT, SMTP(ca_file), .check = check_absolute_path,
     /* TRANSLATORS: what to write for a folder or file setting instead of a bad value */
     .hint = N_("use an absolute path")},

    /* read by parse_policy(), never stored through the table */
    {GROUP_POLICY, "locked", KIND_LIST},
};

G_STATIC_ASSERT(G_N_ELEMENTS(keys) <= 64);

static const KeyDesc *
find_key(GroupKind group, const gchar *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (keys[i].group == group && g_strcmp0(keys[i].key, key) == 0)
			return &keys[i];
	}
	return NULL;
}

static guint64
key_bit(const KeyDesc *desc)
{
	return G_GUINT64_CONSTANT(1) << (desc - keys);
}

static GroupKind
classify_group(const gchar *group, const gchar **ca_name)
{
	*ca_name = NULL;
	if (g_strcmp0(group, GROUP_GENERAL_NAME) == 0)
		return GROUP_GENERAL;
	if (g_strcmp0(group, GROUP_SMTP_NAME) == 0)
		return GROUP_SMTP;
	if (g_strcmp0(group, GROUP_POLICY_NAME) == 0)
		return GROUP_POLICY;
	if (g_strcmp0(group, "ca") == 0)
		return GROUP_BAD_CA;
	if (!g_str_has_prefix(group, GROUP_CA_PREFIX))
		return GROUP_UNKNOWN;
	*ca_name = group + strlen(GROUP_CA_PREFIX);
	return check_ca_name(*ca_name) ? GROUP_CA : GROUP_BAD_CA;
}

/* ---- messages */

/* a value from a file as a message shows it: control characters replaced, long ones cut */
static gchar *
display_text(const gchar *text)
{
	GString *out = g_string_new(NULL);
	glong n = 0;

	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p), n++) {
		gunichar c = g_utf8_get_char(p);
		if (n == CONFIG_DISPLAY_MAX) {
			g_string_append(out, "…");
			break;
		}
		g_string_append_unichar(out, g_unichar_iscntrl(c) ? 0xfffd : c);
	}
	return g_string_free(out, FALSE);
}

typedef struct {
	const gchar *path;
	const gchar *group;
	const gchar *key;
} Where;

static void
set_value_error(GError **error, const Where *where, const KeyDesc *desc, const gchar *value)
{
	g_autofree gchar *file = g_filename_display_name(where->path);
	g_autofree gchar *group = display_text(where->group);
	g_autofree gchar *shown = display_text(value);
	g_autofree gchar *names = NULL;

	switch (desc->kind) {
	case KIND_CHOICE:
		names = choice_list(desc->choice);
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value is not one of the allowed words; the file, the
			     * [group], the key, the value, then the allowed words */
			    _("In %s, [%s] %s is “%s”; use one of %s."), file, group, where->key, shown, names);
		break;
	case KIND_BOOL:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a yes/no configuration value is wrong; the file, the [group], the key and
			     * the value; keep true and false */
			    _("In %s, [%s] %s is “%s”; use true or false."), file, group, where->key, shown);
		break;
	case KIND_UINT:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a number in the configuration is wrong; the file, the [group], the key, the
			     * value, then the smallest and the largest number allowed */
			    _("In %s, [%s] %s is “%s”; use a whole number from %u to %u."), file, group, where->key,
			    shown, desc->min, desc->max);
		break;
	case KIND_FRACTION:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a fraction in the configuration is wrong; the file, the [group], the key and
			     * the value; keep 0.667 as written */
			    _("In %s, [%s] %s is “%s”; use a number greater than 0 and less than 1, such as 0.667."),
			    file, group, where->key, shown);
		break;
	case KIND_KEYRING:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a keyring reference in the configuration is wrong; the file, the [group],
			     * the key, the value, then the longest label; keep keyring: */
			    _("In %s, [%s] %s is “%s”; use keyring: followed by a label of 1 to %u bytes."), file,
			    group, where->key, shown, ME_CONFIG_KEYRING_LABEL_MAX);
		break;
	case KIND_LIST:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: an entry of a list in the configuration is wrong; the file, the [group], the
			     * key, the entry, then what to use instead */
			    _("In %s, [%s] %s has the entry “%s”; %s."), file, group, where->key, shown,
			    _(desc->hint));
		break;
	case KIND_TEXT:
	default:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value is wrong; the file, the [group], the key, the value,
			     * then what to use instead */
			    _("In %s, [%s] %s is “%s”; %s."), file, group, where->key, shown, _(desc->hint));
		break;
	}
}

static void
set_literal_secret_error(GError **error, const Where *where)
{
	g_autofree gchar *file = g_filename_display_name(where->path);
	g_autofree gchar *group = display_text(where->group);

	/* the value is a secret: never repeated in the message */
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: a password or key was written into the configuration file; the file, the
		     * [group] and the key; keep “mailenroll provision” and keyring:LABEL */
		    _("In %s, [%s] %s holds a secret, which a configuration file must not; store it in the keyring with “mailenroll provision” and write keyring:LABEL here instead."),
		    file, group, where->key);
}

typedef enum {
	RAW_BAD_ESCAPE,
	RAW_TOO_LONG,
	RAW_CONTROL,
	RAW_EMPTY,
	RAW_TOO_MANY,
} RawProblem;

/* a value that is wrong before its meaning is looked at */
static void
set_raw_value_error(GError **error, const Where *where, RawProblem problem)
{
	g_autofree gchar *file = g_filename_display_name(where->path);
	g_autofree gchar *group = display_text(where->group);

	switch (problem) {
	case RAW_BAD_ESCAPE:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value has a bad backslash sequence; the file, the [group]
			     * and the key */
			    _("In %s, [%s] %s has a backslash that starts no valid escape; write a backslash as \\\\."),
			    file, group, where->key);
		break;
	case RAW_TOO_LONG:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value is too long; the file, the [group], the key, then
			     * the limit in bytes */
			    _("In %s, [%s] %s is longer than %u bytes; shorten it."), file, group, where->key,
			    ME_CONFIG_VALUE_MAX);
		break;
	case RAW_CONTROL:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value has a tab, a line break or another control
			     * character; the file, the [group] and the key */
			    _("In %s, [%s] %s contains a control character; remove it."), file, group, where->key);
		break;
	case RAW_EMPTY:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration value is empty; the file, the [group] and the key */
			    _("In %s, [%s] %s is empty; give it a value or remove the line."), file, group, where->key);
		break;
	case RAW_TOO_MANY:
	default:
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a list in the configuration is too long; the file, the [group], the key,
			     * then the most entries allowed */
			    _("In %s, [%s] %s has more than %u entries; remove some."), file, group, where->key,
			    ME_CONFIG_LIST_MAX);
		break;
	}
}

/* takes @message; past the limit, one last message says that more were dropped */
static void
add_diagnostic(MeConfig *config, const gchar *path, gchar *message)
{
	g_autofree gchar *owned = message;
	g_autofree gchar *file = NULL;

	g_debug("%s", owned);
	if (config->diagnostics_full)
		return;
	if (config->diagnostics->len < ME_CONFIG_DIAGNOSTICS_MAX) {
		g_ptr_array_add(config->diagnostics, g_steal_pointer(&owned));
		return;
	}
	config->diagnostics_full = TRUE;
	file = g_filename_display_name(path);
	g_ptr_array_add(config->diagnostics,
			/* TRANSLATORS: too many configuration settings were ignored to list them all; %s is
			 * the file */
			g_strdup_printf(_("In %s, more settings are ignored than are listed; check the file for spelling mistakes."),
					file));
}

static void
diagnose_unknown_group(MeConfig *config, const gchar *path, const gchar *group)
{
	g_autofree gchar *file = g_filename_display_name(path);
	g_autofree gchar *shown = display_text(group);

	add_diagnostic(config, path,
		       /* TRANSLATORS: the configuration has a group mailenroll does not know; the file and
			* the group name */
		       g_strdup_printf(_("In %s, the group [%s] is not known and is ignored; check its spelling."),
				       file, shown));
}

static void
diagnose_unknown_key(MeConfig *config, const gchar *path, const gchar *group, const gchar *key)
{
	g_autofree gchar *file = g_filename_display_name(path);
	g_autofree gchar *shown_group = display_text(group);
	g_autofree gchar *shown_key = display_text(key);

	add_diagnostic(config, path,
		       /* TRANSLATORS: the configuration has a key mailenroll does not know; the file, the
			* [group] and the key */
		       g_strdup_printf(_("In %s, [%s] %s is not known and is ignored; check its spelling."), file,
				       shown_group, shown_key));
}

static void
diagnose_unknown_entry(MeConfig *config, const Where *where, const KeyDesc *desc, const gchar *entry)
{
	g_autofree gchar *file = g_filename_display_name(where->path);
	g_autofree gchar *shown_group = display_text(where->group);
	g_autofree gchar *shown = display_text(entry);
	g_autofree gchar *names = choice_list(desc->choice);

	add_diagnostic(config, where->path,
		       /* TRANSLATORS: a list in the configuration has an entry mailenroll does not know; the
			* file, the [group], the key, the entry, then the known entries */
		       g_strdup_printf(_("In %s, [%s] %s has the entry “%s”, which is not known and is ignored; check its spelling, or use one of %s."),
				       file, shown_group, where->key, shown, names));
}

static void
diagnose_locked(MeConfig *config, const gchar *path, const gchar *group, const gchar *key)
{
	g_autofree gchar *file = g_filename_display_name(path);
	g_autofree gchar *shown_group = display_text(group);

	add_diagnostic(config, path,
		       /* TRANSLATORS: the user's configuration sets something the administrator locked; the
			* file, the [group] and the key */
		       g_strdup_printf(_("In %s, [%s] %s is ignored because the system configuration locks it."),
				       file, shown_group, key));
}

/* ---- reading a file */

static void
set_read_error(GError **error, const gchar *path, gint errnum)
{
	g_autofree gchar *file = g_filename_display_name(path);

	if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a configuration file is too big to be real; %s is its path */
			    _("The configuration file %s is larger than 1 MiB; shorten it."), file);
		return;
	}
	if (errnum == EINVAL) {
		g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: the configuration file is a folder, a pipe or a device; %s is its path */
			    _("The configuration file %s is not a regular file; replace it with a text file, or remove it."),
			    file);
		return;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: a configuration file cannot be read; %s is its path, then the system's reason */
		    _("The configuration file %s cannot be read (%s); check its permissions."), file,
		    g_strerror(errnum));
}

/* the bytes of @path, NUL-terminated; %NULL with *missing when there is no such file, %NULL
 * with @error set when it cannot be used */
static gchar *
read_file(const gchar *path, gsize *len, gboolean *missing, GError **error)
{
	gchar *data;
	gint errnum = 0;

	*missing = FALSE;
	data = me_file_read_bounded(path, ME_CONFIG_FILE_MAX, len, NULL, &errnum);
	if (data == NULL && errnum == ENOENT)
		*missing = TRUE;
	else if (data == NULL)
		set_read_error(error, path, errnum);
	return data;
}

/* @len bytes of @data, NUL-terminated, as a key file; @path names it in messages */
static GKeyFile *
keyfile_from_data(const gchar *path, const gchar *data, gsize len, GError **error)
{
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree gchar *file = g_filename_display_name(path);
	const gchar *start;

	/* the validation also refuses NUL bytes */
	if (!g_utf8_validate_len(data, len, NULL)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration file is binary or in another encoding; %s is its path */
			    _("The configuration file %s is not UTF-8 text; save it as UTF-8."), file);
		return NULL;
	}
	/* editors on other systems may start the file with a byte order mark */
	start = g_str_has_prefix(data, "\xef\xbb\xbf") ? data + 3 : data;
	if (!g_key_file_load_from_data(keyfile, start, len - (gsize)(start - data), G_KEY_FILE_NONE, &local)) {
		g_debug("%s: %s", path, local->message);
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a configuration file is not in the key file format; %s is its path */
			    _("The configuration file %s is not in key file syntax; make every line a [group], a key=value pair or a # comment."),
			    file);
		return NULL;
	}
	return g_steal_pointer(&keyfile);
}

/* the key file at @path; %NULL without @error when there is none */
static GKeyFile *
load_keyfile(const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gboolean missing = FALSE;
	gsize len = 0;

	data = read_file(path, &len, &missing, error);
	if (data == NULL) {
		if (missing)
			g_debug("%s is not there", path);
		return NULL;
	}
	return keyfile_from_data(path, data, len, error);
}

/* ---- values */

/* checks @raw (not a list) and stores it at @target */
static gboolean
store_scalar(const Where *where, const KeyDesc *desc, const gchar *raw, gpointer target, GError **error)
{
	gpointer field = G_STRUCT_MEMBER_P(target, desc->offset);
	guint64 number = 0;
	gint value;

	switch (desc->kind) {
	case KIND_CHOICE:
		value = choice_parse(desc->choice, raw);
		if (value < 0)
			break;
		*(gint *)field = value;
		return TRUE;
	case KIND_BOOL:
		if (g_strcmp0(raw, "true") != 0 && g_strcmp0(raw, "false") != 0)
			break;
		*(gboolean *)field = g_strcmp0(raw, "true") == 0;
		return TRUE;
	case KIND_UINT:
		if (!g_ascii_string_to_unsigned(raw, 10, desc->min, desc->max, &number, NULL))
			break;
		*(guint *)field = (guint)number;
		return TRUE;
	case KIND_FRACTION: {
		gdouble fraction;
		/* plain decimals only: no exponent, sign, hex, inf or nan */
		if (raw[strspn(raw, "0123456789.")] != '\0' || strchr(raw, '.') != strrchr(raw, '.') ||
		    strpbrk(raw, "0123456789") == NULL)
			break;
		fraction = g_ascii_strtod(raw, NULL);
		if (!(fraction > 0.0 && fraction < 1.0))
			break;
		*(gdouble *)field = fraction;
		return TRUE;
	}
	case KIND_KEYRING:
		if (!g_str_has_prefix(raw, KEYRING_PREFIX)) {
			set_literal_secret_error(error, where);
			return FALSE;
		}
		if (raw[strlen(KEYRING_PREFIX)] == '\0' ||
		    strlen(raw + strlen(KEYRING_PREFIX)) > ME_CONFIG_KEYRING_LABEL_MAX)
			break;
		g_free(*(gchar **)field);
		*(gchar **)field = g_strdup(raw + strlen(KEYRING_PREFIX));
		return TRUE;
	case KIND_TEXT:
	default:
		if (!desc->check(raw))
			break;
		g_free(*(gchar **)field);
		*(gchar **)field = g_strdup(raw);
		return TRUE;
	}
	set_value_error(error, where, desc, raw);
	return FALSE;
}

static gboolean
apply_scalar(const Where *where, const KeyDesc *desc, GKeyFile *keyfile, gpointer target, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *raw = g_key_file_get_string(keyfile, where->group, where->key, &local);

	/* GLib 2.74 returns the raw text along with the error for a bad escape */
	if (raw == NULL || local != NULL) {
		g_debug("%s: [%s] %s: %s", where->path, where->group, where->key, local->message);
		set_raw_value_error(error, where, RAW_BAD_ESCAPE);
		return FALSE;
	}
	if (strlen(raw) > ME_CONFIG_VALUE_MAX) {
		set_raw_value_error(error, where, RAW_TOO_LONG);
		return FALSE;
	}
	if (has_control(raw)) {
		set_raw_value_error(error, where, RAW_CONTROL);
		return FALSE;
	}
	if (raw[0] == '\0') {
		set_raw_value_error(error, where, RAW_EMPTY);
		return FALSE;
	}
	return store_scalar(where, desc, raw, target, error);
}

/* the non-empty entries of a list value, stripped; checked against @desc when given */
static GStrv
read_list(const Where *where, const KeyDesc *desc, GKeyFile *keyfile, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) raw = g_key_file_get_string_list(keyfile, where->group, where->key, NULL, &local);
	guint count = 0;

	if (raw == NULL || local != NULL) {
		g_debug("%s: [%s] %s: %s", where->path, where->group, where->key, local->message);
		set_raw_value_error(error, where, RAW_BAD_ESCAPE);
		return NULL;
	}
	for (guint i = 0; raw[i] != NULL; i++) {
		gchar *entry = g_strstrip(raw[i]);
		if (entry[0] == '\0')
			continue;
		if (++count > ME_CONFIG_LIST_MAX) {
			set_raw_value_error(error, where, RAW_TOO_MANY);
			return NULL;
		}
		if (strlen(entry) > ME_CONFIG_VALUE_MAX || has_control(entry)) {
			set_raw_value_error(error, where, has_control(entry) ? RAW_CONTROL : RAW_TOO_LONG);
			return NULL;
		}
		if (desc != NULL && !desc->check(entry)) {
			set_value_error(error, where, desc, entry);
			return NULL;
		}
		g_strv_builder_add(builder, entry);
	}
	return g_strv_builder_end(builder);
}

/* the words of a KIND_FLAGS list or-ed together; the value replaces the other file's */
static gboolean
apply_flags(MeConfig *config, const Where *where, const KeyDesc *desc, GKeyFile *keyfile, gpointer target,
	    GError **error)
{
	g_auto(GStrv) list = read_list(where, NULL, keyfile, error);
	gint flags = 0;

	if (list == NULL)
		return FALSE;
	for (guint i = 0; list[i] != NULL; i++) {
		gint value = choice_parse(desc->choice, list[i]);
		if (value < 0)
			diagnose_unknown_entry(config, where, desc, list[i]);
		else
			flags |= value;
	}
	*(gint *)G_STRUCT_MEMBER_P(target, desc->offset) = flags;
	return TRUE;
}

static gboolean
apply_value(MeConfig *config, const Where *where, const KeyDesc *desc, GKeyFile *keyfile, gpointer target,
	    GError **error)
{
	GStrv *field;
	GStrv list;

	if (desc->kind == KIND_FLAGS)
		return apply_flags(config, where, desc, keyfile, target, error);
	if (desc->kind != KIND_LIST)
		return apply_scalar(where, desc, keyfile, target, error);
	list = read_list(where, desc, keyfile, error);
	if (list == NULL)
		return FALSE;
	field = G_STRUCT_MEMBER_P(target, desc->offset);
	g_strfreev(*field);
	*field = list;
	return TRUE;
}

/* ---- policy */

static gboolean
lock_group_matches(const gchar *lock_group, const gchar *group)
{
	if (g_strcmp0(lock_group, group) == 0)
		return TRUE;
	return g_strcmp0(lock_group, LOCK_ANY_CA) == 0 && g_str_has_prefix(group, GROUP_CA_PREFIX);
}

/* a lock entry the shape of which is right: `*`, or GROUP/KEY with GROUP a group name
 * or `ca *`, and KEY a key name or `*` */
static gboolean
lock_entry_is_valid(const gchar *entry, GroupKind *kind, const gchar **key)
{
	const gchar *slash = strrchr(entry, '/');
	g_autofree gchar *group = NULL;
	const gchar *ca_name = NULL;

	*kind = GROUP_UNKNOWN;
	*key = NULL;
	if (g_strcmp0(entry, "*") == 0)
		return TRUE;
	if (slash == NULL || slash == entry || slash[1] == '\0')
		return FALSE;
	*key = slash + 1;
	group = g_strndup(entry, (gsize)(slash - entry));
	if (g_strcmp0(group, LOCK_ANY_CA) == 0) {
		*kind = GROUP_CA;
		return TRUE;
	}
	*kind = classify_group(group, &ca_name);
	return *kind != GROUP_BAD_CA;
}

static void
set_lock_entry_error(GError **error, const gchar *path, const gchar *entry)
{
	g_autofree gchar *file = g_filename_display_name(path);
	g_autofree gchar *shown = display_text(entry);

	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: an entry of [policy] locked is not of the right shape; the file, then the
		     * entry; keep group/key, group/ * and * as written */
		    _("In %s, [policy] locked has the entry “%s”; use group/key, group/* or * entries separated by semicolons."),
		    file, shown);
}

static gboolean
add_lock(MeConfig *config, const gchar *path, const gchar *entry, GError **error)
{
	GroupKind kind;
	const gchar *key;

	if (!lock_entry_is_valid(entry, &kind, &key)) {
		set_lock_entry_error(error, path, entry);
		return FALSE;
	}
	if (key != NULL && (kind == GROUP_UNKNOWN || (g_strcmp0(key, "*") != 0 && find_key(kind, key) == NULL))) {
		g_autofree gchar *file = g_filename_display_name(path);
		g_autofree gchar *shown = display_text(entry);
		add_diagnostic(config, path,
			       /* TRANSLATORS: [policy] locked names a setting mailenroll does not know; the file,
				* then the entry */
			       g_strdup_printf(_("In %s, [policy] locked names “%s”, which is not a known setting; check its spelling."),
					       file, shown));
	}
	g_ptr_array_add(config->locks, g_strdup(entry));
	return TRUE;
}

static gboolean
parse_policy(MeConfig *config, const gchar *path, GKeyFile *keyfile, GError **error)
{
	g_auto(GStrv) names = g_key_file_get_keys(keyfile, GROUP_POLICY_NAME, NULL, NULL);

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		Where where = {path, GROUP_POLICY_NAME, names[i]};
		g_auto(GStrv) entries = NULL;

		if (find_key(GROUP_POLICY, names[i]) == NULL) {
			diagnose_unknown_key(config, path, GROUP_POLICY_NAME, names[i]);
			continue;
		}
		entries = read_list(&where, NULL, keyfile, error);
		if (entries == NULL)
			return FALSE;
		for (guint j = 0; entries[j] != NULL; j++) {
			if (!add_lock(config, path, entries[j], error))
				return FALSE;
		}
	}
	return TRUE;
}

/* ---- applying a file */

static gchar *
origin_key(const gchar *group, const gchar *key)
{
	return g_strdup_printf("%s\037%s", group, key);
}

static const gchar *
get_origin(const MeConfig *config, const gchar *group, const gchar *key)
{
	g_autofree gchar *id = origin_key(group, key);
	const gchar *path = g_hash_table_lookup(config->origins, id);

	/* only asked about keys a file set, so this is a fallback never taken */
	return path != NULL ? path : (config->user_path != NULL ? config->user_path : config->system_path);
}

static gboolean
apply_group(MeConfig *config,
	    const gchar *path,
	    gboolean is_user,
	    GKeyFile *keyfile,
	    const gchar *group,
	    GroupKind kind,
	    gpointer target,
	    guint64 *set,
	    GError **error)
{
	g_auto(GStrv) names = g_key_file_get_keys(keyfile, group, NULL, NULL);

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const KeyDesc *desc = find_key(kind, names[i]);
		Where where = {path, group, names[i]};

		if (desc == NULL) {
			diagnose_unknown_key(config, path, group, names[i]);
			continue;
		}
		if (is_user && me_config_is_locked(config, group, names[i])) {
			diagnose_locked(config, path, group, names[i]);
			continue;
		}
		if (!apply_value(config, &where, desc, keyfile, target, error))
			return FALSE;
		*set |= key_bit(desc);
		g_hash_table_replace(config->origins, origin_key(group, names[i]), (gpointer)path);
	}
	return TRUE;
}

static void
set_too_many_cas_error(GError **error, const gchar *path)
{
	g_autofree gchar *file = g_filename_display_name(path);

	g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
		    /* TRANSLATORS: a configuration file has too many CA profiles; the file, then the limit */
		    _("In %s, there are more than %u [ca NAME] groups; remove the ones not in use."), file,
		    ME_CONFIG_CA_MAX);
}

static void
ca_entry_free(CaEntry *entry)
{
	g_free(entry->profile.name);
	g_free(entry->profile.directory);
	g_free(entry->profile.ca_file);
	g_free(entry->profile.eab_kid);
	g_free(entry->profile.eab_secret);
	g_strfreev(entry->profile.trusted_authserv_ids);
	g_free(entry->profile.dns_server);
	g_free(entry->profile.smime_trust);
	g_free(entry->profile.smime_trust_file);
	g_free(entry->profile.dkim_selector);
	g_free(entry->profile.dkim_domain);
	g_free(entry->profile.dkim_key);
	g_strfreev(entry->profile.contact);
	g_free(entry->profile.agreed_terms);
	g_free(entry);
}

static CaEntry *
ca_entry_new(const gchar *name, const gchar *origin)
{
	CaEntry *entry = g_new0(CaEntry, 1);

	entry->profile.name = g_strdup(name);
	entry->profile.token_join = ME_TOKEN_JOIN_STRING;
	entry->profile.mail_timing = ME_CONFIG_MAIL_TIMING_DETECT;
	entry->profile.mail_wait = ME_CONFIG_MAIL_WAIT_DEFAULT;
	entry->profile.trusted_authserv_ids = g_new0(gchar *, 1);
	entry->profile.contact = g_new0(gchar *, 1);
	entry->origin = origin;
	return entry;
}

static CaEntry *
find_ca(const MeConfig *config, const gchar *name)
{
	for (guint i = 0; i < config->cas->len; i++) {
		CaEntry *entry = g_ptr_array_index(config->cas, i);
		if (g_strcmp0(entry->profile.name, name) == 0)
			return entry;
	}
	return NULL;
}

/* the entry a [ca NAME] group of @path goes to in *entry_out, or %NULL when the user may
 * not add it; %FALSE with @error set when there are too many */
static gboolean
ca_entry_for_group(MeConfig *config,
		   const gchar *path,
		   gboolean is_user,
		   const gchar *group,
		   const gchar *name,
		   CaEntry **entry_out,
		   GError **error)
{
	*entry_out = find_ca(config, name);
	if (*entry_out != NULL)
		return TRUE;
	if (is_user && me_config_is_locked(config, group, "directory")) {
		g_autofree gchar *file = g_filename_display_name(path);
		add_diagnostic(config, path,
			       /* TRANSLATORS: the user's configuration adds a CA profile, which the administrator
				* does not allow; the file, then the group */
			       g_strdup_printf(_("In %s, the group [%s] is ignored because the system configuration does not allow adding certificate authorities."),
					       file, group));
		return TRUE;
	}
	if (config->cas->len >= ME_CONFIG_CA_MAX) {
		set_too_many_cas_error(error, path);
		return FALSE;
	}
	*entry_out = ca_entry_new(name, path);
	g_ptr_array_add(config->cas, *entry_out);
	return TRUE;
}

static void
set_bad_ca_name_error(GError **error, const gchar *path, const gchar *group)
{
	g_autofree gchar *file = g_filename_display_name(path);
	g_autofree gchar *shown = display_text(group);

	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: a CA profile group has a bad name; the file, the group, then the longest
		     * name; keep "ca " */
		    _("In %s, the group [%s] has an invalid name; after “ca ” use 1 to %u letters, digits, dots, hyphens or underscores."),
		    file, shown, ME_CONFIG_CA_NAME_MAX);
}

static gboolean
count_ca_groups(const gchar *path, GStrv groups, GError **error)
{
	guint count = 0;

	for (guint i = 0; groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], GROUP_CA_PREFIX))
			count++;
	}
	if (count > ME_CONFIG_CA_MAX) {
		set_too_many_cas_error(error, path);
		return FALSE;
	}
	return TRUE;
}

static gboolean
apply_one_group(MeConfig *config, const gchar *path, gboolean is_user, GKeyFile *keyfile, const gchar *group,
		GError **error)
{
	const gchar *ca_name = NULL;
	GroupKind kind = classify_group(group, &ca_name);
	CaEntry *entry;

	if (kind == GROUP_GENERAL)
		return apply_group(config, path, is_user, keyfile, group, kind, &config->general, &config->set, error);
	if (kind == GROUP_SMTP)
		return apply_group(config, path, is_user, keyfile, group, kind, &config->smtp, &config->set, error);
	if (kind == GROUP_BAD_CA) {
		set_bad_ca_name_error(error, path, group);
		return FALSE;
	}
	if (kind == GROUP_UNKNOWN) {
		diagnose_unknown_group(config, path, group);
		return TRUE;
	}
	if (kind == GROUP_POLICY) {
		if (is_user) {
			g_autofree gchar *file = g_filename_display_name(path);
			add_diagnostic(config, path,
				       /* TRANSLATORS: the user's configuration has a [policy] group; %s is the file */
				       g_strdup_printf(_("In %s, the group [policy] is ignored because only the system configuration can lock settings."),
						       file));
		}
		return TRUE;
	}
	if (!ca_entry_for_group(config, path, is_user, group, ca_name, &entry, error))
		return FALSE;
	if (entry == NULL)
		return TRUE;
	return apply_group(config, path, is_user, keyfile, group, kind, &entry->profile, &entry->set, error);
}

static gboolean
apply_keyfile(MeConfig *config, const gchar *path, gboolean is_user, GKeyFile *keyfile, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(keyfile, NULL);

	if (!count_ca_groups(path, groups, error))
		return FALSE;
	if (!is_user && !parse_policy(config, path, keyfile, error))
		return FALSE;
	for (guint i = 0; groups[i] != NULL; i++) {
		if (!apply_one_group(config, path, is_user, keyfile, groups[i], error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
apply_file(MeConfig *config, const gchar *path, gboolean is_user, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GKeyFile) keyfile = NULL;

	if (path == NULL)
		return TRUE;
	keyfile = load_keyfile(path, &local);
	if (keyfile == NULL) {
		if (local == NULL)
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return apply_keyfile(config, path, is_user, keyfile, error);
}

/* apply_file() for a file already read: @data is %NULL for none */
static gboolean
apply_data(MeConfig *config, const gchar *name, GBytes *data, gboolean is_user, GError **error)
{
	g_autoptr(GKeyFile) keyfile = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;

	if (data == NULL)
		return TRUE;
	len = g_bytes_get_size(data);
	if (len > ME_CONFIG_FILE_MAX) {
		set_read_error(error, name, EFBIG);
		return FALSE;
	}
	/* NUL-terminated, as read_file() hands it on */
	text = g_malloc(len + 1);
	/* an empty GBytes may have no buffer at all, which memcpy() must not be given */
	if (len > 0)
		memcpy(text, g_bytes_get_data(data, NULL), len);
	text[len] = '\0';
	keyfile = keyfile_from_data(name, text, len, error);
	if (keyfile == NULL)
		return FALSE;
	return apply_keyfile(config, name, is_user, keyfile, error);
}

/* ---- after both files */

static const KeyDesc *
find_general_twin(const KeyDesc *desc)
{
	return find_key(GROUP_GENERAL, desc->key);
}

/* smime-trust is "system" unless a file sets it; and the file it names */
static void
resolve_smime_trust(MeCaProfile *ca)
{
	if (ca->smime_trust == NULL)
		ca->smime_trust = g_strdup(ME_CONFIG_SMIME_TRUST_SYSTEM);
	if (g_strcmp0(ca->smime_trust, ME_CONFIG_SMIME_TRUST_NONE) == 0)
		return;
	if (g_strcmp0(ca->smime_trust, ME_CONFIG_SMIME_TRUST_SYSTEM) != 0) {
		ca->smime_trust_file = g_strdup(ca->smime_trust);
		return;
	}
	ca->smime_trust_file = me_smime_trust_system_file();
	/* a system without a bundle: S/MIME-signed challenges cannot pass, DKIM-signed ones can */
	if (g_access(ca->smime_trust_file, R_OK) != 0) {
		g_debug("[ca %s] smime-trust=system: %s cannot be read", ca->name, ca->smime_trust_file);
		g_clear_pointer(&ca->smime_trust_file, g_free);
	}
}

/* the trust anchors for a CA's HTTPS that no ca-file names: the system's (%NULL); only in
 * the test build, $MAILENROLL_TEST_CA_FILE stands in for them, so that a test can add its
 * own loopback CA by URL as a person adds a public one */
static const gchar *
default_ca_file(void)
{
#ifdef ME_TEST_HOOKS
	const gchar *env = g_getenv("MAILENROLL_TEST_CA_FILE");
	if (env != NULL && g_path_is_absolute(env) && strlen(env) <= CONFIG_ENV_PATH_MAX)
		return env;
#endif
	return NULL;
}

static void
resolve_cas(MeConfig *config)
{
	for (guint i = 0; i < config->cas->len; i++) {
		CaEntry *entry = g_ptr_array_index(config->cas, i);
		if (entry->profile.ca_file == NULL)
			entry->profile.ca_file = g_strdup(default_ca_file());
		resolve_smime_trust(&entry->profile);
		for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
			const KeyDesc *twin;
			if (keys[k].group != GROUP_CA || !keys[k].inherit || (entry->set & key_bit(&keys[k])) != 0)
				continue;
			twin = find_general_twin(&keys[k]);
			/* enums and booleans alike are gint-sized */
			*(gint *)G_STRUCT_MEMBER_P(&entry->profile, keys[k].offset) =
			    *(gint *)G_STRUCT_MEMBER_P(&config->general, twin->offset);
		}
	}
	if ((config->set & key_bit(find_key(GROUP_SMTP, "port"))) == 0 &&
	    config->smtp.security == ME_CONFIG_SMTP_SECURITY_TLS)
		config->smtp.port = ME_CONFIG_SMTP_PORT_TLS_DEFAULT;
}

/* the file smime-trust names holds PEM certificates */
static gboolean
check_smime_trust_file(const MeConfig *config, const MeCaProfile *ca, const gchar *group, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *file = NULL;
	g_autofree gchar *shown = NULL;

	if (me_smime_trust_load(NULL, ca->smime_trust_file, &local) > 0)
		return TRUE;
	g_debug("%s", local->message);
	file = g_filename_display_name(get_origin(config, group, "smime-trust"));
	shown = g_filename_display_name(ca->smime_trust_file);
	if (g_error_matches(local, ME_ERROR, ME_ERROR_FAILED)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: the S/MIME trust file of a CA profile cannot be opened; the configuration
			     * file, the CA name, then the trust file; keep smime-trust, system and none */
			    _("In %s, [ca %s] smime-trust names %s, which cannot be read; check the path and its permissions, or write system or none."),
			    file, ca->name, shown);
		return FALSE;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: the S/MIME trust file of a CA profile is not a file of certificates; the
		     * configuration file, the CA name, then the trust file; keep smime-trust, PEM, system and none */
		    _("In %s, [ca %s] smime-trust names %s, which does not hold PEM certificates only; give a PEM file of CA certificates, or write system or none."),
		    file, ca->name, shown);
	return FALSE;
}

static gboolean
check_ca_entry(const MeConfig *config, const CaEntry *entry, GError **error)
{
	const MeCaProfile *ca = &entry->profile;
	g_autofree gchar *group = g_strconcat(GROUP_CA_PREFIX, ca->name, NULL);
	guint n_dkim = (ca->dkim_selector != NULL) + (ca->dkim_domain != NULL) + (ca->dkim_key != NULL);
	g_autofree gchar *file = NULL;

	if (ca->directory == NULL) {
		file = g_filename_display_name(entry->origin);
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a CA profile lacks its ACME directory URL; the file, then the CA name */
			    _("In %s, [ca %s] has no directory; add directory= with the CA's ACME directory URL."),
			    file, ca->name);
		return FALSE;
	}
	if (n_dkim != 0 && n_dkim != 3) {
		const gchar *key = ca->dkim_selector != NULL ? "dkim-selector"
				   : ca->dkim_domain != NULL ? "dkim-domain"
							     : "dkim-key";
		file = g_filename_display_name(get_origin(config, group, key));
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a CA profile names only part of a DKIM signing key; the file, then the
			     * CA name; keep the key names */
			    _("In %s, [ca %s] sets only some of dkim-selector, dkim-domain and dkim-key; set all three, or none."),
			    file, ca->name);
		return FALSE;
	}
	if ((ca->eab_kid == NULL) != (ca->eab_secret == NULL)) {
		file = g_filename_display_name(get_origin(config, group, ca->eab_kid != NULL ? "eab-kid" : "eab-secret"));
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a CA profile names only half of the External Account Binding; the file,
			     * then the CA name; keep the key names */
			    _("In %s, [ca %s] sets only one of eab-kid and eab-secret; set both, or neither."), file,
			    ca->name);
		return FALSE;
	}
	if (ca->smime_trust_file != NULL && g_strcmp0(ca->smime_trust, ME_CONFIG_SMIME_TRUST_SYSTEM) != 0)
		return check_smime_trust_file(config, ca, group, error);
	return TRUE;
}

static gboolean
check_general(const MeConfig *config, GError **error)
{
	const gchar *default_ca = config->general.default_ca;
	g_autofree gchar *file = NULL;

	if (default_ca != NULL && find_ca(config, default_ca) == NULL) {
		file = g_filename_display_name(get_origin(config, GROUP_GENERAL_NAME, "default-ca"));
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: default-ca names a CA profile that is not there; the file, then the name
			     * twice */
			    _("In %s, [general] default-ca is “%s”, but there is no [ca %s] group; add that group or name an existing one."),
			    file, default_ca, default_ca);
		return FALSE;
	}
	if (config->general.reply_method == ME_CONFIG_REPLY_METHOD_SMTP && config->smtp.host == NULL) {
		file = g_filename_display_name(get_origin(config, GROUP_GENERAL_NAME, "reply-method"));
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: replies are to be sent by SMTP but no server is set; %s is the file;
			     * keep the key and group names */
			    _("In %s, [general] reply-method is “smtp” but [smtp] has no host; set one, or choose print or file."),
			    file);
		return FALSE;
	}
	if (config->smtp.security == ME_CONFIG_SMTP_SECURITY_NONE && config->smtp.host != NULL &&
	    !is_loopback(config->smtp.host)) {
		g_autofree gchar *host = display_text(config->smtp.host);
		file = g_filename_display_name(get_origin(config, GROUP_SMTP_NAME, "security"));
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: SMTP without TLS was chosen for a server on the network; the file, then the
			     * server; keep none, starttls and tls */
			    _("In %s, [smtp] security is “none” but the host %s is not this computer; use starttls or tls."),
			    file, host);
		return FALSE;
	}
	return TRUE;
}

/* [smtp] ca-file names a readable file of PEM certificates: the CA of a private mail server */
static gboolean
check_smtp_ca_file(const MeConfig *config, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *file = NULL;
	g_autofree gchar *shown = NULL;

	if (config->smtp.ca_file == NULL || me_smime_trust_load(NULL, config->smtp.ca_file, &local) > 0)
		return TRUE;
	g_debug("%s", local->message);
	file = g_filename_display_name(get_origin(config, GROUP_SMTP_NAME, "ca-file"));
	shown = g_filename_display_name(config->smtp.ca_file);
	if (g_error_matches(local, ME_ERROR, ME_ERROR_FAILED)) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: the CA file for the SMTP server cannot be opened; the configuration file, then
			     * the CA file; keep [smtp] ca-file */
			    _("In %s, [smtp] ca-file names %s, which cannot be read; check the path and its permissions."),
			    file, shown);
		return FALSE;
	}
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: the CA file for the SMTP server is not a file of certificates; the configuration
		     * file, then the CA file; keep [smtp] ca-file and PEM */
		    _("In %s, [smtp] ca-file names %s, which does not hold PEM certificates only; give the PEM file of the certificate authority that issued the mail server's certificate."),
		    file, shown);
	return FALSE;
}

static gboolean
check_all(const MeConfig *config, GError **error)
{
	for (guint i = 0; i < config->cas->len; i++) {
		if (!check_ca_entry(config, g_ptr_array_index(config->cas, i), error))
			return FALSE;
	}
	return check_general(config, error) && check_smtp_ca_file(config, error);
}

/* ---- the object */

static MeConfig *
config_new(const gchar *system_path, const gchar *user_path)
{
	MeConfig *config = g_new0(MeConfig, 1);

	config->system_path = g_strdup(system_path);
	config->user_path = g_strdup(user_path);
	config->general.key_type = ME_KEY_TYPE_CERTIFICATE_DEFAULT;
	config->general.key_usage = ME_KEY_USAGE_DUAL;
	config->general.reply_method = ME_CONFIG_REPLY_METHOD_PRINT;
	config->general.auto_approve = ME_CONFIG_AUTO_APPROVE_NEVER;
	config->general.renew_fraction = ME_CONFIG_RENEW_FRACTION_DEFAULT;
	config->general.max_frame_bytes = ME_CONFIG_MAX_FRAME_BYTES_DEFAULT;
	config->general.store = ME_CONFIG_STORE_THUNDERBIRD;
	config->smtp.port = ME_CONFIG_SMTP_PORT_DEFAULT;
	config->smtp.security = ME_CONFIG_SMTP_SECURITY_STARTTLS;
	config->cas = g_ptr_array_new_with_free_func((GDestroyNotify)ca_entry_free);
	config->locks = g_ptr_array_new_with_free_func(g_free);
	config->diagnostics = g_ptr_array_new_with_free_func(g_free);
	config->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return config;
}

/**
 * me_config_free:
 * @config: (nullable): a configuration
 *
 * Frees @config and everything its getters returned.
 */
void
me_config_free(MeConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->system_path);
	g_free(config->user_path);
	g_free(config->general.default_ca);
	g_free(config->general.state_dir);
	g_free(config->general.maildir);
	g_free(config->smtp.host);
	g_free(config->smtp.username);
	g_free(config->smtp.password);
	g_free(config->smtp.ca_file);
	g_ptr_array_unref(config->cas);
	g_ptr_array_unref(config->locks);
	g_ptr_array_unref(config->diagnostics);
	g_hash_table_unref(config->origins);
	g_free(config->state_dir);
	g_free(config);
}

/* after both files: the CA profiles resolved and checked, the state folder settled */
static gboolean
config_finish(MeConfig *config, GError **error)
{
	resolve_cas(config);
	if (!check_all(config, error))
		return FALSE;
	config->state_dir = config->general.state_dir != NULL
				? g_strdup(config->general.state_dir)
				: g_build_filename(g_get_user_state_dir(), PACKAGE_NAME, NULL);
	return TRUE;
}

/**
 * me_config_load:
 * @system_path: (nullable): the system file, e.g. `/etc/mailenroll/mailenroll.conf`; %NULL
 *   for none
 * @user_path: (nullable): the user's file, applied over the system file; %NULL for none
 * @error: (nullable): return location
 *
 * Reads the two layers.  Either file may be missing.  Only the system file's [policy]
 * counts: a user value for a key it locks is ignored, and so is a [policy] group in the
 * user file.  Unknown groups and keys, and ignored values, are not errors: each gives a
 * diagnostic (me_config_get_diagnostics()).
 *
 * Returns: (transfer full): the configuration, or %NULL with @error set to
 *   %ME_ERROR_INVALID_DATA (a bad value, a file that is not UTF-8 key-file syntax, a
 *   missing or bad cross-reference), %ME_ERROR_TOO_LARGE (a file over
 *   %ME_CONFIG_FILE_MAX bytes, more than %ME_CONFIG_CA_MAX CA groups) or %ME_ERROR_FAILED
 *   (a file that cannot be read or is not a regular file); the message names the file
 */
MeConfig *
me_config_load(const gchar *system_path, const gchar *user_path, GError **error)
{
	g_autoptr(MeConfig) config = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	config = config_new(system_path, user_path);
	if (!apply_file(config, config->system_path, FALSE, error))
		return NULL;
	if (!apply_file(config, config->user_path, TRUE, error))
		return NULL;
	if (!config_finish(config, error))
		return NULL;
	return g_steal_pointer(&config);
}

/**
 * me_config_load_from_data:
 * @system_name: the name of the system file in messages, e.g. its path
 * @system_data: (nullable): the system file's bytes; %NULL for none
 * @user_name: the name of the user's file in messages
 * @user_data: (nullable): the user's file's bytes; %NULL for none
 * @error: (nullable): return location
 *
 * me_config_load() on files already read, for the tests and the fuzz target
 * (tests/fuzz/fuzz-config.c): the same rules, results and errors, and over
 * %ME_CONFIG_FILE_MAX bytes is %ME_ERROR_TOO_LARGE.  Files the configuration names (an
 * `smime-trust` file) are still read from disk.
 *
 * Returns: (transfer full): the configuration, or %NULL with @error set as by
 *   me_config_load()
 */
MeConfig *
me_config_load_from_data(const gchar *system_name, GBytes *system_data, const gchar *user_name, GBytes *user_data,
			 GError **error)
{
	g_autoptr(MeConfig) config = NULL;

	g_return_val_if_fail(system_name != NULL && user_name != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	config = config_new(system_data != NULL ? system_name : NULL, user_data != NULL ? user_name : NULL);
	if (!apply_data(config, system_name, system_data, FALSE, error))
		return NULL;
	if (!apply_data(config, user_name, user_data, TRUE, error))
		return NULL;
	if (!config_finish(config, error))
		return NULL;
	return g_steal_pointer(&config);
}

/**
 * me_config_load_default:
 * @error: (nullable): return location
 *
 * me_config_load() on `/etc/mailenroll/mailenroll.conf` and
 * `$XDG_CONFIG_HOME/mailenroll/mailenroll.conf`.  In the test build only (-DME_TEST_HOOKS:
 * the binaries the tests run, never the installed ones) a non-empty `$MAILENROLL_SYSCONFDIR`
 * replaces `/etc/mailenroll`.
 *
 * Returns: (transfer full): the configuration, or %NULL with @error set as by
 *   me_config_load()
 */
MeConfig *
me_config_load_default(GError **error)
{
	const gchar *sysconfdir = ME_CONFIG_SYSCONFDIR;
	g_autofree gchar *system_path = NULL;
	g_autofree gchar *user_path = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

#ifdef ME_TEST_HOOKS
	/* the test build only: a user who could move the system file could drop its [policy]
	 * locks, so what ships always reads /etc/mailenroll (docs/standards.md P-08) */
	{
		const gchar *env = g_getenv("MAILENROLL_SYSCONFDIR");
		if (env != NULL && env[0] != '\0' && strlen(env) <= CONFIG_ENV_PATH_MAX)
			sysconfdir = env;
	}
#endif
	system_path = g_build_filename(sysconfdir, ME_CONFIG_FILE_NAME, NULL);
	user_path = g_build_filename(g_get_user_config_dir(), PACKAGE_NAME, ME_CONFIG_FILE_NAME, NULL);
	return me_config_load(system_path, user_path, error);
}

/**
 * me_config_get_diagnostics:
 * @config: a configuration
 *
 * What was ignored while loading: unknown groups and keys, locked keys in the user file,
 * a [policy] group in the user file, CA groups the user may not add.  At most
 * %ME_CONFIG_DIAGNOSTICS_MAX, and one more saying that there were more.
 *
 * Returns: (transfer none) (element-type utf8): translated one-sentence messages, each
 *   naming its file; empty when there was nothing to say
 */
const GPtrArray *
me_config_get_diagnostics(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->diagnostics;
}

/**
 * me_config_get_general:
 * @config: a configuration
 *
 * Returns: (transfer none): the [general] group, defaults filled in
 */
const MeConfigGeneral *
me_config_get_general(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return &config->general;
}

/**
 * me_config_get_ca:
 * @config: a configuration
 * @name: (nullable): the NAME of a [ca NAME] group; %NULL for the default: the one
 *   `default-ca` names, else the only CA group when there is exactly one
 *
 * Returns: (transfer none) (nullable): the CA profile with [general] values filled in
 *   where the group sets none, or %NULL when there is no such CA (or, for %NULL, no
 *   default)
 */
const MeCaProfile *
me_config_get_ca(const MeConfig *config, const gchar *name)
{
	const CaEntry *entry;

	g_return_val_if_fail(config != NULL, NULL);

	if (name == NULL)
		name = config->general.default_ca;
	if (name == NULL) {
		entry = config->cas->len == 1 ? g_ptr_array_index(config->cas, 0) : NULL;
		return entry != NULL ? &entry->profile : NULL;
	}
	entry = find_ca(config, name);
	return entry != NULL ? &entry->profile : NULL;
}

/**
 * me_config_list_cas:
 * @config: a configuration
 *
 * Returns: (transfer none) (element-type MeCaProfile): every CA profile: the system
 *   file's in file order, then those the user file added
 */
const GPtrArray *
me_config_list_cas(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->cas;
}

/**
 * me_config_get_ca_key_origin:
 * @config: a configuration
 * @ca_name: the NAME of a [ca NAME] group
 * @key: a key of that group, e.g. `ca-file`
 *
 * Where a message about a CA setting sends the person: the file that set @key, else the
 * file that has the group, where the key would go.
 *
 * Returns: (transfer none) (nullable): the path; %NULL when there is no such CA
 */
const gchar *
me_config_get_ca_key_origin(const MeConfig *config, const gchar *ca_name, const gchar *key)
{
	g_autofree gchar *group = NULL;
	g_autofree gchar *id = NULL;
	const gchar *path;
	const CaEntry *entry;

	g_return_val_if_fail(config != NULL && ca_name != NULL && key != NULL, NULL);
	group = g_strconcat(GROUP_CA_PREFIX, ca_name, NULL);
	id = origin_key(group, key);
	path = g_hash_table_lookup(config->origins, id);
	if (path != NULL)
		return path;
	entry = find_ca(config, ca_name);
	return entry != NULL ? entry->origin : NULL;
}

/**
 * me_config_get_smtp:
 * @config: a configuration
 *
 * Returns: (transfer none): the [smtp] group, defaults filled in; @host is %NULL when
 *   no server is configured
 */
const MeConfigSmtp *
me_config_get_smtp(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return &config->smtp;
}

/**
 * me_config_is_locked:
 * @config: a configuration
 * @group: a group name: `general`, `smtp` or `ca NAME`
 * @key: (nullable): a key of that group; %NULL to ask whether the whole group is locked
 *
 * Whether the system file's [policy] locked covers @key: an entry `group/key`, `group/ *`
 * or `*`, and for a CA group also `ca * /key` and `ca * / *` (written without spaces).  A
 * CA key that falls back to the [general] key of the same name (key-type, key-usage,
 * auto-approve, trust-ca) is also locked by the lock of that [general] key.
 *
 * Returns: %TRUE if user values for @key are ignored
 */
gboolean
me_config_is_locked(const MeConfig *config, const gchar *group, const gchar *key)
{
	const KeyDesc *desc;

	g_return_val_if_fail(config != NULL, FALSE);
	g_return_val_if_fail(group != NULL, FALSE);

	/* a CA's key that falls back to [general] is locked with it: else a user's own value in a
	 * CA group would undo the lock (auto-approve=verified under a locked general/auto-approve) */
	desc = key != NULL && g_str_has_prefix(group, GROUP_CA_PREFIX) ? find_key(GROUP_CA, key) : NULL;
	if (desc != NULL && desc->inherit && me_config_is_locked(config, GROUP_GENERAL_NAME, key))
		return TRUE;

	for (guint i = 0; i < config->locks->len; i++) {
		const gchar *entry = g_ptr_array_index(config->locks, i);
		const gchar *slash = strrchr(entry, '/');
		g_autofree gchar *lock_group = NULL;

		if (g_strcmp0(entry, "*") == 0)
			return TRUE;
		lock_group = g_strndup(entry, (gsize)(slash - entry));
		if (!lock_group_matches(lock_group, group))
			continue;
		if (g_strcmp0(slash + 1, "*") == 0 || (key != NULL && g_strcmp0(slash + 1, key) == 0))
			return TRUE;
	}
	return FALSE;
}

/**
 * me_config_get_state_dir:
 * @config: a configuration
 *
 * Returns: (transfer none): where state lives: [general] state-dir, else
 *   `$XDG_STATE_HOME/mailenroll`.  State is per user: state.c refuses a folder that is not
 *   the user's own or that others may write to, so a state-dir shared by all users in the
 *   system file cannot be used
 */
const gchar *
me_config_get_state_dir(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->state_dir;
}

/**
 * me_config_dup_known_keys:
 * @group: `general`, `smtp`, `policy`, or `ca NAME` (any name)
 *
 * The keys mailenroll reads in @group, so that documentation and tools can be checked
 * against the code.
 *
 * Returns: (transfer full) (nullable): the key names in the order the example file lists
 *   them, or %NULL for a group mailenroll does not read
 */
GStrv
me_config_dup_known_keys(const gchar *group)
{
	g_autoptr(GStrvBuilder) builder = NULL;
	const gchar *ca_name = NULL;
	GroupKind kind;

	g_return_val_if_fail(group != NULL, NULL);

	kind = g_strcmp0(group, LOCK_ANY_CA) == 0 ? GROUP_CA : classify_group(group, &ca_name);
	if (kind == GROUP_UNKNOWN || kind == GROUP_BAD_CA)
		return NULL;
	builder = g_strv_builder_new();
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (keys[i].group == kind)
			g_strv_builder_add(builder, keys[i].key);
	}
	return g_strv_builder_end(builder);
}

/**
 * me_config_get_system_path:
 * @config: a configuration
 *
 * Returns: (transfer none) (nullable): the system file it was read from
 */
const gchar *
me_config_get_system_path(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->system_path;
}

/**
 * me_config_get_user_path:
 * @config: a configuration
 *
 * Returns: (transfer none) (nullable): the user's file, the one every write goes to
 */
const gchar *
me_config_get_user_path(const MeConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->user_path;
}

/**
 * me_config_get_new_ca_file:
 *
 * The trust anchors for the HTTPS of a CA that no profile names yet (a directory about
 * to be added): %NULL, the system's.  The test build alone lets `$MAILENROLL_TEST_CA_FILE`
 * replace them, for profiles without a ca-file as well.
 *
 * Returns: (transfer none) (nullable): a PEM file, or %NULL for the system's store
 */
const gchar *
me_config_get_new_ca_file(void)
{
	return default_ca_file();
}

/**
 * me_config_get_origin:
 * @config: a configuration
 * @group: `general`, `smtp` or `ca NAME`
 * @key: a key of that group
 *
 * Which file set @key.  A CA key that falls back to [general] (key-type, key-usage,
 * auto-approve, trust-ca) and is not set in the CA's group has the origin of the
 * [general] key.
 *
 * Returns: (transfer none) (nullable): the path of the file, or %NULL when the value is
 *   the default
 */
const gchar *
me_config_get_origin(const MeConfig *config, const gchar *group, const gchar *key)
{
	g_autofree gchar *id = NULL;
	const gchar *path;
	const gchar *ca_name = NULL;
	const KeyDesc *desc;

	g_return_val_if_fail(config != NULL && group != NULL && key != NULL, NULL);
	id = origin_key(group, key);
	path = g_hash_table_lookup(config->origins, id);
	if (path != NULL || classify_group(group, &ca_name) != GROUP_CA)
		return path;
	desc = find_key(GROUP_CA, key);
	if (desc == NULL || !desc->inherit)
		return NULL;
	return me_config_get_origin(config, GROUP_GENERAL_NAME, key);
}

/**
 * me_config_get_ca_origin:
 * @config: a configuration
 * @name: the NAME of a [ca NAME] group
 *
 * Returns: (transfer none) (nullable): the first file that has the group (the system
 *   file for a CA both have), or %NULL when there is no such CA
 */
const gchar *
me_config_get_ca_origin(const MeConfig *config, const gchar *name)
{
	const CaEntry *entry;

	g_return_val_if_fail(config != NULL && name != NULL, NULL);
	entry = find_ca(config, name);
	return entry != NULL ? entry->origin : NULL;
}

/**
 * me_config_is_known_key:
 * @group: `general`, `smtp`, `policy` or `ca NAME`
 * @key: a key
 *
 * Returns: %TRUE if mailenroll reads @key in @group (and @group is well formed)
 */
gboolean
me_config_is_known_key(const gchar *group, const gchar *key)
{
	const gchar *ca_name = NULL;

	g_return_val_if_fail(group != NULL && key != NULL, FALSE);
	return find_key(classify_group(group, &ca_name), key) != NULL;
}

/**
 * me_config_ca_name_is_valid:
 * @name: a CA name, the part after `ca `
 *
 * Returns: %TRUE if `[ca @name]` is a group name the configuration takes
 */
gboolean
me_config_ca_name_is_valid(const gchar *name)
{
	g_return_val_if_fail(name != NULL, FALSE);
	return check_ca_name(name);
}

/**
 * me_config_directory_url_is_valid:
 * @url: an ACME directory URL
 *
 * Returns: %TRUE if `directory=` takes @url: https, or http on 127.0.0.1, ::1 or
 *   localhost, without credentials or fragment
 */
gboolean
me_config_directory_url_is_valid(const gchar *url)
{
	g_return_val_if_fail(url != NULL, FALSE);
	return strlen(url) <= ME_CONFIG_VALUE_MAX && !has_control(url) && check_directory_url(url);
}

/**
 * me_config_dup_choices:
 * @group: `general`, `smtp` or `ca NAME`
 * @key: a key that takes one word of a list, e.g. `key-type`
 *
 * Returns: (transfer full) (nullable): the words @key takes, in the order messages list
 *   them, or %NULL for a key that takes no list of words
 */
GStrv
me_config_dup_choices(const gchar *group, const gchar *key)
{
	const gchar *ca_name = NULL;
	const KeyDesc *desc;

	g_return_val_if_fail(group != NULL && key != NULL, NULL);
	desc = find_key(classify_group(group, &ca_name), key);
	if (desc == NULL || desc->choice == NULL)
		return NULL;
	return g_strdupv((gchar **)desc->choice->names);
}

/* the words of @choice whose values @value holds: the one it is, or for flags each bit */
static gchar *
choice_format(const Choice *choice, gint value, gboolean flags)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) words = NULL;

	for (guint i = 0; choice->names[i] != NULL; i++) {
		gint v = choice->parse != NULL ? choice->parse(choice->names[i]) : (gint)i;
		if ((!flags && v == value) || (flags && v != 0 && (value & v) == v))
			g_strv_builder_add(builder, choice->names[i]);
	}
	words = g_strv_builder_end(builder);
	return words[0] != NULL ? g_strjoinv(";", words) : NULL;
}

static gchar *
value_format(const KeyDesc *desc, gconstpointer field)
{
	switch (desc->kind) {
	case KIND_CHOICE:
		return choice_format(desc->choice, *(const gint *)field, FALSE);
	case KIND_FLAGS:
		return choice_format(desc->choice, *(const gint *)field, TRUE);
	case KIND_BOOL:
		return g_strdup(*(const gboolean *)field ? "true" : "false");
	case KIND_UINT:
		return g_strdup_printf("%u", *(const guint *)field);
	case KIND_FRACTION: {
		gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
		return g_strdup(g_ascii_dtostr(buf, sizeof(buf), *(const gdouble *)field));
	}
	case KIND_KEYRING:
		return *(gchar *const *)field != NULL ? g_strconcat(KEYRING_PREFIX, *(gchar *const *)field, NULL) : NULL;
	case KIND_LIST:
		return *(GStrv const *)field != NULL && (*(GStrv const *)field)[0] != NULL
			   ? g_strjoinv(";", *(GStrv const *)field)
			   : NULL;
	case KIND_TEXT:
	default:
		return g_strdup(*(gchar *const *)field);
	}
}

/**
 * me_config_dup_value:
 * @config: a configuration
 * @group: `general`, `smtp` or `ca NAME`
 * @key: a key of that group
 *
 * The value in effect, spelled as the configuration file spells it: defaults filled in,
 * a CA's fallbacks to [general] resolved, `keyring:LABEL` for keyring references, lists
 * joined with `;`.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL when it is unset (or there is
 *   no such key or CA)
 */
gchar *
me_config_dup_value(const MeConfig *config, const gchar *group, const gchar *key)
{
	const gchar *ca_name = NULL;
	GroupKind kind;
	const KeyDesc *desc;
	gconstpointer target;

	g_return_val_if_fail(config != NULL && group != NULL && key != NULL, NULL);
	kind = classify_group(group, &ca_name);
	desc = find_key(kind, key);
	if (desc == NULL || kind == GROUP_POLICY)
		return NULL;
	if (kind == GROUP_GENERAL) {
		target = &config->general;
	} else if (kind == GROUP_SMTP) {
		target = &config->smtp;
	} else {
		const CaEntry *entry = find_ca(config, ca_name);
		if (entry == NULL)
			return NULL;
		target = &entry->profile;
	}
	return value_format(desc, G_STRUCT_MEMBER_P(target, desc->offset));
}
