#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 1 (disks: STD, STD mirror, B1, B2): p11s with a
# mirror leg, p11b1 attached, p11b2 split; stop --all.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 4
need_sessions
need blockdev udevadm

create_vol std p11s "${DISKS[0]}" --mirror "${DISKS[1]}"
create_vol bcv p11b1 "${DISKS[2]}"
create_vol bcv p11b2 "${DISKS[3]}"
wr /dev/bcv/p11s init 0 $((2 << 20))
wait_legs p11s
bcv_must establish p11s p11b1
bcv_must establish p11s p11b2
bcv_must wait p11s p11b1
bcv_must wait p11s p11b2
bcv_must split p11s p11b2
check_sess p11s p11b1 state=synchronized invalid_tracks=0
check_sess p11s p11b2 state=split
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put stopped yes
pass
