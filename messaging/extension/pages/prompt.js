/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// The approval question for one challenge mail (bg/prompts.mjs opens this window for
// the helper's `prompt` request). Approve and Decline answer it; closing the window
// answers nothing, and the mail is asked about again later.

/* global browser */

import { _, ask, authName, localize } from "./i18n.js";

const key = new URLSearchParams(location.search).get("key") || "";

function showGone() {
  document.getElementById("question").hidden = true;
  document.getElementById("gone").hidden = false;
  document.getElementById("close").focus();
}

async function answer(approve) {
  for (const b of document.querySelectorAll("button")) {
    b.disabled = true;
  }
  try {
    const ok = await ask("prompt.answer", { key, approve });
    if (!ok) {
      showGone();
      return;
    }
  } catch (e) {
    showGone();
    return;
  }
  window.close();
}

async function main() {
  localize();
  document.getElementById("close").addEventListener("click", () => window.close());
  let details = null;
  try {
    details = await ask("prompt.get", { key });
  } catch (e) {
    details = null;
  }
  if (!details) {
    showGone();
    return;
  }
  document.title = _("promptWindowTitle");
  document.getElementById("lead").textContent = _("promptLead", [details.ca || _("promptCaUnnamed"), details.mailbox]);
  document.getElementById("ca").textContent = details.ca || _("promptCaUnnamed");
  document.getElementById("from").textContent = details.from;
  document.getElementById("mailbox").textContent = details.mailbox;
  document.getElementById("auth").textContent = authName(details.auth);
  document.getElementById("approve").addEventListener("click", () => answer(true));
  document.getElementById("decline").addEventListener("click", () => answer(false));
  document.addEventListener("keydown", ev => {
    if (ev.key === "Escape") {
      window.close();
    }
  });
  // ME_TEST_HOOKS begin
  // an automated test's click (bg/testcontrol.mjs), on the same buttons; a release .xpi has
  // none of this (messaging/make-xpi.py)
  browser.runtime.onMessage.addListener(msg => {
    if (msg && msg.source === "mailenroll-background" && msg.type === "test.click") {
      const button = document.getElementById(msg.button === "approve" ? "approve" : "decline");
      if (!button.disabled) {
        button.click();
      }
    }
  });
  // ME_TEST_HOOKS end
  document.getElementById("question").hidden = false;
  // no default button: approving takes a deliberate click
  document.getElementById("decline").focus();
}

main();
