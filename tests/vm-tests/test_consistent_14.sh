#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Consistent split of several pairs (issue 14; bcv-design.rst section 11).
#
#  1. A writer alternates dependent writes between two STDs: record i to
#     slot i % M of STD c1, then, once that is acknowledged, its commit
#     mark to slot i % M of STD c2 (each 4 KiB, O_DIRECT), while fio loads
#     both STDs elsewhere.  20 times: REESTABLISH both pairs, let the
#     writer run, `split --consistent` (every other time from a --group
#     file).  On the BCVs, every slot's commit has its record (record
#     sequence >= commit sequence), the last commit acknowledged before
#     the command started is there, and nothing issued after the command
#     returned is.  Both sessions report the same split time and hold.
#  2. All or nothing: a group with a pair that cannot split (a paused
#     reestablish, syncinprog), a pair that does not exist, or a pair named
#     twice is refused with the pair named, and nothing changes.
#
# disks: 16M 16M 16M 16M 16M 16M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 6
need_sessions
need fio dd tr blockdev
sess_setup

M=256				# slots: the first MiB of each STD
ROUNDS=20
T=$(mktemp -d)
on_exit "rm -rf $T"

for n in 1 2 3; do
	create_vol std "c$n" "${DISKS[n - 1]}" --track-size 64K
	create_vol bcv "d$n" "${DISKS[n + 2]}" --track-size 64K
done
S1=/dev/bcv/c1
S2=/dev/bcv/c2

# Every slot starts with sequence 0, so that each holds a 16-byte header.
hdr() { printf '%s%014d\n' "$1" "$2"; }
for ((k = 0; k < M; k++)); do
	hdr R 0
	head -c 4080 /dev/zero
done > "$T/r0"
for ((k = 0; k < M; k++)); do
	hdr C 0
	head -c 4080 /dev/zero
done > "$T/c0"
dd if="$T/r0" of=$S1 bs=64K oflag=direct status=none || fail "cannot init c1"
dd if="$T/c0" of=$S2 bs=64K oflag=direct status=none || fail "cannot init c2"

bcv_must establish c1 d1 --wait
bcv_must establish c2 d2 --wait
bcv_must split c1 d1
bcv_must split c2 d2

# slot_write DEV TAG SEQ: the slot of SEQ on DEV, acknowledged on return.
slot_write() {
	hdr "$2" "$3" | dd of="$1" bs=4096 seek=$(($3 % M)) conv=sync,notrunc \
		oflag=direct status=none
}
writer() {
	local i=1
	while [ ! -e "$T/stop" ]; do
		echo $i > "$T/issued"
		slot_write $S1 R $i || { echo "record $i failed" > "$T/err"; return; }
		slot_write $S2 C $i || { echo "commit $i failed" > "$T/err"; return; }
		echo $i > "$T/done"
		i=$((i + 1))
	done
}
# seqs DEV TAG: the M slots' sequence numbers, one a line, in slot order.
seqs() {
	blockdev --flushbufs "$1" 2>/dev/null
	dd if="$1" bs=64K count=$((M / 16)) iflag=direct status=none |
		tr -d '\0' | sed -n "s/^$2\([0-9]*\)\$/\1/p"
}
# rd FILE: the number in FILE, which the writer rewrites (truncate, then
# one write): an empty read is the moment between the two.
rd() {
	local v=
	while [ -z "$v" ]; do
		read -r v < "$1"
	done
	echo "$v"
}
# check_round R D0 I1: the BCVs after round R's split; D0 the last step
# acknowledged before the split started, I1 the last issued once it
# returned.
check_round() {
	local r=$1 d0=$2 i1=$3 rec com bad=0 k=0 max=0 a b
	seqs /dev/bcv/d1 R > "$T/rec"
	seqs /dev/bcv/d2 C > "$T/com"
	[ "$(wc -l < "$T/rec")" = $M ] && [ "$(wc -l < "$T/com")" = $M ] || {
		_bad "round $r: cannot read the $M slots of both BCVs"
		return
	}
	while read -r a && read -r b <&3; do
		a=$((10#$a)) b=$((10#$b))
		if [ "$a" -lt "$b" ]; then
			[ $bad -lt 3 ] && note "round $r slot $k: commit $b but record $a"
			bad=$((bad + 1))
		fi
		[ "$a" -gt $max ] && max=$a
		[ "$b" -gt $max ] && max=$b
		if [ $k = $((d0 % M)) ]; then rec=$a com=$b; fi
		k=$((k + 1))
	done < "$T/rec" 3< "$T/com"
	if [ $bad = 0 ]; then
		ok "round $r: every commit on d2 has its record on d1"
	else
		_bad "round $r: $bad commits without their records"
	fi
	if [ "$rec" -ge "$d0" ] && [ "$com" -ge "$d0" ]; then
		ok "round $r: step $d0, acknowledged before the split, is on both BCVs"
	else
		_bad "round $r: step $d0 acknowledged before the split: record $rec, commit $com on the BCVs"
	fi
	if [ $max -le $((i1 + 1)) ]; then
		ok "round $r: nothing issued after the split returned is on the BCVs (max $max, issued $i1)"
	else
		_bad "round $r: step $max is on a BCV, issued after the split returned (at $i1)"
	fi
}

# --- 1. rounds under load ---------------------------------------------------------

rm -f "$T/stop" "$T/err"
echo 0 > "$T/done"
echo 0 > "$T/issued"
writer &
wpid=$!
fio --name=load --filename=$S1:$S2 --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --offset=2M --size=12M --time_based \
	--runtime=3600 --minimal > /dev/null 2>&1 &
fpid=$!
on_exit "touch $T/stop; kill $fpid 2>/dev/null; wait"
printf 'c1 d1  # the records\n\nc2 d2\n' > "$T/group"

for ((r = 1; r <= ROUNDS; r++)); do
	bcv_must reestablish c1 d1
	bcv_must reestablish c2 d2
	bcv_must wait c1 d1
	bcv_must wait c2 d2
	sleep 0.$((RANDOM % 5 + 1))
	[ ! -e "$T/err" ] || fail "writer: $(cat "$T/err")"
	d0=$(rd "$T/done")
	if ((r % 2)); then
		out=$(bcvctl split --consistent c1 d1 c2 d2 2>&1)
	else
		out=$(bcvctl split --group "$T/group" 2>&1)
	fi
	rc=$?
	i1=$(rd "$T/issued")
	[ $rc = 0 ] || fail "round $r: split --consistent failed ($rc): $out"
	[[ "$out" == *"split --consistent: 2 pairs split at one instant, writes held "*" ms"* ]] ||
		_bad "round $r: output without the hold: $out"
	check_round "$r" "$d0" "$i1"
	t1=$(sess_field c1 d1 split_hold_us) t2=$(sess_field c2 d2 split_hold_us)
	s1=$(sess_field c1 d1 split_time) s2=$(sess_field c2 d2 split_time)
	if [ "$t1" = "$t2" ] && [ "$s1" = "$s2" ] && [ "$t1" -gt 0 ] &&
	   [ "$s1" -gt 1000000000 ]; then
		ok "round $r: both sessions split at $s1, writes held $t1 us"
	else
		_bad "round $r: split_time $s1/$s2, split_hold_us $t1/$t2"
	fi
done
touch "$T/stop"
wait $wpid
kill $fpid 2>/dev/null
[ ! -e "$T/err" ] || fail "writer: $(cat "$T/err")"
note "the writer made $(rd "$T/done") steps"

# --- 2. all or nothing -------------------------------------------------------------

bcv_must reestablish c1 d1 --wait
# c3/d3 held in syncinprog: a paused REESTABLISH with a track to copy.
bcv_must establish c3 d3 --wait
bcv_must split c3 d3
dd if=/dev/urandom of=/dev/bcv/c3 bs=64K count=1 oflag=direct status=none ||
	fail "cannot write c3"
bcv_must pause c3 d3
bcv_must reestablish c3 d3
check_sess c3 d3 state=syncinprog paused=true
bcv_busy split --consistent c1 d1 c3 d3
out=$(bcvctl split --consistent c1 d1 c3 d3 2>&1)
expect "the refusal names the pair: $out" \
	test "${out#bcvctl: split --consistent c3 d3: }" != "$out"
check_sess c1 d1 state=synchronized
bcv_missing split --consistent c1 d1 c2 nosuch
bcv_usage split --consistent c1 d1 c2 d2 c1 d1
BCV_NO_CLIENT_CHECKS=1 bcv_refused split --consistent c1 d1 c1 d1
bcv_usage split --consistent c1 d1 c2
bcv_usage split --consistent c1 d1 --force
bcv_must resume c3 d3
bcv_must wait c3 d3
bcv_must split --consistent c3 d3 c1 d1 --diff
check_sess c1 d1 state=split
check_sess c3 d3 state=split

pass
