// SPDX-License-Identifier: GPL-2.0
/*
 * bcvctl create: refuse a device that holds something, naming what.
 *
 * create writes a superblock and tables at the end of every leg and hands
 * the rest to the volume's users, so a device that holds a filesystem, a
 * partition table, an md or LVM member, or another volume's bcv metadata
 * is refused unless --force.  bcv metadata is found by our own reader
 * (bcv_fmt.c: libblkid does not know it); everything else by libblkid's
 * probe, superblocks and partition tables.
 *
 * Only devices that create could take are probed: a path that is not a
 * block device, or one held open exclusively (mounted, a leg of an
 * assembled volume), is left to the kernel, whose refusal (ENOENT,
 * ENOTBLK, EBUSY: exit 4) says more than a signature would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "bcvctl.h"
#include "bcv_fmt.h"

/* "an" before a word that starts with a vowel sound, as far as we guess. */
static const char *article(const char *word)
{
	return word[0] && strchr("aeioxAEIOX", word[0]) ? "an" : "a";
}

/*
 * What libblkid finds on @path, as "an ext4 filesystem" in @what.  Returns
 * 1 if something was found, 0 if nothing, -1 if the probe failed.
 */
static int blkid_signature(const char *path, char *what, size_t len)
{
	const char *type = NULL, *usage = NULL, *pttype = NULL;
	blkid_probe pr;
	int rc;

	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return -1;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	/* Every chain, without stopping at two signatures (ambivalent). */
	rc = blkid_do_fullprobe(pr);
	if (rc < 0) {
		blkid_free_probe(pr);
		return -1;
	}
	if (rc == 0) {
		blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
		blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
		blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
	}
	rc = 1;
	if (type && !strcmp(type, "linux_raid_member"))
		snprintf(what, len, "an md RAID member signature (%s)", type);
	else if (type && !strcmp(type, "LVM2_member"))
		snprintf(what, len, "an LVM physical volume signature (%s)",
			 type);
	else if (type && !strcmp(type, "swap"))
		snprintf(what, len, "a swap area");
	else if (type && usage && !strcmp(usage, "filesystem"))
		snprintf(what, len, "%s %s filesystem", article(type), type);
	else if (type && usage && !strcmp(usage, "crypto"))
		snprintf(what, len, "an encrypted volume (%s)", type);
	else if (type && usage && !strcmp(usage, "raid"))
		snprintf(what, len, "a RAID member signature (%s)", type);
	else if (type)
		snprintf(what, len, "%s %s signature", article(type), type);
	else if (pttype)
		snprintf(what, len, "%s %s partition table", article(pttype),
			 pttype);
	else
		rc = 0;
	blkid_free_probe(pr);
	return rc;
}

/*
 * bcv metadata on @path (a valid or a damaged superblock), described in
 * @what.  Returns 1 if found, 0 if not (or the device cannot be read).
 */
static int bcv_signature(const char *path, char *what, size_t len)
{
	struct bcv_fmt_read r;
	char uuid[BCV_FMT_UUID_STR], why[160];
	uint64_t sectors;
	int fd, found = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (bcv_fmt_dev_sectors(fd, &sectors) == 0) {
		if (bcv_fmt_read_dev(fd, sectors, &r) == 0) {
			snprintf(what, len, "bcv metadata of volume %s (%s, "
				 "uuid %s)", r.sb.name, role_name(r.sb.role),
				 bcv_fmt_uuid_str(r.sb.vol_uuid, uuid));
			found = 1;
		} else if (bcv_fmt_has_magic(&r)) {
			snprintf(what, len, "damaged bcv metadata (%s)",
				 bcv_fmt_reason(&r, why, sizeof(why)));
			found = 1;
		}
	}
	close(fd);
	return found;
}

int create_check_signatures(const char *name, const char *path)
{
	struct dev_probe p;
	char what[256];

	probe_dev(path, &p);
	if (p.stat_err || !p.is_blk || p.excl_busy || p.is_bcv || p.empty)
		return 0;	/* the kernel says why it refuses */
	if (bcv_signature(path, what, sizeof(what)) ||
	    blkid_signature(path, what, sizeof(what)) > 0) {
		errmsg("create %s: %s holds %s; use --force to overwrite it",
		       name, path, what);
		return EXIT_FAIL;
	}
	return 0;
}
