// SPDX-License-Identifier: GPL-2.0
/*
 * The trackmap's persistence functions (bcv_trackmap.h, "Persistence"):
 * the raw tables bcv_meta.c saves and loads (bcv_tm_table()) and what
 * bcv_tm_tables_loaded() cleans after a load; sessions recreated from
 * their records (bcv_tm_sess_load()), an attached one absent until its
 * BCV is linked (writes meanwhile leave its position I, no copy goes to
 * it), linked (bcv_tm_sess_link(): the BCV's M4b merged) and unlinked
 * again; the crash rule (bcv_tm_recover()); and a round trip: tables
 * saved as a little-endian byte stream, loaded into fresh tables, the
 * same counts and bits.  TAP output; exit status 0 iff all passed.
 */
#include <endian.h>
#include <string.h>
#include "tm_test.h"
#include "uapi/linux/bcv_format.h"

#define TS_SHIFT	16			/* 64 KiB tracks */
#define SPT		(1ULL << (TS_SHIFT - 9))	/* sectors a track */
#define SECT(t)		((u64)(t) * SPT)
#define NT		200ULL	/* 4 bitmap words, the last partial */

static u64 ninv(const struct bcv_tm_vol *v, int p)
{
	return bcv_tm_count_invalid(v, p);
}

static u64 nchg(const struct bcv_tm_vol *v, unsigned int col)
{
	return bcv_tm_count_changed(v, col);
}

static struct bcv_tm_sess *new_sess(void)
{
	struct bcv_tm_sess *s = calloc(1, sizeof(*s));

	if (!s) {
		printf("Bail out! calloc\n");
		exit(2);
	}
	return s;
}

/* Is position @p I exactly on tracks [@first, @last] of @v? */
static bool inv_exactly(const struct bcv_tm_vol *v, int p, u64 first, u64 last)
{
	u64 t;

	for (t = 0; t < v->tracks; t++)
		if (bcv_tm_invalid(v, p, t) != (t >= first && t <= last))
			return false;
	return true;
}

/* Bits of the last word of bitmap @which past the last track. */
static unsigned long tail_garbage(struct bcv_tm_vol *v, int which)
{
	u64 nr;
	unsigned long *w = bcv_tm_table(v, which, &nr);
	unsigned int used = v->tracks % 64;

	if (!w || !nr || !used)
		return 0;
	return w[nr - 1] & (~0UL << used);
}

/* Rows of the last PB word past the last track. */
static unsigned long pb_tail_garbage(struct bcv_tm_vol *v)
{
	u64 nr;
	unsigned long *w = bcv_tm_table(v, BCV_TM_PB, &nr);
	unsigned int used = v->tracks % 4;

	if (!w || !nr || !used)
		return 0;
	return w[nr - 1] & (~0UL << (16 * used));
}

/*
 * A write as the I/O path does it (bcv_io.c): sent to the write targets,
 * marked at submission, its completion reported; it succeeds everywhere.
 * A discard goes to the own legs only and is not defined.  Returns what
 * bcv_tm_write_done() returns.
 */
static u64 io_write(struct bcv_tm_vol *v, u64 sector, u64 nr, bool discard)
{
	unsigned int targets = bcv_tm_write_targets(v), p, legs = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (v->role[p] == BCV_POS_LEG)
			legs |= 1U << p;
	if (discard)
		targets &= legs;
	bcv_tm_write(v, sector, nr, 0);
	return bcv_tm_write_done(v, sector, nr, targets, targets, !discard);
}

/*------------------------------------------------------------------------*/

static void test_table_sizes(void)
{
	static const u64 tracks[] = { 1, 3, 4, 5, 63, 64, 65, 128, 200, 4097 };
	static const u64 devs[] = { 72, 1000, 2048 + 5, 524288, 2097152 + 17 };
	static const unsigned int shifts[] = { 9, 12, 16, 20 };
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s = new_sess();
	unsigned long *w;
	unsigned int i, k;
	bool ok = true, fits = true;
	int p;
	u64 nr;

	for (i = 0; i < ARRAY_SIZE(tracks); i++) {
		u64 t = tracks[i];

		tm_vinit(&std, SECT(t), TS_SHIFT, true, 1);
		tm_vinit(&bcv, SECT(t), TS_SHIFT, false, 1);
		for (p = 0; p < BCV_POSITIONS; p++) {
			w = bcv_tm_table(&std, p, &nr);
			ok &= w == std.inv[p] && nr == (t + 63) / 64;
			w = bcv_tm_table(&bcv, p, &nr);
			ok &= w == bcv.inv[p] && nr == (t + 63) / 64;
		}
		w = bcv_tm_table(&std, BCV_TM_PB, &nr);
		ok &= w == std.pb && nr == (t + 3) / 4;
		nr = 12345;
		ok &= !bcv_tm_table(&bcv, BCV_TM_PB, &nr) && nr == 0;
		tm_vfree(&std);
		tm_vfree(&bcv);
	}
	CHECK(ok, "bcv_tm_table: ceil(tracks/64) bitmap words, ceil(tracks/4) "
	      "PB words, no PB table on a BCV (nr 0)");

	/* A volume as big as a device's data area: its tables fit the area. */
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		for (k = 0; k < ARRAY_SIZE(shifts); k++) {
			struct bcv_fmt_layout l;

			if (bcv_fmt_layout(devs[i], shifts[k], &l)) {
				fits = false;
				continue;
			}
			tm_vinit(&std, l.data_sectors, shifts[k], true, 1);
			fits &= std.tracks <= l.tracks_cap;
			bcv_tm_table(&std, 0, &nr);
			fits &= nr * 8 <= l.inv_sectors * 512;
			bcv_tm_table(&std, BCV_TM_PB, &nr);
			fits &= nr * 8 <= l.pb_sectors * 512;
			/* The activity log: a bit per region, in whole words. */
			nr = ((std.tracks >> bcv_fmt_al_shift(shifts[k])) + 1 + 63) / 64;
			fits &= nr * 8 <= l.al_sectors * 512;
			tm_vfree(&std);
		}
	}
	CHECK(fits, "every table and the activity log fit their room in bcv_fmt_layout()");

	/* Word order: track t is bit t % 64 of word t / 64; PB row t is
	 * bits 16 * (t % 4).. of word t / 4, column c its bit c. */
	tm_vinit(&std, SECT(NT), TS_SHIFT, true, 1);
	tm_vinit(&bcv, SECT(NT), TS_SHIFT, false, 1);
	CHECK(bcv_tm_sess_load(&std, s, 3, BCV_SPLIT, BCV_NO_POS) == 0,
	      "a split session in column 3");
	io_write(&std, SECT(5), SECT(1), false);
	w = bcv_tm_table(&std, BCV_TM_PB, &nr);
	CHECK(w[1] == 1UL << (16 + 3) && w[0] == 0 && w[2] == 0,
	      "a STD write to track 5 is bit 16 + 3 of PB word 1 (0x%lx)",
	      w[1]);
	io_write(&bcv, SECT(70), SECT(1), false);
	w = bcv_tm_table(&bcv, BCV_M4B, &nr);
	CHECK(w[1] == 1UL << 6 && w[0] == 0 && w[2] == 0 && w[3] == 0,
	      "a BCV write to track 70 is bit 6 of M4b word 1 (0x%lx)", w[1]);
	tm_vfree(&std);
	tm_vfree(&bcv);
}

static void test_tables_loaded(void)
{
	const u64 t = 130;		/* 3 bitmap words, 33 PB words */
	const u64 sectors = SECT(t - 1) + 7;	/* a partial last track */
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s1 = new_sess(), *s2 = new_sess();
	unsigned long *w;
	u64 nr, j;
	int p;

	tm_vinit(&std, sectors, TS_SHIFT, true, 1);
	CHECK(std.tracks == t, "%llu sectors: %llu tracks",
	      (unsigned long long)sectors, (unsigned long long)std.tracks);
	CHECK(bcv_tm_sess_load(&std, s1, 2, BCV_SPLIT, BCV_NO_POS) == 0 &&
	      bcv_tm_sess_load(&std, s2, 9, BCV_SYNCHRONIZED, 1) == 0,
	      "sessions in columns 2 (split) and 9 (attached at M2)");
	/* What a disk may hold: ones everywhere, past the end too. */
	for (p = 0; p < BCV_POSITIONS; p++) {
		w = bcv_tm_table(&std, p, &nr);
		memset(w, 0xff, nr * sizeof(*w));
	}
	w = bcv_tm_table(&std, BCV_TM_PB, &nr);
	memset(w, 0xff, nr * sizeof(*w));
	for (p = 2; p < BCV_POSITIONS; p++) {
		w = bcv_tm_table(&std, p, &nr);
		memset(w, 0, nr * sizeof(*w));	/* unused: V on disk */
	}
	CHECK(tail_garbage(&std, 0) && ninv(&std, 0) == 192,
	      "before: M1 counts 192 I (bits past track 129)");
	bcv_tm_tables_loaded(&std);
	CHECK(!tail_garbage(&std, 0) && ninv(&std, 0) == t &&
	      inv_exactly(&std, 0, 0, t - 1),
	      "M1: I on the 130 tracks, nothing past the last (%llu)",
	      (unsigned long long)ninv(&std, 0));
	CHECK(!tail_garbage(&std, 1) && ninv(&std, 1) == t,
	      "the MM at M2: cleaned past the last track, kept I on the rest");
	w = bcv_tm_table(&std, 2, &nr);
	CHECK(nr == 3 && w[0] == ~0UL && w[1] == ~0UL &&
	      w[2] == (1UL << 2) - 1 && std.role[2] == BCV_POS_NONE,
	      "unused M3: all I up to the last track, nothing past it");
	w = bcv_tm_table(&std, 3, &nr);
	CHECK(w[0] == ~0UL && w[2] == 3UL, "unused M4: all I as well");
	w = bcv_tm_table(&std, BCV_TM_PB, &nr);
	CHECK(nr == 33 && !pb_tail_garbage(&std) &&
	      w[32] == ((1UL << 2) | (1UL << 9) | (1UL << 18) | (1UL << 25)),
	      "PB: the last word holds rows 128 and 129, columns 2 and 9 only "
	      "(0x%lx)", w[32]);
	for (j = 0; j + 1 < nr && w[j] == 0x0204020402040204UL; j++)
		;
	CHECK(j == nr - 1, "PB: every other word is columns 2 and 9 of 4 rows");
	CHECK(nchg(&std, 2) == t && nchg(&std, 9) == t && nchg(&std, 0) == 0 &&
	      nchg(&std, 15) == 0,
	      "columns of no session are cleared, the sessions' kept");
	tm_vfree(&std);

	tm_vinit(&bcv, sectors, TS_SHIFT, false, 2);
	for (p = 0; p < BCV_POSITIONS; p++) {
		w = bcv_tm_table(&bcv, p, &nr);
		memset(w, 0xa5, nr * sizeof(*w));
	}
	bcv_tm_tables_loaded(&bcv);
	CHECK(!tail_garbage(&bcv, 0) && !tail_garbage(&bcv, 1) &&
	      !tail_garbage(&bcv, BCV_M4B),
	      "BCV: legs and M4b have no bits past the last track");
	w = bcv_tm_table(&bcv, BCV_M4B, &nr);
	CHECK(w[0] == 0xa5a5a5a5a5a5a5a5UL && w[2] == 1UL,
	      "BCV: M4b's bits within the volume are kept");
	w = bcv_tm_table(&bcv, 2, &nr);
	CHECK(w[0] == ~0UL && w[2] == 3UL && ninv(&bcv, 2) == t,
	      "BCV: the unused M3 is all I");
	tm_vfree(&bcv);
}

/* No refused load may leave a trace. */
static bool untouched_std(const struct bcv_tm_vol *v, unsigned long alloc,
			  const u8 role[BCV_POSITIONS], unsigned int failed)
{
	return v->alloc == alloc && !memcmp(v->role, role, BCV_POSITIONS) &&
	       v->failed == failed;
}

static void test_sess_load(void)
{
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s = new_sess(), *x = new_sess(), *y = new_sess(),
			   *z = new_sess();
	struct bcv_tm_copy c;
	u8 role[BCV_POSITIONS];
	unsigned int c2;
	bool none = true;

	tm_vinit(&std, SECT(NT), TS_SHIFT, true, 2);
	tm_vinit(&bcv, SECT(NT), TS_SHIFT, false, 1);
	memcpy(role, std.role, sizeof(role));

	CHECK(bcv_tm_sess_load(&bcv, x, 0, BCV_SPLIT, BCV_NO_POS) == -EINVAL &&
	      !bcv.session, "refused: a BCV's tables have no sessions");
	CHECK(bcv_tm_sess_load(&std, x, BCV_SESSIONS, BCV_SPLIT,
			       BCV_NO_POS) == -EINVAL,
	      "refused: column 16");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_NOSESSION, BCV_NO_POS) ==
	      -EINVAL, "refused: state none");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_RESTORED + 1, 2) == -EINVAL,
	      "refused: a state that does not exist");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_SPLIT, 2) == -EINVAL,
	      "refused: split with a position");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_SYNCHRONIZED, BCV_NO_POS) ==
	      -EINVAL && bcv_tm_sess_load(&std, x, 0, BCV_SYNCINPROG,
					  BCV_NO_POS) == -EINVAL &&
	      bcv_tm_sess_load(&std, x, 0, BCV_RESTINPROG, BCV_NO_POS) ==
	      -EINVAL && bcv_tm_sess_load(&std, x, 0, BCV_RESTORED,
					  BCV_NO_POS) == -EINVAL,
	      "refused: an attached state without a position");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_SYNCHRONIZED, 0) == -EINVAL &&
	      bcv_tm_sess_load(&std, x, 0, BCV_SYNCHRONIZED, 1) == -EINVAL,
	      "refused: the position of an own leg (M1, M2)");
	CHECK(bcv_tm_sess_load(&std, x, 0, BCV_SYNCHRONIZED, 4) == -EINVAL &&
	      bcv_tm_sess_load(&std, x, 0, BCV_SYNCHRONIZED, -2) == -EINVAL,
	      "refused: positions out of range (4, -2)");
	for (c2 = 0; c2 < BCV_SESSIONS; c2++)
		none &= !std.sess[c2];
	CHECK(none && untouched_std(&std, 0, role, 0),
	      "the refusals left no session, column, position or absent bit");

	CHECK(bcv_tm_sess_load(&std, s, 5, BCV_SYNCHRONIZED, 2) == 0,
	      "load: column 5, synchronized at M3");
	CHECK(std.sess[5] == s && std.alloc == 1UL << 5 && s->id == 5 &&
	      s->std == &std && !s->bcv && s->mm == 2 &&
	      s->state == BCV_SYNCHRONIZED,
	      "the session: column 5 allocated, its state and position");
	CHECK(std.role[2] == BCV_POS_MM && bcv_tm_mm_session(&std, 2) == s,
	      "M3 is its MM");
	CHECK(bcv_tm_pos_absent(&std, 2) && !bcv_tm_pos_absent(&std, 0) &&
	      !bcv_tm_pos_absent(&std, 1) && !bcv_tm_pos_absent(&std, 3),
	      "M3 is absent, the legs and the unused M4 are not");
	CHECK(bcv_tm_write_targets(&std) == 3U,
	      "writes go to the two legs only (targets 0x%x)",
	      bcv_tm_write_targets(&std));
	CHECK(bcv_tm_failed_legs(&std) == 1U << 2,
	      "the absent MM is in the failed mask");
	CHECK(bcv_tm_read_pos_avoid(&std, 0, SECT(NT), 3U) == BCV_NO_POS,
	      "reads never go to the absent MM");

	memcpy(role, std.role, sizeof(role));
	CHECK(bcv_tm_sess_load(&std, x, 5, BCV_SPLIT, BCV_NO_POS) == -EINVAL &&
	      std.sess[5] == s && untouched_std(&std, 1UL << 5, role, 1U << 2),
	      "refused: column 5 is taken");
	CHECK(bcv_tm_sess_load(&std, x, 6, BCV_SYNCINPROG, 2) == -EINVAL &&
	      !std.sess[6] && untouched_std(&std, 1UL << 5, role, 1U << 2),
	      "refused: M3 is taken by column 5");
	CHECK(bcv_tm_sess_load(&std, x, 6, BCV_SPLIT, BCV_NO_POS) == 0 &&
	      std.alloc == ((1UL << 5) | (1UL << 6)) && x->mm == BCV_NO_POS &&
	      std.role[3] == BCV_POS_NONE && bcv_tm_write_targets(&std) == 3U,
	      "load: column 6 split, no position");
	CHECK(bcv_tm_sess_load(&std, y, 7, BCV_RESTINPROG, 3) == 0 &&
	      std.role[3] == BCV_POS_MM && bcv_tm_pos_absent(&std, 3) &&
	      bcv_tm_write_targets(&std) == 3U,
	      "load: column 7 restinprog at M4, absent too");
	memcpy(role, std.role, sizeof(role));
	CHECK(bcv_tm_sess_load(&std, z, 8, BCV_SYNCINPROG, 3) == -EINVAL &&
	      bcv_tm_sess_load(&std, z, 8, BCV_RESTORED, 2) == -EINVAL &&
	      !std.sess[8] && untouched_std(&std, 0x7UL << 5, role, 0xcU),
	      "refused: no position is free any more");
	free(z);

	/* Absent positions get no copies, even when they are I. */
	CHECK(io_write(&std, SECT(20), SECT(2), false) == 0 &&
	      ninv(&std, 2) == 2 && ninv(&std, 3) == 2,
	      "a write marks both absent MMs I");
	CHECK(!bcv_tm_next_copy(&std, 0, 64, &c),
	      "the copy engine has nothing to do: no copy to absent MMs");
	tm_vfree(&std);
	tm_vfree(&bcv);
}

/*
 * A STD with one leg and a synchronized session at M2 whose BCV is not
 * there: its writes make the MM I; linking the BCV merges the BCV's own
 * writes and makes M2 present; unlinking makes it absent again.
 */
static void test_absent_link_unlink(void)
{
	struct bcv_tm_vol std, bcv, big, other_ts, small, std2;
	struct bcv_tm_sess *s = new_sess(), *sp = new_sess();
	static const u64 want[] = { 10, 11, 12, 50, 60, 100, 101, 102, 103, 104,
				    199 };
	unsigned long *w;
	bool exact = true;
	unsigned int i;
	u64 t, nr, n;

	tm_vinit(&std, SECT(NT), TS_SHIFT, true, 1);
	CHECK(bcv_tm_sess_load(&std, s, 0, BCV_SYNCHRONIZED, 1) == 0 &&
	      bcv_tm_sess_load(&std, sp, 1, BCV_SPLIT, BCV_NO_POS) == 0,
	      "column 0 synchronized at M2 (absent), column 1 split");
	CHECK(ninv(&std, 1) == 0, "a fresh MM bitmap is all V");

	/* Writes while the BCV is absent. */
	CHECK(io_write(&std, SECT(10), SECT(3), false) == 0,
	      "a write to tracks 10-12 succeeds");
	CHECK(inv_exactly(&std, 1, 10, 12) && ninv(&std, 0) == 0,
	      "it marks the absent MM I on tracks 10-12, the leg stays V");
	CHECK(nchg(&std, 0) == 3 && nchg(&std, 1) == 3,
	      "both sessions' PB columns are C on those 3 tracks");
	CHECK(io_write(&std, SECT(50) + 1, 2, false) == 0 &&
	      ninv(&std, 1) == 4 &&
	      bcv_tm_invalid(&std, 1, 50),
	      "a partial write to track 50 marks it I on the MM too");
	CHECK(io_write(&std, SECT(60), SECT(1), true) == 0 &&
	      ninv(&std, 1) == 5 && bcv_tm_invalid(&std, 1, 60) &&
	      ninv(&std, 0) == 0,
	      "a discard of track 60 (legs only) marks it I on the MM");
	CHECK(io_write(&std, SECT(199), SECT(1), false) == 0 &&
	      ninv(&std, 1) == 6 && bcv_tm_invalid(&std, 1, 199),
	      "a write to the last track");
	CHECK(bcv_tm_session_todo(s) == 6, "the session has 6 tracks to copy");
	n = tm_copy_all(&std, 16);
	CHECK(n == 0 && ninv(&std, 1) == 6,
	      "nothing is copied while it is absent (%llu)",
	      (unsigned long long)n);
	CHECK(s->state == BCV_SYNCINPROG,
	      "the state table says the MM lost tracks: syncinprog");

	/* The BCV's own writes while it was apart: M4b. */
	tm_vinit(&bcv, SECT(NT), TS_SHIFT, false, 1);
	CHECK(io_write(&bcv, SECT(100), SECT(5), false) == 0 &&
	      io_write(&bcv, SECT(10), SECT(1), false) == 0 &&
	      ninv(&bcv, BCV_M4B) == 6 && ninv(&bcv, 0) == 0,
	      "the BCV's users wrote tracks 10 and 100-104 (M4b I)");

	/* Links that do not fit: refused, nothing changes. */
	tm_vinit(&other_ts, SECT(NT), TS_SHIFT + 1, false, 1);
	tm_vinit(&small, SECT(NT - 1), TS_SHIFT, false, 1);
	tm_vinit(&std2, SECT(NT), TS_SHIFT, true, 1);
	CHECK(bcv_tm_sess_link(s, &other_ts) == -EINVAL &&
	      bcv_tm_sess_link(s, &small) == -EINVAL &&
	      bcv_tm_sess_link(s, &std2) == -EINVAL,
	      "refused: another track size, a smaller BCV, a STD");
	CHECK(!s->bcv && !other_ts.session && !small.session &&
	      bcv_tm_pos_absent(&std, 1) && ninv(&std, 1) == 6,
	      "the refusals changed nothing");
	tm_vfree(&other_ts);
	tm_vfree(&small);
	tm_vfree(&std2);

	CHECK(bcv_tm_sess_link(s, &bcv) == 0, "link the BCV");
	CHECK(s->bcv == &bcv && bcv.session == s &&
	      bcv_tm_session(&std, &bcv) == s, "the session and the BCV point "
	      "at each other");
	CHECK(!bcv_tm_pos_absent(&std, 1) && bcv_tm_write_targets(&std) == 3U &&
	      bcv_tm_failed_legs(&std) == 0,
	      "M2 is present again: writes go to it");
	for (t = 0, i = 0; t < NT; t++) {
		bool in = i < ARRAY_SIZE(want) && want[i] == t;

		exact &= bcv_tm_invalid(&std, 1, t) == in;
		i += in;
	}
	CHECK(exact && ninv(&std, 1) == ARRAY_SIZE(want),
	      "the MM is I on the STD's changes and the BCV's merged: "
	      "10-12, 50, 60, 100-104, 199 (%llu)",
	      (unsigned long long)ninv(&std, 1));
	CHECK(bcv_tm_sess_link(s, &bcv) == -EBUSY,
	      "refused: the session is linked already");
	CHECK(bcv_tm_sess_link(sp, &bcv) == -EBUSY && !sp->bcv,
	      "refused: the BCV is in a session already");
	n = tm_copy_all(&std, 16);
	CHECK(n == ARRAY_SIZE(want) && ninv(&std, 1) == 0 &&
	      s->state == BCV_SYNCHRONIZED,
	      "the engine copies exactly those %llu tracks: synchronized",
	      (unsigned long long)n);

	/* A write now reaches the MM. */
	CHECK(io_write(&std, SECT(30), SECT(1), false) == 0 &&
	      ninv(&std, 1) == 0, "a write while linked keeps the MM V");

	bcv_tm_sess_unlink(s);
	CHECK(!s->bcv && !bcv.session && bcv_tm_pos_absent(&std, 1) &&
	      bcv_tm_write_targets(&std) == 1U && ninv(&std, 1) == 0 &&
	      std.role[1] == BCV_POS_MM && s->mm == 1,
	      "unlink: M2 is absent, still the session's, its bits kept");
	CHECK(io_write(&std, SECT(40), SECT(2), false) == 0 &&
	      inv_exactly(&std, 1, 40, 41),
	      "a write while unlinked marks the MM I on tracks 40-41");
	CHECK(bcv_tm_sess_link(s, &bcv) == 0 && !bcv_tm_pos_absent(&std, 1),
	      "linked again: present");
	for (t = 0, exact = true; t < NT; t++)
		exact &= bcv_tm_invalid(&std, 1, t) ==
			 (t == 40 || t == 41 ||
			  bcv_tm_invalid(&bcv, BCV_M4B, t));
	CHECK(exact && ninv(&std, 1) == 8,
	      "the MM is I on 40-41 and on the BCV's M4b (6 tracks): %llu",
	      (unsigned long long)ninv(&std, 1));
	bcv_tm_sess_unlink(s);

	/* A split session links and unlinks without a position. */
	CHECK(bcv_tm_sess_link(sp, &bcv) == 0 && sp->bcv == &bcv &&
	      bcv.session == sp && bcv_tm_failed_legs(&std) == 1U << 1,
	      "a split session links without touching positions");
	bcv_tm_sess_unlink(sp);
	CHECK(!sp->bcv && !bcv.session && bcv_tm_failed_legs(&std) == 1U << 1,
	      "and unlinks the same way");
	tm_vfree(&bcv);

	/* A bigger BCV: its M4b past the STD's last track is not merged. */
	tm_vinit(&big, SECT(NT + 50), TS_SHIFT, false, 1);
	io_write(&big, SECT(NT + 5), SECT(40), false); /* tracks 205-244 */
	io_write(&big, SECT(NT - 2), SECT(1), false);	/* track 198 */
	n = ninv(&std, 1);
	CHECK(bcv_tm_sess_link(s, &big) == 0 && !tail_garbage(&std, 1) &&
	      ninv(&std, 1) == n + 1 && bcv_tm_invalid(&std, 1, NT - 2),
	      "a bigger BCV: track 198 merged, nothing past track 199");
	w = bcv_tm_table(&std, 1, &nr);
	CHECK(nr == 4 && !(w[3] & ~((1UL << (NT % 64)) - 1)),
	      "the MM's last word has no bit past the volume (0x%lx)", w[3]);
	bcv_tm_sess_unlink(s);
	tm_vfree(&big);
	tm_vfree(&std);
}

/* Every word of bitmap @p of @v is "all I" (with a clean tail). */
static bool all_inv(const struct bcv_tm_vol *v, int p)
{
	return ninv(v, p) == v->tracks && inv_exactly(v, p, 0, v->tracks - 1);
}

static void test_recover(void)
{
	const u64 sectors = SECT(NT - 1) + 9;	/* partial last track */
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *a = new_sess(), *b = new_sess(), *r = new_sess(),
			   *q = new_sess();
	unsigned int col;
	bool pb_ok = true;

	/* STD with two legs, a synchronized session at M3, a split one. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, a, 0, BCV_SYNCHRONIZED, 2) == 0 &&
	      bcv_tm_sess_load(&std, b, 3, BCV_SPLIT, BCV_NO_POS) == 0,
	      "a STD with sessions 0 (synchronized, M3) and 3 (split)");
	io_write(&std, SECT(7), SECT(2), false);
	bcv_tm_leg_error(&std, 0, SECT(90), SECT(1));
	bcv_tm_recover(&std, 1);
	CHECK(nchg(&std, 0) == NT && nchg(&std, 3) == NT,
	      "every allocated PB column is all C");
	for (col = 0; col < BCV_SESSIONS; col++)
		if (col != 0 && col != 3)
			pb_ok &= nchg(&std, col) == 0;
	CHECK(pb_ok && !pb_tail_garbage(&std),
	      "the other columns stay U, no row past the last track");
	CHECK(all_inv(&std, 0) && ninv(&std, 1) == 0 &&
	      bcv_tm_pos_clean(&std, 1) && !bcv_tm_pos_clean(&std, 0),
	      "src M2 all V, the other leg M1 all I");
	CHECK(all_inv(&std, 2) && !bcv_tm_pos_clean(&std, 2),
	      "the attached MM at M3 all I");
	CHECK(std.role[3] == BCV_POS_NONE && std.role[2] == BCV_POS_MM &&
	      a->state == BCV_SYNCHRONIZED && b->state == BCV_SPLIT,
	      "roles and states unchanged");
	bcv_tm_recover(&std, 0);
	CHECK(ninv(&std, 0) == 0 && all_inv(&std, 1) && all_inv(&std, 2),
	      "src M1: M1 all V, M2 and the MM all I");
	tm_vfree(&std);

	/* During a restore the BCV stays the source. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, r, 1, BCV_RESTINPROG, 2) == 0 &&
	      bcv_tm_sess_load(&std, q, 2, BCV_SYNCINPROG, 3) == 0,
	      "a STD restoring from the BCV at M3, syncing another at M4");
	io_write(&std, SECT(3), SECT(1), false);	/* MMs I at track 3 */
	bcv_tm_recover(&std, 0);
	CHECK(all_inv(&std, 0) && all_inv(&std, 1),
	      "restinprog: every own leg all I, src included");
	CHECK(ninv(&std, 2) == 0 && bcv_tm_pos_clean(&std, 2),
	      "restinprog: the restore's MM all V");
	CHECK(all_inv(&std, 3), "the other attached MM all I");
	CHECK(nchg(&std, 1) == NT && nchg(&std, 2) == NT && nchg(&std, 0) == 0,
	      "PB columns 1 and 2 all C, 0 U");
	CHECK(r->state == BCV_RESTINPROG && q->state == BCV_SYNCINPROG,
	      "states unchanged");
	tm_vfree(&std);

	/* No session: the legs only. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 3);
	bcv_tm_recover(&std, 2);
	CHECK(all_inv(&std, 0) && all_inv(&std, 1) && ninv(&std, 2) == 0 &&
	      nchg(&std, 0) == 0 && std.role[3] == BCV_POS_NONE,
	      "no session: M1, M2 all I, src M3 V, PB all U");
	tm_vfree(&std);

	/* A BCV: M4b all I, own legs but src all I. */
	tm_vinit(&bcv, sectors, TS_SHIFT, false, 2);
	io_write(&bcv, SECT(4), SECT(1), false);
	bcv_tm_recover(&bcv, 1);
	CHECK(all_inv(&bcv, BCV_M4B), "BCV: M4b all I");
	CHECK(all_inv(&bcv, 0) && ninv(&bcv, 1) == 0 &&
	      bcv_tm_pos_clean(&bcv, 1),
	      "BCV: src M2 all V, M1 all I");
	CHECK(bcv.role[2] == BCV_POS_NONE && ninv(&bcv, 2) == NT,
	      "BCV: the unused M3 stays unused");
	bcv_tm_recover(&bcv, 0);
	CHECK(ninv(&bcv, 0) == 0 && all_inv(&bcv, 1) && all_inv(&bcv, BCV_M4B),
	      "BCV, src M1: M1 V, M2 all I");
	tm_vfree(&bcv);

	/* bcv_tm_leg_stale(): own legs only. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, new_sess(), 0, BCV_SYNCHRONIZED, 2) == 0,
	      "a session at M3");
	bcv_tm_leg_stale(&std, 1);
	bcv_tm_leg_stale(&std, 2);
	bcv_tm_leg_stale(&std, 3);
	CHECK(all_inv(&std, 1) && ninv(&std, 0) == 0 && ninv(&std, 2) == 0 &&
	      std.role[3] == BCV_POS_NONE,
	      "leg_stale: leg M2 all I; the MM, an unused position untouched");
	tm_vfree(&std);
}

/*------------------------------------------------------------------------*/
/* Round trip                                                             */

struct saved {
	u64 nr[BCV_POSITIONS + 1];
	unsigned char *bytes[BCV_POSITIONS + 1];	/* little-endian */
	struct {
		unsigned int id;
		enum bcv_state state;
		int mm;
	} sess[BCV_SESSIONS];
	unsigned int nsess;
};

static void save(struct bcv_tm_vol *v, struct saved *sv)
{
	unsigned int c;
	int which;
	u64 i;

	memset(sv, 0, sizeof(*sv));
	for (which = 0; which <= BCV_TM_PB; which++) {
		unsigned long *w = bcv_tm_table(v, which, &sv->nr[which]);

		if (!w)
			continue;
		sv->bytes[which] = malloc(sv->nr[which] * 8 + 1);
		for (i = 0; i < sv->nr[which]; i++) {
			uint64_t le = htole64(w[i]);

			memcpy(sv->bytes[which] + 8 * i, &le, 8);
		}
	}
	for (c = 0; v->is_std && c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *s = bcv_tm_column(v, c);

		if (!s)
			continue;
		sv->sess[sv->nsess].id = bcv_tm_sess_id(s);
		sv->sess[sv->nsess].state = bcv_tm_sess_state(s);
		sv->sess[sv->nsess].mm = bcv_tm_sess_mm(s);
		sv->nsess++;
	}
}

/* As bcv_assemble_cmd(): sessions, then the tables, then the cleanup. */
static bool load(struct bcv_tm_vol *v, const struct saved *sv)
{
	unsigned int c;
	int which;
	u64 i, nr;

	for (c = 0; c < sv->nsess; c++)
		if (bcv_tm_sess_load(v, new_sess(), sv->sess[c].id,
				     sv->sess[c].state, sv->sess[c].mm))
			return false;
	for (which = 0; which <= BCV_TM_PB; which++) {
		unsigned long *w = bcv_tm_table(v, which, &nr);

		if (!w != !sv->bytes[which] || (w && nr != sv->nr[which]))
			return false;
		for (i = 0; w && i < nr; i++) {
			uint64_t le;

			memcpy(&le, sv->bytes[which] + 8 * i, 8);
			w[i] = le64toh(le);
		}
	}
	bcv_tm_tables_loaded(v);
	return true;
}

static void saved_free(struct saved *sv)
{
	int which;

	for (which = 0; which <= BCV_TM_PB; which++)
		free(sv->bytes[which]);
}

/* Same counts, bits and sessions? */
static bool same_tables(const struct bcv_tm_vol *a, const struct bcv_tm_vol *b)
{
	unsigned int c;
	int p;
	u64 t;

	if (a->tracks != b->tracks || a->nr_legs != b->nr_legs ||
	    memcmp(a->role, b->role, sizeof(a->role)))
		return false;
	for (p = 0; p < BCV_POSITIONS; p++)
		if (ninv(a, p) != ninv(b, p))
			return false;
	for (t = 0; t < a->tracks; t++)
		if (bcv_tm_trackid(a, t) != bcv_tm_trackid(b, t))
			return false;
	if (!a->is_std)
		return true;
	if (a->alloc != b->alloc)
		return false;
	for (c = 0; c < BCV_SESSIONS; c++) {
		const struct bcv_tm_sess *x = a->sess[c], *y = b->sess[c];

		if (nchg(a, c) != nchg(b, c))
			return false;
		if (!x != !y || (x && (x->state != y->state || x->mm != y->mm)))
			return false;
		for (t = 0; t < a->tracks; t++)
			if (bcv_tm_pb_changed(a, t, c) !=
			    bcv_tm_pb_changed(b, t, c))
				return false;
	}
	return true;
}

static void test_round_trip(void)
{
	const u64 tracks = 1001;	/* 16 bitmap words, 251 PB words */
	const u64 sectors = SECT(tracks - 1) + 100; /* partial last track */
	struct bcv_tm_vol std, bcv, bcv0, std2, bcv2, blank;
	struct bcv_tm_cmd none = { 0 }, diff = { .diff = true };
	struct bcv_tm_sess *spare = new_sess(), *s;
	struct saved sv, svb;
	u64 n, todo = 0, t;

	/* A STD with two legs, a split session and an attached one. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	tm_vinit(&bcv0, sectors, TS_SHIFT, false, 1);
	tm_vinit(&bcv, sectors, TS_SHIFT, false, 2);
	CHECK(bcv_tm_establish(&std, &bcv0, &none, &spare) == 0 && !spare,
	      "establish the first BCV");
	tm_copy_all(&std, 64);
	CHECK(bcv_tm_split(&std, &bcv0, &none) == 0, "split it");
	spare = new_sess();
	CHECK(bcv_tm_establish(&std, &bcv, &none, &spare) == 0 && !spare,
	      "establish the second (at M3, its copy not run)");
	io_write(&std, SECT(3), SECT(1), false);
	io_write(&std, SECT(300), SECT(70), false);
	io_write(&std, SECT(tracks - 1), 1, false);
	io_write(&bcv0, SECT(500), SECT(9), false);
	bcv_tm_leg_error(&std, 1, SECT(640), SECT(130));
	s = bcv_tm_session(&std, &bcv);
	CHECK(s && s->mm == 2 && ninv(&std, 2) == tracks - 71 &&
	      ninv(&std, 1) == 130 && ninv(&std, 0) == 0 &&
	      nchg(&std, 0) == 72 && nchg(&std, 1) == tracks,
	      "writes: MM %llu I, M2 130 I (a failed range), PB 72 and all",
	      (unsigned long long)ninv(&std, 2));
	for (t = 0; t < tracks; t++)
		todo += bcv_tm_invalid(&std, 1, t) ||
			bcv_tm_invalid(&std, 2, t);

	save(&std, &sv);
	save(&bcv0, &svb);
	CHECK(sv.nr[0] == 16 && sv.nr[BCV_TM_PB] == 251 && sv.nsess == 2 &&
	      svb.nr[BCV_M4B] == 16 && !svb.bytes[BCV_TM_PB],
	      "saved: 16 words a bitmap, 251 PB words, 2 session records");

	tm_vinit(&std2, sectors, TS_SHIFT, true, 2);
	CHECK(load(&std2, &sv), "loaded into fresh tables");
	CHECK(bcv_tm_pos_absent(&std2, 2) && bcv_tm_write_targets(&std2) == 3U,
	      "the attached session's MM is absent until linked");
	CHECK(same_tables(&std, &std2),
	      "identical: positions, Track IDs, PB columns, sessions");
	CHECK(ninv(&std2, 0) == 0 && ninv(&std2, 1) == 130 &&
	      ninv(&std2, 2) == tracks - 71 && nchg(&std2, 0) == 72 &&
	      nchg(&std2, 1) == tracks && std2.alloc == 3UL,
	      "the counts: M1 0, M2 130, MM %llu, PB 72 and %llu",
	      (unsigned long long)ninv(&std2, 2), (unsigned long long)tracks);

	/* The BCV comes back clean: linking changes nothing else. */
	tm_vinit(&blank, sectors, TS_SHIFT, false, 2);
	CHECK(bcv_tm_sess_link(std2.sess[1], &blank) == 0 &&
	      !bcv_tm_pos_absent(&std2, 2) && same_tables(&std, &std2),
	      "link a BCV with a clean M4b: the same tables as before");
	n = tm_copy_all(&std2, 64);
	CHECK(n == todo && ninv(&std2, 2) == 0 && ninv(&std2, 1) == 0 &&
	      std2.sess[1]->state == BCV_SYNCHRONIZED,
	      "the engine finishes the copy and the failed range: %llu tracks",
	      (unsigned long long)n);
	tm_vfree(&std2);
	tm_vfree(&blank);

	/* Garbage past the end on disk is cleaned on load. */
	sv.bytes[0][8 * 15 + 7] |= 0x80;	/* track 1023 */
	sv.bytes[BCV_TM_PB][8 * 250 + 2] |= 0x01; /* row 1001, column 0 */
	sv.bytes[BCV_TM_PB][8 * 10] |= 0x80;	/* row 40, column 7 */
	tm_vinit(&std2, sectors, TS_SHIFT, true, 2);
	CHECK(load(&std2, &sv) && same_tables(&std, &std2) &&
	      !tail_garbage(&std2, 0) && !pb_tail_garbage(&std2) &&
	      nchg(&std2, 7) == 0 && nchg(&std2, 0) == 72,
	      "bits past the end and a column of no session on disk: cleaned");
	tm_vfree(&std2);

	/* The split BCV's tables. */
	tm_vinit(&bcv2, sectors, TS_SHIFT, false, 1);
	CHECK(load(&bcv2, &svb) && same_tables(&bcv0, &bcv2) &&
	      ninv(&bcv2, BCV_M4B) == 9 &&
	      inv_exactly(&bcv2, BCV_M4B, 500, 508),
	      "a BCV: M4b (tracks 500-508) and its leg come back identical");
	tm_vfree(&bcv2);

	/* Finished and split differentially, both agree with the original. */
	tm_vinit(&std2, sectors, TS_SHIFT, true, 2);
	tm_vinit(&blank, sectors, TS_SHIFT, false, 2);
	CHECK(load(&std2, &sv) &&
	      bcv_tm_sess_link(std2.sess[1], &blank) == 0,
	      "load and link again");
	tm_copy_all(&std, 64);
	tm_copy_all(&std2, 64);
	CHECK(bcv_tm_split(&std, &bcv, &diff) == 0 &&
	      bcv_tm_split(&std2, &blank, &diff) == 0 &&
	      same_tables(&std, &std2) && same_tables(&bcv, &blank),
	      "a differential split of both: the same tables on both sides");
	tm_vfree(&std2);
	tm_vfree(&blank);

	saved_free(&sv);
	saved_free(&svb);
	tm_vfree(&std);
	tm_vfree(&bcv);
	tm_vfree(&bcv0);
}

/*
 * A restore cut by a crash: the STD's tables after bcv_tm_recover() have
 * every own leg I and the MM V.  Linking a BCV whose M4b is all I (it was
 * recovered too) must not mark its position I: it is the only holder.
 */
static void test_link_restore_source(void)
{
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s = new_sess();
	u64 n;

	tm_vinit(&std, SECT(NT), TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, s, 0, BCV_RESTINPROG, 2) == 0,
	      "a session in restinprog at M3");
	bcv_tm_recover(&std, 0);
	CHECK(ninv(&std, 0) == NT && ninv(&std, 1) == NT && ninv(&std, 2) == 0,
	      "recovered: both own legs all I, the MM all V");
	tm_vinit(&bcv, SECT(NT), TS_SHIFT, false, 1);
	bcv_tm_recover(&bcv, 0);
	CHECK(ninv(&bcv, BCV_M4B) == NT, "the BCV recovered too: M4b all I");
	CHECK(bcv_tm_sess_link(s, &bcv) == 0 && !bcv_tm_pos_absent(&std, 2),
	      "linked: the MM is present");
	CHECK(ninv(&std, 2) == 0,
	      "the restore's source keeps every track V (%llu I)",
	      (unsigned long long)ninv(&std, 2));
	n = tm_copy_all(&std, 16);
	CHECK(n > 0 && ninv(&std, 0) == 0 && ninv(&std, 1) == 0,
	      "the restore resumes: both legs copied from the MM");
	CHECK(s->state == BCV_RESTORED, "and it ends restored");
	bcv_tm_sess_unlink(s);
	tm_vfree(&bcv);
	tm_vfree(&std);		/* frees its sessions */
}

/*
 * The crash rule with an activity log: only the tracks of active regions
 * get marks, one valid position stays their source; a track the tables
 * call invalid everywhere gets a source back.
 */
static void test_recover_regions(void)
{
	const unsigned int shift = bcv_fmt_al_shift(TS_SHIFT);	/* 16 tracks */
	const u64 sectors = SECT(NT - 1) + 9;	/* partial last track */
	unsigned long al[1] = { 0 };
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *a = new_sess(), *b = new_sess(), *r = new_sess();
	u64 n, rt = 1ULL << shift, last_r = (NT - 1) >> shift;

	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, a, 0, BCV_SYNCHRONIZED, 2) == 0 &&
	      bcv_tm_sess_load(&std, b, 3, BCV_SPLIT, BCV_NO_POS) == 0,
	      "a STD with sessions 0 (synchronized, M3) and 3 (split)");
	n = bcv_tm_recover_regions(&std, al, last_r + 1, shift);
	CHECK(n == 0 && ninv(&std, 0) == 0 && ninv(&std, 1) == 0 &&
	      nchg(&std, 0) == 0 && nchg(&std, 3) == 0,
	      "no active region: nothing marked");
	/* Regions 1 and the last (partial); track 20 already I at M2. */
	al[0] = (1UL << 1) | (1UL << last_r);
	bcv_tm_leg_error(&std, 1, SECT(20), SECT(1));
	n = bcv_tm_recover_regions(&std, al, last_r + 1, shift);
	CHECK(n == rt + (NT - last_r * rt),
	      "every track of the two regions gained marks: %llu",
	      (unsigned long long)n);
	CHECK(ninv(&std, 0) == 0 && ninv(&std, 1) == n && ninv(&std, 2) == n &&
	      bcv_tm_invalid(&std, 1, rt) && bcv_tm_invalid(&std, 2, 2 * rt - 1) &&
	      !bcv_tm_invalid(&std, 1, 2 * rt) && bcv_tm_invalid(&std, 2, NT - 1),
	      "M1 stays the source; M2 and the MM I on the regions' tracks");
	CHECK(nchg(&std, 0) == ninv(&std, 1) && nchg(&std, 3) == ninv(&std, 1) &&
	      !pb_tail_garbage(&std),
	      "both PB columns C there, nothing past the last track");
	n = bcv_tm_recover_regions(&std, al, last_r + 1, shift);
	CHECK(n == 0, "a second pass adds nothing");
	tm_vfree(&std);

	/* A restore in progress: unrestored tracks keep the BCV as source. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	CHECK(bcv_tm_sess_load(&std, r, 1, BCV_RESTINPROG, 2) == 0,
	      "a STD restoring from the BCV at M3");
	bcv_tm_leg_stale(&std, 0);
	bcv_tm_leg_stale(&std, 1);	/* nothing restored yet */
	al[0] = 1UL;			/* region 0 */
	n = bcv_tm_recover_regions(&std, al, last_r + 1, shift);
	CHECK(ninv(&std, 2) == 0 && ninv(&std, 0) == NT && ninv(&std, 1) == NT,
	      "the MM stays V: the only source of every track");
	CHECK(n == rt && nchg(&std, 1) == rt,
	      "the restore's column C on region 0 (%llu tracks)",
	      (unsigned long long)n);
	tm_vfree(&std);

	/* No valid position: restore source, else the first leg. */
	tm_vinit(&std, sectors, TS_SHIFT, true, 2);
	r = new_sess();
	CHECK(bcv_tm_sess_load(&std, r, 1, BCV_RESTINPROG, 2) == 0,
	      "again a STD restoring from M3");
	bcv_tm_leg_stale(&std, 0);
	bcv_tm_leg_stale(&std, 1);
	std.inv[2][0] |= 0xf0;		/* tracks 4-7 I everywhere */
	n = bcv_tm_recover_sources(&std);
	CHECK(n == 4 && ninv(&std, 2) == 0 && ninv(&std, 0) == NT,
	      "tracks invalid everywhere: the restore's BCV is their source");
	tm_vfree(&std);
	tm_vinit(&bcv, sectors, TS_SHIFT, false, 2);
	bcv_tm_leg_stale(&bcv, 0);
	bcv_tm_leg_stale(&bcv, 1);
	n = bcv_tm_recover_sources(&bcv);
	CHECK(n == NT && ninv(&bcv, 0) == 0 && ninv(&bcv, 1) == NT &&
	      ninv(&bcv, BCV_M4B) == 0,
	      "a BCV with no valid leg: M1 is the source, M4b untouched");
	tm_vfree(&bcv);
}

int main(void)
{
	test_table_sizes();
	test_tables_loaded();
	test_sess_load();
	test_absent_link_unlink();
	test_recover();
	test_link_restore_source();
	test_recover_regions();
	test_round_trip();
	return tm_done();
}
