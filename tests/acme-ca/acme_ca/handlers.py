"""ACME resources (RFC 8555 §7, RFC 9773) for the test CA.

``Acme.handle()`` maps one HTTP request to a ``Response``; it holds the store
lock for the whole request, so requests are serialized (simple and plenty fast
for tests). Work that must happen *after* the response was sent (the
challenge mail, RFC 8823 §3 step 4) goes into ``Response.after``.
"""
import datetime
import re
import time

from cryptography.hazmat.primitives import serialization

from acme_ca import jws
from acme_ca.pki import spki_der
from acme_ca.problems import AcmeProblem, bad_csr, malformed, unauthorized
from acme_ca.rfc8823 import jwk_thumbprint, new_token_part1, new_token_part2
from acme_ca.store import Account, Authz, Cert, Challenge, Order
from acme_ca.util import B64Error, b64url_decode, json_dumps, random_id, rfc3339

JOSE = "application/jose+json"
PEM_CHAIN = "application/pem-certificate-chain"
ORDER_LIFETIME = 7 * 86400
REVOCATION_REASONS = (0, 1, 3, 4, 5)
_LOCAL = r"[A-Za-z0-9!#$%&'+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_RE = re.compile(rf"\A{_LOCAL}@{_LABEL}(?:\.{_LABEL})+\Z")


class Response:
    def __init__(self, status=200, obj=None, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = json_dumps(obj) if obj is not None else body
        self.content_type = content_type or ("application/json" if obj is not None else None)
        self.headers = dict(headers or {})
        self.after = []


class Acme:
    def __init__(self, config, store, pki, engine, base_url):
        self.config = config
        self.store = store
        self.pki = pki
        self.engine = engine
        self.base = base_url
        self.eab_keys = dict(config.eab)
        self.get_routes = {"/dir": self.directory, "/new-nonce": self.new_nonce,
                           "/terms": self.terms}
        self.post_routes = [
            (re.compile(r"/new-account"), self.new_account, "jwk"),
            (re.compile(r"/new-order"), self.new_order, "kid"),
            (re.compile(r"/revoke-cert"), self.revoke, "either"),
            (re.compile(r"/key-change"), self.key_change, "kid"),
            (re.compile(r"/acct/([A-Za-z0-9_-]+)"), self.account, "kid"),
            (re.compile(r"/acct/([A-Za-z0-9_-]+)/orders"), self.account_orders, "kid"),
            (re.compile(r"/order/([A-Za-z0-9_-]+)"), self.order, "kid"),
            (re.compile(r"/order/([A-Za-z0-9_-]+)/finalize"), self.finalize, "kid"),
            (re.compile(r"/authz/([A-Za-z0-9_-]+)"), self.authz, "kid"),
            (re.compile(r"/chall/([A-Za-z0-9_-]+)"), self.challenge, "kid"),
            (re.compile(r"/cert/([A-Za-z0-9_-]+)"), self.certificate, "kid"),
        ]

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, method, path, headers, body) -> Response:
        with self.store.lock:
            self.store.counters["requests"] += 1
            try:
                response = self._dispatch(method, path, headers, body)
            except AcmeProblem as problem:
                response = self._problem_response(problem, path)
            return self._finish(method, response, path)

    def reject(self, method, path, problem) -> Response:
        """A problem answer for requests refused before dispatch (body size ...)."""
        with self.store.lock:
            return self._finish(method, self._problem_response(problem, path), path)

    def _finish(self, method, response, path=""):
        self.store.note(f"{method} {path} {response.status}")
        response.headers["Replay-Nonce"] = self.store.nonces.issue()
        response.headers.setdefault("Link", [])
        response.headers["Link"].append(f'<{self.base}/dir>;rel="index"')
        if method == "POST":
            self.store.save()
        return response

    def _problem_response(self, problem, path):
        self.store.counters["errors"] += 1
        self.store.record_error(self.base + path, problem.kind, problem.detail)
        response = Response(problem.status, body=json_dumps(problem.to_json()),
                            content_type="application/problem+json", headers=problem.headers)
        return response

    def _dispatch(self, method, path, headers, body):
        route = path.split("?", 1)[0]
        if route.startswith("/renewal-info/") or route == "/renewal-info":
            if method != "GET":
                raise malformed("renewalInfo is fetched with GET", 405,
                                headers={"Allow": "GET"})
            return self.renewal_info(route[len("/renewal-info/"):])
        if route in self.get_routes:
            if method not in ("GET", "HEAD"):
                raise malformed(f"{method} not allowed here", 405, headers={"Allow": "GET, HEAD"})
            return self.get_routes[route](method)
        for pattern, handler, auth in self.post_routes:
            match = pattern.fullmatch(path)
            if match:
                if method != "POST":
                    raise malformed(f"{method} not allowed; ACME resources take POST "
                                    "(POST-as-GET with an empty payload to read)", 405,
                                    headers={"Allow": "POST"})
                return self._post(handler, auth, match.groups(), path, headers, body)
        raise malformed(f"no resource at {path}", 404)

    def _post(self, handler, auth, args, path, headers, body):
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != JOSE:
            raise malformed(f"Content-Type must be {JOSE}, not {content_type or 'absent'!r}", 415)
        verified = jws.verify_request(body, self.base + path, self._consume_nonce,
                                      self._key_for_kid)
        if auth == "jwk" and verified.kid is not None:
            raise malformed("this resource requires jwk (not kid) in the protected header")
        if auth == "kid" and verified.jwk is not None:
            raise malformed("this resource requires kid (not jwk) in the protected header")
        return handler(verified, *args, headers=headers) if args else \
            handler(verified, headers=headers)

    def _consume_nonce(self, nonce):
        if not self.store.nonces.consume(nonce):
            return False
        rate = self.config.bad_nonce_rate
        if rate and self.store.rng.random() < rate:
            self.store.counters["bad_nonce_injected"] += 1
            raise AcmeProblem("badNonce", "nonce rejected on purpose (--bad-nonce-rate); "
                              "retry with the Replay-Nonce of this response")
        return True

    def _key_for_kid(self, kid):
        prefix = self.base + "/acct/"
        account = self.store.accounts.get(kid[len(prefix):]) if kid.startswith(prefix) else None
        if account is None:
            raise AcmeProblem("accountDoesNotExist", f"no account at {kid!r}", 400)
        if account.status != "valid":
            raise AcmeProblem("unauthorized", f"account is {account.status}", 401)
        return account.public_key

    def _account_of(self, verified) -> Account:
        return self.store.accounts[verified.kid[len(self.base + "/acct/"):]]

    def _retry_after(self, response, busy):
        if busy and self.config.retry_after is not None:
            response.headers["Retry-After"] = str(self.config.retry_after)
        return response

    @staticmethod
    def _require_post_as_get(verified, what):
        if not verified.post_as_get:
            raise malformed(f"{what} is read with POST-as-GET: the payload must be the empty "
                            "string, not " + repr(verified.payload_raw.decode("utf-8", "replace")))

    @staticmethod
    def _require_payload(verified, what):
        if verified.post_as_get:
            raise malformed(f"{what} needs a JSON object payload")
        return verified.payload

    # -- unauthenticated GETs --------------------------------------------------------------
    def directory(self, _method):
        meta = {"termsOfService": self.config.tos or self.base + "/terms",
                "website": "https://github.com/mailenroll/mailenroll"}
        if self.eab_keys:
            meta["externalAccountRequired"] = True
        return Response(200, {
            "newNonce": self.base + "/new-nonce", "newAccount": self.base + "/new-account",
            "newOrder": self.base + "/new-order", "revokeCert": self.base + "/revoke-cert",
            "keyChange": self.base + "/key-change", "renewalInfo": self.base + "/renewal-info",
            "meta": meta})

    @staticmethod
    def new_nonce(method):
        status = 200 if method == "HEAD" else 204
        return Response(status, headers={"Cache-Control": "no-store"})

    @staticmethod
    def terms(_method):
        return Response(200, body=b"mailenroll test CA: for tests only; no warranty.\n",
                        content_type="text/plain; charset=utf-8")

    def renewal_info(self, cert_id):
        parts = cert_id.split(".")
        try:
            if len(parts) != 2:
                raise B64Error("expected two dot-separated parts")
            b64url_decode(parts[0]), b64url_decode(parts[1])
        except B64Error as err:
            raise malformed(f"bad certID {cert_id!r}: {err}")
        cert = self.store.certs.get(self.store.certs_by_ari.get(cert_id, ""))
        if cert is None:
            raise malformed(f"no certificate with certID {cert_id!r}", 404)
        not_before = cert.cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        not_after = cert.cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        lifetime = not_after - not_before
        if cert.revoked is not None:
            start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
            end = start + datetime.timedelta(minutes=30)
        else:
            start = not_before + lifetime * 2 / 3
            end = not_before + lifetime * 5 / 6
        return Response(200, {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}},
                        headers={"Retry-After": "21600"})

    # -- accounts --------------------------------------------------------------------------
    def _account_json(self, account):
        obj = {"status": account.status, "contact": account.contact,
               "termsOfServiceAgreed": True, "orders": account.url + "/orders"}
        if account.eab is not None:
            obj["externalAccountBinding"] = account.eab
        return obj

    def _account_response(self, account, status):
        return Response(status, self._account_json(account), headers={"Location": account.url})

    @staticmethod
    def _check_contact(contact):
        if not isinstance(contact, list) or not all(isinstance(c, str) for c in contact):
            raise malformed("contact must be an array of strings")
        for uri in contact:
            if not uri.startswith("mailto:"):
                raise AcmeProblem("unsupportedContact", f"only mailto: contacts: {uri!r}")
            addr = uri[len("mailto:"):]
            if "?" in addr or "," in addr or "%2C" in addr.upper() or not _ADDR_RE.match(addr):
                raise AcmeProblem("invalidContact", f"contact {uri!r} must be one plain "
                                  "addr-spec without hfields")
        return contact

    def new_account(self, verified, headers):
        payload = self._require_payload(verified, "newAccount")
        self.store.counters["new_account_requests"] += 1
        spki = spki_der(verified.public_key)
        existing = self.store.account_by_spki(spki)
        if payload.get("onlyReturnExisting") is True:
            if existing is None:
                raise AcmeProblem("accountDoesNotExist", "no account exists for this key")
            return self._account_response(existing, 200)
        if existing is not None:
            if existing.status != "valid":
                raise AcmeProblem("unauthorized", f"the account for this key is {existing.status}",
                                  401)
            return self._account_response(existing, 200)
        if payload.get("termsOfServiceAgreed") is not True:
            raise malformed("termsOfServiceAgreed must be true to create an account")
        contact = self._check_contact(payload.get("contact", []))
        eab_kid, eab = None, payload.get("externalAccountBinding")
        if self.eab_keys:
            if eab is None:
                raise AcmeProblem("externalAccountRequired",
                                  "this CA requires externalAccountBinding")
            eab_kid = jws.verify_eab(eab, verified.jwk, self.base + "/new-account", self.eab_keys)
            if self.config.eab_single_use and any(a.eab_kid == eab_kid for a in self.store.accounts.values()):
                raise AcmeProblem("unauthorized", f"the external account key {eab_kid!r} was used "
                                  "already; each key creates one account", 401)
        else:
            eab = None
        account_id = random_id(9)
        account = Account(account_id, f"{self.base}/acct/{account_id}", verified.jwk,
                          verified.public_key, spki, jwk_thumbprint(verified.jwk), contact,
                          eab_kid=eab_kid, eab=eab)
        self.store.accounts[account_id] = account
        self.store.counters["accounts_created"] += 1
        return self._account_response(account, 201)

    def account(self, verified, account_id, headers):
        account = self._account_of(verified)
        if account.id != account_id:
            raise unauthorized("kid does not name this account")
        if verified.post_as_get:
            return self._account_response(account, 200)
        payload = verified.payload
        if "contact" in payload:
            account.contact = self._check_contact(payload["contact"])
        if "status" in payload:
            if payload["status"] != "deactivated":
                raise malformed("the only status a client may set is 'deactivated'")
            account.status = "deactivated"
            for order in self.store.orders.values():
                if order.account_id == account.id and order.status in ("pending", "ready"):
                    order.status = "invalid"
                    order.error = {"type": "urn:ietf:params:acme:error:unauthorized",
                                   "detail": "account deactivated", "status": 403}
        return self._account_response(account, 200)

    def account_orders(self, verified, account_id, headers):
        account = self._account_of(verified)
        if account.id != account_id:
            raise unauthorized("kid does not name this account")
        self._require_post_as_get(verified, "the orders list")
        return Response(200, {"orders": [self.store.orders[o].url for o in account.orders]})

    def key_change(self, verified, headers):
        account = self._account_of(verified)
        inner = jws.verify_inner_jws(self._require_payload(verified, "keyChange"),
                                     self.base + "/key-change")
        body = inner.payload
        if set(body) != {"account", "oldKey"}:
            raise malformed("inner payload must be {\"account\", \"oldKey\"}")
        if body["account"] != account.url:
            raise malformed("inner payload account does not equal the outer kid")
        try:
            jws.public_key_from_jwk(body["oldKey"])
            old_thumbprint = jwk_thumbprint(body["oldKey"])
        except (AcmeProblem, KeyError, TypeError) as err:
            raise malformed(f"oldKey is not a valid JWK: {err}")
        if old_thumbprint != account.thumbprint:
            raise malformed("oldKey is not the account's current key")
        new_spki = spki_der(inner.public_key)
        if new_spki == account.spki:
            raise malformed("the new key equals the old key")
        other = self.store.account_by_spki(new_spki)
        if other is not None:
            raise AcmeProblem("malformed", "the new key already belongs to an account", 409,
                              headers={"Location": other.url})
        account.jwk, account.public_key, account.spki = inner.jwk, inner.public_key, new_spki
        account.thumbprint = jwk_thumbprint(inner.jwk)
        return self._account_response(account, 200)

    # -- orders ------------------------------------------------------------------------
    def _check_identifiers(self, identifiers):
        if not isinstance(identifiers, list) or not identifiers:
            raise malformed("identifiers must be a non-empty array")
        if len(identifiers) > 10:
            raise AcmeProblem("rejectedIdentifier", "at most 10 identifiers per order")
        subproblems, values = [], []
        for ident in identifiers:
            if not isinstance(ident, dict) or set(ident) != {"type", "value"} or \
                    not all(isinstance(v, str) for v in ident.values()):
                raise malformed("each identifier must be {\"type\": string, \"value\": string}")
            kind, detail = self._identifier_problem(ident)
            if kind:
                subproblems.append({"type": "urn:ietf:params:acme:error:" + kind,
                                    "detail": detail, "identifier": ident})
            values.append(ident["value"])
        if subproblems:
            kinds = {s["type"] for s in subproblems}
            top = subproblems[0]["type"].rpartition(":")[2] if len(kinds) == 1 else "compound"
            raise AcmeProblem(top, "; ".join(s["detail"] for s in subproblems),
                              subproblems=subproblems)
        if len(set(values)) != len(values):
            raise malformed("duplicate identifiers")
        return values

    @staticmethod
    def _identifier_problem(ident):
        value = ident["value"]
        if ident["type"] != "email":
            return "unsupportedIdentifier", (f"identifier type {ident['type']!r} is not "
                                             "supported; this CA issues only for 'email'")
        if "*" in value:
            return "rejectedIdentifier", f"{value!r}: '*' is not allowed in an email identifier"
        if not value.isascii():
            return "rejectedIdentifier", (f"{value!r}: internationalized addresses are not "
                                          "supported by this test CA")
        if not _ADDR_RE.match(value) or len(value) > 254:
            return "rejectedIdentifier", f"{value!r} is not a valid addr-spec"
        return None, None

    def new_order(self, verified, headers):
        account = self._account_of(verified)
        payload = self._require_payload(verified, "newOrder")
        for field in ("notBefore", "notAfter"):
            if field in payload:
                raise malformed(f"{field} is not supported by this CA; leave it out")
        values = self._check_identifiers(payload.get("identifiers"))
        replaces = self._check_replaces(payload.get("replaces"), account)
        now = time.time()
        order_id = random_id(9)
        order = Order(order_id, f"{self.base}/order/{order_id}", account.id,
                      [{"type": "email", "value": v} for v in values], [],
                      now + max(ORDER_LIFETIME, self.config.challenge_expiry),
                      f"{self.base}/order/{order_id}/finalize", replaces=replaces)
        for value in values:
            order.authz_ids.append(self._new_authz(order, account, value, now).id)
        self.store.orders[order_id] = order
        account.orders.append(order_id)
        if replaces:
            self.store.certs[self.store.certs_by_ari[replaces]].replaced_by = order.url
        return Response(201, order.to_acme(self.store), headers={"Location": order.url})

    def _check_replaces(self, replaces, account):
        if replaces is None:
            return None
        if not isinstance(replaces, str):
            raise malformed("replaces must be a certID string")
        cert = self.store.certs.get(self.store.certs_by_ari.get(replaces, ""))
        if cert is None or cert.account_id != account.id:
            raise malformed(f"replaces {replaces!r} names no certificate of this account")
        if cert.replaced_by:
            raise AcmeProblem("alreadyReplaced", f"{replaces} was already replaced by "
                              f"{cert.replaced_by}", 409)
        return replaces

    def _new_authz(self, order, account, value, now):
        cfg = self.config
        authz_id, chall_id = random_id(9), random_id(9)
        chall = Challenge(chall_id, f"{self.base}/chall/{chall_id}", authz_id,
                          new_token_part1(cfg.token1_bytes, cfg.pad_token_part1),
                          new_token_part2(cfg.token2_bytes), cfg.from_addr, cfg.reply_to)
        authz = Authz(authz_id, f"{self.base}/authz/{authz_id}", order.id, account.id,
                      {"type": "email", "value": value}, now + cfg.challenge_expiry, chall)
        self.store.authzs[authz_id] = authz
        self.store.challenges[chall_id] = chall
        return authz

    def _owned_order(self, verified, order_id) -> Order:
        order = self.store.orders.get(order_id)
        if order is None:
            raise malformed("no such order", 404)
        if order.account_id != self._account_of(verified).id:
            raise unauthorized("this order belongs to another account")
        return order

    def order(self, verified, order_id, headers):
        order = self._owned_order(verified, order_id)
        self._require_post_as_get(verified, "an order")
        self.engine.refresh_order(order)
        response = Response(200, order.to_acme(self.store))
        return self._retry_after(response, order.status in ("pending", "processing"))

    def finalize(self, verified, order_id, headers):
        order = self._owned_order(verified, order_id)
        payload = self._require_payload(verified, "finalize")
        if set(payload) != {"csr"} or not isinstance(payload["csr"], str):
            raise malformed("finalize payload must be {\"csr\": base64url(DER)}")
        self.engine.refresh_order(order)
        if order.status != "ready":
            raise AcmeProblem("orderNotReady", f"order is {order.status}, not ready", 403)
        try:
            der = b64url_decode(payload["csr"])
        except B64Error as err:
            raise bad_csr(f"csr: {err}")
        forbidden = {a.spki for a in self.store.accounts.values()}
        info = self.pki.check_csr(der, [i["value"] for i in order.identifiers], forbidden)
        self._issue(order, info)
        response = Response(200, order.to_acme(self.store), headers={"Location": order.url})
        return self._retry_after(response, order.status == "processing")

    def _issue(self, order, info):
        issued = self.pki.issue(info, self.config.validity_days, "http://127.0.0.1/acme-ca/int.crl",
                                "http://127.0.0.1/acme-ca/int.crt")
        cert_id = random_id(9)
        self.store.certs[cert_id] = Cert(cert_id, f"{self.base}/cert/{cert_id}", order.account_id,
                                         order.id, issued.cert, issued.chain_pem, issued.cert_id,
                                         spki_der(info.public_key))
        self.store.certs_by_ari[issued.cert_id] = cert_id
        self.store.counters["certificates_issued"] += 1
        order.cert_id = cert_id
        if self.config.issuance_delay > 0:
            order.status = "processing"
            order.processing_until = time.time() + self.config.issuance_delay
        else:
            order.status = "valid"

    # -- authorizations and challenges -----------------------------------------------------
    def _owned_authz(self, verified, authz_id) -> Authz:
        authz = self.store.authzs.get(authz_id)
        if authz is None:
            raise malformed("no such authorization", 404)
        if authz.account_id != self._account_of(verified).id:
            raise unauthorized("this authorization belongs to another account")
        return authz

    def authz(self, verified, authz_id, headers):
        authz = self._owned_authz(verified, authz_id)
        self.engine.refresh_authz(authz)
        response = Response(200)
        if verified.post_as_get:
            authz.fetched += 1
            chall = authz.challenge
            first_fetch = not chall.mail_scheduled
            if authz.status == "pending" and self.config.mail_on == "authz" and \
                    (first_fetch or self.config.mail_on_every_fetch):
                if first_fetch:
                    self.engine.schedule_mail(chall)
                response.after.append(lambda: self.engine.send_first_mail(chall.id))
        else:
            if verified.payload != {"status": "deactivated"}:
                raise malformed("an authorization takes POST-as-GET or {\"status\":\"deactivated\"}")
            if authz.status not in ("pending", "valid"):
                raise malformed(f"cannot deactivate an authorization that is {authz.status}")
            authz.status = "deactivated"
            self.engine.refresh_order(self.store.orders[authz.order_id])
        response.body = json_dumps(authz.to_acme())
        response.content_type = "application/json"
        return self._retry_after(response, authz.status == "pending")

    def challenge(self, verified, chall_id, headers):
        chall = self.store.challenges.get(chall_id)
        if chall is None:
            raise malformed("no such challenge", 404)
        authz = self._owned_authz(verified, chall.authz_id)
        response = Response(200)
        if verified.post_as_get:
            self.engine.refresh_authz(authz)
        else:
            if verified.payload != {}:
                raise malformed("the challenge response payload must be exactly {} "
                                f"(got {verified.payload_raw.decode('utf-8', 'replace')!r})")
            self.engine.post_challenge(chall)
            if self.config.mail_on == "challenge" and not chall.mail_scheduled and \
                    chall.status in ("pending", "processing"):
                self.engine.schedule_mail(chall)
                response.after.append(lambda: self.engine.send_first_mail(chall.id))
        response.body = json_dumps(chall.to_acme())
        response.content_type = "application/json"
        response.headers["Link"] = [f'<{authz.url}>;rel="up"']
        return self._retry_after(response, chall.status in ("pending", "processing"))

    # -- certificates ----------------------------------------------------------------------
    def certificate(self, verified, cert_id, headers):
        cert = self.store.certs.get(cert_id)
        if cert is None:
            raise malformed("no such certificate", 404)
        if cert.account_id != self._account_of(verified).id:
            raise unauthorized("this certificate belongs to another account")
        self._require_post_as_get(verified, "a certificate")
        order = self.store.orders[cert.order_id]
        self.engine.refresh_order(order)
        if order.status != "valid":
            raise malformed("the certificate is not ready yet", 404)
        accept = [a.split(";")[0].strip().lower()
                  for a in (headers.get("Accept") or "*/*").split(",")]
        if not {"*/*", "application/*", PEM_CHAIN} & set(accept):
            raise malformed(f"only {PEM_CHAIN} is offered (Accept: {headers.get('Accept')})", 406)
        return Response(200, body=cert.chain_pem, content_type=PEM_CHAIN)

    def revoke(self, verified, headers):
        payload = self._require_payload(verified, "revokeCert")
        if not isinstance(payload.get("certificate"), str) or \
                not set(payload) <= {"certificate", "reason"}:
            raise malformed("revokeCert payload must be {\"certificate\", [\"reason\"]}")
        try:
            der = b64url_decode(payload["certificate"])
        except B64Error as err:
            raise malformed(f"certificate: {err}")
        cert = next((c for c in self.store.certs.values()
                     if c.cert.public_bytes(serialization.Encoding.DER) == der), None)
        if cert is None:
            raise malformed("this certificate was not issued by this CA", 404)
        self._check_revoker(verified, cert)
        reason = payload.get("reason", 0)
        if type(reason) is not int or reason not in REVOCATION_REASONS:
            raise AcmeProblem("badRevocationReason", f"reason {reason!r} not allowed; use one of "
                              f"{list(REVOCATION_REASONS)}")
        if cert.revoked is not None:
            raise AcmeProblem("alreadyRevoked", "certificate is already revoked")
        cert.revoked, cert.revoked_reason = time.time(), reason
        self.store.counters["certificates_revoked"] += 1
        return Response(200)

    def _check_revoker(self, verified, cert):
        if verified.jwk is not None:
            if spki_der(verified.public_key) != cert.spki:
                raise unauthorized("jwk is not the certificate's key")
            return
        if self._account_of(verified).id != cert.account_id:
            raise unauthorized("the account did not order this certificate")

