/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: track geometry, the Track ID and PB tables, and every command's
 * table transformation (bcv-design.rst sections 2 to 5).
 *
 * Pure code: no kernel-only calls (see bcv_shim.h), so bcv_trackmap.c
 * builds into the module and into the userspace unit tests (tests/unit/).
 *
 * Geometry
 * --------
 * A volume is cut into tracks of 2^track_shift bytes, the unit of change
 * tracking and copying; the last track may be partial.  Tracks are grouped
 * into cylinders of BCV_TRACKS_PER_CYL (15): PB rows are laid out cylinder
 * after cylinder, 15 rows each, as in the patent's FIG. 2.
 *
 * Track ID table (one per volume): 4 bits per track, one per mirror
 * position, stored as 4 bitmaps (one per position) so that a command that
 * touches one position touches only its bitmap:
 *
 *	  position:  M1   M2   M3   M4
 *	  bit:        0    1    2    3      1 = I (invalid), 0 = V (valid)
 *
 *	STD: own legs from M1 up; an attached BCV takes a free position (MM).
 *	BCV: own legs from M1 up (M1 primary, the others BFM); M4 is M4b.
 *	Unused positions read as I and are never copied to.
 *
 * PB table (one per STD): a 16-bit row per track, a column per session,
 * BITS_PER_LONG / 16 rows to a word (row t in word t / R at bit 16 * (t % R)):
 *
 *	   15 14 13 12 11 10  9  8  7  6  5  4  3  2  1  0
 *	  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *	  |s15                 ...                     s0 |   1 = C, 0 = U
 *	  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * Concurrency
 * -----------
 * Per-track operations (bcv_tm_write(), the copy engine's
 * bcv_tm_copy_begin()/bcv_tm_copy_done()) never sleep, take no lock, and
 * may run concurrently on many CPUs: they use atomic bit operations.
 * Operations that mark positions I (bcv_tm_write_done(),
 * bcv_tm_mark_stale(), bcv_tm_leg_fail()) decide from several positions'
 * bits at once, so the caller serialises them with each other (per
 * volume); they still run concurrently with the lock-free ones, which only
 * ever mark positions V or PB bits C (bcv_tm_write_done() of a write that
 * every data position took is one of those).  Commands and whole-table operations
 * (bcv_tm_establish() ... bcv_tm_update_states(), the counters) are plain
 * word-at-a-time passes: the caller serialises them per STD and holds host
 * writes and copy completions to the volumes involved while they run.
 *
 * The last valid copy
 * -------------------
 * Invariant: a track that is valid at some data position (an own leg, or
 * on a STD an attached MM) stays valid at one at least.  Every path that
 * marks a position I goes through bcv_tm_mark_stale() or
 * bcv_tm_write_done(), which never take a track's last valid position
 * away: a write that no position could take fails to the host instead, and
 * the old data stays readable.  Only commands move the last valid copy
 * (RESTORE makes the MM the only valid position on purpose).
 */
#ifndef BCV_TRACKMAP_H
#define BCV_TRACKMAP_H

#include "bcv_shim.h"
#include "uapi/linux/bcv.h"

#define BCV_SECTOR_SHIFT	9
#define BCV_CYL_TRACKS		15	/* = BCV_TRACKS_PER_CYL of the uapi */
#define BCV_POSITIONS		4	/* M1..M4 */
#define BCV_M4B			3	/* position index of M4b on a BCV */
#define BCV_SESSIONS		16	/* PB columns */
#define BCV_NO_POS		(-1)
#define BCV_NO_TRACK		((u64)-1)

/*
 * The most tracks a volume may have: every table must stay a single
 * allocation the kernel can make (kvmalloc() refuses more than INT_MAX
 * bytes; the PB table takes 2 bytes a track).  2^29 tracks: 32 TiB with
 * 64 KiB tracks, 512 TiB with 1 MiB tracks.
 */
#define BCV_TM_MAX_TRACKS	536870912ULL	/* 2^29 */

/* Number of tracks covering @sectors 512-byte sectors (last one partial). */
u64 bcv_tracks(u64 sectors, unsigned int track_shift);

/* Number of cylinders covering @tracks tracks (last one partial). */
u64 bcv_cylinders(u64 tracks);

/* First and last track touched by [@sector, @sector + @nr_sectors). */
void bcv_track_range(u64 sector, u64 nr_sectors, unsigned int track_shift,
		     u64 *first, u64 *last);

/*
 * log2 of @track_size if it is a valid track size (a power of two within
 * [@min_size, BCV_TRACK_SIZE_MAX]), else -1.
 */
int bcv_track_shift(u32 track_size, u32 min_size);

/* What occupies a mirror position. */
enum bcv_pos_role {
	BCV_POS_NONE = 0,	/* unused: reads as I, never copied to */
	BCV_POS_LEG,		/* an own leg (primary or fixed mirror) */
	BCV_POS_MM,		/* STD: an attached BCV (moving mirror) */
	BCV_POS_M4B,		/* BCV: M4b, "written by the BCV's users" */
};

/*
 * Session states (Documentation/bcv.rst, "States"), the values of the
 * uapi's BCV_STATE_*.  Every change goes through bcv_tm_set_state(), whose
 * table of legal moves is the state machine:
 *
 *   none --ESTABLISH--> syncinprog --copy done--> synchronized --SPLIT-->
 *     split --ESTABLISH, REESTABLISH--> syncinprog
 *   split --RESTORE--> restinprog --copy done--> restored --SPLIT--> split
 *   (RESTORE --protect: restored --split at once by the driver--> split)
 *   synchronized, restored, restinprog --the MM lost tracks--> syncinprog
 *   split --TERMINATE--> none
 *   syncinprog --SPLIT --force, ABORT--> split
 *   restinprog --ABORT--> split
 */
enum bcv_state {
	/* no session (before ESTABLISH, after TERMINATE) */
	BCV_NOSESSION		= 0,
	/* attached: the STD is being copied to the BCV */
	BCV_SYNCINPROG		= BCV_STATE_SYNCINPROG,
	/* attached: the BCV is a live mirror of the STD */
	BCV_SYNCHRONIZED	= BCV_STATE_SYNCHRONIZED,
	/* detached: the BCV is a copy of its own, ready to its users */
	BCV_SPLIT		= BCV_STATE_SPLIT,
	/* attached: the BCV is being copied to the STD */
	BCV_RESTINPROG		= BCV_STATE_RESTINPROG,
	/* attached: the STD holds the BCV's data, mirrored to it */
	BCV_RESTORED		= BCV_STATE_RESTORED,
};

struct bcv_tm_sess;

/*
 * Told of every state change of a STD's sessions (bcv_tm_vol.on_state),
 * from the table operation that makes it, under the caller's
 * serialisation of the STD's commands and engine (see Concurrency).
 */
typedef void (*bcv_tm_state_fn)(const struct bcv_tm_sess *s,
				enum bcv_state from, enum bcv_state to);

/* Is @from -> @to a legal move of the state machine above? */
bool bcv_tm_state_legal(enum bcv_state from, enum bcv_state to);
/*
 * Move @s to @to (a legal move; an illegal one is a bug) and tell the
 * STD's on_state.  Caller serialises per STD (see Concurrency).
 */
void bcv_tm_set_state(struct bcv_tm_sess *s, enum bcv_state to);

/* The tables of one volume. */
struct bcv_tm_vol {
	u64 tracks;			/* tracks, the last maybe partial */
	u64 sectors;			/* capacity in 512-byte sectors */
	unsigned int track_shift;	/* log2 of the track size in bytes */
	bool is_std;			/* STD (else BCV) */
	unsigned int nr_legs;		/* own legs at M1..M(nr_legs) */
	unsigned int failed;		/* own legs marked failed (bit p) */
	/*
	 * Failed legs that alone held some tracks when they failed: what
	 * they acknowledged since their last flush may be gone with them, so
	 * every host flush fails until they are removed (bcv_tm_leg_fail()).
	 */
	unsigned int lost;
	/*
	 * A byte per position, bumped by bcv_tm_flush_failed(): a write
	 * samples it when it is sent, and validates no position whose flush
	 * failed meanwhile (bcv_tm_stale_since()).
	 */
	u32 stale_epoch;
	/*
	 * STD: data positions never written (bit p), the MM of a protected
	 * restore: a read and copy source only.  A host write leaves it I
	 * where it wrote, and the copy engine never copies to it.
	 */
	unsigned int ro;
	u8 role[BCV_POSITIONS];		/* enum bcv_pos_role */
	struct bcv_tm_sess *mm_sess[BCV_POSITIONS]; /* STD: owner of an MM */
	unsigned long *inv[BCV_POSITIONS]; /* Track ID: bit t = I */
	unsigned long *copying;		/* copy of t in flight, no write since */
	unsigned long *scratch;		/* commands' working bitmap */

	/* STD only */
	bcv_tm_state_fn on_state;	/* told of state changes, or NULL */
	unsigned long *pb;		/* PB rows, see above */
	unsigned long alloc;		/* allocated PB columns (bit s) */
	struct bcv_tm_sess *sess[BCV_SESSIONS]; /* by PB column */

	/* BCV only */
	struct bcv_tm_sess *session;	/* the session it is in, or NULL */
};

/* One session (the patent's DDF(n)): the pairing of a STD and a BCV. */
struct bcv_tm_sess {
	struct bcv_tm_vol *std;
	struct bcv_tm_vol *bcv;
	unsigned int id;		/* PB column, 0..15 */
	int mm;				/* STD position while attached, or -1 */
	enum bcv_state state;
	/*
	 * A protected restore (RESTORE --protect): the BCV is never written;
	 * its MM is in std->ro while attached, and the session is split
	 * again, its column keeping what the host changed, once restored.
	 */
	bool protect;
};

/*
 * Accessors: the rest of the driver reads the tables' state through these
 * (any context; the caller keeps the answer stable as the Concurrency
 * rules say: a command or engine pass holding the volume, state_lock for
 * states, or a racy read for a report).
 */
static inline unsigned int bcv_tm_sess_id(const struct bcv_tm_sess *s)
{
	return s->id;
}

static inline enum bcv_state bcv_tm_sess_state(const struct bcv_tm_sess *s)
{
	return s->state;
}

/* Is it a protected restore (RESTORE --protect, restinprog or restored)? */
static inline bool bcv_tm_sess_protected(const struct bcv_tm_sess *s)
{
	return s->protect;
}

/* The STD position of the session's BCV while attached, else BCV_NO_POS. */
static inline int bcv_tm_sess_mm(const struct bcv_tm_sess *s)
{
	return s->mm;
}

static inline struct bcv_tm_vol *bcv_tm_sess_std(const struct bcv_tm_sess *s)
{
	return s->std;
}

static inline struct bcv_tm_vol *bcv_tm_sess_bcv(const struct bcv_tm_sess *s)
{
	return s->bcv;
}

/* Geometry: fixed when the volume is created. */
static inline u64 bcv_tm_sectors(const struct bcv_tm_vol *v)
{
	return v->sectors;
}

static inline u64 bcv_tm_tracks(const struct bcv_tm_vol *v)
{
	return v->tracks;
}

static inline unsigned int bcv_tm_track_shift(const struct bcv_tm_vol *v)
{
	return v->track_shift;
}

/* The first sector of track @t. */
static inline u64 bcv_tm_track_sector(const struct bcv_tm_vol *v, u64 t)
{
	return t << (v->track_shift - BCV_SECTOR_SHIFT);
}

/* BCV: the session it is in, or NULL. */
static inline struct bcv_tm_sess *bcv_tm_vol_session(const struct bcv_tm_vol *v)
{
	return v->session;
}

/* STD: the session in PB column @col, or NULL. */
static inline struct bcv_tm_sess *bcv_tm_column(const struct bcv_tm_vol *v,
						unsigned int col)
{
	return v->sess[col];
}

/* STD: has it any session? */
static inline bool bcv_tm_has_sessions(const struct bcv_tm_vol *v)
{
	return READ_ONCE(v->alloc) != 0;
}

/* The own legs marked failed (bit p). */
static inline unsigned int bcv_tm_failed_legs(const struct bcv_tm_vol *v)
{
	return READ_ONCE(v->failed);
}

/* What occupies position @pos. */
static inline enum bcv_pos_role bcv_tm_pos_role(const struct bcv_tm_vol *v,
						int pos)
{
	return (enum bcv_pos_role)v->role[pos];
}

/* STD: the session whose BCV is attached at @pos, or NULL. */
static inline struct bcv_tm_sess *bcv_tm_mm_session(const struct bcv_tm_vol *v,
						    int pos)
{
	return v->role[pos] == BCV_POS_MM ? v->mm_sess[pos] : NULL;
}

/* STD: install the hook told of state changes (see bcv_tm_state_fn). */
static inline void bcv_tm_set_state_hook(struct bcv_tm_vol *v,
					 bcv_tm_state_fn fn)
{
	v->on_state = fn;
}

/* Options and facts a command's preconditions depend on. */
/* Why a command was refused: BCV_R_* of the uapi and a number for it. */
struct bcv_tm_why {
	unsigned int reason;
	u64 detail;
};

struct bcv_tm_cmd {
	bool diff;		/* SPLIT: differential */
	bool incremental;	/* RESTORE: incremental */
	/* RESTORE: even though the STD is open; SPLIT: not synchronized */
	bool force;
	bool protect;		/* RESTORE: the BCV is never written */
	unsigned int std_openers; /* std_open: how many (for @why) */
	unsigned int bcv_openers; /* bcv_open: how many (for @why) */
	struct bcv_tm_why *why;	/* out, if not NULL: why it was refused */
	bool std_open;		/* the STD volume has openers */
	bool bcv_open;		/* the BCV volume has openers */
};

/* A run of tracks for the copy engine. */
struct bcv_tm_copy {
	u64 start;		/* first track */
	u64 len;		/* number of tracks */
	int src;		/* position to read from */
	unsigned int dst;	/* positions to write (bit p) */
};

/*------------------------------------------------------------------------
 * Volumes
 */

/**
 * bcv_tm_vol_init() - allocate the tables of a volume
 * @v: the tables
 * @sectors: capacity in 512-byte sectors
 * @track_shift: log2 of the track size in bytes
 * @is_std: a STD (with a PB table), else a BCV
 * @nr_legs: own legs, at M1..M(@nr_legs)
 *
 * All own legs valid, no session.
 *
 * Context: may sleep.
 * Return: 0, -EINVAL (@nr_legs), -E2BIG (more than BCV_TM_MAX_TRACKS
 * tracks) or -ENOMEM.
 */
int bcv_tm_vol_init(struct bcv_tm_vol *v, u64 sectors, unsigned int track_shift,
		    bool is_std, unsigned int nr_legs);
/* Context: may sleep.  Free what bcv_tm_vol_init() allocated. */
void bcv_tm_vol_free(struct bcv_tm_vol *v);
/**
 * bcv_tm_vol_bytes() - what bcv_tm_vol_init() allocates for @tracks
 * @tracks: the volume's tracks
 * @is_std: a STD (with a PB table)
 *
 * For a check before the allocation (bcv.max_table_share, bcv_core.c).
 *
 * Context: any.
 * Return: bytes; (u64)-1 past BCV_TM_MAX_TRACKS (refused anyway).
 */
u64 bcv_tm_vol_bytes(u64 tracks, bool is_std);

/**
 * bcv_tm_invalid() - is position @pos invalid for track @t?
 * @v: the tables
 * @pos: the position
 * @t: the track
 *
 * Context: any.
 * Return: true if I (unused positions read as I).
 */
bool bcv_tm_invalid(const struct bcv_tm_vol *v, int pos, u64 t);
/**
 * bcv_tm_trackid() - the Track ID nibble of track @t
 * @v: the tables
 * @t: the track
 *
 * Context: any.
 * Return: 4 bits, bit p set if position p is I.
 */
unsigned int bcv_tm_trackid(const struct bcv_tm_vol *v, u64 t);
/**
 * bcv_tm_pb_changed() - is PB(@t, @col) changed?
 * @std: a STD's tables
 * @t: the track
 * @col: the session's column
 *
 * Context: any.
 * Return: true if C.
 */
bool bcv_tm_pb_changed(const struct bcv_tm_vol *std, u64 t, unsigned int col);

/*------------------------------------------------------------------------
 * Host I/O (Documentation/bcv.rst, "Data path")
 */

/**
 * bcv_tm_write() - mark a write-like bio to [@sector, +@nr_sectors)
 * @v: the tables
 * @sector: first sector
 * @nr_sectors: sectors
 * @written: positions it reached, or 0 at submission
 *
 * On a STD every allocated PB column becomes C; on a BCV M4b becomes I.
 * Tracks the write covers entirely become V at the positions in @written;
 * an in-flight copy of any touched track will not mark it V (it is copied
 * again).  Cheap when the bits are already in place.
 *
 * Context: any; lock-free, may run concurrently with itself.
 */
void bcv_tm_write(struct bcv_tm_vol *v, u64 sector, u64 nr_sectors,
		  unsigned int written);
/**
 * bcv_tm_write_done() - what a write-like bio left where
 * @v: the tables
 * @sector: first sector
 * @nr_sectors: sectors
 * @sent: positions the bio was sent to
 * @ok: positions where it completed without error (a subset of @sent)
 * @defined: false for a discard, whose data is undefined: it validates
 *	nothing
 *
 * The bio was marked by bcv_tm_write(@v, @sector, @nr_sectors, 0) at
 * submission.  For every track touched, the positions that hold it
 * afterwards are those in @ok that were valid for it, and for a defined
 * write covering the whole track every position in @ok.  They stay (or
 * become) V; every other data position becomes I, as its data may now
 * differ.  A track that no position holds keeps its old data: positions
 * the bio was not sent to and that were valid stay V, and if there is none
 * the first valid position in @sent is kept (its data may be torn, but the
 * other positions are made copies of it).  Positions that are not there
 * (an absent BCV, a failed leg) keep a track only when no position that
 * is there can.
 *
 * Context: any; caller serialises it with bcv_tm_mark_stale() and
 * bcv_tm_leg_fail() on @v (see Concurrency), except for a defined write
 * that every data position took (@ok covers them all): that one only marks
 * tracks V, with atomics, and may run without the lock.
 * Return: the number of tracks the write could not reach (for a discard
 * only those that lost their old data too): the bio fails to the host iff
 * it is not zero.
 */
u64 bcv_tm_write_done(struct bcv_tm_vol *v, u64 sector, u64 nr_sectors,
		      unsigned int sent, unsigned int ok, bool defined);
/**
 * bcv_tm_mark_stale() - position @pos may hold wrong data for a range
 * @v: the tables
 * @pos: the position (a failed write, a failed read, a failed flush)
 * @sector: first sector
 * @nr_sectors: sectors
 *
 * @pos becomes I there, except for tracks on which it is the last valid
 * data position that is there (see "The last valid copy"): an absent BCV
 * or a failed leg that holds the track too cannot serve it.
 *
 * Context: any; caller serialises it with bcv_tm_write_done().
 * Return: the number of tracks it kept V.
 */
u64 bcv_tm_mark_stale(struct bcv_tm_vol *v, int pos, u64 sector,
		      u64 nr_sectors);
/**
 * bcv_tm_flush_failed() - position @pos failed a cache flush
 * @v: the tables
 * @pos: the position
 *
 * It may have lost anything it took since its last flush: stale for
 * every track another position holds (bcv_tm_mark_stale()), and its
 * epoch moves, so that a write sent to it before and completing after
 * validates nothing there (bcv_tm_stale_since()).  The epoch moves before
 * the tracks go stale, fully ordered: a write that marks V lock-free and
 * then reads the epoch either sees it moved or was marked I after.
 *
 * Context: any; caller serialises it with bcv_tm_write_done().
 * Return: the tracks it kept V (the last copy there is).
 */
u64 bcv_tm_flush_failed(struct bcv_tm_vol *v, int pos);

/* The positions' epochs, sampled when a write is sent.  Context: any. */
static inline u32 bcv_tm_stale_epoch(const struct bcv_tm_vol *v)
{
	return READ_ONCE(v->stale_epoch);
}

/* Positions whose flush failed since @epoch was sampled.  Context: any. */
static inline unsigned int bcv_tm_stale_since(const struct bcv_tm_vol *v,
					      u32 epoch)
{
	u32 x = READ_ONCE(v->stale_epoch) ^ epoch;
	unsigned int p, m = 0;

	for (p = 0; p < BCV_POSITIONS; p++)
		if ((x >> (8 * p)) & 0xff)
			m |= 1U << p;
	return m;
}

/* bcv_tm_mark_stale() for callers that ignore the count. */
static inline void bcv_tm_leg_error(struct bcv_tm_vol *v, int pos, u64 sector,
				    u64 nr_sectors)
{
	bcv_tm_mark_stale(v, pos, sector, nr_sectors);
}

/**
 * bcv_tm_leg_fail() - own leg @pos lost its device
 * @v: the tables
 * @pos: the leg's position
 *
 * The device is gone or smaller than the volume: the leg is stale wherever
 * another position holds the data, takes no more writes
 * (bcv_tm_write_targets()) and no copies, and a restore does not wait for
 * it.  Only removing the leg ends the state.  Where it alone held tracks,
 * it goes into @v->lost: the writes it acknowledged since its last flush
 * may have died with it, so every host flush fails from now on.
 *
 * Context: any; caller serialises it with bcv_tm_write_done().
 */
void bcv_tm_leg_fail(struct bcv_tm_vol *v, int pos);
/**
 * bcv_tm_write_targets() - positions a host write goes to
 * @v: the tables
 *
 * Context: any; stable while a bio is in flight.
 * Return: own legs that have not failed and (STD) attached MMs (bit p),
 * but not the MM of a protected restore (@v->ro).
 */
unsigned int bcv_tm_write_targets(const struct bcv_tm_vol *v);
/**
 * bcv_tm_fill_track() - a track a write must wait for (protected restore)
 * @v: the tables
 * @sector: the write's first sector
 * @nr_sectors: its sectors
 *
 * During a protected restore a write does not reach the BCV, so a track it
 * covers in part must first hold its restored data on a position it does
 * reach; else that track would be valid nowhere afterwards.  Tracks it
 * covers whole need nothing: they become V where written.
 *
 * Context: any; a racy answer is checked again when the write retries.
 * Return: the first track covered in part that no write target holds and
 * a read-only position (@v->ro) does, or BCV_NO_TRACK.
 */
u64 bcv_tm_fill_track(const struct bcv_tm_vol *v, u64 sector, u64 nr_sectors);
/**
 * bcv_tm_read_pos() - where a read of a range can go
 * @v: the tables
 * @sector: first sector
 * @nr_sectors: sectors
 *
 * Context: any.
 * Return: a position valid for every track of the range, legs first, or
 * BCV_NO_POS.
 */
int bcv_tm_read_pos(const struct bcv_tm_vol *v, u64 sector, u64 nr_sectors);
/**
 * bcv_tm_read_pos_avoid() - bcv_tm_read_pos() but not at some positions
 * @v: the tables
 * @sector: first sector
 * @nr_sectors: sectors
 * @avoid: positions not to use (bit p); failed legs and absent BCVs are
 *	never used, the read-only MM of a protected restore is
 *
 * Context: any.
 * Return: a position, or BCV_NO_POS.
 */
int bcv_tm_read_pos_avoid(const struct bcv_tm_vol *v, u64 sector,
			  u64 nr_sectors, unsigned int avoid);

/*------------------------------------------------------------------------
 * Leg management: only while no BCV is attached to the volume (a STD
 * without MMs, a BCV that is split or in no session), so that own legs stay
 * at M1..M(nr_legs).
 */

/**
 * bcv_tm_leg_add() - a new leg at position nr_legs
 * @v: the tables
 *
 * The leg is I everywhere (the copy engine syncs it).
 *
 * Context: any; caller holds the volume (see Concurrency).
 * Return: the position, -EBUSY (a BCV attached to its STD) or -ENOSPC
 * (BCV_MAX_LEGS legs, or an MM there: bcv_tm_leg_room()).
 */
int bcv_tm_leg_add(struct bcv_tm_vol *v);
/**
 * bcv_tm_leg_unadd() - the leg bcv_tm_leg_add() just added goes again
 * @v: the tables
 *
 * Its metadata could not be written: it never held anything.
 *
 * Context: any; caller holds the volume (see Concurrency).
 */
void bcv_tm_leg_unadd(struct bcv_tm_vol *v);
/**
 * bcv_tm_leg_remove() - the leg at @pos goes
 * @v: the tables
 * @pos: its position; the legs above it move down a position
 *
 * Context: any; caller holds the volume (see Concurrency).
 * Return: 0, -EINVAL (no leg there), -EBUSY if it is the only leg, if some
 * track would be valid at no other position (leg or attached BCV; for a leg
 * that has not failed, none that has), if a BCV's primary would be replaced by
 * a leg that is not valid everywhere, or if @v is a BCV attached to its
 * STD.
 */
int bcv_tm_leg_remove(struct bcv_tm_vol *v, int pos);
/**
 * bcv_tm_legs_changeable() - may legs be added or removed now?
 * @v: the tables
 *
 * Context: any; caller serialises with commands.
 * Return: false for a BCV attached to its STD, else true.
 */
bool bcv_tm_legs_changeable(const struct bcv_tm_vol *v);
/**
 * bcv_tm_leg_room() - is an MM where a new leg goes?
 * @v: the STD's tables
 * @to: out: a free position above it for bcv_tm_mm_move(), or BCV_NO_POS
 *	if there is none (then no leg can be added)
 *
 * Context: any; caller serialises with commands.
 * Return: the MM's position (nr_legs), or BCV_NO_POS if the way is free.
 */
int bcv_tm_leg_room(const struct bcv_tm_vol *v, int *to);
/**
 * bcv_tm_mm_move() - the MM at @from moves to the free position @to
 * @v: the STD's tables
 * @from: the MM's position
 * @to: a position with no role
 *
 * Its Track ID table, session, absent and read-only bits go with it;
 * @from is left empty.  The caller writes the moved table at @to on disk
 * before the superblock that says where the MM is.
 *
 * Context: any; caller holds the volume (see Concurrency).
 */
void bcv_tm_mm_move(struct bcv_tm_vol *v, int from, int to);

/*------------------------------------------------------------------------
 * Commands (Documentation/bcv.rst, "Sessions").  Each checks every
 * precondition first and changes no table when it refuses.
 *
 * Context of each: any (no sleeping); caller serialises per STD and holds
 * host writes and copies to both volumes (see Concurrency).
 * Return of each: 0 or the command's errno (-ENOENT, -EINVAL, -EBUSY,
 * -ENOSPC, -ENOMEM).
 */

/**
 * bcv_tm_establish() - ESTABLISH
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @cmd: options and facts
 * @spare: a zeroed session, used (and set to NULL) if a new one is needed
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_establish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		     const struct bcv_tm_cmd *cmd, struct bcv_tm_sess **spare);
/**
 * bcv_tm_split() - SPLIT, full or differential (@cmd->diff)
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @cmd: options and facts
 *
 * The BCV's primary holds what the MM held; its fixed mirrors go stale
 * where the primary took data (all of it, or with @cmd->diff the tracks
 * the session's column says changed).
 * With @cmd->force the session may also be syncinprog (a copy that cannot
 * finish: the BCV's disk failed): every track invalid at the MM is marked
 * changed on both sides (PB C, M4b I), so that the BCV, no point-in-time
 * copy then, is repaired by the next REESTABLISH and no incremental
 * RESTORE takes those tracks for copies.  A restinprog session is refused
 * even so: its STD needs the BCV for the tracks not restored yet.
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_split(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		 const struct bcv_tm_cmd *cmd);
/**
 * bcv_tm_abort() - ABORT an ESTABLISH, REESTABLISH or RESTORE in progress
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @kept: RESTORE: the STD positions that held every track when it began
 *        and have had no I/O error since (the caller knows; 0 refuses)
 *
 * The BCV is detached and the session split again.
 *
 * ESTABLISH, REESTABLISH (syncinprog): every track the copy was to write
 * (PB C in the session's column, which stays) is marked changed on the
 * BCV (M4b I), copied already or not: the BCV holds a mix, and the next
 * REESTABLISH copies exactly those tracks again.  Within the BCV, a track
 * its MM never got is served by a fixed mirror that held it before the
 * attach, if one did (the primary may hold a copy or a write half done);
 * split --force does the same.
 *
 * RESTORE (restinprog): the tracks not restored yet are V again at the
 * @kept positions, which still hold the STD's old data there, and C in
 * the session's column (they differ from the BCV); the tracks restored
 * hold the BCV's data (U in its column, C in every other, as the restore
 * marked them).  An unprotected restore sent the host's writes to the
 * BCV's primary only: its fixed mirrors go stale there.  Refused (-EBUSY) if no own leg is in @kept, or if the
 * host wrote a track not restored yet at a @kept position (its data is
 * on the BCV alone: an unprotected restore mirrors writes to it).
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_abort(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		 unsigned int kept);
/**
 * bcv_tm_abort_check() - would bcv_tm_abort() accept?
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @kept: as for bcv_tm_abort()
 *
 * Context: see "Commands" above.
 * Return: 0 or the errno bcv_tm_abort() would return.
 */
int bcv_tm_abort_check(const struct bcv_tm_vol *std,
		       const struct bcv_tm_vol *bcv, unsigned int kept);
/**
 * bcv_tm_split_check() - would bcv_tm_split() accept?
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @cmd: options and facts
 *
 * Changes nothing.  A consistent split of several pairs checks every pair
 * before it splits any.
 *
 * Context: see "Commands" above.
 * Return: 0 or the errno bcv_tm_split() would return.
 */
int bcv_tm_split_check(const struct bcv_tm_vol *std,
		       const struct bcv_tm_vol *bcv, const struct bcv_tm_cmd *cmd);
/**
 * bcv_tm_reestablish() - REESTABLISH
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @cmd: options and facts
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_reestablish(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		       const struct bcv_tm_cmd *cmd);
/**
 * bcv_tm_restore() - RESTORE, full or incremental (@cmd->incremental)
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @cmd: options and facts
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_restore(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		   const struct bcv_tm_cmd *cmd);
/**
 * bcv_tm_terminate() - TERMINATE
 * @std: the STD's tables
 * @bcv: the BCV's tables
 * @freed: out: the session, for the caller to free
 *
 * Context: see "Commands" above.
 * Return: see "Commands" above.
 */
int bcv_tm_terminate(struct bcv_tm_vol *std, struct bcv_tm_vol *bcv,
		     struct bcv_tm_sess **freed);

/**
 * bcv_tm_session() - the session between @std and @bcv
 * @std: the STD's tables
 * @bcv: the BCV's tables
 *
 * Context: any; caller serialises with commands.
 * Return: the session, or NULL.
 */
struct bcv_tm_sess *bcv_tm_session(const struct bcv_tm_vol *std,
				   const struct bcv_tm_vol *bcv);

/*------------------------------------------------------------------------
 * Copy engine (Documentation/bcv.rst, "Internals")
 */

/**
 * bcv_tm_next_copy() - the next run of tracks to copy
 * @v: the tables
 * @from: first track to look at
 * @max: most tracks in the run
 * @c: out: the run
 *
 * The first run of at most @max tracks at or after @from that has the
 * same non-empty set of invalid destination positions and one source
 * position valid for all of it.  Destinations are the volume's own legs
 * and (STD) attached MMs; on a BCV only while it is split (its fixed
 * mirrors are synced from its primary).
 *
 * Context: any; never sleeps.
 * Return: false if no track at or after @from needs a copy.
 */
bool bcv_tm_next_copy(const struct bcv_tm_vol *v, u64 from, u64 max,
		      struct bcv_tm_copy *c);
/**
 * bcv_tm_next_copy_avoid() - bcv_tm_next_copy() without some positions
 * @v: the tables
 * @from: first track to look at
 * @max: most tracks in the run
 * @avoid: positions neither read nor written (the engine backs off from a
 *	position whose copies keep failing); failed legs always are
 * @c: out: the run
 *
 * Context: any; never sleeps.
 * Return: false if nothing is left to copy outside @avoid.
 */
bool bcv_tm_next_copy_avoid(const struct bcv_tm_vol *v, u64 from, u64 max,
			    unsigned int avoid, struct bcv_tm_copy *c);
/**
 * bcv_tm_next_copy_range() - bcv_tm_next_copy_avoid() over a stretch
 * @v: the tables
 * @from: first track to look at
 * @until: look at the tracks before it only (clipped to the volume)
 * @max: most tracks in the run
 * @avoid: as for bcv_tm_next_copy_avoid()
 * @c: out: the run; it starts before @until and may go on past it
 *
 * The work is bounded by the stretch, @until - @from tracks, 64 at a time
 * where none can be copied (no position holds them, or none needs them):
 * the copy engine scans a bounded stretch per hold of its spinlock and
 * goes on from where it stopped (bcv_copy.c).
 *
 * Context: any; never sleeps.
 * Return: false if nothing in [@from, @until) is left to copy outside
 * @avoid.
 */
bool bcv_tm_next_copy_range(const struct bcv_tm_vol *v, u64 from, u64 until,
			    u64 max, unsigned int avoid, struct bcv_tm_copy *c);
/**
 * bcv_tm_copy_begin() - the run @c is being copied from now on
 * @v: the tables
 * @c: the run
 *
 * Context: any; lock-free.
 */
void bcv_tm_copy_begin(struct bcv_tm_vol *v, const struct bcv_tm_copy *c);
/**
 * bcv_tm_copy_done() - the copy of @c ended
 * @v: the tables
 * @c: the run
 * @ok: it reached every destination
 *
 * If @ok, tracks no host write touched since bcv_tm_copy_begin() become
 * V at c->dst; a failed copy marks nothing.
 *
 * Context: any; lock-free.
 * Return: the tracks marked V.
 */
u64 bcv_tm_copy_done(struct bcv_tm_vol *v, const struct bcv_tm_copy *c,
		     bool ok);
/**
 * bcv_tm_copy_done_to() - the copy of @c reached some destinations only
 * @v: the tables
 * @c: the run
 * @ok_dst: the destinations it reached (a subset of c->dst)
 *
 * Those become V (for tracks no host write touched), the others stay I.
 *
 * Context: any; lock-free.
 * Return: the tracks marked V.
 */
u64 bcv_tm_copy_done_to(struct bcv_tm_vol *v, const struct bcv_tm_copy *c,
			unsigned int ok_dst);
/**
 * bcv_tm_update_states() - move sessions whose copy finished
 * @std: a STD's tables
 *
 * To synchronized (MM all V) or restored (every own leg that has not
 * failed all V: other attached BCVs are brought up to date by their own
 * sessions, which go back to syncinprog), through bcv_tm_set_state().
 *
 * Context: any; a whole-table pass; caller serialises per STD.
 * Return: the PB columns whose state changed (bit s).
 */
unsigned int bcv_tm_update_states(struct bcv_tm_vol *std);

/*------------------------------------------------------------------------
 * Counts for query (whole-table passes; any context, racy reads)
 */

/**
 * bcv_tm_count_invalid() - tracks I at position @pos
 * @v: the tables
 * @pos: the position
 *
 * Context: any.
 * Return: the count (every track for an unused position).
 */
u64 bcv_tm_count_invalid(const struct bcv_tm_vol *v, int pos);
/**
 * bcv_tm_count_changed() - tracks C in PB column @col
 * @std: a STD's tables
 * @col: the column
 *
 * Context: any.
 * Return: the count.
 */
u64 bcv_tm_count_changed(const struct bcv_tm_vol *std, unsigned int col);
/**
 * bcv_tm_session_todo() - tracks a session still has to copy
 * @s: the session
 *
 * Context: any.
 * Return: MM I, or for a restore, I on a STD leg that has not failed.
 */
u64 bcv_tm_session_todo(const struct bcv_tm_sess *s);

/*------------------------------------------------------------------------
 * Persistence (bcv_meta.c): the raw tables and the loading of sessions.
 * Whole-table operations: the caller holds the volumes (see Concurrency).
 */

/**
 * bcv_tm_table() - a table's words, for saving and loading
 * @v: the tables
 * @which: 0..3 the Track ID bitmap of M1..M4, BCV_TM_PB the PB table
 * @nr: out: its length in words
 *
 * Word i holds tracks (bitmaps) or rows (PB, 4 rows a word) in the order
 * of a little-endian byte stream: saved word by word in little-endian it
 * is the on-disk table (Documentation/bcv-format.rst).
 *
 * Context: any.
 * Return: the words, or NULL (no PB table on a BCV).
 */
#define BCV_TM_PB	BCV_POSITIONS
unsigned long *bcv_tm_table(struct bcv_tm_vol *v, int which, u64 *nr);
/**
 * bcv_tm_table_longs() - bcv_tm_table()'s @nr before the tables exist
 * @tracks: the volume's tracks
 * @which: as for bcv_tm_table()
 * @is_std: a STD (only it has a PB table)
 *
 * Context: any.
 * Return: the table's length in words (0: no such table).
 */
u64 bcv_tm_table_longs(u64 tracks, int which, bool is_std);
/**
 * bcv_tm_tables_loaded() - clean what a load may have put past the end
 * @v: the tables, just filled from disk
 *
 * Clears bits past the last track and PB columns of no session, and sets
 * unused positions all I (as they read).
 *
 * Context: any; whole-table pass.
 */
void bcv_tm_tables_loaded(struct bcv_tm_vol *v);
/**
 * bcv_tm_sess_load() - recreate a session of @std from its record
 * @std: a STD's tables, sessions loaded so far
 * @s: a zeroed session
 * @id: its PB column
 * @state: its state (not BCV_NOSESSION)
 * @mm: the position it occupies while attached, else BCV_NO_POS
 *
 * The BCV is not linked yet: bcv_tm_sess_link() does that when it is
 * there; until then an attached session's position is absent (no I/O,
 * no copy; writes leave it I, which is how it catches up later).
 *
 * Context: any.
 * Return: 0, or -EINVAL for a record that contradicts the tables (a
 * column or position taken, a position that is not free, a state that
 * needs a position without one or the reverse).
 */
int bcv_tm_sess_load(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
		     unsigned int id, enum bcv_state state, int mm);
/**
 * bcv_tm_sess_protect() - a loaded session is a protected restore
 * @s: a session just loaded by bcv_tm_sess_load(), restinprog or restored
 *
 * Context: before the volume takes I/O.
 */
void bcv_tm_sess_protect(struct bcv_tm_sess *s);
/**
 * bcv_tm_sess_link() - the session's BCV is there: link its tables
 * @s: a session of a STD
 * @bcv: the BCV's tables (in no session)
 *
 * An attached session's position becomes present again (the copy engine
 * brings it up to date); the BCV's own changes while it was apart
 * (M4b I) are merged into that position as I.
 *
 * Context: any.
 * Return: 0, or -EINVAL if the geometry does not match, -EBUSY if either
 * side is linked already.
 */
int bcv_tm_sess_link(struct bcv_tm_sess *s, struct bcv_tm_vol *bcv);
/**
 * bcv_tm_let_go() - split --force or ABORT of a session whose BCV is not
 *	there (not assembled, gone for good, or running without knowing it)
 * @std: the STD's tables
 * @s: one of its sessions, not linked to a BCV
 * @abort: ABORT (else split --force)
 * @kept: ABORT of a restore: the legs that held every track when it began
 * @cmd: options (force) and where the reason of a refusal goes
 *
 * An ABORT of a restore gives the tracks not restored back to @kept, as
 * bcv_tm_abort() does (refused where that is not sure: no such leg, or a
 * host write there).  Otherwise (ABORT of syncinprog, split --force of an
 * attached session, a restore's included: the way out when its ABORT is
 * refused) every track of the session's column becomes C: what
 * the BCV holds is not known.  The position is freed.  Refused while the
 * BCV holds a track no other position holds (it would be valid nowhere:
 * bring the BCV back, or repair the STD's legs first).  When the BCV
 * comes back it links to the split session
 * (bcv_tm_fixed_follow_primary()).
 *
 * Context: see "Commands" above.
 * Return: 0 or -EBUSY (BCV_R_STATE, BCV_R_NOT_SYNCED, BCV_R_ABORT_UNSAFE,
 * BCV_R_ONLY_COPY).
 */
int bcv_tm_let_go(struct bcv_tm_vol *std, struct bcv_tm_sess *s, bool abort,
		  unsigned int kept, const struct bcv_tm_cmd *cmd);
/**
 * bcv_tm_terminate_absent() - TERMINATE a split session whose BCV is not
 *	there
 * @std: the STD's tables
 * @s: the session, split, not linked
 * @freed: out: @s, for the caller to free
 *
 * Context: see "Commands" above.
 * Return: 0 or -EBUSY (not split, or linked).
 */
int bcv_tm_terminate_absent(struct bcv_tm_vol *std, struct bcv_tm_sess *s,
			    struct bcv_tm_sess **freed);
/**
 * bcv_tm_fixed_follow_primary() - a BCV that was attached stands apart
 *	without its STD's word on what its primary took
 * @bcv: the BCV's tables
 *
 * Its primary took the STD's writes and copies while attached, its fixed
 * mirrors did not: they go I wherever the primary is V, and are copied
 * from it.  For a BCV let go while absent (bcv_tm_let_go()), one released
 * from a STD that is gone, or one whose STD's superblock said split
 * before its own did (a crash between them: more copying than needed).
 *
 * Context: any; caller holds the BCV.
 */
void bcv_tm_fixed_follow_primary(struct bcv_tm_vol *bcv);
/**
 * bcv_tm_sess_unlink() - the session's BCV goes away (stopped)
 * @s: a linked session
 *
 * Its position, if attached, becomes absent (see bcv_tm_sess_load()).
 *
 * Context: any.
 */
void bcv_tm_sess_unlink(struct bcv_tm_sess *s);
/**
 * bcv_tm_pos_absent() - is @pos an attached BCV that is not there?
 * @v: the tables
 * @pos: the position
 *
 * Context: any.
 * Return: true for an absent MM.
 */
bool bcv_tm_pos_absent(const struct bcv_tm_vol *v, int pos);
/**
 * bcv_tm_leg_stale() - own leg @pos missed changes: all I there
 * @v: the tables
 * @pos: the leg's position
 *
 * Context: any; whole-table pass.
 */
void bcv_tm_leg_stale(struct bcv_tm_vol *v, int pos);
/**
 * bcv_tm_recover() - the crash rule: make the tables whole after an
 *	unclean shutdown
 * @v: the tables as loaded (their sessions loaded, not linked)
 * @src: the own leg trusted as holding every track (in sync, not failed)
 *
 * Every allocated PB column all C; on a BCV M4b all I; every own leg but
 * @src all I; every attached position all I -- except during a restore,
 * where the STD's own legs (all of them) become I and the BCV stays the
 * source.  Over-marking costs copies, never data.
 *
 * Context: any; whole-table pass.
 */
void bcv_tm_recover(struct bcv_tm_vol *v, int src);
/**
 * bcv_tm_recover_regions() - the crash rule with an activity log
 * @v: the tables as loaded (their sessions loaded, not linked)
 * @al: bitmap of the regions that may have had writes in flight
 * @nr_regions: bits in @al
 * @shift: log2 of the tracks per region
 *
 * For every track of an active region, one data position that is V for it
 * stays the source (an own leg first, the restore's BCV if it is the only
 * one) and every other data position becomes I; on a STD every allocated
 * PB column becomes C.  Over-marking costs copies, never data.
 *
 * Context: may sleep (a resched point every 65536 tracks: it looks at
 * every track of the regions, all of a table at worst).
 * Return: the number of tracks whose marks it added.
 */
u64 bcv_tm_recover_regions(struct bcv_tm_vol *v, const unsigned long *al,
			   u64 nr_regions, unsigned int shift);
/**
 * bcv_tm_recover_sources() - give every track a valid data position
 * @v: the tables as loaded
 *
 * The tables on disk may call a track invalid everywhere (a crash in the
 * middle of a command, whose new I bits are written before its new V
 * bits).  Such a track's source is the BCV of a restore in progress, else
 * the first own leg that has not failed: where the data was when the
 * command began.
 *
 * Context: any; whole-table pass.
 * Return: the number of tracks it changed.
 */
u64 bcv_tm_recover_sources(struct bcv_tm_vol *v);
/* What assembly found, for bcv_tm_assemble(). */
struct bcv_tm_assembly {
	unsigned int stale;		/* own legs that missed changes (bit p) */
	bool clean;			/* stopped cleanly: the tables are exact */
	bool intent;			/* written with write intent */
	const unsigned long *al;	/* regions that may have had writes */
	u64 regions;			/* bits in @al */
	unsigned int al_shift;		/* log2 of the tracks per region */
};

/**
 * bcv_tm_assemble() - make the tables of a volume being assembled whole
 * @v: the tables as loaded (the union of the legs'), its sessions loaded
 *	(not linked)
 * @a: what assembly found
 *
 *  1. bcv_tm_tables_loaded();
 *  2. stale legs go I wherever a position that is there holds the track
 *     (a track only a stale leg holds stays V there: the only copy left);
 *  3. after an unclean stop: the activity log's regions (without write
 *     intent every region, and on a BCV every track written by its users:
 *     the data path marked nothing) through bcv_tm_recover_regions()'s
 *     rule, then a source for every track that has none
 *     (bcv_tm_recover_sources(), a current leg first).  The legs' I bits
 *     hold in both modes: commands and failures write theirs.
 *
 * Context: may sleep (bcv_tm_recover_regions()); whole-table pass.
 * Return: the tracks whose marks recovery added.
 */
u64 bcv_tm_assemble(struct bcv_tm_vol *v, const struct bcv_tm_assembly *a);

/* Positions that hold the volume's data: own legs and attached MMs. */
unsigned int bcv_tm_data_positions(const struct bcv_tm_vol *v);
/**
 * bcv_tm_unvouched() - tracks the tables on disk give to no position
 * @v: the tables
 * @dur: word @i of the Track ID bitmaps as they are on disk, M1..M4
 * @i: a bitmap word: tracks 64 * @i to 64 * @i + 63
 * @held: out: per position that is there, those of the tracks it holds
 *	(V in @v)
 *
 * A write that failed somewhere, or skipped a position, or a failed flush,
 * makes the positions it did not reach I on disk before the host hears of
 * it; where that leaves a track I at every data position on disk while a
 * position holds it in memory (a resyncing leg that took the write, the
 * legs during a protected restore), a crash would hand the track to a
 * position that does not hold it (bcv_tm_recover_sources()): such a
 * position's V must reach the disk, after its cache is flushed, before the
 * host hears.
 *
 * Context: any; the caller keeps @v and @dur stable for the answer to hold.
 * Return: those tracks of word @i (a bit per track).
 */
unsigned long bcv_tm_unvouched(const struct bcv_tm_vol *v,
			       const unsigned long dur[BCV_POSITIONS], u64 i,
			       unsigned long held[BCV_POSITIONS]);
/**
 * bcv_tm_pos_clean() - does position @pos hold every track?
 * @v: the tables
 * @pos: the position
 *
 * Context: any; whole-table pass.
 * Return: true if no track is I there.
 */
bool bcv_tm_pos_clean(const struct bcv_tm_vol *v, int pos);

#endif /* BCV_TRACKMAP_H */
