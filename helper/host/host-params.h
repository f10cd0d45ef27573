/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* the members of a request's params object, checked the same way for every method */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean
me_host_param_string(JsonObject *params,
		     const gchar *name,
		     gboolean required,
		     const gchar **out,
		     gboolean *present,
		     GError **error);
gboolean
me_host_param_bool(JsonObject *params, const gchar *name, gboolean *out, GError **error);

G_END_DECLS
