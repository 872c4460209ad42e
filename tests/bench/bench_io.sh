#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-io`: the data path and the copy engine against the raw
# devices underneath, in the test guest (tests/vm/run).  Reports numbers;
# never passes or fails on them (a broken command still fails the run).
#
# disks: 256M 256M 256M
#
# DISKS[0] is measured raw; the STD sits on DISKS[1], its BCV on DISKS[2].
# Under QEMU TCG the absolute numbers say little about real hardware; the
# ratio of each bcv row to the raw row is the point.

# shellcheck source=tests/vm-tests/test_common.sh
. "$BCV_TESTS/vm-tests/test_common.sh"

need_disks 3
need fio dd
sess_setup

RAW=${DISKS[0]}
SECS=${BCV_BENCH_SECS:-5}
MB=$((1 << 20))
SIZE=$(dev_size "${DISKS[1]}")

# fio_run DEV RW BS DEPTH: prints "IOPS MiB/s".
fio_run() {
	fio --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth="$4" \
		--ioengine=libaio --direct=1 --time_based --runtime="$SECS" \
		--randrepeat=0 --norandommap --size=$((192 * MB)) --minimal \
		2>/dev/null |
		awk -F';' '{ printf "%d %.1f\n", $8 + $49, ($7 + $48) / 1024 }'
}

declare -A res
WORK="randread:4k:16 randwrite:4k:16 read:1m:4 write:1m:4"

# measure LABEL DEV
measure() {
	local w rw bs qd r
	for w in $WORK; do
		IFS=: read -r rw bs qd <<< "$w"
		r=$(fio_run "$2" "$rw" "$bs" "$qd")
		[ -n "$r" ] || fail "fio $rw $bs on $2 gave no result"
		res[$1:$rw]=$r
	done
}

row() {
	local label=$1 base=$2 w rw r b iops mbs biops bmbs
	printf '%-30s' "$label"
	for w in $WORK; do
		rw=${w%%:*}
		r=${res[$label:$rw]:-}
		if [ -z "$r" ]; then
			printf ' %18s' "-"
			continue
		fi
		read -r iops mbs <<< "$r"
		b=${res[$base:$rw]:-}
		read -r biops bmbs <<< "${b:-0 0}"
		case $rw in
		rand*)	printf ' %8s IOPS %3s%%' "$iops" \
				"$([ "$biops" -gt 0 ] && echo $((iops * 100 / biops)) || echo -)" ;;
		*)	printf ' %6s MiB/s %3s%%' "$mbs" \
				"$(awk -v a="$mbs" -v b="$bmbs" 'BEGIN { if (b > 0) printf "%d", a * 100 / b; else print "-" }')" ;;
		esac
	done
	echo
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

note "bench_io on $BCV_KVER, ${SECS}s per fio run, disks $BCV_DISKS"

measure raw "$RAW"

create_vol std bs "${DISKS[1]}" > /dev/null
S=$VOL
create_vol bcv bb "${DISKS[2]}" > /dev/null
B=$VOL
measure "bcv STD alone" "$S"

# Copy rate: a full ESTABLISH of SIZE bytes against dd between the raw disks.
dd if=/dev/urandom of="$S" bs=1M count=$((SIZE / MB)) oflag=direct status=none ||
	fail "cannot fill $S"
t0=$(now)
dd if="${DISKS[1]}" of="$RAW" bs=1M iflag=direct oflag=direct status=none ||
	fail "dd between raw disks failed"
t1=$(now)
ddsecs=$(elapsed "$t0" "$t1")
t0=$(now)
bcv_must establish bs bb --wait
t1=$(now)
estsecs=$(elapsed "$t0" "$t1")
copied=$(sess_field bs bb copied_tracks)
[ "$(read_dev "$S" "$SIZE" | md5sum)" = "$(read_dev "${DISKS[2]}" "$SIZE" | md5sum)" ] ||
	fail "the BCV's disk differs from the STD after establish"

measure "bcv STD, BCV synchronized" "$S"
bcv_must split bs bb
measure "bcv BCV split (own writes)" "$B"
measure "bcv STD, BCV split" "$S"

# Incremental REESTABLISH after 1% of the STD's tracks changed (the BCV's
# own changes from its fio runs above are everywhere, so first a full one).
bcv_must reestablish bs bb --wait
bcv_must split bs bb
ts=$(cat "$(vol_sysfs bs)/bcv/track_size")
nt=$(cat "$(vol_sysfs bs)/bcv/tracks")
n=$((nt / 100))
for ((i = 0; i < n; i++)); do
	dd if=/dev/urandom of="$S" bs=4k count=1 seek=$((RANDOM % nt * ts / 4096)) \
		oflag=direct conv=notrunc status=none
done
chg=$(sess_field bs bb std_changed_tracks)
t0=$(now)
bcv_must reestablish bs bb --wait
t1=$(now)
incsecs=$(elapsed "$t0" "$t1")
incopied=$(sess_field bs bb copied_tracks)

echo
printf '%-30s %18s %18s %18s %18s\n' "" "randread 4k qd16" "randwrite 4k qd16" \
	"read 1M qd4" "write 1M qd4"
row raw raw
row "bcv STD alone" raw
row "bcv STD, BCV synchronized" raw
row "bcv BCV split (own writes)" raw
row "bcv STD, BCV split" raw
echo
echo "copy of $((SIZE / MB)) MiB: dd between the raw disks ${ddsecs}s" \
	"($(awk -v s="$ddsecs" -v m=$((SIZE / MB)) 'BEGIN { printf "%.1f", m / s }') MiB/s);" \
	"ESTABLISH --wait ${estsecs}s" \
	"($(awk -v s="$estsecs" -v m=$((SIZE / MB)) 'BEGIN { printf "%.1f", m / s }') MiB/s, $copied tracks)"
echo "incremental REESTABLISH of $chg changed tracks (of $nt): ${incsecs}s, $incopied tracks copied"
pass
