// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: track geometry.  See bcv_trackmap.h; pure code shared with the
 * userspace unit tests.
 */
#include "bcv_trackmap.h"
#include "uapi/linux/bcv.h"

u64 bcv_tracks(u64 sectors, unsigned int track_shift)
{
	unsigned int s = track_shift - BCV_SECTOR_SHIFT;

	return (sectors + (1ULL << s) - 1) >> s;
}

u64 bcv_cylinders(u64 tracks)
{
	return (tracks + BCV_TRACKS_PER_CYL - 1) / BCV_TRACKS_PER_CYL;
}

void bcv_track_range(u64 sector, u64 nr_sectors, unsigned int track_shift,
		     u64 *first, u64 *last)
{
	unsigned int s = track_shift - BCV_SECTOR_SHIFT;

	*first = sector >> s;
	*last = nr_sectors ? (sector + nr_sectors - 1) >> s : *first;
}

int bcv_track_shift(u32 track_size, u32 min_size)
{
	int shift = 0;

	if (!track_size || (track_size & (track_size - 1)))
		return -1;
	if (track_size < min_size || track_size < (1U << BCV_SECTOR_SHIFT) ||
	    track_size > BCV_TRACK_SIZE_MAX)
		return -1;
	while ((1U << shift) < track_size)
		shift++;
	return shift;
}
