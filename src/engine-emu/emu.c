/* SPDX-License-Identifier: MIT */
/*
 * The emu engine: each vCPU is a unicorn CPU emulator in 64-bit mode
 * (flat, so guest virtual = guest physical, both aliases included).
 *
 * Every host window is one unicorn region, mapped when its slot appears:
 * unicorn's region count (it aborts past about 4,096) never depends on
 * what the guest does.  Pages reach the windows through userfaultfd (the
 * vm layer), so a first touch simply blocks the emulator's access until the
 * fault thread lets the page in.
 *
 * Stage 2's other job, stopping an access whose private/shared kind does
 * not match the page's attribute before it takes effect, is done by access
 * hooks on the ranges of private-capable slots, which read the attribute
 * (one relaxed byte load) and report a memory-fault exit.  The same hooks
 * see a page the vm layer has not let in yet and let it in from the vCPU
 * thread, before the access blocks on it.  A conversion
 * waits (sync) until every vCPU is past any access checked against the old
 * attribute, so the check and the access are as one.
 *
 * Locking: each vCPU's uc_lock is held by its thread while unicorn runs,
 * and dropped inside hooks around anything that may block (the VMM's fault
 * handler, hypercalls).  Another thread that must change the vCPU's regions
 * or wait for it (sync) raises kick, then takes uc_lock: the vCPU yields it
 * at its next block boundary, or already has inside a hook.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unicorn/unicorn.h>
#include <unistd.h>

#include "engine.h"

/* What an access hook needs: its vCPU and its slot. */
struct emu_slot_hook {
	struct gm_vcpu *vcpu;
	struct gm_slot *slot;
	uc_hook hooks[2];		/* access checks, private and shared alias; 0: none */
	uc_hook dirty_hooks[2];		/* writes, while the slot's dirty log is on */
	bool mapped;
};

struct emu_vcpu {
	uc_engine *uc;
	pthread_mutex_t uc_lock;
	_Atomic unsigned int kick;
	struct emu_slot_hook slots[GM_VM_MAX_SLOTS];	/* under uc_lock */
	/*
	 * A slot went away (under uc_lock): translated code from it may still
	 * run, chained to itself, without fetching again, so every block's
	 * address is checked from then on.
	 */
	bool check_fetch;
	uc_hook hooks[3];
};

static struct emu_vcpu *emu_of(struct gm_vcpu *vcpu)
{
	return vcpu->engine;
}

static int emu_errno(uc_err err)
{
	switch (err) {
	case UC_ERR_OK:
		return 0;
	case UC_ERR_NOMEM:
		return -ENOMEM;
	case UC_ERR_MAP:
		return -EEXIST;
	case UC_ERR_ARG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Take @e's uc_lock from another thread, kicking the vCPU out of guest code. */
static void lock_kicked(struct emu_vcpu *e)
{
	atomic_fetch_add(&e->kick, 1);
	pthread_mutex_lock(&e->uc_lock);
}

static void unlock_kicked(struct emu_vcpu *e)
{
	pthread_mutex_unlock(&e->uc_lock);
	atomic_fetch_sub(&e->kick, 1);
}

/* ---- hooks (run on the vCPU thread, uc_lock held on entry) ---- */

static void stop_with(struct gm_vcpu *vcpu, const struct gm_exit *exit)
{
	vcpu->exit = *exit;
	uc_emu_stop(emu_of(vcpu)->uc);
}

/* Does a window of a slot mapped here cover @addr?  Under uc_lock. */
static bool emu_covers(struct emu_vcpu *e, uint64_t addr)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		const struct emu_slot_hook *h = &e->slots[i];
		uint64_t gpa;

		if (!h->mapped)
			continue;
		gpa = (addr & GM_GUEST_SHARED_BIT) && (h->slot->desc.flags & GM_SLOT_PRIVATE) ?
		      gm_canonical_gpa(addr) : addr;
		if (gpa >= h->slot->desc.gpa && gpa - h->slot->desc.gpa < h->slot->desc.size)
			return true;
	}
	return false;
}

/*
 * An access at @addr that no window serves: a memory-fault exit, which the
 * VMM may fix.  Return true when a window covers @addr now (go on), false
 * once the vCPU has been told to stop.  Under uc_lock.
 */
static bool no_window(struct gm_vcpu *vcpu, uint64_t addr, unsigned int size, bool write)
{
	struct emu_vcpu *e = emu_of(vcpu);
	struct gm_access acc = { .gpa = addr, .len = size, .write = write };
	struct gm_exit exit = { 0 };
	int ret;

	pthread_mutex_unlock(&e->uc_lock);
	ret = gm_vm_handle_fault(vcpu->vm, vcpu, &acc, &exit);
	if (ret == 1 && !gm_vm_memory_fault(vcpu, &exit))
		ret = 0;
	pthread_mutex_lock(&e->uc_lock);
	/* Handled only if a window covers it now, else unicorn would fail anyway. */
	if (ret == 0 && emu_covers(e, addr))
		return true;
	if (ret >= 0) {
		exit.reason = GM_EXIT_MEMORY_FAULT;
	} else {
		exit.reason = GM_EXIT_ERROR;
		exit.status = ret;
	}
	stop_with(vcpu, &exit);
	return false;
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			int64_t value, void *opaque)
{
	return no_window(opaque, addr, (unsigned int)size, type == UC_MEM_WRITE_UNMAPPED);
}

/*
 * The first page of [addr, addr + size) inside @s whose attribute does not
 * match the access's kind, or UINT64_MAX.  A part past the slot's end is the
 * next slot's hook's business.
 */
static uint64_t mismatched_page(const struct gm_slot *s, uint64_t addr, int size)
{
	bool private = !(addr & GM_GUEST_SHARED_BIT);
	uint64_t first = (gm_canonical_gpa(addr) - s->desc.gpa) >> GM_PAGE_SHIFT;
	uint64_t last = (gm_canonical_gpa(addr + (uint64_t)size - 1) - s->desc.gpa) >> GM_PAGE_SHIFT;

	if (last >= s->nr_pages)
		last = s->nr_pages - 1;
	for (uint64_t p = first; p <= last; p++)
		if (gm_slot_page_private(s, p) != private)
			return p;
	return UINT64_MAX;
}

/*
 * The access's first page is not in its window yet: let it in from this
 * thread, which spares the access userfaultfd's round trip through the
 * fault thread (two thread switches).  Whatever this does not let in, the
 * fault thread still serves when the access touches it, errors included.
 * Drops uc_lock meanwhile.
 */
static void let_in_here(struct emu_vcpu *e, struct gm_vcpu *vcpu, uint64_t addr, int size,
			bool write)
{
	struct gm_access acc = { .gpa = addr, .len = (unsigned int)size, .write = write };
	struct gm_exit ignored;

	pthread_mutex_unlock(&e->uc_lock);
	gm_vm_handle_fault(vcpu->vm, vcpu, &acc, &ignored);
	pthread_mutex_lock(&e->uc_lock);
}

/*
 * Is @h still the hook of @s?  While uc_lock was dropped the slot may have
 * been deleted (unmap_slot cleared the hook, slot_delete the slot): then
 * the access goes ahead into no mapping and ends as no_window() says.
 * Caller holds uc_lock.
 */
static bool hook_alive(const struct emu_slot_hook *h, const struct gm_slot *s)
{
	return h->mapped && h->slot == s;
}

/*
 * Every access to a private-capable slot: is its kind the page's
 * attribute?  Checked again after anything that drops uc_lock, so that the
 * access goes ahead only right after a check a conversion's sync waits for.
 */
static void on_access(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
		      int64_t value, void *opaque)
{
	struct emu_slot_hook *h = opaque;
	struct gm_vcpu *vcpu = h->vcpu;
	struct emu_vcpu *e = emu_of(vcpu);
	bool private = !(addr & GM_GUEST_SHARED_BIT), tried = false;
	const struct gm_slot *s = h->slot;
	struct gm_exit exit;
	uint64_t page;
	int ret;

	for (;;) {
		if (!hook_alive(h, s))
			return;
		page = mismatched_page(s, addr, size);
		if (page == UINT64_MAX) {
			page = (gm_canonical_gpa(addr) - s->desc.gpa) >> GM_PAGE_SHIFT;
			if (tried || gm_slot_page_in_window(s, page, private))
				return;
			let_in_here(e, vcpu, addr, size, type == UC_MEM_WRITE);
			tried = true;
			continue;
		}
		gm_vm_mismatch_exit(vcpu->vm, s->desc.gpa + (page << GM_PAGE_SHIFT), private,
				    &exit);
		pthread_mutex_unlock(&e->uc_lock);
		ret = gm_vm_memory_fault(vcpu, &exit);
		pthread_mutex_lock(&e->uc_lock);
		if (ret) {
			/*
			 * Stopped before the access takes effect on guest
			 * memory: it lands, if at all, on the page the fault
			 * thread lets in for it, which goes with the VM.
			 */
			stop_with(vcpu, &exit);
			return;
		}
	}
}

/*
 * A write to a logged slot: recorded before it lands; a harvest waits for
 * the instruction to finish (emu_sync) before it lets anyone copy the page.
 */
static void on_dirty_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			   int64_t value, void *opaque)
{
	struct emu_slot_hook *h = opaque;
	const struct gm_slot *s = h->slot;
	uint64_t first = (gm_canonical_gpa(addr) - s->desc.gpa) >> GM_PAGE_SHIFT;
	uint64_t last = (gm_canonical_gpa(addr + (uint64_t)size - 1) - s->desc.gpa) >> GM_PAGE_SHIFT;

	gm_slot_mark_dirty(h->slot, first, last - first + 1);
}

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
	struct gm_vcpu *vcpu = opaque;
	struct emu_vcpu *e = emu_of(vcpu);
	uint64_t a0, a1, a2, rax;
	bool done;

	if (port != GM_HC_PORT)
		return;
	uc_reg_read(uc, UC_X86_REG_RDI, &a0);
	uc_reg_read(uc, UC_X86_REG_RSI, &a1);
	uc_reg_read(uc, UC_X86_REG_RDX, &a2);
	pthread_mutex_unlock(&e->uc_lock);
	rax = gm_vm_hypercall(vcpu, value, a0, a1, a2, &done);
	pthread_mutex_lock(&e->uc_lock);
	uc_reg_write(uc, UC_X86_REG_RAX, &rax);
	if (done)
		uc_emu_stop(uc);
}

static void on_block(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
	struct gm_vcpu *vcpu = opaque;
	struct emu_vcpu *e = emu_of(vcpu);

	if (gm_vm_stopping(vcpu->vm)) {
		vcpu->exit.reason = GM_EXIT_STOPPED;
		uc_emu_stop(uc);
		return;
	}
	if (e->check_fetch && !emu_covers(e, address) && !no_window(vcpu, address, size, false))
		return;
	if (!atomic_load(&e->kick))
		return;
	pthread_mutex_unlock(&e->uc_lock);
	while (atomic_load(&e->kick))
		sched_yield();
	pthread_mutex_lock(&e->uc_lock);
}

/* ---- windows as regions ---- */

static int map_region(struct emu_vcpu *e, uint64_t gpa, uint64_t size, void *hva)
{
	return emu_errno(uc_mem_map_ptr(e->uc, gpa, size, UC_PROT_ALL, hva));
}

static void unmap_slot(struct emu_vcpu *e, unsigned int id)
{
	struct emu_slot_hook *h = &e->slots[id];
	const struct gm_memslot *m;

	if (!h->mapped)
		return;
	m = &h->slot->desc;
	for (int i = 0; i < 2; i++) {
		if (h->hooks[i])
			uc_hook_del(e->uc, h->hooks[i]);
		if (h->dirty_hooks[i])
			uc_hook_del(e->uc, h->dirty_hooks[i]);
	}
	uc_mem_unmap(e->uc, m->gpa, m->size);
	if (m->flags & GM_SLOT_PRIVATE)
		uc_mem_unmap(e->uc, m->gpa | GM_GUEST_SHARED_BIT, m->size);
	memset(h, 0, sizeof(*h));
}

static int add_access_hooks(struct emu_vcpu *e, struct emu_slot_hook *h)
{
	const struct gm_memslot *m = &h->slot->desc;
	int types = UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE | UC_HOOK_MEM_FETCH;
	uint64_t base[2] = { m->gpa, m->gpa | GM_GUEST_SHARED_BIT };
	uc_err err = UC_ERR_OK;

	for (int i = 0; i < 2 && !err; i++)
		err = uc_hook_add(e->uc, &h->hooks[i], types, (void *)on_access, h,
				  base[i], base[i] + m->size - 1);
	return emu_errno(err);
}

/* Add or remove slot @id's write hooks on one vCPU.  Under its uc_lock. */
static int set_dirty_hooks(struct emu_vcpu *e, unsigned int id, bool on)
{
	struct emu_slot_hook *h = &e->slots[id];
	const struct gm_memslot *m = &h->slot->desc;
	uint64_t base[2] = { m->gpa, m->gpa | GM_GUEST_SHARED_BIT };
	int aliases = (m->flags & GM_SLOT_PRIVATE) ? 2 : 1;
	uc_err err = UC_ERR_OK;

	for (int i = 0; i < 2; i++) {
		if (h->dirty_hooks[i])
			uc_hook_del(e->uc, h->dirty_hooks[i]);
		h->dirty_hooks[i] = 0;
	}
	for (int i = 0; on && i < aliases && !err; i++)
		err = uc_hook_add(e->uc, &h->dirty_hooks[i], UC_HOOK_MEM_WRITE, (void *)on_dirty_write,
				  h, base[i], base[i] + m->size - 1);
	return emu_errno(err);
}

/* Map slot @id's windows into one vCPU's emulator.  Under its uc_lock. */
static int map_slot(struct gm_vcpu *vcpu, struct gm_slot *s, unsigned int id)
{
	struct emu_vcpu *e = emu_of(vcpu);
	struct emu_slot_hook *h = &e->slots[id];
	const struct gm_memslot *m = &s->desc;
	int ret;

	h->vcpu = vcpu;
	h->slot = s;
	if (!(m->flags & GM_SLOT_PRIVATE)) {
		ret = map_region(e, m->gpa, m->size, s->shared_win);
		h->mapped = !ret;
		if (!ret && s->dirty) {
			ret = set_dirty_hooks(e, id, true);
			if (ret)
				unmap_slot(e, id);
		}
		return ret;
	}
	ret = map_region(e, m->gpa, m->size, s->private_win);
	if (ret)
		return ret;
	ret = map_region(e, m->gpa | GM_GUEST_SHARED_BIT, m->size, s->shared_win);
	if (ret) {
		uc_mem_unmap(e->uc, m->gpa, m->size);
		return ret;
	}
	h->mapped = true;
	ret = add_access_hooks(e, h);
	/* A vCPU made while the slot's writes are logged logs them too. */
	if (!ret && s->dirty)
		ret = set_dirty_hooks(e, id, true);
	if (ret)
		unmap_slot(e, id);
	return ret;
}

/* ---- the engine ---- */

/* A new vCPU's emulator gets the slots there are (gm_vm_for_each_slot). */
static int map_existing_slot(struct gm_slot *slot, unsigned int id, void *vcpu)
{
	return map_slot(vcpu, slot, id);
}

/*
 * Address space one unicorn instance takes: unicorn 2.0.1 reserves a 1 GiB
 * translation buffer (QEMU's default on 64-bit hosts) and cannot be told
 * otherwise, plus its own tables.  Where it cannot get it, it prints and
 * exits the process, so ask first.
 */
#define UC_ADDRESS_SPACE	(1280ULL << 20)

/* Is there room under RLIMIT_AS for one more emulator?  0 or -ENOMEM. */
static int check_address_space(void)
{
	unsigned long long pages;
	struct rlimit lim;
	FILE *statm;
	int n;

	if (getrlimit(RLIMIT_AS, &lim) || lim.rlim_cur == RLIM_INFINITY)
		return 0;
	statm = fopen("/proc/self/statm", "r");
	if (!statm)
		return -ENOMEM;	/* a limit we cannot check is a limit we may hit */
	n = fscanf(statm, "%llu", &pages);
	fclose(statm);
	if (n != 1)
		return -ENOMEM;
	return pages * (unsigned long long)sysconf(_SC_PAGESIZE) + UC_ADDRESS_SPACE > lim.rlim_cur ?
	       -ENOMEM : 0;
}

static int emu_vcpu_init(struct gm_vm *vm, struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e;
	uc_err err;
	int ret;

	ret = check_address_space();
	if (ret)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc);
	if (err) {
		free(e);
		return emu_errno(err);
	}
	pthread_mutex_init(&e->uc_lock, NULL);
	vcpu->engine = e;
	err = uc_hook_add(e->uc, &e->hooks[0], UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped,
			  vcpu, 1, 0);
	if (!err)
		err = uc_hook_add(e->uc, &e->hooks[1], UC_HOOK_INSN, (void *)on_out, vcpu, 1, 0,
				  UC_X86_INS_OUT);
	if (!err)
		err = uc_hook_add(e->uc, &e->hooks[2], UC_HOOK_BLOCK, (void *)on_block, vcpu, 1, 0);
	ret = emu_errno(err);
	/* The slots that exist already. */
	if (!ret)
		ret = gm_vm_for_each_slot(vm, map_existing_slot, vcpu);
	if (ret) {
		uc_close(e->uc);
		pthread_mutex_destroy(&e->uc_lock);
		free(e);
		vcpu->engine = NULL;
	}
	return ret;
}

static void emu_vcpu_destroy(struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e = emu_of(vcpu);

	if (!e)
		return;
	uc_close(e->uc);
	pthread_mutex_destroy(&e->uc_lock);
	free(e);
	vcpu->engine = NULL;
}

static int set_entry_regs(struct gm_vcpu *vcpu)
{
	static const int regs[] = { UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
				    UC_X86_REG_RCX, UC_X86_REG_R8 };
	uc_engine *uc = emu_of(vcpu)->uc;
	uc_err err = uc_reg_write(uc, UC_X86_REG_RSP, &vcpu->stack_top);

	for (unsigned int i = 0; !err && i < 5; i++)
		err = uc_reg_write(uc, regs[i], &vcpu->entry_regs[i]);
	return emu_errno(err);
}

/* The registers snapshots keep, in struct gm_vcpu_regs' order. */
static const int saved_regs[18] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
	UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};

static int emu_vcpu_get_regs(struct gm_vcpu *vcpu, struct gm_vcpu_regs *regs)
{
	struct emu_vcpu *e = emu_of(vcpu);
	uint64_t v[18];
	uc_err err = UC_ERR_OK;

	pthread_mutex_lock(&e->uc_lock);
	for (unsigned int i = 0; i < 18 && !err; i++)
		err = uc_reg_read(e->uc, saved_regs[i], &v[i]);
	pthread_mutex_unlock(&e->uc_lock);
	if (err)
		return emu_errno(err);
	memcpy(regs->gpr, v, sizeof(regs->gpr));
	regs->rip = v[16];
	regs->rflags = v[17] & GM_RFLAGS_SAVED;
	return 0;
}

static int emu_vcpu_set_regs(struct gm_vcpu *vcpu, const struct gm_vcpu_regs *regs)
{
	struct emu_vcpu *e = emu_of(vcpu);
	uint64_t v[18];
	uc_err err = UC_ERR_OK;

	memcpy(v, regs->gpr, sizeof(regs->gpr));
	v[16] = regs->rip;
	v[17] = (regs->rflags & GM_RFLAGS_SAVED) | 0x2;
	pthread_mutex_lock(&e->uc_lock);
	for (unsigned int i = 0; i < 18 && !err; i++)
		err = uc_reg_write(e->uc, saved_regs[i], &v[i]);
	pthread_mutex_unlock(&e->uc_lock);
	return emu_errno(err);
}

static int emu_vcpu_run(struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e = emu_of(vcpu);
	uint64_t start = GM_GUEST_CODE_BASE;
	uc_err err;
	int ret;

	pthread_mutex_lock(&e->uc_lock);
	/* A restored vCPU goes on from the registers it was given. */
	ret = vcpu->resume ? emu_errno(uc_reg_read(e->uc, UC_X86_REG_RIP, &start))
			   : set_entry_regs(vcpu);
	if (!ret) {
		err = uc_emu_start(e->uc, start, UINT64_MAX, 0, 0);
		/* A stop asked for by a hook is not an emulator error. */
		if (err && vcpu->exit.reason == GM_EXIT_NONE)
			ret = emu_errno(err);
		uc_reg_read(e->uc, UC_X86_REG_RIP, &vcpu->exit.rip);
	}
	pthread_mutex_unlock(&e->uc_lock);
	if (!ret && vcpu->exit.reason == GM_EXIT_NONE)
		ret = -EIO;	/* the guest halted without saying goodbye */
	return ret;
}

static int emu_vm_init(struct gm_vm *vm)
{
	return 0;
}

static int emu_available(const char **why)
{
	return 1;
}

static void emu_vm_destroy(struct gm_vm *vm)
{
}

/* Called with no vm lock held (memslot_lock only). */
static int emu_slot_add(struct gm_vm *vm, struct gm_slot *slot, unsigned int id)
{
	int ret = 0;

	for (unsigned int i = 0; i < gm_vm_nr_vcpus(vm) && !ret; i++) {
		struct emu_vcpu *e = emu_of(gm_vm_vcpu(vm, i));

		lock_kicked(e);
		ret = map_slot(gm_vm_vcpu(vm, i), slot, id);
		unlock_kicked(e);
	}
	for (unsigned int i = 0; ret && i < gm_vm_nr_vcpus(vm); i++) {
		struct emu_vcpu *e = emu_of(gm_vm_vcpu(vm, i));

		lock_kicked(e);
		unmap_slot(e, id);
		unlock_kicked(e);
	}
	return ret;
}

static void emu_slot_del(struct gm_vm *vm, struct gm_slot *slot, unsigned int id)
{
	for (unsigned int i = 0; i < gm_vm_nr_vcpus(vm); i++) {
		struct emu_vcpu *e = emu_of(gm_vm_vcpu(vm, i));

		lock_kicked(e);
		unmap_slot(e, id);
		e->check_fetch = true;
		unlock_kicked(e);
	}
}

/* Called under memslot_lock: every vCPU has the slot mapped (slot_add ran). */
static int emu_dirty_log(struct gm_vm *vm, struct gm_slot *slot, unsigned int id, bool on)
{
	int ret = 0;

	for (unsigned int i = 0; i < gm_vm_nr_vcpus(vm) && !ret; i++) {
		struct emu_vcpu *e = emu_of(gm_vm_vcpu(vm, i));

		lock_kicked(e);
		ret = set_dirty_hooks(e, id, on);
		unlock_kicked(e);
	}
	for (unsigned int i = 0; ret && i < gm_vm_nr_vcpus(vm); i++) {
		struct emu_vcpu *e = emu_of(gm_vm_vcpu(vm, i));

		lock_kicked(e);
		set_dirty_hooks(e, id, false);
		unlock_kicked(e);
	}
	return ret;
}

/*
 * Every vCPU is between accesses (or in a hook) once it has given up
 * uc_lock.  The vCPU that asked for the conversion is in its hypercall, so
 * it is not waited for.
 */
static void emu_sync(struct gm_vm *vm)
{
	for (unsigned int i = 0; i < gm_vm_nr_vcpus(vm); i++) {
		struct gm_vcpu *vcpu = gm_vm_vcpu(vm, i);
		struct emu_vcpu *e = emu_of(vcpu);

		if (atomic_load(&vcpu->started) && pthread_equal(vcpu->self, pthread_self()))
			continue;
		lock_kicked(e);
		unlock_kicked(e);
	}
}

/*
 * A mismatched access that reached a window: either it was checked before
 * a conversion that now waits in emu_sync() for it to finish, or its vCPU
 * has already been told to stop (on_access).  Either way let it finish.
 */
static int emu_mismatch(struct gm_vm *vm, pid_t tid, const struct gm_exit *exit)
{
	return 0;
}

const struct gm_engine_ops gm_emu_engine = {
	.name = "emu",
	.checks_access = true,
	.vm_init = emu_vm_init,
	.vm_destroy = emu_vm_destroy,
	.slot_add = emu_slot_add,
	.slot_del = emu_slot_del,
	.vcpu_init = emu_vcpu_init,
	.vcpu_destroy = emu_vcpu_destroy,
	.vcpu_run = emu_vcpu_run,
	.sync = emu_sync,
	.mismatch = emu_mismatch,
	.dirty_log = emu_dirty_log,
	.available = emu_available,
	.vcpu_get_regs = emu_vcpu_get_regs,
	.vcpu_set_regs = emu_vcpu_set_regs,
};
