// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl stop, assemble and examine: the commands of the on-disk metadata
 * (bcv-design.rst section 10, include/uapi/linux/bcv_format.h).
 *
 * examine reads a device with bcv_fmt.c and needs no module.  assemble
 * hands the kernel (BCV_IOC_ASSEMBLE) the legs of one volume, which the
 * kernel checks again; --scan and --incremental find those legs by reading
 * the superblock of every block device, grouping them by volume UUID and
 * matching each leg UUID of the newest superblock (highest events) to the
 * device that carries it.  stop is BCV_IOC_STOP.
 *
 * Devices are read O_DIRECT when they allow it: the module writes the
 * metadata around the page cache, which could otherwise hold old copies.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bcvctl.h"
#include "bcv_fmt.h"

_Static_assert(BCV_FMT_NAME_LEN == BCV_NAME_LEN, "name lengths differ");
_Static_assert(BCV_FMT_LEGS == BCV_MAX_LEGS, "leg counts differ");

#define SYS_BLOCK	"/sys/class/block"
/*
 * Serializes --scan and --incremental per volume (a lock file per UUID):
 * udev runs one per leg at once.
 */
#define ASSEMBLE_LOCK_DIR	"/run/bcvctl-assemble"
#define RACE_WAIT_MS	3000	/* for a volume another bcvctl assembles */

/*------------------------------------------------------------------------
 * Reading one device
 */

/* Open @path read-only, O_DIRECT if it can be.  -1 with errno on failure. */
static int open_dev(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);

	if (fd < 0 && errno == EINVAL)	/* tmpfs and the like */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

/*
 * Read the metadata of @path into @r.  Returns 0 with a valid superblock,
 * 1 without one (@r says why), or a negative errno when the device cannot
 * be opened or sized.  With @fdp, the device stays open there on 0.
 */
static int read_meta(const char *path, struct bcv_fmt_read *r, int *fdp)
{
	uint64_t sectors;
	int fd, err;

	memset(r, 0, sizeof(*r));
	r->used = -1;
	fd = open_dev(path);
	if (fd < 0)
		return -errno;
	err = bcv_fmt_dev_sectors(fd, &sectors);
	if (err) {
		close(fd);
		return err;
	}
	if (bcv_fmt_read_dev(fd, sectors, r)) {
		close(fd);
		return 1;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return 0;
}

static const char *open_error(int err)
{
	return err == -ENOTBLK ? "not a block device or image file" :
	       strerror(-err);
}

/* The device's own leg UUID: its entry in its own superblock's legs[]. */
static const uint8_t *own_uuid(const struct bcv_fmt_sb *sb)
{
	return sb->legs[sb->leg_pos].uuid;
}

/*------------------------------------------------------------------------
 * examine
 */

static void fmt_time(uint64_t secs, char *buf, size_t len)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!secs || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "-");
}

/* "M2" for a mirror position, "-" when not attached. */
static const char *mm_name(uint32_t mm, char *buf, size_t len)
{
	if (mm < NR_POSITIONS)
		snprintf(buf, len, "M%" PRIu32, mm + 1);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* A name read from disk, printable (the reader checked the volume's own). */
static const char *safe_name(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	buf[i] = '\0';
	return i ? buf : "-";
}

static bool sess_used(const struct bcv_fmt_sess *s)
{
	return s->flags & BCV_SB_SESS_USED;
}

static const char *copy_state(const struct bcv_fmt_copy *c)
{
	return c->status == BCV_FMT_BLANK || c->status == BCV_FMT_NO_MAGIC ?
	       "no superblock" : c->status == BCV_FMT_OK ? "ok" : c->why;
}

static void examine_copies_text(const struct bcv_fmt_read *r)
{
	int i;

	for (i = 0; i < BCV_SB_COPIES; i++) {
		const struct bcv_fmt_copy *c = &r->copy[i];

		printf("  copy %d:          %s", i, copy_state(c));
		if (c->have_seq)
			printf(", seq %" PRIu64, c->seq);
		printf("%s\n", r->used == i ? ", used" : "");
	}
}

static void examine_text(const char *path, const struct bcv_fmt_read *r,
			 const struct bcv_fmt_summary *sum, bool have_sum)
{
	const struct bcv_fmt_sb *sb = &r->sb;
	char u[BCV_FMT_UUID_STR], t[64], a[32], b[32], n[BCV_NAME_LEN + 1];
	uint64_t meta = bcv_fmt_meta_sectors(sb);
	unsigned int i, shown = 0;

	printf("%s: bcv metadata, superblock copy %d\n", path, r->used);
	examine_copies_text(r);
	printf("  uuid:            %s\n", bcv_fmt_uuid_str(sb->vol_uuid, u));
	printf("  name:            %s\n", sb->name);
	printf("  role:            %s\n", role_name(sb->role));
	printf("  events:          %" PRIu64 "\n", sb->events);
	printf("  clean:           %s\n", sb->flags & BCV_SB_F_CLEAN ?
	       "yes (stopped cleanly)" :
	       "no (assembled, or not stopped: recovered at assembly)");
	printf("  write intent:    %s\n", sb->flags & BCV_SB_F_NO_INTENT ?
	       "off (a crash costs full copies)" : "on");
	fmt_time(sb->ctime, t, sizeof(t));
	printf("  created:         %s\n", t);
	fmt_time(sb->utime, t, sizeof(t));
	printf("  updated:         %s\n", t);
	printf("  track size:      %s\n",
	       human_size(1ULL << sb->track_shift, false, a, sizeof(a)));
	printf("  size:            %s (%" PRIu64 " sectors, %" PRIu64
	       " tracks)\n", human_size(sb->sectors * 512, false, a, sizeof(a)),
	       sb->sectors, sb->tracks);
	printf("  leg:             M%" PRIu32 " of %" PRIu32 "\n",
	       sb->leg_pos + 1, sb->nr_legs);
	printf("  device:          %" PRIu64 " sectors: data %" PRIu64
	       ", metadata %" PRIu64 " (%s)\n",
	       (uint64_t)sb->layout.dev_sectors,
	       (uint64_t)sb->layout.data_sectors, meta,
	       human_size(meta * 512, false, b, sizeof(b)));
	printf("  legs:\n");
	for (i = 0; i < sb->nr_legs; i++) {
		const struct bcv_fmt_leg *l = &sb->legs[i];

		printf("    M%u  %s%s%s%s\n", i + 1, bcv_fmt_uuid_str(l->uuid, u),
		       l->flags & BCV_SB_LEG_FAILED ? "  failed" : "",
		       l->flags & BCV_SB_LEG_SYNCING ? "  syncing" : "",
		       i == sb->leg_pos ? "  (this device)" : "");
	}
	if (sb->role == BCV_ROLE_STD) {
		int w = 1;

		for (i = 0; i < BCV_FMT_SESSIONS; i++)
			if (sess_used(&sb->sess[i]) &&
			    (int)strlen(sb->sess[i].peer_name) > w)
				w = (int)strlen(sb->sess[i].peer_name);
		printf("  sessions:\n");
		for (i = 0; i < BCV_FMT_SESSIONS; i++) {
			const struct bcv_fmt_sess *s = &sb->sess[i];

			if (!sess_used(s))
				continue;
			printf("    %-2" PRIu32 "  %-*s  %s  %-12s  mm %s\n",
			       s->id, w, safe_name(s->peer_name, n, sizeof(n)),
			       bcv_fmt_uuid_str(s->peer_uuid, u),
			       state_name(s->state), mm_name(s->mm, a,
							     sizeof(a)));
			shown++;
		}
		if (!shown)
			printf("    none\n");
	} else if (sess_used(&sb->link)) {
		const struct bcv_fmt_sess *s = &sb->link;

		printf("  link:            std %s (%s), session %" PRIu32
		       ", %s, mm %s\n", safe_name(s->peer_name, n, sizeof(n)),
		       bcv_fmt_uuid_str(s->peer_uuid, u), s->id,
		       state_name(s->state), mm_name(s->mm, a, sizeof(a)));
	} else {
		printf("  link:            none\n");
	}
	if (!have_sum)
		return;
	printf("  invalid tracks:  M1 %" PRIu64 ", M2 %" PRIu64 ", M3 %" PRIu64,
	       sum->invalid[0], sum->invalid[1], sum->invalid[2]);
	if (sb->role == BCV_ROLE_STD) {
		printf(", M4 %" PRIu64 "\n", sum->invalid[3]);
		printf("  changed tracks:  ");
		shown = 0;
		for (i = 0; i < BCV_FMT_SESSIONS; i++) {
			if (!sess_used(&sb->sess[i]) && !sum->changed[i])
				continue;
			printf("%ssession %u: %" PRIu64, shown ? ", " : "", i,
			       sum->changed[i]);
			shown++;
		}
		printf("%s\n", shown ? "" : "none (no session)");
	} else {
		printf("\n  bcv changed:     %" PRIu64 " tracks (M4b)\n",
		       sum->invalid[3]);
	}
	printf("  activity log:    %" PRIu64 " active regions of %" PRIu64
	       " tracks%s\n", sum->active_regions, sum->region_tracks,
	       sum->active_regions && !(sb->flags & BCV_SB_F_CLEAN) ?
	       " (resynced by a recovery)" : "");
}

static void json_copies(const struct bcv_fmt_read *r)
{
	int i;

	fputs("\"copies\":[", stdout);
	for (i = 0; i < BCV_SB_COPIES; i++) {
		const struct bcv_fmt_copy *c = &r->copy[i];

		printf("%s{\"copy\":%d,\"offset\":%" PRIu64 ",\"status\":\"%s\","
		       "\"why\":", i ? "," : "", i, c->offset,
		       bcv_fmt_status_name(c->status));
		json_string("", c->status == BCV_FMT_OK ? "" : c->why,
			    sizeof(c->why));
		if (c->have_seq)
			printf(",\"seq\":%" PRIu64, c->seq);
		else
			fputs(",\"seq\":null", stdout);
		printf(",\"used\":%s}", r->used == i ? "true" : "false");
	}
	fputs("]", stdout);
}

/* A session record; @changed: its PB column's count, or NULL. */
static void json_sess(const char *peer, const struct bcv_fmt_sess *s,
		      const uint64_t *changed)
{
	char u[BCV_FMT_UUID_STR];

	printf("{\"id\":%" PRIu32 ",\"%s\":", s->id, peer);
	json_string("", s->peer_name, sizeof(s->peer_name));
	printf(",\"%s_uuid\":\"%s\",\"state\":\"%s\",\"mm\":%d", peer,
	       bcv_fmt_uuid_str(s->peer_uuid, u), state_name(s->state),
	       s->mm < NR_POSITIONS ? (int)s->mm : -1);
	if (changed)
		printf(",\"changed_tracks\":%" PRIu64, *changed);
	fputs("}", stdout);
}

static void examine_json(const char *path, const struct bcv_fmt_read *r,
			 const struct bcv_fmt_summary *sum, bool have_sum)
{
	const struct bcv_fmt_sb *sb = &r->sb;
	const struct bcv_fmt_layout *l = &sb->layout;
	char u[BCV_FMT_UUID_STR];
	unsigned int i, k;

	fputs("{\"device\":", stdout);
	json_string("", path, strlen(path) + 1);
	fputs(",\"valid\":true,", stdout);
	json_copies(r);
	printf(",\"used_copy\":%d,\"uuid\":\"%s\",\"name\":", r->used,
	       bcv_fmt_uuid_str(sb->vol_uuid, u));
	json_string("", sb->name, sizeof(sb->name));
	printf(",\"role\":\"%s\",\"seq\":%" PRIu64 ",\"events\":%" PRIu64
	       ",\"clean\":%s,\"write_intent\":%s,\"ctime\":%" PRIu64
	       ",\"utime\":%" PRIu64
	       ",\"track_size\":%" PRIu64 ",\"sectors\":%" PRIu64
	       ",\"size_bytes\":%" PRIu64 ",\"tracks\":%" PRIu64
	       ",\"nr_legs\":%" PRIu32 ",\"leg_pos\":%" PRIu32,
	       role_name(sb->role), sb->seq, sb->events,
	       sb->flags & BCV_SB_F_CLEAN ? "true" : "false",
	       sb->flags & BCV_SB_F_NO_INTENT ? "false" : "true", sb->ctime,
	       sb->utime, (uint64_t)1 << sb->track_shift, sb->sectors,
	       sb->sectors * 512, sb->tracks, sb->nr_legs, sb->leg_pos);
	printf(",\"layout\":{\"dev_sectors\":%" PRIu64 ",\"data_sectors\":%"
	       PRIu64 ",\"meta_sectors\":%" PRIu64 ",\"tracks_cap\":%" PRIu64
	       ",\"pb_offset\":%" PRIu64 ",\"pb_sectors\":%" PRIu64
	       ",\"inv_offset\":[", (uint64_t)l->dev_sectors,
	       (uint64_t)l->data_sectors, bcv_fmt_meta_sectors(sb),
	       (uint64_t)l->tracks_cap, (uint64_t)l->pb_offset,
	       (uint64_t)l->pb_sectors);
	for (i = 0; i < BCV_FMT_POSITIONS; i++)
		printf("%s%" PRIu64, i ? "," : "", (uint64_t)l->inv_offset[i]);
	printf("],\"inv_sectors\":%" PRIu64 ",\"al_offset\":%" PRIu64
	       ",\"al_sectors\":%" PRIu64 "},\"legs\":[",
	       (uint64_t)l->inv_sectors, (uint64_t)l->al_offset,
	       (uint64_t)l->al_sectors);
	for (i = 0; i < sb->nr_legs; i++) {
		const struct bcv_fmt_leg *g = &sb->legs[i];

		printf("%s{\"position\":%u,\"uuid\":\"%s\",\"failed\":%s,"
		       "\"syncing\":%s,\"this\":%s}", i ? "," : "", i,
		       bcv_fmt_uuid_str(g->uuid, u),
		       g->flags & BCV_SB_LEG_FAILED ? "true" : "false",
		       g->flags & BCV_SB_LEG_SYNCING ? "true" : "false",
		       i == sb->leg_pos ? "true" : "false");
	}
	fputs("]", stdout);
	if (sb->role == BCV_ROLE_STD) {
		fputs(",\"sessions\":[", stdout);
		for (i = 0, k = 0; i < BCV_FMT_SESSIONS; i++) {
			if (!sess_used(&sb->sess[i]))
				continue;
			fputs(k++ ? "," : "", stdout);
			json_sess("bcv", &sb->sess[i],
				  have_sum ? &sum->changed[i] : NULL);
		}
		fputs("]", stdout);
	} else {
		fputs(",\"link\":", stdout);
		if (sess_used(&sb->link))
			json_sess("std", &sb->link, NULL);
		else
			fputs("null", stdout);
	}
	if (have_sum) {
		printf(",\"invalid_tracks\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64
		       ",%" PRIu64 "]", sum->invalid[0], sum->invalid[1],
		       sum->invalid[2], sum->invalid[3]);
		if (sb->role == BCV_ROLE_STD) {
			fputs(",\"changed_tracks\":[", stdout);
			for (i = 0; i < BCV_FMT_SESSIONS; i++)
				printf("%s%" PRIu64, i ? "," : "",
				       sum->changed[i]);
			fputs("]", stdout);
		} else {
			printf(",\"bcv_changed_tracks\":%" PRIu64,
			       sum->invalid[3]);
		}
		printf(",\"active_regions\":%" PRIu64 ",\"region_tracks\":%"
		       PRIu64, sum->active_regions, sum->region_tracks);
	}
	fputs("}\n", stdout);
}

static void examine_export(const struct bcv_fmt_sb *sb)
{
	char u[BCV_FMT_UUID_STR];

	/* The reader checked the name: only [A-Za-z0-9._+-]. */
	printf("BCV_UUID=%s\nBCV_NAME=%s\nBCV_ROLE=%s\nBCV_LEG_POS=%" PRIu32
	       "\nBCV_EVENTS=%" PRIu64 "\n", bcv_fmt_uuid_str(sb->vol_uuid, u),
	       sb->name, role_name(sb->role), sb->leg_pos, sb->events);
}

const char examine_help[] =
"Print the bcv metadata of DEV (a leg of a volume, or an image file), read\n"
"from the device itself: no bcv module is needed and nothing is written.\n"
"\n"
"The first line is \"DEV: bcv metadata, superblock copy N\"; then one\n"
"\"key: value\" line each: copy 0 and copy 1 (ok or why not, the seq, \"used\"\n"
"for the copy taken: the valid one with the higher seq), uuid, name, role,\n"
"events (the generation), clean (yes once stopped cleanly), created,\n"
"updated, track size, size (sectors, tracks), leg (this device's position,\n"
"Mn of K), device (sectors: data, metadata), legs (Mn, uuid, failed,\n"
"syncing, this device); on a std volume its sessions (id, bcv name, bcv\n"
"uuid, state, mm: the mirror position of an attached bcv) and \"changed\n"
"tracks\" per session (tracks written on the std since that session's\n"
"split); on a bcv volume its link (std name and uuid, session id, state,\n"
"mm) and \"bcv changed\" (tracks written on the split bcv by its own\n"
"users); \"invalid tracks\" per mirror position (tracks it lacks).\n"
"\n"
"Options:\n"
"  --json              print one JSON object: {\"device\", \"valid\" (true),\n"
"                      \"copies\":[{\"copy\", \"offset\" (sectors), \"status\"\n"
"                      (\"ok\", \"blank\", \"no superblock\", \"bad checksum\",\n"
"                      \"unsupported version\", \"unknown features\", \"bad\n"
"                      field\", \"bad layout\", \"read error\"), \"why\", \"seq\"\n"
"                      (null without the magic), \"used\"}], \"used_copy\",\n"
"                      \"uuid\", \"name\", \"role\", \"seq\", \"events\", \"clean\",\n"
"                      \"write_intent\",\n"
"                      \"ctime\", \"utime\" (seconds since the epoch),\n"
"                      \"track_size\", \"sectors\", \"size_bytes\", \"tracks\",\n"
"                      \"nr_legs\", \"leg_pos\" (0 is M1), \"layout\":\n"
"                      {\"dev_sectors\", \"data_sectors\", \"meta_sectors\",\n"
"                      \"tracks_cap\", \"pb_offset\", \"pb_sectors\",\n"
"                      \"inv_offset\":[M1..M4], \"inv_sectors\", \"al_offset\",\n"
"                      \"al_sectors\"}, \"legs\":\n"
"                      [{\"position\", \"uuid\", \"failed\", \"syncing\",\n"
"                      \"this\"}], \"invalid_tracks\":[M1, M2, M3, M4]};\n"
"                      a std volume adds \"sessions\":[{\"id\", \"bcv\",\n"
"                      \"bcv_uuid\", \"state\", \"mm\" (-1: not attached),\n"
"                      \"changed_tracks\" (written since its split)}] and\n"
"                      \"changed_tracks\" (16 counts, one per session ID); a\n"
"                      bcv volume \"link\":{\"id\", \"std\", \"std_uuid\",\n"
"                      \"state\", \"mm\"} (null: in no session) and\n"
"                      \"bcv_changed_tracks\" (written by its users).  Without a valid\n"
"                      superblock: {\"device\", \"valid\":false, \"reason\",\n"
"                      \"copies\":[...]}\n"
"  --export            for udev's IMPORT{program}: the lines BCV_UUID=,\n"
"                      BCV_NAME=, BCV_ROLE= (std or bcv), BCV_LEG_POS= (0 is\n"
"                      M1) and BCV_EVENTS=; nothing (exit 1) without a valid\n"
"                      superblock\n"
HELP_OPT
"\n"
"Exit status: 0 a valid superblock; 1 none, with one line on stderr saying\n"
"why (\"no bcv superblock\", \"both superblock copies are damaged (bad\n"
"checksum)\", ...), or DEV cannot be read.\n";

int run_examine(const struct cmd_args *a)
{
	const char *path = a->pos[0];
	bool json = opt_flag(a, EXAMINE_JSON), export = opt_flag(a, EXAMINE_EXPORT);
	struct bcv_fmt_summary sum;
	struct bcv_fmt_read r;
	char why[192];
	int fd = -1, ret, err = 0;

	if (json && export)
		return usage_error(a->cmd, "--json and --export exclude each "
				   "other");
	ret = read_meta(path, &r, &fd);
	if (ret < 0) {
		if (!export)
			errmsg("examine %s: %s", path, open_error(ret));
		return EXIT_FAIL;
	}
	if (ret > 0) {
		if (export)
			return EXIT_FAIL;
		bcv_fmt_reason(&r, why, sizeof(why));
		if (json) {
			fputs("{\"device\":", stdout);
			json_string("", path, strlen(path) + 1);
			fputs(",\"valid\":false,\"reason\":", stdout);
			json_string("", why, sizeof(why));
			fputs(",", stdout);
			json_copies(&r);
			fputs("}\n", stdout);
		}
		errmsg("examine %s: %s", path, why);
		return EXIT_FAIL;
	}
	if (export) {
		close(fd);
		examine_export(&r.sb);
		return EXIT_OK;
	}
	err = bcv_fmt_summary(fd, &r.sb, &sum);
	close(fd);
	if (json)
		examine_json(path, &r, &sum, !err);
	else
		examine_text(path, &r, &sum, !err);
	if (err) {
		errmsg("examine %s: cannot read the tables: %s", path,
		       strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*------------------------------------------------------------------------
 * Finding the legs of volumes among the block devices
 */

struct found {
	char path[BCV_PATH_LEN];	/* /dev/DEVNAME */
	struct bcv_fmt_sb sb;
};

struct found_list {
	struct found *v;
	size_t n, cap;
};

/* Read /sys/class/block/@name/@attr into @buf. */
static bool sys_attr(const char *name, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/%s", name, attr);
	return read_line(path, buf, len);
}

static bool sys_exists(const char *name, const char *attr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/%s", name, attr);
	return access(path, F_OK) == 0;
}

/* /dev/DEVNAME of the block device @name (its uevent), into @buf. */
static bool dev_node(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], line[PATH_MAX];
	bool found = false;
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/uevent", name);
	f = fopen(path, "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (!strncmp(line, "DEVNAME=", 8) && line[8])
				found = snprintf(buf, len, "/dev/%s",
						 line + 8) < (int)len;
		}
		fclose(f);
	}
	if (found)
		return true;
	/* The kernel writes '/' in a device name as '!' in sysfs. */
	if (snprintf(buf, len, "/dev/%s", name) >= (int)len)
		return false;
	for (i = 5; buf[i]; i++)
		if (buf[i] == '!')
			buf[i] = '/';
	return true;
}

/*
 * Whether the block device @name could be a leg: not a bcv volume, not a
 * loop device without a backing file, not a suspended dm device (reading
 * it would hang), and large enough to hold metadata.
 */
static bool scan_candidate(const char *name)
{
	char buf[64];
	uint64_t sectors;
	const char *p;

	if (!strncmp(name, BCV_DISK_PREFIX, strlen(BCV_DISK_PREFIX))) {
		for (p = name + strlen(BCV_DISK_PREFIX); *p >= '0' && *p <= '9';
		     p++)
			;
		if (!*p && p > name + strlen(BCV_DISK_PREFIX))
			return false;
	}
	if (sys_exists(name, "bcv/name"))
		return false;
	/* A partition of a loop device finds loop/ with its disk. */
	if (!strncmp(name, "loop", 4) && name[4] >= '0' && name[4] <= '9' &&
	    !sys_exists(name, "loop/backing_file") &&
	    !sys_exists(name, "../loop/backing_file"))
		return false;
	if (sys_attr(name, "dm/suspended", buf, sizeof(buf)) &&
	    strcmp(buf, "0"))
		return false;
	if (!sys_attr(name, "size", buf, sizeof(buf)) ||
	    !parse_uint(buf, UINT64_MAX, &sectors) ||
	    sectors < BCV_FMT_MIN_SECTORS)
		return false;
	return true;
}

static int by_name(const struct dirent **x, const struct dirent **y)
{
	return strcmp((*x)->d_name, (*y)->d_name);
}

static bool found_add(struct found_list *l, const char *path,
		      const struct bcv_fmt_sb *sb)
{
	struct found *v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	v = &l->v[l->n++];
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->sb = *sb;
	return true;
}

/*
 * Every block device with a valid bcv superblock, by kernel name.  Returns
 * 0, or an errno when /sys/class/block cannot be read or memory is short.
 */
static int scan_devices(struct found_list *l)
{
	struct dirent **names;
	struct bcv_fmt_read r;
	char path[BCV_PATH_LEN];
	int i, n, err = 0;

	memset(l, 0, sizeof(*l));
	n = scandir(SYS_BLOCK, &names, NULL, by_name);
	if (n < 0)
		return errno;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (!err && name[0] != '.' && scan_candidate(name) &&
		    dev_node(name, path, sizeof(path)) &&
		    read_meta(path, &r, NULL) == 0 && !found_add(l, path, &r.sb))
			err = ENOMEM;
		free(names[i]);
	}
	free(names);
	return err;
}

/* The legs of one volume found among the devices. */
struct group {
	const struct found *ref;		/* the newest superblock */
	const struct found *leg[BCV_FMT_LEGS];	/* by ref's positions */
	unsigned int nr_found;
	bool complete;
};

/* Group the devices of @l that belong to the volume @uuid. */
static void group_volume(const struct found_list *l, const uint8_t *uuid,
			 struct group *g)
{
	size_t i;
	unsigned int p;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < l->n; i++)
		if (bcv_fmt_uuid_eq(l->v[i].sb.vol_uuid, uuid) &&
		    (!g->ref || l->v[i].sb.events > g->ref->sb.events))
			g->ref = &l->v[i];
	if (!g->ref)
		return;
	/* Each leg of the newest superblock, by the device's own leg UUID;
	 * of two devices with the same one, the newer (or the first). */
	for (p = 0; p < g->ref->sb.nr_legs; p++) {
		const uint8_t *want = g->ref->sb.legs[p].uuid;

		for (i = 0; i < l->n; i++) {
			const struct found *f = &l->v[i];

			if (!bcv_fmt_uuid_eq(f->sb.vol_uuid, uuid) ||
			    !bcv_fmt_uuid_eq(own_uuid(&f->sb), want))
				continue;
			if (!g->leg[p] || f->sb.events > g->leg[p]->sb.events)
				g->leg[p] = f;
		}
		if (g->leg[p])
			g->nr_found++;
	}
	g->complete = g->nr_found == g->ref->sb.nr_legs;
}

/* "M2,M3" for the legs of @g not found, into @buf. */
static const char *missing_legs(const struct group *g, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int p;

	buf[0] = '\0';
	for (p = 0; p < g->ref->sb.nr_legs && n < len; p++)
		if (!g->leg[p])
			n += (size_t)snprintf(buf + n, len - n, "%sM%u",
					      n ? "," : "", p + 1);
	return buf;
}

/*------------------------------------------------------------------------
 * assemble
 */

/* The assembled volume with @uuid, if any, into @out (may be NULL). */
static bool assembled_uuid(int fd, const uint8_t *uuid,
			   struct bcv_vol_info *out)
{
	struct bcv_vol_info *vols;
	uint32_t i, n;
	bool found = false;

	vols = list_volumes(fd, &n);
	if (!vols)
		return false;
	for (i = 0; i < n && !found; i++) {
		if (bcv_fmt_uuid_eq(vols[i].uuid, uuid)) {
			if (out)
				*out = vols[i];
			found = true;
		}
	}
	free(vols);
	return found;
}

static void print_assembled(const struct bcv_assemble *as)
{
	unsigned int p, n = 0;

	printf("assembled %.*s as /dev/" BCV_DISK_PREFIX "%" PRIu32 " (%" PRIu32
	       " leg%s)", fixed_len(as->name, sizeof(as->name)), as->name,
	       as->index, as->nr_legs, as->nr_legs == 1 ? "" : "s");
	if (as->vol_flags & BCV_VOL_F_RECOVERED)
		printf(", recovered after an unclean shutdown");
	for (p = 0; p < NR_POSITIONS; p++)
		if (as->stale_legs & (1U << p))
			printf("%sM%u", n++ ? "," : ", stale legs: ", p + 1);
	printf("\n");
}

/*
 * Take the lock that --scan and --incremental hold for the volume @uuid
 * from their look at it to its assembly, so that two of them (udev runs
 * one per leg, at once) do not race for the same legs.  One lock per
 * volume: the assembly of a volume with large tables (the kernel reads
 * and writes all of them first) holds up no other volume's.  Returns the
 * lock's fd, or -1 when there is no /run to hold it (then they go
 * unserialized).
 */
static int assemble_lock(const uint8_t *uuid)
{
	char path[sizeof(ASSEMBLE_LOCK_DIR) + BCV_FMT_UUID_STR + 8];
	char u[BCV_FMT_UUID_STR];
	int fd;

	if (mkdir(ASSEMBLE_LOCK_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), ASSEMBLE_LOCK_DIR "/%s.lock",
		 bcv_fmt_uuid_str(uuid, u));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void assemble_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * Whether the volume @uuid is (or becomes within RACE_WAIT_MS) assembled:
 * after EBUSY, another bcvctl (a manual assemble, or one without the
 * lock) may hold its legs while it assembles it.
 */
static bool assembled_meanwhile(int fd, const uint8_t *uuid)
{
	uint64_t deadline = now_ms() + RACE_WAIT_MS;

	for (;;) {
		if (assembled_uuid(fd, uuid, NULL))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(BUSY_POLL_MS);
	}
}

/* BCV_IOC_ASSEMBLE of @paths into @as.  Returns 0 or the errno. */
static int do_assemble(int fd, const char *const *paths, unsigned int n,
		       const char *rename, struct bcv_assemble *as)
{
	unsigned int i;

	memset(as, 0, sizeof(*as));
	as->size = sizeof(*as);
	as->nr_legs = n;
	if (rename) {
		as->flags = BCV_ASSEMBLE_F_NAME;
		copy_fixed(as->name, sizeof(as->name), rename);
	}
	for (i = 0; i < n; i++)
		copy_fixed(as->legs[i], sizeof(as->legs[i]), paths[i]);
	return xioctl(fd, BCV_IOC_ASSEMBLE, as);
}

/*
 * EEXIST for the volume @sb, to be assembled as @name: already there
 * (returns EXIT_OK, saying so unless @quiet), or another volume has the
 * name (EXIT_FAIL with the line that suggests --name).
 */
static int exists_error(int fd, const char *verb, const struct bcv_fmt_sb *sb,
			const char *name, bool quiet)
{
	struct bcv_vol_info v;
	char u[BCV_FMT_UUID_STR], u2[BCV_FMT_UUID_STR];

	if (assembled_uuid(fd, sb->vol_uuid, &v)) {
		if (!quiet)
			errmsg("%s %s: already assembled as /dev/"
			       BCV_DISK_PREFIX "%" PRIu32 "%s", verb, sb->name,
			       v.index, strcmp(v.name, sb->name) ? " (under "
			       "another name)" : "");
		return quiet ? EXIT_OK : EXIT_FAIL;
	}
	if (find_volume(fd, name, &v)) {
		errmsg("%s %s: another volume named %s (uuid %s) is assembled "
		       "as /dev/" BCV_DISK_PREFIX "%" PRIu32 "; assemble this "
		       "one (uuid %s) under another name with --name NEWNAME",
		       verb, name, name, bcv_fmt_uuid_str(v.uuid, u2), v.index,
		       bcv_fmt_uuid_str(sb->vol_uuid, u));
		return EXIT_FAIL;
	}
	errmsg("%s %s: the volume or its name is in use already (assembled, "
	       "or being assembled)", verb, name);
	return EXIT_FAIL;
}

/*
 * Why the kernel refused to assemble @paths with @err (@as: the request as
 * the kernel copied it back), found with our own reader; returns the exit
 * status (4 for a device in use, else 1).
 */
static int assemble_error(int fd, const char *const *paths, unsigned int n,
			  const char *rename, int err,
			  const struct bcv_assemble *as)
{
	struct bcv_fmt_read r[BCV_MAX_LEGS];
	const struct bcv_fmt_sb *ref = NULL;
	struct dev_probe p;
	char why[192], tag[BCV_NAME_LEN + 16] = "assemble";
	int ret[BCV_MAX_LEGS];
	unsigned int i, j, k;

	for (i = 0; i < n; i++) {
		ret[i] = read_meta(paths[i], &r[i], NULL);
		if (!ret[i] && (!ref || r[i].sb.events > ref->events))
			ref = &r[i].sb;
	}
	if (ref)
		snprintf(tag, sizeof(tag), "assemble %s", ref->name);

	switch (err) {
	case ENOENT:
	case ENOTBLK:
	case ENXIO:
	case EACCES:
		for (i = 0; i < n; i++) {
			probe_dev(paths[i], &p);
			if (p.stat_err) {
				errmsg("%s: %s: %s", tag, paths[i],
				       strerror(p.stat_err));
				return EXIT_FAIL;
			}
			if (!p.is_blk) {
				errmsg("%s: %s is not a block device", tag,
				       paths[i]);
				return EXIT_FAIL;
			}
		}
		break;
	case ENODATA:
		for (i = 0; i < n; i++) {
			if (ret[i] < 0) {
				errmsg("%s: %s: %s", tag, paths[i],
				       open_error(ret[i]));
				return EXIT_FAIL;
			}
			if (ret[i] > 0) {
				errmsg("%s: %s: %s", tag, paths[i],
				       bcv_fmt_reason(&r[i], why, sizeof(why)));
				return EXIT_FAIL;
			}
		}
		errmsg("%s: a device has no valid bcv superblock", tag);
		return EXIT_FAIL;
	case EEXIST:
		if (ref)
			return exists_error(fd, "assemble", ref,
					    rename ? rename : ref->name, false);
		break;
	case EBUSY:
		for (i = 0; i < n; i++) {
			probe_dev(paths[i], &p);
			if (p.excl_busy) {
				errmsg("%s: %s is in use (mounted, held open "
				       "exclusively, or a leg of an assembled "
				       "volume)", tag, paths[i]);
				return EXIT_BUSY;
			}
		}
		errmsg("%s: a device is in use (given twice, mounted, or held "
		       "open exclusively)", tag);
		return EXIT_BUSY;
	case EINVAL:
		for (i = 0; i < n; i++) {
			if (ret[i])
				continue;
			for (j = 0; j < n; j++) {
				if (ret[j] || j == i)
					continue;
				if (!bcv_fmt_uuid_eq(r[i].sb.vol_uuid,
						     r[j].sb.vol_uuid)) {
					errmsg("%s: %s and %s belong to "
					       "different volumes (%s, %s)",
					       tag, paths[i], paths[j],
					       r[i].sb.name, r[j].sb.name);
					return EXIT_FAIL;
				}
				if (j > i && bcv_fmt_uuid_eq(own_uuid(&r[i].sb),
							     own_uuid(&r[j].sb))) {
					errmsg("%s: %s and %s are the same leg "
					       "(M%" PRIu32 ")", tag, paths[i],
					       paths[j], r[i].sb.leg_pos + 1);
					return EXIT_FAIL;
				}
			}
		}
		if (ref && n < ref->nr_legs) {
			char miss[32] = "";
			size_t len = 0;

			for (k = 0; k < ref->nr_legs; k++) {
				for (i = 0; i < n; i++)
					if (!ret[i] && bcv_fmt_uuid_eq(
					    own_uuid(&r[i].sb),
					    ref->legs[k].uuid))
						break;
				if (i == n && len < sizeof(miss))
					len += (size_t)snprintf(miss + len,
						sizeof(miss) - len, "%sM%u",
						len ? "," : "", k + 1);
			}
			errmsg("%s: %s has %" PRIu32 " legs, %u given (missing: "
			       "%s)", tag, ref->name, ref->nr_legs, n,
			       miss[0] ? miss : "?");
			return EXIT_FAIL;
		}
		errmsg("%s: the kernel refused the legs (mismatched or "
		       "missing legs, or a superblock that does not fit its "
		       "device)", tag);
		return EXIT_FAIL;
	case EROFS:
		errmsg("%s: a device is read-only", tag);
		return EXIT_FAIL;
	case EFBIG:
		/* Its tables are larger than the module's share of memory. */
		if (as->table_mib)
			errmsg("%s: its tables would take %" PRIu32 " MiB of "
			       "kernel memory, more than the %" PRIu32 " MiB "
			       "bcv.max_table_share (%u%% of RAM) leaves for "
			       "them; raise /sys/module/bcv/parameters/"
			       "max_table_share to assemble it", tag,
			       as->table_mib, as->table_left_mib,
			       table_share());
		else
			errmsg("%s: its tables would take more kernel memory "
			       "than bcv.max_table_share (%u%% of RAM) leaves "
			       "for them", tag, table_share());
		return EXIT_FAIL;
	case E2BIG:
		/* struct bcv_assemble has not grown: not the request's size. */
		errmsg("%s: its superblock says more than 2^29 tracks: its "
		       "tables would not fit in memory", tag);
		return EXIT_FAIL;
	case ELOOP:
		errmsg("%s: a device is a bcv volume or sits on one: stacking "
		       "loop refused", tag);
		return EXIT_FAIL;
	case ENAMETOOLONG:
		errmsg("%s: name or path too long", tag);
		return EXIT_FAIL;
	default:
		break;
	}
	errmsg("%s: %s", tag, any_error(err));
	return err == EBUSY ? EXIT_BUSY : EXIT_FAIL;
}

/* assemble DEV... [--name NAME] */
static int assemble_devices(const struct cmd_args *a)
{
	const char *rename = opt_value(a, ASSEMBLE_NAME);
	struct bcv_assemble as;
	unsigned int i, j;
	int fd, err, ret;

	if (rename) {
		ret = check_name(a->cmd, "volume name", rename);
		if (ret)
			return ret;
	}
	for (i = 0; i < a->npos; i++) {
		ret = check_path(a->cmd, a->pos[i]);
		if (ret)
			return ret;
		for (j = 0; j < i && !no_client_checks; j++)
			if (!strcmp(a->pos[i], a->pos[j]))
				return usage_error(a->cmd, "device %s given "
						   "twice", a->pos[i]);
	}
	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	err = do_assemble(fd, a->pos, a->npos, rename, &as);
	if (err) {
		ret = assemble_error(fd, a->pos, a->npos, rename, err, &as);
		close(fd);
		return ret;
	}
	close(fd);
	print_assembled(&as);
	if (udev_running() && !wait_link(as.name, as.index, true))
		errmsg("warning: " LINK_DIR "/%.*s did not appear within %d s "
		       "(is 60-bcv.rules installed?)",
		       fixed_len(as.name, sizeof(as.name)), as.name,
		       UDEV_WAIT_MS / 1000);
	return EXIT_OK;
}

/*
 * Assemble the complete group @g.  Prints the result; with @quiet, says
 * nothing when the volume is assembled already.  Returns the exit status;
 * *@done says whether this call assembled it (with its index in @as).
 */
static int assemble_group(int fd, const struct group *g, bool quiet,
			  struct bcv_assemble *as, bool *done)
{
	const char *paths[BCV_FMT_LEGS];
	unsigned int p;
	int err;

	*done = false;
	for (p = 0; p < g->ref->sb.nr_legs; p++)
		paths[p] = g->leg[p]->path;
	err = do_assemble(fd, paths, g->ref->sb.nr_legs, NULL, as);
	if (err == EEXIST)
		return exists_error(fd, "assemble", &g->ref->sb,
				    g->ref->sb.name, quiet);
	if (err == EBUSY && quiet && assembled_meanwhile(fd,
							 g->ref->sb.vol_uuid))
		return EXIT_OK;
	if (err)
		return assemble_error(fd, paths, g->ref->sb.nr_legs, NULL,
				      err, as);
	print_assembled(as);
	*done = true;
	return EXIT_OK;
}

/* Groups in the order --scan assembles them: std first, then by name. */
static int group_order(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	int c;

	if (a->ref->sb.role != b->ref->sb.role)
		return a->ref->sb.role == BCV_ROLE_STD ? -1 : 1;
	c = strcmp(a->ref->sb.name, b->ref->sb.name);
	return c ? c : memcmp(a->ref->sb.vol_uuid, b->ref->sb.vol_uuid,
			      BCV_FMT_UUID_LEN);
}

/* assemble --scan */
static int assemble_scan(void)
{
	struct found_list l;
	struct group *groups;
	struct bcv_assemble as;
	char u[BCV_FMT_UUID_STR], miss[32];
	size_t i, j, ng = 0;
	int fd = -1, lock, err, ret, status = EXIT_OK;
	bool done;

	err = scan_devices(&l);
	if (err) {
		errmsg("assemble --scan: cannot look at the block devices: %s",
		       strerror(err));
		return EXIT_FAIL;
	}
	groups = calloc(l.n ? l.n : 1, sizeof(*groups));
	if (!groups) {
		free(l.v);
		errmsg("assemble --scan: out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < l.n; i++) {
		for (j = 0; j < ng; j++)
			if (bcv_fmt_uuid_eq(groups[j].ref->sb.vol_uuid,
					    l.v[i].sb.vol_uuid))
				break;
		if (j == ng)
			group_volume(&l, l.v[i].sb.vol_uuid, &groups[ng++]);
	}
	qsort(groups, ng, sizeof(*groups), group_order);

	for (i = 0; i < ng; i++) {
		const struct group *g = &groups[i];

		/* Load the module for a volume to assemble, not to look. */
		if (fd < 0 && g->complete) {
			fd = open_ctl();
			if (fd < 0) {
				status = EXIT_FAIL;
				break;
			}
		} else if (fd < 0) {
			fd = open_ctl_noload();
		}
		/* Another bcvctl may be assembling it: wait, then look. */
		lock = assemble_lock(g->ref->sb.vol_uuid);
		if (fd >= 0 && assembled_uuid(fd, g->ref->sb.vol_uuid, NULL)) {
			assemble_unlock(lock);
			continue;
		}
		if (!g->complete) {
			assemble_unlock(lock);
			errmsg("assemble --scan: %s (uuid %s) not assembled: "
			       "%u of %" PRIu32 " legs found, %s missing",
			       g->ref->sb.name,
			       bcv_fmt_uuid_str(g->ref->sb.vol_uuid, u),
			       g->nr_found, g->ref->sb.nr_legs,
			       missing_legs(g, miss, sizeof(miss)));
			continue;
		}
		ret = assemble_group(fd, g, true, &as, &done);
		assemble_unlock(lock);
		if (ret && status == EXIT_OK)
			status = ret;
		if (done && udev_running() &&
		    !wait_link(as.name, as.index, true))
			errmsg("warning: " LINK_DIR "/%.*s did not appear "
			       "within %d s (is 60-bcv.rules installed?)",
			       fixed_len(as.name, sizeof(as.name)), as.name,
			       UDEV_WAIT_MS / 1000);
	}
	if (fd >= 0)
		close(fd);
	free(groups);
	free(l.v);
	return status;
}

/* assemble --incremental DEV */
static int assemble_incremental(const char *dev)
{
	struct bcv_fmt_read r;
	struct found_list l;
	struct group g;
	struct bcv_assemble as;
	char why[192];
	int fd, lock, ret, err;
	bool done;

	ret = read_meta(dev, &r, NULL);
	if (ret) {
		errmsg("assemble --incremental %s: %s", dev, ret < 0 ?
		       open_error(ret) : bcv_fmt_reason(&r, why, sizeof(why)));
		return EXIT_FAIL;
	}
	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	/* Another leg's bcvctl may be assembling it: wait, then look. */
	lock = assemble_lock(r.sb.vol_uuid);
	if (assembled_uuid(fd, r.sb.vol_uuid, NULL)) {
		assemble_unlock(lock);
		close(fd);
		return EXIT_OK;
	}
	err = scan_devices(&l);
	if (err) {
		assemble_unlock(lock);
		errmsg("assemble --incremental %s: cannot look at the block "
		       "devices: %s", dev, strerror(err));
		close(fd);
		return EXIT_FAIL;
	}
	group_volume(&l, r.sb.vol_uuid, &g);
	/* DEV itself may not be listed (a device node udev named itself). */
	ret = EXIT_OK;
	if (g.ref && g.complete)
		ret = assemble_group(fd, &g, true, &as, &done);
	assemble_unlock(lock);
	close(fd);
	free(l.v);
	return ret;
}

const char assemble_help[] =
"Bring a stopped volume back from the metadata on its legs: its name, role,\n"
"legs, track size, sessions, their states and tables.  DEV... are all the\n"
"legs of one volume, in any order (the superblocks give the positions); the\n"
"kernel checks every superblock again.\n"
"\n"
"A leg with an older generation (events) than the others is stale: it is\n"
"resynced, not trusted.  A volume that was not stopped (a crash, a power\n"
"cut) is recovered: what its tables cannot vouch for is marked changed or\n"
"invalid, which costs copies but is never wrong.  A std volume assembles\n"
"without its bcv volumes and a split bcv volume without its std; an\n"
"attached bcv volume without its std is assembled but not ready until the\n"
"std comes.\n"
"\n"
"Options:\n"
"  --name NAME         assemble under NAME (stored from then on): for a\n"
"                      volume whose name another assembled volume has\n"
"  --scan              read every block device (whole disks and partitions;\n"
"                      not bcv volumes, loop devices without a file or\n"
"                      devices too small to hold metadata) and assemble each\n"
"                      volume that has all its legs and is not assembled yet,\n"
"                      std volumes first, then bcv volumes; a volume with a\n"
"                      leg missing is named on stderr and left alone\n"
"  --incremental DEV   for udev: read DEV's superblock, look for the other\n"
"                      legs of its volume and assemble it once all are\n"
"                      there; exits 0 without a word while a leg is missing\n"
"                      or when the volume is assembled already\n"
HELP_OPT
"\n"
"Prints, for each volume assembled:\n"
"  assembled NAME as /dev/bcvN (K legs)[, recovered after an unclean\n"
"  shutdown][, stale legs: Mn[,Mn]]\n"
"\n"
"Exit status: 0 assembled (or nothing to do, with --scan or\n"
"--incremental); 4 a device is in use; 1 any other refusal: a device without\n"
"a valid superblock, legs of different volumes, a leg missing, another\n"
"assembled volume with the same name (assemble under another one with\n"
"--name), ...\n";

int run_assemble(const struct cmd_args *a)
{
	bool scan = opt_flag(a, ASSEMBLE_SCAN);
	const char *inc = opt_value(a, ASSEMBLE_INCREMENTAL);
	int ret;

	if (scan && inc)
		return usage_error(a->cmd, "--scan and --incremental exclude "
				   "each other");
	if ((scan || inc) && a->npos)
		return usage_error(a->cmd, "unexpected argument '%s' with %s",
				   a->pos[0], scan ? "--scan" :
				   "--incremental");
	if ((scan || inc) && opt_value(a, ASSEMBLE_NAME))
		return usage_error(a->cmd, "--name names the volume of DEV..., "
				   "not with %s", scan ? "--scan" :
				   "--incremental");
	if (scan)
		return assemble_scan();
	if (inc) {
		ret = check_path(a->cmd, inc);
		return ret ? ret : assemble_incremental(inc);
	}
	if (!a->npos)
		return usage_error(a->cmd, "missing DEV (or --scan, or "
				   "--incremental DEV)");
	return assemble_devices(a);
}

/*------------------------------------------------------------------------
 * stop
 */

/* Stop @name; prints "stopped NAME" or why not.  Returns the exit status. */
static int stop_one(int fd, const char *name)
{
	struct bcv_stop st;
	struct bcv_vol_info info;
	uint64_t deadline;
	int err;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	copy_fixed(st.name, sizeof(st.name), name);
	deadline = now_ms() + BUSY_RETRY_MS;
	for (;;) {
		err = xioctl(fd, BCV_IOC_STOP, &st);
		/* udev's blkid may hold the device briefly after a write. */
		if (err != EBUSY || now_ms() >= deadline)
			break;
		sleep_ms(BUSY_POLL_MS);
	}
	switch (err) {
	case 0:
		break;
	case ENOENT:
		errmsg("stop %s: no volume named %s", name, name);
		break;
	case EBUSY:
		if (find_volume(fd, name, &info) && info.open_count)
			errmsg("stop %s: %s is open (%" PRIu32 " opener%s)",
			       name, name, info.open_count,
			       info.open_count == 1 ? "" : "s");
		else
			errmsg("stop %s: %s is open, or a restore reads from "
			       "it", name, name);
		break;
	case ENAMETOOLONG:
		errmsg("stop %s: name too long (at most %d characters)", name,
		       BCV_NAME_LEN - 1);
		break;
	default:
		errmsg("stop %s: %s", name, any_error(err));
		break;
	}
	if (err)
		return refusal_status(err);
	if (udev_running() && !wait_link(name, 0, false))
		errmsg("warning: " LINK_DIR "/%s still exists after %d s",
		       name, UDEV_WAIT_MS / 1000);
	printf("stopped %s\n", name);
	fflush(stdout);
	return EXIT_OK;
}

/* stop --all: every std volume, then every bcv volume. */
static int stop_all(void)
{
	static const uint32_t order[] = { BCV_ROLE_STD, BCV_ROLE_BCV, 0 };
	char name[BCV_NAME_LEN + 1];
	struct bcv_vol_info *vols;
	uint32_t i, n;
	unsigned int k;
	int fd, ret, status = EXIT_OK;

	fd = open_ctl_noload();
	if (fd == -2)	/* no module: nothing to stop */
		return EXIT_OK;
	if (fd < 0)
		return EXIT_FAIL;
	vols = list_volumes(fd, &n);
	if (!vols) {
		errmsg("stop --all: %s", any_error(errno));
		close(fd);
		return EXIT_FAIL;
	}
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (i = 0; i < n; i++) {
			uint32_t role = vols[i].role;

			/* Last round: roles neither std nor bcv, if any. */
			if (order[k] ? role != order[k] :
			    role == BCV_ROLE_STD || role == BCV_ROLE_BCV)
				continue;
			snprintf(name, sizeof(name), "%.*s",
				 fixed_len(vols[i].name, BCV_NAME_LEN),
				 vols[i].name);
			ret = stop_one(fd, name);
			if (ret && status == EXIT_OK)
				status = ret;
		}
	}
	free(vols);
	close(fd);
	return status;
}

const char stop_help[] =
"Stop the volume NAME: write its tables and a clean superblock to every\n"
"leg, then remove it from the kernel and release its devices.  The metadata\n"
"stays: `bcvctl assemble` (or udev, at the next boot) brings the volume\n"
"back with its sessions, their states and change tables.  `bcvctl remove`\n"
"erases the metadata instead.  Refused while the volume is open or while a\n"
"restore reads from it (a bcv volume in restinprog).\n"
"\n"
"Stopping a std volume leaves its bcv volumes assembled (an attached one\n"
"waits for its std and is not ready meanwhile); stopping a bcv volume\n"
"leaves its std running, which goes on tracking what the bcv volume\n"
"misses.\n"
"\n"
"Options:\n"
"  --all               stop every volume, the std volumes first, then the bcv\n"
"                      volumes; goes on after a refusal and exits with the\n"
"                      status of the first one; no volume (or no bcv module\n"
"                      loaded) is success.  After it, rmmod bcv works.\n"
HELP_OPT
"\n"
"Prints: stopped NAME (one line per volume)\n";

int run_stop(const struct cmd_args *a)
{
	bool all = opt_flag(a, STOP_ALL);
	int fd, ret;

	if (all && a->npos)
		return usage_error(a->cmd, "give NAME or --all, not both");
	if (all)
		return stop_all();
	if (!a->npos)
		return usage_error(a->cmd, "missing NAME (or --all)");
	ret = check_name(a->cmd, "volume name", a->pos[0]);
	if (ret)
		return ret;
	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	ret = stop_one(fd, a->pos[0]);
	close(fd);
	return ret;
}
