// SPDX-License-Identifier: GPL-2.0
/* 6.11+: write cache and FUA are queue_limits features. */
#include <linux/blkdev.h>
unsigned int bcv_probe(struct queue_limits *lim);
unsigned int bcv_probe(struct queue_limits *lim)
{
	return (__force unsigned int)(lim->features & (BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA));
}
