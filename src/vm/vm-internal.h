/* SPDX-License-Identifier: MIT */
/*
 * Private to the vm layer (engines see engine.h only).
 *
 * Memory reaches a guest through one host window per side of a memslot,
 * mapped once: the shared file's own mapping, and for private-capable
 * slots the private file's backing as its provider maps it.  Both windows
 * of a private-capable slot are registered with userfaultfd (uffd.c), so a
 * page shows in a window only when the fault path lets it in, after asking
 * the provider (UFFDIO_CONTINUE); pages leave when the store punches them.
 *
 * Locks: the order of memslot_lock, convert_lock, slots_lock, the store's
 * file->lock, bind_lock and mmu_lock is in lock-order.h, and debug builds
 * check it; engine locks (emu: each vCPU's uc_lock) come after all of them.
 * The invalidate callback runs under file->lock, so it takes bind_lock and
 * never slots_lock.  The fault path calls get_lock_pfn() holding slots_lock
 * for read and nothing else.
 */
#ifndef GM_VM_INTERNAL_H
#define GM_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <guestmem/guest-abi.h>
#include <guestmem/vm.h>

#include "engine.h"
#include "lock-order.h"
#include "slot-hook.h"

/*
 * A mapping of a private file's range that its provider made (map_range),
 * inside a reservation aligned so that the mapping is congruent with guest
 * addresses modulo 1 GiB and huge folios fit.
 */
struct gm_private_map {
	uint8_t *addr;
	void *reservation;		/* what to munmap */
	size_t reservation_len;
};

/* The vm layer's own part of a slot (struct gm_slot.mm), out of engines' reach. */
struct gm_slot_mm {
	const struct gm_mem_ops *mem_ops;	/* the private file's provider's */
	const struct gm_mem_ops *shared_ops;	/* the shared file's provider's */
	/*
	 * A file's provider is GM_PROVIDER_KERNEL: the pages are the host
	 * kernel's, which the library neither copies nor seals.
	 */
	bool kernel_memory;
	struct gm_private_map window;		/* behind slot->private_win */
	/*
	 * In place: the shared file is the private file, at the same offset
	 * (an in-place file), and the shared window is its provider's mapping
	 * too.  A conversion then changes the file's page state instead of
	 * punching (attr.c).
	 */
	bool in_place;
	struct gm_private_map shared_window;	/* behind slot->shared_win, in place */
	/*
	 * In place, per page, under mmu_lock: made private keeping its bytes
	 * (GM_CONVERT_PRESERVE), so the file may hold them though the stage-2
	 * record does not name the page: a snapshot must read it.  Cleared
	 * when the page is zeroed or freed.
	 */
	uint8_t *kept;
	bool uffd_registered;
	/*
	 * The stage-2 record (private slots), under mmu_lock: per page, the
	 * frame let in (GM_PFN_NONE when none) and the gm_level it was let in at.
	 */
	gm_pfn_t *s2_pfn;
	uint8_t *s2_level;
	/*
	 * The library's own views of the slot's files (alias.c): never
	 * registered with userfaultfd, never shown to an engine.  The private
	 * file's touches only pages get_lock_pfn made present or the record
	 * names.  NULL until a launch, snapshot or restore needs them; set
	 * under slots_lock (write).
	 */
	struct gm_private_map private_alias;
	uint8_t *shared_alias;
	/* A layer above that still owes the slot's pages (slot-hook.h), or NULL. */
	const struct gm_slot_hook *hook;
	void *hook_data;
};

struct gm_vm {
	const struct gm_engine_ops *engine;
	void *engine_vm;

	/*
	 * What the VM registers as its private files' owner: not the VM's
	 * handle, so that a caller who has only that cannot end the VM's hold
	 * on a file a memslot maps (gm_unregister_guest(file, vm) is -EINVAL).
	 */
	struct gm_vm_owner {
		struct gm_vm *vm;
	} owner;

	/*
	 * Read under slots_lock or convert_lock; changed under both
	 * (gm_vm_slots_write_lock()), and a slot's .used under bind_lock too.
	 */
	pthread_rwlock_t slots_lock;
	struct gm_slot slots[GM_VM_MAX_SLOTS];
	pthread_mutex_t bind_lock;

	pthread_mutex_t memslot_lock;
	pthread_mutex_t convert_lock;

	pthread_mutex_t mmu_lock;
	uint64_t mmu_seq;		/* bumped by every invalidation */

	/* Population ahead of the guest (prefault.c); under prefault_lock. */
	pthread_mutex_t prefault_lock;
	pthread_cond_t prefault_cond;
	pthread_t prefault_thread;
	uint64_t prefault_next;		/* gpa to populate from; 0: nothing asked */
	bool prefault_running;
	bool prefault_stop;

	/* Faults on the windows (uffd.c). */
	int uffd;			/* -1 until the first private slot */
	int uffd_wake;			/* eventfd that stops the fault thread */
	pthread_t uffd_thread;
	bool uffd_running;
	unsigned int uffd_failures;	/* faults failed in a row; fault thread only */
	uint8_t *fence_pool;		/* anonymous memory to fence pages with (uffd.c) */
	uint64_t fence_used;		/* bytes of it used; fault thread only */
	/* The last mismatched access seen once (fault.c); fault thread only. */
	struct {
		pid_t tid;
		uint64_t gpa;		/* with the shared bit of the alias used */
		uint64_t seq;		/* mmu_seq then */
	} mismatch_seen;

	struct gm_vcpu *vcpus;
	unsigned int nr_vcpus;
	/* nr_vcpus, published (release) once the vCPUs are made: for the fault thread. */
	_Atomic unsigned int nr_vcpus_ready;
	const struct gm_vm_handlers *handlers;
	_Atomic bool stop;		/* the run is ending: a vCPU failed, or gm_vm_stop() */
	_Atomic bool stop_requested;	/* gm_vm_stop() was called */
	bool ran;			/* gm_vm_run() was called; set under memslot_lock */
	/*
	 * A PC (gm_vm_boot_x86): one vCPU's exit or reset ends the machine,
	 * and port I/O goes to handlers->port_io.
	 */
	bool machine;
	struct gm_launch *launch;	/* launch digest (launch.c); under memslot_lock */
	_Atomic bool running;		/* inside gm_vm_run() */
	/*
	 * The run stops with this error (gm_vm_fail): a lazy restore's page
	 * failed to open, or a fault could not be served (uffd.c).
	 */
	_Atomic int fail_error;

	struct {
		_Atomic uint64_t faults[4];
		_Atomic uint64_t retries;
		_Atomic uint64_t invalidations;
		_Atomic uint64_t conversions;
		_Atomic uint64_t memory_fault_exits;
		_Atomic uint64_t mmio_completions;
		_Atomic uint64_t prefaults;
		_Atomic uint64_t hypercalls;
		_Atomic uint64_t frames_mapped;
		_Atomic uint64_t frames_mapped_peak;
		_Atomic uint64_t report[8];
		_Atomic uint64_t restore_bytes_read;
		_Atomic uint64_t restore_pages;
		_Atomic uint64_t snapshot_pages;
	} stats;
};

/* launch.c */
void gm_vm_launch_free(struct gm_vm *vm);

/* memslot.c */
/*
 * The slot holding @gpa (shared bit cleared), or NULL.  Caller holds
 * slots_lock, or convert_lock (a conversion).
 */
struct gm_slot *gm_vm_find_slot(struct gm_vm *vm, uint64_t gpa);
/*
 * Take or drop what a change of the slot array (or of what a slot points
 * to) needs: convert_lock, then slots_lock for writing.  A conversion, which
 * holds convert_lock from start to end, then needs no slots_lock at all.
 */
void gm_vm_slots_write_lock(struct gm_vm *vm);
void gm_vm_slots_write_unlock(struct gm_vm *vm);

/* attr.c: a guest's conversion hypercall: only pages in private-capable slots. */
int gm_vm_guest_convert(struct gm_vm *vm, uint64_t gpa, uint64_t size, bool to_private,
			unsigned int policy);
void gm_vm_slots_release(struct gm_vm *vm);

/* fault.c */
/* The provider's invalidate callback (owner = &vm->owner). */
void gm_vm_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end);
extern const struct gm_guest_ops gm_vm_guest_ops;
/*
 * The guest address that host address @hva of a registered window stands
 * for (the shared window's with the shared bit): the fault thread's
 * translation before it calls gm_vm_handle_fault().  Return: 0, or -EFAULT
 * (no window holds @hva).
 */
int gm_vm_window_gpa(struct gm_vm *vm, uint8_t *hva, uint64_t *gpa);
/*
 * A fault on @hva that cannot be served and must end: put anonymous memory
 * over its folio of the window, so that the thread waiting on it goes on
 * (reading zero, as from a hole) and sees that the run is stopping.  Only
 * once the run is stopping: the window no longer shows the file there.
 * Return: 0, or a negative errno (nothing changed).
 */
int gm_vm_window_fence(struct gm_vm *vm, uint8_t *hva);
/*
 * The stage-2 record forgets pages [first, end) of @s (they leave the
 * private side); the other pages of a huge let-in they cut stay recorded,
 * at 4 KiB.  Under mmu_lock: the caller bumps mmu_seq with it.
 */
void gm_slot_stage2_forget(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t end);
/* Forget the stage-2 record of a whole slot (it is going away). */
void gm_vm_slot_forget(struct gm_vm *vm, struct gm_slot *s);

/*
 * uffd.c: userfaultfd over the windows of private-capable slots.  Register
 * creates the descriptor and its fault thread on first use.
 */
int gm_vm_uffd_register(struct gm_vm *vm, struct gm_slot *s);
void gm_vm_uffd_unregister(struct gm_vm *vm, struct gm_slot *s);
void gm_vm_uffd_release(struct gm_vm *vm);
/*
 * Pages [first, first + n) of @s leave the shared window (a conversion
 * punches them): the fault path lets them in again when next touched.
 * Under mmu_lock.
 */
void gm_slot_shared_forget(struct gm_slot *s, uint64_t first, uint64_t n);
/*
 * Let [hva, hva + len) of a registered window in: map the pages its file
 * holds there (UFFDIO_CONTINUE, in units of @page_size), waking whoever
 * waits on them; pages already in stay.  Return: 0, -ENOENT (a page is not
 * in the file: it was punched meanwhile), or another negative errno.
 */
int gm_vm_uffd_let_in(struct gm_vm *vm, uint8_t *hva, uint64_t len, uint64_t page_size);
/* Put anonymous memory over [hva, hva + len) of a window (see gm_vm_window_fence). */
int gm_vm_uffd_fence(struct gm_vm *vm, uint8_t *hva, uint64_t len);

/* prefault.c: populate private memory ahead of the guest on another thread. */
void gm_vm_prefault_init(struct gm_vm *vm);
int gm_vm_prefault_start(struct gm_vm *vm);
void gm_vm_prefault_stop(struct gm_vm *vm);
/* A vCPU just faulted a 2 MiB range ending at @gpa: populate what follows. */
void gm_vm_prefault_hint(struct gm_vm *vm, uint64_t gpa);

/* dirty.c: gm_vm_dirty_log_get() for a caller holding memslot_lock. */
int64_t gm_vm_dirty_harvest(struct gm_vm *vm, uint32_t id, uint64_t *bitmap);

/* The slot's hook (slot-hook.h), where one is installed. */
static inline void gm_slot_hook_fill(struct gm_vm *vm, struct gm_slot *s, uint64_t first,
				     uint64_t n, bool private)
{
	if (s->mm->hook)
		s->mm->hook->fill(vm, s, first, n, private);
}

static inline bool gm_slot_hook_busy(struct gm_slot *s, uint64_t first, uint64_t n)
{
	return s->mm->hook && s->mm->hook->busy(s, first, n);
}

static inline void gm_slot_hook_forget(struct gm_slot *s, uint64_t first, uint64_t n)
{
	if (s->mm->hook)
		s->mm->hook->forget(s, first, n);
}

/* The run must stop with @err (a lazy page failed, a fault could not be served): first error wins. */
void gm_vm_fail(struct gm_vm *vm, int err);

/*
 * alias.c: mappings of a slot's files.  Map bytes [offset, offset + size)
 * of @file, a private file of @ops's provider, for guest address @gpa
 * (congruent modulo 1 GiB).  Return: 0, or the provider's or mmap's errno.
 */
int gm_private_map_make(struct gm_private_map *map, const struct gm_mem_ops *ops,
			struct gm_file *file, uint64_t offset, uint64_t size, uint64_t gpa);
void gm_private_map_drop(struct gm_private_map *map);
/*
 * Make @s's aliases (mm->private_alias, mm->shared_alias) if it has none
 * yet.  Caller holds memslot_lock only.  Return: 0 or a negative errno.
 */
int gm_slot_aliases(struct gm_vm *vm, struct gm_slot *s);
/* Unmap them (the slot is going away, unpublished). */
void gm_slot_aliases_release(struct gm_slot *s);
/*
 * Pin private page @page of @s through its provider, retrying while it is
 * being freed under someone else's pin; *@order as get_lock_pfn's.  Drop
 * it with s->mm->mem_ops->put_unlock_pfn().  Return: 0 or get_lock_pfn's errno.
 */
int gm_slot_private_pin(struct gm_slot *s, uint64_t page, unsigned int *order, gm_pfn_t *pfn);

/* attr.c: read the shared file under @gpa whatever the page's attribute. */
int gm_vm_read_host_view(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len);

static inline void gm_stat_add(_Atomic uint64_t *stat, uint64_t n)
{
	atomic_fetch_add_explicit(stat, n, memory_order_relaxed);
}

/* gm_stat_add() where every writer holds one lock: no locked instruction. */
static inline void gm_stat_add_serialized(_Atomic uint64_t *stat, uint64_t n)
{
	atomic_store_explicit(stat, atomic_load_explicit(stat, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void gm_stat_sub(_Atomic uint64_t *stat, uint64_t n)
{
	atomic_fetch_sub_explicit(stat, n, memory_order_relaxed);
}

#endif
