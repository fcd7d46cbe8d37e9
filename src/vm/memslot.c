/* SPDX-License-Identifier: MIT */
/*
 * Memslots: guest-physical ranges bound to file ranges, and their host
 * windows.  See lock-order.h for the lock order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm-internal.h"

static bool aligned(uint64_t v)
{
	return !(v & GM_PAGE_MASK);
}

void gm_vm_slots_write_lock(struct gm_vm *vm)
{
	gm_mutex_lock(&vm->convert_lock, GM_LOCK_CONVERT);
	gm_rwlock_wrlock(&vm->slots_lock, GM_LOCK_SLOTS);
}

void gm_vm_slots_write_unlock(struct gm_vm *vm)
{
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	gm_mutex_unlock(&vm->convert_lock, GM_LOCK_CONVERT);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

struct gm_slot *gm_vm_find_slot(struct gm_vm *vm, uint64_t gpa)
{
	gm_lock_assert_held_either(GM_LOCK_SLOTS, GM_LOCK_CONVERT);
	gpa = gm_canonical_gpa(gpa);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];

		if (s->used && gpa >= s->desc.gpa && gpa - s->desc.gpa < s->desc.size)
			return s;
	}
	return NULL;
}

static int check_file_range(struct gm_file *file, uint64_t offset, uint64_t size)
{
	int64_t fsize = gm_file_size(file);

	if (fsize < 0)
		return (int)fsize;
	if (offset + size < offset || offset + size > (uint64_t)fsize)
		return -EINVAL;
	return 0;
}

/* Does the kernel keep @file's pages (GM_PROVIDER_KERNEL)? */
static bool kernel_file(struct gm_file *file)
{
	const struct gm_provider *prov = gm_provider_find(file);

	return prov && (prov->flags & GM_PROVIDER_KERNEL);
}

/* Is @m a slot in place: one in-place file for both aliases, at one offset? */
static bool slot_in_place(const struct gm_memslot *m)
{
	return (m->flags & GM_SLOT_PRIVATE) && m->shared_file == m->private_file &&
	       gm_file_in_place(m->private_file) == 1;
}

/* Argument checks that need no VM state, in a fixed order. */
static int check_new_slot(const struct gm_memslot *m)
{
	bool private = m->flags & GM_SLOT_PRIVATE;
	uint64_t folio_mask;
	int ret;

	if (m->slot >= GM_VM_MAX_SLOTS || (m->flags & ~GM_SLOT_PRIVATE))
		return -EINVAL;
	if (!aligned(m->gpa) || !aligned(m->size) || !aligned(m->shared_offset) ||
	    !aligned(m->private_offset))
		return -EINVAL;
	if (m->gpa + m->size < m->gpa || m->gpa + m->size > GM_GUEST_SHARED_BIT)
		return -EINVAL;
	if (!m->shared_file || private != (m->private_file != NULL))
		return -EINVAL;
	if (gm_file_is_guest(m->shared_file) == 1 &&
	    (!slot_in_place(m) || m->shared_offset != m->private_offset))
		return -EINVAL;
	ret = check_file_range(m->shared_file, m->shared_offset, m->size);
	if (ret || !private)
		return ret;
	if (gm_file_is_guest(m->private_file) != 1 && !kernel_file(m->private_file))
		return -EPERM;
	/* Its pages' state would not follow the slot's: the host could read private ones. */
	if (gm_file_in_place(m->private_file) == 1 && !slot_in_place(m))
		return -EINVAL;
	/* A huge folio is mapped whole: keep the slot folio-aligned. */
	folio_mask = (1ULL << gm_file_page_shift(m->private_file)) - 1;
	if ((m->gpa | m->size | m->private_offset) & folio_mask)
		return -EINVAL;
	return 0;
}

/*
 * Does @m collide with another slot?  In KVM's order: the guest range
 * (-EEXIST), then the private file's range past its end (-EINVAL, as
 * guest_memfd's bind), then a file range already bound (-EEXIST).  Caller
 * holds slots_lock.
 */
static int check_collisions(struct gm_vm *vm, const struct gm_memslot *m)
{
	int ret;

	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		if (vm->slots[i].used && i != m->slot &&
		    ranges_overlap(m->gpa, m->size, vm->slots[i].desc.gpa, vm->slots[i].desc.size))
			return -EEXIST;
	if (m->private_file) {
		ret = check_file_range(m->private_file, m->private_offset, m->size);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		const struct gm_memslot *o = &vm->slots[i].desc;

		if (!vm->slots[i].used || i == m->slot)
			continue;
		if (m->shared_file == o->shared_file &&
		    ranges_overlap(m->shared_offset, m->size, o->shared_offset, o->size))
			return -EEXIST;
		if (m->private_file && m->private_file == o->private_file &&
		    ranges_overlap(m->private_offset, m->size, o->private_offset, o->size))
			return -EEXIST;
	}
	return 0;
}

/* Is @file bound as the private file of a slot other than @except? */
static bool private_file_in_use(struct gm_vm *vm, struct gm_file *file, unsigned int except)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		if (i != except && vm->slots[i].used && vm->slots[i].desc.private_file == file)
			return true;
	return false;
}

static void unmap_windows(struct gm_slot *s)
{
	if (s->shared_win && !s->mm->in_place)
		gm_munmap(s->desc.shared_file, s->shared_win, s->desc.size);
	gm_private_map_drop(&s->mm->shared_window);
	gm_private_map_drop(&s->mm->window);
	s->shared_win = NULL;
	s->private_win = NULL;
}

/*
 * The shared window: the shared file's own mapping, or in place the
 * provider's second mapping of the one file.  Holding the size: a truncate
 * under the guest would be SIGBUS in the VMM.  A private slot's shared
 * window reserves no huge pages: its pages come through the fault path's
 * populate, which fails cleanly, and reserving them all would leave none
 * for the private side.
 */
static int map_shared_window(struct gm_slot *s)
{
	const struct gm_memslot *m = &s->desc;
	int flags = MAP_SHARED | GM_MAP_HOLD_SIZE;
	void *p;
	int ret;

	if (s->mm->in_place) {
		ret = gm_private_map_make(&s->mm->shared_window, s->mm->mem_ops, m->shared_file,
					  m->shared_offset, m->size, m->gpa);
		if (!ret)
			s->shared_win = s->mm->shared_window.addr;
		return ret;
	}
	if (m->flags & GM_SLOT_PRIVATE)
		flags |= MAP_NORESERVE;
	ret = gm_mmap(m->shared_file, m->size, PROT_READ | PROT_WRITE, flags,
		      (off_t)m->shared_offset, &p);
	if (!ret)
		s->shared_win = p;
	return ret;
}

/* Each window mapped once; a private slot's both watched by userfaultfd. */
static int map_windows(struct gm_vm *vm, struct gm_slot *s)
{
	const struct gm_memslot *m = &s->desc;
	int ret;

	ret = map_shared_window(s);
	if (ret || !(m->flags & GM_SLOT_PRIVATE))
		return ret;
	/* The private window: the provider's one mapping of the file range. */
	ret = gm_private_map_make(&s->mm->window, s->mm->mem_ops, m->private_file,
				  m->private_offset, m->size, m->gpa);
	if (!ret) {
		s->private_win = s->mm->window.addr;
		ret = gm_vm_uffd_register(vm, s);
	}
	if (ret)
		unmap_windows(s);
	return ret;
}

static void slot_free_state(struct gm_vm *vm, struct gm_slot *s)
{
	if (s->mm) {
		gm_vm_uffd_unregister(vm, s);
		if (s->mm->hook)
			s->mm->hook->release(s);
		gm_slot_aliases_release(s);
		unmap_windows(s);
		free(s->mm->s2_pfn);
		free(s->mm->s2_level);
		free(s->mm->kept);
		free(s->mm);
	}
	free(s->private_attr);
	free(s->dirty);
	free(s->in_window);
	gm_file_put(s->desc.shared_file);
	gm_file_put(s->desc.private_file);
	memset(s, 0, sizeof(*s));
}

/*
 * The shared file's provider: the fault path asks it to populate the
 * shared window's pages.  Return: 0, or -EOPNOTSUPP (no provider serves
 * the file, or it cannot populate one the library maps itself).
 */
static int shared_provider(struct gm_slot_mm *mm, struct gm_file *file)
{
	const struct gm_provider *prov = gm_provider_find(file);

	if (!prov || !prov->mem_ops->populate)
		return -EOPNOTSUPP;
	mm->shared_ops = prov->mem_ops;
	mm->kernel_memory = prov->flags & GM_PROVIDER_KERNEL;
	return 0;
}

/*
 * In place, the pages' attributes are the file's: start from them, a run of
 * private pages at a time (private_attr starts all shared).
 */
static void read_file_attributes(struct gm_slot *s)
{
	struct gm_file *file = s->desc.private_file;
	int64_t base = (int64_t)s->desc.private_offset, end = base + (int64_t)s->desc.size;
	int64_t at = base;

	while (at < end) {
		int64_t private = gm_file_find_attributes(file, at, GM_FILE_ATTR_PRIVATE);
		int64_t shared;

		if (private < 0 || private >= end)
			return;
		shared = gm_file_find_attributes(file, private, 0);
		if (shared < 0 || shared > end)
			shared = end;
		for (int64_t p = private; p < shared; p += GM_PAGE_SIZE)
			atomic_init(&s->private_attr[(p - base) >> GM_PAGE_SHIFT], true);
		at = shared;
	}
}

static int slot_alloc_state(struct gm_vm *vm, struct gm_slot *s, const struct gm_memslot *m,
			    const struct gm_mem_ops *ops)
{
	int ret;

	s->desc = *m;
	s->nr_pages = m->size >> GM_PAGE_SHIFT;
	gm_file_get(m->shared_file);
	if (m->private_file)
		gm_file_get(m->private_file);
	s->mm = calloc(1, sizeof(*s->mm));
	if (!s->mm) {
		ret = -ENOMEM;
		goto err;
	}
	s->mm->mem_ops = ops;
	ret = shared_provider(s->mm, m->shared_file);
	if (ret)
		goto err;
	if (m->private_file && kernel_file(m->private_file))
		s->mm->kernel_memory = true;
	s->mm->in_place = slot_in_place(m);
	if (m->flags & GM_SLOT_PRIVATE) {
		s->private_attr = calloc(s->nr_pages, sizeof(*s->private_attr));
		s->mm->s2_pfn = malloc(s->nr_pages * sizeof(*s->mm->s2_pfn));
		s->mm->s2_level = calloc(s->nr_pages, 1);
		s->in_window = calloc(s->nr_pages, sizeof(*s->in_window));
		if (s->mm->in_place)
			s->mm->kept = calloc(s->nr_pages, 1);
		if (!s->private_attr || !s->mm->s2_pfn || !s->mm->s2_level || !s->in_window ||
		    (s->mm->in_place && !s->mm->kept)) {
			ret = -ENOMEM;
			goto err;
		}
		for (uint64_t i = 0; i < s->nr_pages; i++)
			s->mm->s2_pfn[i] = GM_PFN_NONE;
		if (s->mm->in_place)
			read_file_attributes(s);
	}
	ret = map_windows(vm, s);
	if (ret)
		goto err;
	return 0;
err:
	slot_free_state(vm, s);
	return ret;
}

/*
 * Delete slot @id.  Caller holds memslot_lock.  The engine lets go of the
 * windows with no vm lock held: it waits for vCPUs, and a vCPU may be
 * waiting on a window fault that the fault thread serves under slots_lock.
 */
static int slot_delete(struct gm_vm *vm, unsigned int id)
{
	struct gm_slot *s = &vm->slots[id], old;
	bool last_use, used;

	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	used = s->used;
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	/* As KVM_SET_USER_MEMORY_REGION: deleting a slot that is not there is an error. */
	if (!used)
		return -EINVAL;
	vm->engine->slot_del(vm, s, id);
	gm_vm_slots_write_lock(vm);
	gm_mutex_lock(&vm->bind_lock, GM_LOCK_BIND);
	old = *s;
	memset(s, 0, sizeof(*s));
	gm_mutex_unlock(&vm->bind_lock, GM_LOCK_BIND);
	last_use = old.desc.private_file && !private_file_in_use(vm, old.desc.private_file, id);
	gm_vm_uffd_unregister(vm, &old);
	gm_vm_slots_write_unlock(vm);

	/* Unregistering waits for callbacks: never under slots_lock. */
	if (last_use)
		gm_unregister_guest(old.desc.private_file, &vm->owner);
	gm_vm_slot_forget(vm, &old);
	slot_free_state(vm, &old);
	return 0;
}

static int register_private(struct gm_vm *vm, const struct gm_memslot *m,
			    const struct gm_mem_ops **ops)
{
	int ret;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		if (vm->slots[i].used && vm->slots[i].desc.private_file == m->private_file) {
			*ops = vm->slots[i].mm->mem_ops;
			gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
			return 0;	/* this VM holds it already */
		}
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	ret = gm_register_guest(m->private_file, &vm->owner, &gm_vm_guest_ops, ops);
	return ret == 0 ? 1 : ret;	/* 1: registered by this call */
}

/* Publish or withdraw slot @s for faults and invalidations. */
static void slot_publish(struct gm_vm *vm, struct gm_slot *s, const struct gm_slot *state)
{
	gm_vm_slots_write_lock(vm);
	gm_mutex_lock(&vm->bind_lock, GM_LOCK_BIND);
	if (state)
		*s = *state;
	else
		memset(s, 0, sizeof(*s));
	gm_mutex_unlock(&vm->bind_lock, GM_LOCK_BIND);
	gm_vm_slots_write_unlock(vm);
}

/*
 * Create slot m->slot.  Caller holds memslot_lock.  The slot is filled in
 * before the engine sees it, and used (reachable by faults) once the
 * engine has it; the engine runs with no vm lock held (see slot_delete).
 */
static int slot_create(struct gm_vm *vm, const struct gm_memslot *m)
{
	struct gm_slot *s = &vm->slots[m->slot], state = { 0 };
	const struct gm_mem_ops *ops = NULL;
	int registered = 0, ret;

	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	if (m->private_file) {
		registered = register_private(vm, m, &ops);
		if (registered < 0)
			return registered;
	}
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	ret = s->used ? -EINVAL : check_collisions(vm, m);
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	if (ret)
		goto err_unregister;
	ret = slot_alloc_state(vm, &state, m, ops);
	if (ret)
		goto err_unregister;
	slot_publish(vm, s, &state);
	ret = vm->engine->slot_add(vm, s, m->slot);
	if (ret) {
		slot_publish(vm, s, NULL);
		slot_free_state(vm, &state);
		goto err_unregister;
	}
	state.used = true;
	slot_publish(vm, s, &state);
	return 0;

err_unregister:
	if (registered == 1)
		gm_unregister_guest(m->private_file, &vm->owner);
	return ret;
}

/*
 * Move or resize ordinary slot m->slot, all or nothing: the new windows are
 * made before the old slot goes, and the old one comes back if the engine
 * will not take the new.  Caller holds memslot_lock.
 */
static int slot_replace(struct gm_vm *vm, const struct gm_memslot *m)
{
	struct gm_slot *s = &vm->slots[m->slot], state = { 0 }, old;
	const struct gm_mem_ops *ops = NULL;
	int registered = 0, ret;

	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	if (m->private_file) {
		registered = register_private(vm, m, &ops);
		if (registered < 0)
			return registered;
	}
	ret = slot_alloc_state(vm, &state, m, ops);
	if (ret)
		goto err_unregister;
	vm->engine->slot_del(vm, s, m->slot);
	old = *s;
	slot_publish(vm, s, &state);
	ret = vm->engine->slot_add(vm, s, m->slot);
	if (ret) {
		slot_publish(vm, s, &old);
		vm->engine->slot_add(vm, s, m->slot);	/* it had it a moment ago */
		slot_free_state(vm, &state);
		goto err_unregister;
	}
	state.used = true;
	slot_publish(vm, s, &state);
	slot_free_state(vm, &old);
	return 0;

err_unregister:
	if (registered == 1)
		gm_unregister_guest(m->private_file, &vm->owner);
	return ret;
}

/* Create, or move an ordinary slot.  Caller holds memslot_lock. */
static int slot_change(struct gm_vm *vm, const struct gm_memslot *m)
{
	struct gm_slot *s = &vm->slots[m->slot];
	bool used, was_private;
	int ret;

	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	used = s->used;
	was_private = used && (s->desc.flags & GM_SLOT_PRIVATE);
	ret = check_collisions(vm, m);
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	/* A bound private slot can only be deleted, never changed. */
	if (was_private)
		return -EINVAL;
	if (ret)
		return ret;
	return used ? slot_replace(vm, m) : slot_create(vm, m);
}

int gm_vm_set_memslot(struct gm_vm *vm, const struct gm_memslot *m)
{
	int ret;

	if (!vm || !m)
		return -EFAULT;
	if (m->slot >= GM_VM_MAX_SLOTS)
		return -EINVAL;
	if (m->size)
		ret = check_new_slot(m);
	else
		ret = 0;
	if (ret)
		return ret;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	ret = m->size ? slot_change(vm, m) : slot_delete(vm, m->slot);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return ret;
}

void gm_vm_slots_release(struct gm_vm *vm)
{
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			slot_delete(vm, i);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
}
