/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: checking a superblock copy read from a device.
 *
 * udev assembles any disk that carries bcv metadata, so a superblock is
 * whatever a plugged-in disk holds: nothing in it is trusted until
 * bcv_sb_check() accepted it, and everything the module later sizes or
 * indexes by (the layout, the track count, positions, session columns) is
 * checked there (Documentation/bcv-format.rst, "Validity").
 *
 * Pure code (see bcv_shim.h): builds into the module, where bcv_meta.c
 * reads the copies and calls it, and into the userspace fuzzers
 * (tests/fuzz/), which hold it against bcvctl's reader (tools/bcv_fmt.c).
 */
#ifndef BCV_SB_H
#define BCV_SB_H

#include "bcv_shim.h"
#include "uapi/linux/bcv_format.h"

/*
 * Why a copy was refused: the first rule it breaks, in the order
 * bcv_sb_check() tests them (a copy may break several).
 */
enum bcv_sb_verdict {
	BCV_SB_OK = 0,
	BCV_SB_BAD_MAGIC,	/* not BCV_SB_MAGIC: not a superblock */
	BCV_SB_BAD_VERSION,	/* not BCV_SB_VERSION */
	BCV_SB_BAD_CRC,		/* the checksum does not match */
	BCV_SB_BAD_FEATURES,	/* a feature bit (none is defined) */
	BCV_SB_BAD_ROLE,	/* neither STD nor BCV */
	BCV_SB_BAD_SHIFT,	/* track size outside 512 bytes..16 MiB */
	BCV_SB_BAD_LEGS,	/* nr_legs outside 1..3, or leg_pos >= it */
	BCV_SB_BAD_FLAGS,	/* an unknown bcv_sb.flags bit */
	BCV_SB_BAD_NAME,	/* not a valid volume name */
	BCV_SB_BAD_DEV_SIZE,	/* written for a device of another size */
	BCV_SB_BAD_LAYOUT,	/* a layout field is not bcv_fmt_layout()'s */
	BCV_SB_BAD_RESERVED,	/* a reserved field is not zero */
	BCV_SB_BAD_SIZE,	/* sectors or tracks wrong for the data area */
	BCV_SB_TOO_MANY_TRACKS,	/* more than BCV_TM_MAX_TRACKS */
	BCV_SB_BAD_LEG_FLAGS,	/* an unknown bcv_sb_leg.flags bit */
	BCV_SB_BAD_SESSION,	/* a bad sess[] record (or one on a BCV) */
	BCV_SB_BAD_LINK,	/* a bad link record (or one on a STD) */
	BCV_SB_NR_VERDICTS
};

enum bcv_sb_verdict bcv_sb_check(const struct bcv_sb *sb, u64 dev_sectors);

#endif /* BCV_SB_H */
