#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The peer of host-bench: a minimal native-messaging host in Python, as extension authors
# commonly write one (the pattern of MDN's native-messaging example), answering `hello` and
# `ping` the way mailenroll-helper does, so both start-ups are measured doing the same work.

import json
import struct
import sys


def read_message(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack("=I", header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body.decode("utf-8"))


def send_message(stream, message):
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    stream.write(struct.pack("=I", len(body)) + body)


def answer(request):
    method = request.get("method")
    if method == "hello":
        result = {"protocol": 1, "helper": "python-peer 1", "methods": ["hello", "ping"], "events": []}
    elif method == "ping":
        result = {"pong": True}
    else:
        return {"jsonrpc": "2.0", "id": request.get("id"),
                "error": {"code": -32601, "message": "no such method", "data": {"name": "method-not-found"}}}
    return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    while True:
        request = read_message(stdin)
        if request is None:
            return 0
        if "id" in request:
            send_message(stdout, answer(request))
            stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
