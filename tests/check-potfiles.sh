#!/bin/sh
# check-potfiles.sh SRCDIR - every source file with translatable strings is in po/POTFILES.in,
# and every file listed there exists
set -eu
src=${1:-.}
cd "$src"
status=0
for f in $(grep -l -E '\b_\(|\bN_\(' helper/*/*.c 2>/dev/null); do
	if ! grep -qx "$f" po/POTFILES.in; then
		echo "not ok: $f has translatable strings but is missing from po/POTFILES.in"
		status=1
	fi
done
for f in $(grep -v '^#' po/POTFILES.in | grep .); do
	if [ ! -f "$f" ]; then
		echo "not ok: po/POTFILES.in lists $f, which does not exist"
		status=1
	fi
done
[ $status = 0 ] && echo "ok: po/POTFILES.in is complete"
exit $status
