// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: what sits at a volume's mirror positions, and leg failures in one
 * place.
 *
 * Every I/O error of a position (an own leg, or on a STD an attached BCV)
 * that the I/O path or the copy engine sees goes through bcv_fail_leg():
 * it counts the error (sysfs leg_errors), logs the first one of an
 * episode (until a copy to the position works again) with device and
 * sector, and marks an own leg failed when its device is gone or became
 * smaller than the volume.  The tables' side of an error (which tracks go
 * stale) is the caller's, through the table code.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/bitops.h>

#include "bcv_core.h"

/**
 * bcv_pos_bdev() - the block device at mirror position @pos of @vol
 * @vol: the volume
 * @pos: a position that holds data: an own leg, or on a STD an MM
 *
 * Context: any; the positions are stable (a bio or job in flight, or the
 * caller holds the volume).
 * Return: the leg's device, or the attached BCV's primary leg's; NULL
 * for a BCV that is not assembled (bcv_tm_pos_absent()).
 */
struct block_device *bcv_pos_bdev(struct bcv_volume *vol, int pos)
{
	struct bcv_tm_sess *s;

	struct bcv_volume *bcv;

	if (bcv_tm_pos_role(&vol->tm, pos) == BCV_POS_LEG)
		return bcv_leg_bdev(vol, pos);
	s = bcv_tm_mm_session(&vol->tm, pos);
	/* An absent BCV's position is never read nor written. */
	bcv = s ? bcv_tm_session_of(s)->bcv : NULL;
	return bcv ? bcv_leg_bdev(bcv, 0) : NULL;
}

/*
 * Own leg @p failed an I/O: if its device is gone or now smaller than the
 * volume, no retry can help, so the leg is marked failed (bcv_tm_leg_fail():
 * no more I/O nor copies to it) until it is removed.
 */
static bool __bcv_check_leg(struct bcv_volume *vol, int p)
{
	struct block_device *bdev = bcv_leg_bdev(vol, p);
	struct gendisk *disk = bdev->bd_disk;

	if (bcv_tm_failed_legs(&vol->tm) & (1U << p))
		return false;
	if (disk_live(disk) && !test_bit(GD_DEAD, &disk->state) &&
	    bdev_nr_sectors(bdev) >= bcv_vol_sectors(vol))
		return false;
	bcv_tm_leg_fail(&vol->tm, p);
	return true;
}

/**
 * __bcv_check_legs() - mark failed the legs among @failed that are gone
 * @vol: the volume
 * @failed: positions whose I/O failed (bit p)
 *
 * Context: any; caller holds vol->lock (bcv_tm_leg_fail() marks tables).
 * Return: the positions marked failed now, for bcv_report_failed().
 */
unsigned int __bcv_check_legs(struct bcv_volume *vol, unsigned long failed)
{
	unsigned int p, newly = 0;

	lockdep_assert_held(&vol->lock);
	failed &= (1U << vol->nr_legs) - 1;
	for_each_set_bit(p, &failed, BCV_POSITIONS)
		if (__bcv_check_leg(vol, p))
			newly |= 1U << p;
	return newly;
}

/**
 * bcv_report_failed() - log the legs __bcv_check_legs() marked failed
 * @vol: the volume
 * @newly: its return value
 *
 * Context: any; no lock held.
 */
void bcv_report_failed(struct bcv_volume *vol, unsigned int newly)
{
	unsigned int p;

	/* The others' superblocks record it: it is stale if it comes back. */
	if (newly)
		bcv_meta_schedule(vol);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (newly & (1U << p))
			pr_err("%s: %s: leg M%u (%pg) is gone or smaller than the volume: marked failed, no more I/O to it; remove it with bcvctl remove-leg %s M%u\n",
			       vol->disk->disk_name, vol->name, p + 1,
			       bcv_leg_bdev(vol, p), vol->name, p + 1);
}

/**
 * bcv_fail_leg() - count and report an I/O error of a position
 * @vol: the volume
 * @pos: the position, or BCV_NO_POS when no position holds the data
 * @sector: where (512-byte sectors of the volume)
 * @what: what failed, e.g. "write", "read", "copy write"
 *
 * The first error of an episode is logged (ratelimited), the next ones
 * only counted, until bcv_leg_ok() ends the episode.
 *
 * Context: any; no lock needed.
 */
void bcv_fail_leg(struct bcv_volume *vol, int pos, sector_t sector,
		  const char *what)
{
	if (pos == BCV_NO_POS) {
		pr_err_ratelimited("%s: %s: %s at sector %llu failed: no leg holds the data\n",
				   vol->disk->disk_name, vol->name, what,
				   (unsigned long long)sector);
		return;
	}
	atomic64_inc(&vol->pos_errors[pos]);
	if (test_and_set_bit(pos, &vol->err_episode))
		return;
	bcv_event_error(vol, pos, sector, what);
	pr_err_ratelimited("%s: %s: %s error on %pg (M%d) at sector %llu\n",
			   vol->disk->disk_name, vol->name, what,
			   bcv_pos_bdev(vol, pos), pos + 1,
			   (unsigned long long)sector);
}

/**
 * bcv_leg_ok() - position @pos works again: its error episode ends
 * @vol: the volume
 * @pos: the position
 *
 * Context: any.
 */
void bcv_leg_ok(struct bcv_volume *vol, int pos)
{
	if (test_bit(pos, &vol->err_episode))
		clear_bit(pos, &vol->err_episode);
}
