/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: what bcv_trackmap.c needs from its environment.
 *
 * In the module these are the kernel's own bitmap, bit and allocation
 * helpers.  In the userspace unit tests and benchmarks they are small C11
 * implementations with the same names and semantics (atomic bit operations
 * are GCC __atomic builtins with the kernel's ordering: relaxed for
 * set_bit/clear_bit, full for test_and_*), so bcv_trackmap.c is compiled
 * unchanged in both.
 *
 * bcv_sb.c (the superblock check) also needs the byte order accessors,
 * memchr_inv() and crc32c(): the kernel's, or here the same functions for
 * userspace (crc32c() with the kernel's semantics: a register update that
 * neither inverts its seed nor its result).
 */
#ifndef BCV_SHIM_H
#define BCV_SHIM_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/bug.h>
#include <linux/stddef.h>
#include <linux/crc32c.h>
#include <linux/sched.h>
#include <asm/byteorder.h>

/*
 * May sleep.  Too large a table is the caller's error (checked before):
 * fail quietly, never with the allocator's warning.
 */
static inline unsigned long *bcv_bitmap_alloc(u64 nbits)
{
	return kvcalloc(BITS_TO_LONGS(nbits) ?: 1, sizeof(unsigned long),
			GFP_KERNEL | __GFP_NOWARN);
}

static inline void bcv_bitmap_free(unsigned long *map)
{
	kvfree(map);
}

/* Atomically OR @bits into *@word. */
static inline void bcv_atomic_or(unsigned long *word, unsigned long bits)
{
	set_mask_bits(word, 0UL, bits);
}

/*
 * A resched point in a pass over every track (recovery at assembly), for
 * the functions documented to sleep: the CPU is not held for the whole of
 * a table of 2^29 tracks.
 */
static inline void bcv_tm_resched(void)
{
	cond_resched();
}

/* A broken invariant of the table code: a bug, reported once. */
#define BCV_TM_WARN_ON(cond)	WARN_ON_ONCE(cond)

/* Atomically clear @bits in *@word. */
static inline void bcv_atomic_andnot(unsigned long *word, unsigned long bits)
{
	set_mask_bits(word, bits, 0UL);
}

#else /* userspace */

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

#define BITS_PER_LONG		((int)(sizeof(long) * CHAR_BIT))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define hweight_long(w)		((unsigned int)__builtin_popcountl(w))
#define __ffs(w)		((unsigned long)__builtin_ctzl(w))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define BCV_TM_WARN_ON(cond)	assert(!(cond))
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline unsigned long *bcv_bitmap_alloc(u64 nbits)
{
	return calloc(BITS_TO_LONGS(nbits) ?: 1, sizeof(unsigned long));
}

static inline void bcv_bitmap_free(unsigned long *map)
{
	free(map);
}

static inline void bcv_tm_resched(void)
{
}

static inline void bcv_atomic_or(unsigned long *word, unsigned long bits)
{
	__atomic_fetch_or(word, bits, __ATOMIC_RELAXED);
}

static inline void bcv_atomic_andnot(unsigned long *word, unsigned long bits)
{
	__atomic_fetch_and(word, ~bits, __ATOMIC_RELAXED);
}

static inline void set_bit(u64 nr, unsigned long *map)
{
	__atomic_fetch_or(&map[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline void clear_bit(u64 nr, unsigned long *map)
{
	__atomic_fetch_and(&map[BIT_WORD(nr)], ~BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline bool test_bit(u64 nr, const unsigned long *map)
{
	return (READ_ONCE(map[BIT_WORD(nr)]) >> (nr % BITS_PER_LONG)) & 1;
}

static inline bool test_and_clear_bit(u64 nr, unsigned long *map)
{
	unsigned long m = BIT_MASK(nr);

	return __atomic_fetch_and(&map[BIT_WORD(nr)], ~m, __ATOMIC_SEQ_CST) & m;
}

/* Next set (or, with @invert, clear) bit at or after @start, or @size. */
static inline u64 bcv_find_next(const unsigned long *map, u64 size, u64 start,
				unsigned long invert)
{
	unsigned long w;
	u64 i;

	if (start >= size)
		return size;
	i = BIT_WORD(start);
	w = (map[i] ^ invert) & (~0UL << (start % BITS_PER_LONG));
	while (!w) {
		if (++i >= BITS_TO_LONGS(size))
			return size;
		w = map[i] ^ invert;
	}
	return min(i * BITS_PER_LONG + __ffs(w), size);
}

static inline u64 find_next_bit(const unsigned long *map, u64 size, u64 start)
{
	return bcv_find_next(map, size, start, 0UL);
}

static inline u64 find_next_zero_bit(const unsigned long *map, u64 size,
				     u64 start)
{
	return bcv_find_next(map, size, start, ~0UL);
}

/* The on-disk format is little-endian (include/uapi/linux/bcv_format.h). */
#define le16_to_cpu(x)		((u16)le16toh(x))
#define le32_to_cpu(x)		((u32)le32toh(x))
#define le64_to_cpu(x)		((u64)le64toh(x))
#define cpu_to_le16(x)		htole16(x)
#define cpu_to_le32(x)		htole32(x)
#define cpu_to_le64(x)		htole64(x)

/* The first byte of @start that is not @c, or NULL. */
static inline void *memchr_inv(const void *start, int c, size_t bytes)
{
	const unsigned char *p = start;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (p[i] != (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) as the kernel's
 * crc32c(): the register update alone, so that a caller can chain pieces;
 * the standard CRC of a buffer is ~crc32c(~0U, buf, len).  Four bits at a
 * time: small, and fast enough for a superblock per fuzzer run.
 */
static inline u32 crc32c(u32 crc, const void *buf, size_t len)
{
	static const u32 t[16] = {
		0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
		0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
		0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
		0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
	};
	const unsigned char *p = buf;

	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return crc;
}

#endif /* __KERNEL__ */

#endif /* BCV_SHIM_H */
