/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "kvm-exit.h"
#include "kvm-uapi.h"

enum gm_kvm_access_kind gm_kvm_decode_access(int run_ret, struct kvm_run *run,
					     struct gm_access *acc)
{
	if (run_ret == -EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
		struct gm_kvm_memory_fault *mf = gm_kvm_run_memory_fault(run);

		/* The access kind is in the address (guest-abi.h), not the flag. */
		acc->gpa = mf->gpa;
		acc->len = mf->size > GM_PAGE_SIZE ? GM_PAGE_SIZE : (unsigned int)mf->size;
		acc->write = false;
		acc->data = NULL;
		acc->completed = false;
		acc->window_tid = 0;
		return GM_KVM_MEMORY_FAULT;
	}
	if (run_ret == 0 && run->exit_reason == KVM_EXIT_MMIO) {
		acc->gpa = run->mmio.phys_addr;
		acc->len = run->mmio.len;
		acc->write = run->mmio.is_write;
		acc->data = run->mmio.data;
		acc->completed = false;
		acc->window_tid = 0;
		return GM_KVM_MMIO;
	}
	return GM_KVM_NOT_MEMORY;
}
