#!/bin/sh
# demo.sh - the whole job once, with nothing configured: installs what is missing, builds,
# starts the project's RFC 8823 test CA on 127.0.0.1, and enrolls a demo mailbox end to end
# through the mailenroll CLI (the challenge read from the CA's Maildir, the reply sent over
# the CA's SMTP listener), then shows the installed certificate.
#
#   contrib/demo.sh [BUILDDIR]
#
# Everything lives in a temporary folder that is removed at the end: a throwaway keyring
# (gnome-keyring on a private D-Bus session), NSS database, configuration and state.  Your
# own keyring, mail client and configuration are never touched, and nothing leaves 127.0.0.1.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-_build}
case $builddir in /*) ;; *) builddir=$top/$builddir ;; esac

if [ "${MAILENROLL_DEMO_INNER:-}" != 1 ]; then
	log=$(mktemp)
	echo "demo: installing what is missing and building (log: $log)"
	if ! { "$top/contrib/setup.sh" "$builddir" && meson compile -C "$builddir"; } >"$log" 2>&1; then
		cat "$log" >&2
		exit 1
	fi
	rm -f "$log"
	MAILENROLL_DEMO_INNER=1 exec dbus-run-session -- "$0" "$builddir"
fi

mailbox=demo@example.org
step() { printf '\n== %s\n' "$*"; }
# shellcheck source=contrib/test-ca-env.sh
. "$top/contrib/test-ca-env.sh"

step "mailenroll enroll $mailbox (the demo approves the reply with --yes)"
"$builddir/helper/cli/mailenroll" enroll --yes --smtp --maildir "$(get MAILDIR)" --nssdb "$work/nssdb" "$mailbox"

step "mailenroll status"
"$builddir/helper/cli/mailenroll" status

step "The certificate in the NSS database (certutil)"
certutil -L -d "sql:$work/nssdb"
nick=$(certutil -L -d "sql:$work/nssdb" | sed -n "s/^\($mailbox.*[^ ]\) *u,u,u\$/\1/p")
certutil -L -d "sql:$work/nssdb" -n "$nick" | grep -E 'Issuer:|Subject:|Not Before|Not After|RFC822 Name|Usages|Digital|Encipherment|E-Mail'
step "Its private key is in the NSS database and in the keyring, nowhere else"
certutil -K -d "sql:$work/nssdb" -f /dev/null 2>/dev/null | grep -v '^certutil:' || true
echo
echo "demo: done; the temporary folder is removed now"
