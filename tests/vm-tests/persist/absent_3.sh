#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_absent_11.sh, boot 3 with both disks again, argument: the number of
# tracks written on the STD while the BCV was absent.  a11b comes back
# (udev), is caught up incrementally, and is byte-identical to a11s.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 2
need_sessions
need blockdev udevadm
[ $# -eq 1 ] || fail "usage: absent_3.sh WRITTEN_TRACKS"

settle_vols a11s a11b
[ -b /dev/bcv/a11s ] && [ -b /dev/bcv/a11b ] || fail "cannot go on"
bcvctl query
bcv_must wait a11s a11b
check_sess a11s a11b state=synchronized invalid_tracks=0 copied_tracks="$1"
put_sess a11s a11b
put sum.a11s "$(dev_sum /dev/bcv/a11s)"
bcv_must split a11s a11b
cmp_vols "a11b is byte-identical to a11s" a11s a11b
pass
