/* SPDX-License-Identifier: MIT */
/*
 * KVM uAPI that is newer than the <linux/kvm.h> we build against.
 *
 * Debian's linux-libc-dev 6.1 headers predate guest_memfd, so this is the one
 * place where guestmem spells out the constants and structures it needs.  Each
 * entry names the Linux release that added it and is guarded, so that newer
 * system headers win and nothing is defined twice.  The values are the
 * kernel's ABI: they must never change.
 */
#ifndef GM_KVM_UAPI_H
#define GM_KVM_UAPI_H

#include <stddef.h>
#include <linux/kvm.h>
#include <linux/types.h>

/* Capabilities (KVM_CHECK_EXTENSION), all Linux 6.8 unless noted. */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2		231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO	232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES	233	/* returns the supported attribute mask */
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD		234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES		235	/* returns a mask of 1 << KVM_X86_*_VM */
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS	244	/* Linux 6.18: the GUEST_MEMFD_FLAG_* accepted */
#endif

/* VM types for KVM_CREATE_VM on x86 (Linux 6.8). */
#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM		0
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM		1
#endif

/* guest_memfd creation (Linux 6.8). */
#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD	_IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif

/* guest_memfd creation flags (Linux 6.18). */
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP		(1ULL << 0)	/* the host may mmap() it */
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)	/* pages start shared */
#endif

/* Memslots that name a guest_memfd (Linux 6.8). */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 \
	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD		(1U << 2)
#endif

/* Per-page memory attributes of a VM (Linux 6.8). */
#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES \
	_IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE	(1ULL << 3)
#endif

/* The memory-fault exit (Linux 6.8). */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT		39
#endif
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE	(1ULL << 3)
#endif

/*
 * kvm_run's exit union gains a memory_fault member in Linux 6.8.  Old
 * headers lack it, so we describe it under our own name and overlay it on
 * the union (every member of which starts where run->mmio does).
 */
struct gm_kvm_memory_fault {
	__u64 flags;		/* KVM_MEMORY_EXIT_FLAG_* */
	__u64 gpa;
	__u64 size;
};

static inline struct gm_kvm_memory_fault *gm_kvm_run_memory_fault(struct kvm_run *run)
{
	return (struct gm_kvm_memory_fault *)(void *)&run->mmio;
}

/* The ABI sizes; a mismatch means a wrong field above. */
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64,
	       "struct kvm_create_guest_memfd is 64 bytes");
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160,
	       "struct kvm_userspace_memory_region2 is 160 bytes");
_Static_assert(sizeof(struct kvm_memory_attributes) == 32,
	       "struct kvm_memory_attributes is 32 bytes");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd) == 40,
	       "guest_memfd follows guest_memfd_offset");
_Static_assert(sizeof(struct gm_kvm_memory_fault) <= sizeof(((struct kvm_run *)0)->padding),
	       "memory_fault fits in kvm_run's exit union");

#endif
