/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The message display action's popup: why mailenroll did not answer a mail that looks
// like a certificate challenge (it failed the helper's checks).

import { ask, localize } from "./i18n.js";

async function main() {
  localize();
  document.getElementById("open").addEventListener("click", () => {
    browser.runtime.openOptionsPage();
    window.close();
  });
  let warning = null;
  try {
    const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
    warning = tab ? await ask("warning.get", { tabId: tab.id }) : null;
  } catch (e) {
    warning = null;
  }
  if (!warning) {
    document.getElementById("none").hidden = false;
    return;
  }
  document.getElementById("reason").textContent = warning.message || warning.reason;
  document.getElementById("from").textContent = warning.author;
  document.getElementById("mailbox").textContent = warning.mailbox;
  document.getElementById("warning").hidden = false;
}

main();
