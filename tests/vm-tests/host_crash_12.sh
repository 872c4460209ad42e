#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# Power cuts at random points (issue 12, bcv-design.rst section 10: the crash rule
# with write intent).  Each seed is one boot that first checks what the
# previous cut left and then runs a workload drawn from the seed until the
# guest cuts its own power (persist/crash_run.sh):
#   - flushed 8 KiB writes to the STD p12s (two legs) and to the split BCV
#     p12b1, each logged as "@@ flushed WHO I SHA" once fsync returned;
#   - commands on p12b2 drawn from the seed: reestablish, split,
#     incremental restore (forced: the STD is in use), with throttled
#     copies so that some are running at the cut;
#   - a 64 KiB write to p12s not flushed, each round (one of 8 tracks);
#   - on even seeds, last: p12b2 brought to synchronized, a write to p12s
#     not flushed, a clean stop of p12s with p12b2 attached;
#   - the cut after a number of rounds drawn from the seed.
# After each cut, here on the host: every logged write is in the images
# (both legs of p12s, p12b1's) -- for p12s only those since the last
# restore began, since a restore replaces the STD's data.  In the next
# boot, in the guest: the volumes say they were recovered and how many
# tracks recovery marked; p12b1's reestablish copies at most the tracks
# written since the last clean state (this boot's writes and what a
# restore marked) plus the tracks recovery marked (economy), and leaves
# p12b1 byte-identical to p12s (soundness: a track the tables called
# unchanged but different would survive the copy); p12b2 ends identical
# too, and both legs of p12s.
#
# Seeds: BCV_CRASH_SEEDS (default 3) seeds from BCV_CRASH_BASE (default 1):
# make check runs 3, make check-crash 100 from a random base, printed.

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

SEEDS=${BCV_CRASH_SEEDS:-3}
BASE=${BCV_CRASH_BASE:-1}
PROBE=${CRASH_PROBE:-0}	# host_volatile_22.sh: a fifth disk, the probe
KILL=$((240 * SLOW))	# an upper bound: the guest cuts first
TS=65536
REG=8192
note "seeds $BASE to $((BASE + SEEDS - 1)) (BCV_CRASH_BASE=$BASE BCV_CRASH_SEEDS=$SEEDS)"

D=()
for d in s0 s1 b1 b2; do
	# shellcheck disable=SC2207
	D+=($(disk $d 64M))
done
# shellcheck disable=SC2207
[ "$PROBE" = 1 ] && D+=($(disk probe 4M))

# probe_ok TAG: the probe disk's image holds the write flushed before the
# cut of boot TAG and not the one that was not (a volatile cache that the
# cut emptied; the probe's area was zeros before).
probe_ok() {
	local f u
	f=$(dd if="$(img probe)" bs=65536 count=1 status=none | sha256sum | cut -c1-64)
	u=$(dd if="$(img probe)" bs=65536 skip=16 count=1 status=none | sha256sum | cut -c1-64)
	check_eq "boot $1: the probe's flushed write is in its image" "$f" "$(val "$1" probe_flushed)"
	if [ "$u" = "$(val "$1" probe_unflushed)" ]; then
		_bad "boot $1: the probe's unflushed write survived the cut: the disk cache is not volatile"
	else
		ok "boot $1: the probe's unflushed write was lost with the cut"
	fi
	dd if=/dev/zero of="$(img probe)" bs=65536 count=17 conv=notrunc status=none
}

# check_flushed TAG WHO FROM IMG...: every "@@ flushed WHO I SHA" of boot
# TAG with I >= FROM is in each image at BASE + I * 8 KiB.  Prints "N BAD
# LAST [first bad]" (LAST: the highest I logged, -1 if none).
check_flushed() {
	python3 - "$BCV_TMP/$1.out" "$2" "$3" "${@:4}" <<'PY'
import hashlib, sys
out, who, frm, imgs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
base, regs, last = None, {}, -1
for line in open(out, errors="replace"):
    f = line.split()
    if len(f) == 4 and f[:3] == ["@@", "base", who]:
        base = int(f[3])
    if len(f) == 5 and f[:3] == ["@@", "flushed", who] and len(f[4]) == 64:
        last = max(last, int(f[3]))
        if int(f[3]) >= frm:
            regs[int(f[3])] = f[4]
bad = []
for img in imgs:
    with open(img, "rb") as fh:
        for i, sha in sorted(regs.items()):
            fh.seek(base + i * 8192)
            if hashlib.sha256(fh.read(8192)).hexdigest() != sha:
                bad.append("%s:%d" % (img.rsplit("/", 1)[-1], i))
print(len(regs), len(bad), last, " ".join(bad[:10]))
PY
}

# guest_failures TAG: the guest's own FAIL lines (a boot that ends in a
# power cut never reaches pass()).
guest_failures() {
	local n
	n=$(grep -c '^FAIL' "$BCV_TMP/$1.out")
	if [ "$n" != 0 ]; then
		_bad "boot $1: $n check(s) failed in the guest: $(grep -m 3 '^FAIL' "$BCV_TMP/$1.out" | tr '\n' '|')"
	else
		ok "boot $1: the guest's checks passed"
	fi
}

boot_ok setup "${D[@]}" -- persist/crash_setup.sh
check_eq "the setup stopped every volume" "$(val setup stopped)" yes

bound=0
want_rec=true
for ((k = 0; k < SEEDS; k++)); do
	seed=$((BASE + k))
	tag=seed$seed
	boot "$tag" "${D[@]}" --kill-after "$KILL" -- persist/crash_run.sh "$seed" "$bound"
	[ "$BOOT_RC" = 137 ] || _bad "boot $tag exited $BOOT_RC, want 137 (the power cut)"
	has "$tag" cut_now || _bad "boot $tag: the guest did not cut its power"
	guest_failures "$tag"
	[ "$PROBE" = 1 ] && probe_ok "$tag"
	# p12s was recovered unless the last boot stopped it before its cut.
	[ "$k" = 0 ] || check_eq "boot $tag: the volumes say they were recovered" \
		"$(val "$tag" recovered)" "$want_rec"
	want_rec=true
	has "$tag" std_stopped && want_rec=false
	note "seed $seed: $(val "$tag" rounds) rounds, $(vals "$tag" unflushed | wc -l) unflushed writes, commands: $(vals "$tag" cmd | tr '\n' ',') recovered tracks: $(val "$tag" rt.p12s) (p12s), copied by p12b1's reestablish: $(val "$tag" copied.b1)"

	# The STD's writes from the last restore's start on must be there.
	from=0
	r=$(vals "$tag" cmd | awk '$2 == "restore" { n = $1 } END { print n + 0 }')
	[ "$r" -gt 0 ] && from=$r
	read -r n bad lastS first < <(check_flushed "$tag" S "$from" "$(img s0)" "$(img s1)")
	if [ "$bad" != 0 ]; then
		_bad "boot $tag: $bad flushed writes of p12s missing from its legs' images: $first"
	else
		ok "boot $tag: the $n flushed writes of p12s since round $from are on both legs"
	fi
	read -r n bad lastB first < <(check_flushed "$tag" B1 0 "$(img b1)")
	if [ "$bad" != 0 ]; then
		_bad "boot $tag: $bad flushed writes of p12b1 missing from its image: $first"
	else
		ok "boot $tag: the $n flushed writes of p12b1 are in its image"
	fi
	# What the next boot's reestablish of p12b1 may copy, besides what
	# recovery marks: the tracks written here (a round in flight at
	# most, a track more for alignment) and what restores marked.
	marks=$(vals "$tag" restore_marks | awk '{ s += $1 } END { print s + 0 }')
	unfl=$(vals "$tag" unflushed | sort -u | wc -l)
	bound=$(( ((lastS + 2) * REG + TS - 1) / TS + 1 + \
		  ((lastB + 2) * REG + TS - 1) / TS + 1 + marks + unfl ))
done

boot final "${D[@]}" -- persist/crash_run.sh 0 "$bound"
[ "$BOOT_RC" = 0 ] || _bad "the last boot exited $BOOT_RC, want 0"
check_eq "the last boot: the volumes say they were recovered" "$(val final recovered)" "$want_rec"
check_eq "the last boot stopped every volume" "$(val final stopped)" yes
pass
