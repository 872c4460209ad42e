#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 7, after the power cut during a restore: the
# volumes assemble and report the unclean shutdown, the restore goes on
# (the BCV is the source), p11s ends with p11b2's data, both legs alike.

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
TS=$TRACK_SIZE
bcvctl list
bcvctl query
for v in p11s p11b1 p11b2; do
	q=$(vol_flag "$v" recovered)
	[ "$q" = true ] && ok "list --json: $v recovered" ||
		_bad "list --json: $v: recovered = '$q', want true"
done
put_sess p11s p11b2
put area.B1 "$(area_sum /dev/bcv/p11b1 $((300 * TS)))"
bcv_must wait p11s p11b2
check_sess p11s p11b2 state=restored invalid_tracks=0
wait_legs p11s
put sum.s "$(dev_sum /dev/bcv/p11s)"
len=$(vol_bytes p11s)
check_same "p11s's two legs hold the same data" "${DISKS[0]}" "${DISKS[1]}" "$len"
bcv_must split p11s p11b2
cmp_vols "p11b2 is byte-identical to p11s after the restore" p11s p11b2
udevadm settle
bcv_must stop --all
put stopped yes
pass
