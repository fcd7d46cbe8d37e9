/* SPDX-License-Identifier: MIT */
/*
 * Backings: one memfd per guest-only file, and the folio metadata beside it.
 * See pmem.h for the model and the locking rules.
 *
 * The metadata of a backing is a directory of leaves, each leaf the state
 * words of 512 folios.  Readers (lookups, pins, unpins) walk it under RCU;
 * the owner grows the directory and adds leaves under its own lock, and
 * leaves that fall empty are freed after a grace period.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/rcu.h"
#include "pmem/backing.h"

/* Folio state: present, somebody waits for the pins to drop, pin count. */
#define ST_PRESENT	0x80000000U
#define ST_WAITER	0x40000000U
#define ST_PINS		0x3fffffffU

static _Atomic int64_t frames_in_use[3];	/* by order: 0, 9, 18 */
static _Atomic int64_t meta_bytes;

static unsigned int order_slot(unsigned int order)
{
	return order / GM_HUGE_2M_ORDER;
}

int64_t gm_pmem_frames_in_use(unsigned int order)
{
	if (order != 0 && order != GM_HUGE_2M_ORDER && order != GM_HUGE_1G_ORDER)
		return -EINVAL;
	return atomic_load(&frames_in_use[order_slot(order)]);
}

int64_t gm_pmem_meta_bytes(void)
{
	return atomic_load(&meta_bytes);
}

/* Add @units folios (negative: take away) to the count of 4 KiB frames in use. */
static void account(struct gm_backing *b, int64_t units)
{
	atomic_fetch_add(&frames_in_use[order_slot(b->order)], units * ((int64_t)1 << b->order));
}

/* ---- the directory of leaves ---- */

static struct gm_leaf *leaf_of(struct gm_backing *b, uint64_t unit)
{
	struct gm_dir *d = atomic_load_explicit(&b->dir, memory_order_acquire);

	if (!d || (unit >> GM_LEAF_SHIFT) >= d->nr_leaves)
		return NULL;
	return atomic_load_explicit(&d->leaves[unit >> GM_LEAF_SHIFT], memory_order_acquire);
}

static _Atomic uint32_t *word_of(struct gm_backing *b, uint64_t unit)
{
	struct gm_leaf *leaf = leaf_of(b, unit);

	return leaf ? &leaf->state[unit & (GM_LEAF_UNITS - 1)] : NULL;
}

static void free_rcu_head(struct rcu_head *head)
{
	gm_tsan_acquire();
	free(head);
}

/* Free @p (which starts with a struct rcu_head) after a grace period. */
static void free_deferred(struct rcu_head *p, size_t bytes)
{
	atomic_fetch_sub(&meta_bytes, (int64_t)bytes);
	gm_rcu_call(p, free_rcu_head);
}

static size_t dir_bytes(uint64_t nr_leaves)
{
	return sizeof(struct gm_dir) + nr_leaves * sizeof(struct gm_leaf *);
}

/* Make the directory cover leaf @li.  Caller serialises changes. */
static int dir_grow(struct gm_backing *b, uint64_t li)
{
	struct gm_dir *old = atomic_load(&b->dir), *d;
	uint64_t old_nr = old ? old->nr_leaves : 0, nr = li + 1;

	if (nr <= old_nr)
		return 0;
	if (nr < 2 * old_nr)
		nr = 2 * old_nr;
	d = calloc(1, dir_bytes(nr));
	if (!d)
		return -ENOMEM;
	atomic_fetch_add(&meta_bytes, (int64_t)dir_bytes(nr));
	d->nr_leaves = nr;
	for (uint64_t i = 0; i < old_nr; i++)
		atomic_init(&d->leaves[i], atomic_load(&old->leaves[i]));
	atomic_store_explicit(&b->dir, d, memory_order_release);
	if (old)
		free_deferred(&old->rcu, dir_bytes(old_nr));
	return 0;
}

/* The leaf of @unit, created if needed.  Caller serialises changes. */
static struct gm_leaf *leaf_get(struct gm_backing *b, uint64_t unit)
{
	uint64_t li = unit >> GM_LEAF_SHIFT;
	struct gm_leaf *leaf;

	if (dir_grow(b, li))
		return NULL;
	leaf = leaf_of(b, unit);
	if (leaf)
		return leaf;
	leaf = calloc(1, sizeof(*leaf));
	if (!leaf)
		return NULL;
	atomic_fetch_add(&meta_bytes, (int64_t)sizeof(*leaf));
	atomic_store_explicit(&atomic_load(&b->dir)->leaves[li], leaf, memory_order_release);
	return leaf;
}

/* Free leaf @li if nothing in it is present or pinned.  Caller serialises changes. */
static void leaf_put(struct gm_backing *b, uint64_t li)
{
	struct gm_dir *d = atomic_load(&b->dir);
	struct gm_leaf *leaf = atomic_load(&d->leaves[li]);

	if (!leaf || atomic_load(&leaf->nr_present))
		return;
	for (unsigned int i = 0; i < GM_LEAF_UNITS; i++)
		if (atomic_load(&leaf->state[i]))
			return;
	atomic_store(&d->leaves[li], NULL);
	free_deferred(&leaf->rcu, sizeof(*leaf));
}

/* ---- backings and their ids ---- */

int gm_backing_create(unsigned int order, struct gm_backing **bp)
{
	struct gm_backing *b;
	int ret;

	if (order != 0 && order != GM_HUGE_2M_ORDER && order != GM_HUGE_1G_ORDER)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->order = order;
	atomic_init(&b->fd, -1);
	ret = gm_pmem_id_alloc(b);
	if (ret) {
		free(b);
		return ret;
	}
	*bp = b;
	return 0;
}

static void backing_free_rcu(struct rcu_head *head)
{
	struct gm_backing *b = (struct gm_backing *)head;
	struct gm_dir *d = atomic_load(&b->dir);

	gm_tsan_acquire();
	for (uint64_t i = 0; d && i < d->nr_leaves; i++)
		free(atomic_load(&d->leaves[i]));
	free(d);
	free(b);
}

void gm_backing_destroy(struct gm_backing *b)
{
	struct gm_dir *d;

	if (!b)
		return;
	d = atomic_load(&b->dir);
	if (d) {
		gm_backing_unpublish(b, 0, d->nr_leaves << GM_LEAF_SHIFT << b->order);
		d = atomic_load(&b->dir);
		atomic_fetch_sub(&meta_bytes, (int64_t)dir_bytes(d->nr_leaves));
		for (uint64_t i = 0; i < d->nr_leaves; i++)
			if (atomic_load(&d->leaves[i]))
				atomic_fetch_sub(&meta_bytes, (int64_t)sizeof(struct gm_leaf));
	}
	/* Closing the memfd frees its pages once no window maps them. */
	if (atomic_load(&b->fd) >= 0)
		close(atomic_load(&b->fd));
	gm_pmem_id_free(b->id);
	/* A stray unpin of an old pfn may still be looking at it. */
	gm_rcu_call(&b->rcu, backing_free_rcu);
}

unsigned int gm_backing_order(const struct gm_backing *b)
{
	return b->order;
}

gm_pfn_t gm_backing_pfn(const struct gm_backing *b, uint64_t index)
{
	return ((gm_pfn_t)b->id << GM_PMEM_INDEX_BITS) | index;
}

/* The memfd, created on first use.  Any thread may call it. */
static int backing_fd(struct gm_backing *b)
{
	int fd = atomic_load(&b->fd), expected = -1;
	unsigned int flags = MFD_CLOEXEC;

	if (fd >= 0)
		return fd;
	if (b->order)
		flags |= MFD_HUGETLB | ((b->order + GM_PAGE_SHIFT) << MFD_HUGE_SHIFT);
	fd = memfd_create("guestmem-backing", flags);
	if (fd < 0)
		return -errno;
	/* Sparse: the size costs nothing, and no file ever needs a resize. */
	if (ftruncate(fd, (off_t)(GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (!atomic_compare_exchange_strong(&b->fd, &expected, fd)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

/* ---- allocation and freeing ---- */

static bool folio_range_ok(const struct gm_backing *b, uint64_t index, uint64_t nr)
{
	uint64_t mask = (1ULL << b->order) - 1;

	return !((index | nr) & mask) && index < GM_PMEM_MAX_PAGES &&
	       nr <= GM_PMEM_MAX_PAGES - index;
}

static int punch(int fd, uint64_t index, uint64_t nr)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(index << GM_PAGE_SHIFT), (off_t)(nr << GM_PAGE_SHIFT)) < 0)
		return -errno;
	return 0;
}

/* Give back what a failed fallocate may have left in the non-present folios. */
static void unwind_alloc(struct gm_backing *b, int fd, uint64_t first, uint64_t end)
{
	uint64_t u = first;

	while (u < end) {
		uint64_t run = u;

		while (run < end && !(atomic_load(word_of(b, run)) & ST_PRESENT))
			run++;
		if (run > u)
			punch(fd, u << b->order, (run - u) << b->order);
		u = run + 1;
	}
}

int64_t gm_backing_alloc(struct gm_backing *b, uint64_t index, uint64_t nr)
{
	uint64_t first = index >> b->order, end = (index + nr) >> b->order, added = 0;
	int fd;

	if (!nr || !folio_range_ok(b, index, nr))
		return -EINVAL;
	for (uint64_t u = first; u < end; u = (u | (GM_LEAF_UNITS - 1)) + 1)
		if (!leaf_get(b, u))
			return -ENOMEM;
	fd = backing_fd(b);
	if (fd < 0)
		return fd;
	if (fallocate(fd, 0, (off_t)(index << GM_PAGE_SHIFT), (off_t)(nr << GM_PAGE_SHIFT)) < 0) {
		int ret = errno == ENOSPC || errno == ENOMEM ? -ENOMEM : -errno;

		unwind_alloc(b, fd, first, end);
		return ret;
	}
	for (uint64_t u = first; u < end; u++) {
		struct gm_leaf *leaf = leaf_of(b, u);
		uint32_t old = atomic_fetch_or(&leaf->state[u & (GM_LEAF_UNITS - 1)], ST_PRESENT);

		if (!(old & ST_PRESENT)) {
			atomic_fetch_add(&leaf->nr_present, 1);
			added++;
		}
	}
	account(b, (int64_t)added);
	return (int64_t)(added << b->order);
}

/* The units [*first, *end) of a page range, clipped to the directory. */
static void unit_range(struct gm_backing *b, uint64_t start, uint64_t end,
		       uint64_t *first, uint64_t *last)
{
	struct gm_dir *d = atomic_load(&b->dir);
	uint64_t limit = d ? d->nr_leaves << GM_LEAF_SHIFT : 0;

	*first = start >> b->order;
	*last = end >> b->order;
	if (*last > limit)
		*last = limit;
}

uint64_t gm_backing_unpublish(struct gm_backing *b, uint64_t start, uint64_t end)
{
	uint64_t first, last, removed = 0;

	unit_range(b, start, end, &first, &last);
	for (uint64_t u = first; u < last; u++) {
		struct gm_leaf *leaf = leaf_of(b, u);

		if (!leaf) {
			u |= GM_LEAF_UNITS - 1;
			continue;
		}
		if (atomic_fetch_and(&leaf->state[u & (GM_LEAF_UNITS - 1)], ~ST_PRESENT) &
		    ST_PRESENT) {
			atomic_fetch_sub(&leaf->nr_present, 1);
			removed++;
		}
	}
	account(b, -(int64_t)removed);
	return removed << b->order;
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void wait_unpinned(_Atomic uint32_t *w)
{
	uint32_t v;

	for (;;) {
		v = atomic_load(w);
		if (!(v & ST_PINS))
			return;
		if (!(v & ST_WAITER) && !atomic_compare_exchange_weak(w, &v, v | ST_WAITER))
			continue;
		futex(w, FUTEX_WAIT_PRIVATE, v | ST_WAITER);
	}
}

int gm_backing_release(struct gm_backing *b, uint64_t start, uint64_t end)
{
	uint64_t first, last;
	int fd = atomic_load(&b->fd), ret = 0;

	unit_range(b, start, end, &first, &last);
	if (first >= last)
		return 0;
	for (uint64_t u = first; u < last; u++) {
		_Atomic uint32_t *w = word_of(b, u);

		if (!w) {
			u |= GM_LEAF_UNITS - 1;
			continue;
		}
		wait_unpinned(w);
	}
	if (fd >= 0)
		ret = punch(fd, first << b->order, (last - first) << b->order);
	for (uint64_t li = first >> GM_LEAF_SHIFT; li <= (last - 1) >> GM_LEAF_SHIFT; li++)
		leaf_put(b, li);
	return ret;
}

/* ---- lookups and pins ---- */

bool gm_backing_present(struct gm_backing *b, uint64_t index)
{
	_Atomic uint32_t *w;
	bool present;

	gm_rcu_read_lock();
	w = word_of(b, index >> b->order);
	present = w && (atomic_load(w) & ST_PRESENT);
	gm_rcu_read_unlock();
	return present;
}

gm_pfn_t gm_backing_lookup_pin(struct gm_backing *b, uint64_t index)
{
	gm_pfn_t pfn = GM_PFN_NONE;
	_Atomic uint32_t *w;
	uint32_t v;

	gm_rcu_read_lock();
	w = word_of(b, index >> b->order);
	if (!w)
		goto out;
	v = atomic_load(w);
	do {
		if (!(v & ST_PRESENT) || (v & ST_PINS) == ST_PINS)
			goto out;
	} while (!atomic_compare_exchange_weak(w, &v, v + 1));
	pfn = gm_backing_pfn(b, index);
out:
	gm_rcu_read_unlock();
	return pfn;
}

bool gm_backing_full_2m(struct gm_backing *b, uint64_t index)
{
	struct gm_leaf *leaf;
	bool full;

	if (b->order)
		return gm_backing_present(b, index);
	gm_rcu_read_lock();
	leaf = leaf_of(b, index);
	full = leaf && atomic_load(&leaf->nr_present) == GM_LEAF_UNITS;
	gm_rcu_read_unlock();
	return full;
}

/* The state word of @pfn's folio.  Under rcu_read_lock(). */
static _Atomic uint32_t *pfn_word(gm_pfn_t pfn)
{
	struct gm_backing *b = gm_pmem_id_lookup((uint32_t)(pfn >> GM_PMEM_INDEX_BITS));

	if (!b)
		return NULL;
	return word_of(b, (pfn & (GM_PMEM_MAX_PAGES - 1)) >> b->order);
}

void gm_pfn_unpin(gm_pfn_t pfn)
{
	_Atomic uint32_t *w;
	uint32_t v, nv;

	gm_rcu_read_lock();
	w = pfn_word(pfn);
	if (!w)
		goto out;
	v = atomic_load(w);
	do {
		if (!(v & ST_PINS))
			goto out;	/* not pinned: a second unpin changes nothing */
		nv = v - 1;
		if (!(nv & ST_PINS))
			nv &= ~ST_WAITER;
	} while (!atomic_compare_exchange_weak(w, &v, nv));
	if ((v & ST_WAITER) && !(nv & ST_PINS))
		futex(w, FUTEX_WAKE_PRIVATE, INT_MAX);
out:
	gm_rcu_read_unlock();
}

uint32_t gm_pfn_pins(gm_pfn_t pfn)
{
	_Atomic uint32_t *w;
	uint32_t pins;

	gm_rcu_read_lock();
	w = pfn_word(pfn);
	pins = w ? atomic_load(w) & ST_PINS : 0;
	gm_rcu_read_unlock();
	return pins;
}

/* ---- byte access and mapping ---- */

static bool range_present(struct gm_backing *b, uint64_t offset, size_t len)
{
	uint64_t last = (offset + len - (len ? 1 : 0)) >> GM_PAGE_SHIFT;

	if (offset + len < offset || last >= GM_PMEM_MAX_PAGES)
		return false;
	for (uint64_t p = offset >> GM_PAGE_SHIFT; p <= last; p++)
		if (!gm_backing_present(b, p))
			return false;
	return true;
}

int gm_backing_read(struct gm_backing *b, uint64_t offset, void *buf, size_t len)
{
	int fd = atomic_load(&b->fd);
	ssize_t n;

	if (!range_present(b, offset, len) || fd < 0)
		return -EINVAL;
	while (len) {
		n = pread(fd, buf, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* hugetlbfs has no write(): copy through a short-lived mapping of the folios. */
static int write_huge(struct gm_backing *b, int fd, uint64_t offset, const void *buf, size_t len)
{
	uint64_t folio = GM_PAGE_SIZE << b->order;
	uint64_t start = offset & ~(folio - 1);
	uint64_t map_len = (offset + len - start + folio - 1) & ~(folio - 1);
	char *p;

	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p + (offset - start), buf, len);
	munmap(p, map_len);
	return 0;
}

int gm_backing_write(struct gm_backing *b, uint64_t offset, const void *buf, size_t len)
{
	int fd = atomic_load(&b->fd);
	ssize_t n;

	if (!range_present(b, offset, len) || fd < 0)
		return -EINVAL;
	if (b->order)
		return write_huge(b, fd, offset, buf, len);
	while (len) {
		n = pwrite(fd, buf, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const char *)buf + n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int gm_backing_map(struct gm_backing *b, uint64_t offset, uint64_t len, void *addr)
{
	int fd = backing_fd(b);
	void *p;

	if (fd < 0)
		return fd;
	if (!len || offset + len < offset || offset + len > (GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT))
		return -EINVAL;
	p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd,
		 (off_t)offset);
	return p == MAP_FAILED ? -errno : 0;
}
