/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the configuration: the system key file (/etc/mailenroll/mailenroll.conf) overlaid by the
 * user's ($XDG_CONFIG_HOME/mailenroll/mailenroll.conf), with keys the system file can lock;
 * data/mailenroll.conf.example documents every group and key */

#include <glib.h>

#include "challenge.h"
#include "keys.h"
#include "me-error.h"

G_BEGIN_DECLS

/* the folder of the system file; only the test build lets $MAILENROLL_SYSCONFDIR replace it */
#define ME_CONFIG_SYSCONFDIR "/etc/mailenroll"
#define ME_CONFIG_FILE_NAME  "mailenroll.conf"

/* a larger file is refused with %ME_ERROR_TOO_LARGE */
#define ME_CONFIG_FILE_MAX (1024 * 1024)
/* at most this many [ca NAME] groups, in one file and in all */
#define ME_CONFIG_CA_MAX 64
/* the longest CA name, the part after "ca " */
#define ME_CONFIG_CA_NAME_MAX 64
/* the longest single value, in bytes */
#define ME_CONFIG_VALUE_MAX 4096
/* the most entries of one list value (contact, trusted-authserv-ids, quirks, locked) */
#define ME_CONFIG_LIST_MAX 64
/* the longest keyring label after `keyring:` */
#define ME_CONFIG_KEYRING_LABEL_MAX 256
/* diagnostics kept; one more says that the rest were dropped */
#define ME_CONFIG_DIAGNOSTICS_MAX 64

#define ME_CONFIG_RENEW_FRACTION_DEFAULT 0.667
#define ME_CONFIG_MAX_FRAME_BYTES_DEFAULT (16 * 1024 * 1024)
#define ME_CONFIG_MAX_FRAME_BYTES_MIN	  1024
#define ME_CONFIG_MAX_FRAME_BYTES_MAX	  (256 * 1024 * 1024)
#define ME_CONFIG_MAIL_WAIT_DEFAULT	  300
#define ME_CONFIG_MAIL_WAIT_MAX		  86400
#define ME_CONFIG_SMTP_PORT_DEFAULT	  587
/* `smime-trust` values besides an absolute path */
#define ME_CONFIG_SMIME_TRUST_SYSTEM "system"
#define ME_CONFIG_SMIME_TRUST_NONE   "none"
/* the default port when [smtp] security is tls (RFC 8314 §3.3) */
#define ME_CONFIG_SMTP_PORT_TLS_DEFAULT 465

/**
 * MeConfigReplyMethod:
 * @ME_CONFIG_REPLY_METHOD_PRINT: the CLI prints the reply for the person's own mailer
 * @ME_CONFIG_REPLY_METHOD_FILE: the CLI writes the reply to a file
 * @ME_CONFIG_REPLY_METHOD_SMTP: the CLI submits the reply through [smtp]
 *
 * `reply-method`: how the CLI hands out the challenge reply.
 */
typedef enum {
	ME_CONFIG_REPLY_METHOD_PRINT = 0,
	ME_CONFIG_REPLY_METHOD_FILE,
	ME_CONFIG_REPLY_METHOD_SMTP,
} MeConfigReplyMethod;

/**
 * MeConfigAutoApprove:
 * @ME_CONFIG_AUTO_APPROVE_NEVER: the person is asked about every challenge
 * @ME_CONFIG_AUTO_APPROVE_VERIFIED: a challenge that matches a pending order and whose
 *   authenticity verified is answered without asking
 *
 * `auto-approve`: whether policy pre-approves challenges.
 */
typedef enum {
	ME_CONFIG_AUTO_APPROVE_NEVER = 0,
	ME_CONFIG_AUTO_APPROVE_VERIFIED,
} MeConfigAutoApprove;

/**
 * MeConfigStore:
 * @ME_CONFIG_STORE_THUNDERBIRD: the launching Thunderbird profile's NSS database
 * @ME_CONFIG_STORE_NSSDB: an NSS database folder
 * @ME_CONFIG_STORE_PKCS12: a PKCS#12 file
 *
 * `store`: where the issued certificate and its key are installed.
 */
typedef enum {
	ME_CONFIG_STORE_THUNDERBIRD = 0,
	ME_CONFIG_STORE_NSSDB,
	ME_CONFIG_STORE_PKCS12,
} MeConfigStore;

/**
 * MeConfigMailTiming:
 * @ME_CONFIG_MAIL_TIMING_AUTHZ: the CA mails the challenge when the authorization is fetched
 * @ME_CONFIG_MAIL_TIMING_CHALLENGE: the CA mails only after the challenge is POSTed
 * @ME_CONFIG_MAIL_TIMING_DETECT: as the CA was seen to do before; a CA not seen yet gets
 *   its challenge POSTed before the reply only when the authorization would expire anyway
 *
 * `mail-timing`: when a CA sends the challenge mail (docs/design.md §3).
 */
typedef enum {
	ME_CONFIG_MAIL_TIMING_AUTHZ = 0,
	ME_CONFIG_MAIL_TIMING_CHALLENGE,
	ME_CONFIG_MAIL_TIMING_DETECT,
} MeConfigMailTiming;

/**
 * MeConfigSmtpSecurity:
 * @ME_CONFIG_SMTP_SECURITY_STARTTLS: plain connection upgraded with STARTTLS (port 587)
 * @ME_CONFIG_SMTP_SECURITY_TLS: TLS from the first byte (port 465)
 * @ME_CONFIG_SMTP_SECURITY_NONE: no TLS; allowed only for a loopback host
 *
 * `security` of [smtp].
 */
typedef enum {
	ME_CONFIG_SMTP_SECURITY_STARTTLS = 0,
	ME_CONFIG_SMTP_SECURITY_TLS,
	ME_CONFIG_SMTP_SECURITY_NONE,
} MeConfigSmtpSecurity;

/**
 * MeConfigGeneral:
 * @default_ca: (nullable): `default-ca`, the name of a [ca NAME] group
 * @key_type: `key-type`, the certificate key (default rsa-3072)
 * @key_usage: `key-usage` (default dual)
 * @reply_method: `reply-method` (default print)
 * @auto_approve: `auto-approve` (default never)
 * @renew_fraction: `renew-fraction`: renew once this part of the lifetime has passed,
 *   0 < x < 1 (default 0.667)
 * @state_dir: (nullable): `state-dir`, an absolute path; see me_config_get_state_dir()
 * @max_frame_bytes: `max-frame-bytes`, the inbound native-messaging frame cap
 * @store: `store` (default thunderbird)
 * @trust_ca: `trust-ca`: mark the issuing CA trusted for mail in the store (default false)
 * @maildir: (nullable): `maildir`, the Maildir where the mailbox's mail arrives; the
 *   command line watches it for challenge mail (and unattended renewals need it)
 *
 * The [general] group, defaults filled in.
 */
typedef struct {
	gchar *default_ca;
	MeKeyType key_type;
	MeKeyUsage key_usage;
	MeConfigReplyMethod reply_method;
	MeConfigAutoApprove auto_approve;
	gdouble renew_fraction;
	gchar *state_dir;
	guint max_frame_bytes;
	MeConfigStore store;
	gboolean trust_ca;
	gchar *maildir;
} MeConfigGeneral;

/**
 * MeCaProfile:
 * @name: the NAME of the [ca NAME] group
 * @directory: the ACME directory URL: https, or http on 127.0.0.1, ::1 or localhost
 * @ca_file: (nullable): an absolute path to a PEM bundle trusted for the ACME server
 * @token_join: how this CA joins the token parts (default string)
 * @mail_timing: when this CA mails the challenge (default detect)
 * @mail_wait: seconds to wait for the mail, 1 to 86400 (default 300)
 * @eab_kid: (nullable): the External Account Binding key identifier
 * @eab_secret: (nullable): the keyring label of the EAB MAC key (the part after `keyring:`)
 * @key_type: the certificate key; [general] key-type unless the group sets it
 * @key_usage: [general] key-usage unless the group sets it
 * @trusted_authserv_ids: (array zero-terminated=1): authserv-ids whose
 *   Authentication-Results are believed; empty when none
 * @dns_server: (nullable): the nameserver for DKIM key lookups, `host`, `host:port`,
 *   `[v6]:port` or a bare IPv6 address
 * @smime_trust: `smime-trust` as written: `system` (the default), `none`, or the absolute
 *   path of a PEM file of CA certificates
 * @smime_trust_file: (nullable): the PEM file of trust anchors for S/MIME-signed
 *   challenges that @smime_trust names: the path, the system's bundle
 *   (me_smime_trust_system_file()), or %NULL for `none` and for `system` when the system
 *   has no bundle; a path the configuration names was checked to hold PEM certificates
 * @dkim_selector: (nullable): the selector of a provisioned DKIM signing key
 * @dkim_domain: (nullable): its `d=` domain
 * @dkim_key: (nullable): the keyring label of that key
 * @auto_approve: [general] auto-approve unless the group sets it
 * @trust_ca: [general] trust-ca unless the group sets it
 * @contact: (array zero-terminated=1): the account's `mailto:` contacts, or `none`; empty
 *   when not set, which makes the mailbox that creates the account its contact
 * @agree_tos: the terms of service are agreed by policy (default false)
 * @agreed_terms: (nullable): `agreed-terms`, the URL of the terms of service the person
 *   agreed to; they count as agreed while the CA's directory names the same URL
 * @quirks: `quirks`, the departures from RFC 8823 allowed for this CA (none by default;
 *   docs/interop.md)
 *
 * One CA profile, everything resolved.  The three DKIM fields are all set or all %NULL,
 * and so are @eab_kid and @eab_secret.
 */
typedef struct {
	gchar *name;
	gchar *directory;
	gchar *ca_file;
	MeTokenJoin token_join;
	MeConfigMailTiming mail_timing;
	guint mail_wait;
	gchar *eab_kid;
	gchar *eab_secret;
	MeKeyType key_type;
	MeKeyUsage key_usage;
	GStrv trusted_authserv_ids;
	gchar *dns_server;
	gchar *smime_trust;
	gchar *smime_trust_file;
	gchar *dkim_selector;
	gchar *dkim_domain;
	gchar *dkim_key;
	MeConfigAutoApprove auto_approve;
	gboolean trust_ca;
	GStrv contact;
	gboolean agree_tos;
	MeChallengeQuirks quirks;
	gchar *agreed_terms;
} MeCaProfile;

/**
 * MeConfigSmtp:
 * @host: (nullable): the submission server, a host name or IP address; %NULL when none
 * @port: 1 to 65535 (default 587, or 465 with security tls)
 * @security: (default starttls)
 * @username: (nullable): the login name
 * @password: (nullable): the keyring label of the password (the part after `keyring:`)
 * @ca_file: (nullable): an absolute path to PEM certificates trusted for the server's TLS
 *   certificate instead of the system's (a private mail CA); checked to hold PEM
 *   certificates
 *
 * The [smtp] group, used when `reply-method` is smtp.
 */
typedef struct {
	gchar *host;
	guint port;
	MeConfigSmtpSecurity security;
	gchar *username;
	gchar *password;
	gchar *ca_file;
} MeConfigSmtp;

typedef struct _MeConfig MeConfig;

MeConfig *
me_config_load(const gchar *system_path, const gchar *user_path, GError **error);
MeConfig *
me_config_load_default(GError **error);
MeConfig *
me_config_load_from_data(const gchar *system_name, GBytes *system_data, const gchar *user_name, GBytes *user_data,
			 GError **error);
void
me_config_free(MeConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeConfig, me_config_free)

const GPtrArray *
me_config_get_diagnostics(const MeConfig *config);
const MeConfigGeneral *
me_config_get_general(const MeConfig *config);
const MeCaProfile *
me_config_get_ca(const MeConfig *config, const gchar *name);
const GPtrArray *
me_config_list_cas(const MeConfig *config);
const gchar *
me_config_get_ca_key_origin(const MeConfig *config, const gchar *ca_name, const gchar *key);
const MeConfigSmtp *
me_config_get_smtp(const MeConfig *config);
gboolean
me_config_is_locked(const MeConfig *config, const gchar *group, const gchar *key);
const gchar *
me_config_get_state_dir(const MeConfig *config);
GStrv
me_config_dup_known_keys(const gchar *group);
const gchar *
me_config_get_system_path(const MeConfig *config);
const gchar *
me_config_get_user_path(const MeConfig *config);
const gchar *
me_config_get_new_ca_file(void);
const gchar *
me_config_get_origin(const MeConfig *config, const gchar *group, const gchar *key);
const gchar *
me_config_get_ca_origin(const MeConfig *config, const gchar *name);
gboolean
me_config_is_known_key(const gchar *group, const gchar *key);
gboolean
me_config_ca_name_is_valid(const gchar *name);
gboolean
me_config_directory_url_is_valid(const gchar *url);
GStrv
me_config_dup_choices(const gchar *group, const gchar *key);
gchar *
me_config_dup_value(const MeConfig *config, const gchar *group, const gchar *key);

G_END_DECLS
