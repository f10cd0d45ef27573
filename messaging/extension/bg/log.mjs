/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// The background's log: each line goes to the console as `[mailenroll] ...` (Thunderbird
// prints it on stdout with devtools.console.stdout.content) and the last lines also stay
// in memory, for the tests' view of the background.

export const KEEP_LINES = 200;

export class Log {
  /**
   * @param {object} [options]
   * @param {number} [options.keep] lines kept in memory
   * @param {{log: Function}} [options.console] where the lines go
   * @param {() => Date} [options.now]
   */
  constructor({ keep = KEEP_LINES, console: sink = console, now = () => new Date() } = {}) {
    this.keep = keep;
    this.lines = [];
    // a bound function: the other modules get `log` itself
    this.write = (...args) => {
      sink.log("[mailenroll]", ...args);
      this.lines.push(`${now().toISOString()} ${args.map(a => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`);
      if (this.lines.length > this.keep) {
        this.lines.shift();
      }
    };
  }

  /** The last `n` lines, oldest first. */
  tail(n) {
    return this.lines.slice(-n);
  }
}
