/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// Install and bind: the helper's `install` puts an issued certificate into Thunderbird's
// store, and the certificate is then selected for the mailbox's identities through the
// Experiment API (experiment/), following lib/enrollment.mjs' bindingPlan; without the
// Experiment the person is told what to select (messaging/README.md, Binding rules).
//
// storage.local: the certificates mailenroll installed per mailbox (KEYS.known), those
// bound once (KEYS.bound), the identity picked for a request (KEYS.explicit), and the
// mailboxes whose person has to select the certificate (KEYS.manual).

import { bindingPlan, identitiesFor, installInfo, isBound } from "../lib/enrollment.mjs";
import { KEYS, boundMap, load, save } from "./store.mjs";
import { _, errorText } from "./text.mjs";

export class Binder {
  /**
   * @param {object} options
   * @param {{call: Function}} options.helper the helper connection (bg/helper.mjs)
   * @param {() => Promise<object[]>} options.identities bg/identities.mjs listIdentities
   * @param {(id: string, title: string, message: string) => void} options.notify
   * @param {(msg: object) => void} [options.broadcast] tells the open pages
   * @param {(...args: any[]) => void} [options.log]
   * @param {() => object} [options.experiment] the Experiment API, if there is one
   */
  constructor({ helper, identities, notify, broadcast = () => {}, log = () => {}, experiment = () => browser.mailenrollSmime }) {
    this.helper = helper;
    this.identities = identities;
    this.notify = notify;
    this.broadcast = broadcast;
    this.log = log;
    this.experiment = experiment;
  }

  /** Whether the Experiment API is there (it is not in the no-experiment build, or when suppressed). */
  hasExperiment() {
    const api = this.experiment();
    return !!(api && typeof api.getBinding === "function");
  }

  /** The identity's S/MIME binding (the Experiment's getBinding); only with the Experiment. */
  binding(identityId) {
    return this.experiment().getBinding(identityId);
  }

  /** Each identity's current S/MIME binding by identity id, for the pages ({} without the Experiment). */
  async bindings(identities) {
    const out = {};
    if (this.hasExperiment()) {
      for (const i of identities) {
        try {
          out[i.id] = await this.binding(i.id);
        } catch (e) {
          out[i.id] = null;
        }
      }
    }
    return out;
  }

  /**
   * The person picked this identity for the request of `mailbox` on the options page: its
   * own choice of certificate may be replaced when the certificate comes.
   */
  async rememberPick(mailbox, identityId) {
    const explicitMap = await load(KEYS.explicit, {});
    explicitMap[mailbox.toLowerCase()] = { identityId, at: Date.now() };
    await save(KEYS.explicit, boundMap(explicitMap, 50));
  }

  /**
   * The helper's `install` of an issued certificate, then bind().
   *
   * @param {string} mailbox
   * @param {string} [ca]
   * @param {{explicit?: (string|boolean|null), now?: boolean}} [options] explicit: as for
   *   bind(); now: a person waits (helper.call's `now`)
   * @returns {Promise<object>} the install result
   */
  async install(mailbox, ca, { explicit = null, now = false } = {}) {
    const params = { mailbox };
    if (ca) {
      params.ca = ca;
    }
    const result = await this.helper.call("install", params, { now });
    await this.bind(mailbox, result, { explicit });
    return result;
  }

  /**
   * After reply.sent or install: bind the new certificate to the mailbox's identities
   * through the Experiment API, or tell the person what to select.
   *
   * @param {string} mailbox
   * @param {object} result reply.sent/install result or a status summary
   * @param {{explicit: (string|boolean|null), quiet?: boolean}} options explicit: the
   *   identity the person picked for this request just now (true: every identity of the
   *   mailbox), whose own choice of certificate may then be replaced
   */
  async bind(mailbox, result, { explicit = null, quiet = false } = {}) {
    const info = installInfo(result);
    if (!info) {
      return;
    }
    const key = mailbox.toLowerCase();
    const known = await load(KEYS.known, {});
    const before = Array.isArray(known[key]) ? known[key] : [];
    if (!before.includes(info.dbKey)) {
      known[key] = before.concat(info.dbKey).slice(-20);
      await save(KEYS.known, known);
    }
    const explicitMap = await load(KEYS.explicit, {});
    const picked = explicit || (explicitMap[key] && explicitMap[key].identityId) || null;
    const boundKeys = await load(KEYS.bound, []);
    if (quiet && !picked && boundKeys.includes(info.dbKey)) {
      // bound once already: if the person changed the selection since, that stays
      return;
    }
    const identities = identitiesFor(await this.identities(), mailbox);
    const manual = await load(KEYS.manual, {});
    let bound = 0;
    let failed = null;
    if (this.hasExperiment()) {
      const api = this.experiment();
      for (const identity of identities) {
        try {
          const current = await api.getBinding(identity.id);
          if (isBound(current, info)) {
            bound++;
            continue;
          }
          const plan = bindingPlan(current, info, { known: before, explicit: picked === true || picked === identity.id });
          if (plan.signing || plan.encryption) {
            await api.bind(identity.id, info.dbKey, plan);
            this.log("bound", info.nickname, "to identity", identity.id, JSON.stringify(plan));
            bound++;
          }
        } catch (e) {
          failed = errorText(e);
          this.log("binding to", identity.id, "failed:", failed);
        }
      }
    }
    if (bound > 0) {
      if (!boundKeys.includes(info.dbKey)) {
        await save(KEYS.bound, boundKeys.concat(info.dbKey).slice(-100));
      }
      delete manual[key];
      delete explicitMap[key];
      await save(KEYS.explicit, explicitMap);
      if (!quiet) {
        this.notify(`installed-${mailbox}`, _("notifyInstalledTitle"), _("notifyInstalledBody", [mailbox, info.nickname]));
      }
    } else {
      // the Experiment is missing (suppressed, or this build left it out) or failed
      this.log("the person has to select", info.nickname, "for", mailbox, failed ? `(${failed})` : "(no Experiment API)");
      manual[key] = { mailbox, nickname: info.nickname, dbKey: info.dbKey, error: failed, at: Date.now() };
      if (!quiet) {
        this.notify(`manual-${mailbox}`, _("notifyManualBindTitle"), _("manualBindSteps", [info.nickname]));
      }
    }
    await save(KEYS.manual, boundMap(manual, 50));
    this.broadcast({ type: "changed" });
  }
}
