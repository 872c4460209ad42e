// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of bcv_trackmap on a 1 TiB STD with 64 KiB tracks (16,777,216
 * tracks) and 16 sessions: 13 split BCVs and 3 attached ones.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -pthread \
 *	tests/unit/bench_trackmap.c bcv_trackmap.c -o build/bench_trackmap
 *
 * Measures: the cost of a write mark (one 4 KiB write, random tracks, one
 * thread and two threads on the same tables, PB bits not yet set and
 * already set); each command's whole-table pass against a plain memset of
 * the same memory; bcv_tm_next_copy() full scans at several densities; the
 * tables' memory per TiB.
 *
 * Not a test: states between measurements are set up by writing the
 * bitmaps directly (e.g. "the copy engine finished" = clear the MM's
 * bitmap), which is what the copy engine would have reached.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../bcv_trackmap.h"

#define SHIFT		16			/* 64 KiB tracks */
#define SPT		(1ULL << (SHIFT - 9))	/* sectors per track */
#define TRACKS		(1ULL << 24)		/* 1 TiB / 64 KiB */
#define SECTORS		(TRACKS * SPT)
#define NB		16
#define NSPLIT		13
#define ITER		7			/* command passes: min/median */
#define WRITES		(1U << 20)		/* write marks per measurement */
#define ROW_REP		0x0001000100010001UL

static struct bcv_tm_vol S, B[NB];
static const struct bcv_tm_cmd none;
static size_t bm_bytes, pb_bytes;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_trackmap: %s failed: %d\n", what, rc);
	exit(1);
}

static u64 xs(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat2 {
	double v[ITER];
	int n;
};

static void add(struct stat2 *s, double ns)
{
	if (s->n < ITER)
		s->v[s->n++] = ns;
}

static double smin(struct stat2 *s)
{
	qsort(s->v, s->n, sizeof(double), cmp_d);
	return s->v[0];
}

static double smed(struct stat2 *s)
{
	qsort(s->v, s->n, sizeof(double), cmp_d);
	return s->v[s->n / 2];
}

/* ---------------------------------------------------------------- setup */

static void establish(int b)
{
	struct bcv_tm_sess *sp = calloc(1, sizeof(*sp));
	int rc = bcv_tm_establish(&S, &B[b], &none, &sp);

	free(sp);
	if (rc)
		die("ESTABLISH", rc);
}

static int mm(int b)
{
	return bcv_tm_session(&S, &B[b])->mm;
}

/* What the copy engine would reach: every STD position valid. */
static void copy_engine_done(void)
{
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (S.role[p] != BCV_POS_NONE)
			memset(S.inv[p], 0, bm_bytes);
	bcv_tm_update_states(&S);
}

/* ... and on a split BCV: its fixed mirror synced. */
static void bfm_synced(int b)
{
	memset(B[b].inv[1], 0, bm_bytes);
}

static void split(int b, bool diff)
{
	int rc = bcv_tm_split(&S, &B[b], &(struct bcv_tm_cmd){ .diff = diff });

	if (rc)
		die("SPLIT", rc);
}

/* @n random 4 KiB writes to the STD and @nb to BCV @b (M4b). */
static void sparse_writes(u64 n, int b, u64 nb, u64 seed)
{
	u64 i, r;

	for (i = 0; i < n; i++) {
		r = xs(&seed);
		bcv_tm_write(&S, (r % TRACKS) * SPT + (r >> 60) * 8, 8, 1);
	}
	for (i = 0; i < nb; i++) {
		r = xs(&seed);
		bcv_tm_write(&B[b], (r % TRACKS) * SPT, 8, 3);
	}
}

/* ------------------------------------------------------------ commands */

static void bench_commands(void)
{
	struct stat2 est = { 0 }, spf = { 0 }, spd = { 0 }, ree = { 0 }, rsf = { 0 },
		     rsi = { 0 }, trm = { 0 }, cch = { 0 }, cin = { 0 }, upd = { 0 },
		     todo = { 0 }, ms_pb = { 0 }, ms_all = { 0 }, rd_pb = { 0 };
	const int b = NB - 1;			/* the session that cycles */
	unsigned long *buf = malloc(pb_bytes + 4 * bm_bytes);
	volatile unsigned long sink = 0;
	struct bcv_tm_sess *freed;
	u64 changed_reest = 0, changed_incr = 0;
	double t;
	int i, rc;
	size_t j;

	if (!buf)
		die("malloc", 0);
	memset(buf, 1, pb_bytes + 4 * bm_bytes);	/* fault the pages in */
	split(b, false);				/* free a position */
	bfm_synced(b);

	for (i = 0; i < ITER; i++) {
		t = now();
		memset(buf, 0, pb_bytes);
		add(&ms_pb, now() - t);
		t = now();
		memset(buf, i, pb_bytes + 4 * bm_bytes);
		add(&ms_all, now() - t);
		t = now();
		for (j = 0; j < pb_bytes / sizeof(long); j++)
			sink += buf[j];
		add(&rd_pb, now() - t);

		/* ESTABLISH (a new session after the TERMINATE below). */
		t = now();
		establish(b);
		add(&est, now() - t);
		memset(S.inv[mm(b)], 0, bm_bytes);
		t = now();
		bcv_tm_update_states(&S);
		add(&upd, now() - t);

		t = now();
		split(b, false);
		add(&spf, now() - t);
		bfm_synced(b);

		/* 1% of the tracks written on the STD, 0.1% on the BCV. */
		sparse_writes(TRACKS / 100, b, TRACKS / 1000, 42 + i);
		t = now();
		rc = bcv_tm_reestablish(&S, &B[b], &none);
		add(&ree, now() - t);
		if (rc)
			die("REESTABLISH", rc);
		changed_reest = bcv_tm_count_invalid(&S, mm(b));
		copy_engine_done();

		t = now();
		split(b, true);
		add(&spd, now() - t);
		bfm_synced(b);

		sparse_writes(TRACKS / 100, b, TRACKS / 1000, 4242 + i);
		t = now();
		rc = bcv_tm_restore(&S, &B[b], &(struct bcv_tm_cmd){ .incremental = true });
		add(&rsi, now() - t);
		if (rc)
			die("INCR RESTORE", rc);
		changed_incr = bcv_tm_count_invalid(&S, 0);
		t = now();
		sink += bcv_tm_session_todo(bcv_tm_session(&S, &B[b]));
		add(&todo, now() - t);
		copy_engine_done();
		split(b, false);
		bfm_synced(b);

		t = now();
		rc = bcv_tm_restore(&S, &B[b], &none);
		add(&rsf, now() - t);
		if (rc)
			die("RESTORE", rc);
		copy_engine_done();
		split(b, false);
		bfm_synced(b);

		t = now();
		sink += bcv_tm_count_changed(&S, 3);
		add(&cch, now() - t);
		t = now();
		sink += bcv_tm_count_invalid(&S, 0);
		add(&cin, now() - t);

		freed = NULL;
		t = now();
		rc = bcv_tm_terminate(&S, &B[b], &freed);
		add(&trm, now() - t);
		if (rc)
			die("TERMINATE", rc);
		free(freed);
	}
	free(buf);
	(void)sink;

	printf("\nCommands: whole-table passes, 1 TiB STD, 16 sessions (%d runs: min / median ms)\n",
	       ITER);
	printf("  %-44s %9s %9s\n", "", "min", "median");
#define ROW(name, s) printf("  %-44s %9.2f %9.2f\n", name, smin(&s) / 1e6, smed(&s) / 1e6)
	ROW("memset PB table (32 MiB)", ms_pb);
	ROW("memset PB + STD Track ID (40 MiB)", ms_all);
	ROW("read (sum) PB table (32 MiB)", rd_pb);
	ROW("ESTABLISH (new session)", est);
	ROW("SPLIT full", spf);
	ROW("SPLIT --diff", spd);
	ROW("REESTABLISH (1% STD + 0.1% BCV changed)", ree);
	ROW("RESTORE full", rsf);
	ROW("INCREMENTAL RESTORE (1% + 0.1% changed)", rsi);
	ROW("TERMINATE", trm);
	ROW("update_states (3 attached)", upd);
	ROW("count_changed (one PB column)", cch);
	ROW("count_invalid (one position)", cin);
	ROW("session_todo (restore in progress)", todo);
#undef ROW
	printf("  (REESTABLISH marked %llu tracks, INCREMENTAL RESTORE %llu)\n",
	       (unsigned long long)changed_reest, (unsigned long long)changed_incr);
}

/* --------------------------------------------------------- write marks */

static unsigned int go, finished;
static unsigned int written_mask;

struct wthread {
	pthread_t th;
	u64 seed;
	bool seq;
	unsigned int round;
};

/* Yielding: two CPUs here, and the waiting thread must not steal one. */
static void spin_until(unsigned int *v, unsigned int want)
{
	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want)
		sched_yield();
}

static void do_writes(u64 seed, bool seq)
{
	u64 i, r, sec = (seed % TRACKS) * SPT;

	if (seq) {
		for (i = 0; i < WRITES; i++, sec += 8)
			bcv_tm_write(&S, sec % SECTORS, 8, written_mask);
		return;
	}
	for (i = 0; i < WRITES; i++) {
		r = xs(&seed);
		bcv_tm_write(&S, (r % TRACKS) * SPT + (r >> 60) * 8, 8, written_mask);
	}
}

static void *wthread_fn(void *arg)
{
	struct wthread *w = arg;
	unsigned int r;

	for (r = 1; ; r++) {
		spin_until(&go, r);
		if (__atomic_load_n(&go, __ATOMIC_ACQUIRE) == ~0U)
			return NULL;
		do_writes(w->seed + r * 1000003, w->seq);
		__atomic_fetch_add(&finished, 1, __ATOMIC_ACQ_REL);
	}
}

/* PB rows as just after the splits (attached columns C) or all set. */
static void pb_reset(bool all_set)
{
	unsigned long v = all_set ? ~0UL : ROW_REP * (S.alloc & ~0x1fffUL);
	size_t j;

	for (j = 0; j < pb_bytes / sizeof(long); j++)
		S.pb[j] = v;
}

static struct wthread w[2];

static double bench_writes(int threads, bool set, bool seq)
{
	static unsigned int round;
	struct stat2 st = { 0 };
	int i, k;
	double t;

	for (k = 0; k < 5; k++) {
		pb_reset(set);
		if (threads == 1) {
			t = now();
			do_writes(1234567 + k * 7919, seq);
			add(&st, now() - t);
			continue;
		}
		if (!round) {
			for (i = 0; i < 2; i++) {
				w[i].seed = 99991ULL * (i + 1);
				w[i].seq = false;
				pthread_create(&w[i].th, NULL, wthread_fn, &w[i]);
			}
		}
		round++;
		t = now();
		__atomic_store_n(&go, round, __ATOMIC_RELEASE);
		spin_until(&finished, 2 * round);
		add(&st, now() - t);
	}
	return smed(&st) / WRITES;
}

static void stop_threads(void)
{
	int i;

	__atomic_store_n(&go, ~0U, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
}

/* ------------------------------------------------------------ next_copy */

static void bench_next_copy(void)
{
	static const double dens[] = { 0.001, 0.01, 0.5, 1.0 };
	int d, k, m = mm(NSPLIT);	/* an attached, synchronized session */
	struct bcv_tm_copy c;
	u64 seed = 777, i, runs, tracks;
	struct stat2 st;
	double t;

	printf("\nbcv_tm_next_copy() full scans, max = 16 tracks per run (M1 -> MM of one\n"
	       "attached BCV; the other two MMs valid), median of 5\n");
	printf("  %-12s %12s %12s %10s %12s\n", "to copy", "tracks", "runs", "ms/scan",
	       "ns/run");
	for (d = 0; d < 4; d++) {
		memset(S.inv[m], 0, bm_bytes);
		if (dens[d] >= 1.0) {
			memset(S.inv[m], 0xff, bm_bytes);
		} else if (dens[d] == 0.5) {
			for (i = 0; i < bm_bytes / sizeof(long); i++)
				S.inv[m][i] = xs(&seed);
		} else {
			for (i = 0; i < (u64)(TRACKS * dens[d]); i++)
				set_bit(xs(&seed) % TRACKS, S.inv[m]);
		}
		memset(&st, 0, sizeof(st));
		runs = tracks = 0;
		for (k = 0; k < 5; k++) {
			u64 from = 0;

			runs = tracks = 0;
			t = now();
			while (bcv_tm_next_copy(&S, from, 16, &c)) {
				runs++;
				tracks += c.len;
				from = c.start + c.len;
			}
			add(&st, now() - t);
		}
		printf("  %10.1f%% %12llu %12llu %10.2f %12.1f\n", dens[d] * 100,
		       (unsigned long long)tracks, (unsigned long long)runs, smed(&st) / 1e6,
		       runs ? smed(&st) / runs : 0.0);
	}
	memset(S.inv[m], 0, bm_bytes);
}

int main(void)
{
	double t0 = now(), a, b2, c, d, e;
	unsigned int p;
	int i;
	size_t std_bytes, bcv_bytes;

	if (bcv_tm_vol_init(&S, SECTORS, SHIFT, true, 1))
		die("allocation", -ENOMEM);
	for (i = 0; i < NB; i++)
		if (bcv_tm_vol_init(&B[i], SECTORS, SHIFT, false, 2))
			die("allocation", -ENOMEM);
	bm_bytes = BITS_TO_LONGS(TRACKS) * sizeof(long);
	pb_bytes = BITS_TO_LONGS(TRACKS * 16) * sizeof(long);
	/* Fault every table in (calloc'd pages are not yet mapped). */
	memset(S.pb, 0, pb_bytes);
	memset(S.copying, 0, bm_bytes);
	for (p = 0; p < BCV_POSITIONS; p++) {
		memset(S.inv[p], 0, bm_bytes);
		for (i = 0; i < NB; i++)
			memset(B[i].inv[p], 0, bm_bytes);
	}
	for (i = 0; i < NB; i++)
		memset(B[i].copying, 0, bm_bytes);

	/* 16 sessions: 0..12 split, 13..15 attached and synchronized. */
	for (i = 0; i < NB; i++) {
		establish(i);
		copy_engine_done();
		if (i < NSPLIT) {
			split(i, false);
			bfm_synced(i);
		}
	}
	std_bytes = pb_bytes + (BCV_POSITIONS + 1) * bm_bytes;
	bcv_bytes = (BCV_POSITIONS + 1) * bm_bytes;
	printf("bcv_trackmap benchmark: STD 1 TiB, %llu tracks of 64 KiB, 1 leg;\n"
	       "16 BCVs with a fixed mirror each: sessions 0-12 split, 13-15 attached\n",
	       (unsigned long long)TRACKS);
	printf("\nTables per TiB of volume (64 KiB tracks)\n");
	printf("  STD: PB %zu MiB + Track ID %zu MiB + copying %zu MiB = %zu MiB\n",
	       pb_bytes >> 20, (BCV_POSITIONS * bm_bytes) >> 20, bm_bytes >> 20,
	       std_bytes >> 20);
	printf("  BCV: Track ID %zu MiB + copying %zu MiB = %zu MiB\n",
	       (BCV_POSITIONS * bm_bytes) >> 20, bm_bytes >> 20, bcv_bytes >> 20);
	printf("  this setup (STD + 16 BCVs): %zu MiB\n", (std_bytes + NB * bcv_bytes) >> 20);

	written_mask = 1U | 1U << mm(13) | 1U << mm(14) | 1U << mm(15);
	a = bench_writes(1, false, false);
	b2 = bench_writes(1, true, false);
	c = bench_writes(1, false, true);
	d = bench_writes(2, false, false);
	e = bench_writes(2, true, false);
	stop_threads();
	printf("\nWrite marks: bcv_tm_write() of one 4 KiB write, random tracks over 1 TiB\n"
	       "(%u writes per thread per run, median of 5; 13 split columns to mark)\n",
	       WRITES);
	printf("  %-46s %10s\n", "", "ns/write");
	printf("  %-46s %10.1f\n", "1 thread, PB bits not yet set", a);
	printf("  %-46s %10.1f\n", "1 thread, PB bits already set", b2);
	printf("  %-46s %10.1f\n", "1 thread, sequential 4 KiB writes, not set", c);
	printf("  %-46s %10.1f  (%.1f M writes/s in all)\n",
	       "2 threads, same tables, not yet set (per thread)", d, 2e3 / d);
	printf("  %-46s %10.1f  (%.1f M writes/s in all)\n",
	       "2 threads, same tables, already set (per thread)", e, 2e3 / e);
	pb_reset(false);

	bench_commands();
	bench_next_copy();

	for (i = 0; i < NB; i++) {
		bcv_tm_vol_free(&B[i]);
		free(S.sess[i]);
	}
	bcv_tm_vol_free(&S);
	printf("\ntotal run time %.1f s\n", (now() - t0) / 1e9);
	return 0;
}
