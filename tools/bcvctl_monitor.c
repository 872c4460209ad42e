// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl monitor: print bcv's events as they happen, like mdadm --monitor
 * and drbdsetup events2.  The kernel raises a uevent (KOBJ_CHANGE of the
 * volume's disk, Documentation/bcv.rst "Events") for every session state
 * change and for the first I/O error of an episode; this reads them from
 * the kernel's uevent netlink socket (the same messages udev gets), after
 * printing the sessions that exist when it starts ("exists").
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "bcvctl.h"

const char monitor_help[] =
"Print bcv's events as they happen: every change of a session's state\n"
"(establish, split, reestablish, restore, terminate, a copy that ends) and\n"
"the first I/O error of a volume's disk until it works again.  First one\n"
"line for each session that exists.  Runs until interrupted, or until\n"
"--count events were printed or --timeout SECONDS passed.\n"
"\n"
"Lines:\n"
"  exists STD BCV session ID: STATE\n"
"  state STD BCV session ID: FROM -> TO\n"
"  error VOLUME M<n> sector N: WHAT\n"
"\n"
"Options:\n"
"  --json              one JSON object a line: {\"event\": \"exists\",\n"
"                      \"state\" or \"error\", \"time\" (seconds since the\n"
"                      epoch), then for sessions \"std\", \"bcv\",\n"
"                      \"session\", \"from\" (state events), \"state\";\n"
"                      for errors \"volume\", \"position\" (1-4),\n"
"                      \"sector\", \"what\"}\n"
"  --count N           exit 0 after N events (\"exists\" lines not counted)\n"
"  --timeout SECONDS   exit 5 if SECONDS pass before that (with --count),\n"
"                      else 0 after SECONDS\n"
HELP_OPT
"\n"
"The same events reach udev (ACTION=change on /dev/bcvN, with BCV_EVENT,\n"
"BCV_SESSION, BCV_STD, BCV_BCV, BCV_FROM, BCV_STATE or BCV_VOLUME,\n"
"BCV_POSITION, BCV_SECTOR, BCV_WHAT), for rules of one's own.\n";

#define MONITOR_TIMEOUT_MAX	(365ULL * 24 * 3600)

static volatile sig_atomic_t stop_now;

static void on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

/* The value of KEY in a uevent's KEY=VALUE strings, or NULL. */
static const char *uev_get(const char *buf, size_t len, const char *key)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		const char *s = buf + i;
		size_t n = strnlen(s, len - i);

		if (n > klen && !strncmp(s, key, klen) && s[klen] == '=')
			return s + klen + 1;
		i += n + 1;
	}
	return NULL;
}

static void print_exists(const struct bcv_sess_info *s, bool json)
{
	if (json) {
		printf("{\"event\":\"exists\",\"time\":%lld,\"std\":",
		       (long long)time(NULL));
		json_string("", s->std, sizeof(s->std));
		fputs(",\"bcv\":", stdout);
		json_string("", s->bcv, sizeof(s->bcv));
		printf(",\"session\":%" PRIu32 ",\"state\":\"%s\"}\n", s->id,
		       state_name(s->state));
	} else {
		printf("exists %.*s %.*s session %" PRIu32 ": %s\n",
		       fixed_len(s->std, sizeof(s->std)), s->std,
		       fixed_len(s->bcv, sizeof(s->bcv)), s->bcv, s->id,
		       state_name(s->state));
	}
}

/* One bcv uevent: printed (true), or not one of ours (false). */
static bool print_event(const char *buf, size_t len, bool json)
{
	const char *ev = uev_get(buf, len, "BCV_EVENT");
	const char *sub = uev_get(buf, len, "SUBSYSTEM");
	long long now = (long long)time(NULL);

	if (!ev || !sub || strcmp(sub, "block"))
		return false;
	if (!strcmp(ev, "state")) {
		const char *std = uev_get(buf, len, "BCV_STD");
		const char *bcv = uev_get(buf, len, "BCV_BCV");
		const char *id = uev_get(buf, len, "BCV_SESSION");
		const char *from = uev_get(buf, len, "BCV_FROM");
		const char *to = uev_get(buf, len, "BCV_STATE");

		if (!std || !bcv || !id || !from || !to)
			return false;
		if (json) {
			printf("{\"event\":\"state\",\"time\":%lld,\"std\":", now);
			json_string("", std, BCV_NAME_LEN);
			fputs(",\"bcv\":", stdout);
			json_string("", bcv, BCV_NAME_LEN);
			printf(",\"session\":%s,\"from\":\"%s\",\"state\":\"%s\"}\n",
			       id, from, to);
		} else {
			printf("state %s %s session %s: %s -> %s\n", std, bcv, id,
			       from, to);
		}
		return true;
	}
	if (!strcmp(ev, "error")) {
		const char *vol = uev_get(buf, len, "BCV_VOLUME");
		const char *pos = uev_get(buf, len, "BCV_POSITION");
		const char *sector = uev_get(buf, len, "BCV_SECTOR");
		const char *what = uev_get(buf, len, "BCV_WHAT");

		if (!vol || !pos || !sector || !what || pos[0] != 'M')
			return false;
		if (json) {
			printf("{\"event\":\"error\",\"time\":%lld,\"volume\":", now);
			json_string("", vol, BCV_NAME_LEN);
			printf(",\"position\":%s,\"sector\":%s,\"what\":", pos + 1,
			       sector);
			json_string("", what, strlen(what) + 1);
			fputs("}\n", stdout);
		} else {
			printf("error %s %s sector %s: %s\n", vol, pos, sector, what);
		}
		return true;
	}
	return false;
}

int run_monitor(const struct cmd_args *a)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	bool json = opt_flag(a, MONITOR_JSON);
	uint64_t count = 0, timeout = 0, seen = 0, deadline = 0;
	struct bcv_sess_info *sess;
	struct sigaction act;
	int fd, sock, rcvbuf = 1 << 20;
	uint32_t i, n;
	char buf[8192];

	if (opt_value(a, MONITOR_COUNT) &&
	    (!parse_uint(opt_value(a, MONITOR_COUNT), UINT32_MAX, &count) ||
	     !count))
		return usage_error(a->cmd, "--count wants a number from 1");
	if (opt_value(a, MONITOR_TIMEOUT) &&
	    !parse_uint(opt_value(a, MONITOR_TIMEOUT), MONITOR_TIMEOUT_MAX,
			&timeout))
		return usage_error(a->cmd, "--timeout wants seconds");

	/* Listen before the sessions are listed: no change falls between. */
	sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (sock < 0) {
		errmsg("monitor: cannot open the uevent socket: %s",
		       strerror(errno));
		return EXIT_FAIL;
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		errmsg("monitor: cannot listen to uevents: %s", strerror(errno));
		close(sock);
		return EXIT_FAIL;
	}
	fd = open_ctl();
	if (fd < 0) {
		close(sock);
		return EXIT_FAIL;
	}
	sess = query_sessions(fd, NULL, &n);
	close(fd);
	if (!sess) {
		errmsg("monitor: %s", any_error(errno));
		close(sock);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		print_exists(&sess[i], json);
	free(sess);
	fflush(stdout);

	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	if (timeout)
		deadline = now_ms() + timeout * 1000;

	while (!stop_now) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		struct sockaddr_nl from;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		int wait_ms = -1;
		ssize_t len;

		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline)
				break;
			wait_ms = (int)(deadline - now > 60000 ? 60000 : deadline - now);
		}
		if (poll(&pfd, 1, wait_ms) <= 0)
			continue;
		len = recvmsg(sock, &msg, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == ENOBUFS)
				errmsg("monitor: events were lost (too many at once)");
			continue;
		}
		/* The kernel's own messages only (port 0), not udev's. */
		if (from.nl_pid != 0)
			continue;
		buf[len] = '\0';
		if (print_event(buf, (size_t)len, json)) {
			fflush(stdout);
			if (count && ++seen == count)
				break;
		}
	}
	close(sock);
	if (count && seen < count && !stop_now)
		return EXIT_TIMEOUT;
	return EXIT_OK;
}
