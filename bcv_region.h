/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: the region gate, which orders host writes and background copies:
 * a copy of a track and a host write to it never overlap, so a copy never
 * marks a track valid while a leg holds older data than another
 * (Documentation/bcv.rst, "Internals").
 *
 * A volume is cut into regions of 2^shift tracks (at least 16 tracks and
 * 1 MiB); a copy never crosses a region boundary.  Per region the gate
 * keeps, in one u32, in the spirit of dm-region-hash's region states:
 *
 *	  31     30     29 ........................ 0
 *	+------+------+------------------------------+
 *	| COPY | WANT |  host writes in flight       |
 *	+------+------+------------------------------+
 *
 *  - COPY: a copy job runs in the region: new writes wait (the caller
 *    defers them) until it ends.
 *  - WANT: the copy engine needs the region but found writes in flight:
 *    new writes wait too, so that a steady stream of writes cannot starve
 *    the copy; at most BCV_MAX_WANT regions are wanted at a time, listed
 *    in want[].
 *  - the count: a copy starts only in a region whose count is zero.
 *
 * Locking.  The state words are atomic_t.  A host write enters and leaves
 * its regions without a lock (bcv_regions_write_get()/_put()): it adds
 * itself to the count and then looks at the flags, while the engine sets
 * a flag and then looks at the count (__bcv_region_copy_begin()); both
 * steps are fully ordered atomics, so at least one side sees the other and
 * a copy never runs beside a write.  The flags are set and cleared only
 * under the owner's spinlock (a volume's bcv_volume.lock, irq-safe), and
 * the want list is protected by it: a write that finds a flag set retries
 * under that lock, where the flags cannot change, before it waits on the
 * owner's deferred list, so it cannot miss the end of the copy.  The __
 * functions need the lock; none of them sleeps.  bcv_regions_init()/exit()
 * may sleep.
 */
#ifndef BCV_REGION_H
#define BCV_REGION_H

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/bits.h>

#define BCV_REGION_COPY		BIT(31)		/* a copy is in flight */
#define BCV_REGION_WANT		BIT(30)		/* the engine waits for it */
#define BCV_REGION_WRITES	(BIT(30) - 1)	/* host writes in flight */
#define BCV_MAX_WANT		8

struct bcv_regions {
	spinlock_t *lock;		/* the owner's lock, for lockdep */
	unsigned int shift;		/* log2 of tracks per region */
	atomic_t *state;		/* per region: BCV_REGION_* */
	u64 want[BCV_MAX_WANT];		/* regions marked BCV_REGION_WANT */
	unsigned int nr_want;
};

/**
 * bcv_regions_init() - the gate of a volume of @tracks tracks
 * @rg:		the gate
 * @lock:	the spinlock that will protect it
 * @tracks:	tracks of the volume
 * @track_shift: log2 of the track size in bytes
 *
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int bcv_regions_init(struct bcv_regions *rg, spinlock_t *lock, u64 tracks,
		     unsigned int track_shift);
/* Context: may sleep.  No write nor copy may be in the gate. */
void bcv_regions_exit(struct bcv_regions *rg);

/* The region of track @t.  Any context. */
static inline u64 bcv_region_of(const struct bcv_regions *rg, u64 t)
{
	return t >> rg->shift;
}

/* Tracks per region.  Any context. */
static inline u64 bcv_region_tracks(const struct bcv_regions *rg)
{
	return 1ULL << rg->shift;
}

/* What bcv_regions_write_get() and _put() report (bit flags). */
#define BCV_GATE_BUSY	BIT(0)	/* a copy runs or is wanted: not entered */
#define BCV_GATE_KICK	BIT(1)	/* a wanted region has no write left */

unsigned int bcv_regions_write_get(struct bcv_regions *rg, u64 first, u64 last);
unsigned int bcv_regions_write_put(struct bcv_regions *rg, u64 first, u64 last);
bool __bcv_region_busy(const struct bcv_regions *rg, u64 r);
bool bcv_region_has_writes(const struct bcv_regions *rg, u64 r);
bool __bcv_region_copy_begin(struct bcv_regions *rg, u64 r);
void __bcv_region_copy_end(struct bcv_regions *rg, u64 r);
bool __bcv_region_want(struct bcv_regions *rg, u64 r);
u64 __bcv_region_unwant(struct bcv_regions *rg, unsigned int i);
void __bcv_regions_unwant_all(struct bcv_regions *rg);

#endif /* BCV_REGION_H */
