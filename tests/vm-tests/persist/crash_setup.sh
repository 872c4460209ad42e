#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_crash_12.sh, the first boot (disks: STD, STD mirror, B1, B2): p12s
# with a mirror leg, p12b1 and p12b2 established and split; stop --all.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 4
need_sessions
need blockdev udevadm

create_vol std p12s "${DISKS[0]}" --mirror "${DISKS[1]}"
create_vol bcv p12b1 "${DISKS[2]}"
create_vol bcv p12b2 "${DISKS[3]}"
wr /dev/bcv/p12s init 0 $((4 << 20))
wait_legs p12s
for b in p12b1 p12b2; do
	bcv_must establish p12s $b
	bcv_must wait p12s $b
	bcv_must split p12s $b
done
put tracks "$(sess_field p12s p12b1 tracks)"
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put stopped yes
pass
