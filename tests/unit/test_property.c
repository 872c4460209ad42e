// SPDX-License-Identifier: GPL-2.0
/*
 * Randomised property test of bcv_trackmap against a plain reference model.
 *
 *	test_property [OPS [SEED [TRACE]]]
 *
 * OPS operations in all (default 1,000,000) over many seeds, or with SEED
 * just that seed (TRACE=1 prints every operation: the way to a minimal
 * reproducer).  The first failure of a seed ends that seed and prints the
 * seed and the operation number.
 *
 * The model never looks at the tables.  It has two layers:
 *
 *  - data: a version (u64) per track of every device (each STD leg, each
 *    BCV's primary, each BCV's fixed mirror legs) and of the STD's current
 *    contents.  A whole-track write gives a fresh version; a partial write
 *    maps the old version through a bijection, so two devices that differed
 *    still differ and two that agreed still agree.  A copy moves the source
 *    device's version as of bcv_tm_copy_begin(); a failed copy leaves junk.
 *
 *  - bits: bcv-design.rst sections 3 to 5 written track by track (which positions are
 *    I, which PB bits are C, session states, which errno a command gets).
 *
 * Operations: STD writes and BCV writes (partial, whole-track, multi-track,
 * to the partial last track; now and then failing on one leg, which the
 * driver reports with bcv_tm_leg_error()), copy steps from a random cursor
 * (sometimes with host writes racing them, sometimes failing), reads, full
 * drains, and every command with random options on random pairs.  Copies
 * are never in flight across a command (see the lead's notes: a RESTORE
 * must not run while a copy's completion is pending).  A SPLIT that would
 * leave a STD track with no valid position (its legs failed, the MM holds
 * the only good copy) is not issued: the tables accept it, the design does
 * not say.
 *
 * After every operation: the tables equal the model's bits word for word;
 * every position the tables call V holds the volume's current version; for
 * a split session, PB U and M4b V imply equal STD and BCV versions (bcv-design.rst
 * 6.1); the tracks REESTABLISH / INCREMENTAL RESTORE would copy (PB C or M4b
 * I) are exactly the tracks touched since the split by STD writes, BCV
 * writes and restores (6.3, 6.5); reads come from a position holding the
 * current data (6.4).  After a drain, every attached pair is synchronized /
 * restored and identical (6.4).  Copy runs from bcv_tm_next_copy() are
 * checked against the model (first track, destinations, source, maximal).
 */
#include <inttypes.h>
#include <string.h>
#include "tm_test.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the PB comparison reads the table's rows as little-endian u16"
#endif

#define MAXB		4
#define NONE		(-1)
#define STDH		(-1)	/* volume handle of the STD; BCVs are 0..nb-1 */
#define SEED0		((u64)0x5eed0000)

typedef uint64_t ver_t;

/* ---------------------------------------------------------------- PRNG */

static u64 rng;

static u64 rnd(void)
{
	u64 z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rr(u64 n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rr(100) < pct;
}

/* ---------------------------------------------------- plain bitmaps */

static bool mt(const u64 *m, u64 t)
{
	return (m[t / 64] >> (t % 64)) & 1;
}

static void ms(u64 *m, u64 t)
{
	m[t / 64] |= 1ULL << (t % 64);
}

static void mc(u64 *m, u64 t)
{
	m[t / 64] &= ~(1ULL << (t % 64));
}

static u64 *mnew(u64 tracks)
{
	u64 *m = calloc(tracks / 64 + 1, sizeof(u64));

	if (!m)
		exit(2);
	return m;
}

/* ------------------------------------------------------------- model */

struct mstd {
	struct bcv_tm_vol v;
	u64 sectors, tracks, spt;
	unsigned int legs;
	ver_t *cur;			/* the STD's current data */
	ver_t *dev[BCV_POSITIONS];	/* own legs 0..legs-1 */
	u64 *inv[BCV_POSITIONS];
	int role[BCV_POSITIONS];	/* enum bcv_pos_role */
	int owner[BCV_POSITIONS];	/* BCV of an MM */
	u16 *pb;			/* PB rows */
	unsigned int alloc;
	int colbcv[BCV_SESSIONS];	/* BCV of a column, or NONE */
};

struct mbcv {
	struct bcv_tm_vol v;
	u64 sectors, tracks, spt;
	unsigned int legs, shift;
	bool bad;			/* smaller or another track size */
	ver_t *dev[BCV_POSITIONS];	/* legs; dev[0] is its data */
	u64 *inv[BCV_POSITIONS];	/* legs and M4b */
	int col;			/* PB column or NONE */
	int mm;				/* STD position while attached */
	int state;
	u64 *touched;			/* STD tracks touched since split */
	struct bcv_tm_sess *sess;
};

static struct mstd S;
static struct mbcv B[MAXB];
static int nb;
static unsigned int shift;
static ver_t vctr;
static u64 wid;

/* The copy in flight, if any. */
static struct {
	bool on;
	int h;
	struct bcv_tm_copy c;
	ver_t *snap;
	u8 *flag;			/* 1 partly written, 2 written whole */
} fl;

/* Run bookkeeping. */
static u64 seed, opno;
static int bad;
static bool trace;
static u64 chk_lo, chk_hi;		/* STD/BCV tracks to check the data of */

static struct {
	u64 ops, writes_failed, writes_std, writes_bcv, copies, copies_failed, copies_raced,
	    reads, drains, cmd_ok[8], cmd_refused[8], errs[4];
	u64 tracks_copied, reest_tracks, incr_tracks, split_withheld;
} st;

enum { C_EST, C_SPLIT, C_SPLITD, C_REEST, C_REST, C_RESTI, C_TERM, C_SWAP };
static const char *const cmd_name[] = {
	"ESTABLISH", "SPLIT", "SPLIT --diff", "REESTABLISH", "RESTORE",
	"INCR RESTORE", "TERMINATE", "swapped roles",
};

#define FAIL(...) do {							\
	if (!bad++) {							\
		printf("# seed %" PRIu64 " op %" PRIu64 ": ", seed, opno); \
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#define FAILRET(...) do { FAIL(__VA_ARGS__); return; } while (0)

#define T(...) do { if (trace) { printf("#   "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static ver_t fresh(void)
{
	return ++vctr;
}

/* A partial write: a bijection of the old contents, different per write. */
static ver_t mixv(ver_t old, u64 w)
{
	u64 k = w * 0xd6e8feb86659fd93ULL;

	return ((old ^ (k ^ (k >> 32))) * 0x9e3779b97f4a7c15ULL) + w;
}

/* ---------------------------------------------- volume handle helpers */

static struct bcv_tm_vol *tv(int h)
{
	return h == STDH ? &S.v : &B[h].v;
}

static u64 htracks(int h)
{
	return h == STDH ? S.tracks : B[h].tracks;
}

static u64 hsectors(int h)
{
	return h == STDH ? S.sectors : B[h].sectors;
}

static u64 hspt(int h)
{
	return h == STDH ? S.spt : B[h].spt;
}

static u64 *hinv(int h, int p)
{
	return h == STDH ? S.inv[p] : B[h].inv[p];
}

static ver_t *hdev(int h, int p)
{
	if (h != STDH)
		return B[h].dev[p];
	if (S.role[p] == BCV_POS_LEG)
		return S.dev[p];
	return B[S.owner[p]].dev[0];
}

static ver_t hcur(int h, u64 t)
{
	return h == STDH ? S.cur[t] : B[h].dev[0][t];
}

static bool attached(int b)
{
	return B[b].mm != NONE;
}

/* Positions holding the volume's data (the positions a write reaches). */
static unsigned int data_pos(int h)
{
	unsigned int p, m = 0;

	if (h != STDH)
		return (1U << B[h].legs) - 1;
	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] == BCV_POS_LEG || S.role[p] == BCV_POS_MM)
			m |= 1U << p;
	return m;
}

/* The STD's own legs: what a restore brings up to date. */
static unsigned int m_legs(void)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] == BCV_POS_LEG)
			m |= 1U << p;
	return m;
}

/* Positions the copy engine may write. */
static unsigned int copy_pos(int h)
{
	return h != STDH && attached(h) ? 0 : data_pos(h);
}

static unsigned int iset(int h, unsigned int d, u64 t)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((d & (1U << p)) && mt(hinv(h, p), t))
			m |= 1U << p;
	return m;
}

static int free_pos(void)
{
	int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] == BCV_POS_NONE)
			return p;
	return NONE;
}

/* Model bitmaps keep the bits beyond the last track zero. */
static bool any_inv(int h, int p, u64 tracks)
{
	u64 w;

	for (w = 0; w <= tracks / 64; w++)
		if (hinv(h, p)[w])
			return true;
	return false;
}

static bool pbc(u64 t, int col)
{
	return (S.pb[t] >> col) & 1;
}

/* Candidate set of a split session at track t: PB C or M4b I. */
static bool cand(int b, u64 t)
{
	return pbc(t, B[b].col) || mt(B[b].inv[BCV_M4B], t);
}

/* ------------------------------------------------------- the checks */

static void check_bits(void)
{
	int b, p;
	u64 w, j, nw = BITS_TO_LONGS(S.tracks), npb;
	unsigned long mask = 0;

	for (p = 0; p < BCV_POSITIONS; p++) {
		if (S.v.role[p] != S.role[p]) {
			FAIL("STD role[M%d] = %d, model %d", p + 1, S.v.role[p], S.role[p]);
			return;
		}
		if (S.role[p] == BCV_POS_NONE)
			continue;
		for (w = 0; w < nw; w++)
			if (S.v.inv[p][w] != S.inv[p][w]) {
				FAIL("STD Track ID M%d word %" PRIu64 ": table %016lx model %016" PRIx64,
				     p + 1, w, S.v.inv[p][w], S.inv[p][w]);
				return;
			}
		if (S.role[p] == BCV_POS_MM && S.v.mm_sess[p] != B[S.owner[p]].sess) {
			FAIL("STD M%d: wrong MM owner", p + 1);
			return;
		}
	}
	if (S.v.alloc != S.alloc) {
		FAIL("alloc %lx, model %x", S.v.alloc, S.alloc);
		return;
	}
	for (p = 0; p < 4; p++)
		mask |= (unsigned long)S.alloc << (16 * p);
	npb = (S.tracks + 3) / 4;
	for (j = 0; j < npb; j++) {
		unsigned long mw = 0, tw = S.v.pb[j];

		memcpy(&mw, &S.pb[4 * j], 4 * sizeof(u16));
		if ((tw ^ mw) & mask) {
			FAIL("PB rows %" PRIu64 "..%" PRIu64 ": table %016lx model %016lx (alloc %x)",
			     4 * j, 4 * j + 3, tw, mw, S.alloc);
			return;
		}
	}
	if (S.tracks % 4 && S.v.pb[npb - 1] >> (16 * (S.tracks % 4))) {
		FAIL("PB rows beyond the last track not zero");
		return;
	}
	for (b = 0; b < nb; b++) {
		struct mbcv *m = &B[b];
		struct bcv_tm_sess *s = m->v.session;

		nw = BITS_TO_LONGS(m->tracks);
		for (p = 0; p < BCV_POSITIONS; p++) {
			if ((unsigned int)p >= m->legs && p != BCV_M4B)
				continue;
			for (w = 0; w < nw; w++)
				if (m->v.inv[p][w] != m->inv[p][w]) {
					FAIL("BCV %d Track ID M%d word %" PRIu64 ": table %016lx model %016" PRIx64,
					     b, p + 1, w, m->v.inv[p][w], m->inv[p][w]);
					return;
				}
		}
		if ((m->col == NONE) != (s == NULL) ||
		    (s && (s != m->sess || (int)s->id != m->col || s->mm != m->mm ||
			   (int)s->state != m->state || S.v.sess[m->col] != s ||
			   s->std != &S.v || s->bcv != &m->v))) {
			FAIL("BCV %d session: table col %d mm %d state %d, model col %d mm %d state %d",
			     b, s ? (int)s->id : -1, s ? s->mm : -1, s ? (int)s->state : 0,
			     m->col, m->mm, m->state);
			return;
		}
	}
}

/* Data soundness over tracks [lo, hi] (and the split sessions' sets). */
static void check_data(u64 lo, u64 hi)
{
	u64 t, top;
	int b, p;

	top = min(hi, S.tracks - 1);
	for (p = 0; p < BCV_POSITIONS; p++) {
		const ver_t *dev;
		const u64 *inv = S.inv[p];

		if (S.role[p] == BCV_POS_NONE)
			continue;
		dev = hdev(STDH, p);
		for (t = lo; t <= top; t++)
			if (dev[t] != S.cur[t] && !mt(inv, t))
				FAILRET("STD M%d is V at track %" PRIu64 " but holds stale data", p + 1, t);
	}
	for (b = 0; b < nb; b++) {
		struct mbcv *m = &B[b];
		const ver_t *d0 = m->dev[0];
		const u64 *m4b = m->inv[BCV_M4B];
		u64 bit = 1ULL << (m->col == NONE ? 0 : m->col);

		top = min(hi, m->tracks - 1);
		for (t = lo; t <= top; t++)
			if (mt(m->inv[0], t))
				FAILRET("BCV %d primary I at %" PRIu64, b, t);
		/* An attached BCV's fixed mirrors are not written (bcv-design.rst section 8). */
		for (p = 1; p < (int)m->legs && !attached(b); p++)
			for (t = lo; t <= top; t++)
				if (m->dev[p][t] != d0[t] && !mt(m->inv[p], t))
					FAILRET("BCV %d leg M%d is V at track %" PRIu64
						" but differs from its primary", b, p + 1, t);
		if (m->state != BCV_SPLIT)
			continue;
		top = min(hi, S.tracks - 1);
		for (t = lo; t <= top; t++) {
			bool c = (S.pb[t] & bit) || mt(m4b, t);

			if (!c && d0[t] != S.cur[t])
				FAILRET("design invariant 6.1: session of BCV %d: PB U, M4b V at track %" PRIu64
					" but the STD and the BCV differ", b, t);
			if (c != mt(m->touched, t))
				FAILRET("design invariant 6.3/6.5: BCV %d track %" PRIu64 ": PB C or M4b I = %d,"
					" touched since split = %d", b, t, c, mt(m->touched, t));
		}
	}
}

static u64 m_count_inv(int p)
{
	u64 w, n = 0;

	for (w = 0; w <= S.tracks / 64; w++)
		n += __builtin_popcountll(S.inv[p][w]);
	return n;
}

static void check_counters(void)
{
	int c, b, p;
	u64 t, n;

	for (p = 0; p < BCV_POSITIONS; p++) {
		n = S.role[p] == BCV_POS_NONE ? S.tracks : m_count_inv(p);
		if (bcv_tm_count_invalid(&S.v, p) != n) {
			FAIL("count_invalid(STD, M%d) = %" PRIu64 ", model %" PRIu64,
			     p + 1, bcv_tm_count_invalid(&S.v, p), n);
			return;
		}
	}
	for (c = 0; c < BCV_SESSIONS; c++) {
		if (!(S.alloc & (1U << c)))
			continue;
		for (t = 0, n = 0; t < S.tracks; t++)
			n += pbc(t, c);
		if (bcv_tm_count_changed(&S.v, c) != n) {
			FAIL("count_changed(%d) = %" PRIu64 ", model %" PRIu64, c,
			     bcv_tm_count_changed(&S.v, c), n);
			return;
		}
		b = S.colbcv[c];
		if (B[b].state == BCV_RESTINPROG) {
			unsigned int d = m_legs();

			for (t = 0, n = 0; t < S.tracks; t++)
				n += iset(STDH, d, t) != 0;
		} else {
			n = attached(b) ? m_count_inv(B[b].mm) : 0;
		}
		if (bcv_tm_session_todo(B[b].sess) != n) {
			FAIL("session_todo(col %d) = %" PRIu64 ", model %" PRIu64, c,
			     bcv_tm_session_todo(B[b].sess), n);
			return;
		}
	}
}

static void check_all(void)
{
	check_bits();
	if (!bad)
		check_data(0, ~0ULL);
	if (!bad)
		check_counters();
}

/* --------------------------------------------------------- host I/O */

static void update_states(void);

static void note_range(u64 lo, u64 hi)
{
	chk_lo = min(chk_lo, lo);
	chk_hi = max(chk_hi, hi);
}

static bool whole_track(int h, u64 sec, u64 n, u64 t)
{
	u64 spt = hspt(h);

	return sec <= t * spt && sec + n >= min((t + 1) * spt, hsectors(h));
}

/* The model's keeper of a track nobody holds: legs first, then MMs. */
static int m_first_valid(int h, unsigned int d, u64 t)
{
	int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((d & (1U << p)) && (h != STDH || S.role[p] == BCV_POS_LEG) &&
		    !mt(hinv(h, p), t))
			return p;
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((d & (1U << p)) && !mt(hinv(h, p), t))
			return p;
	return NONE;
}

/*
 * A write to volume @h; it fails on the positions in @fail, which get junk.
 * The driver marks it with bcv_tm_write() at submission and
 * bcv_tm_write_done() at completion; a write that fails on no position
 * takes either that path or the one-call bcv_tm_write(..., written).
 * Per track, the positions that end up holding it are those that took
 * the write and were V, or took it whole; if none, the first V position
 * (legs first) is kept with whatever the failed write left there, and is
 * the volume's data from then on.  Every other position is I.
 *
 * A discard (@discard) goes to the STD's own legs only and leaves every
 * device's data as it was (devices that ignore discards); its positions
 * follow the same rule, except that it validates nothing and a track
 * whose discard reached no valid leg keeps its MMs.
 */
static void do_write_fail(int h, u64 sec, u64 n, unsigned int fail, bool discard)
{
	u64 spt = hspt(h), t, first = sec / spt, last = (sec + n - 1) / spt,
	    w = ++wid, lost = 0, got;
	unsigned int d = data_pos(h), sent = d, p;
	bool two_step = fail || discard || chance(50);
	int b, k;

	if (discard) {
		sent = 0;
		for (p = 0; p < BCV_POSITIONS; p++)
			if (S.role[p] == BCV_POS_LEG)
				sent |= 1U << p;
	}
	fail &= sent;
	T("%s %s%d sectors %" PRIu64 "+%" PRIu64 " (tracks %" PRIu64 "..%" PRIu64 ")%s",
	  discard ? "discard" : "write", h == STDH ? "STD" : "BCV", h == STDH ? 0 : h,
	  sec, n, first, last, fail ? " failing on some positions" : "");
	if (two_step)
		bcv_tm_write(tv(h), sec, n, 0);
	else
		bcv_tm_write(tv(h), sec, n, d);
	st.writes_failed += fail != 0;
	if (h == STDH)
		st.writes_std++;
	else
		st.writes_bcv++;
	for (t = first; t <= last; t++) {
		bool whole = !discard && whole_track(h, sec, n, t);
		ver_t nv = whole ? fresh() : 0;
		unsigned int hold = 0, untouched = 0;

		if (h == STDH) {
			S.pb[t] |= S.alloc;
			for (b = 0; b < nb; b++)
				if (B[b].state == BCV_SPLIT)
					ms(B[b].touched, t);
		} else {
			ms(B[h].inv[BCV_M4B], t);
			if (B[h].state == BCV_SPLIT && t < S.tracks)
				ms(B[h].touched, t);
		}
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((sent & ~fail & (1U << p)) && (whole || !mt(hinv(h, p), t)))
				hold |= 1U << p;
		k = NONE;
		if (!hold) {
			for (p = 0; p < BCV_POSITIONS; p++)
				if ((d & ~sent & (1U << p)) && !mt(hinv(h, p), t))
					untouched |= 1U << p;
			if (!untouched) {
				k = m_first_valid(h, sent, t);
				if (k == NONE)
					FAIL("track %" PRIu64 " had no valid position", t);
			}
			lost += !discard || !untouched;
		}
		/* The data. */
		for (p = 0; p < BCV_POSITIONS && !discard; p++) {
			if (!(sent & (1U << p)))
				continue;
			if (fail & (1U << p))
				hdev(h, p)[t] = fresh();	/* torn */
			else
				hdev(h, p)[t] = whole ? nv : mixv(hdev(h, p)[t], w);
		}
		if (h == STDH && !discard)
			S.cur[t] = hold ? (whole ? nv : mixv(S.cur[t], w)) :
				   k != NONE ? hdev(h, k)[t] : S.cur[t];
		/* The bits. */
		for (p = 0; p < BCV_POSITIONS; p++) {
			if (!(d & (1U << p)))
				continue;
			if ((hold | untouched) & (1U << p) || k == (int)p) {
				if (whole)
					mc(hinv(h, p), t);
			} else {
				ms(hinv(h, p), t);
			}
		}
		if (fl.on && fl.h == h && t >= fl.c.start && t < fl.c.start + fl.c.len) {
			u8 *f = &fl.flag[t - fl.c.start];

			*f = whole ? 2 : *f ? *f : 1;
		}
	}
	if (two_step) {
		got = bcv_tm_write_done(tv(h), sec, n, sent, sent & ~fail, !discard);
		if (got != lost)
			FAIL("write_done = %" PRIu64 " tracks lost, model %" PRIu64, got, lost);
	}
	note_range(first, last);
	if ((fail || discard) && h == STDH)
		update_states();
}

static void do_write(int h, u64 sec, u64 n)
{
	do_write_fail(h, sec, n, 0, false);
}

/*
 * Now and then a write fails: on the STD on any positions (one, several,
 * all, the only valid one), on a BCV only on fixed mirrors and only where
 * its primary holds the data (the primary is the model's view of the BCV).
 * And now and then a STD write is a discard.
 */
static void write_maybe_failing(int h, u64 sec, u64 n)
{
	unsigned int d = data_pos(h), fail = 0, p = rr(BCV_POSITIONS);
	bool discard = h == STDH && chance(3);

	if (h == STDH && chance(5))
		fail = d & (chance(30) ? d : (unsigned int)(1 + rr(15)));
	else if (h != STDH && chance(4) && p > 0 && (d & (1U << p)))
		fail = 1U << p;
	do_write_fail(h, sec, n, fail, discard);
}

/* A random range of a volume of @sectors sectors, @spt sectors a track. */
static void gen_range(u64 sectors, u64 spt, u64 *sec, u64 *n)
{
	u64 tracks = (sectors + spt - 1) / spt, t = rr(tracks);

	switch (rr(10)) {
	case 0:		/* inside one track */
		*sec = t * spt + rr(spt);
		if (*sec >= sectors)
			*sec = t * spt;
		*n = 1 + rr(min(spt, sectors) - *sec % spt);
		if (*sec + *n > sectors)
			*n = sectors - *sec;
		break;
	case 1:		/* whole tracks */
	case 2:
		*sec = t * spt;
		*n = min((1 + rr(min(tracks - t, 8))) * spt, sectors - *sec);
		break;
	case 3:		/* to the end of the volume */
		*sec = rr(sectors);
		*n = sectors - *sec;
		break;
	case 4:		/* a track start to the end */
		*sec = t * spt;
		*n = sectors - *sec;
		break;
	case 5:		/* everything */
		*sec = 0;
		*n = sectors;
		break;
	default:	/* anywhere, up to 4 tracks */
		*sec = rr(sectors);
		*n = 1 + rr(min(sectors - *sec, 4 * spt));
		break;
	}
}

static void op_write_std(void)
{
	u64 sec, n;

	gen_range(S.sectors, S.spt, &sec, &n);
	write_maybe_failing(STDH, sec, n);
}

static int pick_detached_bcv(void)
{
	int b, k = 0, cand_b[MAXB];

	for (b = 0; b < nb; b++)
		if (!attached(b))
			cand_b[k++] = b;
	return k ? cand_b[rr(k)] : NONE;
}

static void op_write_bcv(void)
{
	int b = pick_detached_bcv();
	u64 sec, n;

	if (b == NONE) {
		op_write_std();
		return;
	}
	gen_range(B[b].sectors, B[b].spt, &sec, &n);
	write_maybe_failing(b, sec, n);
}

static void op_read(void)
{
	int h = chance(70) ? STDH : pick_detached_bcv(), pos, p;
	u64 sec, n, t, first, last, top;
	unsigned int d;

	if (h == NONE)
		h = STDH;
	gen_range(hsectors(h), hspt(h), &sec, &n);
	first = sec / hspt(h);
	last = (sec + n - 1) / hspt(h);
	top = min(last, htracks(h) - 1);
	pos = bcv_tm_read_pos(tv(h), sec, n);
	st.reads++;
	d = data_pos(h);
	T("read %d %" PRIu64 "+%" PRIu64 " -> M%d", h, sec, n, pos + 1);
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (!(d & (1U << p)))
			continue;
		for (t = first; t <= top && !mt(hinv(h, p), t); t++)
			;
		if (t > top)
			break;		/* p is valid for the whole read */
	}
	if (p == BCV_POSITIONS) {
		if (pos != NONE)
			FAIL("read: no position valid for all of it, read_pos says M%d", pos + 1);
		return;
	}
	if (pos < 0 || pos >= BCV_POSITIONS || !(d & (1U << pos))) {
		FAIL("read: M%d is valid throughout, read_pos says %d", p + 1, pos);
		return;
	}
	for (t = first; t <= top; t++)
		if (mt(hinv(h, pos), t) || hdev(h, pos)[t] != hcur(h, t)) {
			FAIL("read of track %" PRIu64 " from M%d returns %s data", t, pos + 1,
			     mt(hinv(h, pos), t) ? "invalid" : "stale");
			return;
		}
}

/* ---------------------------------------------------- session states */

static unsigned int m_update_states(void)
{
	unsigned int changed = 0;
	int c, b, old, p;

	for (c = 0; c < BCV_SESSIONS; c++) {
		b = S.colbcv[c];
		if (b == NONE || !attached(b))
			continue;
		old = B[b].state;
		if (B[b].state == BCV_RESTINPROG) {
			bool todo = false;

			for (p = 0; p < BCV_POSITIONS; p++)
				if (m_legs() & (1U << p))
					todo |= any_inv(STDH, p, S.tracks);
			if (!todo)
				B[b].state = BCV_RESTORED;
		} else if (any_inv(STDH, B[b].mm, S.tracks)) {
			B[b].state = BCV_SYNCINPROG;
		} else if (B[b].state == BCV_SYNCINPROG) {
			B[b].state = BCV_SYNCHRONIZED;
		}
		if (B[b].state != old)
			changed |= 1U << c;
	}
	return changed;
}

static void update_states(void)
{
	unsigned int got = bcv_tm_update_states(&S.v), want = m_update_states();

	if (got != want)
		FAIL("update_states changed %x, model %x", got, want);
}

/* ------------------------------------------------------- copy engine */

/* One copy step on volume @h; false if there was nothing to copy. */
static bool copy_step(int h, u64 from, u64 max, bool racy, bool ok)
{
	struct bcv_tm_copy c;
	unsigned int d = copy_pos(h), dst = 0, p;
	u64 t, t0, tracks = htracks(h), i, want_done = 0, done;
	bool got = bcv_tm_next_copy(tv(h), from, max, &c);
	int k;

	for (t0 = from; d && t0 < tracks; t0++) {
		dst = iset(h, d, t0);
		if (dst && dst != d)
			break;
	}
	if (!d || t0 >= tracks) {
		if (got)
			FAIL("next_copy(%d, from %" PRIu64 ") found %" PRIu64 "+%" PRIu64
			     " where the model has nothing to copy", h, from, c.start, c.len);
		return false;
	}
	if (!got) {
		FAIL("next_copy(%d, from %" PRIu64 ") found nothing; model: track %" PRIu64
		     " dst %x", h, from, t0, dst);
		return false;
	}
	T("copy %d: from %" PRIu64 " max %" PRIu64 ": %" PRIu64 "+%" PRIu64 " M%d -> %x",
	  h, from, max, c.start, c.len, c.src + 1, c.dst);
	if (c.start != t0 || c.dst != dst || !c.len || c.len > max ||
	    c.start + c.len > tracks) {
		FAIL("next_copy(%d, from %" PRIu64 ", max %" PRIu64 ") = %" PRIu64 "+%" PRIu64
		     " dst %x; model: first track %" PRIu64 " dst %x",
		     h, from, max, c.start, c.len, c.dst, t0, dst);
		return false;
	}
	if (c.src < 0 || c.src >= BCV_POSITIONS || !(d & ~dst & (1U << c.src))) {
		FAIL("next_copy: source M%d not a valid data position", c.src + 1);
		return false;
	}
	/* Legs first (the STD's primary for establish / reestablish). */
	if (h == STDH && S.role[c.src] != BCV_POS_LEG) {
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((d & ~dst & (1U << p)) && S.role[p] == BCV_POS_LEG) {
				FAIL("next_copy: source is MM M%d though leg M%d is valid",
				     c.src + 1, p + 1);
				return false;
			}
	}
	for (t = c.start; t < c.start + c.len; t++)
		if (iset(h, d, t) != dst) {
			FAIL("next_copy: run %" PRIu64 "+%" PRIu64 " mixes destination sets at %" PRIu64,
			     c.start, c.len, t);
			return false;
		}
	if (c.len < max && t < tracks && iset(h, d, t) == dst) {
		FAIL("next_copy: run %" PRIu64 "+%" PRIu64 " (max %" PRIu64 ") could go on at %" PRIu64,
		     c.start, c.len, max, t);
		return false;
	}

	bcv_tm_copy_begin(tv(h), &c);
	fl.on = true;
	fl.h = h;
	fl.c = c;
	for (i = 0; i < c.len; i++) {
		fl.snap[i] = hdev(h, c.src)[c.start + i];
		fl.flag[i] = 0;
	}
	note_range(c.start, c.start + c.len - 1);
	if (racy) {
		st.copies_raced++;
		for (k = 1 + rr(2); k > 0; k--) {
			u64 spt = hspt(h), sectors = hsectors(h);
			u64 sec = (c.start + rr(c.len)) * spt + rr(spt), n;

			if (sec >= sectors)
				sec = sectors - 1;
			if (chance(30)) {		/* the whole track */
				sec -= sec % spt;
				n = min(spt, sectors - sec);
			} else {
				n = 1 + rr(min(2 * spt, sectors - sec));
			}
			do_write(h, sec, n);
		}
	}
	done = bcv_tm_copy_done(tv(h), &c, ok);
	fl.on = false;
	st.copies++;
	st.copies_failed += !ok;
	for (i = 0; i < c.len; i++) {
		t = c.start + i;
		if (fl.flag[i] == 2)
			continue;	/* a whole-track write since: its data */
		for (p = 0; p < BCV_POSITIONS; p++) {
			if (!(c.dst & (1U << p)))
				continue;
			/* Stale (raced) or junk (failed) data lands anyway. */
			hdev(h, p)[t] = ok ? fl.snap[i] : fresh();
			if (ok && !fl.flag[i])
				mc(hinv(h, p), t);
		}
		want_done += ok && !fl.flag[i];
	}
	T("  done(%d) = %" PRIu64, ok, done);
	if (done != want_done)
		FAIL("copy_done(%d) of %" PRIu64 "+%" PRIu64 " = %" PRIu64 ", model %" PRIu64,
		     ok, c.start, c.len, done, want_done);
	st.tracks_copied += done;
	if (h == STDH)
		update_states();
	return true;
}

static int pick_copy_vol(void)
{
	int b;

	if (chance(70))
		return STDH;
	b = pick_detached_bcv();
	return b == NONE ? STDH : b;
}

static u64 rand_max(void)
{
	return chance(50) ? 1 + rr(8) : 1 + rr(300);
}

static void op_copy(void)
{
	int h = pick_copy_vol();
	u64 from = chance(50) ? 0 : rr(htracks(h) + 2);

	copy_step(h, from, rand_max(), chance(25), !chance(8));
}

/* Copy everything, no host writes; then design invariant 6.4. */
static void op_drain(void)
{
	int h, b, p;
	u64 t, from, max = rand_max();

	st.drains++;
	T("drain");
	for (h = STDH; h < nb && !bad; h++) {
		for (from = 0; !bad;) {
			if (!copy_step(h, from, max, false, true)) {
				if (from == 0)
					break;
				from = 0;
				continue;
			}
			from = rr(htracks(h));
		}
	}
	/* Whole-track writes may have validated everything: no copy ran. */
	update_states();
	if (bad)
		return;
	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] != BCV_POS_NONE && any_inv(STDH, p, S.tracks))
			FAILRET("after drain: STD M%d still has I tracks", p + 1);
	for (b = 0; b < nb; b++) {
		if (attached(b)) {
			if (B[b].state != BCV_SYNCHRONIZED && B[b].state != BCV_RESTORED)
				FAILRET("after drain: BCV %d attached in state %d", b, B[b].state);
			for (t = 0; t < S.tracks; t++)
				if (B[b].dev[0][t] != S.cur[t])
					FAILRET("design invariant 6.4: BCV %d %s but differs at %" PRIu64,
						    b, B[b].state == BCV_RESTORED ? "restored" : "synchronized", t);
		} else {
			for (p = 1; p < (int)B[b].legs; p++)
				if (any_inv(b, p, B[b].tracks))
					FAILRET("after drain: BCV %d BFM M%d still I", b, p + 1);
		}
		for (p = 1; p < (int)B[b].legs && !attached(b); p++)
			for (t = 0; t < B[b].tracks; t++)
				if (B[b].dev[p][t] != B[b].dev[0][t])
					FAILRET("after drain: BCV %d leg M%d differs at %" PRIu64, b, p + 1, t);
	}
	for (p = 0; p < (int)S.legs; p++)
		for (t = 0; t < S.tracks; t++)
			if (S.dev[p][t] != S.cur[t])
				FAILRET("after drain: STD leg M%d differs at %" PRIu64, p + 1, t);
	for (b = 0; b < nb; b++)
		if (B[b].sess && attached(b) && bcv_tm_session_todo(B[b].sess))
			FAILRET("after drain: session_todo of BCV %d not 0", b);
}

/* ---------------------------------------------------------- commands */

#define E_BIT(e)	((e) == EBUSY ? 1U : (e) == EINVAL ? 2U : (e) == ENOENT ? 4U : 8U)

/* @allowed: the errnos of every failing precondition (none: must pass). */
static bool expect_rc(int kind, int rc, unsigned int allowed)
{
	T("  -> %d (allowed %x)", rc, allowed);
	if (!allowed && rc) {
		FAIL("%s refused with %d; the model expected it to pass", cmd_name[kind], rc);
		return false;
	}
	if (allowed && (rc >= 0 || rc < -200 || !(E_BIT(-rc) & allowed))) {
		FAIL("%s returned %d; the model expected a refusal in %x", cmd_name[kind], rc, allowed);
		return false;
	}
	if (rc) {
		st.cmd_refused[kind]++;
		st.errs[-rc == EBUSY ? 0 : -rc == EINVAL ? 1 : -rc == ENOENT ? 2 : 3]++;
	} else {
		st.cmd_ok[kind]++;
	}
	return !rc;
}

static bool take_pos(int b)
{
	int pos = B[b].sess->mm;

	if (pos < 0 || pos >= BCV_POSITIONS || S.role[pos] != BCV_POS_NONE) {
		FAIL("BCV %d attached at M%d, which is not free", b, pos + 1);
		return false;
	}
	S.role[pos] = BCV_POS_MM;
	S.owner[pos] = b;
	B[b].mm = pos;
	return true;
}

/* Split sessions other than @b, and their candidate sets, before a command. */
static u64 *cand_before[MAXB];

static void cand_snap(void)
{
	int b;
	u64 t;

	for (b = 0; b < nb; b++) {
		memset(cand_before[b], 0, (S.tracks / 64 + 1) * sizeof(u64));
		if (B[b].state == BCV_SPLIT)
			for (t = 0; t < S.tracks; t++)
				if (cand(b, t))
					ms(cand_before[b], t);
	}
}

/* design invariant 6.5: a command on @self left every other split session's set alone
 * (a restore adds its restored tracks @added). */
static void cand_check(int self, const u64 *added)
{
	int b;
	u64 t;

	for (b = 0; b < nb && !bad; b++) {
		if (b == self || B[b].state != BCV_SPLIT)
			continue;
		for (t = 0; t < S.tracks; t++)
			if (cand(b, t) != (mt(cand_before[b], t) || (added && mt(added, t)))) {
				FAIL("design invariant 6.5: a command on BCV %d changed what REESTABLISH of BCV %d copies (track %" PRIu64 ")",
				     self, b, t);
				return;
			}
	}
}

static u64 *rset;	/* scratch: tracks a command marks */

static void cmd_establish(int b, const struct bcv_tm_cmd *cmd)
{
	struct mbcv *m = &B[b];
	unsigned int allowed = 0;
	struct bcv_tm_sess *spare = calloc(1, sizeof(*spare));
	bool had = m->col != NONE;
	int rc, col;
	u64 t;

	if (m->bad)
		allowed |= E_BIT(EINVAL);
	if (attached(b) || cmd->bcv_open)
		allowed |= E_BIT(EBUSY);
	if (!had && S.alloc == 0xffff)
		allowed |= E_BIT(ENOSPC);
	if (free_pos() == NONE)
		allowed |= E_BIT(EBUSY);
	T("ESTABLISH STD,%d%s", b, cmd->bcv_open ? " (BCV open)" : "");
	rc = bcv_tm_establish(&S.v, &m->v, cmd, &spare);
	if (rc && !spare)
		FAIL("refused ESTABLISH took the spare session");
	if (!rc && had && !spare)
		FAIL("ESTABLISH of an existing session took a new one");
	if (!rc && !had)
		m->sess = m->v.session;
	free(spare);
	if (!expect_rc(C_EST, rc, allowed) || bad)
		return;
	if (!had) {
		col = m->sess ? (int)m->sess->id : -1;
		if (col < 0 || col >= BCV_SESSIONS || (S.alloc & (1U << col)))
			FAILRET("ESTABLISH took column %d, not a free one", col);
		m->col = col;
		S.alloc |= 1U << col;
		S.colbcv[col] = b;
	}
	if (!take_pos(b))
		return;
	for (t = 0; t < S.tracks; t++) {
		S.pb[t] |= 1U << m->col;
		ms(S.inv[m->mm], t);
	}
	m->state = BCV_SYNCINPROG;
	if (bcv_tm_count_invalid(&S.v, m->mm) != S.tracks)
		FAIL("design invariant 6.3: ESTABLISH does not copy every track");
}

/*
 * SPLIT of @b would leave some STD track with no valid position (its legs
 * failed and the MM is its only good copy).  The tables accept it; whether
 * they should is a question for the lead, so the test does not go there.
 */
static bool split_orphans(int b)
{
	unsigned int d;
	u64 t;

	if (!attached(b))
		return false;
	d = data_pos(STDH) & ~(1U << B[b].mm);
	for (t = 0; t < S.tracks; t++)
		if (iset(STDH, d, t) == d)
			return true;
	return false;
}

static void cmd_split(int b, bool diff)
{
	struct mbcv *m = &B[b];
	struct bcv_tm_cmd cmd = { .diff = diff };
	unsigned int allowed = 0;
	int rc, p;
	u64 t;

	if (m->col == NONE)
		allowed = E_BIT(ENOENT);
	else if ((m->state != BCV_SYNCHRONIZED && m->state != BCV_RESTORED) ||
		 any_inv(STDH, m->mm, S.tracks))
		allowed = E_BIT(EBUSY);
	T("SPLIT%s STD,%d", diff ? " --diff" : "", b);
	rc = bcv_tm_split(&S.v, &m->v, &cmd);
	if (!expect_rc(diff ? C_SPLITD : C_SPLIT, rc, allowed))
		return;
	/* The STD wrote the BCV's primary, not past its own end. */
	for (p = 1; p < (int)m->legs; p++)
		for (t = 0; t < S.tracks; t++)
			if (!diff || pbc(t, m->col))
				ms(m->inv[p], t);
	for (t = 0; t < S.tracks; t++)
		mc(m->inv[0], t);
	for (t = 0; t < m->tracks; t++)
		mc(m->inv[BCV_M4B], t);
	for (t = 0; t < S.tracks; t++) {
		S.pb[t] &= ~(1U << m->col);
		if (m->dev[0][t] != S.cur[t])
			FAILRET("design invariant 6.2: BCV %d split with data differing from the STD at %" PRIu64, b, t);
	}
	memset(S.inv[m->mm], 0, (S.tracks / 64 + 1) * sizeof(u64));
	S.role[m->mm] = BCV_POS_NONE;
	m->mm = NONE;
	m->state = BCV_SPLIT;
	memset(m->touched, 0, (S.tracks / 64 + 1) * sizeof(u64));
}

static void cmd_reestablish(int b, const struct bcv_tm_cmd *cmd)
{
	struct mbcv *m = &B[b];
	unsigned int allowed = 0;
	u64 t, n = 0;
	int rc;

	if (m->col == NONE)
		allowed = E_BIT(ENOENT);
	else if (m->state != BCV_SPLIT || cmd->bcv_open || free_pos() == NONE)
		allowed = E_BIT(EBUSY);
	T("REESTABLISH STD,%d%s", b, cmd->bcv_open ? " (BCV open)" : "");
	rc = bcv_tm_reestablish(&S.v, &m->v, cmd);
	if (!expect_rc(C_REEST, rc, allowed) || !take_pos(b))
		return;
	for (t = 0; t < S.tracks; t++) {
		bool r = cand(b, t);

		/* design invariant 6.3: exactly the tracks touched since the split ... */
		if (r != mt(m->touched, t))
			FAILRET("REESTABLISH: track %" PRIu64 " PB C or M4b I = %d, touched = %d",
				    t, r, mt(m->touched, t));
		/* ... which include every track that differs. */
		if (!r && m->dev[0][t] != S.cur[t])
			FAILRET("REESTABLISH skips track %" PRIu64 ", which differs", t);
		if (r) {
			ms(S.inv[m->mm], t);
			S.pb[t] |= 1U << m->col;
			n++;
		}
	}
	m->state = BCV_SYNCINPROG;
	st.reest_tracks += n;
	if (bcv_tm_count_invalid(&S.v, m->mm) != n)
		FAIL("REESTABLISH marks %" PRIu64 " tracks, model %" PRIu64,
		     bcv_tm_count_invalid(&S.v, m->mm), n);
}

static void cmd_restore(int b, const struct bcv_tm_cmd *cmd)
{
	struct mbcv *m = &B[b];
	unsigned int allowed = 0, targets, others;
	u64 t, n = 0;
	int rc, p, c;

	memset(rset, 0, (S.tracks / 64 + 1) * sizeof(u64));
	if (m->col == NONE) {
		allowed = E_BIT(ENOENT);
	} else {
		if (m->state != BCV_SPLIT || (cmd->std_open && !cmd->force) ||
		    cmd->bcv_open || free_pos() == NONE)
			allowed |= E_BIT(EBUSY);
		for (p = 0; p < (int)m->legs; p++)
			if (any_inv(b, p, m->tracks))
				allowed |= E_BIT(EBUSY);
		for (c = 0; c < nb; c++)
			if (B[c].state == BCV_RESTINPROG)
				allowed |= E_BIT(EBUSY);
	}
	T("%s STD,%d%s%s%s", cmd->incremental ? "INCR RESTORE" : "RESTORE", b,
	  cmd->std_open ? " (STD open)" : "", cmd->force ? " --force" : "",
	  cmd->bcv_open ? " (BCV open)" : "");
	targets = data_pos(STDH);
	rc = bcv_tm_restore(&S.v, &m->v, cmd);
	if (!expect_rc(cmd->incremental ? C_RESTI : C_REST, rc, allowed) || !take_pos(b))
		return;
	others = S.alloc & ~(1U << m->col);
	for (t = 0; t < S.tracks; t++) {
		bool r = !cmd->incremental || cand(b, t);

		if (cmd->incremental && r != mt(m->touched, t))
			FAILRET("INCR RESTORE: track %" PRIu64 " in R = %d, touched = %d",
				    t, r, mt(m->touched, t));
		if (!r && m->dev[0][t] != S.cur[t])
			FAILRET("INCR RESTORE skips track %" PRIu64 ", which differs", t);
		if (r) {
			for (p = 0; p < BCV_POSITIONS; p++)
				if (targets & (1U << p))
					ms(S.inv[p], t);
			S.pb[t] |= others;
			ms(rset, t);
			n++;
		}
		S.pb[t] &= ~(1U << m->col);
		/* The STD's data is the BCV's from now on. */
		S.cur[t] = m->dev[0][t];
	}
	for (c = 0; c < nb; c++)
		if (c != b && B[c].state == BCV_SPLIT)
			for (t = 0; t < S.tracks; t++)
				if (mt(rset, t))
					ms(B[c].touched, t);
	for (t = 0; t < S.tracks; t++)
		mc(S.inv[m->mm], t);
	m->state = BCV_RESTINPROG;
	m_update_states();
	if (cmd->incremental)
		st.incr_tracks += n;
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((targets & (1U << p)) && bcv_tm_count_invalid(&S.v, p) < n)
			FAIL("RESTORE: M%d has fewer I tracks than restored", p + 1);
}

static void cmd_terminate(int b)
{
	struct mbcv *m = &B[b];
	struct bcv_tm_sess *freed = NULL;
	unsigned int allowed = 0;
	int rc;

	if (m->col == NONE)
		allowed = E_BIT(ENOENT);
	else if (m->state != BCV_SPLIT)
		allowed = E_BIT(EBUSY);
	T("TERMINATE STD,%d", b);
	rc = bcv_tm_terminate(&S.v, &m->v, &freed);
	if (!rc && freed != m->sess)
		FAIL("TERMINATE returned another session");
	free(freed);
	if (!expect_rc(C_TERM, rc, allowed))
		return;
	S.alloc &= ~(1U << m->col);
	S.colbcv[m->col] = NONE;
	m->col = NONE;
	m->state = 0;
	m->sess = NULL;
}

/* A command with the STD and the BCV swapped: ENOENT or EINVAL. */
static void cmd_swapped(int b)
{
	struct bcv_tm_cmd cmd = { 0 };
	struct bcv_tm_sess *spare = calloc(1, sizeof(*spare)), *freed = NULL;
	int rc = 0;

	switch (rr(5)) {
	case 0:
		rc = bcv_tm_establish(&B[b].v, &S.v, &cmd, &spare);
		break;
	case 1:
		rc = bcv_tm_split(&B[b].v, &S.v, &cmd);
		break;
	case 2:
		rc = bcv_tm_reestablish(&B[b].v, &S.v, &cmd);
		break;
	case 3:
		rc = bcv_tm_restore(&B[b].v, &S.v, &cmd);
		break;
	case 4:
		rc = bcv_tm_terminate(&B[b].v, &S.v, &freed);
		break;
	}
	free(spare);
	free(freed);
	T("swapped command on BCV %d -> %d", b, rc);
	expect_rc(C_SWAP, rc, E_BIT(ENOENT) | E_BIT(EINVAL));
}

static void op_command(void)
{
	int b = rr(nb), self = b;
	struct bcv_tm_cmd cmd = {
		.std_open = chance(10), .force = chance(50), .bcv_open = chance(7),
	};
	u64 *added = NULL, r;

	cand_snap();
	r = rr(24);
	if (r < 4) {
		cmd_establish(b, &cmd);
	} else if (r < 10) {
		if (split_orphans(b)) {
			T("SPLIT STD,%d withheld: the MM is the only valid copy of a track", b);
			st.split_withheld++;
			return;
		}
		cmd_split(b, chance(50));
	} else if (r < 15) {
		cmd_reestablish(b, &cmd);
	} else if (r < 21) {
		cmd.incremental = chance(70);
		cmd_restore(b, &cmd);
		added = rset;
	} else if (r < 23) {
		cmd_terminate(b);
	} else {
		cmd_swapped(b);
		self = NONE;
	}
	if (!bad)
		cand_check(self, added);
	note_range(0, ~0ULL);
}

/* ------------------------------------------------------------- setup */

static ver_t *vnew(u64 tracks)
{
	ver_t *a = calloc(tracks + 1, sizeof(ver_t));

	if (!a)
		exit(2);
	return a;
}

static void setup(void)
{
	static const unsigned int shifts[] = { 9, 10, 12, 13, 16 };
	u64 t, n, maxt;
	int b, p;

	memset(&S, 0, sizeof(S));
	memset(B, 0, sizeof(B));
	shift = shifts[rr(5)];
	S.spt = 1ULL << (shift - 9);
	switch (rr(4)) {
	case 0:
		n = 1 + rr(8);
		break;
	case 1:
		n = 1 + rr(70);
		break;
	default:
		n = 1 + rr(300);
		break;
	}
	S.sectors = (n - 1) * S.spt + 1 + (chance(50) ? S.spt - 1 : rr(S.spt));
	S.legs = chance(70) ? 1 : chance(85) ? 2 : 3;
	tm_vinit(&S.v, S.sectors, shift, true, S.legs);
	S.tracks = S.v.tracks;
	maxt = S.tracks;
	S.cur = vnew(S.tracks);
	S.pb = calloc(S.tracks + 4, sizeof(u16));
	for (p = 0; p < BCV_POSITIONS; p++) {
		S.inv[p] = mnew(S.tracks);
		S.role[p] = p < (int)S.legs ? BCV_POS_LEG : BCV_POS_NONE;
		S.dev[p] = vnew(S.tracks);
	}
	for (t = 0; t < S.tracks; t++) {
		S.cur[t] = fresh();
		for (p = 0; p < (int)S.legs; p++)
			S.dev[p][t] = S.cur[t];
	}
	for (p = 0; p < BCV_SESSIONS; p++)
		S.colbcv[p] = NONE;

	nb = 3 + rr(2);
	for (b = 0; b < nb; b++) {
		struct mbcv *m = &B[b];

		m->shift = shift;
		m->legs = 1 + rr(3);
		m->sectors = S.sectors;
		if (chance(25))
			m->sectors += 1 + rr(3 * S.spt);
		if (chance(8)) {
			m->bad = true;
			if (S.sectors > 1 && chance(50))
				m->sectors = S.sectors - 1 - rr(min(S.sectors - 1, 2 * S.spt));
			else
				m->shift = shift == 9 ? 10 : chance(50) ? shift - 1 : shift + 1;
		}
		m->spt = 1ULL << (m->shift - 9);
		tm_vinit(&m->v, m->sectors, m->shift, false, m->legs);
		m->tracks = m->v.tracks;
		maxt = max(maxt, m->tracks);
		for (p = 0; p < BCV_POSITIONS; p++) {
			m->inv[p] = mnew(m->tracks);
			m->dev[p] = vnew(m->tracks);
		}
		for (t = 0; t < m->tracks; t++) {
			ver_t v = fresh();

			for (p = 0; p < (int)m->legs; p++)
				m->dev[p][t] = v;
		}
		m->col = NONE;
		m->mm = NONE;
		m->touched = mnew(S.tracks);
		cand_before[b] = mnew(S.tracks);
	}
	rset = mnew(S.tracks);
	fl.snap = vnew(maxt);
	fl.flag = calloc(maxt + 1, 1);
}

static void teardown(void)
{
	int b, p;

	for (p = 0; p < BCV_SESSIONS; p++)
		free(S.v.sess[p]);
	bcv_tm_vol_free(&S.v);
	free(S.cur);
	free(S.pb);
	for (p = 0; p < BCV_POSITIONS; p++) {
		free(S.inv[p]);
		free(S.dev[p]);
	}
	for (b = 0; b < nb; b++) {
		bcv_tm_vol_free(&B[b].v);
		for (p = 0; p < BCV_POSITIONS; p++) {
			free(B[b].inv[p]);
			free(B[b].dev[p]);
		}
		free(B[b].touched);
		free(cand_before[b]);
	}
	free(rset);
	free(fl.snap);
	free(fl.flag);
}

static bool run_seed(u64 s, u64 ops)
{
	rng = seed = s;
	bad = 0;
	setup();
	T("seed %" PRIu64 ": STD %" PRIu64 " sectors (%" PRIu64 " tracks of %" PRIu64
	  " sectors), %u legs; %d BCVs", s, S.sectors, S.tracks, S.spt, S.legs, nb);
	for (opno = 0; opno < ops && !bad; opno++) {
		unsigned int r = rr(100);

		chk_lo = ~0ULL;
		chk_hi = 0;
		if (r < 28)
			op_write_std();
		else if (r < 38)
			op_write_bcv();
		else if (r < 68)
			op_copy();
		else if (r < 73)
			op_read();
		else if (r < 75)
			op_drain();
		else
			op_command();
		if (bad)
			break;
		check_bits();
		if (!bad && (opno % 128 == 0 || chk_hi == ~0ULL))
			note_range(0, ~0ULL);
		if (!bad && chk_lo <= chk_hi)
			check_data(chk_lo, chk_hi);
		if (!bad && chk_hi == ~0ULL)
			check_counters();
	}
	if (!bad) {
		op_drain();
		check_all();
	}
	st.ops += opno;
	teardown();
	return !bad;
}

int main(int argc, char **argv)
{
	u64 total = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	u64 per = 10000, done = 0, s, nseeds = 0;
	int k;

	trace = argc > 3 && atoi(argv[3]);
	if (argc > 2) {
		s = strtoull(argv[2], NULL, 0);
		CHECK(run_seed(s, total), "seed %" PRIu64 ": %" PRIu64 " operations", s, st.ops);
		return tm_done();
	}
	if (total < 100 * per)
		per = max(total / 100, 100);
	for (s = 1; done < total; s++, nseeds++) {
		u64 n = min(per, total - done), before = st.ops;
		bool ok = run_seed(SEED0 + s, n);

		done += n;
		if (!ok || s % 10 == 0 || done >= total)
			CHECK(ok, "seed %" PRIu64 ": %" PRIu64 " operations (%" PRIu64 " so far)",
			      SEED0 + s, st.ops - before, st.ops);
		if (!ok)
			printf("# reproduce: %s %" PRIu64 " %" PRIu64 " 1\n", argv[0], n,
			       SEED0 + s);
	}
	printf("# %" PRIu64 " seeds, %" PRIu64 " operations: %" PRIu64 " STD writes, %" PRIu64
	       " BCV writes (%" PRIu64 " failing on a leg), %" PRIu64 " copies (%" PRIu64 " failed, %" PRIu64
	       " with racing writes), %" PRIu64 " tracks copied, %" PRIu64 " reads, %" PRIu64 " drains\n",
	       nseeds, st.ops, st.writes_std, st.writes_bcv, st.writes_failed, st.copies, st.copies_failed,
	       st.copies_raced, st.tracks_copied, st.reads, st.drains);
	for (k = 0; k < 8; k++)
		printf("# %-13s %8" PRIu64 " accepted %8" PRIu64 " refused\n", cmd_name[k],
		       st.cmd_ok[k], st.cmd_refused[k]);
	printf("# refusals: EBUSY %" PRIu64 ", EINVAL %" PRIu64 ", ENOENT %" PRIu64
	       ", ENOSPC %" PRIu64 "; REESTABLISH marked %" PRIu64 " tracks, INCR RESTORE %" PRIu64 "\n",
	       st.errs[0], st.errs[1], st.errs[2], st.errs[3], st.reest_tracks, st.incr_tracks);
	printf("# SPLITs withheld because the MM held the only valid copy of a track: %" PRIu64 "\n",
	       st.split_withheld);
	return tm_done();
}
