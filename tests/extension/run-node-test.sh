#!/bin/sh
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-node-test.sh NODE TEST.mjs - runs one extension unit test with `node --test`;
# exit status 77 (meson: skipped) when NODE is empty or not there (the tests need
# node 18 or later, Debian's nodejs package).
node=$1
test=$2
if [ -z "$node" ] || ! [ -x "$node" ]; then
	echo "node not found; install Debian's nodejs to run the extension tests"
	exit 77
fi
if ! "$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
	echo "node $("$node" --version) is older than 18 (no node --test); skipping"
	exit 77
fi
exec "$node" --test "$test"
