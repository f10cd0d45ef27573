"""Allow ``python3 -m acme_ca`` from tests/acme-ca/."""
import sys

from acme_ca.server import main

sys.exit(main())
