// SPDX-License-Identifier: GPL-2.0
/*
 * bcv-design.rst section 7 (the patent's FIG. 10) replayed event by event on the
 * tables, asserting every bit bcv-design.rst section 7 lists for track t.
 *
 * S: STD with one leg (M1).  B1: BCV, session 1 (PB column 0).  B2: BCV
 * with a fixed mirror leg (BFM at M2), session 2 (PB column 1).
 */
#include "tm_test.h"

#define SHIFT	16			/* 64 KiB tracks */
#define TRACKS	40ULL
#define SECT	(TRACKS << (SHIFT - 9))
#define T	17ULL			/* the track; cylinder 1 */
#define TS	(T << (SHIFT - 9))	/* its first sector */
#define TLEN	(1ULL << (SHIFT - 9))	/* sectors per track */

static struct bcv_tm_vol S, B1, B2;

static void write_track(struct bcv_tm_vol *v, unsigned int written)
{
	bcv_tm_write(v, TS + 8, 8, written);	/* a partial write */
}

static unsigned int std_written(void)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] != BCV_POS_NONE)
			m |= 1U << p;
	return m;
}

int main(void)
{
	struct bcv_tm_cmd cmd = { 0 };
	struct bcv_tm_sess *spare, *s1, *s2;
	struct bcv_tm_copy c;
	int mm1, mm2;

	if (bcv_tm_vol_init(&S, SECT, SHIFT, true, 1) ||
	    bcv_tm_vol_init(&B1, SECT, SHIFT, false, 1) ||
	    bcv_tm_vol_init(&B2, SECT, SHIFT, false, 2))
		return 2;

	/* 230 write S: no session yet, no PB bit to mark. */
	write_track(&S, 1);
	CHECK(S.pb[T / 4] == 0 && bcv_tm_count_changed(&S, 0) == 0,
	      "230 write S: no PB bit");
	/* 231 write B1: B1.M4b = I. */
	write_track(&B1, 1);
	CHECK(bcv_tm_invalid(&B1, BCV_M4B, T), "231 write B1: B1.M4b(t) = I");
	CHECK(bcv_tm_count_invalid(&B1, BCV_M4B) == 1, "231: only t");
	/* 232 write B2: M4b = I, primary and BFM both written and V. */
	write_track(&B2, 3);
	CHECK(bcv_tm_invalid(&B2, BCV_M4B, T), "232 write B2: B2.M4b(t) = I");
	CHECK(!bcv_tm_invalid(&B2, 0, T) && !bcv_tm_invalid(&B2, 1, T),
	      "232: B2 primary and BFM V");

	/* 233 ESTABLISH S,B1: session 1, PB1 = C, MM(B1) = I, V after copy. */
	spare = calloc(1, sizeof(*spare));
	CHECK(bcv_tm_establish(&S, &B1, &cmd, &spare) == 0, "233 ESTABLISH S,B1");
	s1 = bcv_tm_session(&S, &B1);
	mm1 = s1->mm;
	CHECK(s1->id == 0 && mm1 == 1, "233: session 1 is column 0, MM at M2");
	CHECK(bcv_tm_pb_changed(&S, T, 0), "233: PB1(t) = C");
	CHECK(bcv_tm_invalid(&S, mm1, T), "233: MM(B1)(t) = I");
	CHECK(s1->state == BCV_SYNCINPROG, "233: syncinprog");
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && c.src == 0 &&
	      c.dst == 1U << mm1 && c.start == 0 && c.len == TRACKS,
	      "233: one run S.M1 -> MM(B1) over all tracks");
	CHECK(tm_copy_all(&S, 16) == TRACKS, "233: every track copied");
	CHECK(!bcv_tm_invalid(&S, mm1, T) && s1->state == BCV_SYNCHRONIZED,
	      "233: MM(B1)(t) = V, synchronized");

	/* 234 FULL SPLIT S,B1: B1.M4b = V, PB1 = U. */
	CHECK(bcv_tm_split(&S, &B1, &cmd) == 0, "234 FULL SPLIT S,B1");
	CHECK(!bcv_tm_invalid(&B1, BCV_M4B, T), "234: B1.M4b(t) = V");
	CHECK(!bcv_tm_pb_changed(&S, T, 0), "234: PB1(t) = U");
	CHECK(s1->state == BCV_SPLIT && S.role[mm1] == BCV_POS_NONE,
	      "234: split, MM position free");

	/* 235 write S: PB1 = C. */
	write_track(&S, std_written());
	CHECK(bcv_tm_pb_changed(&S, T, 0), "235 write S: PB1(t) = C");
	CHECK(bcv_tm_count_changed(&S, 0) == 1, "235: only t changed");

	/* 236 ESTABLISH S,B2: session 2, PB2 = C, MM(B2) = I then V. */
	spare = calloc(1, sizeof(*spare));
	CHECK(bcv_tm_establish(&S, &B2, &cmd, &spare) == 0, "236 ESTABLISH S,B2");
	s2 = bcv_tm_session(&S, &B2);
	mm2 = s2->mm;
	CHECK(s2->id == 1, "236: session 2 is column 1");
	CHECK(bcv_tm_pb_changed(&S, T, 1), "236: PB2(t) = C");
	CHECK(bcv_tm_invalid(&S, mm2, T), "236: MM(B2)(t) = I");
	CHECK(bcv_tm_pb_changed(&S, T, 0), "236: PB1(t) still C");
	tm_copy_all(&S, 16);
	CHECK(!bcv_tm_invalid(&S, mm2, T) && s2->state == BCV_SYNCHRONIZED,
	      "236: MM(B2)(t) = V after copy");

	/* 237 FULL SPLIT S,B2: M4b = V, BFM = I then V once synced, PB2 = U. */
	CHECK(bcv_tm_split(&S, &B2, &cmd) == 0, "237 FULL SPLIT S,B2");
	CHECK(!bcv_tm_invalid(&B2, BCV_M4B, T), "237: B2.M4b(t) = V");
	CHECK(bcv_tm_invalid(&B2, 1, T), "237: B2.BFM(t) = I");
	CHECK(bcv_tm_count_invalid(&B2, 1) == TRACKS, "237: full split: every BFM track I");
	CHECK(!bcv_tm_pb_changed(&S, T, 1), "237: PB2(t) = U");
	CHECK(bcv_tm_next_copy(&B2, 0, 1000, &c) && c.src == 0 && c.dst == 2,
	      "237: BFM synced from B2's primary");
	CHECK(tm_copy_all(&B2, 16) == TRACKS && !bcv_tm_invalid(&B2, 1, T),
	      "237: B2.BFM(t) = V once synced");

	/* 240 write S: PB1 = C, PB2 = C. */
	write_track(&S, std_written());
	CHECK(bcv_tm_pb_changed(&S, T, 0) && bcv_tm_pb_changed(&S, T, 1),
	      "240 write S: PB1(t) = C, PB2(t) = C");

	/* 241 REESTABLISH S,B1: MM(B1) = I (PB1 = C), copied, V. */
	CHECK(bcv_tm_reestablish(&S, &B1, &cmd) == 0, "241 REESTABLISH S,B1");
	mm1 = s1->mm;
	CHECK(bcv_tm_invalid(&S, mm1, T), "241: MM(B1)(t) = I");
	CHECK(bcv_tm_count_invalid(&S, mm1) == 1, "241: only t to copy");
	CHECK(tm_copy_all(&S, 16) == 1 && !bcv_tm_invalid(&S, mm1, T),
	      "241: t copied, MM(B1)(t) = V");
	CHECK(s1->state == BCV_SYNCHRONIZED, "241: synchronized");

	/* 242 INCR RESTORE S,B2: t in R. */
	CHECK(bcv_tm_restore(&S, &B2, &(struct bcv_tm_cmd){ .incremental = true }) == 0,
	      "242 INCR RESTORE S,B2");
	mm2 = s2->mm;
	CHECK(bcv_tm_invalid(&S, 0, T), "242: S own leg(t) = I");
	CHECK(bcv_tm_invalid(&S, mm1, T), "242: MM(B1)(t) = I");
	CHECK(bcv_tm_pb_changed(&S, T, 0), "242: PB1(t) = C");
	CHECK(!bcv_tm_pb_changed(&S, T, 1), "242: PB2(t) = U");
	CHECK(!bcv_tm_invalid(&S, mm2, T) && bcv_tm_count_invalid(&S, mm2) == 0,
	      "242: MM(B2) all V");
	CHECK(bcv_tm_count_invalid(&S, 0) == 1, "242: R = {t}");
	CHECK(s2->state == BCV_RESTINPROG && s1->state == BCV_SYNCINPROG,
	      "242: restinprog; B1 back to syncinprog");
	CHECK(bcv_tm_read_pos(&S, TS, TLEN) == mm2, "242: reads of t come from B2");
	CHECK(bcv_tm_next_copy(&S, 0, 1000, &c) && c.start == T && c.len == 1 &&
	      c.src == mm2 && c.dst == (1U | 1U << mm1),
	      "242: t copied from B2 to S and B1 at once");
	tm_copy_all(&S, 16);
	CHECK(!bcv_tm_invalid(&S, 0, T) && !bcv_tm_invalid(&S, mm1, T),
	      "242: copied: S and MM(B1) V");
	CHECK(s2->state == BCV_RESTORED && s1->state == BCV_SYNCHRONIZED,
	      "242: restored; B1 synchronized");

	/* 243 write S: PB1 = C, PB2 = C, data to S, B1 and B2. */
	write_track(&S, std_written());
	CHECK(bcv_tm_pb_changed(&S, T, 0) && bcv_tm_pb_changed(&S, T, 1),
	      "243 write S: PB1(t) = C, PB2(t) = C");
	CHECK(std_written() == (1U | 1U << mm1 | 1U << mm2),
	      "243: data goes to S, B1 and B2");

	/* 244 DIFF SPLIT S,B2: M4b = V; PB2(t) was C so BFM = I; PB2 = U. */
	CHECK(bcv_tm_split(&S, &B2, &(struct bcv_tm_cmd){ .diff = true }) == 0,
	      "244 DIFF SPLIT S,B2");
	CHECK(!bcv_tm_invalid(&B2, BCV_M4B, T), "244: B2.M4b(t) = V");
	CHECK(bcv_tm_invalid(&B2, 1, T), "244: B2.BFM(t) = I");
	CHECK(bcv_tm_count_invalid(&B2, 1) == 1, "244: only PB-changed tracks");
	CHECK(!bcv_tm_pb_changed(&S, T, 1), "244: PB2(t) = U");
	CHECK(bcv_tm_pb_changed(&S, T, 0), "244: PB1(t) still C");

	bcv_tm_vol_free(&S);
	bcv_tm_vol_free(&B1);
	bcv_tm_vol_free(&B2);
	free(s1);
	free(s2);
	return tm_done();
}
