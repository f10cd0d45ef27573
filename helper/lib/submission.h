/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* handing an approved reply to the configured submission server (RFC 6409): the [smtp]
 * group of the configuration, its password from the keyring, smtp.c for the wire */

#include <glib.h>

#include "mail.h"
#include "me-config.h"
#include "me-error.h"
#include "smtp.h"

G_BEGIN_DECLS

typedef struct _MeSubmission MeSubmission;

MeSubmission *
me_submission_new(const MeConfigSmtp *smtp, GError **error);
void
me_submission_free(MeSubmission *submission);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeSubmission, me_submission_free)

gboolean
me_submission_send(MeSubmission *submission,
		   const MeMailReply *fields,
		   GBytes *reply,
		   MeSmtpDataFunc on_data,
		   gpointer user_data,
		   GError **error);

G_END_DECLS
