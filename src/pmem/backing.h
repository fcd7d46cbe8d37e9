/* SPDX-License-Identifier: MIT */
/* Private to pmem: the layout of a backing and the table of backing ids. */
#ifndef GM_PMEM_BACKING_H
#define GM_PMEM_BACKING_H

#include <stdatomic.h>
#include <stdint.h>
#include <urcu-bp.h>

#include "pmem.h"

/* A leaf holds the state words of 512 folios (one aligned 2 MiB of 4 KiB pages). */
#define GM_LEAF_SHIFT	9
#define GM_LEAF_UNITS	(1U << GM_LEAF_SHIFT)

/*
 * A folio's state: present, doomed, and up to 16,383 pins.  Two bytes, so
 * that the state of 8 GiB of 4 KiB pages (4 MiB) stays in a cache a random
 * lookup can hit: at four bytes it missed to memory on every lookup.
 */
typedef uint16_t gm_state_t;

struct gm_leaf {
	struct rcu_head rcu;			/* first: freed with free() */
	_Atomic uint32_t nr_present;		/* changed under the owner's lock */
	_Atomic gm_state_t state[GM_LEAF_UNITS];	/* see ST_* in backing.c */
};

/* A node of the tree above the leaves (backing.c). */
struct gm_node {
	struct rcu_head rcu;			/* first */
	uint32_t used;				/* children; changed under the owner's lock */
	void *_Atomic slot[512];		/* nodes, or leaves at the lowest level */
};

struct gm_backing {
	struct rcu_head rcu;			/* first */
	uint32_t id;
	unsigned int order;			/* folio order: 0, 9 or 18 */
	_Atomic int fd;				/* -1 until first use */
	struct gm_node *_Atomic root;		/* RCU; NULL while nothing is held */
};

/* backing.c: the backing's memfd, created on first use (any thread), or -errno. */
int gm_backing_memfd(struct gm_backing *b);

/*
 * ids.c: the process-wide table from a pfn's id bits to its backing, so that
 * put_unlock_pfn() needs nothing but the pfn.  A released id's slot is
 * reused under a new generation, so an old id never finds the new backing.
 * gm_pmem_id_alloc: 0, -EMFILE (262,143 backings alive), -ENOMEM.
 */
int gm_pmem_id_alloc(struct gm_backing *b);
void gm_pmem_id_free(uint32_t id);
/* The backing with @id, or NULL.  Under rcu_read_lock(). */
struct gm_backing *gm_pmem_id_lookup(uint32_t id);

#endif
