#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-meta`: what write intent (issue 12) costs on the data path,
# side by side in one guest run.  Reports numbers; never passes or fails
# on them (a broken command still fails the run).
#
# disks: 160M 160M 160M 160M 160M
#
#   first    fio 4k randwrite on a STD (4 KiB tracks) with 16 split
#            sessions, on a slice of tracks not written since the splits:
#            every write is a first write and needs a PB mark on disk
#   warm     the same slice again: every mark is on disk already
#   warm-off the same, with write intent off (bcv.write_intent=0: the STD
#            stopped and assembled again in that mode)
#   mirror   a STD (64 KiB tracks) with one synchronized BCV: every write
#            goes to two disks and needs its region active in the log
#   mirror-off   the same without write intent
#   md1      md raid1 of two disks with an internal bitmap (mdadm), the
#            anchor for the mirrored writes
# Configurations are measured in turn, ROUNDS times (BCV_BENCH_ROUNDS,
# default 5); each cell is the median IOPS with the spread (min-max) and
# the metadata blocks written per second (bcv/meta_writes).  The 16 BCVs
# are null_blk devices (no data: only the STD's disk matters here).

# shellcheck source=tests/vm-tests/test_common.sh
. "$BCV_TESTS/vm-tests/test_common.sh"

need_disks 5
need fio
sess_setup

ROUNDS=${BCV_BENCH_ROUNDS:-5}
IOS=${BCV_BENCH_IOS:-4096}	# writes per run (one slice of 4 KiB tracks)
SECS=${BCV_BENCH_SECS:-5}
P=/sys/module/bcv/parameters/write_intent
[ -w $P ] || skip "no bcv.write_intent parameter"

modprobe null_blk nr_devices=16 gb=1 memory_backed=0 bs=512 ||
	skip "no null_blk"
on_exit 'rmmod null_blk 2>/dev/null'
udevadm settle

# The STD with 16 split sessions.
create_vol std bm16 "${DISKS[0]}" --track-size 4K > /dev/null
S16=$VOL
# Three mirror positions are free: one BCV at a time.
for i in $(seq 0 15); do
	create_vol bcv "bmb$i" /dev/nullb$i --track-size 4K > /dev/null
	bcv_must establish bm16 "bmb$i" --wait
	bcv_must split bm16 "bmb$i"
done
# The mirrored STD.
create_vol std bmm "${DISKS[1]}" > /dev/null
SM=$VOL
create_vol bcv bmmb "${DISKS[2]}" > /dev/null
bcv_must establish bmm bmmb --wait
# md raid1 with an internal bitmap on two more disks of the same size.
MD=
if command -v mdadm > /dev/null; then
	# /dev/md0: mdadm makes the node itself (no md udev rules here).
	mdadm --create /dev/md0 --run --level=1 --raid-devices=2 \
		--bitmap=internal --assume-clean --metadata=1.2 \
		"${DISKS[3]}" "${DISKS[4]}" > /dev/null 2>&1 &&
		[ -b /dev/md0 ] && MD=/dev/md0
fi
[ -n "$MD" ] || note "no mdadm (or md raid1): no md anchor"
on_exit '[ -z "$MD" ] || mdadm --stop "$MD" > /dev/null 2>&1'

ts16=4096
slice=$((IOS * ts16))
nslices=$(( $(dev_size "$S16") / slice ))
[ "$nslices" -ge "$ROUNDS" ] || fail "bm16 has $nslices slices of $IOS tracks, want $ROUNDS"

# fio_w DEV OFF SIZE [MODE]: 4k randwrite qd 16, prints IOPS.  MODE "n":
# IOS writes (each block once: fio's random map), else SECS seconds.
fio_w() {
	local lim=(--time_based --runtime="$SECS")
	[ "${4:-}" = n ] && lim=(--number_ios="$IOS")
	fio --name=b --filename="$1" --rw=randwrite --bs=4k --iodepth=16 \
		--ioengine=libaio --direct=1 --offset="$2" --size="$3" \
		"${lim[@]}" --minimal 2>/dev/null | awk -F';' '{ print $49 }'
}

mw() {
	cat "$(vol_sysfs "$1")/bcv/meta_writes" 2>/dev/null || echo 0
}

# run CONF VOL DEV OFF SIZE MODE: one measurement into res[CONF] (IOPS)
# and mws[CONF] (metadata blocks a second).
declare -A res mws
run() {
	local conf=$1 vol=$2 m0 m1 t0 t1 iops
	m0=$([ -n "$vol" ] && mw "$vol" || echo 0)
	t0=$EPOCHREALTIME
	iops=$(fio_w "$3" "$4" "$5" "$6")
	t1=$EPOCHREALTIME
	m1=$([ -n "$vol" ] && mw "$vol" || echo 0)
	[ -n "$iops" ] || fail "fio on $3 gave no result"
	res[$conf]+="$iops "
	mws[$conf]+="$(awk -v a="$m0" -v b="$m1" -v s="$t0" -v e="$t1" \
		'BEGIN { printf "%.0f", (b - a) / (e - s) }') "
}

# intent on|off: the two STDs stopped and assembled again in that mode.
intent() {
	local v=Y n
	[ "$1" = off ] && v=N
	echo $v > $P
	for n in bm16:"${DISKS[0]}" bmm:"${DISKS[1]}"; do
		bcv_must stop "${n%%:*}"
		bcv_must assemble "${n#*:}"
	done
	udevadm settle
	S16=/dev/bcv/bm16
	SM=/dev/bcv/bmm
}

note "bench_meta on $BCV_KVER: $ROUNDS rounds; first/warm: $IOS writes of 4 KiB on 4 KiB tracks; mirror: ${SECS}s"
for ((r = 0; r < ROUNDS; r++)); do
	off=$((r * slice))
	run first bm16 "$S16" "$off" "$slice" n
	run warm bm16 "$S16" "$off" "$slice" n
	run mirror bmm "$SM" 0 $((128 << 20)) t
	[ -z "$MD" ] || run md1 "" "$MD" 0 $((128 << 20)) t
	intent off
	run warm-off bm16 "$S16" "$off" "$slice" n
	run mirror-off bmm "$SM" 0 $((128 << 20)) t
	intent on
done

# med LIST: "median min max" of numbers.
med() {
	tr ' ' '\n' <<< "$1" | grep . | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d %d %d", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo
printf '%-11s %10s %17s %10s %16s\n' config "IOPS" "(min-max)" "meta/s" "ratio"
ratio_of() {
	local a b
	read -r a _ <<< "$(med "${res[$1]:-}")"
	read -r b _ <<< "$(med "${res[$2]:-}")"
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt 0 ] &&
		awk -v a="$a" -v b="$b" -v n="$2" 'BEGIN { printf "%.2fx %s", a / b, n }'
}
for c in first warm warm-off mirror mirror-off md1; do
	[ -n "${res[$c]:-}" ] || continue
	read -r m lo hi <<< "$(med "${res[$c]}")"
	read -r mm _ <<< "$(med "${mws[$c]}")"
	case $c in
	first|warm) rr=$(ratio_of "$c" warm-off) ;;
	mirror) rr=$(ratio_of mirror "$([ -n "${res[md1]:-}" ] && echo md1 || echo mirror-off)") ;;
	*) rr= ;;
	esac
	printf '%-11s %10s %17s %10s %16s\n' "$c" "$m" "($lo-$hi)" "$mm" "$rr"
done
pass
