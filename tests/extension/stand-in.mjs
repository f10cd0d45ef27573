// Copyright 2026 The mailenroll authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// Stand-ins for what node lacks, for the tests of the background's parts
// (messaging/extension/bg/): the part of Thunderbird's `browser` object they use, and a
// helper connection that answers from a table. Both record what they are asked. Not a
// test itself.

/**
 * Installs a `browser` global: storage.local in memory, i18n that names the message and
 * its substitutions, one account with the given identities, notifications, runtime, the
 * message display action, alarms; `extra` adds or replaces namespaces.
 */
export function standInBrowser({ identities = [{ id: "id1", email: "alice@example.org" }], extra = {} } = {}) {
  const storage = {};
  const calls = [];
  const record = name => async (...args) => {
    calls.push([name, ...args]);
  };
  const browser = {
    runtime: {
      id: "mailenroll@mailenroll.org",
      getManifest: () => ({ version: "0.0-test" }),
      getURL: p => `moz-extension://test/${p}`,
      sendMessage: record("runtime.sendMessage"),
      openOptionsPage: record("runtime.openOptionsPage"),
    },
    i18n: { getMessage: (name, subs) => (subs === undefined ? name : `${name}:${[].concat(subs).join("|")}`) },
    storage: {
      local: {
        get: async key => (key in storage ? { [key]: structuredClone(storage[key]) } : {}),
        set: async obj => Object.assign(storage, structuredClone(obj)),
      },
    },
    accounts: { list: async () => [{ id: "account1", name: "Account", identities }] },
    notifications: {
      create: async (id, options) => calls.push(["notify", id, options.title, options.message]),
      clear: record("notifications.clear"),
    },
    messageDisplayAction: {
      enable: record("action.enable"),
      disable: record("action.disable"),
      setTitle: record("action.setTitle"),
      setBadgeText: record("action.setBadgeText"),
      setBadgeBackgroundColor: record("action.setBadgeBackgroundColor"),
    },
    alarms: { get: async () => null, create: record("alarms.create") },
    ...extra,
  };
  globalThis.browser = browser;
  return { browser, storage, calls, notified: () => calls.filter(c => c[0] === "notify").map(c => c[1]) };
}

/**
 * A helper connection that answers each method from `answers` (a value, or a function of
 * the params; an Error is thrown) and records every call.
 */
export function standInHelper(answers = {}) {
  const calls = [];
  return {
    calls,
    methods: () => calls.map(c => c[0]),
    call: async (method, params, options) => {
      calls.push([method, params, options]);
      let answer = Object.hasOwn(answers, method) ? answers[method] : method === "status" ? { enrollments: [] } : {};
      if (typeof answer === "function") {
        answer = await answer(params);
      }
      if (answer instanceof Error) {
        throw answer;
      }
      return answer;
    },
  };
}

/** Lets what the code under test left running (promises, not timers) settle. */
export const settled = () => new Promise(resolve => setImmediate(resolve));
