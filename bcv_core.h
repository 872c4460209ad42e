/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: multi-session Business Continuance Volumes - shared kernel structures.
 *
 * Layout
 * ------
 * Calls run one way: bcv_ioctl.c -> bcv_session.c (commands, query, wait)
 * -> bcv_core.c (volumes, legs) -> bcv_io.c (bio path, gate) / bcv_copy.c
 * (copy engine) / bcv_region.c (region gate) / bcv_meta.c (on-disk
 * metadata, write intent) -> bcv_trackmap.c (tables).
 *
 * Locking
 * -------
 * Lock order (every nesting the code uses):
 *
 *   bcv_lock -> open_lock(BCV) -> open_lock(STD) -> state_lock(STD)
 *   bcv_lock -> leg_lock
 *   bcv_lock -> state_lock
 *   bcv_lock -> bcv_meta.lock -> state_lock (superblocks read states)
 *   bcv_meta.lock -> bcv_volume.lock -> bcv_meta.wlock (checkpoints)
 *   any of them -> bcv_volume.lock (a spinlock) -> bcv_meta.wlock
 *
 *  - bcv_meta.lock (mutex) and bcv_meta.wlock (spinlock, innermost):
 *    bcv_meta.h.  The metadata worker, which host writes may wait for,
 *    never takes bcv_lock nor waits for a held volume; commands hold a
 *    volume before they take bcv_meta.lock.
 *
 *  - bcv_lock (mutex, bcv_core.c) serialises the control operations (create,
 *    remove, list, every session command, query) and protects the list of
 *    volumes, their names, the set of backing devices in use, and which
 *    sessions exist.  It is taken only from process context (ioctls, module
 *    exit) and is never taken with a disk's open_mutex held, so
 *    del_gendisk() may be called under it.  Commands on one STD are
 *    therefore serialised (all commands are).  A remove drops it before it
 *    waits for the I/O and copies in flight on the removed volume.  An
 *    assembly holds it only to open the legs, to check and reserve the
 *    volume's UUID and name (bcv_assembling) and to publish the volume:
 *    its superblock reads, table reads, recovery and table writes run
 *    without it, on a volume nobody else can see (bcv_assert_owner()),
 *    whose legs it holds open exclusively.
 *
 *  - bcv_volume.open_lock (mutex) protects open_count and dying.  It is
 *    taken by ->open/->release (with the block layer's disk->open_mutex
 *    held) and by remove and the session commands, which hold it across
 *    the command (it sleeps, waiting for I/O to drain) so that nobody opens
 *    the BCV (or, for a restore, the STD) between the check and the attach;
 *    an ->open meanwhile waits.  The BCV's is taken before the STD's (one
 *    lock class: mutex_lock_nested()).
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
 *  - bcv_volume.lock (spinlock, irq-safe) protects the I/O gate's slow
 *    path (held, io_killed, deferred), the region gate's flags and want
 *    list (bcv_region.h), the copy engine's bookkeeping (jobs, cursor,
 *    back-offs, flags), and serialises the table updates that mark
 *    positions invalid (bcv_tm_write_done() of a write that failed or
 *    skipped a position, bcv_tm_mark_stale(), bcv_tm_leg_fail()).  A
 *    bio that nothing holds back takes no lock at all: bcv_io.c, "I/O
 *    path", says how the per-CPU reference (ioref) and the atomic region
 *    counts keep the same guarantees.
 *
 * The Track ID and PB bits are otherwise changed lock-free by the I/O path
 * (bcv_trackmap.h, Concurrency); whole-table passes run only while the
 * volumes involved are held: no host I/O in flight, no copy in flight, the
 * engine's worker stopped (bcv_hold()).
 *
 * Lifetimes: a host bio holds ioref and a copy job counts in jobs until its
 * completion's very last step, and commands and removes wait for both to
 * reach zero before they change or free what those read (sessions, legs,
 * the volume itself).
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
#include <linux/completion.h>
#include <linux/percpu-refcount.h>
#include <linux/dm-kcopyd.h>
#include "uapi/linux/bcv.h"
#include "bcv_compat.h"
#include "bcv_trackmap.h"
#include "bcv_region.h"
#include "bcv_io.h"
#include "bcv_meta.h"

#define BCV_MAX_VOLUMES		1024	/* bcv0 .. bcv1023 */

struct bcv_leg_kobj;

/* One backing device of a volume. */
struct bcv_leg {
	struct bcv_bdev_handle h;	/* exclusive open of the device */
};

/* A bcv volume: the gendisk bcvN over one or more legs. */
struct bcv_volume {
	/*
	 * In bcv_volumes once published, in bcv_assembling while an
	 * assembly reads its tables; under bcv_lock.
	 */
	struct list_head node;
	/*
	 * On bcv_volumes: commands find it.  Until then only its creator or
	 * assembler sees it, which runs what a listed volume needs bcv_lock
	 * for without it (bcv_assert_owner()).  Written under bcv_lock.
	 */
	bool listed;
	char name[BCV_NAME_LEN];	/* unique; fixed at create */
	unsigned int role;		/* BCV_ROLE_*; fixed */
	int index;			/* N of bcvN; fixed */
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
	struct work_struct link_work;	/* BCV: bcv_link_work() */
	struct gendisk *disk;		/* the block device users see */

	struct mutex open_lock;		/* protects the two fields below */
	unsigned int open_count;	/* openers of /dev/bcvN */
	bool dying;			/* remove started: refuse opens */

	struct bcv_tm_vol tm;		/* Track ID (and PB) tables */
	struct mutex state_lock;	/* STD: session states, see above */
	struct kobject *sessions_kobj;	/* STD: /sys/block/bcvN/sessions */
	struct kobject *legs_kobj;	/* /sys/block/bcvN/legs */
	struct bcv_leg_kobj *leg_kobj[BCV_MAX_LEGS]; /* legs/Mn; bcv_lock */

	/*
	 * Bios past the gate (bcv_io.c, "I/O path"): killed by bcv_hold()
	 * and a remove, revived by bcv_unhold(); io_drained completes when
	 * it drops to zero after a kill.
	 */
	struct percpu_ref ioref;
	struct completion io_drained;

	/* I/O gate, regions and copy engine: all under lock */
	spinlock_t lock;
	bool held;			/* a command holds the volume's I/O */
	bool io_killed;			/* ioref killed, not revived yet */
	struct bio_list deferred;	/* bios waiting for !held or a region */
	struct bcv_regions regions;	/* writes and copies per region */
	unsigned int jobs;		/* copies in flight */
	u64 cursor;			/* next track the engine looks at */
	bool paused;			/* engine stopped by a command */
	bool dead;			/* removed: engine never runs again */
	bool rescan;			/* skipped a busy region this pass */
	unsigned int avoid;		/* positions left out of this pass */
	unsigned int avoid_err;		/* of those, the ones backing off */
	/*
	 * Wanted regions that host writes wait for (a protected restore,
	 * __bcv_fill_request()): their copies go even for a throttled
	 * session (not for a paused one: its writes wait for RESUME).
	 */
	u64 fill[BCV_MAX_WANT];
	unsigned int nr_fill;
	/*
	 * Per mirror position whose copies failed: no copy reads or writes
	 * it before retry_at (jiffies); the back-off doubles from 100 ms to
	 * 5 s while it keeps failing, and is 0 once a copy to it worked.
	 * Other positions go on meanwhile.
	 */
	unsigned long retry_at[BCV_POSITIONS];
	unsigned int backoff[BCV_POSITIONS];	/* ms, 0: none */
	/*
	 * A throttled session's positions: no copy before (jiffies), 0:
	 * none.  Cleared when the session at a position changes
	 * (bcv_copy_fresh()).
	 */
	unsigned long thr_until[BCV_POSITIONS];
	/* bcv_leg.c: I/O errors per position, episodes being reported */
	atomic64_t pos_errors[BCV_POSITIONS];
	unsigned long err_episode;	/* bit p: atomic bitops */
	wait_queue_head_t wait;		/* jobs reaching zero, progress */

	struct delayed_work engine;	/* the copy engine's worker */
	/* bcv_io.c's bcv_kick_deferred(), handed to the engine at init */
	void (*dispatch_deferred)(struct bcv_volume *vol);
	struct dm_kcopyd_client *kc;
	struct dm_kcopyd_throttle throttle; /* .throttle: copy_throttle % */
	/*
	 * Plain-bio copy buffers kept from one job to the next (bcv_copy.c),
	 * chained through page_private; under lock.
	 */
	struct page *copy_bufs;
	unsigned int nr_copy_bufs;

	struct bcv_meta meta;		/* on-disk metadata (bcv_meta.h) */
	/* Bytes of tables counted against bcv.max_table_share; bcv_core.c */
	u64 table_bytes;
};

/*
 * A session as the driver keeps it: the table algebra's part plus what
 * query reports.  Allocated at ESTABLISH, freed at TERMINATE (through its
 * kobject, /sys/block/bcvN/sessions/ID).
 */
struct bcv_session {
	struct bcv_tm_sess tm;		/* must be first */
	struct bcv_volume *std;
	struct bcv_volume *bcv;		/* NULL while the BCV is not assembled */
	u8 bcv_uuid[BCV_FMT_UUID_LEN];	/* the BCV's, kept while it is absent */
	char bcv_name[BCV_NAME_LEN];
	atomic64_t copied;		/* tracks copied since the command */
	atomic64_t errors;		/* copy errors since the command */
	/*
	 * BCV_CMD_PAUSE: the engines copy nothing for the session.  Written
	 * under bcv_lock with both volumes held, read by the engines.
	 */
	bool paused;
	/*
	 * sessions/ID/copy_throttle: percent of the time the session's copies
	 * may run, 1-100 (bcv_copy.c, bcv_job_throttle()).  Written under the
	 * STD's state_lock, read by the engines.
	 */
	unsigned int throttle;
	/* The last SPLIT (seconds since the epoch, 0: none) and how long it
	 * held the STD's writes; under bcv_lock.
	 */
	time64_t split_time;
	u64 split_hold_ns;
	/*
	 * The last RESTORE (for an ABORT of it, bcv_tm_abort()): the STD
	 * positions that held every track when it began, and the STD's I/O
	 * errors then; under bcv_lock, in memory only (after an assembly a
	 * restore cannot be aborted).
	 */
	unsigned int restore_kept;
	u64 restore_errs;
	/*
	 * The split that ends a protected restore (bcv-design.rst section
	 * 12) is owed: set when the session becomes restored (the state
	 * hook) or is assembled so, cleared once it is split or its state
	 * moves on.  bcv_split_due_work() tries it, again whenever the STD's
	 * copy engine goes idle (bcv_session_idle()) or the BCV is linked,
	 * until it happens: nothing carries a stale name of the pair.
	 * @split_why is why the last try was refused (BCV_R_*, 0: none),
	 * with @split_detail; @split_idle says the engine went idle since
	 * that try; @split_stuck that the last try was refused with the
	 * engine idle, so that nothing changes by itself (BCV_IOC_WAIT says
	 * so).  All under the STD's state_lock.
	 */
	bool split_due;
	bool split_idle;
	bool split_stuck;
	u32 split_why;
	u64 split_detail;
	struct kobject kobj;		/* sessions/ID */
	bool kobj_added;
};

/* A volume's geometry lives in its tables (bcv_trackmap.h). */
static inline sector_t bcv_vol_sectors(const struct bcv_volume *vol)
{
	return bcv_tm_sectors(&vol->tm);
}

static inline u64 bcv_vol_tracks(const struct bcv_volume *vol)
{
	return bcv_tm_tracks(&vol->tm);
}

static inline unsigned int bcv_vol_track_shift(const struct bcv_volume *vol)
{
	return bcv_tm_track_shift(&vol->tm);
}

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

/*
 * A volume name: 1..BCV_NAME_LEN-1 characters of [A-Za-z0-9._+-], byte by
 * byte (isalnum() would take Latin-1 letters, which udev folds to '_' in
 * /dev/bcv/NAME), not starting with '.' or '-', NUL-terminated within its
 * array.  Returns 0, -ENAMETOOLONG (no NUL) or -EINVAL.
 */
static inline int bcv_check_name(const char *name)
{
	size_t i, len = strnlen(name, BCV_NAME_LEN);

	if (len == BCV_NAME_LEN)
		return -ENAMETOOLONG;
	if (!len || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

extern struct mutex bcv_lock;
extern int bcv_major;
extern struct list_head bcv_volumes;

/*
 * What a listed volume needs bcv_lock for (its metadata, its tables and
 * sessions outside the I/O path) runs without the lock on a volume that is
 * not listed yet: only the create or assembly that made it can see it.
 * An assembly reads and writes all of its tables that way, so that it
 * holds up no other command (bcv_assemble_cmd()).
 */
static inline void bcv_assert_owner(struct bcv_volume *vol)
{
	lockdep_assert(lockdep_is_held(&bcv_lock) || !READ_ONCE(vol->listed));
}
extern unsigned int bcv_copy_jobs_max;
extern unsigned int bcv_copy_throttle_default;

/* bcv_core.c: volumes.  All may sleep and take bcv_lock. */
struct bcv_volume *__bcv_find(const char *name);
bool __bcv_name_taken(const char *name);
bool __bcv_uuid_taken(const u8 *uuid);
void __bcv_assembling_add(struct bcv_volume *vol);
void __bcv_assembling_del(struct bcv_volume *vol);
int bcv_volume_create(struct bcv_create *c);
void __bcv_volume_unlist(struct bcv_volume *vol);
void bcv_volume_free(struct bcv_volume *vol);
int bcv_volume_list(struct bcv_vol_info __user *vols, u32 info_size,
		    u32 capacity, u32 *count);
int bcv_leg_add(struct bcv_leg_cmd *l);
struct bcv_volume *__bcv_find_uuid(const u8 *uuid);
/* Assembly, in the order bcv_assemble_cmd() calls them (bcv_core.c). */
struct bcv_volume *__bcv_volume_open(const char (*paths)[BCV_PATH_LEN],
				     unsigned int nr);
int __bcv_volume_geometry(struct bcv_volume *vol, sector_t sectors,
			  unsigned int shift, u64 *need, u64 *left);
int __bcv_volume_publish(struct bcv_volume *vol);
void bcv_volume_discard(struct bcv_volume *vol);
int bcv_leg_remove(struct bcv_leg_cmd *l);

/* The bdev behind mirror position @pos of @vol (a leg, or an MM's BCV). */
struct block_device *bcv_pos_bdev(struct bcv_volume *vol, int pos);
/* bcv_leg.c: positions and leg failures (see there). */
unsigned int __bcv_check_legs(struct bcv_volume *vol, unsigned long failed);
void bcv_report_failed(struct bcv_volume *vol, unsigned int newly);
void bcv_fail_leg(struct bcv_volume *vol, int pos, sector_t sector,
		  const char *what);
void bcv_leg_ok(struct bcv_volume *vol, int pos);

/* Recompute the write cache/FUA flags; bcv_lock held, volume held. */
void bcv_update_features(struct bcv_volume *vol);

/* bcv_copy.c: the copy engine. */
/* "1".."100": the number, else -EINVAL (not a number) or -ERANGE. */
int bcv_parse_percent(const char *buf);
int bcv_engine_init(struct bcv_volume *vol,
		    void (*dispatch_deferred)(struct bcv_volume *vol));
void bcv_engine_exit(struct bcv_volume *vol);
int bcv_copy_init(void);
void bcv_copy_exit(void);
void bcv_engine_kick(struct bcv_volume *vol);
/* __bcv_fill_request(): what became of a write that waits for a copy. */
enum bcv_fill {
	BCV_FILL_QUEUED,	/* the copy is asked for: the write waits for it */
	BCV_FILL_PAUSED,	/* the session is paused: it waits for RESUME */
	BCV_FILL_FAILED,	/* no copy can run: the write fails */
};

enum bcv_fill __bcv_fill_request(struct bcv_volume *vol, u64 t);
void bcv_copy_throttle_changed(struct bcv_volume *vol);
void bcv_copy_fresh(struct bcv_volume *vol, unsigned int pos);
bool bcv_catch_up(struct bcv_volume *vol, int pos, unsigned long timeout);
unsigned int bcv_copy_blocked(struct bcv_volume *vol, int pos);

/* bcv_session.c: commands, query, wait, sessions in sysfs.  Sleep. */
int bcv_session_cmd(struct bcv_session_cmd *c);
/* The STD's copy engine found nothing to copy: owed splits go again. */
void bcv_session_idle(struct bcv_volume *std);
int bcv_session_init(void);
void bcv_session_exit(void);

/* bcv_event.c: uevents for state changes and errors */
int bcv_event_init(void);
void bcv_event_exit(void);
void bcv_event_state(struct bcv_volume *std, unsigned int id, const char *bcv,
		     const char *from, const char *to);
void bcv_event_error(struct bcv_volume *vol, int pos, sector_t sector,
		     const char *what);
int bcv_session_query(const char *name, struct bcv_sess_info __user *out,
		      u32 info_size, u32 capacity, u32 *count);
int bcv_session_wait(struct bcv_wait *w);
int bcv_session_split_group(struct bcv_split_group *g,
			    const struct bcv_pair *pairs);
void bcv_link_work(struct work_struct *work);
/* Tell waiters that a session's state changed (any context but hardirq). */
void bcv_state_changed(void);
/* BCV_IOC_REMOVE: end split sessions if asked, then remove.  Sleeps. */
int bcv_remove_cmd(const char *name, unsigned int flags);
/* BCV_IOC_STOP and BCV_IOC_ASSEMBLE (bcv_session.c).  Sleep. */
int bcv_stop_cmd(const char *name);
int bcv_assemble_cmd(struct bcv_assemble *a);

/* bcv_stack.c: refuse stacking loops. */
int bcv_stack_check(dev_t dev);

/* bcv_ioctl.c: the control device /dev/bcvctl. */
int bcv_ctl_init(void);
void bcv_ctl_exit(void);

/*
 * bcv_sysfs.c: attribute groups for the volume's gendisk, and the
 * directories beside them: sessions/ (its entries are bcv_session.c's) and
 * legs/Mn/.  Context: may sleep; caller holds bcv_lock, not leg_lock.
 */
extern const struct attribute_group *bcv_disk_groups[];
int bcv_volume_sysfs_init(struct bcv_volume *vol);
void bcv_volume_sysfs_exit(struct bcv_volume *vol);
int bcv_legs_sysfs_update(struct bcv_volume *vol);

#endif /* BCV_CORE_H */
