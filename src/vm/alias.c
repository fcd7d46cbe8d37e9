/* SPDX-License-Identifier: MIT */
/*
 * Mappings of a slot's private file, and the library's own aliases of a
 * slot's files.
 *
 * A private file is mapped by its provider (map_range) at an address the
 * vm layer picks: inside a reservation, so that the mapping is congruent
 * with guest addresses modulo 1 GiB and a huge folio can be mapped whole.
 * The window the guest sees is one such mapping; the private alias is
 * another, never registered with userfaultfd, through which the library
 * writes a launch's and a restore's pages and reads a snapshot's, after
 * pinning them (gm_slot_private_pin): a pinned page is present in the file,
 * so touching it through the alias never faults a hole in.  In place, the
 * one private alias serves both sides: a host mapping (gm_mmap) of the file
 * would make every conversion to private fail.
 */
#include <errno.h>
#include <sched.h>
#include <sys/mman.h>

#include "vm-internal.h"

int gm_private_map_make(struct gm_private_map *map, const struct gm_mem_ops *ops,
			struct gm_file *file, uint64_t offset, uint64_t size, uint64_t gpa)
{
	size_t len = size + 2 * GM_WINDOW_ALIGN;
	uintptr_t base;
	uint8_t *addr;
	void *p;
	int ret;

	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	base = ((uintptr_t)p + GM_WINDOW_ALIGN - 1) & ~(uintptr_t)(GM_WINDOW_ALIGN - 1);
	addr = (uint8_t *)base + (gpa & (GM_WINDOW_ALIGN - 1));
	ret = ops->map_range(file, offset, size, addr);
	if (ret) {
		munmap(p, len);
		return ret;
	}
	map->addr = addr;
	map->reservation = p;
	map->reservation_len = len;
	return 0;
}

void gm_private_map_drop(struct gm_private_map *map)
{
	if (map->reservation)
		munmap(map->reservation, map->reservation_len);
	map->addr = NULL;
	map->reservation = NULL;
	map->reservation_len = 0;
}

int gm_slot_aliases(struct gm_vm *vm, struct gm_slot *s)
{
	const struct gm_memslot *m = &s->desc;
	struct gm_private_map private = { 0 };
	void *shared = NULL;
	int ret;

	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	if (s->mm->shared_alias)
		return 0;
	/* In place, one alias for both: the shared one is no host mapping. */
	if (!s->mm->in_place) {
		ret = gm_mmap(m->shared_file, m->size, PROT_READ | PROT_WRITE,
			      MAP_SHARED | GM_MAP_HOLD_SIZE, (off_t)m->shared_offset, &shared);
		if (ret)
			return ret;
	}
	if (m->flags & GM_SLOT_PRIVATE) {
		ret = gm_private_map_make(&private, s->mm->mem_ops, m->private_file,
					  m->private_offset, m->size, m->gpa);
		if (ret) {
			if (shared)
				gm_munmap(m->shared_file, shared, m->size);
			return ret;
		}
	}
	if (s->mm->in_place)
		shared = private.addr;
	gm_vm_slots_write_lock(vm);
	s->mm->private_alias = private;
	s->mm->shared_alias = shared;
	gm_vm_slots_write_unlock(vm);
	return 0;
}

void gm_slot_aliases_release(struct gm_slot *s)
{
	if (s->mm->shared_alias && !s->mm->in_place)
		gm_munmap(s->desc.shared_file, s->mm->shared_alias, s->desc.size);
	s->mm->shared_alias = NULL;
	gm_private_map_drop(&s->mm->private_alias);
}

int gm_slot_private_pin(struct gm_slot *s, uint64_t page, unsigned int *order, gm_pfn_t *pfn)
{
	uint64_t index = (s->desc.private_offset >> GM_PAGE_SHIFT) + page;
	int ret;

	/* -EAGAIN: freed under someone's pin, gone when it drops. */
	while ((ret = s->mm->mem_ops->get_lock_pfn(s->desc.private_file, index, pfn,
						   order)) == -EAGAIN)
		sched_yield();
	return ret;
}
