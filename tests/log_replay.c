// SPDX-License-Identifier: GPL-2.0
/*
 * log_replay: read a dm-log-writes log (Documentation/admin-guide/
 * device-mapper/log-writes.rst) and replay it onto a device, the way
 * xfstests' replay-log does, for test_logwrites_12.sh.
 *
 *   log_replay LOG --list
 *       one line per entry: "INDEX FLAGS SECTOR NR_SECTORS [MARK]", FLAGS
 *       a string of F (flush), U (FUA), D (discard), M (mark), T
 *       (metadata) or "-"; sectors in the log's sector size
 *   log_replay LOG --replay DEV FROM TO
 *       write the data of entries FROM to TO - 1 (in log order) to DEV;
 *       a discard writes zeros
 *   log_replay LOG --crash BASE CHK FROM MARK SECTORS SEED
 *       a crash state at mark MARK (test_crashx_22.sh, crashx cut): the
 *       entries from FROM to the mark are written to BASE, which holds
 *       those before FROM (FROM is 0, or what the previous call printed),
 *       BASE is copied to CHK, then a subset of the writes that had
 *       completed at the mark but were not flushed yet is written to CHK:
 *       none with SEED 0, all with SEED 1, else each with probability 1/2
 *       drawn from SEED.  SECTORS is the count of 512-byte sectors the
 *       log-writes target had passed down and seen complete at the mark
 *       (its data device's statistics).  Prints "NEXT UNFLUSHED KEPT":
 *       FROM for the next call (the mark's entry, where it is in the log
 *       and the sectors logged before it, "INDEX:BYTE:SECTORS"), the
 *       writes not flushed and how many were kept.
 *
 * The log: a super block (magic, version 1, nr_entries, sectorsize) at
 * byte 0, then from byte sectorsize on, per entry, a header block of
 * sectorsize bytes (struct log_write_entry, then a mark's text) followed
 * by nr_sectors blocks of data (none for a discard or a mark).  Replaying
 * the entries up to one with F or U gives the device as a crash right
 * after that flush could leave it.
 *
 * What a crash at a mark leaves (--crash).  dm-log-writes logs a flush
 * when it completes, right after the writes that had completed before it
 * was sent, and a FUA write or a mark at once; any other write waits in a
 * list until a flush sent after its completion takes it (or the target
 * goes).  So everything logged before a mark is durable at the mark, and
 * the writes that had completed but were not flushed are the first ones
 * without F, U or M logged after it, in completion order: as many as make
 * SECTORS minus the sectors of the data entries before the mark.  A
 * flush with data reaches the target as an empty flush then the write
 * (device mapper splits it), so an entry with F has no data.
 * Exit: 0, 1 on a bad log or an I/O error, 2 on bad usage.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define LW_MAGIC	0x6a736677736872ULL
#define LW_FLUSH	(1 << 0)
#define LW_FUA		(1 << 1)
#define LW_DISCARD	(1 << 2)
#define LW_MARK		(1 << 3)
#define LW_META		(1 << 4)

struct lw_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct lw_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
};

static void die(const char *what)
{
	fprintf(stderr, "log_replay: %s: %s\n", what, errno ? strerror(errno) : "bad log");
	exit(1);
}

static void pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);

		if (n <= 0) {
			if (!n)
				errno = EIO;
			die("read of the log");
		}
		done += n;
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + done);

		if (n <= 0) {
			if (!n)
				errno = EIO;
			die("write to the device");
		}
		done += n;
	}
}

struct entry {
	uint64_t sector, nr, flags;
	off_t data;			/* where its data is in the log */
	char mark[256];
};

/* Entry @i's header at @at (advanced past the entry). */
static void read_entry(int fd, char *blk, uint64_t ss, off_t *at,
		       struct entry *e)
{
	struct lw_entry h;

	pread_all(fd, blk, ss, *at);
	memcpy(&h, blk, sizeof(h));
	*at += ss;
	e->sector = le64toh(h.sector);
	e->nr = le64toh(h.nr_sectors);
	e->flags = le64toh(h.flags);
	e->data = *at;
	e->mark[0] = 0;
	if (e->flags & LW_MARK) {
		uint64_t dl = le64toh(h.data_len);

		if (dl > ss - sizeof(h))
			dl = ss - sizeof(h);
		if (dl > sizeof(e->mark) - 1)
			dl = sizeof(e->mark) - 1;
		memcpy(e->mark, blk + sizeof(h), dl);
		e->mark[dl] = 0;
		/* The kernel's length may count the terminating NUL. */
		e->mark[strnlen(e->mark, dl)] = 0;
	}
	if (!(e->flags & (LW_DISCARD | LW_MARK)))
		*at += e->nr * ss;
}

/* Write entry @e's data (zeros for a discard) to @out. */
static void apply(int fd, int out, const struct entry *e, uint64_t ss,
		  char *data)
{
	uint64_t done = 0, total = e->nr * ss;

	while (done < total) {
		size_t n = total - done > (1 << 20) ? (1 << 20) :
			   (size_t)(total - done);

		if (e->flags & LW_DISCARD)
			memset(data, 0, n);
		else
			pread_all(fd, data, n, e->data + done);
		pwrite_all(out, data, n, e->sector * ss + done);
		done += n;
	}
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int crash(int fd, const struct lw_super *sup, uint64_t ss, char **argv)
{
	uint64_t from = 0, i = 0, nent, logged = 0;
	uint64_t sectors = strtoull(argv[7], NULL, 0), seed, unfl, sum = 0;
	uint64_t kept = 0, mark = UINT64_MAX, cnt = 0, cap = 0, k;
	off_t mark_at = 0;
	const char *name = argv[6];
	struct entry e, *maybe = NULL;
	int base, chk;
	char *blk, *data;
	unsigned long long fi, fa, fl;
	off_t at = ss, size, o;

	/* FROM: an index (read from the start), or INDEX:BYTE:SECTORS. */
	if (sscanf(argv[5], "%llu:%llu:%llu", &fi, &fa, &fl) == 3) {
		from = i = fi;
		at = fa;
		logged = fl;
	} else {
		from = strtoull(argv[5], NULL, 0);
	}
	seed = strtoull(argv[8], NULL, 0);
	nent = le64toh(sup->nr_entries);
	base = open(argv[3], O_RDWR);
	if (base < 0)
		die(argv[3]);
	chk = open(argv[4], O_WRONLY);
	if (chk < 0)
		die(argv[4]);
	/*
	 * Drop what the page cache holds of both: bcv wrote CHK with bios
	 * since the last call.
	 */
	if (ioctl(base, BLKFLSBUF, 0) || ioctl(chk, BLKFLSBUF, 0))
		die("BLKFLSBUF");
	blk = malloc(ss);
	data = malloc(1 << 20);
	if (!blk || !data)
		die("malloc");
	for (; i < nent; i++) {
		off_t here = at;

		read_entry(fd, blk, ss, &at, &e);
		if ((e.flags & LW_MARK) && !strcmp(e.mark, name)) {
			mark = i;
			mark_at = here;
			break;
		}
		if (e.flags & LW_MARK)
			continue;
		if ((e.flags & LW_FLUSH) && e.nr && !(e.flags & LW_DISCARD)) {
			fprintf(stderr, "log_replay: entry %" PRIu64 " is a flush with data\n", i);
			return 1;
		}
		logged += e.nr;
		if (i >= from)
			apply(fd, base, &e, ss, data);
	}
	if (mark == UINT64_MAX) {
		fprintf(stderr, "log_replay: no mark '%s' in %s\n", name, argv[1]);
		return 1;
	}
	if (fsync(base))
		die("fsync of the base device");
	/* The writes that had completed at the mark and were not flushed. */
	if (sectors * 512 % ss || sectors * 512 / ss < logged) {
		fprintf(stderr, "log_replay: %s: %" PRIu64 " sectors at mark %s, but %" PRIu64 " logged before it\n",
			argv[1], sectors, name, logged * ss / 512);
		return 1;
	}
	unfl = sectors * 512 / ss - logged;
	for (i = mark + 1; sum < unfl && i < nent; i++) {
		read_entry(fd, blk, ss, &at, &e);
		if (e.flags & (LW_MARK | LW_FUA | LW_FLUSH))
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 64;
			maybe = realloc(maybe, cap * sizeof(*maybe));
			if (!maybe)
				die("malloc");
		}
		maybe[cnt++] = e;
		sum += e.nr;
	}
	if (sum != unfl) {
		fprintf(stderr, "log_replay: %s: %" PRIu64 " sectors not flushed at mark %s, but the writes logged after it make %" PRIu64 "\n",
			argv[1], unfl * ss / 512, name, sum * ss / 512);
		return 1;
	}
	/* CHK := BASE */
	size = lseek(chk, 0, SEEK_END);
	if (size < 0)
		die(argv[4]);
	for (o = 0; o < size; o += 1 << 20) {
		size_t n = size - o > (1 << 20) ? (1 << 20) : (size_t)(size - o);

		pread_all(base, data, n, o);
		pwrite_all(chk, data, n, o);
	}
	for (k = 0; k < cnt; k++) {
		bool keep = seed == 1 ||
			    (seed > 1 && (mix(seed * 0x100000001b3ULL + k) & 1));

		if (!keep)
			continue;
		apply(fd, chk, &maybe[k], ss, data);
		kept++;
	}
	if (fsync(chk))
		die("fsync of the check device");
	printf("%" PRIu64 ":%llu:%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", mark,
	       (unsigned long long)mark_at, logged, cnt, kept);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t from = 0, to = 0, i, ss;
	struct lw_super sup;
	int fd, out = -1;
	bool list;
	char *blk, *data;
	off_t at;

	if (argc == 3 && !strcmp(argv[2], "--list")) {
		list = true;
	} else if (argc == 6 && !strcmp(argv[2], "--replay")) {
		list = false;
		from = strtoull(argv[4], NULL, 0);
		to = strtoull(argv[5], NULL, 0);
	} else if (argc == 9 && !strcmp(argv[2], "--crash")) {
		list = false;
	} else {
		fprintf(stderr, "usage: log_replay LOG --list\n"
			"       log_replay LOG --replay DEV FROM TO\n"
			"       log_replay LOG --crash BASE CHK FROM MARK SECTORS SEED\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		die(argv[1]);
	errno = 0;
	pread_all(fd, &sup, sizeof(sup), 0);
	ss = le32toh(sup.sectorsize);
	if (le64toh(sup.magic) != LW_MAGIC || le64toh(sup.version) != 1 ||
	    ss < 512 || ss > 65536 || (ss & (ss - 1)))
		die(argv[1]);
	if (argc == 9)
		return crash(fd, &sup, ss, argv);
	if (!list) {
		out = open(argv[3], O_WRONLY);
		if (out < 0)
			die(argv[3]);
	}
	blk = malloc(ss);
	data = malloc(1 << 20);
	if (!blk || !data)
		die("malloc");
	at = ss;
	for (i = 0; i < le64toh(sup.nr_entries) && (list || i < to); i++) {
		struct lw_entry e;
		uint64_t sector, nr, flags, len;

		pread_all(fd, blk, ss, at);
		memcpy(&e, blk, sizeof(e));
		at += ss;
		sector = le64toh(e.sector);
		nr = le64toh(e.nr_sectors);
		flags = le64toh(e.flags);
		len = (flags & (LW_DISCARD | LW_MARK)) ? 0 : nr * ss;
		if (list) {
			printf("%" PRIu64 " %s%s%s%s%s%s %" PRIu64 " %" PRIu64, i,
			       flags & LW_FLUSH ? "F" : "", flags & LW_FUA ? "U" : "",
			       flags & LW_DISCARD ? "D" : "", flags & LW_MARK ? "M" : "",
			       flags & LW_META ? "T" : "",
			       flags & 0x1f ? "" : "-", sector, nr);
			if (flags & LW_MARK) {
				uint64_t dl = le64toh(e.data_len);

				if (dl > ss - sizeof(e))
					dl = ss - sizeof(e);
				printf(" %.*s", (int)dl, blk + sizeof(e));
			}
			putchar('\n');
		} else if (i >= from && !(flags & LW_MARK)) {
			uint64_t done = 0, total = nr * ss;

			while (done < total) {
				size_t n = total - done > (1 << 20) ? (1 << 20) :
					   (size_t)(total - done);

				if (flags & LW_DISCARD)
					memset(data, 0, n);
				else
					pread_all(fd, data, n, at + done);
				pwrite_all(out, data, n, sector * ss + done);
				done += n;
			}
		}
		at += len;
	}
	if (out >= 0 && fsync(out))
		die("fsync of the device");
	return 0;
}
