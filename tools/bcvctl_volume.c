// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl create, remove, add-leg, remove-leg and list: the commands of
 * volumes and their legs.
 *
 * Each checks its arguments as the kernel would (unless
 * BCV_NO_CLIENT_CHECKS=1, see bcvctl.c), fills its ioctl's struct (CREATE,
 * REMOVE, LEG) and, when the kernel refuses, says why in one line: from the
 * errno and, for create, add-leg and remove-leg, from what probe_dev() sees
 * of the devices, so that the message names the device at fault.  Their
 * ENOENT may be a device path that does not exist (exit 1) rather than a
 * volume (exit 3).  create and remove wait for udev's /dev/bcv/NAME.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

/* Messages spell this limit out. */
_Static_assert(BCV_TRACK_SIZE_MAX == 16U << 20, "update the track size messages");

/*------------------------------------------------------------------------
 * Arguments
 */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ASCII lower case, byte by byte: no locale. */
static char ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* @a and @b are equal but for ASCII case (no locale, unlike strcasecmp). */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/*
 * Parse a size: decimal bytes, or with a suffix K/k/KiB or M/m/MiB (also
 * G/g/GiB, so that "1G" gets a range message rather than a syntax one),
 * all powers of 1024.  Returns false if @s is not such a size.
 */
static bool parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} suffixes[] = {
		{ "", 0 },
		{ "K", 10 }, { "k", 10 }, { "KiB", 10 },
		{ "M", 20 }, { "m", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "g", 30 }, { "GiB", 30 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		unsigned int sh = suffixes[i].shift;

		if (strcmp(end, suffixes[i].suffix))
			continue;
		if (sh && v > (UINT64_MAX >> sh))
			return false;
		*out = (uint64_t)v << sh;
		return true;
	}
	return false;
}

/* --track-size: returns 0 with *@out set, or EXIT_USAGE. */
static int parse_track_size(const struct cmd *c, const char *s, uint32_t *out)
{
	uint64_t v;

	if (!parse_size(s, &v))
		return usage_error(c, "--track-size: '%s' is not a size (bytes, "
				   "or with a suffix K, KiB, M, MiB)", s);
	if (!no_client_checks && !is_pow2(v))
		return usage_error(c, "--track-size: %s is not a power of two",
				   s);
	if (!no_client_checks && (v < 512 || v > BCV_TRACK_SIZE_MAX))
		return usage_error(c, "--track-size: %s is out of range (512 "
				   "bytes to 16 MiB)", s);
	if (v > UINT32_MAX)
		return usage_error(c, "--track-size: %s is too large", s);
	*out = (uint32_t)v;
	return 0;
}

/* The kernel's ELOOP, after "DEV is " (create, add-leg). */
#define STACKING_LOOP	"a bcv volume or sits on one (a loop, dm or md " \
			"device over a bcv volume): stacking loop refused"

/*------------------------------------------------------------------------
 * create
 */

struct create_req {
	const char *role;
	const char *name;
	const char *legs[BCV_MAX_LEGS];
	unsigned int nr_legs;
	uint32_t track_size;	/* 0: default */
	bool track_size_given;
};

/*
 * Print why the kernel refused @r with @err; returns the exit status.
 * ENOENT here is a backing device path that does not exist, not a missing
 * volume: exit 1.  EBUSY, a device in use, is busy: exit 4.
 */
static int create_error(const struct create_req *r, int err)
{
	struct dev_probe p[BCV_MAX_LEGS];
	const char *name = r->name;
	const char *leg0 = r->legs[0];
	char tsz[32];
	unsigned int i, share;

	for (i = 0; i < r->nr_legs; i++)
		probe_dev(r->legs[i], &p[i]);

	switch (err) {
	case ENOENT:
		for (i = 0; i < r->nr_legs; i++)
			if (p[i].stat_err == ENOENT)
				break;
		errmsg("create %s: backing device %s does not exist", name,
		       r->legs[i < r->nr_legs ? i : 0]);
		return EXIT_FAIL;
	case ENOTBLK:
		for (i = 0; i < r->nr_legs; i++)
			if (!p[i].stat_err && !p[i].is_blk)
				break;
		errmsg("create %s: %s is not a block device", name,
		       r->legs[i < r->nr_legs ? i : 0]);
		return EXIT_FAIL;
	case EBUSY:
		for (i = 0; i < r->nr_legs; i++)
			if (p[i].excl_busy)
				break;
		if (i == r->nr_legs && r->nr_legs > 1) {
			errmsg("create %s: a backing device is in use (given "
			       "twice, mounted, held open exclusively, or "
			       "already backing a bcv volume)", name);
			return EXIT_BUSY;
		}
		errmsg("create %s: %s is in use (mounted, held open "
		       "exclusively, or already backing a bcv volume)", name,
		       r->legs[i < r->nr_legs ? i : 0]);
		return EXIT_BUSY;
	case EEXIST:
		errmsg("create %s: a volume named %s already exists", name,
		       name);
		return EXIT_FAIL;
	case EROFS:
		for (i = 0; i < r->nr_legs; i++)
			if (p[i].read_only)
				break;
		if (i == r->nr_legs && r->nr_legs > 1) {
			errmsg("create %s: a backing device is read-only", name);
			return EXIT_FAIL;
		}
		errmsg("create %s: %s is read-only", name,
		       r->legs[i < r->nr_legs ? i : 0]);
		return EXIT_FAIL;
	case ELOOP:
		for (i = 0; i < r->nr_legs; i++)
			if (p[i].on_bcv)
				break;
		if (i == r->nr_legs && r->nr_legs > 1) {
			errmsg("create %s: a backing device is " STACKING_LOOP,
			       name);
			return EXIT_FAIL;
		}
		errmsg("create %s: %s is " STACKING_LOOP, name,
		       r->legs[i < r->nr_legs ? i : 0]);
		return EXIT_FAIL;
	case EFBIG:
		share = table_share();
		errmsg("create %s: its tables would take more kernel memory than "
		       "bcv.max_table_share (%u%% of RAM) leaves for them; use a "
		       "larger --track-size, or raise "
		       "/sys/module/bcv/parameters/max_table_share", name,
		       share);
		return EXIT_FAIL;
	case E2BIG:
		/*
		 * Not the request's size (struct bcv_create has not grown
		 * since version 1, so no module refuses it): the volume's
		 * tables would be too large for its track size.
		 */
		errmsg("create %s: %s is too large for a track size of %s: its "
		       "tables would not fit in memory; use a larger "
		       "--track-size", name, name,
		       human_size(r->track_size ? r->track_size :
				  BCV_TRACK_SIZE_DEFAULT, false, tsz,
				  sizeof(tsz)));
		return EXIT_FAIL;
	case ENOSPC:
		errmsg("create %s: too many volumes", name);
		return EXIT_FAIL;
	case ENAMETOOLONG:
		errmsg("create %s: name or path too long (a name has at most "
		       "%d characters, a path at most %d)", name,
		       BCV_NAME_LEN - 1, BCV_PATH_LEN - 1);
		return EXIT_FAIL;
	case EOPNOTSUPP:
		errmsg("create %s: not supported by the loaded bcv module",
		       name);
		return EXIT_FAIL;
	case ENXIO:
		errmsg("create %s: %s: no such device (driver or medium "
		       "missing)", name, leg0);
		return EXIT_FAIL;
	case EACCES:
		/* EPERM is the missing capability; this is the path lookup. */
		errmsg("create %s: permission denied opening %s (on a nodev "
		       "mount?)", name, leg0);
		return EXIT_FAIL;
	case EINVAL:
		break;
	default:
		errmsg("create %s: %s", name, any_error(err));
		return EXIT_FAIL;
	}

	/* EINVAL: find the reason if we can. */
	if (name_problem(name)) {
		errmsg("create %s: invalid volume name", name);
		return EXIT_FAIL;
	}
	for (i = 0; i < r->nr_legs; i++) {
		if (!*r->legs[i]) {
			errmsg("create %s: empty device path", name);
			return EXIT_FAIL;
		}
		if (p[i].is_bcv) {
			errmsg("create %s: %s is a bcv volume; bcv volumes "
			       "cannot be stacked", name, r->legs[i]);
			return EXIT_FAIL;
		}
		if (p[i].zoned) {
			errmsg("create %s: %s is a zoned device, which bcv "
			       "does not support", name, r->legs[i]);
			return EXIT_FAIL;
		}
		if (p[i].empty) {
			errmsg("create %s: %s is empty (size 0)", name,
			       r->legs[i]);
			return EXIT_FAIL;
		}
	}
	if (r->track_size_given) {
		if (!is_pow2(r->track_size) ||
		    r->track_size > BCV_TRACK_SIZE_MAX) {
			errmsg("create %s: invalid track size %" PRIu32 " (a "
			       "power of two up to 16 MiB is required)", name,
			       r->track_size);
			return EXIT_FAIL;
		}
		for (i = 0; i < r->nr_legs; i++) {
			if (p[i].lbs && r->track_size < p[i].lbs) {
				errmsg("create %s: track size %" PRIu32 " is "
				       "smaller than the logical block size of "
				       "%s (%u bytes)", name, r->track_size,
				       r->legs[i], p[i].lbs);
				return EXIT_FAIL;
			}
		}
		errmsg("create %s: invalid argument (track size must be a "
		       "power of two between the device's logical block size "
		       "and 16 MiB; the device must not be empty, zoned or a "
		       "bcv volume)", name);
		return EXIT_FAIL;
	}
	errmsg("create %s: invalid argument (the backing device must not be "
	       "empty, zoned or a bcv volume)", name);
	return EXIT_FAIL;
}

int run_create(const struct cmd_args *a)
{
	const struct cmd *c = a->cmd;
	const struct opt_val *mirrors = &a->opt[CREATE_MIRROR];
	struct create_req r;
	struct bcv_create cr;
	struct bcv_vol_info info;
	char sz[32], tsz[32], msz[32];
	uint64_t bytes, tracks;
	uint32_t ts;
	unsigned int i, j;
	int fd, err, ret;

	memset(&r, 0, sizeof(r));
	if (ascii_caseeq(a->pos[0], "std"))
		r.role = "std";
	else if (ascii_caseeq(a->pos[0], "bcv"))
		r.role = "bcv";
	else
		return usage_error(c, "role must be 'std' or 'bcv', not '%s'",
				   a->pos[0]);
	r.name = a->pos[1];
	ret = check_name(c, "volume name", r.name);
	if (ret)
		return ret;

	r.legs[r.nr_legs++] = a->pos[2];
	for (i = 0; i < mirrors->count; i++)
		r.legs[r.nr_legs++] = mirrors->val[i];
	for (i = 0; i < r.nr_legs; i++) {
		ret = check_path(c, r.legs[i]);
		if (ret)
			return ret;
		for (j = 0; j < i && !no_client_checks; j++)
			if (!strcmp(r.legs[i], r.legs[j]))
				return usage_error(c, "device %s given twice",
						   r.legs[i]);
	}

	if (opt_value(a, CREATE_TRACK_SIZE)) {
		ret = parse_track_size(c, opt_value(a, CREATE_TRACK_SIZE),
				       &r.track_size);
		if (ret)
			return ret;
		r.track_size_given = true;
	}

	/* Nothing on the devices that create would overwrite, unless --force. */
	for (i = 0; i < r.nr_legs && !opt_flag(a, CREATE_FORCE); i++) {
		ret = create_check_signatures(r.name, r.legs[i]);
		if (ret)
			return ret;
	}

	memset(&cr, 0, sizeof(cr));
	cr.size = sizeof(cr);
	cr.role = !strcmp(r.role, "std") ? BCV_ROLE_STD : BCV_ROLE_BCV;
	cr.flags = 0;
	cr.nr_legs = r.nr_legs;
	cr.track_size = r.track_size;
	copy_fixed(cr.name, sizeof(cr.name), r.name);
	for (i = 0; i < r.nr_legs; i++)
		copy_fixed(cr.legs[i], sizeof(cr.legs[i]), r.legs[i]);

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	err = xioctl(fd, BCV_IOC_CREATE, &cr);
	if (err) {
		close(fd);
		return create_error(&r, err);
	}

	/* The kernel's own figures, if LIST finds the volume. */
	bytes = cr.sectors * 512;
	if (find_volume(fd, r.name, &info) && info.index == cr.index) {
		ts = info.track_size;
		tracks = info.tracks;
	} else {
		ts = r.track_size ? r.track_size : BCV_TRACK_SIZE_DEFAULT;
		tracks = (bytes + ts - 1) / ts;
	}
	close(fd);

	if (udev_running() && !wait_link(r.name, cr.index, true))
		errmsg("warning: " LINK_DIR "/%s did not appear within %d s "
		       "(is 60-bcv.rules installed?)", r.name,
		       UDEV_WAIT_MS / 1000);

	printf("created %s %s: /dev/" BCV_DISK_PREFIX "%" PRIu32
	       " (%s, %" PRIu64 " tracks of %s", r.role, r.name, cr.index,
	       human_size(bytes, false, sz, sizeof(sz)), tracks,
	       human_size(ts, false, tsz, sizeof(tsz)));
	/* A module without on-disk metadata leaves meta_sectors zero. */
	if (cr.meta_sectors)
		printf(", metadata %s", human_size((uint64_t)cr.meta_sectors *
						   512, false, msz,
						   sizeof(msz)));
	printf(")\n");
	return EXIT_OK;
}

/*------------------------------------------------------------------------
 * add-leg, remove-leg
 */

/*
 * remove-leg NAME Mn: the mirror position n (1..NR_POSITIONS) that @arg
 * names, "M" or "m" and one digit, else 0 (a device path).
 */
static int leg_position_arg(const char *arg)
{
	if ((arg[0] == 'M' || arg[0] == 'm') && arg[1] >= '1' &&
	    arg[1] < '1' + NR_POSITIONS && !arg[2])
		return arg[1] - '0';
	return 0;
}

/*
 * Why BCV_IOC_LEG refused to add or remove @dev (as given: a device path,
 * or "Mn" when @mpos is n, the leg at mirror position Mn) of @name, asking
 * the control device @fd which volumes exist.  Returns the exit status.
 */
static int leg_error(int fd, bool add, const char *name, const char *dev,
		     int mpos, int err)
{
	const char *verb = add ? "add-leg" : "remove-leg";
	struct dev_probe p;
	int vol_err;

	/* "M2" is no path to look at. */
	if (mpos)
		memset(&p, 0, sizeof(p));
	else
		probe_dev(dev, &p);
	switch (err) {
	case ENOENT:
		/*
		 * The kernel looks for the volume before the device (and
		 * for none with Mn): no volume @name is exit 3, a device
		 * path that does not exist exit 1.  Without LIST, the path
		 * tells.
		 */
		vol_err = lookup_volume(fd, name, NULL);
		if (vol_err == ENOENT || mpos ||
		    (vol_err && p.stat_err != ENOENT)) {
			errmsg("%s %s: no volume named %s", verb, name, name);
			return EXIT_NOTFOUND;
		}
		errmsg("%s %s: %s does not exist", verb, name, dev);
		return EXIT_FAIL;
	case ENOTBLK:
		errmsg("%s %s: %s is not a block device", verb, name, dev);
		return EXIT_FAIL;
	case ENODEV:
		if (mpos)
			errmsg("%s %s: %s has no leg at M%d", verb, name, name,
			       mpos);
		else
			errmsg("%s %s: %s is not a leg of %s", verb, name, dev,
			       name);
		return EXIT_FAIL;
	case ENOSPC:
		errmsg("%s %s: %s has %d legs already", verb, name, name,
		       BCV_MAX_LEGS);
		return EXIT_FAIL;
	case EROFS:
		errmsg("%s %s: %s is read-only", verb, name, dev);
		return EXIT_FAIL;
	case ELOOP:
		errmsg("%s %s: %s is " STACKING_LOOP, verb, name, dev);
		return EXIT_FAIL;
	case EBUSY:
		if (add && p.excl_busy)
			errmsg("%s %s: %s is in use (mounted, held open "
			       "exclusively, or backing a bcv volume)", verb,
			       name, dev);
		else if (add)
			errmsg("%s %s: %s has a bcv volume attached (split it "
			       "first)", verb, name, name);
		else
			errmsg("%s %s: %s is the only leg, holds tracks no other "
			       "leg has yet, or %s has a bcv volume attached",
			       verb, name, dev, name);
		return EXIT_BUSY;
	case EINVAL:
		if (mpos)
			errmsg("%s %s: %s has no leg at M%d", verb, name, name,
			       mpos);
		else if (p.is_bcv)
			errmsg("%s %s: %s is a bcv volume", verb, name, dev);
		else
			errmsg("%s %s: %s is smaller than %s, has a larger "
			       "logical block size, or is zoned", verb, name,
			       dev, name);
		return EXIT_FAIL;
	case ENAMETOOLONG:
		if (mpos)
			errmsg("%s %s: name too long (at most %d characters)",
			       verb, name, BCV_NAME_LEN - 1);
		else
			errmsg("%s %s: name or path too long", verb, name);
		return EXIT_FAIL;
	default:
		errmsg("%s %s: %s", verb, name, any_error(err));
		return EXIT_FAIL;
	}
}

/*
 * Whether the loaded module removes a leg by position (BCV_FEAT_LEG_POS);
 * says why not, as one line, when it does not or cannot be asked.
 */
static bool have_leg_pos(int fd, const char *name)
{
	struct bcv_version v;
	int err;

	err = ctl_version(fd, &v);
	if (err) {
		errmsg("remove-leg %s: %s", name, any_error(err));
		return false;
	}
	if (!(v.features & BCV_FEAT_LEG_POS)) {
		errmsg("remove-leg %s: the loaded bcv module (%" PRIu32 ".%"
		       PRIu32 ".%" PRIu32 ") cannot remove a leg by its mirror "
		       "position; name its device instead", name, v.major,
		       v.minor, v.patch);
		return false;
	}
	return true;
}

static int run_leg(const struct cmd_args *a, bool add)
{
	const char *name = a->pos[0], *dev = a->pos[1];
	/* remove-leg NAME Mn: the leg at position n, whatever its device. */
	int mpos = add ? 0 : leg_position_arg(dev);
	char shown[6 + BCV_NAME_LEN] = "";
	struct bcv_leg_cmd l;
	struct bcv_vol_info info;
	unsigned int i;
	int fd, err, ret;

	ret = check_name(a->cmd, "volume name", name);
	if (ret)
		return ret;
	if (!mpos) {
		ret = check_path(a->cmd, dev);
		if (ret)
			return ret;
	}
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.op = add ? BCV_LEG_ADD : BCV_LEG_REMOVE;
	copy_fixed(l.name, sizeof(l.name), name);
	if (mpos) {
		/* The device node may be gone: the path stays empty. */
		l.flags = BCV_LEG_F_POS;
		l.pos = mpos - 1;
	} else {
		copy_fixed(l.path, sizeof(l.path), dev);
	}

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	if (mpos) {
		if (!have_leg_pos(fd, name)) {
			close(fd);
			return EXIT_FAIL;
		}
		/* The leg's device, for the message once it is removed. */
		if (find_volume(fd, name, &info))
			for (i = 0; i < vol_legs(&info); i++)
				if (info.leg_pos[i] == (uint32_t)(mpos - 1))
					snprintf(shown, sizeof(shown),
						 "/dev/%.*s",
						 fixed_len(info.leg_name[i],
							   BCV_NAME_LEN),
						 info.leg_name[i]);
	}
	err = xioctl(fd, BCV_IOC_LEG, &l);
	if (err) {
		if (err == ENOTTY) {
			errmsg("%s %s: not supported by the loaded bcv module",
			       add ? "add-leg" : "remove-leg", name);
			ret = EXIT_FAIL;
		} else {
			ret = leg_error(fd, add, name, dev, mpos, err);
		}
		close(fd);
		return ret;
	}
	close(fd);
	if (add)
		printf("added %s to %s at M%d; the copy engine syncs it\n", dev,
		       name, l.pos + 1);
	else if (mpos && !shown[0])
		printf("removed the leg at M%d from %s\n", l.pos + 1, name);
	else
		printf("removed %s from %s (was M%d)\n", mpos ? shown : dev,
		       name, l.pos + 1);
	return EXIT_OK;
}

int run_add_leg(const struct cmd_args *a)
{
	return run_leg(a, true);
}

int run_remove_leg(const struct cmd_args *a)
{
	return run_leg(a, false);
}

/*------------------------------------------------------------------------
 * remove
 */

/*
 * After remove erased their metadata, have udev look at @v's legs again
 * (a "change" uevent): the kernel wrote them, so no udev watch saw it, and
 * 64-bcv-assemble.rules' marks (SYSTEMD_READY=0, no ID_FS_TYPE) would
 * stay.  Best effort.
 */
static void retrigger_legs(const struct bcv_vol_info *v)
{
	char path[64];
	unsigned int l;
	int fd;

	for (l = 0; l < vol_legs(v); l++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%" PRIu32 ":%"
			 PRIu32 "/uevent", v->leg_major[l], v->leg_minor[l]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "change", 6) < 0) {
			/* Nothing to do: udev's view stays as it was. */
		}
		close(fd);
	}
}

int run_remove(const struct cmd_args *a)
{
	const char *name = a->pos[0];
	struct bcv_remove rm;
	struct bcv_vol_info info, legs;
	uint64_t deadline;
	bool have_legs;
	int fd, err, ret;

	ret = check_name(a->cmd, "volume name", name);
	if (ret)
		return ret;

	memset(&rm, 0, sizeof(rm));
	rm.size = sizeof(rm);
	rm.flags = opt_flag(a, REMOVE_FORCE) ? BCV_REMOVE_FORCE : 0;
	copy_fixed(rm.name, sizeof(rm.name), name);

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	/* Its legs, for udev afterwards. */
	have_legs = find_volume(fd, name, &legs);
	deadline = now_ms() + BUSY_RETRY_MS;
	for (;;) {
		err = xioctl(fd, BCV_IOC_REMOVE, &rm);
		/* udev's blkid may hold the device briefly after a write. */
		if (err != EBUSY || now_ms() >= deadline)
			break;
		sleep_ms(BUSY_POLL_MS);
	}

	switch (err) {
	case 0:
		break;
	case ENOENT:		/* exit 3 */
		errmsg("remove %s: no volume named %s", name, name);
		break;
	case EBUSY:		/* exit 4 */
		if (find_volume(fd, name, &info) && info.open_count)
			errmsg("remove %s: %s is open (%" PRIu32 " opener%s)",
			       name, name, info.open_count,
			       info.open_count == 1 ? "" : "s");
		else
			errmsg("remove %s: %s is open or in a session", name,
			       name);
		break;
	case ENAMETOOLONG:
		errmsg("remove %s: name too long (at most %d characters)",
		       name, BCV_NAME_LEN - 1);
		break;
	default:
		errmsg("remove %s: %s", name, any_error(err));
		break;
	}
	close(fd);
	if (err)
		return refusal_status(err);

	if (udev_running() && have_legs)
		retrigger_legs(&legs);
	if (udev_running() && !wait_link(name, 0, false))
		errmsg("warning: " LINK_DIR "/%s still exists after %d s",
		       name, UDEV_WAIT_MS / 1000);
	printf("removed %s\n", name);
	return EXIT_OK;
}

/*------------------------------------------------------------------------
 * list
 */

int run_list(const struct cmd_args *a)
{
	struct bcv_vol_info *vols;
	uint32_t n;
	int fd;

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	vols = list_volumes(fd, &n);
	if (!vols) {
		errmsg("list: %s", any_error(errno));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	if (opt_flag(a, LIST_JSON)) {
		list_json(vols, n);
	} else {
		list_table(vols, n);
		vol_notes(vols, n);
	}
	free(vols);
	return EXIT_OK;
}
