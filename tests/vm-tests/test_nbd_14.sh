#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernels: 6.1 debug race   (make check: its I/O paths also run on 6.12
# in data_02, errors_03, mirror_09; make check-all runs it there too)
#
# A BCV on a network block device (issue 14; bcv-design.rst section 14): NBD over
# loopback in the guest (nbd-server exporting vdb, nbd-client -timeout 3).
# A failed nbd device stays failed while it is open (nbd-client 3.24 never
# sends the NBD_CMD_RECONFIGURE the kernel waits for; the ioctl interface
# takes a new socket only once every opener has closed it), and a BCV's
# only device cannot be closed (stop must write its metadata there).  So
# the BCV sits on a dm-linear "path" over /dev/nbdN, as on a multipath map:
# when the link returns, the other nbd device is connected and the path
# switched to it (no bcv command), the old one disconnected.
#  1. ESTABLISH over NBD; the split BCV equals the STD.
#  2. The server dies while synchronized: STD writes succeed within the
#     nbd timeout, their tracks are marked (invalid_tracks, errors), the
#     failure is logged once; when the link returns the copy ends on its
#     own, exactly those tracks copied; the BCV equals the STD.
#  3. The link fails (netem loss 100% on lo) mid-REESTABLISH, STD writes
#     meanwhile succeed; after it returns the copy completes
#     incrementally: exactly the changed tracks copied.
#  4. The server dies while synchronized, SPLIT --force; after the link
#     returns a REESTABLISH copies exactly the missed tracks.
#  5. A slow link (netem delay 20ms on lo): a REESTABLISH completes.
# disks: 64M 64M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 2
need_sessions
need nbd-server nbd-client ip tc dmsetup cmp dd blockdev timeout

ip link set lo up || fail "cannot bring lo up"
modprobe nbd nbds_max=4 || skip "no module nbd"
[ -b /dev/nbd1 ] || wait_for test -b /dev/nbd1 || skip "no /dev/nbd1"

PORT=10814
EXPORT=bcvt14
NBD_TMO=3		# seconds: nbd-client -timeout
PATHN=n14p		# the dm "path" the BCV sits on
CONF=$(mktemp /tmp/nbd14.XXXXXX) || fail "mktemp"
cat > "$CONF" <<EOF
[generic]
	user = root
	group = root
	listenaddr = 127.0.0.1
	port = $PORT
[$EXPORT]
	exportname = ${DISKS[1]}
EOF

# The server's live processes: the listener and one per connection (a
# child of the listener); a dead one not reaped yet does not count.
server_pids() {
	local d c
	for d in /proc/[0-9]*; do
		{ read -r c < "$d/comm"; } 2>/dev/null || continue
		[ "$c" = nbd-server ] || continue
		grep -q '^State:[[:space:]]*Z' "$d/status" 2>/dev/null ||
			echo "${d#/proc/}"
	done
}
conn_pids() {
	local p all pp
	all=" $(server_pids | tr '\n' ' ')"
	for p in $all; do
		pp=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)
		[[ -n $pp && $all == *" $pp "* ]] && echo "$p"
	done
}
server_start() {
	nbd-server -C "$CONF" > /dev/null 2>&1 || fail "nbd-server did not start"
}
server_kill() {
	local p
	p=$(server_pids)
	[ -n "$p" ] || fail "no nbd-server to kill"
	# shellcheck disable=SC2086	# one pid a word
	kill -KILL $p
}
nbd_connect() {	# DEV: connect it (the server may be starting still)
	local i
	for ((i = 0; i < 10; i++)); do
		nbd-client 127.0.0.1 $PORT "$1" -N $EXPORT -timeout $NBD_TMO \
			> /dev/null 2>&1 && break
		sleep 0.5
	done
	[ $i -lt 10 ] && wait_for test "$(blockdev --getsz "$1" 2>/dev/null)" = "$NSZ"
}

# Cleanup, after the volumes and sessions are gone (on_exit runs last
# what was registered first).
nbd_cleanup() {
	tc qdisc del dev lo root
	dmsetup remove $PATHN
	nbd-client -d /dev/nbd0
	nbd-client -d /dev/nbd1
	# shellcheck disable=SC2046
	kill -KILL $(server_pids)
	rm -f "$CONF"
}
on_exit nbd_cleanup
sess_setup
on_exit "tc qdisc del dev lo root 2>/dev/null"	# first: let the copies end

NSZ=$(blockdev --getsz "${DISKS[1]}")
server_start
nbd_connect /dev/nbd0 || fail "nbd-client cannot connect /dev/nbd0"
CUR=/dev/nbd0
dmsetup create $PATHN --table "0 $NSZ linear $CUR 0" ||
	fail "cannot create the dm path over $CUR"
udevadm settle
P=/dev/mapper/$PATHN
note "remote disk: $CUR ($(blockdev --getsz $CUR) sectors) under $P ($(kname $P))"

# The link returns: the other nbd device is connected and the path
# switched to it; the old one is disconnected.
path_switch() {
	local new=/dev/nbd0
	[ $CUR = /dev/nbd0 ] && new=/dev/nbd1
	[ -n "$(server_pids)" ] || server_start
	nbd_connect $new || fail "nbd-client cannot connect $new"
	udevadm settle
	dmsetup load $PATHN --table "0 $NSZ linear $new 0" &&
		dmsetup resume $PATHN || fail "cannot switch $P to $new"
	nbd-client -d $CUR > /dev/null 2>&1 ||
		note "nbd-client -d $CUR failed"
	note "the path now goes over $new"
	CUR=$new
}

TS=65536
create_vol std n14s "${DISKS[0]}" --track-size 64K
create_vol bcv n14b "$P" --track-size 64K
S=/dev/bcv/n14s
B=/dev/bcv/n14b
SIZE=$(( $(blockdev --getsz $S) * 512 ))
NT=$(( (SIZE + TS - 1) / TS ))
T=$(mktemp -d)
on_exit "rm -rf $T"

field() { sess_field n14s n14b "$1"; }
state_is() { [ "$(field state)" = "$1" ]; }
errors_seen() { [ "$(field errors)" -gt 0 ]; }
copied_at_least() { [ "$(field copied_tracks)" -ge "$1" ]; }
same_data() {
	vols_same "$1" "$S" "$B" "$SIZE"
}
track_write() {	# FILE DEV TRACK
	dd if="$1" of="$2" bs=64K seek="$3" count=1 oflag=direct \
		conv=notrunc status=none
}
# A write to the STD while the link is down must succeed, within the nbd
# timeout (plus 10 s of slack for a loaded TCG guest: 6 s were seen).
std_write_ok() {	# TRACK
	local t0=$SECONDS rc
	timeout 30 dd if="$T/w" of=$S bs=64K seek="$1" count=1 oflag=direct \
		conv=notrunc status=none
	rc=$?
	if [ $rc -eq 0 ] && [ $((SECONDS - t0)) -le $((NBD_TMO + 10)) ]; then
		ok "STD write to track $1 with the link down ($((SECONDS - t0)) s)"
	else
		_bad "STD write to track $1 with the link down: exit $rc after $((SECONDS - t0)) s"
	fi
}
errors_logged() { dmesg | grep -c "bcv: .*error on $(kname $P)"; }

random_file "$T/data" "$SIZE"
dd if="$T/data" of=$S bs=1M oflag=direct status=none || fail "cannot fill $S"
random_file "$T/w" $TS

# --- 1. ESTABLISH over the network -------------------------------------------------

bcv_must establish n14s n14b --wait
check_sess n14s n14b state=synchronized copied_tracks=$NT
bcv_must split n14s n14b
same_data "established over NBD"
bcv_must reestablish n14s n14b --wait

# --- 2. the server dies while synchronized -------------------------------------------

logged0=$(errors_logged)
server_kill
tracks=(2 17 $((NT / 2)) $((NT - 5)))
for t in "${tracks[@]}"; do
	std_write_ok "$t"
done
expect "the written tracks are marked" test "$(field invalid_tracks)" = ${#tracks[@]}
expect "the copy errors count" test "$(field errors)" -gt 0
check_sess n14s n14b state=syncinprog
sleep 3		# the copies fail and back off meanwhile
path_switch
bcv_must wait n14s n14b --timeout 60
check_sess n14s n14b state=synchronized invalid_tracks=0 \
	copied_tracks=${#tracks[@]}
expect "the failure was logged once ($(($(errors_logged) - logged0)) lines)" \
	test $(($(errors_logged) - logged0)) = 1
bcv_must split n14s n14b
same_data "after the server came back"

# --- 3. the link fails in the middle of a REESTABLISH ------------------------------

for ((t = 0; t < NT - 1; t += 8)); do	# the last track is partial
	track_write "$T/w" $S "$t" || fail "cannot write track $t"
done
n=$(( (NT - 2) / 8 + 1 ))
check_sess n14s n14b state=split std_changed_tracks=$n
copy_throttle n14s 3		# a slower copy, for the link to fail during it
bcv_must reestablish n14s n14b
wait_secs 30 copied_at_least 16 || fail "fewer than 16 tracks copied in 30 s"
logged0=$(errors_logged)
tc qdisc add dev lo root netem loss 100% || fail "cannot add netem loss on lo"
more=(4 $((NT / 16 * 8 + 4)) $(((NT - 8) / 8 * 8 + 4)))	# unchanged ones
for t in "${more[@]}"; do
	std_write_ok "$t"
done
wait_secs 20 errors_seen || _bad "no copy error with the link down"
l=$(sess_line n14s n14b)
c=$(_field "$l" copied_tracks)
note "copied $c of $n tracks before the link failed"
expect "the copy was cut mid-way" test "$c" -lt $n
expect "the tracks not copied and those written are marked" \
	test "$(_field "$l" invalid_tracks)" = $((n - c + ${#more[@]}))
check_sess n14s n14b state=syncinprog
# The server's end of the broken connection is killed: the requests stuck
# in the client's socket would otherwise reach it, and the disk, once the
# link is back, maybe after the new connection's writes (NBD does not
# fence an old connection).
pids=$(conn_pids)
[ -n "$pids" ] || fail "no connection process of nbd-server"
# shellcheck disable=SC2086	# one pid a word
kill -KILL $pids
wait_for test -z "$(conn_pids)" || note "nbd-server's connection $pids lingers"
tc qdisc del dev lo root || fail "cannot remove netem"
path_switch
copy_throttle n14s 100
bcv_must wait n14s n14b --timeout 60
check_sess n14s n14b state=synchronized invalid_tracks=0 \
	copied_tracks=$((n + ${#more[@]}))
expect "the failure was logged once ($(($(errors_logged) - logged0)) lines)" \
	test $(($(errors_logged) - logged0)) = 1
bcv_must split n14s n14b
same_data "a REESTABLISH across a link failure"

# --- 4. the server dies, SPLIT --force, REESTABLISH ---------------------------------

bcv_must reestablish n14s n14b --wait
server_kill
for t in 6 $((NT - 9)); do
	std_write_ok "$t"
done
wait_secs 20 state_is syncinprog || _bad "the session stayed $(field state)"
bcv_busy split n14s n14b
bcv_must split n14s n14b --force
check_sess n14s n14b state=split std_changed_tracks=2 bcv_changed_tracks=2
path_switch
bcv_must reestablish n14s n14b --wait
check_sess n14s n14b state=synchronized copied_tracks=2
bcv_must split n14s n14b
same_data "after SPLIT --force and REESTABLISH"

# --- 5. a slow link -----------------------------------------------------------------

tc qdisc add dev lo root netem delay 20ms || fail "cannot add netem delay on lo"
for t in 1 5 9; do
	track_write "$T/w" $S "$t" || fail "cannot write track $t"
done
bcv_must reestablish n14s n14b --wait
check_sess n14s n14b state=synchronized copied_tracks=3
tc qdisc del dev lo root || fail "cannot remove netem"
bcv_must split n14s n14b
same_data "a REESTABLISH over a slow link"
bcv_must terminate n14s n14b

pass
