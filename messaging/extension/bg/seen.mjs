/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// The challenge mails already inspected (lib/dedup.mjs), kept in storage.local: the mail
// watcher marks each with its outcome, the reply sender forgets one whose reply did not
// leave, a new request forgets those that matched no enrollment.

import { SeenMessages } from "../lib/dedup.mjs";
import { KEYS, load, save } from "./store.mjs";

export class SeenStore {
  constructor() {
    this.messages = new SeenMessages();
  }

  /** Reads what storage.local holds; the background awaits it before any event. */
  async load() {
    this.messages = SeenMessages.fromJSON(await load(KEYS.seen, []));
  }

  has(headerMessageId) {
    return this.messages.has(headerMessageId);
  }

  /** Records the outcome of inspecting a mail, and saves. */
  async mark(headerMessageId, outcome) {
    this.messages.add(headerMessageId, outcome);
    await save(KEYS.seen, this.messages.toJSON());
  }

  /** The mail is to be inspected again; saves. */
  async forget(headerMessageId) {
    this.messages.delete(headerMessageId);
    await save(KEYS.seen, this.messages.toJSON());
  }

  /**
   * Forgets every mail recorded with `outcome`, in memory only: the next mark() saves
   * (a new request makes mail that matched no enrollment worth another look).
   */
  forgetOutcome(outcome) {
    for (const [id, , recorded] of this.messages.toJSON()) {
      if (recorded === outcome) {
        this.messages.delete(id);
      }
    }
  }
}
