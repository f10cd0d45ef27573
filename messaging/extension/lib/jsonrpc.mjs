/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

// A JSON-RPC 2.0 peer over any message transport (messaging/PROTOCOL.md §3): requests
// with ids and per-request timeouts, notifications, and the other side's own requests
// (the helper's `prompt`) and notifications (`progress`). It knows nothing about
// Thunderbird: `send` is the only way out, handleMessage() the only way in, so node can
// test it (tests/extension/jsonrpc.test.mjs) and background code wires it to a
// runtime.Port. One peer lives exactly as long as one connection; close() rejects what
// is still waiting.

/** An error answer from the other side: `code`, `message`, `data` as sent. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(typeof message === "string" && message ? message : `JSON-RPC error ${code}`);
    this.name = "RpcError";
    this.code = code;
    this.data = data === undefined ? null : data;
  }

  /** The stable name from `data.name` (PROTOCOL.md §7), or null. */
  get errorName() {
    return this.data && typeof this.data === "object" && typeof this.data.name === "string" ? this.data.name : null;
  }
}

/** No answer within the request's timeout. */
export class RpcTimeoutError extends Error {
  constructor(method, timeoutMs) {
    super(`no answer to ${method} within ${Math.round(timeoutMs / 1000)} s`);
    this.name = "RpcTimeoutError";
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection ended (or was never there) before the answer came. */
export class RpcDisconnectedError extends Error {
  constructor(message = "the connection to the helper was closed") {
    super(message);
    this.name = "RpcDisconnectedError";
  }
}

/** Codes the extension uses in its answers to the helper's requests. */
export const EXTENSION_ERRORS = Object.freeze({
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  // implementation-defined range of JSON-RPC 2.0; the helper treats any error as "no"
  DISMISSED: -32000,
  BUSY: -32001,
});

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function validId(id) {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** Turns anything thrown by a request handler into a JSON-RPC error object. */
export function toErrorObject(err) {
  if (err instanceof RpcError) {
    const obj = { code: err.code, message: err.message };
    if (err.data !== null) {
      obj.data = err.data;
    }
    return obj;
  }
  return {
    code: EXTENSION_ERRORS.INTERNAL,
    message: err && err.message ? String(err.message) : String(err),
    data: { name: "internal-error" },
  };
}

export class JsonRpcPeer {
  /**
   * @param {object} options
   * @param {(msg: object) => void} options.send writes one message; may throw when the transport is gone
   * @param {(method: string, params: any, id: any) => any} [options.onRequest] the other side's requests;
   *   returns the result (or a promise of it), throws an RpcError to answer with that error
   * @param {(method: string, params: any) => void} [options.onNotification]
   * @param {(msg: any, why: string) => void} [options.onProtocolError] messages that fit nothing
   * @param {number} [options.defaultTimeoutMs=30000] 0 for none
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers] for tests
   */
  constructor({ send, onRequest, onNotification, onProtocolError, defaultTimeoutMs = 30000, timers } = {}) {
    if (typeof send !== "function") {
      throw new TypeError("send must be a function");
    }
    this._send = send;
    this._onRequest = onRequest || null;
    this._onNotification = onNotification || null;
    this._onProtocolError = onProtocolError || (() => {});
    this.defaultTimeoutMs = defaultTimeoutMs;
    this._timers = timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: t => clearTimeout(t) };
    this._nextId = 1;
    this._pending = new Map();
    this._inbound = 0;
    this._closed = null;
  }

  /** Requests of ours still waiting for an answer. */
  get pendingCount() {
    return this._pending.size;
  }

  /** Requests of the other side we have not answered yet. */
  get inboundCount() {
    return this._inbound;
  }

  get closed() {
    return this._closed !== null;
  }

  /**
   * Sends a request; resolves with `result`, rejects with RpcError, RpcTimeoutError or
   * RpcDisconnectedError. While the other side waits for an answer from us (a prompt the
   * person has not decided yet), timeouts are suspended and start afresh afterwards: the
   * helper's answer to challenge.inspect cannot come before the person's.
   *
   * @param {string} method
   * @param {object|Array} [params]
   * @param {{timeoutMs?: number}} [options] 0 or Infinity: wait for ever
   */
  request(method, params, { timeoutMs } = {}) {
    if (typeof method !== "string" || method === "") {
      return Promise.reject(new TypeError("method must be a non-empty string"));
    }
    if (this._closed) {
      return Promise.reject(this._closed);
    }
    const id = this._nextId++;
    const msg = { jsonrpc: "2.0", id, method };
    if (params !== undefined) {
      msg.params = params;
    }
    return new Promise((resolve, reject) => {
      const entry = {
        id,
        method,
        resolve,
        reject,
        timeoutMs: timeoutMs === undefined ? this.defaultTimeoutMs : timeoutMs,
        timer: null,
      };
      this._pending.set(id, entry);
      if (this._inbound === 0) {
        this._arm(entry);
      }
      try {
        this._send(msg);
      } catch (e) {
        this._settle(entry);
        reject(new RpcDisconnectedError(`could not send ${method}: ${e && e.message ? e.message : e}`));
      }
    });
  }

  /** Sends a notification (no id, no answer). Returns false when it could not be sent. */
  notify(method, params) {
    if (this._closed) {
      return false;
    }
    const msg = { jsonrpc: "2.0", method };
    if (params !== undefined) {
      msg.params = params;
    }
    try {
      this._send(msg);
      return true;
    } catch (e) {
      return false;
    }
  }

  /** Feeds one received message (an object or a batch array). */
  handleMessage(msg) {
    if (Array.isArray(msg)) {
      if (msg.length === 0) {
        this._onProtocolError(msg, "empty batch");
      }
      for (const m of msg) {
        this._handleOne(m);
      }
      return;
    }
    this._handleOne(msg);
  }

  /**
   * The connection is gone: every waiting request is rejected with `error` (an
   * RpcDisconnectedError by default), later ones at once, and late answers to the other
   * side's requests are dropped.
   */
  close(error) {
    if (this._closed) {
      return;
    }
    this._closed = error instanceof Error ? error : new RpcDisconnectedError(error ? String(error) : undefined);
    const entries = [...this._pending.values()];
    this._pending.clear();
    for (const entry of entries) {
      if (entry.timer !== null) {
        this._timers.clearTimeout(entry.timer);
        entry.timer = null;
      }
      entry.reject(this._closed);
    }
  }

  // ---- internals

  _arm(entry) {
    if (entry.timer !== null || !(entry.timeoutMs > 0) || entry.timeoutMs === Infinity) {
      return;
    }
    entry.timer = this._timers.setTimeout(() => {
      entry.timer = null;
      if (this._pending.get(entry.id) === entry) {
        this._pending.delete(entry.id);
        entry.reject(new RpcTimeoutError(entry.method, entry.timeoutMs));
      }
    }, entry.timeoutMs);
  }

  _settle(entry) {
    this._pending.delete(entry.id);
    if (entry.timer !== null) {
      this._timers.clearTimeout(entry.timer);
      entry.timer = null;
    }
  }

  _holdTimers() {
    for (const entry of this._pending.values()) {
      if (entry.timer !== null) {
        this._timers.clearTimeout(entry.timer);
        entry.timer = null;
      }
    }
  }

  _resumeTimers() {
    for (const entry of this._pending.values()) {
      this._arm(entry);
    }
  }

  _handleOne(m) {
    if (!isObject(m)) {
      this._onProtocolError(m, "not an object");
      return;
    }
    if (m.jsonrpc !== "2.0") {
      this._onProtocolError(m, "jsonrpc is not 2.0");
      return;
    }
    if ("method" in m) {
      if (typeof m.method !== "string") {
        this._onProtocolError(m, "method is not a string");
        return;
      }
      if ("id" in m) {
        if (!validId(m.id)) {
          this._onProtocolError(m, "invalid id");
          return;
        }
        this._handleRequest(m.method, m.params, m.id);
      } else if (this._onNotification) {
        try {
          this._onNotification(m.method, m.params);
        } catch (e) {
          this._onProtocolError(m, `notification handler failed: ${e && e.message}`);
        }
      }
      return;
    }
    if (!("id" in m) || (!("result" in m) && !("error" in m))) {
      this._onProtocolError(m, "neither a request nor an answer");
      return;
    }
    const entry = this._pending.get(m.id);
    if (!entry) {
      // a whole-frame error (id null) or an answer after its timeout
      this._onProtocolError(m, m.id === null ? "error about a whole message" : "answer to no waiting request");
      return;
    }
    this._settle(entry);
    if ("error" in m && m.error !== undefined && m.error !== null) {
      const e = isObject(m.error) ? m.error : {};
      entry.reject(new RpcError(typeof e.code === "number" ? e.code : EXTENSION_ERRORS.INTERNAL, e.message, e.data));
    } else {
      entry.resolve(m.result === undefined ? null : m.result);
    }
  }

  _handleRequest(method, params, id) {
    const respond = body => {
      if (this._closed) {
        return;
      }
      try {
        this._send(Object.assign({ jsonrpc: "2.0", id }, body));
      } catch (e) {
        this._onProtocolError({ id }, `could not answer: ${e && e.message}`);
      }
    };
    if (!this._onRequest) {
      respond({
        error: { code: EXTENSION_ERRORS.METHOD_NOT_FOUND, message: `unknown method ${method}`, data: { name: "method-not-found", method } },
      });
      return;
    }
    this._inbound++;
    if (this._inbound === 1) {
      this._holdTimers();
    }
    Promise.resolve()
      .then(() => this._onRequest(method, params, id))
      .then(
        result => respond({ result: result === undefined ? null : result }),
        err => respond({ error: toErrorObject(err) })
      )
      .finally(() => {
        this._inbound--;
        if (this._inbound === 0 && !this._closed) {
          this._resumeTimers();
        }
      });
  }
}
