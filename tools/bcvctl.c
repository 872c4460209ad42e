// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl: control multi-session Business Continuance Volumes.
 *
 * Talks to the bcv kernel module through ioctls on /dev/bcvctl (see
 * include/uapi/linux/bcv.h).  Plain C11, libc and libblkid.  This file has
 * the messages, the parser, the control device, the volume and session
 * commands and the command table; bcvctl.h says what the other files
 * (stop/assemble/examine, create's signature probe, the on-disk format)
 * hold.
 *
 * Exit status (SPEC section 9): 0 success, 2 bad usage (one line plus a
 * hint to --help), and otherwise one line on stderr saying why and
 *   3  a named volume or session does not exist (ENOENT; not a backing
 *      device path that does not exist: that is 1),
 *   4  busy: open, attached, a copy in progress, a device in use (EBUSY),
 *   5  timed out (wait --timeout: ETIMEDOUT),
 *   1  any other refusal or failure (EINVAL, ELOOP, EROFS, ENOSPC, EEXIST,
 *      ENODEV, E2BIG, EPERM, a missing backing device, no bcv module, ...).
 *
 * Layout: the command table at the bottom names each verb with its
 * positionals, options, help text and handler.  parse_args() turns argv
 * into a struct cmd_args that handlers read; handlers validate their
 * arguments (usage errors, exit 2), fill an ioctl struct, and map the
 * errno of a refusal to one line per command and to the exit status (the
 * function that prints the line returns the status, so that the two
 * agree).  --wait and the wait verb sleep in BCV_IOC_WAIT in short
 * slices, drawing a progress bar from BCV_IOC_QUERY between them when
 * stderr is a terminal.
 *
 * Client-side checks (name syntax, path length, track size, distinct
 * volumes) mirror the kernel's, to give clear messages without a round trip.
 * BCV_NO_CLIENT_CHECKS=1 in the environment skips them all, so that tests
 * can feed bad input to the kernel's own checks: an over-long name or path
 * is then passed filling its array without a NUL (the kernel answers
 * ENAMETOOLONG), a bad track size as given, an empty name as empty.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"
#include "bcv_fmt.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)
#define BCVCTL_VERSION	STR(BCV_VERSION_MAJOR) "." STR(BCV_VERSION_MINOR) \
			"." STR(BCV_VERSION_PATCH)

/* Messages spell these limits out. */
_Static_assert(BCV_NAME_LEN == 32, "update the name length messages");
_Static_assert(BCV_TRACK_SIZE_MAX == 16U << 20, "update the track size messages");

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

/* Messages for errnos any ioctl can return; NULL if not one of them. */
static const char *common_error(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "permission denied (CAP_SYS_ADMIN required)";
	case ENOTTY:
		return "the loaded bcv module does not know this command "
		       "(module older than bcvctl?)";
	case E2BIG:
		return "the loaded bcv module refused the request's size "
		       "(module older than bcvctl?)";
	default:
		return NULL;
	}
}

const char *any_error(int err)
{
	const char *msg = common_error(err);

	return msg ? msg : strerror(err);
}

/*
 * The exit status of a command the kernel refused with @err, where ENOENT
 * can only mean that a named volume or session does not exist.  (create,
 * add-leg and remove-leg, whose ENOENT may be a device path, decide
 * themselves.)
 */
int refusal_status(int err)
{
	switch (err) {
	case ENOENT:
		return EXIT_NOTFOUND;
	case EBUSY:
		return EXIT_BUSY;
	case ETIMEDOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_FAIL;
	}
}

/*------------------------------------------------------------------------
 * Small helpers
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

/* ioctl, restarted on EINTR.  Returns 0 or the errno. */
int xioctl(int fd, unsigned long req, void *arg)
{
	for (;;) {
		if (ioctl(fd, req, arg) == 0)
			return 0;
		if (errno != EINTR)
			return errno;
	}
}

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
 * Copy @src into the fixed array @dst of @len bytes, zero-filled.  A string
 * that does not fit (only when client checks are off) fills the array
 * without a NUL, so that the kernel sees it too long.
 */
void copy_fixed(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, len);
	memcpy(dst, src, n < len ? n : len);
}

/* Length of the string in a fixed kernel array, as an int for "%.*s". */
int fixed_len(const char *s, size_t len)
{
	return (int)strnlen(s, len);
}

/*
 * Format @bytes with binary units: "256 MiB", "1.5 GiB", "512 B", or, when
 * @compact, "256M", "1.5G", "512B".  Exact multiples have no decimals.
 */
const char *human_size(uint64_t bytes, bool compact, char *buf,
		       size_t len)
{
	static const char *const unit_long[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	static const char unit_short[] = "BKMGTPE";
	const char *sep = compact ? "" : " ";
	unsigned int u = 0;
	uint64_t unit, q, r, tenths;
	char ubuf[2] = { 0, 0 };
	const char *uname;

	while (u < 6 && bytes >> (10 * (u + 1)))
		u++;
	unit = UINT64_C(1) << (10 * u);
	q = bytes / unit;
	r = bytes % unit;
	/* r < 2^60, so r * 10 cannot overflow. */
	tenths = q * 10 + (r * 10 + unit / 2) / unit;
	if (r && tenths >= 10240 && u < 6) {	/* 1023.96 KiB -> 1.0 MiB */
		u++;
		tenths = 10;
	}
	ubuf[0] = unit_short[u];
	uname = compact ? ubuf : unit_long[u];
	if (!r)
		snprintf(buf, len, "%" PRIu64 "%s%s", q, sep, uname);
	else
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%s%s",
			 tenths / 10, tenths % 10, sep, uname);
	return buf;
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
 * The control device and the volume list
 */

#define MODPROBE_WAIT_MS	2000	/* for /dev/bcvctl after modprobe */

/*
 * Run "modprobe -q bcv" quietly (output to /dev/null) and wait for it.
 * Returns true if it exited 0.  Full paths first: udev runs bcvctl with
 * a minimal PATH.
 */
static bool load_module(void)
{
	static const char *const paths[] = {
		"/sbin/modprobe", "/usr/sbin/modprobe", "/bin/modprobe",
		"/usr/bin/modprobe" };
	int status, fd;
	size_t i;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			execl(paths[i], "modprobe", "-q", "bcv", (char *)NULL);
		execlp("modprobe", "modprobe", "-q", "bcv", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Open /dev/bcvctl, or say why not and return -1.  With @load, a missing
 * node (the module is not loaded: udev may run bcvctl before anything
 * loaded it) makes it run modprobe bcv once and try again.
 */
static int open_ctl_opt(bool load)
{
	int fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	uint64_t deadline;

	if (fd < 0 && errno == ENOENT && load && load_module()) {
		/* devtmpfs makes the node as the module registers it. */
		deadline = now_ms() + MODPROBE_WAIT_MS;
		for (;;) {
			fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
			if (fd >= 0 || errno != ENOENT || now_ms() >= deadline)
				break;
			sleep_ms(UDEV_POLL_MS);
		}
	}
	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		errmsg("cannot open " CTL_PATH ": is the bcv module loaded? "
		       "(modprobe bcv)");
		break;
	case EACCES:
	case EPERM:
		errmsg("cannot open " CTL_PATH ": permission denied "
		       "(run as root)");
		break;
	default:
		errmsg("cannot open " CTL_PATH ": %s", strerror(errno));
		break;
	}
	return -1;
}

/* Open /dev/bcvctl, loading the module if needed; -1 after saying why. */
int open_ctl(void)
{
	return open_ctl_opt(true);
}

/*
 * Open /dev/bcvctl without loading the module: -2 without a word when it
 * is not loaded (stop --all: nothing to stop), -1 after saying why.
 */
int open_ctl_noload(void)
{
	int fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -2;
	return open_ctl_opt(false);
}

/*
 * All volumes, ordered by index, in a malloc'ed array of *@n entries
 * (not NULL even when *@n is 0).  Returns NULL with errno set on failure.
 */
struct bcv_vol_info *list_volumes(int fd, uint32_t *n)
{
	uint32_t cap = 16;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		struct bcv_vol_info *vols = calloc(cap, sizeof(*vols));
		struct bcv_list l;
		int err;

		if (!vols)
			return NULL;
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.info_size = sizeof(*vols);
		l.capacity = cap;
		l.vols = (uint64_t)(uintptr_t)vols;
		err = xioctl(fd, BCV_IOC_LIST, &l);
		if (err) {
			free(vols);
			errno = err;
			return NULL;
		}
		if (l.count <= cap) {
			*n = l.count;
			return vols;
		}
		/* Volumes were added meanwhile: grow, with some slack. */
		free(vols);
		cap = l.count > UINT32_MAX - 16 ? UINT32_MAX : l.count + 16;
	}
	errno = EAGAIN;
	return NULL;
}

/*
 * Look up one volume by name into @out (may be NULL).  Returns 0, ENOENT
 * when no volume has that name, or the errno of LIST.
 */
int lookup_volume(int fd, const char *name, struct bcv_vol_info *out)
{
	struct bcv_vol_info *vols;
	uint32_t i, n;
	int err = ENOENT;

	vols = list_volumes(fd, &n);
	if (!vols)
		return errno ? errno : EIO;
	for (i = 0; i < n && err; i++) {
		if (!strncmp(vols[i].name, name, BCV_NAME_LEN) &&
		    strlen(name) < BCV_NAME_LEN) {
			if (out)
				*out = vols[i];
			err = 0;
		}
	}
	free(vols);
	return err;
}

/* Look up one volume by name; false if it does not exist or LIST failed. */
bool find_volume(int fd, const char *name, struct bcv_vol_info *out)
{
	return lookup_volume(fd, name, out) == 0;
}

unsigned int vol_legs(const struct bcv_vol_info *v)
{
	return v->nr_legs < BCV_MAX_LEGS ? v->nr_legs : BCV_MAX_LEGS;
}

/*
 * Leg @l of @v failed (its device went away or shrank): it gets no I/O
 * and no copies until it is removed.  Modules before BCV_FEAT_LEG_POS
 * leave leg_flags zero (it was reserved).
 */
static bool leg_failed(const struct bcv_vol_info *v, unsigned int l)
{
	return v->leg_flags[l] & BCV_LEG_STATE_FAILED;
}

const char *role_name(uint32_t role)
{
	switch (role) {
	case BCV_ROLE_STD:
		return "std";
	case BCV_ROLE_BCV:
		return "bcv";
	default:
		return "unknown";
	}
}

/*
 * ,"uuid":"...","events":N,"recovered":B,"peer_absent":B of a volume for
 * list --json and query --json (uuid null from a module before the
 * on-disk metadata, which leaves it zero).
 */
static void vol_json_meta(const struct bcv_vol_info *v)
{
	char u[BCV_FMT_UUID_STR];

	if (bcv_fmt_uuid_null(v->uuid))
		fputs(",\"uuid\":null", stdout);
	else
		printf(",\"uuid\":\"%s\"", bcv_fmt_uuid_str(v->uuid, u));
	printf(",\"events\":%" PRIu64 ",\"recovered\":%s,\"peer_absent\":%s"
	       ",\"recovered_tracks\":%" PRIu64 ",\"meta_writes\":%" PRIu64,
	       (uint64_t)v->events,
	       v->vol_flags & BCV_VOL_F_RECOVERED ? "true" : "false",
	       v->vol_flags & BCV_VOL_F_PEER_ABSENT ? "true" : "false",
	       (uint64_t)v->recovered_tracks, (uint64_t)v->meta_writes);
}

/*
 * After the tables of list and query: one line per volume of @vols that
 * has a flag, "NAME: recovered after an unclean shutdown; a session's
 * other volume is not assembled".  Nothing when none has.
 */
static void vol_notes(const struct bcv_vol_info *vols, uint32_t n)
{
	bool first = true;
	uint32_t i;

	for (i = 0; i < n; i++) {
		const struct bcv_vol_info *v = &vols[i];
		bool rec = v->vol_flags & BCV_VOL_F_RECOVERED;
		bool absent = v->vol_flags & BCV_VOL_F_PEER_ABSENT;

		if (!rec && !absent)
			continue;
		if (first)
			putchar('\n');
		first = false;
		printf("%.*s: ", fixed_len(v->name, sizeof(v->name)), v->name);
		if (rec)
			printf("recovered after an unclean shutdown (%" PRIu64
			       " tracks marked to copy)", (uint64_t)v->recovered_tracks);
		printf("%s%s\n", rec && absent ? "; " : "",
		       absent ? "a session's other volume is not assembled" :
		       "");
	}
}

/*------------------------------------------------------------------------
 * udev: wait for /dev/bcv/NAME
 */

bool udev_running(void)
{
	struct stat st;

	return stat(UDEV_CONTROL, &st) == 0;
}

/*
 * Wait until /dev/bcv/@name exists (@appear) and is the block device
 * /dev/bcv@index, or until it is gone (!@appear).  Returns false on timeout.
 */
bool wait_link(const char *name, uint32_t vol_index, bool appear)
{
	char link[sizeof(LINK_DIR) + BCV_NAME_LEN + 1];
	char node[32];
	struct stat st, want;
	bool know_rdev;
	uint64_t deadline = now_ms() + UDEV_WAIT_MS;

	snprintf(link, sizeof(link), LINK_DIR "/%s", name);
	snprintf(node, sizeof(node), "/dev/" BCV_DISK_PREFIX "%" PRIu32,
		 vol_index);
	know_rdev = appear && stat(node, &want) == 0 && S_ISBLK(want.st_mode);

	for (;;) {
		bool done;

		if (appear)
			done = stat(link, &st) == 0 && S_ISBLK(st.st_mode) &&
			       (!know_rdev || st.st_rdev == want.st_rdev);
		else
			done = lstat(link, &st) != 0 && errno == ENOENT;
		if (done)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(UDEV_POLL_MS);
	}
}

/*------------------------------------------------------------------------
 * Probing backing devices, to say which one a refusal was about
 */

/* The kernel's ELOOP, after "DEV is " (create, add-leg). */
#define STACKING_LOOP	"a bcv volume or sits on one (a loop, dm or md " \
			"device over a bcv volume): stacking loop refused"

#define STACK_DEPTH	8	/* levels of devices sits_on_bcv() walks down */

/* Read the first line of the file @path into @buf, without the newline. */
bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * Read one line of /sys/dev/block/MAJ:MIN/@attr into @buf, without the
 * newline.  For a partition, whose queue/ lives with its disk, "../@attr"
 * is tried too.  Returns false if neither can be read.
 */
bool read_sysfs(dev_t rdev, const char *attr, char *buf, size_t len)
{
	char path[96];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s%s",
			 major(rdev), minor(rdev), i ? "../" : "", attr);
		if (read_line(path, buf, len))
			return true;
	}
	return false;
}

/*
 * Whether the block device @rdev is a bcv volume or sits on one: a dm or md
 * device with one among its slaves (at any depth), or a loop device over
 * one (its backing file is a volume's node, or on a file system on one).
 * Best effort, from sysfs; @depth bounds the walk.
 */
static bool sits_on_bcv(dev_t rdev, unsigned int depth)
{
	char buf[BCV_PATH_LEN + 16], dir[64], path[384];
	struct dirent *de;
	struct stat st;
	bool found = false;
	unsigned int maj, min;
	int i;
	DIR *d;

	if (read_sysfs(rdev, "bcv/name", buf, sizeof(buf)))
		return true;
	if (!depth)
		return false;
	if (read_sysfs(rdev, "loop/backing_file", buf, sizeof(buf)) &&
	    !stat(buf, &st))
		return sits_on_bcv(S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev,
				   depth - 1);
	/* A partition's slaves are its disk's, as in read_sysfs(). */
	for (i = 0; i < 2 && !found; i++) {
		snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/%sslaves",
			 major(rdev), minor(rdev), i ? "../" : "");
		d = opendir(dir);
		if (!d)
			continue;
		while (!found && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/dev", dir,
				 de->d_name);
			if (read_line(path, buf, sizeof(buf)) &&
			    sscanf(buf, "%u:%u", &maj, &min) == 2)
				found = sits_on_bcv(makedev(maj, min),
						    depth - 1);
		}
		closedir(d);
	}
	return found;
}

/*
 * What can be told about @path without changing anything: from stat() and
 * sysfs, and an O_EXCL open that fails with EBUSY while the device is
 * claimed or mounted (closing a read-only open makes udev re-probe nothing).
 */
void probe_dev(const char *path, struct dev_probe *p)
{
	char buf[64];
	struct stat st;
	uint64_t v;
	int fd;

	memset(p, 0, sizeof(*p));
	if (stat(path, &st)) {
		p->stat_err = errno;
		return;
	}
	p->is_blk = S_ISBLK(st.st_mode);
	if (!p->is_blk)
		return;
	/* Only bcv volumes carry the "bcv" attribute group. */
	p->is_bcv = read_sysfs(st.st_rdev, "bcv/name", buf, sizeof(buf));
	p->on_bcv = p->is_bcv || sits_on_bcv(st.st_rdev, STACK_DEPTH);
	p->read_only = read_sysfs(st.st_rdev, "ro", buf, sizeof(buf)) &&
		       strcmp(buf, "0") != 0;
	p->empty = read_sysfs(st.st_rdev, "size", buf, sizeof(buf)) &&
		   !strcmp(buf, "0");
	p->zoned = read_sysfs(st.st_rdev, "queue/zoned", buf, sizeof(buf)) &&
		   strcmp(buf, "none") != 0;
	if (read_sysfs(st.st_rdev, "queue/logical_block_size", buf,
		       sizeof(buf)) && parse_uint(buf, UINT32_MAX, &v))
		p->lbs = (unsigned int)v;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_EXCL);
	if (fd >= 0)
		close(fd);
	else
		p->excl_busy = errno == EBUSY;
}

/*------------------------------------------------------------------------
 * create
 */

enum { CREATE_TRACK_SIZE, CREATE_MIRROR, CREATE_FORCE };

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
	unsigned int i;

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

static int run_create(const struct cmd_args *a)
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

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	err = xioctl(fd, BCV_IOC_VERSION, &v);
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

static int run_add_leg(const struct cmd_args *a)
{
	return run_leg(a, true);
}

static int run_remove_leg(const struct cmd_args *a)
{
	return run_leg(a, false);
}

/*------------------------------------------------------------------------
 * remove
 */

enum { REMOVE_FORCE };

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

static int run_remove(const struct cmd_args *a)
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

enum { LIST_JSON };

/*
 * Write @prefix (plain ASCII) and @s (at most @max bytes) as one JSON
 * string, with quotes.
 */
void json_string(const char *prefix, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len = strnlen(s, max);

	printf("\"%s", prefix);
	while (i < len) {
		unsigned char ch = p[i];
		size_t n = 0;

		if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
			i++;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f) {
			switch (ch) {
			case '\n': fputs("\\n", stdout); break;
			case '\t': fputs("\\t", stdout); break;
			case '\r': fputs("\\r", stdout); break;
			default: printf("\\u%04x", ch); break;
			}
			i++;
			continue;
		}
		if (ch < 0x80) {
			putchar(ch);
			i++;
			continue;
		}
		/* Copy well-formed UTF-8; replace anything else by U+FFFD. */
		if (ch >= 0xc2 && ch <= 0xdf)
			n = 2;
		else if (ch >= 0xe0 && ch <= 0xef)
			n = 3;
		else if (ch >= 0xf0 && ch <= 0xf4)
			n = 4;
		if (n && i + n <= len) {
			unsigned char c1 = p[i + 1];

			for (size_t k = 1; k < n; k++)
				if ((p[i + k] & 0xc0) != 0x80)
					n = 0;
			if ((ch == 0xe0 && c1 < 0xa0) ||	/* overlong */
			    (ch == 0xed && c1 > 0x9f) ||	/* surrogate */
			    (ch == 0xf0 && c1 < 0x90) ||	/* overlong */
			    (ch == 0xf4 && c1 > 0x8f))		/* > U+10FFFF */
				n = 0;
		} else {
			n = 0;
		}
		if (n) {
			fwrite(p + i, 1, n, stdout);
			i += n;
		} else {
			fputs("\\ufffd", stdout);
			i++;
		}
	}
	putchar('"');
}

static void list_json(const struct bcv_vol_info *vols, uint32_t n)
{
	uint32_t i;
	unsigned int l;

	fputs("{\"volumes\":[", stdout);
	for (i = 0; i < n; i++) {
		const struct bcv_vol_info *v = &vols[i];

		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_string("", v->name, sizeof(v->name));
		printf(",\"role\":\"%s\",\"device\":\"/dev/" BCV_DISK_PREFIX
		       "%" PRIu32 "\",\"index\":%" PRIu32
		       ",\"size_bytes\":%" PRIu64 ",\"sectors\":%" PRIu64
		       ",\"track_size\":%" PRIu32 ",\"tracks\":%" PRIu64
		       ",\"cylinders\":%" PRIu64 ",\"open_count\":%" PRIu32,
		       role_name(v->role), v->index, v->index,
		       (uint64_t)v->sectors * 512, (uint64_t)v->sectors,
		       v->track_size, (uint64_t)v->tracks,
		       (uint64_t)v->cylinders, v->open_count);
		/* Before "legs": tests cut the top-level fields there. */
		vol_json_meta(v);
		fputs(",\"legs\":[", stdout);
		for (l = 0; l < vol_legs(v); l++) {
			fputs(l ? ",{\"device\":" : "{\"device\":", stdout);
			json_string("/dev/", v->leg_name[l], BCV_NAME_LEN);
			printf(",\"major\":%" PRIu32 ",\"minor\":%" PRIu32
			       ",\"position\":%" PRIu32
			       ",\"invalid_tracks\":%" PRIu64
			       ",\"failed\":%s}",
			       v->leg_major[l], v->leg_minor[l], v->leg_pos[l],
			       (uint64_t)v->leg_invalid[l],
			       leg_failed(v, l) ? "true" : "false");
		}
		fputs("]}", stdout);
	}
	fputs("]}\n", stdout);
}

enum { COL_NAME, COL_ROLE, COL_DEVICE, COL_SIZE, COL_TRACK, COL_TRACKS,
       COL_CYLS, COL_OPEN, COL_BACKING, NR_COLS };

struct list_row {
	char col[NR_COLS][BCV_MAX_LEGS * (6 + BCV_NAME_LEN + 32) + 1];
};

static void list_table(const struct bcv_vol_info *vols, uint32_t n)
{
	static const char *const head[NR_COLS] = {
		"NAME", "ROLE", "DEVICE", "SIZE", "TRACK", "TRACKS", "CYLS",
		"OPEN", "BACKING" };
	static const bool right[NR_COLS] = {
		[COL_SIZE] = true, [COL_TRACK] = true, [COL_TRACKS] = true,
		[COL_CYLS] = true, [COL_OPEN] = true };
	struct list_row *rows = calloc(n ? n : 1, sizeof(*rows));
	int width[NR_COLS];
	uint32_t i;
	unsigned int k, l;

	if (!rows) {
		errmsg("list: out of memory");
		return;
	}
	for (k = 0; k < NR_COLS; k++)
		width[k] = (int)strlen(head[k]);
	for (i = 0; i < n; i++) {
		const struct bcv_vol_info *v = &vols[i];
		char (*col)[sizeof(rows->col[0])] = rows[i].col;
		size_t len = 0;

		memcpy(col[COL_NAME], v->name,
		       (size_t)fixed_len(v->name, sizeof(v->name)));
		snprintf(col[COL_ROLE], sizeof(col[0]), "%s",
			 role_name(v->role));
		snprintf(col[COL_DEVICE], sizeof(col[0]),
			 "/dev/" BCV_DISK_PREFIX "%" PRIu32, v->index);
		human_size((uint64_t)v->sectors * 512, true, col[COL_SIZE],
			   sizeof(col[0]));
		human_size(v->track_size, true, col[COL_TRACK], sizeof(col[0]));
		snprintf(col[COL_TRACKS], sizeof(col[0]), "%" PRIu64,
			 (uint64_t)v->tracks);
		snprintf(col[COL_CYLS], sizeof(col[0]), "%" PRIu64,
			 (uint64_t)v->cylinders);
		snprintf(col[COL_OPEN], sizeof(col[0]), "%" PRIu32,
			 v->open_count);
		for (l = 0; l < vol_legs(v); l++) {
			int w = snprintf(col[COL_BACKING] + len,
					 sizeof(col[0]) - len, "%s/dev/%.*s",
					 l ? "," : "",
					 fixed_len(v->leg_name[l], BCV_NAME_LEN),
					 v->leg_name[l]);

			if (w > 0)
				len += (size_t)w;
			/* A failed leg gets no copies: no count to show. */
			if (leg_failed(v, l) && len < sizeof(col[0])) {
				w = snprintf(col[COL_BACKING] + len,
					     sizeof(col[0]) - len, "(failed)");
				if (w > 0)
					len += (size_t)w;
			} else if (v->leg_invalid[l] && len < sizeof(col[0])) {
				w = snprintf(col[COL_BACKING] + len,
					     sizeof(col[0]) - len, "(%" PRIu64 " to sync)",
					     (uint64_t)v->leg_invalid[l]);
				if (w > 0)
					len += (size_t)w;
			}
			if (len >= sizeof(col[0]))
				len = sizeof(col[0]) - 1;
		}
		if (!len)
			strcpy(col[COL_BACKING], "-");
		for (k = 0; k < NR_COLS; k++)
			if ((int)strlen(col[k]) > width[k])
				width[k] = (int)strlen(col[k]);
	}

	for (i = 0; i <= n; i++) {
		for (k = 0; k < NR_COLS; k++) {
			const char *s = i ? rows[i - 1].col[k] : head[k];

			if (k == NR_COLS - 1)
				printf("%s\n", s);
			else if (right[k])
				printf("%*s  ", width[k], s);
			else
				printf("%-*s  ", width[k], s);
		}
	}
	free(rows);
}

static int run_list(const struct cmd_args *a)
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

/*------------------------------------------------------------------------
 * Sessions: states, QUERY, WAIT and the progress bar
 */

#define CMD_WAIT	0	/* not a BCV_CMD_*: errors of BCV_IOC_WAIT */
#define NO_TIMEOUT	UINT64_MAX
#define WAIT_SLICE_MS	200	/* BCV_IOC_WAIT slices between bar updates */
#define RATE_MIN_MS	400	/* measure this long before showing a rate */
#define BAR_WIDTH	24

static const char bar_done[] = "########################";
static const char bar_todo[] = "------------------------";
_Static_assert(sizeof(bar_done) == BAR_WIDTH + 1, "update bar_done");
_Static_assert(sizeof(bar_todo) == BAR_WIDTH + 1, "update bar_todo");

struct pair {
	const char *std;
	const char *bcv;
};

const char *state_name(uint32_t state)
{
	switch (state) {
	case BCV_STATE_SYNCINPROG:
		return "syncinprog";
	case BCV_STATE_SYNCHRONIZED:
		return "synchronized";
	case BCV_STATE_SPLIT:
		return "split";
	case BCV_STATE_RESTINPROG:
		return "restinprog";
	case BCV_STATE_RESTORED:
		return "restored";
	default:
		return "unknown";
	}
}

static bool state_copying(uint32_t state)
{
	return state == BCV_STATE_SYNCINPROG || state == BCV_STATE_RESTINPROG;
}

/*
 * Percent of the current copy done, copied / (copied + invalid), rounded
 * down: 100 only when nothing is left to copy.
 */
static unsigned int percent_done(uint64_t copied, uint64_t invalid)
{
	double pct;

	if (!invalid)
		return 100;
	pct = 100.0 * (double)copied / ((double)copied + (double)invalid);
	return pct >= 99.0 ? 99 : (unsigned int)pct;
}

/*
 * The sessions of the volume @name (all sessions if NULL), in a malloc'ed
 * array of *@n entries (not NULL even when *@n is 0).  Returns NULL with
 * errno set on failure (ENOENT: no volume @name).
 */
struct bcv_sess_info *query_sessions(int fd, const char *name, uint32_t *n)
{
	uint32_t cap = BCV_MAX_SESSIONS;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		struct bcv_sess_info *sess = calloc(cap, sizeof(*sess));
		struct bcv_query q;
		int err;

		if (!sess)
			return NULL;
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.info_size = sizeof(*sess);
		q.capacity = cap;
		if (name)
			copy_fixed(q.name, sizeof(q.name), name);
		q.sessions = (uint64_t)(uintptr_t)sess;
		err = xioctl(fd, BCV_IOC_QUERY, &q);
		if (err) {
			free(sess);
			errno = err;
			return NULL;
		}
		if (q.count <= cap) {
			*n = q.count;
			return sess;
		}
		/* Sessions were added meanwhile: grow, with some slack. */
		free(sess);
		cap = q.count > UINT32_MAX - 16 ? UINT32_MAX : q.count + 16;
	}
	errno = EAGAIN;
	return NULL;
}

/* The session of @p into @out.  Returns 0, ENOENT or QUERY's errno. */
static int find_session(int fd, const struct pair *p,
			struct bcv_sess_info *out)
{
	struct bcv_sess_info *sess;
	uint32_t i, n;
	int err = ENOENT;

	sess = query_sessions(fd, p->std, &n);
	if (!sess)
		return errno;
	for (i = 0; i < n && err; i++) {
		if (!strncmp(sess[i].bcv, p->bcv, BCV_NAME_LEN) &&
		    !strncmp(sess[i].std, p->std, BCV_NAME_LEN)) {
			*out = sess[i];
			err = 0;
		}
	}
	free(sess);
	return err;
}

/* The one-line progress bar on stderr, drawn only when it is a terminal. */
struct progress {
	bool tty;		/* stderr is a terminal */
	int shown;		/* characters of the bar on screen, 0 if none */
	bool have_base;		/* base_* hold the first sample */
	uint64_t base_ms;
	uint64_t base_copied;
};

static void format_eta(uint64_t secs, char *buf, size_t len)
{
	if (secs >= 100 * 3600)
		snprintf(buf, len, "ETA >99h");
	else if (secs >= 3600)
		snprintf(buf, len, "ETA %" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 secs / 3600, secs / 60 % 60, secs % 60);
	else
		snprintf(buf, len, "ETA %" PRIu64 ":%02" PRIu64, secs / 60,
			 secs % 60);
}

/* Draw the bar for the session of @p: state, percent, MB/s, ETA. */
static void progress_draw(struct progress *pg, int fd, const struct pair *p)
{
	struct bcv_sess_info s;
	char line[160], rate[32], eta[32], errs[48] = "";
	uint64_t t = now_ms(), copied, invalid;
	unsigned int pct;
	int fill, len;

	if (!pg->tty || find_session(fd, p, &s))
		return;
	copied = s.copied_tracks;
	invalid = s.invalid_tracks;
	if (!pg->have_base || copied < pg->base_copied) {
		/* First sample, or a new copy started: measure from here. */
		pg->have_base = true;
		pg->base_ms = t;
		pg->base_copied = copied;
	}
	pct = percent_done(copied, invalid);
	fill = (int)(pct * BAR_WIDTH / 100);

	snprintf(rate, sizeof(rate), "--.- MB/s");
	if (invalid)
		snprintf(eta, sizeof(eta), "ETA --:--");
	else
		format_eta(0, eta, sizeof(eta));
	if (t - pg->base_ms >= RATE_MIN_MS && copied > pg->base_copied &&
	    s.track_size) {
		double bps = (double)(copied - pg->base_copied) *
			     (double)s.track_size * 1000.0 /
			     (double)(t - pg->base_ms);
		double secs = (double)invalid * (double)s.track_size / bps;

		snprintf(rate, sizeof(rate), "%.1f MB/s", bps / 1e6);
		format_eta(secs >= 1e9 ? UINT64_C(1000000000) :
			   (uint64_t)(secs + 0.5), eta, sizeof(eta));
	}
	if (s.errors)
		snprintf(errs, sizeof(errs), "  %" PRIu64 " error%s",
			 (uint64_t)s.errors, s.errors == 1 ? "" : "s");

	len = snprintf(line, sizeof(line), "%s [%.*s%.*s] %3u%%  %s  %s%s",
		       state_name(s.state), fill, bar_done, BAR_WIDTH - fill,
		       bar_todo, pct, rate, eta, errs);
	if (len < 0)
		return;
	if (len >= (int)sizeof(line))
		len = (int)sizeof(line) - 1;
	/* Pad with blanks over what a longer previous bar left. */
	fprintf(stderr, "\r%s%*s", line, pg->shown > len ? pg->shown - len : 0,
		"");
	if (len > pg->shown)
		pg->shown = len;
	fflush(stderr);
}

/* Finish the bar: on success show it complete and end the line, else erase. */
static void progress_end(struct progress *pg, int fd, const struct pair *p,
			 bool ok)
{
	if (!pg->shown)
		return;
	if (ok) {
		progress_draw(pg, fd, p);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "\r%*s\r", pg->shown, "");
	}
	fflush(stderr);
	pg->shown = 0;
}

/*
 * Wait until the session of @p has no copy running (it is neither
 * syncinprog nor restinprog), drawing a progress bar on a terminal.  Gives
 * up after @timeout_ms (NO_TIMEOUT: never; 0: look once).  Returns 0 with
 * *@state set, ETIMEDOUT when @timeout_ms ran out, or the errno of
 * BCV_IOC_WAIT; *@waited says whether the copy was still running at some
 * point (so ENOENT means the session ended while waiting).
 */
static int wait_session(int fd, const struct pair *p, uint64_t timeout_ms,
			uint32_t *state, bool *waited)
{
	struct progress pg;
	uint64_t start = now_ms();
	int err;

	memset(&pg, 0, sizeof(pg));
	pg.tty = isatty(STDERR_FILENO);
	*waited = false;
	for (;;) {
		struct bcv_wait w;
		uint64_t slice = WAIT_SLICE_MS, spent = now_ms() - start;

		if (timeout_ms != NO_TIMEOUT) {
			uint64_t left = timeout_ms > spent ?
					timeout_ms - spent : 0;

			if (left < slice)
				slice = left ? left : 1; /* 0: no limit */
		}
		memset(&w, 0, sizeof(w));
		w.size = sizeof(w);
		w.flags = 0;
		w.timeout_ms = (uint32_t)slice;
		copy_fixed(w.std, sizeof(w.std), p->std);
		copy_fixed(w.bcv, sizeof(w.bcv), p->bcv);
		/* xioctl() restarts after EINTR. */
		err = xioctl(fd, BCV_IOC_WAIT, &w);
		if (!err) {
			*state = w.state;
			break;
		}
		if (err != ETIMEDOUT)
			break;
		*waited = true;
		if (timeout_ms != NO_TIMEOUT && now_ms() - start >= timeout_ms)
			break;
		progress_draw(&pg, fd, p);
	}
	progress_end(&pg, fd, p, !err);
	return err;
}

/*------------------------------------------------------------------------
 * Session commands: establish, split, reestablish, restore, terminate, wait
 */

/* Why @cmd was refused with EBUSY (SPEC section 4). */
static const char *busy_reason(uint32_t cmd)
{
	switch (cmd) {
	case BCV_CMD_ESTABLISH:
		return "BCV is in use (open, attached, in a session with "
		       "another STD) or the STD has no free mirror position";
	case BCV_CMD_SPLIT:
		return "session is not synchronized or restored (copy still "
		       "in progress? --force splits a syncinprog one)";
	case BCV_CMD_REESTABLISH:
		return "session is not split, BCV is open, or no free mirror "
		       "position";
	case BCV_CMD_RESTORE:
		return "session is not split, BCV legs not fully valid, "
		       "another restore is running, or a volume is open (use "
		       "--force for an open STD)";
	case BCV_CMD_TERMINATE:
		return "session is not split";
	case BCV_CMD_ABORT:
		return "no copy in progress, or a restore that cannot be "
		       "undone: it began before the volumes were assembled, the "
		       "STD had stale tracks or I/O errors since, or the host "
		       "wrote tracks not restored yet (let it finish)";
	default:
		return NULL;
	}
}

/* Logical block size of the volume /dev/bcv@index in bytes, 0 if unknown. */
static unsigned int vol_lbs(uint32_t vol_index)
{
	char path[80], buf[32];
	uint64_t v;

	snprintf(path, sizeof(path), "/sys/block/" BCV_DISK_PREFIX "%" PRIu32
		 "/queue/logical_block_size", vol_index);
	if (read_line(path, buf, sizeof(buf)) &&
	    parse_uint(buf, UINT32_MAX, &v))
		return (unsigned int)v;
	return 0;
}

/*
 * Why ESTABLISH of @p refused the std volume @si and the bcv volume @bi
 * with EINVAL: the first of the causes that applies, in @buf, or all of
 * them when none can be seen.
 */
static const char *establish_mismatch(const struct pair *p,
				      const struct bcv_vol_info *si,
				      const struct bcv_vol_info *bi,
				      char *buf, size_t len)
{
	unsigned int slbs, blbs;
	char a[32], b[32];

	if (bi->sectors < si->sectors) {
		snprintf(buf, len, "BCV %s (%s) is smaller than STD %s (%s)",
			 p->bcv, human_size((uint64_t)bi->sectors * 512, false,
					    b, sizeof(b)),
			 p->std, human_size((uint64_t)si->sectors * 512, false,
					    a, sizeof(a)));
		return buf;
	}
	if (bi->track_size != si->track_size) {
		snprintf(buf, len, "BCV %s has another track size (%s) than "
			 "STD %s (%s)", p->bcv,
			 human_size(bi->track_size, false, b, sizeof(b)),
			 p->std,
			 human_size(si->track_size, false, a, sizeof(a)));
		return buf;
	}
	slbs = vol_lbs(si->index);
	blbs = vol_lbs(bi->index);
	if (slbs && blbs > slbs) {
		snprintf(buf, len, "BCV %s has a larger logical block size "
			 "(%u bytes) than STD %s (%u bytes)", p->bcv, blbs,
			 p->std, slbs);
		return buf;
	}
	return "BCV is smaller than the STD, has another track size, or a "
	       "larger logical block size";
}

/*
 * Print why the kernel refused @verb (BCV_CMD_* @cmd, or CMD_WAIT) on @p
 * with @err, as one line, and return the exit status: 3 when a volume or
 * the session does not exist (ENOENT), 4 busy (EBUSY), else 1.  ENOENT
 * and EINVAL are told apart with LIST.
 */
/* What a refusal's state means for @cmd, and what to do about it. */
static const char *state_remedy(uint32_t cmd, uint32_t state)
{
	switch (cmd) {
	case BCV_CMD_ESTABLISH:
		return "BCV is attached to it: split it first";
	case BCV_CMD_SPLIT:
		if (state == BCV_STATE_SPLIT)
			return "it is split already";
		if (state == BCV_STATE_RESTINPROG)
			return "wait for the restore (split --wait), or abort it";
		return "wait for the copy (split --wait), or split --force a "
		       "BCV that cannot finish";
	case BCV_CMD_REESTABLISH:
	case BCV_CMD_RESTORE:
	case BCV_CMD_TERMINATE:
		return state == BCV_STATE_SYNCINPROG ||
		       state == BCV_STATE_RESTINPROG ?
		       "wait for the copy, then split" : "split it first";
	case BCV_CMD_ABORT:
		return "no copy is in progress";
	default:
		return "";
	}
}

/*
 * The message for a refusal the kernel explained (BCV_R_*, @detail), or
 * NULL to fall back on what the errno alone says (an older module).
 */
static const char *reason_text(const struct pair *p, uint32_t cmd,
			       uint32_t reason, uint32_t detail, uint32_t state,
			       char *buf, size_t len)
{
	switch (reason) {
	case BCV_R_NO_SESSION:
		snprintf(buf, len, "no session between %s and %s", p->std, p->bcv);
		break;
	case BCV_R_GEOMETRY:
		snprintf(buf, len, "%s is smaller than %s or has another track "
			 "size: create it at least as large, with the same "
			 "--track-size", p->bcv, p->std);
		break;
	case BCV_R_STATE:
		if (state)
			snprintf(buf, len, "the session is %s: %s",
				 state_name(state), state_remedy(cmd, state));
		else
			snprintf(buf, len, "the session's state does not allow "
				 "it (bcvctl query %s)", p->std);
		break;
	case BCV_R_STD_OPEN:
		snprintf(buf, len, "STD %s is open by %" PRIu32 " user%s: unmount "
			 "it or use --force", p->std, detail, detail == 1 ? "" : "s");
		break;
	case BCV_R_BCV_OPEN:
		snprintf(buf, len, "BCV %s is open by %" PRIu32 " user%s: unmount "
			 "or close it first", p->bcv, detail, detail == 1 ? "" : "s");
		break;
	case BCV_R_OTHER_STD:
		snprintf(buf, len, "BCV %s is in a session with another STD: "
			 "terminate that session first", p->bcv);
		break;
	case BCV_R_NO_POSITION:
		snprintf(buf, len, "STD %s has no free mirror position (4 in use "
			 "by its legs and attached BCVs): split or remove one",
			 p->std);
		break;
	case BCV_R_NO_COLUMN:
		snprintf(buf, len, "STD %s already has %d sessions: terminate "
			 "one", p->std, BCV_MAX_SESSIONS);
		break;
	case BCV_R_RESTORE_RUNNING:
		snprintf(buf, len, "another restore runs on STD %s: wait for it",
			 p->std);
		break;
	case BCV_R_BCV_STALE:
		snprintf(buf, len, "a leg of BCV %s still lacks %" PRIu32
			 " tracks: wait until its mirrors are in sync", p->bcv,
			 detail);
		break;
	case BCV_R_NOT_SYNCED:
		snprintf(buf, len, "BCV %s still lacks %" PRIu32 " tracks of "
			 "STD %s: split --wait, or split --force if it cannot "
			 "catch up", p->bcv, detail, p->std);
		break;
	case BCV_R_ONLY_COPY:
		snprintf(buf, len, "BCV %s holds the only good copy of tracks "
			 "of STD %s (STD's legs failed there): repair STD's legs "
			 "first", p->bcv, p->std);
		break;
	case BCV_R_ABORT_UNSAFE:
		snprintf(buf, len, "the restore cannot be undone (it began "
			 "before the volumes were assembled, STD had tracks "
			 "to copy or I/O errors since, or the host wrote a track "
			 "not restored yet): let it finish (wait)");
		break;
	case BCV_R_PEER_ABSENT:
		snprintf(buf, len, "the session's STD of %s is not assembled: "
			 "assemble it first", p->bcv);
		break;
	case BCV_R_LOOP:
		snprintf(buf, len, "BCV's device sits on a bcv volume: "
			 "stacking loop refused");
		break;
	case BCV_R_BLOCK_SIZE:
		snprintf(buf, len, "BCV %s has a larger logical block size than "
			 "STD %s", p->bcv, p->std);
		break;
	default:
		return NULL;
	}
	return buf;
}

static int session_error_why(int fd, const char *verb, const struct pair *p,
			     uint32_t cmd, int err, uint32_t reason,
			     uint32_t detail, uint32_t state)
{
	struct bcv_vol_info si, bi, *vols = NULL;
	bool std_found = false, bcv_found = false;
	const char *why = NULL;
	char buf[256];
	uint32_t i, n = 0;
	int status = refusal_status(err);

	/*
	 * Missing volumes, roles and sizes: said below, from the volumes
	 * listed, with the sizes that do not fit.
	 */
	if (reason != BCV_R_NO_VOLUME && reason != BCV_R_ROLE &&
	    reason != BCV_R_GEOMETRY && reason != BCV_R_BLOCK_SIZE) {
		why = reason_text(p, cmd, reason, detail, state, buf, sizeof(buf));
		if (why) {
			errmsg("%s %s %s: %s", verb, p->std, p->bcv, why);
			return status;
		}
	}

	memset(&si, 0, sizeof(si));
	memset(&bi, 0, sizeof(bi));
	if (err == ENOENT || err == EINVAL)
		vols = list_volumes(fd, &n);
	for (i = 0; vols && i < n; i++) {
		if (!std_found && strlen(p->std) < BCV_NAME_LEN &&
		    !strncmp(vols[i].name, p->std, BCV_NAME_LEN)) {
			si = vols[i];
			std_found = true;
		}
		if (!bcv_found && strlen(p->bcv) < BCV_NAME_LEN &&
		    !strncmp(vols[i].name, p->bcv, BCV_NAME_LEN)) {
			bi = vols[i];
			bcv_found = true;
		}
	}

	/*
	 * A STD where a BCV is expected, or the reverse: EINVAL, or ENOENT
	 * if the volumes changed meanwhile.  A missing volume comes first,
	 * as in the kernel: for ENOENT only when both exist.
	 */
	if (err == ENOENT && (!std_found || !bcv_found)) {
		/* Said below: no volume named ... */
	} else if (std_found && si.role != BCV_ROLE_STD) {
		snprintf(buf, sizeof(buf), "%s is a %s volume, not a std "
			 "volume", p->std, role_name(si.role));
		why = buf;
		status = EXIT_FAIL;
	} else if (bcv_found && bi.role != BCV_ROLE_BCV) {
		snprintf(buf, sizeof(buf), "%s is a %s volume, not a bcv "
			 "volume", p->bcv, role_name(bi.role));
		why = buf;
		status = EXIT_FAIL;
	}

	switch (why ? 0 : err) {
	case 0:
		break;
	case ENOENT:
		if (vols && !std_found) {
			snprintf(buf, sizeof(buf), "no volume named %s",
				 p->std);
			why = buf;
		} else if (vols && !bcv_found) {
			snprintf(buf, sizeof(buf), "no volume named %s",
				 p->bcv);
			why = buf;
		} else if (cmd == BCV_CMD_ESTABLISH) {
			why = "no such volume";
		} else {
			snprintf(buf, sizeof(buf), "no session between %s and "
				 "%s", p->std, p->bcv);
			why = buf;
		}
		break;
	case EINVAL:
		if (cmd != BCV_CMD_ESTABLISH)
			why = "a name has the wrong role (STD must be a std "
			      "volume, BCV a bcv volume)";
		else if (std_found && bcv_found)
			why = establish_mismatch(p, &si, &bi, buf, sizeof(buf));
		else
			why = "BCV is smaller than the STD, has another track "
			      "size or a larger logical block size, or a name "
			      "has the wrong role";
		break;
	case EBUSY:
		why = busy_reason(cmd);
		break;
	case ENOSPC:
		if (cmd == BCV_CMD_ESTABLISH) {
			snprintf(buf, sizeof(buf), "STD already has %d "
				 "sessions", BCV_MAX_SESSIONS);
			why = buf;
		}
		break;
	case ENAMETOOLONG:
		snprintf(buf, sizeof(buf), "name too long (at most %d "
			 "characters)", BCV_NAME_LEN - 1);
		why = buf;
		break;
	case ELOOP:
		why = "BCV's device sits on a bcv volume: stacking loop refused";
		break;
	default:
		break;
	}
	free(vols);
	errmsg("%s %s %s: %s", verb, p->std, p->bcv,
	       why ? why : any_error(err));
	return status;
}

static int session_error(int fd, const char *verb, const struct pair *p,
			 uint32_t cmd, int err)
{
	return session_error_why(fd, verb, p, cmd, err, BCV_R_NONE, 0, 0);
}

/*
 * Print why waiting for @p failed with @err (from wait_session()); returns
 * the exit status: 5 timed out, 3 the session ended or does not exist.
 */
static int wait_error(int fd, const char *verb, const struct pair *p,
		      uint32_t cmd, int err, bool ended, uint64_t timeout_ms)
{
	struct bcv_sess_info s;

	if (err == ETIMEDOUT) {
		if (!find_session(fd, p, &s))
			errmsg("%s %s %s: timed out after %" PRIu64 " s (%s, "
			       "%u%% done)", verb, p->std, p->bcv,
			       timeout_ms / 1000, state_name(s.state),
			       percent_done(s.copied_tracks, s.invalid_tracks));
		else
			errmsg("%s %s %s: timed out after %" PRIu64 " s", verb,
			       p->std, p->bcv, timeout_ms / 1000);
		return EXIT_TIMEOUT;
	}
	if (err == ENOENT && ended) {
		errmsg("%s %s %s: the session ended while waiting", verb,
		       p->std, p->bcv);
		return EXIT_NOTFOUND;
	}
	return session_error(fd, verb, p, cmd, err);
}

/* STD BCV positionals: two valid, different names. */
static int parse_pair(const struct cmd_args *a, struct pair *p)
{
	int ret;

	p->std = a->pos[0];
	p->bcv = a->pos[1];
	ret = check_name(a->cmd, "STD name", p->std);
	if (!ret)
		ret = check_name(a->cmd, "BCV name", p->bcv);
	if (!ret && !no_client_checks && !strcmp(p->std, p->bcv))
		ret = usage_error(a->cmd, "STD and BCV must be different "
				  "volumes");
	return ret;
}

/*
 * Run BCV_IOC_SESSION @cmd with @flags on the pair of @a: after waiting
 * for the copy to end when @wait_before (split --wait), then waiting for
 * the copy it starts when @wait_after.  Prints "VERB STD BCV: STATE".
 */
static int session_cmd(const struct cmd_args *a, uint32_t cmd, uint32_t flags,
		       bool wait_before, bool wait_after)
{
	const char *verb = cmd_name(a->cmd);
	struct bcv_session_cmd sc;
	struct pair p;
	uint32_t state = 0;
	bool waited;
	int fd, err, ret;

	ret = parse_pair(a, &p);
	if (ret)
		return ret;

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;

	if (wait_before) {
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited);
		if (err) {
			ret = wait_error(fd, verb, &p, cmd, err, waited, 0);
			close(fd);
			return ret;
		}
	}

	memset(&sc, 0, sizeof(sc));
	sc.size = sizeof(sc);
	sc.cmd = cmd;
	sc.flags = flags;
	sc.state = 0;
	copy_fixed(sc.std, sizeof(sc.std), p.std);
	copy_fixed(sc.bcv, sizeof(sc.bcv), p.bcv);
	err = xioctl(fd, BCV_IOC_SESSION, &sc);
	if (err) {
		ret = session_error_why(fd, verb, &p, cmd, err, sc.reason,
					sc.detail, sc.state);
		close(fd);
		return ret;
	}
	state = sc.state;

	if (wait_after && (state_copying(state) ||
			   ((flags & BCV_CMD_F_PROTECT) && state == BCV_STATE_RESTORED))) {
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited);
		if (err) {
			/* The command worked: ENOENT now is a session gone. */
			ret = wait_error(fd, verb, &p, cmd, err, true, 0);
			close(fd);
			return ret;
		}
	}
	close(fd);

	printf("%s %s %s: %s\n", verb, p.std, p.bcv,
	       cmd == BCV_CMD_TERMINATE ? "terminated" : state_name(state));
	return EXIT_OK;
}

enum { ESTABLISH_WAIT };

static int run_establish(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_ESTABLISH, 0, false,
			   opt_flag(a, ESTABLISH_WAIT));
}

enum { SPLIT_DIFF, SPLIT_WAIT, SPLIT_FORCE, SPLIT_CONSISTENT, SPLIT_GROUP };

/* Is @bcv the BCV of one of the first @n of @pairs? */
static bool bcv_named(const struct bcv_pair *pairs, uint32_t n,
		      const char *bcv)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!strncmp(pairs[i].bcv, bcv, sizeof(pairs[i].bcv)))
			return true;
	return false;
}

/* Append the pair @std @bcv to @pairs (*@n of them so far). */
static int add_pair(const struct cmd_args *a, struct bcv_pair *pairs,
		    uint32_t *n, const char *std, const char *bcv)
{
	int ret;

	if (*n >= BCV_GROUP_MAX)
		return usage_error(a->cmd, "at most %u pairs split together",
				   BCV_GROUP_MAX);
	ret = check_name(a->cmd, "STD name", std);
	if (!ret)
		ret = check_name(a->cmd, "BCV name", bcv);
	if (!ret && !no_client_checks && !strcmp(std, bcv))
		ret = usage_error(a->cmd, "STD and BCV must be different "
				  "volumes ('%s')", std);
	if (!ret && !no_client_checks && bcv_named(pairs, *n, bcv))
		ret = usage_error(a->cmd, "BCV %s named twice", bcv);
	if (ret)
		return ret;
	copy_fixed(pairs[*n].std, sizeof(pairs[*n].std), std);
	copy_fixed(pairs[*n].bcv, sizeof(pairs[*n].bcv), bcv);
	(*n)++;
	return 0;
}

/* --group FILE: "STD BCV" a line; blank lines and '#' comments. */
static int read_group(const struct cmd_args *a, const char *path,
		      struct bcv_pair *pairs, uint32_t *n)
{
	char *line = NULL, *save, *std, *bcv, *hash;
	unsigned int lineno = 0;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return usage_error(a->cmd, "--group: cannot read %s: %s", path,
				   strerror(errno));
	while (!ret && getline(&line, &cap, f) >= 0) {
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		std = strtok_r(line, " \t\r\n", &save);
		if (!std)
			continue;
		bcv = strtok_r(NULL, " \t\r\n", &save);
		if (!bcv || strtok_r(NULL, " \t\r\n", &save))
			ret = usage_error(a->cmd, "--group: %s line %u: want "
					  "\"STD BCV\"", path, lineno);
		else
			ret = add_pair(a, pairs, n, std, bcv);
	}
	if (!ret && ferror(f))
		ret = usage_error(a->cmd, "--group: cannot read %s", path);
	free(line);
	fclose(f);
	return ret;
}

/*
 * split --consistent / --group: BCV_IOC_SPLIT_GROUP over every pair, after
 * waiting for each copy to end with --wait.  Prints "split STD BCV: split"
 * per pair, then how long the STDs' writes were held.
 */
static int split_group(const struct cmd_args *a, uint32_t flags)
{
	static struct bcv_pair pairs[BCV_GROUP_MAX];
	const char *verb = "split --consistent", *file;
	struct bcv_split_group g;
	uint32_t n = 0, i, state;
	struct pair p;
	bool waited;
	int fd, err, ret = 0;

	if (opt_flag(a, SPLIT_FORCE))
		return usage_error(a->cmd, "--force does not go with "
				   "--consistent or --group");
	if (a->npos % 2)
		return usage_error(a->cmd, "--consistent takes STD BCV pairs: "
				   "'%s' has no BCV", a->pos[a->npos - 1]);
	for (i = 0; !ret && i < a->npos; i += 2)
		ret = add_pair(a, pairs, &n, a->pos[i], a->pos[i + 1]);
	file = opt_value(a, SPLIT_GROUP);
	if (!ret && file)
		ret = read_group(a, file, pairs, &n);
	if (ret)
		return ret;
	if (!n)
		return usage_error(a->cmd, "missing STD");

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	for (i = 0; opt_flag(a, SPLIT_WAIT) && i < n; i++) {
		p.std = pairs[i].std;
		p.bcv = pairs[i].bcv;
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited);
		if (err) {
			ret = wait_error(fd, verb, &p, BCV_CMD_SPLIT, err,
					 waited, 0);
			close(fd);
			return ret;
		}
	}
	memset(&g, 0, sizeof(g));
	g.size = sizeof(g);
	g.flags = flags;
	g.nr_pairs = n;
	g.pairs = (uintptr_t)pairs;
	err = xioctl(fd, BCV_IOC_SPLIT_GROUP, &g);
	if (err) {
		if (g.failed < n && err == EINVAL &&
		    bcv_named(pairs, g.failed, pairs[g.failed].bcv)) {
			errmsg("%s %s %s: BCV %s named twice", verb,
			       pairs[g.failed].std, pairs[g.failed].bcv,
			       pairs[g.failed].bcv);
			ret = EXIT_FAIL;
		} else if (g.failed < n) {
			p.std = pairs[g.failed].std;
			p.bcv = pairs[g.failed].bcv;
			ret = session_error_why(fd, verb, &p, BCV_CMD_SPLIT, err,
						g.reason, g.detail,
						g.reason == BCV_R_STATE ?
						g.detail : 0);
		} else {
			errmsg("%s: %s", verb, strerror(err));
			ret = refusal_status(err);
		}
		close(fd);
		return ret;
	}
	close(fd);
	for (i = 0; i < n; i++)
		printf("split %s %s: split\n", pairs[i].std, pairs[i].bcv);
	printf("split --consistent: %u pair%s split at one instant, writes "
	       "held %.3f ms\n", n, n == 1 ? "" : "s", g.hold_ns / 1e6);
	return EXIT_OK;
}

static int run_split(const struct cmd_args *a)
{
	uint32_t flags = 0;

	if (opt_flag(a, SPLIT_CONSISTENT) || opt_value(a, SPLIT_GROUP))
		return split_group(a, opt_flag(a, SPLIT_DIFF) ?
					 BCV_CMD_F_DIFF : 0);
	if (a->npos < 1)
		return usage_error(a->cmd, "missing STD");
	if (a->npos < 2)
		return usage_error(a->cmd, "missing BCV");
	if (a->npos > 2)
		return usage_error(a->cmd, "unexpected argument '%s' (more "
				   "pairs need --consistent)", a->pos[2]);
	if (opt_flag(a, SPLIT_FORCE) && opt_flag(a, SPLIT_WAIT))
		return usage_error(a->cmd, "--force splits without waiting: "
				   "give --force or --wait, not both");
	if (opt_flag(a, SPLIT_DIFF))
		flags |= BCV_CMD_F_DIFF;
	if (opt_flag(a, SPLIT_FORCE))
		flags |= BCV_CMD_F_FORCE;
	return session_cmd(a, BCV_CMD_SPLIT, flags, opt_flag(a, SPLIT_WAIT),
			   false);
}

enum { REESTABLISH_WAIT };

static int run_reestablish(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_REESTABLISH, 0, false,
			   opt_flag(a, REESTABLISH_WAIT));
}

enum { RESTORE_INCREMENTAL, RESTORE_FORCE, RESTORE_WAIT, RESTORE_PROTECT };

static int run_restore(const struct cmd_args *a)
{
	uint32_t flags = 0;

	if (opt_flag(a, RESTORE_INCREMENTAL))
		flags |= BCV_CMD_F_INCREMENTAL;
	if (opt_flag(a, RESTORE_FORCE))
		flags |= BCV_CMD_F_FORCE;
	if (opt_flag(a, RESTORE_PROTECT))
		flags |= BCV_CMD_F_PROTECT;
	return session_cmd(a, BCV_CMD_RESTORE, flags, false,
			   opt_flag(a, RESTORE_WAIT));
}

static int run_terminate(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_TERMINATE, 0, false, false);
}

static int run_pause(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_PAUSE, 0, false, false);
}

static int run_resume(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_RESUME, 0, false, false);
}

static int run_abort(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_ABORT, 0, false, false);
}

enum { WAIT_TIMEOUT };

#define WAIT_TIMEOUT_MAX	(100U * 365 * 24 * 3600)	/* seconds */

static int run_wait(const struct cmd_args *a)
{
	const char *t = opt_value(a, WAIT_TIMEOUT);
	uint64_t timeout = 0, timeout_ms = NO_TIMEOUT;
	uint32_t state = 0;
	struct pair p;
	bool waited;
	int fd, err, ret = parse_pair(a, &p);

	if (ret)
		return ret;
	if (t) {
		if (!parse_uint(t, WAIT_TIMEOUT_MAX, &timeout))
			return usage_error(a->cmd, "--timeout: '%s' is not a "
					   "number of seconds", t);
		timeout_ms = timeout * 1000;
	}

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	err = wait_session(fd, &p, timeout_ms, &state, &waited);
	if (err) {
		ret = wait_error(fd, "wait", &p, CMD_WAIT, err, waited,
				 timeout_ms);
		close(fd);
		return ret;
	}
	close(fd);
	printf("wait %s %s: %s\n", p.std, p.bcv, state_name(state));
	return EXIT_OK;
}

/*------------------------------------------------------------------------
 * query
 */

enum { QUERY_JSON };

static void query_json(const struct bcv_sess_info *sess, uint32_t n,
		       const struct bcv_vol_info *v,
		       const struct bcv_vol_info *vols, uint32_t nvols)
{
	uint32_t i;
	unsigned int l;

	fputs("{\"sessions\":[", stdout);
	for (i = 0; i < n; i++) {
		const struct bcv_sess_info *s = &sess[i];

		fputs(i ? ",{\"std\":" : "{\"std\":", stdout);
		json_string("", s->std, sizeof(s->std));
		fputs(",\"bcv\":", stdout);
		json_string("", s->bcv, sizeof(s->bcv));
		printf(",\"id\":%" PRIu32 ",\"state\":\"%s\",\"mm\":%" PRId32
		       ",\"tracks\":%" PRIu64 ",\"track_size\":%" PRIu32
		       ",\"invalid_tracks\":%" PRIu64
		       ",\"std_changed_tracks\":%" PRIu64
		       ",\"bcv_changed_tracks\":%" PRIu64
		       ",\"copied_tracks\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"percent_done\":%u,\"paused\":%s,\"protected\":%s",
		       s->id, state_name(s->state), (int32_t)s->mm,
		       (uint64_t)s->tracks, s->track_size,
		       (uint64_t)s->invalid_tracks,
		       (uint64_t)s->std_changed_tracks,
		       (uint64_t)s->bcv_changed_tracks,
		       (uint64_t)s->copied_tracks, (uint64_t)s->errors,
		       percent_done(s->copied_tracks, s->invalid_tracks),
		       s->flags & BCV_SESS_F_PAUSED ? "true" : "false",
		       s->flags & BCV_SESS_F_PROTECT ? "true" : "false");
		if (s->split_time)
			printf(",\"split_time\":%" PRId64 ",\"split_hold_us\":%" PRIu64
			       "}", (int64_t)s->split_time,
			       (uint64_t)s->split_hold_ns / 1000);
		else
			fputs(",\"split_time\":null,\"split_hold_us\":null}", stdout);
	}
	fputs("]", stdout);
	/* The volumes asked about: their metadata's uuid and flags. */
	fputs(",\"volumes\":[", stdout);
	for (i = 0; i < nvols; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_string("", vols[i].name, sizeof(vols[i].name));
		vol_json_meta(&vols[i]);
		fputs("}", stdout);
	}
	fputs("]", stdout);
	if (v && vol_legs(v) > 1) {
		/* The named volume's legs (primary first), if it has mirrors. */
		fputs(",\"legs\":[", stdout);
		for (l = 0; l < vol_legs(v); l++) {
			fputs(l ? ",{\"device\":" : "{\"device\":", stdout);
			json_string("/dev/", v->leg_name[l], BCV_NAME_LEN);
			printf(",\"position\":%" PRIu32
			       ",\"invalid_tracks\":%" PRIu64 ",\"failed\":%s}",
			       v->leg_pos[l], (uint64_t)v->leg_invalid[l],
			       leg_failed(v, l) ? "true" : "false");
		}
		fputs("]", stdout);
	}
	fputs("}\n", stdout);
}

/* After the table of query: a line for each paused session. */
static void sess_notes(const struct bcv_sess_info *sess, uint32_t n)
{
	bool first = true;
	uint32_t i;

	for (i = 0; i < n; i++) {
		const struct bcv_sess_info *s = &sess[i];

		if (!(s->flags & (BCV_SESS_F_PAUSED | BCV_SESS_F_PROTECT)))
			continue;
		if (first)
			putchar('\n');
		first = false;
		if (s->flags & BCV_SESS_F_PROTECT)
			printf("%.*s/%.*s: protected restore (%.*s is never written)\n",
			       fixed_len(s->std, sizeof(s->std)), s->std,
			       fixed_len(s->bcv, sizeof(s->bcv)), s->bcv,
			       fixed_len(s->bcv, sizeof(s->bcv)), s->bcv);
		if (s->flags & BCV_SESS_F_PAUSED)
			printf("%.*s/%.*s: paused (bcvctl resume %.*s %.*s)\n",
			       fixed_len(s->std, sizeof(s->std)), s->std,
			       fixed_len(s->bcv, sizeof(s->bcv)), s->bcv,
			       fixed_len(s->std, sizeof(s->std)), s->std,
			       fixed_len(s->bcv, sizeof(s->bcv)), s->bcv);
	}
}

/* After the table of `query NAME`: the legs of a volume with mirrors. */
static void query_legs(const struct bcv_vol_info *v)
{
	unsigned int l;

	if (vol_legs(v) < 2)
		return;
	printf("\nLEG  DEVICE%*s  INVALID\n", BCV_NAME_LEN - 11, "");
	for (l = 0; l < vol_legs(v); l++) {
		static const char *const note[2][2] = {
			{ "", "  (failed)" },
			{ "  (primary)", "  (primary, failed)" } };

		printf("M%-3" PRIu32 " /dev/%-*.*s  %" PRIu64 "%s\n",
		       v->leg_pos[l] + 1, BCV_NAME_LEN - 6,
		       fixed_len(v->leg_name[l], BCV_NAME_LEN), v->leg_name[l],
		       (uint64_t)v->leg_invalid[l],
		       note[l == 0][leg_failed(v, l)]);
	}
}

enum { QCOL_STD, QCOL_BCV, QCOL_ID, QCOL_STATE, QCOL_INVALID, QCOL_STDCHG,
       QCOL_BCVCHG, QCOL_COPIED, QCOL_ERRORS, QCOL_DONE, NR_QCOLS };

struct query_row {
	char col[NR_QCOLS][BCV_NAME_LEN + 1];
};

static void query_table(const struct bcv_sess_info *sess, uint32_t n)
{
	static const char *const head[NR_QCOLS] = {
		"STD", "BCV", "ID", "STATE", "INVALID", "STD-CHANGED",
		"BCV-CHANGED", "COPIED", "ERRORS", "DONE(%)" };
	static const bool right[NR_QCOLS] = {
		[QCOL_ID] = true, [QCOL_INVALID] = true, [QCOL_STDCHG] = true,
		[QCOL_BCVCHG] = true, [QCOL_COPIED] = true,
		[QCOL_ERRORS] = true, [QCOL_DONE] = true };
	struct query_row *rows;
	int width[NR_QCOLS];
	uint32_t i;
	unsigned int k;

	if (!n) {
		puts("No sessions.");
		return;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		errmsg("query: out of memory");
		return;
	}
	for (k = 0; k < NR_QCOLS; k++)
		width[k] = (int)strlen(head[k]);
	for (i = 0; i < n; i++) {
		const struct bcv_sess_info *s = &sess[i];
		char (*col)[sizeof(rows->col[0])] = rows[i].col;
		size_t cl = sizeof(col[0]);

		memcpy(col[QCOL_STD], s->std,
		       (size_t)fixed_len(s->std, sizeof(s->std)));
		memcpy(col[QCOL_BCV], s->bcv,
		       (size_t)fixed_len(s->bcv, sizeof(s->bcv)));
		snprintf(col[QCOL_ID], cl, "%" PRIu32, s->id);
		snprintf(col[QCOL_STATE], cl, "%s", state_name(s->state));
		snprintf(col[QCOL_INVALID], cl, "%" PRIu64,
			 (uint64_t)s->invalid_tracks);
		snprintf(col[QCOL_STDCHG], cl, "%" PRIu64,
			 (uint64_t)s->std_changed_tracks);
		snprintf(col[QCOL_BCVCHG], cl, "%" PRIu64,
			 (uint64_t)s->bcv_changed_tracks);
		snprintf(col[QCOL_COPIED], cl, "%" PRIu64,
			 (uint64_t)s->copied_tracks);
		snprintf(col[QCOL_ERRORS], cl, "%" PRIu64, (uint64_t)s->errors);
		snprintf(col[QCOL_DONE], cl, "%u",
			 percent_done(s->copied_tracks, s->invalid_tracks));
		for (k = 0; k < NR_QCOLS; k++)
			if ((int)strlen(col[k]) > width[k])
				width[k] = (int)strlen(col[k]);
	}

	for (i = 0; i <= n; i++) {
		for (k = 0; k < NR_QCOLS; k++) {
			const char *s = i ? rows[i - 1].col[k] : head[k];
			const char *sep = k == NR_QCOLS - 1 ? "\n" : "  ";

			if (right[k])
				printf("%*s%s", width[k], s, sep);
			else if (k == NR_QCOLS - 1)
				printf("%s%s", s, sep);
			else
				printf("%-*s%s", width[k], s, sep);
		}
	}
	free(rows);
}

static int run_query(const struct cmd_args *a)
{
	const char *name = a->npos ? a->pos[0] : NULL;
	struct bcv_sess_info *sess;
	struct bcv_vol_info vol, *vols;
	bool have_vol;
	uint32_t n, nvols;
	int fd, ret;

	if (name) {
		ret = check_name(a->cmd, "volume name", name);
		if (ret)
			return ret;
	}

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;
	sess = query_sessions(fd, name, &n);
	if (!sess) {
		int err = errno;

		if (name && err == ENOENT)
			errmsg("query %s: no such volume", name);
		else if (name && err == ENAMETOOLONG)
			errmsg("query %s: name too long (at most %d "
			       "characters)", name, BCV_NAME_LEN - 1);
		else
			errmsg("query%s%s: %s", name ? " " : "",
			       name ? name : "", any_error(err));
		close(fd);
		/* ENOENT: no volume NAME, exit 3. */
		return refusal_status(err);
	}
	have_vol = name && find_volume(fd, name, &vol);
	/* Their flags: the volume NAME's, or every volume's. */
	if (name) {
		vols = NULL;
		nvols = have_vol ? 1 : 0;
	} else {
		vols = list_volumes(fd, &nvols);
		if (!vols)
			nvols = 0;
	}
	close(fd);
	if (opt_flag(a, QUERY_JSON)) {
		query_json(sess, n, have_vol ? &vol : NULL,
			   name ? &vol : vols, nvols);
	} else {
		query_table(sess, n);
		if (have_vol)
			query_legs(&vol);
		sess_notes(sess, n);
		vol_notes(name ? &vol : vols, nvols);
	}
	free(vols);
	free(sess);
	return EXIT_OK;
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
"  --consistent        split every pair given (up to 64, on one STD or\n"
"                      several) at one instant: writes to every STD are\n"
"                      drained and held, every BCV detached, then all are\n"
"                      released; a write acknowledged on any STD before the\n"
"                      command started is on its BCV, none issued after it\n"
"                      returned is.  All or nothing: if a pair cannot split,\n"
"                      none is, and the message names that pair.  Prints a\n"
"                      line per pair and how long writes were held\n"
"  --group FILE        (implies --consistent) the pairs of FILE too, \"STD\n"
"                      BCV\" a line; blank lines and # comments are skipped\n"
HELP_OPT
"\n"
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
"                      is split again once restored, so BCV stays a gold\n"
"                      copy that later --protect restores copy incrementally\n"
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
"\n"
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
"paused session copies nothing until resume).  Copies in flight have ended\n"
"when it returns.  A pause does not outlive a stop or reboot.  query shows\n"
"it (\"paused\" in --json); wait waits on.\n"
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
"session is no longer syncinprog nor restinprog; returns at once when no\n"
"copy is running.  Draws a progress bar (percent done, MB/s, ETA) when\n"
"stderr is a terminal.\n"
"\n"
"Options:\n"
"  --timeout SECONDS   give up after SECONDS (exit 5, \"timed out\"); 0 only\n"
"                      looks once; default: no limit\n"
HELP_OPT
"\n"
"Prints: wait STD BCV: STATE\n"
"\n"
"Exit status: 0 no copy runs (any more), 3 no such volume or session (or it\n"
"ended while waiting), 5 timed out, 1 any other failure.\n",
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
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	if (!xioctl(fd, BCV_IOC_VERSION, &v))
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
