/* SPDX-License-Identifier: MIT */
/*
 * The kvm engine's own state, shared by its files: kvm.c (VM, memslots,
 * vCPUs and their run loop) and kvm-pc.c (what makes a VM a PC).
 */
#ifndef GM_KVM_STATE_H
#define GM_KVM_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "engine.h"

struct kvm_vm_state {
	int kvm_fd;
	int vm_fd;
	int run_size;
	unsigned int cpl;	/* the guest's privilege level, 0 or 3 */
	struct kvm_cpuid2 *cpuid;
	/* A PC (gm_vm_boot_x86): in-kernel irqchip and PIT, vCPU 0's entry. */
	bool pc;
	struct gm_vm_x86_boot pc_entry;
};

struct kvm_vcpu_state {
	int fd;
	struct kvm_run *run;
	/* A memory-fault exit the fault thread found for this vCPU (below). */
	pthread_mutex_t pending_lock;
	struct gm_exit pending;
};

static inline struct kvm_vm_state *kvm_of(struct gm_vm *vm)
{
	return gm_vm_engine_data(vm);
}

/* A vCPU's segments and control registers for 64-bit mode at @cpl. */
void gm_kvm_set_long_mode(struct kvm_sregs *sregs, unsigned int cpl);
/* Make guest memory write-back on vCPU @fd (MTRRs and PAT).  Return: 0 or -EIO. */
int gm_kvm_set_mtrr_write_back(int fd);

/* kvm-pc.c: the engine's pc_init and irq_line ops. */
int gm_kvm_pc_init(struct gm_vm *vm, const struct gm_vm_x86_boot *boot);
int gm_kvm_irq_line(struct gm_vm *vm, unsigned int irq, bool level);
/* A PC's vCPU (vcpu_init): its CPUID, and for vCPU 0 the entry state.  Return: 0 or -errno. */
int gm_kvm_pc_entry_state(struct kvm_vm_state *k, struct gm_vcpu *vcpu, int fd);
/*
 * A PC's port I/O exit, to the VMM's devices; *@done with GM_EXIT_RESET
 * when the guest reset the machine.  Return: 0 or -errno.
 */
int gm_kvm_pc_port_io(struct gm_vcpu *vcpu, struct kvm_run *run, bool *done);

#endif
