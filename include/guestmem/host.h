/* SPDX-License-Identifier: MIT */
/*
 * What this host can run: the engines, the stores and the KVM features
 * behind them, each with the reason when it is missing.  `guestmem info`,
 * `guestmem run`'s checks and the tests all ask here, so the rules are
 * written once.
 */
#ifndef GUESTMEM_HOST_H
#define GUESTMEM_HOST_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* KVM VM types (KVM_X86_*_VM): bit 1 << type of gm_host_kvm.vm_types. */
#define GM_KVM_VM_DEFAULT	0
#define GM_KVM_VM_SW_PROTECTED	1

/* The host's /dev/kvm. */
struct gm_host_kvm {
	bool available;			/* opens, API 12, KVM_CREATE_VM works */
	int api_version;		/* KVM_GET_API_VERSION, or -errno */
	bool guest_memfd;		/* KVM_CREATE_GUEST_MEMFD works ... */
	int guest_memfd_vm_type;	/* ... on VMs of this GM_KVM_VM_* type, or -1 */
	uint64_t guest_memfd_flags;	/* GM_GUEST_MEMFD_FLAG_* it accepts */
	bool memory_attributes;		/* that type's pages can be made private */
	uint64_t vm_types;		/* 1 << GM_KVM_VM_* for each type offered */
	bool user_memory2;		/* KVM_SET_USER_MEMORY_REGION2 */
	bool memory_fault_info;		/* KVM_EXIT_MEMORY_FAULT is reported */
	const char *why;		/* the first thing missing, or NULL */
};

/* One huge-page pool: pages reserved (nr_hugepages) and free of those. */
struct gm_host_hugepages {
	uint64_t total;
	uint64_t free;
};

struct gm_host_caps {
	struct gm_host_kvm kvm;
	struct gm_host_hugepages huge_2m;
	struct gm_host_hugepages huge_1g;
	/* Engines: can a VM of this kind run here; if not, why (static text). */
	bool engine_kvm;
	const char *engine_kvm_why;
	bool engine_emu;
	const char *engine_emu_why;
	/*
	 * Stores besides shmem, which every host has: hugetlb while some huge
	 * page is free; kvm (KVM's guest_memfd), and whether it can hold
	 * private memory.  Each *_why is NULL when the store works.
	 */
	bool store_hugetlb;
	const char *store_hugetlb_why;
	bool store_kvm;
	const char *store_kvm_why;
	bool store_kvm_private;
	const char *store_kvm_private_why;
	char why_text[160];		/* what store_hugetlb_why may point into */
};

/**
 * gm_host_caps_get - probe this host into @caps.  A host without KVM or
 * huge pages is not an error: @caps says what is missing and why.  Every fd
 * the probe opens is closed before it returns.
 * Return: 0, or -EFAULT for a NULL @caps.
 */
int gm_host_caps_get(struct gm_host_caps *caps);

/**
 * gm_host_kvm_vm_create - a KVM VM to own KVM guest_memfd files
 * (gm_guest_memfd_create()), for a caller with no VM of its own (the emu
 * engine, a test): of the type that has guest_memfd here
 * (gm_host_kvm.guest_memfd_vm_type: the default type from Linux 6.18, the
 * software-protected one before), else of the default type.  Close the fd
 * once the files are closed.
 * Return: the VM fd, or -errno (-ENOENT without /dev/kvm).
 */
int gm_host_kvm_vm_create(void);

#ifdef __cplusplus
}
#endif

#endif
