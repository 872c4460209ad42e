# SPDX-License-Identifier: GPL-2.0
#
# Sourced by every tests/vm-tests/test_<group>_NN.sh.  Runs inside the test
# guest (tests/vm/run), as root, with bcv loaded and udev running.
#
# Environment from the runner:
#   BCV_DISKS  the scratch disks, e.g. "/dev/vda /dev/vdb /dev/vdc"
#   BCV_KVER   the guest's kernel release
#   BCV_TESTS  where tests/ was copied (/bcv/tests)
#
# Result: exit 0 passed, 1 failed, 77 skipped (with a "SKIP: reason" line).
#
#   fail MSG...             fail now (the cleanup trap still runs)
#   expect MSG CMD...       CMD must succeed; a failure is recorded, go on
#   expect_exit CODE CMD... CMD must exit with CODE; recorded, go on
#   expect_errmsg [CODE] CMD...
#                           CMD must exit with CODE (default 1) and print
#                           exactly one line on stderr
#   pass                    end the test: exit 1 if anything was recorded
#   skip REASON             end the test as skipped
#   note MSG                a line in the log
# After expect_exit/expect_errmsg, $OUT and $ERR name files holding the
# command's stdout and stderr.

set -uo pipefail

: "${BCV_TESTS:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BCV_KVER:=$(uname -r)}"
: "${BCV_DISKS:=}"
export PATH="$BCV_TESTS/bin:$PATH"
read -r -a DISKS <<< "$BCV_DISKS"

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d /tmp/"$TEST_NAME".XXXXXX)
OUT=$T/out
ERR=$T/err
_nfail=0
_on_exit=()

# --- results -------------------------------------------------------------

_where() {
	# The first caller outside this file.
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		[ "${BASH_SOURCE[$i]}" = "${BASH_SOURCE[0]}" ] && continue
		echo "$(basename "${BASH_SOURCE[$i]}"):${BASH_LINENO[$((i - 1))]}"
		return
	done
	echo "?"
}

note() {
	echo "# $*"
}

fail() {
	echo "FAIL: $* ($(_where))"
	exit 1
}

# Record a failure and go on.
_bad() {
	echo "FAIL: $* ($(_where))"
	_nfail=$((_nfail + 1))
}

ok() {
	echo "ok: $*"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

pass() {
	if [ "$_nfail" -ne 0 ]; then
		echo "FAIL: $TEST_NAME: $_nfail check(s) failed"
		exit 1
	fi
	echo "PASS: $TEST_NAME"
	exit 0
}

# Skip the whole test unless every command exists.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# expect MSG CMD...: CMD must succeed.
expect() {
	local msg=$1 rc
	shift
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$msg"
		return 0
	fi
	_bad "$msg: '$*' failed (exit $rc): $(head -c 300 "$ERR")"
	return 1
}

# expect_exit CODE CMD...
expect_exit() {
	local want=$1 rc
	shift
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "exit $rc: $*"
		return 0
	fi
	_bad "'$*' exited $rc, want $want; stderr: $(head -c 300 "$ERR")"
	return 1
}

# expect_errmsg [CODE] CMD...: exit CODE (default 1), one line on stderr.
expect_errmsg() {
	local want=1 rc lines
	case "${1:-}" in
	[0-9]|[0-9][0-9]|[0-9][0-9][0-9]) want=$1; shift ;;
	esac
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	lines=$(wc -l < "$ERR")
	# A last line without a newline still counts.
	[ -s "$ERR" ] && [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" != '\n' ] &&
		lines=$((lines + 1))
	if [ "$rc" -ne "$want" ]; then
		_bad "'$*' exited $rc, want $want; stderr: $(head -c 300 "$ERR")"
		return 1
	fi
	if [ "$lines" -ne 1 ] || ! grep -q '[^[:space:]]' "$ERR"; then
		_bad "'$*' printed $lines lines on stderr, want 1:$(sed 's/^/ | /' "$ERR")"
		return 1
	fi
	ok "exit $rc: $* -> $(cat "$ERR")"
	return 0
}

# --- cleanup -------------------------------------------------------------

# on_exit CMD: run CMD (a string, eval'd) at exit, before volumes go.
on_exit() {
	_on_exit+=("$1")
}

# Names of all bcv volumes (from sysfs, which needs nothing but the module).
vol_names() {
	local f
	for f in /sys/block/bcv*/bcv/name; do
		[ -r "$f" ] && cat "$f"
	done
}

remove_all_volumes() {
	local m name
	# Unmount whatever sits on a volume.
	for m in $(awk '$1 ~ "^/dev/bcv" { print $2 }' /proc/mounts |
		   sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for name in $(vol_names); do
		bcvctl remove "$name" >/dev/null 2>&1 ||
			echo "# cleanup: cannot remove volume $name"
	done
}

_cleanup() {
	local rc=$? i
	set +e
	trap - EXIT
	for ((i = ${#_on_exit[@]} - 1; i >= 0; i--)); do
		eval "${_on_exit[$i]}" >/dev/null 2>&1
	done
	if [ -e /dev/bcvctl ]; then
		remove_all_volumes
	fi
	rm -rf "$T"
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- disks and volumes ---------------------------------------------------

# need_disks N: skip unless the runner gave at least N disks.
need_disks() {
	[ "${#DISKS[@]}" -ge "$1" ] ||
		skip "needs $1 scratch disks, got ${#DISKS[@]} ($BCV_DISKS)"
}

dev_size() {
	blockdev --getsize64 "$1"
}

# Kernel name of a block device node: /dev/vdb -> vdb.
kname() {
	basename "$(readlink -f "$1")"
}

# sysfs directory of a volume: /sys/block/bcvN, found by name.
vol_sysfs() {
	local f
	for f in /sys/block/bcv*/bcv/name; do
		[ -r "$f" ] || continue
		if [ "$(cat "$f")" = "$1" ]; then
			echo "${f%/bcv/name}"
			return 0
		fi
	done
	return 1
}

# /dev/bcvN of a volume, by name.
vol_dev() {
	local s
	s=$(vol_sysfs "$1") || return 1
	echo "/dev/${s##*/}"
}

# wait_for COND-CMD...: up to 5 s.
wait_for() {
	local i
	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# create_vol ROLE NAME DEV [OPTION]...: create or fail the test; sets VOL
# to /dev/bcvN.  (Not in $(...): fail would only leave the subshell.)
VOL=
create_vol() {
	local role=$1 name=$2 dev=$3 out
	shift 3
	out=$(bcvctl create "$role" "$name" "$dev" "$@" 2>&1) ||
		fail "bcvctl create $role $name $dev $*: $out"
	echo "$out"
	[ -e "/dev/bcv/$name" ] || wait_for test -e "/dev/bcv/$name" ||
		fail "/dev/bcv/$name did not appear"
	VOL=$(vol_dev "$name") || fail "no /sys/block/bcv*/bcv/name says $name"
	[ -b "$VOL" ] || wait_for test -b "$VOL" || fail "$VOL did not appear"
}

remove_vol() {
	local out
	out=$(bcvctl remove "$1" 2>&1) || fail "bcvctl remove $1: $out"
}

# The volume objects of `bcvctl list --json`, one per line, without blanks.
list_json_lines() {
	bcvctl list --json | tr -d '[:space:]' |
		sed 's/{"name":/\n&/g' | grep '^{"name":'
}

# json_field NAME FIELD: a volume's top-level field from list --json
# (strings without their quotes).
json_field() {
	list_json_lines | grep "^{\"name\":\"$1\"" | head -n 1 |
		sed 's/"legs":.*//' | grep -o "\"$2\":[^,}]*" | head -n 1 |
		sed 's/^"[^"]*"://; s/^"//; s/"$//'
}

# json_leg_field NAME FIELD: a field of the volume's first leg.
json_leg_field() {
	list_json_lines | grep "^{\"name\":\"$1\"" | head -n 1 |
		sed 's/.*"legs":\[//' | grep -o "\"$2\":[^,}]*" | head -n 1 |
		sed 's/^"[^"]*"://; s/^"//; s/"$//'
}

# --- the metadata area (include/uapi/linux/bcv_format.h) -----------------
#
# Every leg carries its metadata (tables, then two superblock copies) at
# the end of its device; a volume's capacity is the data area in front of
# it, the smallest over its legs.
#
#   bcv_layout DEV_SECTORS TRACK_SIZE
#                           bcv_fmt_layout(): sets LAYOUT_DATA (data
#                           sectors), LAYOUT_META (sectors of the metadata
#                           area), LAYOUT_TRACKS_CAP and LAYOUT_SB (the
#                           first superblock copy's sector); status 1 if
#                           the device is too small
#   bcv_data_sectors DEV_SECTORS TRACK_SIZE
#                           LAYOUT_DATA on stdout
#   bcv_meta_sectors DEV_SECTORS TRACK_SIZE
#                           LAYOUT_META on stdout
#   bcv_disk_for DATA_SECTORS TRACK_SIZE
#                           the smallest device size (sectors) whose data
#                           area is exactly DATA_SECTORS (a multiple of 8)
#   check_capacity NAME TRACK_SIZE DEV...
#                           volume NAME over legs DEV... has the capacity
#                           the layout gives (the smallest data area), and
#                           on every leg the metadata lies past it, where a
#                           superblock copy is (recorded)
#   sb_field DEV FIELD      a field of DEV's superblock copy with the
#                           higher seq: magic (8 characters), seq, sectors,
#                           dev_sectors, data_sectors, tracks_cap; status 1
#                           if neither copy has the magic
#   check_no_sb DEV         neither superblock copy of DEV has the magic
#                           (recorded)
# TRACK_SIZE is in bytes (a power of two, 512 or more).

bcv_layout() {
	local dev=$(($1 / 8 * 8)) ts=$2 tsec tc pb inv al ash area
	[ "$ts" -ge 512 ] && [ $((ts & (ts - 1))) -eq 0 ] || return 2
	tsec=$((ts / 512))
	tc=$(( (dev + tsec - 1) / tsec ))
	pb=$(( (tc * 2 + 4095) / 4096 * 4096 / 512 ))
	inv=$(( ((tc + 7) / 8 + 4095) / 4096 * 4096 / 512 ))
	# The activity log: a bit per region of 16 tracks and 1 MiB or more.
	if [ "$ts" -ge 65536 ]; then ash=4; else ash=$((20 - $(_log2 "$ts"))); fi
	al=$(( (((tc >> ash) + 1 + 7) / 8 + 4095) / 4096 * 4096 / 512 ))
	area=$((pb + 4 * inv + al + 2 * 8))
	[ "$dev" -ge $((area + 8)) ] || return 1
	LAYOUT_DATA=$((dev - area))
	LAYOUT_META=$area
	# shellcheck disable=SC2034	# for the tests
	LAYOUT_TRACKS_CAP=$tc
	LAYOUT_SB=$((dev - 16))
}

_log2() {
	local n=$1 l=0
	while [ "$n" -gt 1 ]; do n=$((n / 2)); l=$((l + 1)); done
	echo "$l"
}

bcv_data_sectors() {
	bcv_layout "$1" "$2" || return 1
	echo "$LAYOUT_DATA"
}

bcv_meta_sectors() {
	bcv_layout "$1" "$2" || return 1
	echo "$LAYOUT_META"
}

# The area grows with the device: iterate dev = DATA + area(dev) from
# below; it settles on the smallest fixed point.
bcv_disk_for() {
	local want=$1 ts=$2 dev i
	[ $((want % 8)) -eq 0 ] || return 1
	dev=$((want + 24))
	for ((i = 0; i < 100; i++)); do
		if ! bcv_layout "$dev" "$ts"; then
			dev=$((dev + 8))
			continue
		fi
		if [ "$LAYOUT_DATA" -eq "$want" ]; then
			echo "$dev"
			return 0
		fi
		[ "$LAYOUT_DATA" -lt "$want" ] || return 1
		dev=$((want + LAYOUT_META))
	done
	return 1
}

# _sb_read DEV SECTOR FILE: the 4 KiB block at SECTOR (a multiple of 8),
# read past the page cache.
_sb_read() {
	dd if="$1" of="$3" bs=4096 skip=$(($2 / 8)) count=1 iflag=direct \
		status=none 2>/dev/null
}

# _sb_u64 FILE OFFSET: the little-endian u64 at byte OFFSET of FILE.
_sb_u64() {
	od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}

sb_field() {
	local dev=$1 f=$2 ds c at best='' bseq=-1 seq off
	ds=$(blockdev --getsz "$dev") || return 1
	ds=$((ds / 8 * 8))
	for c in 0 1; do
		at=$((ds - 16 + 8 * c))
		_sb_read "$dev" "$at" "$T/.sb$c" || continue
		[ "$(head -c 8 "$T/.sb$c" | tr -d '\0')" = BCVSUPER ] || continue
		seq=$(_sb_u64 "$T/.sb$c" 24)
		if [ -z "$seq" ] || [ "$seq" -le "$bseq" ]; then
			continue
		fi
		bseq=$seq
		best=$c
	done
	[ -n "$best" ] || return 1
	case "$f" in
	magic)		echo BCVSUPER; return 0 ;;
	seq)		off=24 ;;
	sectors)	off=128 ;;
	dev_sectors)	off=144 ;;
	data_sectors)	off=152 ;;
	tracks_cap)	off=160 ;;
	*)		return 2 ;;
	esac
	_sb_u64 "$T/.sb$best" "$off"
}

check_capacity() {
	local name=$1 ts=$2 d ds want='' got bad=0
	shift 2
	for d in "$@"; do
		ds=$(blockdev --getsz "$d")
		if ! bcv_layout "$ds" "$ts"; then
			_bad "$name: leg $d ($ds sectors) has no room for the metadata"
			return 1
		fi
		if [ -z "$want" ] || [ "$LAYOUT_DATA" -lt "$want" ]; then
			want=$LAYOUT_DATA
		fi
	done
	got=$(blockdev --getsz "/dev/bcv/$name") || {
		_bad "$name: no /dev/bcv/$name"
		return 1
	}
	if [ "$got" != "$want" ]; then
		_bad "$name: $got sectors, want $want (the data area of $*)"
		return 1
	fi
	for d in "$@"; do
		ds=$(blockdev --getsz "$d")
		bcv_layout "$ds" "$ts"
		if [ $((got + LAYOUT_META)) -gt "$ds" ]; then
			_bad "$name: $got data + $LAYOUT_META metadata sectors > $ds sectors of $d"
			bad=1
		elif [ "$(sb_field "$d" data_sectors)" != "$LAYOUT_DATA" ] ||
		     [ "$(sb_field "$d" sectors)" != "$got" ]; then
			_bad "$name: the superblock at sector $LAYOUT_SB of $d: data_sectors '$(sb_field "$d" data_sectors)' (want $LAYOUT_DATA), sectors '$(sb_field "$d" sectors)' (want $got)"
			bad=1
		fi
	done
	if [ $bad -eq 0 ]; then
		ok "$name: $got sectors, the metadata past them on $* ($LAYOUT_META sectors on the last)"
	fi
	return $bad
}

check_no_sb() {
	if sb_field "$1" magic >/dev/null; then
		_bad "$1 still has a bcv superblock"
		return 1
	fi
	ok "$1 has no bcv superblock"
}

# Options for `bcvctl create` on a device that holds a signature (a file
# system a test made through an earlier volume): --force once bcvctl
# refuses such devices without it.
CREATE_FORCE=()
if bcvctl create --help 2>&1 | grep -q -- '--force'; then
	# shellcheck disable=SC2034	# for the tests
	CREATE_FORCE=(--force)
fi

# --- data ----------------------------------------------------------------

# Checksum of a whole device, read past any page cache.
dev_sum() {
	blockdev --flushbufs "$1" 2>/dev/null
	sha256sum < "$1" | cut -d' ' -f1
}

# range_sum DEV OFFSET LENGTH (bytes).
range_sum() {
	blockdev --flushbufs "$1" 2>/dev/null
	dd if="$1" bs=64K skip="$2" count="$3" iflag=skip_bytes,count_bytes \
		status=none | sha256sum | cut -d' ' -f1
}

# Checksum of LENGTH zero bytes.
zero_sum() {
	dd if=/dev/zero bs=64K count="$1" iflag=count_bytes status=none |
		sha256sum | cut -d' ' -f1
}

# write_file_at FILE DEV OFFSET: write FILE at byte OFFSET of DEV, O_DIRECT.
write_file_at() {
	dd if="$1" of="$2" bs=4K seek="$3" oflag=seek_bytes,direct \
		conv=notrunc,fsync status=none
}

# A file of LENGTH random bytes.
random_file() {
	dd if=/dev/urandom of="$1" bs=64K count="$2" iflag=count_bytes,fullblock \
		status=none
}

# Load null_blk with one memory-backed device (/dev/nullb0); extra
# module parameters are passed on.
nullb_load() {
	[ -e /dev/nullb0 ] && return 0
	modprobe null_blk nr_devices=1 memory_backed=1 "$@" ||
		fail "modprobe null_blk $*"
	on_exit "rmmod null_blk"
	wait_for test -b /dev/nullb0 || fail "/dev/nullb0 did not appear"
}

note "$TEST_NAME on $BCV_KVER, disks: ${BCV_DISKS:-none}"

# --- sessions (bcv-design.rst sections 4 and 9) ------------------------------------
#
#   need_sessions           skip unless bcvctl implements the session verbs
#   sess_setup              at exit: heal dm devices, end sessions, remove
#                           volumes, dm devices and loop devices (call once,
#                           before making any of them)
#   sess_lines [NAME]       session objects of `bcvctl query [NAME] --json`,
#                           one per line: "std":"S","bcv":"B",...,"errors":0,
#   sess_line STD BCV       that session's line (status 1 if none)
#   sess_field STD BCV F    one field (strings unquoted; empty, status 1 if
#                           there is no such session)
#   sess_count [NAME]       number of sessions (of NAME)
#   check_sess STD BCV F=V...   each field F must be V (recorded)
#   check_no_sess STD BCV   there must be no such session (recorded)
#   bcv_do ARGS...          bcvctl ARGS must succeed (recorded; returns its
#                           status); bounded by BCV_WAIT_LIMIT seconds
#   bcvctl_t SECS ARGS...   bcvctl ARGS killed after SECS s (see below)
#   bcv_must ARGS...        same, but a failure ends the test
#   sess_dump               bcvctl query and list, indented (for logs)
#   bcv_refused [CODE] ARGS...
#                           bcvctl ARGS must exit CODE (default 1, "any
#                           other refusal") with one stderr line and
#                           change neither query nor list output
#   bcv_usage ARGS...       same with exit 2 (bad usage)
#   bcv_missing ARGS...     same with exit 3 (a named volume or session
#                           does not exist: ENOENT)
#   bcv_busy ARGS...        same with exit 4 (busy: open, attached, a copy
#                           in progress, a device in use: EBUSY)
#   BCV_EXIT_*              bcvctl's exit codes (bcv-design.rst section 9): FAIL 1,
#                           USAGE 2, NOTFOUND 3, BUSY 4, TIMEOUT 5
#   bcv_snapshot            query + list --json without the fields that
#                           move by themselves (open_count, progress, errors)
#   wait_secs SECS CMD...   poll CMD until it succeeds, for up to SECS s
#   copy_throttle NAME PCT  slow down the copies of volume NAME (its
#                           bcv/copy_throttle, if the module has it)
#   power_cut               cut the guest's power now (tests/vm/run with
#                           --kill-after SIGKILLs QEMU on its marker);
#                           never returns
#
# Data:
#   read_dev DEV LEN [OFF]  LEN bytes at byte OFF of DEV, O_DIRECT, to stdout
#   pattern TAG LEN         path of a file of LEN random bytes, one per TAG
#   mwrite DEV MODEL OFF LEN TAG
#                           write pattern TAG at OFF of DEV (O_DIRECT) and
#                           of the model file MODEL (skipped if MODEL is "")
#   mcopy SRC DST OFF LEN   copy a byte range between model files
#   model_of DEV FILE [LEN] start a model file from the device's content
#   same_as_model DEV MODEL [LEN]
#                           status 0 iff the first LEN bytes (default: the
#                           model's size) of DEV equal MODEL; on a
#                           difference prints the differing tracks
#                           (TRACK_SIZE, default 65536) on stdout
#   check_model MSG DEV MODEL [LEN]   same_as_model, recorded
#   check_same MSG DEV1 DEV2 LEN      the first LEN bytes are equal, recorded
#
# Block devices to play with:
#   dm_linear NAME DEV      a dm-linear device over DEV, path in DM
#   dm_fail NAME            make every I/O to it fail (dm "error" table)
#   dm_heal NAME            back to linear over its device
#   loop_new SIZE           a loop device over a new sparse file on /tmp,
#                           path in LOOP

BCV_WAIT_LIMIT=${BCV_WAIT_LIMIT:-300}	# seconds: a hung copy fails the test
# bcvctl's exit codes (bcv-design.rst section 9): 1 any other refusal or failure,
# 2 bad usage, 3 a named volume or session does not exist, 4 busy (open,
# attached, a copy in progress, in use), 5 wait --timeout ran out.
# shellcheck disable=SC2034	# for the tests
BCV_EXIT_FAIL=1 BCV_EXIT_USAGE=2 BCV_EXIT_NOTFOUND=3 BCV_EXIT_BUSY=4 \
	BCV_EXIT_TIMEOUT=5
TRACK_SIZE=${TRACK_SIZE:-65536}
_dm_names=()
declare -A _dm_dev=()
_loops=()

need_sessions() {
	local out
	need bcvctl udevadm
	out=$(bcvctl query --json 2>&1) && return 0
	case "$out" in
	*"not implemented"*) skip "bcvctl has no session commands yet: $out" ;;
	esac
	fail "bcvctl query --json failed: $out"
}

# (Parsed with bash's own string operations: the checks run often and
# every process costs under TCG.)
sess_lines() {
	local j o
	j=$(bcvctl query "$@" --json 2>/dev/null) || return 0
	j=${j//[[:space:]]/}
	j=${j#*\"sessions\":[}
	while [[ $j == *"{"* ]]; do
		j=${j#*\{}
		o=${j%%\}*}
		j=${j#*\}}
		[[ $o == \"std\":* ]] && printf '%s,\n' "$o"
	done
	return 0
}

sess_line() {
	local l
	while IFS= read -r l; do
		if [[ $l == *"\"std\":\"$1\","* && $l == *"\"bcv\":\"$2\","* ]]; then
			printf '%s\n' "$l"
			return 0
		fi
	done < <(sess_lines)
	return 1
}

# _field LINE FIELD: a field of a session line.
_field() {
	local l=",$1" k=",\"$2\":"
	[[ $l == *"$k"* ]] || return 0
	l=${l#*"$k"}
	l=${l%%,*}
	l=${l#\"}
	printf '%s\n' "${l%\"}"
}

sess_field() {
	local l
	l=$(sess_line "$1" "$2") || return 1
	_field "$l" "$3"
}

# vols_same WHAT A B SIZE: the first SIZE bytes of volumes A and B are
# identical (ok), or say where they differ.
vols_same() {
	blockdev --flushbufs "$2" "$3" 2>/dev/null
	if cmp -s -n "$4" "$2" "$3"; then
		ok "$1: BCV and STD hold the same $4 bytes"
	else
		_bad "$1: BCV and STD differ: $(cmp -n "$4" "$2" "$3" 2>&1 | head -1)"
	fi
}

# one_copy_job: copy_jobs=1 for this test (restored on exit): the engine
# copies one region at a time, in order.
one_copy_job() {
	local j=/sys/module/bcv/parameters/copy_jobs old
	[ -w $j ] || skip "no $j"
	old=$(cat $j)
	on_exit "echo $old > $j"
	echo 1 > $j || fail "cannot set copy_jobs to 1"
}

# sess_dir STD BCV: the session's sysfs directory, /sys/block/bcvN/sessions/ID.
sess_dir() {
	local s d b
	s=$(vol_sysfs "$1") || return 1
	for d in "$s"/sessions/*; do
		[ -r "$d/bcv" ] || continue
		read -r b < "$d/bcv"
		[ "$b" = "$2" ] && { echo "$d"; return 0; }
	done
	return 1
}

sess_count() {
	sess_lines "$@" | grep -c '^"std":'
}

check_sess() {
	local std=$1 bcv=$2 l kv f want got bad=0
	shift 2
	if ! l=$(sess_line "$std" "$bcv"); then
		_bad "no session $std/$bcv in query --json: $(sess_lines | tr '\n' ' ')"
		return 1
	fi
	for kv in "$@"; do
		f=${kv%%=*}
		want=${kv#*=}
		got=$(_field "$l" "$f")
		if [ "$got" != "$want" ]; then
			_bad "session $std/$bcv: $f = '$got', want '$want' ($l)"
			bad=1
		fi
	done
	[ $bad -eq 0 ] && ok "session $std/$bcv: $*"
	return $bad
}

check_no_sess() {
	if sess_line "$1" "$2" >/dev/null; then
		_bad "session $1/$2 exists: $(sess_line "$1" "$2")"
		return 1
	fi
	ok "no session $1/$2"
}

# Commands that need the BCV (or, for restore, the STD) not open wait for
# udev's probes to finish first.
_settle_for() {
	case "${1:-}" in
	establish|reestablish|restore|remove) udevadm settle 2>/dev/null ;;
	esac
}

# bcvctl_t SECS ARGS...: bcvctl ARGS, killed after SECS seconds, without
# the shell's descriptors above 2.  busybox timeout leaves a watcher
# process behind for up to a second: it must not keep a volume that the
# test held open (exec 3< ...) open after the test closed it.
bcvctl_t() {
	local secs=$1
	shift
	(
		for f in /proc/$BASHPID/fd/*; do
			n=${f##*/}
			[ "$n" -gt 2 ] && [ "$n" -lt 255 ] &&
				eval "exec $n>&-" 2>/dev/null
		done
		exec timeout "$secs" bcvctl "$@"
	)
}

# What the sessions and volumes look like, for a failure's log.
sess_dump() {
	bcvctl query 2>&1 | sed 's/^/    /'
	bcvctl list 2>&1 | sed 's/^/    /'
}

bcv_do() {
	_settle_for "${1:-}"
	expect "bcvctl $*" bcvctl_t "$BCV_WAIT_LIMIT" "$@" && return 0
	sess_dump
	return 1
}

bcv_must() {
	bcv_do "$@" || fail "cannot go on without 'bcvctl $*'"
}

bcv_snapshot() {
	{
		bcvctl query --json
		bcvctl list --json
	} 2>&1 | tr -d '[:space:]' |
		sed -E 's/"(open_count|invalid_tracks|copied_tracks|percent_done|errors|meta_writes)":[0-9.]*,?//g'
}

# _refused CODE ARGS...
_refused() {
	local code=$1 before after
	shift
	_settle_for "${1:-}"
	before=$(bcv_snapshot)
	expect_errmsg "$code" bcvctl_t "$BCV_WAIT_LIMIT" "$@"
	after=$(bcv_snapshot)
	if [ "$before" != "$after" ]; then
		_bad "refused 'bcvctl $*' changed the state: before $before; after $after"
		return 1
	fi
	return 0
}

bcv_refused() {
	local code=$BCV_EXIT_FAIL
	case "${1:-}" in
	[0-9]) code=$1; shift ;;
	esac
	_refused "$code" "$@"
}

bcv_usage() {
	_refused "$BCV_EXIT_USAGE" "$@"
}

bcv_missing() {
	_refused "$BCV_EXIT_NOTFOUND" "$@"
}

bcv_busy() {
	_refused "$BCV_EXIT_BUSY" "$@"
}

# --- data and models -------------------------------------------------------

read_dev() {
	dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="${3:-0}" \
		count="$2" status=none
}

pattern() {
	local f=$T/pat/$1.$2
	if [ ! -f "$f" ]; then
		mkdir -p "$T/pat"
		random_file "$f" "$2" || fail "cannot make pattern $1"
	fi
	echo "$f"
}

mwrite() {
	local dev=$1 model=$2 off=$3 len=$4 p
	p=$(pattern "$5" "$len")
	dd if="$p" of="$dev" bs=64K seek="$off" oflag=seek_bytes,direct \
		conv=notrunc status=none || return 1
	[ -z "$model" ] ||
		dd if="$p" of="$model" bs=64K seek="$off" oflag=seek_bytes \
			conv=notrunc status=none
}

mcopy() {
	dd if="$1" of="$2" bs=64K skip="$3" seek="$3" count="$4" \
		iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc \
		status=none
}

model_of() {
	local len=${3:-$(dev_size "$1")}
	read_dev "$1" "$len" > "$2"
}

# _diff_tracks FILE1 FILE2 LEN: the tracks that differ (at most 40 shown).
_diff_tracks() {
	local n=$(( ($3 + TRACK_SIZE - 1) / TRACK_SIZE )) t a b out= cnt=0
	for ((t = 0; t < n && t < 4096; t++)); do
		a=$(dd if="$1" bs="$TRACK_SIZE" skip=$t count=1 status=none | md5sum)
		b=$(dd if="$2" bs="$TRACK_SIZE" skip=$t count=1 status=none | md5sum)
		if [ "$a" != "$b" ]; then
			cnt=$((cnt + 1))
			[ $cnt -le 40 ] && out+=" $t"
		fi
	done
	echo "$cnt tracks differ:$out"
}

same_as_model() {
	local dev=$1 model=$2 len=${3:-$(stat -c %s "$2")}
	read_dev "$dev" "$len" > "$T/.dev_image" || {
		echo "cannot read $dev"
		return 1
	}
	if cmp -s "$T/.dev_image" "$model" &&
	   [ "$(stat -c %s "$T/.dev_image")" = "$len" ]; then
		rm -f "$T/.dev_image"
		return 0
	fi
	_diff_tracks "$T/.dev_image" "$model" "$len"
	rm -f "$T/.dev_image"
	return 1
}

check_model() {
	local msg=$1 why
	shift
	if why=$(same_as_model "$@"); then
		ok "$msg"
		return 0
	fi
	_bad "$msg: $1 differs from its model: $why"
	return 1
}

check_same() {
	local msg=$1 len=$4
	read_dev "$2" "$len" > "$T/.same_a"
	read_dev "$3" "$len" > "$T/.same_b"
	if cmp -s "$T/.same_a" "$T/.same_b" &&
	   [ "$(stat -c %s "$T/.same_a")" = "$len" ]; then
		ok "$msg"
		rm -f "$T/.same_a" "$T/.same_b"
		return 0
	fi
	_bad "$msg: $2 and $3 differ: $(_diff_tracks "$T/.same_a" "$T/.same_b" "$len")"
	rm -f "$T/.same_a" "$T/.same_b"
	return 1
}

# --- dm and loop devices ---------------------------------------------------

DM=
dm_linear() {
	local name=$1 dev=$2 sz
	sz=$(blockdev --getsz "$dev") || return 1
	dmsetup create "$name" --table "0 $sz linear $dev 0" >/dev/null 2>&1 ||
		return 1
	_dm_names+=("$name")
	_dm_dev[$name]=$dev
	udevadm settle
	DM=/dev/mapper/$name
	[ -b "$DM" ] || wait_for test -b "$DM" ||
		DM=/dev/$(dmsetup info -c --noheadings -o blkdevname "$name")
	[ -b "$DM" ]
}

dm_fail() {
	local sz
	sz=$(blockdev --getsz "${_dm_dev[$1]}") || return 1
	dmsetup load "$1" --table "0 $sz error" && dmsetup resume "$1"
}

dm_heal() {
	local sz
	sz=$(blockdev --getsz "${_dm_dev[$1]}") || return 1
	dmsetup load "$1" --table "0 $sz linear ${_dm_dev[$1]} 0" &&
		dmsetup resume "$1"
}

LOOP=
loop_new() {
	local f
	f=$(mktemp /tmp/bcv-loop.XXXXXX) || return 1
	truncate -s "$1" "$f" || return 1
	[ -e /dev/loop-control ] || modprobe loop 2>/dev/null
	LOOP=$(losetup -f --show "$f") || return 1
	_loops+=("$LOOP:$f")
}

power_cut() {
	[ -n "${BCV_TOKEN:-}" ] || fail "power_cut: no BCV_TOKEN from tests/vm/init"
	printf '\001BCV-CUT:%s\n' "$BCV_TOKEN"
	# The runner kills QEMU within moments; nothing after this counts.
	sleep 600
	fail "power_cut: still alive after 600 s (no --kill-after?)"
}

wait_secs() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

copy_throttle() {
	local s
	s=$(vol_sysfs "$1") || return 0
	if [ -w "$s/bcv/copy_throttle" ]; then
		echo "$2" > "$s/bcv/copy_throttle"
	else
		note "no $s/bcv/copy_throttle: copies run at full speed"
	fi
	return 0
}

# End every session: wait for copies (bounded), split, terminate.
end_all_sessions() {
	local l std bcv state
	sess_lines | while read -r l; do
		std=$(_field "$l" std)
		bcv=$(_field "$l" bcv)
		state=$(_field "$l" state)
		case "$state" in
		syncinprog|restinprog)
			timeout 60 bcvctl wait "$std" "$bcv" --timeout 50 ;;
		esac
		[ "$state" = split ] || timeout 60 bcvctl split "$std" "$bcv"
		timeout 60 bcvctl terminate "$std" "$bcv"
	done
}

_sess_cleanup() {
	local n l
	for n in "${_dm_names[@]+"${_dm_names[@]}"}"; do
		dm_heal "$n"
	done
	if [ -e /dev/bcvctl ]; then
		end_all_sessions
		remove_all_volumes
	fi
	for n in "${_dm_names[@]+"${_dm_names[@]}"}"; do
		dmsetup remove "$n"
	done
	for l in "${_loops[@]+"${_loops[@]}"}"; do
		losetup -d "${l%%:*}"
		rm -f "${l#*:}"
	done
}

sess_setup() {
	on_exit _sess_cleanup
}
