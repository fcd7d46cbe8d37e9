/* SPDX-License-Identifier: MIT */
/*
 * Backing ids: a two-level table read without locks (RCU: a backing is freed
 * a grace period after its id is cleared), written under id_lock.
 *
 * An id is a table slot and a generation.  A released slot goes to the back
 * of a queue and comes back with its generation bumped, so a pfn that
 * outlived its backing (a caller's stale put_unlock_pfn) names no backing,
 * not the next one to take the slot: its page cannot be unpinned under
 * another file's owner.  Slots are reused only once ID_QUARANTINE others
 * wait behind them (new slots are taken till then), so an old id comes back
 * only after about ID_QUARANTINE << 10 frees: the generation must wrap.
 *
 * id_lock is GM_LOCK_ID, innermost (lock-order.h): nothing is called under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "backing.h"
#include "lock-order.h"

#define ID_BITS		(64 - GM_PMEM_INDEX_BITS)	/* 28 */
#define ID_SLOT_BITS	18				/* backings alive at once */
#define ID_SLOTS	(1U << ID_SLOT_BITS)
#define ID_GEN_MASK	((1U << (ID_BITS - ID_SLOT_BITS)) - 1)
#define ID_LEAF_BITS	12
#define ID_LEAF_SIZE	(1U << ID_LEAF_BITS)
#define ID_DIR_SIZE	(ID_SLOTS >> ID_LEAF_BITS)
/* Released slots wait behind this many others before their reuse. */
#define ID_QUARANTINE	1024

/* The pools' global state, as DESIGN.md allows: the id table and its free queue. */
static struct gm_backing *_Atomic *_Atomic id_dir[ID_DIR_SIZE];
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
/* Released ids, oldest first (a ring of cap_free); under id_lock. */
static uint32_t *free_ids;
static uint32_t free_head, nr_free, cap_free;
static uint32_t next_slot = 1;		/* slots at or past it were never used; 0 never is */

static uint32_t id_slot_of(uint32_t id)
{
	return id & (ID_SLOTS - 1);
}

static struct gm_backing *_Atomic *id_slot(uint32_t id, bool create)
{
	uint32_t slot = id_slot_of(id);
	struct gm_backing *_Atomic *leaf = atomic_load_explicit(&id_dir[slot >> ID_LEAF_BITS],
								memory_order_acquire);

	if (!leaf && create) {
		leaf = calloc(ID_LEAF_SIZE, sizeof(*leaf));
		if (!leaf)
			return NULL;
		atomic_store_explicit(&id_dir[slot >> ID_LEAF_BITS], leaf, memory_order_release);
	}
	return leaf ? &leaf[slot & (ID_LEAF_SIZE - 1)] : NULL;
}

/* The next id to hand out, or 0 when every slot is taken.  Under id_lock. */
static uint32_t id_take(void)
{
	uint32_t old, gen;

	if (nr_free <= ID_QUARANTINE && next_slot < ID_SLOTS)
		return next_slot++;
	if (!nr_free)
		return 0;
	old = free_ids[free_head];
	free_head = (free_head + 1) % cap_free;
	nr_free--;
	gen = ((old >> ID_SLOT_BITS) + 1) & ID_GEN_MASK;
	return gen << ID_SLOT_BITS | id_slot_of(old);
}

int gm_pmem_id_alloc(struct gm_backing *b)
{
	struct gm_backing *_Atomic *slot;
	uint32_t id;
	int ret = 0;

	gm_mutex_lock(&id_lock, GM_LOCK_ID);
	id = id_take();
	if (!id) {
		ret = -EMFILE;
		goto out;
	}
	slot = id_slot(id, true);
	if (!slot) {
		next_slot--;	/* only a new slot can need a new leaf of the table */
		ret = -ENOMEM;
		goto out;
	}
	b->id = id;
	atomic_store_explicit(slot, b, memory_order_release);
out:
	gm_mutex_unlock(&id_lock, GM_LOCK_ID);
	return ret;
}

/* Make room for one more released id, keeping the queue's order.  Under id_lock. */
static int free_queue_grow(void)
{
	uint32_t cap = cap_free ? 2 * cap_free : 256;
	uint32_t *p = malloc(cap * sizeof(*p));

	if (!p)
		return -ENOMEM;
	for (uint32_t i = 0; i < nr_free; i++)
		p[i] = free_ids[(free_head + i) % cap_free];
	free(free_ids);
	free_ids = p;
	free_head = 0;
	cap_free = cap;
	return 0;
}

void gm_pmem_id_free(uint32_t id)
{
	gm_mutex_lock(&id_lock, GM_LOCK_ID);
	atomic_store(id_slot(id, false), NULL);
	/* Without room the slot is simply never reused. */
	if (nr_free == cap_free && free_queue_grow())
		goto out;
	free_ids[(free_head + nr_free) % cap_free] = id;
	nr_free++;
out:
	gm_mutex_unlock(&id_lock, GM_LOCK_ID);
}

struct gm_backing *gm_pmem_id_lookup(uint32_t id)
{
	struct gm_backing *_Atomic *slot;
	struct gm_backing *b;

	if (id >= (1U << ID_BITS))
		return NULL;
	slot = id_slot(id, false);
	b = slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
	/* Another generation of the slot: a stale pfn's id names nothing. */
	return b && b->id == id ? b : NULL;
}
