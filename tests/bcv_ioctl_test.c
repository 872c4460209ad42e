// SPDX-License-Identifier: GPL-2.0
/*
 * bcv_ioctl_test - the /dev/bcvctl ioctl contract, case by case.
 *
 *   bcv_ioctl_test [HARNESS OPTIONS] DEV1 DEV2 DEV3
 *   BCV_TEST_DEVS="DEV1 DEV2 DEV3" bcv_ioctl_test [HARNESS OPTIONS]
 *
 * Runs as root, with bcv.ko loaded, on three unused scratch block devices
 * (DEV3 gets an ext4 file system, then serves as a BCV; it must be at least
 * as large as DEV1): inside a throw-away test guest, where
 * tests/vm-tests/test_errors_03.sh runs it, or as a kselftest program
 * (tests/kselftest/), which names the devices in BCV_TEST_DEVS; without
 * devices it skips (exit 4).  The harness options are kselftest_harness.h's:
 * -l lists the cases, -t NAME runs one (but most cases need those before
 * them), -h tells the rest.
 *
 * The harness is the kernel's (tools/testing/selftests/kselftest_harness.h,
 * taken at build time from linux-source-6.12): each case is a TEST_F() of
 * the fixture "bcv", run in a child process of its own, and prints
 * kselftest TAP; the exit status is 0 iff every case passed (or was
 * skipped).  EXPECT_*() records a failure and goes on, ASSERT_*() records it
 * and ends the case.  The fixture checks, around every case that is not
 * declared MUTATES, that nothing changed: the names listed by BCV_IOC_LIST,
 * the /sys/block/bcv* entries and the sessions reported by BCV_IOC_QUERY
 * (all but the fields a running copy moves; a copy that finishes is no
 * change) are the same before and after.  A volume or a session that a
 * failed case created by mistake is removed again, so that one kernel bug
 * does not cascade into the following cases.
 *
 * Cases run in the order of the list at the bottom: first with no volume
 * (but for a while with "bcvt_new" stopped on DEV2: its metadata there,
 * for the assembly cases, until it is removed, which erases it), then with
 * "bcvt_std" on DEV1, then also with "bcvt_bcv" on DEV2, then also with
 * "bcvt_bcv2" on DEV3, which goes through a session with "bcvt_std" and is
 * removed again; the last cases remove the first two and check that the
 * guest is as clean as it was.  What a case leaves behind is kernel state:
 * the fixture's setup finds those volumes again by name.  Every volume is
 * created with its metadata at the end of its legs: its capacity is what
 * that leaves (bcv_fmt_layout() of uapi/linux/bcv_format.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>
#include <uapi/linux/bcv_format.h>

#include "kselftest_harness.h"

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

#define CAP_SYS_ADMIN_BIT	21
#define ABI_SIZE_MAX	4096	/* the kernel refuses a larger @size */

/*
 * The first published size of each struct (uapi 0.4: everything before its
 * @reserved tail): the smallest @size, and @info_size, the kernel takes.
 * These never change; fields taken from @reserved later lie past them.
 */
#define VERSION_SIZE_VER0	24
#define CREATE_SIZE_VER0	832
#define REMOVE_SIZE_VER0	40
#define LIST_SIZE_VER0		24
#define SESSION_SIZE_VER0	80
#define QUERY_SIZE_VER0		56
#define WAIT_SIZE_VER0		80
#define LEG_SIZE_VER0		304
#define STOP_SIZE_VER0		40	/* version 0.5 */
#define ASSEMBLE_SIZE_VER0	832	/* version 0.5 */
#define VOL_INFO_SIZE_VER0	256
#define SESS_INFO_SIZE_VER0	128

#define VER0_FITS(type, ver0) \
	_Static_assert((ver0) <= offsetof(type, reserved), #ver0)
VER0_FITS(struct bcv_version, VERSION_SIZE_VER0);
VER0_FITS(struct bcv_create, CREATE_SIZE_VER0);
VER0_FITS(struct bcv_remove, REMOVE_SIZE_VER0);
VER0_FITS(struct bcv_list, LIST_SIZE_VER0);
VER0_FITS(struct bcv_session_cmd, SESSION_SIZE_VER0);
VER0_FITS(struct bcv_query, QUERY_SIZE_VER0);
VER0_FITS(struct bcv_wait, WAIT_SIZE_VER0);
VER0_FITS(struct bcv_leg_cmd, LEG_SIZE_VER0);
VER0_FITS(struct bcv_stop, STOP_SIZE_VER0);
VER0_FITS(struct bcv_assemble, ASSEMBLE_SIZE_VER0);
/* vol_info's @reserved became vol_flags, uuid and events in 0.5. */
_Static_assert(VOL_INFO_SIZE_VER0 <= offsetof(struct bcv_vol_info, vol_flags),
	       "VOL_INFO_SIZE_VER0");
VER0_FITS(struct bcv_sess_info, SESS_INFO_SIZE_VER0);

/* The command word an older or newer userspace sends: its own struct size. */
#define SIZED_REQ(nr, size) \
	_IOC(_IOC_READ | _IOC_WRITE, BCV_IOCTL_TYPE, (nr), (size))

#define STD_NAME	"bcvt_std"
#define BCV_NAME	"bcvt_bcv"
#define NEW_NAME	"bcvt_new"
#define BCV2_NAME	"bcvt_bcv2"	/* on DEV3, the STD's track size */
#define BCV_TRACK	131072U	/* track size of BCV_NAME */

/*------------------------------------------------------------------------*/
/* On top of the harness                                                  */
/*------------------------------------------------------------------------*/

/* A case's body; the list at the bottom makes it a TEST_F(), in order. */
#define CASE(name) \
	static void case_##name(struct __test_metadata *const _metadata)

/* A line of its own in the TAP output, as a "# " diagnostic. */
#define diag(fmt, ...)	ksft_print_msg(fmt "\n", ##__VA_ARGS__)

/*
 * A failure TH_LOG() explains; the case goes on, as after EXPECT_*().
 * (The harness's EXPECT_*() and ASSERT_*() are two statements, the second
 * one for an optional handler: braces around them before an else.)
 */
#define FAIL_LOG(fmt, ...) do {						\
	TH_LOG(fmt, ##__VA_ARGS__);					\
	_metadata->exit_code = KSFT_FAIL;				\
} while (0)

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0:		return "0 (success)";
	case EPERM:	return "EPERM";
	case ENOENT:	return "ENOENT";
	case EIO:	return "EIO";
	case ENXIO:	return "ENXIO";
	case E2BIG:	return "E2BIG";
	case EBADF:	return "EBADF";
	case ENOMEM:	return "ENOMEM";
	case EACCES:	return "EACCES";
	case EFAULT:	return "EFAULT";
	case ENOTBLK:	return "ENOTBLK";
	case EBUSY:	return "EBUSY";
	case EEXIST:	return "EEXIST";
	case ENODEV:	return "ENODEV";
	case ENOTDIR:	return "ENOTDIR";
	case EINVAL:	return "EINVAL";
	case ENOTTY:	return "ENOTTY";
	case ENOSPC:	return "ENOSPC";
	case ERANGE:	return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS:	return "ENOSYS";
	case EOVERFLOW:	return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EMSGSIZE:	return "EMSGSIZE";
	case EINTR:	return "EINTR";
	case ETIMEDOUT:	return "ETIMEDOUT";
	case ELOOP:	return "ELOOP";
	case EROFS:	return "EROFS";
	case ENODATA:	return "ENODATA";
	}
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

/* The errno of a call that returned @ret: 0 if it did not fail. */
static int errno_of(long ret)
{
	return ret < 0 ? errno : 0;
}

/* @expr's errno, 0 if it succeeded (errno cleared first). */
#define ERRNO_OF(expr)	(errno = 0, errno_of((long)(expr)))

/*
 * want == 0: the call must succeed; else it must fail with errno @want.
 * For helpers that check a call on behalf of a case: @line is the case's.
 */
static bool check_errno(struct __test_metadata *const _metadata, int line,
			const char *what, int want, long ret, int err)
{
	int got = ret < 0 ? err : 0;

	EXPECT_EQ(want, got)
		TH_LOG("line %d: got errno %s, want %s: %s", line,
		       errname(got), want ? errname(want) : "success", what);
	return got == want;
}

#define EXPECT_ERRNO(want, expr) do {					\
	int got_ = ERRNO_OF(expr);					\
									\
	EXPECT_EQ(want, got_)						\
		TH_LOG("got errno %s, want %s: %s", errname(got_),	\
		       (want) ? errname(want) : "success", #expr);	\
} while (0)

#define ASSERT_ERRNO(want, expr) do {					\
	int got_ = ERRNO_OF(expr);					\
									\
	ASSERT_EQ(want, got_)						\
		TH_LOG("got errno %s, want %s: %s", errname(got_),	\
		       (want) ? errname(want) : "success", #expr);	\
} while (0)

#define EXPECT_OK(expr)	EXPECT_ERRNO(0, expr)
#define ASSERT_OK(expr)	ASSERT_ERRNO(0, expr)

/*------------------------------------------------------------------------*/
/* State                                                                  */
/*------------------------------------------------------------------------*/

/* Set by main() before the first case; every case's process inherits it. */
static const char *dev[3];	/* the scratch devices */
static int ctl = -1;		/* /dev/bcvctl */
static unsigned int count0;	/* volumes that existed before we started */
static unsigned int sess0;	/* sessions that existed before we started */

/* Set by the fixture's setup, from what the cases before made. */
static int std_index = -1;	/* N of /dev/bcvN of STD_NAME */
static int bcv_index = -1;	/* N of /dev/bcvN of BCV_NAME */
static int bcv2_index = -1;	/* N of /dev/bcvN of BCV2_NAME */

/* A case's own, undone by the fixture's teardown if the case did not. */
static char mnt_dir[64];	/* where DEV3 is mounted, if it is */
static char reg_file[64];	/* a regular file, for ENOTBLK */

static bool all_bytes(const void *p, int c, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

#define CANARY		0xa5
#define CANARY_LEN	64

/*
 * In @buf: the first @usize bytes of the argument struct @full, with @size
 * set to @usize, then CANARY_LEN canary bytes, which the kernel must
 * neither read as a (non-zero) tail nor overwrite.  Returns @buf.
 */
static void *sized_struct(void *buf, const void *full, uint32_t usize)
{
	memset(buf, CANARY, usize + CANARY_LEN);
	memcpy(buf, full, usize);
	memcpy(buf, &usize, sizeof(usize));
	return buf;
}

static bool canary_intact(const void *buf, size_t usize)
{
	return all_bytes((const unsigned char *)buf + usize, CANARY,
			 CANARY_LEN);
}

static int sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return nanosleep(&ts, NULL);
}

/*
 * ioctl @req on sized_struct(@buf, @full, @usize), retried for 5 s while it
 * fails with EBUSY (udev probing a new or split volume).
 */
static int sized_ioctl_retry_busy(unsigned long req, void *buf,
				  const void *full, uint32_t usize)
{
	int i, ret = -1;

	for (i = 0; i < 250; i++) {
		ret = ioctl(ctl, req, sized_struct(buf, full, usize));
		if (ret == 0 || errno != EBUSY)
			break;
		sleep_ms(20);
	}
	return ret;
}

static void create_init(struct bcv_create *c, unsigned int role,
			const char *name, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->role = role;
	c->nr_legs = 1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->legs[0], sizeof(c->legs[0]), "%s", path);
}

static void remove_init(struct bcv_remove *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	snprintf(r->name, sizeof(r->name), "%s", name);
}

static void stop_init(struct bcv_stop *st, const char *name)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	snprintf(st->name, sizeof(st->name), "%s", name);
}

/* An ASSEMBLE of the @nr legs @leg0 and @leg1 (which may be NULL). */
static void assemble_init(struct bcv_assemble *a, unsigned int nr,
			  const char *leg0, const char *leg1)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->nr_legs = nr;
	if (leg0)
		snprintf(a->legs[0], sizeof(a->legs[0]), "%s", leg0);
	if (leg1)
		snprintf(a->legs[1], sizeof(a->legs[1]), "%s", leg1);
}

static void list_init(struct bcv_list *l, void *vols, unsigned int cap)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->info_size = sizeof(struct bcv_vol_info);
	l->capacity = cap;
	l->vols = (uintptr_t)vols;
}

static void leg_init(struct bcv_leg_cmd *l, uint32_t op, const char *name,
		     const char *path);
static void sess_init(struct bcv_session_cmd *c, uint32_t cmd,
		      const char *std, const char *bcv);
static void wait_init(struct bcv_wait *w, const char *std, const char *bcv,
		      uint32_t timeout_ms);
static void remove_and_check_gone(struct __test_metadata *const _metadata,
				  const char *name, int index);

/* Remove a volume, retrying for 2 s while udev may hold it open. */
static int remove_volume(const char *name)
{
	struct bcv_remove r;
	int i, ret = -1;

	for (i = 0; i < 100; i++) {
		remove_init(&r, name);
		ret = ioctl(ctl, BCV_IOC_REMOVE, &r);
		if (ret == 0 || errno != EBUSY)
			break;
		sleep_ms(20);
	}
	return ret;
}

#define MAX_VOLS 64

/* All volumes into @v (MAX_VOLS entries); returns the count or -1. */
static int list_volumes(struct bcv_vol_info *v)
{
	struct bcv_list l;

	list_init(&l, v, MAX_VOLS);
	if (ioctl(ctl, BCV_IOC_LIST, &l))
		return -1;
	return l.count < MAX_VOLS ? (int)l.count : MAX_VOLS;
}

static bool find_volume(const char *name, struct bcv_vol_info *out)
{
	struct bcv_vol_info v[MAX_VOLS];
	int i, n = list_volumes(v);

	for (i = 0; i < n; i++) {
		if (!strncmp(v[i].name, name, sizeof(v[i].name))) {
			if (out)
				*out = v[i];
			return true;
		}
	}
	return false;
}

#define MAX_SESS 64

static void query_init(struct bcv_query *q, const char *name, void *sessions,
		       unsigned int cap)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->info_size = sizeof(struct bcv_sess_info);
	q->capacity = cap;
	q->sessions = (uintptr_t)sessions;
	if (name)
		snprintf(q->name, sizeof(q->name), "%s", name);
}

/* All sessions into @si (MAX_SESS entries); returns the count or -1. */
static int query_sessions(struct bcv_sess_info *si)
{
	struct bcv_query q;

	query_init(&q, NULL, si, MAX_SESS);
	if (ioctl(ctl, BCV_IOC_QUERY, &q))
		return -1;
	return q.count < MAX_SESS ? (int)q.count : MAX_SESS;
}

/* A session as far as it must not change across a refused command. */
struct sess_snap {
	char std[BCV_NAME_LEN];
	char bcv[BCV_NAME_LEN];
	uint32_t id;
	uint32_t state;
	int32_t mm;
	uint32_t track_size;
	uint64_t tracks;
	uint64_t std_changed;
	uint64_t bcv_changed;
};

/* What must not change across a refused command. */
struct snapshot {
	int count;				/* BCV_IOC_LIST count */
	char names[MAX_VOLS][BCV_NAME_LEN];	/* ... and names */
	int nsys;
	char sys[MAX_VOLS][64];			/* /sys/block/bcv* */
	int nsess;				/* BCV_IOC_QUERY count */
	struct sess_snap sess[MAX_SESS];	/* ... and sessions */
};

static int cmpstr(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void take_snapshot(struct snapshot *s)
{
	struct bcv_vol_info v[MAX_VOLS];
	struct dirent *de;
	DIR *d;
	int i;

	memset(s, 0, sizeof(*s));
	s->count = list_volumes(v);
	for (i = 0; i < s->count; i++)
		snprintf(s->names[i], BCV_NAME_LEN, "%.*s",
			 BCV_NAME_LEN - 1, v[i].name);
	qsort(s->names, s->count > 0 ? s->count : 0, BCV_NAME_LEN, cmpstr);
	d = opendir("/sys/block");
	while (d && (de = readdir(d)) && s->nsys < MAX_VOLS)
		if (!strncmp(de->d_name, BCV_DISK_PREFIX, 3))
			snprintf(s->sys[s->nsys++], 64, "%.63s", de->d_name);
	if (d)
		closedir(d);
	qsort(s->sys, s->nsys, 64, cmpstr);

	{
		static struct bcv_sess_info si[MAX_SESS];

		s->nsess = query_sessions(si);
		for (i = 0; i < s->nsess; i++) {
			struct sess_snap *ss = &s->sess[i];

			snprintf(ss->std, BCV_NAME_LEN, "%.*s",
				 BCV_NAME_LEN - 1, si[i].std);
			snprintf(ss->bcv, BCV_NAME_LEN, "%.*s",
				 BCV_NAME_LEN - 1, si[i].bcv);
			ss->id = si[i].id;
			ss->state = si[i].state;
			ss->mm = si[i].mm;
			ss->track_size = si[i].track_size;
			ss->tracks = si[i].tracks;
			ss->std_changed = si[i].std_changed_tracks;
			ss->bcv_changed = si[i].bcv_changed_tracks;
		}
	}
}

static const struct sess_snap *find_sess(const struct snapshot *s,
					 const char *std, const char *bcv)
{
	int i;

	for (i = 0; i < s->nsess; i++)
		if (!strcmp(s->sess[i].std, std) &&
		    !strcmp(s->sess[i].bcv, bcv))
			return &s->sess[i];
	return NULL;
}

/* A copy that finishes by itself is not a change. */
static bool state_moved_on(uint32_t before, uint32_t after)
{
	return before == after ||
	       (before == BCV_STATE_SYNCINPROG &&
		after == BCV_STATE_SYNCHRONIZED) ||
	       (before == BCV_STATE_RESTINPROG && after == BCV_STATE_RESTORED);
}

static void end_session(const char *std, const char *bcv);

static bool has_name(const struct snapshot *s, const char *name)
{
	int i;

	for (i = 0; i < s->count; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

/* Compare, report, and undo volumes that appeared by mistake. */
static void check_unchanged(struct __test_metadata *const _metadata,
			    const struct snapshot *a, const struct snapshot *b)
{
	int i;

	if (a->count != b->count)
		FAIL_LOG("BCV_IOC_LIST count changed from %d to %d",
			 a->count, b->count);
	for (i = 0; i < a->count; i++)
		if (!has_name(b, a->names[i]))
			FAIL_LOG("volume %s disappeared", a->names[i]);
	for (i = 0; i < b->count; i++) {
		if (has_name(a, b->names[i]))
			continue;
		FAIL_LOG("volume %s appeared", b->names[i]);
		if (remove_volume(b->names[i]))
			diag("cannot remove %s again: %s", b->names[i],
			     strerror(errno));
	}
	if (a->nsys != b->nsys ||
	    memcmp(a->sys, b->sys, sizeof(a->sys[0]) * a->nsys))
		FAIL_LOG("/sys/block/bcv* changed (%d entries before, %d after)",
			 a->nsys, b->nsys);

	if (a->nsess != b->nsess)
		FAIL_LOG("BCV_IOC_QUERY count changed from %d to %d",
			 a->nsess, b->nsess);
	for (i = 0; i < a->nsess; i++) {
		const struct sess_snap *x = &a->sess[i];
		const struct sess_snap *y = find_sess(b, x->std, x->bcv);

		if (!y) {
			FAIL_LOG("session %s/%s disappeared", x->std, x->bcv);
			continue;
		}
		if (x->id != y->id || x->mm != y->mm ||
		    x->track_size != y->track_size || x->tracks != y->tracks ||
		    x->std_changed != y->std_changed ||
		    x->bcv_changed != y->bcv_changed ||
		    !state_moved_on(x->state, y->state))
			FAIL_LOG("session %s/%s changed: id %u->%u state %u->%u "
				 "mm %d->%d std_changed %llu->%llu "
				 "bcv_changed %llu->%llu", x->std, x->bcv,
				 x->id, y->id, x->state, y->state, x->mm, y->mm,
				 (unsigned long long)x->std_changed,
				 (unsigned long long)y->std_changed,
				 (unsigned long long)x->bcv_changed,
				 (unsigned long long)y->bcv_changed);
	}
	for (i = 0; i < b->nsess; i++) {
		if (find_sess(a, b->sess[i].std, b->sess[i].bcv))
			continue;
		FAIL_LOG("session %s/%s appeared", b->sess[i].std,
			 b->sess[i].bcv);
		end_session(b->sess[i].std, b->sess[i].bcv);
	}
}

static uint64_t dev_bytes(const char *path)
{
	uint64_t bytes = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (ioctl(fd, BLKGETSIZE64, &bytes))
		bytes = 0;
	close(fd);
	return bytes;
}

/*
 * What create and assembly make of the device at @path as a leg with tracks
 * of @track_size bytes (0: the default): the metadata takes the end of it
 * (Documentation/bcv-format.rst), the data area is the rest.
 */
static bool leg_layout(const char *path, uint32_t track_size,
		       struct bcv_fmt_layout *l)
{
	uint64_t bytes = dev_bytes(path);
	unsigned int shift = 9;

	if (!track_size)
		track_size = BCV_TRACK_SIZE_DEFAULT;
	while ((1U << shift) < track_size)
		shift++;
	return bytes && !bcv_fmt_layout(bytes / 512, shift, l);
}

/* The capacity of a one-leg volume on @path: its data area. */
static uint64_t data_sectors(const char *path, uint32_t track_size)
{
	struct bcv_fmt_layout l;

	return leg_layout(path, track_size, &l) ? l.data_sectors : 0;
}

/* The sectors the metadata takes on @path: the rest of the device. */
static uint64_t meta_sectors(const char *path, uint32_t track_size)
{
	struct bcv_fmt_layout l;

	return leg_layout(path, track_size, &l) ?
	       dev_bytes(path) / 512 - l.data_sectors : 0;
}

/* Wait up to 5 s for a device node. */
static bool wait_path(const char *path)
{
	int i;

	for (i = 0; i < 250; i++) {
		if (access(path, F_OK) == 0)
			return true;
		sleep_ms(20);
	}
	return false;
}

static int do_create(struct bcv_create *c)
{
	return ioctl(ctl, BCV_IOC_CREATE, c);
}

/* Create and return 0 or the errno, with a standard, otherwise valid input. */
#define CREATE_EXPECT(want, c) EXPECT_ERRNO(want, do_create(c))

/*------------------------------------------------------------------------*/
/* BCV_IOC_VERSION                                                        */
/*------------------------------------------------------------------------*/

CASE(version)
{
	struct bcv_version v = { .size = sizeof(v) };

	ASSERT_OK(ioctl(ctl, BCV_IOC_VERSION, &v));
	EXPECT_EQ(sizeof(v), v.size);
	EXPECT_EQ(BCV_VERSION_MAJOR, v.major);
	EXPECT_EQ(BCV_VERSION_MINOR, v.minor);
	EXPECT_EQ(BCV_VERSION_PATCH, v.patch);
	EXPECT_TRUE(v.features & BCV_FEAT_VOLUMES);
	EXPECT_TRUE(v.features & BCV_FEAT_SESSIONS);
	EXPECT_TRUE(v.features & BCV_FEAT_MIRRORS);
	EXPECT_TRUE(v.features & BCV_FEAT_LEG_POS);
	EXPECT_TRUE(v.features & BCV_FEAT_META);
	diag("module speaks %u.%u.%u, features 0x%llx", v.major, v.minor,
	     v.patch, (unsigned long long)v.features);
}

CASE(version_bigger_size_zero_tail)
{
	unsigned char buf[sizeof(struct bcv_version) + 64];
	struct bcv_version *v = (void *)buf;
	size_t i;

	memset(buf, 0, sizeof(buf));
	v->size = sizeof(buf);
	ASSERT_OK(ioctl(ctl, BCV_IOC_VERSION, buf));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_EQ(BCV_VERSION_MINOR, v->minor);
	EXPECT_TRUE(v->features & BCV_FEAT_VOLUMES);
	for (i = sizeof(*v); i < sizeof(buf); i++)
		if (buf[i]) {
			FAIL_LOG("kernel wrote byte %zu past its struct", i);
			break;
		}
}

CASE(list_bigger_size_zero_tail)
{
	unsigned char buf[sizeof(struct bcv_list) + 64];
	struct bcv_list *l = (void *)buf;

	memset(buf, 0, sizeof(buf));
	l->size = sizeof(buf);
	l->info_size = sizeof(struct bcv_vol_info);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LIST, buf));
	EXPECT_EQ(count0, l->count);
}

/*------------------------------------------------------------------------*/
/* @size, reserved fields, flags: one set of cases per struct             */
/*------------------------------------------------------------------------*/

struct abi_struct {
	const char *name;
	unsigned long req;
	size_t size;
	size_t min_size;		/* of the first published version */
	void (*fill)(void *buf);	/* an otherwise valid argument */
	size_t reserved_off;		/* offset of reserved[] */
	size_t reserved_len;
};

static void fill_version(void *buf)
{
	struct bcv_version *v = buf;

	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
}

/* A create that would succeed: DEV2 is free while these cases run. */
static void fill_create(void *buf)
{
	create_init(buf, BCV_ROLE_STD, NEW_NAME, dev[1]);
}

/* A remove that would succeed: STD_NAME exists and is not open. */
static void fill_remove(void *buf)
{
	remove_init(buf, STD_NAME);
}

static void fill_list(void *buf)
{
	list_init(buf, NULL, 0);
}

static const struct abi_struct abi_version = {
	"version", BCV_IOC_VERSION, sizeof(struct bcv_version),
	VERSION_SIZE_VER0, fill_version,
	offsetof(struct bcv_version, reserved),
	sizeof(((struct bcv_version *)0)->reserved),
};
static const struct abi_struct abi_create = {
	"create", BCV_IOC_CREATE, sizeof(struct bcv_create), CREATE_SIZE_VER0,
	fill_create,
	offsetof(struct bcv_create, reserved),
	sizeof(((struct bcv_create *)0)->reserved),
};
static const struct abi_struct abi_remove = {
	"remove", BCV_IOC_REMOVE, sizeof(struct bcv_remove), REMOVE_SIZE_VER0,
	fill_remove,
	offsetof(struct bcv_remove, reserved),
	sizeof(((struct bcv_remove *)0)->reserved),
};
static const struct abi_struct abi_list = {
	"list", BCV_IOC_LIST, sizeof(struct bcv_list), LIST_SIZE_VER0,
	fill_list,
	offsetof(struct bcv_list, reserved),
	sizeof(((struct bcv_list *)0)->reserved),
};

static unsigned char abibuf[65536 + 64] __attribute__((aligned(8)));

/* ioctl with the struct in abibuf, @size set to @size. */
static int abi_call(const struct abi_struct *a, uint32_t size)
{
	memcpy(abibuf, &size, sizeof(size));
	return ioctl(ctl, a->req, abibuf);
}

/* Below the first published version: EINVAL (an otherwise valid struct). */
static void abi_size_small(struct __test_metadata *const _metadata,
			   const struct abi_struct *a)
{
	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	EXPECT_ERRNO(EINVAL, abi_call(a, 0));
	a->fill(abibuf);
	EXPECT_ERRNO(EINVAL, abi_call(a, 4));
	a->fill(abibuf);
	EXPECT_ERRNO(EINVAL, abi_call(a, a->min_size - 8));
	a->fill(abibuf);
	EXPECT_ERRNO(EINVAL, abi_call(a, a->min_size - 1));
	/* ... also when the command word encodes that smaller size */
	a->fill(abibuf);
	memcpy(abibuf, &(uint32_t){ a->min_size - 1 }, sizeof(uint32_t));
	EXPECT_ERRNO(EINVAL, ioctl(ctl, SIZED_REQ(_IOC_NR(a->req),
						  a->min_size - 1), abibuf));
}

static void abi_tail_nonzero(struct __test_metadata *const _metadata,
			     const struct abi_struct *a)
{
	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	abibuf[a->size] = 1;	/* first byte past the struct */
	EXPECT_ERRNO(E2BIG, abi_call(a, a->size + 16));

	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	abibuf[a->size + 15] = 0xff;	/* last byte of 16 more */
	EXPECT_ERRNO(E2BIG, abi_call(a, a->size + 16));

	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	abibuf[a->size] = 1;
	EXPECT_ERRNO(E2BIG, abi_call(a, a->size + 64));

	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	abibuf[a->size + 63] = 0x80;	/* last byte of the bigger struct */
	EXPECT_ERRNO(E2BIG, abi_call(a, a->size + 64));
}

static void abi_size_huge(struct __test_metadata *const _metadata,
			  const struct abi_struct *a)
{
	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	EXPECT_ERRNO(E2BIG, abi_call(a, ABI_SIZE_MAX + 1));
	a->fill(abibuf);
	EXPECT_ERRNO(E2BIG, abi_call(a, 65536));
	a->fill(abibuf);
	EXPECT_ERRNO(E2BIG, abi_call(a, UINT32_MAX));
}

static void abi_reserved(struct __test_metadata *const _metadata,
			 const struct abi_struct *a)
{
	size_t i;

	for (i = 0; i < a->reserved_len; i += 7) {
		memset(abibuf, 0, sizeof(abibuf));
		a->fill(abibuf);
		abibuf[a->reserved_off + i] = 1;
		EXPECT_ERRNO(EINVAL, abi_call(a, a->size));
	}
	memset(abibuf, 0, sizeof(abibuf));
	a->fill(abibuf);
	abibuf[a->reserved_off + a->reserved_len - 1] = 0xff;
	EXPECT_ERRNO(EINVAL, abi_call(a, a->size));
}

/*
 * Every @size from the first version's up to 16 bytes past ours works, for
 * a struct whose fill() is a call that succeeds and changes nothing.  The
 * kernel reads nothing past @size (the canary there is not zero: it would
 * be E2BIG or EINVAL) and writes nothing past min(@size, its size).
 */
static void abi_every_size(struct __test_metadata *const _metadata,
			   const struct abi_struct *a)
{
	size_t usize;
	int ret;

	for (usize = a->min_size; usize <= a->size + 16; usize++) {
		memset(abibuf, 0, sizeof(abibuf));
		a->fill(abibuf);
		memset(abibuf + usize, CANARY, CANARY_LEN);
		errno = 0;
		ret = abi_call(a, usize);
		if (ret) {
			FAIL_LOG("%s with size %zu: got errno %s",
				 a->name, usize, errname(errno));
			continue;
		}
		if (!canary_intact(abibuf, usize))
			FAIL_LOG("%s with size %zu: wrote past it",
				 a->name, usize);
		if (usize > a->size &&
		    !all_bytes(abibuf + a->size, 0, usize - a->size))
			FAIL_LOG("%s with size %zu: wrote its tail",
				 a->name, usize);
	}
}

#define ABI_TESTS(s)							\
CASE(s##_size_too_small) { abi_size_small(_metadata, &abi_##s); }	\
CASE(s##_size_bigger_nonzero_tail) { abi_tail_nonzero(_metadata, &abi_##s); } \
CASE(s##_size_above_4096) { abi_size_huge(_metadata, &abi_##s); }	\
CASE(s##_reserved_nonzero) { abi_reserved(_metadata, &abi_##s); }

ABI_TESTS(version)
ABI_TESTS(create)
ABI_TESTS(remove)
ABI_TESTS(list)

CASE(version_every_size) { abi_every_size(_metadata, &abi_version); }
CASE(list_every_size) { abi_every_size(_metadata, &abi_list); }

/*------------------------------------------------------------------------*/
/* Older and newer structs                                                */
/*------------------------------------------------------------------------*/

/* A struct of the first published size: answered, nothing written past. */
CASE(version_old_size)
{
	unsigned char buf[VERSION_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_version full, *v;

	fill_version(&full);
	v = sized_struct(buf, &full, VERSION_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_VERSION, v));
	EXPECT_EQ(VERSION_SIZE_VER0, v->size);
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_EQ(BCV_VERSION_MINOR, v->minor);
	EXPECT_EQ(BCV_VERSION_PATCH, v->patch);
	EXPECT_TRUE(v->features & BCV_FEAT_LEG_POS);
	EXPECT_TRUE(canary_intact(buf, VERSION_SIZE_VER0));

	/* as an older userspace sends it: its size in the command word */
	v = sized_struct(buf, &full, VERSION_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x00, VERSION_SIZE_VER0), v));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_TRUE(v->features & BCV_FEAT_VOLUMES);
	EXPECT_TRUE(canary_intact(buf, VERSION_SIZE_VER0));
}

CASE(list_old_size_count)
{
	unsigned char buf[LIST_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_list full, *l;

	list_init(&full, NULL, 0);
	l = sized_struct(buf, &full, LIST_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x03, LIST_SIZE_VER0), l));
	EXPECT_EQ(count0, l->count);
	EXPECT_EQ(LIST_SIZE_VER0, l->size);
	EXPECT_TRUE(canary_intact(buf, LIST_SIZE_VER0));
}

/* Structs 16 bytes bigger than ours, with a zero tail: fine, tail kept. */
CASE(grown_size_zero_tail)
{
	unsigned char buf[sizeof(struct bcv_query) + 16 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_version *v = (void *)buf;
	struct bcv_list *l = (void *)buf;
	struct bcv_query *q = (void *)buf;

	memset(buf, CANARY, sizeof(buf));
	fill_version(buf);
	memset(buf + sizeof(*v), 0, 16);
	v->size = sizeof(*v) + 16;
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x00, sizeof(*v) + 16), buf));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_TRUE(all_bytes(buf + sizeof(*v), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*v) + 16));

	memset(buf, CANARY, sizeof(buf));
	fill_list(buf);
	memset(buf + sizeof(*l), 0, 16);
	l->size = sizeof(*l) + 16;
	ASSERT_OK(ioctl(ctl, BCV_IOC_LIST, buf));
	EXPECT_EQ(count0, l->count);
	EXPECT_TRUE(all_bytes(buf + sizeof(*l), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*l) + 16));

	memset(buf, CANARY, sizeof(buf));
	query_init(q, NULL, NULL, 0);
	memset(buf + sizeof(*q), 0, 16);
	q->size = sizeof(*q) + 16;
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, buf));
	EXPECT_EQ(sess0, q->count);
	EXPECT_TRUE(all_bytes(buf + sizeof(*q), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*q) + 16));
}

/* An older CREATE and REMOVE, as an older bcvctl would send them. */
CASE(create_old_size)
{
	unsigned char buf[CREATE_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	unsigned char rbuf[REMOVE_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_create full, *c;
	struct bcv_remove rfull;
	struct bcv_vol_info vi;
	char path[64];
	uint32_t index;
	int i;

	create_init(&full, BCV_ROLE_BCV, NEW_NAME, dev[1]);
	full.track_size = BCV_TRACK;
	c = sized_struct(buf, &full, CREATE_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x01, CREATE_SIZE_VER0), c));
	index = c->index;
	EXPECT_EQ(CREATE_SIZE_VER0, c->size);
	/* @meta_sectors lies past an old struct: not written (the canary) */
	EXPECT_EQ(data_sectors(dev[1], BCV_TRACK), c->sectors);
	EXPECT_TRUE(canary_intact(buf, CREATE_SIZE_VER0));
	if (find_volume(NEW_NAME, &vi)) {
		EXPECT_EQ(index, vi.index);
		EXPECT_EQ(BCV_ROLE_BCV, vi.role);
		EXPECT_EQ(BCV_TRACK, vi.track_size);
		EXPECT_EQ(1, vi.nr_legs);
	} else {
		FAIL_LOG("%s not listed after create", NEW_NAME);
	}

	remove_init(&rfull, NEW_NAME);
	ASSERT_OK(sized_ioctl_retry_busy(SIZED_REQ(0x02, REMOVE_SIZE_VER0),
					 rbuf, &rfull, REMOVE_SIZE_VER0));
	EXPECT_TRUE(canary_intact(rbuf, REMOVE_SIZE_VER0));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	snprintf(path, sizeof(path), "/sys/block/bcv%u", index);
	for (i = 0; i < 100 && access(path, F_OK) == 0; i++)
		sleep_ms(20);
	EXPECT_TRUE(access(path, F_OK) != 0);
}

CASE(create_grown_size)
{
	unsigned char buf[sizeof(struct bcv_create) + 16 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_create *c = (void *)buf;
	struct bcv_vol_info vi;

	memset(buf, CANARY, sizeof(buf));
	create_init(c, BCV_ROLE_STD, NEW_NAME, dev[1]);
	memset(buf + sizeof(*c), 0, 16);
	c->size = sizeof(*c) + 16;
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x01, sizeof(*c) + 16), buf));
	EXPECT_EQ(sizeof(*c) + 16, c->size);
	EXPECT_EQ(data_sectors(dev[1], 0), c->sectors);
	EXPECT_EQ(meta_sectors(dev[1], 0), c->meta_sectors);
	EXPECT_TRUE(all_bytes(buf + sizeof(*c), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*c) + 16));
	if (find_volume(NEW_NAME, &vi)) {
		EXPECT_EQ(c->index, vi.index);
	} else {
		FAIL_LOG("%s not listed after create", NEW_NAME);
	}
	remove_and_check_gone(_metadata, NEW_NAME, (int)c->index);
}

/*
 * A CREATE that would succeed, in a read-only page: EFAULT before the
 * volume is made, not after (the fixture also checks nothing changed).
 */
CASE(create_readonly_efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p;

	p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	fill_create(p);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_CREATE, p));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	/* an old-size one too */
	ASSERT_OK(mprotect(p, pg, PROT_READ | PROT_WRITE));
	fill_create(p);
	((struct bcv_create *)p)->size = CREATE_SIZE_VER0;
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_CREATE, p));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	munmap(p, pg);
}

CASE(list_count_nonzero)
{
	static const uint32_t n[] = { 1, 2, 0x80000000U, UINT32_MAX };
	struct bcv_vol_info v[2];
	struct bcv_list l;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(n); i++) {
		list_init(&l, NULL, 0);
		l.count = n[i];
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LIST, &l));
		list_init(&l, v, 2);
		l.count = n[i];
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LIST, &l));
	}
}

CASE(create_flags_nonzero)
{
	struct bcv_create c;

	fill_create(&c);
	c.flags = 1;
	CREATE_EXPECT(EINVAL, &c);
	fill_create(&c);
	c.flags = 1U << 31;
	CREATE_EXPECT(EINVAL, &c);
}

CASE(remove_flags_undefined)
{
	struct bcv_remove r;
	unsigned int bit;

	for (bit = 1; bit < 32; bit++) {
		if ((1U << bit) & BCV_REMOVE_FORCE)
			continue;
		fill_remove(&r);
		r.flags = 1U << bit;
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_REMOVE, &r));
	}
}

/*------------------------------------------------------------------------*/
/* Unknown commands and bad pointers                                      */
/*------------------------------------------------------------------------*/

/* Numbers past the last command: ENOTTY whatever size they encode. */
CASE(unknown_ioctl_number)
{
	static const unsigned int nrs[] = { 0x0b, 0x0c, 0x7f, 0x80, 0xff };
	struct bcv_version v = { .size = sizeof(v) };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		fill_version(&v);
		EXPECT_ERRNO(ENOTTY, ioctl(ctl, _IOWR(BCV_IOCTL_TYPE, nrs[i],
						      struct bcv_version), &v));
		EXPECT_ERRNO(ENOTTY, ioctl(ctl, SIZED_REQ(nrs[i], 8), &v));
		EXPECT_ERRNO(ENOTTY, ioctl(ctl, _IO(BCV_IOCTL_TYPE, nrs[i]),
					   &v));
	}
}

CASE(wrong_ioctl_type)
{
	struct bcv_version v = { .size = sizeof(v) };

	EXPECT_ERRNO(ENOTTY,
		ioctl(ctl, _IOWR(BCV_IOCTL_TYPE + 1, 0x00, struct bcv_version), &v));
	EXPECT_ERRNO(ENOTTY,
		ioctl(ctl, _IOWR(0x12, 0x00, struct bcv_version), &v));
	EXPECT_ERRNO(ENOTTY,
		ioctl(ctl, _IOWR(BCV_IOCTL_TYPE - 1, 0x03, struct bcv_list),
		      &v));
}

/*
 * Commands are told apart by type and number, not by the size the command
 * word encodes (that of the caller's struct): the struct's @size counts.
 * The refused ones get the command's own errno, not ENOTTY.
 */
CASE(known_number_other_size)
{
	unsigned char buf[4096] __attribute__((aligned(8)));
	struct bcv_version *v = (void *)buf;
	struct bcv_list *l = (void *)buf;
	struct bcv_query *q = (void *)buf;

	memset(buf, 0, sizeof(buf));
	fill_version(buf);
	ASSERT_OK(ioctl(ctl, _IOWR(BCV_IOCTL_TYPE, 0x00, char[8]), buf));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_EQ(BCV_VERSION_MINOR, v->minor);
	EXPECT_TRUE(v->features & BCV_FEAT_VOLUMES);
	fill_version(buf);
	ASSERT_OK(ioctl(ctl, _IO(BCV_IOCTL_TYPE, 0x00), buf));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	fill_version(buf);
	ASSERT_OK(ioctl(ctl, _IOR(BCV_IOCTL_TYPE, 0x00, struct bcv_create),
			buf));
	EXPECT_EQ(BCV_VERSION_MINOR, v->minor);

	fill_list(buf);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x03, sizeof(struct bcv_list) + 8),
			buf));
	EXPECT_EQ(count0, l->count);
	memset(buf, 0, sizeof(buf));
	query_init(q, NULL, NULL, 0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x05, 8), buf));
	EXPECT_EQ(sess0, q->count);

	/* a device that does not exist: the create gets that far */
	memset(buf, 0, sizeof(buf));
	create_init((void *)buf, BCV_ROLE_STD, NEW_NAME,
		    "/dev/bcvt-no-such-device");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, SIZED_REQ(0x01, 8), buf));
	memset(buf, 0, sizeof(buf));
	remove_init((void *)buf, "bcvt_nosuch");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, _IOWR(BCV_IOCTL_TYPE, 0x02, char[8]),
				   buf));
	memset(buf, 0, sizeof(buf));
	sess_init((void *)buf, BCV_CMD_ESTABLISH, "bcvt_nosuch",
		  "bcvt_nosuch2");
	EXPECT_ERRNO(ENOENT, ioctl(ctl,
				   SIZED_REQ(0x04,
					     sizeof(struct bcv_session_cmd) - 8),
				   buf));
	memset(buf, 0, sizeof(buf));
	wait_init((void *)buf, "bcvt_nosuch", "bcvt_nosuch2", 1000);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, _IOR(BCV_IOCTL_TYPE, 0x06,
					     struct bcv_wait), buf));
	memset(buf, 0, sizeof(buf));
	leg_init((void *)buf, BCV_LEG_ADD, "bcvt_nosuch", dev[1]);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, SIZED_REQ(0x07, 4096), buf));
	memset(buf, 0, sizeof(buf));
	stop_init((void *)buf, "bcvt_nosuch");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, SIZED_REQ(0x08, 8), buf));
	memset(buf, 0, sizeof(buf));
	assemble_init((void *)buf, 1, "/dev/bcvt-no-such-device", NULL);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, _IOWR(BCV_IOCTL_TYPE, 0x09, char[8]),
				   buf));
}

static const unsigned long all_reqs[] = {
	BCV_IOC_VERSION, BCV_IOC_CREATE, BCV_IOC_REMOVE, BCV_IOC_LIST,
	BCV_IOC_SESSION, BCV_IOC_QUERY, BCV_IOC_WAIT, BCV_IOC_LEG,
	BCV_IOC_STOP, BCV_IOC_ASSEMBLE,
};

CASE(null_pointer)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_reqs); i++)
		EXPECT_ERRNO(EFAULT, ioctl(ctl, all_reqs[i], NULL));
}

CASE(bad_pointer)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p;
	size_t i;

	p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(mprotect(p + pg, pg, PROT_NONE));

	/* Entirely unmapped or inaccessible. */
	for (i = 0; i < ARRAY_SIZE(all_reqs); i++) {
		EXPECT_ERRNO(EFAULT, ioctl(ctl, all_reqs[i], p + pg));
		EXPECT_ERRNO(EFAULT, ioctl(ctl, all_reqs[i], (void *)8));
		EXPECT_ERRNO(EFAULT, ioctl(ctl, all_reqs[i],
					   (void *)0xffff800000000000UL));
	}

	/* @size readable, the rest of the struct not. */
	for (i = 0; i < ARRAY_SIZE(all_reqs); i++) {
		uint32_t *sz = (uint32_t *)(p + pg - 8);

		sz[0] = (uint32_t)_IOC_SIZE(all_reqs[i]);
		sz[1] = 0;
		EXPECT_ERRNO(EFAULT, ioctl(ctl, all_reqs[i], sz));
	}

	/* Read-only: VERSION and LIST write their answer back. */
	fill_version(p);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_VERSION, p));
	ASSERT_OK(mprotect(p, pg, PROT_READ | PROT_WRITE));
	fill_list(p);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_LIST, p));
	ASSERT_OK(mprotect(p, pg, PROT_READ | PROT_WRITE));
	query_init((void *)p, NULL, NULL, 0);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_QUERY, p));
	munmap(p, 2 * pg);
}

/*------------------------------------------------------------------------*/
/* BCV_IOC_CREATE: refused inputs (no volume exists yet)                  */
/*------------------------------------------------------------------------*/

CASE(create_bad_role)
{
	static const uint32_t roles[] = { 0, 3, 4, 0xff, UINT32_MAX };
	struct bcv_create c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(roles); i++) {
		fill_create(&c);
		c.role = roles[i];
		CREATE_EXPECT(EINVAL, &c);
	}
}

CASE(create_bad_nr_legs)
{
	static const uint32_t n[] = { 0, BCV_MAX_LEGS + 1, 0x80000000U };
	struct bcv_create c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(n); i++) {
		fill_create(&c);
		c.nr_legs = n[i];
		CREATE_EXPECT(EINVAL, &c);
	}
}

/* A volume with fixed mirror legs: each leg listed at its position. */
static void create_legs(struct __test_metadata *const _metadata, unsigned int n)
{
	struct bcv_create c;
	struct bcv_vol_info v;
	unsigned int i;

	fill_create(&c);
	c.nr_legs = n;
	snprintf(c.legs[1], sizeof(c.legs[1]), "%s", dev[2]);
	if (n > 2)
		snprintf(c.legs[2], sizeof(c.legs[2]), "%s", dev[0]);
	ASSERT_OK(do_create(&c));
	ASSERT_TRUE(find_volume(NEW_NAME, &v));
	EXPECT_EQ(n, v.nr_legs);
	/* Mirrors start stale and are synced from the primary. */
	EXPECT_EQ(0, v.leg_invalid[0]);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(i, v.leg_pos[i]);
		EXPECT_TRUE(v.leg_invalid[i] <= v.tracks);
	}
	remove_and_check_gone(_metadata, NEW_NAME, (int)c.index);
}

CASE(create_mirror_legs)
{
	create_legs(_metadata, 2);
	create_legs(_metadata, 3);
}

CASE(create_unused_legs_nonzero)
{
	struct bcv_create c;

	fill_create(&c);
	snprintf(c.legs[1], sizeof(c.legs[1]), "%s", dev[2]);
	CREATE_EXPECT(EINVAL, &c);

	fill_create(&c);
	c.legs[1][BCV_PATH_LEN - 1] = 1;
	CREATE_EXPECT(EINVAL, &c);

	fill_create(&c);
	c.legs[2][0] = '/';
	CREATE_EXPECT(EINVAL, &c);
}

static void create_name_expect(struct __test_metadata *const _metadata,
			       int line, int want, const char *name, size_t len)
{
	struct bcv_create c;
	char what[128];
	long ret;

	fill_create(&c);
	memset(c.name, 0, sizeof(c.name));
	memcpy(c.name, name, len);
	errno = 0;
	ret = do_create(&c);
	snprintf(what, sizeof(what), "create with name \"%.*s\"",
		 (int)(len < 32 ? len : 32), name);
	check_errno(_metadata, line, what, want, ret, errno);
}

#define NAME_EXPECT(want, s) \
	create_name_expect(_metadata, __LINE__, want, s, strlen(s))

CASE(create_bad_name)
{
	char full[BCV_NAME_LEN];

	NAME_EXPECT(EINVAL, "");
	NAME_EXPECT(EINVAL, "a/b");
	NAME_EXPECT(EINVAL, "/");
	NAME_EXPECT(EINVAL, "..");
	NAME_EXPECT(EINVAL, ".");
	NAME_EXPECT(EINVAL, ".hidden");
	NAME_EXPECT(EINVAL, "-opt");
	NAME_EXPECT(EINVAL, "a b");
	NAME_EXPECT(EINVAL, " ab");
	NAME_EXPECT(EINVAL, "a\tb");
	NAME_EXPECT(EINVAL, "a\nb");
	NAME_EXPECT(EINVAL, "a:b");
	NAME_EXPECT(EINVAL, "a*b");
	NAME_EXPECT(EINVAL, "caf\xc3\xa9");
	/* Latin-1 letters: the kernel's isalnum() takes them, udev not */
	NAME_EXPECT(EINVAL, "caf\xe9");
	NAME_EXPECT(EINVAL, "\xe9t\xe9");
	NAME_EXPECT(EINVAL, "A\xc0Z");
	NAME_EXPECT(EINVAL, "n\xff");
	NAME_EXPECT(EINVAL, "a\xa0" "b");	/* no-break space */
	NAME_EXPECT(EINVAL, "a\x7f");

	memset(full, 'n', sizeof(full));	/* no NUL in 32 bytes */
	create_name_expect(_metadata, __LINE__, ENAMETOOLONG, full,
			   sizeof(full));
}

CASE(create_bad_path)
{
	struct bcv_create c;
	int fd;

	fill_create(&c);
	memset(c.legs[0], 'a', sizeof(c.legs[0]));	/* no NUL */
	c.legs[0][0] = '/';
	CREATE_EXPECT(ENAMETOOLONG, &c);

	fill_create(&c);
	memset(c.legs[0], 0, sizeof(c.legs[0]));
	CREATE_EXPECT(EINVAL, &c);

	fill_create(&c);
	snprintf(c.legs[0], sizeof(c.legs[0]), "/dev/bcvt-no-such-device");
	CREATE_EXPECT(ENOENT, &c);

	fill_create(&c);
	snprintf(c.legs[0], sizeof(c.legs[0]), "/dev/null");
	CREATE_EXPECT(ENOTBLK, &c);

	snprintf(reg_file, sizeof(reg_file), "/tmp/bcv_ioctl_test.XXXXXX");
	fd = mkstemp(reg_file);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 1 << 20));
	close(fd);
	fill_create(&c);
	snprintf(c.legs[0], sizeof(c.legs[0]), "%s", reg_file);
	CREATE_EXPECT(ENOTBLK, &c);
	unlink(reg_file);
}

CASE(create_bad_track_size)
{
	static const uint32_t ts[] = {
		3000, 65537, 32U << 20, BCV_TRACK_SIZE_MAX * 2, 0x80000000U,
		256, 1, 3, 511, UINT32_MAX,
	};
	struct bcv_create c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ts); i++) {
		long ret;
		int err;

		fill_create(&c);
		c.track_size = ts[i];
		errno = 0;
		ret = do_create(&c);
		err = errno;
		if (!check_errno(_metadata, __LINE__,
				 "create with that track size", EINVAL, ret,
				 err))
			diag("  track_size %u", ts[i]);
	}
}

/* Valid edge cases are accepted: the refusals above are not blanket ones. */
static void create_ok_and_remove(struct __test_metadata *const _metadata,
				 const char *name, uint32_t track_size)
{
	struct bcv_vol_info vi;
	struct bcv_create c;

	create_init(&c, BCV_ROLE_BCV, name, dev[1]);
	c.track_size = track_size;
	ASSERT_OK(do_create(&c));
	if (find_volume(name, &vi)) {
		EXPECT_EQ(track_size, vi.track_size);
	} else {
		FAIL_LOG("%s not listed after create", name);
	}
	EXPECT_OK(remove_volume(name));
	EXPECT_TRUE(!find_volume(name, NULL));
}

CASE(create_longest_name_max_track)
{
	/* 31 characters, every allowed punctuation character. */
	create_ok_and_remove(_metadata, "bcvt_A.z+0-9_abcdefghijklmnopq",
			     BCV_TRACK_SIZE_MAX);
}

CASE(create_track_size_512)
{
	create_ok_and_remove(_metadata, "bcvt+512", 512);
}

/*------------------------------------------------------------------------*/
/* A first volume, and what it makes busy                                 */
/*------------------------------------------------------------------------*/

CASE(create_std)
{
	struct bcv_create c;
	char path[64];
	struct stat st;

	create_init(&c, BCV_ROLE_STD, STD_NAME, dev[0]);
	ASSERT_OK(do_create(&c));
	std_index = (int)c.index;
	diag("%s is /dev/bcv%d", STD_NAME, std_index);
	EXPECT_TRUE(c.index < 1U << 20);
	EXPECT_EQ(data_sectors(dev[0], 0), c.sectors);
	EXPECT_EQ(meta_sectors(dev[0], 0), c.meta_sectors);
	EXPECT_TRUE(c.meta_sectors > 0);
	EXPECT_TRUE(c.sectors + c.meta_sectors <= dev_bytes(dev[0]) / 512);
	EXPECT_EQ(sizeof(c), c.size);
	snprintf(path, sizeof(path), "/sys/block/bcv%d", std_index);
	EXPECT_OK(stat(path, &st));
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	EXPECT_TRUE(wait_path(path));
	EXPECT_EQ(c.sectors * 512, dev_bytes(path));
	EXPECT_TRUE(find_volume(STD_NAME, NULL));
}

CASE(create_same_backing_busy)
{
	struct bcv_create c;

	create_init(&c, BCV_ROLE_BCV, NEW_NAME, dev[0]);
	CREATE_EXPECT(EBUSY, &c);
}

CASE(create_same_name_exists)
{
	struct bcv_create c;

	create_init(&c, BCV_ROLE_STD, STD_NAME, dev[1]);
	CREATE_EXPECT(EEXIST, &c);
	create_init(&c, BCV_ROLE_BCV, STD_NAME, dev[1]);
	CREATE_EXPECT(EEXIST, &c);
}

CASE(create_mounted_busy)
{
	struct bcv_create c;
	char cmd[128];
	int ret;

	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1",
		 dev[2]);
	if (system(cmd) != 0)
		SKIP(return, "mkfs.ext4 %s failed or is missing", dev[2]);
	snprintf(mnt_dir, sizeof(mnt_dir), "/tmp/bcvt_mnt.XXXXXX");
	ASSERT_TRUE(mkdtemp(mnt_dir) != NULL);
	ret = mount(dev[2], mnt_dir, "ext4", 0, NULL);
	if (ret)	/* the teardown removes mnt_dir */
		SKIP(return, "cannot mount %s: %s", dev[2], strerror(errno));
	create_init(&c, BCV_ROLE_STD, NEW_NAME, dev[2]);
	CREATE_EXPECT(EBUSY, &c);
	EXPECT_OK(umount2(mnt_dir, 0));
	rmdir(mnt_dir);
	mnt_dir[0] = 0;
}

CASE(create_opened_exclusively_busy)
{
	struct bcv_create c;
	int fd;

	fd = open(dev[2], O_RDONLY | O_EXCL);
	ASSERT_TRUE(fd >= 0);
	create_init(&c, BCV_ROLE_STD, NEW_NAME, dev[2]);
	CREATE_EXPECT(EBUSY, &c);
	close(fd);
}

CASE(create_on_bcv_volume)
{
	struct bcv_create c;
	char path[64];

	ASSERT_TRUE(std_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	ASSERT_TRUE(wait_path(path));
	create_init(&c, BCV_ROLE_BCV, NEW_NAME, path);
	CREATE_EXPECT(ELOOP, &c);	/* a volume on a volume */
}

CASE(list_bad_vols_pointer)
{
	struct bcv_list l;

	ASSERT_TRUE(find_volume(STD_NAME, NULL));
	list_init(&l, NULL, 1);
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_LIST, &l));
	list_init(&l, (void *)8, 1);
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_LIST, &l));
}

/*------------------------------------------------------------------------*/
/* BCV_IOC_LIST with two volumes                                          */
/*------------------------------------------------------------------------*/

CASE(create_bcv)
{
	struct bcv_create c;

	create_init(&c, BCV_ROLE_BCV, BCV_NAME, dev[1]);
	c.track_size = BCV_TRACK;
	ASSERT_OK(do_create(&c));
	bcv_index = (int)c.index;
	diag("%s is /dev/bcv%d", BCV_NAME, bcv_index);
	EXPECT_TRUE(bcv_index != std_index);
	EXPECT_EQ(data_sectors(dev[1], BCV_TRACK), c.sectors);
	EXPECT_EQ(meta_sectors(dev[1], BCV_TRACK), c.meta_sectors);
	EXPECT_TRUE(c.meta_sectors > 0);
	EXPECT_TRUE(c.sectors + c.meta_sectors <= dev_bytes(dev[1]) / 512);
}

CASE(list_info_size_too_small)
{
	static const uint32_t sz[] = {
		0, 8, VOL_INFO_SIZE_VER0 - 8, VOL_INFO_SIZE_VER0 - 1,
		ABI_SIZE_MAX + 1, 65536, UINT32_MAX,
	};
	struct bcv_vol_info v[2];
	struct bcv_list l;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sz); i++) {
		list_init(&l, v, 2);
		l.info_size = sz[i];
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LIST, &l));
		list_init(&l, NULL, 0);
		l.info_size = sz[i];
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LIST, &l));
	}
}

/*
 * An older struct bcv_list of the first published size, asking for entries
 * of the first published struct bcv_vol_info: they are packed at that
 * stride, and nothing is written past either.
 */
CASE(list_old_size)
{
	enum { ISZ = VOL_INFO_SIZE_VER0 };
	static unsigned char vols[2 * ISZ + CANARY_LEN]
		__attribute__((aligned(8)));
	unsigned char buf[LIST_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_vol_info now[MAX_VOLS], old;
	struct bcv_list full, *l;
	int i, n;

	memset(vols, CANARY, sizeof(vols));
	list_init(&full, vols, 2);
	full.info_size = ISZ;
	l = sized_struct(buf, &full, LIST_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x03, LIST_SIZE_VER0), l));
	EXPECT_EQ(count0 + 2, l->count);
	EXPECT_EQ(LIST_SIZE_VER0, l->size);
	EXPECT_EQ(ISZ, l->info_size);
	EXPECT_TRUE(canary_intact(buf, LIST_SIZE_VER0));
	EXPECT_TRUE(canary_intact(vols, 2 * ISZ));

	n = list_volumes(now);
	ASSERT_TRUE(n >= 2);
	for (i = 0; i < 2; i++) {
		memset(&old, 0, sizeof(old));
		memcpy(&old, vols + i * ISZ, ISZ);
		EXPECT_STREQ(now[i].name, old.name);
		EXPECT_EQ(now[i].role, old.role);
		EXPECT_EQ(now[i].index, old.index);
		EXPECT_EQ(now[i].track_size, old.track_size);
		EXPECT_EQ(now[i].nr_legs, old.nr_legs);
		EXPECT_EQ(now[i].sectors, old.sectors);
		EXPECT_EQ(now[i].tracks, old.tracks);
		EXPECT_EQ(now[i].leg_major[0], old.leg_major[0]);
		EXPECT_EQ(now[i].leg_minor[0], old.leg_minor[0]);
		EXPECT_STREQ(now[i].leg_name[0], old.leg_name[0]);
		EXPECT_EQ(now[i].leg_flags[0], old.leg_flags[0]);
	}
}

CASE(list_count_only)
{
	struct bcv_list l;

	list_init(&l, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LIST, &l));
	EXPECT_EQ(count0 + 2, l.count);
}

CASE(list_capacity_one)
{
	struct bcv_vol_info v[2];
	const unsigned char *second = (const void *)&v[1];
	struct bcv_list l;
	size_t i;

	memset(v, 0xa5, sizeof(v));
	list_init(&l, v, 1);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LIST, &l));
	EXPECT_EQ(count0 + 2, l.count);
	EXPECT_EQ(1, l.capacity);
	EXPECT_TRUE(memchr(v[0].name, 0, sizeof(v[0].name)) != NULL);
	EXPECT_TRUE(v[0].role == BCV_ROLE_STD || v[0].role == BCV_ROLE_BCV);
	for (i = 0; i < sizeof(v[1]); i++)
		if (second[i] != 0xa5) {
			FAIL_LOG("byte %zu of the second slot written", i);
			break;
		}
}

static void check_entry(struct __test_metadata *const _metadata,
			const char *name, unsigned int role, int index,
			const char *devpath, uint32_t track_size)
{
	struct bcv_vol_info vi;
	uint64_t sectors = data_sectors(devpath, track_size), tracks;
	char pathcopy[BCV_PATH_LEN];
	struct stat st;
	size_t i;

	if (!find_volume(name, &vi)) {
		FAIL_LOG("%s not listed", name);
		return;
	}
	if (stat(devpath, &st)) {
		FAIL_LOG("stat %s: %s", devpath, strerror(errno));
		return;
	}
	tracks = (sectors * 512 + track_size - 1) / track_size;
	EXPECT_EQ(role, vi.role);
	EXPECT_EQ(index, vi.index);
	EXPECT_EQ(track_size, vi.track_size);
	EXPECT_EQ(1, vi.nr_legs);
	EXPECT_EQ(sectors, vi.sectors);
	EXPECT_EQ(tracks, vi.tracks);
	EXPECT_EQ((tracks + BCV_TRACKS_PER_CYL - 1) / BCV_TRACKS_PER_CYL,
		  vi.cylinders);
	EXPECT_EQ(major(st.st_rdev), vi.leg_major[0]);
	EXPECT_EQ(minor(st.st_rdev), vi.leg_minor[0]);
	snprintf(pathcopy, sizeof(pathcopy), "%s", devpath);
	EXPECT_STREQ(basename(pathcopy), vi.leg_name[0]);
	for (i = 1; i < BCV_MAX_LEGS; i++) {
		EXPECT_EQ(0, vi.leg_major[i]);
		EXPECT_EQ(0, vi.leg_minor[i]);
		EXPECT_EQ(0, vi.leg_name[i][0]);
	}
	EXPECT_EQ(0, vi.__pad);
	EXPECT_EQ(0, vi.__pad4);
	/* created, never stopped: a UUID, a first generation, no flags */
	EXPECT_TRUE(!all_bytes(vi.uuid, 0, sizeof(vi.uuid)));
	EXPECT_TRUE(vi.events >= 1);
	EXPECT_EQ(0, vi.vol_flags);
}

CASE(list_entry_fields)
{
	check_entry(_metadata, STD_NAME, BCV_ROLE_STD, std_index, dev[0],
		    BCV_TRACK_SIZE_DEFAULT);
	check_entry(_metadata, BCV_NAME, BCV_ROLE_BCV, bcv_index, dev[1],
		    BCV_TRACK);
}

CASE(list_ordered_by_index)
{
	struct bcv_vol_info v[MAX_VOLS];
	int i, n = list_volumes(v);

	ASSERT_EQ(count0 + 2, n);
	for (i = 1; i < n; i++)
		EXPECT_TRUE(v[i - 1].index < v[i].index);
}

/*------------------------------------------------------------------------*/
/* Without CAP_SYS_ADMIN                                                  */
/*------------------------------------------------------------------------*/

/*
 * In a child: open /dev/bcvctl, drop CAP_SYS_ADMIN from the effective set,
 * issue @req.  Returns the errno (0 on success), or -1 if the child could
 * not get that far.
 */
static int unprivileged_ioctl(unsigned long req, void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct data[2];
		int fd = open("/dev/" BCV_CTL_NAME, O_RDWR);

		if (fd < 0)
			_exit(255);
		memset(data, 0, sizeof(data));
		if (syscall(SYS_capget, &hdr, data))
			_exit(254);
		data[CAP_SYS_ADMIN_BIT / 32].effective &=
			~(1U << (CAP_SYS_ADMIN_BIT % 32));
		if (syscall(SYS_capset, &hdr, data))
			_exit(253);
		if (ioctl(fd, req, arg) == 0)
			_exit(0);
		_exit(errno > 0 && errno < 250 ? errno : 252);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	status = WEXITSTATUS(status);
	return status >= 250 ? -status : status;
}

#define EXPECT_EPERM(req, arg) do {					\
	int e_ = unprivileged_ioctl(req, arg);				\
	if (e_ < 0)							\
		FAIL_LOG("child could not drop CAP_SYS_ADMIN (%d)", e_); \
	else if (e_ != EPERM)						\
		FAIL_LOG("got errno %s, want EPERM: %s",		\
			 errname(e_), #req);				\
} while (0)

CASE(eperm_version)
{
	struct bcv_version v;

	fill_version(&v);
	EXPECT_EPERM(BCV_IOC_VERSION, &v);
}

CASE(eperm_create)
{
	struct bcv_create c;

	create_init(&c, BCV_ROLE_STD, NEW_NAME, dev[2]);
	EXPECT_EPERM(BCV_IOC_CREATE, &c);
}

CASE(eperm_remove)
{
	struct bcv_remove r;

	remove_init(&r, BCV_NAME);
	EXPECT_EPERM(BCV_IOC_REMOVE, &r);
}

static void leg_init(struct bcv_leg_cmd *l, uint32_t op, const char *name,
		     const char *path)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->op = op;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->path, sizeof(l->path), "%s", path);
}

/* A leg removal that is refused (the only leg): no state needed. */
static void fill_leg(void *buf)
{
	leg_init(buf, BCV_LEG_REMOVE, STD_NAME, dev[0]);
}

static const struct abi_struct abi_leg = {
	"leg", BCV_IOC_LEG, sizeof(struct bcv_leg_cmd), LEG_SIZE_VER0,
	fill_leg,
	offsetof(struct bcv_leg_cmd, reserved),
	sizeof(((struct bcv_leg_cmd *)0)->reserved),
};
ABI_TESTS(leg)

static struct bcv_vol_info std_info(void)
{
	struct bcv_vol_info v;

	memset(&v, 0, sizeof(v));
	find_volume(STD_NAME, &v);
	return v;
}

/* Runs with STD_NAME on DEV1, DEV2 free. */
CASE(leg_refusals)
{
	struct bcv_vol_info before = std_info(), after;
	struct bcv_leg_cmd l;

	leg_init(&l, 0, STD_NAME, dev[1]);
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));	/* no op */
	leg_init(&l, 3, STD_NAME, dev[1]);
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	l.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	l.pos = 2;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, "");
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	memset(l.path, 'a', sizeof(l.path));
	EXPECT_ERRNO(ENAMETOOLONG, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, "bcvt_nosuch", dev[1]);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, "bad/name", dev[1]);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, "/dev/bcvt-no-such-device");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[0]);	/* its own leg */
	EXPECT_ERRNO(EBUSY, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[0]);	/* the only leg */
	EXPECT_ERRNO(EBUSY, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[1]);	/* not its leg */
	EXPECT_ERRNO(ENODEV, ioctl(ctl, BCV_IOC_LEG, &l));
	after = std_info();
	EXPECT_EQ(1, after.nr_legs);
	EXPECT_TRUE(!memcmp(&before, &after, sizeof(before)));
}

CASE(leg_add_remove)
{
	struct bcv_leg_cmd l;
	struct bcv_vol_info v;

	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LEG, &l));
	EXPECT_EQ(1, l.pos);
	v = std_info();
	EXPECT_EQ(2, v.nr_legs);
	EXPECT_EQ(1, v.leg_pos[1]);
	/* A new leg is I everywhere until synced (maybe done already). */
	EXPECT_TRUE(v.leg_invalid[1] <= v.tracks);
	EXPECT_EQ(0, v.leg_invalid[0]);
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);	/* already a leg */
	EXPECT_ERRNO(EBUSY, ioctl(ctl, BCV_IOC_LEG, &l));
	/* The new leg may go at any time: the primary holds everything. */
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[1]);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LEG, &l));
	EXPECT_EQ(1, l.pos);
	v = std_info();
	EXPECT_EQ(1, v.nr_legs);
	EXPECT_EQ(0, v.leg_invalid[0]);
}

/* Undo a leg @path of STD_NAME that a refused command added by mistake. */
static void undo_std_leg(const char *path)
{
	struct bcv_leg_cmd l;

	if (std_info().nr_legs < 2)
		return;
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, path);
	if (ioctl(ctl, BCV_IOC_LEG, &l))
		diag("cannot remove leg %s of %s again: %s", path, STD_NAME,
		     strerror(errno));
}

/* BCV_LEG_F_POS: remove only, @pos in range, @path all zero. */
CASE(leg_pos_refusals)
{
	static const int32_t bad_pos[] = {
		-1, BCV_MAX_LEGS, BCV_MAX_LEGS + 1, INT32_MAX, INT32_MIN,
	};
	struct bcv_vol_info before = std_info(), after;
	struct bcv_leg_cmd l;
	unsigned int bit;
	size_t i;

	/* with ADD, even one that would succeed without it */
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	l.flags = BCV_LEG_F_POS;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, "");
	l.flags = BCV_LEG_F_POS;
	l.pos = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	/* @pos out of range */
	for (i = 0; i < ARRAY_SIZE(bad_pos); i++) {
		leg_init(&l, BCV_LEG_REMOVE, STD_NAME, "");
		l.flags = BCV_LEG_F_POS;
		l.pos = bad_pos[i];
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	}
	/* @path not all zero */
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[0]);
	l.flags = BCV_LEG_F_POS;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, "");
	l.flags = BCV_LEG_F_POS;
	l.path[BCV_PATH_LEN - 1] = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	/* undefined flags next to it */
	for (bit = 1; bit < 32; bit++) {
		leg_init(&l, BCV_LEG_REMOVE, STD_NAME, "");
		l.flags = BCV_LEG_F_POS | 1U << bit;
		EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	}
	/* without it, @pos is out only: not zero is refused */
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[0]);
	l.pos = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, dev[0]);
	l.pos = -1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	l.pos = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_LEG, &l));
	/* valid ones that the volume refuses: its only leg, no such leg */
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, "");
	l.flags = BCV_LEG_F_POS;
	EXPECT_ERRNO(EBUSY, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, STD_NAME, "");
	l.flags = BCV_LEG_F_POS;
	l.pos = 1;
	EXPECT_ERRNO(ENODEV, ioctl(ctl, BCV_IOC_LEG, &l));
	leg_init(&l, BCV_LEG_REMOVE, "bcvt_nosuch", "");
	l.flags = BCV_LEG_F_POS;
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_LEG, &l));
	after = std_info();
	EXPECT_EQ(1, after.nr_legs);
	EXPECT_TRUE(!memcmp(&before, &after, sizeof(before)));
	undo_std_leg(dev[1]);
}

/*
 * A leg added with a grown struct, removed by its position with an older
 * one (its device is not named).
 */
CASE(leg_remove_by_pos)
{
	unsigned char buf[sizeof(struct bcv_leg_cmd) + 16 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_leg_cmd full, *l = (void *)buf;
	char path[BCV_PATH_LEN];
	struct bcv_vol_info v;

	memset(buf, CANARY, sizeof(buf));
	leg_init(l, BCV_LEG_ADD, STD_NAME, dev[1]);
	memset(buf + sizeof(*l), 0, 16);
	l->size = sizeof(*l) + 16;
	ASSERT_OK(ioctl(ctl, BCV_IOC_LEG, buf));
	EXPECT_EQ(1, l->pos);
	EXPECT_TRUE(all_bytes(buf + sizeof(*l), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*l) + 16));
	v = std_info();
	ASSERT_EQ(2, v.nr_legs);

	leg_init(&full, BCV_LEG_REMOVE, STD_NAME, "");
	full.flags = BCV_LEG_F_POS;
	full.pos = 1;
	l = sized_struct(buf, &full, LEG_SIZE_VER0);
	EXPECT_OK(ioctl(ctl, SIZED_REQ(0x07, LEG_SIZE_VER0), l));
	EXPECT_EQ(1, l->pos);
	EXPECT_EQ(BCV_LEG_F_POS, l->flags);
	EXPECT_TRUE(canary_intact(buf, LEG_SIZE_VER0));
	v = std_info();
	EXPECT_EQ(1, v.nr_legs);
	EXPECT_EQ(0, v.leg_invalid[0]);
	/* the primary stays */
	snprintf(path, sizeof(path), "%s", dev[0]);
	EXPECT_STREQ(basename(path), v.leg_name[0]);
	undo_std_leg(dev[1]);
}

/* A LEG ADD that would succeed, in a read-only page: EFAULT, no new leg. */
CASE(leg_readonly_efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct bcv_vol_info v;
	unsigned char *p;

	p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	leg_init((void *)p, BCV_LEG_ADD, STD_NAME, dev[1]);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_LEG, p));
	munmap(p, pg);
	v = std_info();
	EXPECT_EQ(1, v.nr_legs);
	EXPECT_EQ(0, v.leg_major[1]);
	undo_std_leg(dev[1]);
}

CASE(eperm_leg)
{
	struct bcv_leg_cmd l;

	leg_init(&l, BCV_LEG_ADD, STD_NAME, dev[1]);
	EXPECT_EPERM(BCV_IOC_LEG, &l);
}

CASE(eperm_list)
{
	struct bcv_list l;

	list_init(&l, NULL, 0);
	EXPECT_EPERM(BCV_IOC_LIST, &l);
}

/*------------------------------------------------------------------------*/
/* BCV_IOC_REMOVE                                                         */
/*------------------------------------------------------------------------*/

CASE(remove_unknown_name)
{
	struct bcv_remove r;

	remove_init(&r, "bcvt_no_such_volume");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_REMOVE, &r));
	remove_init(&r, "bcvt_st");		/* a prefix of a real name */
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_REMOVE, &r));
	remove_init(&r, "bcvt_st\xe9");	/* cannot name a volume */
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_REMOVE, &r));
}

CASE(remove_name_without_nul)
{
	struct bcv_remove r;

	remove_init(&r, "");
	memset(r.name, 'n', sizeof(r.name));
	EXPECT_ERRNO(ENAMETOOLONG, ioctl(ctl, BCV_IOC_REMOVE, &r));
}

CASE(remove_open_volume_busy)
{
	struct bcv_vol_info vi;
	struct bcv_remove r;
	char path[64];
	int fd;

	ASSERT_TRUE(std_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	remove_init(&r, STD_NAME);
	EXPECT_ERRNO(EBUSY, ioctl(ctl, BCV_IOC_REMOVE, &r));
	EXPECT_TRUE(find_volume(STD_NAME, &vi));
	EXPECT_TRUE(vi.open_count >= 1);
	close(fd);
}

static void remove_and_check_gone(struct __test_metadata *const _metadata,
				  const char *name, int index)
{
	char path[64];
	int i;

	ASSERT_OK(remove_volume(name));
	EXPECT_TRUE(!find_volume(name, NULL));
	snprintf(path, sizeof(path), "/sys/block/bcv%d", index);
	for (i = 0; i < 100 && access(path, F_OK) == 0; i++)
		sleep_ms(20);
	EXPECT_TRUE(access(path, F_OK) != 0);
}

CASE(remove_std)
{
	remove_and_check_gone(_metadata, STD_NAME, std_index);
}

CASE(remove_bcv)
{
	remove_and_check_gone(_metadata, BCV_NAME, bcv_index);
}

CASE(remove_twice)
{
	struct bcv_remove r;

	remove_init(&r, STD_NAME);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_REMOVE, &r));
}

CASE(clean_at_end)
{
	struct bcv_list l;

	list_init(&l, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_LIST, &l));
	EXPECT_EQ(count0, l.count);
}

/*------------------------------------------------------------------------*/
/* Sessions: BCV_IOC_SESSION, BCV_IOC_QUERY, BCV_IOC_WAIT                 */
/*------------------------------------------------------------------------*/

/*
 * BCV_NAME has 128 KiB tracks and cannot pair with the STD's 64 KiB ones;
 * the sessions use BCV2_NAME on DEV3, which has the STD's track size and
 * the same capacity.
 */

static void sess_init(struct bcv_session_cmd *c, uint32_t cmd,
		      const char *std, const char *bcv)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->cmd = cmd;
	snprintf(c->std, sizeof(c->std), "%s", std);
	snprintf(c->bcv, sizeof(c->bcv), "%s", bcv);
}

static void wait_init(struct bcv_wait *w, const char *std, const char *bcv,
		      uint32_t timeout_ms)
{
	memset(w, 0, sizeof(*w));
	w->size = sizeof(*w);
	w->timeout_ms = timeout_ms;
	snprintf(w->std, sizeof(w->std), "%s", std);
	snprintf(w->bcv, sizeof(w->bcv), "%s", bcv);
}

/* The first @usize bytes of @full, @size = @usize, ending at @end. */
static void *at_end(unsigned char *end, const void *full, uint32_t usize)
{
	memcpy(end - usize, full, usize);
	memcpy(end - usize, &usize, sizeof(usize));
	return end - usize;
}

/*
 * Old-size structs that end where readable memory ends: the kernel touches
 * nothing past @size (else EFAULT).  VERSION, LIST and QUERY succeed; the
 * others name no volume or device and get ENOENT, not EFAULT.
 */
CASE(old_size_at_page_end)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct bcv_version *v;
	struct bcv_query *q;
	struct bcv_list *l;
	unsigned char *p, *end;
	union {
		struct bcv_version v;
		struct bcv_create c;
		struct bcv_remove r;
		struct bcv_list l;
		struct bcv_session_cmd s;
		struct bcv_query q;
		struct bcv_wait w;
		struct bcv_leg_cmd g;
		struct bcv_stop st;
		struct bcv_assemble a;
	} full;

	p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(mprotect(p + pg, pg, PROT_NONE));
	end = p + pg;

	fill_version(&full.v);
	v = at_end(end, &full, VERSION_SIZE_VER0);
	EXPECT_OK(ioctl(ctl, BCV_IOC_VERSION, v));
	EXPECT_EQ(BCV_VERSION_MAJOR, v->major);
	EXPECT_TRUE(v->features & BCV_FEAT_VOLUMES);
	list_init(&full.l, NULL, 0);
	l = at_end(end, &full, LIST_SIZE_VER0);
	EXPECT_OK(ioctl(ctl, BCV_IOC_LIST, l));
	EXPECT_EQ(count0, l->count);
	query_init(&full.q, NULL, NULL, 0);
	q = at_end(end, &full, QUERY_SIZE_VER0);
	EXPECT_OK(ioctl(ctl, BCV_IOC_QUERY, q));
	EXPECT_EQ(sess0, q->count);
	create_init(&full.c, BCV_ROLE_STD, NEW_NAME,
		    "/dev/bcvt-no-such-device");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_CREATE,
				   at_end(end, &full, CREATE_SIZE_VER0)));
	remove_init(&full.r, "bcvt_nosuch");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_REMOVE,
				   at_end(end, &full, REMOVE_SIZE_VER0)));
	sess_init(&full.s, BCV_CMD_ESTABLISH, "bcvt_nosuch", "bcvt_nosuch2");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_SESSION,
				   at_end(end, &full, SESSION_SIZE_VER0)));
	wait_init(&full.w, "bcvt_nosuch", "bcvt_nosuch2", 1000);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_WAIT,
				   at_end(end, &full, WAIT_SIZE_VER0)));
	leg_init(&full.g, BCV_LEG_ADD, "bcvt_nosuch", dev[1]);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_LEG,
				   at_end(end, &full, LEG_SIZE_VER0)));
	stop_init(&full.st, "bcvt_nosuch");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_STOP,
				   at_end(end, &full, STOP_SIZE_VER0)));
	assemble_init(&full.a, 1, "/dev/bcvt-no-such-device", NULL);
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_ASSEMBLE,
				   at_end(end, &full, ASSEMBLE_SIZE_VER0)));
	munmap(p, 2 * pg);
}

/*
 * A refusal is copied back with its reason (BCV_FEAT_REASONS): the
 * struct's state, reason and detail; a struct refused for its own fields
 * (EINVAL before the command) is not written.
 */
CASE(session_refusal_reason)
{
	struct bcv_session_cmd c;

	sess_init(&c, BCV_CMD_ESTABLISH, "bcvt_nosuch", "bcvt_nosuch2");
	EXPECT_ERRNO(ENOENT, ioctl(ctl, BCV_IOC_SESSION, &c));
	EXPECT_EQ(BCV_R_NO_VOLUME, c.reason);
	EXPECT_EQ(0, c.detail);
	EXPECT_EQ(0, c.state);
	sess_init(&c, BCV_CMD_ESTABLISH, "bcvt_nosuch", "bcvt_nosuch2");
	c.reserved[2] = 7;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_SESSION, &c));
	EXPECT_EQ(0, c.reason);
	EXPECT_EQ(7, c.reserved[2]);
	sess_init(&c, BCV_CMD_ESTABLISH, "bcvt_nosuch", "bcvt_nosuch2");
	c.reason = BCV_R_STATE;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_SESSION, &c));
	sess_init(&c, BCV_CMD_ESTABLISH, "bcvt_nosuch", "bcvt_nosuch2");
	c.detail = 1;
	EXPECT_ERRNO(EINVAL, ioctl(ctl, BCV_IOC_SESSION, &c));
}

static const char *cmd_name(uint32_t cmd)
{
	static char buf[16];

	switch (cmd) {
	case BCV_CMD_ESTABLISH:		return "ESTABLISH";
	case BCV_CMD_SPLIT:		return "SPLIT";
	case BCV_CMD_REESTABLISH:	return "REESTABLISH";
	case BCV_CMD_RESTORE:		return "RESTORE";
	case BCV_CMD_TERMINATE:		return "TERMINATE";
	case BCV_CMD_PAUSE:		return "PAUSE";
	case BCV_CMD_RESUME:		return "RESUME";
	case BCV_CMD_ABORT:		return "ABORT";
	}
	snprintf(buf, sizeof(buf), "cmd %u", cmd);
	return buf;
}

/* BCV_IOC_SESSION on a copy of @c0; checks the errno, names the call. */
static void sess_expect(struct __test_metadata *const _metadata, int line,
			int want, const struct bcv_session_cmd *c0)
{
	struct bcv_session_cmd c = *c0;
	char what[160];
	long ret;
	int err;

	errno = 0;
	ret = ioctl(ctl, BCV_IOC_SESSION, &c);
	err = errno;
	snprintf(what, sizeof(what),
		 "SESSION %s flags 0x%x state %u std \"%.32s\" bcv \"%.32s\"",
		 cmd_name(c0->cmd), c0->flags, c0->state, c0->std, c0->bcv);
	check_errno(_metadata, line, what, want, ret, err);
}

#define SESS_EXPECT(want, c) sess_expect(_metadata, __LINE__, want, c)

/* The common case: @cmd with @flags on a pair of names. */
static void sess_expect_names(struct __test_metadata *const _metadata, int line,
			      int want, uint32_t cmd, uint32_t flags,
			      const char *std, const char *bcv)
{
	struct bcv_session_cmd c;

	sess_init(&c, cmd, std, bcv);
	c.flags = flags;
	sess_expect(_metadata, line, want, &c);
}

#define SESS_NAMES_EXPECT(want, cmd, flags, std, bcv) \
	sess_expect_names(_metadata, __LINE__, want, cmd, flags, std, bcv)

static void wait_expect(struct __test_metadata *const _metadata, int line,
			int want, const struct bcv_wait *w0)
{
	struct bcv_wait w = *w0;
	char what[160];
	long ret;
	int err;

	errno = 0;
	ret = ioctl(ctl, BCV_IOC_WAIT, &w);
	err = errno;
	snprintf(what, sizeof(what),
		 "WAIT flags 0x%x state %u std \"%.32s\" bcv \"%.32s\"",
		 w0->flags, w0->state, w0->std, w0->bcv);
	check_errno(_metadata, line, what, want, ret, err);
}

#define WAIT_EXPECT(want, w) wait_expect(_metadata, __LINE__, want, w)

static void wait_expect_names(struct __test_metadata *const _metadata, int line,
			      int want, const char *std, const char *bcv)
{
	struct bcv_wait w;

	wait_init(&w, std, bcv, 1000);
	wait_expect(_metadata, line, want, &w);
}

#define WAIT_NAMES_EXPECT(want, std, bcv) \
	wait_expect_names(_metadata, __LINE__, want, std, bcv)

static void query_expect(struct __test_metadata *const _metadata, int line,
			 int want, const struct bcv_query *q0)
{
	struct bcv_query q = *q0;
	char what[160];
	long ret;
	int err;

	errno = 0;
	ret = ioctl(ctl, BCV_IOC_QUERY, &q);
	err = errno;
	snprintf(what, sizeof(what),
		 "QUERY info_size %u capacity %u count %u name \"%.32s\"",
		 q0->info_size, q0->capacity, q0->count, q0->name);
	check_errno(_metadata, line, what, want, ret, err);
}

#define QUERY_EXPECT(want, q) query_expect(_metadata, __LINE__, want, q)

static void alarm_handler(int sig)
{
	(void)sig;
}

/* BCV_IOC_WAIT, interrupted by SIGALRM if it takes longer than @ms. */
static int wait_guarded(struct bcv_wait *w, long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa, old;
	int ret, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	ret = ioctl(ctl, BCV_IOC_WAIT, w);
	err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	errno = err;
	return ret;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A command that needs the BCV (or, for RESTORE, the STD) not open, while
 * udev may still be probing it: retry EBUSY for up to 5 s.
 */
static int sess_retry_busy(struct bcv_session_cmd *c)
{
	struct bcv_session_cmd c0 = *c;
	int i, ret = -1;

	for (i = 0; i < 250; i++) {
		*c = c0;
		ret = ioctl(ctl, BCV_IOC_SESSION, c);
		if (ret == 0 || errno != EBUSY)
			break;
		sleep_ms(20);
	}
	return ret;
}

/* Undo a session: wait for its copy, split, terminate (errors ignored). */
static void end_session(const char *std, const char *bcv)
{
	struct bcv_session_cmd c;
	struct bcv_wait w;

	wait_init(&w, std, bcv, 60000);
	if (ioctl(ctl, BCV_IOC_WAIT, &w))
		diag("cannot wait for session %s/%s: %s", std, bcv,
		     strerror(errno));
	sess_init(&c, BCV_CMD_SPLIT, std, bcv);
	ioctl(ctl, BCV_IOC_SESSION, &c);
	sess_init(&c, BCV_CMD_TERMINATE, std, bcv);
	if (ioctl(ctl, BCV_IOC_SESSION, &c))
		diag("cannot terminate session %s/%s: %s", std, bcv,
		     strerror(errno));
}

/* The one session of @name (STD or BCV), or false. */
static bool query_one(struct __test_metadata *const _metadata, const char *name,
		      struct bcv_sess_info *out)
{
	struct bcv_sess_info si[2];
	struct bcv_query q;

	query_init(&q, name, si, 2);
	if (ioctl(ctl, BCV_IOC_QUERY, &q)) {
		FAIL_LOG("QUERY %s: %s", name, strerror(errno));
		return false;
	}
	if (q.count != 1) {
		FAIL_LOG("QUERY %s: count %u, want 1", name, q.count);
		return false;
	}
	*out = si[0];
	return true;
}

static uint64_t std_tracks(void)
{
	return (data_sectors(dev[0], 0) * 512 + BCV_TRACK_SIZE_DEFAULT - 1) /
	       BCV_TRACK_SIZE_DEFAULT;
}

static void check_names_and_reserved(struct __test_metadata *const _metadata,
				     const struct bcv_sess_info *si)
{
	size_t i;

	EXPECT_STREQ(STD_NAME, si->std);
	EXPECT_STREQ(BCV2_NAME, si->bcv);
	for (i = 0; i < ARRAY_SIZE(si->reserved); i++)
		EXPECT_EQ(0, si->reserved[i]);
}

/* Wait up to 5 s for @name to have no opener (udev probes new disks). */
static void wait_closed(const char *name)
{
	struct bcv_vol_info vi;
	int i;

	for (i = 0; i < 250; i++) {
		if (find_volume(name, &vi) && !vi.open_count)
			return;
		sleep_ms(20);
	}
	diag("%s is still open", name);
}

/* --- no session yet -------------------------------------------------- */

CASE(query_no_session)
{
	struct bcv_sess_info si[2];
	struct bcv_query q;

	query_init(&q, NULL, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(sess0, q.count);
	EXPECT_EQ(sizeof(q), q.size);
	EXPECT_EQ(sizeof(si[0]), q.info_size);

	memset(si, 0xa5, sizeof(si));
	query_init(&q, STD_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
	EXPECT_TRUE(all_bytes(si, 0xa5, sizeof(si)));
	query_init(&q, BCV_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
}

CASE(create_bcv2)
{
	struct bcv_create c;
	char path[64];

	create_init(&c, BCV_ROLE_BCV, BCV2_NAME, dev[2]);
	ASSERT_OK(do_create(&c));
	bcv2_index = (int)c.index;
	diag("%s is /dev/bcv%d", BCV2_NAME, bcv2_index);
	EXPECT_EQ(data_sectors(dev[2], 0), c.sectors);
	EXPECT_EQ(meta_sectors(dev[2], 0), c.meta_sectors);
	snprintf(path, sizeof(path), "/dev/bcv%d", bcv2_index);
	EXPECT_TRUE(wait_path(path));
	if (data_sectors(dev[2], 0) < data_sectors(dev[0], 0))
		diag("warning: DEV3 is smaller than DEV1, ESTABLISH will fail");
}

/* An ESTABLISH that would succeed: BCV2_NAME is in no session yet. */
static void fill_session(void *buf)
{
	sess_init(buf, BCV_CMD_ESTABLISH, STD_NAME, BCV2_NAME);
}

/* A query that succeeds. */
static void fill_query(void *buf)
{
	query_init(buf, NULL, NULL, 0);
}

/* A wait that succeeds at once: these cases run while synchronized. */
static void fill_wait(void *buf)
{
	wait_init(buf, STD_NAME, BCV2_NAME, 1000);
}

static const struct abi_struct abi_session = {
	"session", BCV_IOC_SESSION, sizeof(struct bcv_session_cmd),
	SESSION_SIZE_VER0, fill_session,
	offsetof(struct bcv_session_cmd, reserved),
	sizeof(((struct bcv_session_cmd *)0)->reserved),
};
static const struct abi_struct abi_query = {
	"query", BCV_IOC_QUERY, sizeof(struct bcv_query), QUERY_SIZE_VER0,
	fill_query,
	offsetof(struct bcv_query, reserved),
	sizeof(((struct bcv_query *)0)->reserved),
};
static const struct abi_struct abi_wait = {
	"wait", BCV_IOC_WAIT, sizeof(struct bcv_wait), WAIT_SIZE_VER0,
	fill_wait,
	offsetof(struct bcv_wait, reserved),
	sizeof(((struct bcv_wait *)0)->reserved),
};

ABI_TESTS(session)
ABI_TESTS(query)
ABI_TESTS(wait)
CASE(query_every_size) { abi_every_size(_metadata, &abi_query); }
CASE(wait_every_size) { abi_every_size(_metadata, &abi_wait); }

CASE(session_state_nonzero)
{
	static const uint32_t st[] = {
		1, BCV_STATE_SYNCHRONIZED, BCV_STATE_SPLIT, 0x80000000U,
		UINT32_MAX,
	};
	struct bcv_session_cmd c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(st); i++) {
		fill_session(&c);
		c.state = st[i];
		SESS_EXPECT(EINVAL, &c);
		/* TERMINATE would be ENOENT: no session yet. */
		sess_init(&c, BCV_CMD_TERMINATE, STD_NAME, BCV2_NAME);
		c.state = st[i];
		SESS_EXPECT(EINVAL, &c);
	}
}

CASE(session_unknown_cmd)
{
	static const uint32_t cmds[] = {
		0, BCV_CMD_ABORT + 1, 10, 0x100, 0x80000001U, UINT32_MAX,
	};
	struct bcv_session_cmd c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		fill_session(&c);
		c.cmd = cmds[i];
		SESS_EXPECT(EINVAL, &c);
	}
}

static const uint32_t cmd_flags[] = {
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

/* BCV_IOC_SPLIT_GROUP of @g (its pairs at @p); the errno, @g updated. */
static int group_ioctl(struct bcv_split_group *g, struct bcv_pair *p)
{
	g->pairs = (uintptr_t)p;
	errno = 0;
	return ioctl(ctl, BCV_IOC_SPLIT_GROUP, g) ? errno : 0;
}

static void group_init(struct bcv_split_group *g, struct bcv_pair *p,
		       uint32_t n)
{
	uint32_t i;

	memset(g, 0, sizeof(*g));
	g->size = sizeof(*g);
	g->nr_pairs = n;
	memset(p, 0, n * sizeof(*p));
	for (i = 0; i < n; i++) {
		snprintf(p[i].std, sizeof(p[i].std), "%s", STD_NAME);
		snprintf(p[i].bcv, sizeof(p[i].bcv), "%s", BCV2_NAME);
	}
}

/*
 * BCV_IOC_SPLIT_GROUP: the struct's checks (EINVAL, EFAULT), then each
 * pair's, with @failed naming the first bad one (copied back on errors).
 */
CASE(split_group_args)
{
	static struct bcv_pair p[BCV_GROUP_MAX + 1];
	struct bcv_split_group g;

	group_init(&g, p, 1);
	g.nr_pairs = 0;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, BCV_GROUP_MAX + 1);
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.flags = BCV_CMD_F_FORCE;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.flags = 1U << 31;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.reserved[2] = 1;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.reason = 1;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.detail = 1;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.failed = 1;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.hold_ns = 1;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 1);
	g.size = 16;
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	group_init(&g, p, 2);
	EXPECT_EQ(EFAULT, group_ioctl(&g, NULL));

	/* The second pair is bad: @failed is 1. */
	group_init(&g, p, 2);
	memset(p[1].bcv, 'n', sizeof(p[1].bcv));
	EXPECT_EQ(ENAMETOOLONG, group_ioctl(&g, p));
	EXPECT_EQ(1, g.failed);
	group_init(&g, p, 2);
	snprintf(p[1].bcv, sizeof(p[1].bcv), "%s", STD_NAME);
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	EXPECT_EQ(1, g.failed);
	group_init(&g, p, 2);
	snprintf(p[0].bcv, sizeof(p[0].bcv), "bcvt_nosuch");
	EXPECT_EQ(ENOENT, group_ioctl(&g, p));
	EXPECT_EQ(0, g.failed);
	/* Roles swapped, then a pair in no session. */
	group_init(&g, p, 1);
	snprintf(p[0].std, sizeof(p[0].std), "%s", BCV2_NAME);
	snprintf(p[0].bcv, sizeof(p[0].bcv), "%s", STD_NAME);
	EXPECT_EQ(EINVAL, group_ioctl(&g, p));
	EXPECT_EQ(0, g.failed);
	group_init(&g, p, 1);
	EXPECT_EQ(ENOENT, group_ioctl(&g, p));
	EXPECT_EQ(0, g.failed);
}

/*
 * Every flag a command does not define is refused.  Only ESTABLISH would
 * succeed here; the others would be ENOENT (no session), so EINVAL is the
 * flags check either way.
 */
CASE(session_flags_invalid)
{
	uint32_t cmd, bit;

	for (cmd = BCV_CMD_ESTABLISH; cmd <= BCV_CMD_ABORT; cmd++) {
		for (bit = 0; bit < 32; bit++) {
			if (cmd_flags[cmd] & (1U << bit))
				continue;
			SESS_NAMES_EXPECT(EINVAL, cmd, 1U << bit, STD_NAME,
					  BCV2_NAME);
			/* ... also next to a valid one */
			if (cmd_flags[cmd])
				SESS_NAMES_EXPECT(EINVAL, cmd,
						  cmd_flags[cmd] | 1U << bit,
						  STD_NAME, BCV2_NAME);
		}
	}
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_ESTABLISH, BCV_CMD_F_DIFF,
			  STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_SPLIT, BCV_CMD_F_INCREMENTAL,
			  STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_PAUSE, BCV_CMD_F_FORCE,
			  STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_RESTORE, BCV_CMD_F_DIFF,
			  STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_TERMINATE, BCV_CMD_F_FORCE,
			  STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_REESTABLISH, BCV_CMD_F_INCREMENTAL,
			  STD_NAME, BCV2_NAME);
}

/* Names that cannot name a volume: no such volume. */
static const char *const bad_names[] = {
	"", "a/b", "/", ".", "..", ".hidden", "-opt", "a b", " ab", "a\tb",
	"a:b", "a*b", "caf\xc3\xa9", "caf\xe9", "\xc0", STD_NAME "\n",
};

CASE(session_bad_names)
{
	struct bcv_session_cmd c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		SESS_NAMES_EXPECT(ENOENT, BCV_CMD_ESTABLISH, 0, bad_names[i],
				  BCV2_NAME);
		SESS_NAMES_EXPECT(ENOENT, BCV_CMD_ESTABLISH, 0, STD_NAME,
				  bad_names[i]);
	}
	fill_session(&c);
	memset(c.std, 'n', sizeof(c.std));	/* no NUL in 32 bytes */
	SESS_EXPECT(ENAMETOOLONG, &c);
	fill_session(&c);
	memset(c.bcv, 'n', sizeof(c.bcv));
	SESS_EXPECT(ENAMETOOLONG, &c);
	fill_session(&c);
	memset(c.std, 'n', sizeof(c.std));
	memset(c.bcv, 'n', sizeof(c.bcv));
	SESS_EXPECT(ENAMETOOLONG, &c);
}

CASE(session_same_name)
{
	uint32_t cmd;

	for (cmd = BCV_CMD_ESTABLISH; cmd <= BCV_CMD_ABORT; cmd++) {
		SESS_NAMES_EXPECT(EINVAL, cmd, 0, STD_NAME, STD_NAME);
		SESS_NAMES_EXPECT(EINVAL, cmd, 0, BCV2_NAME, BCV2_NAME);
	}
}

CASE(session_no_such_volume)
{
	uint32_t cmd;

	for (cmd = BCV_CMD_ESTABLISH; cmd <= BCV_CMD_ABORT; cmd++) {
		SESS_NAMES_EXPECT(ENOENT, cmd, 0, "bcvt_nosuch", BCV2_NAME);
		SESS_NAMES_EXPECT(ENOENT, cmd, 0, STD_NAME, "bcvt_nosuch");
		SESS_NAMES_EXPECT(ENOENT, cmd, 0, "bcvt_nosuch", "bcvt_nosuch2");
		/* prefixes of real names */
		SESS_NAMES_EXPECT(ENOENT, cmd, 0, "bcvt_st", BCV2_NAME);
		SESS_NAMES_EXPECT(ENOENT, cmd, 0, STD_NAME, "bcvt_bcv2x");
	}
}

CASE(session_wrong_roles)
{
	uint32_t cmd;

	for (cmd = BCV_CMD_ESTABLISH; cmd <= BCV_CMD_ABORT; cmd++) {
		/* both roles swapped */
		SESS_NAMES_EXPECT(EINVAL, cmd, 0, BCV2_NAME, STD_NAME);
		/* a BCV where the STD is expected */
		SESS_NAMES_EXPECT(EINVAL, cmd, 0, BCV_NAME, BCV2_NAME);
		SESS_NAMES_EXPECT(EINVAL, cmd, 0, BCV2_NAME, BCV_NAME);
	}
}

/*
 * BCV_NAME has bigger tracks than the STD: their tables cannot pair
 * (bcv_trackmap.c check_pair()), refused like a BCV too small.
 */
CASE(session_track_size_mismatch)
{
	SESS_NAMES_EXPECT(EINVAL, BCV_CMD_ESTABLISH, 0, STD_NAME, BCV_NAME);
}

/*
 * A BCV smaller than the STD: over a 64 MiB loop device (the volume exists
 * only during the case).
 */
CASE(session_bcv_too_small)
{
	char file[] = "/tmp/bcvt_small.XXXXXX", loopdev[64], sysdir[64];
	struct bcv_create c;
	int fd, lc, loop = -1, n, i;

	/* /dev/loop-control may exist without the driver (devtmpfs). */
	if (system("modprobe loop >/dev/null 2>&1") != 0)
		diag("modprobe loop failed");
	lc = open("/dev/loop-control", O_RDWR);
	if (lc < 0)
		SKIP(return, "no loop driver: %s", strerror(errno));
	n = ioctl(lc, LOOP_CTL_GET_FREE);
	close(lc);
	if (n < 0)
		SKIP(return, "no free loop device: %s", strerror(errno));
	snprintf(loopdev, sizeof(loopdev), "/dev/loop%d", n);
	fd = mkstemp(file);
	ASSERT_TRUE(fd >= 0);
	unlink(file);
	if (ftruncate(fd, 64 << 20) == 0 && wait_path(loopdev))
		loop = open(loopdev, O_RDWR);
	if (loop < 0 || ioctl(loop, LOOP_SET_FD, fd)) {
		int err = errno;

		if (loop >= 0)
			close(loop);
		close(fd);
		SKIP(return, "cannot set up %s: %s", loopdev, strerror(err));
	}
	close(fd);

	create_init(&c, BCV_ROLE_BCV, NEW_NAME, loopdev);
	if (do_create(&c) == 0) {
		SESS_NAMES_EXPECT(EINVAL, BCV_CMD_ESTABLISH, 0, STD_NAME,
				  NEW_NAME);
		EXPECT_OK(remove_volume(NEW_NAME));
		snprintf(sysdir, sizeof(sysdir), "/sys/block/bcv%u", c.index);
		for (i = 0; i < 100 && access(sysdir, F_OK) == 0; i++)
			sleep_ms(20);
	} else {
		FAIL_LOG("create %s on %s: %s", NEW_NAME, loopdev,
			 strerror(errno));
	}
	if (ioctl(loop, LOOP_CLR_FD))
		diag("LOOP_CLR_FD %s: %s", loopdev, strerror(errno));
	close(loop);
}

CASE(session_no_session)
{
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_SPLIT, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_SPLIT, BCV_CMD_F_DIFF, STD_NAME,
			  BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_REESTABLISH, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_RESTORE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_RESTORE,
			  BCV_CMD_F_INCREMENTAL | BCV_CMD_F_FORCE, STD_NAME,
			  BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_TERMINATE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_TERMINATE, 0, STD_NAME, BCV_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_PAUSE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_RESUME, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_ABORT, 0, STD_NAME, BCV2_NAME);
}

CASE(session_establish_bcv_open_busy)
{
	char path[64];
	int fd;

	ASSERT_TRUE(bcv2_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", bcv2_index);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_ESTABLISH, 0, STD_NAME, BCV2_NAME);
	close(fd);
}

/*
 * An ESTABLISH that would succeed, in a read-only page: EFAULT before the
 * session is made, not after (the fixture also checks nothing changed).
 */
CASE(session_readonly_efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct bcv_query q;
	unsigned char *p;

	p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	fill_session(p);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_SESSION, p));
	munmap(p, pg);
	query_init(&q, STD_NAME, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
}

CASE(query_bigger_size_zero_tail)
{
	unsigned char buf[sizeof(struct bcv_query) + 64];
	struct bcv_query *q = (void *)buf;

	memset(buf, 0, sizeof(buf));
	fill_query(buf);
	q->size = sizeof(buf);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, buf));
	EXPECT_EQ(sess0, q->count);
	EXPECT_TRUE(all_bytes(buf + sizeof(*q), 0, 64));
}

CASE(query_count_nonzero)
{
	static const uint32_t n[] = { 1, 2, 0x80000000U, UINT32_MAX };
	struct bcv_sess_info si[2];
	struct bcv_query q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(n); i++) {
		query_init(&q, NULL, NULL, 0);
		q.count = n[i];
		QUERY_EXPECT(EINVAL, &q);
		query_init(&q, STD_NAME, si, 2);
		q.count = n[i];
		QUERY_EXPECT(EINVAL, &q);
	}
}

CASE(query_info_size_too_small)
{
	static const uint32_t sz[] = {
		0, 8, SESS_INFO_SIZE_VER0 - 8, SESS_INFO_SIZE_VER0 - 1,
		ABI_SIZE_MAX + 1, 65536, UINT32_MAX,
	};
	struct bcv_sess_info si[2];
	struct bcv_query q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sz); i++) {
		query_init(&q, NULL, NULL, 0);
		q.info_size = sz[i];
		QUERY_EXPECT(EINVAL, &q);
		query_init(&q, NULL, si, 2);
		q.info_size = sz[i];
		QUERY_EXPECT(EINVAL, &q);
	}
}

CASE(query_bad_names)
{
	struct bcv_query q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		if (!bad_names[i][0])
			continue;	/* empty: all sessions */
		query_init(&q, bad_names[i], NULL, 0);
		QUERY_EXPECT(ENOENT, &q);
	}
	query_init(&q, NULL, NULL, 0);
	memset(q.name, 'n', sizeof(q.name));	/* no NUL in 32 bytes */
	QUERY_EXPECT(ENAMETOOLONG, &q);
}

CASE(query_unknown_name)
{
	struct bcv_query q;

	query_init(&q, "bcvt_nosuch", NULL, 0);
	QUERY_EXPECT(ENOENT, &q);
	query_init(&q, "bcvt_st", NULL, 0);	/* a prefix of a real name */
	QUERY_EXPECT(ENOENT, &q);
}

/* An empty name means all sessions, and must be all zero. */
CASE(query_empty_name_not_zero)
{
	struct bcv_query q;

	query_init(&q, NULL, NULL, 0);
	q.name[1] = 'x';
	QUERY_EXPECT(EINVAL, &q);
	query_init(&q, NULL, NULL, 0);
	q.name[BCV_NAME_LEN - 1] = 1;
	QUERY_EXPECT(EINVAL, &q);
	query_init(&q, NULL, NULL, 0);
	memcpy(q.name + 1, STD_NAME, sizeof(STD_NAME));
	QUERY_EXPECT(EINVAL, &q);
}

CASE(wait_state_nonzero)
{
	static const uint32_t st[] = {
		1, BCV_STATE_SYNCHRONIZED, 0x80000000U, UINT32_MAX,
	};
	struct bcv_wait w;
	size_t i;

	/* Without the check: ENOENT, there is no session yet. */
	for (i = 0; i < ARRAY_SIZE(st); i++) {
		fill_wait(&w);
		w.state = st[i];
		WAIT_EXPECT(EINVAL, &w);
	}
}

CASE(wait_flags_nonzero)
{
	struct bcv_wait w;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		fill_wait(&w);
		w.flags = 1U << bit;
		WAIT_EXPECT(EINVAL, &w);
	}
}

CASE(wait_bad_names)
{
	struct bcv_wait w;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		WAIT_NAMES_EXPECT(ENOENT, bad_names[i], BCV2_NAME);
		WAIT_NAMES_EXPECT(ENOENT, STD_NAME, bad_names[i]);
	}
	fill_wait(&w);
	memset(w.std, 'n', sizeof(w.std));
	WAIT_EXPECT(ENAMETOOLONG, &w);
	fill_wait(&w);
	memset(w.bcv, 'n', sizeof(w.bcv));
	WAIT_EXPECT(ENAMETOOLONG, &w);
}

CASE(wait_no_such_volume)
{
	WAIT_NAMES_EXPECT(ENOENT, "bcvt_nosuch", BCV2_NAME);
	WAIT_NAMES_EXPECT(ENOENT, STD_NAME, "bcvt_nosuch");
	WAIT_NAMES_EXPECT(ENOENT, "bcvt_st", BCV2_NAME);
}

CASE(wait_wrong_roles)
{
	WAIT_NAMES_EXPECT(EINVAL, BCV2_NAME, STD_NAME);
	WAIT_NAMES_EXPECT(EINVAL, BCV_NAME, BCV2_NAME);
	WAIT_NAMES_EXPECT(EINVAL, STD_NAME, STD_NAME);
}

CASE(wait_no_session)
{
	WAIT_NAMES_EXPECT(ENOENT, STD_NAME, BCV2_NAME);
	WAIT_NAMES_EXPECT(ENOENT, STD_NAME, BCV_NAME);
}

/* --- STD_NAME and BCV2_NAME attached ------------------------------------ */

CASE(establish)
{
	struct bcv_session_cmd c;
	struct bcv_sess_info si;
	struct bcv_query q;
	size_t i;

	if (find_volume(BCV2_NAME, NULL))
		wait_closed(BCV2_NAME);
	sess_init(&c, BCV_CMD_ESTABLISH, STD_NAME, BCV2_NAME);
	ASSERT_OK(sess_retry_busy(&c));
	diag("ESTABLISH: state %u", c.state);
	EXPECT_TRUE(c.state == BCV_STATE_SYNCINPROG ||
		    c.state == BCV_STATE_SYNCHRONIZED);
	EXPECT_EQ(sizeof(c), c.size);
	EXPECT_EQ(BCV_CMD_ESTABLISH, c.cmd);
	EXPECT_EQ(0, c.flags);
	EXPECT_STREQ(STD_NAME, c.std);
	EXPECT_STREQ(BCV2_NAME, c.bcv);
	for (i = 0; i < ARRAY_SIZE(c.reserved); i++)
		EXPECT_EQ(0, c.reserved[i]);

	query_init(&q, NULL, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(sess0 + 1, q.count);
	if (query_one(_metadata, STD_NAME, &si))
		diag("after ESTABLISH: state %u, %llu of %llu tracks to copy, "
		     "%llu BCV-changed", si.state,
		     (unsigned long long)si.invalid_tracks,
		     (unsigned long long)si.tracks,
		     (unsigned long long)si.bcv_changed_tracks);

	/* Still copying: a short WAIT times out (or the copy just ended). */
	if (c.state == BCV_STATE_SYNCINPROG) {
		struct bcv_wait w;
		int ret;

		wait_init(&w, STD_NAME, BCV2_NAME, 1);
		errno = 0;
		ret = ioctl(ctl, BCV_IOC_WAIT, &w);
		if (ret == 0) {
			diag("WAIT with a 1 ms timeout: the copy is done");
			EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
		} else {
			check_errno(_metadata, __LINE__,
				    "WAIT with a 1 ms timeout", ETIMEDOUT, ret,
				    errno);
		}
		/* A signal ends a WAIT without a timeout. */
		wait_init(&w, STD_NAME, BCV2_NAME, 0);
		errno = 0;
		ret = wait_guarded(&w, 100);
		if (ret == 0) {
			diag("WAIT interrupted after 100 ms: the copy is done");
			EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
		} else {
			check_errno(_metadata, __LINE__,
				    "WAIT interrupted after 100 ms", EINTR, ret,
				    errno);
		}
	}
}

CASE(wait_synchronized)
{
	struct bcv_wait w;
	double t;

	wait_init(&w, STD_NAME, BCV2_NAME, 120000);
	t = now_s();
	ASSERT_OK(ioctl(ctl, BCV_IOC_WAIT, &w));
	diag("WAIT returned after %.2f s", now_s() - t);
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
	EXPECT_EQ(sizeof(w), w.size);
	EXPECT_EQ(120000, w.timeout_ms);

	/* Done: every timeout returns at once, 0 (none) included. */
	wait_init(&w, STD_NAME, BCV2_NAME, 0);
	t = now_s();
	EXPECT_OK(wait_guarded(&w, 10000));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
	wait_init(&w, STD_NAME, BCV2_NAME, 1);
	EXPECT_OK(ioctl(ctl, BCV_IOC_WAIT, &w));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
	wait_init(&w, STD_NAME, BCV2_NAME, UINT32_MAX);
	EXPECT_OK(wait_guarded(&w, 10000));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
	EXPECT_TRUE(now_s() - t < 2.0);
}

CASE(wait_bigger_size_zero_tail)
{
	unsigned char buf[sizeof(struct bcv_wait) + 64];
	struct bcv_wait *w = (void *)buf;

	memset(buf, 0, sizeof(buf));
	fill_wait(buf);
	w->size = sizeof(buf);
	ASSERT_OK(ioctl(ctl, BCV_IOC_WAIT, buf));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w->state);
	EXPECT_TRUE(all_bytes(buf + sizeof(*w), 0, 64));
}

CASE(query_count_only)
{
	struct bcv_sess_info si[2];
	struct bcv_query q;

	query_init(&q, NULL, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(sess0 + 1, q.count);
	query_init(&q, STD_NAME, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(1, q.count);
	/* capacity 0: the array is not written */
	memset(si, 0xa5, sizeof(si));
	query_init(&q, STD_NAME, si, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(1, q.count);
	EXPECT_TRUE(all_bytes(si, 0xa5, sizeof(si)));
}

CASE(query_fields)
{
	struct bcv_sess_info si[2];
	uint64_t tracks = std_tracks();
	struct bcv_query q;

	memset(si, 0xa5, sizeof(si));
	query_init(&q, STD_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	ASSERT_EQ(1, q.count);
	EXPECT_EQ(2, q.capacity);
	check_names_and_reserved(_metadata, &si[0]);
	EXPECT_EQ(0, si[0].id);		/* the STD's first session */
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, si[0].state);
	EXPECT_EQ(1, si[0].mm);		/* the STD's one leg is M1 */
	EXPECT_EQ(BCV_TRACK_SIZE_DEFAULT, si[0].track_size);
	EXPECT_EQ(tracks, si[0].tracks);
	EXPECT_EQ(0, si[0].invalid_tracks);
	EXPECT_EQ(tracks, si[0].std_changed_tracks);
	EXPECT_EQ(tracks, si[0].copied_tracks);
	EXPECT_EQ(0, si[0].errors);
	diag("bcv_changed_tracks %llu",
	     (unsigned long long)si[0].bcv_changed_tracks);
	EXPECT_TRUE(all_bytes(&si[1], 0xa5, sizeof(si[1])));
}

CASE(query_info_size_bigger)
{
	enum { XTRA = 64 };
	static unsigned char buf[2 * (sizeof(struct bcv_sess_info) + XTRA)];
	const size_t isz = sizeof(struct bcv_sess_info) + XTRA;
	struct bcv_sess_info si;
	struct bcv_query q;

	memset(buf, 0xa5, sizeof(buf));
	query_init(&q, BCV2_NAME, buf, 2);
	q.info_size = isz;
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	ASSERT_EQ(1, q.count);
	EXPECT_EQ(isz, q.info_size);
	memcpy(&si, buf, sizeof(si));
	check_names_and_reserved(_metadata, &si);
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, si.state);
	EXPECT_EQ(std_tracks(), si.tracks);
	EXPECT_TRUE(all_bytes(buf + sizeof(si), 0, XTRA));
	EXPECT_TRUE(all_bytes(buf + isz, 0xa5, isz));

	/* an odd size */
	memset(buf, 0xa5, sizeof(buf));
	query_init(&q, STD_NAME, buf, 1);
	q.info_size = sizeof(si) + 3;
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	ASSERT_EQ(1, q.count);
	memcpy(&si, buf, sizeof(si));
	check_names_and_reserved(_metadata, &si);
	EXPECT_TRUE(all_bytes(buf + sizeof(si), 0, 3));
	EXPECT_TRUE(all_bytes(buf + sizeof(si) + 3, 0xa5, 8));
}

/*
 * An older struct bcv_query of the first published size, asking for
 * entries of the first published struct bcv_sess_info.
 */
CASE(query_old_size)
{
	enum { ISZ = SESS_INFO_SIZE_VER0 };
	static unsigned char sess[2 * ISZ + CANARY_LEN]
		__attribute__((aligned(8)));
	unsigned char buf[QUERY_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_query full, *q;
	struct bcv_sess_info si;

	memset(sess, CANARY, sizeof(sess));
	query_init(&full, STD_NAME, sess, 2);
	full.info_size = ISZ;
	q = sized_struct(buf, &full, QUERY_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x05, QUERY_SIZE_VER0), q));
	ASSERT_EQ(1, q->count);
	EXPECT_EQ(QUERY_SIZE_VER0, q->size);
	EXPECT_EQ(ISZ, q->info_size);
	EXPECT_TRUE(canary_intact(buf, QUERY_SIZE_VER0));
	/* one entry of ISZ bytes; the second slot untouched */
	EXPECT_TRUE(all_bytes(sess + ISZ, CANARY, ISZ + CANARY_LEN));
	memset(&si, 0, sizeof(si));
	memcpy(&si, sess, ISZ);
	EXPECT_STREQ(STD_NAME, si.std);
	EXPECT_STREQ(BCV2_NAME, si.bcv);
	EXPECT_EQ(0, si.id);
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, si.state);
	EXPECT_EQ(1, si.mm);
	EXPECT_EQ(BCV_TRACK_SIZE_DEFAULT, si.track_size);
	EXPECT_EQ(std_tracks(), si.tracks);
	EXPECT_EQ(0, si.invalid_tracks);
	EXPECT_EQ(0, si.errors);
}

CASE(query_filter)
{
	struct bcv_sess_info si[MAX_SESS];
	struct bcv_query q;
	int i, n, ours = 0;

	query_init(&q, STD_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(1, q.count);
	EXPECT_STREQ(BCV2_NAME, si[0].bcv);
	query_init(&q, BCV2_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(1, q.count);
	EXPECT_STREQ(STD_NAME, si[0].std);
	/* a volume in no session */
	query_init(&q, BCV_NAME, si, 2);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
	query_init(&q, "bcvt_nosuch", si, 2);
	QUERY_EXPECT(ENOENT, &q);
	/* all sessions: ours among them, once */
	n = query_sessions(si);
	EXPECT_EQ(sess0 + 1, n);
	for (i = 0; i < n; i++)
		if (!strcmp(si[i].std, STD_NAME))
			ours++;
	EXPECT_EQ(1, ours);
}

CASE(query_bad_sessions_pointer)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct bcv_query q;
	unsigned char *p;

	query_init(&q, STD_NAME, NULL, 1);
	QUERY_EXPECT(EFAULT, &q);
	query_init(&q, STD_NAME, (void *)8, 1);
	QUERY_EXPECT(EFAULT, &q);

	p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	query_init(&q, STD_NAME, p, 1);
	QUERY_EXPECT(EFAULT, &q);
	/* the tail of a bigger info_size past the end of a mapping */
	munmap(p, pg);
	p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(mprotect(p + pg, pg, PROT_NONE));
	query_init(&q, STD_NAME, p + pg - sizeof(struct bcv_sess_info), 1);
	q.info_size = sizeof(struct bcv_sess_info) + 8;
	QUERY_EXPECT(EFAULT, &q);
	munmap(p, 2 * pg);
}

/* Attached: everything but SPLIT is refused. */
CASE(session_attached_busy)
{
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_ESTABLISH, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_REESTABLISH, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE,
			  BCV_CMD_F_INCREMENTAL | BCV_CMD_F_FORCE, STD_NAME,
			  BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_TERMINATE, 0, STD_NAME, BCV2_NAME);
}

static void remove_expect(struct __test_metadata *const _metadata, int line,
			  int want, const char *name, uint32_t flags)
{
	struct bcv_remove r;
	char what[96];
	long ret;

	remove_init(&r, name);
	r.flags = flags;
	errno = 0;
	ret = ioctl(ctl, BCV_IOC_REMOVE, &r);
	snprintf(what, sizeof(what), "REMOVE %s flags 0x%x", name, flags);
	check_errno(_metadata, line, what, want, ret, errno);
}

#define REMOVE_EXPECT(want, name, flags) \
	remove_expect(_metadata, __LINE__, want, name, flags)

CASE(remove_in_session_busy)
{
	REMOVE_EXPECT(EBUSY, BCV2_NAME, 0);
	REMOVE_EXPECT(EBUSY, STD_NAME, 0);
	/* FORCE ends split sessions only */
	REMOVE_EXPECT(EBUSY, BCV2_NAME, BCV_REMOVE_FORCE);
	REMOVE_EXPECT(EBUSY, STD_NAME, BCV_REMOVE_FORCE);
	EXPECT_TRUE(find_volume(STD_NAME, NULL));
	EXPECT_TRUE(find_volume(BCV2_NAME, NULL));
}

/* --- split ------------------------------------------------------------ */

CASE(split)
{
	unsigned char buf[sizeof(struct bcv_session_cmd) + 64];
	struct bcv_session_cmd *c = (void *)buf;
	struct bcv_sess_info si;

	/* also: a bigger struct with a zero tail is fine */
	memset(buf, 0, sizeof(buf));
	sess_init(c, BCV_CMD_SPLIT, STD_NAME, BCV2_NAME);
	c->size = sizeof(buf);
	ASSERT_OK(ioctl(ctl, BCV_IOC_SESSION, buf));
	EXPECT_EQ(BCV_STATE_SPLIT, c->state);
	EXPECT_EQ(sizeof(buf), c->size);
	EXPECT_TRUE(all_bytes(buf + sizeof(*c), 0, 64));

	if (!query_one(_metadata, STD_NAME, &si))
		return;
	check_names_and_reserved(_metadata, &si);
	EXPECT_EQ(BCV_STATE_SPLIT, si.state);
	EXPECT_EQ(-1, si.mm);
	EXPECT_EQ(0, si.id);
	EXPECT_EQ(0, si.invalid_tracks);
	EXPECT_EQ(0, si.std_changed_tracks);
	EXPECT_EQ(0, si.bcv_changed_tracks);
	EXPECT_EQ(si.tracks, si.copied_tracks);	/* SPLIT copies nothing */
	EXPECT_EQ(0, si.errors);
}

CASE(wait_split_at_once)
{
	struct bcv_wait w;
	double t = now_s();

	wait_init(&w, STD_NAME, BCV2_NAME, 5000);
	EXPECT_OK(ioctl(ctl, BCV_IOC_WAIT, &w));
	EXPECT_EQ(BCV_STATE_SPLIT, w.state);
	wait_init(&w, STD_NAME, BCV2_NAME, 0);
	EXPECT_OK(wait_guarded(&w, 10000));
	EXPECT_EQ(BCV_STATE_SPLIT, w.state);
	EXPECT_TRUE(now_s() - t < 2.0);
}

CASE(session_split_busy)
{
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_SPLIT, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_SPLIT, BCV_CMD_F_DIFF, STD_NAME,
			  BCV2_NAME);
}

CASE(remove_in_split_session_busy)
{
	REMOVE_EXPECT(EBUSY, BCV2_NAME, 0);
	REMOVE_EXPECT(EBUSY, STD_NAME, 0);
}

CASE(session_reestablish_bcv_open_busy)
{
	char path[64];
	int fd;

	ASSERT_TRUE(bcv2_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", bcv2_index);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_REESTABLISH, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE, BCV_CMD_F_FORCE, STD_NAME,
			  BCV2_NAME);
	close(fd);
}

CASE(session_restore_std_open_busy)
{
	char path[64];
	int fd;

	ASSERT_TRUE(std_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(EBUSY, BCV_CMD_RESTORE, BCV_CMD_F_INCREMENTAL,
			  STD_NAME, BCV2_NAME);
	close(fd);
}

CASE(eperm_session)
{
	struct bcv_session_cmd c;

	/* would succeed: the session is split */
	sess_init(&c, BCV_CMD_TERMINATE, STD_NAME, BCV2_NAME);
	EXPECT_EPERM(BCV_IOC_SESSION, &c);
	sess_init(&c, BCV_CMD_REESTABLISH, STD_NAME, BCV2_NAME);
	EXPECT_EPERM(BCV_IOC_SESSION, &c);
}

CASE(eperm_query)
{
	struct bcv_query q;

	fill_query(&q);
	EXPECT_EPERM(BCV_IOC_QUERY, &q);
}

CASE(eperm_wait)
{
	struct bcv_wait w;

	fill_wait(&w);
	EXPECT_EPERM(BCV_IOC_WAIT, &w);
}

/* A write to the STD while split marks its track changed for the session. */
CASE(std_write_counted)
{
	struct bcv_sess_info si;
	char path[64];
	void *buf;
	int fd;

	ASSERT_TRUE(std_index >= 0);
	if (posix_memalign(&buf, 4096, BCV_TRACK_SIZE_DEFAULT)) {
		FAIL_LOG("posix_memalign failed");
		return;
	}
	memset(buf, 0x5a, BCV_TRACK_SIZE_DEFAULT);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0) {
		FAIL_LOG("open %s: %s", path, strerror(errno));
		free(buf);
		return;
	}
	/* track 1, whole */
	EXPECT_EQ(BCV_TRACK_SIZE_DEFAULT,
		  pwrite(fd, buf, BCV_TRACK_SIZE_DEFAULT,
			 BCV_TRACK_SIZE_DEFAULT));
	EXPECT_OK(fsync(fd));
	close(fd);
	free(buf);
	if (!query_one(_metadata, STD_NAME, &si))
		return;
	EXPECT_EQ(BCV_STATE_SPLIT, si.state);
	EXPECT_EQ(1, si.std_changed_tracks);
	EXPECT_EQ(0, si.bcv_changed_tracks);
	EXPECT_EQ(0, si.invalid_tracks);
}

/* REESTABLISH copies the one changed track. */
CASE(reestablish)
{
	struct bcv_session_cmd c;
	struct bcv_sess_info si;
	struct bcv_wait w;

	wait_closed(BCV2_NAME);
	sess_init(&c, BCV_CMD_REESTABLISH, STD_NAME, BCV2_NAME);
	ASSERT_OK(sess_retry_busy(&c));
	EXPECT_TRUE(c.state == BCV_STATE_SYNCINPROG ||
		    c.state == BCV_STATE_SYNCHRONIZED);
	wait_init(&w, STD_NAME, BCV2_NAME, 120000);
	ASSERT_OK(ioctl(ctl, BCV_IOC_WAIT, &w));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w.state);
	if (!query_one(_metadata, BCV2_NAME, &si))
		return;
	check_names_and_reserved(_metadata, &si);
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, si.state);
	EXPECT_EQ(1, si.mm);
	EXPECT_EQ(0, si.invalid_tracks);
	EXPECT_EQ(1, si.std_changed_tracks);	/* C until the next split */
	EXPECT_EQ(1, si.copied_tracks);
	EXPECT_EQ(0, si.errors);
}

CASE(split_diff)
{
	struct bcv_session_cmd c;
	struct bcv_sess_info si;

	sess_init(&c, BCV_CMD_SPLIT, STD_NAME, BCV2_NAME);
	c.flags = BCV_CMD_F_DIFF;
	ASSERT_OK(ioctl(ctl, BCV_IOC_SESSION, &c));
	EXPECT_EQ(BCV_STATE_SPLIT, c.state);
	EXPECT_EQ(BCV_CMD_F_DIFF, c.flags);
	if (!query_one(_metadata, STD_NAME, &si))
		return;
	EXPECT_EQ(BCV_STATE_SPLIT, si.state);
	EXPECT_EQ(-1, si.mm);
	EXPECT_EQ(0, si.std_changed_tracks);
	EXPECT_EQ(0, si.bcv_changed_tracks);
}

/* Nothing changed on either side: an incremental restore copies nothing. */
CASE(restore_incremental)
{
	struct bcv_session_cmd c;
	struct bcv_sess_info si;
	struct bcv_wait w;

	wait_closed(STD_NAME);
	wait_closed(BCV2_NAME);
	sess_init(&c, BCV_CMD_RESTORE, STD_NAME, BCV2_NAME);
	c.flags = BCV_CMD_F_INCREMENTAL;
	ASSERT_OK(sess_retry_busy(&c));
	EXPECT_TRUE(c.state == BCV_STATE_RESTINPROG ||
		    c.state == BCV_STATE_RESTORED);
	wait_init(&w, STD_NAME, BCV2_NAME, 120000);
	ASSERT_OK(ioctl(ctl, BCV_IOC_WAIT, &w));
	EXPECT_EQ(BCV_STATE_RESTORED, w.state);
	if (!query_one(_metadata, STD_NAME, &si))
		return;
	EXPECT_EQ(BCV_STATE_RESTORED, si.state);
	EXPECT_EQ(1, si.mm);
	EXPECT_EQ(0, si.invalid_tracks);
	EXPECT_EQ(0, si.copied_tracks);
	EXPECT_EQ(0, si.errors);
}

CASE(split_after_restore)
{
	struct bcv_session_cmd c;

	sess_init(&c, BCV_CMD_SPLIT, STD_NAME, BCV2_NAME);
	ASSERT_OK(ioctl(ctl, BCV_IOC_SESSION, &c));
	EXPECT_EQ(BCV_STATE_SPLIT, c.state);
}

/*
 * REESTABLISH, WAIT and SPLIT with structs of the first published size, as
 * an older bcvctl sends them; nothing is written past them.
 */
CASE(session_old_size)
{
	unsigned char buf[SESSION_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	unsigned char wbuf[WAIT_SIZE_VER0 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_session_cmd full, *c = (void *)buf;
	struct bcv_wait wfull, *w;

	wait_closed(BCV2_NAME);
	sess_init(&full, BCV_CMD_REESTABLISH, STD_NAME, BCV2_NAME);
	ASSERT_OK(sized_ioctl_retry_busy(SIZED_REQ(0x04, SESSION_SIZE_VER0),
					 buf, &full, SESSION_SIZE_VER0));
	EXPECT_TRUE(c->state == BCV_STATE_SYNCINPROG ||
		    c->state == BCV_STATE_SYNCHRONIZED);
	EXPECT_EQ(SESSION_SIZE_VER0, c->size);
	EXPECT_TRUE(canary_intact(buf, SESSION_SIZE_VER0));

	wait_init(&wfull, STD_NAME, BCV2_NAME, 120000);
	w = sized_struct(wbuf, &wfull, WAIT_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x06, WAIT_SIZE_VER0), w));
	EXPECT_EQ(BCV_STATE_SYNCHRONIZED, w->state);
	EXPECT_TRUE(canary_intact(wbuf, WAIT_SIZE_VER0));

	sess_init(&full, BCV_CMD_SPLIT, STD_NAME, BCV2_NAME);
	c = sized_struct(buf, &full, SESSION_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_SESSION, c));
	EXPECT_EQ(BCV_STATE_SPLIT, c->state);
	EXPECT_TRUE(canary_intact(buf, SESSION_SIZE_VER0));
}

CASE(terminate)
{
	struct bcv_session_cmd c;
	struct bcv_query q;

	sess_init(&c, BCV_CMD_TERMINATE, STD_NAME, BCV2_NAME);
	ASSERT_OK(ioctl(ctl, BCV_IOC_SESSION, &c));
	EXPECT_EQ(0, c.state);
	query_init(&q, NULL, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(sess0, q.count);
	query_init(&q, STD_NAME, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
	query_init(&q, BCV2_NAME, NULL, 0);
	ASSERT_OK(ioctl(ctl, BCV_IOC_QUERY, &q));
	EXPECT_EQ(0, q.count);
}

CASE(session_gone)
{
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_TERMINATE, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_SPLIT, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_REESTABLISH, 0, STD_NAME, BCV2_NAME);
	SESS_NAMES_EXPECT(ENOENT, BCV_CMD_RESTORE, 0, STD_NAME, BCV2_NAME);
	WAIT_NAMES_EXPECT(ENOENT, STD_NAME, BCV2_NAME);
}

CASE(remove_bcv2)
{
	remove_and_check_gone(_metadata, BCV2_NAME, bcv2_index);
}

/*------------------------------------------------------------------------*/
/* BCV_IOC_STOP and BCV_IOC_ASSEMBLE                                      */
/*------------------------------------------------------------------------*/

/* Wait up to 2 s for /sys/block/bcv@index to go. */
static void wait_sys_gone(int index)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/sys/block/bcv%d", index);
	for (i = 0; i < 100 && access(path, F_OK) == 0; i++)
		sleep_ms(20);
}

/*
 * Stop a volume, retrying for 2 s while udev may hold it open, and wait
 * for its /sys/block entry to go.
 */
static int stop_volume(const char *name, int index)
{
	struct bcv_stop st;
	int i, ret = -1;

	for (i = 0; i < 100; i++) {
		stop_init(&st, name);
		ret = ioctl(ctl, BCV_IOC_STOP, &st);
		if (ret == 0 || errno != EBUSY)
			break;
		sleep_ms(20);
	}
	if (!ret)
		wait_sys_gone(index);
	return ret;
}

static void stop_expect(struct __test_metadata *const _metadata, int line,
			int want, const struct bcv_stop *st0)
{
	struct bcv_stop st = *st0;
	char what[96];
	long ret;
	int err;

	errno = 0;
	ret = ioctl(ctl, BCV_IOC_STOP, &st);
	err = errno;
	snprintf(what, sizeof(what), "STOP flags 0x%x name \"%.32s\"",
		 st0->flags, st0->name);
	check_errno(_metadata, line, what, want, ret, err);
}

#define STOP_EXPECT(want, st) stop_expect(_metadata, __LINE__, want, st)

static void stop_name_expect(struct __test_metadata *const _metadata, int line,
			     int want, const char *name)
{
	struct bcv_stop st;

	stop_init(&st, name);
	stop_expect(_metadata, line, want, &st);
}

#define STOP_NAME_EXPECT(want, name) \
	stop_name_expect(_metadata, __LINE__, want, name)

/* BCV_IOC_ASSEMBLE on a copy of @a0; checks the errno, names the call. */
static int assemble_expect(struct __test_metadata *const _metadata, int line,
			   int want, const struct bcv_assemble *a0,
			   struct bcv_assemble *out)
{
	static struct bcv_assemble a;
	char what[320];
	long ret;
	int err;

	a = *a0;
	errno = 0;
	ret = ioctl(ctl, BCV_IOC_ASSEMBLE, &a);
	err = errno;
	snprintf(what, sizeof(what),
		 "ASSEMBLE flags 0x%x nr_legs %u name \"%.32s\" legs \"%.64s\" "
		 "\"%.64s\" \"%.64s\"", a0->flags, a0->nr_legs, a0->name,
		 a0->legs[0], a0->legs[1], a0->legs[2]);
	check_errno(_metadata, line, what, want, ret, err);
	if (out)
		*out = a;
	return ret ? err : 0;
}

#define ASSEMBLE_EXPECT(want, a) \
	assemble_expect(_metadata, __LINE__, want, a, NULL)

/* The assembly of legs @leg0 (and @leg1, or NULL) must fail with @want. */
static void assemble_legs_expect(struct __test_metadata *const _metadata,
				 int line, int want, const char *leg0,
				 const char *leg1)
{
	struct bcv_assemble a;

	assemble_init(&a, leg1 ? 2 : 1, leg0, leg1);
	assemble_expect(_metadata, line, want, &a, NULL);
}

#define ASSEMBLE_LEGS_EXPECT(want, leg0, leg1) \
	assemble_legs_expect(_metadata, __LINE__, want, leg0, leg1)

/*
 * A stop that would succeed: STD_NAME exists and is not open (the cases
 * run in the STD_NAME phase).
 */
static void fill_stop(void *buf)
{
	stop_init(buf, STD_NAME);
}

/*
 * An assembly that would succeed: NEW_NAME is stopped on DEV2 while these
 * cases run (stop_and_assemble leaves it so).
 */
static void fill_assemble(void *buf)
{
	assemble_init(buf, 1, dev[1], NULL);
}

static const struct abi_struct abi_stop = {
	"stop", BCV_IOC_STOP, sizeof(struct bcv_stop), STOP_SIZE_VER0,
	fill_stop,
	offsetof(struct bcv_stop, reserved),
	sizeof(((struct bcv_stop *)0)->reserved),
};
static const struct abi_struct abi_assemble = {
	"assemble", BCV_IOC_ASSEMBLE, sizeof(struct bcv_assemble),
	ASSEMBLE_SIZE_VER0, fill_assemble,
	offsetof(struct bcv_assemble, reserved),
	sizeof(((struct bcv_assemble *)0)->reserved),
};

ABI_TESTS(stop)
ABI_TESTS(assemble)

/* --- create's new out field -------------------------------------------- */

/* Out fields must be zero on input, @meta_sectors (0.5) included. */
CASE(create_out_fields_nonzero)
{
	static const uint64_t v[] = { 1, 8, 1ULL << 32, UINT64_MAX };
	struct bcv_create c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		fill_create(&c);
		c.meta_sectors = v[i];
		CREATE_EXPECT(EINVAL, &c);
		fill_create(&c);
		c.sectors = v[i];
		CREATE_EXPECT(EINVAL, &c);
		fill_create(&c);
		c.index = (uint32_t)v[i] ? (uint32_t)v[i] : 1;
		CREATE_EXPECT(EINVAL, &c);
	}
}

/* Three legs: @sectors is the smallest data area, @meta_sectors the most. */
CASE(create_meta_sectors_legs)
{
	uint64_t data = UINT64_MAX, meta = 0;
	struct bcv_create c;
	const char *legs[3];
	unsigned int i;

	fill_create(&c);
	c.nr_legs = 3;
	legs[0] = dev[1];
	legs[1] = dev[2];
	legs[2] = dev[0];
	for (i = 1; i < 3; i++)
		snprintf(c.legs[i], sizeof(c.legs[i]), "%s", legs[i]);
	ASSERT_OK(do_create(&c));
	for (i = 0; i < 3; i++) {
		uint64_t d = data_sectors(legs[i], 0);
		uint64_t m = meta_sectors(legs[i], 0);

		data = d < data ? d : data;
		meta = m > meta ? m : meta;
	}
	EXPECT_EQ(data, c.sectors);
	EXPECT_EQ(meta, c.meta_sectors);
	EXPECT_TRUE(c.meta_sectors > 0);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(c.sectors + c.meta_sectors <=
			    dev_bytes(legs[i]) / 512);
	remove_and_check_gone(_metadata, NEW_NAME, (int)c.index);
}

/* --- stop and assemble a volume --------------------------------------- */

/*
 * NEW_NAME on DEV2: created, refused a stop while open, stopped (gone, its
 * metadata kept), assembled from DEV2 (the same volume back: UUID, size,
 * role, a higher generation, clean), refused an assembly of its own leg,
 * and stopped again: the cases that follow assemble DEV2 (and must be
 * refused).
 */
CASE(stop_and_assemble)
{
	struct bcv_vol_info before, after;
	struct bcv_assemble a;
	struct bcv_create c;
	struct stat st;
	char path[64];
	size_t i;
	int fd;

	create_init(&c, BCV_ROLE_STD, NEW_NAME, dev[1]);
	ASSERT_OK(do_create(&c));
	ASSERT_TRUE(find_volume(NEW_NAME, &before));
	EXPECT_TRUE(!all_bytes(before.uuid, 0, sizeof(before.uuid)));
	EXPECT_TRUE(before.events >= 1);
	EXPECT_EQ(0, before.vol_flags);

	snprintf(path, sizeof(path), "/dev/bcv%u", c.index);
	ASSERT_TRUE(wait_path(path));
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	STOP_NAME_EXPECT(EBUSY, NEW_NAME);
	EXPECT_TRUE(find_volume(NEW_NAME, NULL));
	close(fd);

	ASSERT_OK(stop_volume(NEW_NAME, (int)c.index));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	snprintf(path, sizeof(path), "/sys/block/bcv%u", c.index);
	EXPECT_TRUE(access(path, F_OK) != 0);
	STOP_NAME_EXPECT(ENOENT, NEW_NAME);

	assemble_init(&a, 1, dev[1], NULL);
	ASSERT_OK(ioctl(ctl, BCV_IOC_ASSEMBLE, &a));
	diag("%s assembled as /dev/bcv%u", a.name, a.index);
	EXPECT_EQ(sizeof(a), a.size);
	EXPECT_EQ(0, a.flags);
	EXPECT_EQ(1, a.nr_legs);
	EXPECT_STREQ(NEW_NAME, a.name);
	EXPECT_EQ(c.sectors, a.sectors);
	EXPECT_EQ(0, a.vol_flags);	/* stopped cleanly */
	EXPECT_EQ(0, a.stale_legs);
	EXPECT_STREQ(dev[1], a.legs[0]);
	for (i = 0; i < ARRAY_SIZE(a.reserved); i++)
		EXPECT_EQ(0, a.reserved[i]);
	if (find_volume(NEW_NAME, &after)) {
		EXPECT_EQ(a.index, after.index);
		EXPECT_EQ(BCV_ROLE_STD, after.role);
		EXPECT_EQ(BCV_TRACK_SIZE_DEFAULT, after.track_size);
		EXPECT_EQ(c.sectors, after.sectors);
		EXPECT_EQ(before.tracks, after.tracks);
		EXPECT_EQ(1, after.nr_legs);
		EXPECT_EQ(before.leg_major[0], after.leg_major[0]);
		EXPECT_EQ(before.leg_minor[0], after.leg_minor[0]);
		EXPECT_EQ(0, after.leg_invalid[0]);
		EXPECT_TRUE(!memcmp(before.uuid, after.uuid,
				    sizeof(after.uuid)));
		EXPECT_TRUE(after.events > before.events);
		EXPECT_EQ(0, after.vol_flags);
	} else {
		FAIL_LOG("%s not listed after assemble", NEW_NAME);
	}
	snprintf(path, sizeof(path), "/dev/bcv%u", a.index);
	if (wait_path(path) && stat(path, &st) == 0)
		EXPECT_EQ(c.sectors * 512, dev_bytes(path));

	/* Its leg is in use now. */
	ASSEMBLE_LEGS_EXPECT(EBUSY, dev[1], NULL);

	ASSERT_OK(stop_volume(NEW_NAME, (int)a.index));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
}

/*
 * An older userspace's ASSEMBLE (832 bytes, no @vol_flags and @stale_legs)
 * and STOP (40 bytes), then a newer one's with a zero tail: nothing
 * written past their @size, the tail stays zero.
 */
CASE(assemble_stop_other_sizes)
{
	unsigned char buf[sizeof(struct bcv_assemble) + 16 + CANARY_LEN]
		__attribute__((aligned(8)));
	unsigned char sbuf[sizeof(struct bcv_stop) + 16 + CANARY_LEN]
		__attribute__((aligned(8)));
	struct bcv_assemble full, *a = (void *)buf;
	struct bcv_stop sfull, *st = (void *)sbuf;
	uint32_t index;

	fill_assemble(&full);
	a = sized_struct(buf, &full, ASSEMBLE_SIZE_VER0);
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x09, ASSEMBLE_SIZE_VER0), a));
	index = a->index;
	EXPECT_EQ(ASSEMBLE_SIZE_VER0, a->size);
	EXPECT_STREQ(NEW_NAME, a->name);
	EXPECT_EQ(data_sectors(dev[1], 0), a->sectors);
	EXPECT_TRUE(canary_intact(buf, ASSEMBLE_SIZE_VER0));
	EXPECT_TRUE(find_volume(NEW_NAME, NULL));

	wait_closed(NEW_NAME);
	stop_init(&sfull, NEW_NAME);
	ASSERT_OK(sized_ioctl_retry_busy(SIZED_REQ(0x08, STOP_SIZE_VER0), sbuf,
					 &sfull, STOP_SIZE_VER0));
	EXPECT_TRUE(canary_intact(sbuf, STOP_SIZE_VER0));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	wait_sys_gone((int)index);

	memset(buf, CANARY, sizeof(buf));
	fill_assemble(a);
	memset(buf + sizeof(*a), 0, 16);
	a->size = sizeof(*a) + 16;
	ASSERT_OK(ioctl(ctl, SIZED_REQ(0x09, sizeof(*a) + 16), buf));
	index = a->index;
	EXPECT_STREQ(NEW_NAME, a->name);
	EXPECT_EQ(0, a->vol_flags);
	EXPECT_EQ(0, a->stale_legs);
	EXPECT_TRUE(all_bytes(buf + sizeof(*a), 0, 16));
	EXPECT_TRUE(canary_intact(buf, sizeof(*a) + 16));

	wait_closed(NEW_NAME);
	memset(sbuf, CANARY, sizeof(sbuf));
	stop_init(st, NEW_NAME);
	memset(sbuf + sizeof(*st), 0, 16);
	st->size = sizeof(*st) + 16;
	ASSERT_OK(ioctl(ctl, BCV_IOC_STOP, sbuf));
	EXPECT_TRUE(all_bytes(sbuf + sizeof(*st), 0, 16));
	EXPECT_TRUE(canary_intact(sbuf, sizeof(*st) + 16));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	wait_sys_gone((int)index);
}

CASE(assemble_flags_undefined)
{
	struct bcv_assemble a;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		if ((1U << bit) & BCV_ASSEMBLE_F_NAME)
			continue;
		fill_assemble(&a);
		a.flags = 1U << bit;
		ASSEMBLE_EXPECT(EINVAL, &a);
		/* ... also next to the defined one, with a valid name */
		fill_assemble(&a);
		a.flags = BCV_ASSEMBLE_F_NAME | 1U << bit;
		snprintf(a.name, sizeof(a.name), "%s", "bcvt_new2");
		ASSEMBLE_EXPECT(EINVAL, &a);
	}
}

CASE(assemble_out_fields_nonzero)
{
	static const uint32_t v32[] = { 1, 2, 0x80000000U, UINT32_MAX };
	static const uint64_t v64[] = { 1, 1ULL << 40, UINT64_MAX };
	struct bcv_assemble a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v32); i++) {
		fill_assemble(&a);
		a.index = v32[i];
		ASSEMBLE_EXPECT(EINVAL, &a);
		fill_assemble(&a);
		a.vol_flags = v32[i];
		ASSEMBLE_EXPECT(EINVAL, &a);
		fill_assemble(&a);
		a.stale_legs = v32[i];
		ASSEMBLE_EXPECT(EINVAL, &a);
	}
	for (i = 0; i < ARRAY_SIZE(v64); i++) {
		fill_assemble(&a);
		a.sectors = v64[i];
		ASSEMBLE_EXPECT(EINVAL, &a);
	}
}

CASE(assemble_bad_nr_legs)
{
	static const uint32_t n[] = {
		0, BCV_MAX_LEGS + 1, 0x80000000U, UINT32_MAX,
	};
	struct bcv_assemble a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(n); i++) {
		fill_assemble(&a);
		a.nr_legs = n[i];
		ASSEMBLE_EXPECT(EINVAL, &a);
	}
}

CASE(assemble_unused_legs_nonzero)
{
	struct bcv_assemble a;

	fill_assemble(&a);
	snprintf(a.legs[1], sizeof(a.legs[1]), "%s", dev[2]);
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	a.legs[1][BCV_PATH_LEN - 1] = 1;
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	a.legs[2][0] = '/';
	ASSEMBLE_EXPECT(EINVAL, &a);
	/* two legs given, a third one past them */
	assemble_init(&a, 2, dev[1], dev[2]);
	snprintf(a.legs[2], sizeof(a.legs[2]), "%s", dev[0]);
	ASSEMBLE_EXPECT(EINVAL, &a);
}

/* Without BCV_ASSEMBLE_F_NAME, @name must be all zero. */
CASE(assemble_name_without_flag)
{
	struct bcv_assemble a;

	fill_assemble(&a);
	snprintf(a.name, sizeof(a.name), "%s", "bcvt_new2");
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	snprintf(a.name, sizeof(a.name), "%s", NEW_NAME);	/* its own */
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	a.name[1] = 'x';
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	a.name[BCV_NAME_LEN - 1] = 1;
	ASSEMBLE_EXPECT(EINVAL, &a);
	fill_assemble(&a);
	memset(a.name, 'n', sizeof(a.name));
	ASSEMBLE_EXPECT(EINVAL, &a);
}

/* With it, a name that create would refuse. */
CASE(assemble_flag_bad_name)
{
	static const char *const names[] = {
		"", "a/b", "/", ".", "..", ".hidden", "-opt", "a b", " ab",
		"a\tb", "a\nb", "a:b", "a*b", "caf\xc3\xa9", "caf\xe9", "\xc0",
		"n\xff", "a\x7f",
	};
	struct bcv_assemble a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		fill_assemble(&a);
		a.flags = BCV_ASSEMBLE_F_NAME;
		snprintf(a.name, sizeof(a.name), "%s", names[i]);
		ASSEMBLE_EXPECT(EINVAL, &a);
	}
	fill_assemble(&a);
	a.flags = BCV_ASSEMBLE_F_NAME;
	memset(a.name, 'n', sizeof(a.name));	/* no NUL in 32 bytes */
	ASSEMBLE_EXPECT(ENAMETOOLONG, &a);
}

/*
 * Paths: the syntax (ENAMETOOLONG, EINVAL), then what lookup_bdev() says
 * (ENOENT for no such file, ENOTBLK for a file that is not a block
 * device), whichever leg it is.
 */
CASE(assemble_bad_path)
{
	struct bcv_assemble a;
	int fd;

	fill_assemble(&a);
	memset(a.legs[0], 'a', sizeof(a.legs[0]));	/* no NUL */
	a.legs[0][0] = '/';
	ASSEMBLE_EXPECT(ENAMETOOLONG, &a);
	fill_assemble(&a);
	memset(a.legs[0], 0, sizeof(a.legs[0]));
	ASSEMBLE_EXPECT(EINVAL, &a);
	assemble_init(&a, 2, dev[1], NULL);	/* second leg empty */
	ASSEMBLE_EXPECT(EINVAL, &a);
	assemble_init(&a, 2, dev[1], NULL);
	memset(a.legs[1], 'b', sizeof(a.legs[1]));
	ASSEMBLE_EXPECT(ENAMETOOLONG, &a);

	ASSEMBLE_LEGS_EXPECT(ENOENT, "/dev/bcvt-no-such-device", NULL);
	ASSEMBLE_LEGS_EXPECT(ENOENT, "bcvt-relative-no-such-device", NULL);
	ASSEMBLE_LEGS_EXPECT(ENOENT, dev[1], "/dev/bcvt-no-such-device");
	ASSEMBLE_LEGS_EXPECT(ENOTDIR, "/dev/null/x", NULL);
	ASSEMBLE_LEGS_EXPECT(ENOTBLK, "/dev/null", NULL);
	ASSEMBLE_LEGS_EXPECT(ENOTBLK, dev[1], "/dev/null");
	ASSEMBLE_LEGS_EXPECT(ENOTBLK, "/dev", NULL);

	snprintf(reg_file, sizeof(reg_file), "/tmp/bcv_ioctl_test.XXXXXX");
	fd = mkstemp(reg_file);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 1 << 20));
	close(fd);
	ASSEMBLE_LEGS_EXPECT(ENOTBLK, reg_file, NULL);
	unlink(reg_file);
	reg_file[0] = 0;
}

/* The same device twice, under its own name and again. */
CASE(assemble_same_device_twice)
{
	ASSEMBLE_LEGS_EXPECT(EBUSY, dev[1], dev[1]);
}

/* An assembly that would succeed, in a read-only page: EFAULT, no volume. */
CASE(assemble_readonly_efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p;

	p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	fill_assemble(p);
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_ASSEMBLE, p));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	/* an old-size one too */
	ASSERT_OK(mprotect(p, pg, PROT_READ | PROT_WRITE));
	fill_assemble(p);
	((struct bcv_assemble *)p)->size = ASSEMBLE_SIZE_VER0;
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(ctl, BCV_IOC_ASSEMBLE, p));
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	munmap(p, pg);
}

CASE(eperm_assemble)
{
	struct bcv_assemble a;

	fill_assemble(&a);
	EXPECT_EPERM(BCV_IOC_ASSEMBLE, &a);
}

/*
 * Names: the stored one taken by another volume (EEXIST), the one given
 * with BCV_ASSEMBLE_F_NAME used and stored; devices of two volumes given
 * as one (EINVAL).  NEW_NAME stopped on DEV2 at the start; both volumes
 * removed at the end (which erases their metadata).
 */
CASE(assemble_names)
{
	struct bcv_assemble a, out;
	struct bcv_create c;
	int idx2 = -1, idx3 = -1;

	create_init(&c, BCV_ROLE_STD, NEW_NAME, dev[2]);
	ASSERT_OK(do_create(&c));
	idx3 = (int)c.index;
	ASSEMBLE_LEGS_EXPECT(EEXIST, dev[1], NULL);
	ASSEMBLE_LEGS_EXPECT(EBUSY, dev[1], dev[2]);	/* DEV3 is in use */
	fill_assemble(&a);
	a.flags = BCV_ASSEMBLE_F_NAME;
	snprintf(a.name, sizeof(a.name), "%s", NEW_NAME);
	ASSEMBLE_EXPECT(EEXIST, &a);

	snprintf(a.name, sizeof(a.name), "%s", "bcvt_new2");
	if (assemble_expect(_metadata, __LINE__, 0, &a, &out) == 0) {
		idx2 = (int)out.index;
		EXPECT_STREQ("bcvt_new2", out.name);
		EXPECT_EQ(BCV_ASSEMBLE_F_NAME, out.flags);
		EXPECT_EQ(data_sectors(dev[1], 0), out.sectors);
		EXPECT_TRUE(find_volume("bcvt_new2", NULL));
		EXPECT_TRUE(find_volume(NEW_NAME, NULL));
		/* the name is stored: assembled again without the flag */
		wait_closed("bcvt_new2");
		ASSERT_OK(stop_volume("bcvt_new2", idx2));
		idx2 = -1;
		fill_assemble(&a);
		if (assemble_expect(_metadata, __LINE__, 0, &a, &out) == 0) {
			idx2 = (int)out.index;
			EXPECT_STREQ("bcvt_new2", out.name);
		}
	}
	if (idx2 >= 0) {
		wait_closed("bcvt_new2");
		EXPECT_OK(stop_volume("bcvt_new2", idx2));
	}
	wait_closed(NEW_NAME);
	ASSERT_OK(stop_volume(NEW_NAME, idx3));

	/* Two stopped one-leg volumes given as one volume. */
	ASSEMBLE_LEGS_EXPECT(EINVAL, dev[1], dev[2]);
	ASSEMBLE_LEGS_EXPECT(EINVAL, dev[2], dev[1]);
	EXPECT_TRUE(!find_volume(NEW_NAME, NULL));
	EXPECT_TRUE(!find_volume("bcvt_new2", NULL));

	/* Each on its own; then removed for good. */
	assemble_init(&a, 1, dev[2], NULL);
	if (assemble_expect(_metadata, __LINE__, 0, &a, &out) == 0) {
		EXPECT_STREQ(NEW_NAME, out.name);
		remove_and_check_gone(_metadata, NEW_NAME, (int)out.index);
	}
	fill_assemble(&a);
	if (assemble_expect(_metadata, __LINE__, 0, &a, &out) == 0) {
		EXPECT_STREQ("bcvt_new2", out.name);
		remove_and_check_gone(_metadata, "bcvt_new2", (int)out.index);
	}
}

/*
 * A volume with a mirror leg: assembled from its legs given in any order
 * (the superblocks give positions), refused with a leg missing.
 */
CASE(assemble_mirror_any_order)
{
	char n1[BCV_PATH_LEN], n2[BCV_PATH_LEN];
	struct bcv_assemble a, out;
	struct bcv_vol_info vi;
	struct bcv_create c;

	fill_create(&c);
	c.nr_legs = 2;
	snprintf(c.legs[1], sizeof(c.legs[1]), "%s", dev[2]);
	ASSERT_OK(do_create(&c));
	wait_closed(NEW_NAME);
	ASSERT_OK(stop_volume(NEW_NAME, (int)c.index));

	ASSEMBLE_LEGS_EXPECT(EINVAL, dev[1], NULL);	/* a leg missing */
	ASSEMBLE_LEGS_EXPECT(EINVAL, dev[2], NULL);

	assemble_init(&a, 2, dev[2], dev[1]);
	if (assemble_expect(_metadata, __LINE__, 0, &a, &out))
		return;
	EXPECT_STREQ(NEW_NAME, out.name);
	EXPECT_EQ(c.sectors, out.sectors);
	EXPECT_EQ(0, out.stale_legs);
	EXPECT_EQ(0, out.vol_flags);
	if (find_volume(NEW_NAME, &vi)) {
		snprintf(n1, sizeof(n1), "%s", dev[1]);
		snprintf(n2, sizeof(n2), "%s", dev[2]);
		EXPECT_EQ(2, vi.nr_legs);
		EXPECT_STREQ(basename(n1), vi.leg_name[0]);	/* M1 */
		EXPECT_STREQ(basename(n2), vi.leg_name[1]);	/* M2 */
		EXPECT_EQ(0, vi.leg_pos[0]);
		EXPECT_EQ(1, vi.leg_pos[1]);
		EXPECT_EQ(0, vi.leg_invalid[0]);
	} else {
		FAIL_LOG("%s not listed after assemble", NEW_NAME);
	}
	remove_and_check_gone(_metadata, NEW_NAME, (int)out.index);
}

/*
 * A hash of what an assembly could touch on @path: its first MiB and its
 * last 8 MiB (the metadata area and the superblocks at its end), read
 * around the page cache.
 */
static bool dev_hash(const char *path, uint64_t *hash)
{
	enum { HEAD = 1 << 20, TAIL = 8 << 20 };
	uint64_t h = 14695981039346656037ULL, size = dev_bytes(path), *w;
	off_t off[2];
	size_t len[2], i, k;
	bool ok = false;
	void *buf;
	int fd;

	if (size < TAIL || posix_memalign(&buf, 4096, TAIL + 4096))
		return false;
	off[0] = 0;
	len[0] = HEAD;
	off[1] = (off_t)((size - TAIL) & ~4095ULL);
	len[1] = size - (uint64_t)off[1];	/* to the end */
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		goto out;
	w = buf;
	for (k = 0; k < 2; k++) {
		if (pread(fd, buf, len[k], off[k]) != (ssize_t)len[k])
			goto out_close;
		for (i = 0; i < len[k] / 8; i++)
			h = (h ^ w[i]) * 1099511628211ULL;
	}
	*hash = h;
	ok = true;
out_close:
	close(fd);
out:
	free(buf);
	return ok;
}

/*
 * Devices without bcv metadata (their volumes removed, which erased it):
 * ENODATA, and the devices are not changed by being looked at.
 */
CASE(assemble_no_metadata)
{
	uint64_t h1[2], h2[2];
	bool hashed;

	hashed = dev_hash(dev[1], &h1[0]) && dev_hash(dev[2], &h2[0]);
	ASSEMBLE_LEGS_EXPECT(ENODATA, dev[1], NULL);
	ASSEMBLE_LEGS_EXPECT(ENODATA, dev[2], NULL);
	ASSEMBLE_LEGS_EXPECT(ENODATA, dev[1], dev[2]);
	if (!hashed || !dev_hash(dev[1], &h1[1]) || !dev_hash(dev[2], &h2[1])) {
		FAIL_LOG("cannot read %s or %s: %s", dev[1], dev[2],
			 strerror(errno));
		return;
	}
	EXPECT_EQ(h1[0], h1[1]);
	EXPECT_EQ(h2[0], h2[1]);
}

/* --- with STD_NAME on DEV1 ------------------------------------------------ */

/* A volume's own legs and the volumes themselves cannot be assembled. */
CASE(assemble_busy_refusals)
{
	char path[64];

	ASSEMBLE_LEGS_EXPECT(EBUSY, dev[0], NULL);	/* STD_NAME's leg */
	ASSERT_TRUE(std_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	ASSERT_TRUE(wait_path(path));
	ASSEMBLE_LEGS_EXPECT(ELOOP, path, NULL);	/* a volume */
	/* an ext4 file system is no bcv metadata either (if DEV3 has one) */
	ASSEMBLE_LEGS_EXPECT(ENODATA, dev[2], NULL);
}

CASE(stop_flags_undefined)
{
	struct bcv_stop st;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		fill_stop(&st);
		st.flags = 1U << bit;
		STOP_EXPECT(EINVAL, &st);
	}
}

/* Names that cannot name a volume, and names of none: no such volume. */
CASE(stop_unknown_name)
{
	static const char *const names[] = {
		"bcvt_no_such_volume", "bcvt_st", STD_NAME "x", NEW_NAME,
		"", "a/b", "/", ".", "..", ".hidden", "-opt", "a b", "a:b",
		"caf\xc3\xa9", "bcvt_st\xe9", STD_NAME "\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		STOP_NAME_EXPECT(ENOENT, names[i]);
}

CASE(stop_name_without_nul)
{
	struct bcv_stop st;

	fill_stop(&st);
	memset(st.name, 'n', sizeof(st.name));
	STOP_EXPECT(ENAMETOOLONG, &st);
	fill_stop(&st);
	memcpy(st.name, STD_NAME, strlen(STD_NAME));
	memset(st.name + strlen(STD_NAME), 'n',
	       sizeof(st.name) - strlen(STD_NAME));
	STOP_EXPECT(ENAMETOOLONG, &st);
}

CASE(stop_open_volume_busy)
{
	struct bcv_vol_info vi;
	char path[64];
	int fd;

	ASSERT_TRUE(std_index >= 0);
	snprintf(path, sizeof(path), "/dev/bcv%d", std_index);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	STOP_NAME_EXPECT(EBUSY, STD_NAME);
	EXPECT_TRUE(find_volume(STD_NAME, &vi));
	EXPECT_TRUE(vi.open_count >= 1);
	close(fd);
}

CASE(eperm_stop)
{
	struct bcv_stop st;

	stop_init(&st, BCV_NAME);	/* would succeed */
	EXPECT_EPERM(BCV_IOC_STOP, &st);
}

/*------------------------------------------------------------------------*/

/*------------------------------------------------------------------------*/
/* The fixture, and the cases in their order                              */
/*------------------------------------------------------------------------*/

/* The index N of /dev/bcvN of volume @name, or -1. */
static int volume_index(const char *name)
{
	struct bcv_vol_info vi;

	return find_volume(name, &vi) ? (int)vi.index : -1;
}

#define MUTATES		(1U << 0)	/* the case changes the volume set */

FIXTURE(bcv) {
	unsigned int flags;	/* MUTATES or 0 */
	struct snapshot before;	/* the state the case must leave as it was */
};

/*
 * Each case runs in a process of its own: the volumes that the cases before
 * it created are found again, by name.
 */
FIXTURE_SETUP(bcv)
{
	std_index = volume_index(STD_NAME);
	bcv_index = volume_index(BCV_NAME);
	bcv2_index = volume_index(BCV2_NAME);
	take_snapshot(&self->before);
}

/*
 * Undo what the case left mounted or created (a failure ends it early);
 * then, unless it changes the volume set or was skipped, nothing changed.
 */
FIXTURE_TEARDOWN(bcv)
{
	struct snapshot after;

	if (mnt_dir[0]) {
		umount2(mnt_dir, MNT_DETACH);
		rmdir(mnt_dir);
	}
	if (reg_file[0])
		unlink(reg_file);
	if ((self->flags & MUTATES) || _metadata->exit_code == KSFT_SKIP)
		return;
	take_snapshot(&after);
	check_unchanged(_metadata, &self->before, &after);
}

/* Per case, in s: above the longest wait of a case and its teardown. */
#define CASE_TIMEOUT	300

/* Case @name as a test of the fixture, run in the order of this list. */
#define T(name, flags_)							\
	TEST_F_TIMEOUT(bcv, name, CASE_TIMEOUT)				\
	{								\
		self->flags = (flags_);					\
		case_##name(_metadata);					\
	}

/* no volume of ours exists */
T(version, 0)
T(version_bigger_size_zero_tail, 0)
T(list_bigger_size_zero_tail, 0)
T(version_old_size, 0)
T(version_every_size, 0)
T(list_old_size_count, 0)
T(list_every_size, 0)
T(query_every_size, 0)
T(old_size_at_page_end, 0)
T(session_refusal_reason, 0)
T(grown_size_zero_tail, 0)
T(unknown_ioctl_number, 0)
T(wrong_ioctl_type, 0)
T(known_number_other_size, 0)
T(null_pointer, 0)
T(bad_pointer, 0)
T(create_bad_role, 0)
T(create_bad_nr_legs, 0)
T(create_mirror_legs, MUTATES)
T(create_unused_legs_nonzero, 0)
T(create_bad_name, 0)
T(create_bad_path, 0)
T(create_bad_track_size, 0)
T(create_flags_nonzero, 0)
T(create_longest_name_max_track, MUTATES)
T(create_track_size_512, MUTATES)
T(create_old_size, MUTATES)
T(create_grown_size, MUTATES)
T(create_readonly_efault, 0)
T(create_out_fields_nonzero, 0)
T(create_meta_sectors_legs, MUTATES)
/* stop and assemble: NEW_NAME stopped on DEV2 */
T(stop_and_assemble, MUTATES)
T(assemble_stop_other_sizes, MUTATES)
T(assemble_size_too_small, 0)
T(assemble_size_bigger_nonzero_tail, 0)
T(assemble_size_above_4096, 0)
T(assemble_reserved_nonzero, 0)
T(assemble_flags_undefined, 0)
T(assemble_out_fields_nonzero, 0)
T(assemble_bad_nr_legs, 0)
T(assemble_unused_legs_nonzero, 0)
T(assemble_name_without_flag, 0)
T(assemble_flag_bad_name, 0)
T(assemble_bad_path, 0)
T(assemble_same_device_twice, 0)
T(assemble_readonly_efault, 0)
T(eperm_assemble, 0)
T(assemble_names, MUTATES)
T(assemble_mirror_any_order, MUTATES)
/* no metadata left on DEV2 and DEV3 */
T(assemble_no_metadata, 0)
/* STD_NAME on DEV1 */
T(create_std, MUTATES)
T(create_same_backing_busy, 0)
T(create_same_name_exists, 0)
T(create_mounted_busy, 0)
T(create_opened_exclusively_busy, 0)
T(create_on_bcv_volume, 0)
T(assemble_busy_refusals, 0)
T(stop_size_too_small, 0)
T(stop_size_bigger_nonzero_tail, 0)
T(stop_size_above_4096, 0)
T(stop_reserved_nonzero, 0)
T(stop_flags_undefined, 0)
T(stop_unknown_name, 0)
T(stop_name_without_nul, 0)
T(stop_open_volume_busy, 0)
T(leg_size_too_small, 0)
T(leg_size_bigger_nonzero_tail, 0)
T(leg_size_above_4096, 0)
T(leg_reserved_nonzero, 0)
T(leg_refusals, 0)
T(leg_add_remove, MUTATES)
T(leg_pos_refusals, 0)
T(leg_remove_by_pos, MUTATES)
T(leg_readonly_efault, 0)
T(eperm_leg, 0)
T(version_size_too_small, 0)
T(version_size_bigger_nonzero_tail, 0)
T(version_size_above_4096, 0)
T(version_reserved_nonzero, 0)
T(create_size_too_small, 0)
T(create_size_bigger_nonzero_tail, 0)
T(create_size_above_4096, 0)
T(create_reserved_nonzero, 0)
T(remove_size_too_small, 0)
T(remove_size_bigger_nonzero_tail, 0)
T(remove_size_above_4096, 0)
T(remove_reserved_nonzero, 0)
T(remove_flags_undefined, 0)
T(list_size_too_small, 0)
T(list_size_bigger_nonzero_tail, 0)
T(list_size_above_4096, 0)
T(list_reserved_nonzero, 0)
T(list_count_nonzero, 0)
T(list_bad_vols_pointer, 0)
/* and BCV_NAME on DEV2 */
T(create_bcv, MUTATES)
T(list_info_size_too_small, 0)
T(list_old_size, 0)
T(list_count_only, 0)
T(list_capacity_one, 0)
T(list_entry_fields, 0)
T(list_ordered_by_index, 0)
T(eperm_version, 0)
T(eperm_create, 0)
T(eperm_remove, 0)
T(eperm_stop, 0)
T(eperm_list, 0)
/* sessions: BCV2_NAME on DEV3 */
T(query_no_session, 0)
T(create_bcv2, MUTATES)
T(session_size_too_small, 0)
T(session_size_bigger_nonzero_tail, 0)
T(session_size_above_4096, 0)
T(session_reserved_nonzero, 0)
T(session_state_nonzero, 0)
T(session_unknown_cmd, 0)
T(split_group_args, 0)
T(session_flags_invalid, 0)
T(session_bad_names, 0)
T(session_same_name, 0)
T(session_no_such_volume, 0)
T(session_wrong_roles, 0)
T(session_track_size_mismatch, 0)
T(session_bcv_too_small, 0)
T(session_no_session, 0)
T(session_establish_bcv_open_busy, 0)
T(session_readonly_efault, 0)
T(query_size_too_small, 0)
T(query_size_bigger_nonzero_tail, 0)
T(query_size_above_4096, 0)
T(query_reserved_nonzero, 0)
T(query_bigger_size_zero_tail, 0)
T(query_count_nonzero, 0)
T(query_info_size_too_small, 0)
T(query_bad_names, 0)
T(query_unknown_name, 0)
T(query_empty_name_not_zero, 0)
T(wait_state_nonzero, 0)
T(wait_flags_nonzero, 0)
T(wait_bad_names, 0)
T(wait_no_such_volume, 0)
T(wait_wrong_roles, 0)
T(wait_no_session, 0)
/* STD_NAME and BCV2_NAME in a session */
T(establish, MUTATES)
T(wait_synchronized, 0)
T(wait_size_too_small, 0)
T(wait_size_bigger_nonzero_tail, 0)
T(wait_size_above_4096, 0)
T(wait_reserved_nonzero, 0)
T(wait_bigger_size_zero_tail, 0)
T(wait_every_size, 0)
T(query_count_only, 0)
T(query_fields, 0)
T(query_info_size_bigger, 0)
T(query_old_size, 0)
T(query_filter, 0)
T(query_bad_sessions_pointer, 0)
T(session_attached_busy, 0)
T(remove_in_session_busy, 0)
T(split, MUTATES)
T(wait_split_at_once, 0)
T(session_split_busy, 0)
T(remove_in_split_session_busy, 0)
T(session_reestablish_bcv_open_busy, 0)
T(session_restore_std_open_busy, 0)
T(eperm_session, 0)
T(eperm_query, 0)
T(eperm_wait, 0)
T(std_write_counted, MUTATES)
T(reestablish, MUTATES)
T(split_diff, MUTATES)
T(restore_incremental, MUTATES)
T(split_after_restore, MUTATES)
T(session_old_size, MUTATES)
T(terminate, MUTATES)
T(session_gone, 0)
T(remove_bcv2, MUTATES)
T(remove_unknown_name, 0)
T(remove_name_without_nul, 0)
T(remove_open_volume_busy, 0)
T(remove_std, MUTATES)
T(remove_bcv, MUTATES)
T(remove_twice, 0)
T(clean_at_end, 0)

/*
 * A volume of ours that a failed case left stopped on the scratch devices
 * (its metadata still there): assembled and removed, which erases it.
 */
static void cleanup_stopped(void)
{
	static const int combos[][3] = {
		{ 1, -1, -1 }, { 2, -1, -1 }, { 0, -1, -1 }, { 1, 2, -1 },
		{ 1, 2, 0 },
	};
	struct bcv_assemble a;
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(combos); i++) {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		for (k = 0; k < 3 && combos[i][k] >= 0; k++)
			snprintf(a.legs[k], sizeof(a.legs[k]), "%s",
				 dev[combos[i][k]]);
		a.nr_legs = k;
		if (ioctl(ctl, BCV_IOC_ASSEMBLE, &a))
			continue;
		if (strncmp(a.name, "bcvt", 4)) {	/* not ours: stop */
			stop_volume(a.name, (int)a.index);
			continue;
		}
		printf("# cleanup: %s was left stopped\n", a.name);
		if (remove_volume(a.name))
			printf("# cleanup: cannot remove %s: %s\n", a.name,
			       strerror(errno));
	}
}

/*
 * Whatever happened, leave no session or volume of ours behind (the
 * fixture's teardown unmounted what a case mounted).
 */
static void cleanup(void)
{
	static struct bcv_sess_info si[MAX_SESS];
	struct bcv_vol_info v[MAX_VOLS];
	char std[BCV_NAME_LEN], bcv[BCV_NAME_LEN];
	int i, n;

	n = query_sessions(si);
	for (i = 0; i < n; i++) {
		snprintf(std, sizeof(std), "%.*s", BCV_NAME_LEN - 1, si[i].std);
		snprintf(bcv, sizeof(bcv), "%.*s", BCV_NAME_LEN - 1, si[i].bcv);
		if (!strncmp(std, "bcvt", 4) || !strncmp(bcv, "bcvt", 4))
			end_session(std, bcv);
	}
	n = list_volumes(v);
	for (i = 0; i < n; i++)
		if (!strncmp(v[i].name, "bcvt", 4) && remove_volume(v[i].name))
			diag("cleanup: cannot remove %s: %s", v[i].name,
			     strerror(errno));
	cleanup_stopped();
}

/* test_harness_argv_check()'s options (kselftest_harness.h of 6.12). */
#define HARNESS_OPTS	"hlF:f:V:v:t:T:r:"

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [HARNESS OPTIONS] DEV1 DEV2 DEV3\n"
		"       BCV_TEST_DEVS=\"DEV1 DEV2 DEV3\" %s [HARNESS OPTIONS]\n"
		"  three unused scratch block devices; DEV3 is reformatted\n",
		prog, prog);
}

/*
 * The devices are the arguments that are not the harness's options (the
 * way test_errors_03.sh runs it), else those of $BCV_TEST_DEVS (the way
 * the kselftest runner does: it gives no arguments); then the harness runs
 * the cases, with the options alone.
 */
int main(int argc, char **argv)
{
	bool list = false, help = false;
	struct bcv_query q;
	struct bcv_list l;
	int opt, nopts, n, i;
	char *env, *tok, *save;

	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;	/* the harness says what is wrong */
	while ((opt = getopt(argc, argv, HARNESS_OPTS)) != -1) {
		if (opt == 'l')
			list = true;
		if (opt == 'h' || opt == '?')
			help = true;
	}
	nopts = optind;		/* GNU getopt() put the devices last */
	optind = 1;
	opterr = 1;
	if (help)
		usage(argv[0]);
	if (list || help)	/* -l, -h or an option it does not know */
		return test_harness_run(nopts, argv);

	n = argc - nopts;
	env = getenv("BCV_TEST_DEVS");
	if (n == 0 && env && *env) {
		for (tok = strtok_r(strdup(env), " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (n++ < 3)
				dev[n - 1] = tok;
	} else if (n == 0) {
		ksft_exit_skip("no scratch devices: give DEV1 DEV2 DEV3 or set BCV_TEST_DEVS\n");
	} else if (n == 3) {
		for (i = 0; i < 3; i++)
			dev[i] = argv[nopts + i];
	}
	if (n != 3) {
		usage(argv[0]);
		return 2;
	}
	for (i = 0; i < 3; i++) {
		struct stat st;

		if (stat(dev[i], &st) || !S_ISBLK(st.st_mode))
			ksft_exit_fail_msg("%s is not a block device\n",
					   dev[i]);
	}
	ctl = open("/dev/" BCV_CTL_NAME, O_RDWR);
	if (ctl < 0 && errno == ENOENT)
		ksft_exit_skip("no /dev/%s: bcv.ko is not loaded\n",
			       BCV_CTL_NAME);
	if (ctl < 0)
		ksft_exit_fail_msg("open /dev/%s: %s\n", BCV_CTL_NAME,
				   strerror(errno));
	list_init(&l, NULL, 0);
	if (ioctl(ctl, BCV_IOC_LIST, &l))
		ksft_exit_fail_msg("BCV_IOC_LIST: %s\n", strerror(errno));
	count0 = l.count;
	if (count0)
		diag("warning: %u volumes exist before the test", count0);
	query_init(&q, NULL, NULL, 0);
	if (ioctl(ctl, BCV_IOC_QUERY, &q))
		ksft_exit_fail_msg("BCV_IOC_QUERY: %s\n", strerror(errno));
	sess0 = q.count;
	if (sess0)
		diag("warning: %u sessions exist before the test", sess0);
	atexit(cleanup);	/* in this process: the cases' ones _exit() */

	return test_harness_run(nopts, argv);
}
