// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// The real mailenroll-helper for the extension's tests (ME_TEST_HELPER), started as
// Thunderbird starts it (argv = [path, manifest path, extension id]) in a HOME of its
// own, framed as Thunderbird frames native messages (4-byte native-endian length, UTF-8
// JSON). Not a test itself: helper.test.mjs, status.test.mjs and app.test.mjs use it.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";

export const HELPER = process.env.ME_TEST_HELPER;
// the reason to skip a test that needs the helper, or false
export const skipWithoutHelper = !HELPER || !existsSync(HELPER) ? "mailenroll-helper not built" : false;

/** One native message as it travels on the pipe. */
export function frame(obj) {
  const body = Buffer.from(JSON.stringify(obj), "utf8");
  const head = Buffer.alloc(4);
  if (endianness() === "LE") head.writeUInt32LE(body.length);
  else head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** A `data` handler that calls onMessage with each whole message read. */
export function frameReader(onMessage) {
  let pending = Buffer.alloc(0);
  return chunk => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const n = endianness() === "LE" ? pending.readUInt32LE(0) : pending.readUInt32BE(0);
      if (pending.length < 4 + n) break;
      const body = pending.subarray(4, 4 + n).toString("utf8");
      pending = pending.subarray(4 + n);
      onMessage(JSON.parse(body));
    }
  };
}

/**
 * Starts the helper with a fresh HOME and XDG folders (removed once it exited).
 *
 * @returns {{child: import("node:child_process").ChildProcess, exited: Promise<{code: number, signal: string}>, stderr: () => string}}
 */
export function spawnHelper(path = HELPER) {
  const dir = mkdtempSync(join(tmpdir(), "mailenroll-ext-test-"));
  const env = Object.assign({}, process.env, {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_STATE_HOME: join(dir, "state"),
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CACHE_HOME: join(dir, "cache"),
    LC_ALL: "C.UTF-8",
    LANGUAGE: "",
  });
  delete env.DBUS_SESSION_BUS_ADDRESS;
  const child = spawn(path, [join(dir, "org.mailenroll.helper.json"), "mailenroll@mailenroll.org"], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", d => (stderr += d));
  const exited = new Promise(resolve =>
    child.on("exit", (code, signal) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    })
  );
  return { child, exited, stderr: () => stderr };
}

/**
 * What runtime.connectNative returns, backed by the real helper: postMessage, onMessage,
 * onDisconnect (when the helper exits) and disconnect() (which, as in Gecko, does not
 * fire the caller's own onDisconnect; the helper sees the end of its input and exits).
 */
export function nativePort(path = HELPER) {
  const h = spawnHelper(path);
  const onMessage = [];
  const onDisconnect = [];
  let open = true;
  h.child.stdout.on("data", frameReader(msg => onMessage.forEach(l => l(msg))));
  const port = {
    name: "org.mailenroll.helper",
    error: null,
    exited: h.exited,
    stderr: h.stderr,
    postMessage(msg) {
      if (!open) {
        throw new Error("Attempt to postMessage on disconnected port");
      }
      h.child.stdin.write(frame(msg));
    },
    onMessage: { addListener: l => onMessage.push(l) },
    onDisconnect: { addListener: l => onDisconnect.push(l) },
    disconnect() {
      if (open) {
        open = false;
        h.child.stdin.end();
      }
    },
    /** The helper goes away as if it crashed. */
    kill() {
      h.child.kill("SIGKILL");
    },
  };
  h.exited.then(({ code, signal }) => {
    if (open) {
      open = false;
      port.error = code === 0 ? null : { message: `the helper exited (${signal || code})` };
      onDisconnect.forEach(l => l(port));
    }
  });
  return port;
}
