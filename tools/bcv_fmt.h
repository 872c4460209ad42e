/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv_fmt: the on-disk metadata format read from userspace (bcvctl
 * examine, assemble --scan/--incremental, create's refusal of a device
 * that holds bcv metadata).  include/uapi/linux/bcv_format.h is the
 * format; this is a reader for it, with no other dependency than libc, so
 * that tests/unit links it alone.
 *
 * A device's superblock is the valid copy with the higher seq; a copy is
 * valid when it has the magic, a good crc32c, version 1, no unknown
 * feature, fields in range and a layout that is bcv_fmt_layout() of the
 * device it sits on.  Nothing here writes.
 */
#ifndef BCV_FMT_H
#define BCV_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uapi/linux/bcv_format.h>

/* The smallest device that can hold metadata and one 4 KiB data block. */
#define BCV_FMT_MIN_SECTORS	72
#define BCV_FMT_SHIFT_MIN	9	/* 512-byte tracks */
#define BCV_FMT_SHIFT_MAX	24	/* BCV_TRACK_SIZE_MAX, 16 MiB */
#define BCV_FMT_NO_MM		0xffffffffU	/* bcv_sb_sess.mm: not attached */
#define BCV_FMT_UUID_STR	37	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* CRC-32C (Castagnoli) of @len bytes: seed ~0, final xor ~0, as the kernel's
 * ~crc32c(~0, buf, len).  bcv_crc32c("123456789", 9) == 0xe3069283. */
uint32_t bcv_crc32c(const void *buf, size_t len);

/* The crc of a superblock copy: over its BCV_SB_SIZE bytes, crc field as 0. */
uint32_t bcv_fmt_sb_crc(const void *block);

/* One session record, in host byte order. */
struct bcv_fmt_sess {
	uint8_t peer_uuid[BCV_FMT_UUID_LEN];
	char peer_name[BCV_FMT_NAME_LEN + 1];	/* always NUL-terminated */
	uint32_t flags;				/* BCV_SB_SESS_* */
	uint32_t id;
	uint32_t state;				/* BCV_STATE_* */
	uint32_t mm;				/* 0..3, or BCV_FMT_NO_MM */
};

struct bcv_fmt_leg {
	uint8_t uuid[BCV_FMT_UUID_LEN];
	uint32_t flags;				/* BCV_SB_LEG_* */
};

/* A superblock copy decoded to host byte order. */
struct bcv_fmt_sb {
	uint32_t version;
	uint64_t features, seq, events, ctime, utime;
	uint8_t vol_uuid[BCV_FMT_UUID_LEN];
	char name[BCV_FMT_NAME_LEN];		/* NUL-terminated (checked) */
	uint32_t role, flags, track_shift, nr_legs, leg_pos;
	uint64_t sectors, tracks;
	struct bcv_fmt_layout layout;		/* as stored (and checked) */
	struct bcv_fmt_leg legs[BCV_FMT_LEGS];
	struct bcv_fmt_sess sess[BCV_FMT_SESSIONS];
	struct bcv_fmt_sess link;
};

enum bcv_fmt_status {
	BCV_FMT_OK,
	BCV_FMT_BLANK,		/* no magic, all zero: never written/erased */
	BCV_FMT_NO_MAGIC,	/* no magic, not zero: not a superblock */
	BCV_FMT_BAD_CRC,	/* magic, but the checksum does not match */
	BCV_FMT_BAD_VERSION,	/* good checksum, version not 1 */
	BCV_FMT_BAD_FEATURES,	/* unknown feature bits */
	BCV_FMT_BAD_FIELD,	/* a field out of range */
	BCV_FMT_BAD_LAYOUT,	/* the layout does not fit this device */
	BCV_FMT_IO_ERROR,	/* the copy could not be read */
};

/* What became of one superblock copy. */
struct bcv_fmt_copy {
	enum bcv_fmt_status status;
	uint64_t offset;	/* sectors from the device's start */
	bool have_seq;		/* the magic was there: @seq was read */
	uint64_t seq;
	char why[96];		/* "bad checksum", "unsupported version 2", ... */
};

/* The result of reading a device's metadata. */
struct bcv_fmt_read {
	uint64_t dev_sectors;	/* the device's size, as given */
	bool too_small;		/* smaller than BCV_FMT_MIN_SECTORS */
	struct bcv_fmt_copy copy[BCV_SB_COPIES];
	int used;		/* copy taken, -1 if none is valid */
	struct bcv_fmt_sb sb;	/* that copy, when @used >= 0 */
};

/* Short words for a status: "ok", "bad checksum", ... */
const char *bcv_fmt_status_name(enum bcv_fmt_status st);

/*
 * Check and decode one BCV_SB_SIZE copy @block read from a device of
 * @dev_sectors.  Fills @c (status, seq, why) and, when valid, @out.
 * Returns @c->status.
 */
enum bcv_fmt_status bcv_fmt_check(const void *block, uint64_t dev_sectors,
				  struct bcv_fmt_sb *out,
				  struct bcv_fmt_copy *c);

/*
 * Read both copies of the device open at @fd, of @dev_sectors, and take
 * the valid one with the higher seq.  Returns 0 with @r->used >= 0, or -1
 * (@r says why: bcv_fmt_reason()).  @fd may be O_DIRECT: reads are 4 KiB
 * aligned (and retried without O_DIRECT if the device refuses them).
 */
int bcv_fmt_read_dev(int fd, uint64_t dev_sectors, struct bcv_fmt_read *r);

/* At least one copy carries the magic (bcv metadata, valid or damaged). */
bool bcv_fmt_has_magic(const struct bcv_fmt_read *r);

/*
 * One line saying why @r has no valid superblock: "no bcv superblock",
 * "both superblock copies are damaged (bad checksum)", ...
 */
const char *bcv_fmt_reason(const struct bcv_fmt_read *r, char *buf,
			   size_t len);

/* Size in sectors of the block device or regular file at @fd; 0 or -errno. */
int bcv_fmt_dev_sectors(int fd, uint64_t *sectors);

/* Counts of the tables of one leg, tracks 0..sb->tracks - 1. */
struct bcv_fmt_summary {
	uint64_t invalid[BCV_FMT_POSITIONS];	/* Track ID bits set: M1..M4
						 * (M4b on a BCV) */
	uint64_t changed[BCV_FMT_SESSIONS];	/* PB column bits set */
	uint64_t active_regions;		/* activity log bits set */
	uint64_t region_tracks;			/* tracks per AL region */
};

/* Read the tables of @sb (valid, from the device at @fd); 0 or -errno. */
int bcv_fmt_summary(int fd, const struct bcv_fmt_sb *sb,
		    struct bcv_fmt_summary *s);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. */
char *bcv_fmt_uuid_str(const uint8_t uuid[BCV_FMT_UUID_LEN],
		       char out[BCV_FMT_UUID_STR]);
bool bcv_fmt_uuid_eq(const uint8_t a[BCV_FMT_UUID_LEN],
		     const uint8_t b[BCV_FMT_UUID_LEN]);
bool bcv_fmt_uuid_null(const uint8_t u[BCV_FMT_UUID_LEN]);

/* Metadata area of @sb's device in sectors: dev_sectors - data_sectors. */
uint64_t bcv_fmt_meta_sectors(const struct bcv_fmt_sb *sb);

#endif /* BCV_FMT_H */
