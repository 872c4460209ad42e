// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: on-disk metadata.  See bcv_meta.h for what is written when, and
 * Documentation/bcv-format.rst for the format.
 *
 * I/O is synchronous (submit_bio_wait()) from process context: metadata is
 * written by commands, stop, assembly and a work item, never from the
 * data path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/crc32c.h>
#include <linux/uuid.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/sizes.h>

#include "bcv_core.h"
#include "bcv_meta.h"
#include "bcv_sb.h"

/* bcv_compat_gen.h (through bcv_core.h) says where it lives. */
#ifdef BCV_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

static_assert(sizeof(struct bcv_sb) <= BCV_SB_SIZE, "superblock size");
static_assert(BCV_FMT_NAME_LEN == BCV_NAME_LEN, "name length");
static_assert(BCV_FMT_LEGS == BCV_MAX_LEGS, "legs");
static_assert(BCV_FMT_POSITIONS == BCV_POSITIONS, "positions");
static_assert(BCV_FMT_SESSIONS == BCV_SESSIONS, "sessions");
static_assert(BITS_PER_LONG == 64, "tables are saved as 64-bit words");

#define BCV_META_CHUNK_ORDER	4	/* table I/O in 64 KiB pieces */
#define BCV_SB_NO_POS		0xffffffffU

/*------------------------------------------------------------------------
 * I/O
 */

/*
 * Read or write @len bytes (a multiple of 512) at @sector of @bdev from or
 * to @buf, memory from __get_free_pages().  Sleeps.
 */
static int bcv_meta_rw(struct block_device *bdev, sector_t sector, void *buf,
		       unsigned int len, blk_opf_t opf)
{
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE), off;
	struct bio *bio;
	int ret;

	bio = bio_alloc(bdev, nr, opf, GFP_NOIO);
	bio->bi_iter.bi_sector = sector;
	for (off = 0; off < len; off += PAGE_SIZE)
		__bio_add_page(bio, virt_to_page(buf + off),
			       min_t(unsigned int, PAGE_SIZE, len - off), 0);
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

/* A page-backed buffer of 64 KiB, or of one page under fragmentation. */
static void *bcv_meta_buf(unsigned int *len)
{
	void *p = (void *)__get_free_pages(GFP_KERNEL | __GFP_NOWARN,
					   BCV_META_CHUNK_ORDER);

	if (p) {
		*len = PAGE_SIZE << BCV_META_CHUNK_ORDER;
		return p;
	}
	*len = PAGE_SIZE;
	return (void *)__get_free_page(GFP_KERNEL);
}

static void bcv_meta_buf_free(void *p, unsigned int len)
{
	free_pages((unsigned long)p, get_order(len));
}

int bcv_meta_layout(struct block_device *bdev, unsigned int shift,
		    struct bcv_fmt_layout *l)
{
	return bcv_fmt_layout(bdev_nr_sectors(bdev), shift, l) ? -ENOSPC : 0;
}

/* Where the two superblock copies of a device of @sectors are. */
static void bcv_sb_offsets(sector_t sectors, sector_t off[BCV_SB_COPIES])
{
	sector_t dev = round_down(sectors, BCV_FMT_ALIGN);

	off[0] = dev - 2 * BCV_FMT_ALIGN;
	off[1] = dev - BCV_FMT_ALIGN;
}

static u32 bcv_sb_crc(const struct bcv_sb *sb)
{
	struct bcv_sb *s = (struct bcv_sb *)sb;
	__le32 saved = s->crc;
	u32 crc;

	s->crc = 0;
	crc = crc32c(~0U, sb, BCV_SB_SIZE) ^ ~0U;
	s->crc = saved;
	return crc;
}

/*------------------------------------------------------------------------
 * Checking a superblock read from a device: nothing in it is trusted
 * (bcv_sb_check(), bcv_sb.c: pure code, fuzzed in userspace).
 */

int bcv_meta_read_sb(struct block_device *bdev, struct bcv_meta_sb *out)
{
	sector_t dev = bdev_nr_sectors(bdev), off[BCV_SB_COPIES];
	struct bcv_sb *sb[BCV_SB_COPIES] = { };
	int c, best = -1, ret = 0;

	out->sb = NULL;
	out->bad = 0;
	if (dev < 4 * BCV_FMT_ALIGN)
		return -ENODATA;
	bcv_sb_offsets(dev, off);
	for (c = 0; c < BCV_SB_COPIES; c++) {
		sb[c] = (void *)__get_free_page(GFP_KERNEL);
		if (!sb[c]) {
			ret = -ENOMEM;
			goto out;
		}
		ret = bcv_meta_rw(bdev, off[c], sb[c], BCV_SB_SIZE, REQ_OP_READ);
		if (ret)
			goto out;
		if (bcv_sb_check(sb[c], dev) != BCV_SB_OK) {
			/* A zeroed copy is absent, not damaged. */
			if (memchr_inv(sb[c], 0, BCV_SB_SIZE))
				out->bad |= 1 << c;
			continue;
		}
		if (best < 0 || le64_to_cpu(sb[c]->seq) >
				le64_to_cpu(sb[best]->seq))
			best = c;
	}
	if (best < 0) {
		ret = -ENODATA;
		goto out;
	}
	out->copy = best;
	out->sb = kmemdup(sb[best], BCV_SB_SIZE, GFP_KERNEL);
	if (!out->sb)
		ret = -ENOMEM;
out:
	for (c = 0; c < BCV_SB_COPIES; c++)
		if (sb[c])
			free_page((unsigned long)sb[c]);
	return ret;
}

/*------------------------------------------------------------------------
 * Building and writing superblocks
 */

static void bcv_sess_rec(struct bcv_sb_sess *r, const u8 *uuid,
			 const char *name, unsigned int id, unsigned int state,
			 int mm)
{
	r->flags = cpu_to_le32(BCV_SB_SESS_USED);
	memcpy(r->peer_uuid, uuid, BCV_FMT_UUID_LEN);
	strscpy(r->peer_name, name, sizeof(r->peer_name));
	r->id = cpu_to_le32(id);
	r->state = cpu_to_le32(state);
	r->mm = cpu_to_le32(mm == BCV_NO_POS ? BCV_SB_NO_POS : (u32)mm);
}

/*
 * The superblock of @vol as leg @pos writes it, into @sb (zeroed).  Caller
 * holds meta.lock, with the volume's sessions stable (see
 * __bcv_meta_write_sb_locked()); takes the STD's state_lock for states.
 */
static void bcv_meta_build(struct bcv_volume *vol, int pos, struct bcv_sb *sb,
			   bool clean)
{
	struct bcv_meta *m = &vol->meta;
	const struct bcv_fmt_layout *l = &m->layout[pos];
	struct bcv_tm_sess *ts;
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm), syncing = 0;

	lockdep_assert_held(&m->lock);
	memcpy(sb->magic, BCV_SB_MAGIC, sizeof(sb->magic));
	sb->version = cpu_to_le32(BCV_SB_VERSION);
	sb->features = cpu_to_le64(BCV_SB_FEATURES);
	sb->seq = cpu_to_le64(m->seq);
	sb->events = cpu_to_le64(m->events);
	sb->ctime = cpu_to_le64(m->ctime);
	sb->utime = cpu_to_le64(ktime_get_real_seconds());
	memcpy(sb->vol_uuid, m->uuid, BCV_FMT_UUID_LEN);
	strscpy(sb->name, vol->name, sizeof(sb->name));
	sb->role = cpu_to_le32(vol->role);
	sb->flags = cpu_to_le32((clean ? BCV_SB_F_CLEAN : 0) |
				(m->intent ? 0 : BCV_SB_F_NO_INTENT));
	sb->track_shift = cpu_to_le32(bcv_vol_track_shift(vol));
	sb->nr_legs = cpu_to_le32(vol->nr_legs);
	sb->leg_pos = cpu_to_le32(pos);
	sb->sectors = cpu_to_le64(bcv_vol_sectors(vol));
	sb->tracks = cpu_to_le64(bcv_vol_tracks(vol));
	sb->dev_sectors = cpu_to_le64(l->dev_sectors);
	sb->data_sectors = cpu_to_le64(l->data_sectors);
	sb->tracks_cap = cpu_to_le64(l->tracks_cap);
	sb->pb_offset = cpu_to_le64(l->pb_offset);
	sb->pb_sectors = cpu_to_le64(l->pb_sectors);
	sb->inv_sectors = cpu_to_le64(l->inv_sectors);
	for (i = 0; i < BCV_FMT_POSITIONS; i++)
		sb->inv_offset[i] = cpu_to_le64(l->inv_offset[i]);
	sb->al_offset = cpu_to_le64(l->al_offset);
	sb->al_sectors = cpu_to_le64(l->al_sectors);
	for (i = 0; i < vol->nr_legs; i++) {
		u32 f = 0;

		if (failed & (1U << i))
			f |= BCV_SB_LEG_FAILED;
		/* Racy for a running volume: see bcv_tm_recover()'s caller. */
		if (!bcv_tm_pos_clean(&vol->tm, i))
			f |= BCV_SB_LEG_SYNCING;
		memcpy(sb->legs[i].uuid, m->leg_uuid[i], BCV_FMT_UUID_LEN);
		sb->legs[i].flags = cpu_to_le32(f);
		if (f & BCV_SB_LEG_SYNCING)
			syncing |= 1U << i;
	}
	WRITE_ONCE(m->syncing, syncing);

	if (vol->role == BCV_ROLE_STD) {
		mutex_lock(&vol->state_lock);
		for (i = 0; i < BCV_SESSIONS; i++) {
			struct bcv_session *s;

			ts = bcv_tm_column(&vol->tm, i);
			if (!ts)
				continue;
			s = bcv_tm_session_of(ts);
			bcv_sess_rec(&sb->sess[i], s->bcv_uuid, s->bcv_name, i,
				     bcv_tm_sess_state(ts), bcv_tm_sess_mm(ts));
			if (bcv_tm_sess_protected(ts))
				sb->sess[i].flags |=
					cpu_to_le32(BCV_SB_SESS_PROTECT);
		}
		mutex_unlock(&vol->state_lock);
		return;
	}
	ts = bcv_tm_vol_session(&vol->tm);
	if (ts) {
		struct bcv_volume *std = bcv_tm_session_of(ts)->std;

		mutex_lock(&std->state_lock);
		bcv_sess_rec(&sb->link, std->meta.uuid, std->name,
			     bcv_tm_sess_id(ts), bcv_tm_sess_state(ts),
			     bcv_tm_sess_mm(ts));
		mutex_unlock(&std->state_lock);
	} else if (m->link.used) {
		bcv_sess_rec(&sb->link, m->link.std_uuid, m->link.std_name,
			     m->link.id, m->link.state,
			     m->link.state == BCV_STATE_SPLIT ? BCV_NO_POS : 0);
	}
}

/*
 * bcv_meta_write_sb() to the legs in @legs only (and not failed); 0 if
 * one took it.  Caller holds meta.lock, and either bcv_lock (commands,
 * stop, assembly) or knows the volume's legs and sessions are stable: the
 * metadata worker writes one while host I/O it serves is in flight, which
 * no command can change (a command holds the volume first, and holding
 * waits for that I/O to end).  Sleeps; allocates with @gfp.
 */
static int __bcv_meta_write_sb_locked(struct bcv_volume *vol, bool clean,
				      unsigned int legs, gfp_t gfp)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm) | ~legs, ok = 0;
	struct bcv_sb *sb;
	int ret = -EIO;

	lockdep_assert_held(&m->lock);
	sb = (void *)get_zeroed_page(gfp);
	if (!sb)
		return -ENOMEM;
	m->events++;
	m->seq++;
	for (i = 0; i < vol->nr_legs; i++) {
		struct block_device *bdev = bcv_leg_bdev(vol, i);
		sector_t off[BCV_SB_COPIES];
		int err;

		if (failed & (1U << i))
			continue;
		memset(sb, 0, BCV_SB_SIZE);
		bcv_meta_build(vol, i, sb, clean);
		sb->crc = cpu_to_le32(bcv_sb_crc(sb));
		bcv_sb_offsets(m->layout[i].dev_sectors, off);
		err = bcv_meta_rw(bdev, off[!m->sb_copy[i]], sb, BCV_SB_SIZE,
				  REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH |
				  REQ_FUA);
		if (err) {
			pr_err("%s: superblock write to %pg (M%u) failed: %d\n",
			       vol->name, bdev, i + 1, err);
			ret = err;
			continue;
		}
		m->sb_copy[i] = !m->sb_copy[i];
		ok++;
	}
	if (ok) {
		m->clean = clean;
		/* The legs flagged failed in it, as assembly will see them. */
		m->sb_failed = bcv_tm_failed_legs(&vol->tm) &
			       (BIT(vol->nr_legs) - 1);
		ret = 0;
	}
	free_page((unsigned long)sb);
	return ret;
}

/* bcv_meta_write_sb() to the legs in @legs only; 0 if one took it. */
static int __bcv_meta_write_sb(struct bcv_volume *vol, bool clean,
			       unsigned int legs)
{
	int ret;

	bcv_assert_owner(vol);
	mutex_lock(&vol->meta.lock);
	ret = __bcv_meta_write_sb_locked(vol, clean, legs, GFP_KERNEL);
	mutex_unlock(&vol->meta.lock);
	return ret;
}

int bcv_meta_write_sb(struct bcv_volume *vol, bool clean)
{
	return __bcv_meta_write_sb(vol, clean, ~0U);
}

/*------------------------------------------------------------------------
 * Tables
 */

/* Where table @t starts on a leg of layout @l. */
static sector_t bcv_meta_table_at(const struct bcv_fmt_layout *l, int t)
{
	if (t == BCV_TM_PB)
		return l->pb_offset;
	if (t == BCV_META_AL)
		return l->al_offset;
	return l->inv_offset[t];
}

int bcv_meta_load_tables(struct bcv_volume *vol, int pos, bool merge)
{
	const struct bcv_fmt_layout *l = &vol->meta.layout[pos];
	struct block_device *bdev = bcv_leg_bdev(vol, pos);
	unsigned int blen, t;
	void *buf = bcv_meta_buf(&blen);
	int ret = 0;

	bcv_assert_owner(vol);
	if (!buf)
		return -ENOMEM;
	for (t = 0; t < BCV_META_TABLES && !ret; t++) {
		sector_t at = bcv_meta_table_at(l, t);
		u64 nr, done = 0;
		unsigned long *w;

		if (t == BCV_META_AL) {
			w = vol->meta.dur[t];
			nr = vol->meta.words[t];
		} else {
			w = bcv_tm_table(&vol->tm, t, &nr);
		}
		if (!w)
			continue;
		while (done < nr && !ret) {
			u64 k, n = min_t(u64, nr - done, blen / 8);
			unsigned int bytes = round_up(n * 8, BCV_SB_SIZE);

			ret = bcv_meta_rw(bdev, at, buf, bytes, REQ_OP_READ);
			for (k = 0; k < n && !ret; k++) {
				u64 x = get_unaligned_le64(buf + k * 8);

				if (merge || t == BCV_META_AL)
					w[done + k] |= x;
				else
					w[done + k] = x;
			}
			at += bytes >> SECTOR_SHIFT;
			done += n;
		}
	}
	bcv_meta_buf_free(buf, blen);
	return ret;
}

/*
 * Write every table to leg @pos: the tables of @vol (the activity log from
 * its durable image), or with @from_dur everything from the durable image.
 * Caller holds the volume (or it is not published yet) and meta.lock or
 * bcv_lock.
 */
static int __bcv_meta_save(struct bcv_volume *vol, int pos, bool from_dur)
{
	const struct bcv_fmt_layout *l = &vol->meta.layout[pos];
	struct block_device *bdev = bcv_leg_bdev(vol, pos);
	unsigned int blen, t;
	void *buf = bcv_meta_buf(&blen);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (t = 0; t < BCV_META_TABLES && !ret; t++) {
		sector_t at = bcv_meta_table_at(l, t);
		u64 nr, done = 0;
		unsigned long *w;

		if (t == BCV_META_AL || from_dur) {
			w = vol->meta.dur[t];
			nr = vol->meta.words[t];
		} else {
			w = bcv_tm_table(&vol->tm, t, &nr);
		}
		if (!w)
			continue;
		while (done < nr && !ret) {
			u64 k, n = min_t(u64, nr - done, blen / 8);
			/* Whole 4 KiB blocks: a 4K-sector device refuses less. */
			unsigned int bytes = round_up(n * 8, BCV_SB_SIZE);

			memset(buf, 0, bytes);
			for (k = 0; k < n; k++)
				put_unaligned_le64(READ_ONCE(w[done + k]),
						   buf + k * 8);
			ret = bcv_meta_rw(bdev, at, buf, bytes,
					  REQ_OP_WRITE | REQ_SYNC);
			at += bytes >> SECTOR_SHIFT;
			done += n;
		}
	}
	bcv_meta_buf_free(buf, blen);
	return ret;
}

/* Every table of @vol to leg @pos.  See __bcv_meta_save(). */
static int bcv_meta_save_tables(struct bcv_volume *vol, int pos)
{
	return __bcv_meta_save(vol, pos, false);
}

/* The durable image, every table of it, to leg @pos.  meta.lock held. */
static int bcv_meta_save_dur(struct bcv_volume *vol, int pos)
{
	lockdep_assert_held(&vol->meta.lock);
	return __bcv_meta_save(vol, pos, true);
}


/*------------------------------------------------------------------------
 * Write intent (see bcv_meta.h): the durable image and its marks
 */

static struct workqueue_struct *bcv_meta_wq;

/*
 * Off: volumes created or assembled from then on keep no write intent: a
 * write that succeeds everywhere costs no metadata I/O (as md without a
 * bitmap); commands and I/O errors still write their marks, and a crash
 * counts every region as active (full copies).  For comparisons.
 */
static bool bcv_write_intent = true;
module_param_named(write_intent, bcv_write_intent, bool, 0644);
MODULE_PARM_DESC(write_intent,
		 "mark host writes on disk before they go, so that a crash costs only the copies of recent writes (default Y; read at create and assembly)");

#define BCV_BLOCK_WORDS		(BCV_SB_SIZE / sizeof(unsigned long))
static_assert(PAGE_SIZE == BCV_SB_SIZE, "a table block is a page");

/* struct bcv_meta_mark.kind */
enum {
	BCV_MARK_SET,		/* bits [first, last] of the table */
	BCV_MARK_FROM_M,	/* those of them the live table has (Track ID) */
	BCV_MARK_PB,		/* PB rows [first, last] as the live table has them */
	/*
	 * Tracks [first, last] that the batch's I bits would leave held by
	 * no position on disk: their holders' V bits first (bcv_meta_vouch())
	 */
	BCV_MARK_VOUCH,
	/*
	 * A write's position that it does not reach: I for the tracks of
	 * [first, last] that one of the positions it reaches (@targets)
	 * holds on disk.  Where none does, the position it skips is the
	 * holder on disk of the old data, which stays there: it is marked
	 * I once the write is done, after the V bits of the positions that
	 * took it (bcv_meta_vouch()), or stays the holder if none did.
	 */
	BCV_MARK_OTHER,
};

/* Bits [@first, @last] of bitmap word @i. */
static unsigned long bcv_word_mask(u64 i, u64 first, u64 last)
{
	unsigned long m = ~0UL;

	if (i == first / BITS_PER_LONG)
		m &= ~0UL << (first % BITS_PER_LONG);
	if (i == last / BITS_PER_LONG)
		m &= ~0UL >> (BITS_PER_LONG - 1 - last % BITS_PER_LONG);
	return m;
}

/* Rows [@first, @last] of PB word @j (4 rows of 16 columns a word). */
static unsigned long bcv_pb_row_mask(u64 j, u64 first, u64 last)
{
	unsigned int lo = j == first / 4 ? first % 4 : 0;
	unsigned int hi = j == last / 4 ? last % 4 : 3;

	return (~0UL >> (BITS_PER_LONG - 16 * (hi + 1))) & (~0UL << (16 * lo));
}

/* The live table @t of @vol (NULL for the activity log: it has none). */
static unsigned long *bcv_meta_live(struct bcv_volume *vol, int t)
{
	u64 nr;

	return t == BCV_META_AL ? NULL : bcv_tm_table(&vol->tm, t, &nr);
}

/*
 * Are bits [@first, @last] all set in @map?  Caller holds wlock, or knows
 * that the bits it relies on are not cleared meanwhile.
 */
static bool bcv_bits_set(const unsigned long *map, u64 first, u64 last)
{
	u64 i;

	for (i = first / BITS_PER_LONG; i <= last / BITS_PER_LONG; i++) {
		unsigned long m = bcv_word_mask(i, first, last);

		if ((READ_ONCE(map[i]) & m) != m)
			return false;
	}
	return true;
}

/* Are the PB columns @cols of rows [@first, @last] all C in @pb? */
static bool bcv_pb_set(const unsigned long *pb, unsigned long cols,
		       u64 first, u64 last)
{
	unsigned long all = cols * 0x0001000100010001UL;
	u64 j;

	for (j = first / 4; j <= last / 4; j++) {
		unsigned long m = all & bcv_pb_row_mask(j, first, last);

		if ((READ_ONCE(pb[j]) & m) != m)
			return false;
	}
	return true;
}

/* Tracks of word @i that a position in @targets holds on disk (dur). */
static unsigned long bcv_dur_held(const struct bcv_meta *m,
				  unsigned int targets, u64 i)
{
	unsigned long w = 0;
	unsigned int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (targets & (1U << p))
			w |= ~READ_ONCE(m->dur[p][i]);
	return w;
}

/*
 * Are the BCV_MARK_OTHER bits of position @p for a write to @targets on
 * [@first, @last] all in dur?
 */
static bool bcv_other_set(const struct bcv_meta *m, int p,
			  unsigned int targets, u64 first, u64 last)
{
	u64 i;

	for (i = first / BITS_PER_LONG; i <= last / BITS_PER_LONG; i++) {
		unsigned long need = bcv_word_mask(i, first, last) &
				     bcv_dur_held(m, targets, i);

		if ((READ_ONCE(m->dur[p][i]) & need) != need)
			return false;
	}
	return true;
}

/* Caller holds wlock.  Queue @mk in the open batch; false if it is full. */
static bool bcv_meta_add_to(struct bcv_meta *m, u8 kind, u8 table,
			    u8 targets, u64 first, u64 last)
{
	struct bcv_meta_batch *b = &m->open;
	struct bcv_meta_mark *mk;
	unsigned int i;

	for (i = 0; i < b->nr; i++) {
		mk = &b->marks[i];
		if (mk->kind == kind && mk->table == table &&
		    mk->targets == targets &&
		    mk->first <= first && mk->last >= last)
			return true;
	}
	if (b->nr == BCV_META_MARKS)
		return false;
	mk = &b->marks[b->nr++];
	mk->kind = kind;
	mk->table = table;
	mk->targets = targets;
	mk->first = first;
	mk->last = last;
	return true;
}

/* Caller holds wlock.  bcv_meta_add_to() for a mark without targets. */
static bool bcv_meta_add(struct bcv_meta *m, u8 kind, u8 table, u64 first,
			 u64 last)
{
	return bcv_meta_add_to(m, kind, table, 0, first, last);
}

static void bcv_meta_kick(struct bcv_meta *m)
{
	queue_work(bcv_meta_wq, &m->io_work);
}

/*
 * Caller holds wlock.  Queue the I bits of positions @pos, all tracks, in
 * the open batch with no waiter; false if it was full (they reach the disk
 * with the tables' next write then).
 */
static bool bcv_meta_queue_whole(struct bcv_volume *vol, unsigned int pos)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int p;

	lockdep_assert_held(&m->wlock);
	pos &= bcv_tm_data_positions(&vol->tm);
	if (m->open.nr + hweight32(pos) + 1 > BCV_META_MARKS)
		return false;
	if (pos)
		bcv_meta_add(m, BCV_MARK_VOUCH, 0, 0, bcv_vol_tracks(vol) - 1);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (pos & (1U << p))
			bcv_meta_add(m, BCV_MARK_FROM_M, p, 0,
				     bcv_vol_tracks(vol) - 1);
	return pos != 0;
}

static void bcv_meta_arm(struct bcv_meta *m)
{
	if (!READ_ONCE(m->dead) && m->intent)
		queue_delayed_work(bcv_meta_wq, &m->ckpt_work,
				   BCV_META_CKPT_SECS * HZ);
}

bool bcv_meta_write_check(struct bcv_volume *vol, u64 first, u64 last,
			  unsigned int targets, struct bcv_meta_waiter *w)
{
	struct bcv_meta *m = &vol->meta;
	struct bcv_tm_vol *tm = &vol->tm;
	unsigned int other = bcv_tm_data_positions(tm) & ~targets, p, nr = 0;
	unsigned long cols = tm->is_std ? READ_ONCE(tm->alloc) : 0, flags;
	bool need_pb, need_m4b, need_al = false;
	unsigned int need_pos = 0;
	u64 rf = 0, rl = 0, r;

	if (!READ_ONCE(m->running) || !m->intent)
		return true;
	/*
	 * Without the lock when the write needs only PB C bits (a STD) or
	 * M4b I bits (a split BCV), as most writes do: those bits leave dur
	 * only in commands, which hold the volume, so one seen set stays on
	 * disk while this write is in flight.  A bit is set in dur after
	 * its block reached the disk.  Activity-log and position bits go
	 * under wlock: the checkpoint clears them (bcv_meta_checkpoint()).
	 */
	if (hweight32(targets) > 1) {
		rf = first >> m->al_shift;
		rl = last >> m->al_shift;
		/* Seen by the next checkpoint: the region is not idle. */
		for (r = rf; r <= rl; r++)
			if (!test_bit(r, m->touched))
				set_bit(r, m->touched);
	}
	if (!other &&
	    (tm->is_std ? !cols || bcv_pb_set(m->dur[BCV_TM_PB], cols, first, last) :
	     bcv_bits_set(m->dur[BCV_M4B], first, last))) {
		unsigned int seq;
		bool al;

		if (hweight32(targets) <= 1)
			return true;
		/*
		 * A mirrored write: its activity-log bits, which a checkpoint
		 * may be retiring.  The write counts in its regions already
		 * (a fully ordered atomic) and the checkpoint bumps al_seq
		 * and then reads the counts (smp_mb()): either it sees this
		 * write and keeps the regions, or this read sees al_seq move.
		 */
		seq = read_seqcount_begin(&m->al_seq);
		al = bcv_bits_set(m->dur[BCV_META_AL], rf, rl);
		if (al && !read_seqcount_retry(&m->al_seq, seq))
			return true;
	}

	spin_lock_irqsave(&m->wlock, flags);
	need_pb = cols && !bcv_pb_set(m->dur[BCV_TM_PB], cols, first, last);
	need_m4b = !tm->is_std &&
		   !bcv_bits_set(m->dur[BCV_M4B], first, last);
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((other & (1U << p)) &&
		    !bcv_other_set(m, p, targets, first, last))
			need_pos |= 1U << p;
	if (hweight32(targets) > 1)
		need_al = !bcv_bits_set(m->dur[BCV_META_AL], rf, rl);
	if (!need_pb && !need_m4b && !need_pos && !need_al) {
		spin_unlock_irqrestore(&m->wlock, flags);
		return true;
	}

	/* All or nothing: a full batch sends the write to the next one. */
	nr = need_pb + need_m4b + hweight32(need_pos) + need_al;
	if (m->open.nr + nr > BCV_META_MARKS) {
		list_add_tail(&w->node, &m->retry);
	} else {
		if (need_pb)
			bcv_meta_add(m, BCV_MARK_PB, BCV_TM_PB, first, last);
		if (need_m4b)
			bcv_meta_add(m, BCV_MARK_SET, BCV_M4B, first, last);
		for (p = 0; p < BCV_POSITIONS; p++)
			if (need_pos & (1U << p))
				bcv_meta_add_to(m, BCV_MARK_OTHER, p, targets,
						first, last);
		if (need_al)
			bcv_meta_add(m, BCV_MARK_SET, BCV_META_AL, rf, rl);
		list_add_tail(&w->node, &m->open.waiters);
	}
	bcv_meta_kick(m);
	spin_unlock_irqrestore(&m->wlock, flags);
	return false;
}

/*
 * Caller holds wlock.  Are the I bits position @p has in the tables for
 * tracks [@first, @last] on disk (in dur) already?
 */
static bool __bcv_meta_on_disk(struct bcv_volume *vol, int p, u64 first,
			       u64 last)
{
	unsigned long *live = bcv_meta_live(vol, p), *dur = vol->meta.dur[p];
	u64 i;

	lockdep_assert_held(&vol->meta.wlock);
	for (i = first / BITS_PER_LONG; i <= last / BITS_PER_LONG; i++) {
		unsigned long want = READ_ONCE(live[i]) &
				     bcv_word_mask(i, first, last);

		if ((dur[i] & want) != want)
			return false;
	}
	return true;
}

/*
 * Caller holds wlock.  Does a track of [@first, @last] lack a holder on
 * disk while a position holds it in the tables (bcv_tm_unvouched())?
 */
static bool __bcv_meta_unvouched(struct bcv_volume *vol, u64 first, u64 last)
{
	struct bcv_meta *m = &vol->meta;
	unsigned long held[BCV_POSITIONS], d[BCV_POSITIONS];
	u64 i;
	int p;

	lockdep_assert_held(&m->wlock);
	for (i = first / BITS_PER_LONG; i <= last / BITS_PER_LONG; i++) {
		for (p = 0; p < BCV_POSITIONS; p++)
			d[p] = m->dur[p][i];
		if (bcv_tm_unvouched(&vol->tm, d, i, held) &
		    bcv_word_mask(i, first, last))
			return true;
	}
	return false;
}

bool __bcv_meta_error_marks(struct bcv_volume *vol, unsigned int pos,
			    unsigned int whole, u64 first, u64 last,
			    struct bcv_meta_waiter *w)
{
	struct bcv_meta *m = &vol->meta;
	unsigned long flags;
	unsigned int p;
	bool vouch;

	lockdep_assert_held(&vol->lock);
	pos &= bcv_tm_data_positions(&vol->tm);
	whole &= bcv_tm_data_positions(&vol->tm);
	/* With write intent off too: recovery trusts the legs' I bits. */
	if (!READ_ONCE(m->running))
		return false;
	if (whole) {
		first = 0;
		last = bcv_vol_tracks(vol) - 1;
	}
	spin_lock_irqsave(&m->wlock, flags);
	/* Most writes that skip a position find its I bits on disk already. */
	for (p = 0; p < BCV_POSITIONS; p++)
		if ((pos & (1U << p)) && !(whole & (1U << p)) &&
		    __bcv_meta_on_disk(vol, p, first, last))
			pos &= ~(1U << p);
	/*
	 * Positions that failed become I on disk; where that, or the write
	 * that skipped a position, leaves a track held by no position on
	 * disk, the holders' V bits go first (bcv_meta_vouch()).
	 */
	vouch = (pos | whole) || __bcv_meta_unvouched(vol, first, last);
	if (!vouch) {
		spin_unlock_irqrestore(&m->wlock, flags);
		return false;
	}
	/* All or nothing, as for bcv_meta_write_check(). */
	if (m->open.nr + hweight32(pos | whole) + 1 > BCV_META_MARKS) {
		list_add_tail(&w->node, &m->retry);
	} else {
		for (p = 0; p < BCV_POSITIONS; p++) {
			if (whole & (1U << p))
				bcv_meta_add(m, BCV_MARK_FROM_M, p, 0,
					     bcv_vol_tracks(vol) - 1);
			else if (pos & (1U << p))
				bcv_meta_add(m, BCV_MARK_FROM_M, p, first,
					     last);
		}
		bcv_meta_add(m, BCV_MARK_VOUCH, 0, first, last);
		list_add_tail(&w->node, &m->open.waiters);
	}
	bcv_meta_kick(m);
	spin_unlock_irqrestore(&m->wlock, flags);
	return true;
}

void bcv_meta_copied(struct bcv_volume *vol)
{
	if (!READ_ONCE(vol->meta.copied))
		WRITE_ONCE(vol->meta.copied, true);
	bcv_meta_arm(&vol->meta);
}

/*------------------------------------------------------------------------
 * Write intent: writing blocks (the worker, commands; meta.lock held)
 */

struct bcv_meta_wctx {
	atomic_t pending;
	struct completion done;
	unsigned long bad;		/* legs whose write failed (bit i) */
};

struct bcv_meta_wleg {
	struct bcv_meta_wctx *c;
	unsigned int leg;
};

static void bcv_meta_end_io(struct bio *bio)
{
	struct bcv_meta_wleg *wl = bio->bi_private;
	struct bcv_meta_wctx *c = wl->c;

	if (bio->bi_status)
		set_bit(wl->leg, &c->bad);
	bio_put(bio);
	if (atomic_dec_and_test(&c->pending))
		complete(&c->done);
}

/*
 * Write the first @nr staged blocks to every leg that has not failed,
 * FUA, all at once.  Assembly reads the union of every leg's tables, so a
 * mark is durable once one leg holds it; a leg whose write failed while
 * another took it is marked failed.  Sleeps; caller holds meta.lock.
 * Return: 0 if a leg took every block, else -EIO.
 */
static int bcv_meta_write_stage(struct bcv_volume *vol, unsigned int nr)
{
	unsigned int failed = bcv_tm_failed_legs(&vol->tm), i, k, legs = 0;
	struct bcv_meta_wleg wl[BCV_MAX_LEGS];
	struct bcv_meta *m = &vol->meta;
	struct bcv_meta_wctx c;

	lockdep_assert_held(&m->lock);
	/*
	 * Assembly takes the union of the current legs' tables: a leg that
	 * misses a round must not be current afterwards, or its old I bits
	 * would come back over V bits the round wrote (a track then held by
	 * no position on disk).  A leg failed since the last superblock is
	 * flagged so, one generation ahead, before a round it misses.
	 */
	if ((failed & (BIT(vol->nr_legs) - 1)) & ~m->sb_failed)
		__bcv_meta_write_sb_locked(vol, false, ~0U, GFP_NOIO);
	atomic_set(&c.pending, 1);
	init_completion(&c.done);
	c.bad = 0;
	for (k = 0; k < nr; k++) {
		struct bcv_meta_stage *st = &m->stage[k];
		unsigned int j;

		for (j = 0; j < BCV_BLOCK_WORDS; j++)
			put_unaligned_le64(st->w[j], st->buf + j * 8);
	}
	for (i = 0; i < vol->nr_legs; i++) {
		if (failed & (1U << i))
			continue;
		legs |= 1U << i;
		wl[i].c = &c;
		wl[i].leg = i;
		for (k = 0; k < nr; k++) {
			struct bcv_meta_stage *st = &m->stage[k];
			struct bio *bio;

			bio = bio_alloc(bcv_leg_bdev(vol, i), 1,
					REQ_OP_WRITE | REQ_SYNC | REQ_FUA,
					GFP_NOIO);
			bio->bi_iter.bi_sector =
				bcv_meta_table_at(&m->layout[i], st->table) +
				st->block * BCV_FMT_ALIGN;
			__bio_add_page(bio, virt_to_page(st->buf), PAGE_SIZE, 0);
			bio->bi_private = &wl[i];
			bio->bi_end_io = bcv_meta_end_io;
			atomic_inc(&c.pending);
			submit_bio(bio);
		}
	}
	if (atomic_dec_and_test(&c.pending))
		complete(&c.done);
	wait_for_completion_io(&c.done);
	atomic64_add(nr * hweight32(legs), &m->writes);
	if (!(legs & ~c.bad))
		return -EIO;
	/*
	 * Some legs took the blocks and some did not: those hold tables that
	 * lack marks, and later writes send only what differs from dur.  They
	 * get every table again, whole, from dur (bcv_meta_rewrite_legs(),
	 * the worker's next round); meanwhile assembly's union of the legs'
	 * tables has the marks from the legs that took them.  The leg keeps
	 * serving: it may hold the only copy of some tracks.
	 */
	if (c.bad & legs) {
		for_each_set_bit(i, &c.bad, BCV_MAX_LEGS)
			pr_warn_ratelimited("%s: metadata write to %pg (M%u) failed: its tables are written again whole\n",
					    vol->name, bcv_leg_bdev(vol, i), i + 1);
		m->rewrite |= c.bad & legs;
		/* The legs that took it move a generation ahead: see above. */
		__bcv_meta_write_sb_locked(vol, false, legs & ~c.bad, GFP_NOIO);
		bcv_meta_kick(m);
	}
	return 0;
}

/*
 * Write every table of dur, whole, to the legs that missed a table write
 * (bcv_meta.rewrite), flushed.  Sleeps; caller holds meta.lock.  A leg
 * that fails again stays in the set for the next round.
 */
static void bcv_meta_rewrite_legs(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm);

	lockdep_assert_held(&m->lock);
	for (i = 0; i < vol->nr_legs; i++) {
		if (!(m->rewrite & (1U << i)))
			continue;
		if ((failed & (1U << i)) ||
		    (!bcv_meta_save_dur(vol, i) &&
		     !blkdev_issue_flush(bcv_leg_bdev(vol, i))))
			m->rewrite &= ~(1U << i);
	}
}

/* The stage slot of block @b of table @t, starting from dur; NULL if full. */
static struct bcv_meta_stage *bcv_stage_get(struct bcv_meta *m,
					    unsigned int *nr, int t, u64 b)
{
	struct bcv_meta_stage *st;
	unsigned int k;

	for (k = 0; k < *nr; k++)
		if (m->stage[k].table == t && m->stage[k].block == b)
			return &m->stage[k];
	if (*nr == BCV_META_STAGE)
		return NULL;
	st = &m->stage[(*nr)++];
	st->table = t;
	st->block = b;
	memcpy(st->w, m->dur[t] + b * BCV_BLOCK_WORDS, PAGE_SIZE);
	return st;
}

/*
 * Write the staged blocks that add to dur, then let dur have them: a mark
 * counts as durable only once it is on disk.  Caller holds meta.lock.
 */
static int bcv_stage_flush(struct bcv_volume *vol, unsigned int *nr)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int k, n = 0;
	int ret = 0;

	for (k = 0; k < *nr; k++) {
		struct bcv_meta_stage *st = &m->stage[k];

		if (!memcmp(st->w, m->dur[st->table] + st->block *
			    BCV_BLOCK_WORDS, PAGE_SIZE))
			continue;
		if (k != n)
			swap(m->stage[k], m->stage[n]);
		n++;
	}
	if (n)
		ret = bcv_meta_write_stage(vol, n);
	if (!ret && n) {
		spin_lock_irq(&m->wlock);
		for (k = 0; k < n; k++)
			memcpy(m->dur[m->stage[k].table] +
			       m->stage[k].block * BCV_BLOCK_WORDS,
			       m->stage[k].w, PAGE_SIZE);
		spin_unlock_irq(&m->wlock);
	}
	*nr = 0;
	return ret;
}

/* Stage mark @mk (flushing the stage when it is full).  meta.lock held. */
static int bcv_meta_apply(struct bcv_volume *vol,
			  const struct bcv_meta_mark *mk, unsigned int *nr)
{
	struct bcv_meta *m = &vol->meta;
	unsigned long *live = bcv_meta_live(vol, mk->table);
	unsigned long *dur = m->dur[mk->table];
	u64 i, fi, li;
	int ret;

	if (mk->kind == BCV_MARK_VOUCH || !dur || !m->words[mk->table])
		return 0;
	if (mk->kind == BCV_MARK_PB) {
		fi = mk->first / 4;
		li = mk->last / 4;
	} else {
		fi = mk->first / BITS_PER_LONG;
		li = mk->last / BITS_PER_LONG;
	}
	li = min(li, m->words[mk->table] - 1);
	for (i = fi; i <= li; i++) {
		struct bcv_meta_stage *st;
		unsigned long bits;

		switch (mk->kind) {
		case BCV_MARK_PB:
			bits = READ_ONCE(live[i]) &
			       bcv_pb_row_mask(i, mk->first, mk->last);
			break;
		case BCV_MARK_FROM_M:
			bits = READ_ONCE(live[i]) &
			       bcv_word_mask(i, mk->first, mk->last);
			break;
		case BCV_MARK_OTHER:
			bits = bcv_word_mask(i, mk->first, mk->last) &
			       bcv_dur_held(m, mk->targets, i);
			break;
		default:
			bits = bcv_word_mask(i, mk->first, mk->last);
		}
		if ((READ_ONCE(dur[i]) & bits) == bits)
			continue;
		st = bcv_stage_get(m, nr, mk->table, i / BCV_BLOCK_WORDS);
		if (!st) {
			ret = bcv_stage_flush(vol, nr);
			if (ret)
				return ret;
			st = bcv_stage_get(m, nr, mk->table,
					   i / BCV_BLOCK_WORDS);
		}
		st->w[i % BCV_BLOCK_WORDS] |= bits;
	}
	return 0;
}

/*
 * Flush the write cache of every position that holds the volume's data:
 * the own legs that have not failed and, on a STD, the primary of every
 * attached BCV that is there.  The tables vouch for data on all of them
 * (a V bit of an MM is the BCV's data).  Returns the positions whose flush
 * failed.  Sleeps; the positions are stable: the caller holds the volume,
 * or meta.lock, which a command that detaches a BCV waits for.
 */
static unsigned int bcv_meta_flush_all(struct bcv_volume *vol)
{
	unsigned int there = bcv_tm_data_positions(&vol->tm) &
			     ~bcv_tm_failed_legs(&vol->tm), p, bad = 0;

	for (p = 0; p < BCV_POSITIONS; p++) {
		struct block_device *bdev;
		int err;

		if (!(there & (1U << p)))
			continue;
		bdev = bcv_pos_bdev(vol, p);
		if (!bdev)
			continue;	/* an absent BCV */
		err = blkdev_issue_flush(bdev);
		if (err) {
			pr_err("%s: flushing %pg (M%u) failed: %d; it goes stale\n",
			       vol->name, bdev, p + 1, err);
			bad |= 1U << p;
		}
	}
	return bad;
}

/*
 * Positions @bad failed a flush: they may have lost anything they took
 * since their last one.  As for a failed host flush (bcv_io.c), each goes
 * stale wherever another position holds the data (the copy engine
 * rewrites it); the caller writes the I bits and no V bit of theirs.
 * Context: may sleep; takes vol->lock.
 */
static void bcv_meta_flush_failed(struct bcv_volume *vol, unsigned int bad)
{
	unsigned int p, newly;

	if (!bad)
		return;
	spin_lock_irq(&vol->lock);
	newly = __bcv_check_legs(vol, bad);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (bad & (1U << p))
			bcv_tm_flush_failed(&vol->tm, p);
	spin_unlock_irq(&vol->lock);
	bcv_report_failed(vol, newly);
	for (p = 0; p < BCV_POSITIONS; p++)
		if (bad & (1U << p))
			bcv_fail_leg(vol, p, 0, "flush");
}

/*
 * The I bits marks @mk (the Track ID ones) add to word @i of position
 * @p's table.  Caller holds meta.lock.
 */
static unsigned long bcv_marks_bits(struct bcv_volume *vol,
				    const struct bcv_meta_mark *mk,
				    unsigned int nmk, int p, u64 i)
{
	unsigned long *live = bcv_meta_live(vol, p), bits = 0;
	unsigned int k;

	for (k = 0; k < nmk; k++) {
		unsigned long w;

		if (mk[k].table != p || mk[k].kind == BCV_MARK_VOUCH ||
		    i < mk[k].first / BITS_PER_LONG ||
		    i > mk[k].last / BITS_PER_LONG)
			continue;
		w = bcv_word_mask(i, mk[k].first, mk[k].last);
		if (mk[k].kind == BCV_MARK_FROM_M)
			w &= READ_ONCE(live[i]);
		else if (mk[k].kind == BCV_MARK_OTHER)
			w &= bcv_dur_held(&vol->meta, mk[k].targets, i);
		bits |= w;
	}
	return bits;
}

/*
 * Tracks of word @i that would be held by no position on disk once marks
 * @mk are written, and per position that is there, those of them it holds
 * in the tables (bcv_tm_unvouched()).  Caller holds meta.lock.
 */
static unsigned long bcv_meta_unvouched(struct bcv_volume *vol,
					const struct bcv_meta_mark *mk,
					unsigned int nmk, u64 i,
					unsigned long held[BCV_POSITIONS])
{
	struct bcv_meta *m = &vol->meta;
	unsigned long virt[BCV_POSITIONS];
	int p;

	for (p = 0; p < BCV_POSITIONS; p++)
		virt[p] = READ_ONCE(m->dur[p][i]) |
			  bcv_marks_bits(vol, mk, nmk, p, i);
	return bcv_tm_unvouched(&vol->tm, virt, i, held);
}

/*
 * Before I bits go to disk that would leave a track held by no position
 * there while a position holds it in the tables (a failed write or flush
 * next to a resyncing leg, a write during a protected restore), that
 * position's cache is flushed and its V bit written, in a round of its
 * own, so that no crash finds the track held nowhere and hands it to a
 * position that lacks it (bcv_tm_recover_sources()).  The tracks
 * [@first, @last], for marks @mk.  Sleeps; caller holds meta.lock.
 * Return: 0, or -EIO if a track stays held nowhere (its holders' flushes
 * failed: the writes waiting for it fail).
 */
static int bcv_meta_vouch(struct bcv_volume *vol,
			  const struct bcv_meta_mark *mk, unsigned int nmk,
			  u64 first, u64 last)
{
	struct bcv_meta *m = &vol->meta;
	unsigned long held[BCV_POSITIONS];
	unsigned int pos = 0, bad, nr = 0, p;
	u64 i, fi = first / BITS_PER_LONG, li = last / BITS_PER_LONG;
	int ret;

	lockdep_assert_held(&m->lock);
	if (!READ_ONCE(m->running))
		return 0;
	li = min(li, m->words[0] - 1);
	/* 1. Who holds what the disk would give to nobody. */
	for (i = fi; i <= li; i++) {
		bcv_meta_unvouched(vol, mk, nmk, i, held);
		for (p = 0; p < BCV_POSITIONS; p++)
			if (held[p] & bcv_word_mask(i, first, last))
				pos |= 1U << p;
	}
	if (!pos)
		return 0;
	/* 2. Their caches: the data the V bits vouch for is on the media. */
	bad = 0;
	for (p = 0; p < BCV_POSITIONS; p++) {
		struct block_device *bdev;

		if (!(pos & (1U << p)))
			continue;
		bdev = bcv_pos_bdev(vol, p);
		if (bdev && blkdev_issue_flush(bdev))
			bad |= 1U << p;
	}
	bcv_meta_flush_failed(vol, bad);
	/* 3. Their V bits, written before the I bits that need them. */
	for (i = fi; i <= li; i++) {
		bcv_meta_unvouched(vol, mk, nmk, i, held);
		for (p = 0; p < BCV_POSITIONS; p++) {
			unsigned long v = held[p] & bcv_word_mask(i, first, last);
			struct bcv_meta_stage *st;

			if (!v || !(pos & ~bad & (1U << p)))
				continue;
			st = bcv_stage_get(m, &nr, p, i / BCV_BLOCK_WORDS);
			if (!st) {
				ret = bcv_stage_flush(vol, &nr);
				if (ret)
					return ret;
				st = bcv_stage_get(m, &nr, p, i / BCV_BLOCK_WORDS);
			}
			st->w[i % BCV_BLOCK_WORDS] &= ~v;
		}
	}
	ret = bcv_stage_flush(vol, &nr);
	if (ret)
		return ret;
	/* 4. A track still held nowhere: its data may be gone. */
	for (i = fi; i <= li; i++)
		if (bcv_meta_unvouched(vol, mk, nmk, i, held) &
		    bcv_word_mask(i, first, last))
			return -EIO;
	return 0;
}

/*
 * Positions @bad went stale (a failed flush) in the tables; before their
 * I bits reach the disk, the tracks only they would have held there get
 * their holders' V bits (bcv_meta_vouch()).  Sleeps; takes meta.lock.
 */
static void bcv_meta_vouch_stale(struct bcv_volume *vol, unsigned int bad)
{
	struct bcv_meta_mark mk[BCV_POSITIONS];
	unsigned int n = 0, p;

	for (p = 0; p < BCV_POSITIONS; p++)
		if (bad & (1U << p))
			mk[n++] = (struct bcv_meta_mark){
				.kind = BCV_MARK_FROM_M, .table = p, .first = 0,
				.last = bcv_vol_tracks(vol) - 1,
			};
	mutex_lock(&vol->meta.lock);
	if (bcv_meta_vouch(vol, mk, n, 0, bcv_vol_tracks(vol) - 1))
		pr_err("%s: some tracks are held by no position on disk after a failed flush\n",
		       vol->name);
	mutex_unlock(&vol->meta.lock);
}

/*
 * Commands, stop: write table blocks where the live tables differ from
 * dur: with @exact every difference (after the caller flushed the data
 * they vouch for), else only their new C/I bits.  Caller holds meta.lock
 * and the volume (no I/O, no copy in flight).
 */
static int bcv_meta_sync(struct bcv_volume *vol, bool exact)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int nr = 0;
	int t, ret = 0;

	lockdep_assert_held(&m->lock);
	/*
	 * Also without write intent: a command's tables are what recovery
	 * trusts then (every region counts as active, bcv_tm_assemble()).
	 */
	if (!m->running)
		return 0;
	for (t = 0; t <= BCV_TM_PB && !ret; t++) {
		unsigned long *live = bcv_meta_live(vol, t), *dur = m->dur[t];
		u64 i;

		if (!live || !dur)
			continue;
		for (i = 0; i < m->words[t] && !ret; i++) {
			unsigned long want = exact ? live[i] : dur[i] | live[i];
			struct bcv_meta_stage *st;

			if (want == dur[i])
				continue;
			st = bcv_stage_get(m, &nr, t, i / BCV_BLOCK_WORDS);
			if (!st) {
				ret = bcv_stage_flush(vol, &nr);
				if (ret)
					break;
				st = bcv_stage_get(m, &nr, t,
						   i / BCV_BLOCK_WORDS);
			}
			st->w[i % BCV_BLOCK_WORDS] = want;
		}
	}
	/* dur takes the words once they are on disk. */
	if (!ret)
		ret = bcv_stage_flush(vol, &nr);
	return ret;
}

int bcv_meta_commit_begin(struct bcv_volume **v, unsigned int n)
{
	unsigned int i;
	int ret = 0, err;

	lockdep_assert_held(&bcv_lock);
	/*
	 * Quiesced by the caller; what the tables will vouch for is flushed:
	 * every position, the BCVs attached to a STD included.  A position
	 * whose flush failed goes stale (its I bits go out with the rest);
	 * no U/V bit of its volume is written then (more marks, not fewer).
	 * commit_bad keeps which, until bcv_meta_commit_end() (bcv_lock
	 * serialises commits).
	 */
	for (i = 0; i < n; i++) {
		v[i]->meta.commit_bad = bcv_meta_flush_all(v[i]);
		bcv_meta_flush_failed(v[i], v[i]->meta.commit_bad);
		if (v[i]->meta.commit_bad)
			bcv_meta_vouch_stale(v[i], v[i]->meta.commit_bad);
	}
	for (i = 0; i < n; i++) {
		mutex_lock(&v[i]->meta.lock);
		if (v[i]->meta.rewrite)
			bcv_meta_rewrite_legs(v[i]);
		err = bcv_meta_sync(v[i], false);
		mutex_unlock(&v[i]->meta.lock);
		if (err && !ret)
			ret = err;
	}
	if (ret)
		pr_err("%s: writing metadata after a command failed: %d\n",
		       v[0]->name, ret);
	return ret;
}

int bcv_meta_commit_end(struct bcv_volume **v, unsigned int n)
{
	unsigned int i;
	int ret = 0, err;

	lockdep_assert_held(&bcv_lock);
	for (i = 0; i < n; i++) {
		if (v[i]->meta.commit_bad)
			continue;
		mutex_lock(&v[i]->meta.lock);
		err = bcv_meta_sync(v[i], true);
		mutex_unlock(&v[i]->meta.lock);
		if (err && !ret)
			ret = err;
	}
	if (ret)
		pr_err("%s: writing metadata after a command failed: %d\n",
		       v[0]->name, ret);
	return ret;
}

int bcv_meta_commit_many(struct bcv_volume **v, unsigned int n)
{
	unsigned int i;
	int ret, err;

	ret = bcv_meta_commit_begin(v, n);
	/* In the order given (bcv_meta.h: the order of a command's). */
	for (i = 0; i < n; i++) {
		err = bcv_meta_write_sb(v[i], false);
		if (err) {
			pr_err("%s: writing its superblock after a command failed: %d\n",
			       v[i]->name, err);
			if (!ret)
				ret = err;
		}
	}
	err = bcv_meta_commit_end(v, n);
	return ret ? ret : err;
}

int bcv_meta_commit(struct bcv_volume *a, struct bcv_volume *b)
{
	struct bcv_volume *v[2] = { a, b };

	return bcv_meta_commit_many(v, b ? 2 : 1);
}

/* Wake the waiters on @list with @err.  Process context, no lock held. */
static void bcv_meta_wake(struct list_head *list, int err)
{
	struct bcv_meta_waiter *w, *n;

	list_for_each_entry_safe(w, n, list, node) {
		list_del_init(&w->node);
		w->fn(w, err);
	}
}

/*------------------------------------------------------------------------
 * Write intent: checkpoints (lazy U/V bits, idle regions)
 */

/* Bits of Track ID word @i whose regions have host writes in flight. */
static unsigned long bcv_meta_busy_bits(struct bcv_volume *vol, u64 i)
{
	unsigned int shift = vol->meta.al_shift;
	u64 t = i * BITS_PER_LONG, end = t + BITS_PER_LONG, r;
	unsigned long bits = 0;

	for (r = t >> shift; (r << shift) < end; r++) {
		u64 a = max(t, r << shift), b = min(end, (r + 1) << shift);

		if (a >= bcv_vol_tracks(vol))
			break;
		if (bcv_region_has_writes(&vol->regions, r))
			bits |= bcv_word_mask(0, a - t, b - 1 - t);
	}
	return bits;
}


/*
 * Retire the activity log's idle regions and write the V bits of finished
 * copies.  Sleeps; the worker calls it.
 *  1. Under vol->lock: a region with no write in flight and none since the
 *     last pass leaves the log in dur at once (a new write to it waits
 *     for the next commit, which this pass precedes); the Track ID blocks
 *     where dur has I bits the tables no longer have are snapshotted.
 *  2. Every position is flushed: what was written and copied before is on
 *     the media.
 *  3. Under vol->lock: a snapshotted I bit is cleared where the snapshot
 *     and the tables agree and no write is in flight in its region (a
 *     failed write may still make it I); dur takes the new words first,
 *     so that no write relies on a bit on its way out.
 *  4. The changed blocks are written (FUA).
 */
static void bcv_meta_checkpoint(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int nr = 0, k, n, bad;
	bool again = false, copied;
	u64 r, i;
	int t, ret;

	mutex_lock(&m->lock);
	if (!m->running || m->dead) {
		mutex_unlock(&m->lock);
		return;
	}
	if (m->rewrite)
		bcv_meta_rewrite_legs(vol);
	spin_lock_irq(&vol->lock);
	spin_lock(&m->wlock);
	if (vol->held) {
		/* A command is changing the tables: later. */
		spin_unlock(&m->wlock);
		spin_unlock_irq(&vol->lock);
		mutex_unlock(&m->lock);
		bcv_meta_arm(m);
		return;
	}
	if (!vol->tm.is_std && !bcv_tm_legs_changeable(&vol->tm)) {
		/*
		 * A BCV attached to its STD: its tables wait for the split,
		 * and its primary is the STD's MM, whose flushes and their
		 * failures are the STD's (a failure here would go unseen
		 * there).  Its logged regions stay logged until the split:
		 * recovery covers more, never less.
		 */
		spin_unlock(&m->wlock);
		spin_unlock_irq(&vol->lock);
		mutex_unlock(&m->lock);
		return;
	}
	copied = m->copied;
	m->copied = false;
	/* Mirrored writes that checked their bits without wlock retry. */
	write_seqcount_begin(&m->al_seq);
	smp_mb();	/* the counts below are read after the bump */
	for_each_set_bit(r, m->dur[BCV_META_AL], m->regions) {
		struct bcv_meta_stage *st;

		if (bcv_region_has_writes(&vol->regions, r) ||
		    test_bit(r, m->touched)) {
			clear_bit(r, m->touched);
			again = true;
			continue;
		}
		st = bcv_stage_get(m, &nr, BCV_META_AL,
				   r / BITS_PER_LONG / BCV_BLOCK_WORDS);
		if (!st) {
			again = true;
			break;
		}
		__clear_bit(r, m->dur[BCV_META_AL]);
		__clear_bit(r % (BCV_BLOCK_WORDS * BITS_PER_LONG), st->w);
		__set_bit(r, m->retiring);
	}
	write_seqcount_end(&m->al_seq);
	spin_unlock(&m->wlock);
	spin_unlock_irq(&vol->lock);
	n = nr;

	/*
	 * Track ID: blocks where dur vouches less than the tables do now,
	 * snapshotted without a lock: a bit read V was marked V (its copy
	 * done) before the flush below.  dur changes only under meta.lock.
	 */
	for (t = 0; copied && t < BCV_POSITIONS; t++) {
		unsigned long *live = bcv_meta_live(vol, t), *dur = m->dur[t];
		int role = bcv_tm_pos_role(&vol->tm, t);

		if (role != BCV_POS_LEG && role != BCV_POS_MM)
			continue;
		for (i = 0; i < m->words[t]; i++) {
			struct bcv_meta_stage *st;
			u64 j, end;

			if (!(dur[i] & ~READ_ONCE(live[i])))
				continue;
			st = bcv_stage_get(m, &nr, t, i / BCV_BLOCK_WORDS);
			if (!st) {
				again = true;	/* the rest next time */
				break;
			}
			/* st->w: the snapshot of the live block */
			j = st->block * BCV_BLOCK_WORDS;
			end = min_t(u64, m->words[t], j + BCV_BLOCK_WORDS);
			for (; j < end; j++)
				st->w[j % BCV_BLOCK_WORDS] = READ_ONCE(live[j]);
			i = end - 1;
		}
	}

	bad = nr ? bcv_meta_flush_all(vol) : 0;
	bcv_meta_flush_failed(vol, bad);

	spin_lock_irq(&vol->lock);
	spin_lock(&m->wlock);
	if (bad) {
		/*
		 * What the retired regions and the V bits vouch for is not on
		 * every medium: the regions go back in the log, nothing is
		 * cleared, and the failed positions' I bits go to disk as
		 * soon as the worker can (they were I on disk already wherever
		 * a write depended on it).
		 */
		unsigned long rr;

		for_each_set_bit(rr, m->retiring, m->regions)
			__set_bit(rr, m->dur[BCV_META_AL]);
		nr = 0;
		again = true;
		if (bcv_meta_queue_whole(vol, bad))
			bcv_meta_kick(m);
	}
	bitmap_zero(m->retiring, m->regions);
	/*
	 * A command holds the volume and may be changing its tables (it
	 * waits for meta.lock to write them): the V bits wait for the next
	 * checkpoint.
	 */
	if (vol->held) {
		if (nr > n)
			again = true;
		nr = n;
	}
	for (k = n; k < nr; k++) {
		struct bcv_meta_stage *st = &m->stage[k];
		unsigned long *live = bcv_meta_live(vol, st->table);
		unsigned long *dur = m->dur[st->table];
		u64 base = st->block * BCV_BLOCK_WORDS;
		unsigned int j;

		for (j = 0; j < BCV_BLOCK_WORDS; j++) {
			if (base + j >= m->words[st->table]) {
				st->w[j] = dur[base + j];
				continue;
			}
			st->w[j] = dur[base + j] & (st->w[j] | live[base + j] |
					 bcv_meta_busy_bits(vol, base + j));
			dur[base + j] = st->w[j];
		}
	}
	spin_unlock(&m->wlock);
	spin_unlock_irq(&vol->lock);

	ret = nr ? bcv_meta_write_stage(vol, nr) : 0;
	if (ret)
		pr_err_ratelimited("%s: checkpoint write failed: %d (the tables on disk keep more marks)\n",
				   vol->name, ret);
	for (k = 0; k < nr; k++)
		m->stage[k].table = -1;
	if (again)
		WRITE_ONCE(m->copied, m->copied || copied);
	mutex_unlock(&m->lock);
	if (again || READ_ONCE(m->copied))
		bcv_meta_arm(m);
}

static void bcv_meta_io_work(struct work_struct *work)
{
	struct bcv_meta *m = container_of(work, struct bcv_meta, io_work);
	struct bcv_volume *vol = container_of(m, struct bcv_volume, meta);

	for (;;) {
		LIST_HEAD(waiters);
		LIST_HEAD(retry);
		unsigned int n, k, nr = 0;
		bool al = false;
		int ret = 0;

		mutex_lock(&m->lock);
		spin_lock_irq(&m->wlock);
		n = m->open.nr;
		memcpy(m->busy.marks, m->open.marks, n * sizeof(m->open.marks[0]));
		m->open.nr = 0;
		list_splice_init(&m->open.waiters, &waiters);
		list_splice_init(&m->retry, &retry);
		spin_unlock_irq(&m->wlock);
		if (!n && list_empty(&waiters) && list_empty(&retry)) {
			mutex_unlock(&m->lock);
			break;
		}
		for (k = 0; k < n && !ret; k++)
			if (m->busy.marks[k].kind == BCV_MARK_VOUCH)
				ret = bcv_meta_vouch(vol, m->busy.marks, n,
						     m->busy.marks[k].first,
						     m->busy.marks[k].last);
		for (k = 0; k < n && !ret; k++) {
			ret = bcv_meta_apply(vol, &m->busy.marks[k], &nr);
			al |= m->busy.marks[k].table == BCV_META_AL;
		}
		if (!ret)
			ret = bcv_stage_flush(vol, &nr);
		for (k = 0; k < BCV_META_STAGE; k++)
			m->stage[k].table = -1;
		mutex_unlock(&m->lock);
		if (ret)
			pr_err_ratelimited("%s: metadata write failed: %d; the writes waiting for it fail\n",
					   vol->name, ret);
		if (al)
			bcv_meta_arm(m);
		bcv_meta_wake(&waiters, ret);
		bcv_meta_wake(&retry, -EAGAIN);
	}
	/* Legs that missed a write: once a round (the next kick retries). */
	if (READ_ONCE(m->rewrite)) {
		mutex_lock(&m->lock);
		if (m->running && !m->dead)
			bcv_meta_rewrite_legs(vol);
		mutex_unlock(&m->lock);
	}
	if (READ_ONCE(m->ckpt_due)) {
		WRITE_ONCE(m->ckpt_due, false);
		bcv_meta_checkpoint(vol);
	}
}

static void bcv_meta_ckpt_work(struct work_struct *work)
{
	struct bcv_meta *m = container_of(to_delayed_work(work),
					  struct bcv_meta, ckpt_work);

	WRITE_ONCE(m->ckpt_due, true);
	bcv_meta_kick(m);
}

void bcv_meta_barrier(struct bcv_volume *vol)
{
	mutex_lock(&vol->meta.lock);
	mutex_unlock(&vol->meta.lock);
}

static void bcv_meta_free(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	int t, k;

	for (t = 0; t < BCV_META_TABLES; t++) {
		kvfree(m->dur[t]);
		m->dur[t] = NULL;
	}
	kvfree(m->touched);
	m->touched = NULL;
	kvfree(m->retiring);
	m->retiring = NULL;
	for (k = 0; k < BCV_META_STAGE; k++) {
		free_page((unsigned long)m->stage[k].w);
		free_page((unsigned long)m->stage[k].buf);
		m->stage[k].w = NULL;
		m->stage[k].buf = NULL;
	}
}

u64 bcv_meta_alloc_bytes(u64 tracks, unsigned int shift, bool is_std)
{
	u64 regions = (tracks >> bcv_fmt_al_shift(shift)) + 1, bytes = 0, nr;
	int t;

	/* As bcv_meta_alloc() allocates them. */
	for (t = 0; t < BCV_META_TABLES; t++) {
		nr = t == BCV_META_AL ? BITS_TO_LONGS(regions) :
		     bcv_tm_table_longs(tracks, t, is_std);
		if (nr)
			bytes += round_up(nr, BCV_BLOCK_WORDS) *
				 sizeof(unsigned long);
	}
	bytes += 2 * BITS_TO_LONGS(regions) * sizeof(unsigned long);
	return bytes + 2 * BCV_META_STAGE * PAGE_SIZE;
}

int bcv_meta_alloc(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	int t, k;

	m->intent = READ_ONCE(bcv_write_intent);
	m->al_shift = bcv_fmt_al_shift(bcv_vol_track_shift(vol));
	m->regions = (bcv_vol_tracks(vol) >> m->al_shift) + 1;
	/*
	 * The durable image is as large as the tables: checked against
	 * bcv.max_table_share before (bcv_meta_alloc_bytes()), and should
	 * it fail anyway, the create or assembly says so, not the allocator.
	 */
	for (t = 0; t < BCV_META_TABLES; t++) {
		u64 nr = 0;

		if (t == BCV_META_AL)
			nr = BITS_TO_LONGS(m->regions);
		else if (!bcv_tm_table(&vol->tm, t, &nr))
			continue;
		m->words[t] = nr;
		m->dur[t] = kvcalloc(round_up(nr, BCV_BLOCK_WORDS),
				     sizeof(unsigned long),
				     GFP_KERNEL | __GFP_NOWARN);
		if (!m->dur[t])
			goto nomem;
	}
	m->touched = kvcalloc(BITS_TO_LONGS(m->regions), sizeof(unsigned long),
			      GFP_KERNEL | __GFP_NOWARN);
	m->retiring = kvcalloc(BITS_TO_LONGS(m->regions),
			       sizeof(unsigned long), GFP_KERNEL | __GFP_NOWARN);
	if (!m->touched || !m->retiring)
		goto nomem;
	for (k = 0; k < BCV_META_STAGE; k++) {
		m->stage[k].table = -1;
		m->stage[k].w = (void *)__get_free_page(GFP_KERNEL);
		m->stage[k].buf = (void *)__get_free_page(GFP_KERNEL);
		if (!m->stage[k].w || !m->stage[k].buf)
			goto nomem;
	}
	return 0;
nomem:
	bcv_meta_free(vol);
	return -ENOMEM;
}

/*
 * Words of the durable image copied or masked per hold of wlock, a
 * spinlock taken with interrupts off: 256 KiB, some microseconds.  The
 * image is as large as the tables (tens of MiB at scale), which in one
 * hold kept a CPU's interrupts off long enough for the lockup detectors.
 */
#define BCV_META_DUR_CHUNK	(SZ_256K / sizeof(long))

/*
 * dur = the live tables, an empty log: what was just written.  Called
 * where no write can mark dur meanwhile (assembly, create, a held volume
 * at stop), so the copy may go in chunks, with a resched point between.
 */
static void bcv_meta_dur_is_live(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	u64 i, n;
	int t;

	for (t = 0; t <= BCV_TM_PB; t++) {
		unsigned long *live = bcv_meta_live(vol, t);

		for (i = 0; live && m->dur[t] && i < m->words[t]; i += n) {
			n = min_t(u64, m->words[t] - i, BCV_META_DUR_CHUNK);
			spin_lock_irq(&m->wlock);
			memcpy(m->dur[t] + i, live + i, n * sizeof(long));
			spin_unlock_irq(&m->wlock);
			cond_resched();
		}
	}
	spin_lock_irq(&m->wlock);
	memset(m->dur[BCV_META_AL], 0, m->words[BCV_META_AL] * sizeof(long));
	spin_unlock_irq(&m->wlock);
}

u64 bcv_meta_recover(struct bcv_volume *vol, unsigned int stale, bool clean,
		     bool intent)
{
	struct bcv_meta *m = &vol->meta;
	struct bcv_tm_assembly a = {
		.stale = stale, .clean = clean, .intent = intent,
		.al = m->dur[BCV_META_AL], .regions = m->regions,
		.al_shift = m->al_shift,
	};

	bcv_assert_owner(vol);
	m->recovered = !clean;
	m->recovered_tracks = bcv_tm_assemble(&vol->tm, &a);
	return m->recovered_tracks;
}

int bcv_meta_rewrite(struct bcv_volume *vol)
{
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm);
	int ret = 0, err;

	bcv_assert_owner(vol);
	mutex_lock(&vol->meta.lock);
	memset(vol->meta.dur[BCV_META_AL], 0,
	       vol->meta.words[BCV_META_AL] * sizeof(long));
	for (i = 0; i < vol->nr_legs; i++) {
		if (failed & (1U << i))
			continue;
		err = bcv_meta_save_tables(vol, i);
		if (!err)
			err = blkdev_issue_flush(bcv_leg_bdev(vol, i));
		if (err) {
			pr_err("%s: writing tables to %pg failed: %d\n",
			       vol->name, bcv_leg_bdev(vol, i), err);
			ret = err;
		}
	}
	bcv_meta_dur_is_live(vol);
	vol->meta.rewrite = 0;
	mutex_unlock(&vol->meta.lock);
	return ret;
}

/* Context: module init; may sleep. */
int bcv_meta_module_init(void)
{
	/* The I/O path waits for it: it must make progress under reclaim. */
	bcv_meta_wq = alloc_workqueue("bcv_meta", WQ_MEM_RECLAIM, 0);
	return bcv_meta_wq ? 0 : -ENOMEM;
}

/* Context: module exit; no volume exists. */
void bcv_meta_module_exit(void)
{
	destroy_workqueue(bcv_meta_wq);
}

void bcv_meta_start(struct bcv_volume *vol)
{
	WRITE_ONCE(vol->meta.running, true);
}

/*------------------------------------------------------------------------
 * Lifecycle
 */

static void bcv_meta_work(struct work_struct *work)
{
	struct bcv_volume *vol = container_of(work, struct bcv_volume,
					      meta.work);

	mutex_lock(&bcv_lock);
	if (!vol->meta.dead)
		bcv_meta_write_sb(vol, false);
	mutex_unlock(&bcv_lock);
}

void bcv_meta_init(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;

	mutex_init(&m->lock);
	INIT_WORK(&m->work, bcv_meta_work);
	spin_lock_init(&m->wlock);
	seqcount_init(&m->al_seq);
	INIT_LIST_HEAD(&m->open.waiters);
	INIT_LIST_HEAD(&m->busy.waiters);
	INIT_LIST_HEAD(&m->retry);
	INIT_WORK(&m->io_work, bcv_meta_io_work);
	INIT_DELAYED_WORK(&m->ckpt_work, bcv_meta_ckpt_work);
}

void bcv_meta_schedule(struct bcv_volume *vol)
{
	if (!READ_ONCE(vol->meta.dead))
		schedule_work(&vol->meta.work);
}

void bcv_meta_synced(struct bcv_volume *vol)
{
	unsigned long syncing = READ_ONCE(vol->meta.syncing);
	unsigned int p;

	for_each_set_bit(p, &syncing, BCV_MAX_LEGS)
		if (bcv_tm_pos_clean(&vol->tm, p)) {
			bcv_meta_schedule(vol);
			return;
		}
}

void bcv_meta_exit(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;

	/* Nothing waits for a commit: the volume is idle. */
	WRITE_ONCE(m->dead, true);
	cancel_work_sync(&m->work);
	cancel_delayed_work_sync(&m->ckpt_work);
	cancel_work_sync(&m->io_work);
	cancel_delayed_work_sync(&m->ckpt_work);
	bcv_meta_free(vol);
}

int bcv_meta_create(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int i;
	int ret;

	lockdep_assert_held(&bcv_lock);
	generate_random_uuid(m->uuid);
	m->ctime = ktime_get_real_seconds();
	for (i = 0; i < vol->nr_legs; i++) {
		generate_random_uuid(m->leg_uuid[i]);
		m->sb_copy[i] = 1;	/* the first write goes to copy 0 */
		/* The tables and an empty activity log (dur's, all zero). */
		ret = bcv_meta_save_tables(vol, i);
		if (ret) {
			pr_err("%s: writing tables to %pg failed: %d\n",
			       vol->name, bcv_leg_bdev(vol, i), ret);
			return ret;
		}
	}
	bcv_meta_dur_is_live(vol);
	/*
	 * Both copies: an older volume's superblock left in the other one
	 * (create --force over a stopped volume) must not win on seq.
	 */
	ret = bcv_meta_write_sb(vol, false);
	return ret ?: bcv_meta_write_sb(vol, false);
}

int bcv_meta_mm_moved(struct bcv_volume *vol, int from, int to)
{
	struct bcv_meta *m = &vol->meta;
	unsigned long *mm, *old;
	unsigned int bad;
	u64 i;
	int ret;

	lockdep_assert_held(&bcv_lock);
	/*
	 * No own leg is left to write to (they died, an attached BCV holds
	 * the data): the new leg's metadata, written whole, is the first to
	 * say where the MM is (bcv_meta_leg_added()).
	 */
	if (!(~bcv_tm_failed_legs(&vol->tm) & (BIT(vol->nr_legs) - 1)))
		return 0;
	/* The exact writes below clear V bits: the media must hold them. */
	bad = bcv_meta_flush_all(vol);
	if (bad) {
		/* As in bcv_meta_commit(): stale there, the I bits out. */
		bcv_meta_flush_failed(vol, bad);
		bcv_meta_vouch_stale(vol, bad);
		mutex_lock(&m->lock);
		bcv_meta_sync(vol, false);
		mutex_unlock(&m->lock);
		return -EIO;
	}
	mutex_lock(&m->lock);
	/*
	 * Every word of @to goes out (dur says the opposite of each), none
	 * of @from: on disk it is the MM's table until the superblock says
	 * the MM is at @to, and assembly ignores it after (no role there).
	 */
	mm = bcv_meta_live(vol, to);
	old = bcv_meta_live(vol, from);
	for (i = 0; i < m->words[to]; i++) {
		m->dur[to][i] = ~mm[i];
		m->dur[from][i] = old[i];
	}
	ret = bcv_meta_sync(vol, true);
	mutex_unlock(&m->lock);
	return ret ?: bcv_meta_write_sb(vol, false);
}

int bcv_meta_leg_added(struct bcv_volume *vol, int pos)
{
	int ret;

	lockdep_assert_held(&bcv_lock);
	/*
	 * Whatever superblock the device carried (a volume it was a leg of,
	 * with any seq) must not win over the one the commit writes: both
	 * copies are erased first, and the commit writes copy 0.
	 */
	bcv_meta_wipe_leg(bcv_leg_bdev(vol, pos));
	vol->meta.sb_copy[pos] = 1;
	/* The live tables are exact; the other legs follow in the commit. */
	mutex_lock(&vol->meta.lock);
	ret = bcv_meta_save_tables(vol, pos);
	if (!ret)
		ret = blkdev_issue_flush(bcv_leg_bdev(vol, pos));
	mutex_unlock(&vol->meta.lock);
	if (ret)
		return ret;
	/*
	 * Its superblock first, alone: a crash before the others' leaves a
	 * new leg whose superblock (generation + 1) lists the old legs too,
	 * which assembly finds and takes as stale (their tracks stay where
	 * only they hold them); the reverse order would leave the others
	 * listing a leg that carries no superblock, which no assembly finds.
	 * A leg that cannot take its superblock is no leg: the caller takes
	 * it out again.
	 */
	ret = __bcv_meta_write_sb(vol, false, 1U << pos);
	if (ret)
		return ret;
	return bcv_meta_commit(vol, NULL);
}

/*
 * dur keeps only what both it and the tables have.  Caller holds meta.lock
 * and the volume (stop: no write marks dur meanwhile), so in chunks.
 */
static void bcv_meta_dur_and_live(struct bcv_volume *vol)
{
	struct bcv_meta *m = &vol->meta;
	u64 i, j, end;
	int t;

	for (t = 0; t <= BCV_TM_PB; t++) {
		unsigned long *live = bcv_meta_live(vol, t);

		for (i = 0; live && m->dur[t] && i < m->words[t]; i = end) {
			end = min_t(u64, m->words[t], i + BCV_META_DUR_CHUNK);
			spin_lock_irq(&m->wlock);
			for (j = i; j < end; j++)
				m->dur[t][j] &= live[j];
			spin_unlock_irq(&m->wlock);
			cond_resched();
		}
	}
	spin_lock_irq(&m->wlock);
	memset(m->dur[BCV_META_AL], 0, m->words[BCV_META_AL] * sizeof(long));
	spin_unlock_irq(&m->wlock);
}

int bcv_meta_stop(struct bcv_volume *vol)
{
	unsigned int i, failed, bad;
	int ret = 0, err;

	lockdep_assert_held(&bcv_lock);
	/*
	 * The data the tables vouch for is on the media first: every
	 * position's, the BCVs attached to a STD included (a copy to one sits
	 * in its cache until flushed).  A position whose flush fails goes
	 * stale, which the tables below say.
	 */
	bad = bcv_meta_flush_all(vol);
	bcv_meta_flush_failed(vol, bad);
	if (bad)
		bcv_meta_vouch_stale(vol, bad);
	failed = bcv_tm_failed_legs(&vol->tm);
	mutex_lock(&vol->meta.lock);
	/* Held and flushed: no region is active any more. */
	if (vol->meta.dur[BCV_META_AL])
		memset(vol->meta.dur[BCV_META_AL], 0,
		       vol->meta.words[BCV_META_AL] * sizeof(long));
	for (i = 0; i < vol->nr_legs; i++) {
		if (failed & (1U << i))
			continue;
		err = bcv_meta_save_tables(vol, i);
		if (!err)
			err = blkdev_issue_flush(bcv_leg_bdev(vol, i));
		if (err) {
			pr_err("%s: writing tables to %pg failed: %d\n",
			       vol->name, bcv_leg_bdev(vol, i), err);
			ret = err;
		}
	}
	/*
	 * A leg that took the tables holds them exactly (fewer marks than
	 * dur may say); one that did not holds its old ones: dur keeps what
	 * both say, and the volume runs on with write intent.
	 */
	if (ret) {
		bcv_meta_dur_and_live(vol);
	} else {
		bcv_meta_dur_is_live(vol);
		vol->meta.rewrite = 0;
	}
	mutex_unlock(&vol->meta.lock);
	/* A leg that missed its tables must not look clean: stay dirty. */
	if (ret)
		return ret;
	ret = bcv_meta_write_sb(vol, true);
	/* No checkpoint after the clean superblock (the volume is held). */
	if (!ret)
		WRITE_ONCE(vol->meta.running, false);
	return ret;
}

void bcv_meta_wipe_leg(struct block_device *bdev)
{
	sector_t off[BCV_SB_COPIES];
	void *z = (void *)get_zeroed_page(GFP_KERNEL);
	int c, err;

	if (!z)
		return;
	bcv_sb_offsets(bdev_nr_sectors(bdev), off);
	for (c = 0; c < BCV_SB_COPIES; c++) {
		err = bcv_meta_rw(bdev, off[c], z, BCV_SB_SIZE,
				  REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
		if (err)
			pr_warn("erasing the superblock of %pg failed: %d\n",
				bdev, err);
	}
	free_page((unsigned long)z);
}

void bcv_meta_wipe(struct bcv_volume *vol)
{
	unsigned int i;

	for (i = 0; i < vol->nr_legs; i++)
		bcv_meta_wipe_leg(bcv_leg_bdev(vol, i));
}
