/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The helper's `prompt` request (messaging/PROTOCOL.md §8): a popup window
// (pages/prompt.html) names the CA, the sender, the mailbox and how the mail was
// authenticated and offers Approve and Decline; the answer is the request's result.
// Closing the window without deciding answers with an error, which approves nothing
// and declines nothing: the same mail is asked about again later.

import { EXTENSION_ERRORS, RpcError } from "../lib/jsonrpc.mjs";

const MAX_OPEN = 8;

function str(v, max = 1024) {
  return typeof v === "string" ? v.slice(0, max) : "";
}

export class Prompts {
  constructor({ log, onChange } = {}) {
    this.log = log || (() => {});
    this.onChange = onChange || (() => {});
    this._open = new Map(); // key -> {details, resolve, reject, windowId}
  }

  get count() {
    return this._open.size;
  }

  /** Shows the question; resolves with {approve} or rejects with an RpcError. */
  async ask(params) {
    if (this._open.size >= MAX_OPEN) {
      throw new RpcError(EXTENSION_ERRORS.BUSY, "Too many questions are open at once.", { name: "busy" });
    }
    const p = params && typeof params === "object" ? params : {};
    const details = {
      mailbox: str(p.mailbox, 320),
      ca: str(p.ca, 256),
      from: str(p.from, 320),
      auth: str(p.auth, 64),
      question: str(p.question, 2048),
      at: Date.now(),
    };
    if (!details.mailbox || !details.from) {
      throw new RpcError(EXTENSION_ERRORS.INVALID_PARAMS, "The prompt lacks the mailbox or the sender.", { name: "invalid-params" });
    }
    const key = crypto.randomUUID();
    const answer = new Promise((resolve, reject) => {
      this._open.set(key, { details, resolve, reject, windowId: null });
    });
    try {
      const win = await browser.windows.create({
        type: "popup",
        url: browser.runtime.getURL(`pages/prompt.html?key=${encodeURIComponent(key)}`),
        width: 560,
        height: 520,
        allowScriptsToClose: true,
      });
      const entry = this._open.get(key);
      if (entry) {
        entry.windowId = win.id;
      }
      this.log("prompt window opened for", details.mailbox);
    } catch (e) {
      this._finish(key, null, new RpcError(EXTENSION_ERRORS.INTERNAL, `The question could not be shown: ${e.message}`, { name: "internal-error" }));
    }
    this.onChange();
    return answer;
  }

  /** For the prompt page. */
  details(key) {
    const entry = this._open.get(key);
    if (entry && !entry.shown) {
      // the page asks once it is loaded: from here on the person sees the question
      entry.shown = true;
      this.log("prompt shown for", entry.details.mailbox);
    }
    return entry ? entry.details : null;
  }

  /** The person decided. */
  answer(key, approve) {
    const entry = this._open.get(key);
    if (!entry) {
      return false;
    }
    this.log("prompt answered for", entry.details.mailbox, ":", approve === true ? "approve" : "decline");
    this._finish(key, { approve: approve === true });
    if (entry.windowId !== null) {
      browser.windows.remove(entry.windowId).catch(() => {});
    }
    return true;
  }

  onWindowRemoved(windowId) {
    for (const [key, entry] of this._open) {
      if (entry.windowId === windowId) {
        this._finish(
          key,
          null,
          new RpcError(EXTENSION_ERRORS.DISMISSED, "The question was closed without an answer; the mail will be asked about again.", {
            name: "dismissed",
          })
        );
      }
    }
  }

  /** The helper went away: nobody can receive an answer any more. */
  cancelAll(reason) {
    for (const [key, entry] of [...this._open]) {
      this._finish(key, null, new RpcError(EXTENSION_ERRORS.DISMISSED, reason || "cancelled", { name: "dismissed" }));
      if (entry.windowId !== null) {
        browser.windows.remove(entry.windowId).catch(() => {});
      }
    }
  }

  _finish(key, result, error) {
    const entry = this._open.get(key);
    if (!entry) {
      return;
    }
    this._open.delete(key);
    if (error) {
      entry.reject(error);
    } else {
      entry.resolve(result);
    }
    this.onChange();
  }
}
