/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: multi-session Business Continuance Volumes - shared kernel structures.
 *
 * Locking
 * -------
 * Lock order: bcv_lock -> bcv_volume.open_lock; bcv_lock -> state_lock;
 * bcv_lock -> leg_lock;
 * bcv_volume.lock is innermost and never held while sleeping.
 *
 *  - bcv_lock (mutex, bcv_core.c) serialises the control operations (create,
 *    remove, list, every session command, query) and protects the list of
 *    volumes, their names, the set of backing devices in use, and which
 *    sessions exist.  It is taken only from process context (ioctls, module
 *    exit) and is never taken with a disk's open_mutex held, so
 *    del_gendisk() may be called under it.  Commands on one STD are
 *    therefore serialised (all commands are).
 *
 *  - bcv_volume.open_lock (mutex) protects open_count and dying.  It is
 *    taken by ->open/->release (with the block layer's disk->open_mutex
 *    held) and by remove and the commands, which drop it before sleeping
 *    on I/O.
 *
 *  - bcv_volume.state_lock (mutex, STD) protects the states of the STD's
 *    sessions against the copy engine, which moves them to synchronized or
 *    restored (bcv_tm_update_states()) from its worker without bcv_lock.
 *
 *  - bcv_volume.leg_lock (mutex) protects legs[] and nr_legs for readers
 *    outside the I/O path (sysfs).  Leg add/remove changes them under
 *    bcv_lock and leg_lock with the volume held (bcv_hold()), so the I/O
 *    path and the copy engine, which only run while it is not held, read
 *    them without a lock.
 *
 *  - bcv_volume.lock (spinlock, irq-safe) protects the I/O gate (held,
 *    deferred, nr_io), the region table (host writes and copies in flight
 *    per region) and the copy engine's bookkeeping (jobs, cursor, flags).
 *
 * The Track ID and PB bits themselves are changed lock-free by the I/O path
 * (bcv_trackmap.h, Concurrency); whole-table passes run only while the
 * volumes involved are held: no host I/O in flight, no copy in flight, the
 * engine's worker stopped (bcv_hold()).
 *
 * Ordering of host writes and copies (SPEC section 3)
 * ---------------------------------------------------
 * A volume is cut into regions of 2^region_shift tracks (at least 16 tracks
 * and 1 MiB); a copy never crosses a region boundary.  Per region we count
 * host writes in flight and mark a copy in flight, in the spirit of
 * dm-raid1's region states: a write to a region being copied waits (its bio
 * is deferred and resubmitted when the copy ends), and the engine skips a
 * region with writes in flight and comes back to it when they complete;
 * meanwhile it marks the region wanted, so that new writes to it wait and
 * a steady stream of writes cannot starve the copy.
 * So a copy of track t and a host write to track t never overlap in time,
 * and a copy's "mark valid" can never cover data older than a write.
 */
#ifndef BCV_CORE_H
#define BCV_CORE_H

#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/wait.h>
#include <linux/kobject.h>
#include <linux/dm-kcopyd.h>
#include "uapi/linux/bcv.h"
#include "bcv_compat.h"
#include "bcv_trackmap.h"

#define BCV_MAX_VOLUMES		1024	/* bcv0 .. bcv1023 */

/* bcv_volume.region[]: per region of 2^region_shift tracks */
#define BCV_REGION_COPY		BIT(31)		/* a copy is in flight */
#define BCV_REGION_WANT		BIT(30)		/* the engine waits for it */
#define BCV_REGION_WRITES	(BIT(30) - 1)	/* host writes in flight */
#define BCV_MAX_WANT		8

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
	/*
	 * Leg i sits at mirror position i.  Changed only by leg add/remove,
	 * under bcv_lock and leg_lock with the volume held (no I/O, no
	 * copy in flight); readers outside the I/O path (sysfs) take
	 * leg_lock.
	 */
	struct mutex leg_lock;
	unsigned int nr_legs;		/* legs in use, 1..BCV_MAX_LEGS */
	struct bcv_leg legs[BCV_MAX_LEGS];
	atomic64_t leg_copied[BCV_MAX_LEGS]; /* tracks copied to each leg */
	struct work_struct retry_work;	/* resubmits reads after a leg failed */
	struct gendisk *disk;		/* the block device users see */

	struct mutex open_lock;		/* protects the two fields below */
	unsigned int open_count;	/* openers of /dev/bcvN */
	bool dying;			/* remove started: refuse opens */

	struct bcv_tm_vol tm;		/* Track ID (and PB) tables */
	struct mutex state_lock;	/* STD: session states, see above */
	struct kobject *sessions_kobj;	/* STD: /sys/block/bcvN/sessions */

	/* I/O gate, regions and copy engine: all under lock */
	spinlock_t lock;
	bool held;			/* a command holds the volume's I/O */
	struct bio_list deferred;	/* bios waiting for !held or a region */
	unsigned int nr_io;		/* bios past the gate, not completed */
	unsigned int region_shift;	/* log2 tracks per region */
	u32 *region;			/* per region: BCV_REGION_* */
	unsigned int jobs;		/* copies in flight */
	u64 want[BCV_MAX_WANT];		/* regions marked BCV_REGION_WANT */
	unsigned int nr_want;
	u64 cursor;			/* next track the engine looks at */
	bool paused;			/* engine stopped by a command */
	bool dead;			/* removed: engine never runs again */
	bool rescan;			/* skipped a busy region this pass */
	unsigned int avoid;		/* positions left out of this pass */
	/*
	 * Per mirror position whose copies failed: no copy reads or writes
	 * it before retry_at (jiffies); the back-off doubles from 100 ms to
	 * 5 s while it keeps failing, and is 0 once a copy to it worked.
	 * Other positions go on meanwhile.
	 */
	unsigned long retry_at[BCV_POSITIONS];
	unsigned int backoff[BCV_POSITIONS];	/* ms, 0: none */
	bool err_logged[BCV_POSITIONS];	/* error reported since success */
	wait_queue_head_t wait;		/* nr_io and jobs reaching zero */

	struct delayed_work engine;	/* the copy engine's worker */
	struct dm_kcopyd_client *kc;
	struct dm_kcopyd_throttle throttle; /* .throttle: copy_throttle % */
};

/*
 * A session as the driver keeps it: the table algebra's part plus what
 * query reports.  Allocated at ESTABLISH, freed at TERMINATE (through its
 * kobject, /sys/block/bcvN/sessions/ID).
 */
struct bcv_session {
	struct bcv_tm_sess tm;		/* must be first */
	struct bcv_volume *std;
	struct bcv_volume *bcv;
	atomic64_t copied;		/* tracks copied since the command */
	atomic64_t errors;		/* copy errors since the command */
	struct kobject kobj;		/* sessions/ID */
	bool kobj_added;
};

static inline struct bcv_volume *bcv_tm_volume(struct bcv_tm_vol *tm)
{
	return container_of(tm, struct bcv_volume, tm);
}

static inline struct bcv_session *bcv_tm_session_of(struct bcv_tm_sess *s)
{
	return container_of(s, struct bcv_session, tm);
}

static inline struct block_device *bcv_leg_bdev(struct bcv_volume *vol,
						unsigned int i)
{
	return vol->legs[i].h.bdev;
}

static inline const char *bcv_role_name(unsigned int role)
{
	return role == BCV_ROLE_STD ? "std" : "bcv";
}

extern struct mutex bcv_lock;
extern int bcv_major;
extern struct list_head bcv_volumes;
extern unsigned int bcv_copy_jobs_max;
extern unsigned int bcv_copy_throttle_default;

/* bcv_core.c: volumes.  All may sleep and take bcv_lock. */
struct bcv_volume *__bcv_find(const char *name);
int bcv_volume_create(struct bcv_create *c);
int bcv_volume_remove(const char *name, unsigned int flags);
int bcv_volume_list(struct bcv_vol_info __user *vols, u32 info_size,
		    u32 capacity, u32 *count);
int bcv_leg_add(struct bcv_leg_cmd *l);
int bcv_leg_remove(struct bcv_leg_cmd *l);

/*
 * bcv_core.c: the I/O gate.  bcv_hold() stops new bios and copies on @vol
 * and waits for those in flight to finish; bcv_unhold() resubmits what was
 * held and restarts the engine.  Both sleep; callers hold bcv_lock.
 */
void bcv_hold(struct bcv_volume *vol);
void bcv_unhold(struct bcv_volume *vol);
/* Resubmit deferred bios (process context, vol->lock not held). */
void bcv_kick_deferred(struct bcv_volume *vol);
/* The bdev behind mirror position @pos of @vol (a leg, or an MM's BCV). */
struct block_device *bcv_pos_bdev(struct bcv_volume *vol, int pos);
/*
 * Own legs among the positions in @failed whose device is gone or too
 * small are marked failed; returns those marked now.  Caller holds
 * vol->lock.
 */
unsigned int __bcv_check_legs(struct bcv_volume *vol, unsigned long failed);
/* Log the legs __bcv_check_legs() marked.  Any context, no lock held. */
void bcv_report_failed(struct bcv_volume *vol, unsigned int newly);

/* Recompute the write cache/FUA flags; bcv_lock held, volume held. */
void bcv_update_features(struct bcv_volume *vol);

/* bcv_copy.c: the copy engine. */
/* "1".."100": the number, else -EINVAL (not a number) or -ERANGE. */
int bcv_parse_percent(const char *buf);
int bcv_engine_init(struct bcv_volume *vol);
void bcv_engine_exit(struct bcv_volume *vol);
void bcv_engine_kick(struct bcv_volume *vol);
bool bcv_catch_up(struct bcv_volume *vol, int pos, unsigned long timeout);

/* bcv_session.c: commands, query, wait, sessions in sysfs.  Sleep. */
int bcv_session_cmd(struct bcv_session_cmd *c);
int bcv_session_query(const char *name, struct bcv_sess_info __user *out,
		      u32 info_size, u32 capacity, u32 *count);
int bcv_session_wait(struct bcv_wait *w);
int bcv_sessions_sysfs_init(struct bcv_volume *vol);
void bcv_sessions_sysfs_exit(struct bcv_volume *vol);
/* Tell waiters that a session's state changed (any context but hardirq). */
void bcv_state_changed(void);
/* A volume's sessions allow removal (with @force: ends split ones). */
int __bcv_sessions_remove(struct bcv_volume *vol, bool force);

/* bcv_stack.c: refuse stacking loops. */
int bcv_stack_check(dev_t dev);

/* bcv_ioctl.c: the control device /dev/bcvctl. */
int bcv_ctl_init(void);
void bcv_ctl_exit(void);

/* bcv_sysfs.c: attribute groups for the volume's gendisk. */
extern const struct attribute_group *bcv_disk_groups[];

#endif /* BCV_CORE_H */
