// SPDX-License-Identifier: GPL-2.0
/* 6.9+: blk_alloc_disk(struct queue_limits *, node) returns an ERR_PTR. */
#include <linux/blkdev.h>
struct gendisk *bcv_probe(struct queue_limits *lim);
struct gendisk *bcv_probe(struct queue_limits *lim)
{
	return blk_alloc_disk(lim, NUMA_NO_NODE);
}
