/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the libraries that only some jobs need (NSS, libopendkim, libsecret, libcurl, GMime), loaded
 * with dlopen() on first use instead of at every start; each wrapper lists the functions it
 * calls (CONTRIBUTING.md, "A library loaded on first use") */

#include <glib.h>

G_BEGIN_DECLS

/**
 * MeDlLibrary:
 * @ME_DL_LIBRARY_SECRET: libsecret, for keyring.c
 * @ME_DL_LIBRARY_OPENDKIM: libopendkim, for dkim.c
 * @ME_DL_LIBRARY_NSS: NSS with NSPR, for nssdb.c
 * @ME_DL_LIBRARY_CURL: libcurl, for http.c and smtp.c
 * @ME_DL_LIBRARY_GMIME: GMime, for mail.c
 *
 * A library loaded on first use.
 */
typedef enum {
	ME_DL_LIBRARY_SECRET,
	ME_DL_LIBRARY_OPENDKIM,
	ME_DL_LIBRARY_NSS,
	ME_DL_LIBRARY_CURL,
	ME_DL_LIBRARY_GMIME,
	ME_DL_LIBRARY_COUNT,
} MeDlLibrary;

/**
 * MeDlSymbol:
 * @name: the function's name in the library
 * @slot: where its address is stored
 *
 * One function a wrapper calls through a pointer.
 */
typedef struct {
	const gchar *name;
	gpointer *slot;
} MeDlSymbol;

/* for an X-macro list of names: `static __typeof__(name) *sym_name;` for each, with the type
 * the library's header declares, so every call through the pointer is type-checked */
#define ME_DL_DECLARE(name) static __typeof__(name) *sym_##name;
/* for an X-macro list of names: one MeDlSymbol row for each */
#define ME_DL_ROW(name) {#name, (gpointer *)&sym_##name},

gboolean
me_dl_load(MeDlLibrary library, const MeDlSymbol *symbols, gsize n_symbols, GError **error);
gboolean
me_dl_is_loaded(MeDlLibrary library);
const gchar *
me_dl_library_get_soname(MeDlLibrary library);

G_END_DECLS
