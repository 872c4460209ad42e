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
static int bcv_major;			/* dynamic block major */
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
 *   read:        one position valid for every track it covers, spread
 *                over the valid own legs by region
 *   empty flush: every position a write would reach
 *
 * The host bio completes when all clones have.  A write that failed on a
 * position marks the tracks it touched invalid there (unless it failed
 * everywhere); the host sees an error only if no own leg took the data.
 * Tracks a write covered whole become valid at the positions it reached
 * (bcv_tm_write()).  A read that failed on an own leg is requeued through
 * the gate once another position holds its range (bcv_read_retry()).
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

/* Positions a write reaches: own legs, and on a STD attached BCVs. */
static unsigned int bcv_write_targets(struct bcv_volume *vol)
{
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (vol->tm.role[p] == BCV_POS_LEG || vol->tm.role[p] == BCV_POS_MM)
			m |= 1U << p;
	return m;
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
	unsigned long flags;
	int p = __ffs(io->failed);

	if (bio_op(orig) != REQ_OP_READ || p >= (int)vol->nr_legs ||
	    bcv_tm_read_pos_avoid(&vol->tm, io->sector, io->nr_sectors,
				  1U << p) < 0)
		return false;
	bcv_tm_leg_error(&vol->tm, p, io->sector, io->nr_sectors);
	pr_warn_ratelimited("%s: read error on %pg at sector %llu, reading from another leg\n",
			    vol->disk->disk_name, bcv_leg_bdev(vol, p),
			    (unsigned long long)io->sector);
	bio_end_io_acct(orig, io->start);
	spin_lock_irqsave(&vol->lock, flags);
	bio_list_add(&vol->deferred, orig);
	if (!--vol->nr_io)
		wake_up(&vol->wait);
	spin_unlock_irqrestore(&vol->lock, flags);
	mempool_free(io, bcv_io_pool);
	/* Resubmission may sleep: not from a completion. */
	queue_work(system_wq, &vol->retry_work);
	return true;
}

static void bcv_retry_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(work, struct bcv_volume,
					      retry_work);

	bcv_kick_deferred(vol);
	bcv_engine_kick(vol);
}

/* Any context.  The last clone of a host bio completed. */
static void bcv_io_complete(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;
	blk_status_t status = io->status;
	unsigned int ok = io->targets & ~(unsigned int)io->failed, legs;
	unsigned long flags;
	bool kick = false;
	u64 first, last;
	int p;

	if (io->write) {
		/*
		 * A failed position, and on a STD every attached BCV that a
		 * discard skipped, is stale for the tracks touched: the copy
		 * engine brings them back.  A discard validates nothing: what
		 * a discarded range reads back differs between devices.
		 */
		unsigned int stale = (unsigned int)io->failed;

		/*
		 * Nothing took the data: the host sees the error and every
		 * position keeps what it had, so nothing is staler than
		 * another (marking them all I would make the tracks
		 * unreadable for good).
		 */
		if (!ok)
			stale = 0;

		if (io->discard)
			stale |= bcv_write_targets(vol) & ~io->targets;
		for (p = 0; p < BCV_POSITIONS; p++)
			if (stale & (1U << p))
				bcv_tm_leg_error(&vol->tm, p, io->sector,
						 io->nr_sectors);
		if (ok && !io->discard)
			bcv_tm_write(&vol->tm, io->sector, io->nr_sectors, ok);
		if (stale)
			kick = true;
	}
	if (io->write) {
		/* The host's data is safe if an own leg has it. */
		legs = bcv_leg_positions(vol);
		status = ok & legs ? BLK_STS_OK : (status ?: BLK_STS_IOERR);
	} else {
		if (io->failed && bcv_read_retry(io))
			return;
		/* A read, or a flush: it failed if a leg (or its MM) failed. */
		legs = io->targets & bcv_leg_positions(vol) ?: io->targets;
		if (!(io->failed & legs))
			status = BLK_STS_OK;
		else if (!status)
			status = BLK_STS_IOERR;
	}

	spin_lock_irqsave(&vol->lock, flags);
	if (io->write) {
		bcv_bio_tracks(vol, io->sector, io->nr_sectors, &first, &last);
		if (bcv_regions_put(vol, first, last) &&
		    (vol->rescan || vol->nr_want))
			kick = true;
		if (kick)
			vol->rescan = true;	/* the engine may be idle */
	}
	if (!--vol->nr_io)
		wake_up(&vol->wait);
	spin_unlock_irqrestore(&vol->lock, flags);
	if (kick)
		mod_delayed_work(system_wq, &vol->engine, 0);

	orig->bi_status = status;
	bio_end_io_acct(orig, io->start);
	bio_endio(orig);
	mempool_free(io, bcv_io_pool);
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
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	if (!--vol->nr_io)
		wake_up(&vol->wait);
	spin_unlock_irqrestore(&vol->lock, flags);
	bio->bi_status = status;
	bio_endio(bio);
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
		if (data_write) {
			spin_lock_irq(&vol->lock);
			bcv_regions_put(vol, first, last);
			spin_unlock_irq(&vol->lock);
		}
		bcv_io_fail(vol, bio, BLK_STS_IOERR);
		return;
	}

	if (write) {
		targets = bcv_write_targets(vol);
		/*
		 * A discard goes to the own legs only; attached BCVs get the
		 * resulting data by copy (see bcv_io_complete()).
		 */
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
		if (p < 0) {
			bcv_io_fail(vol, bio, BLK_STS_IOERR);
			return;
		}
		targets = 1U << p;
	}

	io = mempool_alloc(bcv_io_pool, GFP_NOIO);
	io->vol = vol;
	io->orig = bio;
	io->sector = sector;
	io->nr_sectors = nr;
	io->targets = targets;
	io->write = data_write;
	io->discard = discard;
	io->failed = 0;
	io->status = BLK_STS_OK;
	atomic_set(&io->remaining, hweight32(targets));
	io->start = bio_start_io_acct(bio);

	/* Mark before the data moves: a split after this sees the change. */
	if (data_write)
		bcv_tm_write(&vol->tm, sector, nr, 0);

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
	if (ret)
		return ret;
	bdev = h->bdev;
	ret = -EINVAL;
	/* The path may have been replaced since lookup_bdev(). */
	if (bdev->bd_dev != dev || MAJOR(bdev->bd_dev) == bcv_major)
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
		if (MAJOR(dev[i]) == bcv_major)
			return -EINVAL;
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
			       sizeof(*vol->region), GFP_KERNEL);
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
	mutex_unlock(&bcv_lock);

	pr_info("%s: created %s %s over %pg (+%u mirror legs), %llu sectors, %llu tracks of %u bytes\n",
		disk->disk_name, bcv_role_name(vol->role), vol->name,
		bcv_leg_bdev(vol, 0), vol->nr_legs - 1,
		(unsigned long long)vol->sectors, vol->tracks,
		1U << vol->track_shift);
	if (vol->nr_legs > 1)
		bcv_engine_kick(vol);
	c->index = vol->index;
	c->sectors = vol->sectors;
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

/*
 * Remove the volume called @name.  Refused with EBUSY while it is open or
 * in a session; with BCV_REMOVE_FORCE, split sessions are terminated first
 * (still EBUSY if one is attached).  May sleep.
 */
int bcv_volume_remove(const char *name, unsigned int flags)
{
	struct bcv_volume *vol;
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
	 * 1. del_gendisk() removes the device and waits for ->submit_bio
	 *    callers; no new bio can arrive afterwards.
	 * 2. Wait for the clones already submitted to complete: they still
	 *    use the legs.
	 * 3. Release the disk, the legs and the index.
	 */
	if (vol->role == BCV_ROLE_STD)
		bcv_sessions_sysfs_exit(vol);
	del_gendisk(vol->disk);
	wait_event(vol->wait, bcv_idle(vol));
	flush_work(&vol->retry_work);
	pr_info("%s: removed %s\n", vol->disk->disk_name, vol->name);
	put_disk(vol->disk);
	bcv_engine_exit(vol);
	kvfree(vol->region);
	bcv_tm_vol_free(&vol->tm);
	bcv_close_legs(vol);
	ida_free(&bcv_index_ida, vol->index);
	mutex_unlock(&bcv_lock);

	kfree(vol);
	module_put(THIS_MODULE);
	return 0;
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
	if (MAJOR(dev) == bcv_major)
		return -EINVAL;
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
	ret = lookup_bdev(l->path, &dev);
	if (ret)
		goto out;
	for (i = 0; i < vol->nr_legs; i++)
		if (bcv_leg_bdev(vol, i)->bd_dev == dev)
			break;
	ret = -ENODEV;
	if (i == vol->nr_legs)
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
	}
}

/*
 * Copy up to @capacity volume descriptions of @info_size bytes each (at
 * least sizeof(struct bcv_vol_info); the tail is zeroed) to @vols, and the
 * number of volumes to *@count.  May sleep (faults on @vols).
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
			if (copy_to_user(dst, &info, sizeof(info)) ||
			    clear_user(dst + sizeof(info),
				       info_size - sizeof(info))) {
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
	ret = bioset_init(&bcv_bio_set, BIO_POOL_SIZE,
			  offsetof(struct bcv_clone, bio), 0);
	if (ret)
		goto out_pool;
	ret = bioset_init(&bcv_split_set, BIO_POOL_SIZE, 0, 0);
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
