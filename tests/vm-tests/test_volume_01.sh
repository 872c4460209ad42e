#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Volumes: create, what they look like (udev link, sysfs, bcvctl list),
# capacity and queue limits, remove, many create/remove cycles, a 4K-sector
# backing device, and module unload/reload.
#
# disks: 256M 100M 65572K 256M
#
# A volume is its disk less the metadata area at the disk's end
# (include/uapi/linux/bcv_format.h).  DISKS[2] is 65572 KiB: with 64 KiB
# tracks the area takes 32 KiB, which leaves 65540 KiB of data: 1024 tracks
# of 64 KiB and a partial 4 KiB one.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 4
need bcvctl blockdev udevadm

d_std=${DISKS[0]}
d_bcv=${DISKS[2]}	# its data area is not a multiple of the track size

# --- create: udev link, bcvctl output ------------------------------------

out=$(bcvctl create std v01std "$d_std" 2>"$ERR") ||
	fail "bcvctl create std v01std $d_std: $(cat "$ERR")"
echo "$out"
case "$out" in
"created std v01std: /dev/bcv"[0-9]*) ok "create std prints '$out'" ;;
*) _bad "create std printed '$out'" ;;
esac
[ -L /dev/bcv/v01std ] || _bad "/dev/bcv/v01std is not a symlink (create must wait for it)"
std_dev=$(vol_dev v01std) || fail "no sysfs entry names v01std"
std_sys=/sys/block/${std_dev#/dev/}
case "$out" in
*": $std_dev "*|*": $std_dev") ok "create printed $std_dev" ;;
*) _bad "create printed '$out', sysfs says $std_dev" ;;
esac
[ "$(readlink -f /dev/bcv/v01std)" = "$std_dev" ] ||
	_bad "/dev/bcv/v01std -> $(readlink -f /dev/bcv/v01std), want $std_dev"

create_vol bcv v01bcv "$d_bcv" --track-size 64K
bcv_dev=$VOL
bcv_sys=/sys/block/${bcv_dev#/dev/}
[ -L /dev/bcv/v01bcv ] || _bad "/dev/bcv/v01bcv is not a symlink"
[ "$(readlink -f /dev/bcv/v01bcv)" = "$bcv_dev" ] ||
	_bad "/dev/bcv/v01bcv -> $(readlink -f /dev/bcv/v01bcv), want $bcv_dev"
[ "$bcv_dev" != "$std_dev" ] || _bad "both volumes are $std_dev"

# --- sysfs ----------------------------------------------------------------

# check_attr FILE WANT
check_attr() {
	local got
	got=$(cat "$1" 2>/dev/null) || { _bad "cannot read $1"; return; }
	if [ "$got" = "$2" ]; then
		ok "$1 = $got"
	else
		_bad "$1 = '$got', want '$2'"
	fi
}

# check_volume NAME ROLE SYSDIR DEV BACKING TRACK_SIZE
check_volume() {
	local name=$1 role=$2 sys=$3 dev=$4 back=$5 ts=$6
	local bytes tracks cyls idx
	bytes=$(( $(bcv_data_sectors "$(blockdev --getsz "$back")" "$ts") * 512 ))
	tracks=$(( (bytes + ts - 1) / ts ))
	cyls=$(( (tracks + 14) / 15 ))
	idx=${dev#/dev/bcv}
	note "$name: $bytes bytes, $tracks tracks, $cyls cylinders"

	check_attr "$sys/bcv/name" "$name"
	check_attr "$sys/bcv/role" "$role"
	check_attr "$sys/bcv/backing" "$(kname "$back")"
	check_attr "$sys/bcv/track_size" "$ts"
	check_attr "$sys/bcv/tracks" "$tracks"
	check_attr "$sys/bcv/cylinders" "$cyls"

	# Capacity follows the backing device: its data area.
	[ "$(dev_size "$dev")" = "$bytes" ] ||
		_bad "$dev is $(dev_size "$dev") bytes, the data area of $back is $bytes"
	check_attr "$sys/size" "$((bytes / 512))"
	check_capacity "$name" "$ts" "$back"

	# bcvctl list --json
	local f want
	for f in name role device index size_bytes sectors track_size tracks \
		 cylinders; do
		case $f in
		name)		want=$name ;;
		role)		want=$role ;;
		device)		want=$dev ;;
		index)		want=$idx ;;
		size_bytes)	want=$bytes ;;
		sectors)	want=$((bytes / 512)) ;;
		track_size)	want=$ts ;;
		tracks)		want=$tracks ;;
		cylinders)	want=$cyls ;;
		esac
		got=$(json_field "$name" "$f")
		[ "$got" = "$want" ] ||
			_bad "list --json: $name.$f = '$got', want '$want'"
	done
	got=$(json_field "$name" open_count)
	case "$got" in
	[0-9]*) ;;
	*) _bad "list --json: $name.open_count = '$got'" ;;
	esac
	local mm
	mm=$(stat -L -c '%t %T' "$back")	# hex major, minor
	got=$(json_leg_field "$name" device)
	[ "$got" = "$back" ] || [ "$(readlink -f "$got")" = "$(readlink -f "$back")" ] ||
		_bad "list --json: $name.legs[0].device = '$got', want $back"
	got=$(json_leg_field "$name" major)
	[ "$got" = "$((16#${mm% *}))" ] ||
		_bad "list --json: $name.legs[0].major = '$got', want $((16#${mm% *}))"
	got=$(json_leg_field "$name" minor)
	[ "$got" = "$((16#${mm#* }))" ] ||
		_bad "list --json: $name.legs[0].minor = '$got', want $((16#${mm#* }))"

	# bcvctl list: one line naming the volume and its role.
	bcvctl list > "$OUT" 2>&1 || _bad "bcvctl list failed: $(cat "$OUT")"
	grep -w -- "$name" "$OUT" | grep -qw -- "$role" ||
		_bad "bcvctl list has no line with $name and $role: $(cat "$OUT")"
}

check_volume v01std std "$std_sys" "$std_dev" "$d_std" 65536
check_volume v01bcv bcv "$bcv_sys" "$bcv_dev" "$d_bcv" 65536
[ "$(cat "$bcv_sys/bcv/tracks")" = 1025 ] ||
	_bad "65540K of data in 64K tracks: tracks = $(cat "$bcv_sys/bcv/tracks"), want 1025"
[ $(( $(dev_size "$bcv_dev") % 65536 )) = 4096 ] ||
	_bad "v01bcv's last track is $(( $(dev_size "$bcv_dev") % 65536 )) bytes, want 4096"
bcvctl list --json

# --- queue limits follow the backing device --------------------------------

# check_queue VOLSYS BACKING
check_queue() {
	local q=$1/queue bq a v b
	bq=/sys/block/$(kname "$2")/queue
	for a in logical_block_size physical_block_size write_cache; do
		v=$(cat "$q/$a") b=$(cat "$bq/$a")
		[ "$v" = "$b" ] && ok "$a: $v" ||
			_bad "$q/$a = '$v', backing has '$b'"
	done
	v=$(cat "$q/max_sectors_kb") b=$(cat "$bq/max_sectors_kb")
	[ "$v" -gt 0 ] && [ "$v" -le "$b" ] && ok "max_sectors_kb: $v <= $b" ||
		_bad "$q/max_sectors_kb = $v, backing has $b"
	for a in discard_max_bytes write_zeroes_max_bytes; do
		v=$(cat "$q/$a") b=$(cat "$bq/$a")
		if [ "$b" -eq 0 ]; then
			[ "$v" -eq 0 ] && ok "$a: 0 like the backing device" ||
				_bad "$q/$a = $v, but the backing device has 0"
		else
			[ "$v" -gt 0 ] && [ "$v" -le "$b" ] && ok "$a: $v (backing $b)" ||
				_bad "$q/$a = $v, backing has $b"
		fi
	done
}
check_queue "$std_sys" "$d_std"
check_queue "$bcv_sys" "$d_bcv"

# --- remove round trip ------------------------------------------------------

expect "remove v01std" bcvctl remove v01std
expect "remove v01bcv" bcvctl remove v01bcv
udevadm settle
for n in v01std v01bcv; do
	[ ! -e "/dev/bcv/$n" ] && [ ! -L "/dev/bcv/$n" ] ||
		_bad "/dev/bcv/$n still exists after remove"
done
for s in "$std_sys" "$bcv_sys"; do
	[ ! -e "$s" ] || _bad "$s still exists after remove"
done
[ -z "$(vol_names)" ] || _bad "volumes left: $(vol_names)"
json=$(bcvctl list --json | tr -d '[:space:]')
[ "$json" = '{"volumes":[]}' ] || _bad "list --json after remove: $json"
# remove erases the metadata.
check_no_sb "$d_std"
check_no_sb "$d_bcv"
[ -z "$(list_json_lines)" ] || _bad "list --json still lists volumes"

# --- 20 create/remove cycles -------------------------------------------------

for ((i = 1; i <= 20; i++)); do
	role=std
	[ $((i % 2)) -eq 0 ] && role=bcv
	if ! out=$(bcvctl create $role "cyc$i" "${DISKS[$((i % 2))]}" 2>&1); then
		_bad "cycle $i: create: $out"
		break
	fi
	if [ ! -e "/dev/bcv/cyc$i" ]; then
		_bad "cycle $i: /dev/bcv/cyc$i missing right after create"
	fi
	if ! out=$(bcvctl remove "cyc$i" 2>&1); then
		_bad "cycle $i: remove: $out"
		break
	fi
done
udevadm settle
[ -z "$(vol_names)" ] || _bad "volumes left after the cycles: $(vol_names)"
ls -d /sys/block/bcv* >/dev/null 2>&1 &&
	_bad "left in /sys/block: $(ls -d /sys/block/bcv*)"
left=$(ls /dev/bcv/ 2>/dev/null)
[ -z "$left" ] || _bad "left in /dev/bcv/: $left"
ok "20 create/remove cycles"

# --- 4096-byte logical blocks --------------------------------------------------

nullb_load bs=4096 gb=1
expect_errmsg 1 bcvctl create std v01n2k /dev/nullb0 --track-size 2K
[ -z "$(vol_names)" ] || _bad "the refused create left $(vol_names)"
create_vol std v01n /dev/nullb0
n_sys=/sys/block/${VOL#/dev/}
check_attr "$n_sys/queue/logical_block_size" 4096
check_attr "$n_sys/queue/physical_block_size" "$(cat /sys/block/nullb0/queue/physical_block_size)"
check_attr "$n_sys/bcv/track_size" 65536
n_sec=$(bcv_data_sectors $(( (1 << 30) / 512 )) 65536)
check_attr "$n_sys/bcv/tracks" $(( (n_sec * 512 + 65535) / 65536 ))
check_capacity v01n 65536 /dev/nullb0
remove_vol v01n
check_no_sb /dev/nullb0
create_vol std v01n4k /dev/nullb0 --track-size 4K
n_sec=$(bcv_data_sectors $(( (1 << 30) / 512 )) 4096)
n_tracks=$(( (n_sec * 512 + 4095) / 4096 ))
check_attr "/sys/block/${VOL#/dev/}/bcv/track_size" 4096
check_attr "/sys/block/${VOL#/dev/}/bcv/tracks" $n_tracks
check_attr "/sys/block/${VOL#/dev/}/bcv/cylinders" $(( (n_tracks + 14) / 15 ))
check_capacity v01n4k 4096 /dev/nullb0
remove_vol v01n4k

# --- module unload refused while a volume exists -----------------------------

create_vol std v01mod "$d_std"
mod_dev=$VOL
if rmmod bcv 2>"$ERR"; then
	_bad "rmmod bcv succeeded with a volume in place"
	modprobe bcv || fail "cannot reload bcv"
else
	ok "rmmod bcv refused while v01mod exists: $(cat "$ERR")"
	[ "$(vol_names)" = v01mod ] || _bad "volumes after refused rmmod: $(vol_names)"
	random_file "$T/pat" 1M
	write_file_at "$T/pat" "$mod_dev" 1048576 ||
		_bad "write to $mod_dev after refused rmmod failed"
	[ "$(range_sum "$mod_dev" 1048576 1048576)" = "$(sha256sum < "$T/pat" | cut -d' ' -f1)" ] ||
		_bad "$mod_dev does not read back what was written after refused rmmod"
	remove_vol v01mod
	udevadm settle
	expect "rmmod bcv with no volume" rmmod bcv
	[ ! -e /sys/module/bcv ] || _bad "/sys/module/bcv still there after rmmod"
	expect "modprobe bcv" modprobe bcv
	wait_for test -c /dev/bcvctl || _bad "/dev/bcvctl did not come back"
	json=$(bcvctl list --json 2>&1 | tr -d '[:space:]')
	[ "$json" = '{"volumes":[]}' ] || _bad "list --json after reload: $json"
	create_vol std v01again "$d_std"
	remove_vol v01again
fi

pass
