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
