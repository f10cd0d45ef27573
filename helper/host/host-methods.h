/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "rpc-server.h"

G_BEGIN_DECLS

void
me_host_register_methods(MeRpcServer *server);

G_END_DECLS
