// SPDX-License-Identifier: GPL-2.0
/*
 * The session state machine: bcv_tm_state_legal() is exactly the table of
 * bcv_trackmap.h, and every command and copy reports its state change,
 * once, to the STD's on_state hook, in the order it happens.
 */
#include <string.h>
#include "tm_test.h"

#define SHIFT	16
#define TRACKS	20ULL
#define SECT	(TRACKS << (SHIFT - 9))

static char seen[512];

static const char *name(enum bcv_state st)
{
	static const char * const n[] = { "none", "syncinprog", "synchronized",
					  "split", "restinprog", "restored" };

	return n[st];
}

static void hook(const struct bcv_tm_sess *s, enum bcv_state from,
		 enum bcv_state to)
{
	size_t len = strlen(seen);

	snprintf(seen + len, sizeof(seen) - len, "%s%u:%s>%s", len ? " " : "",
		 s->id, name(from), name(to));
}

static bool saw(const char *want)
{
	bool ok = !strcmp(seen, want);

	if (!ok)
		printf("# saw \"%s\", want \"%s\"\n", seen, want);
	seen[0] = '\0';
	return ok;
}

int main(void)
{
	/* from -> the states it may go to, as documented */
	static const char * const moves[] = {
		[BCV_NOSESSION]		= "1",
		[BCV_SYNCINPROG]	= "23",
		[BCV_SYNCHRONIZED]	= "31",
		[BCV_SPLIT]		= "140",
		[BCV_RESTINPROG]	= "513",
		[BCV_RESTORED]		= "31",
	};
	struct bcv_tm_vol S, B;
	struct bcv_tm_cmd cmd = { 0 };
	struct bcv_tm_sess *spare = calloc(1, sizeof(*spare)), *freed = NULL;
	unsigned int from, to, bad = 0;

	for (from = 0; from <= BCV_RESTORED; from++)
		for (to = 0; to <= BCV_RESTORED; to++) {
			bool want = strchr(moves[from], '0' + to) != NULL;

			if (bcv_tm_state_legal(from, to) != want) {
				printf("# %s -> %s: %d\n", name(from), name(to), !want);
				bad++;
			}
		}
	CHECK(!bad, "the legal moves are the documented table");
	CHECK(!bcv_tm_state_legal(BCV_RESTORED + 1, BCV_SPLIT) &&
	      !bcv_tm_state_legal(BCV_SPLIT, BCV_RESTORED + 1),
	      "no moves from or to states that do not exist");

	tm_vinit(&S, SECT, SHIFT, true, 1);
	tm_vinit(&B, SECT, SHIFT, false, 1);
	S.on_state = hook;

	CHECK(bcv_tm_establish(&S, &B, &cmd, &spare) == 0 &&
	      saw("0:none>syncinprog"), "ESTABLISH: none -> syncinprog");
	tm_copy_all(&S, 16);
	CHECK(saw("0:syncinprog>synchronized"), "the copy: -> synchronized");
	bcv_tm_update_states(&S);
	CHECK(saw(""), "nothing to do: no change reported");
	CHECK(bcv_tm_split(&S, &B, &cmd) == 0 && saw("0:synchronized>split"),
	      "SPLIT: -> split");
	CHECK(bcv_tm_reestablish(&S, &B, &cmd) == 0 &&
	      saw("0:split>syncinprog"), "REESTABLISH: -> syncinprog");
	CHECK(bcv_tm_split(&S, &B, &cmd) == -EBUSY && saw(""),
	      "a refused SPLIT reports nothing");
	tm_copy_all(&S, 16);
	CHECK(bcv_tm_split(&S, &B, &cmd) == 0 &&
	      saw("0:syncinprog>synchronized 0:synchronized>split"),
	      "copy done, then SPLIT");
	CHECK(bcv_tm_restore(&S, &B, &cmd) == 0 && saw("0:split>restinprog"),
	      "RESTORE: -> restinprog");
	tm_copy_all(&S, 16);
	CHECK(saw("0:restinprog>restored"), "the copy: -> restored");
	/* The BCV's write failed: its position lost a track. */
	bcv_tm_mark_stale(&S, S.sess[0]->mm, 0, 1);
	bcv_tm_update_states(&S);
	CHECK(saw("0:restored>syncinprog"), "restored -> syncinprog");
	tm_copy_all(&S, 16);
	CHECK(bcv_tm_split(&S, &B, &cmd) == 0 &&
	      saw("0:syncinprog>synchronized 0:synchronized>split"),
	      "resynchronized, then SPLIT");
	CHECK(bcv_tm_terminate(&S, &B, &freed) == 0 && saw("0:split>none"),
	      "TERMINATE: -> none");
	free(freed);
	free(spare);
	tm_vfree(&S);
	tm_vfree(&B);
	return tm_done();
}
