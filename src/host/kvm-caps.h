/* SPDX-License-Identifier: MIT */
/*
 * What the host's /dev/kvm offers.  Private to guestmem: the engines, the
 * kvm store and `guestmem info` use it.  Every function returns 0, a count
 * or an fd, or a negative errno; none prints or exits.
 */
#ifndef GM_HOST_KVM_CAPS_H
#define GM_HOST_KVM_CAPS_H

#include <stdbool.h>
#include <stdint.h>

struct gm_kvm_caps {
	bool kvm;			/* /dev/kvm opens, API 12, KVM_CREATE_VM works */
	int api_version;		/* KVM_GET_API_VERSION, or -errno */
	bool guest_memfd;		/* KVM_CREATE_GUEST_MEMFD really works */
	int guest_memfd_vm_type;	/* ... on this KVM_X86_*_VM type, or -1 */
	uint64_t guest_memfd_flags;	/* GUEST_MEMFD_FLAG_* accepted (cap 244) */
	bool memory_attributes;		/* KVM_MEMORY_ATTRIBUTE_PRIVATE settable there */
	uint64_t vm_types;		/* mask of 1 << KVM_X86_*_VM */
	bool user_memory2;		/* KVM_SET_USER_MEMORY_REGION2 */
	bool memory_fault_info;		/* KVM_EXIT_MEMORY_FAULT is reported */
	const char *why;		/* static text: the first thing missing, or NULL */
};

/**
 * gm_kvm_open - open /dev/kvm (O_RDWR | O_CLOEXEC).
 * Return: the fd, or -errno.
 */
int gm_kvm_open(void);

/**
 * gm_kvm_create_vm - KVM_CREATE_VM of @type (KVM_X86_*_VM), retrying EINTR.
 * Return: the VM fd, or -errno.
 */
int gm_kvm_create_vm(int kvm_fd, unsigned long type);

/**
 * gm_kvm_check_extension - KVM_CHECK_EXTENSION of @cap on @fd (/dev/kvm or
 * a VM fd: VM-scoped capabilities must be asked on a VM fd).
 * Return: the capability's value (0 when absent), or -errno.
 */
int gm_kvm_check_extension(int fd, long cap);

/**
 * gm_kvm_probe - fill @caps from the host's /dev/kvm.  A host without KVM is
 * not an error: @caps says so, with the reason in caps->why.  Every fd the
 * probe opens is closed before it returns.
 * Return: 0, or -EINVAL for a NULL @caps.
 */
int gm_kvm_probe(struct gm_kvm_caps *caps);

#endif
