#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# stop, rmmod, modprobe, assemble --scan in one boot (issue 11).
#
# A STD with a mirror leg, an attached BCV and a split BCV (with known
# writes on both sides), `bcvctl stop --all`: every volume is gone from
# the kernel and `rmmod bcv` works; after `modprobe bcv`, `bcvctl assemble
# --scan` brings every volume back with the same names, roles, legs,
# session states, changed-track counts and data; the sessions go on
# (a reestablish copies exactly the tracks written on either side).
#
# disks: 64M 64M 64M 64M

# test_common.sh and the helpers of the multi-boot tests; the volumes go
# at exit.
PERSIST_KEEP=0
# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/persist/common.sh"

need_disks 4
need_sessions
need blockdev udevadm rmmod modprobe
sess_setup

S=s11a
create_vol std $S "${DISKS[0]}" --mirror "${DISKS[1]}"
create_vol bcv s11b1 "${DISKS[2]}"
create_vol bcv s11b2 "${DISKS[3]}"
TS=$TRACK_SIZE
wr /dev/bcv/$S init 0 $((1 << 20))
: > "$T/tracks.$S"
wait_legs $S
bcv_must establish $S s11b1
bcv_must establish $S s11b2
bcv_must wait $S s11b1
bcv_must wait $S s11b2
bcv_must split $S s11b2
wr /dev/bcv/$S a $((7 * TS)) $((3 * TS))
wr /dev/bcv/$S b $((400 * TS + 4096)) 4096
wr /dev/bcv/s11b2 c $((8 * TS)) 4096
wr /dev/bcv/s11b2 d $((600 * TS)) $TS
check_sess $S s11b2 state=split std_changed_tracks=4 bcv_changed_tracks=2
predict=$(union_tracks $S s11b2)	# 5: 7 8 9 400 600

# What must come back: volumes, sessions and data; not the counters of the
# last command nor the last split's time (bcv.rst: not kept on disk).
snap() {
	{
		bcvctl list --json | tr -d '[:space:]' |
			sed -E 's/"(index|device|major|minor|open_count|events|meta_writes)":("[^"]*"|[0-9]+),?//g'
		echo
		for b in s11b1 s11b2; do
			sess_line $S $b | sed -E 's/"(copied_tracks|errors|percent_done|split_time|split_hold_us)":([0-9]+|null),?//g'
		done
		echo "sum $(dev_sum /dev/bcv/$S) $(dev_sum /dev/bcv/s11b2)"
	} > "$1"
}
snap "$T/before"
cat "$T/before"

udevadm settle
bcv_must stop --all
udevadm settle
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
for v in $S s11b1 s11b2; do
	[ ! -e /dev/bcv/$v ] || _bad "/dev/bcv/$v still exists after stop --all"
done
expect "rmmod bcv after stop --all" rmmod bcv
[ ! -d /sys/module/bcv ] || _bad "/sys/module/bcv is still there after rmmod"
expect "modprobe bcv" modprobe bcv
wait_for test -c /dev/bcvctl || fail "/dev/bcvctl did not come back"
expect "bcvctl assemble --scan" bcvctl assemble --scan
cat "$OUT" "$ERR"
udevadm settle
for v in $S s11b1 s11b2; do
	[ -b /dev/bcv/$v ] || wait_for test -b /dev/bcv/$v ||
		_bad "/dev/bcv/$v did not come back"
done
snap "$T/after"
if cmp -s "$T/before" "$T/after"; then
	ok "volumes, sessions, counts and data are back as they were"
else
	_bad "not back as they were: before: $(cat "$T/before") after: $(cat "$T/after")"
fi
bcv_do reestablish $S s11b2 --wait
check_sess $S s11b2 state=synchronized invalid_tracks=0 copied_tracks="$predict"
bcv_do split $S s11b2
cmp_vols "s11b2 is byte-identical to s11a" $S s11b2
pass
