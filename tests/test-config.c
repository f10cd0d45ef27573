/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestConfig"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autocleanups.h"
#include "keys.h"
#include "me-config.h"
#include "me-error.h"
#include "test-util.h"

#define DIRECTORY "https://acme.example.org/directory"

/* the folders main() made, which GLib caches before any test runs */
static gchar *xdg_config_home;
static gchar *xdg_state_home;

/* ---- small helpers */

/* plain writes: g_file_set_contents() would fsync each of the many files made here */
static gchar *
write_file(const gchar *dir, const gchar *name, const gchar *contents, gssize len)
{
	gchar *path = g_build_filename(dir, name, NULL);
	gsize left = len < 0 ? strlen(contents) : (gsize)len;
	gint fd;

	fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	while (left > 0) {
		gssize n = write(fd, contents, left);
		g_assert_cmpint(n, >, 0);
		contents += n;
		left -= (gsize)n;
	}
	g_assert_cmpint(close(fd), ==, 0);
	return path;
}

/* loads @system_text and @user_text (each %NULL for no file) from files in @dir */
static MeConfig *
load_texts(const gchar *dir, const gchar *system_text, const gchar *user_text, GError **error)
{
	g_autofree gchar *system_path = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user_path = g_build_filename(dir, "user.conf", NULL);

	(void)g_unlink(system_path);
	(void)g_unlink(user_path);
	if (system_text != NULL)
		g_free(write_file(dir, "system.conf", system_text, -1));
	if (user_text != NULL)
		g_free(write_file(dir, "user.conf", user_text, -1));
	return me_config_load(system_path, user_path, error);
}

static MeConfig *
load_ok(const gchar *dir, const gchar *system_text, const gchar *user_text)
{
	g_autoptr(GError) error = NULL;
	MeConfig *config = load_texts(dir, system_text, user_text, &error);

	g_assert_no_error(error);
	g_assert_nonnull(config);
	return config;
}

/* the error loading fails with; its message must be one sentence naming the file */
static GError *
load_fail(const gchar *dir, const gchar *system_text, const gchar *user_text, gint code)
{
	GError *error = NULL;
	g_autoptr(MeConfig) config = load_texts(dir, system_text, user_text, &error);

	g_assert_null(config);
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
	return error;
}

static void
assert_no_diagnostics(const MeConfig *config)
{
	const GPtrArray *diagnostics = me_config_get_diagnostics(config);

	for (guint i = 0; i < diagnostics->len; i++)
		g_test_message("unexpected diagnostic: %s", (const gchar *)g_ptr_array_index(diagnostics, i));
	g_assert_cmpuint(diagnostics->len, ==, 0);
}

/* exactly @expected, in order */
static void
assert_diagnostics(const MeConfig *config, const gchar *const *expected)
{
	const GPtrArray *diagnostics = me_config_get_diagnostics(config);
	guint n = g_strv_length((gchar **)expected);

	for (guint i = 0; i < diagnostics->len; i++)
		g_test_message("diagnostic: %s", (const gchar *)g_ptr_array_index(diagnostics, i));
	g_assert_cmpuint(diagnostics->len, ==, n);
	for (guint i = 0; i < n; i++)
		g_assert_cmpstr(g_ptr_array_index(diagnostics, i), ==, expected[i]);
}

static void
assert_strv(GStrv actual, const gchar *const *expected)
{
	g_assert_nonnull(actual);
	g_assert_true(g_strv_equal((const gchar *const *)actual, expected));
}

static void
assert_defaults_general(const MeConfigGeneral *general)
{
	g_assert_null(general->default_ca);
	g_assert_cmpint(general->key_type, ==, ME_KEY_TYPE_RSA_3072);
	g_assert_cmpint(general->key_usage, ==, ME_KEY_USAGE_DUAL);
	g_assert_cmpint(general->reply_method, ==, ME_CONFIG_REPLY_METHOD_PRINT);
	g_assert_cmpint(general->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_cmpfloat(general->renew_fraction, ==, 0.667);
	g_assert_null(general->state_dir);
	g_assert_null(general->maildir);
	g_assert_cmpuint(general->max_frame_bytes, ==, 16 * 1024 * 1024);
	g_assert_cmpint(general->store, ==, ME_CONFIG_STORE_THUNDERBIRD);
	g_assert_false(general->trust_ca);
}

static void
assert_defaults_smtp(const MeConfigSmtp *smtp)
{
	g_assert_null(smtp->host);
	g_assert_cmpuint(smtp->port, ==, 587);
	g_assert_cmpint(smtp->security, ==, ME_CONFIG_SMTP_SECURITY_STARTTLS);
	g_assert_null(smtp->username);
	g_assert_null(smtp->password);
	g_assert_null(smtp->ca_file);
}

static void
assert_default_state_dir(const MeConfig *config)
{
	g_autofree gchar *expected = g_build_filename(xdg_state_home, "mailenroll", NULL);
	g_assert_cmpstr(me_config_get_state_dir(config), ==, expected);
}

/* ---- defaults and layering */

static void
test_defaults(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *missing = g_build_filename(dir, "nowhere", "mailenroll.conf", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) none = me_config_load(NULL, NULL, &error);
	g_autoptr(MeConfig) absent = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(none);
	assert_defaults_general(me_config_get_general(none));
	assert_defaults_smtp(me_config_get_smtp(none));
	assert_no_diagnostics(none);
	assert_default_state_dir(none);
	g_assert_cmpuint(me_config_list_cas(none)->len, ==, 0);
	g_assert_null(me_config_get_ca(none, NULL));
	g_assert_null(me_config_get_ca(none, "example"));
	g_assert_false(me_config_is_locked(none, "general", "key-type"));
	g_assert_false(me_config_is_locked(none, "general", NULL));

	/* missing files, even in a missing folder, are the same as none */
	absent = me_config_load(missing, missing, &error);
	g_assert_no_error(error);
	assert_defaults_general(me_config_get_general(absent));
	assert_defaults_smtp(me_config_get_smtp(absent));
	assert_no_diagnostics(absent);
	me_test_rm_rf(dir);
}

static void
test_system_only(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[general]\n"
					     "default-ca=corp\n"
					     "key-type=ec-p384\n"
					     "key-usage=signing\n"
					     "reply-method=smtp\n"
					     "auto-approve=verified\n"
					     "renew-fraction=0.5\n"
					     "state-dir=/var/lib/me\n"
					     "maildir=/home/me/Maildir\n"
					     "max-frame-bytes=1024\n"
					     "store=pkcs12\n"
					     "trust-ca=true\n"
					     "[ca corp]\n"
					     "directory=https://ca.corp.example/acme/directory\n"
					     "ca-file=/etc/ssl/corp.pem\n"
					     "token-join=binary\n"
					     "mail-timing=challenge\n"
					     "mail-wait=86400\n"
					     "eab-kid=kid-1\n"
					     "eab-secret=keyring:corp eab\n"
					     "trusted-authserv-ids=mx1.corp.example; mx2.corp.example;\n"
					     "dns-server=[::1]:5353\n"
					     "dkim-selector=s2026._x\n"
					     "dkim-domain=corp.example\n"
					     "dkim-key=keyring:dkim\n"
					     "contact=mailto:pki@corp.example;MAILTO:ops@corp.example\n"
					     "agree-tos=true\n"
					     "[smtp]\n"
					     "host=smtp.corp.example\n"
					     "port=2525\n"
					     "security=tls\n"
					     "username=alice\n"
					     "password=keyring:smtp\n",
					     NULL);
	const MeConfigGeneral *general = me_config_get_general(config);
	const MeConfigSmtp *smtp = me_config_get_smtp(config);
	const MeCaProfile *ca = me_config_get_ca(config, NULL);
	const gchar *authserv[] = {"mx1.corp.example", "mx2.corp.example", NULL};
	const gchar *contact[] = {"mailto:pki@corp.example", "MAILTO:ops@corp.example", NULL};

	assert_no_diagnostics(config);
	g_assert_cmpstr(general->default_ca, ==, "corp");
	g_assert_cmpint(general->key_type, ==, ME_KEY_TYPE_EC_P384);
	g_assert_cmpint(general->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_cmpint(general->reply_method, ==, ME_CONFIG_REPLY_METHOD_SMTP);
	g_assert_cmpint(general->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_VERIFIED);
	g_assert_cmpfloat(general->renew_fraction, ==, 0.5);
	g_assert_cmpstr(general->state_dir, ==, "/var/lib/me");
	g_assert_cmpstr(general->maildir, ==, "/home/me/Maildir");
	g_assert_cmpstr(me_config_get_state_dir(config), ==, "/var/lib/me");
	g_assert_cmpuint(general->max_frame_bytes, ==, 1024);
	g_assert_cmpint(general->store, ==, ME_CONFIG_STORE_PKCS12);
	g_assert_true(general->trust_ca);

	g_assert_nonnull(ca);
	g_assert_true(ca == me_config_get_ca(config, "corp"));
	g_assert_cmpstr(ca->name, ==, "corp");
	g_assert_cmpstr(ca->directory, ==, "https://ca.corp.example/acme/directory");
	g_assert_cmpstr(ca->ca_file, ==, "/etc/ssl/corp.pem");
	g_assert_cmpint(ca->token_join, ==, ME_TOKEN_JOIN_BINARY);
	g_assert_cmpint(ca->mail_timing, ==, ME_CONFIG_MAIL_TIMING_CHALLENGE);
	g_assert_cmpuint(ca->mail_wait, ==, 86400);
	g_assert_cmpstr(ca->eab_kid, ==, "kid-1");
	/* the label after keyring:, spaces and all */
	g_assert_cmpstr(ca->eab_secret, ==, "corp eab");
	assert_strv(ca->trusted_authserv_ids, authserv);
	g_assert_cmpstr(ca->dns_server, ==, "[::1]:5353");
	g_assert_cmpstr(ca->dkim_selector, ==, "s2026._x");
	g_assert_cmpstr(ca->dkim_domain, ==, "corp.example");
	g_assert_cmpstr(ca->dkim_key, ==, "dkim");
	assert_strv(ca->contact, contact);
	g_assert_true(ca->agree_tos);
	/* the [general] values, as the group sets none */
	g_assert_cmpint(ca->key_type, ==, ME_KEY_TYPE_EC_P384);
	g_assert_cmpint(ca->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_cmpint(ca->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_VERIFIED);
	g_assert_true(ca->trust_ca);

	g_assert_cmpstr(smtp->host, ==, "smtp.corp.example");
	g_assert_cmpuint(smtp->port, ==, 2525);
	g_assert_cmpint(smtp->security, ==, ME_CONFIG_SMTP_SECURITY_TLS);
	g_assert_cmpstr(smtp->username, ==, "alice");
	g_assert_cmpstr(smtp->password, ==, "smtp");
	me_test_rm_rf(dir);
}

/* contact=none: an account without a contact, rather than the mailbox as default */
static void
test_contact_none(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autoptr(MeConfig) config = load_ok(dir, "[ca corp]\ndirectory=" DIRECTORY "\ncontact=none\n", NULL);
	const gchar *none[] = {"none", NULL};

	assert_no_diagnostics(config);
	assert_strv(me_config_get_ca(config, "corp")->contact, none);
	me_test_rm_rf(dir);
}

/* issue 16: quirks= is a list of known quirk names, none by default; an unknown entry is a
 * diagnostic and the known ones still count; a user value replaces the system one */
static void
test_quirks(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 = g_strdup_printf("In %s, [ca a2c] quirks has the entry “future-quirk”, which is not known and "
					       "is ignored; check its spelling, or use one of missing-auto-submitted.",
					       system);
	g_autofree gchar *d2 = g_strdup_printf("In %s, [ca mine] quirks has the entry “Missing-Auto-Submitted”, which is not "
					       "known and is ignored; check its spelling, or use one of "
					       "missing-auto-submitted.",
					       user);
	const gchar *expected[] = {d1, d2, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[ca plain]\ndirectory=" DIRECTORY "\n"
					     "[ca a2c]\ndirectory=" DIRECTORY "\n"
					     "quirks = future-quirk ; missing-auto-submitted;\n"
					     "[ca off]\ndirectory=" DIRECTORY "\nquirks=missing-auto-submitted\n",
					     "[ca off]\nquirks=\n"
					     "[ca mine]\ndirectory=" DIRECTORY "\nquirks=Missing-Auto-Submitted\n");

	assert_diagnostics(config, expected);
	g_assert_cmpint(me_config_get_ca(config, "plain")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	g_assert_cmpint(me_config_get_ca(config, "a2c")->quirks, ==, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED);
	/* the user's empty list turns off what the system file turned on */
	g_assert_cmpint(me_config_get_ca(config, "off")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	g_assert_cmpint(me_config_get_ca(config, "mine")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	g_assert_cmpstr(me_config_get_ca_key_origin(config, "a2c", "quirks"), ==, system);
	g_assert_cmpstr(me_config_get_ca_key_origin(config, "off", "quirks"), ==, user);
	me_test_rm_rf(dir);
}

/* issue 16: an administrator who locks quirks (for one CA, or for every CA) keeps a user
 * from turning a quirk on, in the system file's CA groups and in the user's own */
static void
test_quirks_locked(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [ca corp] quirks is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 =
	    g_strdup_printf("In %s, [ca own] quirks is ignored because the system configuration locks it.", user);
	const gchar *expected_one[] = {d1, NULL};
	const gchar *expected_all[] = {d1, d2, NULL};
	const gchar *user_text = "[ca corp]\nquirks=missing-auto-submitted\n"
				 "[ca own]\ndirectory=" DIRECTORY "\nquirks=missing-auto-submitted\n";
	g_autoptr(MeConfig) one = load_ok(dir,
					  "[policy]\nlocked=ca corp/quirks\n"
					  "[ca corp]\ndirectory=" DIRECTORY "\n",
					  user_text);
	g_autoptr(MeConfig) all = NULL;
	g_autoptr(MeConfig) set_off = NULL;

	assert_diagnostics(one, expected_one);
	g_assert_true(me_config_is_locked(one, "ca corp", "quirks"));
	g_assert_cmpint(me_config_get_ca(one, "corp")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	/* only corp is locked: the user's own CA may have the quirk */
	g_assert_cmpint(me_config_get_ca(one, "own")->quirks, ==, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED);

	all = load_ok(dir, "[policy]\nlocked=ca */quirks\n[ca corp]\ndirectory=" DIRECTORY "\n", user_text);
	assert_diagnostics(all, expected_all);
	g_assert_cmpint(me_config_get_ca(all, "corp")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	g_assert_cmpint(me_config_get_ca(all, "own")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);

	/* locked off explicitly, with an empty list */
	set_off = load_ok(dir, "[policy]\nlocked=ca corp/quirks\n[ca corp]\ndirectory=" DIRECTORY "\nquirks=\n",
			  "[ca corp]\nquirks=missing-auto-submitted\n");
	assert_diagnostics(set_off, expected_one);
	g_assert_cmpint(me_config_get_ca(set_off, "corp")->quirks, ==, ME_CHALLENGE_QUIRK_NONE);
	me_test_rm_rf(dir);
}

static void
test_user_overrides(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[general]\n"
					     "key-type=ec-p256\n"
					     "store=nssdb\n"
					     "[ca corp]\n"
					     "directory=" DIRECTORY "\n"
					     "mail-wait=60\n"
					     "contact=mailto:a@example.org;mailto:b@example.org\n"
					     "[smtp]\n"
					     "host=smtp.example.org\n",
					     "# the user's own\n"
					     "[general]\n"
					     "key-type=rsa-4096\n"
					     "default-ca=mine\n"
					     "[ca corp]\n"
					     "mail-wait=120\n"
					     "contact=mailto:me@example.org\n"
					     "[ca mine]\n"
					     "directory=http://localhost:14000/dir\n"
					     "key-type=ec-p256\n"
					     "[smtp]\n"
					     "security=tls\n");
	const MeConfigGeneral *general = me_config_get_general(config);
	const GPtrArray *cas = me_config_list_cas(config);
	const MeCaProfile *corp = me_config_get_ca(config, "corp");
	const MeCaProfile *mine = me_config_get_ca(config, "mine");
	const gchar *contact[] = {"mailto:me@example.org", NULL};

	assert_no_diagnostics(config);
	g_assert_cmpint(general->key_type, ==, ME_KEY_TYPE_RSA_4096);
	g_assert_cmpint(general->store, ==, ME_CONFIG_STORE_NSSDB);
	/* the system's CA first, then the user's */
	g_assert_cmpuint(cas->len, ==, 2);
	g_assert_true(g_ptr_array_index(cas, 0) == (gpointer)corp);
	g_assert_true(g_ptr_array_index(cas, 1) == (gpointer)mine);
	g_assert_true(me_config_get_ca(config, NULL) == mine);
	g_assert_null(me_config_get_ca(config, "other"));

	/* key by key: directory from the system, mail-wait and the whole list from the user */
	g_assert_cmpstr(corp->directory, ==, DIRECTORY);
	g_assert_cmpuint(corp->mail_wait, ==, 120);
	assert_strv(corp->contact, contact);
	g_assert_cmpint(corp->key_type, ==, ME_KEY_TYPE_RSA_4096);
	g_assert_cmpstr(mine->directory, ==, "http://localhost:14000/dir");
	g_assert_cmpint(mine->key_type, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpuint(mine->mail_wait, ==, 300);
	g_assert_cmpuint(g_strv_length(mine->contact), ==, 0);
	g_assert_cmpuint(g_strv_length(mine->trusted_authserv_ids), ==, 0);

	/* security tls without a port: 465, not 587 */
	g_assert_cmpstr(me_config_get_smtp(config)->host, ==, "smtp.example.org");
	g_assert_cmpint(me_config_get_smtp(config)->security, ==, ME_CONFIG_SMTP_SECURITY_TLS);
	g_assert_cmpuint(me_config_get_smtp(config)->port, ==, 465);
	me_test_rm_rf(dir);
}

static void
test_ca_inherit(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[general]\n"
					     "key-type=ec-p384\n"
					     "key-usage=encryption\n"
					     "auto-approve=verified\n"
					     "trust-ca=true\n"
					     "[ca a]\n"
					     "directory=" DIRECTORY "\n"
					     "[ca b]\n"
					     "directory=" DIRECTORY "\n"
					     "key-type=rsa-2048\n"
					     "key-usage=dual\n"
					     "auto-approve=never\n"
					     "trust-ca=false\n",
					     /* a [general] value from the user reaches a CA that sets none */
					     "[general]\n"
					     "key-usage=signing\n");
	const MeCaProfile *a = me_config_get_ca(config, "a");
	const MeCaProfile *b = me_config_get_ca(config, "b");

	assert_no_diagnostics(config);
	g_assert_cmpint(a->key_type, ==, ME_KEY_TYPE_EC_P384);
	g_assert_cmpint(a->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_cmpint(a->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_VERIFIED);
	g_assert_true(a->trust_ca);
	g_assert_cmpint(b->key_type, ==, ME_KEY_TYPE_RSA_2048);
	g_assert_cmpint(b->key_usage, ==, ME_KEY_USAGE_DUAL);
	g_assert_cmpint(b->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_false(b->trust_ca);
	/* two CAs and no default-ca: no default */
	g_assert_null(me_config_get_ca(config, NULL));
	me_test_rm_rf(dir);
}

static void
test_smtp_ports(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autoptr(MeConfig) starttls = load_ok(dir, "[smtp]\nhost=192.0.2.25\n", NULL);
	g_autoptr(MeConfig) tls_port = load_ok(dir, "[smtp]\nhost=smtp.example.org\nsecurity=tls\nport=10465\n", NULL);
	g_autoptr(MeConfig) none_loopback = load_ok(dir, "[smtp]\nhost=127.0.0.1\nsecurity=none\nport=2525\n", NULL);
	g_autoptr(MeConfig) none_v6 = load_ok(dir, "[smtp]\nhost=::1\nsecurity=none\n", NULL);
	g_autoptr(MeConfig) none_name = load_ok(dir, "[smtp]\nhost=LocalHost\nsecurity=none\n", NULL);

	g_assert_cmpuint(me_config_get_smtp(starttls)->port, ==, 587);
	g_assert_cmpuint(me_config_get_smtp(tls_port)->port, ==, 10465);
	g_assert_cmpuint(me_config_get_smtp(none_loopback)->port, ==, 2525);
	g_assert_cmpint(me_config_get_smtp(none_v6)->security, ==, ME_CONFIG_SMTP_SECURITY_NONE);
	g_assert_cmpint(me_config_get_smtp(none_name)->security, ==, ME_CONFIG_SMTP_SECURITY_NONE);
	me_test_rm_rf(dir);
}

/* ---- policy */

static void
test_locked_key(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [general] key-type is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 = g_strdup_printf(
	    "In %s, [general] max-frame-bytes is ignored because the system configuration locks it.", user);
	const gchar *expected[] = {d1, d2, NULL};
	/* a locked key the system sets keeps the system value, one it does not keeps the default;
	 * a bad user value for a locked key is not even looked at */
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\n"
					     "locked = general/key-type ; general/max-frame-bytes;\n"
					     "[general]\n"
					     "key-type=ec-p256\n",
					     "[general]\n"
					     "key-type=rsa-4096\n"
					     "max-frame-bytes=not a number\n"
					     "key-usage=signing\n");
	const MeConfigGeneral *general = me_config_get_general(config);

	assert_diagnostics(config, expected);
	g_assert_cmpint(general->key_type, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpuint(general->max_frame_bytes, ==, ME_CONFIG_MAX_FRAME_BYTES_DEFAULT);
	g_assert_cmpint(general->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_true(me_config_is_locked(config, "general", "key-type"));
	g_assert_true(me_config_is_locked(config, "general", "max-frame-bytes"));
	g_assert_false(me_config_is_locked(config, "general", "key-usage"));
	g_assert_false(me_config_is_locked(config, "general", NULL));
	g_assert_false(me_config_is_locked(config, "smtp", "key-type"));
	me_test_rm_rf(dir);
}

static void
test_locked_group(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [smtp] host is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 =
	    g_strdup_printf("In %s, [smtp] security is ignored because the system configuration locks it.", user);
	g_autofree gchar *d3 =
	    g_strdup_printf("In %s, [ca corp] mail-wait is ignored because the system configuration locks it.", user);
	const gchar *expected[] = {d1, d2, d3, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\n"
					     "locked=smtp/*;ca corp/*\n"
					     "[smtp]\n"
					     "host=smtp.corp.example\n"
					     "[ca corp]\n"
					     "directory=" DIRECTORY "\n",
					     "[smtp]\n"
					     "host=evil.example\n"
					     "security=none\n"
					     "[ca corp]\n"
					     "mail-wait=5\n"
					     "[ca own]\n"
					     "directory=https://own.example/dir\n");

	assert_diagnostics(config, expected);
	g_assert_cmpstr(me_config_get_smtp(config)->host, ==, "smtp.corp.example");
	g_assert_cmpint(me_config_get_smtp(config)->security, ==, ME_CONFIG_SMTP_SECURITY_STARTTLS);
	g_assert_cmpuint(me_config_get_ca(config, "corp")->mail_wait, ==, 300);
	/* another CA may still be added */
	g_assert_cmpstr(me_config_get_ca(config, "own")->directory, ==, "https://own.example/dir");
	g_assert_true(me_config_is_locked(config, "smtp", NULL));
	g_assert_true(me_config_is_locked(config, "smtp", "port"));
	g_assert_true(me_config_is_locked(config, "ca corp", NULL));
	g_assert_false(me_config_is_locked(config, "ca own", "mail-wait"));
	g_assert_false(me_config_is_locked(config, "general", "store"));
	me_test_rm_rf(dir);
}

static void
test_locked_everything(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [general] store is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 = g_strdup_printf("In %s, the group [ca own] is ignored because the system configuration does not allow adding certificate authorities.",
					       user);
	const gchar *expected[] = {d1, d2, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\nlocked=*\n",
					     "[general]\nstore=pkcs12\n"
					     "[ca own]\ndirectory=https://own.example/dir\n");

	assert_diagnostics(config, expected);
	assert_defaults_general(me_config_get_general(config));
	g_assert_cmpuint(me_config_list_cas(config)->len, ==, 0);
	g_assert_true(me_config_is_locked(config, "general", NULL));
	g_assert_true(me_config_is_locked(config, "ca anything", "directory"));
	g_assert_true(me_config_is_locked(config, "smtp", "host"));
	me_test_rm_rf(dir);
}

static void
test_locked_any_ca(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [ca corp] token-join is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 = g_strdup_printf("In %s, the group [ca own] is ignored because the system configuration does not allow adding certificate authorities.",
					       user);
	const gchar *expected[] = {d1, d2, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\nlocked=ca */*\n"
					     "[ca corp]\ndirectory=" DIRECTORY "\n",
					     "[general]\nkey-type=ec-p256\n"
					     "[ca corp]\ntoken-join=binary\n"
					     "[ca own]\ndirectory=https://own.example/dir\n");

	assert_diagnostics(config, expected);
	/* [general] stays the user's */
	g_assert_cmpint(me_config_get_general(config)->key_type, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpuint(me_config_list_cas(config)->len, ==, 1);
	g_assert_cmpint(me_config_get_ca(config, "corp")->token_join, ==, ME_TOKEN_JOIN_STRING);
	g_assert_null(me_config_get_ca(config, "own"));
	g_assert_true(me_config_is_locked(config, "ca corp", NULL));
	g_assert_true(me_config_is_locked(config, "ca new", "mail-wait"));
	g_assert_false(me_config_is_locked(config, "general", "key-type"));
	me_test_rm_rf(dir);
}

/* a CA key that falls back to [general] is locked with the [general] key: a user's own CA
 * (or the user's value for a system CA) cannot undo the administrator's auto-approve=never */
static void
test_locked_general_fallback(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 = g_strdup_printf("In %s, [ca corp] auto-approve is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 = g_strdup_printf("In %s, [ca own] auto-approve is ignored because the system configuration locks it.", user);
	g_autofree gchar *d3 = g_strdup_printf("In %s, [ca own] key-type is ignored because the system configuration locks it.", user);
	const gchar *expected[] = {d1, d2, d3, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\n"
					     "locked=general/auto-approve;general/key-type\n"
					     "[general]\n"
					     "key-type=ec-p384\n"
					     "[ca corp]\n"
					     "directory=" DIRECTORY "\n"
					     "auto-approve=never\n",
					     "[ca corp]\n"
					     "auto-approve=verified\n"
					     "[ca own]\n"
					     "directory=https://own.example/dir\n"
					     "auto-approve=verified\n"
					     "key-type=rsa-2048\n"
					     "key-usage=signing\n");

	assert_diagnostics(config, expected);
	g_assert_cmpint(me_config_get_ca(config, "corp")->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_cmpint(me_config_get_ca(config, "own")->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_cmpint(me_config_get_ca(config, "own")->key_type, ==, ME_KEY_TYPE_EC_P384);
	/* what [general] does not lock stays the user's */
	g_assert_cmpint(me_config_get_ca(config, "own")->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_true(me_config_is_locked(config, "ca own", "auto-approve"));
	g_assert_false(me_config_is_locked(config, "ca own", "key-usage"));
	g_assert_false(me_config_is_locked(config, "ca own", "directory"));
	me_test_rm_rf(dir);
}

static void
test_locked_any_ca_key(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [ca corp] agree-tos is ignored because the system configuration locks it.", user);
	g_autofree gchar *d2 =
	    g_strdup_printf("In %s, [ca own] agree-tos is ignored because the system configuration locks it.", user);
	const gchar *expected[] = {d1, d2, NULL};
	/* one key in every CA: adding a CA stays allowed, its locked key is not */
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[policy]\nlocked=ca */agree-tos\n"
					     "[ca corp]\ndirectory=" DIRECTORY "\n",
					     "[ca corp]\nagree-tos=true\n"
					     "[ca own]\ndirectory=https://own.example/dir\nagree-tos=true\n");

	assert_diagnostics(config, expected);
	g_assert_false(me_config_get_ca(config, "corp")->agree_tos);
	g_assert_false(me_config_get_ca(config, "own")->agree_tos);
	g_assert_cmpstr(me_config_get_ca(config, "own")->directory, ==, "https://own.example/dir");
	me_test_rm_rf(dir);
}

static void
test_policy_in_user_file(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 = g_strdup_printf(
	    "In %s, the group [policy] is ignored because only the system configuration can lock settings.", user);
	const gchar *expected[] = {d1, NULL};
	/* a user cannot unlock what the system locked, nor lock anything */
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[general]\nkey-type=ec-p256\n",
					     "[policy]\nlocked=\n"
					     "[general]\nkey-type=rsa-2048\n");

	assert_diagnostics(config, expected);
	g_assert_cmpint(me_config_get_general(config)->key_type, ==, ME_KEY_TYPE_RSA_2048);
	g_assert_false(me_config_is_locked(config, "general", "key-type"));
	me_test_rm_rf(dir);
}

static void
test_policy_entries(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *d1 = g_strdup_printf(
	    "In %s, [policy] locked names “general/colour”, which is not a known setting; check its spelling.", system);
	g_autofree gchar *d2 = g_strdup_printf(
	    "In %s, [policy] locked names “future/key”, which is not a known setting; check its spelling.", system);
	g_autofree gchar *d3 =
	    g_strdup_printf("In %s, [policy] unlocked is not known and is ignored; check its spelling.", system);
	const gchar *expected[] = {d1, d2, d3, NULL};
	const gchar *bad[] = {"general", "general key-type", "/key-type", "general/", "ca bad*name/directory",
			      "ca/directory", "ca /*"};
	g_autoptr(MeConfig) config =
	    load_ok(dir, "[policy]\nlocked=general/colour;future/key;smtp/port\nunlocked=general/*\n", NULL);

	/* unknown names are kept, for a newer mailenroll reading the same file */
	assert_diagnostics(config, expected);
	g_assert_true(me_config_is_locked(config, "smtp", "port"));
	g_assert_true(me_config_is_locked(config, "general", "colour"));
	g_assert_false(me_config_is_locked(config, "general", "key-type"));

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *text = g_strdup_printf("[policy]\nlocked=smtp/*;%s\n", bad[i]);
		g_autofree gchar *message = g_strdup_printf(
		    "In %s, [policy] locked has the entry “%s”; use group/key, group/* or * entries separated by semicolons.",
		    system, bad[i]);
		g_autoptr(GError) error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, message);
	}
	me_test_rm_rf(dir);
}

/* ---- smime-trust */

/* a PEM file with one self-signed CA certificate, made with the project's test helpers */
static gchar *
write_trust_pem(const gchar *dir, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(X509) cert = NULL;
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	gchar *pem = NULL;
	long len;

	g_assert_no_error(error);
	cert = me_test_make_cert("smime trust test root", key, NULL, key, TRUE, NULL);
	g_assert_nonnull(cert);
	g_assert_cmpint(PEM_write_bio_X509(bio, cert), ==, 1);
	len = BIO_get_mem_data(bio, &pem);
	return write_file(dir, name, pem, len);
}

static const MeCaProfile *
smime_ca(MeConfig *config)
{
	const MeCaProfile *ca = me_config_get_ca(config, "x");
	g_assert_nonnull(ca);
	return ca;
}

/* system (the default, found as OpenSSL finds it), none, or a PEM file that must parse */
static void
test_smime_trust(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *pem = write_trust_pem(dir, "trust.pem");
	g_autofree gchar *bundle = write_trust_pem(dir, "bundle.pem");
	g_autofree gchar *missing = g_build_filename(dir, "missing.pem", NULL);
	g_autofree gchar *garbage = write_file(dir, "garbage.pem", "not a certificate\n", -1);
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *text = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *saved = g_getenv("SSL_CERT_FILE");
	g_autofree gchar *saved_copy = g_strdup(saved);

	/* the default: the system's bundle, which $SSL_CERT_FILE names for OpenSSL */
	g_setenv("SSL_CERT_FILE", bundle, TRUE);
	config = load_ok(dir, "[ca x]\ndirectory=" DIRECTORY "\n", NULL);
	assert_no_diagnostics(config);
	g_assert_cmpstr(smime_ca(config)->smime_trust, ==, "system");
	g_assert_cmpstr(smime_ca(config)->smime_trust_file, ==, bundle);
	g_clear_pointer(&config, me_config_free);
	/* a system without a bundle: no trust, and no error (DKIM still works) */
	g_setenv("SSL_CERT_FILE", missing, TRUE);
	config = load_ok(dir, "[ca x]\ndirectory=" DIRECTORY "\nsmime-trust=system\n", NULL);
	g_assert_null(smime_ca(config)->smime_trust_file);
	g_clear_pointer(&config, me_config_free);
	if (saved_copy != NULL)
		g_setenv("SSL_CERT_FILE", saved_copy, TRUE);
	else
		g_unsetenv("SSL_CERT_FILE");

	config = load_ok(dir, "[ca x]\ndirectory=" DIRECTORY "\nsmime-trust=none\n", NULL);
	g_assert_cmpstr(smime_ca(config)->smime_trust, ==, "none");
	g_assert_null(smime_ca(config)->smime_trust_file);
	g_clear_pointer(&config, me_config_free);
	/* the user's file names its own */
	text = g_strdup_printf("[ca x]\nsmime-trust=%s\n", pem);
	config = load_ok(dir, "[ca x]\ndirectory=" DIRECTORY "\nsmime-trust=none\n", text);
	assert_no_diagnostics(config);
	g_assert_cmpstr(smime_ca(config)->smime_trust, ==, pem);
	g_assert_cmpstr(smime_ca(config)->smime_trust_file, ==, pem);
	g_clear_pointer(&config, me_config_free);
	g_clear_pointer(&text, g_free);

	/* a file that is not there, or is no PEM: the configuration does not load */
	text = g_strdup_printf("[ca x]\ndirectory=" DIRECTORY "\nsmime-trust=%s\n", missing);
	error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [ca x] smime-trust names %s, which cannot be read; check the path and its permissions, or write system or none.",
				   system, missing);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&text, g_free);
	g_clear_pointer(&expected, g_free);
	text = g_strdup_printf("[ca x]\ndirectory=" DIRECTORY "\nsmime-trust=%s\n", garbage);
	error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [ca x] smime-trust names %s, which does not hold PEM certificates only; give a PEM file of CA certificates, or write system or none.",
				   system, garbage);
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

/* ---- [smtp] ca-file */

/* issue 15: a private CA for the mail server: an absolute path to PEM certificates, checked
 * when the configuration loads; a wrong one names the key and both files */
static void
test_smtp_ca_file(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *pem = write_trust_pem(dir, "mail-ca.pem");
	g_autofree gchar *missing = g_build_filename(dir, "missing.pem", NULL);
	g_autofree gchar *garbage = write_file(dir, "garbage.pem", "not a certificate\n", -1);
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *text = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;

	config = load_ok(dir, "[smtp]\nhost=mail.example.org\n", NULL);
	g_assert_null(me_config_get_smtp(config)->ca_file);
	g_clear_pointer(&config, me_config_free);
	text = g_strdup_printf("[smtp]\nhost=mail.example.org\nsecurity=tls\nca-file=%s\n", pem);
	config = load_ok(dir, text, NULL);
	assert_no_diagnostics(config);
	g_assert_cmpstr(me_config_get_smtp(config)->ca_file, ==, pem);
	g_clear_pointer(&config, me_config_free);
	g_clear_pointer(&text, g_free);

	/* a relative path */
	error = load_fail(dir, "[smtp]\nhost=mail.example.org\nca-file=mail-ca.pem\n", NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [smtp] ca-file is “mail-ca.pem”; use an absolute path.", system);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&expected, g_free);
	/* a file that is not there, named in the user's file: that file is the one named */
	text = g_strdup_printf("[smtp]\nca-file=%s\n", missing);
	error = load_fail(dir, "[smtp]\nhost=mail.example.org\n", text, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [smtp] ca-file names %s, which cannot be read; check the path and its permissions.",
				   user, missing);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&expected, g_free);
	g_clear_pointer(&text, g_free);
	/* no PEM */
	text = g_strdup_printf("[smtp]\nhost=mail.example.org\nca-file=%s\n", garbage);
	error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [smtp] ca-file names %s, which does not hold PEM certificates only; give the PEM file of the certificate authority that issued the mail server's certificate.",
				   system, garbage);
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

/* ---- invalid values */

typedef struct {
	const gchar *group;
	const gchar *key;
	const gchar *value;
	/* the message after "In FILE, " */
	const gchar *message;
} BadValue;

static const BadValue bad_values[] = {
    {"ca example", "agreed-terms", "http://acme.example.org/terms",
     "[ca example] agreed-terms is “http://acme.example.org/terms”; use the https:// URL of the terms of service you agreed to."},
    {"ca example", "agreed-terms", "https://user@acme.example.org/terms",
     "[ca example] agreed-terms is “https://user@acme.example.org/terms”; use the https:// URL of the terms of service you agreed to."},
    {"general", "default-ca", "no such", "[general] default-ca is “no such”; use the NAME of a [ca NAME] group."},
    {"general", "key-type", "rsa-1000",
     "[general] key-type is “rsa-1000”; use one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096."},
    {"ca example", "key-type", "rsa-1000",
     "[ca example] key-type is “rsa-1000”; use one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096."},
    {"general", "key-type", "RSA-3072",
     "[general] key-type is “RSA-3072”; use one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096."},
    {"general", "key-usage", "both", "[general] key-usage is “both”; use one of signing, encryption, dual."},
    {"ca example", "key-usage", "unknown",
     "[ca example] key-usage is “unknown”; use one of signing, encryption, dual."},
    {"general", "reply-method", "mail", "[general] reply-method is “mail”; use one of print, file, smtp."},
    {"general", "auto-approve", "always", "[general] auto-approve is “always”; use one of never, verified."},
    {"ca example", "auto-approve", "yes", "[ca example] auto-approve is “yes”; use one of never, verified."},
    {"general", "renew-fraction", "1",
     "[general] renew-fraction is “1”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", "0.0",
     "[general] renew-fraction is “0.0”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", "-0.5",
     "[general] renew-fraction is “-0.5”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", "5e-1",
     "[general] renew-fraction is “5e-1”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", "0.5.1",
     "[general] renew-fraction is “0.5.1”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", "nan",
     "[general] renew-fraction is “nan”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "renew-fraction", ".", "[general] renew-fraction is “.”; use a number greater than 0 and less than 1, such as 0.667."},
    {"general", "state-dir", "state", "[general] state-dir is “state”; use an absolute path."},
    {"general", "maildir", "Maildir", "[general] maildir is “Maildir”; use an absolute path."},
    {"general", "max-frame-bytes", "1023", "[general] max-frame-bytes is “1023”; use a whole number from 1024 to 268435456."},
    {"general", "max-frame-bytes", "268435457",
     "[general] max-frame-bytes is “268435457”; use a whole number from 1024 to 268435456."},
    {"general", "max-frame-bytes", "16M", "[general] max-frame-bytes is “16M”; use a whole number from 1024 to 268435456."},
    {"general", "max-frame-bytes", "+2048", "[general] max-frame-bytes is “+2048”; use a whole number from 1024 to 268435456."},
    {"general", "store", "keychain", "[general] store is “keychain”; use one of thunderbird, nssdb, pkcs12."},
    {"general", "trust-ca", "yes", "[general] trust-ca is “yes”; use true or false."},
    {"ca example", "trust-ca", "TRUE", "[ca example] trust-ca is “TRUE”; use true or false."},
    {"ca example", "agree-tos", "1", "[ca example] agree-tos is “1”; use true or false."},
    {"ca example", "directory", "ftp://acme.example.org/dir",
     "[ca example] directory is “ftp://acme.example.org/dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "directory", "http://acme.example.org/dir",
     "[ca example] directory is “http://acme.example.org/dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "directory", "http://127.0.0.2/dir",
     "[ca example] directory is “http://127.0.0.2/dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "directory", "https://user:pw@acme.example.org/dir",
     "[ca example] directory is “https://user:pw@acme.example.org/dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "directory", "acme.example.org/dir",
     "[ca example] directory is “acme.example.org/dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "directory", "https:///dir",
     "[ca example] directory is “https:///dir”; use an https:// URL, or an http:// one on 127.0.0.1, ::1 or localhost."},
    {"ca example", "ca-file", "ca.pem", "[ca example] ca-file is “ca.pem”; use an absolute path."},
    {"ca example", "token-join", "concat", "[ca example] token-join is “concat”; use one of string, binary."},
    {"ca example", "mail-timing", "later", "[ca example] mail-timing is “later”; use one of authz, challenge, detect."},
    {"ca example", "mail-wait", "0", "[ca example] mail-wait is “0”; use a whole number from 1 to 86400."},
    {"ca example", "mail-wait", "86401", "[ca example] mail-wait is “86401”; use a whole number from 1 to 86400."},
    {"ca example", "mail-wait", "5m", "[ca example] mail-wait is “5m”; use a whole number from 1 to 86400."},
    {"ca example", "eab-kid", "kid 1", "[ca example] eab-kid is “kid 1”; use the key identifier the CA gave, without spaces."},
    {"ca example", "eab-secret", "keyring:",
     "[ca example] eab-secret is “keyring:”; use keyring: followed by a label of 1 to 256 bytes."},
    {"ca example", "trusted-authserv-ids", "mx.example.org;bad id",
     "[ca example] trusted-authserv-ids has the entry “bad id”; use host names without spaces, separated by semicolons."},
    {"ca example", "dns-server", "192.0.2.53:0",
     "[ca example] dns-server is “192.0.2.53:0”; use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53."},
    {"ca example", "dns-server", "[::1]:65536",
     "[ca example] dns-server is “[::1]:65536”; use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53."},
    {"ca example", "dns-server", "192.0.2",
     "[ca example] dns-server is “192.0.2”; use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53."},
    {"ca example", "dns-server", "[192.0.2.1]:53",
     "[ca example] dns-server is “[192.0.2.1]:53”; use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53."},
    {"ca example", "dns-server", "ns_1.example.org",
     "[ca example] dns-server is “ns_1.example.org”; use an IP address or host name with an optional port from 1 to 65535, such as 192.0.2.53:53."},
    {"ca example", "dkim-selector", "mail 2026", "[ca example] dkim-selector is “mail 2026”; use a DKIM selector such as mail2026."},
    {"ca example", "dkim-domain", "-example.org",
     "[ca example] dkim-domain is “-example.org”; use a domain name such as example.org."},
    {"ca example", "dkim-key", "keyring:" "0123456789012345678901234567890123456789012345678901234567890123"
     "0123456789012345678901234567890123456789012345678901234567890123"
     "0123456789012345678901234567890123456789012345678901234567890123"
     "0123456789012345678901234567890123456789012345678901234567890123x",
     "[ca example] dkim-key is “keyring:01234567890123456789012345678901234567890123456789012345…”; use keyring: followed by a label of 1 to 256 bytes."},
    {"ca example", "contact", "admin@example.org",
     "[ca example] contact has the entry “admin@example.org”; use mailto: addresses separated by semicolons, such as mailto:admin@example.org."},
    {"ca example", "contact", "mailto:a@example.org,b@example.org",
     "[ca example] contact has the entry “mailto:a@example.org,b@example.org”; use mailto: addresses separated by semicolons, such as mailto:admin@example.org."},
    {"ca example", "contact", "mailto:a@example.org?subject=x",
     "[ca example] contact has the entry “mailto:a@example.org?subject=x”; use mailto: addresses separated by semicolons, such as mailto:admin@example.org."},
    {"smtp", "host", "smtp example", "[smtp] host is “smtp example”; use a host name or an IP address."},
    {"smtp", "port", "0", "[smtp] port is “0”; use a whole number from 1 to 65535."},
    {"smtp", "port", "65536", "[smtp] port is “65536”; use a whole number from 1 to 65535."},
    {"smtp", "security", "ssl", "[smtp] security is “ssl”; use one of starttls, tls, none."},
    {"smtp", "password", "keyring:", "[smtp] password is “keyring:”; use keyring: followed by a label of 1 to 256 bytes."},
    /* before the meaning is looked at */
    {"general", "store", "", "[general] store is empty; give it a value or remove the line."},
    {"ca example", "eab-secret", "", "[ca example] eab-secret is empty; give it a value or remove the line."},
    {"general", "state-dir", "/var/lib/a\\tb", "[general] state-dir contains a control character; remove it."},
    {"smtp", "username", "alice\\nBcc: x", "[smtp] username contains a control character; remove it."},
    {"general", "state-dir", "/var/lib\\q", "[general] state-dir has a backslash that starts no valid escape; write a backslash as \\\\."},
    {"ca example", "contact", "mailto:a@example.org;mailto:b\\tc@example.org",
     "[ca example] contact contains a control character; remove it."},
    {"ca example", "smime-trust", "trust.pem",
     "[ca example] smime-trust is “trust.pem”; use system, none, or the absolute path of a PEM file of CA certificates."},
};

static void
test_bad_values(void)
{
	g_autofree gchar *dir = me_test_tmpdir();

	for (gsize i = 0; i < G_N_ELEMENTS(bad_values); i++) {
		const BadValue *bad = &bad_values[i];
		/* the directory first, so a bad directory is the only problem of its group */
		g_autofree gchar *ca_lines = g_str_equal(bad->key, "directory") ? g_strdup("")
										: g_strdup("directory=" DIRECTORY "\n");
		g_autofree gchar *text = g_strdup_printf("[ca example]\n%s[%s]\n%s=%s\n", ca_lines, bad->group,
							 bad->key, bad->value);
		g_autofree gchar *path = NULL;
		g_autofree gchar *expected = NULL;
		g_autoptr(GError) error = NULL;

		/* from the system file and from the user's alike */
		for (guint layer = 0; layer < 2; layer++) {
			path = g_build_filename(dir, layer == 0 ? "system.conf" : "user.conf", NULL);
			expected = g_strdup_printf("In %s, %s", path, bad->message);
			g_test_message("%s", text);
			error = layer == 0 ? load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA)
					   : load_fail(dir, NULL, text, ME_ERROR_INVALID_DATA);
			g_assert_cmpstr(error->message, ==, expected);
			g_clear_error(&error);
			g_clear_pointer(&path, g_free);
			g_clear_pointer(&expected, g_free);
		}
	}
	me_test_rm_rf(dir);
}

static void
test_bad_value_hidden_by_user(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *expected = g_strdup_printf("In %s, [general] store is “keychain”; use one of thunderbird, nssdb, pkcs12.", system);
	/* a bad system value is an error even where the user's file sets the key */
	g_autoptr(GError) error =
	    load_fail(dir, "[general]\nstore=keychain\n", "[general]\nstore=nssdb\n", ME_ERROR_INVALID_DATA);

	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

static void
test_long_values(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autoptr(GString) list = g_string_new("[ca example]\ndirectory=" DIRECTORY "\ncontact=");
	g_autofree gchar *long_path = g_strnfill(ME_CONFIG_VALUE_MAX, 'a');
	g_autofree gchar *text = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;

	long_path[0] = '/';
	text = g_strdup_printf("[general]\nstate-dir=%s\n", long_path);
	config = load_ok(dir, text, NULL);
	g_assert_cmpstr(me_config_get_general(config)->state_dir, ==, long_path);
	g_clear_pointer(&text, g_free);
	text = g_strdup_printf("[general]\nstate-dir=%sb\n", long_path);
	error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [general] state-dir is longer than 4096 bytes; shorten it.", system);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&expected, g_free);

	for (guint i = 0; i <= ME_CONFIG_LIST_MAX; i++)
		g_string_append_printf(list, "mailto:a%u@example.org;", i);
	g_string_append_c(list, '\n');
	error = load_fail(dir, list->str, NULL, ME_ERROR_INVALID_DATA);
	expected = g_strdup_printf("In %s, [ca example] contact has more than 64 entries; remove some.", system);
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

static void
test_directory_loopback(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	const gchar *good[] = {"http://127.0.0.1:14000/dir", "http://localhost/directory", "http://[::1]:8080/dir",
			       "https://acme.example.org/dir?x=1", "https://192.0.2.1/dir", "HTTPS://acme.example.org/dir"};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree gchar *text = g_strdup_printf("[ca t]\ndirectory=%s\n", good[i]);
		g_autoptr(MeConfig) config = load_ok(dir, text, NULL);
		g_assert_cmpstr(me_config_get_ca(config, NULL)->directory, ==, good[i]);
	}
	/* the refusals are in bad_values */
	me_test_rm_rf(dir);
}

static void
test_literal_secrets(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	const struct {
		const gchar *group;
		const gchar *key;
	} secrets[] = {{"ca example", "eab-secret"}, {"ca example", "dkim-key"}, {"smtp", "password"}};

	for (gsize i = 0; i < G_N_ELEMENTS(secrets); i++) {
		g_autofree gchar *text = g_strdup_printf("[ca example]\ndirectory=" DIRECTORY "\n[%s]\n%s=hunter2-s3cr3t\n",
							 secrets[i].group, secrets[i].key);
		g_autofree gchar *path = g_build_filename(dir, "user.conf", NULL);
		g_autofree gchar *expected = g_strdup_printf(
		    "In %s, [%s] %s holds a secret, which a configuration file must not; store it in the keyring with “mailenroll provision” and write keyring:LABEL here instead.",
		    path, secrets[i].group, secrets[i].key);
		g_autoptr(GError) error = load_fail(dir, NULL, text, ME_ERROR_INVALID_DATA);

		g_assert_cmpstr(error->message, ==, expected);
		/* the secret itself never reaches a message */
		g_assert_null(strstr(error->message, "s3cr3t"));
	}
	me_test_rm_rf(dir);
}

static void
test_cross_checks(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	const struct {
		const gchar *system_text;
		const gchar *user_text;
		gboolean user_named;
		const gchar *message;
	} cases[] = {
	    {"[ca x]\nca-file=/x.pem\n", NULL, FALSE,
	     "[ca x] has no directory; add directory= with the CA's ACME directory URL."},
	    {NULL, "[ca mine]\nmail-wait=5\n", TRUE,
	     "[ca mine] has no directory; add directory= with the CA's ACME directory URL."},
	    {"[general]\ndefault-ca=corp\n[ca other]\ndirectory=" DIRECTORY "\n", NULL, FALSE,
	     "[general] default-ca is “corp”, but there is no [ca corp] group; add that group or name an existing one."},
	    {"[ca x]\ndirectory=" DIRECTORY "\ndkim-selector=s\ndkim-key=keyring:k\n", NULL, FALSE,
	     "[ca x] sets only some of dkim-selector, dkim-domain and dkim-key; set all three, or none."},
	    /* the user's half of the pair is the one named */
	    {"[ca x]\ndirectory=" DIRECTORY "\n", "[ca x]\neab-secret=keyring:eab\n", TRUE,
	     "[ca x] sets only one of eab-kid and eab-secret; set both, or neither."},
	    {"[general]\nreply-method=smtp\n", NULL, FALSE,
	     "[general] reply-method is “smtp” but [smtp] has no host; set one, or choose print or file."},
	    {"[smtp]\nhost=smtp.example.org\n", "[smtp]\nsecurity=none\n", TRUE,
	     "[smtp] security is “none” but the host smtp.example.org is not this computer; use starttls or tls."},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *expected =
		    g_strdup_printf("In %s, %s", cases[i].user_named ? user : system, cases[i].message);
		g_autoptr(GError) error =
		    load_fail(dir, cases[i].system_text, cases[i].user_text, ME_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, expected);
	}
	me_test_rm_rf(dir);
}

static void
test_bad_ca_names(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *long_name = g_strnfill(ME_CONFIG_CA_NAME_MAX + 1, 'n');
	g_autofree gchar *long_group = g_strconcat("ca ", long_name, NULL);
	const gchar *bad[] = {"ca", "ca ", "ca a b", "ca a/b", "ca *", "ca é", long_group};
	g_autofree gchar *max_name = g_strnfill(ME_CONFIG_CA_NAME_MAX, 'n');
	g_autofree gchar *good_text = g_strdup_printf("[ca %s]\ndirectory=" DIRECTORY "\n", max_name);
	g_autoptr(MeConfig) config = load_ok(dir, good_text, NULL);

	g_assert_nonnull(me_config_get_ca(config, max_name));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *text = g_strdup_printf("[%s]\ndirectory=" DIRECTORY "\n", bad[i]);
		g_autoptr(GError) error = load_fail(dir, text, NULL, ME_ERROR_INVALID_DATA);
		g_autofree gchar *prefix = g_strdup_printf("In %s, the group [", system);

		g_assert_true(g_str_has_prefix(error->message, prefix));
		g_assert_true(g_str_has_suffix(error->message,
					       "] has an invalid name; after “ca ” use 1 to 64 letters, digits, dots, hyphens or underscores."));
	}
	me_test_rm_rf(dir);
}

/* ---- forward compatibility */

static void
test_unknown(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autofree gchar *d1 =
	    g_strdup_printf("In %s, [general] colour is not known and is ignored; check its spelling.", system);
	g_autofree gchar *d2 =
	    g_strdup_printf("In %s, the group [future] is not known and is ignored; check its spelling.", system);
	g_autofree gchar *d3 =
	    g_strdup_printf("In %s, [ca corp] keytype is not known and is ignored; check its spelling.", user);
	g_autofree gchar *d4 =
	    g_strdup_printf("In %s, the group [General] is not known and is ignored; check its spelling.", user);
	const gchar *expected[] = {d1, d2, d3, d4, NULL};
	g_autoptr(MeConfig) config = load_ok(dir,
					     "[general]\ncolour=blue\nkey-type=ec-p256\n"
					     "[future]\nthing=1\n"
					     "[ca corp]\ndirectory=" DIRECTORY "\n",
					     /* GLib drops key[de] unless German is a language of the
					      * locale; either way the value is never used */
					     "[ca corp]\nkeytype=rsa-2048\nkey-type[de]=rsa-2048\n"
					     "[General]\nkey-type=rsa-2048\n");

	assert_diagnostics(config, expected);
	g_assert_cmpint(me_config_get_general(config)->key_type, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpint(me_config_get_ca(config, "corp")->key_type, ==, ME_KEY_TYPE_EC_P256);
	me_test_rm_rf(dir);
}

static void
test_diagnostics_capped(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *last = g_strdup_printf(
	    "In %s, more settings are ignored than are listed; check the file for spelling mistakes.", system);
	g_autoptr(GString) text = g_string_new("[general]\n");
	g_autoptr(MeConfig) config = NULL;
	const GPtrArray *diagnostics;

	for (guint i = 0; i < 1000; i++)
		g_string_append_printf(text, "unknown-%u=1\n", i);
	config = load_ok(dir, text->str, NULL);
	diagnostics = me_config_get_diagnostics(config);
	g_assert_cmpuint(diagnostics->len, ==, ME_CONFIG_DIAGNOSTICS_MAX + 1);
	g_assert_cmpstr(g_ptr_array_index(diagnostics, ME_CONFIG_DIAGNOSTICS_MAX), ==, last);
	me_test_rm_rf(dir);
}

/* ---- the files themselves */

static void
test_file_too_large(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *big = g_malloc(ME_CONFIG_FILE_MAX + 2);
	g_autofree gchar *path = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;

	/* a comment of exactly the limit is fine, one byte more is not */
	memset(big, '#', ME_CONFIG_FILE_MAX);
	big[ME_CONFIG_FILE_MAX - 1] = '\n';
	big[ME_CONFIG_FILE_MAX] = '\0';
	config = load_ok(dir, big, NULL);
	assert_no_diagnostics(config);

	big[ME_CONFIG_FILE_MAX - 1] = '#';
	big[ME_CONFIG_FILE_MAX] = '\n';
	big[ME_CONFIG_FILE_MAX + 1] = '\0';
	path = g_build_filename(dir, "user.conf", NULL);
	expected = g_strdup_printf("The configuration file %s is larger than 1 MiB; shorten it.", path);
	error = load_fail(dir, NULL, big, ME_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

static void
test_file_not_text(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *not_utf8 = g_strdup_printf("The configuration file %s is not UTF-8 text; save it as UTF-8.", path);
	g_autofree gchar *not_keyfile = g_strdup_printf(
	    "The configuration file %s is not in key file syntax; make every line a [group], a key=value pair or a # comment.",
	    path);
	const gchar garbage[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00";
	const gchar *syntax[] = {"hello world\n", "key-type=rsa-2048\n[general]\n", "[general\nkey-type=rsa-2048\n",
				 "[general]\nno equals sign\n"};
	g_autoptr(MeConfig) bom = NULL;

	for (guint i = 0; i < 2; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeConfig) config = NULL;
		g_free(write_file(dir, "system.conf", i == 0 ? garbage : "[general]\nstate-dir=/caf\xe9\n",
				  i == 0 ? (gssize)sizeof(garbage) - 1 : -1));
		config = me_config_load(path, NULL, &error);
		g_assert_null(config);
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
		me_test_assert_sentence(error);
		g_assert_cmpstr(error->message, ==, not_utf8);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(syntax); i++) {
		g_autoptr(GError) error = load_fail(dir, syntax[i], NULL, ME_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, not_keyfile);
	}
	/* a byte order mark is fine */
	bom = load_ok(dir, "\xef\xbb\xbf[general]\nkey-type=ec-p256\n", NULL);
	g_assert_cmpint(me_config_get_general(bom)->key_type, ==, ME_KEY_TYPE_EC_P256);
	me_test_rm_rf(dir);
}

static void
test_file_not_regular(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *folder = g_build_filename(dir, "folder.conf", NULL);
	g_autofree gchar *fifo = g_build_filename(dir, "fifo.conf", NULL);
	g_autofree gchar *loop = g_build_filename(dir, "loop.conf", NULL);
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;

	g_assert_cmpint(g_mkdir(folder, 0700), ==, 0);
	config = me_config_load(folder, NULL, &error);
	g_assert_null(config);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	expected = g_strdup_printf("The configuration file %s is not a regular file; replace it with a text file, or remove it.",
				   folder);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&expected, g_free);

	/* a FIFO must not hang the load */
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	config = me_config_load(NULL, fifo, &error);
	g_assert_null(config);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	g_clear_error(&error);

	/* an open() that fails for a reason other than absence, which even root meets */
	g_assert_cmpint(symlink(loop, loop), ==, 0);
	config = me_config_load(loop, NULL, &error);
	g_assert_null(config);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	expected = g_strdup_printf("The configuration file %s cannot be read (%s); check its permissions.", loop,
				   g_strerror(ELOOP));
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

static void
test_file_unreadable(void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;

	if (geteuid() == 0) {
		/* root reads anything; /config/file/not-regular covers the error path */
		g_test_skip("permissions do not apply to root");
		return;
	}
	dir = me_test_tmpdir();
	path = write_file(dir, "system.conf", "[general]\n", -1);
	g_assert_cmpint(g_chmod(path, 0), ==, 0);
	config = me_config_load(path, NULL, &error);
	g_assert_null(config);
	g_assert_error(error, ME_ERROR, ME_ERROR_FAILED);
	me_test_assert_sentence(error);
	expected = g_strdup_printf("The configuration file %s cannot be read (%s); check its permissions.", path,
				   g_strerror(EACCES));
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

static void
test_too_many_cas(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *system = g_build_filename(dir, "system.conf", NULL);
	g_autofree gchar *user = g_build_filename(dir, "user.conf", NULL);
	g_autoptr(GString) full = g_string_new(NULL);
	g_autoptr(GString) half = g_string_new(NULL);
	g_autoptr(GString) other_half = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autofree gchar *expected = NULL;

	for (guint i = 0; i < ME_CONFIG_CA_MAX; i++)
		g_string_append_printf(full, "[ca c%u]\ndirectory=" DIRECTORY "\n", i);
	config = load_ok(dir, full->str, NULL);
	g_assert_cmpuint(me_config_list_cas(config)->len, ==, ME_CONFIG_CA_MAX);

	g_string_append(full, "[ca one-more]\ndirectory=" DIRECTORY "\n");
	error = load_fail(dir, full->str, NULL, ME_ERROR_TOO_LARGE);
	expected = g_strdup_printf("In %s, there are more than 64 [ca NAME] groups; remove the ones not in use.", system);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);
	g_clear_pointer(&expected, g_free);

	/* the two files together: the one that goes past the limit is named */
	for (guint i = 0; i < 40; i++) {
		g_string_append_printf(half, "[ca s%u]\ndirectory=" DIRECTORY "\n", i);
		g_string_append_printf(other_half, "[ca u%u]\ndirectory=" DIRECTORY "\n", i);
	}
	error = load_fail(dir, half->str, other_half->str, ME_ERROR_TOO_LARGE);
	expected = g_strdup_printf("In %s, there are more than 64 [ca NAME] groups; remove the ones not in use.", user);
	g_assert_cmpstr(error->message, ==, expected);
	me_test_rm_rf(dir);
}

/* ---- the environment */

static void
test_load_default(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *user_dir = g_build_filename(xdg_config_home, "mailenroll", NULL);
	g_autofree gchar *user_path = NULL;
	g_autofree gchar *system_path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = NULL;

	system_path = write_file(dir, "mailenroll.conf",
				 "[policy]\nlocked=general/store\n"
				 "[general]\nstore=nssdb\nkey-type=ec-p256\n",
				 -1);
	g_assert_cmpint(g_mkdir_with_parents(user_dir, 0700), ==, 0);
	user_path = write_file(user_dir, "mailenroll.conf", "[general]\nstore=pkcs12\nkey-usage=signing\n", -1);
	g_setenv("MAILENROLL_SYSCONFDIR", dir, TRUE);
	config = me_config_load_default(&error);
	g_unsetenv("MAILENROLL_SYSCONFDIR");
	g_assert_no_error(error);
	g_assert_nonnull(config);

	/* both layers were read, and the lock of the system one held */
	g_assert_cmpint(me_config_get_general(config)->store, ==, ME_CONFIG_STORE_NSSDB);
	g_assert_cmpint(me_config_get_general(config)->key_type, ==, ME_KEY_TYPE_EC_P256);
	g_assert_cmpint(me_config_get_general(config)->key_usage, ==, ME_KEY_USAGE_SIGNING);
	g_assert_cmpuint(me_config_get_diagnostics(config)->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(me_config_get_diagnostics(config), 0), user_path));
	assert_default_state_dir(config);

	g_unlink(user_path);
	me_test_rm_rf(dir);
}

/* ---- the example file */

static gchar *
example_path(void)
{
	return g_test_build_filename(G_TEST_DIST, "..", "data", "mailenroll.conf.example", NULL);
}

/* the example with every commented-out setting and group turned on */
static gchar *
example_uncommented(void)
{
	g_autofree gchar *path = example_path();
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GError) error = NULL;
	GString *out = g_string_new(NULL);

	g_file_get_contents(path, &text, NULL, &error);
	g_assert_no_error(error);
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *line = lines[i];
		/* prose is "# text"; settings are "#key=value" and "#[group]" */
		if (line[0] == '#' && (line[1] == '[' || g_ascii_islower(line[1])))
			line++;
		g_string_append_printf(out, "%s\n", line);
	}
	return g_string_free(out, FALSE);
}

static void
test_example_as_shipped(void)
{
	g_autofree gchar *path = example_path();
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = me_config_load(path, NULL, &error);

	g_assert_no_error(error);
	assert_no_diagnostics(config);
	assert_defaults_general(me_config_get_general(config));
	assert_defaults_smtp(me_config_get_smtp(config));
	g_assert_cmpuint(me_config_list_cas(config)->len, ==, 0);
}

static void
test_example_uncommented(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *text = example_uncommented();
	g_autoptr(MeConfig) config = load_ok(dir, text, NULL);
	const MeConfigGeneral *general = me_config_get_general(config);
	const MeConfigSmtp *smtp = me_config_get_smtp(config);
	const MeCaProfile *ca = me_config_get_ca(config, NULL);
	const gchar *authserv[] = {"mx.example.org", NULL};
	const gchar *contact[] = {"mailto:admin@example.org", NULL};

	/* every key the example shows is one the code knows */
	assert_no_diagnostics(config);

	/* where the example claims a default, the code has the same one */
	g_assert_cmpstr(general->default_ca, ==, "example");
	g_assert_cmpint(general->key_type, ==, ME_KEY_TYPE_CERTIFICATE_DEFAULT);
	g_assert_cmpint(general->key_usage, ==, ME_KEY_USAGE_DUAL);
	g_assert_cmpint(general->reply_method, ==, ME_CONFIG_REPLY_METHOD_PRINT);
	g_assert_cmpint(general->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_cmpfloat(general->renew_fraction, ==, ME_CONFIG_RENEW_FRACTION_DEFAULT);
	g_assert_cmpstr(general->state_dir, ==, "/home/alice/.mailenroll-state");
	g_assert_cmpuint(general->max_frame_bytes, ==, ME_CONFIG_MAX_FRAME_BYTES_DEFAULT);
	g_assert_cmpint(general->store, ==, ME_CONFIG_STORE_THUNDERBIRD);
	g_assert_false(general->trust_ca);

	g_assert_nonnull(ca);
	g_assert_cmpstr(ca->name, ==, "example");
	g_assert_cmpstr(ca->directory, ==, "https://acme.example.org/directory");
	g_assert_cmpstr(ca->ca_file, ==, "/etc/mailenroll/example-ca.pem");
	g_assert_cmpint(ca->token_join, ==, ME_TOKEN_JOIN_STRING);
	g_assert_cmpint(ca->mail_timing, ==, ME_CONFIG_MAIL_TIMING_DETECT);
	g_assert_cmpuint(ca->mail_wait, ==, ME_CONFIG_MAIL_WAIT_DEFAULT);
	g_assert_cmpstr(ca->eab_kid, ==, "kid-2026-example");
	g_assert_cmpstr(ca->eab_secret, ==, "example-eab");
	g_assert_cmpint(ca->key_type, ==, ME_KEY_TYPE_CERTIFICATE_DEFAULT);
	g_assert_cmpint(ca->key_usage, ==, ME_KEY_USAGE_DUAL);
	g_assert_cmpint(ca->auto_approve, ==, ME_CONFIG_AUTO_APPROVE_NEVER);
	g_assert_false(ca->trust_ca);
	assert_strv(ca->trusted_authserv_ids, authserv);
	g_assert_cmpstr(ca->dns_server, ==, "192.0.2.53:53");
	g_assert_cmpstr(ca->smime_trust, ==, ME_CONFIG_SMIME_TRUST_SYSTEM);
	g_assert_cmpstr(ca->dkim_selector, ==, "mail2026");
	g_assert_cmpstr(ca->dkim_domain, ==, "example.org");
	g_assert_cmpstr(ca->dkim_key, ==, "example-dkim");
	assert_strv(ca->contact, contact);
	g_assert_false(ca->agree_tos);
	g_assert_cmpstr(ca->agreed_terms, ==, "https://acme.example.org/terms/2026-01");
	g_assert_cmpint(ca->quirks, ==, ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED);

	g_assert_cmpstr(smtp->host, ==, "smtp.example.org");
	g_assert_cmpuint(smtp->port, ==, ME_CONFIG_SMTP_PORT_DEFAULT);
	g_assert_cmpint(smtp->security, ==, ME_CONFIG_SMTP_SECURITY_STARTTLS);
	g_assert_cmpstr(smtp->username, ==, "alice@example.org");
	g_assert_cmpstr(smtp->password, ==, "example-smtp");
	g_assert_cmpstr(smtp->ca_file, ==, "/etc/ssl/certs/ca-certificates.crt");

	g_assert_true(me_config_is_locked(config, "general", "key-type"));
	g_assert_true(me_config_is_locked(config, "ca example", "directory"));
	g_assert_true(me_config_is_locked(config, "smtp", NULL));
	g_assert_false(me_config_is_locked(config, "general", "store"));
	me_test_rm_rf(dir);
}

static void
test_example_every_key(void)
{
	g_autofree gchar *text = example_uncommented();
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(GError) error = NULL;
	const gchar *groups[] = {"general", "ca example", "smtp", "policy"};

	g_key_file_load_from_data(keyfile, text, (gsize)-1, G_KEY_FILE_NONE, &error);
	g_assert_no_error(error);
	/* every key the code reads is documented, in its group */
	for (gsize i = 0; i < G_N_ELEMENTS(groups); i++) {
		g_auto(GStrv) known = me_config_dup_known_keys(groups[i]);
		g_assert_nonnull(known);
		g_assert_cmpuint(g_strv_length(known), >, 0);
		for (guint k = 0; known[k] != NULL; k++) {
			g_test_message("[%s] %s", groups[i], known[k]);
			g_assert_true(g_key_file_has_key(keyfile, groups[i], known[k], NULL));
		}
	}
	g_assert_null(me_config_dup_known_keys("future"));
	g_assert_null(me_config_dup_known_keys("ca bad name"));
}

/* the names the example and the messages list are the ones keys.c and challenge.c know */
static void
test_choice_names(void)
{
	const gchar *key_types[] = {"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"};
	const gchar *usages[] = {"signing", "encryption", "dual"};
	MeTokenJoin join;

	for (gsize i = 0; i < G_N_ELEMENTS(key_types); i++)
		g_assert_cmpstr(me_key_type_to_string(me_key_type_from_string(key_types[i])), ==, key_types[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(usages); i++)
		g_assert_cmpstr(me_key_usage_to_string(me_key_usage_from_string(usages[i])), ==, usages[i]);
	g_assert_true(me_token_join_from_string("string", &join));
	g_assert_cmpint(join, ==, ME_TOKEN_JOIN_STRING);
	g_assert_true(me_token_join_from_string("binary", &join));
	g_assert_cmpint(join, ==, ME_TOKEN_JOIN_BINARY);
}

/* ---- fuzz-ish */

static const gchar *const fuzz_tokens[] = {"[", "]", "=", ";", "\\", "\n", "#", "keyring:", "[ca ", "ca */*",
					   "*", "/", "[policy]\nlocked=", "\xc3", "\xff", " ", "http://",
					   "0", "99999999999999999999", "-", ".", "[smtp]\n", "\\s", "\\;"};

/* a byte to write: mostly printable ASCII, so that most mutants get past the UTF-8 check */
static gchar
fuzz_byte(GRand *rand)
{
	if (g_rand_int_range(rand, 0, 16) == 0)
		return (gchar)g_rand_int_range(rand, 0, 256);
	return (gchar)g_rand_int_range(rand, 0x20, 0x7f);
}

static void
mutate(GRand *rand, GString *text)
{
	guint pos = text->len > 0 ? (guint)g_rand_int_range(rand, 0, (gint32)text->len) : 0;
	/* MIN() evaluates its arguments twice: draw first */
	guint span = (guint)g_rand_int_range(rand, 1, 200);

	switch (g_rand_int_range(rand, 0, 6)) {
	case 0:
		if (text->len > 0)
			text->str[pos] = fuzz_byte(rand);
		break;
	case 1:
		g_string_insert_c(text, pos, fuzz_byte(rand));
		break;
	case 2:
		g_string_erase(text, pos, MIN(text->len - pos, span % 64));
		break;
	case 3:
		g_string_insert(text, pos, fuzz_tokens[g_rand_int_range(rand, 0, G_N_ELEMENTS(fuzz_tokens))]);
		break;
	case 4: {
		/* repeat a slice, so groups and keys come twice */
		guint len = MIN(text->len - pos, span);
		g_autofree gchar *slice = g_strndup(text->str + pos, len);
		g_string_insert_len(text, pos, slice, len);
		break;
	}
	default:
		g_string_truncate(text, pos);
		break;
	}
}

static void
test_fuzz(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *base = example_uncommented();
	guint32 seed = g_test_rand_int();
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	guint parsed = 0;
	/* a load checks the PEM files the example names, which takes a second each under
	 * valgrind; tests/fuzz/fuzz-config goes much further */
	guint rounds = g_strcmp0(g_getenv("ME_TEST_UNDER_VALGRIND"), "1") == 0 ? 20 : 200;

	g_test_message("seed %u", seed);
	for (guint i = 0; i < rounds; i++) {
		g_autoptr(GString) text = g_string_new(base);
		g_autofree gchar *path = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(MeConfig) config = NULL;
		guint n = (guint)g_rand_int_range(rand, 1, 9);

		for (guint m = 0; m < n; m++)
			mutate(rand, text);
		path = write_file(dir, "fuzz.conf", text->str, (gssize)text->len);
		/* as the system file, where [policy] counts, and as the user's */
		config = (i % 2 == 0) ? me_config_load(path, NULL, &error) : me_config_load(NULL, path, &error);
		if (config == NULL) {
			g_assert_error(error, ME_ERROR, error->code);
			me_test_assert_sentence(error);
			continue;
		}
		g_assert_no_error(error);
		parsed++;
		for (guint d = 0; d < me_config_get_diagnostics(config)->len; d++) {
			const gchar *message = g_ptr_array_index(me_config_get_diagnostics(config), d);
			g_assert_true(g_utf8_validate(message, -1, NULL));
			g_assert_null(strchr(message, '\n'));
		}
	}
	g_test_message("%u of %u mutations parsed", parsed, rounds);
	me_test_rm_rf(dir);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *dirs = NULL;
	int status;

	setlocale(LC_ALL, "C.UTF-8");
	/* XDG folders of the test's own, set before GLib reads and caches them, so no test sees
	 * the user's configuration */
	dirs = me_test_tmpdir();
	xdg_config_home = g_build_filename(dirs, "config", NULL);
	xdg_state_home = g_build_filename(dirs, "state", NULL);
	g_setenv("XDG_CONFIG_HOME", xdg_config_home, TRUE);
	g_setenv("XDG_STATE_HOME", xdg_state_home, TRUE);
	g_unsetenv("MAILENROLL_SYSCONFDIR");
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/layers/system-only", test_system_only);
	g_test_add_func("/config/layers/user-overrides", test_user_overrides);
	g_test_add_func("/config/contact-none", test_contact_none);
	g_test_add_func("/config/quirks", test_quirks);
	g_test_add_func("/config/policy/quirks-locked", test_quirks_locked);
	g_test_add_func("/config/layers/ca-inherit", test_ca_inherit);
	g_test_add_func("/config/layers/smtp-ports", test_smtp_ports);
	g_test_add_func("/config/policy/locked-key", test_locked_key);
	g_test_add_func("/config/policy/locked-group", test_locked_group);
	g_test_add_func("/config/policy/locked-everything", test_locked_everything);
	g_test_add_func("/config/policy/locked-any-ca", test_locked_any_ca);
	g_test_add_func("/config/policy/locked-any-ca-key", test_locked_any_ca_key);
	g_test_add_func("/config/policy/locked-general-fallback", test_locked_general_fallback);
	g_test_add_func("/config/policy/in-user-file", test_policy_in_user_file);
	g_test_add_func("/config/policy/entries", test_policy_entries);
	g_test_add_func("/config/smime-trust", test_smime_trust);
	g_test_add_func("/config/smtp-ca-file", test_smtp_ca_file);
	g_test_add_func("/config/invalid/values", test_bad_values);
	g_test_add_func("/config/invalid/hidden-by-user", test_bad_value_hidden_by_user);
	g_test_add_func("/config/invalid/long", test_long_values);
	g_test_add_func("/config/invalid/literal-secret", test_literal_secrets);
	g_test_add_func("/config/invalid/cross-checks", test_cross_checks);
	g_test_add_func("/config/invalid/ca-name", test_bad_ca_names);
	g_test_add_func("/config/directory/loopback", test_directory_loopback);
	g_test_add_func("/config/unknown", test_unknown);
	g_test_add_func("/config/unknown/capped", test_diagnostics_capped);
	g_test_add_func("/config/file/too-large", test_file_too_large);
	g_test_add_func("/config/file/not-text", test_file_not_text);
	g_test_add_func("/config/file/not-regular", test_file_not_regular);
	g_test_add_func("/config/file/unreadable", test_file_unreadable);
	g_test_add_func("/config/file/too-many-cas", test_too_many_cas);
	g_test_add_func("/config/env/load-default", test_load_default);
	g_test_add_func("/config/example/as-shipped", test_example_as_shipped);
	g_test_add_func("/config/example/uncommented", test_example_uncommented);
	g_test_add_func("/config/example/every-key", test_example_every_key);
	g_test_add_func("/config/example/choice-names", test_choice_names);
	g_test_add_func("/config/fuzz", test_fuzz);
	status = g_test_run();
	me_test_rm_rf(dirs);
	g_free(xdg_config_home);
	g_free(xdg_state_home);
	return status;
}
