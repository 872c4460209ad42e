#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# Power cuts on disks with a volatile write cache (issue 22).  The disks of
# host_crash_12.sh (cache=unsafe: QEMU hands every write to the host's
# page cache, which a SIGKILL of QEMU does not lose) never lose a completed
# write, so they cannot tell a missing flush from a present one.  Here
# every disk is served by nbdkit's cache filter in writeback mode
# (tests/vm/run, BCV_VM_VOLATILE=1): a write reaches the image only when a
# flush takes it there, and the cut kills nbdkit with QEMU, so every write
# no flush covered is gone, on each leg independently.  The workload and
# the checks are host_crash_12.sh's: flushed (fsync) 8 KiB writes to the
# STD and to a split BCV, a 64 KiB write not flushed each round, commands
# on a second BCV with throttled copies, the guest's own power cut; after
# each cut every fsync'd write must be in the images, and in the next boot
# the volumes assemble, say they were recovered, a reestablish copies no
# more than was written and recovered and leaves the BCV byte-identical to
# the STD, and the STD's legs are alike.  A fifth disk (no leg of bcv's)
# proves the cache volatile at each cut: a flushed write is in its image
# and an unflushed one is not.
#
# Seeds: BCV_VOLATILE_SEEDS (default 2; make check-crash 40) from
# BCV_CRASH_BASE (default 1).

export BCV_VM_VOLATILE=1
BCV_CRASH_SEEDS=${BCV_VOLATILE_SEEDS:-2}
CRASH_PROBE=1
command -v nbdkit >/dev/null || { echo "SKIP: nbdkit is not installed"; exit 77; }
# shellcheck source=tests/vm-tests/host_crash_12.sh
. "$(dirname "$0")/host_crash_12.sh"
