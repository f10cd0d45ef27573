/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* mailenroll: the command line for people, scripts and provisioning images; the same
 * engine the native-messaging host drives (see `mailenroll --help` and man mailenroll) */

#define G_LOG_DOMAIN "MeCli"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "autocleanups.h"
#include "doctor.h"
#include "encoding.h"
#include "enroll.h"
#include "file.h"
#include "install.h"
#include "keyring.h"
#include "keys.h"
#include "maildir.h"
#include "me-config.h"
#include "secmem.h"
#include "submission.h"
#include "thunderbird.h"

#define EXIT_USAGE 2

/* the largest challenge message read from a file, stdin or the Maildir */
#define CLI_MAIL_MAX ME_MAIL_MAX_SIZE_DEFAULT

typedef struct {
	MeConfig *config;
	const MeCaProfile *ca;
	MeEnrollOptions opts;
	gchar *state_dir;
	/* the options; each verb's table (below) says which it takes */
	gchar *ca_name;
	gboolean version;
	gboolean yes;
	gboolean json;
	gboolean restart;
	gboolean force;
	gboolean all;
	gint reason;
	gboolean agree_tos;
	gboolean smtp;
	gboolean bind;
	gchar *maildir;
	gchar *reply_file;
	gchar *store;
	gchar *profile;
	gchar *nssdb;
	gchar *output;
	gchar *helper;
} Cli;

static void
cli_clear(Cli *cli)
{
	me_config_free(cli->config);
	g_free(cli->state_dir);
	g_free(cli->ca_name);
	g_free(cli->maildir);
	g_free(cli->reply_file);
	g_free(cli->store);
	g_free(cli->profile);
	g_free(cli->nssdb);
	g_free(cli->output);
	g_free(cli->helper);
}

/* the one command line of the process: the option tables point into it, since a
 * GOptionEntry needs the address of its value when the table is made */
static Cli cli_args = {.reason = -1};

/* ---- output: every g_print() and g_printerr() of the CLI goes through here */

typedef struct {
	const gchar *utf8;
	const gchar *ascii;
} AsciiFallback;

/* the punctuation of the messages and what stands in for it where the terminal's charset
 * lacks it (a C or POSIX locale), rather than the "?" iconv would print */
static const AsciiFallback ascii_fallbacks[] = {
    {"\u2022", "*"},   {"\u201c", "\""},  {"\u201d", "\""}, {"\u201e", "\""}, {"\u00ab", "\""}, {"\u00bb", "\""},
    {"\u2018", "'"},   {"\u2019", "'"},   {"\u201a", "'"},  {"\u2026", "..."}, {"\u2192", "->"}, {"\u2190", "<-"},
    {"\u2713", "v"},   {"\u2717", "x"},   {"\u2013", "-"},  {"\u2014", "-"},   {"\u00a0", " "},  {"\u202f", " "},
};

/* one non-ASCII character for a charset other than UTF-8: the ASCII stand-in, else the
 * charset's own form, else a transliteration */
static void
append_fallback(GString *out, const gchar *ch, gsize len, const gchar *charset)
{
	g_autofree gchar *native = NULL;
	g_autofree gchar *one = NULL;
	g_autofree gchar *ascii = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(ascii_fallbacks); i++) {
		if (strlen(ascii_fallbacks[i].utf8) == len && memcmp(ascii_fallbacks[i].utf8, ch, len) == 0) {
			g_string_append(out, ascii_fallbacks[i].ascii);
			return;
		}
	}
	native = g_convert(ch, (gssize)len, charset, "UTF-8", NULL, NULL, NULL);
	if (native != NULL) {
		g_string_append(out, native);
		return;
	}
	one = g_strndup(ch, len);
	ascii = g_str_to_ascii(one, NULL);
	g_string_append(out, ascii);
}

/* @text as the terminal's charset shows it: unchanged under UTF-8 */
static gchar *
output_text(const gchar *text)
{
	const gchar *charset = NULL;
	g_autoptr(GString) out = NULL;

	if (g_get_charset(&charset) || !g_utf8_validate(text, -1, NULL))
		return g_strdup(text);
	out = g_string_new(NULL);
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gsize len = (gsize)(g_utf8_next_char(p) - p);
		if (len == 1)
			g_string_append_c(out, *p);
		else
			append_fallback(out, p, len, charset);
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
print_to(FILE *stream, const gchar *text)
{
	g_autofree gchar *shown = output_text(text);

	fputs(shown, stream);
	fflush(stream);
}

static void
print_stdout(const gchar *text)
{
	print_to(stdout, text);
}

static void
print_stderr(const gchar *text)
{
	print_to(stderr, text);
}

static void
progress_cb(MeStateStep step, const gchar *message, gpointer user_data)
{
	(void)step;
	(void)user_data;
	g_printerr("• %s\n", message);
}

static gint
fail(GError *error)
{
	/* TRANSLATORS: the one line on stderr when a command fails; %s is the reason */
	g_printerr(_("mailenroll: %s\n"), error->message);
	return EXIT_FAILURE;
}

/* a command line that names no command, or gives it the wrong arguments */
static gint
usage_error(const gchar *verb)
{
	/* TRANSLATORS: an unknown command or the wrong number of arguments; %s is the command */
	g_printerr(_("mailenroll: “%s” is not a command or has the wrong arguments; see mailenroll --help.\n"), verb);
	return EXIT_USAGE;
}

/* ---- configuration → engine options */

/* the engine options for one CA profile of the configuration */
static void
use_ca(Cli *cli, const MeCaProfile *ca)
{
	cli->ca = ca;
	me_enroll_options_init(&cli->opts, ca, me_config_get_general(cli->config));
	cli->opts.config = cli->config;
	cli->opts.terms_agreed = cli->opts.terms_agreed || cli->agree_tos;
}

/* the CA is not there: --ca named one the configuration lacks, or none is chosen */
static void
set_no_ca_error(const Cli *cli, GError **error)
{
	if (cli->ca_name != NULL)
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: --ca named a CA the configuration does not have; %s is the name */
			    _("There is no certificate authority “%s” in the configuration; add a [ca %s] group to mailenroll.conf."),
			    cli->ca_name, cli->ca_name);
	else
		g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_FOUND,
				    /* TRANSLATORS: no CA is configured, or several without a default */
				    _("No certificate authority is chosen; add a [ca NAME] group to mailenroll.conf, set default-ca, or pass --ca."));
}

/* @need_ca: FALSE for verbs that go through every CA (renew --all) or need none (provision
 * dkim and smtp-password) */
static gboolean
load_config(Cli *cli, gboolean need_ca, GError **error)
{
	const MeConfigGeneral *general;
	const GPtrArray *diagnostics;

	cli->config = me_config_load_default(error);
	if (cli->config == NULL)
		return FALSE;
	diagnostics = me_config_get_diagnostics(cli->config);
	for (guint i = 0; diagnostics != NULL && i < diagnostics->len; i++)
		g_printerr("mailenroll: %s\n", (const gchar *)g_ptr_array_index(diagnostics, i));
	general = me_config_get_general(cli->config);
	cli->state_dir = g_strdup(me_config_get_state_dir(cli->config));
	if (cli->maildir == NULL)
		cli->maildir = g_strdup(general->maildir);
	cli->ca = me_config_get_ca(cli->config, cli->ca_name);
	if (cli->ca == NULL && (need_ca || cli->ca_name != NULL)) {
		set_no_ca_error(cli, error);
		return FALSE;
	}
	if (cli->ca != NULL)
		use_ca(cli, cli->ca);
	return TRUE;
}

static MeEnroll *
open_enroll(Cli *cli, const gchar *mailbox, GError **error)
{
	MeEnroll *e = me_enroll_open(cli->state_dir, &cli->opts, mailbox, error);

	if (e != NULL)
		me_enroll_set_progress(e, progress_cb, cli);
	return e;
}

/* ---- asking the person */

/* a yes/no question on the terminal, even when stdin carries the mail */
static gboolean
ask_yes_no(const gchar *question, GError **error)
{
	g_autofree gchar *line = NULL;
	FILE *tty = fopen("/dev/tty", "r+");
	gchar buf[64];

	if (tty == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the reply needs approval, but there is no terminal to ask on */
				    _("There is no terminal to ask for approval; run again with --yes to approve the reply."));
		return FALSE;
	}
	print_to(tty, question);
	print_to(tty, " ");
	if (fgets(buf, sizeof(buf), tty) == NULL)
		buf[0] = '\0';
	fclose(tty);
	g_strstrip(buf);
	{
		/* TRANSLATORS: the answers that mean yes to a question, separated by |; keep "y|yes" */
		g_auto(GStrv) yes_words = g_strsplit(_("y|yes"), "|", -1);
		for (guint i = 0; yes_words[i] != NULL; i++) {
			if (g_ascii_strcasecmp(buf, yes_words[i]) == 0 || g_ascii_strcasecmp(buf, "y") == 0)
				return TRUE;
		}
	}
	return FALSE;
}

/* ---- installing */

static void
print_installed(const MeInstallResult *inst)
{
	if (inst->store == ME_INSTALL_STORE_THUNDERBIRD) {
		/* TRANSLATORS: result: where the certificate went; %s are the nickname and the profile */
		g_print(_("Installed “%s” into the Thunderbird profile %s.\n"), inst->nickname, inst->location);
		if (inst->bound)
			/* TRANSLATORS: result: the certificate is bound to the identity %s for the next start */
			g_print(_("Thunderbird will use it for identity %s from its next start.\n"), inst->identity);
	} else if (inst->store == ME_INSTALL_STORE_NSSDB) {
		/* TRANSLATORS: result: the certificate went into an NSS database; %s are the nickname and the folder */
		g_print(_("Installed “%s” into the certificate database %s.\n"), inst->nickname, inst->location);
	} else {
		/* TRANSLATORS: result: the PKCS#12 file and its password, shown only this once */
		g_print(_("Wrote %s; its password, shown only now: %s\n"), inst->location, inst->password);
	}
}

/* where the certificate goes: --store, --nssdb, --output and --profile win over store= */
static gboolean
gather_install_options(Cli *cli, MeInstallOptions *options, GError **error)
{
	*options = (MeInstallOptions){
	    .configured_store = me_config_get_general(cli->config)->store,
	    .profile = cli->profile,
	    .nssdb = cli->nssdb,
	    .output = cli->output,
	    .bind = cli->bind,
	    .trust_ca = cli->ca->trust_ca,
	    .progress = progress_cb,
	    .progress_data = cli,
	};
	return cli->store == NULL || me_install_store_from_string(cli->store, &options->store, error);
}

/* before anything is asked of the CA: a certificate that cannot be installed is not wanted */
static gboolean
check_install_target(Cli *cli, MeEnroll *e, GError **error)
{
	MeInstallOptions options;

	if (me_enroll_get_step(e) >= ME_STATE_STEP_INSTALLED && me_enroll_get_step(e) != ME_STATE_STEP_FAILED)
		return TRUE;
	return gather_install_options(cli, &options, error) && me_install_check_target(e, &options, error);
}

static gboolean
install(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	MeInstallOptions options;
	g_autoptr(MeInstallResult) inst = NULL;

	if (!gather_install_options(cli, &options, error))
		return FALSE;
	inst = me_install_certificate(e, mailbox, &options, error);
	if (inst == NULL)
		return FALSE;
	print_installed(inst);
	return TRUE;
}

/* ---- after the reply: finish and install */

static gboolean run_flow(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error);

static gboolean
finish_and_install(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	if (!me_enroll_finish(e, error))
		return FALSE;
	if (me_enroll_get_step(e) == ME_STATE_STEP_WAITING_CHALLENGE) {
		/* the CA refused the challenge and the engine ordered anew: wait for the new mail */
		g_printerr("• %s\n", me_enroll_get_reorder_note(e));
		return run_flow(cli, e, mailbox, error);
	}
	if (me_enroll_get_step(e) == ME_STATE_STEP_INSTALLED) {
		/* TRANSLATORS: result: nothing left to do for the mailbox %s */
		g_print(_("The certificate for %s is issued and installed.\n"), mailbox);
		return TRUE;
	}
	return install(cli, e, mailbox, error);
}

/* how the approved reply will be handed out: SMTP, a file, or stdout for the person's own mailer */
static MeEnrollReplyDelivery
reply_delivery(Cli *cli)
{
	const MeConfigGeneral *general = me_config_get_general(cli->config);

	if (cli->smtp || (cli->reply_file == NULL && general->reply_method == ME_CONFIG_REPLY_METHOD_SMTP))
		return ME_ENROLL_REPLY_DELIVERY_SMTP;
	if (cli->reply_file != NULL || general->reply_method == ME_CONFIG_REPLY_METHOD_FILE)
		return ME_ENROLL_REPLY_DELIVERY_FILE;
	return ME_ENROLL_REPLY_DELIVERY_STDOUT;
}

/* the SMTP server is ready for the message: from here on it may get it */
static gboolean
reply_submitting_cb(gpointer user_data, GError **error)
{
	return me_enroll_reply_submitting(user_data, error);
}

/* mailenroll sends the reply itself: "submitting" saved before its first byte goes out,
 * "reply-sent" after the server's 250, then on to the certificate */
static gboolean
submit_reply(Cli *cli, MeEnroll *e, const gchar *mailbox, GBytes *reply, const MeMailReply *fields, GError **error)
{
	g_autoptr(MeSubmission) submission = me_submission_new(me_config_get_smtp(cli->config), error);

	if (submission == NULL)
		return FALSE;
	g_printerr("• %s\n",
		   /* TRANSLATORS: progress: the reply is sent by SMTP */
		   _("Sending the reply…"));
	if (!me_submission_send(submission, fields, reply, reply_submitting_cb, e, error)) {
		if (error != NULL && *error != NULL)
			me_enroll_note_failure(e, ME_STATE_STEP_REPLY_SENT, *error);
		return FALSE;
	}
	if (!me_enroll_reply_sent(e, error))
		return FALSE;
	return finish_and_install(cli, e, mailbox, error);
}

/* a reply mailenroll sends itself was answered but is not known to have left (a kill, a
 * failed send): the same bytes go out again; a duplicate is harmless, a lost reply is not */
static gboolean
resend_reply(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	g_autoptr(MeMailReply) fields = NULL;
	gboolean submitting = me_enroll_is_reply_submitting(e);
	g_autoptr(GBytes) reply = me_enroll_get_reply_bytes(e, &fields, error);

	if (reply == NULL)
		return FALSE;
	g_printerr("• ");
	if (submitting)
		/* TRANSLATORS: progress: after a crash during SMTP; %s is the mailbox */
		g_printerr(_("The reply for %s may have reached the mail server before mailenroll stopped, so the same reply is sent again; the certificate authority counts only the first copy.\n"),
			   mailbox);
	else
		/* TRANSLATORS: progress: after a crash or a failed send before SMTP started; %s is the mailbox */
		g_printerr(_("The reply for %s was approved but not sent yet, so it is sent now.\n"), mailbox);
	return submit_reply(cli, e, mailbox, reply, fields, error);
}

/* hands the approved reply over as reply_delivery() says */
static gboolean
deliver_reply(Cli *cli, MeEnroll *e, const gchar *mailbox, GBytes *reply, const MeMailReply *fields, GError **error)
{
	MeEnrollReplyDelivery delivery = reply_delivery(cli);

	if (delivery == ME_ENROLL_REPLY_DELIVERY_SMTP)
		return submit_reply(cli, e, mailbox, reply, fields, error);
	if (delivery == ME_ENROLL_REPLY_DELIVERY_FILE) {
		const gchar *path = cli->reply_file != NULL ? cli->reply_file : "mailenroll-reply.eml";
		gsize len = 0;
		const gchar *data = g_bytes_get_data(reply, &len);
		if (g_file_test(path, G_FILE_TEST_EXISTS)) {
			g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the reply file exists already; %s is its path */
				    _("%s exists already; choose another file for the reply."), path);
			return FALSE;
		}
		if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
			return FALSE;
		/* TRANSLATORS: the reply was written to a file; %s are the file and the mailbox */
		g_print(_("The reply is in %s: send it unchanged from %s, then run “mailenroll continue %s”.\n"), path,
			mailbox, mailbox);
		return TRUE;
	}
	fwrite(g_bytes_get_data(reply, NULL), 1, g_bytes_get_size(reply), stdout);
	fflush(stdout);
	/* TRANSLATORS: the reply was printed; %s are the mailbox twice */
	g_printerr(_("Send the reply above unchanged from %s, then run “mailenroll continue %s”.\n"), mailbox, mailbox);
	return TRUE;
}

/* a challenge passed every check: ask (unless --yes or the policy approves), then reply */
static gboolean
approve_and_reply(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	MeState *st = me_enroll_get_state(e);
	g_autoptr(GBytes) reply = NULL;
	g_autoptr(MeMailReply) fields = NULL;
	gboolean policy = cli->ca->auto_approve == ME_CONFIG_AUTO_APPROVE_VERIFIED;

	g_printerr("• ");
	/* TRANSLATORS: progress: the challenge mail passed every check; %s are the sender and the check (dkim, smime, ...) */
	g_printerr(_("The challenge mail from %s passed every check (authenticity: %s).\n"),
		   me_state_get_string(st, "challenge_from"), me_state_get_string(st, "auth_method"));
	if (!cli->yes && !policy) {
		g_autofree gchar *question = g_strdup_printf(
		    /* TRANSLATORS: the approval question; %s are the CA's address, the mailbox and how the mail was verified */
		    _("%s asks to confirm that you control %s (the mail passed the %s check). Send the reply? [y/N]"),
		    me_state_get_string(st, "challenge_from"), mailbox, me_state_get_string(st, "auth_method"));
		if (!ask_yes_no(question, error)) {
			if (error != NULL && *error != NULL)
				return FALSE;
			if (!me_enroll_decline(e, error))
				return FALSE;
			/* TRANSLATORS: the person said no */
			g_print("%s\n", _("Not answered; the challenge gets no reply."));
			return TRUE;
		}
	}
	me_enroll_set_reply_delivery(e, reply_delivery(cli));
	reply = me_enroll_approve(e, &fields, error);
	if (reply == NULL)
		return FALSE;
	return deliver_reply(cli, e, mailbox, reply, fields, error);
}

/* where a message came from, and what becomes of one that is not answered */
typedef struct {
	/* (nullable): its file, as the person knows it (new/NAME of the Maildir, the path
	 * given); NULL for standard input */
	const gchar *name;
	/* the person gave this mail: say why even when it is no challenge at all */
	gboolean given;
	/* (nullable): "NAME: why" of every challenge-like mail not answered, for the end of a wait */
	GPtrArray *refused;
	/* (nullable): how many of those could not be checked for now (DNS), rather than failed */
	guint *n_unchecked;
} MailSource;

/* the mail for the person: its file, else its Message-ID and date, else where it came from */
static gchar *
mail_label(const MailSource *source, const MeChallengeVerdict *verdict)
{
	g_autoptr(GDateTime) when = NULL;
	g_autofree gchar *date = NULL;

	if (source->name != NULL)
		return g_filename_display_name(source->name);
	if (verdict->message_id == NULL || !g_utf8_validate(verdict->message_id, -1, NULL) ||
	    strlen(verdict->message_id) > 250)
		/* TRANSLATORS: names a mail read from standard input that has no readable Message-ID */
		return g_strdup(_("the mail on standard input"));
	if (verdict->date < 0 || (when = g_date_time_new_from_unix_utc(verdict->date)) == NULL)
		return g_strdup(verdict->message_id);
	date = g_date_time_format(when, "%Y-%m-%d %H:%M:%S UTC");
	/* TRANSLATORS: names a mail read from standard input; %s are its Message-ID and its Date */
	return g_strdup_printf(_("%s of %s"), verdict->message_id, date);
}

/* a mail that gets no answer: said with the mail's name, and noted for the end of the wait */
static void
report_not_answered(const MailSource *source, const MeChallengeVerdict *verdict)
{
	g_autofree gchar *label = NULL;
	g_autofree gchar *why = NULL;

	if (!verdict->is_challenge && !source->given)
		return;
	label = mail_label(source, verdict);
	why = me_challenge_verdict_describe(verdict);
	/* TRANSLATORS: a mail gets no answer; %s are the mail (its file, or its Message-ID and date) and why */
	g_printerr(_("Not answered (%s): %s\n"), label, why);
	if (source->refused != NULL)
		g_ptr_array_add(source->refused, g_strdup_printf("%s: %s", label, verdict->message));
	if (source->n_unchecked != NULL && verdict->reason == ME_CHALLENGE_REASON_UNAUTHENTICATED &&
	    verdict->auth.temporary)
		(*source->n_unchecked)++;
}

/* one message: inspected, and answered when it is this enrollment's challenge */
static gboolean
handle_message(Cli *cli,
	       MeEnroll *e,
	       const gchar *mailbox,
	       GBytes *msg,
	       const MailSource *source,
	       gboolean *done,
	       GError **error)
{
	g_autoptr(MeChallengeVerdict) verdict =
	    me_enroll_inspect(e, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), error);

	*done = FALSE;
	if (verdict == NULL)
		return FALSE;
	/* only this mail's own verdict counts: a forged one while a reply waits asks nothing */
	if (!me_enroll_wants_approval(e, verdict)) {
		report_not_answered(source, verdict);
		return TRUE;
	}
	*done = TRUE;
	return approve_and_reply(cli, e, mailbox, error);
}

/* a mail from @fd (@name says which for the person): at most CLI_MAIL_MAX bytes */
static GBytes *
read_mail(gint fd, const gchar *name, GError **error)
{
	g_autofree gchar *display = NULL;
	gchar *data;
	gsize len = 0;
	gint errnum = 0;

	data = me_file_read_fd_bounded(fd, 0, CLI_MAIL_MAX, &len, &errnum);
	if (data != NULL)
		return g_bytes_new_take(data, len);
	if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: the message given is larger than any challenge mail; %u is the limit in MiB */
			    _("The message is larger than %u MiB, so it is no challenge mail; give the CA's mail."),
			    (guint)(CLI_MAIL_MAX / (1024 * 1024)));
		return NULL;
	}
	display = g_filename_display_name(name);
	g_set_error(error, ME_ERROR, ME_ERROR_FAILED,
		    /* TRANSLATORS: a mail file cannot be read; %s is its name, then the system's reason */
		    _("The mail %s cannot be read (%s)."), display, g_strerror(errnum));
	return NULL;
}

/* one message of the watched Maildir: a candidate is handled like a challenge given by hand */
typedef struct {
	Cli *cli;
	MeEnroll *e;
	const gchar *mailbox;
	MeMaildir *maildir;
	/* "NAME: why" of each challenge-like mail of this wait that was not answered */
	GPtrArray *refused;
	/* how many of them only could not be checked for now */
	guint n_unchecked;
} MailWatch;

static gboolean
maildir_message_cb(GBytes *msg, gboolean *done, gpointer user_data, GError **error)
{
	MailWatch *watch = user_data;
	MailSource source = {me_maildir_get_current_name(watch->maildir), FALSE, watch->refused, &watch->n_unchecked};

	if (!me_challenge_quick_check(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg)))
		return TRUE;
	return handle_message(watch->cli, watch->e, watch->mailbox, msg, &source, done, error);
}

/* the wait is over with no challenge answered: mails that came and were refused, each with
 * its reason; else that none came; else the engine's words (a mail of an earlier run) */
static gboolean
wait_over_error(MailWatch *watch, MeEnrollWait wait, GError **error)
{
	const gchar *from = me_state_get_string(me_enroll_get_state(watch->e), "challenge_from");
	guint n = watch->refused->len;
	guint secs = watch->cli->opts.mail_wait;
	g_autofree gchar *why = NULL;
	g_autofree gchar *list = NULL;

	if (n > 0) {
		g_ptr_array_add(watch->refused, NULL);
		list = g_strjoinv(" ", (gchar **)watch->refused->pdata);
		g_ptr_array_remove_index(watch->refused, n);
	}
	if (n > 0 && watch->n_unchecked == n) {
		g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
			    /* TRANSLATORS: the wait ended and mails came but could not be checked (DNS); %u is their number, %s the Maildir, %u the seconds waited, %s the list "FILE: reason." of each, then the mailbox */
			    ngettext("%u mail that looks like the challenge arrived in %s within %u s but could not be checked for now: %s Once that is fixed, run “mailenroll enroll %s” again; the request stays open.",
				     "%u mails that look like the challenge arrived in %s within %u s but could not be checked for now: %s Once that is fixed, run “mailenroll enroll %s” again; the request stays open.",
				     n),
			    n, watch->cli->maildir, secs, list, watch->mailbox);
		return FALSE;
	}
	if (n > 0) {
		g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
			    /* TRANSLATORS: the wait ended and mails came but none was answered; %u is their number, %s the Maildir, %u the seconds waited, %s the list "FILE: reason." of each, then the mailbox */
			    ngettext("%u mail that looks like the challenge arrived in %s within %u s and was refused: %s Run “mailenroll enroll %s” again later; the request stays open.",
				     "%u mails that look like the challenge arrived in %s within %u s and were refused: %s Run “mailenroll enroll %s” again later; the request stays open.",
				     n),
			    n, watch->cli->maildir, secs, list, watch->mailbox);
		return FALSE;
	}
	if (wait == ME_ENROLL_WAIT_NO_MAIL) {
		g_autofree gchar *hint = me_enroll_describe_timing_hint(watch->e);
		g_autofree gchar *none = g_strdup_printf(
		    /* TRANSLATORS: the wait ended and nothing came; %s are the CA's address and the Maildir, %u the seconds waited, %s the mailbox */
		    _("No challenge mail from %s arrived in %s within %u s; mail can be held up for half an hour or longer, so run “mailenroll enroll %s” again later (the request stays open)."),
		    from, watch->cli->maildir, secs, watch->mailbox);
		/* a configured timing that may keep the CA from mailing comes after, as the likelier cause */
		g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT, "%s%s%s", none, hint != NULL ? " " : "",
			    hint != NULL ? hint : "");
		return FALSE;
	}
	why = me_enroll_describe_wait(watch->e, wait);
	g_set_error(error, ME_ERROR, ME_ERROR_TIMED_OUT,
		    /* TRANSLATORS: the wait for the challenge mail ended; %s is why (a sentence), then the mailbox */
		    _("%s Run “mailenroll enroll %s” again later; the request stays open."), why, watch->mailbox);
	return FALSE;
}

/* the Maildir until the challenge is answered, or the CA's mail-wait has passed; the engine
 * decides whether the CA is told to go ahead before the reply (me_enroll_check_wait()) */
static gboolean
watch_maildir(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	g_autoptr(MeMaildir) maildir = NULL;
	g_autoptr(GPtrArray) refused = g_ptr_array_new_with_free_func(g_free);
	MailWatch watch = {cli, e, mailbox, NULL, refused, 0};
	gint64 since = g_get_real_time() / G_USEC_PER_SEC;

	g_printerr("• ");
	/* TRANSLATORS: progress: waiting for the CA's mail; %u is the seconds, %s the folder */
	g_printerr(_("Waiting up to %u s for the challenge mail in %s…\n"), cli->opts.mail_wait, cli->maildir);
	maildir = me_maildir_new(cli->maildir, CLI_MAIL_MAX);
	watch.maildir = maildir;
	for (;;) {
		gboolean done = FALSE;
		MeEnrollWait wait = ME_ENROLL_WAIT_MAIL;
		gint64 until = 0;
		gint64 deadline;

		if (!me_enroll_check_wait(e, since, &wait, &until, error))
			return FALSE;
		if (wait == ME_ENROLL_WAIT_DONE)
			return TRUE;
		if (wait != ME_ENROLL_WAIT_MAIL)
			return wait_over_error(&watch, wait, error);
		deadline = g_get_monotonic_time() + (until - g_get_real_time() / G_USEC_PER_SEC) * G_USEC_PER_SEC;
		if (!me_maildir_wait(maildir, deadline, maildir_message_cb, &watch, &done, error))
			return FALSE;
		if (done)
			return TRUE;
	}
}

/* ---- the verbs */

static gint enroll_flow(Cli *cli, MeEnroll *e, const gchar *mailbox);

static gint
cmd_enroll(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = NULL;

	e = open_enroll(cli, mailbox, &error);
	if (e == NULL)
		return fail(error);
	if (cli->restart && !me_enroll_restart(e, &error))
		return fail(error);
	if (!check_install_target(cli, e, &error))
		return fail(error);
	return enroll_flow(cli, e, mailbox);
}

/* renew: a new order that names the current certificate as replaced, once it is due (the
 * CA's renewal window, else renew-fraction of the lifetime) or with --force */
static gint
renew_mailbox(Cli *cli, const gchar *mailbox)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(cli, mailbox, &error);
	gboolean renewing = FALSE;
	gint64 at = 0;

	if (e == NULL || !me_enroll_begin_renewal(e, cli->force, &renewing, &error))
		return fail(error);
	if (renewing && !check_install_target(cli, e, &error))
		return fail(error);
	if (renewing)
		return enroll_flow(cli, e, mailbox);
	if (!me_enroll_is_renewal_due(e, &at) && at == 0) {
		g_set_error(&error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: renew was asked for, but there is no certificate yet; %s is the mailbox */
			    _("There is no certificate for %s to renew yet; finish the enrollment first."), mailbox);
		return fail(error);
	}
	{
		g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(at);
		g_autofree gchar *text = g_date_time_format(when, "%c");
		/* TRANSLATORS: renew found nothing to do; %s are the mailbox and a date */
		g_print(_("The certificate for %s is not due for renewal before %s.\n"), mailbox, text);
	}
	return EXIT_SUCCESS;
}

/* a renewal the timer can finish with no one at the keyboard: the challenge mail arrives
 * in a Maildir, a verified challenge is approved by policy (or --yes) and the reply goes
 * out by SMTP */
static gboolean
can_finish_unattended(Cli *cli)
{
	const MeConfigGeneral *general = me_config_get_general(cli->config);

	return cli->maildir != NULL && (cli->yes || cli->ca->auto_approve == ME_CONFIG_AUTO_APPROVE_VERIFIED) &&
	       (cli->smtp || general->reply_method == ME_CONFIG_REPLY_METHOD_SMTP);
}

/* one enrollment for renew --all (me_enroll_begin_renewal() decides); *acted says whether
 * there was a renewal to work on */
static gboolean
renew_one(Cli *cli, MeEnroll *e, const gchar *mailbox, gboolean *acted, GError **error)
{
	MeStateStep step;

	if (!me_enroll_begin_renewal(e, FALSE, acted, error))
		return FALSE;
	if (!*acted)
		return TRUE;
	step = me_enroll_get_step(e);
	/* after the reply no one is needed; before it, only where nobody has to be asked */
	if (step >= ME_STATE_STEP_REPLY_SENT || can_finish_unattended(cli))
		return run_flow(cli, e, mailbox, error);
	if (!me_enroll_start(e, error))
		return FALSE;
	if (me_enroll_get_step(e) == ME_STATE_STEP_WAITING_CHALLENGE)
		/* TRANSLATORS: renew --all started a renewal that needs the person; %s are the mailbox and the CA's address */
		g_print(_("Renewing %s: answer the mail from %s in Thunderbird, or give it to “mailenroll challenge”.\n"),
			mailbox, me_state_get_string(me_enroll_get_state(e), "challenge_from"));
	else if (me_enroll_get_step(e) == ME_STATE_STEP_WAITING_APPROVAL)
		/* TRANSLATORS: renew --all: the challenge came and waits for the person's approval; %s is the mailbox */
		g_print(_("Renewing %s: the challenge mail waits for your approval; run “mailenroll renew %s”.\n"),
			mailbox, mailbox);
	return TRUE;
}

/* one enrollment for renew --all: its CA's profile, then renew_one() */
static gboolean
renew_state(Cli *cli, MeState *st, gboolean *acted, GError **error)
{
	const gchar *mailbox = me_state_get_string(st, "mailbox");
	const gchar *ca_name = me_state_get_string(st, "ca");
	const MeCaProfile *ca = me_config_get_ca(cli->config, ca_name);
	g_autoptr(MeEnroll) e = NULL;

	if (ca == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: renew --all found an enrollment whose CA left the configuration; %s are the mailbox and the CA */
			    _("The certificate for %s comes from “%s”, which is no longer in the configuration; it is not renewed."),
			    mailbox, ca_name);
		return FALSE;
	}
	use_ca(cli, ca);
	e = open_enroll(cli, mailbox, error);
	if (e == NULL)
		return FALSE;
	return renew_one(cli, e, mailbox, acted, error);
}

/* renew --all, for the systemd timer: every enrollment (of --ca, else of every CA) whose
 * certificate is due is renewed; see can_finish_unattended() for when it finishes alone */
static gint
renew_all(Cli *cli)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) states = me_state_list(cli->state_dir, &error);
	const gchar *only_ca = cli->ca != NULL && cli->ca_name != NULL ? cli->ca->name : NULL;
	guint acted_on = 0;
	gint rc = EXIT_SUCCESS;

	if (states == NULL)
		return fail(error);
	for (guint i = 0; i < states->len; i++) {
		MeState *st = g_ptr_array_index(states, i);
		const gchar *ca_name = me_state_get_string(st, "ca");
		g_autoptr(GError) local = NULL;
		gboolean acted = FALSE;

		if (me_state_get_string(st, "mailbox") == NULL || ca_name == NULL ||
		    (only_ca != NULL && g_strcmp0(ca_name, only_ca) != 0))
			continue;
		if (!renew_state(cli, st, &acted, &local)) {
			/* one mailbox failing does not stop the others */
			g_printerr(_("mailenroll: %s\n"), local->message);
			rc = EXIT_FAILURE;
			continue;
		}
		acted_on += acted ? 1 : 0;
	}
	if (acted_on == 0 && rc == EXIT_SUCCESS)
		/* TRANSLATORS: renew --all found nothing due */
		g_print("%s\n", _("No certificate is due for renewal."));
	return rc;
}

/* renew MAILBOX, or renew --all */
static gint
cmd_renew(Cli *cli, gchar **args)
{
	if (cli->all && args[0] == NULL)
		return renew_all(cli);
	if (!cli->all && args[0] != NULL)
		return renew_mailbox(cli, args[0]);
	return usage_error("renew");
}

static gint
cmd_revoke(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(cli, mailbox, &error);

	if (e == NULL || !me_enroll_revoke(e, cli->reason, &error))
		return fail(error);
	/* TRANSLATORS: result of revoke; %s is the mailbox */
	g_print(_("The certificate for %s is revoked; its key stays in the keyring so older mail stays readable.\n"), mailbox);
	return EXIT_SUCCESS;
}

/* from wherever the enrollment stands, as far as it can go now */
static gboolean
run_flow(Cli *cli, MeEnroll *e, const gchar *mailbox, GError **error)
{
	MeStateStep step;

	if (!me_enroll_start(e, error))
		return FALSE;
	step = me_enroll_get_step(e);
	if (step == ME_STATE_STEP_WAITING_CHALLENGE && cli->maildir != NULL)
		return watch_maildir(cli, e, mailbox, error);
	if (step == ME_STATE_STEP_WAITING_CHALLENGE) {
		MeEnrollWait wait = ME_ENROLL_WAIT_MAIL;
		g_autofree gchar *why = NULL;
		if (!me_enroll_check_wait(e, 0, &wait, NULL, error))
			return FALSE;
		why = me_enroll_describe_wait(e, wait);
		if (why != NULL && wait != ME_ENROLL_WAIT_NO_MAIL)
			g_printerr("• %s\n", why);
		/* TRANSLATORS: what to do next; %s are the CA's address and the mailbox */
		g_print(_("The certificate authority will mail %2$s from %1$s. Give that mail to “mailenroll challenge %2$s FILE” (or - for standard input).\n"),
			me_state_get_string(me_enroll_get_state(e), "challenge_from"), mailbox);
		return TRUE;
	}
	if (step == ME_STATE_STEP_WAITING_APPROVAL)
		return approve_and_reply(cli, e, mailbox, error);
	/* mailenroll sends that reply itself, so it alone can make sure it left */
	if (step == ME_STATE_STEP_ANSWERED && me_enroll_get_reply_delivery(e) == ME_ENROLL_REPLY_DELIVERY_SMTP)
		return resend_reply(cli, e, mailbox, error);
	if (step == ME_STATE_STEP_ANSWERED) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_STATE,
			    /* TRANSLATORS: the reply was handed out but not reported sent; %s is the mailbox, three times */
			    _("The reply for %s was handed out but not reported as sent. If you sent it, run “mailenroll continue %s”; if it was lost, run “mailenroll enroll --restart %s”."),
			    mailbox, mailbox, mailbox);
		return FALSE;
	}
	if (step >= ME_STATE_STEP_REPLY_SENT && step != ME_STATE_STEP_FAILED)
		return finish_and_install(cli, e, mailbox, error);
	/* TRANSLATORS: the enrollment is further along; %s are the mailbox and its step */
	g_print(_("The enrollment for %s is at step “%s”; see “mailenroll status”.\n"), mailbox,
		me_state_step_to_string(step));
	return TRUE;
}

static gint
enroll_flow(Cli *cli, MeEnroll *e, const gchar *mailbox)
{
	g_autoptr(GError) error = NULL;

	if (!run_flow(cli, e, mailbox, &error))
		return fail(error);
	return EXIT_SUCCESS;
}

static gint
cmd_challenge(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	const gchar *source = args[1];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = NULL;
	g_autoptr(GBytes) msg = NULL;
	MailSource mail_source = {NULL, TRUE, NULL, NULL};
	gboolean done = FALSE;

	e = open_enroll(cli, mailbox, &error);
	if (e == NULL || !check_install_target(cli, e, &error))
		return fail(error);
	if (g_strcmp0(source, "-") == 0) {
		msg = read_mail(STDIN_FILENO, "-", &error);
	} else {
		/* a FIFO or a process substitution is a mail too: read it as it comes */
		gint fd = g_open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
		if (fd < 0) {
			gint errnum = errno;
			g_autofree gchar *display = g_filename_display_name(source);
			g_set_error(&error, ME_ERROR, ME_ERROR_FAILED, _("The mail %s cannot be read (%s)."), display,
				    g_strerror(errnum));
			return fail(error);
		}
		msg = read_mail(fd, source, &error);
		close(fd);
	}
	if (msg == NULL)
		return fail(error);
	mail_source.name = g_strcmp0(source, "-") == 0 ? NULL : source;
	if (!handle_message(cli, e, mailbox, msg, &mail_source, &done, &error))
		return fail(error);
	return done ? EXIT_SUCCESS : EXIT_FAILURE;
}

static gint
cmd_continue(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(cli, mailbox, &error);

	if (e == NULL || !check_install_target(cli, e, &error))
		return fail(error);
	/* a reply mailenroll sends itself is sent (again) rather than assumed to have left */
	if (me_enroll_get_step(e) == ME_STATE_STEP_ANSWERED &&
	    me_enroll_get_reply_delivery(e) == ME_ENROLL_REPLY_DELIVERY_SMTP) {
		if (!resend_reply(cli, e, mailbox, &error))
			return fail(error);
		return EXIT_SUCCESS;
	}
	if (!me_enroll_reply_sent(e, &error) || !finish_and_install(cli, e, mailbox, &error))
		return fail(error);
	return EXIT_SUCCESS;
}

static gint
cmd_install(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeEnroll) e = open_enroll(cli, mailbox, &error);

	if (e == NULL || !install(cli, e, mailbox, &error))
		return fail(error);
	return EXIT_SUCCESS;
}

/* status: the one command that goes on from "answered"; never `continue` for a reply
 * mailenroll submits itself, which may not have left */
static void
print_answered_next(MeState *st, const gchar *mailbox)
{
	if (me_enroll_reply_delivery_from_state(st) == ME_ENROLL_REPLY_DELIVERY_SMTP) {
		/* TRANSLATORS: status: the next step after a crash while the reply was sent by SMTP; %s is the mailbox */
		g_print(_("  next: run “mailenroll enroll %s”; it sends the same reply again by SMTP, which the certificate authority counts once.\n"),
			mailbox);
		return;
	}
	/* TRANSLATORS: status: the next step for a reply the person sends; %s is the mailbox, twice */
	g_print(_("  next: if you sent the reply, run “mailenroll continue %s”; if it was lost, run “mailenroll enroll --restart %s”.\n"),
		mailbox, mailbox);
}

/* status: the last attempt that failed, and why (me_enroll_note_failure()) */
static void
print_failure(MeState *st)
{
	const gchar *failure = me_state_get_string(st, "failure");
	const gchar *step = me_state_get_string(st, "failed_step");
	gint64 at = me_state_get_int(st, "failed_at");
	g_autoptr(GDateTime) when = NULL;
	g_autofree gchar *text = NULL;

	if (failure == NULL)
		return;
	when = g_date_time_new_from_unix_local(at);
	text = when != NULL && at != 0 ? g_date_time_format(when, "%c") : g_strdup("?");
	if (step != NULL)
		/* TRANSLATORS: status: the last attempt failed; %s are the step it failed at, the date and the reason (a sentence) */
		g_print(_("  failed at step “%s” on %s: %s\n"), step, text, failure);
	else
		/* TRANSLATORS: status: the last attempt failed; %s are the date and the reason (a sentence) */
		g_print(_("  failed on %s: %s\n"), text, failure);
}

/* status --json: what a script needs of one enrollment, never the reply's text, the
 * tokens or the certificate itself */
static JsonNode *
status_summary(MeState *st)
{
	static const gchar *const strings[] = {"mailbox", "ca", "state", "challenge_from", "reply_delivery",
					       "failure", "failed_step", "replaces", "certificate_url"};
	static const gchar *const ints[] = {"failed_at", "not_before", "not_after", "renew_at", "revoked_at"};
	JsonObject *obj = me_state_get_object(st);
	JsonNode *installed = json_object_get_member(obj, "installed");
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	for (gsize i = 0; i < G_N_ELEMENTS(strings); i++) {
		const gchar *value = me_state_get_string(st, strings[i]);
		if (value == NULL)
			continue;
		json_builder_set_member_name(b, strings[i]);
		json_builder_add_string_value(b, value);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(ints); i++) {
		gint64 value = me_state_get_int(st, ints[i]);
		if (value == 0)
			continue;
		json_builder_set_member_name(b, ints[i]);
		json_builder_add_int_value(b, value);
	}
	if (installed != NULL && JSON_NODE_HOLDS_ARRAY(installed)) {
		json_builder_set_member_name(b, "installed");
		json_builder_add_value(b, json_node_copy(installed));
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static gint
cmd_status(Cli *cli, gchar **args)
{
	const gchar *mailbox = args[0];
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) states = me_state_list(cli->state_dir, &error);
	g_autoptr(JsonBuilder) builder = json_builder_new();
	guint shown = 0;

	if (states == NULL)
		return fail(error);
	json_builder_begin_array(builder);
	for (guint i = 0; i < states->len; i++) {
		MeState *st = g_ptr_array_index(states, i);
		const gchar *mb = me_state_get_string(st, "mailbox");
		if (mailbox != NULL && g_strcmp0(mb, mailbox) != 0)
			continue;
		shown++;
		if (cli->json) {
			json_builder_add_value(builder, status_summary(st));
			continue;
		}
		/* TRANSLATORS: one status line: mailbox, CA, step */
		g_print(_("%s at %s: %s\n"), mb, me_state_get_string(st, "ca"), me_state_get_string(st, "state"));
		print_failure(st);
		if (me_state_get_step(st) == ME_STATE_STEP_ANSWERED)
			print_answered_next(st, mb);
		if (me_state_get_int(st, "renew_at") != 0 && me_state_get_string(st, "certificate") != NULL) {
			g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(me_state_get_int(st, "renew_at"));
			g_autofree gchar *text = g_date_time_format(when, "%c");
			/* TRANSLATORS: status: when the certificate will be renewed; %s is a date */
			g_print(_("  renewal due %s\n"), text);
		}
	}
	json_builder_end_array(builder);
	if (cli->json) {
		g_autoptr(JsonGenerator) gen = json_generator_new();
		g_autoptr(JsonNode) root = json_builder_get_root(builder);
		g_autofree gchar *text = NULL;
		json_generator_set_root(gen, root);
		json_generator_set_pretty(gen, TRUE);
		text = json_generator_to_data(gen, NULL);
		g_print("%s\n", text);
	} else if (shown == 0) {
		/* TRANSLATORS: status when nothing was enrolled yet */
		g_print("%s\n", _("No enrollments yet."));
	}
	return EXIT_SUCCESS;
}

/* secrets come from stdin, never from the command line (which others can read); they are
 * read with read(2) into wiped memory (me_secret_str_read_fd()), never through stdio, whose
 * buffer keeps a copy nobody wipes */

/* the longest secret line provision reads */
#define CLI_SECRET_LINE_MAX 4096
/* the largest PEM key provision reads (an RSA-4096 key is about 3.3 KiB) */
#define CLI_PEM_MAX (64 * 1024)

static MeSecretStr *
read_secret_line(GError **error)
{
	gint errnum = 0;
	MeSecretStr *secret = me_secret_str_read_fd(STDIN_FILENO, CLI_SECRET_LINE_MAX, TRUE, &errnum);

	if (secret != NULL)
		return secret;
	if (errnum == EFBIG) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: provision got a line over the limit on standard input; %u is the limit in bytes */
			    _("The secret on standard input is longer than %u bytes; give the secret itself, one line."),
			    (guint)CLI_SECRET_LINE_MAX);
		return NULL;
	}
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: provision expects the secret on standard input */
			    _("Give the secret on standard input, one line."));
	return NULL;
}

/* a PEM key from stdin, every line of it, in memory that is wiped */
static MeSecretStr *
read_secret_pem(GError **error)
{
	gint errnum = 0;
	MeSecretStr *pem = me_secret_str_read_fd(STDIN_FILENO, CLI_PEM_MAX, FALSE, &errnum);

	if (pem != NULL && pem[0] != '\0')
		return pem;
	me_secret_str_free(pem);
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
		    /* TRANSLATORS: provision dkim expects a PEM key on standard input; %u is the limit in KiB */
		    _("Give the DKIM private key in PEM form on standard input (at most %u KiB)."),
		    (guint)(CLI_PEM_MAX / 1024));
	return NULL;
}

/* the longest EAB MAC key text taken (512 bytes of key; CAs give 32 to 64) */
#define CLI_EAB_TEXT_MAX 684

/* provision eab: the MAC key exactly as the CA gives it, strict unpadded base64url (RFC 8555
 * §7.3.4); padding, white space or other characters are refused, not skipped */
static gboolean
provision_eab(Cli *cli, const gchar *name, const MeSecretStr *secret, GError **error)
{
	g_autoptr(GBytes) mac = me_b64u_decode_secret(secret, CLI_EAB_TEXT_MAX, NULL);
	g_autoptr(MeKeyringItem) item = NULL;

	if (mac == NULL || secret[0] == '\0') {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the EAB MAC key given to provision is no strict base64url; keep base64url and = */
				    _("The EAB key is not valid base64url (only A-Z, a-z, 0-9, - and _, no = padding or spaces); give the key exactly as the CA gave it."));
		return FALSE;
	}
	if (g_bytes_get_size(mac) < 16) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the EAB MAC key is not base64url or too short */
				    _("The EAB key must be the base64url text the CA gave, of at least 16 bytes."));
		return FALSE;
	}
	item = me_keyring_item_new(ME_KEYRING_KIND_EAB_MAC_KEY, NULL, cli->ca->directory, name);
	return me_keyring_store(item, g_bytes_get_data(mac, NULL), g_bytes_get_size(mac), error);
}

/* provision dkim: an RSA (1024 bits or more, RFC 8301) or Ed25519 key, as the DKIM signer takes */
static gboolean
provision_dkim(const gchar *name, GError **error)
{
	g_autoptr(MeSecretStr) pem = read_secret_pem(error);
	g_autoptr(EVP_PKEY) key = NULL;
	g_autoptr(MeKeyringItem) item = NULL;
	gint type;

	if (pem == NULL)
		return FALSE;
	key = me_key_from_pem(pem, strlen(pem), NULL);
	if (key == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: provision dkim got something that is no PEM private key */
				    _("That is not a private key in PEM form; give the key file whose public key your domain's DKIM record publishes."));
		return FALSE;
	}
	type = EVP_PKEY_get_base_id(key);
	if (type != EVP_PKEY_ED25519 && !(type == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 1024)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: provision dkim got a key DKIM signing cannot use */
				    _("A DKIM key must be RSA of at least 1024 bits or Ed25519; give the key your domain publishes."));
		return FALSE;
	}
	item = me_keyring_item_new(ME_KEYRING_KIND_DKIM_KEY, NULL, NULL, name);
	return me_keyring_store(item, pem, strlen(pem), error);
}

static gint
cmd_provision(Cli *cli, gchar **args)
{
	const gchar *what = args[0];
	const gchar *name = args[1];
	g_autoptr(GError) error = NULL;
	g_autoptr(MeSecretStr) secret = NULL;
	g_autoptr(MeKeyringItem) item = NULL;

	if (g_strcmp0(what, "dkim") == 0) {
		if (!provision_dkim(name, &error))
			return fail(error);
		/* TRANSLATORS: result of provision */
		g_print("%s\n", _("Stored in the keyring."));
		return EXIT_SUCCESS;
	}
	/* an EAB key belongs to one CA: know which before the user types the key */
	if (g_strcmp0(what, "eab") == 0 && cli->ca == NULL) {
		set_no_ca_error(cli, &error);
		return fail(error);
	}
	secret = read_secret_line(&error);
	if (secret == NULL)
		return fail(error);
	if (g_strcmp0(what, "eab") == 0) {
		if (!provision_eab(cli, name, secret, &error))
			return fail(error);
	} else if (g_strcmp0(what, "smtp-password") == 0) {
		const MeConfigSmtp *smtp = me_config_get_smtp(cli->config);
		if (smtp == NULL || smtp->host == NULL) {
			g_set_error_literal(&error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
					    /* TRANSLATORS: SMTP was asked for but not configured */
					    _("No SMTP server is configured; add an [smtp] group to mailenroll.conf."));
			return fail(error);
		}
		item = me_keyring_item_new(ME_KEYRING_KIND_SMTP_PASSWORD, name, smtp->host, NULL);
		if (!me_keyring_store(item, secret, strlen(secret), &error))
			return fail(error);
	} else {
		g_set_error(&error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: provision got an unknown kind of secret; %s is what was given */
			    _("“%s” is not something to provision; use eab, dkim or smtp-password."), what);
		return fail(error);
	}
	/* TRANSLATORS: result of provision */
	g_print("%s\n", _("Stored in the keyring."));
	return EXIT_SUCCESS;
}

/* ---- the native-messaging host manifest for this user (docs/thunderbird.md §1.1, §1.2) */

static gchar *
manifest_path(void)
{
	g_autofree gchar *name = g_strconcat(ME_HOST_NAME, ".json", NULL);
	return g_build_filename(g_get_home_dir(), ".mozilla", "native-messaging-hosts", name, NULL);
}

/* the given helper, else the one in this binary's build tree (helper/cli/mailenroll and
 * helper/host/mailenroll-helper), else the installed one */
static gchar *
find_helper(const gchar *given, GError **error)
{
	g_autofree gchar *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree gchar *self_dir = self != NULL ? g_path_get_dirname(self) : NULL;
	g_autofree gchar *beside = self_dir != NULL ? g_canonicalize_filename("../host/mailenroll-helper", self_dir) : NULL;
	g_autofree gchar *installed = g_build_filename(LIBEXECDIR, "mailenroll-helper", NULL);
	const gchar *candidates[] = {given, beside, installed};

	for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
		if (candidates[i] == NULL || (given != NULL && i > 0))
			continue;
		if (g_path_is_absolute(candidates[i]) && g_file_test(candidates[i], G_FILE_TEST_IS_EXECUTABLE) &&
		    !g_file_test(candidates[i], G_FILE_TEST_IS_DIR))
			return g_strdup(candidates[i]);
	}
	g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
		    /* TRANSLATORS: mailenroll-helper was not found; %s is the path tried */
		    _("The program mailenroll-helper was not found at %s; install mailenroll, or give its absolute path with --helper."),
		    given != NULL ? given : installed);
	return NULL;
}

/* a Snap or Flatpak Thunderbird reads the same manifest, through the desktop portal */
static void
print_sandboxes(const gchar *manifest)
{
	const MeTbSandbox sandboxes[] = {ME_TB_SANDBOX_SNAP, ME_TB_SANDBOX_FLATPAK};

	for (guint i = 0; i < G_N_ELEMENTS(sandboxes); i++) {
		g_autofree gchar *folder = me_tb_sandbox_get_folder(NULL, sandboxes[i]);
		if (folder == NULL)
			continue;
		/* TRANSLATORS: result of register; the %s are Snap or Flatpak, its folder, and the manifest */
		g_print(_("The %s Thunderbird in %s starts the helper through the desktop portal, which reads %s as well.\n"),
			me_tb_sandbox_to_string(sandboxes[i]), folder, manifest);
	}
}

static gint
cmd_register(Cli *cli, gchar **args)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *helper = find_helper(cli->helper, &error);
	g_autofree gchar *path = manifest_path();
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	(void)args;
	if (helper == NULL)
		return fail(error);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, ME_HOST_NAME);
	json_builder_set_member_name(b, "description");
	json_builder_add_string_value(b, "mailenroll: S/MIME certificates for your own mailbox");
	json_builder_set_member_name(b, "path");
	json_builder_add_string_value(b, helper);
	json_builder_set_member_name(b, "type");
	json_builder_add_string_value(b, "stdio");
	json_builder_set_member_name(b, "allowed_extensions");
	json_builder_begin_array(b);
	json_builder_add_string_value(b, ME_EXTENSION_ID);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		gint errsv = errno;
		g_set_error(&error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: the folder for the host manifest could not be made; %s are the folder and the reason */
			    _("The folder %s cannot be created (%s); check its permissions."), dir, g_strerror(errsv));
		return fail(error);
	}
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
		return fail(error);
	/* TRANSLATORS: result of register; the %s are the host name, the manifest file and the helper program */
	g_print(_("Registered %s for Thunderbird: %s starts %s.\n"), ME_HOST_NAME, path, helper);
	print_sandboxes(path);
	return EXIT_SUCCESS;
}

static gint
cmd_unregister(Cli *cli, gchar **args)
{
	g_autofree gchar *path = manifest_path();

	(void)cli;
	(void)args;

	if (g_unlink(path) != 0 && errno != ENOENT) {
		gint errsv = errno;
		g_autoptr(GError) error = NULL;
		g_set_error(&error, ME_ERROR, ME_ERROR_FAILED,
			    /* TRANSLATORS: the host manifest could not be removed; %s are the file and the reason */
			    _("%s cannot be removed (%s); check its permissions."), path, g_strerror(errsv));
		return fail(error);
	}
	/* TRANSLATORS: result of unregister; %s is the manifest */
	g_print(_("Removed %s.\n"), path);
	return EXIT_SUCCESS;
}

/* before the configuration is loaded: a broken one is one of the things it reports */
static gint
cmd_doctor(Cli *cli, gchar **args)
{
	MeDoctorOptions doctor = {.ca_name = cli->ca_name, .json = cli->json, .nmhostdir = NMHOSTDIR, .out = stdout};

	(void)args;
#ifdef ME_TEST_HOOKS
	/* the tests keep a mailenroll installed on the machine (its system manifest) out of view */
	if (g_getenv("MAILENROLL_TEST_NMHOSTDIR") != NULL)
		doctor.nmhostdir = g_getenv("MAILENROLL_TEST_NMHOSTDIR");
#endif
	return me_doctor_run(&doctor);
}

/* ---- the command table: every verb with its arguments, its summary and its options */

/* each option once; a verb's table lists those it takes */
#define OPTION_CA                                                                                                      \
	{"ca", 0, 0, G_OPTION_ARG_STRING, &cli_args.ca_name,                                                           \
	 N_("The certificate authority (a [ca NAME] of the configuration)"), N_("NAME")}
#define OPTION_VERSION                                                                                                 \
	{"version", 0, 0, G_OPTION_ARG_NONE, &cli_args.version, N_("Show the version"), NULL}
#define OPTION_YES                                                                                                     \
	{"yes", 'y', 0, G_OPTION_ARG_NONE, &cli_args.yes, N_("Approve the reply without asking"), NULL}
#define OPTION_RESTART                                                                                                 \
	{"restart", 0, 0, G_OPTION_ARG_NONE, &cli_args.restart, N_("Forget the request under way and start a new one"), \
	 NULL}
#define OPTION_FORCE                                                                                                   \
	{"force", 0, 0, G_OPTION_ARG_NONE, &cli_args.force, N_("Renew even when the certificate is not due yet"), NULL}
#define OPTION_ALL                                                                                                     \
	{"all", 0, 0, G_OPTION_ARG_NONE, &cli_args.all,                                                                \
	 N_("Renew every certificate that is due (for the systemd timer)"), NULL}
/* TRANSLATORS: the option of revoke */
#define OPTION_REASON                                                                                                  \
	{"reason", 0, 0, G_OPTION_ARG_INT, &cli_args.reason, N_("The RFC 5280 reason code (0, 1, 4 or 5)"), N_("CODE")}
#define OPTION_AGREE_TOS                                                                                               \
	{"agree-tos", 0, 0, G_OPTION_ARG_NONE, &cli_args.agree_tos, N_("Agree to the CA's terms of service"), NULL}
#define OPTION_MAILDIR                                                                                                 \
	{"maildir", 0, 0, G_OPTION_ARG_FILENAME, &cli_args.maildir, N_("Watch this Maildir for the challenge mail"),   \
	 N_("DIR")}
#define OPTION_REPLY_FILE                                                                                              \
	{"reply-file", 0, 0, G_OPTION_ARG_FILENAME, &cli_args.reply_file, N_("Write the reply to this file"), N_("FILE")}
#define OPTION_SMTP                                                                                                    \
	{"smtp", 0, 0, G_OPTION_ARG_NONE, &cli_args.smtp, N_("Send the reply through the configured SMTP server"), NULL}
#define OPTION_STORE                                                                                                   \
	{"store", 0, 0, G_OPTION_ARG_STRING, &cli_args.store,                                                          \
	 N_("Where the certificate goes: thunderbird, nssdb or pkcs12"), N_("STORE")}
#define OPTION_PROFILE                                                                                                 \
	{"profile", 0, 0, G_OPTION_ARG_FILENAME, &cli_args.profile, N_("The Thunderbird profile folder"), N_("DIR")}
#define OPTION_BIND                                                                                                    \
	{"bind", 0, 0, G_OPTION_ARG_NONE, &cli_args.bind, N_("Also bind the certificate to the Thunderbird identity"), \
	 NULL}
#define OPTION_NSSDB                                                                                                   \
	{"nssdb", 0, 0, G_OPTION_ARG_FILENAME, &cli_args.nssdb, N_("The NSS database folder (default ~/.pki/nssdb)"),  \
	 N_("DIR")}
#define OPTION_OUTPUT                                                                                                  \
	{"output", 'o', 0, G_OPTION_ARG_FILENAME, &cli_args.output, N_("The PKCS#12 file to write"), N_("FILE")}
#define OPTION_HELPER                                                                                                  \
	{"helper", 0, 0, G_OPTION_ARG_FILENAME, &cli_args.helper, N_("The mailenroll-helper to register"), N_("PATH")}
#define OPTION_JSON                                                                                                    \
	{"json", 0, 0, G_OPTION_ARG_NONE, &cli_args.json, N_("Status as JSON"), NULL}
/* TRANSLATORS: the option of doctor */
#define OPTION_DOCTOR_JSON                                                                                             \
	{"json", 0, 0, G_OPTION_ARG_NONE, &cli_args.json, N_("The results as a JSON array"), NULL}

/* a verb that answers the challenge: how the reply is approved and where it goes */
#define OPTIONS_REPLY OPTION_YES, OPTION_REPLY_FILE, OPTION_SMTP
/* a verb that may install the certificate: where it goes */
#define OPTIONS_INSTALL OPTION_STORE, OPTION_PROFILE, OPTION_BIND, OPTION_NSSDB, OPTION_OUTPUT

static const GOptionEntry global_options[] = {OPTION_CA, OPTION_VERSION, G_OPTION_ENTRY_NULL};
static const GOptionEntry enroll_options[] = {
    OPTION_CA, OPTION_AGREE_TOS, OPTION_RESTART, OPTION_MAILDIR, OPTIONS_REPLY, OPTIONS_INSTALL, G_OPTION_ENTRY_NULL};
static const GOptionEntry challenge_options[] = {OPTION_CA, OPTIONS_REPLY, OPTIONS_INSTALL, G_OPTION_ENTRY_NULL};
static const GOptionEntry install_options[] = {OPTION_CA, OPTIONS_INSTALL, G_OPTION_ENTRY_NULL};
static const GOptionEntry renew_options[] = {
    OPTION_CA, OPTION_ALL, OPTION_FORCE, OPTION_AGREE_TOS, OPTION_MAILDIR, OPTIONS_REPLY, OPTIONS_INSTALL, G_OPTION_ENTRY_NULL};
static const GOptionEntry revoke_options[] = {OPTION_CA, OPTION_REASON, G_OPTION_ENTRY_NULL};
static const GOptionEntry status_options[] = {OPTION_JSON, G_OPTION_ENTRY_NULL};
static const GOptionEntry provision_options[] = {OPTION_CA, G_OPTION_ENTRY_NULL};
static const GOptionEntry register_options[] = {OPTION_HELPER, G_OPTION_ENTRY_NULL};
static const GOptionEntry no_options[] = {G_OPTION_ENTRY_NULL};
static const GOptionEntry doctor_options[] = {OPTION_CA, OPTION_DOCTOR_JSON, G_OPTION_ENTRY_NULL};

typedef enum {
	CLI_VERB_FLAG_NONE = 0,
	/* load the configuration first */
	CLI_VERB_FLAG_CONFIG = 1 << 0,
	/* and choose the CA (not for renew --all, which goes through every CA) */
	CLI_VERB_FLAG_CA = 1 << 1,
} CliVerbFlags;

/* one verb: `mailenroll NAME [OPTION…] SYNOPSIS` does @run with the arguments */
typedef struct {
	const gchar *name;
	const gchar *synopsis;
	const gchar *summary;
	const GOptionEntry *options;
	guint min_args;
	guint max_args;
	CliVerbFlags flags;
	gint (*run)(Cli *cli, gchar **args);
} CliVerb;

/* the synopses and summaries are translated; the verbs and the provision kinds are not */
static const CliVerb verbs[] = {
    /* TRANSLATORS: the arguments of a command in --help */
    {"enroll", N_("MAILBOX"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Ask the CA for a certificate for MAILBOX"),
     enroll_options, 1, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_enroll},
    /* TRANSLATORS: the arguments of challenge; keep the - */
    {"challenge", N_("MAILBOX FILE|-"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Check the CA's challenge mail and answer it"),
     challenge_options, 2, 2, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_challenge},
    {"continue", N_("MAILBOX"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("The reply was sent: finish and install"),
     install_options, 1, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_continue},
    {"install", N_("MAILBOX"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Install the issued certificate again"),
     install_options, 1, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_install},
    /* TRANSLATORS: the arguments of renew; keep --all */
    {"renew", N_("MAILBOX | --all"),
     /* TRANSLATORS: the summary of a command in --help; keep --all */
     N_("Renew the certificate when it is due, or with --all every one that is due"),
     renew_options, 0, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_renew},
    {"revoke", N_("MAILBOX"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Revoke the certificate"),
     revoke_options, 1, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_revoke},
    /* TRANSLATORS: the arguments of status: a mailbox or none */
    {"status", N_("[MAILBOX]"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Show every enrollment and the step it is at"),
     status_options, 0, 1, CLI_VERB_FLAG_CONFIG | CLI_VERB_FLAG_CA, cmd_status},
    /* TRANSLATORS: the arguments of provision; keep eab, dkim and smtp-password */
    {"provision", N_("eab|dkim|smtp-password LABEL"),
     /* TRANSLATORS: the summary of a command in --help */
     N_("Store the CA's EAB key, a DKIM key or the SMTP password (from standard input) in the keyring"),
     provision_options, 2, 2, CLI_VERB_FLAG_CONFIG, cmd_provision},
    {"register", "",
     /* TRANSLATORS: the summary of a command in --help */
     N_("Let Thunderbird start mailenroll-helper for this user"),
     register_options, 0, 0, CLI_VERB_FLAG_NONE, cmd_register},
    {"unregister", "",
     /* TRANSLATORS: the summary of a command in --help */
     N_("Undo register"),
     no_options, 0, 0, CLI_VERB_FLAG_NONE, cmd_unregister},
    {"doctor", "",
     /* TRANSLATORS: the summary of a command in --help */
     N_("Check the configuration, the CAs, the keyring, DNS, the host registration and the profiles"),
     doctor_options, 0, 0, CLI_VERB_FLAG_NONE, cmd_doctor},
};

static const CliVerb *
find_verb(const gchar *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
		if (g_strcmp0(verbs[i].name, name) == 0)
			return &verbs[i];
	}
	return NULL;
}

/* ---- parsing the command line */

/* "enroll MAILBOX", "register" */
static gchar *
verb_usage(const CliVerb *verb)
{
	if (verb->synopsis[0] == '\0')
		return g_strdup(verb->name);
	return g_strdup_printf("%s %s", verb->name, _(verb->synopsis));
}

/* the usages wider than this have their summary on the next line */
#define CLI_USAGE_WIDTH 24

/* the summary of `mailenroll --help`: what it does, then each verb on a line */
static gchar *
main_summary(void)
{
	g_autoptr(GString) text = g_string_new(NULL);

	g_string_append(text,
			/* TRANSLATORS: the one-line summary of --help */
			_("Get and keep an S/MIME certificate for your own mailbox from an ACME CA (RFC 8823)."));
	g_string_append_printf(text, "\n\n%s",
			       /* TRANSLATORS: the heading of the list of commands in --help */
			       _("Commands:"));
	for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
		g_autofree gchar *usage = verb_usage(&verbs[i]);
		glong len = g_utf8_strlen(usage, -1);
		if (len > CLI_USAGE_WIDTH)
			g_string_append_printf(text, "\n  %s\n  %*s", usage, CLI_USAGE_WIDTH, "");
		else
			g_string_append_printf(text, "\n  %s%*s", usage, (gint)(CLI_USAGE_WIDTH - len), "");
		g_string_append_printf(text, "  %s", _(verbs[i].summary));
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static GOptionContext *
main_context(void)
{
	/* TRANSLATORS: what follows the options in the usage line of --help */
	GOptionContext *ctx = g_option_context_new(_("COMMAND [ARGUMENTS]"));
	g_autofree gchar *summary = main_summary();

	g_option_context_add_main_entries(ctx, global_options, GETTEXT_PACKAGE);
	g_option_context_set_summary(ctx, summary);
	/* the verb and everything after it are the verb's */
	g_option_context_set_strict_posix(ctx, TRUE);
	return ctx;
}

static GOptionContext *
verb_context(const CliVerb *verb)
{
	GOptionContext *ctx = g_option_context_new(verb->synopsis[0] != '\0' ? _(verb->synopsis) : NULL);

	g_option_context_add_main_entries(ctx, verb->options, GETTEXT_PACKAGE);
	g_option_context_set_summary(ctx, _(verb->summary));
	return ctx;
}

/* --help, -h, -? or --help-all among the verb's arguments */
static gboolean
wants_help(gint argc, gchar **argv)
{
	for (gint i = 1; i < argc && g_strcmp0(argv[i], "--") != 0; i++) {
		if (g_strcmp0(argv[i], "--help") == 0 || g_str_has_prefix(argv[i], "--help-") ||
		    g_strcmp0(argv[i], "-h") == 0 || g_strcmp0(argv[i], "-?") == 0)
			return TRUE;
	}
	return FALSE;
}

/* GLib's own --help would name the program only: the verb goes after it in the usage line */
static void
print_verb_help(const CliVerb *verb, GOptionContext *ctx)
{
	g_autofree gchar *help = g_option_context_get_help(ctx, TRUE, NULL);
	g_autofree gchar *program = g_strdup_printf("  %s", g_get_prgname());
	const gchar *at = strstr(help, program);

	if (at == NULL) {
		g_print("%s", help);
		return;
	}
	at += strlen(program);
	g_print("%.*s %s%s", (gint)(at - help), help, verb->name, at);
}

static const GOptionEntry *
find_option(const GOptionEntry *options, const gchar *long_name, gchar short_name)
{
	for (const GOptionEntry *o = options; o->long_name != NULL; o++) {
		if ((long_name != NULL && g_strcmp0(o->long_name, long_name) == 0) ||
		    (short_name != '\0' && o->short_name == short_name))
			return o;
	}
	return NULL;
}

/* the first option of @argv that @verb does not take, as it was written, or %NULL */
static gchar *
find_foreign_option(const CliVerb *verb, gint argc, gchar **argv)
{
	for (gint i = 1; i < argc && g_strcmp0(argv[i], "--") != 0; i++) {
		const gchar *arg = argv[i];
		const GOptionEntry *o;

		if (arg[0] != '-' || arg[1] == '\0')
			continue;
		if (arg[1] == '-') {
			g_autofree gchar *name = g_strndup(arg + 2, strcspn(arg + 2, "="));
			o = find_option(verb->options, name, '\0');
			if (o == NULL)
				return g_strconcat("--", name, NULL);
			/* its value is the next argument */
			if (o->arg != G_OPTION_ARG_NONE && strchr(arg, '=') == NULL)
				i++;
			continue;
		}
		/* short options, maybe several in one; one that takes a value ends them */
		for (const gchar *c = arg + 1; *c != '\0'; c++) {
			o = find_option(verb->options, NULL, *c);
			if (o == NULL)
				return g_strdup_printf("-%c", *c);
			if (o->arg != G_OPTION_ARG_NONE) {
				i += c[1] == '\0' ? 1 : 0;
				break;
			}
		}
	}
	return NULL;
}

static gint
option_error(const CliVerb *verb, gint argc, gchar **argv, GError *error)
{
	g_autofree gchar *option = NULL;

	if (g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
		option = find_foreign_option(verb, argc, argv);
	if (option == NULL) {
		g_printerr("mailenroll: %s\n", error->message);
		return EXIT_USAGE;
	}
	/* TRANSLATORS: an option given to a command that does not take it; %s are the command, the option and the command again */
	g_printerr(_("mailenroll: “%s” does not take %s; see “mailenroll %s --help”.\n"), verb->name, option, verb->name);
	return EXIT_USAGE;
}

/* argv[0] is the verb: its options, its arguments, then its handler */
static gint
run_verb(Cli *cli, const CliVerb *verb, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) ctx = verb_context(verb);
	g_autoptr(GError) error = NULL;
	/* the parser takes out what it read: the arguments as given, for the error */
	gint given_argc = argc;
	g_autofree gchar **given = g_memdup2(argv, sizeof(gchar *) * (gsize)argc);
	g_autofree gchar **args = NULL;
	guint n_args;

	if (wants_help(argc, argv)) {
		print_verb_help(verb, ctx);
		return EXIT_SUCCESS;
	}
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return option_error(verb, given_argc, given, error);
	n_args = (guint)argc - 1;
	if (n_args < verb->min_args || n_args > verb->max_args)
		return usage_error(verb->name);
	if ((verb->flags & CLI_VERB_FLAG_CONFIG) != 0 &&
	    !load_config(cli, (verb->flags & CLI_VERB_FLAG_CA) != 0 && !cli->all, &error))
		return fail(error);
	args = g_new0(gchar *, n_args + 1);
	for (guint i = 0; i < n_args; i++)
		args[i] = argv[i + 1];
	return verb->run(cli, args);
}

static gint
run(Cli *cli, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) ctx = main_context();
	g_autoptr(GError) error = NULL;
	const CliVerb *verb;

	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("mailenroll: %s\n", error->message);
		return EXIT_USAGE;
	}
	if (cli->version) {
		g_print("mailenroll %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (argc < 2) {
		g_autofree gchar *help = g_option_context_get_help(ctx, TRUE, NULL);
		g_printerr("%s", help);
		return EXIT_USAGE;
	}
	verb = find_verb(argv[1]);
	if (verb == NULL)
		return usage_error(argv[1]);
	return run_verb(cli, verb, argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
	gint rc;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	/* the usage lines say mailenroll under any file name (the tests run mailenroll-test) */
	g_set_prgname("mailenroll");
	g_set_print_handler(print_stdout);
	g_set_printerr_handler(print_stderr);
	/* keys and passwords pass through this process: no core dump may keep them */
	{
		g_autoptr(GError) error = NULL;
		if (!me_secure_harden_process(&error)) {
			g_printerr("%s\n", error->message);
			return EXIT_FAILURE;
		}
	}

	rc = run(&cli_args, argc, argv);
	cli_clear(&cli_args);
	return rc;
}
