#!/bin/sh
# enroll-bench.sh [RUNS] - complete enrollments through the mailenroll CLI against the
# project's RFC 8823 test CA, with no artificial delays anywhere (the CA validates and issues
# at once): per enrollment the wall time from `mailenroll enroll` to the installed
# certificate, the HTTP requests the CA counted, and the CLI's peak RSS.  Each run is a new
# mailbox with a new account.  Prints a Markdown table, then where the time goes: each step the
# CLI reports ("• ..." on stderr, stamped as it arrives) until the next one, median over the runs.
# Needs a build (BUILDDIR, default _build).
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
	# stderr, each line stamped (µs since the start) as it arrives
	{ /usr/bin/time -f '%M' -o "$work/rss" "$builddir/helper/cli/mailenroll" enroll --yes --smtp \
		--maildir "$(get MAILDIR)" --nssdb "$work/nssdb" "user$i@example.org" 2>&1 >/dev/null
		echo "exit $?"; } | /usr/bin/python3 -u -c '
import sys, time
t0 = int(sys.argv[1]) / 1000
for line in sys.stdin:
    print(int(time.time_ns() / 1000 - t0), line.rstrip("\n"))' "$start" >"$work/steps.$i"
	end=$(date +%s%N)
	grep -q ' exit 0$' "$work/steps.$i" || { cat "$work/steps.$i" >&2; exit 1; }
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

# where the time goes: from one reported step to the next (the last one until the exit)
import glob, collections
spans = collections.OrderedDict()
spans["start-up and configuration"] = []
for i in range(1, len(rows) + 1):
    lines = [l.rstrip("\n").split(" ", 1) for l in open(os.path.join(os.path.dirname(sys.argv[1]), f"steps.{i}"))]
    marks = [(0, "start-up and configuration")] + [(int(t), m[2:]) for t, m in lines if m.startswith("• ")]
    marks.append((int(lines[-1][0]), None))
    for (t, name), (t_next, _) in zip(marks, marks[1:]):
        spans.setdefault(name, []).append((t_next - t) / 1000)
total = sum(statistics.median(v) for v in spans.values())
print()
print("| step (as the CLI reports it) | median ms | share |")
print("|---|---|---|")
for name, v in spans.items():
    m = statistics.median(v)
    print(f"| {name.rstrip('…').replace('|', '/')} | {m:.1f} | {100 * m / total:.0f} % |")
PY
