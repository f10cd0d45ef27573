/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// Running the background's work: one job after another, and a deadline for browser
// calls that may never settle.

/** Runs jobs one after another: the helper works on one enrollment at a time. */
export class Serial {
  constructor() {
    this.tail = Promise.resolve();
  }

  /** Runs `fn` once every job queued before it has settled; a failed job does not stop the queue. */
  run(fn) {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => {});
    return p;
  }
}

/** `promise`, or a rejection with Error(message) after `ms`. */
export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
