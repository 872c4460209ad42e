// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of the on-disk format reader of bcvctl
 * (tools/bcv_fmt.c): crc32c, superblocks written by hand into an image
 * file with bcv_fmt_layout(), the choice between the two copies, damaged
 * and truncated images, table summaries.  TAP output; exit status 0 iff
 * all passed.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/bcv_fmt.h"
#include "uapi/linux/bcv.h"

static int tests, failed;

#define CHECK(cond, ...) do {						\
	tests++;							\
	if (!(cond)) {							\
		failed++;						\
		printf("not ok %d - ", tests);				\
		printf(__VA_ARGS__);					\
		printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond);	\
	} else {							\
		printf("ok %d - ", tests);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#define CHECK_EQ(what, got, want) do {					\
	unsigned long long g_ = (got), w_ = (want);			\
	tests++;							\
	if (g_ != w_) {							\
		failed++;						\
		printf("not ok %d - %s: got %llu (0x%llx), want %llu "	\
		       "(0x%llx)\n", tests, what, g_, g_, w_, w_);	\
	} else {							\
		printf("ok %d - %s\n", tests, what);			\
	}								\
} while (0)

static void bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(2);
}

/* The image: a device of DEV_SECTORS (not a multiple of 8) with 4 KiB tracks. */
#define DEV_SECTORS	4099ULL
#define SHIFT		12
#define VOL_SECTORS	3001ULL		/* a partial last track */

static int img_fd;
static struct bcv_fmt_layout lay;

static void pwrite_all(const void *buf, size_t len, uint64_t off)
{
	if (pwrite(img_fd, buf, len, (off_t)off) != (ssize_t)len)
		bail("pwrite");
}

static const uint8_t vol_uuid[16] = {
	0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x11, 0xd2,
	0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0xa4, 0x27 };

/* A valid superblock of a two-leg STD, this device being M2. */
static void make_sb(uint8_t block[BCV_SB_SIZE], uint64_t seq, uint64_t events)
{
	struct bcv_sb sb;
	unsigned int p;

	memset(&sb, 0, sizeof(sb));
	memcpy(sb.magic, BCV_SB_MAGIC, sizeof(sb.magic));
	sb.version = htole32(BCV_SB_VERSION);
	sb.features = htole64(0);
	sb.seq = htole64(seq);
	sb.events = htole64(events);
	sb.ctime = htole64(1700000000);
	sb.utime = htole64(1700000100);
	memcpy(sb.vol_uuid, vol_uuid, 16);
	strcpy(sb.name, "prod");
	sb.role = htole32(BCV_ROLE_STD);
	sb.flags = htole32(BCV_SB_F_CLEAN);
	sb.track_shift = htole32(SHIFT);
	sb.nr_legs = htole32(2);
	sb.leg_pos = htole32(1);
	sb.sectors = htole64(VOL_SECTORS);
	sb.tracks = htole64((VOL_SECTORS + 7) / 8);
	sb.dev_sectors = htole64(lay.dev_sectors);
	sb.data_sectors = htole64(lay.data_sectors);
	sb.tracks_cap = htole64(lay.tracks_cap);
	sb.pb_offset = htole64(lay.pb_offset);
	for (p = 0; p < BCV_FMT_POSITIONS; p++)
		sb.inv_offset[p] = htole64(lay.inv_offset[p]);
	sb.pb_sectors = htole64(lay.pb_sectors);
	sb.inv_sectors = htole64(lay.inv_sectors);
	sb.al_offset = htole64(lay.al_offset);
	sb.al_sectors = htole64(lay.al_sectors);
	memset(sb.legs[0].uuid, 0xa0, 16);
	memset(sb.legs[1].uuid, 0xa1, 16);
	sb.legs[1].flags = htole32(BCV_SB_LEG_SYNCING);
	memset(sb.sess[3].peer_uuid, 0xb3, 16);
	strcpy(sb.sess[3].peer_name, "backup");
	sb.sess[3].flags = htole32(BCV_SB_SESS_USED);
	sb.sess[3].id = htole32(3);
	sb.sess[3].state = htole32(BCV_STATE_SPLIT);
	sb.sess[3].mm = htole32(0xffffffff);
	sb.link.mm = htole32(0xffffffff);

	memset(block, 0, BCV_SB_SIZE);
	memcpy(block, &sb, sizeof(sb));
	sb.crc = htole32(bcv_fmt_sb_crc(block));
	memcpy(block, &sb, sizeof(sb));
}

/* Re-checksum @block after a field was changed on purpose. */
static void reseal(uint8_t block[BCV_SB_SIZE])
{
	uint32_t crc = htole32(bcv_fmt_sb_crc(block));

	memcpy(block + offsetof(struct bcv_sb, crc), &crc, sizeof(crc));
}

static void put_copy(int copy, const uint8_t block[BCV_SB_SIZE])
{
	pwrite_all(block, BCV_SB_SIZE, lay.sb_offset[copy] * 512);
}

static int read_img(struct bcv_fmt_read *r, uint64_t sectors)
{
	return bcv_fmt_read_dev(img_fd, sectors, r);
}

static void test_crc(void)
{
	uint8_t buf[32];
	unsigned int i;

	CHECK_EQ("crc32c(\"123456789\")", bcv_crc32c("123456789", 9),
		 0xe3069283);
	CHECK_EQ("crc32c of nothing", bcv_crc32c("", 0), 0);
	/* RFC 3720 B.4 */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ("crc32c of 32 zero bytes", bcv_crc32c(buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ("crc32c of 32 0xff bytes", bcv_crc32c(buf, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ("crc32c of 0..31", bcv_crc32c(buf, 32), 0x46dd794e);
}

static void test_layout(void)
{
	if (bcv_fmt_layout(DEV_SECTORS, SHIFT, &lay))
		bail("bcv_fmt_layout");
	CHECK_EQ("copies in the last 8 KiB of the aligned device",
		 lay.sb_offset[1], DEV_SECTORS / 8 * 8 - 8);
	CHECK_EQ("copy 0 before copy 1", lay.sb_offset[0], lay.sb_offset[1] - 8);
	CHECK(lay.data_sectors >= VOL_SECTORS, "the volume fits the data area");
	CHECK_EQ("PB table right after the data", lay.pb_offset,
		 lay.data_sectors);
	CHECK_EQ("the activity log right after the M4 bitmap",
		 lay.al_offset, lay.inv_offset[3] + lay.inv_sectors);
	CHECK_EQ("the activity log ends where the superblocks start",
		 lay.al_offset + lay.al_sectors, lay.sb_offset[0]);
	CHECK_EQ("one 4 KiB block of activity log for a small device",
		 lay.al_sectors, 8);
	CHECK(bcv_fmt_layout(BCV_FMT_MIN_SECTORS - 1, 9, &(struct bcv_fmt_layout){0}),
	      "a device below BCV_FMT_MIN_SECTORS has no layout");
	CHECK(!bcv_fmt_layout(BCV_FMT_MIN_SECTORS, 9, &(struct bcv_fmt_layout){0}),
	      "BCV_FMT_MIN_SECTORS has a layout");
}

static void test_copies(void)
{
	uint8_t a[BCV_SB_SIZE], b[BCV_SB_SIZE];
	struct bcv_fmt_read r;
	char why[160], u[BCV_FMT_UUID_STR];

	/* Nothing written yet. */
	CHECK(read_img(&r, DEV_SECTORS) < 0, "blank image: no superblock");
	CHECK(!strcmp(bcv_fmt_reason(&r, why, sizeof(why)), "no bcv superblock"),
	      "blank image says '%s'", why);
	CHECK(!bcv_fmt_has_magic(&r), "blank image has no magic");

	/* One copy (seq 1 goes to copy 1). */
	make_sb(b, 1, 1);
	put_copy(1, b);
	CHECK(read_img(&r, DEV_SECTORS) == 0, "one valid copy is enough");
	CHECK_EQ("copy 1 used", r.used, 1);
	CHECK_EQ("copy 0 blank", r.copy[0].status, BCV_FMT_BLANK);
	CHECK(!strcmp(r.sb.name, "prod"), "name decoded: %s", r.sb.name);
	CHECK(!strcmp(bcv_fmt_uuid_str(r.sb.vol_uuid, u),
		      "1b4e28ba-2fa1-11d2-883f-0016d3cca427"), "uuid: %s", u);
	CHECK_EQ("role", r.sb.role, BCV_ROLE_STD);
	CHECK_EQ("leg_pos", r.sb.leg_pos, 1);
	CHECK_EQ("nr_legs", r.sb.nr_legs, 2);
	CHECK_EQ("tracks", r.sb.tracks, (VOL_SECTORS + 7) / 8);
	CHECK_EQ("clean flag", r.sb.flags & BCV_SB_F_CLEAN, BCV_SB_F_CLEAN);
	CHECK_EQ("leg flags", r.sb.legs[1].flags, BCV_SB_LEG_SYNCING);
	CHECK_EQ("session 3 state", r.sb.sess[3].state, BCV_STATE_SPLIT);
	CHECK_EQ("session 3 mm", r.sb.sess[3].mm, BCV_FMT_NO_MM);
	CHECK(!strcmp(r.sb.sess[3].peer_name, "backup"), "session 3 peer name");
	CHECK_EQ("metadata size", bcv_fmt_meta_sectors(&r.sb),
		 DEV_SECTORS - lay.data_sectors);

	/* Both valid: the higher seq wins, whichever copy holds it. */
	make_sb(a, 2, 2);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) == 0 && r.used == 0 && r.sb.seq == 2,
	      "seq 2 in copy 0 wins over seq 1 in copy 1");
	make_sb(b, 3, 3);
	put_copy(1, b);
	CHECK(read_img(&r, DEV_SECTORS) == 0 && r.used == 1 && r.sb.seq == 3,
	      "seq 3 in copy 1 wins over seq 2 in copy 0");
	CHECK(r.copy[0].status == BCV_FMT_OK && r.copy[0].seq == 2,
	      "the other copy is reported valid with its seq");

	/* A torn (corrupt) newer copy: the older one is used. */
	b[200] ^= 0x40;
	put_copy(1, b);
	CHECK(read_img(&r, DEV_SECTORS) == 0 && r.used == 0 && r.sb.seq == 2,
	      "copy 1 corrupt: copy 0 (seq 2) used");
	CHECK_EQ("copy 1 reported bad checksum", r.copy[1].status,
		 BCV_FMT_BAD_CRC);
	CHECK(!strcmp(r.copy[1].why, "bad checksum"), "why: %s", r.copy[1].why);

	/* Both corrupt: refused with one line. */
	a[300] ^= 0x01;
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0, "both copies corrupt: refused");
	bcv_fmt_reason(&r, why, sizeof(why));
	CHECK(!strcmp(why, "both superblock copies are damaged (bad checksum)"),
	      "says '%s'", why);
	CHECK(bcv_fmt_has_magic(&r), "damaged copies still carry the magic");

	/* Only one copy, and it is corrupt. */
	memset(a, 0, sizeof(a));
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0, "the only copy corrupt: refused");
	bcv_fmt_reason(&r, why, sizeof(why));
	CHECK(!strcmp(why, "the only superblock copy (copy 1) is damaged "
		      "(bad checksum)"), "says '%s'", why);

	/* Good crc but wrong version, unknown features, bad fields, layout. */
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->version = htole32(BCV_SB_VERSION + 1);
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_VERSION, "version 3 refused: %s",
	      r.copy[0].why);
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->features = htole64(1ULL << 5);
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_FEATURES,
	      "unknown feature refused: %s", r.copy[0].why);
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->leg_pos = htole32(2);
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_FIELD,
	      "leg_pos beyond nr_legs refused: %s", r.copy[0].why);
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->name[0] = '\0';
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_FIELD, "empty name refused");
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->pb_offset = htole64(lay.pb_offset - 8);
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_LAYOUT,
	      "a moved table refused: %s", r.copy[0].why);
	make_sb(a, 4, 4);
	((struct bcv_sb *)a)->sectors = htole64(lay.data_sectors + 1);
	((struct bcv_sb *)a)->tracks = htole64((lay.data_sectors + 8) / 8);
	reseal(a);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) < 0 &&
	      r.copy[0].status == BCV_FMT_BAD_FIELD,
	      "a volume larger than the data area refused: %s", r.copy[0].why);

	/* Same superblock, read as if the device had another size. */
	make_sb(a, 4, 4);
	put_copy(0, a);
	CHECK(read_img(&r, DEV_SECTORS) == 0 && r.used == 0,
	      "valid again with seq 4");
	CHECK(read_img(&r, DEV_SECTORS + 4) == 0,
	      "a device grown by less than 4 KiB still reads (same aligned end)");
	CHECK(read_img(&r, DEV_SECTORS + 8) < 0,
	      "a device grown by 4 KiB: no superblock at its end");
}

static void test_truncated(void)
{
	struct bcv_fmt_read r;
	char why[160];

	if (ftruncate(img_fd, (off_t)(DEV_SECTORS - 16) * 512))
		bail("ftruncate");
	CHECK(read_img(&r, DEV_SECTORS - 16) < 0, "truncated image: no superblock");
	bcv_fmt_reason(&r, why, sizeof(why));
	CHECK(!strcmp(why, "no bcv superblock"), "truncated image says '%s'", why);
	if (ftruncate(img_fd, 20 * 512))
		bail("ftruncate");
	CHECK(read_img(&r, 20) < 0 && r.too_small, "a 20-sector image is too small");
	bcv_fmt_reason(&r, why, sizeof(why));
	CHECK(strstr(why, "too small") != NULL, "says '%s'", why);
	CHECK(read_img(&r, DEV_SECTORS) < 0,
	      "reading past the end of a short image fails cleanly");
}

static void test_summary(void)
{
	uint8_t blk[BCV_SB_SIZE], *tab;
	uint64_t tracks = (VOL_SECTORS + 7) / 8, t;
	struct bcv_fmt_summary s;
	struct bcv_fmt_read r;
	size_t pbbytes = lay.pb_sectors * 512, invbytes = lay.inv_sectors * 512;

	tab = calloc(1, pbbytes > invbytes ? pbbytes : invbytes);
	if (!tab)
		bail("calloc");
	/* PB: column 3 changed on every third track; column 0 on track 0;
	 * bits beyond the volume's last track do not count. */
	for (t = 0; t < tracks; t += 3)
		tab[2 * t] |= 1 << 3;
	tab[0] |= 1;
	tab[2 * tracks + 1] |= 0x80;		/* beyond: column 15 */
	pwrite_all(tab, pbbytes, lay.pb_offset * 512);
	/* M1 nothing, M2 tracks 0..9 and the last one, M4 all + beyond. */
	memset(tab, 0, invbytes);
	pwrite_all(tab, invbytes, lay.inv_offset[0] * 512);
	memset(tab, 0, invbytes);
	tab[0] = 0xff;
	tab[1] = 0x03;
	tab[(tracks - 1) / 8] |= (uint8_t)(1 << ((tracks - 1) % 8));
	pwrite_all(tab, invbytes, lay.inv_offset[1] * 512);
	memset(tab, 0, invbytes);
	pwrite_all(tab, invbytes, lay.inv_offset[2] * 512);
	memset(tab, 0xff, invbytes);
	pwrite_all(tab, invbytes, lay.inv_offset[3] * 512);
	free(tab);

	make_sb(blk, 9, 9);
	put_copy(1, blk);
	if (read_img(&r, DEV_SECTORS))
		bail("read for the summary");
	CHECK(bcv_fmt_summary(img_fd, &r.sb, &s) == 0, "summary reads");
	CHECK_EQ("PB column 3", s.changed[3], (tracks + 2) / 3);
	CHECK_EQ("PB column 0", s.changed[0], 1);
	CHECK_EQ("PB column 15 (only beyond the volume)", s.changed[15], 0);
	CHECK_EQ("M1 invalid", s.invalid[0], 0);
	CHECK_EQ("M2 invalid", s.invalid[1], 11);
	CHECK_EQ("M3 invalid", s.invalid[2], 0);
	CHECK_EQ("M4 invalid: every track, none beyond", s.invalid[3], tracks);
}

int main(void)
{
	char path[] = "/tmp/bcv-test-format.XXXXXX";

	img_fd = mkstemp(path);
	if (img_fd < 0)
		bail("mkstemp");
	unlink(path);
	if (ftruncate(img_fd, (off_t)DEV_SECTORS * 512))
		bail("ftruncate");

	test_crc();
	test_layout();
	test_copies();
	test_summary();
	test_truncated();
	close(img_fd);
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
