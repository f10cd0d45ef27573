/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Thunderbird's messages API as the background needs it: every message of a (paged)
// message list, and the raw text of a message.

export const SCAN_MAX_MESSAGES = 2000;
export const MAX_RAW_BYTES = 8 * 1024 * 1024;

/**
 * The messages of a MessageList (MV3, and MV2 pages) or of an array of MessageHeader;
 * at most about `max`: a longer list is aborted.
 *
 * @param {object|object[]} list
 * @param {object} [options]
 * @param {object} [options.messages] the messages API (continueList, abortList)
 * @param {number} [options.max]
 */
export async function listMessages(list, { messages = browser.messages, max = SCAN_MAX_MESSAGES } = {}) {
  if (Array.isArray(list)) {
    return list;
  }
  const out = [];
  let page = list;
  while (page) {
    if (Array.isArray(page.messages)) {
      out.push(...page.messages);
    }
    if (!page.id || out.length >= max) {
      if (page.id) {
        messages.abortList(page.id).catch(() => {});
      }
      break;
    }
    page = await messages.continueList(page.id);
  }
  return out;
}

/**
 * The raw message as text, for challenge.inspect (a JSON string): UTF-8, or its decoding
 * with replacement characters (messaging/README.md, Limits).
 *
 * @param {number} messageId
 * @param {object} [options]
 * @param {object} [options.messages] the messages API (getRaw)
 * @param {(...args: any[]) => void} [options.log]
 */
export async function rawText(messageId, { messages = browser.messages, log = () => {} } = {}) {
  const file = await messages.getRaw(messageId, { data_format: "File" });
  const buffer = typeof file === "string" ? null : await file.arrayBuffer();
  if (buffer === null) {
    // an old binary string: one char per byte
    return new TextDecoder("utf-8").decode(Uint8Array.from(file, c => c.charCodeAt(0) & 0xff));
  }
  if (buffer.byteLength > MAX_RAW_BYTES) {
    throw new Error("message too large");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buffer);
  } catch (e) {
    // 8-bit text in another charset cannot travel in a JSON string unchanged (see README)
    log("message is not UTF-8; its signature check will likely fail");
    return new TextDecoder("utf-8").decode(buffer);
  }
}
