#!/usr/bin/env bash
# acme-bench.sh - mailenroll's ACME core (tests/bench/me-acme-issue) timed beside the peer
# clients uacme, lego, certbot and dehydrated, against one local Pebble, in ONE invocation.
#
#   tests/bench/acme-bench.sh                          # everything, RUNS=10
#   RUNS=20 CLIENTS="uacme" tests/bench/acme-bench.sh  # fewer peers, more runs
#
# The measuring is done by the shared peer harness (default ../shared/bench/peers beside the
# repository, PEERS_DIR=... to point elsewhere), called from where it lives: pebble-up.sh /
# pebble-down.sh, peers.sh (peer_<client> new|existing), measure.py, tcpcount.py.  Our driver is
# wrapped as one more peer by peer-mailenroll.sh.  See tests/bench/README.md.
#
# Phases (PHASE_<name>=0 switches one off):
#   timing  measure.py: noop baseline, mailenroll new/existing, then every CLIENT new/existing;
#           WARMUP untimed + RUNS timed runs each, straight to Pebble
#   count   COUNT_RUNS untimed runs each through tcpcount.py (TLS connections, bytes, resumption)
#           and, with COUNT_EXECS=1 (default), under strace -f (programs exec'd)
#
# Environment: RUNS (10), WARMUP (1), COUNT_RUNS (3), COUNT_EXECS (1), MODES ("new existing"),
#   CLIENTS ("uacme lego certbot dehydrated"), PEERS_DIR, BUILDDIR (<repo>/_build),
#   ME_ACME_ISSUE (default $BUILDDIR/tests/bench/me-acme-issue), RES (results dir, default
#   tests/bench/results/<UTC timestamp>; tests/bench/results/latest points at the newest),
#   RUN_TIMEOUT (60: seconds allowed per single issuance before a client counts as hung).
#
# A client that fails (not installed, template registration or any run fails, hangs) is
# recorded in $RES/<label>.failed and reported; the others still run.  The report
# (acme-report.py) goes to stdout and to $RES/report.md; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3        # the shared scripts and ours use the system Python, not pyenv's

PEERS_DIR=${PEERS_DIR:-$repo/../shared/bench/peers}
if ! PEERS_DIR=$(cd "$PEERS_DIR" 2>/dev/null && pwd); then
    echo "acme-bench: shared peer harness not found (PEERS_DIR=${PEERS_DIR})" >&2; exit 2
fi
for f in peers.sh measure.py tcpcount.py pebble-up.sh pebble-down.sh hooks/noop-hook.sh; do
    [[ -e $PEERS_DIR/$f ]] || { echo "acme-bench: $PEERS_DIR/$f missing" >&2; exit 2; }
done

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
COUNT_RUNS=${COUNT_RUNS:-3}
COUNT_EXECS=${COUNT_EXECS:-1}
MODES=${MODES:-"new existing"}
CLIENTS=${CLIENTS-"uacme lego certbot dehydrated"}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
BUILDDIR=${BUILDDIR:-$repo/_build}
ME_ACME_ISSUE_SRC=${ME_ACME_ISSUE:-$BUILDDIR/tests/bench/me-acme-issue}
for m in $MODES; do
    [[ $m == new || $m == existing ]] || { echo "acme-bench: MODES: '$m' is not new|existing" >&2; exit 2; }
done
for c in $CLIENTS; do
    case $c in uacme|lego|certbot|dehydrated) ;;
        *) echo "acme-bench: CLIENTS: unknown client '$c' (uacme lego certbot dehydrated)" >&2; exit 2 ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ && $COUNT_RUNS =~ ^[0-9]+$ ]] ||
    { echo "acme-bench: RUNS/WARMUP/COUNT_RUNS must be integers (RUNS >= 1)" >&2; exit 2; }

stamp=$(date -u +%Y%m%d-%H%M%S)
if [[ -z ${RES:-} ]]; then
    RES=$here/results/$stamp
    mkdir -p "$RES"
    ln -sfn "$stamp" "$here/results/latest"
fi
mkdir -p "$RES/logs"
RES=$(cd "$RES" && pwd)
if compgen -G "$RES/*.json" >/dev/null || compgen -G "$RES/*.failed" >/dev/null; then
    echo "acme-bench: $RES already holds results; use an empty RES" >&2; exit 2
fi
t_start=$(date +%s.%N)

for tool in pebble openssl curl ss unshare mount timeout /usr/bin/time "$PY"; do
    command -v "$tool" >/dev/null || { echo "acme-bench: $tool not found (contrib/setup.sh installs it)" >&2; exit 2; }
done
if [[ $COUNT_EXECS == 1 && ${PHASE_count:-1} == 1 ]] && ! command -v strace >/dev/null; then
    echo "acme-bench: strace not found; counting without exec counts" >&2; COUNT_EXECS=0
fi

# --- our driver: build it if missing (only that target), then run a private copy -------------
if [[ ! -x $ME_ACME_ISSUE_SRC ]]; then
    if [[ -z ${ME_ACME_ISSUE:-} && -f $BUILDDIR/build.ninja ]]; then
        echo "acme-bench: building tests/bench/me-acme-issue in $BUILDDIR" >&2
        ninja -C "$BUILDDIR" tests/bench/me-acme-issue >&2
    fi
    [[ -x $ME_ACME_ISSUE_SRC ]] || {
        echo "acme-bench: $ME_ACME_ISSUE_SRC not built (meson setup _build && ninja -C _build tests/bench/me-acme-issue)" >&2
        exit 2
    }
fi

# --- temp run dir, cleanup -------------------------------------------------------------------
BENCH_RUN=$(mktemp -d /tmp/acme-bench.XXXXXX)
export BENCH_RUN
proxy_pid=
pebble_started=
kill_measurements() {  # on interrupt: the process groups of our own timeout(1) children
    local pid ppid pgid comm
    declare -A mine=([$$]=1)
    while read -r pid ppid pgid comm; do   # ps lists parents before children
        [[ -n ${mine[$ppid]:-} ]] || continue
        mine[$pid]=1
        if [[ $comm == timeout && $pid == "$pgid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
    done < <(ps -e --sort=start_time -o pid=,ppid=,pgid=,comm=)
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ $rc == 130 || $rc == 143 ]] && kill_measurements
    if [[ -n $proxy_pid ]] && kill -0 "$proxy_pid" 2>/dev/null; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
    fi
    if [[ -n $pebble_started ]]; then
        [[ -n ${PEBBLE_LOG:-} && -f $PEBBLE_LOG ]] && cp "$PEBBLE_LOG" "$RES/logs/pebble.log" 2>/dev/null
        PEBBLE_KEEP_STATE=${PEBBLE_KEEP_STATE:-0} "$PEERS_DIR/pebble-down.sh" || true
    fi
    rm -rf -- "$BENCH_RUN"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A snapshot of the driver, so a rebuild in the shared build tree mid-run cannot change what
# is measured (it has no RUNPATH; its libraries are the system's).
export ME_ACME_ISSUE=$BENCH_RUN/me-acme-issue
cp "$ME_ACME_ISSUE_SRC" "$ME_ACME_ISSUE"

fail() {  # fail LABEL REASON [DETAIL-FILE]: record that LABEL produced no measurement
    local label=$1 reason=$2 detail=${3:-}
    {
        echo "$reason"
        if [[ -n $detail && -f $detail ]]; then echo "----"; tail -n 40 "$detail"; fi
    } >"$RES/$label.failed"
    echo "acme-bench: $label FAILED: $reason" >&2
}

# --- Pebble ----------------------------------------------------------------------------------
export PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
pebble_started=1
"$PEERS_DIR/pebble-up.sh" >"$RES/pebble-up.out"
# shellcheck disable=SC1091
. "$BENCH_RUN/pebble.env"
export PEBBLE_DIRECTORY PEBBLE_CA PEBBLE_STATE PEBBLE_LOG PEBBLE_PID PEBBLE_PORT
export PEER_WORK=$PEBBLE_STATE/peers
export PEER_TEMPLATES=$PEBBLE_STATE/templates
echo "acme-bench: Pebble $PEBBLE_DIRECTORY (PID $PEBBLE_PID); results in $RES" >&2

# uacme 1.7.4 has no CA option: as bench.sh does, enter one private mount namespace in which
# Pebble's certificate is the whole of /etc/ssl/certs, so the unshare/mount cost is not timed.
uacme_trust=$PEBBLE_STATE/uacme-trust
mkdir -p "$uacme_trust"; cp "$PEBBLE_CA" "$uacme_trust/ca-certificates.crt"; cp "$PEBBLE_CA" "$uacme_trust/pebble.pem"
in_trust_ns() {  # in_trust_ns TRUSTDIR CMD...   (run CMD with TRUSTDIR bind-mounted on /etc/ssl/certs)
    local dir=$1; shift
    PEER_UACME_TRUST=ready unshare -m --propagation private /bin/bash -c \
        'mount --bind "$0" /etc/ssl/certs && exec "$@"' "$dir" "$@"
}
wrap_for() {  # wrap_for CLIENT -> prefix words on stdout
    if [[ $1 == uacme ]]; then echo "in_trust_ns $uacme_trust"; fi
}
client_cmd() {  # client_cmd CLIENT MODE -> the bash -c script measure.py times
    if [[ $1 == mailenroll ]]; then
        echo ". '$PEERS_DIR/peers.sh'; . '$here/peer-mailenroll.sh'; peer_mailenroll $2"
    else
        echo ". '$PEERS_DIR/peers.sh'; peer_$1 $2"
    fi
}

# --- versions --------------------------------------------------------------------------------
{
    echo "date: $(date -u +%FT%TZ)"
    echo "kernel: $(uname -srm)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
    echo "debian: $(cat /etc/debian_version 2>/dev/null || echo '?')"
    for p in pebble uacme lego certbot python3-acme python3 dehydrated curl openssl libcurl4 \
        libcurl3-gnutls libgnutls30 libssl3 libglib2.0-0; do
        dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || true
    done
    echo "pebble env: $PEBBLE_ENV"
    echo "mailenroll HEAD: $(git -C "$repo" rev-parse HEAD 2>/dev/null || echo '?') (working tree may differ)"
    echo "me-acme-issue: $ME_ACME_ISSUE_SRC sha256=$(sha256sum <"$ME_ACME_ISSUE" | cut -c1-16)" \
        "built $(date -u -r "$ME_ACME_ISSUE_SRC" +%FT%TZ)"
    echo "me-acme-issue flags: $(readelf --debug-dump=info "$ME_ACME_ISSUE" 2>/dev/null |
        sed -n 's/.*DW_AT_producer.*: //p' | head -n1)"
    echo "peer harness: $PEERS_DIR"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RES/versions.txt" 2>/dev/null

# --- which clients can run -------------------------------------------------------------------
declare -A broken=()        # client -> reason, for every mode
declare -A no_template=()   # client -> reason, existing mode only
declare -A template_log=()  # client -> the log its template registration went to
for c in $CLIENTS; do
    if ! command -v "$c" >/dev/null; then
        broken[$c]="$c is not installed (contrib/setup.sh installs it)"
    elif [[ $c == uacme && $EUID -ne 0 ]]; then
        broken[$c]="uacme 1.7.4 has no CA option; the private mount namespace trust trick needs root"
    fi
done

make_templates() {  # make_templates LOGPREFIX: account templates for mailenroll and every CLIENT
    local prefix=$1 log c rc
    for c in mailenroll $CLIENTS; do
        [[ -n ${broken[$c]:-} ]] && continue
        log=$prefix-$c.log
        rc=0
        if [[ $c == mailenroll ]]; then
            timeout -k 5 "$RUN_TIMEOUT" bash -c ". '$PEERS_DIR/peers.sh'; . '$here/peer-mailenroll.sh';
                peer_make_template_mailenroll" >>"$log" 2>&1 || rc=$?
        else
            timeout -k 5 "$RUN_TIMEOUT" bash -c ". '$PEERS_DIR/peers.sh'; PEER_UACME_TRUST=ns
                peer_make_template $c" >>"$log" 2>&1 || rc=$?
        fi
        template_log[$c]=$log
        if [[ $rc == 124 || $rc == 137 ]]; then
            no_template[$c]="account template registration timed out after ${RUN_TIMEOUT}s (see logs/$(basename "$log"))"
        elif [[ $rc != 0 ]]; then
            no_template[$c]="account template registration failed (see logs/$(basename "$log"))"
        fi
    done
}

# measure LABEL RUNS WARMUP CLIENT MODE [extra measure.py args]
# Returns 0 with $RES/LABEL.json written, or 1 with $RES/LABEL.failed written.
measure() {
    local label=$1 runs=$2 warm=$3 c=$4 m=$5 rc out; shift 5
    local budget=$(((runs + warm) * RUN_TIMEOUT + 30))
    if [[ -n ${broken[$c]:-} ]]; then fail "$label" "${broken[$c]}"; return 1; fi
    if [[ $m == existing && -n ${no_template[$c]:-} ]]; then
        fail "$label" "${no_template[$c]}" "${template_log[$c]}"; return 1
    fi
    out=$RES/logs/$label.measure.txt
    # timeout puts measure.py and the client tree in its own process group and kills all of
    # it if a client hangs; it stays outside measure.py's timed command.  Run in the
    # background and wait, so that INT/TERM reach our trap at once (bash defers traps while
    # a foreground command runs); the trap then kills that process group.
    (
        $(wrap_for "$c") timeout -k 5 "$budget" "$PY" "$PEERS_DIR/measure.py" --label "$label" \
            --runs "$runs" --warmup "$warm" --json "$RES/$label.json" --logdir "$RES/logs" \
            --prepare "rm -rf '$PEER_WORK'" --pebble-log "$PEBBLE_LOG" --pebble-pid "$PEBBLE_PID" "$@" \
            -- /bin/bash -c "$(client_cmd "$c" "$m")" 2>&1 | tee "$out" >&2
        exit "${PIPESTATUS[0]}"
    ) &
    rc=0
    wait "$!" || rc=$?
    if [[ $rc == 0 && -s $RES/$label.json ]]; then return 0; fi
    rm -f "$RES/$label.json"
    if [[ $rc == 124 || $rc == 137 ]]; then
        # the hung run's own client log is still in its state dir
        local last
        last=$(ls -td "$PEER_WORK/$c".* 2>/dev/null | head -n1)
        { echo "last lines of ${last:-?}/client.log:"; tail -n 20 "$last/client.log" 2>/dev/null; } >>"$out"
        fail "$label" "timed out after ${budget}s (RUN_TIMEOUT=${RUN_TIMEOUT}s per issuance)" "$out"
    else
        fail "$label" "$(grep -m1 -E '^[a-z]+ FAILED: ' "$out" || grep -m1 -E 'exited [0-9-]+' "$out" ||
            echo "measure.py exited $rc")" "$out"
    fi
    return 1
}

echo "acme-bench: registering account templates" >&2
make_templates "$RES/logs/templates"

# --- timing: everything in this one invocation, one after another ----------------------------
if [[ ${PHASE_timing:-1} == 1 ]]; then
    measure noop "$RUNS" "$WARMUP" noop "" || true
    for c in mailenroll $CLIENTS; do for m in $MODES; do
        measure "$c-$m" "$RUNS" "$WARMUP" "$c" "$m" || true
    done; done
fi

# --- count: TLS connections through the relay ------------------------------------------------
if [[ ${PHASE_count:-1} == 1 && $COUNT_RUNS -gt 0 ]]; then
    pport=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    plog=$RES/logs/tcpcount.log; : >"$plog"
    "$PY" "$PEERS_DIR/tcpcount.py" "$pport" 127.0.0.1 "$PEBBLE_PORT" "$plog" 2>"$RES/logs/tcpcount.err" &
    proxy_pid=$!
    for _ in $(seq 50); do ss -Hltn "( sport = :$pport )" | grep -q . && break; sleep 0.1; done
    # a relay that is not listening would make every count run fail as if the client did
    ss -Hltn "( sport = :$pport )" | grep -q . || {
        echo "acme-bench: the counting relay (tcpcount.py) is not listening on port $pport:" \
            "$(tail -n 1 "$RES/logs/tcpcount.err" 2>/dev/null)" >&2
        exit 1
    }
    countargs=(--proxy-log "$plog")
    [[ $COUNT_EXECS == 1 ]] && countargs+=(--count-execs)
    (
        # Pebble derives every URL (account URLs too) from the Host header, so the whole
        # issuance goes through the relay, and "existing" needs templates made through it.
        export PEBBLE_DIRECTORY=https://127.0.0.1:$pport/dir
        export PEER_TEMPLATES=$PEBBLE_STATE/templates-relay
        make_templates "$RES/logs/templates-relay"
        measure count-noop "$COUNT_RUNS" 0 noop "" "${countargs[@]}" || true
        for c in mailenroll $CLIENTS; do for m in $MODES; do
            [[ -f $RES/$c-$m.failed ]] && continue   # already reported
            measure "count-$c-$m" "$COUNT_RUNS" 0 "$c" "$m" "${countargs[@]}" || true
        done; done
    )
    kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true; proxy_pid=
fi

t_end=$(date +%s.%N)
"$PY" - "$RES/meta.json" "$t_start" "$t_end" <<EOF
import json, sys
json.dump({"started": float(sys.argv[2]), "finished": float(sys.argv[3]),
           "wall_s": float(sys.argv[3]) - float(sys.argv[2]),
           "loadavg_end": open("/proc/loadavg").read().split()[:3], "runs": $RUNS, "warmup": $WARMUP, "count_runs": $COUNT_RUNS,
           "clients": "$CLIENTS".split(), "modes": "$MODES".split()}, open(sys.argv[1], "w"), indent=1)
EOF

"$PY" "$here/acme-report.py" "$RES" | tee "$RES/report.md"
echo "acme-bench: done in $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", b - a }') s;" \
    "report in $RES/report.md" >&2
