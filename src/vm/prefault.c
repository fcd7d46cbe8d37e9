/* SPDX-License-Identifier: MIT */
/*
 * Population ahead of the guest.  A guest touching its RAM in order pays,
 * per 2 MiB, one exit to the VMM plus the host's allocation and zeroing of
 * 512 pages.  When a vCPU faults a whole 2 MiB range, this thread takes the
 * next few ranges through the same fault path (and its invalidation
 * protocol) on another core, so that the guest finds them mapped.
 *
 * Only private ranges of private slots are populated, and only while a run
 * is in progress; a range converted or punched meanwhile is simply lost to
 * the usual invalidation.
 */
#include <errno.h>

#include "vm-internal.h"

#define PREFAULT_AHEAD	4	/* 2 MiB ranges past the one the guest faulted */

void gm_vm_prefault_init(struct gm_vm *vm)
{
	pthread_mutex_init(&vm->prefault_lock, NULL);
	pthread_cond_init(&vm->prefault_cond, NULL);
}

void gm_vm_prefault_hint(struct gm_vm *vm, uint64_t gpa)
{
	pthread_mutex_lock(&vm->prefault_lock);
	if (vm->prefault_running) {
		vm->prefault_next = gpa;
		pthread_cond_signal(&vm->prefault_cond);
	}
	pthread_mutex_unlock(&vm->prefault_lock);
}

/* Is the 2 MiB range at @gpa private, unmapped, and in a private slot? */
static bool wants_prefault(struct gm_vm *vm, uint64_t gpa)
{
	struct gm_slot *s;
	bool want = false;
	uint64_t page;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = gm_vm_find_slot(vm, gpa);
	if (s && s->mm->s2_pfn && gpa + GM_2M <= s->desc.gpa + s->desc.size) {
		page = (gpa - s->desc.gpa) >> GM_PAGE_SHIFT;
		gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
		want = gm_slot_page_private(s, page) && s->mm->s2_pfn[page] == GM_PFN_NONE;
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return want;
}

static void populate_from(struct gm_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < PREFAULT_AHEAD; i++, gpa += GM_2M) {
		struct gm_access acc = { .gpa = gpa, .len = 1 };
		struct gm_exit exit;

		if (!wants_prefault(vm, gpa) || gm_vm_handle_fault(vm, NULL, &acc, &exit) != 0)
			return;
	}
}

static void *prefault_thread(void *arg)
{
	struct gm_vm *vm = arg;
	uint64_t gpa;

	pthread_mutex_lock(&vm->prefault_lock);
	while (!vm->prefault_stop) {
		if (!vm->prefault_next) {
			pthread_cond_wait(&vm->prefault_cond, &vm->prefault_lock);
			continue;
		}
		gpa = vm->prefault_next;
		vm->prefault_next = 0;
		pthread_mutex_unlock(&vm->prefault_lock);
		populate_from(vm, gpa);
		pthread_mutex_lock(&vm->prefault_lock);
	}
	pthread_mutex_unlock(&vm->prefault_lock);
	return NULL;
}

int gm_vm_prefault_start(struct gm_vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->prefault_lock);
	vm->prefault_stop = false;
	vm->prefault_next = 0;
	ret = -pthread_create(&vm->prefault_thread, NULL, prefault_thread, vm);
	vm->prefault_running = !ret;
	pthread_mutex_unlock(&vm->prefault_lock);
	return ret;
}

void gm_vm_prefault_stop(struct gm_vm *vm)
{
	bool running;

	pthread_mutex_lock(&vm->prefault_lock);
	running = vm->prefault_running;
	vm->prefault_running = false;
	vm->prefault_stop = true;
	pthread_cond_signal(&vm->prefault_cond);
	pthread_mutex_unlock(&vm->prefault_lock);
	if (running)
		pthread_join(vm->prefault_thread, NULL);
}
