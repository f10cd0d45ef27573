/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// Which challenge mails the extension has already handed to the helper and got a
// verdict for, by Message-ID (Thunderbird's headerMessageId). The first sync of a
// profile and the start-up scan report old mail again, and the same mail can sit in two
// folders; each gets inspected once. (The helper itself never answers a challenge twice,
// across restarts; this only saves work and repeated questions.) The set is bounded in
// size and age and persisted as plain JSON in storage.local. Pure logic, tested by
// tests/extension/dedup.test.mjs.

export const DEFAULT_LIMIT = 500;
export const DEFAULT_MAX_AGE_MS = 60 * 24 * 3600 * 1000;
const MAX_ID_LENGTH = 998;

/** "<a@b>" and "a@b" are the same Message-ID; null for nothing usable. */
export function normalizeMessageId(id) {
  if (typeof id !== "string") {
    return null;
  }
  let s = id.trim();
  if (s.startsWith("<") && s.endsWith(">")) {
    s = s.slice(1, -1).trim();
  }
  if (s === "" || s.length > MAX_ID_LENGTH || /[\s\0]/.test(s)) {
    return null;
  }
  return s;
}

export class SeenMessages {
  /**
   * @param {object} [options]
   * @param {number} [options.limit] entries kept; the oldest go first
   * @param {number} [options.maxAgeMs] entries older than this go on prune()
   * @param {() => number} [options.now]
   */
  constructor({ limit = DEFAULT_LIMIT, maxAgeMs = DEFAULT_MAX_AGE_MS, now = () => Date.now() } = {}) {
    if (!(limit >= 1)) {
      throw new RangeError("limit must be at least 1");
    }
    this.limit = Math.floor(limit);
    this.maxAgeMs = maxAgeMs;
    this.now = now;
    // insertion order is age order: Map keeps it
    this._map = new Map();
  }

  get size() {
    return this._map.size;
  }

  has(messageId) {
    const id = normalizeMessageId(messageId);
    return id !== null && this._map.has(id);
  }

  /** The recorded outcome, or undefined. */
  get(messageId) {
    const id = normalizeMessageId(messageId);
    const e = id === null ? undefined : this._map.get(id);
    return e ? e.outcome : undefined;
  }

  /**
   * Records a verdict; returns false for an unusable id. Adding an id again moves it
   * to the young end.
   */
  add(messageId, outcome = "seen") {
    const id = normalizeMessageId(messageId);
    if (id === null) {
      return false;
    }
    this._map.delete(id);
    this._map.set(id, { t: this.now(), outcome: String(outcome) });
    while (this._map.size > this.limit) {
      this._map.delete(this._map.keys().next().value);
    }
    return true;
  }

  delete(messageId) {
    const id = normalizeMessageId(messageId);
    return id !== null && this._map.delete(id);
  }

  /** Drops entries older than maxAgeMs; returns how many went. */
  prune() {
    const cutoff = this.now() - this.maxAgeMs;
    let n = 0;
    for (const [id, e] of this._map) {
      if (e.t < cutoff) {
        this._map.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Plain data for storage.local: [[id, time, outcome], ...], oldest first. */
  toJSON() {
    return [...this._map].map(([id, e]) => [id, e.t, e.outcome]);
  }

  /** Rebuilds from toJSON() output; skips malformed entries. */
  static fromJSON(data, options = {}) {
    const set = new SeenMessages(options);
    if (Array.isArray(data)) {
      const rows = data
        .filter(r => Array.isArray(r) && normalizeMessageId(r[0]) !== null && Number.isFinite(r[1]))
        .sort((a, b) => a[1] - b[1]);
      for (const [id, t, outcome] of rows) {
        const key = normalizeMessageId(id);
        set._map.delete(key);
        set._map.set(key, { t, outcome: typeof outcome === "string" ? outcome : "seen" });
      }
      while (set._map.size > set.limit) {
        set._map.delete(set._map.keys().next().value);
      }
    }
    set.prune();
    return set;
  }
}
