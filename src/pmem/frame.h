/* SPDX-License-Identifier: MIT */
/* Per-frame metadata of the pmem pools (private to the library). */
#ifndef GM_PMEM_FRAME_H
#define GM_PMEM_FRAME_H

#include <stdatomic.h>
#include <stdint.h>

#include <guestmem/pmem.h>

/*
 * 16 bytes per 4 KiB frame.  Only the first frame of an allocated block
 * (its head) carries the flags; pins are counted on the frame that
 * get_lock_pfn returned, which for a huge folio is its head.
 */
struct gm_frame {
	_Atomic uint32_t pins;		/* GM_PINS_WAITER | count */
	_Atomic uint32_t flags;		/* GM_FRAME_* | order << GM_FRAME_ORDER_SHIFT */
	_Atomic uint32_t file_id;	/* owner file, for checks */
	_Atomic uint32_t index;		/* page index in the owner file */
};

#define GM_PINS_WAITER		0x80000000U
#define GM_FRAME_ALLOCATED	0x1U
#define GM_FRAME_ORDER_SHIFT	8

static inline unsigned int gm_frame_flags_order(uint32_t flags)
{
	return (flags >> GM_FRAME_ORDER_SHIFT) & 0xff;
}

/* The metadata of @pfn, or NULL if no pool holds it. */
struct gm_frame *gm_frame_of(gm_pfn_t pfn);

#endif
