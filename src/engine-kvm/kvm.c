/* SPDX-License-Identifier: MIT */
/*
 * The kvm engine: real /dev/kvm vCPUs over the VM's host windows.
 *
 * Each memslot becomes KVM memslots: a private-capable slot registers its
 * private window at gpa and its shared window at gpa | GM_GUEST_SHARED_BIT;
 * a shared-only slot registers its shared window at gpa; a kvm-store slot
 * binds the kernel's guest_memfd natively (KVM_SET_USER_MEMORY_REGION2).
 * Pages reach the windows on demand: KVM's own fault path waits on the
 * VM's userfaultfd while the fault thread lets the page in, so a first
 * touch costs the guest no exit.  Pages leave when the store punches them,
 * and KVM's MMU notifier drops its own mappings of them.  An access whose
 * kind the page's attribute forbids is handed back by the fault thread
 * (kvm_mismatch) as a memory-fault exit; upstream KVM's
 * KVM_EXIT_MEMORY_FAULT and MMIO exits are decoded too (exit.c).
 *
 * To stop a running vCPU the engine sets immediate_exit and sends it the kick
 * signal (below), which only interrupts KVM_RUN.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm-exit.h"
#include "kvm-engine.h"
#include "kvm-state.h"
#include "kvm-caps.h"
#include "kvm-uapi.h"
#include "engine.h"

/*
 * The signal that interrupts KVM_RUN (GM_KVM_KICK_SIGNAL in kvm-engine.h): a
 * real-time one the application is unlikely to use, not SIGUSR1.  vCPU
 * threads keep it blocked except inside KVM_RUN (KVM_SET_SIGNAL_MASK), and
 * take a pending kick with sigtimedwait(), so no handler ever runs on a vCPU
 * thread: the application's own handler for it, if any, is left alone.
 */
#define KICK_SIGNAL GM_KVM_KICK_SIGNAL

/*
 * The guest's privilege level.  This workplace's KVM (kvm_pvm) emulates
 * every instruction of CPL-0 guest code but runs CPL-3 code natively, some
 * 500 times faster.  The guest programs need no privilege: IOPL 3 lets
 * them make hypercalls.  Either way a first touch of a window page is
 * resolved inside KVM's own fault path, which waits on userfaultfd while
 * the VMM lets the page in: no exit reaches the engine.
 */
#define DEFAULT_CPL	3

static void on_kick(int sig)
{
}

/*
 * A kick must not end the process (default action) nor vanish (ignored:
 * the kernel drops an ignored signal that is not blocked, as it is inside
 * KVM_RUN).  A handler the application installed is kept.
 */
static void install_kick_handler(void)
{
	struct sigaction old, sa = { .sa_handler = on_kick };

	if (sigaction(KICK_SIGNAL, NULL, &old) == 0 &&
	    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN))
		sigaction(KICK_SIGNAL, &sa, NULL);
}

/*
 * On the vCPU's thread: block the kick, and have KVM unblock it while the
 * guest runs, so that it interrupts KVM_RUN and nothing else.
 */
static int kick_mask_setup(int fd)
{
	struct {
		struct kvm_signal_mask hdr;
		uint64_t set;
	} mask = { .hdr.len = sizeof(uint64_t) };
	sigset_t kick, now;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	if (pthread_sigmask(SIG_BLOCK, &kick, &now))
		return -EINVAL;
	/* The kernel's sigset: bit (signal - 1), the first 64 signals. */
	for (int sig = 1; sig <= 64; sig++)
		if (sig != KICK_SIGNAL && sigismember(&now, sig) == 1)
			mask.set |= 1ULL << (sig - 1);
	return ioctl(fd, KVM_SET_SIGNAL_MASK, &mask) < 0 ? -errno : 0;
}

/* Take a kick that arrived outside KVM_RUN, so that it does not linger. */
static void kick_drain(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	while (sigtimedwait(&kick, NULL, &zero) == KICK_SIGNAL)
		;
}

static int get_supported_cpuid(struct kvm_vm_state *k)
{
	int nent = 128;

	for (;;) {
		k->cpuid = calloc(1, sizeof(*k->cpuid) + nent * sizeof(k->cpuid->entries[0]));
		if (!k->cpuid)
			return -ENOMEM;
		k->cpuid->nent = nent;
		if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, k->cpuid) == 0)
			return 0;
		free(k->cpuid);
		k->cpuid = NULL;
		if (errno != E2BIG)
			return -errno;
		nent *= 2;
	}
}

static int kvm_vm_init(struct gm_vm *vm)
{
	struct kvm_vm_state *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->kvm_fd = gm_kvm_open();
	if (k->kvm_fd < 0) {
		ret = k->kvm_fd;
		goto err_free;
	}
	k->vm_fd = gm_kvm_create_vm(k->kvm_fd, KVM_X86_DEFAULT_VM);
	if (k->vm_fd < 0) {
		ret = k->vm_fd;
		goto err_kvm;
	}
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ret = k->run_size < 0 ? -errno : get_supported_cpuid(k);
	if (ret)
		goto err_vm;
	install_kick_handler();
	k->cpl = DEFAULT_CPL;
	gm_vm_set_engine_data(vm, k);
	return 0;

err_vm:
	close(k->vm_fd);
err_kvm:
	close(k->kvm_fd);
err_free:
	free(k);
	return ret;
}

static void kvm_vm_destroy(struct gm_vm *vm)
{
	struct kvm_vm_state *k = kvm_of(vm);

	close(k->vm_fd);
	close(k->kvm_fd);
	free(k->cpuid);
	free(k);
}

int gm_kvm_set_guest_cpl(struct gm_vm *vm, unsigned int cpl)
{
	if (!gm_vm_runs_on(vm, &gm_kvm_engine) || (cpl != 0 && cpl != 3) || gm_vm_nr_vcpus(vm))
		return -EINVAL;
	kvm_of(vm)->cpl = cpl;
	return 0;
}

static int kvm_vm_fd(struct gm_vm *vm)
{
	return kvm_of(vm)->vm_fd;
}

static int kvm_available(const char **why)
{
	struct gm_kvm_caps caps;

	if (gm_kvm_probe(&caps) < 0 || !caps.kvm) {
		*why = "/dev/kvm does not work here";
		return 0;
	}
	return 1;
}

/* ---- memslots ---- */

static int set_region(struct gm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		      struct gm_file *gmem, uint64_t gmem_offset, bool log)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (gmem) {
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)gm_file_fd(gmem);
		r.guest_memfd_offset = gmem_offset;
	}
	if (log)
		r.flags |= KVM_MEM_LOG_DIRTY_PAGES;
	return ioctl(kvm_of(vm)->vm_fd, KVM_SET_USER_MEMORY_REGION2, &r) < 0 ? -errno : 0;
}

/*
 * Slot @id's KVM memslots: 2 * id at gpa (the private window, or the only
 * one), 2 * id + 1 at the shared alias of a private-capable slot.  Setting
 * them again with other flags is how KVM changes a slot's flags.
 */
static int set_regions(struct gm_vm *vm, struct gm_slot *s, unsigned int id, bool log)
{
	const struct gm_memslot *m = &s->desc;
	int ret;

	if (gm_file_store(m->shared_file) == GM_STORE_KVM)
		return set_region(vm, 2 * id, m->gpa, m->size, s->shared_win, m->shared_file,
				  m->shared_offset, log);
	if (!(m->flags & GM_SLOT_PRIVATE))
		return set_region(vm, 2 * id, m->gpa, m->size, s->shared_win, NULL, 0, log);
	ret = set_region(vm, 2 * id, m->gpa, m->size, s->private_win, NULL, 0, log);
	if (ret)
		return ret;
	return set_region(vm, 2 * id + 1, m->gpa | GM_GUEST_SHARED_BIT, m->size, s->shared_win,
			  NULL, 0, log);
}

static int kvm_slot_add(struct gm_vm *vm, struct gm_slot *s, unsigned int id)
{
	int ret = set_regions(vm, s, id, s->dirty != NULL);

	if (ret)
		set_region(vm, 2 * id, s->desc.gpa, 0, NULL, NULL, 0, false);
	return ret;
}

static int kvm_dirty_log(struct gm_vm *vm, struct gm_slot *s, unsigned int id, bool on)
{
	int ret = set_regions(vm, s, id, on);

	if (ret && on)
		set_regions(vm, s, id, false);
	return ret;
}

/* KVM's record of one of its memslots, moved into the slot's bitmap. */
static int harvest_region(struct gm_vm *vm, struct gm_slot *s, uint32_t kvm_slot, uint64_t *buf)
{
	uint64_t words = (s->nr_pages + 63) / 64;
	struct kvm_dirty_log log = { .slot = kvm_slot, .dirty_bitmap = buf };

	memset(buf, 0, words * sizeof(*buf));
	if (ioctl(kvm_of(vm)->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	for (uint64_t w = 0; w < words; w++)
		for (uint64_t bits = buf[w]; bits; bits &= bits - 1)
			gm_slot_mark_dirty(s, w * 64 + (uint64_t)__builtin_ctzll(bits), 1);
	return 0;
}

static int kvm_dirty_log_sync(struct gm_vm *vm, struct gm_slot *s, unsigned int id)
{
	uint64_t *buf = malloc(((s->nr_pages + 63) / 64) * sizeof(*buf));
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = harvest_region(vm, s, 2 * id, buf);
	if (!ret && (s->desc.flags & GM_SLOT_PRIVATE) &&
	    gm_file_store(s->desc.shared_file) != GM_STORE_KVM)
		ret = harvest_region(vm, s, 2 * id + 1, buf);
	free(buf);
	return ret;
}

static void kvm_slot_del(struct gm_vm *vm, struct gm_slot *s, unsigned int id)
{
	set_region(vm, 2 * id, s->desc.gpa, 0, NULL, NULL, 0, false);
	if ((s->desc.flags & GM_SLOT_PRIVATE) && gm_file_store(s->desc.shared_file) != GM_STORE_KVM)
		set_region(vm, 2 * id + 1, s->desc.gpa | GM_GUEST_SHARED_BIT, 0, NULL, NULL, 0,
			   false);
}

/* ---- vCPUs ---- */

void gm_kvm_set_long_mode(struct kvm_sregs *sregs, unsigned int cpl)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = (uint16_t)(0x8 | cpl), .type = 11,
		.present = 1, .dpl = (uint8_t)cpl, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = (uint16_t)(0x10 | cpl);
	data.type = 3;
	data.l = 0;
	data.db = 1;
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->cr3 = gm_boot_cr3();
	sregs->cr4 = 0x20;		/* PAE */
	sregs->cr0 = 0x80050033;	/* PG | AM | WP | NE | ET | MP | PE */
	sregs->efer = 0x500;		/* LMA | LME */
}

/*
 * Guest memory is write-back: without this the MTRRs reset to uncached,
 * which KVM honours, and every guest access goes to memory.
 */
int gm_kvm_set_mtrr_write_back(int fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry[2];
	} msrs = {
		.hdr.nmsrs = 2,
		.entry = { { .index = 0x2ff, .data = (1ULL << 11) | 6 },	/* MTRRdefType: E, WB */
			   { .index = 0x277, .data = 0x0007040600070406ULL } },	/* PAT: reset value */
	};

	return ioctl(fd, KVM_SET_MSRS, &msrs) == 2 ? 0 : -EIO;
}

static int set_entry_state(struct gm_vm *vm, struct gm_vcpu *vcpu, int fd)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GM_GUEST_CODE_BASE, .rsp = vcpu->stack_top,
		.rflags = 0x2 | ((uint64_t)kvm_of(vm)->cpl << 12),	/* IOPL = CPL: out stays legal */
		.rdi = vcpu->entry_regs[0], .rsi = vcpu->entry_regs[1],
		.rdx = vcpu->entry_regs[2], .rcx = vcpu->entry_regs[3],
		.r8 = vcpu->entry_regs[4],
	};

	if (ioctl(fd, KVM_SET_CPUID2, kvm_of(vm)->cpuid) < 0 ||
	    ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	gm_kvm_set_long_mode(&sregs, kvm_of(vm)->cpl);
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return gm_kvm_set_mtrr_write_back(fd);
}

static int kvm_vcpu_init(struct gm_vm *vm, struct gm_vcpu *vcpu)
{
	struct kvm_vcpu_state *c = calloc(1, sizeof(*c));
	struct kvm_vm_state *k = kvm_of(vm);
	int ret;

	if (!c)
		return -ENOMEM;
	c->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, vcpu->index);
	if (c->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	c->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	ret = k->pc ? gm_kvm_pc_entry_state(k, vcpu, c->fd) : set_entry_state(vm, vcpu, c->fd);
	if (ret)
		goto err_unmap;
	pthread_mutex_init(&c->pending_lock, NULL);
	vcpu->engine = c;
	return 0;

err_unmap:
	munmap(c->run, (size_t)k->run_size);
err_close:
	close(c->fd);
err_free:
	free(c);
	return ret;
}

static void kvm_vcpu_destroy(struct gm_vcpu *vcpu)
{
	struct kvm_vcpu_state *c = vcpu->engine;

	if (!c)
		return;
	munmap(c->run, (size_t)kvm_of(vcpu->vm)->run_size);
	close(c->fd);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
	vcpu->engine = NULL;
}

static int do_hypercall(struct gm_vcpu *vcpu, int fd, uint32_t nr, bool *done)
{
	struct kvm_regs regs;

	if (ioctl(fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	regs.rax = gm_vm_hypercall(vcpu, nr, regs.rdi, regs.rsi, regs.rdx, done);
	return ioctl(fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static int handle_io(struct gm_vcpu *vcpu, struct kvm_vcpu_state *c, bool *done)
{
	struct kvm_run *run = c->run;
	uint32_t nr;

	/*
	 * Only 32-bit writes to our port are hypercalls; other ports go to a
	 * PC's devices, or read as ones.
	 */
	if (run->io.port != GM_HC_PORT || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.size != 4 || run->io.count != 1) {
		if (kvm_of(vcpu->vm)->pc)
			return gm_kvm_pc_port_io(vcpu, run, done);
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset((char *)run + run->io.data_offset, 0xff,
			       (size_t)run->io.size * run->io.count);
		return 0;
	}
	memcpy(&nr, (char *)run + run->io.data_offset, sizeof(nr));
	return do_hypercall(vcpu, c->fd, nr, done);
}

/* A guest access that found its window empty.  Return 0 to re-enter, 1 to stop. */
static int handle_access(struct gm_vcpu *vcpu, struct gm_access *acc)
{
	struct gm_exit exit;
	int ret;

	for (;;) {
		ret = gm_vm_handle_fault(vcpu->vm, vcpu, acc, &exit);
		/* An MMIO exit is over only once the access is made. */
		if (ret == 0 && acc->data && !acc->completed)
			continue;
		if (ret == 0)
			return 0;
		if (ret < 0) {
			vcpu->exit.reason = GM_EXIT_ERROR;
			vcpu->exit.status = ret;
			return 1;
		}
		/* A memory-fault exit: the VMM may fix it (convert); then retry. */
		if (gm_vm_memory_fault(vcpu, &exit)) {
			vcpu->exit = exit;
			return 1;
		}
	}
}

/* Take the memory-fault exit the fault thread left for us, if any. */
static bool take_pending(struct kvm_vcpu_state *c, struct gm_exit *exit)
{
	bool found;

	pthread_mutex_lock(&c->pending_lock);
	found = c->pending.reason != GM_EXIT_NONE;
	*exit = c->pending;
	c->pending.reason = GM_EXIT_NONE;
	pthread_mutex_unlock(&c->pending_lock);
	return found;
}

/* A pending mismatch: the VMM may fix it (convert); else the run stops on it. */
static int handle_pending(struct gm_vcpu *vcpu, struct kvm_vcpu_state *c)
{
	struct gm_exit exit;

	if (!take_pending(c, &exit) || !gm_vm_memory_fault(vcpu, &exit))
		return 0;
	vcpu->exit = exit;
	return 1;
}

static int run_loop(struct gm_vcpu *vcpu)
{
	struct kvm_vcpu_state *c = vcpu->engine;
	struct gm_access acc;
	bool done = false;
	int ret;

	while (!done) {
		if (gm_vm_stopping(vcpu->vm)) {
			vcpu->exit.reason = GM_EXIT_STOPPED;
			return 0;
		}
		ret = ioctl(c->fd, KVM_RUN, 0) < 0 ? -errno : 0;
		if (ret == -EINTR || ret == -EAGAIN) {
			kick_drain();
			__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_RELAXED);
			done = handle_pending(vcpu, c);
			continue;
		}
		if (gm_kvm_decode_access(ret, c->run, &acc) != GM_KVM_NOT_MEMORY) {
			done = handle_access(vcpu, &acc);
			continue;
		}
		if (ret)
			return ret;
		switch (c->run->exit_reason) {
		case KVM_EXIT_IO:
			ret = handle_io(vcpu, c, &done);
			if (ret)
				return ret;
			break;
		case KVM_EXIT_HLT:
			return -EIO;	/* halted without the exit hypercall */
		case KVM_EXIT_SHUTDOWN:
			if (!kvm_of(vcpu->vm)->pc)
				return -EIO;
			/* A triple fault: on a PC, how a reset ends (reboot=t). */
			vcpu->exit.reason = GM_EXIT_RESET;
			return 0;
		case KVM_EXIT_INTERNAL_ERROR:
			/* KVM met an instruction it cannot emulate (kvm_pvm: FXSAVE at CPL 0). */
			return c->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			       -EOPNOTSUPP : -EIO;
		default:
			return -EIO;	/* entry failure, a triple fault of a guest program... */
		}
	}
	return 0;
}

/*
 * A vCPU stopped between exits: an I/O exit (a hypercall) is over only once
 * KVM_RUN is entered again, so enter it with immediate_exit set, which
 * completes the instruction without running the guest: the registers are
 * then those after it, as a snapshot needs them.
 */
static void complete_pending(struct kvm_vcpu_state *c)
{
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
	ioctl(c->fd, KVM_RUN, 0);	/* -EINTR, having completed what was pending */
	__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_RELEASE);
}

static int kvm_vcpu_run(struct gm_vcpu *vcpu)
{
	struct kvm_vcpu_state *c = vcpu->engine;
	struct kvm_regs regs;
	int ret;

	ret = kick_mask_setup(c->fd);
	if (!ret)
		ret = run_loop(vcpu);
	if (!ret && vcpu->exit.reason == GM_EXIT_STOPPED)
		complete_pending(c);
	kick_drain();

	/* Where the guest stopped, for the exit (a vCPU that never ran reads its entry). */
	if (ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
		vcpu->exit.rip = regs.rip;
	return ret;
}

static int kvm_vcpu_get_regs(struct gm_vcpu *vcpu, struct gm_vcpu_regs *out)
{
	struct kvm_vcpu_state *c = vcpu->engine;
	struct kvm_regs r;

	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	*out = (struct gm_vcpu_regs){
		.gpr = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
			 r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15 },
		.rip = r.rip, .rflags = r.rflags & GM_RFLAGS_SAVED,
	};
	return 0;
}

/* The segments and control registers stay as set_entry_state() made them. */
static int kvm_vcpu_set_regs(struct gm_vcpu *vcpu, const struct gm_vcpu_regs *in)
{
	struct kvm_vcpu_state *c = vcpu->engine;
	const uint64_t *g = in->gpr;
	struct kvm_regs r = {
		.rax = g[0], .rcx = g[1], .rdx = g[2], .rbx = g[3], .rsp = g[4], .rbp = g[5],
		.rsi = g[6], .rdi = g[7], .r8 = g[8], .r9 = g[9], .r10 = g[10], .r11 = g[11],
		.r12 = g[12], .r13 = g[13], .r14 = g[14], .r15 = g[15], .rip = in->rip,
		/* IOPL = CPL, as at entry: the hypercalls' out stays legal. */
		.rflags = (in->rflags & GM_RFLAGS_SAVED) | 0x2 |
			  ((uint64_t)kvm_of(vcpu->vm)->cpl << 12),
	};

	return ioctl(c->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

static void kvm_stop(struct gm_vm *vm)
{
	for (unsigned int i = 0; i < gm_vm_nr_vcpus(vm); i++) {
		struct gm_vcpu *v = gm_vm_vcpu(vm, i);
		struct kvm_vcpu_state *c = v->engine;

		/* A vCPU not started yet sees vm->stop before it enters KVM_RUN. */
		if (!atomic_load_explicit(&v->started, memory_order_acquire))
			continue;
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
		pthread_kill(v->self, KICK_SIGNAL);
	}
}

/*
 * KVM, faulting a window page for the vCPU on thread @tid, found the page's
 * attribute against the access.  Leave the exit for that vCPU and interrupt
 * its KVM_RUN: the wait in the fault ends with the signal, KVM_RUN returns
 * -EINTR, and the vCPU reports the exit.
 */
static int kvm_mismatch(struct gm_vm *vm, pid_t tid, const struct gm_exit *exit)
{
	struct gm_vcpu *v = gm_vm_vcpu_of_tid(vm, tid);
	struct kvm_vcpu_state *c;

	if (!v)
		return 0;	/* not a vCPU (the VMM itself): let it have the page */
	c = v->engine;
	pthread_mutex_lock(&c->pending_lock);
	c->pending = *exit;
	pthread_mutex_unlock(&c->pending_lock);
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->self, KICK_SIGNAL);
	return 1;
}

const struct gm_engine_ops gm_kvm_engine = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.slot_add = kvm_slot_add,
	.slot_del = kvm_slot_del,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.mismatch = kvm_mismatch,
	.stop = kvm_stop,
	.dirty_log = kvm_dirty_log,
	.dirty_log_sync = kvm_dirty_log_sync,
	.available = kvm_available,
	.vm_fd = kvm_vm_fd,
	.vcpu_get_regs = kvm_vcpu_get_regs,
	.vcpu_set_regs = kvm_vcpu_set_regs,
	.pc_init = gm_kvm_pc_init,
	.irq_line = gm_kvm_irq_line,
};
