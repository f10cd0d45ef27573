"""Challenge mail (RFC 8823 §3.1): composition, DKIM signing, delivery.

The message is built byte by byte so that every line ends in CRLF and the
header layout is exactly what this file says.
"""
import email.utils
import os
import smtplib
import socket
import threading
import time

from acme_ca.dkimkeys import CHALLENGE_REQUIRED, SHOULD_SIGN
from acme_ca.util import random_id

CRLF = "\r\n"
_counter = 0
_counter_lock = threading.Lock()


def _q_encode(text: str) -> str:
    """RFC 2047 Q encoding of an ASCII string (spaces as '_')."""
    out = []
    for char in text:
        if char.isalnum() or char in "!*+-/":
            out.append(char)
        elif char == " ":
            out.append("_")
        else:
            out.append("=%02X" % ord(char))
    return "".join(out)


def subject_header(token1: str, style: str) -> str:
    """The Subject field. style: plain | folded | encoded."""
    if style == "plain":
        return f"Subject: ACME: {token1}"
    cut1, cut2 = len(token1) // 3, 2 * len(token1) // 3
    if style == "folded":
        # FWS inside the token: unfolding leaves a space the client must drop.
        return f"Subject: ACME: {token1[:cut1]}{CRLF} {token1[cut1:]}"
    # Encoded words, with encoded spaces inside the token and a fold between
    # two encoded words (like acme4j's test vector).
    first = _q_encode(f"ACME: {token1[:cut1]} {token1[cut1:cut2]}")
    second = _q_encode(f"  {token1[cut2:]}")
    return f"Subject: =?UTF-8?Q?{first}?={CRLF} =?US-ASCII?Q?{second}?="


def new_message_id(domain: str) -> str:
    return f"<{random_id(15)}.{int(time.time())}@{domain}>"


def compose(from_addr, to_addr, token1, message_id, subject_style, reply_to=None,
            auto_submitted=True) -> bytes:
    headers = [
        f"From: {from_addr}",
        f"To: {to_addr}",
        subject_header(token1, subject_style),
        f"Date: {email.utils.format_datetime(email.utils.localtime())}",
        f"Message-ID: {message_id}",
    ]
    # --no-auto-submitted: the mail acme2certifier sends, which RFC 8823 §3.1 does not allow
    if auto_submitted:
        headers.append("Auto-Submitted: auto-generated; type=acme")
    if reply_to:
        headers.append(f"Reply-To: {reply_to}")
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii",
                "Content-Transfer-Encoding: 7bit"]
    body = [
        "This is an ACME challenge (RFC 8823) from the mailenroll test CA.",
        f"Someone asked for an S/MIME certificate for {to_addr}.",
        "An ACME-aware mail client answers it automatically; if you did not",
        "ask for a certificate, ignore this message.",
    ]
    return (CRLF.join(headers) + CRLF + CRLF + CRLF.join(body) + CRLF).encode("ascii")


def dkim_sign(message: bytes, key, omit=()) -> bytes:
    import dkim      # imported lazily: dkimpy pulls in dnspython, slow to import
    omit = {h.lower() for h in omit}
    names = [h for h in CHALLENGE_REQUIRED + SHOULD_SIGN if h not in omit]
    signature = dkim.sign(message, key.selector.encode(), key.domain.encode(), key.private,
                          canonicalize=(b"relaxed", b"relaxed"),
                          signature_algorithm=key.algorithm,
                          include_headers=[n.encode() for n in names], linesep=b"\r\n")
    return signature + message


def ensure_maildir(path: str) -> None:
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)


def deliver_maildir(path: str, message: bytes) -> str:
    """Maildir delivery: write into tmp/, then rename into new/."""
    global _counter
    with _counter_lock:
        _counter += 1
        count = _counter
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    base = f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{count}.{host}"
    tmp = os.path.join(path, "tmp", base)
    final = os.path.join(path, "new", f"{base},S={len(message)}")
    with open(tmp, "wb") as handle:
        handle.write(message)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, final)
    return final


def deliver_smtp(host: str, port: int, envelope_from: str, to_addr: str, message: bytes) -> None:
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.sendmail(envelope_from, [to_addr], message)
