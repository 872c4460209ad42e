// SPDX-License-Identifier: GPL-2.0
/*
 * Edges of the track geometry and of the table layout:
 *
 *  - a one-track volume through every command;
 *  - the partial last track (a write from its start to the end of the
 *    volume covers it whole; a write ending earlier does not);
 *  - writes exactly at cylinder boundaries (tracks 14/15, 29/30), at
 *    Track ID word boundaries (63/64) and PB word boundaries (rows 3/4);
 *  - 16 sessions, the 17th refused, a freed column reused;
 *  - a BCV bigger than its STD;
 *  - bcv_tm_next_copy() runs: same destinations, split where the
 *    destinations or the source's validity change, capped by max;
 *  - two threads marking writes on the same tables at once.
 *
 *	test_edges [WRITES]	WRITES per thread in the concurrent test
 *				(default 100000)
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include "tm_test.h"

static const struct bcv_tm_cmd none;

static struct bcv_tm_sess *spare(void)
{
	struct bcv_tm_sess *s = calloc(1, sizeof(*s));

	if (!s)
		exit(2);
	return s;
}

static int establish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *s = spare();
	int rc = bcv_tm_establish(std, bcv, &none, &s);

	free(s);
	return rc;
}

static int split(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv, bool diff)
{
	return bcv_tm_split(std, bcv, &(struct bcv_tm_cmd){ .diff = diff });
}

static int restore(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv, bool incr)
{
	return bcv_tm_restore(std, bcv, &(struct bcv_tm_cmd){ .incremental = incr });
}

static int terminate(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *freed = NULL;
	int rc = bcv_tm_terminate(std, bcv, &freed);

	free(freed);
	return rc;
}

static int mm(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	return bcv_tm_session(std, bcv)->mm;
}

static enum bcv_state state(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);

	return s ? s->state : 0;
}

/* Data positions of a STD: legs and attached MMs. */
static unsigned int std_written(const struct bcv_tm_vol *v)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (v->role[p] == BCV_POS_LEG || v->role[p] == BCV_POS_MM)
			m |= 1U << p;
	return m;
}

/* The I tracks of position @p, as a string "a-b,c" for messages. */
static const char *inv_str(const struct bcv_tm_vol *v, int p)
{
	static char buf[512];
	size_t n = 0;
	u64 t = 0, e;

	buf[0] = 0;
	while (t < v->tracks && n < sizeof(buf) - 48) {
		if (!bcv_tm_invalid(v, p, t)) {
			t++;
			continue;
		}
		for (e = t; e + 1 < v->tracks && bcv_tm_invalid(v, p, e + 1); e++)
			;
		n += snprintf(buf + n, sizeof(buf) - n, "%s%llu", n ? "," : "",
			      (unsigned long long)t);
		if (e > t)
			n += snprintf(buf + n, sizeof(buf) - n, "-%llu",
				      (unsigned long long)e);
		t = e + 1;
	}
	return buf;
}

/* Position @p is I on exactly the tracks [a, b) and [c, d). */
static bool inv_exactly(const struct bcv_tm_vol *v, int p, u64 a, u64 b,
			u64 c, u64 d)
{
	u64 t;

	for (t = 0; t < v->tracks; t++)
		if (bcv_tm_invalid(v, p, t) != ((t >= a && t < b) || (t >= c && t < d))) {
			printf("# M%d: I tracks %s\n", p + 1, inv_str(v, p));
			return false;
		}
	return true;
}

/* PB column @col is C on exactly [a, b) and [c, d). */
static bool pb_exactly(const struct bcv_tm_vol *v, unsigned int col, u64 a,
		       u64 b, u64 c, u64 d)
{
	u64 t;

	for (t = 0; t < v->tracks; t++)
		if (bcv_tm_pb_changed(v, t, col) != ((t >= a && t < b) || (t >= c && t < d))) {
			printf("# PB column %u wrong at track %llu\n", col,
			       (unsigned long long)t);
			return false;
		}
	return true;
}

/* ------------------------------------------------------------------ */

static void test_one_track(void)
{
	struct bcv_tm_vol S, B, B2;
	struct bcv_tm_copy c;
	int m;

	/* 100 sectors at 64 KiB tracks: one partial track. */
	tm_vinit(&S, 100, 16, true, 1);
	tm_vinit(&B, 100, 16, false, 2);
	tm_vinit(&B2, 300, 16, false, 1);	/* three tracks */
	CHECK(S.tracks == 1 && B.tracks == 1 && B2.tracks == 3, "one-track volumes");

	CHECK(establish(&S, &B) == 0, "one track: ESTABLISH");
	m = mm(&S, &B);
	CHECK(bcv_tm_count_invalid(&S, m) == 1 && bcv_tm_count_changed(&S, 0) == 1,
	      "one track: MM I, PB C");
	CHECK(bcv_tm_next_copy(&S, 0, 16, &c) && c.start == 0 && c.len == 1 &&
	      c.src == 0 && c.dst == 1U << m, "one track: one run of one track");
	CHECK(!bcv_tm_next_copy(&S, 1, 16, &c), "one track: nothing from track 1");
	CHECK(tm_copy_all(&S, 16) == 1 && state(&S, &B) == BCV_SYNCHRONIZED,
	      "one track: synchronized");
	CHECK(split(&S, &B, true) == 0, "one track: SPLIT --diff");
	CHECK(bcv_tm_count_invalid(&B, 1) == 1, "one track: BFM I (PB was C)");
	CHECK(tm_copy_all(&B, 16) == 1, "one track: BFM synced");

	bcv_tm_write(&S, 5, 1, std_written(&S));
	CHECK(bcv_tm_pb_changed(&S, 0, 0), "one track: write S: PB C");
	CHECK(bcv_tm_reestablish(&S, &B, &none) == 0 &&
	      bcv_tm_count_invalid(&S, mm(&S, &B)) == 1, "one track: REESTABLISH copies it");
	/* A write of the whole (partial) track validates it at once. */
	bcv_tm_write(&S, 0, 100, std_written(&S));
	CHECK(bcv_tm_count_invalid(&S, mm(&S, &B)) == 0, "one track: whole write: MM V");
	CHECK(!bcv_tm_next_copy(&S, 0, 16, &c), "one track: nothing left to copy");
	bcv_tm_update_states(&S);
	CHECK(state(&S, &B) == BCV_SYNCHRONIZED, "one track: synchronized without a copy");
	CHECK(split(&S, &B, false) == 0 && tm_copy_all(&B, 16) == 1, "one track: full SPLIT");

	CHECK(restore(&S, &B, true) == 0 && state(&S, &B) == BCV_RESTORED,
	      "one track: INCR RESTORE of nothing is restored at once");
	CHECK(split(&S, &B, true) == 0 && bcv_tm_count_invalid(&B, 1) == 0,
	      "one track: SPLIT --diff: no write, BFM V");
	bcv_tm_write(&B, 99, 1, 3);
	CHECK(restore(&S, &B, true) == 0 && bcv_tm_count_invalid(&S, 0) == 1,
	      "one track: INCR RESTORE after a BCV write: STD I");
	CHECK(bcv_tm_next_copy(&S, 0, 16, &c) && c.src == mm(&S, &B) && c.dst == 1,
	      "one track: copied from the BCV");
	CHECK(bcv_tm_read_pos(&S, 0, 100) == mm(&S, &B), "one track: reads from the BCV");
	tm_copy_all(&S, 16);
	CHECK(state(&S, &B) == BCV_RESTORED && bcv_tm_read_pos(&S, 0, 100) == 0,
	      "one track: restored, reads from M1");

	/* A bigger BCV: only the STD's track is tracked. */
	CHECK(establish(&S, &B2) == 0 && bcv_tm_count_invalid(&S, mm(&S, &B2)) == 1,
	      "one-track STD, three-track BCV: one track to copy");
	tm_copy_all(&S, 16);
	CHECK(split(&S, &B, false) == 0 && split(&S, &B2, false) == 0, "both split");
	CHECK(terminate(&S, &B) == 0 && !B.session && S.alloc == 2,
	      "one track: TERMINATE");
	tm_vfree(&S);
	tm_vfree(&B);
	tm_vfree(&B2);
}

/* ------------------------------------------------------------------ */

#define PSH	16
#define PSPT	128ULL			/* sectors per 64 KiB track */

static void test_partial_last(void)
{
	const u64 full = 9, sect = full * PSPT + 40;	/* 10 tracks, last 40 sectors */
	const u64 lt = full * PSPT;			/* first sector of track 9 */
	struct bcv_tm_vol S, B, C;
	int m;

	tm_vinit(&S, sect, PSH, true, 1);
	tm_vinit(&B, sect, PSH, false, 2);
	tm_vinit(&C, 10 * PSPT, PSH, false, 2);	/* same tracks, full last track */
	CHECK(S.tracks == 10, "10 tracks, the last partial");
	CHECK(establish(&S, &B) == 0, "ESTABLISH");
	m = mm(&S, &B);

	bcv_tm_write(&S, lt, 39, std_written(&S));
	CHECK(bcv_tm_invalid(&S, m, 9), "write ending one sector before the end: track 9 stays I");
	bcv_tm_write(&S, lt + 1, 39, std_written(&S));
	CHECK(bcv_tm_invalid(&S, m, 9), "write from sector 1 of track 9 to the end: stays I");
	bcv_tm_write(&S, lt - 5, 44, std_written(&S));
	CHECK(inv_exactly(&S, m, 0, 10, 0, 0),
	      "write from track 8 into track 9, short of the end: both I");
	bcv_tm_write(&S, lt, 40, std_written(&S));
	CHECK(inv_exactly(&S, m, 0, 9, 0, 0),
	      "write from the start of track 9 to the end of the volume: track 9 V");
	CHECK(!bcv_tm_invalid(&S, 0, 9), "  ... and still V on the STD's own leg");

	/* Again, the write starting mid track 7 and running to the end. */
	CHECK(split(&S, &B, false) != 0, "not synchronized yet");
	tm_copy_all(&S, 16);
	CHECK(split(&S, &B, false) == 0 && tm_copy_all(&B, 16) == 10, "split, BFM synced");
	CHECK(bcv_tm_reestablish(&S, &B, &none) == 0 && bcv_tm_count_invalid(&S, m) == 0,
	      "REESTABLISH: nothing changed: nothing to copy");
	tm_copy_all(&S, 16);
	bcv_tm_update_states(&S);
	CHECK(split(&S, &B, false) == 0, "SPLIT");
	CHECK(bcv_tm_count_invalid(&B, 1) == 10, "full SPLIT: BFM all I, the partial track too");
	bcv_tm_write(&B, lt, 40, 3);
	CHECK(inv_exactly(&B, 1, 0, 9, 0, 0) && bcv_tm_invalid(&B, BCV_M4B, 9),
	      "BCV write of its partial last track to its end: BFM V there, M4b I");
	bcv_tm_write(&B, 7 * PSPT + 3, 2 * PSPT + 37, 3);
	CHECK(inv_exactly(&B, 1, 0, 8, 0, 0),
	      "BCV write from mid track 7 to the end: track 8 whole, V; track 7 stays I");
	CHECK(bcv_tm_count_invalid(&B, BCV_M4B) == 3, "M4b I on tracks 7, 8, 9");

	/* A full last track: a write ending at the end is whole too. */
	CHECK(establish(&S, &C) == 0, "ESTABLISH a BCV with a full last track");
	bcv_tm_write(&S, lt, 40, std_written(&S));
	CHECK(inv_exactly(&S, mm(&S, &C), 0, 9, 0, 0), "STD's partial track V on the new MM");
	tm_copy_all(&S, 16);
	CHECK(split(&S, &C, false) == 0, "SPLIT: C's BFM all I");
	bcv_tm_write(&C, lt, 40, 3);
	CHECK(bcv_tm_invalid(&C, 1, 9) && bcv_tm_invalid(&C, BCV_M4B, 9),
	      "C (full last track): a write of its first 40 sectors is partial: BFM stays I");
	bcv_tm_write(&C, lt, PSPT, 3);
	CHECK(!bcv_tm_invalid(&C, 1, 9), "  ... all 128 sectors: V");

	tm_vfree(&S);
	tm_vfree(&B);
	tm_vfree(&C);
}

/* ------------------------------------------------------------------ */

static void test_boundaries(void)
{
	const unsigned int sh = 12;		/* 4 KiB tracks: 8 sectors */
	const u64 spt = 8, tracks = 200;
	static const u64 pairs[][2] = {
		{ 14, 15 }, { 29, 30 }, { 63, 64 }, { 3, 4 }, { 127, 128 }, { 59, 60 },
	};
	struct bcv_tm_vol S, B[4];
	unsigned int i, k, col;
	int m;

	tm_vinit(&S, tracks * spt, sh, true, 1);
	for (i = 0; i < 4; i++)
		tm_vinit(&B[i], tracks * spt, sh, false, 1);
	for (i = 0; i < 3; i++) {
		establish(&S, &B[i]);
		tm_copy_all(&S, 64);
		split(&S, &B[i], false);
	}
	CHECK(S.alloc == 7 && bcv_tm_count_changed(&S, 0) == 0, "3 split sessions, all U");

	for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		u64 a = pairs[k][0], b = pairs[k][1];
		bool ok = true;

		/* Fresh MM all I, fresh PB columns all U. */
		CHECK(establish(&S, &B[3]) == 0, "ESTABLISH B3 (tracks %llu/%llu)",
		      (unsigned long long)a, (unsigned long long)b);
		m = mm(&S, &B[3]);
		/* Exactly tracks a and b, whole. */
		bcv_tm_write(&S, a * spt, 2 * spt, std_written(&S));
		for (col = 0; col < 3; col++)
			ok &= pb_exactly(&S, col, a, b + 1, 0, 0);
		CHECK(ok, "write of tracks %llu..%llu: PB C exactly there in every column",
		      (unsigned long long)a, (unsigned long long)b);
		CHECK(inv_exactly(&S, m, 0, a, b + 1, tracks),
		      "  ... MM V exactly on %llu and %llu", (unsigned long long)a,
		      (unsigned long long)b);
		/* Two sectors straddling the boundary: both C, neither V. */
		bcv_tm_write(&S, b * spt + spt - 1, 2, std_written(&S));
		ok = true;
		for (col = 0; col < 3; col++)
			ok &= pb_exactly(&S, col, a, b + 2, 0, 0);
		CHECK(ok && inv_exactly(&S, m, 0, a, b + 1, tracks),
		      "2 sectors across %llu/%llu: PB C on both, MM stays I on %llu",
		      (unsigned long long)b, (unsigned long long)b + 1,
		      (unsigned long long)b + 1);
		/* The last sector before the boundary and the first after. */
		bcv_tm_write(&S, a * spt - 1, 1, std_written(&S));
		CHECK(bcv_tm_pb_changed(&S, a - 1, 1) && !bcv_tm_pb_changed(&S, a - 2, 1),
		      "last sector of track %llu: that row only", (unsigned long long)a - 1);
		CHECK(bcv_tm_count_changed(&S, 2) == 4, "  4 rows C");
		/* REESTABLISH copies exactly those rows. */
		tm_copy_all(&S, 64);
		CHECK(split(&S, &B[3], false) == 0, "SPLIT B3");
		CHECK(bcv_tm_reestablish(&S, &B[0], &none) == 0 &&
		      inv_exactly(&S, mm(&S, &B[0]), a - 1, b + 2, 0, 0),
		      "REESTABLISH B0: MM I exactly on tracks %llu..%llu",
		      (unsigned long long)a - 1, (unsigned long long)b + 1);
		tm_copy_all(&S, 64);
		split(&S, &B[0], false);
		CHECK(bcv_tm_reestablish(&S, &B[1], &none) == 0, "REESTABLISH B1");
		tm_copy_all(&S, 64);
		split(&S, &B[1], false);
		CHECK(bcv_tm_reestablish(&S, &B[2], &none) == 0, "REESTABLISH B2");
		tm_copy_all(&S, 64);
		split(&S, &B[2], false);
		/* B3's session: terminate, for a fresh column next round. */
		CHECK(terminate(&S, &B[3]) == 0, "TERMINATE B3");
	}
	tm_vfree(&S);
	for (i = 0; i < 4; i++)
		tm_vfree(&B[i]);
}

/* ------------------------------------------------------------------ */

static void test_sixteen(void)
{
	const u64 spt = 8, tracks = 45;
	struct bcv_tm_vol S, B[17];
	struct bcv_tm_sess *freed = NULL, *s;
	unsigned int i;
	u64 t;
	bool ok = true;

	tm_vinit(&S, tracks * spt, 12, true, 1);
	for (i = 0; i < 17; i++)
		tm_vinit(&B[i], tracks * spt, 12, false, 1);
	for (i = 0; i < 16; i++) {
		ok &= establish(&S, &B[i]) == 0;
		ok &= bcv_tm_session(&S, &B[i])->id == i;
		tm_copy_all(&S, 64);
		ok &= split(&S, &B[i], true) == 0;
	}
	CHECK(ok && S.alloc == 0xffff, "16 sessions, columns 0..15");
	CHECK(establish(&S, &B[16]) == -ENOSPC, "the 17th: ENOSPC");
	bcv_tm_write(&S, 14 * spt, spt + 1, 1);
	for (t = 0; t < tracks; t++)
		ok &= (S.pb[t / 4] >> (t % 4 * 16) & 0xffff) ==
		      (t == 14 || t == 15 ? 0xffffU : 0);
	CHECK(ok, "a write across tracks 14/15 marks all 16 columns of both rows");
	for (i = 0; i < 16; i++)
		ok &= bcv_tm_count_changed(&S, i) == 2;
	CHECK(ok, "count_changed = 2 in every column");

	CHECK(bcv_tm_terminate(&S, &B[9], &freed) == 0 && freed, "TERMINATE column 9");
	free(freed);
	bcv_tm_write(&S, 30 * spt, 1, 1);
	CHECK((S.pb[30 / 4] >> (30 % 4 * 16) & 0xffff) == (0xffffU & ~(1U << 9)),
	      "a write after TERMINATE marks every column but the freed one");
	CHECK(establish(&S, &B[16]) == 0, "a 16th session again");
	s = bcv_tm_session(&S, &B[16]);
	CHECK(s->id == 9 && S.alloc == 0xffff && bcv_tm_count_changed(&S, 9) == tracks,
	      "column 9 reused, all C");
	CHECK(establish(&S, &B[9]) == -ENOSPC, "the terminated BCV: ENOSPC");
	tm_copy_all(&S, 64);
	CHECK(split(&S, &B[16], false) == 0 && bcv_tm_count_changed(&S, 9) == 0,
	      "split: column 9 all U");
	CHECK(bcv_tm_count_changed(&S, 0) == 3 && bcv_tm_count_changed(&S, 15) == 3,
	      "the other columns untouched");
	CHECK(bcv_tm_reestablish(&S, &B[15], &none) == 0 &&
	      inv_exactly(&S, mm(&S, &B[15]), 14, 16, 30, 31),
	      "REESTABLISH of column 15 copies rows 14, 15, 30");
	tm_vfree(&S);
	for (i = 0; i < 17; i++)
		tm_vfree(&B[i]);
}

/* ------------------------------------------------------------------ */

static void test_bigger_bcv(void)
{
	const u64 spt = 8, st = 100, bt = 150;
	struct bcv_tm_vol S, B;
	struct bcv_tm_copy c;
	u64 from = 0, max_end = 0;
	int m;

	tm_vinit(&S, st * spt, 12, true, 1);
	tm_vinit(&B, bt * spt, 12, false, 2);
	CHECK(establish(&S, &B) == 0, "ESTABLISH S (100 tracks), B (150 tracks)");
	m = mm(&S, &B);
	CHECK(bcv_tm_count_invalid(&S, m) == st, "MM I on the STD's 100 tracks only");
	while (bcv_tm_next_copy(&S, from, 7, &c)) {
		max_end = max(max_end, c.start + c.len);
		bcv_tm_copy_begin(&S, &c);
		bcv_tm_copy_done(&S, &c, true);
		from = c.start + c.len;
	}
	CHECK(max_end == st, "the STD's copy engine never goes past track 99");
	bcv_tm_update_states(&S);
	CHECK(!bcv_tm_next_copy(&B, 0, 1000, &c), "attached BCV: no copies of its own");
	CHECK(split(&S, &B, false) == 0, "full SPLIT");
	CHECK(bcv_tm_count_invalid(&B, 1) == st,
	      "BFM I on the 100 tracks the STD wrote, not on the BCV's last 50");
	CHECK(tm_copy_all(&B, 16) == st, "the BCV's own engine syncs those 100");

	bcv_tm_write(&B, 120 * spt, 20 * spt, 3);
	bcv_tm_write(&B, bt * spt - 1, 1, 3);
	CHECK(bcv_tm_count_invalid(&B, BCV_M4B) == 21, "BCV writes beyond the STD: M4b I");
	CHECK(bcv_tm_reestablish(&S, &B, &none) == 0 && bcv_tm_count_invalid(&S, m) == 0 &&
	      bcv_tm_count_changed(&S, 0) == 0,
	      "REESTABLISH ignores M4b beyond the STD: nothing to copy, PB U");
	CHECK(S.inv[m][1] == 0 && S.pb[st / 4 - 1] == 0, "no bit past the STD's end");
	bcv_tm_update_states(&S);
	CHECK(split(&S, &B, true) == 0, "SPLIT --diff");
	bcv_tm_write(&B, 99 * spt, 3 * spt, 3);		/* tracks 99..101 */
	CHECK(bcv_tm_reestablish(&S, &B, &none) == 0 && inv_exactly(&S, m, 99, 100, 0, 0),
	      "BCV write of tracks 99..101: REESTABLISH copies track 99 only");
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && c.start == 99 && c.len == 1,
	      "  one run: track 99");
	tm_copy_all(&S, 16);
	CHECK(split(&S, &B, true) == 0, "SPLIT --diff");
	CHECK(inv_exactly(&B, 1, 99, 100, 0, 0), "diff split: BFM I on track 99 only");
	tm_copy_all(&B, 16);
	bcv_tm_write(&B, 98 * spt + 1, 4 * spt, 3);	/* tracks 98..102 */
	CHECK(restore(&S, &B, true) == 0 && inv_exactly(&S, 0, 98, 100, 0, 0),
	      "INCR RESTORE: R = tracks 98, 99 (M4b beyond the STD ignored)");
	CHECK(bcv_tm_session_todo(bcv_tm_session(&S, &B)) == 2, "2 tracks to restore");
	tm_copy_all(&S, 16);
	CHECK(state(&S, &B) == BCV_RESTORED, "restored");
	CHECK(split(&S, &B, false) == 0, "SPLIT");
	CHECK(restore(&S, &B, false) != 0, "full RESTORE refused: BFM I after a full split");
	tm_copy_all(&B, 64);
	CHECK(restore(&S, &B, false) == 0 && bcv_tm_count_invalid(&S, 0) == st,
	      "full RESTORE: the STD's 100 tracks I");
	CHECK(tm_copy_all(&S, 1000) == st && state(&S, &B) == BCV_RESTORED,
	      "100 tracks restored");
	tm_vfree(&S);
	tm_vfree(&B);
}

/* ------------------------------------------------------------------ */

static bool run_is(const struct bcv_tm_copy *c, u64 start, u64 len, int src,
		   unsigned int dst)
{
	if (c->start == start && c->len == len && c->src == src && c->dst == dst)
		return true;
	printf("# run %llu+%llu M%d -> %x, want %llu+%llu M%d -> %x\n",
	       (unsigned long long)c->start, (unsigned long long)c->len, c->src + 1,
	       c->dst, (unsigned long long)start, (unsigned long long)len, src + 1, dst);
	return false;
}

static void copy_run(struct bcv_tm_vol *v, u64 from, u64 max)
{
	struct bcv_tm_copy c;

	if (bcv_tm_next_copy(v, from, max, &c)) {
		bcv_tm_copy_begin(v, &c);
		bcv_tm_copy_done(v, &c, true);
	}
}

static void test_runs(void)
{
	const u64 spt = 8, n = 200;
	struct bcv_tm_vol S, B1, B2, R, RB, RB2, V;
	struct bcv_tm_copy c;

	tm_vinit(&S, n * spt, 12, true, 2);	/* legs at M1, M2 */
	tm_vinit(&B1, n * spt, 12, false, 1);
	tm_vinit(&B2, n * spt, 12, false, 1);
	CHECK(!bcv_tm_next_copy(&S, 0, 100, &c), "all valid: no run");
	CHECK(establish(&S, &B1) == 0 && mm(&S, &B1) == 2, "B1 at M3");
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && run_is(&c, 0, n, 0, 4),
	      "one run over the volume, M1 -> M3");
	CHECK(bcv_tm_next_copy(&S, 0, 16, &c) && run_is(&c, 0, 16, 0, 4), "capped at max 16");
	CHECK(bcv_tm_next_copy(&S, 5, 16, &c) && run_is(&c, 5, 16, 0, 4), "from 5, max 16");
	CHECK(bcv_tm_next_copy(&S, 63, 2, &c) && run_is(&c, 63, 2, 0, 4), "across word 63/64");
	CHECK(bcv_tm_next_copy(&S, 190, 16, &c) && run_is(&c, 190, 10, 0, 4), "capped by the end");
	CHECK(!bcv_tm_next_copy(&S, n, 16, &c) && !bcv_tm_next_copy(&S, n + 70, 16, &c),
	      "nothing from the end on");
	CHECK(!bcv_tm_next_copy(&S, 0, 0, &c), "max 0: nothing");

	copy_run(&S, 50, 10);			/* tracks 50..59 V on M3 */
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && run_is(&c, 0, 50, 0, 4),
	      "run stops where the destination becomes V");
	CHECK(bcv_tm_next_copy(&S, 50, 1000, &c) && run_is(&c, 60, 140, 0, 4),
	      "from 50: the next run starts at 60");

	CHECK(establish(&S, &B2) == 0 && mm(&S, &B2) == 3, "B2 at M4");
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && run_is(&c, 0, 50, 0, 0xc),
	      "0..49: M1 -> M3+M4");
	CHECK(bcv_tm_next_copy(&S, 50, 1000, &c) && run_is(&c, 50, 10, 0, 0x8),
	      "50..59: M1 -> M4 only");
	CHECK(bcv_tm_next_copy(&S, 55, 1000, &c) && run_is(&c, 55, 5, 0, 0x8),
	      "from the middle of a run");
	CHECK(bcv_tm_next_copy(&S, 60, 1000, &c) && run_is(&c, 60, 140, 0, 0xc),
	      "60..199: M1 -> M3+M4");

	/* The primary fails on 100..104: the source becomes M2 there. */
	bcv_tm_leg_error(&S, 0, 100 * spt, 5 * spt);
	CHECK(bcv_tm_next_copy(&S, 60, 1000, &c) && run_is(&c, 60, 40, 0, 0xc),
	      "run stops where the source M1 becomes I");
	CHECK(bcv_tm_next_copy(&S, 100, 1000, &c) && run_is(&c, 100, 5, 1, 0xd),
	      "100..104: M2 -> M1+M3+M4");
	CHECK(bcv_tm_next_copy(&S, 105, 1000, &c) && run_is(&c, 105, 95, 0, 0xc),
	      "105..: M1 again");
	/*
	 * M2 fails on 102 too: it is the track's last valid position, so it
	 * stays V (the last valid copy is never marked away).
	 */
	CHECK(bcv_tm_mark_stale(&S, 1, 102 * spt + 3, 1) == 1,
	      "M2 is kept for track 102, its last valid position");
	CHECK(bcv_tm_next_copy(&S, 100, 1000, &c) && run_is(&c, 100, 5, 1, 0xd),
	      "100..104: still M2 -> M1+M3+M4");
	/* Unless a position is avoided: then track 102 has no source. */
	CHECK(bcv_tm_next_copy_avoid(&S, 100, 1000, 1U << 1, &c) &&
	      run_is(&c, 105, 95, 0, 0xc),
	      "M2 avoided: 100..104 have no source, 105.. from M1");
	CHECK(bcv_tm_next_copy_avoid(&S, 0, 1000, 1U << 3, &c) &&
	      run_is(&c, 0, 50, 0, 0x4), "M4 avoided: 0..49 M1 -> M3 only");
	/* The leg M2 valid elsewhere: V at 50..59 on M3 is a non-destination. */
	CHECK(bcv_tm_read_pos(&S, 100 * spt, spt) == 1, "reads of track 100 from M2");
	CHECK(bcv_tm_read_pos(&S, 102 * spt, spt) == 1, "track 102 still reads from M2");

	/* Restore: the source is the restoring BCV's MM. */
	tm_vinit(&R, 20 * spt, 12, true, 1);
	tm_vinit(&RB, 20 * spt, 12, false, 1);
	tm_vinit(&RB2, 20 * spt, 12, false, 1);
	establish(&R, &RB);
	tm_copy_all(&R, 64);
	split(&R, &RB, false);
	establish(&R, &RB2);
	tm_copy_all(&R, 64);
	bcv_tm_write(&RB, 5 * spt, 3 * spt, 1);
	bcv_tm_write(&R, 12 * spt + 1, 1, std_written(&R));
	CHECK(restore(&R, &RB, true) == 0 && mm(&R, &RB) == 2, "INCR RESTORE, RB at M3");
	CHECK(bcv_tm_next_copy(&R, 0, 100, &c) && run_is(&c, 5, 3, 2, 0x3),
	      "restore run 5..7: M3 -> M1+M2");
	CHECK(bcv_tm_next_copy(&R, 8, 100, &c) && run_is(&c, 12, 1, 2, 0x3),
	      "restore run 12: M3 -> M1+M2");
	CHECK(bcv_tm_read_pos(&R, 5 * spt, 3 * spt) == 2 &&
	      bcv_tm_read_pos(&R, 0, 5 * spt) == 0 && bcv_tm_read_pos(&R, 0, 6 * spt) == 2,
	      "reads: restored tracks from M3, others from M1");
	tm_copy_all(&R, 2);
	CHECK(state(&R, &RB) == BCV_RESTORED && state(&R, &RB2) == BCV_SYNCHRONIZED,
	      "restored, RB2 synchronized again");

	/* A split BCV's fixed mirrors: runs split where a write made them V. */
	tm_vinit(&V, 40 * spt, 12, false, 3);
	establish(&R, &V);
	CHECK(!bcv_tm_next_copy(&V, 0, 100, &c), "attached BCV: no run");
	tm_copy_all(&R, 64);
	split(&R, &V, false);
	CHECK(bcv_tm_next_copy(&V, 0, 100, &c) && run_is(&c, 0, 20, 0, 0x6),
	      "BCV after a full split: M1 -> M2+M3 over the 20 tracks of the STD");
	bcv_tm_write(&V, 10 * spt, spt, 7);
	bcv_tm_leg_error(&V, 2, 30 * spt, 1);	/* M3 already I: no change */
	CHECK(bcv_tm_next_copy(&V, 0, 100, &c) && run_is(&c, 0, 10, 0, 0x6),
	      "0..9 then a track written whole");
	CHECK(bcv_tm_next_copy(&V, 10, 100, &c) && run_is(&c, 11, 9, 0, 0x6), "11..19");

	tm_vfree(&S);
	tm_vfree(&B1);
	tm_vfree(&B2);
	tm_vfree(&R);
	tm_vfree(&RB);
	tm_vfree(&RB2);
	tm_vfree(&V);
}

/*
 * bcv_tm_next_copy_range(): the copy engine's bounded stretches.  A scan in
 * stretches of any size finds the run an unbounded scan finds; a stretch
 * finds nothing past its end; tracks that no position holds are never a
 * run, however many there are.
 */
static void test_range(void)
{
	const u64 spt = 8, n = 1000;
	struct bcv_tm_vol S, B;
	struct bcv_tm_copy c, r;
	u64 from, k, t;
	bool same = true;

	tm_vinit(&S, n * spt, 12, true, 2);	/* legs at M1, M2 */
	tm_vinit(&B, n * spt, 12, false, 1);
	CHECK(establish(&S, &B) == 0 && mm(&S, &B) == 2, "range: B at M3");
	CHECK(bcv_tm_next_copy_range(&S, 0, 10, 1000, 0, &c) &&
	      run_is(&c, 0, n, 0, 4), "range: the run starts in the stretch, goes past it");
	CHECK(!bcv_tm_next_copy_range(&S, 100, 100, 16, 0, &c), "range: empty stretch");
	CHECK(!bcv_tm_next_copy_range(&S, 200, 150, 16, 0, &c), "range: until before from");
	CHECK(bcv_tm_next_copy_range(&S, 999, 5000, 16, 0, &c) &&
	      run_is(&c, 999, 1, 0, 4), "range: until clipped to the volume");
	CHECK(!bcv_tm_next_copy_range(&S, n, n + 64, 16, 0, &c), "range: past the end");

	/*
	 * Tracks 300..699 held by no position: M2 stale, M1 I there too (as
	 * tables read from a disk may say; bcv_tm_mark_stale() would keep M1
	 * as their last valid copy).
	 */
	bcv_tm_leg_stale(&S, 1);
	for (t = 300; t < 700; t++)
		S.inv[0][t / 64] |= 1UL << (t % 64);
	CHECK(bcv_tm_next_copy_range(&S, 250, 1000, 1000, 0, &c) &&
	      run_is(&c, 250, 50, 0, 0x6), "range: 250..299 M1 -> M2+M3");
	CHECK(!bcv_tm_next_copy_range(&S, 300, 700, 16, 0, &c),
	      "range: 300..699 have no source: no run");
	CHECK(bcv_tm_next_copy_range(&S, 300, 701, 16, 0, &c) &&
	      run_is(&c, 700, 16, 0, 0x6), "range: 700 is the first run after them");
	CHECK(bcv_tm_next_copy_avoid(&S, 300, 16, 0, &c) && run_is(&c, 700, 16, 0, 0x6),
	      "avoid: the same over the whole table");
	/* One of them written whole on M1: a run of one track. */
	bcv_tm_write(&S, 517 * spt, spt, 1);
	CHECK(bcv_tm_next_copy_range(&S, 300, 700, 16, 0, &c) &&
	      run_is(&c, 517, 1, 0, 0x6), "range: 517, written on M1, is a run");

	/* Every stretch size and start: the first run is the unbounded one. */
	for (k = 1; k <= 130 && same; k++) {
		for (from = 0; from < n && same; from += 37) {
			bool got = false, want;

			want = bcv_tm_next_copy_avoid(&S, from, 16, 0, &c);
			for (t = from; t < n && !got; t += k)
				got = bcv_tm_next_copy_range(&S, t, t + k, 16, 0, &r);
			if (got != want || (got && !run_is(&r, c.start, c.len, c.src, c.dst))) {
				printf("# stretches of %llu from %llu differ\n",
				       (unsigned long long)k, (unsigned long long)from);
				same = false;
			}
		}
	}
	CHECK(same, "range: stretches of 1..130 tracks find the unbounded scan's runs");

	/* No position holds anything: nothing to copy, in stretches or not. */
	bcv_tm_leg_stale(&S, 0);
	CHECK(!bcv_tm_next_copy_avoid(&S, 0, 16, 0, &c) &&
	      !bcv_tm_next_copy_range(&S, 0, n, 16, 0, &c),
	      "range: every position I: no run");
	tm_vfree(&S);
	tm_vfree(&B);
}

/* ------------------------------------------------------------------ */

#define CT_TRACKS	256
#define CT_SPT		8ULL
#define CT_ROUND	200

struct writer {
	pthread_t th;
	u64 rng, lo, hi;		/* tracks [lo, hi) */
	unsigned int rounds, written;
	bool marked[CT_TRACKS], whole[CT_TRACKS];
};

static struct bcv_tm_vol CS;

/*
 * Rounds start on a spinning flag, not a pthread barrier, so that both
 * threads really write at the same time (a barrier's wake-ups are tens of
 * microseconds apart, longer than a round).
 */
static unsigned int go, finished;

static void wait_for(unsigned int *v, unsigned int want)
{
	unsigned int spins = 0;

	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) != want)
		if (++spins % 1024 == 0)
			sched_yield();	/* valgrind runs one thread at a time */
}

static u64 xs(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *writer(void *arg)
{
	struct writer *w = arg;
	unsigned int r, i;

	for (r = 0; r < w->rounds; r++) {
		wait_for(&go, r + 1);		/* tables reset */
		for (i = 0; i < CT_ROUND; i++) {
			u64 t = w->lo + xs(&w->rng) % (w->hi - w->lo), k = xs(&w->rng) % 3;
			u64 sec = t * CT_SPT, n, e;
			bool part = xs(&w->rng) % 2;

			if (t + k >= w->hi)
				k = w->hi - 1 - t;
			n = (k + 1) * CT_SPT;
			if (part) {		/* shave a sector off one end */
				if (xs(&w->rng) % 2)
					sec++;
				n--;
			}
			bcv_tm_write(&CS, sec, n, w->written);
			for (e = t; e <= t + k; e++) {
				w->marked[e] = true;
				if (!part || (e != t && e != t + k))
					w->whole[e] = true;
				else if (sec <= e * CT_SPT && sec + n >= (e + 1) * CT_SPT)
					w->whole[e] = true;
			}
		}
		__atomic_fetch_add(&finished, 1, __ATOMIC_ACQ_REL);
	}
	return NULL;
}

static void test_concurrent(u64 writes)
{
	struct bcv_tm_vol B[6];
	struct writer w[2];
	unsigned long *pb0, *mm0;
	size_t pbsz, bmsz;
	unsigned int r, i, rounds = (unsigned int)(writes / CT_ROUND);
	unsigned long alloc;
	u64 t, bad_pb = 0, bad_mm = 0, bad_other = 0, marked_rows = 0;
	int m;

	if (!rounds)
		rounds = 1;
	tm_vinit(&CS, CT_TRACKS * CT_SPT, 12, true, 1);
	for (i = 0; i < 6; i++)
		tm_vinit(&B[i], CT_TRACKS * CT_SPT, 12, false, 1);
	for (i = 0; i < 5; i++) {
		establish(&CS, &B[i]);
		tm_copy_all(&CS, 64);
		split(&CS, &B[i], false);
	}
	establish(&CS, &B[5]);		/* attached, MM all I, column 5 all C */
	m = mm(&CS, &B[5]);
	alloc = CS.alloc;
	pbsz = (CT_TRACKS * 16 / 64) * sizeof(long);
	bmsz = (CT_TRACKS / 64) * sizeof(long);
	pb0 = malloc(pbsz);
	mm0 = malloc(bmsz);
	memcpy(pb0, CS.pb, pbsz);
	memcpy(mm0, CS.inv[m], bmsz);

	/* Thread 0: tracks 0..159, thread 1: 96..255; both 96..159. */
	memset(w, 0, sizeof(w));
	w[0].lo = 0;
	w[0].hi = 160;
	w[1].lo = 96;
	w[1].hi = CT_TRACKS;
	for (i = 0; i < 2; i++) {
		w[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		w[i].rounds = rounds;
		w[i].written = 1U | 1U << m;
		pthread_create(&w[i].th, NULL, writer, &w[i]);
	}
	for (r = 0; r < rounds; r++) {
		memcpy(CS.pb, pb0, pbsz);
		memcpy(CS.inv[m], mm0, bmsz);
		for (i = 0; i < 2; i++) {
			memset(w[i].marked, 0, sizeof(w[i].marked));
			memset(w[i].whole, 0, sizeof(w[i].whole));
		}
		__atomic_store_n(&go, r + 1, __ATOMIC_RELEASE);
		wait_for(&finished, 2 * (r + 1));
		for (t = 0; t < CT_TRACKS; t++) {
			unsigned long row = CS.pb[t / 4] >> (t % 4 * 16) & 0xffff;
			unsigned long row0 = pb0[t / 4] >> (t % 4 * 16) & 0xffff;
			bool mk = w[0].marked[t] || w[1].marked[t];
			bool wh = w[0].whole[t] || w[1].whole[t];

			marked_rows += mk;
			if (row != (mk ? row0 | alloc : row0))
				bad_pb++;
			if (bcv_tm_invalid(&CS, m, t) == wh)
				bad_mm++;
			if (bcv_tm_invalid(&CS, 0, t) || test_bit(t, CS.copying))
				bad_other++;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
	CHECK(bad_pb == 0, "2 threads, %u rounds of %u writes each: every marked row "
	      "has every allocated column C, no other row changed (%llu bad of %llu marked)",
	      rounds, CT_ROUND, (unsigned long long)bad_pb, (unsigned long long)marked_rows);
	CHECK(bad_mm == 0, "  ... MM V exactly on the tracks written whole (%llu bad)",
	      (unsigned long long)bad_mm);
	CHECK(bad_other == 0, "  ... M1 still all V, nothing left marked copying");
	CHECK(CS.alloc == alloc && bcv_tm_count_invalid(&B[0], BCV_M4B) == 0,
	      "  ... nothing else changed");
	free(pb0);
	free(mm0);
	tm_vfree(&CS);
	for (i = 0; i < 6; i++)
		tm_vfree(&B[i]);
}

int main(int argc, char **argv)
{
	u64 writes = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000;

	test_one_track();
	test_partial_last();
	test_boundaries();
	test_sixteen();
	test_bigger_bcv();
	test_runs();
	test_range();
	test_concurrent(writes);
	return tm_done();
}
