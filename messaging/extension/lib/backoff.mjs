/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// Exponential back-off for reconnecting to the helper: the first retry comes quickly,
// each further one waits `factor` times longer, never more than `maxMs`. A little
// jitter keeps several Thunderbird windows or profiles from retrying in lockstep.
// Pure logic, no browser APIs: tests/extension/backoff.test.mjs runs it under node.

export class Backoff {
  /**
   * @param {object} [options]
   * @param {number} [options.initialMs=1000] the first delay
   * @param {number} [options.maxMs=300000] the cap (5 minutes)
   * @param {number} [options.factor=2] growth per attempt
   * @param {number} [options.jitter=0.1] +/- this fraction of the delay, 0 for none
   * @param {() => number} [options.random=Math.random] for tests
   */
  constructor({ initialMs = 1000, maxMs = 300000, factor = 2, jitter = 0.1, random = Math.random } = {}) {
    if (!(initialMs > 0) || !(maxMs >= initialMs) || !(factor >= 1) || !(jitter >= 0 && jitter < 1)) {
      throw new RangeError("invalid back-off parameters");
    }
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.random = random;
    this.attempts = 0;
  }

  /** The delay before the next attempt, in milliseconds; counts the attempt. */
  next() {
    // computed without Math.pow overflow: stop growing once the cap is reached
    let base = this.initialMs;
    for (let i = 0; i < this.attempts && base < this.maxMs; i++) {
      base *= this.factor;
    }
    base = Math.min(base, this.maxMs);
    this.attempts++;
    const spread = base * this.jitter;
    const delay = base - spread + 2 * spread * this.random();
    return Math.max(0, Math.min(this.maxMs, Math.round(delay)));
  }

  /** After a connection that worked: start again from the first delay. */
  reset() {
    this.attempts = 0;
  }
}
