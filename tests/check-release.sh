#!/bin/sh
# check-release.sh MAILENROLL HELPER XPI... - what ships has no test door (docs/standards.md
# N-07, P-08): the installed binaries and .xpi files hold none of the test hooks.  The tests
# run variants of their own that have them (mailenroll-test, mailenroll-helper-test and
# mailenroll-test.xpi; tests/README.md, "The test builds").
#
#   binaries  strings -a: no MAILENROLL_TEST_ variable, no MAILENROLL_SYSCONFDIR, no test
#             control (its messages, its functions' names) and no "test." method prefix
#   .xpi      unzip -l: no bg/testcontrol.mjs; the files unpacked: no TestControl, no
#             testcontrol.mjs, no "test.*" method or message, no ME_TEST_HOOKS marker
#
# Built with -Dtest-hooks=true ($ME_TEST_HOOKS_OPTION=1) the binaries are meant to have
# them: the check is skipped then (exit status 77).
set -eu
if [ "${ME_TEST_HOOKS_OPTION:-0}" = 1 ]; then
	echo "skip: built with -Dtest-hooks=true, so the installed binaries carry the test hooks"
	exit 77
fi
for tool in strings unzip; do
	command -v $tool >/dev/null 2>&1 || { echo "skip: $tool is missing (Debian: binutils, unzip)"; exit 77; }
done
[ $# -ge 3 ] || { echo "usage: check-release.sh MAILENROLL HELPER XPI..." >&2; exit 2; }

# what none of it may hold; each an extended regular expression
binary_patterns='MAILENROLL_TEST_
MAILENROLL_SYSCONFDIR
[Tt]est[ _]?control
(^|[^A-Za-z0-9_.-])test\.([A-Za-z]|$)'
xpi_patterns='MAILENROLL_TEST_
MAILENROLL_SYSCONFDIR
[Tt]est[ _-]?[Cc]ontrol
ME_TEST_HOOKS
["'\''`]test\.'

fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

check_text() {  # check_text WHAT FILE PATTERNS
	echo "$3" | while IFS= read -r pattern; do
		if grep -nE -e "$pattern" "$2" >"$work/hits"; then
			echo "not ok: $1 holds /$pattern/:"
			head -n 5 "$work/hits" | sed 's/^/    /'
			echo fail >>"$work/failed"
		fi
	done
}

for bin in "$1" "$2"; do
	strings -a "$bin" >"$work/strings"
	check_text "$bin" "$work/strings" "$binary_patterns"
done
shift 2

for xpi in "$@"; do
	name=$(basename "$xpi")
	if unzip -Z1 "$xpi" | grep -n 'testcontrol'; then
		echo "not ok: $name has the test control's module"
		echo fail >>"$work/failed"
	fi
	rm -rf "$work/x"
	mkdir "$work/x"
	unzip -q "$xpi" -d "$work/x"
	for f in $(cd "$work/x" && find . -type f | sort); do
		check_text "$name:${f#./}" "$work/x/$f" "$xpi_patterns"
	done
done

[ -e "$work/failed" ] && fail=1
[ $fail -eq 0 ] && echo "ok: the release binaries and .xpi files hold no test hook"
exit $fail
