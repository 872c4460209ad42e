#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_crash_12.sh, every later boot:
#   crash_run.sh SEED BOUND   (SEED 0: check only, then stop --all)
#
# 1. Check what the previous boot's power cut left (unless it was the
#    setup's clean stop): the volumes assemble by udev, say "recovered"
#    with the tracks recovery marked; p12b1 (split at the cut) then
#    reestablishes copying at most BOUND + the STD's recovered tracks
#    (BOUND, from the host: the tracks the previous boot wrote to p12s
#    and p12b1, plus what a restore there marked), and is byte-identical
#    to p12s afterwards: every track the tables called unchanged was
#    (soundness; an unmarked difference would survive the copy).  p12b2,
#    whatever its state, ends synchronized and identical too; both legs
#    of p12s alike.  Both BCVs are split again.
# 2. With SEED: flushed 8 KiB writes go to p12s and to p12b1 ("@@ flushed
#    WHO I SHA", checked by the host in the images), and, drawn from
#    SEED, commands on p12b2 (reestablish, split, incremental restore);
#    after a number of rounds drawn from SEED the guest cuts its power.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm
[ $# -eq 2 ] || fail "usage: crash_run.sh SEED BOUND"
seed=$1 bound=$2

settle_vols p12s p12b1 p12b2
for v in p12s p12b1 p12b2; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
done
TS=$TRACK_SIZE

# --- 1. what the last cut left ------------------------------------------------
rec=$(vol_flag p12s recovered)
put recovered "$rec"
if [ "$rec" = true ]; then
	for v in p12s p12b1 p12b2; do
		put "rt.$v" "$(vol_flag $v recovered_tracks)"
	done
	rt=$(vol_flag p12s recovered_tracks)
	bcvctl query
	put_sess p12s p12b1
	put_sess p12s p12b2
	[ "$(sess_field p12s p12b1 state)" = split ] ||
		_bad "p12b1 is $(sess_field p12s p12b1 state) after the cut, want split"
	bcv_must reestablish p12s p12b1 --wait
	c=$(sess_field p12s p12b1 copied_tracks)
	put copied.b1 "$c"
	if [ "$c" -le $((bound + rt)) ]; then
		ok "p12b1's reestablish copied $c tracks, at most $bound written + $rt recovered"
	else
		_bad "p12b1's reestablish copied $c tracks, more than $bound written + $rt recovered"
	fi
elif [ "$(sess_field p12s p12b1 state)" = split ]; then
	# p12s was stopped cleanly before the cut (STOP_STD below): no
	# bound to check, but p12b1 must catch up to be compared.
	bcv_must reestablish p12s p12b1 --wait
fi
case "$(sess_field p12s p12b2 state)" in
split) bcv_must reestablish p12s p12b2 --wait ;;
*) bcv_must wait p12s p12b2 ;;
esac
put copied.b2 "$(sess_field p12s p12b2 copied_tracks)"
wait_legs p12s
for b in p12b1 p12b2; do
	[ "$(sess_field p12s $b state)" = split ] || bcv_must split p12s $b
done
cmp_vols "p12b1 is byte-identical to p12s" p12s p12b1
cmp_vols "p12b2 is byte-identical to p12s" p12s p12b2
len=$(vol_bytes p12s)
check_same "p12s's two legs hold the same data" "${DISKS[0]}" "${DISKS[1]}" "$len"

if [ "$seed" = 0 ]; then
	udevadm settle
	bcv_must stop --all
	[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
	put stopped yes
	pass
fi

# --- 2. the workload of SEED, until the guest cuts its power ---------------------
RANDOM=$seed
rounds=$((4 + RANDOM % 40))
put rounds "$rounds"
# Copies slow enough to be running at the cut now and then.
for v in p12s p12b1 p12b2; do
	echo $((1 + RANDOM % 20)) > "$(vol_sysfs $v)/bcv/copy_throttle" ||
		fail "cannot throttle $v"
done
SCRATCH=$((900 * TS))

# probe: with a fifth disk (host_volatile_22.sh), that its write cache is
# volatile: 64 KiB flushed at byte 0 ("@@ probe_flushed SHA", which must
# be in its image after the cut) and 64 KiB written at 1 MiB without a
# flush ("@@ probe_unflushed SHA", which a volatile cache loses).  The
# disk is no leg of bcv's.
probe() {
	local p=${DISKS[4]:-}
	[ -n "$p" ] || return 0
	head -c "$TS" /dev/urandom > "$T/probe" || fail "no random data"
	dd if="$T/probe" of="$p" bs="$TS" oflag=direct conv=notrunc,fsync \
		status=none || fail "flushed probe write failed"
	put probe_flushed "$(sha256sum < "$T/probe" | cut -c1-64)"
	head -c "$TS" /dev/urandom > "$T/probe" || fail "no random data"
	dd if="$T/probe" of="$p" bs="$TS" seek=16 oflag=direct conv=notrunc \
		status=none || fail "unflushed probe write failed"
	put probe_unflushed "$(sha256sum < "$T/probe" | cut -c1-64)"
}
n=0
# A write not flushed, each round, to one of 8 tracks past the checked
# areas of p12s ("@@ unflushed TRACK"; the host counts them as written for
# the next boot's bound): on disks with a volatile cache
# (host_volatile_22.sh) the cut loses what no later flush took, on one leg
# and not the other, and recovery must make the legs alike again.
UNFL=$((SCRATCH + 64 * REG))
# stop_std, the last round of even seeds: p12b2 synchronized, a write to
# p12s not flushed (mirrored to p12b2), a clean stop of p12s, the cut.
# The stop must flush every position whose data its tables vouch for,
# the attached p12b2 too (issue 22, defect 3); else on a volatile cache
# (host_volatile_22.sh) p12b2 loses the write while p12s's tables call it
# valid there, and the next boot's split finds the two different.
stop_std() {
	local v
	for v in p12s p12b2; do
		echo 100 > "$(vol_sysfs $v)/bcv/copy_throttle" ||
			fail "cannot unthrottle $v"
	done
	case "$(sess_field p12s p12b2 state)" in
	split) bcv_must reestablish p12s p12b2 --wait ;;
	syncinprog) bcv_must wait p12s p12b2 ;;
	restinprog|restored)
		bcv_must wait p12s p12b2
		bcv_must split p12s p12b2
		bcv_must reestablish p12s p12b2 --wait ;;
	esac
	[ "$(sess_field p12s p12b2 state)" = synchronized ] ||
		fail "p12b2 is $(sess_field p12s p12b2 state), want synchronized"
	dd if=/dev/urandom of=/dev/bcv/p12s bs="$TS" count=4 \
		seek=$((UNFL + 8 * TS)) oflag=seek_bytes,direct conv=notrunc \
		status=none || fail "unflushed write before the stop failed"
	for v in 0 1 2 3; do
		put unflushed $((UNFL / TS + 8 + v))
	done
	udevadm settle
	bcv_must stop p12s
	put std_stopped yes
}
workload() {
	local st u
	n=$((n + 1))
	u=$((n % 8))
	dd if=/dev/urandom of=/dev/bcv/p12s bs="$TS" count=1 \
		seek=$((UNFL + u * TS)) oflag=seek_bytes,direct conv=notrunc \
		status=none || fail "unflushed write $n to p12s failed"
	put unflushed $(((UNFL + u * TS) / TS))
	if [ $n -ge "$rounds" ]; then
		probe
		((seed % 2)) || stop_std
		put cut_now "$n"
		power_cut
	fi
	((RANDOM % 3 == 0)) || return 0
	st=$(sess_field p12s p12b2 state)
	case "$st" in
	split)
		if ((RANDOM % 2)); then
			bcv_must reestablish p12s p12b2
			put cmd "$n reestablish"
		else
			# What the restore copies counts as changed for p12b1.
			put restore_marks "$(( $(sess_field p12s p12b2 std_changed_tracks) + \
				$(sess_field p12s p12b2 bcv_changed_tracks) ))"
			bcv_must restore p12s p12b2 --incremental --force
			put cmd "$n restore"
		fi ;;
	synchronized|restored)
		bcv_must split p12s p12b2
		put cmd "$n split" ;;
	esac
}
STATE_EVERY=1
LOOP_HOOK=workload
write_loop S:/dev/bcv/p12s:$((100 * TS)) B1:/dev/bcv/p12b1:$((500 * TS))
