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

	/*
	 * In-place files (in-place.c).  in_place and init_private are set at
	 * creation and never change.  Bit i of flipped is set while page i is
	 * not in the file's initial state (private, or shared with
	 * GM_MFD_GUEST_INIT_SHARED), so that growing the file touches no
	 * memory; bits from the size on are 0.  flipped and flipped_words
	 * under lock.
	 */
	bool in_place;
	bool init_private;
	uint64_t *flipped;
	uint64_t flipped_words;		/* room, in 64-page words */
};

/* A live gm_mmap(): gm_munmap() takes back these and nothing else. */
struct gm_host_map {
	struct gm_host_map *next;
	void *addr;
	size_t length;		/* rounded up to the file's page size */
	uint64_t offset;	/* in the file */
	uint64_t hold_end;	/* GM_MAP_HOLD_SIZE: the size it keeps; else 0 */
	int prot, flags;	/* as given, to remake a part of it (in place) */
};

/* file.c: a new file of @store with one reference, no fd and no pages, or NULL. */
struct gm_file *gm_file_alloc(enum gm_store_kind store, unsigned int page_shift);
/* file.c: @length as the kernel maps it, whole pages of the file; 0 stays 0. */
size_t gm_file_map_length(struct gm_file *file, size_t length);
/* file.c: record @map as a live mapping of @file.  Caller holds file->lock. */
void gm_file_add_host_map(struct gm_file *file, struct gm_host_map *map);

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
 * Allocate the folios of pages [@index, @index + @nr) (folio aligned) that
 * are holes, all or nothing.  Caller holds file->lock.  Return: 0, -ENOMEM,
 * -ENOSPC (the limit), -EAGAIN (a folio freed under a pin is not gone yet:
 * wait with gm_guest_wait_doomed(), the lock dropped).
 */
int gm_guest_alloc_pages(struct gm_file *file, uint64_t index, uint64_t nr);
/* Wait (a bounded time) until no folio of [@start, @end) is doomed.  Without file->lock. */
void gm_guest_wait_doomed(struct gm_file *file, uint64_t start, uint64_t end);

/*
 * in-place.c: in-place files (GM_MFD_GUEST_MMAP).  Each is a guest-only
 * file too; these are the parts where it differs.
 */
void gm_inplace_init(struct gm_file *file, bool init_shared);
void gm_inplace_release(struct gm_file *file);
/*
 * The size goes from @old_pages to @new_pages: make room for the state bits
 * of the pages added (they start in the initial state), or put those past
 * the new end back in it.  Caller holds file->lock and changes the size
 * only if this returns 0; growing and then not changing it leaves nothing
 * to undo.  Return: 0, -ENOMEM.
 */
int gm_inplace_resize(struct gm_file *file, uint64_t old_pages, uint64_t new_pages);
/* Does a host mapping cover a page of [@start, @end)?  Caller holds file->lock. */
bool gm_inplace_mapped(struct gm_file *file, uint64_t start, uint64_t end);
/* Does a host mapping allow writes to the file?  Caller holds file->lock. */
bool gm_inplace_mapped_writable(struct gm_file *file);
ssize_t gm_inplace_pread(struct gm_file *file, void *buf, size_t count, uint64_t offset);
ssize_t gm_inplace_pwrite(struct gm_file *file, const void *buf, size_t count, uint64_t offset);
/*
 * gm_mmap() of an in-place file: maps, records @map and sets *@addrp under
 * file->lock, or fails and leaves @map to the caller to free.
 */
int gm_inplace_mmap(struct gm_file *file, struct gm_host_map *map, size_t length, int prot,
		    int flags, off_t offset, void **addrp);
/*
 * Convert pages [@index, @index + @n) to private or shared: the owner's
 * set_attributes (the provider checks that an owner holds the file) and,
 * after its own checks, gm_file_set_attributes().
 * Return: 0, or -EINVAL (not in place, past the end, unknown policy),
 * -EAGAIN (to private: a page mapped or pinned, in *@error_index), -EPERM
 * (GM_CONVERT_ZERO on a write-sealed file), -ENOMEM/-ENOSPC/-EBUSY (a page a
 * host mapping is to show cannot be allocated), or mmap's errno.
 */
int gm_file_convert(struct gm_file *file, uint64_t index, uint64_t n, bool private,
		    unsigned int policy, uint64_t *error_index);

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
