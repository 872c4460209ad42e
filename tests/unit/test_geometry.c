// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of the track geometry in bcv_trackmap.c (the same
 * file the module builds).  TAP output; exit status 0 iff all passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../../bcv_trackmap.h"
#include "uapi/linux/bcv.h"

static int tests, failed;

#define CHECK_EQ(what, got, want) do {					\
	unsigned long long g_ = (got), w_ = (want);			\
	tests++;							\
	if (g_ != w_) {							\
		failed++;						\
		printf("not ok %d - %s: got %llu, want %llu\n", tests,	\
		       what, g_, w_);					\
	} else {							\
		printf("ok %d - %s\n", tests, what);			\
	}								\
} while (0)

int main(void)
{
	u64 first, last;

	/* Whole tracks, a partial last track, a one-track volume. */
	CHECK_EQ("1 GiB at 64 KiB", bcv_tracks(2097152, 16), 16384);
	CHECK_EQ("64 KiB + 4 KiB at 64 KiB", bcv_tracks(136, 16), 2);
	CHECK_EQ("one sector", bcv_tracks(1, 16), 1);
	CHECK_EQ("exactly one track", bcv_tracks(128, 16), 1);
	CHECK_EQ("empty", bcv_tracks(0, 16), 0);
	CHECK_EQ("512-byte tracks", bcv_tracks(7, 9), 7);
	CHECK_EQ("1 TiB at 64 KiB", bcv_tracks(1ULL << 31, 16), 16777216);

	/* Cylinders of 15 tracks. */
	CHECK_EQ("15 tracks", bcv_cylinders(15), 1);
	CHECK_EQ("16 tracks", bcv_cylinders(16), 2);
	CHECK_EQ("1 track", bcv_cylinders(1), 1);
	CHECK_EQ("0 tracks", bcv_cylinders(0), 0);
	CHECK_EQ("16384 tracks", bcv_cylinders(16384), 1093);

	/* Ranges: inside a track, across a boundary, zero length. */
	bcv_track_range(0, 8, 16, &first, &last);
	CHECK_EQ("range 0+8 first", first, 0);
	CHECK_EQ("range 0+8 last", last, 0);
	bcv_track_range(120, 16, 16, &first, &last);
	CHECK_EQ("range 120+16 first", first, 0);
	CHECK_EQ("range 120+16 last", last, 1);
	bcv_track_range(128, 128, 16, &first, &last);
	CHECK_EQ("range 128+128 first", first, 1);
	CHECK_EQ("range 128+128 last", last, 1);
	bcv_track_range(300, 0, 16, &first, &last);
	CHECK_EQ("empty range", last, first);

	/* Track size validation. */
	CHECK_EQ("64 KiB", (unsigned)bcv_track_shift(65536, 512), 16);
	CHECK_EQ("512 at lbs 512", (unsigned)bcv_track_shift(512, 512), 9);
	CHECK_EQ("16 MiB", (unsigned)bcv_track_shift(BCV_TRACK_SIZE_MAX, 512), 24);
	CHECK_EQ("32 MiB", bcv_track_shift(32U << 20, 512) < 0, 1);
	CHECK_EQ("3000", bcv_track_shift(3000, 512) < 0, 1);
	CHECK_EQ("0", bcv_track_shift(0, 512) < 0, 1);
	CHECK_EQ("256", bcv_track_shift(256, 1) < 0, 1);
	CHECK_EQ("2 KiB at lbs 4096", bcv_track_shift(2048, 4096) < 0, 1);
	CHECK_EQ("4 KiB at lbs 4096", (unsigned)bcv_track_shift(4096, 4096), 12);

	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
