// SPDX-License-Identifier: GPL-2.0
/*
 * crashx: the guest side of test_crashx_22.sh, a crash-state explorer over
 * dm-log-writes (one log per leg).  The workload's writes, flushes and
 * commands and the explorer's cuts go to one event log, a line each, in
 * the order they happened; the checker replays that log into a model of
 * what each volume may hold after a crash at a given cut.
 *
 *   crashx write EVLOG N VOL DEV OFF LEN SYNC
 *       write LEN bytes at byte OFF of DEV (O_DIRECT; 4 KiB multiples) as
 *       event N, each 4 KiB block tagged with N and its offset; with SYNC
 *       1, fsync DEV before the event ends.  Logs "B N W VOL OFF LEN SYNC"
 *       before and "E N" after.
 *   crashx flush EVLOG N VOL DEV
 *       fsync DEV (an empty flush through the volume): "B N F VOL", "E N"
 *   crashx cut EVLOG NAME DM...
 *       a consistent cut of the dm-log-writes devices DM...: "CB NAME";
 *       every one suspended (no I/O in flight anywhere, none starts), a
 *       mark NAME in every log, the sectors written so far to each one's
 *       data device read, every one resumed; "CE NAME S1 S2 ..." (those
 *       sectors, in 512-byte units: log_replay --crash needs them).
 *       Serialised with other cuts by a lock on EVLOG.
 *   crashx check EVLOG CUT VOL=DEV...
 *       every 4 KiB block of each DEV must hold a version the model allows
 *       for volume VOL after a crash at cut CUT (below); exit 1 if one
 *       does not, with the first differences on stdout
 *
 * Other event lines come from the script: "B N C VERB ARGS..." before a
 * bcvctl command and "E N" after it.
 *
 * The model.  Per volume and 4 KiB block: cur, the event whose data a read
 * returns now (0: zeros), and acc, the versions a crash may leave there.
 * A write adds itself to acc when it begins (it may land in part) and
 * becomes cur when it ends; a completed flush of the volume (a SYNC write
 * ends with one, a FLUSH is one, a stop makes one) makes acc = {cur}, every
 * block.  An attached BCV mirrors its STD (it gets the STD's writes);
 * establish and reestablish make a BCV's blocks the STD's, a split
 * detaches it with what it has, a restore makes the STD's blocks the
 * BCV's (for a track neither side changed since the split both hold the
 * same, so an incremental restore is a whole one here) and, unless
 * protected, attaches the BCV; an abort leaves the BCV's content unknown
 * (a mix) until it is established again.  A command adds its result to acc
 * when it begins and sets it when it ends.  Between "CB CUT" and "CE CUT"
 * (the cut's instant lies there) nothing is taken away from acc any more,
 * and the model stops at "CE CUT".
 *
 * Exit: 0, 1 (a check failed, an I/O error), 2 (bad usage or event log).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

#define BLK		4096u
#define MAGIC		"CRASHX\0\1"
#define MAXVOL		8
#define MAXBLK		(16u << 10)	/* 64 MiB of 4 KiB blocks per volume */

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crashx: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(code);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The 4 KiB block at byte @off of the data of event @id. */
static void fill_block(unsigned char *b, uint64_t id, uint64_t off)
{
	uint64_t w, s = mix(id * 1000003ULL ^ mix(off));
	unsigned int i;

	memcpy(b, MAGIC, 8);
	memcpy(b + 8, &id, 8);
	memcpy(b + 16, &off, 8);
	for (i = 24; i < BLK; i += 8) {
		s = mix(s);
		w = s;
		memcpy(b + i, &w, 8);
	}
}

/*
 * What block @b (at byte @off) holds: 0 (zeros), an event id, or -1
 * (something else: not this test's data, torn, at another offset).
 */
static int64_t decode_block(const unsigned char *b, uint64_t off)
{
	static unsigned char want[BLK];
	uint64_t id, at;
	unsigned int i;

	if (memcmp(b, MAGIC, 8)) {
		for (i = 0; i < BLK; i++)
			if (b[i])
				return -1;
		return 0;
	}
	memcpy(&id, b + 8, 8);
	memcpy(&at, b + 16, 8);
	if (at != off || !id || id > INT32_MAX)
		return -1;
	fill_block(want, id, off);
	return memcmp(want, b, BLK) ? -1 : (int64_t)id;
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd < 0)
		die(1, "%s: %s", path, strerror(errno));
	return fd;
}

/* One line, in one write(2): O_APPEND keeps concurrent lines whole. */
static void log_line(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		die(1, "event line too long");
	line[n++] = '\n';
	if (write(fd, line, n) != n)
		die(1, "event log: %s", strerror(errno));
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die(2, "bad number '%s'", s);
	return v;
}

/*------------------------------------------------------------------------
 * write, flush
 */

static int cmd_write(int argc, char **argv)
{
	uint64_t n, off, len, i;
	unsigned char *buf;
	int lfd, fd, sync;
	ssize_t r;

	if (argc != 8)
		die(2, "usage: crashx write EVLOG N VOL DEV OFF LEN SYNC");
	n = num(argv[2]);
	off = num(argv[5]);
	len = num(argv[6]);
	sync = (int)num(argv[7]);
	if (!n || off % BLK || !len || len % BLK || len > (64u << 20))
		die(2, "write: bad arguments");
	if (posix_memalign((void **)&buf, BLK, len))
		die(1, "out of memory");
	for (i = 0; i < len; i += BLK)
		fill_block(buf + i, n, off + i);
	lfd = open_log(argv[1]);
	fd = open(argv[4], O_WRONLY | O_DIRECT);
	if (fd < 0)
		die(1, "%s: %s", argv[4], strerror(errno));
	log_line(lfd, "B %" PRIu64 " W %s %" PRIu64 " %" PRIu64 " %d", n,
		 argv[3], off, len, sync);
	r = pwrite(fd, buf, len, off);
	if (r != (ssize_t)len)
		die(1, "write of %" PRIu64 " bytes at %" PRIu64 " of %s: %s",
		    len, off, argv[4], r < 0 ? strerror(errno) : "short");
	if (sync && fsync(fd))
		die(1, "fsync of %s: %s", argv[4], strerror(errno));
	log_line(lfd, "E %" PRIu64, n);
	close(fd);
	free(buf);
	return 0;
}

static int cmd_flush(int argc, char **argv)
{
	uint64_t n;
	int lfd, fd;

	if (argc != 5)
		die(2, "usage: crashx flush EVLOG N VOL DEV");
	n = num(argv[2]);
	lfd = open_log(argv[1]);
	fd = open(argv[4], O_WRONLY);
	if (fd < 0)
		die(1, "%s: %s", argv[4], strerror(errno));
	log_line(lfd, "B %" PRIu64 " F %s", n, argv[3]);
	if (fsync(fd))
		die(1, "fsync of %s: %s", argv[4], strerror(errno));
	log_line(lfd, "E %" PRIu64, n);
	close(fd);
	return 0;
}

/*------------------------------------------------------------------------
 * cut: device-mapper ioctls, as dmsetup does them, without a process per
 * device (the guest runs under TCG)
 */

/* libdevmapper's udev flags, in the upper half of a resume's event_nr. */
#define DM_UDEV_FLAGS_SHIFT			16
#define DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG	0x0002
#define DM_UDEV_DISABLE_DISK_RULES_FLAG		0x0004
#define DM_UDEV_DISABLE_OTHER_RULES_FLAG	0x0008

struct dm_buf {
	struct dm_ioctl io;
	char data[16384];
};

static int dm_call(int ctl, unsigned long req, const char *name,
		   struct dm_buf *b, uint32_t flags, uint32_t event_nr)
{
	memset(&b->io, 0, sizeof(b->io));
	b->io.version[0] = DM_VERSION_MAJOR;
	b->io.version[1] = 0;
	b->io.version[2] = 0;
	b->io.data_size = sizeof(*b);
	b->io.data_start = sizeof(b->io);
	b->io.flags = flags;
	b->io.event_nr = event_nr;
	snprintf(b->io.name, sizeof(b->io.name), "%s", name);
	return ioctl(ctl, req, b);
}

static int dm_resume(int ctl, const char *name, struct dm_buf *b)
{
	uint32_t udev = (DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG |
			 DM_UDEV_DISABLE_DISK_RULES_FLAG |
			 DM_UDEV_DISABLE_OTHER_RULES_FLAG) << DM_UDEV_FLAGS_SHIFT;

	return dm_call(ctl, DM_DEV_SUSPEND, name, b, DM_SKIP_LOCKFS_FLAG, udev);
}

/*
 * Sectors written (and discarded) so far to the data device of the
 * log-writes device @name, from its block layer statistics: what the
 * log-writes target passed down and saw complete.
 */
static bool data_sectors(int ctl, const char *name, struct dm_buf *b,
			 uint64_t *out)
{
	struct dm_target_spec *spec;
	unsigned int maj, mnr;
	unsigned long long f[14];
	char path[64];
	FILE *st;
	int n;

	if (dm_call(ctl, DM_TABLE_STATUS, name, b, DM_STATUS_TABLE_FLAG, 0) ||
	    b->io.target_count != 1) {
		fprintf(stderr, "crashx: table of %s: %s\n", name,
			strerror(errno));
		return false;
	}
	spec = (struct dm_target_spec *)((char *)b + b->io.data_start);
	if (strcmp(spec->target_type, "log-writes") ||
	    sscanf((char *)(spec + 1), "%u:%u", &maj, &mnr) != 2) {
		fprintf(stderr, "crashx: %s is not a log-writes device\n", name);
		return false;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat", maj, mnr);
	st = fopen(path, "r");
	if (!st) {
		fprintf(stderr, "crashx: %s: %s\n", path, strerror(errno));
		return false;
	}
	memset(f, 0, sizeof(f));
	n = fscanf(st, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7],
		   &f[8], &f[9], &f[10], &f[11], &f[12], &f[13]);
	fclose(st);
	if (n < 11) {
		fprintf(stderr, "crashx: %s: unreadable\n", path);
		return false;
	}
	/* Sectors written, and discarded (0 where the kernel has no field). */
	*out = f[6] + f[13];
	return true;
}

static int cmd_cut(int argc, char **argv)
{
	char line[400], msg[256];
	struct dm_buf *b;
	int lfd, ctl, i, nsus, len, bad = 0;
	size_t at;

	if (argc < 4)
		die(2, "usage: crashx cut EVLOG NAME DM...");
	if (strlen(argv[2]) > 64 || strchr(argv[2], ' '))
		die(2, "bad cut name");
	b = malloc(sizeof(*b));
	if (!b)
		die(1, "out of memory");
	lfd = open_log(argv[1]);
	if (flock(lfd, LOCK_EX))
		die(1, "lock of the event log: %s", strerror(errno));
	ctl = open("/dev/mapper/control", O_RDWR);
	if (ctl < 0)
		die(1, "/dev/mapper/control: %s", strerror(errno));
	log_line(lfd, "CB %s", argv[2]);
	for (nsus = 0; nsus < argc - 3; nsus++)
		if (dm_call(ctl, DM_DEV_SUSPEND, argv[3 + nsus], b,
			    DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG, 0)) {
			fprintf(stderr, "crashx: suspend of %s: %s\n",
				argv[3 + nsus], strerror(errno));
			bad = 1;
			break;
		}
	/* Nothing in flight anywhere now: one instant for every log. */
	at = snprintf(line, sizeof(line), "CE %s", argv[2]);
	for (i = 3; !bad && i < argc; i++) {
		struct dm_target_msg *m = (struct dm_target_msg *)b->data;
		uint64_t s;

		m->sector = 0;
		len = snprintf(msg, sizeof(msg), "mark %s", argv[2]);
		memcpy(m->message, msg, len + 1);
		/* dm_call() sets the header only: the message stays. */
		if (dm_call(ctl, DM_TARGET_MSG, argv[i], b, 0, 0)) {
			fprintf(stderr, "crashx: mark in %s: %s\n", argv[i],
				strerror(errno));
			bad = 1;
			break;
		}
		if (!data_sectors(ctl, argv[i], b, &s)) {
			bad = 1;
			break;
		}
		at += snprintf(line + at, sizeof(line) - at, " %" PRIu64, s);
		if (at >= sizeof(line) - 24)
			die(1, "too many devices");
	}
	/* Whatever failed, nothing stays suspended. */
	for (i = 0; i < nsus; i++)
		if (dm_resume(ctl, argv[3 + i], b)) {
			fprintf(stderr, "crashx: resume of %s: %s\n",
				argv[3 + i], strerror(errno));
			bad = 1;
		}
	if (bad) {
		log_line(lfd, "CX %s", argv[2]);
		return 1;
	}
	log_line(lfd, "%s", line);
	return 0;
}

/*------------------------------------------------------------------------
 * check: the model
 */

struct set {
	uint32_t n, cap;
	uint32_t *v;
};

struct vol {
	char name[32];
	int alias;		/* the STD it is attached to, or -1 */
	bool unknown;		/* content unknown (an aborted copy) */
	uint32_t *cur;
	struct set *acc;
};

enum { EV_NONE, EV_W, EV_F, EV_C };

struct ev {
	int type;
	int vol;
	uint64_t off, len;
	int sync;
	char verb[16];
	int a, b;		/* a command's volumes (-1: none) */
	int pairs[16][2];	/* split --consistent */
	int npairs;
	bool protect;
};

static struct vol vols[MAXVOL];
static int nvols;
static struct ev *evs;
static size_t nevs;
static bool in_window;

static int vol_of(const char *name)
{
	int i;

	for (i = 0; i < nvols; i++)
		if (!strcmp(vols[i].name, name))
			return i;
	if (nvols == MAXVOL || strlen(name) >= sizeof(vols[0].name))
		die(2, "too many volumes, or a long name: %s", name);
	snprintf(vols[nvols].name, sizeof(vols[0].name), "%s", name);
	vols[nvols].alias = -1;
	vols[nvols].cur = calloc(MAXBLK, sizeof(uint32_t));
	vols[nvols].acc = calloc(MAXBLK, sizeof(struct set));
	if (!vols[nvols].cur || !vols[nvols].acc)
		die(1, "out of memory");
	return nvols++;
}

/* An untouched block (no element) holds zeros: {0}. */
static bool set_has(const struct set *s, uint32_t id)
{
	uint32_t i;

	if (!s->n)
		return id == 0;
	for (i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return true;
	return false;
}

/* Append @id unless there (no implicit {0}). */
static void set_put(struct set *s, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die(1, "out of memory");
	}
	s->v[s->n++] = id;
}

static void set_add(struct set *s, uint32_t id)
{
	if (!s->n)
		set_put(s, 0);
	set_put(s, id);
}

static void set_union(struct set *s, const struct set *from)
{
	uint32_t i;

	if (!from->n) {
		set_add(s, 0);
		return;
	}
	if (!s->n)
		set_put(s, 0);
	for (i = 0; i < from->n; i++)
		set_put(s, from->v[i]);
}

/* acc := {id}; inside the cut's window acc only grows. */
static void set_one(struct set *s, uint32_t id)
{
	if (in_window) {
		set_add(s, id);
		return;
	}
	s->n = 0;
	if (id)
		set_put(s, id);
}

/* acc := from; inside the window, acc |= from. */
static void set_assign(struct set *s, const struct set *from)
{
	uint32_t i;

	if (in_window) {
		set_union(s, from);
		return;
	}
	s->n = 0;
	for (i = 0; i < from->n; i++)
		set_put(s, from->v[i]);
}

/* @v and the BCVs attached to it. */
static int targets(int v, int *t)
{
	int i, n = 0;

	t[n++] = v;
	for (i = 0; i < nvols; i++)
		if (i != v && vols[i].alias == v)
			t[n++] = i;
	return n;
}

/* Every block of @v (and its mirrors): acc := {cur}. */
static void durable(int v)
{
	int t[MAXVOL], nt, k;
	uint32_t i;

	nt = targets(v, t);
	for (k = 0; k < nt; k++)
		for (i = 0; i < MAXBLK; i++)
			set_one(&vols[t[k]].acc[i], vols[t[k]].cur[i]);
}

/* @dst's blocks become @src's (content and what a crash may leave). */
static void copy_vol(int dst, int src, bool set)
{
	uint32_t i;

	for (i = 0; i < MAXBLK; i++) {
		if (set) {
			vols[dst].cur[i] = vols[src].cur[i];
			set_assign(&vols[dst].acc[i], &vols[src].acc[i]);
		} else {
			set_union(&vols[dst].acc[i], &vols[src].acc[i]);
		}
	}
	if (set)
		vols[dst].unknown = vols[src].unknown;
	else
		vols[dst].unknown |= vols[src].unknown;
}

static struct ev *ev_at(uint64_t n)
{
	if (n >= nevs) {
		size_t old = nevs;

		nevs = n + 1024;
		evs = realloc(evs, nevs * sizeof(*evs));
		if (!evs)
			die(1, "out of memory");
		memset(evs + old, 0, (nevs - old) * sizeof(*evs));
	}
	return &evs[n];
}

/* A command's effect on the content: when it begins (@end false: what it
 * may do is added) and when it ends (@end true: done). */
static void command(const struct ev *e, bool end)
{
	const char *v = e->verb;
	int t[MAXVOL], nt, k, i;

	if (!strcmp(v, "establish") || !strcmp(v, "reestablish")) {
		copy_vol(e->b, e->a, end);
		if (end)
			vols[e->b].alias = e->a;
	} else if (!strcmp(v, "restore")) {
		/* The STD and the other BCVs attached to it. */
		nt = targets(e->a, t);
		for (k = 0; k < nt; k++)
			if (t[k] != e->b)
				copy_vol(t[k], e->b, end);
		if (end && !e->protect)
			vols[e->b].alias = e->a;
	} else if (!strcmp(v, "split") || !strcmp(v, "terminate")) {
		if (end)
			for (i = 0; i < e->npairs; i++)
				vols[e->pairs[i][1]].alias = -1;
	} else if (!strcmp(v, "abort")) {
		if (end) {
			vols[e->b].alias = -1;
			vols[e->b].unknown = true;
		}
	} else if (!strcmp(v, "stop")) {
		if (end && e->a >= 0)
			durable(e->a);
	}
	/* assemble, pause, resume, wait, ...: no change of content */
}

static void parse_command(struct ev *e, char **tok, int ntok)
{
	int i;

	snprintf(e->verb, sizeof(e->verb), "%s", ntok > 0 ? tok[0] : "");
	e->a = e->b = -1;
	e->npairs = 0;
	e->protect = false;
	/* Volume names are the words that are not options or paths. */
	for (i = 1; i < ntok; i++) {
		if (!strcmp(tok[i], "--protect"))
			e->protect = true;
		if (tok[i][0] == '-' || tok[i][0] == '/')
			continue;
		if (e->a < 0) {
			e->a = vol_of(tok[i]);
		} else if (e->b < 0) {
			e->b = vol_of(tok[i]);
			e->pairs[e->npairs][0] = e->a;
			e->pairs[e->npairs++][1] = e->b;
		} else if (e->npairs < 16) {
			/* split --consistent: more pairs */
			if (i + 1 >= ntok || tok[i + 1][0] == '-')
				die(2, "split: a pair without its BCV");
			e->pairs[e->npairs][0] = vol_of(tok[i]);
			e->pairs[e->npairs++][1] = vol_of(tok[i + 1]);
			i++;
		}
	}
}

/* The model up to cut @cut (false: no such cut). */
static bool build_model(const char *path, const char *cut)
{
	char line[512], *tok[24], *save;
	FILE *f = fopen(path, "r");
	int ntok, t[MAXVOL], nt, k;
	bool found = false;
	uint64_t i, n;
	struct ev *e;

	if (!f)
		die(1, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		ntok = 0;
		for (tok[0] = strtok_r(line, " \n", &save); tok[ntok] && ntok < 23;
		     tok[++ntok] = strtok_r(NULL, " \n", &save))
			;
		if (!ntok)
			continue;
		if (!strcmp(tok[0], "CB") && ntok >= 2) {
			if (!strcmp(tok[1], cut)) {
				in_window = true;
				found = true;
			}
			continue;
		}
		if (!strcmp(tok[0], "CE") || !strcmp(tok[0], "CX")) {
			if (ntok >= 2 && !strcmp(tok[1], cut))
				break;
			continue;
		}
		if (ntok < 2)
			die(2, "bad event line");
		n = num(tok[1]);
		e = ev_at(n);
		if (!strcmp(tok[0], "B") && ntok >= 3) {
			if (!strcmp(tok[2], "W") && ntok == 7) {
				e->type = EV_W;
				e->vol = vol_of(tok[3]);
				e->off = num(tok[4]);
				e->len = num(tok[5]);
				e->sync = (int)num(tok[6]);
				if ((e->off + e->len) / BLK > MAXBLK)
					die(2, "write %" PRIu64 " past the model's end", n);
				nt = targets(e->vol, t);
				for (k = 0; k < nt; k++)
					for (i = e->off / BLK; i < (e->off + e->len) / BLK; i++)
						set_add(&vols[t[k]].acc[i], (uint32_t)n);
			} else if (!strcmp(tok[2], "F") && ntok == 4) {
				e->type = EV_F;
				e->vol = vol_of(tok[3]);
			} else if (!strcmp(tok[2], "C")) {
				e->type = EV_C;
				parse_command(e, tok + 3, ntok - 3);
				command(e, false);
			} else {
				die(2, "bad event line (B %s)", tok[2]);
			}
		} else if (!strcmp(tok[0], "E")) {
			switch (e->type) {
			case EV_W:
				nt = targets(e->vol, t);
				for (k = 0; k < nt; k++)
					for (i = e->off / BLK; i < (e->off + e->len) / BLK; i++)
						vols[t[k]].cur[i] = (uint32_t)n;
				if (e->sync)
					durable(e->vol);
				break;
			case EV_F:
				durable(e->vol);
				break;
			case EV_C:
				command(e, true);
				break;
			default:
				die(2, "end of event %" PRIu64 " that never began", n);
			}
		}
	}
	fclose(f);
	return found;
}

/* Every write of the log, for the messages: "VOL OFF+LEN[ fsync]". */
static char (*wdesc)[64];
static size_t nwdesc;

static void scan_writes(const char *path)
{
	char line[512], vol[32];
	unsigned long long n, off, len;
	int sync;
	FILE *f = fopen(path, "r");

	if (!f)
		die(1, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "B %llu W %31s %llu %llu %d", &n, vol, &off,
			   &len, &sync) != 5 || n > INT32_MAX)
			continue;
		if (n >= nwdesc) {
			size_t old = nwdesc;

			nwdesc = n + 1024;
			wdesc = realloc(wdesc, nwdesc * sizeof(*wdesc));
			if (!wdesc)
				die(1, "out of memory");
			memset(wdesc + old, 0, (nwdesc - old) * sizeof(*wdesc));
		}
		snprintf(wdesc[n], sizeof(wdesc[n]), "%s %llu+%llu%s", vol, off,
			 len, sync ? " fsync" : "");
	}
	fclose(f);
}

static void describe(uint32_t id, char *out, size_t len)
{
	bool seen = id < nevs && evs[id].type == EV_W;

	if (!id)
		snprintf(out, len, "zeros");
	else if (id < nwdesc && wdesc[id][0])
		snprintf(out, len, "write %u (%s%s)", id, wdesc[id],
			 seen ? "" : ", after the cut");
	else
		snprintf(out, len, "event %u?", id);
}

static int check_vol(const char *name, const char *dev, const char *cut)
{
	int v = -1, i, fd, shown = 0;
	uint64_t off, nblk = 0, wrong = 0, j;
	unsigned char *buf;
	char a[96], b[96];
	ssize_t r;

	for (i = 0; i < nvols; i++)
		if (!strcmp(vols[i].name, name))
			v = i;
	if (v < 0)
		v = vol_of(name);
	if (vols[v].unknown || vols[v].alias >= 0) {
		printf("# %s: not checked (%s at cut %s)\n", name,
		       vols[v].unknown ? "its content is a mix after an abort" :
		       "attached", cut);
		return 0;
	}
	if (posix_memalign((void **)&buf, BLK, 1 << 20))
		die(1, "out of memory");
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0)
		die(1, "%s: %s", dev, strerror(errno));
	for (off = 0;; off += r) {
		r = pread(fd, buf, 1 << 20, off);
		if (r < 0)
			die(1, "read of %s at %" PRIu64 ": %s", dev, off,
			    strerror(errno));
		if (r == 0)
			break;
		for (j = 0; j + BLK <= (uint64_t)r; j += BLK) {
			uint64_t blk = (off + j) / BLK;
			int64_t got = decode_block(buf + j, off + j);
			const struct set *s;

			if (blk >= MAXBLK)
				die(2, "%s is larger than the model", dev);
			s = &vols[v].acc[blk];
			nblk++;
			if (got >= 0 && set_has(s, (uint32_t)got))
				continue;
			wrong++;
			if (shown++ >= 12)
				continue;
			if (got < 0)
				snprintf(a, sizeof(a), "data of no write");
			else
				describe((uint32_t)got, a, sizeof(a));
			printf("%s: block %" PRIu64 " (byte %" PRIu64 ") holds %s; the model allows:",
			       name, blk, blk * BLK, a);
			if (!s->n) {
				printf(" zeros");
			} else {
				uint32_t k;

				for (k = 0; k < s->n; k++) {
					describe(s->v[k], b, sizeof(b));
					printf("%s %s", k ? "," : "", b);
				}
			}
			printf("\n");
		}
	}
	close(fd);
	free(buf);
	if (wrong) {
		printf("%s: %" PRIu64 " of %" PRIu64 " blocks hold what a crash at %s may not leave\n",
		       name, wrong, nblk, cut);
		return 1;
	}
	printf("# %s: %" PRIu64 " blocks as the model allows at %s\n", name,
	       nblk, cut);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 4)
		die(2, "usage: crashx check EVLOG CUT VOL=DEV...");
	scan_writes(argv[1]);
	if (!build_model(argv[1], argv[2]))
		die(2, "no cut %s in %s", argv[2], argv[1]);
	for (i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			die(2, "VOL=DEV expected: %s", argv[i]);
		*eq = 0;
		bad |= check_vol(argv[i], eq + 1, argv[2]);
	}
	return bad;
}

int main(int argc, char **argv)
{
	/* Each command sees its name as argv[0]. */
	if (argc >= 2 && !strcmp(argv[1], "write"))
		return cmd_write(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "flush"))
		return cmd_flush(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "cut"))
		return cmd_cut(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "usage: crashx write EVLOG N VOL DEV OFF LEN SYNC\n"
		"       crashx flush EVLOG N VOL DEV\n"
		"       crashx cut EVLOG NAME DM...\n"
		"       crashx check EVLOG CUT VOL=DEV...\n");
	return 2;
}
