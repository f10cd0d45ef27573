#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A real SMTP submission server for the tests: Debian's aiosmtpd (python3-aiosmtpd) on
# 127.0.0.1 and a free port; run it with /usr/bin/python3 (tests/util/smtp-server.c does).
#
#   smtp-server.py --dir DIR [--tls none|starttls|implicit --cert PEM --key PEM]
#                  [--auth USER:PASSWORD] [--refuse ADDRESS]...
#
# Prints PORT=N, then READY, on standard output, and serves until its standard input closes.
# Every message accepted is stored as DIR/N.eml, the bytes received after the SMTP
# transparency is undone (RFC 5321 section 4.5.2), beside DIR/N.json with its envelope:
# {"mail_from": ..., "rcpt_to": [...], "tls": bool, "login": user or null}.  Every command
# the server acted on goes to DIR/events.log, one line each (CONNECT, EHLO, STARTTLS, AUTH,
# MAIL, RCPT, DATA), with "tls" or "plain" for the state of the connection at that moment.
#
# --tls starttls offers STARTTLS and requires it before MAIL; --tls implicit speaks TLS from
# the first byte (RFC 8314); --auth requires AUTH PLAIN or LOGIN before MAIL; --refuse
# answers RCPT TO that address with 550.

import argparse
import asyncio
import json
import os
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.dir = args.dir
        self.refuse = {a.lower() for a in args.refuse}
        self.implicit = args.tls == 'implicit'
        self.count = 0

    def tls(self, server):
        return self.implicit or server._tls_protocol is not None

    def event(self, server, text):
        state = 'tls' if self.tls(server) else 'plain'
        with open(os.path.join(self.dir, 'events.log'), 'a') as log:
            log.write('%s %s\n' % (text, state))

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.event(server, 'EHLO %s' % hostname)
        return responses

    def handle_STARTTLS(self, server, session, envelope):
        # called once the handshake is done: the connection is TLS from here on
        with open(os.path.join(self.dir, 'events.log'), 'a') as log:
            log.write('STARTTLS tls\n')
        return True

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.event(server, 'MAIL %s' % address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return '250 OK'

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.event(server, 'RCPT %s' % address)
        if address.lower() in self.refuse:
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        self.event(server, 'DATA %d' % len(envelope.original_content))
        self.count += 1
        base = os.path.join(self.dir, str(self.count))
        auth = session.auth_data if session.authenticated else None
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        meta = {'mail_from': envelope.mail_from, 'rcpt_to': envelope.rcpt_tos,
                'tls': self.tls(server), 'login': login}
        # the envelope first: a reader that sees N.eml finds N.json beside it
        with open(base + '.json', 'w') as f:
            json.dump(meta, f)
        with open(base + '.eml.part', 'wb') as f:
            f.write(envelope.original_content)
        os.rename(base + '.eml.part', base + '.eml')
        return '250 2.0.0 OK: queued as %d' % self.count


class Server(SMTP):
    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        if first:
            with open(os.path.join(self.event_handler.dir, 'events.log'), 'a') as log:
                log.write('CONNECT %s\n' % ('tls' if self.event_handler.implicit else 'plain'))


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        server.event_handler.event(server, 'AUTH %s %s' % (mechanism, 'ok' if ok else 'refused'))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return check


def tls_context(args):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    return context


def factory(args, handler):
    options = {'hostname': 'localhost', 'ident': 'mailenroll test SMTP'}
    if args.tls == 'starttls':
        options.update(tls_context=tls_context(args), require_starttls=True)
    if args.auth is not None:
        user, password = args.auth.split(':', 1)
        options.update(authenticator=authenticator(user, password), auth_required=True,
                       auth_require_tls=args.tls == 'starttls')
    return lambda: Server(handler, **options)


def stop_on_stdin_eof(loop):
    sys.stdin.buffer.read()
    loop.call_soon_threadsafe(loop.stop)


def main():
    # aiosmtpd 1.4 warns about its own use of its deprecated Session.login_data
    warnings.filterwarnings('ignore', message='Session.login_data')
    parser = argparse.ArgumentParser()
    parser.add_argument('--dir', required=True)
    parser.add_argument('--tls', choices=['none', 'starttls', 'implicit'], default='none')
    parser.add_argument('--cert')
    parser.add_argument('--key')
    parser.add_argument('--auth')
    parser.add_argument('--refuse', action='append', default=[])
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(args)
    ssl_context = tls_context(args) if args.tls == 'implicit' else None
    server = loop.run_until_complete(
        loop.create_server(factory(args, handler), '127.0.0.1', 0, ssl=ssl_context))
    print('PORT=%d' % server.sockets[0].getsockname()[1])
    print('READY', flush=True)
    threading.Thread(target=stop_on_stdin_eof, args=(loop,), daemon=True).start()
    loop.run_forever()
    server.close()
    print('STOPPED', flush=True)


if __name__ == '__main__':
    main()
