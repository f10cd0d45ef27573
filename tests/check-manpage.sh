#!/bin/sh
# check-manpage.sh MAN MAILENROLL - the man page renders without warnings and names every
# command and every option that `mailenroll --help` shows, so the two cannot drift apart
set -eu
man_page=$1
cli=$2
fail=0

warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man_page" 2>&1 >/dev/null || true)
if [ -n "$warnings" ]; then
	echo "not ok: $man_page renders with warnings:"
	echo "$warnings"
	fail=1
fi
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$man_page" 2>/dev/null | col -b)
help=$(LC_ALL=C.UTF-8 "$cli" --help-all)

# the commands: the lines under "Commands:" up to the next blank line
commands=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u)
[ -n "$commands" ] || { echo "not ok: no commands found in --help"; exit 1; }
for c in $commands; do
	printf '%s\n' "$text" | grep -q -- "$c" || { echo "not ok: command '$c' is not in $man_page"; fail=1; }
done
# the long options, except GLib's own --help family
options=$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | grep -v -- '^--help' | sort -u)
for o in $options; do
	printf '%s\n' "$text" | grep -q -- "$o" || { echo "not ok: option '$o' is not in $man_page"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(echo $commands | wc -w) commands, $(echo $options | wc -w) options documented"
exit $fail
