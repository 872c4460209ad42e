// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: multi-session Business Continuance Volumes for Linux.
 *
 * A bcv volume is a bio-based gendisk (/dev/bcvN, named /dev/bcv/NAME by
 * udev) stacked over backing devices ("legs") that it claims exclusively.
 * A volume has a role: STD (a production volume) or BCV (a volume that can
 * be attached to a STD as a mirror and split off as a point-in-time copy).
 *
 * This file holds the volume lifecycle (create, remove, list), the block
 * device operations, the I/O path (host bios cloned to the positions that
 * hold the volume's data, see "I/O path" below) and the I/O gate that
 * commands use to drain and hold a volume.  See Documentation/bcv.rst for
 * the administrator's view and bcv_core.h for the locking rules.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/idr.h>
#include <linux/ctype.h>
#include <linux/string.h>
#include <linux/wait_bit.h>
#include <linux/uaccess.h>
#include <linux/mempool.h>
#include <linux/vmalloc.h>

#include "bcv_core.h"
#include "bcv_trackmap.h"

DEFINE_MUTEX(bcv_lock);			/* see bcv_core.h */
LIST_HEAD(bcv_volumes);			/* ordered by index; under bcv_lock */
static DEFINE_IDA(bcv_index_ida);	/* N of bcvN */
int bcv_major;				/* dynamic block major */
static struct bio_set bcv_bio_set;	/* clones, with a bcv_clone in front */
static struct bio_set bcv_split_set;	/* reads split at a track boundary */

/*------------------------------------------------------------------------
 * I/O path
 *
 * Every host bio passes the volume's gate (bcv_volume.lock): it waits on
 * vol->deferred while a command holds the volume, and a write also waits
 * while a copy runs in one of its regions (see bcv_core.h).  Past the gate
 * it is counted in nr_io and cloned to its targets:
 *
 *   STD write:   every own leg and every attached BCV (MM);  PB marked first
 *   BCV write:   every own leg (split only);                 M4b marked first
 *   discard:     the own legs only (its data is undefined: attached BCVs
 *                get what the legs hold by copy)
 *   read:        one position valid for every track it covers, spread
 *                over the valid own legs by region
 *   empty flush: every position a write would reach
 *
 * Legs marked failed (their device is gone or shrank) get nothing.
 *
 * The host bio completes when all clones have.  What the write left where
 * is decided in one place, bcv_tm_write_done(), under vol->lock: per track
 * the positions that hold the new data stay or become valid, every other
 * position becomes invalid, and a track that no position could take keeps
 * its old data at one position at least, and the host sees an error.  A
 * failed flush (or a write with a preflush that failed) marks the position
 * stale wherever another one holds the data.  A read that failed on an own
 * leg is requeued through the gate once another position holds its range
 * (bcv_read_retry()).
 */

/* Per host bio: the parent of its clones. */
struct bcv_io {
	struct bcv_volume *vol;		/* owner of the original bio */
	struct bio *orig;		/* the bio the host submitted */
	unsigned long start;		/* io accounting start time */
	sector_t sector;		/* what orig covers, saved at submit */
	unsigned int nr_sectors;
	unsigned int targets;		/* positions cloned to (bit p) */
	bool write;			/* write-like with data: holds regions */
	bool discard;			/* a discard: own legs only */
	bool flush;			/* REQ_PREFLUSH: every target's cache */
	atomic_t remaining;		/* clones not yet completed */
	unsigned long failed;		/* positions whose clone failed */
	blk_status_t status;		/* a failing clone's status */
};

/* Per clone, allocated as the front padding of the clone bio. */
struct bcv_clone {
	struct bcv_io *io;
	int pos;			/* mirror position it went to */
	struct bio bio;			/* must be last: the bio_set allocates it */
};

static mempool_t *bcv_io_pool;

struct block_device *bcv_pos_bdev(struct bcv_volume *vol, int pos)
{
	struct bcv_tm_sess *s;

	if (vol->tm.role[pos] == BCV_POS_LEG)
		return bcv_leg_bdev(vol, pos);
	s = vol->tm.mm_sess[pos];
	return bcv_leg_bdev(bcv_tm_session_of(s)->bcv, 0);
}

static unsigned int bcv_leg_positions(struct bcv_volume *vol)
{
	return (1U << vol->nr_legs) - 1;
}

/* An attached BCV is NOT READY to its own users (SPEC section 1). */
static bool bcv_not_ready(struct bcv_volume *vol)
{
	struct bcv_tm_sess *s = vol->tm.session;

	return vol->role == BCV_ROLE_BCV && s && s->mm != BCV_NO_POS;
}

/*
 * Count a write in the regions it covers, unless a copy runs in one of
 * them.  Caller holds vol->lock.
 */
static bool bcv_regions_get(struct bcv_volume *vol, u64 first, u64 last)
{
	u64 r, rf = first >> vol->region_shift, rl = last >> vol->region_shift;

	for (r = rf; r <= rl; r++)
		if (vol->region[r] & (BCV_REGION_COPY | BCV_REGION_WANT))
			return false;
	for (r = rf; r <= rl; r++)
		vol->region[r]++;
	return true;
}

/*
 * Caller holds vol->lock.  Returns true if a region has no more writes in
 * flight (the engine may want it).
 */
static bool bcv_regions_put(struct bcv_volume *vol, u64 first, u64 last)
{
	u64 r, rf = first >> vol->region_shift, rl = last >> vol->region_shift;
	bool idle = false;

	for (r = rf; r <= rl; r++)
		if (!(--vol->region[r] & BCV_REGION_WRITES))
			idle = true;
	return idle;
}

static void bcv_bio_tracks(struct bcv_volume *vol, sector_t sector,
			   unsigned int nr, u64 *first, u64 *last)
{
	bcv_track_range(sector, nr, vol->track_shift, first, last);
}

/*
 * Any context.  Own leg @p failed an I/O: if its device is gone or now
 * smaller than the volume, no retry can help, so the leg is marked failed
 * (bcv_tm_leg_fail(): no more I/O nor copies to it) until it is removed.
 * Caller holds vol->lock.  Returns true if it was marked now.
 */
static bool __bcv_check_leg(struct bcv_volume *vol, int p)
{
	struct block_device *bdev = bcv_leg_bdev(vol, p);
	struct gendisk *disk = bdev->bd_disk;

	lockdep_assert_held(&vol->lock);
	if (vol->tm.failed & (1U << p))
		return false;
	if (disk_live(disk) && !test_bit(GD_DEAD, &disk->state) &&
	    bdev_nr_sectors(bdev) >= vol->sectors)
		return false;
	bcv_tm_leg_fail(&vol->tm, p);
	return true;
}

unsigned int __bcv_check_legs(struct bcv_volume *vol, unsigned long failed)
{
	unsigned int p, newly = 0;

	failed &= bcv_leg_positions(vol);
	for_each_set_bit(p, &failed, BCV_POSITIONS)
		if (__bcv_check_leg(vol, p))
			newly |= 1U << p;
	return newly;
}

void bcv_report_failed(struct bcv_volume *vol, unsigned int newly)
{
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (newly & (1U << p))
			pr_err("%s: %s: leg M%u (%pg) is gone or smaller than the volume: marked failed, no more I/O to it; remove it with bcvctl remove-leg %s M%u\n",
			       vol->disk->disk_name, vol->name, p + 1,
			       bcv_leg_bdev(vol, p), vol->name, p + 1);
}

/*
 * Any context.  The last step of every bio that passed the gate: after
 * it, nothing may touch @vol (a remove waits for nr_io to reach zero and
 * then frees it), so callers end the host bio before.
 */
static void bcv_io_put(struct bcv_volume *vol)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	if (!--vol->nr_io)
		wake_up(&vol->wait);
	spin_unlock_irqrestore(&vol->lock, flags);
}

/*
 * Any context.  A read failed on an own leg: if another position holds
 * what it covers, the leg becomes I there (the copy engine rewrites it from
 * a good copy, as md does after a read error) and the read is queued again
 * through the gate, which now sends it elsewhere.  Each retry takes a leg
 * out for the range, so a read is retried at most once per leg.  Returns
 * true if the read was requeued (and @io freed).
 */
static bool bcv_read_retry(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;
	unsigned int newly;
	unsigned long flags;
	int p = __ffs(io->failed);

	if (bio_op(orig) != REQ_OP_READ || p >= (int)vol->nr_legs)
		return false;
	spin_lock_irqsave(&vol->lock, flags);
	newly = __bcv_check_legs(vol, io->failed);
	if (bcv_tm_read_pos_avoid(&vol->tm, io->sector, io->nr_sectors,
				  1U << p) < 0) {
		spin_unlock_irqrestore(&vol->lock, flags);
		bcv_report_failed(vol, newly);
		return false;
	}
	bcv_tm_mark_stale(&vol->tm, p, io->sector, io->nr_sectors);
	spin_unlock_irqrestore(&vol->lock, flags);

	bcv_report_failed(vol, newly);
	pr_warn_ratelimited("%s: read error on %pg at sector %llu, reading from another leg\n",
			    vol->disk->disk_name, bcv_leg_bdev(vol, p),
			    (unsigned long long)io->sector);
	bio_end_io_acct(orig, io->start);
	mempool_free(io, bcv_io_pool);
	/* Requeued, it counts as not past the gate; resubmitted by a worker. */
	spin_lock_irqsave(&vol->lock, flags);
	bio_list_add(&vol->deferred, orig);
	if (!vol->dead)
		queue_work(system_wq, &vol->retry_work);
	if (!--vol->nr_io)
		wake_up(&vol->wait);
	spin_unlock_irqrestore(&vol->lock, flags);
	return true;
}

static void bcv_retry_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(work, struct bcv_volume,
					      retry_work);

	bcv_kick_deferred(vol);
	bcv_engine_kick(vol);
}

/*
 * Caller holds vol->lock.  The tables after a write-like bio or a flush;
 * returns whether the host may be told it succeeded.
 */
static bool __bcv_io_tables(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	unsigned int ok = io->targets & ~(unsigned int)io->failed, p;
	bool good = true;
	u64 kept = 0;

	lockdep_assert_held(&vol->lock);
	/*
	 * A cache flush failed: what the position acknowledged since its
	 * last flush may be lost, and nothing says which tracks.  It is
	 * stale for all of them, except where it is the only holder (kept:
	 * then the host must hear of it).
	 */
	if (io->flush)
		for (p = 0; p < BCV_POSITIONS; p++)
			if (io->failed & (1U << p))
				kept += bcv_tm_mark_stale(&vol->tm, p, 0,
							  vol->sectors);
	if (io->write && bcv_tm_write_done(&vol->tm, io->sector,
					   io->nr_sectors, io->targets, ok,
					   !io->discard))
		good = false;
	if (kept || !ok)
		good = false;
	return good;
}

/*
 * Any context.  The last clone of a host bio completed.
 *  1. A failed read goes again elsewhere if it can (bcv_read_retry()).
 *  2. Under vol->lock: legs whose device went away are marked failed, a
 *     write's or flush's effect goes into the tables (which decide the
 *     host's status), the write leaves its regions, the engine is kicked.
 *  3. The host bio ends; then bcv_io_put() lets a remove go on.
 */
static void bcv_io_complete(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;
	blk_status_t status = io->status;
	unsigned int newly = 0;
	unsigned long flags;
	bool kick = false, good;
	u64 first, last;

	if (!io->write && !io->flush && io->failed && bcv_read_retry(io))
		return;
	if (!io->failed)
		status = BLK_STS_OK;

	if (io->failed || io->write || io->flush) {
		spin_lock_irqsave(&vol->lock, flags);
		if (io->failed)
			newly = __bcv_check_legs(vol, io->failed);
		if (io->write || io->flush) {
			good = __bcv_io_tables(io);
			status = good ? BLK_STS_OK : (status ?: BLK_STS_IOERR);
			/* Stale positions: the copy engine has work. */
			kick = io->failed || io->discard;
		} else if (!status) {
			status = BLK_STS_IOERR;
		}
		if (io->write) {
			bcv_bio_tracks(vol, io->sector, io->nr_sectors, &first,
				       &last);
			if (bcv_regions_put(vol, first, last) &&
			    (vol->rescan || vol->nr_want))
				kick = true;
			if (kick)
				vol->rescan = true;	/* the engine may be idle */
		}
		if (kick && !vol->dead)
			mod_delayed_work(system_wq, &vol->engine, 0);
		spin_unlock_irqrestore(&vol->lock, flags);
		bcv_report_failed(vol, newly);
	}

	orig->bi_status = status;
	bio_end_io_acct(orig, io->start);
	bio_endio(orig);
	mempool_free(io, bcv_io_pool);
	bcv_io_put(vol);
}

/* Interrupt context. */
static void bcv_clone_endio(struct bio *bio)
{
	struct bcv_clone *c = container_of(bio, struct bcv_clone, bio);
	struct bcv_io *io = c->io;

	if (bio->bi_status) {
		WRITE_ONCE(io->status, bio->bi_status);
		set_bit(c->pos, &io->failed);
	}
	bio_put(bio);
	if (atomic_dec_and_test(&io->remaining))
		bcv_io_complete(io);
}

/* A bio that never got past the gate's checks. */
static void bcv_io_fail(struct bcv_volume *vol, struct bio *bio,
			blk_status_t status)
{
	bio->bi_status = status;
	bio_endio(bio);
	bcv_io_put(vol);
}

/*
 * A bio past the gate that goes nowhere: it leaves its regions (if a
 * write) and fails with EIO.  May sleep (process context, submit path).
 */
static void bcv_io_refuse(struct bcv_volume *vol, struct bio *bio,
			  bool data_write, u64 first, u64 last)
{
	if (data_write) {
		spin_lock_irq(&vol->lock);
		bcv_regions_put(vol, first, last);
		spin_unlock_irq(&vol->lock);
	}
	bcv_io_fail(vol, bio, BLK_STS_IOERR);
}

/*
 * The position a read of [@sector, +@nr) starting in track @first goes to.
 * With several legs, reads are spread over them by region (sequential
 * readers stay on one leg per region): the search starts at the region's
 * leg and falls back to the lower legs only when no leg from there on is
 * valid.  One table lookup for a volume with one leg.
 */
static int bcv_read_pos(struct bcv_volume *vol, sector_t sector,
			unsigned int nr, u64 first)
{
	unsigned int from = vol->nr_legs > 1 ?
			    (first >> vol->region_shift) % vol->nr_legs : 0;
	int p;

	p = bcv_tm_read_pos_avoid(&vol->tm, sector, nr, (1U << from) - 1);
	if (from && (p < 0 || p >= (int)vol->nr_legs))
		p = bcv_tm_read_pos(&vol->tm, sector, nr);
	return p;
}

/* May sleep (GFP_NOIO mempool allocations, which never fail). */
static void bcv_submit_bio(struct bio *bio)
{
	struct bcv_volume *vol = bio->bi_bdev->bd_disk->private_data;
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int nr = bio_sectors(bio);
	bool write = op_is_write(bio_op(bio));
	bool data_write = write && nr;
	bool discard = bio_op(bio) == REQ_OP_DISCARD ||
		       bio_op(bio) == REQ_OP_SECURE_ERASE;
	unsigned int targets;
	struct bcv_io *io;
	u64 first, last;
	int p;

	bcv_bio_tracks(vol, sector, nr, &first, &last);
	spin_lock_irq(&vol->lock);
	if (vol->held || (data_write && !bcv_regions_get(vol, first, last))) {
		bio_list_add(&vol->deferred, bio);
		spin_unlock_irq(&vol->lock);
		return;
	}
	vol->nr_io++;
	spin_unlock_irq(&vol->lock);

	/* Past the gate, roles and sessions are stable until we complete. */
	if (bcv_not_ready(vol)) {
		bcv_io_refuse(vol, bio, data_write, first, last);
		return;
	}

	if (write) {
		targets = bcv_tm_write_targets(&vol->tm);
		if (discard)
			targets &= bcv_leg_positions(vol);
	} else {
		p = bcv_read_pos(vol, sector, nr, first);
		if (p < 0 && first != last) {
			/* No one position holds it all: one track at a time. */
			sector_t end = (first + 1) << (vol->track_shift - SECTOR_SHIFT);
			struct bio *split = bio_split(bio, end - sector, GFP_NOIO,
						      &bcv_split_set);

			bio_chain(split, bio);
			submit_bio_noacct(bio);
			bio = split;
			nr = bio_sectors(bio);
			p = bcv_read_pos(vol, sector, nr, first);
		}
		targets = p < 0 ? 0 : 1U << p;
	}
	if (!targets) {
		/* Nowhere to go: every leg failed, or no leg holds the data. */
		bcv_io_refuse(vol, bio, data_write, first, last);
		return;
	}

	io = mempool_alloc(bcv_io_pool, GFP_NOIO);
	io->vol = vol;
	io->orig = bio;
	io->sector = sector;
	io->nr_sectors = nr;
	io->targets = targets;
	io->write = data_write;
	io->discard = discard;
	io->flush = write && (bio->bi_opf & REQ_PREFLUSH);
	io->failed = 0;
	io->status = BLK_STS_OK;
	atomic_set(&io->remaining, hweight32(targets));
	io->start = bio_start_io_acct(bio);

	/* Mark before the data moves: a split after this sees the change. */
	if (data_write)
		bcv_tm_write(&vol->tm, sector, nr, 0);

	/*
	 * Each clone is submitted as soon as it is allocated; the bio set
	 * has a rescuer for the clones that wait on current->bio_list
	 * meanwhile (block/bio.c, "stacking drivers").
	 */
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct bcv_clone *c;
		struct bio *clone;

		if (!(targets & (1U << p)))
			continue;
		clone = bio_alloc_clone(bcv_pos_bdev(vol, p), bio, GFP_NOIO,
					&bcv_bio_set);
		c = container_of(clone, struct bcv_clone, bio);
		c->io = io;
		c->pos = p;
		clone->bi_end_io = bcv_clone_endio;
		submit_bio_noacct(clone);
	}
}

/*------------------------------------------------------------------------
 * The gate, for commands
 */

static bool bcv_idle(struct bcv_volume *vol)
{
	bool idle;

	spin_lock_irq(&vol->lock);
	idle = !vol->nr_io && !vol->jobs;
	spin_unlock_irq(&vol->lock);
	return idle;
}

void bcv_hold(struct bcv_volume *vol)
{
	spin_lock_irq(&vol->lock);
	vol->held = true;
	vol->paused = true;
	spin_unlock_irq(&vol->lock);
	cancel_delayed_work_sync(&vol->engine);
	wait_event(vol->wait, bcv_idle(vol));
}

/* Process context; vol->lock not held. */
void bcv_kick_deferred(struct bcv_volume *vol)
{
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vol->lock);
	if (vol->held) {
		spin_unlock_irq(&vol->lock);
		return;
	}
	list = vol->deferred;
	bio_list_init(&vol->deferred);
	spin_unlock_irq(&vol->lock);
	while ((bio = bio_list_pop(&list)))
		submit_bio_noacct(bio);
}

void bcv_unhold(struct bcv_volume *vol)
{
	spin_lock_irq(&vol->lock);
	vol->held = false;
	vol->paused = false;
	/*
	 * A command may have moved what sits at each position: back-offs
	 * start afresh (a device still dead fails its next copy at once).
	 */
	memset(vol->backoff, 0, sizeof(vol->backoff));
	memset(vol->err_logged, 0, sizeof(vol->err_logged));
	spin_unlock_irq(&vol->lock);
	bcv_kick_deferred(vol);
	bcv_engine_kick(vol);
}

/*------------------------------------------------------------------------
 * Block device operations
 */

static int bcv_open(BCV_OPEN_ARGS)
{
	struct bcv_volume *vol = BCV_OPEN_DISK->private_data;
	int ret = 0;

	mutex_lock(&vol->open_lock);
	if (vol->dying)
		ret = -ENXIO;
	else
		vol->open_count++;
	mutex_unlock(&vol->open_lock);
	return ret;
}

static void bcv_release(BCV_RELEASE_ARGS)
{
	struct bcv_volume *vol = disk->private_data;

	mutex_lock(&vol->open_lock);
	vol->open_count--;
	mutex_unlock(&vol->open_lock);
}

static const struct block_device_operations bcv_fops = {
	.owner		= THIS_MODULE,
	.submit_bio	= bcv_submit_bio,
	.open		= bcv_open,
	.release	= bcv_release,
};

/*------------------------------------------------------------------------
 * Volume lifecycle
 */

/* Caller holds bcv_lock. */
struct bcv_volume *__bcv_find(const char *name)
{
	struct bcv_volume *vol;

	list_for_each_entry(vol, &bcv_volumes, node)
		if (!strcmp(vol->name, name))
			return vol;
	return NULL;
}

/* Caller holds bcv_lock.  Is @dev a leg of some volume? */
static bool __bcv_dev_in_use(dev_t dev)
{
	struct bcv_volume *vol;
	unsigned int i;

	list_for_each_entry(vol, &bcv_volumes, node)
		for (i = 0; i < vol->nr_legs; i++)
			if (bcv_leg_bdev(vol, i)->bd_dev == dev)
				return true;
	return false;
}

/* Caller holds bcv_lock.  Keep bcv_volumes ordered by index. */
static void __bcv_insert(struct bcv_volume *new)
{
	struct bcv_volume *vol;

	list_for_each_entry(vol, &bcv_volumes, node) {
		if (vol->index > new->index) {
			list_add_tail(&new->node, &vol->node);
			return;
		}
	}
	list_add_tail(&new->node, &bcv_volumes);
}

static void bcv_close_legs(struct bcv_volume *vol)
{
	while (vol->nr_legs)
		bcv_bdev_close(&vol->legs[--vol->nr_legs].h);
}

/*
 * Open @path, which lookup_bdev() found to be @dev, exclusively with @vol as
 * holder into *@h, and check that it can be a leg.  Caller holds bcv_lock.
 * On failure nothing stays open.
 */
static int __bcv_open_leg(struct bcv_volume *vol, const char *path, dev_t dev,
			  struct bcv_bdev_handle *h)
{
	struct block_device *bdev;
	int ret;

	ret = bcv_bdev_open(path, vol, h);
	if (ret == -EACCES && bcv_bdev_path_read_only(path))
		ret = -EROFS;
	if (ret)
		return ret;
	bdev = h->bdev;
	ret = -EINVAL;
	/* The path may have been replaced since lookup_bdev(). */
	if (bdev->bd_dev != dev)
		goto fail;
	/* Zoned devices need zone-aware copying; not supported. */
	if (bdev_is_zoned(bdev) || !bdev_nr_sectors(bdev))
		goto fail;
	ret = -EROFS;
	if (bdev_read_only(bdev))
		goto fail;
	return 0;
fail:
	bcv_bdev_close(h);
	return ret;
}

/*
 * Open the legs named in @c, exclusively, with @vol as holder.  Caller holds
 * bcv_lock.  On failure the legs opened so far are closed again.
 */
static int __bcv_open_legs(struct bcv_volume *vol, const struct bcv_create *c)
{
	unsigned int i, j;
	dev_t dev[BCV_MAX_LEGS];
	int ret;

	for (i = 0; i < c->nr_legs; i++) {
		ret = lookup_bdev(c->legs[i], &dev[i]);
		if (ret)
			return ret;
		/* Stacking bcv on bcv would let one volume feed another. */
		ret = bcv_stack_check(dev[i]);
		if (ret)
			return ret;
		if (__bcv_dev_in_use(dev[i]))
			return -EBUSY;
		for (j = 0; j < i; j++)
			if (dev[j] == dev[i])
				return -EBUSY;
	}

	for (i = 0; i < c->nr_legs; i++) {
		ret = __bcv_open_leg(vol, c->legs[i], dev[i], &vol->legs[i].h);
		if (ret) {
			bcv_close_legs(vol);
			return ret;
		}
		vol->nr_legs++;
	}
	return 0;
}

/*
 * Create a volume from @c, whose fields bcv_ioctl.c has validated for
 * syntax.  Fills in @c->index and @c->sectors.  May sleep.
 */
int bcv_volume_create(struct bcv_create *c)
{
	struct bcv_stack_limits lim;
	struct bcv_volume *vol;
	struct gendisk *disk;
	u32 track_size = c->track_size ?: BCV_TRACK_SIZE_DEFAULT;
	u32 lbs = 0;
	unsigned int i;
	int shift, ret;

	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol)
		return -ENOMEM;
	mutex_init(&vol->open_lock);
	mutex_init(&vol->state_lock);
	mutex_init(&vol->leg_lock);
	INIT_WORK(&vol->retry_work, bcv_retry_work);
	spin_lock_init(&vol->lock);
	bio_list_init(&vol->deferred);
	init_waitqueue_head(&vol->wait);
	strscpy(vol->name, c->name, sizeof(vol->name));
	vol->role = c->role;

	mutex_lock(&bcv_lock);
	ret = -EEXIST;
	if (__bcv_find(c->name))
		goto out_unlock;

	ret = __bcv_open_legs(vol, c);
	if (ret)
		goto out_unlock;

	bcv_limits_init(&lim);
	vol->sectors = bdev_nr_sectors(bcv_leg_bdev(vol, 0));
	for (i = 0; i < vol->nr_legs; i++) {
		struct block_device *bdev = bcv_leg_bdev(vol, i);

		lbs = max(lbs, bdev_logical_block_size(bdev));
		vol->sectors = min_t(sector_t, vol->sectors, bdev_nr_sectors(bdev));
		ret = bcv_limits_stack(&lim, bdev);
		if (ret)
			goto out_legs;
	}

	ret = -EINVAL;
	shift = bcv_track_shift(track_size, lbs);
	if (shift < 0)
		goto out_legs;
	vol->track_shift = shift;
	vol->tracks = bcv_tracks(vol->sectors, vol->track_shift);

	ret = bcv_tm_vol_init(&vol->tm, vol->sectors, vol->track_shift,
			      vol->role == BCV_ROLE_STD, vol->nr_legs);
	if (ret)
		goto out_legs;
	/*
	 * The primary's data is the volume's; fixed mirrors start stale and
	 * the copy engine syncs them (md's initial resync).
	 */
	for (i = 1; i < vol->nr_legs; i++)
		bcv_tm_leg_error(&vol->tm, i, 0, vol->sectors);
	/* Regions: at least 16 tracks and 1 MiB, the longest copy job. */
	vol->region_shift = vol->track_shift >= 16 ? 4 : 20 - vol->track_shift;
	ret = -ENOMEM;
	vol->region = kvcalloc((vol->tracks >> vol->region_shift) + 1,
			       sizeof(*vol->region), GFP_KERNEL | __GFP_NOWARN);
	if (!vol->region)
		goto out_tm;
	ret = bcv_engine_init(vol);
	if (ret)
		goto out_tm;

	ret = ida_alloc_max(&bcv_index_ida, BCV_MAX_VOLUMES - 1, GFP_KERNEL);
	if (ret < 0)
		goto out_engine;
	vol->index = ret;

	disk = bcv_alloc_disk(&lim);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_ida;
	}
	disk->major = bcv_major;
	disk->first_minor = vol->index;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &bcv_fops;
	disk->private_data = vol;
	snprintf(disk->disk_name, DISK_NAME_LEN, BCV_DISK_PREFIX "%d",
		 vol->index);
	set_capacity(disk, vol->sectors);
	vol->disk = disk;

	/* The "bcv" attribute group exists before the uevent (udev names). */
	ret = device_add_disk(NULL, disk, bcv_disk_groups);
	if (ret)
		goto out_disk;
	if (vol->role == BCV_ROLE_STD) {
		ret = bcv_sessions_sysfs_init(vol);
		if (ret) {
			del_gendisk(disk);
			goto out_disk;
		}
	}

	__bcv_insert(vol);
	/* A volume pins the module: rmmod is refused until it is removed. */
	__module_get(THIS_MODULE);

	/* Still under bcv_lock: a racing remove of the name waits for it. */
	pr_info("%s: created %s %s over %pg (+%u mirror legs), %llu sectors, %llu tracks of %u bytes\n",
		disk->disk_name, bcv_role_name(vol->role), vol->name,
		bcv_leg_bdev(vol, 0), vol->nr_legs - 1,
		(unsigned long long)vol->sectors, vol->tracks,
		1U << vol->track_shift);
	if (vol->nr_legs > 1)
		bcv_engine_kick(vol);
	c->index = vol->index;
	c->sectors = vol->sectors;
	mutex_unlock(&bcv_lock);
	return 0;

out_disk:
	put_disk(disk);
out_ida:
	ida_free(&bcv_index_ida, vol->index);
out_engine:
	bcv_engine_exit(vol);
out_tm:
	kvfree(vol->region);
	bcv_tm_vol_free(&vol->tm);
out_legs:
	bcv_close_legs(vol);
out_unlock:
	mutex_unlock(&bcv_lock);
	kfree(vol);
	return ret;
}

/* Any context.  Fail the bios that wait at a dead volume's gate. */
static void bcv_fail_deferred(struct bcv_volume *vol)
{
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vol->lock);
	list = vol->deferred;
	bio_list_init(&vol->deferred);
	spin_unlock_irq(&vol->lock);
	while ((bio = bio_list_pop(&list)))
		bio_io_error(bio);
}

/*
 * The second half of a remove, without bcv_lock (other volumes' commands
 * go on meanwhile): @vol is off the list, its gendisk deleted and its
 * engine marked dead.  Sleeps until what is in flight is done:
 *  1. the engine's worker stops (it re-arms itself no more: dead);
 *  2. host bios and copy jobs in flight complete (a job on a slow or dead
 *     device takes as long as the device's own timeout);
 *  3. the retry worker and the engine's work item are cancelled for good
 *     (nothing in flight can queue them again), bios still waiting at
 *     the gate fail;
 *  4. the kcopyd client, the disk, the tables and the legs go.
 */
static void bcv_volume_free(struct bcv_volume *vol)
{
	cancel_delayed_work_sync(&vol->engine);
	wait_event(vol->wait, bcv_idle(vol));
	cancel_work_sync(&vol->retry_work);
	cancel_delayed_work_sync(&vol->engine);
	bcv_fail_deferred(vol);
	bcv_engine_exit(vol);
	put_disk(vol->disk);
	kvfree(vol->region);
	bcv_tm_vol_free(&vol->tm);
	bcv_close_legs(vol);
	ida_free(&bcv_index_ida, vol->index);
	kfree(vol);
	module_put(THIS_MODULE);
}

/*
 * Remove the volume called @name.  Refused with EBUSY while it is open or
 * in a session; with BCV_REMOVE_FORCE, split sessions are terminated first
 * (still EBUSY if one is attached).  Under bcv_lock the volume leaves the
 * list and its gendisk goes (no new bio can arrive); waiting for what is
 * in flight happens after bcv_lock is dropped.  May sleep.
 */
int bcv_volume_remove(const char *name, unsigned int flags)
{
	struct bcv_volume *vol;
	unsigned int r;
	int ret;

	mutex_lock(&bcv_lock);
	vol = __bcv_find(name);
	if (!vol) {
		mutex_unlock(&bcv_lock);
		return -ENOENT;
	}
	mutex_lock(&vol->open_lock);
	ret = vol->open_count ? -EBUSY : __bcv_sessions_remove(vol, flags & BCV_REMOVE_FORCE);
	if (ret) {
		mutex_unlock(&vol->open_lock);
		mutex_unlock(&bcv_lock);
		return ret;
	}
	vol->dying = true;
	mutex_unlock(&vol->open_lock);

	list_del(&vol->node);
	/*
	 * The engine stops for good: it starts no job and re-arms no more,
	 * and regions it wanted let their writes go (nothing will copy
	 * them now).
	 */
	spin_lock_irq(&vol->lock);
	vol->dead = true;
	vol->paused = true;
	for (r = 0; r < vol->nr_want; r++)
		vol->region[vol->want[r]] &= ~BCV_REGION_WANT;
	vol->nr_want = 0;
	spin_unlock_irq(&vol->lock);
	bcv_kick_deferred(vol);

	if (vol->role == BCV_ROLE_STD)
		bcv_sessions_sysfs_exit(vol);
	/* Waits for ->submit_bio callers; sysfs show()s are done after it. */
	del_gendisk(vol->disk);
	pr_info("%s: removed %s\n", vol->disk->disk_name, vol->name);
	mutex_unlock(&bcv_lock);

	bcv_volume_free(vol);
	return 0;
}

/**
 * bcv_update_features() - recompute @vol's write cache and FUA flags.
 * @vol: the volume
 *
 * A write reaches every own leg and, on a STD, every attached BCV's
 * primary: if one of them has a volatile write cache, the volume must
 * announce one, or the filesystem above never sends the flushes that
 * make its writes durable there.  Called when legs or BCVs join or leave.
 *
 * Context: may sleep; caller holds bcv_lock and the volume (bcv_hold()).
 */
void bcv_update_features(struct bcv_volume *vol)
{
	bool wc = false, fua = false;
	unsigned int p;

	lockdep_assert_held(&bcv_lock);
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct block_device *bdev;

		if (!(bcv_tm_write_targets(&vol->tm) & (1U << p)))
			continue;
		bdev = bcv_pos_bdev(vol, p);
		wc |= bdev_write_cache(bdev);
		fua |= bcv_bdev_fua(bdev);
	}
	bcv_set_write_cache(vol->disk, wc, fua);
}

/*------------------------------------------------------------------------
 * Fixed mirror legs: add and remove
 *
 * Only while no BCV is attached to the volume (bcv_tm_leg_add() and
 * bcv_tm_leg_remove() refuse otherwise), so that own legs stay at
 * positions M1..M(nr_legs).  The tables and vol->legs change together
 * with the volume held: no host I/O and no copy is in flight.
 */

/* Caller holds bcv_lock.  Open @path as a new leg of @vol into *@h. */
static int __bcv_open_new_leg(struct bcv_volume *vol, const char *path,
			      struct bcv_bdev_handle *h)
{
	struct block_device *bdev;
	dev_t dev;
	int ret;

	ret = lookup_bdev(path, &dev);
	if (ret)
		return ret;
	ret = bcv_stack_check(dev);
	if (ret)
		return ret;
	if (__bcv_dev_in_use(dev))
		return -EBUSY;
	ret = __bcv_open_leg(vol, path, dev, h);
	if (ret)
		return ret;
	bdev = h->bdev;
	/* It must hold the whole volume in blocks the volume can address. */
	if (bdev_nr_sectors(bdev) < vol->sectors ||
	    bdev_logical_block_size(bdev) >
	    queue_logical_block_size(vol->disk->queue)) {
		bcv_bdev_close(h);
		return -EINVAL;
	}
	return 0;
}

/* BCV_IOC_LEG, BCV_LEG_ADD.  May sleep. */
int bcv_leg_add(struct bcv_leg_cmd *l)
{
	struct bcv_bdev_handle h;
	struct bcv_volume *vol;
	int ret, pos;

	mutex_lock(&bcv_lock);
	ret = -ENOENT;
	vol = __bcv_find(l->name);
	if (!vol)
		goto out;
	ret = -ENOSPC;
	if (vol->nr_legs >= BCV_MAX_LEGS)
		goto out;
	/* Refuse before the device is opened (and udev sees it closed). */
	ret = -EBUSY;
	if (!bcv_tm_legs_changeable(&vol->tm))
		goto out;
	ret = __bcv_open_new_leg(vol, l->path, &h);
	if (ret)
		goto out;

	bcv_hold(vol);
	pos = bcv_tm_leg_add(&vol->tm);
	if (pos >= 0) {
		mutex_lock(&vol->leg_lock);
		vol->legs[pos].h = h;
		atomic64_set(&vol->leg_copied[pos], 0);
		vol->nr_legs++;
		mutex_unlock(&vol->leg_lock);
		bcv_update_features(vol);
	}
	bcv_unhold(vol);
	if (pos < 0) {
		bcv_bdev_close(&h);
		ret = pos;
		goto out;
	}
	pr_info("%s: %s: added leg %pg at M%d; syncing it\n",
		vol->disk->disk_name, vol->name, h.bdev, pos + 1);
	l->pos = pos;
	ret = 0;
out:
	mutex_unlock(&bcv_lock);
	return ret;
}

/* BCV_IOC_LEG, BCV_LEG_REMOVE.  May sleep. */
int bcv_leg_remove(struct bcv_leg_cmd *l)
{
	struct bcv_bdev_handle h;
	struct bcv_volume *vol;
	unsigned int i, j;
	dev_t dev;
	int ret;

	mutex_lock(&bcv_lock);
	ret = -ENOENT;
	vol = __bcv_find(l->name);
	if (!vol)
		goto out;
	if (l->flags & BCV_LEG_F_POS) {
		/* By position: the device node may be gone. */
		i = l->pos;
	} else {
		ret = lookup_bdev(l->path, &dev);
		if (ret)
			goto out;
		for (i = 0; i < vol->nr_legs; i++)
			if (bcv_leg_bdev(vol, i)->bd_dev == dev)
				break;
	}
	ret = -ENODEV;
	if (i >= vol->nr_legs)
		goto out;

	bcv_hold(vol);
	ret = bcv_tm_leg_remove(&vol->tm, i);
	if (!ret) {
		mutex_lock(&vol->leg_lock);
		h = vol->legs[i].h;
		for (j = i; j + 1 < vol->nr_legs; j++) {
			vol->legs[j] = vol->legs[j + 1];
			atomic64_set(&vol->leg_copied[j],
				     atomic64_read(&vol->leg_copied[j + 1]));
		}
		vol->nr_legs--;
		mutex_unlock(&vol->leg_lock);
		bcv_update_features(vol);
	}
	bcv_unhold(vol);
	if (ret)
		goto out;
	pr_info("%s: %s: removed leg %pg (was M%u)\n", vol->disk->disk_name,
		vol->name, h.bdev, i + 1);
	/* Nothing is in flight to it: it left the tables while held. */
	bcv_bdev_close(&h);
	l->pos = i;
out:
	mutex_unlock(&bcv_lock);
	return ret;
}

static void bcv_fill_info(struct bcv_volume *vol, struct bcv_vol_info *info)
{
	unsigned int i;

	memset(info, 0, sizeof(*info));
	strscpy(info->name, vol->name, sizeof(info->name));
	info->role = vol->role;
	info->index = vol->index;
	info->track_size = 1U << vol->track_shift;
	info->nr_legs = vol->nr_legs;
	info->sectors = vol->sectors;
	info->tracks = vol->tracks;
	info->cylinders = bcv_cylinders(vol->tracks);
	mutex_lock(&vol->open_lock);
	info->open_count = vol->open_count;
	mutex_unlock(&vol->open_lock);
	for (i = 0; i < vol->nr_legs; i++) {
		struct block_device *bdev = bcv_leg_bdev(vol, i);

		info->leg_major[i] = MAJOR(bdev->bd_dev);
		info->leg_minor[i] = MINOR(bdev->bd_dev);
		snprintf(info->leg_name[i], sizeof(info->leg_name[i]), "%pg",
			 bdev);
		info->leg_pos[i] = i;
		info->leg_invalid[i] = bcv_tm_count_invalid(&vol->tm, i);
		if (READ_ONCE(vol->tm.failed) & (1U << i))
			info->leg_flags[i] |= BCV_LEG_STATE_FAILED;
	}
}

/*
 * Copy up to @capacity volume descriptions of @info_size bytes each to
 * @vols (an older, smaller struct gets its first @info_size bytes; a newer,
 * larger one a zeroed tail), and the number of volumes to *@count.  May
 * sleep (faults on @vols).
 */
int bcv_volume_list(struct bcv_vol_info __user *vols, u32 info_size,
		    u32 capacity, u32 *count)
{
	struct bcv_vol_info info;
	struct bcv_volume *vol;
	u8 __user *dst = (u8 __user *)vols;
	u32 n = 0;
	int ret = 0;

	mutex_lock(&bcv_lock);
	list_for_each_entry(vol, &bcv_volumes, node) {
		if (n < capacity) {
			bcv_fill_info(vol, &info);
			if (copy_to_user(dst, &info, min_t(size_t, info_size, sizeof(info))) ||
			    (info_size > sizeof(info) &&
			     clear_user(dst + sizeof(info), info_size - sizeof(info)))) {
				ret = -EFAULT;
				break;
			}
			dst += info_size;
		}
		n++;
	}
	mutex_unlock(&bcv_lock);
	*count = n;
	return ret;
}

/*------------------------------------------------------------------------
 * Module
 */

static int __init bcv_init(void)
{
	int ret;

	bcv_io_pool = mempool_create_kmalloc_pool(BIO_POOL_SIZE,
						  sizeof(struct bcv_io));
	if (!bcv_io_pool)
		return -ENOMEM;
	/*
	 * Both bio sets allocate while earlier clones of the same host bio
	 * wait on current->bio_list: the rescuer keeps that from deadlocking
	 * when the pools run dry.
	 */
	ret = bioset_init(&bcv_bio_set, BIO_POOL_SIZE,
			  offsetof(struct bcv_clone, bio), BIOSET_NEED_RESCUER);
	if (ret)
		goto out_pool;
	ret = bioset_init(&bcv_split_set, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
	if (ret)
		goto out_clones;

	ret = register_blkdev(0, BCV_DISK_PREFIX);
	if (ret < 0)
		goto out_bioset;
	bcv_major = ret;

	ret = bcv_ctl_init();
	if (ret)
		goto out_blkdev;

	pr_info("version %d.%d.%d loaded, block major %d\n",
		BCV_VERSION_MAJOR, BCV_VERSION_MINOR, BCV_VERSION_PATCH,
		bcv_major);
	return 0;

out_blkdev:
	unregister_blkdev(bcv_major, BCV_DISK_PREFIX);
out_bioset:
	bioset_exit(&bcv_split_set);
out_clones:
	bioset_exit(&bcv_bio_set);
out_pool:
	mempool_destroy(bcv_io_pool);
	return ret;
}

/* Volumes pin the module, so none exists when this runs. */
static void __exit bcv_exit(void)
{
	bcv_ctl_exit();
	unregister_blkdev(bcv_major, BCV_DISK_PREFIX);
	ida_destroy(&bcv_index_ida);
	bioset_exit(&bcv_split_set);
	bioset_exit(&bcv_bio_set);
	mempool_destroy(bcv_io_pool);
}

module_init(bcv_init);
module_exit(bcv_exit);

MODULE_AUTHOR("The bcv authors");
MODULE_DESCRIPTION("Multi-session Business Continuance Volumes");
MODULE_LICENSE("GPL");
MODULE_VERSION(__stringify(BCV_VERSION_MAJOR) "." __stringify(BCV_VERSION_MINOR)
	       "." __stringify(BCV_VERSION_PATCH));
