#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# checks the JWS objects test-jws writes with an independent implementation (josepy).
# usage: jose-crosscheck.py DIR, where DIR holds manifest.json and the files it names.
# prints one line per item ("ok NAME: ..." or "FAIL NAME: ..."); exits 1 on any
# failure, 77 when this interpreter has no josepy (the test then skips).

import base64
import json
import os
import sys

try:
    import josepy
except ImportError as error:
    print('josepy is not importable: %s' % error, file=sys.stderr)
    sys.exit(77)


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64u_decode(text):
    check('=' not in text, 'padded base64url: %r' % text)
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def load_public_key(item, directory):
    with open(os.path.join(directory, item['pem']), 'rb') as f:
        key = josepy.JWK.load(f.read())
    # JWK.load falls back to a symmetric key when the PEM does not parse
    check(isinstance(key, (josepy.JWKEC, josepy.JWKRSA)), 'PEM is not an EC or RSA public key')
    return key


def load_jws(item, directory):
    with open(os.path.join(directory, item['jws']), 'r', encoding='ascii') as f:
        text = f.read()
    raw = json.loads(text)
    check(sorted(raw) == ['payload', 'protected', 'signature'],
          'members are %s, not protected/payload/signature' % sorted(raw))
    return josepy.JWS.json_loads(text), raw


def protected_header(raw):
    header = json.loads(b64u_decode(raw['protected']))
    check(isinstance(header, dict), 'protected header is not an object')
    return header


def check_jws(item, directory):
    key = load_public_key(item, directory)
    jws, raw = load_jws(item, directory)
    header = protected_header(raw)
    sig = jws.signature
    check(sig.combined.alg.name == item['alg'], 'alg %s, want %s' % (sig.combined.alg.name, item['alg']))
    want = {'alg', 'url'} | ({'kid'} if item['kid'] else {'jwk'}) | ({'nonce'} if item['nonce'] else set())
    check(set(header) == want, 'header members %s, want %s' % (sorted(header), sorted(want)))
    check(header['url'] == item['url'], 'url %r' % header['url'])
    check(header.get('nonce') == item['nonce'], 'nonce %r' % header.get('nonce'))
    check(header.get('kid') == item['kid'], 'kid %r' % header.get('kid'))
    check(b64u(key.thumbprint()) == item['thumbprint'],
          'josepy thumbprint %s, ours %s' % (b64u(key.thumbprint()), item['thumbprint']))
    verified = jws.verify(key)
    if item['expect'] == 'invalid':
        check(not verified, 'tampered JWS verified')
        return 'rejected as expected'
    check(verified, 'signature does not verify with the PEM key')
    check(jws.payload == item['payload'].encode('utf-8'), 'payload %r' % jws.payload)
    if item['kid'] is None:
        embedded = sig.combined.jwk
        check(isinstance(embedded, type(key)), 'jwk header is %r' % type(embedded))
        check(embedded.thumbprint() == key.thumbprint(), 'jwk header is another key')
        check(jws.verify(), 'signature does not verify with the jwk header')
    return 'verified'


def check_eab(item, directory):
    account = load_public_key(item, directory)
    jws, raw = load_jws(item, directory)
    header = protected_header(raw)
    mac_key = josepy.JWKOct(key=b64u_decode(item['mac_key']))
    check(jws.signature.combined.alg.name == item['alg'], 'alg %s' % jws.signature.combined.alg.name)
    check(set(header) == {'alg', 'kid', 'url'}, 'header members %s' % sorted(header))
    check(header['kid'] == item['kid'] and header['url'] == item['url'], 'kid/url %r' % header)
    check(jws.verify(mac_key), 'MAC does not verify')
    bound = josepy.JWK.json_loads(jws.payload)
    check(isinstance(bound, type(account)), 'payload is %r' % type(bound))
    check(b64u(bound.thumbprint()) == item['thumbprint'], 'payload JWK is another key')
    check(b64u(account.thumbprint()) == item['thumbprint'], 'josepy thumbprint differs from ours')
    return 'MAC verified'


def main():
    if len(sys.argv) != 2:
        print('usage: %s DIR' % sys.argv[0], file=sys.stderr)
        return 2
    directory = sys.argv[1]
    with open(os.path.join(directory, 'manifest.json'), 'r', encoding='utf-8') as f:
        items = json.load(f)
    failures = 0
    for item in items:
        checker = check_eab if item['kind'] == 'eab' else check_jws
        try:
            print('ok %s: %s' % (item['name'], checker(item, directory)))
        except (Mismatch, josepy.errors.Error, ValueError, KeyError, TypeError) as error:
            print('FAIL %s: %s: %s' % (item['name'], type(error).__name__, error))
            failures += 1
    return 1 if failures or not items else 0


if __name__ == '__main__':
    sys.exit(main())
