/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Entry point of the background (an ES module; manifest.json "background"). In Manifest
// V3 the background is an event page: every listener is added here, synchronously, at
// the top level, so that Thunderbird can wake the page for it. While the port to the
// helper is open, Thunderbird keeps the page running.

import { App } from "./bg/app.mjs";

const app = new App();

// new mail in any folder but Sent, Drafts, Templates, Outbox and Trash: a server-side
// filter may have put the challenge into another folder (or Junk)
try {
  browser.messages.onNewMailReceived.addListener((folder, list) => app.init().then(() => app.mail.onNewMail(folder, list)), true);
} catch (e) {
  // a Thunderbird without the monitorAllFolders parameter: Inbox only
  browser.messages.onNewMailReceived.addListener((folder, list) => app.init().then(() => app.mail.onNewMail(folder, list)));
}
browser.runtime.onMessage.addListener((msg, sender) => app.pages.onMessage(msg, sender));
browser.windows.onRemoved.addListener(windowId => app.prompts.onWindowRemoved(windowId));
browser.messageDisplay.onMessagesDisplayed.addListener((tab, displayed) => app.init().then(() => app.warnings.onMessagesDisplayed(tab, displayed)));
browser.notifications.onClicked.addListener(id => app.notifier.onClicked(id));
browser.compose.onAfterSend.addListener((tab, sendInfo) => app.init().then(() => app.replies.onAfterSend(tab, sendInfo)));
browser.alarms.onAlarm.addListener(alarm => app.onAlarm(alarm));
browser.action.onClicked.addListener(() => browser.runtime.openOptionsPage());
browser.runtime.onStartup.addListener(() => app.start());
browser.runtime.onInstalled.addListener(() => app.start());

app.start().catch(e => console.error("[mailenroll] start-up failed:", e));
