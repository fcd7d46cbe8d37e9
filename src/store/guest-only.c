/* SPDX-License-Identifier: MIT */
/*
 * Guest-only files: Linux memfd semantics rebuilt over a pmem backing.
 *
 * Locking: file->lock serialises every change of size, seals and pages.
 * The guest's lookup of a populated page takes no lock: pmem pins a folio
 * only while it is present, and a remover unpublishes before it waits for
 * pins, so the two cannot miss each other.
 *
 * A range loses its pages in three steps, in this order: they are
 * unpublished (no new pin), the bound guest is told (invalidate), and pmem
 * punches them out of the backing, which takes them out of every window at
 * once.  A page still pinned then (a fault between its lookup and its
 * sequence check) is punched by its last unpin instead, and cannot be
 * allocated again before that; the punch or truncate waits for that with
 * file->lock dropped (gm_guest_wait_doomed).  So no guest mapping or pin
 * can outlive the page it names, and no pin holder is waited for under a
 * lock.
 *
 * In-place files (in-place.c) are guest-only files too; here they differ
 * only in keeping a page state for each 4 KiB page of their size, and in
 * never taking away a page that a host mapping covers.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmem.h"
#include "store.h"

#define PAGES_2M	(1ULL << GM_HUGE_2M_ORDER)

#define ALL_SEALS (GM_SEAL_SEAL | GM_SEAL_SHRINK | GM_SEAL_GROW | GM_SEAL_WRITE | \
		   GM_SEAL_FUTURE_WRITE | GM_SEAL_GUEST)

/* 4 KiB pages per folio of this file: 1, 512 or 262144. */
static uint64_t folio_pages(const struct gm_file *file)
{
	return 1ULL << (file->page_shift - GM_PAGE_SHIFT);
}

/* The most a backing can address: 256 TiB. */
static uint64_t max_bytes(const struct gm_file *file)
{
	return GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT;
}

static uint64_t size_pages(struct gm_file *file)
{
	return (uint64_t)atomic_load(&file->size) >> GM_PAGE_SHIFT;
}

/* ---- allocation ---- */

/* Publish [index, index + nr) (folio aligned).  Under file->lock.  Return: 0 or -errno. */
int gm_guest_alloc_pages(struct gm_file *file, uint64_t index, uint64_t nr)
{
	int64_t added;

	gm_lock_assert_held(GM_LOCK_FILE);
	added = gm_backing_alloc(file->backing, index, nr);
	if (added < 0)
		return (int)added;
	atomic_fetch_add(&file->pages_held, (uint64_t)added);
	return 0;
}

/*
 * Allocate the folio holding @index.  @want_order 9 lets the shmem store
 * fill the whole 2 MiB range around it at once, when the file covers it.
 * Under file->lock.  Return: 0, -ENOMEM.
 */
static int populate(struct gm_file *file, uint64_t index, unsigned int want_order)
{
	uint64_t n = folio_pages(file), base2m = index & ~(uint64_t)(PAGES_2M - 1);
	int ret;

	gm_lock_assert_held(GM_LOCK_FILE);
	if (n == 1 && want_order >= GM_HUGE_2M_ORDER && base2m + PAGES_2M <= size_pages(file)) {
		ret = gm_guest_alloc_pages(file, base2m, PAGES_2M);
		/* A neighbour still on its way out, or no budget for 2 MiB: the page alone will do. */
		if (ret != -EAGAIN && ret != -ENOSPC)
			return ret;
	}
	return gm_guest_alloc_pages(file, index & ~(n - 1), n);
}

/* ---- the guest's path ---- */

static bool index_in_file(struct gm_file *file, uint64_t index)
{
	return index < size_pages(file);
}

int gm_file_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			 unsigned int *order)
{
	unsigned int want = order ? *order : 0;
	gm_pfn_t found;
	int ret = 0;

	if (!file || !pfn)
		return -EFAULT;
	if (!atomic_load(&file->guest) || !index_in_file(file, index))
		return -EINVAL;
	found = gm_backing_lookup_pin(file->backing, index);
	if (found != GM_PFN_NONE)
		goto out;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (!index_in_file(file, index)) {
		ret = -EINVAL;
		goto unlock;
	}
	found = gm_backing_lookup_pin(file->backing, index);
	if (found == GM_PFN_NONE) {
		/* -EAGAIN: the page was freed under pins still held; it goes with the last. */
		ret = populate(file, index, want);
		if (!ret)
			found = gm_backing_lookup_pin(file->backing, index);
		if (!ret && found == GM_PFN_NONE)
			ret = -EAGAIN;	/* pinned to the limit: GM_PMEM_MAX_PINS */
	}
unlock:
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	if (ret)
		return ret;
out:
	*pfn = found;
	if (order)
		*order = file->page_shift - GM_PAGE_SHIFT;
	return 0;
}

void gm_file_put_unlock_pfn(gm_pfn_t pfn)
{
	gm_pfn_unpin(pfn);
}

int gm_file_mapping_level(struct gm_file *file, uint64_t index)
{
	if (!file)
		return -EFAULT;
	if (!atomic_load(&file->guest) || !index_in_file(file, index))
		return -EINVAL;
	switch (file->page_shift) {
	case 30:
		return GM_LEVEL_1G;
	case 21:
		return GM_LEVEL_2M;
	default:
		return gm_backing_full_2m(file->backing, index) ? GM_LEVEL_2M : GM_LEVEL_4K;
	}
}

int gm_file_map_range(struct gm_file *file, uint64_t offset, uint64_t len, void *addr)
{
	uint64_t mask;

	if (!file)
		return -EFAULT;
	mask = (1ULL << file->page_shift) - 1;
	if (!atomic_load(&file->guest) || ((offset | len | (uintptr_t)addr) & mask))
		return -EINVAL;
	return gm_backing_map(file->backing, offset, len, addr);
}

/* ---- freeing ---- */

/*
 * Take the pages of [start, end) out of the file: unpublish, tell the guest,
 * punch.  Caller holds file->lock.  Return: true if some page was pinned,
 * so is doomed, and the caller should gm_guest_wait_doomed() once it has
 * let go of the lock.
 */
static bool remove_range(struct gm_file *file, uint64_t start, uint64_t end)
{
	uint64_t removed = gm_backing_unpublish(file->backing, start, end);
	int doomed;

	gm_lock_assert_held(GM_LOCK_FILE);
	if (removed)
		gm_file_invalidate(file, start, end);
	doomed = gm_backing_release(file->backing, start, end);
	atomic_fetch_sub(&file->pages_held, removed);
	return doomed != 0;
}

/*
 * A pinned page is punched by its last unpin, a few microseconds later on
 * the fault path.  A punch or truncate returns only once that happened, so
 * that a guest that reads the range afterwards reads zero, as it would
 * after the kernel's own punch.  Without file->lock, so that a pin holder
 * waiting for the lock is not waited for in turn; and at most
 * DOOMED_WAIT_US: a holder that keeps its pin longer only keeps the old
 * bytes visible to itself and its guest that much longer.
 */
#define DOOMED_WAIT_US		(1000 * 1000)
#define DOOMED_POLL_US		100
#define DOOMED_SPINS		100

void gm_guest_wait_doomed(struct gm_file *file, uint64_t start, uint64_t end)
{
	for (long i = 0, waited = 0; waited < DOOMED_WAIT_US; i++) {
		if (!gm_backing_doomed(file->backing, start, end))
			return;
		if (i < DOOMED_SPINS) {
			sched_yield();
			continue;
		}
		usleep(DOOMED_POLL_US);
		waited += DOOMED_POLL_US;
	}
}

int gm_guest_init(struct gm_file *file)
{
	return gm_backing_create(file->page_shift - GM_PAGE_SHIFT, &file->backing);
}

void gm_guest_enable(struct gm_file *file)
{
	atomic_store_explicit(&file->guest, true, memory_order_seq_cst);
}

void gm_guest_abandon(struct gm_file *file)
{
	gm_backing_destroy(file->backing);
	file->backing = NULL;
}

void gm_guest_release(struct gm_file *file)
{
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	remove_range(file, 0, GM_PMEM_MAX_PAGES);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	gm_backing_destroy(file->backing);
	file->backing = NULL;
}

/* ---- the system calls ---- */

/*
 * An in-place file's size goes from @old to @length bytes.  A page a host
 * mapping shows is never taken away under it (pmem must know of every
 * page the host can touch, and a hole touched through the mapping would be
 * allocated behind its back): -EBUSY.  Under file->lock.
 */
static int inplace_resize(struct gm_file *file, uint64_t old, uint64_t length)
{
	if (length < old && gm_inplace_mapped(file, length >> GM_PAGE_SHIFT, old >> GM_PAGE_SHIFT))
		return -EBUSY;
	return gm_inplace_resize(file, old >> GM_PAGE_SHIFT, length >> GM_PAGE_SHIFT);
}

int gm_guest_ftruncate(struct gm_file *file, off_t length)
{
	uint64_t page_mask = (1ULL << file->page_shift) - 1;
	uint64_t old;
	unsigned int seals;
	bool doomed = false;
	int ret = 0;

	if ((uint64_t)length & page_mask)
		return -EINVAL;
	if ((uint64_t)length > max_bytes(file))
		return -EFBIG;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	old = (uint64_t)atomic_load(&file->size);
	seals = atomic_load(&file->seals);
	if (((uint64_t)length < old && (seals & GM_SEAL_SHRINK)) ||
	    ((uint64_t)length > old && (seals & GM_SEAL_GROW))) {
		ret = -EPERM;
		goto out;
	}
	if (file->in_place) {
		ret = inplace_resize(file, old, (uint64_t)length);
		if (ret)
			goto out;
	}
	atomic_store(&file->size, length);
	/*
	 * As shmem_setattr: a truncate that does not grow (same size included)
	 * also drops the pages fallocate(KEEP_SIZE) left past the end.
	 */
	if ((uint64_t)length <= old)
		doomed = remove_range(file, (uint64_t)length >> GM_PAGE_SHIFT, GM_PMEM_MAX_PAGES);
out:
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	if (doomed)
		gm_guest_wait_doomed(file, (uint64_t)length >> GM_PAGE_SHIFT, GM_PMEM_MAX_PAGES);
	return ret;
}

/*
 * Modes vfs_fallocate() lets through to its size check (Linux 6.18):
 * allocate, punch (with KEEP_SIZE), collapse (0x08), zero (0x10), insert
 * (0x20), unshare (0x40), write-zeroes (0x80).  shmem refuses all but the
 * first two later, so for the others an overflowing range says -EFBIG first.
 */
static bool vfs_mode_ok(int mode)
{
	switch (mode) {
	case 0: case GM_FALLOC_KEEP_SIZE: case GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE:
	case 0x08: case 0x10: case 0x10 | GM_FALLOC_KEEP_SIZE: case 0x20:
	case 0x40: case 0x40 | GM_FALLOC_KEEP_SIZE: case 0x80:
		return true;
	default:
		return false;
	}
}

static int check_fallocate(struct gm_file *file, int mode, off_t offset, off_t len)
{
	uint64_t page_mask = (1ULL << file->page_shift) - 1;

	/* vfs_fallocate's order: range, mode, size limits; then shmem's mode. */
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (!vfs_mode_ok(mode))
		return -EOPNOTSUPP;
	if (offset > INT64_MAX - len || (uint64_t)(offset + len) > max_bytes(file))
		return -EFBIG;
	if (mode & ~(GM_FALLOC_KEEP_SIZE | GM_FALLOC_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (((uint64_t)offset | (uint64_t)len) & page_mask)
		return -EINVAL;
	return 0;
}

/* Allocate every hole in [start, end), all or nothing.  Under file->lock. */
static int allocate_range(struct gm_file *file, uint64_t start, uint64_t end)
{
	int ret = gm_guest_alloc_pages(file, start, end - start);

	return ret == -ENOMEM ? -ENOSPC : ret;
}

/*
 * fallocate under file->lock.  -EAGAIN: a page to allocate is still on its
 * way out.  *@doomed: a punched page was pinned (see gm_guest_wait_doomed).
 */
static int fallocate_locked(struct gm_file *file, int mode, uint64_t offset, uint64_t end,
			    bool *doomed)
{
	unsigned int seals = atomic_load(&file->seals);
	int ret;

	uint64_t size = (uint64_t)atomic_load(&file->size);

	if (mode & GM_FALLOC_PUNCH_HOLE) {
		if (seals & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE))
			return -EPERM;
		if (file->in_place && gm_inplace_mapped(file, offset >> GM_PAGE_SHIFT,
							(end < size ? end : size) >> GM_PAGE_SHIFT))
			return -EBUSY;	/* see inplace_resize() */
		*doomed = remove_range(file, offset >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT);
		return 0;
	}
	/* As shmem_fallocate: F_SEAL_GROW forbids reaching past EOF even with KEEP_SIZE. */
	if (end > size && (seals & GM_SEAL_GROW))
		return -EPERM;
	if (file->in_place && !(mode & GM_FALLOC_KEEP_SIZE) && end > size) {
		ret = inplace_resize(file, size, end);
		if (ret)
			return ret;
	}
	ret = allocate_range(file, offset >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT);
	if (!ret && !(mode & GM_FALLOC_KEEP_SIZE) && end > (uint64_t)atomic_load(&file->size))
		atomic_store(&file->size, (int64_t)end);
	return ret;
}

/*
 * A page freed while a guest still pins it can be allocated again only once
 * the guest drops the pin, which it does without file->lock: wait for that,
 * with the lock dropped, a bounded time (as gm_guest_wait_doomed), then -EBUSY.
 */
int gm_guest_fallocate(struct gm_file *file, int mode, off_t offset, off_t len)
{
	uint64_t start, end;
	bool doomed = false;
	int ret;

	ret = check_fallocate(file, mode, offset, len);
	if (ret)
		return ret;
	start = (uint64_t)offset >> GM_PAGE_SHIFT;
	end = ((uint64_t)offset + (uint64_t)len) >> GM_PAGE_SHIFT;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	ret = fallocate_locked(file, mode, (uint64_t)offset, (uint64_t)(offset + len), &doomed);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	if (ret == -EAGAIN) {
		gm_guest_wait_doomed(file, start, end);
		gm_mutex_lock(&file->lock, GM_LOCK_FILE);
		ret = fallocate_locked(file, mode, (uint64_t)offset, (uint64_t)(offset + len),
				       &doomed);
		gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
		if (ret == -EAGAIN)
			ret = -EBUSY;
	}
	if (doomed)
		gm_guest_wait_doomed(file, start, end);
	return ret;
}

int gm_guest_add_seals(struct gm_file *file, unsigned int seals)
{
	int ret = 0;

	/* memfd_add_seals' order: unknown bits, F_SEAL_SEAL, then apply. */
	if (seals & ~ALL_SEALS)
		return -EINVAL;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (atomic_load(&file->seals) & GM_SEAL_SEAL)
		ret = -EPERM;
	else if ((seals & GM_SEAL_WRITE) && file->in_place && gm_inplace_mapped_writable(file))
		ret = -EBUSY;	/* as memfd_add_seals: a writable shared mapping */
	else
		atomic_fetch_or(&file->seals, seals & ~GM_SEAL_GUEST);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

/* ---- byte access through the guest's path (tests, differential test) ---- */

static int check_guest_range(struct gm_file *file, uint64_t offset, size_t len)
{
	if (!atomic_load(&file->guest))
		return -EINVAL;
	if (offset + len < offset || offset + len > (uint64_t)atomic_load(&file->size))
		return -EINVAL;
	return 0;
}

int gm_file_guest_write(struct gm_file *file, uint64_t offset, const void *buf, size_t len)
{
	int ret = check_guest_range(file, offset, len);

	while (!ret && len) {
		size_t in_page = GM_PAGE_SIZE - (offset & (GM_PAGE_SIZE - 1));
		size_t n = len < in_page ? len : in_page;
		gm_pfn_t pfn;

		ret = gm_file_get_lock_pfn(file, offset >> GM_PAGE_SHIFT, &pfn, NULL);
		if (ret)
			break;
		ret = gm_backing_write(file->backing, offset, buf, n);
		gm_file_put_unlock_pfn(pfn);
		buf = (const char *)buf + n;
		offset += n;
		len -= n;
	}
	return ret;
}

int gm_file_guest_read(struct gm_file *file, uint64_t offset, void *buf, size_t len)
{
	int ret = check_guest_range(file, offset, len);

	while (!ret && len) {
		size_t in_page = GM_PAGE_SIZE - (offset & (GM_PAGE_SIZE - 1));
		size_t n = len < in_page ? len : in_page;
		gm_pfn_t pfn = gm_backing_lookup_pin(file->backing, offset >> GM_PAGE_SHIFT);

		if (pfn == GM_PFN_NONE) {
			memset(buf, 0, n);
		} else {
			ret = gm_backing_read(file->backing, offset, buf, n);
			gm_file_put_unlock_pfn(pfn);
		}
		buf = (char *)buf + n;
		offset += n;
		len -= n;
	}
	return ret;
}

/* ---- what the host can see of the pools ---- */

int64_t gm_frames_in_use(void)
{
	return gm_pmem_frames_in_use(0) + gm_pmem_frames_in_use(GM_HUGE_2M_ORDER) +
	       gm_pmem_frames_in_use(GM_HUGE_1G_ORDER);
}

int64_t gm_frames_meta_bytes(void)
{
	return gm_pmem_meta_bytes();
}

int64_t gm_hugetlb_free_pages(unsigned int page_shift)
{
	if (page_shift != GM_HUGE_2M_SHIFT && page_shift != GM_HUGE_1G_SHIFT)
		return -EINVAL;
	return gm_pmem_huge_free(page_shift - GM_PAGE_SHIFT);
}

int gm_hugetlb_available(unsigned int page_shift, const char **why)
{
	if (page_shift != GM_HUGE_2M_SHIFT && page_shift != GM_HUGE_1G_SHIFT) {
		if (why)
			*why = "not a huge page size (GM_HUGE_2M_SHIFT or GM_HUGE_1G_SHIFT)";
		return 0;
	}
	return gm_pmem_huge_available(page_shift - GM_PAGE_SHIFT, why);
}
