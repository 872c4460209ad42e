#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1   (make check; tests/check NAME runs it on any kernel)
#
# disks: 64M 1G 128M
#
# A crash-state explorer for the real module (issue 22; bcv-design.rst
# sections 6 and 10.3: no acknowledged write lost, the crash rule).  Every
# leg of a STD with a mirror (cxp), a BCV (cxb1) and a BCV with a fixed
# mirror (cxb2) sits on its own dm-log-writes device, each with its own
# log.  A workload runs: host writes with and without fsync, establish,
# a consistent split, an aborted reestablish, reestablish, the STD
# stopped with a BCV attached, a BCV stopped while its reestablish copies,
# an incremental restore, a protected restore taking whole-track writes
# while paused and a part-track write once resumed, a leg failing writes,
# then a flush, and stops.
# Meanwhile cuts are taken, in the background every 0.1-0.3 s and at the
# moments named below: every log-writes device suspended (nothing in
# flight anywhere), the same mark in every log, resumed (crashx cut), so
# that each mark is one instant on every device.  A crash at a cut
# leaves on each leg what its log says is durable there (everything
# logged before the mark) and any subset of the writes that had
# completed but not been flushed (log_replay --crash: none, all, or a
# random half).  Each crash state chosen is replayed onto scratch legs,
# assembled, and must show:
#   a. durability: every block of the STD and of each split BCV holds a
#      version that a crash at that cut may leave (crashx check, from the
#      event log: a write whose fsync returned before the cut, and not
#      replaced since by a restore, is there; nothing appears that was
#      not written);
#   b. soundness of the tables: once every session has finished its copy,
#      a synchronized BCV split off, a split BCV reestablished or restored
#      incrementally (drawn from the seed), a protected restore repeated
#      incrementally, each BCV is byte-identical to the STD (a track the
#      tables called unchanged but different would stay different);
#   c. the STD's legs, and the BCV's, are identical once resynced.
# The named moments are where bcv's metadata must keep up with its data:
# right after the STD's clean stop with a BCV attached (the BCV's cache
# holds mirrored writes the STD's tables call valid there), a BCV stopped
# while copying, writes acknowledged (fsync) during a protected restore
# less than a checkpoint interval before the crash, a write beside a
# failing leg, a failed flush.
#
# test_crashx_22.sh [all] [SEED=N] [SUBSETS=N]
#   make check: the named moments that matter most (the "flush point"
#   subset: no unflushed write kept) and 3 background cuts drawn from
#   SEED (default 1), one random subset each.  "all" (make check-crash):
#   every cut, with no unflushed write kept, all kept, and SUBSETS
#   (default 2) random halves drawn from SEED.
#   vda: the legs' data under the logs; vdb: the logs; vdc: the replayed
#   legs (a base per leg, replayed up to the cut, and its copy checked).

# shellcheck source=tests/vm-tests/persist/common.sh
PERSIST_KEEP=0
. "$(dirname "$0")/persist/common.sh"

need_disks 3
need_sessions
need dmsetup log_replay crashx udevadm blockdev cmp
modprobe dm-log-writes 2>/dev/null
modprobe dm-flakey 2>/dev/null
dmsetup targets | grep -q '^log-writes' || skip "no dm-log-writes target"
dmsetup targets | grep -q '^flakey' || skip "no dm-flakey target"

ALL=0 SEED=1 SUBSETS=2
for a in "$@"; do
	case "$a" in
	all)		ALL=1 ;;
	SEED=*)		SEED=${a#SEED=} ;;
	SUBSETS=*)	SUBSETS=${a#SUBSETS=} ;;
	*)		fail "unknown argument '$a'" ;;
	esac
done
note "SEED=$SEED$([ $ALL = 1 ] && echo " all SUBSETS=$SUBSETS")"

# The replayed legs are assembled here, not by udev.
touch /run/bcv-no-auto-assemble || fail "cannot turn udev's assembly off"

DATA=${DISKS[0]} LOGD=${DISKS[1]} REP=${DISKS[2]}
NL=5				# legs: cxp M1 M2, cxb1, cxb2 M1 M2
SL=$((8 << 20))			# bytes per leg
SLS=$((SL / 512))
LSL=$((160 << 20))		# bytes per log
TS=65536
EV=$T/events			# the event log (crashx)
LW=()				# the log-writes devices (dm names)
for ((i = 0; i < NL; i++)); do LW+=("cxl$i"); done
CHK=()
for ((i = 0; i < NL; i++)); do CHK+=("/dev/mapper/cxc$i"); done

# dmx NAME TABLE: create a dm device.
dmx() {
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1 ($2)"
}

# shellcheck disable=SC2317  # invoked by on_exit
teardown() {
	local n
	bcvctl stop --all >/dev/null 2>&1
	[ -n "${CUTTER:-}" ] && kill "$CUTTER" 2>/dev/null
	udevadm settle
	for n in cxt1 "${LW[@]}" $(dmsetup ls | awk '/^cx[dgbc][0-9]/ { print $1 }'); do
		dmsetup remove --retry "$n" 2>/dev/null
	done
	rm -f /run/bcv-no-auto-assemble /run/udev/rules.d/00-crashx.rules
	udevadm control --reload
}
on_exit teardown

for ((i = 0; i < NL; i++)); do
	dmx "cxd$i" "0 $SLS linear $DATA $((i * SLS))"
	dmx "cxg$i" "0 $((LSL / 512)) linear $LOGD $((i * LSL / 512))"
	dmx "cxl$i" "0 $SLS log-writes /dev/mapper/cxd$i /dev/mapper/cxg$i"
	dmx "cxb$i" "0 $SLS linear $REP $((i * SLS))"
	dmx "cxc$i" "0 $SLS linear $REP $(((NL + i) * SLS))"
done
udevadm settle
# A cut's resume makes a change uevent per device, several a second.  Those
# carry crashx's flags in DM_COOKIE (0xe0000): udev takes them for events
# of dm's own (no dmsetup run to decode the cookie or to complete it) that
# need no disk or other rules (no blkid, no bcvctl examine), or under TCG
# its queue would never drain (udevadm settle would time out).
mkdir -p /run/udev/rules.d
echo 'ACTION=="change", SUBSYSTEM=="block", ENV{DM_COOKIE}=="917504", ENV{DM_COOKIE}="", ENV{DM_UDEV_PRIMARY_SOURCE_FLAG}="1", ENV{DM_UDEV_DISABLE_DISK_RULES_FLAG}="1", ENV{DM_UDEV_DISABLE_OTHER_RULES_FLAG}="1"' \
	> /run/udev/rules.d/00-crashx.rules
udevadm control --reload
LWD=()
for ((i = 0; i < NL; i++)); do
	LWD+=("/dev/$(dmsetup info -c --noheadings -o blkdevname "cxl$i")")
	[ -b "${LWD[$i]}" ] || fail "no ${LWD[$i]} for cxl$i"
done
# The legs as bcv sees them.  cxp's mirror has a dm-linear on top of its
# log-writes device, to make it fail (above the log: failed writes are
# not logged).
dmx cxt1 "0 $SLS linear ${LWD[1]} 0"
udevadm settle
LEG=("${LWD[0]}" /dev/mapper/cxt1 "${LWD[2]}" "${LWD[3]}" "${LWD[4]}")

# --- the workload's events ---------------------------------------------------

ev=0
XCUTS=()

# W VOL OFF LEN [SYNC]: a write of tagged blocks (crashx), fsync'd unless
# SYNC is 0.
W() {
	ev=$((ev + 1))
	crashx write "$EV" $ev "$1" "/dev/bcv/$1" "$2" "$3" "${4:-1}" ||
		fail "write $ev ($*) failed"
}

# FL VOL: an empty flush of the volume.
FL() {
	ev=$((ev + 1))
	crashx flush "$EV" $ev "$1" "/dev/bcv/$1" || fail "flush of $1 failed"
}

# C ARGS...: bcvctl ARGS, which must succeed, as an event.
C() {
	ev=$((ev + 1))
	case "$1" in
	stop|split|abort) udevadm settle ;;
	esac
	echo "B $ev C $*" >> "$EV"
	bcv_must "$@"
	echo "E $ev" >> "$EV"
}

# X NAME: a cut now, named x-NAME.
X() {
	crashx cut "$EV" "x-$1" "${LW[@]}" || fail "cut x-$1 failed"
	XCUTS+=("x-$1")
}

# Background cuts until $T/nocut exists: every 0.4 to 0.8 s for "all",
# else every 1.2 to 2 s (each costs a fraction of a second of CPU under
# TCG, udev's included).
cutter() {
	local i=0
	while [ ! -e "$T/nocut" ]; do
		if [ $ALL = 1 ]; then
			sleep "0.$((RANDOM % 5 + 4))"
		else
			sleep "1.$((RANDOM % 9 + 2))"
		fi
		i=$((i + 1))
		crashx cut "$EV" "bg$i" "${LW[@]}" || {
			echo "# background cut $i failed"
			return 1
		}
	done
}

tr_() { echo $(($1 * TS)); }

t0=$SECONDS
create_vol std cxp "${LEG[0]}" --mirror "${LEG[1]}" --track-size $TS >/dev/null
create_vol bcv cxb1 "${LEG[2]}" --track-size $TS >/dev/null
create_vol bcv cxb2 "${LEG[3]}" --mirror "${LEG[4]}" --track-size $TS >/dev/null
wait_legs cxp
wait_legs cxb2
LEN=$(vol_bytes cxp)
NT=$((LEN / TS))
note "volumes of $LEN bytes ($NT tracks of $TS)"
[ "$NT" -ge 120 ] || fail "only $NT tracks"

cutter &
CUTTER=$!

# 1. Writes, establish, writes mirrored to both BCVs, a consistent split.
W cxp 0 $((512 << 10))
W cxp $((512 << 10)) $((512 << 10))
W cxp $((1 << 20)) $((1 << 20)) 0
FL cxp
C establish cxp cxb1
C establish cxp cxb2
C wait cxp cxb1
C wait cxp cxb2
W cxp "$(tr_ 32)" "$(tr_ 4)" 0
X unflushed
W cxp "$(tr_ 36)" "$(tr_ 2)"
C split cxp cxb1 --consistent cxp cxb2
X split

# 2. Writes on both sides; an aborted reestablish; a reestablish with
#    writes during its copy.
W cxp "$(tr_ 48)" "$(tr_ 8)"
W cxb1 "$(tr_ 60)" "$(tr_ 4)"
W cxb2 "$(tr_ 64)" "$(tr_ 2)" 0
FL cxb2
C pause cxp cxb1
C reestablish cxp cxb1
X paused-reestablish
C abort cxp cxb1
C resume cxp cxb1
C reestablish cxp cxb1
W cxp "$(tr_ 70)" "$(tr_ 2)" 0
C wait cxp cxb1
#    The STD stopped with cxb1 attached: writes mirrored to cxb1 and never
#    flushed there, which the STD's tables call valid on it.  First the
#    checkpoint the copies armed (it flushes every position) goes by: the
#    next comes 5 s after the write's activity-log mark, after the cut.
sleep 6
W cxp "$(tr_ 72)" "$(tr_ 4)" 0
C stop cxp
X std-stop
C assemble "${LEG[0]}" "${LEG[1]}"
#    cxb1 stopped while its reestablish copies 16 tracks; the STD's
#    checkpoint runs before cxb1 comes back.
C split cxp cxb1
W cxp "$(tr_ 80)" "$(tr_ 16)"
C reestablish cxp cxb1
C stop cxb1
X bcv-stop
sleep 6
X bcv-stop-late
C assemble "${LEG[2]}"
C wait cxp cxb1
C split cxp cxb1

# 3. An incremental restore of cxb1, with a write during it.
W cxb1 "$(tr_ 100)" "$(tr_ 4)"
W cxp "$(tr_ 104)" "$(tr_ 2)"
C restore cxp cxb1 --incremental --force
W cxp "$(tr_ 106)" "$(tr_ 1)"
C wait cxp cxb1
X restored
C split cxp cxb1

# 4. A protected restore of cxb2 (paused: nothing is restored but what a
#    write needs), taking whole-track writes of tracks it restores (48-55
#    changed on the STD since the split), fsync'd, and a 4 KiB one.  Their
#    data is on the STD's legs alone, whose tables on disk say invalid
#    until the next checkpoint: a quiet spell first, so that none comes
#    before 5 s after the first write (its activity-log mark arms it).
C pause cxp cxb2
C restore cxp cxb2 --protect --incremental --force
sleep 6
W cxp "$(tr_ 48)" "$(tr_ 2)"
X protect-1
W cxp "$(tr_ 50)" "$(tr_ 1)"
X protect-2
# A part-track write into a track not restored yet waits for the copy
# that fills the rest, which a paused session does not make (issue 22,
# defect 19): resume first.
C resume cxp cxb2
W cxp $(($(tr_ 52) + 8192)) 4096
X protect-3
sleep 6
X protect-late
C wait cxp cxb2
X protected

# 5. cxp's mirror fails writes for a while, then a flush.
dmsetup load cxt1 --table "0 $SLS error" && dmsetup resume cxt1 ||
	fail "cannot make cxt1 fail"
W cxp "$(tr_ 110)" "$(tr_ 4)"
W cxp "$(tr_ 114)" "$(tr_ 1)" 0
X leg-failed
dmsetup load cxt1 --table "0 $SLS linear ${LWD[1]} 0" &&
	dmsetup resume cxt1 || fail "cannot heal cxt1"
wait_legs cxp
X leg-healed
dmsetup load cxt1 --table "0 $SLS flakey ${LWD[1]} 0 0 600 1 error_writes" &&
	dmsetup resume cxt1 || fail "cannot make cxt1 fail writes and flushes"
FL cxp
W cxp "$(tr_ 116)" "$(tr_ 2)"
X flush-failed
dmsetup load cxt1 --table "0 $SLS linear ${LWD[1]} 0" &&
	dmsetup resume cxt1 || fail "cannot heal cxt1"
wait_legs cxp
X resynced

# 6. Unflushed writes, then every volume stops.
touch "$T/nocut"
wait "$CUTTER" || _bad "the background cuts failed"
CUTTER=
W cxp "$(tr_ 120)" "$(tr_ 2)" 0
C stop cxp
C stop cxb1
C stop cxb2
X final
note "workload: $((SECONDS - t0)) s, $ev events, $(grep -c '^CE' "$EV") cuts ($(grep -c '^CE x-' "$EV") named)"
grep -q '^CX ' "$EV" && fail "a cut failed: $(grep '^CX ' "$EV" | head -1)"
udevadm settle
dmsetup remove cxt1 || fail "dmsetup remove cxt1"
for n in "${LW[@]}"; do
	dmsetup remove "$n" || fail "dmsetup remove $n"
done

# Every log whole: its data entries add up to what its data device took.
read -r -a fin <<< "$(grep '^CE x-final ' "$EV" | cut -d' ' -f3-)"
for ((i = 0; i < NL; i++)); do
	got=$(log_replay /dev/mapper/cxg$i --list |
		awk '$2 !~ /M/ { s += $4 } END { print s + 0 }')
	[ "$got" = "${fin[$i]}" ] ||
		fail "log $i holds $got sectors of data, its device took ${fin[$i]}"
done
ok "the $NL logs hold every sector their devices took"
note "log entries per leg: $(for ((i = 0; i < NL; i++)); do log_replay /dev/mapper/cxg$i --list | wc -l; done | tr '\n' ' ')"

# --- the crash states --------------------------------------------------------

# Which cuts, with which subsets ("CUT SUB" lines, in the cuts' order).
# SUB 0: no unflushed write kept, 1: all, N > 1: a random half (seed N).
RANDOM=$SEED
grep '^CE ' "$EV" | cut -d' ' -f2 > "$T/cuts"
# rsub: RSUB := a random subset's seed, from SEED (no subshell: RANDOM
# goes on in this shell).
rsub() { RSUB=$((SEED * 100000 + RANDOM % 100000 + 2)); }
if [ $ALL = 1 ]; then
	# Every cut with no unflushed write kept and a random half; the
	# named ones also with all kept and SUBSETS more random halves.
	while read -r c; do
		rsub
		echo "$c 0"
		echo "$c $RSUB"
		case "$c" in
		x-*)	echo "$c 1"
			for ((k = 0; k < SUBSETS; k++)); do
				rsub
				echo "$c $RSUB"
			done ;;
		esac
	done < "$T/cuts" > "$T/states"
else
	# The named moments where a defect showed (SUB 0 or 1), one more
	# with a random subset, and a background cut drawn from SEED.
	key="x-std-stop:0 x-protect-1:0 x-protect-3:1 x-leg-failed:r"
	nbg=$(grep -c '^bg' "$T/cuts")
	[ "$nbg" -gt 0 ] && key+=" bg$((RANDOM % nbg + 1)):r"
	while read -r c; do
		for k in $key; do
			[ "${k%:*}" = "$c" ] || continue
			sub=${k#*:}
			[ "$sub" = r ] && rsub && sub=$RSUB
			echo "$c $sub"
			break
		done
	done < "$T/cuts" > "$T/states"
fi
note "$(wc -l < "$T/states") crash states: $(tr '\n' ' ' < "$T/states" | sed 's/\([^ ]*\) \([^ ]*\) /\1:\2 /g')"

FROM=(0 0 0 0 0)
nstate=0 nunfl=0 nkept=0

# replay CUT SUB: the crash state onto the check legs.
replay() {
	local i out s
	read -r -a s <<< "$(grep "^CE $1 " "$EV" | cut -d' ' -f3-)"
	for ((i = 0; i < NL; i++)); do
		local seed=$2
		[ "$seed" -gt 1 ] && seed=$((seed * 8 + i))
		out=$(log_replay /dev/mapper/cxg$i --crash /dev/mapper/cxb$i \
			"${CHK[$i]}" "${FROM[$i]}" "$1" "${s[$i]}" "$seed") ||
			fail "replay of leg $i to $1 failed"
		read -r -a out <<< "$out"
		FROM[i]=${out[0]}
		nunfl=$((nunfl + out[1]))
		nkept=$((nkept + out[2]))
		UNFL+=" ${out[2]}/${out[1]}"
	done
}

# finish STD BCV ST PROT: end the session's copy, split, and compare (b)
# (an attached BCV takes no I/O).
finish() {
	local std=$1 b=$2 st=$3 prot=$4 what
	case "$st" in
	synchronized)
		what="$b split after its copy is $std"
		bcv_do split "$std" "$b" || return ;;
	restored)
		what="$std restored from $b is $b"
		bcv_do split "$std" "$b" || return ;;
	split)
		if [ "$prot" = true ]; then
			what="$std after a second protected restore of $b is $b"
			bcv_do restore "$std" "$b" --protect --incremental --force --wait ||
				return
		elif [ $((RANDOM % 2)) = 0 ]; then
			what="$b after an incremental reestablish is $std"
			bcv_do reestablish "$std" "$b" --wait &&
				bcv_do split "$std" "$b" || return
		else
			what="$std after an incremental restore of $b is $b"
			bcv_do restore "$std" "$b" --incremental --force --wait &&
				bcv_do split "$std" "$b" || return
		fi ;;
	"")	return ;;
	*)	_bad "$WHERE: session $std/$b in state '$st' after wait"
		return ;;
	esac
	cmp_vols "$WHERE: $what" "$std" "$b"
}

# lap NAME: the seconds since the last lap, for the state's line.
lap() {
	TM+=" $1 $((SECONDS - LAP))s"
	LAP=$SECONDS
}

# check_state CUT SUB
check_state() {
	local c=$1 sub=$2 b v out vols=() bad0=$_nfail
	local -A pst=()
	UNFL= TM= LAP=$SECONDS
	WHERE="$c/$sub"
	nstate=$((nstate + 1))
	replay "$c" "$sub"
	lap replay
	for v in "cxp:${CHK[0]} ${CHK[1]}" "cxb1:${CHK[2]}" \
		 "cxb2:${CHK[3]} ${CHK[4]}"; do
		# shellcheck disable=SC2086
		out=$(bcvctl assemble ${v#*:} 2>&1) ||
			_bad "$WHERE: ${v%%:*} does not assemble: $out"
	done
	udevadm settle
	lap assemble
	# a. what each readable volume holds.
	vols=("cxp=/dev/bcv/cxp")
	for b in cxb1 cxb2; do
		pst[$b]=$(sess_field cxp $b state)
		pst[$b.p]=$(sess_field cxp $b protected)
		case "${pst[$b]}" in
		split|"") vols+=("$b=/dev/bcv/$b") ;;
		esac
	done
	if ! out=$(crashx check "$EV" "$c" "${vols[@]}" 2>&1); then
		_bad "$WHERE (unflushed writes kept per leg:$UNFL): a crash here loses or invents data:"
		echo "$out" | sed 's/^/    /'
		sess_dump
	fi
	lap durability
	# b. every copy finished, then each BCV against the STD.
	for b in cxb1 cxb2; do
		case "${pst[$b]}" in
		syncinprog|restinprog) bcv_do wait cxp $b ;;
		esac
	done
	lap wait
	for b in cxb1 cxb2; do
		finish cxp $b "$(sess_field cxp $b state)" "${pst[$b.p]}"
	done
	lap finish
	# c. the legs.
	wait_legs cxp
	wait_legs cxb2
	check_same "$WHERE: cxp's legs are identical" "${CHK[0]}" "${CHK[1]}" "$LEN"
	check_same "$WHERE: cxb2's legs are identical" "${CHK[3]}" "${CHK[4]}" "$LEN"
	lap legs
	bcvctl stop --all > /dev/null 2>&1 || _bad "$WHERE: stop --all failed"
	lap stop
	note "state $nstate, $WHERE: $([ $_nfail = "$bad0" ] && echo passed || echo FAILED); sessions ${pst[cxb1]:-none}/${pst[cxb2]:-none}; unflushed writes kept per leg:$UNFL;$TM"
}

t1=$SECONDS
while read -r c sub; do
	check_state "$c" "$sub"
done < "$T/states"
note "$nstate crash states in $((SECONDS - t1)) s; $nkept of $nunfl unflushed writes kept"
pass
