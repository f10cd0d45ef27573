"""Keys and certificates: the TLS server identity, the S/MIME root and
intermediate, CSR checks and issuance under the S/MIME BR strict
mailbox-validated profile (docs/standards.md §4)."""
import dataclasses
import datetime
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from acme_ca.problems import bad_csr
from acme_ca.util import MAX_VALIDITY_DAYS, b64url_encode, utcnow

POLICY_STRICT_MAILBOX = ObjectIdentifier("2.23.140.1.5.1.3")
OID_EXTENSION_REQUEST = ObjectIdentifier("1.2.840.113549.1.9.14")
_ALLOWED_CSR_EXTENSIONS = (x509.SubjectAlternativeName, x509.KeyUsage)
_ALLOWED_SUBJECT_OIDS = (NameOID.COMMON_NAME, NameOID.EMAIL_ADDRESS, NameOID.SERIAL_NUMBER)
_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment",
              "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
              "encipher_only", "decipher_only")


def spki_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def serial_der_content(serial: int) -> bytes:
    """The content octets of the DER INTEGER encoding of a positive serial."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def ari_cert_id(aki_keyid: bytes, serial: int) -> str:
    """RFC 9773 certID: b64url(AKI keyIdentifier) "." b64url(DER serial content)."""
    return b64url_encode(aki_keyid) + "." + b64url_encode(serial_der_content(serial))


def _random_serial() -> int:
    """Positive, non-zero, at most 16 octets, >= 64 random bits (BR §7.1)."""
    return secrets.randbits(126) | (1 << 120)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_cert(subject_key, subject, issuer_key, issuer_name, issuer_ski, days, pathlen, eku):
    now = utcnow() - datetime.timedelta(minutes=5)
    ski = x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key())
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer_name)
               .public_key(subject_key.public_key()).serial_number(_random_serial())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                            False, False), critical=True)
               .add_extension(ski, critical=False))
    if issuer_ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(issuer_ski.digest, None, None), critical=False)
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclasses.dataclass
class CsrInfo:
    public_key: object
    key_usage: x509.KeyUsage
    subject: x509.Name
    mailboxes: list


@dataclasses.dataclass
class Issued:
    cert: x509.Certificate
    chain_pem: bytes
    cert_id: str


class Pki:
    """Everything key-related, generated fresh at start-up into ``directory``."""

    def __init__(self, directory: str, tls_hosts=("127.0.0.1", "localhost"), tag="acme-ca"):
        self.directory = directory
        self._make_tls(tls_hosts, tag)
        self._make_smime(tag)

    # -- start-up -----------------------------------------------------------------
    def _make_tls(self, hosts, tag):
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{tag} TLS test root {secrets.token_hex(4)}")
        root = _ca_cert(root_key, root_name, root_key, root_name, None, 30, 0, False)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        now = utcnow() - datetime.timedelta(minutes=5)
        leaf = (x509.CertificateBuilder()
                .subject_name(_name("acme-ca test server")).issuer_name(root_name)
                .public_key(leaf_key.public_key()).serial_number(_random_serial())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    root_key.public_key()), critical=False)
                .sign(root_key, hashes.SHA256()))
        self.tls_ca_file = self._write("tls-ca.pem", pem(root))
        self.tls_cert_file = self._write("tls-server.pem", pem(leaf) + pem(root))
        self.tls_key_file = self._write("tls-server.key", key_pem(leaf_key), 0o600)

    def _make_smime(self, tag):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{tag} S/MIME test root {secrets.token_hex(4)}")
        self.root = _ca_cert(self.root_key, root_name, self.root_key, root_name, None,
                             3650, None, False)
        root_ski = self.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.int_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = _ca_cert(self.int_key, _name(f"{tag} S/MIME test intermediate"),
                                     self.root_key, root_name, root_ski, 1825, 0, True)
        self.int_ski = self.intermediate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value
        self.root_file = self._write("smime-root.pem", pem(self.root))
        self.intermediate_file = self._write("smime-intermediate.pem", pem(self.intermediate))

    def _write(self, name, data, mode=0o644):
        path = os.path.join(self.directory, name)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
        return path

    # -- CSR checks -----------------------------------------------------------------
    def check_csr(self, der: bytes, mailboxes, forbidden_spkis) -> CsrInfo:
        """Raise badCSR unless the CSR fits the order and the strict profile."""
        try:
            csr = x509.load_der_x509_csr(der)
        except ValueError as err:
            raise bad_csr(f"CSR does not parse as DER PKCS#10: {err}")
        if not csr.is_signature_valid:
            raise bad_csr("CSR signature does not verify")
        if not isinstance(csr.signature_hash_algorithm, (hashes.SHA256, hashes.SHA384,
                                                         hashes.SHA512)):
            raise bad_csr("CSR must be signed with SHA-256/384/512")
        key = csr.public_key()
        _check_key(key)
        if spki_der(key) in forbidden_spkis:
            raise bad_csr("the CSR key is an ACME account key; use a separate key (RFC 8555 §11.1)")
        _check_attributes(csr)
        try:
            extensions = list(csr.extensions)
        except ValueError as err:
            raise bad_csr(f"CSR extensions do not parse: {err}")
        for ext in extensions:
            if not isinstance(ext.value, _ALLOWED_CSR_EXTENSIONS):
                raise bad_csr(f"CSR requests extension {ext.oid.dotted_string} "
                              f"({ext.oid._name}); only subjectAltName and keyUsage are allowed")
        _check_san(extensions, mailboxes)
        _check_subject(csr.subject, mailboxes)
        key_usage = _check_key_usage(extensions, key)
        return CsrInfo(key, key_usage, csr.subject, list(mailboxes))

    # -- issuance -------------------------------------------------------------------
    def issue(self, info: CsrInfo, validity_days: int, crl_url: str, issuer_url: str) -> Issued:
        if validity_days > MAX_VALIDITY_DAYS:
            raise ValueError("validity above the S/MIME BR maximum")
        not_before = utcnow().replace(microsecond=0) - datetime.timedelta(seconds=60)
        not_after = not_before + datetime.timedelta(days=validity_days) - datetime.timedelta(seconds=1)
        subject = x509.Name([a for a in info.subject
                             if a.oid in (NameOID.COMMON_NAME, NameOID.EMAIL_ADDRESS)])
        serial = _random_serial()
        san = x509.SubjectAlternativeName([x509.RFC822Name(m) for m in info.mailboxes])
        builder = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(self.intermediate.subject)
                   .public_key(info.public_key).serial_number(serial)
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(info.key_usage, critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                                  critical=False)
                   .add_extension(x509.CertificatePolicies(
                       [x509.PolicyInformation(POLICY_STRICT_MAILBOX, None)]), critical=False)
                   .add_extension(san, critical=len(subject) == 0)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(info.public_key),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier(self.int_ski.digest, None, None),
                                  critical=False)
                   .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                       [x509.UniformResourceIdentifier(crl_url)], None, None, None)]),
                       critical=False)
                   .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                       x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                       x509.UniformResourceIdentifier(issuer_url))]), critical=False))
        cert = builder.sign(self.int_key, hashes.SHA256())
        return Issued(cert, pem(cert) + pem(self.intermediate),
                      ari_cert_id(self.int_ski.digest, serial))


def _check_key(key):
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        if key.key_size < 2048 or key.key_size % 8:
            raise bad_csr(f"RSA key of {key.key_size} bits; need >= 2048 and a multiple of 8")
        if numbers.e < 3 or numbers.e % 2 == 0:
            raise bad_csr("RSA public exponent must be odd and >= 3")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1"):
            raise bad_csr(f"EC curve {key.curve.name} not accepted; use P-256 or P-384")
        return
    raise bad_csr(f"key type {type(key).__name__} not accepted; use RSA >= 2048, P-256 or P-384")


def _check_attributes(csr):
    try:
        attributes = list(csr.attributes)
    except (ValueError, AttributeError) as err:
        raise bad_csr(f"CSR attributes do not parse: {err}")
    for attribute in attributes:
        if attribute.oid != OID_EXTENSION_REQUEST:
            raise bad_csr(f"CSR attribute {attribute.oid.dotted_string} not allowed; "
                          "only extensionRequest")


def _check_san(extensions, mailboxes):
    sans = [e.value for e in extensions if isinstance(e.value, x509.SubjectAlternativeName)]
    if not sans:
        raise bad_csr("CSR has no subjectAltName extensionRequest (RFC 8823 §3 step 8)")
    names = list(sans[0])
    others = [n for n in names if not isinstance(n, x509.RFC822Name)]
    if others:
        raise bad_csr(f"subjectAltName may only hold rfc822Name entries; found {others[0]}")
    values = [n.value for n in names]
    if len(set(values)) != len(values):
        raise bad_csr("subjectAltName repeats an address")
    if sorted(values) != sorted(mailboxes):
        raise bad_csr(f"subjectAltName {values} does not equal the order's identifiers "
                      f"{sorted(mailboxes)}")


def _check_subject(subject, mailboxes):
    for attribute in subject:
        if attribute.oid not in _ALLOWED_SUBJECT_OIDS:
            raise bad_csr(f"subject attribute {attribute.oid._name or attribute.oid.dotted_string}"
                          " is not allowed for mailbox-validated certificates")
        if attribute.oid in (NameOID.COMMON_NAME, NameOID.EMAIL_ADDRESS) and \
                attribute.value not in mailboxes:
            raise bad_csr(f"subject {attribute.oid._name}={attribute.value!r} is not one of "
                          "the order's mailboxes")
    if len(subject.get_attributes_for_oid(NameOID.COMMON_NAME)) > 1:
        raise bad_csr("subject has more than one commonName")


def _ku_bits(ku: x509.KeyUsage) -> set:
    bits = set()
    for field in _KU_FIELDS:
        try:
            if getattr(ku, field):
                bits.add(field)
        except ValueError:      # encipher_only/decipher_only without key_agreement
            pass
    return bits


def _allowed_ku_sets(key):
    sign = [{"digital_signature"}, {"digital_signature", "content_commitment"}]
    if isinstance(key, rsa.RSAPublicKey):
        enc = [{"key_encipherment"}]
    else:
        enc = [{"key_agreement"}, {"key_agreement", "encipher_only"},
               {"key_agreement", "decipher_only"}]
    dual = [s | e for s in sign for e in enc]
    return sign + enc + dual


def _check_key_usage(extensions, key) -> x509.KeyUsage:
    found = [e for e in extensions if isinstance(e.value, x509.KeyUsage)]
    if not found:
        second = "key_encipherment" if isinstance(key, rsa.RSAPublicKey) else "key_agreement"
        return _key_usage({"digital_signature", second})
    ext = found[0]
    if not ext.critical:
        raise bad_csr("keyUsage must be critical (RFC 8550 §4.4.2)")
    bits = _ku_bits(ext.value)
    if bits not in _allowed_ku_sets(key):
        raise bad_csr(f"keyUsage {sorted(bits)} is not allowed for this key type under the "
                      "strict S/MIME profile (digitalSignature is required for signing)")
    return _key_usage(bits)


def _key_usage(bits) -> x509.KeyUsage:
    return x509.KeyUsage(*[field in bits for field in _KU_FIELDS])
