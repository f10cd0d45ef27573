/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The person's identities, from every account: whose mail is never a challenge, which
// identity sends a reply, which identities get a certificate.

import { errorText } from "./text.mjs";

/**
 * Every identity of every account, as plain objects; [] when the accounts cannot be listed.
 *
 * @param {object} [options]
 * @param {object} [options.accounts] the accounts API (list)
 * @param {(...args: any[]) => void} [options.log]
 * @returns {Promise<Array<{id: string, email: string, name: string, label: string, accountId: string, accountName: string}>>}
 */
export async function listIdentities({ accounts = browser.accounts, log = () => {} } = {}) {
  const out = [];
  try {
    for (const account of await accounts.list(false)) {
      for (const identity of account.identities || []) {
        out.push({
          id: identity.id,
          email: identity.email,
          name: identity.name || "",
          label: identity.label || "",
          accountId: account.id,
          accountName: account.name,
        });
      }
    }
  } catch (e) {
    log("accounts.list failed:", errorText(e));
  }
  return out;
}
