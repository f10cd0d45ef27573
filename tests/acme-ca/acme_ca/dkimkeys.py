"""DKIM signing key for challenge mail, and its published TXT record.

The key is generated at start-up. The TXT value goes to STATE/dkim/dkim.txt,
a dnsmasq snippet to STATE/dkim/dnsmasq.conf and a 'name TXT' line (the
format --reply-dkim-keys and the self-test read) to STATE/dkim/keys.txt.
"""
import base64
import dataclasses
import os
import queue
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

# RFC 8823 §3.1 item 6: h= MUST include these (challenge mail) ...
CHALLENGE_REQUIRED = ("from", "sender", "reply-to", "to", "cc", "subject", "date",
                      "in-reply-to", "references", "message-id", "auto-submitted",
                      "content-type", "content-transfer-encoding")
# ... and SHOULD include these.
SHOULD_SIGN = ("resent-date", "resent-from", "resent-to", "resent-cc", "list-id", "list-help",
               "list-unsubscribe", "list-subscribe", "list-post", "list-owner",
               "list-archive", "list-unsubscribe-post")
# RFC 8823 §3.2 item 9: a reply's h= MUST include these 12 (no Auto-Submitted).
REPLY_REQUIRED = tuple(h for h in CHALLENGE_REQUIRED if h != "auto-submitted")


@dataclasses.dataclass
class DkimKey:
    algorithm: bytes        # b"rsa-sha256" or b"ed25519-sha256"
    private: bytes          # in the form dkimpy's sign() wants
    selector: str
    domain: str
    txt: str                # the TXT record value

    @property
    def record_name(self):
        return f"{self.selector}._domainkey.{self.domain}"


def _rsa_race(bits=2048):
    """RSA prime search time varies a lot (0.1-0.9 s here); start two searches
    (OpenSSL releases the GIL) and keep whichever finishes first."""
    results = queue.Queue()

    def work():
        results.put(rsa.generate_private_key(public_exponent=65537, key_size=bits))
    for _ in range(2):
        threading.Thread(target=work, name="rsa-keygen", daemon=True).start()
    return results.get()


def from_private_key(key, selector: str, domain: str) -> DkimKey:
    if isinstance(key, rsa.RSAPrivateKey):
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()
        return DkimKey(b"rsa-sha256", private, selector, domain, txt)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        txt = "v=DKIM1; k=ed25519; p=" + base64.b64encode(pub).decode()
        return DkimKey(b"ed25519-sha256", base64.b64encode(seed), selector, domain, txt)
    raise ValueError("DKIM keys must be RSA or Ed25519")


def generate(kind: str, selector: str, domain: str) -> DkimKey:
    if kind == "rsa":
        return from_private_key(_rsa_race(), selector, domain)
    if kind == "ed25519":
        return from_private_key(ed25519.Ed25519PrivateKey.generate(), selector, domain)
    raise ValueError(f"unknown DKIM key type {kind!r}")


def load_or_create(path: str, kind: str, selector: str, domain: str) -> DkimKey:
    """Use the PEM key at ``path``; if there is none, generate one and store it
    there (atomically, so parallel CAs sharing the path agree on one key)."""
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        return from_private_key(key, selector, domain)
    except FileNotFoundError:
        pass
    key = _rsa_race() if kind == "rsa" else ed25519.Ed25519PrivateKey.generate()
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)          # fails if another CA stored a key meanwhile
    except FileExistsError:
        os.unlink(tmp)
        return load_or_create(path, kind, selector, domain)
    os.unlink(tmp)
    return from_private_key(key, selector, domain)


def key_kind(key: DkimKey) -> str:
    return "rsa" if key.algorithm == b"rsa-sha256" else "ed25519"


def _dnsmasq_line(name: str, txt: str) -> str:
    chunks = [txt[i:i + 255] for i in range(0, len(txt), 255)]
    return "txt-record=" + name + "," + ",".join(f'"{c}"' for c in chunks) + "\n"


def publish(key: DkimKey, directory: str) -> dict:
    """Write the record files; return {name: path} for the control surface."""
    os.makedirs(directory, exist_ok=True)
    files = {
        "DKIM_TXT": ("dkim.txt", key.txt + "\n"),
        "DKIM_DNSMASQ": ("dnsmasq.conf", _dnsmasq_line(key.record_name, key.txt)),
        "DKIM_KEYS": ("keys.txt", f"{key.record_name} {key.txt}\n"),
        "DKIM_PRIVATE_KEY": ("private.key", key.private.decode() + "\n"),   # dkimpy form
    }
    out = {}
    for label, (name, text) in files.items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="ascii") as handle:
            handle.write(text)
        out[label] = path
    os.chmod(out["DKIM_PRIVATE_KEY"], 0o600)
    return out


def load_key_records(path: str) -> dict:
    """Read 'selector._domainkey.domain TXT...' lines (blank and # lines ignored)."""
    records = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, txt = line.partition(" ")
            records[name.rstrip(".").lower()] = txt.strip().strip('"').encode()
    return records
