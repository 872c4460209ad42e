// SPDX-License-Identifier: GPL-2.0
/*
 * bcv_fmt: read the on-disk metadata of a bcv leg from userspace.  See
 * bcv_fmt.h and include/uapi/linux/bcv_format.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include <uapi/linux/bcv.h>

#include "bcv_fmt.h"

_Static_assert(sizeof(struct bcv_sb) <= BCV_SB_SIZE,
	       "struct bcv_sb must fit in one copy");
_Static_assert(sizeof(struct bcv_sb_leg) == 32, "struct bcv_sb_leg size");
_Static_assert(sizeof(struct bcv_sb_sess) == 64, "struct bcv_sb_sess size");

#define IO_ALIGN	4096		/* buffers and O_DIRECT reads */
#define CHUNK		(1U << 20)	/* table reads */

/*------------------------------------------------------------------------
 * CRC-32C (Castagnoli), reflected polynomial 0x82f63b78, byte at a time.
 */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

/* The running register: no pre- or post-inversion. */
static uint32_t crc_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_ready)
		crc_init();
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t bcv_crc32c(const void *buf, size_t len)
{
	return ~crc_update(~0U, buf, len);
}

uint32_t bcv_fmt_sb_crc(const void *block)
{
	static const uint8_t zero[sizeof(((struct bcv_sb *)0)->crc)];
	const size_t off = offsetof(struct bcv_sb, crc);
	const uint8_t *b = block;
	uint32_t crc = ~0U;

	crc = crc_update(crc, b, off);
	crc = crc_update(crc, zero, sizeof(zero));
	crc = crc_update(crc, b + off + sizeof(zero),
			 BCV_SB_SIZE - off - sizeof(zero));
	return ~crc;
}

/*------------------------------------------------------------------------
 * UUIDs
 */

char *bcv_fmt_uuid_str(const uint8_t u[BCV_FMT_UUID_LEN],
		       char out[BCV_FMT_UUID_STR])
{
	snprintf(out, BCV_FMT_UUID_STR,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	return out;
}

bool bcv_fmt_uuid_eq(const uint8_t a[BCV_FMT_UUID_LEN],
		     const uint8_t b[BCV_FMT_UUID_LEN])
{
	return !memcmp(a, b, BCV_FMT_UUID_LEN);
}

bool bcv_fmt_uuid_null(const uint8_t u[BCV_FMT_UUID_LEN])
{
	static const uint8_t zero[BCV_FMT_UUID_LEN];

	return bcv_fmt_uuid_eq(u, zero);
}

uint64_t bcv_fmt_meta_sectors(const struct bcv_fmt_sb *sb)
{
	return sb->layout.dev_sectors - sb->layout.data_sectors;
}

/*------------------------------------------------------------------------
 * Checking one copy
 */

const char *bcv_fmt_status_name(enum bcv_fmt_status st)
{
	switch (st) {
	case BCV_FMT_OK:
		return "ok";
	case BCV_FMT_BLANK:
		return "blank";
	case BCV_FMT_NO_MAGIC:
		return "no superblock";
	case BCV_FMT_BAD_CRC:
		return "bad checksum";
	case BCV_FMT_BAD_VERSION:
		return "unsupported version";
	case BCV_FMT_BAD_FEATURES:
		return "unknown features";
	case BCV_FMT_BAD_FIELD:
		return "bad field";
	case BCV_FMT_BAD_LAYOUT:
		return "bad layout";
	case BCV_FMT_IO_ERROR:
		return "read error";
	}
	return "unknown";
}

/* The volume name rules of the kernel: 1..31 of [A-Za-z0-9._+-]. */
static bool name_ok(const char *name, size_t len)
{
	size_t i, n = strnlen(name, len);

	if (!n || n == len || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '+' || ch == '-'))
			return false;
	}
	return true;
}

static void decode_sess(const struct bcv_sb_sess *in, struct bcv_fmt_sess *o)
{
	memcpy(o->peer_uuid, in->peer_uuid, sizeof(o->peer_uuid));
	memcpy(o->peer_name, in->peer_name, sizeof(in->peer_name));
	o->peer_name[sizeof(in->peer_name)] = '\0';
	o->flags = le32toh(in->flags);
	o->id = le32toh(in->id);
	o->state = le32toh(in->state);
	o->mm = le32toh(in->mm);
}

static void decode(const struct bcv_sb *in, struct bcv_fmt_sb *o)
{
	unsigned int i;

	memset(o, 0, sizeof(*o));
	o->version = le32toh(in->version);
	o->features = le64toh(in->features);
	o->seq = le64toh(in->seq);
	o->events = le64toh(in->events);
	o->ctime = le64toh(in->ctime);
	o->utime = le64toh(in->utime);
	memcpy(o->vol_uuid, in->vol_uuid, sizeof(o->vol_uuid));
	memcpy(o->name, in->name, sizeof(o->name));
	o->role = le32toh(in->role);
	o->flags = le32toh(in->flags);
	o->track_shift = le32toh(in->track_shift);
	o->nr_legs = le32toh(in->nr_legs);
	o->leg_pos = le32toh(in->leg_pos);
	o->sectors = le64toh(in->sectors);
	o->tracks = le64toh(in->tracks);
	o->layout.dev_sectors = le64toh(in->dev_sectors);
	o->layout.data_sectors = le64toh(in->data_sectors);
	o->layout.tracks_cap = le64toh(in->tracks_cap);
	o->layout.pb_offset = le64toh(in->pb_offset);
	o->layout.pb_sectors = le64toh(in->pb_sectors);
	for (i = 0; i < BCV_FMT_POSITIONS; i++)
		o->layout.inv_offset[i] = le64toh(in->inv_offset[i]);
	o->layout.inv_sectors = le64toh(in->inv_sectors);
	o->layout.al_offset = le64toh(in->al_offset);
	o->layout.al_sectors = le64toh(in->al_sectors);
	for (i = 0; i < BCV_FMT_LEGS; i++) {
		memcpy(o->legs[i].uuid, in->legs[i].uuid, BCV_FMT_UUID_LEN);
		o->legs[i].flags = le32toh(in->legs[i].flags);
	}
	for (i = 0; i < BCV_FMT_SESSIONS; i++)
		decode_sess(&in->sess[i], &o->sess[i]);
	decode_sess(&in->link, &o->link);
}

__attribute__((format(printf, 3, 4)))
static enum bcv_fmt_status bad(struct bcv_fmt_copy *c, enum bcv_fmt_status st,
			       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->status = st;
	return st;
}

/* Fields and layout of a copy whose checksum and version are good. */
static enum bcv_fmt_status check_fields(const struct bcv_fmt_sb *sb,
					uint64_t dev_sectors,
					struct bcv_fmt_copy *c)
{
	struct bcv_fmt_layout l;
	const struct bcv_fmt_layout *s = &sb->layout;
	uint64_t tsec;
	unsigned int p;

	if (sb->features & ~BCV_SB_FEATURES)
		return bad(c, BCV_FMT_BAD_FEATURES, "unknown features 0x%" PRIx64,
			   (uint64_t)(sb->features & ~(uint64_t)BCV_SB_FEATURES));
	if (!name_ok(sb->name, sizeof(sb->name)))
		return bad(c, BCV_FMT_BAD_FIELD, "bad volume name");
	if (sb->role != BCV_ROLE_STD && sb->role != BCV_ROLE_BCV)
		return bad(c, BCV_FMT_BAD_FIELD, "bad role %" PRIu32, sb->role);
	if (sb->nr_legs < 1 || sb->nr_legs > BCV_FMT_LEGS)
		return bad(c, BCV_FMT_BAD_FIELD, "bad number of legs %" PRIu32,
			   sb->nr_legs);
	if (sb->leg_pos >= sb->nr_legs)
		return bad(c, BCV_FMT_BAD_FIELD, "leg position %" PRIu32
			   " out of range (%" PRIu32 " legs)", sb->leg_pos,
			   sb->nr_legs);
	if (sb->track_shift < BCV_FMT_SHIFT_MIN ||
	    sb->track_shift > BCV_FMT_SHIFT_MAX)
		return bad(c, BCV_FMT_BAD_FIELD, "bad track shift %" PRIu32,
			   sb->track_shift);

	if (bcv_fmt_layout(s->dev_sectors, sb->track_shift, &l))
		return bad(c, BCV_FMT_BAD_LAYOUT, "device size %" PRIu64
			   " sectors too small for its layout",
			   (uint64_t)s->dev_sectors);
	if (s->dev_sectors / BCV_FMT_ALIGN != dev_sectors / BCV_FMT_ALIGN)
		return bad(c, BCV_FMT_BAD_LAYOUT, "written for a device of %"
			   PRIu64 " sectors, this one has %" PRIu64,
			   (uint64_t)s->dev_sectors, dev_sectors);
	if (s->data_sectors != l.data_sectors ||
	    s->tracks_cap != l.tracks_cap || s->pb_offset != l.pb_offset ||
	    s->pb_sectors != l.pb_sectors || s->inv_sectors != l.inv_sectors ||
	    s->al_offset != l.al_offset || s->al_sectors != l.al_sectors)
		return bad(c, BCV_FMT_BAD_LAYOUT, "table layout does not match "
			   "the device size");
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		if (s->inv_offset[p] != l.inv_offset[p])
			return bad(c, BCV_FMT_BAD_LAYOUT, "table layout does "
				   "not match the device size");

	tsec = 1ULL << (sb->track_shift - 9);
	if (!sb->sectors || sb->sectors > s->data_sectors)
		return bad(c, BCV_FMT_BAD_FIELD, "volume size %" PRIu64
			   " sectors does not fit the data area (%" PRIu64
			   " sectors)", sb->sectors, (uint64_t)s->data_sectors);
	if (sb->tracks != (sb->sectors + tsec - 1) / tsec ||
	    sb->tracks > s->tracks_cap)
		return bad(c, BCV_FMT_BAD_FIELD, "track count %" PRIu64
			   " does not match the size", sb->tracks);
	return BCV_FMT_OK;
}

enum bcv_fmt_status bcv_fmt_check(const void *block, uint64_t dev_sectors,
				  struct bcv_fmt_sb *out,
				  struct bcv_fmt_copy *c)
{
	const uint8_t *b = block;
	struct bcv_sb raw;
	struct bcv_fmt_sb sb;
	uint32_t crc;
	size_t i;

	c->status = BCV_FMT_OK;
	c->have_seq = false;
	c->seq = 0;
	c->why[0] = '\0';
	memcpy(&raw, block, sizeof(raw));
	if (memcmp(raw.magic, BCV_SB_MAGIC, sizeof(raw.magic))) {
		for (i = 0; i < BCV_SB_SIZE && !b[i]; i++)
			;
		return bad(c, i == BCV_SB_SIZE ? BCV_FMT_BLANK :
			   BCV_FMT_NO_MAGIC, "no superblock");
	}
	decode(&raw, &sb);
	c->have_seq = true;
	c->seq = sb.seq;
	crc = le32toh(raw.crc);
	if (crc != bcv_fmt_sb_crc(block)) {
		/* Another version may checksum otherwise: say which. */
		if (sb.version != BCV_SB_VERSION)
			return bad(c, BCV_FMT_BAD_VERSION, "unsupported "
				   "version %" PRIu32, sb.version);
		return bad(c, BCV_FMT_BAD_CRC, "bad checksum");
	}
	if (sb.version != BCV_SB_VERSION)
		return bad(c, BCV_FMT_BAD_VERSION, "unsupported version %"
			   PRIu32, sb.version);
	if (check_fields(&sb, dev_sectors, c) != BCV_FMT_OK)
		return c->status;
	if (out)
		*out = sb;
	return BCV_FMT_OK;
}

/*------------------------------------------------------------------------
 * Reading a device
 */

/*
 * Read @len bytes at @off, all of them.  A device that refuses an O_DIRECT
 * read (EINVAL: a larger logical block size) is read through the page
 * cache instead.  Returns 0 or -errno (-EIO for a short read).
 */
static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	bool direct_dropped = false;
	size_t done = 0;
	ssize_t n;
	int fl;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
			  (off_t)(off + done));
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && !direct_dropped) {
			fl = fcntl(fd, F_GETFL);
			if (fl >= 0 && (fl & O_DIRECT) &&
			    !fcntl(fd, F_SETFL, fl & ~O_DIRECT)) {
				direct_dropped = true;
				continue;
			}
		}
		return -errno;
	}
	return 0;
}

int bcv_fmt_dev_sectors(int fd, uint64_t *sectors)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		return -ENOTBLK;
	}
	*sectors = bytes / 512;
	return 0;
}

int bcv_fmt_read_dev(int fd, uint64_t dev_sectors, struct bcv_fmt_read *r)
{
	uint64_t dev = dev_sectors / BCV_FMT_ALIGN * BCV_FMT_ALIGN;
	struct bcv_fmt_sb sb;
	void *buf;
	int i, err;

	memset(r, 0, sizeof(*r));
	r->dev_sectors = dev_sectors;
	r->used = -1;
	if (dev_sectors < BCV_FMT_MIN_SECTORS) {
		r->too_small = true;
		for (i = 0; i < BCV_SB_COPIES; i++)
			bad(&r->copy[i], BCV_FMT_BLANK, "no superblock");
		return -1;
	}
	if (posix_memalign(&buf, IO_ALIGN, BCV_SB_SIZE))
		return -1;
	for (i = 0; i < BCV_SB_COPIES; i++) {
		struct bcv_fmt_copy *c = &r->copy[i];

		/* The copies sit in the last 8 KiB of the aligned device. */
		c->offset = dev - (uint64_t)(BCV_SB_COPIES - i) * BCV_FMT_ALIGN;
		err = read_full(fd, buf, BCV_SB_SIZE, c->offset * 512);
		if (err) {
			bad(c, BCV_FMT_IO_ERROR, "read error (%s)",
			    strerror(-err));
			continue;
		}
		if (bcv_fmt_check(buf, dev_sectors, &sb, c) != BCV_FMT_OK)
			continue;
		/* The higher seq wins; on a tie the higher events. */
		if (r->used < 0 || sb.seq > r->sb.seq ||
		    (sb.seq == r->sb.seq && sb.events > r->sb.events)) {
			r->used = i;
			r->sb = sb;
		}
	}
	free(buf);
	return r->used >= 0 ? 0 : -1;
}

static bool absent(const struct bcv_fmt_copy *c)
{
	return c->status == BCV_FMT_BLANK || c->status == BCV_FMT_NO_MAGIC;
}

bool bcv_fmt_has_magic(const struct bcv_fmt_read *r)
{
	int i;

	for (i = 0; i < BCV_SB_COPIES; i++)
		if (r->copy[i].have_seq)
			return true;
	return false;
}

const char *bcv_fmt_reason(const struct bcv_fmt_read *r, char *buf,
			   size_t len)
{
	const struct bcv_fmt_copy *a = &r->copy[0], *b = &r->copy[1];

	if (r->used >= 0)
		snprintf(buf, len, "valid bcv superblock (copy %d)", r->used);
	else if (r->too_small)
		snprintf(buf, len, "too small for bcv metadata (%" PRIu64
			 " sectors)", r->dev_sectors);
	else if (absent(a) && absent(b))
		snprintf(buf, len, "no bcv superblock");
	else if (absent(a) || absent(b))
		snprintf(buf, len, "the only superblock copy (copy %d) is "
			 "damaged (%s)", absent(a) ? 1 : 0,
			 absent(a) ? b->why : a->why);
	else if (!strcmp(a->why, b->why))
		snprintf(buf, len, "both superblock copies are damaged (%s)",
			 a->why);
	else
		snprintf(buf, len, "both superblock copies are damaged (copy "
			 "0: %s; copy 1: %s)", a->why, b->why);
	return buf;
}

/*------------------------------------------------------------------------
 * Table summaries
 */

/* Bits set in the first @bits bits of the bitmap at @sector. */
static int count_bitmap(int fd, uint8_t *buf, uint64_t sector, uint64_t bits,
			uint64_t *count)
{
	uint64_t bytes = (bits + 7) / 8, done = 0, n = 0;
	size_t want, i;
	int err;

	while (done < bytes) {
		uint64_t left = bytes - done;

		want = left < CHUNK ? (size_t)left : CHUNK;
		/* Read whole 4 KiB blocks (the tables are padded to them). */
		err = read_full(fd, buf, (want + IO_ALIGN - 1) / IO_ALIGN *
				IO_ALIGN, sector * 512 + done);
		if (err)
			return err;
		if (want == left && bits % 8)	/* the last, partial byte */
			buf[want - 1] &= (uint8_t)((1U << (bits % 8)) - 1);
		for (i = 0; i < want; i++)
			n += (uint64_t)__builtin_popcount(buf[i]);
		done += want;
	}
	*count = n;
	return 0;
}

static int count_pb(int fd, uint8_t *buf, uint64_t sector, uint64_t tracks,
		    uint64_t changed[BCV_FMT_SESSIONS])
{
	uint64_t bytes = tracks * 2, done = 0;
	size_t want, i;
	int err;

	while (done < bytes) {
		uint64_t left = bytes - done;

		want = left < CHUNK ? (size_t)left : CHUNK;
		err = read_full(fd, buf, (want + IO_ALIGN - 1) / IO_ALIGN *
				IO_ALIGN, sector * 512 + done);
		if (err)
			return err;
		for (i = 0; i + 1 < want; i += 2) {
			unsigned int row = buf[i] | (unsigned int)buf[i + 1] << 8;

			while (row) {
				changed[__builtin_ctz(row)]++;
				row &= row - 1;
			}
		}
		done += want;
	}
	return 0;
}

int bcv_fmt_summary(int fd, const struct bcv_fmt_sb *sb,
		    struct bcv_fmt_summary *s)
{
	void *buf;
	unsigned int p;
	int err;

	memset(s, 0, sizeof(*s));
	if (posix_memalign(&buf, IO_ALIGN, CHUNK))
		return -ENOMEM;
	err = count_pb(fd, buf, sb->layout.pb_offset, sb->tracks, s->changed);
	for (p = 0; !err && p < BCV_FMT_POSITIONS; p++)
		err = count_bitmap(fd, buf, sb->layout.inv_offset[p],
				   sb->tracks, &s->invalid[p]);
	s->region_tracks = 1ULL << bcv_fmt_al_shift(sb->track_shift);
	if (!err)
		err = count_bitmap(fd, buf, sb->layout.al_offset,
				   (sb->tracks >> bcv_fmt_al_shift(sb->track_shift)) + 1,
				   &s->active_regions);
	free(buf);
	return err;
}
