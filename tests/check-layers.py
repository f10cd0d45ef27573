#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-layers.py - the include rules of helper/ (tests/README.md, "Layers")
#
#   check-layers.py SOURCE_ROOT
#
# Reads every #include of helper/lib, helper/host and helper/cli and prints one line per
# violation, "FILE:LINE: rule NAME: what is wrong", then exits 1; exits 0 when there is none.
# The rules:
#
#   front-ends  helper/lib includes no header of helper/host or helper/cli, and neither
#               front-end includes a header of the other
#   layers      inside helper/lib a file includes headers of its own layer or lower ones only
#               (LAYERS below); a file missing from the table is a violation too
#   wrappers    the headers of a wrapped external library are included by its wrapper only
#               (WRAPPED below); OpenSSL, GLib and json-glib are the base, allowed everywhere
#
# KNOWN below lists the exceptions, each until the file that ends it exists.
#
# Python 3 standard library only.

import os
import re
import sys

FRONT_ENDS = ('host', 'cli')
FOLDERS = ('lib',) + FRONT_ENDS

# ---- the layers of helper/lib, low to high.  A module is a .c file and its .h; each entry
# says why it sits where it does, from today's include graph.  Planned modules are listed
# already: the check looks only at files that exist.

UTIL, WRAPPERS, DOMAIN, ENGINE = range(4)
LAYER_NAMES = ('util', 'wrappers', 'domain', 'engine')

LAYERS = {
    # util: no I/O of their own, no external library but the base
    'me-error': (UTIL, 'the error domain every other module uses; includes nothing of ours'),
    'secmem': (UTIL, 'wiping, constant-time comparison, secrets read from a descriptor, no core dumps; OpenSSL and me-error only'),
    'encoding': (UTIL, 'base64url; includes me-error and secmem'),
    'json-util': (UTIL, 'bounded getters for JSON answers; includes me-error only'),
    'file': (UTIL, 'the one bounded file reader; includes nothing of ours'),
    'autocleanups': (UTIL, 'g_autoptr() for OpenSSL and json-glib types; includes no header of ours'),
    'dl': (UTIL, 'dlopen() of the libraries loaded on first use (me_dl_*); includes me-error only, and no '
                 'header of the libraries it loads: each wrapper keeps its own list of their functions'),
    'frame': (UTIL, 'planned: the native-messaging frame codec (me_frame_*), split out of '
                    'host/rpc-server.c; JSON in, bytes out, no I/O'),
    'rpc-error': (UTIL, 'planned: the JSON-RPC error table over MeError (me_rpc_error_*); it needs '
                        'me-error only, and frame.c may name its codes, so util rather than domain'),
    # wrappers: each puts one external library (or one job of OpenSSL) behind our API
    'keys': (WRAPPERS, 'OpenSSL keys; the key types every other crypto wrapper includes'),
    'http': (WRAPPERS, 'libcurl for HTTPS'),
    'smtp': (WRAPPERS, 'libcurl for SMTP submission'),
    'dns': (WRAPPERS, 'libresolv'),
    'keyring': (WRAPPERS, 'libsecret'),
    'nssdb': (WRAPPERS, 'NSS'),
    'mail': (WRAPPERS, 'GMime'),
    'dkim': (WRAPPERS, 'libopendkim; includes dns.h (its resolver) and keys.h, both wrappers'),
    'jws': (WRAPPERS, 'OpenSSL signatures for JWS; includes keys.h and encoding.h'),
    'csr': (WRAPPERS, 'OpenSSL PKCS#10; includes keys.h'),
    'bundle': (WRAPPERS, 'OpenSSL PKCS#12; includes keys.h'),
    'smime': (WRAPPERS, 'OpenSSL CMS; includes keys.h, mail.h for the MIME structure, and file.h '
                       'for bounded trust files'),
    'maildir': (WRAPPERS, 'planned: Maildir watching (me_maildir_*) with GIO'),
    # domain: the rules of ACME, RFC 8823, the configuration, the state and the mail client
    'acme-client': (DOMAIN, 'the RFC 8555 client; includes http.h, jws.h and json-util.h'),
    'acme-order': (DOMAIN, 'the order half of the ACME client; includes acme-private.h'),
    'acme-private': (DOMAIN, 'private to acme-client.c and acme-order.c; it includes acme-client.h, '
                             'so it cannot sit in util'),
    'challenge': (DOMAIN, 'the RFC 8823 rules; includes mail.h, encoding.h and secmem.h'),
    'verifier': (DOMAIN, 'authenticity of a challenge; includes challenge.h (domain), dkim.h, dns.h, '
                         'smime.h, keys.h and mail.h'),
    'me-config': (DOMAIN, 'the configuration; includes challenge.h (domain), keys.h, file.h, and smime.h '
                          'to check and find S/MIME trust files'),
    'me-config-write': (DOMAIN, 'edits of the user\'s configuration file; includes me-config.h (domain) '
                                'to check locks and load the result, and file.h'),
    'state': (DOMAIN, "the enrollment's persisted steps; includes me-error.h only, but speaks "
                      "the enrollment's vocabulary"),
    'thunderbird': (DOMAIN, "Thunderbird's profiles, prefs and locks; includes file.h and mail.h"),
    'store': (DOMAIN, "installing into a mail client's store; includes nssdb.h, thunderbird.h "
                      '(domain) and keys.h'),
    'submission': (DOMAIN, 'handing the approved reply to the submission server (me_submission_*): '
                           "the configuration's [smtp] group (me-config.h, domain), the password "
                           'from keyring.h, smtp.c for the wire'),
    # engine: drives the others through a whole enrollment
    'enroll': (ENGINE, 'one enrollment from account to certificate; includes acme-client.h, '
                       'verifier.h, state.h, me-config.h and the wrappers'),
    'install': (ENGINE, 'planned: install orchestration (me_install_*) over store, nssdb and bundle'),
}

# ---- wrapped external libraries: (name, test of an <...> include, the files allowed)

NSS_HEADERS = {
    'nss.h', 'cert.h', 'certdb.h', 'certt.h', 'cryptohi.h', 'keyhi.h', 'keythi.h', 'pk11pub.h',
    'pk11func.h', 'pk11priv.h', 'pk11sdr.h', 'secerr.h', 'secitem.h', 'secmod.h', 'secmodt.h',
    'secoid.h', 'secport.h', 'sechash.h', 'secpkcs7.h', 'pkcs12.h', 'p12.h', 'ssl.h', 'sslerr.h',
    'nspr.h', 'prerror.h', 'prtypes.h', 'prinit.h', 'prio.h', 'plarena.h', 'plstr.h',
}

WRAPPED = (
    ('GMime', lambda h: h.startswith('gmime/'), ('lib/mail.c',)),
    ('NSS', lambda h: h in NSS_HEADERS or h.startswith(('nss/', 'nspr/')), ('lib/nssdb.c',)),
    ('libsecret', lambda h: h.startswith('libsecret/'), ('lib/keyring.c',)),
    ('libopendkim', lambda h: h.startswith('opendkim/'), ('lib/dkim.c',)),
    ('libresolv', lambda h: h in ('resolv.h', 'arpa/nameser.h'), ('lib/dns.c',)),
    # libcurl serves two protocols
    ('libcurl', lambda h: h.startswith('curl/'), ('lib/http.c', 'lib/smtp.c')),
)

# ---- known violations, each until the file whose arrival ends it exists: then the violation
# counts again and the entry is reported for removal; an entry whose violation no longer occurs
# before then fails the check, so the list never outlives its reason

KNOWN = {}

# generated into the build directory
GENERATED = {'config.h'}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def stem(name):
    return os.path.splitext(os.path.basename(name))[0]


def sources(helper):
    """(folder, name) of every .c and .h of helper/lib, helper/host and helper/cli"""
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(helper, folder))):
            if name.endswith(('.c', '.h')):
                yield folder, name


def resolve(helper, folder, header):
    """the folder a quoted include is found in: the including file's own first, then the
    include path of the build (lib, then host), then cli; None when in none"""
    for candidate in (folder, 'lib', 'host', 'cli'):
        if os.path.isfile(os.path.join(helper, candidate, header)):
            return candidate
    return None


def includes(path):
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            match = INCLUDE_RE.match(line)
            if match:
                yield number, match.group(1) == '"', match.group(2)


def check_quoted(helper, folder, name, header, problems, seen, known):
    where = resolve(helper, folder, header)
    here = '%s/%s' % (folder, name)
    if where is None:
        if header not in GENERATED:
            problems.append('rule includes: "%s" is no header of helper/' % header)
        return
    target = '%s/%s' % (where, header)
    if where != folder and where in FRONT_ENDS:
        if (here, target) in known:
            seen.add((here, target))
        elif folder == 'lib':
            problems.append('rule front-ends: the core library includes helper/%s, a header of '
                            'the %s front-end' % (target, where))
        else:
            problems.append('rule front-ends: helper/%s includes helper/%s; the front-ends share '
                            'code through helper/lib only' % (here, target))
        return
    if folder != 'lib' or where != 'lib':
        return
    mine = LAYERS.get(stem(name))
    theirs = LAYERS.get(stem(header))
    if mine is None:
        return  # reported once per file, below
    if theirs is None:
        problems.append('rule layers: helper/lib/%s is not in the layer table; add it to the '
                        'layer table in tests/check-layers.py' % header)
    elif theirs[0] > mine[0]:
        problems.append('rule layers: %s (%s) includes %s of the higher layer %s'
                        % (name, LAYER_NAMES[mine[0]], header, LAYER_NAMES[theirs[0]]))


def check_angle(folder, name, header, problems):
    here = '%s/%s' % (folder, name)
    for library, matches, owners in WRAPPED:
        if matches(header) and here not in owners:
            problems.append('rule wrappers: <%s> is %s, which only helper/%s may include'
                            % (header, library, ' and helper/'.join(owners)))


def main():
    if len(sys.argv) != 2:
        print('usage: check-layers.py SOURCE_ROOT', file=sys.stderr)
        return 2
    root = sys.argv[1]
    helper = os.path.join(root, 'helper')
    violations = []
    seen = set()
    # the exceptions still in force; the others are reported for removal
    known = {}
    for key, (until, why) in KNOWN.items():
        if os.path.exists(os.path.join(root, until)):
            print('check-layers: %s exists, so the exception for %s including %s has ended; remove '
                  'it from KNOWN in tests/check-layers.py' % (until, key[0], key[1]), file=sys.stderr)
        else:
            known[key] = why
    files = 0
    lines = 0
    for folder, name in sources(helper):
        path = os.path.join(helper, folder, name)
        shown = os.path.relpath(path, root)
        files += 1
        if folder == 'lib' and stem(name) not in LAYERS:
            violations.append('%s:1: rule layers: %s is not in the layer table; add it to the '
                              'layer table in tests/check-layers.py' % (shown, name))
        for number, quoted, header in includes(path):
            problems = []
            lines += 1
            if quoted:
                check_quoted(helper, folder, name, header, problems, seen, known)
            else:
                check_angle(folder, name, header, problems)
            violations.extend('%s:%d: %s' % (shown, number, p) for p in problems)
    for (here, target), why in sorted(known.items()):
        if (here, target) not in seen:
            violations.append('helper/%s:1: rule known: it no longer includes %s; remove the '
                              'exception from KNOWN in tests/check-layers.py (%s)'
                              % (here, os.path.basename(target), why))
    for line in violations:
        print(line)
    print('check-layers: %d files, %d includes, %d violations' % (files, lines, len(violations)),
          file=sys.stderr)
    return 1 if violations else 0


if __name__ == '__main__':
    sys.exit(main())
