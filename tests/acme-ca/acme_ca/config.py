"""Command-line switches. Every switch is documented in README.md."""
import argparse
import dataclasses
import os
import tempfile

from acme_ca.util import MAX_VALIDITY_DAYS, B64Error, b64url_decode


def _host_port(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _eab(text):
    kid, sep, key = text.partition(":")
    if not sep or not kid or not key:
        raise argparse.ArgumentTypeError("expected KID:BASE64URLKEY")
    try:
        raw = b64url_decode(key)
    except B64Error as err:
        raise argparse.ArgumentTypeError(f"EAB key: {err}")
    if len(raw) < 16:
        raise argparse.ArgumentTypeError("EAB key must be at least 16 bytes")
    return kid, raw


def _rate(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("rate must be within 0..1")
    return value


def _nonneg(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _addr(text):
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or any(c in text for c in " <>\r\n,"):
        raise argparse.ArgumentTypeError(f"not a plain address: {text!r}")
    return text


def build_parser():
    p = argparse.ArgumentParser(
        prog="acme-ca.py", description="Strict RFC 8555 + RFC 8823 test CA on 127.0.0.1.")
    g = p.add_argument_group("network and files")
    g.add_argument("--port", type=int, default=0, help="HTTPS port (0 = random free port)")
    g.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "localhost"),
                   help="host name used in every URL the CA hands out")
    g.add_argument("--smtp-port", type=int, default=0,
                   help="reply SMTP listener port on 127.0.0.1 (0 = random)")
    g.add_argument("--state-dir", help="directory for keys, mail, status (default: a new temp "
                   "dir, removed again at a clean exit unless --keep-state)")
    g.add_argument("--keep-state", action="store_true",
                   help="do not remove the auto-created state dir at exit")
    g.add_argument("--maildir", help="Maildir for challenge mail (default STATE/maildir)")
    g.add_argument("--no-maildir", action="store_true", help="do not write challenge mail to a Maildir")
    g.add_argument("--smtp-deliver", type=_host_port, metavar="HOST:PORT",
                   help="also deliver challenge mail by SMTP to HOST:PORT")
    g.add_argument("--drop-dir", help="folder scanned for reply mails (default STATE/drop)")
    g.add_argument("--status-file", help="JSON status file (default STATE/status.json)")
    g.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes")

    g = p.add_argument_group("RFC 8823 behaviour")
    g.add_argument("--from", dest="from_addr", type=_addr, default="acme-challenge@acme-ca.test",
                   help="From address of challenge mail (the challenge's 'from')")
    g.add_argument("--reply-to", type=_addr, help="add Reply-To to challenge mail")
    g.add_argument("--no-auto-submitted", action="store_true",
                   help="leave Auto-Submitted out of challenge mail, as acme2certifier 0.39-0.43.1 "
                   "does (not RFC 8823)")
    g.add_argument("--token-join", choices=("string", "binary"), default="string")
    g.add_argument("--mail-on", choices=("authz", "challenge"), default="authz",
                   help="send the mail when the authz is first fetched, or after challenge POST")
    g.add_argument("--mail-on-every-fetch", action="store_true",
                   help="send another mail (same token) on every authz fetch (acme2certifier-like)")
    g.add_argument("--token1-bytes", type=int, default=16, help="entropy of token-part1 (>= 16)")
    g.add_argument("--token2-bytes", type=int, default=16, help="entropy of token-part2 (>= 16)")
    g.add_argument("--pad-token-part1", action="store_true", help="keep '=' padding on token-part1")
    g.add_argument("--encoded-subject", action="store_true",
                   help="RFC 2047 Q-encoded Subject with whitespace inside the token")
    g.add_argument("--folded-subject", action="store_true",
                   help="plain Subject folded (CRLF WSP) inside the token")
    g.add_argument("--repeat-mail", type=int, default=1, metavar="N",
                   help="send each challenge mail N times (same token, new Message-ID)")
    g.add_argument("--repeat-interval", type=_nonneg, default=0.0, metavar="SECONDS",
                   help="pause between repeated mails")
    g.add_argument("--mail-delay", type=_nonneg, default=0.0, metavar="SECONDS",
                   help="send the challenge mail this long after it is due (a slow mail path)")
    g.add_argument("--challenge-expiry", type=_nonneg, default=86400.0, metavar="SECONDS",
                   help="lifetime of a pending authz/challenge (BR: <= 24 h)")
    g.add_argument("--validation-delay", type=_nonneg, default=0.0, metavar="SECONDS",
                   help="keep the challenge 'processing' this long before deciding")
    g.add_argument("--reply-window", type=_nonneg, default=None, metavar="SECONDS",
                   help="fail a POSTed challenge with incorrectResponse when no reply came "
                   "within this long of the POST (acme2certifier gives about 2 s)")

    g = p.add_argument_group("DKIM")
    g.add_argument("--dkim", choices=("none", "rsa", "ed25519"), default="none",
                   help="DKIM-sign challenge mail with a key generated at start")
    g.add_argument("--dkim-selector", default="acme-ca")
    g.add_argument("--dkim-key", metavar="FILE",
                   help="DKIM private key (PEM, RSA or Ed25519) to use; created there first "
                   "if missing (share one path across tests for fast start-up)")
    g.add_argument("--dkim-domain", help="d= domain (default: the From domain; change only "
                   "to test a client's d= check)")
    g.add_argument("--dkim-omit", action="append", default=[], metavar="HEADER",
                   help="leave HEADER out of h= (to test a client's h= check); repeatable")
    g.add_argument("--require-reply-dkim", action="store_true",
                   help="replies must carry a valid DKIM signature, d= From domain, 12 h= names")
    g.add_argument("--reply-dkim-keys", metavar="FILE",
                   help="DKIM key records for replies: lines 'selector._domainkey.domain TXT'")
    g.add_argument("--reply-dkim-dns", type=_host_port, metavar="HOST:PORT",
                   help="DNS server for reply DKIM key lookups (e.g. a dnsmasq)")

    g = p.add_argument_group("S/MIME")
    g.add_argument("--smime-sign", choices=("none", "wrapped", "lamps"), default="none",
                   help="S/MIME-sign challenge mail with header protection: an RFC 8551 "
                   "message/rfc822 wrapper, or RFC 9788 hp=\"clear\" (signer made at start)")
    g.add_argument("--smime-form", choices=("detached", "opaque"), default="detached",
                   help="multipart/signed, or application/pkcs7-mime signed-data")
    g.add_argument("--smime-fault", default="none",
                   choices=("none", "san-mismatch", "untrusted", "tampered", "no-hp", "expired"),
                   help="break one thing a client must check (needs --smime-sign)")

    g = p.add_argument_group("RFC 8555 behaviour")
    g.add_argument("--eab", type=_eab, action="append", default=[], metavar="KID:B64URLKEY",
                   help="require External Account Binding; repeatable")
    g.add_argument("--eab-single-use", action="store_true",
                   help="each EAB key creates one account only, as at CAs that hand out "
                   "single-use keys; a second account with it gets 'unauthorized'")
    g.add_argument("--bad-nonce-rate", type=_rate, default=0.0, metavar="F",
                   help="reject this fraction of otherwise valid JWS with badNonce")
    g.add_argument("--seed", type=int, help="seed for --bad-nonce-rate (deterministic)")
    g.add_argument("--retry-after", type=int, metavar="SECONDS",
                   help="send Retry-After on pending/processing authz, challenge, order")
    g.add_argument("--issuance-delay", type=_nonneg, default=0.0, metavar="SECONDS",
                   help="keep a finalized order 'processing' this long")
    g.add_argument("--validity-days", type=int, default=365, help=f"<= {MAX_VALIDITY_DAYS}")
    g.add_argument("--tos", help="termsOfService URL (default: served by the CA)")
    return p


@dataclasses.dataclass
class Config:
    args: argparse.Namespace
    state_dir: str
    state_dir_is_temp: bool
    maildir: str        # "" when disabled
    drop_dir: str
    status_file: str

    def __getattr__(self, name):
        return getattr(self.args, name)

    @property
    def from_domain(self):
        return self.args.from_addr.rpartition("@")[2]


def parse(argv=None) -> Config:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.token1_bytes < 16 or args.token2_bytes < 16:
        parser.error("token parts need >= 16 bytes (128 bits)")
    if not 1 <= args.validity_days <= MAX_VALIDITY_DAYS:
        parser.error(f"--validity-days must be within 1..{MAX_VALIDITY_DAYS}")
    if args.repeat_mail < 1:
        parser.error("--repeat-mail must be >= 1")
    if args.encoded_subject and args.folded_subject:
        parser.error("--encoded-subject and --folded-subject exclude each other")
    if args.smime_sign == "none" and args.smime_fault != "none":
        parser.error("--smime-fault needs --smime-sign wrapped or lamps")
    state_dir = os.path.abspath(args.state_dir or tempfile.mkdtemp(prefix="acme-ca-"))
    os.makedirs(state_dir, exist_ok=True)
    maildir = "" if args.no_maildir else os.path.abspath(
        args.maildir or os.path.join(state_dir, "maildir"))
    drop_dir = os.path.abspath(args.drop_dir or os.path.join(state_dir, "drop"))
    status = os.path.abspath(args.status_file or os.path.join(state_dir, "status.json"))
    return Config(args, state_dir, args.state_dir is None, maildir, drop_dir, status)
