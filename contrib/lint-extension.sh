#!/bin/sh
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lint-extension.sh [BUILDDIR] - runs Mozilla's web-ext lint on the MailExtension.
#
# web-ext comes from npm, which the project's Debian-only CI does not have: without
# npx (or web-ext on PATH, or WEB_EXT=/path/to/web-ext) this explains how to get it and
# exits 0. To install it outside the source tree:
#
#     npm install --prefix /tmp/webext web-ext
#     WEB_EXT=/tmp/webext/node_modules/.bin/web-ext contrib/lint-extension.sh
#
# web-ext lints for Firefox, and two kinds of its findings do not apply to Thunderbird
# (messaging/README.md lists them):
#   - warnings UNSUPPORTED_API and MANIFEST_PERMISSIONS for the Thunderbird-only APIs and
#     permissions (messages, compose, accounts, messageDisplayAction, ...);
#   - Firefox allows Experiment APIs only in add-ons signed as privileged, so its default
#     mode reports /experiment_apis as MANIFEST_FIELD_PRIVILEGED; Thunderbird allows them in
#     any add-on.
# So the extension is linted three ways, and each must have no error:
#   1. as Thunderbird's add-on site lints Experiment add-ons: `--privileged`, on a copy whose
#      manifest gains the `mozillaAddons` permission Firefox's privileged mode demands (the
#      shim thunderbird/addons-server#212 describes; the shipped manifest does not carry it);
#   2. in the default mode, where the one MANIFEST_FIELD_PRIVILEGED on /experiment_apis is
#      reported and allowed, and anything else fails;
#   3. the variant built without the Experiment (BUILDDIR/messaging/mailenroll-no-
#      experiment.xpi, when BUILDDIR is given and it was built), in the default mode, with
#      no error at all.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
src="$top/messaging/extension"
builddir=${1:-}

if [ -n "${WEB_EXT:-}" ]; then
	set -- "$WEB_EXT"
elif command -v web-ext >/dev/null 2>&1; then
	set -- web-ext
elif command -v npx >/dev/null 2>&1; then
	set -- npx --yes web-ext
else
	echo "lint-extension: web-ext is not available (it needs npm, which Debian's CI image lacks)."
	echo "lint-extension: install it with 'npm install --prefix /tmp/webext web-ext' and run"
	echo "lint-extension: WEB_EXT=/tmp/webext/node_modules/.bin/web-ext $0"
	echo "lint-extension: skipped."
	exit 0
fi
python=/usr/bin/python3
[ -x "$python" ] || python=python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# lint WEB-EXT...: lints $lintdir ($privileged: with --privileged; $allow: the experiment_apis
# error is allowed); prints a summary, fails on errors that are not allowed
lint() {
	"$@" lint --source-dir "$lintdir" --no-config-discovery --output json ${privileged:+--privileged} \
		>"$tmp/lint.json" 2>"$tmp/lint.err" || true
	"$python" - "$tmp/lint.json" "$allow" "$lintdir" <<'PY'
import collections, json, sys
path, allow, where = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
try:
    with open(path) as f:
        report = json.load(f)
except ValueError:
    sys.exit("lint-extension: web-ext produced no report for %s" % where)
accepted = []
errors = []
for e in report.get("errors", []):
    if allow and e.get("code") == "MANIFEST_FIELD_PRIVILEGED" and "/experiment_apis" in e.get("message", ""):
        accepted.append(e)
    else:
        errors.append(e)
warnings = collections.Counter(w.get("code") for w in report.get("warnings", []))
print("lint-extension: %s: %d error(s) (%d accepted: experiment_apis), %d warning(s) %s, %d notice(s)"
      % (where, len(errors) + len(accepted), len(accepted), sum(warnings.values()),
         dict(sorted(warnings.items())), len(report.get("notices", []))))
for w in report.get("warnings", []):
    if w.get("code") not in ("UNSUPPORTED_API", "MANIFEST_PERMISSIONS"):
        print("  warning %s: %s" % (w.get("code"), w.get("message")))
for e in errors:
    print("  ERROR %s: %s (%s:%s)" % (e.get("code"), e.get("message"), e.get("file"), e.get("line")))
sys.exit(1 if errors else 0)
PY
}

status=0
# 1. privileged mode on a copy with the mozillaAddons shim
mkdir "$tmp/privileged"
cp -R "$src/." "$tmp/privileged/"
"$python" - "$tmp/privileged/manifest.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    manifest = json.load(f)
manifest.setdefault("permissions", []).append("mozillaAddons")
with open(path, "w") as f:
    json.dump(manifest, f, indent=2)
PY
lintdir=$tmp/privileged allow=0 privileged=1 lint "$@" || status=1
# 2. the default (Firefox) mode on the source tree
lintdir=$src allow=1 privileged= lint "$@" || status=1

noexp=${builddir:+$builddir/messaging/mailenroll-no-experiment.xpi}
if [ -n "$noexp" ] && [ -f "$noexp" ]; then
	mkdir "$tmp/noexp"
	"$python" -m zipfile -e "$noexp" "$tmp/noexp"
	lintdir=$tmp/noexp allow=0 privileged= lint "$@" || status=1
fi
exit $status
