#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# Power cuts (issue 11: "never silently wrong"; bcv-design.rst section 10, crash
# rule).  tests/vm/run --kill-after SIGKILLs QEMU: what the guest's disks
# acknowledged is in the image files, nothing else.
#
# Boot 1 (persist/powercut_1.sh): p11s with a mirror leg, p11b1 attached,
#   p11b2 split; stop --all.
# Boot 2 (persist/powercut_2.sh), cut after KILL1 s: flushed 8 KiB writes
#   to p11s and to p11b2, each followed by a "@@ flushed WHO i SHA" line.
#   Here the host checks every flushed write in the images: on both legs
#   of p11s, and on p11b2.
# Boot 3 (persist/powercut_3.sh): the volumes assemble, list --json says
#   "recovered", query says "recovered after an unclean shutdown"; what
#   p11b2 and p11s show of the written area is what the images hold; after
#   the leg resync, the attached p11b1's catch-up and a reestablish of
#   p11b2, both BCVs and both legs are byte-identical to p11s.
# Boot 4 (persist/powercut_4.sh), cut by the guest itself: flushed writes
#   go to p11s; a throttled full establish of p11b1 and a reestablish of
#   p11b2 start, and once a quarter of p11b1 is copied the guest cuts its
#   power (power_cut; KILL2 s is only the upper bound); the host checks
#   that p11b1 was still copying (its last reported state).
# Boot 5 (persist/powercut_5.sh): recovered again, the copies finish,
#   every BCV and leg byte-identical to p11s; the flushed writes of boot 4
#   are there (images and volume).  Then new data on p11b2.
# Boot 6 (persist/powercut_6.sh), cut by the guest: flushed writes go to
#   the split p11b1; a throttled full restore of p11s from p11b2 starts and
#   the guest cuts its power once a sixteenth of it is done; the host checks
#   that it was still running.
# Boot 7 (persist/powercut_7.sh): recovered, the restore goes on and ends
#   (restored); p11s holds p11b2's data (sha256 from boot 5), both legs
#   alike, p11b2 byte-identical after a split; p11b1's flushed writes of
#   boot 6 are in its image and on the volume.

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

KILL1=$((35 * SLOW))
KILL2=$((300 * SLOW))	# an upper bound: the guest cuts first
REG=8192
NREG=600

D=()
for d in s0 s1 b1 b2; do
	# shellcheck disable=SC2207
	D+=($(disk $d 64M))
done

# check_flushed TAG WHO IMG...: every "@@ flushed WHO I SHA" of boot TAG
# is in each image at BASE + I * 8 KiB ("@@ base WHO BASE").  Prints
# "N BAD [first bad]".
check_flushed() {
	python3 - "$BCV_TMP/$1.out" "$2" "${@:3}" <<'PY'
import hashlib, sys
out, who, imgs = sys.argv[1], sys.argv[2], sys.argv[3:]
base, regs = None, {}
for line in open(out, errors="replace"):
    f = line.split()
    if len(f) == 4 and f[:3] == ["@@", "base", who]:
        base = int(f[3])
    if len(f) == 5 and f[:3] == ["@@", "flushed", who] and len(f[4]) == 64:
        regs[int(f[3])] = f[4]
bad = []
for img in imgs:
    with open(img, "rb") as fh:
        for i, sha in sorted(regs.items()):
            fh.seek(base + i * 8192)
            if hashlib.sha256(fh.read(8192)).hexdigest() != sha:
                bad.append("%s:%d" % (img.rsplit("/", 1)[-1], i))
print(len(regs), len(bad), " ".join(bad[:10]))
PY
}

# area_sum IMG BASE: sha256 of the checked area of an image.
area_sum() {
	python3 - "$1" "$2" $((NREG * REG)) <<'PY'
import hashlib, sys
with open(sys.argv[1], "rb") as fh:
    fh.seek(int(sys.argv[2]))
    print(hashlib.sha256(fh.read(int(sys.argv[3]))).hexdigest())
PY
}

# flushed_ok TAG WHO MIN IMG...: recorded check that at least MIN flushed
# writes were seen and all are in every image.
flushed_ok() {
	local n bad first
	read -r n bad first < <(check_flushed "$1" "$2" "${@:4}")
	if [ "${n:-0}" -lt "$3" ]; then
		_bad "boot $1: only ${n:-0} flushed writes of $2 before the cut, want >= $3"
	elif [ "$bad" != 0 ]; then
		_bad "boot $1: $bad flushed writes of $2 missing from the images: $first"
	else
		ok "boot $1: all $n flushed writes of $2 are in $(for i in "${@:4}"; do basename "$i"; done | tr '\n' ' ')"
	fi
}

# cut TAG KILL SCRIPT: a boot that the power cut ends (SCRIPT gets KILL
# as its argument); the guest must have reached its write loop (else one
# retry with twice the time).
cut() {
	local tag=$1 k=$2 script=$3
	boot "$tag" "${D[@]}" --kill-after "$k" -- "$script" "$k"
	if [ "$BOOT_RC" = 137 ] && ! has "$tag" looping; then
		note "the guest did not reach its write loop in $k s: again with $((2 * k)) s"
		boot "$tag" "${D[@]}" --kill-after $((2 * k)) -- "$script" $((2 * k))
	fi
	[ "$BOOT_RC" = 137 ] || fail "boot $tag exited $BOOT_RC, want 137 (the power cut)"
	has "$tag" looping || fail "boot $tag: the guest never reached its write loop"
}

TS=65536
S0=$(img s0) S1=$(img s1) B2=$(img b2)

boot_ok boot1 "${D[@]}" -- persist/powercut_1.sh
check_eq "boot 1 stopped every volume" "$(val boot1 stopped)" yes

# --- a cut during writes ---------------------------------------------------
cut boot2 $KILL1 persist/powercut_2.sh
check_eq "base of p11s's written area" "$(vals boot2 base | awk '$1 == "S" { print $2 }')" $((100 * TS))
flushed_ok boot2 S 5 "$S0" "$S1"
flushed_ok boot2 B2 5 "$B2"
b2area=$(area_sum "$B2" $((100 * TS)))

boot boot3 "${D[@]}" -- persist/powercut_3.sh
[ "$BOOT_RC" = 0 ] || _bad "boot 3 exited $BOOT_RC, want 0"
check_eq "p11b2's written area as assembled = its image after the cut" \
	"$(val boot3 area.B2)" "$b2area"
check_eq "p11s's written area = its primary leg's image" \
	"$(val boot3 area.S)" "$(area_sum "$S0" $((100 * TS)))"
check_eq "p11s's written area = its mirror leg's image" \
	"$(val boot3 area.S)" "$(area_sum "$S1" $((100 * TS)))"
flushed_ok boot2 S 5 "$S0" "$S1"
check_eq "boot 3 stopped every volume" "$(val boot3 stopped)" yes

# --- a cut during a copy -----------------------------------------------------
cut boot4 $KILL2 persist/powercut_4.sh
has boot4 copies_started ||
	_bad "boot 4: the copies did not start before the cut"
has boot4 cut_now || _bad "boot 4: the guest did not cut its power mid-copy"
st=$(val boot4 b1_state)
case "$st" in
"syncinprog "[1-9]*) ok "p11b1 was still copying at the cut: $st" ;;
*) _bad "p11b1 was not copying at the cut (state, invalid tracks: '$st')" ;;
esac
flushed_ok boot4 S 5 "$S0" "$S1"

boot boot5 "${D[@]}" -- persist/powercut_5.sh
[ "$BOOT_RC" = 0 ] || _bad "boot 5 exited $BOOT_RC, want 0"
flushed_ok boot4 S 5 "$S0" "$S1"
check_eq "p11s's written area (boot 4) = its primary leg's image" \
	"$(val boot5 area.S)" "$(area_sum "$S0" $((300 * TS)))"
check_eq "boot 5 stopped every volume" "$(val boot5 stopped)" yes

# --- a cut during a restore ----------------------------------------------------
cut boot6 $KILL2 persist/powercut_6.sh
check_eq "p11b2's data at boot 6" "$(val boot6 sum.b2)" "$(val boot5 sum.b2)"
has boot6 copies_started || _bad "boot 6: the restore did not start before the cut"
has boot6 cut_now || _bad "boot 6: the guest did not cut its power mid-restore"
st=$(val boot6 b2_state)
case "$st" in
"restinprog "[1-9]*) ok "the restore was still running at the cut: $st" ;;
*) _bad "the restore was not running at the cut (state, invalid tracks: '$st')" ;;
esac
flushed_ok boot6 B1 5 "$(img b1)"

boot boot7 "${D[@]}" -- persist/powercut_7.sh
[ "$BOOT_RC" = 0 ] || _bad "boot 7 exited $BOOT_RC, want 0"
check_eq "p11s after the restore = p11b2 before it" "$(val boot7 sum.s)" \
	"$(val boot5 sum.b2)"
check_eq "p11b1's written area (boot 6) = its image" "$(val boot7 area.B1)" \
	"$(area_sum "$(img b1)" $((300 * TS)))"
flushed_ok boot6 B1 5 "$(img b1)"
check_eq "boot 7 stopped every volume" "$(val boot7 stopped)" yes
pass
