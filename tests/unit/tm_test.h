/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the trackmap unit tests: TAP checks and a copy engine
 * that drives bcv_trackmap's copy API to completion.
 */
#ifndef TM_TEST_H
#define TM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include "../../bcv_trackmap.h"

static int tm_tests, tm_failed;

#define CHECK(cond, ...) do {						\
	tm_tests++;							\
	if (!(cond)) {							\
		tm_failed++;						\
		printf("not ok %d - ", tm_tests);			\
		printf(__VA_ARGS__);					\
		printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond);	\
	} else {							\
		printf("ok %d - ", tm_tests);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

static inline int tm_done(void)
{
	printf("1..%d\n", tm_tests);
	return tm_failed ? 1 : 0;
}

/* Allocate @v's tables or bail out of the whole test. */
static inline void tm_vinit(struct bcv_tm_vol *v, u64 sectors,
			    unsigned int shift, bool std, unsigned int legs)
{
	if (bcv_tm_vol_init(v, sectors, shift, std, legs)) {
		printf("Bail out! bcv_tm_vol_init\n");
		exit(2);
	}
}

/* Free @v's tables and, on a STD, the sessions it still has. */
static inline void tm_vfree(struct bcv_tm_vol *v)
{
	unsigned int c;

	if (v->is_std)
		for (c = 0; c < BCV_SESSIONS; c++)
			free(v->sess[c]);
	bcv_tm_vol_free(v);
}

/* Run every copy @v needs, in runs of at most @max tracks; tracks copied. */
static inline unsigned long long tm_copy_all(struct bcv_tm_vol *v, u64 max)
{
	struct bcv_tm_copy c;
	unsigned long long n = 0;
	u64 from = 0;

	while (bcv_tm_next_copy(v, from, max, &c)) {
		bcv_tm_copy_begin(v, &c);
		n += bcv_tm_copy_done(v, &c, true);
		from = c.start + c.len;
		if (!bcv_tm_next_copy(v, from, max, &c))
			from = 0;
	}
	if (v->is_std)
		bcv_tm_update_states(v);
	return n;
}

#endif
