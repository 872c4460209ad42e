#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Refused commands: the ioctl contract (bcv_ioctl_test), then the same
# through bcvctl: one line on stderr and the exit code of bcv-design.rst section 9
# when the kernel refuses (3 no such volume, 4 busy, 1 anything else,
# a backing device that does not exist included), exit 2 on bad usage,
# and nothing changes either way.
#
# disks: 256M 256M 256M 256M

# shellcheck source=tests/vm-tests/test_common.sh
. "$(dirname "$0")/test_common.sh"

need_disks 4
need bcvctl bcv_ioctl_test mkfs.ext4 setpriv

# --- the ioctl contract --------------------------------------------------

note "bcv_ioctl_test ${DISKS[0]} ${DISKS[1]} ${DISKS[2]}"
bcv_ioctl_test "${DISKS[0]}" "${DISKS[1]}" "${DISKS[2]}"
rc=$?
[ $rc -eq 0 ] && ok "bcv_ioctl_test" || _bad "bcv_ioctl_test exited $rc"
[ -z "$(vol_names)" ] || _bad "bcv_ioctl_test left volumes: $(vol_names)"
remove_all_volumes

# --- bcvctl --------------------------------------------------------------

create_vol std e03std "${DISKS[0]}"
create_vol bcv e03bcv "${DISKS[1]}"
free=${DISKS[2]}
mnt_disk=${DISKS[3]}
# list --json without open_count, which holding a volume open changes.
list_state() {
	bcvctl list --json | tr -d '[:space:]' |
		sed 's/"open_count":[0-9]*,\{0,1\}//g'
}
before=$(list_state)
note "list --json: $before"

unchanged() {
	local now
	now=$(list_state)
	[ "$now" = "$before" ] ||
		_bad "bcvctl list --json changed after '$*': $now"
}

# refused CODE CMD...: exit CODE, one stderr line, nothing changed.
refused() {
	expect_errmsg "$@"
	shift
	unchanged "$@"
}

# bcv_ioctl_test made an ext4 file system on $free, and $mnt_disk gets
# one below: where the kernel's refusal is meant, create gets --force (if
# bcvctl has it) so that bcvctl's own check for signatures does not
# answer first.
F=("${CREATE_FORCE[@]}")

# The kernel refuses: exit 3 (no such volume), 4 (busy) or 1 (the rest).
refused 1 bcvctl create std e03x /dev/bcvt-no-such-disk	# no device, not 3
refused 4 bcvctl create bcv e03x "${DISKS[0]}"		# in use by e03std
refused 1 bcvctl create std e03std "$free" "${F[@]}"	# duplicate name
refused 1 bcvctl create bcv e03bcv "$free" "${F[@]}"	# duplicate name
refused 3 bcvctl remove e03nosuch

mkfs.ext4 -q -F "$mnt_disk" || fail "mkfs.ext4 $mnt_disk"
mkdir -p "$T/mnt"
mount -t ext4 "$mnt_disk" "$T/mnt" || fail "mount $mnt_disk"
on_exit "umount $T/mnt"
refused 4 bcvctl create std e03x "$mnt_disk" "${F[@]}"	# mounted
umount "$T/mnt" || fail "umount $T/mnt"

exec 3< /dev/bcv/e03std
refused 4 bcvctl remove e03std				# open
grep -q e03std < <(vol_names) || _bad "e03std gone while open"
exec 3<&-

nullb_load bs=4096 gb=1
refused 1 bcvctl create std e03x /dev/nullb0 --track-size 2K	# < LBS
refused 1 bcvctl create std e03x /dev/nullb0 --track-size 512

# Without the client's own checks, the kernel still refuses.
BCV_NO_CLIENT_CHECKS=1 refused 1 bcvctl create std 'a/b' "$free" "${F[@]}"
BCV_NO_CLIENT_CHECKS=1 refused 1 bcvctl create std '.dot' "$free" "${F[@]}"
BCV_NO_CLIENT_CHECKS=1 refused 1 bcvctl create std e03x "$free" --track-size 3000 "${F[@]}"

# Bad usage: exit 2.
refused 2 bcvctl frobnicate
refused 2 bcvctl create
refused 2 bcvctl create std
refused 2 bcvctl create std e03x
refused 2 bcvctl remove
refused 2 bcvctl create primary e03x "$free"		# bad role
refused 2 bcvctl create std e03x "$free" --track-size 3000
refused 2 bcvctl create std e03x "$free" --track-size 96K
refused 2 bcvctl create std e03x "$free" --track-size lots
refused 2 bcvctl create std e03x "$free" --frobnicate
refused 2 bcvctl create std "$(printf 'n%.0s' $(seq 1 32))" "$free"	# 32 chars
refused 2 bcvctl create std 'a/b' "$free"
refused 2 bcvctl list --frobnicate
expect_exit 2 bcvctl
unchanged bcvctl

# A 31-character name is fine.
name31=$(printf 'n%.0s' $(seq 1 31))
create_vol std "$name31" "$free" "${F[@]}"
remove_vol "$name31"
unchanged "create and remove $name31"

# Permission: no CAP_SYS_ADMIN, even as root.
setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin bcvctl list \
	>"$OUT" 2>"$ERR"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l < "$ERR")" -eq 1 ] &&
   grep -qiE 'permi|privilege|CAP_SYS_ADMIN' "$ERR"; then
	ok "bcvctl list without CAP_SYS_ADMIN: $(cat "$ERR")"
else
	_bad "bcvctl list without CAP_SYS_ADMIN exited $rc: $(cat "$ERR")"
fi
setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
	bcvctl create std e03x "$free" "${F[@]}" >"$OUT" 2>"$ERR"
rc=$?
[ $rc -eq 1 ] || _bad "bcvctl create without CAP_SYS_ADMIN exited $rc: $(cat "$ERR")"
unchanged "create without CAP_SYS_ADMIN"
setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
	bcvctl remove e03bcv >"$OUT" 2>"$ERR"
rc=$?
[ $rc -eq 1 ] || _bad "bcvctl remove without CAP_SYS_ADMIN exited $rc: $(cat "$ERR")"
unchanged "remove without CAP_SYS_ADMIN"

# Session verbs on volumes that do not exist: exit 3, however far along
# their implementation is (the wording is not checked).
for cmd in "establish e03std e03nosuch" "split e03std e03nosuch" \
	   "reestablish e03std e03nosuch" "restore e03std e03nosuch" \
	   "terminate e03std e03nosuch" "establish e03nosuch e03bcv"; do
	# shellcheck disable=SC2086
	expect_errmsg 3 bcvctl $cmd
	unchanged "bcvctl $cmd"
done

expect "remove e03bcv" bcvctl remove e03bcv
expect "remove e03std" bcvctl remove e03std
[ -z "$(vol_names)" ] || _bad "volumes left: $(vol_names)"

pass
