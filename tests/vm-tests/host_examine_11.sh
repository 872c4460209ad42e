#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# `bcvctl examine` on every role, and a truncated device (issue 11).
#
# Boot 1 (persist/examine_1.sh): x11s (primary + mirror leg), x11b split
# from it (3 tracks written on the STD, 2 on the BCV), x11t alone; stop
# --all; `bcvctl examine DEV --json` and `--export` of each device, parsed
# here with python3:
#  - the JSON parses; name, role, leg position, the volume UUID (the same
#    on both legs of x11s, another on x11b), events (the same on both
#    legs), the clean flag after a stop, the STD's session record (x11b,
#    split) and the BCV's link (x11s); the table summary: 3 changed tracks
#    in the STD's column, 2 in the BCV's M4b;
#  - --export: exactly BCV_UUID, BCV_NAME, BCV_ROLE, BCV_LEG_POS,
#    BCV_EVENTS, matching the JSON.
# Then the fourth image is truncated by 1 MiB.  Boot 2
# (persist/examine_2.sh): x11s and x11b come back by udev, x11t does not
# and `bcvctl assemble` refuses it (one line) without changing the device.

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

D=()
for d in s0 s1 b t; do
	# shellcheck disable=SC2207
	D+=($(disk $d 64M))
done

boot_ok boot1 "${D[@]}" -- persist/examine_1.sh
for n in vda vdb vdc vdd; do
	check_eq "examine $n --json exit status" "$(val boot1 rc.J.$n)" 0
	check_eq "examine $n --export exit status" "$(val boot1 rc.X.$n)" 0
	vals boot1 J.$n > "$BCV_TMP/$n.json"
	vals boot1 X.$n > "$BCV_TMP/$n.export"
done

python3 - "$BCV_TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
bad = 0

def say(ok, msg):
    global bad
    print(("ok: " if ok else "FAIL: ") + msg)
    if not ok:
        bad += 1

js, ex = {}, {}
for n in ("vda", "vdb", "vdc", "vdd"):
    text = open("%s/%s.json" % (tmp, n)).read()
    try:
        js[n] = json.loads(text)
        say(True, "examine %s --json parses" % n)
    except ValueError as e:
        say(False, "examine %s --json does not parse (%s): %r" % (n, e, text[:300]))
        js[n] = {}
    kv = {}
    lines = [l for l in open("%s/%s.export" % (tmp, n)).read().splitlines() if l]
    for l in lines:
        k, _, v = l.partition("=")
        kv[k] = v
    ex[n] = kv
    keys = sorted(kv)
    want = sorted(["BCV_UUID", "BCV_NAME", "BCV_ROLE", "BCV_LEG_POS", "BCV_EVENTS"])
    say(keys == want and len(lines) == 5,
        "examine %s --export prints %s: %r" % (n, " ".join(want), lines))

def eq(what, got, want):
    say(got == want, "%s: %r (want %r)" % (what, got, want))

exp = {"vda": ("x11s", "std", 0), "vdb": ("x11s", "std", 1),
       "vdc": ("x11b", "bcv", 0), "vdd": ("x11t", "bcv", 0)}
for n, (name, role, pos) in exp.items():
    j = js[n]
    eq(n + " json valid", j.get("valid"), True)
    eq(n + " json name", j.get("name"), name)
    eq(n + " json role", j.get("role"), role)
    eq(n + " json leg_pos", j.get("leg_pos"), pos)
    eq(n + " json nr_legs", j.get("nr_legs"), 2 if name == "x11s" else 1)
    eq(n + " json clean (after a stop)", j.get("clean"), True)
    eq(n + " json track_size", j.get("track_size"), 65536)
    legs = j.get("legs") or []
    eq(n + " json legs' positions", [g.get("position") for g in legs],
       list(range(len(legs))))
    eq(n + " json: this leg", [g.get("this") for g in legs].index(True)
       if True in [g.get("this") for g in legs] else None, pos)
    c = j.get("copies") or []
    eq(n + " json copies' status", [x.get("status") for x in c], ["ok", "ok"])
    used = j.get("used_copy")
    say(used in (0, 1) and c and c[used].get("used") is True and
        c[used].get("seq") == j.get("seq") ==
        max(x.get("seq") or 0 for x in c),
        "%s: the copy used (%r) is the valid one with the higher seq: %r" %
        (n, used, c))
    eq(n + " export BCV_NAME", ex[n].get("BCV_NAME"), name)
    eq(n + " export BCV_ROLE", ex[n].get("BCV_ROLE"), role)
    eq(n + " export BCV_LEG_POS", ex[n].get("BCV_LEG_POS"), str(pos))
    eq(n + " export BCV_UUID = json uuid", ex[n].get("BCV_UUID"), j.get("uuid"))
    eq(n + " export BCV_EVENTS = json events", ex[n].get("BCV_EVENTS"),
       str(j.get("events")))
u = {n: ex[n].get("BCV_UUID") for n in exp}
say(bool(u["vda"]) and u["vda"] == u["vdb"],
    "both legs of x11s carry its UUID: %r %r" % (u["vda"], u["vdb"]))
say(len({u["vda"], u["vdc"], u["vdd"]}) == 3, "three volumes, three UUIDs: %r" % u)
eq("events of both legs of x11s", ex["vda"].get("BCV_EVENTS"),
   ex["vdb"].get("BCV_EVENTS"))
eq("legs of x11s (uuids) on both legs", [g.get("uuid") for g in js["vda"].get("legs", [])],
   [g.get("uuid") for g in js["vdb"].get("legs", [])])

# The STD's session record and the BCV's link.
for n in ("vda", "vdb"):
    recs = js[n].get("sessions")
    eq(n + ": x11s's session records",
       [(r.get("id"), r.get("bcv"), r.get("bcv_uuid"), r.get("state"),
         r.get("mm"), r.get("changed_tracks")) for r in recs or []],
       [(0, "x11b", u["vdc"], "split", -1, 3)])
    ct = js[n].get("changed_tracks") or []
    eq(n + ": changed tracks per PB column", ct, [3] + [0] * 15)
    eq(n + ": invalid tracks per position", js[n].get("invalid_tracks"), [0, 0, 0, 0])
l = js["vdc"].get("link") or {}
eq("x11b's link", (l.get("id"), l.get("std"), l.get("std_uuid"), l.get("state"),
   l.get("mm")), (0, "x11s", u["vda"], "split", -1))
eq("x11b's M4b count", js["vdc"].get("bcv_changed_tracks"), 2)
eq("x11t's link", js["vdd"].get("link"), None)
eq("x11t's M4b count", js["vdd"].get("bcv_changed_tracks"), 0)
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] || _bad "examine output checks failed (lines above)"

# Truncate the fourth disk by 1 MiB.
t=$(img t)
sz=$(stat -c %s "$t")
truncate -s $((sz - (1 << 20))) "$t" || fail "cannot truncate $t"
boot boot2 "${D[@]}" -- persist/examine_2.sh
[ "$BOOT_RC" = 0 ] || _bad "boot 2 exited $BOOT_RC, want 0"
check_eq "the truncated disk's size in the guest" "$(val boot2 t.sectors)" \
	$(( $(val boot1 t.sectors) - 2048 ))
pass
