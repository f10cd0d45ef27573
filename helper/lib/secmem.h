/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* a NUL-terminated string that held a secret (PEM, key material, password): wiped when freed */
typedef gchar MeSecretStr;

void
me_secure_wipe(gpointer data, gsize len);
void
me_secure_free(gpointer data, gsize len);
void
me_secret_str_free(MeSecretStr *str);
GBytes *
me_secure_bytes_new(gconstpointer data, gsize len);
GBytes *
me_secure_bytes_new_take(gpointer data, gsize len);
gboolean
me_memeq_ct(gconstpointer a, gsize a_len, gconstpointer b, gsize b_len);
gboolean
me_streq_ct(const gchar *a, const gchar *b);
MeSecretStr *
me_secret_str_read_fd(gint fd, gsize max, gboolean line, gint *errnum);
gboolean
me_secure_harden_process(GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeSecretStr, me_secret_str_free)

G_END_DECLS
