#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# disks: 64M 64M
#
# Precise refusal reasons (issue 15): the kernel says why it refused a
# session command (BCV_R_* in the ioctl's struct) and bcvctl prints that
# reason and its remedy, with the exit status of the errno (3 not found,
# 4 busy, 1 the rest), and nothing changes (query --json before and after).
#
# The STD r15s is 2 MiB (a slice of vda); BCVs are 3 MiB slices of vdb,
# so that one STD can have 16 sessions.  Each refusal below is checked for
# its exact line:
#   no volume, no session, wrong role, smaller BCV (sizes named), state
#   (split of a split session, establish of an attached BCV), STD open
#   (restore: "open by 1 user: unmount it or use --force"), BCV open
#   (reestablish), BCV in another STD's session, no free mirror position
#   (1 leg + 3 attached BCVs), 16 sessions (ENOSPC, exit 1), another
#   restore running, an ABORT that cannot undo a restore, and the pair a
#   consistent split refuses (named, with its reason).
# The reasons only a failing disk produces (BCV lacks tracks at split,
# only copy, a BCV mirror that cannot catch up) are checked in the unit
# tests (test_preconditions.c, test_reasons).

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need dmsetup blockdev udevadm
sess_setup

MB=2048			# sectors
dmsetup create r15sd --table "0 $((2 * MB)) linear ${DISKS[0]} 0" ||
	fail "cannot make r15sd"
dmsetup create r15s2d --table "0 $((2 * MB)) linear ${DISKS[0]} $((4 * MB))" ||
	fail "cannot make r15s2d"
dmsetup create r15smalld --table "0 $MB linear ${DISKS[0]} $((8 * MB))" ||
	fail "cannot make r15smalld"
NB=18
for i in $(seq 0 $((NB - 1))); do
	dmsetup create "r15b${i}d" --table "0 $((3 * MB)) linear ${DISKS[1]} $((i * 3 * MB))" ||
		fail "cannot make r15b${i}d"
done
dm_cleanup() {
	local i
	for i in $(seq 0 $((NB - 1))); do
		dmsetup remove "r15b${i}d" 2>/dev/null
	done
	dmsetup remove r15sd r15s2d r15smalld 2>/dev/null
}
on_exit dm_cleanup
udevadm settle

create_vol std r15s /dev/mapper/r15sd --track-size 64K
create_vol std r15s2 /dev/mapper/r15s2d --track-size 64K
create_vol bcv r15small /dev/mapper/r15smalld --track-size 64K
for i in $(seq 0 $((NB - 1))); do
	create_vol bcv "r15b$i" "/dev/mapper/r15b${i}d" --track-size 64K
done
S=/dev/bcv/r15s

# The sessions (not the volumes' metadata generation, which a superblock
# write scheduled by an earlier command may still raise).
state_now() { bcvctl query --json | tr -d '[:space:]' | sed 's/,"volumes".*//'; }
# says CODE LINE CMD...: exit CODE, exactly LINE on stderr (after
# "bcvctl: "), and the sessions unchanged.
says() {
	local code=$1 want=$2 before
	shift 2
	before=$(state_now)
	expect_errmsg "$code" "$@" || return 1
	if [ "$(cat "$ERR")" = "bcvctl: $want" ]; then
		ok "$*: '$want'"
	else
		_bad "$*: said '$(cat "$ERR")', want 'bcvctl: $want'"
	fi
	[ "$(state_now)" = "$before" ] || _bad "$*: the sessions changed"
}

says 3 "establish nosuch r15b0: no volume named nosuch" \
	bcvctl establish nosuch r15b0
says 3 "split r15s r15b0: no session between r15s and r15b0" \
	bcvctl split r15s r15b0
says 1 "establish r15b0 r15s: r15b0 is a bcv volume, not a std volume" \
	bcvctl establish r15b0 r15s
says 1 "establish r15s r15small: BCV r15small (992 KiB) is smaller than STD r15s (2.0 MiB)" \
	bcvctl establish r15s r15small

dd if=/dev/urandom of="$S" bs=64K count=16 oflag=direct status=none ||
	fail "cannot write $S"
bcv_must establish r15s r15b0 --wait
says 4 "establish r15s r15b0: the session is synchronized: BCV is attached to it: split it first" \
	bcvctl establish r15s r15b0
says 4 "establish r15s2 r15b0: BCV r15b0 is in a session with another STD: terminate that session first" \
	bcvctl establish r15s2 r15b0
bcv_must split r15s r15b0
says 4 "split r15s r15b0: the session is split: it is split already" \
	bcvctl split r15s r15b0

exec 7< "$S"
says 4 "restore r15s r15b0: STD r15s is open by 1 user: unmount it or use --force" \
	bcvctl restore r15s r15b0
exec 7<&-
exec 7< /dev/bcv/r15b0
says 4 "reestablish r15s r15b0: BCV r15b0 is open by 1 user: unmount or close it first" \
	bcvctl reestablish r15s r15b0
exec 7<&-

# Another restore running (paused, so that it stays running).
bcv_must establish r15s r15b1 --wait
bcv_must split r15s r15b1
bcv_must pause r15s r15b1
bcv_must restore r15s r15b1
says 4 "restore r15s r15b0: another restore runs on STD r15s: wait for it" \
	bcvctl restore r15s r15b0
# A 4 KiB write into a track not restored yet: ABORT cannot undo it.
dd if=/dev/urandom of="$S" bs=4K seek=3 count=1 oflag=direct status=none ||
	_bad "a write during the paused restore failed"
says 4 "abort r15s r15b1: the restore cannot be undone (it began before the volumes were assembled, STD had tracks to copy or I/O errors since, or the host wrote a track not restored yet): let it finish (wait)" \
	bcvctl abort r15s r15b1
bcv_must resume r15s r15b1
bcv_must wait r15s r15b1
bcv_must split r15s r15b1

# No free mirror position: the leg and 3 attached BCVs.
bcv_must reestablish r15s r15b1 --wait
bcv_must establish r15s r15b2 --wait
bcv_must establish r15s r15b3 --wait
says 4 "reestablish r15s r15b0: STD r15s has no free mirror position (4 in use by its legs and attached BCVs): split or remove one" \
	bcvctl reestablish r15s r15b0
says 4 "split --consistent r15s r15b0: the session is split: it is split already" \
	bcvctl split --consistent r15s r15b1 r15s r15b0
for i in 1 2 3; do
	bcv_must split r15s "r15b$i"
done

# 16 sessions: r15b0..r15b3 have theirs; 12 more.
for i in $(seq 4 15); do
	bcv_must establish r15s "r15b$i" --wait
	bcv_must split r15s "r15b$i"
done
[ "$(sess_count r15s)" = 16 ] || _bad "r15s has $(sess_count r15s) sessions, want 16"
says 1 "establish r15s r15b16: STD r15s already has 16 sessions: terminate one" \
	bcvctl establish r15s r15b16

end_all_sessions
pass
