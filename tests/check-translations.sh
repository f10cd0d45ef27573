#!/bin/sh
# check-translations.sh SRCDIR - every catalogue named in po/LINGUAS translates every message of
# a template made fresh from the sources (so a new _() string fails here until it is translated),
# and its placeholders match the English ones.
#
# The template is made like meson's i18n.gettext(preset: 'glib') makes po/mailenroll.pot (see
# "meson --internal gettext pot" in the build directory's build.ninja); only Debian's gettext tools
# are used. To bring a catalogue up to date:
#   meson setup BUILD && ninja -C BUILD mailenroll-pot && msgmerge --update po/LL.po po/mailenroll.pot
set -eu
src=${1:-.}
cd "$src"
export LC_ALL=C.UTF-8

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

xgettext --package-name=mailenroll -f po/POTFILES.in -D . -k_ -o "$tmp/mailenroll.pot" \
	--from-code=UTF-8 --add-comments \
	--keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
	--keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
	--flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
	--flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
	--flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
	--flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
	--flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format --flag=g_print:1:c-format \
	--flag=g_printerr:1:c-format --flag=g_printf:1:c-format --flag=g_fprintf:2:c-format \
	--flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format
total=$(msgattrib --force-po --no-obsolete "$tmp/mailenroll.pot" | grep -c '^msgid ' || true)
total=$((total - 1)) # the header

# the messages of a PO file, one a line: "  FILE:LINE: msgid" (\n and \" stay escaped)
list() {
	awk '
		/^#: / { if (ref == "") ref = $2 }
		/^msgid / { mode = 1; id = substr($0, 8, length($0) - 8); next }
		/^"/ { if (mode == 1) id = id substr($0, 2, length($0) - 2); next }
		/^(msgid_plural|msgstr)/ {
			if (mode == 1 && id != "")
				printf "    %s%s\"%s\"\n", ref, (ref == "" ? "" : ": "), id
			mode = 0; ref = ""
		}
		/^$/ { ref = "" }
	' "$1"
}

# problem TITLE FILE: print TITLE and the messages in FILE, if there are any; true if there were
problem() {
	if [ -n "$(list "$2")" ]; then
		echo "  $1:"
		list "$2"
		return 0
	fi
	return 1
}

langs=$(sed 's/#.*//' po/LINGUAS)
status=0
if [ -z "$langs" ]; then
	echo "not ok: po/LINGUAS names no language"
	exit 1
fi
for po in po/*.po; do
	[ -e "$po" ] || continue
	l=$(basename "$po" .po)
	if ! echo " $langs " | tr '\n' ' ' | grep -q " $l "; then
		echo "not ok: $po is not in po/LINGUAS, so it is never built or installed"
		status=1
	fi
done
for l in $langs; do
	po=po/$l.po
	if [ ! -f "$po" ]; then
		echo "not ok: po/LINGUAS names $l, but there is no $po"
		status=1
		continue
	fi
	bad=0
	# --check-format: every translation keeps the placeholders (%s, %u, %2$s, ...) of its msgid
	if ! msgfmt --check --check-format -o /dev/null "$po" 2>"$tmp/msgfmt.err"; then
		echo "not ok: $po: msgfmt --check --check-format fails:"
		sed 's/^/    /' "$tmp/msgfmt.err"
		bad=1
	fi
	# the .mo is built from the .po as it is: only its own live, finished entries count
	msgattrib --force-po --translated --no-fuzzy --no-obsolete -o "$tmp/done.po" "$po"
	msgmerge --force-po --quiet --no-fuzzy-matching -o "$tmp/merged.po" "$tmp/done.po" "$tmp/mailenroll.pot"
	msgattrib --force-po --untranslated --no-obsolete -o "$tmp/todo.po" "$tmp/merged.po"
	if [ -n "$(list "$tmp/todo.po")" ]; then
		echo "not ok: $po lacks a finished translation of messages in the sources:"
		# say why, for each kind
		msgmerge --force-po --quiet --no-fuzzy-matching -o "$tmp/m.po" "$po" "$tmp/mailenroll.pot"
		msgattrib --force-po --only-fuzzy --no-obsolete -o "$tmp/fuzzy.po" "$tmp/m.po"
		problem "fuzzy (check the translation, then remove the fuzzy flag)" "$tmp/fuzzy.po" || true
		msgattrib --force-po --only-obsolete "$po" | msgattrib --force-po --clear-obsolete -o "$tmp/obs.po" -
		msgcomm --force-po --more-than=1 -o "$tmp/obsolete.po" "$tmp/obs.po" "$tmp/mailenroll.pot" 2>/dev/null ||
			: >"$tmp/obsolete.po"
		problem "obsolete (#~) in $po although the sources use them" "$tmp/obsolete.po" || true
		msgattrib --force-po --untranslated --no-fuzzy --no-obsolete -o "$tmp/new.po" "$tmp/m.po"
		problem "untranslated or missing (new or changed strings)" "$tmp/new.po" || true
		bad=1
	fi
	# entries the sources no longer have do no harm, but are worth a msgmerge
	msgattrib --force-po --only-obsolete "$tmp/merged.po" | msgattrib --force-po --clear-obsolete -o "$tmp/stale.po" -
	stale=$(list "$tmp/stale.po" | wc -l)
	if [ "$bad" = 0 ]; then
		echo "ok: $po translates all $total messages"
	else
		status=1
	fi
	[ "$stale" = 0 ] || echo "  note: $stale message(s) of $po are no longer in the sources"
done
exit $status
