#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 4, killed by the host: a full establish of
# p11b1 (throttled, so that it is still copying at the cut) and a
# reestablish of p11b2, while flushed writes go to p11s until the power cut.

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
cut_at=$1
# One copy job at a time, at 1 % of the time: the copy of 1024 tracks takes
# about a minute; it starts 15 s before the cut (the guest's uptime runs with
# the host's clock from QEMU's start, give or take a second).
p=/sys/module/bcv/parameters/copy_jobs
[ -w $p ] && echo 1 > $p || fail "cannot set copy_jobs to 1"
TS=$TRACK_SIZE
SCRATCH=$((800 * TS))
started=0
n=0
start_copies() {
	local up
	read -r up _ < /proc/uptime
	up=${up%.*}
	if [ $started = 0 ] && [ "$up" -ge $((cut_at - 15)) ]; then
		started=1
		bcv_must establish p11s p11b1
		bcv_must reestablish p11s p11b2
		put_sess p11s p11b1
		put_sess p11s p11b2
		put copies_started "$up"
	fi
	n=$((n + 1))
	if [ $started = 1 ] && ((n % 5 == 0)); then
		put b1_state "$(sess_field p11s p11b1 state) $(sess_field p11s p11b1 invalid_tracks)"
	fi
}
STATE_EVERY=1
LOOP_HOOK=start_copies
write_loop S:/dev/bcv/p11s:$((300 * TS))
