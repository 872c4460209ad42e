#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# disks: 16M 16M
#
# The split that ends a protected restore (issue 22, defect 17;
# bcv-design.rst section 12): it is owed until it happens, across a stop
# and an assembly, and refused for a while it is tried again.
#
# A protected incremental restore of 6 tracks is paused, both volumes are
# stopped, and the STD's record of the session is set to "restored": what
# a crash leaves after the end of the restore reached the STD's
# superblock but before its split did (the tables, written lazily, still
# call the 6 tracks not restored on the STD's leg).  After assembly the
# split is due at once but refused (the BCV alone holds those 6 tracks)
# until the engine has copied them; then it happens:
#   - `bcvctl wait` returns 0 with the session split (before the fix: it
#     waits forever, here "timed out", exit 5, state restored);
#   - exactly 6 tracks copied, nothing changed on either side, the BCV's
#     checksum is what it was, and the STD holds the BCV's data.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need metafuzz blockdev cmp
sess_setup

# The volumes are assembled here, not by udev (the forged superblock is a
# change event).
touch /run/bcv-no-auto-assemble || fail "cannot turn udev's assembly off"
on_exit 'rm -f /run/bcv-no-auto-assemble'

TS=65536
DSZ=$(blockdev --getsz "${DISKS[0]}")
SIZE=$(( $(bcv_data_sectors "$DSZ" $TS) * 512 ))
S=/dev/bcv/as22s
B=/dev/bcv/as22b

create_vol std as22s "${DISKS[0]}" --track-size 64K
create_vol bcv as22b "${DISKS[1]}" --track-size 64K
random_file "$T/data" "$SIZE"
dd if="$T/data" of="$S" bs=1M oflag=direct status=none || fail "cannot fill $S"
bcv_must establish as22s as22b --wait
bcv_must split as22s as22b
bsum=$(range_sum "$B" 0 "$SIZE")

# 6 whole tracks change on the STD: the protected restore's work.
random_file "$T/w" $TS
for t in 20 40 60 80 100 120; do
	dd if="$T/w" of="$S" bs=64K seek=$t count=1 oflag=direct conv=notrunc \
		status=none || fail "cannot write track $t"
done
bcv_must pause as22s as22b
bcv_must restore as22s as22b --protect --incremental
check_sess as22s as22b state=restinprog protected=true copied_tracks=0 \
	invalid_tracks=6
id=$(sess_field as22s as22b id)

bcv_must stop as22s
bcv_must stop as22b
# State 5: restored (BCV_STATE_RESTORED), the protect flag kept.
expect "the STD's record says the protected restore is done" \
	metafuzz set "${DISKS[0]}" "sess[$id].state=5"
bcv_must assemble "${DISKS[0]}"
bcv_must assemble "${DISKS[1]}"
udevadm settle
wait_for test -b "$S" || fail "$S is not back after assemble"

# At most BCV_WAIT_LIMIT in the worst case; the split follows the copy of
# 6 tracks.
if expect_exit 0 bcvctl_t "$BCV_WAIT_LIMIT" wait as22s as22b --timeout 60; then
	grep -qx 'wait as22s as22b: split' "$OUT" ||
		_bad "wait said '$(cat "$OUT")', want 'wait as22s as22b: split'"
fi
check_sess as22s as22b state=split protected=false copied_tracks=6 \
	std_changed_tracks=0 bcv_changed_tracks=0
expect "the BCV's checksum is unchanged" \
	test "$(range_sum "$B" 0 "$SIZE")" = "$bsum"
vols_same "after the split that ended the protected restore" "$S" "$B" "$SIZE"

pass
