// SPDX-License-Identifier: GPL-2.0
/*
 * bcv-design.rst section 4: every precondition of every command is refused with its
 * errno and changes nothing.  Before each refused call the whole state of
 * every volume (its struct, all four Track ID bitmaps, the copy-in-flight
 * bitmap, the PB table) and of every session is copied; afterwards it must
 * be identical byte for byte.  The accepted counterparts (the 16th session,
 * a forced restore, a column reused after TERMINATE) are checked too.
 */
#include <string.h>
#include "tm_test.h"

#define SHIFT	12			/* 4 KiB tracks: 8 sectors */
#define SPT	(1ULL << (SHIFT - 9))
#define TRACKS	100ULL
#define SECT	(TRACKS * SPT - 3)	/* the last track is partial */

/* ---- the world: every volume of a scenario, snapshotted as a whole ---- */

#define MAXV	24
static struct bcv_tm_vol *world[MAXV];
static int nworld;

static struct bcv_tm_vol *mk(u64 sectors, unsigned int shift, bool std,
			     unsigned int legs)
{
	struct bcv_tm_vol *v = calloc(1, sizeof(*v));

	if (!v || nworld == MAXV || bcv_tm_vol_init(v, sectors, shift, std, legs)) {
		printf("Bail out! cannot allocate a volume\n");
		exit(2);
	}
	world[nworld++] = v;
	return v;
}

static void world_free(void)
{
	int i, c;

	for (i = 0; i < nworld; i++)
		if (world[i]->is_std)
			for (c = 0; c < BCV_SESSIONS; c++)
				free(world[i]->sess[c]);
	for (i = 0; i < nworld; i++) {
		bcv_tm_vol_free(world[i]);
		free(world[i]);
	}
	nworld = 0;
}

static size_t map_bytes(u64 nbits)
{
	return (BITS_TO_LONGS(nbits) ? BITS_TO_LONGS(nbits) : 1) * sizeof(long);
}

struct snap {
	struct bcv_tm_vol vol[MAXV];
	unsigned char *maps[MAXV][BCV_POSITIONS + 2];
	struct bcv_tm_sess *sp[MAXV * BCV_SESSIONS];
	struct bcv_tm_sess sess[MAXV * BCV_SESSIONS];
	int nsess;
};

static struct snap before;

static unsigned char *dup_map(const unsigned long *m, size_t n)
{
	unsigned char *d = malloc(n);

	if (!d)
		exit(2);
	memcpy(d, m, n);
	return d;
}

static void snap_take(struct snap *s)
{
	int i, c;
	unsigned int p;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nworld; i++) {
		struct bcv_tm_vol *v = world[i];

		s->vol[i] = *v;
		for (p = 0; p < BCV_POSITIONS; p++)
			s->maps[i][p] = dup_map(v->inv[p], map_bytes(v->tracks));
		s->maps[i][4] = dup_map(v->copying, map_bytes(v->tracks));
		if (v->is_std) {
			s->maps[i][5] = dup_map(v->pb, map_bytes(v->tracks * 16));
			for (c = 0; c < BCV_SESSIONS; c++)
				if (v->sess[c]) {
					s->sp[s->nsess] = v->sess[c];
					s->sess[s->nsess++] = *v->sess[c];
				}
		}
	}
}

/* Same as @s, byte for byte; prints what differs. */
static bool snap_same(const struct snap *s)
{
	bool same = true;
	int i, k;
	unsigned int p;

	for (i = 0; i < nworld; i++) {
		struct bcv_tm_vol *v = world[i];

		if (memcmp(&s->vol[i], v, sizeof(*v))) {
			printf("# volume %d: struct changed\n", i);
			same = false;
		}
		for (p = 0; p < BCV_POSITIONS; p++)
			if (memcmp(s->maps[i][p], v->inv[p], map_bytes(v->tracks))) {
				printf("# volume %d: Track ID M%u changed\n", i, p + 1);
				same = false;
			}
		if (memcmp(s->maps[i][4], v->copying, map_bytes(v->tracks))) {
			printf("# volume %d: copying bitmap changed\n", i);
			same = false;
		}
		if (v->is_std && memcmp(s->maps[i][5], v->pb, map_bytes(v->tracks * 16))) {
			printf("# volume %d: PB table changed\n", i);
			same = false;
		}
	}
	for (k = 0; k < s->nsess; k++)
		if (memcmp(&s->sess[k], s->sp[k], sizeof(s->sess[k]))) {
			printf("# session %u: changed\n", s->sess[k].id);
			same = false;
		}
	/* No session appeared or vanished. */
	for (i = 0, k = 0; i < nworld; i++)
		if (world[i]->is_std)
			for (p = 0; p < BCV_SESSIONS; p++)
				k += world[i]->sess[p] != NULL;
	if (k != s->nsess) {
		printf("# number of sessions changed\n");
		same = false;
	}
	return same;
}

static void snap_free(struct snap *s)
{
	int i, p;

	for (i = 0; i < MAXV; i++)
		for (p = 0; p < BCV_POSITIONS + 2; p++)
			free(s->maps[i][p]);
}

/* ---- commands ---- */

static const struct bcv_tm_cmd none;

static int establish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		     const struct bcv_tm_cmd *cmd)
{
	struct bcv_tm_sess *spare = calloc(1, sizeof(*spare));
	int rc = bcv_tm_establish(std, bcv, cmd, &spare);

	if (rc && !spare)
		printf("# refused ESTABLISH consumed the spare session\n");
	free(spare);
	return rc;
}

static int terminate(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *freed = NULL;
	int rc = bcv_tm_terminate(std, bcv, &freed);

	free(freed);
	return rc;
}

static int restore(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv, bool incr,
		   bool std_open, bool force, bool bcv_open)
{
	struct bcv_tm_cmd c = { .incremental = incr, .std_open = std_open,
				.force = force, .bcv_open = bcv_open };

	return bcv_tm_restore(std, bcv, &c);
}

static enum bcv_state state(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	struct bcv_tm_sess *s = bcv_tm_session(std, bcv);

	return s ? s->state : 0;
}

/* ESTABLISH, copy, SPLIT: a split session; 0 or the errno. */
static int split_session(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv)
{
	int rc = establish(std, bcv, &none);

	tm_copy_all(std, 64);
	return rc ? rc : bcv_tm_split(std, bcv, &none);
}

/* A refused call: errno as given and no byte of any table changed. */
#define REFUSED(err, call, ...) do {					\
	int rc_;							\
	snap_take(&before);						\
	rc_ = (call);							\
	CHECK(rc_ == -(err), __VA_ARGS__);				\
	if (rc_ != -(err))						\
		printf("# got %d, want %d\n", rc_, -(err));		\
	CHECK(snap_same(&before), "  ... and nothing changed");	\
	snap_free(&before);						\
} while (0)

/* Refused with either of two errnos (the design allows both). */
#define REFUSED2(e1, e2, call, ...) do {				\
	int rc_;							\
	snap_take(&before);						\
	rc_ = (call);							\
	CHECK(rc_ == -(e1) || rc_ == -(e2), __VA_ARGS__);		\
	if (rc_ != -(e1) && rc_ != -(e2))				\
		printf("# got %d\n", rc_);				\
	CHECK(snap_same(&before), "  ... and nothing changed");	\
	snap_free(&before);						\
} while (0)

#define OK(call, ...) do {						\
	int rc_ = (call);						\
	CHECK(rc_ == 0, __VA_ARGS__);					\
	if (rc_)							\
		printf("# got %d\n", rc_);				\
} while (0)

/* ---- ESTABLISH ---- */

static void test_establish(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_vol *B3 = mk(SECT + 1000, SHIFT, false, 1);
	struct bcv_tm_vol *B4 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B5 = mk(SECT, SHIFT, false, 3);
	struct bcv_tm_vol *Bsmall = mk(SECT - 1, SHIFT, false, 1);
	struct bcv_tm_vol *Btiny = mk(SECT - 2 * SPT, SHIFT, false, 1);
	struct bcv_tm_vol *Bshift = mk(SECT, SHIFT + 1, false, 1);
	struct bcv_tm_vol *Bshift2 = mk(SECT, SHIFT - 1, false, 1);
	struct bcv_tm_cmd open = { .bcv_open = true };

	bcv_tm_write(B, 0, 8, 1);	/* some M4b I bits in the snapshots */

	OK(establish(S, B, &none), "ESTABLISH S,B");
	REFUSED(EBUSY, establish(S2, B, &none),
		"ESTABLISH S2,B: B attached to S (in a session with another STD): EBUSY");
	REFUSED(EBUSY, establish(S, B, &none),
		"ESTABLISH S,B while syncinprog: attached: EBUSY");
	tm_copy_all(S, 64);
	CHECK(state(S, B) == BCV_SYNCHRONIZED, "S,B synchronized");
	REFUSED(EBUSY, establish(S, B, &none),
		"ESTABLISH S,B while synchronized: attached: EBUSY");
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	REFUSED(EBUSY, establish(S2, B, &none),
		"ESTABLISH S2,B: B split but in a session with S: EBUSY");
	REFUSED(EBUSY, establish(S2, B, &open),
		"ESTABLISH S2,B, B open too: EBUSY");

	REFUSED(EBUSY, establish(S, B2, &open), "ESTABLISH S,B2 with B2 open: EBUSY");
	REFUSED(EBUSY, establish(S, B, &open),
		"ESTABLISH S,B (split session) with B open: EBUSY");
	REFUSED(EINVAL, establish(S, Bsmall, &none),
		"ESTABLISH S,Bsmall: one sector smaller than S: EINVAL");
	REFUSED(EINVAL, establish(S, Btiny, &none),
		"ESTABLISH S,Btiny: two tracks smaller: EINVAL");
	REFUSED(EINVAL, establish(S, Bshift, &none),
		"ESTABLISH S,Bshift: larger track size: EINVAL");
	REFUSED(EINVAL, establish(S, Bshift2, &none),
		"ESTABLISH S,Bshift2: smaller track size: EINVAL");
	REFUSED(EINVAL, establish(B2, S, &none),
		"ESTABLISH B2,S: roles swapped: EINVAL");
	REFUSED(EINVAL, establish(S, S2, &none),
		"ESTABLISH S,S2: a STD as the BCV: EINVAL");
	REFUSED(EINVAL, establish(B2, B4, &none),
		"ESTABLISH B2,B4: a BCV as the STD: EINVAL");
	REFUSED(EINVAL, establish(B, S, &none),
		"ESTABLISH B,S: roles swapped, B in a session: EINVAL");

	/* Mirror positions: S has one leg, so three MMs at most. */
	OK(establish(S, B2, &none), "ESTABLISH S,B2 (MM 1 of 3)");
	OK(establish(S, B3, &none), "ESTABLISH S,B3 (BCV bigger than S; MM 2 of 3)");
	OK(establish(S, B4, &none), "ESTABLISH S,B4 (MM 3 of 3)");
	REFUSED(EBUSY, establish(S, B5, &none),
		"ESTABLISH S,B5: no free mirror position: EBUSY");
	REFUSED(EBUSY, establish(S, B, &none),
		"ESTABLISH S,B (existing split session): no free position: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, establish(S, B5, &none),
		"ESTABLISH S,B5 with three synchronized MMs: EBUSY");
	OK(bcv_tm_split(S, B3, &(struct bcv_tm_cmd){ .diff = true }), "SPLIT S,B3");
	OK(establish(S, B5, &none), "ESTABLISH S,B5 once a position is free");

	/* A two-leg STD has two positions for MMs. */
	{
		struct bcv_tm_vol *T = mk(SECT, SHIFT, true, 2);
		struct bcv_tm_vol *C1 = mk(SECT, SHIFT, false, 1);
		struct bcv_tm_vol *C2 = mk(SECT, SHIFT, false, 1);
		struct bcv_tm_vol *C3 = mk(SECT, SHIFT, false, 1);

		OK(establish(T, C1, &none), "ESTABLISH T,C1 (2-leg STD)");
		OK(establish(T, C2, &none), "ESTABLISH T,C2");
		REFUSED(EBUSY, establish(T, C3, &none),
			"ESTABLISH T,C3: 2 legs + 2 MMs, no position: EBUSY");
		REFUSED(EBUSY, establish(T, B, &none),
			"ESTABLISH T,B: B in a session with S: EBUSY");
	}
	world_free();
}

/* ---- 16 sessions, the 17th, column reuse ---- */

static void test_sessions(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1), *B[18];
	struct bcv_tm_sess *s;
	int i, col;
	bool cols_ok = true;

	for (i = 0; i < 18; i++)
		B[i] = mk(SECT, SHIFT, false, 1);
	for (i = 0; i < 15; i++)
		if (split_session(S, B[i]) || bcv_tm_session(S, B[i])->id != (unsigned int)i)
			cols_ok = false;
	CHECK(cols_ok && S->alloc == 0x7fff, "15 split sessions in columns 0..14");
	OK(establish(S, B[15], &none), "ESTABLISH of the 16th session accepted");
	s = bcv_tm_session(S, B[15]);
	CHECK(s && s->id == 15 && S->alloc == 0xffff, "16th session in column 15");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B[15], &none), "SPLIT of the 16th session");

	REFUSED(ENOSPC, establish(S, B[16], &none),
		"ESTABLISH of a 17th session with 16 split sessions: ENOSPC");
	OK(establish(S, B[4], &none),
	   "ESTABLISH S,B4 (an existing split session) needs no new column");
	tm_copy_all(S, 64);
	REFUSED(ENOSPC, establish(S, B[16], &none),
		"17th session, one of 16 attached: ENOSPC");
	OK(establish(S, B[5], &none), "ESTABLISH S,B5 (existing)");
	OK(establish(S, B[6], &none), "ESTABLISH S,B6 (existing): 3 MMs");
	snap_take(&before);
	i = establish(S, B[16], &none);
	CHECK(i == -ENOSPC || i == -EBUSY,
	      "17th session and no free position: ENOSPC or EBUSY (%d)", i);
	CHECK(snap_same(&before), "  ... and nothing changed");
	snap_free(&before);
	tm_copy_all(S, 64);
	for (i = 4; i <= 6; i++)
		bcv_tm_split(S, B[i], &none);

	/* TERMINATE frees column 3; the next new session gets it. */
	bcv_tm_write(S, 3 * SPT + 1, 1, 1);	/* PB(3, *) = C, stale later */
	OK(terminate(S, B[3]), "TERMINATE S,B3");
	CHECK(S->alloc == (0xffffUL & ~(1UL << 3)), "column 3 free");
	CHECK(!bcv_tm_session(S, B[3]) && !B[3]->session,
	      "B3 is a plain volume again");
	OK(establish(S, B[16], &none), "a new session after TERMINATE");
	s = bcv_tm_session(S, B[16]);
	CHECK(s && s->id == 3 && S->alloc == 0xffff && S->sess[3] == s,
	      "column 3 reused");
	col = s ? (int)s->id : 0;
	CHECK(bcv_tm_count_changed(S, col) == TRACKS &&
	      bcv_tm_count_invalid(S, s->mm) == TRACKS,
	      "reused column all C, new MM all I");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B[16], &none), "SPLIT of the reused column");
	CHECK(bcv_tm_count_changed(S, col) == 0, "reused column all U after split");
	REFUSED(ENOSPC, establish(S, B[17], &none), "16 sessions again: ENOSPC");
	REFUSED(ENOSPC, establish(S, B[3], &none),
		"the terminated BCV cannot come back while 16 are in use: ENOSPC");
	world_free();
}

/* ---- SPLIT ---- */

static void test_split(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B3 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_cmd diff = { .diff = true };
	struct bcv_tm_copy c;

	REFUSED(ENOENT, bcv_tm_split(S, B, &none), "SPLIT S,B: no session: ENOENT");
	REFUSED(ENOENT, bcv_tm_split(S, B, &diff), "SPLIT --diff S,B: no session: ENOENT");
	OK(establish(S2, B3, &none), "ESTABLISH S2,B3");
	REFUSED(ENOENT, bcv_tm_split(S, B3, &none),
		"SPLIT S,B3: B3's session is with S2: ENOENT");

	OK(establish(S, B, &none), "ESTABLISH S,B");
	REFUSED(EBUSY, bcv_tm_split(S, B, &none), "SPLIT while syncinprog: EBUSY");
	/* Half copied. */
	CHECK(bcv_tm_next_copy(S, 0, TRACKS / 2, &c), "a copy run");
	bcv_tm_copy_begin(S, &c);
	bcv_tm_copy_done(S, &c, true);
	bcv_tm_update_states(S);
	REFUSED(EBUSY, bcv_tm_split(S, B, &diff), "SPLIT --diff half copied: EBUSY");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B, &none), "SPLIT once synchronized");
	REFUSED(EBUSY, bcv_tm_split(S, B, &none), "SPLIT again: already split: EBUSY");
	REFUSED(EBUSY, bcv_tm_split(S, B, &diff), "SPLIT --diff: already split: EBUSY");

	/* restinprog: B's BFM must be synced first for RESTORE. */
	tm_copy_all(B, 64);
	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	CHECK(state(S, B2) == BCV_RESTINPROG, "restinprog");
	REFUSED(EBUSY, bcv_tm_split(S, B2, &none), "SPLIT while restinprog: EBUSY");
	REFUSED(EBUSY, bcv_tm_split(S, B2, &diff), "SPLIT --diff while restinprog: EBUSY");
	tm_copy_all(S, 64);
	CHECK(state(S, B2) == BCV_RESTORED, "restored");
	OK(bcv_tm_split(S, B2, &diff), "SPLIT --diff once restored");
	world_free();
}

/*
 * SPLIT --force (bcv-design.rst section 13): also while syncinprog; the tracks the
 * BCV has not received are changed on both sides, and the next
 * REESTABLISH copies exactly them.  Refused when split or restinprog.
 */
static void test_split_force(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_cmd force = { .force = true };
	struct bcv_tm_copy c;
	unsigned int id;

	REFUSED(ENOENT, bcv_tm_split(S, B, &force), "SPLIT --force S,B: no session: ENOENT");
	OK(establish(S, B, &none), "ESTABLISH S,B");
	id = bcv_tm_sess_id(bcv_tm_session(S, B));
	CHECK(bcv_tm_next_copy(S, 0, TRACKS / 2, &c) && c.start == 0 &&
	      c.len == TRACKS / 2, "a copy run of the first half");
	bcv_tm_copy_begin(S, &c);
	bcv_tm_copy_done(S, &c, true);
	bcv_tm_update_states(S);
	CHECK(state(S, B) == BCV_SYNCINPROG, "half copied: syncinprog");
	OK(bcv_tm_split(S, B, &force), "SPLIT --force half copied");
	CHECK(state(S, B) == BCV_SPLIT, "split");
	CHECK(bcv_tm_count_changed(S, id) == TRACKS - TRACKS / 2,
	      "the %llu tracks not copied are changed on the STD (%llu)",
	      TRACKS - TRACKS / 2, (unsigned long long)bcv_tm_count_changed(S, id));
	CHECK(bcv_tm_count_invalid(B, BCV_M4B) == TRACKS - TRACKS / 2,
	      "... and on the BCV (%llu)",
	      (unsigned long long)bcv_tm_count_invalid(B, BCV_M4B));
	REFUSED(EBUSY, bcv_tm_split(S, B, &force), "SPLIT --force: already split: EBUSY");
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH");
	CHECK(tm_copy_all(S, 64) == TRACKS - TRACKS / 2,
	      "REESTABLISH copies exactly the tracks the BCV had not received");
	CHECK(state(S, B) == BCV_SYNCHRONIZED, "synchronized");
	OK(bcv_tm_split(S, B, &force), "SPLIT --force when synchronized");
	CHECK(bcv_tm_count_changed(S, id) == 0 && bcv_tm_count_invalid(B, BCV_M4B) == 0,
	      "... marks nothing");

	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	CHECK(state(S, B2) == BCV_RESTINPROG, "restinprog");
	REFUSED(EBUSY, bcv_tm_split(S, B2, &force),
		"SPLIT --force while restinprog: EBUSY (the STD needs the BCV)");
	world_free();
}

/*
 * ABORT (bcv-design.rst section 13) of an ESTABLISH and of a REESTABLISH: split
 * again, every track the copy was to write changed on the BCV; refused
 * unless syncinprog.
 */
static void test_abort(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_copy c;
	unsigned int id;

	REFUSED(ENOENT, bcv_tm_abort(S, B, 0), "ABORT S,B: no session: ENOENT");
	OK(establish(S, B, &none), "ESTABLISH S,B");
	id = bcv_tm_sess_id(bcv_tm_session(S, B));
	CHECK(bcv_tm_next_copy(S, 0, TRACKS / 2, &c), "a copy run");
	bcv_tm_copy_begin(S, &c);
	bcv_tm_copy_done(S, &c, true);
	OK(bcv_tm_abort(S, B, 0), "ABORT the ESTABLISH half copied");
	CHECK(state(S, B) == BCV_SPLIT, "split");
	CHECK(bcv_tm_count_invalid(B, BCV_M4B) == TRACKS &&
	      bcv_tm_count_changed(S, id) == TRACKS,
	      "every track changed on both sides");
	CHECK(bcv_tm_count_invalid(B, 1) == c.len &&
	      bcv_tm_count_invalid(B, 0) == TRACKS - c.len,
	      "the BCV's fixed mirror is stale where the copy wrote its primary, "
	      "which is stale elsewhere (the mirror holds the BCV's old data)");
	REFUSED(EBUSY, bcv_tm_abort(S, B, 0), "ABORT when split: EBUSY");
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH");
	CHECK(tm_copy_all(S, 64) == TRACKS, "copies every track");
	OK(bcv_tm_split(S, B, &none), "SPLIT");
	tm_copy_all(B, 64);

	/* A REESTABLISH of 3 changed tracks, aborted before any copy. */
	bcv_tm_write(S, 0, SPT, 0);
	bcv_tm_write(S, 10 * SPT, SPT, 0);
	bcv_tm_write(B, 20 * SPT, SPT, 0);
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH with 3 tracks changed");
	OK(bcv_tm_abort(S, B, 0), "ABORT it");
	CHECK(bcv_tm_count_invalid(B, BCV_M4B) == 3 && bcv_tm_count_changed(S, id) == 3,
	      "exactly the 3 tracks changed on both sides (%llu, %llu)",
	      (unsigned long long)bcv_tm_count_invalid(B, BCV_M4B),
	      (unsigned long long)bcv_tm_count_changed(S, id));
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH");
	CHECK(tm_copy_all(S, 64) == 3, "copies exactly them");

	OK(split_session(S, B2), "S,B2 split");
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	REFUSED(EBUSY, bcv_tm_abort(S, B2, 0),
		"ABORT a RESTORE without positions known to hold the old data: EBUSY");
	world_free();
}

/* cmd->why after a refused call: the reason and its number. */
#define WHY(call, err, want, n, ...) do {				\
	why.reason = 0;							\
	why.detail = 0;							\
	CHECK((call) == -(err) && why.reason == (want) &&		\
	      why.detail == (u64)(n), __VA_ARGS__);			\
	if (why.reason != (want) || why.detail != (u64)(n))		\
		printf("# reason %u detail %llu\n", why.reason,	\
		       (unsigned long long)why.detail);			\
} while (0)

/* Every refusal of the table code says why (BCV_R_*, issue 15). */
static void test_reasons(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *Bs = mk(SECT - SPT, SHIFT, false, 1);
	struct bcv_tm_vol *Bt = mk(SECT, SHIFT + 1, false, 1);
	struct bcv_tm_vol *x[2];
	struct bcv_tm_why why;
	struct bcv_tm_cmd c = { .why = &why };
	struct bcv_tm_cmd open = { .why = &why, .bcv_open = true, .bcv_openers = 2 };
	struct bcv_tm_cmd sopen = { .why = &why, .std_open = true, .std_openers = 1 };
	struct bcv_tm_sess *spare = NULL;
	unsigned int i;

	WHY(bcv_tm_establish(B, S, &c, &spare), EINVAL, BCV_R_ROLE, 0,
	    "ESTABLISH B,S: ROLE");
	WHY(bcv_tm_establish(S, Bs, &c, &spare), EINVAL, BCV_R_GEOMETRY, 0,
	    "ESTABLISH of a smaller BCV: GEOMETRY");
	WHY(bcv_tm_establish(S, Bt, &c, &spare), EINVAL, BCV_R_GEOMETRY, 0,
	    "ESTABLISH of a BCV with other tracks: GEOMETRY");
	WHY(bcv_tm_establish(S, B, &open, &spare), EBUSY, BCV_R_BCV_OPEN, 2,
	    "ESTABLISH of an open BCV: BCV_OPEN, 2 users");
	WHY(bcv_tm_reestablish(S, B, &c), ENOENT, BCV_R_NO_SESSION, 0,
	    "REESTABLISH without a session: NO_SESSION");
	OK(establish(S, B, &none), "ESTABLISH S,B");
	WHY(bcv_tm_establish(S, B, &c, &spare), EBUSY, BCV_R_STATE, 0,
	    "ESTABLISH of an attached BCV: STATE");
	WHY(bcv_tm_establish(S2, B, &c, &spare), EBUSY, BCV_R_OTHER_STD, 0,
	    "ESTABLISH with another STD: OTHER_STD");
	WHY(bcv_tm_split(S, B, &c), EBUSY, BCV_R_STATE, 0,
	    "SPLIT while syncinprog: STATE");
	tm_copy_all(S, 64);
	bcv_tm_update_states(S);
	/* A track the BCV lost again: synchronized, but not whole. */
	bcv_tm_mark_stale(S, bcv_tm_sess_mm(bcv_tm_session(S, B)), 0, 2 * SPT);
	WHY(bcv_tm_split(S, B, &c), EBUSY, BCV_R_NOT_SYNCED, 2,
	    "SPLIT with 2 tracks the BCV lacks: NOT_SYNCED, 2");
	tm_copy_all(S, 64);
	/* The STD's leg lost a track: the BCV holds the only copy. */
	bcv_tm_mark_stale(S, 0, 5 * SPT, SPT);
	WHY(bcv_tm_split(S, B, &c), EBUSY, BCV_R_ONLY_COPY, 0,
	    "SPLIT taking away the only copy: ONLY_COPY");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	WHY(bcv_tm_restore(S, B, &c), EBUSY, BCV_R_BCV_STALE, TRACKS,
	    "RESTORE while the BCV's mirror syncs: BCV_STALE, every track");
	tm_copy_all(B, 64);
	WHY(bcv_tm_restore(S, B, &sopen), EBUSY, BCV_R_STD_OPEN, 1,
	    "RESTORE of an open STD: STD_OPEN, 1 user");
	WHY(bcv_tm_restore(S, B, &open), EBUSY, BCV_R_BCV_OPEN, 2,
	    "RESTORE of an open BCV: BCV_OPEN");
	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	WHY(bcv_tm_restore(S, B, &c), EBUSY, BCV_R_RESTORE_RUNNING, 0,
	    "a second RESTORE: RESTORE_RUNNING");
	tm_copy_all(S, 64);
	bcv_tm_update_states(S);
	/* 2 more attached BCVs: with the leg and B2, every position is used. */
	for (i = 0; i < 2; i++) {
		x[i] = mk(SECT, SHIFT, false, 1);
		OK(establish(S, x[i], &none), "ESTABLISH S,X%u", i);
	}
	WHY(bcv_tm_reestablish(S, B, &c), EBUSY, BCV_R_NO_POSITION, 0,
	    "REESTABLISH with no free position: NO_POSITION");
	world_free();
}

/* A host write as the I/O path makes it: marks, then what it left where. */
static void host_write(struct bcv_tm_vol *v, u64 sector, u64 nr)
{
	unsigned int to = bcv_tm_write_targets(v);

	bcv_tm_write(v, sector, nr, 0);
	bcv_tm_write_done(v, sector, nr, to, to, true);
}

/*
 * ABORT of a RESTORE (bcv-design.rst section 13): the tracks not restored yet are the
 * STD's old data again, changed in the session's column; refused where the
 * host wrote such a track (its data is on the BCV alone).
 */
static void test_abort_restore(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 2);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *X;
	struct bcv_tm_copy c;
	unsigned int id;
	int mmx;

	OK(split_session(S, B), "S,B split");
	id = bcv_tm_sess_id(bcv_tm_session(S, B));
	tm_copy_all(S, 64);
	host_write(S, 0, 10 * SPT);
	host_write(B, 50 * SPT, SPT);
	OK(restore(S, B, true, false, false, false), "incremental RESTORE of 11 tracks");
	CHECK(bcv_tm_next_copy(S, 0, 3, &c) && c.start == 0 && c.len == 3, "a run of 3");
	bcv_tm_copy_begin(S, &c);
	bcv_tm_copy_done(S, &c, true);
	REFUSED(EBUSY, bcv_tm_abort(S, B, 0), "ABORT, no position known: EBUSY");
	REFUSED(EBUSY, bcv_tm_abort(S, B, 1U << 3), "ABORT, only an MM position: EBUSY");
	OK(bcv_tm_abort(S, B, 3), "ABORT with both legs known to hold the old data");
	CHECK(state(S, B) == BCV_SPLIT, "split");
	CHECK(bcv_tm_count_invalid(S, 0) == 0 && bcv_tm_count_invalid(S, 1) == 0,
	      "the STD's legs valid");
	CHECK(bcv_tm_count_changed(S, id) == 8,
	      "the 8 tracks not restored differ from the BCV (%llu)",
	      (unsigned long long)bcv_tm_count_changed(S, id));

	OK(restore(S, B, true, false, false, false), "incremental RESTORE of those 8");
	host_write(S, 50 * SPT + 1, 1);
	REFUSED(EBUSY, bcv_tm_abort(S, B, 3),
		"ABORT after a host write to a track not restored: EBUSY");
	CHECK(tm_copy_all(S, 64) == 8, "the restore copies the 8");
	bcv_tm_update_states(S);
	CHECK(state(S, B) == BCV_RESTORED, "restored");
	REFUSED(EBUSY, bcv_tm_abort(S, B, 3), "ABORT when restored: EBUSY");
	world_free();

	/*
	 * An attached BCV's position is never taken back by the ABORT, even
	 * when the caller knew it whole at the restore: another BCV may sit
	 * there by now.  The engine copies the tracks to it from the legs.
	 */
	S = mk(SECT, SHIFT, true, 1);
	B = mk(SECT, SHIFT, false, 1);
	X = mk(SECT, SHIFT, false, 1);
	OK(split_session(S, B), "S,B split");
	OK(establish(S, X, &none), "ESTABLISH S,X");
	tm_copy_all(S, 64);
	bcv_tm_update_states(S);
	mmx = bcv_tm_sess_mm(bcv_tm_session(S, X));
	host_write(S, 0, 4 * SPT);
	OK(restore(S, B, true, false, false, false), "RESTORE S,B of 4 tracks");
	OK(bcv_tm_abort(S, B, 1U | 1U << mmx), "ABORT it, X's position named too");
	CHECK(bcv_tm_count_invalid(S, 0) == 0 && bcv_tm_count_invalid(S, mmx) == 4,
	      "the leg takes its tracks back, X's position copies them (%llu)",
	      (unsigned long long)bcv_tm_count_invalid(S, mmx));
	CHECK(tm_copy_all(S, 64) == 4, "the engine copies the 4 to X");
	world_free();
}

/*
 * RESTORE --protect (bcv-design.rst section 12): the BCV is a source only; host
 * writes leave its MM I and mark the session's column; a write covering a
 * track not restored in part must wait for it; once restored the session
 * splits with the column kept, and the next protected restore copies
 * exactly what the host changed.
 */
static void test_protect(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_cmd prot = { .incremental = true, .protect = true };
	struct bcv_tm_copy c;
	unsigned long long n = 0;
	unsigned int id, mm;

	OK(split_session(S, B), "S,B split");
	tm_copy_all(B, 64);
	id = bcv_tm_sess_id(bcv_tm_session(S, B));
	host_write(S, 0, 5 * SPT);
	OK(bcv_tm_restore(S, B, &prot), "protected incremental RESTORE of 5 tracks");
	mm = bcv_tm_sess_mm(bcv_tm_session(S, B));
	CHECK(bcv_tm_write_targets(S) == 1, "host writes go to the leg alone");
	CHECK(bcv_tm_fill_track(S, 3 * SPT + 1, 2) == 3,
	      "a write to part of track 3 waits for it");
	CHECK(bcv_tm_fill_track(S, 3 * SPT, SPT) == BCV_NO_TRACK,
	      "a write of all of it does not");
	CHECK(bcv_tm_fill_track(S, 20 * SPT + 1, 2) == BCV_NO_TRACK,
	      "nor one to a track not restored");
	host_write(S, 1 * SPT, SPT);
	CHECK(!bcv_tm_invalid(S, 0, 1) && bcv_tm_invalid(S, mm, 1),
	      "track 1 written whole: V on the leg, I on the BCV's position");
	CHECK(bcv_tm_fill_track(S, 1 * SPT + 1, 2) == BCV_NO_TRACK,
	      "a write to part of track 1 does not wait");
	while (bcv_tm_next_copy(S, 0, 64, &c)) {
		CHECK(!(c.dst & (1U << mm)) && c.src == (int)mm,
		      "copies from the BCV, never to it");
		bcv_tm_copy_begin(S, &c);
		n += bcv_tm_copy_done(S, &c, true);
	}
	CHECK(n == 4, "copies the 4 tracks not written (%llu)", n);
	host_write(S, 30 * SPT, SPT);
	bcv_tm_update_states(S);
	CHECK(state(S, B) == BCV_RESTORED, "restored");
	CHECK(!bcv_tm_next_copy(S, 0, 64, &c), "nothing to copy to the BCV");
	bcv_tm_update_states(S);
	CHECK(state(S, B) == BCV_RESTORED, "stays restored (not syncinprog)");
	OK(bcv_tm_split(S, B, &none), "SPLIT at the end");
	CHECK(state(S, B) == BCV_SPLIT && bcv_tm_write_targets(S) == 1, "split");
	CHECK(bcv_tm_count_changed(S, id) == 2,
	      "the 2 tracks the host wrote are changed (%llu)",
	      (unsigned long long)bcv_tm_count_changed(S, id));
	CHECK(bcv_tm_count_invalid(B, 0) == 0 && bcv_tm_count_invalid(B, 1) == 0 &&
	      bcv_tm_count_invalid(B, BCV_M4B) == 0, "the BCV's tables clean");
	OK(bcv_tm_restore(S, B, &prot), "a second protected RESTORE");
	CHECK(tm_copy_all(S, 64) == 2, "copies exactly the 2 tracks");
	bcv_tm_update_states(S);
	OK(bcv_tm_split(S, B, &none), "SPLIT");
	world_free();
}

/* ---- REESTABLISH ---- */

static void test_reestablish(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B3 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B4 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B5 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_cmd open = { .bcv_open = true };

	REFUSED(ENOENT, bcv_tm_reestablish(S, B, &none), "REESTABLISH: no session: ENOENT");
	OK(split_session(S2, B5), "S2,B5 split");
	REFUSED(ENOENT, bcv_tm_reestablish(S, B5, &none),
		"REESTABLISH S,B5: B5's session is with S2: ENOENT");

	OK(establish(S, B, &none), "ESTABLISH S,B");
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &none), "REESTABLISH while syncinprog: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &none), "REESTABLISH while synchronized: EBUSY");
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	bcv_tm_write(S, 5 * SPT, 3, 1);
	bcv_tm_write(B, 9 * SPT, 3, 1);
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &open), "REESTABLISH with B open: EBUSY");
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH S,B");
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &none),
		"REESTABLISH again while syncinprog: EBUSY");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");

	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	REFUSED(EBUSY, bcv_tm_reestablish(S, B2, &none), "REESTABLISH while restinprog: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, bcv_tm_reestablish(S, B2, &none), "REESTABLISH while restored: EBUSY");

	/* S: M1 leg, MM(B2) restored, two more: no position for B. */
	OK(establish(S, B3, &none), "ESTABLISH S,B3");
	OK(establish(S, B4, &none), "ESTABLISH S,B4");
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &none),
		"REESTABLISH S,B: no free mirror position: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, bcv_tm_reestablish(S, B, &open),
		"REESTABLISH S,B: no position and B open: EBUSY");
	OK(bcv_tm_split(S, B3, &none), "SPLIT S,B3");
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH S,B once a position is free");
	world_free();
}

/* ---- RESTORE, full and incremental ---- */

static void test_restore(bool incr)
{
	const char *k = incr ? "INCR RESTORE" : "RESTORE";
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 2);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B3 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B4 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B5 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B6 = mk(SECT, SHIFT, false, 3);
	struct bcv_tm_copy c;

	REFUSED(ENOENT, restore(S, B, incr, false, false, false),
		"%s: no session: ENOENT", k);
	OK(split_session(S2, B5), "S2,B5 split");
	REFUSED(ENOENT, restore(S, B5, incr, false, false, false),
		"%s S,B5: B5's session is with S2: ENOENT", k);

	OK(establish(S, B, &none), "ESTABLISH S,B");
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s while syncinprog: EBUSY", k);
	tm_copy_all(S, 64);
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s while synchronized: EBUSY", k);
	OK(bcv_tm_split(S, B, &none), "full SPLIT S,B: BFM all I");
	bcv_tm_write(S, 7 * SPT, 2, 1);
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s: BCV's BFM still I after a full split: EBUSY", k);
	/* Sync all but one track of the BFM. */
	CHECK(bcv_tm_next_copy(B, 0, TRACKS - 1, &c) && c.len == TRACKS - 1,
	      "BFM copy run");
	bcv_tm_copy_begin(B, &c);
	bcv_tm_copy_done(B, &c, true);
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s: one BFM track still I: EBUSY", k);
	/* A failed copy leaves it I. */
	CHECK(bcv_tm_next_copy(B, 0, TRACKS, &c) && c.start == TRACKS - 1, "last BFM track");
	bcv_tm_copy_begin(B, &c);
	bcv_tm_copy_done(B, &c, false);
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s: BFM copy failed: EBUSY", k);
	tm_copy_all(B, 64);

	/* Split with a BFM of three legs; diff split leaves only PB-C tracks I. */
	OK(split_session(S, B6), "S,B6 split (full): both BFMs I");
	tm_copy_all(B6, 64);
	OK(bcv_tm_reestablish(S, B6, &none), "REESTABLISH S,B6");
	bcv_tm_write(S, 40 * SPT, 1, 1 | 1U << bcv_tm_session(S, B6)->mm);
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B6, &(struct bcv_tm_cmd){ .diff = true }), "SPLIT --diff S,B6");
	CHECK(bcv_tm_count_invalid(B6, 1) == 1 && bcv_tm_count_invalid(B6, 2) == 1,
	      "B6 BFMs I on the one written track");
	REFUSED(EBUSY, restore(S, B6, incr, false, false, false),
		"%s: BFM I after a differential split: EBUSY", k);
	tm_copy_all(B6, 64);

	REFUSED(EBUSY, restore(S, B, incr, true, false, false),
		"%s: STD open, not forced: EBUSY", k);
	REFUSED(EBUSY, restore(S, B, incr, false, false, true),
		"%s: BCV open: EBUSY", k);
	REFUSED(EBUSY, restore(S, B, incr, true, true, true),
		"%s: BCV open, STD open and forced: EBUSY", k);
	REFUSED(EBUSY, restore(S, B, incr, false, true, true),
		"%s: BCV open, forced: EBUSY", k);

	/* Another restore running (a full one is restinprog until copied). */
	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2 (full)");
	CHECK(state(S, B2) == BCV_RESTINPROG, "S,B2 restinprog");
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s S,B: another restore running on S: EBUSY", k);
	REFUSED(EBUSY, restore(S, B, incr, true, true, false),
		"%s S,B forced: another restore running: EBUSY", k);
	tm_copy_all(S, 64);
	CHECK(state(S, B2) == BCV_RESTORED, "S,B2 restored");
	OK(bcv_tm_split(S, B2, &none), "SPLIT S,B2");

	/* No free position: B3, B4, B5... S has one leg, three MMs. */
	OK(establish(S, B3, &none), "ESTABLISH S,B3");
	OK(establish(S, B4, &none), "ESTABLISH S,B4");
	OK(bcv_tm_reestablish(S, B2, &none), "REESTABLISH S,B2");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, restore(S, B, incr, false, false, false),
		"%s: no free mirror position: EBUSY", k);
	REFUSED(EBUSY, restore(S, B, incr, true, true, false),
		"%s forced: no free mirror position: EBUSY", k);
	OK(bcv_tm_split(S, B4, &none), "SPLIT S,B4");

	/* The forced restore of an open STD is accepted. */
	OK(restore(S, B, incr, true, true, false), "%s S,B: STD open, forced: accepted", k);
	CHECK(state(S, B) == BCV_RESTINPROG || (incr && state(S, B) == BCV_RESTORED),
	      "%s S,B: in progress", k);
	world_free();
}

/* ---- TERMINATE ---- */

static void test_terminate(void)
{
	struct bcv_tm_vol *S = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *S2 = mk(SECT, SHIFT, true, 1);
	struct bcv_tm_vol *B = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B2 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_vol *B3 = mk(SECT, SHIFT, false, 1);
	struct bcv_tm_sess *freed = NULL;

	REFUSED(ENOENT, terminate(S, B), "TERMINATE: no session: ENOENT");
	OK(split_session(S2, B3), "S2,B3 split");
	REFUSED(ENOENT, terminate(S, B3), "TERMINATE S,B3: B3's session is with S2: ENOENT");
	REFUSED2(ENOENT, EINVAL, terminate(B3, S2),
		 "TERMINATE B3,S2: roles swapped: ENOENT or EINVAL");

	OK(establish(S, B, &none), "ESTABLISH S,B");
	REFUSED(EBUSY, terminate(S, B), "TERMINATE while syncinprog: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, terminate(S, B), "TERMINATE while synchronized: EBUSY");
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	OK(split_session(S, B2), "S,B2 split");
	OK(restore(S, B2, false, false, false, false), "RESTORE S,B2");
	REFUSED(EBUSY, terminate(S, B2), "TERMINATE while restinprog: EBUSY");
	tm_copy_all(S, 64);
	REFUSED(EBUSY, terminate(S, B2), "TERMINATE while restored: EBUSY");
	OK(bcv_tm_reestablish(S, B, &none), "REESTABLISH S,B");
	REFUSED(EBUSY, terminate(S, B), "TERMINATE after REESTABLISH: EBUSY");
	tm_copy_all(S, 64);
	OK(bcv_tm_split(S, B, &none), "SPLIT S,B");
	snap_take(&before);
	CHECK(bcv_tm_terminate(S, B, &freed) == 0 && freed,
	      "TERMINATE S,B returns the session");
	CHECK(S->alloc == before.vol[0].alloc - 1 && !S->sess[0] && !B->session,
	      "column 0 freed");
	snap_free(&before);
	free(freed);
	REFUSED(ENOENT, terminate(S, B), "TERMINATE again: ENOENT");
	world_free();
}

int main(void)
{
	test_establish();
	test_sessions();
	test_split();
	test_split_force();
	test_abort();
	test_reasons();
	test_abort_restore();
	test_protect();
	test_reestablish();
	test_restore(false);
	test_restore(true);
	test_terminate();
	return tm_done();
}
