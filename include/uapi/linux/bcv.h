/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bcv: multi-session Business Continuance Volumes - control interface.
 *
 * All control goes through ioctls on the misc device /dev/bcvctl (mode 0600).
 * Every ioctl also requires CAP_SYS_ADMIN.
 *
 * ABI rules (in the spirit of dm-ioctl.h and iommufd.h):
 *  - Every argument struct starts with a __u32 @size that userspace sets to
 *    sizeof(struct) as it knows it; the kernel never reads or writes past
 *    it.  A @size down to that of the struct's first published version
 *    (everything before its @reserved tail in version 0.4) is an older
 *    struct: the fields it lacks read as zero.  A smaller @size is refused
 *    (EINVAL).  A @size larger than the kernel's struct is a newer one,
 *    refused (E2BIG) unless its extra tail bytes are all zero; a @size
 *    above the page size (4096 on x86) is refused (E2BIG).  Out fields are
 *    copied back up to min(@size, kernel size).
 *  - The first published sizes, accepted by every later kernel: version
 *    24, create 832, remove 40, list 24, session_cmd 80, query 56, wait
 *    80, leg_cmd 304; from version 0.5, stop 40 and assemble 832; from
 *    0.7, split_group 64.  Fields
 *    are only ever added at the end, or by taking
 *    them from @reserved, where zero keeps the old meaning.
 *  - The same holds for the entries BCV_IOC_LIST and BCV_IOC_QUERY write:
 *    @info_size from the first published size (vol_info 256, sess_info
 *    128) up to the page size, else EINVAL; each entry gets
 *    min(@info_size, kernel size) bytes and the rest of a larger one is
 *    zeroed.
 *  - Only fixed-size __u8..__u64 fields, explicit padding, user pointers as
 *    __u64.  Fields marked "in" are read, "out" are written by the kernel.
 *  - Reserved fields and padding must be zero on input (EINVAL), so that
 *    they can be given meaning later; flags bits not defined must be zero.
 *  - Commands are dispatched on the ioctl type and number only (the size
 *    encoded in the command word is ignored; unknown ones get ENOTTY); new
 *    behaviour is announced through BCV_IOC_VERSION's @features, never by
 *    version checks.
 *  - A refused command changes nothing.  A command that changes state
 *    checks that its struct is writable first (EFAULT), so that it does
 *    not fail after it did its work.
 *  - Strings are NUL-terminated within their array; a string that fills its
 *    array without a NUL is refused (ENAMETOOLONG).
 */
#ifndef _UAPI_LINUX_BCV_H
#define _UAPI_LINUX_BCV_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define BCV_CTL_NAME		"bcvctl"	/* /dev/bcvctl */
#define BCV_DISK_PREFIX		"bcv"		/* volumes are /dev/bcvN */

#define BCV_VERSION_MAJOR	0
#define BCV_VERSION_MINOR	8
#define BCV_VERSION_PATCH	0

#define BCV_NAME_LEN		32	/* volume name, including the NUL */
#define BCV_PATH_LEN		256	/* backing device path, including NUL */
#define BCV_MAX_LEGS		3	/* own legs (primary + fixed mirrors) */

#define BCV_TRACK_SIZE_DEFAULT	65536U		/* bytes */
#define BCV_TRACK_SIZE_MAX	(16U << 20)	/* bytes */
#define BCV_TRACKS_PER_CYL	15		/* tracks per cylinder */

/* Volume roles (struct bcv_create.role, struct bcv_vol_info.role). */
#define BCV_ROLE_STD		1	/* standard (production) volume */
#define BCV_ROLE_BCV		2	/* business continuance volume */

/* Feature bits reported in struct bcv_version.features. */
#define BCV_FEAT_VOLUMES	(1ULL << 0)	/* CREATE, REMOVE, LIST */
#define BCV_FEAT_SESSIONS	(1ULL << 1)	/* SESSION, QUERY, WAIT */
#define BCV_FEAT_MIRRORS	(1ULL << 2)	/* fixed mirror legs, LEG */
#define BCV_FEAT_LEG_POS	(1ULL << 3)	/* leg_flags, LEG remove by @pos */
#define BCV_FEAT_META		(1ULL << 4)	/* on-disk metadata, STOP, ASSEMBLE */
#define BCV_FEAT_INTENT		(1ULL << 5)	/* write intent: cheap crash recovery */
/* PAUSE, RESUME, ABORT, SPLIT with BCV_CMD_F_FORCE; sess_info @flags */
#define BCV_FEAT_PAUSE		(1ULL << 6)
#define BCV_FEAT_GROUP		(1ULL << 7)	/* SPLIT_GROUP; sess_info split times */
/* RESTORE with BCV_CMD_F_PROTECT, ABORT of a RESTORE; BCV_SESS_F_PROTECT */
#define BCV_FEAT_PROTECT	(1ULL << 8)
/* struct bcv_session_cmd and bcv_split_group say why (BCV_R_*) */
#define BCV_FEAT_REASONS	(1ULL << 9)
/*
 * Tables past the bcv.max_table_share module parameter are refused with
 * EFBIG (CREATE, ASSEMBLE), and ASSEMBLE says by how much (@table_mib,
 * @table_left_mib)
 */
#define BCV_FEAT_TABLE_SHARE	(1ULL << 10)
/*
 * BCV_IOC_WAIT says why a protected restore's split waits (@reason,
 * EBUSY); BCV_R_PAUSED and BCV_R_COPY_FAILING for SPLIT
 */
#define BCV_FEAT_SPLITWAIT	(1ULL << 11)

#define BCV_MAX_SESSIONS	16	/* sessions (PB columns) per STD */

/**
 * struct bcv_version - BCV_IOC_VERSION: what the loaded module speaks.
 * @size:	in: sizeof(struct bcv_version)
 * @major:	out: BCV_VERSION_MAJOR of the module
 * @minor:	out: BCV_VERSION_MINOR of the module
 * @patch:	out: BCV_VERSION_PATCH of the module
 * @features:	out: BCV_FEAT_* bits the module implements
 * @reserved:	in: must be zero
 */
struct bcv_version {
	__u32 size;
	__u32 major;
	__u32 minor;
	__u32 patch;
	__u64 features;
	__u64 reserved[4];
};

/**
 * struct bcv_create - BCV_IOC_CREATE: create a volume over backing devices.
 * @size:	in: sizeof(struct bcv_create)
 * @role:	in: BCV_ROLE_STD or BCV_ROLE_BCV
 * @flags:	in: must be zero (no flags defined yet)
 * @nr_legs:	in: number of backing devices in @legs, 1..BCV_MAX_LEGS
 *		(the first is the primary, the others fixed mirrors)
 * @track_size:	in: track size in bytes, a power of two, at least the
 *		backing device's logical block size and at most
 *		BCV_TRACK_SIZE_MAX; 0 means BCV_TRACK_SIZE_DEFAULT
 * @index:	out: N of the new /dev/bcvN
 * @sectors:	out: capacity in 512-byte sectors
 * @name:	in: volume name, 1..BCV_NAME_LEN-1 characters of
 *		[A-Za-z0-9._+-], not starting with '.' nor '-'; unique
 * @legs:	in: backing device paths; entries past @nr_legs must be zero
 * @meta_sectors: out: the most sectors a leg's metadata takes (at its
 *		end, Documentation/bcv-format.rst); @sectors is what the
 *		smallest leg leaves for data
 * @reserved:	in: must be zero
 *
 * Every leg gets a new superblock and empty tables: whatever the devices
 * held at their end is overwritten (bcvctl refuses devices that hold a
 * signature unless --force).
 * Errors besides EINVAL for bad fields: EEXIST (name in use), EBUSY (a
 * device is in use), EROFS (a device is read-only), ELOOP (a device is a
 * bcv volume or sits on one: a loop, dm or md device over a volume),
 * E2BIG (the volume's tables would be too large for its track size; see
 * Documentation/bcv.rst), ENOMEM.
 */
struct bcv_create {
	__u32 size;
	__u32 role;
	__u32 flags;
	__u32 nr_legs;
	__u32 track_size;
	__u32 index;
	__u64 sectors;
	char name[BCV_NAME_LEN];
	char legs[BCV_MAX_LEGS][BCV_PATH_LEN];
	__u64 meta_sectors;
	__u64 reserved[7];
};

/* struct bcv_remove.flags */
#define BCV_REMOVE_FORCE	(1U << 0)	/* see Documentation/bcv.rst */

/**
 * struct bcv_remove - BCV_IOC_REMOVE: remove a volume.
 * @size:	in: sizeof(struct bcv_remove)
 * @flags:	in: BCV_REMOVE_* bits
 * @name:	in: name of the volume
 * @reserved:	in: must be zero
 *
 * Refused with EBUSY while the volume is open or in a session.  The
 * metadata on every leg is erased (both superblock copies zeroed): the
 * devices no longer assemble.  BCV_IOC_STOP keeps it.
 */
struct bcv_remove {
	__u32 size;
	__u32 flags;
	char name[BCV_NAME_LEN];
	__u64 reserved[4];
};

/**
 * struct bcv_vol_info - one volume, as reported by BCV_IOC_LIST.
 * @name:	volume name
 * @role:	BCV_ROLE_*
 * @index:	N of /dev/bcvN
 * @track_size:	bytes per track
 * @nr_legs:	number of own legs (backing devices)
 * @sectors:	capacity in 512-byte sectors
 * @tracks:	number of tracks (the last one may be partial)
 * @cylinders:	number of cylinders of BCV_TRACKS_PER_CYL tracks
 * @open_count:	number of openers of /dev/bcvN
 * @leg_major:	per leg: major number of the backing device
 * @leg_minor:	per leg: minor number of the backing device
 * @leg_name:	per leg: kernel name of the backing device (e.g. "vdb")
 * @leg_pos:	per leg: its mirror position in the Track ID table, 0-based
 *		(0 is M1); leg 0 is the primary
 * @leg_invalid: per leg: tracks not yet valid on it (the copy engine's
 *		work; on a BCV's fixed mirrors after a split, on a failed leg
 *		until it works again, on a new leg until it is synced)
 * @leg_flags:	per leg: BCV_LEG_* state bits
 * @vol_flags:	BCV_VOL_F_* bits
 * @uuid:	the volume's UUID (its metadata's)
 * @events:	the generation its superblocks carry
 * @recovered_tracks: tracks the crash recovery of its assembly marked to
 *		copy (its activity log's regions; 0 after a clean stop)
 * @meta_writes: 4 KiB metadata blocks written since assembly or create
 *		(write-intent marks, checkpoints, commands), counted per leg
 */
struct bcv_vol_info {
	char name[BCV_NAME_LEN];
	__u32 role;
	__u32 index;
	__u32 track_size;
	__u32 nr_legs;
	__u64 sectors;
	__u64 tracks;
	__u64 cylinders;
	__u32 open_count;
	__u32 leg_major[BCV_MAX_LEGS];
	__u32 leg_minor[BCV_MAX_LEGS];
	__u32 __pad;
	char leg_name[BCV_MAX_LEGS][BCV_NAME_LEN];
	__u32 leg_pos[BCV_MAX_LEGS];
	__u32 __pad2;
	__u64 leg_invalid[BCV_MAX_LEGS];
	__u32 leg_flags[BCV_MAX_LEGS];
	__u32 __pad3;
	__u32 vol_flags;
	__u32 __pad4;
	__u8 uuid[16];
	__u64 events;
	__u64 recovered_tracks;
	__u64 meta_writes;
};

/*
 * struct bcv_vol_info.vol_flags: BCV_VOL_F_RECOVERED, assembled after an
 * unclean shutdown (its tables were made whole: full copies);
 * BCV_VOL_F_PEER_ABSENT, the other volume of one of its sessions is not
 * assembled.
 */
#define BCV_VOL_F_RECOVERED	(1U << 0)
#define BCV_VOL_F_PEER_ABSENT	(1U << 1)

/*
 * struct bcv_vol_info.leg_flags: BCV_LEG_STATE_FAILED, the leg's device is
 * gone or shrunk; it gets no I/O and no copies until it is removed.
 */
#define BCV_LEG_STATE_FAILED	(1U << 0)

/**
 * struct bcv_list - BCV_IOC_LIST: list the volumes, ordered by index.
 * @size:	in: sizeof(struct bcv_list)
 * @info_size:	in: sizeof(struct bcv_vol_info) as userspace knows it
 * @capacity:	in: number of entries the array at @vols can hold
 * @count:	out: number of volumes that exist; the first
 *		min(@count, @capacity) of them were written to @vols.  Retry
 *		with a bigger array when @count > @capacity.  Must be zero on
 *		input (EINVAL).
 * @vols:	in: user pointer to an array of @capacity entries of
 *		@info_size bytes; may be 0 when @capacity is 0
 * @reserved:	in: must be zero
 */
struct bcv_list {
	__u32 size;
	__u32 info_size;
	__u32 capacity;
	__u32 count;
	__u64 vols;
	__u64 reserved[4];
};

/* struct bcv_session_cmd.cmd: the commands of bcv-design.rst section 4. */
#define BCV_CMD_ESTABLISH	1
#define BCV_CMD_SPLIT		2
#define BCV_CMD_REESTABLISH	3
#define BCV_CMD_RESTORE		4
#define BCV_CMD_TERMINATE	5
#define BCV_CMD_PAUSE		6	/* stop the session's copies (keeps state) */
#define BCV_CMD_RESUME		7	/* let them go on */
#define BCV_CMD_ABORT		8	/* stop a copy in progress: split again */

/*
 * Why a command was refused: struct bcv_session_cmd.reason and struct
 * bcv_split_group.reason (BCV_FEAT_REASONS; 0 from older modules, which
 * leave the errno alone to tell).  The errno is the one in brackets.
 */
#define BCV_R_NONE		0	/* not refused, or no reason known */
#define BCV_R_NO_VOLUME		1	/* [ENOENT] no volume of that name */
#define BCV_R_NO_SESSION	2	/* [ENOENT] the pair has no session */
#define BCV_R_ROLE		3	/* [EINVAL] a BCV named as STD, or reverse */
/* [EINVAL] the BCV is smaller than the STD or has another track size */
#define BCV_R_GEOMETRY		4
/* [EBUSY] the session's state does not allow it (@state says which) */
#define BCV_R_STATE		5
#define BCV_R_STD_OPEN		6	/* [EBUSY] the STD is open: @detail users */
#define BCV_R_BCV_OPEN		7	/* [EBUSY] the BCV is open: @detail users */
#define BCV_R_OTHER_STD		8	/* [EBUSY] the BCV is in another STD's session */
#define BCV_R_NO_POSITION	9	/* [EBUSY] the STD's 4 mirror positions are used */
#define BCV_R_NO_COLUMN		10	/* [ENOSPC] the STD has 16 sessions */
#define BCV_R_RESTORE_RUNNING	11	/* [EBUSY] another restore runs on the STD */
/* [EBUSY] a leg of the BCV still lacks tracks (@detail: how many) */
#define BCV_R_BCV_STALE		12
/* [EBUSY] the BCV still lacks tracks of the STD (@detail: how many) */
#define BCV_R_NOT_SYNCED	13
/* [EBUSY] the BCV holds the only good copy of tracks of the STD */
#define BCV_R_ONLY_COPY		14
/* [EBUSY] ABORT of a restore: the STD's old data cannot be trusted */
#define BCV_R_ABORT_UNSAFE	15
/* [EBUSY] the session's other volume is not assembled */
#define BCV_R_PEER_ABSENT	16
#define BCV_R_LOOP		17	/* [ELOOP] the BCV sits on a bcv volume */
/* [EINVAL] the BCV's logical block size is larger than the STD's */
#define BCV_R_BLOCK_SIZE	18
/*
 * [EINVAL] RESTORE --protect on a STD running without write intent
 * (bcv.write_intent=0): a crash would hand every track back to the BCV
 */
#define BCV_R_NO_INTENT		19
/*
 * [EBUSY] the session is paused and a copy it needs has not run: SPLIT's
 * catch-up of tracks the BCV lacks (@detail: how many), or the STD's
 * tracks a protected restore's split waits for (BCV_IOC_WAIT); RESUME it
 */
#define BCV_R_PAUSED		20
/*
 * [EBUSY] the BCV lacks tracks of the STD (@detail: how many) that no copy
 * can bring now: copies to it, or from every leg of the STD, fail and back
 * off after errors (its disk or link is down)
 */
#define BCV_R_COPY_FAILING	21
#define BCV_R_MAX		21

/* struct bcv_session_cmd.flags */
#define BCV_CMD_F_DIFF		(1U << 0)	/* SPLIT: differential */
#define BCV_CMD_F_INCREMENTAL	(1U << 1)	/* RESTORE: incremental */
/* RESTORE: STD may be open; SPLIT (BCV_FEAT_PAUSE): not synchronized */
#define BCV_CMD_F_FORCE		(1U << 2)
/* RESTORE (BCV_FEAT_PROTECT): never write the BCV; split once restored */
#define BCV_CMD_F_PROTECT	(1U << 3)

/**
 * struct bcv_session_cmd - BCV_IOC_SESSION: run a command on a STD/BCV pair.
 * @size:	in: sizeof(struct bcv_session_cmd)
 * @cmd:	in: BCV_CMD_*
 * @flags:	in: BCV_CMD_F_* bits valid for @cmd (others must be zero)
 * @state:	out: the session's state afterwards (BCV_STATE_*), 0 after
 *		TERMINATE; when refused, the state it has (0: none); must be
 *		zero on input
 * @std:	in: name of the STD volume
 * @bcv:	in: name of the BCV volume
 * @reason:	out: BCV_R_* when refused (copied back with the error);
 *		must be zero on input (BCV_FEAT_REASONS; before, reserved)
 * @detail:	out: a number for @reason (openers, tracks), else 0; must
 *		be zero on input
 * @reserved:	in: must be zero
 *
 * Errors follow Documentation/bcv.rst: ENOENT (no such volume or session),
 * EINVAL (wrong role, BCV smaller than the STD, a BCV whose logical block
 * size is larger than the STD's), EBUSY (state, openers, no free mirror
 * position, another restore running), ENOSPC (16 sessions), ELOOP (a
 * BCV's device sits on a bcv volume).
 */
struct bcv_session_cmd {
	__u32 size;
	__u32 cmd;
	__u32 flags;
	__u32 state;
	char std[BCV_NAME_LEN];
	char bcv[BCV_NAME_LEN];
	__u32 reason;
	__u32 detail;
	__u64 reserved[3];
};

/* Session states (struct bcv_sess_info.state). */
#define BCV_STATE_SYNCINPROG	1
#define BCV_STATE_SYNCHRONIZED	2
#define BCV_STATE_SPLIT		3
#define BCV_STATE_RESTINPROG	4
#define BCV_STATE_RESTORED	5

/**
 * struct bcv_sess_info - one session, as reported by BCV_IOC_QUERY.
 * @std:		name of the STD
 * @bcv:		name of the BCV
 * @id:			PB column, 0..15
 * @state:		BCV_STATE_*
 * @mm:			STD mirror position (0..3) while attached, else -1
 * @track_size:		bytes per track (the STD's)
 * @tracks:		tracks of the STD
 * @invalid_tracks:	tracks the session's copy still has to do
 * @std_changed_tracks:	tracks whose PB bit in this column is C
 * @bcv_changed_tracks:	tracks with M4b = I on the BCV
 * @copied_tracks:	tracks copied since the last ESTABLISH, REESTABLISH or
 *			RESTORE of this session
 * @errors:		copy I/O errors since that command
 * @flags:		BCV_SESS_F_* (BCV_FEAT_PAUSE; zero from older modules)
 * @split_time:		the last SPLIT, seconds since the epoch; 0 if none
 *			since the STD was created or assembled (BCV_FEAT_GROUP)
 * @split_hold_ns:	how long that SPLIT held the STD's writes, in ns
 * @reserved:		zero
 */
struct bcv_sess_info {
	char std[BCV_NAME_LEN];
	char bcv[BCV_NAME_LEN];
	__u32 id;
	__u32 state;
	__s32 mm;
	__u32 track_size;
	__u64 tracks;
	__u64 invalid_tracks;
	__u64 std_changed_tracks;
	__u64 bcv_changed_tracks;
	__u64 copied_tracks;
	__u64 errors;
	__u64 flags;
	__s64 split_time;
	__u64 split_hold_ns;
	__u64 reserved[3];
};

/* struct bcv_sess_info.flags */
#define BCV_SESS_F_PAUSED	(1ULL << 0)	/* BCV_CMD_PAUSE: copies stopped */
#define BCV_SESS_F_PROTECT	(1ULL << 1)	/* a protected restore runs */

/**
 * struct bcv_query - BCV_IOC_QUERY: report sessions.
 * @size:	in: sizeof(struct bcv_query)
 * @info_size:	in: sizeof(struct bcv_sess_info) as userspace knows it
 * @capacity:	in: number of entries the array at @sessions can hold
 * @count:	out: number of matching sessions (as BCV_IOC_LIST's @count);
 *		must be zero on input
 * @name:	in: only sessions of this volume (STD or BCV); empty for all
 * @sessions:	in: user pointer to @capacity entries of @info_size bytes
 * @reserved:	in: must be zero
 *
 * Sessions are ordered by STD index, then by id.  ENOENT if @name names no
 * volume.
 */
struct bcv_query {
	__u32 size;
	__u32 info_size;
	__u32 capacity;
	__u32 count;
	char name[BCV_NAME_LEN];
	__u64 sessions;
	__u64 reserved[4];
};

#define BCV_GROUP_MAX		64	/* pairs in one BCV_IOC_SPLIT_GROUP */

/* One STD/BCV pair of BCV_IOC_SPLIT_GROUP. */
struct bcv_pair {
	char std[BCV_NAME_LEN];
	char bcv[BCV_NAME_LEN];
};

/**
 * struct bcv_split_group - BCV_IOC_SPLIT_GROUP: split several pairs at one
 *	instant (a consistent split).
 * @size:	in: sizeof(struct bcv_split_group)
 * @flags:	in: BCV_CMD_F_DIFF or 0, for every pair
 * @nr_pairs:	in: 1..BCV_GROUP_MAX
 * @failed:	out: the index of the pair that was refused, or 0xffffffff
 *		(copied back on errors too); must be zero on input
 * @pairs:	in: user pointer to @nr_pairs struct bcv_pair
 * @hold_ns:	out: how long the STDs' writes were held; zero on input
 * @reason:	out: BCV_R_* for the pair @failed (BCV_FEAT_REASONS); must
 *		be zero on input
 * @detail:	out: a number for @reason, as for BCV_IOC_SESSION, and for
 *		BCV_R_STATE the pair's state; zero on input
 * @reserved:	in: must be zero
 *
 * Writes to every STD named are drained and held, every pair is checked
 * as SPLIT checks it, every BCV is detached, then all are released: a
 * write acknowledged on any STD before the command started is on its BCV,
 * none issued after it returned is.  All or nothing: if any pair cannot
 * split, none is, and @failed names it.  Errors as BCV_IOC_SESSION's
 * SPLIT, and EINVAL for a BCV or a pair named twice.
 */
struct bcv_split_group {
	__u32 size;
	__u32 flags;
	__u32 nr_pairs;
	__u32 failed;
	__u64 pairs;
	__u64 hold_ns;
	__u32 reason;
	__u32 detail;
	__u64 reserved[3];
};

/**
 * struct bcv_wait - BCV_IOC_WAIT: sleep until a session's copy is done.
 * @size:	in: sizeof(struct bcv_wait)
 * @flags:	in: must be zero
 * @timeout_ms:	in: give up after this many milliseconds (ETIMEDOUT);
 *		0 waits without limit
 * @state:	out: the session's state when the call returned; must be
 *		zero on input
 * @std:	in: name of the STD
 * @bcv:	in: name of the BCV
 * @reason:	out: with EBUSY, why the split that ends a protected restore
 *		cannot happen now (BCV_R_*; BCV_FEAT_SPLITWAIT); must be zero
 *		on input
 * @detail:	out: a number for @reason (tracks), else 0; zero on input
 * @reserved:	in: must be zero
 *
 * Returns 0 once the session is not syncinprog nor restinprog (a protected
 * restore: once it is split again), ENOENT if there is no such session (or
 * it ends while waiting), ETIMEDOUT, EINTR on a signal, or EBUSY (@state,
 * @reason and @detail copied back) when a protected restore is done but
 * the split that ends it was refused with the copy engine idle, so that
 * nothing changes until its cause is taken away (bcv tries again then).
 */
struct bcv_wait {
	__u32 size;
	__u32 flags;
	__u32 timeout_ms;
	__u32 state;
	char std[BCV_NAME_LEN];
	char bcv[BCV_NAME_LEN];
	__u32 reason;
	__u32 detail;
	__u64 reserved[3];
};

/* struct bcv_leg_cmd.op */
#define BCV_LEG_ADD		1	/* add a fixed mirror leg */
#define BCV_LEG_REMOVE		2	/* remove a leg */

/* struct bcv_leg_cmd.flags */
#define BCV_LEG_F_POS		(1U << 0)	/* REMOVE: the leg at @pos */

/**
 * struct bcv_leg_cmd - BCV_IOC_LEG: add or remove a leg of a volume.
 * @size:	in: sizeof(struct bcv_leg_cmd)
 * @op:		in: BCV_LEG_ADD or BCV_LEG_REMOVE
 * @flags:	in: BCV_LEG_F_* bits; BCV_LEG_F_POS only with BCV_LEG_REMOVE
 * @pos:	in: with BCV_LEG_F_POS, the position (0-based) of the leg to
 *		remove, else must be zero; out: the leg's mirror position
 *		(0-based) it took or left
 * @name:	in: name of the volume
 * @path:	in: the leg's backing device; must be empty with
 *		BCV_LEG_F_POS (the device node may be gone)
 * @reserved:	in: must be zero
 *
 * Refused with EBUSY while the volume is attached (a BCV in a session
 * that is not split, a STD with a BCV attached), EBUSY to remove the only
 * leg or a leg that alone holds some track, ENOSPC to add a leg to a
 * volume with BCV_MAX_LEGS legs, EINVAL for a leg smaller than the volume
 * or with a larger logical block size, and the errors of BCV_IOC_CREATE
 * for the device itself.  A new leg is invalid everywhere and synced by
 * the copy engine while the volume stays in use.
 */
struct bcv_leg_cmd {
	__u32 size;
	__u32 op;
	__u32 flags;
	__s32 pos;
	char name[BCV_NAME_LEN];
	char path[BCV_PATH_LEN];
	__u64 reserved[4];
};

/**
 * struct bcv_stop - BCV_IOC_STOP: stop a volume, keeping its metadata.
 * @size:	in: sizeof(struct bcv_stop)
 * @flags:	in: must be zero
 * @name:	in: name of the volume
 * @reserved:	in: must be zero
 *
 * Writes the tables and a clean superblock to every leg and removes the
 * volume from the kernel; BCV_IOC_ASSEMBLE brings it back.  Refused with
 * EBUSY while the volume is open or a restore reads from it (a BCV in
 * restinprog).  A STD's attached BCVs stay assembled and wait for it; a
 * stopped BCV's STD goes on and tracks what the BCV misses.
 */
struct bcv_stop {
	__u32 size;
	__u32 flags;
	char name[BCV_NAME_LEN];
	__u64 reserved[4];
};

/* struct bcv_assemble.flags */
#define BCV_ASSEMBLE_F_NAME	(1U << 0)	/* use @name, not the stored one */

/**
 * struct bcv_assemble - BCV_IOC_ASSEMBLE: bring a volume back from its legs.
 * @size:	in: sizeof(struct bcv_assemble)
 * @flags:	in: BCV_ASSEMBLE_F_* bits
 * @nr_legs:	in: number of paths in @legs: every leg of the volume, in any
 *		order (the superblocks give positions)
 * @index:	out: N of the new /dev/bcvN
 * @sectors:	out: capacity in 512-byte sectors
 * @name:	in: with BCV_ASSEMBLE_F_NAME the name to use (stored in the
 *		metadata from then on), else must be empty; out: the name
 * @legs:	in: backing device paths; entries past @nr_legs must be zero
 * @vol_flags:	out: BCV_VOL_F_* (BCV_VOL_F_RECOVERED after an unclean
 *		shutdown)
 * @stale_legs:	out: bit p: the leg at position p had an older generation
 *		(or was failed) and is resynced
 * @table_mib:	out, refused with EFBIG (BCV_FEAT_TABLE_SHARE): the MiB of
 *		kernel memory the volume's tables would take; must be zero
 *		on input
 * @table_left_mib: out, with EFBIG: the MiB the bcv.max_table_share
 *		module parameter leaves for them (its share of RAM less the
 *		tables of the volumes there are); must be zero on input
 * @reserved:	in: must be zero
 *
 * Errors: ENODATA (a device has no valid superblock, or one written for
 * another size of the device: it was resized), EINVAL (devices of
 * different volumes, a position twice, a leg missing, a superblock that
 * does not fit the device), EEXIST (the volume, or another one with its
 * name, is assembled or being assembled), EFBIG (its tables would take
 * more memory than bcv.max_table_share leaves: the struct is copied back
 * with the sizes), E2BIG (more than 2^29 tracks), and those of
 * BCV_IOC_CREATE.
 */
struct bcv_assemble {
	__u32 size;
	__u32 flags;
	__u32 nr_legs;
	__u32 index;
	__u64 sectors;
	char name[BCV_NAME_LEN];
	char legs[BCV_MAX_LEGS][BCV_PATH_LEN];
	__u32 vol_flags;
	__u32 stale_legs;
	__u32 table_mib;
	__u32 table_left_mib;
	__u64 reserved[5];
};

#define BCV_IOCTL_TYPE		0xBC

#define BCV_IOC_VERSION		_IOWR(BCV_IOCTL_TYPE, 0x00, struct bcv_version)
#define BCV_IOC_CREATE		_IOWR(BCV_IOCTL_TYPE, 0x01, struct bcv_create)
#define BCV_IOC_REMOVE		_IOWR(BCV_IOCTL_TYPE, 0x02, struct bcv_remove)
#define BCV_IOC_LIST		_IOWR(BCV_IOCTL_TYPE, 0x03, struct bcv_list)
#define BCV_IOC_SESSION		_IOWR(BCV_IOCTL_TYPE, 0x04, struct bcv_session_cmd)
#define BCV_IOC_QUERY		_IOWR(BCV_IOCTL_TYPE, 0x05, struct bcv_query)
#define BCV_IOC_WAIT		_IOWR(BCV_IOCTL_TYPE, 0x06, struct bcv_wait)
#define BCV_IOC_LEG		_IOWR(BCV_IOCTL_TYPE, 0x07, struct bcv_leg_cmd)
#define BCV_IOC_STOP		_IOWR(BCV_IOCTL_TYPE, 0x08, struct bcv_stop)
#define BCV_IOC_ASSEMBLE	_IOWR(BCV_IOCTL_TYPE, 0x09, struct bcv_assemble)
#define BCV_IOC_SPLIT_GROUP	_IOWR(BCV_IOCTL_TYPE, 0x0a, struct bcv_split_group)

#endif /* _UAPI_LINUX_BCV_H */
