# SPDX-License-Identifier: GPL-2.0
#
# Sourced by every tests/vm-tests/host_<group>_NN.sh: a test that runs on
# the HOST and boots the test guest several times (tests/vm/run), usually
# on the same disk images, with small guest scripts of its own (kept in
# tests/vm-tests/persist/; they source persist/common.sh).  tests/check
# runs it with bash and:
#   BCV_KERNEL  the kernel argument for the runner (6.1, 6.12, debug ...)
#   BCV_RUNNER  tests/vm/run
#   BCV_TMP     a fresh scratch directory, removed afterwards
# Run by hand:
#   BCV_KERNEL=6.1 BCV_RUNNER=tests/vm/run BCV_TMP=$(mktemp -d) \
#       bash tests/vm-tests/host_reboot_11.sh
#
# Result: exit 0 passed, 1 failed, 77 skipped (with a "SKIP: reason" line).
#
#   disk NAME SIZE        "--disk-file $BCV_TMP/NAME.img:SIZE" (words)
#   img NAME              the path of that image
#   boot TAG [RUNNER-OPTION]... -- SCRIPT [ARG]...
#                         boot once; the output (guest script and runner)
#                         goes to $BCV_TMP/TAG.out and to our stdout,
#                         indented; BOOT_RC is the runner's exit status
#   boot_ok TAG ...       boot, which must exit 0 (else the test ends)
#   val TAG KEY           VALUE of the last "@@ KEY VALUE" line the guest
#                         printed in boot TAG (empty if none)
#   vals TAG KEY          every such VALUE, one per line
#   has TAG KEY           status 0 iff boot TAG printed an "@@ KEY" line
#   check_eq MSG GOT WANT recorded comparison
#   fail/ok/note/skip/pass as in test_common.sh
#   SLOW                  1, or 4 on the debug kernel: multiply timings

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
_nfail=0

: "${BCV_KERNEL:=6.1}"
: "${BCV_RUNNER:=$HERE/../vm/run}"
if [ -z "${BCV_TMP:-}" ]; then
	BCV_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX") || exit 1
	trap 'rm -rf "$BCV_TMP"' EXIT
fi
mkdir -p "$BCV_TMP" || exit 1
SLOW=1
[ "$BCV_KERNEL" = debug ] && SLOW=4

note() {
	echo "# $*"
}

ok() {
	echo "ok: $*"
}

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

_bad() {
	echo "FAIL: $* ($(_where))"
	_nfail=$((_nfail + 1))
}

fail() {
	echo "FAIL: $* ($(_where))"
	exit 1
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

check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1: $2"
		return 0
	fi
	_bad "$1: got '$2', want '$3'"
	return 1
}

disk() {
	echo "--disk-file $BCV_TMP/$1.img:$2"
}

img() {
	echo "$BCV_TMP/$1.img"
}

BOOT_RC=
boot() {
	local tag=$1 opts=() start
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -ge 2 ] || fail "boot $tag: no script"
	shift
	note "boot $tag: $(basename "$BCV_RUNNER") --kernel $BCV_KERNEL ${opts[*]} $*"
	start=$SECONDS
	"$BCV_RUNNER" --kernel "$BCV_KERNEL" "${opts[@]}" "$HERE/$1" "${@:2}" \
		</dev/null 2>&1 | tee "$BCV_TMP/$tag.out" | sed 's/^/  | /'
	BOOT_RC=${PIPESTATUS[0]}
	note "boot $tag: exit $BOOT_RC after $((SECONDS - start)) s"
}

boot_ok() {
	boot "$@"
	[ "$BOOT_RC" = 0 ] || fail "boot $1 exited $BOOT_RC, want 0"
}

vals() {
	local f=$BCV_TMP/$1.out
	[ -r "$f" ] || return 0
	awk -v k="$2" '$1 == "@@" && $2 == k {
		sub(/^@@ [^ ]+ ?/, ""); print }' "$f"
}

val() {
	vals "$1" "$2" | tail -n 1
}

has() {
	[ -r "$BCV_TMP/$1.out" ] &&
		awk -v k="$2" '$1 == "@@" && $2 == k { f = 1 } END { exit !f }' \
			"$BCV_TMP/$1.out"
}

command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
[ -x "$BCV_RUNNER" ] || fail "no runner $BCV_RUNNER"
note "$TEST_NAME on kernel $BCV_KERNEL, scratch $BCV_TMP"
