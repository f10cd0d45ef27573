/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

const gchar *
me_test_keyring_start(void);
void
me_test_keyring_stop(void);
void
me_test_keyring_lock(void);

G_END_DECLS
