/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: track geometry and (later) the Track ID and PB tables.
 *
 * Pure code: no kernel-only calls, so that bcv_trackmap.c builds both into
 * the module and into the userspace unit tests (tests/unit/).  Nothing here
 * sleeps or takes a lock.
 *
 * A volume is cut into tracks of 2^track_shift bytes (the unit of change
 * tracking and copying); the last track may be partial.  Tracks are grouped
 * into cylinders of BCV_TRACKS_PER_CYL (15) tracks, the unit in which the
 * PB table is organised.
 */
#ifndef BCV_TRACKMAP_H
#define BCV_TRACKMAP_H

#ifdef __KERNEL__
#include <linux/types.h>
#else /* userspace unit tests: the kernel's type names */
#include <stdint.h>
#include <stdbool.h>
typedef uint64_t u64;
typedef uint32_t u32;
#endif

#define BCV_SECTOR_SHIFT	9

/* Number of tracks covering @sectors 512-byte sectors (last one partial). */
u64 bcv_tracks(u64 sectors, unsigned int track_shift);

/* Number of cylinders covering @tracks tracks (last one partial). */
u64 bcv_cylinders(u64 tracks);

/* First and last track touched by [@sector, @sector + @nr_sectors). */
void bcv_track_range(u64 sector, u64 nr_sectors, unsigned int track_shift,
		     u64 *first, u64 *last);

/*
 * log2 of @track_size if it is a valid track size (a power of two within
 * [@min_size, BCV_TRACK_SIZE_MAX]), else -1.
 */
int bcv_track_shift(u32 track_size, u32 min_size);

#endif /* BCV_TRACKMAP_H */
