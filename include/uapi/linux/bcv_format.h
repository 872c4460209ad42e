/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bcv: the on-disk metadata format, shared by the module (bcv_meta.c) and
 * the tools (bcvctl examine/assemble).  Documentation/bcv-format.rst
 * describes it byte by byte; this header is the same description in C.
 *
 * Every leg of every volume carries the metadata at the END of its device,
 * so that data starts at offset 0 and a split BCV's disk is a plain image
 * (as md's 1.0 superblock and DRBD's internal metadata do):
 *
 *   0                   data_sectors                              dev_sectors
 *   | data (the volume) | PB table | M1 | M2 | M3 | M4 | AL | sb 0 | sb 1 |
 *                       ^ pb_offset ^ inv_offset[0..3]  ^ al_offset
 *
 * All offsets and sizes are in 512-byte sectors and multiples of 8 (4 KiB).
 * The layout depends only on the device's size and the track size
 * (bcv_fmt_layout() below): tracks_cap = tracks covering the whole device,
 * an upper bound of the volume's tracks, sizes every table.
 *
 * Superblock: two copies in the last 8 KiB, each a 4 KiB block.  Each
 * write increments @seq and goes to copy (seq & 1), so a torn write leaves
 * the other copy intact; a reader takes the valid copy (magic, version,
 * crc32c) with the higher @seq.
 *
 * Tables, little-endian, each one contiguous and padded to 4 KiB:
 *  - PB table (STD): one __le16 row per track, bit s = session column s
 *    (1 = changed); 2048 tracks per 4 KiB block, cylinder after cylinder.
 *  - Track ID table: four bitmaps, one per mirror position M1..M4, bit t of
 *    byte t / 8 (bit t % 8) = track t invalid; 32768 tracks per 4 KiB
 *    block.  On a BCV the fourth is M4b (1 = written by the BCV's users).
 *  - Activity log (AL): a bitmap of regions of 2^bcv_fmt_al_shift() tracks,
 *    bit r = region r may have mirrored writes in flight (its positions may
 *    differ); 32768 regions per 4 KiB block.
 *
 * Write intent (Documentation/bcv-format.rst, "Crash consistency"): while
 * a volume runs, the tables on disk are a superset of its changed and
 * invalid marks: a C or I bit is on disk before the data it describes is
 * written, a U or V bit only after the data it vouches for was flushed,
 * and a region's AL bit is on disk before a mirrored write to it.  After a
 * crash the tables plus the active regions say everything that can differ.
 *
 * Generation: @events rises on every superblock write of the volume (a
 * state change, a stop, an assembly); all legs are written with the same
 * value, so a leg with a lower @events than its peers missed changes and
 * is stale.
 */
#ifndef _UAPI_LINUX_BCV_FORMAT_H
#define _UAPI_LINUX_BCV_FORMAT_H

#include <linux/types.h>

#define BCV_SB_MAGIC		"BCVSUPER"	/* 8 bytes, no NUL */
#define BCV_SB_VERSION		2
#define BCV_SB_SIZE		4096		/* bytes per copy */
#define BCV_SB_COPIES		2
#define BCV_FMT_ALIGN		8		/* sectors: 4 KiB */
#define BCV_FMT_UUID_LEN	16
#define BCV_FMT_NAME_LEN	32		/* = BCV_NAME_LEN */
#define BCV_FMT_LEGS		3		/* = BCV_MAX_LEGS */
#define BCV_FMT_POSITIONS	4		/* M1..M4 */
#define BCV_FMT_SESSIONS	16		/* PB columns */

/* bcv_sb.flags */
#define BCV_SB_F_CLEAN		(1U << 0)	/* stopped cleanly: tables exact */
/* Written without write intent (bcv.write_intent=0): the tables on disk
 * are exact only after a clean stop; a crash costs full copies.
 */
#define BCV_SB_F_NO_INTENT	(1U << 1)

/* bcv_sb_leg.flags */
#define BCV_SB_LEG_FAILED	(1U << 0)	/* leg failed: holds nothing */
#define BCV_SB_LEG_SYNCING	(1U << 1)	/* leg had invalid tracks */

/* bcv_sb_sess.flags */
#define BCV_SB_SESS_USED	(1U << 0)	/* the record is a session */
/* STD record, restinprog or restored: a protected restore (never writes
 * the BCV; split once restored).
 */
#define BCV_SB_SESS_PROTECT	(1U << 1)

/* bcv_sb.features: none defined; a reader refuses unknown bits. */
#define BCV_SB_FEATURES		0ULL

/* One leg of the volume, by mirror position (legs[0] is M1, the primary). */
struct bcv_sb_leg {
	__u8	uuid[BCV_FMT_UUID_LEN];	/* the leg's own UUID */
	__le32	flags;			/* BCV_SB_LEG_* */
	__le32	__pad;
	__le64	reserved;
};

/*
 * A session record.  On a STD, record s is PB column s: @peer is the BCV.
 * On a BCV, the single record bcv_sb.link is its session: @peer is the STD
 * and @id the column.  @state is a BCV_STATE_* of the uapi; @mm the STD's
 * mirror position (0..3) the BCV occupies while attached, else 0xffffffff.
 */
struct bcv_sb_sess {
	__u8	peer_uuid[BCV_FMT_UUID_LEN];
	char	peer_name[BCV_FMT_NAME_LEN];
	__le32	flags;			/* BCV_SB_SESS_* */
	__le32	id;
	__le32	state;
	__le32	mm;
};

/* The superblock: 4 KiB per copy, the fields first, zero after them. */
struct bcv_sb {
	__u8	magic[8];		/* BCV_SB_MAGIC */
	__le32	version;		/* BCV_SB_VERSION */
	/* crc32c (Castagnoli) of the 4 KiB block with @crc zero: seed ~0,
	 * final xor ~0
	 */
	__le32	crc;
	__le64	features;		/* BCV_SB_FEATURES */
	__le64	seq;			/* copy written = seq & 1 */
	__le64	events;			/* generation, see above */
	__le64	ctime;			/* created, seconds since the epoch */
	__le64	utime;			/* last written */

	__u8	vol_uuid[BCV_FMT_UUID_LEN];
	char	name[BCV_FMT_NAME_LEN];	/* NUL-terminated */
	__le32	role;			/* BCV_ROLE_STD or BCV_ROLE_BCV */
	__le32	flags;			/* BCV_SB_F_* */
	__le32	track_shift;		/* log2 of the track size in bytes */
	__le32	nr_legs;		/* own legs, 1..3 */
	__le32	leg_pos;		/* this device's position, 0..nr_legs-1 */
	__le32	__pad;
	__le64	sectors;		/* the volume's capacity */
	__le64	tracks;			/* the volume's tracks */

	/* This device's layout (bcv_fmt_layout()). */
	__le64	dev_sectors;		/* the device's size when written */
	__le64	data_sectors;		/* data area: [0, data_sectors) */
	__le64	tracks_cap;		/* tracks every table has room for */
	__le64	pb_offset;		/* PB table */
	__le64	inv_offset[BCV_FMT_POSITIONS]; /* Track ID bitmaps */
	__le64	pb_sectors;		/* PB table's size */
	__le64	inv_sectors;		/* each bitmap's size */

	struct bcv_sb_leg legs[BCV_FMT_LEGS];
	struct bcv_sb_sess sess[BCV_FMT_SESSIONS];	/* STD */
	struct bcv_sb_sess link;			/* BCV */
	__le64	al_offset;		/* activity log */
	__le64	al_sectors;		/* its size */
	__le64	reserved[14];
};

/*
 * The layout of a device of @dev_sectors for tracks of 2^@track_shift
 * bytes.  Pure arithmetic, the same in the module and the tools.  Returns
 * 0, or -1 if the device is too small to hold one 4 KiB block of data.
 */
struct bcv_fmt_layout {
	__u64 dev_sectors;
	__u64 data_sectors;
	__u64 tracks_cap;
	__u64 pb_offset;
	__u64 pb_sectors;
	__u64 inv_offset[BCV_FMT_POSITIONS];
	__u64 inv_sectors;
	__u64 al_offset;
	__u64 al_sectors;
	__u64 sb_offset[BCV_SB_COPIES];
};

/*
 * log2 of the tracks per AL region: regions of at least 16 tracks and at
 * least 1 MiB (the module's region gate uses the same regions).
 */
static inline unsigned int bcv_fmt_al_shift(unsigned int track_shift)
{
	return track_shift >= 16 ? 4 : 20 - track_shift;
}

/* AL regions a table of @tracks_cap tracks has room for. */
static inline __u64 bcv_fmt_al_regions(__u64 tracks_cap,
				       unsigned int track_shift)
{
	return (tracks_cap >> bcv_fmt_al_shift(track_shift)) + 1;
}

static inline __u64 bcv_fmt_round_up(__u64 x, __u64 a)
{
	return (x + a - 1) / a * a;
}

static inline int bcv_fmt_layout(__u64 dev_sectors, unsigned int track_shift,
				 struct bcv_fmt_layout *l)
{
	__u64 dev = dev_sectors / BCV_FMT_ALIGN * BCV_FMT_ALIGN;
	__u64 tsec, area;
	unsigned int p;

	/* Before the shift: a shift out of range is a layout that fails. */
	if (track_shift < 9 || track_shift > 40)
		return -1;
	tsec = 1ULL << (track_shift - 9);
	l->dev_sectors = dev_sectors;
	l->tracks_cap = (dev + tsec - 1) / tsec;
	l->pb_sectors = bcv_fmt_round_up(l->tracks_cap * 2, 4096) / 512;
	l->inv_sectors = bcv_fmt_round_up((l->tracks_cap + 7) / 8, 4096) / 512;
	l->al_sectors = bcv_fmt_round_up((bcv_fmt_al_regions(l->tracks_cap,
							     track_shift) + 7) / 8,
					 4096) / 512;
	area = l->pb_sectors + BCV_FMT_POSITIONS * l->inv_sectors +
	       l->al_sectors + BCV_SB_COPIES * BCV_FMT_ALIGN;
	if (dev < area + BCV_FMT_ALIGN)
		return -1;
	l->data_sectors = dev - area;
	l->pb_offset = l->data_sectors;
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		l->inv_offset[p] = l->pb_offset + l->pb_sectors +
				   p * l->inv_sectors;
	l->al_offset = l->inv_offset[BCV_FMT_POSITIONS - 1] + l->inv_sectors;
	/* The two copies sit in the last 8 KiB of the (aligned) device. */
	l->sb_offset[0] = dev - 2 * BCV_FMT_ALIGN;
	l->sb_offset[1] = dev - BCV_FMT_ALIGN;
	return 0;
}

#endif /* _UAPI_LINUX_BCV_FORMAT_H */
