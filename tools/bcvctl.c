// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl: control multi-session Business Continuance Volumes.
 *
 * Talks to the bcv kernel module through ioctls on /dev/bcvctl (see
 * include/uapi/linux/bcv.h).  Plain C11, libc and libblkid.  This file has
 * main, the messages, the argument checks, the parser and the command
 * table with every command's help; bcvctl.h says what the other files
 * (the control device, output, progress, devices, and the commands of
 * volumes, sessions, metadata and events) hold.
 *
 * Exit status (bcv-design.rst section 9): 0 success, 2 bad usage (one line plus a
 * hint to --help), and otherwise one line on stderr saying why and
 *   3  a named volume or session does not exist (ENOENT; not a backing
 *      device path that does not exist: that is 1),
 *   4  busy: open, attached, a copy in progress, a device in use (EBUSY),
 *   5  timed out (wait --timeout: ETIMEDOUT),
 *   1  any other refusal or failure (EINVAL, ELOOP, EROFS, ENOSPC, EEXIST,
 *      ENODEV, E2BIG, EPERM, a missing backing device, no bcv module, ...).
 *
 * Layout: the command table at the bottom names each verb with its
 * positionals, options (their indexes are enums in bcvctl.h), help text
 * and handler.  parse_args() turns argv into a struct cmd_args that
 * handlers read; handlers (bcvctl_volume.c, bcvctl_session.c, ...)
 * validate their arguments (usage errors, exit 2), fill an ioctl struct,
 * and map the errno of a refusal to one line per command and to the exit
 * status (the function that prints the line returns the status, so that
 * the two agree).  --wait and the wait verb sleep in BCV_IOC_WAIT in short
 * slices, drawing a progress bar from BCV_IOC_QUERY between them when
 * stderr is a terminal (bcvctl_progress.c).
 *
 * Client-side checks (name syntax, path length, track size, distinct
 * volumes) mirror the kernel's, to give clear messages without a round trip.
 * BCV_NO_CLIENT_CHECKS=1 in the environment skips them all, so that tests
 * can feed bad input to the kernel's own checks: an over-long name or path
 * is then passed filling its array without a NUL (the kernel answers
 * ENAMETOOLONG), a bad track size as given, an empty name as empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)
#define BCVCTL_VERSION	STR(BCV_VERSION_MAJOR) "." STR(BCV_VERSION_MINOR) \
			"." STR(BCV_VERSION_PATCH)

/* Messages spell this limit out. */
_Static_assert(BCV_NAME_LEN == 32, "update the name length messages");

bool no_client_checks;	/* BCV_NO_CLIENT_CHECKS=1, see above */

/*------------------------------------------------------------------------
 * Messages
 */

/* "bcvctl: WHAT: why" on stderr. */
void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("bcvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: exactly one line on stderr.  Returns EXIT_USAGE. */
int usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fputs("bcvctl: ", stderr);
	if (c)
		fprintf(stderr, "%s: ", cmd_name(c));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* One line only: scripts read the first stderr line as the reason. */
	fputs(c ? " (see --help)\n" : " (see bcvctl --help)\n", stderr);
	return EXIT_USAGE;
}

/*------------------------------------------------------------------------
 * Clocks
 */

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*------------------------------------------------------------------------
 * Argument checks (all return 0 or EXIT_USAGE after printing why)
 */

static bool name_char_ok(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
	       ch == '+' || ch == '-';
}

/* Why @name is not a valid volume name, or NULL. */
const char *name_problem(const char *name)
{
	size_t i, len = strlen(name);

	if (!len)
		return "must not be empty";
	if (len >= BCV_NAME_LEN)
		return "is too long (at most 31 characters)";
	if (name[0] == '.' || name[0] == '-')
		return "must not start with '.' or '-'";
	for (i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			return "may contain only A-Z a-z 0-9 . _ + -";
	return NULL;
}

int check_name(const struct cmd *c, const char *what, const char *name)
{
	const char *why;

	if (no_client_checks)
		return 0;
	why = name_problem(name);
	if (why)
		return usage_error(c, "%s '%s' %s", what, name, why);
	return 0;
}

int check_path(const struct cmd *c, const char *path)
{
	if (no_client_checks)
		return 0;
	if (!*path)
		return usage_error(c, "device path must not be empty");
	if (strlen(path) >= BCV_PATH_LEN)
		return usage_error(c, "device path '%.40s...' is too long "
				   "(at most %d characters)", path,
				   BCV_PATH_LEN - 1);
	return 0;
}

/* A non-negative decimal integer up to @max.  Returns false if not. */
bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/*------------------------------------------------------------------------
 * The argument parser (its types are in bcvctl.h)
 */

const char *cmd_name(const struct cmd *c)
{
	return c->name;
}

bool opt_flag(const struct cmd_args *a, unsigned int i)
{
	return a->opt[i].count > 0;
}

const char *opt_value(const struct cmd_args *a, unsigned int i)
{
	return a->opt[i].count ? a->opt[i].val[0] : NULL;
}

static void print_cmd_help(const struct cmd *c)
{
	printf("Usage: bcvctl %s %s\n\n%s", c->name, c->synopsis, c->help);
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/*
 * Parse argv[1..argc-1] (argv[0] is the verb) for @c into @a.  Options may
 * come before, between or after positionals; "--" ends options.  Returns
 * -1 when parsed, else an exit status: EXIT_OK after printing --help,
 * EXIT_USAGE after a usage error.
 */
static int parse_args(const struct cmd *c, int argc, char **argv,
		      struct cmd_args *a)
{
	bool opts_done = false;
	int i;

	memset(a, 0, sizeof(*a));
	a->cmd = c;

	/* --help anywhere before "--" wins over any other problem. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (is_help(argv[i])) {
			print_cmd_help(c);
			return EXIT_OK;
		}
	}

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *val;
		const struct opt_def *d;
		struct opt_val *ov;
		size_t nlen;
		unsigned int k;

		if (!opts_done && !strcmp(arg, "--")) {
			opts_done = true;
			continue;
		}
		if (opts_done || arg[0] != '-' || !arg[1]) {
			if (a->npos >= c->max_pos)
				return usage_error(c, "unexpected argument '%s'",
						   arg);
			a->pos[a->npos++] = arg;
			continue;
		}
		if (arg[1] != '-')
			return usage_error(c, "unknown option '%s'", arg);

		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		for (k = 0; c->opts[k].name; k++)
			if (strlen(c->opts[k].name) == nlen &&
			    !strncmp(c->opts[k].name, name, nlen))
				break;
		d = &c->opts[k];
		if (!d->name)
			return usage_error(c, "unknown option '--%.*s'",
					   (int)nlen, name);
		ov = &a->opt[k];

		if (d->kind == OPT_FLAG) {
			if (eq)
				return usage_error(c, "option '--%s' takes no "
						   "value", d->name);
			ov->count++;
			continue;
		}

		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
			/* "--opt --other" is a missing value, not "--other". */
			val = argv[++i];
		} else {
			return usage_error(c, "option '--%s' needs a value",
					   d->name);
		}
		if (d->kind == OPT_VALUE && ov->count)
			return usage_error(c, "option '--%s' given more than "
					   "once", d->name);
		if (d->kind == OPT_LIST && ov->count >= d->max)
			return usage_error(c, "option '--%s' given more than "
					   "%u times", d->name, d->max);
		ov->val[ov->count++] = val;
	}

	if (a->npos < c->min_pos)
		return usage_error(c, "missing %s", c->pos[a->npos]);
	return -1;
}

/*------------------------------------------------------------------------
 * The command table
 */

#define WAIT_OPT "  --wait              wait until the copy has finished, " \
		 "with a progress bar\n" \
		 "                      on a terminal\n"

/* Must follow the enums of the handlers: opts[i] is option i. */
static const struct cmd commands[] = {
	{
		.name = "create",
		.synopsis = "std|bcv NAME BACKING_DEV [--track-size SIZE] "
			    "[--mirror DEV]... [--force]",
		.summary = "create a volume /dev/bcvN over a block device",
		.help =
"Create a volume named NAME over the block device BACKING_DEV, which the bcv\n"
"module then holds exclusively.  A std volume is a standard (production)\n"
"volume; a bcv volume is a business continuance volume, which can be\n"
"established as a mirror of a std volume and split off as a point-in-time\n"
"copy.  The volume appears as /dev/bcvN and, through udev, as /dev/bcv/NAME.\n"
"\n"
"NAME has 1 to 31 characters of A-Z a-z 0-9 . _ + - and does not start with\n"
"'.' or '-'.  BACKING_DEV is passed to the kernel as given.\n"
"\n"
"Every leg gets bcv metadata at its end (a superblock in two copies and the\n"
"volume's tables): the volume is the device less that area, its data starts\n"
"at offset 0, and `bcvctl stop` and `bcvctl assemble` (or udev at boot)\n"
"keep it across reboots.  A device that holds a filesystem, a partition\n"
"table, an md or LVM signature or bcv metadata is refused, naming what it\n"
"holds, unless --force.\n"
"\n"
"Options:\n"
"  --track-size SIZE   the unit of change tracking and copying: bytes, or\n"
"                      with a suffix K, KiB, M, MiB (powers of 1024); a power\n"
"                      of two from 512 to 16M and at least the device's\n"
"                      logical block size (default 64K)\n"
"  --mirror DEV        add a fixed mirror leg DEV (up to 2): a RAID-1 copy of\n"
"                      the volume kept by bcv; on a bcv volume, a BCV fixed\n"
"                      mirror, synced from the primary after each split\n"
"  --force             overwrite whatever the devices hold (a filesystem, a\n"
"                      partition table, md, LVM or bcv metadata)\n"
HELP_OPT
"\n"
"Prints: created std|bcv NAME: /dev/bcvN (SIZE, T tracks of TRACK_SIZE,\n"
"metadata META_SIZE), META_SIZE being what the metadata takes at the end of\n"
"the smallest leg\n",
		.pos = { "role (std or bcv)", "NAME", "BACKING_DEV" },
		.min_pos = 3, .max_pos = 3,
		.opts = {
			[CREATE_TRACK_SIZE] = { "track-size", OPT_VALUE, 1 },
			[CREATE_MIRROR] = { "mirror", OPT_LIST, MAX_MIRRORS },
			[CREATE_FORCE] = { "force", OPT_FLAG, 1 },
		},
		.run = run_create,
	},
	{
		.name = "remove",
		.synopsis = "NAME [--force]",
		.summary = "remove a volume and erase its metadata",
		.help =
"Remove the volume NAME, erase the bcv metadata on every one of its legs\n"
"(both superblock copies: the devices no longer assemble) and release\n"
"them; the data area is left as it is.  Refused while the volume is open or\n"
"in a session.  `bcvctl stop NAME` removes the volume from the kernel but\n"
"keeps its metadata, so that `bcvctl assemble` brings it back.\n"
"\n"
"Options:\n"
"  --force             also end the volume's split sessions\n"
HELP_OPT,
		.pos = { "NAME" },
		.min_pos = 1, .max_pos = 1,
		.opts = {
			[REMOVE_FORCE] = { "force", OPT_FLAG, 1 },
		},
		.run = run_remove,
	},
	{
		.name = "stop",
		.synopsis = "NAME | --all",
		.summary = "stop a volume, keeping its metadata for assemble",
		.help = stop_help,
		.pos = { "NAME" },
		.min_pos = 0, .max_pos = 1,
		.opts = {
			[STOP_ALL] = { "all", OPT_FLAG, 1 },
		},
		.run = run_stop,
	},
	{
		.name = "assemble",
		.synopsis = "DEV... [--name NAME] | --scan | --incremental DEV",
		.summary = "bring stopped volumes back from their metadata",
		.help = assemble_help,
		.pos = { "DEV", "DEV", "DEV" },
		.min_pos = 0, .max_pos = BCV_MAX_LEGS,
		.opts = {
			[ASSEMBLE_NAME] = { "name", OPT_VALUE, 1 },
			[ASSEMBLE_SCAN] = { "scan", OPT_FLAG, 1 },
			[ASSEMBLE_INCREMENTAL] = { "incremental", OPT_VALUE, 1 },
		},
		.run = run_assemble,
	},
	{
		.name = "examine",
		.synopsis = "DEV [--json | --export]",
		.summary = "show the bcv metadata of a device (no module needed)",
		.help = examine_help,
		.pos = { "DEV" },
		.min_pos = 1, .max_pos = 1,
		.opts = {
			[EXAMINE_JSON] = { "json", OPT_FLAG, 1 },
			[EXAMINE_EXPORT] = { "export", OPT_FLAG, 1 },
		},
		.run = run_examine,
	},
	{
		.name = "monitor",
		.synopsis = "[--json] [--count N] [--timeout SECONDS]",
		.summary = "print state changes and errors as they happen",
		.help = monitor_help,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			[MONITOR_JSON] = { "json", OPT_FLAG, 1 },
			[MONITOR_COUNT] = { "count", OPT_VALUE, 1 },
			[MONITOR_TIMEOUT] = { "timeout", OPT_VALUE, 1 },
		},
		.run = run_monitor,
	},
	{
		.name = "add-leg",
		.synopsis = "NAME DEV",
		.summary = "add a fixed mirror leg to a volume",
		.help =
"Add the block device DEV as a fixed mirror leg of the volume NAME (at most\n"
"3 legs).  The new leg starts invalid everywhere and the copy engine syncs\n"
"it from the others while the volume stays in use; `bcvctl list` shows how\n"
"many tracks are left.  DEV must be at least as large as the volume.\n"
"Refused while a bcv volume is attached to NAME (or NAME, a bcv volume, is\n"
"attached): split first.\n"
"\n"
"Options:\n"
HELP_OPT,
		.pos = { "NAME", "DEV" },
		.min_pos = 2, .max_pos = 2,
		.run = run_add_leg,
	},
	{
		.name = "remove-leg",
		.synopsis = "NAME DEV|Mn",
		.summary = "remove a leg from a volume, by device or mirror "
			   "position",
		.help =
"Remove the leg DEV from the volume NAME and release the device.  The legs\n"
"above it move down a mirror position.  Refused for the only leg, for a leg\n"
"that holds tracks no other leg has yet (wait for the sync), and while a\n"
"bcv volume is attached.\n"
"\n"
"Instead of DEV, Mn (M1 to M4, or m1 to m4) names the leg at that mirror\n"
"position, as `bcvctl query NAME` shows it: the way to remove a failed leg\n"
"whose device node is gone.  (A device node named M1 in the current\n"
"directory is given as ./M1.)\n"
"\n"
"Options:\n"
HELP_OPT
"\n"
"Prints: removed DEV from NAME (was Mn)\n",
		.pos = { "NAME", "DEV or Mn" },
		.min_pos = 2, .max_pos = 2,
		.run = run_remove_leg,
	},
	{
		.name = "establish",
		.synopsis = "STD BCV [--wait]",
		.summary = "attach BCV to STD as a mirror and copy every track",
		.help =
"Start a session between the std volume STD and the bcv volume BCV: attach\n"
"BCV as a mirror of STD and copy every track from STD to BCV.  BCV must not\n"
"be open, must be at least as large as STD, and is not ready to its own\n"
"users while attached.  State: syncinprog, then synchronized.\n"
"\n"
"Options:\n"
WAIT_OPT
HELP_OPT
"\n"
"Prints: establish STD BCV: STATE (syncinprog, or synchronized with --wait)\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.opts = {
			[ESTABLISH_WAIT] = { "wait", OPT_FLAG, 1 },
		},
		.run = run_establish,
	},
	{
		.name = "split",
		.synopsis = "STD BCV [--diff] [--wait | --force | --consistent "
			    "[STD BCV]... [--group FILE]]",
		.summary = "detach BCV as a point-in-time copy of STD",
		.help =
"Split BCV off STD: BCV becomes an independent, writable copy of STD as of\n"
"the instant of the split.  The session must be synchronized or restored.\n"
"Tracks BCV missed meanwhile (a write that failed on it) are copied first\n"
"while STD's writes go on; STD is held only for the last step.  Refused at\n"
"once (exit 4) when no copy can bring them: the session is paused, or\n"
"copies to BCV fail (its disk or link is down); and after 60 s without a\n"
"track copied.\n"
"\n"
"Options:\n"
"  --diff              differential split: refresh only the changed tracks\n"
"                      on BCV's fixed mirror legs\n"
"  --wait              first wait until the copy has finished (synchronized\n"
"                      or restored), with a progress bar on a terminal\n"
"  --force             split also while syncinprog (a copy that cannot\n"
"                      finish, e.g. BCV's disk failed): BCV is then no\n"
"                      point-in-time copy; every track it has not received\n"
"                      is marked changed on both volumes, so the next\n"
"                      reestablish repairs it.  Refused while restinprog\n"
"                      (STD needs BCV for the tracks not restored yet)\n"
"                      unless BCV is not assembled and abort cannot give\n"
"                      STD those tracks back (they stay unreadable)\n"
"  --consistent        split every pair given (up to 64, on one STD or\n"
"                      several) at one instant: writes to every STD are\n"
"                      drained and held, every BCV detached, then all are\n"
"                      released; a write acknowledged on any STD before the\n"
"                      command started is on its BCV, none issued after it\n"
"                      returned is.  All or nothing: if a pair cannot split,\n"
"                      none is, and the message names that pair; a crash\n"
"                      leaves the pairs of one STD all split or all\n"
"                      attached.  Prints a line per pair and how long\n"
"                      writes were held\n"
"  --group FILE        (implies --consistent) the pairs of FILE too, \"STD\n"
"                      BCV\" a line; blank lines and # comments are skipped\n"
HELP_OPT
"\n"
"A BCV that is not assembled (stopped, or gone for good) may be named by\n"
"the name STD remembers for it or by its UUID (bcvctl examine of STD's\n"
"disk shows it): split --force, abort and terminate end such a session on\n"
"STD's side (the administrator's guide, Missing volumes, says how).\n""\n"
"Prints: split STD BCV: split (a line per pair), and with --consistent\n"
"\"split --consistent: N pairs split at one instant, writes held X ms\"\n",
		.pos = { "STD", "BCV" },
		.min_pos = 0, .max_pos = MAX_POS,
		.opts = {
			[SPLIT_DIFF] = { "diff", OPT_FLAG, 1 },
			[SPLIT_WAIT] = { "wait", OPT_FLAG, 1 },
			[SPLIT_FORCE] = { "force", OPT_FLAG, 1 },
			[SPLIT_CONSISTENT] = { "consistent", OPT_FLAG, 1 },
			[SPLIT_GROUP] = { "group", OPT_VALUE, 1 },
		},
		.run = run_split,
	},
	{
		.name = "reestablish",
		.synopsis = "STD BCV [--wait]",
		.summary = "re-attach a split BCV, copying only changed tracks",
		.help =
"Attach the split BCV to STD again and copy only the tracks that changed on\n"
"either volume since the split.  State: syncinprog, then synchronized.\n"
"Refused while BCV is open.\n"
"\n"
"Options:\n"
WAIT_OPT
HELP_OPT
"\n"
"Prints: reestablish STD BCV: STATE (syncinprog, or synchronized with\n"
"--wait)\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.opts = {
			[REESTABLISH_WAIT] = { "wait", OPT_FLAG, 1 },
		},
		.run = run_reestablish,
	},
	{
		.name = "restore",
		.synopsis = "STD BCV [--incremental] [--protect] [--force] [--wait]",
		.summary = "copy a split BCV back onto STD",
		.help =
"Copy the split BCV back onto STD, which stays usable meanwhile.  State:\n"
"restinprog, then restored; the pair stays attached until split.  Refused\n"
"while STD is open (unless --force) or another restore runs on STD.\n"
"\n"
"Options:\n"
"  --incremental       copy only the tracks that changed on either volume\n"
"                      since the split\n"
"  --force             restore even while STD is open\n"
"  --protect           never write BCV: writes to STD during and after the\n"
"                      restore stay off it (marked changed), and the pair\n"
"                      is split again once restored (also after a stop or\n"
"                      crash; retried until it can be), so BCV stays a gold\n"
"                      copy that later --protect restores copy\n"
"                      incrementally.  A write to part of a track not\n"
"                      restored yet waits for that track's copy, and while\n"
"                      the session is paused, for resume\n"
WAIT_OPT
HELP_OPT
"\n"
"Prints: restore STD BCV: STATE (restinprog, or restored with --wait;\n"
"split with --protect --wait)\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.opts = {
			[RESTORE_INCREMENTAL] = { "incremental", OPT_FLAG, 1 },
			[RESTORE_FORCE] = { "force", OPT_FLAG, 1 },
			[RESTORE_WAIT] = { "wait", OPT_FLAG, 1 },
			[RESTORE_PROTECT] = { "protect", OPT_FLAG, 1 },
		},
		.run = run_restore,
	},
	{
		.name = "terminate",
		.synopsis = "STD BCV",
		.summary = "end the split session of STD and BCV",
		.help =
"End the session of STD and the split BCV; BCV is a plain volume again.\n"
"Also releases a BCV whose STD is not assembled (or no longer has the\n"
"session): it stands alone from then on.\n"
"\n"
"A BCV that is not assembled (stopped, or gone for good) may be named by\n"
"the name STD remembers for it or by its UUID (bcvctl examine of STD's\n"
"disk shows it): split --force, abort and terminate end such a session on\n"
"STD's side (the administrator's guide, Missing volumes, says how).\n""\n"
"Options:\n"
HELP_OPT
"\n"
"Prints: terminate STD BCV: terminated\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.run = run_terminate,
	},
	{
		.name = "pause",
		.synopsis = "STD BCV",
		.summary = "stop the copies of a session, keeping its progress",
		.help =
"Stop the copies of the session of STD and BCV: an establish, reestablish\n"
"or restore, and the sync of the BCV's fixed mirrors after a split.  The\n"
"state stays what it is (syncinprog, restinprog); writes to STD are tracked\n"
"as ever, and commands on the session keep the pause (a reestablish of a\n"
"paused session copies nothing until resume; a write to part of a track a\n"
"paused protected restore has not restored yet waits for resume).  Copies\n"
"in flight have ended when it returns.  A pause does not outlive a stop or\n"
"reboot.  query shows it (\"paused\" in --json); wait waits on.\n"
"\n"
"Options:\n"
HELP_OPT
"\n"
"Prints: pause STD BCV: STATE\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.run = run_pause,
	},
	{
		.name = "resume",
		.synopsis = "STD BCV",
		.summary = "let the copies of a paused session go on",
		.help =
"Let the copies of the session of STD and BCV go on from where the tables\n"
"say they are (a session that is not paused stays as it is).\n"
"\n"
"Options:\n"
HELP_OPT
"\n"
"Prints: resume STD BCV: STATE\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.run = run_resume,
	},
	{
		.name = "abort",
		.synopsis = "STD BCV",
		.summary = "stop an establish, reestablish or restore in progress",
		.help =
"Stop the copy of the session of STD and BCV that is in progress and\n"
"split BCV off again.  STD keeps all its data.\n"
"\n"
"Establish, reestablish (syncinprog): BCV then holds a mix of its old data\n"
"and what was copied: every track the copy was to write, copied yet or\n"
"not, is marked changed on both volumes, so the next reestablish copies\n"
"exactly those tracks.\n"
"\n"
"Restore (restinprog): the tracks restored so far hold BCV's data, the\n"
"others STD's old data again; the latter are marked changed, so an\n"
"incremental restore copies them.  Refused when STD's old data cannot be\n"
"trusted: the restore began before the volumes were last assembled, STD\n"
"had tracks still to copy or an I/O error since, or (without --protect)\n"
"the host wrote a track not restored yet.\n"
"\n"
"A BCV that is not assembled (stopped, or gone for good) may be named by\n"
"the name STD remembers for it or by its UUID (bcvctl examine of STD's\n"
"disk shows it): split --force, abort and terminate end such a session on\n"
"STD's side (the administrator's guide, Missing volumes, says how).\n""\n"
"Options:\n"
HELP_OPT
"\n"
"Prints: abort STD BCV: split\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.run = run_abort,
	},
	{
		.name = "wait",
		.synopsis = "STD BCV [--timeout SECONDS]",
		.summary = "wait until the copy of a session has finished",
		.help =
"Wait until the copy of the session of STD and BCV has finished, i.e. the\n"
"session is no longer syncinprog nor restinprog (a protected restore: until\n"
"it is split again); returns at once when no copy is running.  Draws a\n"
"progress bar (percent done, MB/s, ETA) when stderr is a terminal.\n"
"\n"
"Options:\n"
"  --timeout SECONDS   give up after SECONDS (exit 5, \"timed out\"); 0 only\n"
"                      looks once; default: no limit\n"
HELP_OPT
"\n"
"Prints: wait STD BCV: STATE\n"
"\n"
"Exit status: 0 no copy runs (any more), 3 no such volume or session (or it\n"
"ended while waiting), 4 a protected restore is done but its split cannot\n"
"happen until something outside changes (the message says what; bcv\n"
"splits it by itself then), 5 timed out, 1 any other failure.\n",
		.pos = { "STD", "BCV" },
		.min_pos = 2, .max_pos = 2,
		.opts = {
			[WAIT_TIMEOUT] = { "timeout", OPT_VALUE, 1 },
		},
		.run = run_wait,
	},
	{
		.name = "query",
		.synopsis = "[NAME] [--json]",
		.summary = "show sessions, their states and copy progress",
		.help =
"Show the sessions of all volumes, or of the volume NAME (a std or a bcv\n"
"volume): state, track counts and copy progress, one per line under a\n"
"header:\n"
"  STD BCV ID STATE INVALID STD-CHANGED BCV-CHANGED COPIED ERRORS DONE(%)\n"
"ID is the session's number on STD (0-15); STATE is syncinprog, synchronized,\n"
"split, restinprog or restored; INVALID counts tracks still to copy;\n"
"STD-CHANGED tracks written on STD since the split (this session's\n"
"change bits); BCV-CHANGED tracks written on BCV by its own users since\n"
"the split; COPIED tracks copied by the last establish, reestablish or\n"
"restore; ERRORS copy I/O errors since then; DONE is COPIED / (COPIED +\n"
"INVALID).  Prints\n"
"\"No sessions.\" when there are none.\n"
"\n"
"For a volume NAME with fixed mirror legs, a second table follows: each\n"
"leg's mirror position (M1 to M4), device and invalid tracks, marked\n"
"\"(primary)\" and \"(failed)\" (device gone or shrunk: no I/O; remove it\n"
"with remove-leg NAME Mn).\n"
"\n"
"Then, after a blank line, \"STD/BCV: paused (bcvctl resume STD BCV)\" for\n"
"each paused session.\n"
"\n"
"Last, after a blank line, one line for each volume concerned (NAME, or\n"
"all) that has a flag: \"NAME: recovered after an unclean shutdown (N\n"
"tracks marked to copy)\" (its tables held every change already; recovery\n"
"marked the N tracks of the regions that had writes in flight),\n"
"\"NAME: a session's other volume is not assembled\", or both separated\n"
"by \"; \".\n"
"\n"
"Options:\n"
"  --json              print one JSON object: {\"sessions\":[{\"std\", \"bcv\",\n"
"                      \"id\", \"state\", \"mm\" (STD mirror position while\n"
"                      attached, else -1), \"tracks\", \"track_size\",\n"
"                      \"invalid_tracks\", \"std_changed_tracks\",\n"
"                      \"bcv_changed_tracks\", \"copied_tracks\", \"errors\",\n"
"                      \"percent_done\", \"paused\" and \"protected\"\n"
"                      (true/false),\n"
"                      \"split_time\" (the last split, seconds since the\n"
"                      epoch, null if none since the STD was created or\n"
"                      assembled), \"split_hold_us\" (how long that split\n"
"                      held the STD's writes, null likewise)}],\n"
"                      \"volumes\":[{\"name\",\n"
"                      \"uuid\", \"events\", \"recovered\", \"peer_absent\",\n"
"                      \"recovered_tracks\", \"meta_writes\"}]\n"
"                      (the volume NAME, or every volume)}, and for a volume\n"
"                      NAME with mirrors \"legs\":[{\"device\", \"position\"\n"
"                      (0 is M1), \"invalid_tracks\", \"failed\"\n"
"                      (true/false)}]\n"
HELP_OPT,
		.pos = { "NAME" },
		.min_pos = 0, .max_pos = 1,
		.opts = {
			[QUERY_JSON] = { "json", OPT_FLAG, 1 },
		},
		.run = run_query,
	},
	{
		.name = "list",
		.synopsis = "[--json]",
		.summary = "list the volumes",
		.help =
"List the volumes, one per line under a header:\n"
"  NAME ROLE DEVICE SIZE TRACK TRACKS CYLS OPEN BACKING\n"
"SIZE and TRACK use binary suffixes (K, M, G: powers of 1024); CYLS counts\n"
"cylinders, groups of 15 tracks (the unit of the change table); OPEN is the number of openers; BACKING lists the\n"
"backing devices, comma-separated, with \"(N to sync)\" after a leg that\n"
"misses N tracks and \"(failed)\" after a leg whose device went away or\n"
"shrank (it gets no I/O; remove it with remove-leg NAME Mn).  Below the\n"
"table, after a blank line, one line per volume with a flag:\n"
"  NAME: recovered after an unclean shutdown (N tracks marked to copy)\n"
"  NAME: a session's other volume is not assembled\n"
"(both, separated by \"; \", when both apply).\n"
"\n"
"Options:\n"
"  --json              print one JSON object: {\"volumes\":[{\"name\", \"role\",\n"
"                      \"device\", \"index\", \"size_bytes\", \"sectors\",\n"
"                      \"track_size\", \"tracks\", \"cylinders\",\n"
"                      \"open_count\", \"uuid\" (of its metadata),\n"
"                      \"events\" (its generation), \"recovered\" (assembled\n"
"                      after an unclean shutdown), \"peer_absent\" (a\n"
"                      session's other volume is not assembled),\n"
"                      \"recovered_tracks\" (tracks its crash recovery\n"
"                      marked), \"meta_writes\" (4 KiB metadata blocks\n"
"                      written, per leg), \"legs\":[{\"device\", \"major\", \"minor\",\n"
"                      \"position\" (0 is M1), \"invalid_tracks\",\n"
"                      \"failed\" (true/false)}]}]}\n"
HELP_OPT,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			[LIST_JSON] = { "json", OPT_FLAG, 1 },
		},
		.run = run_list,
	},
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_main_help(void)
{
	size_t i;

	fputs("Usage: bcvctl COMMAND [ARGUMENTS] [OPTIONS]\n"
	      "       bcvctl help [COMMAND] | --help | --version\n"
	      "\n"
	      "Manage multi-session Business Continuance Volumes through the bcv\n"
	      "kernel module (" CTL_PATH ").\n"
	      "\n"
	      "Commands:\n", stdout);
	for (i = 0; i < NR_COMMANDS; i++)
		printf("  %s %s\n      %s\n", commands[i].name,
		       commands[i].synopsis, commands[i].summary);
	fputs("\n"
	      "Options may come before or after the arguments; --opt=value and\n"
	      "--opt value are the same; -- ends the options.\n"
	      "Run 'bcvctl COMMAND --help' for the details of a command.\n"
	      "\n"
	      "Exit status: 0 success, 2 bad usage; otherwise one line on stderr\n"
	      "says why, and the status is 3 if a named volume or session does\n"
	      "not exist, 4 if busy (open, attached, a copy in progress, a device\n"
	      "in use), 5 if wait --timeout ran out, 1 for any other refusal or\n"
	      "failure (a backing device that does not exist is 1).\n", stdout);
}

static const char *feature_names(uint64_t features, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} known[] = {
		{ BCV_FEAT_VOLUMES, "volumes" },
		{ BCV_FEAT_SESSIONS, "sessions" },
		{ BCV_FEAT_MIRRORS, "mirrors" },
		{ BCV_FEAT_LEG_POS, "leg-pos" },
		{ BCV_FEAT_META, "meta" },
		{ BCV_FEAT_INTENT, "intent" },
		{ BCV_FEAT_PAUSE, "pause" },
		{ BCV_FEAT_TABLE_SHARE, "table-share" },
		{ BCV_FEAT_SPLITWAIT, "split-wait" },
	};
	uint64_t rest = features;
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!(features & known[i].bit))
			continue;
		rest &= ~known[i].bit;
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? " " : "", known[i].name);
	}
	if (rest && n < len)
		snprintf(buf + n, len - n, "%s0x%" PRIx64, n ? " " : "", rest);
	if (!features)
		snprintf(buf, len, "none");
	return buf;
}

static int print_version(void)
{
	struct bcv_version v;
	char feats[64];
	int fd;

	printf("bcvctl %s\n", BCVCTL_VERSION);
	/* The module's version only if it is there: not an error otherwise. */
	fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return EXIT_OK;
	if (!ctl_version(fd, &v))
		printf("bcv module %" PRIu32 ".%" PRIu32 ".%" PRIu32
		       " (features: %s)\n", v.major, v.minor, v.patch,
		       feature_names(v.features, feats, sizeof(feats)));
	close(fd);
	return EXIT_OK;
}

static int run_main(int argc, char **argv)
{
	const struct cmd *c;
	struct cmd_args a;
	const char *env;
	int ret;

	env = getenv("BCV_NO_CLIENT_CHECKS");
	no_client_checks = env && *env && strcmp(env, "0");

	if (argc < 2)
		return usage_error(NULL, "missing command");
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			c = find_cmd(argv[2]);
			if (!c)
				return usage_error(NULL, "unknown command '%s'",
						   argv[2]);
			print_cmd_help(c);
			return EXIT_OK;
		}
		print_main_help();
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return print_version();
	if (argv[1][0] == '-')
		return usage_error(NULL, "unknown option '%s'", argv[1]);

	c = find_cmd(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	ret = parse_args(c, argc - 1, argv + 1, &a);
	if (ret >= 0)
		return ret;
	return c->run(&a);
}

int main(int argc, char **argv)
{
	int ret = run_main(argc, argv);

	if (fflush(stdout) || ferror(stdout)) {
		errmsg("write error on standard output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return ret;
}
