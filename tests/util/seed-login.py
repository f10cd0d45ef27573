#!/usr/bin/python3
"""Save a password in a Thunderbird profile, offline, as Thunderbird's login manager would.

    /usr/bin/python3 seed-login.py PROFILE < {"origin": ..., "username": ..., "password": ...}

The login (JSON on stdin, so the password is never on a command line) is added to
PROFILE/logins.json.  Its user name and password are encrypted with NSS's SDR
(PK11SDR_Encrypt) under the key in PROFILE/key4.db, which must exist with an empty password
(`certutil -N -d sql:PROFILE --empty-password`).  Thunderbird's own NSS reads what the system
NSS writes here (docs: docs/thunderbird.md §3.2).  For an IMAP account the origin is
`imap://HOST` without the port; Thunderbird then logs in without asking.

Prints nothing on success; on failure, the reason to stderr and a non-zero exit status.
"""
import base64
import ctypes
import json
import os
import sys
import time
import uuid

# the system NSS (Debian's libnss3); the name has no version in it
NSS_LIBRARY = "libnss3.so"


class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_void_p), ("len", ctypes.c_uint)]


class Sdr:
    """The profile's NSS database, opened read-write for the time of the `with`."""

    def __init__(self, profile):
        self.nss = ctypes.CDLL(NSS_LIBRARY)
        self.profile = profile
        nss = self.nss
        nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
        nss.PORT_GetError.restype = ctypes.c_int
        nss.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
        nss.PK11_NeedLogin.argtypes = [ctypes.c_void_p]
        nss.PK11_CheckUserPassword.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        nss.PK11_FreeSlot.argtypes = [ctypes.c_void_p]
        sdr_args = [ctypes.POINTER(SECItem), ctypes.POINTER(SECItem), ctypes.POINTER(SECItem), ctypes.c_void_p]
        nss.PK11SDR_Encrypt.argtypes = sdr_args
        nss.PK11SDR_Decrypt.argtypes = sdr_args[1:]
        nss.SECITEM_ZfreeItem.argtypes = [ctypes.POINTER(SECItem), ctypes.c_int]

    def fail(self, what):
        sys.exit(f"seed-login: {what} failed (NSS error {self.nss.PORT_GetError()})")

    def __enter__(self):
        if self.nss.NSS_InitReadWrite(b"sql:" + os.fsencode(self.profile)) != 0:
            self.fail(f"opening the NSS database in {self.profile}")
        slot = self.nss.PK11_GetInternalKeySlot()
        if not slot:
            self.fail("PK11_GetInternalKeySlot")
        # an empty password: the same login Thunderbird does silently at start-up
        if self.nss.PK11_NeedLogin(slot) and self.nss.PK11_CheckUserPassword(slot, b"") != 0:
            sys.exit("seed-login: the profile's key database has a password")
        self.nss.PK11_FreeSlot(slot)
        return self

    def __exit__(self, *exc):
        self.nss.NSS_Shutdown()

    def _result(self, status, out, what) -> bytes:
        if status != 0:
            self.fail(what)
        result = ctypes.string_at(out.data, out.len)
        self.nss.SECITEM_ZfreeItem(ctypes.byref(out), 0)
        return result

    @staticmethod
    def _item(data: bytes):
        buf = ctypes.create_string_buffer(data, len(data))
        return SECItem(0, ctypes.cast(buf, ctypes.c_void_p), len(data)), buf

    def encrypt(self, text: str) -> str:
        item, _buf = self._item(text.encode("utf-8"))
        keyid = SECItem(0, None, 0)   # the default key of the internal slot
        out = SECItem(0, None, 0)
        status = self.nss.PK11SDR_Encrypt(ctypes.byref(keyid), ctypes.byref(item), ctypes.byref(out), None)
        return base64.b64encode(self._result(status, out, "PK11SDR_Encrypt")).decode("ascii")

    def decrypt(self, b64: str) -> str:
        item, _buf = self._item(base64.b64decode(b64))
        out = SECItem(0, None, 0)
        status = self.nss.PK11SDR_Decrypt(ctypes.byref(item), ctypes.byref(out), None)
        return self._result(status, out, "PK11SDR_Decrypt").decode("utf-8")


def load_logins(path):
    if not os.path.exists(path):
        return {"nextId": 1, "logins": [], "potentiallyVulnerablePasswords": [],
                "dismissedBreachAlertsByLoginGUID": {}, "version": 3}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def login_entry(sdr, entry_id, origin, username, password):
    now = int(time.time() * 1000)
    # Thunderbird's mail servers store their logins with the origin as httpRealm too
    return {
        "id": entry_id, "hostname": origin, "httpRealm": origin, "formSubmitURL": None,
        "usernameField": "", "passwordField": "",
        "encryptedUsername": sdr.encrypt(username), "encryptedPassword": sdr.encrypt(password),
        "guid": "{%s}" % uuid.uuid4(), "encType": 1,
        "timeCreated": now, "timeLastUsed": now, "timePasswordChanged": now, "timesUsed": 1,
        "syncCounter": 0, "everSynced": False, "encryptedUnknownFields": None,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seed-login.py PROFILE < login.json")
    profile = sys.argv[1]
    login = json.load(sys.stdin)
    origin, username, password = login["origin"], login["username"], login["password"]
    if not os.path.exists(os.path.join(profile, "key4.db")):
        sys.exit(f"seed-login: {profile} has no key4.db")
    path = os.path.join(profile, "logins.json")
    logins = load_logins(path)
    with Sdr(profile) as sdr:
        entry = login_entry(sdr, logins["nextId"], origin, username, password)
        # read it back: what Thunderbird will do with it
        if sdr.decrypt(entry["encryptedPassword"]) != password:
            sys.exit("seed-login: the password does not decrypt to itself")
    logins["logins"].append(entry)
    logins["nextId"] += 1
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(logins, handle)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
