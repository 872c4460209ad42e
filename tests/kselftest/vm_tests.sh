#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM suite as one kselftest program (TEST_PROGS of ./Makefile): bcv.ko
# for each kernel of BCV_KERNELS (default 6.1) and the tools are built,
# then tests/check runs every tests/vm-tests test in a throw-away QEMU
# guest of its own on each of those kernels (nothing is loaded into the
# kernel this runs on).  BCV_CHECK_ARGS are more arguments for tests/check:
# test patterns (errors_03, 'test_data*'), -j N.  The exit status is
# tests/check's: 0 iff nothing failed; 4 (skip) without a bcv tree.
set -u
top=${BCV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ ! -x "$top/tests/check" ]; then
	echo "no bcv source tree at $top: set BCV_SRC"
	exit 4
fi

args=()
for k in ${BCV_KERNELS:-6.1}; do
	make -C "$top" -s --no-print-directory module KVER="$k" || exit 1
	args+=(--kernel "$k")
done
make -C "$top" -s --no-print-directory tools || exit 1
# shellcheck disable=SC2086	# BCV_CHECK_ARGS: words
exec "$top/tests/check" "${args[@]}" ${BCV_CHECK_ARGS:-}
