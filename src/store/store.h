/* SPDX-License-Identifier: MIT */
/*
 * Private to the store layer and the layers above it: how a file is laid
 * out, and the guest's path to its pages (which the public API forbids the
 * host).
 */
#ifndef GM_STORE_STORE_H
#define GM_STORE_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "lock-order.h"

struct gm_backing;

/*
 * The binding of a file to its guest, set and cleared by the provider layer.
 * The store only calls ->invalidate; the binding's lifetime is RCU-managed
 * by whoever set it.
 */
struct gm_file_binding {
	void (*invalidate)(struct gm_file_binding *binding, struct gm_file *file,
			   uint64_t start, uint64_t end);
};

/*
 * file->lock is GM_LOCK_FILE in lock-order.h.  The guest's fast path
 * (gm_file_get_lock_pfn on a populated page) takes no lock.
 */
struct gm_file {
	_Atomic unsigned int refcount;
	enum gm_store_kind store;
	uint32_t id;
	unsigned int page_shift;	/* GM_PAGE_SHIFT or GM_HUGE_*_SHIFT */

	pthread_mutex_t lock;		/* serialises every change below */
	_Atomic bool guest;		/* guest-only; never cleared */
	_Atomic unsigned int seals;
	_Atomic int64_t size;
	int fd;				/* kernel memfd / guest_memfd, or -1 */
	unsigned int host_mappings;	/* live gm_mmap()s; under lock */

	/* Guest-only files: their pages (pmem), changed under lock. */
	struct gm_backing *backing;
	_Atomic uint64_t pages_held;

	struct gm_file_binding *_Atomic binding;	/* RCU */

	/* The live gm_mmap()s, all that gm_munmap() unmaps (file.c); under lock. */
	struct gm_host_map *host_maps;
};

/* file.c: a new file of @store with one reference, no fd and no pages, or NULL. */
struct gm_file *gm_file_alloc(enum gm_store_kind store, unsigned int page_shift);

/* ordinary.c: files backed by a kernel memfd. */
int gm_ordinary_create(const char *name, unsigned int flags, struct gm_file *file);
int gm_ordinary_ftruncate(struct gm_file *file, off_t length);
int gm_ordinary_fallocate(struct gm_file *file, int mode, off_t offset, off_t len);
int gm_ordinary_add_seals(struct gm_file *file, unsigned int seals);
int gm_ordinary_get_seals(struct gm_file *file);
/* Turn an empty, unmapped ordinary file guest-only (GM_SEAL_GUEST). */
int gm_ordinary_seal_guest(struct gm_file *file, unsigned int other_seals);

/*
 * guest-only.c: guest-only files backed by pmem.  A file turns guest-only in two
 * steps, so that one that cannot be made so is left as it was: init makes
 * its empty backing (the step that can fail), enable publishes it.  A
 * backing made but never enabled is given back with gm_guest_abandon().
 */
int gm_guest_init(struct gm_file *file);
void gm_guest_enable(struct gm_file *file);
void gm_guest_abandon(struct gm_file *file);
void gm_guest_release(struct gm_file *file);
int gm_guest_ftruncate(struct gm_file *file, off_t length);
int gm_guest_fallocate(struct gm_file *file, int mode, off_t offset, off_t len);
int gm_guest_add_seals(struct gm_file *file, unsigned int seals);

/*
 * The guest's path to a page: the frame of 4 KiB page @index (for every
 * store, hugetlb included), allocating its folio if needed, pinned.  @order: in, the largest folio order the caller can use (a hint
 * for the shmem store to populate a whole 2 MiB chunk); out, the order of
 * the folio returned.
 * Return: 0, -EINVAL (past the end or not guest-only), -ENOMEM/-ENOSPC.
 */
int gm_file_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			 unsigned int *order);
void gm_file_put_unlock_pfn(gm_pfn_t pfn);
/* The largest gm_level mapping at @index (4 KiB index), or -EINVAL. */
int gm_file_mapping_level(struct gm_file *file, uint64_t index);
/*
 * Map bytes [@offset, @offset + @len) of a guest-only file's backing at the
 * fixed host address @addr (a VM window); no page is populated by it.
 * Return: 0, -EFAULT (NULL @file), -EINVAL (not guest-only, unaligned), or mmap's errno.
 */
int gm_file_map_range(struct gm_file *file, uint64_t offset, uint64_t len, void *addr);

/*
 * gm_file_guest_write / gm_file_guest_read - copy bytes into or out of a
 * guest-only file through the guest's path (get_lock_pfn + frame I/O), for
 * tests and the differential test.  Writing allocates pages; reading a hole
 * gives zeroes without allocating.  Both stay within the file's size.
 * Return: 0, or -EINVAL (range past the end, not guest-only), -ENOMEM.
 */
int gm_file_guest_write(struct gm_file *file, uint64_t offset, const void *buf, size_t len);
int gm_file_guest_read(struct gm_file *file, uint64_t offset, void *buf, size_t len);

/* Binding, for the provider layer. */
struct gm_file_binding *gm_file_binding(struct gm_file *file);
/* Install @binding if none is set; -EBUSY otherwise.  Under file->lock. */
int gm_file_bind(struct gm_file *file, struct gm_file_binding *binding);
/* Clear @binding (must be the current one); the caller waits for RCU. */
int gm_file_unbind(struct gm_file *file, struct gm_file_binding *binding);
/* Tell the bound guest that [start, end) (4 KiB indexes) loses its pages. */
void gm_file_invalidate(struct gm_file *file, uint64_t start, uint64_t end);

#endif
