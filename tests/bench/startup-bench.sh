#!/usr/bin/env bash
# startup-bench.sh - what a start of mailenroll costs, for one or two builds side by side
# (issue 18; tests/bench/README.md, "Start-up")
#
#   tests/bench/startup-bench.sh [BUILDDIR [BEFORE_BUILDDIR]]
#
# For three jobs, `mailenroll --version`, `mailenroll-helper` answering `hello`, and one ACME
# issuance with an existing account by the bench driver me-acme-issue against a local Pebble,
# it prints per build: the objects the dynamic loader maps (LD_DEBUG=files), its relocations
# and its own start-up time (LD_DEBUG=statistics), the instructions of the whole run and of
# the relocation in it (callgrind: the same on a busy machine as on an idle one), CPU and wall
# (hyperfine; not for hello, which host-bench measures below) and peak RSS (GNU time %M,
# median). With a second build dir, the ratios before/after. Then host-bench for each
# helper, each with its own Python peer. Markdown on stdout, progress on stderr.
#
# Environment: RUNS (20) timed runs per row, PEERS_DIR (the shared harness, for Pebble),
# CALLGRIND=0 to leave callgrind out.  Needs hyperfine, valgrind, GNU time, pebble.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
after=$(cd "${1:-$repo/_build}" && pwd)
before=${2:+$(cd "$2" && pwd)}
RUNS=${RUNS:-20}
CALLGRIND=${CALLGRIND:-1}
PEERS_DIR=${PEERS_DIR:-$repo/../shared/bench/peers}

work=$(mktemp -d /tmp/startup-bench.XXXXXX)
export BENCH_RUN=$work/pebble
cleanup() {
	[[ -f $BENCH_RUN/pebble.pid ]] && "$PEERS_DIR/pebble-down.sh" >/dev/null 2>&1 || true
	rm -rf -- "$work"
}
trap cleanup EXIT
mkdir -p "$BENCH_RUN" "$work/home"

export PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
"$PEERS_DIR/pebble-up.sh" >/dev/null
# shellcheck disable=SC1091
. "$BENCH_RUN/pebble.env"
/usr/bin/python3 -c 'import struct,sys
m=b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":[1],\"client\":\"startup-bench/1\"}}"
sys.stdout.buffer.write(struct.pack("<I",len(m))+m)' >"$work/hello.bin"

median() { sort -n | awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# job_cmd BUILD JOB: the command line of JOB, one word a line
job_cmd() {
	case $2 in
	version) printf '%s\n' "$1/helper/cli/mailenroll" --version ;;
	hello) printf '%s\n' "$1/helper/host/mailenroll-helper" "$work/home/m.json" mailenroll@mailenroll.org ;;
	issue) printf '%s\n' "$1/tests/bench/me-acme-issue" --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA" \
		--state "$work/state" --name startup.example.com existing ;;
	esac
}
job_input() { [[ $1 == hello ]] && echo "$work/hello.bin" || echo /dev/null; }
# a fresh copy of the registered account for each issuance
prep() { rm -rf "$work/state"; cp -a "$work/account-$1" "$work/state"; }

measure() {  # measure BUILD LABEL JOB -> one "key=value ..." line
	local build=$1 job=$3 input stats objs relocs cycles ir="-" reloc_ir="-" cpu="-" wall="-" rss
	local -a cmd
	mapfile -t cmd < <(job_cmd "$build" "$job")
	input=$(job_input "$job")
	prep "$2"
	objs=$(HOME=$work/home LD_DEBUG=files "${cmd[@]}" <"$input" 2>&1 >/dev/null | grep -o 'file=[^ ]*' | sort -u | wc -l)
	prep "$2"
	stats=$(HOME=$work/home LD_DEBUG=statistics "${cmd[@]}" <"$input" 2>&1 >/dev/null)
	cycles=$(grep -m1 'total startup time' <<<"$stats" | grep -o '[0-9]* cycles' | awk '{print $1}')
	relocs=$(grep 'final number of relocations:' <<<"$stats" | tail -1 | awk '{print $NF}')
	if [[ $CALLGRIND == 1 ]]; then
		prep "$2"
		ir=$(HOME=$work/home valgrind --tool=callgrind --callgrind-out-file="$work/cg" "${cmd[@]}" <"$input" 2>&1 >/dev/null |
			awk '/refs:/ {gsub(",", "", $NF); print $NF}')
		reloc_ir=$(callgrind_annotate --inclusive=yes "$work/cg" 2>/dev/null |
			awk '/dl-reloc.c:_dl_relocate_object \[/ {gsub(",", "", $1); print $1; exit}')
	fi
	if [[ $job != hello ]]; then
		hyperfine -N -w 2 -r "$RUNS" --prepare "cp -aT $work/account-$2 $work/state" \
			--export-json "$work/hf.json" "${cmd[*]}" >/dev/null 2>&1
		read -r cpu wall < <(/usr/bin/python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["results"][0]
print("%.1f %.1f" % ((r["user"]+r["system"])*1000, r["median"]*1000))' "$work/hf.json")
	fi
	rss=$(for _ in $(seq "$RUNS"); do
		prep "$2"
		HOME=$work/home /usr/bin/time -o "$work/time" -f '%M' "${cmd[@]}" <"$input" >/dev/null 2>&1 || true
		tail -1 "$work/time"
	done | median)
	echo "objects=$objs relocations=$relocs ldso_mcycles=$(awk -v c="$cycles" 'BEGIN{printf "%.2f", c/1e6}')" \
		"minstr=$([[ $ir == - ]] && echo - || awk -v c="$ir" 'BEGIN{printf "%.1f", c/1e6}')" \
		"reloc_minstr=$([[ $reloc_ir == - || -z $reloc_ir ]] && echo - || awk -v c="$reloc_ir" 'BEGIN{printf "%.1f", c/1e6}')" \
		"cpu_ms=$cpu wall_ms=$wall rss_mib=$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')"
}

declare -A result
labels=(after)
[[ -n $before ]] && labels=(before after)
for label in "${labels[@]}"; do
	build=$after
	[[ $label == before ]] && build=$before
	mkdir -p "$work/account-$label"
	"$build/tests/bench/me-acme-issue" --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA" \
		--state "$work/account-$label" register 2>/dev/null
	for job in version hello issue; do
		echo "startup-bench: $label $job" >&2
		result[$label.$job]=$(measure "$build" "$label" "$job")
	done
done

field() { tr ' ' '\n' <<<"${result[$1]}" | awk -F= -v k="$2" '$1 == k {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f×", a / b }'; }

echo "## Start-up breakdown: what a start maps, binds and costs"
echo
echo "Produced by \`tests/bench/startup-bench.sh ${1:-_build}${2:+ $2}\` on $(date -u +%Y-%m-%d); $RUNS runs per timed row."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores; CPU and wall move with it, instructions do not)."
echo
echo "| job | build | objects mapped | relocations | ld.so start (M cycles) | instructions (M) | of them relocation (M) | CPU ms | wall ms (median) | peak RSS MiB (median) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for job in version hello issue; do
	for label in "${labels[@]}"; do
		k=$label.$job
		echo "| $job | $label | $(field "$k" objects) | $(field "$k" relocations) | $(field "$k" ldso_mcycles) | $(field "$k" minstr) | $(field "$k" reloc_minstr) | $(field "$k" cpu_ms) | $(field "$k" wall_ms) | $(field "$k" rss_mib) |"
	done
	if [[ -n $before ]]; then
		b=before.$job a=after.$job
		echo "| $job | **before / after** | $(ratio "$(field $b objects)" "$(field $a objects)") | $(ratio "$(field $b relocations)" "$(field $a relocations)") | $(ratio "$(field $b ldso_mcycles)" "$(field $a ldso_mcycles)") | $(ratio "$(field $b minstr)" "$(field $a minstr)") | $(ratio "$(field $b reloc_minstr)" "$(field $a reloc_minstr)") | $(ratio "$(field $b cpu_ms)" "$(field $a cpu_ms)") | $(ratio "$(field $b wall_ms)" "$(field $a wall_ms)") | $(ratio "$(field $b rss_mib)" "$(field $a rss_mib)") |"
	fi
done
echo
echo "version: \`mailenroll --version\`; hello: \`mailenroll-helper\` from start to its exit after one \`hello\` on"
echo "stdin; issue: \`me-acme-issue ... existing\` against Pebble (8 requests, one TLS connection). Ratios"
echo "are before over after: above 1× the new build maps, binds or spends less."
echo
for label in "${labels[@]}"; do
	build=$after
	[[ $label == before ]] && build=$before
	echo "### host-bench, $label"
	echo
	"$after/tests/bench/host-bench" --runs 30 --helper "$build/helper/host/mailenroll-helper" | sed 1,2d
	echo
done
