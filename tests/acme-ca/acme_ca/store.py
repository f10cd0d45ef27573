"""In-memory ACME objects, the nonce pool, and the JSON status file.

All mutation happens under ``Store.lock``; ``Store.save()`` rewrites the
status file atomically (temp file + rename) after every change.
"""
import collections
import dataclasses
import os
import random
import secrets
import threading
import time
from typing import Dict, List, Optional

from acme_ca.rfc8823 import response_digest
from acme_ca.util import atomic_write, b64url_encode, json_dumps, rfc3339_ts

MAX_ERRORS = 500
MAX_TIMELINE = 1000
MAX_NONCES = 20000


@dataclasses.dataclass
class Account:
    id: str
    url: str
    jwk: dict
    public_key: object
    spki: bytes
    thumbprint: str
    contact: list
    status: str = "valid"
    eab_kid: Optional[str] = None
    eab: Optional[dict] = None
    orders: List[str] = dataclasses.field(default_factory=list)
    created: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass
class Reply:
    source: str                 # "smtp" or "drop:<file name>"
    received: float
    ok: bool
    problems: list
    warnings: list
    digest: Optional[str]
    matched_by: str             # "subject" | "in-reply-to"
    ordinal: int                # 1 for the first reply to this challenge

    def to_json(self):
        return {"source": self.source, "received": rfc3339_ts(self.received), "ok": self.ok,
                "problems": self.problems, "warnings": self.warnings, "digest": self.digest,
                "matched_by": self.matched_by, "ordinal": self.ordinal,
                "counted": self.ordinal == 1}


@dataclasses.dataclass
class Challenge:
    id: str
    url: str
    authz_id: str
    token_part1: str
    token_part2: str
    from_addr: str
    reply_to: Optional[str]
    status: str = "pending"
    validated: Optional[float] = None
    error: Optional[dict] = None
    posted: Optional[float] = None
    post_count: int = 0
    mail_message_ids: List[str] = dataclasses.field(default_factory=list)
    mails_sent: int = 0
    mail_scheduled: bool = False
    replies: List[Reply] = dataclasses.field(default_factory=list)
    decided_digest: Optional[str] = None

    @property
    def expected_to(self):
        return self.reply_to or self.from_addr

    def to_acme(self):
        obj = {"type": "email-reply-00", "url": self.url, "status": self.status,
               "token": self.token_part2, "from": self.from_addr}
        if self.validated is not None:
            obj["validated"] = rfc3339_ts(self.validated)
        if self.error is not None:
            obj["error"] = self.error
        return obj


@dataclasses.dataclass
class Authz:
    id: str
    url: str
    order_id: str
    account_id: str
    identifier: dict
    expires: float
    challenge: Challenge
    status: str = "pending"
    fetched: int = 0

    def to_acme(self):
        return {"identifier": self.identifier, "status": self.status,
                "expires": rfc3339_ts(self.expires), "challenges": [self.challenge.to_acme()]}


@dataclasses.dataclass
class Order:
    id: str
    url: str
    account_id: str
    identifiers: list
    authz_ids: list
    expires: float
    finalize_url: str
    status: str = "pending"
    error: Optional[dict] = None
    cert_id: Optional[str] = None
    processing_until: Optional[float] = None
    replaces: Optional[str] = None

    def to_acme(self, store):
        obj = {"status": self.status, "expires": rfc3339_ts(self.expires),
               "identifiers": self.identifiers,
               "authorizations": [store.authzs[a].url for a in self.authz_ids],
               "finalize": self.finalize_url}
        if self.cert_id and self.status == "valid":
            obj["certificate"] = store.certs[self.cert_id].url
        if self.error is not None:
            obj["error"] = self.error
        if self.replaces:
            obj["replaces"] = self.replaces
        return obj


@dataclasses.dataclass
class Cert:
    id: str
    url: str
    account_id: str
    order_id: str
    cert: object
    chain_pem: bytes
    ari_id: str
    spki: bytes
    revoked: Optional[float] = None
    revoked_reason: Optional[int] = None
    replaced_by: Optional[str] = None


class NoncePool:
    def __init__(self):
        self._nonces = collections.OrderedDict()

    def issue(self) -> str:
        nonce = b64url_encode(secrets.token_bytes(16))
        self._nonces[nonce] = True
        while len(self._nonces) > MAX_NONCES:
            self._nonces.popitem(last=False)
        return nonce

    def consume(self, nonce: str) -> bool:
        return self._nonces.pop(nonce, None) is not None


class Store:
    def __init__(self, config, base_url):
        self.config = config
        self.base_url = base_url
        self.lock = threading.RLock()
        self.nonces = NoncePool()
        self.rng = random.Random(config.seed)
        self.accounts: Dict[str, Account] = {}
        self.orders: Dict[str, Order] = {}
        self.authzs: Dict[str, Authz] = {}
        self.challenges: Dict[str, Challenge] = {}
        self.certs: Dict[str, Cert] = {}
        self.certs_by_ari: Dict[str, str] = {}
        self.mails: list = []
        self.unmatched_replies: list = []
        self.errors: list = []
        # what happened when, to the millisecond: each request answered, each mail sent,
        # each reply received, each challenge decided (the tests' timelines)
        self.timeline: list = []
        self.counters = collections.Counter()
        self.extra_status: dict = {}
        self.started = time.time()
        self.stopped = False

    # -- lookups ----------------------------------------------------------------------
    def account_by_spki(self, spki: bytes) -> Optional[Account]:
        return next((a for a in self.accounts.values() if a.spki == spki), None)

    def challenge_by_token1(self, token1: str) -> Optional[Challenge]:
        return next((c for c in self.challenges.values() if c.token_part1 == token1), None)

    def challenge_by_message_id(self, message_ids) -> Optional[Challenge]:
        wanted = set(message_ids)
        return next((c for c in self.challenges.values()
                     if wanted & set(c.mail_message_ids)), None)

    def note(self, event: str) -> None:
        """One line of the timeline, with the time since the epoch in seconds (float)."""
        self.timeline.append({"at": round(time.time(), 4), "event": event})
        del self.timeline[:-MAX_TIMELINE]

    def record_error(self, where: str, kind: str, detail: str) -> None:
        self.errors.append({"at": rfc3339_ts(time.time()), "where": where, "type": kind,
                            "detail": detail})
        del self.errors[:-MAX_ERRORS]

    # -- status file ------------------------------------------------------------------
    def status(self) -> dict:
        return {
            "version": 1,
            "pid": os.getpid(),
            "directory": self.base_url + "/dir",
            "started": rfc3339_ts(self.started),
            "updated": rfc3339_ts(time.time()),
            "stopped": self.stopped,
            **self.extra_status,
            "counters": dict(self.counters),
            "accounts": [self._account_status(a) for a in self.accounts.values()],
            "orders": [self._order_status(o) for o in self.orders.values()],
            "challenges": [self._challenge_status(c) for c in self.challenges.values()],
            "certificates": [self._cert_status(c) for c in self.certs.values()],
            "mails": self.mails,
            "unmatched_replies": self.unmatched_replies,
            "errors": self.errors,
            "timeline": self.timeline,
        }

    def save(self) -> None:
        with self.lock:
            data = json_dumps(self.status())
            atomic_write(self.config.status_file, data)

    @staticmethod
    def _account_status(a):
        return {"url": a.url, "status": a.status, "thumbprint": a.thumbprint,
                "contact": a.contact, "eab_kid": a.eab_kid, "orders": len(a.orders)}

    def _order_status(self, o):
        return {"url": o.url, "status": o.status, "account": self.accounts[o.account_id].url,
                "identifiers": [i["value"] for i in o.identifiers],
                "authorizations": [self.authzs[a].url for a in o.authz_ids],
                "certificate": self.certs[o.cert_id].url if o.cert_id else None,
                "error": o.error, "replaces": o.replaces}

    def _challenge_status(self, c):
        authz = self.authzs[c.authz_id]
        account = self.accounts[authz.account_id]
        return {
            "url": c.url, "status": c.status, "authz": authz.url,
            "authz_status": authz.status, "order": self.orders[authz.order_id].url,
            "identifier": authz.identifier["value"], "from": c.from_addr,
            "reply_to": c.reply_to, "token_part1": c.token_part1, "token_part2": c.token_part2,
            "expires": rfc3339_ts(authz.expires), "authz_fetches": authz.fetched,
            "posted": rfc3339_ts(c.posted) if c.posted else None, "post_count": c.post_count,
            "mails_sent": c.mails_sent, "mail_message_ids": c.mail_message_ids,
            "reply_count": len(c.replies), "second_reply": len(c.replies) > 1,
            "replies": [r.to_json() for r in c.replies],
            "expected_digest": response_digest(c.token_part1, c.token_part2, account.thumbprint,
                                               self.config.token_join),
            "decided_digest": c.decided_digest, "error": c.error,
        }

    @staticmethod
    def _cert_status(c):
        return {"url": c.url, "ari_cert_id": c.ari_id, "serial": format(c.cert.serial_number, "x"),
                "revoked": c.revoked is not None, "revoked_reason": c.revoked_reason,
                "replaced_by": c.replaced_by}
