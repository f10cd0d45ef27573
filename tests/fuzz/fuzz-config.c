/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeFuzzConfig"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "me-config.h"

/* the input is the system configuration file, then a NUL byte and the user's file (none
 * when there is no NUL), loaded as me_config_load() loads the two files: a configuration
 * whose every diagnostic is a sentence, or one error sentence naming the file */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_sentence(const gchar *text)
{
	gsize len = strlen(text);

	g_assert_true(len > 1);
	g_assert_true(g_utf8_validate(text, -1, NULL));
	g_assert_true(text[len - 1] == '.');
}

static void
check_config(const MeConfig *config)
{
	const GPtrArray *diagnostics = me_config_get_diagnostics(config);
	const GPtrArray *cas = me_config_list_cas(config);
	const MeConfigGeneral *general = me_config_get_general(config);

	for (guint i = 0; i < diagnostics->len; i++)
		check_sentence(g_ptr_array_index(diagnostics, i));
	for (guint i = 0; i < cas->len; i++) {
		const MeCaProfile *ca = g_ptr_array_index(cas, i);
		g_assert_nonnull(me_config_get_ca(config, ca->name));
	}
	if (general->default_ca != NULL)
		g_assert_nonnull(me_config_get_ca(config, general->default_ca));
	g_assert_nonnull(me_config_get_smtp(config));
	g_assert_nonnull(me_config_get_state_dir(config));
	(void)me_config_is_locked(config, "general", "default-ca");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	gsize system_len = nul != NULL ? (gsize)(nul - data) : size;
	g_autoptr(GBytes) system = g_bytes_new(data, system_len);
	g_autoptr(GBytes) user = nul != NULL ? g_bytes_new(nul + 1, size - system_len - 1) : NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MeConfig) config = me_config_load_from_data("/etc/mailenroll/mailenroll.conf", system,
							      "/home/fuzz/.config/mailenroll/mailenroll.conf", user,
							      &error);

	g_assert_true((config == NULL) == (error != NULL));
	if (config != NULL)
		check_config(config);
	else
		check_sentence(error->message);
	return 0;
}
