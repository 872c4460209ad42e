#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_reboot_11.sh, boot 2 on the disks of boot 1, with the predicted copy
# counts as arguments: PREDICT_B1 PREDICT_B3.  The volumes must be back by
# udev alone; prints what it finds (the host compares it with boot 1), then
# reestablishes r11b1 and restores r11s from r11b3 incrementally: each copy
# must copy exactly the predicted tracks, and the data must match.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 6
need_sessions
need blockdev udevadm
[ $# -eq 2 ] || fail "usage: reboot_2.sh PREDICT_B1 PREDICT_B3"
p1=$1
p3=$2
S=r11s

# No assemble command: udev did it at boot.
settle_vols $S r11b1 r11b2 r11b3
for v in $S r11b1 r11b2 r11b3; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
done
bcvctl list
bcvctl query
put tracks "$(json_field $S tracks)"
put_vols
for b in r11b1 r11b2 r11b3; do
	put_sess $S $b
done
for v in $S r11b1 r11b3; do
	put "sum.$v" "$(dev_sum /dev/bcv/$v)"
done
# A clean stop: the mirror legs came back in sync, nothing recovered.
for v in $S r11b3; do
	li=$(leg_invalid $v)
	if [ "$li" = "0 0" ]; then
		ok "$v: both legs valid after the reboot"
	else
		_bad "$v: the legs' invalid tracks are '$li', want '0 0'"
	fi
done
for v in $S r11b1 r11b2 r11b3; do
	q=$(vol_flag $v recovered)
	[ "$q" != true ] || _bad "$v: recovered after a clean stop"
done
if bcvctl query 2>&1 | grep -qi 'unclean'; then
	_bad "query mentions an unclean shutdown after a clean stop"
fi

# Reestablish r11b1: exactly the tracks written on either side.
bcv_must reestablish $S r11b1 --wait
check_sess $S r11b1 state=synchronized invalid_tracks=0 copied_tracks="$p1"
put "$S/r11b1.copied_after" "$(sess_field $S r11b1 copied_tracks)"
bcv_must split $S r11b1
cmp_vols "r11b1 is byte-identical to r11s after the reestablish" $S r11b1

# Incremental restore from r11b3: the STD becomes r11b3's content.
sum3=$(dev_sum /dev/bcv/r11b3)
bcv_must restore $S r11b3 --incremental --wait
check_sess $S r11b3 state=restored invalid_tracks=0 copied_tracks="$p3"
put "$S/r11b3.copied_after" "$(sess_field $S r11b3 copied_tracks)"
got=$(dev_sum /dev/bcv/$S)
if [ "$got" = "$sum3" ]; then
	ok "r11s is byte-identical to r11b3 after the incremental restore"
else
	_bad "r11s after the incremental restore: sha256 $got, r11b3 had $sum3"
fi
# The attached r11b2 got the restored tracks too.
bcv_must wait $S r11b2
bcv_must split $S r11b2
cmp_vols "r11b2 is byte-identical to r11s" $S r11b2
# Both legs of the STD hold the same data.
wait_legs $S
len=$(vol_bytes $S)
check_same "r11s's two legs hold the same data" "${DISKS[0]}" "${DISKS[1]}" "$len"
pass
