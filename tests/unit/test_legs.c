// SPDX-License-Identifier: GPL-2.0
/*
 * Fixed mirror legs in the tables: adding and removing legs, what each is
 * refused for, reads avoiding a position, and a BCV's stale primary leg
 * copied on REESTABLISH.
 */
#include <string.h>
#include "tm_test.h"

#define TS_SHIFT	16			/* 64 KiB tracks */
#define SECT(t)		((u64)(t) << (TS_SHIFT - 9))
#define NT		100

static const struct bcv_tm_cmd none;

static void vinit(struct bcv_tm_vol *v, bool std, unsigned int legs)
{
	tm_vinit(v, SECT(NT), TS_SHIFT, std, legs);
}

static u64 ninv(const struct bcv_tm_vol *v, int p)
{
	return bcv_tm_count_invalid(v, p);
}

/* A snapshot of the tables that leg changes may touch. */
struct snap {
	unsigned int nr_legs;
	u8 role[BCV_POSITIONS];
	u64 inv[BCV_POSITIONS];
};

static void take(const struct bcv_tm_vol *v, struct snap *s)
{
	unsigned int p;

	memset(s, 0, sizeof(*s));
	s->nr_legs = v->nr_legs;
	for (p = 0; p < BCV_POSITIONS; p++) {
		s->role[p] = v->role[p];
		s->inv[p] = v->role[p] == BCV_POS_NONE ? 0 : ninv(v, p);
	}
}

static bool same(const struct bcv_tm_vol *v, const struct snap *a)
{
	struct snap b;

	take(v, &b);
	return !memcmp(a, &b, sizeof(b));
}

static void test_add_remove_std(void)
{
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s = malloc(sizeof(*s));
	struct snap sn;
	u64 n;

	vinit(&std, true, 1);
	vinit(&bcv, false, 1);

	CHECK(bcv_tm_leg_remove(&std, 0) == -EBUSY, "the only leg cannot go");
	CHECK(bcv_tm_leg_add(&std) == 1, "a second leg takes M2");
	CHECK(std.nr_legs == 2 && std.role[1] == BCV_POS_LEG, "two legs");
	CHECK(ninv(&std, 1) == NT && ninv(&std, 0) == 0,
	      "the new leg is I everywhere, the primary V");
	CHECK(bcv_tm_read_pos(&std, 0, SECT(NT)) == 0, "reads come from M1");
	take(&std, &sn);
	CHECK(bcv_tm_leg_remove(&std, 0) == -EBUSY && same(&std, &sn),
	      "M1 cannot go while M2 is not synced");
	n = tm_copy_all(&std, 16);
	CHECK(n == NT && ninv(&std, 1) == 0, "the copy engine syncs M2 (%llu)",
	      (unsigned long long)n);
	CHECK(bcv_tm_read_pos_avoid(&std, 0, SECT(NT), 1U << 0) == 1,
	      "a read avoiding M1 comes from M2");
	CHECK(bcv_tm_read_pos_avoid(&std, 0, SECT(NT), 3U) == BCV_NO_POS,
	      "a read avoiding both legs has nowhere to go");

	/* A write failed on M2 for tracks 10-11: M1 still holds everything. */
	bcv_tm_leg_error(&std, 1, SECT(10), SECT(2));
	CHECK(ninv(&std, 1) == 2, "a failed write marks M2 I for 2 tracks");
	CHECK(bcv_tm_read_pos(&std, SECT(10), SECT(1)) == 0 &&
	      bcv_tm_read_pos_avoid(&std, SECT(10), SECT(1), 1) == BCV_NO_POS,
	      "track 10 reads from M1 only");
	/* And on M1 for track 50: M1 and M2 each hold what the other lacks. */
	bcv_tm_leg_error(&std, 0, SECT(50), SECT(1));
	take(&std, &sn);
	CHECK(bcv_tm_leg_remove(&std, 0) == -EBUSY && same(&std, &sn),
	      "M1 alone holds tracks 10-11: it cannot go");
	CHECK(bcv_tm_leg_remove(&std, 1) == -EBUSY && same(&std, &sn),
	      "M2 alone holds track 50: it cannot go");
	n = tm_copy_all(&std, 16);
	CHECK(n == 3 && !ninv(&std, 0) && !ninv(&std, 1),
	      "the engine repairs both legs (3 tracks, copied %llu)",
	      (unsigned long long)n);

	CHECK(bcv_tm_leg_add(&std) == 2, "a third leg takes M3");
	CHECK(bcv_tm_leg_add(&std) == -ENOSPC, "no fourth leg");
	tm_copy_all(&std, 16);

	/* A BCV attached at M4: the legs change around it, it stays put. */
	CHECK(bcv_tm_establish(&std, &bcv, &none, &s) == 0 && s == NULL,
	      "establish with three legs");
	CHECK(std.sess[0]->mm == 3, "the BCV takes the one free position, M4");
	CHECK(ninv(&std, 3) == bcv.tracks, "M4 still wants every track");
	std.failed |= 1U << 3;
	CHECK(bcv_tm_leg_remove(&std, 1) == 0,
	      "M2 goes while a BCV is attached at M4");
	CHECK(std.nr_legs == 2 && std.role[2] == BCV_POS_NONE &&
	      std.role[1] == BCV_POS_LEG && std.role[3] == BCV_POS_MM &&
	      std.sess[0]->mm == 3 && std.mm_sess[3] == std.sess[0],
	      "M3 moved down to M2, the MM stayed at M4");
	CHECK(std.failed == 1U << 3,
	      "M4's absent bit stays with M4, none strays to M3 (failed %x)",
	      std.failed);
	CHECK(ninv(&std, 3) == bcv.tracks && ninv(&std, 0) == 0 &&
	      ninv(&std, 1) == 0, "no table changed but the legs' order");
	std.failed = 0;
	tm_copy_all(&std, 16);
	CHECK(ninv(&std, 3) == 0, "M4 caught up");
	CHECK(bcv_tm_split(&std, &bcv, &none) == 0, "split");
	CHECK(bcv_tm_leg_remove(&std, 0) == 0 && std.nr_legs == 1,
	      "the primary goes while the other leg is whole");
	CHECK(bcv_tm_leg_remove(&std, 0) == -EBUSY, "the last leg stays");

	tm_vfree(&std);
	tm_vfree(&bcv);
}

static void test_bcv_legs(void)
{
	struct bcv_tm_vol std, bcv;
	struct bcv_tm_sess *s = malloc(sizeof(*s));
	struct bcv_tm_cmd diff = { .diff = true };
	struct snap sn;
	u64 n;

	vinit(&std, true, 1);
	vinit(&bcv, false, 1);
	CHECK(bcv_tm_leg_add(&bcv) == 1, "a BCV gets a fixed mirror (BFM) at M2");
	CHECK(bcv.role[BCV_M4B] == BCV_POS_M4B, "M4 stays M4b");
	CHECK(bcv_tm_leg_add(&bcv) == 2, "a second BFM at M3");
	CHECK(bcv_tm_leg_add(&bcv) == -ENOSPC, "M4b is never a leg");
	tm_copy_all(&bcv, 16);
	CHECK(!ninv(&bcv, 1) && !ninv(&bcv, 2), "BFMs synced from the primary");
	CHECK(bcv_tm_leg_remove(&bcv, 2) == 0, "drop M3");

	CHECK(bcv_tm_establish(&std, &bcv, &none, &s) == 0, "establish");
	take(&bcv, &sn);
	CHECK(bcv_tm_leg_add(&bcv) == -EBUSY && same(&bcv, &sn),
	      "no leg added to an attached BCV");
	CHECK(bcv_tm_leg_remove(&bcv, 1) == -EBUSY && same(&bcv, &sn),
	      "no leg removed from an attached BCV");
	n = tm_copy_all(&bcv, 16);
	CHECK(n == 0, "an attached BCV's engine copies nothing");
	tm_copy_all(&std, 16);
	CHECK(bcv_tm_split(&std, &bcv, &none) == 0 && ninv(&bcv, 1) == NT,
	      "full split: the BFM is I everywhere");
	n = tm_copy_all(&bcv, 16);
	CHECK(n == NT && !ninv(&bcv, 1), "the BFM is synced: %llu tracks",
	      (unsigned long long)n);

	/* Differential: only the tracks the STD changed. */
	CHECK(bcv_tm_reestablish(&std, &bcv, &none) == 0, "reestablish");
	bcv_tm_write(&std, SECT(7), SECT(3), 0);
	tm_copy_all(&std, 16);
	CHECK(bcv_tm_split(&std, &bcv, &diff) == 0 && ninv(&bcv, 1) == 3,
	      "differential split: the BFM is I on the 3 changed tracks (%llu)",
	      (unsigned long long)ninv(&bcv, 1));

	/* The primary cannot go while the BFM is stale. */
	take(&bcv, &sn);
	CHECK(bcv_tm_leg_remove(&bcv, 0) == -EBUSY && same(&bcv, &sn),
	      "a BCV's primary stays while its BFM is not whole");
	tm_copy_all(&bcv, 16);

	/* A stale primary leg: REESTABLISH copies those tracks too. */
	bcv_tm_leg_error(&bcv, 0, SECT(40), SECT(1));
	CHECK(bcv_tm_read_pos(&bcv, SECT(40), SECT(1)) == 1,
	      "track 40 of the BCV reads from its BFM");
	CHECK(bcv_tm_reestablish(&std, &bcv, &none) == 0, "reestablish");
	CHECK(ninv(&std, std.sess[0]->mm) == 1 &&
	      bcv_tm_invalid(&std, std.sess[0]->mm, 40),
	      "exactly track 40 is copied (its primary copy was stale)");

	tm_vfree(&std);
	tm_vfree(&bcv);
}

int main(void)
{
	test_add_remove_std();
	test_bcv_legs();
	return tm_done();
}
