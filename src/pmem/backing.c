/* SPDX-License-Identifier: MIT */
/*
 * Backings: one memfd per guest-only file, and the folio metadata beside it.
 * See pmem.h for the model and the locking rules.
 *
 * The metadata of a backing is a radix tree of fixed depth: three levels of
 * 512-way nodes above leaves, each leaf the state words of 512 folios, so
 * any folio of a 2^36-page backing costs a leaf and at most three nodes.
 * Readers (lookups, pins, unpins) walk it under RCU; the owner adds nodes
 * and leaves under its own lock, and nodes and leaves that fall empty are
 * freed after a grace period.
 *
 * A folio freed while pinned is doomed rather than waited for: it leaves
 * the file at once (unpublished) but stays in the memfd, its bytes intact,
 * until its last pin drops, and the unpin punches it.  So nothing that frees
 * pages ever waits on a pin holder, who may be waiting on something else.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rcu.h"
#include "backing.h"

/* Folio state: present, doomed (freed under pins: the last unpin punches it), pin count. */
#define ST_PRESENT	0x8000U
#define ST_DOOMED	0x4000U
#define ST_PINS		0x3fffU
_Static_assert(ST_PINS == GM_PMEM_MAX_PINS, "the pin field holds GM_PMEM_MAX_PINS");

/* Three levels of 512-way nodes over the leaves: 9 * 3 + 9 = 36 bits of folio index. */
#define NODE_SHIFT	9
#define NODE_SLOTS	(1U << NODE_SHIFT)
#define TREE_LEVELS	3

static _Atomic int64_t frames_in_use[3];	/* by order: 0, 9, 18 */
static _Atomic int64_t meta_bytes;
/*
 * The budget of 4 KiB frames all backings may hold (0: none), and what they
 * hold and have reserved for allocations under way: an allocation reserves
 * what it lacks before it asks the kernel, so that two at once cannot both
 * pass the limit, and gives back what it did not use.
 */
static _Atomic int64_t budget_limit;
static _Atomic int64_t budget_held;

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

/*
 * Add @units folios (negative: take away) to the count of 4 KiB frames in
 * use; what is taken away leaves the budget too (what is added was
 * reserved there by budget_take()).
 */
static void account(struct gm_backing *b, int64_t units)
{
	int64_t pages = units * ((int64_t)1 << b->order);

	atomic_fetch_add(&frames_in_use[order_slot(b->order)], pages);
	if (pages < 0)
		atomic_fetch_add(&budget_held, pages);
}

void gm_pmem_set_limit(uint64_t pages)
{
	atomic_store(&budget_limit, (int64_t)pages);
}

uint64_t gm_pmem_limit(void)
{
	return (uint64_t)atomic_load(&budget_limit);
}

/* Reserve @pages frames.  Return: 0, or -ENOSPC past the limit (nothing reserved). */
static int budget_take(int64_t pages)
{
	int64_t limit = atomic_load(&budget_limit);
	int64_t held = atomic_fetch_add(&budget_held, pages) + pages;

	if (limit && held > limit) {
		atomic_fetch_sub(&budget_held, pages);
		return -ENOSPC;
	}
	return 0;
}

static void budget_give(int64_t pages)
{
	atomic_fetch_sub(&budget_held, pages);
}

/* ---- the tree of leaves ---- */

/* Units (folios) under one slot of a node at @level (1: the slot is a leaf). */
static uint64_t slot_span(unsigned int level)
{
	return 1ULL << (NODE_SHIFT * level);
}

static unsigned int slot_index(uint64_t unit, unsigned int level)
{
	return (unsigned int)(unit >> (NODE_SHIFT * level)) & (NODE_SLOTS - 1);
}

/*
 * The leaf of @unit, or NULL; then *@span (if not NULL) is how many units
 * from @unit's aligned block of that size have no leaf either, so that a
 * walk can skip them.  Under RCU, or the owner's lock.
 */
static struct gm_leaf *leaf_lookup(struct gm_backing *b, uint64_t unit, uint64_t *span)
{
	void *n = atomic_load_explicit(&b->root, memory_order_acquire);
	unsigned int level = TREE_LEVELS;

	if (span)
		*span = slot_span(TREE_LEVELS + 1);
	for (; n && level >= 1; level--) {
		if (span)
			*span = slot_span(level);
		n = atomic_load_explicit(&((struct gm_node *)n)->slot[slot_index(unit, level)],
					 memory_order_acquire);
	}
	return n;
}

static struct gm_leaf *leaf_of(struct gm_backing *b, uint64_t unit)
{
	return leaf_lookup(b, unit, NULL);
}

static _Atomic gm_state_t *word_of(struct gm_backing *b, uint64_t unit)
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

static void *meta_alloc(size_t bytes)
{
	void *p = calloc(1, bytes);

	if (p)
		atomic_fetch_add(&meta_bytes, (int64_t)bytes);
	return p;
}

/* The leaf of @unit, created (with the nodes above it) if needed.  Caller serialises changes. */
static struct gm_leaf *leaf_get(struct gm_backing *b, uint64_t unit)
{
	struct gm_node *n = atomic_load(&b->root);
	void *child;

	if (!n) {
		n = meta_alloc(sizeof(*n));
		if (!n)
			return NULL;
		atomic_store_explicit(&b->root, n, memory_order_release);
	}
	for (unsigned int level = TREE_LEVELS; level >= 1; level--) {
		void *_Atomic *slot = &n->slot[slot_index(unit, level)];

		child = atomic_load(slot);
		if (!child) {
			child = meta_alloc(level == 1 ? sizeof(struct gm_leaf) : sizeof(struct gm_node));
			if (!child)
				return NULL;	/* nodes made so far stay: empty, they go with the next put */
			atomic_store_explicit(slot, child, memory_order_release);
			n->used++;
		}
		n = child;
	}
	return (struct gm_leaf *)n;
}

static bool leaf_empty(struct gm_leaf *leaf)
{
	if (atomic_load(&leaf->nr_present))
		return false;
	for (unsigned int i = 0; i < GM_LEAF_UNITS; i++)
		if (atomic_load(&leaf->state[i]))
			return false;
	return true;
}

/*
 * Free the leaf of @unit if nothing in it is present, pinned or doomed, and
 * every node above it that this leaves empty.  Caller serialises changes.
 */
static void leaf_put(struct gm_backing *b, uint64_t unit)
{
	struct gm_node *path[TREE_LEVELS + 1];
	void *n = atomic_load(&b->root);
	unsigned int level;

	for (level = TREE_LEVELS; n && level >= 1; level--) {
		path[level] = n;
		n = atomic_load(&((struct gm_node *)n)->slot[slot_index(unit, level)]);
	}
	if (!n || !leaf_empty(n))
		return;
	/* Unlink bottom up: the leaf, then each node it was the last child of. */
	for (level = 1; level <= TREE_LEVELS; level++) {
		atomic_store(&path[level]->slot[slot_index(unit, level)], NULL);
		free_deferred(n, level == 1 ? sizeof(struct gm_leaf) : sizeof(struct gm_node));
		n = path[level];
		if (--path[level]->used)
			return;
	}
	atomic_store(&b->root, NULL);
	free_deferred(n, sizeof(struct gm_node));
}

/*
 * Call @fn on every leaf that exists for units [first, last), in order,
 * skipping empty subtrees whole.  Under the owner's lock.
 */
static void for_each_leaf(struct gm_backing *b, uint64_t first, uint64_t last,
			  void (*fn)(struct gm_backing *b, struct gm_leaf *leaf, uint64_t base,
				     uint64_t from, uint64_t to, void *arg), void *arg)
{
	uint64_t u = first, span;

	while (u < last) {
		struct gm_leaf *leaf = leaf_lookup(b, u, &span);
		uint64_t next = (u & ~(span - 1)) + span;

		if (leaf)
			fn(b, leaf, u & ~(uint64_t)(GM_LEAF_UNITS - 1), u, next < last ? next : last, arg);
		if (next <= u)
			break;	/* the last block of the index space */
		u = next;
	}
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

/* Bytes of a subtree's metadata. */
static int64_t tree_bytes(void *n, unsigned int level)
{
	int64_t bytes;

	if (!n)
		return 0;
	if (!level)
		return sizeof(struct gm_leaf);
	bytes = sizeof(struct gm_node);
	for (unsigned int i = 0; i < NODE_SLOTS; i++)
		bytes += tree_bytes(atomic_load(&((struct gm_node *)n)->slot[i]), level - 1);
	return bytes;
}

/* Free a subtree at once (no reader can reach it any more). */
static void tree_free(void *n, unsigned int level)
{
	if (n && level)
		for (unsigned int i = 0; i < NODE_SLOTS; i++)
			tree_free(atomic_load(&((struct gm_node *)n)->slot[i]), level - 1);
	free(n);
}

static void backing_free_rcu(struct rcu_head *head)
{
	struct gm_backing *b = (struct gm_backing *)head;

	gm_tsan_acquire();
	tree_free(atomic_load(&b->root), TREE_LEVELS);
	free(b);
}

void gm_backing_destroy(struct gm_backing *b)
{
	if (!b)
		return;
	gm_backing_unpublish(b, 0, GM_PMEM_MAX_PAGES);
	/* Closing the memfd frees its pages once no window maps them. */
	if (atomic_load(&b->fd) >= 0)
		close(atomic_load(&b->fd));
	gm_pmem_id_free(b->id);
	/* Given back now as far as anyone counts; freed once a stray unpin is done looking. */
	atomic_fetch_sub(&meta_bytes, tree_bytes(atomic_load(&b->root), TREE_LEVELS));
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
int gm_backing_memfd(struct gm_backing *b)
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

/*
 * The next run of folios in units [*@u, @end) that are not present: moves
 * *@u to its start and returns its length (0: none).  Caller serialises
 * changes.
 */
static uint64_t next_absent_run(struct gm_backing *b, uint64_t *u, uint64_t end)
{
	uint64_t p = *u, len = 0;

	while (p < end && (atomic_load(word_of(b, p)) & ST_PRESENT))
		p++;
	*u = p;
	while (p + len < end && !(atomic_load(word_of(b, p + len)) & ST_PRESENT))
		len++;
	return len;
}

/* Give back what a failed fallocate may have left in the non-present folios. */
static void unwind_alloc(struct gm_backing *b, int fd, uint64_t first, uint64_t end)
{
	uint64_t u = first, len;

	for (; (len = next_absent_run(b, &u, end)); u += len)
		punch(fd, u << b->order, len << b->order);
}

/*
 * fallocate the runs of folios in units [first, end) that are not present:
 * the kernel need not walk the ones it holds (refilling one punched page of
 * a 2 MiB range is one page's work).
 */
static int fill_absent(struct gm_backing *b, int fd, uint64_t first, uint64_t end)
{
	uint64_t u = first, len;

	for (; (len = next_absent_run(b, &u, end)); u += len)
		if (fallocate(fd, 0, (off_t)((u << b->order) << GM_PAGE_SHIFT),
			      (off_t)((len << b->order) << GM_PAGE_SHIFT)) < 0)
			return errno == ENOSPC || errno == ENOMEM ? -ENOMEM : -errno;
	return 0;
}

/* Folios in units [first, end) that are not present. */
static uint64_t count_absent(struct gm_backing *b, uint64_t first, uint64_t end)
{
	uint64_t u = first, len, n = 0;

	for (; (len = next_absent_run(b, &u, end)); u += len)
		n += len;
	return n;
}

int64_t gm_backing_alloc(struct gm_backing *b, uint64_t index, uint64_t nr)
{
	uint64_t first = index >> b->order, end = (index + nr) >> b->order, added = 0;
	int64_t reserved;
	int fd, ret;

	if (!nr || !folio_range_ok(b, index, nr))
		return -EINVAL;
	for (uint64_t u = first; u < end; u = (u | (GM_LEAF_UNITS - 1)) + 1)
		if (!leaf_get(b, u))
			return -ENOMEM;
	/* A doomed folio still holds its old bytes until its last unpin punches them. */
	for (uint64_t u = first; u < end; u++)
		if (atomic_load(word_of(b, u)) & ST_DOOMED)
			return -EAGAIN;
	fd = gm_backing_memfd(b);
	if (fd < 0)
		return fd;
	reserved = (int64_t)(count_absent(b, first, end) << b->order);
	ret = budget_take(reserved);
	if (ret)
		return ret;
	ret = fill_absent(b, fd, first, end);
	if (ret) {
		unwind_alloc(b, fd, first, end);
		budget_give(reserved);
		return ret;
	}
	for (uint64_t u = first; u < end; u++) {
		struct gm_leaf *leaf = leaf_of(b, u);
		gm_state_t old = atomic_fetch_or(&leaf->state[u & (GM_LEAF_UNITS - 1)], ST_PRESENT);

		if (!(old & ST_PRESENT)) {
			atomic_fetch_add(&leaf->nr_present, 1);
			added++;
		}
	}
	account(b, (int64_t)added);
	/* Another allocation may have filled some of them meanwhile: it reserved its own. */
	budget_give(reserved - (int64_t)(added << b->order));
	return (int64_t)(added << b->order);
}

/* The units [*first, *last) of a page range, clipped to what a backing spans. */
static void unit_range(struct gm_backing *b, uint64_t start, uint64_t end,
		       uint64_t *first, uint64_t *last)
{
	uint64_t limit = GM_PMEM_MAX_PAGES >> b->order;

	*first = start >> b->order;
	*last = end >> b->order;
	if (*last > limit)
		*last = limit;
}

/* Unpublish units [from, to) of @leaf (base: its first unit); count in *arg. */
static void unpublish_leaf(struct gm_backing *b, struct gm_leaf *leaf, uint64_t base,
			   uint64_t from, uint64_t to, void *arg)
{
	uint64_t *removed = arg;
	uint32_t n = 0;

	for (uint64_t u = from; u < to; u++) {
		_Atomic gm_state_t *w = &leaf->state[u - base];
		gm_state_t v = atomic_load(w), nv;

		do {
			if (!(v & ST_PRESENT))
				break;
			/* Pinned: doomed, punched by the last unpin. */
			nv = (v & ~ST_PRESENT) | ((v & ST_PINS) ? ST_DOOMED : 0);
		} while (!atomic_compare_exchange_weak(w, &v, nv));
		n += !!(v & ST_PRESENT);
	}
	/* Once a leaf, not once a page: a locked instruction each is a tenth of a punch. */
	atomic_fetch_sub(&leaf->nr_present, n);
	*removed += n;
}

uint64_t gm_backing_unpublish(struct gm_backing *b, uint64_t start, uint64_t end)
{
	uint64_t first, last, removed = 0;

	unit_range(b, start, end, &first, &last);
	for_each_leaf(b, first, last, unpublish_leaf, &removed);
	account(b, -(int64_t)removed);
	return removed << b->order;
}

struct release {
	int fd;
	int ret;
	uint64_t run;		/* first unit of the run to punch, or UINT64_MAX */
	uint64_t doomed;	/* folios left to their last unpin */
};

static void punch_run(struct gm_backing *b, struct release *r, uint64_t end)
{
	int ret;

	if (r->run == UINT64_MAX || r->fd < 0)
		goto out;
	ret = punch(r->fd, r->run << b->order, (end - r->run) << b->order);
	if (ret && !r->ret)
		r->ret = ret;
out:
	r->run = UINT64_MAX;
}

/* Punch units [from, to) of @leaf but the doomed ones, then give the leaf back if empty. */
static void release_leaf(struct gm_backing *b, struct gm_leaf *leaf, uint64_t base,
			 uint64_t from, uint64_t to, void *arg)
{
	struct release *r = arg;

	r->run = UINT64_MAX;
	for (uint64_t u = from; u < to; u++) {
		gm_state_t v = atomic_load(&leaf->state[u - base]);

		if (v & (ST_DOOMED | ST_PRESENT)) {
			r->doomed += !!(v & ST_DOOMED);
			punch_run(b, r, u);
			continue;
		}
		if (r->run == UINT64_MAX)
			r->run = u;
	}
	punch_run(b, r, to);
	leaf_put(b, base);
}

int gm_backing_release(struct gm_backing *b, uint64_t start, uint64_t end)
{
	struct release r = { .fd = atomic_load(&b->fd) };
	uint64_t first, last;

	unit_range(b, start, end, &first, &last);
	for_each_leaf(b, first, last, release_leaf, &r);
	return r.ret ? r.ret : (int)(r.doomed < INT_MAX ? r.doomed : INT_MAX);
}

static void count_doomed(struct gm_backing *b, struct gm_leaf *leaf, uint64_t base,
			 uint64_t from, uint64_t to, void *arg)
{
	uint64_t *doomed = arg;

	for (uint64_t u = from; u < to; u++)
		*doomed += !!(atomic_load(&leaf->state[u - base]) & ST_DOOMED);
}

uint64_t gm_backing_doomed(struct gm_backing *b, uint64_t start, uint64_t end)
{
	uint64_t first, last, doomed = 0;

	unit_range(b, start, end, &first, &last);
	gm_rcu_read_lock();
	for_each_leaf(b, first, last, count_doomed, &doomed);
	gm_rcu_read_unlock();
	return doomed;
}

/* ---- lookups and pins ---- */

bool gm_backing_present(struct gm_backing *b, uint64_t index)
{
	_Atomic gm_state_t *w;
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
	_Atomic gm_state_t *w;
	gm_state_t v;

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

/* The backing and unit of @pfn, or NULL.  Under rcu_read_lock(). */
static struct gm_backing *pfn_backing(gm_pfn_t pfn, uint64_t *unit)
{
	struct gm_backing *b = gm_pmem_id_lookup((uint32_t)(pfn >> GM_PMEM_INDEX_BITS));

	if (b)
		*unit = (pfn & (GM_PMEM_MAX_PAGES - 1)) >> b->order;
	return b;
}

void gm_pfn_unpin(gm_pfn_t pfn)
{
	struct gm_backing *b;
	_Atomic gm_state_t *w;
	uint64_t unit;
	gm_state_t v;

	gm_rcu_read_lock();
	b = pfn_backing(pfn, &unit);
	w = b ? word_of(b, unit) : NULL;
	if (!w)
		goto out;
	v = atomic_load(w);
	do {
		if (!(v & ST_PINS))
			goto out;	/* not pinned: a second unpin changes nothing */
	} while (!atomic_compare_exchange_weak(w, &v, v - 1));
	/* The last pin of a folio freed meanwhile: it goes now, then may be reused. */
	if ((v & ST_PINS) == 1 && (v & ST_DOOMED)) {
		punch(atomic_load(&b->fd), unit << b->order, 1ULL << b->order);
		atomic_fetch_and(w, ~ST_DOOMED);
	}
out:
	gm_rcu_read_unlock();
}

uint32_t gm_pfn_pins(gm_pfn_t pfn)
{
	_Atomic gm_state_t *w;
	uint32_t pins;

	struct gm_backing *b;
	uint64_t unit;

	gm_rcu_read_lock();
	b = pfn_backing(pfn, &unit);
	w = b ? word_of(b, unit) : NULL;
	pins = w ? atomic_load(w) & ST_PINS : 0;
	gm_rcu_read_unlock();
	return pins;
}

uint32_t gm_backing_pins(struct gm_backing *b, uint64_t index)
{
	_Atomic gm_state_t *w;
	uint32_t pins;

	gm_rcu_read_lock();
	w = word_of(b, index >> b->order);
	pins = w ? atomic_load(w) & ST_PINS : 0;
	gm_rcu_read_unlock();
	return pins;
}
