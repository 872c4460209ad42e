// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the copy engine (bcv-design.rst section 5).
 *
 * Each volume has a worker (a delayed work item on system_wq) that scans
 * its Track ID table from a cursor for runs of tracks that some position
 * needs (bcv_tm_next_copy()) and starts a job for each run: one job reads
 * the run from a valid source position and writes it to every position
 * that needs it, with plain bios through one buffer or through dm-kcopyd
 * (struct bcv_job says which).  A run never crosses a region (bcv_core.h),
 * so a job is at most one region long (1 MiB or 16 tracks, whichever is
 * more).
 *
 * Ordering with host writes: before a job starts, its region must have no
 * host write in flight; the region is then marked BCV_REGION_COPY and host
 * writes to it wait on vol->deferred until the job ends.  A busy region is
 * skipped and the engine is kicked again when its writes complete.
 *
 * Errors: a failed job marks nothing valid; the sessions involved count
 * the error, the first error since the last success is logged with device
 * and sector, and the engine backs off (100 ms doubling to 5 s) before it
 * tries again.  It never spins.
 *
 * When a whole pass finds nothing to copy and no job is in flight, the
 * sessions' states are updated (syncinprog -> synchronized, restinprog ->
 * restored) under the STD's state_lock; the session layer hears of it
 * through the STD's on_state hook.
 *
 * The worker and the job completions (kcopyd's thread or bcv_copy_wq)
 * take vol->lock only
 * briefly; commands stop the engine with bcv_hold() (paused, worker
 * cancelled, jobs drained) before they touch the tables.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/dm-io.h>
#include <linux/sizes.h>

#include "bcv_core.h"

/*
 * A decimal number in [@lo, @hi] (one trailing newline allowed): the
 * number, -EINVAL if @buf is not one, -ERANGE if it is out of bounds.
 */
static int bcv_parse_uint(const char *buf, unsigned int lo, unsigned int hi)
{
	unsigned int v;
	int ret = kstrtouint(buf, 10, &v);

	if (ret)
		return ret == -ERANGE ? -ERANGE : -EINVAL;
	if (v < lo || v > hi)
		return -ERANGE;
	return v;
}

/**
 * bcv_parse_percent() - a percentage written to sysfs
 * @buf: what was written
 *
 * Context: any.
 * Return: 1..100, -EINVAL if @buf is not a decimal number, -ERANGE if it
 * is out of bounds.
 */
int bcv_parse_percent(const char *buf)
{
	return bcv_parse_uint(buf, 1, 100);
}

/* Module parameters are checked when written, as null_blk does. */
static int bcv_param_set(const char *val, const struct kernel_param *kp,
			 unsigned int lo, unsigned int hi)
{
	int v = bcv_parse_uint(val, lo, hi);

	if (v < 0)
		return v;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int bcv_jobs_set(const char *val, const struct kernel_param *kp)
{
	return bcv_param_set(val, kp, 1, 64);
}

static int bcv_throttle_set(const char *val, const struct kernel_param *kp)
{
	return bcv_param_set(val, kp, 1, 100);
}

static const struct kernel_param_ops bcv_jobs_ops = {
	.set	= bcv_jobs_set,
	.get	= param_get_uint,
};

static const struct kernel_param_ops bcv_throttle_ops = {
	.set	= bcv_throttle_set,
	.get	= param_get_uint,
};

unsigned int bcv_copy_jobs_max = 8;
module_param_cb(copy_jobs, &bcv_jobs_ops, &bcv_copy_jobs_max, 0644);
MODULE_PARM_DESC(copy_jobs, "Copy jobs in flight per volume (1-64, default 8)");

unsigned int bcv_copy_throttle_default = 100;
module_param_cb(copy_throttle, &bcv_throttle_ops, &bcv_copy_throttle_default,
		0644);
MODULE_PARM_DESC(copy_throttle,
		 "Initial copy throttle of new volumes, percent of time the copy engine may use the disks (1-100, default 100)");

#define BCV_BACKOFF_MIN_MS	100
#define BCV_BACKOFF_MAX_MS	5000

/*
 * One copy job.  A job of at most BCV_BIO_COPY_MAX bytes on an unthrottled
 * volume is copied with plain bios through one buffer of contiguous pages
 * (read, then one write per destination, all sharing the buffer): dm-kcopyd
 * gathers a job from single pages and costs more CPU per byte, which is
 * what bounds a copy on fast devices.  Larger jobs, throttled volumes and
 * a buffer the page allocator cannot give at once go to kcopyd, which
 * honours the throttle.  Both end in bcv_job_done().
 *
 * The buffers (BCV_BIO_COPY_MAX each) go back to the volume's stash when a
 * job ends and are freed when the engine runs out of work: a kernel built
 * with init_on_alloc (Debian's are) zeroes every page it hands out, which
 * per job cost as much CPU as the copy itself.  At most bcv_copy_jobs_max
 * buffers are kept per volume.
 */
struct bcv_job {
	struct bcv_volume *vol;
	struct bcv_tm_copy c;
	unsigned long start;		/* jiffies, for a session's throttle */
	/* Plain-bio copies only: */
	struct page *buf;		/* BCV_BIO_COPY_ORDER, contiguous */
	struct dm_io_region from, to[BCV_POSITIONS];
	unsigned int nr_to;
	struct bcv_job_dst {
		struct bcv_job *job;
		unsigned int i;		/* index in to[] */
	} dst[BCV_POSITIONS];		/* the write bios' bi_private */
	atomic_t pending;		/* write bios in flight */
	int read_err;
	unsigned long write_err;	/* bit i: destination to[i] failed */
	/*
	 * Process context: the writes once the read is in (write_work), then
	 * the end once they are (end_work).  Two items: the last write may
	 * complete, and its end run on another CPU, while write_work still
	 * executes; it touches @job no more after its last submission.
	 */
	struct work_struct write_work;
	struct work_struct end_work;
};

#define BCV_BIO_COPY_MAX	SZ_1M
#define BCV_BIO_COPY_ORDER	get_order(BCV_BIO_COPY_MAX)

/* Runs the plain-bio copies' process-context steps (WQ_MEM_RECLAIM). */
static struct workqueue_struct *bcv_copy_wq;

static unsigned int bcv_jobs_max(void)
{
	return clamp_val(READ_ONCE(bcv_copy_jobs_max), 1, 64);
}

static void bcv_job_region(struct dm_io_region *r, struct bcv_volume *vol,
			   int pos, const struct bcv_tm_copy *c)
{
	unsigned int s = bcv_vol_track_shift(vol) - SECTOR_SHIFT;
	sector_t start = c->start << s;

	r->bdev = bcv_pos_bdev(vol, pos);
	r->sector = start;
	/* The last track may be partial. */
	r->count = min_t(sector_t, c->len << s, bcv_vol_sectors(vol) - start);
}

/*
 * Sessions a job works for: those whose MM it writes, and the session whose
 * MM it reads from (a restore).
 */
static void bcv_job_account(struct bcv_volume *vol, const struct bcv_tm_copy *c,
			    u64 copied, bool error)
{
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++) {
		struct bcv_tm_sess *ts = bcv_tm_mm_session(&vol->tm, p);
		struct bcv_session *s;

		if (!ts)
			continue;
		if (!(c->dst & (1U << p)) && c->src != (int)p)
			continue;
		s = bcv_tm_session_of(ts);
		if (copied)
			atomic64_add(copied, &s->copied);
		if (error)
			atomic64_inc(&s->errors);
	}
}

/*
 * Any context, vol->lock held.  A session's copy_throttle below 100: after
 * a job of its positions took d, none starts there for d * (100 - T) / T,
 * so that its copies run about T % of the time (as kcopyd throttles a
 * volume, but per session and for plain-bio jobs too).  On a STD its
 * positions are the MMs of throttled sessions the job read or wrote; on a
 * BCV (its fixed mirrors' sync) every position the job wrote.
 */
static void __bcv_job_throttle(struct bcv_volume *vol, const struct bcv_job *job)
{
	unsigned long d = max(jiffies - job->start, 1UL), until;
	unsigned int p, t, touched = job->c.dst | (1U << job->c.src);
	struct bcv_tm_sess *ts;

	lockdep_assert_held(&vol->lock);
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (!(touched & (1U << p)))
			continue;
		ts = vol->role == BCV_ROLE_BCV ? bcv_tm_vol_session(&vol->tm) :
		     bcv_tm_mm_session(&vol->tm, p);
		if (!ts)
			continue;
		t = READ_ONCE(bcv_tm_session_of(ts)->throttle);
		if (t >= 100 || !t)
			continue;
		until = jiffies + d * (100 - t) / t;
		if (!vol->thr_until[p] || time_after(until, vol->thr_until[p]))
			vol->thr_until[p] = until;
	}
}

/**
 * bcv_copy_throttle_changed() - a session's copy_throttle changed
 * @vol: one of its volumes
 *
 * The waits the old setting imposed end; the engine looks again.
 *
 * Context: any but hardirq; takes vol->lock.
 */
void bcv_copy_throttle_changed(struct bcv_volume *vol)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	memset(vol->thr_until, 0, sizeof(vol->thr_until));
	if (!vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	spin_unlock_irqrestore(&vol->lock, flags);
}

/**
 * bcv_copy_fresh() - what sits at positions @pos of @vol changed: a session
 *	began, ended or moved there
 * @vol: the volume, held by the caller (bcv_hold()): no job in flight
 * @pos: the positions (bit p)
 *
 * A throttle wait that a job of the old session left at a position (up to
 * 99 times the job's duration, bcv_job_throttle()) ends: it belongs to that
 * session, and the one at the position now has its own copy_throttle.
 * (Back-offs after errors start afresh in bcv_unhold().)
 *
 * Context: any but hardirq; takes vol->lock.
 */
void bcv_copy_fresh(struct bcv_volume *vol, unsigned int pos)
{
	unsigned long flags;
	unsigned int p;

	spin_lock_irqsave(&vol->lock, flags);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (pos & (1U << p))
			vol->thr_until[p] = 0;
	spin_unlock_irqrestore(&vol->lock, flags);
}

/* Any context, vol->lock held: position @p's copies failed (again). */
static void __bcv_backoff(struct bcv_volume *vol, unsigned int p)
{
	lockdep_assert_held(&vol->lock);
	vol->backoff[p] = vol->backoff[p] ?
			  min(vol->backoff[p] * 2, BCV_BACKOFF_MAX_MS) :
			  BCV_BACKOFF_MIN_MS;
	vol->retry_at[p] = jiffies + msecs_to_jiffies(vol->backoff[p]);
}

/*
 * kcopyd's thread or bcv_copy_wq (process context).  A job ended:
 *  1. Under vol->lock: the destinations it reached become V (those that
 *     failed stay I and back off; a source that failed to read is stale
 *     for the run where another position holds it, and backs off), legs
 *     whose device went away are marked failed, the region is free.
 *  2. Counters, one log line per failing position per episode, and the
 *     host writes that waited for the region go again.
 *  3. Under vol->lock, the last touch of @vol: the job no longer counts
 *     (a remove or a command may go on), and the worker looks for more.
 * Sessions and legs are stable throughout: commands and removes wait for
 * jobs to drain before they change them.
 */
static void bcv_job_done(int read_err, unsigned long write_err, void *context)
{
	struct bcv_job *job = context;
	struct bcv_volume *vol = job->vol;
	struct bcv_tm_copy *c = &job->c;
	unsigned int p, i = 0, bad = 0, ok_dst = 0, newly;
	u64 copied = 0;
	char what[96];

	/* write_err has bit i set for destination i (kcopyd's convention). */
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (!(c->dst & (1U << p)))
			continue;
		if (write_err & (1UL << i++))
			bad |= 1U << p;
		else
			ok_dst |= 1U << p;
	}
	if (read_err) {
		bad = 1U << c->src;
		ok_dst = 0;
	}

	spin_lock_irq(&vol->lock);
	copied = bcv_tm_copy_done_to(&vol->tm, c, ok_dst);
	if (read_err)
		bcv_tm_mark_stale(&vol->tm, c->src,
				  bcv_tm_track_sector(&vol->tm, c->start),
				  bcv_tm_track_sector(&vol->tm, c->len));
	newly = __bcv_check_legs(vol, bad);
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (bad & (1U << p))
			__bcv_backoff(vol, p);
		else if (ok_dst & (1U << p))
			vol->backoff[p] = 0;
	}
	__bcv_region_copy_end(&vol->regions,
			      bcv_region_of(&vol->regions, c->start));
	__bcv_job_throttle(vol, job);
	spin_unlock_irq(&vol->lock);

	bcv_job_account(vol, c, copied, bad != 0);
	/* Its V bits reach the disk with the next checkpoint. */
	if (copied)
		bcv_meta_copied(vol);
	for (p = 0; copied && p < vol->nr_legs; p++)
		if (ok_dst & (1U << p))
			atomic64_add(copied, &vol->leg_copied[p]);
	bcv_report_failed(vol, newly);
	snprintf(what, sizeof(what), "copy of tracks %llu-%llu (retried with back-off): %s",
		 c->start, c->start + c->len - 1, read_err ? "read" : "write");
	for (p = 0; p < BCV_POSITIONS; p++) {
		if (bad & (1U << p))
			bcv_fail_leg(vol, p, bcv_tm_track_sector(&vol->tm, c->start),
				     what);
		else if (ok_dst & (1U << p))
			bcv_leg_ok(vol, p);
	}
	kfree(job);
	/* Host writes that waited for this region. */
	vol->dispatch_deferred(vol);

	spin_lock_irq(&vol->lock);
	vol->jobs--;
	if (!vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	/* bcv_hold() waits for no jobs, bcv_catch_up() for progress. */
	wake_up(&vol->wait);
	spin_unlock_irq(&vol->lock);
}

/*
 * A copy buffer from @vol's stash, or a new one (NULL if the page allocator
 * has none at once).  May sleep (GFP_NOIO).
 */
static struct page *bcv_copy_buf_get(struct bcv_volume *vol)
{
	struct page *page;

	spin_lock_irq(&vol->lock);
	page = vol->copy_bufs;
	if (page) {
		vol->copy_bufs = (struct page *)page_private(page);
		vol->nr_copy_bufs--;
		set_page_private(page, 0);
	}
	spin_unlock_irq(&vol->lock);
	if (page)
		return page;
	return alloc_pages(GFP_NOIO | __GFP_NOWARN | __GFP_NORETRY,
			   BCV_BIO_COPY_ORDER);
}

/* Any context but hardirq: @page back to @vol's stash, or freed. */
static void bcv_copy_buf_put(struct bcv_volume *vol, struct page *page)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	if (vol->nr_copy_bufs < bcv_jobs_max() && !vol->dead) {
		set_page_private(page, (unsigned long)vol->copy_bufs);
		vol->copy_bufs = page;
		vol->nr_copy_bufs++;
		page = NULL;
	}
	spin_unlock_irqrestore(&vol->lock, flags);
	if (page)
		__free_pages(page, BCV_BIO_COPY_ORDER);
}

/* Context: may sleep; takes vol->lock.  Free @vol's stash of buffers. */
static void bcv_copy_bufs_free(struct bcv_volume *vol)
{
	struct page *page;

	spin_lock_irq(&vol->lock);
	page = vol->copy_bufs;
	vol->copy_bufs = NULL;
	vol->nr_copy_bufs = 0;
	spin_unlock_irq(&vol->lock);
	while (page) {
		struct page *next = (struct page *)page_private(page);

		set_page_private(page, 0);
		__free_pages(page, BCV_BIO_COPY_ORDER);
		page = next;
	}
}

/*
 * Nothing left to copy: move sessions along (the STD's on_state hook,
 * which the session layer installs, logs the change and wakes waiters).
 * Context: the worker; takes the STD's state_lock.
 */
static void bcv_engine_idle(struct bcv_volume *vol)
{
	bcv_copy_bufs_free(vol);
	/* A leg that finished its resync is no longer "syncing" on disk. */
	bcv_meta_synced(vol);
	if (vol->role != BCV_ROLE_STD)
		return;
	mutex_lock(&vol->state_lock);
	bcv_tm_update_states(&vol->tm);
	mutex_unlock(&vol->state_lock);
	/* A protected restore's split that was refused may go now. */
	bcv_session_idle(vol);
}

/* Process context (bcv_copy_wq): the copy is over, either way. */
static void bcv_bio_copy_end(struct work_struct *work)
{
	struct bcv_job *job = container_of(work, struct bcv_job, end_work);

	bcv_copy_buf_put(job->vol, job->buf);
	bcv_job_done(job->read_err, job->write_err, job);
}

/* Interrupt context: one destination's write ended. */
static void bcv_bio_copy_write_end(struct bio *bio)
{
	struct bcv_job_dst *d = bio->bi_private;
	struct bcv_job *job = d->job;

	if (bio->bi_status)
		set_bit(d->i, &job->write_err);
	bio_put(bio);
	if (atomic_dec_and_test(&job->pending))
		queue_work(bcv_copy_wq, &job->end_work);
}

/* A bio over @job's buffer for region @r.  May sleep (GFP_NOIO). */
static struct bio *bcv_bio_copy_bio(struct bcv_job *job,
				    const struct dm_io_region *r, blk_opf_t opf)
{
	struct bio *bio = bio_alloc(r->bdev, 1, opf, GFP_NOIO);

	bio->bi_iter.bi_sector = r->sector;
	/* One multi-page bvec: the pages are contiguous. */
	__bio_add_page(bio, job->buf, r->count << SECTOR_SHIFT, 0);
	return bio;
}

/*
 * Process context (bcv_copy_wq): the read is in; write every destination.
 * Once the last write is submitted @job may be gone (its end runs on
 * another CPU and frees it): the loop works from copies.
 */
static void bcv_bio_copy_write(struct work_struct *work)
{
	struct bcv_job *job = container_of(work, struct bcv_job, write_work);
	unsigned int i, n = job->nr_to;

	if (job->read_err) {
		bcv_bio_copy_end(&job->end_work);
		return;
	}
	/* All n count before the first goes: @job lives until the last. */
	atomic_set(&job->pending, n);
	for (i = 0; i < n; i++) {
		struct bio *bio = bcv_bio_copy_bio(job, &job->to[i], REQ_OP_WRITE);

		job->dst[i].job = job;
		job->dst[i].i = i;
		bio->bi_private = &job->dst[i];
		bio->bi_end_io = bcv_bio_copy_write_end;
		submit_bio_noacct(bio);
	}
}

/* Interrupt context: the source read ended. */
static void bcv_bio_copy_read_end(struct bio *bio)
{
	struct bcv_job *job = bio->bi_private;

	job->read_err = bio->bi_status ? 1 : 0;
	bio_put(bio);
	queue_work(bcv_copy_wq, &job->write_work);
}

/*
 * Copy @job with plain bios if it qualifies (see struct bcv_job) and a
 * buffer is to be had at once.  May sleep.  Returns false if kcopyd
 * must do it.
 */
static bool bcv_bio_copy(struct bcv_job *job)
{
	struct bcv_volume *vol = job->vol;
	u64 bytes = (u64)job->from.count << SECTOR_SHIFT;
	struct bio *bio;

	if (bytes > BCV_BIO_COPY_MAX || READ_ONCE(vol->throttle.throttle) < 100)
		return false;
	job->buf = bcv_copy_buf_get(vol);
	if (!job->buf)
		return false;
	job->read_err = 0;
	job->write_err = 0;
	INIT_WORK(&job->write_work, bcv_bio_copy_write);
	INIT_WORK(&job->end_work, bcv_bio_copy_end);
	bio = bcv_bio_copy_bio(job, &job->from, REQ_OP_READ);
	bio->bi_private = job;
	bio->bi_end_io = bcv_bio_copy_read_end;
	submit_bio_noacct(bio);
	return true;
}

/*
 * Start a copy job for @c (at most one region).  Called with vol->lock
 * held; drops and retakes the lock if the job starts.  Returns 0, -EBUSY
 * if a host write is in flight in the region (nothing started: the caller
 * wants the region), or -ENOMEM (the worker retries shortly).
 */
static int bcv_start_job(struct bcv_volume *vol, struct bcv_tm_copy *c)
	__must_hold(&vol->lock)
{
	struct bcv_job *job;
	unsigned int p, n;

	lockdep_assert_held(&vol->lock);
	job = kmalloc(sizeof(*job), GFP_ATOMIC | __GFP_NOWARN);
	if (!job)
		return -ENOMEM;
	if (!__bcv_region_copy_begin(&vol->regions,
				     bcv_region_of(&vol->regions, c->start))) {
		kfree(job);
		return -EBUSY;
	}
	vol->jobs++;
	/*
	 * Begun under vol->lock, where the tables were read: a failed read
	 * or flush that marks the source stale meanwhile takes the lock and
	 * clears the copy-in-flight bits after this, so the copy cannot mark
	 * its destinations V with stale data (bcv_tm_copy_done()).
	 */
	bcv_tm_copy_begin(&vol->tm, c);
	spin_unlock_irq(&vol->lock);

	job->vol = vol;
	job->c = *c;
	job->start = jiffies;
	bcv_job_region(&job->from, vol, c->src, c);
	for (n = 0, p = 0; p < BCV_POSITIONS; p++)
		if (c->dst & (1U << p))
			bcv_job_region(&job->to[n++], vol, p, c);
	job->nr_to = n;
	if (!bcv_bio_copy(job))
		dm_kcopyd_copy(vol->kc, &job->from, n, job->to, 0,
			       bcv_job_done, job);

	spin_lock_irq(&vol->lock);
	return 0;
}

/*
 * The first copy inside region @r from track @from, clipped to it.  Caller
 * holds vol->lock: only the region is looked at (at most one region's
 * tracks of work), not the rest of the table behind it.
 */
static bool bcv_next_in_region(struct bcv_volume *vol, u64 from, u64 r,
			       unsigned int avoid, struct bcv_tm_copy *c)
	__must_hold(&vol->lock)
{
	u64 rend = (r + 1) * bcv_region_tracks(&vol->regions);

	lockdep_assert_held(&vol->lock);
	if (!bcv_tm_next_copy_range(&vol->tm, from, rend,
				    bcv_region_tracks(&vol->regions), avoid, c))
		return false;
	c->len = min(c->len, rend - c->start);
	return true;
}

/*
 * Regions the engine wants but that had host writes in flight: new writes
 * to them wait (BCV_REGION_WANT), so that a steady stream of writes cannot
 * starve the copy (dm-raid1 does the same with its recovering regions).
 * Once their writes drained, start their copy, or give them back.
 * Caller holds vol->lock; returns true if deferred bios may go again.
 */
/*
 * Caller holds vol->lock.  Is region @r one that a host write waits for
 * (__bcv_fill_request())?  It is taken off the list: the caller starts its
 * copy or gives it up now.
 */
static bool __bcv_fill_drop(struct bcv_volume *vol, u64 r)
{
	unsigned int i;

	lockdep_assert_held(&vol->lock);
	for (i = 0; i < vol->nr_fill; i++)
		if (vol->fill[i] == r) {
			vol->fill[i] = vol->fill[--vol->nr_fill];
			return true;
		}
	return false;
}

static unsigned int __bcv_paused_positions(struct bcv_volume *vol);

/**
 * __bcv_fill_request() - a host write waits for track @t (protected restore)
 * @vol: the STD
 * @t: a track the write covers in part that only the BCV holds
 *     (bcv_tm_fill_track())
 *
 * Its region is wanted, so that the engine copies it before the rest of
 * the restore and new writes to it wait, and the engine is kicked; the
 * caller then defers the write, which goes again when the copy ends.
 * copy_throttle does not hold such a copy back (a host write waits for
 * it), but pause does: a paused session copies nothing (bcv-design.rst
 * section 13), so the write waits on vol->deferred, with nothing wanted,
 * until RESUME (or a command that ends the restore) lets it through the
 * gate again.
 *
 * Context: any; caller holds vol->lock.
 * Return: BCV_FILL_QUEUED (the copy was asked for), BCV_FILL_PAUSED (the
 * only source is paused: the write waits for RESUME), or BCV_FILL_FAILED
 * (the copy cannot run: the BCV's position or every position a write
 * reaches backs off after errors; the write fails).
 */
enum bcv_fill __bcv_fill_request(struct bcv_volume *vol, u64 t)
{
	struct bcv_regions *rg = &vol->regions;
	unsigned int to = bcv_tm_write_targets(&vol->tm), p, ok = 0;
	unsigned int paused = __bcv_paused_positions(vol);
	u64 r = bcv_region_of(rg, t), i;
	bool src = false, held = false;

	lockdep_assert_held(&vol->lock);
	for (p = 0; p < BCV_POSITIONS; p++) {
		bool off = vol->backoff[p] && time_before(jiffies, vol->retry_at[p]);

		if ((to & (1U << p)) && !off)
			ok |= 1U << p;
		if (!(to & (1U << p)) && !bcv_tm_invalid(&vol->tm, p, t) && !off &&
		    !bcv_tm_pos_absent(&vol->tm, p)) {
			if (paused & (1U << p))
				held = true;
			else
				src = true;
		}
	}
	if (!ok || (!src && !held))
		return BCV_FILL_FAILED;
	if (!src)
		return BCV_FILL_PAUSED;
	for (i = 0; i < vol->nr_fill && vol->fill[i] != r; i++)
		;
	if (i == vol->nr_fill && vol->nr_fill < BCV_MAX_WANT &&
	    (__bcv_region_busy(rg, r) || __bcv_region_want(rg, r))) {
		/* A copy running there now dispatches the write when done. */
		if (!(atomic_read(&rg->state[r]) & BCV_REGION_COPY))
			vol->fill[vol->nr_fill++] = r;
	}
	vol->rescan = true;
	if (!vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	return BCV_FILL_QUEUED;
}

static bool bcv_process_wants(struct bcv_volume *vol)
	__must_hold(&vol->lock)
{
	struct bcv_tm_copy c;
	bool release = false;
	struct bcv_regions *rg = &vol->regions;
	unsigned int i = 0;
	u64 r;

	lockdep_assert_held(&vol->lock);
	while (i < rg->nr_want && vol->jobs < bcv_jobs_max()) {
		unsigned int avoid = vol->avoid;

		r = rg->want[i];
		if (bcv_region_has_writes(rg, r)) {
			i++;
			continue;
		}
		/*
		 * A write waits for it: only errors and pause hold its copy
		 * back, not copy_throttle.
		 */
		if (__bcv_fill_drop(vol, r))
			avoid = vol->avoid_err | __bcv_paused_positions(vol);
		/*
		 * The copy (if any) starts while the region is still wanted:
		 * only a write that is leaving again can get in its way.
		 */
		if (bcv_next_in_region(vol, r * bcv_region_tracks(rg), r, avoid,
				       &c)) {
			int ret = bcv_start_job(vol, &c);

			if (ret == -EBUSY) {
				i++;	/* that write's leave kicks us */
				continue;
			}
			/* The want list may have moved meanwhile. */
			for (i = 0; i < rg->nr_want && rg->want[i] != r; i++)
				;
			if (i < rg->nr_want)
				__bcv_region_unwant(rg, i);
			i = 0;
			if (!ret)
				continue;
		} else {
			__bcv_region_unwant(rg, i);
		}
		release = true;
	}
	return release;
}

/*
 * Caller holds vol->lock.  Region @r has host writes in flight: new ones
 * wait (if the want list has room) and the engine comes back when they
 * are done.  The last write's leave sees BCV_REGION_WANT and kicks the
 * engine, unless it left before the flag was set: then the region is
 * idle now (the flag is set with a fully ordered atomic before the count
 * is read again), and the engine is kicked here.
 */
static void bcv_want(struct bcv_volume *vol, u64 r)
	__must_hold(&vol->lock)
{
	lockdep_assert_held(&vol->lock);
	vol->rescan = true;
	if (__bcv_region_want(&vol->regions, r) &&
	    !bcv_region_has_writes(&vol->regions, r) && !vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
}

/*
 * Caller holds vol->lock.  Positions that are backing off, or that a
 * session's copy_throttle holds back, now (bit p), and in *@next the
 * jiffies at which the first of them may be tried again.
 */
static unsigned int __bcv_avoid(struct bcv_volume *vol, unsigned long *next)
{
	unsigned int p, avoid = 0;

	lockdep_assert_held(&vol->lock);
	vol->avoid_err = 0;
	for (p = 0; p < BCV_POSITIONS; p++) {
		unsigned long until = 0;

		if (vol->backoff[p] && time_before(jiffies, vol->retry_at[p])) {
			until = vol->retry_at[p];
			vol->avoid_err |= 1U << p;
		}
		if (vol->thr_until[p] && time_before(jiffies, vol->thr_until[p]) &&
		    (!until || time_after(vol->thr_until[p], until)))
			until = vol->thr_until[p];
		if (!until)
			continue;
		if (!avoid || time_before(until, *next))
			*next = until;
		avoid |= 1U << p;
	}
	return avoid;
}

/*
 * Caller holds vol->lock.  Positions whose copies a paused session stops
 * (bcv_session.c, __bcv_pause()): on a STD the mirror position of each
 * paused session's attached BCV (as a destination and, for a restore, as
 * the source), on a BCV in a paused session every position (its
 * fixed-mirror sync).  Sessions and positions do not change while the
 * worker runs: commands hold the volume.
 */
static unsigned int __bcv_paused_positions(struct bcv_volume *vol)
{
	struct bcv_tm_sess *ts;
	unsigned int c, mask = 0;

	lockdep_assert_held(&vol->lock);
	if (vol->role == BCV_ROLE_BCV) {
		/*
		 * Attached to a STD that is not assembled: its legs hold
		 * what the STD's MM wrote, which its own tables (frozen
		 * while attached) do not describe; a fixed mirror must keep
		 * what it held before the attach (bcv_legs_detached()).
		 */
		if (READ_ONCE(vol->meta.link.used) &&
		    READ_ONCE(vol->meta.link.state) != BCV_STATE_SPLIT)
			return BIT(BCV_POSITIONS) - 1;
		ts = bcv_tm_vol_session(&vol->tm);
		if (ts && READ_ONCE(bcv_tm_session_of(ts)->paused))
			mask = BIT(BCV_POSITIONS) - 1;
		return mask;
	}
	for (c = 0; c < BCV_SESSIONS; c++) {
		ts = bcv_tm_column(&vol->tm, c);
		if (ts && READ_ONCE(bcv_tm_session_of(ts)->paused) &&
		    bcv_tm_sess_mm(ts) != BCV_NO_POS)
			mask |= 1U << bcv_tm_sess_mm(ts);
	}
	return mask;
}

/**
 * bcv_copy_blocked() - can the engine copy to position @pos of a STD now?
 * @vol: the STD
 * @pos: an attached BCV's mirror position
 *
 * For a command that would wait for the copy (SPLIT's catch-up): waiting
 * makes sense only if one can run.  The answer is the engine's own rules
 * now: a paused session's position is left out, a position whose copies
 * failed is left out until its back-off ends, an absent BCV gets nothing,
 * and a copy needs a source (an own leg that is there and not backing
 * off).
 *
 * Context: any but hardirq; takes vol->lock.
 * Return: 0 if a copy to @pos can run; BCV_R_PAUSED (its session is
 * paused) or BCV_R_COPY_FAILING (copies to it, or from every leg, fail and
 * back off; or it is absent).
 */
unsigned int bcv_copy_blocked(struct bcv_volume *vol, int pos)
{
	unsigned int p, why = BCV_R_COPY_FAILING;
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	if (__bcv_paused_positions(vol) & (1U << pos)) {
		why = BCV_R_PAUSED;
	} else if (!bcv_tm_pos_absent(&vol->tm, pos) &&
		   !(vol->backoff[pos] &&
		     time_before(jiffies, vol->retry_at[pos]))) {
		for (p = 0; p < vol->nr_legs; p++)
			if (!(bcv_tm_failed_legs(&vol->tm) & (1U << p)) &&
			    !(vol->backoff[p] &&
			      time_before(jiffies, vol->retry_at[p])))
				why = 0;
	}
	spin_unlock_irqrestore(&vol->lock, flags);
	return why;
}

/*
 * Tracks the worker looks at per hold of vol->lock, a spinlock held with
 * interrupts off: 4096 words of the Track ID bitmaps, some microseconds
 * (bcv_tm_next_copy_range() skips a word that holds nothing to copy at
 * once).  Between two stretches the worker lets go of the lock and of the
 * CPU (cond_resched()), as md's resync and dm-clone's hydration bound
 * their batches: a table of 2^29 tracks is 2048 stretches, and one whose
 * tracks no position holds (a restore whose BCV is absent, or tables read
 * from a disk that say so) costs no more than any other.
 */
#define BCV_SCAN_TRACKS		(4096ULL * BITS_PER_LONG)

/*
 * The worker.  Starts jobs until bcv_copy_jobs_max are in flight or a whole
 * pass over the table found nothing more to start.  Positions that back
 * off after errors are left out of the pass (bcv_tm_next_copy_avoid()), so
 * the others go on and no region waits for them; the worker comes back
 * when the first back-off ends.
 *
 * The pass goes on from vol->cursor in stretches of BCV_SCAN_TRACKS: after
 * each, the lock is dropped and the worker reschedules, then goes on
 * within the same run (its pass, @wrapped, stays its own: a kick
 * meanwhile queues a fresh run after this one, as it always did).  A
 * command that holds the volume meanwhile sets paused, which the loop
 * sees when it takes the lock again, and waits for this run to end.
 */
static void bcv_engine_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(to_delayed_work(work),
					      struct bcv_volume, engine);
	bool wrapped = false, idle = false, release;
	u64 r, until, scanned = 0, tracks = bcv_vol_tracks(vol);
	unsigned long next = 0;
	unsigned int avoid;
	struct bcv_tm_copy c;
	int ret;

	spin_lock_irq(&vol->lock);
	if (vol->paused) {
		spin_unlock_irq(&vol->lock);
		return;
	}
	avoid = __bcv_avoid(vol, &next);
	/* Paused positions are left out like backing-off ones, without a timer. */
	vol->avoid = avoid | __bcv_paused_positions(vol);
	release = bcv_process_wants(vol);
	if (!vol->cursor)
		vol->rescan = false;
	while (vol->jobs < bcv_jobs_max() && !vol->paused) {
		if (scanned >= BCV_SCAN_TRACKS) {
			spin_unlock_irq(&vol->lock);
			cond_resched();
			spin_lock_irq(&vol->lock);
			scanned = 0;
			continue;
		}
		/* The cursor may be past the end: then there is no stretch. */
		until = vol->cursor < tracks ?
			min(tracks, vol->cursor + BCV_SCAN_TRACKS - scanned) :
			tracks;
		if (!bcv_tm_next_copy_range(&vol->tm, vol->cursor, until, 1,
					    vol->avoid, &c)) {
			if (until < tracks) {
				/* Nothing in this stretch: the next one. */
				scanned += until - vol->cursor;
				vol->cursor = until;
				continue;
			}
			/* End of the table: once around, then stop. */
			if (vol->cursor && !wrapped) {
				wrapped = true;
				vol->cursor = 0;
				vol->rescan = false;
				continue;
			}
			vol->cursor = 0;
			idle = !vol->jobs && !vol->rescan && !vol->regions.nr_want;
			break;
		}
		/* The cursor may pass the end: the next lookup wraps. */
		r = bcv_region_of(&vol->regions, c.start);
		/* What it looked at, up to the region it goes on after. */
		scanned += (r + 1) * bcv_region_tracks(&vol->regions) -
			   vol->cursor;
		vol->cursor = (r + 1) * bcv_region_tracks(&vol->regions);
		if (__bcv_region_busy(&vol->regions, r)) {
			vol->rescan = true;
			continue;
		}
		if (bcv_region_has_writes(&vol->regions, r)) {
			/* Host writes in flight: hold new ones, come back. */
			bcv_want(vol, r);
			continue;
		}
		if (!bcv_next_in_region(vol, c.start, r, vol->avoid, &c))
			continue;
		ret = bcv_start_job(vol, &c);
		if (ret == -EBUSY) {
			/* A write got in after all. */
			bcv_want(vol, r);
			continue;
		}
		if (ret) {
			vol->cursor = c.start;
			mod_delayed_work(system_wq, &vol->engine, HZ / 10);
			break;
		}
		/* The rest of the region, if any, goes in the next job. */
		vol->cursor = c.start + c.len;
	}
	/* Work left for positions that back off: come back for it. */
	if (avoid && !vol->paused)
		mod_delayed_work(system_wq, &vol->engine,
				 time_after(next, jiffies) ? next - jiffies : 0);
	spin_unlock_irq(&vol->lock);
	if (release)
		vol->dispatch_deferred(vol);
	/*
	 * Nothing more to start: sessions whose copies are done move on,
	 * also while copies to a dead position keep failing.
	 */
	if (idle)
		bcv_engine_idle(vol);
}

/**
 * bcv_engine_kick() - (re)start @vol's copy engine now, unless removed
 * @vol: the volume
 *
 * Context: any but hardirq; takes vol->lock.
 */
void bcv_engine_kick(struct bcv_volume *vol)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	if (!vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	spin_unlock_irqrestore(&vol->lock, flags);
}

static bool bcv_caught_up(struct bcv_volume *vol, int pos)
{
	return !bcv_tm_count_invalid(&vol->tm, pos);
}

/**
 * bcv_catch_up() - let the engine bring position @pos up to date
 * @vol: a volume held by a command (host I/O stopped)
 * @pos: the position
 * @timeout: jiffies at most
 *
 * The engine runs until @pos is valid everywhere or @timeout passes, then
 * stops again.  SPLIT uses it for tracks that went stale after the session
 * was synchronized (a discard, a failed write on the BCV), so that the BCV
 * is the STD as of the split; RESTORE for a BCV's fixed mirror still
 * syncing.
 *
 * Context: may sleep; caller holds bcv_lock and the volume (bcv_hold()).
 * Return: true if @pos is valid everywhere.
 */
bool bcv_catch_up(struct bcv_volume *vol, int pos, unsigned long timeout)
{
	bool ok;

	lockdep_assert_held(&bcv_lock);
	if (bcv_caught_up(vol, pos))
		return true;
	spin_lock_irq(&vol->lock);
	vol->paused = false;
	vol->cursor = 0;
	spin_unlock_irq(&vol->lock);
	bcv_engine_kick(vol);
	wait_event_timeout(vol->wait, bcv_caught_up(vol, pos), timeout);
	spin_lock_irq(&vol->lock);
	vol->paused = true;
	spin_unlock_irq(&vol->lock);
	cancel_delayed_work_sync(&vol->engine);
	wait_event(vol->wait, !READ_ONCE(vol->jobs));
	ok = bcv_caught_up(vol, pos);
	return ok;
}

/**
 * bcv_engine_init() - a copy engine for @vol
 * @vol: a new volume
 * @dispatch_deferred: resubmits the bios waiting at @vol's gate; the engine
 *	calls it when a copy ends (writes to its region may go) or it gives
 *	up a region it wanted (as dm-raid1 hands dispatch_bios to its region
 *	hash)
 *
 * Context: may sleep.
 * Return: 0 or a negative errno (kcopyd client).
 */
int bcv_engine_init(struct bcv_volume *vol,
		    void (*dispatch_deferred)(struct bcv_volume *vol))
{
	vol->dispatch_deferred = dispatch_deferred;
	INIT_DELAYED_WORK(&vol->engine, bcv_engine_work);
	vol->throttle.throttle = clamp_val(bcv_copy_throttle_default, 1, 100);
	vol->kc = dm_kcopyd_client_create(&vol->throttle);
	if (IS_ERR(vol->kc)) {
		int ret = PTR_ERR(vol->kc);

		vol->kc = NULL;
		return ret;
	}
	return 0;
}

/**
 * bcv_copy_init() - the module's workqueue for plain-bio copies
 *
 * Context: module init; may sleep.
 * Return: 0 or -ENOMEM.
 */
int bcv_copy_init(void)
{
	/* Host writes may wait for a copy: it must progress under reclaim. */
	bcv_copy_wq = alloc_workqueue("bcv_copy", WQ_MEM_RECLAIM, 0);
	return bcv_copy_wq ? 0 : -ENOMEM;
}

/* Context: module exit; no volume (so no job) exists. */
void bcv_copy_exit(void)
{
	destroy_workqueue(bcv_copy_wq);
}

/**
 * bcv_engine_exit() - stop and free @vol's copy engine
 * @vol: the volume; no I/O and no job may be in flight
 *
 * Context: may sleep.
 */
void bcv_engine_exit(struct bcv_volume *vol)
{
	if (!vol->kc)
		return;
	spin_lock_irq(&vol->lock);
	vol->paused = true;
	spin_unlock_irq(&vol->lock);
	cancel_delayed_work_sync(&vol->engine);
	wait_event(vol->wait, !READ_ONCE(vol->jobs));
	bcv_copy_bufs_free(vol);
	dm_kcopyd_client_destroy(vol->kc);
	vol->kc = NULL;
}
