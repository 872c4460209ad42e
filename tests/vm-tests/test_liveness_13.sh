#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Liveness with a dead position (Documentation/bcv.rst, "Failures"):
#
#  A. A dead attached BCV (its device fails every I/O) does not keep a
#     RESTORE from another BCV from completing: the copies reach the STD's
#     legs, only the dead BCV's position is left to copy, and its session
#     goes on in syncinprog, counting errors.
#  B. Nor does it keep another BCV's ESTABLISH from synchronizing.
#  C. Once its device works again, the dead BCV catches up.
#  D. A dead fixed mirror does not hold host writes to the regions it
#     needs copies in for the engine's back-off (up to 5 s): under a
#     steady stream of writes to those regions, no write waits for more
#     than 2.5 s (a liveness bound, far above a write's normal latency).
#  E. A cache flush that fails on the mirror (while the primary's works)
#     succeeds for the application and marks the whole mirror stale: what
#     it had acknowledged since its last flush may be lost.  It is resynced
#     once it works again.
#
# disks: 8M 8M 8M 8M 8M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): SIZE bytes, NT tracks (the last one
# partial) on each of these disks.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 5
need_sessions
need dmsetup blockdev udevadm fio
sess_setup

TS=65536
TRACK_SIZE=$TS
SIZE=$(( $(bcv_data_sectors "$(blockdev --getsz "${DISKS[0]}")" $TS) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))

leg_field() {
	cat "$(vol_sysfs "$1")/bcv/$2"
}
synced() {
	[ "$(leg_field "$1" leg_invalid_tracks | tr -d ' 0')" = "" ]
}
state_is() {
	[ "$(sess_field "$1" "$2" state)" = "$3" ]
}

# --- A. restore with a dead attached BCV ---------------------------------

create_vol std lv "${DISKS[0]}"
S=$VOL
dm_linear lv1_dm "${DISKS[1]}" || fail "cannot make dm-linear over ${DISKS[1]}"
create_vol bcv lv1 "$DM"
create_vol bcv lv2 "${DISKS[2]}"
B2=$VOL
create_vol bcv lv3 "${DISKS[3]}"
check_capacity lv $TS "${DISKS[0]}"
check_capacity lv1 $TS "$DM"

random_file "$T/mS" $SIZE
dd if="$T/mS" of=$S bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $S"
bcv_must establish lv lv1 --wait
bcv_must establish lv lv2 --wait
bcv_must split lv lv2
cp "$T/mS" "$T/m2"
for t in 1 20 77; do
	mwrite $B2 "$T/m2" $((t * TS)) $TS "b$t" || _bad "write lv2 track $t"
done

dm_fail lv1_dm || fail "cannot fail lv1_dm"
bcv_must restore lv lv2 --wait
check_sess lv lv2 state=restored invalid_tracks=0
check_model "the STD holds lv2's data" $S "$T/m2" $SIZE
wait_secs 30 test "$(sess_field lv lv1 errors)" -gt 0 ||
	_bad "lv1's session counts no copy errors: $(sess_line lv lv1)"
check_sess lv lv1 state=syncinprog

# --- B. establish beside the dead BCV ------------------------------------

bcv_must establish lv lv3 --wait
check_sess lv lv3 state=synchronized invalid_tracks=0
check_model "lv3 was synchronized with the dead lv1 attached" \
	"${DISKS[3]}" "$T/m2" $SIZE

# --- C. the dead BCV comes back -------------------------------------------

dm_heal lv1_dm || fail "cannot heal lv1_dm"
wait_secs 60 state_is lv lv1 synchronized ||
	_bad "lv1 did not catch up: $(sess_line lv lv1)"
check_model "lv1 caught up" "${DISKS[1]}" "$T/m2" $SIZE
for b in lv1 lv2 lv3; do
	bcv_must split lv $b
	bcv_must terminate lv $b
	remove_vol $b
done
remove_vol lv

# --- D. host writes beside a dead fixed mirror ------------------------------

dm_linear lvm_dm "${DISKS[4]}" || fail "cannot make dm-linear over ${DISKS[4]}"
create_vol std lvm "${DISKS[0]}" --mirror "$DM"
M=$VOL
check_capacity lvm $TS "${DISKS[0]}" "$DM"
wait_secs 60 synced lvm || _bad "lvm's mirror did not sync"
dm_fail lvm_dm || fail "cannot fail lvm_dm"
# Writes fail on the mirror: it goes stale there and the engine's copies
# to it keep failing, backing off up to 5 s.  Let the back-off grow.
fio --name=warm --filename=$M --direct=1 --rw=randwrite --bs=4k \
	--size=4M --runtime=12 --time_based --ioengine=psync \
	> /dev/null 2>&1 || _bad "writes with a dead mirror failed"
fio --name=hot --filename=$M --direct=1 --rw=randwrite --bs=4k \
	--size=4M --runtime=20 --time_based --ioengine=psync \
	--output-format=json --output="$T/hot.json" > /dev/null 2>&1 ||
	_bad "writes with a dead mirror failed: $(tail -5 "$T/hot.json")"
# The largest completion latency, in ns, of the write section.
max=$(tr -d ' \n' < "$T/hot.json" | sed 's/.*"write":{//' |
	grep -o '"clat_ns":{[^}]*' | grep -o '"max":[0-9]*' | head -n1 |
	cut -d: -f2)
if [ -z "$max" ]; then
	_bad "no write latency in fio's output"
elif [ "$max" -lt 2500000000 ]; then
	ok "no write waited for the dead mirror's back-off (max $((max / 1000000)) ms)"
else
	_bad "a write waited $((max / 1000000)) ms beside a dead mirror"
fi
dm_heal lvm_dm || fail "cannot heal lvm_dm"
wait_secs 60 synced lvm || _bad "lvm's mirror did not resync"
check_same "lvm's legs are identical" "${DISKS[0]}" "${DISKS[4]}" $SIZE

# --- E. a failed flush -------------------------------------------------------

[ "$(cat "$(vol_sysfs lvm)/queue/write_cache")" = "write back" ] ||
	note "lvm has no write cache: flushes do not reach bcv (E is weaker)"
# dm's "error" target completes flushes; dm-flakey's error_writes fails
# every write, flushes included.
dmsetup load lvm_dm --table "0 $(blockdev --getsz "${DISKS[4]}") flakey ${DISKS[4]} 0 0 600 1 error_writes" &&
	dmsetup resume lvm_dm || fail "cannot make lvm_dm fail writes"
# fsync of the device with nothing to write: an empty flush.
expect "a flush with the mirror failing succeeds (the primary took it)" \
	sync "$M"
inv=$(leg_field lvm leg_invalid_tracks)
[ "$inv" = "0 $NT" ] && ok "the failed flush made the mirror stale everywhere ($inv)" ||
	_bad "after a failed flush: leg_invalid_tracks '$inv', want '0 $NT'"
dm_heal lvm_dm || fail "cannot heal lvm_dm"
wait_secs 60 synced lvm || _bad "lvm's mirror did not resync after the flush"
check_same "lvm's legs are identical again" "${DISKS[0]}" "${DISKS[4]}" $SIZE
remove_vol lvm

pass
