// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl establish, split, reestablish, restore, terminate, pause, resume,
 * abort, wait and query: the commands of the sessions between a std and
 * a bcv volume (bcv-design.rst section 4).
 *
 * Most are one BCV_IOC_SESSION (session_cmd()), with --wait sleeping in
 * BCV_IOC_WAIT around it (bcvctl_progress.c); split --consistent and
 * --group are one BCV_IOC_SPLIT_GROUP over many pairs (bcv-design.rst section 11);
 * query is BCV_IOC_QUERY, printed by bcvctl_output.c.  A refusal is one line:
 * the kernel's reason (BCV_R_*, with the state or a count) when the module
 * gives one, else what the errno and the volumes listed tell, and the exit
 * status of the errno (3 no such volume or session, 4 busy, 5 timed out).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"

#define CMD_WAIT	0	/* not a BCV_CMD_*: errors of BCV_IOC_WAIT */

/*------------------------------------------------------------------------
 * Why the kernel refused a session command
 */

/* Why @cmd was refused with EBUSY (bcv-design.rst section 4). */
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
	case BCV_R_PAUSED:
		snprintf(buf, len, "the session is paused and BCV %s still "
			 "lacks %" PRIu32 " track%s of STD %s: resume it first "
			 "(bcvctl resume %s %s), or split --force", p->bcv,
			 detail, detail == 1 ? "" : "s", p->std, p->std, p->bcv);
		break;
	case BCV_R_COPY_FAILING:
		snprintf(buf, len, "BCV %s still lacks %" PRIu32 " track%s of "
			 "STD %s and copies to it fail (its disk or link is "
			 "down, see the kernel log): split once it is back, or "
			 "split --force", p->bcv, detail, detail == 1 ? "" : "s",
			 p->std);
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
	case BCV_R_NO_INTENT:
		snprintf(buf, len, "STD %s runs without write intent "
			 "(bcv.write_intent=0), which a protected restore needs: "
			 "stop and assemble it with write_intent=1, or restore "
			 "without --protect", p->std);
		break;
	default:
		return NULL;
	}
	return buf;
}

/*
 * Print why the kernel refused @verb (BCV_CMD_* @cmd, or CMD_WAIT) on @p
 * with @err, as one line, and return the exit status: 3 when a volume or
 * the session does not exist (ENOENT), 4 busy (EBUSY), else 1.  ENOENT
 * and EINVAL are told apart with LIST.
 */
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
 * The split that ends a protected restore waits (BCV_IOC_WAIT said EBUSY
 * with @reason): what to do about it, or NULL.
 */
static const char *split_due_text(const struct pair *p, uint32_t reason,
				  char *buf, size_t len)
{
	switch (reason) {
	case BCV_R_ONLY_COPY:
		snprintf(buf, len, "STD %s's legs lack tracks that only BCV %s "
			 "holds, and no copy can bring them now (see the kernel "
			 "log): repair STD's legs", p->std, p->bcv);
		break;
	case BCV_R_PAUSED:
		snprintf(buf, len, "the session is paused and STD %s's legs "
			 "lack tracks that only BCV %s holds: resume it "
			 "(bcvctl resume %s %s)", p->std, p->bcv, p->std,
			 p->bcv);
		break;
	default:
		return NULL;
	}
	return buf;
}

/*
 * Print why waiting for @p failed with @err (from wait_session(), which
 * left @state and @why); returns the exit status: 5 timed out, 3 the
 * session ended or does not exist, 4 a protected restore's split waits.
 */
static int wait_error(int fd, const char *verb, const struct pair *p,
		      uint32_t cmd, int err, bool ended, uint64_t timeout_ms,
		      uint32_t state, const struct wait_why *why)
{
	struct bcv_sess_info s;
	char buf[256];
	const char *text;

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
	if (err == EBUSY && state == BCV_STATE_RESTORED) {
		text = split_due_text(p, why->reason, buf, sizeof(buf));
		if (text)
			errmsg("%s %s %s: restored, but the split that ends the "
			       "protected restore waits: %s; bcv splits it by "
			       "itself then", verb, p->std, p->bcv, text);
		else
			errmsg("%s %s %s: restored, but the split that ends the "
			       "protected restore was refused (reason %" PRIu32
			       "): see the kernel log", verb, p->std, p->bcv,
			       why->reason);
		return EXIT_BUSY;
	}
	return session_error(fd, verb, p, cmd, err);
}

/*------------------------------------------------------------------------
 * The commands: establish, split, reestablish, restore, terminate, pause,
 * resume, abort, wait
 */

static bool state_copying(uint32_t state)
{
	return state == BCV_STATE_SYNCINPROG || state == BCV_STATE_RESTINPROG;
}

/* Is @s a UUID as bcvctl prints it (8-4-4-4-12 hex digits)? */
static bool is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/*
 * STD BCV positionals: two valid, different names.  The BCV of a session
 * whose BCV is gone may be named by its UUID (split --force, abort,
 * terminate): a name holds 31 characters, so its first 31 go, which the
 * module matches against the UUIDs its STD remembers.
 */
static int parse_pair(const struct cmd_args *a, struct pair *p)
{
	static char uuid_prefix[BCV_NAME_LEN];
	int ret;

	p->std = a->pos[0];
	p->bcv = a->pos[1];
	if (is_uuid(p->bcv)) {
		memcpy(uuid_prefix, p->bcv, sizeof(uuid_prefix) - 1);
		uuid_prefix[sizeof(uuid_prefix) - 1] = '\0';
		p->bcv = uuid_prefix;
	}
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
	struct wait_why ww;
	bool waited;
	int fd, err, ret;

	ret = parse_pair(a, &p);
	if (ret)
		return ret;

	fd = open_ctl();
	if (fd < 0)
		return EXIT_FAIL;

	if (wait_before) {
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited, &ww);
		if (err) {
			ret = wait_error(fd, verb, &p, cmd, err, waited, 0,
					 state, &ww);
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
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited, &ww);
		if (err) {
			/* The command worked: ENOENT now is a session gone. */
			ret = wait_error(fd, verb, &p, cmd, err, true, 0, state,
					 &ww);
			close(fd);
			return ret;
		}
	}
	close(fd);

	printf("%s %s %s: %s\n", verb, p.std, p.bcv,
	       cmd == BCV_CMD_TERMINATE ? "terminated" : state_name(state));
	return EXIT_OK;
}

int run_establish(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_ESTABLISH, 0, false,
			   opt_flag(a, ESTABLISH_WAIT));
}

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
	struct wait_why ww;
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
		err = wait_session(fd, &p, NO_TIMEOUT, &state, &waited, &ww);
		if (err) {
			ret = wait_error(fd, verb, &p, BCV_CMD_SPLIT, err,
					 waited, 0, state, &ww);
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

int run_split(const struct cmd_args *a)
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

int run_reestablish(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_REESTABLISH, 0, false,
			   opt_flag(a, REESTABLISH_WAIT));
}

int run_restore(const struct cmd_args *a)
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

int run_terminate(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_TERMINATE, 0, false, false);
}

int run_pause(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_PAUSE, 0, false, false);
}

int run_resume(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_RESUME, 0, false, false);
}

int run_abort(const struct cmd_args *a)
{
	return session_cmd(a, BCV_CMD_ABORT, 0, false, false);
}

#define WAIT_TIMEOUT_MAX	(100U * 365 * 24 * 3600)	/* seconds */

int run_wait(const struct cmd_args *a)
{
	const char *t = opt_value(a, WAIT_TIMEOUT);
	uint64_t timeout = 0, timeout_ms = NO_TIMEOUT;
	uint32_t state = 0;
	struct pair p;
	struct wait_why ww;
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
	err = wait_session(fd, &p, timeout_ms, &state, &waited, &ww);
	if (err) {
		ret = wait_error(fd, "wait", &p, CMD_WAIT, err, waited,
				 timeout_ms, state, &ww);
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

int run_query(const struct cmd_args *a)
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
