// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the region gate.  See bcv_region.h for the states and the locking.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/lockdep.h>

#include "bcv_region.h"
#include "uapi/linux/bcv_format.h"

/* See bcv_region.h.  Context: may sleep. */
int bcv_regions_init(struct bcv_regions *rg, spinlock_t *lock, u64 tracks,
		     unsigned int track_shift)
{
	memset(rg, 0, sizeof(*rg));
	rg->lock = lock;
	/*
	 * At least 16 tracks and 1 MiB: the longest copy job.  The same
	 * regions are the activity log's (bcv_meta.c).
	 */
	rg->shift = bcv_fmt_al_shift(track_shift);
	rg->state = kvcalloc((tracks >> rg->shift) + 1, sizeof(*rg->state),
			     GFP_KERNEL | __GFP_NOWARN);
	return rg->state ? 0 : -ENOMEM;
}

/* Context: may sleep.  No write nor copy may be in the gate. */
void bcv_regions_exit(struct bcv_regions *rg)
{
	kvfree(rg->state);
	rg->state = NULL;
}

#define BCV_REGION_HOLD		(BCV_REGION_COPY | BCV_REGION_WANT)

/*
 * Leave region @r (a write counted in it).  Returns BCV_GATE_KICK if that
 * was its last write and the engine wants it.
 */
static unsigned int bcv_region_leave(struct bcv_regions *rg, u64 r)
{
	int v = atomic_dec_return(&rg->state[r]);

	return !(v & BCV_REGION_WRITES) && (v & BCV_REGION_WANT) ?
	       BCV_GATE_KICK : 0;
}

/**
 * bcv_regions_write_get() - let a write to tracks [@first, @last] in
 * @rg: the gate
 * @first: first track of the write
 * @last: last track of the write
 *
 * The write is counted in every region it covers, then the flags are
 * looked at (see Locking in bcv_region.h).  A write that finds one set
 * leaves again; its caller retries under the owner's lock and, if a flag
 * is still set, defers the write until the copy ends.
 *
 * Context: any; no lock needed.
 * Return: 0, with the write counted; BCV_GATE_BUSY, with nothing counted,
 * plus BCV_GATE_KICK if leaving again made a wanted region idle (the
 * caller wakes the engine).
 */
unsigned int bcv_regions_write_get(struct bcv_regions *rg, u64 first, u64 last)
{
	u64 r, rf = first >> rg->shift, rl = last >> rg->shift;
	unsigned int ret = BCV_GATE_BUSY;

	for (r = rf; r <= rl; r++) {
		/* Cheap test first: no count bump on a region being copied. */
		if (atomic_read(&rg->state[r]) & BCV_REGION_HOLD)
			break;
		if (atomic_inc_return(&rg->state[r]) & BCV_REGION_HOLD) {
			ret |= bcv_region_leave(rg, r);
			break;
		}
	}
	if (r > rl)
		return 0;
	while (r > rf)
		ret |= bcv_region_leave(rg, --r);
	return ret;
}

/**
 * bcv_regions_write_put() - a write counted by bcv_regions_write_get()
 * completed
 * @rg: the gate
 * @first: first track of the write
 * @last: last track of the write
 *
 * Context: any; no lock needed.
 * Return: BCV_GATE_KICK if a region it covered has no write in flight any
 * more and the engine wants it (the caller wakes the engine), else 0.
 */
unsigned int bcv_regions_write_put(struct bcv_regions *rg, u64 first, u64 last)
{
	u64 r, rf = first >> rg->shift, rl = last >> rg->shift;
	unsigned int ret = 0;

	for (r = rf; r <= rl; r++)
		ret |= bcv_region_leave(rg, r);
	return ret;
}

/* Context: caller holds the gate's lock.  A copy runs in @r or is wanted. */
bool __bcv_region_busy(const struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	return atomic_read(&rg->state[r]) & BCV_REGION_HOLD;
}

/*
 * Context: any.  Host writes are in flight in @r (a hint unless a flag
 * holds new writes back, or the caller orders it after a full barrier:
 * see bcv_meta.c's checkpoint).
 */
bool bcv_region_has_writes(const struct bcv_regions *rg, u64 r)
{
	return atomic_read(&rg->state[r]) & BCV_REGION_WRITES;
}

/**
 * __bcv_region_copy_begin() - a copy job wants to start in region @r
 * @rg: the gate
 * @r: the region, not busy
 *
 * Context: any; caller holds the gate's lock.
 * Return: true with BCV_REGION_COPY set: no write is in flight in @r and
 * new ones wait; false, with nothing changed, if a write got in.
 */
bool __bcv_region_copy_begin(struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	/* Fully ordered: pairs with the count bump in write_get(). */
	if (!(atomic_fetch_or(BCV_REGION_COPY, &rg->state[r]) &
	      BCV_REGION_WRITES))
		return true;
	atomic_andnot(BCV_REGION_COPY, &rg->state[r]);
	return false;
}

/* Context: caller holds the gate's lock.  Writes to @r may go again. */
void __bcv_region_copy_end(struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	atomic_andnot(BCV_REGION_COPY, &rg->state[r]);
}

/**
 * __bcv_region_want() - the engine needs region @r, which has writes in
 * flight: hold new writes to it
 * @rg: the gate
 * @r: the region
 *
 * Context: any; caller holds the gate's lock.
 * Return: false if BCV_MAX_WANT regions are wanted already (nothing done).
 */
bool __bcv_region_want(struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	if (rg->nr_want == BCV_MAX_WANT)
		return false;
	/* Fully ordered: the caller then sees the count (has_writes()). */
	atomic_fetch_or(BCV_REGION_WANT, &rg->state[r]);
	rg->want[rg->nr_want++] = r;
	return true;
}

/**
 * __bcv_region_unwant() - take the @i-th wanted region off the list
 * @rg: the gate
 * @i: index in rg->want[], below rg->nr_want
 *
 * The last wanted region takes its place in the list.
 *
 * Context: any; caller holds the gate's lock.
 * Return: the region, whose writes are no longer held.
 */
u64 __bcv_region_unwant(struct bcv_regions *rg, unsigned int i)
{
	u64 r = rg->want[i];

	lockdep_assert_held(rg->lock);
	rg->want[i] = rg->want[--rg->nr_want];
	atomic_andnot(BCV_REGION_WANT, &rg->state[r]);
	return r;
}

/* Context: caller holds the gate's lock.  No region is wanted any more. */
void __bcv_regions_unwant_all(struct bcv_regions *rg)
{
	while (rg->nr_want)
		__bcv_region_unwant(rg, 0);
}
