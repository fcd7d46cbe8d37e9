/* SPDX-License-Identifier: MIT */
/*
 * What makes a kvm VM a PC (gm_vm_boot_x86): the in-kernel interrupt
 * controllers and timer, each vCPU's CPUID and vCPU 0's 64-bit entry
 * state, and port I/O to the VMM's devices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <asm/kvm_para.h>

#include "kvm-state.h"
#include "kvm-uapi.h"

/*
 * Where KVM may keep the real-mode TSS and identity table it needs on
 * Intel to run the APs' real-mode start (QEMU's addresses: below the BIOS,
 * above any RAM we map, since RAM ends under 4 GiB's PCI hole).
 */
#define PC_TSS_ADDR		0xfffbd000UL
#define PC_IDENTITY_MAP_ADDR	0xfffbc000UL

int gm_kvm_pc_init(struct gm_vm *vm, const struct gm_vm_x86_boot *boot)
{
	struct kvm_vm_state *k = kvm_of(vm);
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = PC_IDENTITY_MAP_ADDR;

	/* Only Intel needs these two; KVM on AMD takes and ignores them. */
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0 ||
	    ioctl(k->vm_fd, KVM_SET_TSS_ADDR, PC_TSS_ADDR) < 0)
		return -errno;
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	k->pc = true;
	k->pc_entry = *boot;
	k->cpl = 0;
	return 0;
}

int gm_kvm_irq_line(struct gm_vm *vm, unsigned int irq, bool level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };

	return ioctl(kvm_of(vm)->vm_fd, KVM_IRQ_LINE, &line) < 0 ? -errno : 0;
}

/*
 * A PC's vCPU @index: CPUID naming its local APIC (leaf 1 and the x2APIC
 * topology leaves), as the MP table the VMM wrote does, and the hypervisor.
 * KVM's paravirtual features (kvmclock, PV EOI, PV spinlocks and unhalt,
 * async page faults, steal time...) are not offered: in the KVM lab, with
 * them offered, Linux on 2 vCPUs hung, mostly with both in the spinlock
 * slow path, in 20 of 22 boots (with its RAM guest-only or the kernel's
 * memfd alike); without them, in 1 of 11.  Each one is for a later round
 * to offer once it is shown to work.
 */
static int set_pc_cpuid(struct kvm_vm_state *k, unsigned int index, int fd)
{
	size_t len = sizeof(*k->cpuid) + k->cpuid->nent * sizeof(k->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(len);
	int ret;

	if (!c)
		return -ENOMEM;
	memcpy(c, k->cpuid, len);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		/*
		 * Leaf 1 names the APIC, and says "hypervisor" (ECX bit 31), which
		 * KVM leaves to the VMM: without it Linux never looks for KVM's
		 * leaves, so it has no kvmclock and times itself by jiffies.
		 */
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffffU) | (index << 24);
			e->ecx |= 1U << 31;
		}
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = index;
		else if (e->function == KVM_CPUID_FEATURES)
			e->eax = 0;
	}
	ret = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return ret;
}

/*
 * vCPU 0 of a PC: 64-bit mode at CPL 0 through the VMM's page tables and
 * GDT, interrupts off.  The others keep the reset state and wait for SIPI.
 */
int gm_kvm_pc_entry_state(struct kvm_vm_state *k, struct gm_vcpu *vcpu, int fd)
{
	const struct gm_vm_x86_boot *e = &k->pc_entry;
	struct kvm_regs regs = { .rip = e->rip, .rsi = e->rsi, .rflags = 0x2 };
	struct kvm_sregs sregs;
	int ret;

	ret = set_pc_cpuid(k, vcpu->index, fd);
	if (ret)
		return ret;
	ret = gm_kvm_set_mtrr_write_back(fd);
	if (ret || vcpu->index)
		return ret;
	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	gm_kvm_set_long_mode(&sregs, 0);
	sregs.cr3 = e->cr3;
	sregs.gdt.base = e->gdt_base;
	sregs.gdt.limit = e->gdt_limit;
	/* The boot protocol's selectors: __BOOT_CS 0x10 and __BOOT_DS 0x18. */
	sregs.cs.selector = 0x10;
	sregs.ds.selector = sregs.es.selector = sregs.fs.selector = 0x18;
	sregs.gs.selector = sregs.ss.selector = 0x18;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* A PC's port I/O, each of a string instruction's items in turn, to the VMM's devices. */
int gm_kvm_pc_port_io(struct gm_vcpu *vcpu, struct kvm_run *run, bool *done)
{
	char *data = (char *)run + run->io.data_offset;
	int ret = 0;

	for (uint32_t i = 0; i < run->io.count && !ret; i++, data += run->io.size)
		ret = gm_vm_port_io(vcpu, run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
				    run->io.size, data);
	if (ret == 1) {
		vcpu->exit.reason = GM_EXIT_RESET;
		*done = true;
		ret = 0;
	}
	return ret;
}
