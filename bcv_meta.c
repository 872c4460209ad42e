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

#include "bcv_core.h"
#include "bcv_meta.h"

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
 * Checking a superblock read from a device: nothing in it is trusted.
 */

static bool bcv_fmt_name_ok(const char *name)
{
	return !bcv_check_name(name);
}

static bool bcv_sess_rec_ok(const struct bcv_sb_sess *r, unsigned int max_id)
{
	u32 flags = le32_to_cpu(r->flags), state = le32_to_cpu(r->state);
	u32 mm = le32_to_cpu(r->mm);

	if (!(flags & BCV_SB_SESS_USED))
		return !memchr_inv(r, 0, sizeof(*r));
	if (flags & ~BCV_SB_SESS_USED || le32_to_cpu(r->id) >= max_id ||
	    !bcv_fmt_name_ok(r->peer_name))
		return false;
	if (state < BCV_STATE_SYNCINPROG || state > BCV_STATE_RESTORED)
		return false;
	if (state == BCV_STATE_SPLIT)
		return mm == BCV_SB_NO_POS;
	return mm < BCV_FMT_POSITIONS;
}

/*
 * Is @sb, read from a device of @dev_sectors, a superblock this module can
 * use?  Checks everything a later step relies on.
 */
static bool bcv_sb_ok(struct bcv_sb *sb, sector_t dev_sectors)
{
	struct bcv_fmt_layout l;
	u32 shift, nr_legs, pos, role;
	u64 sectors;
	unsigned int i;

	if (memcmp(sb->magic, BCV_SB_MAGIC, sizeof(sb->magic)) ||
	    le32_to_cpu(sb->version) != BCV_SB_VERSION ||
	    le32_to_cpu(sb->crc) != bcv_sb_crc(sb) ||
	    le64_to_cpu(sb->features) != BCV_SB_FEATURES)
		return false;
	role = le32_to_cpu(sb->role);
	shift = le32_to_cpu(sb->track_shift);
	nr_legs = le32_to_cpu(sb->nr_legs);
	pos = le32_to_cpu(sb->leg_pos);
	sectors = le64_to_cpu(sb->sectors);
	if (role != BCV_ROLE_STD && role != BCV_ROLE_BCV)
		return false;
	if (shift < 9 || shift > ilog2(BCV_TRACK_SIZE_MAX) ||
	    nr_legs < 1 || nr_legs > BCV_MAX_LEGS || pos >= nr_legs)
		return false;
	if (le32_to_cpu(sb->flags) & ~BCV_SB_F_CLEAN)
		return false;
	if (!bcv_fmt_name_ok(sb->name))
		return false;
	/* The layout must be this device's: a resized device is refused. */
	if (bcv_fmt_layout(dev_sectors, shift, &l) ||
	    le64_to_cpu(sb->dev_sectors) != dev_sectors ||
	    le64_to_cpu(sb->data_sectors) != l.data_sectors ||
	    le64_to_cpu(sb->tracks_cap) != l.tracks_cap ||
	    le64_to_cpu(sb->pb_offset) != l.pb_offset ||
	    le64_to_cpu(sb->pb_sectors) != l.pb_sectors ||
	    le64_to_cpu(sb->inv_sectors) != l.inv_sectors)
		return false;
	for (i = 0; i < BCV_FMT_POSITIONS; i++)
		if (le64_to_cpu(sb->inv_offset[i]) != l.inv_offset[i])
			return false;
	if (!sectors || sectors > l.data_sectors ||
	    le64_to_cpu(sb->tracks) != bcv_tracks(sectors, shift) ||
	    le64_to_cpu(sb->tracks) > BCV_TM_MAX_TRACKS)
		return false;
	for (i = 0; i < BCV_FMT_LEGS; i++)
		if (le32_to_cpu(sb->legs[i].flags) &
		    ~(BCV_SB_LEG_FAILED | BCV_SB_LEG_SYNCING))
			return false;
	for (i = 0; i < BCV_FMT_SESSIONS; i++) {
		if (role != BCV_ROLE_STD &&
		    memchr_inv(&sb->sess[i], 0, sizeof(sb->sess[i])))
			return false;
		if (!bcv_sess_rec_ok(&sb->sess[i], BCV_SESSIONS))
			return false;
		if ((le32_to_cpu(sb->sess[i].flags) & BCV_SB_SESS_USED) &&
		    le32_to_cpu(sb->sess[i].id) != i)
			return false;
	}
	if (role == BCV_ROLE_STD && memchr_inv(&sb->link, 0, sizeof(sb->link)))
		return false;
	return bcv_sess_rec_ok(&sb->link, BCV_SESSIONS);
}

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
		if (!bcv_sb_ok(sb[c], dev)) {
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
 * holds bcv_lock and meta.lock; takes the STD's state_lock for states.
 */
static void bcv_meta_build(struct bcv_volume *vol, int pos, struct bcv_sb *sb,
			   bool clean)
{
	struct bcv_meta *m = &vol->meta;
	const struct bcv_fmt_layout *l = &m->layout[pos];
	struct bcv_tm_sess *ts;
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm), syncing = 0;

	lockdep_assert_held(&bcv_lock);
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
	sb->flags = cpu_to_le32(clean ? BCV_SB_F_CLEAN : 0);
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

int bcv_meta_write_sb(struct bcv_volume *vol, bool clean)
{
	struct bcv_meta *m = &vol->meta;
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm), ok = 0;
	struct bcv_sb *sb;
	int ret = -EIO;

	lockdep_assert_held(&bcv_lock);
	sb = (void *)get_zeroed_page(GFP_KERNEL);
	if (!sb)
		return -ENOMEM;
	mutex_lock(&m->lock);
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
		err = bcv_meta_rw(bdev, off[m->seq & 1], sb, BCV_SB_SIZE,
				  REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH |
				  REQ_FUA);
		if (err) {
			pr_err("%s: superblock write to %pg (M%u) failed: %d\n",
			       vol->name, bdev, i + 1, err);
			ret = err;
			continue;
		}
		ok++;
	}
	if (ok) {
		m->clean = clean;
		ret = 0;
	}
	mutex_unlock(&m->lock);
	free_page((unsigned long)sb);
	return ret;
}

/*------------------------------------------------------------------------
 * Tables
 */

/* Write every table of @vol to leg @pos.  Caller holds the volume. */
static int bcv_meta_save_tables(struct bcv_volume *vol, int pos)
{
	const struct bcv_fmt_layout *l = &vol->meta.layout[pos];
	struct block_device *bdev = bcv_leg_bdev(vol, pos);
	unsigned int blen, t;
	void *buf = bcv_meta_buf(&blen);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (t = 0; t <= BCV_TM_PB && !ret; t++) {
		sector_t at = t == BCV_TM_PB ? l->pb_offset : l->inv_offset[t];
		u64 nr, done = 0;
		unsigned long *w = bcv_tm_table(&vol->tm, t, &nr);

		if (!w)
			continue;
		while (done < nr && !ret) {
			u64 k, n = min_t(u64, nr - done, blen / 8);
			unsigned int bytes = round_up(n * 8, 512);

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

int bcv_meta_load_tables(struct bcv_volume *vol, int pos)
{
	const struct bcv_fmt_layout *l = &vol->meta.layout[pos];
	struct block_device *bdev = bcv_leg_bdev(vol, pos);
	unsigned int blen, t;
	void *buf = bcv_meta_buf(&blen);
	int ret = 0;

	lockdep_assert_held(&bcv_lock);
	if (!buf)
		return -ENOMEM;
	for (t = 0; t <= BCV_TM_PB && !ret; t++) {
		sector_t at = t == BCV_TM_PB ? l->pb_offset : l->inv_offset[t];
		u64 nr, done = 0;
		unsigned long *w = bcv_tm_table(&vol->tm, t, &nr);

		if (!w)
			continue;
		while (done < nr && !ret) {
			u64 k, n = min_t(u64, nr - done, blen / 8);
			unsigned int bytes = round_up(n * 8, 512);

			ret = bcv_meta_rw(bdev, at, buf, bytes, REQ_OP_READ);
			for (k = 0; k < n && !ret; k++)
				w[done + k] = get_unaligned_le64(buf + k * 8);
			at += bytes >> SECTOR_SHIFT;
			done += n;
		}
	}
	bcv_meta_buf_free(buf, blen);
	return ret;
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
	mutex_init(&vol->meta.lock);
	INIT_WORK(&vol->meta.work, bcv_meta_work);
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
	WRITE_ONCE(vol->meta.dead, true);
	cancel_work_sync(&vol->meta.work);
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
		ret = bcv_meta_save_tables(vol, i);
		if (ret) {
			pr_err("%s: writing tables to %pg failed: %d\n",
			       vol->name, bcv_leg_bdev(vol, i), ret);
			return ret;
		}
	}
	/*
	 * Both copies: an older volume's superblock left in the other one
	 * (create --force over a stopped volume) must not win on seq.
	 */
	ret = bcv_meta_write_sb(vol, false);
	return ret ?: bcv_meta_write_sb(vol, false);
}

int bcv_meta_leg_added(struct bcv_volume *vol, int pos)
{
	int ret;

	lockdep_assert_held(&bcv_lock);
	ret = bcv_meta_save_tables(vol, pos);
	if (ret)
		return ret;
	return bcv_meta_write_sb(vol, false);
}

int bcv_meta_stop(struct bcv_volume *vol)
{
	unsigned int i, failed = bcv_tm_failed_legs(&vol->tm);
	int ret = 0, err;

	lockdep_assert_held(&bcv_lock);
	for (i = 0; i < vol->nr_legs; i++) {
		if (failed & (1U << i))
			continue;
		/* The data the tables vouch for is on the media first. */
		err = blkdev_issue_flush(bcv_leg_bdev(vol, i));
		if (!err)
			err = bcv_meta_save_tables(vol, i);
		if (!err)
			err = blkdev_issue_flush(bcv_leg_bdev(vol, i));
		if (err) {
			pr_err("%s: writing tables to %pg failed: %d\n",
			       vol->name, bcv_leg_bdev(vol, i), err);
			ret = err;
		}
	}
	/* A leg that missed its tables must not look clean: stay dirty. */
	if (ret)
		return ret;
	return bcv_meta_write_sb(vol, true);
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
