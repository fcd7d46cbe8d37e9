/* SPDX-License-Identifier: MIT */
/*
 * The vm layer's hooks for tests and fuzzers: they look at the stage-2
 * record, which no application has business with.  Not exported from
 * libguestmem.so (the ABI check says so): the tests and fuzzers link the
 * static library, and include this header from src/vm.
 */
#ifndef GM_VM_TEST_H
#define GM_VM_TEST_H

#include <guestmem/vm.h>

/**
 * gm_vm_translate - the frame and level at which the private page at @gpa
 * was let in.  Return: 0, -ENOENT (not let in), -EFAULT (NULL).
 */
int gm_vm_translate(struct gm_vm *vm, uint64_t gpa, gm_pfn_t *pfn, enum gm_level *level);

/**
 * gm_vm_check_stage2 - verify that every private page the VM let in is still
 * held by its file (pages are punched only after the invalidation that
 * forgets them).  Return: 0, -EUCLEAN, -EFAULT (NULL).
 */
int gm_vm_check_stage2(struct gm_vm *vm);

#endif
