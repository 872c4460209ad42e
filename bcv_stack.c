// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: refuse stacking loops.
 *
 * A leg of a volume, or a BCV's device, must not be a bcv volume nor sit
 * on one: a volume over a loop device over /dev/bcv0, a dm or md device
 * over a volume, a partition of such a device.  With such a leg, a write
 * to one volume becomes a write to another, and a volume that reaches
 * itself this way loops for ever.
 *
 * The block layer keeps no list a module may walk of what a device sits
 * on, but publishes it in sysfs: "slaves/" of a dm or md device (links made
 * by bd_link_disk_holder()), "loop/backing_file" of a loop device, and the
 * parent directory of a partition.  So the walk reads
 * /sys/dev/block/MAJ:MIN/ like lsblk does, depth first, at most
 * BCV_STACK_DEPTH devices deep (deeper counts as a loop).  Where sysfs
 * cannot be read (not mounted in the caller's namespace) the walk sees
 * nothing below the device and lets it pass.
 *
 * Process context only (ioctls): it opens and reads files.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/kdev_t.h>
#include <linux/blkdev.h>

#include "bcv_core.h"

#define BCV_STACK_DEPTH		16
#define BCV_STACK_FANOUT	64	/* slaves/ entries looked at per device */

struct bcv_slaves {
	struct dir_context ctx;
	char names[BCV_STACK_FANOUT][BDEVNAME_SIZE];
	unsigned int n;
};

static bool bcv_slave_actor(struct dir_context *ctx, const char *name,
			    int len, loff_t off, u64 ino, unsigned int type)
{
	struct bcv_slaves *s = container_of(ctx, struct bcv_slaves, ctx);

	if (name[0] == '.' || len >= BDEVNAME_SIZE)
		return true;
	if (s->n == BCV_STACK_FANOUT)
		return false;
	memcpy(s->names[s->n], name, len);
	s->names[s->n][len] = '\0';
	s->n++;
	return true;
}

/* Read the first line of @path into @buf (NUL-terminated).  Sleeps. */
static int bcv_read_line(const char *path, char *buf, size_t len)
{
	struct file *f = filp_open(path, O_RDONLY, 0);
	loff_t pos = 0;
	ssize_t n;

	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, len - 1, &pos);
	fput(f);
	if (n < 0)
		return n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "MAJ:MIN" in the file @path to a dev_t; 0 if unreadable. */
static dev_t bcv_read_dev(const char *path)
{
	unsigned int maj, min;
	char buf[32];

	if (bcv_read_line(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return 0;
	return MKDEV(maj, min);
}

static int bcv_stack_walk(dev_t dev, int major, unsigned int depth,
			  char *path);

/* The devices listed in @dir (a slaves/ directory), each walked. */
static int bcv_stack_slaves(const char *dir, int major, unsigned int depth,
			    char *path)
{
	struct bcv_slaves *s;
	struct file *f;
	unsigned int i;
	int ret;

	f = filp_open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(f))
		return 0;	/* no slaves/: a device over nothing */
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s) {
		fput(f);
		return -ENOMEM;
	}
	s->ctx.actor = bcv_slave_actor;
	ret = iterate_dir(f, &s->ctx);
	fput(f);
	for (i = 0; !ret && i < s->n; i++) {
		dev_t d;

		snprintf(path, PATH_MAX, "/sys/class/block/%s/dev", s->names[i]);
		d = bcv_read_dev(path);
		if (d)
			ret = bcv_stack_walk(d, major, depth + 1, path);
	}
	kfree(s);
	return ret;
}

/*
 * -ELOOP if @dev is a device of block major @major or sits on one, 0 if
 * not (as far as sysfs tells), another errno on failure.  @path is a
 * PATH_MAX scratch buffer.
 */
static int bcv_stack_walk(dev_t dev, int major, unsigned int depth,
			  char *path)
{
	char node[24];
	dev_t d;
	int ret;

	if (MAJOR(dev) == major || depth > BCV_STACK_DEPTH)
		return -ELOOP;
	snprintf(node, sizeof(node), "%u:%u", MAJOR(dev), MINOR(dev));

	/* A partition: what its disk sits on. */
	snprintf(path, PATH_MAX, "/sys/dev/block/%s/partition", node);
	if (!bcv_read_line(path, path, PATH_MAX)) {
		snprintf(path, PATH_MAX, "/sys/dev/block/%s/../dev", node);
		d = bcv_read_dev(path);
		if (d && d != dev)
			return bcv_stack_walk(d, major, depth + 1, path);
		return 0;
	}

	/* A loop device: its backing file, if that is a block device. */
	snprintf(path, PATH_MAX, "/sys/dev/block/%s/loop/backing_file", node);
	if (!bcv_read_line(path, path, PATH_MAX) && path[0] == '/' &&
	    !lookup_bdev(path, &d)) {
		ret = bcv_stack_walk(d, major, depth + 1, path);
		if (ret)
			return ret;
	}

	/* dm, md and the like: every device in slaves/. */
	snprintf(path, PATH_MAX, "/sys/dev/block/%s/slaves", node);
	return bcv_stack_slaves(path, major, depth, path);
}

/**
 * bcv_stack_check() - may @dev be a leg (or a BCV's device)?
 * @dev: the device
 *
 * Context: process context, may sleep; reads sysfs.
 * Return: 0, -ELOOP if @dev is a bcv volume or sits on one, or -ENOMEM.
 */
int bcv_stack_check(dev_t dev)
{
	char *path = kmalloc(PATH_MAX, GFP_KERNEL);
	int ret;

	if (!path)
		return -ENOMEM;
	ret = bcv_stack_walk(dev, bcv_major, 0, path);
	kfree(path);
	return ret;
}
