#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# disks: 16M 16M 16M
#
# A STD's queue limits follow the devices its writes reach (issue 22,
# item 14).  A host write to a STD is cloned to every own leg and every
# attached BCV's primary; the block layer splits a clone by the limits of
# the device it goes to, but an operation that device does not have at
# all fails there (BLK_STS_NOTSUPP).  Write-zeroes is the one a host
# actually sends: if the STD advertises it because its legs have it, a
# write-zeroes fails on a BCV without it, counts as an I/O error of the
# BCV's position and drops the session to syncinprog until the copy
# engine has rewritten the range.  The STD must stop advertising
# write-zeroes while such a device is among its write targets, so that
# the kernel writes zeroed pages instead, and advertise it again once
# the device left them.  Discards go to own legs only: a BCV does not
# change the STD's discard limits.
#
#  A. STD on a virtio disk (QEMU's virtio-blk has write-zeroes), BCV on
#     a dm device without it (dm-crypt with cipher_null, or dm-delay
#     where the guest has no dm-crypt: neither target passes
#     write-zeroes on).  ESTABLISH: the STD's write_zeroes_max_bytes
#     drops to 0, discard_max_bytes stays.  BLKZEROOUT (blkdiscard -z)
#     of whole and partial tracks: the session stays synchronized (no
#     state event, no error event, nothing copied again), its errors and
#     the legs' errors stay 0, no error line in the kernel log, and the
#     STD, the BCV's device and, after SPLIT, the BCV volume hold the
#     model with the range zeroed.  SPLIT: write-zeroes again (and works
#     on the STD alone); REESTABLISH and RESTORE: 0 again while attached.
#  B. The same for an own leg: add-leg of such a device turns
#     write-zeroes off, blkdiscard -z then errs on no leg, remove-leg
#     turns it on again.  A leg without discard (null_blk) turns discard
#     off: blkdiscard fails (EOPNOTSUPP) before any leg sees it.
#  C. A BCV whose device takes at most 4 KiB per request and has no
#     write-zeroes (null_blk max_sectors=8): 1 MiB host writes and a
#     zero-out reach it whole, with no error.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need dmsetup blockdev udevadm blkdiscard cmp
sess_setup

TS=65536
TRACK_SIZE=$TS
S=/dev/bcv/l22s
B=/dev/bcv/l22b
MPID=
on_exit '[ -z "$MPID" ] || kill "$MPID" 2>/dev/null'

# qattr DEV ATTR: /sys/block/<DEV's kernel name>/queue/ATTR.
qattr() {
	cat "/sys/block/$(kname "$1")/queue/$2"
}

# nozero_dm NAME DEV: a dm device over DEV, all of it, that has no
# write-zeroes; its path in DM, the target in NZ.  dm-crypt with
# cipher_null (the data as it is) if the guest has it, else dm-delay
# with no delay.
nozero_dm() {
	local sz
	sz=$(blockdev --getsz "$2") || return 1
	modprobe dm-crypt >/dev/null 2>&1
	if dmsetup create "$1" \
		--table "0 $sz crypt cipher_null-ecb - 0 $2 0" >/dev/null 2>&1; then
		NZ=crypt
	elif dmsetup create "$1" --table "0 $sz delay $2 0 0" >/dev/null; then
		NZ=delay
	else
		return 1
	fi
	_dm_names+=("$1")
	_dm_dev[$1]=$2
	udevadm settle
	DM=/dev/mapper/$1
	[ -b "$DM" ] || wait_for test -b "$DM" ||
		DM=/dev/$(dmsetup info -c --noheadings -o blkdevname "$1")
	[ -b "$DM" ] || return 1
	[ "$(qattr "$DM" write_zeroes_max_bytes)" = 0 ] ||
		fail "set-up: dm-$NZ over $2 has write-zeroes ($(qattr "$DM" write_zeroes_max_bytes) bytes)"
	note "$DM: dm-$NZ over $2, write_zeroes_max_bytes 0"
}

# check_wz WHAT WANT: the STD's write_zeroes_max_bytes is WANT, or (WANT
# "+") not 0.
check_wz() {
	local got
	got=$(cat "$SQ/write_zeroes_max_bytes")
	if [ "$2" = + ] && [ "$got" -gt 0 ] || [ "$got" = "$2" ]; then
		ok "$1: the STD's write_zeroes_max_bytes is $got"
	else
		_bad "$1: the STD's write_zeroes_max_bytes is $got, want $2"
	fi
}

# zero_out OFF LEN: BLKZEROOUT on the STD (the kernel sends write-zeroes
# if the STD advertises them, else zeroed pages), and the model follows.
zero_out() {
	expect "blkdiscard -z -o $1 -l $2 $S" blkdiscard -f -z -o "$1" -l "$2" $S &&
		dd if=/dev/zero of="$T/m" bs=4096 seek="$1" count="$2" \
			oflag=seek_bytes iflag=count_bytes conv=notrunc status=none
}

# check_zero DEV OFF LEN: LEN bytes at OFF of DEV read as zeroes.
check_zero() {
	[ "$(range_sum "$1" "$2" "$3")" = "$(zero_sum "$3")" ] &&
		ok "$1 reads zeroes in [$2, +$3)" ||
		_bad "$1 does not read zeroes in [$2, +$3)"
}

# leg_errors NAME: the legs/Mn/errors of volume NAME, blank-separated.
leg_errors() {
	local d out=
	for d in "$(vol_sysfs "$1")"/legs/M*; do
		out+="$(cat "$d/errors") "
	done
	echo "${out% }"
}

# legs_synced NAME: no leg of volume NAME is stale anywhere.
legs_synced() {
	[ "$(tr -d ' 0' < "$(vol_sysfs "$1")/bcv/leg_invalid_tracks")" = "" ]
}

# Kernel log lines since mark_log about our volumes' errors.
mark_log() {
	LOGMARK=$(dmesg | wc -l)
}
new_errors() {
	dmesg | tail -n +$((LOGMARK + 1)) | grep -E 'l22[a-z]*: .*(error|failed)'
}
check_log() {
	local l
	if l=$(new_errors); then
		_bad "$1: the kernel log reports errors: $l"
	else
		ok "$1: no error in the kernel log"
	fi
}

# monitor_start FILE: bcvctl monitor --json in the background, once it
# listens (its "exists" lines are out: a session must exist).
monitor_start() {
	bcvctl monitor --json --timeout 600 > "$1" 2> "$1.err" &
	MPID=$!
	wait_secs 20 grep -qs '"exists"' "$1" ||
		fail "monitor printed no exists line: $(cat "$1" "$1.err")"
}
# monitor_stop FILE WHAT: after a moment for the events in flight, no
# event but the "exists" lines.
monitor_stop() {
	local ev
	sleep 3
	kill "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
	MPID=
	ev=$(grep -v '"exists"' "$1")
	[ -z "$ev" ] && ok "$2: no state change, no error event" ||
		_bad "$2: events: $ev"
}

[ "$(qattr "${DISKS[0]}" write_zeroes_max_bytes)" -gt 0 ] ||
	skip "${DISKS[0]} has no write-zeroes (QEMU's virtio-blk write-zeroes=off?)"

# --- A. a BCV without write-zeroes ------------------------------------------------

nozero_dm l22b_dm "${DISKS[1]}" || fail "cannot make a dm device over ${DISKS[1]}"
BDM=$DM
create_vol std l22s "${DISKS[0]}"
SQ=$(vol_sysfs l22s)/queue
create_vol bcv l22b "$BDM"
SIZE=$(dev_size $S)
[ "$(dev_size $B)" -ge "$SIZE" ] || fail "set-up: $B is smaller than $S"
random_file "$T/m" "$SIZE"
dd if="$T/m" of=$S bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $S"

check_wz "alone, on ${DISKS[0]}" +
WZ0=$(cat "$SQ/write_zeroes_max_bytes")
DISC0=$(cat "$SQ/discard_max_bytes")

bcv_must establish l22s l22b --wait
check_sess l22s l22b state=synchronized invalid_tracks=0
check_wz "with $B (dm-$NZ) attached" 0
[ "$(cat "$SQ/discard_max_bytes")" = "$DISC0" ] &&
	ok "discard_max_bytes stays $DISC0 (discards go to own legs only)" ||
	_bad "discard_max_bytes is $(cat "$SQ/discard_max_bytes"), was $DISC0"

SD=$(sess_dir l22s l22b) || fail "no sysfs directory for l22s/l22b"
errs0="$(cat "$SD/errors") / $(leg_errors l22s) / $(leg_errors l22b)"
copied0=$(cat "$SD/copied_tracks")
mark_log
monitor_start "$T/ev"
zero_out $((3 * TS)) $((4 * TS))		# tracks 3..6, whole
zero_out $((10 * TS + 4096)) 8192	# in part, in track 10
zero_out $((20 * TS - 512)) 1024	# across tracks 19 and 20
check_sess l22s l22b state=synchronized invalid_tracks=0 errors=0
monitor_stop "$T/ev" "the zero-outs"
# A range the BCV missed would be copied to it again.
[ "$(cat "$SD/copied_tracks")" = "$copied0" ] &&
	ok "nothing copied again: copied_tracks stays $copied0" ||
	_bad "copied_tracks: $(cat "$SD/copied_tracks"), was $copied0"
errs="$(cat "$SD/errors") / $(leg_errors l22s) / $(leg_errors l22b)"
[ "$errs" = "$errs0" ] &&
	ok "session / STD legs / BCV legs errors unchanged: $errs" ||
	_bad "session / STD legs / BCV legs errors: $errs, were $errs0"
check_log "the zero-outs"
check_model "the STD after the zero-outs" $S "$T/m"
check_model "the BCV's device after the zero-outs" "$BDM" "$T/m" "$SIZE"
check_zero $S $((3 * TS)) $((4 * TS))
check_zero "$BDM" $((3 * TS)) $((4 * TS))

bcv_must split l22s l22b
check_wz "split" "$WZ0"
vols_same "split" $B $S "$SIZE"
check_model "the BCV after the split" $B "$T/m" "$SIZE"
check_zero $B $((10 * TS + 4096)) 8192

# Split, the STD writes zeroes on its leg alone (write-zeroes proper).
mark_log
zero_out $((30 * TS)) $((2 * TS))
check_log "a zero-out of the split STD"
check_model "the STD after a zero-out while split" $S "$T/m"

bcv_must reestablish l22s l22b --wait
check_wz "reestablished" 0
check_sess l22s l22b state=synchronized invalid_tracks=0
bcv_must split l22s l22b
check_wz "split again" "$WZ0"
mwrite $B "$T/m" $((40 * TS)) $TS r40 || _bad "write the BCV"
bcv_must restore l22s l22b --wait
check_wz "restored" 0
mark_log
zero_out $((40 * TS + 8192)) 4096
check_sess l22s l22b state=restored invalid_tracks=0 errors=0
check_log "a zero-out after the restore"
bcv_must split l22s l22b
check_wz "split after the restore" "$WZ0"
vols_same "split after the restore" $B $S "$SIZE"
check_model "the STD after the restore" $S "$T/m"
bcv_must terminate l22s l22b
check_wz "terminated" "$WZ0"

# --- B. an own leg without write-zeroes ---------------------------------------------

nozero_dm l22m_dm "${DISKS[2]}" || fail "cannot make a dm device over ${DISKS[2]}"
MDM=$DM
bcv_must add-leg l22s "$MDM"
wait_secs 60 legs_synced l22s || _bad "the new leg is not synced after 60 s"
check_wz "with a leg on dm-$NZ" 0
errs0=$(leg_errors l22s)
mark_log
zero_out $((50 * TS)) $((3 * TS))
zero_out $((55 * TS + 512)) 512
errs=$(leg_errors l22s)
[ "$errs" = "$errs0" ] && ok "legs' errors unchanged: $errs" ||
	_bad "legs' errors: $errs, were $errs0"
check_log "zero-outs with a leg on dm-$NZ"
check_model "the STD" $S "$T/m"
check_model "its first leg" "${DISKS[0]}" "$T/m" "$SIZE"
check_model "its leg on dm-$NZ" "$MDM" "$T/m" "$SIZE"

# A third leg without discard (null_blk's default): discards, which go to
# every own leg, are no longer advertised, and fail before they reach one.
nullb_load gb=1 max_sectors=8
NB=/dev/nullb0
[ "$(qattr $NB max_sectors_kb)" = 4 ] && [ "$(qattr $NB write_zeroes_max_bytes)" = 0 ] &&
	[ "$(qattr $NB discard_max_bytes)" = 0 ] ||
	fail "set-up: $NB: max_sectors_kb $(qattr $NB max_sectors_kb), write_zeroes_max_bytes $(qattr $NB write_zeroes_max_bytes), discard_max_bytes $(qattr $NB discard_max_bytes)"
if [ "$DISC0" -gt 0 ]; then
	bcv_must add-leg l22s $NB
	wait_secs 60 legs_synced l22s ||
		_bad "the null_blk leg is not synced after 60 s"
	d=$(cat "$SQ/discard_max_bytes")
	[ "$d" = 0 ] && ok "with a leg on $NB: discard_max_bytes 0" ||
		_bad "with a leg on $NB (no discard): discard_max_bytes $d"
	errs0=$(leg_errors l22s)
	mark_log
	expect_exit 1 blkdiscard -f -o $((70 * TS)) -l $TS $S
	errs=$(leg_errors l22s)
	[ "$errs" = "$errs0" ] && ok "legs' errors unchanged: $errs" ||
		_bad "legs' errors: $errs, were $errs0"
	check_log "a discard with a leg on $NB"
	check_model "the STD" $S "$T/m"
	check_model "its leg on $NB" $NB "$T/m" "$SIZE"
	bcv_must remove-leg l22s $NB
	[ "$(cat "$SQ/discard_max_bytes")" = "$DISC0" ] &&
		ok "the null_blk leg removed: discard_max_bytes $DISC0 again" ||
		_bad "the null_blk leg removed: discard_max_bytes $(cat "$SQ/discard_max_bytes"), want $DISC0"
else
	note "${DISKS[0]} has no discard: a leg without it changes nothing"
fi
bcv_must remove-leg l22s "$MDM"
check_wz "the leg removed" "$WZ0"

# --- C. a BCV that takes 4 KiB per request ----------------------------------------------

create_vol bcv l22n $NB "${CREATE_FORCE[@]}"
bcv_must establish l22s l22n --wait
check_wz "with $NB attached" 0
SD=$(sess_dir l22s l22n) || fail "no sysfs directory for l22s/l22n"
mark_log
monitor_start "$T/evn"
mwrite $S "$T/m" $((1 << 20)) $((1 << 20)) n1 || _bad "a 1 MiB write"
mwrite $S "$T/m" $((5 * TS + 512)) $((3 * TS)) n2 || _bad "a 192 KiB write"
zero_out $((60 * TS)) $((2 * TS))
check_sess l22s l22n state=synchronized invalid_tracks=0 errors=0
monitor_stop "$T/evn" "writes to a BCV of 4 KiB requests"
check_log "writes to a BCV of 4 KiB requests"
check_model "the BCV's null_blk" $NB "$T/m" "$SIZE"
bcv_must split l22s l22n
check_wz "split from $NB" "$WZ0"
vols_same "null_blk BCV split" /dev/bcv/l22n $S "$SIZE"

pass
