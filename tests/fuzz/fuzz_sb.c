// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_sb: the superblock check of the module (bcv_sb.c) and bcvctl's
 * reader (tools/bcv_fmt.c) on whatever a disk may hold, under libFuzzer
 * (tests/fuzz/run builds it with ASan and UBSan).
 *
 * Input: a superblock copy and a few bytes of choices.
 *
 *   bytes 0..4095    the 4 KiB block (a shorter input is padded with zeros)
 *   bytes 4096..4103 SEL, a little-endian u64 (0 if absent)
 *   byte  4104       MODE (0 if absent):
 *                      bits 0-1  3: keep the stored crc; else recompute it,
 *                                so that most inputs get past the checksum
 *                      bit  2    rewrite the layout fields, the track count
 *                                and the device size from track_shift,
 *                                sectors and the device size, so that
 *                                mutations of everything else go deep
 *                      bits 3-4  the device's size: 0 the block's own
 *                                dev_sectors, 1 that plus (int8_t)SEL
 *                                (a device that grew or shrank a little),
 *                                2 SEL, 3 SEL & (2^40 - 1)
 *   byte  4105       the track shift for the layout check, 9 + b % 32
 *                    (absent: the block's track_shift)
 * A bare superblock as found on a disk is thus checked against the device
 * it was written for, with its own crc.
 *
 * Each run:
 *  - bcv_sb_check() must not read outside the block (it is a malloc()ed
 *    4 KiB block: ASan), must not write to it, and must give the same
 *    verdict twice;
 *  - bcvctl's decoder (bcv_fmt_check()) must agree: what the module takes,
 *    bcvctl takes with the same fields; what bcvctl refuses, the module
 *    refuses for a matching reason; bcvctl may take what the module
 *    refuses only for the rules bcvctl does not check (flags, reserved
 *    fields, leg flags, session records, the track limit, a device size
 *    that differs in its last, unused 7 sectors);
 *  - an accepted superblock's geometry is self-consistent: the tables lie
 *    between the data area and the superblock copies, in order, are big
 *    enough for tracks_cap tracks, and tracks <= tracks_cap <= what the
 *    device holds, so that nothing the module sizes from them exceeds
 *    what the device itself has room for;
 *  - bcv_fmt_layout() of (device size, track shift) is consistent the same
 *    way, for every size a block device can have.
 * A violation aborts with a message (libFuzzer keeps the input).  With
 * FUZZ_SB_TRACE set, each input's verdicts go to stderr:
 *   FUZZ_SB_TRACE=1 build/fuzz/fuzz_sb tests/fuzz/corpus/fuzz_sb/FILE...
 *
 * Seeds (corpus/fuzz_sb/): superblocks of real volumes (a STD with a
 * mirror leg and sessions in several states, a split BCV, a BCV with a
 * fixed mirror), taken from the guest by tests/vm-tests/
 * test_metafuzz_22.sh's set-up, some with MODE and SEL bytes appended.
 */
// fuzz-sources: bcv_sb.c bcv_trackmap.c tools/bcv_fmt.c
// fuzz-options: -max_len=4106
// fuzz-runs: 10000
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bcv_sb.h"
#include "../../bcv_trackmap.h"
#include "../../tools/bcv_fmt.h"

#define SEL_AT		BCV_SB_SIZE
#define MODE_AT		(BCV_SB_SIZE + 8)
#define SHIFT_AT	(BCV_SB_SIZE + 9)

#define MODE_KEEP_CRC	3U
#define MODE_FIX_LAYOUT	(1U << 2)
#define MODE_DEV(m)	(((m) >> 3) & 3U)

/* Every size a block device can have: 2^63 bytes at most. */
#define DEV_MAX		(1ULL << 54)

static const char *const verdicts[BCV_SB_NR_VERDICTS] = {
	"ok", "bad magic", "bad version", "bad crc", "bad features",
	"bad role", "bad shift", "bad legs", "bad flags", "bad name",
	"bad device size", "bad layout", "bad reserved", "bad size",
	"too many tracks", "bad leg flags", "bad session", "bad link",
};

static const uint8_t *cur_block;
static uint64_t cur_dev;
static int trace = -1;		/* FUZZ_SB_TRACE set: a line per input */

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_sb: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (device %" PRIu64 " sectors)\n", cur_dev);
	if (cur_block) {
		struct bcv_fmt_copy c;

		bcv_fmt_check(cur_block, cur_dev, NULL, &c);
		fprintf(stderr, "fuzz_sb: bcvctl says: %s: %s\n",
			bcv_fmt_status_name(c.status), c.why);
	}
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

static const char *vname(enum bcv_sb_verdict v)
{
	return (unsigned int)v < BCV_SB_NR_VERDICTS ? verdicts[v] : "?";
}

/*------------------------------------------------------------------------
 * bcv_fmt_layout()
 */

static void check_layout(uint64_t dev_sectors, unsigned int shift)
{
	uint64_t dev = dev_sectors / BCV_FMT_ALIGN * BCV_FMT_ALIGN, tsec, area;
	struct bcv_fmt_layout l;
	unsigned int p;
	int ret;

	/*
	 * A track_shift outside 9..40 is documented to fail, but
	 * bcv_fmt_layout() shifts by it before it checks it (undefined
	 * behaviour for 0..8 and above 72): no caller passes one today (the
	 * module and bcvctl check 9..24 first), so it is only tried when
	 * asked for (-DFUZZ_SB_ANY_SHIFT).
	 */
#ifndef FUZZ_SB_ANY_SHIFT
	if (shift < 9 || shift > 40)
		return;
#endif
	memset(&l, 0xa5, sizeof(l));
	ret = bcv_fmt_layout(dev_sectors, shift, &l);
	if (shift < 9 || shift > 40) {
		CHECK(ret == -1, "layout(%" PRIu64 ", %u) = %d for a bad shift",
		      dev_sectors, shift, ret);
		return;
	}
	/* Beyond any block device the arithmetic may wrap: not checked. */
	if (dev_sectors > DEV_MAX)
		return;
	tsec = 1ULL << (shift - 9);
	if (ret) {
		/* Too small: not even one block of data past the tables. */
		uint64_t tc = (dev + tsec - 1) / tsec;

		area = bcv_fmt_round_up(tc * 2, 4096) / 512 +
		       4 * (bcv_fmt_round_up((tc + 7) / 8, 4096) / 512) +
		       bcv_fmt_round_up((bcv_fmt_al_regions(tc, shift) + 7) / 8,
					4096) / 512 + 16;
		CHECK(ret == -1 && dev < area + 8,
		      "layout(%" PRIu64 ", %u) = %d with room for the tables",
		      dev_sectors, shift, ret);
		return;
	}
	CHECK(l.dev_sectors == dev_sectors, "layout: dev_sectors");
	CHECK(l.data_sectors >= 8 && l.data_sectors % 8 == 0 &&
	      l.data_sectors < dev, "layout(%" PRIu64 ", %u): data_sectors %"
	      PRIu64, dev_sectors, shift, (uint64_t)l.data_sectors);
	/* tracks_cap covers the whole (aligned) device, and no more. */
	CHECK(l.tracks_cap * tsec >= dev && (l.tracks_cap - 1) * tsec < dev,
	      "layout(%" PRIu64 ", %u): tracks_cap %" PRIu64, dev_sectors,
	      shift, (uint64_t)l.tracks_cap);
	/* Tables big enough for tracks_cap, padded to 4 KiB, no more. */
	CHECK(l.pb_sectors % 8 == 0 && l.pb_sectors * 512 >= l.tracks_cap * 2 &&
	      l.pb_sectors * 512 < l.tracks_cap * 2 + 4096,
	      "layout: pb_sectors %" PRIu64, (uint64_t)l.pb_sectors);
	CHECK(l.inv_sectors % 8 == 0 && l.inv_sectors * 4096 >= l.tracks_cap &&
	      l.inv_sectors * 4096 < l.tracks_cap + 32768 + 8,
	      "layout: inv_sectors %" PRIu64, (uint64_t)l.inv_sectors);
	CHECK(l.al_sectors % 8 == 0 &&
	      l.al_sectors * 4096 >= bcv_fmt_al_regions(l.tracks_cap, shift),
	      "layout: al_sectors %" PRIu64, (uint64_t)l.al_sectors);
	/* In order, back to back, up to the superblocks at the end. */
	CHECK(l.pb_offset == l.data_sectors, "layout: pb_offset");
	CHECK(l.inv_offset[0] == l.pb_offset + l.pb_sectors,
	      "layout: inv_offset[0]");
	for (p = 1; p < BCV_FMT_POSITIONS; p++)
		CHECK(l.inv_offset[p] == l.inv_offset[p - 1] + l.inv_sectors,
		      "layout: inv_offset[%u]", p);
	CHECK(l.al_offset == l.inv_offset[3] + l.inv_sectors,
	      "layout: al_offset");
	CHECK(l.al_offset + l.al_sectors == l.sb_offset[0],
	      "layout: the activity log ends at %" PRIu64 ", copy 0 is at %"
	      PRIu64, (uint64_t)(l.al_offset + l.al_sectors),
	      (uint64_t)l.sb_offset[0]);
	CHECK(l.sb_offset[0] + 8 == l.sb_offset[1] &&
	      l.sb_offset[1] + 8 == dev && dev <= dev_sectors,
	      "layout: superblock copies at %" PRIu64 ", %" PRIu64,
	      (uint64_t)l.sb_offset[0], (uint64_t)l.sb_offset[1]);
}

/*------------------------------------------------------------------------
 * bcv_sb_check() and bcvctl's decoder
 */

/* What bcvctl checks too: it must refuse for these. */
static bool fmt_must_refuse(enum bcv_sb_verdict v, enum bcv_fmt_status *want)
{
	switch (v) {
	case BCV_SB_BAD_VERSION:
		*want = BCV_FMT_BAD_VERSION;
		return true;
	case BCV_SB_BAD_CRC:
		*want = BCV_FMT_BAD_CRC;
		return true;
	case BCV_SB_BAD_FEATURES:
		*want = BCV_FMT_BAD_FEATURES;
		return true;
	case BCV_SB_BAD_ROLE:
	case BCV_SB_BAD_SHIFT:
	case BCV_SB_BAD_LEGS:
	case BCV_SB_BAD_NAME:
	case BCV_SB_BAD_SIZE:
		*want = BCV_FMT_BAD_FIELD;
		return true;
	case BCV_SB_BAD_LAYOUT:
		*want = BCV_FMT_BAD_LAYOUT;
		return true;
	default:
		return false;
	}
}

/* The fields of an accepted superblock, as bcvctl decoded them. */
static void check_decoded(const struct bcv_sb *sb, const struct bcv_fmt_sb *o,
			  const struct bcv_fmt_layout *l)
{
	unsigned int i;

	CHECK(o->track_shift == le32_to_cpu(sb->track_shift) &&
	      o->role == le32_to_cpu(sb->role) &&
	      o->nr_legs == le32_to_cpu(sb->nr_legs) &&
	      o->leg_pos == le32_to_cpu(sb->leg_pos) &&
	      o->sectors == le64_to_cpu(sb->sectors) &&
	      o->tracks == le64_to_cpu(sb->tracks) &&
	      o->seq == le64_to_cpu(sb->seq) &&
	      o->events == le64_to_cpu(sb->events), "decoded fields differ");
	CHECK(!memcmp(o->name, sb->name, sizeof(o->name)),
	      "decoded name differs");
	CHECK(o->layout.data_sectors == l->data_sectors &&
	      o->layout.tracks_cap == l->tracks_cap &&
	      o->layout.pb_offset == l->pb_offset &&
	      o->layout.pb_sectors == l->pb_sectors &&
	      o->layout.inv_sectors == l->inv_sectors &&
	      o->layout.al_offset == l->al_offset &&
	      o->layout.al_sectors == l->al_sectors, "decoded layout differs");
	for (i = 0; i < BCV_FMT_POSITIONS; i++)
		CHECK(o->layout.inv_offset[i] == l->inv_offset[i],
		      "decoded inv_offset[%u] differs", i);
	for (i = 0; i < BCV_FMT_SESSIONS; i++)
		CHECK(o->sess[i].flags == le32_to_cpu(sb->sess[i].flags) &&
		      o->sess[i].state == le32_to_cpu(sb->sess[i].state) &&
		      o->sess[i].mm == le32_to_cpu(sb->sess[i].mm),
		      "decoded session %u differs", i);
}

/* An accepted superblock: everything the module sizes from it is sane. */
static void check_accepted(const struct bcv_sb *sb, uint64_t dev_sectors)
{
	uint64_t dev = dev_sectors / BCV_FMT_ALIGN * BCV_FMT_ALIGN;
	unsigned int shift = le32_to_cpu(sb->track_shift), p, i;
	uint64_t tracks = le64_to_cpu(sb->tracks);
	uint64_t sectors = le64_to_cpu(sb->sectors);
	uint64_t cap = le64_to_cpu(sb->tracks_cap);
	uint64_t data = le64_to_cpu(sb->data_sectors);
	uint64_t pb = le64_to_cpu(sb->pb_offset);
	uint64_t pbs = le64_to_cpu(sb->pb_sectors);
	uint64_t invs = le64_to_cpu(sb->inv_sectors);
	uint64_t al = le64_to_cpu(sb->al_offset);
	uint64_t als = le64_to_cpu(sb->al_sectors);
	uint64_t tsec, end;

	CHECK(shift >= 9 && shift <= 24, "accepted track_shift %u", shift);
	tsec = 1ULL << (shift - 9);
	CHECK(le64_to_cpu(sb->dev_sectors) == dev_sectors,
	      "accepted for another device size");
	CHECK(le32_to_cpu(sb->nr_legs) >= 1 && le32_to_cpu(sb->nr_legs) <= 3 &&
	      le32_to_cpu(sb->leg_pos) < le32_to_cpu(sb->nr_legs),
	      "accepted legs %u, position %u", le32_to_cpu(sb->nr_legs),
	      le32_to_cpu(sb->leg_pos));
	CHECK(sectors >= 1 && sectors <= data && data < dev,
	      "accepted sectors %" PRIu64 " (data %" PRIu64 ")", sectors, data);
	CHECK(tracks >= 1 && tracks <= cap && tracks <= BCV_TM_MAX_TRACKS &&
	      (tracks - 1) * tsec < sectors && tracks * tsec >= sectors,
	      "accepted tracks %" PRIu64 " (cap %" PRIu64 ")", tracks, cap);
	CHECK(cap * tsec >= dev && (cap - 1) * tsec < dev,
	      "accepted tracks_cap %" PRIu64, cap);
	/* Every table inside [data_sectors, copy 0), in order. */
	CHECK(pb == data && pbs * 512 >= tracks * 2, "accepted PB table");
	end = pb + pbs;
	for (p = 0; p < BCV_FMT_POSITIONS; p++) {
		uint64_t at = le64_to_cpu(sb->inv_offset[p]);

		CHECK(at >= end && invs * 4096 >= tracks,
		      "accepted Track ID bitmap %u at %" PRIu64, p, at);
		end = at + invs;
	}
	CHECK(al >= end && als * 4096 >= (tracks >> bcv_fmt_al_shift(shift)) + 1,
	      "accepted activity log at %" PRIu64, al);
	CHECK(al + als <= dev - 16, "accepted tables end at %" PRIu64
	      " past the superblocks at %" PRIu64, al + als, dev - 16);
	/* What the module allocates for them: bounded by the device. */
	CHECK(tracks * 2 + 4 * ((tracks + 7) / 8) <= (dev - data) * 512,
	      "accepted tables of %" PRIu64 " bytes on a metadata area of %"
	      PRIu64, tracks * 2 + 4 * ((tracks + 7) / 8), (dev - data) * 512);
	for (i = 0; i < BCV_FMT_SESSIONS; i++) {
		const struct bcv_sb_sess *r = &sb->sess[i];
		uint32_t fl = le32_to_cpu(r->flags), st = le32_to_cpu(r->state);
		uint32_t mm = le32_to_cpu(r->mm);

		if (!(fl & BCV_SB_SESS_USED))
			continue;
		CHECK(le32_to_cpu(sb->role) == BCV_ROLE_STD,
		      "accepted a session record on a BCV");
		CHECK(le32_to_cpu(r->id) == i && st >= 1 && st <= 5 &&
		      (st == 3 ? mm == 0xffffffffU : mm < 4),
		      "accepted session %u: id %u state %u mm %u", i,
		      le32_to_cpu(r->id), st, mm);
		CHECK(memchr(r->peer_name, 0, sizeof(r->peer_name)),
		      "accepted an unterminated peer name");
	}
	CHECK(memchr(sb->name, 0, sizeof(sb->name)),
	      "accepted an unterminated name");
}

/* Rewrite the layout fields from track_shift, sectors and @dev. */
static void fix_layout(struct bcv_sb *sb, uint64_t dev)
{
	unsigned int shift = le32_to_cpu(sb->track_shift), p;
	struct bcv_fmt_layout l;
	uint64_t sectors;

	sb->dev_sectors = cpu_to_le64(dev);
	if (shift < 9 || shift > 24 || bcv_fmt_layout(dev, shift, &l))
		return;
	sb->data_sectors = cpu_to_le64(l.data_sectors);
	sb->tracks_cap = cpu_to_le64(l.tracks_cap);
	sb->pb_offset = cpu_to_le64(l.pb_offset);
	sb->pb_sectors = cpu_to_le64(l.pb_sectors);
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		sb->inv_offset[p] = cpu_to_le64(l.inv_offset[p]);
	sb->inv_sectors = cpu_to_le64(l.inv_sectors);
	sb->al_offset = cpu_to_le64(l.al_offset);
	sb->al_sectors = cpu_to_le64(l.al_sectors);
	/* Any size that fits, from the mutated one. */
	sectors = le64_to_cpu(sb->sectors);
	if (!sectors || sectors > l.data_sectors)
		sectors = sectors % l.data_sectors + 1;
	sb->sectors = cpu_to_le64(sectors);
	sb->tracks = cpu_to_le64(bcv_tracks(sectors, shift));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *block = malloc(BCV_SB_SIZE), *copy = malloc(BCV_SB_SIZE);
	struct bcv_sb *sb = (struct bcv_sb *)block;
	enum bcv_sb_verdict v, v2;
	enum bcv_fmt_status st, want;
	struct bcv_fmt_layout l;
	struct bcv_fmt_copy c;
	struct bcv_fmt_sb o;
	uint64_t sel = 0, dev;
	unsigned int mode = 0, shift;

	if (!block || !copy)
		abort();
	memset(block, 0, BCV_SB_SIZE);
	memcpy(block, data, size < BCV_SB_SIZE ? size : BCV_SB_SIZE);
	if (size > SEL_AT)
		memcpy(&sel, data + SEL_AT,
		       size - SEL_AT < 8 ? size - SEL_AT : 8);
	sel = le64toh(sel);
	if (size > MODE_AT)
		mode = data[MODE_AT];

	switch (MODE_DEV(mode)) {
	case 0:
		dev = le64_to_cpu(sb->dev_sectors);
		break;
	case 1:
		dev = le64_to_cpu(sb->dev_sectors) + (uint64_t)(int8_t)sel;
		break;
	case 2:
		dev = sel;
		break;
	default:
		dev = sel & ((1ULL << 40) - 1);
		break;
	}
	if (mode & MODE_FIX_LAYOUT)
		fix_layout(sb, dev);
	if ((mode & MODE_KEEP_CRC) != MODE_KEEP_CRC)
		sb->crc = cpu_to_le32(bcv_fmt_sb_crc(block));
	cur_block = block;
	cur_dev = dev;

	memcpy(copy, block, BCV_SB_SIZE);
	v = bcv_sb_check(sb, dev);
	CHECK(!memcmp(copy, block, BCV_SB_SIZE), "bcv_sb_check() wrote");
	v2 = bcv_sb_check(sb, dev);
	CHECK(v == v2 && (unsigned int)v < BCV_SB_NR_VERDICTS,
	      "verdicts %d then %d", v, v2);
	memset(&o, 0, sizeof(o));
	st = bcv_fmt_check(block, dev, &o, &c);
	CHECK(!memcmp(copy, block, BCV_SB_SIZE), "bcv_fmt_check() wrote");

	if (trace < 0)
		trace = getenv("FUZZ_SB_TRACE") != NULL;
	if (trace)
		fprintf(stderr, "fuzz_sb: device %" PRIu64 " sectors, mode %#x: "
			"module: %s; bcvctl: %s%s%s\n", dev, mode, vname(v),
			bcv_fmt_status_name(st), *c.why ? ": " : "", c.why);

	if (v == BCV_SB_OK) {
		CHECK(st == BCV_FMT_OK, "the module takes it, bcvctl does not");
		CHECK(!bcv_fmt_layout(dev, le32_to_cpu(sb->track_shift), &l),
		      "accepted without a layout");
		check_decoded(sb, &o, &l);
		check_accepted(sb, dev);
	} else if (v == BCV_SB_BAD_MAGIC) {
		CHECK(st == BCV_FMT_BLANK || st == BCV_FMT_NO_MAGIC,
		      "no magic for the module, bcvctl says %s",
		      bcv_fmt_status_name(st));
		CHECK((st == BCV_FMT_BLANK) ==
		      !memchr_inv(block, 0, BCV_SB_SIZE), "blank or not");
	} else if (fmt_must_refuse(v, &want)) {
		CHECK(st == want, "the module says %s, bcvctl %s", vname(v),
		      bcv_fmt_status_name(st));
	} else if (v == BCV_SB_BAD_DEV_SIZE) {
		uint64_t stored = le64_to_cpu(sb->dev_sectors);

		/* bcvctl ignores the unused tail of up to 7 sectors only. */
		if (stored / 8 != dev / 8 ||
		    bcv_fmt_layout(dev, le32_to_cpu(sb->track_shift), &l))
			CHECK(st == BCV_FMT_BAD_LAYOUT,
			      "device size refused by the module, bcvctl says %s",
			      bcv_fmt_status_name(st));
	}
	/* What bcvctl refuses, the module refuses. */
	if (st != BCV_FMT_OK)
		CHECK(v != BCV_SB_OK, "bcvctl refuses (%s), the module takes it",
		      bcv_fmt_status_name(st));

	shift = size > SHIFT_AT ? 9 + data[SHIFT_AT] % 32 :
		le32_to_cpu(sb->track_shift);
	check_layout(dev, shift);
	check_layout(sel, shift);

	cur_block = NULL;
	free(copy);
	free(block);
	return 0;
}
