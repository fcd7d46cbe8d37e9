/* SPDX-License-Identifier: MIT */
/*
 * Private to the vm layer and its engines.
 *
 * Memory reaches a guest through one host window per side of a memslot,
 * mapped once: the shared file's own mapping, and for private-capable
 * slots the private file's backing as its provider maps it.  Both windows
 * of a private-capable slot are registered with userfaultfd (uffd.c), so a
 * page shows in a window only when the fault path lets it in, after asking
 * the provider (UFFDIO_CONTINUE); pages leave when the store punches them.
 *
 * Lock order (outermost first):
 *   vm->memslot_lock (one memslot change at a time; engines add and drop
 *                   windows under it alone, since they wait for vCPUs)
 *   vm->convert_lock (one conversion at a time)
 *   vm->slots_lock (rwlock: memslot changes write it; faults, conversions
 *                   and checks read it)
 *   file->lock     (store; held by the store around invalidate callbacks)
 *   vm->bind_lock  (which slots the invalidate callback may see)
 *   vm->mmu_lock   (attributes, the stage-2 record, the invalidation sequence)
 *   engine locks   (emu: each vCPU's uc_lock)
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

#define GM_VM_MAX_SLOTS		32
#define GM_PAGE_MASK		(GM_PAGE_SIZE - 1)
#define GM_2M			(1ULL << 21)
#define GM_1G			(1ULL << 30)
#define GM_2M_PAGES		(GM_2M >> GM_PAGE_SHIFT)
/* Host windows are aligned so that 1 GiB folios can be mapped in them. */
#define GM_WINDOW_ALIGN		GM_1G

struct gm_vcpu;

struct gm_slot {
	bool used;
	struct gm_memslot desc;		/* as the caller gave it (files referenced) */
	uint64_t nr_pages;

	/*
	 * Host windows, each one mapping: the shared file's, and for private
	 * slots the private file's backing, placed inside a reservation that
	 * keeps it congruent with guest addresses modulo 1 GiB.
	 */
	uint8_t *shared_win;
	uint8_t *private_win;
	void *private_reservation;	/* what to munmap: aligned window inside */
	size_t private_reservation_len;
	bool uffd_registered;

	/*
	 * Private slots.  Attributes change under vm->mmu_lock and are read
	 * without it by engines that check accesses (relaxed atomics).
	 */
	_Atomic uint8_t *private_attr;	/* per page: 1 = private */
	gm_pfn_t *s2_pfn;		/* per page, under mmu_lock: GM_PFN_NONE when not let in */
	/*
	 * Dirty log (dirty.c): a bit per page, set lock-free by whoever writes
	 * (engines' write hooks, conversions, invalidations) while logging;
	 * NULL otherwise.  Installed and removed under memslot_lock + slots_lock.
	 */
	_Atomic uint64_t *dirty;
	uint8_t *s2_level;		/* per page: gm_level it was let in at */
	const struct gm_mem_ops *mem_ops;
};

/* An engine runs vCPUs over the VM's host windows. */
struct gm_engine_ops {
	const char *name;
	int (*vm_init)(struct gm_vm *vm);
	void (*vm_destroy)(struct gm_vm *vm);
	/* A slot's windows exist / are about to go away. */
	int (*slot_add)(struct gm_vm *vm, struct gm_slot *slot, unsigned int id);
	void (*slot_del)(struct gm_vm *vm, struct gm_slot *slot, unsigned int id);
	int (*vcpu_init)(struct gm_vm *vm, struct gm_vcpu *vcpu);
	void (*vcpu_destroy)(struct gm_vcpu *vcpu);
	/* Run until the guest exits or the run must stop; fill vcpu->exit. */
	int (*vcpu_run)(struct gm_vcpu *vcpu);
	/*
	 * Attributes changed: return once no vCPU is inside an access that
	 * checked the old ones (emu: every vCPU is between instructions or in
	 * a hook).  Called with no vm lock held.  May be NULL.
	 */
	void (*sync)(struct gm_vm *vm);
	/*
	 * A vCPU (host thread @tid) touched a window page whose attribute does
	 * not match the access; @exit is the memory-fault exit it stands for.
	 * Return 0 to have the access resolved all the same (emu: the vCPU's
	 * own check has stopped it or the access predates a conversion that
	 * is waiting in sync), or 1 once the engine has taken the vCPU out of
	 * the access to report @exit (kvm).  Called on the fault thread.
	 */
	int (*mismatch)(struct gm_vm *vm, pid_t tid, const struct gm_exit *exit);
	/* vm->stop was set: get every vCPU out of guest code soon.  May be NULL. */
	void (*stop)(struct gm_vm *vm);
	/*
	 * Start (@on) or stop recording the guest's writes to slot @id into
	 * slot->dirty.  Called under memslot_lock only.
	 */
	int (*dirty_log)(struct gm_vm *vm, struct gm_slot *slot, unsigned int id, bool on);
	/*
	 * Move the engine's own record of slot @id's written pages into
	 * slot->dirty (kvm: KVM's dirty log); on return every write that landed
	 * before is recorded there.  May be NULL (the hooks set slot->dirty).
	 */
	int (*dirty_log_sync)(struct gm_vm *vm, struct gm_slot *slot, unsigned int id);
};

struct gm_vcpu {
	struct gm_vm *vm;
	unsigned int index;
	pthread_t thread;		/* for the thread that runs gm_vm_run() */
	pthread_t self;			/* for others: valid once started is set */
	_Atomic pid_t tid;		/* the host thread's id once started, for faults */
	_Atomic bool started;
	struct gm_exit exit;
	void *engine;			/* engine's own vCPU state */
	uint64_t entry_regs[5];		/* rdi, rsi, rdx, rcx, r8 */
	uint64_t stack_top;
};

struct gm_vm {
	const struct gm_engine_ops *engine;
	void *engine_vm;

	pthread_rwlock_t slots_lock;
	struct gm_slot slots[GM_VM_MAX_SLOTS];	/* a slot's .used flips under bind_lock too */
	pthread_mutex_t bind_lock;

	pthread_mutex_t memslot_lock;
	pthread_mutex_t convert_lock;

	pthread_mutex_t mmu_lock;
	uint64_t mmu_seq;		/* bumped by every invalidation */
	unsigned int invalidate_in_progress;
	uint64_t inval_start, inval_end;	/* union of gpa ranges in progress */

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

	struct gm_vcpu *vcpus;
	unsigned int nr_vcpus;
	/* nr_vcpus, published (release) once the vCPUs are made: for the fault thread. */
	_Atomic unsigned int nr_vcpus_ready;
	const struct gm_vm_handlers *handlers;
	_Atomic bool stop;		/* the run is ending: a vCPU failed, or gm_vm_stop() */
	_Atomic bool stop_requested;	/* gm_vm_stop() was called */
	bool ran;			/* gm_vm_run() was called */

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
	} stats;
};

extern const struct gm_engine_ops gm_emu_engine;
extern const struct gm_engine_ops gm_kvm_engine;

/* memslot.c */
/* The slot holding @gpa (shared bit cleared), or NULL.  Caller holds slots_lock. */
struct gm_slot *gm_vm_find_slot(struct gm_vm *vm, uint64_t gpa);
void gm_vm_slots_release(struct gm_vm *vm);

/* fault.c */
struct gm_access {
	uint64_t gpa;		/* as the guest gave it (may carry the shared bit) */
	unsigned int len;
	bool write;
	void *data;		/* NULL: just map */
	bool completed;		/* the access was made on the host window */
};

/*
 * Resolve a guest access that found nothing mapped: map the page (through
 * the provider for private pages), then, if @acc->data, perform the access
 * on the host window before anything can unmap it (the kvm engine's MMIO
 * completion).  Return: 0 (mapped; retry the access), 1 (a memory-fault
 * exit was filled in @exit), or a negative errno.
 */
int gm_vm_handle_fault(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_access *acc,
		       struct gm_exit *exit);
/* The provider's invalidate callback (owner = the vm). */
void gm_vm_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end);
extern const struct gm_guest_ops gm_vm_guest_ops;
/*
 * A fault on a window (uffd.c calls it): host address @hva, by host thread
 * @tid.  Lets the page in, or hands a mismatch to the engine.  Return: 0
 * (let in), 1 (the engine took the vCPU out of the access: wake it so that
 * it notices), or a negative errno (nothing let in).
 */
int gm_vm_window_fault(struct gm_vm *vm, uint8_t *hva, pid_t tid);
/* The vCPU that runs on host thread @tid, or NULL (any thread). */
struct gm_vcpu *gm_vm_vcpu_of_tid(struct gm_vm *vm, pid_t tid);
/* dirty.c: mark pages [first, first + n) of @s written, if logging. */
void gm_slot_mark_dirty(struct gm_slot *s, uint64_t first, uint64_t n);

/* Fill @exit for an access of kind @private at @gpa that its page's attribute forbids. */
void gm_vm_mismatch_exit(struct gm_vm *vm, uint64_t gpa, bool private, struct gm_exit *exit);
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
 * Let [hva, hva + len) of a registered window in: map the pages its file
 * holds there (UFFDIO_CONTINUE, in units of @page_size), waking whoever
 * waits on them; pages already in stay.  Return: 0, -ENOENT (a page is not
 * in the file: it was punched meanwhile), or another negative errno.
 */
int gm_vm_uffd_let_in(struct gm_vm *vm, uint8_t *hva, uint64_t len, uint64_t page_size);

/* prefault.c: populate private memory ahead of the guest on another thread. */
void gm_vm_prefault_init(struct gm_vm *vm);
int gm_vm_prefault_start(struct gm_vm *vm);
void gm_vm_prefault_stop(struct gm_vm *vm);
/* A vCPU just faulted a 2 MiB range ending at @gpa: populate what follows. */
void gm_vm_prefault_hint(struct gm_vm *vm, uint64_t gpa);

/* attr.c: read the shared file under @gpa whatever the page's attribute. */
int gm_vm_read_host_view(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len);

/* hypercall.c: handle one; return the value for rax.  Sets vcpu->exit on EXIT. */
uint64_t gm_vm_hypercall(struct gm_vcpu *vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
			 uint64_t a2, bool *done);
/* A memory-fault exit: ask the VMM.  Return 0 to retry, <0 to stop. */
int gm_vm_memory_fault(struct gm_vcpu *vcpu, const struct gm_exit *exit);

/* boot.c: the x86-64 long-mode state both engines start from. */
uint64_t gm_boot_cr3(void);

/* Is page @page of private-capable slot @s private now?  Any thread. */
static inline bool gm_slot_page_private(const struct gm_slot *s, uint64_t page)
{
	return atomic_load_explicit(&s->private_attr[page], memory_order_relaxed);
}

static inline uint64_t gm_canonical_gpa(uint64_t gpa)
{
	return gpa & ~(uint64_t)GM_GUEST_SHARED_BIT;
}

static inline void gm_stat_add(_Atomic uint64_t *stat, uint64_t n)
{
	atomic_fetch_add_explicit(stat, n, memory_order_relaxed);
}

#endif
