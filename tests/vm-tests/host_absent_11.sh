#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# A BCV missing at boot (issue 11, bcv-design.rst section 10: "A STD assembles
# without its BCVs; writes to it are tracked for absent BCVs; an absent
# attached BCV is caught up incrementally when it returns").
#
# Boot 1 (persist/absent_1.sh): a11b established to a11s, stop --all.
# Boot 2 (persist/absent_2.sh) with a11s's disk only: a11s assembles by
# udev, keeps the session's state, says peer_absent (list --json), reads
# back its data, takes writes to 5 tracks, which the session counts as
# invalid (still to copy); stop --all.
# Boot 3 (persist/absent_3.sh) with both disks: a11b is re-linked and
# caught up: copied_tracks is exactly the 5 tracks (not the whole volume),
# and the two volumes are byte-identical.

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

# shellcheck disable=SC2207
DS=($(disk std 64M))
# shellcheck disable=SC2207
DB=($(disk bcv 64M))

boot_ok boot1 "${DS[@]}" "${DB[@]}" -- persist/absent_1.sh
check_eq "boot 1 stopped every volume" "$(val boot1 stopped)" yes

boot boot2 "${DS[@]}" -- persist/absent_2.sh
[ "$BOOT_RC" = 0 ] || _bad "boot 2 (BCV absent) exited $BOOT_RC, want 0"
check_eq "a11s's data with a11b absent" "$(val boot2 sum.before)" \
	"$(val boot1 sum.a11s)"
check_eq "a11s/a11b state with a11b absent" "$(val boot2 a11s/a11b.state)" \
	synchronized
check_eq "list --json: a11s's peer_absent with a11b absent" \
	"$(val boot2 peer_absent)" true
n=$(val boot2 written)
check_eq "tracks written with a11b absent" "$n" 5
check_eq "a11s/a11b invalid_tracks after those writes" \
	"$(val boot2 a11s/a11b.invalid_tracks)" 5
check_eq "boot 2 stopped every volume" "$(val boot2 stopped)" yes

boot boot3 "${DS[@]}" "${DB[@]}" -- persist/absent_3.sh "${n:-5}"
[ "$BOOT_RC" = 0 ] || _bad "boot 3 (BCV back) exited $BOOT_RC, want 0"
check_eq "tracks copied to a11b when it came back" \
	"$(val boot3 a11s/a11b.copied_tracks)" 5
check_eq "a11s's data after boot 3" "$(val boot3 sum.a11s)" "$(val boot2 sum.a11s)"
pass
