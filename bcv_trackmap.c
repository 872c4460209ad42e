// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: track geometry, Track ID and PB tables, and the commands' table
 * algebra.  See bcv_trackmap.h for the layout and the concurrency rules;
 * this file is pure code shared with the userspace unit tests.
 *
 * The patent's flow charts walk the tables track by track; here every
 * command works a machine word at a time: 64 tracks of a Track ID bitmap,
 * or 4 PB rows, per step.  Invariant kept by every function: bits of a
 * bitmap (and rows of the PB table) beyond the last track are zero.
 */
#include "bcv_trackmap.h"
#include "uapi/linux/bcv.h"

static_assert(sizeof(unsigned long) == 8, "bcv_trackmap assumes 64-bit longs");
static_assert(BCV_CYL_TRACKS == BCV_TRACKS_PER_CYL, "cylinder size");

#define BPL		64		/* bits per long */
#define ROWS		4		/* PB rows per long */
#define ROW_REP		0x0001000100010001UL /* bit 0 of every row */
#define COLS_ALL	0xffffUL

/*------------------------------------------------------------------------
 * Geometry
 */

u64 bcv_tracks(u64 sectors, unsigned int track_shift)
{
	unsigned int s = track_shift - BCV_SECTOR_SHIFT;

	return (sectors + (1ULL << s) - 1) >> s;
}

u64 bcv_cylinders(u64 tracks)
{
	return (tracks + BCV_CYL_TRACKS - 1) / BCV_CYL_TRACKS;
}

void bcv_track_range(u64 sector, u64 nr_sectors, unsigned int track_shift,
		     u64 *first, u64 *last)
{
	unsigned int s = track_shift - BCV_SECTOR_SHIFT;

	*first = sector >> s;
	*last = nr_sectors ? (sector + nr_sectors - 1) >> s : *first;
}

int bcv_track_shift(u32 track_size, u32 min_size)
{
	int shift = 0;

	if (!track_size || (track_size & (track_size - 1)))
		return -1;
	if (track_size < min_size || track_size < (1U << BCV_SECTOR_SHIFT) ||
	    track_size > BCV_TRACK_SIZE_MAX)
		return -1;
	while ((1U << shift) < track_size)
		shift++;
	return shift;
}

/*------------------------------------------------------------------------
 * Bitmap helpers.  The _atomic ones may race with each other; the others
 * are for whole-table passes under the caller's exclusion.
 */

static u64 bm_longs(u64 nbits)
{
	return (nbits + BPL - 1) / BPL;
}

/* Bits [first, last] (inclusive, track numbers) that fall in word i. */
static unsigned long bm_word_mask(u64 i, u64 first, u64 last)
{
	unsigned int lo = i == first / BPL ? first % BPL : 0;
	unsigned int hi = i == last / BPL ? last % BPL : BPL - 1;

	return (~0UL << lo) & (~0UL >> (BPL - 1 - hi));
}

/* The same for any word: 0 where word @i holds no bit of [first, last]. */
static unsigned long bm_range_word(u64 i, u64 first, u64 last)
{
	if (first > last || i < first / BPL || i > last / BPL)
		return 0;
	return bm_word_mask(i, first, last);
}

static unsigned long bm_tail(u64 nbits)
{
	return nbits % BPL ? ~0UL >> (BPL - nbits % BPL) : ~0UL;
}

static void bm_fill(unsigned long *map, u64 nbits)
{
	u64 n = bm_longs(nbits);

	if (!n)
		return;
	memset(map, 0xff, n * sizeof(long));
	map[n - 1] = bm_tail(nbits);
}

static void bm_zero(unsigned long *map, u64 nbits)
{
	memset(map, 0, bm_longs(nbits) * sizeof(long));
}

static bool bm_any(const unsigned long *map, u64 nbits)
{
	return find_next_bit(map, nbits, 0) < nbits;
}

static u64 bm_weight(const unsigned long *map, u64 nbits)
{
	u64 i, n = bm_longs(nbits), w = 0;

	for (i = 0; i < n; i++)
		w += hweight_long(map[i]);
	return w;
}

static void bm_set_atomic(unsigned long *map, u64 first, u64 last)
{
	u64 i;

	for (i = first / BPL; i <= last / BPL; i++) {
		unsigned long m = bm_word_mask(i, first, last);

		if ((READ_ONCE(map[i]) & m) != m)
			bcv_atomic_or(&map[i], m);
	}
}

static void bm_clear_atomic(unsigned long *map, u64 first, u64 last)
{
	u64 i;

	for (i = first / BPL; i <= last / BPL; i++) {
		unsigned long m = bm_word_mask(i, first, last);

		if (READ_ONCE(map[i]) & m)
			bcv_atomic_andnot(&map[i], m);
	}
}

/*------------------------------------------------------------------------
 * PB rows.  Word j holds rows 4j..4j+3; bitmap word i (tracks 64i..64i+63)
 * corresponds to PB words 16i..16i+15.
 */

static u64 pb_longs(u64 tracks)
{
	return (tracks + ROWS - 1) / ROWS;
}

/* Column @col of the 4 rows of @w, packed into bits 0..3. */
static unsigned long pb_gather(unsigned long w, unsigned int col)
{
	unsigned long x = (w >> col) & ROW_REP;

	x |= x >> 15;
	x |= x >> 30;
	return x & 0xf;
}

/* Bits 0..3 of @bits to bit 0 of rows 0..3: the inverse of pb_gather(). */
static unsigned long pb_spread(unsigned long bits)
{
	unsigned long x = bits & 0xf;

	x = (x | x << 30) & 0x0000000300000003UL;
	x = (x | x << 15) & ROW_REP;
	return x;
}

/* Row selector (bit 0 of each row) of the rows of word j that exist. */
static unsigned long pb_rows_all(u64 tracks, u64 j)
{
	u64 left = tracks - j * ROWS;

	return left >= ROWS ? ROW_REP : pb_spread((1UL << left) - 1);
}

/* Column @col of the 64 tracks of bitmap word @i, as a bitmap word. */
static unsigned long pb_column_word(const struct bcv_tm_vol *std, u64 i,
				    unsigned int col)
{
	u64 j = i * 16, end = min(pb_longs(std->tracks), j + 16);
	unsigned long x = 0;

	for (; j < end; j++)
		x |= pb_gather(std->pb[j], col) << ((j % 16) * 4);
	return x;
}

/*
 * For the tracks of bitmap word @i selected by @sel, set the columns in
 * @set and clear those in @clr.
 */
static void pb_update_word(struct bcv_tm_vol *std, u64 i, unsigned long sel,
			   unsigned long set, unsigned long clr)
{
	u64 j = i * 16, end = min(pb_longs(std->tracks), j + 16);

	for (; sel && j < end; j++, sel >>= 4) {
		unsigned long rows = pb_spread(sel);

		if (rows)
			std->pb[j] = (std->pb[j] | rows * set) & ~(rows * clr);
	}
}

/* Set @set and clear @clr in every row. */
static void pb_update_all(struct bcv_tm_vol *std, unsigned long set,
			  unsigned long clr)
{
	u64 j, n = pb_longs(std->tracks);
	unsigned long s = ROW_REP * set, c = ROW_REP * clr;

	for (j = 0; j + 1 < n; j++)
		std->pb[j] = (std->pb[j] | s) & ~c;
	if (n) {
		unsigned long rows = pb_rows_all(std->tracks, n - 1);

		std->pb[n - 1] = (std->pb[n - 1] | rows * set) & ~(rows * clr);
	}
}

/*------------------------------------------------------------------------
 * Volumes
 */

int bcv_tm_vol_init(struct bcv_tm_vol *v, u64 sectors, unsigned int track_shift,
		    bool is_std, unsigned int nr_legs)
{
	unsigned int p;

	memset(v, 0, sizeof(*v));
	if (nr_legs < 1 || nr_legs > BCV_MAX_LEGS)
		return -EINVAL;
	if (bcv_tracks(sectors, track_shift) > BCV_TM_MAX_TRACKS)
		return -E2BIG;
	v->sectors = sectors;
	v->track_shift = track_shift;
	v->tracks = bcv_tracks(sectors, track_shift);
	v->is_std = is_std;
	v->nr_legs = nr_legs;
	for (p = 0; p < BCV_POSITIONS; p++) {
		v->inv[p] = bcv_bitmap_alloc(v->tracks);
		if (!v->inv[p])
			goto nomem;
		if (p < nr_legs)
			v->role[p] = BCV_POS_LEG;
	}
	if (!is_std)
		v->role[BCV_M4B] = BCV_POS_M4B;
	v->copying = bcv_bitmap_alloc(v->tracks);
	v->scratch = bcv_bitmap_alloc(v->tracks);
	if (!v->copying || !v->scratch)
		goto nomem;
	if (is_std) {
		v->pb = bcv_bitmap_alloc(v->tracks * 16);
		if (!v->pb)
			goto nomem;
	}
	return 0;
nomem:
	bcv_tm_vol_free(v);
	return -ENOMEM;
}

u64 bcv_tm_vol_bytes(u64 tracks, bool is_std)
{
	/* As bcv_tm_vol_init() allocates: a word at least per table. */
	u64 bm = bm_longs(tracks) ?: 1, pb = pb_longs(tracks) ?: 1;

	if (tracks > BCV_TM_MAX_TRACKS)
		return (u64)-1;
	return ((BCV_POSITIONS + 2) * bm + (is_std ? pb : 0)) *
	       sizeof(unsigned long);
}

void bcv_tm_vol_free(struct bcv_tm_vol *v)
{
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++) {
		bcv_bitmap_free(v->inv[p]);
		v->inv[p] = NULL;
	}
	bcv_bitmap_free(v->copying);
	bcv_bitmap_free(v->scratch);
	bcv_bitmap_free(v->pb);
	v->scratch = NULL;
	v->copying = NULL;
	v->pb = NULL;
}

bool bcv_tm_invalid(const struct bcv_tm_vol *v, int pos, u64 t)
{
	return v->role[pos] == BCV_POS_NONE || test_bit(t, v->inv[pos]);
}

unsigned int bcv_tm_trackid(const struct bcv_tm_vol *v, u64 t)
{
	unsigned int p, nib = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		nib |= bcv_tm_invalid(v, p, t) << p;
	return nib;
}

bool bcv_tm_pb_changed(const struct bcv_tm_vol *std, u64 t, unsigned int col)
{
	return (std->pb[t / ROWS] >> ((t % ROWS) * 16 + col)) & 1;
}

/* Positions that hold the volume's data: own legs and attached MMs. */
static unsigned int data_positions(const struct bcv_tm_vol *v)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (v->role[p] == BCV_POS_LEG || v->role[p] == BCV_POS_MM)
			m |= 1U << p;
	return m;
}

/* Data positions that are own legs. */
static unsigned int leg_positions(const struct bcv_tm_vol *v)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (v->role[p] == BCV_POS_LEG)
			m |= 1U << p;
	return m;
}

unsigned int bcv_tm_write_targets(const struct bcv_tm_vol *v)
{
	return data_positions(v) & ~v->failed & ~READ_ONCE(v->ro);
}

/*------------------------------------------------------------------------
 * Host I/O marks
 */

void bcv_tm_write(struct bcv_tm_vol *v, u64 sector, u64 nr_sectors,
		  unsigned int written)
{
	unsigned int s = v->track_shift - BCV_SECTOR_SHIFT, p;
	u64 first, last, ffirst, flast, end = sector + nr_sectors;

	if (!nr_sectors)
		return;
	bcv_track_range(sector, nr_sectors, v->track_shift, &first, &last);

	if (v->is_std) {
		unsigned long alloc = READ_ONCE(v->alloc);
		u64 j;

		for (j = first / ROWS; alloc && j <= last / ROWS; j++) {
			unsigned int lo = j == first / ROWS ? first % ROWS : 0;
			unsigned int hi = j == last / ROWS ? last % ROWS : ROWS - 1;
			unsigned long bits = pb_spread((2UL << hi) - (1UL << lo)) * alloc;

			if ((READ_ONCE(v->pb[j]) & bits) != bits)
				bcv_atomic_or(&v->pb[j], bits);
		}
	} else {
		bm_set_atomic(v->inv[BCV_M4B], first, last);
	}

	/* Pairs with bcv_tm_copy_done(): a racing copy must not mark V. */
	bm_clear_atomic(v->copying, first, last);

	/* Tracks written whole (the partial last track counts) are V. */
	ffirst = sector & ((1ULL << s) - 1) ? first + 1 : first;
	flast = (end & ((1ULL << s) - 1)) && end < v->sectors ? last - 1 : last;
	if (ffirst > flast || flast == (u64)-1)
		return;
	written &= data_positions(v);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (written & (1U << p))
			bm_clear_atomic(v->inv[p], ffirst, flast);
}

/* Tracks of word @i that some position in @m holds (is V for). */
static unsigned long valid_at(const struct bcv_tm_vol *v, unsigned int m,
			      u64 i)
{
	unsigned long w = 0;
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (m & (1U << p))
			w |= ~READ_ONCE(v->inv[p][i]);
	return w;
}

/*
 * The first position in @m, in order of preference (legs, then MMs), that
 * is V for track bit @b of word @i; BCV_NO_POS if none.
 */
static int first_valid_bit(const struct bcv_tm_vol *v, unsigned int m, u64 i,
			   unsigned long b)
{
	unsigned int p, legs = leg_positions(v);

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((m & legs & (1U << p)) && !(READ_ONCE(v->inv[p][i]) & b))
			return p;
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((m & ~legs & (1U << p)) && !(READ_ONCE(v->inv[p][i]) & b))
			return p;
	return BCV_NO_POS;
}

/* The tracks [*first, *last] of a range, clipped to the volume; false if none. */
static bool clip_range(const struct bcv_tm_vol *v, u64 sector, u64 nr_sectors,
		       u64 *first, u64 *last)
{
	if (!nr_sectors || !v->tracks)
		return false;
	bcv_track_range(sector, nr_sectors, v->track_shift, first, last);
	if (*last >= v->tracks)
		*last = v->tracks - 1;
	return *first <= *last;
}

u64 bcv_tm_fill_track(const struct bcv_tm_vol *v, u64 sector, u64 nr_sectors)
{
	unsigned int s = v->track_shift - BCV_SECTOR_SHIFT;
	unsigned int ro = READ_ONCE(v->ro), to;
	u64 first, last, end = sector + nr_sectors, t[2];
	int k;

	/* Every write asks: no protected restore, no work. */
	if (!ro || !clip_range(v, sector, nr_sectors, &first, &last))
		return BCV_NO_TRACK;
	to = bcv_tm_write_targets(v);
	/* Only a track the write covers in part needs its old data. */
	t[0] = sector & ((1ULL << s) - 1) ? first : (u64)-1;
	t[1] = (end & ((1ULL << s) - 1)) && end < v->sectors ? last : (u64)-1;
	for (k = 0; k < 2; k++) {
		u64 i = t[k] / BPL;
		unsigned long b;

		if (t[k] == (u64)-1)
			continue;
		b = 1UL << (t[k] % BPL);
		if (!(valid_at(v, to, i) & b) && (valid_at(v, ro, i) & b))
			return t[k];
	}
	return BCV_NO_TRACK;
}

u64 bcv_tm_mark_stale(struct bcv_tm_vol *v, int pos, u64 sector,
		      u64 nr_sectors)
{
	/*
	 * Only a position that is there takes over: a track that an absent
	 * BCV or a failed leg holds besides @pos stays V at @pos, which
	 * alone can serve it now.
	 */
	unsigned int others = data_positions(v) & ~v->failed & ~(1U << pos);
	u64 first, last, i, kept = 0;

	if (v->role[pos] == BCV_POS_NONE ||
	    !clip_range(v, sector, nr_sectors, &first, &last))
		return 0;
	for (i = first / BPL; i <= last / BPL; i++) {
		unsigned long m = bm_word_mask(i, first, last);
		unsigned long mine = ~READ_ONCE(v->inv[pos][i]) & m;

		/* M4b says "written by the BCV's users": it holds no data. */
		if (v->role[pos] == BCV_POS_LEG || v->role[pos] == BCV_POS_MM) {
			unsigned long elsewhere = valid_at(v, others, i);

			kept += hweight_long(mine & ~elsewhere);
			m &= elsewhere;
		}
		if (m)
			bcv_atomic_or(&v->inv[pos][i], m);
	}
	bm_clear_atomic(v->copying, first, last);
	return kept;
}

u64 bcv_tm_flush_failed(struct bcv_tm_vol *v, int pos)
{
	u32 e = v->stale_epoch;

	/* One byte per position: its own count, wrapping within it. */
	e = (e & ~(0xffU << (8 * pos))) |
	    ((((e >> (8 * pos)) + 1) & 0xff) << (8 * pos));
	WRITE_ONCE(v->stale_epoch, e);
	smp_mb();	/* pairs with bcv_io.c's read after its V marks */
	return bcv_tm_mark_stale(v, pos, 0, v->sectors);
}

void bcv_tm_leg_fail(struct bcv_tm_vol *v, int pos)
{
	if (v->role[pos] != BCV_POS_LEG)
		return;
	if (bcv_tm_mark_stale(v, pos, 0, v->sectors))
		WRITE_ONCE(v->lost, v->lost | 1U << pos);
	WRITE_ONCE(v->failed, v->failed | 1U << pos);
}

u64 bcv_tm_write_done(struct bcv_tm_vol *v, u64 sector, u64 nr_sectors,
		      unsigned int sent, unsigned int ok, bool defined)
{
	unsigned int s = v->track_shift - BCV_SECTOR_SHIFT, d, p;
	u64 first, last, ffirst, flast, end = sector + nr_sectors, i, lost = 0;

	if (!clip_range(v, sector, nr_sectors, &first, &last))
		return 0;
	d = data_positions(v);
	sent &= d;
	ok &= sent;

	/* Tracks written whole (the partial last track counts). */
	ffirst = sector & ((1ULL << s) - 1) ? first + 1 : first;
	flast = (end & ((1ULL << s) - 1)) && end < v->sectors ? last - 1 : last;
	if (!defined || flast == (u64)-1) {
		ffirst = 1;
		flast = 0;
	}

	/*
	 * The common case: every data position took the write.  Positions
	 * that were V stay V (they hold the new data on top of the old), and
	 * tracks written whole become V everywhere.
	 */
	if (defined && ok == d) {
		if (ffirst <= flast)
			for (p = 0; p < BCV_POSITIONS; p++)
				if (ok & (1U << p))
					bm_clear_atomic(v->inv[p], ffirst, flast);
		bm_clear_atomic(v->copying, first, last);
		return 0;
	}

	for (i = first / BPL; i <= last / BPL; i++) {
		unsigned long m = bm_word_mask(i, first, last);
		unsigned long whole = m & bm_range_word(i, ffirst, flast);
		unsigned long held = 0, hold[BCV_POSITIONS], none, untouched;
		unsigned long away = 0;

		/* 1. Who holds the new data: V before, or written whole. */
		for (p = 0; p < BCV_POSITIONS; p++) {
			hold[p] = 0;
			if (ok & (1U << p))
				hold[p] = (~READ_ONCE(v->inv[p][i]) | whole) & m;
			held |= hold[p];
		}
		/*
		 * 2. Tracks nobody holds keep their old data: where the bio
		 *    did not go, it is intact; else one position it went to
		 *    (maybe torn) is kept and the others copy it.  Positions
		 *    that are not there (an absent BCV, a failed leg) keep it
		 *    only when no position that is there can: the data stays
		 *    readable wherever it can be.
		 */
		none = m & ~held;
		untouched = valid_at(v, d & ~sent & ~v->failed, i) & none;
		if (defined)
			lost += hweight_long(untouched);
		none &= ~untouched;
		while (none) {
			unsigned long b = none & -none;
			int k = first_valid_bit(v, sent, i, b);

			if (k != BCV_NO_POS)
				hold[k] |= b;
			else
				away |= b;
			lost++;
			none &= ~b;
		}
		/* 3. Every other data position may differ: I. */
		for (p = 0; p < BCV_POSITIONS; p++) {
			unsigned long keep = hold[p];

			if (!(d & (1U << p)))
				continue;
			if (!(sent & (1U << p)))
				keep |= untouched;
			if (v->failed & (1U << p))
				keep |= away;
			if (m & ~keep)
				bcv_atomic_or(&v->inv[p][i], m & ~keep);
			if (hold[p] & whole)
				bcv_atomic_andnot(&v->inv[p][i], hold[p] & whole);
		}
	}
	bm_clear_atomic(v->copying, first, last);
	return lost;
}

/* Candidate source positions in order of preference: legs, then MMs. */
static int first_valid(const struct bcv_tm_vol *v, unsigned int cand,
		       u64 first, u64 end)
{
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((cand & (1U << p)) && v->role[p] == BCV_POS_LEG &&
		    find_next_bit(v->inv[p], end, first) >= end)
			return p;
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((cand & (1U << p)) && v->role[p] == BCV_POS_MM &&
		    find_next_bit(v->inv[p], end, first) >= end)
			return p;
	return BCV_NO_POS;
}

int bcv_tm_read_pos(const struct bcv_tm_vol *v, u64 sector, u64 nr_sectors)
{
	return bcv_tm_read_pos_avoid(v, sector, nr_sectors, 0);
}

int bcv_tm_read_pos_avoid(const struct bcv_tm_vol *v, u64 sector,
			  u64 nr_sectors, unsigned int avoid)
{
	u64 first, last;

	bcv_track_range(sector, nr_sectors, v->track_shift, &first, &last);
	if (last >= v->tracks)
		last = v->tracks ? v->tracks - 1 : 0;
	/*
	 * Every position that is there may serve a read, the MM of a
	 * protected restore too: it is a read-only source, and the tracks
	 * not restored yet live on it alone.
	 */
	return first_valid(v, data_positions(v) & ~v->failed & ~avoid, first,
			   last + 1);
}

/*------------------------------------------------------------------------
 * Leg management
 */

bool bcv_tm_legs_changeable(const struct bcv_tm_vol *v)
{
	/*
	 * A STD's legs change with BCVs attached too: its legs are M1..Mn,
	 * its MMs above them, and an MM in a new leg's way moves first
	 * (bcv_tm_mm_move()).  That is how a STD whose own legs died while
	 * a BCV held its data gets a leg again.  An attached BCV's own
	 * tables wait until it is split: they cannot change meanwhile.
	 */
	if (!v->is_std)
		return !v->session || v->session->mm == BCV_NO_POS;
	return true;
}

int bcv_tm_leg_room(const struct bcv_tm_vol *v, int *to)
{
	int pos = v->nr_legs, p;

	*to = BCV_NO_POS;
	if (pos >= BCV_MAX_LEGS || v->role[pos] != BCV_POS_MM)
		return BCV_NO_POS;
	for (p = BCV_POSITIONS - 1; p > pos; p--)
		if (v->role[p] == BCV_POS_NONE) {
			*to = p;
			break;
		}
	return pos;
}

void bcv_tm_mm_move(struct bcv_tm_vol *v, int from, int to)
{
	struct bcv_tm_sess *s = v->mm_sess[from];
	unsigned long *t = v->inv[to];
	u32 e = v->stale_epoch, b = (e >> (8 * from)) & 0xff;

	v->inv[to] = v->inv[from];
	v->inv[from] = t;
	bm_zero(t, v->tracks);
	v->role[to] = BCV_POS_MM;
	v->role[from] = BCV_POS_NONE;
	v->mm_sess[to] = s;
	v->mm_sess[from] = NULL;
	s->mm = to;
	/* Its bits go with it: absent (failed), read-only, stale epoch. */
	if (v->failed & (1U << from))
		v->failed = (v->failed & ~(1U << from)) | 1U << to;
	if (v->ro & (1U << from))
		WRITE_ONCE(v->ro, (v->ro & ~(1U << from)) | 1U << to);
	e &= ~(0xffU << (8 * to));
	WRITE_ONCE(v->stale_epoch, e | b << (8 * to));
}

int bcv_tm_leg_add(struct bcv_tm_vol *v)
{
	int pos = v->nr_legs;

	if (!bcv_tm_legs_changeable(v))
		return -EBUSY;
	if (v->nr_legs >= BCV_MAX_LEGS || v->role[pos] != BCV_POS_NONE)
		return -ENOSPC;
	bm_fill(v->inv[pos], v->tracks);
	v->role[pos] = BCV_POS_LEG;
	v->failed &= ~(1U << pos);
	v->lost &= ~(1U << pos);
	v->nr_legs++;
	return pos;
}

void bcv_tm_leg_unadd(struct bcv_tm_vol *v)
{
	int pos = v->nr_legs - 1;

	v->role[pos] = BCV_POS_NONE;
	v->failed &= ~(1U << pos);
	v->lost &= ~(1U << pos);
	v->nr_legs--;
}

/* @m with bits pos+1..n-1 (legs) moved down one, bit @pos gone. */
static unsigned int shift_legs(unsigned int m, int pos, unsigned int n)
{
	unsigned int low = (1U << pos) - 1, legs = (1U << n) - 1;

	return (m & low) | ((m >> 1) & (legs >> 1) & ~low) | (m & ~legs);
}

int bcv_tm_leg_remove(struct bcv_tm_vol *v, int pos)
{
	unsigned int p, others = 0;
	unsigned long *gone;
	u64 i, n = bm_longs(v->tracks);

	if (pos < 0 || pos >= (int)v->nr_legs)
		return -EINVAL;
	if (!bcv_tm_legs_changeable(v) || v->nr_legs == 1)
		return -EBUSY;
	/*
	 * An ABORT of a restore names by position the legs that kept the old
	 * data (bcv_tm_abort()): none may go or move meanwhile.
	 */
	for (p = 0; v->is_std && p < BCV_SESSIONS; p++)
		if (v->sess[p] && v->sess[p]->state == BCV_RESTINPROG)
			return -EBUSY;
	/*
	 * Every track must stay valid at some other position that can serve
	 * it (a leg, an attached BCV)...  A failed leg serves nothing again:
	 * it goes when every track it holds is valid somewhere else, if only
	 * on another failed leg.  Never valid nowhere: recovery after a crash
	 * would hand such a track to a leg that holds anything (a track I
	 * everywhere on disk is taken for a command cut in the middle).
	 */
	others = data_positions(v) & ~(1U << pos);
	if (!(v->failed & (1U << pos)))
		others &= ~v->failed;
	if (!others)
		return -EBUSY;
	for (i = 0; i < n; i++) {
		unsigned long all = ~0UL;

		for (p = 0; p < BCV_POSITIONS; p++)
			if (others & (1U << p))
				all &= v->inv[p][i];
		if (i == n - 1)
			all &= bm_tail(v->tracks);
		if (all)
			return -EBUSY;
	}
	/*
	 * ...and a BCV's new primary must be whole: REESTABLISH and RESTORE
	 * trust it for every track neither side changed.
	 */
	if (!v->is_std && pos == 0 && bm_any(v->inv[1], v->tracks))
		return -EBUSY;

	gone = v->inv[pos];
	for (p = pos; p + 1 < v->nr_legs; p++)
		v->inv[p] = v->inv[p + 1];
	v->inv[v->nr_legs - 1] = gone;
	v->role[v->nr_legs - 1] = BCV_POS_NONE;
	/* Failed bits follow their legs down; an MM's stays. */
	v->failed = shift_legs(v->failed, pos, v->nr_legs);
	v->lost = shift_legs(v->lost, pos, v->nr_legs);
	v->nr_legs--;
	return 0;
}

/*------------------------------------------------------------------------
 * Session states
 */

#define ST(x)	(1U << BCV_##x)

/* Legal moves: the states each state may go to (bcv_trackmap.h). */
static const unsigned int state_moves[] = {
	[BCV_NOSESSION]		= ST(SYNCINPROG),
	[BCV_SYNCINPROG]	= ST(SYNCHRONIZED) | ST(SPLIT),
	[BCV_SYNCHRONIZED]	= ST(SPLIT) | ST(SYNCINPROG),
	[BCV_SPLIT]		= ST(SYNCINPROG) | ST(RESTINPROG) | ST(NOSESSION),
	[BCV_RESTINPROG]	= ST(RESTORED) | ST(SYNCINPROG) | ST(SPLIT),
	[BCV_RESTORED]		= ST(SPLIT) | ST(SYNCINPROG),
};

/* Every state, and only those, has a row: the uapi's values, 0 for none. */
static_assert(ARRAY_SIZE(state_moves) == BCV_STATE_RESTORED + 1,
	      "a row per uapi state");

bool bcv_tm_state_legal(enum bcv_state from, enum bcv_state to)
{
	return from < ARRAY_SIZE(state_moves) && (state_moves[from] & (1U << to));
}

void bcv_tm_set_state(struct bcv_tm_sess *s, enum bcv_state to)
{
	enum bcv_state from = s->state;

	if (from == to)
		return;
	BCV_TM_WARN_ON(!bcv_tm_state_legal(from, to));
	s->state = to;
	if (s->std->on_state)
		s->std->on_state(s, from, to);
}

/*------------------------------------------------------------------------
 * Commands
 */

struct bcv_tm_sess *bcv_tm_session(const struct bcv_tm_vol *std,
				   const struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *s = bcv->session;

	return s && s->std == std ? s : NULL;
}

static int free_position(const struct bcv_tm_vol *std)
{
	int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (std->role[p] == BCV_POS_NONE)
			return p;
	return BCV_NO_POS;
}

/* A STD and a BCV whose tables line up track for track. */
/* Refuse a command: @err, and in cmd->why (if asked) the reason. */
static int refuse(const struct bcv_tm_cmd *cmd, int err, unsigned int reason,
		  u64 detail)
{
	if (cmd && cmd->why) {
		cmd->why->reason = reason;
		cmd->why->detail = detail;
	}
	return err;
}

static int check_pair(const struct bcv_tm_vol *std, const struct bcv_tm_vol *bcv,
		      const struct bcv_tm_cmd *cmd)
{
	if (!std->is_std || bcv->is_std)
		return refuse(cmd, -EINVAL, BCV_R_ROLE, 0);
	if (std->track_shift != bcv->track_shift || bcv->sectors < std->sectors)
		return refuse(cmd, -EINVAL, BCV_R_GEOMETRY, 0);
	return 0;
}

static void attach(struct bcv_tm_sess *s, int pos)
{
	s->std->role[pos] = BCV_POS_MM;
	s->std->mm_sess[pos] = s;
	s->mm = pos;
	if (s->protect)
		WRITE_ONCE(s->std->ro, s->std->ro | 1U << pos);
}

static void detach(struct bcv_tm_sess *s)
{
	struct bcv_tm_vol *std = s->std;

	bm_zero(std->inv[s->mm], std->tracks);
	std->role[s->mm] = BCV_POS_NONE;
	std->mm_sess[s->mm] = NULL;
	WRITE_ONCE(std->ro, std->ro & ~(1U << s->mm));
	/*
	 * An absent BCV let go (bcv_tm_let_go()) leaves its absent bit: the
	 * next session at the position would take no copy and no write.
	 */
	std->failed &= ~(1U << s->mm);
	s->mm = BCV_NO_POS;
	s->protect = false;
}

int bcv_tm_establish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		     const struct bcv_tm_cmd *cmd, struct bcv_tm_sess **spare)
{
	struct bcv_tm_sess *s = bcv->session;
	unsigned int col;
	int ret, pos;

	ret = check_pair(std, bcv, cmd);
	if (ret)
		return ret;
	if (s && s->std != std)
		return refuse(cmd, -EBUSY, BCV_R_OTHER_STD, 0);
	if (s && s->mm != BCV_NO_POS)
		return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	if (cmd->bcv_open)
		return refuse(cmd, -EBUSY, BCV_R_BCV_OPEN, cmd->bcv_openers);
	if (!s && (std->alloc & COLS_ALL) == COLS_ALL)
		return refuse(cmd, -ENOSPC, BCV_R_NO_COLUMN, 0);
	pos = free_position(std);
	if (pos == BCV_NO_POS)
		return refuse(cmd, -EBUSY, BCV_R_NO_POSITION, 0);
	if (!s) {
		if (!*spare)
			return -ENOMEM;
		s = *spare;
		*spare = NULL;
		col = __ffs(~std->alloc);
		memset(s, 0, sizeof(*s));
		s->std = std;
		s->bcv = bcv;
		s->id = col;
		std->sess[col] = s;
		bcv->session = s;
		WRITE_ONCE(std->alloc, std->alloc | 1UL << col);
	}
	pb_update_all(std, 1UL << s->id, 0);
	attach(s, pos);
	bm_fill(std->inv[pos], std->tracks);
	bcv_tm_set_state(s, BCV_SYNCINPROG);
	return 0;
}

/* Every track position @gone holds stays valid elsewhere on @std. */
static bool std_keeps_data(const struct bcv_tm_vol *std, int gone)
{
	unsigned int p, d = data_positions(std) & ~(1U << gone);
	u64 i, n = bm_longs(std->tracks);

	if (!d)
		return false;
	for (i = 0; i < n; i++) {
		/* Held at @gone (a track valid nowhere is no one's copy)... */
		unsigned long all = ~std->inv[gone][i];

		/* ...and nowhere else. */
		for (p = 0; p < BCV_POSITIONS; p++)
			if (d & (1U << p))
				all &= std->inv[p][i];
		if (i == n - 1)
			all &= bm_tail(std->tracks);
		if (all)
			return false;
	}
	return true;
}

int bcv_tm_split_check(const struct bcv_tm_vol *std,
		       const struct bcv_tm_vol *bcv, const struct bcv_tm_cmd *cmd)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);

	if (!s)
		return refuse(cmd, -ENOENT, BCV_R_NO_SESSION, 0);
	if (s->protect) {
		/* The end of a protected restore: the BCV took no write. */
		if (s->state != BCV_RESTORED || cmd->force)
			return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	} else if (cmd->force) {
		if (s->state != BCV_SYNCHRONIZED && s->state != BCV_RESTORED &&
		    s->state != BCV_SYNCINPROG)
			return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	} else {
		if (s->state != BCV_SYNCHRONIZED && s->state != BCV_RESTORED)
			return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
		/* The BCV must hold every track before it becomes a copy. */
		if (bm_any(std->inv[s->mm], std->tracks))
			return refuse(cmd, -EBUSY, BCV_R_NOT_SYNCED,
				      bcv_tm_count_invalid(std, s->mm));
	}
	/*
	 * Nor may it take away the only good copy of a track: after a write
	 * failed on every own leg of the STD, the MM alone holds it.
	 */
	if (!std_keeps_data(std, s->mm))
		return refuse(cmd, -EBUSY, BCV_R_ONLY_COPY, 0);
	return 0;
}

/*
 * The BCV's own legs when it leaves the STD (its tables, untouched while
 * it was attached, are as they were before): the primary, which was the
 * STD's MM, holds the STD's data where the MM is V; where the MM is I it
 * holds anything (a copy or a host write half done, an old stale track),
 * so a fixed mirror that held the track before the attach serves it and
 * the primary is copied from it again (without one the primary keeps it:
 * the only copy there is, marked changed by the caller).  A fixed mirror
 * goes stale where the primary took data it did not: @changed, among the
 * tracks the MM holds.  A restore's source keeps its bits where its MM is
 * V (it was read, not written, but for @changed).  Tracks of a larger BCV
 * past the STD's end were not touched: their bits stay.
 */
static void bcv_legs_detached(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
			      struct bcv_tm_vol *bcv, const unsigned long *changed)
{
	const unsigned long *mm = std->inv[s->mm];
	u64 i, n = bm_longs(std->tracks);
	unsigned int p;

	for (i = 0; i < n; i++) {
		unsigned long all = i == n - 1 ? bm_tail(std->tracks) : ~0UL;
		unsigned long got = ~mm[i] & all, fixed = 0;

		for (p = 1; p < bcv->nr_legs; p++) {
			/* Stale where the primary took data it missed. */
			bcv->inv[p][i] |= (changed ? changed[i] : ~0UL) & got;
			if (!(bcv->failed & (1U << p)))
				fixed |= ~bcv->inv[p][i] & all;
		}
		bcv->inv[0][i] = (bcv->inv[0][i] & ~all) | (mm[i] & fixed);
	}
}

int bcv_tm_split(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		 const struct bcv_tm_cmd *cmd)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);
	u64 i;
	int ret;

	ret = bcv_tm_split_check(std, bcv, cmd);
	if (ret)
		return ret;

	if (s->protect) {
		/*
		 * The BCV and its fixed mirrors hold what they held; the STD
		 * holds the BCV's data but where the host wrote since the
		 * restore began, which the session's column says (C).  Its
		 * users' old changes are in the STD now: M4b V.
		 */
		bm_zero(bcv->inv[BCV_M4B], bcv->tracks);
		detach(s);
		bcv_tm_set_state(s, BCV_SPLIT);
		return 0;
	}

	/*
	 * BFM: stale where the BCV's primary took data while attached
	 * (--diff: the tracks that changed on the STD, which its column
	 * says); the primary holds what the MM holds (split --force: not
	 * what it never got).
	 */
	if (cmd->diff && bcv->nr_legs > 1) {
		for (i = 0; i < bm_longs(std->tracks); i++)
			std->scratch[i] = pb_column_word(std, i, s->id);
		bcv_legs_detached(std, s, bcv, std->scratch);
	} else {
		bcv_legs_detached(std, s, bcv, NULL);
	}
	bm_zero(bcv->inv[BCV_M4B], bcv->tracks);
	pb_update_all(std, 0, 1UL << s->id);
	if (cmd->force) {
		/* What the BCV never got differs: changed on both sides. */
		const unsigned long *mm = std->inv[s->mm];

		for (i = 0; i < bm_longs(std->tracks); i++) {
			bcv->inv[BCV_M4B][i] = mm[i];
			pb_update_word(std, i, mm[i], 1UL << s->id, 0);
		}
	}
	detach(s);
	bcv_tm_set_state(s, BCV_SPLIT);
	return 0;
}

/*
 * ABORT of a restore: where a position that held every track before it
 * (@kept) is still I, the restore has not written the track there, and no
 * host write went there either (no C in the session's column, checked by
 * bcv_tm_abort_check()): it holds the STD's old data again.
 */
static int abort_restore(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
			 unsigned int kept)
{
	struct bcv_tm_vol *bcv = s->bcv;
	u64 i, n = bm_longs(std->tracks);
	unsigned int p;

	/*
	 * An unprotected restore sent the host's writes to the BCV's
	 * primary (its MM) and not to its fixed mirrors: those go stale
	 * there (the column says where: the restore cleared it).  A
	 * protected restore never wrote the BCV.
	 */
	if (!s->protect && bcv->nr_legs > 1) {
		for (i = 0; i < n; i++)
			std->scratch[i] = pb_column_word(std, i, s->id);
		bcv_legs_detached(std, s, bcv, std->scratch);
	}
	for (i = 0; i < n; i++) {
		unsigned long back = 0;

		for (p = 0; p < BCV_POSITIONS; p++)
			if (kept & (1U << p)) {
				back |= std->inv[p][i];
				std->inv[p][i] = 0;
			}
		/* Those tracks differ from the BCV again. */
		pb_update_word(std, i, back, 1UL << s->id, 0);
	}
	detach(s);
	bcv_tm_set_state(s, BCV_SPLIT);
	return 0;
}

/*
 * The positions @kept that can take a restore's tracks back: own legs
 * only.  An attached BCV's position may have changed hands since the
 * restore began (aborted or split --force, and another BCV attached
 * there), and the copy engine brings the attached BCVs up to date from
 * the legs anyway.
 */
static unsigned int abort_kept(const struct bcv_tm_vol *std,
			       const struct bcv_tm_sess *s, unsigned int kept)
{
	return kept & leg_positions(std) & ~std->failed & ~(1U << s->mm);
}

int bcv_tm_abort_check(const struct bcv_tm_vol *std,
		       const struct bcv_tm_vol *bcv, unsigned int kept)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);
	u64 i, n = bm_longs(std->tracks);
	unsigned int p;

	if (!s)
		return -ENOENT;
	if (s->state == BCV_SYNCINPROG)
		return std_keeps_data(std, s->mm) ? 0 : -EBUSY;
	if (s->state != BCV_RESTINPROG)
		return -EBUSY;
	kept = abort_kept(std, s, kept);
	if (!(kept & leg_positions(std)))
		return -EBUSY;
	for (i = 0; i < n; i++) {
		unsigned long c = pb_column_word(std, i, s->id);

		for (p = 0; p < BCV_POSITIONS; p++)
			if ((kept & (1U << p)) && (std->inv[p][i] & c))
				return -EBUSY;
	}
	return 0;
}

int bcv_tm_abort(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		 unsigned int kept)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);
	const unsigned long *mm;
	u64 i;
	int ret;

	ret = bcv_tm_abort_check(std, bcv, kept);
	if (ret)
		return ret;
	if (s->state == BCV_RESTINPROG)
		return abort_restore(std, s, abort_kept(std, s, kept));

	mm = std->inv[s->mm];
	/*
	 * The BCV's fixed mirrors missed what its primary took meanwhile;
	 * the primary holds what the copy finished (bcv_legs_detached()).
	 */
	bcv_legs_detached(std, s, bcv, NULL);
	/*
	 * What the copy was to write, written or not, differs from what the
	 * BCV held: its column is C there already (ESTABLISH set it all,
	 * REESTABLISH where it copies), the BCV side gets M4b I.
	 */
	bm_zero(bcv->inv[BCV_M4B], bcv->tracks);
	for (i = 0; i < bm_longs(std->tracks); i++)
		bcv->inv[BCV_M4B][i] = pb_column_word(std, i, s->id) | mm[i];
	detach(s);
	bcv_tm_set_state(s, BCV_SPLIT);
	return 0;
}

/*
 * ABORT of a restore whose BCV is not there: the STD side of
 * abort_restore() (the BCV's tables are its own business when it is back:
 * bcv_tm_fixed_follow_primary()).
 */
/*
 * Does the MM of @s hold a track no other data position holds (outside
 * the session's column when @col: an ABORT gives those back to its legs)?
 * Letting it go would leave such a track valid nowhere, which recovery
 * after a crash cannot tell from a command cut in the middle.
 */
static bool mm_only_copy(const struct bcv_tm_vol *std,
			 const struct bcv_tm_sess *s, bool col)
{
	unsigned int p, d = data_positions(std) & ~(1U << s->mm);
	u64 i, n = bm_longs(std->tracks);

	for (i = 0; i < n; i++) {
		unsigned long only = ~std->inv[s->mm][i];

		for (p = 0; p < BCV_POSITIONS; p++)
			if (d & (1U << p))
				only &= std->inv[p][i];
		if (col)
			only &= ~pb_column_word(std, i, s->id);
		if (i == n - 1)
			only &= bm_tail(std->tracks);
		if (only)
			return true;
	}
	return false;
}

static int abort_restore_absent(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
				unsigned int kept, const struct bcv_tm_cmd *cmd)
{
	u64 i, n = bm_longs(std->tracks);
	unsigned int p;

	if (mm_only_copy(std, s, true))
		return refuse(cmd, -EBUSY, BCV_R_ONLY_COPY, 0);
	kept = abort_kept(std, s, kept);
	if (!(kept & leg_positions(std)))
		return refuse(cmd, -EBUSY, BCV_R_ABORT_UNSAFE, 0);
	for (i = 0; i < n; i++) {
		unsigned long c = pb_column_word(std, i, s->id);

		for (p = 0; p < BCV_POSITIONS; p++)
			if ((kept & (1U << p)) && (std->inv[p][i] & c))
				return refuse(cmd, -EBUSY, BCV_R_ABORT_UNSAFE, 0);
	}
	for (i = 0; i < n; i++) {
		unsigned long back = 0;

		for (p = 0; p < BCV_POSITIONS; p++)
			if (kept & (1U << p)) {
				back |= std->inv[p][i];
				std->inv[p][i] = 0;
			}
		pb_update_word(std, i, back, 1UL << s->id, 0);
	}
	detach(s);
	bcv_tm_set_state(s, BCV_SPLIT);
	return 0;
}

int bcv_tm_let_go(struct bcv_tm_vol *std, struct bcv_tm_sess *s, bool abort,
		  unsigned int kept, const struct bcv_tm_cmd *cmd)
{
	if (s->std != std || s->bcv)
		return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	switch (s->state) {
	case BCV_RESTINPROG:
		/*
		 * Its tracks not restored yet: ABORT gives them back where
		 * the legs kept the old data; split --force, when they did
		 * not, leaves them unreadable as they are (below).
		 */
		if (abort)
			return abort_restore_absent(std, s, kept, cmd);
		if (!cmd->force)
			return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
		break;
	case BCV_SYNCINPROG:
		if (!abort && !cmd->force)
			return refuse(cmd, -EBUSY, BCV_R_NOT_SYNCED, 0);
		break;
	case BCV_SYNCHRONIZED:
	case BCV_RESTORED:
		if (abort || !cmd->force)
			return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
		break;
	default:
		return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	}
	if (mm_only_copy(std, s, false))
		return refuse(cmd, -EBUSY, BCV_R_ONLY_COPY, 0);
	/* Nothing is known of what the BCV holds: every track differs. */
	pb_update_all(std, 1UL << s->id, 0);
	detach(s);
	bcv_tm_set_state(s, BCV_SPLIT);
	return 0;
}

int bcv_tm_terminate_absent(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
			    struct bcv_tm_sess **freed)
{
	if (s->std != std || s->bcv)
		return -EBUSY;
	if (s->state != BCV_SPLIT)
		return -EBUSY;
	bcv_tm_set_state(s, BCV_NOSESSION);
	WRITE_ONCE(std->alloc, std->alloc & ~(1UL << s->id));
	std->sess[s->id] = NULL;
	*freed = s;
	return 0;
}

void bcv_tm_fixed_follow_primary(struct bcv_tm_vol *bcv)
{
	u64 i, n = bm_longs(bcv->tracks);
	unsigned int p;

	for (p = 1; p < bcv->nr_legs; p++) {
		for (i = 0; i < n; i++)
			bcv->inv[p][i] |= ~bcv->inv[0][i];
		if (n)
			bcv->inv[p][n - 1] &= bm_tail(bcv->tracks);
	}
}

int bcv_tm_reestablish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		       const struct bcv_tm_cmd *cmd)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);
	unsigned long *mm, *m4b = bcv->inv[BCV_M4B];
	u64 i, n = bm_longs(std->tracks);
	int pos;

	if (!s)
		return refuse(cmd, -ENOENT, BCV_R_NO_SESSION, 0);
	if (s->state != BCV_SPLIT)
		return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	if (cmd->bcv_open)
		return refuse(cmd, -EBUSY, BCV_R_BCV_OPEN, cmd->bcv_openers);
	pos = free_position(std);
	if (pos == BCV_NO_POS)
		return refuse(cmd, -EBUSY, BCV_R_NO_POSITION, 0);

	attach(s, pos);
	mm = std->inv[pos];
	for (i = 0; i < n; i++) {
		/*
		 * The BCV's primary leg is what the STD writes and copies to;
		 * where it is stale (a failed read or write there, the BCV
		 * serving from a fixed mirror) it must be copied too.
		 */
		unsigned long r = pb_column_word(std, i, s->id) | m4b[i] |
				  bcv->inv[0][i];

		if (i == n - 1)
			r &= bm_tail(std->tracks);
		mm[i] = r;
		pb_update_word(std, i, r, 1UL << s->id, 0);
	}
	bcv_tm_set_state(s, BCV_SYNCINPROG);
	return 0;
}

static bool legs_valid(const struct bcv_tm_vol *v)
{
	unsigned int p;

	for (p = 0; p < v->nr_legs; p++)
		if (bm_any(v->inv[p], v->tracks))
			return false;
	return true;
}

int bcv_tm_restore(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		   const struct bcv_tm_cmd *cmd)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);
	unsigned long *m4b = bcv->inv[BCV_M4B], others, self;
	unsigned int c, p, targets;
	u64 i, n = bm_longs(std->tracks);
	int pos;

	if (!s)
		return refuse(cmd, -ENOENT, BCV_R_NO_SESSION, 0);
	if (s->state != BCV_SPLIT)
		return refuse(cmd, -EBUSY, BCV_R_STATE, 0);
	if (!legs_valid(bcv)) {
		u64 n = 0;

		for (p = 0; p < bcv->nr_legs; p++)
			n = max(n, bcv_tm_count_invalid(bcv, p));
		return refuse(cmd, -EBUSY, BCV_R_BCV_STALE, n);
	}
	for (c = 0; c < BCV_SESSIONS; c++)
		if (std->sess[c] && std->sess[c]->state == BCV_RESTINPROG)
			return refuse(cmd, -EBUSY, BCV_R_RESTORE_RUNNING, 0);
	if (cmd->std_open && !cmd->force)
		return refuse(cmd, -EBUSY, BCV_R_STD_OPEN, cmd->std_openers);
	if (cmd->bcv_open)
		return refuse(cmd, -EBUSY, BCV_R_BCV_OPEN, cmd->bcv_openers);
	pos = free_position(std);
	if (pos == BCV_NO_POS)
		return refuse(cmd, -EBUSY, BCV_R_NO_POSITION, 0);

	self = 1UL << s->id;
	others = std->alloc & ~self;
	targets = data_positions(std);
	s->protect = cmd->protect;
	attach(s, pos);
	if (!cmd->incremental) {
		for (p = 0; p < BCV_POSITIONS; p++)
			if (targets & (1U << p))
				bm_fill(std->inv[p], std->tracks);
		pb_update_all(std, others, self);
	} else {
		for (i = 0; i < n; i++) {
			unsigned long r = pb_column_word(std, i, s->id) | m4b[i];

			if (i == n - 1)
				r &= bm_tail(std->tracks);
			for (p = 0; p < BCV_POSITIONS; p++)
				if (targets & (1U << p))
					std->inv[p][i] |= r;
			pb_update_word(std, i, r, others, 0);
		}
		pb_update_all(std, 0, self);
	}
	bm_zero(std->inv[pos], std->tracks);
	bcv_tm_set_state(s, BCV_RESTINPROG);
	bcv_tm_update_states(std);
	return 0;
}

int bcv_tm_terminate(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		     struct bcv_tm_sess **freed)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);

	if (!s)
		return -ENOENT;
	if (s->state != BCV_SPLIT)
		return -EBUSY;
	bcv_tm_set_state(s, BCV_NOSESSION);
	WRITE_ONCE(std->alloc, std->alloc & ~(1UL << s->id));
	std->sess[s->id] = NULL;
	bcv->session = NULL;
	*freed = s;
	return 0;
}

/*------------------------------------------------------------------------
 * Copy engine
 */

/* Positions the copy engine may write on @v. */
static unsigned int copy_targets(const struct bcv_tm_vol *v)
{
	/* An attached BCV's legs are the STD's business (its MM). */
	if (!v->is_std && v->session && v->session->mm != BCV_NO_POS)
		return 0;
	return data_positions(v);
}

bool bcv_tm_next_copy(const struct bcv_tm_vol *v, u64 from, u64 max,
		      struct bcv_tm_copy *c)
{
	return bcv_tm_next_copy_avoid(v, from, max, 0, c);
}

bool bcv_tm_next_copy_avoid(const struct bcv_tm_vol *v, u64 from, u64 max,
			    unsigned int avoid, struct bcv_tm_copy *c)
{
	return bcv_tm_next_copy_range(v, from, v->tracks, max, avoid, c);
}

bool bcv_tm_next_copy_range(const struct bcv_tm_vol *v, u64 from, u64 until,
			    u64 max, unsigned int avoid, struct bcv_tm_copy *c)
{
	unsigned int p, d = copy_targets(v) & ~avoid & ~v->failed;
	/* A protected restore's MM is a source, never a destination. */
	unsigned int to = d & ~v->ro, srcs = 0;
	u64 i, t, end;

	if (!to || !max)
		return false;
	until = min(until, v->tracks);
	if (from >= until)
		return false;
	/* Where first_valid() below may find a source. */
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((d & (1U << p)) && (v->role[p] == BCV_POS_LEG ||
					v->role[p] == BCV_POS_MM))
			srcs |= 1U << p;
	for (i = from / BPL; i <= (until - 1) / BPL; i++) {
		unsigned long w = 0;

		for (p = 0; p < BCV_POSITIONS; p++)
			if (to & (1U << p))
				w |= v->inv[p][i];
		/*
		 * A track that no position holds cannot be copied: leave
		 * out a word of them at once, not track by track (a table
		 * of such tracks is a whole table of them, bcv_copy.c).
		 */
		w &= valid_at(v, srcs, i) & bm_word_mask(i, from, until - 1);
		while (w) {
			t = i * BPL + __ffs(w);
			w &= w - 1;
			c->dst = 0;
			for (p = 0; p < BCV_POSITIONS; p++)
				if ((to & (1U << p)) && test_bit(t, v->inv[p]))
					c->dst |= 1U << p;
			c->src = first_valid(v, d & ~c->dst, t, t + 1);
			if (c->src == BCV_NO_POS)
				continue;	/* no good copy anywhere */
			/*
			 * Extend while the destination set and the source stay
			 * the same: every destination I, every other position
			 * that can take a copy V, the source V.  A position
			 * that takes no copy (a protected restore's MM) is left
			 * out: where it is I at @t it would end the run before
			 * it began.
			 */
			end = min(v->tracks, t + max);
			for (p = 0; p < BCV_POSITIONS; p++) {
				if (c->dst & (1U << p))
					end = min(end, (u64)find_next_zero_bit(v->inv[p], end, t));
				else if ((to & (1U << p)) || (int)p == c->src)
					end = min(end, (u64)find_next_bit(v->inv[p], end, t));
			}
			c->start = t;
			c->len = end - t;
			return true;
		}
	}
	return false;
}

void bcv_tm_copy_begin(struct bcv_tm_vol *v, const struct bcv_tm_copy *c)
{
	bm_set_atomic(v->copying, c->start, c->start + c->len - 1);
}

u64 bcv_tm_copy_done(struct bcv_tm_vol *v, const struct bcv_tm_copy *c,
		     bool ok)
{
	return bcv_tm_copy_done_to(v, c, ok ? c->dst : 0);
}

u64 bcv_tm_copy_done_to(struct bcv_tm_vol *v, const struct bcv_tm_copy *c,
			unsigned int ok_dst)
{
	u64 t, done = 0;
	unsigned int p;

	ok_dst &= c->dst;
	for (t = c->start; t < c->start + c->len; t++) {
		/* Pairs with bm_clear_atomic() in bcv_tm_write(). */
		if (!test_and_clear_bit(t, v->copying) || !ok_dst)
			continue;
		for (p = 0; p < BCV_POSITIONS; p++)
			if (ok_dst & (1U << p))
				clear_bit(t, v->inv[p]);
		done++;
	}
	return done;
}

/*
 * What a restore must bring up to date before it is done: the STD's own
 * legs that have not failed.  Other attached BCVs follow in their own
 * sessions (syncinprog), so a dead one cannot hold a restore up.
 */
static unsigned int restore_targets(const struct bcv_tm_vol *std)
{
	return leg_positions(std) & ~std->failed;
}

unsigned int bcv_tm_update_states(struct bcv_tm_vol *std)
{
	unsigned int c, p, changed = 0;

	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *s = std->sess[c];
		enum bcv_state old;
		bool todo;

		if (!s || s->mm == BCV_NO_POS)
			continue;
		old = s->state;
		if (s->state == BCV_RESTINPROG) {
			todo = false;
			for (p = 0; p < BCV_POSITIONS; p++)
				if (restore_targets(std) & (1U << p))
					todo |= bm_any(std->inv[p], std->tracks);
			if (!todo)
				bcv_tm_set_state(s, BCV_RESTORED);
		} else if (s->protect) {
			/* Its MM is never caught up: it is split once restored. */
		} else if (bm_any(std->inv[s->mm], std->tracks)) {
			/* e.g. a later restore or a failed BCV write */
			bcv_tm_set_state(s, BCV_SYNCINPROG);
		} else if (s->state == BCV_SYNCINPROG) {
			bcv_tm_set_state(s, BCV_SYNCHRONIZED);
		}
		if (s->state != old)
			changed |= 1U << c;
	}
	return changed;
}

/*------------------------------------------------------------------------
 * Counters
 */

u64 bcv_tm_count_invalid(const struct bcv_tm_vol *v, int pos)
{
	if (v->role[pos] == BCV_POS_NONE)
		return v->tracks;
	return bm_weight(v->inv[pos], v->tracks);
}

u64 bcv_tm_count_changed(const struct bcv_tm_vol *std, unsigned int col)
{
	u64 j, n = pb_longs(std->tracks), w = 0;
	unsigned long m = ROW_REP << col;

	for (j = 0; j < n; j++)
		w += hweight_long(std->pb[j] & m);
	return w;
}

u64 bcv_tm_session_todo(const struct bcv_tm_sess *s)
{
	const struct bcv_tm_vol *std = s->std;
	unsigned int p, d;
	u64 i, w = 0;

	if (s->mm == BCV_NO_POS)
		return 0;
	if (s->state != BCV_RESTINPROG)
		return bcv_tm_count_invalid(std, s->mm);
	d = restore_targets(std);
	for (i = 0; i < bm_longs(std->tracks); i++) {
		unsigned long x = 0;

		for (p = 0; p < BCV_POSITIONS; p++)
			if (d & (1U << p))
				x |= std->inv[p][i];
		w += hweight_long(x);
	}
	return w;
}

/*------------------------------------------------------------------------
 * Persistence
 */

unsigned long *bcv_tm_table(struct bcv_tm_vol *v, int which, u64 *nr)
{
	if (which == BCV_TM_PB) {
		*nr = v->pb ? pb_longs(v->tracks) : 0;
		return v->pb;
	}
	*nr = bm_longs(v->tracks);
	return v->inv[which];
}

u64 bcv_tm_table_longs(u64 tracks, int which, bool is_std)
{
	if (which == BCV_TM_PB)
		return is_std ? pb_longs(tracks) : 0;
	return bm_longs(tracks);
}

void bcv_tm_tables_loaded(struct bcv_tm_vol *v)
{
	u64 n = bm_longs(v->tracks), j, np;
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++) {
		if (v->role[p] == BCV_POS_NONE)
			bm_fill(v->inv[p], v->tracks);
		else if (n)
			v->inv[p][n - 1] &= bm_tail(v->tracks);
	}
	if (!v->pb)
		return;
	np = pb_longs(v->tracks);
	for (j = 0; j < np; j++)
		v->pb[j] &= ROW_REP * (v->alloc & COLS_ALL);
	if (np)
		v->pb[np - 1] &= pb_rows_all(v->tracks, np - 1) * 0xffffUL;
}

int bcv_tm_sess_load(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
		     unsigned int id, enum bcv_state state, int mm)
{
	bool attached = state != BCV_SPLIT, has_pos = mm != BCV_NO_POS;

	if (!std->is_std || id >= BCV_SESSIONS || std->sess[id] ||
	    state == BCV_NOSESSION || state > BCV_RESTORED)
		return -EINVAL;
	if (attached != has_pos)
		return -EINVAL;
	if (attached && (mm < 0 || mm >= BCV_POSITIONS ||
			 std->role[mm] != BCV_POS_NONE))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->std = std;
	s->id = id;
	s->mm = BCV_NO_POS;
	s->state = state;	/* a load, not a move of the state machine */
	std->sess[id] = s;
	std->alloc |= 1UL << id;
	if (attached) {
		attach(s, mm);
		std->failed |= 1U << mm;	/* absent until linked */
	}
	return 0;
}

void bcv_tm_sess_protect(struct bcv_tm_sess *s)
{
	s->protect = true;
	if (s->mm != BCV_NO_POS)
		s->std->ro |= 1U << s->mm;
}

int bcv_tm_sess_link(struct bcv_tm_sess *s, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_vol *std = s->std;
	u64 i, n;

	if (check_pair(std, bcv, NULL))
		return -EINVAL;
	if (s->bcv || bcv->session)
		return -EBUSY;
	s->bcv = bcv;
	bcv->session = s;
	if (s->mm == BCV_NO_POS)
		return 0;
	/*
	 * What the BCV's users wrote while it was apart must be recopied --
	 * except during a restore, where the BCV is the source: its users
	 * cannot have written it since the RESTORE (an attached BCV is not
	 * ready), and marking it I would leave some tracks valid nowhere.
	 */
	n = bm_longs(std->tracks);
	/*
	 * Never at a track that no other position holds: after a restore
	 * (restored, or back to syncinprog) the BCV's old M4b bits are
	 * tracks the restore copied from it, which the STD's legs may not
	 * have on disk yet (lazily written V bits).
	 */
	for (i = 0; i < n && s->state != BCV_RESTINPROG && !s->protect; i++)
		std->inv[s->mm][i] |= bcv->inv[BCV_M4B][i] &
			valid_at(std, data_positions(std) & ~(1U << s->mm), i);
	if (n)
		std->inv[s->mm][n - 1] &= bm_tail(std->tracks);
	std->failed &= ~(1U << s->mm);
	return 0;
}

void bcv_tm_sess_unlink(struct bcv_tm_sess *s)
{
	if (s->mm != BCV_NO_POS)
		s->std->failed |= 1U << s->mm;
	if (s->bcv)
		s->bcv->session = NULL;
	s->bcv = NULL;
}

bool bcv_tm_pos_absent(const struct bcv_tm_vol *v, int pos)
{
	return v->role[pos] == BCV_POS_MM && (v->failed & (1U << pos));
}

void bcv_tm_leg_stale(struct bcv_tm_vol *v, int pos)
{
	if (v->role[pos] == BCV_POS_LEG)
		bm_fill(v->inv[pos], v->tracks);
}

unsigned int bcv_tm_data_positions(const struct bcv_tm_vol *v)
{
	return data_positions(v);
}

/* The MM of a restore in progress, or BCV_NO_POS. */
static int restore_source(const struct bcv_tm_vol *v)
{
	unsigned int c;

	for (c = 0; v->is_std && c < BCV_SESSIONS; c++)
		if (v->sess[c] && v->sess[c]->state == BCV_RESTINPROG &&
		    v->sess[c]->mm != BCV_NO_POS)
			return v->sess[c]->mm;
	return BCV_NO_POS;
}

/* Tracks between two resched points of a per-track pass. */
#define BCV_TM_RESCHED_TRACKS	65536

/*
 * The crash rule for tracks [@first, @last]: one valid data position of
 * each stays the source (an own leg first, the restore's BCV if it is the
 * only one) and every other becomes I; on a STD every allocated PB column
 * becomes C.  Returns the tracks whose marks it added.  May sleep
 * (bcv_tm_resched()): assembly only.
 */
static u64 recover_range(struct bcv_tm_vol *v, u64 first, u64 last)
{
	unsigned int data = data_positions(v), p;
	unsigned long cols = v->is_std ? v->alloc & COLS_ALL : 0;
	u64 t, added = 0;

	for (t = first; t <= last; t++) {
		u64 i = t / BPL;
		unsigned long b = 1UL << (t % BPL);
		int src;
		bool changed = false;

		/* Track by track: 2^29 of them without a break is seconds. */
		if (!(t % BCV_TM_RESCHED_TRACKS))
			bcv_tm_resched();
		src = first_valid_bit(v, data, i, b);

		for (p = 0; p < BCV_POSITIONS; p++) {
			if (!(data & (1U << p)) || (int)p == src ||
			    (v->inv[p][i] & b))
				continue;
			v->inv[p][i] |= b;
			changed = true;
		}
		if (cols) {
			unsigned long w = ((unsigned long)cols) <<
					  ((t % ROWS) * 16);

			if ((v->pb[t / ROWS] & w) != w) {
				v->pb[t / ROWS] |= w;
				changed = true;
			}
		}
		added += changed;
	}
	return added;
}

u64 bcv_tm_recover_regions(struct bcv_tm_vol *v, const unsigned long *al,
			   u64 nr_regions, unsigned int shift)
{
	u64 r, added = 0;

	for (r = 0; r < nr_regions; r++) {
		u64 first = r << shift;

		if (!test_bit(r, al))
			continue;
		if (first >= v->tracks)
			break;
		added += recover_range(v, first, min(v->tracks - 1,
						     first + (1ULL << shift) - 1));
	}
	return added;
}

/* bcv_tm_recover_sources(), a leg not in @stale first. */
static u64 recover_sources(struct bcv_tm_vol *v, unsigned int stale)
{
	unsigned int data = data_positions(v), legs = leg_positions(v);
	int src = restore_source(v), p;
	u64 i, n = bm_longs(v->tracks), fixed = 0;

	if (src == BCV_NO_POS) {
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((legs & ~v->failed & ~stale) & (1U << p))
				break;
		if (p == BCV_POSITIONS)
			for (p = 0; p < BCV_POSITIONS; p++)
				if ((legs & ~v->failed) & (1U << p))
					break;
		src = p < BCV_POSITIONS ? p : 0;
	}
	for (i = 0; i < n; i++) {
		unsigned long none = ~valid_at(v, data, i);

		if (i == n - 1)
			none &= bm_tail(v->tracks);
		if (!none)
			continue;
		fixed += hweight_long(none);
		v->inv[src][i] &= ~none;
	}
	return fixed;
}

u64 bcv_tm_recover_sources(struct bcv_tm_vol *v)
{
	return recover_sources(v, 0);
}

u64 bcv_tm_assemble(struct bcv_tm_vol *v, const struct bcv_tm_assembly *a)
{
	unsigned int p;
	u64 marked = 0;

	bcv_tm_tables_loaded(v);
	/*
	 * Stale legs first, so that recovery takes its sources among the
	 * legs that are current; a track only a stale leg holds stays V
	 * there (bcv_tm_mark_stale() keeps the last valid copy): its data is
	 * the only copy left.
	 */
	for (p = 0; p < v->nr_legs; p++)
		if (a->stale & (1U << p))
			bcv_tm_mark_stale(v, p, 0, v->sectors);
	if (a->clean)
		return 0;
	if (!a->intent) {
		/*
		 * Without write intent the data path marked nothing on disk:
		 * every track may have had a write in flight (every region is
		 * active), and the BCV's users may have written any track.
		 * The legs' I bits on disk still hold: commands and failures
		 * write theirs in that mode too.
		 */
		if (v->tracks)
			marked = recover_range(v, 0, v->tracks - 1);
		if (!v->is_std)
			bm_fill(v->inv[BCV_M4B], v->tracks);
		return marked + recover_sources(v, a->stale);
	}
	marked = bcv_tm_recover_regions(v, a->al, a->regions, a->al_shift);
	return marked + recover_sources(v, a->stale);
}

unsigned long bcv_tm_unvouched(const struct bcv_tm_vol *v,
			       const unsigned long dur[BCV_POSITIONS], u64 i,
			       unsigned long held[BCV_POSITIONS])
{
	unsigned int data = data_positions(v), there = data & ~v->failed, p;
	unsigned long all = ~0UL, w;

	if (i == bm_longs(v->tracks) - 1)
		all = bm_tail(v->tracks);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (data & (1U << p))
			all &= dur[p];
	w = 0;
	for (p = 0; p < BCV_POSITIONS; p++) {
		held[p] = 0;
		if (there & (1U << p)) {
			held[p] = all & ~READ_ONCE(v->inv[p][i]);
			w |= held[p];
		}
	}
	return w;
}

bool bcv_tm_pos_clean(const struct bcv_tm_vol *v, int pos)
{
	return !bm_any(v->inv[pos], v->tracks);
}

void bcv_tm_recover(struct bcv_tm_vol *v, int src)
{
	bool restoring = false;
	unsigned int p, c;

	if (v->is_std) {
		pb_update_all(v, v->alloc & COLS_ALL, 0);
		for (c = 0; c < BCV_SESSIONS; c++)
			if (v->sess[c] && v->sess[c]->state == BCV_RESTINPROG)
				restoring = true;
	} else {
		bm_fill(v->inv[BCV_M4B], v->tracks);
	}
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct bcv_tm_sess *s = v->mm_sess[p];

		if (v->role[p] == BCV_POS_LEG) {
			if (restoring || (int)p != src)
				bm_fill(v->inv[p], v->tracks);
			else
				bm_zero(v->inv[p], v->tracks);
		} else if (v->role[p] == BCV_POS_MM) {
			/* The restore's source holds everything it had. */
			if (s && s->state == BCV_RESTINPROG)
				bm_zero(v->inv[p], v->tracks);
			else
				bm_fill(v->inv[p], v->tracks);
		}
	}
}
