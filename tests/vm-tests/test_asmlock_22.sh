#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An assembly's table I/O holds up no other command (issue 22, defect 23).
#
# check-kernels: 6.1
#
# disks: 1G 256M
#
# An assembly reads every table of a volume (hundreds of MiB at scale),
# merges, recovers and writes them again before the volume appears.  It
# must not hold bcv_lock meanwhile: every other command (list, query,
# another assembly, stop --all at shutdown) would wait in D state for it.
#
# The assembly is held in the middle of its table reads, for as long as
# the test wants, without any timing: the STD's leg is a dm-linear device
# whose metadata area (the tables, between the data and the superblocks)
# maps to a second dm device, "as22tab", which the test suspends.  The
# superblocks stay readable (bcvctl and the kernel read them first); the
# first table read then waits until the test resumes as22tab.  While the
# assembly waits there (the leg shows a read in flight):
#   - bcvctl list and query complete and do not show the volume;
#   - another volume assembles, and stop --all stops it (not the one
#     being assembled, which is not there yet);
#   - the volume cannot be stopped or removed (not there: exit 3), nor
#     assembled a second time (its leg is claimed: exit 4), nor can a
#     volume be created on its leg;
#   - the assembly is still waiting after all of that (the ordering this
#     test asserts: nothing above waited for it).
# Then as22tab resumes: the assembly completes, the volume holds the data
# written before its stop.  Each step has a liveness bound (a command
# that waits for the assembly would never finish while as22tab is
# suspended); none is a timing threshold.

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need dmsetup blockdev timeout dd udevadm
sess_setup

LIMIT=30		# liveness bound of each command, seconds
NOAUTO=/run/bcv-no-auto-assemble
touch "$NOAUTO"
on_exit "rm -f $NOAUTO"

D0=${DISKS[0]}
D1=${DISKS[1]}
TS=4096

# --- the leg with a metadata area that can be suspended ----------------------

sz=$(blockdev --getsz "$D0")
sz=$((sz / 8 * 8))
bcv_layout "$sz" "$TS" || fail "no layout for $D0"
tab=$LAYOUT_DATA			# the tables start past the data area
sbs=$LAYOUT_SB				# the two superblock copies
tablen=$((sbs - tab))
note "leg of $sz sectors: data 0..$((tab - 1)), tables $tab..$((sbs - 1)), superblocks $sbs..$((sz - 1))"
dmsetup create as22tab --table "0 $tablen linear $D0 $tab" ||
	fail "cannot create as22tab"
on_exit "dmsetup resume as22tab; dmsetup remove as22tab"
dmsetup create as22leg --table "0 $tab linear $D0 0
$tab $tablen linear /dev/mapper/as22tab 0
$sbs $((sz - sbs)) linear $D0 $sbs" || fail "cannot create as22leg"
on_exit "dmsetup remove as22leg"
udevadm settle
LEG=/dev/mapper/as22leg
[ -b "$LEG" ] || wait_for test -b "$LEG" || fail "no $LEG"
LEGK=$(kname "$LEG")

create_vol std as22std "$LEG" --track-size "$TS"
data=$(pattern as22 1048576)
dd if="$data" of=/dev/bcv/as22std bs=1M count=1 oflag=direct status=none ||
	fail "cannot write as22std"
create_vol bcv as22oth "$D1" --track-size "$TS"
bcv_must stop as22std
bcv_must stop as22oth
udevadm settle
[ -z "$(vol_names)" ] || fail "volumes left after the stops: $(vol_names)"

# --- the assembly, held in its table reads ------------------------------------

# in_flight DEV: reads in flight on DEV (its kernel name).
in_flight() {
	local r
	read -r r _ < "/sys/block/$1/inflight" || return 1
	echo "$r"
}
reading() {
	[ "$(in_flight "$LEGK")" -gt 0 ]
}
asm_running() {
	kill -0 "$apid" 2>/dev/null && reading
}

dmsetup suspend as22tab || fail "cannot suspend as22tab"
timeout -k 5 600 bcvctl assemble "$LEG" > "$T/asm.out" 2> "$T/asm.err" &
apid=$!
# Bounded: the superblock reads come first, then the first table read.
for ((i = 0; i < LIMIT * 10; i++)); do
	reading && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.1
done
reading || {
	dmsetup resume as22tab
	wait "$apid"
	fail "the assembly never read its tables (exit $?): $(cat "$T/asm.out" "$T/asm.err")"
}
ok "the assembly of as22std waits in its first table read ($(in_flight "$LEGK") in flight on $LEGK)"

# Each command under a liveness bound.  One that waits for the assembly
# sleeps on a mutex in D state, which no signal ends (timeout(1) would
# wait for it forever): it runs in the background, and if it is not done
# within the bound the test says so, resumes as22tab (which lets it and
# the assembly finish) and fails.
while_held() {
	local what=$1 pid i rc
	shift
	"$@" > "$OUT" 2> "$ERR" &
	pid=$!
	for ((i = 0; i < LIMIT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		_bad "$what: still waiting after $LIMIT s while the assembly of as22std waits for its tables (issue 22: bcv_lock held across all table I/O at assembly)"
		ps -o pid,stat,args | grep -E 'bcvctl|PID' | sed 's/^/    /'
		cat "/proc/$pid/stack" 2>/dev/null | sed 's/^/    /'
		dmsetup resume as22tab
		wait "$pid"
		wait "$apid"
		fail "cannot go on: '$*' waited for the assembly"
	fi
	wait "$pid"
	rc=$?
	return $rc
}

while_held "bcvctl list" bcvctl list ||
	_bad "bcvctl list failed: $(cat "$ERR")"
if grep -q as22std "$OUT"; then
	_bad "bcvctl list shows as22std before its assembly ended: $(cat "$OUT")"
else
	ok "bcvctl list completed while the assembly waits, without as22std"
fi
while_held "bcvctl query" bcvctl query ||
	_bad "bcvctl query failed: $(cat "$ERR")"
ok "bcvctl query completed while the assembly waits"

while_held "bcvctl assemble $D1" bcvctl assemble "$D1" ||
	_bad "assembling as22oth failed: $(cat "$ERR")"
[ "$(vol_names)" = as22oth ] && ok "another volume assembled meanwhile: $(cat "$OUT")" ||
	_bad "volumes while the assembly waits: [$(vol_names | tr '\n' ' ')], want [as22oth]"

rc=0
while_held "bcvctl stop as22std" bcvctl stop as22std || rc=$?
[ $rc -eq 3 ] && ok "stop of as22std: not there yet (exit 3): $(cat "$ERR")" ||
	_bad "stop of as22std while it is being assembled: exit $rc, want 3: $(cat "$ERR")"
rc=0
while_held "bcvctl remove as22std" bcvctl remove as22std || rc=$?
[ $rc -eq 3 ] && ok "remove of as22std: not there yet (exit 3)" ||
	_bad "remove of as22std while it is being assembled: exit $rc, want 3: $(cat "$ERR")"
rc=0
while_held "bcvctl assemble $LEG (twice)" bcvctl assemble "$LEG" || rc=$?
[ $rc -eq 4 ] && ok "a second assembly of $LEG: its leg is in use (exit 4): $(cat "$ERR")" ||
	_bad "a second assembly of $LEG while the first runs: exit $rc, want 4: $(cat "$ERR")"
rc=0
while_held "bcvctl create on $LEG" bcvctl create std as22new "$LEG" --force || rc=$?
[ $rc -eq 4 ] && ok "create on $LEG: in use (exit 4)" ||
	_bad "create on the leg of a volume being assembled: exit $rc, want 4: $(cat "$ERR")"

while_held "bcvctl stop --all" bcvctl stop --all ||
	_bad "bcvctl stop --all failed: $(cat "$ERR")"
[ -z "$(vol_names)" ] && ok "stop --all completed while the assembly waits (as22oth stopped)" ||
	_bad "volumes after stop --all: $(vol_names | tr '\n' ' ')"

if asm_running; then
	ok "all of the above completed while the assembly of as22std still waited in its table reads"
else
	_bad "the assembly of as22std did not wait for as22tab: it ended or stopped reading before the resume"
fi

# --- resumed: the assembly completes --------------------------------------------

dmsetup resume as22tab || fail "cannot resume as22tab"
wait "$apid"
rc=$?
[ $rc -eq 0 ] && ok "assembly of as22std: $(cat "$T/asm.out")" ||
	_bad "assembly of as22std after the resume: exit $rc: $(cat "$T/asm.out" "$T/asm.err")"
udevadm settle
[ -e /dev/bcv/as22std ] || wait_for test -e /dev/bcv/as22std
got=$(dd if=/dev/bcv/as22std bs=1M count=1 iflag=direct status=none | md5sum)
[ "$got" = "$(md5sum < "$data")" ] && ok "as22std holds the data written before its stop" ||
	_bad "as22std's first MiB differs from what was written before its stop"
bcv_do stop as22std
pass
