/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestInterop"

#include "config.h"

#include "interop-stack.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/pem.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "autocleanups.h"
#include "keys.h"
#include "test-util.h"

/* the programs, by their full paths: a normal user's PATH has no /usr/sbin */
#define POSTFIX_BINARY	"/usr/sbin/postfix"
#define POSTFIX_MASTER	"/usr/lib/postfix/sbin/master"
#define POSTSUPER	"/usr/sbin/postsuper"
#define POSTQUEUE	"/usr/sbin/postqueue"
#define DOVECOT_BINARY	"/usr/sbin/dovecot"
#define OPENDKIM_BINARY "/usr/sbin/opendkim"
#define PATCH_BINARY	"/usr/bin/patch"
#define CP_BINARY	"/bin/cp"

#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS	 10000
#define LOG_TAIL_LINES	 30
/* dovecot never gives mail access to root: the mail belongs to nobody */
#define MAIL_USER "nobody"

/* RFC 8823 §3.1: h= must cover these 13 names, present or not (RFC 6376 §5.4 over-signing);
 * OpenDKIM signs only when every OversignHeaders name is in SignHeaders too */
#define OVERSIGN                                                                                                       \
	"From,Sender,Reply-To,To,Cc,Subject,Date,In-Reply-To,References,Message-ID,Auto-Submitted,Content-Type,"        \
	"Content-Transfer-Encoding"
#define SIGN OVERSIGN ",MIME-Version,Resent-Date,Resent-From,Resent-To,Resent-Cc,List-Id"

typedef struct {
	const gchar *name;
	GSubprocess *proc;
	GPid pid;
	gchar *log;
} Service;

static void
service_free(Service *service)
{
	/* the service and whatever it started and left behind, in its own process group */
	if (service->pid > 0)
		(void)kill(-service->pid, SIGTERM);
	if (service->proc != NULL)
		me_test_subprocess_end(service->proc, service->name, STOP_TIMEOUT_MS);
	if (service->pid > 0)
		(void)kill(-service->pid, SIGKILL);
	g_clear_object(&service->proc);
	g_free(service->log);
	g_free(service);
}

/* ---- small helpers */

static gboolean
fail(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(GError **error, const gchar *format, ...)
{
	va_list ap;

	va_start(ap, format);
	if (error != NULL)
		*error = g_error_new_valist(G_IO_ERROR, G_IO_ERROR_FAILED, format, ap);
	va_end(ap);
	return FALSE;
}

static gboolean
write_file(const gchar *path, const gchar *text, gint mode, GError **error)
{
	return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

static gboolean
make_dir(const gchar *path, gint mode, GError **error)
{
	if (g_mkdir_with_parents(path, mode) != 0 || g_chmod(path, mode) != 0)
		return fail(error, "cannot make %s: %s", path, g_strerror(errno));
	return TRUE;
}

static gboolean
chown_to(const gchar *path, const gchar *user, GError **error)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL || chown(path, pw->pw_uid, pw->pw_gid) != 0)
		return fail(error, "cannot give %s to the user %s", path, user);
	return TRUE;
}

/* runs a tool to its end; its output goes into the error when it fails */
static gboolean
run_tool(const gchar *const *argv, const gchar *stdin_text, gchar **out, GError **error)
{
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;
	gint status = -1;

	if (!me_test_spawn_sync(argv, stdin_text, &o, &e, &status) || status != 0)
		return fail(error, "%s failed (%d): %s%s", argv[0], status, o != NULL ? o : "", e != NULL ? e : "");
	if (out != NULL)
		*out = g_steal_pointer(&o);
	return TRUE;
}

static gchar *
tail_of(const gchar *path)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n;

	if (path == NULL || !g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("(no log)");
	lines = g_strsplit(text, "\n", -1);
	n = g_strv_length(lines);
	return g_strjoinv("\n  ", lines + (n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0));
}

/* runs in the child: a process group of its own, so stop reaches what the service starts;
 * and it gets SIGTERM when the test dies, even when the test crashes */
static void
child_setup(gpointer user_data)
{
	(void)user_data;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* Postfix's master and OpenDKIM outlive a parent-death signal (they survive a test that
 * aborts), so a shell holds each service: when the test ends, however it ends, the shell's
 * standard input closes, and the shell stops the service, with SIGKILL after 5 s (OpenDKIM
 * may wait for milter connections that never close) */
#define HOLDER                                                                                                         \
	"\"$0\" \"$@\" </dev/null & service=$!\n"                                                                      \
	"stop() { kill $service 2>/dev/null; (sleep 5; kill -9 $service) 2>/dev/null & wait $service; exit 0; }\n"  \
	"trap stop TERM\n"                                                                                             \
	"read -r _\n"                                                                                                  \
	"stop\n"

static Service *
spawn_service(MeTestInterop *stack, const gchar *name, const gchar *const *argv, const gchar *const *envp,
	      const gchar *log, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
									   G_SUBPROCESS_FLAGS_STDERR_MERGE);
	Service *service = g_new0(Service, 1);
	gint fd = g_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	service->name = name;
	service->log = g_strdup(log);
	g_ptr_array_add(stack->procs, service);
	if (fd < 0) {
		fail(error, "cannot open %s", log);
		return NULL;
	}
	/* nothing of the test's environment: no sanitizer or valgrind settings */
	g_subprocess_launcher_set_environ(launcher, (gchar **)envp);
	g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
	g_subprocess_launcher_take_stdout_fd(launcher, fd);
	{
		g_autoptr(GPtrArray) held = g_ptr_array_new();
		g_ptr_array_add(held, (gpointer) "/bin/sh");
		g_ptr_array_add(held, (gpointer) "-c");
		g_ptr_array_add(held, (gpointer)HOLDER);
		for (gsize i = 0; argv[i] != NULL; i++)
			g_ptr_array_add(held, (gpointer)argv[i]);
		g_ptr_array_add(held, NULL);
		service->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)held->pdata, error);
	}
	if (service->proc == NULL)
		return NULL;
	service->pid = (GPid)g_ascii_strtoll(g_subprocess_get_identifier(service->proc), NULL, 10);
	return service;
}

/* up: every port answers, and the process still runs; otherwise an error that names the
 * service and shows the end of its log */
static gboolean
wait_up(Service *service, const guint16 *ports, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)START_TIMEOUT_MS * 1000;

	for (gsize i = 0; ports[i] != 0; i++) {
		while (!me_test_wait_port(ports[i], 50)) {
			if (g_subprocess_get_identifier(service->proc) == NULL || g_get_monotonic_time() > deadline) {
				g_autofree gchar *tail = tail_of(service->log);
				return fail(error, "%s did not come up on 127.0.0.1:%u; the end of %s:\n  %s", service->name,
					    ports[i], service->log, tail);
			}
		}
	}
	if (g_subprocess_get_identifier(service->proc) == NULL) {
		g_autofree gchar *tail = tail_of(service->log);
		return fail(error, "%s exited after it started; the end of %s:\n  %s", service->name, service->log, tail);
	}
	return TRUE;
}

static const gchar *const service_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", NULL};

/* ---- the shared folder and what the suite needs from the machine */

/**
 * me_test_interop_shared_dir:
 *
 * Returns: (transfer full): ../shared/interop beside the source tree (ME_TEST_INTEROP_DIR)
 */
gchar *
me_test_interop_shared_dir(void)
{
	const gchar *dir = g_getenv("ME_TEST_INTEROP_DIR");

	return g_strdup(dir != NULL ? dir : "../shared/interop");
}

/* Postfix's master starts as root and hands its queue and daemons to the user postfix.  Not
 * root, the one place that could happen is a user namespace (unshare --user --map-root-user
 * --mount), and there only our own user is mapped: try it, and say what stops it */
static gchar *
userns_why_not(void)
{
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *probe = g_build_filename(dir, "queue-file", NULL);
	const gchar *argv[] = {"/usr/bin/unshare", "--user", "--map-root-user", "--mount", "/bin/chown", "postfix",
			       probe, NULL};
	g_autofree gchar *err = NULL;
	gint status = -1;
	gchar *why;

	g_assert_true(g_file_set_contents(probe, "", 0, NULL));
	if (!me_test_spawn_sync(argv, NULL, NULL, &err, &status))
		status = -1;
	me_test_rm_rf(dir);
	if (status == 0)
		why = g_strdup("needs root: a user namespace could hand a file to the user postfix here, but the suite runs "
			       "Postfix only as root");
	else if (err != NULL && strstr(err, "unshare") != NULL && strstr(err, "chown") == NULL)
		why = g_strdup_printf("needs root: Postfix's master must start as root, and no user namespace is allowed "
				      "here (%s)",
				      g_strstrip(err));
	else
		why = g_strdup("needs root: Postfix's master must start as root and run its daemons as the user postfix, "
			       "and an unprivileged user namespace maps only your own user (unshare --map-root-user)");
	return why;
}

/**
 * me_test_interop_can_run:
 * @shared_dir: the interop material (the acme2certifier snapshot and its patches)
 * @why: (out): one line saying why not, with what is needed
 *
 * Returns: %TRUE when the suite can run here
 */
gboolean
me_test_interop_can_run(const gchar *shared_dir, gchar **why)
{
	g_autofree gchar *src = g_build_filename(shared_dir, "acme2certifier", "src", "acme_srv", NULL);
	/* each program with its Debian package */
	const gchar *const needs[][2] = {
	    {POSTFIX_BINARY, "postfix"},	  {POSTFIX_MASTER, "postfix"},	 {DOVECOT_BINARY, "dovecot-core"},
	    {"/usr/lib/dovecot/lmtp", "dovecot-lmtpd"}, {OPENDKIM_BINARY, "opendkim"}, {PATCH_BINARY, "patch"},
	};

	if (!g_file_test(src, G_FILE_TEST_IS_DIR)) {
		*why = g_strdup_printf("needs the acme2certifier snapshot in %s (../shared/interop beside the source tree)",
				       shared_dir);
		return FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(needs); i++) {
		if (!g_file_test(needs[i][0], G_FILE_TEST_IS_EXECUTABLE)) {
			*why = g_strdup_printf("needs %s (Debian package %s; contrib/setup.sh installs it)", needs[i][0],
					       needs[i][1]);
			return FALSE;
		}
	}
	if (getuid() != 0) {
		*why = userns_why_not();
		return FALSE;
	}
	return TRUE;
}

/* ---- PKI: a private TLS CA for the servers, acme2certifier's S/MIME root and issuing CA */

static gboolean
write_key(const gchar *path, EVP_PKEY *key, GError **error)
{
	g_autoptr(BIO) bio = BIO_new_file(path, "w");

	/* 0600 before the key goes in */
	if (bio == NULL || g_chmod(path, 0600) != 0 || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		return fail(error, "cannot write %s", path);
	return TRUE;
}

static gboolean
write_cert(const gchar *path, X509 *cert, GError **error)
{
	g_autoptr(BIO) bio = BIO_new_file(path, "w");

	if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1)
		return fail(error, "cannot write %s", path);
	return TRUE;
}

static gboolean
make_private(const gchar *path, GError **error)
{
	if (g_chmod(path, 0600) != 0)
		return fail(error, "cannot make %s private: %s", path, g_strerror(errno));
	return TRUE;
}

static gboolean
make_pki(MeTestInterop *stack, gchar **tls_key, GError **error)
{
	g_autofree gchar *dir = g_build_filename(stack->dir, "pki", NULL);
	g_autoptr(EVP_PKEY) root_key = NULL;
	g_autoptr(EVP_PKEY) sub_key = NULL;
	g_autoptr(X509) root = NULL;
	g_autoptr(X509) sub = NULL;
	g_autofree gchar *root_key_path = g_build_filename(dir, "root-ca-key.pem", NULL);
	g_autofree gchar *sub_key_path = g_build_filename(dir, "issuing-ca-key.pem", NULL);

	/* the TLS key for root's eyes only: Dovecot, Postfix and acme2certifier read it as root */
	if (!make_dir(dir, 0711, error) || !me_test_make_tls_cert(dir, &stack->tls_ca_file, tls_key, error) ||
	    !make_private(*tls_key, error))
		return FALSE;
	root_key = me_key_generate(ME_KEY_TYPE_EC_P256, error);
	sub_key = root_key != NULL ? me_key_generate(ME_KEY_TYPE_EC_P256, error) : NULL;
	if (sub_key == NULL)
		return FALSE;
	root = me_test_make_cert("Interop Test S/MIME Root CA", root_key, NULL, root_key, TRUE, NULL);
	sub = me_test_make_cert("Interop Test S/MIME Issuing CA", sub_key, root, root_key, TRUE, NULL);
	stack->root_ca = g_build_filename(dir, "root-ca.pem", NULL);
	stack->issuing_ca = g_build_filename(dir, "issuing-ca.pem", NULL);
	stack->crl = g_build_filename(dir, "issuing-ca-crl.pem", NULL);
	return write_key(root_key_path, root_key, error) && write_key(sub_key_path, sub_key, error) &&
	       write_cert(stack->root_ca, root, error) && write_cert(stack->issuing_ca, sub, error);
}

/* ---- dnsmasq and OpenDKIM */

static gboolean
make_dkim_key(MeTestInterop *stack, const gchar *domain, GString *key_table, GError **error)
{
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_RSA_2048, error);
	g_autofree gchar *path = NULL;
	g_autofree gchar *record = NULL;
	g_autofree gchar *txt = NULL;
	g_autofree gchar *file = g_strconcat(domain, ".private", NULL);

	if (key == NULL)
		return FALSE;
	path = g_build_filename(stack->dir, "opendkim", file, NULL);
	if (!write_key(path, key, error))
		return FALSE;
	record = g_strdup_printf("%s._domainkey.%s", ME_TEST_INTEROP_SELECTOR, domain);
	txt = me_test_dkim_txt(key);
	me_test_dnsmasq_add_txt(stack->dns, record, txt);
	/* the record as DNS serves it, for the independent check (tests/dkim-crosscheck.py) */
	g_hash_table_insert(stack->dkim_records, g_strdup(domain), g_strdup(txt));
	g_string_append_printf(key_table, "%s %s:%s:%s\n", record, domain, ME_TEST_INTEROP_SELECTOR, path);
	return TRUE;
}

static gboolean
start_opendkim(MeTestInterop *stack, GError **error)
{
	g_autofree gchar *dir = g_build_filename(stack->dir, "opendkim", NULL);
	g_autofree gchar *conf = g_build_filename(dir, "opendkim.conf", NULL);
	g_autofree gchar *log = g_build_filename(dir, "opendkim.log", NULL);
	g_autoptr(GString) keys = g_string_new(NULL);
	g_autofree gchar *signing = NULL;
	g_autofree gchar *text = NULL;
	const gchar *domains[] = {ME_TEST_INTEROP_CA_DOMAIN, ME_TEST_INTEROP_USER_DOMAIN};
	Service *service;

	if (!make_dir(dir, 0700, error))
		return FALSE;
	stack->dns = me_test_dnsmasq_new();
	for (gsize i = 0; i < G_N_ELEMENTS(domains); i++)
		if (!make_dkim_key(stack, domains[i], keys, error))
			return FALSE;
	if (!me_test_dnsmasq_start(stack->dns, error))
		return FALSE;
	signing = g_strdup_printf("*@%s %s._domainkey.%s\n*@%s %s._domainkey.%s\n", domains[0], ME_TEST_INTEROP_SELECTOR,
				  domains[0], domains[1], ME_TEST_INTEROP_SELECTOR, domains[1]);
	stack->milter_port = me_test_free_port();
	text = g_strdup_printf("# written by tests/interop/interop-stack.c\n"
			       "Syslog no\n"
			       /* signing only: verifying would look keys up in the machine's DNS */
			       "Mode s\n"
			       "Socket inet:%u@127.0.0.1\n"
			       "PidFile %s/opendkim.pid\n"
			       "Canonicalization relaxed/relaxed\n"
			       "KeyTable file:%s/KeyTable\n"
			       "SigningTable refile:%s/SigningTable\n"
			       "InternalHosts 127.0.0.1\n"
			       /* the keys sit in the test's temporary folder */
			       "RequireSafeKeys false\n"
			       "SignHeaders " SIGN "\n"
			       "OversignHeaders " OVERSIGN "\n",
			       stack->milter_port, dir, dir, dir);
	{
		g_autofree gchar *key_table = g_build_filename(dir, "KeyTable", NULL);
		g_autofree gchar *signing_table = g_build_filename(dir, "SigningTable", NULL);
		if (!write_file(key_table, keys->str, 0600, error) || !write_file(signing_table, signing, 0600, error) ||
		    !write_file(conf, text, 0600, error))
			return FALSE;
	}
	{
		const gchar *argv[] = {OPENDKIM_BINARY, "-f", "-x", conf, NULL};
		service = spawn_service(stack, "OpenDKIM", argv, service_env, log, error);
	}
	return service != NULL && wait_up(service, (const guint16[]){stack->milter_port, 0}, error);
}

/* ---- Dovecot: IMAPS for acme2certifier, LMTP for Postfix, SASL for Postfix's submission */

static gboolean
make_mailbox(MeTestInterop *stack, const gchar *mailbox, GString *users, GError **error)
{
	g_autofree gchar *password = g_uuid_string_random();
	g_autofree gchar *hash = NULL;
	g_autofree gchar *home = NULL;
	const gchar *at = strchr(mailbox, '@');
	const gchar *argv[] = {"openssl", "passwd", "-6", "-stdin", NULL};
	g_autofree gchar *domain_dir = NULL;
	g_autofree gchar *local = NULL;
	struct passwd *pw = getpwnam(MAIL_USER);
	const gchar *subdirs[] = {"Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"};
	g_autofree gchar *line = NULL;

	g_assert_nonnull(at);
	g_assert_nonnull(pw);
	local = g_strndup(mailbox, at - mailbox);
	domain_dir = g_build_filename(stack->dir, "mail", at + 1, NULL);
	home = g_build_filename(domain_dir, local, NULL);
	/* the password through standard input, never on a command line */
	if (!make_dir(domain_dir, 0711, error) || !make_dir(home, 0700, error) || !chown_to(home, MAIL_USER, error) ||
	    !run_tool(argv, password, &hash, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree gchar *sub = g_build_filename(home, subdirs[i], NULL);
		if (!make_dir(sub, 0700, error) || !chown_to(sub, MAIL_USER, error))
			return FALSE;
	}
	line = g_strdup_printf("%s:{SHA512-CRYPT}%s:%u:%u::%s::\n", mailbox, g_strstrip(hash), (guint)pw->pw_uid,
			       (guint)pw->pw_gid, home);
	g_string_append(users, line);
	g_hash_table_insert(stack->passwords, g_strdup(mailbox), g_steal_pointer(&password));
	return TRUE;
}

static gchar *
dovecot_config(MeTestInterop *stack, const gchar *dir, const gchar *tls_key)
{
	return g_strdup_printf("# written by tests/interop/interop-stack.c; nothing under /etc/dovecot is read\n"
			       "base_dir = %s/run\n"
			       "state_dir = %s/state\n"
			       "protocols = imap lmtp\n"
			       "listen = 127.0.0.1\n"
			       "ssl = required\n"
			       "ssl_cert = <%s\n"
			       "ssl_key = <%s\n"
			       "ssl_dh = </usr/share/dovecot/dh.pem\n"
			       "auth_mechanisms = plain login\n"
			       "auth_verbose = yes\n"
			       "log_path = /dev/stderr\n"
			       "log_timestamp = \"%%Y-%%m-%%d %%H:%%M:%%S \"\n"
			       "mail_location = maildir:~/Maildir\n"
			       "first_valid_uid = 1\n"
			       "postmaster_address = postmaster@" ME_TEST_INTEROP_CA_DOMAIN "\n"
			       "hostname = mail." ME_TEST_INTEROP_CA_DOMAIN "\n"
			       "passdb {\n  driver = passwd-file\n  args = %s/users\n}\n"
			       "userdb {\n  driver = passwd-file\n  args = %s/users\n}\n"
			       "service imap-login {\n  chroot =\n"
			       "  inet_listener imap {\n    port = 0\n  }\n"
			       "  inet_listener imaps {\n    address = 127.0.0.1\n    port = %u\n    ssl = yes\n  }\n}\n"
			       "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = %u\n  }\n}\n"
			       "service auth {\n  inet_listener auth-postfix {\n    address = 127.0.0.1\n    port = %u\n  }\n}\n"
			       "service anvil {\n  chroot =\n}\n",
			       dir, dir, stack->tls_ca_file, tls_key, dir, dir, stack->imaps_port, stack->lmtp_port,
			       stack->auth_port);
}

static gboolean
start_dovecot(MeTestInterop *stack, const gchar *const *mailboxes, const gchar *tls_key, GError **error)
{
	g_autofree gchar *dir = g_build_filename(stack->dir, "dovecot", NULL);
	g_autofree gchar *mail = g_build_filename(stack->dir, "mail", NULL);
	g_autofree gchar *conf = g_build_filename(dir, "dovecot.conf", NULL);
	g_autofree gchar *users_path = g_build_filename(dir, "users", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GString) users = g_string_new(NULL);
	Service *service;

	if (!make_dir(dir, 0711, error) || !make_dir(mail, 0711, error) ||
	    !make_mailbox(stack, ME_TEST_INTEROP_CA_MAILBOX, users, error))
		return FALSE;
	for (gsize i = 0; mailboxes[i] != NULL; i++)
		if (!make_mailbox(stack, mailboxes[i], users, error))
			return FALSE;
	/* 0644: dovecot's auth process runs as the user dovecot; the passwords are hashed */
	if (!write_file(users_path, users->str, 0644, error))
		return FALSE;
	stack->imaps_port = me_test_free_port();
	stack->lmtp_port = me_test_free_port();
	stack->auth_port = me_test_free_port();
	text = dovecot_config(stack, dir, tls_key);
	stack->dovecot_log = g_build_filename(dir, "dovecot.log", NULL);
	if (!write_file(conf, text, 0644, error))
		return FALSE;
	{
		const gchar *argv[] = {DOVECOT_BINARY, "-F", "-c", conf, NULL};
		service = spawn_service(stack, "Dovecot", argv, service_env, stack->dovecot_log, error);
	}
	return service != NULL &&
	       wait_up(service, (const guint16[]){stack->imaps_port, stack->lmtp_port, stack->auth_port, 0}, error);
}

/* ---- Postfix, with a configuration directory, queue and data directory of its own */

static gchar *
postfix_main_cf(MeTestInterop *stack, const gchar *dir, const gchar *tls_key)
{
	return g_strdup_printf(
	    "# written by tests/interop/interop-stack.c; /etc/postfix is neither read nor written\n"
	    "compatibility_level = 3.6\n"
	    "queue_directory = %s/spool\n"
	    "data_directory = %s/data\n"
	    "mail_owner = postfix\n"
	    "myhostname = mail." ME_TEST_INTEROP_CA_DOMAIN "\n"
	    "mydomain = " ME_TEST_INTEROP_CA_DOMAIN "\n"
	    "myorigin = $myhostname\n"
	    "mydestination =\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "inet_protocols = ipv4\n"
	    "mynetworks = 127.0.0.0/8\n"
	    "relayhost =\n"
	    "alias_maps =\n"
	    "alias_database =\n"
	    "biff = no\n"
	    "maillog_file = %s/postfix.log\n"
	    "maillog_file_prefixes = %s\n"
	    "virtual_mailbox_domains = " ME_TEST_INTEROP_CA_DOMAIN ", " ME_TEST_INTEROP_USER_DOMAIN "\n"
	    "virtual_mailbox_maps = texthash:%s/etc/vmailbox\n"
	    "virtual_transport = lmtp:inet:127.0.0.1:%u\n"
	    /* no DNS: every name here is ours */
	    "smtpd_peername_lookup = no\n"
	    "smtp_dns_support_level = disabled\n"
	    "lmtp_host_lookup = native\n"
	    "smtpd_tls_cert_file = %s\n"
	    "smtpd_tls_key_file = %s\n"
	    "smtpd_tls_security_level = may\n"
	    "smtpd_sasl_type = dovecot\n"
	    "smtpd_sasl_path = inet:127.0.0.1:%u\n"
	    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n"
	    "smtpd_milters = inet:127.0.0.1:%u\n"
	    "non_smtpd_milters = $smtpd_milters\n"
	    "milter_default_action = tempfail\n"
	    /* holds the challenge mail to one mailbox (the run with a late mail) */
	    "header_checks = regexp:%s/etc/header_checks\n"
	    /* a released mail goes out at once */
	    "queue_run_delay = 1s\n"
	    "minimal_backoff_time = 1s\n"
	    "maximal_backoff_time = 2s\n",
	    dir, dir, dir, dir, dir, stack->lmtp_port, stack->tls_ca_file, tls_key, stack->auth_port,
	    stack->milter_port, dir);
}

static gchar *
postfix_master_cf(MeTestInterop *stack)
{
	const gchar *daemons[] = {
	    "pickup unix n - n 60 1 pickup",  "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
	    "tlsmgr unix - - n 1000? 1 tlsmgr", "rewrite unix - - n - - trivial-rewrite",
	    "bounce unix - - n - 0 bounce",   "defer unix - - n - 0 bounce",   "trace unix - - n - 0 bounce",
	    "verify unix - - n - 1 verify",   "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap",
	    "smtp unix - - n - - smtp",	      "relay unix - - n - - smtp",	"showq unix n - n - - showq",
	    "error unix - - n - - error",     "retry unix - - n - - error",	"discard unix - - n - - discard",
	    "lmtp unix - - n - - lmtp",	      "anvil unix - - n - 1 anvil",	"scache unix - - n - 1 scache",
	    "postlog unix-dgram n - n - 1 postlogd",
	};
	g_autoptr(GString) text = g_string_new("# written by tests/interop/interop-stack.c; no chroot\n");

	g_string_append_printf(text, "127.0.0.1:%u inet n - n - - smtpd\n", stack->smtp_port);
	g_string_append_printf(text,
			       "127.0.0.1:%u inet n - n - - smtpd\n"
			       "  -o syslog_name=postfix/submission\n"
			       "  -o smtpd_tls_security_level=encrypt\n"
			       "  -o smtpd_sasl_auth_enable=yes\n"
			       "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
			       "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n",
			       stack->submission_port);
	for (gsize i = 0; i < G_N_ELEMENTS(daemons); i++)
		g_string_append_printf(text, "%s\n", daemons[i]);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static gboolean
write_postfix_config(MeTestInterop *stack, const gchar *dir, const gchar *const *mailboxes, const gchar *hold,
		     const gchar *tls_key, GError **error)
{
	g_autofree gchar *main_cf = postfix_main_cf(stack, dir, tls_key);
	g_autofree gchar *master_cf = postfix_master_cf(stack);
	g_autofree gchar *main_path = g_build_filename(stack->postfix_conf_dir, "main.cf", NULL);
	g_autofree gchar *master_path = g_build_filename(stack->postfix_conf_dir, "master.cf", NULL);
	g_autofree gchar *vmailbox_path = g_build_filename(stack->postfix_conf_dir, "vmailbox", NULL);
	g_autofree gchar *checks_path = g_build_filename(stack->postfix_conf_dir, "header_checks", NULL);
	g_autoptr(GString) vmailbox = g_string_new(ME_TEST_INTEROP_CA_MAILBOX " OK\n");
	g_autofree gchar *checks = NULL;

	for (gsize i = 0; mailboxes[i] != NULL; i++)
		g_string_append_printf(vmailbox, "%s OK\n", mailboxes[i]);
	if (hold != NULL) {
		g_autofree gchar *quoted = g_regex_escape_string(hold, -1);
		checks = g_strdup_printf("/^To:.*%s/ HOLD\n", quoted);
	}
	return write_file(main_path, main_cf, 0644, error) && write_file(master_path, master_cf, 0644, error) &&
	       write_file(vmailbox_path, vmailbox->str, 0644, error) &&
	       write_file(checks_path, checks != NULL ? checks : "# nothing held\n", 0644, error);
}

static gboolean
start_postfix(MeTestInterop *stack, const gchar *const *mailboxes, const gchar *hold, const gchar *tls_key,
	      GError **error)
{
	g_autofree gchar *dir = g_build_filename(stack->dir, "postfix", NULL);
	g_autofree gchar *data = g_build_filename(dir, "data", NULL);
	g_autofree gchar *spool = g_build_filename(dir, "spool", NULL);
	g_autofree gchar *env_config = NULL;
	Service *service;

	stack->postfix_conf_dir = g_build_filename(dir, "etc", NULL);
	stack->postfix_log = g_build_filename(dir, "postfix.log", NULL);
	stack->smtp_port = me_test_free_port();
	stack->submission_port = me_test_free_port();
	if (!make_dir(dir, 0755, error) || !make_dir(stack->postfix_conf_dir, 0755, error) ||
	    !make_dir(spool, 0755, error) || !make_dir(data, 0700, error) || !chown_to(data, "postfix", error) ||
	    !write_postfix_config(stack, dir, mailboxes, hold, tls_key, error))
		return FALSE;
	/* postfix check makes the queue's folders with the owners and modes Postfix wants */
	{
		const gchar *check[] = {POSTFIX_BINARY, "-c", stack->postfix_conf_dir, "check", NULL};
		if (!run_tool(check, NULL, NULL, error))
			return FALSE;
	}
	/* the master itself, in the foreground (-d) */
	env_config = g_strconcat("MAIL_CONFIG=", stack->postfix_conf_dir, NULL);
	{
		const gchar *envp[] = {service_env[0], service_env[1], env_config, NULL};
		const gchar *argv[] = {POSTFIX_MASTER, "-d", "-c", stack->postfix_conf_dir, NULL};
		g_autofree gchar *master_log = g_build_filename(dir, "master.log", NULL);
		service = spawn_service(stack, "Postfix", argv, envp, master_log, error);
	}
	return service != NULL &&
	       wait_up(service, (const guint16[]){stack->smtp_port, stack->submission_port, 0}, error);
}

/* ---- acme2certifier: a copy of the snapshot with the CSR patch, its openssl_ca_handler */

static gboolean
copy_a2c(MeTestInterop *stack, const gchar *shared_dir, GError **error)
{
	g_autofree gchar *src = g_build_filename(shared_dir, "acme2certifier", "src", NULL);
	g_autofree gchar *acme_srv = g_build_filename(src, "acme_srv", NULL);
	g_autofree gchar *examples = g_build_filename(src, "examples", NULL);
	g_autofree gchar *wsgi = g_build_filename(examples, "acme2certifier_wsgi.py", NULL);
	g_autofree gchar *db_handler = g_build_filename(examples, "db_handler", "wsgi_handler.py", NULL);
	g_autofree gchar *db_target = g_build_filename(stack->a2c_dir, "acme_srv", "db_handler.py", NULL);
	g_autofree gchar *patch =
	    g_build_filename(shared_dir, "acme2certifier", "patches", "a2c-csr-rfc822name.patch", NULL);
	const gchar *copy[] = {CP_BINARY, "-r", acme_srv, examples, wsgi, stack->a2c_dir, NULL};
	g_autofree gchar *cert_patch =
	    g_build_filename(shared_dir, "acme2certifier", "patches", "a2c-cert-rfc822name.patch", NULL);
	const gchar *copy_db[] = {CP_BINARY, db_handler, db_target, NULL};
	/* the snapshot stays as it is: the patches go onto the copy */
	const gchar *apply[] = {PATCH_BINARY, "-s", "-p1", "-d", stack->a2c_dir, "-i", patch, NULL};
	const gchar *apply_cert[] = {PATCH_BINARY, "-s", "-p1", "-d", stack->a2c_dir, "-i", cert_patch, NULL};

	if (!make_dir(stack->a2c_dir, 0700, error) || !run_tool(copy, NULL, NULL, error) ||
	    !run_tool(copy_db, NULL, NULL, error) || !run_tool(apply, NULL, NULL, error))
		return FALSE;
	/* the same bug on the way back: cert_san_get() knows no rfc822Name either, so a revocation
	 * by the account is refused; applied when the interop material has its fix */
	stack->revocation_patched = g_file_test(cert_patch, G_FILE_TEST_EXISTS);
	return !stack->revocation_patched || run_tool(apply_cert, NULL, NULL, error);
}

static gchar *
a2c_config(MeTestInterop *stack)
{
	g_autofree gchar *pki = g_path_get_dirname(stack->root_ca);
	g_autofree gchar *certs = g_build_filename(pki, "certs", NULL);

	return g_strdup_printf("# written by tests/interop/interop-stack.c: the stock settings, the RFC 8823 mail\n"
			       "# settings and email_identifier_support\n"
			       "[DEFAULT]\n"
			       "debug: True\n"
			       "imap_server: 127.0.0.1\n"
			       "imap_port: %u\n"
			       "imap_use_ssl: True\n"
			       "smtp_server: 127.0.0.1\n"
			       "smtp_port: %u\n"
			       "smtp_use_tls: True\n"
			       "username: " ME_TEST_INTEROP_CA_MAILBOX "\n"
			       "password: %s\n"
			       "email_address: " ME_TEST_INTEROP_CA_MAILBOX "\n"
			       "connection_timeout: 15\n"
			       "\n[Helper]\n"
			       "log_format: %%(asctime)s.%%(msecs)03d %%(levelname)s %%(message)s\n"
			       "\n[DBhandler]\n"
			       "dbfile: %s/acme_srv/acme_srv.db\n"
			       "\n[Nonce]\n"
			       "nonce_check_disable: False\n"
			       "\n[Challenge]\n"
			       "challenge_validation_disable: False\n"
			       "challenge_validation_timeout: 10\n"
			       "\n[Order]\n"
			       "tnauthlist_support: False\n"
			       "email_identifier_support: True\n"
			       "\n[CAhandler]\n"
			       "handler_file: examples/ca_handler/openssl_ca_handler.py\n"
			       "issuing_ca_key: %s/issuing-ca-key.pem\n"
			       "issuing_ca_cert: %s\n"
			       "issuing_ca_crl: %s\n"
			       "cert_validity_days: 30\n"
			       "cert_save_path: %s\n"
			       "ca_cert_chain_list: [\"%s\"]\n"
			       "openssl_conf: %s/openssl.conf\n",
			       stack->imaps_port, stack->submission_port,
			       (const gchar *)g_hash_table_lookup(stack->passwords, ME_TEST_INTEROP_CA_MAILBOX),
			       stack->a2c_dir, pki, stack->issuing_ca, stack->crl, certs, stack->root_ca, pki);
}

static gboolean
start_a2c(MeTestInterop *stack, const gchar *shared_dir, GError **error)
{
	g_autofree gchar *pki = g_path_get_dirname(stack->root_ca);
	g_autofree gchar *certs = g_build_filename(pki, "certs", NULL);
	g_autofree gchar *profile = g_build_filename(pki, "openssl.conf", NULL);
	g_autofree gchar *cfg = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "interop", "a2c-https.py", NULL);
	g_autofree gchar *port = NULL;
	g_autofree gchar *tls_key = g_build_filename(pki, "tls-key.pem", NULL);
	Service *service;

	stack->a2c_dir = g_build_filename(stack->dir, "a2c", NULL);
	if (!copy_a2c(stack, shared_dir, error) || !make_dir(certs, 0700, error))
		return FALSE;
	/* the profile the openssl_ca_handler puts on every certificate; the SAN comes from the CSR */
	if (!write_file(profile,
			"[extensions]\n"
			"basicConstraints = critical, CA:FALSE\n"
			"keyUsage = critical, digitalSignature, keyEncipherment\n"
			"extendedKeyUsage = emailProtection\n"
			"subjectKeyIdentifier = hash\n"
			"authorityKeyIdentifier = keyid:always\n",
			0600, error))
		return FALSE;
	stack->acme_port = me_test_free_port();
	stack->directory_url = g_strdup_printf("https://127.0.0.1:%u/directory", stack->acme_port);
	cfg = g_build_filename(stack->a2c_dir, "acme_srv", "acme_srv.cfg", NULL);
	text = a2c_config(stack);
	if (!write_file(cfg, text, 0600, error))
		return FALSE;
	stack->a2c_log = g_build_filename(stack->dir, "a2c.log", NULL);
	port = g_strdup_printf("%u", stack->acme_port);
	{
		const gchar *argv[] = {me_test_python(), script, stack->a2c_dir, port, stack->tls_ca_file, tls_key, NULL};
		service = spawn_service(stack, "acme2certifier", argv, service_env, stack->a2c_log, error);
	}
	return service != NULL && wait_up(service, (const guint16[]){stack->acme_port, 0}, error);
}

/* ---- the stack */

/**
 * me_test_interop_start:
 * @shared_dir: the interop material: acme2certifier/src (the snapshot) and acme2certifier/patches
 * @mailboxes: the users' mailboxes, each with a Maildir and a password at Dovecot
 * @hold_mailbox: (nullable): Postfix holds mail to this mailbox until me_test_interop_release_held()
 * @error: (nullable): which service did not come up, with the end of its log
 *
 * Returns: (transfer full) (nullable): the running stack
 */
MeTestInterop *
me_test_interop_start(const gchar *shared_dir, const gchar *const *mailboxes, const gchar *hold_mailbox,
		      GError **error)
{
	g_autoptr(MeTestInterop) stack = g_new0(MeTestInterop, 1);
	g_autofree gchar *tls_key = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	stack->dir = me_test_tmpdir();
	stack->passwords = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	stack->dkim_records = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	stack->procs = g_ptr_array_new();
	/* the users the services run as pass through to their files */
	if (g_chmod(stack->dir, 0711) != 0 || !make_pki(stack, &tls_key, error) ||
	    !start_opendkim(stack, error) ||
	    !start_dovecot(stack, mailboxes, tls_key, error) ||
	    !start_postfix(stack, mailboxes, hold_mailbox, tls_key, error) || !start_a2c(stack, shared_dir, error))
		return NULL;
	return g_steal_pointer(&stack);
}

/**
 * me_test_interop_get_maildir:
 *
 * Returns: (transfer full): the Maildir Dovecot delivers @mailbox's mail into
 */
gchar *
me_test_interop_get_maildir(MeTestInterop *stack, const gchar *mailbox)
{
	const gchar *at = strchr(mailbox, '@');
	g_autofree gchar *local = g_strndup(mailbox, at - mailbox);

	return g_build_filename(stack->dir, "mail", at + 1, local, "Maildir", NULL);
}

/**
 * me_test_interop_get_password:
 *
 * Returns: (transfer none): @mailbox's password at Dovecot (IMAP and SMTP AUTH)
 */
const gchar *
me_test_interop_get_password(MeTestInterop *stack, const gchar *mailbox)
{
	return g_hash_table_lookup(stack->passwords, mailbox);
}

/**
 * me_test_interop_count_held:
 *
 * Returns: how many mails Postfix holds
 */
guint
me_test_interop_count_held(MeTestInterop *stack)
{
	g_autofree gchar *hold = g_build_filename(stack->dir, "postfix", "spool", "hold", NULL);
	g_autoptr(GDir) dir = g_dir_open(hold, 0, NULL);
	guint n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

/**
 * me_test_interop_release_held:
 *
 * Releases what Postfix holds (postsuper -H) and delivers it now (postqueue -f).
 *
 * Returns: %TRUE when both commands ran
 */
gboolean
me_test_interop_release_held(MeTestInterop *stack, GError **error)
{
	const gchar *release[] = {POSTSUPER, "-c", stack->postfix_conf_dir, "-H", "ALL", NULL};
	const gchar *flush[] = {POSTQUEUE, "-c", stack->postfix_conf_dir, "-f", NULL};

	return run_tool(release, NULL, NULL, error) && run_tool(flush, NULL, NULL, error);
}

/**
 * me_test_interop_a2c_query:
 * @sql: one SELECT on acme2certifier's database
 *
 * Returns: (transfer full): the rows, one a line, columns joined by '|'
 */
gchar *
me_test_interop_a2c_query(MeTestInterop *stack, const gchar *sql)
{
	g_autofree gchar *db = g_build_filename(stack->a2c_dir, "acme_srv", "acme_srv.db", NULL);
	const gchar *argv[] = {me_test_python(), "-c",
			       "import sqlite3, sys\n"
			       "for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):\n"
			       "    print('|'.join(str(c) for c in row))\n",
			       db, sql, NULL};
	g_autoptr(GError) error = NULL;
	gchar *out = NULL;

	run_tool(argv, NULL, &out, &error);
	g_assert_no_error(error);
	return out;
}

/**
 * me_test_interop_stop:
 *
 * Stops every service, newest first, and removes the stack's folder.
 */
void
me_test_interop_stop(MeTestInterop *stack)
{
	if (stack == NULL)
		return;
	for (guint i = stack->procs->len; i > 0; i--)
		service_free(g_ptr_array_index(stack->procs, i - 1));
	g_ptr_array_unref(stack->procs);
	me_test_dnsmasq_free(stack->dns);
	if (g_getenv("ME_TEST_INTEROP_KEEP") == NULL)
		me_test_rm_rf(stack->dir);
	else
		g_test_message("interop: kept %s", stack->dir);
	g_hash_table_unref(stack->passwords);
	g_hash_table_unref(stack->dkim_records);
	g_free(stack->dir);
	g_free(stack->a2c_dir);
	g_free(stack->directory_url);
	g_free(stack->tls_ca_file);
	g_free(stack->root_ca);
	g_free(stack->issuing_ca);
	g_free(stack->crl);
	g_free(stack->postfix_conf_dir);
	g_free(stack->a2c_log);
	g_free(stack->postfix_log);
	g_free(stack->dovecot_log);
	g_free(stack);
}
