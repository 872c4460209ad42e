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
 *
 * The log: a super block (magic, version 1, nr_entries, sectorsize) at
 * byte 0, then from byte sectorsize on, per entry, a header block of
 * sectorsize bytes (struct log_write_entry, then a mark's text) followed
 * by nr_sectors blocks of data (none for a discard or a mark).  Replaying
 * the entries up to one with F or U gives the device as a crash right
 * after that flush could leave it.
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
	} else {
		fprintf(stderr, "usage: log_replay LOG --list\n"
			"       log_replay LOG --replay DEV FROM TO\n");
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
