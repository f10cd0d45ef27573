#!/bin/sh
# deb-test.sh - the Debian package, built and installed as an administrator would (issue 17):
#
#   1. dpkg-checkbuilddeps, then dpkg-buildpackage -us -uc -b on a copy of the tree (its
#      build runs the unit and checks suites, debian/rules); lintian must report no error
#   2. apt-get install ./mailenroll_*.deb ./webext-mailenroll_*.deb, which pulls every
#      runtime dependency
#   3. as an unprivileged user, with a clean environment and Debian's PATH for users:
#      mailenroll doctor runs and exits with a documented status (0, or 1 when a check
#      failed) and finds the system manifest and the helper it names ("host-manifest" ok);
#      and the helper that manifest's "path" names answers hello to one native-messaging
#      frame, started the way Thunderbird starts it (messaging/PROTOCOL.md §4)
#   4. apt-get purge: none of the files the packages installed is left, and nothing else
#      new under /etc, /usr or /var/lib/systemd either (the timer's enablement included)
#
# Needs root (apt-get, the test user); CI (.ci/run) runs it as root.  The packages and the
# build log stay in DIR (default: a temporary folder, removed at the end):
#
#   contrib/deb-test.sh [DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
user=mailenroll-deb
user_path=/usr/local/bin:/usr/bin:/bin:/usr/games

say() { echo "deb-test: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs and purges the packages and creates the user $user"
for tool in dpkg-buildpackage dpkg-checkbuilddeps lintian fakeroot dh; do
	command -v $tool >/dev/null 2>&1 ||
		die "$tool is missing; run contrib/setup.sh (Debian: dpkg-dev, debhelper, lintian, fakeroot)"
done

if [ $# -gt 0 ]; then
	work=$1
	mkdir -p "$work"
	keep=1
else
	work=$(mktemp -d)
	keep=0
fi
work=$(cd "$work" && pwd)
created_user=0
cleanup() {
	[ $created_user -eq 1 ] && /usr/sbin/userdel --remove "$user" 2>/dev/null
	[ $keep -eq 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# apt's unprivileged _apt user reads the .deb files from here
chmod 755 "$work"

# ---- 1. build, on a copy without the build folders (the copy is the package's source)
[ -f "$top/debian/control" ] || die "$top has no debian/control: this tree has no Debian packaging"
say "building the packages in $work"
rm -rf "$work/src"
mkdir "$work/src"
tar -C "$top" --exclude='./_build*' --exclude='./.git' --exclude='./obj-*' --exclude='./debian/tmp' \
	--exclude='./debian/.debhelper' --exclude='./debian/mailenroll' --exclude='./debian/webext-mailenroll' \
	-cf - . | tar -C "$work/src" -xf -
(cd "$work/src" && dpkg-checkbuilddeps) || die "Build-Depends are not installed (above); run contrib/setup.sh"
if ! (cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
	tail -n 60 "$work/build.log" >&2
	die "dpkg-buildpackage failed; the whole log is $work/build.log"
fi
changes=$(ls "$work"/mailenroll_*.changes)
say "lintian $(basename "$changes")"
lintian --info --display-info --fail-on error "$changes" >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log" >&2
	die "lintian reports an error"
}
sed 's/^/    /' "$work/lintian.log" >&2
for deb in "$work"/*.deb; do
	say "$(basename "$deb"):"
	dpkg -c "$deb" | awk '{ print "    " $1 " " $6 $7 $8 }' >&2
done

# ---- 2. install, from a known state
# the test user first: useradd changes /etc, which must not count as left behind
if ! id -u "$user" >/dev/null 2>&1; then
	/usr/sbin/useradd --create-home --shell /bin/sh "$user"
	created_user=1
fi
snapshot() {  # snapshot FILE: every path under /etc, /usr and the systemd helpers' state
	find /etc /usr /var/lib/systemd -xdev 2>/dev/null | LC_ALL=C sort >"$1"
}
apt-get purge -y -qq mailenroll webext-mailenroll >/dev/null 2>&1 || true
snapshot "$work/before"
say "apt-get install the packages"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$work"/mailenroll_*.deb "$work"/webext-mailenroll_*.deb \
	>"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get install failed"; }
dpkg -L mailenroll webext-mailenroll | LC_ALL=C sort -u >"$work/installed"
manifest=/usr/lib/mozilla/native-messaging-hosts/org.mailenroll.helper.json
[ -f "$manifest" ] || die "the package did not install $manifest"
[ -L /etc/systemd/user/timers.target.wants/mailenroll-renew.timer ] ||
	die "the renewal timer is not enabled for users (/etc/systemd/user/timers.target.wants/)"

# ---- 3. as a normal user
home=$(getent passwd "$user" | cut -d: -f6)
as_user() {
	/usr/sbin/runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" PATH="$user_path" \
		LANG=C.UTF-8 "$@"
}

say "mailenroll doctor as $user"
status=0
as_user sh -c 'cd && mailenroll doctor --json' >"$work/doctor.json" 2>"$work/doctor.err" || status=$?
cat "$work/doctor.json" "$work/doctor.err" | sed 's/^/    /' >&2
case $status in
0 | 1) ;;
*) die "mailenroll doctor exited with $status; its documented statuses are 0 and 1" ;;
esac
/usr/bin/python3 - "$work/doctor.json" "$manifest" <<'EOF' || die "mailenroll doctor did not find the installed helper"
import json, sys
# the manifest checks are "host-manifest:system" and "host-manifest:user" (helper/cli/doctor.c)
hosts = [c for c in json.load(open(sys.argv[1])) if c["check"].split(":")[0] == "host-manifest"]
if not any(c["status"] == "ok" and sys.argv[2] in c["message"] for c in hosts):
    sys.exit("no host-manifest check found %s and the helper it names: %s" % (sys.argv[2], hosts))
print("    host-manifest: ok (%s)" % sys.argv[2], file=sys.stderr)
EOF

say "mailenroll-helper answers hello through $manifest, as $user"
as_user /usr/bin/python3 - "$manifest" <<'EOF' || die "the helper the manifest names did not answer hello"
# start the helper the manifest names as Thunderbird does (the manifest's path, then the
# manifest and the extension id as arguments), send one frame and read one
import json, struct, subprocess, sys
manifest_path = sys.argv[1]
manifest = json.load(open(manifest_path))
ext = manifest["allowed_extensions"][0]
request = {"jsonrpc": "2.0", "id": 1, "method": "hello",
           "params": {"protocol": [1], "client": "deb-test/1"}}
body = json.dumps(request).encode()
proc = subprocess.Popen([manifest["path"], manifest_path, ext], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = proc.communicate(struct.pack("=I", len(body)) + body, timeout=30)
if len(out) < 4:
    sys.exit("no frame from %s (exit status %d): %s" % (manifest["path"], proc.returncode, err.decode()))
(length,) = struct.unpack("=I", out[:4])
answer = json.loads(out[4:4 + length])
if answer.get("id") != 1 or answer.get("result", {}).get("protocol") != 1:
    sys.exit("unexpected answer: %s" % answer)
if proc.returncode != 0:
    sys.exit("the helper exited with %d after its answer" % proc.returncode)
print("    %s: %s" % (manifest["path"], json.dumps(answer)), file=sys.stderr)
EOF

# ---- 4. purge
say "apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mailenroll webext-mailenroll >>"$work/apt.log" 2>&1 ||
	{ cat "$work/apt.log" >&2; die "apt-get purge failed"; }
left=0
while IFS= read -r path; do
	# a folder the packages share with the system (/usr/bin, /usr/share/man/man1) stays
	[ -e "$path" ] && [ ! -d "$path" ] && { say "left behind: $path"; left=1; }
done <"$work/installed"
snapshot "$work/after"
# new since before the install, and not owned by a package (a dependency apt pulled stays)
LC_ALL=C comm -13 "$work/before" "$work/after" | while IFS= read -r path; do
	dpkg -S "$path" >/dev/null 2>&1 || echo "$path"
done >"$work/new"
if [ -s "$work/new" ]; then
	sed 's/^/deb-test: left behind: /' "$work/new" >&2
	left=1
fi
[ $left -eq 0 ] || die "apt-get purge left files behind"
say "ok: built, lintian-clean of errors, installed, doctor and hello as $user, purged without a trace"
