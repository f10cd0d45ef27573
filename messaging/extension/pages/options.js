/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global browser */

// The mailenroll page: set up the certificate authority (which CA, its terms, External
// Account Binding, key type, usage and approval, within what the administrator locked),
// request a certificate for an identity, and the status of every request and certificate
// the helper knows (progress, expiry, binding) with renew, revoke, install and start-over
// buttons. Everything goes through the background (bg/pages.mjs answers this page), which
// owns the connection to the helper; lib/setup.mjs decides what the set-up part shows.

import { _, ask, el, localize, stateName } from "./i18n.js";
import { expiryInfo, installInfo, isPending, stepProgress, REVOCATION_REASONS } from "../lib/enrollment.mjs";
import {
  DEFAULTS,
  caAddParams,
  choiceLabel,
  configSetParams,
  eabParams,
  selectValue,
  setupView,
  withCa,
  withoutMetaRefresh,
} from "../lib/setup.mjs";

let state = null;
let renderTimer = null;
const notes = new Map(); // mailbox -> {text, error} from the last button press
// the set-up part: null while loading, else {configurable, config} or {error}
let setup = null;
let pickedCa = null;
let eabEditing = false; // the person asked to replace a stored EAB key
const setupNotes = new Map(); // result element id -> {text, error}
// the last set-up action under way (for the tests' hooks, which wait for it)
let setupBusy = Promise.resolve();

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
  const view = currentView();
  document.getElementById("request-submit").disabled = select.options.length === 0 || !!(view && view.request);
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


// ---- the set-up part

function showNote(id) {
  const node = document.getElementById(id);
  const note = setupNotes.get(id);
  node.textContent = note ? note.text : "";
  node.className = note ? (note.error ? "error" : "ok") : "";
}

function fillSetting(select, key, s) {
  const locked = document.getElementById(select.id + "-locked");
  select.replaceChildren();
  if (s.locked) {
    // what the administrator set, and nothing else to pick
    select.append(el("option", { value: "", text: choiceLabel(key, s.value || DEFAULTS[key], _) }));
  } else {
    const inherited = s.origin === "system" ? _("settingFromAdmin", [choiceLabel(key, s.value, _)]) : _("settingDefault", [choiceLabel(key, DEFAULTS[key], _)]);
    select.append(el("option", { value: "", text: inherited }));
    for (const c of s.choices) {
      select.append(el("option", { value: c, text: choiceLabel(key, c, _) }));
    }
    select.value = s.origin === "user" ? selectValue(s) : "";
  }
  select.disabled = s.locked;
  locked.hidden = !s.locked;
  // the default does not matter where the administrator decided
  document.getElementById(select.id + "-default").hidden = s.locked;
}

function fillLink(id, url) {
  const link = document.getElementById(id);
  const none = document.getElementById(id + "-none");
  link.hidden = !url;
  none.hidden = !!url;
  if (url) {
    link.href = url;
    if (!link.dataset.i18n) {
      link.textContent = url;
    }
  } else {
    link.removeAttribute("href");
  }
}

function renderCaDetails(view) {
  const details = document.getElementById("ca-details");
  details.hidden = !view.ca;
  if (!view.ca) {
    return;
  }
  const metaError = document.getElementById("ca-meta-error");
  metaError.hidden = !view.metaError;
  metaError.textContent = view.metaError || "";
  document.getElementById("ca-directory").textContent = view.directory || "";
  fillLink("ca-website", view.website);
  fillLink("ca-terms", view.terms.url);

  const terms = view.terms;
  const agree = document.getElementById("terms-agree");
  document.getElementById("terms-row").hidden = !terms.url;
  agree.checked = terms.current;
  // agreeing is recorded once; the protocol has no "disagree"
  agree.disabled = terms.current || terms.locked;
  document.getElementById("terms-changed").hidden = !terms.changed;
  document.getElementById("terms-locked").hidden = !terms.locked;
  showNote("terms-result");

  const eab = view.eab;
  document.getElementById("eab").hidden = !eab.required;
  const stored = document.getElementById("eab-stored");
  stored.hidden = !eab.stored;
  stored.textContent = eab.stored ? _("eabStored", [eab.kid || ""]) : "";
  document.getElementById("eab-locked").hidden = !eab.locked;
  // a stored key is replaced only on request: the fields stay out of the way
  document.getElementById("eab-form").hidden = eab.locked || (eab.stored && !eabEditing);
  document.getElementById("eab-change-row").hidden = eab.locked || !eab.stored || eabEditing;
  showNote("eab-result");

  for (const select of document.querySelectorAll("#settings select")) {
    fillSetting(select, select.dataset.setting, view.settings[select.dataset.setting]);
  }
  showNote("settings-result");
}

function requestBlockedText(why) {
  return { terms: _("requestNeedsTerms"), eab: _("requestNeedsEab"), "no-ca": _("requestNeedsCa"), loading: _("requestLoadingCa") }[why] || "";
}

function currentView() {
  return setup && setup.configurable ? setupView(setup.config, pickedCa) : null;
}

function renderSetup() {
  const ready = setup !== null;
  const error = document.getElementById("setup-error");
  const configurable = ready && setup.configurable === true;
  const old = ready && setup.configurable === false;
  error.hidden = !(ready && setup.error);
  error.textContent = ready && setup.error ? setup.error : "";
  document.getElementById("setup-old").hidden = !old;
  document.getElementById("setup-body").hidden = !configurable;
  // the helper cannot tell its CAs: the name typed as before
  document.getElementById("legacy-ca").hidden = configurable || !ready;
  const blocked = document.getElementById("request-blocked");
  const view = currentView();
  blocked.hidden = true;
  if (!view) {
    renderAdminNote(null);
    return;
  }
  const select = document.getElementById("ca-select");
  select.replaceChildren(...view.cas.map(c => el("option", { value: c.name, text: c.name })));
  select.value = view.ca || "";
  document.getElementById("ca-row").hidden = view.cas.length === 0;
  document.getElementById("setup-none").hidden = view.cas.length > 0;
  document.getElementById("ca-locked").hidden = !view.caLocked;
  renderCaDetails(view);
  document.getElementById("add-ca").hidden = !view.canAddCa;
  if (view.cas.length === 0) {
    // adding one is all there is to do
    document.getElementById("add-ca").open = true;
  }
  document.getElementById("add-ca-locked").hidden = view.canAddCa;
  showNote("add-ca-result");
  if (view.request) {
    blocked.hidden = false;
    blocked.textContent = requestBlockedText(view.request);
  }
  renderAdminNote(view.files);
}

function renderAdminNote(files) {
  const note = document.getElementById("admin-note");
  note.hidden = !(files && files.user && files.system);
  note.textContent = note.hidden ? "" : _("adminNote", [files.user, files.system]);
}

// the configuration at once, without asking the CAs (instant); then again with each CA's
// terms, website and EAB requirement, which takes a request to each CA
async function loadSetup() {
  try {
    setup = await ask("setup.get", { meta: false });
  } catch (e) {
    setup = { configurable: null, error: _("setupError", [e.message]) };
  }
  scheduleRender();
  if (!setup || !setup.configurable) {
    return;
  }
  try {
    const full = await ask("setup.get");
    // a write in between left a newer result: this one adds the CAs' meta to it
    setup = full.configurable && setup.configurable ? { configurable: true, config: withoutMetaRefresh(full.config, setup.config) } : full;
  } catch (e) {
    setup = { configurable: null, error: _("setupError", [e.message]) };
  }
  scheduleRender();
}

// runs one set-up action: its result note, then the page drawn again
function setupAction(noteId, fn) {
  setupBusy = (async () => {
    setupNotes.set(noteId, { text: _("working"), error: false });
    showNote(noteId);
    try {
      const text = await fn();
      setupNotes.set(noteId, { text, error: false });
    } catch (e) {
      // the helper's sentence names the setting in the file's spelling ("ca NAME/key-type");
      // the page says it in words, next to the control
      setupNotes.set(noteId, { text: e.code === "policy-locked" ? _("errorPolicyLocked") : e.message, error: true });
      if (e.code === "policy-locked") {
        // locked since the page was drawn: show it as locked
        await loadSetup();
      }
    }
    render();
  })();
  return setupBusy;
}

function onAgree(ev) {
  const view = currentView();
  if (!ev.target.checked || !view || !view.terms.url) {
    return setupBusy;
  }
  return setupAction("terms-result", async () => {
    try {
      const r = await ask("setup.agree", { params: { ca: view.ca, terms: view.terms.url } });
      setup.config = withCa(setup.config, r.ca);
    } catch (e) {
      ev.target.checked = false;
      throw e;
    }
    return _("termsAgreed");
  });
}

function onEabSave() {
  const view = currentView();
  const kid = document.getElementById("eab-kid");
  const mac = document.getElementById("eab-mac");
  return setupAction("eab-result", async () => {
    const { params, problem } = eabParams(view && view.ca, kid.value, mac.value);
    if (!params) {
      throw new Error(_(problem === "kid" ? "eabBadKid" : "eabBadMac"));
    }
    const r = await ask("setup.eab", { params });
    // the key is with the helper now; the page keeps no copy
    mac.value = "";
    kid.value = "";
    eabEditing = false;
    setup.config = withCa(setup.config, r.ca);
    // "A key is stored for key ID ..." says it
    return "";
  });
}

function onSettingChange(ev) {
  const view = currentView();
  const key = ev.target.dataset.setting;
  return setupAction("settings-result", async () => {
    const params = view && configSetParams(view.ca, key, ev.target.value, view.settings[key].choices);
    if (!params) {
      throw new Error(_("errorUnknown"));
    }
    const r = await ask("setup.set", { params });
    setup.config = withoutMetaRefresh(setup.config, r.config);
    return _("settingSaved");
  });
}

function onAddCa() {
  const url = document.getElementById("add-ca-url");
  return setupAction("add-ca-result", async () => {
    const { params } = caAddParams(url.value);
    if (!params) {
      throw new Error(_("addCaBadUrl"));
    }
    const r = await ask("setup.addCa", { params });
    url.value = "";
    pickedCa = r.ca.name;
    // the new CA, and a default CA the helper may have set with it
    const again = await ask("setup.get");
    setup = again.configurable ? { configurable: true, config: withCa(again.config, r.ca) } : again;
    document.getElementById("add-ca").open = false;
    return _("addCaDone", [r.ca.name]);
  });
}

function listenSetup() {
  document.getElementById("ca-select").addEventListener("change", ev => {
    pickedCa = ev.target.value;
    eabEditing = false;
    for (const id of ["terms-result", "eab-result", "settings-result"]) setupNotes.delete(id);
    render();
  });
  document.getElementById("terms-agree").addEventListener("change", onAgree);
  document.getElementById("eab-save").addEventListener("click", onEabSave);
  document.getElementById("eab-change").addEventListener("click", () => {
    eabEditing = true;
    render();
  });
  for (const select of document.querySelectorAll("#settings select")) {
    select.addEventListener("change", onSettingChange);
  }
  document.getElementById("add-ca-submit").addEventListener("click", onAddCa);
}

function render() {
  renderTimer = null;
  if (!state) return;
  renderConnection();
  renderIdentities();
  renderSetup();
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
  const view = currentView();
  const form = {
    mailbox: identity.email,
    ca: view ? view.ca || "" : document.getElementById("ca").value,
    restart: document.getElementById("restart").checked,
  };
  if (view && view.request) {
    return;
  }
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
    setTimeout(() => load().then(loadSetup), 1500);
  });
  listenSetup();
  browser.runtime.onMessage.addListener(msg => {
    if (!msg || msg.source !== "mailenroll-background" || !state) {
      return;
    }
    if (msg.type === "progress" && msg.progress) {
      state.progress[msg.progress.mailbox.toLowerCase()] = msg.progress;
      scheduleRender();
    } else if (msg.type === "changed") {
      // a set-up that failed (the helper was not connected yet) is tried again
      load().then(() => (setup && setup.error ? loadSetup() : undefined));
    }
  });
  load().then(loadSetup);
}

// ME_TEST_HOOKS begin
// an automated test drives this page (bg/testcontrol.mjs `test.page`): it fills the fields
// and clicks the controls a person would, waits for what the click started, and answers
// with what the page shows. A release .xpi has none of this (messaging/make-xpi.py).
function shown(id) {
  const node = document.getElementById(id);
  return !!node && !node.hidden && !node.closest("[hidden]");
}

function noteOf(id) {
  const node = document.getElementById(id);
  return { text: node.textContent, error: node.className === "error" };
}

function pageSnapshot() {
  const settings = {};
  for (const select of document.querySelectorAll("#settings select")) {
    settings[select.dataset.setting] = {
      value: select.value,
      text: select.selectedOptions.length ? select.selectedOptions[0].textContent : "",
      disabled: select.disabled,
      locked: shown(select.id + "-locked"),
      options: [...select.options].map(o => o.value),
    };
  }
  return {
    loaded: setup !== null && state !== null,
    configurable: shown("setup-body"),
    tooOld: shown("setup-old"),
    error: shown("setup-error") ? document.getElementById("setup-error").textContent : null,
    cas: [...document.getElementById("ca-select").options].map(o => o.value),
    ca: document.getElementById("ca-select").value,
    caLocked: shown("ca-locked"),
    lockedText: document.getElementById("ca-locked").textContent,
    website: shown("ca-website") ? document.getElementById("ca-website").href : null,
    terms: shown("ca-terms") ? document.getElementById("ca-terms").href : null,
    termsShown: shown("terms-row"),
    termsChecked: document.getElementById("terms-agree").checked,
    termsDisabled: document.getElementById("terms-agree").disabled,
    eabShown: shown("eab"),
    eabStored: shown("eab-stored") ? document.getElementById("eab-stored").textContent : null,
    eabFormShown: shown("eab-form"),
    settings,
    addCaShown: shown("add-ca"),
    addCaLocked: shown("add-ca-locked"),
    legacyCa: shown("legacy-ca"),
    requestDisabled: document.getElementById("request-submit").disabled,
    requestBlocked: shown("request-blocked") ? document.getElementById("request-blocked").textContent : null,
    adminNote: shown("admin-note") ? document.getElementById("admin-note").textContent : null,
    notes: Object.fromEntries(["add-ca-result", "terms-result", "eab-result", "settings-result", "request-result"].map(id => [id, noteOf(id)])),
  };
}

async function testAction(msg) {
  const byId = id => document.getElementById(id);
  if (msg.action === "addCa") {
    byId("add-ca").open = true;
    byId("add-ca-url").value = String(msg.url || "");
    byId("add-ca-submit").click();
  } else if (msg.action === "pick") {
    byId("ca-select").value = String(msg.ca || "");
    byId("ca-select").dispatchEvent(new Event("change"));
  } else if (msg.action === "agree") {
    byId("terms-agree").click();
  } else if (msg.action === "eab") {
    byId("eab-kid").value = String(msg.kid || "");
    byId("eab-mac").value = String(msg.mac || "");
    byId("eab-save").click();
  } else if (msg.action === "set") {
    const select = document.querySelector(`#settings select[data-setting="${CSS.escape(String(msg.key))}"]`);
    // a locked select is disabled: the test asks the background as the page would, to see the refusal
    if (select.disabled) {
      const opt = el("option", { value: String(msg.value), text: String(msg.value) });
      select.append(opt);
    }
    select.value = String(msg.value);
    onSettingChange({ target: select });
  } else if (msg.action === "request") {
    const want = String(msg.mailbox || "").toLowerCase();
    const identity = state.identities.find(i => (i.email || "").toLowerCase() === want);
    byId("identity").value = identity ? identity.id : "";
    byId("request-submit").click();
    // the request's answer comes with the page drawn again
    for (let i = 0; i < 3600 && byId("request-result").textContent === _("requestWorking"); i++) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
  } else if (msg.action === "show") {
    // for a screenshot: the part named at the top of the window
    const target = byId(String(msg.target || ""));
    if (target) target.scrollIntoView({ block: "start" });
  } else if (msg.action === "reload") {
    await load();
    await loadSetup();
  }
  await setupBusy;
  render();
  return pageSnapshot();
}

browser.runtime.onMessage.addListener(msg => {
  if (msg && msg.source === "mailenroll-background" && msg.type === "test.page") {
    // a failure inside the page reaches the test with its stack (Thunderbird would say only
    // "An unexpected error occurred")
    return testAction(msg).catch(e => Promise.reject(new Error(`the options page failed: ${e && e.stack ? e.stack : e}`)));
  }
  return undefined;
});
// ME_TEST_HOOKS end

main();
