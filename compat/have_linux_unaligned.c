// SPDX-License-Identifier: GPL-2.0
/* <linux/unaligned.h> (6.12; <asm/unaligned.h> before). */
#include <linux/unaligned.h>

u64 bcv_probe_unaligned(const void *p);
u64 bcv_probe_unaligned(const void *p)
{
	return get_unaligned_le64(p);
}
