#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check: its I/O paths also run on 6.12
# in data_02, errors_03, mirror_09; make check-all runs it there too)
#
# Host writes racing the copy engine (bcv-design.rst sections 3 and 5, invariant 4):
# fio writers with verify=crc32c and a verify backlog run on the STD while
# ESTABLISH, REESTABLISH, RESTORE and INCREMENTAL RESTORE copy, and on a
# split BCV; every fio run must verify, and once writes are quiesced and
# the pair split, the STD and the BCV are byte-identical.  Restores must
# also bring back the BCV's data where fio did not write.
#
# disks: 32M 32M 32M
#
# Whether a copy and the writers actually overlap is up to the scheduler;
# nothing here depends on it (the log notes how far the copy was when fio
# started).

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need fio blockdev udevadm timeout cmp
sess_setup

S=/dev/bcv/f6s
B1=/dev/bcv/f6b1
B2=/dev/bcv/f6b2
create_vol std f6s "${DISKS[0]}" --track-size 64K
create_vol bcv f6b1 "${DISKS[1]}" --track-size 64K
create_vol bcv f6b2 "${DISKS[2]}" --track-size 64K
# Slow copies overlap the writers longer (the results must not depend on it).
copy_throttle f6s 10
SSIZE=$(dev_size $S)
NT=$(( (SSIZE + 65535) / 65536 ))
check_capacity f6s 65536 "${DISKS[0]}"
MB=$((1 << 20))

fio_common=(--verify=crc32c
	--verify_fatal=1 --do_verify=1 --verify_backlog=64
	--verify_backlog_batch=32 --randrepeat=0 --direct=1 --ioengine=libaio
	--iodepth=8 --output-format=normal --group_reporting)

# fio_start NAME DEV OFFSET SIZE [FIO-ARGS...]: a verifying random writer
# in the background over [OFFSET, OFFSET + SIZE) of DEV, block sizes from
# 4k to 1m unless FIO-ARGS say --bs; FIO_PID.
FIO_PID=
fio_start() {
	local name=$1 dev=$2 off=$3 size=$4 bs=(--bssplit=4k/35:8k/15:64k/25:128k/20:1m/5)
	shift 4
	case " $* " in
	*" --bs="*) bs=() ;;
	esac
	fio --name="$name" --filename="$dev" --rw=randwrite --offset="$off" \
		--size="$size" "${bs[@]}" "${fio_common[@]}" "$@" \
		> "$T/$name.log" 2>&1 &
	FIO_PID=$!
}

# fio_done NAME PID: the writer must finish cleanly and verify.
fio_done() {
	local name=$1 rc
	wait "$2"
	rc=$?
	if [ $rc -eq 0 ] &&
	   ! grep -qiE 'verify: bad|bad magic|crc32c: verify failed|err= *[1-9]' \
		"$T/$name.log"; then
		ok "fio $name verified"
	else
		sed 's/^/    /' "$T/$name.log"
		_bad "fio $name failed (exit $rc)"
	fi
}

progress() {
	note "$1/$2 when fio started: $(sess_field "$1" "$2" state)," \
	     "$(sess_field "$1" "$2" percent_done)% done"
}

# --- initial content ------------------------------------------------------------

random_file "$T/init" $SSIZE
dd if="$T/init" of=$S bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot fill $S"

# --- ESTABLISH under writers --------------------------------------------------------

fio_start est1 $S 0 $((16 * MB))
p1=$FIO_PID
fio_start est2 $S $((20 * MB)) $((4 * MB)) --bs=4k
p2=$FIO_PID
sleep 1
bcv_must establish f6s f6b1
progress f6s f6b1
bcv_must wait f6s f6b1
fio_done est1 $p1
fio_done est2 $p2
check_sess f6s f6b1 state=synchronized invalid_tracks=0 errors=0
# Not asserted: host writes covering whole tracks make copies unneeded,
# others make tracks copied twice (bcv-design.rst sections 3 and 6.3).
note "establish under fio: $(sess_field f6s f6b1 copied_tracks) tracks copied, $NT tracks"
check_same "STD and B1's disk identical while synchronized" $S "${DISKS[1]}" $SSIZE
bcv_must split f6s f6b1
check_same "STD and B1 identical after establish under fio" $S $B1 $SSIZE

# --- writers on both sides while split, then REESTABLISH under a writer ---------

fio_start split-std $S $((4 * MB)) $((8 * MB))
p1=$FIO_PID
fio_start split-bcv $B1 $((10 * MB)) $((12 * MB))
p2=$FIO_PID
fio_done split-std $p1
fio_done split-bcv $p2
check_sess f6s f6b1 state=split

fio_start reest $S 0 $((24 * MB))
p1=$FIO_PID
sleep 1
bcv_must reestablish f6s f6b1
progress f6s f6b1
# A second BCV established meanwhile.
bcv_must establish f6s f6b2
bcv_must wait f6s f6b1
bcv_must wait f6s f6b2
fio_done reest $p1
check_sess f6s f6b1 state=synchronized invalid_tracks=0 errors=0
check_sess f6s f6b2 state=synchronized invalid_tracks=0 errors=0
bcv_must split f6s f6b1
bcv_must split f6s f6b2 --diff
check_same "STD and B1 identical after reestablish under fio" $S $B1 $SSIZE
check_same "STD and B2 identical after establish under fio" $S $B2 $SSIZE

# --- INCREMENTAL RESTORE under a writer ---------------------------------------------
#
# Both split.  The STD gets [24M, 26M), B2 [25M, 27M): R is [24M, 27M), 48
# tracks.  fio writes [0, 12M) of the STD, outside R, only after the
# restore has started: it must verify, the STD must be B2 everywhere else,
# and the copy must have been exactly R (host writes outside R cost no
# copies).

random_file "$T/s24" $((2 * MB))
dd if="$T/s24" of=$S bs=1M seek=24 oflag=direct conv=notrunc status=none ||
	fail "cannot write $S"
random_file "$T/b25" $((2 * MB))
dd if="$T/b25" of=$B2 bs=1M seek=25 oflag=direct conv=notrunc status=none ||
	fail "cannot write $B2"
check_sess f6s f6b2 state=split std_changed_tracks=32 bcv_changed_tracks=32
read_dev $B2 $((SSIZE - 12 * MB)) $((12 * MB)) > "$T/b2tail"
bcv_must restore f6s f6b2 --incremental
progress f6s f6b2
fio_start incr $S 0 $((12 * MB))
p1=$FIO_PID
bcv_must wait f6s f6b2
fio_done incr $p1
check_sess f6s f6b2 state=restored invalid_tracks=0 errors=0 copied_tracks=48
read_dev $S $((SSIZE - 12 * MB)) $((12 * MB)) | cmp -s - "$T/b2tail" &&
	ok "the STD holds B2's data where fio did not write" ||
	_bad "after the incremental restore, [12M, end) of the STD is not B2's data"
bcv_must split f6s f6b2
check_same "STD and B2 identical after incremental restore under fio" $S $B2 $SSIZE

# --- RESTORE (full) under a writer ------------------------------------------------
#
# B1 gets data of its own in [16M, 32M); fio writes the STD in [0, 16M)
# only after the restore has started, so that everything it verifies was
# written during the restore.  Afterwards [16M, end) of the STD must be
# B1's, and the whole STD equal to B1.

random_file "$T/b1new" $((SSIZE - 16 * MB))
dd if="$T/b1new" of=$B1 bs=1M seek=16 oflag=direct conv=notrunc status=none ||
	fail "cannot write $B1"
read_dev $B1 $((SSIZE - 16 * MB)) $((16 * MB)) > "$T/b1tail"
exec 7< $S
bcv_busy restore f6s f6b1			# the STD is open
bcv_must restore f6s f6b1 --force
exec 7<&-
progress f6s f6b1
fio_start restore $S 0 $((16 * MB))
p1=$FIO_PID
bcv_must wait f6s f6b1
fio_done restore $p1
check_sess f6s f6b1 state=restored invalid_tracks=0 errors=0
note "restore under fio: $(sess_field f6s f6b1 copied_tracks) tracks copied, $NT tracks"
read_dev $S $((SSIZE - 16 * MB)) $((16 * MB)) | cmp -s - "$T/b1tail" &&
	ok "the STD holds B1's data where fio did not write" ||
	_bad "after the restore, [16M, end) of the STD is not B1's data"
bcv_must split f6s f6b1
check_same "STD and B1 identical after restore under fio" $S $B1 $SSIZE

# B2 was split before the full restore: a reestablish under a writer
# brings it up to date.
fio_start last $S $((4 * MB)) $((4 * MB))
p1=$FIO_PID
bcv_must reestablish f6s f6b2 --wait
fio_done last $p1
bcv_must split f6s f6b2
check_same "STD and B2 identical at the end" $S $B2 $SSIZE

pass
