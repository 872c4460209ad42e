// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_tm: bcv's table library (bcv_trackmap.c) run the way the driver
 * runs it, against a shadow of the data, under libFuzzer.
 *
 * The fuzzer's input is a stream of choices.  It sets up a STD and up to
 * three BCVs on small disks and then plays, one step at a time, what the
 * driver does and what can happen to it: host writes (whole and partial
 * tracks, FUA, with a preflush, failing on chosen positions, completing in
 * any order), reads, discards and write-zeroes, cache flushes (failing on
 * chosen positions), copy jobs of the engine (started, begun, completing
 * or failing on read or write), checkpoints, every command with every
 * flag, a consistent split, legs added, removed and gone, a volume
 * stopped and assembled again, and power cuts (only what the protocol made
 * durable survives; the volumes are assembled from it as the driver does).
 *
 * The model is three layers:
 *  - disks: a version per track, on the media and in a volatile write
 *    cache that a flush makes durable and a power cut may lose, plus the
 *    metadata area (tables and two superblock copies per leg, written with
 *    FUA, so durable once written);
 *  - the driver's steps, each written after the kernel function it
 *    mirrors (named in its comment), calling the real table code and
 *    keeping the driver's in-memory metadata image (bcv_meta.c's dur);
 *  - the host's view: per volume and track the versions a read may return
 *    now (cur) and after a power cut (crash: the state as of the last
 *    completed flush and anything written since).
 *
 * After every step the invariants are checked (Documentation/
 * bcv-design.rst, section 6):
 *  - a position the tables call valid holds the current data, and all of
 *    a track's valid positions hold the same data;
 *  - a read is served whenever some readable position is valid for it,
 *    and returns the current data;
 *  - for a split session, a track the tables call unchanged on both
 *    sides holds the same data on the STD and the BCV;
 *  - no acknowledged write is lost: some position holds every track;
 *  - after a power cut and assembly, the same, with the current data being
 *    what was flushed or written since;
 *  - a consistent split cut in its commit leaves its pairs all split or
 *    all attached;
 *  - at the end, a protected restore that could be split is split (its
 *    split is owed until it happens), and every session can be ended.
 * A violation aborts (libFuzzer saves the input).  Without libFuzzer
 * (FUZZ_TM_MAIN) the program replays files given as arguments, or runs
 * random inputs: fuzz_tm [-t] [-r N [SEED]] [FILE...]; -t traces steps.
 */
// fuzz-sources: bcv_trackmap.c
// fuzz-runs: 1500
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FUZZ_TM_MAIN
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "../../bcv_trackmap.h"

/*------------------------------------------------------------------------
 * Input: the choices
 */

static const uint8_t *in_buf;
static size_t in_len, in_pos;
static bool in_end;

/* A choice among @n (0 when the input is used up). */
static unsigned int pick(unsigned int n)
{
	unsigned int v;

	if (n <= 1)
		return 0;
	if (in_pos >= in_len) {
		in_end = true;
		return 0;
	}
	v = in_buf[in_pos++];
	if (n > 256 && in_pos < in_len)
		v = v << 8 | in_buf[in_pos++];
	return v % n;
}

static bool coin(unsigned int pct)
{
	return pick(100) < pct;
}

static bool trace;
static const char *no_faults;		/* FUZZ_TM_NO: fault classes left out */

/*
 * The fault classes a run injects: the input's first byte, so that a
 * saved input replays the same run (FUZZ_TM_NO takes classes out, and a
 * saved input records what was left).
 */
static const char *const fault_names[] = {
	"flushfail", "metafail", "gone", "cut", "cmdcut", "iofail",
};
static unsigned int fault_mask;

static void faults_init(void)
{
	unsigned int i;

	fault_mask = pick(256);
	for (i = 0; no_faults && i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (strstr(no_faults, fault_names[i]))
			fault_mask &= ~(1U << i);
}

static const char *skip_checks;		/* FUZZ_TM_SKIP: checks left out */

static bool skipping(const char *what)
{
	return skip_checks && strstr(skip_checks, what);
}

static bool faults(const char *what)
{
	unsigned int i;

	for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (!strcmp(what, fault_names[i]))
			return fault_mask & (1U << i);
	return false;
}

#define T(...) do { if (trace) { printf("  "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*------------------------------------------------------------------------
 * Versions and sets of them
 */

typedef uint64_t ver_t;

#define ZERO_VER	1ULL		/* what write-zeroes leave */

static ver_t vctr;

static ver_t fresh(void)
{
	return (++vctr << 8) | 0x5a;
}

/* A partial write over @old: different for every old and every write. */
static ver_t mixv(ver_t old, uint64_t wid)
{
	uint64_t k = wid * 0xd6e8feb86659fd93ULL;

	return ((old ^ (k ^ (k >> 32))) * 0x9e3779b97f4a7c15ULL) + wid * 2 + 1;
}

#define VSET	12

/* The versions a read may return; @any: the data is undefined. */
struct vset {
	ver_t v[VSET];
	unsigned int n;
	bool any;
};

static void vs_one(struct vset *s, ver_t v)
{
	s->n = 1;
	s->v[0] = v;
	s->any = false;
}

static bool vs_has(const struct vset *s, ver_t v)
{
	unsigned int i;

	if (s->any)
		return true;
	for (i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return true;
	return false;
}

static void vs_add(struct vset *s, ver_t v)
{
	if (s->any || vs_has(s, v))
		return;
	if (s->n == VSET) {
		s->any = true;
		return;
	}
	s->v[s->n++] = v;
}

static void vs_union(struct vset *s, const struct vset *o)
{
	unsigned int i;

	if (o->any) {
		s->any = true;
		return;
	}
	for (i = 0; i < o->n; i++)
		vs_add(s, o->v[i]);
}

static void vs_any(struct vset *s)
{
	s->n = 0;
	s->any = true;
}

static void vs_fmt(const struct vset *s, char *buf, size_t len)
{
	size_t o = 0;
	unsigned int i;

	if (s->any) {
		snprintf(buf, len, "{any}");
		return;
	}
	o += snprintf(buf + o, len - o, "{");
	for (i = 0; i < s->n && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%" PRIx64, i ? "," : "", s->v[i]);
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

/*------------------------------------------------------------------------
 * Geometry of the model
 */

#define MAXT		40		/* tracks per volume at most */
#define TSHIFT		11		/* 2 KiB tracks: 4 sectors */
#define SPT		4ULL		/* sectors per track */
#define ALSHIFT		2		/* 4 tracks per region */
#define SCAN_TRACKS	7		/* the engine's stretches (bcv_copy.c), mid-word */
#define NVOL		4		/* the STD and up to three BCVs */
#define STDV		0
#define NDEV		16
#define NTAB		6		/* bcv_meta: M1..M4, PB, AL */
#define TAB_PB		BCV_TM_PB
#define TAB_AL		(BCV_TM_PB + 1)
#define MAXW		16		/* words a table has at most */
#define NIO		6		/* host writes in flight */
#define NCP		3		/* copy jobs in flight */
#define ALL_POS		((1U << BCV_POSITIONS) - 1)

static_assert(TAB_AL == NTAB - 1, "tables");

/*------------------------------------------------------------------------
 * Disks
 */

/* A session record of a superblock (bcv_sb_sess). */
struct hrec {
	bool used;
	bool protect;
	uint32_t peer;			/* the peer volume's uuid */
	unsigned int id;
	int state;
	int mm;
};

/* One superblock copy (bcv_sb), as far as assembly reads it. */
struct hsbc {
	bool ok;			/* valid: written whole */
	uint64_t seq, events;
	uint32_t vol_uuid;
	bool is_std, clean, no_intent;
	unsigned int nr_legs, leg_pos;
	uint32_t leg_uuid[BCV_MAX_LEGS];
	unsigned int leg_flags[BCV_MAX_LEGS];	/* 1 failed, 2 syncing */
	uint64_t sectors;
	struct hrec sess[BCV_SESSIONS];
	struct hrec link;
};

#define LEG_FAILED	1
#define LEG_SYNCING	2

struct hdev {
	bool gone;			/* pulled: every I/O fails */
	ver_t med[MAXT];		/* on the media */
	ver_t cache[MAXT];		/* in the write cache, if dirty */
	bool dirty[MAXT];
	struct vset wrote[MAXT];	/* versions written since attach */
	unsigned long img[NTAB][MAXW];	/* metadata tables on the media */
	struct hsbc sb[2];
	unsigned int meta_fail;		/* the next metadata writes that fail */
};

static struct hdev D[NDEV];

static ver_t dev_read(int d, uint64_t t)
{
	return D[d].dirty[t] ? D[d].cache[t] : D[d].med[t];
}

static void dev_write(int d, uint64_t t, ver_t v, bool fua)
{
	if (getenv("FUZZ_TM_WATCH") && d == atoi(getenv("FUZZ_TM_WATCH")) &&
	    t == (uint64_t)atoi(strchr(getenv("FUZZ_TM_WATCH"), ':') + 1))
		printf("  [disk %d track %" PRIu64 " <- %" PRIx64 "]\n", d, t, v);
	D[d].cache[t] = v;
	D[d].dirty[t] = true;
	vs_add(&D[d].wrote[t], v);
	if (fua) {
		D[d].med[t] = v;
		D[d].dirty[t] = false;
	}
}

/*
 * A cache flush of disk @d: everything in the cache reaches the media, or
 * it fails: then some of what the cache held may be lost already.
 */
static bool dev_flush(int d, bool ok)
{
	uint64_t t;

	if (getenv("FUZZ_TM_WATCH") && d == atoi(getenv("FUZZ_TM_WATCH")))
		printf("  [disk %d flush %s dirty22=%d]\n", d, ok ? "ok" : "FAIL",
		       D[d].dirty[22]);

	if (D[d].gone)
		ok = false;
	for (t = 0; t < MAXT; t++) {
		if (!D[d].dirty[t])
			continue;
		if (ok) {
			D[d].med[t] = D[d].cache[t];
			D[d].dirty[t] = false;
		} else if (coin(50)) {
			D[d].dirty[t] = false;	/* lost: the media's again */
		}
	}
	return ok;
}

/* A power cut: each write still in a cache reaches the media or not. */
static void dev_cut(int d)
{
	uint64_t t;

	for (t = 0; t < MAXT; t++) {
		if (D[d].dirty[t] && coin(50))
			D[d].med[t] = D[d].cache[t];
		D[d].dirty[t] = false;
	}
}

/* A metadata write (FUA) of @nw words of table @tab; false if it failed. */
static bool dev_meta_write(int d, int tab, const unsigned long *w, uint64_t nw)
{
	if (D[d].gone)
		return false;
	if (D[d].meta_fail) {
		D[d].meta_fail--;
		return false;
	}
	memcpy(D[d].img[tab], w, nw * sizeof(long));
	return true;
}

/*------------------------------------------------------------------------
 * Volumes, as the driver keeps them
 */

/* The host's view of a track. */
struct hts {
	struct vset cur;		/* a read may return these now */
	struct vset crash;		/* ... and these after a power cut */
};

struct hvol {
	bool exists;
	bool running;			/* assembled */
	bool cut;			/* not checked since a power cut */
	bool is_std;
	uint32_t uuid;
	unsigned int nlegs;
	int dev[BCV_POSITIONS];		/* device of own leg p */
	uint32_t leg_uuid[BCV_POSITIONS];
	uint64_t sectors, tracks;
	struct bcv_tm_vol tm;
	bool tm_init;

	/* bcv_meta: the tables as they are on disk (dur), and the rest */
	unsigned long dur[NTAB][MAXW];
	uint64_t words[NTAB];
	uint64_t regions;
	unsigned long touched;		/* AL regions written since a pass */
	bool intent;			/* bcv.write_intent when assembled */
	bool mrun;			/* bcv_meta.running: dur is in use */
	bool copied;			/* copies done since a checkpoint */
	bool sb_due;			/* bcv_meta_schedule() pending */
	uint64_t events, seq;
	unsigned int sb_copy[BCV_MAX_LEGS];	/* each leg's newest valid copy */
	unsigned int rewrite;		/* legs whose tables are written again */
	unsigned int sb_failed;		/* legs the last superblock flagged */
	bool clean;			/* last superblock written */
	struct hrec link;		/* BCV: session while its STD is absent */

	struct hts ts[MAXT];		/* the host's view */
	bool open;			/* in use (a RESTORE needs --force) */
	uint64_t errs[BCV_POSITIONS];	/* I/O errors per position */
	unsigned int stale_at_asm;	/* legs assembly found stale */
	/* BCV, model: its view before it was last attached (ABORT) */
	struct vset pre[MAXT];
	bool pre_bfm[MAXT];		/* a fixed mirror held pre[] */
	/* BCV, model: the STD's view when its restore began (ABORT) */
	struct vset pre_std[MAXT];
};

static struct hvol V[NVOL];
static unsigned int nb;			/* BCVs: V[1..nb] */
static bool write_intent_param;		/* bcv.write_intent */
static uint32_t uuid_ctr;

/* A STD session as bcv_session.c keeps it (struct bcv_session). */
struct hsess {
	struct bcv_tm_sess *tm;		/* NULL: no session in this column */
	int bcv;			/* V[] index of its BCV */
	uint32_t bcv_uuid;
	bool linked;			/* its BCV is there (s->bcv) */
	bool paused;
	/*
	 * The split that ends a protected restore is owed (struct
	 * bcv_session.split_due): set by the state hook, and at assembly for
	 * a record that says protected and restored; tried until it happens.
	 */
	bool split_due;
	unsigned int restore_kept;
	uint64_t restore_errs;
};

static struct hsess S[BCV_SESSIONS];

static struct hvol *std_v(void)
{
	return &V[STDV];
}

static const char *vname(const struct hvol *v)
{
	static const char *const n[NVOL] = { "S", "B1", "B2", "B3" };

	return n[v - V];
}

static unsigned int leg_mask(const struct hvol *v)
{
	return (1U << v->nlegs) - 1;
}

/* The column of @b's session on the STD, or -1. */
static int col_of(int b)
{
	unsigned int c;

	for (c = 0; c < BCV_SESSIONS; c++)
		if (S[c].tm && S[c].bcv == b)
			return c;
	return -1;
}

/*
 * The device behind position @p of @v (bcv_pos_bdev()): an own leg, or on
 * a STD the primary leg of the BCV attached there; -1 for an absent one.
 */
static int pos_dev(const struct hvol *v, int p)
{
	struct bcv_tm_sess *ts;
	unsigned int c;

	if (bcv_tm_pos_role(&v->tm, p) == BCV_POS_LEG)
		return v->dev[p];
	ts = bcv_tm_mm_session(&v->tm, p);
	if (!ts)
		return -1;
	c = bcv_tm_sess_id(ts);
	if (!S[c].linked || !V[S[c].bcv].running)
		return -1;
	return V[S[c].bcv].dev[0];
}

/* Positions whose data is there to read or write: not failed or absent. */
static unsigned int present_pos(const struct hvol *v)
{
	return bcv_tm_data_positions(&v->tm) & ~bcv_tm_failed_legs(&v->tm);
}

/*
 * "Keep every readable byte readable": the present positions valid for
 * each track before a step that marks positions invalid; after it, a
 * track that one of them still there held must be valid at one that is
 * there (a track only a position that went away held may go with it).
 */
struct readable {
	unsigned int held[MAXT];
};

static void readable_before(const struct hvol *v, struct readable *r)
{
	unsigned int there = bcv_tm_data_positions(&v->tm) &
			     ~bcv_tm_failed_legs(&v->tm), p;
	uint64_t t;

	for (t = 0; t < v->tracks; t++) {
		r->held[t] = 0;
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((there & (1U << p)) && !bcv_tm_invalid(&v->tm, p, t))
				r->held[t] |= 1U << p;
	}
}

static void readable_after(const struct hvol *v, const struct readable *r,
			   const char *what)
{
	unsigned int there = bcv_tm_data_positions(&v->tm) &
			     ~bcv_tm_failed_legs(&v->tm), p;
	uint64_t t;

	if (skipping("readable"))
		return;
	for (t = 0; t < v->tracks; t++) {
		if (!(r->held[t] & there))
			continue;
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((there & (1U << p)) && !bcv_tm_invalid(&v->tm, p, t))
				break;
		if (p == BCV_POSITIONS)
			die("%s: %s made track %" PRIu64 " readable nowhere, though "
			    "positions %#x that held it are there", vname(v), what, t,
			    r->held[t] & there);
	}
}

/* A BCV attached to a STD (not ready to its own users). */
static bool bcv_attached(const struct hvol *v)
{
	struct bcv_tm_sess *ts;

	if (v->is_std)
		return false;
	if (v->link.used && v->link.state != BCV_STATE_SPLIT)
		return true;
	ts = bcv_tm_vol_session(&v->tm);
	return ts && bcv_tm_sess_mm(ts) != BCV_NO_POS;
}

/*------------------------------------------------------------------------
 * Failing
 */

static char tracebuf[1 << 16];
static size_t tracelen;
static unsigned long stepno;

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "fuzz_tm: step %lu: ", stepno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (tracelen)
		fprintf(stderr, "last steps:\n%s", tracebuf);
	fprintf(stderr, "fuzz_tm: %zu bytes of the input used\n", in_pos);
	if (getenv("FUZZ_TM_SAVE")) {
		/* The input up to here reproduces it (keep the failing one). */
		FILE *f = fopen(getenv("FUZZ_TM_SAVE"), "wb");

		if (f) {
			uint8_t m = fault_mask;

			fwrite(&m, 1, 1, f);
			if (in_pos > 1)
				fwrite(in_buf + 1, 1, in_pos - 1, f);
			fclose(f);
		}
	}
	abort();
}

/* Keep the recent steps for the report. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	char line[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (trace)
		printf("  %s\n", line);
	if (tracelen + strlen(line) + 16 >= sizeof(tracebuf)) {
		/* keep the second half */
		memmove(tracebuf, tracebuf + sizeof(tracebuf) / 2,
			tracelen - sizeof(tracebuf) / 2);
		tracelen -= sizeof(tracebuf) / 2;
	}
	tracelen += snprintf(tracebuf + tracelen, sizeof(tracebuf) - tracelen,
			     "%5lu %s\n", stepno, line);
}

/*------------------------------------------------------------------------
 * Metadata (bcv_meta.c): the image of the tables on disk, write intent,
 * checkpoints, commits, superblocks
 */

static unsigned long *live_tab(struct hvol *v, int t)
{
	uint64_t nw;

	return t == TAB_AL ? NULL : bcv_tm_table(&v->tm, t, &nw);
}

static unsigned long word_mask(uint64_t i, uint64_t first, uint64_t last)
{
	unsigned long m = ~0UL;

	if (i == first / 64)
		m &= ~0UL << (first % 64);
	if (i == last / 64)
		m &= ~0UL >> (63 - last % 64);
	return m;
}

static unsigned long pb_row_mask(uint64_t j, uint64_t first, uint64_t last)
{
	unsigned int lo = j == first / 4 ? first % 4 : 0;
	unsigned int hi = j == last / 4 ? last % 4 : 3;

	return (~0UL >> (64 - 16 * (hi + 1))) & (~0UL << (16 * lo));
}

static bool bits_set(const unsigned long *m, uint64_t first, uint64_t last)
{
	uint64_t i;

	for (i = first / 64; i <= last / 64; i++)
		if ((m[i] & word_mask(i, first, last)) != word_mask(i, first, last))
			return false;
	return true;
}

static bool pb_set(const unsigned long *pb, unsigned long cols, uint64_t first,
		   uint64_t last)
{
	unsigned long all = cols * 0x0001000100010001UL;
	uint64_t j;

	for (j = first / 4; j <= last / 4; j++) {
		unsigned long m = all & pb_row_mask(j, first, last);

		if ((pb[j] & m) != m)
			return false;
	}
	return true;
}

/* bcv_meta_alloc(): sizes of the image. */
static void meta_alloc(struct hvol *v)
{
	uint64_t nw;
	int t;

	memset(v->dur, 0, sizeof(v->dur));
	v->regions = (v->tracks >> ALSHIFT) + 1;
	for (t = 0; t < NTAB; t++) {
		if (t == TAB_AL)
			nw = (v->regions + 63) / 64;
		else if (!bcv_tm_table(&v->tm, t, &nw))
			nw = 0;
		if (nw > MAXW)
			die("table %d has %" PRIu64 " words", t, nw);
		v->words[t] = nw;
	}
	v->touched = 0;
	v->copied = false;
}

/*
 * bcv_meta_write_stage() + bcv_stage_flush(): write the tables in @stage
 * (those of @mask that differ from dur) to every leg that has not failed;
 * a leg counts if it took all of them.  dur takes them if a leg did.
 */
static bool meta_write_sb_legs(struct hvol *v, bool clean, unsigned int legs);
static bool meta_write_sb(struct hvol *v, bool clean);

/* bcv_meta_rewrite_legs(): dur, whole, to the legs that missed a write. */
static void rewrite_legs(struct hvol *v)
{
	unsigned int i, failed = bcv_tm_failed_legs(&v->tm);
	bool all;
	int t;

	for (i = 0; i < v->nlegs; i++) {
		if (!(v->rewrite & (1U << i)))
			continue;
		all = true;
		for (t = 0; t < NTAB && !(failed & (1U << i)); t++)
			if (v->words[t] &&
			    !dev_meta_write(v->dev[i], t, v->dur[t], v->words[t]))
				all = false;
		if (all)
			v->rewrite &= ~(1U << i);
		note("%s: M%u's tables written again whole: %s", vname(v), i + 1,
		     all ? "ok" : "failed again");
	}
}

static bool meta_write_tables(struct hvol *v, unsigned int mask,
			      unsigned long stage[NTAB][MAXW])
{
	unsigned int failed = bcv_tm_failed_legs(&v->tm), i, ok = 0;
	int t;

	/* A leg failed since the last superblock: flagged first. */
	if (failed & leg_mask(v) & ~v->sb_failed)
		meta_write_sb(v, false);

	if (!mask)
		return true;
	unsigned int bad = 0;

	for (i = 0; i < v->nlegs; i++) {
		bool all = true;

		if (failed & (1U << i))
			continue;
		for (t = 0; t < NTAB; t++)
			if ((mask & (1U << t)) &&
			    !dev_meta_write(v->dev[i], t, stage[t], v->words[t]))
				all = false;
		ok += all;
		if (!all)
			bad |= 1U << i;
	}
	if (getenv("FUZZ_TM_WATCHBIT")) {
		int wv, wt, wb;

		if (sscanf(getenv("FUZZ_TM_WATCHBIT"), "%d:%d:%d", &wv, &wt, &wb) == 3 &&
		    v == &V[wv] && (mask & (1U << wt)))
			printf("  [%s table %d bit %d: dur %d -> %d, ok %u bad %#x]\n",
			       vname(v), wt, wb, (int)((v->dur[wt][wb / 64] >> (wb % 64)) & 1),
			       (int)((stage[wt][wb / 64] >> (wb % 64)) & 1), ok, bad);
	}
	if (!ok)
		return false;
	/*
	 * bcv_meta_write_stage(): a leg that missed them gets every table
	 * again, whole, from dur (the worker's next round: here at once)
	 */
	v->rewrite |= bad;
	for (t = 0; t < NTAB; t++)
		if (mask & (1U << t))
			memcpy(v->dur[t], stage[t], v->words[t] * sizeof(long));
	/* The legs that took it move a generation ahead. */
	if (bad)
		meta_write_sb_legs(v, false, leg_mask(v) & ~failed & ~bad);
	rewrite_legs(v);
	for (t = 0; t < NTAB; t++)
		if (mask & (1U << t))
			memcpy(v->dur[t], stage[t], v->words[t] * sizeof(long));
	return true;
}

static bool meta_write(struct hvol *v, unsigned int mask,
		       unsigned long stage[NTAB][MAXW])
{
	int t;

	for (t = 0; t < NTAB; t++)
		if ((mask & (1U << t)) &&
		    !memcmp(stage[t], v->dur[t], v->words[t] * sizeof(long)))
			mask &= ~(1U << t);
	return meta_write_tables(v, mask, stage);
}

/* A mark to make durable (struct bcv_meta_mark). */
enum { MK_SET, MK_FROM_M, MK_PB, MK_OTHER };

struct hmark {
	int kind, table;
	uint64_t first, last;
	unsigned int targets;		/* MK_OTHER: the write's positions */
};

/* bcv_dur_held(): tracks of word @i a position in @targets holds on disk. */
static unsigned long dur_held(const struct hvol *v, unsigned int targets,
			      uint64_t i)
{
	unsigned long w = 0;
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (targets & (1U << p))
			w |= ~v->dur[p][i];
	return w;
}

/* bcv_meta_apply() for every mark, then one write. */
static bool meta_marks(struct hvol *v, const struct hmark *mk, unsigned int n)
{
	unsigned long stage[NTAB][MAXW];
	unsigned int mask = 0, k;

	memcpy(stage, v->dur, sizeof(stage));
	for (k = 0; k < n; k++) {
		unsigned long *live = live_tab(v, mk[k].table);
		uint64_t i, fi, li;

		if (!v->words[mk[k].table])
			continue;
		if (mk[k].kind == MK_PB) {
			fi = mk[k].first / 4;
			li = mk[k].last / 4;
		} else {
			fi = mk[k].first / 64;
			li = mk[k].last / 64;
		}
		if (li > v->words[mk[k].table] - 1)
			li = v->words[mk[k].table] - 1;
		for (i = fi; i <= li; i++) {
			unsigned long bits;

			if (mk[k].kind == MK_PB)
				bits = live[i] & pb_row_mask(i, mk[k].first, mk[k].last);
			else if (mk[k].kind == MK_FROM_M)
				bits = live[i] & word_mask(i, mk[k].first, mk[k].last);
			else if (mk[k].kind == MK_OTHER)
				bits = word_mask(i, mk[k].first, mk[k].last) &
				       dur_held(v, mk[k].targets, i);
			else
				bits = word_mask(i, mk[k].first, mk[k].last);
			stage[mk[k].table][i] |= bits;
		}
		mask |= 1U << mk[k].table;
	}
	return meta_write(v, mask, stage);
}

/*
 * bcv_meta_write_check(): the marks a host write to tracks [@first,
 * @last] going to @targets needs on disk before it is sent, made durable
 * at once (the worker's commit); false if that failed (the write fails
 * before it reaches a leg).
 */
static bool meta_write_check(struct hvol *v, uint64_t first, uint64_t last,
			     unsigned int targets)
{
	unsigned int other = bcv_tm_data_positions(&v->tm) & ~targets, p, n = 0;
	unsigned long cols = v->is_std ? v->tm.alloc : 0;
	struct hmark mk[8];
	uint64_t r, rf = first >> ALSHIFT, rl = last >> ALSHIFT;

	if (!v->mrun || !v->intent)
		return true;
	if (__builtin_popcount(targets) > 1)
		for (r = rf; r <= rl; r++)
			v->touched |= 1UL << r;
	if (cols && !pb_set(v->dur[TAB_PB], cols, first, last))
		mk[n++] = (struct hmark){ MK_PB, TAB_PB, first, last, 0 };
	if (!v->is_std && !bits_set(v->dur[BCV_M4B], first, last))
		mk[n++] = (struct hmark){ MK_SET, BCV_M4B, first, last, 0 };
	/* BCV_MARK_OTHER: I where a position it reaches holds it on disk */
	for (p = 0; p < BCV_POSITIONS; p++) {
		uint64_t i;
		bool need = false;

		if (!(other & (1U << p)))
			continue;
		for (i = first / 64; i <= last / 64; i++) {
			unsigned long want = word_mask(i, first, last) &
					     dur_held(v, targets, i);

			if ((v->dur[p][i] & want) != want)
				need = true;
		}
		if (need)
			mk[n++] = (struct hmark){ MK_OTHER, (int)p, first, last, targets };
	}
	if (__builtin_popcount(targets) > 1 && !bits_set(v->dur[TAB_AL], rf, rl))
		mk[n++] = (struct hmark){ MK_SET, TAB_AL, rf, rl, 0 };
	if (!n)
		return true;
	return meta_marks(v, mk, n);
}

static unsigned int flush_positions_mask(struct hvol *v, unsigned int pos);
static void flush_failed(struct hvol *v, unsigned int bad);

/* bcv_meta_unvouched(): word @i once marks @mk are on disk. */
static unsigned long unvouched(struct hvol *v, const struct hmark *mk,
			       unsigned int n, uint64_t i,
			       unsigned long held[BCV_POSITIONS])
{
	unsigned long virt[BCV_POSITIONS];
	unsigned int p, k;

	for (p = 0; p < BCV_POSITIONS; p++) {
		unsigned long *live = live_tab(v, p);

		virt[p] = v->dur[p][i];
		for (k = 0; k < n; k++) {
			unsigned long w;

			if (mk[k].table != (int)p || i < mk[k].first / 64 ||
			    i > mk[k].last / 64)
				continue;
			w = word_mask(i, mk[k].first, mk[k].last);
			if (mk[k].kind == MK_FROM_M)
				w &= live[i];
			else if (mk[k].kind == MK_OTHER)
				w &= dur_held(v, mk[k].targets, i);
			virt[p] |= w;
		}
	}
	return bcv_tm_unvouched(&v->tm, virt, i, held);
}

/*
 * bcv_meta_vouch(): before I bits (marks @mk) leave a track of [@first,
 * @last] held by no position on disk while one holds it in the tables,
 * that one's cache is flushed and its V bit written first.  False if a
 * track stays held nowhere.
 */
static bool meta_vouch(struct hvol *v, const struct hmark *mk, unsigned int n,
		       uint64_t first, uint64_t last)
{
	unsigned long stage[NTAB][MAXW], held[BCV_POSITIONS];
	unsigned int pos = 0, bad, p, mask = 0;
	uint64_t i;

	if (!v->mrun)
		return true;
	for (i = first / 64; i <= last / 64; i++) {
		unvouched(v, mk, n, i, held);
		for (p = 0; p < BCV_POSITIONS; p++)
			if (held[p] & word_mask(i, first, last))
				pos |= 1U << p;
	}
	if (!pos)
		return true;
	bad = flush_positions_mask(v, pos);
	flush_failed(v, bad);
	memcpy(stage, v->dur, sizeof(stage));
	for (i = first / 64; i <= last / 64; i++) {
		unvouched(v, mk, n, i, held);
		for (p = 0; p < BCV_POSITIONS; p++) {
			unsigned long b = held[p] & word_mask(i, first, last);

			if (b && (pos & ~bad & (1U << p))) {
				stage[p][i] &= ~b;
				mask |= 1U << p;
			}
		}
	}
	note("%s: vouch %" PRIu64 "-%" PRIu64 ": positions %#x flushed (%#x failed)",
	     vname(v), first, last, pos, bad);
	if (!meta_write(v, mask, stage))
		return false;
	for (i = first / 64; i <= last / 64; i++)
		if (unvouched(v, mk, n, i, held) & word_mask(i, first, last))
			return false;
	return true;
}

/*
 * __bcv_meta_error_marks(): the I bits a failure left (positions @pos for
 * [@first, @last], @whole everywhere) made durable before the host hears,
 * after the V bits of positions that alone hold tracks then (also for a
 * write that skipped a position, @pos 0).
 */
static bool meta_error_marks(struct hvol *v, unsigned int pos,
			     unsigned int whole, uint64_t first, uint64_t last)
{
	unsigned int d = bcv_tm_data_positions(&v->tm), p, n = 0;
	struct hmark mk[BCV_POSITIONS];
	bool ok;

	pos &= d;
	whole &= d;
	if (!v->mrun)
		return true;
	if (whole) {
		first = 0;
		last = v->tracks - 1;
	}
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (whole & (1U << p))
			mk[n++] = (struct hmark){ MK_FROM_M, (int)p, 0, v->tracks - 1, 0 };
		else if (pos & (1U << p))
			mk[n++] = (struct hmark){ MK_FROM_M, (int)p, first, last, 0 };
	}
	ok = meta_vouch(v, mk, n, first, last);
	return meta_marks(v, mk, n) && ok;
}

/* bcv_meta_vouch_stale(): positions @bad went stale in a command's flush. */
static void meta_vouch_stale(struct hvol *v, unsigned int bad)
{
	struct hmark mk[BCV_POSITIONS];
	unsigned int n = 0, p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (bad & (1U << p))
			mk[n++] = (struct hmark){ MK_FROM_M, (int)p, 0, v->tracks - 1, 0 };
	meta_vouch(v, mk, n, 0, v->tracks - 1);
}

/* bcv_meta_sync(): new C/I bits (@exact: every difference) of the tables. */
static bool meta_sync(struct hvol *v, bool exact)
{
	unsigned long stage[NTAB][MAXW];
	unsigned int mask = 0;
	uint64_t i;
	int t;

	if (!v->mrun)
		return true;
	memcpy(stage, v->dur, sizeof(stage));
	for (t = 0; t <= TAB_PB; t++) {
		unsigned long *live = live_tab(v, t);

		if (!live)
			continue;
		for (i = 0; i < v->words[t]; i++)
			stage[t][i] = exact ? live[i] : v->dur[t][i] | live[i];
		mask |= 1U << t;
	}
	return meta_write(v, mask, stage);
}

/*
 * bcv_meta_flush_all(): the caches of every position that is there (own
 * legs, attached BCVs' primaries); returns those whose flush failed.
 */
static unsigned int flush_positions_mask(struct hvol *v, unsigned int pos)
{
	unsigned int there = present_pos(v) & pos, bad = 0;
	int p, d;

	for (p = 0; p < BCV_POSITIONS; p++) {
		if (!(there & (1U << p)) || (d = pos_dev(v, p)) < 0)
			continue;
		if (!dev_flush(d, !(coin(3) && faults("flushfail"))))
			bad |= 1U << p;
	}
	return bad;
}

static unsigned int flush_positions(struct hvol *v)
{
	return flush_positions_mask(v, ALL_POS);
}

static void check_legs(struct hvol *v, unsigned int failed);

/*
 * A failed flush of positions @bad: what they held alone (the last valid
 * copy, which they keep) may be gone; the driver reported it.
 */
static void flush_lost(struct hvol *v, unsigned int bad)
{
	unsigned int p;
	uint64_t t;

	for (t = 0; t < v->tracks; t++)
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((bad & (1U << p)) && !bcv_tm_invalid(&v->tm, p, t)) {
				vs_any(&v->ts[t].cur);
				vs_any(&v->ts[t].crash);
			}
}

/* bcv_meta_flush_failed(): those positions go stale. */
static void flush_failed(struct hvol *v, unsigned int bad)
{
	unsigned int p;

	if (!bad)
		return;
	/*
	 * An attached BCV's own legs: what they held before the attach may
	 * be gone with the cache (what ABORT would give back).
	 */
	if (bcv_attached(v)) {
		uint64_t t;

		for (t = 0; t < v->tracks; t++)
			for (p = 0; p < BCV_POSITIONS; p++)
				if ((bad & (1U << p)) && !bcv_tm_invalid(&v->tm, p, t))
					vs_any(&v->pre[t]);
	}
	{
		struct readable r;

		check_legs(v, bad);
		readable_before(v, &r);
		for (p = 0; p < BCV_POSITIONS; p++)
			if (bad & (1U << p)) {
				bcv_tm_flush_failed(&v->tm, p);
				v->errs[p]++;
			}
		readable_after(v, &r, "a failed flush");
	}
	flush_lost(v, bad);
	note("%s: flush failed on %#x", vname(v), bad);
}

/* bcv_meta_build(): the superblock of @v as leg @pos writes it. */
static void meta_build(struct hvol *v, unsigned int pos, struct hsbc *sb,
		       bool clean)
{
	unsigned int failed = bcv_tm_failed_legs(&v->tm), i, c;

	memset(sb, 0, sizeof(*sb));
	sb->ok = true;
	sb->seq = v->seq;
	sb->events = v->events;
	sb->vol_uuid = v->uuid;
	sb->is_std = v->is_std;
	sb->clean = clean;
	sb->no_intent = !v->intent;
	sb->nr_legs = v->nlegs;
	sb->leg_pos = pos;
	sb->sectors = v->sectors;
	for (i = 0; i < v->nlegs; i++) {
		sb->leg_uuid[i] = v->leg_uuid[i];
		if (failed & (1U << i))
			sb->leg_flags[i] |= LEG_FAILED;
		if (!bcv_tm_pos_clean(&v->tm, i))
			sb->leg_flags[i] |= LEG_SYNCING;
	}
	if (v->is_std) {
		for (c = 0; c < BCV_SESSIONS; c++) {
			struct bcv_tm_sess *ts = bcv_tm_column(&v->tm, c);

			if (!ts)
				continue;
			sb->sess[c] = (struct hrec){
				.used = true, .protect = bcv_tm_sess_protected(ts),
				.peer = S[c].bcv_uuid, .id = c,
				.state = bcv_tm_sess_state(ts), .mm = bcv_tm_sess_mm(ts),
			};
		}
		return;
	}
	{
		struct bcv_tm_sess *ts = bcv_tm_vol_session(&v->tm);

		if (ts)
			sb->link = (struct hrec){
				.used = true, .peer = std_v()->uuid,
				.id = bcv_tm_sess_id(ts), .state = bcv_tm_sess_state(ts),
				.mm = bcv_tm_sess_mm(ts),
			};
		else if (v->link.used)
			sb->link = v->link;
	}
}

/*
 * bcv_meta_write_sb(): events + 1, seq + 1, copy seq & 1 of every leg
 * that has not failed, with a preflush; true if a leg took it.  A write
 * that fails may leave its copy torn.
 */
static bool meta_write_sb_legs(struct hvol *v, bool clean, unsigned int legs)
{
	unsigned int failed = bcv_tm_failed_legs(&v->tm) | ~legs, i, ok = 0;
	struct hsbc sb;

	v->events++;
	v->seq++;
	for (i = 0; i < v->nlegs; i++) {
		int d = v->dev[i];

		if (failed & (1U << i))
			continue;
		meta_build(v, i, &sb, clean);
		/* The leg's copy that is not its newest (bcv_meta.sb_copy). */
		if (D[d].gone || D[d].meta_fail) {
			if (D[d].meta_fail)
				D[d].meta_fail--;
			if (coin(50))
				D[d].sb[!v->sb_copy[i]].ok = false;	/* torn */
			continue;
		}
		dev_flush(d, true);
		D[d].sb[!v->sb_copy[i]] = sb;
		v->sb_copy[i] = !v->sb_copy[i];
		ok++;
	}
	if (ok) {
		v->clean = clean;
		v->sb_failed = bcv_tm_failed_legs(&v->tm) & leg_mask(v);
	}
	return ok;
}

static bool meta_write_sb(struct hvol *v, bool clean)
{
	return meta_write_sb_legs(v, clean, ~0U);
}

/* bcv_meta_save_tables() of every table to leg @i (AL from dur). */
static bool meta_save_tables(struct hvol *v, unsigned int i)
{
	int t, d = v->dev[i];

	for (t = 0; t < NTAB; t++) {
		unsigned long *w = t == TAB_AL ? v->dur[t] : live_tab(v, t);

		if (!v->words[t] || !w)
			continue;
		if (!dev_meta_write(d, t, w, v->words[t]))
			return false;
	}
	return true;
}

/* bcv_meta_dur_is_live() */
static void dur_is_live(struct hvol *v)
{
	int t;

	for (t = 0; t <= TAB_PB; t++) {
		unsigned long *live = live_tab(v, t);

		if (live)
			memcpy(v->dur[t], live, v->words[t] * sizeof(long));
	}
	memset(v->dur[TAB_AL], 0, sizeof(v->dur[TAB_AL]));
}

/*------------------------------------------------------------------------
 * Host I/O (bcv_io.c)
 */

/* A host write in flight: sent to its targets, not completed yet. */
struct hio {
	bool used;
	int vol;
	uint64_t sector, nr, first, last;
	unsigned int targets;
	bool discard, zeroes, fua, preflush;
	uint64_t wid;
	uint32_t epoch;			/* bcv_tm_stale_epoch() when sent */
	ver_t whole[MAXT];		/* a whole-track write's version */
	struct vset before[MAXT];	/* the host's view before it */
};

static struct hio IO[NIO];
static uint64_t wid_ctr;

/* A copy job of the engine (struct bcv_job). */
struct hcopy {
	bool used;
	int vol;
	struct bcv_tm_copy c;
	bool begun;			/* bcv_tm_copy_begin() done */
};

static struct hcopy CP[NCP];

static bool io_in_region(int vi, uint64_t r)
{
	unsigned int k;

	for (k = 0; k < NIO; k++)
		if (IO[k].used && IO[k].vol == vi &&
		    IO[k].first >> ALSHIFT <= r && IO[k].last >> ALSHIFT >= r)
			return true;
	return false;
}

static bool io_on_track(int vi, uint64_t t)
{
	unsigned int k;

	for (k = 0; k < NIO; k++)
		if (IO[k].used && IO[k].vol == vi && IO[k].first <= t &&
		    IO[k].last >= t)
			return true;
	return false;
}

static bool copy_in_region(int vi, uint64_t r)
{
	unsigned int k;

	for (k = 0; k < NCP; k++)
		if (CP[k].used && CP[k].vol == vi &&
		    CP[k].c.start >> ALSHIFT == r)
			return true;
	return false;
}

static bool vol_busy(int vi)
{
	unsigned int k;

	for (k = 0; k < NIO; k++)
		if (IO[k].used && IO[k].vol == vi)
			return true;
	for (k = 0; k < NCP; k++)
		if (CP[k].used && CP[k].vol == vi)
			return true;
	return false;
}

/* The bits of Track ID word @i whose regions have writes in flight. */
static unsigned long busy_bits(int vi, uint64_t i)
{
	unsigned long bits = 0;
	uint64_t t;

	for (t = i * 64; t < (i + 1) * 64 && t < V[vi].tracks; t++)
		if (io_in_region(vi, t >> ALSHIFT))
			bits |= 1UL << (t % 64);
	return bits;
}

/*
 * __bcv_check_legs(): own legs among @failed whose device is gone are
 * marked failed (bcv_tm_leg_fail()); their superblock says so soon.
 */
static void check_legs(struct hvol *v, unsigned int failed)
{
	unsigned int p;

	failed &= leg_mask(v);
	for (p = 0; p < v->nlegs; p++) {
		if (!(failed & (1U << p)) ||
		    (bcv_tm_failed_legs(&v->tm) & (1U << p)) || !D[v->dev[p]].gone)
			continue;
		bcv_tm_leg_fail(&v->tm, p);
		v->sb_due = true;
		note("%s: leg M%u gone: failed", vname(v), p + 1);
	}
}

/* The host's view after a write of @io completed on track @t, from @c. */
static ver_t io_result(const struct hio *io, uint64_t t, ver_t c)
{
	uint64_t s = t * SPT, e = s + SPT;
	struct hvol *v = &V[io->vol];

	if (e > v->sectors)
		e = v->sectors;
	if (io->sector <= s && io->sector + io->nr >= e)
		return io->zeroes ? ZERO_VER : io->whole[t];
	return mixv(c, io->wid * 131 + t);
}

static void io_end_host(struct hio *io, bool good)
{
	struct hvol *v = &V[io->vol];
	uint64_t t;
	unsigned int i;

	for (t = io->first; t <= io->last; t++) {
		struct hts *h = &v->ts[t];

		if (!good || io->discard) {
			vs_any(&h->cur);
			vs_any(&h->crash);
			continue;
		}
		if (io->before[t].any) {
			vs_any(&h->cur);
			continue;
		}
		h->cur.n = 0;
		h->cur.any = false;
		for (i = 0; i < io->before[t].n; i++)
			vs_add(&h->cur, io_result(io, t, io->before[t].v[i]));
		if (io->fua)
			/* FUA: these are durable now (fewer acceptable). */
			h->crash = h->cur;
	}
}

/*
 * bcv_submit_bio() of a data write: @v's tracks of [@sector, +@nr).
 * Returns the slot of the write in flight, -1 if it ended at once.
 */
static int io_submit(int vi, uint64_t sector, uint64_t nr, bool discard,
		     bool zeroes, bool fua, bool preflush)
{
	struct hvol *v = &V[vi];
	unsigned int targets, p, k;
	struct hio *io = NULL;
	uint64_t first, last, t, r;

	bcv_track_range(sector, nr, TSHIFT, &first, &last);
	if (last >= v->tracks)
		return -1;
	for (k = 0; k < NIO; k++)
		if (!IO[k].used) {
			io = &IO[k];
			break;
		}
	if (!io)
		return -1;
	/* The model keeps writes to one track apart; the gate holds copies. */
	for (t = first; t <= last; t++)
		if (io_on_track(vi, t))
			return -1;
	for (r = first >> ALSHIFT; r <= last >> ALSHIFT; r++)
		if (copy_in_region(vi, r))
			return -1;
	if (bcv_attached(v)) {
		note("%s: write %" PRIu64 "+%" PRIu64 ": not ready, EIO", vname(v),
		     sector, nr);
		return -1;
	}
	/* A protected restore: a track written in part needs its data first. */
	if (!discard && bcv_tm_fill_track(&v->tm, sector, nr) != BCV_NO_TRACK)
		return -1;
	targets = bcv_tm_write_targets(&v->tm);
	if (!(targets & leg_mask(v)))
		targets = 0;	/* no own leg left: EIO */
	if (discard)
		targets &= leg_mask(v);
	if (!targets) {
		note("%s: write %" PRIu64 "+%" PRIu64 ": no target, EIO", vname(v),
		     sector, nr);
		return -1;
	}
	memset(io, 0, sizeof(*io));
	io->vol = vi;
	io->sector = sector;
	io->nr = nr;
	io->first = first;
	io->last = last;
	io->targets = targets;
	io->discard = discard;
	io->zeroes = zeroes;
	io->fua = fua;
	io->preflush = preflush;
	io->wid = ++wid_ctr;
	for (t = first; t <= last; t++) {
		io->whole[t] = fresh();
		io->before[t] = v->ts[t].cur;
	}
	io->epoch = bcv_tm_stale_epoch(&v->tm);
	bcv_tm_write(&v->tm, sector, nr, 0);
	if (!meta_write_check(v, first, last, targets)) {
		note("%s: write %" PRIu64 "+%" PRIu64 ": marks not written, EIO",
		     vname(v), sector, nr);
		return -1;
	}
	io->used = true;
	note("%s: write%s%s%s%s %" PRIu64 "+%" PRIu64 " (tracks %" PRIu64 "-%"
	     PRIu64 ") to %#x", vname(v), discard ? " discard" : "",
	     zeroes ? " zeroes" : "", fua ? " fua" : "", preflush ? " preflush" : "",
	     sector, nr, first, last, targets);
	/* The data moves: onto every target's cache (FUA: media). */
	for (p = 0; p < BCV_POSITIONS; p++) {
		int d;

		if (!(targets & (1U << p)))
			continue;
		d = pos_dev(v, p);
		if (d < 0)
			die("%s: write target M%u has no device", vname(v), p + 1);
		if (preflush)
			dev_flush(d, true);
		for (t = first; t <= last; t++) {
			/*
			 * A discard's result is undefined: the model takes
			 * one that is the same on every device (what zeroing
			 * devices do), as the design assumes.
			 */
			ver_t nv = io_result(io, t, dev_read(d, t));

			dev_write(d, t, nv, fua);
		}
	}
	/* What a power cut may leave of it. */
	for (t = first; t <= last; t++) {
		struct hts *h = &v->ts[t];
		unsigned int i;

		if (discard || h->cur.any) {
			vs_any(&h->crash);
			continue;
		}
		for (i = 0; i < h->cur.n; i++)
			vs_add(&h->crash, io_result(io, t, h->cur.v[i]));
	}
	return io - IO;
}

/*
 * bcv_io_complete() of the write in slot @k: the positions in @fail
 * failed (and any whose device is gone).
 */
static void io_complete(unsigned int k, unsigned int fail)
{
	struct hio *io = &IO[k];
	struct hvol *v = &V[io->vol];
	unsigned int d = bcv_tm_data_positions(&v->tm), ok, p, stale;
	bool good = true;
	uint64_t t, kept = 0;

	for (p = 0; p < BCV_POSITIONS; p++) {
		int dv;

		if (!(io->targets & (1U << p)))
			continue;
		dv = pos_dev(v, p);
		if (dv >= 0 && D[dv].gone)
			fail |= 1U << p;
	}
	fail &= io->targets;
	/* A failed clone left anything on its disk. */
	for (p = 0; p < BCV_POSITIONS; p++) {
		int dv;

		if (!(fail & (1U << p)))
			continue;
		dv = pos_dev(v, p);
		for (t = io->first; t <= io->last; t++)
			if (coin(50))
				dev_write(dv, t, fresh(), false);
		if (io->preflush)
			dev_flush(dv, false);
		v->errs[p]++;
	}
	ok = io->targets & ~fail;
	/* bcv_io_clean(); __bcv_io_tables(): no V where a flush failed since */
	stale = bcv_tm_stale_since(&v->tm, io->epoch) & io->targets;
	if (!fail && !io->discard && (io->targets & d) == d && !stale) {
		/* bcv_io_clean(): V marks only, no lock */
		if (bcv_tm_write_done(&v->tm, io->sector, io->nr, io->targets,
				      ok, true))
			die("%s: a clean write lost tracks", vname(v));
	} else {
		struct readable r;

		check_legs(v, fail);
		readable_before(v, &r);
		/* __bcv_io_tables() */
		if (io->preflush) {
			for (p = 0; p < BCV_POSITIONS; p++)
				if (fail & (1U << p))
					kept += bcv_tm_flush_failed(&v->tm, p);
			flush_lost(v, fail);
		}
		ok &= ~stale;
		if (bcv_tm_write_done(&v->tm, io->sector, io->nr, io->targets, ok,
				      !io->discard))
			good = false;
		readable_after(v, &r, "a write's completion");
		if (kept || !ok)
			good = false;
		/*
		 * The failed ones' I bits, the stale ones' (the epoch), and
		 * those of the positions it did not reach (BCV_MARK_OTHER
		 * left the holder on disk V).
		 */
		if (!meta_error_marks(v, fail | stale | (d & ~io->targets),
				      io->preflush ? fail : 0, io->first, io->last))
			good = false;
	}
	note("%s: write %" PRIu64 "+%" PRIu64 " done, failed on %#x: %s",
	     vname(v), io->sector, io->nr, fail, good ? "ok" : "EIO");
	io_end_host(io, good);
	io->used = false;
}

/*
 * An empty flush (REQ_PREFLUSH) of @v, failing on positions @fail: every
 * write target's cache; a failed one goes stale except where it holds
 * the last copy, and its I bits reach the disk before the host hears.
 */
static void host_flush(int vi, unsigned int fail)
{
	struct hvol *v = &V[vi];
	unsigned int targets = bcv_tm_write_targets(&v->tm), p;
	uint64_t kept = 0, t;
	bool good;

	if (bcv_attached(v) || !targets)
		return;
	for (p = 0; p < BCV_POSITIONS; p++) {
		int d;

		if (!(targets & (1U << p)))
			continue;
		d = pos_dev(v, p);
		if (!dev_flush(d, !(fail & (1U << p))))
			fail |= 1U << p;
	}
	fail &= targets;
	for (p = 0; p < BCV_POSITIONS; p++)
		if (fail & (1U << p))
			v->errs[p]++;
	if (fail) {
		struct readable r;

		check_legs(v, fail);
		readable_before(v, &r);
		for (p = 0; p < BCV_POSITIONS; p++)
			if (fail & (1U << p))
				kept += bcv_tm_flush_failed(&v->tm, p);
		readable_after(v, &r, "a failed host flush");
		flush_lost(v, fail);
	}
	good = !kept && (targets & ~fail) && !v->tm.lost;
	if (fail && !meta_error_marks(v, 0, fail, 0, v->tracks - 1))
		good = false;
	note("%s: flush, failed on %#x: %s", vname(v), fail, good ? "ok" : "EIO");
	if (!good)
		return;
	for (t = 0; t < v->tracks; t++)
		if (!io_on_track(vi, t))
			v->ts[t].crash = v->ts[t].cur;
}

/*
 * bcv_read_pos(): a read of [@sector, +@nr) starting in track @first,
 * spread over the legs by region.
 */
static int read_pos(struct hvol *v, uint64_t sector, uint64_t nr, uint64_t first)
{
	unsigned int from = v->nlegs > 1 ? (first >> ALSHIFT) % v->nlegs : 0;
	int p;

	p = bcv_tm_read_pos_avoid(&v->tm, sector, nr, (1U << from) - 1);
	if (from && (p < 0 || p >= (int)v->nlegs))
		p = bcv_tm_read_pos(&v->tm, sector, nr);
	return p;
}

static bool pos_valid_present(struct hvol *v, int p, uint64_t t)
{
	return (present_pos(v) & (1U << p)) && !bcv_tm_invalid(&v->tm, p, t) &&
	       pos_dev(v, p) >= 0;
}

/* A host read of one piece: no track of it has a write in flight. */
static void host_read_piece(int vi, uint64_t sector, uint64_t nr, int depth)
{
	struct hvol *v = &V[vi];
	uint64_t first, last, t;
	int p, q, d;

	bcv_track_range(sector, nr, TSHIFT, &first, &last);
	p = read_pos(v, sector, nr, first);
	if (p < 0 && first != last) {
		uint64_t end = (first + 1) * SPT;

		host_read_piece(vi, sector, end - sector, depth);
		host_read_piece(vi, end, sector + nr - end, depth);
		return;
	}
	if (p < 0) {
		/* Refused: no position valid for the track may be there. */
		for (q = 0; q < BCV_POSITIONS; q++)
			if (pos_valid_present(v, q, first))
				die("%s: read of track %" PRIu64 " refused though M%d is valid and there",
				    vname(v), first, q + 1);

		if (!v->ts[first].cur.any)
			for (q = 0; q < BCV_POSITIONS; q++)
				if (!bcv_tm_invalid(&v->tm, q, first) &&
				    (bcv_tm_data_positions(&v->tm) & (1U << q)))
					return;	/* held by an absent BCV */
		if (!v->ts[first].cur.any)
			die("%s: track %" PRIu64 " is held by no position: data lost",
			    vname(v), first);
		return;
	}
	if (!(present_pos(v) & (1U << p)) || (d = pos_dev(v, p)) < 0)
		die("%s: read sent to M%d, which is not there", vname(v), p + 1);
	for (t = first; t <= last; t++)
		if (bcv_tm_invalid(&v->tm, p, t))
			die("%s: read of track %" PRIu64 " sent to M%d, invalid there",
			    vname(v), t, p + 1);
	/* The disk may fail the read: a leg's failure is retried elsewhere. */
	if (D[d].gone || (depth < 3 && coin(4) && faults("iofail"))) {
		v->errs[p]++;
		note("%s: read %" PRIu64 "+%" PRIu64 " failed on M%d", vname(v),
		     sector, nr, p + 1);
		if (p >= (int)v->nlegs)
			return;	/* EIO */
		check_legs(v, 1U << p);
		if (bcv_tm_read_pos_avoid(&v->tm, sector, nr, 1U << p) < 0)
			return;	/* EIO */
		bcv_tm_mark_stale(&v->tm, p, sector, nr);
		host_read_piece(vi, sector, nr, depth + 1);
		return;
	}
	for (t = first; t <= last; t++) {
		ver_t got = dev_read(d, t);
		char b[256];

		if (!vs_has(&v->ts[t].cur, got)) {
			vs_fmt(&v->ts[t].cur, b, sizeof(b));
			die("%s: read of track %" PRIu64 " from M%d returned %" PRIx64
			    ", want one of %s", vname(v), t, p + 1, got, b);
		}
		vs_one(&v->ts[t].cur, got);
	}
}

static void host_read(int vi, uint64_t sector, uint64_t nr)
{
	struct hvol *v = &V[vi];
	uint64_t first, last, t;

	if (bcv_attached(v))
		return;
	bcv_track_range(sector, nr, TSHIFT, &first, &last);
	for (t = first; t <= last; t++)
		if (io_on_track(vi, t))
			return;
	note("%s: read %" PRIu64 "+%" PRIu64, vname(v), sector, nr);
	host_read_piece(vi, sector, nr, 0);
}

/*------------------------------------------------------------------------
 * The copy engine (bcv_copy.c)
 */

/* __bcv_paused_positions() */
static unsigned int paused_pos(int vi)
{
	struct hvol *v = &V[vi];
	unsigned int c, m = 0;

	if (!v->is_std) {
		int col = col_of(vi);

		return col >= 0 && S[col].paused ? ALL_POS : 0;
	}
	for (c = 0; c < BCV_SESSIONS; c++)
		if (S[c].tm && S[c].paused && bcv_tm_sess_mm(S[c].tm) != BCV_NO_POS)
			m |= 1U << bcv_tm_sess_mm(S[c].tm);
	return m;
}

/*
 * bcv_engine_work() finding one job from track @from and starting it
 * (bcv_start_job()): the region must have no write in flight.  The job
 * is not begun yet (bcv_tm_copy_begin() runs after vol->lock is dropped).
 */
static int copy_pick(int vi, uint64_t from, unsigned int avoid)
{
	struct hvol *v = &V[vi];
	struct bcv_tm_copy c, w;
	uint64_t r, rend, t, until;
	unsigned int k;
	bool found;

	avoid |= paused_pos(vi);
	/* A BCV attached to a STD not assembled: its legs wait too. */
	if (bcv_attached(v))
		return -1;
	/*
	 * As the engine looks (bcv_copy.c): in bounded stretches, here of
	 * SCAN_TRACKS, which cut words; the first run must be the one an
	 * unbounded scan finds.
	 */
	for (t = from, found = false; t < v->tracks && !found; t = until) {
		until = t + SCAN_TRACKS < v->tracks ? t + SCAN_TRACKS : v->tracks;
		found = bcv_tm_next_copy_range(&v->tm, t, until, 1, avoid, &c);
	}
	if (found != bcv_tm_next_copy_avoid(&v->tm, from, 1, avoid, &w) ||
	    (found && (c.start != w.start || c.src != w.src || c.dst != w.dst)))
		die("%s: a scan in stretches from %" PRIu64 " finds %s, the whole scan %s",
		    vname(v), from, found ? "a run" : "none", found ? "another" : "one");
	if (!found)
		return -1;
	r = c.start >> ALSHIFT;
	if (io_in_region(vi, r) || copy_in_region(vi, r))
		return -1;
	/* Within the region only (bcv_next_in_region()). */
	rend = (r + 1) << ALSHIFT;
	if (!bcv_tm_next_copy_range(&v->tm, c.start, rend, 1U << ALSHIFT, avoid, &c))
		return -1;
	if (c.len > rend - c.start)
		c.len = rend - c.start;
	/* The engine would take the same empty run again and again. */
	if (!c.len)
		die("%s: a copy run of no track at %" PRIu64 " (M%d -> %#x)",
		    vname(v), c.start, c.src + 1, c.dst);
	for (k = 0; k < NCP; k++)
		if (!CP[k].used)
			break;
	if (k == NCP)
		return -1;
	/* Both ends must be there (the engine never copies to absent ones). */
	if (pos_dev(v, c.src) < 0)
		die("%s: copy source M%d has no device", vname(v), c.src + 1);
	CP[k] = (struct hcopy){ .used = true, .vol = vi, .c = c };
	note("%s: copy job %u: tracks %" PRIu64 "+%" PRIu64 " M%d -> %#x",
	     vname(v), k, c.start, c.len, c.src + 1, c.dst);
	/* bcv_start_job(): begun under vol->lock, where the run was found */
	bcv_tm_copy_begin(&v->tm, &CP[k].c);
	CP[k].begun = true;
	return k;
}

static void copy_begin(unsigned int k)
{
	bcv_tm_copy_begin(&V[CP[k].vol].tm, &CP[k].c);
	CP[k].begun = true;
}

static void engine_idle(int vi);

/*
 * bcv_job_done() of job @k: it read its source (or failed to, @read_err)
 * and wrote the destinations but those in @wfail.
 */
static void copy_complete(unsigned int k, bool read_err, unsigned int wfail)
{
	struct hcopy *cp = &CP[k];
	int vi = cp->vol;
	struct hvol *v = &V[vi];
	struct bcv_tm_copy *c = &cp->c;
	unsigned int p, ok_dst = 0, bad = 0;
	int sd = pos_dev(v, c->src);
	uint64_t t, n;

	if (!cp->begun)
		copy_begin(k);
	if (sd < 0 || D[sd].gone)
		read_err = true;
	if (!read_err) {
		for (p = 0; p < BCV_POSITIONS; p++) {
			int dd;

			if (!(c->dst & (1U << p)))
				continue;
			dd = pos_dev(v, p);
			if (dd < 0 || D[dd].gone)
				wfail |= 1U << p;
			for (t = c->start; t < c->start + c->len; t++)
				if (!(wfail & (1U << p)))
					dev_write(dd, t, dev_read(sd, t), false);
				else if (dd >= 0 && coin(50))
					dev_write(dd, t, fresh(), false);
			if (wfail & (1U << p)) {
				bad |= 1U << p;
				v->errs[p]++;
			} else {
				ok_dst |= 1U << p;
			}
		}
	} else {
		bad = 1U << c->src;
		v->errs[c->src]++;
	}
	n = bcv_tm_copy_done_to(&v->tm, c, ok_dst);
	if (read_err)
		bcv_tm_mark_stale(&v->tm, c->src, c->start * SPT, c->len * SPT);
	check_legs(v, bad);
	if (n)
		v->copied = true;
	note("%s: copy job %u done: %s, %#x written, %" PRIu64 " tracks V", vname(v),
	     k, read_err ? "read failed" : "read", ok_dst, n);
	cp->used = false;
	engine_idle(vi);
}

/* The session hook (bcv_session_state_hook()): a protected restore done. */
static void state_hook(const struct bcv_tm_sess *ts, enum bcv_state from,
		       enum bcv_state to)
{
	unsigned int c = bcv_tm_sess_id(ts);

	note("S: session %u (%s): %d -> %d", c, S[c].tm ? vname(&V[S[c].bcv]) : "?",
	     from, to);
	std_v()->sb_due = true;
	if (S[c].tm && S[c].linked)
		V[S[c].bcv].sb_due = true;
	S[c].split_due = to == BCV_RESTORED && bcv_tm_sess_protected(ts);
}

/*
 * bcv_engine_idle(), when a pass finds nothing: sessions move on, a leg
 * that finished its resync is no longer syncing on disk.
 */
static void engine_idle(int vi)
{
	struct hvol *v = &V[vi];
	struct bcv_tm_copy c;
	unsigned int k, p;

	for (k = 0; k < NCP; k++)
		if (CP[k].used && CP[k].vol == vi)
			return;
	if (bcv_tm_next_copy_avoid(&v->tm, 0, 1, paused_pos(vi), &c))
		return;
	for (p = 0; p < v->nlegs; p++)
		if (bcv_tm_pos_clean(&v->tm, p) && !v->sb_due) {
			/* bcv_meta_synced(): only if the superblock said syncing */
			v->sb_due = true;
			break;
		}
	if (v->is_std)
		bcv_tm_update_states(&v->tm);
}

/*------------------------------------------------------------------------
 * Checkpoints (bcv_meta_checkpoint())
 */

static void checkpoint(int vi)
{
	struct hvol *v = &V[vi];
	unsigned long stage[NTAB][MAXW], snap[BCV_POSITIONS][MAXW], keep_al;
	unsigned int mask = 0, snapped = 0;
	bool copied = v->copied;
	uint64_t r, i;
	int t;

	/* bcv_meta_checkpoint(): an attached BCV's wait for the split. */
	if (!v->running || !v->mrun || !v->intent || bcv_attached(v))
		return;
	v->copied = false;
	memcpy(stage, v->dur, sizeof(stage));
	/* 1. idle regions leave the log (dur at once) */
	keep_al = v->dur[TAB_AL][0];
	for (r = 0; r < v->regions; r++) {
		if (!(v->dur[TAB_AL][0] & (1UL << r)))
			continue;
		if (io_in_region(vi, r) || (v->touched & (1UL << r))) {
			v->touched &= ~(1UL << r);
			continue;
		}
		v->dur[TAB_AL][0] &= ~(1UL << r);
		stage[TAB_AL][0] &= ~(1UL << r);
		mask |= 1U << TAB_AL;
	}
	/* ... Track ID words where dur has I bits the tables no longer have */
	for (t = 0; copied && t < BCV_POSITIONS; t++) {
		unsigned long *live = live_tab(v, t);
		int role = bcv_tm_pos_role(&v->tm, t);

		if (role != BCV_POS_LEG && role != BCV_POS_MM)
			continue;
		for (i = 0; i < v->words[t]; i++)
			if (v->dur[t][i] & ~live[i]) {
				memcpy(snap[t], live, v->words[t] * sizeof(long));
				snapped |= 1U << t;
				break;
			}
	}
	/* 2. every position flushed */
	if (mask || snapped) {
		unsigned int bad = flush_positions(v);

		if (bad) {
			/*
			 * Nothing is vouched for: the regions go back in the
			 * log, no V bit is written, the failed positions' I
			 * bits go out (queued: at once here).
			 */
			flush_failed(v, bad);
			v->dur[TAB_AL][0] = keep_al;
			meta_error_marks(v, 0, bad, 0, v->tracks - 1);
			note("%s: checkpoint: a flush failed", vname(v));
			return;
		}
	}
	/* 3. dur takes the new words first */
	for (t = 0; t < BCV_POSITIONS; t++) {
		unsigned long *live = live_tab(v, t);

		if (!(snapped & (1U << t)))
			continue;
		for (i = 0; i < v->words[t]; i++) {
			stage[t][i] = v->dur[t][i] & (snap[t][i] | live[i] |
						       busy_bits(vi, i));
			v->dur[t][i] = stage[t][i];
		}
		mask |= 1U << t;
	}
	/* 4. written (a failure leaves more marks on disk than dur says) */
	if (mask && !meta_write_tables(v, mask, stage))
		note("%s: checkpoint write failed", vname(v));
	note("%s: checkpoint (AL, %#x)", vname(v), snapped);
}

/*------------------------------------------------------------------------
 * Power cuts
 */

static void vol_down(struct hvol *v);
static void dump_tables(struct hvol *v, const char *when);
static int dev_owner(int d);
static bool assemble(int vi);
static void link_peers(int vi);
static void check_all(bool after_cut);

/* Set when a cut struck in the middle of a command (what it did is unknown). */
static bool cut_pending;
/*
 * The BCVs (bit b - 1) of a consistent split that a power cut interrupted
 * in its commit; 0: none.  The STD's next assembly checks that its record
 * has them all split or all attached (issue 22, defect 20).
 */
static unsigned int cut_group;

/* Free the sessions the STD holds (it stopped or lost power). */
static void drop_sessions(void)
{
	unsigned int c;

	for (c = 0; c < BCV_SESSIONS; c++) {
		free(S[c].tm);
		memset(&S[c], 0, sizeof(S[c]));
	}
}

/*
 * The power cut: caches may lose what they held, the writes and copies in
 * flight never complete, the kernel forgets everything; then every volume
 * is assembled again from its disks (udev), in an order of the input's.
 */
static void power_cut(void)
{
	unsigned int k, i, order = pick(4);
	int d, vi;

	note("power cut");
	for (d = 0; d < NDEV; d++) {
		dev_cut(d);
		D[d].gone = false;	/* plugged in again, as it was */
	}
	memset(IO, 0, sizeof(IO));
	memset(CP, 0, sizeof(CP));
	for (vi = 0; vi < NVOL; vi++) {
		if (V[vi].running)
			vol_down(&V[vi]);
		V[vi].cut = V[vi].exists;
	}
	drop_sessions();
	for (k = 0; k <= nb; k++) {
		i = order & 1 ? nb - k : k;	/* the STD first, or last */
		if (order & 2)
			i = (k + 1) % (nb + 1);
		if (V[i].exists && !V[i].running)
			assemble(i);
	}
	cut_pending = false;
	check_all(true);
}

/*------------------------------------------------------------------------
 * Commands (bcv_session.c) and their metadata (bcv_meta_commit())
 */

/*
 * bcv_meta_commit(@a, @b): flush the own legs, the new C/I bits of both,
 * both superblocks (@a's first), the new U/V bits.  @cut: a power cut
 * after that many steps (0: none); returns false if it struck.
 */
/*
 * bcv_meta_commit_many(): @n distinct volumes as one commit, their
 * superblocks in the order of @v (a consistent split: the STD first).
 */
static bool commit_many(struct hvol **v, unsigned int n, unsigned int cut)
{
	unsigned int step = 0, i, bad[NVOL] = { 0 };

#define CUT_AT() do { if (cut && ++step == cut) { cut_pending = true; \
		return false; } } while (0)
	for (i = 0; i < n; i++) {
		bad[i] = flush_positions(v[i]);
		flush_failed(v[i], bad[i]);
		if (bad[i])
			meta_vouch_stale(v[i], bad[i]);
	}
	CUT_AT();
	for (i = 0; i < n; i++) {
		if (v[i]->rewrite)
			rewrite_legs(v[i]);
		meta_sync(v[i], false);
	}
	CUT_AT();
	for (i = 0; i < n; i++) {
		meta_write_sb(v[i], false);
		v[i]->sb_due = false;
		CUT_AT();
	}
	for (i = 0; i < n; i++)
		if (!bad[i])
			meta_sync(v[i], true);
#undef CUT_AT
	return true;
}

/* bcv_meta_commit(): @a's superblock first, then @b's (if any). */
static bool commit(struct hvol *a, struct hvol *b, unsigned int cut)
{
	struct hvol *v[2] = { a, b };

	return commit_many(v, b ? 2 : 1, cut);
}

/*
 * bcv_catch_up(): with host I/O held, the engine runs until position
 * @pos of @v is valid everywhere or gives up (the 30 s timeout: here a
 * number of jobs).
 */
static void catch_up(int vi, int pos)
{
	unsigned int n;
	int k;

	for (n = 0; n < 40 && bcv_tm_count_invalid(&V[vi].tm, pos); n++) {
		k = copy_pick(vi, 0, 0);
		if (k < 0)
			break;
		copy_begin(k);
		copy_complete(k, coin(5) && faults("iofail"),
			      coin(5) && faults("iofail") ? ALL_POS : 0);
	}
}

/* The BCV's own view before it is attached: what ABORT gives back. */
static void save_pre(int b)
{
	struct hvol *bv = &V[b];
	uint64_t t;
	unsigned int p;

	for (t = 0; t < bv->tracks && t < MAXT; t++) {
		V[b].pre[t] = bv->ts[t].cur;
		V[b].pre_bfm[t] = false;
		for (p = 1; p < bv->nlegs; p++)
			if (!bcv_tm_invalid(&bv->tm, p, t) && !D[bv->dev[p]].gone &&
			    !(bcv_tm_failed_legs(&bv->tm) & (1U << p)))
				V[b].pre_bfm[t] = true;
		D[bv->dev[0]].wrote[t].n = 0;
		D[bv->dev[0]].wrote[t].any = false;
	}
}

/* bcv_std_whole(): the STD's own legs that hold every track. */
static unsigned int std_whole(struct hvol *s)
{
	unsigned int m = bcv_tm_write_targets(&s->tm) & leg_mask(s), kept = 0, p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((m & (1U << p)) && !bcv_tm_count_invalid(&s->tm, p))
			kept |= 1U << p;
	return kept;
}

/* bcv_std_errors(): own legs only. */
static uint64_t std_errors(struct hvol *s)
{
	uint64_t n = 0;
	unsigned int p;

	for (p = 0; p < s->nlegs; p++)
		n += s->errs[p];
	return n;
}

enum { C_EST, C_SPLIT, C_REEST, C_REST, C_TERM, C_ABORT, C_PAUSE, C_RESUME,
       C_NR };
static const char *const cmd_names[C_NR] = {
	"establish", "split", "reestablish", "restore", "terminate", "abort",
	"pause", "resume",
};

/*
 * A fixed mirror of @bv still holds track @t: a recovery since the attach
 * may have taken it away (the BCV's own log said its legs could differ).
 */
static bool bfm_holds(struct hvol *bv, uint64_t t)
{
	unsigned int p;

	for (p = 1; p < bv->nlegs; p++)
		if (!bcv_tm_invalid(&bv->tm, p, t) &&
		    !(bcv_tm_failed_legs(&bv->tm) & (1U << p)))
			return true;
	return false;
}

/* The host's views after a command that detached the BCV of column @c. */
static void detach_views(int b, int cmd, int st,
			 const unsigned long *mm_inv, const unsigned long *col,
			 bool protect)
{
	struct hvol *sv = std_v(), *bv = &V[b];
	uint64_t t;

	for (t = 0; t < sv->tracks; t++) {
		bool mm_i = (mm_inv[t / 64] >> (t % 64)) & 1;
		bool hw = (col[t / 64] >> (t % 64)) & 1;
		struct hts *h = &bv->ts[t];

		if (protect)
			continue;	/* the BCV was never written */
		if (st == BCV_RESTINPROG) {
			/* ABORT of a restore: the BCV kept its data and took
			 * the host's writes since. */
			if (hw)
				h->cur = sv->ts[t].cur;
			else
				h->cur = V[b].pre[t];
			h->crash = h->cur;
			continue;
		}
		if (!mm_i) {
			h->cur = sv->ts[t].cur;
		} else if (V[b].pre_bfm[t] && bfm_holds(bv, t)) {
			h->cur = V[b].pre[t];
		} else {
			h->cur = V[b].pre[t];
			vs_union(&h->cur, &D[bv->dev[0]].wrote[t]);
		}
		h->crash = h->cur;
		if (trace) {
			char x[256];

			vs_fmt(&h->cur, x, sizeof(x));
			printf("    %s track %" PRIu64 ": mm %s bfm %d -> %s\n",
			       vname(bv), t, mm_i ? "I" : "V", V[b].pre_bfm[t], x);
		}
	}
	(void)cmd;
}

/*
 * bcv_session_cmd(): @cmd on the pair STD / V[@b], with its flags.  @cut:
 * a power cut inside the command's commit.  Returns 0 or an errno.
 */
/* __bcv_absent_session(): the STD's session of @b that is not linked. */
static int absent_session(int b)
{
	unsigned int c;

	if (!std_v()->running)
		return -1;
	for (c = 0; c < BCV_SESSIONS; c++)
		if (S[c].tm && S[c].bcv == b && !S[c].linked)
			return (int)c;
	return -1;
}

/* __bcv_absent_cmd(): split --force, ABORT or TERMINATE of session @c. */
static int absent_cmd(unsigned int c, int cmd, bool force, unsigned int cut)
{
	struct hvol *sv = std_v();
	struct bcv_tm_why why = { 0, 0 };
	struct bcv_tm_cmd tc = { .force = force, .why = &why };
	struct bcv_tm_sess *ts = S[c].tm, *freed = NULL;
	unsigned long col[MAXW] = { 0 };
	int b = S[c].bcv, st = bcv_tm_sess_state(ts), ret;
	bool undo = cmd == C_ABORT && st == BCV_RESTINPROG;
	unsigned int kept = 0;
	struct vset old_std[MAXT];
	uint64_t t;

	if (vol_busy(STDV))
		return -EAGAIN;
	note("%s%s B%d, not here (state %d)", cmd_names[cmd],
	     force ? " --force" : "", b, st);
	if (undo && S[c].restore_errs == std_errors(sv))
		kept = S[c].restore_kept;
	for (t = 0; t < sv->tracks; t++) {
		if (bcv_tm_pb_changed(&sv->tm, t, c))
			col[t / 64] |= 1UL << (t % 64);
		old_std[t] = sv->ts[t].cur;
	}
	if (cmd == C_TERM)
		ret = bcv_tm_terminate_absent(&sv->tm, ts, &freed);
	else
		ret = bcv_tm_let_go(&sv->tm, ts, cmd == C_ABORT, kept, &tc);
	note("  -> %d (reason %u)", ret, why.reason);
	if (ret)
		return ret;
	if (undo)
		for (t = 0; t < sv->tracks; t++)
			if (bcv_tm_pb_changed(&sv->tm, t, c) &&
			    !((col[t / 64] >> (t % 64)) & 1)) {
				sv->ts[t].cur = V[b].pre_std[t];
				sv->ts[t].crash = sv->ts[t].cur;
			}
	/*
	 * What the BCV holds when it is back is not known here (it was
	 * attached, or stood alone without knowing of the session).
	 */
	if (!V[b].running)
		for (t = 0; t < V[b].tracks; t++) {
			V[b].ts[t].cur.any = true;
			V[b].ts[t].crash.any = true;
		}
	if (freed) {
		memset(&S[c], 0, sizeof(S[c]));
		free(freed);
	}
	if (!commit(sv, NULL, cut)) {
		for (t = 0; t < sv->tracks; t++) {
			vs_union(&sv->ts[t].crash, &old_std[t]);
			vs_union(&sv->ts[t].crash, &sv->ts[t].cur);
		}
		power_cut();
	}
	return 0;
}

/* __bcv_release(): BCV @b, whose STD is not here, stands alone. */
static int release(int b)
{
	struct hvol *bv = &V[b];

	if (vol_busy(b))
		return -EAGAIN;
	note("release B%d (was %s)", b,
	     bv->link.state != BCV_STATE_SPLIT ? "attached" : "split");
	if (bv->link.state != BCV_STATE_SPLIT) {
		uint64_t t;

		bcv_tm_fixed_follow_primary(&bv->tm);
		/* It holds what the STD last wrote to it. */
		for (t = 0; t < bv->tracks; t++) {
			bv->ts[t].cur.any = true;
			bv->ts[t].crash.any = true;
		}
	}
	bv->link.used = false;
	if (!commit(bv, NULL, 0))
		die("commit without a cut stopped");
	return 0;
}

static int command(int cmd, int b, bool diff, bool incr, bool force,
		   bool protect, unsigned int cut)
{
	struct hvol *sv = std_v(), *bv = &V[b];
	struct bcv_tm_why why = { 0, 0 };
	struct bcv_tm_cmd tc = {
		.diff = diff, .incremental = incr, .force = force,
		.protect = protect, .why = &why,
	};
	struct bcv_tm_sess *ts, *spare = NULL;
	unsigned long mm_inv[MAXW] = { 0 }, col[MAXW] = { 0 };
	struct vset old_std[MAXT];
	unsigned int kept = 0, p, c = 0;
	uint64_t errs = 0, t;
	int ret, st = 0, mm = BCV_NO_POS;
	bool protected_split = false;

	/* bcv_session_cmd(): a session one side of which is not here */
	if (cmd == C_TERM || cmd == C_ABORT || (cmd == C_SPLIT && force)) {
		int ac = absent_session(b);

		if (sv->running && ac >= 0 &&
		    (!bv->running || (!bv->link.used &&
				      !bcv_tm_session(&sv->tm, &bv->tm))))
			return absent_cmd(ac, cmd, force, cut);
		if (bv->running && bv->link.used && cmd != C_ABORT &&
		    (!sv->running || ac < 0))
			return release(b);
	}
	if (!sv->running || !bv->running)
		return -ENOENT;
	if (bv->link.used)
		link_peers(b);		/* bcv_find_pair() */
	if (bv->link.used)
		return -EBUSY;		/* PEER_ABSENT */
	/* A session of the STD remembers it, unlinked: end that first. */
	if (cmd == C_EST && !bcv_tm_session(&sv->tm, &bv->tm) &&
	    absent_session(b) >= 0)
		return -EBUSY;		/* PEER_ABSENT */
	if (vol_busy(STDV) || vol_busy(b))
		return -EAGAIN;		/* the model runs commands quiesced */
	ts = bcv_tm_session(&sv->tm, &bv->tm);
	if (ts) {
		c = bcv_tm_sess_id(ts);
		st = bcv_tm_sess_state(ts);
		mm = bcv_tm_sess_mm(ts);
		protected_split = bcv_tm_sess_protected(ts);
	}
	note("%s %s%s%s%s%s B%d (state %d)", cmd_names[cmd], diff ? "--diff " : "",
	     incr ? "--incremental " : "", force ? "--force " : "",
	     protect ? "--protect " : "", cut ? "(cut) " : "", b, st);

	if (cmd == C_TERM) {
		struct bcv_tm_sess *freed = NULL;

		ret = bcv_tm_terminate(&sv->tm, &bv->tm, &freed);
		if (ret)
			return ret;
		memset(&S[c], 0, sizeof(S[c]));
		free(freed);
		commit(sv, bv, cut);
		if (cut_pending)
			power_cut();
		return 0;
	}
	if (cmd == C_PAUSE || cmd == C_RESUME) {
		if (!ts)
			return -ENOENT;
		S[c].paused = cmd == C_PAUSE;
		return 0;
	}
	tc.std_openers = sv->open;
	tc.std_open = sv->open;
	tc.bcv_openers = bv->open;
	tc.bcv_open = bv->open;
	if (cmd == C_SPLIT && !force && ts && mm != BCV_NO_POS &&
	    !protected_split && (st == BCV_SYNCHRONIZED || st == BCV_RESTORED))
		catch_up(STDV, mm);
	if (cmd == C_REST && ts && st == BCV_SPLIT)
		for (p = 0; p < bv->nlegs; p++)
			catch_up(b, p);
	if (cmd == C_REST || cmd == C_ABORT)
		errs = std_errors(sv);
	if (cmd == C_REST)
		kept = std_whole(sv);
	if (cmd == C_ABORT && ts && S[c].restore_errs == errs)
		kept = S[c].restore_kept;
	/* What the model needs to know of the tables before. */
	if (ts && mm != BCV_NO_POS)
		for (t = 0; t < sv->tracks; t++) {
			if (bcv_tm_invalid(&sv->tm, mm, t))
				mm_inv[t / 64] |= 1UL << (t % 64);
			if (bcv_tm_pb_changed(&sv->tm, t, c))
				col[t / 64] |= 1UL << (t % 64);
		}
	for (t = 0; t < sv->tracks; t++)
		old_std[t] = sv->ts[t].cur;

	switch (cmd) {
	case C_EST:
		spare = calloc(1, sizeof(*spare));
		ret = bcv_tm_establish(&sv->tm, &bv->tm, &tc, &spare);
		free(spare);
		break;
	case C_SPLIT:
		ret = bcv_tm_split(&sv->tm, &bv->tm, &tc);
		break;
	case C_REEST:
		ret = bcv_tm_reestablish(&sv->tm, &bv->tm, &tc);
		break;
	case C_REST:
		if (protect && !sv->intent) {
			ret = -EINVAL;	/* BCV_R_NO_INTENT */
			break;
		}
		ret = bcv_tm_restore(&sv->tm, &bv->tm, &tc);
		break;
	case C_ABORT:
		ret = bcv_tm_abort(&sv->tm, &bv->tm, kept);
		break;
	default:
		ret = -EINVAL;
	}
	note("  -> %d (reason %u)", ret, why.reason);
	if (ret)
		return ret;
	ts = bcv_tm_session(&sv->tm, &bv->tm);
	c = bcv_tm_sess_id(ts);
	switch (cmd) {
	case C_EST:
		if (!S[c].tm) {
			S[c].tm = ts;
			S[c].bcv = b;
			S[c].bcv_uuid = bv->uuid;
			S[c].linked = true;
		}
		save_pre(b);
		break;
	case C_REEST:
		save_pre(b);
		break;
	case C_REST:
		S[c].restore_kept = kept;
		S[c].restore_errs = errs;
		for (t = 0; t < sv->tracks; t++) {
			V[b].pre_std[t] = sv->ts[t].cur;
			V[b].pre[t] = bv->ts[t].cur;
			sv->ts[t].cur = bv->ts[t].cur;
			sv->ts[t].crash = bv->ts[t].cur;
		}
		break;
	case C_SPLIT:
		detach_views(b, cmd, st, mm_inv, col, protected_split);
		break;
	case C_ABORT:
		detach_views(b, cmd, st, mm_inv, col, false);
		dump_tables(bv, "aborted");
		break;
	}
	if (cmd == C_ABORT && st == BCV_RESTINPROG) {
		/*
		 * bcv_tm_abort() marked C in the session's column what it
		 * gave back (the old data); the rest kept the restore's.
		 */
		for (t = 0; t < sv->tracks; t++)
			if (bcv_tm_pb_changed(&sv->tm, t, c) &&
			    !((col[t / 64] >> (t % 64)) & 1)) {
				sv->ts[t].cur = V[b].pre_std[t];
				sv->ts[t].crash = sv->ts[t].cur;
			}
	}
	/* The superblock that makes the BCV usable goes last. */
	if (!(cmd == C_SPLIT || cmd == C_ABORT ? commit(sv, bv, cut) :
	      commit(bv, sv, cut))) {
		/* Cut in the middle: before or after, each volume. */
		for (t = 0; t < sv->tracks; t++) {
			vs_union(&sv->ts[t].crash, &old_std[t]);
			vs_union(&sv->ts[t].crash, &sv->ts[t].cur);
		}
		power_cut();
	}
	return 0;
}

/*------------------------------------------------------------------------
 * Stop, assembly, links (bcv_session.c, bcv_meta.c)
 */

/* Trace: the Track ID bits of @v (and the AL), one line per position. */
static void dump_tables(struct hvol *v, const char *when)
{
	unsigned int p;
	uint64_t t;
	char line[MAXT + 1];

	if (!trace)
		return;
	for (p = 0; p < BCV_POSITIONS; p++) {
		for (t = 0; t < v->tracks; t++)
			line[t] = bcv_tm_invalid(&v->tm, p, t) ? 'I' : '.';
		line[v->tracks] = 0;
		printf("    %s %s M%u %s role %d\n", vname(v), when, p + 1, line,
		       bcv_tm_pos_role(&v->tm, p));
	}
	printf("    %s %s AL %#lx\n", vname(v), when, v->dur[TAB_AL][0]);
}

/* The kernel forgets @v (stopped, or the power went). */
static void vol_down(struct hvol *v)
{
	unsigned int c;

	if (v->is_std) {
		/* Its BCVs stay; they remember the session (bcv_stop_cmd()). */
		for (c = 0; c < BCV_SESSIONS; c++)
			S[c].linked = false;
	} else {
		int col = col_of(v - V);

		if (col >= 0 && S[col].linked && std_v()->running) {
			bcv_tm_sess_unlink(S[col].tm);
			S[col].linked = false;
		}
	}
	if (v->tm_init)
		bcv_tm_vol_free(&v->tm);
	v->tm_init = false;
	v->running = false;
	v->mrun = false;
}

/* bcv_meta_stop(): the tables and a clean superblock on every leg. */
static bool meta_stop(struct hvol *v)
{
	unsigned int failed, i;
	bool ok = true;
	int t;

	{
		unsigned int bad = flush_positions(v);

		flush_failed(v, bad);
		if (bad)
			meta_vouch_stale(v, bad);
	}
	failed = bcv_tm_failed_legs(&v->tm);
	memset(v->dur[TAB_AL], 0, sizeof(v->dur[TAB_AL]));
	for (i = 0; i < v->nlegs; i++) {
		if (failed & (1U << i))
			continue;
		if (!meta_save_tables(v, i) ||
		    !dev_flush(v->dev[i], !(coin(2) && faults("flushfail"))))
			ok = false;
	}
	if (!ok) {
		/* bcv_meta_dur_and_live(): dur keeps what both say. */
		for (t = 0; t <= TAB_PB; t++) {
			unsigned long *live = live_tab(v, t);
			uint64_t k;

			for (k = 0; live && k < v->words[t]; k++)
				v->dur[t][k] &= live[k];
		}
		return false;
	}
	dur_is_live(v);
	v->rewrite = 0;
	if (!meta_write_sb(v, true))
		return false;
	v->mrun = false;
	return true;
}

/* bcv_stop_cmd() */
static int stop_vol(int vi)
{
	struct hvol *v = &V[vi];
	unsigned int c;
	int col = v->is_std ? -1 : col_of(vi);

	if (!v->running)
		return -ENOENT;
	if (v->open)
		return -EBUSY;
	if (col >= 0 && S[col].linked &&
	    bcv_tm_sess_state(S[col].tm) == BCV_RESTINPROG)
		return -EBUSY;
	if (vol_busy(vi))
		return -EAGAIN;
	if (v->is_std)
		for (c = 0; c < BCV_SESSIONS; c++)
			if (S[c].tm && S[c].linked && vol_busy(S[c].bcv))
				return -EAGAIN;
	if (!v->is_std && col >= 0 && S[col].linked && vol_busy(STDV))
		return -EAGAIN;
	note("stop %s", vname(v));
	if (!meta_stop(v)) {
		note("  stop failed: %s stays", vname(v));
		return -EIO;
	}
	if (v->is_std) {
		for (c = 0; c < BCV_SESSIONS; c++) {
			struct hvol *bv;

			if (!S[c].tm || !S[c].linked)
				continue;
			bv = &V[S[c].bcv];
			bv->link = (struct hrec){
				.used = true, .peer = v->uuid, .id = c,
				.state = bcv_tm_sess_state(S[c].tm),
				.mm = bcv_tm_sess_mm(S[c].tm),
			};
			bcv_tm_sess_unlink(S[c].tm);
			S[c].linked = false;
		}
		vol_down(v);
		drop_sessions();
	} else {
		if (col >= 0 && S[col].linked && std_v()->running) {
			if (vol_busy(STDV))
				return -EAGAIN;
			bcv_tm_sess_unlink(S[col].tm);
			S[col].linked = false;
		}
		vol_down(v);
	}
	return 0;
}

/*
 * __bcv_link(): @b is assembled and the STD's session @c waits for it:
 * link them (both held) and commit.
 */
static void link_pair(unsigned int c, int b)
{
	struct hvol *sv = std_v(), *bv = &V[b];

	if (bcv_tm_sess_mm(S[c].tm) != BCV_NO_POS && bv->open &&
	    bv->link.state == BCV_STATE_SPLIT)
		return;		/* once it is closed */
	if (vol_busy(STDV) || vol_busy(b))
		return;
	if (bcv_tm_sess_link(S[c].tm, &bv->tm)) {
		note("link of B%d to session %u refused", b, c);
		return;
	}
	/* __bcv_link(): it says attached, the STD says split */
	if (bcv_tm_sess_mm(S[c].tm) == BCV_NO_POS &&
	    bv->link.state != BCV_STATE_SPLIT)
		bcv_tm_fixed_follow_primary(&bv->tm);
	S[c].linked = true;
	bv->link.used = false;
	note("B%d linked to session %u (state %d)", b, c,
	     bcv_tm_sess_state(S[c].tm));
	if (!commit(sv, bv, 0))
		die("commit without a cut stopped");
}

/* __bcv_link_peers() */
static void link_peers(int vi)
{
	struct hvol *v = &V[vi];
	unsigned int c;
	int b;

	if (!std_v()->running)
		return;
	if (!v->is_std) {
		if (!v->link.used || v->link.peer != std_v()->uuid)
			return;
		c = v->link.id;
		if (!S[c].tm || S[c].linked || S[c].bcv_uuid != v->uuid)
			return;
		link_pair(c, vi);
		return;
	}
	for (c = 0; c < BCV_SESSIONS; c++) {
		if (!S[c].tm || S[c].linked)
			continue;
		for (b = 1; b <= (int)nb; b++)
			if (V[b].running && V[b].uuid == S[c].bcv_uuid)
				break;
		if (b > (int)nb)
			continue;
		if (!V[b].link.used || V[b].link.peer != v->uuid ||
		    V[b].link.id != c)
			continue;
		link_pair(c, b);
	}
}

/* bcv_meta_read_sb(): the valid copy with the higher seq, or NULL. */
static const struct hsbc *read_sb(int d);

static unsigned int read_sb_copy(int d)
{
	return read_sb(d) == &D[d].sb[1];
}

static const struct hsbc *read_sb(int d)
{
	const struct hsbc *a = &D[d].sb[0], *b = &D[d].sb[1];

	if (!a->ok && !b->ok)
		return NULL;
	if (!a->ok)
		return b;
	if (!b->ok)
		return a;
	return b->seq > a->seq ? b : a;
}

/*
 * bcv_assemble_cmd() of V[@vi] from its disks: superblocks, sessions,
 * the union of the legs' tables, recovery after an unclean stop, stale
 * legs, the tables and a superblock written, then linked with its peers.
 */
/*
 * The STD's sessions were just loaded from its record: a consistent split
 * cut in its commit (cut_group) left its pairs all split or all attached.
 */
static void group_check(void)
{
	unsigned int c, split = 0, attached = 0;

	if (!cut_group)
		return;
	for (c = 0; c < BCV_SESSIONS; c++) {
		if (!S[c].tm || S[c].bcv < 1 ||
		    !(cut_group & (1U << (S[c].bcv - 1))))
			continue;
		if (bcv_tm_sess_mm(S[c].tm) == BCV_NO_POS)
			split++;
		else
			attached++;
	}
	note("S: the consistent split %#x cut in its commit: %u split, %u attached",
	     cut_group, split, attached);
	if (split && attached && !skipping("group"))
		die("a consistent split cut in its commit: %u pairs split, %u attached",
		    split, attached);
	cut_group = 0;
}

static bool assemble(int vi)
{
	struct hvol *v = &V[vi];
	const struct hsbc *sb[BCV_MAX_LEGS], *best = NULL, *x;
	unsigned int i, stale = 0, c, nr;
	int src = -1, insync = -1, d;
	uint64_t events = 0, seq = 0;
	bool clean, written = true;

	/*
	 * bcvctl assemble --scan: the devices whose superblock names the
	 * volume; the freshest one lists the legs, found by their UUIDs.
	 */
	for (d = 0; d < NDEV; d++) {
		if (D[d].gone)
			continue;
		x = read_sb(d);
		if (x && x->vol_uuid == v->uuid && (!best || x->events > events)) {
			best = x;
			events = x->events;
		}
	}
	if (!best)
		die("assemble %s: no disk carries its superblock", vname(v));
	nr = best->nr_legs;
	for (i = 0; i < nr; i++) {
		for (d = 0; d < NDEV; d++) {
			x = D[d].gone ? NULL : read_sb(d);
			if (x && x->vol_uuid == v->uuid && x->leg_pos < x->nr_legs &&
			    x->leg_uuid[x->leg_pos] == best->leg_uuid[i])
				break;
		}
		if (d == NDEV) {
			/* A leg whose device is gone: it cannot be given. */
			for (d = 0; d < NDEV; d++)
				if (dev_owner(d) == vi && D[d].gone) {
					note("assemble %s: a leg's disk is gone", vname(v));
					return false;
				}
			/* A leg whose device is there but says otherwise. */
			for (d = 0; d < NDEV; d++)
				if (dev_owner(d) == vi && !D[d].gone && read_sb(d) &&
				    read_sb(d)->vol_uuid != v->uuid)
					die("assemble %s: leg M%u (disk %d) has another "
					    "volume's superblock (uuid %x seq %" PRIu64 ")",
					    vname(v), i + 1, d, read_sb(d)->vol_uuid,
					    read_sb(d)->seq);
			die("assemble %s: leg M%u is missing", vname(v), i + 1);
		}
		v->dev[i] = d;
		sb[i] = read_sb(d);
		v->sb_copy[i] = read_sb_copy(d);
		if (sb[i]->seq > seq)
			seq = sb[i]->seq;
	}
	v->nlegs = nr;
	for (i = 0; i < nr; i++) {
		unsigned int pos = sb[i]->leg_pos;

		if (pos != i)
			die("assemble %s: leg %u says it is M%u", vname(v), i, pos + 1);
		if (sb[i]->events < events || (best->leg_flags[pos] & LEG_FAILED))
			stale |= 1U << pos;
	}
	v->sectors = best->sectors;
	v->tracks = bcv_tracks(v->sectors, TSHIFT);
	v->events = events;
	v->seq = seq;
	clean = best->clean;
	for (i = 0; i < v->nlegs; i++)
		v->leg_uuid[i] = best->leg_uuid[i];
	if (bcv_tm_vol_init(&v->tm, best->sectors, TSHIFT, v->is_std, v->nlegs))
		die("bcv_tm_vol_init");
	v->tm_init = true;
	if (v->is_std) {
		drop_sessions();
		bcv_tm_set_state_hook(&v->tm, state_hook);
		for (c = 0; c < BCV_SESSIONS; c++) {
			const struct hrec *r = &best->sess[c];
			struct bcv_tm_sess *ts;
			int b;

			if (!r->used)
				continue;
			ts = calloc(1, sizeof(*ts));
			if (bcv_tm_sess_load(&v->tm, ts, c, r->state, r->mm))
				die("assemble: session %u does not load", c);
			if (r->protect)
				bcv_tm_sess_protect(ts);
			S[c].tm = ts;
			/* __bcv_load_sessions(): a split owed before the stop */
			S[c].split_due = r->protect && r->state == BCV_RESTORED;
			S[c].bcv_uuid = r->peer;
			S[c].bcv = -1;
			for (b = 1; b <= (int)nb; b++)
				if (V[b].uuid == r->peer)
					S[c].bcv = b;
			if (S[c].bcv < 0)
				die("assemble: session %u names no BCV", c);
		}
		group_check();
	} else {
		v->link = best->link;
	}
	for (i = 0; i < v->nlegs; i++) {
		if (stale & (1U << i))
			continue;
		if (src < 0)
			src = i;
		if (insync < 0 && !(best->leg_flags[i] & LEG_SYNCING))
			insync = i;
	}
	if (insync >= 0)
		src = insync;
	if (src < 0)
		die("assemble %s: no leg is current", vname(v));
	meta_alloc(v);
	/* The union of the legs' tables (bcv_meta_load_tables()). */
	for (i = 0; i < v->nlegs; i++) {
		int t, d = v->dev[i];

		if ((int)i != src && (stale & (1U << i)))
			continue;	/* not a stale leg's (bcv_assemble_cmd()) */
		for (t = 0; t < NTAB; t++) {
			unsigned long *w = t == TAB_AL ? v->dur[t] : live_tab(v, t);
			uint64_t k;

			if (!w)
				continue;
			for (k = 0; k < v->words[t]; k++)
				if ((int)i == src && t != TAB_AL)
					w[k] = D[d].img[t][k];
				else
					w[k] |= D[d].img[t][k];
		}
	}
	dump_tables(v, "loaded");
	/* bcv_meta_recover() */
	{
		struct bcv_tm_assembly a = {
			.stale = stale, .clean = clean, .intent = !best->no_intent,
			.al = v->dur[TAB_AL], .regions = v->regions,
			.al_shift = ALSHIFT,
		};

		bcv_tm_assemble(&v->tm, &a);
	}
	dump_tables(v, "stale legs");
	v->stale_at_asm = stale;
	/* bcv_meta_rewrite(): every table on every leg, an empty log. */
	memset(v->dur[TAB_AL], 0, sizeof(v->dur[TAB_AL]));
	for (i = 0; i < v->nlegs; i++)
		if (!meta_save_tables(v, i) || !dev_flush(v->dev[i], true)) {
			note("assemble %s: tables of M%u not written", vname(v), i + 1);
			written = false;
		}
	dur_is_live(v);
	if (!written) {
		/* "cannot write its tables": not assembled */
		if (v->is_std)
			drop_sessions();
		bcv_tm_vol_free(&v->tm);
		v->tm_init = false;
		return false;
	}
	v->intent = write_intent_param;
	for (c = 0; v->is_std && c < BCV_SESSIONS; c++)
		if (S[c].tm && bcv_tm_sess_protected(S[c].tm))
			v->intent = true;	/* a protected restore keeps it */
	if (!meta_write_sb(v, false)) {
		/* "cannot write its superblock": not assembled */
		note("assemble %s: no superblock written", vname(v));
		if (v->is_std)
			drop_sessions();
		bcv_tm_vol_free(&v->tm);
		v->tm_init = false;
		return false;
	}
	v->running = true;
	v->mrun = true;
	v->sb_due = false;
	v->open = false;
	note("assembled %s%s, stale %#x, disks %d %d %d", vname(v),
	     clean ? "" : " (unclean)", stale, v->dev[0],
	     v->nlegs > 1 ? v->dev[1] : -1, v->nlegs > 2 ? v->dev[2] : -1);
	link_peers(vi);
	if (v->is_std)
		bcv_tm_update_states(&v->tm);
	return true;
}

/*------------------------------------------------------------------------
 * Legs (bcv_core.c)
 */

static int dev_owner(int d)
{
	unsigned int p;
	int vi;

	for (vi = 0; vi <= (int)nb; vi++)
		for (p = 0; V[vi].exists && p < V[vi].nlegs; p++)
			if (V[vi].dev[p] == d)
				return vi;
	return -1;
}

/* bcv_leg_add(): a spare disk becomes leg nlegs of @vi. */
/*
 * bcv_mm_move(): the MM at @from moves to @to out of a new leg's way;
 * bcv_meta_mm_moved() writes its table at @to, then the superblock.
 */
static bool mm_move(struct hvol *v, int from, int to)
{
	unsigned long *mm, *old;
	unsigned int bad, e;
	uint64_t i;
	int k, p[2] = { from, to };

	for (k = 0; k < 2; k++) {
		bcv_tm_mm_move(&v->tm, p[k], p[!k]);
		e = v->errs[p[k]];
		v->errs[p[k]] = 0;
		v->errs[p[!k]] = e;
		if (k)
			break;
		note("%s: MM moves from M%d to M%d", vname(v), from + 1, to + 1);
		/* No leg left: the new leg's metadata says it first. */
		if (!(leg_mask(v) & ~bcv_tm_failed_legs(&v->tm)))
			return true;
		bad = flush_positions(v);
		if (bad) {
			flush_failed(v, bad);
			meta_vouch_stale(v, bad);
			meta_sync(v, false);
			continue;
		}
		mm = live_tab(v, to);
		old = live_tab(v, from);
		for (i = 0; i < v->words[to]; i++) {
			v->dur[to][i] = ~mm[i];
			v->dur[from][i] = old[i];
		}
		if (meta_sync(v, true) && meta_write_sb(v, false))
			return true;
	}
	note("%s: the MM moved back to M%d", vname(v), from + 1);
	return false;
}

static void leg_add(int vi)
{
	struct hvol *v = &V[vi];
	int pos, d, from, to;

	if (!v->running || v->nlegs >= BCV_MAX_LEGS || bcv_attached(v) ||
	    !bcv_tm_legs_changeable(&v->tm) || vol_busy(vi))
		return;
	for (d = 0; d < NDEV; d++)
		if (dev_owner(d) < 0 && !D[d].gone)
			break;
	if (d == NDEV)
		return;
	from = bcv_tm_leg_room(&v->tm, &to);
	if (from != BCV_NO_POS && (to == BCV_NO_POS || !mm_move(v, from, to)))
		return;
	pos = bcv_tm_leg_add(&v->tm);
	if (pos < 0)
		return;
	v->dev[pos] = d;
	v->leg_uuid[pos] = ++uuid_ctr;
	v->nlegs++;
	note("%s: leg M%d added on disk %d (owner %d)", vname(v), pos + 1, d,
	     dev_owner(d));
	/*
	 * bcv_meta_leg_added(): the device's old superblocks erased, its
	 * tables, then every leg's new leg list
	 */
	if (!D[d].gone) {
		D[d].sb[0].ok = false;
		D[d].sb[1].ok = false;
	}
	v->sb_copy[pos] = 1;
	/* Its tables, then its superblock alone, then the others' (commit) */
	if (!meta_save_tables(v, pos) || !dev_flush(d, true) ||
	    !meta_write_sb_legs(v, false, 1U << pos)) {
		note("%s: the new leg's metadata not written: out again", vname(v));
		bcv_tm_leg_unadd(&v->tm);
		v->nlegs--;
		if (!commit(v, NULL, 0))
			die("commit without a cut stopped");
		if (!D[d].gone) {
			D[d].sb[0].ok = false;
			D[d].sb[1].ok = false;
		}
		return;
	}
	if (!commit(v, NULL, 0))
		die("commit without a cut stopped");
}

/* bcv_leg_remove() */
static void leg_remove(int vi, int pos)
{
	struct hvol *v = &V[vi];
	unsigned int j;
	int d;


	if (!v->running || pos >= (int)v->nlegs || vol_busy(vi) ||
	    bcv_attached(v))
		return;
	if (bcv_tm_leg_remove(&v->tm, pos))
		return;
	d = v->dev[pos];
	for (j = pos; j + 1 < v->nlegs; j++) {
		v->dev[j] = v->dev[j + 1];
		v->leg_uuid[j] = v->leg_uuid[j + 1];
		v->errs[j] = v->errs[j + 1];
		v->sb_copy[j] = v->sb_copy[j + 1];
	}
	v->nlegs--;
	v->rewrite = (v->rewrite & ((1U << pos) - 1)) |
		     ((v->rewrite >> 1) & ~((1U << pos) - 1));
	note("%s: leg M%d (disk %d) removed", vname(v), pos + 1, d);
	if (!commit(v, NULL, 0))
		die("commit without a cut stopped");
	/* bcv_meta_wipe_leg() */
	if (!D[d].gone) {
		D[d].sb[0].ok = false;
		D[d].sb[1].ok = false;
	}
}

/*------------------------------------------------------------------------
 * Invariants
 */


/*
 * The data at @v's track @t: the version its valid positions that are
 * there hold (they must agree); *@held: a data position is valid at all.
 * Returns false if no valid position is there to read.
 */
static bool vol_data(int vi, uint64_t t, ver_t *val, bool *held)
{
	struct hvol *v = &V[vi];
	unsigned int dpos = bcv_tm_data_positions(&v->tm), p;
	int holder = -1, d;

	*held = false;
	for (p = 0; p < BCV_POSITIONS; p++) {
		ver_t got;

		if (!(dpos & (1U << p)) || bcv_tm_invalid(&v->tm, p, t))
			continue;
		*held = true;
		if (!(present_pos(v) & (1U << p)) || (d = pos_dev(v, p)) < 0 ||
		    D[d].gone)
			continue;
		got = dev_read(d, t);
		if (holder < 0) {
			holder = p;
			*val = got;
		} else if (got != *val) {
			die("%s: track %" PRIu64 " is valid at M%d (%" PRIx64
			    ") and at M%u (%" PRIx64 "), which differ", vname(v), t,
			    holder + 1, *val, p + 1, got);
		}
	}
	return holder >= 0;
}

static void check_vol(int vi, bool after_cut)
{
	struct hvol *v = &V[vi];
	uint64_t t;

	/* An attached BCV's own tables wait: the STD's MM speaks for it. */
	if (!v->running || bcv_attached(v))
		return;
	/* One that could not assemble then is checked when it first can. */
	after_cut |= v->cut;
	v->cut = false;
	for (t = 0; t < v->tracks; t++) {
		struct hts *h = &v->ts[t];
		bool held;
		ver_t val;
		char b[256];

		if (io_on_track(vi, t))
			continue;
		bool got = vol_data(vi, t, &val, &held);

		if (!got) {
			if (!held && !skipping("lost"))
				die("%s: track %" PRIu64 " is valid at no position",
				    vname(v), t);
			continue;
		}
		if (!vs_has(after_cut ? &h->crash : &h->cur, val) &&
		    !skipping("data")) {
			vs_fmt(after_cut ? &h->crash : &h->cur, b, sizeof(b));
			die("%s: track %" PRIu64 " holds %" PRIx64 ", want one of %s%s",
			    vname(v), t, val, b, after_cut ? " after the power cut" : "");
		}
		vs_one(&h->cur, val);
		if (after_cut)
			h->crash = h->cur;
	}
}

/* bcv-design.rst 6.1: unchanged on both sides means the same data. */
static void check_sound(void)
{
	struct hvol *sv = std_v();
	unsigned int c;
	uint64_t t;

	if (!sv->running || skipping("sound"))
		return;
	for (c = 0; c < BCV_SESSIONS; c++) {
		int b = S[c].bcv;
		ver_t x, y;
		bool hx, hy;

		if (!S[c].tm || bcv_tm_sess_state(S[c].tm) != BCV_SPLIT ||
		    !S[c].linked || !V[b].running)
			continue;
		for (t = 0; t < sv->tracks; t++) {
			if (io_on_track(STDV, t) || io_on_track(b, t) ||
			    bcv_tm_pb_changed(&sv->tm, t, c) ||
			    bcv_tm_invalid(&V[b].tm, BCV_M4B, t))
				continue;
			if (!vol_data(STDV, t, &x, &hx) || !vol_data(b, t, &y, &hy))
				continue;
			if (x != y)
				die("session %u: track %" PRIu64 " unchanged on both sides "
				    "but S holds %" PRIx64 " and B%d %" PRIx64, c, t, x,
				    b, y);
		}
	}
}

/*
 * The tables' absent bits follow the BCVs: a position is absent exactly
 * when it is an attached session's whose BCV is not linked, and no free
 * position is (the next session there would take no copy nor write).
 */
static void check_absent(void)
{
	struct hvol *sv = std_v();
	unsigned int p;

	if (!sv->running)
		return;
	for (p = sv->nlegs; p < BCV_POSITIONS; p++) {
		struct bcv_tm_sess *ts = bcv_tm_mm_session(&sv->tm, p);
		bool absent = (bcv_tm_failed_legs(&sv->tm) >> p) & 1;
		bool want = ts && !S[bcv_tm_sess_id(ts)].linked;

		if (bcv_tm_pos_role(&sv->tm, p) == BCV_POS_LEG)
			continue;
		if (absent != want)
			die("S: M%u is %sabsent, its BCV %s", p + 1,
			    absent ? "" : "not ", !ts ? "(no session there)" :
			    want ? "is not linked" : "is linked");
	}
}

static void check_all(bool after_cut)
{
	int vi;

	for (vi = 0; vi <= (int)nb; vi++)
		check_vol(vi, after_cut);
	check_sound();
	check_absent();
}

/*------------------------------------------------------------------------
 * Set-up
 */

static void reset(void)
{
	int vi;

	drop_sessions();
	for (vi = 0; vi < NVOL; vi++)
		if (V[vi].tm_init)
			bcv_tm_vol_free(&V[vi].tm);
	memset(V, 0, sizeof(V));
	memset(D, 0, sizeof(D));
	memset(IO, 0, sizeof(IO));
	memset(CP, 0, sizeof(CP));
	cut_group = 0;
	nb = 0;
	vctr = 0;
	wid_ctr = 0;
	uuid_ctr = 0x100;
	cut_pending = false;
	tracelen = 0;
	stepno = 0;
}

/* bcv_volume_create() and bcv_meta_create() on disks @dev. */
static void create_vol(int vi, bool is_std, unsigned int nlegs,
		       uint64_t sectors, int dev0)
{
	struct hvol *v = &V[vi];
	unsigned int i;
	uint64_t t;

	v->exists = true;
	v->is_std = is_std;
	v->uuid = ++uuid_ctr;
	v->nlegs = nlegs;
	v->sectors = sectors;
	v->tracks = bcv_tracks(sectors, TSHIFT);
	for (i = 0; i < nlegs; i++) {
		v->dev[i] = dev0 + i;
		v->leg_uuid[i] = ++uuid_ctr;
		v->sb_copy[i] = 1;
	}
	if (bcv_tm_vol_init(&v->tm, sectors, TSHIFT, is_std, nlegs))
		die("bcv_tm_vol_init");
	v->tm_init = true;
	if (is_std)
		bcv_tm_set_state_hook(&v->tm, state_hook);
	for (i = 1; i < nlegs; i++)
		bcv_tm_leg_stale(&v->tm, i);
	meta_alloc(v);
	v->intent = write_intent_param;
	for (i = 0; i < nlegs; i++)
		meta_save_tables(v, i);
	dur_is_live(v);
	meta_write_sb(v, false);
	meta_write_sb(v, false);
	v->running = true;
	v->mrun = true;
	for (t = 0; t < v->tracks; t++) {
		vs_one(&v->ts[t].cur, dev_read(v->dev[0], t));
		v->ts[t].crash = v->ts[t].cur;
	}
}

static void setup(void)
{
	unsigned int sl, b, d;
	uint64_t tracks, sectors;
	int next = 0;

	reset();
	faults_init();		/* the input's first byte */
	sl = 1 + pick(2);
	tracks = 3 + pick(MAXT - 6);
	nb = 1 + pick(3);
	write_intent_param = !coin(6);
	if (coin(10))
		sl = 3;
	sectors = tracks * SPT - (coin(25) ? 1 + pick(SPT - 1) : 0);
	for (d = 0; d < NDEV; d++) {
		uint64_t t;

		for (t = 0; t < MAXT; t++)
			D[d].med[t] = fresh();
		/* Spare disks may carry another volume's old superblock. */
		if (coin(30))
			D[d].sb[pick(2)] = (struct hsbc){
				.ok = true, .seq = 1000 + pick(1000), .events = 5,
				.vol_uuid = 0xdead, .nr_legs = 1,
			};
	}
	create_vol(STDV, true, sl, sectors, next);
	next += sl;
	for (b = 1; b <= nb; b++) {
		unsigned int bl = 1 + pick(2);
		uint64_t bs = sectors + pick(3) * SPT;

		if (bs > MAXT * SPT)
			bs = sectors;
		create_vol(b, false, bl, bs, next);
		next += bl;
	}
}

/*------------------------------------------------------------------------
 * Steps
 */

/* A random range of @v: whole tracks, a part of one, or several. */
static void pick_range(const struct hvol *v, uint64_t *sector, uint64_t *nr)
{
	uint64_t t = pick(v->tracks), n;

	switch (pick(4)) {
	case 0:		/* part of a track */
		*sector = t * SPT + pick(SPT);
		*nr = 1 + pick(SPT - (*sector % SPT));
		break;
	case 1:		/* several tracks, unaligned */
		*sector = t * SPT + pick(SPT);
		*nr = 1 + pick(3 * SPT);
		break;
	default:	/* whole tracks */
		n = 1 + pick(3);
		*sector = t * SPT;
		*nr = n * SPT;
	}
	if (*sector >= v->sectors)
		*sector = v->sectors - 1;
	if (*sector + *nr > v->sectors)
		*nr = v->sectors - *sector;
}

static int pick_vol(void)
{
	return pick(4) ? STDV : 1 + (int)pick(nb);
}

/* Failures a completion meets: mostly none. */
static unsigned int pick_fail(unsigned int targets)
{
	if (!coin(15) || !faults("iofail"))
		return 0;
	return targets & (1U << pick(BCV_POSITIONS));
}

static void step_write(void)
{
	int vi = pick_vol(), k;
	struct hvol *v = &V[vi];
	uint64_t sector, nr;
	unsigned int kind = pick(16);

	if (!v->running)
		return;
	pick_range(v, &sector, &nr);
	k = io_submit(vi, sector, nr, kind == 0, kind == 1, kind == 2 || kind == 3,
		      kind == 3 || kind == 4);
	if (k >= 0 && coin(60))
		io_complete(k, pick_fail(IO[k].targets));
}

static void step_complete(void)
{
	unsigned int k = pick(NIO);

	if (IO[k].used)
		io_complete(k, pick_fail(IO[k].targets));
}

static void step_copy(void)
{
	int vi = pick_vol(), k;
	unsigned int op = pick(4);

	if (!V[vi].running)
		return;
	if (op == 0) {
		/* start a job and run it to its end */
		k = copy_pick(vi, pick(V[vi].tracks), 0);
		if (k < 0)
			return;
		copy_begin(k);
		copy_complete(k, coin(4) && faults("iofail"),
			      coin(6) && faults("iofail") ? 1U << pick(BCV_POSITIONS) : 0);
		return;
	}
	if (op == 1) {
		copy_pick(vi, pick(V[vi].tracks), 0);
		return;
	}
	k = pick(NCP);
	if (!CP[k].used)
		return;
	if (op == 2 && !CP[k].begun)
		copy_begin(k);
	else
		copy_complete(k, coin(4) && faults("iofail"),
			      coin(6) && faults("iofail") ? 1U << pick(BCV_POSITIONS) : 0);
}

/*
 * bcv_split_due_fn(): every owed split (after a protected restore) is
 * tried as an administrator's SPLIT; one whose session moved on is no
 * longer owed, one refused stays owed.  The kernel runs it when a session
 * becomes restored, when a STD's engine goes idle, at assembly and when
 * a BCV links; here at random points and at every round of finish().
 */
static void step_protect_split(void)
{
	unsigned int c;

	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = S[c].tm;

		if (!ts || !S[c].split_due)
			continue;
		if (bcv_tm_sess_state(ts) != BCV_RESTORED ||
		    !bcv_tm_sess_protected(ts)) {
			S[c].split_due = false;
			continue;
		}
		/* An absent BCV: tried again once it links. */
		if (!S[c].linked || !V[S[c].bcv].running || !std_v()->running)
			continue;
		command(C_SPLIT, S[c].bcv, false, false, false, false, 0);
	}
}

static void step_command(void)
{
	int cmd = pick(C_NR), b = 1 + pick(nb);
	unsigned int cut = coin(8) && faults("cmdcut") ? 1 + pick(5) : 0;

	command(cmd, b, coin(30), coin(50), coin(20), coin(30), cut);
}

/* bcv_session_split_group(): every pair held, checked, then split. */
static void step_split_group(void)
{
	struct hvol *sv = std_v();
	struct bcv_tm_why why;
	struct bcv_tm_cmd tc = { .diff = coin(30), .why = &why };
	unsigned int mask = 1 + pick((1U << nb) - 1);
	unsigned int cut = coin(10) && faults("cmdcut") ? 1 + pick(8) : 0;
	struct hvol *order[NVOL] = { sv };
	unsigned int n = 1;
	int b, c;

	if (!sv->running || vol_busy(STDV))
		return;
	for (b = 1; b <= (int)nb; b++) {
		if (!(mask & (1U << (b - 1))))
			continue;
		if (!V[b].running || V[b].link.used || vol_busy(b) ||
		    !bcv_tm_session(&sv->tm, &V[b].tm))
			return;
	}
	note("split --consistent %#x%s", mask, cut ? " (cut)" : "");
	for (b = 1; b <= (int)nb; b++) {
		struct bcv_tm_sess *ts;

		if (!(mask & (1U << (b - 1))))
			continue;
		ts = bcv_tm_session(&sv->tm, &V[b].tm);
		if (bcv_tm_sess_mm(ts) != BCV_NO_POS && !bcv_tm_sess_protected(ts) &&
		    (bcv_tm_sess_state(ts) == BCV_SYNCHRONIZED ||
		     bcv_tm_sess_state(ts) == BCV_RESTORED))
			catch_up(STDV, bcv_tm_sess_mm(ts));
	}
	for (b = 1; b <= (int)nb; b++)
		if ((mask & (1U << (b - 1))) &&
		    bcv_tm_split_check(&sv->tm, &V[b].tm, &tc))
			return;
	for (b = 1; b <= (int)nb; b++) {
		struct bcv_tm_sess *ts;
		unsigned long mm_inv[MAXW] = { 0 }, col[MAXW] = { 0 };
		uint64_t t;
		int mm;

		if (!(mask & (1U << (b - 1))))
			continue;
		ts = bcv_tm_session(&sv->tm, &V[b].tm);
		c = bcv_tm_sess_id(ts);
		mm = bcv_tm_sess_mm(ts);
		for (t = 0; t < sv->tracks; t++) {
			if (bcv_tm_invalid(&sv->tm, mm, t))
				mm_inv[t / 64] |= 1UL << (t % 64);
			if (bcv_tm_pb_changed(&sv->tm, t, c))
				col[t / 64] |= 1UL << (t % 64);
		}
		if (bcv_tm_split(&sv->tm, &V[b].tm, &tc))
			die("split --consistent: a checked pair refused");
		detach_views(b, C_SPLIT, BCV_SYNCHRONIZED, mm_inv, col, false);
		order[n++] = &V[b];
	}
	/*
	 * One commit, the STD's superblock (every pair at once) before the
	 * BCVs': a cut leaves the group all split or all attached, checked
	 * when the STD assembles again (group_check()).
	 */
	if (!commit_many(order, n, cut)) {
		cut_group = mask;
		power_cut();
	}
}

static void step_legs(void)
{
	int vi = pick_vol(), d;

	switch (pick(4)) {
	case 0:
		leg_add(vi);
		break;
	case 1:
		leg_remove(vi, pick(V[vi].nlegs));
		break;
	default:
		/* a disk goes away (only while its volume runs) */
		d = V[vi].dev[pick(V[vi].nlegs)];
		if (V[vi].running && !D[d].gone && coin(30) && faults("gone")) {
			D[d].gone = true;
			note("disk %d (%s) gone", d, vname(&V[vi]));
		}
	}
}

static void step_stop_start(void)
{
	int vi = pick_vol();

	if (V[vi].running)
		stop_vol(vi);
	else if (V[vi].exists)
		assemble(vi);
}

/* bcv_meta_work(): a scheduled superblock write. */
static void step_sb(void)
{
	int vi = pick_vol();

	if (V[vi].running && V[vi].sb_due) {
		meta_write_sb(&V[vi], false);
		V[vi].sb_due = false;
		note("%s: superblock written", vname(&V[vi]));
	}
}

static void step(void)
{
	int vi;

	stepno++;
	switch (pick(24)) {
	case 0: case 1: case 2: case 3: case 4:
		step_write();
		break;
	case 5: case 6:
		step_complete();
		break;
	case 7:
		vi = pick_vol();
		if (V[vi].running) {
			uint64_t s, n;

			pick_range(&V[vi], &s, &n);
			host_read(vi, s, n);
		}
		break;
	case 8:
		vi = pick_vol();
		if (V[vi].running)
			host_flush(vi, pick_fail(ALL_POS));
		break;
	case 9: case 10: case 11: case 12:
		step_copy();
		break;
	case 13:
		checkpoint(pick_vol());
		break;
	case 14: case 15: case 16:
		step_command();
		break;
	case 17:
		step_split_group();
		break;
	case 18:
		step_legs();
		break;
	case 19:
		step_stop_start();
		break;
	case 20:
		if (coin(30) && faults("cut"))
			power_cut();
		break;
	case 21:
		step_sb();
		step_protect_split();
		break;
	case 22:
		/* the next metadata writes to a disk fail */
		if (faults("metafail"))
			D[pick(NDEV)].meta_fail = 1 + pick(3);
		break;
	case 23:
		vi = pick_vol();
		V[vi].open = coin(50);
		if (coin(20))
			write_intent_param = !write_intent_param;
		break;
	}
	check_all(false);
}

/* The copy engines run until they have nothing left to do. */
static void drain(void)
{
	unsigned int n;
	int vi;

	for (n = 0; n < 400; n++) {
		bool any = false;

		for (vi = 0; vi <= (int)nb; vi++) {
			int j;

			if (!V[vi].running)
				continue;
			j = copy_pick(vi, 0, 0);
			if (j < 0) {
				engine_idle(vi);
				continue;
			}
			copy_begin(j);
			copy_complete(j, false, 0);
			any = true;
		}
		step_protect_split();
		if (!any)
			break;
	}
}

/*
 * What an administrator does for a STD whose legs died (bcv.rst, "Legs"):
 * add a leg, let it sync from what holds the data (an attached BCV, if
 * only it does), then remove the dead ones.
 */
static void repair_std(void)
{
	struct hvol *sv = std_v();
	unsigned int failed;
	int p;

	if (!sv->running)
		return;
	failed = bcv_tm_failed_legs(&sv->tm) & leg_mask(sv);
	if (!failed)
		return;
	note("repair: %s's failed legs %#x", vname(sv), failed);
	/* No room for a new leg: a failed one that holds nothing alone goes. */
	for (p = (int)sv->nlegs - 1; p >= 0 && sv->nlegs >= BCV_MAX_LEGS; p--)
		if (failed & (1U << p))
			leg_remove(STDV, p);
	leg_add(STDV);
	drain();
	failed = bcv_tm_failed_legs(&sv->tm) & leg_mask(sv);
	for (p = (int)sv->nlegs - 1; p >= 0; p--)
		if (failed & (1U << p))
			leg_remove(STDV, p);
}

/* Session @c's MM alone holds some STD track, and its BCV is not there. */
static bool only_copy_gone(unsigned int c)
{
	struct hvol *sv = std_v();
	int mm = bcv_tm_sess_mm(S[c].tm), d = pos_dev(sv, mm);
	unsigned int others, p;
	uint64_t t;

	/* Its BCV not there (absent, or its disk gone). */
	if (mm == BCV_NO_POS || (d >= 0 && !D[d].gone))
		return false;
	others = bcv_tm_data_positions(&sv->tm) & ~(1U << mm);
	for (t = 0; t < sv->tracks; t++) {
		bool elsewhere = false;

		if (bcv_tm_invalid(&sv->tm, mm, t))
			continue;
		for (p = 0; p < BCV_POSITIONS; p++)
			if ((others & (1U << p)) && !bcv_tm_invalid(&sv->tm, p, t) &&
			    pos_dev(sv, p) >= 0 && !D[pos_dev(sv, p)].gone)
				elsewhere = true;
		if (!elsewhere)
			return true;
	}
	return false;
}

/*
 * The end of an input: what is in flight completes, the engines drain,
 * and every session must still be able to end (bcv-design.rst 6.4 and
 * "no session is left in a state from which no command leads out").
 */
static void finish(void)
{
	unsigned int k, c;
	int vi, b;

	/*
	 * The faults end here (a disk that is gone stays gone): the question
	 * is whether the administrator, with working disks, has a way out.
	 */
	fault_mask = 0;
	for (k = 0; k < NIO; k++)
		if (IO[k].used)
			io_complete(k, 0);
	for (k = 0; k < NCP; k++)
		if (CP[k].used)
			copy_complete(k, false, 0);
	for (vi = 0; vi <= (int)nb; vi++)
		for (k = 0; k < NDEV; k++)
			D[k].meta_fail = 0;
	for (vi = 0; vi <= (int)nb; vi++)
		if (V[vi].exists && !V[vi].running)
			assemble(vi);
	/* bcvctl resume: a paused session's MM is no copy source either. */
	for (c = 0; c < BCV_SESSIONS; c++)
		S[c].paused = false;
	drain();
	check_all(false);
	repair_std();
	/* bcv_split_due_fn(): an owed split that can happen has happened. */
	for (c = 0; c < BCV_SESSIONS && std_v()->running; c++) {
		struct bcv_tm_why why = { 0, 0 };
		struct bcv_tm_cmd tc = { .why = &why };

		b = S[c].bcv;
		if (S[c].tm && S[c].split_due && S[c].linked && V[b].running &&
		    !V[b].link.used && !vol_busy(STDV) && !vol_busy(b) &&
		    !bcv_tm_split_check(&std_v()->tm, &V[b].tm, &tc) &&
		    !skipping("owed"))
			die("session %u (B%d): the split owed after a protected restore did not happen",
			    c, b);
	}
	check_all(false);
	if (skipping("stuck") || !std_v()->running)
		return;
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = S[c].tm;
		int st;

		if (!ts)
			continue;
		b = S[c].bcv;
		S[c].paused = false;
		/* A BCV that links now may hold what the legs lack. */
		if (V[b].running && !S[c].linked) {
			link_peers(b);
			drain();
		}
		ts = S[c].tm;
		if (!ts)
			continue;
		st = bcv_tm_sess_state(ts);
		if (st == BCV_SYNCINPROG || st == BCV_RESTINPROG)
			command(C_ABORT, b, false, false, false, false, 0);
		ts = S[c].tm;
		if (ts && bcv_tm_sess_mm(ts) != BCV_NO_POS)
			command(C_SPLIT, b, false, false, false, false, 0);
		ts = S[c].tm;
		if (ts && bcv_tm_sess_mm(ts) != BCV_NO_POS)
			command(C_SPLIT, b, false, false, true, false, 0);
		ts = S[c].tm;
		if (ts && bcv_tm_sess_state(ts) == BCV_SPLIT)
			command(C_TERM, b, false, false, false, false, 0);
		if (S[c].tm) {
			dump_tables(std_v(), "stuck");
			dump_tables(&V[b], "stuck");
		}
		if (S[c].tm && only_copy_gone(c)) {
			/*
			 * The BCV, which alone holds some of the STD's
			 * tracks, is not there (or its disk is gone): the
			 * session waits for it (bcv_tm_let_go() refuses to
			 * leave a track valid nowhere).
			 */
			note("session %u (B%d): the only copy of a track is on a BCV not there",
			     c, b);
			continue;
		}
		if (S[c].tm)
			die("session %u (B%d, state %d) cannot be ended", c, b,
			    bcv_tm_sess_state(S[c].tm));
		check_all(false);
	}
	/* A BCV still waiting for a session its STD does not have. */
	for (b = 1; b <= (int)nb; b++) {
		if (!V[b].running || !V[b].link.used)
			continue;
		link_peers(b);
		if (V[b].link.used)
			command(C_TERM, b, false, false, false, false, 0);
		if (V[b].link.used)
			die("B%d waits for a session no command ends", b);
		check_all(false);
	}
}

static void run(const uint8_t *data, size_t size)
{
	in_buf = data;
	in_len = size;
	in_pos = 0;
	in_end = false;
	setup();
	while (!in_end && stepno < 2000)
		step();
	finish();
	reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;

	if (!init) {
		skip_checks = getenv("FUZZ_TM_SKIP");
		no_faults = getenv("FUZZ_TM_NO");
		trace = getenv("FUZZ_TM_TRACE") != NULL;
		init = true;
	}
	run(data, size);
	return 0;
}

#ifdef FUZZ_TM_MAIN
/* Replay files, or run random inputs: fuzz_tm [-t] [-r N [SEED]] [FILE...] */
int main(int argc, char **argv)
{
	int i = 1;

	skip_checks = getenv("FUZZ_TM_SKIP");
	no_faults = getenv("FUZZ_TM_NO");
	if (i < argc && !strcmp(argv[i], "-t")) {
		trace = true;
		i++;
	}
	if (i < argc && !strcmp(argv[i], "-r")) {
		unsigned long n = i + 1 < argc ? strtoul(argv[i + 1], NULL, 0) : 1000;
		unsigned long seed = i + 2 < argc ? strtoul(argv[i + 2], NULL, 0) : 1;
		static uint8_t buf[4096];
		unsigned long k;
		size_t j;

		const char *out = getenv("FUZZ_TM_OUT");
		unsigned long bad = 0;

		for (k = 0; k < n; k++) {
			uint64_t x = (seed + k) * 0x9e3779b97f4a7c15ULL + 1;
			int st;
			pid_t pid;

			for (j = 0; j < sizeof(buf); j++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[j] = x;
			}
			if (trace || n == 1) {
				printf("input %lu\n", seed + k);
				run(buf, sizeof(buf));
				continue;
			}
			/* One process per input: a failure does not end the run. */
			fflush(stdout);
			pid = fork();
			if (!pid) {
				char path[4096];

				if (out) {
					snprintf(path, sizeof(path), "%s/seed-%lu", out, seed + k);
					setenv("FUZZ_TM_SAVE", path, 1);
				}
				if (!freopen("/dev/null", "w", stderr))
					_exit(3);
				run(buf, sizeof(buf));
				_exit(0);
			}
			if (waitpid(pid, &st, 0) < 0 || st) {
				bad++;
				printf("input %lu failed\n", seed + k);
			}
		}
		printf("fuzz_tm: %lu random inputs from seed %lu: %lu failed\n", n,
		       seed, bad);
		return bad ? 1 : 0;
	}
	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 20];
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (trace)
			printf("%s\n", argv[i]);
		run(buf, n);
	}
	return 0;
}
#endif
