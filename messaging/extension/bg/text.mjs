/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The sentences the background shows: a message of _locales/ by name, and an error's text.

/** The message `name` of the person's locale, with substitutions; the name when there is none. */
export const _ = (name, subs) => browser.i18n.getMessage(name, subs) || name;

/** The text of an error (or of anything thrown); "" for nothing. */
export function errorText(e) {
  if (!e) {
    return "";
  }
  return e.message ? String(e.message) : String(e);
}
