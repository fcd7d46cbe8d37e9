/* SPDX-License-Identifier: MIT */
/*
 * Backing ids: a two-level table read without locks (RCU: a backing is freed
 * a grace period after its id is cleared), written under id_lock.  Released
 * ids are reused before new ones, so the table stays about as large as the
 * most backings that lived at once.
 *
 * id_lock is GM_LOCK_ID, innermost (lock-order.h): nothing is called under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "backing.h"
#include "lock-order.h"

#define ID_BITS		(64 - GM_PMEM_INDEX_BITS)	/* 28 */
#define ID_LEAF_BITS	12
#define ID_LEAF_SIZE	(1U << ID_LEAF_BITS)
#define ID_DIR_SIZE	(1U << (ID_BITS - ID_LEAF_BITS))

/* The pools' global state, as DESIGN.md allows: the id table and its free list. */
static struct gm_backing *_Atomic *_Atomic id_dir[ID_DIR_SIZE];
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *free_ids;		/* a stack of released ids; under id_lock */
static uint32_t nr_free, cap_free;
static uint32_t next_id = 1;		/* ids at or past it were never used; 0 is never used */

static struct gm_backing *_Atomic *id_slot(uint32_t id, bool create)
{
	struct gm_backing *_Atomic *leaf = atomic_load_explicit(&id_dir[id >> ID_LEAF_BITS],
								memory_order_acquire);

	if (!leaf && create) {
		leaf = calloc(ID_LEAF_SIZE, sizeof(*leaf));
		if (!leaf)
			return NULL;
		atomic_store_explicit(&id_dir[id >> ID_LEAF_BITS], leaf, memory_order_release);
	}
	return leaf ? &leaf[id & (ID_LEAF_SIZE - 1)] : NULL;
}

int gm_pmem_id_alloc(struct gm_backing *b)
{
	struct gm_backing *_Atomic *slot;
	bool reused;
	uint32_t id;
	int ret = 0;

	gm_mutex_lock(&id_lock, GM_LOCK_ID);
	reused = nr_free;
	if (reused) {
		id = free_ids[--nr_free];
	} else if (next_id < (1U << ID_BITS) - 1) {
		id = next_id++;
	} else {
		ret = -EMFILE;
		goto out;
	}
	slot = id_slot(id, true);
	if (!slot) {
		if (reused)
			nr_free++;	/* put it back where it was */
		else
			next_id--;
		ret = -ENOMEM;
		goto out;
	}
	b->id = id;
	atomic_store_explicit(slot, b, memory_order_release);
out:
	gm_mutex_unlock(&id_lock, GM_LOCK_ID);
	return ret;
}

void gm_pmem_id_free(uint32_t id)
{
	gm_mutex_lock(&id_lock, GM_LOCK_ID);
	atomic_store(id_slot(id, false), NULL);
	if (nr_free == cap_free) {
		uint32_t cap = cap_free ? 2 * cap_free : 256;
		uint32_t *p = realloc(free_ids, cap * sizeof(*p));

		/* Without room the id is simply never reused. */
		if (!p)
			goto out;
		free_ids = p;
		cap_free = cap;
	}
	free_ids[nr_free++] = id;
out:
	gm_mutex_unlock(&id_lock, GM_LOCK_ID);
}

struct gm_backing *gm_pmem_id_lookup(uint32_t id)
{
	struct gm_backing *_Atomic *slot;

	if (id >= (1U << ID_BITS))
		return NULL;
	slot = id_slot(id, false);
	return slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
}
