/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The desktop notifications: one per event and mailbox (a newer one replaces the older),
// and a click on one opens the options page.

import { errorText } from "./text.mjs";

const PREFIX = "mailenroll-";

/** The notification id for `id` (an event and a mailbox): ours, and safe as an id. */
export function notificationId(id) {
  return `${PREFIX}${id}`.replace(/[^A-Za-z0-9@._-]/g, "_").slice(0, 200);
}

export class Notifier {
  /**
   * @param {object} [options]
   * @param {(...args: any[]) => void} [options.log]
   */
  constructor({ log = () => {} } = {}) {
    this.log = log;
    // a bound function: the other modules get `notify` itself
    this.notify = (id, title, message) => {
      browser.notifications
        .create(notificationId(id), {
          type: "basic",
          title: String(title).slice(0, 200),
          message: String(message).slice(0, 1000),
          iconUrl: browser.runtime.getURL("icons/mailenroll.svg"),
        })
        .catch(e => this.log("notification failed:", errorText(e)));
    };
  }

  /** notifications.onClicked */
  onClicked(id) {
    if (typeof id === "string" && id.startsWith(PREFIX)) {
      browser.runtime.openOptionsPage().catch(() => {});
      browser.notifications.clear(id).catch(() => {});
    }
  }
}
