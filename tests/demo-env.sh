#!/bin/sh
# demo-env.sh SRCDIR - contrib/test-ca-env.sh, the services behind contrib/demo.sh and
# tests/bench/enroll-bench.sh, with the PATH a normal user has on Debian
# (/usr/local/bin:/usr/bin:/bin:/usr/games, no /usr/sbin), also when root runs the tests (CI):
#
#   up        once it is sourced, every service it started answers, asked from here and not by
#             the script's own checks: the keyring owns org.freedesktop.secrets on the bus, the
#             test CA's ACME directory answers over HTTPS with its CA file, its SMTP listener
#             greets, and the DNS server the configuration names (dns-server=) returns the
#             CA's DKIM key record, as dnspython reads it
#   keyring   without a session bus the keyring cannot start: the script exits 1 with one
#             line that names it, at once and not after a later step fails
#
# Issue 15: with dnsmasq run by its bare name, a normal user's demo started no DNS server, said
# nothing, and the enrollment failed 30 s later as if the mail were not authentic.
set -eu
src=$(cd "$1" && pwd)
user_path=/usr/local/bin:/usr/bin:/bin:/usr/games

for need in /usr/sbin/dnsmasq:dnsmasq-base /usr/bin/gnome-keyring-daemon:gnome-keyring \
	/usr/bin/dbus-run-session:dbus-daemon; do
	[ -x "${need%%:*}" ] || { echo "skip: ${need%%:*} is missing (Debian: ${need#*:})"; exit 77; }
done
/usr/bin/python3 -c 'import cryptography, dns.resolver' 2>/dev/null ||
	{ echo "skip: the test CA and this test need python3-cryptography and python3-dnspython"; exit 77; }

case ${ME_DEMO_ENV_CASE:-} in
up)
	top=$src
	step() { echo "# $*"; }
	# shellcheck source=contrib/test-ca-env.sh
	. "$src/contrib/test-ca-env.sh"
	conf=$XDG_CONFIG_HOME/mailenroll/mailenroll.conf
	keyring=fail
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q 'boolean true' && keyring=ok
	/usr/bin/python3 - "$keyring" "$conf" "$(get DIRECTORY)" "$(get CA_FILE)" "$(get SMTP_REPLY_PORT)" \
		"$(get DKIM_RECORD)" "$(get DKIM_TXT)" <<'PY'
import configparser, json, smtplib, ssl, sys, urllib.request
import dns.message, dns.query, dns.rdatatype

keyring, conf, directory, ca_file, smtp_port, record, txt_file = sys.argv[1:]
bad = 0


def check(ok, what):
    global bad
    print(("ok: " if ok else "not ok: ") + what)
    bad += not ok


check(keyring == "ok", "the keyring owns org.freedesktop.secrets on the session bus")
try:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(directory, context=context, timeout=10) as answer:
        check("newOrder" in json.load(answer), f"the test CA's directory {directory} answers")
except Exception as e:
    check(False, f"the test CA's directory {directory} answers: {e}")
try:
    with smtplib.SMTP("127.0.0.1", int(smtp_port), timeout=10) as smtp:
        check(smtp.noop()[0] == 250, f"the test CA's SMTP listener on port {smtp_port} answers")
except Exception as e:
    check(False, f"the test CA's SMTP listener on port {smtp_port} answers: {e}")
parser = configparser.ConfigParser(interpolation=None)
parser.read(conf)
host, port = parser["ca demo"]["dns-server"].rsplit(":", 1)
want = open(txt_file, encoding="ascii").read().strip()
try:
    answer = dns.query.udp(dns.message.make_query(record, dns.rdatatype.TXT), host, port=int(port), timeout=3)
    got = [b"".join(rr.strings).decode() for rrset in answer.answer for rr in rrset]
    check(got == [want], f"the configured DNS server {host}:{port} returns the DKIM key of {record}: {got}")
except Exception as e:
    check(False, f"the configured DNS server {host}:{port} returns the DKIM key of {record}: {type(e).__name__} {e}")
sys.exit(1 if bad else 0)
PY
	;;
keyring)
	top=$src
	# a session bus that is not there
	no_bus=$(mktemp -u "${TMPDIR:-/tmp}/no-bus-XXXXXX")
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$no_bus"
	# shellcheck source=contrib/test-ca-env.sh
	. "$src/contrib/test-ca-env.sh"
	echo "not ok: test-ca-env.sh went on without a keyring"
	exit 1
	;;
"")
	status=0
	echo "# up: test-ca-env.sh with PATH=$user_path in a private session bus"
	ME_DEMO_ENV_CASE=up PATH=$user_path dbus-run-session -- /bin/sh "$0" "$src" || status=1

	echo "# keyring: test-ca-env.sh without a session bus"
	out=$(ME_DEMO_ENV_CASE=keyring PATH=$user_path timeout 60 /bin/sh "$0" "$src" 2>&1) && rc=0 || rc=$?
	printf '%s\n' "$out" | sed 's/^/#   /'
	lines=$(printf '%s\n' "$out" | grep -c '^demo: ' || true)
	if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && printf '%s\n' "$out" | grep -q '^demo: the keyring' &&
		! printf '%s\n' "$out" | grep -q 'The test CA'; then
		echo "ok: without a session bus it stops before the CA, naming the keyring in one line"
	else
		echo "not ok: without a session bus: exit $rc; expected 1, one 'demo: the keyring ...' line and no CA"
		status=1
	fi
	exit $status
	;;
esac
