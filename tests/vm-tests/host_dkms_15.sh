#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS (issue 15): the source as `make dkms-install` installs it (make
# dkms-source, into a scratch tree) builds with Debian's dkms for this
# kernel (`dkms build`, scratch source and dkms trees: nothing of bcv is
# installed on the host, no module is loaded here; dkms signs the module
# with its own key, made once in /var/lib/dkms); the module it built has the
# kernel's vermagic and loads in the guest (BCV_VM_KO), where it is the
# version of include/uapi/linux/bcv.h and works: establish, split, the
# same bytes on both volumes (persist/dkms_1.sh).

# shellcheck source=tests/vm-tests/host_common.sh
. "$(dirname "$0")/host_common.sh"

TOP=$(cd "$HERE/../.." && pwd)
[ "$BCV_KERNEL" != debug ] ||
	skip "DKMS builds for installed kernels; the debug kernel is not one"
command -v dkms > /dev/null || skip "no dkms (run tests/install-deps)"
REL=$("$TOP/tests/vm/kver" "$BCV_KERNEL") || fail "no kernel $BCV_KERNEL"
V=$(make -s -C "$TOP" --no-print-directory dkms-version) ||
	fail "make dkms-version failed"
SRC=$BCV_TMP/src
TREE=$BCV_TMP/dkms
note "bcv $V for $REL"

mkdir -p "$TREE" || fail "cannot make $TREE"
make -s -C "$TOP" --no-print-directory dkms-source DKMS_SRC="$SRC/bcv-$V" ||
	fail "make dkms-source failed"
check_eq "dkms.conf names the version" \
	"$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$SRC/bcv-$V/dkms.conf")" "$V"

if ! dkms build -m bcv -v "$V" -k "$REL" --sourcetree "$SRC" \
	--dkmstree "$TREE" > "$BCV_TMP/dkms.log" 2>&1; then
	sed 's/^/  | /' "$BCV_TMP/dkms.log"
	find "$TREE" -name make.log -exec sed 's/^/  make.log | /' {} \;
	fail "dkms build -m bcv -v $V -k $REL failed"
fi
ok "dkms build -m bcv -v $V -k $REL"
check_eq "dkms status" \
	"$(dkms status -m bcv -v "$V" -k "$REL" --dkmstree "$TREE" 2>/dev/null)" \
	"bcv/$V, $REL, $(uname -m): built"

KO=$(find "$TREE/bcv/$V/$REL" -name 'bcv.ko*' | head -n 1)
[ -n "$KO" ] || fail "dkms built no bcv.ko under $TREE/bcv/$V/$REL"
case "$KO" in
*.xz)	xz -dc "$KO" > "$BCV_TMP/bcv.ko" ;;
*.zst)	zstd -qdc "$KO" > "$BCV_TMP/bcv.ko" ;;
*)	cp "$KO" "$BCV_TMP/bcv.ko" ;;
esac || fail "cannot unpack $KO"
check_eq "the module's vermagic names the kernel" \
	"$(modinfo -F vermagic "$BCV_TMP/bcv.ko" | cut -d' ' -f1)" "$REL"

BCV_VM_KO=$BCV_TMP/bcv.ko boot_ok guest --disk 16M --disk 16M -- persist/dkms_1.sh
check_eq "the guest loaded the version DKMS built" "$(val guest version)" "$V"
check_eq "the guest loaded the module DKMS built" "$(val guest srcversion)" \
	"$(modinfo -F srcversion "$BCV_TMP/bcv.ko")"
check_eq "establish and split through it: the volumes agree" "$(val guest same)" 0
pass
