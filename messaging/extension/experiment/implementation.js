/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* global ChromeUtils, Cc, Ci, Services */
"use strict";

// The mailenroll Experiment API (manifest.json experiment_apis.mailenrollSmime): the one
// thing no built-in MailExtension API can do is point an identity at its S/MIME
// certificates (docs/thunderbird.md §5). This sets, reads and clears exactly the four
// identity preferences Account Settings → End-To-End Encryption writes:
// signing_cert_name, signing_cert_dbkey, encryption_cert_name, encryption_cert_dbkey.
// It also tells the profile folder's path, which the helper of a sandboxed Thunderbird
// cannot find by itself.
// Everything else stays with the helper (import into the store) and the background
// script. The extension works without this file too: it then tells the person which
// certificate to select.

var { ExtensionCommon } = ChromeUtils.importESModule("resource://gre/modules/ExtensionCommon.sys.mjs");
var { ExtensionUtils } = ChromeUtils.importESModule("resource://gre/modules/ExtensionUtils.sys.mjs");
var { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
var { ExtensionError } = ExtensionUtils;

function certdb() {
  return Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
}

// the identity with this key; MailServices.accounts.getIdentity would create a new one
function findIdentity(identityId) {
  for (const identity of MailServices.accounts.allIdentities) {
    if (identity.key === identityId) {
      return identity;
    }
  }
  throw new ExtensionError(`There is no identity ${identityId}.`);
}

function findCert(dbKey) {
  if (!dbKey) {
    return null;
  }
  try {
    return certdb().findCertByDBKey(dbKey);
  } catch (e) {
    return null;
  }
}

function certEmails(cert) {
  const out = new Set();
  try {
    for (const a of cert.getEmailAddresses()) {
      out.add(String(a).toLowerCase());
    }
  } catch (e) {
    // older interface shapes: fall back to the subject's address
  }
  if (cert.emailAddress) {
    out.add(String(cert.emailAddress).toLowerCase());
  }
  return out;
}

function binding(identity) {
  const signingDbKey = identity.getCharAttribute("signing_cert_dbkey") || "";
  const encryptionDbKey = identity.getCharAttribute("encryption_cert_dbkey") || "";
  return {
    identityId: identity.key,
    email: identity.email || "",
    signingCertName: identity.getUnicharAttribute("signing_cert_name") || "",
    signingDbKey,
    signingFound: !!findCert(signingDbKey),
    encryptionCertName: identity.getUnicharAttribute("encryption_cert_name") || "",
    encryptionDbKey,
    encryptionFound: !!findCert(encryptionDbKey),
  };
}

this.mailenrollSmime = class extends ExtensionCommon.ExtensionAPI {
  getAPI(context) {
    return {
      mailenrollSmime: {
        // a Snap or Flatpak Thunderbird starts the helper through the desktop portal, so
        // the helper learns the profile from here (messaging/PROTOCOL.md §4) and checks it
        async getProfileDir() {
          return Services.dirsvc.get("ProfD", Ci.nsIFile).path;
        },

        async getBinding(identityId) {
          return binding(findIdentity(identityId));
        },

        async bind(identityId, dbKey, slots) {
          const identity = findIdentity(identityId);
          const cert = findCert(dbKey);
          if (!cert) {
            throw new ExtensionError("The certificate is not in Thunderbird's certificate store.");
          }
          if (cert.certType !== Ci.nsIX509Cert.USER_CERT) {
            throw new ExtensionError("The certificate is not a personal certificate with a private key.");
          }
          const email = (identity.email || "").toLowerCase();
          if (!email || !certEmails(cert).has(email)) {
            throw new ExtensionError(`The certificate is not for ${identity.email}.`);
          }
          const signing = !slots || slots.signing !== false;
          const encryption = !slots || slots.encryption !== false;
          if (signing) {
            identity.setUnicharAttribute("signing_cert_name", cert.displayName);
            identity.setCharAttribute("signing_cert_dbkey", dbKey);
          }
          if (encryption) {
            identity.setUnicharAttribute("encryption_cert_name", cert.displayName);
            identity.setCharAttribute("encryption_cert_dbkey", dbKey);
          }
          Services.prefs.savePrefFile(null);
          return binding(identity);
        },

        async unbind(identityId, dbKey) {
          const identity = findIdentity(identityId);
          if (identity.getCharAttribute("signing_cert_dbkey") === dbKey) {
            identity.setUnicharAttribute("signing_cert_name", "");
            identity.setCharAttribute("signing_cert_dbkey", "");
          }
          if (identity.getCharAttribute("encryption_cert_dbkey") === dbKey) {
            identity.setUnicharAttribute("encryption_cert_name", "");
            identity.setCharAttribute("encryption_cert_dbkey", "");
          }
          Services.prefs.savePrefFile(null);
          return binding(identity);
        },
      },
    };
  }
};
