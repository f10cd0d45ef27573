"""Strict JWS verification for ACME requests (RFC 8555 §6.2, RFC 7515/7518).

Accepted: the flattened JSON serialization only, one signature, protected
header only, alg ES256 (P-256), ES384 (P-384) or RS256 (RSA >= 2048 bits),
exactly one of jwk/kid, a nonce and a url. Signature checks use josepy's JWA
implementations; keys are built and checked here with `cryptography`.
"""
import dataclasses
import json
from typing import Callable, Optional

import josepy
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_ca.problems import AcmeProblem, malformed
from acme_ca.util import B64Error, b64url_decode, strict_json_loads

ALGORITHMS = ("ES256", "ES384", "RS256")
_JWA = {"ES256": josepy.ES256, "ES384": josepy.ES384, "RS256": josepy.RS256}
_CURVES = {"P-256": (ec.SECP256R1, 32, "ES256"), "P-384": (ec.SECP384R1, 48, "ES384")}
_FORBIDDEN_HEADERS = ("crit", "b64", "x5c", "x5u", "jku", "x5t", "x5t#S256")
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


@dataclasses.dataclass
class Verified:
    """The result of verifying one request JWS."""
    protected: dict
    payload_raw: bytes
    payload: Optional[object]       # parsed JSON, None for POST-as-GET
    jwk: Optional[dict]             # set when the header carried jwk
    kid: Optional[str]              # set when the header carried kid
    public_key: object              # cryptography public key that signed

    @property
    def post_as_get(self) -> bool:
        return self.payload_raw == b""


def _b64(value, what):
    try:
        return b64url_decode(value)
    except B64Error as err:
        raise malformed(f"{what}: {err}")


def parse_flattened(body: bytes, what="JWS"):
    """Split a flattened JWS; returns (protected_b64, payload_b64, sig_b64,
    header dict, payload bytes, signature bytes)."""
    try:
        obj = strict_json_loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise malformed(f"{what} is not valid JSON: {err}")
    if not isinstance(obj, dict):
        raise malformed(f"{what} must be a JSON object")
    if "signatures" in obj:
        raise malformed(f"{what}: only the flattened JSON serialization is accepted")
    if "header" in obj:
        raise malformed(f"{what}: unprotected header is not allowed")
    if set(obj) != {"protected", "payload", "signature"}:
        raise malformed(f"{what} must have exactly protected, payload, signature; "
                        f"got {sorted(obj)}")
    for name in ("protected", "payload", "signature"):
        if not isinstance(obj[name], str):
            raise malformed(f"{what}: {name} must be a string")
    header_bytes = _b64(obj["protected"], f"{what} protected")
    payload = _b64(obj["payload"], f"{what} payload")
    signature = _b64(obj["signature"], f"{what} signature")
    try:
        header = strict_json_loads(header_bytes)
    except (ValueError, UnicodeDecodeError) as err:
        raise malformed(f"{what} protected header is not JSON: {err}")
    if not isinstance(header, dict):
        raise malformed(f"{what} protected header must be a JSON object")
    return obj["protected"], obj["payload"], obj["signature"], header, payload, signature


def public_key_from_jwk(jwk) -> object:
    """Build a public key from a JWK, rejecting anything not acceptable."""
    if not isinstance(jwk, dict):
        raise AcmeProblem("badPublicKey", "jwk must be a JSON object")
    if any(member in jwk for member in _PRIVATE_JWK_MEMBERS):
        raise AcmeProblem("badPublicKey", "jwk contains private or symmetric key material")
    kty = jwk.get("kty")
    if kty == "EC":
        return _ec_key(jwk)
    if kty == "RSA":
        return _rsa_key(jwk)
    raise AcmeProblem("badPublicKey", f"unsupported key type {kty!r}; use EC P-256/P-384 or RSA")


def _ec_key(jwk):
    curve = jwk.get("crv")
    if curve not in _CURVES:
        raise AcmeProblem("badPublicKey", f"unsupported EC curve {curve!r}")
    curve_cls, length, _alg = _CURVES[curve]
    x = _jwk_int_bytes(jwk, "x")
    y = _jwk_int_bytes(jwk, "y")
    if len(x) != length or len(y) != length:
        raise AcmeProblem("badPublicKey", f"EC coordinates must be exactly {length} bytes "
                          "(RFC 7518 §6.2.1.2, leading zeros kept)")
    try:
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             curve_cls()).public_key()
    except ValueError as err:
        raise AcmeProblem("badPublicKey", f"invalid EC point: {err}")


def _rsa_key(jwk):
    n = _jwk_int_bytes(jwk, "n")
    e = _jwk_int_bytes(jwk, "e")
    if n[:1] == b"\0" or e[:1] == b"\0":
        raise AcmeProblem("badPublicKey", "RSA n/e must not have leading zero octets")
    modulus, exponent = int.from_bytes(n, "big"), int.from_bytes(e, "big")
    if modulus.bit_length() < 2048:
        raise AcmeProblem("badPublicKey", f"RSA key of {modulus.bit_length()} bits; at least 2048 required")
    if exponent < 3 or exponent % 2 == 0:
        raise AcmeProblem("badPublicKey", "RSA exponent must be odd and >= 3")
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _jwk_int_bytes(jwk, member):
    value = jwk.get(member)
    if not isinstance(value, str) or not value:
        raise AcmeProblem("badPublicKey", f"jwk member {member!r} missing or not a string")
    try:
        return b64url_decode(value)
    except B64Error as err:
        raise AcmeProblem("badPublicKey", f"jwk member {member!r}: {err}")


def check_alg_fits_key(alg, key):
    if isinstance(key, ec.EllipticCurvePublicKey):
        expected = {"secp256r1": "ES256", "secp384r1": "ES384"}.get(key.curve.name)
    else:
        expected = "RS256"
    if alg != expected:
        raise AcmeProblem("badSignatureAlgorithm", f"alg {alg} does not fit the key "
                          f"(expected {expected})", extra={"algorithms": list(ALGORITHMS)})


def verify_signature(alg, key, protected_b64, payload_b64, signature, what="JWS"):
    signing_input = f"{protected_b64}.{payload_b64}".encode("ascii")
    if not _JWA[alg].verify(key, signing_input, signature):
        raise malformed(f"{what} signature does not verify")


def verify_request(body: bytes, request_url: str,
                   consume_nonce: Callable[[str], bool],
                   key_for_kid: Callable[[str], object]) -> Verified:
    """Verify an ACME POST body. ``key_for_kid`` maps an account URL to its
    public key or raises an AcmeProblem; ``consume_nonce`` returns False when
    the nonce is unknown or used."""
    p64, pl64, _s64, header, payload, signature = parse_flattened(body)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AcmeProblem("badSignatureAlgorithm", f"alg {alg!r} is not accepted",
                          extra={"algorithms": list(ALGORITHMS)})
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise malformed(f"protected header member {name!r} is not supported")
    has_jwk, has_kid = "jwk" in header, "kid" in header
    if has_jwk == has_kid:
        raise malformed("the protected header must carry exactly one of jwk and kid")
    if has_jwk:
        key = public_key_from_jwk(header["jwk"])
    else:
        if not isinstance(header["kid"], str):
            raise malformed("kid must be a string")
        key = key_for_kid(header["kid"])
    check_alg_fits_key(alg, key)
    verify_signature(alg, key, p64, pl64, signature)
    nonce = header.get("nonce")
    if not isinstance(nonce, str):
        raise AcmeProblem("badNonce", "protected header has no nonce")
    try:
        b64url_decode(nonce)
    except B64Error as err:
        raise AcmeProblem("badNonce", f"nonce is not base64url: {err}")
    if not consume_nonce(nonce):
        raise AcmeProblem("badNonce", "nonce unknown or already used")
    if header.get("url") != request_url:
        raise AcmeProblem("unauthorized", f"url header {header.get('url')!r} does not equal "
                          f"the request URL {request_url!r}", 401)
    parsed = None
    if payload != b"":
        try:
            parsed = strict_json_loads(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise malformed(f"payload is not JSON: {err}")
        if not isinstance(parsed, dict):
            raise malformed("payload must be a JSON object (or empty for POST-as-GET)")
    return Verified(header, payload, parsed, header.get("jwk") if has_jwk else None,
                    header.get("kid") if has_kid else None, key)


def verify_inner_jws(obj, outer_url: str) -> Verified:
    """keyChange inner JWS (RFC 8555 §7.3.5): jwk, same url, no nonce."""
    if not isinstance(obj, dict):
        raise malformed("keyChange payload must be a flattened JWS object")
    p64, pl64, _s64, header, payload, signature = parse_flattened(
        json.dumps(obj).encode(), "inner JWS")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AcmeProblem("badSignatureAlgorithm", f"inner alg {alg!r} is not accepted",
                          extra={"algorithms": list(ALGORITHMS)})
    if "jwk" not in header or "kid" in header:
        raise malformed("inner JWS must carry jwk and no kid")
    if "nonce" in header:
        raise malformed("inner JWS must not carry a nonce")
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise malformed(f"inner protected header member {name!r} is not supported")
    if header.get("url") != outer_url:
        raise malformed("inner JWS url must equal the outer url")
    key = public_key_from_jwk(header["jwk"])
    check_alg_fits_key(alg, key)
    verify_signature(alg, key, p64, pl64, signature, "inner JWS")
    try:
        parsed = strict_json_loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise malformed(f"inner payload is not JSON: {err}")
    if not isinstance(parsed, dict):
        raise malformed("inner payload must be a JSON object")
    return Verified(header, payload, parsed, header["jwk"], None, key)


def verify_eab(obj, outer_jwk: dict, new_account_url: str, eab_keys: dict) -> str:
    """externalAccountBinding (RFC 8555 §7.3.4). Returns the EAB key id."""
    if not isinstance(obj, dict):
        raise malformed("externalAccountBinding must be a flattened JWS object")
    p64, pl64, _s64, header, payload, signature = parse_flattened(
        json.dumps(obj).encode(), "externalAccountBinding")
    if header.get("alg") != "HS256":
        raise AcmeProblem("badSignatureAlgorithm", "externalAccountBinding alg must be HS256",
                          extra={"algorithms": ["HS256"]})
    if "nonce" in header:
        raise malformed("externalAccountBinding must not carry a nonce")
    if "jwk" in header:
        raise malformed("externalAccountBinding must not carry jwk")
    if header.get("url") != new_account_url:
        raise malformed("externalAccountBinding url must equal the newAccount URL")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in eab_keys:
        raise AcmeProblem("unauthorized", f"unknown external account key id {kid!r}", 401)
    try:
        bound = strict_json_loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise malformed(f"externalAccountBinding payload is not JSON: {err}")
    if bound != outer_jwk:
        raise malformed("externalAccountBinding payload must be the account JWK")
    signing_input = f"{p64}.{pl64}".encode("ascii")
    if not josepy.HS256.verify(eab_keys[kid], signing_input, signature):
        raise AcmeProblem("unauthorized", "externalAccountBinding MAC does not verify", 401)
    return kid
