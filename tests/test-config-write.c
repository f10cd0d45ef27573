/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* me-config-write.c: edits of the user's file keep every byte around them, are
 * refused where the administrator locked a key or where the loader would refuse
 * the result, and are atomic */

#define G_LOG_DOMAIN "MeTestConfigWrite"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "me-config-write.h"
#include "me-config.h"
#include "me-error.h"
#include "test-util.h"

/* a user's file as a person writes it: comments everywhere, spacing of their
 * own */
static const gchar user_text[] = "# my mailenroll settings\n"
				 "\n"
				 "[general]\n"
				 "# the default was too slow\n"
				 "key-type = ec-p256\n"
				 "store=thunderbird\n"
				 "\n"
				 "# the company CA\n"
				 "[ca corp]\n"
				 "directory=https://acme.corp.example/directory\n"
				 "# trailing comment of corp\n"
				 "\n"
				 "[smtp]\n"
				 "host=smtp.example.org\n";

typedef struct {
	gchar *dir;
	gchar *system_path;
	gchar *user_path;
} Files;

static void
files_init(Files *f, const gchar *system_text, const gchar *user)
{
	f->dir = me_test_tmpdir();
	f->system_path = g_build_filename(f->dir, "system.conf", NULL);
	f->user_path = g_build_filename(f->dir, "user", "mailenroll.conf", NULL);
	if (system_text != NULL)
		g_assert_true(g_file_set_contents(f->system_path, system_text, -1, NULL));
	if (user != NULL) {
		g_autofree gchar *folder = g_path_get_dirname(f->user_path);
		g_assert_cmpint(g_mkdir_with_parents(folder, 0700), ==, 0);
		g_assert_true(g_file_set_contents(f->user_path, user, -1, NULL));
	}
}

static void
files_clear(Files *f)
{
	me_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->system_path);
	g_free(f->user_path);
}

static MeConfig *
files_load(const Files *f)
{
	g_autoptr(GError) error = NULL;
	MeConfig *config = me_config_load(f->system_path, f->user_path, &error);

	g_assert_no_error(error);
	return config;
}

static gchar *
files_read_user(const Files *f)
{
	gchar *text = NULL;

	g_assert_true(g_file_get_contents(f->user_path, &text, NULL, NULL));
	return text;
}

/* one edit written; the file afterwards must be exactly @expected */
static void
assert_write(const Files *f, const gchar *group, const gchar *key, const gchar *value, const gchar *expected)
{
	g_autoptr(MeConfig) config = files_load(f);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	const MeConfigEdit edit = { group, key, value };

	g_assert_true(me_config_write(config, &edit, 1, &error));
	g_assert_no_error(error);
	text = files_read_user(f);
	g_assert_cmpstr(text, ==, expected);
}

static void
test_replace_keeps_comments(void)
{
	Files f;
	/* only the one line changes: its spacing is ours, every other byte is the
   * person's */
	g_autofree gchar *expected =
		g_strjoin("", "# my mailenroll settings\n\n[general]\n# the default was too slow\n",
			  "key-type=rsa-4096\n", strstr(user_text, "store=thunderbird"), NULL);

	files_init(&f, NULL, user_text);
	assert_write(&f, "general", "key-type", "rsa-4096", expected);
	files_clear(&f);
}

static void
test_add_to_group(void)
{
	Files f;
	g_autofree gchar *expected = NULL;

	files_init(&f, NULL, user_text);
	/* after the group's last key, so the comment and blank line before [smtp]
   * stay put */
	expected = g_strjoin("", "# my mailenroll settings\n\n[general]\n# the default was too slow\n",
			     "key-type = ec-p256\nstore=thunderbird\n\n# the company CA\n[ca corp]\n",
			     "directory=https://acme.corp.example/directory\nkey-usage=signing\n",
			     "# trailing comment of corp\n\n[smtp]\nhost=smtp.example.org\n", NULL);
	assert_write(&f, "ca corp", "key-usage", "signing", expected);
	files_clear(&f);
}

static void
test_new_group(void)
{
	Files f;
	g_autofree gchar *expected = NULL;

	/* a last line without its line break, which the new group must not run into
   */
	files_init(&f, NULL, "# only a comment\n[general]\nstore=thunderbird");
	expected = g_strdup("# only a comment\n[general]\nstore=thunderbird\n\n[ca new]\n"
			    "directory=https://acme.new.example/dir\n");
	assert_write(&f, "ca new", "directory", "https://acme.new.example/dir", expected);
	files_clear(&f);
}

static void
test_remove(void)
{
	Files f;
	g_autofree gchar *expected = NULL;

	/* a duplicate of the key goes as well: GKeyFile would let the later one win
   */
	files_init(&f, NULL,
		   "[general]\n# keep "
		   "me\nauto-approve=verified\nstore=thunderbird\nauto-approve = never\n");
	expected = g_strdup("[general]\n# keep me\nstore=thunderbird\n");
	assert_write(&f, "general", "auto-approve", NULL, expected);
	/* removing what is not there changes nothing */
	assert_write(&f, "general", "auto-approve", NULL, expected);
	files_clear(&f);
}

static void
test_crlf_and_bom(void)
{
	Files f;

	files_init(&f, NULL, "\xef\xbb\xbf[general]\r\n# windows\r\nstore=thunderbird\r\n");
	assert_write(&f, "general", "key-usage", "dual",
		     "\xef\xbb\xbf[general]\r\n# "
		     "windows\r\nstore=thunderbird\r\nkey-usage=dual\r\n");
	files_clear(&f);
}

static void
test_escaped_value(void)
{
	Files f;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(MeConfig) after = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	/* a backslash must be doubled; a # is no comment in the middle of a value */
	const MeConfigEdit edits[] = {
		{ "ca corp", "eab-kid", "kid\\2026#a;b" },
		{ "ca corp", "eab-secret", "keyring:corp-eab" },
	};

	files_init(&f, NULL, user_text);
	config = files_load(&f);
	g_assert_true(me_config_write(config, edits, G_N_ELEMENTS(edits), &error));
	g_assert_no_error(error);
	text = files_read_user(&f);
	g_assert_nonnull(strstr(text, "\neab-kid=kid\\\\2026#a;b\neab-secret=keyring:"
				      "corp-eab\n# trailing comment of corp\n"));
	after = files_load(&f);
	g_assert_cmpstr(me_config_get_ca(after, "corp")->eab_kid, ==, "kid\\2026#a;b");
	g_assert_cmpstr(me_config_get_ca(after, "corp")->eab_secret, ==, "corp-eab");
	files_clear(&f);
}

/* the file is created with its folder, both private */
static void
test_create(void)
{
	Files f;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *folder = NULL;
	g_autofree gchar *text = NULL;
	const MeConfigEdit edit = { "general", "key-type", "ec-p384" };
	struct stat st;

	files_init(&f, NULL, NULL);
	config = files_load(&f);
	g_assert_true(me_config_write(config, &edit, 1, &error));
	g_assert_no_error(error);
	text = files_read_user(&f);
	g_assert_cmpstr(text, ==, "[general]\nkey-type=ec-p384\n");
	folder = g_path_get_dirname(f.user_path);
	g_assert_cmpint(g_stat(folder, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
	g_assert_cmpint(g_stat(f.user_path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	files_clear(&f);
}

/* a user file that is a link (dotfiles kept in a repository of their own, linked into
 * place): the change goes to the file it points to, and the link stays a link */
static void
test_symlink(void)
{
	Files f;
	g_autofree gchar *kept = NULL;
	g_autofree gchar *target = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *link = NULL;
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	const MeConfigEdit edit = { "general", "key-type", "ec-p384" };
	GStatBuf st;

	files_init(&f, NULL, NULL);
	kept = g_build_filename(f.dir, "dotfiles", NULL);
	g_assert_cmpint(g_mkdir_with_parents(kept, 0700), ==, 0);
	target = g_build_filename(kept, "mailenroll.conf", NULL);
	g_assert_true(g_file_set_contents(target, "# mine\n[general]\nkey-type=ec-p256\n", -1, NULL));
	{
		g_autofree gchar *folder = g_path_get_dirname(f.user_path);
		g_assert_cmpint(g_mkdir_with_parents(folder, 0700), ==, 0);
	}
	g_assert_cmpint(symlink(target, f.user_path), ==, 0);
	config = files_load(&f);
	g_assert_true(me_config_write(config, &edit, 1, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_lstat(f.user_path, &st), ==, 0);
	g_assert_true(S_ISLNK(st.st_mode));
	link = g_file_read_link(f.user_path, NULL);
	g_assert_cmpstr(link, ==, target);
	g_assert_true(g_file_get_contents(target, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "# mine\n[general]\nkey-type=ec-p384\n");
	files_clear(&f);
}

/* the loader's refusal, and the file as it was */
static void
assert_refused(const Files *f, const MeConfigEdit *edits, gsize n, gint code, const gchar *before)
{
	g_autoptr(MeConfig) config = files_load(f);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	g_assert_false(me_config_write(config, edits, n, &error));
	g_assert_error(error, ME_ERROR, code);
	me_test_assert_sentence(error);
	g_test_message("%s", error->message);
	if (before == NULL) {
		g_assert_false(g_file_test(f->user_path, G_FILE_TEST_EXISTS));
		return;
	}
	text = files_read_user(f);
	g_assert_cmpstr(text, ==, before);
}

static void
test_invalid_value(void)
{
	Files f;
	const MeConfigEdit bad_type = { "general", "key-type", "dsa-1024" };
	const MeConfigEdit half_eab = { "ca corp", "eab-kid", "kid-1" };
	const MeConfigEdit no_ca = { "general", "default-ca", "missing" };
	const MeConfigEdit smtp = { "smtp", "host", "mail.example.org" };

	files_init(&f, NULL, user_text);
	assert_refused(&f, &bad_type, 1, ME_ERROR_INVALID_ARGUMENT, user_text);
	assert_refused(&f, &half_eab, 1, ME_ERROR_INVALID_ARGUMENT, user_text);
	assert_refused(&f, &no_ca, 1, ME_ERROR_INVALID_ARGUMENT, user_text);
	assert_refused(&f, &smtp, 1, ME_ERROR_INVALID_ARGUMENT, user_text);
	files_clear(&f);
}

/* a file the loader refuses is left for the person to fix */
static void
test_invalid_file_untouched(void)
{
	Files f;
	const gchar *broken = "[general]\nthis line is no key file syntax\n";
	const MeConfigEdit edit = { "general", "key-type", "ec-p256" };
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	/* loaded while it was still good */
	files_init(&f, NULL, "[general]\n");
	config = files_load(&f);
	g_assert_true(g_file_set_contents(f.user_path, broken, -1, NULL));
	g_assert_false(me_config_write(config, &edit, 1, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_INVALID_DATA);
	me_test_assert_sentence(error);
	text = files_read_user(&f);
	g_assert_cmpstr(text, ==, broken);
	files_clear(&f);
}

/* no entry but the file in its folder: no temporary file was left behind */
static void
assert_alone(const Files *f)
{
	g_autofree gchar *folder = g_path_get_dirname(f->user_path);
	g_autoptr(GDir) d = g_dir_open(folder, 0, NULL);
	guint entries = 0;

	while (g_dir_read_name(d) != NULL)
		entries++;
	g_assert_cmpuint(entries, ==, 1);
}

/* a failed write leaves the old file: the disk fills up (a file size limit
 * stands in for it, which binds root too) */
static void
test_atomic_disk_full(void)
{
	Files f;
	const MeConfigEdit edit = { "general", "key-type", "rsa-2048" };
	struct rlimit old;
	struct rlimit small = { 64, 64 };

	files_init(&f, NULL, user_text);
	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
	assert_refused(&f, &edit, 1, ME_ERROR_FAILED, user_text);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	assert_alone(&f);
	files_clear(&f);
}

/* ... and a folder that takes no new file */
static void
test_atomic_read_only(void)
{
	Files f;
	g_autofree gchar *folder = NULL;
	const MeConfigEdit edit = { "general", "key-type", "rsa-2048" };

	if (geteuid() == 0) {
		g_test_skip("root writes into a read-only folder; "
			    "/config-write/atomic/disk-full covers it");
		return;
	}
	files_init(&f, NULL, user_text);
	folder = g_path_get_dirname(f.user_path);
	g_assert_cmpint(g_chmod(folder, 0500), ==, 0);
	assert_refused(&f, &edit, 1, ME_ERROR_FAILED, user_text);
	g_assert_cmpint(g_chmod(folder, 0700), ==, 0);
	assert_alone(&f);
	files_clear(&f);
}

static void
test_locked(void)
{
	Files f;
	const gchar *system_text = "[policy]\nlocked=general/auto-approve;ca */directory\n\n"
				   "[ca corp]\ndirectory=https://acme.corp.example/directory\n";
	const gchar *user = "# mine\n[general]\nkey-type=ec-p256\n";
	const MeConfigEdit approve = { "general", "auto-approve", "verified" };
	const MeConfigEdit approve_off = { "general", "auto-approve", NULL };
	const MeConfigEdit new_ca = { "ca other", "directory", "https://acme.other.example/dir" };
	const MeConfigEdit corp_dir = { "ca corp", "directory", "https://evil.example/dir" };
	/* a change that is allowed, before a locked one: none of them is made */
	const MeConfigEdit both[] = { { "general", "key-type", "rsa-4096" }, approve };
	g_autoptr(MeConfig) config = NULL;
	g_autoptr(GError) error = NULL;

	files_init(&f, system_text, user);
	config = files_load(&f);
	g_assert_false(me_config_write_check_locks(config, &approve, 1, &error));
	g_assert_error(error, ME_ERROR, ME_ERROR_POLICY_LOCKED);
	g_assert_cmpstr(me_error_get_setting(error), ==, "general/auto-approve");
	g_assert_cmpstr(error->message, ==,
			"Your administrator set general/auto-approve; it cannot be "
			"changed here.");
	g_clear_error(&error);
	g_assert_false(me_config_write_check_locks(config, &new_ca, 1, &error));
	g_assert_cmpstr(me_error_get_setting(error), ==, "ca other/directory");

	assert_refused(&f, &approve, 1, ME_ERROR_POLICY_LOCKED, user);
	assert_refused(&f, &approve_off, 1, ME_ERROR_POLICY_LOCKED, user);
	assert_refused(&f, &new_ca, 1, ME_ERROR_POLICY_LOCKED, user);
	assert_refused(&f, &corp_dir, 1, ME_ERROR_POLICY_LOCKED, user);
	assert_refused(&f, both, G_N_ELEMENTS(both), ME_ERROR_POLICY_LOCKED, user);
	/* what is not locked can be written, also into a CA of the system file */
	assert_write(&f, "ca corp", "key-usage", "signing",
		     "# mine\n[general]\nkey-type=ec-p256\n\n[ca corp]\nkey-usage=signing\n");
	files_clear(&f);
}

/* the text edits alone, for what a whole file cannot show */
static void
test_edit_text(void)
{
	const MeConfigEdit lead = { "general", "key-type", " leading space" };
	const MeConfigEdit dup_group[] = { { "general", "store", "nssdb" } };
	g_autofree gchar *a = me_config_write_edit_text("", &lead, 1);
	g_autofree gchar *b = NULL;

	g_assert_cmpstr(a, ==, "[general]\nkey-type=\\sleading space\n");
	/* a group written twice: the key goes to the last section, where GKeyFile
   * reads on */
	b = me_config_write_edit_text("[general]\nkey-type=ec-p256\n[ca x]\na=b\n[general]\n# end\n", dup_group, 1);
	g_assert_cmpstr(b, ==,
			"[general]\nkey-type=ec-p256\n[ca "
			"x]\na=b\n[general]\nstore=nssdb\n# end\n");
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config-write/replace/comments-kept", test_replace_keeps_comments);
	g_test_add_func("/config-write/add/to-group", test_add_to_group);
	g_test_add_func("/config-write/add/new-group", test_new_group);
	g_test_add_func("/config-write/remove", test_remove);
	g_test_add_func("/config-write/crlf-and-bom", test_crlf_and_bom);
	g_test_add_func("/config-write/escaped", test_escaped_value);
	g_test_add_func("/config-write/create", test_create);
	g_test_add_func("/config-write/symlink", test_symlink);
	g_test_add_func("/config-write/invalid/value", test_invalid_value);
	g_test_add_func("/config-write/invalid/file-untouched", test_invalid_file_untouched);
	g_test_add_func("/config-write/atomic/disk-full", test_atomic_disk_full);
	g_test_add_func("/config-write/atomic/read-only", test_atomic_read_only);
	g_test_add_func("/config-write/locked", test_locked);
	g_test_add_func("/config-write/edit-text", test_edit_text);
	return g_test_run();
}
