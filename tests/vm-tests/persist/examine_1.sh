#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_examine_11.sh, boot 1 (disks: STD, STD mirror, BCV, another BCV):
# x11s (two legs) and x11b in a split session with writes on both sides,
# x11t alone; stop --all; then `bcvctl examine --json` and `--export` of
# every device, each output line printed as "@@ J.vdX LINE" / "@@ X.vdX
# LINE" with the exit status as "@@ rc.J.vdX N" for the host to parse.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 4
need_sessions
need blockdev udevadm

create_vol std x11s "${DISKS[0]}" --mirror "${DISKS[1]}"
create_vol bcv x11b "${DISKS[2]}"
create_vol bcv x11t "${DISKS[3]}"
TS=$TRACK_SIZE
wait_legs x11s
bcv_must establish x11s x11b --wait
bcv_must split x11s x11b
wr /dev/bcv/x11s a $((2 * TS)) $((3 * TS))	# 3 tracks
wr /dev/bcv/x11b b $((9 * TS)) 4096		# 1 track
wr /dev/bcv/x11b c $((90 * TS)) 4096		# 1 track
check_sess x11s x11b state=split std_changed_tracks=3 bcv_changed_tracks=2
put tracks "$(json_field x11s tracks)"
put_vols
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put t.sectors "$(blockdev --getsz "${DISKS[3]}")"

for d in "${DISKS[@]}"; do
	n=$(basename "$d")
	bcvctl examine "$d" --json > "$T/j" 2> "$T/e"
	put "rc.J.$n" $?
	sed "s/^/@@ J.$n /" "$T/j"
	sed "s/^/# stderr: /" "$T/e"
	bcvctl examine "$d" --export > "$T/x" 2> "$T/e"
	put "rc.X.$n" $?
	sed "s/^/@@ X.$n /" "$T/x"
	sed "s/^/# stderr: /" "$T/e"
	bcvctl examine "$d"
done
pass
