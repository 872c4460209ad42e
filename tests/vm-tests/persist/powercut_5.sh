#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 5, after the power cut during a copy: the
# volumes assemble and report the unclean shutdown, the copies go on, and
# both BCVs and both legs of the STD end byte-identical to p11s.  Then
# 2 MiB of new data on the split p11b2 (for the restore of boot 6).

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
if bcvctl query p11s 2>&1 | grep -q 'recovered after an unclean shutdown'; then
	ok "query p11s: recovered after an unclean shutdown"
else
	_bad "query p11s does not say 'recovered after an unclean shutdown'"
fi
put_sess p11s p11b1
put_sess p11s p11b2
wait_legs p11s
put area.S "$(area_sum /dev/bcv/p11s $((300 * TS)))"
for b in p11b1 p11b2; do
	bcv_must wait p11s $b
	check_sess p11s $b state=synchronized invalid_tracks=0
	bcv_must split p11s $b
	cmp_vols "$b is byte-identical to p11s" p11s $b
done
len=$(vol_bytes p11s)
check_same "p11s's two legs hold the same data" "${DISKS[0]}" "${DISKS[1]}" "$len"
# For the cut during a restore: p11b2 gets data of its own.
wr /dev/bcv/p11b2 b2own $((500 * TS)) $((2 << 20))
put sum.b2 "$(dev_sum /dev/bcv/p11b2)"
udevadm settle
bcv_must stop --all
put stopped yes
pass
