/* SPDX-License-Identifier: MIT */
/*
 * Host frame pools.
 *
 * The 4 KiB pool is one sparse memfd cut into 2 MiB chunks; each chunk has a
 * 512-bit bitmap of allocated frames.  Allocations of order 0..9 are
 * naturally aligned inside one chunk, so a file whose pages are placed on
 * one chunk can be mapped by a single 2 MiB host mapping.  Freeing punches
 * a hole, which both returns the memory to the OS and zeroes the frames.
 *
 * The huge pools are hugetlb memfds (2 MiB and 1 GiB pages) whose slots are
 * allocated with fallocate(), so that an empty host pool fails at once with
 * -ENOMEM rather than with SIGBUS at first touch.
 *
 * Lock order: pool->lock is innermost; callers may hold a file lock.
 * Frame pins (struct gm_frame.pins) are atomics and take no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <guestmem/pmem.h>

#include "pmem/frame.h"

#define CHUNK_FRAMES		512U
#define CHUNK_WORDS		(CHUNK_FRAMES / 64)
/* Address space, not memory: the pool memfd is sparse. */
#define POOL_4K_BYTES		(64ULL << 30)
#define POOL_2M_SLOTS		1024U
#define POOL_1G_SLOTS		16U
#define PFN_1G_OFFSET		(1ULL << 32)

struct chunk {
	uint64_t used[CHUNK_WORDS];
	uint16_t nr_used;
};

struct pool {
	const char *name;
	int fd;				/* -1 until created */
	unsigned int frame_order;	/* 0 for 4 KiB; 9 or 18 for huge slots */
	gm_pfn_t first_pfn;
	uint64_t nr_frames;		/* 4 KiB frames */
	struct gm_frame *meta;		/* one per 4 KiB frame, NORESERVE */
	_Atomic int64_t in_use;

	pthread_mutex_t lock;		/* protects everything below */
	struct chunk *chunks;		/* 4 KiB pool: one per 2 MiB */
	uint64_t nr_chunks;
	uint64_t cursor;		/* chunk tried first for scattered allocs */
	uint64_t next_fresh;		/* chunks at or past it were never used */
	uint8_t *slot_used;		/* huge pools: one byte per slot */
	const char *why;		/* why the pool is unusable */
	bool tried;
};

static struct pool pools[GM_NR_POOLS] = {
	[GM_POOL_4K] = { .name = "guestmem-pool-4k", .fd = -1, .frame_order = 0,
			 .first_pfn = 0, .lock = PTHREAD_MUTEX_INITIALIZER },
	[GM_POOL_2M] = { .name = "guestmem-pool-2m", .fd = -1, .frame_order = 9,
			 .first_pfn = GM_PFN_HUGE_BASE, .lock = PTHREAD_MUTEX_INITIALIZER },
	[GM_POOL_1G] = { .name = "guestmem-pool-1g", .fd = -1, .frame_order = 18,
			 .first_pfn = GM_PFN_HUGE_BASE + PFN_1G_OFFSET,
			 .lock = PTHREAD_MUTEX_INITIALIZER },
};

_Static_assert(sizeof(struct gm_frame) <= 16, "frame metadata over budget");

/* Ids of frame owners: part of the pools' state, like their counters. */
static _Atomic uint32_t next_owner_id = 1;

uint32_t gm_pmem_new_owner_id(void)
{
	return atomic_fetch_add(&next_owner_id, 1);
}

size_t gm_pmem_frame_meta_size(void)
{
	return sizeof(struct gm_frame);
}

static void *alloc_meta(uint64_t nr_frames)
{
	void *p = mmap(NULL, nr_frames * sizeof(struct gm_frame), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Caller holds pool->lock. */
static int pool_create_4k(struct pool *pool)
{
	pool->nr_frames = POOL_4K_BYTES >> GM_PAGE_SHIFT;
	pool->nr_chunks = pool->nr_frames / CHUNK_FRAMES;
	pool->fd = memfd_create(pool->name, MFD_CLOEXEC);
	if (pool->fd < 0)
		return -errno;
	if (ftruncate(pool->fd, (off_t)POOL_4K_BYTES) < 0)
		goto err_fd;
	pool->chunks = calloc(pool->nr_chunks, sizeof(*pool->chunks));
	if (!pool->chunks)
		goto err_fd;
	pool->meta = alloc_meta(pool->nr_frames);
	if (!pool->meta)
		goto err_chunks;
	return 0;

err_chunks:
	free(pool->chunks);
	pool->chunks = NULL;
err_fd:
	close(pool->fd);
	pool->fd = -1;
	return -ENOMEM;
}

static int hugetlb_memfd_flags(unsigned int order)
{
	/* MFD_HUGE_SHIFT is 26; the page size's log2 goes above it. */
	return MFD_CLOEXEC | MFD_HUGETLB | ((order + GM_PAGE_SHIFT) << 26);
}

/* Caller holds pool->lock. */
static int pool_create_huge(struct pool *pool, unsigned int nr_slots)
{
	uint64_t slot_bytes = GM_PAGE_SIZE << pool->frame_order;

	pool->fd = memfd_create(pool->name, hugetlb_memfd_flags(pool->frame_order));
	if (pool->fd < 0) {
		pool->why = "the kernel refused a hugetlb memfd of this page size";
		return -ENOMEM;
	}
	if (ftruncate(pool->fd, (off_t)(slot_bytes * nr_slots)) < 0)
		goto err_fd;
	pool->nr_frames = (uint64_t)nr_slots << pool->frame_order;
	pool->slot_used = calloc(nr_slots, 1);
	pool->meta = alloc_meta(pool->nr_frames);
	if (!pool->slot_used || !pool->meta)
		goto err_mem;
	return 0;

err_mem:
	free(pool->slot_used);
	pool->slot_used = NULL;
err_fd:
	close(pool->fd);
	pool->fd = -1;
	pool->why = "could not set up the hugetlb pool";
	return -ENOMEM;
}

/* Create @pool on first use.  Caller holds pool->lock. */
static int pool_ensure(struct pool *pool)
{
	int ret;

	if (pool->fd >= 0)
		return 0;
	if (pool->tried && pool != &pools[GM_POOL_4K])
		return -ENOMEM;
	pool->tried = true;
	if (pool == &pools[GM_POOL_4K])
		return pool_create_4k(pool);
	ret = pool_create_huge(pool, pool == &pools[GM_POOL_2M] ? POOL_2M_SLOTS : POOL_1G_SLOTS);
	/* A later reservation may make it work: let the next call try again. */
	if (ret)
		pool->tried = false;
	return ret;
}

static struct pool *pool_of(gm_pfn_t pfn)
{
	if (pfn < GM_PFN_HUGE_BASE)
		return &pools[GM_POOL_4K];
	if (pfn < GM_PFN_HUGE_BASE + PFN_1G_OFFSET)
		return &pools[GM_POOL_2M];
	return &pools[GM_POOL_1G];
}

struct gm_frame *gm_frame_of(gm_pfn_t pfn)
{
	struct pool *pool = pool_of(pfn);
	uint64_t i = pfn - pool->first_pfn;

	if (!pool->meta || i >= pool->nr_frames)
		return NULL;
	return &pool->meta[i];
}

/* ---- the 4 KiB pool's chunk bitmaps; caller holds pool->lock ---- */

static bool chunk_range_free(const struct chunk *c, unsigned int pos, unsigned int n)
{
	for (unsigned int i = pos; i < pos + n; i++)
		if (c->used[i / 64] & (1ULL << (i % 64)))
			return false;
	return true;
}

static void chunk_range_set(struct chunk *c, unsigned int pos, unsigned int n, bool used)
{
	for (unsigned int i = pos; i < pos + n; i++) {
		if (used)
			c->used[i / 64] |= 1ULL << (i % 64);
		else
			c->used[i / 64] &= ~(1ULL << (i % 64));
	}
	c->nr_used = used ? c->nr_used + n : c->nr_used - n;
}

/* First free aligned block of @n frames in chunk @c, or -1. */
static int chunk_find(const struct chunk *c, unsigned int n)
{
	if (CHUNK_FRAMES - c->nr_used < n)
		return -1;
	for (unsigned int pos = 0; pos < CHUNK_FRAMES; pos += n) {
		if (n < 64 && c->used[pos / 64] == ~0ULL) {
			pos = (pos / 64) * 64 + 64 - n;
			continue;
		}
		if (chunk_range_free(c, pos, n))
			return (int)pos;
	}
	return -1;
}

static void take_4k(struct pool *pool, uint64_t chunk, unsigned int pos,
		    unsigned int order, gm_pfn_t *pfn)
{
	unsigned int n = 1U << order;

	chunk_range_set(&pool->chunks[chunk], pos, n, true);
	if (chunk >= pool->next_fresh)
		pool->next_fresh = chunk + 1;
	*pfn = chunk * CHUNK_FRAMES + pos;
}

static int64_t find_empty_chunk(struct pool *pool)
{
	if (pool->next_fresh < pool->nr_chunks)
		return (int64_t)pool->next_fresh;
	for (uint64_t c = 0; c < pool->nr_chunks; c++)
		if (pool->chunks[c].nr_used == 0)
			return (int64_t)c;
	return -1;
}

static int alloc_4k(struct pool *pool, unsigned int order, gm_pfn_t near, gm_pfn_t *pfn)
{
	unsigned int n = 1U << order;
	int64_t empty;
	int pos;

	if (near != GM_PFN_NONE && near < pool->nr_frames && !(near & (n - 1))) {
		uint64_t c = near / CHUNK_FRAMES;

		if (chunk_range_free(&pool->chunks[c], near % CHUNK_FRAMES, n)) {
			take_4k(pool, c, near % CHUNK_FRAMES, order, pfn);
			return 0;
		}
	}
	pos = chunk_find(&pool->chunks[pool->cursor], n);
	if (pos >= 0) {
		take_4k(pool, pool->cursor, (unsigned int)pos, order, pfn);
		return 0;
	}
	empty = find_empty_chunk(pool);
	if (empty >= 0) {
		pool->cursor = (uint64_t)empty;
		take_4k(pool, (uint64_t)empty, 0, order, pfn);
		return 0;
	}
	for (uint64_t c = 0; c < pool->nr_chunks; c++) {
		pos = chunk_find(&pool->chunks[c], n);
		if (pos >= 0) {
			pool->cursor = c;
			take_4k(pool, c, (unsigned int)pos, order, pfn);
			return 0;
		}
	}
	return -ENOMEM;
}

static int alloc_huge(struct pool *pool, gm_pfn_t *pfn)
{
	uint64_t slot_bytes = GM_PAGE_SIZE << pool->frame_order;
	uint64_t nr_slots = pool->nr_frames >> pool->frame_order;

	for (uint64_t s = 0; s < nr_slots; s++) {
		if (pool->slot_used[s])
			continue;
		/* fallocate makes the kernel take a huge page now or say no. */
		if (fallocate(pool->fd, 0, (off_t)(s * slot_bytes), (off_t)slot_bytes) < 0)
			return -ENOMEM;
		pool->slot_used[s] = 1;
		*pfn = pool->first_pfn + (s << pool->frame_order);
		return 0;
	}
	return -ENOMEM;
}

static void mark_one(struct pool *pool, gm_pfn_t pfn, unsigned int order)
{
	struct gm_frame *f = &pool->meta[pfn - pool->first_pfn];

	/* pins stay as they are: a racing lookup may hold a short stray pin. */
	atomic_store_explicit(&f->file_id, 0, memory_order_relaxed);
	atomic_store_explicit(&f->index, 0, memory_order_relaxed);
	atomic_store_explicit(&f->flags, GM_FRAME_ALLOCATED | (order << GM_FRAME_ORDER_SHIFT),
			      memory_order_release);
}

/* Mark a block allocated: as one block, or (@split) as 2^order 4 KiB ones. */
static void mark_allocated(struct pool *pool, gm_pfn_t pfn, unsigned int order, bool split)
{
	if (!split)
		mark_one(pool, pfn, order);
	else
		for (uint64_t i = 0; i < (1ULL << order); i++)
			mark_one(pool, pfn + i, 0);
	atomic_fetch_add(&pool->in_use, (int64_t)1 << order);
}

static bool order_fits(enum gm_pool_id id, unsigned int order)
{
	switch (id) {
	case GM_POOL_4K:
		return order <= GM_PMEM_MAX_ORDER;
	case GM_POOL_2M:
		return order == GM_HUGE_2M_ORDER;
	case GM_POOL_1G:
		return order == GM_HUGE_1G_ORDER;
	default:
		return false;
	}
}

int gm_pmem_alloc(enum gm_pool_id id, unsigned int order, gm_pfn_t near, gm_pfn_t *pfn)
{
	struct pool *pool;
	int ret;

	if ((unsigned int)id >= GM_NR_POOLS || !order_fits(id, order) || !pfn)
		return -EINVAL;
	pool = &pools[id];
	pthread_mutex_lock(&pool->lock);
	ret = pool_ensure(pool);
	if (ret)
		goto out;
	if (id == GM_POOL_4K)
		ret = alloc_4k(pool, order, near, pfn);
	else
		ret = alloc_huge(pool, pfn);
	if (!ret)
		mark_allocated(pool, *pfn, order, false);
out:
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

int gm_pmem_alloc_split(unsigned int order, gm_pfn_t *pfn)
{
	struct pool *pool = &pools[GM_POOL_4K];
	int ret;

	if (order > GM_PMEM_MAX_ORDER || !pfn)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	ret = pool_ensure(pool);
	if (!ret)
		ret = alloc_4k(pool, order, GM_PFN_NONE, pfn);
	if (!ret)
		mark_allocated(pool, *pfn, order, true);
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

int gm_pmem_alloc_fresh_chunk(unsigned int order, unsigned int offset, gm_pfn_t *pfn)
{
	struct pool *pool = &pools[GM_POOL_4K];
	int64_t empty;
	int ret;

	if (order > GM_PMEM_MAX_ORDER || offset >= CHUNK_FRAMES ||
	    (offset & ((1U << order) - 1)) || !pfn)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	ret = pool_ensure(pool);
	if (ret)
		goto out;
	empty = find_empty_chunk(pool);
	if (empty < 0) {
		ret = -ENOMEM;
		goto out;
	}
	take_4k(pool, (uint64_t)empty, offset, order, pfn);
	mark_allocated(pool, *pfn, order, false);
out:
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

static int punch(struct pool *pool, gm_pfn_t pfn, uint64_t nr)
{
	off_t off = (off_t)((pfn - pool->first_pfn) << GM_PAGE_SHIFT);

	if (fallocate(pool->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      (off_t)(nr << GM_PAGE_SHIFT)) < 0)
		return -errno;
	return 0;
}

/* Is [pfn, pfn + 2^order) exactly one allocated block?  Under pool->lock. */
static bool is_block(struct pool *pool, gm_pfn_t pfn, unsigned int order)
{
	struct gm_frame *f = gm_frame_of(pfn);
	unsigned int flags;

	if (!f || ((pfn - pool->first_pfn) & ((1ULL << order) - 1)))
		return false;
	flags = atomic_load(&f->flags);
	return (flags & GM_FRAME_ALLOCATED) && gm_frame_flags_order(flags) == order;
}

/* Forget the block at @pfn (already punched).  Under pool->lock. */
static void release_block(struct pool *pool, gm_pfn_t pfn, unsigned int order)
{
	uint64_t i = pfn - pool->first_pfn;

	atomic_store(&pool->meta[i].flags, 0);
	if (pool->chunks)
		chunk_range_set(&pool->chunks[i / CHUNK_FRAMES], i % CHUNK_FRAMES, 1U << order, false);
	else
		pool->slot_used[i >> pool->frame_order] = 0;
	atomic_fetch_sub(&pool->in_use, (int64_t)1 << order);
}

int gm_pmem_free(gm_pfn_t pfn, unsigned int order)
{
	struct pool *pool = pool_of(pfn);
	int ret;

	pthread_mutex_lock(&pool->lock);
	if (pool->fd < 0 || !is_block(pool, pfn, order)) {
		ret = -EINVAL;
		goto out;
	}
	ret = punch(pool, pfn, 1ULL << order);
	if (!ret)
		release_block(pool, pfn, order);
out:
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

int gm_pmem_free_run(gm_pfn_t pfn, uint64_t nr)
{
	struct pool *pool = &pools[GM_POOL_4K];
	int ret = 0;

	if (!nr || pfn >= GM_PFN_HUGE_BASE || nr > GM_PFN_HUGE_BASE - pfn)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	for (uint64_t i = 0; i < nr && !ret; i++)
		if (pool->fd < 0 || !is_block(pool, pfn + i, 0))
			ret = -EINVAL;
	/* One hole for the whole run: a syscall per frame is what this saves. */
	if (!ret)
		ret = punch(pool, pfn, nr);
	for (uint64_t i = 0; i < nr && !ret; i++)
		release_block(pool, pfn + i, 0);
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

int64_t gm_pmem_frames_in_use(enum gm_pool_id id)
{
	if ((unsigned int)id >= GM_NR_POOLS)
		return -EINVAL;
	return atomic_load(&pools[id].in_use);
}

int64_t gm_pmem_capacity(enum gm_pool_id id)
{
	switch (id) {
	case GM_POOL_4K:
		return (int64_t)(POOL_4K_BYTES >> GM_PAGE_SHIFT);
	case GM_POOL_2M:
		return (int64_t)POOL_2M_SLOTS << GM_HUGE_2M_ORDER;
	case GM_POOL_1G:
		return (int64_t)POOL_1G_SLOTS << GM_HUGE_1G_ORDER;
	default:
		return -EINVAL;
	}
}

gm_pfn_t gm_pmem_folio_head(gm_pfn_t pfn)
{
	struct pool *pool = pool_of(pfn);

	return pfn & ~((1ULL << pool->frame_order) - 1);
}

static long read_sysfs_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int64_t gm_pmem_huge_free(enum gm_pool_id id)
{
	const char *path;
	long free_pages;

	if (id == GM_POOL_2M)
		path = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	else if (id == GM_POOL_1G)
		path = "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages";
	else
		return -EINVAL;
	free_pages = read_sysfs_long(path);
	return free_pages < 0 ? -ENOENT : free_pages;
}

int gm_pmem_huge_available(enum gm_pool_id id, const char **why)
{
	int64_t free_pages = gm_pmem_huge_free(id);
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (free_pages == -EINVAL)
		*why = "not a huge pool";
	else if (free_pages < 0)
		*why = "the host kernel has no huge pages of this size";
	else if (free_pages == 0)
		*why = "no free huge pages of this size (reserve some in /proc/sys/vm/nr_hugepages"
		       " or /sys/kernel/mm/hugepages/*/nr_hugepages)";
	return free_pages > 0;
}

/* Are frames [first, last] of @pool all allocated?  Takes pool->lock. */
static bool frames_allocated(struct pool *pool, gm_pfn_t first, gm_pfn_t last)
{
	bool ok;

	pthread_mutex_lock(&pool->lock);
	ok = pool->fd >= 0;
	for (gm_pfn_t p = first; ok && p <= last; p++) {
		uint64_t i = p - pool->first_pfn;

		if (pool->chunks)
			ok = pool->chunks[i / CHUNK_FRAMES].used[(i % CHUNK_FRAMES) / 64] &
			     (1ULL << (i % 64));
		else
			ok = pool->slot_used[i >> pool->frame_order];
	}
	pthread_mutex_unlock(&pool->lock);
	return ok;
}

/* Check that [pfn, +off+len) lies in allocated frames of one pool. */
static struct pool *io_pool(gm_pfn_t pfn, size_t off, size_t len)
{
	struct pool *pool = pool_of(pfn);
	uint64_t last = pfn + ((off + len - (len ? 1 : 0)) >> GM_PAGE_SHIFT);
	struct gm_frame *first = gm_frame_of(pfn);
	struct gm_frame *end = gm_frame_of(last);

	if (!first || !end || pool_of(last) != pool || !frames_allocated(pool, pfn, last))
		return NULL;
	return pool;
}

int gm_pmem_read(gm_pfn_t pfn, size_t off, void *buf, size_t len)
{
	struct pool *pool = io_pool(pfn, off, len);
	off_t pos;
	ssize_t n;

	if (!pool)
		return -EINVAL;
	pos = (off_t)(((pfn - pool->first_pfn) << GM_PAGE_SHIFT) + off);
	while (len) {
		n = pread(pool->fd, buf, len, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

/* hugetlbfs has no write(): copy through a short-lived mapping of the slot. */
static int write_huge(struct pool *pool, gm_pfn_t pfn, size_t off, const void *buf, size_t len)
{
	uint64_t slot_bytes = GM_PAGE_SIZE << pool->frame_order;
	uint64_t byte = ((pfn - pool->first_pfn) << GM_PAGE_SHIFT) + off;
	uint64_t slot_start = byte & ~(slot_bytes - 1);
	uint64_t map_len = ((byte + len - slot_start) + slot_bytes - 1) & ~(slot_bytes - 1);
	char *p;

	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, pool->fd, (off_t)slot_start);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p + (byte - slot_start), buf, len);
	munmap(p, map_len);
	return 0;
}

int gm_pmem_write(gm_pfn_t pfn, size_t off, const void *buf, size_t len)
{
	struct pool *pool = io_pool(pfn, off, len);
	off_t pos;
	ssize_t n;

	if (!pool)
		return -EINVAL;
	if (pool->frame_order)
		return write_huge(pool, pfn, off, buf, len);
	pos = (off_t)((pfn << GM_PAGE_SHIFT) + off);
	while (len) {
		n = pwrite(pool->fd, buf, len, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const char *)buf + n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

int gm_pmem_map(gm_pfn_t pfn, size_t nr, void *addr, int prot)
{
	struct pool *pool = pool_of(pfn);
	off_t off = (off_t)((pfn - pool->first_pfn) << GM_PAGE_SHIFT);
	void *p;

	if (pool->fd < 0 || !gm_frame_of(pfn) || !nr)
		return -EINVAL;
	p = mmap(addr, nr << GM_PAGE_SHIFT, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE, pool->fd, off);
	return p == MAP_FAILED ? -errno : 0;
}

/* ---- pins ---- */

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/*
 * Pins meet removers Dekker-style: a pinner increments the count and then
 * re-reads the page index; a remover clears the index entry and then reads
 * the count.  Both sides are seq_cst so that one of them sees the other.
 */
void gm_frame_lock(gm_pfn_t pfn)
{
	atomic_fetch_add(&gm_frame_of(pfn)->pins, 1);
}

void gm_frame_unlock(gm_pfn_t pfn)
{
	struct gm_frame *f = gm_frame_of(pfn);
	uint32_t old = atomic_fetch_sub(&f->pins, 1), waiter = GM_PINS_WAITER;

	/* The last unpin clears the waiter bit and wakes whoever set it. */
	if (old == (GM_PINS_WAITER | 1)) {
		atomic_compare_exchange_strong(&f->pins, &waiter, 0);
		futex(&f->pins, FUTEX_WAKE_PRIVATE, INT_MAX);
	}
}

void gm_frame_wait_unlocked(gm_pfn_t pfn)
{
	struct gm_frame *f = gm_frame_of(pfn);
	uint32_t v;

	for (;;) {
		v = atomic_load(&f->pins);
		if ((v & ~GM_PINS_WAITER) == 0)
			return;
		if (!(v & GM_PINS_WAITER) &&
		    !atomic_compare_exchange_weak(&f->pins, &v, v | GM_PINS_WAITER))
			continue;
		futex(&f->pins, FUTEX_WAIT_PRIVATE, v | GM_PINS_WAITER);
	}
}

uint32_t gm_frame_pins(gm_pfn_t pfn)
{
	struct gm_frame *f = gm_frame_of(pfn);

	return f ? atomic_load(&f->pins) & ~GM_PINS_WAITER : 0;
}

void gm_frame_set_owner(gm_pfn_t pfn, uint32_t file_id, uint32_t index)
{
	struct gm_frame *f = gm_frame_of(pfn);

	atomic_store_explicit(&f->file_id, file_id, memory_order_relaxed);
	atomic_store_explicit(&f->index, index, memory_order_relaxed);
}

int gm_frame_owner(gm_pfn_t pfn, uint32_t *file_id, uint32_t *index)
{
	struct gm_frame *f = gm_frame_of(pfn);
	/* A huge folio's flags live on its head frame only. */
	struct gm_frame *head = gm_frame_of(gm_pmem_folio_head(pfn));

	if (!f || !(atomic_load(&head->flags) & GM_FRAME_ALLOCATED))
		return -ENOENT;
	*file_id = atomic_load_explicit(&f->file_id, memory_order_relaxed);
	*index = atomic_load_explicit(&f->index, memory_order_relaxed);
	return 0;
}
