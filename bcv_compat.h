/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: kernel API differences between the kernels we build for.
 *
 * Written against the newest API (6.12); older kernels (6.1) are mapped to
 * it here and nowhere else.  BCV_HAVE_* come from the feature probes in
 * compat/ (one object per API, compiled against the target kernel by the
 * top-level Makefile into bcv_compat_gen.h), never from LINUX_VERSION_CODE.
 * Kernels between 6.1 and 6.9 that have neither API shape are not supported.
 */
#ifndef BCV_COMPAT_H
#define BCV_COMPAT_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include "bcv_compat_gen.h"

/*------------------------------------------------------------------------
 * Opening backing devices exclusively.
 */
struct bcv_bdev_handle {
	struct block_device *bdev;
#ifdef BCV_HAVE_BDEV_FILE_OPEN
	struct file *file;
#endif
};

/* May sleep.  @holder identifies the exclusive owner. */
static inline int bcv_bdev_open(const char *path, void *holder,
				struct bcv_bdev_handle *h)
{
#ifdef BCV_HAVE_BDEV_FILE_OPEN
	struct file *f = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
						holder, NULL);

	if (IS_ERR(f))
		return PTR_ERR(f);
	h->file = f;
	h->bdev = file_bdev(f);
#else
	struct block_device *b = blkdev_get_by_path(path, FMODE_READ | FMODE_WRITE |
						    FMODE_EXCL, holder);

	if (IS_ERR(b))
		return PTR_ERR(b);
	h->bdev = b;
#endif
	return 0;
}

/*
 * May sleep.  Is the device at @path read-only?  (A writable open of a
 * read-only device fails with EACCES before the caller can tell why.)
 */
static inline bool bcv_bdev_path_read_only(const char *path)
{
	bool ro;
#ifdef BCV_HAVE_BDEV_FILE_OPEN
	struct file *f = bdev_file_open_by_path(path, BLK_OPEN_READ, NULL, NULL);

	if (IS_ERR(f))
		return false;
	ro = bdev_read_only(file_bdev(f));
	fput(f);
#else
	struct block_device *b = blkdev_get_by_path(path, FMODE_READ, NULL);

	if (IS_ERR(b))
		return false;
	ro = bdev_read_only(b);
	blkdev_put(b, FMODE_READ);
#endif
	return ro;
}

/* May sleep.  Releases the exclusive claim. */
static inline void bcv_bdev_close(struct bcv_bdev_handle *h)
{
#ifdef BCV_HAVE_BDEV_FILE_OPEN
	fput(h->file);
	h->file = NULL;
#else
	blkdev_put(h->bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
#endif
	h->bdev = NULL;
}

/*------------------------------------------------------------------------
 * block_device_operations ->open / ->release signatures.
 */
#ifdef BCV_HAVE_BLK_MODE_OPEN
#define BCV_OPEN_ARGS		struct gendisk *disk, blk_mode_t mode
#define BCV_OPEN_DISK		disk
#define BCV_RELEASE_ARGS	struct gendisk *disk
#else
#define BCV_OPEN_ARGS		struct block_device *bdev, fmode_t mode
#define BCV_OPEN_DISK		(bdev->bd_disk)
#define BCV_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#endif

/*------------------------------------------------------------------------
 * Allocating a bio-based disk whose limits are stacked from backing devices.
 */
struct bcv_stack_limits {
	struct queue_limits lim;	/* stacked limits */
	bool write_cache;		/* some leg has a volatile write cache */
	bool fua;			/* some leg supports FUA */
	bool nonrot;			/* every leg is non-rotational */
};

/* Doesn't sleep. */
static inline void bcv_limits_init(struct bcv_stack_limits *s)
{
	blk_set_stacking_limits(&s->lim);
	s->write_cache = false;
	s->fua = false;
	s->nonrot = true;
}

/* Doesn't sleep.  @bdev supports FUA writes. */
static inline bool bcv_bdev_fua(struct block_device *bdev)
{
#ifdef BCV_HAVE_BLK_FEAT
	return bdev_fua(bdev);
#else
	return test_bit(QUEUE_FLAG_FUA, &bdev_get_queue(bdev)->queue_flags);
#endif
}

/* Doesn't sleep.  Returns < 0 if @bdev's limits cannot be combined. */
static inline int bcv_limits_stack(struct bcv_stack_limits *s,
				   struct block_device *bdev)
{
	struct request_queue *q = bdev_get_queue(bdev);

	s->write_cache |= bdev_write_cache(bdev);
	s->fua |= bcv_bdev_fua(bdev);
	s->nonrot &= bdev_nonrot(bdev);
	return blk_stack_limits(&s->lim, &q->limits, 0) ? -EINVAL : 0;
}

/* May sleep.  Returns a disk with no fops/name yet, or an ERR_PTR. */
static inline struct gendisk *bcv_alloc_disk(struct bcv_stack_limits *s)
{
	struct gendisk *disk;
#ifdef BCV_HAVE_BLK_ALLOC_DISK_LIM
	s->lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA |
			     BLK_FEAT_ROTATIONAL);
	s->lim.features |= BLK_FEAT_IO_STAT;
	if (s->write_cache)
		s->lim.features |= BLK_FEAT_WRITE_CACHE;
	if (s->write_cache && s->fua)
		s->lim.features |= BLK_FEAT_FUA;
	if (!s->nonrot)
		s->lim.features |= BLK_FEAT_ROTATIONAL;
	disk = blk_alloc_disk(&s->lim, NUMA_NO_NODE);
#else
	disk = blk_alloc_disk(NUMA_NO_NODE);
	if (!disk)
		return ERR_PTR(-ENOMEM);
	disk->queue->limits = s->lim;
	blk_queue_write_cache(disk->queue, s->write_cache, s->fua);
	blk_queue_flag_set(QUEUE_FLAG_IO_STAT, disk->queue);
	if (s->nonrot)
		blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	else
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, disk->queue);
#endif
	return disk;
}

/*
 * May sleep.  Announce a volatile write cache (and FUA) on @disk when a
 * device its writes reach has one, so that flushes are sent down and
 * reach every leg and attached BCV.  The caller holds the volume's I/O.
 */
static inline void bcv_set_write_cache(struct gendisk *disk, bool wc, bool fua)
{
#ifdef BCV_HAVE_BLK_ALLOC_DISK_LIM
	struct queue_limits lim = queue_limits_start_update(disk->queue);

	lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA);
	if (wc)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (wc && fua)
		lim.features |= BLK_FEAT_FUA;
	if (queue_limits_commit_update(disk->queue, &lim))
		pr_warn("%s: cannot update the write cache flags\n",
			disk->disk_name);
#else
	blk_queue_write_cache(disk->queue, wc, fua);
#endif
}

#endif /* BCV_COMPAT_H */
