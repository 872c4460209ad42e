// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the control device /dev/bcvctl and its ioctls.
 *
 * Everything userspace hands us is checked here, before any state is
 * touched: struct size, reserved fields, flags, roles, name and path syntax.
 * Checks that need the backing devices (existence, exclusivity, logical
 * block size) happen in bcv_core.c under bcv_lock.  A refused command
 * changes nothing, and one that changed state does not fail afterwards
 * (bcv_probe_out()).  See include/uapi/linux/bcv.h for the ABI rules.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/log2.h>
#include <linux/fs.h>

#include "bcv_core.h"

/* Largest @size, and @info_size, we accept from a newer userspace. */
#define BCV_ARG_MAX	4096U

/*
 * The size of each argument struct as first published (uapi 0.4): every
 * field up to its @reserved tail.  Userspace built against that header may
 * pass this little, and the fields it does not have read as zero.  These
 * numbers never change: a field taken from @reserved later lies past them.
 */
#define BCV_VERSION_SIZE_VER0	24
#define BCV_CREATE_SIZE_VER0	832
#define BCV_REMOVE_SIZE_VER0	40
#define BCV_LIST_SIZE_VER0	24
#define BCV_SESSION_SIZE_VER0	80
#define BCV_QUERY_SIZE_VER0	56
#define BCV_WAIT_SIZE_VER0	80
#define BCV_LEG_SIZE_VER0	304
#define BCV_STOP_SIZE_VER0	40	/* version 0.5 */
#define BCV_ASSEMBLE_SIZE_VER0	832	/* version 0.5 */
#define BCV_SPLIT_GROUP_SIZE_VER0 64	/* version 0.7 */
/* ... and of the entries BCV_IOC_LIST and BCV_IOC_QUERY write (@info_size). */
#define BCV_VOL_INFO_SIZE_VER0	256
#define BCV_SESS_INFO_SIZE_VER0	128

/* A first version holds no more than the fields the kernel knows now. */
#define BCV_CHECK_VER0(type, ver0) \
	static_assert((ver0) <= offsetof(type, reserved))
BCV_CHECK_VER0(struct bcv_version, BCV_VERSION_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_create, BCV_CREATE_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_remove, BCV_REMOVE_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_list, BCV_LIST_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_session_cmd, BCV_SESSION_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_query, BCV_QUERY_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_wait, BCV_WAIT_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_leg_cmd, BCV_LEG_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_stop, BCV_STOP_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_assemble, BCV_ASSEMBLE_SIZE_VER0);
/* vol_info took its reserved tail in 0.5 (vol_flags) and grew. */
static_assert(offsetof(struct bcv_vol_info, uuid) >= BCV_VOL_INFO_SIZE_VER0);
BCV_CHECK_VER0(struct bcv_sess_info, BCV_SESS_INFO_SIZE_VER0);

/**
 * bcv_copy_in() - copy an argument struct from userspace
 * @karg:	the kernel's struct
 * @ksize:	sizeof the kernel's struct
 * @ver0:	size of the struct's first published version
 * @uarg:	the caller's struct
 * @usize:	out: the size the caller wrote into its first __u32, @size
 *
 * A @size from @ver0 up to @ksize is an older or the same struct: its
 * first @size bytes are copied and the rest of @karg is zeroed.  A larger
 * one, up to BCV_ARG_MAX, is a newer struct whose extra tail must be zero.
 * Nothing past @size is read.  May sleep.
 *
 * Return: 0; -EINVAL if @size is below @ver0; -E2BIG if it is above
 * BCV_ARG_MAX or the tail past @ksize is not zero; -EFAULT.
 */
static int bcv_copy_in(void *karg, size_t ksize, size_t ver0,
		       const void __user *uarg, u32 *usize)
{
	u32 size;

	if (get_user(size, (const u32 __user *)uarg))
		return -EFAULT;
	if (size < ver0)
		return -EINVAL;
	if (size > BCV_ARG_MAX)
		return -E2BIG;
	*usize = size;
	return copy_struct_from_user(karg, ksize, uarg, size);
}

/**
 * bcv_copy_out() - copy an argument struct back to userspace
 * @uarg:	the caller's struct
 * @karg:	the kernel's struct
 * @ksize:	sizeof the kernel's struct
 * @usize:	the caller's @size, from bcv_copy_in()
 *
 * Writes min(@usize, @ksize) bytes: an older caller's struct ends earlier,
 * a newer caller's extra tail stays as it was (zero).  May sleep.
 *
 * Return: 0 or -EFAULT.
 */
static int bcv_copy_out(void __user *uarg, const void *karg, size_t ksize,
			u32 usize)
{
	return copy_to_user(uarg, karg, min_t(size_t, usize, ksize)) ?
	       -EFAULT : 0;
}

/**
 * bcv_probe_out() - make sure a command's answer can be copied back
 * @uarg:	the caller's struct
 * @karg:	the kernel's struct, still as copied in
 * @ksize:	sizeof the kernel's struct
 * @usize:	the caller's @size, from bcv_copy_in()
 *
 * A command that changes state calls this before it does, so that a
 * struct userspace cannot write (a read-only mapping) is refused with
 * EFAULT while nothing has changed yet, rather than after the command did
 * its work.  It writes the bytes just read back, which changes nothing.
 * May sleep.
 *
 * Return: 0 or -EFAULT.
 */
static int bcv_probe_out(void __user *uarg, const void *karg, size_t ksize,
			 u32 usize)
{
	return bcv_copy_out(uarg, karg, ksize, usize);
}

/**
 * bcv_copy_out_done() - copy back the answer of a command that succeeded
 * @uarg:	the caller's struct
 * @karg:	the kernel's struct
 * @ksize:	sizeof the kernel's struct
 * @usize:	the caller's @size, from bcv_copy_in()
 *
 * The command changed state, and bcv_probe_out() found the struct
 * writable before it did.  Should userspace have unmapped or protected it
 * since, the command still happened: EFAULT would tell it that nothing
 * changed, so the fault is not reported.  May sleep.
 */
static void bcv_copy_out_done(void __user *uarg, const void *karg,
			      size_t ksize, u32 usize)
{
	if (bcv_copy_out(uarg, karg, ksize, usize))
		pr_debug("a command's answer was not copied back\n");
}

static bool bcv_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/**
 * bcv_check_info_size() - check @info_size of BCV_IOC_LIST or BCV_IOC_QUERY
 * @info_size:	the entry size userspace knows
 * @ver0:	size of the entry's first published version
 *
 * The core copies min(@info_size, sizeof(entry)) bytes of each entry and
 * zeroes the rest of a larger one.
 *
 * Return: 0 or -EINVAL (below @ver0 or above BCV_ARG_MAX).
 */
static int bcv_check_info_size(u32 info_size, size_t ver0)
{
	return info_size < ver0 || info_size > BCV_ARG_MAX ? -EINVAL : 0;
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

	ret = bcv_copy_in(&v, sizeof(v), BCV_VERSION_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (!bcv_zero(v.reserved, sizeof(v.reserved)))
		return -EINVAL;
	v.major = BCV_VERSION_MAJOR;
	v.minor = BCV_VERSION_MINOR;
	v.patch = BCV_VERSION_PATCH;
	v.features = BCV_FEAT_VOLUMES | BCV_FEAT_SESSIONS | BCV_FEAT_MIRRORS |
		     BCV_FEAT_LEG_POS | BCV_FEAT_META | BCV_FEAT_INTENT |
		     BCV_FEAT_PAUSE | BCV_FEAT_GROUP | BCV_FEAT_PROTECT |
		     BCV_FEAT_REASONS | BCV_FEAT_TABLE_SHARE |
		     BCV_FEAT_SPLITWAIT;
	return bcv_copy_out(uarg, &v, sizeof(v), usize);
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
	ret = bcv_copy_in(c, sizeof(*c), BCV_CREATE_SIZE_VER0, uarg, &usize);
	if (ret)
		goto out;

	ret = -EINVAL;
	if (c->flags || c->index || c->sectors || c->meta_sectors ||
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

	ret = bcv_probe_out(uarg, c, sizeof(*c), usize);
	if (ret)
		goto out;
	ret = bcv_volume_create(c);
	if (!ret)
		bcv_copy_out_done(uarg, c, sizeof(*c), usize);
out:
	kfree(c);
	return ret;
}

/* No out fields: nothing is copied back, nothing can fault after it. */
static int bcv_ioc_remove(void __user *uarg)
{
	struct bcv_remove r;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&r, sizeof(r), BCV_REMOVE_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if ((r.flags & ~BCV_REMOVE_FORCE) ||
	    !bcv_zero(r.reserved, sizeof(r.reserved)))
		return -EINVAL;
	ret = bcv_check_name(r.name);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret;
	return bcv_remove_cmd(r.name, r.flags);
}

/* No out fields, as remove. */
static int bcv_ioc_stop(void __user *uarg)
{
	struct bcv_stop st;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&st, sizeof(st), BCV_STOP_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (st.flags || !bcv_zero(st.reserved, sizeof(st.reserved)))
		return -EINVAL;
	ret = bcv_check_name(st.name);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret;
	return bcv_stop_cmd(st.name);
}

static int bcv_ioc_assemble(void __user *uarg)
{
	struct bcv_assemble *a;
	unsigned int i;
	u32 usize;
	int ret;

	/* ~900 bytes: too big for the stack. */
	a = kmalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = bcv_copy_in(a, sizeof(*a), BCV_ASSEMBLE_SIZE_VER0, uarg, &usize);
	if (ret)
		goto out;
	ret = -EINVAL;
	if ((a->flags & ~BCV_ASSEMBLE_F_NAME) || a->index || a->sectors ||
	    a->vol_flags || a->stale_legs || a->table_mib ||
	    a->table_left_mib || !bcv_zero(a->reserved, sizeof(a->reserved)))
		goto out;
	if (a->nr_legs < 1 || a->nr_legs > BCV_MAX_LEGS)
		goto out;
	for (i = a->nr_legs; i < BCV_MAX_LEGS; i++)
		if (!bcv_zero(a->legs[i], BCV_PATH_LEN))
			goto out;
	if (a->flags & BCV_ASSEMBLE_F_NAME) {
		ret = bcv_check_name(a->name);
		if (ret)
			goto out;
	} else if (!bcv_zero(a->name, sizeof(a->name))) {
		goto out;
	}
	for (i = 0; i < a->nr_legs; i++) {
		ret = bcv_check_path(a->legs[i]);
		if (ret)
			goto out;
	}
	ret = bcv_probe_out(uarg, a, sizeof(*a), usize);
	if (ret)
		goto out;
	ret = bcv_assemble_cmd(a);
	/* Refused for its tables' size, it says the sizes too. */
	if (!ret || ret == -EFBIG)
		bcv_copy_out_done(uarg, a, sizeof(*a), usize);
out:
	kfree(a);
	return ret;
}

static int bcv_ioc_list(void __user *uarg)
{
	struct bcv_list l;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&l, sizeof(l), BCV_LIST_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (l.count || !bcv_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	ret = bcv_check_info_size(l.info_size, BCV_VOL_INFO_SIZE_VER0);
	if (ret)
		return ret;
	ret = bcv_volume_list(u64_to_user_ptr(l.vols), l.info_size,
			      l.capacity, &l.count);
	if (ret)
		return ret;
	return bcv_copy_out(uarg, &l, sizeof(l), usize);
}

/* Flags each command accepts. */
static const u32 bcv_cmd_flags[] = {
	[BCV_CMD_ESTABLISH]	= 0,
	[BCV_CMD_SPLIT]		= BCV_CMD_F_DIFF | BCV_CMD_F_FORCE,
	[BCV_CMD_REESTABLISH]	= 0,
	[BCV_CMD_RESTORE]	= BCV_CMD_F_INCREMENTAL | BCV_CMD_F_FORCE |
				  BCV_CMD_F_PROTECT,
	[BCV_CMD_TERMINATE]	= 0,
	[BCV_CMD_PAUSE]		= 0,
	[BCV_CMD_RESUME]	= 0,
	[BCV_CMD_ABORT]		= 0,
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

	ret = bcv_copy_in(&c, sizeof(c), BCV_SESSION_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (c.state || c.reason || c.detail ||
	    !bcv_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	if (c.cmd < BCV_CMD_ESTABLISH || c.cmd > BCV_CMD_ABORT ||
	    (c.flags & ~bcv_cmd_flags[c.cmd]))
		return -EINVAL;
	ret = bcv_check_pair_names(c.std, c.bcv);
	if (ret)
		return ret;
	if (!strcmp(c.std, c.bcv))
		return -EINVAL;
	ret = bcv_probe_out(uarg, &c, sizeof(c), usize);
	if (ret)
		return ret;
	ret = bcv_session_cmd(&c);
	/* A refusal too: @state, @reason and @detail say why. */
	bcv_copy_out_done(uarg, &c, sizeof(c), usize);
	return ret;
}

/*
 * BCV_IOC_SPLIT_GROUP.  The pairs are checked for syntax here (@failed
 * names the first bad one); the session layer checks the rest.  @failed
 * is copied back on errors too, once the struct was read.
 */
static int bcv_ioc_split_group(void __user *uarg)
{
	struct bcv_split_group g;
	struct bcv_pair *pairs;
	u32 usize, i;
	int ret;

	ret = bcv_copy_in(&g, sizeof(g), BCV_SPLIT_GROUP_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	if (g.failed || g.hold_ns || g.reason || g.detail ||
	    !bcv_zero(g.reserved, sizeof(g.reserved)) ||
	    (g.flags & ~BCV_CMD_F_DIFF) || !g.nr_pairs ||
	    g.nr_pairs > BCV_GROUP_MAX)
		return -EINVAL;
	pairs = memdup_user(u64_to_user_ptr(g.pairs),
			    array_size(g.nr_pairs, sizeof(*pairs)));
	if (IS_ERR(pairs))
		return PTR_ERR(pairs);
	g.failed = U32_MAX;
	for (i = 0; i < g.nr_pairs; i++) {
		ret = bcv_check_pair_names(pairs[i].std, pairs[i].bcv);
		if (!ret && !strcmp(pairs[i].std, pairs[i].bcv))
			ret = -EINVAL;
		if (ret) {
			g.failed = i;
			goto out;
		}
	}
	ret = bcv_probe_out(uarg, &g, sizeof(g), usize);
	if (ret)
		goto out_free;
	ret = bcv_session_split_group(&g, pairs);
out:
	bcv_copy_out_done(uarg, &g, sizeof(g), usize);
out_free:
	kfree(pairs);
	return ret;
}

static int bcv_ioc_query(void __user *uarg)
{
	struct bcv_query q;
	u32 usize;
	int ret;

	ret = bcv_copy_in(&q, sizeof(q), BCV_QUERY_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (q.count || !bcv_zero(q.reserved, sizeof(q.reserved)))
		return -EINVAL;
	ret = bcv_check_info_size(q.info_size, BCV_SESS_INFO_SIZE_VER0);
	if (ret)
		return ret;
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
	return bcv_copy_out(uarg, &q, sizeof(q), usize);
}

/*
 * Changes nothing: a fault copying the state back may be reported.  EBUSY
 * (a protected restore's split cannot happen now) is copied back too,
 * with @state, @reason and @detail.
 */
static int bcv_ioc_wait(void __user *uarg)
{
	struct bcv_wait w;
	u32 usize;
	int ret, err;

	ret = bcv_copy_in(&w, sizeof(w), BCV_WAIT_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (w.flags || w.state || w.reason || w.detail ||
	    !bcv_zero(w.reserved, sizeof(w.reserved)))
		return -EINVAL;
	ret = bcv_check_pair_names(w.std, w.bcv);
	if (ret)
		return ret;
	ret = bcv_session_wait(&w);
	if (ret && ret != -EBUSY)
		return ret;
	err = bcv_copy_out(uarg, &w, sizeof(w), usize);
	return ret ? ret : err;
}

/*
 * With BCV_LEG_F_POS (remove only) the leg is named by its position, as
 * its device node may be gone, and @path must be all zero; without it,
 * @pos is out only and must be zero, and @path names the leg.
 */
static int bcv_check_leg(const struct bcv_leg_cmd *l)
{
	int ret;

	if ((l->flags & ~BCV_LEG_F_POS) ||
	    !bcv_zero(l->reserved, sizeof(l->reserved)))
		return -EINVAL;
	if (l->op != BCV_LEG_ADD && l->op != BCV_LEG_REMOVE)
		return -EINVAL;
	if (l->flags & BCV_LEG_F_POS) {
		if (l->op != BCV_LEG_REMOVE ||
		    l->pos < 0 || l->pos >= BCV_MAX_LEGS ||
		    !bcv_zero(l->path, sizeof(l->path)))
			return -EINVAL;
	} else if (l->pos) {
		return -EINVAL;
	}
	ret = bcv_check_name(l->name);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret;
	if (l->flags & BCV_LEG_F_POS)
		return 0;
	return bcv_check_path(l->path);
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
	ret = bcv_copy_in(l, sizeof(*l), BCV_LEG_SIZE_VER0, uarg, &usize);
	if (ret)
		goto out;
	ret = bcv_check_leg(l);
	if (ret)
		goto out;
	ret = bcv_probe_out(uarg, l, sizeof(*l), usize);
	if (ret)
		goto out;
	ret = l->op == BCV_LEG_ADD ? bcv_leg_add(l) : bcv_leg_remove(l);
	if (!ret)
		bcv_copy_out_done(uarg, l, sizeof(*l), usize);
out:
	kfree(l);
	return ret;
}

/*
 * Process context; may sleep.  Commands are told apart by the ioctl type
 * and number only: the size encoded in @cmd is that of the caller's
 * struct, which may be older or newer than ours; the struct's own @size
 * says how much of it there is.
 */
static long bcv_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (_IOC_TYPE(cmd) != BCV_IOCTL_TYPE)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(BCV_IOC_VERSION):
		return bcv_ioc_version(uarg);
	case _IOC_NR(BCV_IOC_CREATE):
		return bcv_ioc_create(uarg);
	case _IOC_NR(BCV_IOC_REMOVE):
		return bcv_ioc_remove(uarg);
	case _IOC_NR(BCV_IOC_LIST):
		return bcv_ioc_list(uarg);
	case _IOC_NR(BCV_IOC_STOP):
		return bcv_ioc_stop(uarg);
	case _IOC_NR(BCV_IOC_ASSEMBLE):
		return bcv_ioc_assemble(uarg);
	case _IOC_NR(BCV_IOC_SESSION):
		return bcv_ioc_session(uarg);
	case _IOC_NR(BCV_IOC_QUERY):
		return bcv_ioc_query(uarg);
	case _IOC_NR(BCV_IOC_WAIT):
		return bcv_ioc_wait(uarg);
	case _IOC_NR(BCV_IOC_LEG):
		return bcv_ioc_leg(uarg);
	case _IOC_NR(BCV_IOC_SPLIT_GROUP):
		return bcv_ioc_split_group(uarg);
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

/**
 * bcv_ctl_init() - register /dev/bcvctl
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int bcv_ctl_init(void)
{
	return misc_register(&bcv_ctl_dev);
}

/* Context: module exit; may sleep.  Unregister /dev/bcvctl. */
void bcv_ctl_exit(void)
{
	misc_deregister(&bcv_ctl_dev);
}
