// SPDX-License-Identifier: GPL-2.0
/*
 * metafuzz: mutate the bcv metadata on devices, for the guest fuzzer
 * tests/vm-tests/test_metafuzz_22.sh (the guest has no python).  The
 * format is include/uapi/linux/bcv_format.h; the crc is recomputed with
 * bcvctl's own reader (tools/bcv_fmt.c), so that most mutations get past
 * the checksum and reach the checks behind it.
 *
 *   metafuzz mutate SEED DEV...
 *       1 to 3 mutations chosen by SEED (the same SEED, devices and
 *       contents give the same mutations), one line each on stdout:
 *       - superblock (3 in 4): a field-aware change of one device's
 *         copies, or of every leg of one volume alike (sizes, shifts and
 *         the layout recomputed to match or not, counts, positions, flags,
 *         leg and session records, names, UUIDs taken from another volume,
 *         sequence and event counters, offsets, reserved fields, random
 *         bytes in or after the structure, a copy zeroed, garbage, or a
 *         copy transplanted from another device), to both copies, the one
 *         in use or the other, with the crc recomputed 9 times in 10;
 *       - tables (1 in 4): random bits, all ones, all zeros or random
 *         bytes in one 4 KiB block of a table, or a whole table.
 *   metafuzz forge TEMPLATE DEV SHIFT [FILL]
 *       write to both copies of DEV the superblock of the 4 KiB file
 *       TEMPLATE rewritten for DEV's size and tracks of 2^SHIFT bytes (the
 *       layout, a volume of the whole data area, no sessions, one leg,
 *       clean), and with FILL (a byte, e.g. 0xff) the Track ID bitmaps
 *       and the activity log (0xff: no position holds any track): a large
 *       sparse device that claims small tracks.
 *   metafuzz set DEV FIELD=VALUE...
 *       set fields (seq, events, flags, ...: the names of the mutations'
 *       table, and sess[N].flags, .id, .state, .mm of session record N)
 *       in both copies of DEV, the crc recomputed; seq VALUE goes to copy
 *       (VALUE & 1), VALUE - 1 to the other, as the module writes.
 *   metafuzz dump DEV
 *       both superblock copies of DEV, one hex line each ("copy N HEX"),
 *       for tests/fuzz/corpus/fuzz_sb/.
 *
 * Exit: 0, 1 on an I/O error, 2 on bad usage.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/bcv_fmt.h"
#include "uapi/linux/bcv.h"

#define MAX_DEVS	16
#define SB		BCV_SB_SIZE

struct dev {
	const char *path;
	int fd;
	uint64_t sectors;
	uint64_t at[BCV_SB_COPIES];	/* byte offset of each copy */
	uint8_t blk[BCV_SB_COPIES][SB];	/* as read, then mutated */
	bool dirty[BCV_SB_COPIES];
	int cur;			/* the valid copy with the higher seq */
	struct bcv_fmt_sb sb;		/* copy @cur decoded (if >= 0) */
};

static struct dev devs[MAX_DEVS];
static unsigned int ndevs;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "metafuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/*------------------------------------------------------------------------
 * Choices: xorshift64* from the seed, so that a seed is a mutation
 */

static uint64_t rng;

static void rng_seed(uint64_t s)
{
	/* splitmix64: every seed, 0 included, gives a good state. */
	s += 0x9e3779b97f4a7c15ULL;
	s = (s ^ (s >> 30)) * 0xbf58476d1ce4e5b9ULL;
	s = (s ^ (s >> 27)) * 0x94d049bb133111ebULL;
	rng = (s ^ (s >> 31)) | 1;
}

static uint64_t r64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(r64() % n) : 0;
}

static bool pct(unsigned int p)
{
	return rnd(100) < p;
}

/* Values that sit on the edges of what a field may hold. */
static uint64_t edge64(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 8, 9, 15, 16, 24, 25, 31, 32, 40, 63, 64, 0x7f,
		0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000, 0x7fffffff,
		0x80000000, 0xffffffff, 0x100000000ULL, 1ULL << 29,
		(1ULL << 29) + 1, 1ULL << 32, 1ULL << 40, 1ULL << 54,
		1ULL << 62, 1ULL << 63, ~0ULL - 7, ~0ULL - 1, ~0ULL,
	};

	return v[rnd(sizeof(v) / sizeof(v[0]))];
}

/* A new value for a field holding @old. */
static uint64_t tweak(uint64_t old, unsigned int bytes)
{
	uint64_t mask = bytes == 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;

	switch (rnd(6)) {
	case 0:
		return edge64() & mask;
	case 1:
		return (old + 1 + rnd(8)) & mask;
	case 2:
		return (old - 1 - rnd(8)) & mask;
	case 3:
		return (old ^ (1ULL << rnd(8 * bytes))) & mask;
	case 4:
		return (old + (uint64_t)(rnd(2) ? 8 : -8) * (1 + rnd(4))) & mask;
	default:
		return r64() & mask;
	}
}

/*------------------------------------------------------------------------
 * Devices
 */

static void pread_all(int fd, void *buf, size_t len, uint64_t off,
		      const char *path)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
			  (off_t)(off + done));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			die("%s: read at %" PRIu64 ": %s", path, off + done,
			    n ? strerror(errno) : "end of device");
		}
		done += (size_t)n;
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off,
		       const char *path)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   (off_t)(off + done));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			die("%s: write at %" PRIu64 ": %s", path, off + done,
			    n ? strerror(errno) : "end of device");
		}
		done += (size_t)n;
	}
}

/* Read-only for dump: a close after writing is a "change" to udev. */
static void dev_open(struct dev *d, const char *path, bool rw)
{
	struct bcv_fmt_copy c;
	struct bcv_fmt_sb sb;
	uint64_t dev;
	int i, err;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0)
		die("%s: %s", path, strerror(errno));
	err = bcv_fmt_dev_sectors(d->fd, &d->sectors);
	if (err)
		die("%s: size: %s", path, strerror(-err));
	if (d->sectors < 4 * BCV_FMT_ALIGN)
		die("%s: too small", path);
	dev = d->sectors / BCV_FMT_ALIGN * BCV_FMT_ALIGN;
	d->cur = -1;
	for (i = 0; i < BCV_SB_COPIES; i++) {
		d->at[i] = (dev - (uint64_t)(BCV_SB_COPIES - i) * BCV_FMT_ALIGN) * 512;
		pread_all(d->fd, d->blk[i], SB, d->at[i], path);
		if (bcv_fmt_check(d->blk[i], d->sectors, &sb, &c) != BCV_FMT_OK)
			continue;
		if (d->cur < 0 || sb.seq > d->sb.seq) {
			d->cur = i;
			d->sb = sb;
		}
	}
}

static void dev_close(struct dev *d)
{
	int i;

	for (i = 0; i < BCV_SB_COPIES; i++)
		if (d->dirty[i])
			pwrite_all(d->fd, d->blk[i], SB, d->at[i], d->path);
	if (fsync(d->fd))
		die("%s: fsync: %s", d->path, strerror(errno));
	close(d->fd);
}

static struct bcv_sb *sbp(struct dev *d, int c)
{
	return (struct bcv_sb *)d->blk[c];
}

/* The layout of @d's tables: its superblock's, else the format's. */
static int dev_layout(struct dev *d, struct bcv_fmt_layout *l,
		      uint64_t *tracks)
{
	unsigned int shift = 16;

	if (d->cur >= 0) {
		*l = d->sb.layout;
		*tracks = d->sb.tracks;
		return 0;
	}
	if (le32toh(sbp(d, 0)->track_shift) >= 9 &&
	    le32toh(sbp(d, 0)->track_shift) <= 24)
		shift = le32toh(sbp(d, 0)->track_shift);
	if (bcv_fmt_layout(d->sectors, shift, l))
		return -1;
	*tracks = l->tracks_cap;
	return 0;
}

/*------------------------------------------------------------------------
 * Superblock mutations.  Each changes the copies in @mask of one device
 * (or of every leg of a volume, with the same random choices), appends
 * what it did to the line, and returns.
 */

static char line[1024];

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	size_t n = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
}

/* A little-endian field of 1, 2, 4 or 8 bytes at @off of a block. */
static uint64_t get_le(const uint8_t *b, size_t off, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)b[off + i] << (8 * i);
	return v;
}

static void put_le(uint8_t *b, size_t off, unsigned int bytes, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

struct field {
	const char *name;
	size_t off;
	unsigned int bytes;
};

#define F(n, m)	{ n, offsetof(struct bcv_sb, m), sizeof(((struct bcv_sb *)0)->m) }
static const struct field fields[] = {
	F("version", version), F("features", features), F("seq", seq),
	F("events", events), F("role", role), F("flags", flags),
	F("track_shift", track_shift), F("nr_legs", nr_legs),
	F("leg_pos", leg_pos), F("__pad", __pad), F("sectors", sectors),
	F("tracks", tracks), F("dev_sectors", dev_sectors),
	F("data_sectors", data_sectors), F("tracks_cap", tracks_cap),
	F("pb_offset", pb_offset), F("inv_offset[0]", inv_offset[0]),
	F("inv_offset[1]", inv_offset[1]), F("inv_offset[2]", inv_offset[2]),
	F("inv_offset[3]", inv_offset[3]), F("pb_sectors", pb_sectors),
	F("inv_sectors", inv_sectors), F("al_offset", al_offset),
	F("al_sectors", al_sectors), F("reserved[0]", reserved[0]),
	F("reserved[13]", reserved[13]), F("legs[0].flags", legs[0].flags),
	F("legs[1].flags", legs[1].flags), F("legs[2].flags", legs[2].flags),
	F("legs[1].reserved", legs[1].reserved),
	F("link.flags", link.flags), F("link.id", link.id),
	F("link.state", link.state), F("link.mm", link.mm),
};
#undef F

#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

/* The layout fields, tracks and dev_sectors as @d's size and @shift say. */
static void relayout(struct dev *d, struct bcv_sb *sb, unsigned int shift,
		     bool keep_sectors)
{
	struct bcv_fmt_layout l;
	uint64_t sectors = le64toh(sb->sectors);
	unsigned int p;

	sb->track_shift = htole32(shift);
	if (shift < 9 || shift > 40 || bcv_fmt_layout(d->sectors, shift, &l))
		return;
	sb->dev_sectors = htole64(d->sectors);
	sb->data_sectors = htole64(l.data_sectors);
	sb->tracks_cap = htole64(l.tracks_cap);
	sb->pb_offset = htole64(l.pb_offset);
	sb->pb_sectors = htole64(l.pb_sectors);
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		sb->inv_offset[p] = htole64(l.inv_offset[p]);
	sb->inv_sectors = htole64(l.inv_sectors);
	sb->al_offset = htole64(l.al_offset);
	sb->al_sectors = htole64(l.al_sectors);
	if (!keep_sectors || !sectors || sectors > l.data_sectors)
		sectors = l.data_sectors;
	sb->sectors = htole64(sectors);
	sb->tracks = htole64((sectors + (1ULL << (shift - 9)) - 1) >>
			     (shift - 9));
}

/* A session record that is valid on its own, in a random state. */
static void sess_valid(struct bcv_sb_sess *r, unsigned int id,
		       const struct bcv_sb *peer)
{
	uint32_t state = 1 + rnd(5);

	memset(r, 0, sizeof(*r));
	r->flags = htole32(BCV_SB_SESS_USED |
			   ((state == 4 || state == 5) && pct(50) ?
			    BCV_SB_SESS_PROTECT : 0));
	r->id = htole32(id);
	r->state = htole32(state);
	r->mm = htole32(state == 3 ? BCV_FMT_NO_MM : rnd(4));
	if (peer) {
		memcpy(r->peer_uuid, peer->vol_uuid, sizeof(r->peer_uuid));
		memcpy(r->peer_name, peer->name, sizeof(r->peer_name));
	} else {
		memset(r->peer_uuid, 0x5a, sizeof(r->peer_uuid));
		strcpy(r->peer_name, "ghost");
	}
}

static void bad_name(char *name)
{
	switch (rnd(5)) {
	case 0:
		memset(name, 'x', BCV_FMT_NAME_LEN);	/* no NUL */
		break;
	case 1:
		memset(name, 0, BCV_FMT_NAME_LEN);	/* empty */
		break;
	case 2:
		name[rnd(2)] = (char)(0x80 | rnd(128));	/* not [A-Za-z0-9._+-] */
		break;
	case 3:
		name[0] = rnd(2) ? '.' : '-';
		break;
	default:
		memset(name, 0, BCV_FMT_NAME_LEN);
		memset(name, 'n', BCV_FMT_NAME_LEN - 1);	/* 31: the longest */
		break;
	}
}

/*
 * One mutation of the superblock block @b of @d (the others, @peer a
 * random other device, for names and UUIDs).  The random choices come
 * from the generator, so that the legs of a volume mutated alike get the
 * same values: the caller reseeds it before each.
 */
static void sb_mutate(struct dev *d, uint8_t *b, struct dev *peer,
		      unsigned int kind, bool first)
{
	struct bcv_sb *sb = (struct bcv_sb *)b;
	const struct bcv_sb *psb = peer && peer->cur >= 0 ?
				   sbp(peer, peer->cur) : NULL;
	unsigned int i, n, s;

#define SAY(...) do { if (first) say(__VA_ARGS__); } while (0)
	switch (kind) {
	case 0: {	/* a numeric field */
		const struct field *f = &fields[rnd(NFIELDS)];
		uint64_t old = get_le(b, f->off, f->bytes);
		uint64_t v = tweak(old, f->bytes);

		put_le(b, f->off, f->bytes, v);
		SAY(" %s %" PRIu64 "->%" PRIu64, f->name, old, v);
		break;
	}
	case 1: {	/* another track size, the layout made to match */
		static const unsigned int shifts[] = {
			9, 9, 10, 12, 12, 13, 15, 16, 17, 20, 24, 24,
		};
		unsigned int shift = shifts[rnd(sizeof(shifts) / sizeof(shifts[0]))];

		relayout(d, sb, shift, pct(50));
		SAY(" track_shift %u, layout recomputed", shift);
		break;
	}
	case 2: {	/* another volume size, tracks made to match */
		uint64_t data = le64toh(sb->data_sectors), v;
		unsigned int shift = le32toh(sb->track_shift);

		if (!data || shift < 9 || shift > 40)
			break;
		v = pct(30) ? data : 1 + r64() % data;
		if (pct(20))
			v = 1 + rnd(64);
		sb->sectors = htole64(v);
		sb->tracks = htole64((v + (1ULL << (shift - 9)) - 1) >>
				     (shift - 9));
		SAY(" sectors %" PRIu64 ", tracks made to match", v);
		break;
	}
	case 3:		/* a session record, valid on its own */
		s = rnd(BCV_FMT_SESSIONS);
		if (pct(20)) {
			memset(&sb->sess[s], 0, sizeof(sb->sess[s]));
			SAY(" sess[%u] cleared", s);
			break;
		}
		/* Its peer: another volume, itself, or nobody there. */
		sess_valid(&sb->sess[s], pct(80) ? s : rnd(17),
			   pct(70) ? psb : pct(50) ? sb : NULL);
		SAY(" sess[%u] state %u mm %u id %u flags %#x", s,
		    le32toh(sb->sess[s].state), le32toh(sb->sess[s].mm),
		    le32toh(sb->sess[s].id), le32toh(sb->sess[s].flags));
		break;
	case 4:		/* the link, valid on its own */
		sess_valid(&sb->link, rnd(BCV_FMT_SESSIONS),
			   pct(70) ? psb : pct(50) ? sb : NULL);
		SAY(" link state %u mm %u id %u", le32toh(sb->link.state),
		    le32toh(sb->link.mm), le32toh(sb->link.id));
		break;
	case 5: {	/* a field of a session record */
		struct bcv_sb_sess *r = pct(80) ? &sb->sess[rnd(BCV_FMT_SESSIONS)]
						 : &sb->link;
		static const char *const what[] = {
			"flags", "id", "state", "mm", "peer_name", "peer_uuid",
		};

		n = rnd(6);
		switch (n) {
		case 0:
			r->flags = htole32((uint32_t)tweak(le32toh(r->flags), 4));
			break;
		case 1:
			r->id = htole32((uint32_t)tweak(le32toh(r->id), 4));
			break;
		case 2:
			r->state = htole32(pct(50) ? rnd(8) :
					   (uint32_t)tweak(le32toh(r->state), 4));
			break;
		case 3:
			r->mm = htole32(pct(50) ? rnd(5) :
					(uint32_t)tweak(le32toh(r->mm), 4));
			break;
		case 4:
			bad_name(r->peer_name);
			break;
		default:
			r->peer_uuid[rnd(16)] ^= (uint8_t)(1 + rnd(255));
			break;
		}
		SAY(" session record %s", what[n]);
		break;
	}
	case 6:		/* the name */
		if (psb && pct(50)) {
			memcpy(sb->name, psb->name, sizeof(sb->name));
			SAY(" name of %s (%.31s)", peer->path, psb->name);
		} else {
			bad_name(sb->name);
			SAY(" bad name");
		}
		break;
	case 7:		/* the UUIDs */
		n = rnd(4);
		if (n == 0 && psb) {
			memcpy(sb->vol_uuid, psb->vol_uuid, sizeof(sb->vol_uuid));
			SAY(" vol_uuid of %s", peer->path);
		} else if (n == 1) {
			sb->vol_uuid[rnd(16)] ^= (uint8_t)(1 + rnd(255));
			SAY(" vol_uuid changed");
		} else if (n == 2) {
			i = rnd(BCV_FMT_LEGS);
			memcpy(sb->legs[i].uuid, sb->legs[(i + 1) % BCV_FMT_LEGS].uuid,
			       sizeof(sb->legs[i].uuid));
			SAY(" legs[%u].uuid = legs[%u]'s", i, (i + 1) % BCV_FMT_LEGS);
		} else {
			i = rnd(BCV_FMT_LEGS);
			sb->legs[i].uuid[rnd(16)] ^= (uint8_t)(1 + rnd(255));
			SAY(" legs[%u].uuid changed", i);
		}
		break;
	case 8:		/* legs and positions that make sense alone */
		n = rnd(4);
		if (n == 0) {
			sb->nr_legs = htole32(1 + rnd(3));
			SAY(" nr_legs %u", le32toh(sb->nr_legs));
		} else if (n == 1) {
			sb->leg_pos = htole32(rnd(3));
			SAY(" leg_pos %u", le32toh(sb->leg_pos));
		} else {
			i = rnd(BCV_FMT_LEGS);
			sb->legs[i].flags = htole32(rnd(4));
			SAY(" legs[%u].flags %u", i, le32toh(sb->legs[i].flags));
		}
		break;
	case 9:		/* clean, write intent */
		sb->flags ^= htole32(pct(70) ? BCV_SB_F_CLEAN : BCV_SB_F_NO_INTENT);
		SAY(" flags %#x", le32toh(sb->flags));
		break;
	case 10: {	/* the counters */
		uint64_t v = pct(50) ? edge64() : tweak(le64toh(sb->events), 8);

		if (pct(50)) {
			sb->events = htole64(v);
			SAY(" events %" PRIu64, v);
		} else {
			sb->seq = htole64(v);
			SAY(" seq %" PRIu64, v);
		}
		break;
	}
	case 11:	/* random bytes in the structure */
		n = 1 + rnd(16);
		for (i = 0; i < n; i++)
			b[rnd(sizeof(struct bcv_sb))] = (uint8_t)r64();
		SAY(" %u random bytes", n);
		break;
	case 12:	/* random bytes after it */
		n = 1 + rnd(8);
		for (i = 0; i < n; i++)
			b[sizeof(struct bcv_sb) + rnd(SB - sizeof(struct bcv_sb))] =
				(uint8_t)(1 + rnd(255));
		SAY(" %u bytes after the structure", n);
		break;
	default: {	/* an offset or size pushed off the device */
		static const size_t offs[] = {
			offsetof(struct bcv_sb, pb_offset),
			offsetof(struct bcv_sb, inv_offset[3]),
			offsetof(struct bcv_sb, al_offset),
			offsetof(struct bcv_sb, pb_sectors),
			offsetof(struct bcv_sb, al_sectors),
			offsetof(struct bcv_sb, tracks_cap),
		};
		size_t off = offs[rnd(sizeof(offs) / sizeof(offs[0]))];
		uint64_t v = pct(50) ? d->sectors + rnd(1024) : ~0ULL - rnd(64);

		put_le(b, off, 8, v);
		SAY(" layout field at %zu = %" PRIu64, off, v);
		break;
	}
	}
#undef SAY
}

#define SB_KINDS	14

/* The legs of @d's volume among the devices (those sharing its UUID). */
static unsigned int legs_of(struct dev *d, struct dev **out)
{
	unsigned int i, n = 0;

	for (i = 0; i < ndevs; i++) {
		struct dev *e = &devs[i];

		if (e == d || (d->cur >= 0 && e->cur >= 0 &&
			       !memcmp(e->sb.vol_uuid, d->sb.vol_uuid,
				       BCV_FMT_UUID_LEN)))
			out[n++] = e;
	}
	return n;
}

static void mutate_sb(void)
{
	struct dev *d = &devs[rnd(ndevs)], *peer = &devs[rnd(ndevs)];
	struct dev *targets[MAX_DEVS];
	unsigned int kind, n, i, c;
	bool crc = pct(90), said = false;
	uint64_t sub = r64();
	int which;

	/* Whole-copy mutations first: garbage, zero, transplant, swap. */
	if (pct(12)) {
		c = d->cur >= 0 ? (unsigned int)d->cur : rnd(2);
		switch (rnd(4)) {
		case 0:
			for (i = 0; i < SB; i++)
				d->blk[c][i] = (uint8_t)r64();
			say(" %s: copy %u garbage", d->path, c);
			break;
		case 1:
			memset(d->blk[c], 0, SB);
			say(" %s: copy %u zeroed", d->path, c);
			break;
		case 2:
			memcpy(d->blk[c], peer->blk[peer->cur >= 0 ? peer->cur : 0], SB);
			say(" %s: copy %u = %s's", d->path, c, peer->path);
			break;
		default:
			memcpy(d->blk[c], d->blk[c ^ 1], SB);
			say(" %s: copy %u = copy %u", d->path, c, c ^ 1);
			break;
		}
		d->dirty[c] = true;
		return;
	}
	kind = rnd(SB_KINDS);
	/* Every leg of the volume alike, or one device. */
	if (kind <= 10 && kind != 7 && d->cur >= 0 && pct(40)) {
		n = legs_of(d, targets);
		say(" every leg of %.31s (%u):", d->sb.name, n);
	} else {
		targets[0] = d;
		n = 1;
		say(" %s:", d->path);
	}
	/* Both copies (no fallback), the one in use, or the other. */
	which = pct(60) ? -1 : pct(75) ? 0 : 1;
	say(" %s copy", which < 0 ? "each" : which ? "other" : "used");
	for (i = 0; i < n; i++) {
		struct dev *t = targets[i];

		for (c = 0; c < BCV_SB_COPIES; c++) {
			int use = t->cur >= 0 ? t->cur : 0;

			if (which == 0 && (int)c != use)
				continue;
			if (which == 1 && (int)c == use)
				continue;
			/* The same choices for every copy and leg. */
			rng_seed(sub);
			sb_mutate(t, t->blk[c], peer, kind, !said);
			said = true;
			if (crc)
				sbp(t, c)->crc = htole32(bcv_fmt_sb_crc(t->blk[c]));
			t->dirty[c] = true;
		}
	}
	rng_seed(sub ^ 0x5555);
	if (!crc)
		say(" (crc left stale)");
}

/*------------------------------------------------------------------------
 * Table mutations: the tables have no checksum, so everything counts
 */

static void mutate_table(void)
{
	struct dev *d = &devs[rnd(ndevs)];
	static const char *const names[] = {
		"PB", "M1", "M2", "M3", "M4", "AL",
	};
	struct bcv_fmt_layout l;
	uint64_t at, len, tracks, off, blocks, i;
	unsigned int t = rnd(6), kind = rnd(5);
	uint8_t *buf;

	if (dev_layout(d, &l, &tracks))
		return;
	if (t == 0) {
		at = l.pb_offset;
		len = l.pb_sectors;
	} else if (t == 5) {
		at = l.al_offset;
		len = l.al_sectors;
	} else {
		at = l.inv_offset[t - 1];
		len = l.inv_sectors;
	}
	at *= 512;
	len *= 512;
	if (!len || at + len > d->sectors * 512)
		return;
	blocks = len / 4096;
	/* One block, or the whole table (capped: 64 MiB). */
	if (pct(70) || len > (64ULL << 20)) {
		off = 4096 * (r64() % blocks);
		len = 4096;
	} else {
		off = 0;
	}
	buf = malloc(len);
	if (!buf)
		die("out of memory");
	pread_all(d->fd, buf, len, at + off, d->path);
	switch (kind) {
	case 0:
		for (i = 1 + rnd(64); i; i--)
			buf[r64() % len] ^= (uint8_t)(1U << rnd(8));
		break;
	case 1:
		memset(buf, 0xff, len);
		break;
	case 2:
		memset(buf, 0, len);
		break;
	case 3:
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)r64();
		break;
	default:
		/* The bits past the last track, up to tracks_cap. */
		for (i = tracks; i < l.tracks_cap && i < 8 * len; i++)
			buf[i / 8] |= (uint8_t)(1U << (i % 8));
		break;
	}
	pwrite_all(d->fd, buf, len, at + off, d->path);
	free(buf);
	say(" %s: %s table %s at byte %" PRIu64 " (%" PRIu64 " bytes)",
	    d->path, names[t],
	    (const char *const[]){ "bit flips", "all ones", "all zeros",
				   "random", "past the tracks" }[kind],
	    at + off, len);
}

static int cmd_mutate(uint64_t seed, int argc, char **argv)
{
	unsigned int i, n;

	if (argc < 1 || argc > MAX_DEVS)
		return 2;
	for (i = 0; i < (unsigned int)argc; i++)
		dev_open(&devs[i], argv[i], true);
	ndevs = (unsigned int)argc;
	rng_seed(seed);
	n = 1 + rnd(3);
	for (i = 0; i < n; i++) {
		line[0] = '\0';
		if (pct(75))
			mutate_sb();
		else
			mutate_table();
		printf("seed %" PRIu64 " mutation %u:%s\n", seed, i + 1, line);
	}
	for (i = 0; i < ndevs; i++)
		dev_close(&devs[i]);
	return 0;
}

/*------------------------------------------------------------------------
 * forge, dump
 */

static int cmd_forge(const char *tmpl, const char *path, unsigned int shift,
		     int fill)
{
	struct dev *d = &devs[0];
	uint8_t *blk = malloc(SB), *buf;
	struct bcv_sb *sb = (struct bcv_sb *)blk;
	struct bcv_fmt_layout l;
	uint64_t at, end, n;
	int fd, c;

	if (!blk || shift < 9 || shift > 24)
		return 2;
	fd = open(tmpl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", tmpl, strerror(errno));
	pread_all(fd, blk, SB, 0, tmpl);
	close(fd);
	dev_open(d, path, true);
	if (bcv_fmt_layout(d->sectors, shift, &l))
		die("%s: too small for tracks of 2^%u bytes", path, shift);
	relayout(d, sb, shift, false);
	sb->nr_legs = htole32(1);
	sb->leg_pos = 0;
	memset(&sb->legs[1], 0, 2 * sizeof(sb->legs[1]));
	sb->legs[0].flags = 0;
	memset(sb->sess, 0, sizeof(sb->sess));
	memset(&sb->link, 0, sizeof(sb->link));
	sb->flags = htole32(BCV_SB_F_CLEAN);
	for (c = 0; c < BCV_SB_COPIES; c++) {
		sb->seq = htole64(10 + c);
		sb->crc = htole32(bcv_fmt_sb_crc(blk));
		memcpy(d->blk[c], blk, SB);
		d->dirty[c] = true;
	}
	if (fill >= 0) {
		buf = malloc(1 << 20);
		if (!buf)
			die("out of memory");
		memset(buf, fill, 1 << 20);
		at = l.inv_offset[0] * 512;
		end = l.sb_offset[0] * 512;
		for (; at < end; at += n) {
			n = end - at < (1 << 20) ? end - at : (1 << 20);
			pwrite_all(d->fd, buf, n, at, path);
		}
		free(buf);
	}
	dev_close(d);
	printf("%s: %" PRIu64 " sectors, tracks of %u bytes: %" PRIu64
	       " tracks, tables of %" PRIu64 " MiB%s\n", path,
	       d->sectors, 1U << shift, (uint64_t)le64toh(sb->tracks),
	       (uint64_t)(l.sb_offset[0] - l.pb_offset) >> 11,
	       fill >= 0 ? ", Track ID and activity log filled" : "");
	free(blk);
	return 0;
}

static int cmd_dump(const char *path)
{
	struct dev *d = &devs[0];
	int c, i;

	dev_open(d, path, false);
	for (c = 0; c < BCV_SB_COPIES; c++) {
		printf("copy %d ", c);
		for (i = 0; i < SB; i++)
			printf("%02x", d->blk[c][i]);
		printf("\n");
	}
	close(d->fd);
	return 0;
}

/*
 * Set FIELD=VALUE in both copies of @path, crc recomputed.  seq keeps the
 * rule that copy (seq & 1) is the one written last: VALUE goes there and
 * VALUE - 1 to the other.
 */
/*
 * "sess[N].flags", ".id", ".state" or ".mm" (N 0..15): that field of
 * session record N, in *@f.  For set only: mutate's table stays as it is,
 * so that a seed keeps giving the same mutations.
 */
static bool sess_field(const char *name, struct field *f)
{
	static const struct {
		const char *name;
		size_t off;
	} m[] = {
		{ "flags", offsetof(struct bcv_sb_sess, flags) },
		{ "id", offsetof(struct bcv_sb_sess, id) },
		{ "state", offsetof(struct bcv_sb_sess, state) },
		{ "mm", offsetof(struct bcv_sb_sess, mm) },
	};
	unsigned int n, i;
	char rest[16];

	if (sscanf(name, "sess[%u].%15s", &n, rest) != 2 ||
	    n >= BCV_FMT_SESSIONS)
		return false;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (strcmp(rest, m[i].name))
			continue;
		f->name = name;
		f->off = offsetof(struct bcv_sb, sess) +
			 n * sizeof(struct bcv_sb_sess) + m[i].off;
		f->bytes = 4;
		return true;
	}
	return false;
}

static int cmd_set(const char *path, int argc, char **argv)
{
	struct dev *d = &devs[0];
	struct field f;
	unsigned int k;
	int a, c;

	dev_open(d, path, true);
	for (a = 0; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		uint64_t v;

		if (!eq)
			return 2;
		*eq = '\0';
		v = strtoull(eq + 1, NULL, 0);
		for (k = 0; k < NFIELDS; k++)
			if (!strcmp(fields[k].name, argv[a]))
				break;
		if (k == NFIELDS) {
			/* sess[N].FIELD: set only (mutate's choices stay). */
			if (!sess_field(argv[a], &f))
				die("no field %s", argv[a]);
		} else {
			f = fields[k];
		}
		for (c = 0; c < BCV_SB_COPIES; c++) {
			uint64_t cv = v;

			if (!strcmp(argv[a], "seq") && (v & 1) != (uint64_t)c)
				cv = v - 1;
			put_le(d->blk[c], f.off, f.bytes, cv);
		}
	}
	for (c = 0; c < BCV_SB_COPIES; c++) {
		sbp(d, c)->crc = htole32(bcv_fmt_sb_crc(d->blk[c]));
		d->dirty[c] = true;
	}
	dev_close(d);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: metafuzz mutate SEED DEV...\n"
		"       metafuzz set DEV FIELD=VALUE...\n"
		"       metafuzz forge TEMPLATE DEV SHIFT [FILL]\n"
		"       metafuzz dump DEV\n");
	return 2;
}

int main(int argc, char **argv)
{
	int ret = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "mutate"))
		ret = cmd_mutate(strtoull(argv[2], NULL, 0), argc - 3, argv + 3);
	else if ((argc == 5 || argc == 6) && !strcmp(argv[1], "forge"))
		ret = cmd_forge(argv[2], argv[3],
				(unsigned int)strtoul(argv[4], NULL, 0),
				argc == 6 ? (int)strtol(argv[5], NULL, 0) : -1);
	else if (argc >= 4 && !strcmp(argv[1], "set"))
		ret = cmd_set(argv[2], argc - 3, argv + 3);
	else if (argc == 3 && !strcmp(argv[1], "dump"))
		ret = cmd_dump(argv[2]);
	return ret == 2 ? usage() : ret;
}
