// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl: the control device /dev/bcvctl and the ioctls every command
 * shares (include/uapi/linux/bcv.h).
 *
 * open_ctl() opens the device, running modprobe bcv once when it is
 * missing (udev may run bcvctl before anything loaded the module).
 * xioctl() restarts on EINTR and returns the errno; copy_fixed() and
 * fixed_len() fill and read the fixed-size name and path arrays of the
 * ioctl structs.  list_volumes() and query_sessions() are BCV_IOC_LIST and
 * BCV_IOC_QUERY into an array that grows while volumes or sessions are
 * added; lookup_volume(), find_volume() and find_session() pick one out.
 * any_error() and refusal_status() turn the errno of a refusal into a
 * message and an exit status (bcv-design.rst section 9).
 *
 * The commands fill the structs of their own ioctls (CREATE, REMOVE, LEG,
 * SESSION, SPLIT_GROUP, WAIT, ASSEMBLE, STOP) and call xioctl() directly:
 * each explains its refusals in its own words.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

/*------------------------------------------------------------------------
 * Errors: a message and an exit status
 */

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

unsigned int table_share(void)
{
	FILE *f = fopen("/sys/module/bcv/parameters/max_table_share", "re");
	unsigned int v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%u", &v) != 1)
		v = 0;
	fclose(f);
	return v;
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
 * ioctls and the fixed-size arrays of their structs
 */

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

/*------------------------------------------------------------------------
 * Opening the control device
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

/*------------------------------------------------------------------------
 * Volumes (LIST), sessions (QUERY), the module (VERSION)
 */

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
int find_session(int fd, const struct pair *p, struct bcv_sess_info *out)
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

/* BCV_IOC_VERSION into @v.  Returns 0 or the errno. */
int ctl_version(int fd, struct bcv_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	return xioctl(fd, BCV_IOC_VERSION, v);
}
