/* SPDX-License-Identifier: MIT */
/*
 * pmem: host frames for guest-only memory.
 *
 * A frame number (pfn) names one 4 KiB frame of a process-wide pool.  Two
 * pools exist: the 4 KiB pool (one sparse memfd, always present) and the huge
 * pool (hugetlb memfds, present only where the host has huge pages reserved).
 * Huge-pool frames are numbered from GM_PFN_HUGE_BASE up, so a pfn alone says
 * which pool it belongs to.
 *
 * A freshly allocated frame always reads zero: freeing punches a hole in the
 * backing memfd, which hands the memory back to the OS.
 */
#ifndef GUESTMEM_PMEM_H
#define GUESTMEM_PMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t gm_pfn_t;

#define GM_PAGE_SHIFT		12
#define GM_PAGE_SIZE		(1UL << GM_PAGE_SHIFT)
#define GM_HUGE_2M_ORDER	9
#define GM_HUGE_1G_ORDER	18
/* The largest order the 4 KiB pool hands out: one aligned 2 MiB chunk. */
#define GM_PMEM_MAX_ORDER	GM_HUGE_2M_ORDER

/* First pfn of the huge pool; 4 KiB-pool pfns are all below it. */
#define GM_PFN_HUGE_BASE	(1ULL << 40)
/* An impossible pfn, for "no frame". */
#define GM_PFN_NONE		UINT64_MAX

enum gm_pool_id {
	GM_POOL_4K,
	GM_POOL_2M,
	GM_POOL_1G,
	GM_NR_POOLS,
};

/**
 * gm_pmem_alloc - allocate 2^@order naturally aligned frames from a pool.
 * @pool: GM_POOL_4K (orders 0..9), GM_POOL_2M (order 9) or GM_POOL_1G (order 18).
 * @order: log2 of the number of 4 KiB frames.
 * @near: a pfn to try first (the allocation is placed exactly there when those
 *        frames are free), or GM_PFN_NONE.  Used to keep a file's neighbouring
 *        pages on neighbouring frames.
 * @pfn: on success, the first frame.
 *
 * Return: 0, or -EINVAL (bad pool or order), -ENOMEM (pool exhausted, or the
 * huge pool absent because the host has no huge pages free).
 */
int gm_pmem_alloc(enum gm_pool_id pool, unsigned int order, gm_pfn_t near,
		  gm_pfn_t *pfn);

/**
 * gm_pmem_alloc_split - like gm_pmem_alloc(GM_POOL_4K, @order, GM_PFN_NONE)
 * but each frame of the block is its own order-0 allocation, to be freed one
 * by one.  Used to populate a whole 2 MiB file range on one chunk at once.
 * Return: as gm_pmem_alloc().
 */
int gm_pmem_alloc_split(unsigned int order, gm_pfn_t *pfn);

/**
 * gm_pmem_alloc_fresh_chunk - allocate an order-@order block of the 4 KiB pool
 * inside a 2 MiB chunk that is otherwise empty, so that later allocations
 * placed @near it can fill the chunk.
 *
 * Return: as gm_pmem_alloc(); -ENOMEM also when no empty chunk is left.
 */
int gm_pmem_alloc_fresh_chunk(unsigned int order, unsigned int offset,
			      gm_pfn_t *pfn);

/**
 * gm_pmem_free - return frames to their pool; they read zero when reused.
 * The caller must hold no lock on them (see gm_frame_lock()).
 *
 * Return: 0, or -EINVAL when @pfn/@order do not name an allocated block.
 */
int gm_pmem_free(gm_pfn_t pfn, unsigned int order);

/**
 * gm_pmem_free_run - free @nr consecutive 4 KiB-pool frames, each its own
 * order-0 block, with one hole punch.
 * Return: 0, or -EINVAL (some frame is not an allocated order-0 block:
 * nothing is freed).
 */
int gm_pmem_free_run(gm_pfn_t pfn, uint64_t nr);

/**
 * gm_pmem_frames_in_use - 4 KiB frames currently allocated from @pool.
 * Return: the count, or -EINVAL for an unknown pool.
 */
int64_t gm_pmem_frames_in_use(enum gm_pool_id pool);

/**
 * gm_pmem_capacity - the most 4 KiB frames @pool can address (whether or
 * not the host has the memory, or huge pages, to back them).
 * Return: the count, or -EINVAL for an unknown pool.
 */
int64_t gm_pmem_capacity(enum gm_pool_id pool);

/**
 * gm_pmem_folio_head - the first frame of the folio holding @pfn: @pfn
 * itself in the 4 KiB pool, the huge page's first frame in a huge pool.
 */
gm_pfn_t gm_pmem_folio_head(gm_pfn_t pfn);

/**
 * gm_pmem_huge_free - huge pages of @pool's size that the host has free now.
 * Return: the count, -EINVAL (not a huge pool), -ENOENT (no such size here).
 */
int64_t gm_pmem_huge_free(enum gm_pool_id pool);

/**
 * gm_pmem_huge_available - whether @pool (2M or 1G) can hand out frames now,
 * and if not why, as a static string in @why (may be NULL).
 * Return: 1 (yes), 0 (no).
 */
int gm_pmem_huge_available(enum gm_pool_id pool, const char **why);

/**
 * gm_pmem_read / gm_pmem_write - copy bytes out of or into allocated frames
 * with pread/pwrite on the pool file (no standing mapping is used).
 * @pfn: first frame; @off + @len must stay inside the frames' block.
 * Return: 0, or -EINVAL (unallocated frame), or the negative errno of the I/O.
 */
int gm_pmem_read(gm_pfn_t pfn, size_t off, void *buf, size_t len);
int gm_pmem_write(gm_pfn_t pfn, size_t off, const void *buf, size_t len);

/**
 * gm_pmem_map - map @nr frames from @pfn at the fixed host address @addr
 * (MAP_SHARED|MAP_FIXED over whatever was there).  Only a VM's guest window
 * may hold such a mapping: the pool fd itself never leaves the library.
 * Return: 0, or a negative errno from mmap.
 */
int gm_pmem_map(gm_pfn_t pfn, size_t nr, void *addr, int prot);

/**
 * gm_frame_lock / gm_frame_unlock - pin a frame so that it cannot be freed.
 * Pins nest.  gm_frame_wait_unlocked() sleeps until no pin is held.
 */
void gm_frame_lock(gm_pfn_t pfn);
void gm_frame_unlock(gm_pfn_t pfn);
void gm_frame_wait_unlocked(gm_pfn_t pfn);
/** gm_frame_pins - pins held on @pfn now (for tests and assertions). */
uint32_t gm_frame_pins(gm_pfn_t pfn);

/**
 * gm_frame_set_owner / gm_frame_owner - record and read which file (by id)
 * and page index a frame serves.  Used to check that a mapping still points
 * at a frame its file holds.
 * Return (owner): 0 and the values, or -ENOENT for a free frame.
 */
void gm_frame_set_owner(gm_pfn_t pfn, uint32_t file_id, uint32_t index);
int gm_frame_owner(gm_pfn_t pfn, uint32_t *file_id, uint32_t *index);

/**
 * gm_pmem_new_owner_id - a fresh, non-zero id for a file, to be recorded in
 * the metadata of the frames it holds.
 */
uint32_t gm_pmem_new_owner_id(void);

/** Bytes of metadata kept per 4 KiB frame (the budget is 16). */
size_t gm_pmem_frame_meta_size(void);

#ifdef __cplusplus
}
#endif
#endif
