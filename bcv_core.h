/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: multi-session Business Continuance Volumes - shared kernel structures.
 *
 * Locking
 * -------
 * There are two locks:
 *
 *  - bcv_lock (mutex, bcv_core.c) serialises the control operations (create,
 *    remove, list) and protects the list of volumes, their names and the
 *    set of backing devices in use.  It is taken only from process context
 *    (ioctls, module exit) and is never taken with a disk's open_mutex
 *    held, so del_gendisk() may be called under it.
 *
 *  - bcv_volume.open_lock (mutex) protects open_count and dying.  It is
 *    taken by ->open/->release (with the block layer's disk->open_mutex
 *    held) and by remove, which drops it before del_gendisk().
 *
 * The I/O path takes no lock: a volume's legs are fixed for its lifetime,
 * and in-flight bios are counted in bcv_volume.inflight so that remove can
 * wait for them before the legs are released.
 */
#ifndef BCV_CORE_H
#define BCV_CORE_H

#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#include "uapi/linux/bcv.h"
#include "bcv_compat.h"

#define BCV_MAX_VOLUMES		1024	/* bcv0 .. bcv1023 */

/* One backing device of a volume. */
struct bcv_leg {
	struct bcv_bdev_handle h;	/* exclusive open of the device */
};

/* A bcv volume: the gendisk bcvN over one or more legs. */
struct bcv_volume {
	struct list_head node;		/* in bcv_volumes; under bcv_lock */
	char name[BCV_NAME_LEN];	/* unique; fixed at create */
	unsigned int role;		/* BCV_ROLE_*; fixed */
	int index;			/* N of bcvN; fixed */
	unsigned int track_shift;	/* log2 of the track size in bytes */
	u64 tracks;			/* tracks, the last possibly partial */
	sector_t sectors;		/* capacity in 512-byte sectors */
	unsigned int nr_legs;		/* legs in use, 1..BCV_MAX_LEGS */
	struct bcv_leg legs[BCV_MAX_LEGS]; /* fixed for the volume's life */
	struct gendisk *disk;		/* the block device users see */

	struct mutex open_lock;		/* protects the two fields below */
	unsigned int open_count;	/* openers of /dev/bcvN */
	bool dying;			/* remove started: refuse opens */

	atomic_t inflight;		/* bios submitted, not yet completed */
};

static inline struct block_device *bcv_leg_bdev(struct bcv_volume *vol,
						unsigned int i)
{
	return vol->legs[i].h.bdev;
}

static inline const char *bcv_role_name(unsigned int role)
{
	return role == BCV_ROLE_STD ? "std" : "bcv";
}

/* bcv_core.c: volumes.  All may sleep and take bcv_lock. */
int bcv_volume_create(struct bcv_create *c);
int bcv_volume_remove(const char *name, unsigned int flags);
int bcv_volume_list(struct bcv_vol_info __user *vols, u32 info_size,
		    u32 capacity, u32 *count);

/* bcv_ioctl.c: the control device /dev/bcvctl. */
int bcv_ctl_init(void);
void bcv_ctl_exit(void);

/* bcv_sysfs.c: attribute groups for the volume's gendisk. */
extern const struct attribute_group *bcv_disk_groups[];

#endif /* BCV_CORE_H */
