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

/**
 * __bcv_regions_write_get() - let a write to tracks [@first, @last] in
 * @rg: the gate
 * @first: first track of the write
 * @last: last track of the write
 *
 * Context: any; caller holds the gate's lock.
 * Return: true, with the write counted in every region it covers; false,
 * with nothing counted, if a copy runs in one of them or the engine wants
 * one (the caller defers the write and tries again when the copy ends).
 */
bool __bcv_regions_write_get(struct bcv_regions *rg, u64 first, u64 last)
{
	u64 r, rf = first >> rg->shift, rl = last >> rg->shift;

	lockdep_assert_held(rg->lock);
	for (r = rf; r <= rl; r++)
		if (rg->state[r] & (BCV_REGION_COPY | BCV_REGION_WANT))
			return false;
	for (r = rf; r <= rl; r++)
		rg->state[r]++;
	return true;
}

/**
 * __bcv_regions_write_put() - a write counted by __bcv_regions_write_get()
 * completed
 * @rg: the gate
 * @first: first track of the write
 * @last: last track of the write
 *
 * Context: any; caller holds the gate's lock.
 * Return: true if a region it covered has no write in flight any more (the
 * engine may want it).
 */
bool __bcv_regions_write_put(struct bcv_regions *rg, u64 first, u64 last)
{
	u64 r, rf = first >> rg->shift, rl = last >> rg->shift;
	bool idle = false;

	lockdep_assert_held(rg->lock);
	for (r = rf; r <= rl; r++)
		if (!(--rg->state[r] & BCV_REGION_WRITES))
			idle = true;
	return idle;
}

/* Context: caller holds the gate's lock.  A copy runs in @r or is wanted. */
bool __bcv_region_busy(const struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	return rg->state[r] & (BCV_REGION_COPY | BCV_REGION_WANT);
}

/* Context: caller holds the gate's lock.  Host writes are in flight in @r. */
bool __bcv_region_has_writes(const struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	return rg->state[r] & BCV_REGION_WRITES;
}

/* Context: caller holds the gate's lock; @r has no write in flight. */
void __bcv_region_copy_begin(struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	rg->state[r] |= BCV_REGION_COPY;
}

/* Context: caller holds the gate's lock.  Writes to @r may go again. */
void __bcv_region_copy_end(struct bcv_regions *rg, u64 r)
{
	lockdep_assert_held(rg->lock);
	rg->state[r] &= ~BCV_REGION_COPY;
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
	rg->state[r] |= BCV_REGION_WANT;
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
	rg->state[r] &= ~BCV_REGION_WANT;
	return r;
}

/* Context: caller holds the gate's lock.  No region is wanted any more. */
void __bcv_regions_unwant_all(struct bcv_regions *rg)
{
	while (rg->nr_want)
		__bcv_region_unwant(rg, 0);
}
