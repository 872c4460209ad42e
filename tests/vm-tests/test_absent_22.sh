#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (the session layer and tables: no kernel API)
#
# Sessions whose other side is gone can be ended (issue 22, defect 16;
# bcv.rst "Missing volumes": ending a session whose other side is gone).
# Before: every command needed both volumes assembled, so a session whose
# BCV died stayed for good, and a restore whose BCV died left the tracks
# not restored yet unreadable (EIO) with ABORT, split --force, stop and
# remove all refused.
#
#  1. An attached (synchronized) BCV is stopped: split --force by the UUID
#     the STD remembers splits the session with every track changed,
#     terminate (by name) ends it; the STD's data is intact.  The BCV,
#     assembled again, waits for a session its STD no longer has;
#     terminate releases it, and it holds the STD's data (it was a full
#     mirror).  A new session at the freed mirror position copies.
#  2. A restore held in restinprog (paused) loses its BCV's disk
#     (dm-error): the tracks it had not restored are unreadable; ABORT
#     gives them back to the STD's leg (its old data, byte for byte), the
#     session is split, terminate ends it, remove --force removes the BCV.
#  Refused, changing nothing: split without --force of the absent BCV,
#  and a name the STD does not remember (exit 3 both).
#
# disks: 16M 16M 16M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need blockdev cmp dmsetup
sess_setup

TS=65536
DSZ=$(blockdev --getsz "${DISKS[0]}")
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))

create_vol std a22s "${DISKS[0]}" --track-size 64K
create_vol bcv a22b "${DISKS[1]}" --track-size 64K
dm_linear a22d "${DISKS[2]}" || fail "cannot make dm-linear a22d"
create_vol bcv a22c "$DM" --track-size 64K
S=/dev/bcv/a22s
T=$(mktemp -d)
on_exit "rm -rf $T"

random_file "$T/base" "$SIZE"
dd if="$T/base" of="$S" bs=1M oflag=direct status=none || fail "cannot fill the STD"

# --- 1. an attached BCV that is not there -----------------------------------

bcv_must establish a22s a22b --wait
check_sess a22s a22b state=synchronized
UUID=$(cat "$(vol_sysfs a22b)/bcv/uuid") && [ -n "$UUID" ] || fail "no uuid for a22b"
bcv_must stop a22b
check_sess a22s a22b state=synchronized
bcv_missing split a22s a22b
bcv_missing split a22s not-a-bcv --force
bcv_must split a22s "$UUID" --force
NT=$(cat "$(vol_sysfs a22s)/bcv/tracks")
check_sess a22s a22b state=split std_changed_tracks="$NT"
bcv_must terminate a22s a22b
check_no_sess a22s a22b
expect "1: the STD holds its data" cmp -s -n "$SIZE" "$S" "$T/base"

# The BCV comes back: it names a session its STD no longer has.
bcv_must assemble "${DISKS[1]}"
wait_for test -b /dev/bcv/a22b || fail "a22b did not come back"
expect "1: the returned BCV is not ready (it says attached)" \
	sh -c "! dd if=/dev/bcv/a22b of=/dev/null bs=4k count=1 iflag=direct status=none"
bcv_must terminate a22s a22b
expect "1: released, the BCV holds the STD's data" \
	cmp -s -n "$SIZE" /dev/bcv/a22b "$T/base"

# --- 2. a restore whose BCV goes away ------------------------------------------

bcv_must establish a22s a22c --wait
bcv_must split a22s a22c
# Tracks 1-3 change on the BCV, track 6 on the STD: the restore copies
# those four from the BCV.
random_file "$T/new" $((4 * TS))
dd if="$T/new" of=/dev/bcv/a22c bs=64K seek=1 count=3 oflag=direct status=none ||
	fail "cannot write the BCV"
dd if="$T/new" of="$S" bs=64K seek=6 skip=3 count=1 oflag=direct status=none ||
	fail "cannot write the STD"
cp "$T/base" "$T/std"
dd if="$T/new" of="$T/std" bs=64K seek=6 skip=3 count=1 conv=notrunc status=none
bcv_must pause a22s a22c
bcv_must restore a22s a22c --incremental
check_sess a22s a22c state=restinprog
dm_fail a22d || fail "cannot fail a22d"
expect "2: a track not restored is unreadable once its BCV died" \
	sh -c "! dd if=$S of=/dev/null bs=64K skip=2 count=1 iflag=direct status=none"
bcv_must abort a22s a22c
check_sess a22s a22c state=split
expect "2: the ABORT gave the STD its data back, byte for byte" \
	cmp -s -n "$SIZE" "$S" "$T/std"
bcv_must terminate a22s a22c
check_no_sess a22s a22c
bcv_must remove a22c --force

pass
