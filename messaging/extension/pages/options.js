/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The mailenroll page: request a certificate for an identity, and the status of every
// request and certificate the helper knows (progress, expiry, binding) with renew,
// revoke, install and start-over buttons. Everything goes through the background
// (bg/pages.mjs answers this page), which owns the connection to the helper.

import { _, ask, el, localize, stateName } from "./i18n.js";
import { expiryInfo, installInfo, isPending, stepProgress, REVOCATION_REASONS } from "../lib/enrollment.mjs";

let state = null;
let renderTimer = null;
const notes = new Map(); // mailbox -> {text, error} from the last button press

function fmtDate(sec) {
  return new Date(sec * 1000).toLocaleDateString(browser.i18n.getUILanguage(), { year: "numeric", month: "long", day: "numeric" });
}

function identityLabel(i) {
  const who = i.name ? `${i.name} <${i.email}>` : i.email;
  return i.accountName ? `${who} — ${i.accountName}` : who;
}

function renderConnection() {
  const c = state.connection;
  const text = document.getElementById("connection-text");
  const box = document.getElementById("connection");
  const help = document.getElementById("connection-help");
  const reconnect = document.getElementById("reconnect-row");
  box.className = "panel";
  help.hidden = true;
  reconnect.hidden = true;
  if (c.state === "ready") {
    text.textContent = _("connectionReady", [c.helper || "mailenroll"]);
  } else if (c.state === "connecting" || c.state === "idle") {
    text.textContent = _("connectionConnecting");
  } else if (c.state === "incompatible") {
    box.className = "error";
    text.textContent = _("connectionIncompatible", [c.error || ""]);
    reconnect.hidden = false;
  } else {
    box.className = "error";
    text.textContent = _("connectionDown", [c.error || _("errorUnknown")]);
    help.hidden = false;
    reconnect.hidden = false;
  }
  document.getElementById("no-experiment").hidden = state.experiment;
}

function renderIdentities() {
  const select = document.getElementById("identity");
  const before = select.value;
  select.replaceChildren();
  for (const i of state.identities) {
    if (i.email) {
      select.append(el("option", { value: i.id, text: identityLabel(i) }));
    }
  }
  if (before && [...select.options].some(o => o.value === before)) {
    select.value = before;
  }
  document.getElementById("request-submit").disabled = select.options.length === 0;
}

function bindingText(e, info) {
  const ids = state.identities.filter(i => (i.email || "").toLowerCase() === e.mailbox.toLowerCase());
  const manual = state.manual[e.mailbox.toLowerCase()];
  if (!info) {
    return null;
  }
  if (state.experiment) {
    const using = ids.filter(i => {
      const b = state.bindings[i.id];
      return b && ((info.signing && b.signingDbKey === info.dbKey) || (info.encryption && b.encryptionDbKey === info.dbKey));
    });
    if (using.length > 0) {
      return { ok: true, text: _("bindingInUse", [using.map(identityLabel).join(", ")]) };
    }
    if (manual && manual.error) {
      return { ok: false, text: _("bindingFailed", [manual.error]) + " " + _("manualBindSteps", [info.nickname]) };
    }
    return { ok: false, text: _("bindingNotInUse"), bind: ids.length > 0 };
  }
  return { ok: false, text: _("manualBindSteps", [info.nickname || (manual && manual.nickname) || "?"]) };
}

async function run(button, mailbox, fn, doneText) {
  const buttons = button.closest(".enrollment").querySelectorAll("button, select");
  for (const b of buttons) b.disabled = true;
  notes.set(mailbox, { text: _("working"), error: false });
  scheduleRender();
  try {
    await fn();
    notes.set(mailbox, { text: doneText, error: false });
  } catch (e) {
    notes.set(mailbox, { text: e.message, error: true });
  }
  await load();
}

function enrollmentCard(e) {
  const mailbox = e.mailbox;
  const key = mailbox.toLowerCase();
  const card = el("div", { className: "enrollment" });
  card.append(el("h3", { text: mailbox }));
  card.append(
    el("p", {}, _("labelCa"), " ", el("strong", { text: e.ca || _("promptCaUnnamed") }), " · ", _("labelState"), " ", el("strong", { text: stateName(e.state) }))
  );

  const busy = state.busy.includes(key);
  const progress = state.progress[key];
  const steps = stepProgress(e.state);
  if ((isPending(e.state) || busy) && steps) {
    card.append(el("progress", { max: String(steps.total), value: String(steps.index) }));
    if (progress && progress.message) {
      card.append(el("p", { className: "muted", text: progress.message }));
    }
  }
  if (e.state === "waiting-challenge" && e.challenge_from) {
    card.append(el("p", { className: "muted", text: _("waitingForMail", [e.challenge_from, mailbox]) }));
  }
  if (e.state === "answered") {
    card.append(el("p", { className: "warning", text: _("answeredNotSent") }));
  }
  const failure = state.failures[key];
  if (failure && !["installed", "issued"].includes(e.state)) {
    card.append(el("p", { className: "error", text: _("sendFailedNote", [failure.error]) }));
  }
  if (e.failure) {
    card.append(el("p", { className: "error", text: e.failure }));
  }

  const expiry = expiryInfo(e.not_after, Math.floor(Date.now() / 1000));
  if (expiry) {
    const when = fmtDate(e.not_after);
    card.append(
      el("p", {
        className: expiry.expired ? "error" : expiry.daysLeft < 14 ? "warning" : null,
        text: expiry.expired ? _("certExpired", [when]) : _("certValidUntil", [when, String(expiry.daysLeft)]),
      })
    );
  }
  const info = installInfo(e);
  const binding = bindingText(e, info);
  if (binding) {
    card.append(el("p", { className: binding.ok ? "ok" : "warning", text: binding.text }));
  }

  const buttons = el("div", { className: "buttons" });
  if (expiry) {
    buttons.append(
      el("button", {
        type: "button",
        text: _("buttonRenew"),
        onclick: ev => run(ev.target, mailbox, () => ask("renew", { mailbox, ca: e.ca, force: true }), _("renewStarted", [mailbox])),
      })
    );
  }
  if (info || e.state === "issued") {
    buttons.append(
      el("button", {
        type: "button",
        text: _("buttonInstall"),
        onclick: ev => run(ev.target, mailbox, () => ask("install", { mailbox, ca: e.ca }), _("installDone")),
      })
    );
  }
  if (binding && binding.bind) {
    buttons.append(
      el("button", {
        type: "button",
        text: _("buttonBind"),
        onclick: ev => run(ev.target, mailbox, () => ask("bind", { mailbox }), _("bindDone")),
      })
    );
  }
  if (isPending(e.state) || e.state === "failed") {
    buttons.append(
      el("button", {
        type: "button",
        text: _("buttonStartOver"),
        onclick: ev =>
          run(ev.target, mailbox, () => ask("enroll", { form: { mailbox, ca: e.ca, restart: true } }), _("requestStarted", [mailbox])),
      })
    );
  }
  if (expiry && !expiry.expired) {
    const reasons = el("select", { "aria-label": _("revokeReason") });
    for (const r of REVOCATION_REASONS) {
      reasons.append(el("option", { value: String(r), text: _(`revokeReason${r}`) }));
    }
    const confirmBox = el(
      "div",
      { className: "warning revoke-box", hidden: true },
      el("p", { text: _("revokeConfirm", [mailbox]) }),
      el("label", { text: _("revokeReason") }),
      reasons,
      el(
        "div",
        { className: "buttons" },
        el("button", { type: "button", text: _("buttonCancel"), onclick: () => (confirmBox.hidden = true) }),
        el("button", {
          type: "button",
          className: "primary",
          text: _("buttonRevokeNow"),
          onclick: ev => run(ev.target, mailbox, () => ask("revoke", { mailbox, ca: e.ca, reason: Number(reasons.value) }), _("revokeDone", [mailbox])),
        })
      )
    );
    buttons.append(el("button", { type: "button", text: _("buttonRevoke"), onclick: () => (confirmBox.hidden = false) }));
    card.append(buttons, confirmBox);
  } else {
    card.append(buttons);
  }
  const note = notes.get(mailbox);
  if (note) {
    card.append(el("p", { role: "status", className: note.error ? "error" : "muted", text: note.text }));
  }
  return card;
}

function renderEnrollments() {
  const list = document.getElementById("enrollments");
  const err = document.getElementById("status-error");
  err.hidden = !state.statusError;
  err.textContent = state.statusError ? _("statusError", [state.statusError]) : "";
  const enrollments = (state.enrollments || []).filter(e => e && typeof e.mailbox === "string");
  document.getElementById("status-empty").hidden = enrollments.length > 0 || !!state.statusError;
  list.replaceChildren(...enrollments.map(enrollmentCard));
}

function render() {
  renderTimer = null;
  if (!state) return;
  renderConnection();
  renderIdentities();
  renderEnrollments();
}

function scheduleRender() {
  if (renderTimer === null) {
    renderTimer = setTimeout(render, 50);
  }
}

async function load() {
  try {
    state = await ask("state.get");
  } catch (e) {
    document.getElementById("connection-text").textContent = e.message;
    return;
  }
  scheduleRender();
}

async function submitRequest(ev) {
  ev.preventDefault();
  const result = document.getElementById("request-result");
  const submit = document.getElementById("request-submit");
  const identityId = document.getElementById("identity").value;
  const identity = state.identities.find(i => i.id === identityId);
  if (!identity) {
    return;
  }
  const form = {
    mailbox: identity.email,
    ca: document.getElementById("ca").value,
    restart: document.getElementById("restart").checked,
  };
  submit.disabled = true;
  result.className = "muted";
  result.textContent = _("requestWorking");
  try {
    const r = await ask("enroll", { form, identityId });
    result.className = "ok";
    result.textContent =
      r && r.state === "waiting-challenge" && r.challenge_from
        ? _("requestWaiting", [r.challenge_from, identity.email])
        : _("requestStarted", [identity.email]);
  } catch (e) {
    result.className = "error";
    result.textContent = e.message;
  } finally {
    submit.disabled = false;
  }
  await load();
}

function main() {
  localize();
  document.getElementById("request-form").addEventListener("submit", submitRequest);
  document.getElementById("refresh").addEventListener("click", async () => {
    try {
      state = await ask("status.refresh");
    } catch (e) {
      // shown by the next load
    }
    await load();
  });
  document.getElementById("scan").addEventListener("click", async ev => {
    ev.target.disabled = true;
    try {
      await ask("scan.now");
    } finally {
      ev.target.disabled = false;
    }
    await load();
  });
  document.getElementById("reconnect").addEventListener("click", async () => {
    await ask("helper.reconnect").catch(() => {});
    setTimeout(load, 1500);
  });
  browser.runtime.onMessage.addListener(msg => {
    if (!msg || msg.source !== "mailenroll-background" || !state) {
      return;
    }
    if (msg.type === "progress" && msg.progress) {
      state.progress[msg.progress.mailbox.toLowerCase()] = msg.progress;
      scheduleRender();
    } else if (msg.type === "changed") {
      load();
    }
  });
  load();
}

main();
