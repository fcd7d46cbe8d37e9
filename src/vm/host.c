// SPDX-License-Identifier: MIT
/*
 * gm_host_caps_get: what this host can run, from the KVM probe, the
 * huge-page pools and the engines' own answers.  The vm layer holds it
 * because it knows the engines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <guestmem/host.h>
#include <guestmem/vm.h>

#include "hugepages.h"
#include "kvm-caps.h"
#include "kvm-uapi.h"

_Static_assert(GM_KVM_VM_DEFAULT == KVM_X86_DEFAULT_VM &&
	       GM_KVM_VM_SW_PROTECTED == KVM_X86_SW_PROTECTED_VM,
	       "the public VM types are KVM's");

static void probe_kvm(struct gm_host_kvm *kvm)
{
	struct gm_kvm_caps caps;

	gm_kvm_probe(&caps);
	*kvm = (struct gm_host_kvm) {
		.available = caps.kvm,
		.api_version = caps.api_version,
		.guest_memfd = caps.guest_memfd,
		.guest_memfd_vm_type = caps.guest_memfd_vm_type,
		.guest_memfd_flags = caps.guest_memfd_flags,
		.memory_attributes = caps.memory_attributes,
		.vm_types = caps.vm_types,
		.user_memory2 = caps.user_memory2,
		.memory_fault_info = caps.memory_fault_info,
		.why = caps.why,
	};
}

static void find_hugetlb(struct gm_host_caps *caps)
{
	gm_host_hugepages_read(GM_HUGE_2M_SHIFT, &caps->huge_2m.total, &caps->huge_2m.free);
	gm_host_hugepages_read(GM_HUGE_1G_SHIFT, &caps->huge_1g.total, &caps->huge_1g.free);
	caps->store_hugetlb = caps->huge_2m.free || caps->huge_1g.free;
	if (caps->store_hugetlb)
		return;
	if (!caps->huge_2m.total && !caps->huge_1g.total) {
		caps->store_hugetlb_why = "no huge pages reserved (/proc/sys/vm/nr_hugepages is 0)";
		return;
	}
	snprintf(caps->why_text, sizeof(caps->why_text),
		 "every reserved huge page is in use (2 MiB: %" PRIu64 " reserved, 1 GiB: %"
		 PRIu64 " reserved, none free)", caps->huge_2m.total, caps->huge_1g.total);
	caps->store_hugetlb_why = caps->why_text;
}

static void find_kvm_store(struct gm_host_caps *caps)
{
	const struct gm_host_kvm *kvm = &caps->kvm;

	/* The kvm store holds a VM's shared RAM: the host maps it. */
	const uint64_t shared = GM_GUEST_MEMFD_FLAG_MMAP | GM_GUEST_MEMFD_FLAG_INIT_SHARED;

	caps->store_kvm = kvm->guest_memfd && (kvm->guest_memfd_flags & shared) == shared &&
			  kvm->guest_memfd_vm_type == GM_KVM_VM_DEFAULT;
	if (!kvm->guest_memfd)
		caps->store_kvm_why = kvm->why ? kvm->why : "KVM offers no guest_memfd";
	else if (!caps->store_kvm)
		caps->store_kvm_why = "this KVM's guest_memfd cannot be mapped by the host on a "
				      "default VM (GUEST_MEMFD_FLAG_MMAP and INIT_SHARED: Linux "
				      "6.18), and the kvm store holds a guest's shared RAM";
	caps->store_kvm_private = caps->store_kvm && kvm->memory_attributes;
	if (!caps->store_kvm)
		caps->store_kvm_private_why = caps->store_kvm_why;
	else if (!caps->store_kvm_private)
		caps->store_kvm_private_why = "this KVM has no KVM_CAP_MEMORY_ATTRIBUTES for its VMs";
}

int gm_host_caps_get(struct gm_host_caps *caps)
{
	if (!caps)
		return -EFAULT;
	memset(caps, 0, sizeof(*caps));
	probe_kvm(&caps->kvm);
	caps->engine_kvm = gm_engine_available(GM_ENGINE_KVM, &caps->engine_kvm_why);
	caps->engine_emu = gm_engine_available(GM_ENGINE_EMU, &caps->engine_emu_why);
	find_hugetlb(caps);
	find_kvm_store(caps);
	return 0;
}

int gm_host_kvm_vm_create(void)
{
	struct gm_kvm_caps caps;
	int kvm_fd, vm_fd;

	gm_kvm_probe(&caps);
	kvm_fd = gm_kvm_open();
	if (kvm_fd < 0)
		return kvm_fd;
	/* The VM holds KVM on its own: /dev/kvm's fd is needed no longer. */
	vm_fd = gm_kvm_create_vm(kvm_fd, caps.guest_memfd ? (unsigned long)caps.guest_memfd_vm_type
							  : KVM_X86_DEFAULT_VM);
	close(kvm_fd);
	return vm_fd;
}
