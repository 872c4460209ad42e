/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: on-disk metadata (Documentation/bcv-format.rst; the format in C is
 * include/uapi/linux/bcv_format.h).  The only code in the module that
 * reads or writes the format, as dm-clone-metadata.c is for dm-clone.
 *
 * What is written when
 * --------------------
 *  - create:    every leg gets its tables, an empty activity log, then a
 *               superblock "not clean".
 *  - assembly:  the superblocks and the tables (the union of every current
 *               leg's) are read; after an unclean stop the activity log's
 *               regions are added to the tables (bcv_tm_recover_regions());
 *               the tables and a superblock "not clean" are written before
 *               the volume takes its first I/O.
 *  - host I/O:  write intent (below), by the metadata worker.
 *  - a command: with both volumes held and every position flushed (an
 *               attached BCV's too), the tables' new C/I bits, then both
 *               superblocks (events + 1; the one that makes the BCV usable
 *               to its users last), then the tables' new U/V bits
 *               (bcv_meta_commit()).
 *  - stop:      with the volume held and every position flushed: the
 *               tables exactly, an empty activity log, then the superblock
 *               "clean" (FUA).  A BCV holds its STD meanwhile.  A stop
 *               that fails leaves the volume running with write intent.
 *  - superblocks: each leg alternates between its two copies, never
 *               writing over its newest valid one (bcv_meta.sb_copy); a
 *               new leg's copies are erased first.
 *  - failures: a position whose flush fails goes stale; a leg that misses
 *               a table write another leg took is failed.  Before I bits
 *               go to disk that would leave a track held by no position
 *               there while one holds it in the tables, that one's cache
 *               is flushed and its V bit written (bcv_meta_vouch()).
 *  - remove:    both superblock copies zeroed.
 *
 * Write intent (the crash rule, bcv-design.rst section 10; Documentation/bcv-format.rst, "Crash
 * consistency").  dur[] is the tables as they are on disk, word for word.
 * While the volume runs, dur is a superset of every C/I mark the data on
 * the legs depends on:
 *  - before a host write is sent, bcv_meta_write_check() looks in dur for
 *    its marks: PB C of every session column (STD), M4b I (BCV), I at
 *    every data position the write does not reach, and the activity-log
 *    bit of its region if it goes to more than one position.  If one is
 *    missing, the write waits: the worker writes the dirty 4 KiB blocks
 *    (dur | marks) to every leg with FUA, updates dur and sends it.  A
 *    later write finding its marks in dur costs no metadata I/O; one
 *    finding them queued waits for the same commit.
 *  - a write that failed somewhere makes its new I bits durable before the
 *    host hears of it (__bcv_meta_error_marks()).
 *  - U/V bits (copies done, idle regions) reach the disk lazily, every
 *    BCV_META_CKPT_SECS s, in a checkpoint: the positions are flushed
 *    first, so a V on disk never vouches for data still in a cache.
 *
 * Locking: bcv_meta.lock (a mutex) serialises all metadata writes of one
 * volume (the worker, commands, stop); writers sleep.  bcv_meta.wlock (a
 * spinlock, irq-safe; taken inside bcv_volume.lock) protects dur[], the
 * activity log bits and the open batch, so that the I/O path can look
 * at them from any context.  The common writes look without it: bits
 * that only commands clear (PB C, M4b I; a command holds the volume, so
 * no write is in flight) are read directly, and a mirrored write reads
 * its activity-log bit under al_seq, which a checkpoint makes odd while
 * it retires regions (bcv_meta_write_check()).
 */
#ifndef BCV_META_H
#define BCV_META_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/seqlock.h>
#include <linux/workqueue.h>
#include "uapi/linux/bcv_format.h"

struct bcv_volume;
struct block_device;

#define BCV_META_AL		(BCV_FMT_POSITIONS + 1)	/* after BCV_TM_PB */
#define BCV_META_TABLES		(BCV_META_AL + 1)
#define BCV_META_MARKS		64	/* marks per batch */
#define BCV_META_STAGE		16	/* 4 KiB blocks per write round */
#define BCV_META_CKPT_SECS	5

/*
 * Someone waiting for a commit (a host write).  @fn is called from the
 * worker (process context) with 0 (the marks are on disk), -EAGAIN (the
 * batch was full: check again) or an I/O error.
 */
struct bcv_meta_waiter {
	struct list_head node;
	void (*fn)(struct bcv_meta_waiter *w, int err);
};

/* A mark to make durable: see bcv_meta.c. */
struct bcv_meta_mark {
	u8 kind;
	u8 table;
	u8 targets;			/* BCV_MARK_OTHER: the write's positions */
	u64 first, last;		/* tracks, or regions for the AL */
};

struct bcv_meta_batch {
	struct bcv_meta_mark marks[BCV_META_MARKS];
	unsigned int nr;
	struct list_head waiters;
};

/* A 4 KiB block of a table being written. */
struct bcv_meta_stage {
	int table;			/* -1: free */
	u64 block;
	unsigned long *w;		/* the new words (a page) */
	void *buf;			/* little-endian image (a page) */
};

/* A BCV's session as its own superblock tells it (bcv_sb.link). */
struct bcv_meta_link {
	bool used;
	u8 std_uuid[BCV_FMT_UUID_LEN];
	char std_name[BCV_FMT_NAME_LEN];
	unsigned int id;
	unsigned int state;		/* BCV_STATE_* */
};

/* What a volume knows of its metadata; part of struct bcv_volume. */
struct bcv_meta {
	struct mutex lock;		/* serialises writes; protects below */
	u8 uuid[BCV_FMT_UUID_LEN];
	u8 leg_uuid[BCV_FMT_LEGS][BCV_FMT_UUID_LEN];	/* by position */
	struct bcv_fmt_layout layout[BCV_FMT_LEGS];	/* by position */
	u64 events;
	u64 seq;
	/*
	 * Per leg (by position), the superblock copy that holds its newest
	 * valid superblock: the next write goes to the other one, and a
	 * write that fails leaves this one the newest, so the next write
	 * goes to the failed (maybe torn) copy again, never over this one.
	 */
	u8 sb_copy[BCV_FMT_LEGS];
	/*
	 * Legs (by position) that missed a table write another leg took:
	 * their tables are written again whole from dur.  Under lock.
	 */
	unsigned int rewrite;
	/* Legs the last superblock written flagged failed.  Under lock. */
	unsigned int sb_failed;
	/*
	 * Positions whose flush failed in the command commit under way
	 * (bcv_meta_commit_many()); under bcv_lock, which serialises them.
	 */
	unsigned int commit_bad;
	u64 ctime;
	bool clean;			/* last written state */
	unsigned int syncing;		/* legs written as SYNCING (bit p) */
	bool recovered;			/* assembled after an unclean stop */
	/*
	 * BCV: its session while its STD is not assembled (the tables hold
	 * it once linked).  Changed under bcv_lock.
	 */
	struct bcv_meta_link link;
	bool dead;			/* stopped/removed: work does nothing */
	struct work_struct work;	/* bcv_meta_schedule() */

	/* Write intent, see above. */
	spinlock_t wlock;		/* protects dur, al, open */
	/*
	 * Odd while a checkpoint retires activity-log regions (under
	 * wlock): a mirrored write checks its region's bit without wlock
	 * and takes it only if the count moved (bcv_meta_write_check()).
	 */
	seqcount_t al_seq;
	bool running;			/* dur is set up: the I/O path uses it */
	bool intent;			/* write intent on (bcv.write_intent) */
	unsigned long *dur[BCV_META_TABLES]; /* on-disk image; al = dur[AL] */
	u64 words[BCV_META_TABLES];	/* their lengths in words */
	unsigned long *touched;		/* AL regions written since a pass */
	unsigned long *retiring;	/* worker: AL regions a checkpoint retires */
	u64 regions;			/* AL regions */
	unsigned int al_shift;		/* log2 tracks per AL region */
	struct bcv_meta_batch open;	/* marks waiting for the worker */
	struct bcv_meta_batch busy;	/* worker: the batch it writes */
	struct list_head retry;		/* waiters the full batch left out */
	struct work_struct io_work;	/* commits and checkpoints */
	struct delayed_work ckpt_work;	/* arms a checkpoint */
	bool ckpt_due;			/* worker: run a checkpoint */
	bool copied;			/* copies done since the last checkpoint */
	struct bcv_meta_stage stage[BCV_META_STAGE]; /* worker, under lock */
	u64 recovered_tracks;		/* tracks recovery marked */
	atomic64_t writes;		/* metadata blocks written */
};

/* A superblock read from one device, checked. */
struct bcv_meta_sb {
	struct bcv_sb *sb;		/* the valid copy (kmalloc'ed) */
	int copy;			/* which copy, 0 or 1 */
	int bad;			/* copies found damaged (bit c) */
};

/**
 * bcv_meta_layout() - the layout of @bdev for tracks of 2^@shift bytes
 * @bdev: a leg
 * @shift: track shift
 * @l: out: the layout
 *
 * Context: any.
 * Return: 0, or -ENOSPC if the device is too small for metadata and data.
 */
int bcv_meta_layout(struct block_device *bdev, unsigned int shift,
		    struct bcv_fmt_layout *l);

/**
 * bcv_meta_init() - set up @vol->meta (lock, work)
 * @vol: a volume being created or assembled
 *
 * Context: any.
 */
void bcv_meta_init(struct bcv_volume *vol);

/**
 * bcv_meta_create() - write new metadata to every leg of a new volume
 * @vol: the volume, its legs open, its tables initialised, not listed
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or the error of a write (nothing is cleaned up).
 */
int bcv_meta_create(struct bcv_volume *vol);

/**
 * bcv_meta_read_sb() - read and check the superblock of @bdev
 * @bdev: an open device
 * @out: out: the valid copy with the higher seq
 *
 * Context: may sleep.
 * Return: 0, -ENODATA (no valid copy), -ENOMEM or an I/O error.
 */
int bcv_meta_read_sb(struct block_device *bdev, struct bcv_meta_sb *out);

/**
 * bcv_meta_load_tables() - read the tables of @vol from the leg at @pos
 * @vol: a volume being assembled: legs open, tables allocated, its
 *	sessions loaded (bcv_tm_sess_load()), not listed
 * @pos: the leg to read
 * @merge: OR its C/I bits into what is loaded (the union of the legs)
 *
 * Also ORs the leg's activity log into the durable image's (bcv_meta_alloc()
 * first).
 *
 * Context: may sleep; the caller owns @vol (bcv_assert_owner(): an
 * assembly, without bcv_lock).
 * Return: 0 or an error.
 */
int bcv_meta_load_tables(struct bcv_volume *vol, int pos, bool merge);

/**
 * bcv_meta_write_sb() - write the superblock of @vol to every leg
 * @vol: a volume (held or not: the superblock says nothing about data
 *	the tables would have to vouch for)
 * @clean: BCV_SB_F_CLEAN (only from bcv_meta_stop())
 *
 * events + 1, seq + 1 (the other copy), PREFLUSH|FUA.  A failed leg is
 * skipped; a leg whose write fails is reported and will look stale.
 *
 * Context: may sleep; bcv_lock held (sessions stable), or the caller owns
 * @vol (an assembly, bcv_assert_owner()).
 * Return: 0 if at least one leg took it, else an error.
 */
int bcv_meta_write_sb(struct bcv_volume *vol, bool clean);

/**
 * bcv_meta_mm_moved() - an MM moved out of a new leg's way
 *	(bcv_tm_mm_move()): its table at @to on every leg, then the superblock
 * @vol: a held STD
 * @from: where the MM was
 * @to: where it is now
 *
 * Every position is flushed first; the table at @from is not written (a
 * crash before the superblock finds the MM there as it was).
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0, -EIO if a flush failed, or a write's error.
 */
int bcv_meta_mm_moved(struct bcv_volume *vol, int from, int to);

/**
 * bcv_meta_leg_added() - metadata for the new leg at @pos
 * @vol: a held volume
 * @pos: the new leg, its layout and UUID set
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or an error.
 */
int bcv_meta_leg_added(struct bcv_volume *vol, int pos);

/**
 * bcv_meta_stop() - tables and a clean superblock to every leg
 * @vol: a held volume (no I/O, no copy in flight)
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or an error (the volume then stays "not clean" on disk).
 */
int bcv_meta_stop(struct bcv_volume *vol);

/**
 * bcv_meta_wipe() - erase both superblock copies on every leg
 * @vol: a volume being removed
 *
 * Context: may sleep.
 */
void bcv_meta_wipe(struct bcv_volume *vol);

/**
 * bcv_meta_wipe_leg() - erase both superblock copies on one device
 * @bdev: the device (a leg being removed)
 *
 * Context: may sleep.
 */
void bcv_meta_wipe_leg(struct block_device *bdev);

/**
 * bcv_meta_schedule() - write the superblock soon (a state change of the
 *	copy engine, a leg failure)
 * @vol: the volume
 *
 * Context: any.
 */
void bcv_meta_schedule(struct bcv_volume *vol);

/**
 * bcv_meta_synced() - the copy engine is idle: if a leg that the
 *	superblocks call syncing is whole now, say so (bcv_meta_schedule())
 * @vol: the volume
 *
 * Context: process (the engine's worker); no lock needed.
 */
void bcv_meta_synced(struct bcv_volume *vol);

/**
 * bcv_meta_alloc() - the durable image of @vol's tables
 * @vol: a volume whose tables are set up (create, assembly)
 *
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int bcv_meta_alloc(struct bcv_volume *vol);

/**
 * bcv_meta_alloc_bytes() - what bcv_meta_alloc() allocates for a volume
 * @tracks: its tracks
 * @shift: its track shift
 * @is_std: a STD (with a PB table)
 *
 * Context: any.
 * Return: bytes.
 */
u64 bcv_meta_alloc_bytes(u64 tracks, unsigned int shift, bool is_std);

/**
 * bcv_meta_write_check() - may a host write go to the legs now?
 * @vol: the volume
 * @first: first track it covers
 * @last: last track
 * @targets: positions it goes to (bit p)
 * @w: the waiter to queue if not
 *
 * The write was marked in the tables (bcv_tm_write()).
 *
 * Context: any; no lock held.
 * Return: true if its marks are durable; else false, and @w->fn will be
 * called once they are.
 */
bool bcv_meta_write_check(struct bcv_volume *vol, u64 first, u64 last,
			  unsigned int targets, struct bcv_meta_waiter *w);

/**
 * __bcv_meta_error_marks() - make a failed write's I bits durable
 * @vol: the volume
 * @pos: positions that became I for tracks [@first, @last] (in the tables)
 * @whole: positions that became I everywhere (a failed flush)
 * @first: first track
 * @last: last track
 * @w: the waiter to queue
 *
 * Context: any; caller holds vol->lock.
 * Return: true if @w was queued (the host must wait for @w->fn; with
 * -EAGAIN it calls this again).
 */
bool __bcv_meta_error_marks(struct bcv_volume *vol, unsigned int pos,
			    unsigned int whole, u64 first, u64 last,
			    struct bcv_meta_waiter *w);

/**
 * bcv_meta_copied() - the copy engine marked tracks V: a checkpoint will
 *	write them
 * @vol: the volume
 *
 * Context: any.
 */
void bcv_meta_copied(struct bcv_volume *vol);

/**
 * bcv_meta_commit() - write what a command changed: new C/I bits of both
 *	volumes' tables, then their superblocks, then their U/V bits
 * @a: a held volume, whose superblock is written first
 * @b: the other held volume, or NULL
 *
 * Every position of both is flushed first (the BCVs attached to a STD
 * included); one whose flush fails goes stale, and its volume's U/V bits
 * wait for a later commit or checkpoint.
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or the first error.
 */
int bcv_meta_commit(struct bcv_volume *a, struct bcv_volume *b);

/**
 * bcv_meta_commit_many() - bcv_meta_commit() of several held volumes as
 *	one: every position of every one flushed, then every one's new C/I
 *	bits, then their superblocks in the order of @v, then their U/V bits
 * @v: distinct held volumes (a consistent split: the STDs first, so that
 *	each STD's superblock, which records all its sessions, switches
 *	every pair of the group on it at once; then the BCVs)
 * @n: how many, at least 1
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or the first error.
 */
int bcv_meta_commit_many(struct bcv_volume **v, unsigned int n);

/*
 * bcv_meta_commit_many() in steps, for a caller that writes the
 * superblocks itself in between (bcv_meta_write_sb()): _begin() flushes
 * every position of @v and writes their new C/I bits, _end() their U/V
 * bits.  Context: may sleep; bcv_lock held, every volume of @v held.
 * Return: 0 or the first error.
 */
int bcv_meta_commit_begin(struct bcv_volume **v, unsigned int n);
int bcv_meta_commit_end(struct bcv_volume **v, unsigned int n);

/**
 * bcv_meta_recover() - make the loaded tables whole: stale legs, and after
 *	an unclean stop the crash rule (bcv_tm_assemble())
 * @vol: a volume being assembled, its tables and activity log loaded
 *	(the union of the legs'), its sessions loaded
 * @stale: own legs that missed changes (bit p)
 * @clean: the freshest superblock says stopped cleanly
 * @intent: it was written with write intent
 *
 * Context: may sleep (a resched point every 65536 tracks); the caller owns
 * @vol (bcv_assert_owner()).
 * Return: the tracks whose marks recovery added.
 */
u64 bcv_meta_recover(struct bcv_volume *vol, unsigned int stale, bool clean,
		     bool intent);

/**
 * bcv_meta_rewrite() - write all tables and an empty activity log to every
 *	leg that has not failed; the durable image is then the tables
 * @vol: a volume being assembled (no I/O yet)
 *
 * Context: may sleep; the caller owns @vol (bcv_assert_owner()).
 * Return: 0 or an error.
 */
int bcv_meta_rewrite(struct bcv_volume *vol);

int bcv_meta_module_init(void);
void bcv_meta_module_exit(void);

/**
 * bcv_meta_start() - the I/O path and the worker use the metadata now
 * @vol: a volume just published (its region gate set up)
 *
 * Context: any.
 */
void bcv_meta_start(struct bcv_volume *vol);

/**
 * bcv_meta_barrier() - wait for a metadata round of @vol in progress
 * @vol: the volume
 *
 * A checkpoint flushes the devices of attached BCVs; a caller that takes
 * one away (stop of a BCV) waits for it after the unlink.
 *
 * Context: may sleep.
 */
void bcv_meta_barrier(struct bcv_volume *vol);

/**
 * bcv_meta_exit() - no more superblock writes: wait for a scheduled one
 * @vol: a volume off the list
 *
 * Context: may sleep; bcv_lock NOT held (the work takes it).
 */
void bcv_meta_exit(struct bcv_volume *vol);

#endif /* BCV_META_H */
