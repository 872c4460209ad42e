#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# ABORT (issue 14; bcv-design.rst section 13): an ESTABLISH or REESTABLISH that
# should not have been started is stopped; the session is split again and
# the tables say exactly what is still to copy; the STD loses nothing.
#
#  1. An ESTABLISH slowed by dm-delay, aborted mid-copy: split, every
#     track changed on both sides; REESTABLISH copies every track and the
#     BCV ends identical to the STD.
#  2. A REESTABLISH of a split BCV with 3 tracks changed (2 on the STD, 1
#     on the BCV), paused so that it copies nothing, then aborted: the BCV
#     holds exactly what it held before (checksum), the 3 tracks are
#     changed on both sides, and the next REESTABLISH copies exactly 3.
#  3. ABORT of a paused RESTORE (nothing copied): split, the STD holds
#     what it held, the track still changed; refusals that change nothing:
#     ABORT of a split session (exit 4), of no session (exit 3).  (ABORT
#     of a restore that copied: test_protect_14.sh.)
#
# disks: 16M 16M

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

dm_linear a14d "${DISKS[1]}" || fail "cannot make dm-linear a14d"
create_vol std a14s "${DISKS[0]}" --track-size 64K
create_vol bcv a14b "$DM" --track-size 64K
S=/dev/bcv/a14s
B=/dev/bcv/a14b
T=$(mktemp -d)
on_exit "rm -rf $T"

d=${_dm_dev[a14d]}
ds=$((SIZE / 512))
table() {
	printf '%s\n' "$@" | dmsetup load a14d && dmsetup resume a14d ||
		fail "cannot load a14d: $*"
}
# The first region is not delayed, the rest of the data area is (see
# test_pause_14.sh): the copy is still running when a command follows the
# first region's copy, whatever the guest's speed.
rs=$((RT * TS / 512))
slow() {
	table "0 $rs linear $d 0" \
		"$rs $((ds - rs)) delay $d $rs $DELAY_MS $d $rs $DELAY_MS $d $rs 0" \
		"$ds $((DSZ - ds)) linear $d $ds"
}
healthy() { table "0 $DSZ linear $d 0"; }

field() { sess_field a14s a14b "$1"; }
copied_at_least() { [ "$(field copied_tracks)" -ge "$1" ]; }
same_data() {
	vols_same "$1" "$S" "$B" "$SIZE"
}
track_write() {	# FILE DEV TRACK: a whole track of FILE
	dd if="$1" of="$2" bs=64K seek="$3" count=1 oflag=direct \
		conv=notrunc status=none || fail "cannot write track $3 of $2"
}

random_file "$T/data" "$SIZE"
dd if="$T/data" of="$S" bs=1M oflag=direct status=none ||
	fail "cannot fill $S"
sum0=$(range_sum "$S" 0 "$SIZE")
random_file "$T/w" $TS

# --- 1. an ESTABLISH aborted mid-copy ---------------------------------------------

slow
bcv_must establish a14s a14b
wait_secs 60 copied_at_least $RT ||
	fail "establish: fewer than $RT tracks copied after 60 s"
bcv_must abort a14s a14b
c=$(field copied_tracks)
[ "$c" -lt "$NT" ] || fail "set-up: the establish ended before the abort"
check_sess a14s a14b state=split std_changed_tracks=$NT bcv_changed_tracks=$NT
expect "the STD still holds its data" test "$(range_sum "$S" 0 "$SIZE")" = "$sum0"
healthy
bcv_must reestablish a14s a14b --wait
check_sess a14s a14b state=synchronized copied_tracks=$NT
bcv_must split a14s a14b
same_data "after ABORT mid-establish and REESTABLISH"

# --- 2. a REESTABLISH aborted before it copied anything ----------------------------

track_write "$T/w" "$S" 3
track_write "$T/w" "$S" $((NT / 2))
track_write "$T/w" "$B" $((NT - 3))
bsum=$(range_sum "$B" 0 "$SIZE")
check_sess a14s a14b state=split std_changed_tracks=2 bcv_changed_tracks=1
bcv_must pause a14s a14b
bcv_must reestablish a14s a14b
check_sess a14s a14b state=syncinprog invalid_tracks=3 copied_tracks=0
bcv_must abort a14s a14b
check_sess a14s a14b state=split std_changed_tracks=3 bcv_changed_tracks=3 paused=true
expect "the BCV holds what it held before the REESTABLISH" \
	test "$(range_sum "$B" 0 "$SIZE")" = "$bsum"
bcv_must resume a14s a14b
bcv_must reestablish a14s a14b --wait
check_sess a14s a14b state=synchronized copied_tracks=3
bcv_must split a14s a14b
same_data "after ABORT of a REESTABLISH and REESTABLISH"

# --- 3. refusals ----------------------------------------------------------------------

bcv_busy abort a14s a14b
track_write "$T/w" "$B" 5
ssum=$(range_sum "$S" 0 "$SIZE")
bcv_must pause a14s a14b
bcv_must restore a14s a14b --incremental
check_sess a14s a14b state=restinprog
bcv_must abort a14s a14b
check_sess a14s a14b state=split std_changed_tracks=1 bcv_changed_tracks=1 paused=true
expect "ABORT of a paused restore: the STD holds what it held before it" \
	test "$(range_sum "$S" 0 "$SIZE")" = "$ssum"
bcv_must resume a14s a14b
bcv_must restore a14s a14b --incremental --wait
check_sess a14s a14b state=restored copied_tracks=1
bcv_must split a14s a14b
same_data "after the restore"
bcv_must terminate a14s a14b
bcv_missing abort a14s a14b

pass
