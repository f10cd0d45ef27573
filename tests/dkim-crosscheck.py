#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# DKIM cross-checks for test-dkim with an independent implementation (dkimpy, Debian
# python3-dkim); run it with /usr/bin/python3.
#
#   dkim-crosscheck.py MESSAGE RECORD
#       verifies the topmost DKIM-Signature of MESSAGE with the key record in the file RECORD
#       (what DNS would serve at <s>._domainkey.<d>; no DNS is used); prints "ok" and exits 0,
#       or prints "fails: WHY" and exits 1.
#   dkim-crosscheck.py --sign KEY.pem --domain D --selector S [--algorithm A] [--canon H/B]
#                      [--headers a:b:c] [--length] [--expired] MESSAGE
#       signs MESSAGE with dkimpy and writes it, DKIM-Signature first, to standard output.
#       KEY.pem is PKCS#8 (RSA or Ed25519).  --expired sets t= two hours and x= one hour ago.
#       --headers may leave out From, which dkimpy's own sign() refuses, so that a verifier's
#       handling of such signatures can be tested.
#
# exits 77 when this interpreter cannot import dkimpy or PyNaCl (the test then skips).

import argparse
import base64
import logging
import re
import sys
import time
import types

# every key comes from a file, never from DNS: a stand-in for dkimpy's DNS plug-in spares the
# import of dnspython (and httpx behind it), which takes most of a second per run
_no_dns = types.ModuleType('dkim.dnsplug')


def _no_dns_lookup(name, timeout=5):
    raise RuntimeError('dkim-crosscheck.py does no DNS lookups')


_no_dns.get_txt = _no_dns_lookup
sys.modules.setdefault('dkim.dnsplug', _no_dns)

try:
    import dkim
    import dkim.crypto
    import nacl.encoding
    import nacl.signing
except ImportError as error:
    print('dkimpy is not importable: %s' % error, file=sys.stderr)
    sys.exit(77)

# the PKCS#8 prefix of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows it
ED25519_PKCS8_PREFIX = bytes.fromhex('302e020100300506032b657004220420')


def pem_der(pem):
    body = re.search(rb'-----BEGIN [A-Z ]+-----(.*?)-----END', pem, re.DOTALL)
    if body is None:
        raise ValueError('no PEM block')
    return base64.b64decode(b''.join(body.group(1).split()))


def private_key(pem, algorithm):
    if algorithm == b'ed25519-sha256':
        der = pem_der(pem)
        if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
            raise ValueError('not a PKCS#8 Ed25519 key')
        return nacl.signing.SigningKey(der[16:])
    return dkim.crypto.parse_pem_private_key(pem)


def sign(message, pem, domain, selector, algorithm, canon, headers, length, expired):
    """dkimpy's DKIM.sign() without its policy checks, plus x=; the crypto and
    canonicalization are dkimpy's own."""
    d = dkim.DKIM(message, signature_algorithm=algorithm)
    key = private_key(pem, algorithm)
    policy = dkim.CanonicalizationPolicy.from_c_value(canon)
    include = tuple(h.strip().lower() for h in headers.split(b':') if h.strip())
    d.include_headers = include
    body = policy.canonicalize_body(d.body)
    d.hasher = dkim.HASH_ALGORITHMS[algorithm]
    bodyhash = base64.b64encode(d.hasher(body).digest())
    now = int(time.time())
    fields = [(b'v', b'1'), (b'a', algorithm), (b'c', policy.to_c_value()), (b'd', domain), (b's', selector)]
    if expired:
        fields += [(b't', b'%d' % (now - 7200)), (b'x', b'%d' % (now - 3600))]
    else:
        fields += [(b't', b'%d' % now)]
    if length:
        fields += [(b'l', b'%d' % len(body))]
    fields += [(b'h', b':'.join(include)), (b'bh', bodyhash), (b'b', b'0' * 60)]
    header = d.gen_header(fields, include, policy, b'DKIM-Signature', key)
    return b'DKIM-Signature: ' + header + message


def verify(message, record):
    log = logging.getLogger('crosscheck')
    log.addHandler(logging.StreamHandler(sys.stderr))

    def dnsfunc(name, timeout=5):
        print('key lookup: %s' % name.decode('ascii', 'replace'), file=sys.stderr)
        return record

    d = dkim.DKIM(message, logger=log, minkey=1024)
    try:
        ok = d.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as error:
        return 'fails: %s' % error
    return 'ok' if ok else 'fails: signature did not verify'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--sign', metavar='KEY_PEM')
    parser.add_argument('--domain')
    parser.add_argument('--selector')
    parser.add_argument('--algorithm', default='rsa-sha256')
    parser.add_argument('--canon', default='relaxed/relaxed')
    parser.add_argument('--headers', default='from:to:subject:date:message-id')
    parser.add_argument('--length', action='store_true')
    parser.add_argument('--expired', action='store_true')
    parser.add_argument('message')
    parser.add_argument('record', nargs='?')
    args = parser.parse_args()

    with open(args.message, 'rb') as f:
        message = f.read()
    if args.sign:
        with open(args.sign, 'rb') as f:
            pem = f.read()
        signed = sign(message, pem, args.domain.encode(), args.selector.encode(), args.algorithm.encode(),
                      args.canon.encode(), args.headers.encode(), args.length, args.expired)
        sys.stdout.buffer.write(signed)
        return 0
    if args.record is None:
        parser.error('a key record file is needed to verify')
    with open(args.record, 'rb') as f:
        record = f.read().strip()
    result = verify(message, record)
    print(result)
    return 0 if result == 'ok' else 1


if __name__ == '__main__':
    sys.exit(main())
