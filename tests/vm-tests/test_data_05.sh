#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check: its I/O paths also run on 6.12
# in data_02, errors_03, mirror_09; make check-all runs it there too)
#
# What the session commands do to the data, byte for byte, and how much
# they copy (bcv-design.rst section 6, invariants 1, 3 and 4): a model file per
# volume receives every write the test makes and every copy the design
# predicts, and each volume is compared with its model.
#
#   - ESTABLISH and full RESTORE copy every track; REESTABLISH copies
#     exactly the tracks changed on either side (PB changed or M4b invalid),
#     INCREMENTAL RESTORE exactly R; std_changed_tracks and
#     bcv_changed_tracks count whole-track, partial, track-straddling,
#     repeated, write-zeroes and discard writes before the command.
#   - ESTABLISH of a split session copies every track again.
#   - A restore drops the STD's page cache (buffered reads through an
#     open descriptor see the restored data).
#   - The patent's FIG. 10 (bcv-design.rst section 7) with real data on one track,
#     with a fixed mirror leg (BFM) on B2 when `create --mirror` works.
#
# disks: 4160K 5M 5M 5M 4160K
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h).  DISKS[0] (the STD) is 4 MiB + 60
# KiB: less its 32 KiB of metadata, 4 MiB + 32 KiB of data, 65 tracks of
# 64 KiB, the last one partial.  The BCVs are larger; their tails must
# stay untouched.
# DISKS[4] is the STD's own fixed mirror leg (the patent's FIG. 9 gives
# the STD two mirrors), DISKS[3] B2's fixed mirror (BFM).

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 4
need_sessions
need blockdev udevadm timeout truncate cmp
sess_setup

TS=65536
S=/dev/bcv/d5s
B1=/dev/bcv/d5b1
B2=/dev/bcv/d5b2

stdmirror=
if [ ${#DISKS[@]} -ge 5 ]; then
	stdmirror=${DISKS[4]}
	create_vol std d5s "${DISKS[0]}" --track-size 64K --mirror "$stdmirror"
else
	create_vol std d5s "${DISKS[0]}" --track-size 64K
fi
create_vol bcv d5b1 "${DISKS[1]}" --track-size 64K
SSIZE=$(dev_size $S)
NT=$(( (SSIZE + TS - 1) / TS ))
LAST=$((NT - 1))
LASTLEN=$((SSIZE - LAST * TS))
[ $LASTLEN -lt $TS ] || fail "set-up: the STD's last track is not partial"
if [ -n "$stdmirror" ]; then
	check_capacity d5s $TS "${DISKS[0]}" "$stdmirror"
else
	check_capacity d5s $TS "${DISKS[0]}"
fi
if [ "$NT" != 65 ] || [ "$LASTLEN" != 32768 ]; then
	_bad "set-up: the STD has $NT tracks, the last of $LASTLEN bytes; want 65, 32768"
fi
BSIZE=$(dev_size $B1)
check_capacity d5b1 $TS "${DISKS[1]}"
[ "$BSIZE" -gt "$SSIZE" ] || fail "set-up: the BCVs are not larger than the STD"
note "STD: $SSIZE bytes, $NT tracks, the last of $LASTLEN bytes; BCVs: $BSIZE bytes"

# B2, with a fixed mirror leg if the module has them.
bfm=
if out=$(bcvctl create bcv d5b2 "${DISKS[2]}" --mirror "${DISKS[3]}" \
	--track-size 64K 2>&1); then
	bfm=${DISKS[3]}
	echo "$out"
	wait_for test -e $B2 || fail "$B2 did not appear"
else
	note "no fixed mirror legs ($out): FIG. 10 runs without B2's BFM"
	create_vol bcv d5b2 "${DISKS[2]}" --track-size 64K
fi
check_capacity d5b2 $TS "${DISKS[2]}" ${bfm:+"$bfm"}

legs_synced() {
	[ "$(tr -d ' 0' < "$(vol_sysfs "$1")/bcv/leg_invalid_tracks")" = "" ]
}
# std_mirror LABEL: once synced, the STD's mirror leg holds what the STD
# does.
std_mirror() {
	[ -n "$stdmirror" ] || return 0
	wait_secs 120 legs_synced d5s ||
		_bad "$1: the STD's legs are not synced after 120 s"
	check_model "$1: the STD's mirror leg" "$stdmirror" "$T/mS" $SSIZE
}
# bfm_copied: tracks copied to B2's BFM so far.
bfm_copied() {
	local a
	read -r -a a < "$(vol_sysfs d5b2)/bcv/leg_copied_tracks"
	echo "${a[1]:-0}"
}
# bfm_check EVENT MODEL SINCE WANT WHAT: after a split, B2's BFM is synced
# to MODEL and exactly WANT tracks (WHAT) were copied to it since SINCE.
bfm_check() {
	local d
	[ -n "$bfm" ] || return 0
	wait_secs 120 same_as_model "$bfm" "$2" >/dev/null &&
		ok "$1: B2's BFM synced from its primary" ||
		_bad "$1: B2's BFM: $(same_as_model "$bfm" "$2")"
	wait_secs 120 legs_synced d5b2
	d=$(($(bfm_copied) - $3))
	[ $d -eq "$4" ] && ok "$1: the split copied $5 to B2's BFM" ||
		_bad "$1: the split copied $d tracks to B2's BFM, want $4 ($5)"
}

# wtrack DEV MODEL TRACK TAG [OFF-IN-TRACK LEN]: write into one track.
wtrack() {
	local len=${6:-$TS}
	[ "$3" -ne $LAST ] || [ -n "${6:-}" ] || len=$LASTLEN
	expect "write $4 to track $3 of $1" \
		mwrite "$1" "$2" $(($3 * TS + ${5:-0})) $len "$4"
}

# The BCVs' tails (past the STD's size) hold a known pattern.
tail_len=$((BSIZE - SSIZE))
for b in $B1 $B2; do
	mwrite $b "" $SSIZE $tail_len tail || fail "cannot write the tail of $b"
done
check_tails() {
	local b
	for b in $B1 $B2; do
		[ "$(read_dev $b $tail_len $SSIZE | sha256sum)" = \
		  "$(sha256sum < "$(pattern tail $tail_len)")" ] ||
			_bad "$b: the bytes past the STD's size changed"
	done
}

random_file "$T/mS" $SSIZE
dd if="$T/mS" of=$S bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot fill $S"

# --- establish, split --------------------------------------------------------

bcv_must establish d5s d5b1 --wait
check_sess d5s d5b1 state=synchronized tracks=$NT track_size=$TS \
	copied_tracks=$NT invalid_tracks=0 std_changed_tracks=$NT errors=0
bcv_must split d5s d5b1
check_sess d5s d5b1 state=split std_changed_tracks=0 bcv_changed_tracks=0
check_model "establish + split: B1 is the STD" $B1 "$T/mS"
cp "$T/mS" "$T/mB1"

# --- reestablish copies |K u J| -------------------------------------------------

# K, the STD's writes: whole, partial, straddling, repeated, the partial
# last track, and write-zeroes / discard when the device has them.
K=" 3 10 11 49 50 33 $LAST "
wtrack $S "$T/mS" 3 k3
wtrack $S "$T/mS" 10 k10
wtrack $S "$T/mS" 11 k11 $((TS - 4096)) 4096
expect "8 KiB across tracks 49 and 50" mwrite $S "$T/mS" $((50 * TS - 4096)) 8192 k49
wtrack $S "$T/mS" 33 k33a
wtrack $S "$T/mS" 33 k33b 512 1024
wtrack $S "$T/mS" $LAST klast
if fallocate -z -o $((55 * TS)) -l $TS $S 2>"$ERR"; then
	dd if=/dev/zero of="$T/mS" bs=64K seek=55 count=1 conv=notrunc status=none
	K+="55 "
	ok "write-zeroes on track 55"
else
	note "no write-zeroes through fallocate -z: $(cat "$ERR")"
fi
if [ "$(cat "/sys/block/$(kname $S)/queue/discard_max_bytes")" -gt 0 ] &&
   blkdiscard -o $((45 * TS)) -l $TS $S 2>"$ERR"; then
	# What a discarded range reads back as is the device's business.
	read_dev $S $TS $((45 * TS)) > "$T/disc"
	dd if="$T/disc" of="$T/mS" bs=64K seek=45 count=1 conv=notrunc status=none
	K+="45 "
	ok "discard of track 45"
else
	note "no discard on the STD"
fi
# J, the BCV's writes, overlapping K on 10, 33 and the last track.
J=" 10 20 21 33 $LAST "
wtrack $B1 "$T/mB1" 10 j10
wtrack $B1 "$T/mB1" 20 j20
wtrack $B1 "$T/mB1" 21 j21 512 512
wtrack $B1 "$T/mB1" 33 j33
wtrack $B1 "$T/mB1" $LAST jlast
check_model "B1 reads back its own writes" $B1 "$T/mB1" $SSIZE

count() { echo $#; }
union=$(printf '%s\n' $K $J | sort -un | tr '\n' ' ')
nK=$(count $K) nJ=$(count $J) nU=$(count $union)
note "K = {$K}, J = {$J}, K u J = {$union}"
check_sess d5s d5b1 state=split std_changed_tracks=$nK bcv_changed_tracks=$nJ
check_model "the STD holds K" $S "$T/mS"

bcv_must reestablish d5s d5b1 --wait
check_sess d5s d5b1 state=synchronized copied_tracks=$nU invalid_tracks=0 \
	std_changed_tracks=$nU errors=0
check_model "B1's disk is the STD after reestablish" "${DISKS[1]}" "$T/mS" $SSIZE
bcv_must split d5s d5b1
check_sess d5s d5b1 state=split std_changed_tracks=0 bcv_changed_tracks=0
check_model "B1 is the STD again: its own writes are gone" $B1 "$T/mS"
check_model "the STD kept its writes" $S "$T/mS"
check_tails

# An unchanged pair copies nothing.
bcv_must reestablish d5s d5b1 --wait
check_sess d5s d5b1 state=synchronized copied_tracks=0 std_changed_tracks=0
bcv_must split d5s d5b1

# --- incremental restore copies |R| and drops the STD's page cache -------------

cp "$T/mS" "$T/mB1"
for t in 5 6 7; do
	wtrack $S "$T/mS" $t "r$t"
done
wtrack $B1 "$T/mB1" 6 rb6 4096 4096
wtrack $B1 "$T/mB1" 8 rb8
wtrack $B1 "$T/mB1" 9 rb9
wtrack $B1 "$T/mB1" 60 rb60
check_sess d5s d5b1 state=split std_changed_tracks=3 bcv_changed_tracks=4

exec 5< $S			# keeps the STD's page cache across the restore
cat $S > /dev/null		# and fills it
bcv_busy restore d5s d5b1 --incremental		# open STD
bcv_must restore d5s d5b1 --incremental --force --wait
check_sess d5s d5b1 state=restored copied_tracks=6 invalid_tracks=0 \
	std_changed_tracks=0 errors=0
for t in 5 6 7 8 9 60; do
	mcopy "$T/mB1" "$T/mS" $((t * TS)) $TS
done
check_model "incremental restore: the STD has B1's R tracks" $S "$T/mS"
cmp "$T/mS" "$T/mB1" >/dev/null || _bad "the model is wrong: STD != B1 outside R"
if head -c $SSIZE $S | cmp -s - "$T/mS"; then
	ok "buffered reads of the open STD see the restored data"
else
	_bad "buffered reads of the STD still see the data from before the restore"
fi
exec 5<&-
bcv_must split d5s d5b1
check_model "B1 after split" $B1 "$T/mS"

# --- full restore copies every track ---------------------------------------------

cp "$T/mS" "$T/mB1"
wtrack $S "$T/mS" 30 f30
wtrack $B1 "$T/mB1" 31 f31
wtrack $B1 "$T/mB1" 30 f30b 0 512
check_sess d5s d5b1 state=split std_changed_tracks=1 bcv_changed_tracks=2
bcv_must restore d5s d5b1 --wait
check_sess d5s d5b1 state=restored copied_tracks=$NT invalid_tracks=0 \
	std_changed_tracks=0
cp "$T/mB1" "$T/mS"
check_model "full restore: the STD is B1" $S "$T/mS"
bcv_must split d5s d5b1
check_model "B1 after split" $B1 "$T/mS"

# --- ESTABLISH of a split session copies everything again ------------------------

id=$(sess_field d5s d5b1 id)
wtrack $S "$T/mS" 40 e40
bcv_must establish d5s d5b1 --wait
check_sess d5s d5b1 id="$id" state=synchronized copied_tracks=$NT \
	std_changed_tracks=$NT
bcv_must split d5s d5b1
check_model "establish again: B1 is the STD" $B1 "$T/mS"
check_tails

# --- FIG. 10 with data: track t ---------------------------------------------------

t=17
bcv_must terminate d5s d5b1
check_no_sess d5s d5b1
cp "$T/mS" "$T/mB1"

wtrack $S "$T/mS" $t d230 8192 4096				# 230
wtrack $B1 "$T/mB1" $t d231 8192 4096				# 231
wtrack $B2 "" $t d232 8192 4096				# 232
bcv_must establish d5s d5b1 --wait				# 233
check_sess d5s d5b1 copied_tracks=$NT
bcv_must split d5s d5b1						# 234
check_sess d5s d5b1 std_changed_tracks=0 bcv_changed_tracks=0
cp "$T/mS" "$T/mB1"
check_model "234: B1 holds 230" $B1 "$T/mB1"
wtrack $S "$T/mS" $t d235 8192 4096				# 235
check_sess d5s d5b1 std_changed_tracks=1
bcv_must establish d5s d5b2 --wait				# 236
check_sess d5s d5b2 copied_tracks=$NT std_changed_tracks=$NT
[ -z "$bfm" ] || c0=$(bfm_copied)	# an attached BCV copies nothing
bcv_must split d5s d5b2						# 237
check_sess d5s d5b2 std_changed_tracks=0 bcv_changed_tracks=0
cp "$T/mS" "$T/mB2"
check_model "237: B2 holds 235" $B2 "$T/mB2"
# A full split: every track the STD covers ($NT); the tracks of the larger
# B2 past the STD's end were not touched while attached, and the BFM keeps
# them (bcv-design.rst, SPLIT: the BCV's own legs).
n=$(cat "$(vol_sysfs d5b2)/bcv/tracks")
[ "$n" -gt "$NT" ] || _bad "B2 ($n tracks) is not larger than the STD ($NT)"
bfm_check 237 "$T/mB2" "${c0:-0}" "$NT" "the $NT tracks the STD covers, not B2's $((n - NT)) past its end (full split)"
wtrack $S "$T/mS" $t d240 8192 4096				# 240
check_sess d5s d5b1 std_changed_tracks=1
check_sess d5s d5b2 std_changed_tracks=1
bcv_must reestablish d5s d5b1 --wait				# 241
check_sess d5s d5b1 state=synchronized copied_tracks=1
cp "$T/mS" "$T/mB1"
check_model "241: B1's disk holds 240" "${DISKS[1]}" "$T/mB1" $SSIZE
# 242: R = {t}; the restore is refused while B2's BFM is still stale.
udevadm settle
if wait_secs 120 bcvctl restore d5s d5b2 --incremental >/dev/null 2>"$ERR"; then
	ok "242: restore --incremental d5s d5b2"
else
	fail "242: restore --incremental d5s d5b2: $(cat "$ERR")"
fi
bcv_must wait d5s d5b2
check_sess d5s d5b2 state=restored copied_tracks=1 std_changed_tracks=0
check_sess d5s d5b1 state=synchronized std_changed_tracks=1
mcopy "$T/mB2" "$T/mS" $((t * TS)) $TS
cp "$T/mS" "$T/mB1"
check_model "242: the STD holds 235 again" $S "$T/mS"
check_model "242: attached B1's disk got 235 too" "${DISKS[1]}" "$T/mS" $SSIZE
check_model "242: B2's disk is unchanged" "${DISKS[2]}" "$T/mB2" $SSIZE
std_mirror 242
wtrack $S "$T/mS" $t d243 8192 4096				# 243
cp "$T/mS" "$T/mB1"
cp "$T/mS" "$T/mB2"
check_sess d5s d5b1 std_changed_tracks=1
check_sess d5s d5b2 std_changed_tracks=1
check_model "243: B1's disk has 243" "${DISKS[1]}" "$T/mS" $SSIZE
check_model "243: B2's disk has 243" "${DISKS[2]}" "$T/mS" $SSIZE
[ -z "$bfm" ] || c0=$(bfm_copied)
bcv_must split d5s d5b2 --diff					# 244
check_sess d5s d5b2 state=split std_changed_tracks=0 bcv_changed_tracks=0
check_model "244: B2 holds 243" $B2 "$T/mS"
bfm_check 244 "$T/mS" "${c0:-0}" 1 "exactly track $t (differential split)"
bcv_must split d5s d5b1
check_model "B1 holds 243" $B1 "$T/mS"
check_model "the STD holds 243" $S "$T/mS"
std_mirror "the end"
check_tails

pass
