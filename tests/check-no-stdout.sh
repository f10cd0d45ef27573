#!/bin/sh
# check-no-stdout.sh SRCDIR - in mailenroll-helper, stdout is the native-messaging wire:
# no file of the core library (helper/lib/) or of the host (helper/host/) may write to stdout
# (g_print, printf, puts, putchar, stdout).  The CLI (helper/cli/) and the host's own
# --version/--help output (host-main.c) are the only writers, and host-main.c moves the wire
# off fd 1 before it serves.
set -eu
cd "$1"
fail=0
for f in helper/lib/*.c helper/host/*.c; do
	case $f in helper/host/host-main.c) continue ;; esac
	# code lines only: comments may talk about stdout
	if grep -nE '\bg_print[[:space:]]*\(|[^a-z_]printf[[:space:]]*\(|\bputs[[:space:]]*\(|\bputchar[[:space:]]*\(|[(,][[:space:]]*stdout[[:space:]]*[),]' "$f" |
		grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)'; then
		echo "not ok: $f writes to stdout, which is the native-messaging wire in mailenroll-helper"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "ok: the core library never writes to stdout"
exit $fail
