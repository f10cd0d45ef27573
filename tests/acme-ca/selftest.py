#!/usr/bin/python3
"""Self-test of the RFC 8823 test CA, driven by an independent client.

Run: /usr/bin/python3 tests/acme-ca/selftest.py [-k SUBSTRING] [-v]

The ACME side uses Debian's python3-acme (certbot's library: ClientV2,
messages, josepy keys); the RFC 8823 side (mail parsing, token join, digest,
reply composition) is written here from the RFC, independently of the CA's
code. Strictness cases send hand-made JWS with josepy. Each case starts its
own CA process. Prints one line per case and ends with "N passed, N failed".
"""
import argparse
import base64
import datetime
import email
import email.header
import email.policy
import email.utils
import glob
import hashlib
import json
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import josepy as jose
import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
CA_SCRIPT = os.path.join(HERE, "acme-ca.py")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, HERE)

messages.IdentifierType("email")        # teach python-acme the RFC 8823 identifier type
messages.Status("expired")              # RFC 8555 authz status python-acme 2.1 lacks
ERR = "urn:ietf:params:acme:error:"
POLICY_STRICT = "2.23.140.1.5.1.3"
CHALLENGE_DKIM_NAMES = ("from", "sender", "reply-to", "to", "cc", "subject", "date",
                        "in-reply-to", "references", "message-id", "auto-submitted",
                        "content-type", "content-transfer-encoding")
REPLY_DKIM_NAMES = [n for n in CHALLENGE_DKIM_NAMES if n != "auto-submitted"]
STARTUP_MS = []
VERBOSE = False


class CaseFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailure(message)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(text: str) -> bytes:
    text = re.sub(r"\s+", "", text).rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --------------------------------------------------------------------------------------
# The CA process
# --------------------------------------------------------------------------------------
class CA:
    """One fresh CA process; its control-surface lines become attributes."""

    def __init__(self, *args):
        self.args = list(args)
        self.stderr = tempfile.TemporaryFile()
        self.tmp = tempfile.TemporaryDirectory(prefix="acme-ca-selftest-")
        opt = dict(zip(self.args, self.args[1:]))
        if "--dkim-key" in opt:     # generated only when the file does not exist yet
            rsa_keygen = not os.path.exists(opt["--dkim-key"]) and opt.get("--dkim") != "ed25519"
        else:
            rsa_keygen = opt.get("--dkim") == "rsa"
        start = time.monotonic()
        self.proc = subprocess.Popen([PYTHON, CA_SCRIPT, "--exit-on-stdin-eof",
                                      "--state-dir", self.tmp.name, *self.args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        self.info = {}
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == "READY":
                break
            key, _, value = line.partition("=")
            self.info[key] = value
        else:
            self.stderr.seek(0)
            raise CaseFailure("CA did not start: " + self.stderr.read().decode()[-2000:])
        self.startup_ms = (time.monotonic() - start) * 1000
        STARTUP_MS.append((self.startup_ms, rsa_keygen))
        self.directory = self.info["DIRECTORY"]
        self.ca_file = self.info["CA_FILE"]
        self.maildir = self.info["MAILDIR"]
        self.smtp_port = int(self.info["SMTP_REPLY_PORT"])
        self.drop_dir = self.info["DROP_DIR"]
        self.from_addr = self.info["FROM"]
        self.http = requests.Session()
        self.http.trust_env = False     # else REQUESTS_CA_BUNDLE overrides verify=
        self.http.verify = self.ca_file
        self.dir = self.http.get(self.directory).json()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(5)
        self.http.close()
        self.tmp.cleanup()

    def status(self):
        with open(self.info["STATUS_FILE"], encoding="utf-8") as handle:
            return json.load(handle)

    def challenge_status(self, chall_url):
        return next(c for c in self.status()["challenges"] if c["url"] == chall_url)

    def wait_status(self, predicate, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if predicate(status):
                return status
            time.sleep(0.05)
        raise CaseFailure(f"timed out waiting for {what}")

    def mails_to(self, addr):
        found = []
        for path in sorted(glob.glob(os.path.join(self.maildir, "new", "*"))):
            with open(path, "rb") as handle:
                raw = handle.read()
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            if any(a == addr for _, a in email.utils.getaddresses(msg.get_all("To", []))):
                found.append(raw)
        return found

    def wait_mail(self, addr, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.mails_to(addr)
            if len(mails) >= count:
                return mails
            time.sleep(0.05)
        raise CaseFailure(f"no challenge mail to {addr} within {timeout}s")


# --------------------------------------------------------------------------------------
# ACME client side (python-acme)
# --------------------------------------------------------------------------------------
class JsonBody(jose.JSONDeSerializable):
    """A literal JSON object payload for ClientNetwork.post()."""

    def __init__(self, obj):
        self.obj = obj

    def to_partial_json(self):
        return self.obj

    @classmethod
    def from_json(cls, jobj):
        return cls(jobj)

    def json_dumps(self, **kwargs):
        return json.dumps(self.obj)


def new_account_key(kind="ec"):
    if kind == "rsa":
        return jose.JWKRSA(key=rsa.generate_private_key(65537, 2048)), jose.RS256
    if kind == "ec384":
        return jose.JWKEC(key=ec.generate_private_key(ec.SECP384R1())), jose.ES384
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())), jose.ES256


class Client:
    """A python-acme ClientV2 plus the small RFC 8823 pieces it lacks."""

    def __init__(self, ca, key_kind="ec", key=None, register=True, eab=None,
                 contact="alice@example.com"):
        self.ca = ca
        self.key, alg = key if key else new_account_key(key_kind)
        self.net = acme_client.ClientNetwork(self.key, alg=alg, verify_ssl=ca.ca_file,
                                             user_agent="mailenroll-acme-ca-selftest/1")
        self.net.session.verify = ca.ca_file
        self.net.session.trust_env = False
        self.acme = acme_client.ClientV2(
            acme_client.ClientV2.get_directory(ca.directory, self.net), self.net)
        self.regr = None
        if register:
            self.register(contact, eab)

    def register(self, contact="alice@example.com", eab=None):
        reg = messages.NewRegistration.from_data(email=contact, terms_of_service_agreed=True,
                                                 external_account_binding=eab)
        self.regr = self.acme.new_account(reg)
        return self.regr

    def post(self, url, obj):
        return self.acme._post(url, obj)        # noqa: SLF001 - python-acme's signing POST

    def get(self, url):
        return self.acme._post_as_get(url)      # noqa: SLF001

    def new_order(self, addresses):
        ids = [messages.Identifier(typ=messages.IdentifierType("email"), value=a)
               for a in addresses]
        response = self.post(self.acme.directory["newOrder"], messages.NewOrder(identifiers=ids))
        check(response.status_code == 201, f"newOrder gave {response.status_code}")
        return response.headers["Location"], messages.Order.from_json(response.json())

    def authz(self, url):
        return messages.Authorization.from_json(self.get(url).json())

    def email_challenge(self, authz):
        found = [c for c in authz.challenges if c.chall.to_partial_json().get("type") ==
                 "email-reply-00"]
        check(len(found) == 1, f"expected one email-reply-00 challenge, got {authz.challenges}")
        body = found[0]
        jobj = body.chall.jobj
        return {"url": body.uri, "token": jobj["token"], "from": jobj["from"],
                "status": body.status.name}

    def answer(self, chall_url):
        """POST {} to the challenge (RFC 8823 step 7)."""
        response = self.post(chall_url, JsonBody({}))
        check("up" in response.links, "challenge response lacks Link rel=up")
        return response.json()

    def poll_authz(self, url, until=("valid", "invalid", "expired"), timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            obj = self.get(url).json()
            if obj["status"] in until:
                return obj
            time.sleep(0.1)
        raise CaseFailure(f"authz {url} stayed {obj['status']}")

    def finalize(self, order_url, order, csr_der, timeout=10.0):
        self.post(order.finalize, JsonBody({"csr": b64u(csr_der)}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            obj = self.get(order_url).json()
            if obj["status"] == "valid":
                response = self.get(obj["certificate"])
                check(response.headers["Content-Type"] == "application/pem-certificate-chain",
                      f"certificate Content-Type {response.headers['Content-Type']}")
                return obj, response.text
            check(obj["status"] == "processing", f"order became {obj['status']}: {obj}")
            time.sleep(0.1)
        raise CaseFailure("order did not become valid")

    def thumbprint(self):
        return b64u(self.key.public_key().thumbprint(hashes.SHA256))


def expect_error(func, kind, status=None):
    """Run func; require an ACME problem of type ``kind``."""
    try:
        func()
    except messages.Error as err:
        check(err.typ == ERR + kind, f"expected {kind}, got {err.typ}: {err.detail}")
        return err
    except acme_errors.ConflictError as err:
        raise CaseFailure(f"expected {kind}, got conflict {err}")
    raise CaseFailure(f"expected error {kind}, request succeeded")


# --------------------------------------------------------------------------------------
# RFC 8823 client side, written from the RFC (not from the CA's code)
# --------------------------------------------------------------------------------------
def parse_challenge_mail(raw, chall, identifier):
    """Checks a client must make (RFC 8823 §3.1); returns (token1, message_id, reply_to)."""
    check(b"\n" not in raw.replace(b"\r\n", b""), "challenge mail has a bare LF/CR")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = re.sub(r"\r?\n(?=[ \t])", "", msg["Subject"])
    decoded = "".join(part.decode(cs or "ascii") if isinstance(part, bytes) else part
                      for part, cs in email.header.decode_header(subject))
    check(decoded.startswith("ACME:") and decoded[5:6].isspace(), f"bad Subject {decoded!r}")
    token1 = re.sub(r"\s+", "", decoded[5:])
    check(len(b64u_dec(token1)) >= 16, "token-part1 below 128 bits")
    from_addr = email.utils.parseaddr(msg["From"])[1]
    check(from_addr == chall["from"], f"From {from_addr} != challenge from {chall['from']}")
    check(email.utils.parseaddr(msg["To"])[1] == identifier, "To is not the identifier")
    auto = (msg["Auto-Submitted"] or "").split(";")[0].strip()
    check(auto == "auto-generated", f"Auto-Submitted {msg['Auto-Submitted']!r}")
    check(msg["Message-ID"] and msg["Date"], "Message-ID/Date missing")
    reply_to = email.utils.parseaddr(msg["Reply-To"])[1] if msg["Reply-To"] else None
    return token1, msg["Message-ID"].strip(), reply_to


def join_tokens(part1, part2, mode):
    if mode == "string":
        return part1 + part2
    return b64u(b64u_dec(part1) + b64u_dec(part2))


def digest(part1, part2, thumbprint, mode):
    key_auth = join_tokens(part1, part2, mode) + "." + thumbprint
    return b64u(hashlib.sha256(key_auth.encode()).digest())


def compose_reply(identifier, to_addr, token1, in_reply_to, response, eol="\r\n",
                  extra_headers=()):
    headers = [f"From: {identifier}", f"To: {to_addr}", f"Subject: Re: ACME: {token1}",
               f"Date: {email.utils.formatdate(localtime=True)}",
               f"Message-ID: <{uuid.uuid4()}@example.com>", f"In-Reply-To: {in_reply_to}",
               f"References: {in_reply_to}", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit",
               *extra_headers]
    body = ["Reply to the ACME challenge.", "", "-----BEGIN ACME RESPONSE-----", response,
            "-----END ACME RESPONSE-----", ""]
    return (eol.join(headers) + eol + eol + eol.join(body)).encode("ascii")


def send_smtp(ca, raw, sender, to_addr):
    with smtplib.SMTP("127.0.0.1", ca.smtp_port, timeout=10) as smtp:
        smtp.sendmail(sender, [to_addr], raw)


def send_drop(ca, raw):
    name = f"reply-{uuid.uuid4().hex}.eml"
    tmp = os.path.join(ca.drop_dir, "." + name)
    with open(tmp, "wb") as handle:
        handle.write(raw)
    os.rename(tmp, os.path.join(ca.drop_dir, name))


def deliver(ca, raw, via, sender, to_addr, chall_url, expected_count=1):
    if via == "smtp":
        send_smtp(ca, raw, sender, to_addr)
    else:
        send_drop(ca, raw)
    ca.wait_status(lambda s: next(c for c in s["challenges"] if c["url"] == chall_url)
                   ["reply_count"] >= expected_count, "the reply to be recorded")


def make_csr(addresses, key=None, key_usage="default", cn=True, extra_ext=None, san=None):
    key = key or rsa.generate_private_key(65537, 2048)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, addresses[0])] if cn else []))
    builder = builder.add_extension(x509.SubjectAlternativeName(
        [x509.RFC822Name(a) for a in (san or addresses)]), critical=False)
    if key_usage == "default":
        if isinstance(key, rsa.RSAPrivateKey):
            ku = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
        else:
            ku = x509.KeyUsage(True, False, False, False, True, False, False, False, False)
        builder = builder.add_extension(ku, critical=True)
    elif key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if extra_ext is not None:
        builder = builder.add_extension(extra_ext, critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return key, csr.public_bytes(serialization.Encoding.DER)


def verify_chain(ca, pem_chain, address, cert_key):
    """What mailenroll must check after issuance (docs/standards.md §3.6, §4)."""
    check(pem_chain.count("-----BEGIN ") == pem_chain.count("-----BEGIN CERTIFICATE-----"),
          "non-CERTIFICATE PEM block in the chain")
    certs = x509.load_pem_x509_certificates(pem_chain.encode()) \
        if hasattr(x509, "load_pem_x509_certificates") else _split_pem(pem_chain)
    check(len(certs) == 2, f"chain has {len(certs)} certificates, expected 2")
    ee, inter = certs
    with open(ca.info["SMIME_ROOT"], "rb") as handle:
        root = x509.load_pem_x509_certificate(handle.read())
    for child, parent in ((ee, inter), (inter, root)):
        check(child.issuer == parent.subject, "issuer/subject mismatch in chain")
        parent.public_key().verify(child.signature, child.tbs_certificate_bytes,
                                   ec.ECDSA(child.signature_hash_algorithm))
    eku = ee.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    check(list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION], f"EKU {list(eku)}")
    policies = ee.extensions.get_extension_for_class(x509.CertificatePolicies).value
    check([p.policy_identifier.dotted_string for p in policies] == [POLICY_STRICT],
          "certificatePolicies is not exactly the strict mailbox-validated OID")
    san = ee.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    check(san.get_values_for_type(x509.RFC822Name) == [address], "SAN != identifier")
    check(len(list(san)) == 1, "SAN holds more than the mailbox")
    ku = ee.extensions.get_extension_for_class(x509.KeyUsage)
    check(ku.critical and ku.value.digital_signature, "KU not critical or no digitalSignature")
    if isinstance(cert_key, rsa.RSAPrivateKey):
        check(ku.value.key_encipherment and not ku.value.key_agreement, "RSA KU")
    bc = ee.extensions.get_extension_for_class(x509.BasicConstraints).value
    check(not bc.ca, "EE is a CA")
    days = (ee.not_valid_after - ee.not_valid_before).total_seconds() / 86400
    check(days <= 825, f"validity {days} days")
    check(ee.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo) ==
          cert_key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo),
          "certificate key != CSR key")
    return ee, inter


def _split_pem(text):
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", text, re.S)
    return [x509.load_pem_x509_certificate(b.encode()) for b in blocks]


def ari_id(cert):
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number
    return b64u(aki) + "." + b64u(serial.to_bytes(serial.bit_length() // 8 + 1, "big"))


def validate_authz(ca, cli, address, join="string", via="smtp", mail_on="authz"):
    """Order for ``address`` and get its authz valid; returns (order_url, order, chall)."""
    order_url, order = cli.new_order([address])
    authz_url = order.authorizations[0]
    chall = cli.email_challenge(cli.authz(authz_url))
    if mail_on == "challenge":
        cli.answer(chall["url"])
    raw = ca.wait_mail(address)[-1]
    token1, message_id, reply_to = parse_challenge_mail(raw, chall, address)
    reply = compose_reply(address, reply_to or chall["from"], token1, message_id,
                          digest(token1, chall["token"], cli.thumbprint(), join))
    deliver(ca, reply, via, address, reply_to or chall["from"], chall["url"])
    if mail_on == "authz":
        cli.answer(chall["url"])
    authz = cli.poll_authz(authz_url)
    check(authz["status"] == "valid", f"authz {authz['status']}: {authz['challenges'][0]}")
    return order_url, order, chall


# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------
def case_digest_vectors():
    """docs/standards.md §2.2-2.5, §2.7 against the CA's own functions."""
    from acme_ca import pki, rfc8823, util
    rfc_p1, rfc_p2 = "LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=", "DGyRejmCefe7v4NfDGDKfA"
    jwk_22 = {"e": "AQAB", "kty": "RSA", "n": "27Z2spNnDcdfd-LSXjIAblFX-fCXimg85H7TfEe-1BJ50tfU"
              "JKAMLoKGQMnh-pw0xfwsYJKCymPV3RvyApAO7Q"}
    tp = rfc8823.jwk_thumbprint(jwk_22)
    check(tp == "1_nKJnlH9boVxdoO63T8zP7O2w42qZL4d6xj35Hy5aI", f"§2.2 thumbprint {tp}")
    vectors = [
        (rfc_p1, rfc_p2, tp, "string", "AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk"),
        (rfc_p1, rfc_p2, tp, "binary", "xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk"),
        ("V4nE8NhYh6edBpfQTg5qqQ", "x6I65YvEk6xC4KV0QMvdJw",
         "hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ", "binary",
         "Fjt2SD7KoqSt3I6jwgg8ljjkP9Er7h1w0wF0UihvQIU"),
        ("V4nE8NhYh6edBpfQTg5qqQ", "x6I65YvEk6xC4KV0QMvdJw",
         "hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ", "string",
         "gtzugYfQ1gO_Pi-ripWZTUtKP_xzPoQe-brDkSOvX5c"),
    ]
    a3 = {"crv": "P-256", "kty": "EC", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
          "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
    tp_a3 = rfc8823.jwk_thumbprint(a3)
    check(tp_a3 == "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", f"§2.4 thumbprint {tp_a3}")
    p24 = b64u(bytes(range(24)))
    p16 = b64u(bytes(range(16)))
    check(p24 == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX" and p16 == "AAECAwQFBgcICQoLDA0ODw", "§2.4")
    vectors += [
        (p24, rfc_p2, tp_a3, "string", "rRJ_YZrkZnAGXyTlxstW4AkMhRSfI9___xD8PbpD4X8"),
        (p24, rfc_p2, tp_a3, "binary", "rRJ_YZrkZnAGXyTlxstW4AkMhRSfI9___xD8PbpD4X8"),
        (p16, rfc_p2, tp_a3, "string", "bmwOeXENmYFc4kBt-P3ESHGS9muqrR8SX7-iZuCWQWQ"),
        (p16, rfc_p2, tp_a3, "binary", "AuB8KFUopvZTIJVZokus7fWTLAgj3i1xB7bhLf1DgK0"),
    ]
    for p1, p2, thumb, mode, want in vectors:
        got = rfc8823.response_digest(p1, p2, thumb, mode)
        check(got == want, f"{mode} join of {p1[:8]}..: {got} != {want}")
        check(digest(p1, p2, thumb, mode) == want, "the self-test's own digest disagrees")
    rfc7638 = {"e": "AQAB", "kty": "RSA", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"),
        "alg": "RS256", "kid": "2011-04-29"}
    check(rfc8823.jwk_thumbprint(rfc7638) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
          "RFC 7638 §3.1 thumbprint")
    cert_id = pki.ari_cert_id(bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4"),
                              0x87654321)
    check(cert_id == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", f"§2.7 ARI certID {cert_id}")
    for bad in ("e30=", "e3 0", "e30\n", "a", "e31"):
        try:
            util.b64url_decode(bad)
        except util.B64Error:
            continue
        raise CaseFailure(f"strict base64url decoder accepted {bad!r}")
    return "9 digest vectors, 3 thumbprints, ARI certID, strict base64url"


def full_flow(ca_args, join, mail_on, via, cert_key_kind="rsa", account_kind="ec"):
    with CA(*ca_args) as ca:
        cli = Client(ca, account_kind)
        address = f"alice.{uuid.uuid4().hex[:8]}@example.com"
        order_url, order = cli.new_order([address])
        check(order.status.name == "pending", "new order not pending")
        authz_url = order.authorizations[0]
        chall = cli.email_challenge(cli.authz(authz_url))
        check(len(b64u_dec(chall["token"])) >= 16, "token-part2 below 128 bits")
        check(chall["from"] == ca.from_addr, "challenge from != CA From")
        if mail_on == "challenge":
            time.sleep(0.3)
            check(not ca.mails_to(address), "mail sent on authz fetch with --mail-on challenge")
            answered = cli.answer(chall["url"])
            check(answered["status"] == "processing", f"challenge {answered['status']} after POST")
        mails = ca.wait_mail(address)
        token1, message_id, reply_to = parse_challenge_mail(mails[-1], chall, address)
        if "--reply-to" in ca_args:
            check(reply_to == ca_args[ca_args.index("--reply-to") + 1], "Reply-To missing")
        to_addr = reply_to or chall["from"]
        response = digest(token1, chall["token"], cli.thumbprint(), join)
        deliver(ca, compose_reply(address, to_addr, token1, message_id, response), via,
                address, to_addr, chall["url"])
        if mail_on == "authz":
            cli.answer(chall["url"])
        authz = cli.poll_authz(authz_url)
        check(authz["status"] == "valid", f"authz {authz['status']}: {authz['challenges']}")
        cert_key = rsa.generate_private_key(65537, 2048) if cert_key_kind == "rsa" else \
            ec.generate_private_key(ec.SECP256R1())
        _, csr = make_csr([address], cert_key)
        final, chain = cli.finalize(order_url, order, csr)
        ee, _ = verify_chain(ca, chain, address, cert_key)
        info = ca.challenge_status(chall["url"])
        check(info["reply_count"] == 1 and not info["second_reply"], "reply count")
        check(info["replies"][0]["ok"] and not info["replies"][0]["warnings"],
              f"reply verdict {info['replies'][0]}")
        ari = ca.http.get(ca.dir["renewalInfo"] + "/" + ari_id(ee))
        check(ari.status_code == 200 and "suggestedWindow" in ari.json(), "ARI lookup")
        return (f"token1 {token1[:6]}.. ({len(token1)} chars), mails {info['mails_sent']}, "
                f"via {via}, {cert_key_kind} cert")


def case_flow_string_authz_smtp():
    return full_flow([], "string", "authz", "smtp")


def case_flow_string_challenge_drop():
    return full_flow(["--mail-on", "challenge"], "string", "challenge", "drop", "ec")


def case_flow_binary_authz_drop():
    return full_flow(["--token-join", "binary", "--pad-token-part1", "--encoded-subject"],
                     "binary", "authz", "drop", account_kind="rsa")


def case_flow_binary_challenge_smtp():
    return full_flow(["--token-join", "binary", "--mail-on", "challenge", "--folded-subject",
                      "--reply-to", "replies@acme-ca.test", "--repeat-mail", "2",
                      "--validation-delay", "0.3", "--retry-after", "1",
                      "--issuance-delay", "0.3"], "binary", "challenge", "smtp", "ec",
                     account_kind="ec384")


def case_eab_required():
    kid, key = "kid-1", b64u(os.urandom(32))
    with CA("--eab", f"{kid}:{key}") as ca:
        check(ca.dir["meta"].get("externalAccountRequired") is True, "meta.externalAccountRequired")
        cli = Client(ca, register=False)
        expect_error(lambda: cli.register(), "externalAccountRequired")
        bad = messages.ExternalAccountBinding.from_data(cli.key.public_key(), kid,
                                                        b64u(os.urandom(32)), cli.acme.directory)
        expect_error(lambda: cli.register(eab=bad), "unauthorized")
        unknown = messages.ExternalAccountBinding.from_data(cli.key.public_key(), "nope", key,
                                                            cli.acme.directory)
        expect_error(lambda: cli.register(eab=unknown), "unauthorized")
        good = messages.ExternalAccountBinding.from_data(cli.key.public_key(), kid, key,
                                                         cli.acme.directory)
        regr = cli.register(eab=good)
        check(regr.body.external_account_binding is not None, "binding not echoed")
        accounts = ca.status()["accounts"]
        check(len(accounts) == 1 and accounts[0]["eab_kid"] == kid, "status eab_kid")
        return "absent/wrong MAC/unknown kid rejected; valid binding accepted"


def case_eab_single_use():
    kid, key = "kid-1", b64u(os.urandom(32))
    with CA("--eab", f"{kid}:{key}", "--eab-single-use") as ca:
        first = Client(ca, register=False)
        first.register(eab=messages.ExternalAccountBinding.from_data(
            first.key.public_key(), kid, key, first.acme.directory))
        # the same key again is the same account (200 + Location), no second use of the binding
        try:
            again = Client(ca, key=(first.key, first.net.alg), register=False)
            again.register(eab=messages.ExternalAccountBinding.from_data(
                again.key.public_key(), kid, key, again.acme.directory))
            raise CaseFailure("the same key again made no 200")
        except acme_errors.ConflictError:
            pass
        second = Client(ca, register=False)
        expect_error(lambda: second.register(eab=messages.ExternalAccountBinding.from_data(
            second.key.public_key(), kid, key, second.acme.directory)), "unauthorized")
        counters = ca.status()["counters"]
        check(counters.get("accounts_created") == 1, f"accounts_created {counters}")
        check(counters.get("new_account_requests") == 3, f"new_account_requests {counters}")
        return "the binding creates one account; the same key again is that account; another key is refused"


def _dkim_case(kind):
    import dkim
    from dkim.util import parse_tag_value
    with CA("--dkim", kind) as ca:
        with open(ca.info["DKIM_KEYS"], encoding="ascii") as handle:
            name, txt = handle.read().strip().split(" ", 1)
        with open(ca.info["DKIM_TXT"], encoding="ascii") as handle:
            check(handle.read().strip() == txt, "dkim.txt differs from keys.txt")
        with open(ca.info["DKIM_DNSMASQ"], encoding="ascii") as handle:
            check(handle.read().startswith(f"txt-record={name},\""), "dnsmasq line")
        check(name == ca.info["DKIM_RECORD"] == "acme-ca._domainkey.acme-ca.test", name)
        cli = Client(ca)
        address = f"bob.{uuid.uuid4().hex[:6]}@example.com"
        _, order = cli.new_order([address])
        cli.authz(order.authorizations[0])
        raw = ca.wait_mail(address)[0]

        def dnsfunc(qname, timeout=5):
            return txt.encode() if qname.decode().rstrip(".") == name else None
        check(dkim.verify(raw, dnsfunc=dnsfunc), "dkimpy does not verify the challenge mail")
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        tags = parse_tag_value(re.sub(r"\s+", "", msg["DKIM-Signature"]).encode())
        check(tags[b"d"] == b"acme-ca.test", f"d={tags[b'd']}")
        check(tags[b"a"] == (b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"), "a=")
        signed = set(tags[b"h"].decode().lower().split(":"))
        missing = [n for n in CHALLENGE_DKIM_NAMES if n not in signed]
        check(not missing, f"h= lacks {missing}")
        tampered = raw.replace(b"Subject: ACME:", b"Subject: ACME:  ", 1)
        check(not dkim.verify(tampered.replace(b"To: ", b"To: x", 1), dnsfunc=dnsfunc),
              "tampered mail still verifies")
        return f"{tags[b'a'].decode()} d={tags[b'd'].decode()} h= {len(signed)} names"


def case_dkim_rsa_challenge_mail():
    return _dkim_case("rsa")


def case_dkim_ed25519_challenge_mail():
    return _dkim_case("ed25519")


def case_reply_dkim_required():
    import dkim
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    keys_file = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    keys_file.write(f"user._domainkey.example.com v=DKIM1; k=rsa; "
                    f"p={base64.b64encode(spki).decode()}\n")
    keys_file.close()
    results = []
    try:
        with CA("--require-reply-dkim", "--reply-dkim-keys", keys_file.name) as ca:
            cli = Client(ca)
            for mode in ("signed", "narrow-h", "unsigned"):
                address = f"carol.{mode}@example.com"
                _, order = cli.new_order([address])
                chall = cli.email_challenge(cli.authz(order.authorizations[0]))
                raw = ca.wait_mail(address)[0]
                token1, message_id, _ = parse_challenge_mail(raw, chall, address)
                reply = compose_reply(address, chall["from"], token1, message_id,
                                      digest(token1, chall["token"], cli.thumbprint(), "string"))
                names = REPLY_DKIM_NAMES if mode == "signed" else ["from", "to", "subject"]
                if mode != "unsigned":
                    reply = dkim.sign(reply, b"user", b"example.com", pem,
                                      include_headers=[n.encode() for n in names],
                                      linesep=b"\r\n") + reply
                deliver(ca, reply, "smtp", address, chall["from"], chall["url"])
                cli.answer(chall["url"])
                authz = cli.poll_authz(order.authorizations[0])
                want = "valid" if mode == "signed" else "invalid"
                check(authz["status"] == want, f"{mode}: authz {authz['status']}")
                if want == "invalid":
                    detail = authz["challenges"][0]["error"]["detail"]
                    check("DKIM" in detail, f"{mode}: error does not name DKIM: {detail}")
                results.append(f"{mode}->{authz['status']}")
    finally:
        os.unlink(keys_file.name)
    return ", ".join(results)


def _failed_reply_case(ca, cli, address, mutate, expect_in_detail):
    order_url, order = cli.new_order([address])
    chall = cli.email_challenge(cli.authz(order.authorizations[0]))
    raw = ca.wait_mail(address)[0]
    token1, message_id, _ = parse_challenge_mail(raw, chall, address)
    good = digest(token1, chall["token"], cli.thumbprint(), "string")
    reply = mutate(address, chall["from"], token1, message_id, good)
    deliver(ca, reply, "smtp", address, chall["from"], chall["url"])
    cli.answer(chall["url"])
    authz = cli.poll_authz(order.authorizations[0])
    check(authz["status"] == "invalid", f"authz {authz['status']} for a bad reply")
    error = authz["challenges"][0]["error"]
    check(error["type"] == ERR + "incorrectResponse", f"error type {error['type']}")
    check(expect_in_detail in error["detail"], f"detail {error['detail']!r}")
    order_now = cli.get(order_url).json()
    check(order_now["status"] == "invalid", f"order {order_now['status']}")
    return error["detail"]


def case_wrong_digest():
    with CA() as ca:
        cli = Client(ca)

        def wrong(addr, to, t1, mid, good):
            return compose_reply(addr, to, t1, mid, digest(t1, "x" * 22, cli.thumbprint(),
                                                           "string"))
        _failed_reply_case(ca, cli, "dave@example.com", wrong, "digest")

        def padded(addr, to, t1, mid, good):
            return compose_reply(addr, to, t1, mid, good + "=")
        _failed_reply_case(ca, cli, "dave.padded@example.com", padded, "base64url")

        def other_join(addr, to, t1, mid, good):
            return compose_reply(addr, to, t1, mid, digest(t1, chall_token[0], cli.thumbprint(),
                                                           "binary"))
        chall_token = [None]
        order_url, order = cli.new_order(["dave.join@example.com"])
        chall = cli.email_challenge(cli.authz(order.authorizations[0]))
        chall_token[0] = chall["token"]
        raw = ca.wait_mail("dave.join@example.com")[0]
        token1, mid, _ = parse_challenge_mail(raw, chall, "dave.join@example.com")
        deliver(ca, other_join("dave.join@example.com", chall["from"], token1, mid, None),
                "drop", "", "", chall["url"])
        cli.answer(chall["url"])
        authz = cli.poll_authz(order.authorizations[0])
        check(authz["status"] == "invalid", "binary-join digest accepted by a string-join CA")
        return "wrong, padded and wrong-join digests -> invalid/incorrectResponse"


def case_bare_lf_reply():
    with CA() as ca:
        cli = Client(ca)

        def bare_lf(addr, to, t1, mid, good):
            return compose_reply(addr, to, t1, mid, good).replace(
                b"-----END ACME RESPONSE-----\r\n", b"-----END ACME RESPONSE-----\n")
        detail = _failed_reply_case(ca, cli, "erin@example.com", bare_lf, "bare LF")

        def all_lf(addr, to, t1, mid, good):
            return compose_reply(addr, to, t1, mid, good, eol="\n")
        _failed_reply_case(ca, cli, "erin.lf@example.com", all_lf, "bare LF")
        return detail[:70]


def case_other_reply_rules():
    """List-*, Auto-Submitted: auto-generated, HTML, wrong From/To/In-Reply-To."""
    with CA() as ca:
        cli = Client(ca)
        cases = {
            "list": (lambda a, to, t, m, g: compose_reply(
                a, to, t, m, g, extra_headers=["List-Id: <l.example.com>"]), "List-*"),
            "auto": (lambda a, to, t, m, g: compose_reply(
                a, to, t, m, g, extra_headers=["Auto-Submitted: auto-generated"]),
                "Auto-Submitted"),
            "html": (lambda a, to, t, m, g: compose_reply(a, to, t, m, g).replace(
                b"Content-Type: text/plain", b"Content-Type: text/html"), "media type"),
            "to": (lambda a, to, t, m, g: compose_reply(a, "someone@acme-ca.test", t, m, g),
                   "To"),
            "irt": (lambda a, to, t, m, g: compose_reply(a, to, t, "<other@x>", g),
                    "In-Reply-To"),
            "from": (lambda a, to, t, m, g: compose_reply("mallory@example.com", to, t, m, g),
                     "From"),
        }
        for name, (mutate, needle) in cases.items():
            _failed_reply_case(ca, cli, f"frank.{name}@example.com", mutate, needle)
        return ", ".join(cases)


def case_second_reply_counted():
    with CA() as ca:
        cli = Client(ca)
        address = "grace@example.com"
        order_url, order = cli.new_order([address])
        chall = cli.email_challenge(cli.authz(order.authorizations[0]))
        raw = ca.wait_mail(address)[0]
        token1, message_id, _ = parse_challenge_mail(raw, chall, address)
        reply = compose_reply(address, chall["from"], token1, message_id,
                              digest(token1, chall["token"], cli.thumbprint(), "string"))
        deliver(ca, reply, "smtp", address, chall["from"], chall["url"])
        cli.answer(chall["url"])
        check(cli.poll_authz(order.authorizations[0])["status"] == "valid", "first reply")
        deliver(ca, reply, "drop", address, chall["from"], chall["url"], expected_count=2)
        info = ca.challenge_status(chall["url"])
        check(info["reply_count"] == 2 and info["second_reply"], f"status {info}")
        check(info["status"] == "valid", "a second reply changed the state")
        status = ca.status()
        check(status["counters"].get("second_replies") == 1, "second_replies counter")
        check(any(e["type"] == "secondReply" for e in status["errors"]), "no secondReply error")
        # the timeline: the mail, then the first reply, then the decision, in time order
        events = [e["event"] for e in status["timeline"]]
        times = [e["at"] for e in status["timeline"]]
        check(times == sorted(times), f"timeline out of order {status['timeline']}")
        order = [next(i for i, e in enumerate(events) if e.startswith(p))
                 for p in (f"mail sent {message_id}", "reply received", "challenge valid")]
        check(order == sorted(order), f"timeline {events}")
        check(any(e.startswith("POST /new-order 201") or e.startswith("POST /order") for e in events),
              f"no order request in the timeline {events}")
        return "reply_count=2, second_reply flagged, challenge still valid, timeline in order"


def case_expired_challenge():
    with CA("--challenge-expiry", "1") as ca:
        cli = Client(ca)
        address = "heidi@example.com"
        order_url, order = cli.new_order([address])
        authz_url = order.authorizations[0]
        chall = cli.email_challenge(cli.authz(authz_url))
        raw = ca.wait_mail(address)[0]
        token1, message_id, _ = parse_challenge_mail(raw, chall, address)
        time.sleep(1.3)
        reply = compose_reply(address, chall["from"], token1, message_id,
                              digest(token1, chall["token"], cli.thumbprint(), "string"))
        deliver(ca, reply, "smtp", address, chall["from"], chall["url"])
        cli.answer(chall["url"])
        authz = cli.get(authz_url).json()
        check(authz["status"] == "expired", f"authz {authz['status']}")
        check(authz["challenges"][0]["status"] == "invalid", "challenge not invalid")
        info = ca.challenge_status(chall["url"])
        check(not info["replies"][0]["ok"] and "expired" in " ".join(info["replies"][0]["problems"]),
              f"reply verdict {info['replies'][0]}")
        check(cli.get(order_url).json()["status"] == "invalid", "order not invalid")
        return "late reply rejected; authz expired; order invalid"


def case_reply_window():
    with CA("--reply-window", "0.5") as ca:
        cli = Client(ca)
        address = "ivan@example.com"
        order_url, order = cli.new_order([address])
        authz_url = order.authorizations[0]
        chall = cli.email_challenge(cli.authz(authz_url))
        ca.wait_mail(address)
        # ready said, no reply sent: the CA gives up after the window, as acme2certifier does
        cli.answer(chall["url"])
        deadline = time.time() + 10
        while time.time() < deadline:
            authz = cli.get(authz_url).json()
            if authz["status"] != "pending":
                break
            time.sleep(0.2)
        check(authz["status"] == "invalid", f"authz {authz['status']}")
        chall_now = authz["challenges"][0]
        check(chall_now["status"] == "invalid", "challenge not invalid")
        check(chall_now["error"]["type"].endswith("incorrectResponse"), f"error {chall_now['error']}")
        check("no reply arrived" in chall_now["error"]["detail"], chall_now["error"]["detail"])
        check(cli.get(order_url).json()["status"] == "invalid", "order not invalid")
        return "no reply within the window: incorrectResponse; order invalid"


class Raw:
    """Hand-made JWS requests, for the cases python-acme would never send."""

    def __init__(self, ca, key=None, alg="ES256"):
        self.ca = ca
        self.key = key or jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        self.alg = alg
        self.kid = None

    def nonce(self):
        return self.ca.http.head(self.ca.dir["newNonce"]).headers["Replay-Nonce"]

    def body(self, url, payload, nonce=None, use_jwk=None, header_extra=None, pad=False,
             alg=None, key=None):
        key = key or self.key
        header = {"alg": alg or self.alg, "nonce": nonce or self.nonce(), "url": url}
        if use_jwk or (use_jwk is None and self.kid is None):
            header["jwk"] = key.public_key().to_partial_json()
        if self.kid and not use_jwk:
            header["kid"] = self.kid
        header.update(header_extra or {})
        header = {k: v for k, v in header.items() if v is not None}
        p64 = b64u(json.dumps(header).encode())
        pl64 = "" if payload is None else b64u(
            payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        if isinstance(key, jose.JWKRSA):
            jwa = jose.RS256
        else:
            jwa = jose.ES384 if key.key.curve.name == "secp384r1" else jose.ES256
        sig = b64u(jwa.sign(key.key, f"{p64}.{pl64}".encode()))
        if pad:
            sig += "=" * (-len(sig) % 4)
        return json.dumps({"protected": p64, "payload": pl64, "signature": sig})

    def post(self, url, data, content_type="application/jose+json"):
        return self.ca.http.post(url, data=data, headers={"Content-Type": content_type})


def expect_problem(response, kind, status=None):
    check(response.headers.get("Content-Type", "").startswith("application/problem+json"),
          f"{kind}: Content-Type {response.headers.get('Content-Type')}")
    check(re.fullmatch(r"[A-Za-z0-9_-]+", response.headers.get("Replay-Nonce", "")),
          f"{kind}: no Replay-Nonce on the error")
    got = response.json()
    check(got["type"] == ERR + kind, f"expected {kind}, got {got['type']}: {got.get('detail')}")
    if status:
        check(response.status_code == status, f"{kind}: HTTP {response.status_code}")
    return got


def case_strict_jws():
    with CA() as ca:
        raw = Raw(ca)
        new_account = ca.dir["newAccount"]
        created = raw.post(new_account, raw.body(new_account, {"termsOfServiceAgreed": True}))
        check(created.status_code == 201, f"newAccount {created.status_code} {created.text}")
        raw.kid = created.headers["Location"]
        new_order = ca.dir["newOrder"]
        order_payload = {"identifiers": [{"type": "email", "value": "ivan@example.com"}]}
        checks = []
        # padded base64url
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload, pad=True)),
                       "malformed")
        checks.append("padded-b64")
        # nonce reuse
        nonce = raw.nonce()
        first = raw.post(new_order, raw.body(new_order, order_payload, nonce=nonce))
        check(first.status_code == 201, f"order with fresh nonce: {first.status_code}")
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload, nonce=nonce)),
                       "badNonce", 400)
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload, nonce="bm9uY2U")),
                       "badNonce", 400)
        checks.append("nonce-reuse/unknown")
        # url header
        expect_problem(raw.post(new_order, raw.body(new_order + "/", order_payload)),
                       "unauthorized")
        expect_problem(raw.post(new_order, raw.body(new_order.replace("127.0.0.1", "localhost"),
                                                    order_payload)), "unauthorized")
        checks.append("url")
        # POST-as-GET must be "" not {}
        order_url = first.headers["Location"]
        expect_problem(raw.post(order_url, raw.body(order_url, {})), "malformed")
        ok = raw.post(order_url, raw.body(order_url, None))
        check(ok.status_code == 200, "POST-as-GET of the order failed")
        authz_url = ok.json()["authorizations"][0]
        expect_problem(raw.post(authz_url, raw.body(authz_url, {"x": 1})), "malformed")
        checks.append("post-as-get")
        # GET of a POST resource
        expect_problem(ca.http.get(order_url), "malformed", 405)
        # Content-Type
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload),
                                "application/json"), "malformed", 415)
        checks.append("content-type")
        # general serialization, unprotected header, jwk+kid, missing nonce
        flat = json.loads(raw.body(new_order, order_payload))
        general = {"payload": flat["payload"], "signatures": [
            {"protected": flat["protected"], "signature": flat["signature"]}]}
        expect_problem(raw.post(new_order, json.dumps(general)), "malformed")
        expect_problem(raw.post(new_order, json.dumps(dict(flat, header={"kid": "x"}))),
                       "malformed")
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload, header_extra={
            "jwk": raw.key.public_key().to_partial_json()})), "malformed")
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload,
                                                    header_extra={"nonce": None})), "badNonce")
        # jwk where kid is required, kid where jwk is required
        expect_problem(raw.post(new_order, raw.body(new_order, order_payload, use_jwk=True)),
                       "malformed")
        # bad signature
        tampered = json.loads(raw.body(new_order, order_payload))
        tampered["payload"] = b64u(json.dumps({"identifiers": []}).encode())
        expect_problem(raw.post(new_order, json.dumps(tampered)), "malformed")
        checks.append("jws-form")
        # algorithms and keys
        fresh = Raw(ca)
        expect_problem(fresh.post(new_account, fresh.body(new_account, {
            "termsOfServiceAgreed": True}, alg="HS256")), "badSignatureAlgorithm")
        expect_problem(fresh.post(new_account, fresh.body(new_account, {
            "termsOfServiceAgreed": True}, alg="RS256")), "badSignatureAlgorithm")
        weak = Raw(ca, jose.JWKRSA(key=rsa.generate_private_key(65537, 1024)), "RS256")
        expect_problem(weak.post(new_account, weak.body(new_account, {
            "termsOfServiceAgreed": True})), "badPublicKey")
        expect_problem(fresh.post(new_account, fresh.body(new_account, {})), "malformed")
        checks.append("alg/key")
        # identifiers
        for ident, kind in (({"type": "dns", "value": "example.com"}, "unsupportedIdentifier"),
                            ({"type": "email", "value": "a*b@example.com"}, "rejectedIdentifier"),
                            ({"type": "email", "value": "not-an-address"}, "rejectedIdentifier")):
            got = expect_problem(raw.post(new_order, raw.body(new_order, {"identifiers": [ident]})),
                                 kind)
            check(got["subproblems"][0]["identifier"] == ident, "subproblem identifier")
        checks.append("identifiers")
        # finalize before ready
        order_obj = ok.json()
        expect_problem(raw.post(order_obj["finalize"], raw.body(order_obj["finalize"], {
            "csr": b64u(make_csr(["ivan@example.com"])[1])})), "orderNotReady", 403)
        checks.append("orderNotReady")
        return ", ".join(checks)


def case_csr_checks():
    with CA() as ca:
        cli = Client(ca, "ec")
        address = "judy@example.com"
        order_url, order, _ = validate_authz(ca, cli, address)
        finalize = order.finalize

        def bad(csr_der, needle):
            err = expect_error(lambda: cli.post(finalize, JsonBody({"csr": b64u(csr_der)})),
                               "badCSR")
            check(needle in err.detail, f"badCSR detail {err.detail!r} lacks {needle!r}")
        bad(make_csr([address], san=["judy@example.org"])[1], "does not equal")
        bad(make_csr([address], san=[address, "judy2@example.com"])[1], "does not equal")
        bad(make_csr([address], key=cli.key.key._wrapped)[1], "account key")
        bad(make_csr([address], extra_ext=x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.EMAIL_PROTECTION]))[1], "only subjectAltName and keyUsage")
        bad(make_csr([address], extra_ext=x509.BasicConstraints(False, None))[1], "extension")
        bad(make_csr([address], key=rsa.generate_private_key(65537, 1024))[1], "2048")
        bad(make_csr([address], key=ec.generate_private_key(ec.SECP521R1()))[1], "P-256")
        bad(make_csr([address], key_usage=x509.KeyUsage(
            False, True, False, False, False, False, False, False, False))[1], "keyUsage")
        bad(make_csr([address], key_usage=x509.KeyUsage(
            True, False, True, False, True, False, False, False, False))[1], "keyUsage")
        check(cli.get(order_url).json()["status"] == "ready", "order left ready after badCSR")
        cert_key, csr = make_csr([address], key=ec.generate_private_key(ec.SECP384R1()),
                                 key_usage=x509.KeyUsage(True, True, False, False, False, False,
                                                         False, False, False), cn=False)
        _, chain = cli.finalize(order_url, order, csr)
        ee, _ = verify_chain(ca, chain, address, cert_key)
        check(len(ee.subject) == 0, "subject not empty")
        check(ee.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical,
              "SAN not critical with an empty subject")
        ku = ee.extensions.get_extension_for_class(x509.KeyUsage).value
        check(ku.digital_signature and ku.content_commitment and not ku.key_agreement,
              "signing-only KU not kept")
        return "9 bad CSRs -> badCSR (order stays ready); signing-only P-384 issued"


def case_account_ops():
    with CA() as ca:
        cli = Client(ca)
        url = cli.regr.uri
        # newAccount again with the same key -> 200 + same Location
        raw = Raw(ca, cli.key)
        response = raw.post(ca.dir["newAccount"], raw.body(ca.dir["newAccount"], {
            "termsOfServiceAgreed": True}))
        check(response.status_code == 200 and response.headers["Location"] == url,
              "existing account not returned with 200")
        response = raw.post(ca.dir["newAccount"], raw.body(ca.dir["newAccount"], {
            "onlyReturnExisting": True}))
        check(response.status_code == 200 and "onlyReturnExisting" not in response.json(), "ORE")
        stranger = Raw(ca)
        expect_problem(stranger.post(ca.dir["newAccount"], stranger.body(ca.dir["newAccount"], {
            "onlyReturnExisting": True})), "accountDoesNotExist")
        check(not any(a["url"] != url for a in ca.status()["accounts"]), "ORE created an account")
        # contact update, bad contacts
        updated = cli.acme.update_registration(cli.regr, messages.Registration.from_data(
            email="new@example.com"))
        check(updated.body.contact == ("mailto:new@example.com",), f"contact {updated.body}")
        raw.kid = url
        expect_problem(raw.post(url, raw.body(url, {"contact": ["tel:+1555"]})),
                       "unsupportedContact")
        expect_problem(raw.post(url, raw.body(url, {"contact": ["mailto:a@b.example?subject=x"]})),
                       "invalidContact")
        # key change: inner JWS with jwk, same url, no nonce
        new_key, _ = new_account_key()
        key_change = ca.dir["keyChange"]
        inner_header = {"alg": "ES256", "jwk": new_key.public_key().to_partial_json(),
                        "url": key_change}
        inner_p = b64u(json.dumps(inner_header).encode())
        inner_pl = b64u(json.dumps({"account": url, "oldKey":
                                    cli.key.public_key().to_partial_json()}).encode())
        inner = {"protected": inner_p, "payload": inner_pl,
                 "signature": b64u(jose.ES256.sign(new_key.key, f"{inner_p}.{inner_pl}".encode()))}
        with_nonce = dict(inner_header, nonce=raw.nonce())
        bad_p = b64u(json.dumps(with_nonce).encode())
        bad_inner = {"protected": bad_p, "payload": inner_pl,
                     "signature": b64u(jose.ES256.sign(new_key.key, f"{bad_p}.{inner_pl}".encode()))}
        expect_problem(raw.post(key_change, raw.body(key_change, bad_inner)), "malformed")
        response = raw.post(key_change, raw.body(key_change, inner))
        check(response.status_code == 200, f"keyChange {response.status_code} {response.text}")
        expect_problem(raw.post(url, raw.body(url, None)), "malformed")     # old key now fails
        moved = Raw(ca, new_key)
        moved.kid = url
        check(moved.post(url, moved.body(url, None)).status_code == 200, "new key rejected")
        # deactivation, then everything is 401 unauthorized
        response = moved.post(url, moved.body(url, {"status": "deactivated"}))
        check(response.json()["status"] == "deactivated", "not deactivated")
        expect_problem(moved.post(ca.dir["newOrder"], moved.body(ca.dir["newOrder"], {
            "identifiers": [{"type": "email", "value": "k@example.com"}]})), "unauthorized", 401)
        return "200 existing, onlyReturnExisting, contact update/checks, keyChange, deactivate"


def case_revoke_and_ari():
    with CA() as ca:
        cli = Client(ca)
        issued = []
        for address in ("mallory@example.com", "niaj@example.com"):
            order_url, order, _ = validate_authz(ca, cli, address)
            cert_key, csr = make_csr([address])
            _, chain = cli.finalize(order_url, order, csr)
            ee, _ = verify_chain(ca, chain, address, cert_key)
            issued.append((ee, cert_key))
        ari = ca.http.get(ca.dir["renewalInfo"] + "/" + ari_id(issued[0][0]))
        window = ari.json()["suggestedWindow"]
        check(ari.headers.get("Retry-After") and window["start"] < window["end"], "ARI window")
        expect_problem(ca.http.get(ca.dir["renewalInfo"] + "/AAAA.AAAA"), "malformed", 404)
        expect_problem(ca.http.get(ca.dir["renewalInfo"] + "/aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE"),
                       "malformed", 400)
        der0 = issued[0][0].public_bytes(serialization.Encoding.DER)
        # by the certificate key (jwk)
        cert_jwk = jose.JWKRSA(key=issued[0][1])
        by_cert = Raw(ca, cert_jwk, "RS256")
        revoke = ca.dir["revokeCert"]
        expect_problem(by_cert.post(revoke, by_cert.body(revoke, {
            "certificate": b64u(der0), "reason": 2})), "badRevocationReason")
        other = Raw(ca)
        expect_problem(other.post(revoke, other.body(revoke, {"certificate": b64u(der0)})),
                       "unauthorized")
        response = by_cert.post(revoke, by_cert.body(revoke, {"certificate": b64u(der0),
                                                              "reason": 1}))
        check(response.status_code == 200 and response.content == b"", "revoke by cert key")
        expect_problem(by_cert.post(revoke, by_cert.body(revoke, {"certificate": b64u(der0)})),
                       "alreadyRevoked")
        # by the account (kid), through python-acme
        cli.acme.revoke(jose.ComparableX509(_pyopenssl_cert(issued[1][0])), 4)
        revoked = [c for c in ca.status()["certificates"] if c["revoked"]]
        check(len(revoked) == 2, "status does not show 2 revoked certs")
        late = ca.http.get(ca.dir["renewalInfo"] + "/" + ari_id(issued[0][0])).json()
        check(late["suggestedWindow"]["start"] < _rfc3339_now(), "revoked cert: window not due")
        return "ARI window, revoke by cert key and by kid, alreadyRevoked, badRevocationReason"


def _pyopenssl_cert(cert):
    from OpenSSL import crypto
    return crypto.load_certificate(crypto.FILETYPE_PEM,
                                   cert.public_bytes(serialization.Encoding.PEM))


def _rfc3339_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def case_bad_nonce_injection():
    with CA("--bad-nonce-rate", "1", "--seed", "7") as ca:
        raw = Raw(ca)
        got = expect_problem(raw.post(ca.dir["newAccount"], raw.body(ca.dir["newAccount"], {
            "termsOfServiceAgreed": True})), "badNonce", 400)
        check(ca.status()["counters"].get("bad_nonce_injected") == 1, "counter")
        check("--bad-nonce-rate" in got["detail"], got["detail"])
    with CA("--bad-nonce-rate", "0.5", "--seed", "3") as ca:
        cli = Client(ca)            # python-acme retries a badNonce once
        for n in range(4):
            try:
                cli.new_order([f"nonce{n}@example.com"])
            except messages.Error as err:
                check(err.typ == ERR + "badNonce", f"unexpected {err.typ}")
        injected = ca.status()["counters"].get("bad_nonce_injected", 0)
        check(injected >= 1, "rate 0.5 injected nothing")
    return f"rate 1 -> badNonce with a fresh Replay-Nonce; rate 0.5 injected {injected}"


def case_directory_and_nonce():
    with CA() as ca:
        d = ca.dir
        for field in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange",
                      "renewalInfo"):
            check(d.get(field, "").startswith("https://127.0.0.1:"), f"directory {field}")
        check(d["meta"]["termsOfService"] and "externalAccountRequired" not in d["meta"], "meta")
        head = ca.http.head(d["newNonce"])
        get = ca.http.get(d["newNonce"])
        for response, code in ((head, 200), (get, 204)):
            check(response.status_code == code, f"newNonce {response.request.method} "
                  f"{response.status_code}")
            check(response.headers.get("Cache-Control") == "no-store", "Cache-Control")
            check(response.headers.get("Replay-Nonce"), "Replay-Nonce")
        check(head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"], "nonce repeated")
        check('rel="index"' in head.headers.get("Link", ""), "Link rel=index")
        check(ca.http.get(d["meta"]["termsOfService"]).status_code == 200, "terms")
        for sub in ("new", "cur", "tmp"):
            check(os.path.isdir(os.path.join(ca.maildir, sub)), f"Maildir {sub}/")
        return "directory, HEAD 200 / GET 204 no-store, Maildir layout"


def case_challenge_mail_format():
    with CA("--repeat-mail", "3") as ca:
        cli = Client(ca)
        address = "olivia@example.com"
        _, order = cli.new_order([address])
        chall = cli.email_challenge(cli.authz(order.authorizations[0]))
        mails = ca.wait_mail(address, 3)
        ids, tokens = set(), set()
        for raw in mails:
            check(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in challenge mail")
            token1, message_id, _ = parse_challenge_mail(raw, chall, address)
            ids.add(message_id)
            tokens.add(token1)
            head = raw.split(b"\r\n\r\n", 1)[0].decode()
            check("Auto-Submitted: auto-generated; type=acme" in head, "Auto-Submitted")
            check(f"Subject: ACME: {token1}" in head, "plain Subject")
            check("Content-Type: text/plain" in head, "Content-Type")
        check(len(ids) == 3 and len(tokens) == 1, "repeats must share token, differ in Message-ID")
        names = [os.path.basename(p) for p in glob.glob(os.path.join(ca.maildir, "new", "*"))]
        check(all(re.fullmatch(r"\d+\.M\d+P\d+Q\d+\..+,S=\d+", n) for n in names),
              f"Maildir names {names}")
        check(ca.challenge_status(chall["url"])["mails_sent"] == 3, "mails_sent")
        return f"3 mails, one token, 3 Message-IDs; {len(mails[0])} bytes, CRLF only"


def case_smtp_delivery_and_every_fetch():
    """--smtp-deliver (into another CA's reply listener, which records it as an
    unmatched reply) and --mail-on-every-fetch."""
    with CA() as sink:
        with CA("--no-maildir", "--mail-on-every-fetch", "--smtp-deliver",
                f"127.0.0.1:{sink.smtp_port}") as ca:
            check(ca.maildir == "", "MAILDIR should be empty with --no-maildir")
            cli = Client(ca)
            _, order = cli.new_order(["peggy@example.com"])
            for _ in range(2):
                cli.authz(order.authorizations[0])
            status = ca.wait_status(lambda st: st["counters"].get("mails_sent") == 2,
                                    "two mails")
            check(all(m["smtp"] and not m.get("error") for m in status["mails"]),
                  f"mails {status['mails']}")
        got = sink.wait_status(lambda st: len(st["unmatched_replies"]) == 2, "two SMTP mails")
        check("matches no challenge" in got["unmatched_replies"][0]["detail"], "unmatched")
    return "2 mails over SMTP (one per authz fetch), recorded by the sink"


def case_dkim_test_knobs():
    """--dkim-omit and --dkim-domain, for testing a client's DKIM policy checks."""
    from dkim.util import parse_tag_value
    with CA("--dkim", "ed25519", "--dkim-omit", "Auto-Submitted", "--dkim-omit", "Sender",
            "--dkim-domain", "parent.test") as ca:
        cli = Client(ca)
        _, order = cli.new_order(["quentin@example.com"])
        cli.authz(order.authorizations[0])
        raw = ca.wait_mail("quentin@example.com")[0]
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        tags = parse_tag_value(re.sub(r"\s+", "", msg["DKIM-Signature"]).encode())
        signed = tags[b"h"].decode().split(":")
        check(tags[b"d"] == b"parent.test", "d=")
        check("auto-submitted" not in signed and "sender" not in signed and "from" in signed, "h=")
        check(ca.info["DKIM_RECORD"] == "acme-ca._domainkey.parent.test", "record name")
        return f"d=parent.test, h= without auto-submitted/sender ({len(signed)} names)"


def case_no_auto_submitted():
    """--no-auto-submitted: acme2certifier's challenge mail, without Auto-Submitted; the
    DKIM signature still verifies and lists auto-submitted in h= (its absence signed)."""
    import dkim
    from dkim.util import parse_tag_value
    with CA("--dkim", "ed25519", "--no-auto-submitted") as ca:
        cli = Client(ca)
        address = "ursula@example.com"
        _, order = cli.new_order([address])
        chall = cli.email_challenge(cli.authz(order.authorizations[0]))
        raw = ca.wait_mail(address)[0]
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        check(msg["Auto-Submitted"] is None, f"Auto-Submitted {msg['Auto-Submitted']!r}")
        check(msg["Subject"].startswith("ACME: ") and msg["From"] == chall["from"], "the rest as usual")
        tags = parse_tag_value(re.sub(r"\s+", "", msg["DKIM-Signature"]).encode())
        check("auto-submitted" in tags[b"h"].decode().split(":"), "h= signs the absence")
        with open(ca.info["DKIM_TXT"], "rb") as handle:
            record = handle.read().strip()
        check(dkim.verify(raw, dnsfunc=lambda name, timeout=5: record), "dkimpy does not verify")
    with CA() as plain:
        cli = Client(plain)
        _, order = cli.new_order(["victor@example.com"])
        cli.authz(order.authorizations[0])
        raw = plain.wait_mail("victor@example.com")[0]
        check(b"\r\nAuto-Submitted: auto-generated; type=acme\r\n" in raw, "default keeps the header")
    return "no Auto-Submitted field, DKIM h= still covers auto-submitted; default unchanged"


def _smime_mail(*ca_args):
    """Starts a CA with ca_args, has it mail one challenge; returns (ca, raw mail, token1)."""
    ca = CA(*ca_args)
    try:
        cli = Client(ca)
        address = f"sam.{uuid.uuid4().hex[:6]}@example.com"
        _, order = cli.new_order([address])
        chall = cli.email_challenge(cli.authz(order.authorizations[0]))
        raw = ca.wait_mail(address)[0]
        token1, _, _ = parse_challenge_mail(raw, chall, address)
    except BaseException:
        ca.stop()
        raise
    return ca, raw, token1


def _openssl_cms_verify(raw, trust_file):
    """`openssl cms -verify` for S/MIME signing; returns (ok, signed content, stderr)."""
    with tempfile.TemporaryDirectory(prefix="acme-ca-smime-") as tmp:
        mail = os.path.join(tmp, "mail.eml")
        out = os.path.join(tmp, "content")
        with open(mail, "wb") as handle:
            handle.write(raw)
        proc = subprocess.run(["openssl", "cms", "-verify", "-in", mail, "-CAfile",
                               trust_file, "-purpose", "smimesign", "-out", out],
                              capture_output=True, check=False)
        content = b""
        if os.path.exists(out):
            with open(out, "rb") as handle:
                content = handle.read()
        return proc.returncode == 0, content, proc.stderr.decode(errors="replace")


def _signed_headers(content, mode):
    """The header block the signature protects: the wrapped message's, or the signed part's."""
    part = email.message_from_bytes(content, policy=email.policy.compat32)
    if mode == "wrapped":
        check(part.get_content_type() == "message/rfc822", f"signed part is {part['Content-Type']}")
        check(part.get_param("forwarded") == "no", "message/rfc822 without forwarded=no")
        head = content.split(b"\r\n\r\n", 1)[1]
        return email.message_from_bytes(head, policy=email.policy.compat32)
    return part


def _signer_of(ca):
    with open(ca.info["SMIME_SIGNER_CERT"], "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _check_smime_shape(raw, form):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    check(b"\n" not in raw.replace(b"\r\n", b""), "S/MIME mail has a bare LF/CR")
    if form == "detached":
        check(msg.get_content_type() == "multipart/signed", msg["Content-Type"])
        check(msg.get_param("protocol") == "application/pkcs7-signature", "protocol=")
        check(msg.get_param("micalg") == "sha-256", "micalg=")
    else:
        check(msg.get_content_type() == "application/pkcs7-mime", msg["Content-Type"])
        check(msg.get_param("smime-type") == "signed-data", "smime-type=")
    return msg


def case_smime_signed_mail():
    notes = []
    for mode in ("wrapped", "lamps"):
        for form in ("detached", "opaque"):
            ca, raw, token1 = _smime_mail("--smime-sign", mode, "--smime-form", form)
            with ca:
                outer = _check_smime_shape(raw, form)
                ok, content, err = _openssl_cms_verify(raw, ca.info["SMIME_SIGNER_ROOT"])
                check(ok, f"{mode}/{form}: openssl cms -verify: {err}")
                inner = _signed_headers(content, mode)
                if mode == "lamps":
                    check(inner.get_content_type() == "text/plain", inner["Content-Type"])
                    check(inner.get_param("hp") == "clear", "no hp=\"clear\"")
                for name in ("From", "To", "Subject", "Date", "Message-ID"):
                    check(inner[name] == outer[name], f"{mode}/{form}: signed {name} "
                          f"{inner[name]!r} != outer {outer[name]!r}")
                check(f"ACME: {token1}" in inner["Subject"], "token not in the signed Subject")
                signer = _signer_of(ca)
                san = signer.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                check(san.value.get_values_for_type(x509.RFC822Name) == [ca.from_addr], "SAN")
                eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
                check(ExtendedKeyUsageOID.EMAIL_PROTECTION in eku, "no emailProtection EKU")
                notes.append(f"{mode}/{form}")
    return ", ".join(notes) + ": openssl cms verifies; signed From/To/Subject = outer"


def case_smime_faults():
    notes = []
    for fault, mode, form in (("san-mismatch", "wrapped", "detached"),
                              ("untrusted", "lamps", "opaque"),
                              ("tampered", "wrapped", "opaque"),
                              ("tampered", "lamps", "detached"),
                              ("no-hp", "lamps", "detached"),
                              ("expired", "wrapped", "detached")):
        ca, raw, token1 = _smime_mail("--smime-sign", mode, "--smime-form", form,
                                      "--smime-fault", fault)
        with ca:
            _check_smime_shape(raw, form)
            outer = email.message_from_bytes(raw, policy=email.policy.compat32)
            ok, content, err = _openssl_cms_verify(raw, ca.info["SMIME_SIGNER_ROOT"])
            signer = _signer_of(ca)
            san = signer.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            emails = san.value.get_values_for_type(x509.RFC822Name)
            if fault in ("untrusted", "expired"):
                check(not ok, f"{fault}: openssl cms -verify accepts it")
                check(("expired" in err) == (fault == "expired"), f"{fault}: {err}")
            else:
                check(ok, f"{fault}: openssl cms -verify: {err}")
            if fault == "untrusted":
                other = os.path.join(ca.info["STATE_DIR"], "smime-signer", "untrusted-root.pem")
                check(_openssl_cms_verify(raw, other)[0], "untrusted: not even its own root")
            if fault == "expired":
                check(signer.not_valid_after < datetime.datetime.utcnow(), "not expired")
            check((emails == [ca.from_addr]) == (fault != "san-mismatch"), f"{fault}: SAN {emails}")
            if fault == "tampered":
                inner = _signed_headers(content, mode)
                check(inner["From"] == outer["From"] and inner["To"] == outer["To"], "From/To")
                check(inner["Subject"] != outer["Subject"] and inner["Subject"].startswith("ACME: "),
                      f"tampered: signed Subject {inner['Subject']!r}")
            if fault == "no-hp":
                part = email.message_from_bytes(content, policy=email.policy.compat32)
                check(part.get_content_type() == "text/plain" and part.get_param("hp") is None,
                      part["Content-Type"])
                check(part["From"] is None and part["Subject"] is None, "no-hp: headers signed")
            notes.append(f"{fault} ({mode}/{form})")
    return "; ".join(notes)


def case_startup_time():
    """Popen -> READY line, wall clock. RSA DKIM key generation is reported
    apart: its prime search alone varies from 0.1 to ~1 s on a slow 2-core box."""
    times = []
    with tempfile.TemporaryDirectory(prefix="acme-ca-selftest-") as tmp:
        key_path = os.path.join(tmp, "dkim.pem")
        for args in ([], [], ["--dkim", "ed25519"], ["--dkim-key", key_path],
                     ["--dkim-key", key_path]):
            with CA(*args) as ca:
                times.append(ca.startup_ms)
    check(max(times[:3] + times[4:]) < 1000, f"start-up {max(times):.0f} ms")
    plain = sorted(t for t, rsa_gen in STARTUP_MS if not rsa_gen)
    gen = sorted(t for t, rsa_gen in STARTUP_MS if rsa_gen)
    return (f"default/ed25519/--dkim-key reuse: median {plain[len(plain) // 2]:.0f} ms, max "
            f"{plain[-1]:.0f} ms over {len(plain)} starts; with RSA keygen: "
            f"{', '.join(f'{t:.0f}' for t in gen)} ms")


def case_sigterm_shutdown():
    ca = CA()
    ca.proc.terminate()
    rc = ca.proc.wait(5)
    rest = ca.proc.stdout.read()
    check(rc == 0 and "STOPPED" in rest, f"exit {rc}, output {rest!r}")
    check(ca.status()["stopped"] is True, "status not marked stopped")
    ca.http.close()
    ca.tmp.cleanup()
    own = subprocess.Popen([PYTHON, CA_SCRIPT], stdout=subprocess.PIPE, text=True)
    lines = dict(line.rstrip().partition("=")[::2] for line in iter(own.stdout.readline, "READY\n"))
    own.send_signal(2)
    check(own.wait(5) == 0, "SIGINT exit status")
    check(not os.path.exists(lines["STATE_DIR"]), "auto-created state dir left behind")
    return "SIGTERM/SIGINT -> exit 0, status stopped, temp state dir removed"


CASES = [(name[5:], func) for name, func in list(globals().items())
         if name.startswith("case_") and callable(func)]


def main():
    global VERBOSE
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="", help="run only cases whose name contains this")
    parser.add_argument("-v", action="store_true", help="print tracebacks")
    args = parser.parse_args()
    VERBOSE = args.v
    passed = failed = 0
    started = time.monotonic()
    for name, func in CASES:
        if args.k not in name:
            continue
        t0 = time.monotonic()
        try:
            note = func()
        except Exception as err:  # noqa: BLE001 - report every failure as one line
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t0:.1f}s): {type(err).__name__}: {err}",
                  flush=True)
            if VERBOSE:
                traceback.print_exc()
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - t0:.1f}s): {note}", flush=True)
    print(f"# {time.monotonic() - started:.1f}s total", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
