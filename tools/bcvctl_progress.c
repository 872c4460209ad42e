// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl: waiting for a session's copy to end, with a progress bar.
 *
 * --wait and the wait command sleep in BCV_IOC_WAIT in short slices; between
 * them, when stderr is a terminal, one line on stderr is redrawn from
 * BCV_IOC_QUERY: the state, a bar, percent done, MB/s and an ETA measured
 * from the first sample, and the copy's I/O errors.  The bar is completed
 * and its line ended when the wait succeeds, erased otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

#define WAIT_SLICE_MS	200	/* BCV_IOC_WAIT slices between bar updates */
#define RATE_MIN_MS	400	/* measure this long before showing a rate */
#define BAR_WIDTH	24

static const char bar_done[] = "########################";
static const char bar_todo[] = "------------------------";
_Static_assert(sizeof(bar_done) == BAR_WIDTH + 1, "update bar_done");
_Static_assert(sizeof(bar_todo) == BAR_WIDTH + 1, "update bar_todo");

/*
 * Percent of the current copy done, copied / (copied + invalid), rounded
 * down: 100 only when nothing is left to copy.
 */
unsigned int percent_done(uint64_t copied, uint64_t invalid)
{
	double pct;

	if (!invalid)
		return 100;
	pct = 100.0 * (double)copied / ((double)copied + (double)invalid);
	return pct >= 99.0 ? 99 : (unsigned int)pct;
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
 * syncinprog nor restinprog; a protected restore: until it is split),
 * drawing a progress bar on a terminal.  Gives up after @timeout_ms
 * (NO_TIMEOUT: never; 0: look once).  Returns 0 with *@state set,
 * ETIMEDOUT when @timeout_ms ran out, or the errno of BCV_IOC_WAIT: with
 * EBUSY (a protected restore's split waits for something outside) *@state
 * and *@why say why; *@waited says whether the copy was still running at
 * some point (so ENOENT means the session ended while waiting).
 */
int wait_session(int fd, const struct pair *p, uint64_t timeout_ms,
		 uint32_t *state, bool *waited, struct wait_why *why)
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
		if (!err || err == EBUSY) {
			*state = w.state;
			why->reason = err ? w.reason : 0;
			why->detail = err ? w.detail : 0;
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
