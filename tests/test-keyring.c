/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestKeyring"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <locale.h>
#include <openssl/x509.h>
#include <signal.h>
#include <string.h>

#include "autocleanups.h"
#include "keyring.h"
#include "keys.h"
#include "keyring-fixture.h"
#include "me-error.h"

/* these tests talk to a real gnome-keyring-daemon, started by main() in a temporary
 * HOME on a private session bus of its own, never on a desktop bus */

#define CA_A		 "https://ca-a.example/directory"
#define CA_B		 "https://ca-b.example/directory"

static const gchar *test_home;

/* the base64 lines of every PEM stored, to look for in the files of the keyring */
static GPtrArray *stored_pem_lines;

static gchar *
key_fingerprint(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	gchar *hex;

	g_assert_cmpint(len, >, 0);
	hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, der, (gsize)len);
	OPENSSL_free(der);
	return hex;
}

static MeSecretStr *
make_pem(gchar **fingerprint)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	MeSecretStr *pem;
	g_auto(GStrv) lines = NULL;

	g_assert_no_error(error);
	pem = me_key_to_pem(key, &error);
	g_assert_no_error(error);
	g_assert_nonnull(pem);
	*fingerprint = key_fingerprint(key);

	/* remember a base64 line to check that it never reaches a file in clear */
	lines = g_strsplit(pem, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), >, 2);
	g_ptr_array_add(stored_pem_lines, g_strdup(lines[1]));
	return pem;
}

static void
store_text(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint, const gchar *secret)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeKeyringItem) item = me_keyring_item_new(kind, mailbox, ca, fingerprint);

	g_assert_true(me_keyring_store(item, secret, strlen(secret), &error));
	g_assert_no_error(error);
}

static void
assert_lookup(MeKeyringKind kind,
	      const gchar *mailbox,
	      const gchar *ca,
	      const gchar *fingerprint,
	      const gchar *expected)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) got = me_keyring_lookup(kind, mailbox, ca, fingerprint, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, expected);
}

static void
assert_not_found(MeKeyringKind kind, const gchar *mailbox, const gchar *ca, const gchar *fingerprint)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) got = me_keyring_lookup(kind, mailbox, ca, fingerprint, &error);

	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_assert_null(got);
}

static void
test_pem_round_trip(void)
{
	g_autofree gchar *fingerprint = NULL;
	g_autoptr(MeSecretStr) pem = make_pem(&fingerprint);
	g_autoptr(MeSecretStr) got = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *got_fingerprint = NULL;

	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, "alice@example.org", CA_A, fingerprint, pem);
	got = me_keyring_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, "alice@example.org", CA_A, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, pem);

	/* and it is still the same key */
	key = me_key_from_pem(got, strlen(got), &error);
	g_assert_no_error(error);
	got_fingerprint = key_fingerprint(key);
	g_assert_cmpstr(got_fingerprint, ==, fingerprint);

	/* by fingerprint too */
	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, "alice@example.org", CA_A, fingerprint, pem);

	/* storing the same item again replaces it instead of adding a second one */
	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, "alice@example.org", CA_A, fingerprint, pem);
	{
		g_autoptr(GPtrArray) items =
		    me_keyring_list(ME_KEYRING_KIND_CERTIFICATE_KEY, "alice@example.org", CA_A, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(items->len, ==, 1);
	}
}

static void
test_account_key(void)
{
	g_autofree gchar *fingerprint = NULL;
	g_autoptr(MeSecretStr) pem = make_pem(&fingerprint);

	/* an account key belongs to a CA, not to a mailbox */
	store_text(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, CA_A, fingerprint, pem);
	assert_lookup(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, CA_A, NULL, pem);
	assert_not_found(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, CA_B, NULL);
	assert_not_found(ME_KEYRING_KIND_ACCOUNT_KEY, "alice@example.org", CA_A, NULL);
	/* another kind with the same attributes is another item */
	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, NULL, CA_A, NULL);
}

static void
test_binary_eab(void)
{
	/* includes NUL and bytes that are not UTF-8 */
	static const guint8 mac[] = {0x00, 0xff, 0x10, 0x80, 0x00, 0xc3, 0x28, 0x7f, 0xfe, 0x01, 0x00, 0x9a};
	g_autoptr(MeKeyringItem) item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, CA_A, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) got = NULL;
	g_autoptr(MeSecretStr) text = NULL;

	g_assert_true(me_keyring_store(item, mac, sizeof(mac), &error));
	g_assert_no_error(error);
	got = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, CA_A, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(got);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), mac, sizeof(mac));

	/* asking for binary as text is a programming error, reported, not a truncated string */
	text = me_keyring_lookup(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, CA_A, NULL, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT);
	g_assert_null(text);
	g_clear_error(&error);

	/* text kinds refuse bytes that are not text */
	{
		g_autoptr(MeKeyringItem) pw = me_keyring_item_new(ME_KEYRING_KIND_SMTP_PASSWORD, "bob@example.org", NULL, NULL);
		g_assert_false(me_keyring_store(pw, mac, sizeof(mac), &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	}
}

static void
test_missing(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;

	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, "nobody@example.org", CA_A, NULL);
	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, "nobody@example.org", CA_A, "00ff");
	assert_not_found(ME_KEYRING_KIND_SMTP_PASSWORD, "nobody@example.org", NULL, NULL);
	bytes = me_keyring_lookup_bytes(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, "https://nowhere.example/dir", NULL, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
	g_assert_null(bytes);
	g_clear_error(&error);

	/* superseding an item that is not there */
	g_assert_false(me_keyring_mark_superseded(ME_KEYRING_KIND_CERTIFICATE_KEY, "nobody@example.org", CA_A, "00ff", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_FOUND);
}

static void
test_kept_apart(void)
{
	const gchar *mailboxes[] = {"carol@example.org", "dave@example.org"};
	const gchar *cas[] = {CA_A, CA_B};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = NULL;

	for (guint m = 0; m < G_N_ELEMENTS(mailboxes); m++) {
		for (guint c = 0; c < G_N_ELEMENTS(cas); c++) {
			g_autofree gchar *secret = g_strdup_printf("password %u/%u", m, c);
			store_text(ME_KEYRING_KIND_SMTP_PASSWORD, mailboxes[m], cas[c], NULL, secret);
		}
	}
	for (guint m = 0; m < G_N_ELEMENTS(mailboxes); m++) {
		for (guint c = 0; c < G_N_ELEMENTS(cas); c++) {
			g_autofree gchar *secret = g_strdup_printf("password %u/%u", m, c);
			assert_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, mailboxes[m], cas[c], NULL, secret);
		}
	}
	items = me_keyring_list(ME_KEYRING_KIND_SMTP_PASSWORD, "carol@example.org", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 2);
	g_clear_pointer(&items, g_ptr_array_unref);
	items = me_keyring_list(ME_KEYRING_KIND_SMTP_PASSWORD, NULL, CA_B, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 2);

	/* clearing one leaves the other three */
	g_assert_true(me_keyring_clear(ME_KEYRING_KIND_SMTP_PASSWORD, "carol@example.org", CA_B, NULL, &error));
	g_assert_no_error(error);
	assert_not_found(ME_KEYRING_KIND_SMTP_PASSWORD, "carol@example.org", CA_B, NULL);
	assert_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "carol@example.org", CA_A, NULL, "password 0/0");
	assert_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "dave@example.org", CA_B, NULL, "password 1/1");
}

static void
test_superseded(void)
{
	const gchar *mailbox = "erin@example.org";
	g_autofree gchar *fp_a = NULL;
	g_autofree gchar *fp_b = NULL;
	g_autoptr(MeSecretStr) pem_a = make_pem(&fp_a);
	g_autoptr(MeSecretStr) pem_b = make_pem(&fp_b);
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(GError) error = NULL;
	guint n_superseded = 0;

	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_a, pem_a);
	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_b, pem_b);
	g_assert_true(me_keyring_mark_superseded(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_a, &error));
	g_assert_no_error(error);

	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, NULL, pem_b);
	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_a, pem_a);
	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_b, pem_b);

	items = me_keyring_list(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 2);
	for (guint i = 0; i < items->len; i++) {
		MeKeyringItem *item = g_ptr_array_index(items, i);
		if (item->superseded) {
			n_superseded++;
			g_assert_cmpstr(item->fingerprint, ==, fp_a);
			g_assert_nonnull(strstr(item->label, "superseded"));
		} else {
			g_assert_cmpstr(item->fingerprint, ==, fp_b);
		}
	}
	g_assert_cmpuint(n_superseded, ==, 1);

	/* superseding B too leaves no current key, but both stay readable */
	g_assert_true(me_keyring_mark_superseded(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_b, &error));
	g_assert_no_error(error);
	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, NULL);
	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_A, fp_b, pem_b);
}

static void
test_list(void)
{
	const gchar *mailbox = "frank@example.org";
	g_autofree gchar *fp = NULL;
	g_autoptr(MeSecretStr) pem = make_pem(&fp);
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(GError) error = NULL;
	MeKeyringItem *item;

	store_text(ME_KEYRING_KIND_DKIM_KEY, mailbox, NULL, fp, pem);
	items = me_keyring_list(ME_KEYRING_KIND_DKIM_KEY, mailbox, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 1);
	item = g_ptr_array_index(items, 0);
	g_assert_cmpint(item->kind, ==, ME_KEYRING_KIND_DKIM_KEY);
	g_assert_cmpstr(item->mailbox, ==, mailbox);
	g_assert_null(item->ca);
	g_assert_cmpstr(item->fingerprint, ==, fp);
	g_assert_false(item->superseded);
	g_assert_cmpstr(item->label, ==, "mailenroll: DKIM key for frank@example.org");
	g_assert_cmpuint(item->created, >, 0);
	g_clear_pointer(&items, g_ptr_array_unref);

	/* nothing of a kind never stored: an empty list, not an error */
	items = me_keyring_list(ME_KEYRING_KIND_DKIM_KEY, "nobody@example.org", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 0);
}

static void
test_clear(void)
{
	const gchar *mailbox = "grace@example.org";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = NULL;

	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "aa", "secret aa");
	store_text(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "bb", "secret bb");
	g_assert_true(me_keyring_mark_superseded(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "aa", &error));
	g_assert_no_error(error);

	/* by fingerprint: only that one */
	g_assert_true(me_keyring_clear(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "bb", &error));
	g_assert_no_error(error);
	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "bb");
	assert_lookup(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "aa", "secret aa");

	/* without: every state */
	g_assert_true(me_keyring_clear(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, NULL, &error));
	g_assert_no_error(error);
	assert_not_found(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, "aa");
	items = me_keyring_list(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(items->len, ==, 0);

	/* clearing nothing is fine */
	g_assert_true(me_keyring_clear(ME_KEYRING_KIND_CERTIFICATE_KEY, mailbox, CA_B, NULL, &error));
	g_assert_no_error(error);
}

static gboolean
file_contains(const gchar *path, const gchar *needle, gsize needle_len)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &contents, &len, NULL))
		return FALSE;
	for (gsize i = 0; needle_len <= len && i <= len - needle_len; i++) {
		if (memcmp(contents + i, needle, needle_len) == 0)
			return TRUE;
	}
	return FALSE;
}

static guint
check_dir_for_pem(const gchar *dir)
{
	g_autoptr(GDir) entries = g_dir_open(dir, 0, NULL);
	const gchar *name;
	guint n_files = 0;

	if (entries == NULL)
		return 0;
	while ((name = g_dir_read_name(entries)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			n_files += check_dir_for_pem(path);
			continue;
		}
		if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
			continue;
		n_files++;
		for (guint i = 0; i < stored_pem_lines->len; i++) {
			const gchar *line = g_ptr_array_index(stored_pem_lines, i);
			if (file_contains(path, line, strlen(line)))
				g_error("%s holds a stored private key in clear", path);
		}
		g_assert_false(file_contains(path, "PRIVATE KEY", strlen("PRIVATE KEY")));
		g_assert_false(file_contains(path, "password 0/0", strlen("password 0/0")));
	}
	return n_files;
}

static void
test_encrypted_at_rest(void)
{
	g_autofree gchar *keyrings = g_build_filename(test_home, "data", "keyrings", NULL);
	g_autoptr(MeSecretStr) pem = NULL;
	g_autofree gchar *fp = NULL;

	/* at least one key stored in this run, even when only this test was selected */
	pem = make_pem(&fp);
	store_text(ME_KEYRING_KIND_ACCOUNT_KEY, NULL, "https://at-rest.example/dir", fp, pem);

	/* gnome-keyring writes the keyring file on every change; it must exist and hold no PEM */
	g_assert_true(g_file_test(keyrings, G_FILE_TEST_IS_DIR));
	g_assert_cmpuint(check_dir_for_pem(test_home), >, 0);
}

static void
test_locked(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) got = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(MeKeyringItem) item = me_keyring_item_new(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", NULL, NULL);
	g_autoptr(GPtrArray) items = NULL;
	gint64 start;

	store_text(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, NULL, "before the lock");

	me_test_keyring_lock();

	/* libsecret asks for an unlock prompt; with no display it must fail quickly, not hang */
	start = g_get_monotonic_time();
	got = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, NULL, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
	g_assert_nonnull(strstr(error->message, "keyring is locked"));
	g_assert_null(got);
	g_clear_error(&error);

	bytes = me_keyring_lookup_bytes(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, NULL, &error);
	g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
	g_assert_null(bytes);
	g_clear_error(&error);

	g_assert_false(me_keyring_store(item, "after the lock", strlen("after the lock"), &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
	g_clear_error(&error);

	g_assert_false(me_keyring_mark_superseded(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, "", &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
	g_clear_error(&error);

	g_assert_false(me_keyring_clear(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, NULL, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_LOCKED);
	g_clear_error(&error);

	/* listing needs no secret and so no unlock */
	items = me_keyring_list(ME_KEYRING_KIND_SMTP_PASSWORD, "henry@example.org", CA_A, &error);
	g_assert_no_error(error);
	g_assert_nonnull(items);
	g_test_message("listing a locked collection gave %u item(s)", items->len);

	g_assert_cmpint(g_get_monotonic_time() - start, <, 60 * G_USEC_PER_SEC);
}

static void
test_no_service(void)
{
	if (g_test_subprocess()) {
		g_autofree gchar *address = g_strdup_printf("unix:path=%s/no-such-bus-socket", g_get_tmp_dir());
		g_autoptr(GError) error = NULL;
		g_autoptr(MeSecretStr) got = NULL;
		g_autoptr(MeKeyringItem) item = me_keyring_item_new(ME_KEYRING_KIND_SMTP_PASSWORD, "ivan@example.org", NULL, NULL);

		/* before libsecret (or GDBus) first connects in this process */
		g_setenv("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
		got = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "ivan@example.org", NULL, NULL, &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		g_assert_null(got);
		g_printerr("%s\n", error->message);
		g_clear_error(&error);
		g_assert_false(me_keyring_store(item, "x", 1, &error));
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		return;
	}
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*No keyring service (Secret Service) is running; start GNOME Keyring or KWallet and try again.*");
}

/* a D-Bus daemon of our own with no activatable services: org.freedesktop.secrets is
 * neither owned nor can it be started */
static void
test_no_service_on_bus(void)
{
	if (g_test_subprocess()) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MeSecretStr) got = NULL;
		g_autofree gchar *address_path = g_build_filename(g_getenv("HOME"), "empty-bus", "address", NULL);
		g_autofree gchar *address = NULL;

		/* HOME is the parent's temporary one */
		g_assert_true(g_file_get_contents(address_path, &address, NULL, &error));
		g_assert_no_error(error);
		g_setenv("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
		got = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "judy@example.org", NULL, NULL, &error);
		g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
		g_assert_null(got);
		g_printerr("%s\n", error->message);
		return;
	}
	{
		g_autoptr(GError) error = NULL;
		g_autofree gchar *dir = g_build_filename(test_home, "empty-bus", NULL);
		g_autofree gchar *config_path = g_build_filename(dir, "bus.conf", NULL);
		g_autofree gchar *address_path = g_build_filename(dir, "address", NULL);
		g_autofree gchar *config = NULL;
		g_autofree gchar *address = NULL;
		g_autoptr(GSubprocess) bus_daemon = NULL;
		g_autoptr(GDataInputStream) out = NULL;

		g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
		config = g_strdup_printf("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
					 "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
					 "<busconfig><type>session</type><listen>unix:dir=%s</listen>"
					 "<auth>EXTERNAL</auth>"
					 "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
					 "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
					 dir);
		g_assert_true(g_file_set_contents(config_path, config, -1, &error));
		g_assert_no_error(error);
		bus_daemon = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE,
					      &error,
					      "dbus-daemon",
					      "--config-file",
					      config_path,
					      "--nofork",
					      "--print-address",
					      NULL);
		g_assert_no_error(error);
		out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(bus_daemon));
		address = g_data_input_stream_read_line(out, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(address);

		g_assert_true(g_file_set_contents(address_path, address, -1, &error));
		g_assert_no_error(error);
		g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
		g_subprocess_send_signal(bus_daemon, SIGTERM);
		(void)g_subprocess_wait(bus_daemon, NULL, NULL);
		g_test_trap_assert_passed();
		g_test_trap_assert_stderr("*No keyring service (Secret Service) is running; start GNOME Keyring or KWallet and try again.*");
	}
}

int
main(int argc, char **argv)
{
	int rc;

	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	stored_pem_lines = g_ptr_array_new_with_free_func(g_free);

	/* the no-service child connects to a bus that does not exist instead */
	if (!g_test_subprocess())
		test_home = me_test_keyring_start();

	g_test_add_func("/keyring/pem-round-trip", test_pem_round_trip);
	g_test_add_func("/keyring/account-key", test_account_key);
	g_test_add_func("/keyring/binary-eab", test_binary_eab);
	g_test_add_func("/keyring/missing", test_missing);
	g_test_add_func("/keyring/kept-apart", test_kept_apart);
	g_test_add_func("/keyring/superseded", test_superseded);
	g_test_add_func("/keyring/list", test_list);
	g_test_add_func("/keyring/clear", test_clear);
	g_test_add_func("/keyring/encrypted-at-rest", test_encrypted_at_rest);
	g_test_add_func("/keyring/no-service", test_no_service);
	g_test_add_func("/keyring/no-service-on-bus", test_no_service_on_bus);
	/* last: it leaves the collection locked */
	g_test_add_func("/keyring/locked", test_locked);

	rc = g_test_run();
	me_test_keyring_stop();
	g_ptr_array_unref(stored_pem_lines);
	return rc;
}
