#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_examine_11.sh, boot 2: the fourth disk's image was truncated by
# 1 MiB between the boots.  x11s and x11b come back by udev; x11t does not,
# `bcvctl assemble` refuses it with one line and changes nothing on it.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 4
need_sessions
need blockdev udevadm

T4=${DISKS[3]}
settle_vols x11s x11b
put t.sectors "$(blockdev --getsz "$T4")"
[ ! -e /dev/bcv/x11t ] || _bad "x11t assembled on its truncated device"
before=$(dev_sum "$T4")
expect_errmsg 1 bcvctl assemble "$T4"
udevadm settle
[ ! -e /dev/bcv/x11t ] || _bad "x11t assembled on its truncated device"
expect_exit 1 bcvctl examine "$T4" --export
[ ! -s "$OUT" ] || _bad "examine --export printed for the truncated device: $(cat "$OUT")"
after=$(dev_sum "$T4")
[ "$before" = "$after" ] && ok "the truncated device is unchanged" ||
	_bad "the refused assembly changed the truncated device"
check_sess x11s x11b state=split std_changed_tracks=3 bcv_changed_tracks=2
udevadm settle
bcv_must stop --all
pass
