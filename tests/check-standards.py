#!/usr/bin/python3
"""check-standards.py [SRCDIR] - every test that docs/standards.md §7 names exists.

§7 of docs/standards.md is the requirement checklist: one table row per requirement, with
the tests that prove it in the "Proven by" column, each written as

    `tests/<file> /glib/test/path`            a GLib test case
    `tests/<file> /glib/test/path [label]`    one case of a table-driven GLib test
    `tests/<file> "name"`                     a node test, or a script's distinctive line
    `tests/<file>`                            a file that is one test (a fuzz target)

or the words "not tested".  For each reference this checks that the file exists, that the
GLib path is a string literal in it (directly, or as a literal prefix such as
"/acme-faults/" or "/cli/kill/%s" plus the rest as its own literal, the way ADD() macros and
printf loops build paths), that a
[label] is a string literal in it, and that a quoted name occurs in it with its quotes.  It also checks that
the row IDs are unique, that every row says met or open, that the lists of §7.8 (Known gaps)
agree with the table, and that every row ID SECURITY.md mentions exists.

Exit status 0 and "ok: N requirements, M proven by tests, K not tested"; otherwise 1, with
every problem on standard error.  Python standard library only.
"""

import os
import re
import sys

ROW_ID = re.compile(r"^[A-Z]-\d{2}$")
ID_ANYWHERE = re.compile(r"\b[A-Z]-\d{2}\b")
REFERENCE = re.compile(r"^(tests/\S+)(?:\s+(.+?))?(?:\s+\[([^\]\s]+)\])?$")
C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def section_7(lines):
    """(line number, text) for the lines of '## 7.' up to the next '## ' heading."""
    start = None
    for i, line in enumerate(lines):
        if start is None and re.match(r"^## 7\.", line):
            start = i + 1
        elif start is not None and line.startswith("## "):
            break
    else:
        i = len(lines)
    if start is None:
        return None
    return [(n + 1, lines[n]) for n in range(start, i)]


def cells(line):
    parts = line.strip().split("|")
    return [c.strip() for c in parts[1:-1]]


def table_rows(lines, problems):
    """(line number, {column: text}) for every checklist row of §7."""
    rows = []
    header = None
    for number, line in lines:
        if not line.startswith("|"):
            header = None
            continue
        row = cells(line)
        if header is None:
            header = row
            for needed in ("ID", "Proven by", "Status"):
                if needed not in header:
                    problems.append(f"docs/standards.md:{number}: a §7 table lacks the column '{needed}'")
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"docs/standards.md:{number}: {len(row)} cells where the header has {len(header)}")
            continue
        rows.append((number, dict(zip(header, row))))
    return rows


class SourceFile:
    """A test file, read once, with its string literals."""

    cache = {}

    def __init__(self, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            self.text = f.read()
        self.literals = set(C_STRING.findall(self.text))

    @classmethod
    def get(cls, srcdir, rel):
        if rel not in cls.cache:
            path = os.path.join(srcdir, rel)
            cls.cache[rel] = cls(path) if os.path.isfile(path) else None
        return cls.cache[rel]

    def has_test_path(self, path):
        if path in self.literals:
            return True
        # ADD("ok/full-flow", ...) under g_test_add("/acme-faults/" path, ...), and
        # g_strdup_printf("/cli/kill/%s", kill_points[i]) over a table of literals
        for literal in self.literals:
            prefix = literal[:-2] if literal.endswith("/%s") else literal
            if prefix.endswith("/") and len(prefix) < len(path) and path.startswith(prefix):
                if path[len(prefix):] in self.literals:
                    return True
        return False


def check_reference(srcdir, row_id, ref, problems):
    match = REFERENCE.match(ref)
    if match is None:
        problems.append(f"{row_id}: `{ref}`: not of the form `tests/<file> /path`, `tests/<file> \"name\"` or `tests/<file>`")
        return
    rel, case, label = match.groups()
    source = SourceFile.get(srcdir, rel)
    if source is None:
        problems.append(f"{row_id}: `{ref}`: {rel} does not exist")
        return
    if case is None:
        if label is not None:
            problems.append(f"{row_id}: `{ref}`: a [label] needs a test path before it")
        return
    if case.startswith("/"):
        if not source.has_test_path(case):
            problems.append(f"{row_id}: `{ref}`: {rel} registers no test {case}")
    elif len(case) >= 2 and case.startswith('"') and case.endswith('"'):
        if label is not None:
            problems.append(f"{row_id}: `{ref}`: a [label] belongs only to a GLib test path")
        if case not in source.text:
            problems.append(f"{row_id}: `{ref}`: {rel} has no test named {case}")
    else:
        problems.append(f"{row_id}: `{ref}`: the case must be a /test/path or a \"quoted name\"")
        return
    if label is not None and label not in source.literals:
        problems.append(f"{row_id}: `{ref}`: {rel} has no case labelled \"{label}\"")


def known_gaps(lines):
    """The IDs of the 'Not tested' and 'Open' paragraphs of §7.8, or None without them."""
    lists = {}
    current = None
    in_gaps = False
    for _number, line in lines:
        if line.startswith("### "):
            in_gaps = "Known gaps" in line
            current = None
            continue
        if not in_gaps:
            continue
        if line.startswith("Not tested"):
            current = "not tested"
            lists[current] = []
        elif line.startswith("Open"):
            current = "open"
            lists[current] = []
        elif not line.strip():
            current = None
            continue
        if current is not None:
            # only what comes before the closing remark
            text = line.split("`SECURITY.md`")[0]
            lists[current].extend(ID_ANYWHERE.findall(text))
    return lists or None


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    doc = os.path.join(srcdir, "docs", "standards.md")
    problems = []
    with open(doc, encoding="utf-8") as f:
        all_lines = f.read().splitlines()
    numbered = section_7(all_lines)
    if numbered is None:
        print("docs/standards.md has no section '## 7.'", file=sys.stderr)
        return 1

    rows = table_rows(numbered, problems)
    seen = {}
    not_tested = set()
    proven = set()
    open_rows = set()
    for number, row in rows:
        row_id = row.get("ID", "")
        if not ROW_ID.match(row_id):
            problems.append(f"docs/standards.md:{number}: '{row_id}' is not a row ID like E-01")
            continue
        if row_id in seen:
            problems.append(f"docs/standards.md:{number}: {row_id} again (first on line {seen[row_id]})")
            continue
        seen[row_id] = number
        status = row.get("Status", "")
        if status == "met":
            pass
        elif status.startswith("open: ") and len(status) > len("open: "):
            open_rows.add(row_id)
        else:
            problems.append(f"{row_id}: status must be 'met' or 'open: <why>', not '{status}'")
        proof = row.get("Proven by", "")
        refs = [r for r in re.findall(r"`([^`]+)`", proof) if r.startswith("tests/")]
        if "not tested" in proof:
            if refs or proof != "not tested":
                problems.append(f"{row_id}: 'not tested' stands alone in its cell")
            not_tested.add(row_id)
            continue
        if not refs:
            problems.append(f"{row_id}: names no test; write 'not tested' if none proves it")
            continue
        proven.add(row_id)
        for ref in refs:
            check_reference(srcdir, row_id, ref, problems)

    gaps = known_gaps(numbered)
    if gaps is None:
        problems.append("§7 has no 'Known gaps' subsection with 'Not tested' and 'Open' lists")
    else:
        for name, want in (("not tested", not_tested), ("open", open_rows)):
            listed = set(gaps.get(name, []))
            for row_id in sorted(want - listed):
                problems.append(f"Known gaps: {row_id} is {name} in the table but not in the '{name}' list")
            for row_id in sorted(listed - want):
                problems.append(f"Known gaps: the '{name}' list names {row_id}, which the table does not mark {name}")

    security = os.path.join(srcdir, "SECURITY.md")
    if os.path.isfile(security):
        with open(security, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                for row_id in ID_ANYWHERE.findall(line):
                    if row_id not in seen:
                        problems.append(f"SECURITY.md:{number}: names {row_id}, which §7 does not have")

    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s) in docs/standards.md §7", file=sys.stderr)
        return 1
    print(f"ok: {len(seen)} requirements, {len(proven)} proven by tests, {len(not_tested)} not tested")
    return 0


if __name__ == "__main__":
    sys.exit(main())
