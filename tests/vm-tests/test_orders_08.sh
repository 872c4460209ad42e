#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Two BCVs on one STD, split at different times, written on all three
# volumes, then reestablished / restored / incrementally restored in every
# order (bcv-design.rst section 4; invariants 1, 3, 4 and 5 of section 6).
#
# The script keeps a model: the expected bytes of each volume (a file per
# volume, updated track by track) and the expected table bits per track
# (PB column of each session, M4b of each BCV).  Each command's copy count
# (copied_tracks), the std_changed_tracks / bcv_changed_tracks counts, and
# every volume's data (an attached BCV's through its disk) must match the
# model after every step.  9 scenarios, one per ordered pair of commands
# (reestablish, full restore, incremental restore) on the BCV that goes
# first and the one that goes second; B1 goes first in the odd-numbered
# scenarios, B2 in the even ones.  Each starts where the previous ended.
#
# disks: 2080K 3104K 3104K
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h), here 32 KiB: the STD is 2 MiB, 32
# whole tracks, and the BCVs are 1 MiB larger: the part past the STD's
# size holds a pattern that no command may touch.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need blockdev udevadm timeout cmp
sess_setup

TS=65536
S=/dev/bcv/o8s
create_vol std o8s "${DISKS[0]}" --track-size 64K
create_vol bcv o8b1 "${DISKS[1]}" --track-size 64K
create_vol bcv o8b2 "${DISKS[2]}" --track-size 64K
SSIZE=$(dev_size $S)
NT=$((SSIZE / TS))
TAIL=$(( $(dev_size /dev/bcv/o8b1) - SSIZE ))
[ $((SSIZE % TS)) -eq 0 ] || fail "set-up: the STD is not a whole number of tracks"
check_capacity o8s $TS "${DISKS[0]}"
check_capacity o8b1 $TS "${DISKS[1]}"
check_capacity o8b2 $TS "${DISKS[2]}"
if [ "$SSIZE" != $((2 << 20)) ] || [ "$TAIL" != $((1 << 20)) ]; then
	_bad "set-up: the STD is $SSIZE bytes, the BCVs $TAIL bytes larger; want 2 MiB and 1 MiB"
fi

name=(o8s o8b1 o8b2)		# volume i: 0 the STD, 1 and 2 the BCVs
dev=($S /dev/bcv/o8b1 /dev/bcv/o8b2)
disk=("${DISKS[@]}")
att=(- 0 0)			# BCV i attached
pb1=() pb2=() m4b1=() m4b2=()	# per track: 1 = C (PB) / I (M4b)
for ((t = 0; t < NT; t++)); do
	pb1[t]=0 pb2[t]=0 m4b1[t]=0 m4b2[t]=0
done
seq_no=0

# --- the model -----------------------------------------------------------------

# bits NAME: how many tracks have the bit set.
bits() {
	local -n a=$1
	local t n=0
	for ((t = 0; t < NT; t++)); do
		n=$((n + a[t]))
	done
	echo $n
}

# copy_track FROM TO T: volume FROM's model track T to volume TO's.
copy_track() {
	mcopy "$T/m$1" "$T/m$2" $(($3 * TS)) $TS
}

# wr VOL T: write a new pattern to track T of volume VOL (0: the STD).
wr() {
	local v=$1 t=$2 s tag
	seq_no=$((seq_no + 1))
	tag=v$v.t$t.n$seq_no
	if [ "$v" -ne 0 ] && [ "${att[v]}" -eq 1 ]; then
		fail "model error: writing attached BCV $v"
	fi
	mwrite "${dev[v]}" "$T/m$v" $((t * TS)) $TS "$tag" ||
		_bad "write $tag to ${name[v]} failed"
	if [ "$v" -eq 0 ]; then
		for s in 1 2; do
			printf -v "pb$s[$t]" 1
			[ "${att[s]}" -eq 0 ] || copy_track 0 $s $t
		done
	else
		printf -v "m4b$v[$t]" 1
	fi
	return 0
}

# wr_some VOL N: N writes to tracks of VOL chosen by the scenario's RANDOM.
wr_some() {
	local i t list=
	for ((i = 0; i < $2; i++)); do
		t=$((RANDOM % NT))
		wr "$1" $t
		list+=" $t"
	done
	note "wrote ${name[$1]}:$list"
}

check_counts() {
	local s
	for s in 1 2; do
		if [ "${att[s]}" -eq 1 ]; then
			check_sess o8s "${name[s]}" std_changed_tracks="$(bits pb$s)"
		else
			check_sess o8s "${name[s]}" state=split \
				std_changed_tracks="$(bits pb$s)" \
				bcv_changed_tracks="$(bits m4b$s)"
		fi
	done
}

check_data() {
	local s
	check_model "$1: ${name[0]}" $S "$T/m0"
	for s in 1 2; do
		if [ "${att[s]}" -eq 1 ]; then
			check_model "$1: ${name[s]} (attached, its disk)" \
				"${disk[s]}" "$T/m$s" $SSIZE
		else
			check_model "$1: ${name[s]}" "${dev[s]}" "$T/m$s" $SSIZE
		fi
	done
}

# --- the commands, on the volumes and on the model ------------------------------

do_establish() {
	local s=$1 t
	local -n pb=pb$s
	bcv_must establish o8s "${name[s]}" --wait
	check_sess o8s "${name[s]}" state=synchronized copied_tracks=$NT
	for ((t = 0; t < NT; t++)); do
		pb[t]=1
	done
	cp "$T/m0" "$T/m$s"
	att[s]=1
}

do_split() {
	local s=$1 t
	local -n pb=pb$s m4b=m4b$s
	bcv_must split o8s "${name[s]}"
	for ((t = 0; t < NT; t++)); do
		pb[t]=0 m4b[t]=0
	done
	att[s]=0
	check_sess o8s "${name[s]}" state=split std_changed_tracks=0 \
		bcv_changed_tracks=0
}

do_reest() {
	local s=$1 t n=0
	local -n pb=pb$s m4b=m4b$s
	for ((t = 0; t < NT; t++)); do
		if [ "${pb[t]}" -eq 1 ] || [ "${m4b[t]}" -eq 1 ]; then
			n=$((n + 1))
			pb[t]=1
			copy_track 0 $s $t
		fi
	done
	bcv_must reestablish o8s "${name[s]}" --wait
	check_sess o8s "${name[s]}" state=synchronized copied_tracks=$n \
		std_changed_tracks=$n invalid_tracks=0
	att[s]=1
}

# do_restore BCV full|incr
do_restore() {
	local s=$1 o=$((3 - $1)) t n=0 opt=
	local -n pb=pb$s m4b=m4b$s pbo=pb$o
	[ "$2" = incr ] && opt=--incremental
	for ((t = 0; t < NT; t++)); do
		if [ "$2" = full ] || [ "${pb[t]}" -eq 1 ] ||
		   [ "${m4b[t]}" -eq 1 ]; then
			n=$((n + 1))
			copy_track $s 0 $t
			[ "${att[o]}" -eq 1 ] && copy_track $s $o $t
			pbo[t]=1
		fi
		pb[t]=0
	done
	bcv_must restore o8s "${name[s]}" $opt --wait
	check_sess o8s "${name[s]}" state=restored copied_tracks=$n \
		std_changed_tracks=0 invalid_tracks=0
	att[s]=1
}

run_op() {	# OP BCV
	case $1 in
	reest) do_reest "$2" ;;
	full) do_restore "$2" full ;;
	incr) do_restore "$2" incr ;;
	esac
}

# --- start: the STD, the BCVs' tails, both sessions split at different times ----

random_file "$T/m0" $SSIZE
dd if="$T/m0" of=$S bs=64K oflag=direct conv=notrunc status=none ||
	fail "cannot fill $S"
for s in 1 2; do
	mwrite "${dev[s]}" "" $SSIZE $TAIL "tail$s" || fail "cannot write ${name[s]}"
done

RANDOM=8
do_establish 1
do_split 1
wr_some 0 3
do_establish 2
check_counts
do_split 2
check_counts
check_data start

# --- 9 scenarios ------------------------------------------------------------------

sc=0
for op1 in reest full incr; do
	for op2 in reest full incr; do
		sc=$((sc + 1))
		first=$((2 - sc % 2))
		second=$((3 - first))
		RANDOM=$sc
		note "scenario $sc: $op1 ${name[first]}, then $op2 ${name[second]}"
		wr_some 0 3
		wr_some $first 2
		wr_some $second 2
		# The second BCV is split later than the first one.
		do_reest $second
		wr_some 0 2
		do_split $second
		wr_some 0 1
		wr_some $first 1
		wr_some $second 1
		check_counts

		run_op $op1 $first
		check_counts
		check_data "scenario $sc after $op1 ${name[first]}"
		wr_some 0 2
		check_counts

		run_op $op2 $second
		check_counts
		check_data "scenario $sc after $op2 ${name[second]}"
		wr_some 0 1

		if [ $(( (sc + 1) / 2 % 2 )) -eq 1 ]; then
			do_split $first
			do_split $second
		else
			do_split $second
			do_split $first
		fi
		check_counts
		check_data "scenario $sc split"
	done
done

for s in 1 2; do
	[ "$(read_dev "${dev[s]}" $TAIL $SSIZE | sha256sum)" = \
	  "$(sha256sum < "$(pattern "tail$s" $TAIL)")" ] &&
		ok "${name[s]}: the bytes past the STD's size are untouched" ||
		_bad "${name[s]}: the bytes past the STD's size changed"
done

pass
