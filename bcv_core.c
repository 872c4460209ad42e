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
 * device operations and the I/O path.  Today every bio is cloned and passed
 * through to the volume's primary leg; the clone's completion completes the
 * original.  See Documentation/bcv.rst for the administrator's view and
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

#include "bcv_core.h"
#include "bcv_trackmap.h"

static DEFINE_MUTEX(bcv_lock);		/* see bcv_core.h */
static LIST_HEAD(bcv_volumes);		/* ordered by index; under bcv_lock */
static DEFINE_IDA(bcv_index_ida);	/* N of bcvN */
static int bcv_major;			/* dynamic block major */
static struct bio_set bcv_bio_set;	/* clones, with a bcv_io in front */

/*------------------------------------------------------------------------
 * I/O path
 */

/*
 * Per-clone state, allocated as the front padding of the clone bio so that
 * the I/O path never allocates anything else (the bio_set's mempool keeps
 * progress guaranteed under memory pressure).
 */
struct bcv_io {
	struct bcv_volume *vol;		/* owner of the original bio */
	struct bio *orig;		/* the bio the host submitted */
	unsigned long start;		/* io accounting start time */
	struct bio clone;		/* must be last: the bio_set allocates it */
};

static void bcv_io_done(struct bcv_volume *vol)
{
	/* Pairs with wait_var_event() in bcv_volume_remove(). */
	if (atomic_dec_and_test(&vol->inflight))
		wake_up_var(&vol->inflight);
}

/* Interrupt context. */
static void bcv_clone_endio(struct bio *clone)
{
	struct bcv_io *io = container_of(clone, struct bcv_io, clone);
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;

	orig->bi_status = clone->bi_status;
	bio_end_io_acct(orig, io->start);
	bio_put(clone);
	bio_endio(orig);
	bcv_io_done(vol);
}

/* May sleep (GFP_NOIO mempool allocation, which never fails). */
static void bcv_submit_bio(struct bio *bio)
{
	struct bcv_volume *vol = bio->bi_bdev->bd_disk->private_data;
	struct bio *clone;
	struct bcv_io *io;

	atomic_inc(&vol->inflight);
	clone = bio_alloc_clone(bcv_leg_bdev(vol, 0), bio, GFP_NOIO,
				&bcv_bio_set);
	io = container_of(clone, struct bcv_io, clone);
	io->vol = vol;
	io->orig = bio;
	io->start = bio_start_io_acct(bio);
	clone->bi_end_io = bcv_clone_endio;
	submit_bio_noacct(clone);
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
static struct bcv_volume *__bcv_find(const char *name)
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
		struct block_device *bdev;

		ret = bcv_bdev_open(c->legs[i], vol, &vol->legs[i].h);
		if (ret)
			goto fail;
		vol->nr_legs++;
		bdev = bcv_leg_bdev(vol, i);
		ret = -EINVAL;
		/* The path may have been replaced since lookup_bdev(). */
		if (bdev->bd_dev != dev[i] || MAJOR(bdev->bd_dev) == bcv_major)
			goto fail;
		/* Zoned devices need zone-aware copying; not supported. */
		if (bdev_is_zoned(bdev) || !bdev_nr_sectors(bdev))
			goto fail;
		ret = -EROFS;
		if (bdev_read_only(bdev))
			goto fail;
	}
	return 0;
fail:
	bcv_close_legs(vol);
	return ret;
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
	atomic_set(&vol->inflight, 0);
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

	ret = ida_alloc_max(&bcv_index_ida, BCV_MAX_VOLUMES - 1, GFP_KERNEL);
	if (ret < 0)
		goto out_legs;
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

	__bcv_insert(vol);
	/* A volume pins the module: rmmod is refused until it is removed. */
	__module_get(THIS_MODULE);
	mutex_unlock(&bcv_lock);

	pr_info("%s: created %s %s over %pg, %llu sectors, %llu tracks of %u bytes\n",
		disk->disk_name, bcv_role_name(vol->role), vol->name,
		bcv_leg_bdev(vol, 0), (unsigned long long)vol->sectors,
		vol->tracks, 1U << vol->track_shift);
	c->index = vol->index;
	c->sectors = vol->sectors;
	return 0;

out_disk:
	put_disk(disk);
out_ida:
	ida_free(&bcv_index_ida, vol->index);
out_legs:
	bcv_close_legs(vol);
out_unlock:
	mutex_unlock(&bcv_lock);
	kfree(vol);
	return ret;
}

/*
 * Remove the volume called @name.  Refused with EBUSY while it is open.
 * BCV_REMOVE_FORCE will also end the volume's split sessions once sessions
 * exist; today it changes nothing.  May sleep.
 */
int bcv_volume_remove(const char *name, unsigned int flags)
{
	struct bcv_volume *vol;

	mutex_lock(&bcv_lock);
	vol = __bcv_find(name);
	if (!vol) {
		mutex_unlock(&bcv_lock);
		return -ENOENT;
	}
	mutex_lock(&vol->open_lock);
	if (vol->open_count) {
		mutex_unlock(&vol->open_lock);
		mutex_unlock(&bcv_lock);
		return -EBUSY;
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
	del_gendisk(vol->disk);
	wait_var_event(&vol->inflight, !atomic_read(&vol->inflight));
	pr_info("%s: removed %s\n", vol->disk->disk_name, vol->name);
	put_disk(vol->disk);
	bcv_close_legs(vol);
	ida_free(&bcv_index_ida, vol->index);
	mutex_unlock(&bcv_lock);

	kfree(vol);
	module_put(THIS_MODULE);
	return 0;
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

	ret = bioset_init(&bcv_bio_set, BIO_POOL_SIZE,
			  offsetof(struct bcv_io, clone), 0);
	if (ret)
		return ret;

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
	bioset_exit(&bcv_bio_set);
	return ret;
}

/* Volumes pin the module, so none exists when this runs. */
static void __exit bcv_exit(void)
{
	bcv_ctl_exit();
	unregister_blkdev(bcv_major, BCV_DISK_PREFIX);
	ida_destroy(&bcv_index_ida);
	bioset_exit(&bcv_bio_set);
}

module_init(bcv_init);
module_exit(bcv_exit);

MODULE_AUTHOR("The bcv authors");
MODULE_DESCRIPTION("Multi-session Business Continuance Volumes");
MODULE_LICENSE("GPL");
MODULE_VERSION(__stringify(BCV_VERSION_MAJOR) "." __stringify(BCV_VERSION_MINOR)
	       "." __stringify(BCV_VERSION_PATCH));
