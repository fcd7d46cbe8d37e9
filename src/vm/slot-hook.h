/* SPDX-License-Identifier: MIT */
/*
 * A slot's hook: how a layer above vm that still owes a slot's pages (a
 * lazy restore, src/snapshot/lazy.c) plugs into the fault path.  The vm
 * layer knows nothing of what the pages are or where they come from; it
 * asks the hook before it lets a range in, and tells it when pages lose
 * their contents.
 *
 * A hook is installed on a slot before the slot is published to faults
 * (slot->mm->hook and ->hook_data, under memslot_lock), and stays until
 * the slot goes away, when ->release is called with no vm lock held.
 */
#ifndef GM_VM_SLOT_HOOK_H
#define GM_VM_SLOT_HOOK_H

#include <stdbool.h>
#include <stdint.h>

struct gm_vm;
struct gm_slot;

struct gm_slot_hook {
	/*
	 * Bring in what is owed of pages [first, first + n) whose attribute
	 * is @private, before anything lets them in.  Caller holds slots_lock
	 * (read), no other vm lock and no pin: the hook may take frames
	 * through get_lock_pfn and mmu_lock itself.  A failure stops the run
	 * (gm_vm_fail); the page is then left zero.
	 */
	void (*fill)(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t n,
		     bool private);
	/* Is a page of [first, first + n) being filled: let nothing in yet.  Under mmu_lock. */
	bool (*busy)(struct gm_slot *s, uint64_t first, uint64_t n);
	/* [first, first + n) were converted or punched: nothing is owed for them.  Under mmu_lock. */
	void (*forget)(struct gm_slot *s, uint64_t first, uint64_t n);
	/* The slot is going away, unpublished: free what the hook holds. */
	void (*release)(struct gm_slot *s);
};

#endif
