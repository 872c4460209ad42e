// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the control device /dev/bcvctl and its ioctls.
 *
 * Everything userspace hands us is checked here, before any state is
 * touched: struct size, reserved fields, flags, roles, name and path syntax.
 * Checks that need the backing devices (existence, exclusivity, logical
 * block size) happen in bcv_core.c under bcv_lock.  A refused command
 * changes nothing.  See include/uapi/linux/bcv.h for the ABI rules.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/fs.h>

#include "bcv_core.h"

/* Largest argument struct we accept from a newer userspace. */
#define BCV_ARG_MAX	PAGE_SIZE

/*
 * Copy the argument struct of @ksize bytes from @uarg, honouring the size
 * the caller wrote into its first __u32: smaller than the struct we know is
 * refused (EINVAL: every field of version 1 is required), larger is fine
 * as long as the extra bytes are zero (E2BIG otherwise).  Returns the
 * caller's size in *@usize.  May sleep.
 */
static int bcv_copy_in(void *karg, size_t ksize, void __user *uarg, u32 *usize)
{
	u32 size;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < ksize)
		return -EINVAL;
	if (size > BCV_ARG_MAX)
		return -E2BIG;
	*usize = size;
	return copy_struct_from_user(karg, ksize, uarg, size);
}

/* Copy the kernel's struct back; the caller's extra tail stays as it was. */
static int bcv_copy_out(void __user *uarg, const void *karg, size_t ksize)
{
	return copy_to_user(uarg, karg, ksize) ? -EFAULT : 0;
}

static bool bcv_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/*
 * A volume name: 1..BCV_NAME_LEN-1 characters of [A-Za-z0-9._+-], not
 * starting with '.' or '-' (it becomes /dev/bcv/NAME and a command-line
 * argument), NUL-terminated within its array.
 */
static int bcv_check_name(const char *name)
{
	size_t i, len = strnlen(name, BCV_NAME_LEN);

	if (len == BCV_NAME_LEN)
		return -ENAMETOOLONG;
	if (!len || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._+-", name[i]))
			return -EINVAL;
	return 0;
}

static int bcv_check_path(const char *path)
{
	size_t len = strnlen(path, BCV_PATH_LEN);

	if (len == BCV_PATH_LEN)
		return -ENAMETOOLONG;
	return len ? 0 : -EINVAL;
}

static int bcv_ioc_version(void __user *uarg)
{
	struct bcv_version v;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&v, sizeof(v), uarg, &usize);
	if (ret)
		return ret;
	if (!bcv_zero(v.reserved, sizeof(v.reserved)))
		return -EINVAL;
	v.major = BCV_VERSION_MAJOR;
	v.minor = BCV_VERSION_MINOR;
	v.patch = BCV_VERSION_PATCH;
	v.features = BCV_FEAT_VOLUMES | BCV_FEAT_SESSIONS | BCV_FEAT_MIRRORS;
	return bcv_copy_out(uarg, &v, sizeof(v));
}

static int bcv_ioc_create(void __user *uarg)
{
	struct bcv_create *c;
	unsigned int i;
	u32 usize;
	int ret;

	/* ~900 bytes: too big for the stack. */
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ret = bcv_copy_in(c, sizeof(*c), uarg, &usize);
	if (ret)
		goto out;

	ret = -EINVAL;
	if (c->flags || c->index || c->sectors ||
	    !bcv_zero(c->reserved, sizeof(c->reserved)))
		goto out;
	if (c->role != BCV_ROLE_STD && c->role != BCV_ROLE_BCV)
		goto out;
	if (c->nr_legs < 1 || c->nr_legs > BCV_MAX_LEGS)
		goto out;
	for (i = c->nr_legs; i < BCV_MAX_LEGS; i++)
		if (!bcv_zero(c->legs[i], BCV_PATH_LEN))
			goto out;
	ret = bcv_check_name(c->name);
	if (ret)
		goto out;
	for (i = 0; i < c->nr_legs; i++) {
		ret = bcv_check_path(c->legs[i]);
		if (ret)
			goto out;
	}
	/* The lower bound (logical block size) is checked against the legs. */
	ret = -EINVAL;
	if (c->track_size && (!is_power_of_2(c->track_size) ||
			      c->track_size > BCV_TRACK_SIZE_MAX))
		goto out;

	ret = bcv_volume_create(c);
	if (!ret)
		ret = bcv_copy_out(uarg, c, sizeof(*c));
out:
	kfree(c);
	return ret;
}

static int bcv_ioc_remove(void __user *uarg)
{
	struct bcv_remove r;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&r, sizeof(r), uarg, &usize);
	if (ret)
		return ret;
	if ((r.flags & ~BCV_REMOVE_FORCE) ||
	    !bcv_zero(r.reserved, sizeof(r.reserved)))
		return -EINVAL;
	ret = bcv_check_name(r.name);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret;
	return bcv_volume_remove(r.name, r.flags);
}

static int bcv_ioc_list(void __user *uarg)
{
	struct bcv_list l;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&l, sizeof(l), uarg, &usize);
	if (ret)
		return ret;
	if (l.count || !bcv_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	if (l.info_size < sizeof(struct bcv_vol_info) ||
	    l.info_size > BCV_ARG_MAX)
		return -EINVAL;
	ret = bcv_volume_list(u64_to_user_ptr(l.vols), l.info_size,
			      l.capacity, &l.count);
	if (ret)
		return ret;
	return bcv_copy_out(uarg, &l, sizeof(l));
}

/* Flags each command accepts. */
static const u32 bcv_cmd_flags[] = {
	[BCV_CMD_ESTABLISH]	= 0,
	[BCV_CMD_SPLIT]		= BCV_CMD_F_DIFF,
	[BCV_CMD_REESTABLISH]	= 0,
	[BCV_CMD_RESTORE]	= BCV_CMD_F_INCREMENTAL | BCV_CMD_F_FORCE,
	[BCV_CMD_TERMINATE]	= 0,
};

/* Two names that may name volumes: bad syntax cannot, so ENOENT. */
static int bcv_check_pair_names(const char *std, const char *bcv)
{
	int ret = bcv_check_name(std);

	if (!ret)
		ret = bcv_check_name(bcv);
	return ret == -EINVAL ? -ENOENT : ret;
}

static int bcv_ioc_session(void __user *uarg)
{
	struct bcv_session_cmd c;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&c, sizeof(c), uarg, &usize);
	if (ret)
		return ret;
	if (c.state || !bcv_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	if (c.cmd < BCV_CMD_ESTABLISH || c.cmd > BCV_CMD_TERMINATE ||
	    (c.flags & ~bcv_cmd_flags[c.cmd]))
		return -EINVAL;
	ret = bcv_check_pair_names(c.std, c.bcv);
	if (ret)
		return ret;
	if (!strcmp(c.std, c.bcv))
		return -EINVAL;
	ret = bcv_session_cmd(&c);
	if (ret)
		return ret;
	return bcv_copy_out(uarg, &c, sizeof(c));
}

static int bcv_ioc_query(void __user *uarg)
{
	struct bcv_query q;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&q, sizeof(q), uarg, &usize);
	if (ret)
		return ret;
	if (q.count || !bcv_zero(q.reserved, sizeof(q.reserved)))
		return -EINVAL;
	if (q.info_size < sizeof(struct bcv_sess_info) ||
	    q.info_size > BCV_ARG_MAX)
		return -EINVAL;
	if (q.name[0]) {
		ret = bcv_check_name(q.name);
		if (ret)
			return ret == -EINVAL ? -ENOENT : ret;
	} else if (!bcv_zero(q.name, sizeof(q.name))) {
		return -EINVAL;
	}
	ret = bcv_session_query(q.name, u64_to_user_ptr(q.sessions),
				q.info_size, q.capacity, &q.count);
	if (ret)
		return ret;
	return bcv_copy_out(uarg, &q, sizeof(q));
}

static int bcv_ioc_wait(void __user *uarg)
{
	struct bcv_wait w;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&w, sizeof(w), uarg, &usize);
	if (ret)
		return ret;
	if (w.flags || w.state || !bcv_zero(w.reserved, sizeof(w.reserved)))
		return -EINVAL;
	ret = bcv_check_pair_names(w.std, w.bcv);
	if (ret)
		return ret;
	ret = bcv_session_wait(&w);
	if (ret)
		return ret;
	return bcv_copy_out(uarg, &w, sizeof(w));
}

static int bcv_ioc_leg(void __user *uarg)
{
	struct bcv_leg_cmd *l;
	u32 usize;
	int ret;

	/* ~330 bytes: off the stack. */
	l = kmalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	ret = bcv_copy_in(l, sizeof(*l), uarg, &usize);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (l->flags || l->pos || !bcv_zero(l->reserved, sizeof(l->reserved)))
		goto out;
	if (l->op != BCV_LEG_ADD && l->op != BCV_LEG_REMOVE)
		goto out;
	ret = bcv_check_name(l->name);
	if (ret) {
		ret = ret == -EINVAL ? -ENOENT : ret;
		goto out;
	}
	ret = bcv_check_path(l->path);
	if (ret)
		goto out;
	ret = l->op == BCV_LEG_ADD ? bcv_leg_add(l) : bcv_leg_remove(l);
	if (!ret)
		ret = bcv_copy_out(uarg, l, sizeof(*l));
out:
	kfree(l);
	return ret;
}

/* Process context; may sleep. */
static long bcv_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case BCV_IOC_VERSION:
		return bcv_ioc_version(uarg);
	case BCV_IOC_CREATE:
		return bcv_ioc_create(uarg);
	case BCV_IOC_REMOVE:
		return bcv_ioc_remove(uarg);
	case BCV_IOC_LIST:
		return bcv_ioc_list(uarg);
	case BCV_IOC_SESSION:
		return bcv_ioc_session(uarg);
	case BCV_IOC_QUERY:
		return bcv_ioc_query(uarg);
	case BCV_IOC_WAIT:
		return bcv_ioc_wait(uarg);
	case BCV_IOC_LEG:
		return bcv_ioc_leg(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bcv_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= bcv_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice bcv_ctl_dev = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= BCV_CTL_NAME,
	.fops		= &bcv_ctl_fops,
	.mode		= 0600,
};

int bcv_ctl_init(void)
{
	return misc_register(&bcv_ctl_dev);
}

void bcv_ctl_exit(void)
{
	misc_deregister(&bcv_ctl_dev);
}
