# peer-mailenroll.sh - mailenroll's ACME core as one more "peer", in the style of the shared
# harness's peers.sh (source peers.sh first, then this file):
#
#   . "$PEERS_DIR/peers.sh"; . tests/bench/peer-mailenroll.sh
#   peer_mailenroll [new|existing]
#   peer_make_template_mailenroll
#
# Same contract as peer_uacme & co: a fresh state dir $PEER_WORK/mailenroll.XXXXXX, ONE
# issuance for test-<random>.example.com (http-01, EC P-256 account and certificate keys,
# done by me-acme-issue), a check that DIR/cert.pem is a PEM certificate, "mailenroll OK ..."
# on stdout.  On success the driver's own counter line ("me-acme-issue: requests=N
# connections=N ...") is copied to stdout as well, so measure.py's per-run log keeps it;
# it is read with bash builtins only, so the copy costs no process.
#
# Environment: ME_ACME_ISSUE (path of the driver; acme-bench.sh exports it) plus everything
# peers.sh uses (PEBBLE_DIRECTORY, PEBBLE_CA, PEER_WORK, PEER_TEMPLATES, PEER_VERBOSE).

_peer_mailenroll_exec() {  # _peer_mailenroll_exec STATEDIR ARGS...
    local dir=$1; shift
    "${ME_ACME_ISSUE:?ME_ACME_ISSUE is not set}" --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA" \
        --state "$dir" "$@"
}

peer_mailenroll() {
    local mode=${1:-new} _d _name _log line
    _peer_mode "$mode" || return 1
    if [[ $mode == existing && ! -f $PEER_TEMPLATES/mailenroll/.ok ]]; then
        peer_make_template_mailenroll >&2 || return 1
    fi
    _peer_begin mailenroll || return 1
    if [[ $mode == existing ]]; then
        # the registered account (key, URL and the cached directory), like peers.sh's "cp -a template/..." per client
        cp -a "$PEER_TEMPLATES/mailenroll/account.pem" "$PEER_TEMPLATES/mailenroll/account.url" \
            "$PEER_TEMPLATES/mailenroll/directory.json" "$_d/" ||
            return 1
    fi
    _peer_mailenroll_exec "$_d" --name "$_name" "$mode" >>"$_log" 2>&1 ||
        { _peer_fail mailenroll "$_d" "me-acme-issue $mode exited $?"; return 1; }
    if [[ $_log == "$_d/client.log" ]]; then
        while IFS= read -r line; do
            [[ $line == "me-acme-issue: requests="* ]] && echo "$line"
        done <"$_log"
    fi
    _peer_check mailenroll "$_d" "$_d/cert.pem"
}

# One throwaway account per Pebble instance (and per directory URL: Pebble derives the
# account URL from the Host header, so the relay needs its own template).
peer_make_template_mailenroll() {
    local _d=$PEER_TEMPLATES/mailenroll
    _peer_env_ok || return 1
    [[ -f $_d/.ok ]] && return 0
    rm -rf "$_d" && mkdir -p "$_d" || return 1
    { _peer_mailenroll_exec "$_d" register >>"$_d/client.log" 2>&1 &&
        [[ -s $_d/account.pem && -s $_d/account.url ]]; } ||
        { _peer_fail mailenroll "$_d" "account template registration failed"; return 1; }
    touch "$_d/.ok"
    echo "mailenroll template account ready in $_d" >&2
}
