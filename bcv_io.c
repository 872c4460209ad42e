// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: the I/O path of a volume, and the gate that commands use to drain
 * and hold it.
 *
 * Host bios enter at bcv_submit_bio(), pass the gate (bcv_volume.lock and
 * the region gate, bcv_region.h), are cloned to the positions that hold
 * the volume's data and complete in bcv_io_complete(), which records in
 * the tables what each write left where (bcv_tm_write_done()).  Commands
 * stop a volume's I/O and copies with bcv_hold() and let them go with
 * bcv_unhold().  See bcv_core.h for the locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/percpu-refcount.h>

#include "bcv_core.h"
#include "bcv_io.h"
#include "bcv_trackmap.h"

static struct bio_set bcv_io_set;	/* first clones, with a bcv_io_clone */
static struct bio_set bcv_bio_set;	/* other clones, with a bcv_clone */
static struct bio_set bcv_split_set;	/* reads split at a track boundary */

/*------------------------------------------------------------------------
 * I/O path
 *
 * Every host bio passes the volume's gate: it waits on vol->deferred while
 * a command holds the volume, and a write also waits while a copy runs in
 * one of its regions.  Past the gate it holds a reference on vol->ioref
 * and is cloned to its targets:
 *
 *   STD write:   every own leg and every attached BCV (MM);  PB marked first
 *   BCV write:   every own leg (split only);                 M4b marked first
 *   discard:     the own legs only (its data is undefined: attached BCVs
 *                get what the legs hold by copy)
 *   read:        one position valid for every track it covers, spread
 *                over the valid own legs by region
 *   empty flush: every position a write would reach
 *
 * Legs marked failed (their device is gone or shrank) get nothing.
 *
 * Before a write's clones go out, its marks must be on disk (write intent,
 * bcv_meta.h): if bcv_meta_write_check() finds one missing, the write
 * waits for the metadata worker, which sends it (bcv_io_meta_ready()).  A
 * write that failed somewhere makes its new I bits durable before the
 * host hears of it (bcv_io_meta_done()).
 *
 * The host bio completes when all clones have.  What the write left where
 * is decided in one place, bcv_tm_write_done(): per track
 * the positions that hold the new data stay or become valid, every other
 * position becomes invalid, and a track that no position could take keeps
 * its old data at one position at least, and the host sees an error.  A
 * failed flush (or a write with a preflush that failed) marks the position
 * stale wherever another one holds the data.  A read that failed on an own
 * leg is requeued through the gate once another position holds its range
 * (bcv_read_retry()).
 *
 * The gate takes no lock on the way in nor out for a bio that nothing
 * holds back and that completes cleanly (as dm's per-CPU in-flight counts
 * and md's barrier buckets, so that CPUs do not bounce one cache line):
 *
 *  - vol->ioref, a percpu_ref, counts the bios past the gate.  bcv_hold()
 *    sets vol->held under vol->lock and then kills the ref, so a bio
 *    either got its reference before (and is waited for) or fails
 *    percpu_ref_tryget_live() and retries under vol->lock, where it sees
 *    held and waits on vol->deferred.  bcv_unhold() revives the ref before
 *    it clears held: under vol->lock, !held means the ref is live.  A kill
 *    lets the ref reach zero only after an RCU grace period, so a command
 *    on two volumes kills both refs before it waits (bcv_hold_pair()).
 *  - a data write enters its regions with atomics (bcv_region.h); one
 *    that finds a copy there retries under vol->lock, where the copy flags
 *    cannot change, and waits on vol->deferred if the copy still runs.
 *  - a write that reached every data position and failed nowhere marks
 *    tracks V only, which bcv_tm_write_done() does with atomics beside the
 *    serialised paths (bcv_trackmap.h, Concurrency); a write that failed
 *    somewhere, a discard and a write that skipped a position take
 *    vol->lock for it.
 *
 * The per-bio state (struct bcv_io) lives in the front pad of the first
 * clone, so a bio costs no allocation besides its clones.
 */

/* Per host bio: the parent of its clones, in front of the first one. */
struct bcv_io {
	struct bcv_volume *vol;		/* owner of the original bio */
	struct bio *orig;		/* the bio the host submitted */
	struct bio *first_clone;	/* holds this struct: put last */
	int first_pos;			/* the position it goes to */
	unsigned long start;		/* io accounting start time */
	sector_t sector;		/* what orig covers, saved at submit */
	unsigned int nr_sectors;
	unsigned int targets;		/* positions cloned to (bit p) */
	bool write;			/* write-like with data: holds regions */
	bool discard;			/* a discard: own legs only */
	bool flush;			/* REQ_PREFLUSH: every target's cache */
	atomic_t remaining;		/* clones not yet completed */
	unsigned long failed;		/* positions whose clone failed */
	blk_status_t status;		/* a failing clone's status */
	/* Waiting for the metadata worker (bcv_meta.h, "Write intent"). */
	struct bcv_meta_waiter mw;
	u64 first, last;		/* tracks it covers */
	unsigned int err_pos;		/* error marks: positions, range */
	unsigned int err_whole;		/* error marks: whole positions */
	u32 epoch;			/* bcv_tm_stale_epoch() when sent */
	bool kick;			/* the engine has work afterwards */
};

/* Per clone, allocated as the front padding of the clone bio. */
struct bcv_clone {
	struct bcv_io *io;
	int pos;			/* mirror position it went to */
	struct bio bio;			/* must be last: the bio_set allocates it */
};

/* The first clone of a host bio carries the bcv_io. */
struct bcv_io_clone {
	struct bcv_io io;
	struct bcv_clone c;		/* must be last */
};

static unsigned int bcv_leg_positions(struct bcv_volume *vol)
{
	return (1U << vol->nr_legs) - 1;
}

/* An attached BCV is NOT READY to its own users (bcv-design.rst section 1). */
static bool bcv_not_ready(struct bcv_volume *vol)
{
	struct bcv_tm_sess *s = bcv_tm_vol_session(&vol->tm);

	if (vol->role != BCV_ROLE_BCV)
		return false;
	/* Attached to a STD that is not assembled: it waits for it. */
	if (READ_ONCE(vol->meta.link.used) &&
	    READ_ONCE(vol->meta.link.state) != BCV_STATE_SPLIT)
		return true;
	return s && bcv_tm_sess_mm(s) != BCV_NO_POS;
}

static void bcv_bio_tracks(struct bcv_volume *vol, sector_t sector,
			   unsigned int nr, u64 *first, u64 *last)
{
	bcv_track_range(sector, nr, bcv_vol_track_shift(vol), first, last);
}

/*
 * Any context, vol->lock not held (the release may run here).  The last
 * step of every bio that passed the gate: after it, nothing may touch
 * @vol (a remove waits for the ref to drain and then frees it), so
 * callers end the host bio before.
 */
static void bcv_io_put(struct bcv_volume *vol)
{
	percpu_ref_put(&vol->ioref);
}

/* The ref dropped to zero after bcv_hold() or a remove killed it. */
static void bcv_io_ref_release(struct percpu_ref *ref)
{
	struct bcv_volume *vol = container_of(ref, struct bcv_volume, ioref);

	/* The waiter may free @vol once woken: complete_all() is the end. */
	complete_all(&vol->io_drained);
}

/* Free a bio's bcv_io (with its first clone, which holds it). */
static void bcv_io_free(struct bcv_io *io)
{
	bio_put(io->first_clone);
}

/* Any context, vol->lock held or not.  Let the copy engine look again. */
static void bcv_engine_poke(struct bcv_volume *vol)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	vol->rescan = true;
	if (!vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	spin_unlock_irqrestore(&vol->lock, flags);
}

/*
 * Any context.  A read failed on an own leg: if another position holds
 * what it covers, the leg becomes I there (the copy engine rewrites it from
 * a good copy, as md does after a read error) and the read is queued again
 * through the gate, which now sends it elsewhere.  Each retry takes a leg
 * out for the range, so a read is retried at most once per leg.  Returns
 * true if the read was requeued (and @io freed).
 */
static bool bcv_read_retry(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;
	unsigned int newly;
	unsigned long flags;
	int p = __ffs(io->failed);

	if (bio_op(orig) != REQ_OP_READ || p >= (int)vol->nr_legs)
		return false;
	spin_lock_irqsave(&vol->lock, flags);
	newly = __bcv_check_legs(vol, io->failed);
	if (bcv_tm_read_pos_avoid(&vol->tm, io->sector, io->nr_sectors,
				  1U << p) < 0) {
		spin_unlock_irqrestore(&vol->lock, flags);
		bcv_report_failed(vol, newly);
		return false;
	}
	bcv_tm_mark_stale(&vol->tm, p, io->sector, io->nr_sectors);
	spin_unlock_irqrestore(&vol->lock, flags);

	bcv_report_failed(vol, newly);
	bcv_fail_leg(vol, p, io->sector, "read (retried on another leg)");
	bio_end_io_acct(orig, io->start);
	bcv_io_free(io);
	/* Requeued, it counts as not past the gate; resubmitted by a worker. */
	spin_lock_irqsave(&vol->lock, flags);
	bio_list_add(&vol->deferred, orig);
	if (!vol->dead)
		queue_work(system_wq, &vol->retry_work);
	spin_unlock_irqrestore(&vol->lock, flags);
	bcv_io_put(vol);
	return true;
}

static void bcv_retry_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(work, struct bcv_volume,
					      retry_work);

	bcv_kick_deferred(vol);
	bcv_engine_kick(vol);
}

/*
 * A clean write: it reached every data position and failed nowhere, so
 * bcv_tm_write_done() only marks tracks V, without vol->lock.
 */
static bool bcv_io_clean(struct bcv_io *io)
{
	unsigned int d = bcv_tm_data_positions(&io->vol->tm);

	return !io->failed && !io->discard && (io->targets & d) == d &&
	       !(bcv_tm_stale_since(&io->vol->tm, io->epoch) & io->targets);
}

/*
 * Caller holds vol->lock, or @io is clean (bcv_io_clean()).  The tables
 * after a write-like bio or a flush; returns whether the host may be told
 * it succeeded.
 */
static bool __bcv_io_tables(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	unsigned int ok = io->targets & ~(unsigned int)io->failed, p;
	bool good = true;
	u64 kept = 0;

	/*
	 * A cache flush failed: what the position acknowledged since its
	 * last flush may be lost, and nothing says which tracks.  It is
	 * stale for all of them, except where it is the only holder (kept:
	 * then the host must hear of it).
	 */
	if (io->flush)
		for (p = 0; p < BCV_POSITIONS; p++)
			if (io->failed & (1U << p))
				kept += bcv_tm_flush_failed(&vol->tm, p);
	/*
	 * A position whose flush failed while this write was in flight may
	 * have lost it too: it validates nothing there.
	 */
	if (io->write)
		ok &= ~bcv_tm_stale_since(&vol->tm, io->epoch);
	if (io->write && bcv_tm_write_done(&vol->tm, io->sector,
					   io->nr_sectors, io->targets, ok,
					   !io->discard))
		good = false;
	if (kept || !ok)
		good = false;
	/*
	 * A leg that alone held tracks failed: what it took since its last
	 * flush may be gone, and no flush can bring it back.
	 */
	if (io->flush && vol->tm.lost)
		good = false;
	return good;
}

/*
 * Any context.  The end of a host bio that passed the gate: a write leaves
 * its regions (waking the engine if it waits for them), the host hears
 * io->status, then bcv_io_put() lets a remove go on.
 */
static void bcv_io_finish(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	struct bio *orig = io->orig;
	bool kick = io->kick;

	/* The engine may want a region this write leaves idle. */
	if (io->write &&
	    bcv_regions_write_put(&vol->regions, io->first, io->last))
		kick = true;
	if (kick)
		bcv_engine_poke(vol);
	orig->bi_status = io->status;
	bio_end_io_acct(orig, io->start);
	bio_endio(orig);
	bcv_io_free(io);
	bcv_io_put(vol);
}

/*
 * The metadata worker: the I bits of a failed write are on disk (@err 0),
 * the batch was full (-EAGAIN: queue them again), or they could not be
 * written: the host hears of an error.
 */
static void bcv_io_meta_done(struct bcv_meta_waiter *w, int err)
{
	struct bcv_io *io = container_of(w, struct bcv_io, mw);
	struct bcv_volume *vol = io->vol;

	if (err == -EAGAIN) {
		bool queued;

		spin_lock_irq(&vol->lock);
		queued = __bcv_meta_error_marks(vol, io->err_pos, io->err_whole,
						io->first, io->last, &io->mw);
		spin_unlock_irq(&vol->lock);
		if (queued)
			return;
		err = 0;
	}
	if (err)
		io->status = BLK_STS_IOERR;
	bcv_io_finish(io);
}

/*
 * Any context.  The last clone of a host bio completed.
 *  1. A failed read goes again elsewhere if it can (bcv_read_retry()).
 *  2. Under vol->lock: legs whose device went away are marked failed, a
 *     write's or flush's effect goes into the tables (which decide the
 *     host's status); the I bits a failure added go to disk first
 *     (bcv_io_meta_done() then ends the bio).
 *  3. bcv_io_finish(): the write leaves its regions, the host bio ends.
 */
static void bcv_io_complete(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	blk_status_t status = io->status;
	unsigned int newly = 0;
	unsigned long flags;
	bool good, marks = false, deferred;
	unsigned int stale = 0;
	int p;

	if (!io->write && !io->flush && io->failed && bcv_read_retry(io))
		return;
	if (!io->failed)
		status = BLK_STS_OK;
	io->kick = false;

	if (io->write && bcv_io_clean(io)) {
		/* Marks tracks V only: no lock (see "I/O path" above). */
		if (!__bcv_io_tables(io))
			status = BLK_STS_IOERR;
		/*
		 * Pairs with bcv_tm_flush_failed(): a flush that failed
		 * meanwhile moved the epoch before it marked its position I;
		 * if the V marks above came after those, the epoch shows it,
		 * and the position goes stale here again.
		 */
		smp_mb();
		stale = bcv_tm_stale_since(&vol->tm, io->epoch) & io->targets;
		if (unlikely(stale)) {
			u64 kept = 0;

			spin_lock_irqsave(&vol->lock, flags);
			for (p = 0; p < BCV_POSITIONS; p++)
				if (stale & (1U << p))
					kept += bcv_tm_mark_stale(&vol->tm, p,
								  io->sector,
								  io->nr_sectors);
			spin_unlock_irqrestore(&vol->lock, flags);
			if (kept)
				status = BLK_STS_IOERR;
			marks = true;	/* their I bits go to disk first */
		}
	} else if (io->failed || io->write || io->flush) {
		/* Positions whose flush failed while it was in flight. */
		if (io->write)
			stale = bcv_tm_stale_since(&vol->tm, io->epoch) &
				io->targets;
		spin_lock_irqsave(&vol->lock, flags);
		if (io->failed)
			newly = __bcv_check_legs(vol, io->failed);
		if (io->write || io->flush) {
			good = __bcv_io_tables(io);
			status = good ? BLK_STS_OK : (status ?: BLK_STS_IOERR);
			/* Stale positions: the copy engine has work. */
			io->kick = io->failed || io->discard;
			/*
			 * The I bits of a failure, and, for a write that
			 * skipped a position, the V bits of positions that
			 * alone hold what it wrote (__bcv_meta_error_marks()).
			 */
			marks = io->failed || io->write;
		} else if (!status) {
			status = BLK_STS_IOERR;
		}
		spin_unlock_irqrestore(&vol->lock, flags);
		bcv_report_failed(vol, newly);
		for_each_set_bit(p, &io->failed, BCV_POSITIONS)
			bcv_fail_leg(vol, p, io->sector, io->write ?
				     (io->discard ? "discard" : "write") :
				     io->flush ? "flush" : "read");
	}
	io->status = status;
	if (marks) {
		/*
		 * The I bits the failure left go to disk before the host
		 * hears (the write still holds its regions: no copy clears
		 * them meanwhile).  Once queued, @io is the worker's.
		 */
		/*
		 * And the positions it did not reach: where one it skipped
		 * held the track alone on disk, it was not marked I before
		 * (BCV_MARK_OTHER); it is now, after the V bits of the
		 * positions that took the write.
		 */
		io->err_pos = io->write ? io->failed | stale |
			      (bcv_tm_data_positions(&vol->tm) & ~io->targets) :
			      0;
		io->err_whole = io->flush ? io->failed : 0;
		io->mw.fn = bcv_io_meta_done;
		spin_lock_irqsave(&vol->lock, flags);
		deferred = __bcv_meta_error_marks(vol, io->err_pos,
						  io->err_whole, io->first,
						  io->last, &io->mw);
		spin_unlock_irqrestore(&vol->lock, flags);
		if (deferred)
			return;
	}
	bcv_io_finish(io);
}

/* Interrupt context. */
static void bcv_clone_endio(struct bio *bio)
{
	struct bcv_clone *c = container_of(bio, struct bcv_clone, bio);
	struct bcv_io *io = c->io;

	if (bio->bi_status) {
		WRITE_ONCE(io->status, bio->bi_status);
		set_bit(c->pos, &io->failed);
	}
	/* The first clone holds @io: bcv_io_free() puts it. */
	if (bio != io->first_clone)
		bio_put(bio);
	if (atomic_dec_and_test(&io->remaining))
		bcv_io_complete(io);
}

/* A bio that never got past the gate's checks. */
static void bcv_io_fail(struct bcv_volume *vol, struct bio *bio,
			blk_status_t status)
{
	bio->bi_status = status;
	bio_endio(bio);
	bcv_io_put(vol);
}

/*
 * A bio past the gate that goes nowhere: it leaves its regions (if a
 * write) and fails with EIO.  May sleep (process context, submit path).
 */
static void bcv_io_refuse(struct bcv_volume *vol, struct bio *bio,
			  bool data_write, u64 first, u64 last)
{
	if (data_write && bcv_regions_write_put(&vol->regions, first, last))
		bcv_engine_poke(vol);
	bcv_io_fail(vol, bio, BLK_STS_IOERR);
}

/*
 * The position a read of [@sector, +@nr) starting in track @first goes to.
 * With several legs, reads are spread over them by region (sequential
 * readers stay on one leg per region): the search starts at the region's
 * leg and falls back to the lower legs only when no leg from there on is
 * valid.  One table lookup for a volume with one leg.
 */
static int bcv_read_pos(struct bcv_volume *vol, sector_t sector,
			unsigned int nr, u64 first)
{
	unsigned int from = vol->nr_legs > 1 ?
			    bcv_region_of(&vol->regions, first) % vol->nr_legs : 0;
	int p;

	p = bcv_tm_read_pos_avoid(&vol->tm, sector, nr, (1U << from) - 1);
	if (from && (p < 0 || p >= (int)vol->nr_legs))
		p = bcv_tm_read_pos(&vol->tm, sector, nr);
	return p;
}

/*
 * Send @io's clones to its targets.  Process context (the submit path or
 * the metadata worker).
 */
static void bcv_io_issue(struct bcv_io *io)
{
	struct bcv_volume *vol = io->vol;
	/* Once the last clone is submitted, @io may complete and go. */
	unsigned int targets = io->targets;
	int p;

	/*
	 * Each clone is submitted as soon as it is allocated; the bio set
	 * has a rescuer for the clones that wait on current->bio_list
	 * meanwhile (block/bio.c, "stacking drivers").
	 */
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct bcv_clone *c;
		struct bio *clone;

		if (!(targets & (1U << p)))
			continue;
		if (p == io->first_pos) {
			clone = io->first_clone;
		} else {
			clone = bio_alloc_clone(bcv_pos_bdev(vol, p), io->orig,
						GFP_NOIO, &bcv_bio_set);
			clone->bi_end_io = bcv_clone_endio;
		}
		c = container_of(clone, struct bcv_clone, bio);
		c->io = io;
		c->pos = p;
		submit_bio_noacct(clone);
	}
}

/*
 * The metadata worker: @io's marks are on disk (@err 0), the batch was
 * full (-EAGAIN: check again) or could not be written (the write fails
 * before it reached any leg; its marks stay, over-marking).
 */
static void bcv_io_meta_ready(struct bcv_meta_waiter *w, int err)
{
	struct bcv_io *io = container_of(w, struct bcv_io, mw);
	struct bcv_volume *vol = io->vol;

	if (err == -EAGAIN) {
		if (!bcv_meta_write_check(vol, io->first, io->last,
					  io->targets, &io->mw))
			return;
		err = 0;
	}
	if (!err) {
		bcv_io_issue(io);
		return;
	}
	io->status = BLK_STS_IOERR;
	io->kick = false;
	bcv_io_finish(io);
}

/*
 * A write during a protected restore covers in part track @t, which only
 * the BCV holds and which it does not reach (bcv_tm_fill_track()): it
 * leaves its regions and waits on vol->deferred until the engine has
 * copied the track to the STD (__bcv_fill_request()), then goes through the
 * gate again; while the session is paused it waits there, copying nothing,
 * until RESUME kicks the deferred bios; or it fails, changing nothing, if
 * that copy cannot run.  Process context (the submit path).
 */
static void bcv_io_fill_wait(struct bcv_volume *vol, struct bio *bio,
			     u64 first, u64 last, u64 t)
{
	bool kick = bcv_regions_write_put(&vol->regions, first, last);
	enum bcv_fill fill;

	spin_lock_irq(&vol->lock);
	fill = __bcv_fill_request(vol, t);
	if (fill != BCV_FILL_FAILED)
		bio_list_add(&vol->deferred, bio);
	if (fill != BCV_FILL_QUEUED && kick && !vol->dead)
		mod_delayed_work(system_wq, &vol->engine, 0);
	spin_unlock_irq(&vol->lock);
	if (fill == BCV_FILL_FAILED) {
		bcv_fail_leg(vol, BCV_NO_POS, bio->bi_iter.bi_sector,
			     "write (the restore source backs off after errors)");
		bcv_io_fail(vol, bio, BLK_STS_IOERR);
		return;
	}
	bcv_io_put(vol);
}

/*
 * The way in (see "I/O path" above): true with a reference on vol->ioref
 * and, for a data write, its regions entered; false if @bio now waits on
 * vol->deferred.  Process context.
 */
static bool bcv_gate_enter(struct bcv_volume *vol, struct bio *bio,
			   bool data_write, u64 first, u64 last)
{
	unsigned int g = 0;

	if (likely(percpu_ref_tryget_live(&vol->ioref))) {
		if (!data_write)
			return true;
		g = bcv_regions_write_get(&vol->regions, first, last);
		if (!g)
			return true;
		bcv_io_put(vol);
	}
	/* Held, or a copy in a region: again where neither can change. */
	spin_lock_irq(&vol->lock);
	if (g & BCV_GATE_KICK) {
		/* Leaving again emptied a region the engine waits for. */
		vol->rescan = true;
		if (!vol->dead)
			mod_delayed_work(system_wq, &vol->engine, 0);
	}
	g = 0;
	if (!vol->held && data_write) {
		/* The flags are stable here: no bump to undo, no kick. */
		g = bcv_regions_write_get(&vol->regions, first, last);
	}
	if (vol->held || g) {
		bio_list_add(&vol->deferred, bio);
		spin_unlock_irq(&vol->lock);
		return false;
	}
	/* Not held under the lock: the ref is live (bcv_unhold()). */
	percpu_ref_get(&vol->ioref);
	spin_unlock_irq(&vol->lock);
	return true;
}

/**
 * bcv_submit_bio() - the volume's ->submit_bio
 * @bio: a host bio
 *
 * Context: process; may sleep (GFP_NOIO bio set allocations,
 * which never fail).
 */
void bcv_submit_bio(struct bio *bio)
{
	struct bcv_volume *vol = bio->bi_bdev->bd_disk->private_data;
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int nr = bio_sectors(bio);
	bool write = op_is_write(bio_op(bio));
	bool data_write = write && nr;
	bool discard = bio_op(bio) == REQ_OP_DISCARD ||
		       bio_op(bio) == REQ_OP_SECURE_ERASE;
	unsigned int targets;
	struct bio *clone;
	struct bcv_io *io;
	u64 first, last;
	int p;

	bcv_bio_tracks(vol, sector, nr, &first, &last);
	if (!bcv_gate_enter(vol, bio, data_write, first, last))
		return;

	/* Past the gate, roles and sessions are stable until we complete. */
	if (bcv_not_ready(vol)) {
		bcv_io_refuse(vol, bio, data_write, first, last);
		return;
	}

	if (data_write && !discard) {
		/* A protected restore: a track written in part needs its data. */
		u64 t = bcv_tm_fill_track(&vol->tm, sector, nr);

		if (unlikely(t != BCV_NO_TRACK)) {
			bcv_io_fill_wait(vol, bio, first, last, t);
			return;
		}
	}
	if (write) {
		targets = bcv_tm_write_targets(&vol->tm);
		/*
		 * No own leg left to take it (all failed): an attached BCV
		 * alone would hold it, and the volume has no leg to say so
		 * on disk; it fails until a leg is added.
		 */
		if (!(targets & bcv_leg_positions(vol)))
			targets = 0;
		if (discard)
			targets &= bcv_leg_positions(vol);
	} else {
		p = bcv_read_pos(vol, sector, nr, first);
		if (p < 0 && first != last) {
			/* No one position holds it all: one track at a time. */
			sector_t end = bcv_tm_track_sector(&vol->tm, first + 1);
			struct bio *split = bio_split(bio, end - sector, GFP_NOIO,
						      &bcv_split_set);

			bio_chain(split, bio);
			submit_bio_noacct(bio);
			bio = split;
			nr = bio_sectors(bio);
			p = bcv_read_pos(vol, sector, nr, first);
		}
		targets = p < 0 ? 0 : 1U << p;
		if (!targets)
			bcv_fail_leg(vol, BCV_NO_POS, sector, "read");
	}
	if (!targets) {
		/* Nowhere to go: every leg failed, or no leg holds the data. */
		bcv_io_refuse(vol, bio, data_write, first, last);
		return;
	}

	/* The first clone, with @io in front; the others come at issue. */
	p = __ffs(targets);
	clone = bio_alloc_clone(bcv_pos_bdev(vol, p), bio, GFP_NOIO,
				&bcv_io_set);
	clone->bi_end_io = bcv_clone_endio;
	io = &container_of(clone, struct bcv_io_clone, c.bio)->io;
	io->first_clone = clone;
	io->first_pos = p;
	io->vol = vol;
	io->orig = bio;
	io->sector = sector;
	io->nr_sectors = nr;
	io->targets = targets;
	io->write = data_write;
	io->discard = discard;
	io->flush = write && (bio->bi_opf & REQ_PREFLUSH);
	io->failed = 0;
	io->status = BLK_STS_OK;
	io->first = first;
	io->last = last;
	atomic_set(&io->remaining, hweight32(targets));
	io->start = bio_start_io_acct(bio);

	/* Mark before the data moves: a split after this sees the change. */
	if (data_write) {
		io->epoch = bcv_tm_stale_epoch(&vol->tm);
		bcv_tm_write(&vol->tm, sector, nr, 0);
		io->mw.fn = bcv_io_meta_ready;
		if (!bcv_meta_write_check(vol, first, last, targets, &io->mw))
			return;		/* the worker sends it */
	}
	bcv_io_issue(io);
}

/*------------------------------------------------------------------------
 * The gate, for commands
 */

/*
 * Context: may sleep.  Stop new bios from passing the gate's fast path
 * (vol->held or vol->dead is set already) and wait until every bio past
 * it has completed.  Idempotent until bcv_io_revive().
 */
static void bcv_io_kill(struct bcv_volume *vol)
{
	bool kill;

	spin_lock_irq(&vol->lock);
	kill = !vol->io_killed;
	vol->io_killed = true;
	spin_unlock_irq(&vol->lock);
	if (kill) {
		reinit_completion(&vol->io_drained);
		percpu_ref_kill(&vol->ioref);
	}
}

static void bcv_io_drain(struct bcv_volume *vol)
{
	bcv_io_kill(vol);
	wait_for_completion(&vol->io_drained);
}

/*
 * Context: may sleep; serialised with bcv_io_drain() by bcv_lock.  After
 * bcv_io_drain(): the fast path opens again.
 */
static void bcv_io_revive(struct bcv_volume *vol)
{
	bool killed;

	spin_lock_irq(&vol->lock);
	killed = vol->io_killed;
	spin_unlock_irq(&vol->lock);
	if (!killed)
		return;
	percpu_ref_resurrect(&vol->ioref);
	spin_lock_irq(&vol->lock);
	vol->io_killed = false;
	spin_unlock_irq(&vol->lock);
}

/* Context: any but hardirq; takes vol->lock.  No copy job in flight. */
static bool bcv_no_jobs(struct bcv_volume *vol)
{
	bool idle;

	spin_lock_irq(&vol->lock);
	idle = !vol->jobs;
	spin_unlock_irq(&vol->lock);
	return idle;
}

/* Context: may sleep.  The first half of bcv_hold(): no wait for bios. */
static void bcv_hold_start(struct bcv_volume *vol)
{
	spin_lock_irq(&vol->lock);
	vol->held = true;
	vol->paused = true;
	spin_unlock_irq(&vol->lock);
	cancel_delayed_work_sync(&vol->engine);
	bcv_io_kill(vol);
}

/**
 * bcv_hold() - stop @vol's host I/O and copies, and wait for those in flight
 * @vol: the volume
 *
 * New bios wait on vol->deferred, the engine's worker stops.
 *
 * Context: may sleep; caller holds bcv_lock.
 */
void bcv_hold(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	bcv_hold_start(vol);
	bcv_io_drain(vol);
	wait_event(vol->wait, bcv_no_jobs(vol));
}

/**
 * bcv_hold_pair() - bcv_hold() @a and @b, in about the time of one
 * @a: a volume
 * @b: another volume
 *
 * Killing a percpu_ref waits an RCU grace period before the ref can reach
 * zero (tens of milliseconds on a slow machine): both refs are killed
 * before either is waited for, so that the two grace periods overlap.
 *
 * Context: may sleep; caller holds bcv_lock.
 */
void bcv_hold_pair(struct bcv_volume *a, struct bcv_volume *b)
{
	struct bcv_volume *v[2] = { a, b };

	bcv_hold_many(v, 2);
}

/**
 * bcv_hold_many() - bcv_hold() @n volumes, in about the time of one
 * @vols: distinct volumes
 * @n: how many
 *
 * As bcv_hold_pair(): every ref is killed before any is waited for.
 *
 * Context: may sleep; caller holds bcv_lock.
 */
void bcv_hold_many(struct bcv_volume **vols, unsigned int n)
{
	unsigned int i;

	lockdep_assert_held(&bcv_lock);
	for (i = 0; i < n; i++)
		bcv_hold_start(vols[i]);
	for (i = 0; i < n; i++)
		bcv_io_drain(vols[i]);
	for (i = 0; i < n; i++)
		wait_event(vols[i]->wait, bcv_no_jobs(vols[i]));
}

/**
 * bcv_quiesce_dead() - wait for a removed volume's bios and copies
 * @vol: a volume __bcv_volume_unlist() marked dead
 *
 * Context: may sleep; bcv_lock not held.
 */
void bcv_quiesce_dead(struct bcv_volume *vol)
{
	bcv_io_drain(vol);
	wait_event(vol->wait, bcv_no_jobs(vol));
}

/**
 * bcv_kick_deferred() - resubmit the bios waiting at @vol's gate
 * @vol: the volume
 *
 * Nothing happens while a command holds the volume.
 *
 * Context: process; may sleep (resubmission); vol->lock not held.
 */
void bcv_kick_deferred(struct bcv_volume *vol)
{
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vol->lock);
	if (vol->held) {
		spin_unlock_irq(&vol->lock);
		return;
	}
	list = vol->deferred;
	bio_list_init(&vol->deferred);
	spin_unlock_irq(&vol->lock);
	while ((bio = bio_list_pop(&list)))
		submit_bio_noacct(bio);
}

/**
 * bcv_unhold() - let @vol's I/O and copies go again after bcv_hold()
 * @vol: the volume
 *
 * Context: may sleep; caller holds bcv_lock.
 */
void bcv_unhold(struct bcv_volume *vol)
{
	lockdep_assert_held(&bcv_lock);
	/* Live again before !held can be seen (bcv_gate_enter()). */
	bcv_io_revive(vol);
	spin_lock_irq(&vol->lock);
	vol->held = false;
	vol->paused = false;
	/*
	 * A command may have moved what sits at each position: back-offs
	 * start afresh (a device still dead fails its next copy at once).
	 */
	memset(vol->backoff, 0, sizeof(vol->backoff));
	vol->err_episode = 0;
	spin_unlock_irq(&vol->lock);
	bcv_kick_deferred(vol);
	bcv_engine_kick(vol);
}

/**
 * bcv_fail_deferred() - fail the bios waiting at a removed volume's gate
 * @vol: a volume bcv_volume_free() is freeing
 *
 * Context: any but hardirq.
 */
void bcv_fail_deferred(struct bcv_volume *vol)
{
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vol->lock);
	list = vol->deferred;
	bio_list_init(&vol->deferred);
	spin_unlock_irq(&vol->lock);
	while ((bio = bio_list_pop(&list)))
		bio_io_error(bio);
}

/*------------------------------------------------------------------------
 * Set-up
 */

/**
 * bcv_io_vol_init() - the per-volume parts of the I/O path
 * @vol: a new volume
 *
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int bcv_io_vol_init(struct bcv_volume *vol)
{
	INIT_WORK(&vol->retry_work, bcv_retry_work);
	bio_list_init(&vol->deferred);
	init_waitqueue_head(&vol->wait);
	init_completion(&vol->io_drained);
	return percpu_ref_init(&vol->ioref, bcv_io_ref_release,
			       PERCPU_REF_ALLOW_REINIT, GFP_KERNEL);
}

/* Context: may sleep.  @vol's I/O path is drained (or was never used). */
void bcv_io_vol_exit(struct bcv_volume *vol)
{
	percpu_ref_exit(&vol->ioref);
}

/**
 * bcv_io_init() - the module's bio sets for the I/O path
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int bcv_io_init(void)
{
	int ret;

	/*
	 * The bio sets allocate while earlier clones of the same host bio
	 * wait on current->bio_list: the rescuer keeps that from deadlocking
	 * when the pools run dry.
	 */
	ret = bioset_init(&bcv_io_set, BIO_POOL_SIZE,
			  offsetof(struct bcv_io_clone, c.bio), BIOSET_NEED_RESCUER);
	if (ret)
		return ret;
	ret = bioset_init(&bcv_bio_set, BIO_POOL_SIZE,
			  offsetof(struct bcv_clone, bio), BIOSET_NEED_RESCUER);
	if (ret)
		goto out_io;
	ret = bioset_init(&bcv_split_set, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
	if (ret)
		goto out_clones;
	return 0;

out_clones:
	bioset_exit(&bcv_bio_set);
out_io:
	bioset_exit(&bcv_io_set);
	return ret;
}

/* Context: module exit; no volume exists. */
void bcv_io_exit(void)
{
	bioset_exit(&bcv_split_set);
	bioset_exit(&bcv_bio_set);
	bioset_exit(&bcv_io_set);
}
