# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the guest scripts of the host_*.sh tests (one script per
# boot).  Everything of ../test_common.sh, except that volumes are NOT
# removed at exit (unless PERSIST_KEEP=0): their metadata must outlive
# the boot.  Values for the host go out as lines "@@ KEY VALUE"
# (host_common.sh: val TAG KEY).
#
#   put KEY VALUE...        print "@@ KEY VALUE..."
#   put_sess STD BCV        @@ STD/BCV.FIELD for state, mm, invalid_tracks,
#                           std_changed_tracks, bcv_changed_tracks,
#                           copied_tracks, errors
#   put_vols                @@ vols NAME:ROLE:NR_LEGS ... (sorted by name)
#   leg_invalid NAME        invalid_tracks of every leg, blank-separated
#   legs_synced NAME        status 0 iff every leg has 0 invalid tracks
#   wait_legs NAME          legs_synced within BCV_WAIT_LIMIT s, recorded
#   vol_flag NAME FLAG      list --json field FLAG of volume NAME
#   vol_bytes NAME          the volume's size in bytes
#   tracks_of OFF LEN       the tracks (of TRACK_SIZE) a byte range touches
#   wr DEV TAG OFF LEN      write pattern TAG (random, LEN bytes) at OFF,
#                           O_DIRECT; appends the touched tracks to
#                           $T/tracks.DEVNAME
#   ntracks DEVNAME         number of distinct tracks written by wr
#   union_tracks A B        number of distinct tracks written to A or B
#   settle_vols NAME...     udevadm settle; each /dev/bcv/NAME must exist
#                           (records a failure per missing volume)
#   cmp_vols MSG A B        the volumes A and B (names) hold the same bytes
#                           over A's size, recorded

# Copies here are of 64 MiB volumes: a copy that has not finished after
# 180 s is stuck (test_common.sh's default is 300 s).
BCV_WAIT_LIMIT=${BCV_WAIT_LIMIT:-180}
# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../test_common.sh"

# Volumes and their metadata outlive this boot (a single-boot guest test
# that uses these helpers sets PERSIST_KEEP=0 first: its volumes go).
if [ "${PERSIST_KEEP:-1}" = 1 ]; then
	remove_all_volumes() {
		:
	}
fi

put() {
	echo "@@ $*"
}

put_sess() {
	local f v
	for f in state mm invalid_tracks std_changed_tracks \
		bcv_changed_tracks copied_tracks errors; do
		v=$(sess_field "$1" "$2" "$f")
		put "$1/$2.$f" "${v:-none}"
	done
}

put_vols() {
	local l out=() n
	while read -r n; do
		out+=("$n:$(json_field "$n" role):$(leg_count "$n")")
	done < <(list_json_lines | sed 's/^{"name":"\([^"]*\)".*/\1/' |
		LC_ALL=C sort)
	put vols "${out[*]:-none}"
}

# The legs part of a volume's list --json object.
_legs_json() {
	list_json_lines | grep "^{\"name\":\"$1\"" | head -n 1 |
		sed 's/.*"legs":\[//'
}

leg_count() {
	_legs_json "$1" | grep -o '"device":' | wc -l
}

leg_invalid() {
	_legs_json "$1" | grep -o '"invalid_tracks":[0-9]*' |
		sed 's/.*://' | tr '\n' ' ' | sed 's/ $//'
}

legs_synced() {
	local n
	n=$(leg_invalid "$1")
	[ -n "$n" ] || return 1
	for n in $n; do
		[ "$n" = 0 ] || return 1
	done
	return 0
}

wait_legs() {
	if wait_secs "$BCV_WAIT_LIMIT" legs_synced "$1"; then
		ok "every leg of $1 is in sync"
		return 0
	fi
	_bad "the legs of $1 still have invalid tracks: $(leg_invalid "$1")"
	return 1
}

vol_flag() {
	json_field "$1" "$2"
}

vol_bytes() {
	json_field "$1" size_bytes
}

tracks_of() {
	local t
	for ((t = $1 / TRACK_SIZE; t <= ($1 + $2 - 1) / TRACK_SIZE; t++)); do
		echo "$t"
	done
}

wr() {
	local dev=$1 tag=$2 off=$3 len=$4 p
	p=$(pattern "$tag" "$len")
	dd if="$p" of="$dev" bs=64K seek="$off" oflag=seek_bytes,direct \
		conv=notrunc status=none || fail "cannot write $len bytes at $off of $dev"
	tracks_of "$off" "$len" >> "$T/tracks.$(basename "$dev")"
}

ntracks() {
	sort -un "$T/tracks.$1" 2>/dev/null | wc -l
}

union_tracks() {
	cat "$T/tracks.$1" "$T/tracks.$2" 2>/dev/null | sort -un | wc -l
}

settle_vols() {
	local n
	udevadm settle --timeout=120
	for n in "$@"; do
		if [ -b "/dev/bcv/$n" ]; then
			ok "/dev/bcv/$n is there after udevadm settle"
		elif wait_for test -b "/dev/bcv/$n"; then
			ok "/dev/bcv/$n is there (some seconds after udevadm settle)"
		else
			_bad "/dev/bcv/$n did not appear at boot (no assemble typed)"
		fi
	done
}

cmp_vols() {
	local len
	len=$(vol_bytes "$2")
	[ -n "$len" ] || { _bad "$1: no size for $2"; return 1; }
	check_same "$1" "/dev/bcv/$2" "/dev/bcv/$3" "$len"
}
