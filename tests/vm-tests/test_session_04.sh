#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Session commands (bcv-design.rst section 4): every precondition that fails is
# refused with the exit code of bcv-design.rst section 9 (3 no such volume or
# session, 4 busy, 5 wait timed out, 1 anything else), one line on
# stderr, and changes nothing (query and list output, data); I/O to an
# attached BCV fails and to a split BCV works; four mirror positions
# (three BCVs attached at once, a fourth refused); 16 sessions per STD,
# the 17th refused and a terminated session's column reused; states and
# counts in `bcvctl query --json` after each command.
#
# disks: 4M 4M 4M 4M 4M 2M 4M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): on a 4 MiB disk 4165632 bytes, 64
# tracks of 64 KiB, the last one of 36 KiB; s4small, on 2 MiB, is smaller.
# The STD (s4a) and the first BCV (s4b1) sit on dm-linear devices whose
# table can be switched to "error": a copy that cannot complete keeps its
# session in syncinprog or restinprog (bcv-design.rst section 5: failed copies are
# retried) for as long as the test needs, so the refusals "while a copy
# runs" do not depend on timing.  The 17 BCVs of the 16-session part are
# loop devices over files in /tmp.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 7
need_sessions
need dmsetup losetup blockdev udevadm timeout truncate
sess_setup

TS=65536
A=/dev/bcv/s4a

dm_linear s4a_dm "${DISKS[0]}" || fail "cannot make dm-linear over ${DISKS[0]}"
d_a=$DM
dm_linear s4b1_dm "${DISKS[1]}" || fail "cannot make dm-linear over ${DISKS[1]}"
d_b1=$DM

create_vol std s4a "$d_a" --track-size 64K
create_vol bcv s4b1 "$d_b1" --track-size 64K
create_vol bcv s4b2 "${DISKS[2]}" --track-size 64K
create_vol bcv s4b3 "${DISKS[3]}" --track-size 64K
create_vol bcv s4b4 "${DISKS[4]}" --track-size 64K
create_vol bcv s4small "${DISKS[5]}" --track-size 64K
create_vol std s4z "${DISKS[6]}" --track-size 64K
SIZE=$(dev_size $A)		# the whole STD
NT=$(( (SIZE + TS - 1) / TS ))	# 64 tracks
check_capacity s4a "$TS" "$d_a"
check_capacity s4b1 "$TS" "$d_b1"
check_capacity s4small "$TS" "${DISKS[5]}"
[ "$(dev_size /dev/bcv/s4b1)" = "$SIZE" ] ||
	fail "set-up: s4b1 is $(dev_size /dev/bcv/s4b1) bytes, s4a $SIZE"
[ "$(dev_size /dev/bcv/s4small)" -lt "$SIZE" ] ||
	fail "set-up: s4small is not smaller than s4a"

# The STD's content and its model.
random_file "$T/mA" "$SIZE"
dd if="$T/mA" of=$A bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $A"

# io_fails NAME: O_DIRECT read and write of the attached BCV NAME fail.
# The write goes to track 5, which the test checks later.
io_fails() {
	local dev=/dev/bcv/$1
	if dd if="$dev" of=/dev/null bs=4K count=1 iflag=direct status=none \
		2>/dev/null; then
		_bad "a read of the attached BCV $1 succeeded"
	else
		ok "a read of the attached BCV $1 fails"
	fi
	if dd if="$(pattern attached 4096)" of="$dev" bs=4K seek=80 count=1 \
		oflag=direct conv=notrunc status=none 2>/dev/null; then
		_bad "a write to the attached BCV $1 succeeded"
	else
		ok "a write to the attached BCV $1 fails"
	fi
}

# errors_rise STD BCV: the session's error counter becomes non-zero.
errors_rise() {
	local e
	e=$(sess_field "$1" "$2" errors)
	[ -n "$e" ] && [ "$e" -gt 0 ]
}

check_errors_rose() {
	if wait_secs 60 errors_rise "$1" "$2"; then
		ok "$1/$2: errors = $(sess_field "$1" "$2" errors)"
	else
		_bad "$1/$2: errors stays '$(sess_field "$1" "$2" errors)' while every copy fails"
	fi
}

# check_mm STD BCV...: the BCVs' MM positions are distinct, each 1..3 (the
# STD's own leg is M1, position 0).
check_mm() {
	local std=$1 b mm seen=" "
	shift
	for b in "$@"; do
		mm=$(sess_field "$std" "$b" mm)
		case "$mm" in
		1|2|3) ;;
		*) _bad "$std/$b: mm = '$mm', want 1, 2 or 3"; continue ;;
		esac
		case "$seen" in
		*" $mm "*) _bad "$std/$b: mm $mm is taken by another BCV" ;;
		esac
		seen+="$mm "
	done
	ok "mirror positions of $*:$seen"
}

# --- no session yet ----------------------------------------------------------

# An empty "sessions" array first; the volumes' own flags follow.
expect "query --json with no session" bcvctl query --json
case "$(tr -d '[:space:]' < "$OUT")" in
'{"sessions":[],"volumes":['*'}]}') ;;
*) _bad "query --json with no session: $(cat "$OUT")" ;;
esac
expect "query s4a --json" bcvctl query s4a --json
case "$(tr -d '[:space:]' < "$OUT")" in
'{"sessions":[],"volumes":[{"name":"s4a",'*'}]}') ;;
*) _bad "query s4a --json with no session: $(cat "$OUT")" ;;
esac
expect "query (table)" bcvctl query
bcv_missing query s4nosuch --json

bcv_refused establish s4a s4small		# smaller than the STD: EINVAL
bcv_missing establish s4a s4nosuch		# ENOENT
bcv_missing establish s4nosuch s4b1
bcv_refused establish s4b1 s4a			# roles swapped: EINVAL
bcv_refused establish s4a s4z			# a STD where a BCV is expected
bcv_refused establish s4b1 s4b2			# a BCV where a STD is expected
for v in split reestablish restore terminate wait; do
	bcv_missing $v s4a s4b1			# no session: ENOENT
done
bcv_missing split s4a s4b1 --diff
bcv_missing restore s4a s4b1 --incremental
bcv_refused terminate s4b1 s4a

exec 3< /dev/bcv/s4b1
bcv_busy establish s4a s4b1			# the BCV is open: EBUSY
exec 3<&-
exec 3<> /dev/bcv/s4b1
bcv_busy establish s4a s4b1
exec 3<&-

bcv_usage establish s4a
bcv_usage establish s4a s4a
bcv_usage establish s4a s4b1 extra
bcv_usage split s4a s4b1 --frobnicate
bcv_usage restore s4a s4b1 --diff
bcv_usage wait s4a s4b1 --timeout soon
bcv_usage terminate s4a
bcv_usage query s4a s4b1
check_no_sess s4a s4b1
check_model "refused commands left the STD alone" $A "$T/mA"

# --- establish; a copy that cannot complete -----------------------------------

dm_fail s4b1_dm || fail "cannot make s4b1's disk fail"
bcv_must establish s4a s4b1
check_sess s4a s4b1 state=syncinprog id=0 tracks=$NT track_size=$TS \
	std_changed_tracks=$NT copied_tracks=0
check_mm s4a s4b1
check_errors_rose s4a s4b1
check_sess s4a s4b1 state=syncinprog copied_tracks=0 invalid_tracks=$NT

# Every field bcv-design.rst section 9 and bcvctl's --json promise.
l=$(sess_line s4a s4b1)
for f in std bcv id state mm tracks track_size invalid_tracks \
	 std_changed_tracks bcv_changed_tracks copied_tracks errors percent_done; do
	[ -n "$(_field "$l" $f)" ] || _bad "query --json has no '$f': $l"
done
[ "$(sess_count s4a)" = 1 ] || _bad "query s4a: $(sess_count s4a) sessions, want 1"
[ "$(sess_count s4b1)" = 1 ] || _bad "query s4b1: $(sess_count s4b1) sessions, want 1"
[ "$(sess_count s4b2)" = 0 ] || _bad "query s4b2: $(sess_count s4b2) sessions, want 0"

bcv_busy split s4a s4b1				# syncinprog: EBUSY
bcv_busy split s4a s4b1 --diff
bcv_busy reestablish s4a s4b1			# not split
bcv_busy restore s4a s4b1
bcv_busy restore s4a s4b1 --incremental
bcv_busy terminate s4a s4b1			# not split
bcv_busy establish s4a s4b1			# attached
bcv_busy establish s4z s4b1			# in a session with another STD
bcv_missing reestablish s4z s4b1		# no such session
bcv_busy remove s4b1				# in a session
bcv_busy remove s4a
expect_errmsg "$BCV_EXIT_TIMEOUT" bcvctl_t 60 wait s4a s4b1 --timeout 1
check_sess s4a s4b1 state=syncinprog
io_fails s4b1

dm_heal s4b1_dm || fail "cannot heal s4b1's disk"
bcv_must wait s4a s4b1
check_sess s4a s4b1 state=synchronized invalid_tracks=0 copied_tracks=$NT \
	std_changed_tracks=$NT percent_done=100
e=$(sess_field s4a s4b1 errors)
[ -n "$e" ] && [ "$e" -gt 0 ] ||
	_bad "errors = '$e' after failed copies, want > 0 until the next command"

# Synchronized: still not ready; its disk holds the STD's data.
io_fails s4b1
check_model "s4b1's disk holds the STD's data" "$d_b1" "$T/mA" "$SIZE"
bcv_busy establish s4a s4b1
bcv_busy reestablish s4a s4b1
bcv_busy restore s4a s4b1
bcv_busy terminate s4a s4b1

# A STD write while attached reaches the BCV.
expect "STD write while s4b1 is attached" mwrite $A "$T/mA" $((7 * TS)) $TS a7

# --- split -----------------------------------------------------------------------

bcv_must split s4a s4b1
check_sess s4a s4b1 state=split mm=-1 invalid_tracks=0 std_changed_tracks=0 \
	bcv_changed_tracks=0
check_model "the split BCV holds the STD's data (the refused write is not there)" \
	/dev/bcv/s4b1 "$T/mA"
bcv_busy split s4a s4b1				# already split
bcv_busy split s4a s4b1 --diff
expect "wait on a split session returns at once" bcvctl_t 60 wait s4a s4b1

# A split BCV is an ordinary writable volume; writes are counted.
cp "$T/mA" "$T/mB1"
expect "write to the split BCV" mwrite /dev/bcv/s4b1 "$T/mB1" $((3 * TS)) $TS b1t3
check_model "the split BCV reads back its own write" /dev/bcv/s4b1 "$T/mB1"
expect "STD write, a whole track" mwrite $A "$T/mA" $((9 * TS)) $TS a9
expect "STD write, 4 KiB of a track" mwrite $A "$T/mA" $((10 * TS + 8192)) 4096 a10
expect "STD write, 8 KiB across tracks 11 and 12" \
	mwrite $A "$T/mA" $((12 * TS - 4096)) 8192 a11
check_sess s4a s4b1 state=split std_changed_tracks=4 bcv_changed_tracks=1

exec 3< /dev/bcv/s4b1
bcv_busy reestablish s4a s4b1			# the BCV is open
exec 3<&-

# --- mirror positions: 1 own leg + 3 BCVs -------------------------------------

bcv_must establish s4a s4b2 --wait
bcv_must establish s4a s4b3 --wait
bcv_must reestablish s4a s4b1 --wait
check_sess s4a s4b1 state=synchronized copied_tracks=5 std_changed_tracks=5 \
	invalid_tracks=0
check_sess s4a s4b2 state=synchronized copied_tracks=$NT
check_sess s4a s4b3 state=synchronized copied_tracks=$NT
check_mm s4a s4b1 s4b2 s4b3
ids=$(for b in s4b1 s4b2 s4b3; do sess_field s4a $b id; done | sort -u | wc -l)
[ "$ids" = 3 ] || _bad "three sessions of s4a do not have three ids: $(sess_lines s4a)"
bcv_busy establish s4a s4b4			# no free mirror position: EBUSY
check_no_sess s4a s4b4
io_fails s4b2

# A STD write reaches all three.
expect "STD write with three BCVs attached" mwrite $A "$T/mA" $((13 * TS)) $TS a13

# A split frees a position.
bcv_must split s4a s4b1
bcv_must establish s4a s4b4 --wait
check_sess s4a s4b4 state=synchronized copied_tracks=$NT
check_mm s4a s4b2 s4b3 s4b4
bcv_busy reestablish s4a s4b1			# no free position again
check_sess s4a s4b1 state=split
for b in s4b2 s4b3 s4b4; do
	bcv_must split s4a $b
done
for b in s4b1 s4b2 s4b3 s4b4; do
	check_model "$b holds the STD as of its split" /dev/bcv/$b "$T/mA"
done

# --- restore: the STD must not be open unless forced ---------------------------

cp "$T/mA" "$T/mB2"
expect "write to s4b2" mwrite /dev/bcv/s4b2 "$T/mB2" $((1 * TS)) $((2 * TS)) b2t1
exec 4< $A
bcv_busy restore s4a s4b2			# the STD is open
bcv_busy restore s4a s4b2 --incremental
bcv_must restore s4a s4b2 --force --wait
exec 4<&-
check_sess s4a s4b2 state=restored copied_tracks=$NT invalid_tracks=0 \
	std_changed_tracks=0
cp "$T/mB2" "$T/mA"
check_model "a forced full restore made the STD the BCV's copy" $A "$T/mA"
# A full restore changes every track of the STD for the other sessions.
for b in s4b1 s4b3 s4b4; do
	check_sess s4a $b state=split std_changed_tracks=$NT bcv_changed_tracks=0
done
bcv_busy terminate s4a s4b2			# attached (restored)
bcv_busy reestablish s4a s4b2
bcv_must split s4a s4b2

# --- restore while another restore runs --------------------------------------

# s4b3 gets its own data, then its restore cannot write the STD's disk.
bcv_must reestablish s4a s4b3 --wait
bcv_must split s4a s4b3
cp "$T/mA" "$T/mB3"
expect "write to s4b3" mwrite /dev/bcv/s4b3 "$T/mB3" $((4 * TS)) $TS b3t4
expect "write to s4b3, partial" mwrite /dev/bcv/s4b3 "$T/mB3" $((20 * TS + 512)) 1024 b3t20
check_sess s4a s4b3 state=split std_changed_tracks=0 bcv_changed_tracks=2

dm_fail s4a_dm || fail "cannot make s4a's disk fail"
bcv_must restore s4a s4b3
check_sess s4a s4b3 state=restinprog copied_tracks=0
check_errors_rose s4a s4b3
check_sess s4a s4b3 state=restinprog copied_tracks=0 invalid_tracks=$NT
bcv_busy restore s4a s4b4			# another restore runs: EBUSY
bcv_busy restore s4a s4b4 --incremental
bcv_busy restore s4a s4b3			# not split
bcv_busy split s4a s4b3				# restinprog
bcv_busy terminate s4a s4b3
bcv_busy reestablish s4a s4b3
bcv_busy remove s4b3
# The STD stays readable: its own leg is invalid everywhere and failing,
# so every read must come from the restore source.
check_model "STD reads during the restore come from s4b3" $A "$T/mB3"
io_fails s4b3
expect_errmsg "$BCV_EXIT_TIMEOUT" bcvctl_t 60 wait s4a s4b3 --timeout 1

dm_heal s4a_dm || fail "cannot heal s4a's disk"
bcv_must wait s4a s4b3
check_sess s4a s4b3 state=restored copied_tracks=$NT invalid_tracks=0
cp "$T/mB3" "$T/mA"
check_model "the STD is s4b3's copy after the restore" $A "$T/mA"
check_model "the STD's disk too" "$d_a" "$T/mA"
bcv_must split s4a s4b3
check_model "s4b3 after the split" /dev/bcv/s4b3 "$T/mA"

# --- terminate --------------------------------------------------------------------

bcv_must reestablish s4a s4b4 --wait
bcv_busy terminate s4a s4b4			# attached
bcv_must split s4a s4b4
bcv_must terminate s4a s4b4
check_no_sess s4a s4b4
bcv_missing terminate s4a s4b4			# no session: ENOENT
bcv_missing split s4a s4b4
bcv_missing reestablish s4a s4b4
bcv_missing restore s4a s4b4
# A plain volume again: it may join another STD, and be removed.
bcv_must establish s4z s4b4 --wait
check_sess s4z s4b4 state=synchronized id=0 copied_tracks=$NT
bcv_busy establish s4a s4b4			# in a session with s4z
bcv_must split s4z s4b4
bcv_busy remove s4b4				# in a (split) session
bcv_busy remove s4z
bcv_must terminate s4z s4b4
bcv_must remove s4b4
bcv_busy remove s4b1				# split session with s4a
bcv_busy remove s4a				# has sessions
exec 3< /dev/bcv/s4z
bcv_busy remove s4z				# open
exec 3<&-
bcv_must remove s4z

# --- 16 sessions per STD ----------------------------------------------------------

loop_new 1M || fail "cannot make a loop device"
create_vol std s4t "$LOOP" --track-size 64K
check_capacity s4t "$TS" "$LOOP"
NT1=$(( ($(dev_size /dev/bcv/s4t) + TS - 1) / TS ))	# 16 tracks
for ((i = 1; i <= 17; i++)); do
	loop_new 1M || fail "cannot make loop device $i"
	create_vol bcv "s4t$i" "$LOOP" --track-size 64K
done
for ((i = 1; i <= 16; i++)); do
	bcv_must establish s4t "s4t$i" --wait
	bcv_must split s4t "s4t$i"
done
[ "$(sess_count s4t)" = 16 ] || _bad "s4t has $(sess_count s4t) sessions, want 16"
ids=$(for ((i = 1; i <= 16; i++)); do sess_field s4t "s4t$i" id; done |
	sort -n | tr '\n' ' ')
[ "$ids" = "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 " ] ||
	_bad "the ids of 16 sessions are '$ids', want 0 to 15"
bcv_refused establish s4t s4t17			# 17th session: ENOSPC
check_no_sess s4t s4t17
grep -qiE 'session|space|16' "$ERR" ||
	note "the 17th establish says '$(cat "$ERR")' (no mention of sessions)"
[ "$(sess_count s4t1)" = 1 ] || _bad "query s4t1 lists $(sess_count s4t1) sessions"

# Terminating one frees its column for the next session.
id5=$(sess_field s4t s4t5 id)
bcv_must terminate s4t s4t5
bcv_must establish s4t s4t17 --wait
check_sess s4t s4t17 id="$id5" state=synchronized copied_tracks=$NT1 \
	tracks=$NT1 std_changed_tracks=$NT1
bcv_refused establish s4t s4t5			# 16 sessions again
bcv_must split s4t s4t17

pass
