/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

/* `mailenroll doctor`: a self-check of everything an enrollment needs (the configuration,
 * each CA's directory, the keyring, DNS, the native-messaging host registration and the
 * Thunderbird profile), one line per result, or a JSON array with --json */

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/**
 * MeDoctorOptions:
 * @ca_name: (nullable): check only this [ca NAME]; %NULL for every CA of the configuration
 * @json: print a JSON array of `{"check", "status", "message"}` objects instead of lines
 * @nmhostdir: the folder of the system native-messaging host manifests (NMHOSTDIR)
 * @out: where the report goes; the command line passes stdout (no file but cli.c picks
 *   stdout: in mailenroll-helper it is the native-messaging wire)
 *
 * What `mailenroll doctor` checks and how it reports.
 */
typedef struct {
	const gchar *ca_name;
	gboolean json;
	const gchar *nmhostdir;
	FILE *out;
} MeDoctorOptions;

gint
me_doctor_run(const MeDoctorOptions *opts);

G_END_DECLS
