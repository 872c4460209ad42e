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
#include <linux/slab.h>

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

/* The metadata's: the volume's UUID, its generation, an unclean start. */
static ssize_t uuid_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%pUb\n", bcv_dev_volume(dev)->meta.uuid);
}
static DEVICE_ATTR_RO(uuid);

static ssize_t events_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)READ_ONCE(bcv_dev_volume(dev)->meta.events));
}
static DEVICE_ATTR_RO(events);

static ssize_t recovered_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", bcv_dev_volume(dev)->meta.recovered);
}
static DEVICE_ATTR_RO(recovered);

static ssize_t recovered_tracks_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", (unsigned long long)
			  bcv_dev_volume(dev)->meta.recovered_tracks);
}
static DEVICE_ATTR_RO(recovered_tracks);

static ssize_t meta_writes_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", (unsigned long long)
			  atomic64_read(&bcv_dev_volume(dev)->meta.writes));
}
static DEVICE_ATTR_RO(meta_writes);

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
					   bcv_tm_failed_legs(&vol->tm) & (1U << i) ?
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
	return sysfs_emit(buf, "%u\n", 1U << bcv_vol_track_shift(bcv_dev_volume(dev)));
}
static DEVICE_ATTR_RO(track_size);

static ssize_t tracks_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n", bcv_vol_tracks(bcv_dev_volume(dev)));
}
static DEVICE_ATTR_RO(tracks);

static ssize_t cylinders_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  bcv_cylinders(bcv_vol_tracks(bcv_dev_volume(dev))));
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
	&dev_attr_uuid.attr,
	&dev_attr_events.attr,
	&dev_attr_recovered.attr,
	&dev_attr_recovered_tracks.attr,
	&dev_attr_meta_writes.attr,
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

/*------------------------------------------------------------------------
 * /sys/block/bcvN/legs/Mn/: one directory per leg, one value per file
 *
 * Mn is the leg's mirror position (M1 the primary).  The directories are
 * made again whenever legs are added or removed (positions move down), by
 * bcv_legs_sysfs_update() under bcv_lock.  A show() takes leg_lock and
 * answers ENODEV for a position that has no leg any more; kobject_del()
 * waits for show()s in flight, so none runs after the volume is gone.
 */

struct bcv_leg_kobj {
	struct kobject kobj;
	struct bcv_volume *vol;
	unsigned int pos;
};

struct bcv_leg_attr {
	struct attribute attr;
	ssize_t (*show)(struct bcv_volume *vol, unsigned int pos, char *buf);
};

static ssize_t bcv_leg_attr_show(struct kobject *kobj, struct attribute *attr,
				 char *buf)
{
	struct bcv_leg_kobj *lk = container_of(kobj, struct bcv_leg_kobj, kobj);
	struct bcv_leg_attr *a = container_of(attr, struct bcv_leg_attr, attr);
	struct bcv_volume *vol = lk->vol;
	ssize_t ret = -ENODEV;

	mutex_lock(&vol->leg_lock);
	if (lk->pos < vol->nr_legs)
		ret = a->show(vol, lk->pos, buf);
	mutex_unlock(&vol->leg_lock);
	return ret;
}

static const struct sysfs_ops bcv_leg_sysfs_ops = {
	.show	= bcv_leg_attr_show,
};

#define BCV_LEG_ATTR(_name)						\
static ssize_t pos_##_name##_show(struct bcv_volume *vol,		\
				  unsigned int pos, char *buf);		\
static struct bcv_leg_attr bcv_leg_attr_##_name = {			\
	.attr = { .name = __stringify(_name), .mode = 0444 },		\
	.show = pos_##_name##_show,					\
}

BCV_LEG_ATTR(device);
BCV_LEG_ATTR(state);
BCV_LEG_ATTR(invalid_tracks);
BCV_LEG_ATTR(copied_tracks);
BCV_LEG_ATTR(errors);

static ssize_t pos_device_show(struct bcv_volume *vol, unsigned int pos,
			       char *buf)
{
	return sysfs_emit(buf, "%pg\n", bcv_leg_bdev(vol, pos));
}

static ssize_t pos_state_show(struct bcv_volume *vol, unsigned int pos,
			      char *buf)
{
	return sysfs_emit(buf, "%s\n", bcv_tm_failed_legs(&vol->tm) & (1U << pos) ?
			  "failed" : "ok");
}

static ssize_t pos_invalid_tracks_show(struct bcv_volume *vol,
				       unsigned int pos, char *buf)
{
	return sysfs_emit(buf, "%llu\n", bcv_tm_count_invalid(&vol->tm, pos));
}

static ssize_t pos_copied_tracks_show(struct bcv_volume *vol,
				      unsigned int pos, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vol->leg_copied[pos]));
}

static ssize_t pos_errors_show(struct bcv_volume *vol, unsigned int pos,
			       char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vol->pos_errors[pos]));
}

static struct attribute *bcv_leg_attrs[] = {
	&bcv_leg_attr_device.attr,
	&bcv_leg_attr_state.attr,
	&bcv_leg_attr_invalid_tracks.attr,
	&bcv_leg_attr_copied_tracks.attr,
	&bcv_leg_attr_errors.attr,
	NULL,
};
ATTRIBUTE_GROUPS(bcv_leg);

static void bcv_leg_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct bcv_leg_kobj, kobj));
}

static const struct kobj_type bcv_leg_ktype = {
	.release	= bcv_leg_kobj_release,
	.sysfs_ops	= &bcv_leg_sysfs_ops,
	.default_groups	= bcv_leg_groups,
};

static void bcv_legs_sysfs_clear(struct bcv_volume *vol)
{
	unsigned int i;

	for (i = 0; i < BCV_MAX_LEGS; i++) {
		if (!vol->leg_kobj[i])
			continue;
		kobject_del(&vol->leg_kobj[i]->kobj);
		kobject_put(&vol->leg_kobj[i]->kobj);
		vol->leg_kobj[i] = NULL;
	}
}

/**
 * bcv_legs_sysfs_update() - legs/Mn/ for the legs @vol has now
 * @vol: the volume
 *
 * Context: may sleep; caller holds bcv_lock and not leg_lock (show()s
 * take it, and removing a directory waits for them).
 * Return: 0 or -ENOMEM.
 */
int bcv_legs_sysfs_update(struct bcv_volume *vol)
{
	unsigned int i, n;
	int ret = 0;

	lockdep_assert_held(&bcv_lock);
	bcv_legs_sysfs_clear(vol);
	mutex_lock(&vol->leg_lock);
	n = vol->nr_legs;
	mutex_unlock(&vol->leg_lock);
	for (i = 0; i < n && !ret; i++) {
		struct bcv_leg_kobj *lk = kzalloc(sizeof(*lk), GFP_KERNEL);

		if (!lk)
			return -ENOMEM;
		lk->vol = vol;
		lk->pos = i;
		kobject_init(&lk->kobj, &bcv_leg_ktype);
		ret = kobject_add(&lk->kobj, vol->legs_kobj, "M%u", i + 1);
		if (ret) {
			kobject_put(&lk->kobj);
			break;
		}
		vol->leg_kobj[i] = lk;
	}
	return ret;
}

/**
 * bcv_volume_sysfs_init() - the directories beside /sys/block/bcvN/bcv/
 * @vol: a volume whose gendisk was just added
 *
 * sessions/ on a STD (bcv_session.c adds an entry per session) and
 * legs/Mn/ for each leg.
 *
 * Context: may sleep; caller holds bcv_lock.
 * Return: 0 or -ENOMEM (nothing left behind).
 */
int bcv_volume_sysfs_init(struct bcv_volume *vol)
{
	struct kobject *parent = &disk_to_dev(vol->disk)->kobj;

	if (vol->role == BCV_ROLE_STD) {
		vol->sessions_kobj = kobject_create_and_add("sessions", parent);
		if (!vol->sessions_kobj)
			return -ENOMEM;
	}
	vol->legs_kobj = kobject_create_and_add("legs", parent);
	if (vol->legs_kobj && !bcv_legs_sysfs_update(vol))
		return 0;
	bcv_volume_sysfs_exit(vol);
	return -ENOMEM;
}

/* Context: may sleep; caller holds bcv_lock.  Undoes the above. */
void bcv_volume_sysfs_exit(struct bcv_volume *vol)
{
	bcv_legs_sysfs_clear(vol);
	kobject_put(vol->legs_kobj);
	vol->legs_kobj = NULL;
	kobject_put(vol->sessions_kobj);
	vol->sessions_kobj = NULL;
}
