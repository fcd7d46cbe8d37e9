/* SPDX-License-Identifier: MIT */
/*
 * The emu engine: each vCPU is a unicorn CPU emulator in 64-bit mode
 * (flat, so guest virtual = guest physical, both aliases included).
 * Unicorn's unmapped-memory hook is the fault path; invalidations unmap
 * from every vCPU's emulator before the store may free the frames.
 *
 * Locking: each vCPU's uc_lock is held by its thread while unicorn runs,
 * and dropped inside hooks around anything that may block (the fault path,
 * hypercalls).  Another thread that must change the vCPU's memory map (a
 * zap) raises kick, then takes uc_lock: the vCPU yields it at its next
 * block boundary, or already has inside a hook.  Unicorn allows memory map
 * changes from hooks, and the lock orders them with the emulation.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "vm/vm-internal.h"

struct emu_map {
	uint64_t gpa, size;
};

struct emu_vcpu {
	uc_engine *uc;
	pthread_mutex_t uc_lock;
	_Atomic unsigned int kick;
	struct emu_map *maps;		/* under uc_lock */
	size_t nr_maps, cap_maps;
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

/* Drop every emulator mapping that overlaps [gpa, gpa + size).  Under uc_lock. */
static void unmap_overlapping(struct emu_vcpu *e, uint64_t gpa, uint64_t size)
{
	size_t i = 0;

	while (i < e->nr_maps) {
		struct emu_map *m = &e->maps[i];

		if (m->gpa < gpa + size && gpa < m->gpa + m->size) {
			uc_mem_unmap(e->uc, m->gpa, m->size);
			*m = e->maps[--e->nr_maps];
			continue;
		}
		i++;
	}
}

/* Does an emulator mapping cover @gpa?  Under uc_lock. */
static bool emu_is_mapped(struct emu_vcpu *e, uint64_t gpa)
{
	for (size_t i = 0; i < e->nr_maps; i++)
		if (gpa >= e->maps[i].gpa && gpa - e->maps[i].gpa < e->maps[i].size)
			return true;
	return false;
}

static int emu_map(struct gm_vm *vm, struct gm_vcpu *vcpu, uint64_t gpa, uint64_t size, void *hva)
{
	struct emu_vcpu *e = emu_of(vcpu);
	int ret;

	pthread_mutex_lock(&e->uc_lock);
	if (e->nr_maps == e->cap_maps) {
		size_t cap = e->cap_maps ? 2 * e->cap_maps : 64;
		struct emu_map *p = realloc(e->maps, cap * sizeof(*p));

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		e->maps = p;
		e->cap_maps = cap;
	}
	/* A smaller mapping of the same range may be there: same memory. */
	unmap_overlapping(e, gpa, size);
	ret = emu_errno(uc_mem_map_ptr(e->uc, gpa, size, UC_PROT_ALL, hva));
	if (!ret)
		e->maps[e->nr_maps++] = (struct emu_map){ gpa, size };
out:
	pthread_mutex_unlock(&e->uc_lock);
	return ret;
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

static void emu_zap(struct gm_vm *vm, uint64_t gpa, uint64_t size)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct emu_vcpu *e = emu_of(&vm->vcpus[i]);

		lock_kicked(e);
		unmap_overlapping(e, gpa, size);
		unlock_kicked(e);
	}
}

/* ---- hooks (run on the vCPU thread, uc_lock held on entry) ---- */

static void stop_with(struct gm_vcpu *vcpu, const struct gm_exit *exit)
{
	vcpu->exit = *exit;
	uc_emu_stop(emu_of(vcpu)->uc);
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			int64_t value, void *opaque)
{
	struct gm_vcpu *vcpu = opaque;
	struct emu_vcpu *e = emu_of(vcpu);
	struct gm_access acc = { .gpa = addr, .len = (unsigned int)size,
				 .write = type == UC_MEM_WRITE_UNMAPPED };
	struct gm_exit exit = { 0 };
	int ret;

retry:
	pthread_mutex_unlock(&e->uc_lock);
	ret = gm_vm_handle_fault(vcpu->vm, vcpu, &acc, &exit);
	/* The VMM may fix the cause (convert) and let the access retry. */
	if (ret == 1 && !gm_vm_memory_fault(vcpu, &exit))
		ret = 0;
	pthread_mutex_lock(&e->uc_lock);
	/*
	 * Unicorn fails with UC_ERR_MAP when the hook says "handled" and the
	 * address is still unmapped: a zap may have run since we mapped, or
	 * the fault path asked for a retry without mapping (converted
	 * meanwhile).  Fault again until the page is there.
	 */
	if (ret == 0 && !emu_is_mapped(e, addr))
		goto retry;
	if (ret == 1) {
		stop_with(vcpu, &exit);
		return false;
	}
	if (ret < 0) {
		exit.reason = GM_EXIT_ERROR;
		exit.status = ret;
		stop_with(vcpu, &exit);
		return false;
	}
	return true;
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

	if (atomic_load(&vcpu->vm->stop)) {
		vcpu->exit.reason = GM_EXIT_STOPPED;
		uc_emu_stop(uc);
		return;
	}
	if (!atomic_load(&e->kick))
		return;
	pthread_mutex_unlock(&e->uc_lock);
	while (atomic_load(&e->kick))
		sched_yield();
	pthread_mutex_lock(&e->uc_lock);
}

/* ---- the engine ---- */

static int emu_vcpu_init(struct gm_vm *vm, struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e = calloc(1, sizeof(*e));
	uc_err err;

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
	if (err) {
		uc_close(e->uc);
		pthread_mutex_destroy(&e->uc_lock);
		free(e);
		vcpu->engine = NULL;
		return emu_errno(err);
	}
	return 0;
}

static void emu_vcpu_destroy(struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e = emu_of(vcpu);

	if (!e)
		return;
	uc_close(e->uc);
	pthread_mutex_destroy(&e->uc_lock);
	free(e->maps);
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

static int emu_vcpu_run(struct gm_vcpu *vcpu)
{
	struct emu_vcpu *e = emu_of(vcpu);
	uc_err err;
	int ret;

	pthread_mutex_lock(&e->uc_lock);
	ret = set_entry_regs(vcpu);
	if (!ret) {
		err = uc_emu_start(e->uc, GM_GUEST_CODE_BASE, UINT64_MAX, 0, 0);
		/* A stop asked for by a hook is not an emulator error. */
		if (err && vcpu->exit.reason == GM_EXIT_NONE)
			ret = emu_errno(err);
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

static void emu_vm_destroy(struct gm_vm *vm)
{
}

static int emu_slot_add(struct gm_vm *vm, struct gm_slot *slot, unsigned int id)
{
	return 0;
}

static void emu_slot_del(struct gm_vm *vm, struct gm_slot *slot, unsigned int id)
{
	uint64_t gpa = slot->desc.gpa, size = slot->desc.size;

	/* Called under slots_lock (write): no fault can map meanwhile. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct emu_vcpu *e = emu_of(&vm->vcpus[i]);

		lock_kicked(e);
		unmap_overlapping(e, gpa, size);
		unmap_overlapping(e, gpa | GM_GUEST_SHARED_BIT, size);
		unlock_kicked(e);
	}
}

const struct gm_engine_ops gm_emu_engine = {
	.name = "emu",
	.vm_init = emu_vm_init,
	.vm_destroy = emu_vm_destroy,
	.slot_add = emu_slot_add,
	.slot_del = emu_slot_del,
	.vcpu_init = emu_vcpu_init,
	.vcpu_destroy = emu_vcpu_destroy,
	.vcpu_run = emu_vcpu_run,
	.map = emu_map,
	.zap = emu_zap,
};
