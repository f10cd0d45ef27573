#!/usr/bin/python3
"""Entry point: /usr/bin/python3 tests/acme-ca/acme-ca.py [switches] (see README.md)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acme_ca.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
