#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_dkms_15.sh's guest: the module DKMS built is loaded; print its
# version and srcversion, then a STD and a BCV: establish, split, the
# same bytes on both.
PERSIST_KEEP=0
# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"

need_disks 2
put version "$(cat /sys/module/bcv/version)"
put srcversion "$(cat /sys/module/bcv/srcversion)"
create_vol std d15s "${DISKS[0]}"
create_vol bcv d15b "${DISKS[1]}"
dd if=/dev/urandom of=/dev/bcv/d15s bs=1M count=8 oflag=direct status=none ||
	fail "cannot write d15s"
bcv_must establish d15s d15b --wait
bcv_must split d15s d15b
cmp_vols "after establish and split" d15s d15b
put same "$_nfail"
bcv_must terminate d15s d15b
pass
