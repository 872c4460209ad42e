#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# A consistent split is atomic across a power cut (issue 22, defect 20;
# bcv-design.rst sections 10 and 11).  A STD and its three BCVs sit on one
# dm-log-writes device (dm-linear slices of it), so one log orders every
# write the module sends.  `split --consistent` of the three pairs runs
# between two marks; the log is then replayed onto an empty disk to each
# flush/FUA point between them (tests/log_replay.c): what a crash right
# after that flush can leave.  At every point, after assembly:
#   - the three sessions are all split or all attached, never some of
#     each (before the fix, the pairs were committed one after the other:
#     "1 split, 2 attached");
#   - a split BCV holds the STD's data at the split, byte for byte (read
#     before the split; the STD took no write after it).
# At least one point must show each outcome.
#
# disks: 64M 256M 64M 64M
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
SL=$((2 << 20))			# bytes per slice: the STD, 3 BCVs
SLS=$((SL / 512))
NS=4

# slices PREFIX DEV: PREFIX0..3, dm-linear slices of DEV.
slices() {
	local i
	for ((i = 0; i < NS; i++)); do
		dmsetup create "$1$i" --table "0 $SLS linear $2 $((i * SLS))" ||
			fail "dmsetup create $1$i"
	done
	udevadm settle
}

unslices() {
	local i
	udevadm settle
	for ((i = 0; i < NS; i++)); do
		dmsetup remove --retry "$1$i" 2>/dev/null
	done
}
on_exit 'bcvctl stop --all >/dev/null 2>&1; unslices gcc; unslices gcs; dmsetup remove --retry bcvgc 2>/dev/null; rm -f /run/bcv-no-auto-assemble'

# --- the workload, logged ------------------------------------------------------
dmsetup create bcvgc --table "0 $(blockdev --getsz "$DATA") log-writes $DATA $LOG" ||
	fail "dmsetup create bcvgc (log-writes)"
slices gcs /dev/mapper/bcvgc
L=/dev/mapper/gcs
create_vol std g22s ${L}0 > /dev/null
for i in 1 2 3; do
	create_vol bcv g22b$i ${L}$i > /dev/null
done
len=$(vol_bytes g22s)
wr /dev/bcv/g22s a 0 "$len"
for i in 1 2 3; do
	bcv_must establish g22s g22b$i --wait
done
# The STD's last data before the split: not the same as what the copies
# took (that is only the start).
wr /dev/bcv/g22s b $((len / 4)) $((len / 2))
read_dev /dev/bcv/g22s "$len" > "$T/std" || fail "cannot read g22s"
dmsetup message bcvgc 0 mark before
bcv_must split --consistent g22s g22b1 g22s g22b2 g22s g22b3
dmsetup message bcvgc 0 mark after
bcv_must stop --all
unslices gcs
dmsetup remove bcvgc || fail "dmsetup remove bcvgc"

# --- the points ------------------------------------------------------------------
log_replay "$LOG" --list > "$T/log" || fail "log_replay --list failed"
first=$(awk '$5 == "before" { print $1 }' "$T/log")
last=$(awk '$5 == "after" { print $1 }' "$T/log")
[ -n "$first" ] && [ -n "$last" ] || fail "no marks in the log: $(grep -c ' M' "$T/log") marks"
awk -v a="$first" -v b="$last" '$1 > a && $1 < b && $2 ~ /[FU]/ { print $1 }' \
	"$T/log" > "$T/points"
# The last state before the split too (the mark's own entry).
echo "$first" | cat - "$T/points" > "$T/chosen"
note "$(wc -l < "$T/points") flush/FUA points between the marks (entries $first-$last)"

log_replay "$LOG" --replay "$REP" 0 "$first" || fail "replay to the first mark failed"
done_to=$first
nsplit=0 nattached=0 checked=0
# The slices of the copy stay; each point's image is copied under them.
slices gcc "$CHK"
C=/dev/mapper/gcc
while read -r p; do
	log_replay "$LOG" --replay "$REP" "$done_to" $((p + 1)) ||
		fail "replay to entry $p failed"
	done_to=$((p + 1))
	dd if="$REP" of="$CHK" bs=1M count=$((NS * SL >> 20)) iflag=direct \
		oflag=direct status=none || fail "copy of the replayed disk"
	for i in 0 1 2 3; do
		out=$(bcvctl assemble ${C}$i 2>&1) ||
			_bad "point $p: slice $i does not assemble: $out"
	done
	udevadm settle
	l=$(sess_lines)
	states=
	for i in 1 2 3; do
		states+=" $(_field "$(grep "\"bcv\":\"g22b$i\"" <<< "$l")" state)"
	done
	ns=$(grep -o ' split' <<< "$states" | wc -l)
	na=$(grep -oE ' (syncinprog|synchronized)' <<< "$states" | wc -l)
	case "$ns$na" in
	03)	nattached=$((nattached + 1)) ;;
	30)	nsplit=$((nsplit + 1))
		for i in 1 2 3; do
			check_model "point $p: g22b$i holds the STD's data at the split" \
				/dev/bcv/g22b$i "$T/std" "$len"
		done ;;
	*)	_bad "point $p: the sessions are$states, want all split or all attached" ;;
	esac
	checked=$((checked + 1))
	bcvctl stop --all > /dev/null 2>&1 || _bad "point $p: stop --all failed"
done < "$T/chosen"
unslices gcc
note "$checked points: $nattached all attached, $nsplit all split"
[ "$nattached" -ge 1 ] || _bad "no point before the split was checked"
[ "$nsplit" -ge 1 ] || _bad "no point after the split was checked"
pass
