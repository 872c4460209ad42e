#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check: its I/O paths also run on 6.12
# in data_02, errors_03, mirror_09; make check-all runs it there too)
#
# A BCV on a remote disk (issue 14; bcv-design.rst section 14): NVMe over TCP on
# loopback inside the guest (the kernel's nvmet target exporting vdb, the
# nvme-tcp initiator, nvme-cli), with fast_io_fail_tmo 2 s and a long
# ctrl_loss_tmo so that the controller reconnects when the target returns.
#
#  1. ESTABLISH over the network; the split BCV equals the STD.
#  2. The link fails (the target's port loses the subsystem) while the BCV
#     is synchronized: writes to the STD succeed anyway, the tracks they
#     touched are marked (invalid_tracks = their count, errors > 0), the
#     failure is logged once; when the link returns the copy ends on
#     its own, exactly those tracks copied, and the BCV equals the STD.
#  3. The link fails in the middle of a REESTABLISH; after it returns the
#     copy completes incrementally: exactly the changed tracks copied.
#  4. A slow link (tc netem delay on lo): a REESTABLISH completes and the
#     data are identical.
#
# disks: 64M 64M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need nvme ip tc cmp dd blockdev
sess_setup

ip link set lo up || fail "cannot bring lo up"
for m in nvmet nvmet-tcp nvme-tcp; do
	modprobe $m || skip "no module $m"
done
grep -q ' /sys/kernel/config configfs' /proc/mounts ||
	mount -t configfs none /sys/kernel/config || skip "no configfs"
N=/sys/kernel/config/nvmet
[ -d $N ] || skip "no nvmet configfs"
SUB=bcvt14
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:14141414-1414-1414-1414-141414141414

mkdir $N/subsystems/$SUB && echo 1 > $N/subsystems/$SUB/attr_allow_any_host &&
	mkdir $N/subsystems/$SUB/namespaces/1 &&
	echo -n "${DISKS[1]}" > $N/subsystems/$SUB/namespaces/1/device_path &&
	echo 1 > $N/subsystems/$SUB/namespaces/1/enable &&
	mkdir $N/ports/14 &&
	echo 127.0.0.1 > $N/ports/14/addr_traddr &&
	echo tcp > $N/ports/14/addr_trtype &&
	echo 4420 > $N/ports/14/addr_trsvcid &&
	echo ipv4 > $N/ports/14/addr_adrfam || fail "cannot configure nvmet"
link_up() { ln -s $N/subsystems/$SUB $N/ports/14/subsystems/$SUB; }
link_down() { rm $N/ports/14/subsystems/$SUB; }
link_up || fail "cannot enable the nvmet port"
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $SUB --hostnqn=$HOSTNQN \
	--hostid=${HOSTNQN##*:uuid:} \
	--reconnect-delay=1 --ctrl-loss-tmo=600 > /dev/null ||
	fail "nvme connect failed"
nvme_cleanup() {
	rm -f $N/ports/14/subsystems/$SUB
	nvme disconnect -n $SUB > /dev/null 2>&1
	rmdir $N/ports/14 $N/subsystems/$SUB/namespaces/1 $N/subsystems/$SUB 2>/dev/null
}
on_exit nvme_cleanup
CTRL=
for c in /sys/class/nvme/nvme*; do
	[ "$(cat "$c/subsysnqn" 2>/dev/null)" = $SUB ] && CTRL=$c
done
[ -n "$CTRL" ] || fail "no nvme controller for $SUB"
echo 2 > "$CTRL/fast_io_fail_tmo" || fail "cannot set fast_io_fail_tmo"
wait_for test -b "/dev/$(basename "$CTRL")n1" || fail "no namespace device"
R=/dev/$(basename "$CTRL")n1
note "remote disk: $R ($(blockdev --getsz $R) sectors)"

TS=65536
create_vol std r14s "${DISKS[0]}" --track-size 64K
create_vol bcv r14b "$R" --track-size 64K
S=/dev/bcv/r14s
B=/dev/bcv/r14b
SIZE=$(( $(blockdev --getsz $S) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))
T=$(mktemp -d)
on_exit "rm -rf $T"

field() { sess_field r14s r14b "$1"; }
same_data() {
	vols_same "$1" "$S" "$B" "$SIZE"
}
track_write() {	# FILE DEV TRACK
	dd if="$1" of="$2" bs=64K seek="$3" count=1 oflag=direct \
		conv=notrunc status=none
}
errors_logged() { dmesg | grep -c "bcv: .*error on $(basename $R)"; }

random_file "$T/data" "$SIZE"
dd if="$T/data" of=$S bs=1M oflag=direct status=none || fail "cannot fill $S"
random_file "$T/w" $TS

# --- 1. ESTABLISH over the network -------------------------------------------------

bcv_must establish r14s r14b --wait
check_sess r14s r14b state=synchronized copied_tracks=$NT
bcv_must split r14s r14b
same_data "established over NVMe/TCP"
bcv_must reestablish r14s r14b --wait

# --- 2. the link fails while synchronized --------------------------------------------

logged0=$(errors_logged)
link_down || fail "cannot take the link down"
tracks=(2 17 $((NT / 2)) $((NT - 5)))
for t in "${tracks[@]}"; do
	if track_write "$T/w" $S "$t"; then
		ok "STD write to track $t while the link is down"
	else
		_bad "STD write to track $t failed while the link is down"
	fi
done
expect "the written tracks are marked" test "$(field invalid_tracks)" = ${#tracks[@]}
expect "the copy errors count" test "$(field errors)" -gt 0
check_sess r14s r14b state=syncinprog
sleep 6		# back-offs run through 100 ms .. 3.2 s
link_up || fail "cannot bring the link up"
bcv_must wait r14s r14b --timeout 120
# Exactly the tracks written meanwhile, unless a flush of the BCV failed
# while the link was down (a checkpoint's or a commit's): then every track
# the BCV held may have been lost from its cache, and it is copied whole
# (issue 22, defects 6 and 13; the kernel log says so).  Which happens
# depends on when the checkpoint runs.
if dmesg | grep -q "flushing $(basename "$R") (M[0-9]) failed: .*; it goes stale"; then
	note "a flush of the BCV failed while the link was down: copied whole"
	check_sess r14s r14b state=synchronized invalid_tracks=0 copied_tracks=$NT
else
	check_sess r14s r14b state=synchronized invalid_tracks=0 \
		copied_tracks=${#tracks[@]}
fi
expect "the failure was logged once ($(($(errors_logged) - logged0)) lines)" \
	test $(($(errors_logged) - logged0)) = 1
bcv_must split r14s r14b
same_data "after the link came back"

# --- 3. the link fails in the middle of a REESTABLISH ------------------------------

for ((t = 0; t < NT - 1; t += 3)); do	# the last track is partial
	track_write "$T/w" $S "$t" || fail "cannot write track $t"
done
n=$(( (NT + 1) / 3 ))
check_sess r14s r14b state=split std_changed_tracks=$n
copy_throttle r14s 10		# a slower copy, for the link to fail during it
bcv_must reestablish r14s r14b
link_down || fail "cannot take the link down"
sleep 3
c=$(field copied_tracks)
note "copied $c of $n tracks before the link failed"
link_up || fail "cannot bring the link up"
copy_throttle r14s 100
bcv_must wait r14s r14b --timeout 120
check_sess r14s r14b state=synchronized copied_tracks=$n
bcv_must split r14s r14b
same_data "a REESTABLISH across a link failure"

# --- 4. a slow link ---------------------------------------------------------------------

tc qdisc add dev lo root netem delay 20ms || fail "cannot add netem on lo"
on_exit "tc qdisc del dev lo root 2>/dev/null"
for t in 1 5 9; do
	track_write "$T/w" $S "$t" || fail "cannot write track $t"
done
bcv_must reestablish r14s r14b --wait
check_sess r14s r14b state=synchronized copied_tracks=3
tc qdisc del dev lo root || fail "cannot remove netem"
bcv_must split r14s r14b
same_data "a REESTABLISH over a slow link"
bcv_must terminate r14s r14b

pass
