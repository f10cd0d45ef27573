#!/bin/sh
# test-ca-env.sh - sourced by contrib/demo.sh and tests/bench/enroll-bench.sh: a private HOME,
# a throwaway gnome-keyring on the current (private) D-Bus session, the RFC 8823 test CA with
# DKIM-signed mail, dnsmasq serving its key, and a mailenroll configuration for it in the
# private HOME's $XDG_CONFIG_HOME/mailenroll/mailenroll.conf (the installed binaries read no
# other folder instead of /etc/mailenroll).  Needs $top; defines get() for the CA's KEY=VALUE lines, $work (removed
# at exit) and step() if the caller has none.  Run it inside dbus-run-session only.
# Works as a normal user with Debian's default PATH (no /usr/sbin: programs from there are run by
# their full path).  Each service must answer before the next one starts (the keyring on the
# bus, the CA's READY line, dnsmasq a TXT query for the DKIM key); one that does not is named
# in one line on stderr, with the last line of its log, and the shell exits 1.
command -v step >/dev/null 2>&1 || step() { printf '\n== %s\n' "$*"; }
# programs of /usr/sbin by their full path: Debian's PATH for a normal user does not have it
dnsmasq=/usr/sbin/dnsmasq
work=$(mktemp -d "${TMPDIR:-/tmp}/mailenroll-demo-XXXXXX")
ca_pid=
dns_pid=
keyring_pid=
cleanup() {
	for pid in $ca_pid $dns_pid $keyring_pid; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# service_down WHAT LOG REASON: one line that names the service that is not up, with the last
# line of its log (the work folder and the log go at the exit), then the end
service_down() {
	_up_last=$(grep -v '^[[:space:]]*$' "$2" 2>/dev/null | tail -n 1 || true)
	echo "demo: $1 $3${_up_last:+: $_up_last}" >&2
	exit 1
}

# wait_up WHAT PID LOG SECONDS CHECK...: waits until CHECK succeeds; gives up, naming WHAT,
# when the process PID ended or after SECONDS
wait_up() {
	_up_what=$1 _up_pid=$2 _up_log=$3 _up_secs=$4
	shift 4
	_up_i=0
	until "$@"; do
		kill -0 "$_up_pid" 2>/dev/null || service_down "$_up_what" "$_up_log" "did not start"
		_up_i=$((_up_i + 1))
		[ $_up_i -lt $((_up_secs * 10)) ] || service_down "$_up_what" "$_up_log" "did not answer within $_up_secs s"
		sleep 0.1
	done
}

keyring_up() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}

ca_up() { grep -qx READY "$work/ca.out"; }

# dns_up PORT NAME: the server on 127.0.0.1:PORT answers the TXT query for NAME with a record
dns_up() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
query = struct.pack(">HHHHHH", 0x6d65, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
query += struct.pack(">HH", 16, 1)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(0.5)
    try:
        s.sendto(query, ("127.0.0.1", port))
        answer = s.recv(4096)
    except OSError:
        sys.exit(1)
ok = len(answer) >= 12 and answer[:2] == query[:2] and answer[3] & 0x0F == 0 and answer[6:8] != b"\0\0"
sys.exit(0 if ok else 1)
PY
}

[ -x "$dnsmasq" ] || { echo "demo: $dnsmasq is missing; contrib/setup.sh installs it (Debian package dnsmasq-base)." >&2; exit 1; }

# a private HOME: the keyring, the NSS database and mailenroll's state all go under it
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.local/state"
export XDG_DATA_HOME="$work/home/.local/share" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL

step "A throwaway keyring (gnome-keyring-daemon on a private D-Bus session)"
printf '\n' | gnome-keyring-daemon --unlock --components=secrets --foreground >"$work/keyring.log" 2>&1 &
keyring_pid=$!
wait_up "the keyring (gnome-keyring-daemon on the session bus)" "$keyring_pid" "$work/keyring.log" 10 keyring_up
echo "keyring ready" >&2

step "The test CA (ACME + RFC 8823, DKIM-signed challenge mail) on 127.0.0.1"
: >"$work/ca.out"
/usr/bin/python3 "$top/tests/acme-ca/acme-ca.py" --dkim ed25519 --state-dir "$work/ca" >"$work/ca.out" 2>"$work/ca.log" &
ca_pid=$!
wait_up "the test CA (tests/acme-ca/acme-ca.py)" "$ca_pid" "$work/ca.log" 60 ca_up
sed '/^READY$/,$d' "$work/ca.out" >"$work/ca.env"
get() { sed -n "s/^$1=//p" "$work/ca.env"; }
echo "directory $(get DIRECTORY)" >&2

step "dnsmasq on 127.0.0.1 serves the CA's DKIM key"
dns_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$dnsmasq" --no-daemon --conf-file="$(get DKIM_DNSMASQ)" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --pid-file= --port="$dns_port" --user="$(id -un)" --log-facility=- 2>"$work/dns.log" &
dns_pid=$!
wait_up "dnsmasq ($dnsmasq, the DNS server for the CA's DKIM key)" "$dns_pid" "$work/dns.log" 10 \
	dns_up "$dns_port" "$(get DKIM_RECORD)"
echo "$(get DKIM_RECORD) on 127.0.0.1:$dns_port" >&2

step "Configuration (the user's own; an administrator could put it in /etc/mailenroll/mailenroll.conf)"
mkdir -p "$XDG_CONFIG_HOME/mailenroll"
cat >"$XDG_CONFIG_HOME/mailenroll/mailenroll.conf" <<EOF
[general]
default-ca=demo
store=nssdb

[ca demo]
directory=$(get DIRECTORY)
ca-file=$(get CA_FILE)
dns-server=127.0.0.1:$dns_port
agree-tos=true
mail-wait=30
key-type=${MAILENROLL_KEY_TYPE:-rsa-3072}

[smtp]
host=127.0.0.1
port=$(get SMTP_REPLY_PORT)
security=none
EOF
cat "$XDG_CONFIG_HOME/mailenroll/mailenroll.conf" >&2

