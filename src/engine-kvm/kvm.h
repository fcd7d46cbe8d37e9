/* SPDX-License-Identifier: MIT */
/* The kvm engine's knobs, for tests (private to the library and its tests). */
#ifndef GM_ENGINE_KVM_KVM_H
#define GM_ENGINE_KVM_KVM_H

#include <guestmem/vm.h>

/*
 * gm_kvm_set_guest_cpl - run @vm's guests at CPL 0 or 3 (the default where
 * unicorn is built in: see kvm.c); before gm_vm_boot().  At CPL 0 this
 * workplace's KVM reports empty windows as MMIO exits, at CPL 3 as bare
 * -EFAULTs, so the choice selects which of the engine's paths runs.
 * Return: 0, -EINVAL (not a kvm VM, bad level, vCPUs made), -EOPNOTSUPP
 * (CPL 3 without unicorn).
 */
int gm_kvm_set_guest_cpl(struct gm_vm *vm, unsigned int cpl);

#endif
