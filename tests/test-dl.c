/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeTestDl"

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <string.h>

#include "autocleanups.h"
#include "dkim.h"
#include "dl.h"
#include "dns.h"
#include "frame.h"
#include "http.h"
#include "keyring.h"
#include "keys.h"
#include "mail.h"
#include "nssdb.h"
#include "test-util.h"

/*
 * The libraries only some jobs need are loaded on first use (helper/lib/dl.c, issue 18):
 *
 *  - /dl/start/...: the built binaries, the installed ones and the tests' variants, start and
 *    answer `--version` and `hello` without mapping any of them (LD_DEBUG=files for a process
 *    that ends at once, /proc/PID/maps for the helper that waits after hello);
 *  - /dl/on-use/...: the job that needs one maps it, through the public wrapper, and only it;
 *  - /dl/missing/...: with the test hook MAILENROLL_TEST_DL_MISSING the loader opens a name no
 *    system has: the job fails with ME_ERROR_NOT_SUPPORTED and one sentence that names the
 *    library and the Debian package.
 *
 * This program itself must not link them, or /proc/self/maps would show them from the start:
 * it uses neither the keyring fixture nor NSS by name (tests/meson.build).  The on-use and
 * missing cases each run in a subprocess of their own, so each starts with nothing loaded.
 */

#define HELLO "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"test-dl/1\"}}"

typedef struct {
	const gchar *soname;
	const gchar *package;
	MeDlLibrary library;
} Lazy;

static const Lazy lazy[] = {
    {"libcurl.so.4", "libcurl4", ME_DL_LIBRARY_CURL},
    {"libgmime-3.0.so.0", "libgmime-3.0-0", ME_DL_LIBRARY_GMIME},
    {"libsecret-1.so.0", "libsecret-1-0", ME_DL_LIBRARY_SECRET},
    {"libopendkim.so.11", "libopendkim11", ME_DL_LIBRARY_OPENDKIM},
    {"libnss3.so", "libnss3", ME_DL_LIBRARY_NSS},
};

static const Lazy *
lazy_get(MeDlLibrary library)
{
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++) {
		if (lazy[i].library == library)
			return &lazy[i];
	}
	g_assert_not_reached();
}

/* TRUE if a line of @maps maps a file whose name starts with @soname (libsecret-1.so.0 is
 * mapped as libsecret-1.so.0.0.0) */
static gboolean
maps_have(const gchar *maps, const gchar *soname)
{
	g_autofree gchar *needle = g_strconcat("/", soname, NULL);
	const gchar *p = maps;

	while ((p = strstr(p, needle)) != NULL) {
		gchar next = p[strlen(needle)];
		if (next == '\n' || next == '.' || next == '\0')
			return TRUE;
		p += strlen(needle);
	}
	return FALSE;
}

static gchar *
read_maps(const gchar *pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%s/maps", pid);
	gchar *maps = NULL;
	g_autoptr(GError) error = NULL;

	g_file_get_contents(path, &maps, NULL, &error);
	g_assert_no_error(error);
	return maps;
}

/* the loaded objects, from the dynamic loader's own record (LD_DEBUG=files): "file=NAME [" */
static GPtrArray *
loaded_objects(const gchar *ld_debug)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const gchar *p = ld_debug;

	while ((p = strstr(p, "file=")) != NULL) {
		const gchar *end = strchr(p, ' ');
		g_autofree gchar *path = NULL;

		p += strlen("file=");
		if (end == NULL)
			break;
		path = g_strndup(p, (gsize)(end - p));
		/* each object is named on several lines, by its soname or its path */
		if (!g_ptr_array_find_with_equal_func(names, path, g_str_equal, NULL))
			g_ptr_array_add(names, g_steal_pointer(&path));
	}
	return names;
}

static void
assert_none_mapped(const gchar *what, const gchar *maps)
{
	g_autoptr(GString) found = g_string_new(NULL);

	/* the check works: what every binary links is there */
	if (!maps_have(maps, "libglib-2.0.so.0"))
		g_error("%s: the record shows no libglib-2.0.so.0, so it shows nothing:\n%s", what, maps);
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++) {
		if (maps_have(maps, lazy[i].soname))
			g_string_append_printf(found, " %s", lazy[i].soname);
	}
	if (found->len > 0)
		g_error("%s: loaded at start, before a job needs them:%s", what, found->str);
}

static const gchar *
binary(const gchar *variable)
{
	const gchar *path = g_getenv(variable);
	if (path == NULL)
		g_error("%s is not set; run this test through meson test", variable);
	return path;
}

/* the AddressSanitizer build links the five libraries at start (helper/lib/meson.build:
 * LeakSanitizer cannot scan the dynamic TLS of a dlopen()ed library): what is mapped when
 * is checked in the other builds */
static gboolean
skip_linked(void)
{
#if defined(__SANITIZE_ADDRESS__)
	g_test_skip("the AddressSanitizer build links these libraries at start; the plain build checks loading on first use");
	return TRUE;
#else
	return FALSE;
#endif
}

static void
check_version(const gchar *variable)
{
	const gchar *argv[] = {binary(variable), "--version", NULL};
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GString) joined = g_string_new("");

	g_subprocess_launcher_setenv(launcher, "LD_DEBUG", "files", TRUE);
	g_subprocess_launcher_unsetenv(launcher, "LD_DEBUG_OUTPUT");
	proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &out, &err, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
	g_assert_true(g_str_has_prefix(out, "mailenroll "));

	names = loaded_objects(err);
	for (guint i = 0; i < names->len; i++)
		g_string_append_printf(joined, "/%s\n", (const gchar *)g_ptr_array_index(names, i));
	g_test_message("%s --version loaded %u objects", argv[0], names->len);
	assert_none_mapped(argv[0], joined->str);
}

/* the objects a process loaded in all, from its LD_DEBUG=files lines, one "/NAME" a line
 * as in /proc/PID/maps */
static gchar *
loaded_as_maps(const gchar *ld_debug, const gchar *what)
{
	g_autoptr(GPtrArray) names = loaded_objects(ld_debug);
	GString *joined = g_string_new("");

	for (guint i = 0; i < names->len; i++)
		g_string_append_printf(joined, "/%s\n", (const gchar *)g_ptr_array_index(names, i));
	g_test_message("%s loaded %u objects", what, names->len);
	return g_string_free(joined, FALSE);
}

static void
test_start_version(void)
{
	if (skip_linked())
		return;
	check_version("ME_TEST_MAILENROLL");
	check_version("ME_TEST_RELEASE_MAILENROLL");
}

static void
check_hello(const gchar *variable)
{
	g_autofree gchar *home = me_test_tmpdir();
	g_autofree gchar *manifest = g_build_filename(home, "org.mailenroll.helper.json", NULL);
	/* as Thunderbird starts it */
	const gchar *argv[] = {binary(variable), manifest, "mailenroll@mailenroll.org", NULL};
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GBytes) frame = me_frame_encode_data(HELLO, strlen(HELLO));
	g_autoptr(MeFrameDecoder) rx = me_frame_decoder_new(1024 * 1024);
	g_autofree gchar *answer = NULL;
	g_autofree gchar *maps = NULL;
	g_autofree gchar *config_home = g_build_filename(home, "config", NULL);
	GOutputStream *in;
	gint out_fd;

	/* a home of its own: no configuration, no state, no Thunderbird */
	g_subprocess_launcher_setenv(launcher, "HOME", home, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", config_home, TRUE);
	g_subprocess_launcher_unsetenv(launcher, "XDG_STATE_HOME");
	g_subprocess_launcher_unsetenv(launcher, "XDG_DATA_HOME");
	g_subprocess_launcher_set_cwd(launcher, home);
	/* the dynamic loader's own record, not /proc/PID/maps: the helper makes itself
	 * non-dumpable (no core dumps), so only root may read its maps */
	g_subprocess_launcher_setenv(launcher, "LD_DEBUG", "files", TRUE);
	g_subprocess_launcher_unsetenv(launcher, "LD_DEBUG_OUTPUT");
	proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
	g_assert_no_error(error);
	in = g_subprocess_get_stdin_pipe(proc);
	g_output_stream_write_all(in, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame), NULL, NULL, &error);
	g_assert_no_error(error);
	out_fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(proc)));
	answer = me_test_frame_read_text(rx, out_fd, 30000, NULL);
	g_assert_nonnull(answer);
	g_assert_nonnull(strstr(answer, "\"result\""));

	/* then the end of its input: what it loaded from start to exit is what hello needed */
	g_output_stream_close(in, NULL, NULL);
	{
		g_autoptr(GOutputStream) sink = g_memory_output_stream_new_resizable();
		g_output_stream_splice(sink, g_subprocess_get_stderr_pipe(proc),
				       G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
		g_assert_no_error(error);
		err = g_strndup(g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(sink)),
				g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(sink)));
	}
	g_subprocess_wait(proc, NULL, &error);
	g_assert_no_error(error);
	maps = loaded_as_maps(err, argv[0]);
	assert_none_mapped(argv[0], maps);
	me_test_rm_rf(home);
}

static void
test_start_hello(void)
{
	if (skip_linked())
		return;
	check_hello("ME_TEST_HELPER");
	check_hello("ME_TEST_RELEASE_HELPER");
}

/* ---- the jobs that need each library, through the public wrappers only; each returns what
 * the wrapper returned (several fail after loading, for want of a server) */

static gboolean
job_curl(GError **error)
{
	g_autoptr(MeHttp) http = me_http_new();
	g_autoptr(MeHttpResponse) response = NULL;
	g_autofree gchar *url = g_strdup_printf("https://127.0.0.1:%u/dir", me_test_free_port());

	/* nothing listens there: the request fails, after libcurl was loaded to make it */
	me_http_set_timeouts(http, 2000, 5000, 5);
	response = me_http_request(http, "GET", url, NULL, NULL, NULL, error);
	return response != NULL;
}

static gboolean
job_gmime(GError **error)
{
	static const gchar raw[] = "From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n";
	g_autoptr(MeMail) mail = me_mail_new_from_data(raw, strlen(raw), NULL, error);

	return mail != NULL;
}

static gboolean
job_secret(GError **error)
{
	g_autofree MeSecretStr *secret = NULL;

	/* no session bus at all: the lookup fails, after libsecret was loaded to make it */
	g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/test-dl-bus", TRUE);
	secret = me_keyring_lookup(ME_KEYRING_KIND_SMTP_PASSWORD, "a@example.org", NULL, NULL, error);
	return secret != NULL;
}

static gboolean
job_opendkim(GError **error)
{
	g_autoptr(MeDns) dns = me_dns_new("127.0.0.1", NULL);
	g_autoptr(MeDkim) dkim = NULL;

	g_assert_nonnull(dns);
	dkim = me_dkim_new(dns, error);
	return dkim != NULL;
}

static gboolean
job_nss(GError **error)
{
	g_autoptr(EVP_PKEY) key = me_key_generate(ME_KEY_TYPE_EC_P256, NULL);
	g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	g_autofree gchar *dir = me_test_tmpdir();
	g_autofree gchar *db = g_build_filename(dir, "nssdb", NULL);
	g_autoptr(MeNssdbImport) import = NULL;

	g_ptr_array_add(chain, me_test_make_cert("test-dl", key, NULL, key, FALSE, "a@example.org"));
	import = me_nssdb_import(db, key, chain, "test-dl", NULL, ME_NSSDB_IMPORT_FLAGS_CREATE, error);
	me_test_rm_rf(dir);
	return import != NULL;
}

typedef gboolean (*JobFunc)(GError **error);

static JobFunc
job_for(MeDlLibrary library)
{
	switch (library) {
	case ME_DL_LIBRARY_CURL:
		return job_curl;
	case ME_DL_LIBRARY_GMIME:
		return job_gmime;
	case ME_DL_LIBRARY_SECRET:
		return job_secret;
	case ME_DL_LIBRARY_OPENDKIM:
		return job_opendkim;
	case ME_DL_LIBRARY_NSS:
		return job_nss;
	case ME_DL_LIBRARY_COUNT:
	default:
		g_assert_not_reached();
	}
}

/* in the subprocess: nothing lazy is mapped, the job runs, then its library is, and only it */
static void
on_use_child(MeDlLibrary library)
{
	const Lazy *want = lazy_get(library);
	g_autofree gchar *before = read_maps("self");
	g_autofree gchar *after = NULL;
	g_autoptr(GError) error = NULL;

	assert_none_mapped("this test before the job", before);
	g_assert_false(me_dl_is_loaded(library));
	if (!job_for(library)(&error))
		g_test_message("the job that needs %s ended with: %s", want->soname, error->message);
	/* it got past the loader */
	if (error != NULL)
		g_assert_false(strstr(error->message, want->soname) != NULL);
	after = read_maps("self");
	g_assert_true(me_dl_is_loaded(library));
	if (!maps_have(after, want->soname))
		g_error("%s is not mapped after the job that needs it", want->soname);
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++) {
		if (lazy[i].library != library && maps_have(after, lazy[i].soname))
			g_error("the job that needs %s loaded %s too", want->soname, lazy[i].soname);
	}
}

/* in the subprocess: the loader opens a name no system has in place of @library */
static void
missing_child(MeDlLibrary library)
{
	const Lazy *want = lazy_get(library);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *maps = NULL;

	g_setenv("MAILENROLL_TEST_DL_MISSING", want->soname, TRUE);
	g_assert_false(job_for(library)(&error));
	g_assert_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED);
	me_test_assert_sentence(error);
	g_assert_nonnull(strstr(error->message, want->soname));
	g_assert_nonnull(strstr(error->message, want->package));
	g_assert_false(me_dl_is_loaded(library));
	maps = read_maps("self");
	g_assert_false(maps_have(maps, want->soname));
}

static void
test_on_use(gconstpointer data)
{
	MeDlLibrary library = GPOINTER_TO_UINT(data);

	if (skip_linked())
		return;
	if (g_test_subprocess()) {
		on_use_child(library);
		return;
	}
	g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

static void
test_missing(gconstpointer data)
{
	MeDlLibrary library = GPOINTER_TO_UINT(data);

	if (skip_linked())
		return;
	if (g_test_subprocess()) {
		missing_child(library);
		return;
	}
	g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

/* the sonames are the ones the binaries linked before (objdump -p of the -dev packages' .so) */
static void
test_sonames(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++)
		g_assert_cmpstr(me_dl_library_get_soname(lazy[i].library), ==, lazy[i].soname);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dl/sonames", test_sonames);
	g_test_add_func("/dl/start/version", test_start_version);
	g_test_add_func("/dl/start/hello", test_start_hello);
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++) {
		g_autofree gchar *on_use = g_strdup_printf("/dl/on-use/%s", lazy[i].soname);
		g_autofree gchar *missing = g_strdup_printf("/dl/missing/%s", lazy[i].soname);
		g_test_add_data_func(on_use, GUINT_TO_POINTER(lazy[i].library), test_on_use);
		g_test_add_data_func(missing, GUINT_TO_POINTER(lazy[i].library), test_missing);
	}
	return g_test_run();
}
