/* SPDX-License-Identifier: MIT */
/*
 * The engine interface: what an engine (engine-emu, engine-kvm) provides to
 * the vm layer, and all that it may see of it.  Engines include this
 * header only; the VM's locks, fault path state, prefault and counters are
 * in vm-internal.h, out of their reach.
 *
 * An engine sees each memslot's windows (struct gm_slot: the guest range,
 * the two host mappings, attributes to check accesses against, the dirty
 * log to record writes in) and its vCPUs (struct gm_vcpu), and reaches the
 * VM through the few calls below.
 */
#ifndef GM_ENGINE_H
#define GM_ENGINE_H

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
struct gm_slot_mm;

/*
 * A memslot as engines see it: the guest range, its host windows, the
 * attributes to check accesses against and the dirty log to record writes
 * in.  The rest of a slot (the stage-2 record, the providers' ops, the
 * library's own aliases) is the vm layer's, behind @mm.
 */
struct gm_slot {
	bool used;
	struct gm_memslot desc;		/* as the caller gave it (files referenced) */
	uint64_t nr_pages;

	/*
	 * Host windows, each one mapping: the shared file's, and for private
	 * slots the private file's backing, placed so that it is congruent
	 * with guest addresses modulo 1 GiB.
	 */
	uint8_t *shared_win;
	uint8_t *private_win;

	/*
	 * Private slots.  Attributes change under the vm's mmu_lock and are
	 * read without it by engines that check accesses (relaxed atomics).
	 */
	_Atomic uint8_t *private_attr;	/* per page: 1 = private */
	/*
	 * Per page, GM_IN_PRIVATE while the stage-2 record has it, and
	 * GM_IN_SHARED once the fault path let the shared file's page into the
	 * shared window, until a conversion punched it: a hint (the VMM may
	 * punch the shared file itself).  Changed under mmu_lock, read by
	 * anyone (relaxed).
	 */
	_Atomic uint8_t *in_window;
	/*
	 * Dirty log (dirty.c): a bit per page, set lock-free by whoever writes
	 * (engines' write hooks, conversions, invalidations) while logging;
	 * NULL otherwise.  Installed and removed under memslot_lock + slots_lock.
	 */
	_Atomic uint64_t *dirty;

	struct gm_slot_mm *mm;		/* the vm layer's (vm-internal.h) */
};

/*
 * A vCPU's register state, as snapshots keep it: the 16 general registers
 * in the instruction set's order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi,
 * r8..r15), rip and rflags.  The guests run flat at a fixed privilege
 * level with no FPU state of their own, so this is all they need.
 */
struct gm_vcpu_regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
};

/* The rflags bits a snapshot carries: the arithmetic flags and DF. */
#define GM_RFLAGS_SAVED		0xcd5ULL

/* An engine runs vCPUs over the VM's host windows. */
struct gm_engine_ops {
	const char *name;
	/*
	 * The engine checks every access to a private-capable slot against
	 * its page's attribute (emu), so a page may stay in the window of the
	 * side an in-place conversion took it from.  Else (kvm, whose
	 * accesses go wherever the windows map) the vm layer takes it out.
	 */
	bool checks_access;
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
	/*
	 * Can this engine run here?  1, or 0 with the reason in *@why.  Called
	 * before any VM exists.
	 */
	int (*available)(const char **why);
	/* The engine's own VM fd (kvm), or -ENODEV.  May be NULL. */
	int (*vm_fd)(struct gm_vm *vm);
	/*
	 * Read or set a vCPU's registers while no thread runs it (after its
	 * vcpu_run returned, or before the run).  A set is kept for the next
	 * vcpu_run, which starts from it when vcpu->resume is set (the entry
	 * state otherwise); rflags' bits outside GM_RFLAGS_SAVED are the
	 * engine's.  Return: 0 or -errno.
	 */
	int (*vcpu_get_regs)(struct gm_vcpu *vcpu, struct gm_vcpu_regs *regs);
	int (*vcpu_set_regs)(struct gm_vcpu *vcpu, const struct gm_vcpu_regs *regs);
	/*
	 * Make @vm a PC (gm_vm_boot_x86): interrupt controllers and timer,
	 * and the entry state vcpu_init gives vCPU 0 (the others wait for
	 * SIPI).  Called once, before any vcpu_init.  NULL: not supported.
	 */
	int (*pc_init)(struct gm_vm *vm, const struct gm_vm_x86_boot *boot);
	/* Drive a PC's interrupt line @irq to @level.  Any thread. */
	int (*irq_line)(struct gm_vm *vm, unsigned int irq, bool level);
};

/* The engines there are (each folder defines its table, present or not). */
extern const struct gm_engine_ops gm_emu_engine;
extern const struct gm_engine_ops gm_kvm_engine;

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
	/* Restored: start from the registers vcpu_set_regs gave, not the entry state. */
	bool resume;
	/* Restored after it had ended: the run reports @ended_exit and runs nothing. */
	bool ended;
	struct gm_exit ended_exit;
};

/* ---- the VM, as an engine reaches it ---- */

unsigned int gm_vm_nr_vcpus(struct gm_vm *vm);
struct gm_vcpu *gm_vm_vcpu(struct gm_vm *vm, unsigned int index);
/* The engine's own VM state, set by its vm_init. */
void *gm_vm_engine_data(struct gm_vm *vm);
void gm_vm_set_engine_data(struct gm_vm *vm, void *data);
/* Is @vm's engine @engine? */
bool gm_vm_runs_on(struct gm_vm *vm, const struct gm_engine_ops *engine);
/* Is the run ending (a vCPU failed, or gm_vm_stop())?  Any thread. */
bool gm_vm_stopping(struct gm_vm *vm);
/*
 * Call @fn on every used slot, under the slots lock (read): @fn must not
 * wait for a vCPU.  Stops at and returns the first non-zero result.
 */
int gm_vm_for_each_slot(struct gm_vm *vm, int (*fn)(struct gm_slot *slot, unsigned int id,
						     void *arg), void *arg);

struct gm_access {
	uint64_t gpa;		/* as the guest gave it (may carry the shared bit) */
	unsigned int len;
	bool write;
	void *data;		/* NULL: just map */
	bool completed;		/* the access was made on the host window */
	/*
	 * 0 for an engine's access.  The vm layer's fault thread sets it to
	 * the host thread whose touch of a window faulted (userfaultfd): a
	 * mismatch then goes to the engine's mismatch op, not into an exit.
	 */
	pid_t window_tid;
};

/*
 * Resolve a guest access that found nothing mapped: let the page in
 * (through the file's provider), then, if @acc->data, perform the access
 * on the host window before anything can take it away (MMIO completion).
 * The one door to the fault path: the vm layer's fault thread comes in
 * here too, with @acc->window_tid set and @exit unused.  Return: 0 (let
 * in; retry the access), 1 (a memory-fault exit was filled in @exit), or a
 * negative errno.
 */
int gm_vm_handle_fault(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_access *acc,
		       struct gm_exit *exit);
/* The vCPU that runs on host thread @tid, or NULL (any thread). */
struct gm_vcpu *gm_vm_vcpu_of_tid(struct gm_vm *vm, pid_t tid);
/* dirty.c: mark pages [first, first + n) of @s written, if logging. */
void gm_slot_mark_dirty(struct gm_slot *s, uint64_t first, uint64_t n);

/* Fill @exit for an access of kind @private at @gpa that its page's attribute forbids. */
void gm_vm_mismatch_exit(struct gm_vm *vm, uint64_t gpa, bool private, struct gm_exit *exit);
/* hypercall.c: handle one; return the value for rax.  Sets vcpu->exit on EXIT. */
uint64_t gm_vm_hypercall(struct gm_vcpu *vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
			 uint64_t a2, bool *done);
/* A memory-fault exit: ask the VMM.  Return 0 to retry, <0 to stop. */
int gm_vm_memory_fault(struct gm_vcpu *vcpu, const struct gm_exit *exit);
/*
 * A PC's port I/O (not a hypercall): ask the VMM's devices.  Return 0 (go
 * on), 1 (the guest reset the machine), or a negative errno.
 */
int gm_vm_port_io(struct gm_vcpu *vcpu, uint16_t port, bool out, unsigned int size, void *data);

/* boot.c: the x86-64 long-mode state both engines start from. */
uint64_t gm_boot_cr3(void);

/* Is page @page of private-capable slot @s private now?  Any thread. */
static inline bool gm_slot_page_private(const struct gm_slot *s, uint64_t page)
{
	return atomic_load_explicit(&s->private_attr[page], memory_order_relaxed);
}

#define GM_IN_PRIVATE	1
#define GM_IN_SHARED	2

/*
 * Is page @page of private-capable slot @s in its @private or shared
 * window, as far as the vm layer knows?  Any thread; a hint only: the page
 * may come or go at once.
 */
static inline bool gm_slot_page_in_window(const struct gm_slot *s, uint64_t page, bool private)
{
	return atomic_load_explicit(&s->in_window[page], memory_order_relaxed) &
	       (private ? GM_IN_PRIVATE : GM_IN_SHARED);
}

static inline uint64_t gm_canonical_gpa(uint64_t gpa)
{
	return gpa & ~(uint64_t)GM_GUEST_SHARED_BIT;
}

#endif
