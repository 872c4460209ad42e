// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl output: the tables and JSON of list and query, and the helpers
 * every command's output uses.
 *
 * Sizes with binary units, the names of roles and session states, JSON
 * strings (escaped, valid UTF-8), and the tables and JSON objects of list
 * and query with the notes under them.  A table has a header line and
 * columns as wide as their widest cell, numbers right-aligned; JSON is one
 * object on one line, its fields in a fixed order that tests rely on.
 * (examine's and monitor's own lines are in their files.)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uapi/linux/bcv.h>

#include "bcvctl.h"
#include "bcv_fmt.h"

/*------------------------------------------------------------------------
 * Sizes and names
 */

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

/*------------------------------------------------------------------------
 * JSON strings
 */

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

/*------------------------------------------------------------------------
 * Volumes: list, and the notes under list and query
 */

/*
 * Leg @l of @v failed (its device went away or shrank): it gets no I/O
 * and no copies until it is removed.  Modules before BCV_FEAT_LEG_POS
 * leave leg_flags zero (it was reserved).
 */
static bool leg_failed(const struct bcv_vol_info *v, unsigned int l)
{
	return v->leg_flags[l] & BCV_LEG_STATE_FAILED;
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
void vol_notes(const struct bcv_vol_info *vols, uint32_t n)
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

void list_json(const struct bcv_vol_info *vols, uint32_t n)
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

void list_table(const struct bcv_vol_info *vols, uint32_t n)
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

/*------------------------------------------------------------------------
 * Sessions: query
 */

void query_json(const struct bcv_sess_info *sess, uint32_t n,
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
void sess_notes(const struct bcv_sess_info *sess, uint32_t n)
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
void query_legs(const struct bcv_vol_info *v)
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

void query_table(const struct bcv_sess_info *sess, uint32_t n)
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
