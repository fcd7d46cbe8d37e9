// SPDX-License-Identifier: MIT
/*
 * Memory-fault exits on the kvm engine (memory_fault.h says what is
 * checked): whether KVM reports the access as an MMIO exit or as
 * KVM_EXIT_MEMORY_FAULT, the VMM sees the same exit.  Skips without /dev/kvm.
 */
#include "memory_fault.h"

int main(void)
{
	return memory_fault_main(GM_ENGINE_KVM);
}
