#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# disks: 16M 16M 16M
#
# Copies held back beyond their session, and a copy that ignored pause
# (issue 22, defect 19; bcv-design.rst sections 5, 12 and 13).
#
#  1. A session's copy_throttle waits belong to the session: at 1 % a
#     copy job that took 5 s (a dm-delay disk) makes the engine wait
#     about 500 s before that mirror position copies again.  The session
#     is aborted and another BCV established at the same position, with
#     no throttle: its copy runs at once and ends with exactly every track
#     copied and the data equal.  Before the fix it copied nothing for
#     minutes ("wait --timeout" timed out, exit 5).
#  2. A paused protected restore copies nothing, also for a host write
#     that covers part of a track not restored yet: the write waits (it
#     has not completed after 10 s, copied_tracks stays 0) until RESUME;
#     then it completes and the restore ends split with exactly 4 tracks
#     copied, the BCV's checksum unchanged and the STD holding the BCV's
#     data with the write on top.  Before the fix the track was copied at
#     once although the session was paused (copied_tracks 1).

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need dmsetup blockdev udevadm cmp
sess_setup

TS=65536
DSZ=$(blockdev --getsz "${DISKS[1]}")
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))
ds=$((SIZE / 512))

one_copy_job

dm_linear t22d "${DISKS[1]}" || fail "cannot make dm-linear t22d"
create_vol std t22s "${DISKS[0]}" --track-size 64K
create_vol bcv t22b1 "$DM" --track-size 64K
create_vol bcv t22b2 "${DISKS[2]}" --track-size 64K
S=/dev/bcv/t22s
B=/dev/bcv/t22b2

random_file "$T/data" "$SIZE"
dd if="$T/data" of="$S" bs=1M oflag=direct status=none || fail "cannot fill $S"

# --- 1. a throttle wait does not outlive its session ---------------------------------

# Every write to t22b1's data area takes 5 s.
d=${_dm_dev[t22d]}
printf '%s\n' "0 $ds delay $d 0 0 $d 0 5000 $d 0 0" \
	"$ds $((DSZ - ds)) linear $d $ds" | dmsetup load t22d &&
	dmsetup resume t22d || fail "cannot slow down t22d"
bcv_must establish t22s t22b1
sd=$(sess_dir t22s t22b1) || fail "no sysfs directory for t22s/t22b1"
echo 1 > "$sd/copy_throttle" || fail "cannot set copy_throttle"
mm=$(sess_field t22s t22b1 mm)
# The first job (one region) ends after 5 s or more; the next waits ~99x.
first_job_done() { [ "$(sess_field t22s t22b1 copied_tracks)" -ge 1 ]; }
wait_secs 120 first_job_done || fail "the first copy job of t22b1 does not end"
bcv_must abort t22s t22b1
check_sess t22s t22b1 state=split
dmsetup load t22d --table "0 $DSZ linear $d 0" && dmsetup resume t22d ||
	fail "cannot speed up t22d"

bcv_must establish t22s t22b2
check_sess t22s t22b2 "mm=$mm"
if expect_exit 0 bcvctl_t "$BCV_WAIT_LIMIT" wait t22s t22b2 --timeout 60; then
	ok "the copy at mirror position $mm ran although t22b1's throttle had it wait"
else
	sess_dump
fi
check_sess t22s t22b2 state=synchronized "copied_tracks=$NT" invalid_tracks=0
bcv_must split t22s t22b2
vols_same "t22b2 after its ESTABLISH" "$S" "$B" "$SIZE"

# --- 2. a paused protected restore copies nothing ----------------------------------

bsum=$(range_sum "$B" 0 "$SIZE")
cp "$T/data" "$T/model"		# the BCV's data: the STD's after the restore
random_file "$T/w" $TS
for t in 30 60 90 120; do
	dd if="$T/w" of="$S" bs=64K seek=$t count=1 oflag=direct conv=notrunc \
		status=none || fail "cannot write track $t"
done
bcv_must pause t22s t22b2
bcv_must restore t22s t22b2 --protect --incremental
check_sess t22s t22b2 state=restinprog protected=true paused=true \
	copied_tracks=0 invalid_tracks=4
# 4 KiB into track 90, not restored yet: it waits for that track's copy.
random_file "$T/w4k" 4096
dd if="$T/w4k" of="$T/model" bs=4K seek=$((90 * 16 + 3)) conv=notrunc \
	status=none
dd if="$T/w4k" of="$S" bs=4K seek=$((90 * 16 + 3)) oflag=direct \
	conv=notrunc status=none &
wpid=$!
if wait_secs 10 eval '! kill -0 $wpid 2>/dev/null'; then
	_bad "a write into a track not restored yet completed while the restore was paused"
else
	ok "the write into a track not restored yet waits while the restore is paused"
fi
check_sess t22s t22b2 state=restinprog paused=true copied_tracks=0 \
	invalid_tracks=4
bcv_must resume t22s t22b2
wait "$wpid" || _bad "the write into track 90 failed"
bcv_must wait t22s t22b2
check_sess t22s t22b2 state=split protected=false copied_tracks=4 \
	std_changed_tracks=1 bcv_changed_tracks=0
expect "the BCV's checksum is unchanged" \
	test "$(range_sum "$B" 0 "$SIZE")" = "$bsum"
check_model "the STD holds the BCV's data with the write on top" "$S" \
	"$T/model" "$SIZE"

pass
