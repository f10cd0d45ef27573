"""The RFC 8823 state machine: challenge mail out, replies in, decisions.

Order/authz/challenge states follow RFC 8555 §7.1.6. A challenge is decided
when it has been POSTed (client says "reply sent") AND its first reply has
arrived, after --validation-delay. Only the first reply per challenge counts;
later ones are recorded and flagged (``second_reply``) but change nothing.
"""
import logging
import threading
import time

from acme_ca import mailout, replies, smimesign
from acme_ca.dkimkeys import load_key_records
from acme_ca.problems import problem_json
from acme_ca.rfc8823 import response_digest
from acme_ca.store import Reply
from acme_ca.util import rfc3339_ts

log = logging.getLogger("acme-ca")
VALID_AUTHZ_LIFETIME = 30 * 86400
_FAILED_AUTHZ = ("invalid", "expired", "deactivated", "revoked")


class Engine:
    def __init__(self, config, store, dkim_key=None, smime_signer=None):
        self.config = config
        self.store = store
        self.dkim_key = dkim_key
        self.smime_signer = smime_signer
        self._jobs = []             # (due, challenge id) for repeated mails
        self._jobs_lock = threading.Lock()
        self.changed = False

    # -- state transitions (call with store.lock held) ------------------------------
    def refresh_authz(self, authz):
        now = time.time()
        if authz.status == "pending" and now > authz.expires:
            authz.status = "expired"
            chall = authz.challenge
            if chall.status in ("pending", "processing"):
                chall.status = "invalid"
                chall.error = problem_json(
                    "unauthorized", f"challenge expired at {rfc3339_ts(authz.expires)} before "
                    "a valid reply was accepted", 403)
            self.changed = True
        elif authz.status == "valid" and now > authz.expires:
            authz.status = "expired"
            self.changed = True

    def refresh_order(self, order):
        for authz_id in order.authz_ids:
            self.refresh_authz(self.store.authzs[authz_id])
        now = time.time()
        if order.status == "processing" and order.processing_until is not None \
                and now >= order.processing_until:
            order.status = "valid"
            self.changed = True
        if order.status in ("pending", "ready") and now > order.expires:
            order.status = "invalid"
            order.error = problem_json("malformed", "order expired before finalization")
            self.changed = True
        if order.status in ("pending", "ready"):
            self._order_from_authzs(order)

    def _order_from_authzs(self, order):
        authzs = [self.store.authzs[a] for a in order.authz_ids]
        failed = [a for a in authzs if a.status in _FAILED_AUTHZ]
        if failed:
            order.status = "invalid"
            error = failed[0].challenge.error or problem_json(
                "unauthorized", f"authorization {failed[0].url} is {failed[0].status}", 403)
            order.error = dict(error, detail=f"authorization for "
                               f"{failed[0].identifier['value']} failed: {error['detail']}")
            self.changed = True
        elif order.status == "pending" and all(a.status == "valid" for a in authzs):
            order.status = "ready"
            self.changed = True

    def post_challenge(self, chall):
        """The client POSTed {} to the challenge URL."""
        chall.post_count += 1
        authz = self.store.authzs[chall.authz_id]
        self.refresh_authz(authz)
        if chall.status == "pending":
            chall.status = "processing"
            chall.posted = time.time()
            self.changed = True
        self.evaluate(chall)

    def evaluate(self, chall):
        authz = self.store.authzs[chall.authz_id]
        self.refresh_authz(authz)
        if chall.status != "processing":
            return
        if not chall.replies:
            # a CA that looks for the reply only for a while after the POST (acme2certifier
            # polls its mailbox for about 2 s): the POST said "ready", and nothing was there
            window = self.config.reply_window
            if window is not None and time.time() > chall.posted + window:
                self._fail(chall, authz, f"no reply arrived within {window:g} s of the challenge POST")
            return
        first = chall.replies[0]
        due = max(chall.posted, first.received) + self.config.validation_delay
        if time.time() < due:
            return
        self._decide(chall, authz, first)

    def _decide(self, chall, authz, reply):
        account = self.store.accounts[authz.account_id]
        chall.decided_digest = reply.digest
        if not reply.ok:
            self._fail(chall, authz, "reply rejected: " + "; ".join(reply.problems))
            return
        expected = response_digest(chall.token_part1, chall.token_part2, account.thumbprint,
                                   self.config.token_join)
        if reply.digest != expected:
            self._fail(chall, authz, f"the digest {reply.digest!r} in the reply is wrong (this CA "
                       f"joins tokens as '{self.config.token_join}'; the digest is unpadded "
                       "base64url of SHA-256(keyAuthorization))")
            return
        chall.status = "valid"
        chall.validated = time.time()
        self.store.note("challenge valid")
        authz.status = "valid"
        authz.expires = time.time() + VALID_AUTHZ_LIFETIME
        self.changed = True
        self.refresh_order(self.store.orders[authz.order_id])

    def _fail(self, chall, authz, detail):
        self.store.note("challenge invalid")
        chall.status = "invalid"
        chall.error = problem_json("incorrectResponse", detail, 403)
        authz.status = "invalid"
        self.changed = True
        self.store.record_error(chall.url, "incorrectResponse", detail)
        self.refresh_order(self.store.orders[authz.order_id])

    # -- challenge mail -------------------------------------------------------------
    def schedule_mail(self, chall):
        """Mark the challenge mailed; the caller runs send_first_mail() after answering."""
        chall.mail_scheduled = True
        now = time.time() + self.config.mail_delay
        with self._jobs_lock:
            for n in range(1, self.config.repeat_mail):
                self._jobs.append((now + n * self.config.repeat_interval, chall.id))
            if self.config.mail_delay > 0:
                self._jobs.append((now, chall.id))

    def send_first_mail(self, chall_id):
        """The first mail at once, unless --mail-delay put it on the job list."""
        if self.config.mail_delay <= 0:
            self.send_mail(chall_id)

    def send_mail(self, chall_id):
        cfg = self.config
        with self.store.lock:
            chall = self.store.challenges[chall_id]
            authz = self.store.authzs[chall.authz_id]
            self.refresh_authz(authz)
            if authz.status != "pending" or chall.status not in ("pending", "processing"):
                return
            message_id = mailout.new_message_id(cfg.from_domain)
            chall.mail_message_ids.append(message_id)
            to_addr = authz.identifier["value"]
        style = "encoded" if cfg.encoded_subject else "folded" if cfg.folded_subject else "plain"
        message = mailout.compose(cfg.from_addr, to_addr, chall.token_part1, message_id, style,
                                  cfg.reply_to, auto_submitted=not cfg.no_auto_submitted)
        record = {"challenge": chall.url, "to": to_addr, "message_id": message_id,
                  "sent": rfc3339_ts(time.time()), "maildir_file": None, "smtp": None,
                  "dkim": bool(self.dkim_key), "smime": cfg.smime_sign}
        try:
            if self.smime_signer:
                message = smimesign.sign_message(message, self.smime_signer, cfg.smime_sign,
                                                 cfg.smime_form, cfg.smime_fault)
            if self.dkim_key:
                message = mailout.dkim_sign(message, self.dkim_key, cfg.dkim_omit)
            if cfg.maildir:
                record["maildir_file"] = mailout.deliver_maildir(cfg.maildir, message)
            if cfg.smtp_deliver:
                mailout.deliver_smtp(*cfg.smtp_deliver, cfg.from_addr, to_addr, message)
                record["smtp"] = "%s:%d" % cfg.smtp_deliver
        except Exception as err:  # noqa: BLE001 - report any delivery failure in status
            log.exception("challenge mail delivery failed")
            record["error"] = str(err)
        with self.store.lock:
            chall.mails_sent += 1
            self.store.note(f"mail sent {message_id}")
            self.store.counters["mails_sent"] += 1
            self.store.mails.append(record)
            if "error" in record:
                self.store.record_error(chall.url, "mailDelivery", record["error"])
            self.store.save()

    def due_mail_jobs(self):
        now = time.time()
        with self._jobs_lock:
            due = [c for t, c in self._jobs if t <= now]
            self._jobs = [(t, c) for t, c in self._jobs if t > now]
        return due

    # -- replies --------------------------------------------------------------------
    def dns_lookup(self, name, timeout=5):
        """dnsfunc for dkimpy: key file, a given DNS server, or system DNS."""
        cfg = self.config
        if cfg.reply_dkim_keys:
            key = name.decode() if isinstance(name, bytes) else name
            return load_key_records(cfg.reply_dkim_keys).get(key.rstrip(".").lower())
        if cfg.reply_dkim_dns:
            import dns.resolver
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [cfg.reply_dkim_dns[0]]
            resolver.port = cfg.reply_dkim_dns[1]
            try:
                answer = resolver.resolve(name.decode() if isinstance(name, bytes) else name,
                                          "TXT", lifetime=timeout)
            except Exception:  # noqa: BLE001 - NXDOMAIN etc. mean "no key"
                return None
            return b"".join(answer[0].strings)
        from dkim.dnsplug import get_txt
        return get_txt(name, timeout)

    def receive_reply(self, raw: bytes, source: str) -> None:
        parsed = replies.parse_reply(raw)
        dkim_problem = None
        if self.config.require_reply_dkim:
            sender = parsed.from_addrs[0] if parsed.from_addrs else ""
            dkim_problem = replies.check_dkim(raw, sender, self.dns_lookup)
        with self.store.lock:
            self.store.note(f"reply received ({source})")
            self.store.counters["replies_received"] += 1
            chall, matched_by = self._match(parsed)
            if chall is None:
                self._unmatched(parsed, source)
                self.store.save()
                return
            self._record_reply(chall, parsed, dkim_problem, source, matched_by)
            self.store.save()

    def _match(self, parsed):
        if parsed.subject_token:
            chall = self.store.challenge_by_token1(parsed.subject_token)
            if chall:
                return chall, "subject"
        if parsed.in_reply_to:
            chall = self.store.challenge_by_message_id(parsed.in_reply_to)
            if chall:
                return chall, "in-reply-to"
        return None, None

    def _unmatched(self, parsed, source):
        self.store.counters["unmatched_replies"] += 1
        detail = (f"reply from {parsed.from_addrs} matches no challenge (subject token "
                  f"{parsed.subject_token!r}, In-Reply-To {parsed.in_reply_to})")
        self.store.unmatched_replies.append({"source": source, "received": rfc3339_ts(time.time()),
                                             "detail": detail, "problems": parsed.problems})
        self.store.record_error("reply", "unmatchedReply", detail)

    def _record_reply(self, chall, parsed, dkim_problem, source, matched_by):
        authz = self.store.authzs[chall.authz_id]
        self.refresh_authz(authz)
        problems = list(parsed.problems)
        problems += replies.check_against(parsed, authz.identifier["value"], chall.expected_to,
                                          chall.mail_message_ids, chall.token_part1)
        if dkim_problem:
            problems.append("DKIM: " + dkim_problem)
        if authz.status == "expired" or time.time() > authz.expires:
            problems.append("the challenge had expired when the reply arrived")
        if not chall.mail_message_ids:
            problems.append("no challenge mail has been sent for this challenge yet")
        reply = Reply(source, time.time(), not problems, problems, parsed.warnings,
                      parsed.digest, matched_by, len(chall.replies) + 1)
        chall.replies.append(reply)
        if reply.ordinal > 1:
            self.store.counters["second_replies"] += 1
            self.store.record_error(chall.url, "secondReply",
                                    f"reply #{reply.ordinal} to the same challenge (only the "
                                    "first counts; RFC 8823 says a client MUST NOT answer twice)")
            return
        if problems:
            self.store.record_error(chall.url, "replyRejected", "; ".join(problems))
        self.evaluate(chall)

    # -- periodic work (ticker thread) --------------------------------------------
    def tick(self):
        with self.store.lock:
            for authz in list(self.store.authzs.values()):
                if authz.challenge.status == "processing":
                    self.evaluate(authz.challenge)
                else:
                    self.refresh_authz(authz)
            for order in list(self.store.orders.values()):
                if order.status in ("pending", "ready", "processing"):
                    self.refresh_order(order)
            if self.changed:
                self.changed = False
                self.store.save()
        for chall_id in self.due_mail_jobs():
            self.send_mail(chall_id)
