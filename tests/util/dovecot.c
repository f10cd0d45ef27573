/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTest"

#include "config.h"

#include "dovecot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"

#define DOVECOT_BINARY "/usr/sbin/dovecot"
/* a port that was free a moment ago may be taken by the time dovecot binds it */
#define START_ATTEMPTS	 3
#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS	 10000
#define POLL_MS		 20
#define LOG_TAIL_LINES	 40
/* dovecot never gives mail access to root: a test run as root gets its mail owned by nobody */
#define ROOT_MAIL_USER	 "nobody"

struct _MeTestDovecot {
	GSubprocess *proc;
	GPid pid;
	gchar *dir; /* everything of this server, removed by stop */
	gchar *conf_path;
	gchar *log_path;
	gchar *passwd_path;
	gchar *home;
	gchar *maildir;
	gchar *rawlog_dir;
	gchar *user;
	guint16 port;
	/* who owns the mail, and who runs dovecot's own processes */
	uid_t mail_uid;
	gid_t mail_gid;
	gchar *internal_user;
	gchar *internal_group;
	gchar *login_user;
	guint delivered;
};

/* as root: Debian's dovecot users, and nobody for the mail; as anyone else: that user for
 * everything, the way dovecot runs unprivileged */
static gboolean
choose_users(MeTestDovecot *dovecot, GError **error)
{
	struct passwd *pw;
	struct group *gr;

	if (getuid() == 0) {
		if (getpwnam("dovecot") == NULL || getpwnam("dovenull") == NULL ||
		    (pw = getpwnam(ROOT_MAIL_USER)) == NULL) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					    "the users dovecot, dovenull and nobody are needed (Debian package "
					    "dovecot-core)");
			return FALSE;
		}
		dovecot->mail_uid = pw->pw_uid;
		dovecot->mail_gid = pw->pw_gid;
		dovecot->internal_user = g_strdup("dovecot");
		dovecot->internal_group = g_strdup("dovecot");
		dovecot->login_user = g_strdup("dovenull");
		return TRUE;
	}
	pw = getpwuid(getuid());
	gr = getgrgid(getgid());
	if (pw == NULL || gr == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "the test's user or group has no name");
		return FALSE;
	}
	dovecot->mail_uid = pw->pw_uid;
	dovecot->mail_gid = gr->gr_gid;
	dovecot->internal_user = g_strdup(pw->pw_name);
	dovecot->internal_group = g_strdup(gr->gr_name);
	dovecot->login_user = g_strdup(pw->pw_name);
	return TRUE;
}

/* a folder the mail user owns (when the test runs as root, dovecot reads the mail as nobody) */
static gboolean
make_mail_dir(MeTestDovecot *dovecot, const gchar *path, GError **error)
{
	if (g_mkdir_with_parents(path, 0700) != 0 ||
	    (getuid() == 0 && chown(path, dovecot->mail_uid, dovecot->mail_gid) != 0)) {
		gint saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot make %s: %s", path,
			    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

static gboolean
make_mail_dirs(MeTestDovecot *dovecot, GError **error)
{
	const gchar *subdirs[] = {"new", "cur", "tmp"};
	g_autofree gchar *homes = g_path_get_dirname(dovecot->home);

	/* the users dovecot runs as must reach the passwd file and the mail through our
	 * folders, without listing them */
	if (g_mkdir(homes, 0711) != 0 || g_chmod(homes, 0711) != 0 || g_chmod(dovecot->dir, 0711) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make %s", homes);
		return FALSE;
	}
	if (!make_mail_dir(dovecot, dovecot->home, error) || !make_mail_dir(dovecot, dovecot->maildir, error) ||
	    !make_mail_dir(dovecot, dovecot->rawlog_dir, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree gchar *sub = g_build_filename(dovecot->maildir, subdirs[i], NULL);
		if (!make_mail_dir(dovecot, sub, error))
			return FALSE;
	}
	return TRUE;
}

/* dovecot's passwd-file: one user, the password in the clear, the mail user's ids, home */
static gboolean
write_passwd(MeTestDovecot *dovecot, const gchar *password, GError **error)
{
	g_autofree gchar *line = g_strdup_printf("%s:{PLAIN}%s:%u:%u::%s::\n", dovecot->user, password,
						 (guint)dovecot->mail_uid, (guint)dovecot->mail_gid, dovecot->home);

	/* 0644 in a folder others may only pass through: dovecot's auth process runs as the
	 * user dovecot and reads it */
	return g_file_set_contents_full(dovecot->passwd_path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static gchar *
config_text(MeTestDovecot *dovecot)
{
	return g_strdup_printf(
	    "# written by tests/util/dovecot.c; nothing under /etc/dovecot is read\n"
	    "base_dir = %s/run\n"
	    "state_dir = %s/state\n"
	    "protocols = imap\n"
	    "listen = 127.0.0.1\n"
	    /* plain IMAP and a plain password, as the test's Thunderbird account has them */
	    "ssl = no\n"
	    "disable_plaintext_auth = no\n"
	    "auth_mechanisms = plain login\n"
	    /* a refused login says why */
	    "auth_verbose = yes\n"
	    /* the log goes to dovecot's stderr, which is our log file */
	    "log_path = /dev/stderr\n"
	    "log_timestamp = \"%%Y-%%m-%%d %%H:%%M:%%S \"\n"
	    /* every IMAP command in the log when it finishes ("Command finished: SELECT INBOX") */
	    "log_debug = event=imap_command_finished\n"
	    /* every session's conversation after login, written as it happens (IDLE included,
	     * which finishes only when the client ends it); the login itself is not in it */
	    "rawlog_dir = %s\n"
	    "mail_location = maildir:~/Maildir\n"
	    "first_valid_uid = 1\n"
	    /* IDLE sees new mail at once through inotify; this is only the fallback */
	    "mailbox_idle_check_interval = 1 secs\n"
	    "default_internal_user = %s\n"
	    "default_internal_group = %s\n"
	    "default_login_user = %s\n"
	    "passdb {\n"
	    "  driver = passwd-file\n"
	    "  args = scheme=PLAIN %s\n"
	    "}\n"
	    "userdb {\n"
	    "  driver = passwd-file\n"
	    "  args = %s\n"
	    "}\n"
	    /* no chroot: a test needs none, and a run that is not root cannot have one */
	    "service imap-login {\n"
	    "  chroot =\n"
	    "  inet_listener imap {\n"
	    "    address = 127.0.0.1\n"
	    "    port = %u\n"
	    "  }\n"
	    "  inet_listener imaps {\n"
	    "    port = 0\n"
	    "  }\n"
	    "}\n"
	    "service anvil {\n"
	    "  chroot =\n"
	    "}\n",
	    dovecot->dir, dovecot->dir, dovecot->rawlog_dir, dovecot->internal_user, dovecot->internal_group,
	    dovecot->login_user, dovecot->passwd_path, dovecot->passwd_path, dovecot->port);
}

/* runs in the child: a process group of its own, so stop reaches the processes dovecot
 * starts; and dovecot gets SIGTERM when the test dies, even when it crashes */
static void
child_setup(gpointer user_data)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
dovecot_exited(MeTestDovecot *dovecot)
{
	/* GSubprocess reaps the child in GLib's worker thread, without a main loop */
	return g_subprocess_get_identifier(dovecot->proc) == NULL;
}

static void
print_log_tail(MeTestDovecot *dovecot)
{
	g_autofree gchar *log = me_test_dovecot_get_log(dovecot);
	g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
	guint n = g_strv_length(lines);

	g_test_message("last lines of %s:", dovecot->log_path);
	for (guint i = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0; i < n; i++)
		g_test_message("  %s", lines[i]);
}

static gboolean
log_has(MeTestDovecot *dovecot, const gchar *needle)
{
	g_autofree gchar *log = me_test_dovecot_get_log(dovecot);
	return strstr(log, needle) != NULL;
}

/* ready: the master has bound its listeners (it logs "starting up" only after that) and
 * something answers on the port; stop waiting when it exited */
static gboolean
wait_ready(MeTestDovecot *dovecot)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)START_TIMEOUT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		if (dovecot_exited(dovecot))
			return FALSE;
		if (log_has(dovecot, "starting up") && me_test_wait_port(dovecot->port, POLL_MS))
			return !dovecot_exited(dovecot);
		g_usleep(POLL_MS * 1000);
	}
	return FALSE;
}

static GSubprocessLauncher *
dovecot_launcher(gint log_fd)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
	/* nothing of the test's environment (sanitizer or valgrind settings); dovecot clears
	 * most of it anyway */
	const gchar *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", NULL};

	g_subprocess_launcher_set_environ(launcher, (gchar **)envp);
	g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
	g_subprocess_launcher_take_stdout_fd(launcher, log_fd);
	g_subprocess_launcher_set_flags(launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	return launcher;
}

static void
kill_group(MeTestDovecot *dovecot)
{
	/* the master and whatever it started and left behind */
	if (dovecot->pid > 0)
		(void)kill(-dovecot->pid, SIGKILL);
	g_subprocess_wait(dovecot->proc, NULL, NULL);
	g_clear_object(&dovecot->proc);
	dovecot->pid = 0;
}

static gboolean
start_once(MeTestDovecot *dovecot, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree gchar *config = NULL;
	gint log_fd;

	dovecot->port = me_test_free_port();
	config = config_text(dovecot);
	if (!g_file_set_contents(dovecot->conf_path, config, -1, error))
		return FALSE;
	/* append: the master and its log process both write to it */
	log_fd = g_open(dovecot->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s", dovecot->log_path);
		return FALSE;
	}
	launcher = dovecot_launcher(log_fd);
	dovecot->proc = g_subprocess_launcher_spawn(launcher, error, DOVECOT_BINARY, "-F", "-c", dovecot->conf_path,
						    NULL);
	if (dovecot->proc == NULL)
		return FALSE;
	if (g_subprocess_get_identifier(dovecot->proc) != NULL)
		dovecot->pid = (GPid)g_ascii_strtoll(g_subprocess_get_identifier(dovecot->proc), NULL, 10);
	if (wait_ready(dovecot))
		return TRUE;
	kill_group(dovecot);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "dovecot did not start on port %u", dovecot->port);
	return FALSE;
}

static gboolean
check_credential(const gchar *what, const gchar *value, const gchar *forbidden, GError **error)
{
	/* they go into a passwd-file line as they are */
	if (value == NULL || *value == '\0' || strpbrk(value, forbidden) != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "the dovecot %s must be one line without ':' (a user name without blanks)", what);
		return FALSE;
	}
	return TRUE;
}

static gboolean
prepare(MeTestDovecot *dovecot, const gchar *password, GError **error)
{
	/* dovecot's configuration takes paths unquoted */
	if (strpbrk(dovecot->dir, " \t\"%") != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is not a path dovecot takes",
			    dovecot->dir);
		return FALSE;
	}
	if (!choose_users(dovecot, error) || !make_mail_dirs(dovecot, error))
		return FALSE;
	return write_passwd(dovecot, password, error);
}

/**
 * me_test_dovecot_start:
 * @user: the one IMAP user
 * @password: its password (PLAIN and LOGIN, over plain IMAP)
 * @error: (nullable): return location
 *
 * Starts `/usr/sbin/dovecot -F` (IMAP only, no TLS) on 127.0.0.1 and a free port, with a
 * configuration of its own: base_dir, state, log and the user's Maildir all live in a new
 * temporary folder, and nothing of /etc/dovecot is read.  The server runs in a process
 * group of its own and gets SIGTERM when the test dies.  Run as root, dovecot's own
 * processes are the users dovecot and dovenull and the mail belongs to nobody; run as
 * anyone else, everything is that user.  Waits (at most 20 s) until it accepts connections.
 *
 * Its log has every login ("imap-login: Info: Login: user=<alice>, method=PLAIN, ...") and
 * every finished IMAP command ("Command finished: SELECT INBOX"); the conversation of every
 * session after login is in its rawlog (me_test_dovecot_get_rawlog()).
 *
 * Returns: (transfer full): the running server, or %NULL with @error set; stop it with
 *   me_test_dovecot_stop()
 */
MeTestDovecot *
me_test_dovecot_start(const gchar *user, const gchar *password, GError **error)
{
	g_autoptr(MeTestDovecot) dovecot = NULL;

	if (!g_file_test(DOVECOT_BINARY, G_FILE_TEST_IS_EXECUTABLE)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    DOVECOT_BINARY " is missing (Debian package dovecot-imapd)");
		return NULL;
	}
	if (!check_credential("user", user, ": \t\r\n", error) ||
	    !check_credential("password", password, ":\r\n", error))
		return NULL;
	dovecot = g_new0(MeTestDovecot, 1);
	dovecot->user = g_strdup(user);
	dovecot->dir = me_test_tmpdir();
	dovecot->conf_path = g_build_filename(dovecot->dir, "dovecot.conf", NULL);
	dovecot->log_path = g_build_filename(dovecot->dir, "dovecot.log", NULL);
	dovecot->passwd_path = g_build_filename(dovecot->dir, "passwd", NULL);
	dovecot->home = g_build_filename(dovecot->dir, "home", user, NULL);
	dovecot->maildir = g_build_filename(dovecot->home, "Maildir", NULL);
	dovecot->rawlog_dir = g_build_filename(dovecot->dir, "rawlog", NULL);
	if (!prepare(dovecot, password, error))
		return NULL;
	for (guint i = 0; i < START_ATTEMPTS; i++) {
		g_clear_error(error);
		if (start_once(dovecot, error)) {
			g_test_message("dovecot %d serves IMAP on 127.0.0.1:%u", (gint)dovecot->pid, dovecot->port);
			return g_steal_pointer(&dovecot);
		}
		if (!log_has(dovecot, "Address already in use"))
			break;
	}
	print_log_tail(dovecot);
	return NULL;
}

/**
 * me_test_dovecot_get_port:
 * @dovecot: a running server
 *
 * Returns: its IMAP port on 127.0.0.1
 */
guint16
me_test_dovecot_get_port(MeTestDovecot *dovecot)
{
	return dovecot->port;
}

/**
 * me_test_dovecot_get_user:
 * @dovecot: a running server
 *
 * Returns: (transfer none): its one user
 */
const gchar *
me_test_dovecot_get_user(MeTestDovecot *dovecot)
{
	return dovecot->user;
}

/**
 * me_test_dovecot_get_maildir:
 * @dovecot: a running server
 *
 * The user's Maildir, which is its INBOX (with `new/`, `cur/` and `tmp/`).  Whatever
 * writes a message into `tmp/` and renames it into `new/` delivers it, as the test CA does
 * with `--maildir`; IDLE clients hear of it within a second.  When the test runs as root,
 * dovecot reads the mail as nobody, so a file put there must be readable by others (the
 * usual umask 022 gives that).
 *
 * Returns: (transfer none): its path
 */
const gchar *
me_test_dovecot_get_maildir(MeTestDovecot *dovecot)
{
	return dovecot->maildir;
}

/**
 * me_test_dovecot_deliver:
 * @dovecot: a running server
 * @message: the raw message (CRLF or LF line ends)
 * @len: its length, or -1 when it is NUL-terminated
 * @error: (nullable): return location
 *
 * Delivers into the INBOX the Maildir way: the message goes durably into `tmp/` under a
 * unique name, owned by the mail user, and is then renamed into `new/`.
 *
 * Returns: %TRUE when it is in `new/`
 */
gboolean
me_test_dovecot_deliver(MeTestDovecot *dovecot, const gchar *message, gssize len, GError **error)
{
	gint64 now = g_get_real_time();
	g_autofree gchar *name = NULL;
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *final = NULL;

	if (len < 0)
		len = (gssize)strlen(message);
	/* <seconds>.M<microseconds>P<pid>Q<count>.<host>,S=<size>, as the test CA writes them */
	name = g_strdup_printf("%" G_GINT64_FORMAT ".M%06dP%dQ%u.mailenroll-test,S=%" G_GSSIZE_FORMAT,
			       now / G_USEC_PER_SEC, (gint)(now % G_USEC_PER_SEC), (gint)getpid(),
			       ++dovecot->delivered, len);
	tmp = g_build_filename(dovecot->maildir, "tmp", name, NULL);
	final = g_build_filename(dovecot->maildir, "new", name, NULL);
	if (!g_file_set_contents_full(tmp, message, len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, error))
		return FALSE;
	if ((getuid() == 0 && chown(tmp, dovecot->mail_uid, dovecot->mail_gid) != 0) || g_rename(tmp, final) != 0) {
		gint saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot deliver %s: %s", name,
			    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/**
 * me_test_dovecot_get_log:
 * @dovecot: a server
 *
 * Returns: (transfer full): what it has logged so far (its stdout and stderr included)
 */
gchar *
me_test_dovecot_get_log(MeTestDovecot *dovecot)
{
	gchar *log = NULL;

	if (!g_file_get_contents(dovecot->log_path, &log, NULL, NULL))
		return g_strdup("");
	return log;
}

/**
 * me_test_dovecot_wait_log:
 * @dovecot: a running server
 * @needle: text to wait for, e.g. `Login: user=<alice>,`
 * @timeout_ms: how long to wait at most
 *
 * Returns: %TRUE once its log contains @needle; %FALSE when the time is up or dovecot exited
 */
gboolean
me_test_dovecot_wait_log(MeTestDovecot *dovecot, const gchar *needle, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		gboolean gone = dovecot->proc == NULL || dovecot_exited(dovecot);
		if (log_has(dovecot, needle))
			return TRUE;
		if (gone || g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(POLL_MS * 1000);
	}
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/**
 * me_test_dovecot_get_rawlog:
 * @dovecot: a server
 * @direction: the client's commands or the server's answers
 *
 * Every session's IMAP conversation after login, one direction of it, session after
 * session in the order they started.  Each line starts with a timestamp.
 *
 * Returns: (transfer full): the text
 */
gchar *
me_test_dovecot_get_rawlog(MeTestDovecot *dovecot, MeTestImapDirection direction)
{
	const gchar *suffix = direction == ME_TEST_IMAP_FROM_CLIENT ? ".in" : ".out";
	g_autoptr(GDir) dir = g_dir_open(dovecot->rawlog_dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	GString *text = g_string_new(NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_suffix(name, suffix))
			g_ptr_array_add(names, g_strdup(name));
	}
	/* the names start with the session's start time */
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *path = g_build_filename(dovecot->rawlog_dir, g_ptr_array_index(names, i), NULL);
		g_autofree gchar *part = NULL;
		if (g_file_get_contents(path, &part, NULL, NULL))
			g_string_append(text, part);
	}
	return g_string_free(text, FALSE);
}

/**
 * me_test_dovecot_wait_rawlog:
 * @dovecot: a running server
 * @direction: the client's commands or the server's answers
 * @needle: text to wait for, e.g. `select "INBOX"` or `Message-ID: <x@example.org>`
 * @timeout_ms: how long to wait at most
 *
 * IMAP commands and keywords are case-insensitive, and clients differ in how they write
 * them, so the match ignores ASCII case.
 *
 * Returns: %TRUE once the rawlog contains @needle; %FALSE when the time is up or dovecot
 *   exited
 */
gboolean
me_test_dovecot_wait_rawlog(MeTestDovecot *dovecot, MeTestImapDirection direction, const gchar *needle,
			    guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	g_autofree gchar *lower = g_ascii_strdown(needle, -1);

	for (;;) {
		gboolean gone = dovecot->proc == NULL || dovecot_exited(dovecot);
		g_autofree gchar *text = me_test_dovecot_get_rawlog(dovecot, direction);
		g_autofree gchar *text_lower = g_ascii_strdown(text, -1);
		if (strstr(text_lower, lower) != NULL)
			return TRUE;
		if (gone || g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(POLL_MS * 1000);
	}
}

static gboolean
wait_exit(MeTestDovecot *dovecot, guint timeout_ms)
{
	for (guint waited = 0; waited < timeout_ms; waited += POLL_MS) {
		if (dovecot_exited(dovecot))
			return TRUE;
		g_usleep(POLL_MS * 1000);
	}
	return dovecot_exited(dovecot);
}

/* SIGTERM makes the master stop its services and exit */
static void
stop_process(MeTestDovecot *dovecot)
{
	gboolean trouble = FALSE;

	if (!dovecot_exited(dovecot))
		g_subprocess_send_signal(dovecot->proc, SIGTERM);
	if (!wait_exit(dovecot, STOP_TIMEOUT_MS)) {
		g_test_message("dovecot %d did not stop in 10 s; killed", (gint)dovecot->pid);
		trouble = TRUE;
	}
	kill_group(dovecot);
	if (trouble)
		print_log_tail(dovecot);
}

/**
 * me_test_dovecot_stop:
 * @dovecot: (nullable): a server from me_test_dovecot_start()
 *
 * Stops it with SIGTERM, waits at most 10 s, kills what is left of its process group, and
 * removes its folder, the mail included.
 */
void
me_test_dovecot_stop(MeTestDovecot *dovecot)
{
	if (dovecot == NULL)
		return;
	if (dovecot->proc != NULL)
		stop_process(dovecot);
	me_test_rm_rf(dovecot->dir);
	g_free(dovecot->dir);
	g_free(dovecot->conf_path);
	g_free(dovecot->log_path);
	g_free(dovecot->passwd_path);
	g_free(dovecot->home);
	g_free(dovecot->maildir);
	g_free(dovecot->rawlog_dir);
	g_free(dovecot->user);
	g_free(dovecot->internal_user);
	g_free(dovecot->internal_group);
	g_free(dovecot->login_user);
	g_free(dovecot);
}
