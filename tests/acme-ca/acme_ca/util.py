"""Small helpers: strict base64url, time formatting, ids, atomic file writes."""
import base64
import datetime
import json
import os
import re
import secrets
import tempfile

MAX_VALIDITY_DAYS = 825          # S/MIME BR §6.3.2, strict and multipurpose
_B64URL_RE = re.compile(r"\A[A-Za-z0-9_-]*\Z")


class B64Error(ValueError):
    """A value is not unpadded base64url (RFC 8555 §6.1)."""


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text) -> bytes:
    """Strict decoding: only the base64url alphabet, no '=' padding, no
    whitespace, and a length that an unpadded encoding can have."""
    if not isinstance(text, str):
        raise B64Error("expected a base64url string")
    if not _B64URL_RE.match(text):
        raise B64Error("not unpadded base64url (padding, whitespace or a "
                       "non-base64url character)")
    if len(text) % 4 == 1:
        raise B64Error("impossible base64url length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise B64Error("non-canonical base64url (stray bits in the last character)")
    return data


def random_id(nbytes: int = 12) -> str:
    return b64url_encode(secrets.token_bytes(nbytes))


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ts(ts: float) -> str:
    return rfc3339(datetime.datetime.fromtimestamp(ts, datetime.timezone.utc))


def json_dumps(obj) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=False).encode("utf-8") + b"\n"


def strict_json_loads(data: bytes):
    """json.loads that rejects duplicate member names (RFC 7515 §5.2 step 4)."""
    def no_duplicates(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"duplicate JSON member {key!r}")
            seen[key] = value
        return seen
    return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write a file so readers never see a partial one (temp file + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
