"""S/MIME-signed challenge mail (RFC 8823 §3.1 item 6, the S/MIME way), with header
protection, for testing a client's S/MIME check.

The signer certificate is made at start-up: rfc822Name SAN = the From address,
emailProtection EKU, issued straight by a root of its own (SMIME_SIGNER_ROOT). The
plain challenge mail of mailout.compose() is turned into one of four shapes:

  --smime-sign wrapped  RFC 8551 §3.1: the signed part is message/rfc822 (forwarded=no,
                        the RFC 9788 "legacy wrapped" marker) holding the whole message
  --smime-sign lamps    RFC 9788: the signed part is the text/plain body whose
                        Content-Type carries hp="clear" and whose own header block
                        holds the protected fields (From, To, Subject, Date, ...)
  --smime-form detached multipart/signed, protocol application/pkcs7-signature
  --smime-form opaque   application/pkcs7-mime; smime-type=signed-data

and --smime-fault breaks exactly one thing a client must check:

  san-mismatch  the signer's rfc822Name is another address of the From domain
  untrusted     the signer is issued by a second root that is never printed
  tampered      the signed copy's Subject carries another token-part1, as when the
                outer Subject of a genuine mail for another order is rewritten
  no-hp         the signed part is the bare text/plain body: no header protection
  expired       the signer certificate's validity ended yesterday
"""
import base64
import datetime
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acme_ca.pki import _ca_cert, _name, _random_serial, key_pem, pem
from acme_ca.util import utcnow

CRLF = "\r\n"
SIGNS = ("none", "wrapped", "lamps")
FORMS = ("detached", "opaque")
FAULTS = ("none", "san-mismatch", "untrusted", "tampered", "no-hp", "expired")
# the outer header fields that are not the body's MIME fields
_BODY_FIELDS = ("content-type", "content-transfer-encoding")


class Signer:
    """The signer key and certificate, and the roots, written into ``directory``."""

    def __init__(self, directory, from_addr, fault="none"):
        os.makedirs(directory, exist_ok=True)
        tag = secrets.token_hex(4)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"acme-ca S/MIME signer root {tag}")
        root = _ca_cert(root_key, root_name, root_key, root_name, None, 30, 0, False)
        issuer_key, issuer_name, issuer = root_key, root_name, root
        if fault == "untrusted":
            issuer_key = ec.generate_private_key(ec.SECP256R1())
            issuer_name = _name(f"acme-ca untrusted S/MIME root {tag}")
            issuer = _ca_cert(issuer_key, issuer_name, issuer_key, issuer_name, None, 30, 0, False)
        address = from_addr
        if fault == "san-mismatch":
            address = "someone-else@" + from_addr.rpartition("@")[2]
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = _signer_cert(self.key, address, issuer_key, issuer, fault == "expired")
        self.root_file = _write(directory, "root.pem", pem(root))
        self.cert_file = _write(directory, "signer.pem", pem(self.cert))
        _write(directory, "signer.key", key_pem(self.key), 0o600)
        if issuer is not root:
            _write(directory, "untrusted-root.pem", pem(issuer))

    def sign(self, content: bytes, detached: bool) -> bytes:
        """CMS signed-data (DER) over ``content``, byte for byte (no MIME canonicalization)."""
        options = [pkcs7.PKCS7Options.Binary]
        if detached:
            options.append(pkcs7.PKCS7Options.DetachedSignature)
        return (pkcs7.PKCS7SignatureBuilder().set_data(content)
                .add_signer(self.cert, self.key, hashes.SHA256())
                .sign(serialization.Encoding.DER, options))


def _write(directory, name, data, mode=0o644):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _signer_cert(key, address, issuer_key, issuer, expired):
    now = utcnow() - datetime.timedelta(minutes=5)
    start, end = now, now + datetime.timedelta(days=30)
    if expired:
        start, end = now - datetime.timedelta(days=60), now - datetime.timedelta(days=1)
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(_random_serial())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier(issuer_ski.digest, None, None),
                           critical=False)
            .sign(issuer_key, hashes.SHA256()))


def _split(message: bytes):
    """The header fields (each with its folds, no final CRLF) and the body of a CRLF message."""
    head, _, body = message.decode("ascii").partition(CRLF + CRLF)
    fields = []
    for line in head.split(CRLF):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += CRLF + line
        else:
            fields.append(line)
    return fields, body


def _name_of(field):
    return field.partition(":")[0].strip().lower()


def _tamper_subject(fields):
    """The Subject with another token-part1 (a genuine mail for some other order)."""
    other = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
    return [f"Subject: ACME: {other}" if _name_of(f) == "subject" else f for f in fields]


def _inner_entity(fields, body, mode, fault):
    """The MIME entity that is signed."""
    signed_fields = _tamper_subject(fields) if fault == "tampered" else fields
    if fault == "no-hp":
        parts = [f for f in fields if _name_of(f) in _BODY_FIELDS]
        return CRLF.join(parts) + CRLF + CRLF + body
    if mode == "wrapped":
        inner = CRLF.join(signed_fields) + CRLF + CRLF + body
        return "Content-Type: message/rfc822; forwarded=no" + CRLF + CRLF + inner
    # lamps: the body's own MIME fields, hp="clear" added, then the protected fields
    mime = []
    for field in fields:
        if _name_of(field) == "content-type":
            field += '; hp="clear"'
        if _name_of(field) in _BODY_FIELDS:
            mime.append(field)
    protected = [f for f in signed_fields if _name_of(f) not in _BODY_FIELDS + ("mime-version",)]
    return CRLF.join(mime + protected) + CRLF + CRLF + body


def _base64_lines(der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    return CRLF.join(text[i:i + 76] for i in range(0, len(text), 76)) + CRLF


def _detached(outer, inner, der):
    boundary = "----=_acme-ca-smime-" + secrets.token_hex(12)
    head = outer + [
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
        f'{CRLF} micalg=sha-256; boundary="{boundary}"']
    return (CRLF.join(head) + CRLF + CRLF
            + "This is an S/MIME signed message." + CRLF + CRLF
            + f"--{boundary}" + CRLF + inner + CRLF
            + f"--{boundary}" + CRLF
            + 'Content-Type: application/pkcs7-signature; name="smime.p7s"' + CRLF
            + "Content-Transfer-Encoding: base64" + CRLF
            + 'Content-Disposition: attachment; filename="smime.p7s"' + CRLF + CRLF
            + _base64_lines(der)
            + f"--{boundary}--" + CRLF)


def _opaque(outer, der):
    head = outer + ['Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"',
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment; filename="smime.p7m"']
    return CRLF.join(head) + CRLF + CRLF + _base64_lines(der)


def sign_message(message: bytes, signer: Signer, mode: str, form: str, fault: str) -> bytes:
    """The plain challenge mail ``message`` (CRLF), S/MIME-signed in the shape asked for."""
    fields, body = _split(message)
    inner = _inner_entity(fields, body, mode, fault)
    der = signer.sign(inner.encode("ascii"), form == "detached")
    outer = [f for f in fields if _name_of(f) not in _BODY_FIELDS]
    text = _detached(outer, inner, der) if form == "detached" else _opaque(outer, der)
    return text.encode("ascii")
