#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-compare`: bcv side by side with dm-linear, md raid1 and
# dm-mirror, in one guest boot.  Prints tables of ratios; never passes or
# fails on a number (a broken command, or a copy that does not finish,
# still fails the run).
#
#   tests/vm/run ... bench_compare.sh [ROUNDS=N] [SECS=N] [QUICK=1]
#                    [SECTIONS=io,copy,thr] [COPYMB=N]
#
# ROUNDS (default 5; 1 with QUICK=1) rounds; in each, every configuration
# is measured once, in turn (the starting one rotates from round to round),
# so that a slow moment of the host hits all configurations alike.  Every
# cell is the median of the per-round values (a ratio: of the two values of
# the same round) with their spread (min-max).  SECS (default 3; 1 with
# QUICK=1) seconds per fio run.  Environment variables do not reach the
# guest: the Makefile passes these as arguments.
#
# disks (20, in this order; the Makefile writes them full of zeros first,
# so that no write is a host file system's first write to a sparse block):
#   vda          STD alone                     160M
#   vdb          STD with 16 split sessions    160M (BCVs: null_blk)
#   vdc vdd      STD + 1 synchronized BCV      160M
#   vde-vdh      STD + 3 synchronized BCVs     160M
#   vdi vdj      md raid1 of 2 (copies: dd)    160M, or COPYMB+32M if more
#   vdk-vdn      md raid1 of 4 (copies: md resync on vdk vdl, dm-mirror
#                resync on vdm vdn)            160M, or COPYMB+32M if more
#   vdo vdp      dm-mirror of 2 (disk log on the tail of vdp)  160M
#   vdq          raw and dm-linear (copies: bcv STD)           COPYMB
#   vdr          (copies: bcv BCV)                             COPYMB
#   vds vdt      host I/O during a copy: STD and BCV           1536M
# The null_blk side has the same configurations on memory-backed null_blk
# devices made through configfs (the 16 split BCVs store nothing).
#
# Sections:
#  1. 4k random write and read, 1 job and one job per vCPU, iodepth QD per
#     job, on the first 128 MiB of each configuration; IOPS relative to
#     dm-linear over a device of the same kind.
#  2. Copies of C bytes, C the capacity of a bcv volume on a COPYMB MiB
#     device (default 129: 128.96 MiB with 64 KiB tracks; `make
#     bench-compare` passes 1025, a GiB): dd, md raid1 resync, dm-mirror
#     resync, bcv ESTABLISH, RESTORE and REESTABLISH after 1, 10 and 50 % of
#     the tracks changed; seconds relative to dd (and to ESTABLISH).  Each
#     bcvctl command has a fixed cost (the tool's start, an RCU grace period
#     to drain the volumes, the metadata's flushes: 50-80 ms in a TCG
#     guest), which a small volume's REESTABLISH mostly measures.
#  3. Host 4k randwrite IOPS on a STD while an ESTABLISH runs, per
#     copy_throttle, relative to the same fio with the BCV synchronized.

# shellcheck source=tests/vm-tests/test_common.sh
. "$BCV_TESTS/vm-tests/test_common.sh"

ROUNDS='' SECS='' QUICK=0 SECTIONS='' COPYMB=129
for a in "$@"; do
	case $a in
	ROUNDS=*) ROUNDS=${a#*=} ;;
	SECS=*) SECS=${a#*=} ;;
	QUICK=*) QUICK=${a#*=} ;;
	SECTIONS=*) SECTIONS=${a#*=} ;;
	COPYMB=*) COPYMB=${a#*=} ;;
	*) fail "unknown argument '$a' (ROUNDS=N SECS=N QUICK=0|1 SECTIONS=io,copy,thr COPYMB=N)" ;;
	esac
done
SECTIONS=${SECTIONS:-io,copy,thr}
SECTIONS=${SECTIONS//,/ }
for a in $SECTIONS; do
	case $a in
	io|copy|thr) ;;
	*) fail "unknown section '$a' (io, copy, thr)" ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	: "${ROUNDS:=1}" "${SECS:=1}"
else
	: "${ROUNDS:=5}" "${SECS:=3}"
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || fail "bad ROUNDS '$ROUNDS'"
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || fail "bad SECS '$SECS'"
[[ "$COPYMB" =~ ^[1-9][0-9]*$ ]] && [ "$COPYMB" -ge 129 ] ||
	fail "bad COPYMB '$COPYMB' (at least 129)"

need_disks 20
need fio dd dmsetup mdadm awk
need_sessions

NJ=$(nproc)		# jobs of the "one job per vCPU" runs
QD=16			# iodepth per job
REGION=$((128 << 20))	# fio's region: the first 128 MiB
NBMB=160		# null_blk devices, like the 160M disks
CMB=$COPYMB		# the bcv copy volumes' devices
# dd's, md's and dm-mirror's copy devices: C bytes and dm-mirror's log
CPMB=$((CMB + 32 > NBMB ? CMB + 32 : NBMB))
TH_LIST="100 50 25 10"
MIB=$((1 << 20))
R=$T/results		# one line per measurement, read by the report
: > "$R"
START=$SECONDS

vd() { echo "${DISKS[$1]}"; }
rec() { echo "$*" >> "$R"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# --- devices ----------------------------------------------------------------

NB=/sys/kernel/config/nullb
_nbs=()
# nb_new NAME SIZE_MB BACKED: a null_blk device /dev/NAME.
nb_new() {
	local d=$NB/$1
	mkdir "$d" || fail "cannot make null_blk $1"
	echo "$2" > "$d/size" && echo "$3" > "$d/memory_backed" &&
		echo "$NJ" > "$d/submit_queues" && echo 1 > "$d/power" ||
		fail "cannot configure null_blk $1"
	_nbs+=("$1")
	wait_secs 60 test -b "/dev/$1" || fail "/dev/$1 did not appear"
}
nb_del() {
	local n
	for n in "$@"; do
		echo 0 > "$NB/$n/power" 2>/dev/null
		rmdir "$NB/$n" 2>/dev/null
	done
}

_mds=()
_dms=()
final_cleanup() {
	local m d
	for m in "${_mds[@]+"${_mds[@]}"}"; do
		mdadm --stop "$m" >/dev/null 2>&1
	done
	for ((d = ${#_dms[@]} - 1; d >= 0; d--)); do
		dmsetup remove "${_dms[$d]}" >/dev/null 2>&1
	done
	nb_del "${_nbs[@]+"${_nbs[@]}"}"
}
# In reverse order at exit: the bcv volumes go first (sess_setup), then
# md, dm and null_blk devices, then the module.
on_exit 'rmmod null_blk 2>/dev/null'
on_exit final_cleanup
sess_setup

mkvol() {	# ROLE NAME DEV
	local out
	out=$(bcvctl create "$1" "$2" "$3" "${CREATE_FORCE[@]}" 2>&1) ||
		fail "bcvctl create $1 $2 $3: $out"
	wait_secs 60 test -b "/dev/bcv/$2" || fail "/dev/bcv/$2 did not appear"
}

bcv_q() {	# bcvctl ARGS, bounded, quiet; fails the run on an error
	local out
	udevadm settle
	out=$(timeout 900 bcvctl "$@" 2>&1) || fail "bcvctl $*: $out"
}

# md_create DEV ARGS... (mdadm --create --run, internal bitmap, 1.2)
md_create() {
	local md=$1 out
	shift
	out=$(mdadm --create "$md" --run --level=1 --bitmap=internal \
		--metadata=1.2 "$@" 2>&1) || fail "mdadm --create $md $*: $out"
	[ -b "$md" ] || fail "mdadm made no $md: $out"
}
md_stop() {
	local out
	out=$(mdadm --stop "$1" 2>&1) || fail "mdadm --stop $1: $out"
}

dm_create() {	# NAME TABLE
	local out
	out=$(dmsetup create "$1" --table "$2" 2>&1) ||
		fail "dmsetup create $1 '$2': $out"
	wait_secs 60 test -b "/dev/mapper/$1" || fail "/dev/mapper/$1 did not appear"
}
dm_remove() {
	local out
	out=$(dmsetup remove "$1" 2>&1) || fail "dmsetup remove $1: $out"
}

# mirror_table LEN LOGDEV SYNC LEG1 LEG2: dm-mirror with a disk log,
# 1 MiB regions (bcv copies 16 tracks of 64 KiB at a time).
mirror_table() {
	echo "0 $1 mirror disk 3 $2 2048 $3 2 $4 0 $5 0 1 handle_errors"
}

# dm_insync NAME: all regions in sync ("... mirror 2 A B 128/128 1 AA ...").
dm_insync() {
	dmsetup status "$1" 2>/dev/null |
		awk '{ split($7, a, "/"); exit !(a[2] > 0 && a[1] == a[2]) }'
}

vol_attr() {	# NAME ATTR: /sys/block/bcvN/bcv/ATTR
	local s v
	s=$(vol_sysfs "$1") || return 1
	read -r v < "$s/bcv/$2" && echo "$v"
}

# --- fio ----------------------------------------------------------------------

# fio_io DEV: 4k randwrite and randread, 1 job and NJ jobs, QD each;
# prints "w1 wn r1 rn" IOPS.
fio_io() {
	local out n v line
	out=$(fio --minimal --group_reporting --filename="$1" \
		--ioengine=libaio --direct=1 --bs=4k --iodepth=$QD \
		--size=$REGION --time_based --runtime="$SECS" --randrepeat=0 \
		--norandommap \
		--name=w1 --rw=randwrite --numjobs=1 --stonewall \
		--name=wn --rw=randwrite --numjobs="$NJ" --stonewall \
		--name=r1 --rw=randread --numjobs=1 --stonewall \
		--name=rn --rw=randread --numjobs="$NJ" --stonewall 2>&1) ||
		{ echo "fio on $1 failed: $out"; return 1; }
	declare -A got=()
	while IFS= read -r line; do
		IFS=';' read -r -a v <<< "$line"
		[ "${#v[@]}" -gt 50 ] || continue
		got[${v[2]}]=$(( ${v[7]} + ${v[48]} ))
	done <<< "$out"
	for n in w1 wn r1 rn; do
		[ -n "${got[$n]:-}" ] || { echo "fio on $1 gave no $n: $out"; return 1; }
	done
	echo "${got[w1]} ${got[wn]} ${got[r1]} ${got[rn]}"
}

# fio_w1 DEV [OPTION...]: 4k randwrite, 1 job, QD, SECS: IOPS.  (Run in
# $T: fio writes the output of exec_prerun/postrun to files in its cwd.)
fio_w1() {
	local out dev=$1
	shift
	out=$(cd "$T" && fio --minimal --name=w --filename="$dev" \
		--ioengine=libaio --direct=1 --bs=4k --iodepth=$QD \
		--size=$REGION --time_based --runtime="$SECS" --randrepeat=0 \
		--norandommap --rw=randwrite "$@" 2>&1) ||
		{ echo "fio on $dev failed: $out"; return 1; }
	awk -F';' 'NF > 50 { print $49; n++ } END { exit n != 1 }' <<< "$out" ||
		{ echo "fio on $dev: no result: $out"; return 1; }
}

# fill DEV BYTES: write zeros (O_DIRECT), so that reads find data.
fill() {
	dd if=/dev/zero of="$1" bs=1M count=$(($2 / MIB)) oflag=direct \
		status=none || fail "cannot fill $1"
}

# --- set-up -----------------------------------------------------------------

modprobe null_blk nr_devices=0 || skip "no null_blk"
modprobe raid1 || skip "no md raid1"
modprobe dm-mirror || skip "no dm-mirror"
grep -q " $(dirname $NB) configfs" /proc/mounts ||
	mount -t configfs configfs "$(dirname $NB)" || skip "no configfs"
[ -d $NB ] || skip "no null_blk configfs"
# md resyncs as fast as it can.
echo 100000000 > /proc/sys/dev/raid/speed_limit_max
echo 100000000 > /proc/sys/dev/raid/speed_limit_min

for i in $(seq 0 15); do
	[ "$(dev_size "$(vd $i)")" -ge $((NBMB * MIB)) ] ||
		fail "$(vd $i) is smaller than ${NBMB}M"
done
for i in $(seq 8 13); do
	[ "$(dev_size "$(vd $i)")" -ge $((CPMB * MIB)) ] ||
		fail "$(vd $i) is smaller than ${CPMB}M"
done
for i in 16 17; do
	[ "$(dev_size "$(vd $i)")" = $((CMB * MIB)) ] ||
		fail "$(vd $i) is not ${CMB}M"
done
for i in 18 19; do
	[ "$(dev_size "$(vd $i)")" -ge $((512 * MIB)) ] ||
		fail "$(vd $i) is smaller than 512M"
done

note "bench_compare: $NJ vCPUs, $ROUNDS round(s), ${SECS} s per fio run, iodepth $QD per job, sections: $SECTIONS"

# Device of each configuration: DEV[kind:config].
declare -A DEV
CONFS="raw lin std s16 s1 s3 md2 md4 dmm"
KINDS="nb vd"

# setup_kind KIND: makes every configuration of KIND; L* are its legs.
setup_kind() {
	local k=$1 raw std s16 s1 s3 m2 m4 dma dmb i b16
	if [ "$k" = nb ]; then
		nb_new nbraw $NBMB 1; raw=/dev/nbraw
		nb_new nbstd $NBMB 1; std=/dev/nbstd
		nb_new nbs16 $NBMB 1; s16=/dev/nbs16
		nb_new nbs1a $NBMB 1; nb_new nbs1b $NBMB 1
		s1=(/dev/nbs1a /dev/nbs1b)
		s3=()
		for i in a b c d; do nb_new nbs3$i $NBMB 1; s3+=("/dev/nbs3$i"); done
		nb_new nbm2a $NBMB 1; nb_new nbm2b $NBMB 1
		m2=(/dev/nbm2a /dev/nbm2b)
		m4=()
		for i in a b c d; do nb_new nbm4$i $NBMB 1; m4+=("/dev/nbm4$i"); done
		nb_new nbdma $NBMB 1; nb_new nbdmb $NBMB 1
		dma=/dev/nbdma dmb=/dev/nbdmb
	else
		std=$(vd 0) s16=$(vd 1) s1=("$(vd 2)" "$(vd 3)")
		s3=("$(vd 4)" "$(vd 5)" "$(vd 6)" "$(vd 7)")
		m2=("$(vd 8)" "$(vd 9)")
		m4=("$(vd 10)" "$(vd 11)" "$(vd 12)" "$(vd 13)")
		dma=$(vd 14) dmb=$(vd 15) raw=$(vd 16)
	fi
	DEV[$k:raw]=$raw
	dm_create "lin_$k" "0 $(blockdev --getsz "$raw") linear $raw 0"
	_dms+=("lin_$k")
	DEV[$k:lin]=/dev/mapper/lin_$k

	mkvol std "std_$k" "$std"
	DEV[$k:std]=/dev/bcv/std_$k

	# 16 split sessions (three mirror positions: one BCV at a time);
	# then the region written once, so that every track is marked
	# changed already: the steady state (first writes: bench-meta).
	mkvol std "s16_$k" "$s16"
	for i in $(seq 0 15); do
		b16=nb16$k$i
		nb_new "$b16" $NBMB 0
		mkvol bcv "s16b_$k$i" "/dev/$b16"
		bcv_q establish "s16_$k" "s16b_$k$i" --wait
		bcv_q split "s16_$k" "s16b_$k$i"
	done
	DEV[$k:s16]=/dev/bcv/s16_$k

	mkvol std "s1_$k" "${s1[0]}"
	mkvol bcv "s1b_$k" "${s1[1]}"
	DEV[$k:s1]=/dev/bcv/s1_$k
	mkvol std "s3_$k" "${s3[0]}"
	for i in 1 2 3; do mkvol bcv "s3b_$k$i" "${s3[$i]}"; done
	DEV[$k:s3]=/dev/bcv/s3_$k
	if [ "$k" = nb ]; then
		fill "$raw" $REGION
		fill "${DEV[$k:std]}" $REGION
		fill "${DEV[$k:s1]}" $REGION
		fill "${DEV[$k:s3]}" $REGION
	fi
	fill "${DEV[$k:s16]}" $REGION
	bcv_q establish "s1_$k" "s1b_$k" --wait
	for i in 1 2 3; do bcv_q establish "s3_$k" "s3b_$k$i" --wait; done

	local mdn=0 
	[ "$k" = vd ] && mdn=2
	md_create /dev/md$mdn --raid-devices=2 --assume-clean "${m2[@]}"
	_mds+=("/dev/md$mdn")
	DEV[$k:md2]=/dev/md$mdn
	md_create /dev/md$((mdn + 1)) --raid-devices=4 --assume-clean "${m4[@]}"
	_mds+=(/dev/md$((mdn + 1)))
	DEV[$k:md4]=/dev/md$((mdn + 1))

	# dm-mirror: the log on 1 MiB past the mirror's end on the second leg.
	dm_create "mlog_$k" "0 2048 linear $dmb $((REGION / 512))"
	_dms+=("mlog_$k")
	dm_create "mir_$k" "$(mirror_table $((REGION / 512)) \
		"/dev/mapper/mlog_$k" nosync "$dma" "$dmb")"
	_dms+=("mir_$k")
	DEV[$k:dmm]=/dev/mapper/mir_$k
	dm_insync "mir_$k" || fail "mir_$k is not in sync with nosync"
	if [ "$k" = nb ]; then
		fill "${DEV[$k:md2]}" $REGION
		fill "${DEV[$k:md4]}" $REGION
		fill "${DEV[$k:dmm]}" $REGION
	fi
	udevadm settle
}

io_phase() {
	local t0 k c r i n kc res w1 wn r1 rn m d order
	note "setting up the I/O configurations (null_blk and virtio)"
	t0=$SECONDS
	for k in $KINDS; do setup_kind "$k"; done
	note "set-up took $((SECONDS - t0)) s"

# --- 1. random I/O ----------------------------------------------------------

	order=()
	for k in $KINDS; do for c in $CONFS; do order+=("$k:$c"); done; done
	n=${#order[@]}
	for ((r = 1; r <= ROUNDS; r++)); do
		t0=$SECONDS
		for ((i = 0; i < n; i++)); do
			kc=${order[$(( (i + r - 1) % n ))]}
			res=$(fio_io "${DEV[$kc]}") || fail "$res"
			read -r w1 wn r1 rn <<< "$res"
			rec io "${kc%%:*}" "${kc#*:}" "$r" "$w1" "$wn" "$r1" "$rn"
		done
		note "random I/O round $r/$ROUNDS: $((SECONDS - t0)) s"
	done

	# Tear the I/O configurations down: the copies use some of the disks,
	# and the memory of the null_blk devices goes back.
	note "removing the I/O configurations"
	end_all_sessions > /dev/null 2>&1
	remove_all_volumes
	[ -z "$(vol_names)" ] || fail "volumes left: $(vol_names)"
	for m in "${_mds[@]}"; do md_stop "$m"; done
	_mds=()
	for ((d = ${#_dms[@]} - 1; d >= 0; d--)); do dm_remove "${_dms[$d]}"; done
	_dms=()
	nb_del "${_nbs[@]}"
	_nbs=()
}

# --- 2. copies --------------------------------------------------------------

declare -A CP C TRK
setup_copy() {
	local k=$1
	if [ "$k" = nb ]; then
		for i in dda ddb mda mdb dma dmb; do
			nb_new "nbc$i" $CPMB 1
			fill "/dev/nbc$i" $((CPMB * MIB))
		done
		nb_new nbcstd $CMB 1; nb_new nbcbcv $CMB 1
		fill /dev/nbcstd $((CMB * MIB)); fill /dev/nbcbcv $((CMB * MIB))
		CP[$k:dd]="/dev/nbcdda /dev/nbcddb"
		CP[$k:md]="/dev/nbcmda /dev/nbcmdb"
		CP[$k:dm]="/dev/nbcdma /dev/nbcdmb"
		CP[$k:bcv]="/dev/nbcstd /dev/nbcbcv"
	else
		CP[$k:dd]="$(vd 8) $(vd 9)"
		CP[$k:md]="$(vd 10) $(vd 11)"
		CP[$k:dm]="$(vd 12) $(vd 13)"
		CP[$k:bcv]="$(vd 16) $(vd 17)"
	fi
	local a b
	read -r a b <<< "${CP[$k:bcv]}"
	mkvol std "cs_$k" "$a"
	mkvol bcv "cb_$k" "$b"
	C[$k]=$(blockdev --getsz "/dev/bcv/cs_$k")
	TRK[$k]=$(vol_attr "cs_$k" tracks)
	read -r a b <<< "${CP[$k:dm]}"
	dm_create "cmlog_$k" "0 2048 linear $b ${C[$k]}"
	_dms+=("cmlog_$k")
}

# timed CMD...: run CMD, DT its wall time; a failure fails the run.
DT=
timed() {
	local t0 t1 out
	t0=$EPOCHREALTIME
	out=$("$@" 2>&1) || fail "'$*' failed: $out"
	t1=$EPOCHREALTIME
	DT=$(elapsed "$t0" "$t1")
	TOUT=$out
}

# md_resync MD A B SIZE_KIB: create without --assume-clean, wait until the
# resync is over: sync_action "idle" alone is not enough, it also reads
# "idle" between the request of a resync and its start.
md_resync() {
	local f=/sys/block/${1#/dev/}/md a b i
	mdadm --create "$1" --run --level=1 --raid-devices=2 \
		--bitmap=internal --metadata=1.2 --size="$4" "$2" "$3" ||
		return 1
	for ((i = 0; i < 60000; i++)); do
		read -r a < "$f/resync_start" && [ "$a" = none ] &&
			read -r b < "$f/sync_action" && [ "$b" = idle ] &&
			return 0
		sleep 0.02
	done
	echo "md resync of $1 did not finish"
	return 1
}

# dm_resync NAME TABLE: create (log "sync": a full resync), wait until in
# sync (dm-mirror raises an event then; a bounded wait in case it does not).
# Without udev synchronisation: waiting for udev's rules is not part of
# the copy (bcvctl's and mdadm's commands are timed with udev settled).
dm_resync() {
	local e i
	dmsetup create --noudevsync "$1" --table "$2" || return 1
	for ((i = 0; i < 600; i++)); do
		e=$(dmsetup info -c --noheadings -o events "$1") || return 1
		if dm_insync "$1"; then
			[ $i -gt 0 ] || echo "in sync at the first look"
			return 0
		fi
		timeout 2 dmsetup wait "$1" "$e" > /dev/null 2>&1
	done
	echo "dm-mirror $1 did not get in sync"
	return 1
}

# chg_tracks STD N: write N distinct whole tracks (track-sized writes,
# fio's random map: no block twice) in the STD's whole tracks.
chg_tracks() {
	local ts sz
	ts=$(vol_attr "$1" track_size)
	sz=$(blockdev --getsz "/dev/bcv/$1")
	fio --name=chg --filename="/dev/bcv/$1" --rw=randwrite --bs="$ts" \
		--size=$((sz * 512 / ts * ts)) --number_ios="$2" \
		--ioengine=libaio --iodepth=16 --direct=1 --randseed=$RANDOM \
		--minimal > /dev/null 2>&1 || fail "fio chg on $1 failed"
}

copy_round() {	# KIND ROUND
	local k=$1 r=$2 a b sd n pct chg0 chg cp
	local S=cs_$k B=cb_$k
	read -r a b <<< "${CP[$k:dd]}"
	timed dd if="$a" of="$b" bs=1M count=$(( ${C[$k]} * 512 )) \
		iflag=direct,count_bytes oflag=direct status=none
	rec copy "$k" dd "$r" "$DT"

	read -r a b <<< "${CP[$k:md]}"
	timed md_resync /dev/md9 "$a" "$b" $(( ${C[$k]} / 2 ))
	rec copy "$k" md "$r" "$DT"
	read -r a < /sys/block/md9/md/resync_start
	[ "$a" = none ] || note "md9 resync_start '$a' after the resync"
	read -r a < /sys/block/md9/size
	[ "$a" = "${C[$k]}" ] || note "md9 has $a sectors, not ${C[$k]}"
	md_stop /dev/md9

	read -r a b <<< "${CP[$k:dm]}"
	timed dm_resync "cmir_$k" "$(mirror_table "${C[$k]}" \
		"/dev/mapper/cmlog_$k" sync "$a" "$b")"
	rec copy "$k" dm "$r" "$DT"
	[[ "$TOUT" != *"first look"* ]] ||
		note "cmir_$k was in sync when dmsetup create returned"
	udevadm settle
	dm_remove "cmir_$k"

	udevadm settle
	timed timeout 900 bcvctl establish "$S" "$B" --wait
	sd=$(sess_dir "$S" "$B") || fail "no session $S/$B"
	read -r cp < "$sd/copied_tracks"
	rec copy "$k" est "$r" "$DT"
	rec count "$k" est "$r" "${TRK[$k]}" "${TRK[$k]}" "$cp"
	bcv_q split "$S" "$B"

	udevadm settle
	timed timeout 900 bcvctl restore "$S" "$B" --wait
	read -r cp < "$sd/copied_tracks"
	rec copy "$k" rst "$r" "$DT"
	rec count "$k" rst "$r" "${TRK[$k]}" "${TRK[$k]}" "$cp"
	bcv_q split "$S" "$B"

	for pct in 1 10 50; do
		n=$(( ${TRK[$k]} * pct / 100 ))
		read -r chg0 < "$sd/std_changed_tracks"
		[ "$chg0" = 0 ] || note "$S/$B: $chg0 tracks changed before the writes"
		chg_tracks "$S" "$n"
		read -r chg < "$sd/std_changed_tracks"
		udevadm settle
		timed timeout 900 bcvctl reestablish "$S" "$B" --wait
		read -r cp < "$sd/copied_tracks"
		rec copy "$k" "re$pct" "$r" "$DT"
		rec count "$k" "re$pct" "$r" "$n" "$chg" "$cp"
		bcv_q split "$S" "$B"
	done
	bcv_q terminate "$S" "$B"
}

copy_phase() {
	local r t0 k ks
	note "setting up the copies"
	for k in $KINDS; do setup_copy "$k"; done
	udevadm settle
	for ((r = 1; r <= ROUNDS; r++)); do
		t0=$SECONDS
		if ((r % 2)); then ks="nb vd"; else ks="vd nb"; fi
		for k in $ks; do copy_round "$k" "$r"; done
		note "copy round $r/$ROUNDS: $((SECONDS - t0)) s"
	done
}

# --- 3. host I/O during a copy ----------------------------------------------

thr_phase() {
	local r t0 i th sd iops inv nt ths
	note "host I/O during an ESTABLISH"
	mkvol std ts "$(vd 18)"
	mkvol bcv tb "$(vd 19)"
	TSYS=$(vol_sysfs ts)/bcv/copy_throttle
	[ -w "$TSYS" ] || fail "no $TSYS"
	set_throttle() {
		echo "$1" > "$TSYS" || fail "cannot set copy_throttle $1"
}
TTRK=$(vol_attr ts tracks)
TTS=$(vol_attr ts track_size)
# sample FILE COUNTER: "uptime copied" (fio runs it just before and just
# after its I/O: exec_prerun, exec_postrun).
cat > "$T/sample" <<'EOS'
#!/bin/sh
read -r u x < /proc/uptime
read -r c < "$2"
echo "$u $c" > "$1"
EOS
chmod +x "$T/sample"
rate_of() {	# FILE1 FILE2: tracks/s between the two samples
	awk '{ u[NR] = $1; c[NR] = $2 }
	     END { if (NR == 2 && u[2] > u[1]) printf "%.1f", (c[2] - c[1]) / (u[2] - u[1]); else print "?" }' "$1" "$2"
}
read -r -a ths <<< "$TH_LIST"
nt=${#ths[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	t0=$SECONDS
	for ((i = 0; i < nt; i++)); do
		th=${ths[$(( (i + r - 1) % nt ))]}
		set_throttle "$th"
		bcv_q establish ts tb
		sd=$(sess_dir ts tb) || fail "no session ts/tb"
		# The copy alone for a second, then with the host's writes.
		"$T/sample" "$T/a0" "$sd/copied_tracks"
		sleep 1
		"$T/sample" "$T/a1" "$sd/copied_tracks"
		rm -f "$T/pre" "$T/post"
		iops=$(fio_w1 /dev/bcv/ts \
			--exec_prerun="$T/sample $T/pre $sd/copied_tracks" \
			--exec_postrun="$T/sample $T/post $sd/copied_tracks") ||
			fail "$iops"
		read -r inv < "$sd/invalid_tracks"
		[ -s "$T/pre" ] && [ -s "$T/post" ] ||
			fail "fio's exec_prerun/exec_postrun left no samples"
		rec thr "$th" "$r" "$iops" "$(rate_of "$T/pre" "$T/post")" \
			"$(rate_of "$T/a0" "$T/a1")" "$([ "$inv" = 0 ] && echo 1 || echo 0)"
		set_throttle 100
		bcv_q wait ts tb
		if [ $i = $((nt - 1)) ]; then
			iops=$(fio_w1 /dev/bcv/ts) || fail "$iops"
			rec thrbase "$r" "$iops"
		fi
		bcv_q split ts tb
		bcv_q terminate ts tb
	done
	note "host I/O round $r/$ROUNDS: $((SECONDS - t0)) s"
done
}

for a in $SECTIONS; do
	"${a}_phase"
done

note "measurements took $((SECONDS - START)) s"

# --- report -----------------------------------------------------------------

echo
awk -v rounds="$ROUNDS" -v secs="$SECS" -v nj="$NJ" -v qd="$QD" \
    -v cnb="${C[nb]:-0}" -v cvd="${C[vd]:-0}" -v tnb="${TRK[nb]:-0}" -v tvd="${TRK[vd]:-0}" \
    -v ttrk="${TTRK:-0}" -v tts="${TTS:-0}" -v sections=" $SECTIONS " -v thlist="$TH_LIST" '
function sortn(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
}
# stat(list): sets MED, MIN, MAX of the space-separated numbers; 0 if none
function stat(list,    a, n) {
	n = split(list, a, " ")
	MED = MIN = MAX = 0
	if (n == 0) return 0
	sortn(a, n)
	MED = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	MIN = a[1]; MAX = a[n]
	return n
}
function cell(list, fmt,    s) {
	if (!stat(list)) return "-"
	if (rounds == 1) return sprintf(fmt, MED)
	return sprintf(fmt " (" fmt "-" fmt ")", MED, MIN, MAX)
}
$1 == "io" {
	# io KIND CONF ROUND w1 wn r1 rn
	for (w = 1; w <= 4; w++) io[$2, $3, $4, w] = $(4 + w)
}
$1 == "copy" { cp[$2, $3, $4] = $5 }
$1 == "count" { cnt[$2, $3, $4] = $5 " " $6 " " $7 }
$1 == "thr" { th[$2, $3] = $4; rate[$2, $3] = $5; alone[$2, $3] = $6; fin[$2, $3] = $7 }
$1 == "thrbase" { thb[$2] = $3 }
END {
	split("raw lin std s16 s1 s3 md2 md4 dmm", confs, " ")
	name["raw"] = "raw device"
	name["lin"] = "dm-linear"
	name["std"] = "bcv STD alone"
	name["s16"] = "bcv STD, 16 split sessions"
	name["s1"] = "bcv STD + 1 synced BCV"
	name["s3"] = "bcv STD + 3 synced BCVs"
	name["md2"] = "md raid1, 2 devices"
	name["md4"] = "md raid1, 4 devices"
	name["dmm"] = "dm-mirror, 2 devices"
	kname["nb"] = "null_blk (memory-backed)"
	kname["vd"] = "virtio disks"
	split("randwrite 1 job|randwrite " nj " jobs|randread 1 job|randread " nj " jobs", wl, "|")

	split("nb vd", kinds, " ")
	if (sections ~ / io /) {
	printf "== 4k random I/O: IOPS relative to dm-linear on the same kind of device ==\n"
	printf "fio libaio O_DIRECT, iodepth %d per job, first 128 MiB, %d s per run; %d round(s);\n", qd, secs, rounds
	printf "a cell is the median of the per-round ratios (min-max); 1.00 = as fast as dm-linear\n"
	for (ki = 1; ki <= 2; ki++) {
		k = kinds[ki]
		printf "\n%-28s", kname[k]
		for (w = 1; w <= 4; w++) printf " %-20s", wl[w]
		printf "\n"
		printf "  %-26s", "dm-linear IOPS"
		for (w = 1; w <= 4; w++) {
			l = ""
			for (r = 1; r <= rounds; r++) if ((k, "lin", r, w) in io) l = l " " io[k, "lin", r, w]
			printf " %-20s", cell(l, "%d")
		}
		printf "\n"
		for (c = 1; c <= 9; c++) {
			cf = confs[c]
			printf "  %-26s", name[cf]
			for (w = 1; w <= 4; w++) {
				l = ""
				for (r = 1; r <= rounds; r++)
					if ((k, cf, r, w) in io && io[k, "lin", r, w] > 0)
						l = l " " io[k, cf, r, w] / io[k, "lin", r, w]
				printf " %-20s", cell(l, "%.2f")
			}
			printf "\n"
		}
	}

	printf "\n"
	}
	if (sections ~ / copy /) {
	printf "== Copies: seconds, and relative to dd of the same size (per-round ratios) ==\n"
	split("dd md dm est rst re1 re10 re50", ops, " ")
	oname["dd"] = "dd, O_DIRECT, 1 MiB blocks"
	oname["md"] = "md raid1 resync"
	oname["dm"] = "dm-mirror resync"
	oname["est"] = "bcv ESTABLISH"
	oname["rst"] = "bcv RESTORE"
	oname["re1"] = "bcv REESTABLISH, 1% changed"
	oname["re10"] = "bcv REESTABLISH, 10% changed"
	oname["re50"] = "bcv REESTABLISH, 50% changed"
	for (ki = 1; ki <= 2; ki++) {
		k = kinds[ki]
		sz = (k == "nb") ? cnb : cvd
		trk = (k == "nb") ? tnb : tvd
		printf "\n%s: %.2f MiB (%d sectors, %d bcv tracks)\n", kname[k], sz / 2048, sz, trk
		printf "  %-28s %-22s %-20s %-20s %s\n", "copy", "seconds", "x dd", "% of ESTABLISH", "tracks written/changed/copied"
		for (o = 1; o <= 8; o++) {
			op = ops[o]
			ls = ""; lr = ""; le = ""
			for (r = 1; r <= rounds; r++) {
				if (!((k, op, r) in cp)) continue
				ls = ls " " cp[k, op, r]
				if (cp[k, "dd", r] > 0) lr = lr " " cp[k, op, r] / cp[k, "dd", r]
				if (op ~ /^re/ && cp[k, "est", r] > 0)
					le = le " " 100 * cp[k, op, r] / cp[k, "est", r]
			}
			tc = ""
			if (op ~ /^(est|rst|re)/) {
				same = 1; first = ""; bad = ""
				for (r = 1; r <= rounds; r++) {
					if (!((k, op, r) in cnt)) continue
					split(cnt[k, op, r], x, " ")
					v = x[1] "/" x[2] "/" x[3]
					if (first == "") first = v
					else if (v != first) same = 0
					if (x[1] != x[2] || x[2] != x[3]) bad = bad " r" r ":" v
				}
				tc = same ? first : "varies"
				if (bad != "") tc = tc "  MISMATCH" bad
			}
			printf "  %-28s %-22s %-20s %-20s %s\n", oname[op], cell(ls, "%.3f"), \
				cell(lr, "%.2f"), (op ~ /^re/) ? cell(le, "%.1f") : "", tc
		}
	}

	printf "\n"
	}
	if (sections ~ / thr /) {
	printf "== Host 4k randwrite (1 job, iodepth %d, %d s) on a STD while an ESTABLISH copies it ==\n", qd, secs
	printf "virtio disks, STD and BCV %d tracks of %d KiB (%d MiB); the STD'"'"'s bcv/copy_throttle\n", ttrk, tts / 1024, ttrk * tts / 1048576
	l = ""
	for (r = 1; r <= rounds; r++) if (r in thb) l = l " " thb[r]
	printf "baseline, the same fio with the BCV synchronized (no copy): %s IOPS\n", cell(l, "%d")
	printf "  %-14s %-20s %-18s %-22s %s\n", "copy_throttle", "host IOPS", "x baseline", "copy tracks/s", "copy tracks/s, no host I/O"
	nth = split(thlist, ths, " ")
	best = ""
	for (t = 1; t <= nth; t++) {
		tv = ths[t]
		li = ""; lr = ""; lt = ""; la = ""; done = 0
		for (r = 1; r <= rounds; r++) {
			if (!((tv, r) in th)) continue
			li = li " " th[tv, r]
			if (thb[r] > 0) lr = lr " " th[tv, r] / thb[r]
			if (rate[tv, r] != "?") lt = lt " " rate[tv, r]
			if (alone[tv, r] != "?") la = la " " alone[tv, r]
			if (fin[tv, r]) done++
		}
		stat(lr); rmed = MED
		stat(lt); tmed = MED
		if (best == "" && rmed >= 0.9 && tmed > 0) best = tv
		printf "  %-14s %-20s %-18s %-22s %s%s\n", tv, cell(li, "%d"), cell(lr, "%.2f"), \
			cell(lt, "%.0f"), cell(la, "%.0f"), \
			done ? sprintf("  (the copy ended within the run in %d round(s))", done) : ""
	}
	if (best != "")
		printf "=> copy_throttle %s is the highest setting that keeps host IOPS >= 90%% of the baseline (median) while the copy advances\n", best
	else
		printf "=> none of %s keeps host IOPS >= 90%% of the baseline (median)\n", thlist
	}
}' "$R"
echo
note "bench_compare took $((SECONDS - START)) s in the guest"
pass
