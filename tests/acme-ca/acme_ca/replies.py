"""Reply mail checks (RFC 8823 §3.2). Pure functions; the CA applies the verdict.

parse_reply() does the checks that need no challenge; check_against() those
that compare with the challenge; check_dkim() the optional DKIM rule.
Fatal findings go to ``problems``; SHOULD-level findings to ``warnings``.
"""
import dataclasses
import email
import email.errors
import email.header
import email.policy
import email.utils
import re
from typing import List, Optional

from acme_ca.dkimkeys import REPLY_REQUIRED

BEGIN = "-----BEGIN ACME RESPONSE-----"
END = "-----END ACME RESPONSE-----"
_BARE_EOL = re.compile(rb"(?<!\r)\n|\r(?!\n)")
_B64URL = re.compile(r"\A[A-Za-z0-9_-]+\Z")


@dataclasses.dataclass
class ParsedReply:
    problems: List[str] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    subject_token: Optional[str] = None
    in_reply_to: List[str] = dataclasses.field(default_factory=list)
    from_addrs: List[str] = dataclasses.field(default_factory=list)
    to_addrs: List[str] = dataclasses.field(default_factory=list)
    message_id: Optional[str] = None
    digest: Optional[str] = None


def same_address(a: str, b: str) -> bool:
    """Local part exact, domain case-insensitive."""
    la, _, da = a.rpartition("@")
    lb, _, db = b.rpartition("@")
    return la == lb and da.lower() == db.lower()


def parse_reply(raw: bytes) -> ParsedReply:
    out = ParsedReply()
    match = _BARE_EOL.search(raw)
    if match:
        line = raw.count(b"\n", 0, match.start()) + 1
        kind = "bare LF" if raw[match.start():match.start() + 1] == b"\n" else "bare CR"
        out.problems.append(f"{kind} at line {line}: every line must end in CRLF (RFC 8823 §3.2)")
    if any(len(line) > 998 for line in raw.split(b"\r\n")):
        out.problems.append("a line is longer than 998 octets (RFC 5322 §2.1.1)")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    _check_subject(msg, out)
    _check_addresses(msg, out)
    _check_header_rules(msg, out)
    _check_body(msg, out)
    return out


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _check_subject(msg, out):
    subjects = msg.get_all("Subject", [])
    if len(subjects) != 1:
        out.problems.append(f"expected one Subject field, found {len(subjects)}")
        return
    try:
        parts = email.header.decode_header(_unfold(subjects[0]))
    except email.errors.HeaderParseError as err:
        out.problems.append(f"Subject encoded-words do not decode: {err}")
        return
    text = ""
    for chunk, charset in parts:
        if charset and charset.split("*")[0].lower() not in ("utf-8", "us-ascii"):
            out.problems.append(f"Subject uses charset {charset}; only UTF-8/US-ASCII allowed")
            return
        text += chunk.decode(charset.split("*")[0] if charset else "ascii", "replace") \
            if isinstance(chunk, bytes) else chunk
    position = text.find("ACME:")
    if position < 0:
        out.problems.append(f"Subject {text!r} does not contain 'ACME:'")
        return
    prefix, rest = text[:position], text[position + 5:]
    if not prefix.isascii():
        out.problems.append("the reply prefix before 'ACME:' must be US-ASCII")
    if not rest[:1].isspace():
        out.problems.append("'ACME:' must be followed by whitespace, then the token")
    out.subject_token = re.sub(r"\s+", "", rest)


def _addresses(msg, name):
    values = msg.get_all(name, [])
    return [addr for _display, addr in email.utils.getaddresses(values) if addr]


def _check_addresses(msg, out):
    if len(msg.get_all("From", [])) != 1:
        out.problems.append("expected exactly one From field")
    out.from_addrs = _addresses(msg, "From")
    if len(out.from_addrs) != 1:
        out.problems.append(f"From must hold exactly one address, got {out.from_addrs}")
    out.to_addrs = _addresses(msg, "To")
    if not out.to_addrs:
        out.problems.append("no To address")
    if msg.get_all("Cc"):
        out.warnings.append("Cc is present (the CA ignores it; RFC 8823 §3.2 item 4)")
    in_reply_to = msg.get_all("In-Reply-To", [])
    out.in_reply_to = re.findall(r"<[^<>\s]+>", " ".join(in_reply_to))
    if not out.in_reply_to:
        out.problems.append("In-Reply-To with the challenge's Message-ID is missing")
    message_ids = re.findall(r"<[^<>\s]+>", " ".join(msg.get_all("Message-ID", [])))
    out.message_id = message_ids[0] if message_ids else None
    if not message_ids:
        out.warnings.append("no Message-ID (RFC 5322 §3.6.4 SHOULD)")
    if not msg.get_all("References"):
        out.warnings.append("no References (RFC 5322 §3.6.4 / RFC 3834 §3.1.6 SHOULD)")
    if not msg.get_all("Date"):
        out.problems.append("no Date field (RFC 5322 §3.6 requires one)")


def _check_header_rules(msg, out):
    listed = sorted({name for name in msg.keys() if name.lower().startswith("list-")})
    if listed:
        out.problems.append(f"List-* header fields are not allowed: {listed}")
    for value in msg.get_all("Auto-Submitted", []):
        keyword = value.split(";")[0].strip().lower()
        if keyword == "auto-generated":
            out.problems.append("Auto-Submitted: auto-generated is not allowed on a reply "
                                "(RFC 3834 §5.2)")


def _text_part(msg, out):
    content_type = msg.get_content_type()
    if content_type == "text/plain":
        return msg
    if content_type == "multipart/alternative":
        for part in msg.get_payload():
            if part.get_content_type() == "text/plain":
                return part
        out.problems.append("multipart/alternative without a text/plain part")
        return None
    out.problems.append(f"top-level media type {content_type} not allowed; use text/plain "
                        "(or multipart/alternative with text/plain)")
    return None


def _check_body(msg, out):
    part = _text_part(msg, out)
    if part is None:
        return
    cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte not in ("7bit", "8bit", "quoted-printable", "base64"):
        out.problems.append(f"unknown Content-Transfer-Encoding {cte}")
        return
    if cte != "7bit":
        out.warnings.append(f"Content-Transfer-Encoding {cte} (7bit is expected)")
    body = part.get_payload(decode=True) or b""
    lines = body.decode("utf-8", "replace").split("\r\n")
    try:
        start = next(i for i, line in enumerate(lines) if line == BEGIN)
    except StopIteration:
        out.problems.append(f"no line '{BEGIN}' in the text/plain part")
        return
    try:
        stop = next(i for i in range(start + 1, len(lines)) if lines[i] == END)
    except StopIteration:
        out.problems.append(f"no line '{END}' after the BEGIN line")
        return
    digest = "".join(lines[start + 1:stop])
    if not digest:
        out.problems.append("empty ACME RESPONSE block")
        return
    if not _B64URL.match(digest):
        out.problems.append(f"the response {digest!r} is not unpadded base64url")
    out.digest = digest


def check_against(parsed: ParsedReply, identifier: str, expected_to: str,
                  message_ids, token1: str) -> List[str]:
    problems = []
    if parsed.subject_token is not None and parsed.subject_token != token1:
        problems.append(f"Subject token {parsed.subject_token!r} is not token-part1 {token1!r}")
    if len(parsed.from_addrs) == 1 and not same_address(parsed.from_addrs[0], identifier):
        problems.append(f"From {parsed.from_addrs[0]!r} is not the identifier {identifier!r}")
    if parsed.to_addrs and (len(parsed.to_addrs) != 1 or
                            not same_address(parsed.to_addrs[0], expected_to)):
        problems.append(f"To {parsed.to_addrs} must be exactly {expected_to!r} "
                        "(the challenge's Reply-To, else its From)")
    if parsed.in_reply_to and not set(parsed.in_reply_to) & set(message_ids):
        problems.append(f"In-Reply-To {parsed.in_reply_to} names no challenge mail "
                        f"{list(message_ids)}")
    return problems


def check_dkim(raw: bytes, from_addr: str, dnsfunc) -> Optional[str]:
    """None when one DKIM signature verifies with d= the From domain and the
    12 names RFC 8823 §3.2 requires in h=; otherwise the reason."""
    import dkim
    from dkim.util import parse_tag_value
    domain = from_addr.rpartition("@")[2].lower()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    signatures = msg.get_all("DKIM-Signature", [])
    if not signatures:
        return "the reply carries no DKIM-Signature (RFC 8823 §3.2 item 9)"
    reasons = []
    for index, value in enumerate(signatures):
        try:
            tags = parse_tag_value(re.sub(r"\s+", "", value).encode())
        except Exception as err:  # noqa: BLE001 - dkimpy raises its own types
            reasons.append(f"signature {index}: unparsable ({err})")
            continue
        d = tags.get(b"d", b"").decode().lower()
        h = {name.strip().lower() for name in tags.get(b"h", b"").decode().split(":")}
        missing = [name for name in REPLY_REQUIRED if name not in h]
        if d != domain:
            reasons.append(f"signature {index}: d={d} is not the From domain {domain}")
            continue
        if missing:
            reasons.append(f"signature {index}: h= lacks {missing}")
            continue
        try:
            ok = dkim.DKIM(raw).verify(idx=index, dnsfunc=dnsfunc)
        except Exception as err:  # noqa: BLE001
            ok, err_text = False, str(err)
        else:
            err_text = "signature does not verify"
        if ok:
            return None
        reasons.append(f"signature {index}: {err_text}")
    return "; ".join(reasons)
