/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* the members of a request's params object: a missing required one, or one of the wrong
 * type, is one sentence that names it (the add-on is older or newer than the helper) */

#define G_LOG_DOMAIN "MeHost"

#include "config.h"

#include "host-params.h"

#include <glib/gi18n-lib.h>

#include "me-error.h"

/**
 * me_host_param_string:
 * @params: (nullable): the request's params object
 * @name: the member
 * @required: whether it must be there (null counts as missing)
 * @out: (out) (transfer none): the string, or %NULL when it is missing or null
 * @present: (out) (optional): whether the member was given at all, null included
 * @error: return location for a #GError
 *
 * Returns: %FALSE with @error set when a required member is missing or the member is not
 *   a string
 */
gboolean
me_host_param_string(JsonObject *params,
		     const gchar *name,
		     gboolean required,
		     const gchar **out,
		     gboolean *present,
		     GError **error)
{
	JsonNode *node = params != NULL ? json_object_get_member(params, name) : NULL;

	*out = NULL;
	if (present != NULL)
		*present = node != NULL;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		if (!required)
			return TRUE;
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: a request from the extension lacks a parameter; %s is its name */
			    _("The request lacks “%s”; update the mailenroll add-on."), name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: a parameter of a request has the wrong type; %s is its name */
			    _("The request's “%s” must be a string; update the mailenroll add-on."), name);
		return FALSE;
	}
	*out = json_node_get_string(node);
	return TRUE;
}

/**
 * me_host_param_bool:
 * @params: (nullable): the request's params object
 * @name: the member
 * @out: (inout): left as it is when the member is missing or null
 * @error: return location for a #GError
 *
 * Returns: %FALSE with @error set when the member is not a boolean
 */
gboolean
me_host_param_bool(JsonObject *params, const gchar *name, gboolean *out, GError **error)
{
	JsonNode *node = params != NULL ? json_object_get_member(params, name) : NULL;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
		g_set_error(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
			    /* TRANSLATORS: a parameter of a request has the wrong type; %s is its name */
			    _("The request's “%s” must be true or false; update the mailenroll add-on."), name);
		return FALSE;
	}
	*out = json_node_get_boolean(node);
	return TRUE;
}
