// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl: block devices, from sysfs and stat(), and udev's links.
 *
 * probe_dev() tells what can be seen of a backing device without changing
 * anything (a block device? a bcv volume, or a device stacked on one?
 * read-only, empty, zoned, its logical block size, claimed by someone
 * else), so that a refusal names the device it was about.  wait_link()
 * waits for udev to make or remove /dev/bcv/NAME.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

/*------------------------------------------------------------------------
 * Probing backing devices, to say which one a refusal was about
 */

#define STACK_DEPTH	8	/* levels of devices sits_on_bcv() walks down */

/* Read the first line of the file @path into @buf, without the newline. */
bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * Read one line of /sys/dev/block/MAJ:MIN/@attr into @buf, without the
 * newline.  For a partition, whose queue/ lives with its disk, "../@attr"
 * is tried too.  Returns false if neither can be read.
 */
static bool read_sysfs(dev_t rdev, const char *attr, char *buf, size_t len)
{
	char path[96];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s%s",
			 major(rdev), minor(rdev), i ? "../" : "", attr);
		if (read_line(path, buf, len))
			return true;
	}
	return false;
}

/*
 * Whether the block device @rdev is a bcv volume or sits on one: a dm or md
 * device with one among its slaves (at any depth), or a loop device over
 * one (its backing file is a volume's node, or on a file system on one).
 * Best effort, from sysfs; @depth bounds the walk.
 */
static bool sits_on_bcv(dev_t rdev, unsigned int depth)
{
	char buf[BCV_PATH_LEN + 16], dir[64], path[384];
	struct dirent *de;
	struct stat st;
	bool found = false;
	unsigned int maj, min;
	int i;
	DIR *d;

	if (read_sysfs(rdev, "bcv/name", buf, sizeof(buf)))
		return true;
	if (!depth)
		return false;
	if (read_sysfs(rdev, "loop/backing_file", buf, sizeof(buf)) &&
	    !stat(buf, &st))
		return sits_on_bcv(S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev,
				   depth - 1);
	/* A partition's slaves are its disk's, as in read_sysfs(). */
	for (i = 0; i < 2 && !found; i++) {
		snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/%sslaves",
			 major(rdev), minor(rdev), i ? "../" : "");
		d = opendir(dir);
		if (!d)
			continue;
		while (!found && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/dev", dir,
				 de->d_name);
			if (read_line(path, buf, sizeof(buf)) &&
			    sscanf(buf, "%u:%u", &maj, &min) == 2)
				found = sits_on_bcv(makedev(maj, min),
						    depth - 1);
		}
		closedir(d);
	}
	return found;
}

/*
 * What can be told about @path without changing anything: from stat() and
 * sysfs, and an O_EXCL open that fails with EBUSY while the device is
 * claimed or mounted (closing a read-only open makes udev re-probe nothing).
 */
void probe_dev(const char *path, struct dev_probe *p)
{
	char buf[64];
	struct stat st;
	uint64_t v;
	int fd;

	memset(p, 0, sizeof(*p));
	if (stat(path, &st)) {
		p->stat_err = errno;
		return;
	}
	p->is_blk = S_ISBLK(st.st_mode);
	if (!p->is_blk)
		return;
	/* Only bcv volumes carry the "bcv" attribute group. */
	p->is_bcv = read_sysfs(st.st_rdev, "bcv/name", buf, sizeof(buf));
	p->on_bcv = p->is_bcv || sits_on_bcv(st.st_rdev, STACK_DEPTH);
	p->read_only = read_sysfs(st.st_rdev, "ro", buf, sizeof(buf)) &&
		       strcmp(buf, "0") != 0;
	p->empty = read_sysfs(st.st_rdev, "size", buf, sizeof(buf)) &&
		   !strcmp(buf, "0");
	p->zoned = read_sysfs(st.st_rdev, "queue/zoned", buf, sizeof(buf)) &&
		   strcmp(buf, "none") != 0;
	if (read_sysfs(st.st_rdev, "queue/logical_block_size", buf,
		       sizeof(buf)) && parse_uint(buf, UINT32_MAX, &v))
		p->lbs = (unsigned int)v;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_EXCL);
	if (fd >= 0)
		close(fd);
	else
		p->excl_busy = errno == EBUSY;
}

/*------------------------------------------------------------------------
 * udev: wait for /dev/bcv/NAME
 */

bool udev_running(void)
{
	struct stat st;

	return stat(UDEV_CONTROL, &st) == 0;
}

/*
 * Wait until /dev/bcv/@name exists (@appear) and is the block device
 * /dev/bcv@index, or until it is gone (!@appear).  Returns false on timeout.
 */
bool wait_link(const char *name, uint32_t vol_index, bool appear)
{
	char link[sizeof(LINK_DIR) + BCV_NAME_LEN + 1];
	char node[32];
	struct stat st, want;
	bool know_rdev;
	uint64_t deadline = now_ms() + UDEV_WAIT_MS;

	snprintf(link, sizeof(link), LINK_DIR "/%s", name);
	snprintf(node, sizeof(node), "/dev/" BCV_DISK_PREFIX "%" PRIu32,
		 vol_index);
	know_rdev = appear && stat(node, &want) == 0 && S_ISBLK(want.st_mode);

	for (;;) {
		bool done;

		if (appear)
			done = stat(link, &st) == 0 && S_ISBLK(st.st_mode) &&
			       (!know_rdev || st.st_rdev == want.st_rdev);
		else
			done = lstat(link, &st) != 0 && errno == ENOENT;
		if (done)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(UDEV_POLL_MS);
	}
}
