#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check-all: 6.12 too)
# Pause and resume (issue 14; bcv-design.rst section 13): a paused session copies
# nothing, host writes are tracked as usual, resume goes on from the
# tables, and the counts and the data come out exact.
#
#  1. ESTABLISH paused after its first region: no track is copied while
#     paused, although the STD takes partial writes (which leave their
#     tracks to the copy); after resume the copy ends having copied every
#     track exactly once, and the split BCV equals the STD.
#  2. A REESTABLISH of a paused session copies nothing until resume, then
#     exactly the tracks written since the split.
#  3. A paused incremental RESTORE: the STD reads the BCV's data for the
#     tracks still to restore; after resume exactly those are copied.
#  4. query, sysfs and refusals: "paused" in JSON, sysfs and the table's
#     note; pause of no session (exit 3), of a BCV named as STD (exit 1),
#     without the BCV (exit 2) change nothing; resume of a running
#     session is a no-op.
#  5. sessions/ID/copy_throttle: values outside 1-100 refused; at 1 no
#     second job starts within 3 s of the first (which takes DELAY_MS or
#     more); back at 100 the copy ends with exact counts and data.
#
# The copies are made slow deterministically: copy_jobs=1 (one region of
# 16 tracks at a time) and a delay of DELAY_MS on reads and writes of the
# BCV's data area past its first region (dm-delay; flushes and the
# metadata area are not delayed, so that commands are not held up).
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
RT=16				# tracks per region (64 KiB tracks)

one_copy_job

dm_linear p14d "${DISKS[1]}" || fail "cannot make dm-linear p14d"
BDEV=$DM
create_vol std p14s "${DISKS[0]}" --track-size 64K
create_vol bcv p14b "$BDEV" --track-size 64K
S=/dev/bcv/p14s
B=/dev/bcv/p14b
T=$(mktemp -d)
on_exit "rm -rf $T"

# The first region is not delayed, the rest of the data area is: the
# first job ends at once, each later one takes DELAY_MS or more, so that a
# command issued once the first region is copied finds the copy running
# whatever the guest's speed.
slow() {
	local d=${_dm_dev[p14d]} ds=$((SIZE / 512)) rs=$((RT * TS / 512))
	printf '%s\n' "0 $rs linear $d 0" \
		"$rs $((ds - rs)) delay $d $rs $DELAY_MS $d $rs $DELAY_MS $d $rs 0" \
		"$ds $((DSZ - ds)) linear $d $ds" | dmsetup load p14d &&
		dmsetup resume p14d || fail "cannot slow down p14d"
}

field() { sess_field p14s p14b "$1"; }
copied_at_least() { [ "$(field copied_tracks)" -ge "$1" ]; }
fast() {
	local d=${_dm_dev[p14d]}
	echo "0 $DSZ linear $d 0" | dmsetup load p14d &&
		dmsetup resume p14d || fail "cannot speed up p14d"
}
# same_data: the STD's and the BCV's data areas are identical (read
# without the delay, which would make it a minute).
same_data() {
	fast
	vols_same "$1" "$S" "$B" "$SIZE"
	slow
}
# still T_COPIED WHAT: for a second, no track is copied.
still() {
	local c
	sleep 1
	c=$(field copied_tracks)
	if [ "$c" = "$1" ]; then
		ok "$2: nothing copied while paused ($c tracks)"
	else
		_bad "$2: copied_tracks went from $1 to $c while paused"
	fi
}
# track_write FILE TRACK OFFSET LEN: LEN bytes of FILE at OFFSET in TRACK.
track_write() {
	dd if="$1" of="$2" bs=4K seek=$(( $3 * TS + $4 )) count="$5" \
		iflag=count_bytes oflag=seek_bytes,direct conv=notrunc \
		status=none || fail "cannot write track $3 of $2"
}

random_file "$T/data" "$SIZE"
dd if="$T/data" of="$S" bs=1M oflag=direct status=none ||
	fail "cannot fill $S"
random_file "$T/w" $TS
slow

# --- 1. ESTABLISH, paused after its first region ---------------------------

bcv_must establish p14s p14b
wait_secs 60 copied_at_least $RT ||
	fail "establish: fewer than $RT tracks copied after 60 s"
bcv_must pause p14s p14b
c1=$(field copied_tracks)
check_sess p14s p14b state=syncinprog paused=true
[ "$c1" -lt "$NT" ] || fail "set-up: the establish ended before the pause"
expect "sysfs paused is 1" test "$(cat "$(sess_dir p14s p14b)/paused")" = 1
expect "query notes the pause" eval \
	"bcvctl query p14s | grep -qx 'p14s/p14b: paused (bcvctl resume p14s p14b)'"
# Partial writes (4 KiB) to tracks before and after the copy's point: a
# track still invalid on the BCV stays so, one copied already stays valid.
for t in 0 1 $((NT / 2)) $((NT - 1)); do
	track_write "$T/w" "$S" "$t" 4096 4096
done
still "$c1" "establish"
expect "invalid_tracks is NT - copied while paused" \
	test "$(field invalid_tracks)" = $((NT - c1))
bcv_must resume p14s p14b
check_sess p14s p14b paused=false
bcv_must wait p14s p14b
check_sess p14s p14b state=synchronized copied_tracks=$NT invalid_tracks=0
bcv_must split p14s p14b
same_data "establish paused and resumed"

# --- 2. REESTABLISH of a paused session -------------------------------------

for t in 3 $((RT + 5)) $((NT - 2)); do
	track_write "$T/w" "$S" "$t" 0 $TS
done
check_sess p14s p14b state=split std_changed_tracks=3
bcv_must pause p14s p14b
check_sess p14s p14b state=split paused=true
bcv_must reestablish p14s p14b
check_sess p14s p14b state=syncinprog paused=true invalid_tracks=3
still 0 "reestablish"
bcv_must resume p14s p14b
bcv_must wait p14s p14b
check_sess p14s p14b state=synchronized copied_tracks=3 paused=false
bcv_must split p14s p14b
same_data "reestablish paused and resumed"

# --- 3. a paused incremental RESTORE ------------------------------------------

random_file "$T/b" $TS
for t in 2 $((NT / 2 + 1)); do
	track_write "$T/b" "$B" "$t" 0 $TS
done
track_write "$T/w" "$S" 7 8192 4096
check_sess p14s p14b state=split std_changed_tracks=1 bcv_changed_tracks=2
# What the STD must read for them once the restore started (an attached
# BCV takes no I/O of its own).
declare -A want
for t in 2 $((NT / 2 + 1)) 7; do
	want[$t]=$(range_sum "$B" $((t * TS)) $TS)
done
bcv_must pause p14s p14b
bcv_must restore p14s p14b --incremental
check_sess p14s p14b state=restinprog invalid_tracks=3
still 0 "restore"
# The STD reads the BCV for the tracks it has not got back yet.
for t in 2 $((NT / 2 + 1)) 7; do
	a=$(range_sum "$S" $((t * TS)) $TS)
	expect "paused restore: track $t of the STD reads the BCV's data" \
		test "$a" = "${want[$t]}"
done
bcv_must resume p14s p14b
bcv_must wait p14s p14b
check_sess p14s p14b state=restored copied_tracks=3 paused=false
bcv_must split p14s p14b
same_data "restore paused and resumed"

# --- 4. refusals and no-ops ---------------------------------------------------

bcv_missing pause p14s nosuch
bcv_refused pause p14b p14s
bcv_usage pause p14s
bcv_do resume p14s p14b
check_sess p14s p14b state=split paused=false

# --- 5. a session's copy_throttle ---------------------------------------------------

sd=$(sess_dir p14s p14b) || fail "no sysfs directory for p14s/p14b"
for v in 0 101 abc -1 ""; do
	expect_exit 1 sh -c "echo '$v' > $sd/copy_throttle"
done
expect "copy_throttle stays 100" test "$(cat "$sd/copy_throttle")" = 100
# Regions 1-3 changed: with copy_throttle 1, after the first job (at least
# DELAY_MS) no other starts for 99 times as long.
for ((t = RT; t < 4 * RT; t++)); do
	track_write "$T/w" "$S" "$t" 0 $TS
done
echo 1 > "$sd/copy_throttle" || fail "cannot set copy_throttle 1"
bcv_must reestablish p14s p14b
wait_secs 60 copied_at_least $RT || fail "reestablish: no region copied in 60 s"
c1=$(field copied_tracks)
sleep 3
expect "copy_throttle 1: one region copied in the 3 s after the first ($c1)" \
	test "$(field copied_tracks)" = $RT
echo 100 > "$sd/copy_throttle" || fail "cannot set copy_throttle 100"
bcv_must wait p14s p14b
check_sess p14s p14b state=synchronized copied_tracks=$((3 * RT))
bcv_must split p14s p14b
same_data "reestablish under a session's copy_throttle"
bcv_must terminate p14s p14b
bcv_missing pause p14s p14b

pass
