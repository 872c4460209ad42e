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
	bool write_cache;		/* some device has a volatile write cache */
	bool fua;			/* some device supports FUA */
	bool nonrot;			/* every device is non-rotational */
	bool discard;			/* every device supports discard */
	bool secure_erase;		/* every device supports secure erase */
};

/* Doesn't sleep. */
static inline void bcv_limits_init(struct bcv_stack_limits *s)
{
	blk_set_stacking_limits(&s->lim);
	s->write_cache = false;
	s->fua = false;
	s->nonrot = true;
	s->discard = true;
	s->secure_erase = true;
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
	s->discard &= bdev_max_discard_sectors(bdev) != 0;
	s->secure_erase &= bdev_max_secure_erase_sectors(bdev) != 0;
	return blk_stack_limits(&s->lim, &q->limits, 0) ? -EINVAL : 0;
}

/*
 * Doesn't sleep.  blk_stack_limits() keeps the discard and secure erase
 * limits of the devices that have them (min_not_zero()), as for a linear
 * device, but a mirror sends each discard to every leg, and a leg without
 * them fails it (BLK_STS_NOTSUPP) as if it were broken: none unless every
 * leg has them.  Write-zeroes need nothing: stacked with min(), a device
 * without them turns them off.
 */
static inline void bcv_limits_mirror(struct bcv_stack_limits *s)
{
	if (!s->discard) {
		s->lim.max_discard_sectors = 0;
		s->lim.max_hw_discard_sectors = 0;
		s->lim.discard_granularity = 0;
		s->lim.discard_alignment = 0;
	}
	if (!s->secure_erase)
		s->lim.max_secure_erase_sectors = 0;
}

/* May sleep.  Returns a disk with no fops/name yet, or an ERR_PTR. */
static inline struct gendisk *bcv_alloc_disk(struct bcv_stack_limits *s)
{
	struct gendisk *disk;

	bcv_limits_mirror(s);
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
 * May sleep.  Bring the limits of the live @disk in line with the devices
 * its writes reach now (bcv_update_features()).  What a clone must respect
 * and the block layer does not make it fit: a device that lacks an
 * operation fails it (write-zeroes, discard, secure erase), and a buffer
 * less aligned than its DMA needs is not realigned.  Sizes and segments
 * need nothing: a clone sent to a device is split by that device's own
 * limits.  From @all, every write target: write-zeroes, DMA alignment
 * and, so that flushes are sent down and reach every device that caches
 * writes, the write cache and FUA flags.  From @legs, the own legs, where
 * discards and secure erases alone go: those.  The logical block size
 * stays: a leg or BCV with a larger one is refused, and the users' I/O
 * sizes must stay valid.  The caller holds the volume's I/O.
 */
static inline void bcv_limits_update(struct gendisk *disk,
				     struct bcv_stack_limits *all,
				     struct bcv_stack_limits *legs)
{
	bool wc = all->write_cache, fua = all->fua;
#ifdef BCV_HAVE_BLK_ALLOC_DISK_LIM
	struct queue_limits lim;

	bcv_limits_mirror(legs);
	lim = queue_limits_start_update(disk->queue);
	lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA);
	if (wc)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (wc && fua)
		lim.features |= BLK_FEAT_FUA;
	lim.max_write_zeroes_sectors = all->lim.max_write_zeroes_sectors;
	lim.dma_alignment = all->lim.dma_alignment;
	/* max_discard_sectors follows, capped by the user's setting. */
	lim.max_hw_discard_sectors = legs->lim.max_hw_discard_sectors;
	lim.discard_granularity = legs->lim.discard_granularity;
	lim.discard_alignment = legs->lim.discard_alignment;
	lim.max_discard_segments = legs->lim.max_discard_segments;
	lim.max_secure_erase_sectors = legs->lim.max_secure_erase_sectors;
	if (queue_limits_commit_update(disk->queue, &lim))
		pr_warn("%s: cannot update the queue limits\n", disk->disk_name);
#else
	struct request_queue *q = disk->queue;
	unsigned int user = q->limits.max_discard_sectors, hw;
	bool lowered = user < q->limits.max_hw_discard_sectors;

	bcv_limits_mirror(legs);
	hw = legs->lim.max_hw_discard_sectors;
	blk_queue_write_cache(q, wc, fua);
	blk_queue_max_write_zeroes_sectors(q, all->lim.max_write_zeroes_sectors);
	blk_queue_dma_alignment(q, all->lim.dma_alignment);
	/* Sets max_discard_sectors too: keep a lower one the user set. */
	blk_queue_max_discard_sectors(q, hw);
	if (lowered)
		q->limits.max_discard_sectors = min(user, hw);
	q->limits.discard_granularity = legs->lim.discard_granularity;
	q->limits.discard_alignment = legs->lim.discard_alignment;
	blk_queue_max_discard_segments(q, legs->lim.max_discard_segments);
	blk_queue_max_secure_erase_sectors(q, legs->lim.max_secure_erase_sectors);
#endif
}

#endif /* BCV_COMPAT_H */
