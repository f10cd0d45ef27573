"""mailenroll's strict RFC 8555 + RFC 8823 test CA (loopback only).

Run it as ``/usr/bin/python3 tests/acme-ca/acme-ca.py [switches]``; see README.md.
"""

VERSION = "1.0"
