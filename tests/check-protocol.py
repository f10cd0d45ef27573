#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-protocol.py --helper PATH --doc messaging/PROTOCOL.md --error-header helper/lib/me-error.h
#
# Checks messaging/PROTOCOL.md against the real mailenroll-helper:
#  1. every "```json request" / "```text request" block is sent, in document order, on one
#     connection; the "```json response" block right after it must equal the answer
#     ("<any>" matches any value); a request without a response block must get no answer
#     (a ping sent after it must be answered first);
#  2. the error table of section 7 lists exactly the codes of --dump-error-codes (the table
#     in helper/lib/rpc-error.c), with the same names, MeError values and meanings;
#  3. every MeError value in helper/lib/me-error.h has a row.
# The helper (the test build) runs with a configuration of its own: the "```ini system" block
# of the document as its system file (MAILENROLL_SYSCONFDIR) and an empty folder as
# XDG_CONFIG_HOME and XDG_STATE_HOME, so that the examples that write the user's file write
# there and never into the account running the tests.
# Run by tests/test-host.c; prints TAP-like lines and exits 1 on the first mismatch.

import argparse
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile

ANY = "<any>"
TIMEOUT = float(os.environ.get("ME_CHECK_TIMEOUT", "20"))


class Mismatch(Exception):
    pass


def parse_blocks(text):
    """[(line, lang, tag, body)] for every fenced block."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        blocks.append((start, m.group(1), m.group(2), "\n".join(lines[start:j])))
        i = j + 1
    return blocks


def examples(blocks):
    """[(line, raw bytes, expected or None)] in document order."""
    out = []
    for k, (line, lang, tag, body) in enumerate(blocks):
        if tag == "response" and (k == 0 or blocks[k - 1][2] != "request"):
            raise Mismatch(f"line {line}: a response block without a request before it")
        if tag != "request":
            continue
        if lang == "json":
            raw = json.dumps(json.loads(body), ensure_ascii=False).encode()
        elif lang == "text":
            raw = body.encode()
        else:
            raise Mismatch(f"line {line}: request blocks are json or text, not {lang!r}")
        expected = None
        if k + 1 < len(blocks) and blocks[k + 1][2] == "response":
            expected = json.loads(blocks[k + 1][3])
        out.append((line, raw, expected))
    return out


def match(expected, actual, path="$"):
    if expected == ANY:
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: expected an object, got {actual!r}")
        if set(expected) != set(actual):
            raise Mismatch(f"{path}: members {sorted(actual)} instead of {sorted(expected)}")
        for key in expected:
            match(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")
        for n, (e, a) in enumerate(zip(expected, actual)):
            match(e, a, f"{path}[{n}]")
    elif type(expected) is not type(actual) or expected != actual:
        raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")


def system_file(blocks):
    """the body of the first "```ini system" block, or None"""
    for _line, lang, tag, body in blocks:
        if lang == "ini" and tag == "system":
            return body + "\n"
    return None


class Helper:
    def __init__(self, path, system_text=None):
        self.home = tempfile.mkdtemp(prefix="check-protocol-")
        etc = os.path.join(self.home, "etc")
        os.mkdir(etc, 0o700)
        if system_text is not None:
            with open(os.path.join(etc, "mailenroll.conf"), "w", encoding="utf-8") as f:
                f.write(system_text)
        env = dict(os.environ, LC_ALL="C.UTF-8", MAILENROLL_SYSCONFDIR=etc,
                   XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                   XDG_STATE_HOME=os.path.join(self.home, "state"))
        env.pop("LANGUAGE", None)
        self.proc = subprocess.Popen([path, "/nonexistent/org.mailenroll.helper.json", "mailenroll@mailenroll.org"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.buf = b""

    def send(self, raw):
        self.proc.stdin.write(struct.pack("=I", len(raw)) + raw)
        self.proc.stdin.flush()

    def _read(self, n):
        fd = self.proc.stdout.fileno()
        while len(self.buf) < n:
            ready, _, _ = select.select([fd], [], [], TIMEOUT)
            if not ready:
                raise Mismatch(f"no answer within {TIMEOUT} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise Mismatch("the helper closed its output")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv(self):
        (n,) = struct.unpack("=I", self._read(4))
        if n > 1024 * 1024:
            raise Mismatch(f"a frame of {n} bytes, over the 1 MiB limit")
        return json.loads(self._read(n).decode("utf-8"))

    def close(self):
        self.proc.stdin.close()
        try:
            status = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Mismatch("the helper did not exit after the end of its input")
        if status != 0:
            raise Mismatch(f"the helper exited with status {status} after the end of its input")


def check_examples(helper_path, doc):
    blocks = parse_blocks(doc)
    todo = examples(blocks)
    if not todo:
        raise Mismatch("no examples found")
    helper = Helper(helper_path, system_file(blocks))
    try:
        for n, (line, raw, expected) in enumerate(todo, 1):
            helper.send(raw)
            if expected is not None:
                actual = helper.recv()
                try:
                    match(expected, actual)
                except Mismatch as e:
                    raise Mismatch(f"example at line {line}: {e}\n  answer: {json.dumps(actual)}")
            else:
                sentinel = f"check-protocol-{n}"
                helper.send(json.dumps({"jsonrpc": "2.0", "id": sentinel, "method": "ping"}).encode())
                actual = helper.recv()
                if not isinstance(actual, dict) or actual.get("id") != sentinel:
                    raise Mismatch(f"example at line {line} must get no answer, but got {json.dumps(actual)}")
            print(f"ok {n} - example at line {line}")
        helper.close()
    finally:
        if helper.proc.poll() is None:
            helper.proc.kill()
            helper.proc.wait()
        shutil.rmtree(helper.home, ignore_errors=True)
    return len(todo)


def doc_error_table(doc):
    m = re.search(r"^## 7\. Errors$(.*?)^## ", doc, re.M | re.S)
    if not m:
        raise Mismatch("PROTOCOL.md has no section '## 7. Errors'")
    rows = {}
    for line in m.group(1).split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"-\d+", cells[0]):
            continue
        code = int(cells[0])
        if code in rows:
            raise Mismatch(f"the error table lists {code} twice")
        rows[code] = tuple(c.replace("`", "") for c in cells[1:])
    return rows


def check_error_table(helper_path, doc, header):
    out = subprocess.run([helper_path, "--dump-error-codes"], check=True, capture_output=True).stdout
    code_rows = {e["code"]: (e["name"], e["meError"] or "", e["meaning"]) for e in json.loads(out)}
    rows = doc_error_table(doc)
    for code in sorted(set(rows) | set(code_rows)):
        if code not in rows:
            raise Mismatch(f"PROTOCOL.md lacks error {code} {code_rows[code][0]}")
        if code not in code_rows:
            raise Mismatch(f"PROTOCOL.md lists error {code}, which the helper does not define")
        if rows[code] != tuple(s.replace("`", "") for s in code_rows[code]):
            raise Mismatch(f"error {code}: PROTOCOL.md says {rows[code]}, the code {code_rows[code]}")
    names = [r[0] for r in code_rows.values()]
    if len(set(names)) != len(names):
        raise Mismatch("two error codes share a name")
    m = re.search(r"typedef enum \{(.*?)\} MeError;", header, re.S)
    if not m:
        raise Mismatch("no MeError enum in the header")
    enum = set(re.findall(r"^\s*(ME_ERROR_[A-Z0-9_]+)", m.group(1), re.M))
    mapped = {r[1] for r in code_rows.values() if r[1]}
    if enum != mapped:
        raise Mismatch(f"MeError values without a row: {sorted(enum - mapped)}; rows without a value: {sorted(mapped - enum)}")
    print(f"ok - the error table has the {len(rows)} codes of the helper, and every one of the {len(enum)} MeError values")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--helper", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--error-header", required=True)
    args = ap.parse_args()
    with open(args.doc, encoding="utf-8") as f:
        doc = f.read()
    with open(args.error_header, encoding="utf-8") as f:
        header = f.read()
    try:
        n = check_examples(args.helper, doc)
        check_error_table(args.helper, doc, header)
    except Mismatch as e:
        print(f"not ok - {e}")
        return 1
    print(f"ok - {n} examples of PROTOCOL.md match the helper")
    return 0


if __name__ == "__main__":
    sys.exit(main())
