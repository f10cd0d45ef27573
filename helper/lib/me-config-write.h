/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* changes to the user's configuration file, made as a person would make them in
 * an editor: the lines of the keys changed and nothing else, so comments, blank
 * lines, order and every other key stay; refused before anything is written
 * when the administrator's [policy] locks a key, and written atomically */

#include <glib.h>

#include "me-config.h"
#include "me-error.h"

G_BEGIN_DECLS

/**
 * MeConfigEdit:
 * @group: `general` or `ca NAME`
 * @key: a key mailenroll reads in @group
 * @value: (nullable): the new value as the file spells it; %NULL removes the
 * user's value
 *
 * One change of a key of the user's file.
 */
typedef struct {
	const gchar *group;
	const gchar *key;
	const gchar *value;
} MeConfigEdit;

gboolean
me_config_write(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error);
gboolean
me_config_write_check(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error);
gboolean
me_config_write_check_locks(const MeConfig *config, const MeConfigEdit *edits, gsize n_edits, GError **error);
gchar *
me_config_write_edit_text(const gchar *text, const MeConfigEdit *edits, gsize n_edits);

G_END_DECLS
