#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 6, killed by the host: flushed writes go to the
# split p11b1; 15 s before the cut a throttled full restore of p11s from
# p11b2 starts, and is still running at the cut.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm
[ $# -eq 1 ] || fail "usage: powercut_6.sh KILL_AFTER_SECONDS"
cut_at=$1

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
started=0
n=0
start_restore() {
	local up
	read -r up _ < /proc/uptime
	up=${up%.*}
	if [ $started = 0 ] && [ "$up" -ge $((cut_at - 15)) ]; then
		started=1
		bcv_must restore p11s p11b2
		put_sess p11s p11b2
		put copies_started "$up"
	fi
	n=$((n + 1))
	if [ $started = 1 ] && ((n % 5 == 0)); then
		put b2_state "$(sess_field p11s p11b2 state) $(sess_field p11s p11b2 invalid_tracks)"
	fi
}
STATE_EVERY=1
LOOP_HOOK=start_restore
write_loop B1:/dev/bcv/p11b1:$((300 * TS))
