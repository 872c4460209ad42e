#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a walk through bcvctl in a throw-away guest, printing each
# command and its output.  Runs inside the guest (tests/vm/run) with three
# scratch disks, /dev/vda, /dev/vdb and /dev/vdc.
set -e

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '\033[36m# %s\033[0m\n' "$*"
	"$@"
}

say "The module is loaded and /dev/bcvctl exists"
run bcvctl --version
run ls -l /dev/bcvctl

say "Create a standard volume (STD) and a business continuance volume (BCV)"
run bcvctl create std prod /dev/vda
run bcvctl create bcv copy1 /dev/vdb --track-size 128K
run bcvctl list
run ls -l /dev/bcv/

say "Each volume describes itself in sysfs"
for f in name role backing track_size tracks cylinders; do
	printf '%-11s %s\n' "$f" "$(cat /sys/block/bcv0/bcv/$f)"
done

say "Write through the STD and read it back from the disk underneath"
run dd if=/dev/urandom of=/tmp/data bs=1M count=4 status=none
run dd if=/tmp/data of=/dev/bcv/prod bs=1M oflag=direct status=none
run sh -c 'sha256sum < /tmp/data'
run sh -c 'head -c 4194304 /dev/bcv/prod | sha256sum'

say "A file system on the STD"
run mkfs.ext4 -q /dev/bcv/prod
run mount /dev/bcv/prod /mnt
run cp /tmp/data /mnt/data
run umount /mnt
run e2fsck -fn /dev/bcv/prod

say "Bad requests are refused with one line and change nothing"
run bcvctl create std other /dev/vda || echo "(exit $?)"
run bcvctl create std prod /dev/vdc || echo "(exit $?)"
run bcvctl create std other /dev/vdc --track-size 3000 || echo "(exit $?)"
run bcvctl establish prod copy1 || echo "(exit $?)"

say "Remove the volumes; the disks hold what was written through them"
run bcvctl remove copy1
run bcvctl remove prod
run bcvctl list
run e2fsck -fn /dev/vda
echo
echo "Demo finished."
