#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_reboot_11.sh, boot 1 (disks: STD, STD mirror, B1, B2, B3, B3 mirror):
# a STD with a mirror leg and three BCVs (r11b3 with a fixed mirror), all
# established, r11b1 and r11b3 split, known writes on both sides, then
# `bcvctl stop --all`.  Prints the values the next boot must find again.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 6
need_sessions
need blockdev udevadm

S=r11s
create_vol std $S "${DISKS[0]}" --mirror "${DISKS[1]}"
create_vol bcv r11b1 "${DISKS[2]}"
create_vol bcv r11b2 "${DISKS[3]}"
create_vol bcv r11b3 "${DISKS[4]}" --mirror "${DISKS[5]}"
NT=$(json_field $S tracks)
put tracks "$NT"

# Some data on the STD before the BCVs copy it.
wr /dev/bcv/$S init 0 $((2 << 20))
: > "$T/tracks.$S"
wait_legs $S
wait_legs r11b3

# The STD's mirror leg takes one of the four mirror positions: two BCVs
# at a time.  r11b1 and r11b3 first, split, then r11b2.
for b in r11b1 r11b3; do
	bcv_must establish $S $b
done
for b in r11b1 r11b3; do
	bcv_must wait $S $b
	check_sess $S $b state=synchronized invalid_tracks=0 copied_tracks="$NT"
done
bcv_must split $S r11b1
bcv_must split $S r11b3 --wait
wait_legs r11b3
bcv_must establish $S r11b2 --wait
check_sess $S r11b2 state=synchronized invalid_tracks=0 copied_tracks="$NT"
check_sess $S r11b1 state=split std_changed_tracks=0 bcv_changed_tracks=0
check_sess $S r11b3 state=split std_changed_tracks=0 bcv_changed_tracks=0

# Writes on both sides: whole tracks, partial tracks, one across a track
# boundary, the last (partial) track.
TS=$TRACK_SIZE
wr /dev/bcv/$S s1 $((3 * TS)) $TS
wr /dev/bcv/$S s2 $((10 * TS)) $((2 * TS))
wr /dev/bcv/$S s3 $((100 * TS + 4096)) 4096
wr /dev/bcv/$S s4 $((200 * TS + 61440)) 8192
wr /dev/bcv/$S s5 $((500 * TS)) 65536
wr /dev/bcv/$S s6 $(((NT - 1) * TS)) 4096
wr /dev/bcv/r11b1 b1a $((10 * TS + 8192)) 4096
wr /dev/bcv/r11b1 b1b $((20 * TS)) $((2 * TS))
wr /dev/bcv/r11b1 b1c $((700 * TS + 32768)) 4096
wr /dev/bcv/r11b3 b3a $((3 * TS + 512)) 4096
wr /dev/bcv/r11b3 b3b $((50 * TS)) $TS
wr /dev/bcv/r11b3 b3c $((900 * TS + 60 * 1024)) 4096

nS=$(ntracks $S)		# 8
n1=$(ntracks r11b1)		# 4
n3=$(ntracks r11b3)		# 3
check_sess $S r11b1 state=split std_changed_tracks="$nS" bcv_changed_tracks="$n1"
check_sess $S r11b2 state=synchronized invalid_tracks=0
check_sess $S r11b3 state=split std_changed_tracks="$nS" bcv_changed_tracks="$n3"
# What a reestablish of r11b1 and an incremental restore from r11b3 must
# copy: every track written on either side.
put predict_b1 "$(union_tracks $S r11b1)"
put predict_b3 "$(union_tracks $S r11b3)"

for b in r11b1 r11b2 r11b3; do
	put_sess $S $b
done
put_vols
for v in $S r11b1 r11b3; do
	put "sum.$v" "$(dev_sum /dev/bcv/$v)"
done
bcvctl query
bcvctl list

udevadm settle
bcv_must stop --all
udevadm settle
left=$(vol_names | tr '\n' ' ')
[ -z "$left" ] || _bad "volumes left after stop --all: $left"
for v in $S r11b1 r11b2 r11b3; do
	[ ! -e /dev/bcv/$v ] || _bad "/dev/bcv/$v still exists after stop --all"
done
put stopped yes
pass
