#!/bin/sh
# check-manpage-helper.sh MAN HELPER - man mailenroll-helper renders without warnings and
# matches the helper's command line: every option `mailenroll-helper --help` shows is under
# OPTIONS, and the page names no option the helper does not take.  The page is installed
# beside mailenroll.1 (data/meson.build) and shipped in the Debian package (issue 17).
set -eu
man_page=$1
helper=$2
fail=0
export LC_ALL=C.UTF-8

if [ ! -r "$man_page" ]; then
	echo "not ok: $man_page is missing: mailenroll-helper has no man page"
	exit 1
fi
warnings=$(MANWIDTH=80 man --warnings -l "$man_page" 2>&1 >/dev/null || true)
if [ -n "$warnings" ]; then
	echo "not ok: $man_page renders with warnings:"
	echo "$warnings"
	fail=1
fi
text=$(MANWIDTH=200 man --nh --nj -l "$man_page" 2>/dev/null | col -b)
printf '%s\n' "$text" | grep -q '^NAME' || { echo "not ok: $man_page has no NAME section"; fail=1; }

help=$("$helper" --help)
# the long options on the option lines of --help, the --help family included
options=$(printf '%s\n' "$help" | grep -E '^[[:space:]]+-' | grep -oE -- '--[a-z][a-z-]*' | sort -u)
[ -n "$options" ] || { echo "not ok: no options found in mailenroll-helper --help"; exit 1; }
section_options=$(printf '%s\n' "$text" | awk '/^[A-Z]/ { on = ($0 == "OPTIONS"); next } on')
for o in $options; do
	case $o in --help-*) continue ;; esac
	printf '%s\n' "$section_options" | grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" ||
		{ echo "not ok: the option $o is not under OPTIONS in $man_page"; fail=1; }
done
for o in $(printf '%s\n' "$text" | grep -oE -- '(^|[[:space:]])--[a-z][a-z-]*' | tr -d ' \t' | sort -u); do
	printf '%s\n' "$options" | grep -qxF -- "$o" ||
		{ echo "not ok: $man_page names option '$o', which mailenroll-helper does not take"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(echo "$options" | wc -w) options of mailenroll-helper documented"
exit $fail
