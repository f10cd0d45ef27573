/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the configuration methods of mailenroll-helper: config.get, config.set, ca.add, ca.agree
 * and ca.eab (messaging/PROTOCOL.md §9) */

#include "rpc-server.h"

G_BEGIN_DECLS

void
me_host_config_register_methods(MeRpcServer *server);

G_END_DECLS
