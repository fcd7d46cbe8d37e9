/* SPDX-License-Identifier: MIT */
/* Decoding KVM exits into guest accesses (private to the kvm engine and its tests). */
#ifndef GM_ENGINE_KVM_EXIT_H
#define GM_ENGINE_KVM_EXIT_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "engine.h"

enum gm_kvm_access_kind {
	GM_KVM_NOT_MEMORY,	/* not an access to guest memory */
	GM_KVM_MMIO,		/* KVM emulated it: the VMM must complete it */
	GM_KVM_MEMORY_FAULT,	/* KVM_EXIT_MEMORY_FAULT: map, then re-enter */
};

/*
 * gm_kvm_decode_access - what a KVM_RUN that returned @run_ret (0 or
 * -errno) with @run asks of the VMM, as an access in @acc.  An MMIO exit is
 * how this workplace's KVM reports an unpopulated window; upstream Linux
 * returns -EFAULT with KVM_EXIT_MEMORY_FAULT instead.
 */
enum gm_kvm_access_kind gm_kvm_decode_access(int run_ret, struct kvm_run *run,
					     struct gm_access *acc);

#endif
