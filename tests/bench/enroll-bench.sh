#!/bin/sh
# enroll-bench.sh [RUNS] - complete enrollments through the mailenroll CLI against the
# project's RFC 8823 test CA, with no artificial delays anywhere (the CA validates and issues
# at once): per enrollment the wall time from `mailenroll enroll` to the installed
# certificate, the HTTP requests the CA counted, and the CLI's peak RSS.  Each run is a new
# mailbox with a new account.  Prints a Markdown table; needs a build (BUILDDIR, default _build).
# MAILENROLL_KEY_TYPE picks the certificate key (default rsa-3072, whose prime search
# dominates the time; ec-p256 shows the protocol alone).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${BUILDDIR:-$top/_build}
runs=${1:-9}
if [ "${MAILENROLL_BENCH_INNER:-}" != 1 ]; then
	MAILENROLL_BENCH_INNER=1 exec dbus-run-session -- "$0" "$runs"
fi
step() { :; }
# shellcheck source=contrib/test-ca-env.sh
. "$top/contrib/test-ca-env.sh"

counter() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"].get("requests", 0))' "$(get STATUS_FILE)"
}

: >"$work/results"
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	before=$(counter)
	start=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$work/rss" "$builddir/helper/mailenroll" enroll --yes --smtp \
		--maildir "$(get MAILDIR)" --nssdb "$work/nssdb" "user$i@example.org" >/dev/null 2>"$work/err" ||
		{ cat "$work/err" >&2; exit 1; }
	end=$(date +%s%N)
	after=$(counter)
	echo "$(((end - start) / 1000)) $((after - before)) $(cat "$work/rss")" >>"$work/results"
done

/usr/bin/python3 - "$work/results" "$runs" <<'PY'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
wall = [r[0] / 1000 for r in rows]
req = [r[1] for r in rows]
rss = [r[2] / 1024 for r in rows]
import os
print(f"| full enrollment (CLI, test CA, new account, {os.environ.get('MAILENROLL_KEY_TYPE', 'rsa-3072')}) | runs | median | min | max |")
print("|---|---|---|---|---|")
print(f"| wall ms | {len(rows)} | {statistics.median(wall):.0f} | {min(wall):.0f} | {max(wall):.0f} |")
print(f"| HTTP requests | {len(rows)} | {statistics.median(req):.0f} | {min(req)} | {max(req)} |")
print(f"| peak RSS MiB | {len(rows)} | {statistics.median(rss):.1f} | {min(rss):.1f} | {max(rss):.1f} |")
PY
