#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# Refusals and failure behaviour (bcv-design.rst sections 1, 4 and 9): each refused
# command exits 1 with one line on stderr and changes neither query nor
# list output (bcv_refused), data is compared byte for byte where data is
# involved, and nothing may reach the kernel log that the runner fails on
# (checked here too, case by case, so that a WARN names its case).
#
# disks: 4M 4M 4M 4M 4M 4M 4M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h): SIZE bytes, NT tracks (the last one
# partial) on a 4 MiB device.
#
#  A. Writable sysfs: bcv/copy_throttle refuses 0, 101, abc and -1 and
#     accepts 50; the copy_jobs module parameter refuses 0 and 65 and
#     accepts 4; without CAP_SYS_ADMIN, copy_throttle cannot be changed.
#  B. Names: the kernel checks names bytewise ($'caf\xe9' with
#     BCV_NO_CLIENT_CHECKS=1 is refused, nothing created); bcvctl refuses
#     them itself with exit 2.
#  C. A read-only backing device (blockdev --setro): create and add-leg
#     are refused (EROFS, "read-only").
#  D. ESTABLISH of a BCV whose logical block size (4096, null_blk) is
#     larger than the STD's (512): refused, the BCV's data untouched.
#  E. Write cache: a STD on a write-through device is write through; a
#     leg or an attached BCV with a volatile cache (virtio) makes it write
#     back.
#  F. Stacking loops (ELOOP): create over a loop device over a volume, over
#     a dm-linear device over a volume (and over a dm device over such a
#     loop device), add-leg of those devices.
#  G. A fixed mirror whose dm device shrinks under the STD: host writes
#     go on, the leg is marked failed (list --json, kernel log), no I/O is
#     tried on it any more, remove-leg S M2 removes it, the STD keeps its
#     data.
#  H. A fixed mirror whose device disappears (configfs null_blk powered
#     off): the same, removed by position.
#  I. Tables too large: 2^32 tracks (2 TiB dm-zero, 512-byte tracks) are
#     refused with E2BIG; 2^29 tracks (the limit) either work or fail with
#     ENOMEM, cleanly, without a WARN.
#  J. ESTABLISH of a BCV whose leg (a dm device) was reloaded after create
#     to sit on the STD: refused (ELOOP), nothing changes; once the table
#     points at its disk again, the same ESTABLISH works.
#
# Order: on a driver without these checks, I exhausts the guest's memory
# and J (like F's add-leg of a device over the volume itself) makes a
# write loop that never ends; they come last so that the cases before
# them have told their story first.  ("# disks:" is above: tests/check
# reads it from the first 30 lines.)

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 7
need_sessions
need dmsetup blockdev udevadm losetup setpriv modprobe

TS=65536
TRACK_SIZE=$TS
SIZE=$(( $(bcv_data_sectors $(((4 << 20) / 512)) $TS) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))	# 64 tracks

NBCFG=/sys/kernel/config/nullb
_nbs=()
_dmz=()

# --- helpers ---------------------------------------------------------------

# null_blk devices made through configfs (module loaded with none of its
# own), powered off and removed after the volumes are gone.
nb_cleanup() {
	local n
	for n in "${_nbs[@]+"${_nbs[@]}"}"; do
		[ -d "$NBCFG/$n" ] || continue
		echo 0 > "$NBCFG/$n/power"
		rmdir "$NBCFG/$n"
	done
}
on_exit "rmmod null_blk"
on_exit nb_cleanup
dmz_cleanup() {
	local n
	for n in "${_dmz[@]+"${_dmz[@]}"}"; do
		dmsetup remove "$n"
	done
}
on_exit dmz_cleanup
on_exit "echo 8 > /sys/module/bcv/parameters/copy_jobs"
sess_setup
# A volume with a name bcvctl itself refuses (B), if the kernel took it:
# remove_all_volumes cannot remove it.
on_exit "BCV_NO_CLIENT_CHECKS=1 bcvctl remove \$'caf\\xe9'"

nb_load() {
	[ -d "$NBCFG" ] && return 0
	modprobe null_blk nr_devices=0 || fail "modprobe null_blk nr_devices=0"
	grep -q ' /sys/kernel/config configfs ' /proc/mounts ||
		mount -t configfs configfs /sys/kernel/config ||
		fail "cannot mount configfs"
	[ -d "$NBCFG" ] || fail "no $NBCFG"
}

# nb_new NAME SIZE_MB BLOCK_SIZE [ATTR=VALUE]...: a memory-backed null_blk
# device through configfs, without a write cache unless ATTRs add one;
# its path in NB.
NB=
nb_new() {
	local name=$1 mb=$2 bs=$3 d=$NBCFG/$1 kv
	shift 3
	nb_load
	mkdir "$d" || return 1
	_nbs+=("$name")
	echo "$mb" > "$d/size" && echo 1 > "$d/memory_backed" &&
		echo "$bs" > "$d/blocksize" || return 1
	for kv in "$@"; do
		echo "${kv#*=}" > "$d/${kv%%=*}" || return 1
	done
	echo 1 > "$d/power" || return 1
	NB=/dev/$name
	wait_for test -b "$NB" || NB=/dev/nullb$(cat "$d/index")
	[ -b "$NB" ] || wait_for test -b "$NB"
}

leg_field() {
	cat "$(vol_sysfs "$1")/bcv/$2"
}
synced() {
	[ "$(leg_field "$1" leg_invalid_tracks | tr -d ' 0')" = "" ]
}
wait_synced() {
	wait_secs 60 synced "$1" ||
		_bad "$1: legs not synced after 60 s: $(leg_field "$1" leg_invalid_tracks)"
}

# leg_json NAME POS: the leg object at mirror position POS (0-based) of
# volume NAME in list --json.
leg_json() {
	list_json_lines | grep "^{\"name\":\"$1\"" | head -n 1 |
		sed 's/.*"legs":\[//' | grep -o '{"device":[^}]*}' |
		grep "\"position\":$2,"
}
leg_failed() {
	[[ $(leg_json "$1" "$2") == *'"failed":true'* ]]
}

# The runner fails a test whose kernel log has one of these; counting them
# here says which case caused one.
KLOG_BAD='Kernel panic|BUG:|kernel BUG at|WARNING:|Oops[: ]|general protection fault|invalid opcode: |KASAN|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|blocked for more than'
klog_bad() {
	dmesg | grep -cE "$KLOG_BAD"
}
_klog0=$(klog_bad)
check_klog() {
	local n
	n=$(klog_bad)
	if [ "$n" -eq "$_klog0" ]; then
		ok "$1: nothing bad in the kernel log"
	else
		_bad "$1: the kernel log has $((n - _klog0)) new bad line(s):$(dmesg | grep -E "$KLOG_BAD" | tail -n $((n - _klog0)) | sed 's/^/ | /')"
	fi
	_klog0=$n
}

# A refused command that a driver without the check would carry out:
# undo it, so that the cleanup's order still works.
undo_create() {
	if vol_sysfs "$1" >/dev/null; then
		note "undo: $1 was created; removing it"
		bcvctl remove "$1" >/dev/null 2>&1
	fi
}
undo_leg() {
	if leg_field "$1" legs | grep -qw "$(kname "$2")"; then
		note "undo: $2 became a leg of $1; removing it"
		wait_secs 30 synced "$1"
		bcvctl remove-leg "$1" "$2" >/dev/null 2>&1
	fi
}

# msg_has WHAT REGEX: the last command's stderr matches REGEX (recorded).
msg_has() {
	if grep -qiE "$2" "$ERR"; then
		ok "$1: the message says so"
	else
		_bad "$1: message '$(cat "$ERR")' does not match /$2/"
	fi
}

# remove_leg_pos NAME Mn DEV: remove-leg by position (recorded); if that
# fails, by DEV (if there is one), so that the test can go on.
remove_leg_pos() {
	bcv_do remove-leg "$1" "$2" && return 0
	if [ -n "${3:-}" ] && [ -b "$3" ]; then
		note "remove-leg $1 $2 failed; removing the leg by its device $3"
		bcvctl remove-leg "$1" "$3"
	fi
}

# --- volumes used throughout -----------------------------------------------

create_vol std s12a "${DISKS[0]}"
SA=$VOL
create_vol std s12c "${DISKS[2]}"
check_capacity s12a $TS "${DISKS[0]}"
[ "$(dev_size "$SA")" = "$SIZE" ] || fail "set-up: s12a is not $SIZE bytes"
random_file "$T/mA" $SIZE
dd if="$T/mA" of="$SA" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $SA"
free=${DISKS[3]}

# --- A. writable sysfs attributes --------------------------------------------

ct=$(vol_sysfs s12a)/bcv/copy_throttle
[ -w "$ct" ] || fail "no writable $ct"
t0=$(cat "$ct")
note "$ct: $t0"
for v in 0 101 abc -1; do
	if (echo "$v" > "$ct") 2>"$ERR"; then
		_bad "copy_throttle took '$v'"
	else
		ok "copy_throttle refuses '$v': $(cat "$ERR")"
	fi
	[ "$(cat "$ct")" = "$t0" ] || _bad "copy_throttle is $(cat "$ct") after '$v', want $t0"
done
if (echo 50 > "$ct") 2>"$ERR" && [ "$(cat "$ct")" = 50 ]; then
	ok "copy_throttle accepts 50"
else
	_bad "copy_throttle 50: $(cat "$ERR"), reads $(cat "$ct")"
fi
setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
	bash -c "echo 7 > $ct" >"$OUT" 2>"$ERR"
rc=$?
if [ $rc -ne 0 ] && [ "$(cat "$ct")" = 50 ]; then
	ok "copy_throttle without CAP_SYS_ADMIN refused: $(cat "$ERR")"
else
	_bad "copy_throttle without CAP_SYS_ADMIN: exit $rc, reads $(cat "$ct") (want 50)"
fi
echo "$t0" > "$ct"

cj=/sys/module/bcv/parameters/copy_jobs
j0=$(cat "$cj")
note "$cj: $j0"
for v in 0 65 abc; do
	if (echo "$v" > "$cj") 2>"$ERR"; then
		_bad "copy_jobs took '$v'"
	else
		ok "copy_jobs refuses '$v': $(cat "$ERR")"
	fi
	[ "$(cat "$cj")" = "$j0" ] || _bad "copy_jobs is $(cat "$cj") after '$v', want $j0"
	echo "$j0" > "$cj" 2>/dev/null
done
if (echo 4 > "$cj") 2>"$ERR" && [ "$(cat "$cj")" = 4 ]; then
	ok "copy_jobs accepts 4"
else
	_bad "copy_jobs 4: $(cat "$ERR"), reads $(cat "$cj")"
fi
echo 8 > "$cj" && [ "$(cat "$cj")" = 8 ] || _bad "cannot set copy_jobs back to 8"
check_klog "sysfs attributes"

# --- B. names ----------------------------------------------------------------

for nm in $'caf\xe9' $'caf\xc3\xa9' $'\xe9t\xe9' $'a\x7fb'; do
	shown=$(printf '%q' "$nm")
	before=$(bcv_snapshot)
	nvol=$(vol_names | wc -l)
	BCV_NO_CLIENT_CHECKS=1 bcvctl create std "$nm" "$free" >"$OUT" 2>"$ERR"
	rc=$?
	if [ $rc -ne 0 ] && [ "$(bcv_snapshot)" = "$before" ] &&
	   [ "$(vol_names | wc -l)" -eq "$nvol" ]; then
		ok "BCV_NO_CLIENT_CHECKS=1 create std $shown: refused by the kernel (exit $rc): $(cat "$ERR")"
	else
		_bad "BCV_NO_CLIENT_CHECKS=1 create std $shown: exit $rc, volumes now: $(vol_names | od -An -c | tr -s ' \n' ' ')"
		BCV_NO_CLIENT_CHECKS=1 bcvctl remove "$nm" >/dev/null 2>&1 &&
			note "undo: removed the volume $shown"
	fi
	bcv_usage create std "$nm" "$free"
done
check_klog "names"

# --- C. a read-only backing device -------------------------------------------

on_exit "blockdev --setrw $free"
blockdev --setro "$free" || fail "blockdev --setro $free"
bcv_refused create std s12ro "$free"
msg_has "create on a read-only device" 'read-only'
undo_create s12ro
bcv_refused add-leg s12c "$free"
msg_has "add-leg of a read-only device" 'read-only'
undo_leg s12c "$free"
blockdev --setrw "$free" || fail "blockdev --setrw $free"
check_klog "read-only devices"

# --- D. a BCV with a larger logical block size ---------------------------------

nb_new nb12l 8 4096 || fail "cannot make a 4096-byte-block null_blk device"
nbl=$NB
[ "$(blockdev --getss "$nbl")" = 4096 ] ||
	fail "$nbl has $(blockdev --getss "$nbl")-byte blocks, want 4096"
create_vol std s12l "$free"
L=$VOL
create_vol bcv b12l "$nbl"
BL=$VOL
random_file "$T/mL" $SIZE
check_capacity b12l $TS "$nbl"
random_file "$T/mBL" "$(dev_size "$BL")"
dd if="$T/mL" of="$L" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $L"
dd if="$T/mBL" of="$BL" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $BL"
bcv_refused establish s12l b12l
msg_has "establish with a larger logical block size" 'block size'
check_no_sess s12l b12l
if sess_line s12l b12l >/dev/null; then
	note "undo: the session was made; ending it"
	end_all_sessions >/dev/null 2>&1
fi
check_model "the BCV with 4096-byte blocks was not written" "$BL" "$T/mBL"
check_model "the STD keeps its data" "$L" "$T/mL"
remove_vol b12l
remove_vol s12l
check_klog "logical block sizes"

# --- E. write cache ------------------------------------------------------------

wc_of() {
	cat "/sys/block/$(kname "$1")/queue/write_cache"
}
check_wc() {
	local got
	got=$(wc_of "$2")
	[ "$got" = "$3" ] && ok "$1: $2 is $got" ||
		_bad "$1: $2 reads '$got' in queue/write_cache, want '$3'"
}
vwc=$(wc_of "$free")
note "the virtio disks are $vwc (QEMU cache=unsafe)"
[ "$vwc" = "write back" ] ||
	note "virtio disks are not write back: the write-back checks need another device"
nb_new nb12w 4 512 || fail "cannot make a write-through null_blk device"
nbw=$NB
check_wc "null_blk without cache_size" "$nbw" "write through"
create_vol std s12w "$nbw"
W=$VOL
check_wc "a STD over a write-through device" "$W" "write through"
bcv_must add-leg s12w "$free"
check_wc "after add-leg of a $vwc virtio disk" "$W" "$vwc"
wait_synced s12w
bcv_do remove-leg s12w "$free"
note "after remove-leg: $W is $(wc_of "$W")"
remove_vol s12w

create_vol std s12w2 "$nbw"
W=$VOL
create_vol bcv b12w "${DISKS[6]}"
check_wc "a lone STD over a write-through device" "$W" "write through"
bcv_must establish s12w2 b12w --wait
check_wc "once a BCV on a $vwc virtio disk is established" "$W" "$vwc"
bcv_must split s12w2 b12w
note "after split: $W is $(wc_of "$W")"
bcv_must terminate s12w2 b12w
remove_vol b12w
remove_vol s12w2
check_klog "write cache"

# --- F. stacking loops -----------------------------------------------------------

asz=$(blockdev --getsz "$SA")
[ -e /dev/loop-control ] || modprobe loop
LO=$(losetup -f --show "/dev/bcv/s12a") ||
	fail "cannot make a loop device over /dev/bcv/s12a"
on_exit "losetup -d $LO"
note "$LO over /dev/bcv/s12a"
dmsetup create l12v --table "0 $asz linear $SA 0" ||
	fail "cannot make dm-linear over $SA"
on_exit "dmsetup remove l12v"
dmsetup create l12w --table "0 $asz linear $LO 0" ||
	fail "cannot make dm-linear over $LO"
on_exit "dmsetup remove l12w"
udevadm settle
for d in "$LO" /dev/mapper/l12v /dev/mapper/l12w; do
	bcv_refused create std s12x "$d"
	msg_has "create over $d" 'stacking loop'
	undo_create s12x
	bcv_refused add-leg s12c "$d"
	msg_has "add-leg s12c $d" 'stacking loop'
	undo_leg s12c "$d"
done
bcv_refused add-leg s12a /dev/mapper/l12v
msg_has "add-leg of a dm device over the volume itself" 'stacking loop'
undo_leg s12a /dev/mapper/l12v
bcv_refused create std s12x "$free" --mirror /dev/mapper/l12v
msg_has "create with a mirror leg over a volume" 'stacking loop'
undo_create s12x
check_model "s12a keeps its data" "$SA" "$T/mA"
check_model "through the loop device" "$LO" "$T/mA"
dmsetup remove l12w || _bad "dmsetup remove l12w"
dmsetup remove l12v || _bad "dmsetup remove l12v"
losetup -d "$LO" || _bad "losetup -d $LO"
check_klog "stacking loops"

# --- G. a leg that shrinks ---------------------------------------------------------

# leg_io KNAME: kernel log lines about I/O meant for device KNAME that
# failed: the copy engine's errors and the block layer's "attempt to
# access beyond end of device" reports (KNAME: rw=..., limit=...).
# (Ratelimited, but a retry every few seconds still shows.)
leg_io() {
	dmesg | grep -cE "copy of tracks .* on $1 |\] $1: rw="
}

dm_linear m12 "${DISKS[5]}" || fail "cannot make dm-linear over ${DISKS[5]}"
mdev=$DM
create_vol std s12m "${DISKS[4]}" --mirror "$mdev"
M=$VOL
wait_synced s12m
random_file "$T/mM" $SIZE
dd if="$T/mM" of="$M" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $M"
check_model "s12m's mirror before the shrink" "$mdev" "$T/mM"
check_capacity s12m $TS "${DISKS[4]}" "$mdev"
msz=$(blockdev --getsz "${DISKS[5]}")
dmsetup load m12 --table "0 $((msz / 2)) linear ${DISKS[5]} 0" &&
	dmsetup resume m12 || fail "cannot shrink m12"
note "m12 is now $(blockdev --getsz "$mdev") sectors, the volume $(blockdev --getsz "$M")"
expect "a write beyond the mirror's new end" \
	mwrite "$M" "$T/mM" $((48 * TS)) $TS g48
expect "a partial write beyond it" \
	mwrite "$M" "$T/mM" $((60 * TS + 4096)) 8192 g60
expect "a write below it" \
	mwrite "$M" "$T/mM" $((5 * TS)) $TS g5
if wait_for leg_failed s12m 1; then
	ok "list --json: s12m's M2 is failed: $(leg_json s12m 1)"
else
	_bad "list --json: s12m's M2 is not failed: $(leg_json s12m 1)"
fi
dmesg | grep -q "s12m: leg M2 .*marked failed" &&
	ok "kernel log: $(dmesg | grep "s12m: leg M2 .*marked failed" | tail -n 1 | sed 's/^\[[^]]*\] //')" ||
	_bad "the kernel log does not say that s12m's M2 is marked failed"
# No more I/O to the failed leg: nothing copied to it, no errors for it.
mk=$(kname "$mdev")
inv0=$(leg_field s12m leg_invalid_tracks)
c0=$(leg_io "$mk")
sleep 6
inv1=$(leg_field s12m leg_invalid_tracks)
c1=$(leg_io "$mk")
[ "$inv0" = "$inv1" ] && ok "s12m's leg_invalid_tracks stay at $inv1" ||
	_bad "s12m's leg_invalid_tracks moved from $inv0 to $inv1"
[ "$c1" -eq "$c0" ] && ok "no failed I/O to $mk logged in 6 s ($c1 before)" ||
	_bad "$((c1 - c0)) more failed I/Os to $mk logged in 6 s: $(dmesg | grep -E "copy of tracks|\] $mk: rw=" | tail -n 1)"
check_model "s12m reads as its model" "$M" "$T/mM"
check_model "s12m's primary holds every write" "${DISKS[4]}" "$T/mM"
remove_leg_pos s12m M2 "$mdev"
[ "$(leg_field s12m legs)" = "$(kname "${DISKS[4]}")" ] &&
	ok "s12m's legs after remove-leg: $(leg_field s12m legs)" ||
	_bad "s12m's legs after remove-leg: $(leg_field s12m legs)"
expect "a write after the leg went" mwrite "$M" "$T/mM" $((33 * TS)) $TS g33
check_model "s12m after remove-leg" "$M" "$T/mM"
remove_vol s12m
dm_heal m12
check_klog "a leg that shrinks"

# --- H. a leg whose device disappears -----------------------------------------

nb_new nb12g 4 512 || fail "cannot make a null_blk device"
gdev=$NB
create_vol std s12n "${DISKS[4]}" --mirror "$gdev"
N=$VOL
wait_synced s12n
random_file "$T/mN" $SIZE
dd if="$T/mN" of="$N" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $N"
check_model "s12n's mirror before it goes" "$gdev" "$T/mN"
check_capacity s12n $TS "${DISKS[4]}" "$gdev"
echo 0 > "$NBCFG/nb12g/power" || fail "cannot power nb12g off"
wait_for test ! -e "$gdev" && ok "$gdev is gone" || _bad "$gdev still exists"
expect "a write with the mirror gone" mwrite "$N" "$T/mN" $((7 * TS)) $TS h7
expect "a partial write with the mirror gone" \
	mwrite "$N" "$T/mN" $((40 * TS + 512)) 1024 h40
if wait_for leg_failed s12n 1; then
	ok "list --json: s12n's M2 is failed: $(leg_json s12n 1)"
else
	_bad "list --json: s12n's M2 is not failed: $(leg_json s12n 1)"
fi
dmesg | grep -q "s12n: leg M2 .*marked failed" &&
	ok "kernel log: $(dmesg | grep "s12n: leg M2 .*marked failed" | tail -n 1 | sed 's/^\[[^]]*\] //')" ||
	_bad "the kernel log does not say that s12n's M2 is marked failed"
gk=$(kname "$gdev")
inv0=$(leg_field s12n leg_invalid_tracks)
c0=$(leg_io "$gk")
sleep 6
inv1=$(leg_field s12n leg_invalid_tracks)
c1=$(leg_io "$gk")
[ "$inv0" = "$inv1" ] && ok "s12n's leg_invalid_tracks stay at $inv1" ||
	_bad "s12n's leg_invalid_tracks moved from $inv0 to $inv1"
[ "$c1" -eq "$c0" ] && ok "no failed I/O to $gk logged in 6 s ($c1 before)" ||
	_bad "$((c1 - c0)) more failed I/Os to $gk logged in 6 s: $(dmesg | grep -E "copy of tracks|\] $gk: rw=" | tail -n 1)"
check_model "s12n reads as its model" "$N" "$T/mN"
remove_leg_pos s12n M2
[ "$(leg_field s12n legs)" = "$(kname "${DISKS[4]}")" ] &&
	ok "s12n's legs after remove-leg: $(leg_field s12n legs)" ||
	_bad "s12n's legs after remove-leg: $(leg_field s12n legs)"
check_model "s12n after remove-leg" "$N" "$T/mN"
check_model "s12n's primary" "${DISKS[4]}" "$T/mN"
remove_vol s12n
rmdir "$NBCFG/nb12g" && ok "rmdir $NBCFG/nb12g" || _bad "rmdir $NBCFG/nb12g"
check_klog "a leg that disappears"

# --- I. tables too large -------------------------------------------------------

# Sizes such that the data area past the metadata (512-byte tracks) is
# exactly 2^32 and 2^29 tracks.
zsz=$(bcv_disk_for $((1 << 32)) 512) || fail "no device size for 2^32 tracks"
dmsetup create z12big --table "0 $zsz zero" ||
	fail "cannot make a 2 TiB dm-zero device"
_dmz+=(z12big)
udevadm settle
bcv_refused create std s12big /dev/mapper/z12big --track-size 512
msg_has "2^32 tracks" 'too large'
undo_create s12big
check_klog "2^32 tracks"

zsz=$(bcv_disk_for $((1 << 29)) 512) || fail "no device size for 2^29 tracks"
dmsetup create z12lim --table "0 $zsz zero" ||
	fail "cannot make a 256 GiB dm-zero device"
_dmz+=(z12lim)
udevadm settle
before=$(bcv_snapshot)
bcvctl create std s12lim /dev/mapper/z12lim --track-size 512 >"$OUT" 2>"$ERR"
rc=$?
if [ $rc -eq 0 ] && vol_sysfs s12lim >/dev/null; then
	ok "2^29 tracks: created: $(cat "$OUT")"
	[ "$(cat "$(vol_sysfs s12lim)/bcv/tracks")" = $((1 << 29)) ] ||
		_bad "2^29 tracks: s12lim has $(cat "$(vol_sysfs s12lim)/bcv/tracks") tracks"
	remove_vol s12lim
elif [ $rc -eq 1 ] && [ "$(wc -l < "$ERR")" -eq 1 ] &&
     [ "$(bcv_snapshot)" = "$before" ]; then
	ok "2^29 tracks: refused, nothing changed: $(cat "$ERR")"
	msg_has "2^29 tracks refused" 'memory'
else
	_bad "2^29 tracks: exit $rc, stderr:$(sed 's/^/ | /' "$ERR")"
	undo_create s12lim
fi
check_klog "2^29 tracks"

# --- J. ESTABLISH over a leg reloaded onto the STD ------------------------------

dm_linear l12d "${DISKS[1]}" || fail "cannot make dm-linear over ${DISKS[1]}"
ddev=$DM
create_vol bcv b12d "$ddev"
BD=$VOL
random_file "$T/mD" $SIZE
dd if="$T/mD" of="$BD" bs=1M oflag=direct conv=notrunc status=none ||
	fail "cannot write $BD"
# l12d keeps its size: b12d's data area goes onto the STD, its metadata
# area (past it) stays on its disk.
dsz=$(blockdev --getsz "${DISKS[1]}")
bsz=$(blockdev --getsz "$BD")
[ "$bsz" -le "$asz" ] || fail "b12d ($bsz sectors) is larger than s12a ($asz)"
printf '%s\n' "0 $bsz linear $SA 0" \
	"$bsz $((dsz - bsz)) linear ${DISKS[1]} $bsz" | dmsetup load l12d &&
	dmsetup resume l12d || fail "cannot point l12d at $SA"
note "l12d now: $(dmsetup table l12d)"
bcv_refused establish s12a b12d
msg_has "establish of a BCV over its STD" 'stacking loop'
check_no_sess s12a b12d
check_model "s12a keeps its data" "$SA" "$T/mA"
dm_heal l12d || fail "cannot point l12d back at ${DISKS[1]}"
check_model "b12d was not written" "$BD" "$T/mD"
check_klog "establish over a reloaded leg"

# The same pair once the leg is a plain disk again.
bcv_must establish s12a b12d --wait
check_sess s12a b12d state=synchronized copied_tracks=$NT
bcv_must split s12a b12d
check_model "b12d is s12a after establish and split" "$BD" "$T/mA"
bcv_must terminate s12a b12d
remove_vol b12d
remove_vol s12c
remove_vol s12a
check_klog "the end"

pass
