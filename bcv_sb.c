// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: checking a superblock copy read from a device.  See bcv_sb.h; the
 * rules are those of Documentation/bcv-format.rst, "Validity".
 *
 * Pure code shared with the userspace fuzzers: no kernel-only call (the
 * crc, the byte order and memchr_inv() come from bcv_shim.h), and no
 * assumption about the block but its size: every field is range-checked
 * before it is used as a size, an index or a shift.
 */
#include "bcv_sb.h"
#include "bcv_trackmap.h"
#include "uapi/linux/bcv.h"

/* The largest track the format allows: BCV_TRACK_SIZE_MAX, 16 MiB. */
#define BCV_SB_SHIFT_MAX	24
#define BCV_SB_NO_MM		0xffffffffU	/* bcv_sb_sess.mm: split */

static_assert(1U << BCV_SB_SHIFT_MAX == BCV_TRACK_SIZE_MAX, "track size");
static_assert(sizeof(struct bcv_sb) <= BCV_SB_SIZE, "superblock size");

/*
 * The crc of a whole BCV_SB_SIZE block, its crc field read as zero: in
 * three pieces, so that the block (which may be the caller's only copy)
 * is never written, not even for a moment.
 */
static u32 bcv_sb_crc_of(const struct bcv_sb *sb)
{
	static const u8 zero[sizeof(sb->crc)];
	const size_t off = offsetof(struct bcv_sb, crc);
	const u8 *b = (const u8 *)sb;
	u32 crc;

	crc = crc32c(~0U, b, off);
	crc = crc32c(crc, zero, sizeof(zero));
	crc = crc32c(crc, b + off + sizeof(zero),
		     BCV_SB_SIZE - off - sizeof(zero));
	return ~crc;
}

/*
 * A volume name, by the rules of bcv_check_name() (bcv_core.h, which is
 * not pure): 1..31 bytes of [A-Za-z0-9._+-], not starting with '.' or
 * '-', NUL-terminated within its array.
 */
static bool bcv_sb_name_ok(const char *name)
{
	size_t i, len = strnlen(name, BCV_FMT_NAME_LEN);

	if (!len || len == BCV_FMT_NAME_LEN || name[0] == '.' ||
	    name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* A session record: all zero when unused, else in range. */
static bool bcv_sb_sess_ok(const struct bcv_sb_sess *r)
{
	u32 flags = le32_to_cpu(r->flags), state = le32_to_cpu(r->state);
	u32 mm = le32_to_cpu(r->mm);

	if (!(flags & BCV_SB_SESS_USED))
		return !memchr_inv(r, 0, sizeof(*r));
	if (flags & ~(BCV_SB_SESS_USED | BCV_SB_SESS_PROTECT) ||
	    le32_to_cpu(r->id) >= BCV_FMT_SESSIONS ||
	    !bcv_sb_name_ok(r->peer_name))
		return false;
	if (state < BCV_STATE_SYNCINPROG || state > BCV_STATE_RESTORED)
		return false;
	/* A protected restore only: it never writes the BCV. */
	if ((flags & BCV_SB_SESS_PROTECT) && state != BCV_STATE_RESTINPROG &&
	    state != BCV_STATE_RESTORED)
		return false;
	if (state == BCV_STATE_SPLIT)
		return mm == BCV_SB_NO_MM;
	return mm < BCV_FMT_POSITIONS;
}

/*
 * The layout fields must be exactly what bcv_fmt_layout() computes for
 * the device the copy sits on: the tables are read and written where they
 * say, so a stored offset is never trusted on its own.
 */
static bool bcv_sb_layout_ok(const struct bcv_sb *sb,
			     const struct bcv_fmt_layout *l)
{
	unsigned int p;

	if (le64_to_cpu(sb->data_sectors) != l->data_sectors ||
	    le64_to_cpu(sb->tracks_cap) != l->tracks_cap ||
	    le64_to_cpu(sb->pb_offset) != l->pb_offset ||
	    le64_to_cpu(sb->pb_sectors) != l->pb_sectors ||
	    le64_to_cpu(sb->inv_sectors) != l->inv_sectors ||
	    le64_to_cpu(sb->al_offset) != l->al_offset ||
	    le64_to_cpu(sb->al_sectors) != l->al_sectors)
		return false;
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		if (le64_to_cpu(sb->inv_offset[p]) != l->inv_offset[p])
			return false;
	return true;
}

/**
 * bcv_sb_check() - is a superblock copy read from a device usable?
 * @sb: the whole BCV_SB_SIZE block as read (not written to)
 * @dev_sectors: the size of the device it was read from, in sectors
 *
 * Checks the magic, version, checksum and features, then every field a
 * later step relies on: role, track size, legs and position, flags, name,
 * that the layout is bcv_fmt_layout() of this device (a device that grew
 * or shrank is refused), the volume's size and track count, leg flags and
 * the session records.  What it does not check is what only makes sense
 * across devices (the legs of one volume against each other: assembly).
 *
 * Context: any; does not sleep and allocates nothing.
 * Return: %BCV_SB_OK if the copy is valid, else the first rule it breaks.
 */
enum bcv_sb_verdict bcv_sb_check(const struct bcv_sb *sb, u64 dev_sectors)
{
	struct bcv_fmt_layout l;
	u32 shift, nr_legs, pos, role;
	u64 sectors, tracks;
	unsigned int i;

	if (memcmp(sb->magic, BCV_SB_MAGIC, sizeof(sb->magic)))
		return BCV_SB_BAD_MAGIC;
	if (le32_to_cpu(sb->version) != BCV_SB_VERSION)
		return BCV_SB_BAD_VERSION;
	if (le32_to_cpu(sb->crc) != bcv_sb_crc_of(sb))
		return BCV_SB_BAD_CRC;
	if (le64_to_cpu(sb->features) != BCV_SB_FEATURES)
		return BCV_SB_BAD_FEATURES;
	role = le32_to_cpu(sb->role);
	shift = le32_to_cpu(sb->track_shift);
	nr_legs = le32_to_cpu(sb->nr_legs);
	pos = le32_to_cpu(sb->leg_pos);
	sectors = le64_to_cpu(sb->sectors);
	tracks = le64_to_cpu(sb->tracks);
	if (role != BCV_ROLE_STD && role != BCV_ROLE_BCV)
		return BCV_SB_BAD_ROLE;
	/* Before bcv_fmt_layout() and bcv_tracks(), which shift by it. */
	if (shift < BCV_SECTOR_SHIFT || shift > BCV_SB_SHIFT_MAX)
		return BCV_SB_BAD_SHIFT;
	if (nr_legs < 1 || nr_legs > BCV_FMT_LEGS || pos >= nr_legs)
		return BCV_SB_BAD_LEGS;
	if (le32_to_cpu(sb->flags) & ~(BCV_SB_F_CLEAN | BCV_SB_F_NO_INTENT))
		return BCV_SB_BAD_FLAGS;
	if (!bcv_sb_name_ok(sb->name))
		return BCV_SB_BAD_NAME;
	if (le64_to_cpu(sb->dev_sectors) != dev_sectors ||
	    bcv_fmt_layout(dev_sectors, shift, &l))
		return BCV_SB_BAD_DEV_SIZE;
	if (!bcv_sb_layout_ok(sb, &l))
		return BCV_SB_BAD_LAYOUT;
	if (memchr_inv(sb->reserved, 0, sizeof(sb->reserved)))
		return BCV_SB_BAD_RESERVED;
	/* sectors <= data_sectors keeps bcv_tracks() from overflowing. */
	if (!sectors || sectors > l.data_sectors ||
	    tracks != bcv_tracks(sectors, shift))
		return BCV_SB_BAD_SIZE;
	if (tracks > BCV_TM_MAX_TRACKS)
		return BCV_SB_TOO_MANY_TRACKS;
	for (i = 0; i < BCV_FMT_LEGS; i++)
		if (le32_to_cpu(sb->legs[i].flags) &
		    ~(BCV_SB_LEG_FAILED | BCV_SB_LEG_SYNCING))
			return BCV_SB_BAD_LEG_FLAGS;
	for (i = 0; i < BCV_FMT_SESSIONS; i++) {
		const struct bcv_sb_sess *r = &sb->sess[i];

		/* A BCV has no PB columns; a STD's record s is column s. */
		if (role != BCV_ROLE_STD && memchr_inv(r, 0, sizeof(*r)))
			return BCV_SB_BAD_SESSION;
		if (!bcv_sb_sess_ok(r))
			return BCV_SB_BAD_SESSION;
		if ((le32_to_cpu(r->flags) & BCV_SB_SESS_USED) &&
		    le32_to_cpu(r->id) != i)
			return BCV_SB_BAD_SESSION;
	}
	if (role == BCV_ROLE_STD && memchr_inv(&sb->link, 0, sizeof(sb->link)))
		return BCV_SB_BAD_LINK;
	if (!bcv_sb_sess_ok(&sb->link))
		return BCV_SB_BAD_LINK;
	return BCV_SB_OK;
}
