#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# disks: 16M 16M
#
# Protected restore and ABORT of a restore (issue 14; bcv-design.rst sections 12
# and 13).  `restore --protect` copies the BCV (a "gold copy") to the STD
# but never writes the BCV: host writes to the STD during and after it
# stay off the BCV and are marked in the session's column, the session is
# split again once restored, and the next protected restore copies
# exactly what the host changed.
#
#  1. A protected incremental restore of 3 changed tracks (--wait): ends
#     split, copied exactly 3, STD == BCV, the BCV's checksum unchanged.
#  2. A protected restore of 8 tracks, paused, with host writes: 4 KiB
#     into a track not restored yet (it waits for that track's copy, which
#     a paused session does not make: still waiting, copied 0, until
#     RESUME; issue 22), a whole track (no copy), a track the restore does
#     not copy.  Resumed, it ends split with exactly 7 copied, the BCV's
#     checksum unchanged, the STD holding the BCV's data with the writes
#     on top (compared byte for byte with a model), exactly the 3 tracks
#     written changed.
#  3. A second protected restore: copies exactly those 3 tracks; the STD
#     is the BCV again; the BCV's checksum still unchanged.
#  4. ABORT of a paused protected restore while a 4 KiB write waits for
#     one of its 4 tracks: split, nothing copied, the 4 tracks hold the
#     STD's old data and the write, which goes on after the ABORT, lands
#     on it; all 4 changed; the next protected restore finishes it.
#  5. ABORT of a plain (paused) restore after the host wrote into a track
#     not restored yet is refused (exit 4, nothing changes); it finishes.
#  6. A protected restore survives stop and assemble (the flag is on
#     disk): still protected after assembly, not abortable then (exit 4),
#     it ends split with the BCV's checksum unchanged.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need dmsetup blockdev udevadm cmp
sess_setup

TS=65536
DSZ=$(blockdev --getsz "${DISKS[1]}")
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))	# the last track may be partial
DELAY_MS=500
RT=16

one_copy_job

dm_linear p14d "${DISKS[1]}" || fail "cannot make dm-linear p14d"
create_vol std p14s "${DISKS[0]}" --track-size 64K
create_vol bcv p14b "$DM" --track-size 64K
S=/dev/bcv/p14s
B=/dev/bcv/p14b
T=$(mktemp -d)
on_exit "rm -rf $T"

d=${_dm_dev[p14d]}
ds=$((SIZE / 512))
table() {
	printf '%s\n' "$@" | dmsetup load p14d && dmsetup resume p14d ||
		fail "cannot load p14d: $*"
}
# The first region is copied at once, the rest of the data area waits
# 500 ms a request (see test_pause_14.sh).
rs=$((RT * TS / 512))
slow() {	# [MS]
	local ms=${1:-$DELAY_MS}
	table "0 $rs linear $d 0" \
		"$rs $((ds - rs)) delay $d $rs $ms $d $rs $ms $d $rs 0" \
		"$ds $((DSZ - ds)) linear $d $ds"
}
healthy() { table "0 $DSZ linear $d 0"; }

field() { sess_field p14s p14b "$1"; }
bsum_is() {
	expect "$1: the BCV's checksum is unchanged" \
		test "$(range_sum "$B" 0 "$SIZE")" = "$bsum"
}
track_write() {	# FILE DEV TRACK: a whole track of FILE
	dd if="$1" of="$2" bs=64K seek="$3" count=1 oflag=direct \
		conv=notrunc status=none || fail "cannot write track $3 of $2"
}
# model_put FILE OFFSET: FILE at byte OFFSET of the model
model_put() {
	dd if="$1" of="$T/model" bs=4K seek="$2" oflag=seek_bytes conv=notrunc \
		status=none || fail "cannot update the model"
}
same_as() {	# WHAT FILE: the STD holds FILE byte for byte
	blockdev --flushbufs "$S" 2>/dev/null
	if cmp -s -n "$SIZE" "$2" "$S"; then
		ok "$1: the STD holds the expected $SIZE bytes"
	else
		_bad "$1: the STD differs from the model: $(cmp -n "$SIZE" "$2" "$S" 2>&1 | head -1)"
	fi
}

random_file "$T/data" "$SIZE"
dd if="$T/data" of="$S" bs=1M oflag=direct status=none ||
	fail "cannot fill $S"
bcv_must establish p14s p14b --wait
bcv_must split p14s p14b
bsum=$(range_sum "$B" 0 "$SIZE")
for i in 1 2 3 4 5 6; do
	random_file "$T/w$i" $TS
done
head -c 4096 "$T/w6" > "$T/w4k"

# --- 1. a protected incremental restore ---------------------------------------------

track_write "$T/w1" "$S" 2
track_write "$T/w2" "$S" $((NT / 2))
write_file_at "$T/w4k" "$S" $(( (NT - 4) * TS + 8192 )) ||
	fail "cannot write into track $((NT - 4))"
check_sess p14s p14b state=split std_changed_tracks=3
bcv_must restore p14s p14b --protect --incremental --wait
check_sess p14s p14b state=split copied_tracks=3 std_changed_tracks=0 \
	bcv_changed_tracks=0 protected=false
bsum_is "after a protected restore"
vols_same "after a protected restore" "$S" "$B" "$SIZE"

# --- 2. a protected restore with host writes ---------------------------------------

# 8 changed tracks past the first region.  The restore is paused, so that
# the writes below certainly find their tracks not restored yet.
for t in 20 40 60 80 100 120 140 160; do
	track_write "$T/w1" "$S" $t
done
cp "$T/data" "$T/model"		# the BCV's data, the STD's after the restore
bcv_must pause p14s p14b
bcv_must restore p14s p14b --protect --incremental
check_sess p14s p14b state=restinprog protected=true paused=true copied_tracks=0
# 4 KiB into track 160: the write waits for that one track's copy, which
# a paused session does not make: it waits until RESUME.
write_file_at "$T/w4k" "$S" $((160 * TS + 8192)) &
wpid=$!
model_put "$T/w4k" $((160 * TS + 8192))
track_write "$T/w3" "$S" 140	# whole: needs no copy
model_put "$T/w3" $((140 * TS))
track_write "$T/w5" "$S" 7	# not in the restore
model_put "$T/w5" $((7 * TS))
check_sess p14s p14b state=restinprog copied_tracks=0
if kill -0 $wpid 2>/dev/null; then
	ok "the 4 KiB write into a track not restored yet waits for RESUME"
else
	_bad "the 4 KiB write into a track not restored yet ended while paused"
fi
bcv_must resume p14s p14b
wait $wpid || _bad "a 4 KiB write into a track not restored yet failed"
bcv_must wait p14s p14b
# 8 tracks: 160 copied for the write, 140 written whole, 6 by the restore.
check_sess p14s p14b state=split copied_tracks=7 std_changed_tracks=3 \
	bcv_changed_tracks=0 protected=false
bsum_is "after a protected restore with host writes"
same_as "the BCV's data with the host's writes on top" "$T/model"

# --- 3. the second protected restore: exactly the host's 3 tracks -------------------

bcv_must restore p14s p14b --protect --incremental --wait
check_sess p14s p14b state=split copied_tracks=3 std_changed_tracks=0
bsum_is "after the second protected restore"
vols_same "after the second protected restore" "$S" "$B" "$SIZE"

# --- 4. ABORT of a protected restore ------------------------------------------------

# 4 tracks changed on the STD; the restore (paused) is aborted while a
# 4 KiB write waits for one of them (a paused session copies nothing).
for t in 30 60 90 120; do
	track_write "$T/w2" "$S" $t
done
bcv_must pause p14s p14b
bcv_must restore p14s p14b --protect --incremental
write_file_at "$T/w4k" "$S" $((90 * TS + 4096)) &
wpid=$!
check_sess p14s p14b state=restinprog copied_tracks=0
bcv_must abort p14s p14b
wait $wpid || _bad "a 4 KiB write that waited for a paused restore failed"
# 30, 60, 120 hold the STD's data again; so does 90, with the write on
# top: all 4 differ from the BCV.
check_sess p14s p14b state=split std_changed_tracks=4 bcv_changed_tracks=0 \
	protected=false paused=true copied_tracks=0
for t in 30 60 120; do
	[ "$(range_sum "$S" $((t * TS)) $TS)" = "$(range_sum "$T/w2" 0 $TS)" ] ||
		_bad "after ABORT track $t does not hold the STD's data"
done
cp "$T/w2" "$T/t90"
dd if="$T/w4k" of="$T/t90" bs=4K seek=1 conv=notrunc status=none
[ "$(range_sum "$S" $((90 * TS)) $TS)" = "$(range_sum "$T/t90" 0 $TS)" ] ||
	_bad "after ABORT track 90 does not hold the STD's data with the write"
ok "after ABORT: 4 tracks hold the STD's data, one with the host's write"
bsum_is "after ABORT of a protected restore"
bcv_must resume p14s p14b
bcv_must restore p14s p14b --protect --incremental --wait
check_sess p14s p14b state=split copied_tracks=4 std_changed_tracks=0
vols_same "after the restore that finished it" "$S" "$B" "$SIZE"

# --- 5. ABORT refused after a host write into a track not restored ------------------

track_write "$T/w1" "$S" 50
bcv_must pause p14s p14b
bcv_must restore p14s p14b --incremental
write_file_at "$T/w4k" "$S" $((50 * TS + 4096)) ||
	_bad "a write during a plain restore failed"
check_sess p14s p14b state=restinprog copied_tracks=0
bcv_busy abort p14s p14b
check_sess p14s p14b state=restinprog
bcv_must resume p14s p14b
bcv_must wait p14s p14b
check_sess p14s p14b state=restored
bcv_must split p14s p14b
vols_same "after the plain restore" "$S" "$B" "$SIZE"
bsum=$(range_sum "$B" 0 "$SIZE")

# --- 6. a protected restore across stop and assemble --------------------------------

for t in 25 45 65; do
	track_write "$T/w3" "$S" $t
done
bcv_must pause p14s p14b
bcv_must restore p14s p14b --protect --incremental
check_sess p14s p14b state=restinprog protected=true paused=true copied_tracks=0
# Each track's copy waits 3 s: the restore is still running while the
# state is checked and the ABORT refused (pause is not kept on disk).
# (Loaded before the stop: a table change would make udev assemble it.)
slow 3000
bcv_must stop p14s
bcv_must stop p14b
bcv_must assemble "${DISKS[0]}"
bcv_must assemble "$DM"
wait_for test -b "$S" || fail "$S is not back after assemble"
check_sess p14s p14b state=restinprog protected=true
bcv_busy abort p14s p14b
check_sess p14s p14b state=restinprog
healthy
bcv_must wait p14s p14b
check_sess p14s p14b state=split std_changed_tracks=0 protected=false
bsum_is "after a protected restore across stop and assemble"
vols_same "after a protected restore across stop and assemble" "$S" "$B" "$SIZE"

pass
