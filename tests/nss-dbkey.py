#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Print Thunderbird's nsIX509Cert.dbKey of the PEM certificate on stdin, computed with
python3-cryptography alone, as an independent check of helper/lib/nssdb.c:
base64(be32 0, be32 0, be32 len(serial), be32 len(issuer), serial DER contents, issuer DER)
(nsNSSCertificate::GetDbKey; docs/thunderbird.md §5)."""
import base64
import struct
import sys

from cryptography import x509

cert = x509.load_pem_x509_certificate(sys.stdin.buffer.read())
n = cert.serial_number
# the DER INTEGER's contents: minimal two's complement, so a set top bit takes a 0x00 first
serial = n.to_bytes(n.bit_length() // 8 + 1, "big")
issuer = cert.issuer.public_bytes()
head = struct.pack(">IIII", 0, 0, len(serial), len(issuer))
print(base64.b64encode(head + serial + issuer).decode())
