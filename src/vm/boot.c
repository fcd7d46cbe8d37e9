/* SPDX-License-Identifier: MIT */
/*
 * Boot: identity page tables for both guest-physical aliases, the program,
 * and the vCPUs' entry registers.  The tables live in the boot slot, so a
 * guest reaches RAM at gpa and at gpa | GM_GUEST_SHARED_BIT through 2 MiB
 * pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm-internal.h"

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_US		0x4ULL	/* the kvm engine runs guests at CPL 3 */
#define PTE_A		0x20ULL	/* accessed and dirty preset: the CPU has no bit */
#define PTE_D		0x40ULL	/* to set in these tables as the guest runs */
#define PTE_PS		0x80ULL
#define PTE_TABLE	(PTE_P | PTE_RW | PTE_US | PTE_A)
#define PTE_LEAF	(PTE_TABLE | PTE_D | PTE_PS)
#define PML4_ADDR	GM_GUEST_PT_BASE
#define PDPT_LO		(PML4_ADDR + 0x1000)
#define PDPT_HI		(PML4_ADDR + 0x2000)
#define PD_BASE		(PML4_ADDR + 0x3000)
/* Page tables must end below the lowest vCPU stack. */
#define PT_LIMIT	(GM_GUEST_STACK_TOP - GM_GUEST_MAX_VCPUS * GM_GUEST_STACK_SIZE)
#define MAX_GB		((PT_LIMIT - PD_BASE) / 0x1000 / 2)

uint64_t gm_boot_cr3(void)
{
	return PML4_ADDR;
}

/* Build the tables in @pt (the image of [PML4_ADDR, ...)). */
static void build_tables(uint64_t *pt, uint64_t nr_gb)
{
	uint64_t *pml4 = pt, *lo = pt + 512, *hi = pt + 1024;

	pml4[0] = PDPT_LO | PTE_TABLE;
	pml4[GM_GUEST_SHARED_BIT >> 39] = PDPT_HI | PTE_TABLE;
	for (uint64_t g = 0; g < nr_gb; g++) {
		uint64_t *pd_lo = pt + 1536 + g * 512;
		uint64_t *pd_hi = pt + 1536 + (nr_gb + g) * 512;

		lo[g] = (PD_BASE + g * 0x1000) | PTE_TABLE;
		hi[g] = (PD_BASE + (nr_gb + g) * 0x1000) | PTE_TABLE;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t pa = g * GM_1G + i * GM_2M;

			pd_lo[i] = pa | PTE_LEAF;
			pd_hi[i] = (pa | GM_GUEST_SHARED_BIT) | PTE_LEAF;
		}
	}
}

static int write_page_tables(struct gm_vm *vm, uint64_t top)
{
	/* The first GiB (boot slot included) is mapped even for a guest with no RAM. */
	uint64_t nr_gb = top > GM_1G ? (top + GM_1G - 1) / GM_1G : 1;
	size_t len = (size_t)(3 + 2 * nr_gb) * 0x1000;
	uint64_t *pt;
	int ret;

	if (nr_gb > MAX_GB)
		return -EINVAL;
	pt = calloc(1, len);
	if (!pt)
		return -ENOMEM;
	build_tables(pt, nr_gb);
	ret = gm_vm_write_shared(vm, PML4_ADDR, pt, len);
	free(pt);
	return ret;
}

static int check_boot(struct gm_vm *vm, const struct gm_vm_boot *boot)
{
	struct gm_slot *s;

	if (!boot->code || !boot->code_size || boot->code_size > GM_GUEST_CODE_MAX)
		return -EINVAL;
	if (!boot->nr_vcpus || boot->nr_vcpus > GM_GUEST_MAX_VCPUS || vm->vcpus)
		return -EINVAL;
	if (boot->ram_base + boot->ram_size < boot->ram_base)
		return -EINVAL;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = gm_vm_find_slot(vm, 0);
	/* The boot slot is shared memory the VMM can write: no private file. */
	if (!s || s->desc.gpa != 0 || s->desc.size < GM_GUEST_BOOT_SIZE ||
	    (s->desc.flags & GM_SLOT_PRIVATE)) {
		gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
		return -EINVAL;
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return 0;
}

/* @boot: a guest program's entry registers; NULL for a PC (the engine has its entry). */
static int create_vcpus(struct gm_vm *vm, unsigned int nr_vcpus, const struct gm_vm_boot *boot)
{
	int ret;

	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct gm_vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		if (boot) {
			v->stack_top = GM_GUEST_STACK_TOP - (uint64_t)i * GM_GUEST_STACK_SIZE;
			v->entry_regs[0] = boot->ram_base;
			v->entry_regs[1] = boot->ram_size;
			v->entry_regs[2] = i;
			v->entry_regs[3] = nr_vcpus;
			v->entry_regs[4] = boot->flags;
		}
		ret = vm->engine->vcpu_init(vm, v);
		if (ret)
			goto err;
		vm->nr_vcpus = i + 1;
	}
	atomic_store_explicit(&vm->nr_vcpus_ready, vm->nr_vcpus, memory_order_release);
	return 0;
err:
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->engine->vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	return ret;
}

int gm_vm_boot(struct gm_vm *vm, const struct gm_vm_boot *boot)
{
	int ret;

	if (!vm || !boot)
		return -EFAULT;
	ret = check_boot(vm, boot);
	if (ret)
		return ret;
	ret = write_page_tables(vm, gm_canonical_gpa(boot->ram_base) + boot->ram_size);
	if (ret)
		return ret;
	ret = gm_vm_write_shared(vm, GM_GUEST_CODE_BASE, boot->code, boot->code_size);
	if (ret)
		return ret;
	return create_vcpus(vm, boot->nr_vcpus, boot);
}

int gm_vm_boot_x86(struct gm_vm *vm, const struct gm_vm_x86_boot *boot)
{
	int ret;

	if (!vm || !boot)
		return -EFAULT;
	if (!boot->nr_vcpus || boot->nr_vcpus > GM_GUEST_MAX_VCPUS || vm->vcpus || vm->machine)
		return -EINVAL;
	if (!vm->engine->pc_init)
		return -EOPNOTSUPP;
	ret = vm->engine->pc_init(vm, boot);
	if (ret)
		return ret;
	vm->machine = true;
	return create_vcpus(vm, boot->nr_vcpus, NULL);
}

int gm_vm_irq_line(struct gm_vm *vm, unsigned int irq, bool level)
{
	if (!vm)
		return -EFAULT;
	if (!vm->machine || irq >= 24)
		return -EINVAL;
	return vm->engine->irq_line(vm, irq, level);
}
