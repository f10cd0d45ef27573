#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small misbehaving ACME server on loopback for the fault tests.

It produces what a real CA (Pebble) cannot: truncated and oversized answers,
stalls, bad nonces, odd problem documents, insecure redirects, key blocks in a
certificate chain and so on.  It speaks just enough ACME for the C client to
reach the faulty step and never verifies a JWS; it only reads the protected
header to check that the client used nonces it handed out, once each.

Run it with Debian's interpreter (stdlib only):

    /usr/bin/python3 fault-server.py --cert C --key K [--port N] [--scenario S]
                                     [--chain PEM] [--verbose]

It prints ``PORT=<n>``, ``PLAIN_PORT=<m>`` and ``READY`` on stdout, then serves
HTTPS on 127.0.0.1:<n> until it gets SIGTERM or its stdin closes.  Port <m>
serves the same paths over plain HTTP: every http:// URL the server hands out
points there, so a client that wrongly used one gets an answer and is counted
(as ``plain GET /path``) instead of failing by accident.

Helper paths, in every scenario (all but ``/_stats`` are counted in the statistics):

* ``GET /_stats``: JSON ``{"counts": {"POST /new-account": 4, ...},
  "connections": n, "requests": [{"method", "path", "t", "user_agent",
  "accept_language", "nonce", "conn", "tls"}...], "nonce_errors": [...]}``;
  ``t`` is a monotonic time in seconds, ``conn`` numbers the connections from 1.
* ``GET|HEAD|POST /_echo``: the request headers as a JSON object (lower-case
  names), in ``Application/JSON; charset=UTF-8``.
* ``GET /_bytes?n=N[&chunked=1]``: N bytes, with Content-Length or chunked.
* ``GET /_status?code=C[&retry_after=V]``: an empty answer with that status.
* ``GET /_links``: several ``Link`` headers, one URL with a comma in it.
* ``GET /_big-headers``: about 80 KiB of headers.
* ``GET|POST /_redirect/https`` (302 to the directory over https),
  ``/_redirect/http`` (302 to the directory on the plain-HTTP port),
  ``/_redirect/loop`` (to itself).
"""

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERR = "urn:ietf:params:acme:error:"

SCENARIOS = {
    "ok": "a well-behaved CA: account, order, authz, challenge, finalize, download, ARI",
    "ok-ari": "renewalInfo answers a valid window with Retry-After: 3600",
    "ari-bad-window": "renewalInfo answers a window that ends before it starts",
    "dir-500": "the directory is a 500 text/html page",
    "dir-truncated": "the directory is cut short: Content-Length larger than what is sent",
    "dir-oversized": "the directory is 3 MiB of JSON, with Content-Length",
    "dir-oversized-chunked": "the directory is 3 MiB of JSON, chunked, without Content-Length",
    "dir-invalid-json": "the directory is not JSON",
    "dir-missing-newnonce": "the directory has no newNonce",
    "dir-http-url": "the directory's newAccount is an http:// URL",
    "rate-limited": "newAccount: 429 rateLimited, Retry-After: 7, Link rel=help",
    "rate-limited-date": "newAccount: 429 rateLimited, Retry-After as an HTTP-date 30 s ahead",
    "user-action": "newAccount: 403 userActionRequired with instance and a terms-of-service link",
    "eab-required": "newAccount: 400 externalAccountRequired",
    "always-bad-nonce": "every POST: 400 badNonce with a fresh nonce",
    "bad-nonce-once": "the first POST: 400 badNonce, then success",
    "bad-nonce-header": "every Replay-Nonce except newNonce's has invalid characters or length",
    "server-error-plain": "newAccount: 500 text/plain without a problem document, Retry-After: 120",
    "subproblems": "newOrder: 400 rejectedIdentifier with two subproblems",
    "stall": "the directory: headers, then silence",
    "cert-with-key": "the certificate chain is followed by a PRIVATE KEY block",
    "cert-garbage": "the certificate is not PEM at all",
    "cert-alternates": "the certificate comes with two Link rel=alternate",
    "order-invalid": "the order poll answers invalid with an error problem",
    "order-invalid-bare": "the order poll answers invalid without an error",
    "authz-invalid": "the authorization is invalid, its challenge has incorrectResponse",
    "poll-retry-after": "the authorization is pending twice with Retry-After: 1, then valid",
    "poll-no-retry-after": "the authorization is pending three times without Retry-After, then valid",
    "poll-expires": "the authorization stays pending and expires in 2 s",
    "redirect": "the directory is a 302 to another https URL of this server",
    "bad-status-value": "newOrder answers an order with status \"weird\"",
}

BAD_NONCES = ["bad+nonce/==", "white space", "x" * 300, "tab\tnonce", "semi;colon"]


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc3339(unix):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, scenario, chain_pem, key_pem):
        self.scenario = scenario
        self.chain_pem = chain_pem
        self.key_pem = key_pem
        self.lock = threading.Lock()
        self.counts = {}
        self.requests = []
        self.connections = 0
        self.issued = set()
        self.used = set()
        self.nonce_errors = []
        self.challenge_posted = False
        self.bad_nonce_index = 0
        self.authz_expires = None
        self.port = 0
        self.plain_port = 0

    def get_count(self, key):
        with self.lock:
            return self.counts.get(key, 0)

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def new_nonce(self):
        nonce = secrets.token_urlsafe(16)
        with self.lock:
            self.issued.add(nonce)
        return nonce

    def bad_nonce(self):
        with self.lock:
            nonce = BAD_NONCES[self.bad_nonce_index % len(BAD_NONCES)]
            self.bad_nonce_index += 1
        return nonce

    def check_nonce(self, what, nonce):
        with self.lock:
            if nonce not in self.issued:
                self.nonce_errors.append("%s: nonce %r was never issued" % (what, nonce))
            elif nonce in self.used:
                self.nonce_errors.append("%s: nonce %r was used twice" % (what, nonce))
            self.used.add(nonce)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-server/1"

    # ---- plumbing

    def setup(self):
        # the TLS handshake happens here, in the connection's thread, so a client that
        # never completes it cannot block the accept loop
        self.request.settimeout(60)
        # answers go out in more than one write; without this, Nagle and the client's
        # delayed ACK add 40 ms to each, which would blur the timing tests
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.ssl_ctx is not None:
            self.request = self.server.ssl_ctx.wrap_socket(self.request, server_side=True)
        with self.server.state.lock:
            self.server.state.connections += 1
            self.conn_id = self.server.state.connections
        super().setup()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fault-server: %s\n" % (fmt % args))

    @property
    def st(self):
        return self.server.state

    @property
    def base(self):
        return "https://127.0.0.1:%d" % self.st.port

    def nonce_header(self, path):
        if self.st.scenario == "bad-nonce-header" and path != "/new-nonce":
            return self.st.bad_nonce()
        return self.st.new_nonce()

    def reply(self, status, body=b"", ctype=None, headers=(), nonce=True, length=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if nonce:
            self.send_header("Replay-Nonce", self.nonce_header(self.path_only))
        self.send_header("Link", '<%s/directory>;rel="index"' % self.base)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, obj, headers=(), ctype="application/json"):
        self.reply(status, json.dumps(obj), ctype, headers)

    def problem(self, status, kind, detail, headers=(), **extra):
        doc = {"type": ERR + kind, "detail": detail, "status": status}
        doc.update(extra)
        self.reply_json(status, doc, headers, "application/problem+json")

    def record(self, nonce=None):
        st = self.st
        # requests to the plain-HTTP listener are counted as "plain GET /x"
        key = "%s%s %s" % ("" if self.server.ssl_ctx is not None else "plain ", self.command, self.path_only)
        st.count(key)
        with st.lock:
            st.requests.append(
                {
                    "method": self.command,
                    "path": self.path_only,
                    "t": time.monotonic(),
                    "user_agent": self.headers.get("User-Agent"),
                    "accept_language": self.headers.get("Accept-Language"),
                    "nonce": nonce,
                    "conn": self.conn_id,
                    "tls": self.server.ssl_ctx is not None,
                }
            )

    def parse(self):
        parts = urllib.parse.urlsplit(self.path)
        self.path_only = parts.path
        self.query = dict(urllib.parse.parse_qsl(parts.query))

    def read_jws(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            jws = json.loads(body)
            protected = json.loads(b64u_decode(jws["protected"]))
            payload = b64u_decode(jws["payload"]).decode()
        except (ValueError, KeyError, TypeError):
            return None, None, body.decode(errors="replace")
        return protected, payload, None

    # ---- dispatch

    def do_GET(self):
        self.parse()
        if self.path_only != "/_stats":
            self.record()
        if not self.helper():
            self.acme_get()

    def do_HEAD(self):
        self.parse()
        self.record()
        if self.path_only == "/_echo":
            return self.echo()
        if self.path_only == "/new-nonce":
            return self.reply(200, headers=[("Cache-Control", "no-store")])
        self.reply(405)

    def do_POST(self):
        self.parse()
        if self.path_only == "/_echo" or self.path_only.startswith("/_redirect/"):
            self.read_jws()
            self.record()
            return self.helper()
        protected, payload, garbage = self.read_jws()
        nonce = protected.get("nonce") if protected else None
        self.record(nonce)
        what = "POST " + self.path_only
        if protected is None:
            with self.st.lock:
                self.st.nonce_errors.append("%s: not a JWS: %r" % (what, garbage[:80]))
        else:
            self.st.check_nonce(what, nonce)
            if protected.get("url") != self.base + self.path_only:
                with self.st.lock:
                    self.st.nonce_errors.append("%s: url %r" % (what, protected.get("url")))
        self.acme_post(protected or {}, payload)

    # ---- helper paths, the same in every scenario

    def helper(self):
        path = self.path_only
        if path == "/_stats":
            with self.st.lock:
                stats = {
                    "scenario": self.st.scenario,
                    "counts": dict(self.st.counts),
                    "connections": self.st.connections,
                    "requests": list(self.st.requests),
                    "nonce_errors": list(self.st.nonce_errors),
                }
            self.reply_json(200, stats)
        elif path == "/_echo":
            self.echo()
        elif path == "/_bytes":
            self.send_bytes(int(self.query.get("n", "0")), self.query.get("chunked") == "1")
        elif path == "/_status":
            headers = []
            if "retry_after" in self.query:
                headers.append(("Retry-After", self.query["retry_after"]))
            self.reply(int(self.query.get("code", "200")), headers=headers)
        elif path == "/_links":
            self.reply(
                200,
                headers=[
                    ("Link", '<https://a.example/x,y>;rel="alternate", <https://b.example/>; rel=alternate'),
                    ("Link", '<https://c.example/help>;rel="help"'),
                ],
            )
        elif path == "/_big-headers":
            self.reply(200, headers=[("X-Filler-%d" % i, "f" * 1000) for i in range(80)])
        elif path == "/_redirect/https":
            self.reply(302, headers=[("Location", self.base + "/directory")])
        elif path == "/_redirect/http":
            self.reply(302, headers=[("Location", "http://127.0.0.1:%d/directory" % self.st.plain_port)])
        elif path == "/_redirect/loop":
            self.reply(302, headers=[("Location", "/_redirect/loop")])
        else:
            return False
        return True

    def echo(self):
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.reply_json(200, headers, ctype="Application/JSON; charset=UTF-8")

    def send_bytes(self, n, chunked, ctype="application/octet-stream", prefix=b"", suffix=b""):
        """Streams n bytes (prefix + padding + suffix) without holding them in memory."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Replay-Nonce", self.st.new_nonce())
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        block = 64 * 1024
        sent = 0
        try:
            while sent < n:
                size = min(block, n - sent)
                if sent == 0 and prefix:
                    data = prefix + b"x" * (size - len(prefix))
                elif sent + size == n and suffix:
                    data = b"x" * (size - len(suffix)) + suffix
                else:
                    data = b"x" * size
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                sent += size
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            # the client gave up, as it should
            self.close_connection = True

    # ---- ACME documents

    def directory(self, new_nonce=True, new_account=None):
        d = {
            "newAccount": new_account or self.base + "/new-account",
            "newOrder": self.base + "/new-order",
            "revokeCert": self.base + "/revoke-cert",
            "keyChange": self.base + "/key-change",
            "renewalInfo": self.base + "/renewal-info",
            "meta": {
                "termsOfService": self.base + "/terms",
                "website": "https://ca.example.test/",
                "caaIdentities": ["ca.example.test"],
                "externalAccountRequired": False,
            },
        }
        if new_nonce:
            d["newNonce"] = self.base + "/new-nonce"
        return d

    def order(self, status, error=None):
        now = time.time()
        o = {
            "status": status,
            "expires": rfc3339(now + 7 * 86400),
            "identifiers": [{"type": "email", "value": "alice@example.test"}],
            "authorizations": [self.base + "/authz/1"],
            "finalize": self.base + "/order/1/finalize",
        }
        if status == "valid":
            o["certificate"] = self.base + "/cert/1"
        if error is not None:
            o["error"] = error
        return o

    def authz(self, status, expires=None, challenge_status="pending", challenge_error=None):
        chall = {
            "type": "email-reply-00",
            "url": self.base + "/chall/1",
            "status": challenge_status,
            "token": "DGyRejmCefe7v4NfDGDKfA",
            "from": "acme-challenge@ca.example.test",
        }
        if challenge_error is not None:
            chall["error"] = challenge_error
        return {
            "status": status,
            "expires": rfc3339(expires if expires is not None else time.time() + 86400),
            "identifier": {"type": "email", "value": "alice@example.test"},
            "challenges": [chall],
        }

    def acme_get(self):
        sc = self.st.scenario
        path = self.path_only
        if path == "/new-nonce":
            return self.reply(204, headers=[("Cache-Control", "no-store")])
        if path == "/directory" and sc == "redirect":
            return self.reply(302, headers=[("Location", self.base + "/directory-moved")])
        if path == "/directory-moved" and sc == "redirect":
            return self.reply_json(200, self.directory())
        if path.startswith("/renewal-info/"):
            return self.renewal_info()
        if path != "/directory":
            return self.reply(404, "not found", "text/plain")
        if sc == "dir-500":
            return self.reply(500, "<html><body>Internal Server Error</body></html>", "text/html")
        if sc == "dir-truncated":
            body = json.dumps(self.directory()).encode()
            self.reply(200, body[:40], "application/json", length=len(body) + 4096)
            self.wfile.flush()
            self.close_connection = True
            return
        if sc in ("dir-oversized", "dir-oversized-chunked"):
            return self.send_bytes(
                3 * 1024 * 1024,
                sc == "dir-oversized-chunked",
                "application/json",
                prefix=b'{"pad":"',
                suffix=b'"}',
            )
        if sc == "dir-invalid-json":
            return self.reply(200, '{"newNonce": "https://127.0.0.1/", oops', "application/json")
        if sc == "dir-missing-newnonce":
            return self.reply_json(200, self.directory(new_nonce=False))
        if sc == "dir-http-url":
            return self.reply_json(
                200, self.directory(new_account="http://127.0.0.1:%d/new-account" % self.st.plain_port)
            )
        if sc == "stall":
            return self.stall()
        self.reply_json(200, self.directory())

    def stall(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Replay-Nonce", self.st.new_nonce())
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.flush()
        # not one byte of the body: libcurl averages the speed over about 5 s, so even a few
        # bytes would delay its low-speed check by that much
        # silence until the client hangs up (or the server is stopped)
        self.request.settimeout(0.2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request.recv(1) == b"":
                    break
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                break
        self.close_connection = True

    def renewal_info(self):
        now = time.time()
        if self.st.scenario == "ari-bad-window":
            window = {"start": rfc3339(now + 2 * 86400), "end": rfc3339(now + 86400)}
        else:
            window = {"start": rfc3339(now + 86400), "end": rfc3339(now + 3 * 86400)}
        self.reply_json(
            200,
            {"suggestedWindow": window, "explanationURL": "https://ca.example.test/ari"},
            headers=[("Retry-After", "3600")],
        )

    def acme_post(self, protected, payload):
        st = self.st
        sc = st.scenario
        path = self.path_only
        with st.lock:
            n_posts = sum(v for k, v in st.counts.items() if k.startswith("POST "))

        if sc == "always-bad-nonce" or (sc == "bad-nonce-once" and n_posts == 1):
            return self.problem(400, "badNonce", "JWS has an invalid anti-replay nonce")

        if path == "/new-account":
            return self.new_account()
        if path == "/acct/1":
            return self.reply_json(200, {"status": "valid", "contact": [], "orders": self.base + "/acct/1/orders"})
        if path == "/new-order":
            return self.new_order()
        if path == "/order/1":
            return self.get_order()
        if path == "/order/1/finalize":
            return self.reply_json(200, self.order("processing"))
        if path == "/authz/1":
            return self.get_authz()
        if path == "/chall/1":
            with st.lock:
                st.challenge_posted = True
            return self.reply_json(
                200,
                {"type": "email-reply-00", "url": self.base + "/chall/1", "status": "processing",
                 "token": "DGyRejmCefe7v4NfDGDKfA"},
            )
        if path == "/cert/1":
            return self.certificate()
        if path in ("/revoke-cert", "/key-change"):
            return self.reply(200)
        self.problem(404, "malformed", "no such resource")

    def new_account(self):
        sc = self.st.scenario
        if sc == "rate-limited":
            return self.problem(
                429, "rateLimited", "too many new accounts from this address",
                headers=[("Retry-After", "7"), ("Link", '<https://ca.example.test/docs/rate-limits>;rel="help"')],
            )
        if sc == "rate-limited-date":
            return self.problem(
                429, "rateLimited", "too many new accounts from this address",
                headers=[("Retry-After", formatdate(time.time() + 30, usegmt=True))],
            )
        if sc == "user-action":
            return self.problem(
                403, "userActionRequired", "the terms of service have changed",
                headers=[("Link", '<https://ca.example.test/tos-v2>;rel="terms-of-service"')],
                instance="https://ca.example.test/agree?account=1",
            )
        if sc == "eab-required":
            return self.problem(400, "externalAccountRequired", "this CA needs an external account binding")
        if sc == "server-error-plain":
            return self.reply(500, "internal error, sorry\n", "text/plain", headers=[("Retry-After", "120")])
        self.reply_json(
            201,
            {"status": "valid", "contact": ["mailto:alice@example.test"], "orders": self.base + "/acct/1/orders"},
            headers=[("Location", self.base + "/acct/1")],
        )

    def new_order(self):
        sc = self.st.scenario
        if sc == "subproblems":
            return self.problem(
                400, "rejectedIdentifier", "some identifiers were rejected",
                subproblems=[
                    {"type": ERR + "rejectedIdentifier", "detail": "this mailbox is not served",
                     "identifier": {"type": "email", "value": "bob@example.test"}},
                    {"type": ERR + "unsupportedIdentifier", "detail": "dns is not offered",
                     "identifier": {"type": "dns", "value": "example.test"}},
                ],
            )
        status = "weird" if sc == "bad-status-value" else "pending"
        self.reply_json(201, self.order(status), headers=[("Location", self.base + "/order/1")])

    def get_order(self):
        sc = self.st.scenario
        if sc == "order-invalid":
            err = {"type": ERR + "caa", "detail": "CAA record forbids issuance", "status": 403}
            return self.reply_json(200, self.order("invalid", err))
        if sc == "order-invalid-bare":
            return self.reply_json(200, self.order("invalid"))
        self.reply_json(200, self.order("valid"))

    def get_authz(self):
        st = self.st
        sc = st.scenario
        n = st.get_count("POST /authz/1")
        if sc == "poll-retry-after":
            if n <= 2:
                return self.reply_json(200, self.authz("pending"), headers=[("Retry-After", "1")])
            return self.reply_json(200, self.authz("valid", challenge_status="valid"))
        if sc == "poll-no-retry-after":
            if n <= 3:
                return self.reply_json(200, self.authz("pending"))
            return self.reply_json(200, self.authz("valid", challenge_status="valid"))
        if sc == "poll-expires":
            with st.lock:
                if st.authz_expires is None:
                    st.authz_expires = int(time.time()) + 2
                expires = st.authz_expires
            return self.reply_json(200, self.authz("pending", expires=expires))
        if sc == "authz-invalid":
            err = {"type": ERR + "incorrectResponse", "detail": "the reply's digest does not match",
                   "status": 403}
            return self.reply_json(200, self.authz("invalid", challenge_status="invalid", challenge_error=err))
        if st.challenge_posted:
            return self.reply_json(200, self.authz("valid", challenge_status="valid"))
        self.reply_json(200, self.authz("pending"))

    def certificate(self):
        sc = self.st.scenario
        chain = self.st.chain_pem
        if sc == "cert-garbage":
            return self.reply(200, b"this is not a certificate chain\n\x01\x02\xff\n", "application/pem-certificate-chain")
        if chain is None:
            return self.reply(500, "no --chain given\n", "text/plain")
        headers = []
        if sc == "cert-with-key":
            chain = chain + self.st.key_pem
        if sc == "cert-alternates":
            headers = [
                ("Link", '<%s/cert/1/alt/1>;rel="alternate"' % self.base),
                ("Link", '<%s/cert/1/alt/2>;rel="alternate"' % self.base),
            ]
        self.reply(200, chain, "application/pem-certificate-chain", headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # clients that give up mid-answer are the point of this server
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, BrokenPipeError)):
            if self.verbose:
                sys.stderr.write("fault-server: %s: %s\n" % (client_address, exc))
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        epilog="scenarios:\n" + "\n".join("  %-22s %s" % item for item in sorted(SCENARIOS.items())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True, help="TLS certificate (PEM)")
    ap.add_argument("--key", required=True, help="TLS private key (PEM)")
    ap.add_argument("--scenario", default="ok", choices=sorted(SCENARIOS))
    ap.add_argument("--chain", help="PEM chain served as the issued certificate")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    chain_pem = None
    if args.chain:
        with open(args.chain, "rb") as f:
            chain_pem = f.read()
    with open(args.key, "rb") as f:
        key_pem = f.read()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    httpd = Server(("127.0.0.1", args.port), Handler)
    httpd.ssl_ctx = ctx
    httpd.verbose = args.verbose
    httpd.state = State(args.scenario, chain_pem, key_pem)
    httpd.state.port = httpd.server_address[1]

    # a plain-HTTP twin on another port: where every http:// URL this server hands out
    # points, so a client that wrongly followed one would get a real answer (and be seen)
    plain = Server(("127.0.0.1", 0), Handler)
    plain.ssl_ctx = None
    plain.verbose = args.verbose
    plain.state = httpd.state
    httpd.state.plain_port = plain.server_address[1]
    threading.Thread(target=plain.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def watch_stdin():
        # the test's end of the pipe closes when it exits, even if it crashed
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write("PORT=%d\nPLAIN_PORT=%d\nREADY\n" % (httpd.state.port, httpd.state.plain_port))
    sys.stdout.flush()
    httpd.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
