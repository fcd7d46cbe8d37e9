/* SPDX-License-Identifier: MIT */
/*
 * Guest-only files: Linux memfd semantics rebuilt over pmem frames.
 *
 * Locking: file->lock serialises every change of size, seals and the page
 * index.  The guest's lookup of a populated page (lookup_pin) takes no lock:
 * it reads the index under RCU, pins the frame, and checks the index again.
 * A remover clears the index entry and then waits for pins to drop before
 * freeing, so the two meet in the middle (both use seq_cst accesses).
 *
 * A range loses its frames in three steps, in this order: its index entries
 * are cleared, the bound guest is told (invalidate), and pinned frames are
 * waited for.  Only then are the frames freed, so no guest mapping or pin
 * can outlive the frame it names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rcu.h"
#include "store/store.h"

#define ALL_SEALS (GM_SEAL_SEAL | GM_SEAL_SHRINK | GM_SEAL_GROW | GM_SEAL_WRITE | \
		   GM_SEAL_FUTURE_WRITE | GM_SEAL_GUEST)

/* 4 KiB frames per folio of this file: 1, 512 or 262144. */
static uint64_t folio_pages(const struct gm_file *file)
{
	return 1ULL << (file->page_shift - GM_PAGE_SHIFT);
}

static uint64_t max_bytes(const struct gm_file *file)
{
	enum gm_pool_id pool = file->page_shift == 12 ? GM_POOL_4K :
			       file->page_shift == 21 ? GM_POOL_2M : GM_POOL_1G;

	return (uint64_t)gm_pmem_capacity(pool) << GM_PAGE_SHIFT;
}

/* ---- the page index ---- */

static gm_pfn_t table_lookup(struct gm_file *file, uint64_t index)
{
	struct gm_page_table *t = atomic_load_explicit(&file->table, memory_order_acquire);
	struct gm_leaf *leaf;

	if (!t || (index >> GM_LEAF_SHIFT) >= t->nr_leaves)
		return GM_PFN_NONE;
	leaf = atomic_load_explicit(&t->leaves[index >> GM_LEAF_SHIFT], memory_order_acquire);
	if (!leaf)
		return GM_PFN_NONE;
	return atomic_load(&leaf->pfn[index & (GM_LEAF_PAGES - 1)]);
}

/* Grow the table to hold @nr_leaves.  Caller holds file->lock. */
static int table_grow(struct gm_file *file, uint64_t nr_leaves)
{
	struct gm_page_table *old = atomic_load(&file->table), *t;
	uint64_t old_nr = old ? old->nr_leaves : 0;

	if (nr_leaves <= old_nr)
		return 0;
	if (nr_leaves < 2 * old_nr)
		nr_leaves = 2 * old_nr;
	t = calloc(1, sizeof(*t) + nr_leaves * sizeof(t->leaves[0]));
	if (!t)
		return -ENOMEM;
	t->nr_leaves = nr_leaves;
	for (uint64_t i = 0; i < old_nr; i++)
		atomic_init(&t->leaves[i], atomic_load(&old->leaves[i]));
	atomic_store_explicit(&file->table, t, memory_order_release);
	if (old) {
		gm_rcu_synchronize();
		free(old);
	}
	return 0;
}

/* The leaf for @index, created if needed.  Caller holds file->lock. */
static struct gm_leaf *leaf_get(struct gm_file *file, uint64_t index)
{
	uint64_t li = index >> GM_LEAF_SHIFT;
	struct gm_page_table *t;
	struct gm_leaf *leaf;

	if (table_grow(file, li + 1))
		return NULL;
	t = atomic_load(&file->table);
	leaf = atomic_load(&t->leaves[li]);
	if (leaf)
		return leaf;
	leaf = malloc(sizeof(*leaf));
	if (!leaf)
		return NULL;
	for (unsigned int i = 0; i < GM_LEAF_PAGES; i++)
		atomic_init(&leaf->pfn[i], GM_PFN_NONE);
	atomic_store_explicit(&t->leaves[li], leaf, memory_order_release);
	return leaf;
}

/* Publish frames [pfn, pfn + n) at [index, index + n).  Under file->lock. */
static int set_entries(struct gm_file *file, uint64_t index, gm_pfn_t pfn, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct gm_leaf *leaf = leaf_get(file, index + i);

		if (!leaf)
			return -ENOMEM;
		gm_frame_set_owner(pfn + i, file->id, (uint32_t)(index + i));
		atomic_store(&leaf->pfn[(index + i) & (GM_LEAF_PAGES - 1)], pfn + i);
	}
	atomic_fetch_add(&file->pages_held, n);
	return 0;
}

/* ---- allocation ---- */

/*
 * Where a new 4 KiB page at @index should go to sit beside its populated
 * neighbours in the same 2 MiB range, or GM_PFN_NONE.  Under file->lock.
 */
static gm_pfn_t neighbour_hint(struct gm_file *file, uint64_t index)
{
	uint64_t base = index & ~(uint64_t)(GM_LEAF_PAGES - 1);

	for (uint64_t i = base; i < base + GM_LEAF_PAGES; i++) {
		gm_pfn_t pfn = table_lookup(file, i);

		/* Only a neighbour sitting at its own offset in its chunk helps. */
		if (pfn != GM_PFN_NONE && (pfn & (GM_LEAF_PAGES - 1)) == (i & (GM_LEAF_PAGES - 1)))
			return pfn - i + index;
	}
	return GM_PFN_NONE;
}

static bool leaf_empty(struct gm_file *file, uint64_t base)
{
	for (uint64_t i = base; i < base + GM_LEAF_PAGES; i++)
		if (table_lookup(file, i) != GM_PFN_NONE)
			return false;
	return true;
}

/*
 * Allocate the folio holding @index and publish it.  @want_order 9 lets the
 * shmem store fill a whole empty 2 MiB range at once.  Under file->lock.
 * Return: 0, -ENOMEM.
 */
static int populate(struct gm_file *file, uint64_t index, unsigned int want_order)
{
	uint64_t n = folio_pages(file), base = index & ~(n - 1);
	uint64_t base2m = index & ~(uint64_t)(GM_LEAF_PAGES - 1);
	gm_pfn_t pfn, near;
	int ret;

	if (file->page_shift != GM_PAGE_SHIFT) {
		ret = gm_pmem_alloc(file->page_shift == 21 ? GM_POOL_2M : GM_POOL_1G,
				    file->page_shift - GM_PAGE_SHIFT, GM_PFN_NONE, &pfn);
	} else if (want_order >= GM_HUGE_2M_ORDER &&
		   (base2m + GM_LEAF_PAGES) << GM_PAGE_SHIFT <= (uint64_t)atomic_load(&file->size) &&
		   leaf_empty(file, base2m)) {
		ret = gm_pmem_alloc_split(GM_HUGE_2M_ORDER, &pfn);
		if (!ret) {
			n = GM_LEAF_PAGES;
			base = base2m;
		}
	} else {
		near = neighbour_hint(file, index);
		/* No neighbour: start a chunk of this range's own if one is free. */
		ret = near == GM_PFN_NONE ?
		      gm_pmem_alloc_fresh_chunk(0, index & (GM_LEAF_PAGES - 1), &pfn) : -ENOMEM;
		if (ret)
			ret = gm_pmem_alloc(GM_POOL_4K, 0, near, &pfn);
	}
	if (ret)
		return ret;
	ret = set_entries(file, base, pfn, n);
	if (ret) {
		/* Only a leaf allocation can fail, before anything was published. */
		for (uint64_t i = 0; i < n; i++)
			if (table_lookup(file, base + i) == pfn + i)
				return ret;
		gm_pmem_free(pfn, n == 1 || file->page_shift == GM_PAGE_SHIFT ? 0 :
			     file->page_shift - GM_PAGE_SHIFT);
	}
	return ret;
}

/* ---- the guest's path ---- */

/* The frame at @index, its folio pinned; GM_PFN_NONE for a hole. */
static gm_pfn_t lookup_pin(struct gm_file *file, uint64_t index)
{
	gm_pfn_t pfn, head;

	gm_rcu_read_lock();
	for (;;) {
		pfn = table_lookup(file, index);
		if (pfn == GM_PFN_NONE)
			break;
		head = gm_pmem_folio_head(pfn);
		gm_frame_lock(head);
		if (table_lookup(file, index) == pfn)
			break;
		gm_frame_unlock(head);
	}
	gm_rcu_read_unlock();
	return pfn;
}

static bool index_in_file(struct gm_file *file, uint64_t index)
{
	return index < ((uint64_t)atomic_load(&file->size) >> GM_PAGE_SHIFT);
}

int gm_file_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			 unsigned int *order)
{
	unsigned int want = order ? *order : 0;
	gm_pfn_t found;
	int ret = 0;

	if (!atomic_load(&file->guest) || !index_in_file(file, index))
		return -EINVAL;
	found = lookup_pin(file, index);
	if (found != GM_PFN_NONE)
		goto out;
	pthread_mutex_lock(&file->lock);
	if (!index_in_file(file, index)) {
		ret = -EINVAL;
		goto unlock;
	}
	found = lookup_pin(file, index);
	if (found == GM_PFN_NONE) {
		ret = populate(file, index, want);
		if (!ret)
			found = lookup_pin(file, index);
	}
unlock:
	pthread_mutex_unlock(&file->lock);
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
	gm_frame_unlock(gm_pmem_folio_head(pfn));
}

/* Is the aligned 2 MiB range holding @index one whole chunk, in order? */
static bool range_on_one_chunk(struct gm_file *file, uint64_t index)
{
	uint64_t base = index & ~(uint64_t)(GM_LEAF_PAGES - 1);
	gm_pfn_t first;
	bool ok = true;

	gm_rcu_read_lock();
	first = table_lookup(file, base);
	if (first == GM_PFN_NONE || (first & (GM_LEAF_PAGES - 1)))
		ok = false;
	for (uint64_t i = 1; ok && i < GM_LEAF_PAGES; i++)
		ok = table_lookup(file, base + i) == first + i;
	gm_rcu_read_unlock();
	return ok;
}

int gm_file_mapping_level(struct gm_file *file, uint64_t index)
{
	if (!atomic_load(&file->guest) || !index_in_file(file, index))
		return -EINVAL;
	switch (file->page_shift) {
	case 30:
		return GM_LEVEL_1G;
	case 21:
		return GM_LEVEL_2M;
	default:
		return range_on_one_chunk(file, index) ? GM_LEVEL_2M : GM_LEVEL_4K;
	}
}

/* ---- freeing ---- */

struct pfn_list {
	gm_pfn_t *pfn;
	uint64_t nr, cap;
};

static int pfn_list_add(struct pfn_list *l, gm_pfn_t pfn)
{
	if (l->nr == l->cap) {
		uint64_t cap = l->cap ? 2 * l->cap : 64;
		gm_pfn_t *p = realloc(l->pfn, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->pfn = p;
		l->cap = cap;
	}
	l->pfn[l->nr++] = pfn;
	return 0;
}

/* Free @l's folios; runs of neighbouring 4 KiB frames go back in one call. */
static void free_frames(const struct pfn_list *l, unsigned int order)
{
	uint64_t k = 0, run;

	while (k < l->nr) {
		if (order) {
			gm_pmem_free(l->pfn[k++], order);
			continue;
		}
		for (run = 1; k + run < l->nr && l->pfn[k + run] == l->pfn[k] + run; run++)
			;
		gm_pmem_free_run(l->pfn[k], run);
		k += run;
	}
}

static uint64_t table_end(struct gm_file *file)
{
	struct gm_page_table *t = atomic_load(&file->table);

	return t ? t->nr_leaves << GM_LEAF_SHIFT : 0;
}

/*
 * Take the frames of [start, end) out of the file: clear their entries, tell
 * the guest, wait for pins, free.  Caller holds file->lock.
 * Return: 0, or -ENOMEM with nothing changed.
 */
static int remove_range(struct gm_file *file, uint64_t start, uint64_t end)
{
	struct pfn_list heads = { 0 };
	uint64_t n = folio_pages(file), removed = 0;
	unsigned int order = file->page_shift - GM_PAGE_SHIFT;
	struct gm_page_table *t = atomic_load(&file->table);

	if (end > table_end(file))
		end = table_end(file);
	for (uint64_t i = start; i < end; i += n) {
		gm_pfn_t pfn = table_lookup(file, i);

		if (pfn != GM_PFN_NONE && pfn_list_add(&heads, pfn)) {
			free(heads.pfn);
			return -ENOMEM;
		}
	}
	for (uint64_t i = start; i < end; i++) {
		struct gm_leaf *leaf = atomic_load(&t->leaves[i >> GM_LEAF_SHIFT]);

		if (leaf && atomic_load(&leaf->pfn[i & (GM_LEAF_PAGES - 1)]) != GM_PFN_NONE) {
			atomic_store(&leaf->pfn[i & (GM_LEAF_PAGES - 1)], GM_PFN_NONE);
			removed++;
		}
	}
	if (heads.nr)
		gm_file_invalidate(file, start, end);
	for (uint64_t k = 0; k < heads.nr; k++)
		gm_frame_wait_unlocked(heads.pfn[k]);
	free_frames(&heads, order);
	atomic_fetch_sub(&file->pages_held, removed);
	free(heads.pfn);
	return 0;
}

int gm_guest_init(struct gm_file *file)
{
	atomic_store_explicit(&file->guest, true, memory_order_seq_cst);
	return 0;
}

void gm_guest_release(struct gm_file *file)
{
	struct gm_page_table *t = atomic_load(&file->table);

	if (!t)
		return;
	pthread_mutex_lock(&file->lock);
	remove_range(file, 0, table_end(file));
	pthread_mutex_unlock(&file->lock);
	for (uint64_t i = 0; i < t->nr_leaves; i++)
		free(atomic_load(&t->leaves[i]));
	free(t);
}

/* ---- the system calls ---- */

int gm_guest_ftruncate(struct gm_file *file, off_t length)
{
	uint64_t page_mask = (1ULL << file->page_shift) - 1;
	uint64_t old;
	unsigned int seals;
	int ret = 0;

	if ((uint64_t)length & page_mask)
		return -EINVAL;
	if ((uint64_t)length > max_bytes(file))
		return -EFBIG;
	pthread_mutex_lock(&file->lock);
	old = (uint64_t)atomic_load(&file->size);
	seals = atomic_load(&file->seals);
	if (((uint64_t)length < old && (seals & GM_SEAL_SHRINK)) ||
	    ((uint64_t)length > old && (seals & GM_SEAL_GROW))) {
		ret = -EPERM;
		goto out;
	}
	atomic_store(&file->size, length);
	/*
	 * As shmem_setattr: a truncate that does not grow (same size included)
	 * also drops the pages fallocate(KEEP_SIZE) left past the end.
	 */
	if ((uint64_t)length <= old)
		ret = remove_range(file, (uint64_t)length >> GM_PAGE_SHIFT, UINT64_MAX);
	if (ret)
		atomic_store(&file->size, (int64_t)old);
out:
	pthread_mutex_unlock(&file->lock);
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
	struct pfn_list filled = { 0 };
	uint64_t n = folio_pages(file);
	int ret = 0;

	for (uint64_t i = start; i < end && !ret; i += n) {
		if (table_lookup(file, i) != GM_PFN_NONE)
			continue;
		ret = pfn_list_add(&filled, i);
		if (!ret)
			ret = populate(file, i, 0);
	}
	/* Undo: give back the folios this call added, and only those. */
	for (uint64_t k = 0; ret && k < filled.nr; k++)
		remove_range(file, filled.pfn[k], filled.pfn[k] + n);
	free(filled.pfn);
	return ret == -ENOMEM ? -ENOSPC : ret;
}

int gm_guest_fallocate(struct gm_file *file, int mode, off_t offset, off_t len)
{
	unsigned int seals;
	uint64_t end;
	int ret;

	ret = check_fallocate(file, mode, offset, len);
	if (ret)
		return ret;
	end = (uint64_t)(offset + len);
	pthread_mutex_lock(&file->lock);
	seals = atomic_load(&file->seals);
	if (mode & GM_FALLOC_PUNCH_HOLE) {
		if (seals & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE))
			ret = -EPERM;
		else
			ret = remove_range(file, (uint64_t)offset >> GM_PAGE_SHIFT,
					   end >> GM_PAGE_SHIFT);
		goto out;
	}
	/* As shmem_fallocate: F_SEAL_GROW forbids reaching past EOF even with KEEP_SIZE. */
	if (end > (uint64_t)atomic_load(&file->size) && (seals & GM_SEAL_GROW)) {
		ret = -EPERM;
		goto out;
	}
	ret = allocate_range(file, (uint64_t)offset >> GM_PAGE_SHIFT, end >> GM_PAGE_SHIFT);
	if (!ret && !(mode & GM_FALLOC_KEEP_SIZE) && end > (uint64_t)atomic_load(&file->size))
		atomic_store(&file->size, (int64_t)end);
out:
	pthread_mutex_unlock(&file->lock);
	return ret;
}

int gm_guest_add_seals(struct gm_file *file, unsigned int seals)
{
	int ret = 0;

	/* memfd_add_seals' order: unknown bits, F_SEAL_SEAL, then apply. */
	if (seals & ~ALL_SEALS)
		return -EINVAL;
	pthread_mutex_lock(&file->lock);
	if (atomic_load(&file->seals) & GM_SEAL_SEAL)
		ret = -EPERM;
	else
		atomic_fetch_or(&file->seals, seals & ~GM_SEAL_GUEST);
	pthread_mutex_unlock(&file->lock);
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
		ret = gm_pmem_write(pfn, offset & (GM_PAGE_SIZE - 1), buf, n);
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
		gm_pfn_t pfn = lookup_pin(file, offset >> GM_PAGE_SHIFT);

		if (pfn == GM_PFN_NONE) {
			memset(buf, 0, n);
		} else {
			ret = gm_pmem_read(pfn, offset & (GM_PAGE_SIZE - 1), buf, n);
			gm_file_put_unlock_pfn(pfn);
		}
		buf = (char *)buf + n;
		offset += n;
		len -= n;
	}
	return ret;
}
