// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: multi-session Business Continuance Volumes for Linux.
 *
 * A bcv volume is a bio-based gendisk (/dev/bcvN, named /dev/bcv/NAME by
 * udev) stacked over backing devices ("legs") that it claims exclusively.
 * A volume has a role: STD (a production volume) or BCV (a volume that can
 * be attached to a STD as a mirror and split off as a point-in-time copy).
 *
 * This file holds the module's set-up, the volume lifecycle (create,
 * remove, list), legs added and removed, and the block device operations;
 * the I/O path is bcv_io.c, the region gate bcv_region.c, the copy engine
 * bcv_copy.c.  See Documentation/bcv.rst for the administrator's view and
 * bcv_core.h for the locking rules.
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
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>

#include "bcv_core.h"
#include "bcv_io.h"
#include "bcv_trackmap.h"

DEFINE_MUTEX(bcv_lock);			/* see bcv_core.h */
LIST_HEAD(bcv_volumes);			/* ordered by index; under bcv_lock */
/*
 * Volumes whose assembly reads their tables without bcv_lock: their UUIDs
 * and names are taken (nothing else may be assembled or created as them)
 * but no command sees them yet.  Under bcv_lock.
 */
static LIST_HEAD(bcv_assembling);
static DEFINE_IDA(bcv_index_ida);	/* N of bcvN */
int bcv_major;				/* dynamic block major */

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
	/* A BCV left out of its session because it was open: try again. */
	if (!vol->open_count && !vol->dying && vol->role == BCV_ROLE_BCV &&
	    READ_ONCE(vol->meta.link.used))
		queue_work(system_wq, &vol->link_work);
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

/**
 * __bcv_find() - the volume called @name
 * @name: a volume name
 *
 * Context: caller holds bcv_lock.
 * Return: the volume, or NULL.
 */
struct bcv_volume *__bcv_find(const char *name)
{
	struct bcv_volume *vol;

	lockdep_assert_held(&bcv_lock);
	list_for_each_entry(vol, &bcv_volumes, node)
		if (!strcmp(vol->name, name))
			return vol;
	return NULL;
}

/**
 * __bcv_find_uuid() - the volume whose metadata has @uuid
 * @uuid: BCV_FMT_UUID_LEN bytes
 *
 * Context: caller holds bcv_lock.
 * Return: the volume, or NULL.
 */
struct bcv_volume *__bcv_find_uuid(const u8 *uuid)
{
	struct bcv_volume *vol;

	lockdep_assert_held(&bcv_lock);
	list_for_each_entry(vol, &bcv_volumes, node)
		if (!memcmp(vol->meta.uuid, uuid, BCV_FMT_UUID_LEN))
			return vol;
	return NULL;
}

/**
 * __bcv_name_taken() - may no new volume be called @name?
 * @name: a volume name
 *
 * Context: caller holds bcv_lock.
 * Return: true if a volume has it, or one being assembled.
 */
bool __bcv_name_taken(const char *name)
{
	struct bcv_volume *vol;

	lockdep_assert_held(&bcv_lock);
	list_for_each_entry(vol, &bcv_assembling, node)
		if (!strcmp(vol->name, name))
			return true;
	return __bcv_find(name) != NULL;
}

/**
 * __bcv_uuid_taken() - is the volume with @uuid assembled or being assembled?
 * @uuid: BCV_FMT_UUID_LEN bytes
 *
 * Context: caller holds bcv_lock.
 * Return: true if so.
 */
bool __bcv_uuid_taken(const u8 *uuid)
{
	struct bcv_volume *vol;

	lockdep_assert_held(&bcv_lock);
	list_for_each_entry(vol, &bcv_assembling, node)
		if (!memcmp(vol->meta.uuid, uuid, BCV_FMT_UUID_LEN))
			return true;
	return __bcv_find_uuid(uuid) != NULL;
}

/**
 * __bcv_assembling_add() - @vol's assembly goes on without bcv_lock
 * @vol: a volume being assembled, its UUID and name set and checked
 *	(__bcv_uuid_taken(), __bcv_name_taken())
 *
 * Context: caller holds bcv_lock.
 */
void __bcv_assembling_add(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	list_add_tail(&vol->node, &bcv_assembling);
}

/**
 * __bcv_assembling_del() - @vol's assembly ends (published or refused)
 * @vol: a volume __bcv_assembling_add() took
 *
 * Context: caller holds bcv_lock.
 */
void __bcv_assembling_del(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	list_del_init(&vol->node);
}

/* Caller holds bcv_lock.  Is @dev a leg of some volume? */
static bool __bcv_dev_in_use(dev_t dev)
{
	struct bcv_volume *vol;
	unsigned int i;

	lockdep_assert_held(&bcv_lock);
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

	lockdep_assert_held(&bcv_lock);
	WRITE_ONCE(new->listed, true);
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

	lockdep_assert_held(&bcv_lock);
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
 * Open the @nr devices at @paths as the legs of @vol, exclusively, with
 * @vol as holder.  Caller holds bcv_lock.  On failure the legs opened so
 * far are closed again.
 */
static int __bcv_open_legs(struct bcv_volume *vol,
			   const char (*paths)[BCV_PATH_LEN], unsigned int nr)
{
	unsigned int i, j;
	dev_t dev[BCV_MAX_LEGS];
	int ret;

	lockdep_assert_held(&bcv_lock);
	for (i = 0; i < nr; i++) {
		ret = lookup_bdev(paths[i], &dev[i]);
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

	for (i = 0; i < nr; i++) {
		ret = __bcv_open_leg(vol, paths[i], dev[i], &vol->legs[i].h);
		if (ret) {
			bcv_close_legs(vol);
			return ret;
		}
		vol->nr_legs++;
	}
	return 0;
}

static struct bcv_volume *bcv_volume_alloc(void)
{
	struct bcv_volume *vol = kzalloc(sizeof(*vol), GFP_KERNEL);

	if (!vol)
		return NULL;
	mutex_init(&vol->open_lock);
	mutex_init(&vol->state_lock);
	mutex_init(&vol->leg_lock);
	spin_lock_init(&vol->lock);
	INIT_WORK(&vol->link_work, bcv_link_work);
	if (bcv_io_vol_init(vol)) {
		kfree(vol);
		return NULL;
	}
	bcv_meta_init(vol);
	vol->index = -1;
	return vol;
}

/**
 * __bcv_volume_open() - a new volume over the devices at @paths
 * @paths: device paths
 * @nr: how many, 1..BCV_MAX_LEGS
 *
 * The first step of create and assembly: the devices are open as legs in
 * the order given; nothing else is set up.  bcv_volume_discard() undoes
 * it.
 *
 * Context: may sleep; caller holds bcv_lock.
 * Return: the volume or an ERR_PTR().
 */
struct bcv_volume *__bcv_volume_open(const char (*paths)[BCV_PATH_LEN],
				     unsigned int nr)
{
	struct bcv_volume *vol = bcv_volume_alloc();
	int ret;

	lockdep_assert_held(&bcv_lock);
	if (!vol)
		return ERR_PTR(-ENOMEM);
	ret = __bcv_open_legs(vol, paths, nr);
	if (ret) {
		bcv_io_vol_exit(vol);
		kfree(vol);
		return ERR_PTR(ret);
	}
	return vol;
}

/*------------------------------------------------------------------------
 * Table memory (bcv.max_table_share)
 *
 * A volume's tables are as large as its superblock says (tracks x bits per
 * track, and the durable image of them for write intent, bcv_meta.h), and
 * udev assembles any disk that is plugged in: their memory is checked
 * before anything is allocated, against a share of RAM for the tables of
 * all volumes together.  What a volume took is given back when it is freed.
 */

static unsigned int bcv_max_table_share = 10;	/* percent of RAM */

static int bcv_share_set(const char *val, const struct kernel_param *kp)
{
	int v = bcv_parse_percent(val);

	if (v < 0)
		return v;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops bcv_share_ops = {
	.set	= bcv_share_set,
	.get	= param_get_uint,
};

module_param_cb(max_table_share, &bcv_share_ops, &bcv_max_table_share, 0644);
MODULE_PARM_DESC(max_table_share,
		 "Percent of RAM the tables of all volumes may take together; a create or an assembly (udev's too) whose tables would pass it is refused before it allocates them (1-100, default 10)");

/* Bytes of tables all volumes hold (vol->table_bytes); atomic, no lock. */
static atomic64_t bcv_tables_used = ATOMIC64_INIT(0);

/* What bcv.max_table_share allows, in bytes. */
static u64 bcv_tables_limit(void)
{
	return div_u64((u64)totalram_pages() * READ_ONCE(bcv_max_table_share),
		       100) << PAGE_SHIFT;
}

/*
 * Take @bytes of the share for @vol, or -EFBIG with what is left of it in
 * *@left.  Concurrent creates and assemblies (no lock: assembly allocates
 * without bcv_lock) each see the others' reservations.
 */
static int bcv_tables_reserve(struct bcv_volume *vol, u64 bytes, u64 *left)
{
	u64 limit = bcv_tables_limit();
	s64 used = atomic64_read(&bcv_tables_used);

	do {
		if ((u64)used > limit || bytes > limit - used) {
			*left = (u64)used < limit ? limit - used : 0;
			return -EFBIG;
		}
	} while (!atomic64_try_cmpxchg(&bcv_tables_used, &used, used + bytes));
	vol->table_bytes = bytes;
	return 0;
}

/* Free @vol's tables and give their share back.  May sleep. */
static void bcv_tables_free(struct bcv_volume *vol)
{
	bcv_tm_vol_free(&vol->tm);
	atomic64_sub(vol->table_bytes, &bcv_tables_used);
	vol->table_bytes = 0;
}

/**
 * __bcv_volume_geometry() - size @vol and allocate its tables
 * @vol: an opened volume (its role and name set)
 * @sectors: capacity
 * @shift: track shift
 * @need: out (may be NULL): with -EFBIG, the bytes its tables would take
 * @left: out (may be NULL): with -EFBIG, what bcv.max_table_share leaves
 *
 * Tables larger than bcv.max_table_share leaves are refused before any
 * allocation, with one line in the kernel log.
 *
 * Context: may sleep; caller holds bcv_lock or owns @vol (not listed yet,
 * bcv_assert_owner()).
 * Return: 0, -EINVAL (a track smaller than a leg's logical block, a leg
 * too small), -E2BIG (too many tracks), -EFBIG (tables past the share) or
 * -ENOMEM.
 */
int __bcv_volume_geometry(struct bcv_volume *vol, sector_t sectors,
			  unsigned int shift, u64 *need, u64 *left)
{
	bool is_std = vol->role == BCV_ROLE_STD;
	u64 tracks, bytes, rest;
	unsigned int i;
	u32 lbs = 0;
	int ret;

	bcv_assert_owner(vol);
	for (i = 0; i < vol->nr_legs; i++) {
		struct block_device *bdev = bcv_leg_bdev(vol, i);

		lbs = max(lbs, bdev_logical_block_size(bdev));
		if (bcv_meta_layout(bdev, shift, &vol->meta.layout[i]) ||
		    vol->meta.layout[i].data_sectors < sectors)
			return -EINVAL;
	}
	if (bcv_track_shift(1U << shift, lbs) < 0 ||
	    (sectors << SECTOR_SHIFT) % lbs)
		return -EINVAL;
	tracks = bcv_tracks(sectors, shift);
	if (tracks > BCV_TM_MAX_TRACKS)
		return -E2BIG;
	bytes = bcv_tm_vol_bytes(tracks, is_std) +
		bcv_meta_alloc_bytes(tracks, shift, is_std);
	ret = bcv_tables_reserve(vol, bytes, &rest);
	if (ret) {
		pr_err("%s: tables of %llu MiB (%llu tracks of %u bytes) refused: bcv.max_table_share=%u%% of RAM leaves %llu MiB for them\n",
		       vol->name, DIV_ROUND_UP_ULL(bytes, SZ_1M), tracks,
		       1U << shift, READ_ONCE(bcv_max_table_share),
		       rest >> 20);
		if (need)
			*need = bytes;
		if (left)
			*left = rest;
		return ret;
	}
	ret = bcv_tm_vol_init(&vol->tm, sectors, shift, is_std, vol->nr_legs);
	if (!ret) {
		ret = bcv_meta_alloc(vol);
		if (!ret)
			return 0;
	}
	bcv_tables_free(vol);
	return ret;
}

/**
 * bcv_volume_discard() - undo __bcv_volume_open() and
 *	__bcv_volume_geometry() of a volume that was never published
 * @vol: the volume
 *
 * Context: may sleep; caller holds bcv_lock or owns @vol.
 */
void bcv_volume_discard(struct bcv_volume *vol)
{
	bcv_meta_exit(vol);
	bcv_tables_free(vol);
	bcv_close_legs(vol);
	bcv_io_vol_exit(vol);
	kfree(vol);
}

/**
 * __bcv_volume_publish() - the last step of create and assembly
 * @vol: a volume with its tables set up and its metadata written
 *
 * Regions, the copy engine, /dev/bcvN, sysfs; the volume is listed and
 * pins the module.  On failure, what this step set up is undone
 * (bcv_volume_discard() does the rest).
 *
 * Context: may sleep; caller holds bcv_lock.
 * Return: 0 or an error.
 */
int __bcv_volume_publish(struct bcv_volume *vol)
{
	unsigned int shift = bcv_vol_track_shift(vol), i;
	struct bcv_stack_limits lim;
	struct gendisk *disk;
	int ret;

	lockdep_assert_held(&bcv_lock);
	bcv_limits_init(&lim);
	for (i = 0; i < vol->nr_legs; i++) {
		ret = bcv_limits_stack(&lim, bcv_leg_bdev(vol, i));
		if (ret)
			return ret;
	}
	ret = bcv_regions_init(&vol->regions, &vol->lock, bcv_vol_tracks(vol),
			       shift);
	if (ret)
		return ret;
	/* The engine wakes deferred writes through the I/O path's gate. */
	ret = bcv_engine_init(vol, bcv_kick_deferred);
	if (ret)
		goto out_regions;

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
	set_capacity(disk, bcv_vol_sectors(vol));
	vol->disk = disk;

	/* Host writes and the metadata worker use the write-intent marks. */
	bcv_meta_start(vol);
	/* The "bcv" attribute group exists before the uevent (udev names). */
	ret = device_add_disk(NULL, disk, bcv_disk_groups);
	if (ret)
		goto out_disk;
	ret = bcv_volume_sysfs_init(vol);
	if (ret) {
		del_gendisk(disk);
		goto out_disk;
	}

	__bcv_insert(vol);
	/* A volume pins the module: rmmod is refused until it is removed. */
	__module_get(THIS_MODULE);
	return 0;

out_disk:
	/* No worker may look at the regions below any more (idempotent). */
	bcv_meta_exit(vol);
	put_disk(disk);
	vol->disk = NULL;
out_ida:
	ida_free(&bcv_index_ida, vol->index);
	vol->index = -1;
out_engine:
	bcv_engine_exit(vol);
out_regions:
	bcv_regions_exit(&vol->regions);
	return ret;
}

/**
 * bcv_volume_create() - BCV_IOC_CREATE
 * @c: the request, whose fields bcv_ioctl.c has validated for syntax;
 *     @c->index, @c->sectors and @c->meta_sectors are filled in
 *
 * Every leg gets new metadata at its end (bcv_meta.h); the capacity is
 * what the smallest leg leaves for data.
 *
 * Context: may sleep; takes bcv_lock.
 * Return: 0, or -EEXIST, -EBUSY, -ELOOP, -EROFS, -EINVAL, -E2BIG, -ENOMEM,
 * -ENOSPC, or an error of opening or writing a device; nothing is left
 * behind but what the metadata writes overwrote.
 */
int bcv_volume_create(struct bcv_create *c)
{
	struct bcv_volume *vol;
	u32 track_size = c->track_size ?: BCV_TRACK_SIZE_DEFAULT;
	sector_t sectors = 0, meta = 0;
	unsigned int i;
	int shift, ret;

	mutex_lock(&bcv_lock);
	ret = -EEXIST;
	if (__bcv_name_taken(c->name))
		goto out_unlock;
	vol = __bcv_volume_open(c->legs, c->nr_legs);
	ret = PTR_ERR_OR_ZERO(vol);
	if (ret)
		goto out_unlock;
	strscpy(vol->name, c->name, sizeof(vol->name));
	vol->role = c->role;

	ret = -EINVAL;
	shift = bcv_track_shift(track_size, 512);
	if (shift < 0)
		goto out_vol;
	for (i = 0; i < vol->nr_legs; i++) {
		struct bcv_fmt_layout l;

		ret = bcv_meta_layout(bcv_leg_bdev(vol, i), shift, &l);
		if (ret)
			goto out_vol;
		if (!i || l.data_sectors < sectors)
			sectors = l.data_sectors;
		meta = max_t(sector_t, meta, l.dev_sectors - l.data_sectors);
	}
	ret = __bcv_volume_geometry(vol, sectors, shift, NULL, NULL);
	if (ret)
		goto out_vol;
	/*
	 * The primary's data is the volume's; fixed mirrors start stale and
	 * the copy engine syncs them (md's initial resync).
	 */
	for (i = 1; i < vol->nr_legs; i++)
		bcv_tm_leg_stale(&vol->tm, i);
	ret = bcv_meta_create(vol);
	if (ret)
		goto out_vol;
	ret = __bcv_volume_publish(vol);
	if (ret)
		goto out_vol;

	/* Still under bcv_lock: a racing remove of the name waits for it. */
	pr_info("%s: created %s %s over %pg (+%u mirror legs), %llu sectors, %llu tracks of %u bytes\n",
		vol->disk->disk_name, bcv_role_name(vol->role), vol->name,
		bcv_leg_bdev(vol, 0), vol->nr_legs - 1,
		(unsigned long long)bcv_vol_sectors(vol), bcv_vol_tracks(vol),
		1U << bcv_vol_track_shift(vol));
	if (vol->nr_legs > 1)
		bcv_engine_kick(vol);
	c->index = vol->index;
	c->sectors = bcv_vol_sectors(vol);
	c->meta_sectors = meta;
	mutex_unlock(&bcv_lock);
	return 0;

out_vol:
	bcv_volume_discard(vol);
out_unlock:
	mutex_unlock(&bcv_lock);
	return ret;
}

/**
 * bcv_volume_free() - the second half of a remove
 * @vol: a volume __bcv_volume_unlist() took off the list
 *
 * Without bcv_lock (other volumes' commands go on meanwhile): @vol is off
 * the list, its gendisk deleted and its engine marked dead.  Sleeps until
 * what is in flight is done:
 *  1. the engine's worker stops (it re-arms itself no more: dead);
 *  2. host bios and copy jobs in flight complete (a job on a slow or dead
 *     device takes as long as the device's own timeout);
 *  3. the retry worker and the engine's work item are cancelled for good
 *     (nothing in flight can queue them again), bios still waiting at
 *     the gate fail;
 *  4. the kcopyd client, the disk, the tables and the legs go.
 *
 * Context: may sleep; bcv_lock not held.
 */
void bcv_volume_free(struct bcv_volume *vol)
{
	cancel_delayed_work_sync(&vol->engine);
	bcv_quiesce_dead(vol);
	cancel_work_sync(&vol->retry_work);
	cancel_work_sync(&vol->link_work);	/* it finds the volume dead */
	cancel_delayed_work_sync(&vol->engine);
	bcv_fail_deferred(vol);
	bcv_meta_exit(vol);
	bcv_engine_exit(vol);
	put_disk(vol->disk);
	bcv_regions_exit(&vol->regions);
	bcv_tables_free(vol);
	bcv_close_legs(vol);
	bcv_io_vol_exit(vol);
	ida_free(&bcv_index_ida, vol->index);
	kfree(vol);
	module_put(THIS_MODULE);
}

/**
 * __bcv_volume_unlist() - the first half of a remove
 * @vol: a volume nobody may open any more (dying) and in no session
 *
 * The volume leaves the list and its gendisk goes (no new bio can arrive);
 * its engine stops for good: it starts no job and re-arms no more, and
 * regions it wanted let their writes go (nothing will copy them now).
 * bcv_volume_free() then waits for what is in flight, without bcv_lock.
 *
 * Context: may sleep; caller holds bcv_lock (not @vol's open_lock:
 * del_gendisk() takes the disk's open_mutex, which ->release holds when
 * it takes open_lock).
 */
void __bcv_volume_unlist(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	list_del(&vol->node);
	WRITE_ONCE(vol->listed, false);
	/* A scheduled superblock write finds the volume dead (bcv_lock). */
	WRITE_ONCE(vol->meta.dead, true);
	spin_lock_irq(&vol->lock);
	vol->dead = true;
	vol->paused = true;
	__bcv_regions_unwant_all(&vol->regions);
	vol->nr_fill = 0;
	spin_unlock_irq(&vol->lock);
	bcv_kick_deferred(vol);

	bcv_volume_sysfs_exit(vol);
	/* Waits for ->submit_bio callers; sysfs show()s are done after it. */
	del_gendisk(vol->disk);
	pr_info("%s: removed %s\n", vol->disk->disk_name, vol->name);
}

/*
 * Stack into @s the devices at @vol's write targets among @mask; false if
 * there is none.  Their limits may not combine into an aligned stack
 * (blk_stack_limits() says so for alignment offsets): __bcv_volume_publish()
 * refuses such legs, but here what is taken from @s is valid anyway.
 */
static bool bcv_stack_targets(struct bcv_volume *vol, unsigned int mask,
			      struct bcv_stack_limits *s)
{
	unsigned int p, n = 0;

	mask &= bcv_tm_write_targets(&vol->tm);
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct block_device *bdev;

		if (!(mask & (1U << p)))
			continue;
		bdev = bcv_pos_bdev(vol, p);
		if (!bdev)
			continue;
		bcv_limits_stack(s, bdev);
		n++;
	}
	return n;
}

/**
 * bcv_update_features() - restack @vol's queue limits from its write targets
 * @vol: the volume
 *
 * A write reaches every own leg that has not failed and, on a STD, every
 * attached BCV's primary.  A clone is split by the limits of the device
 * it goes to, but an operation that device lacks fails there, counted as
 * its I/O error: the volume advertises write-zeroes only if every one of
 * them has them, and discard and secure erase (sent to own legs only)
 * only if every own leg has them.  If one of them has a volatile write
 * cache, the volume must announce one, or the filesystem above never
 * sends the flushes that make its writes durable there.  The DMA
 * alignment is the largest any of them needs (bcv_limits_update()).
 * Called whenever the set changes: legs or BCVs join or leave (a failed
 * leg only narrows it: what it needed is still asked for).
 *
 * Context: may sleep; caller holds bcv_lock and the volume (bcv_hold()):
 * no clone is in flight, and the bios waiting at the gate meanwhile meet
 * the new limits when they are resubmitted (submit_bio_noacct() fails a
 * write-zeroes or discard the volume no longer advertises).
 */
void bcv_update_features(struct bcv_volume *vol)
{
	struct bcv_stack_limits legs, all;
	unsigned int p, own = 0;

	lockdep_assert_held(&bcv_lock);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (bcv_tm_pos_role(&vol->tm, p) == BCV_POS_LEG)
			own |= 1U << p;
	bcv_limits_init(&legs);
	/* No own leg takes writes: they all fail, whatever it announces. */
	if (!bcv_stack_targets(vol, own, &legs))
		return;
	all = legs;
	bcv_stack_targets(vol, ~own, &all);
	bcv_limits_update(vol->disk, &all, &legs);
}

/*------------------------------------------------------------------------
 * Fixed mirror legs: add and remove
 *
 * Own legs are at positions M1..M(nr_legs), a STD's MMs above them.  A
 * STD's legs change with BCVs attached too (a STD whose legs died while
 * an attached BCV held its data gets new ones that way): an MM where the
 * new leg goes moves up first (bcv_mm_move()).  Not a BCV attached to its
 * STD (bcv_tm_leg_add() and bcv_tm_leg_remove() refuse).  The tables and
 * vol->legs change together with the volume held: no host I/O and no
 * copy is in flight.
 */

/*
 * Caller holds bcv_lock and the volume.  The MM at @from moves to the
 * free position @to, with what the I/O path and the engine keep per
 * position; its table and the superblock saying so reach the disk
 * (bcv_meta_mm_moved()), else it moves back and nothing changed.
 */
static int bcv_mm_move(struct bcv_volume *vol, int from, int to)
{
	int ret, i, p[2] = { from, to };

	lockdep_assert_held(&bcv_lock);
	for (i = 0; i < 2; i++) {
		spin_lock_irq(&vol->lock);
		bcv_tm_mm_move(&vol->tm, p[i], p[!i]);
		swap(vol->retry_at[from], vol->retry_at[to]);
		swap(vol->backoff[from], vol->backoff[to]);
		swap(vol->thr_until[from], vol->thr_until[to]);
		spin_unlock_irq(&vol->lock);
		atomic64_set(&vol->pos_errors[p[!i]],
			     atomic64_xchg(&vol->pos_errors[p[i]], 0));
		if (test_and_clear_bit(p[i], &vol->err_episode))
			set_bit(p[!i], &vol->err_episode);
		if (i)
			break;		/* moved back */
		ret = bcv_meta_mm_moved(vol, from, to);
		if (!ret) {
			pr_info("%s: %s: the mirror position of a BCV moved from M%d to M%d to make room for a leg\n",
				vol->disk->disk_name, vol->name, from + 1, to + 1);
			return 0;
		}
	}
	pr_err("%s: %s: moving a BCV's mirror position from M%d failed (%d): no leg added\n",
	       vol->disk->disk_name, vol->name, from + 1, ret);
	return ret;
}

/*
 * Caller holds bcv_lock.  May @vol's legs change now?  Not while a BCV is
 * attached to it or it is attached (bcv_tm_legs_changeable()), nor while
 * it is a BCV attached to a STD that is not assembled: its own tables do
 * not describe what its legs hold then (the STD wrote its primary), and
 * what a fixed mirror held before the attach must stay there.
 */
static bool bcv_legs_changeable(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	if (vol->meta.link.used && vol->meta.link.state != BCV_STATE_SPLIT)
		return false;
	return bcv_tm_legs_changeable(&vol->tm);
}

/* Caller holds bcv_lock.  Open @path as a new leg of @vol into *@h. */
static int __bcv_open_new_leg(struct bcv_volume *vol, const char *path,
			      struct bcv_bdev_handle *h)
{
	struct bcv_fmt_layout l;
	struct block_device *bdev;
	dev_t dev;
	int ret;

	lockdep_assert_held(&bcv_lock);
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
	/*
	 * It must hold the whole volume and its metadata, in blocks the
	 * volume can address.
	 */
	if (bcv_meta_layout(bdev, bcv_vol_track_shift(vol), &l) ||
	    l.data_sectors < bcv_vol_sectors(vol) ||
	    bdev_logical_block_size(bdev) >
	    queue_logical_block_size(vol->disk->queue)) {
		bcv_bdev_close(h);
		return -EINVAL;
	}
	return 0;
}

/**
 * bcv_leg_add() - BCV_IOC_LEG, BCV_LEG_ADD
 * @l: the request; @l->pos is filled in
 *
 * Context: may sleep; takes bcv_lock, holds the volume's I/O meanwhile.
 * Return: 0, or -ENOENT, -ENOSPC, -EBUSY, -ELOOP, -EINVAL, -EROFS or an
 * error of opening the device; nothing changed then.
 */
int bcv_leg_add(struct bcv_leg_cmd *l)
{
	struct bcv_bdev_handle h;
	struct bcv_volume *vol;
	int ret, pos, from, to;

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
	if (!bcv_legs_changeable(vol))
		goto out;
	ret = -ENOSPC;
	from = bcv_tm_leg_room(&vol->tm, &to);
	if (from != BCV_NO_POS && to == BCV_NO_POS)
		goto out;	/* every position is taken */
	ret = __bcv_open_new_leg(vol, l->path, &h);
	if (ret)
		goto out;

	bcv_hold(vol);
	pos = from != BCV_NO_POS ? bcv_mm_move(vol, from, to) : 0;
	if (!pos)
		pos = bcv_tm_leg_add(&vol->tm);
	if (pos >= 0) {
		mutex_lock(&vol->leg_lock);
		vol->legs[pos].h = h;
		atomic64_set(&vol->leg_copied[pos], 0);
		atomic64_set(&vol->pos_errors[pos], 0);
		vol->nr_legs++;
		mutex_unlock(&vol->leg_lock);
		bcv_meta_layout(h.bdev, bcv_vol_track_shift(vol),
				&vol->meta.layout[pos]);
		generate_random_uuid(vol->meta.leg_uuid[pos]);
		/* Its tables (all I there), then every leg's new leg list. */
		ret = bcv_meta_leg_added(vol, pos);
		if (ret) {
			/* No leg without its metadata: out again, all I. */
			pr_err("%s: the metadata of the new leg %pg could not be written (%d): not added\n",
			       vol->disk->disk_name, h.bdev, ret);
			bcv_tm_leg_unadd(&vol->tm);
			mutex_lock(&vol->leg_lock);
			vol->nr_legs--;
			mutex_unlock(&vol->leg_lock);
			bcv_meta_commit(vol, NULL);
			bcv_meta_wipe_leg(h.bdev);
			pos = ret;
		} else {
			bcv_update_features(vol);
		}
	}
	bcv_unhold(vol);
	if (pos >= 0 && bcv_legs_sysfs_update(vol))
		pr_warn("%s: no sysfs directory for the new leg\n",
			vol->disk->disk_name);
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

/**
 * bcv_leg_remove() - BCV_IOC_LEG, BCV_LEG_REMOVE
 * @l: the request (by device path, or by @l->pos with BCV_LEG_F_POS);
 *     @l->pos is filled in
 *
 * Context: may sleep; takes bcv_lock, holds the volume's I/O meanwhile.
 * Return: 0, or -ENOENT, -ENODEV (no such leg) or -EBUSY (see
 * bcv_tm_leg_remove()); nothing changed then.
 */
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
	ret = -EBUSY;
	if (!bcv_legs_changeable(vol))
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
			atomic64_set(&vol->pos_errors[j],
				     atomic64_read(&vol->pos_errors[j + 1]));
			vol->meta.layout[j] = vol->meta.layout[j + 1];
			vol->meta.sb_copy[j] = vol->meta.sb_copy[j + 1];
			memcpy(vol->meta.leg_uuid[j], vol->meta.leg_uuid[j + 1],
			       BCV_FMT_UUID_LEN);
		}
		vol->nr_legs--;
		mutex_unlock(&vol->leg_lock);
		/* A rewrite pending follows its leg down (bcv_meta.rewrite). */
		mutex_lock(&vol->meta.lock);
		vol->meta.rewrite = (vol->meta.rewrite & (BIT(i) - 1)) |
				    ((vol->meta.rewrite >> 1) & ~(BIT(i) - 1));
		mutex_unlock(&vol->meta.lock);
		/* The others forget it; it no longer assembles. */
		bcv_meta_commit(vol, NULL);
		bcv_meta_wipe_leg(h.bdev);
		bcv_update_features(vol);
	}
	bcv_unhold(vol);
	if (ret)
		goto out;
	if (bcv_legs_sysfs_update(vol))
		pr_warn("%s: legs/ in sysfs not updated\n", vol->disk->disk_name);
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
	info->track_size = 1U << bcv_vol_track_shift(vol);
	info->nr_legs = vol->nr_legs;
	info->sectors = bcv_vol_sectors(vol);
	info->tracks = bcv_vol_tracks(vol);
	info->cylinders = bcv_cylinders(bcv_vol_tracks(vol));
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
		if (bcv_tm_failed_legs(&vol->tm) & (1U << i))
			info->leg_flags[i] |= BCV_LEG_STATE_FAILED;
	}
	if (vol->meta.recovered)
		info->vol_flags |= BCV_VOL_F_RECOVERED;
	if (vol->meta.link.used)
		info->vol_flags |= BCV_VOL_F_PEER_ABSENT;
	for (i = 0; i < BCV_SESSIONS && vol->role == BCV_ROLE_STD; i++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, i);

		if (ts && !bcv_tm_session_of(ts)->bcv)
			info->vol_flags |= BCV_VOL_F_PEER_ABSENT;
	}
	memcpy(info->uuid, vol->meta.uuid, sizeof(info->uuid));
	info->events = READ_ONCE(vol->meta.events);
	info->recovered_tracks = vol->meta.recovered_tracks;
	info->meta_writes = atomic64_read(&vol->meta.writes);
}

/**
 * bcv_volume_list() - BCV_IOC_LIST
 * @vols: user array of @capacity entries of @info_size bytes
 * @info_size: entry size userspace knows (an older, smaller struct gets
 *	its first @info_size bytes; a newer, larger one a zeroed tail)
 * @capacity: entries @vols holds
 * @count: out: the number of volumes
 *
 * Context: may sleep (faults on @vols); takes bcv_lock.
 * Return: 0 or -EFAULT.
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

	ret = bcv_io_init();
	if (ret)
		return ret;
	ret = bcv_copy_init();
	if (ret)
		goto out_io;
	ret = bcv_meta_module_init();
	if (ret)
		goto out_copy;
	ret = bcv_session_init();
	if (ret)
		goto out_meta_mod;
	ret = bcv_event_init();
	if (ret)
		goto out_session_wq;
	ret = register_blkdev(0, BCV_DISK_PREFIX);
	if (ret < 0)
		goto out_event;
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
out_event:
	bcv_event_exit();
out_session_wq:
	bcv_session_exit();
out_meta_mod:
	bcv_meta_module_exit();
out_copy:
	bcv_copy_exit();
out_io:
	bcv_io_exit();
	return ret;
}

/* Volumes pin the module, so none exists when this runs. */
static void __exit bcv_exit(void)
{
	bcv_ctl_exit();
	/* A protected restore's split may still be queued: it finds nothing. */
	bcv_session_exit();
	bcv_event_exit();
	unregister_blkdev(bcv_major, BCV_DISK_PREFIX);
	ida_destroy(&bcv_index_ida);
	bcv_meta_module_exit();
	bcv_copy_exit();
	bcv_io_exit();
}

module_init(bcv_init);
module_exit(bcv_exit);

MODULE_AUTHOR("The bcv authors");
MODULE_DESCRIPTION("Multi-session Business Continuance Volumes");
MODULE_LICENSE("GPL");
MODULE_VERSION(__stringify(BCV_VERSION_MAJOR) "." __stringify(BCV_VERSION_MINOR)
	       "." __stringify(BCV_VERSION_PATCH));
