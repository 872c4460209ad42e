#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host_powercut_11.sh, boot 3, after the power cut during writes: the
# volumes assemble (udev) and report the unclean shutdown; then the STD's
# legs, the attached p11b1 and the reestablished p11b2 end byte-identical
# to p11s.  Prepares the next cut: the p11b1 session is terminated (boot 4
# establishes it again, a long copy); stop --all.

# shellcheck source=tests/vm-tests/persist/common.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/powercut_loop.sh"

need_disks 4
need_sessions
need blockdev udevadm

settle_vols p11s p11b1 p11b2
for v in p11s p11b1 p11b2; do
	[ -b /dev/bcv/$v ] || fail "cannot go on without /dev/bcv/$v"
done
TS=$TRACK_SIZE
bcvctl list
bcvctl list --json
bcvctl query
bcvctl query --json
recovered_reported() {
	local v q
	for v in "$@"; do
		q=$(vol_flag "$v" recovered)
		if [ "$q" = true ]; then
			ok "list --json: $v recovered"
		else
			_bad "list --json: $v: recovered = '$q', want true"
		fi
		if bcvctl query "$v" 2>&1 | grep -q 'recovered after an unclean shutdown'; then
			ok "query $v: recovered after an unclean shutdown"
		else
			_bad "query $v does not say 'recovered after an unclean shutdown': $(bcvctl query "$v" 2>&1 | tr '\n' '|')"
		fi
	done
}
recovered_reported p11s p11b1 p11b2
put_sess p11s p11b1
put_sess p11s p11b2

# The split BCV as it came back (the host checks its flushed writes).
put area.B2 "$(area_sum /dev/bcv/p11b2 $((100 * TS)))"
# The STD: its legs resync, the attached p11b1 catches up.
wait_legs p11s
put area.S "$(area_sum /dev/bcv/p11s $((100 * TS)))"
bcv_must wait p11s p11b1
check_sess p11s p11b1 state=synchronized invalid_tracks=0
bcv_must reestablish p11s p11b2 --wait
check_sess p11s p11b2 state=synchronized invalid_tracks=0
bcv_must split p11s p11b1
bcv_must split p11s p11b2
cmp_vols "p11b1 is byte-identical to p11s" p11s p11b1
cmp_vols "p11b2 is byte-identical to p11s" p11s p11b2
len=$(vol_bytes p11s)
check_same "p11s's two legs hold the same data" "${DISKS[0]}" "${DISKS[1]}" "$len"

# For the cut during a copy: p11b1 gets a fresh (full) establish next time.
bcv_must terminate p11s p11b1
udevadm settle
bcv_must stop --all
[ -z "$(vol_names)" ] || _bad "volumes left after stop --all: $(vol_names)"
put stopped yes
pass
