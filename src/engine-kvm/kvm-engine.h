/* SPDX-License-Identifier: MIT */
/* The kvm engine's knobs, for tests (private to the library and its tests). */
#ifndef GM_KVM_ENGINE_H
#define GM_KVM_ENGINE_H

#include <signal.h>

#include <guestmem/vm.h>

/*
 * The signal the kvm engine sends a vCPU's thread to interrupt KVM_RUN.
 * The engine keeps it blocked on vCPU threads outside KVM_RUN, and installs
 * a handler that does nothing unless the application installed one; the
 * application should not otherwise use it.
 */
#define GM_KVM_KICK_SIGNAL	(SIGRTMAX - 1)

/*
 * gm_kvm_set_guest_cpl - run @vm's guests at CPL 0 or 3 (the default: see
 * kvm.c); before gm_vm_boot().  This workplace's KVM emulates CPL-0 code
 * and runs CPL-3 code natively; faults take the same path at both.
 * Return: 0, -EINVAL (not a kvm VM, bad level, vCPUs made).
 */
int gm_kvm_set_guest_cpl(struct gm_vm *vm, unsigned int cpl);

#endif
