// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs_poll FILE TIMEOUT_MS: read a sysfs attribute, then wait (poll,
 * POLLPRI) until the kernel says it changed (sysfs_notify()), and print
 * what it holds then.  Exit 0 if woken, 1 on a timeout, 2 on errors.
 * "ready" on stderr once the first read is done (the poll is armed).
 * For test_monitor_15.sh: a session's `state` attribute wakes pollers.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	struct pollfd p;
	ssize_t n;
	int fd, r;

	if (argc != 3) {
		fprintf(stderr, "usage: sysfs_poll FILE TIMEOUT_MS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
		perror(argv[1]);
		return 2;
	}
	fprintf(stderr, "ready\n");
	p.fd = fd;
	p.events = POLLPRI | POLLERR;
	r = poll(&p, 1, atoi(argv[2]));
	if (r < 0) {
		perror("poll");
		return 2;
	}
	if (r == 0)
		return 1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		perror("pread");
		return 2;
	}
	buf[n] = '\0';
	fputs(buf, stdout);
	return 0;
}
