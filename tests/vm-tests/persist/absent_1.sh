#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_absent_11.sh, boot 1 (disks: STD, BCV): a11b established to a11s
# (attached, synchronized), then `bcvctl stop --all`.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 2
need_sessions
need blockdev udevadm

create_vol std a11s "${DISKS[0]}"
create_vol bcv a11b "${DISKS[1]}"
put tracks "$(json_field a11s tracks)"
wr /dev/bcv/a11s init 0 $((2 << 20))
bcv_must establish a11s a11b --wait
check_sess a11s a11b state=synchronized invalid_tracks=0
put_sess a11s a11b
put sum.a11s "$(dev_sum /dev/bcv/a11s)"
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put stopped yes
pass
