/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The one native-messaging port to mailenroll-helper (messaging/PROTOCOL.md): connect,
// `hello` first, then requests; on disconnect everything waiting is rejected with a
// clear error and the port is opened again after an exponential, capped back-off.
// The helper's own requests (`prompt`) and notifications (`progress`) go to the
// handlers given to the constructor.

import { Backoff } from "../lib/backoff.mjs";
import { JsonRpcPeer, RpcDisconnectedError, RpcError } from "../lib/jsonrpc.mjs";

export const HOST_NAME = "org.mailenroll.helper";
export const PROTOCOL_VERSIONS = [1];

// per-method timeouts (ms); challenge.inspect's is suspended while the person decides
export const TIMEOUTS = Object.freeze({
  hello: 10000,
  ping: 10000,
  status: 20000,
  enroll: 180000,
  renew: 180000,
  revoke: 120000,
  install: 120000,
  "challenge.inspect": 120000,
  // the CA checks the reply, the key is made, the order finalized and downloaded
  "reply.sent": 15 * 60 * 1000,
  "reply.failed": 30000,
  // the configuration methods fetch CA directories (bounded by the helper's own timeouts)
  "config.get": 90000,
  "config.set": 30000,
  "ca.add": 60000,
  "ca.agree": 60000,
  "ca.eab": 30000,
});

export class HelperConnection {
  /**
   * @param {object} options
   * @param {string} options.clientName `name/version` for hello
   * @param {(method: string, params: any) => any} options.onRequest the helper's requests
   * @param {(method: string, params: any) => void} options.onNotification
   * @param {(conn: HelperConnection) => void} [options.onStateChange]
   * @param {(...args: any[]) => void} [options.log]
   * @param {() => (string|null|Promise<string|null>)} [options.profileDir] the profile
   *   folder this Thunderbird runs in (the Experiment's getProfileDir), sent in hello: a
   *   Snap or Flatpak Thunderbird starts the helper through the desktop portal, and the
   *   helper cannot find the profile from its parent then (PROTOCOL.md §4)
   */
  constructor({ clientName, onRequest, onNotification, onStateChange, log, profileDir }) {
    this.clientName = clientName;
    this.profileDir = profileDir || (() => null);
    this.onRequest = onRequest;
    this.onNotification = onNotification;
    this.onStateChange = onStateChange || (() => {});
    this.log = log || (() => {});
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 5 * 60 * 1000 });
    // idle | connecting | ready | waiting | incompatible
    this.state = "idle";
    this.lastError = null;
    this.hello = null;
    this.port = null;
    this.peer = null;
    this._timer = null;
    this._waiters = [];
    this.connectedAt = 0;
  }

  /** A plain object for the pages. */
  describe() {
    return {
      state: this.state,
      error: this.lastError,
      helper: this.hello ? this.hello.helper : null,
      protocol: this.hello ? this.hello.protocol : null,
      methods: this.hello && Array.isArray(this.hello.methods) ? this.hello.methods : [],
      retryInMs: this._retryAt ? Math.max(0, this._retryAt - Date.now()) : null,
    };
  }

  start() {
    if (this.state === "idle") {
      this._connect();
    }
  }

  /** Skips a back-off wait: a person is waiting for an answer. */
  connectNow() {
    if (this.state === "waiting" || this.state === "incompatible" || this.state === "idle") {
      this._clearTimer();
      this._connect();
    }
  }

  /** Whether the helper has this method (hello's `methods`). */
  has(method) {
    return !!(this.hello && Array.isArray(this.hello.methods) && this.hello.methods.includes(method));
  }

  /**
   * Calls a method of the helper; waits up to `waitMs` for a connection first.
   *
   * @param {string} method
   * @param {object} [params]
   * @param {{timeoutMs?: number, waitMs?: number, now?: boolean}} [options] now: a person
   *   waits, so a back-off pause is cut short
   */
  async call(method, params, { timeoutMs, waitMs = 15000, now = false } = {}) {
    await this.ready(waitMs, now);
    const t = timeoutMs !== undefined ? timeoutMs : TIMEOUTS[method] || 30000;
    return this.peer.request(method, params, { timeoutMs: t });
  }

  /**
   * Resolves once hello has succeeded; rejects after `waitMs`, or when the attempt under
   * way fails, with the last error.
   */
  ready(waitMs = 15000, now = false) {
    if (this.state === "ready" && this.peer && !this.peer.closed) {
      return Promise.resolve();
    }
    if (now || this.state === "idle") {
      this.connectNow();
    } else if (this.state === "waiting" || this.state === "incompatible") {
      return Promise.reject(new RpcDisconnectedError(this.lastError || "the helper is not connected"));
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        this._waiters = this._waiters.filter(w => w !== waiter);
        reject(new RpcDisconnectedError(this.lastError || "the helper did not answer"));
      }, waitMs);
      this._waiters.push(waiter);
    });
  }

  // ---- internals

  _setState(state, error) {
    this.state = state;
    if (error !== undefined) {
      this.lastError = error;
    }
    this.onStateChange(this);
  }

  _clearTimer() {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._retryAt = null;
  }

  _settleWaiters(error) {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      if (error) {
        w.reject(error);
      } else {
        w.resolve();
      }
    }
  }

  _connect() {
    this._clearTimer();
    this._setState("connecting");
    let port;
    try {
      port = browser.runtime.connectNative(HOST_NAME);
    } catch (e) {
      this._lost(null, `connectNative failed: ${e && e.message ? e.message : e}`);
      return;
    }
    const peer = new JsonRpcPeer({
      send: msg => port.postMessage(msg),
      onRequest: (method, params) => this.onRequest(method, params),
      onNotification: (method, params) => this.onNotification(method, params),
      onProtocolError: (msg, why) => this.log("helper message ignored:", why, JSON.stringify(msg).slice(0, 300)),
    });
    this.port = port;
    this.peer = peer;
    port.onMessage.addListener(msg => peer.handleMessage(msg));
    port.onDisconnect.addListener(p => {
      const why = p && p.error ? p.error.message : null;
      this._lost(port, why);
    });
    this._helloParams()
      .then(params => peer.request("hello", params, { timeoutMs: TIMEOUTS.hello }))
      .then(result => {
        if (this.port !== port) {
          return;
        }
        if (!result || !PROTOCOL_VERSIONS.includes(result.protocol)) {
          throw new RpcError(-32001, `the helper chose protocol ${result && result.protocol}`, { name: "protocol-unsupported" });
        }
        this.hello = result;
        this.connectedAt = Date.now();
        this.backoff.reset();
        this.log("connected to", result.helper, "protocol", result.protocol);
        this._setState("ready", null);
        this._settleWaiters(null);
      })
      .catch(err => {
        if (this.port !== port) {
          return;
        }
        const incompatible = err instanceof RpcError && err.errorName === "protocol-unsupported";
        this.log("hello failed:", err.message);
        this._drop(port, err.message, incompatible);
      });
  }

  // hello's params: the profile only when the Experiment could read it
  async _helloParams() {
    const params = { protocol: PROTOCOL_VERSIONS, client: this.clientName };
    let dir = null;
    try {
      dir = await this.profileDir();
    } catch (e) {
      this.log("the profile folder is not known:", e && e.message ? e.message : e);
    }
    if (typeof dir === "string" && dir !== "") {
      params.profile = dir;
    }
    return params;
  }

  // our side gives up on this port (hello failed)
  _drop(port, why, incompatible) {
    try {
      port.disconnect();
    } catch (e) {
      // already gone
    }
    this._lost(port, why, incompatible);
  }

  _lost(port, why, incompatible = false) {
    if (port !== null && this.port !== port) {
      return;
    }
    const message = why ? `helper connection lost: ${why}` : "the helper closed the connection (it exited or is not installed)";
    if (this.peer) {
      this.peer.close(new RpcDisconnectedError(message));
    }
    this.port = null;
    this.peer = null;
    this.hello = null;
    const delay = incompatible ? this.backoff.maxMs : this.backoff.next();
    this.log(message, `- retrying in ${Math.round(delay / 1000)} s`);
    this._retryAt = Date.now() + delay;
    this._setState(incompatible ? "incompatible" : "waiting", why || message);
    this._settleWaiters(new RpcDisconnectedError(message));
    this._timer = setTimeout(() => {
      this._timer = null;
      this._connect();
    }, delay);
  }
}
