#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# Lost volatile caches (issue 12; bcv-design.rst section 10, the crash rule).  Every
# leg sits on one dm-log-writes device (the legs are dm-linear slices of
# it), so one log orders every write the module sends, data and metadata.
# A workload runs with commands; then the log is replayed onto an empty
# disk to each flush/FUA point (tests/log_replay.c), which is what a crash
# right after that flush can leave when the disks lose everything they had
# not flushed.  At each point, on a copy of the replayed disk:
#   - the volumes assemble (or, before create finished, nothing does);
#   - soundness: the BCV, split or attached, ends byte-identical to the
#     STD after reestablish or wait (a track the tables called unchanged
#     but different would survive the copy), and the STD's two legs end
#     identical after their resync.
#
# disks: 64M 256M 64M 64M
#
# test_logwrites_12.sh [all]: "all" checks every flush point, not 24.
#   vda: the data under the log; vdb: the log; vdc: the replayed disk;
#   vdd: the copy each point is checked on.

# shellcheck source=tests/vm-tests/persist/common.sh
PERSIST_KEEP=0
. "$(dirname "$0")/persist/common.sh"

need_disks 4
need_sessions
need dmsetup log_replay udevadm blockdev
modprobe dm-log-writes 2>/dev/null
dmsetup targets | grep -q '^log-writes' || skip "no dm-log-writes target"

# The replayed legs are assembled here, not by udev.
touch /run/bcv-no-auto-assemble || fail "cannot turn udev's assembly off"

DATA=${DISKS[0]} LOG=${DISKS[1]} REP=${DISKS[2]} CHK=${DISKS[3]}
SL=$((16 << 20))		# bytes per slice: STD leg, STD mirror, BCV
SLS=$((SL / 512))
# Flush points checked, spread evenly: 24 (make check), or every one with
# the argument "all" (make check-crash).
MAXPTS=24
[ "${1:-}" = all ] && MAXPTS=1000000

# slices PREFIX DEV: PREFIX0..2, dm-linear slices of DEV.
slices() {
	local i
	for i in 0 1 2; do
		dmsetup create "$1$i" --table "0 $SLS linear $2 $((i * SLS))" ||
			fail "dmsetup create $1$i"
	done
	udevadm settle
}

unslices() {
	local i
	udevadm settle
	for i in 0 1 2; do
		dmsetup remove --retry "$1$i" 2>/dev/null
	done
}
on_exit 'bcvctl stop --all >/dev/null 2>&1; unslices lwc; unslices lws; dmsetup remove --retry bcvlw 2>/dev/null; rm -f /run/bcv-no-auto-assemble'

# --- the workload, logged ------------------------------------------------------
dmsetup create bcvlw --table "0 $(blockdev --getsz "$DATA") log-writes $DATA $LOG" ||
	fail "dmsetup create bcvlw (log-writes)"
slices lws /dev/mapper/bcvlw
L=/dev/mapper/lws
create_vol std p12l ${L}0 --mirror ${L}1 > /dev/null
create_vol bcv b12l ${L}2 > /dev/null
TS=$TRACK_SIZE
wr /dev/bcv/p12l a 0 $((2 << 20))
wait_legs p12l
bcv_must establish p12l b12l --wait
bcv_must split p12l b12l
dmsetup message bcvlw 0 mark split1
wr /dev/bcv/p12l b $((1 << 20)) $((256 << 10))
wr /dev/bcv/b12l c $((4 << 20)) $((128 << 10))
sync
bcv_must reestablish p12l b12l
wr /dev/bcv/p12l d $((6 << 20)) $((256 << 10))
bcv_must wait p12l b12l
bcv_must split p12l b12l
dmsetup message bcvlw 0 mark split2
wr /dev/bcv/p12l e $((8 << 20)) $((64 << 10))
wr /dev/bcv/b12l f $((9 << 20)) $((64 << 10))
bcv_must restore p12l b12l --incremental --force
wr /dev/bcv/p12l g $((10 << 20)) $((64 << 10))
bcv_must wait p12l b12l
bcv_must split p12l b12l
wr /dev/bcv/p12l h $((11 << 20)) $((64 << 10))
sync
bcv_must stop --all
unslices lws
dmsetup remove bcvlw || fail "dmsetup remove bcvlw"

# --- the points ------------------------------------------------------------------
log_replay "$LOG" --list > "$T/log" || fail "log_replay --list failed"
nent=$(wc -l < "$T/log")
awk '$2 ~ /[FU]/ { print $1 }' "$T/log" > "$T/points"
npts=$(wc -l < "$T/points")
note "the log: $nent entries, $npts flush/FUA points; $(grep -c ' M' "$T/log") marks"
[ "$npts" -gt 10 ] || fail "only $npts flush points in the log"
# MAXPTS of them, evenly spread, the last one included.
awk -v n="$npts" -v m="$MAXPTS" 'NR == n || (NR - 1) % int((n + m - 1) / m) == 0' \
	"$T/points" > "$T/chosen"
note "checking $(wc -l < "$T/chosen") points: $(tr '\n' ' ' < "$T/chosen")"

done_to=0
checked=0 before=0
while read -r p; do
	log_replay "$LOG" --replay "$REP" "$done_to" $((p + 1)) ||
		fail "replay to entry $p failed"
	done_to=$((p + 1))
	dd if="$REP" of="$CHK" bs=1M count=$((3 * SL >> 20)) iflag=direct \
		oflag=direct status=none || fail "copy of the replayed disk"
	slices lwc "$CHK"
	C=/dev/mapper/lwc
	if ! out=$(bcvctl assemble ${C}0 ${C}1 2>&1); then
		# Before create wrote its superblocks nothing may assemble.
		if bcvctl examine ${C}0 > /dev/null 2>&1; then
			_bad "point $p: p12l has metadata but does not assemble: $out"
		else
			before=$((before + 1))
		fi
		unslices lwc
		continue
	fi
	# The BCV is created after the STD: it may have no metadata yet.
	if ! out=$(bcvctl assemble ${C}2 2>&1) &&
	   bcvctl examine ${C}2 > /dev/null 2>&1; then
		_bad "point $p: b12l has metadata but does not assemble: $out"
	fi
	udevadm settle
	st=$(sess_field p12l b12l state)
	case "$st" in
	split)	bcv_must reestablish p12l b12l --wait ;;
	"")	;;	# before the first establish
	*)	bcv_must wait p12l b12l ;;
	esac
	wait_legs p12l
	len=$(vol_bytes p12l)
	check_same "point $p: the legs of p12l are identical" ${C}0 ${C}1 "$len"
	if [ -n "$st" ]; then
		bcv_must split p12l b12l
		check_same "point $p ($st): b12l is byte-identical to p12l" \
			/dev/bcv/p12l /dev/bcv/b12l "$len"
	fi
	checked=$((checked + 1))
	bcv_must stop --all
	unslices lwc
done < "$T/chosen"
want=$(( $(wc -l < "$T/chosen") / 2 ))
if [ "$checked" -ge "$want" ]; then
	ok "$checked points assembled and were checked"
else
	_bad "only $checked points assembled and were checked, want $want"
fi
note "$before points before create finished"
pass
