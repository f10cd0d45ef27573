#!/bin/sh
# test.sh - the one command that installs what is missing, builds and runs every test.
#
#   contrib/test.sh            # the README's test command
#   contrib/test.sh --full     # also an ASan/UBSan build and the valgrind setup (CI runs this)
#
# Ends with a line "N passed, N failed, N skipped" over every suite that ran.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
full=0
[ "${1:-}" = "--full" ] && full=1
werror=
[ -n "${CI:-}" ] && werror=-Dwerror=true

summary() {  # summary BUILDDIR... -> one closing line over all their test logs
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0, "EXPECTEDFAIL": 0, "UNEXPECTEDPASS": 0}
for builddir in sys.argv[1:]:
    try:
        with open(f"{builddir}/meson-logs/testlog.json") as f:
            for line in f:
                counts[json.loads(line)["result"]] = counts.get(json.loads(line)["result"], 0) + 1
    except FileNotFoundError:
        counts["ERROR"] += 1
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print(f"{passed} passed, {failed} failed, {counts['SKIP']} skipped")
PY
}

status=0
./contrib/setup.sh _build $werror
meson test -C _build --print-errorlogs || status=1
dirs=_build
if [ $full = 1 ]; then
	./contrib/setup.sh _build-asan -Db_sanitize=address,undefined -Db_lundef=false $werror
	# the suites with C code of ours in them; test-ca (Python), extension (node) and checks
	# (scripts over the tree) run no instrumented code and passed in the plain run already
	meson test -C _build-asan --print-errorlogs --suite unit --suite servers --suite thunderbird \
		--suite fuzz --suite interop || status=1
	# valgrind runs in the plain build's tree; its log replaces the plain one, so keep a copy
	cp _build/meson-logs/testlog.json _build/meson-logs/testlog-plain.json
	# every C test whose code under test runs in the test process (or, as in host and
	# doctor, in a child the test starts under valgrind itself): unit, servers and
	# thunderbird, but not tb-e2e, where our code runs inside Thunderbird's children (not
	# ours to check, and valgrind does not follow them), nor cli and host-enroll, which
	# drive the built mailenroll and mailenroll-helper as plain children: under valgrind
	# only their test drivers would be checked, for minutes; the ASan build runs both with
	# instrumented binaries.  checks, fuzz, test-ca and extension are not C tests of ours,
	# nor is demo-env (a shell script in servers)
	valgrind_tests=$(meson test -C _build --no-rebuild --list --suite unit --suite servers --suite thunderbird |
		sed -n 's|^[^ ]* / ||p' | grep -vx -e tb-e2e -e demo-env -e cli -e host-enroll)
	if [ -n "$valgrind_tests" ]; then
		# shellcheck disable=SC2086
		meson test -C _build --setup valgrind --print-errorlogs $valgrind_tests || status=1
	else
		echo "test.sh: no tests to run under valgrind" >&2
		status=1
	fi
	mkdir -p _build-valgrind/meson-logs
	cp _build/meson-logs/testlog-valgrind.json _build-valgrind/meson-logs/testlog.json 2>/dev/null || true
	cp _build/meson-logs/testlog-plain.json _build/meson-logs/testlog.json
	dirs="_build _build-asan _build-valgrind"
fi
# shellcheck disable=SC2086
summary $dirs
exit $status
