#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# SPLIT --force (issue 14; bcv-design.rst section 13): a BCV whose copy cannot finish
# is detached anyway; every track it had not received is marked changed on
# both sides, so the next REESTABLISH copies exactly those and the BCV
# ends identical to the STD.  The STD loses nothing.
#
#  1. A copy slowed by dm-delay: SPLIT is refused (exit 4) while
#     syncinprog, SPLIT --force splits mid-copy: std_changed_tracks and
#     bcv_changed_tracks are the tracks not copied, REESTABLISH copies
#     exactly them.
#  2. The BCV's data area fails (dm-error) while synchronized: STD writes
#     go on and the session falls back to syncinprog; SPLIT is refused,
#     SPLIT --force splits; after the disk heals, REESTABLISH copies
#     exactly the tracks written meanwhile.
#  3. Refusals that change nothing: --force with --wait (exit 2), --force
#     on a split session (exit 4) and during a RESTORE (exit 4; the
#     restore is held in restinprog by a pause).
#  4. The whole BCV disk dies (metadata too): SPLIT --force, TERMINATE and
#     remove --force get the STD out of the session, its data intact.
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
RT=16				# tracks per region

one_copy_job

dm_linear f14d "${DISKS[1]}" || fail "cannot make dm-linear f14d"
create_vol std f14s "${DISKS[0]}" --track-size 64K
create_vol bcv f14b "$DM" --track-size 64K
S=/dev/bcv/f14s
B=/dev/bcv/f14b
T=$(mktemp -d)
on_exit "rm -rf $T"

# table LINE...: load f14d's table; its data area first, the metadata
# past it stays linear.
table() {
	printf '%s\n' "$@" | dmsetup load f14d && dmsetup resume f14d ||
		fail "cannot load f14d: $*"
}
d=${_dm_dev[f14d]}
ds=$((SIZE / 512))
meta="$ds $((DSZ - ds)) linear $d $ds"
# The first region is not delayed, the rest of the data area is (see
# test_pause_14.sh): the copy is still running when a command follows the
# first region's copy, whatever the guest's speed.
rs=$((RT * TS / 512))
slow() {
	table "0 $rs linear $d 0" \
		"$rs $((ds - rs)) delay $d $rs $DELAY_MS $d $rs $DELAY_MS $d $rs 0" "$meta"
}
broken() { table "0 $ds error" "$meta"; }
healthy() { table "0 $DSZ linear $d 0"; }

field() { sess_field f14s f14b "$1"; }
copied_at_least() { [ "$(field copied_tracks)" -ge "$1" ]; }
state_is() { [ "$(field state)" = "$1" ]; }
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

# --- 1. a slow copy, split by force mid-way ------------------------------------

slow
bcv_must establish f14s f14b
wait_secs 60 copied_at_least $RT ||
	fail "establish: fewer than $RT tracks copied after 60 s"
bcv_busy split f14s f14b
bcv_must split f14s f14b --force
c=$(field copied_tracks)
[ "$c" -lt "$NT" ] || fail "set-up: the establish ended before the split"
left=$((NT - c))
check_sess f14s f14b state=split std_changed_tracks=$left \
	bcv_changed_tracks=$left invalid_tracks=0
expect "the STD still holds its data" test "$(range_sum "$S" 0 "$SIZE")" = "$sum0"
healthy
bcv_must reestablish f14s f14b --wait
check_sess f14s f14b state=synchronized copied_tracks=$left
bcv_must split f14s f14b
same_data "after SPLIT --force mid-copy and REESTABLISH"

# --- 2. the BCV's disk fails while synchronized ------------------------------------

bcv_must reestablish f14s f14b --wait
broken
for t in 1 $((RT + 2)) $((NT / 2)) $((NT - 3)); do
	track_write "$T/w" "$S" "$t"
done
wait_secs 30 state_is syncinprog ||
	_bad "the session did not fall back to syncinprog: $(field state)"
expect "the copy to the failed BCV counts errors" test "$(field errors)" -gt 0
bcv_busy split f14s f14b
bcv_must split f14s f14b --force
check_sess f14s f14b state=split std_changed_tracks=4 bcv_changed_tracks=4
for t in 1 $((RT + 2)) $((NT / 2)) $((NT - 3)); do
	expect "track $t of the STD holds what was written" \
		test "$(range_sum "$S" $((t * TS)) $TS)" = "$(sha256sum < "$T/w" | cut -d' ' -f1)"
done
healthy
bcv_must reestablish f14s f14b --wait
check_sess f14s f14b state=synchronized copied_tracks=4
bcv_must split f14s f14b
same_data "after the BCV's disk failed, SPLIT --force and REESTABLISH"

# --- 3. refusals ----------------------------------------------------------------------

bcv_usage split f14s f14b --force --wait
bcv_busy split f14s f14b --force
# A restore held in restinprog by a pause.
for t in 2 $((NT / 2 + 1)) $((NT - 2)); do
	track_write "$T/w" "$B" "$t"
done
bcv_must pause f14s f14b
bcv_must restore f14s f14b --incremental
check_sess f14s f14b state=restinprog invalid_tracks=3
bcv_busy split f14s f14b --force
bcv_must resume f14s f14b
bcv_must wait f14s f14b
check_sess f14s f14b state=restored copied_tracks=3
bcv_must split f14s f14b
same_data "after the restore"

# --- 4. the whole BCV disk dies: split --force, terminate, remove get out --------

bcv_must reestablish f14s f14b --wait
table "0 $DSZ error"
track_write "$T/w" "$S" 5
wait_secs 30 state_is syncinprog ||
	_bad "the session did not fall back to syncinprog: $(field state)"
bcv_busy split f14s f14b
bcv_must split f14s f14b --force
check_sess f14s f14b state=split std_changed_tracks=1 bcv_changed_tracks=1
bcv_must terminate f14s f14b
bcv_must remove f14b --force
expect "track 5 of the STD holds what was written" \
	test "$(range_sum "$S" $((5 * TS)) $TS)" = "$(sha256sum < "$T/w" | cut -d' ' -f1)"
expect "the STD reads whole" dd if="$S" of=/dev/null bs=1M iflag=direct status=none

pass
