// SPDX-License-Identifier: GPL-2.0
/* 6.5+: ->open(struct gendisk *, blk_mode_t) and ->release(struct gendisk *). */
#include <linux/blkdev.h>
static int bcv_probe_open(struct gendisk *disk, blk_mode_t mode) { return 0; }
static void bcv_probe_release(struct gendisk *disk) { }
const struct block_device_operations bcv_probe_fops = {
	.open = bcv_probe_open,
	.release = bcv_probe_release,
};
