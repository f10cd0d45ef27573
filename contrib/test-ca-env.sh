#!/bin/sh
# test-ca-env.sh - sourced by contrib/demo.sh and tests/bench/enroll-bench.sh: a private HOME,
# a throwaway gnome-keyring on the current (private) D-Bus session, the RFC 8823 test CA with
# DKIM-signed mail, dnsmasq serving its key, and a mailenroll configuration for it in the
# private HOME's $XDG_CONFIG_HOME/mailenroll/mailenroll.conf (the installed binaries read no
# other folder instead of /etc/mailenroll).  Needs $top; defines get() for the CA's KEY=VALUE lines, $work (removed
# at exit) and step() if the caller has none.  Run it inside dbus-run-session only.
command -v step >/dev/null 2>&1 || step() { printf '\n== %s\n' "$*"; }
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


# a private HOME: the keyring, the NSS database and mailenroll's state all go under it
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.local/state"
export XDG_DATA_HOME="$work/home/.local/share" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL

step "A throwaway keyring (gnome-keyring-daemon on a private D-Bus session)"
printf '\n' | gnome-keyring-daemon --unlock --components=secrets --foreground >/dev/null 2>&1 &
keyring_pid=$!
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: the keyring did not start" >&2; exit 1; }
	sleep 0.1
done
echo "keyring ready" >&2

step "The test CA (ACME + RFC 8823, DKIM-signed challenge mail) on 127.0.0.1"
mkfifo "$work/ca.out"
/usr/bin/python3 "$top/tests/acme-ca/acme-ca.py" --dkim ed25519 --state-dir "$work/ca" >"$work/ca.out" 2>"$work/ca.log" &
ca_pid=$!
exec 3<>"$work/ca.out" # held open until the end, so the CA can always write
: >"$work/ca.env"
while IFS= read -r line <&3; do
	[ "$line" = READY ] && break
	printf '%s\n' "$line" >>"$work/ca.env"
done
get() { sed -n "s/^$1=//p" "$work/ca.env"; }
echo "directory $(get DIRECTORY)" >&2

step "dnsmasq on 127.0.0.1 serves the CA's DKIM key"
dns_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dnsmasq --no-daemon --conf-file="$(get DKIM_DNSMASQ)" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --pid-file= --port="$dns_port" --user="$(id -un)" 2>"$work/dns.log" &
dns_pid=$!
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

