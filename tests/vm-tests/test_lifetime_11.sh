#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lifetimes: volumes removed and sessions terminated while copies and I/O
# run (Documentation/bcv.rst, "Removing volumes").
#
#  A. A remove while a mirror leg's sync is stuck (its dm device is
#     suspended, so a copy job cannot complete): the remove waits for the
#     job, but not while holding the global lock: list, create and remove
#     of other volumes go on meanwhile.  Once the device resumes, the
#     remove finishes and the module can be unloaded and loaded again (no
#     work item, kcopyd job or timer of the removed volume is left).
#  B. remove --force of a split BCV whose fixed mirror is still syncing.
#  C. TERMINATE of a split session while its BCV takes I/O and syncs its
#     fixed mirror, five times: the BCV's I/O never fails and its legs end
#     up identical.
#  D. CREATE and REMOVE of the same name racing, twenty times.
# On the debug kernel (KASAN, lockdep, kmemleak) the runner fails the test
# on any use after free these could cause.
#
# disks: 8M 8M 8M 8M 8M 8M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): SIZE bytes on each of these disks.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 6
need_sessions
need dmsetup blockdev udevadm fio
sess_setup

TS=65536
TRACK_SIZE=$TS
SECTORS=$(blockdev --getsz "${DISKS[1]}")	# of each disk
SIZE=$(( $(bcv_data_sectors "$SECTORS" $TS) * 512 ))	# of each volume
JOBS=/sys/module/bcv/parameters/copy_jobs

leg_field() {
	cat "$(vol_sysfs "$1")/bcv/$2"
}
synced() {
	[ "$(leg_field "$1" leg_invalid_tracks | tr -d ' 0')" = "" ]
}
# slow_dm NAME MS: NAME's table becomes a delay target of MS ms on writes.
slow_dm() {
	dmsetup load "$1" --table "0 $SECTORS delay ${_dm_dev[$1]} 0 0 ${_dm_dev[$1]} 0 $2" &&
		dmsetup resume "$1"
}
# gone NAME: no volume NAME.
gone() {
	! vol_sysfs "$1" >/dev/null
}

# --- A. remove with a copy job stuck ------------------------------------

dm_linear lt_m "${DISKS[1]}" || fail "cannot make dm-linear over ${DISKS[1]}"
LM=$DM
# One copy job at a time, 2 s each: the sync takes 16 s.
slow_dm lt_m 2000 || fail "cannot slow lt_m"
echo 1 > $JOBS
on_exit "echo 8 > $JOBS"
create_vol std lt1 "${DISKS[0]}" --mirror "$LM"
mirror_copied() {
	[ "$(leg_field lt1 leg_copied_tracks | cut -d' ' -f2)" -gt 0 ]
}
wait_secs 20 mirror_copied ||
	_bad "the mirror's sync did not start: $(leg_field lt1 leg_copied_tracks)"
dmsetup suspend lt_m || fail "cannot suspend lt_m"
on_exit "dmsetup resume lt_m"
synced lt1 && fail "the mirror synced before it was suspended: make it slower"
note "mirror sync stuck at $(leg_field lt1 leg_invalid_tracks) invalid tracks"

bcvctl remove lt1 > "$T/rm.out" 2>&1 &
rmpid=$!
sleep 2
if kill -0 $rmpid 2>/dev/null; then
	ok "remove waits for the copy job stuck in the suspended device"
else
	note "remove returned before the device resumed: $(cat "$T/rm.out")"
fi
# Commands on other volumes, each in the background: one that blocks in
# the kernel cannot be killed, so it is given 30 s and then let go.
exited() {
	! kill -0 "$1" 2>/dev/null
}
meanwhile() {
	local what=$1 pid rc
	shift
	"$@" > "$T/mw.out" 2>&1 &
	pid=$!
	if wait_secs 30 exited $pid; then
		wait $pid
		rc=$?
		[ $rc -eq 0 ] && ok "$what while a remove waits for a copy job" ||
			_bad "$what: '$*' exited $rc: $(cat "$T/mw.out")"
	else
		_bad "$what: '$*' blocked for 30 s behind the remove"
		blocked+=($pid)
	fi
}
blocked=()
meanwhile "list" bcvctl list
meanwhile "create another volume" bcvctl create std lt2 "${DISKS[2]}"
udevadm settle
meanwhile "remove it" bcvctl remove lt2
dmsetup resume lt_m || fail "cannot resume lt_m"
for p in "${blocked[@]+"${blocked[@]}"}"; do
	wait "$p"
done
vol_sysfs lt2 > /dev/null && remove_vol lt2
wait $rmpid
rc=$?
[ $rc -eq 0 ] && ok "the remove finished once the device resumed" ||
	_bad "remove lt1 exited $rc: $(cat "$T/rm.out")"
gone lt1 && ok "lt1 is gone" || _bad "lt1 still exists"
echo 8 > $JOBS

# Nothing of lt1 is left behind: the module unloads and loads again.
if [ -z "$(vol_names)" ]; then
	expect "rmmod bcv after removing volumes during copies" modprobe -r bcv
	expect "modprobe bcv again" modprobe bcv
	wait_for test -c /dev/bcvctl || fail "/dev/bcvctl did not come back"
	echo 8 > $JOBS
else
	_bad "volumes left: $(vol_names)"
fi

# --- B. remove --force during a BFM sync ---------------------------------

dm_heal lt_m || fail "cannot heal lt_m"
slow_dm lt_m 100 || fail "cannot slow lt_m"
create_vol std lt3 "${DISKS[2]}"
S3=$VOL
create_vol bcv lt3b "${DISKS[3]}" --mirror "$LM"
check_capacity lt3 $TS "${DISKS[2]}"
check_capacity lt3b $TS "${DISKS[3]}" "$LM"
wait_secs 120 synced lt3b || _bad "lt3b's mirror did not sync"
random_file "$T/m3" $SIZE
dd if="$T/m3" of=$S3 bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $S3"
bcv_must establish lt3 lt3b --wait
bcv_must split lt3 lt3b
synced lt3b && note "BFM synced already (the test is weaker)"
expect "remove --force of a split BCV syncing its fixed mirror" \
	timeout 120 bcvctl remove lt3b --force
gone lt3b && ok "lt3b is gone" || _bad "lt3b still exists"
check_no_sess lt3 lt3b
check_model "the STD is untouched" $S3 "$T/m3" $SIZE

# --- C. terminate while the BCV takes I/O ---------------------------------

create_vol bcv lt3c "${DISKS[4]}" --mirror "$LM"
B3=$VOL
wait_secs 120 synced lt3c || _bad "lt3c's mirror did not sync"
for i in 1 2 3 4 5; do
	bcv_must establish lt3 lt3c --wait
	bcv_must split lt3 lt3c
	fio --name=lt --filename=$B3 --direct=1 --rw=randrw --bs=4k \
		--size=$SIZE --runtime=3 --time_based --ioengine=psync \
		--output="$T/fio.$i" > /dev/null 2>&1 &
	fpid=$!
	sleep 0.5
	bcv_do terminate lt3 lt3c
	wait $fpid
	rc=$?
	[ $rc -eq 0 ] && ok "round $i: I/O on the BCV across TERMINATE" ||
		_bad "round $i: fio on $B3 exited $rc: $(tail -5 "$T/fio.$i")"
	check_no_sess lt3 lt3c
done
wait_secs 120 synced lt3c || _bad "lt3c's legs did not sync"
check_same "lt3c's legs are identical" "${DISKS[4]}" "$LM" $SIZE
remove_vol lt3c
remove_vol lt3

# --- D. create and remove of one name racing -----------------------------

for i in $(seq 1 20); do
	bcvctl create std lt4 "${DISKS[5]}" > /dev/null 2>&1 &
	cpid=$!
	bcvctl remove lt4 > /dev/null 2>&1
	wait $cpid
	udevadm settle
	vol_sysfs lt4 > /dev/null && bcvctl remove lt4 > /dev/null 2>&1
done
udevadm settle
gone lt4 && ok "create/remove races: nothing left" || _bad "lt4 is left"
expect "the device is free again" bcvctl create std lt5 "${DISKS[5]}"
remove_vol lt5

pass
