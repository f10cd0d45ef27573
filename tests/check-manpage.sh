#!/bin/sh
# check-manpage.sh MAN MAILENROLL - the man page renders without warnings and matches the
# command table: every command `mailenroll --help` lists has a subsection under COMMANDS that
# names every option `mailenroll COMMAND --help` shows and no option the command does not
# take; the global options are under OPTIONS; and the man page names no command or option
# the table does not have.  So the two cannot drift apart.
set -eu
man_page=$1
cli=$2
fail=0
export LC_ALL=C.UTF-8

warnings=$(MANWIDTH=80 man --warnings -l "$man_page" 2>&1 >/dev/null || true)
if [ -n "$warnings" ]; then
	echo "not ok: $man_page renders with warnings:"
	echo "$warnings"
	fail=1
fi
# wide, and neither hyphenated nor justified, so that every option is one word on one line
text=$(MANWIDTH=200 man --nh --nj -l "$man_page" 2>/dev/null | col -b)

# the long options on the option lines of a --help, except GLib's own --help family
help_options() {
	printf '%s\n' "$1" | grep -E '^[[:space:]]+-' | grep -oE -- '--[a-z][a-z-]*' |
		grep -vE -- '^--help' | sort -u || true
}
# the long options a piece of the man page names
named_options() {
	printf '%s\n' "$1" | grep -oE -- '--[a-z][a-z-]*' | grep -vE -- '^--help' | sort -u || true
}
# the text of section $1 (a heading at the left margin), without the heading
section() {
	printf '%s\n' "$text" | awk -v name="$1" '/^[A-Z]/ { on = ($0 == name); next } on'
}
# the subsections of COMMANDS (headings indented by three) whose first word is $1
subsections() {
	section COMMANDS | awk -v verb="$1" '/^   [^ ]/ { on = ($1 == verb) } on'
}
contains() {
	printf '%s\n' "$1" | grep -qxF -- "$2"
}

main_help=$("$cli" --help)
verbs=$(printf '%s\n' "$main_help" | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
[ -n "$verbs" ] || { echo "not ok: no commands found in mailenroll --help"; exit 1; }
globals=$(help_options "$main_help")
all_options=$globals

for o in $globals; do
	section OPTIONS | grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" ||
		{ echo "not ok: the global option $o is not under OPTIONS in $man_page"; fail=1; }
done
for v in $verbs; do
	if ! verb_help=$("$cli" "$v" --help); then
		echo "not ok: mailenroll $v --help fails"
		fail=1
		continue
	fi
	printf '%s\n' "$verb_help" | grep -q -- "mailenroll $v " ||
		{ echo "not ok: mailenroll $v --help does not show its usage"; fail=1; }
	options=$(help_options "$verb_help")
	all_options=$(printf '%s\n%s\n' "$all_options" "$options" | sort -u)
	doc=$(subsections "$v")
	if [ -z "$doc" ]; then
		echo "not ok: command '$v' has no subsection under COMMANDS in $man_page"
		fail=1
		continue
	fi
	for o in $options; do
		# a global option the command takes too is documented under OPTIONS
		contains "$globals" "$o" && continue
		printf '%s\n' "$doc" | grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" ||
			{ echo "not ok: '$v $o' is not documented under '$v' in $man_page"; fail=1; }
	done
	for o in $(named_options "$doc"); do
		contains "$options" "$o" ||
			{ echo "not ok: $man_page documents '$v $o', which mailenroll $v does not take"; fail=1; }
	done
done
for v in $(section COMMANDS | awk '/^   [^ ]/ { print $1 }' | sort -u); do
	contains "$verbs" "$v" || { echo "not ok: $man_page documents command '$v', which mailenroll does not have"; fail=1; }
done
for o in $(named_options "$text"); do
	contains "$all_options" "$o" || { echo "not ok: $man_page names option '$o', which no command takes"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $(echo "$verbs" | wc -w) commands, $(echo "$all_options" | wc -w) options documented"
exit $fail
