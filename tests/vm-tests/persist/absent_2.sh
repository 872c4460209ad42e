#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_absent_11.sh, boot 2 with the STD's disk only: a11s assembles
# alone (udev), keeps its session with the absent a11b, is usable and
# written; then `bcvctl stop --all`.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 1
need_sessions
need blockdev udevadm

settle_vols a11s
[ -b /dev/bcv/a11s ] || fail "cannot go on without /dev/bcv/a11s"
[ ! -e /dev/bcv/a11b ] || _bad "/dev/bcv/a11b exists without its disk"
bcvctl list
bcvctl list --json
bcvctl query
bcvctl query --json
# Whatever else the kernel reports, the session keeps its state.
check_sess a11s a11b state=synchronized
put_sess a11s a11b
put peer_absent "$(vol_flag a11s peer_absent)"
put sum.before "$(dev_sum /dev/bcv/a11s)"

TS=$TRACK_SIZE
wr /dev/bcv/a11s w1 $((5 * TS)) $((2 * TS))
wr /dev/bcv/a11s w2 $((77 * TS + 4096)) 4096
wr /dev/bcv/a11s w3 $((300 * TS)) $TS
wr /dev/bcv/a11s w4 $((1000 * TS + 65024)) 512
put written "$(ntracks a11s)"	# 5
put_sess a11s a11b
put sum.a11s "$(dev_sum /dev/bcv/a11s)"
bcvctl query
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put stopped yes
pass
