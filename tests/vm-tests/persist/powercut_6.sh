#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 6, cut by the guest itself: flushed writes go to the
# split p11b1; a throttled full restore of p11s from
# p11b2 starts, and is still running at the cut.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm
[ $# -eq 1 ] || fail "usage: powercut_6.sh KILL_AFTER_SECONDS"

settle_vols p11s p11b1 p11b2
for v in p11s p11b1 p11b2; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
	s=$(vol_sysfs $v) && [ -w "$s/bcv/copy_throttle" ] ||
		fail "no copy_throttle for $v: cannot keep a copy running"
	echo 1 > "$s/bcv/copy_throttle" || fail "cannot throttle $v"
done
p=/sys/module/bcv/parameters/copy_jobs
[ -w $p ] && echo 1 > $p || fail "cannot set copy_jobs to 1"
put sum.b2 "$(dev_sum /dev/bcv/p11b2)"
TS=$TRACK_SIZE
SCRATCH=$((800 * TS))
# As in powercut_4.sh: the restore starts after 10 rounds of writes; once
# a sixteenth or more of it is done (and some is not), the guest cuts its
# own power.
started=0
n=0
start_restore() {
	local st inv tracks
	n=$((n + 1))
	if [ $started = 0 ] && [ $n -ge 10 ]; then
		started=1
		bcv_must restore p11s p11b2
		put_sess p11s p11b2
		put copies_started "$n"
		return
	fi
	[ $started = 1 ] || return 0
	st=$(sess_field p11s p11b2 state)
	inv=$(sess_field p11s p11b2 invalid_tracks)
	tracks=$(sess_field p11s p11b2 tracks)
	put b2_state "$st $inv"
	if [ "$st" = restinprog ] && [ "$inv" -gt 0 ] &&
	   [ "$inv" -le $((tracks * 15 / 16)) ]; then
		put cut_now "$st $inv"
		power_cut
	fi
}
STATE_EVERY=1
LOOP_HOOK=start_restore
write_loop B1:/dev/bcv/p11b1:$((300 * TS))
