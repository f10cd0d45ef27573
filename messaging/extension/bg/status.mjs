/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// What the background knows of the helper's enrollments: the last `status` result (or
// why there is none), the helper's `progress` events by mailbox, and whether an `enroll`
// call is under way (while one is, a mail that matches no enrollment may still be its
// challenge). Every change is announced to the pages.

import { errorText } from "./text.mjs";

export class Status {
  /**
   * @param {object} options
   * @param {{call: (method: string, params: object) => Promise<any>}} options.helper
   * @param {(msg: object) => void} [options.broadcast] tells the open pages
   */
  constructor({ helper, broadcast = () => {} }) {
    this.helper = helper;
    this.broadcast = broadcast;
    // the last status' enrollments; kept when a later status call fails
    this.enrollments = [];
    // why the last status call failed, or null
    this.error = null;
    // lower-case mailbox -> the last progress event
    this.progress = new Map();
    this.enrollCallsInFlight = 0;
  }

  /** Asks the helper for `status`; resolves with the enrollments (the last known on failure). */
  async refresh() {
    try {
      const result = await this.helper.call("status", {});
      this.enrollments = result && Array.isArray(result.enrollments) ? result.enrollments : [];
      this.error = null;
    } catch (e) {
      this.error = errorText(e);
    }
    this.broadcast({ type: "changed" });
    return this.enrollments;
  }

  /**
   * Whether the enrollments are all there are: the last status call worked and no
   * enroll call is under way that may add one.
   */
  get complete() {
    return this.error === null && this.enrollCallsInFlight === 0;
  }

  /** Runs `fn` (an enroll call) and counts it as under way until it settles. */
  async whileEnrolling(fn) {
    this.enrollCallsInFlight++;
    try {
      return await fn();
    } finally {
      this.enrollCallsInFlight--;
    }
  }

  /** The enrollment of `mailbox` (any case), or undefined. */
  find(mailbox) {
    const want = String(mailbox).toLowerCase();
    return this.enrollments.find(x => x && typeof x.mailbox === "string" && x.mailbox.toLowerCase() === want);
  }

  /** The helper's `progress` notification; anything malformed is ignored. */
  onProgress(params) {
    if (!params || typeof params.mailbox !== "string") {
      return;
    }
    const entry = {
      mailbox: params.mailbox,
      step: typeof params.step === "string" ? params.step : "",
      message: typeof params.message === "string" ? params.message.slice(0, 1024) : "",
      at: Date.now(),
    };
    this.progress.set(params.mailbox.toLowerCase(), entry);
    this.broadcast({ type: "progress", progress: entry });
  }

  /** The progress events as plain data, for the pages. */
  progressView() {
    return Object.fromEntries(this.progress);
  }
}
