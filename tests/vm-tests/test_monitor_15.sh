#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (commands and tables, not the stock kernel's
# version: make check-all or BCV_CHECK_ALL_KERNELS=1 runs it on 6.12 too)
#
# disks: 32M 32M 32M
#
# Events (issue 15): every session state change and the first I/O error of
# an episode raise a uevent (KOBJ_CHANGE of the volume's disk, BCV_EVENT
# ...), `bcvctl monitor` prints them, and a session's sysfs `state` wakes
# its pollers.
#
#  1. monitor --json (started once a session exists: its "exists" line
#     says it listens) sees exactly, for an ESTABLISH --wait, a SPLIT and a
#     REESTABLISH --wait of another pair: none -> syncinprog ->
#     synchronized -> split -> syncinprog -> synchronized, in that order,
#     with the pair's names and session ID; --count ends it (exit 0).
#  2. The text form of one event, exactly; --timeout with no event: exit 5.
#  3. A poller of sessions/ID/state (tests/sysfs_poll.c) is woken by the
#     SPLIT and reads "split".
#  4. An attached BCV whose disk fails (dm-error): STD writes succeed, and
#     monitor sees one error event for the STD's position, however many
#     writes fail.
#  5. The events do not make udev open the STD: with an ext4 file system
#     on it, a RESTORE right after each SPLIT (no udevadm settle) is never
#     refused as "open", 5 times.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 3
need_sessions
need dmsetup blockdev udevadm mkfs.ext4 sysfs_poll
sess_setup

dm_linear m15d "${DISKS[2]}" || fail "cannot make dm-linear m15d"
create_vol std m15s "${DISKS[0]}"
create_vol bcv m15a "${DISKS[1]}"
create_vol bcv m15b "$DM"
T=$(mktemp -d)
on_exit "rm -rf $T"
MPID=
on_exit '[ -z "$MPID" ] || kill "$MPID" 2>/dev/null'

# monitor_start FILE ARGS...: bcvctl monitor ARGS > FILE in the background,
# once it listens (its "exists" lines are out).
monitor_start() {
	local f=$1
	shift
	bcvctl monitor "$@" > "$f" 2> "$f.err" &
	MPID=$!
	wait_secs 20 grep -qs '"exists"\|^exists ' "$f" ||
		fail "monitor printed no exists line: $(cat "$f" "$f.err")"
}
# monitor_end: its exit status in MRC
monitor_end() {
	local i
	for i in $(seq 150); do
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$MPID" 2>/dev/null; then
		kill "$MPID"
		_bad "monitor did not end"
	fi
	wait "$MPID"
	MRC=$?
	MPID=
}

dd if=/dev/urandom of=/dev/bcv/m15s bs=1M count=4 oflag=direct status=none ||
	fail "cannot write m15s"
bcv_must establish m15s m15a --wait

# --- 1. establish, split, reestablish in JSON -------------------------------------

monitor_start "$T/j" --json --count 5 --timeout 120
l=$(grep '"exists"' "$T/j")
[[ $l == *'"std":"m15s","bcv":"m15a","session":0,"state":"synchronized"}' ]] ||
	_bad "exists line: $l"
bcv_must establish m15s m15b --wait
bcv_must split m15s m15b
bcv_must reestablish m15s m15b --wait
monitor_end
[ "$MRC" = 0 ] || _bad "monitor --count 5 exited $MRC"
got=$(grep '"event":"state"' "$T/j" | sed 's/"time":[0-9]*,//')
want='{"event":"state","std":"m15s","bcv":"m15b","session":1,"from":"none","state":"syncinprog"}
{"event":"state","std":"m15s","bcv":"m15b","session":1,"from":"syncinprog","state":"synchronized"}
{"event":"state","std":"m15s","bcv":"m15b","session":1,"from":"synchronized","state":"split"}
{"event":"state","std":"m15s","bcv":"m15b","session":1,"from":"split","state":"syncinprog"}
{"event":"state","std":"m15s","bcv":"m15b","session":1,"from":"syncinprog","state":"synchronized"}'
if [ "$got" = "$want" ]; then
	ok "monitor --json: the 5 state changes, in order"
else
	_bad "monitor --json printed:
$(cat "$T/j")"
fi

# --- 2. text; --timeout ------------------------------------------------------------

monitor_start "$T/t" --count 1 --timeout 120
bcv_must split m15s m15b
monitor_end
[ "$MRC" = 0 ] || _bad "monitor --count 1 exited $MRC"
l=$(grep -v '^exists ' "$T/t")
[ "$l" = "state m15s m15b session 1: synchronized -> split" ] ||
	_bad "monitor printed '$l'"
ok "monitor: '$l'"
expect_exit 5 bcvctl monitor --count 1 --timeout 1

# --- 3. a poller of sessions/ID/state ---------------------------------------------

d=$(sess_dir m15s m15a) || fail "no sysfs directory for m15s/m15a"
sysfs_poll "$d/state" 30000 > "$T/poll" 2> "$T/poll.err" &
ppid=$!
wait_secs 10 grep -q ready "$T/poll.err" || fail "sysfs_poll did not start"
bcv_must split m15s m15a
wait "$ppid"
prc=$?
[ "$prc" = 0 ] && [ "$(cat "$T/poll")" = split ] ||
	_bad "the poller of $d/state: exit $prc, read '$(cat "$T/poll")'"
ok "a poller of sessions/0/state woke and read 'split'"

# --- 4. one error event for a failing BCV ------------------------------------------

bcv_must reestablish m15s m15b --wait
monitor_start "$T/e" --json --timeout 8
dm_fail m15d || fail "cannot fail m15d"
for i in 1 2 3 4 5 6; do
	dd if=/dev/urandom of=/dev/bcv/m15s bs=64K seek=$i count=1 oflag=direct \
		status=none || _bad "STD write $i failed while its BCV's disk fails"
done
monitor_end
n=$(grep -c '"event":"error"' "$T/e")
l=$(grep '"event":"error"' "$T/e" | head -1)
[ "$n" = 1 ] && [[ $l == *'"volume":"m15s","position":2,'* ]] ||
	_bad "error events: $n, want 1 for m15s M2: $(cat "$T/e")"
ok "one error event: $l"
dm_heal m15d || fail "cannot heal m15d"
bcv_must wait m15s m15b
bcv_must split m15s m15b

# --- 5. udev does not open the STD for the events ----------------------------------

mkfs.ext4 -q -F /dev/bcv/m15s || fail "mkfs.ext4 m15s"
udevadm settle
for i in 1 2 3 4 5; do
	bcvctl reestablish m15s m15a --wait > /dev/null ||
		_bad "reestablish $i refused"
	bcvctl split m15s m15a > /dev/null || _bad "split $i refused"
	if ! bcvctl restore m15s m15a --incremental --wait > "$T/r" 2>&1; then
		_bad "restore $i right after a split: $(cat "$T/r")"
	fi
	bcvctl split m15s m15a > /dev/null || _bad "split after restore $i refused"
done
ok "5 restores right after a split, none refused"

pass
