// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the session commands of bcv-design.rst section 4, query, wait, and the
 * sessions' sysfs directories.
 *
 * Session states (bcv-design.rst section 1; the table algebra is bcv_trackmap.c):
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
#include <linux/sizes.h>
#include <linux/delay.h>

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

static struct workqueue_struct *bcv_session_wq;
static int __bcv_session_cmd(struct bcv_session_cmd *c, struct bcv_tm_why *why,
			     struct bcv_session **spare);
static void bcv_split_due_fn(struct work_struct *work);
static DECLARE_WORK(bcv_split_due_work, bcv_split_due_fn);

/* Any context but hardirq.  Let bcv_split_due_fn() look at owed splits. */
static void bcv_split_due_kick(void)
{
	if (bcv_session_wq)
		queue_work(bcv_session_wq, &bcv_split_due_work);
}

/*
 * Caller holds the STD's state_lock.  @s became (or was assembled) a
 * restored protected restore: its split is owed from now on.
 */
static void bcv_split_due_set(struct bcv_session *s)
{
	lockdep_assert_held(&s->std->state_lock);
	s->split_due = true;
	s->split_idle = false;
	s->split_stuck = false;
	s->split_why = BCV_R_NONE;
	s->split_detail = 0;
}

/*
 * The words of a refusal of an owed split, for the kernel log (bcvctl has
 * its own for every reason).
 */
static const char *bcv_split_due_why(u32 reason)
{
	switch (reason) {
	case BCV_R_ONLY_COPY:
		return "the STD's legs do not hold every track yet (they are copied from the BCV first)";
	case BCV_R_PAUSED:
		return "the session is paused and the STD's legs lack tracks (resume it)";
	default:
		return "refused";
	}
}

/*
 * Caller holds bcv_lock.  Try the owed split of @s, a session of @std, as
 * an administrator's SPLIT would (bcv_session_cmd(): both volumes held, the
 * metadata written before they take I/O again).  A refusal is first
 * found without holding anything (so that a try costs the STD nothing
 * and, refused, kicks no engine that would come back here), and kept in
 * @s for BCV_IOC_WAIT and the kernel log; the flag stays, and the next
 * idle pass of the STD's engine, or the BCV linking again, tries again.
 */
static void __bcv_split_due_try(struct bcv_volume *std, struct bcv_session *s)
{
	struct bcv_tm_why why = { BCV_R_NONE, 0 };
	struct bcv_tm_cmd tc = { .why = &why };
	struct bcv_session_cmd c = { .cmd = BCV_CMD_SPLIT };
	bool idle, changed;
	int ret;

	lockdep_assert_held(&bcv_lock);
	mutex_lock(&std->state_lock);
	if (!s->split_due) {
		mutex_unlock(&std->state_lock);
		return;
	}
	if (bcv_tm_sess_state(&s->tm) != BCV_RESTORED ||
	    !bcv_tm_sess_protected(&s->tm)) {
		/* Split by hand, or moved on: nothing is owed. */
		s->split_due = false;
		mutex_unlock(&std->state_lock);
		return;
	}
	idle = s->split_idle;
	s->split_idle = false;
	/* An absent BCV: __bcv_link() kicks us when it is back. */
	ret = s->bcv ? bcv_tm_split_check(&std->tm, &s->bcv->tm, &tc) : -EAGAIN;
	mutex_unlock(&std->state_lock);
	if (ret == -EAGAIN)
		return;
	if (!ret) {
		strscpy(c.std, std->name, sizeof(c.std));
		strscpy(c.bcv, s->bcv_name, sizeof(c.bcv));
		ret = __bcv_session_cmd(&c, &why, NULL);
		if (!ret)
			return;
	}
	if (why.reason == BCV_R_ONLY_COPY && READ_ONCE(s->paused))
		why.reason = BCV_R_PAUSED;
	mutex_lock(&std->state_lock);
	changed = s->split_why != why.reason || s->split_stuck != idle;
	if (s->split_why != why.reason)
		pr_warn("%s: the split that ends the protected restore from %s waits: %s\n",
			std->name, s->bcv_name, bcv_split_due_why(why.reason));
	s->split_why = why.reason;
	s->split_detail = why.detail;
	s->split_stuck = idle;
	mutex_unlock(&std->state_lock);
	if (changed)
		bcv_state_changed();	/* BCV_IOC_WAIT looks again */
}

/*
 * bcv_session_wq.  Every owed split (struct bcv_session.split_due) of
 * every STD is tried, under bcv_lock: the work names no pair, so that one
 * run late finds the sessions as they are then.
 */
static void bcv_split_due_fn(struct work_struct *work)
{
	struct bcv_volume *std;
	unsigned int c;

	mutex_lock(&bcv_lock);
	list_for_each_entry(std, &bcv_volumes, node) {
		if (std->role != BCV_ROLE_STD)
			continue;
		for (c = 0; c < BCV_SESSIONS; c++) {
			struct bcv_tm_sess *ts = bcv_tm_column(&std->tm, c);

			if (ts)
				__bcv_split_due_try(std, bcv_tm_session_of(ts));
		}
	}
	mutex_unlock(&bcv_lock);
}

/**
 * bcv_session_idle() - the copy engine of @std found nothing to copy
 * @std: a STD
 *
 * An owed split that was refused because the STD's legs lacked tracks
 * only the BCV held may go now; one refused again now is stuck until
 * something outside changes (BCV_IOC_WAIT says so).
 *
 * Context: process (the engine's worker); takes the STD's state_lock.
 */
void bcv_session_idle(struct bcv_volume *std)
{
	bool due = false;
	unsigned int c;

	mutex_lock(&std->state_lock);
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&std->tm, c);
		struct bcv_session *s;

		if (!ts)
			continue;
		s = bcv_tm_session_of(ts);
		if (s->split_due) {
			s->split_idle = true;
			due = true;
		}
	}
	mutex_unlock(&std->state_lock);
	if (due)
		bcv_split_due_kick();
}

/**
 * bcv_session_init() - module load: the sessions' workqueue
 *
 * Context: process.
 * Return: 0 or -ENOMEM.
 */
int bcv_session_init(void)
{
	bcv_session_wq = alloc_workqueue("bcv_session", WQ_UNBOUND, 1);
	return bcv_session_wq ? 0 : -ENOMEM;
}

/**
 * bcv_session_exit() - module unload: after every volume is gone
 *
 * Context: process; may sleep (waits for queued work).
 */
void bcv_session_exit(void)
{
	destroy_workqueue(bcv_session_wq);
	bcv_session_wq = NULL;
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
	struct bcv_session *s = bcv_tm_session_of((struct bcv_tm_sess *)ts);
	struct bcv_volume *std = s->std;

	lockdep_assert_held(&std->state_lock);
	pr_info("%s: session %u %s/%s: %s -> %s\n", std->name,
		bcv_tm_sess_id(ts), std->name, s->bcv_name,
		bcv_state_name(from), bcv_state_name(to));
	/* The superblocks say it soon (a command writes them at once). */
	bcv_meta_schedule(std);
	if (s->bcv)
		bcv_meta_schedule(s->bcv);
	bcv_state_changed();
	bcv_event_state(std, bcv_tm_sess_id(ts), s->bcv_name,
			bcv_state_name(from), bcv_state_name(to));
	/* Pollers of sessions/ID/state (absent before the first command ends). */
	if (READ_ONCE(s->kobj_added))
		sysfs_notify(&s->kobj, NULL, "state");
	if (to == BCV_RESTORED && bcv_tm_sess_protected(ts)) {
		bcv_split_due_set(s);
		bcv_split_due_kick();
	} else {
		s->split_due = false;
	}
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
	ssize_t (*store)(struct bcv_session *s, const char *buf, size_t len);
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

static ssize_t bcv_sess_attr_store(struct kobject *kobj,
				   struct attribute *attr, const char *buf,
				   size_t len)
{
	struct bcv_session *s = container_of(kobj, struct bcv_session, kobj);
	struct bcv_sess_attr *a = container_of(attr, struct bcv_sess_attr, attr);
	ssize_t ret;

	if (!a->store)
		return -EIO;
	mutex_lock(&s->std->state_lock);
	ret = a->store(s, buf, len);
	mutex_unlock(&s->std->state_lock);
	return ret;
}

static const struct sysfs_ops bcv_sess_sysfs_ops = {
	.show	= bcv_sess_attr_show,
	.store	= bcv_sess_attr_store,
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
BCV_SESS_ATTR(paused);

static ssize_t copy_throttle_show(struct bcv_session *s, char *buf);
static ssize_t copy_throttle_store(struct bcv_session *s, const char *buf,
				   size_t len);
static struct bcv_sess_attr bcv_sess_attr_copy_throttle = {
	.attr = { .name = "copy_throttle", .mode = 0644 },
	.show = copy_throttle_show,
	.store = copy_throttle_store,
};

static ssize_t bcv_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%s\n", s->bcv_name);
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
	/* An absent BCV's changes are counted when it is back. */
	return sysfs_emit(buf, "%llu\n", s->bcv ?
			  bcv_tm_count_invalid(&s->bcv->tm, BCV_M4B) : 0);
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

static ssize_t paused_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(s->paused));
}

static ssize_t copy_throttle_show(struct bcv_session *s, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(s->throttle));
}

/* Caller holds the STD's state_lock (bcv_sess_attr_store()). */
static ssize_t copy_throttle_store(struct bcv_session *s, const char *buf,
				   size_t len)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 10, &v);
	if (ret)
		return ret;
	if (v < 1 || v > 100)
		return -EINVAL;
	WRITE_ONCE(s->throttle, v);
	/* A wait the old setting imposed ends now. */
	bcv_copy_throttle_changed(s->std);
	if (s->bcv)
		bcv_copy_throttle_changed(s->bcv);
	return len;
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
	&bcv_sess_attr_paused.attr,
	&bcv_sess_attr_copy_throttle.attr,
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

	if (s) {
		kobject_init(&s->kobj, &bcv_sess_ktype);
		s->throttle = 100;
	}
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
	bcv_hold_pair(std, bcv);
	bcv_state_lock(std);
	ret = bcv_tm_terminate(&std->tm, &bcv->tm, &freed);
	mutex_unlock(&std->state_lock);
	if (!ret) {
		bcv_meta_commit(std, bcv);
		/* Its fixed mirrors' sync is no session's now. */
		bcv_copy_fresh(bcv, BIT(BCV_POSITIONS) - 1);
	}
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

		/*
		 * In a session of a STD that is not assembled: only forced,
		 * and only a split one (that STD keeps a session whose BCV
		 * never comes back).
		 */
		if (!ts && vol->meta.link.used)
			return force && vol->meta.link.state == BCV_STATE_SPLIT ?
			       0 : -EBUSY;
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
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, c);

		/* An absent BCV cannot be told that its session ended. */
		if (ts && (bcv_tm_sess_state(ts) != BCV_SPLIT ||
			   !bcv_tm_session_of(ts)->bcv))
			return -EBUSY;
	}
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
	if (!ret) {
		/*
		 * Unlisted (no superblock write can follow), its legs still
		 * open (nobody can create on them), and without bcv_lock: a
		 * leg that hangs holds up this remove only.
		 */
		bcv_meta_wipe(vol);
		bcv_volume_free(vol);
	}
	return ret;
}

static void __bcv_link_peers(struct bcv_volume *vol);

/*
 * Caller holds bcv_lock.  The pair called @sname and @bname.  A BCV that
 * its STD's session waits for but that was open when either was assembled
 * (udev probing the new disk is enough) is linked now if nobody holds it
 * open any more, so that a command on the pair finds the session.
 */
static int bcv_find_pair(const char *sname, const char *bname,
			 struct bcv_volume **std, struct bcv_volume **bcv)
{
	*std = __bcv_find(sname);
	*bcv = __bcv_find(bname);
	if (!*std || !*bcv)
		return -ENOENT;
	if ((*std)->role != BCV_ROLE_STD || (*bcv)->role != BCV_ROLE_BCV)
		return -EINVAL;
	if ((*bcv)->meta.link.used)
		__bcv_link_peers(*bcv);
	return 0;
}

/**
 * bcv_link_work() - link a BCV its STD waits for, after its last close
 * @work: the volume's link_work
 *
 * Assembly links a BCV with its STD's session only while nobody holds the
 * BCV open (bcv_link(): users of a BCV that stood alone as split must not
 * see it change under them); ->release queues this when the last opener
 * goes, so that a restore or a resync waiting for it goes on by itself.
 *
 * Context: system_wq; takes bcv_lock.  bcv_volume_free() cancels it.
 */
void bcv_link_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(work, struct bcv_volume,
					      link_work);

	mutex_lock(&bcv_lock);
	if (!vol->dead && vol->meta.link.used)
		__bcv_link_peers(vol);
	mutex_unlock(&bcv_lock);
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

/*
 * Caller holds bcv_lock and the STD (bcv_hold()).  I/O errors on the STD's
 * positions so far, and the positions that hold every track: an ABORT of
 * a RESTORE trusts the latter's old data only if the former did not move.
 */
static u64 bcv_std_errors(struct bcv_volume *std)
{
	u64 n = 0;
	int p;

	/*
	 * Own legs only: what the restore wrote there, or their old data an
	 * ABORT gives back, is in doubt after their errors; a BCV's are not
	 * (a restore whose BCV died must still be abortable).
	 */
	for (p = 0; p < std->nr_legs; p++)
		n += atomic64_read(&std->pos_errors[p]);
	return n;
}

static unsigned int bcv_std_whole(struct bcv_volume *std)
{
	unsigned int m = bcv_tm_write_targets(&std->tm), kept = 0;
	int p;

	/* Own legs only: positions 0..nr_legs-1 (bcv_tm_abort()). */
	m &= BIT(std->nr_legs) - 1;
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((m & (1U << p)) && !bcv_tm_count_invalid(&std->tm, p))
			kept |= 1U << p;
	return kept;
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

/*
 * Caller holds bcv_lock.  PAUSE or RESUME (@pause) the session of @std and
 * @bcv: its copies stop (the engines leave its positions out: the BCV's
 * mirror position on the STD, every position of the BCV's own fixed-mirror
 * sync) or go on from the tables.  Nothing else changes: host writes are
 * tracked as ever, and a command on the session keeps the flag (a
 * REESTABLISH of a paused session copies nothing until RESUME).  Both
 * volumes are held while the flag changes, so the jobs in flight have
 * ended when PAUSE returns.  The flag is not on disk: an assembled session
 * copies.
 */
static int __bcv_pause(struct bcv_volume *std, struct bcv_volume *bcv,
		       bool pause, u32 *state)
{
	struct bcv_tm_sess *ts = bcv_tm_session(&std->tm, &bcv->tm);
	struct bcv_session *s;

	lockdep_assert_held(&bcv_lock);
	if (!ts)
		return -ENOENT;
	s = bcv_tm_session_of(ts);
	bcv_hold_pair(std, bcv);
	WRITE_ONCE(s->paused, pause);
	mutex_lock(&std->state_lock);
	*state = bcv_tm_sess_state(ts);
	mutex_unlock(&std->state_lock);
	bcv_unhold(bcv);	/* kick the engines */
	bcv_unhold(std);
	pr_info("%s: %s %s/%s (session %u): %s\n", std->disk->disk_name,
		pause ? "pause" : "resume", std->name, bcv->name,
		bcv_tm_sess_id(ts), bcv_state_name(*state));
	bcv_state_changed();
	return 0;
}

/*
 * Does @name name the volume remembered as @rname and @uuid: its name, or
 * its UUID as bcvctl prints it (%pUb), or the first 8 characters of it at
 * least (a name has at most BCV_NAME_LEN - 1 characters, a UUID 36:
 * bcvctl sends the first 31)?
 */
static bool bcv_names(const char *name, const char *rname, const u8 *uuid)
{
	size_t len = strlen(name);
	char u[40];

	if (!strcmp(name, rname))
		return true;
	snprintf(u, sizeof(u), "%pUb", uuid);
	return len >= 8 && !strncasecmp(name, u, len);
}

/*
 * Caller holds bcv_lock.  The session of @std whose BCV is not linked to
 * it and that @name names as the STD's superblock remembers it, or NULL.
 */
static struct bcv_session *__bcv_absent_session(struct bcv_volume *std,
						const char *name)
{
	struct bcv_session *found = NULL;
	unsigned int c;

	lockdep_assert_held(&bcv_lock);
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&std->tm, c);
		struct bcv_session *s = ts ? bcv_tm_session_of(ts) : NULL;

		if (!s || s->bcv || !bcv_names(name, s->bcv_name, s->bcv_uuid))
			continue;
		if (found)
			return NULL;	/* a UUID prefix naming two */
		found = s;
	}
	return found;
}

/*
 * Caller holds bcv_lock.  split --force, ABORT or TERMINATE of session @s
 * of @std, whose BCV is not there (stopped, missing, dead, or running
 * without knowing of it): SPEC 13, "Every session can be ended".  What
 * the BCV holds is not known: split --force and ABORT mark every track
 * changed (bcv_tm_let_go()); the BCV, when it comes back, links to the
 * split session or, terminated, stands alone.
 */
static int __bcv_absent_cmd(struct bcv_volume *std, struct bcv_session *s,
			    struct bcv_session_cmd *c, struct bcv_tm_cmd *tc)
{
	struct bcv_tm_sess *freed = NULL;
	unsigned int kept = 0;
	bool undo;
	u32 state;
	int ret;

	lockdep_assert_held(&bcv_lock);
	bcv_hold(std);
	mutex_lock(&std->state_lock);
	state = bcv_tm_sess_state(&s->tm);
	mutex_unlock(&std->state_lock);
	undo = c->cmd == BCV_CMD_ABORT && state == BCV_RESTINPROG;
	/* As bcv_session_cmd(): the STD's own legs' errors since it began. */
	if (undo && s->restore_errs == bcv_std_errors(std))
		kept = s->restore_kept;
	bcv_state_lock(std);
	if (c->cmd == BCV_CMD_TERMINATE)
		ret = bcv_tm_terminate_absent(&std->tm, &s->tm, &freed);
	else
		ret = bcv_tm_let_go(&std->tm, &s->tm, c->cmd == BCV_CMD_ABORT,
				    kept, tc);
	c->state = freed ? 0 : bcv_tm_sess_state(&s->tm);
	mutex_unlock(&std->state_lock);
	if (!ret) {
		if (undo)
			bcv_drop_cache(std);
		bcv_update_features(std);
		bcv_meta_commit(std, NULL);
	}
	bcv_unhold(std);
	if (ret)
		return ret;
	pr_info("%s: %s %s/%s (session %u, its BCV not here): %s\n",
		std->disk->disk_name,
		c->cmd == BCV_CMD_TERMINATE ? "terminate" :
		c->cmd == BCV_CMD_ABORT ? "abort" : "split --force",
		std->name, s->bcv_name, bcv_tm_sess_id(&s->tm),
		freed ? "ended" : "split, every track marked changed");
	if (freed) {
		if (s->kobj_added)
			kobject_del(&s->kobj);
		bcv_session_put(s);
	}
	bcv_state_changed();
	return 0;
}

/*
 * Caller holds bcv_lock.  split --force or TERMINATE of BCV @bcv whose
 * link names a STD that is not assembled, or that has no such session:
 * it stands alone from now on.  If it was attached, its primary holds
 * what the STD last wrote to it, which it keeps; its fixed mirrors are
 * copied from it (bcv_tm_fixed_follow_primary()).  The STD, if it comes
 * back with the session, finds a BCV that no longer names it and lets it
 * be (bcv_stop_cmd()'s counterpart: __bcv_absent_cmd() ends it there).
 */
static int __bcv_release(struct bcv_volume *bcv)
{
	struct bcv_meta_link *l = &bcv->meta.link;
	bool attached = l->state != BCV_STATE_SPLIT;
	int ret;

	lockdep_assert_held(&bcv_lock);
	bcv_hold(bcv);
	spin_lock_irq(&bcv->lock);
	if (attached)
		bcv_tm_fixed_follow_primary(&bcv->tm);
	spin_unlock_irq(&bcv->lock);
	WRITE_ONCE(l->used, false);
	ret = bcv_meta_commit(bcv, NULL);
	bcv_unhold(bcv);
	pr_info("%s: released from session %u of %s (not here)%s\n", bcv->name,
		l->id, l->std_name, attached ?
		": it holds what its STD last wrote to it, its fixed mirrors follow" :
		"");
	bcv_state_changed();
	return ret;
}

/* SPLIT's catch-up (bcv_split_prepare()). */
#define BCV_SPLIT_POLL_MS	50	/* how often it looks, unheld */
#define BCV_SPLIT_STALL_SECS	60	/* no track copied that long: refused */
#define BCV_SPLIT_HELD_SECS	5	/* the last step, the pair held */

/*
 * Is @ts (or NULL) a session SPLIT catches up first: attached, not a
 * protected restore (whose BCV never takes the STD's writes), in a state
 * SPLIT takes?  Caller holds the STD's state_lock, or the STD (no engine
 * moves its states).
 */
static bool bcv_split_catching(struct bcv_tm_sess *ts)
{
	return ts && bcv_tm_sess_mm(ts) != BCV_NO_POS &&
	       !bcv_tm_sess_protected(ts) &&
	       (bcv_tm_sess_state(ts) == BCV_SYNCHRONIZED ||
		bcv_tm_sess_state(ts) == BCV_RESTORED);
}

/*
 * Before SPLIT holds the pair @sname/@bname (bcv_session_cmd(), and each
 * pair of bcv_session_split_group()).  A synchronized or restored BCV that
 * lacks tracks (a write that failed on it, a track it missed while its
 * device was away) must get them before it can be the STD's copy: the
 * engine copies them here while the STD's writes go on, and the command
 * holds the pair only for what went stale meanwhile.  It never waits for
 * a copy that cannot run (bcv_copy_blocked(): a paused session, copies to
 * the BCV, or from every leg, backing off after errors, an absent BCV):
 * refused at once, and refused when BCV_SPLIT_STALL_SECS pass without a
 * track copied.  The pair is looked up anew every time round, bcv_lock
 * dropped while it sleeps; a session in another state, or none, is left
 * to the command, which refuses it as ever, except one this catch-up saw
 * lacking tracks and the engine's idle pass then made syncinprog for
 * them: it is waited for until it is synchronized again.
 *
 * Context: may sleep (interruptibly); takes bcv_lock and the STD's
 * state_lock.
 * Return: 0, -EBUSY (*@why and *@state say why) or -EINTR; nothing is
 * changed either way.
 */
static int bcv_split_prepare(const char *sname, const char *bname,
			     struct bcv_tm_why *why, u32 *state)
{
	unsigned long moved = jiffies;
	u64 left = U64_MAX, copied = 0;
	bool seen = false;

	for (;;) {
		struct bcv_volume *std, *bcv;
		struct bcv_tm_sess *ts;
		unsigned int blocked = 0;
		int mm = BCV_NO_POS;
		bool resync = false;
		u64 n = 0, c = 0;

		mutex_lock(&bcv_lock);
		if (!bcv_find_pair(sname, bname, &std, &bcv) &&
		    !bcv->meta.link.used) {
			ts = bcv_tm_session(&std->tm, &bcv->tm);
			mutex_lock(&std->state_lock);
			/*
			 * Once caught up with, a session the engine's idle
			 * pass turned syncinprog for the tracks the catch-up
			 * waits for (bcv_tm_update_states()) is waited for
			 * too, until that pass makes it synchronized again.
			 */
			if (ts && seen && bcv_tm_sess_mm(ts) != BCV_NO_POS &&
			    !bcv_tm_sess_protected(ts) &&
			    bcv_tm_sess_state(ts) == BCV_SYNCINPROG)
				resync = true;
			if (bcv_split_catching(ts) || resync) {
				mm = bcv_tm_sess_mm(ts);
				n = bcv_tm_count_invalid(&std->tm, mm);
				c = atomic64_read(&bcv_tm_session_of(ts)->copied);
				*state = bcv_tm_sess_state(ts);
				if (n)
					seen = true;
			}
			mutex_unlock(&std->state_lock);
			if (n)
				blocked = bcv_copy_blocked(std, mm);
		}
		mutex_unlock(&bcv_lock);
		if (!n && !resync)
			return 0;
		if (blocked) {
			why->reason = blocked;
			why->detail = n;
			return -EBUSY;
		}
		if (n < left || c != copied) {
			left = n;
			copied = c;
			moved = jiffies;
		} else if (time_after(jiffies,
				      moved + BCV_SPLIT_STALL_SECS * HZ)) {
			why->reason = BCV_R_NOT_SYNCED;
			why->detail = n;
			return -EBUSY;
		}
		if (msleep_interruptible(BCV_SPLIT_POLL_MS))
			return -EINTR;
	}
}

/*
 * Caller holds bcv_lock.  BCV_IOC_SESSION once the pair may be looked up:
 * everything bcv_session_cmd() says, with @why for a refusal's reason and
 * *@spare a session for an ESTABLISH (taken: set to NULL).  Also the
 * owed split of a protected restore (bcv_split_due_fn()), which passes
 * no spare.
 */
static int __bcv_session_cmd(struct bcv_session_cmd *c, struct bcv_tm_why *why,
			     struct bcv_session **spare)
{
	struct bcv_tm_sess *tspare, *ts;
	struct bcv_volume *std, *bcv;
	struct bcv_session *s;
	struct bcv_tm_cmd tc = {
		.diff = c->flags & BCV_CMD_F_DIFF,
		.incremental = c->flags & BCV_CMD_F_INCREMENTAL,
		.force = c->flags & BCV_CMD_F_FORCE,
		.protect = c->flags & BCV_CMD_F_PROTECT,
		.why = why,
	};
	bool new_session = false, detach, undo = false;
	unsigned int kept = 0, blocked = 0;
	int ret, mm_before = BCV_NO_POS;
	u64 held, errs = 0;

	lockdep_assert_held(&bcv_lock);
	ret = bcv_find_pair(c->std, c->bcv, &std, &bcv);
	/*
	 * A session one side of which is not here (SPEC 13): split --force,
	 * ABORT and TERMINATE end it by the names the other side remembers.
	 */
	if (c->cmd == BCV_CMD_TERMINATE || c->cmd == BCV_CMD_ABORT ||
	    (c->cmd == BCV_CMD_SPLIT && tc.force)) {
		struct bcv_volume *sv = __bcv_find(c->std);
		struct bcv_volume *bv = __bcv_find(c->bcv);

		if (sv && sv->role == BCV_ROLE_STD &&
		    (!bv || (bv->role == BCV_ROLE_BCV && !bv->meta.link.used &&
			     !bcv_tm_session(&sv->tm, &bv->tm)))) {
			s = __bcv_absent_session(sv, c->bcv);
			if (s) {
				ret = __bcv_absent_cmd(sv, s, c, &tc);
				goto out;
			}
		}
		if (bv && bv->role == BCV_ROLE_BCV && bv->meta.link.used &&
		    c->cmd != BCV_CMD_ABORT &&
		    bcv_names(c->std, bv->meta.link.std_name,
			      bv->meta.link.std_uuid) &&
		    (!sv || !__bcv_absent_session(sv, bv->name))) {
			ret = __bcv_release(bv);
			c->state = 0;
			goto out;
		}
	}
	if (ret) {
		why->reason = ret == -ENOENT ? BCV_R_NO_VOLUME : BCV_R_ROLE;
		goto out;
	}

	/* In a session with a STD that is not assembled. */
	ret = -EBUSY;
	why->reason = BCV_R_PEER_ABSENT;
	if (bcv->meta.link.used)
		goto out;
	/*
	 * The STD has a session that remembers this BCV but that it does
	 * not know of (it was released while the STD was away, or its
	 * superblock missed the attach): end that one first (split --force
	 * and terminate by its name), not a second session for one BCV.
	 */
	if (c->cmd == BCV_CMD_ESTABLISH &&
	    !bcv_tm_session(&std->tm, &bcv->tm) &&
	    __bcv_absent_session(std, bcv->name))
		goto out;
	why->reason = BCV_R_NONE;

	if (c->cmd == BCV_CMD_TERMINATE) {
		ret = __bcv_terminate(std, bcv);
		c->state = 0;
		goto out_state;
	}
	if (c->cmd == BCV_CMD_PAUSE || c->cmd == BCV_CMD_RESUME) {
		ret = __bcv_pause(std, bcv, c->cmd == BCV_CMD_PAUSE, &c->state);
		goto out_state;
	}
	detach = c->cmd == BCV_CMD_SPLIT || c->cmd == BCV_CMD_ABORT;
	if (!detach) {
		ret = __bcv_check_attach(std, bcv);
		if (ret) {
			why->reason = ret == -ELOOP ? BCV_R_LOOP : BCV_R_BLOCK_SIZE;
			goto out;
		}
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
	tc.std_openers = std->open_count;
	tc.bcv_openers = bcv->open_count;
	if (c->cmd != BCV_CMD_RESTORE)
		mutex_unlock(&std->open_lock);
	if (detach)
		mutex_unlock(&bcv->open_lock);

	held = ktime_get_ns();
	bcv_hold_pair(std, bcv);
	ts = bcv_tm_session(&std->tm, &bcv->tm);
	if (ts)
		mm_before = bcv_tm_sess_mm(ts);
	/*
	 * The last step of SPLIT's catch-up (bcv_split_prepare() did the
	 * rest without holding anything): tracks that went stale since, if
	 * a copy can bring them; else it is refused at once, the STD held
	 * no longer than this look.
	 */
	if (c->cmd == BCV_CMD_SPLIT && !tc.force && bcv_split_catching(ts)) {
		int mm = bcv_tm_sess_mm(ts);

		blocked = bcv_copy_blocked(std, mm);
		if (!blocked)
			bcv_catch_up(std, mm, BCV_SPLIT_HELD_SECS * HZ);
	}
	/*
	 * A RESTORE needs every leg of the BCV valid (bcv-design.rst section 4): let a
	 * fixed mirror that is still syncing after a split finish first, as
	 * SPLIT does for the STD, rather than refuse.
	 */
	if (c->cmd == BCV_CMD_RESTORE && ts && bcv_tm_sess_state(ts) == BCV_SPLIT) {
		unsigned int p;

		for (p = 0; p < bcv->nr_legs; p++)
			bcv_catch_up(bcv, p, 30 * HZ);
	}
	if (c->cmd == BCV_CMD_RESTORE || c->cmd == BCV_CMD_ABORT)
		errs = bcv_std_errors(std);
	if (c->cmd == BCV_CMD_RESTORE)
		kept = bcv_std_whole(std);
	if (c->cmd == BCV_CMD_ABORT && ts &&
	    bcv_tm_session_of(ts)->restore_errs == errs)
		kept = bcv_tm_session_of(ts)->restore_kept;
	/* An aborted restore changes the STD's data back: drop its cache. */
	undo = c->cmd == BCV_CMD_ABORT && ts &&
	       bcv_tm_sess_state(ts) == BCV_RESTINPROG;
	bcv_state_lock(std);
	switch (c->cmd) {
	case BCV_CMD_ESTABLISH:
		tspare = &(*spare)->tm;
		new_session = !bcv_tm_session(&std->tm, &bcv->tm);
		/* Before the table code: its state hook reads them. */
		(*spare)->std = std;
		(*spare)->bcv = bcv;
		memcpy((*spare)->bcv_uuid, bcv->meta.uuid,
		       sizeof((*spare)->bcv_uuid));
		strscpy((*spare)->bcv_name, bcv->name, sizeof((*spare)->bcv_name));
		ret = bcv_tm_establish(&std->tm, &bcv->tm, &tc, &tspare);
		if (!ret && new_session)
			*spare = NULL;
		break;
	case BCV_CMD_SPLIT:
		ret = bcv_tm_split(&std->tm, &bcv->tm, &tc);
		if (ret == -EBUSY && blocked &&
		    why->reason == BCV_R_NOT_SYNCED)
			why->reason = blocked;
		break;
	case BCV_CMD_REESTABLISH:
		ret = bcv_tm_reestablish(&std->tm, &bcv->tm, &tc);
		break;
	case BCV_CMD_RESTORE:
		/*
		 * A protected restore's host writes reach the STD's legs
		 * only; without write intent nothing on disk says so, and a
		 * crash would restore those tracks from the BCV again.
		 */
		if (tc.protect && !std->meta.intent) {
			ret = -EINVAL;
			why->reason = BCV_R_NO_INTENT;
			break;
		}
		ret = bcv_tm_restore(&std->tm, &bcv->tm, &tc);
		break;
	case BCV_CMD_ABORT:
		ret = bcv_tm_abort(&std->tm, &bcv->tm, kept);
		if (ret == -EBUSY) {
			enum bcv_state st = bcv_tm_sess_state(ts);

			why->reason = st == BCV_RESTINPROG ? BCV_R_ABORT_UNSAFE :
				     st == BCV_SYNCINPROG ? BCV_R_ONLY_COPY :
				     BCV_R_STATE;
		}
		break;
	default:
		ret = -EINVAL;
	}
	ts = bcv_tm_session(&std->tm, &bcv->tm);
	s = ts ? bcv_tm_session_of(ts) : NULL;
	if (!ret && s && !detach)
		bcv_reset_counters(s);
	if (!ret && c->cmd == BCV_CMD_RESTORE) {
		s->restore_kept = kept;
		s->restore_errs = errs;
	}
	c->state = s ? bcv_tm_sess_state(&s->tm) : 0;
	mutex_unlock(&std->state_lock);

	/*
	 * The session at the STD's mirror positions changed (attached there,
	 * or gone), and the BCV's copies are another session's now: waits
	 * the old one's copy_throttle left there end.
	 */
	if (!ret) {
		int mm = s ? bcv_tm_sess_mm(&s->tm) : BCV_NO_POS;

		bcv_copy_fresh(std, (mm_before != BCV_NO_POS ? 1U << mm_before : 0) |
			       (mm != BCV_NO_POS ? 1U << mm : 0));
		bcv_copy_fresh(bcv, BIT(BCV_POSITIONS) - 1);
	}

	if (!ret && detach)
		bcv_drop_cache(bcv);
	if (!ret && (c->cmd == BCV_CMD_RESTORE || undo))
		bcv_drop_cache(std);
	/* A BCV joined or left the STD's writes: flushes must follow. */
	if (!ret)
		bcv_update_features(std);
	/*
	 * The tables and superblocks say what the command did before either
	 * volume takes I/O again (bcv_meta_commit(): new C/I bits, then the
	 * superblocks, then new U/V bits): a split BCV's users write
	 * nothing that a reboot would take for an attached mirror's, and no
	 * copy reaches a BCV that a reboot would take for a split one.
	 */
	/*
	 * The superblock that makes the BCV usable to its own users goes
	 * last: a command that attaches it writes the BCV's first (a crash
	 * between leaves it attached, not ready, and the STD's record, which
	 * says split, links it back split: bcv_tm_sess_link()); one that
	 * detaches it writes the STD's first (a crash between leaves the BCV
	 * not ready until the STD says split).  Never can the BCV stand
	 * alone as split, open to writes, while its STD counts on its data.
	 */
	if (!ret)
		bcv_meta_commit(detach ? std : bcv, detach ? bcv : std);

	bcv_unhold(bcv);
	bcv_unhold(std);
	if (!ret && c->cmd == BCV_CMD_SPLIT) {
		s->split_time = ktime_get_real_seconds();
		s->split_hold_ns = ktime_get_ns() - held;
	}
	if (c->cmd == BCV_CMD_RESTORE)
		mutex_unlock(&std->open_lock);
	if (!detach)
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
			[BCV_CMD_ABORT] = "abort",
		};

		pr_info("%s: %s%s%s%s%s %s/%s (session %u): %s\n",
			std->disk->disk_name, names[c->cmd],
			tc.diff ? " --diff" : "",
			tc.incremental ? " --incremental" : "",
			tc.force ? " --force" : "",
			tc.protect ? " --protect" : "",
			std->name, bcv->name, bcv_tm_sess_id(&s->tm),
			bcv_state_name(bcv_tm_sess_state(&s->tm)));
		bcv_state_changed();
	}
out_state:
	if (ret) {
		/* A refusal says the state the session is in. */
		ts = bcv_tm_session(&std->tm, &bcv->tm);
		mutex_lock(&std->state_lock);
		c->state = ts ? bcv_tm_sess_state(ts) : 0;
		mutex_unlock(&std->state_lock);
		if (!why->reason)
			why->reason = ret == -ENOENT ? BCV_R_NO_SESSION :
				      ret == -EBUSY ? BCV_R_STATE : BCV_R_NONE;
	}
out:
	return ret;
}

/**
 * bcv_session_cmd() - BCV_IOC_SESSION: ESTABLISH, SPLIT, REESTABLISH,
 * RESTORE or TERMINATE on a STD/BCV pair
 * @c: the request (validated for syntax by bcv_ioctl.c); @c->state is
 *     filled in
 *
 * A SPLIT first lets a synchronized BCV catch up with tracks it lacks,
 * without holding the pair (bcv_split_prepare()).
 *
 * Context: may sleep; takes bcv_lock, the volumes' open_locks and the
 * STD's state_lock, and holds both volumes' I/O meanwhile.
 * Return: 0, or -ENOENT, -EINVAL, -EBUSY, -ENOSPC, -ELOOP, -ENOMEM, -EINTR
 * (a signal while SPLIT waited for the catch-up); a refused command
 * changes nothing.
 */
int bcv_session_cmd(struct bcv_session_cmd *c)
{
	struct bcv_tm_why why = { BCV_R_NONE, 0 };
	struct bcv_session *spare = NULL;
	int ret;

	if (c->cmd == BCV_CMD_ESTABLISH) {
		spare = bcv_session_alloc();
		if (!spare)
			return -ENOMEM;
	}
	if (c->cmd == BCV_CMD_SPLIT && !(c->flags & BCV_CMD_F_FORCE)) {
		ret = bcv_split_prepare(c->std, c->bcv, &why, &c->state);
		if (ret)
			goto out;
	}
	mutex_lock(&bcv_lock);
	ret = __bcv_session_cmd(c, &why, &spare);
	mutex_unlock(&bcv_lock);
out:
	if (ret) {
		c->reason = why.reason;
		c->detail = min_t(u64, why.detail, U32_MAX);
	}
	bcv_session_put(spare);
	return ret;
}

/**
 * bcv_session_split_group() - BCV_IOC_SPLIT_GROUP: a consistent split
 * @g: the request (syntax checked by bcv_ioctl.c); @g->failed and
 *     @g->hold_ns are filled in
 * @pairs: its @g->nr_pairs pairs
 *
 * Each pair first catches up what its BCV lacks without holding anything
 * (bcv_split_prepare()).  Then every volume named is held at once
 * (bcv_hold_many(): the STDs' writes in flight drain, new ones wait), the
 * tracks that went stale meanwhile are caught up as SPLIT does, every pair
 * is checked (bcv_tm_split_check()), and only if all pass is every BCV
 * detached; then the metadata is written as one commit and all are
 * released.  So the BCVs hold their STDs as of one instant.
 *
 * The commit writes every STD's superblock before any BCV's: a STD's
 * superblock records all its sessions, so one write switches every pair
 * of the group on that STD to split, and a crash leaves them all split or
 * all attached (each BCV links back to what its STD's record says,
 * bcv_tm_sess_link()).  Only after the last STD's do the BCVs' own
 * superblocks, which make them usable, follow.
 *
 * Context: may sleep; takes bcv_lock and the STDs' state_locks.
 * Return: 0, or the errno of the pair @g->failed (-ENOENT, -EINVAL for a
 * wrong role or a BCV or pair named twice, -EBUSY for a state, as SPLIT),
 * -EINTR (a signal while a pair caught up) or -ENOMEM; nothing is split
 * then.
 */
int bcv_session_split_group(struct bcv_split_group *g,
			    const struct bcv_pair *pairs)
{
	struct bcv_tm_why why = { BCV_R_NONE, 0 };
	struct bcv_tm_cmd tc = { .diff = g->flags & BCV_CMD_F_DIFF, .why = &why };
	struct bcv_volume **vols, **order, *std, *bcv;
	struct bcv_tm_sess *ts;
	unsigned int i, j, n = 0, k, nr = g->nr_pairs, blocked;
	u32 state = 0;
	u64 held;
	int ret = 0;

	/*
	 * Each pair's STD and BCV (2 * nr), then the distinct ones among
	 * them (at most 2 * nr more), then the same in commit order (STDs
	 * first).
	 */
	vols = kcalloc(6 * nr, sizeof(*vols), GFP_KERNEL);
	if (!vols)
		return -ENOMEM;
	order = vols + 4 * nr;

	for (i = 0; i < nr; i++) {
		ret = bcv_split_prepare(pairs[i].std, pairs[i].bcv, &why, &state);
		if (ret) {
			g->failed = i;
			goto out_free;
		}
	}

	mutex_lock(&bcv_lock);
	for (i = 0; i < nr; i++) {
		ret = bcv_find_pair(pairs[i].std, pairs[i].bcv, &std, &bcv);
		if (ret)
			why.reason = ret == -ENOENT ? BCV_R_NO_VOLUME : BCV_R_ROLE;
		if (!ret && bcv->meta.link.used) {
			ret = -EBUSY;	/* its STD is not assembled */
			why.reason = BCV_R_PEER_ABSENT;
		}
		if (!ret && !bcv_tm_session(&std->tm, &bcv->tm)) {
			ret = -ENOENT;
			why.reason = BCV_R_NO_SESSION;
		}
		for (j = 0; !ret && j < i; j++)
			if (vols[2 * j + 1] == bcv)
				ret = -EINVAL;	/* a BCV (or pair) twice */
		if (ret) {
			g->failed = i;
			goto out;
		}
		vols[2 * i] = std;
		vols[2 * i + 1] = bcv;
	}
	for (i = 0; i < 2 * nr; i++) {
		for (j = 0; j < n && vols[2 * nr + j] != vols[i]; j++)
			;
		if (j == n)
			vols[2 * nr + n++] = vols[i];
	}
	for (k = 0, i = 0; i < n; i++)
		if (vols[2 * nr + i]->role == BCV_ROLE_STD)
			order[k++] = vols[2 * nr + i];
	for (i = 0; i < n; i++)
		if (vols[2 * nr + i]->role == BCV_ROLE_BCV)
			order[k++] = vols[2 * nr + i];

	held = ktime_get_ns();
	bcv_hold_many(vols + 2 * nr, n);
	/* What went stale since bcv_split_prepare(), if a copy can run. */
	for (i = 0; i < nr && !ret; i++) {
		std = vols[2 * i];
		ts = bcv_tm_session(&std->tm, &vols[2 * i + 1]->tm);
		if (!bcv_split_catching(ts) ||
		    !bcv_tm_count_invalid(&std->tm, bcv_tm_sess_mm(ts)))
			continue;
		blocked = bcv_copy_blocked(std, bcv_tm_sess_mm(ts));
		if (blocked) {
			ret = -EBUSY;
			why.reason = blocked;
			why.detail = bcv_tm_count_invalid(&std->tm,
							  bcv_tm_sess_mm(ts));
			g->failed = i;
			break;
		}
		bcv_catch_up(std, bcv_tm_sess_mm(ts), BCV_SPLIT_HELD_SECS * HZ);
	}
	for (i = 0; i < nr && !ret; i++) {
		std = vols[2 * i];
		mutex_lock(&std->state_lock);
		ret = bcv_tm_split_check(&std->tm, &vols[2 * i + 1]->tm, &tc);
		ts = bcv_tm_session(&std->tm, &vols[2 * i + 1]->tm);
		if (ret && why.reason == BCV_R_STATE)
			why.detail = bcv_tm_sess_state(ts);
		mutex_unlock(&std->state_lock);
		if (ret)
			g->failed = i;
	}
	for (i = 0; i < nr && !ret; i++) {
		int mm;

		std = vols[2 * i];
		bcv = vols[2 * i + 1];
		mutex_lock(&std->state_lock);
		mm = bcv_tm_sess_mm(bcv_tm_session(&std->tm, &bcv->tm));
		WARN_ON_ONCE(bcv_tm_split(&std->tm, &bcv->tm, &tc));
		mutex_unlock(&std->state_lock);
		bcv_drop_cache(bcv);
		bcv_update_features(std);
		bcv_copy_fresh(std, 1U << mm);
		bcv_copy_fresh(bcv, BIT(BCV_POSITIONS) - 1);
	}
	/*
	 * Before any volume takes I/O again, as bcv_session_cmd(), and as
	 * one commit: every STD's superblock (all of its pairs at once), then
	 * every BCV's.
	 */
	if (!ret)
		bcv_meta_commit_many(order, n);
	for (i = 0; i < n; i++)
		bcv_unhold(vols[2 * nr + i]);
	g->hold_ns = ktime_get_ns() - held;
	for (i = 0; i < nr && !ret; i++) {
		struct bcv_session *s;

		std = vols[2 * i];
		bcv = vols[2 * i + 1];
		ts = bcv_tm_session(&std->tm, &bcv->tm);
		s = bcv_tm_session_of(ts);
		s->split_time = ktime_get_real_seconds();
		s->split_hold_ns = g->hold_ns;
		pr_info("%s: split --consistent%s %s/%s (session %u, %u of %u): %s\n",
			std->disk->disk_name, tc.diff ? " --diff" : "",
			std->name, bcv->name, bcv_tm_sess_id(ts), i + 1, nr,
			bcv_state_name(bcv_tm_sess_state(ts)));
	}
	if (!ret)
		bcv_state_changed();
out:
	mutex_unlock(&bcv_lock);
out_free:
	if (ret) {
		g->reason = why.reason;
		g->detail = min_t(u64, why.detail, U32_MAX);
	}
	kfree(vols);
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
	strscpy(i->bcv, s->bcv_name, sizeof(i->bcv));
	i->id = bcv_tm_sess_id(&s->tm);
	i->state = bcv_tm_sess_state(&s->tm);
	i->mm = bcv_tm_sess_mm(&s->tm);
	i->track_size = 1U << bcv_vol_track_shift(s->std);
	i->tracks = bcv_vol_tracks(s->std);
	i->invalid_tracks = bcv_tm_session_todo(&s->tm);
	i->std_changed_tracks = bcv_tm_count_changed(&s->std->tm, bcv_tm_sess_id(&s->tm));
	i->bcv_changed_tracks = s->bcv ?
				bcv_tm_count_invalid(&s->bcv->tm, BCV_M4B) : 0;
	i->copied_tracks = atomic64_read(&s->copied);
	i->errors = atomic64_read(&s->errors);
	i->flags = READ_ONCE(s->paused) ? BCV_SESS_F_PAUSED : 0;
	if (bcv_tm_sess_protected(&s->tm))
		i->flags |= BCV_SESS_F_PROTECT;
	i->split_time = s->split_time;
	i->split_hold_ns = s->split_hold_ns;
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

/*
 * The session's state into @w->state (0 with -ENOENT/-EINVAL), whether it
 * is a protected restore, and whether the split that ends one is stuck
 * (@w->reason and @w->detail say why).  Takes bcv_lock.
 */
static int bcv_pair_state(struct bcv_wait *w, bool *protect, bool *stuck)
{
	struct bcv_volume *std, *bcv;
	struct bcv_tm_sess *ts;
	int ret;

	mutex_lock(&bcv_lock);
	ret = bcv_find_pair(w->std, w->bcv, &std, &bcv);
	if (!ret) {
		ts = bcv_tm_session(&std->tm, &bcv->tm);
		if (ts) {
			struct bcv_session *s = bcv_tm_session_of(ts);

			mutex_lock(&std->state_lock);
			w->state = bcv_tm_sess_state(ts);
			*protect = bcv_tm_sess_protected(ts);
			*stuck = s->split_due && s->split_stuck && s->split_why;
			w->reason = *stuck ? s->split_why : 0;
			w->detail = *stuck ? min_t(u64, s->split_detail, U32_MAX) : 0;
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
 * (a protected restore: until it is split again)
 * @w: the request; @w->state is filled in, and with -EBUSY @w->reason and
 *     @w->detail
 *
 * A protected restore that is done but whose split was refused with the
 * STD's copy engine idle (the STD's legs lack tracks that no copy can
 * bring now: paused, failing) returns -EBUSY at once: nothing changes
 * until the cause is taken away, and then bcv splits it by itself.
 *
 * Context: may sleep (interruptibly); takes bcv_lock now and then.
 * Return: 0, -ENOENT (no such session, or it ended), -EINVAL, -ETIMEDOUT,
 * -EINTR or -EBUSY.
 */
int bcv_session_wait(struct bcv_wait *w)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(w->timeout_ms);
	long left = MAX_SCHEDULE_TIMEOUT, woke;
	bool protect = false, stuck = false;
	int ret, gen;

	for (;;) {
		gen = atomic_read(&bcv_state_gen);
		ret = bcv_pair_state(w, &protect, &stuck);
		if (ret)
			return ret;
		/* A protected restore ends split (bcv_split_due_fn()). */
		if (w->state == BCV_RESTORED && protect) {
			if (stuck)
				return -EBUSY;
		} else if (w->state != BCV_SYNCINPROG &&
			   w->state != BCV_RESTINPROG) {
			return 0;
		}
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

/*------------------------------------------------------------------------
 * Stop and assembly (the metadata itself is bcv_meta.c's)
 */

/*
 * Caller holds bcv_lock.  @bcv is assembled and its session @s of a STD
 * has no BCV: link them, with both volumes held.  A BCV that its users
 * opened while it stood alone as split stays apart if the STD wants it
 * attached, until it is closed (bcv_link_work()) or a command names the
 * pair (bcv_find_pair()).
 */
static void __bcv_link(struct bcv_session *s, struct bcv_volume *bcv)
{
	struct bcv_volume *std = s->std;
	int ret;

	lockdep_assert_held(&bcv_lock);
	/*
	 * Only a BCV that stood alone as split (its own superblock said so:
	 * a crash in the middle of a command) can have users who wrote to
	 * it; one that says attached was never ready to anybody, and a
	 * short open (udev probing the new disk) does not matter.  Its
	 * writes are in M4b, which the link merges.
	 */
	mutex_lock(&bcv->open_lock);
	if (bcv_tm_sess_mm(&s->tm) != BCV_NO_POS && bcv->open_count &&
	    bcv->meta.link.state == BCV_STATE_SPLIT) {
		mutex_unlock(&bcv->open_lock);
		pr_warn("%s: open: re-attached to %s once it is closed\n",
			bcv->name, std->name);
		return;
	}
	bcv_hold_pair(std, bcv);
	mutex_lock(&std->state_lock);
	ret = bcv_tm_sess_link(&s->tm, &bcv->tm);
	if (!ret) {
		/*
		 * It says attached, the STD says split: let go while it was
		 * away (__bcv_absent_cmd()), or a crash between a split's two
		 * superblocks.  Its fixed mirrors may lack what its primary
		 * took while attached.
		 */
		if (bcv_tm_sess_mm(&s->tm) == BCV_NO_POS &&
		    bcv->meta.link.state != BCV_STATE_SPLIT) {
			spin_lock_irq(&bcv->lock);
			bcv_tm_fixed_follow_primary(&bcv->tm);
			spin_unlock_irq(&bcv->lock);
		}
		s->bcv = bcv;
		WRITE_ONCE(bcv->meta.link.used, false);
	}
	mutex_unlock(&std->state_lock);
	if (!ret) {
		bcv_update_features(std);
		bcv_meta_commit(std, bcv);
		/* Another session at its position before: its waits end. */
		if (bcv_tm_sess_mm(&s->tm) != BCV_NO_POS)
			bcv_copy_fresh(std, 1U << bcv_tm_sess_mm(&s->tm));
		bcv_copy_fresh(bcv, BIT(BCV_POSITIONS) - 1);
	}
	bcv_unhold(bcv);
	bcv_unhold(std);
	mutex_unlock(&bcv->open_lock);
	if (ret) {
		pr_warn("%s: cannot link %s to its session %u: %d\n",
			std->name, bcv->name, bcv_tm_sess_id(&s->tm), ret);
		return;
	}
	/* An owed split waited for the BCV. */
	if (READ_ONCE(s->split_due))
		bcv_split_due_kick();
	pr_info("%s: %s is back in session %u (%s)%s\n", std->name, bcv->name,
		bcv_tm_sess_id(&s->tm), bcv_state_name(bcv_tm_sess_state(&s->tm)),
		bcv_tm_sess_mm(&s->tm) != BCV_NO_POS ?
		", catching up incrementally" : "");
	bcv_state_changed();
}

/* Caller holds bcv_lock: link @vol with the assembled peers of its sessions. */
static void __bcv_link_peers(struct bcv_volume *vol)
{
	struct bcv_volume *peer;
	unsigned int c;

	lockdep_assert_held(&bcv_lock);
	if (vol->role == BCV_ROLE_BCV) {
		struct bcv_meta_link *l = &vol->meta.link;
		struct bcv_tm_sess *ts;
		struct bcv_session *s;

		if (!l->used)
			return;
		peer = __bcv_find_uuid(l->std_uuid);
		if (!peer || peer->role != BCV_ROLE_STD)
			return;
		ts = bcv_tm_column(&peer->tm, l->id);
		s = ts ? bcv_tm_session_of(ts) : NULL;
		if (!s || s->bcv ||
		    memcmp(s->bcv_uuid, vol->meta.uuid, BCV_FMT_UUID_LEN)) {
			pr_warn("%s: %s has no session %u with it: left alone\n",
				vol->name, peer->name, l->id);
			return;
		}
		__bcv_link(s, vol);
		return;
	}
	for (c = 0; c < BCV_SESSIONS; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, c);
		struct bcv_session *s;

		if (!ts)
			continue;
		s = bcv_tm_session_of(ts);
		peer = __bcv_find_uuid(s->bcv_uuid);
		if (!peer)
			continue;
		if (peer->role != BCV_ROLE_BCV || !peer->meta.link.used ||
		    memcmp(peer->meta.link.std_uuid, vol->meta.uuid,
			   BCV_FMT_UUID_LEN) || peer->meta.link.id != c) {
			pr_warn("%s: %s does not say it is in session %u: left alone\n",
				vol->name, peer->name, c);
			continue;
		}
		__bcv_link(s, peer);
	}
}

/**
 * bcv_stop_cmd() - BCV_IOC_STOP
 * @name: the volume
 *
 * The tables and a clean superblock go to every leg, then the volume is
 * removed from the kernel (not its metadata).  A STD's BCVs stay, waiting
 * for it; a BCV's STD goes on without it and marks what it misses.
 *
 * Context: may sleep; takes bcv_lock.
 * Return: 0, -ENOENT, -EBUSY (open, or a restore reads from it) or the
 * error of a metadata write (the volume then stays).
 */
int bcv_stop_cmd(const char *name)
{
	struct bcv_volume *vol, *peer;
	struct bcv_tm_sess *ts;
	unsigned int c;
	int ret = 0;

	mutex_lock(&bcv_lock);
	vol = __bcv_find(name);
	if (!vol) {
		ret = -ENOENT;
		goto out;
	}
	ts = vol->role == BCV_ROLE_BCV ? bcv_tm_vol_session(&vol->tm) : NULL;
	mutex_lock(&vol->open_lock);
	if (vol->open_count ||
	    (ts && bcv_tm_sess_state(ts) == BCV_RESTINPROG))
		ret = -EBUSY;
	else
		vol->dying = true;	/* ->open refuses from now on */
	mutex_unlock(&vol->open_lock);
	if (ret)
		goto out;

	/*
	 * Held from here to the end: no I/O, no copy changes the tables.  A
	 * BCV in a session holds its STD too, first: the STD's writes and
	 * copies to its primary stop before its cache is flushed and its
	 * tables written (bcv_meta_stop()), so nothing reaches it unflushed
	 * that the STD's tables call valid once it is gone.
	 */
	peer = ts ? bcv_tm_session_of(ts)->std : NULL;
	if (peer)
		bcv_hold_pair(peer, vol);
	else
		bcv_hold(vol);
	ret = bcv_meta_stop(vol);
	if (ret) {
		mutex_lock(&vol->open_lock);
		vol->dying = false;
		mutex_unlock(&vol->open_lock);
		bcv_unhold(vol);
		if (peer)
			bcv_unhold(peer);
		goto out;
	}

	if (vol->role == BCV_ROLE_STD) {
		for (c = 0; c < BCV_SESSIONS; c++) {
			struct bcv_session *s;

			ts = bcv_tm_column(&vol->tm, c);
			if (!ts)
				continue;
			s = bcv_tm_session_of(ts);
			peer = s->bcv;
			if (peer) {
				struct bcv_meta_link *l = &peer->meta.link;

				bcv_hold(peer);
				memcpy(l->std_uuid, vol->meta.uuid,
				       sizeof(l->std_uuid));
				strscpy(l->std_name, vol->name,
					sizeof(l->std_name));
				l->id = c;
				l->state = bcv_tm_sess_state(ts);
				mutex_lock(&vol->state_lock);
				bcv_tm_sess_unlink(ts);
				s->bcv = NULL;
				mutex_unlock(&vol->state_lock);
				WRITE_ONCE(l->used, true);
				bcv_unhold(peer);
			}
			if (s->kobj_added)
				kobject_del(&s->kobj);
			bcv_session_put(s);
		}
	} else if (ts) {
		struct bcv_session *s = bcv_tm_session_of(ts);

		mutex_lock(&peer->state_lock);
		bcv_tm_sess_unlink(ts);
		s->bcv = NULL;
		mutex_unlock(&peer->state_lock);
		bcv_update_features(peer);
		bcv_unhold(peer);
		/* A checkpoint of the STD may still flush our device. */
		bcv_meta_barrier(peer);
		pr_info("%s: %s stopped: %s tracks what it misses\n",
			peer->name, vol->name, peer->name);
	}
	__bcv_volume_unlist(vol);
	mutex_unlock(&bcv_lock);
	bcv_volume_free(vol);
	bcv_state_changed();
	return 0;
out:
	mutex_unlock(&bcv_lock);
	return ret;
}

/*
 * Caller owns @vol (being assembled, not listed: bcv_assert_owner()).
 * Recreate the sessions of a STD being assembled from its superblock @sb
 * (not linked to their BCVs yet).
 */
static int __bcv_load_sessions(struct bcv_volume *vol, const struct bcv_sb *sb)
{
	unsigned int c;
	int ret;

	bcv_assert_owner(vol);
	if (vol->role == BCV_ROLE_BCV) {
		const struct bcv_sb_sess *r = &sb->link;
		struct bcv_meta_link *l = &vol->meta.link;

		if (!(le32_to_cpu(r->flags) & BCV_SB_SESS_USED))
			return 0;
		memcpy(l->std_uuid, r->peer_uuid, sizeof(l->std_uuid));
		strscpy(l->std_name, r->peer_name, sizeof(l->std_name));
		l->id = le32_to_cpu(r->id);
		l->state = le32_to_cpu(r->state);
		l->used = true;
		return 0;
	}
	for (c = 0; c < BCV_SESSIONS; c++) {
		const struct bcv_sb_sess *r = &sb->sess[c];
		u32 mm = le32_to_cpu(r->mm);
		struct bcv_session *s;

		if (!(le32_to_cpu(r->flags) & BCV_SB_SESS_USED))
			continue;
		s = bcv_session_alloc();
		if (!s)
			return -ENOMEM;
		ret = bcv_tm_sess_load(&vol->tm, &s->tm, c, le32_to_cpu(r->state),
				       mm < BCV_POSITIONS ? (int)mm : BCV_NO_POS);
		if (ret) {
			bcv_session_put(s);
			return ret;
		}
		if (le32_to_cpu(r->flags) & BCV_SB_SESS_PROTECT)
			bcv_tm_sess_protect(&s->tm);
		s->std = vol;
		/*
		 * A protected restore that is done but was not split (a stop
		 * or crash came first, or the split was refused): it is owed
		 * still (bcv_split_due_fn(), once the BCV is linked).
		 */
		if (bcv_tm_sess_protected(&s->tm) &&
		    bcv_tm_sess_state(&s->tm) == BCV_RESTORED) {
			mutex_lock(&vol->state_lock);
			bcv_split_due_set(s);
			mutex_unlock(&vol->state_lock);
		}
		memcpy(s->bcv_uuid, r->peer_uuid, sizeof(s->bcv_uuid));
		strscpy(s->bcv_name, r->peer_name, sizeof(s->bcv_name));
	}
	return 0;
}

/* Caller owns @vol.  Free the sessions of a volume never published. */
static void __bcv_drop_sessions(struct bcv_volume *vol)
{
	unsigned int c;

	for (c = 0; c < BCV_SESSIONS && vol->role == BCV_ROLE_STD; c++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, c);

		if (ts)
			bcv_session_put(bcv_tm_session_of(ts));
	}
}

/**
 * bcv_assemble_cmd() - BCV_IOC_ASSEMBLE
 * @a: the request (syntax checked by bcv_ioctl.c); out fields filled in
 *
 * Reads and checks the superblock of every device given, orders them by
 * position, loads the tables from a leg that holds the data, applies the
 * rules for stale legs and for an unclean shutdown (bcv_meta.h), writes
 * the superblocks "not clean" and publishes the volume; then links it
 * with the assembled volumes of its sessions.
 *
 * bcv_lock is held only for the steps that need the list of volumes:
 *  1. the legs are opened, exclusively (no create, leg add or other
 *     assembly can take them from then on);
 *  2. (without the lock) their superblocks are read and checked;
 *  3. the volume's UUID and name are checked and reserved (bcv_assembling:
 *     no second assembly of the volume, no create of its name);
 *  4. (without the lock) the tables are allocated (bcv.max_table_share),
 *     read, recovered and written again, the superblocks written: the
 *     volume is not listed, so no command can find it meanwhile (nor stop
 *     or remove it) and every other command goes on;
 *  5. the volume is published, listed and linked with its peers.
 *
 * Context: may sleep; takes bcv_lock (not across the table I/O).
 * Return: 0, -ENODATA (a device without a valid superblock), -EINVAL
 * (devices that do not make one volume), -EEXIST, -EFBIG (tables larger
 * than bcv.max_table_share leaves; @a's table_mib and table_left_mib say
 * by how much), or an error of opening or reading a device; nothing is
 * written then.
 */
int bcv_assemble_cmd(struct bcv_assemble *a)
{
	struct bcv_meta_sb msb[BCV_MAX_LEGS] = { };
	unsigned int i, nr = a->nr_legs, stale = 0, seen = 0;
	struct bcv_leg legs[BCV_MAX_LEGS];
	const char *why = NULL;
	struct bcv_volume *vol;
	struct bcv_sb *best;
	u64 events = 0, seq = 0, need = 0, left = 0;
	int ret, bi = -1, src = -1, insync = -1;
	bool clean;

	mutex_lock(&bcv_lock);
	vol = __bcv_volume_open(a->legs, nr);
	mutex_unlock(&bcv_lock);
	ret = PTR_ERR_OR_ZERO(vol);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		ret = bcv_meta_read_sb(bcv_leg_bdev(vol, i), &msb[i]);
		if (ret) {
			pr_warn("assemble: %pg: %s\n", bcv_leg_bdev(vol, i),
				ret != -ENODATA ? "cannot read its superblock" :
				msb[i].bad == 3 ? "both superblock copies are damaged" :
				"no valid bcv superblock");
			goto out_vol;
		}
		if (msb[i].bad)
			pr_warn("assemble: %pg: superblock copy %d is damaged; using copy %d\n",
				bcv_leg_bdev(vol, i), ffs(msb[i].bad) - 1,
				msb[i].copy);
		if (bi < 0 || le64_to_cpu(msb[i].sb->events) > events) {
			bi = i;
			events = le64_to_cpu(msb[i].sb->events);
		}
		seq = max(seq, le64_to_cpu(msb[i].sb->seq));
	}
	best = msb[bi].sb;

	ret = -EINVAL;
	if (le32_to_cpu(best->nr_legs) != nr) {
		why = "not every leg of the volume was given";
		goto out_why;
	}
	for (i = 0; i < nr; i++) {
		struct bcv_sb *sb = msb[i].sb;
		u32 pos = le32_to_cpu(sb->leg_pos);

		if (memcmp(sb->vol_uuid, best->vol_uuid, BCV_FMT_UUID_LEN) ||
		    sb->role != best->role || sb->track_shift != best->track_shift ||
		    sb->sectors != best->sectors) {
			why = "the devices are legs of different volumes";
			goto out_why;
		}
		if (pos >= nr || (seen & (1U << pos)) ||
		    memcmp(sb->legs[pos].uuid, best->legs[pos].uuid,
			   BCV_FMT_UUID_LEN)) {
			why = "a device is not (or no longer) a leg of the volume";
			goto out_why;
		}
		seen |= 1U << pos;
		legs[pos] = vol->legs[i];
		/* The copy the next superblock write leaves alone. */
		vol->meta.sb_copy[pos] = msb[i].copy;
		if (le64_to_cpu(sb->events) < events ||
		    (le32_to_cpu(best->legs[pos].flags) & BCV_SB_LEG_FAILED))
			stale |= 1U << pos;
	}
	/* Legs in position order from here on. */
	for (i = 0; i < nr; i++)
		vol->legs[i] = legs[i];
	if (a->flags & BCV_ASSEMBLE_F_NAME)
		strscpy(vol->name, a->name, sizeof(vol->name));
	else
		strscpy(vol->name, best->name, sizeof(vol->name));
	memcpy(vol->meta.uuid, best->vol_uuid, BCV_FMT_UUID_LEN);

	/* The UUID and the name are this assembly's from here on. */
	mutex_lock(&bcv_lock);
	ret = -EEXIST;
	if (__bcv_uuid_taken(best->vol_uuid))
		why = "the volume is assembled already (or being assembled)";
	else if (__bcv_name_taken(vol->name))
		why = "another volume has its name (assemble it with --name)";
	else
		__bcv_assembling_add(vol);
	mutex_unlock(&bcv_lock);
	if (why)
		goto out_why;

	vol->role = le32_to_cpu(best->role);
	ret = __bcv_volume_geometry(vol, le64_to_cpu(best->sectors),
				    le32_to_cpu(best->track_shift), &need, &left);
	if (ret == -EFBIG) {
		/* It said so in the kernel log; the caller hears the sizes. */
		a->table_mib = min_t(u64, DIV_ROUND_UP_ULL(need, SZ_1M), U32_MAX);
		a->table_left_mib = min_t(u64, left >> 20, U32_MAX);
		goto out_sessions;
	}
	if (ret) {
		why = ret == -ENOMEM ? "no memory for its tables" :
		      "its geometry does not fit the devices";
		goto out_sessions;
	}
	for (i = 0; i < nr; i++)
		memcpy(vol->meta.leg_uuid[i], best->legs[i].uuid,
		       BCV_FMT_UUID_LEN);
	vol->meta.events = events;
	vol->meta.seq = seq;
	vol->meta.ctime = le64_to_cpu(best->ctime);
	clean = le32_to_cpu(best->flags) & BCV_SB_F_CLEAN;

	ret = __bcv_load_sessions(vol, best);
	if (ret) {
		why = "its session records contradict each other";
		goto out_sessions;
	}
	/*
	 * A protected restore needs write intent (bcv_session_cmd()): the
	 * volume keeps it whatever bcv.write_intent says now.
	 */
	for (i = 0; i < BCV_SESSIONS && vol->role == BCV_ROLE_STD; i++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, i);

		if (ts && bcv_tm_sess_protected(ts) && !vol->meta.intent) {
			pr_info("%s: a protected restore runs: write intent stays on\n",
				vol->name);
			vol->meta.intent = true;
		}
	}
	/* The tables of a leg that is current, in sync if one is. */
	for (i = 0; i < nr; i++) {
		if (stale & (1U << i))
			continue;
		if (src < 0)
			src = i;
		if (insync < 0 &&
		    !(le32_to_cpu(best->legs[i].flags) & BCV_SB_LEG_SYNCING))
			insync = i;
	}
	if (insync >= 0)
		src = insync;
	ret = -EINVAL;
	if (src < 0) {
		why = "no leg is current";
		goto out_sessions;
	}
	/*
	 * The union of the current legs' tables and activity logs: a mark
	 * is durable once one leg holds it.  Not a stale leg's: it missed
	 * rounds the current legs took (bcv_meta_write_stage() moves those a
	 * generation ahead), and its old I bits would come back over V bits
	 * written since, leaving tracks held by no position.
	 */
	ret = bcv_meta_load_tables(vol, src, false);
	for (i = 0; i < nr && !ret; i++)
		if ((int)i != src && !(stale & (1U << i)))
			ret = bcv_meta_load_tables(vol, i, true);
	if (ret) {
		why = "cannot read its tables";
		goto out_sessions;
	}
	/*
	 * Stale legs, then (unclean) the crash rule; without write intent
	 * nothing on disk is current.
	 */
	bcv_meta_recover(vol, stale, clean,
			 !(le32_to_cpu(best->flags) & BCV_SB_F_NO_INTENT));
	/* What recovery and stale legs added is on every leg now. */
	ret = bcv_meta_rewrite(vol);
	if (ret) {
		why = "cannot write its tables";
		goto out_sessions;
	}
	if (vol->role == BCV_ROLE_STD) {
		mutex_lock(&vol->state_lock);
		bcv_tm_set_state_hook(&vol->tm, bcv_session_state_hook);
		mutex_unlock(&vol->state_lock);
	}

	/* "Not clean" is on every leg before the first I/O. */
	ret = bcv_meta_write_sb(vol, false);
	if (ret) {
		why = "cannot write its superblock";
		goto out_sessions;
	}
	/* Off bcv_assembling and onto bcv_volumes in one hold of the lock. */
	mutex_lock(&bcv_lock);
	__bcv_assembling_del(vol);
	ret = __bcv_volume_publish(vol);
	if (ret) {
		mutex_unlock(&bcv_lock);
		why = "cannot create its block device";
		goto out_unreserved;
	}
	for (i = 0; i < BCV_SESSIONS && vol->role == BCV_ROLE_STD; i++) {
		struct bcv_tm_sess *ts = bcv_tm_column(&vol->tm, i);

		if (ts && bcv_session_sysfs_add(vol, bcv_tm_session_of(ts)))
			pr_warn("%s: no sysfs directory for session %u\n",
				vol->disk->disk_name, i);
	}
	if (clean)
		pr_info("%s: assembled %s %s from %u legs%s\n",
			vol->disk->disk_name, bcv_role_name(vol->role),
			vol->name, nr, stale ? ", stale legs resync" : "");
	else
		pr_info("%s: assembled %s %s from %u legs, recovered after an unclean shutdown: %llu tracks marked to copy%s\n",
			vol->disk->disk_name, bcv_role_name(vol->role),
			vol->name, nr, vol->meta.recovered_tracks,
			stale ? ", stale legs resync" : "");
	__bcv_link_peers(vol);
	if (vol->role == BCV_ROLE_STD) {
		bcv_hold(vol);
		mutex_lock(&vol->state_lock);
		bcv_tm_update_states(&vol->tm);
		mutex_unlock(&vol->state_lock);
		bcv_unhold(vol);	/* kicks the engine */
		/* Splits owed since before the stop (bcv_split_due_fn()). */
		bcv_split_due_kick();
	} else {
		bcv_engine_kick(vol);
		if (bcv_tm_vol_session(&vol->tm))
			bcv_engine_kick(bcv_tm_session_of(bcv_tm_vol_session(&vol->tm))->std);
	}
	a->index = vol->index;
	a->sectors = bcv_vol_sectors(vol);
	strscpy(a->name, vol->name, sizeof(a->name));
	a->vol_flags = vol->meta.recovered ? BCV_VOL_F_RECOVERED : 0;
	a->stale_legs = stale;
	mutex_unlock(&bcv_lock);
	ret = 0;
	goto out_free;

out_why:
	pr_warn("assemble: %s\n", why);
	goto out_vol;
out_sessions:
	mutex_lock(&bcv_lock);
	__bcv_assembling_del(vol);
	mutex_unlock(&bcv_lock);
out_unreserved:
	if (why)
		pr_warn("assemble %s: %s\n", vol->name, why);
	/* None before __bcv_load_sessions(): its tables are all zero. */
	__bcv_drop_sessions(vol);
out_vol:
	bcv_volume_discard(vol);
out_free:
	for (i = 0; i < nr; i++)
		kfree(msb[i].sb);
	return ret;
}
