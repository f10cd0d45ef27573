#!/bin/sh
# fuzz.sh - runs the libFuzzer targets of tests/fuzz with AddressSanitizer, UndefinedBehavior-
# Sanitizer and LeakSanitizer (CONTRIBUTING.md, "Fuzzing").
#
#   contrib/fuzz.sh [-j N] [MINUTES] [TARGET...]
#
#   MINUTES   run time of each target (default 1; fractions such as 0.5 work)
#   TARGET    the targets to run, e.g. dkim rpc (default: all of tests/fuzz/meson.build)
#   -j N      run N targets at a time (default 1; 2 uses both cores of a two-core machine)
#
# Sets up _build-fuzz (clang, -Dfuzzing=true, the sanitizers) when it is not there, builds the
# targets, and gives each a fresh work corpus in _build-fuzz/fuzz-runs/TARGET/corpus, merged
# from its seed corpus tests/fuzz/corpus/TARGET.  What a run finds lands in
# _build-fuzz/fuzz-runs/TARGET/artifacts (crash-*, leak-*, timeout-*, oom-*) with the log.
# Prints per target the executions, crashes and leaks; exits non-zero on any finding.
# FUZZ_BUILD names another build folder; FUZZ_ARGS adds libFuzzer options (e.g. -max_len=65536).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${FUZZ_BUILD:-_build-fuzz}
jobs=1
if [ "${1:-}" = "-j" ]; then
	jobs=${2:?"-j needs a number"}
	shift 2
fi
minutes=1
case "${1:-}" in
[0-9]*) minutes=$1; shift ;;
esac
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')
all=$(sed -n "/^fuzz_targets = \[/,/^\]/s/^ *'\([a-z-]*\)',*$/\1/p" tests/fuzz/meson.build)
targets=${*:-$all}
for t in $targets; do
	echo "$all" | grep -qx "$t" || { echo "fuzz.sh: no target $t; the targets: $(echo $all)" >&2; exit 2; }
done

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debugoptimized >/dev/null
fi
if ! meson configure "$build" | grep -q 'fuzzing *true'; then
	echo "fuzz.sh: $build is not a -Dfuzzing=true clang build; remove it or set FUZZ_BUILD" >&2
	exit 2
fi
# shellcheck disable=SC2046
ninja -C "$build" $(for t in $targets; do printf 'tests/fuzz/fuzz-%s ' "$t"; done) >/dev/null

runs=$build/fuzz-runs
mkdir -p "$runs"
# leaks count as findings; GLib's own process-long allocations are suppressed in lsan.supp
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export G_DEBUG=fatal-criticals LC_ALL=C.UTF-8

run_one() {  # run_one TARGET: a fresh corpus from the seeds, then fuzzing for $seconds
	t=$1
	dir=$runs/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	bin=$build/tests/fuzz/fuzz-$t
	# shellcheck disable=SC2086
	"$bin" -merge=1 -artifact_prefix="$dir/artifacts/" ${FUZZ_ARGS:-} "$dir/corpus" "tests/fuzz/corpus/$t" \
		>"$dir/merge.log" 2>&1 || true
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		${FUZZ_ARGS:-} "$dir/corpus" >"$dir/fuzz.log" 2>&1 || true
}

report_one() {  # report_one TARGET: one line; returns 1 on any finding
	t=$1
	dir=$runs/$t
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n 1)
	crashes=$(find "$dir/artifacts" -type f ! -name 'leak-*' | wc -l)
	leaks=$(find "$dir/artifacts" -type f -name 'leak-*' | wc -l)
	inputs=$(find "$dir/corpus" -type f | wc -l)
	printf '%-14s %10s executions  %3d crashes  %3d leaks  %6d corpus inputs  (%s)\n' \
		"$t" "${execs:-?}" "$crashes" "$leaks" "$inputs" "$dir"
	[ "$crashes" -eq 0 ] && [ "$leaks" -eq 0 ] && [ -n "$execs" ]
}

echo "fuzz.sh: $(echo $targets | wc -w) targets, $seconds s each, $jobs at a time, in $runs"
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

status=0
for t in $targets; do
	report_one "$t" || status=1
done
if [ $status -ne 0 ]; then
	echo "fuzz.sh: findings; each one's input and log are in its artifacts folder (CONTRIBUTING.md, \"Fuzzing\")" >&2
fi
exit $status
