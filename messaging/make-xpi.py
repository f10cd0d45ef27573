#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Packs the MailExtension into an .xpi (a zip with manifest.json at its root).

    make-xpi.py SRCDIR OUTPUT [--depfile FILE] [--no-experiment] [--test-hooks]

The archive is reproducible: files in sorted order, fixed time stamps (SOURCE_DATE_EPOCH
when set, else 1980-01-01) and modes. Hidden files, editor backups and anything that is
not part of the extension are left out. Every file manifest.json names must exist.

--no-experiment builds the variant without the Experiment API (experiment_apis and
experiment/ left out), for sites that set extensions.experiments.suppressed: Thunderbird
blocks a whole add-on that declares Experiments there, while this variant keeps working
and tells the person which certificate to select (messaging/README.md).

Without --test-hooks (a release) the test control is left out: the files in TEST_ONLY, and in
every script the lines from a line "// ME_TEST_HOOKS begin" to a line "// ME_TEST_HOOKS end"
(both included), so that what ships cannot be driven by a test (messaging/PROTOCOL.md §10).
--test-hooks keeps them: the .xpi the tests install in Thunderbird.
"""
import argparse
import json
import os
import sys
import time
import zipfile

SKIP_SUFFIXES = ("~", ".swp", ".orig", ".rej", ".bak")
# the files only a test build has
TEST_ONLY = ("bg/testcontrol.mjs",)
HOOKS_BEGIN = "// ME_TEST_HOOKS begin"
HOOKS_END = "// ME_TEST_HOOKS end"
SCRIPT_SUFFIXES = (".js", ".mjs")


def collect(srcdir, no_experiment):
    files = []
    for root, dirs, names in os.walk(srcdir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_root = os.path.relpath(root, srcdir)
        if no_experiment and (rel_root == "experiment" or rel_root.startswith("experiment" + os.sep)):
            continue
        for name in sorted(names):
            if name.startswith(".") or name.endswith(SKIP_SUFFIXES):
                continue
            rel = os.path.normpath(os.path.join(rel_root, name))
            files.append(rel.replace(os.sep, "/"))
    return sorted(files)


def strip_hooks(rel, data):
    """The script without its ME_TEST_HOOKS blocks; an unbalanced marker is an error."""
    out = []
    inside = False
    for number, line in enumerate(data.decode("utf-8").splitlines(keepends=True), 1):
        mark = line.strip()
        if mark == HOOKS_BEGIN:
            if inside:
                sys.exit("make-xpi: %s:%d: ME_TEST_HOOKS begin inside a block" % (rel, number))
            inside = True
        elif mark == HOOKS_END:
            if not inside:
                sys.exit("make-xpi: %s:%d: ME_TEST_HOOKS end without a begin" % (rel, number))
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        sys.exit("make-xpi: %s: ME_TEST_HOOKS begin without an end" % rel)
    return "".join(out).encode("utf-8")


def referenced(manifest):
    """The files manifest.json names (those that must be in the archive)."""
    out = []
    bg = manifest.get("background", {})
    out += bg.get("scripts", [])
    if "page" in bg:
        out.append(bg["page"])
    if "options_ui" in manifest:
        out.append(manifest["options_ui"]["page"])
    for key in ("action", "browser_action", "message_display_action", "compose_action"):
        a = manifest.get(key)
        if a:
            if "default_popup" in a:
                out.append(a["default_popup"])
            icon = a.get("default_icon")
            out += list(icon.values()) if isinstance(icon, dict) else [icon] if icon else []
    out += list(manifest.get("icons", {}).values())
    for api in manifest.get("experiment_apis", {}).values():
        out.append(api["schema"])
        for side in ("parent", "child"):
            if side in api:
                out.append(api[side]["script"])
    if "default_locale" in manifest:
        out.append("_locales/%s/messages.json" % manifest["default_locale"])
    return [p.lstrip("/") for p in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("srcdir")
    ap.add_argument("output")
    ap.add_argument("--depfile")
    ap.add_argument("--no-experiment", action="store_true")
    ap.add_argument("--test-hooks", action="store_true")
    args = ap.parse_args()

    with open(os.path.join(args.srcdir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if args.no_experiment:
        manifest.pop("experiment_apis", None)
    files = collect(args.srcdir, args.no_experiment)
    if not args.test_hooks:
        files = [f for f in files if f not in TEST_ONLY]
    missing = [p for p in referenced(manifest) if p not in files]
    if missing:
        sys.exit("make-xpi: manifest.json names missing files: " + ", ".join(missing))

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    stamp = time.gmtime(max(epoch, 315532800))[:6]
    tmp = args.output + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for rel in files:
            info = zipfile.ZipInfo(rel, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            if rel == "manifest.json" and args.no_experiment:
                data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            else:
                with open(os.path.join(args.srcdir, rel), "rb") as f:
                    data = f.read()
                if rel.endswith(SCRIPT_SUFFIXES) and not args.test_hooks:
                    data = strip_hooks(rel, data)
            z.writestr(info, data)
    os.replace(tmp, args.output)

    if args.depfile:
        def esc(p):
            return p.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")
        deps = [os.path.join(args.srcdir, rel) for rel in files]
        with open(args.depfile, "w", encoding="utf-8") as f:
            f.write("%s: %s\n" % (esc(args.output), " \\\n  ".join(esc(d) for d in deps)))


if __name__ == "__main__":
    main()
