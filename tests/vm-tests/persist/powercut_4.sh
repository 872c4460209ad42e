#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 4, cut by the guest itself mid-copy: a full
# establish of p11b1 (throttled, so that it is still copying at the cut)
# and a reestablish of p11b2, while flushed writes go to p11s.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm

settle_vols p11s p11b1 p11b2
for v in p11s p11b1 p11b2; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
	s=$(vol_sysfs $v) && [ -w "$s/bcv/copy_throttle" ] ||
		fail "no copy_throttle for $v: cannot keep a copy running"
	echo 1 > "$s/bcv/copy_throttle" || fail "cannot throttle $v"
done
[ $# -eq 1 ] || fail "usage: powercut_4.sh KILL_AFTER_SECONDS"
# One copy job at a time, at 1 % of the time, so that the copy of 1024
# tracks is still running when this boot cuts its own power: once the
# writes loop, after 10 rounds, the copies start; when a quarter or more of
# p11b1 is copied (and some is not), the guest cuts the power itself
# (power_cut).  KILL_AFTER_SECONDS is only the runner's upper bound.
p=/sys/module/bcv/parameters/copy_jobs
[ -w $p ] && echo 1 > $p || fail "cannot set copy_jobs to 1"
TS=$TRACK_SIZE
SCRATCH=$((800 * TS))
started=0
n=0
start_copies() {
	local st inv tracks
	n=$((n + 1))
	if [ $started = 0 ] && [ $n -ge 10 ]; then
		started=1
		bcv_must establish p11s p11b1
		bcv_must reestablish p11s p11b2
		put_sess p11s p11b1
		put_sess p11s p11b2
		put copies_started "$n"
		return
	fi
	[ $started = 1 ] || return 0
	st=$(sess_field p11s p11b1 state)
	inv=$(sess_field p11s p11b1 invalid_tracks)
	tracks=$(sess_field p11s p11b1 tracks)
	put b1_state "$st $inv"
	if [ "$st" = syncinprog ] && [ "$inv" -gt 0 ] &&
	   [ "$inv" -le $((tracks * 3 / 4)) ]; then
		put cut_now "$st $inv"
		power_cut
	fi
}
STATE_EVERY=1
LOOP_HOOK=start_copies
write_loop S:/dev/bcv/p11s:$((300 * TS))
