/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* a real Thunderbird for the tests: Debian's package started headless in a home folder of
 * the test's own, in a process group of its own; it dies with the test */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MeTestThunderbird MeTestThunderbird;

const gchar *
me_test_thunderbird_base_prefs(void);
gchar *
me_test_thunderbird_make_profile(const gchar *parent, const gchar *name, const gchar *extra_user_js);
MeTestThunderbird *
me_test_thunderbird_start(const gchar *home, const gchar *profile, GError **error);
GPid
me_test_thunderbird_get_pid(MeTestThunderbird *tb);
const gchar *
me_test_thunderbird_get_profile(MeTestThunderbird *tb);
gchar *
me_test_thunderbird_get_log(MeTestThunderbird *tb);
void
me_test_thunderbird_stop(MeTestThunderbird *tb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeTestThunderbird, me_test_thunderbird_stop)

G_END_DECLS
