#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 2, killed by the host (--kill-after): the
# volumes come back by udev, then flushed writes to the STD p11s (mirror
# leg, p11b1 attached) and to the split p11b2 until the power cut.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm

settle_vols p11s p11b1 p11b2
for v in p11s p11b1 p11b2; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
done
put_sess p11s p11b1
put_sess p11s p11b2
TS=$TRACK_SIZE
SCRATCH=$((800 * TS))
write_loop S:/dev/bcv/p11s:$((100 * TS)) B2:/dev/bcv/p11b2:$((100 * TS))
