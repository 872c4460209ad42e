#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# Volumes and sessions survive a reboot (issue 11, bcv-design.rst section 10).
#
# Boot 1 (persist/reboot_1.sh): a STD r11s with a mirror leg, three BCVs
# (r11b3 with a fixed mirror), all established, r11b1 and r11b3 split,
# known writes on the STD and on both split BCVs, `bcvctl stop --all`.
# Boot 2 (persist/reboot_2.sh) on the same six disk images: udev alone
# brings the four volumes back (no assemble typed) with the same names,
# roles, legs, session states, changed-track counts and data (sha256 of
# every readable volume); a reestablish of r11b1 copies exactly the tracks
# written on either side, and so does an incremental restore from r11b3;
# the volumes are byte-identical afterwards.

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

D=()
for d in s0 s1 b1 b2 b3 b3m; do
	# shellcheck disable=SC2207
	D+=($(disk $d 64M))
done

boot_ok boot1 "${D[@]}" -- persist/reboot_1.sh
check_eq "boot 1 stopped every volume" "$(val boot1 stopped)" yes
p1=$(val boot1 predict_b1)
p3=$(val boot1 predict_b3)
check_eq "tracks written on r11s or r11b1" "$p1" 11
check_eq "tracks written on r11s or r11b3" "$p3" 10

boot boot2 "${D[@]}" -- persist/reboot_2.sh "$p1" "$p3"
[ "$BOOT_RC" = 0 ] || _bad "boot 2 exited $BOOT_RC, want 0"

# What boot 2 found before it changed anything is what boot 1 left.
check_eq "volumes (name:role:legs) after the reboot" "$(val boot2 vols)" \
	"$(val boot1 vols)"
check_eq "r11s's tracks after the reboot" "$(val boot2 tracks)" "$(val boot1 tracks)"
for b in r11b1 r11b2 r11b3; do
	for f in state std_changed_tracks bcv_changed_tracks invalid_tracks; do
		check_eq "r11s/$b $f after the reboot" \
			"$(val boot2 "r11s/$b.$f")" "$(val boot1 "r11s/$b.$f")"
	done
done
for v in r11s r11b1 r11b3; do
	w=$(val boot1 "sum.$v")
	[ -n "$w" ] || _bad "boot 1 printed no checksum of $v"
	check_eq "data of $v after the reboot (sha256)" "$(val boot2 "sum.$v")" "$w"
done
check_eq "copied by the reestablish of r11b1" \
	"$(val boot2 r11s/r11b1.copied_after)" "$p1"
check_eq "copied by the incremental restore from r11b3" \
	"$(val boot2 r11s/r11b3.copied_after)" "$p3"
pass
