/* SPDX-License-Identifier: MIT */
/*
 * Dirty logging of a memslot's pages, private and shared alike.
 *
 * The log is a bitmap per slot, set lock-free by whoever changes a page:
 * the engine's record of guest writes (emu: a write hook; kvm: KVM's own
 * dirty log, moved in at each harvest), conversions and invalidations
 * (which zero pages), and host writes through gm_vm_write_shared().  A
 * harvest swaps each word for zero, then waits until no vCPU is inside an
 * instruction whose write was recorded before the swap (engine sync), so
 * that every page it reports holds its new bytes when it returns.
 */
#include <errno.h>
#include <stdlib.h>

#include "vm-internal.h"

#define BITS	64

static uint64_t bitmap_words(const struct gm_slot *s)
{
	return (s->nr_pages + BITS - 1) / BITS;
}

void gm_slot_mark_dirty(struct gm_slot *s, uint64_t first, uint64_t n)
{
	_Atomic uint64_t *d = s->dirty;
	uint64_t end = first + n;

	if (!d)
		return;
	if (end > s->nr_pages)
		end = s->nr_pages;
	while (first < end) {
		uint64_t bit = first % BITS, span = BITS - bit;
		uint64_t mask;

		if (span > end - first)
			span = end - first;
		mask = (span == BITS ? ~0ULL : ((1ULL << span) - 1)) << bit;
		atomic_fetch_or_explicit(&d[first / BITS], mask, memory_order_relaxed);
		first += span;
	}
}

/* The used slot @id, or NULL.  Caller holds memslot_lock. */
static struct gm_slot *logged_slot(struct gm_vm *vm, uint32_t id)
{
	gm_lock_assert_held(GM_LOCK_MEMSLOT);
	if (id >= GM_VM_MAX_SLOTS || !vm->slots[id].used)
		return NULL;
	return &vm->slots[id];
}

static void set_bitmap(struct gm_vm *vm, struct gm_slot *s, _Atomic uint64_t *bitmap)
{
	gm_vm_slots_write_lock(vm);
	gm_mutex_lock(&vm->bind_lock, GM_LOCK_BIND);
	s->dirty = bitmap;
	gm_mutex_unlock(&vm->bind_lock, GM_LOCK_BIND);
	gm_vm_slots_write_unlock(vm);
}

int gm_vm_dirty_log_start(struct gm_vm *vm, uint32_t id)
{
	_Atomic uint64_t *bitmap;
	struct gm_slot *s;
	int ret = 0;

	if (!vm)
		return -EFAULT;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	s = logged_slot(vm, id);
	if (!s) {
		ret = -EINVAL;
		goto out;
	}
	if (s->dirty) {
		ret = -EEXIST;
		goto out;
	}
	bitmap = calloc(bitmap_words(s), sizeof(*bitmap));
	if (!bitmap) {
		ret = -ENOMEM;
		goto out;
	}
	set_bitmap(vm, s, bitmap);
	ret = vm->engine->dirty_log ? vm->engine->dirty_log(vm, s, id, true) : 0;
	if (ret) {
		set_bitmap(vm, s, NULL);
		free(bitmap);
	}
out:
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return ret;
}

int64_t gm_vm_dirty_harvest(struct gm_vm *vm, uint32_t id, uint64_t *bitmap)
{
	struct gm_slot *s = logged_slot(vm, id);
	int64_t dirty = 0;
	int ret;

	if (!s || !s->dirty)
		return -EINVAL;
	ret = vm->engine->dirty_log_sync ? vm->engine->dirty_log_sync(vm, s, id) : 0;
	if (ret)
		return ret;
	for (uint64_t i = 0; i < bitmap_words(s); i++) {
		bitmap[i] = atomic_exchange(&s->dirty[i], 0);
		dirty += __builtin_popcountll(bitmap[i]);
	}
	/* Writes recorded before the swap have landed once every vCPU is between instructions. */
	if (vm->engine->sync)
		vm->engine->sync(vm);
	return dirty;
}

int64_t gm_vm_dirty_log_get(struct gm_vm *vm, uint32_t id, uint64_t *bitmap)
{
	int64_t dirty;

	if (!vm || !bitmap)
		return -EFAULT;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	dirty = gm_vm_dirty_harvest(vm, id, bitmap);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return dirty;
}

int gm_vm_dirty_log_stop(struct gm_vm *vm, uint32_t id)
{
	_Atomic uint64_t *bitmap;
	struct gm_slot *s;
	int ret = 0;

	if (!vm)
		return -EFAULT;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	s = logged_slot(vm, id);
	if (!s || !s->dirty) {
		ret = -EINVAL;
		goto out;
	}
	if (vm->engine->dirty_log)
		vm->engine->dirty_log(vm, s, id, false);
	bitmap = s->dirty;
	set_bitmap(vm, s, NULL);
	free(bitmap);
out:
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return ret;
}
