#!/bin/sh
# setup.sh - install every Debian package that building and testing mailenroll needs,
# then configure the build directory.  Idempotent: packages already present are skipped,
# an existing build directory is reconfigured rather than recreated.
#
#   contrib/setup.sh [BUILDDIR] [extra meson options...]
#
# Runs apt-get only for what is missing, so a second run costs no network.  Needs root
# (or sudo) only when something has to be installed.
set -eu

builddir=${1:-_build}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/.." && pwd)

# build: compiler, meson, libraries
pkgs="gcc meson ninja-build pkg-config gettext
libglib2.0-dev libjson-glib-dev libcurl4-openssl-dev libssl-dev libgmime-3.0-dev libopendkim-dev
libsecret-1-dev libnss3-dev"
# tests: real servers and independent implementations to cross-check against
pkgs="$pkgs openssl pebble valgrind python3 python3-cryptography python3-josepy python3-acme
python3-dkim python3-aiosmtpd dnsmasq-base gnome-keyring dbus-daemon libnss3-tools
thunderbird dovecot-imapd nodejs"
# the options page's screenshots (ME_TEST_SCREENSHOTS, tests/test-tb-e2e.c): Thunderbird on an
# X server of the test's own, dumped with xwd
pkgs="$pkgs xvfb x11-apps"
# the interop suite (tests/interop): Postfix, OpenDKIM and Dovecot's LMTP in front of
# acme2certifier, and the Python modules acme2certifier imports (Debian's, no pip)
pkgs="$pkgs dovecot-lmtpd postfix opendkim opendkim-tools patch python3-jwcrypto python3-dateutil
python3-pyasn1 python3-pyasn1-modules python3-werkzeug python3-socks python3-openssl python3-dnspython
python3-tz python3-requests python3-idna"
# the Debian package (debian/, contrib/deb-test.sh): the packaging tools, and what the
# package's build-time tests need beyond the above (man, col, strings, unzip: the checks suite)
pkgs="$pkgs dpkg-dev debhelper lintian fakeroot man-db bsdextrautils binutils unzip"
# benchmarks (tests/bench/): the peer clients and the measuring tools the shared harness uses
pkgs="$pkgs uacme lego certbot dehydrated hyperfine time strace iproute2 curl"

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "setup: installing:$missing" >&2
	# root for apt-get, and for nothing else: a normal user's build and tests need none
	sudo=
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "setup: installing packages needs root, and sudo is not installed; as root run: apt-get install$missing" >&2
			exit 1
		fi
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not set itself up as the machine's mail system: the interop suite gives it
	# a configuration and queue of its own, and nothing else here needs one
	case " $missing " in
	*" postfix "*)
		echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
		;;
	esac
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >&2
else
	echo "setup: all packages present" >&2
fi

cd "$top"
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "$@" >&2
else
	meson setup "$builddir" "$@" >&2
fi
