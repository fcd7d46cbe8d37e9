/* SPDX-License-Identifier: MIT */
/*
 * pmem: host memory for guest-only files (private to the library).
 *
 * Each guest-only file has one *backing*: a sparse memfd (4 KiB pages) or a
 * hugetlb memfd (2 MiB or 1 GiB pages) of its own, in which page @index
 * lives at byte @index * 4 KiB.  A memslot's private window is therefore
 * one host mapping of the backing, whatever the guest faults, converts or
 * punches, and freeing a page is a hole punch that the kernel carries out
 * in every mapping at once: a freed page can never stay reachable, and the
 * kernel hands it out zeroed again.
 *
 * A frame number (pfn) names one 4 KiB page of one backing: the backing's
 * id in the high bits, the page index in the low GM_PMEM_INDEX_BITS.  Pfns
 * are unique in the process while their backing lives, and one kept past
 * that names no page (ids carry a generation: ids.c).
 *
 * Per-page metadata is one 16-bit word per folio (present, doomed, up to
 * GM_PMEM_MAX_PINS pins), kept in leaves of 512 folios under a fixed-depth
 * radix tree; leaves and nodes exist only while one of their folios is
 * present or pinned: about 2 bytes per 4 KiB page held, given back with
 * the pages.
 *
 * Locking: changes to a backing (alloc, unpublish, release) are serialised
 * by its owner (the store's file lock).  Lookups and pins take no lock: a
 * pin is a compare-and-swap on the folio's word that succeeds only while
 * the folio is present, so a pin and an unpublish cannot both miss each
 * other.  Nothing here waits for a pin, and nothing holds a lock across a
 * system call that another backing needs.
 */
#ifndef GM_PMEM_PMEM_H
#define GM_PMEM_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestmem/provider.h>

/* Page-index bits of a pfn: a backing spans 2^36 pages (256 TiB). */
#define GM_PMEM_INDEX_BITS	36
#define GM_PMEM_MAX_PAGES	(1ULL << GM_PMEM_INDEX_BITS)

struct gm_backing;

/**
 * gm_backing_create - a new, empty backing whose folios are 2^@order 4 KiB
 * pages (0: sparse memfd; 9 or 18: hugetlb memfd).  Its memfd is created on
 * first use, so that empty files cost no file descriptor.
 * Return: 0, or -EINVAL (order), -EMFILE (no id left), -ENOMEM.
 */
int gm_backing_create(unsigned int order, struct gm_backing **bp);

/**
 * gm_backing_destroy - free every page and the backing itself.  No page
 * may be pinned any more and no window may map it.
 */
void gm_backing_destroy(struct gm_backing *b);

/** gm_backing_order - the folio order given at creation. */
unsigned int gm_backing_order(const struct gm_backing *b);

/** gm_backing_pfn - the pfn of page @index. */
gm_pfn_t gm_backing_pfn(const struct gm_backing *b, uint64_t index);

/**
 * gm_backing_alloc - allocate (zeroed) and publish the folios covering
 * pages [@index, @index + @nr); both must be folio-aligned.  Folios already
 * present are left as they are.  Caller serialises changes.
 * Return: the number of 4 KiB pages newly published, or -EINVAL, -ENOMEM
 * (host out of memory or huge pages: nothing new is published), -ENOSPC
 * (past gm_pmem_set_limit()'s limit: nothing new is published), -EAGAIN
 * (a folio of the range was freed while pinned and is not gone yet: try
 * again once the pin is dropped), or the negative errno of creating the
 * memfd.
 */
int64_t gm_backing_alloc(struct gm_backing *b, uint64_t index, uint64_t nr);

/**
 * gm_backing_unpublish - first step of freeing [@start, @end) (folio
 * aligned): no pin can be taken on those folios from now on.  A folio
 * still pinned is doomed: its last gm_pfn_unpin() punches it.
 * Return: the number of 4 KiB pages that were present.
 */
uint64_t gm_backing_unpublish(struct gm_backing *b, uint64_t start, uint64_t end);

/**
 * gm_backing_release - second step: punch the unpublished folios of
 * [@start, @end) out of the memfd (and so out of every mapping), but for
 * the doomed ones, whose last unpin does it, and give back metadata no
 * longer needed.  Never waits.  Return: the number of doomed folios left
 * in the range (0: all gone), or the negative errno of a punch.
 */
int gm_backing_release(struct gm_backing *b, uint64_t start, uint64_t end);

/**
 * gm_backing_doomed - how many folios of [@start, @end) are doomed now:
 * freed, but still in the memfd (and in mappings) until their last unpin.
 * Lock-free; for a remover that waits for them with no lock held.
 */
uint64_t gm_backing_doomed(struct gm_backing *b, uint64_t start, uint64_t end);

/** gm_backing_present - is page @index's folio present? */
bool gm_backing_present(struct gm_backing *b, uint64_t index);

/* Pins one folio can hold at once: a pin past them is refused. */
#define GM_PMEM_MAX_PINS	16383

/**
 * gm_backing_lookup_pin - pin page @index's folio if it is present.
 * Return: the pfn of page @index, or GM_PFN_NONE (a hole, or a folio
 * holding GM_PMEM_MAX_PINS pins: nothing pinned).
 */
gm_pfn_t gm_backing_lookup_pin(struct gm_backing *b, uint64_t index);

/**
 * gm_backing_full_2m - are all 512 pages of the aligned 2 MiB range
 * holding @index present?  (Always true of a present huge folio.)
 */
bool gm_backing_full_2m(struct gm_backing *b, uint64_t index);

/**
 * gm_pfn_unpin - drop a pin taken by gm_backing_lookup_pin(); the last pin
 * of a doomed folio punches it.  A pfn that names no pinned folio (freed
 * backing, or a second unpin) is ignored: the count never goes below zero.
 */
void gm_pfn_unpin(gm_pfn_t pfn);

/** gm_pfn_pins - pins held on the folio of @pfn now (tests, assertions). */
uint32_t gm_pfn_pins(gm_pfn_t pfn);

/**
 * gm_backing_read / gm_backing_write - copy bytes out of or into present
 * pages with pread/pwrite on the memfd (hugetlb: a short-lived mapping).
 * Return: 0, -EINVAL (a page of the range is not present), or the I/O's
 * negative errno.
 */
int gm_backing_read(struct gm_backing *b, uint64_t offset, void *buf, size_t len);
int gm_backing_write(struct gm_backing *b, uint64_t offset, const void *buf, size_t len);

/**
 * gm_backing_map - map bytes [@offset, @offset + @len) of the backing at
 * the fixed host address @addr, shared, read-write, reserving nothing and
 * populating nothing: pages reach the mapping only when the consumer asks.
 * Return: 0, or a negative errno from mmap.
 */
int gm_backing_map(struct gm_backing *b, uint64_t offset, uint64_t len, void *addr);

/**
 * gm_backing_zero - write zeros over present pages [@offset, @offset + @len)
 * in place: nothing is freed, so a huge folio stays one allocation.
 * Return: 0, -EINVAL (a page of the range is not present), or the I/O's
 * negative errno.
 */
int gm_backing_zero(struct gm_backing *b, uint64_t offset, uint64_t len);

/** gm_backing_pins - pins held now on the folio of page @index (0: a hole).  Lock-free. */
uint32_t gm_backing_pins(struct gm_backing *b, uint64_t index);

/**
 * gm_backing_map_host - a host mapping of present pages: map bytes
 * [@offset, @offset + @len) of the backing at the fixed address @addr with
 * the caller's @prot and @flags (MAP_SHARED or MAP_SHARED_VALIDATE and
 * mmap(2)'s modifiers; MAP_FIXED and MAP_NORESERVE are added).  Folio
 * aligned.  The caller maps nothing that is not present: a touch of a
 * hole would allocate behind pmem's back.
 * Return: 0, or a negative errno from mmap.
 */
int gm_backing_map_host(struct gm_backing *b, uint64_t offset, uint64_t len, void *addr,
			int prot, int flags);

/**
 * gm_pmem_map_fault - map @len bytes at the fixed address @addr, with
 * @prot, such that every touch raises SIGBUS: the start of one empty memfd
 * per process, sealed so that it never grows.  (Not a backing past its
 * end: a writable mapping past the end of a hugetlb memfd grows it, and
 * the touch then allocates a page.)  Its fd is made on first use and kept.
 * Return: 0, or a negative errno from memfd_create or mmap.
 */
int gm_pmem_map_fault(void *addr, uint64_t len, int prot);

/** gm_pmem_frames_in_use - 4 KiB pages present in all backings of @order. */
int64_t gm_pmem_frames_in_use(unsigned int order);

/** gm_pmem_meta_bytes - bytes of page metadata allocated now, all backings. */
int64_t gm_pmem_meta_bytes(void);

/*
 * gm_pmem_set_limit - at most @pages 4 KiB frames in all backings together
 * (0: no limit).  gm_backing_alloc() past it is -ENOSPC, nothing allocated.
 * gm_pmem_limit - the limit now.
 */
void gm_pmem_set_limit(uint64_t pages);
uint64_t gm_pmem_limit(void);

/*
 * huge.c: the host's huge pages of 2^@order 4 KiB pages (9 or 18).
 * gm_pmem_huge_free: how many are free now; -EINVAL (order), -ENOENT (the
 * kernel has no such size).  gm_pmem_huge_available: 1 when some are free,
 * else 0 with why in *@why.
 */
int64_t gm_pmem_huge_free(unsigned int order);
int gm_pmem_huge_available(unsigned int order, const char **why);

#endif
