// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the session commands of SPEC section 4, query, wait, and the
 * sessions' sysfs directories.
 *
 * Session states (SPEC section 1; the table algebra is bcv_trackmap.c):
 *
 *   ESTABLISH ----> syncinprog ----copy done----> synchronized
 *                     ^    ^                        |      |
 *   REESTABLISH ------+    +--write failed on MM----+      | SPLIT
 *                                                          v
 *   TERMINATE <---------------------------------------- split
 *                                                       |  ^
 *   RESTORE [--incremental] ----> restinprog --copy--> restored
 *                                                    (SPLIT from here too)
 *
 * A command runs under bcv_lock (so commands are serialised), with the STD
 * and the BCV held (bcv_hold(): no host I/O, no copy in flight, engines
 * stopped), and under the STD's state_lock against the engine's state
 * updates.  It checks every precondition in the table algebra before it
 * changes anything, so a refused command changes nothing.  SPLIT is the
 * point in time: the STD's writes are drained and held while the BCV is
 * detached, so the BCV is the STD as of that instant.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/uaccess.h>
#include <linux/jiffies.h>
#include <linux/sched/signal.h>

#include "bcv_core.h"

static DECLARE_WAIT_QUEUE_HEAD(bcv_state_wq);
static atomic_t bcv_state_gen = ATOMIC_INIT(0);

/**
 * bcv_state_changed() - wake BCV_IOC_WAIT callers: some session's state
 * changed
 *
 * Context: any but hardirq.
 */
void bcv_state_changed(void)
{
	atomic_inc(&bcv_state_gen);
	wake_up_all(&bcv_state_wq);
}

static const char * const bcv_state_names[] = {
	[BCV_SYNCINPROG]	= "syncinprog",
	[BCV_SYNCHRONIZED]	= "synchronized",
	[BCV_SPLIT]		= "split",
	[BCV_RESTINPROG]	= "restinprog",
	[BCV_RESTORED]		= "restored",
};

static const char *bcv_state_name(enum bcv_state st)
{
	if (st < BCV_SYNCINPROG || st > BCV_RESTORED)
		return "none";
	return bcv_state_names[st];
}

/*
 * bcv_tm_vol.on_state of every STD with sessions: every state change of a
 * session, made by the table code for a command or for the copy engine,
 * is logged here and wakes the waiters (BCV_IOC_WAIT).  Context: any but
 * hardirq, under the STD's state_lock.
 */
static void bcv_session_state_hook(const struct bcv_tm_sess *ts,
				   enum bcv_state from, enum bcv_state to)
{
	struct bcv_volume *std = bcv_tm_volume(bcv_tm_sess_std(ts));
	struct bcv_volume *bcv = bcv_tm_volume(bcv_tm_sess_bcv(ts));

	lockdep_assert_held(&std->state_lock);
	pr_info("%s: session %u %s/%s: %s -> %s\n", std->disk->disk_name,
		bcv_tm_sess_id(ts), std->name, bcv->name, bcv_state_name(from),
		bcv_state_name(to));
	bcv_state_changed();
}

/*------------------------------------------------------------------------
 * sysfs: /sys/block/bcvN/sessions/ID/ of a STD
 *
 * The show() functions take only the STD's state_lock, never bcv_lock:
 * TERMINATE removes the directory under bcv_lock, and kernfs waits for
 * running show()s when it does.
 */

struct bcv_sess_attr {
	struct attribute attr;
	ssize_t (*show)(struct bcv_session *s, char *buf);
};

static ssize_t bcv_sess_attr_show(struct kobject *kobj, struct attribute *attr,
				  char *buf)
{
	struct bcv_session *s = container_of(kobj, struct bcv_session, kobj);
	struct bcv_sess_attr *a = container_of(attr, struct bcv_sess_attr, attr);
	ssize_t ret;

	mutex_lock(&s->std->state_lock);
	ret = a->show(s, buf);
	mutex_unlock(&s->std->state_lock);
	return ret;
}

static const struct sysfs_ops bcv_sess_sysfs_ops = {
	.show	= bcv_sess_attr_show,
};

#define BCV_SESS_ATTR(_name)						\
static ssize_t _name##_show(struct bcv_session *s, char *buf);	\
static struct bcv_sess_attr bcv_sess_attr_##_name = {			\
	.attr = { .name = __stringify(_name), .mode = 0444 },		\
	.show = _name##_show,						\
}

BCV_SESS_ATTR(bcv);
BCV_SESS_ATTR(state);
BCV_SESS_ATTR(invalid_tracks);
BCV_SESS_ATTR(std_changed_tracks);
BCV_SESS_ATTR(bcv_changed_tracks);
BCV_SESS_ATTR(copied_tracks);
BCV_SESS_ATTR(errors);
BCV_SESS_ATTR(progress);

static ssize_t bcv_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%s\n", s->bcv->name);
}

static ssize_t state_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%s\n", bcv_state_name(bcv_tm_sess_state(&s->tm)));
}

static ssize_t invalid_tracks_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%llu\n", bcv_tm_session_todo(&s->tm));
}

static ssize_t std_changed_tracks_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  bcv_tm_count_changed(&s->std->tm, bcv_tm_sess_id(&s->tm)));
}

static ssize_t bcv_changed_tracks_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  bcv_tm_count_invalid(&s->bcv->tm, BCV_M4B));
}

static ssize_t copied_tracks_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(&s->copied));
}

static ssize_t errors_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(&s->errors));
}

/* Percent of the current copy done: copied / (copied + still to do). */
static unsigned int bcv_percent(struct bcv_session *s)
{
	u64 todo = bcv_tm_session_todo(&s->tm);
	u64 done = atomic64_read(&s->copied);

	if (!todo)
		return 100;
	return div64_u64(done * 100, done + todo);
}

static ssize_t progress_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%u\n", bcv_percent(s));
}

static struct attribute *bcv_sess_attrs[] = {
	&bcv_sess_attr_bcv.attr,
	&bcv_sess_attr_state.attr,
	&bcv_sess_attr_invalid_tracks.attr,
	&bcv_sess_attr_std_changed_tracks.attr,
	&bcv_sess_attr_bcv_changed_tracks.attr,
	&bcv_sess_attr_copied_tracks.attr,
	&bcv_sess_attr_errors.attr,
	&bcv_sess_attr_progress.attr,
	NULL,
};
ATTRIBUTE_GROUPS(bcv_sess);

static void bcv_sess_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct bcv_session, kobj));
}

static const struct kobj_type bcv_sess_ktype = {
	.release	= bcv_sess_release,
	.sysfs_ops	= &bcv_sess_sysfs_ops,
	.default_groups	= bcv_sess_groups,
};

static struct bcv_session *bcv_session_alloc(void)
{
	struct bcv_session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (s)
		kobject_init(&s->kobj, &bcv_sess_ktype);
	return s;
}

/* Frees @s, now or when the last sysfs reader is gone. */
static void bcv_session_put(struct bcv_session *s)
{
	if (s)
		kobject_put(&s->kobj);
}

/*------------------------------------------------------------------------
 * Commands
 */

/*
 * The data of @vol changed underneath its page cache: drop it.  Only clean,
 * unmapped pages go; an open volume (forced restore) keeps the rest.
 */
static void bcv_drop_cache(struct bcv_volume *vol)
{
	invalidate_bdev(vol->disk->part0);
}

/*
 * Take the STD's state_lock for a table command, with the session layer's
 * hook on the STD (it may be its first session).  Context: may sleep.
 */
static void bcv_state_lock(struct bcv_volume *std)
{
	mutex_lock(&std->state_lock);
	bcv_tm_set_state_hook(&std->tm, bcv_session_state_hook);
}

/*
 * Caller holds bcv_lock.  End a split session.  Both volumes are held:
 * the BCV's I/O path and its engine (syncing its fixed mirrors) read
 * bcv->tm.session, which goes away here.
 */
static int __bcv_terminate(struct bcv_volume *std, struct bcv_volume *bcv)
{
	struct bcv_tm_sess *freed = NULL;
	struct bcv_session *s;
	int ret;

	lockdep_assert_held(&bcv_lock);
	bcv_hold(std);
	bcv_hold(bcv);
	bcv_state_lock(std);
	ret = bcv_tm_terminate(&std->tm, &bcv->tm, &freed);
	mutex_unlock(&std->state_lock);
	bcv_unhold(bcv);
	bcv_unhold(std);
	if (ret)
		return ret;
	s = bcv_tm_session_of(freed);
	if (s->kobj_added)
		kobject_del(&s->kobj);
	bcv_session_put(s);
	pr_info("%s: session %s/%s terminated\n", std->disk->disk_name,
		std->name, bcv->name);
	bcv_state_changed();
	return 0;
}

/*
 * Caller holds bcv_lock and @vol->open_lock.  Without @force: EBUSY if the
 * volume is in any session.  With @force: terminate its split sessions,
 * EBUSY if one is attached.
 */
static int __bcv_sessions_remove(struct bcv_volume *vol, bool force)
{
	unsigned int c;
	int ret;

	lockdep_assert_held(&bcv_lock);
	lockdep_assert_held(&vol->open_lock);
	if (vol->role == BCV_ROLE_BCV) {
		struct bcv_tm_sess *ts = bcv_tm_vol_session(&vol->tm);

		if (!ts)
			return 0;
		if (!force || bcv_tm_sess_state(ts) != BCV_SPLIT)
			return -EBUSY;
		return __bcv_terminate(bcv_tm_session_of(ts)->std, vol);
	}
	if (!bcv_tm_has_sessions(&vol->tm))
		return 0;
	if (!force)
		return -EBUSY;
	for (c = 0; c < BCV_SESSIONS; c++)
		if (bcv_tm_column(&vol->tm, c) &&
		    bcv_tm_sess_state(bcv_tm_column(&vol->tm, c)) != BCV_SPLIT)
			return -EBUSY;
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, c);

		if (!ts)
			continue;
		ret = __bcv_terminate(vol, bcv_tm_session_of(ts)->bcv);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * bcv_remove_cmd() - BCV_IOC_REMOVE
 * @name: the volume
 * @flags: BCV_REMOVE_*
 *
 * Refused with EBUSY while the volume is open or in a session; with
 * BCV_REMOVE_FORCE, split sessions are terminated first (still EBUSY if
 * one is attached).  The volume is unlisted under bcv_lock and freed after
 * it is dropped, once what is in flight on it is done.
 *
 * Context: may sleep.
 * Return: 0, -ENOENT or -EBUSY.
 */
int bcv_remove_cmd(const char *name, unsigned int flags)
{
	struct bcv_volume *vol;
	int ret;

	mutex_lock(&bcv_lock);
	vol = __bcv_find(name);
	if (!vol) {
		mutex_unlock(&bcv_lock);
		return -ENOENT;
	}
	mutex_lock(&vol->open_lock);
	ret = vol->open_count ? -EBUSY :
	      __bcv_sessions_remove(vol, flags & BCV_REMOVE_FORCE);
	if (!ret)
		vol->dying = true;	/* ->open refuses from now on */
	mutex_unlock(&vol->open_lock);
	if (!ret)
		__bcv_volume_unlist(vol);
	mutex_unlock(&bcv_lock);
	if (!ret)
		bcv_volume_free(vol);
	return ret;
}

static int bcv_find_pair(const char *sname, const char *bname,
			 struct bcv_volume **std, struct bcv_volume **bcv)
{
	*std = __bcv_find(sname);
	*bcv = __bcv_find(bname);
	if (!*std || !*bcv)
		return -ENOENT;
	if ((*std)->role != BCV_ROLE_STD || (*bcv)->role != BCV_ROLE_BCV)
		return -EINVAL;
	return 0;
}

/*
 * Caller holds bcv_lock.  Checks of an attaching command that need the
 * devices: a BCV must be able to take every write the STD takes (its
 * logical blocks no larger, its size a whole number of the STD's blocks),
 * and neither volume may sit on a bcv volume (a leg's dm table can be
 * reloaded under us after create).
 */
static int __bcv_check_attach(struct bcv_volume *std, struct bcv_volume *bcv)
{
	unsigned int slbs = queue_logical_block_size(std->disk->queue);
	unsigned int blbs = queue_logical_block_size(bcv->disk->queue);
	unsigned int i;
	int ret;

	lockdep_assert_held(&bcv_lock);
	if (blbs > slbs || (bcv_vol_sectors(bcv) << SECTOR_SHIFT) % slbs)
		return -EINVAL;
	for (i = 0; i < bcv->nr_legs; i++) {
		ret = bcv_stack_check(bcv_leg_bdev(bcv, i)->bd_dev);
		if (ret)
			return ret;
	}
	for (i = 0; i < std->nr_legs; i++) {
		ret = bcv_stack_check(bcv_leg_bdev(std, i)->bd_dev);
		if (ret)
			return ret;
	}
	return 0;
}

/* Sessions whose copies restart with this command count from zero. */
static void bcv_reset_counters(struct bcv_session *s)
{
	atomic64_set(&s->copied, 0);
	atomic64_set(&s->errors, 0);
}

static int bcv_session_sysfs_add(struct bcv_volume *std, struct bcv_session *s)
{
	int ret = kobject_add(&s->kobj, std->sessions_kobj, "%u", bcv_tm_sess_id(&s->tm));

	if (!ret)
		s->kobj_added = true;
	return ret;
}

/**
 * bcv_session_cmd() - BCV_IOC_SESSION: ESTABLISH, SPLIT, REESTABLISH,
 * RESTORE or TERMINATE on a STD/BCV pair
 * @c: the request (validated for syntax by bcv_ioctl.c); @c->state is
 *     filled in
 *
 * Context: may sleep; takes bcv_lock, the volumes' open_locks and the
 * STD's state_lock, and holds both volumes' I/O meanwhile.
 * Return: 0, or -ENOENT, -EINVAL, -EBUSY, -ENOSPC, -ELOOP, -ENOMEM; a
 * refused command changes nothing.
 */
int bcv_session_cmd(struct bcv_session_cmd *c)
{
	struct bcv_session *spare = NULL, *s;
	struct bcv_tm_sess *tspare, *ts;
	struct bcv_volume *std, *bcv;
	struct bcv_tm_cmd tc = {
		.diff = c->flags & BCV_CMD_F_DIFF,
		.incremental = c->flags & BCV_CMD_F_INCREMENTAL,
		.force = c->flags & BCV_CMD_F_FORCE,
	};
	bool new_session = false;
	int ret;

	if (c->cmd == BCV_CMD_ESTABLISH) {
		spare = bcv_session_alloc();
		if (!spare)
			return -ENOMEM;
	}

	mutex_lock(&bcv_lock);
	ret = bcv_find_pair(c->std, c->bcv, &std, &bcv);
	if (ret)
		goto out;

	if (c->cmd == BCV_CMD_TERMINATE) {
		ret = __bcv_terminate(std, bcv);
		c->state = 0;
		goto out;
	}
	if (c->cmd != BCV_CMD_SPLIT) {
		ret = __bcv_check_attach(std, bcv);
		if (ret)
			goto out;
	}

	/*
	 * Openers are checked under open_lock, held across the command so
	 * that nobody opens the BCV (or, for a restore, the STD) between the
	 * check and the attach.  ->open waits on it briefly.  Always the
	 * BCV's first, then the STD's (one lock class: tell lockdep), and
	 * bcv_lock serialises all commands anyway.
	 */
	mutex_lock(&bcv->open_lock);
	mutex_lock_nested(&std->open_lock, SINGLE_DEPTH_NESTING);
	tc.std_open = std->open_count;
	tc.bcv_open = bcv->open_count;
	if (c->cmd != BCV_CMD_RESTORE)
		mutex_unlock(&std->open_lock);
	if (c->cmd == BCV_CMD_SPLIT)
		mutex_unlock(&bcv->open_lock);

	bcv_hold(std);
	bcv_hold(bcv);
	ts = bcv_tm_session(&std->tm, &bcv->tm);
	if (c->cmd == BCV_CMD_SPLIT && ts && bcv_tm_sess_mm(ts) != BCV_NO_POS &&
	    (bcv_tm_sess_state(ts) == BCV_SYNCHRONIZED ||
	     bcv_tm_sess_state(ts) == BCV_RESTORED))
		bcv_catch_up(std, bcv_tm_sess_mm(ts), 30 * HZ);
	/*
	 * A RESTORE needs every leg of the BCV valid (SPEC section 4): let a
	 * fixed mirror that is still syncing after a split finish first, as
	 * SPLIT does for the STD, rather than refuse.
	 */
	if (c->cmd == BCV_CMD_RESTORE && ts && bcv_tm_sess_state(ts) == BCV_SPLIT) {
		unsigned int p;

		for (p = 0; p < bcv->nr_legs; p++)
			bcv_catch_up(bcv, p, 30 * HZ);
	}
	bcv_state_lock(std);
	switch (c->cmd) {
	case BCV_CMD_ESTABLISH:
		tspare = &spare->tm;
		new_session = !bcv_tm_session(&std->tm, &bcv->tm);
		ret = bcv_tm_establish(&std->tm, &bcv->tm, &tc, &tspare);
		if (!ret && new_session) {
			spare->std = std;
			spare->bcv = bcv;
			spare = NULL;
		}
		break;
	case BCV_CMD_SPLIT:
		ret = bcv_tm_split(&std->tm, &bcv->tm, &tc);
		break;
	case BCV_CMD_REESTABLISH:
		ret = bcv_tm_reestablish(&std->tm, &bcv->tm, &tc);
		break;
	case BCV_CMD_RESTORE:
		ret = bcv_tm_restore(&std->tm, &bcv->tm, &tc);
		break;
	default:
		ret = -EINVAL;
	}
	ts = bcv_tm_session(&std->tm, &bcv->tm);
	s = ts ? bcv_tm_session_of(ts) : NULL;
	if (!ret && s && c->cmd != BCV_CMD_SPLIT)
		bcv_reset_counters(s);
	c->state = s ? bcv_tm_sess_state(&s->tm) : 0;
	mutex_unlock(&std->state_lock);

	if (!ret && c->cmd == BCV_CMD_SPLIT)
		bcv_drop_cache(bcv);
	if (!ret && c->cmd == BCV_CMD_RESTORE)
		bcv_drop_cache(std);
	/* A BCV joined or left the STD's writes: flushes must follow. */
	if (!ret)
		bcv_update_features(std);

	bcv_unhold(bcv);
	bcv_unhold(std);
	if (c->cmd == BCV_CMD_RESTORE)
		mutex_unlock(&std->open_lock);
	if (c->cmd != BCV_CMD_SPLIT)
		mutex_unlock(&bcv->open_lock);

	if (!ret && new_session && bcv_session_sysfs_add(std, s))
		pr_warn("%s: no sysfs directory for session %u\n",
			std->disk->disk_name, bcv_tm_sess_id(&s->tm));
	if (!ret) {
		static const char * const names[] = {
			[BCV_CMD_ESTABLISH] = "establish",
			[BCV_CMD_SPLIT] = "split",
			[BCV_CMD_REESTABLISH] = "reestablish",
			[BCV_CMD_RESTORE] = "restore",
		};

		pr_info("%s: %s%s%s %s/%s (session %u): %s\n",
			std->disk->disk_name, names[c->cmd],
			tc.diff ? " --diff" : "",
			tc.incremental ? " --incremental" : "",
			std->name, bcv->name, bcv_tm_sess_id(&s->tm),
			bcv_state_name(bcv_tm_sess_state(&s->tm)));
		bcv_state_changed();
	}
out:
	mutex_unlock(&bcv_lock);
	bcv_session_put(spare);
	return ret;
}

/*------------------------------------------------------------------------
 * Query and wait
 */

/* Caller holds bcv_lock and s->std->state_lock. */
static void bcv_fill_sess(struct bcv_session *s, struct bcv_sess_info *i)
{
	memset(i, 0, sizeof(*i));
	strscpy(i->std, s->std->name, sizeof(i->std));
	strscpy(i->bcv, s->bcv->name, sizeof(i->bcv));
	i->id = bcv_tm_sess_id(&s->tm);
	i->state = bcv_tm_sess_state(&s->tm);
	i->mm = bcv_tm_sess_mm(&s->tm);
	i->track_size = 1U << bcv_vol_track_shift(s->std);
	i->tracks = bcv_vol_tracks(s->std);
	i->invalid_tracks = bcv_tm_session_todo(&s->tm);
	i->std_changed_tracks = bcv_tm_count_changed(&s->std->tm, bcv_tm_sess_id(&s->tm));
	i->bcv_changed_tracks = bcv_tm_count_invalid(&s->bcv->tm, BCV_M4B);
	i->copied_tracks = atomic64_read(&s->copied);
	i->errors = atomic64_read(&s->errors);
}

/**
 * bcv_session_query() - BCV_IOC_QUERY
 * @name: only sessions of this volume, or "" for all
 * @out: user array of @capacity entries of @info_size bytes
 * @info_size: entry size userspace knows
 * @capacity: entries @out holds
 * @count: out: the number of matching sessions
 *
 * Context: may sleep (faults on @out); takes bcv_lock and state_locks.
 * Return: 0, -ENOENT (no volume @name) or -EFAULT.
 */
int bcv_session_query(const char *name, struct bcv_sess_info __user *out,
		      u32 info_size, u32 capacity, u32 *count)
{
	struct bcv_volume *vol, *only = NULL;
	struct bcv_sess_info info;
	u8 __user *dst = (u8 __user *)out;
	unsigned int c;
	u32 n = 0;
	int ret = 0;

	mutex_lock(&bcv_lock);
	if (name[0]) {
		only = __bcv_find(name);
		if (!only) {
			ret = -ENOENT;
			goto out;
		}
	}
	list_for_each_entry(vol, &bcv_volumes, node) {
		if (vol->role != BCV_ROLE_STD)
			continue;
		for (c = 0; c < BCV_SESSIONS; c++) {
			struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, c);
			struct bcv_session *s;

			if (!ts)
				continue;
			s = bcv_tm_session_of(ts);
			if (only && only != s->std && only != s->bcv)
				continue;
			if (n < capacity) {
				mutex_lock(&vol->state_lock);
				bcv_fill_sess(s, &info);
				mutex_unlock(&vol->state_lock);
				if (copy_to_user(dst, &info,
						 min_t(size_t, info_size, sizeof(info))) ||
				    (info_size > sizeof(info) &&
				     clear_user(dst + sizeof(info),
						info_size - sizeof(info)))) {
					ret = -EFAULT;
					goto out;
				}
				dst += info_size;
			}
			n++;
		}
	}
out:
	mutex_unlock(&bcv_lock);
	*count = n;
	return ret;
}

/* The session's state, or 0 with -ENOENT/-EINVAL.  Takes bcv_lock. */
static int bcv_pair_state(const char *sname, const char *bname, u32 *state)
{
	struct bcv_volume *std, *bcv;
	struct bcv_tm_sess *ts;
	int ret;

	mutex_lock(&bcv_lock);
	ret = bcv_find_pair(sname, bname, &std, &bcv);
	if (!ret) {
		ts = bcv_tm_session(&std->tm, &bcv->tm);
		if (ts) {
			mutex_lock(&std->state_lock);
			*state = bcv_tm_sess_state(ts);
			mutex_unlock(&std->state_lock);
		} else {
			ret = -ENOENT;
		}
	}
	mutex_unlock(&bcv_lock);
	return ret;
}

/**
 * bcv_session_wait() - BCV_IOC_WAIT: sleep until a session's copy is done
 * @w: the request; @w->state is filled in
 *
 * Context: may sleep (interruptibly); takes bcv_lock now and then.
 * Return: 0, -ENOENT (no such session, or it ended), -EINVAL, -ETIMEDOUT
 * or -EINTR.
 */
int bcv_session_wait(struct bcv_wait *w)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(w->timeout_ms);
	long left = MAX_SCHEDULE_TIMEOUT, woke;
	int ret, gen;

	for (;;) {
		gen = atomic_read(&bcv_state_gen);
		ret = bcv_pair_state(w->std, w->bcv, &w->state);
		if (ret)
			return ret;
		if (w->state != BCV_SYNCINPROG && w->state != BCV_RESTINPROG)
			return 0;
		if (w->timeout_ms) {
			if (time_after_eq(jiffies, deadline))
				return -ETIMEDOUT;
			left = deadline - jiffies;
		}
		woke = wait_event_interruptible_timeout(bcv_state_wq,
							atomic_read(&bcv_state_gen) != gen,
							left);
		if (woke < 0)
			return -EINTR;
	}
}
