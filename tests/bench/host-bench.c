/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * host-bench: what Thunderbird waits for when the extension connects.  For mailenroll-helper
 * and, in the same invocation and interleaved run by run, a minimal Python native host
 * (host-peer.py, answering hello the same way), it measures:
 *
 *  - start-up to the hello answer: spawn, send hello, read the answer (median, min, max);
 *  - the peak RSS of the host at that point (VmHWM from /proc/PID/status, and RssAnon, its
 *    private part without the shared libraries) and at its exit (ru_maxrss from wait4());
 *  - 10,000 pings written in one go and all answers read (the time after hello).
 *
 * It prints a Markdown table with the peer/helper ratios.
 *
 *   host-bench [--runs N] [--pings N] [--helper PATH] [--peer SCRIPT] [--python PATH]
 */

#define G_LOG_DOMAIN "MeHostBench"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define HELLO "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"host-bench/1\"}}"
/* a run that takes longer than this is broken */
#define BENCH_TIMEOUT_MS 30000

typedef struct {
	const gchar *label;
	GStrv argv;
	GArray *hello_ms;   /* gdouble */
	GArray *hwm_kib;    /* gdouble: VmHWM when hello was answered */
	GArray *anon_kib;   /* gdouble: RssAnon then (private memory, without shared libraries) */
	GArray *maxrss_kib; /* gdouble: ru_maxrss at exit */
	GArray *pings_ms;   /* gdouble */
} Subject;

typedef struct {
	GPid pid;
	gint in_fd;
	gint out_fd;
	MeFrameDecoder *rx; /* the host's stdout */
} Proc;

static void
write_all(gint fd, const guint8 *data, gsize len)
{
	while (len > 0) {
		gssize n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			g_error("write to the host failed: %s", g_strerror(errno));
		data += n;
		len -= (gsize)n;
	}
}

static void
send_frame(Proc *proc, const gchar *json)
{
	g_autoptr(GBytes) frame = me_frame_encode_data(json, strlen(json));
	write_all(proc->in_fd, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

/* reads until @n_frames whole frames arrived, each within BENCH_TIMEOUT_MS; returns the
 * text of the last one */
static gchar *
recv_frames(Proc *proc, guint n_frames)
{
	gchar *last = NULL;

	for (guint seen = 0; seen < n_frames; seen++) {
		g_free(last);
		last = me_test_frame_read_text(proc->rx, proc->out_fd, BENCH_TIMEOUT_MS, NULL);
		if (last == NULL)
			g_error("the host closed its output after %u of %u answers", seen, n_frames);
	}
	return last;
}

static Proc *
proc_spawn(Subject *subject)
{
	g_autoptr(GError) error = NULL;
	Proc *proc = g_new0(Proc, 1);

	if (!g_spawn_async_with_pipes(NULL, subject->argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
				      NULL, NULL, &proc->pid, &proc->in_fd, &proc->out_fd, NULL, &error))
		g_error("cannot start %s: %s", subject->argv[0], error->message);
	proc->rx = me_frame_decoder_new(ME_FRAME_MAX_OUTBOUND);
	return proc;
}

/* a "Key:   N kB" line of /proc/PID/status, in KiB */
static gdouble
read_status_kib(GPid pid, const gchar *key)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree gchar *text = NULL;
	const gchar *line;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -1;
	line = strstr(text, key);
	return line != NULL ? g_ascii_strtod(line + strlen(key), NULL) : -1;
}

/* closes stdin and reaps the host; returns ru_maxrss in KiB */
static gdouble
proc_finish(Proc *proc)
{
	struct rusage usage;
	gint status = 0;

	close(proc->in_fd);
	while (wait4(proc->pid, &status, 0, &usage) < 0) {
		if (errno != EINTR)
			g_error("wait4: %s", g_strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error("the host ended with status %d", status);
	close(proc->out_fd);
	me_frame_decoder_free(proc->rx);
	g_free(proc);
	return (gdouble)usage.ru_maxrss;
}

typedef struct {
	gint fd;
	GString *data;
} WriterJob;

/* the burst is larger than a pipe holds: one thread writes while the other reads */
static gpointer
writer_thread(gpointer user_data)
{
	WriterJob *job = user_data;
	write_all(job->fd, (const guint8 *)job->data->str, job->data->len);
	return NULL;
}

static void
run_once(Subject *subject, guint pings, gboolean record)
{
	g_autoptr(GString) burst = g_string_new(NULL);
	g_autofree gchar *answer = NULL;
	g_autofree gchar *last = NULL;
	gint64 start = g_get_monotonic_time();
	WriterJob job;
	GThread *writer;
	gdouble hello_ms;
	gdouble hwm;
	gdouble anon;
	gdouble pings_ms;
	gdouble maxrss;
	Proc *proc = proc_spawn(subject);

	send_frame(proc, HELLO);
	answer = recv_frames(proc, 1);
	hello_ms = (g_get_monotonic_time() - start) / 1000.0;
	if (strstr(answer, "\"protocol\":1") == NULL)
		g_error("%s answered hello with %s", subject->label, answer);
	hwm = read_status_kib(proc->pid, "VmHWM:");
	anon = read_status_kib(proc->pid, "RssAnon:");

	for (guint i = 0; i < pings; i++) {
		g_autofree gchar *req = g_strdup_printf("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}", i + 1);
		g_autoptr(GBytes) frame = me_frame_encode_data(req, strlen(req));
		g_string_append_len(burst, g_bytes_get_data(frame, NULL), (gssize)g_bytes_get_size(frame));
	}
	job.fd = proc->in_fd;
	job.data = burst;
	start = g_get_monotonic_time();
	writer = g_thread_new("writer", writer_thread, &job);
	last = recv_frames(proc, pings);
	pings_ms = (g_get_monotonic_time() - start) / 1000.0;
	g_thread_join(writer);
	if (pings > 0 && strstr(last, "\"pong\":true") == NULL)
		g_error("%s answered the last ping with %s", subject->label, last);
	maxrss = proc_finish(proc);
	if (!record)
		return;
	g_array_append_val(subject->hello_ms, hello_ms);
	g_array_append_val(subject->hwm_kib, hwm);
	g_array_append_val(subject->anon_kib, anon);
	g_array_append_val(subject->maxrss_kib, maxrss);
	g_array_append_val(subject->pings_ms, pings_ms);
}

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a;
	gdouble y = *(const gdouble *)b;
	return (x > y) - (x < y);
}

typedef struct {
	gdouble median;
	gdouble min;
	gdouble max;
} Stats;

static Stats
stats(GArray *values)
{
	Stats st = {0};
	guint n = values->len;

	g_array_sort(values, cmp_double);
	st.min = g_array_index(values, gdouble, 0);
	st.max = g_array_index(values, gdouble, n - 1);
	st.median = n % 2 == 1 ? g_array_index(values, gdouble, n / 2)
			       : (g_array_index(values, gdouble, n / 2 - 1) + g_array_index(values, gdouble, n / 2)) / 2;
	return st;
}

static Subject *
subject_new(const gchar *label, GStrv argv)
{
	Subject *subject = g_new0(Subject, 1);
	subject->label = label;
	subject->argv = argv;
	subject->hello_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	subject->hwm_kib = g_array_new(FALSE, FALSE, sizeof(gdouble));
	subject->anon_kib = g_array_new(FALSE, FALSE, sizeof(gdouble));
	subject->maxrss_kib = g_array_new(FALSE, FALSE, sizeof(gdouble));
	subject->pings_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	return subject;
}

static void
print_row(Subject *s, guint pings)
{
	Stats hello = stats(s->hello_ms);
	Stats hwm = stats(s->hwm_kib);
	Stats anon = stats(s->anon_kib);
	Stats rss = stats(s->maxrss_kib);
	Stats p = stats(s->pings_ms);

	printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f |\n", s->label, hello.median, hello.min,
	       hello.max, hwm.median / 1024, anon.median / 1024, rss.max / 1024, p.median, pings / (p.median / 1000.0));
}

static void
print_ratio(Subject *ours, Subject *peer)
{
	Stats a_hello = stats(ours->hello_ms);
	Stats b_hello = stats(peer->hello_ms);
	Stats a_hwm = stats(ours->hwm_kib);
	Stats b_hwm = stats(peer->hwm_kib);
	Stats a_anon = stats(ours->anon_kib);
	Stats b_anon = stats(peer->anon_kib);
	Stats a_rss = stats(ours->maxrss_kib);
	Stats b_rss = stats(peer->maxrss_kib);
	Stats a_p = stats(ours->pings_ms);
	Stats b_p = stats(peer->pings_ms);

	printf("| **%s / %s** | **%.1f×** | %.1f× | %.1f× | **%.1f×** | %.1f× | %.1f× | **%.1f×** | |\n", peer->label,
	       ours->label, b_hello.median / a_hello.median, b_hello.min / a_hello.min, b_hello.max / a_hello.max,
	       b_hwm.median / a_hwm.median, b_anon.median / a_anon.median, b_rss.max / a_rss.max, b_p.median / a_p.median);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *helper = g_strdup(ME_BENCH_HELPER);
	g_autofree gchar *peer = g_strdup(ME_BENCH_SRCDIR "/host-peer.py");
	g_autofree gchar *python = g_strdup("/usr/bin/python3");
	g_autofree gchar *load = NULL;
	gint runs = 20;
	gint pings = 10000;
	const GOptionEntry entries[] = {
	    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "timed runs per host (default 20)", "N"},
	    {"pings", 0, 0, G_OPTION_ARG_INT, &pings, "pings written in one go after hello (default 10000)", "N"},
	    {"helper", 0, 0, G_OPTION_ARG_FILENAME, &helper, "the mailenroll-helper to measure", "PATH"},
	    {"peer", 0, 0, G_OPTION_ARG_FILENAME, &peer, "the Python host (host-peer.py)", "SCRIPT"},
	    {"python", 0, 0, G_OPTION_ARG_FILENAME, &python, "the interpreter (default /usr/bin/python3)", "PATH"},
	    {NULL},
	};
	gchar *helper_argv[] = {helper, (gchar *)"/nonexistent/org.mailenroll.helper.json",
				(gchar *)"mailenroll@mailenroll.org", NULL};
	gchar *peer_argv[] = {python, peer, (gchar *)"/nonexistent/org.mailenroll.helper.json",
			      (gchar *)"mailenroll@mailenroll.org", NULL};
	Subject *ours;
	Subject *theirs;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || runs < 1 || pings < 0) {
		g_printerr("%s\n", error != NULL ? error->message : "--runs must be 1 or more, --pings 0 or more");
		return 2;
	}
	helper_argv[0] = helper;
	peer_argv[0] = python;
	peer_argv[1] = peer;
	ours = subject_new("mailenroll-helper (C)", helper_argv);
	theirs = subject_new("host-peer.py (Python)", peer_argv);

	/* one untimed run each warms the page cache */
	run_once(ours, (guint)pings, FALSE);
	run_once(theirs, (guint)pings, FALSE);
	/* interleaved, so load changes hit both alike */
	for (gint i = 0; i < runs; i++) {
		run_once(ours, (guint)pings, TRUE);
		run_once(theirs, (guint)pings, TRUE);
	}

	g_file_get_contents("/proc/loadavg", &load, NULL, NULL);
	printf("## Native-messaging host start-up: mailenroll-helper against a minimal Python host\n\n");
	printf("%d timed runs each, interleaved, after one warm-up run each; %d pings after hello. "
	       "Load average: %s\n",
	       runs, pings, load != NULL ? g_strchomp(load) : "?");
	printf("| host | start→hello median (ms) | min | max | VmHWM at hello, median (MiB) | RssAnon at hello (MiB) | "
	       "ru_maxrss at exit, max (MiB) | %d pings (ms) | pings/s |\n",
	       pings);
	printf("|---|---|---|---|---|---|---|---|---|\n");
	print_row(ours, (guint)pings);
	print_row(theirs, (guint)pings);
	print_ratio(ours, theirs);
	printf("\nRatios are the peer's figure over the helper's: above 1× the helper is faster or smaller.\n");
	return 0;
}
