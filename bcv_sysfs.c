// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: sysfs attributes of a volume, /sys/block/bcvN/bcv/.
 *
 * The group is handed to device_add_disk(), so the files exist before the
 * "add" uevent reaches udev (which names /dev/bcv/NAME from bcv/name), and
 * is removed by del_gendisk() before the volume is freed: a show() never
 * sees a freed volume.  All files but copy_throttle are read-only; the
 * sessions of a STD are in bcv_session.c.  The documentation is in
 * Documentation/ABI/testing/sysfs-block-bcv.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/sysfs.h>
#include <linux/capability.h>

#include "bcv_core.h"
#include "bcv_trackmap.h"

static struct bcv_volume *bcv_dev_volume(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static ssize_t name_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", bcv_dev_volume(dev)->name);
}
static DEVICE_ATTR_RO(name);

static ssize_t role_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", bcv_role_name(bcv_dev_volume(dev)->role));
}
static DEVICE_ATTR_RO(role);

static ssize_t backing_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct bcv_volume *vol = bcv_dev_volume(dev);
	ssize_t n;

	mutex_lock(&vol->leg_lock);
	n = sysfs_emit(buf, "%pg\n", bcv_leg_bdev(vol, 0));
	mutex_unlock(&vol->leg_lock);
	return n;
}
static DEVICE_ATTR_RO(backing);

/*
 * Per leg, in position order (leg i is at M(i+1)), space-separated: the
 * backing devices, tracks not yet valid on each, tracks the copy engine
 * copied to each since it was added, "ok" or "failed" (device gone or
 * shrunk).  leg_lock keeps the list stable.
 */
enum bcv_leg_field { BCV_LEG_DEV, BCV_LEG_INVALID, BCV_LEG_COPIED,
		     BCV_LEG_STATE };

static ssize_t bcv_legs_emit(struct device *dev, char *buf,
			     enum bcv_leg_field f)
{
	struct bcv_volume *vol = bcv_dev_volume(dev);
	unsigned int i;
	ssize_t n = 0;

	mutex_lock(&vol->leg_lock);
	for (i = 0; i < vol->nr_legs; i++) {
		const char *sep = i + 1 < vol->nr_legs ? " " : "\n";

		if (f == BCV_LEG_DEV)
			n += sysfs_emit_at(buf, n, "%pg%s", bcv_leg_bdev(vol, i),
					   sep);
		else if (f == BCV_LEG_INVALID)
			n += sysfs_emit_at(buf, n, "%llu%s",
					   bcv_tm_count_invalid(&vol->tm, i), sep);
		else if (f == BCV_LEG_STATE)
			n += sysfs_emit_at(buf, n, "%s%s",
					   READ_ONCE(vol->tm.failed) & (1U << i) ?
					   "failed" : "ok", sep);
		else
			n += sysfs_emit_at(buf, n, "%lld%s",
					   (long long)atomic64_read(&vol->leg_copied[i]),
					   sep);
	}
	mutex_unlock(&vol->leg_lock);
	return n;
}

static ssize_t legs_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return bcv_legs_emit(dev, buf, BCV_LEG_DEV);
}
static DEVICE_ATTR_RO(legs);

static ssize_t leg_invalid_tracks_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	return bcv_legs_emit(dev, buf, BCV_LEG_INVALID);
}
static DEVICE_ATTR_RO(leg_invalid_tracks);

static ssize_t leg_copied_tracks_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return bcv_legs_emit(dev, buf, BCV_LEG_COPIED);
}
static DEVICE_ATTR_RO(leg_copied_tracks);

static ssize_t leg_state_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return bcv_legs_emit(dev, buf, BCV_LEG_STATE);
}
static DEVICE_ATTR_RO(leg_state);

static ssize_t track_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", 1U << bcv_dev_volume(dev)->track_shift);
}
static DEVICE_ATTR_RO(track_size);

static ssize_t tracks_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n", bcv_dev_volume(dev)->tracks);
}
static DEVICE_ATTR_RO(tracks);

static ssize_t cylinders_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  bcv_cylinders(bcv_dev_volume(dev)->tracks));
}
static DEVICE_ATTR_RO(cylinders);

static ssize_t copy_throttle_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(bcv_dev_volume(dev)->throttle.throttle));
}

/*
 * kcopyd reads the value on every job; a plain store is enough.  Root
 * with CAP_SYS_ADMIN only (as the ioctls); EINVAL for what is not a
 * decimal number, ERANGE for a number outside 1..100.
 */
static ssize_t copy_throttle_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t len)
{
	int ret = bcv_parse_percent(buf);

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (ret < 0)
		return ret;
	WRITE_ONCE(bcv_dev_volume(dev)->throttle.throttle, ret);
	return len;
}
static DEVICE_ATTR_RW(copy_throttle);

static struct attribute *bcv_disk_attrs[] = {
	&dev_attr_name.attr,
	&dev_attr_role.attr,
	&dev_attr_backing.attr,
	&dev_attr_legs.attr,
	&dev_attr_leg_invalid_tracks.attr,
	&dev_attr_leg_copied_tracks.attr,
	&dev_attr_leg_state.attr,
	&dev_attr_track_size.attr,
	&dev_attr_tracks.attr,
	&dev_attr_cylinders.attr,
	&dev_attr_copy_throttle.attr,
	NULL,
};

static const struct attribute_group bcv_disk_group = {
	.name	= "bcv",
	.attrs	= bcv_disk_attrs,
};

const struct attribute_group *bcv_disk_groups[] = {
	&bcv_disk_group,
	NULL,
};
