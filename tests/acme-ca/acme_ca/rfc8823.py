"""RFC 8823 token handling: token parts, the two known joins, the digest.

    token            = JOIN(token-part1, token-part2)
    keyAuthorization = token "." base64url(JWK thumbprint of the account key)
    digest           = base64url(SHA-256(keyAuthorization))   (43 chars, unpadded)

JOIN is ambiguous in the RFC (docs/standards.md §1.4):
  string: token-part1 + token-part2 exactly as sent (padding kept);
  binary: base64url_nopad(decode(token-part1) || decode(token-part2)).
"""
import base64
import hashlib
import json
import re
import secrets

from acme_ca.util import b64url_encode

JOINS = ("string", "binary")
_REQUIRED_JWK_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                         "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK, base64url."""
    members = _REQUIRED_JWK_MEMBERS[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in members}, sort_keys=True,
                           separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def new_token_part1(nbytes: int, padded: bool) -> str:
    """token-part1 as it appears in the Subject (base64url, optionally padded)."""
    raw = secrets.token_bytes(nbytes)
    text = base64.urlsafe_b64encode(raw).decode("ascii")
    return text if padded else text.rstrip("=")


def new_token_part2(nbytes: int = 16) -> str:
    return b64url_encode(secrets.token_bytes(nbytes))


def _lenient_b64url_decode(text: str) -> bytes:
    """Decode a token part that may carry '=' padding (RFC 8823's examples)."""
    stripped = re.sub(r"\s+", "", text).rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def join_tokens(part1: str, part2: str, join: str) -> str:
    if join == "string":
        return part1 + part2
    if join == "binary":
        return b64url_encode(_lenient_b64url_decode(part1) +
                             _lenient_b64url_decode(part2))
    raise ValueError(f"unknown token join {join!r}")


def key_authorization(part1: str, part2: str, thumbprint: str, join: str) -> str:
    return join_tokens(part1, part2, join) + "." + thumbprint


def response_digest(part1: str, part2: str, thumbprint: str, join: str) -> str:
    """The value a correct reply carries between the ACME RESPONSE lines."""
    key_auth = key_authorization(part1, part2, thumbprint, join)
    return b64url_encode(hashlib.sha256(key_auth.encode("utf-8")).digest())
