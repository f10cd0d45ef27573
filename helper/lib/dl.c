/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeDl"

#include "config.h"

#include "dl.h"

#include <dlfcn.h>
#include <glib/gi18n-lib.h>

#include "me-error.h"

/*
 * Why: every start of mailenroll-helper (each Thunderbird start, each reconnect of the
 * extension) and of the CLI used to map NSS, libopendkim, libsecret, GMime and libcurl with
 * their dependencies (58 objects), and the binaries' `-z now` resolved all of their symbols,
 * although many jobs (hello, status, --version) use none of them and an ACME issuance uses
 * only libcurl (issue 18; tests/bench/RESULTS.md has the measurements).  Now the wrapper of
 * each (nssdb.c, dkim.c, keyring.c, mail.c, http.c and smtp.c) calls me_dl_load() on the way
 * into its first function that needs the library, and calls the library through the pointers
 * it filled in.
 *
 * RTLD_NOW keeps the binding eager, as `-z now` did for them: every symbol a library needs is
 * resolved when it is loaded, not on a first call later.  RTLD_LOCAL keeps their symbols out of
 * the global scope, so a library loaded later cannot bind to them by accident.  Nothing is
 * ever unloaded: a library stays mapped until the process ends, so no pointer handed out can
 * dangle, and libraries that start threads or register atexit handlers (NSPR) stay safe.
 */

typedef struct {
	/* the sonames of Debian 12, opened in this order; symbols are looked up in each in turn */
	const gchar *sonames[3];
	/* the Debian package of each soname */
	const gchar *packages[3];
} LibraryInfo;

static const LibraryInfo libraries[ME_DL_LIBRARY_COUNT] = {
    [ME_DL_LIBRARY_SECRET] = {{"libsecret-1.so.0"}, {"libsecret-1-0"}},
    [ME_DL_LIBRARY_OPENDKIM] = {{"libopendkim.so.11"}, {"libopendkim11"}},
    /* libnss3 needs libnssutil3 (PORT_*), libplc4, libplds4 and libnspr4 (PR_*): the dynamic
     * loader maps them as its dependencies; the two whose functions nssdb.c calls are named
     * so that a symbol is found in the library that defines it */
    [ME_DL_LIBRARY_NSS] = {{"libnss3.so", "libnssutil3.so", "libnspr4.so"}, {"libnss3", "libnss3", "libnspr4"}},
    /* the OpenSSL flavour, as the -dev package the build uses (libcurl4-openssl-dev) */
    [ME_DL_LIBRARY_CURL] = {{"libcurl.so.4"}, {"libcurl4"}},
    [ME_DL_LIBRARY_GMIME] = {{"libgmime-3.0.so.0"}, {"libgmime-3.0-0"}},
};

static GMutex load_mutex;
static gint opened[ME_DL_LIBRARY_COUNT];
static gpointer handles[ME_DL_LIBRARY_COUNT][G_N_ELEMENTS(libraries[0].sonames)];

/**
 * me_dl_library_get_soname:
 * @library: a library
 *
 * Returns: the soname that is opened first for @library, e.g. `libsecret-1.so.0`
 */
const gchar *
me_dl_library_get_soname(MeDlLibrary library)
{
	g_return_val_if_fail(library < ME_DL_LIBRARY_COUNT, NULL);
	return libraries[library].sonames[0];
}

/**
 * me_dl_is_loaded:
 * @library: a library
 *
 * Returns: %TRUE once @library has been opened in this process by me_dl_load()
 */
gboolean
me_dl_is_loaded(MeDlLibrary library)
{
	g_return_val_if_fail(library < ME_DL_LIBRARY_COUNT, FALSE);
	return g_atomic_int_get(&opened[library]) != 0;
}

static void
set_missing_error(GError **error, MeDlLibrary library, const gchar *soname, const gchar *package)
{
	switch (library) {
	case ME_DL_LIBRARY_SECRET:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: loading libsecret on first use failed; the first %s is its file name (libsecret-1.so.0), the second the Debian package that installs it */
			    _("The keyring library %s could not be loaded; install the package %s and try again."),
			    soname, package);
		break;
	case ME_DL_LIBRARY_OPENDKIM:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: loading libopendkim on first use failed; the first %s is its file name (libopendkim.so.11), the second the Debian package that installs it */
			    _("The DKIM library %s could not be loaded; install the package %s and try again."),
			    soname, package);
		break;
	case ME_DL_LIBRARY_CURL:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: loading libcurl (HTTPS and SMTP) on first use failed; the first %s is its file name (libcurl.so.4), the second the Debian package that installs it */
			    _("The network library %s could not be loaded; install the package %s and try again."),
			    soname, package);
		break;
	case ME_DL_LIBRARY_GMIME:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: loading GMime (the mail parser) on first use failed; the first %s is its file name (libgmime-3.0.so.0), the second the Debian package that installs it */
			    _("The mail library %s could not be loaded; install the package %s and try again."),
			    soname, package);
		break;
	case ME_DL_LIBRARY_NSS:
	case ME_DL_LIBRARY_COUNT:
	default:
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: loading NSS (the library of Thunderbird's certificate database) on first use failed; the first %s is its file name (libnss3.so), the second the Debian package that installs it */
			    _("The certificate database library %s could not be loaded; install the package %s and try again."),
			    soname, package);
		break;
	}
}

static const gchar *
soname_to_open(const gchar *soname)
{
#ifdef ME_TEST_HOOKS
	/* the test build only: MAILENROLL_TEST_DL_MISSING names sonames (comma-separated) that are
	 * opened under a name no system has, so the tests see a real dlopen() failure */
	const gchar *missing = g_getenv("MAILENROLL_TEST_DL_MISSING");
	if (missing != NULL) {
		g_auto(GStrv) names = g_strsplit(missing, ",", -1);
		if (g_strv_contains((const gchar *const *)names, soname))
			return "libmailenroll-test-missing.so.0";
	}
#endif
	return soname;
}

static gboolean
open_all(MeDlLibrary library, GError **error)
{
	const LibraryInfo *info = &libraries[library];

	if (g_atomic_int_get(&opened[library]))
		return TRUE;
	for (guint i = 0; i < G_N_ELEMENTS(info->sonames) && info->sonames[i] != NULL; i++) {
		if (handles[library][i] != NULL)
			continue;
		handles[library][i] = dlopen(soname_to_open(info->sonames[i]), RTLD_NOW | RTLD_LOCAL);
		if (handles[library][i] == NULL) {
			const gchar *why = dlerror();
			g_debug("dlopen %s: %s", info->sonames[i], why != NULL ? why : "?");
			set_missing_error(error, library, info->sonames[i], info->packages[i]);
			return FALSE;
		}
		g_debug("loaded %s", info->sonames[i]);
	}
	g_atomic_int_set(&opened[library], 1);
	return TRUE;
}

static gboolean
resolve_all(MeDlLibrary library, const MeDlSymbol *symbols, gsize n_symbols, GError **error)
{
	const LibraryInfo *info = &libraries[library];
	g_autofree gpointer *addresses = g_new0(gpointer, n_symbols);

	for (gsize s = 0; s < n_symbols; s++) {
		gpointer address = NULL;
		for (guint i = 0; i < G_N_ELEMENTS(info->sonames) && info->sonames[i] != NULL && address == NULL; i++)
			address = dlsym(handles[library][i], symbols[s].name);
		if (address == NULL) {
			/* an older or broken build of the library: the same advice as a missing one */
			g_debug("%s: no symbol %s", info->sonames[0], symbols[s].name);
			set_missing_error(error, library, info->sonames[0], info->packages[0]);
			return FALSE;
		}
		addresses[s] = address;
	}
	/* the last slot is set last: me_dl_load() takes it as the sign that all are */
	for (gsize s = 0; s < n_symbols; s++)
		g_atomic_pointer_set(symbols[s].slot, addresses[s]);
	return TRUE;
}

/**
 * me_dl_load:
 * @library: the library
 * @symbols: (array length=n_symbols): the functions to look up, each with the pointer to fill
 * @n_symbols: the number of @symbols, at least 1
 * @error: (nullable): return location for an #ME_ERROR
 *
 * Loads @library with `dlopen(RTLD_NOW | RTLD_LOCAL)` the first time it is called for it,
 * and fills every pointer of @symbols the first time it is called with them; later calls
 * return at once.  A table is a wrapper's static list, passed the same way every time; two
 * wrappers of one library (libcurl: http.c and smtp.c) each have their own.  Safe from any
 * thread; nothing is filled in unless every symbol was found.
 *
 * Returns: %TRUE when every symbol is set; %FALSE with %ME_ERROR_NOT_SUPPORTED and one
 *   sentence naming the library and its Debian package when it is missing or incomplete
 */
gboolean
me_dl_load(MeDlLibrary library, const MeDlSymbol *symbols, gsize n_symbols, GError **error)
{
	g_autoptr(GMutexLocker) locker = NULL;

	g_return_val_if_fail(library < ME_DL_LIBRARY_COUNT, FALSE);
	g_return_val_if_fail(symbols != NULL && n_symbols > 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (g_atomic_pointer_get(symbols[n_symbols - 1].slot) != NULL)
		return TRUE;
	locker = g_mutex_locker_new(&load_mutex);
	if (g_atomic_pointer_get(symbols[n_symbols - 1].slot) != NULL)
		return TRUE;
	return open_all(library, error) && resolve_all(library, symbols, n_symbols, error);
}
