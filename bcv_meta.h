/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: on-disk metadata (Documentation/bcv-format.rst; the format in C is
 * include/uapi/linux/bcv_format.h).  The only code in the module that
 * reads or writes the format, as dm-clone-metadata.c is for dm-clone.
 *
 * What is written when
 * --------------------
 *  - create:    every leg gets empty tables, then a superblock "not clean".
 *  - assembly:  the superblocks and the tables are read; the superblock is
 *               written "not clean" (events + 1) before the volume takes
 *               its first I/O.
 *  - a command: the superblocks of the STD and the BCV (sessions, states)
 *               are written while both volumes are still held, before the
 *               changed volume takes I/O again; the copy engine's state
 *               changes and leg failures are written by a work item.
 *  - stop:      with the volume held and its legs flushed: the tables, a
 *               flush, then the superblock "clean" (FUA).
 *  - remove:    both superblock copies zeroed.
 * Until issue 12's write-intent marks, a volume that was not stopped
 * cleanly is recovered by bcv_tm_recover(): full copies, never a wrong
 * table.
 *
 * Locking: bcv_meta.lock (a mutex) serialises superblock writes of one
 * volume and protects the fields below it; writers sleep.
 */
#ifndef BCV_META_H
#define BCV_META_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include "uapi/linux/bcv_format.h"

struct bcv_volume;
struct block_device;

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
 *
 * Context: may sleep; bcv_lock held.
 * Return: 0 or an error.
 */
int bcv_meta_load_tables(struct bcv_volume *vol, int pos);

/**
 * bcv_meta_write_sb() - write the superblock of @vol to every leg
 * @vol: a volume (held or not: the superblock says nothing about data
 *	the tables would have to vouch for)
 * @clean: BCV_SB_F_CLEAN (only from bcv_meta_stop())
 *
 * events + 1, seq + 1 (the other copy), PREFLUSH|FUA.  A failed leg is
 * skipped; a leg whose write fails is reported and will look stale.
 *
 * Context: may sleep; bcv_lock held (sessions stable).
 * Return: 0 if at least one leg took it, else an error.
 */
int bcv_meta_write_sb(struct bcv_volume *vol, bool clean);

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
 * bcv_meta_exit() - no more superblock writes: wait for a scheduled one
 * @vol: a volume off the list
 *
 * Context: may sleep; bcv_lock NOT held (the work takes it).
 */
void bcv_meta_exit(struct bcv_volume *vol);

#endif /* BCV_META_H */
