#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fixed mirror legs (bcv-design.rst sections 1, 4 and 8; the patent's FIG. 9).
#
#  A. FIG. 9: a STD with two legs, B1, and B2 with a fixed mirror (BFM).
#     Data on every backing device after every step; a BFM is not written
#     while its BCV is attached; a full split copies every track to it, a
#     differential split exactly the PB-changed tracks; writes to a split
#     BCV reach both its legs; an incremental restore brings both legs of
#     the STD (and the attached B1) up to date.
#  B. A leg that fails (dm "error" under it) while the volume is written
#     and read: host I/O keeps working, reads of tracks the failed leg
#     still claims are served by the other leg, no acknowledged write is
#     lost, and the leg is resynced once it works again.
#  C. add-leg and remove-leg: a new leg is synced by the copy engine, a
#     leg goes, refusals change nothing.
#
# disks: 4M 4M 4M 4M 4M 4M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): on these disks 4165632 bytes, 64
# tracks of 64 KiB, the last one of 36 KiB.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 6
need_sessions
need dmsetup blockdev udevadm
sess_setup

TS=65536
TRACK_SIZE=$TS
# Every volume here is SIZE bytes: the data area of a disk.
SIZE=$(( $(bcv_data_sectors "$(blockdev --getsz "${DISKS[0]}")" $TS) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))	# 64 tracks
S=/dev/bcv/s9
B1=/dev/bcv/s9b1
B2=/dev/bcv/s9b2

# The STD's primary has data before the STD exists: the mirror given at
# create must get it.
random_file "$T/m0" $SIZE
dd if="$T/m0" of="${DISKS[0]}" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write ${DISKS[0]}"
if ! out=$(bcvctl create std s9 "${DISKS[0]}" --mirror "${DISKS[1]}" 2>&1); then
	case "$out" in
	*"not supported"*) skip "no fixed mirror legs: $out" ;;
	esac
	fail "bcvctl create std s9 with a mirror: $out"
fi
echo "$out"
wait_for test -b $S || fail "$S did not appear"
create_vol bcv s9b1 "${DISKS[2]}"
create_vol bcv s9b2 "${DISKS[3]}" --mirror "${DISKS[4]}"
check_capacity s9 $TS "${DISKS[0]}" "${DISKS[1]}"
check_capacity s9b1 $TS "${DISKS[2]}"
check_capacity s9b2 $TS "${DISKS[3]}" "${DISKS[4]}"

# leg_field NAME FIELD: /sys/block/bcvN/bcv/FIELD of volume NAME.
leg_field() {
	cat "$(vol_sysfs "$1")/bcv/$2"
}
# leg_copied NAME I: tracks copied to leg I of NAME.
leg_copied() {
	local a
	read -r -a a < "$(vol_sysfs "$1")/bcv/leg_copied_tracks"
	echo "${a[$2]}"
}
synced() {
	[ "$(leg_field "$1" leg_invalid_tracks | tr -d ' 0')" = "" ]
}
wait_synced() {
	wait_secs 60 synced "$1" ||
		_bad "$1: legs not synced after 60 s: $(leg_field "$1" leg_invalid_tracks)"
}
# primary_stale MIN WHAT: s9f's primary is stale for at least MIN tracks,
# its mirror for none.
primary_stale() {
	local inv i0 i1
	inv=$(leg_field s9f leg_invalid_tracks)
	read -r i0 i1 <<< "$inv"
	[ "$i0" -ge "$1" ] && [ "$i1" -eq 0 ] &&
		ok "$2: the primary is stale for $i0 tracks, the mirror for none" ||
		_bad "$2: leg_invalid_tracks $inv, want the primary >= $1, the mirror 0"
}
# check_legs NAME MODEL DEV...: each backing device holds MODEL.
check_legs() {
	local name=$1 model=$2 d
	shift 2
	for d in "$@"; do
		check_model "$name: leg $d" "$d" "$model" $SIZE
	done
}

# Mirrors given at create start stale and are synced from the primary.
wait_synced s9
wait_synced s9b2
check_model "s9's mirror was synced from its primary" "${DISKS[1]}" "$T/m0" $SIZE
check_model "s9 reads as its primary" $S "$T/m0" $SIZE
[ "$(leg_field s9 legs)" = "$(kname "${DISKS[0]}") $(kname "${DISKS[1]}")" ] &&
	ok "s9's legs in sysfs: $(leg_field s9 legs)" ||
	_bad "s9's legs in sysfs: '$(leg_field s9 legs)'"
# legs/Mn/: one directory per leg, one value per file.
# leg_dir NAME N FILE: /sys/block/bcvN/legs/MN/FILE of volume NAME.
leg_dir() {
	cat "$(vol_sysfs "$1")/legs/M$2/$3" 2>/dev/null
}
got="$(leg_dir s9 1 device)/$(leg_dir s9 2 device) $(leg_dir s9 1 state)/$(leg_dir s9 2 state) $(leg_dir s9 2 invalid_tracks) $(leg_dir s9 2 copied_tracks) $(leg_dir s9 1 errors)"
want="$(kname "${DISKS[0]}")/$(kname "${DISKS[1]}") ok/ok 0 $NT 0"
[ "$got" = "$want" ] && ok "s9's legs/M1 and legs/M2: $got" ||
	_bad "s9's legs/Mn: '$got', want '$want'"
[ ! -e "$(vol_sysfs s9)/legs/M3" ] && ok "no legs/M3 for two legs" ||
	_bad "s9 has a legs/M3"
l=$(list_json_lines | grep -F '"name":"s9b2"')
case "$l" in
*'"position":0'*'"position":1,"invalid_tracks":0'*)
	ok "list --json shows s9b2's two legs" ;;
*)	_bad "list --json for s9b2: $l" ;;
esac
bcvctl query s9b2 --json | tr -d '[:space:]' | grep -q '"legs":\[{"device":"/dev/'"$(kname "${DISKS[3]}")"'","position":0' &&
	ok "query s9b2 --json shows its legs" ||
	_bad "query s9b2 --json: $(bcvctl query s9b2 --json)"

# --- A. FIG. 9 ---------------------------------------------------------------

random_file "$T/mS" $SIZE
dd if="$T/mS" of=$S bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $S"
check_legs s9 "$T/mS" "${DISKS[0]}" "${DISKS[1]}"
# B2's own data before it is established, on both of its legs.
random_file "$T/mB2" $SIZE
dd if="$T/mB2" of=$B2 bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $B2"
check_legs s9b2 "$T/mB2" "${DISKS[3]}" "${DISKS[4]}"
cp "$T/mB2" "$T/bfm"		# what B2's BFM holds

bcv_must establish s9 s9b1 --wait
bcv_must establish s9 s9b2 --wait
check_sess s9 s9b1 state=synchronized copied_tracks=$NT
check_sess s9 s9b2 state=synchronized copied_tracks=$NT
check_model "B1's disk is the STD" "${DISKS[2]}" "$T/mS" $SIZE
check_model "B2's primary is the STD" "${DISKS[3]}" "$T/mS" $SIZE
check_model "B2's BFM is not written while attached" "${DISKS[4]}" "$T/bfm" $SIZE

# STD writes while both are attached: every leg of the STD, both MMs.
for t in 3 17 40; do
	mwrite $S "$T/mS" $((t * TS)) $TS "a$t" || _bad "write track $t"
done
check_legs s9 "$T/mS" "${DISKS[0]}" "${DISKS[1]}"
check_model "B1 got the writes" "${DISKS[2]}" "$T/mS" $SIZE
check_model "B2's BFM still untouched" "${DISKS[4]}" "$T/bfm" $SIZE

# 237: full split of B2: every track goes to its BFM.
c0=$(leg_copied s9b2 1)
bcv_must split s9 s9b2
wait_synced s9b2
c1=$(leg_copied s9b2 1)
[ $((c1 - c0)) -eq $NT ] && ok "full split: $NT tracks copied to B2's BFM" ||
	_bad "full split: $((c1 - c0)) tracks copied to B2's BFM, want $NT"
cp "$T/mS" "$T/mB2"
check_legs s9b2 "$T/mB2" "${DISKS[3]}" "${DISKS[4]}"

# Changes on both sides, then REESTABLISH and a differential split: the
# BFM gets exactly the tracks PB says changed (STD's and B2's own).
for t in 5 6 50; do
	mwrite $S "$T/mS" $((t * TS)) $TS "b$t" || _bad "write track $t"
done
mwrite $B2 "$T/mB2" $((9 * TS)) 4096 "c9" || _bad "write B2 track 9"
check_legs s9b2 "$T/mB2" "${DISKS[3]}" "${DISKS[4]}"
check_sess s9 s9b2 state=split std_changed_tracks=3 bcv_changed_tracks=1
bcv_must reestablish s9 s9b2 --wait
check_sess s9 s9b2 state=synchronized copied_tracks=4
mwrite $S "$T/mS" $((60 * TS)) 512 "d60" || _bad "write track 60"
c0=$(leg_copied s9b2 1)
bcv_must split s9 s9b2 --diff
wait_synced s9b2
c1=$(leg_copied s9b2 1)
# PB column: 5 6 50 and 9 (set by REESTABLISH) and 60.
[ $((c1 - c0)) -eq 5 ] && ok "differential split: 5 tracks copied to B2's BFM" ||
	_bad "differential split: $((c1 - c0)) tracks copied to B2's BFM, want 5"
cp "$T/mS" "$T/mB2"
check_legs s9b2 "$T/mB2" "${DISKS[3]}" "${DISKS[4]}"

# Writes to the split B2 reach both of its legs; then an incremental
# restore brings both STD legs, and the attached B1, to B2's data.
mwrite $B2 "$T/mB2" $((20 * TS)) $TS "e20" || _bad "write B2 track 20"
mwrite $B2 "$T/mB2" $((21 * TS + 4096)) 8192 "e21" || _bad "write B2 track 21"
mwrite $S "$T/mS" $((30 * TS)) $TS "f30" || _bad "write track 30"
check_legs s9b2 "$T/mB2" "${DISKS[3]}" "${DISKS[4]}"
check_sess s9 s9b2 state=split std_changed_tracks=1 bcv_changed_tracks=2
bcv_must restore s9 s9b2 --incremental --wait
check_sess s9 s9b2 state=restored copied_tracks=3
cp "$T/mB2" "$T/mS"
check_legs s9 "$T/mS" "${DISKS[0]}" "${DISKS[1]}"
check_model "B1 follows the restore" "${DISKS[2]}" "$T/mS" $SIZE
c0=$(leg_copied s9b2 1)
bcv_must split s9 s9b2 --diff
bcv_must split s9 s9b1
wait_synced s9b2
c1=$(leg_copied s9b2 1)
# PB of B2's column after the restore: U everywhere (it is the source).
[ $((c1 - c0)) -eq 0 ] && ok "differential split after a restore: nothing for the BFM" ||
	_bad "differential split after a restore: $((c1 - c0)) tracks copied to the BFM"
check_legs s9b2 "$T/mS" "${DISKS[3]}" "${DISKS[4]}"
check_model "B1 split" $B1 "$T/mS" $SIZE

# A full RESTORE from B1 rewrites both legs of the STD.
cp "$T/mS" "$T/mB1"
mwrite $B1 "$T/mB1" $((12 * TS)) $TS "r12" || _bad "write B1 track 12"
bcv_must restore s9 s9b1 --wait
check_sess s9 s9b1 state=restored copied_tracks=$NT
check_legs s9 "$T/mB1" "${DISKS[0]}" "${DISKS[1]}"
bcv_must split s9 s9b1
bcv_must terminate s9 s9b1
bcv_must terminate s9 s9b2
remove_vol s9b1
remove_vol s9b2
remove_vol s9

# --- B. a failing leg ------------------------------------------------------------

dm_linear s9p_dm "${DISKS[0]}" || fail "cannot make dm-linear over ${DISKS[0]}"
dp=$DM
create_vol std s9f "$dp" --mirror "${DISKS[1]}"
F=$VOL
check_capacity s9f $TS "$dp" "${DISKS[1]}"
wait_synced s9f
random_file "$T/mF" $SIZE
dd if="$T/mF" of=$F bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $F"
check_legs s9f "$T/mF" "${DISKS[0]}" "${DISKS[1]}"

dm_fail s9p_dm || fail "cannot switch s9p_dm to error"
for t in 2 3 33; do
	expect "write track $t with the primary failing" \
		mwrite $F "$T/mF" $((t * TS)) $TS "g$t"
done
expect "a partial write with the primary failing" \
	mwrite $F "$T/mF" $((45 * TS + 512)) 1024 "g45"
check_model "every track reads back right with the primary failing" $F "$T/mF" $SIZE
primary_stale 4 "writes with the primary failing"
[ "$(leg_dir s9f 1 errors)" -ge 4 ] && [ "$(leg_dir s9f 2 errors)" = 0 ] &&
	ok "legs/M1/errors counts the failed writes ($(leg_dir s9f 1 errors))" ||
	_bad "errors after 4 failed writes: M1 '$(leg_dir s9f 1 errors)', M2 '$(leg_dir s9f 2 errors)'"
dmesg | grep -q "s9f: write error on $(kname "$dp") (M1)" &&
	ok "the kernel log names the failed write's leg" ||
	_bad "no 'write error on $(kname "$dp") (M1)' in the kernel log"
dm_heal s9p_dm || fail "cannot heal s9p_dm"
wait_synced s9f
check_legs s9f "$T/mF" "${DISKS[0]}" "${DISKS[1]}"
check_model "s9f after the resync" $F "$T/mF" $SIZE

# Both legs valid everywhere, then the primary fails under reads only:
# the reads that go to it fail there, are retried on the mirror, and the
# primary is marked stale for what they covered.
dm_fail s9p_dm || fail "cannot switch s9p_dm to error"
check_model "reads with the primary failing (read errors retried)" $F "$T/mF" $SIZE
primary_stale 16 "read errors retried on the mirror"
dm_heal s9p_dm || fail "cannot heal s9p_dm"
wait_synced s9f
check_legs s9f "$T/mF" "${DISKS[0]}" "${DISKS[1]}"

# The mirror fails now: the primary carries on.
dm_linear s9m_dm "${DISKS[2]}" || fail "cannot make dm-linear over ${DISKS[2]}"
dm_=$DM
remove_vol s9f
create_vol std s9g "$dp" --mirror "$dm_"
G=$VOL
wait_synced s9g
dd if="$T/mF" of=$G bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $G"
dm_fail s9m_dm || fail "cannot switch s9m_dm to error"
expect "write track 7 with the mirror failing" \
	mwrite $G "$T/mF" $((7 * TS)) $TS "h7"
check_model "s9g reads right with the mirror failing" $G "$T/mF" $SIZE
dm_heal s9m_dm || fail "cannot heal s9m_dm"
wait_synced s9g
check_legs s9g "$T/mF" "${DISKS[0]}" "${DISKS[2]}"

# Both legs failing: a write fails (no own leg took it).
dm_fail s9p_dm
dm_fail s9m_dm
if mwrite $G "" $((8 * TS)) 4096 "x8" 2>/dev/null; then
	_bad "a write with every leg failing succeeded"
else
	ok "a write with every leg failing fails"
fi
# Nothing took the write: the primary keeps the track (its old data stays
# readable) and the mirror, which might hold other pieces of the failed
# write, is made a copy of it once it works again.  Unless the write never
# went out: if its region was not active in the activity log (idle for a
# checkpoint interval, as on a slow kernel), the metadata write comes
# first, fails on both legs, and the host write fails before any data
# moved: both legs keep the old data and nothing is stale.
inv=$(leg_field s9g leg_invalid_tracks)
case "$inv" in
"0 1")	ok "a write that failed everywhere: the primary keeps the track, the mirror is stale" ;;
"0 0")	if dmesg | grep -q 's9g: metadata write failed'; then
		ok "a write that failed everywhere never went out: its metadata write failed first"
	else
		_bad "after a write that failed everywhere: no leg stale, and no metadata write failed"
	fi ;;
*)	_bad "after a write that failed everywhere: $inv, want '0 1' (or '0 0' before any data moved)" ;;
esac
dm_heal s9p_dm
dm_heal s9m_dm
wait_synced s9g
check_model "s9g still reads as before" $G "$T/mF" $SIZE
check_legs s9g "$T/mF" "${DISKS[0]}" "${DISKS[2]}"
remove_vol s9g

# --- C. add-leg and remove-leg -------------------------------------------------

create_vol std s9c "${DISKS[3]}"
C=$VOL
create_vol bcv s9cb "${DISKS[4]}"
random_file "$T/mC" $SIZE
dd if="$T/mC" of=$C bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $C"
bcv_busy remove-leg s9c "${DISKS[3]}"			# the only leg
bcv_refused remove-leg s9c "${DISKS[1]}"		# not a leg of s9c
bcv_busy add-leg s9c "${DISKS[4]}"			# backs s9cb
bcv_missing add-leg s9nosuch "${DISKS[1]}"		# no such volume
bcv_refused add-leg s9c /dev/bcvt-no-such-disk		# no such device: not 3
bcv_refused remove-leg s9c /dev/bcvt-no-such-disk
bcv_usage add-leg s9c
bcv_must add-leg s9c "${DISKS[1]}"
wait_synced s9c
[ "$(leg_copied s9c 1)" -eq $NT ] && ok "the new leg got $NT tracks" ||
	_bad "the new leg got $(leg_copied s9c 1) tracks, want $NT"
check_legs s9c "$T/mC" "${DISKS[3]}" "${DISKS[1]}"
bcv_must add-leg s9c "${DISKS[5]}"
wait_synced s9c
bcv_refused add-leg s9c "$dp"				# three legs already
check_legs s9c "$T/mC" "${DISKS[5]}"
check_capacity s9c $TS "${DISKS[3]}" "${DISKS[1]}" "${DISKS[5]}"

# A STD's legs change with a BCV attached (issue 22, defect 16: how a
# STD whose legs died while a BCV held its data gets a leg again); an
# attached BCV's do not.
bcv_must establish s9c s9cb --wait
bcv_must remove-leg s9c "${DISKS[5]}"			# STD with a BCV attached
bcv_must add-leg s9c "${DISKS[5]}"
wait_synced s9c
check_legs s9c "$T/mC" "${DISKS[5]}"
check_sess s9c s9cb state=synchronized
bcv_busy add-leg s9cb "$dp"				# attached BCV
bcv_must split s9c s9cb

# A split BCV gets a fixed mirror: synced from its primary.
bcv_must add-leg s9cb "$dp"
wait_synced s9cb
check_legs s9cb "$T/mC" "${DISKS[4]}" "$dp"

# The STD's primary goes; the others carry the data.
mwrite $C "$T/mC" $((11 * TS)) $TS "k11" || _bad "write track 11"
bcv_must remove-leg s9c "${DISKS[3]}"
check_no_sb "${DISKS[3]}"			# a removed leg no longer assembles
[ "$(leg_field s9c legs)" = "$(kname "${DISKS[1]}") $(kname "${DISKS[5]}")" ] &&
	ok "s9c's legs after removing the primary: $(leg_field s9c legs)" ||
	_bad "s9c's legs after removing the primary: '$(leg_field s9c legs)'"
got="$(leg_dir s9c 1 device) $(leg_dir s9c 2 device) $(leg_dir s9c 2 copied_tracks)"
want="$(kname "${DISKS[1]}") $(kname "${DISKS[5]}") $NT"
[ "$got" = "$want" ] && [ ! -e "$(vol_sysfs s9c)/legs/M3" ] &&
	ok "legs/Mn moved down with the legs: $got" ||
	_bad "legs/Mn after removing the primary: '$got' (M3: $(ls "$(vol_sysfs s9c)/legs")), want '$want'"
check_model "s9c without its first leg" $C "$T/mC" $SIZE
bcv_must reestablish s9c s9cb --wait
check_sess s9c s9cb state=synchronized copied_tracks=1
bcv_must split s9c s9cb
wait_synced s9cb
check_legs s9cb "$T/mC" "${DISKS[4]}" "$dp"

# RESTORE right after a full split: the BCV's fixed mirror is still being
# synced; the restore lets it finish rather than refuse.
mwrite $C "$T/mC" $((13 * TS)) $TS "m13" || _bad "write track 13"
bcv_must reestablish s9c s9cb --wait
# s9cb's BFM (on s9p_dm) answers every I/O after 1.5 s: a slow BFM sync.
sz=$(blockdev --getsz "${DISKS[0]}")
dmsetup load s9p_dm --table "0 $sz delay ${DISKS[0]} 0 1500" &&
	dmsetup resume s9p_dm || fail "cannot slow down s9p_dm"
bcv_must split s9c s9cb
mwrite $C "" $((14 * TS)) $TS "n14" || _bad "write track 14"
note "s9cb's legs to sync at the restore: $(leg_field s9cb leg_invalid_tracks)"
bcv_must restore s9c s9cb --wait
dm_heal s9p_dm || fail "cannot heal s9p_dm"
check_sess s9c s9cb state=restored copied_tracks=$NT
check_model "s9c restored from s9cb" $C "$T/mC" $SIZE
check_legs s9c "$T/mC" "${DISKS[1]}" "${DISKS[5]}"
bcv_must split s9c s9cb
wait_synced s9cb
check_legs s9cb "$T/mC" "${DISKS[4]}" "$dp"

pass
