# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the power-cut boots of host_powercut_11.sh.
#
# write_loop WHO:DEV:BASE...  until the power cut: in round i, for each
#   WHO, 8 KiB of new random data (its own) at byte BASE + i * 8192 of DEV,
#   flushed (O_DIRECT + fsync in even rounds, page cache + fsync in odd),
#   THEN "@@ flushed WHO i SHA256" on stdout.  First "@@ base WHO BASE"
#   per WHO and "@@ looping yes".  After NREG rounds it goes on writing
#   (and flushing) into an unchecked scratch area at SCRATCH.  Every
#   STATE_EVERY rounds (default 25) it runs the command in $LOOP_HOOK (if
#   set).
# area_sum DEV BASE     sha256 of the NREG * 8 KiB checked area at BASE.

NREG=600
REG=8192
: "${STATE_EVERY:=25}"

write_loop() {
	local i=0 w who dev base sum off spec
	for spec in "$@"; do
		IFS=: read -r who dev base <<< "$spec"
		put base "$who" "$base"
	done
	put looping yes
	while :; do
		for spec in "$@"; do
			IFS=: read -r who dev base <<< "$spec"
			# Different data for each volume and round.
			head -c $REG /dev/urandom > "$T/w" ||
				fail "no random data"
			sum=$(sha256sum < "$T/w" | cut -c1-64)
			if [ $i -lt $NREG ]; then
				off=$((base + i * REG))
			else
				off=$((SCRATCH + (i % 64) * REG))
			fi
			if ((i % 2)); then
				w=seek_bytes
			else
				w=seek_bytes,direct
			fi
			dd if="$T/w" of="$dev" bs=$REG seek=$off oflag=$w \
				conv=notrunc,fsync status=none ||
				fail "write $i to $dev failed"
			[ $i -lt $NREG ] && put flushed "$who" $i "$sum"
		done
		i=$((i + 1))
		if [ -n "${LOOP_HOOK:-}" ] && ((i % STATE_EVERY == 0)); then
			eval "$LOOP_HOOK"
		fi
	done
}

area_sum() {
	read_dev "$1" $((NREG * REG)) "$2" | sha256sum | cut -c1-64
}
