#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a walk through bcvctl in a throw-away guest, printing each
# command and its output.  Runs inside the guest (tests/vm/run) with four
# scratch disks, /dev/vda, /dev/vdb and /dev/vdc, and /dev/vdd for a mirror leg.
set -e

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '\033[36m# %s\033[0m\n' "$*"
	"$@"
}

mkdir -p /mnt
say "The module is loaded and /dev/bcvctl exists"
run bcvctl --version
run ls -l /dev/bcvctl

say "Create a standard volume (STD) and two business continuance volumes (BCVs)"
run bcvctl create std prod /dev/vda
run bcvctl create bcv copy1 /dev/vdb
run bcvctl create bcv copy2 /dev/vdc
run bcvctl list
run ls -l /dev/bcv/

say "Each volume describes itself in sysfs"
for f in name role backing track_size tracks cylinders copy_throttle; do
	printf '%-13s %s\n' "$f" "$(cat /sys/block/bcv0/bcv/$f)"
done

say "A file system on the STD, with a file in it"
run dd if=/dev/urandom of=/tmp/data bs=1M count=4 status=none
run mkfs.ext4 -q /dev/bcv/prod
run mount -t ext4 /dev/bcv/prod /mnt
run cp /tmp/data /mnt/data
run sync

say "ESTABLISH: copy1 becomes a live mirror of prod (every track is copied)"
run bcvctl establish prod copy1 --wait
run bcvctl query
run sh -c 'dd if=/dev/bcv/copy1 of=/dev/null bs=4k count=1 2>&1 | tail -1 || true'
echo "(an attached BCV is NOT READY: its own I/O fails)"

say "SPLIT: copy1 becomes an independent point-in-time copy"
run sync
run bcvctl split prod copy1
echo "(the copy is crash-consistent: fsck replays its journal, then it is clean)"
run e2fsck -fp /dev/bcv/copy1 || [ $? -le 1 ]	# 1: fixed
run e2fsck -fn /dev/bcv/copy1
run bcvctl query

say "Both sides change: prod (3 tracks, plus what umount wrote), copy1 (2 tracks)"
run umount /mnt
run dd if=/dev/urandom of=/dev/bcv/prod bs=64K seek=1000 count=3 oflag=direct conv=notrunc status=none
run dd if=/dev/urandom of=/dev/bcv/copy1 bs=64K seek=2000 count=2 oflag=direct conv=notrunc status=none
run bcvctl query copy1

say "REESTABLISH copies only the tracks changed on either side (their union)"
run bcvctl reestablish prod copy1 --wait
run bcvctl query copy1
run bcvctl split prod copy1
run cmp /dev/bcv/prod /dev/bcv/copy1
echo "prod and copy1 are identical again"

say "A second BCV keeps its own history: copy2 established and split"
run bcvctl establish prod copy2 --wait
run bcvctl split prod copy2
run mount -t ext4 /dev/bcv/prod /mnt
run rm /mnt/data
run umount /mnt
run bcvctl query

say "INCREMENTAL RESTORE: bring prod back to copy2's point in time"
run bcvctl restore prod copy2 --incremental --wait
run bcvctl query copy2
run bcvctl split prod copy2
run mount -t ext4 -o ro /dev/bcv/prod /mnt
run sh -c 'sha256sum < /tmp/data; sha256sum < /mnt/data'
run umount /mnt
echo "the file deleted on prod is back"

say "Volumes and sessions live on the disks: stop them all, then assemble"
run bcvctl stop --all
run ls /dev/bcv/ || true
run bcvctl examine /dev/vda
run bcvctl assemble --scan
run bcvctl list
run bcvctl query
echo "(the same volumes, sessions, states and changed-track counts; at boot"
echo " the udev rule assembles them with no command typed)"

say "Bad requests are refused with one line and change nothing"
run bcvctl create std other /dev/vda || echo "(exit $?)"
run bcvctl create std prod /dev/vdd || echo "(exit $?)"
run bcvctl establish copy1 prod || echo "(exit $?)"
run bcvctl split prod copy1 || echo "(exit $?)"
run mount -t ext4 /dev/bcv/prod /mnt
run bcvctl restore prod copy1 || echo "(exit $?)"
run umount /mnt
run bcvctl remove copy1 || echo "(exit $?)"

say "TERMINATE the sessions"
run bcvctl terminate prod copy1
run bcvctl terminate prod copy2
run bcvctl query

say "A fixed mirror leg: prod becomes a RAID-1 of /dev/vda and /dev/vdd"
run bcvctl add-leg prod /dev/vdd
run bcvctl list
run sh -c 'while [ "$(cat /sys/block/bcv0/bcv/leg_invalid_tracks)" != "0 0" ]; do sleep 0.2; done'
for f in legs leg_invalid_tracks leg_copied_tracks; do
	printf '%-19s %s\n' "$f" "$(cat /sys/block/bcv0/bcv/$f)"
done
run cmp /dev/vda /dev/vdd && echo "both legs hold the same bytes"
run bcvctl remove-leg prod /dev/vdd

say "Remove the volumes; the disks hold what was written through them"
run bcvctl remove copy1
run bcvctl remove copy2
run bcvctl remove prod
run bcvctl list
run e2fsck -fn /dev/vda
echo
echo "Demo finished."
