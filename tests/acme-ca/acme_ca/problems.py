"""RFC 8555 §6.7 problem documents, raised as exceptions by handlers."""

ERROR_NS = "urn:ietf:params:acme:error:"


class AcmeProblem(Exception):
    """An error answered as application/problem+json.

    ``kind`` is the short RFC 8555 error token (``badNonce``, ``malformed`` ...).
    """

    def __init__(self, kind, detail, status=400, headers=None,
                 subproblems=None, extra=None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status
        self.headers = dict(headers or {})
        self.subproblems = subproblems
        self.extra = dict(extra or {})

    def to_json(self):
        doc = {"type": ERROR_NS + self.kind, "detail": self.detail,
               "status": self.status}
        if self.subproblems:
            doc["subproblems"] = self.subproblems
        doc.update(self.extra)
        return doc


def problem_json(kind, detail, status=400, **extra):
    """A problem document for embedding in a challenge/order ``error``."""
    doc = {"type": ERROR_NS + kind, "detail": detail, "status": status}
    doc.update(extra)
    return doc


def malformed(detail, status=400, **kw):
    return AcmeProblem("malformed", detail, status, **kw)


def unauthorized(detail, status=403):
    return AcmeProblem("unauthorized", detail, status)


def bad_csr(detail):
    return AcmeProblem("badCSR", detail, 400)
