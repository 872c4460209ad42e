#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check-all: 6.12 too)
# The last valid copy (bcv-design.rst sections 2, 3, 5): a track is never marked
# invalid at its last valid position; a write that no position could take
# fails to the host with EIO and the old data stays readable.  Judged by
# data (byte for byte against models), exit codes, query --json and sysfs.
#
#  A. A full RESTORE has not reached track L (the last) yet: L is valid
#     only on the BCV (MM).  1. A 4 KiB discard in L (STD legs only)
#     succeeds, L reads, the restore completes, the STD equals the BCV.
#     2. A 4 KiB write-zeroes in L that the STD's (delayed) leg refuses:
#     the same, and the STD and the BCV hold the BCV's data with those
#     4 KiB zeroed.  3. The leg takes the write-zeroes, the MM refuses it
#     (then the kernel writes zeroes): as in 2.
#  B. A 4 KiB write into L fails on L's only valid position and succeeds
#     on positions invalid for L: EIO, that position stays valid, L reads
#     its old data, the copy completes, every backing device equals the
#     model.  1. A STD's primary while its mirror (create --mirror)
#     syncs.  2. A split BCV's primary while its BFM syncs after a full
#     split.  3. The MM during a full RESTORE (the BCV's device fails).
#  C. One 128 KiB write over tracks T, T+1 of a STD with two synced legs,
#     the primary failing in the first half of T, the mirror in the second:
#     EIO; healed and resynced, the legs are byte-identical, the volume
#     reads as them, every 32 KiB piece is old or new data.
# Copies are slowed down deterministically (see below).
#
# disks: 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K 4128K
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): 4128 KiB disks hold 4 MiB of data,
# 64 whole tracks, and 32 KiB of metadata past them, so that the last
# track (where the test makes a leg fail) holds no metadata.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 15
need_sessions
need dmsetup blockdev udevadm blkdiscard cmp
sess_setup

TS=65536
TRACK_SIZE=$TS
TSEC=$((TS / 512))		# sectors per track
DSZ=$(blockdev --getsz "${DISKS[0]}")	# sectors of each disk
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))	# of each volume
[ "$SIZE" = $((4 << 20)) ] ||
	fail "set-up: a volume on ${DISKS[0]} ($DSZ sectors) is $SIZE bytes, want 4 MiB"
NT=$((SIZE / TS))		# 64 tracks, 4 regions
L=$((NT - 1))			# the last track, in the last region
DELAY_MS=8000

# The copies are made slow deterministically: copy_jobs=1 (one region of
# 16 tracks at a time, from track 0) and a write delay of DELAY_MS
# (dm-delay) on the copy's destination, so that the engine is busy with
# region 0 while the test works in the last region.  Only the writes to
# the data area are delayed, not flushes nor the metadata area past the
# data, so that the superblock writes (a flush, then a FUA write) of the
# commands (RESTORE, SPLIT) do not hold them up for DELAY_MS while the
# engine copies.  (dm-delay has no write-zeroes: in A.2 the STD's delayed
# leg refuses the write-zeroes and the MM takes it; A.3 delays the BCV's
# reads instead.)

JOBS=/sys/module/bcv/parameters/copy_jobs
[ -w $JOBS ] || skip "no $JOBS"
old_jobs=$(cat $JOBS)
on_exit "echo $old_jobs > $JOBS"
echo 1 > $JOBS || fail "cannot set copy_jobs to 1"

# --- helpers -------------------------------------------------------------

# dm_table NAME LINE...: load a (multi-line) table and switch to it.
dm_table() {
	local n=$1
	shift
	printf '%s\n' "$@" | dmsetup load "$n" && dmsetup resume "$n"
}
# dm_slow NAME: the writes to its data area take DELAY_MS, reads and
# flushes do not; its metadata area stays linear.
dm_slow() {
	local d=${_dm_dev[$1]} ds=$((SIZE / 512))
	dm_table "$1" "0 $ds delay $d 0 0 $d 0 $DELAY_MS $d 0 0" \
		"$ds $((DSZ - ds)) linear $d $ds" ||
		fail "cannot slow down $1"
}
# dm_fail_range NAME START LEN: I/O to sectors [START, START+LEN) fails,
# the rest works.
dm_fail_range() {
	local n=$1 a=$2 len=$3 d=${_dm_dev[$1]} b lines=()
	b=$((a + len))
	[ "$a" -gt 0 ] && lines+=("0 $a linear $d 0")
	lines+=("$a $len error")
	[ "$b" -lt "$DSZ" ] && lines+=("$b $((DSZ - b)) linear $d $b")
	dm_table "$n" "${lines[@]}" || fail "cannot make $n fail in [$a, +$len)"
}
heal() {
	dm_heal "$1" || fail "cannot heal $1"
}
new_dm() {
	dm_linear "$1" "$2" || fail "cannot make dm-linear $1 over $2"
}
fill() {
	random_file "$2" $SIZE
	dd if="$2" of="$1" bs=1M oflag=direct conv=notrunc status=none ||
		fail "cannot write $1"
}
leg_inv() {
	cat "$(vol_sysfs "$1")/bcv/leg_invalid_tracks"
}
leg_copied() {
	local a
	read -r -a a < "$(vol_sysfs "$1")/bcv/leg_copied_tracks"
	echo "${a[$2]}"
}
synced() {
	[ "$(leg_inv "$1" | tr -d ' 0')" = "" ]
}
wait_synced() {
	if wait_secs 60 synced "$1"; then
		ok "$1: every leg valid for every track (leg_invalid_tracks $(leg_inv "$1"))"
	else
		_bad "$1: legs not synced after 60 s: leg_invalid_tracks $(leg_inv "$1")"
	fi
}
# mirror_syncing NAME: the set-up worked: the engine, which copies the
# regions in order, one at a time (copy_jobs 1), has not reached the last
# region (16 tracks) of NAME's mirror yet.
mirror_syncing() {
	local inv m
	inv=$(leg_inv "$1")
	m=${inv#* }
	[ "$m" -ge 16 ] &&
		ok "$1's mirror is syncing, not in the last region yet (leg_invalid_tracks $inv)" ||
		_bad "set-up: $1's mirror synced too fast (leg_invalid_tracks $inv)"
}
# primary_valid NAME WHAT: the primary is valid for every track.
primary_valid() {
	local inv
	inv=$(leg_inv "$1")
	[ "${inv%% *}" = 0 ] &&
		ok "$2: $1's primary stays valid everywhere (leg_invalid_tracks $inv)" ||
		_bad "$2: $1's primary is invalid for ${inv%% *} tracks (leg_invalid_tracks $inv), want 0"
}
# check_range MSG DEV OFF LEN MODEL: an O_DIRECT read of [OFF, +LEN) of DEV
# works and equals MODEL there.
check_range() {
	local msg=$1 dev=$2 off=$3 len=$4 model=$5
	if ! read_dev "$dev" "$len" "$off" > "$T/.r" 2> "$T/.rerr"; then
		_bad "$msg: reading [$off, +$len) of $dev failed: $(head -c 200 "$T/.rerr")"
		return 1
	fi
	dd if="$model" of="$T/.m" bs=64K skip="$off" count="$len" \
		iflag=skip_bytes,count_bytes status=none
	if cmp -s "$T/.r" "$T/.m"; then
		ok "$msg"
		return 0
	fi
	_bad "$msg: [$off, +$len) of $dev differs from its model"
	return 1
}
# write_fails MSG DEV OFF LEN TAG: one O_DIRECT write of LEN bytes (a
# single bio) at OFF must fail with EIO.
write_fails() {
	local msg=$1 dev=$2 off=$3 len=$4 p
	p=$(pattern "$5" "$len")
	if dd if="$p" of="$dev" bs="$len" count=1 seek="$off" \
		oflag=seek_bytes,direct conv=notrunc status=none 2> "$T/.werr"; then
		_bad "$msg: the write succeeded, want EIO"
		return 1
	fi
	if grep -q 'Input/output error' "$T/.werr"; then
		ok "$msg: EIO"
		return 0
	fi
	_bad "$msg: the write failed, but not with EIO: $(head -c 200 "$T/.werr")"
	return 1
}
# restore_slow STD BCV DM: start a full restore while the STD's leg DM
# takes DELAY_MS per write: the engine is busy with region 0.
restore_slow() {
	local inv
	dm_slow "$3"
	bcv_must restore "$1" "$2"
	inv=$(sess_field "$1" "$2" invalid_tracks)
	[ "${inv:-0}" -gt $((NT - 16)) ] &&
		ok "the restore has not reached the last region ($inv tracks to go)" ||
		_bad "set-up: the restore went too fast ($inv tracks to go)"
}
# restore_done STD BCV: the restore completes.
restore_done() {
	expect_exit 0 bcvctl_t 150 wait "$1" "$2" --timeout 120 || sess_dump
	check_sess "$1" "$2" state=restored invalid_tracks=0 copied_tracks=$NT
}
# Session of the STD and BCV on fresh disks: STD data in STDMODEL, BCV
# split with its own data in BCVMODEL.
# split_pair STD STDDEV BCV BCVDEV STDMODEL BCVMODEL
split_pair() {
	create_vol std "$1" "$2"
	local s=$VOL
	create_vol bcv "$3" "$4"
	local b=$VOL
	check_capacity "$1" $TS "$2"
	check_capacity "$3" $TS "$4"
	fill "$s" "$5"
	bcv_must establish "$1" "$3" --wait
	bcv_must split "$1" "$3"
	fill "$b" "$6"
}

# blkdiscard -f: no probe for signatures, which would read the volume
# through the delays.
LOFF=$((L * TS))		# the last track's byte offset
LSEC=$((L * TSEC))		# and sector

# --- A. discard and write-zeroes where only the MM is valid ---------------

note "A.1 a 4 KiB discard in track $L, which the full RESTORE has not reached yet"
new_dm sa1_dm "${DISKS[0]}"
split_pair sa1 "$DM" ba1 "${DISKS[1]}" "$T/a1s" "$T/a1b"
SA1=/dev/bcv/sa1
restore_slow sa1 ba1 sa1_dm
expect "discard 4 KiB in track $L during the restore" \
	blkdiscard -f -o $((LOFF + 8192)) -l 4096 $SA1
note "after the discard: $(sess_line sa1 ba1)"
check_range "track $L reads the BCV's data during the restore" \
	$SA1 $LOFF $TS "$T/a1b"
heal sa1_dm
restore_done sa1 ba1
check_model "sa1 equals the BCV after the restore" $SA1 "$T/a1b"
check_model "sa1's leg equals the BCV" "${DISKS[0]}" "$T/a1b"
check_model "the BCV kept its data" "${DISKS[1]}" "$T/a1b"

note "A.2 a 4 KiB write-zeroes in track $L, which the full RESTORE has not reached yet"
new_dm sa2_dm "${DISKS[2]}"
split_pair sa2 "$DM" ba2 "${DISKS[3]}" "$T/a2s" "$T/a2b"
SA2=/dev/bcv/sa2
restore_slow sa2 ba2 sa2_dm
expect "write-zeroes 4 KiB in track $L during the restore" \
	blkdiscard -f -z -o $((LOFF + 8192)) -l 4096 $SA2
note "after the write-zeroes: $(sess_line sa2 ba2)"
dd if=/dev/zero of="$T/a2b" bs=4096 seek=$(((LOFF + 8192) / 4096)) count=1 \
	conv=notrunc status=none
check_range "track $L reads the BCV's data and the zeroes during the restore" \
	$SA2 $LOFF $TS "$T/a2b"
heal sa2_dm
restore_done sa2 ba2
check_model "sa2 is the BCV's data with 4 KiB of zeroes" $SA2 "$T/a2b"
check_model "sa2's leg too" "${DISKS[2]}" "$T/a2b"
check_model "the BCV got the zeroes" "${DISKS[3]}" "$T/a2b"

note "A.3 a 4 KiB write-zeroes in track $L that the STD's leg takes and the MM, its only valid position, refuses"
# The BCV's device is a dm-delay whose reads (the restore's) take
# DELAY_MS: it refuses write-zeroes, the STD's disk takes them.  udev
# would probe it through that delay for minutes: its queue is stopped
# until the device is healed.
new_dm sa3b_dm "${DISKS[14]}"
split_pair sa3 "${DISKS[13]}" ba3 "$DM" "$T/a3s" "$T/a3b"
SA3=/dev/bcv/sa3
udevadm settle
udevadm control --stop-exec-queue || fail "cannot stop udev's queue"
on_exit "udevadm control --start-exec-queue"
d=${DISKS[14]}
echo "0 $DSZ delay $d 0 $DELAY_MS $d 0 0" | dmsetup load sa3b_dm &&
	dmsetup resume --noudevsync sa3b_dm || fail "cannot slow down sa3b_dm"
expect "bcvctl restore sa3 ba3" bcvctl_t 60 restore sa3 ba3
inv=$(sess_field sa3 ba3 invalid_tracks)
[ "${inv:-0}" -gt $((NT - 16)) ] &&
	ok "the restore has not reached the last region ($inv tracks to go)" ||
	_bad "set-up: the restore went too fast ($inv tracks to go)"
# The MM refuses the write-zeroes: nothing valid took it, so it fails
# (EOPNOTSUPP), and the kernel writes zeroed pages instead, which both
# take.  Either way the track must read as the data the host was told of.
if blkdiscard -f -z -o $((LOFF + 8192)) -l 4096 $SA3 2> "$T/.zerr"; then
	ok "write-zeroes 4 KiB in track $L during the restore"
	dd if=/dev/zero of="$T/a3b" bs=4096 seek=$(((LOFF + 8192) / 4096)) \
		count=1 conv=notrunc status=none
else
	note "the write-zeroes failed: $(cat "$T/.zerr"); the old data must stay"
fi
note "after the write-zeroes: $(sess_line sa3 ba3)"
check_range "track $L reads as the BCV during the restore" \
	$SA3 $LOFF $TS "$T/a3b"
dmsetup load sa3b_dm --table "0 $DSZ linear $d 0" &&
	dmsetup resume --noudevsync sa3b_dm || fail "cannot heal sa3b_dm"
# udevd ignores a control message that reaches it without the sender's
# credentials ("Invalid sender uid 65534": sent before it set SO_PASSCRED
# on the connection), and a stopped queue hangs every dmsetup after this:
# again until the pending events are processed.
for i in 1 2 3; do
	udevadm control --start-exec-queue
	udevadm settle --timeout=30 && break
done
restore_done sa3 ba3
check_model "sa3 equals the BCV" $SA3 "$T/a3b"
check_model "sa3's disk too" "${DISKS[13]}" "$T/a3b"
check_model "the BCV's disk" "${DISKS[14]}" "$T/a3b"

# --- B. a partial write whose only valid position fails --------------------

# One copy job at a time: the engine reaches the last region (track $L)
# after 3 delayed regions, not with the first batch, so that a slow guest
# (the debug kernel) still writes there before the mirror has it.
jobs_p=/sys/module/bcv/parameters/copy_jobs
jobs_was=$(cat $jobs_p)
echo 1 > $jobs_p || fail "cannot set copy_jobs"

note "B.1 a STD whose mirror is syncing; its primary fails in track $L"
new_dm sb1p_dm "${DISKS[4]}"
P=$DM
new_dm sb1m_dm "${DISKS[5]}"
M=$DM
fill "$P" "$T/b1"
dm_slow sb1m_dm
create_vol std sb1 "$P" --mirror "$M"
S=$VOL
check_capacity sb1 $TS "$P" "$M"
mirror_syncing sb1
dm_fail_range sb1p_dm $LSEC $TSEC
write_fails "a 4 KiB write in track $L, the syncing mirror taking it" \
	$S $((LOFF + 4096)) 4096 b1w
primary_valid sb1 "after the failed write"
heal sb1p_dm
check_range "track $L reads its old data" $S $LOFF $TS "$T/b1"
heal sb1m_dm
wait_synced sb1
check_model "sb1's primary holds the old data" "${DISKS[4]}" "$T/b1"
check_model "sb1's mirror was synced to it" "${DISKS[5]}" "$T/b1"
check_model "sb1 reads the old data" $S "$T/b1"

note "B.2 a BCV whose fixed mirror is syncing after a full split; its primary fails in track $L"
create_vol std sb2 "${DISKS[6]}"
S=$VOL
new_dm sb2p_dm "${DISKS[7]}"
P=$DM
new_dm sb2m_dm "${DISKS[8]}"
M=$DM
create_vol bcv bb2 "$P" --mirror "$M"
B=$VOL
check_capacity bb2 $TS "$P" "$M"
wait_synced bb2
fill $S "$T/b2"
bcv_must establish sb2 bb2 --wait
dm_slow sb2m_dm
bcv_must split sb2 bb2
mirror_syncing bb2
dm_fail_range sb2p_dm $LSEC $TSEC
write_fails "a 4 KiB write to the BCV in track $L, the syncing BFM taking it" \
	$B $((LOFF + 4096)) 4096 b2w
primary_valid bb2 "after the failed write"
heal sb2p_dm
check_range "bb2's track $L reads its old data" $B $LOFF $TS "$T/b2"
heal sb2m_dm
wait_synced bb2
check_sess sb2 bb2 state=split std_changed_tracks=0
check_model "bb2's primary holds the split's data" "${DISKS[7]}" "$T/b2"
check_model "bb2's BFM was synced to it" "${DISKS[8]}" "$T/b2"
check_model "bb2 reads the split's data" $B "$T/b2"
check_model "sb2 unchanged" $S "$T/b2"
echo "$jobs_was" > $jobs_p

note "B.3 a full RESTORE that has not reached track $L; the BCV's device fails there"
new_dm sb3s_dm "${DISKS[9]}"
SL=$DM
new_dm sb3b_dm "${DISKS[10]}"
BL=$DM
split_pair sb3 "$SL" bb3 "$BL" "$T/b3s" "$T/b3b"
S=/dev/bcv/sb3
dm_fail_range sb3b_dm $LSEC $TSEC
restore_slow sb3 bb3 sb3s_dm
write_fails "a 4 KiB write to the STD in track $L, the MM failing" \
	$S $((LOFF + 4096)) 4096 b3w
note "after the failed write: $(sess_line sb3 bb3)"
heal sb3b_dm
check_range "track $L reads the BCV's data during the restore" \
	$S $LOFF $TS "$T/b3b"
heal sb3s_dm
restore_done sb3 bb3
check_model "sb3 equals the BCV's old data" $S "$T/b3b"
check_model "sb3's leg too" "${DISKS[9]}" "$T/b3b"
check_model "the BCV kept its data" "${DISKS[10]}" "$T/b3b"

# --- C. a write that fails everywhere, in different pieces -----------------

TT=20				# tracks TT and TT+1, in region 1
note "C. a 128 KiB write over tracks $TT and $((TT + 1)): the primary fails in the first half of $TT, the mirror in the second"
new_dm sc_p_dm "${DISKS[11]}"
P=$DM
new_dm sc_m_dm "${DISKS[12]}"
M=$DM
create_vol std sc "$P" --mirror "$M"
S=$VOL
check_capacity sc $TS "$P" "$M"
wait_synced sc
fill $S "$T/c"
check_model "sc's mirror holds the data" "${DISKS[12]}" "$T/c"
c0=$(leg_copied sc 1)
dm_fail_range sc_p_dm $((TT * TSEC)) $((TSEC / 2))
dm_fail_range sc_m_dm $((TT * TSEC + TSEC / 2)) $((TSEC / 2))
write_fails "one 128 KiB write, each leg failing in a different half of track $TT" \
	$S $((TT * TS)) $((2 * TS)) cw
note "sc leg_invalid_tracks after the failed write: $(leg_inv sc)"
heal sc_p_dm
heal sc_m_dm
wait_synced sc
c1=$(leg_copied sc 1)
[ $((c1 - c0)) -eq 2 ] &&
	ok "the mirror got tracks $TT and $((TT + 1)) from the primary" ||
	_bad "tracks copied to the mirror after the failed write: $((c1 - c0)), want 2"
check_same "sc's two legs are byte-identical" "${DISKS[11]}" "${DISKS[12]}" $SIZE
check_same "sc reads as its legs" $S "${DISKS[11]}" $SIZE
# Outside the write: the old data; inside: each 32 KiB piece (the legs'
# I/O was cut at the dm segments) old or new, as on the legs.
model_of $S "$T/c_now" $SIZE
cp "$T/c_now" "$T/c_out"
mcopy "$T/c" "$T/c_out" $((TT * TS)) $((2 * TS))
cmp -s "$T/c_out" "$T/c" &&
	ok "sc holds the old data outside the failed write" ||
	_bad "sc: data outside the failed write changed"
# piece FILE OFF: the 32 KiB at byte OFF of FILE.
piece() {
	dd if="$1" bs=32K skip=$(($2 / 32768)) count=1 status=none
}
cw=$(pattern cw $((2 * TS)))
bad=
for ((o = TT * TS; o < (TT + 2) * TS; o += TS / 2)); do
	cmp -s <(piece "$T/c_now" $o) <(piece "$T/c" $o) && continue
	cmp -s <(piece "$T/c_now" $o) <(piece "$cw" $((o - TT * TS))) && continue
	bad+=" $o"
done
[ -z "$bad" ] && ok "sc holds old or new data in each 32 KiB piece of the failed write" ||
	_bad "sc: the 32 KiB pieces at byte offsets$bad are neither old nor new data"

pass
