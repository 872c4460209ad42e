#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Data through a volume: fio with verification (direct, buffered, with a
# verify backlog, with fsync), byte identity with the backing device after
# remove, the last sectors of a device whose size is not a track multiple,
# discard, write-zeroes, flushes, and ext4.
#
# disks: 256M 65572K 256M 256M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): its data are the disk's first bytes.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need bcvctl fio blockdev sha256sum dd mkfs.ext4 e2fsck

d_fio=${DISKS[0]}
d_odd=${DISKS[1]}	# 65572 KiB, less 32 KiB of metadata: 1024 tracks of
			# 64 KiB and 4 KiB
d_fs=${DISKS[2]}

sum_of() {
	sha256sum < "$1" | cut -d' ' -f1
}

# --- fio with verification -------------------------------------------------

create_vol std d02fio "$d_fio"
v=$VOL

fio_common=(--filename="$v" --bssplit=4k/30:8k/20:64k/20:128k/20:1m/10
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0
	--output-format=normal --group_reporting)

# run_fio DESC FIO-ARGS...
run_fio() {
	local desc=$1
	shift
	note "fio: $desc"
	if fio --name="$desc" "${fio_common[@]}" "$@" > "$T/fio.log" 2>&1 &&
	   ! grep -qiE 'verify: bad|bad magic|crc32c: verify failed|err= *[1-9]' "$T/fio.log"; then
		ok "fio $desc"
	else
		cat "$T/fio.log"
		_bad "fio $desc failed"
	fi
}

run_fio direct-randwrite --rw=randwrite --direct=1 --ioengine=libaio \
	--iodepth=16 --size=100%
run_fio buffered-randwrite --rw=randwrite --direct=0 --ioengine=psync \
	--size=128M --offset=64M
run_fio verify-backlog --rw=randwrite --direct=1 --ioengine=libaio \
	--iodepth=8 --size=96M --offset=16M --verify_backlog=256 \
	--verify_backlog_batch=64
run_fio fsync-each-write --rw=randwrite --direct=0 --ioengine=psync \
	--fsync=1 --size=16M --offset=200M
expect "sync" sync

vol_sum=$(dev_sum "$v")
vol_bytes=$(dev_size "$v")
check_capacity d02fio 65536 "$d_fio"
remove_vol d02fio
back_sum=$(range_sum "$d_fio" 0 "$vol_bytes")
if [ "$vol_sum" = "$back_sum" ]; then
	ok "volume and the backing device's first $vol_bytes bytes are identical after fio"
else
	_bad "checksum through the volume $vol_sum, of the first $vol_bytes bytes of $d_fio after remove $back_sum"
fi

# --- the very end of a device whose size is not a track multiple ------------

create_vol bcv d02odd "$d_odd" --track-size 64K
v=$VOL
bytes=$(dev_size "$v")
check_capacity d02odd 65536 "$d_odd"
[ $((bytes % 65536)) -eq 4096 ] ||
	fail "the data area of $d_odd ends in $((bytes % 65536)) bytes of a track, want 4096: test set-up is wrong"

# 16 KiB ending at the last byte: the end of the last full track and the
# whole partial one.
tail_len=16384
tail_off=$((bytes - tail_len))
random_file "$T/tail" $tail_len
# Distinct patterns before, to see a misplaced write.
random_file "$T/before" 65536
expect "write before the tail" write_file_at "$T/before" "$v" $((tail_off - 65536))
expect "write the last 16 KiB" write_file_at "$T/tail" "$v" $tail_off
[ "$(range_sum "$v" $tail_off $tail_len)" = "$(sum_of "$T/tail")" ] ||
	_bad "the last 16 KiB do not read back through the volume"
# The last sector alone, buffered.
random_file "$T/last" 512
expect "buffered write of the last sector" \
	dd if="$T/last" of="$v" bs=512 seek=$((bytes / 512 - 1)) conv=notrunc,fsync status=none
[ "$(range_sum "$v" $((bytes - 512)) 512)" = "$(sum_of "$T/last")" ] ||
	_bad "the last sector does not read back through the volume"
# Beyond the end: refused.
if dd if="$T/last" of="$v" bs=512 seek=$((bytes / 512)) conv=notrunc,fsync \
	oflag=direct status=none 2>/dev/null; then
	_bad "a write past the end of $v succeeded"
fi
remove_vol d02odd
dd if="$T/last" of="$T/tail" bs=512 seek=$((tail_len / 512 - 1)) conv=notrunc status=none
[ "$(range_sum "$d_odd" $tail_off $tail_len)" = "$(sum_of "$T/tail")" ] &&
	ok "the last 16 KiB are on the backing device" ||
	_bad "the last 16 KiB written through the volume are not on $d_odd"
[ "$(range_sum "$d_odd" $((tail_off - 65536)) 65536)" = "$(sum_of "$T/before")" ] ||
	_bad "the 64 KiB before the tail are not on $d_odd"

# --- discard, write-zeroes, flush ----------------------------------------------

create_vol std d02dz "$d_fio"
v=$VOL
vsys=/sys/block/${v#/dev/}
random_file "$T/mib" 1048576
expect "pattern at 4 MiB" write_file_at "$T/mib" "$v" 4194304
if [ "$(cat "$vsys/queue/discard_max_bytes")" -gt 0 ]; then
	expect "blkdiscard of 1 MiB through the volume" \
		blkdiscard -o 4194304 -l 1048576 "$v"
	expect "blkdiscard of the whole volume" blkdiscard "$v"
else
	note "no discard on $(kname "$d_fio"): discard not tested"
fi

# write-zeroes: blkdiscard -z (util-linux) or fallocate -z.
zero_cmd=()
if blkdiscard --help 2>&1 | grep -q -- '--zeroout'; then
	zero_cmd=(blkdiscard -z -o 8388608 -l 1048576 "$v")
elif fallocate --help 2>&1 | grep -q -- '--zero-range'; then
	zero_cmd=(fallocate -z -o 8388608 -l 1048576 "$v")
fi
if [ ${#zero_cmd[@]} -gt 0 ]; then
	expect "pattern at 8 MiB" write_file_at "$T/mib" "$v" 8388608
	if expect "write-zeroes: ${zero_cmd[*]}" "${zero_cmd[@]}"; then
		[ "$(range_sum "$v" 8388608 1048576)" = "$(zero_sum 1048576)" ] &&
			ok "write-zeroes reads back zeros" ||
			_bad "the zeroed MiB does not read back as zeros"
	fi
else
	note "SKIP part: write-zeroes: neither 'blkdiscard -z' nor 'fallocate -z' here"
fi

# Flush: buffered writes then fsync/sync; the data must be on the backing
# device once the volume is gone.
random_file "$T/flush" 2097152
expect "buffered write at 32 MiB" \
	dd if="$T/flush" of="$v" bs=64K seek=512 conv=notrunc status=none
expect "sync" sync
expect "fsync of the volume" dd if=/dev/null of="$v" conv=notrunc,fsync status=none
remove_vol d02dz
[ "$(range_sum "$d_fio" 33554432 2097152)" = "$(sum_of "$T/flush")" ] &&
	ok "synced data is on the backing device" ||
	_bad "data written and synced through the volume is not on $d_fio"

# --- ext4 -------------------------------------------------------------------------

create_vol std d02fs "$d_fs"
v=$VOL
expect "mkfs.ext4 on the volume" mkfs.ext4 -q -F /dev/bcv/d02fs
mnt=$T/mnt
mkdir -p "$mnt"
mount -t ext4 /dev/bcv/d02fs "$mnt" || fail "mount /dev/bcv/d02fs"
on_exit "umount $mnt"
random_file "$T/big" 8388608
mkdir -p "$mnt/dir"
for i in $(seq 1 50); do
	dd if=/dev/urandom of="$mnt/dir/f$i" bs=1K count=$((i * 7)) status=none
done
cp "$T/big" "$mnt/big"
cp -r "$BCV_TESTS/vm-tests" "$mnt/copy"
(cd "$mnt" && find . -type f | sort | xargs sha256sum) > "$T/sums"
expect "umount" umount "$mnt"
expect "e2fsck -fn on the volume" e2fsck -fn /dev/bcv/d02fs
mount -t ext4 -o ro /dev/bcv/d02fs "$mnt" || fail "remount /dev/bcv/d02fs"
(cd "$mnt" && sha256sum -c "$T/sums" > /dev/null) &&
	ok "files read back after remount" ||
	_bad "files differ after umount and mount"
[ "$(sum_of "$mnt/big")" = "$(sum_of "$T/big")" ] || _bad "big file differs"
expect "umount" umount "$mnt"
remove_vol d02fs
expect "e2fsck -fn on the backing device" e2fsck -fn "$d_fs"

pass
