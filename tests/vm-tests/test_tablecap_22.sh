#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tables larger than bcv.max_table_share are refused (issue 22, defect 22).
#
# check-kernels: 6.1
#
# disks: 256M 64M
#
# A volume's tables live in kernel memory (and a second, durable image of
# them for write intent): their size is what the superblock says, tracks x
# bits per track, which a disk plugged in may claim at will.  udev
# assembles such a disk by itself, so the module must refuse tables larger
# than its share of memory (bcv.max_table_share, percent of RAM for the
# tables of all volumes together), with one line in the kernel log, and
# bcvctl must say why in one line; nothing is allocated or written then.
#
# The large device costs nothing: dm "zero" for its data and tables (reads
# give zeros: no change anywhere; writes are dropped) and 16 sectors of a
# real disk at its end for the two superblock copies, which metafuzz
# forges from a real STD's for 512-byte tracks on 16 GiB: 2^25 tracks, a
# STD's tables of 168 MiB (PB rows of 16 bits per track, Track ID
# bitmaps, the durable image), more than 10 % of the guest's 1 GiB.
#   1. the parameter: its default, values out of range refused;
#   2. assemble: refused, exit 1, one line naming bcv.max_table_share and
#      the sizes; the kernel's one line; no volume, the superblocks
#      unchanged, kernel memory not grown by the tables;
#   3. udev (a "change" of the dm device, as at a hot plug): not
#      assembled, the kernel's line once more;
#   4. create with 512-byte tracks on it: refused, saying memory;
#   5. with max_table_share=40 the same assembly is allowed, then stopped.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need metafuzz dmsetup blockdev dd udevadm
sess_setup

NOAUTO=/run/bcv-no-auto-assemble
touch "$NOAUTO"
on_exit "rm -f $NOAUTO"
P=/sys/module/bcv/parameters/max_table_share
on_exit "echo 10 > $P"

meminfo() {	# FIELD: its value in KiB
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# --- a STD's superblock as template --------------------------------------------

create_vol std tc22t "${DISKS[0]}" --track-size 4K
bcv_must stop tc22t
sz=$(blockdev --getsz "${DISKS[0]}")
dd if="${DISKS[0]}" of="$T/tmpl" bs=4096 skip=$((sz / 8 - 2)) count=1 \
	iflag=direct status=none || fail "cannot read the template"

# --- the large device -----------------------------------------------------------

BIG=$((16 << 21))			# 16 GiB in sectors
SB=$((BIG - 16))
dmsetup create tc22big --table "0 $SB zero
$SB 16 linear ${DISKS[1]} 0" || fail "cannot create tc22big"
on_exit "dmsetup remove tc22big"
udevadm settle
DEV=/dev/mapper/tc22big
[ -b "$DEV" ] || wait_for test -b "$DEV" || fail "no $DEV"
metafuzz forge "$T/tmpl" "$DEV" 9 > "$OUT" 2> "$ERR" ||
	fail "metafuzz forge: $(cat "$ERR")"
note "$(cat "$OUT")"
blockdev --flushbufs "$DEV"
sbsum() {
	dd if="${DISKS[1]}" bs=512 count=16 iflag=direct status=none | md5sum
}
sb0=$(sbsum)
# reset: what a refusal should have left: no volume, the forged superblocks.
reset() {
	[ -z "$(vol_names)" ] || bcvctl stop --all >/dev/null 2>&1
	if [ "$(sbsum)" != "$sb0" ]; then
		metafuzz forge "$T/tmpl" "$DEV" 9 >/dev/null 2>&1 ||
			fail "metafuzz forge failed"
		blockdev --flushbufs "$DEV"
		sb0=$(sbsum)
	fi
}
klog_cap() {
	dmesg | grep -c 'max_table_share'
}

# --- 1. the parameter -------------------------------------------------------------

if [ ! -e "$P" ]; then
	_bad "no $P (issue 22: assembly allocates what the superblock says without a bound)"
else
	[ "$(cat "$P")" = 10 ] && ok "max_table_share defaults to 10 (percent)" ||
		_bad "max_table_share is $(cat "$P"), want 10"
	for v in 0 101 abc -1; do
		if echo "$v" > "$P" 2>/dev/null; then
			_bad "max_table_share took '$v'"
		else
			ok "max_table_share refuses '$v'"
		fi
	done
	[ "$(cat "$P")" = 10 ] || _bad "max_table_share is $(cat "$P") after refused writes"
fi

# --- 2. assemble ----------------------------------------------------------------

total=$(meminfo MemTotal)
va0=$(meminfo VmallocUsed)
k0=$(klog_cap)
before=$(bcv_snapshot)
expect_errmsg 1 bcvctl_t 120 assemble "$DEV"
va1=$(meminfo VmallocUsed)
grep -q 'max_table_share' "$ERR" && grep -q 'MiB' "$ERR" &&
	ok "the message names the parameter and the sizes" ||
	_bad "assemble's message '$(cat "$ERR")' does not name max_table_share and the sizes"
[ "$(bcv_snapshot)" = "$before" ] && [ -z "$(vol_names)" ] &&
	ok "no volume assembled" ||
	_bad "volumes after the refused assembly: $(vol_names | tr '\n' ' ')"
[ "$(sbsum)" = "$sb0" ] && ok "the superblocks are unchanged" ||
	_bad "the refused assembly wrote the superblocks"
n=$(( $(klog_cap) - k0 ))
[ "$n" -eq 1 ] && ok "one kernel log line: $(dmesg | grep 'max_table_share' | tail -n 1)" ||
	_bad "$n kernel log lines name max_table_share, want 1"
grew=$(( (va1 - va0) / 1024 ))
note "VmallocUsed $((va0 / 1024)) -> $((va1 / 1024)) MiB of $((total / 1024)) MiB"
# The tables would be 168 MiB; what else moves is a few MiB at most.
[ "$grew" -lt 16 ] && ok "kernel memory did not grow by the tables ($grew MiB)" ||
	_bad "VmallocUsed grew by $grew MiB for a refused assembly"
reset

# --- 3. udev, as at a hot plug ------------------------------------------------------

k0=$(klog_cap)
rm -f "$NOAUTO"
udevadm trigger --action=change "$DEV"
udevadm settle
touch "$NOAUTO"
[ -z "$(vol_names)" ] && ok "udev did not assemble it" ||
	_bad "udev assembled: $(vol_names | tr '\n' ' ')"
n=$(( $(klog_cap) - k0 ))
[ "$n" -eq 1 ] && ok "udev's assembly: one kernel log line" ||
	_bad "udev's assembly: $n kernel log lines name max_table_share, want 1"
[ "$(sbsum)" = "$sb0" ] || _bad "udev's refused assembly wrote the superblocks"
reset

# --- 4. create --------------------------------------------------------------------

bcv_refused create std tc22c "$DEV" --track-size 512 --force
grep -qi 'memory' "$ERR" && grep -q 'max_table_share' "$ERR" &&
	ok "create: the message says memory and names the parameter" ||
	_bad "create's message '$(cat "$ERR")' does not say memory and max_table_share"
[ "$(sbsum)" = "$sb0" ] && ok "the superblocks are unchanged" ||
	_bad "the refused create wrote the superblocks"
[ -z "$(vol_names)" ] || remove_all_volumes
reset

# --- 5. a larger share allows it -----------------------------------------------------

if [ -e "$P" ] && echo 40 > "$P"; then
	expect "assembled with max_table_share=40" bcvctl_t 300 assemble "$DEV"
	va2=$(meminfo VmallocUsed)
	note "VmallocUsed $((va2 / 1024)) MiB once assembled"
	[ "$(vol_names)" = tc22t ] || _bad "volumes: $(vol_names | tr '\n' ' ')"
	bcv_do stop tc22t
	echo 10 > "$P"
fi
pass
