/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "rpc-server.h"

G_BEGIN_DECLS

/* the environment variable that turns the test control socket on (tests only) */
#define ME_HOST_TEST_CONTROL_ENV "MAILENROLL_TEST_CONTROL"

typedef struct _MeHostTestControl MeHostTestControl;

MeHostTestControl *
me_host_test_control_start(MeRpcServer *server, const gchar *path, GError **error);
void
me_host_test_control_free(MeHostTestControl *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeHostTestControl, me_host_test_control_free)

G_END_DECLS
