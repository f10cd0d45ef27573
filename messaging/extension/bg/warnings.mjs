/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Warnings on messages: a challenge mail the helper will not answer for a reason the
// person should see (unauthenticated, stale, from-mismatch, ...) is remembered by
// Message-ID (KEYS.warnings), a notification says so, and while the mail is displayed the
// message display action turns into a "!" whose popup (pages/warning.html) gives the
// helper's sentence.

import { withTimeout } from "./jobs.mjs";
import { listMessages } from "./messages.mjs";
import { KEYS, boundMap, load, save } from "./store.mjs";
import { _, errorText } from "./text.mjs";

export const MAX_WARNINGS = 100;

/** The warning for the first of `messages` that has one, or null. */
export function warningFor(messages, warnings) {
  return messages.map(m => warnings[m.headerMessageId]).find(Boolean) || null;
}

export class MessageWarnings {
  /**
   * @param {object} options
   * @param {(id: string, title: string, message: string) => void} options.notify
   * @param {(...args: any[]) => void} [options.log]
   */
  constructor({ notify, log = () => {} }) {
    this.notify = notify;
    this.log = log;
    // tab id -> the warning of the message it displays, or null
    this.tabs = new Map();
  }

  /** At start-up: the action is off until a tab displays a message with a warning. */
  async reset() {
    try {
      await withTimeout(browser.messageDisplayAction.disable(), 2000, "messageDisplayAction.disable() did not settle");
    } catch (e) {
      this.log("start-up:", errorText(e));
    }
  }

  /**
   * The helper will not answer `message` for the mailbox, for the reason in `verdict`
   * (lib/challenge.mjs classifyVerdict): remember it and tell the person.
   */
  async add(message, mailbox, verdict) {
    const warnings = await load(KEYS.warnings, {});
    warnings[message.headerMessageId] = {
      mailbox,
      reason: verdict.reason,
      message: verdict.message,
      author: message.author || "",
      subject: message.subject || "",
      at: Date.now(),
    };
    await save(KEYS.warnings, boundMap(warnings, MAX_WARNINGS));
    this.notify(
      `warning-${message.headerMessageId}`,
      _("notifyWarningTitle"),
      _("notifyWarningBody", [message.author || "?", mailbox, verdict.message || verdict.reason])
    );
  }

  /** How many messages have a warning (for the tests' view of the background). */
  async count() {
    return Object.keys(await load(KEYS.warnings, {})).length;
  }

  /** The warning of the message `tabId` displays, for the popup; null for none. */
  forTab(tabId) {
    return this.tabs.get(tabId) || null;
  }

  /** messageDisplay.onMessagesDisplayed: the action button turns into a warning sign. */
  async onMessagesDisplayed(tab, displayed) {
    let messages = [];
    try {
      messages = await listMessages(displayed);
    } catch (e) {
      return;
    }
    const hit = warningFor(messages, await load(KEYS.warnings, {}));
    this.tabs.set(tab.id, hit);
    try {
      if (hit) {
        await browser.messageDisplayAction.enable(tab.id);
        await browser.messageDisplayAction.setTitle({ tabId: tab.id, title: _("warningActionTitle") });
        await browser.messageDisplayAction.setBadgeText({ tabId: tab.id, text: "!" });
        await browser.messageDisplayAction.setBadgeBackgroundColor({ tabId: tab.id, color: "#d70022" });
      } else {
        await browser.messageDisplayAction.setBadgeText({ tabId: tab.id, text: "" });
        await browser.messageDisplayAction.disable(tab.id);
      }
    } catch (e) {
      this.log("message display action:", errorText(e));
    }
  }
}
