#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Point in time (bcv-design.rst section 6, invariant 2): SPLIT under running writers.
#
# 1. Four writers loop over their own 4 KiB blocks of the STD with O_DIRECT
#    writes that stamp a sequence number, logging "S seq block ." before
#    each write is issued and "D seq block ." once it is acknowledged.  For
#    every block, the split BCV must hold a stamp no older than the last
#    write acknowledged before SPLIT was called, and no stamp of a write
#    issued after SPLIT returned.  Three rounds: ESTABLISH, REESTABLISH
#    (after writes on the split BCV), and a differential split, all under
#    the writers.
# 2. ext4 on the STD with a writer creating files (some fsync'ed, logged
#    after fsync returned) and churning others: after SPLIT, replaying the
#    journal on the BCV (mount, umount) leaves a file system that
#    `e2fsck -fn` finds clean, holding every file synced before SPLIT was
#    called, intact.  Then REESTABLISH (the BCV's own changes from the
#    replay are copied over) and the same again.
#
# disks: 16M 16M 32M 32M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 4
need_sessions
need mkfs.ext4 e2fsck mount umount blockdev udevadm timeout awk sha256sum
sess_setup

# === 1. O_DIRECT writers ======================================================

S=/dev/bcv/p7s
B=/dev/bcv/p7b
create_vol std p7s "${DISKS[0]}" --track-size 64K
create_vol bcv p7b "${DISKS[1]}" --track-size 64K
copy_throttle p7s 10	# copies overlap the writers longer
NW=4			# writers
NBLK=512		# 4 KiB blocks they share: 2 MiB, 32 tracks
REGION=$((NBLK * 4096))

# The stamp of a block: one 4096-byte text line.
stamp() {	# BLOCK SEQ
	printf '%-4095s\n' "BCVPIT b=$1 s=$2"
}

# Every block starts with stamp 0; the rest of the STD is random.
for ((b = 0; b < NBLK; b++)); do
	stamp $b 0
done > "$T/region0"
dd if="$T/region0" of=$S bs=64K oflag=direct conv=notrunc status=none ||
	fail "cannot write $S"
random_file "$T/rest" $(( $(dev_size $S) - REGION ))
dd if="$T/rest" of=$S bs=64K seek=$((REGION / 65536)) oflag=direct \
	conv=notrunc status=none || fail "cannot write $S"

# writer W LOG STOP: blocks W, W+NW, W+2NW, ...; sequence numbers
# k*NW+W, so that every write has its own.
writer() {
	local w=$1 log=$2 stop=$3 k=0 seq b per=$((NBLK / NW))
	while [ ! -e "$stop" ]; do
		k=$((k + 1))
		seq=$((k * NW + w))
		b=$(( (k % per) * NW + w ))
		echo "S $seq $b ." >> "$log"
		stamp $b $seq | dd of=$S bs=4096 seek=$b count=1 oflag=direct \
			conv=notrunc iflag=fullblock status=none ||
			{ echo "E $seq $b ." >> "$log"; return 1; }
		echo "D $seq $b ." >> "$log"
	done
}

# logs OUT: a snapshot of all writers' logs (a line being written may be
# cut short: lines are only used when they end in " .").
logs() {
	local w
	for ((w = 0; w < NW; w++)); do
		cat "$T/w$w.log"
		echo
	done > "$1"
}

WPIDS=()
start_writers() {
	local w
	rm -f "$T/stop"
	for ((w = 0; w < NW; w++)); do
		: > "$T/w$w.log"
		writer $w "$T/w$w.log" "$T/stop" &
		WPIDS+=($!)
	done
	on_exit "touch $T/stop"
}

stop_writers() {
	local p rc=0
	touch "$T/stop"
	for p in "${WPIDS[@]}"; do
		wait "$p" || rc=1
	done
	WPIDS=()
	[ $rc -eq 0 ] || _bad "a writer's O_DIRECT write failed: $(grep -h '^E' "$T"/w*.log)"
}

# acked N: every writer has at least N acknowledged writes.
acked() {
	local w
	for ((w = 0; w < NW; w++)); do
		[ "$(grep -c '^D .* \.$' "$T/w$w.log")" -ge "$1" ] || return 1
	done
}

# check_pit DEV BEFORE AFTER WHAT: DEV's blocks against the log snapshots
# taken before SPLIT was called and after it returned.
check_pit() {
	local dev=$1 before=$2 after=$3 what=$4 out
	read_dev "$dev" $REGION > "$T/dump"
	out=$(awk -v nblk=$NBLK -v nw=$NW '
		FILENAME == ARGV[1] && $1 == "D" && $4 == "." {
			if ($2 + 0 > last[$3] + 0) last[$3] = $2
			next
		}
		FILENAME == ARGV[2] && $1 == "S" && $4 == "." {
			started[$2] = 1
			next
		}
		FILENAME == ARGV[3] {
			pos = FNR - 1
			split($2, x, "="); split($3, y, "=")
			b = x[2]; s = y[2]
			n++
			if ($1 != "BCVPIT" || b != pos) {
				print "block " pos ": not a stamp of this block: " substr($0, 1, 40)
				bad++; next
			}
			if (s + 0 < last[pos] + 0) {
				print "block " pos ": holds write " s ", but write " last[pos] " was acknowledged before the split"
				bad++
			}
			if (s != 0 && !(s in started)) {
				print "block " pos ": holds write " s ", issued after the split returned"
				bad++
			}
			if (s != 0 && s % nw != pos % nw) {
				print "block " pos ": holds write " s " of another writer"
				bad++
			}
		}
		END {
			if (n != nblk) { print "read " n " blocks, want " nblk; bad++ }
			exit bad > 0
		}' "$before" "$after" "$T/dump")
	if [ $? -eq 0 ]; then
		ok "$what: every block holds a write acknowledged before the split or in flight during it"
	else
		_bad "$what: $(echo "$out" | head -n 10 | tr '\n' ';')"
	fi
}

# check_final DEV WHAT: after the writers stopped, DEV holds each block's
# last acknowledged write.
check_final() {
	logs "$T/final"
	check_pit "$1" "$T/final" "$T/final" "$2"
	read_dev "$1" $REGION > "$T/dump"
	awk '$1 == "D" && $4 == "." { last[$3] = $2 }
	     END { for (b in last) print b, last[b] }' "$T/final" | sort -n > "$T/want"
	awk '{ split($2, x, "="); split($3, y, "=");
	       if (y[2] != 0) print x[2], y[2] }' "$T/dump" | sort -n > "$T/got"
	cmp -s "$T/want" "$T/got" && ok "$2: the last acknowledged write of each block" ||
		_bad "$2: not the last acknowledged writes: $(diff "$T/want" "$T/got" | head -n 5 | tr '\n' ';')"
}

# split_under_writers ROUND [SPLIT-OPTION]
split_under_writers() {
	local r=$1
	shift
	wait_secs 120 acked $((r * 20)) || _bad "round $r: the writers make no progress"
	logs "$T/before$r"
	bcv_must split p7s p7b "$@"
	logs "$T/after$r"
	# Writes after the split must not reach the BCV: let some happen.
	local n
	n=$(grep -c '^D .* \.$' "$T/after$r")
	wait_secs 120 eval '[ "$(cat "$T"/w*.log | grep -c "^D .* \.$")" -ge $((n + 2 * NW)) ]'
	check_pit $B "$T/before$r" "$T/after$r" "round $r"
	# Outside the writers' blocks the BCV equals the STD.
	read_dev $B $(( $(dev_size $S) - REGION )) $REGION | cmp -s - "$T/rest" &&
		ok "round $r: the rest of the BCV is the STD's" ||
		_bad "round $r: the BCV differs from the STD outside the writers' blocks"
}

# all_rewritten SNAPSHOT: every writer has gone once round all its blocks
# since SNAPSHOT was taken.
all_rewritten() {
	local w n
	for ((w = 0; w < NW; w++)); do
		n=$(grep -c "^D [0-9]* [0-9]* \.\$" "$T/w$w.log")
		[ "$n" -ge $(( $(grep -c "^S [0-9]* [0-9]* \.\$" "$T/$1.w$w") + NBLK / NW )) ] ||
			return 1
	done
}

start_writers
bcv_must establish p7s p7b --wait
split_under_writers 1
# Once the writers have rewritten all their blocks after the split, every
# track of their region is changed for the session.
for ((w = 0; w < NW; w++)); do
	cp "$T/w$w.log" "$T/after1.w$w"
done
wait_secs 300 all_rewritten after1 || _bad "the writers make no progress"
check_sess p7s p7b state=split std_changed_tracks=$((REGION / 65536)) \
	bcv_changed_tracks=0

# The split BCV is written by its own user too: the reestablish puts the
# STD's data back there.
for b in 0 5 100 511; do
	printf '%-4095s\n' "garbage" | dd of=$B bs=4096 seek=$b count=1 \
		oflag=direct conv=notrunc iflag=fullblock status=none ||
		_bad "write to the split BCV failed"
done
bcv_must reestablish p7s p7b --wait
split_under_writers 2
bcv_must reestablish p7s p7b --wait
split_under_writers 3 --diff
stop_writers
check_final $S "STD after the writers stopped"
bcv_must reestablish p7s p7b --wait
bcv_must split p7s p7b
check_final $B "BCV split with no writer"

# === 2. ext4 under a running writer ============================================

FS=/dev/bcv/p7fs
FB=/dev/bcv/p7fb
create_vol std p7fs "${DISKS[2]}" --track-size 64K
create_vol bcv p7fb "${DISKS[3]}" --track-size 64K
copy_throttle p7fs 10
expect "mkfs.ext4 on the STD" mkfs.ext4 -q -F -b 4096 $FS
mkdir -p "$T/std" "$T/bcv"
mount -t ext4 $FS "$T/std" || fail "mount $FS"
on_exit "umount $T/std"
mkdir -p "$T/std/synced" "$T/std/churn"
sync

# fswriter LOG STOP: new files, each fsync'ed (file, then directory) and
# logged with its checksum once that returned; other files written,
# appended, renamed and deleted without syncing.
fswriter() {
	local log=$1 stop=$2 i=0 f sum
	while [ ! -e "$stop" ]; do
		i=$((i + 1))
		f=$T/std/synced/f$i
		dd if=/dev/urandom of="$f" bs=4K count=$((1 + i % 13)) \
			conv=fsync status=none 2>/dev/null || return 1
		sync "$T/std/synced" || return 1
		sum=$(sha256sum < "$f" | cut -d' ' -f1)
		echo "F f$i $sum ." >> "$log"
		dd if=/dev/urandom of="$T/std/churn/c$((i % 7))" bs=16K \
			count=$((1 + i % 5)) status=none 2>/dev/null
		echo "$i" >> "$T/std/churn/append"
		mv "$T/std/churn/c$((i % 7))" "$T/std/churn/m$((i % 3))" 2>/dev/null
		[ $((i % 4)) -ne 0 ] || rm -f "$T/std/churn/m$((i % 3))"
		[ $((i % 10)) -ne 0 ] || rm -f "$T/std/churn/append"
	done
	return 0
}

fs_synced() {	# N: at least N files synced
	[ "$(grep -c '^F .* \.$' "$T/fs.log")" -ge "$1" ]
}

# fs_round ROUND: split under the writer, check the BCV's file system.
fs_round() {
	local r=$1 n bad=0 name sum tag dot
	wait_secs 120 fs_synced $((r * 8)) || _bad "fs round $r: the writer makes no progress"
	cp "$T/fs.log" "$T/fsbefore$r"
	bcv_must split p7fs p7fb
	n=$(grep -c '^F .* \.$' "$T/fsbefore$r")
	note "fs round $r: $n files synced before the split"
	# Replay the journal (mount), look at the files, unmount.
	if ! mount -t ext4 $FB "$T/bcv"; then
		_bad "fs round $r: the split BCV does not mount"
		return
	fi
	while read -r tag name sum dot; do
		[ "$tag" = F ] && [ "$dot" = . ] || continue
		if [ ! -f "$T/bcv/synced/$name" ]; then
			_bad "fs round $r: synced file $name missing on the BCV"
			bad=1
		elif [ "$(sha256sum < "$T/bcv/synced/$name" | cut -d' ' -f1)" != "$sum" ]; then
			_bad "fs round $r: synced file $name differs on the BCV"
			bad=1
		fi
	done < "$T/fsbefore$r"
	[ $bad -eq 0 ] && ok "fs round $r: $n synced files intact on the BCV"
	umount "$T/bcv" || _bad "fs round $r: umount of the BCV failed"
	if e2fsck -fn $FB > "$T/fsck" 2>&1; then
		ok "fs round $r: e2fsck -fn clean on the BCV after the journal replay"
	else
		sed 's/^/    /' "$T/fsck"
		_bad "fs round $r: e2fsck -fn finds errors on the BCV"
	fi
	check_sess p7fs p7fb state=split
	c=$(sess_field p7fs p7fb bcv_changed_tracks)
	[ -n "$c" ] && [ "$c" -gt 0 ] ||
		_bad "fs round $r: mounting the BCV changed no track (bcv_changed_tracks = '$c')"
}

bcv_must establish p7fs p7fb --wait
: > "$T/fs.log"
rm -f "$T/fsstop"
fswriter "$T/fs.log" "$T/fsstop" &
fwpid=$!
on_exit "touch $T/fsstop"
fs_round 1
bcv_must reestablish p7fs p7fb --wait
fs_round 2
touch "$T/fsstop"
wait $fwpid || _bad "the file system writer failed"
expect "umount the STD" umount "$T/std"
expect "e2fsck -fn on the STD" e2fsck -fn $FS

# The pair once more, quiesced: identical.
bcv_must reestablish p7fs p7fb --wait
bcv_must split p7fs p7fb
check_same "STD and BCV identical once quiesced" $FS $FB "$(dev_size $FS)"

pass
