#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# disks: 16M 16M 16M
#
# SPLIT never holds the STD's writes across a catch-up that cannot
# progress (issue 22, defect 18; bcv-design.rst section 4).  A
# synchronized BCV that missed a write (it failed on the BCV's disk) has
# that track to catch up before it can be the STD's point-in-time copy.
# The STD's copy engine is kept busy meanwhile (another session's copy,
# or a host write to the same region, in flight on a dm-delay device), so
# that the session stays "synchronized" with the track to copy.
#
#  1. The session is paused: SPLIT is refused at once (exit 4, "paused",
#     nothing changes), and 10 writes to the STD issued with it all
#     complete and land.  Before the fix SPLIT held the STD's writes for
#     the 30 s of a catch-up that could not copy anything (here longer
#     still: the hold also waited for the other session's copy) and then
#     refused with "still lacks 1 tracks".
#  2. The copy of the track cannot start yet (its region has a host write
#     in flight to the other BCV's slow disk): SPLIT waits for it without
#     holding the STD, so 10 writes issued meanwhile complete while it
#     waits; once that disk is fast again the copy ends and the split holds only
#     for its last step.  The BCV then holds exactly the STD's data as of
#     the split (all 10 writes, none issued after).  Before the fix the 10
#     writes waited for the whole catch-up.
#
# Times (how long the 10 writes took) are printed, not checked: what is
# checked is that they completed while SPLIT was still waiting, and
# exact exit codes, messages, counts and bytes.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need dmsetup blockdev udevadm cmp
sess_setup

TS=65536
DSZ=$(blockdev --getsz "${DISKS[1]}")
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))
ds=$((SIZE / 512))		# data area, sectors
tsec=$((TS / 512))		# sectors per track
rs=$((16 * tsec))		# the first region
LONG=600000			# ms: a write that waits until the table changes
BOUND=90			# s: writes that have not completed by then wait
				# for the split (they take about a second)

one_copy_job

dm_linear h22a "${DISKS[1]}" || fail "cannot make dm-linear h22a"
DA=$DM
dm_linear h22b "${DISKS[2]}" || fail "cannot make dm-linear h22b"
DB=$DM
create_vol std h22s "${DISKS[0]}" --track-size 64K
create_vol bcv h22a1 "$DA" --track-size 64K
create_vol bcv h22b1 "$DB" --track-size 64K
S=/dev/bcv/h22s
A=/dev/bcv/h22a1

# table DM LINE...: load the table of dm device DM.
table() {
	local n=$1
	shift
	printf '%s\n' "$@" | dmsetup load "$n" && dmsetup resume "$n" ||
		fail "cannot load $n: $*"
}
healthy() { table "$1" "0 $DSZ linear ${_dm_dev[$1]} 0"; }
# bad_track DM TRACK: I/O to track TRACK of DM fails, the rest is linear.
bad_track() {
	local n=$1 t=$(( $2 * tsec )) d=${_dm_dev[$1]}
	table "$n" "0 $t linear $d 0" "$t $tsec error" \
		"$((t + tsec)) $((DSZ - t - tsec)) linear $d $((t + tsec))"
}
# std_writes_waiting: a host write to the STD has not completed (bcv
# counts it from its start; dm-delay's queued bios are not counted by dm).
std_writes_waiting() {
	local w
	read -r _ w < "$(vol_sysfs h22s)/inflight"
	[ "$w" -ge 1 ]
}
copied_first_region() { [ "$(sess_field h22s h22b1 copied_tracks)" -ge 16 ]; }

track_write() {	# FILE TRACK: a whole track of FILE to the STD and the model
	dd if="$1" of="$S" bs=64K seek="$2" count=1 oflag=direct conv=notrunc \
		status=none || fail "cannot write track $2"
	dd if="$1" of="$T/model" bs=64K seek="$2" count=1 conv=notrunc \
		status=none
}
# writes N: 4 KiB writes, one into each of the tracks 1..N (the first
# region), O_DIRECT, in the background: their pid in WPID; "I ok" lines
# in $T/wlog.  The model gets them at once.
writes() {
	local i
	: > "$T/wlog"
	for ((i = 1; i <= $1; i++)); do
		random_file "$T/x$i" 4096
		dd if="$T/x$i" of="$T/model" bs=4K seek=$((i * 16 + 1)) \
			conv=notrunc status=none
	done
	(
		for ((i = 1; i <= $1; i++)); do
			dd if="$T/x$i" of="$S" bs=4K seek=$((i * 16 + 1)) \
				oflag=direct conv=notrunc status=none &&
				echo "$i ok" >> "$T/wlog"
		done
	) &
	WPID=$!
}
writes_done() { ! kill -0 "$WPID" 2>/dev/null; }
# bg_split ARGS...: bcvctl split in the background: pid in SPID, exit
# status in $T/split.rc, output in $T/split.out and $T/split.err.
bg_split() {
	(
		bcvctl_t "$BCV_WAIT_LIMIT" split "$@" > "$T/split.out" \
			2> "$T/split.err"
		echo $? > "$T/split.rc"
	) &
	SPID=$!
}
split_done() { ! kill -0 "$SPID" 2>/dev/null; }

random_file "$T/model" "$SIZE"
dd if="$T/model" of="$S" bs=1M oflag=direct status=none || fail "cannot fill $S"
bcv_must establish h22s h22a1 --wait

# --- 1. a paused session: refused at once --------------------------------------------

bcv_must pause h22s h22a1
# h22b1's copy: the first region at once, the second waits (LONG ms).
table h22b "0 $rs linear ${_dm_dev[h22b]} 0" \
	"$rs $((ds - rs)) delay ${_dm_dev[h22b]} $rs 0 ${_dm_dev[h22b]} $rs $LONG ${_dm_dev[h22b]} $rs 0" \
	"$ds $((DSZ - ds)) linear ${_dm_dev[h22b]} $ds"
bcv_must establish h22s h22b1
# Its copy keeps the engine busy from now on: region 1 cannot end.
wait_secs 60 copied_first_region || fail "h22b1's first region is not copied"
# A write that fails on h22a1: its track is to copy, the session stays
# synchronized while the engine is busy with h22b1.  Track 12: in the
# first region, which h22b1 takes at once (a track of the delayed part
# would hold this write for LONG ms).
bad_track h22a 12
random_file "$T/w12" $TS
track_write "$T/w12" 12
healthy h22a
check_sess h22s h22a1 state=synchronized invalid_tracks=1 paused=true
t0=$SECONDS
bg_split h22s h22a1
writes 10
if ! wait_secs $BOUND split_done; then
	_bad "split of a paused session did not return within $BOUND s (it holds the STD)"
	healthy h22b
	wait "$SPID"
fi
wait_secs $BOUND writes_done || _bad "10 writes to the STD did not complete within $BOUND s"
wait "$WPID"
note "part 1: the 10 writes took $((SECONDS - t0)) s from the split's start"
rc=$(cat "$T/split.rc")
err=$(cat "$T/split.err")
if [ "$rc" = "$BCV_EXIT_BUSY" ] && [ "$(wc -l < "$T/split.err")" = 1 ] &&
   [[ $err == *"is paused"* ]]; then
	ok "split of a paused session refused at once: $err"
else
	_bad "split of a paused session: exit $rc, '$err'; want exit $BCV_EXIT_BUSY, one line saying it is paused"
fi
[ "$(grep -c ' ok$' "$T/wlog")" = 10 ] ||
	_bad "$(grep -c ' ok$' "$T/wlog") of the 10 writes succeeded"
# Nothing changed (h22b1's copy is still held up, so the engine is not
# idle and the state is what it was).
check_sess h22s h22a1 state=synchronized invalid_tracks=1 paused=true
healthy h22b
bcv_must wait h22s h22b1
check_model "part 1: the STD holds the 10 writes" "$S" "$T/model" "$SIZE"
bcv_must resume h22s h22a1
bcv_must wait h22s h22a1
check_sess h22s h22a1 state=synchronized invalid_tracks=0

# --- 2. a catch-up that cannot end yet: waited for without holding -------------------

# Track 85's write to h22b1 waits (LONG ms): region 5 (tracks 80-95) has
# a host write in flight.  Track 80's write fails on h22a1, whose disk is
# then healthy again: 80 is to copy, and the copy waits for the region.
# (Not both on one disk: reloading it would let the delayed write end
# while the error target is still live, and the copy fail.)
table h22a "0 $((80 * tsec)) linear ${_dm_dev[h22a]} 0" \
	"$((80 * tsec)) $tsec error" \
	"$((81 * tsec)) $((DSZ - 81 * tsec)) linear ${_dm_dev[h22a]} $((81 * tsec))"
table h22b "0 $((85 * tsec)) linear ${_dm_dev[h22b]} 0" \
	"$((85 * tsec)) $tsec delay ${_dm_dev[h22b]} $((85 * tsec)) 0 ${_dm_dev[h22b]} $((85 * tsec)) $LONG ${_dm_dev[h22b]} $((85 * tsec)) 0" \
	"$((86 * tsec)) $((DSZ - 86 * tsec)) linear ${_dm_dev[h22b]} $((86 * tsec))"
random_file "$T/w85" $TS
dd if="$T/w85" of="$T/model" bs=64K seek=85 count=1 conv=notrunc status=none
dd if="$T/w85" of="$S" bs=64K seek=85 count=1 oflag=direct conv=notrunc \
	status=none &
w85=$!
wait_secs 60 std_writes_waiting || fail "the write to track 85 does not start"
random_file "$T/w80" $TS
track_write "$T/w80" 80
healthy h22a
check_sess h22s h22a1 state=synchronized invalid_tracks=1
t0=$SECONDS
bg_split h22s h22a1
writes 10
if wait_secs $BOUND writes_done; then
	note "part 2: the 10 writes took $((SECONDS - t0)) s from the split's start"
	if split_done; then
		_bad "split returned (exit $(cat "$T/split.rc")) before the copy it waits for could end"
	else
		ok "10 writes to the STD completed while split waited for the catch-up"
	fi
else
	_bad "10 writes to the STD did not complete within $BOUND s while split waited (held)"
fi
healthy h22b
wait "$w85" || _bad "the write to track 85 failed"
wait_secs "$BCV_WAIT_LIMIT" split_done || fail "split did not return"
wait "$WPID"
note "part 2: split returned $((SECONDS - t0)) s after its start"
[ "$(grep -c ' ok$' "$T/wlog")" = 10 ] ||
	_bad "$(grep -c ' ok$' "$T/wlog") of the 10 writes succeeded"
rc=$(cat "$T/split.rc")
[ "$rc" = 0 ] || _bad "split exited $rc: $(cat "$T/split.err")"
check_sess h22s h22a1 state=split
# After the split: on the STD, not on the BCV.
random_file "$T/w3" $TS
dd if="$T/w3" of="$S" bs=64K seek=3 count=1 oflag=direct conv=notrunc \
	status=none || fail "cannot write track 3"
check_model "part 2: the BCV is the STD as of the split" "$A" "$T/model" "$SIZE"
dd if="$T/w3" of="$T/model" bs=64K seek=3 count=1 conv=notrunc status=none
check_model "part 2: the STD holds every write" "$S" "$T/model" "$SIZE"

pass
