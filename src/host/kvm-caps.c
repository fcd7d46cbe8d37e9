// SPDX-License-Identifier: MIT
/*
 * Probe what /dev/kvm offers.  Capabilities are asked with
 * KVM_CHECK_EXTENSION, and guest_memfd is also really created, because a
 * capability only says the kernel knows the ioctl, not that this VM type
 * accepts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-caps.h"
#include "kvm-uapi.h"

/* The only KVM API version there has ever been (since Linux 2.6.22). */
#define GM_KVM_API_VERSION	12
/* A guest_memfd size every host accepts: page aligned, one 2 MiB chunk. */
#define GM_PROBE_GMEM_SIZE	(2ULL << 20)

int gm_kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int gm_kvm_create_vm(int kvm_fd, unsigned long type)
{
	int fd;

	/* KVM_CREATE_VM can fail with EINTR while the kernel sets up the MMU. */
	do
		fd = ioctl(kvm_fd, KVM_CREATE_VM, type);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

int gm_kvm_check_extension(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? -errno : ret;
}

/* A capability as a non-negative value: an error reads as "absent". */
static uint64_t cap_value(int fd, long cap)
{
	int ret = gm_kvm_check_extension(fd, cap);

	return ret > 0 ? (uint64_t)ret : 0;
}

static const char *open_why(int err)
{
	switch (err) {
	case -ENOENT:
		return "/dev/kvm does not exist (no KVM module, or not passed to this container)";
	case -EACCES:
	case -EPERM:
		return "no permission to open /dev/kvm (join the kvm group)";
	case -ENXIO:
	case -ENODEV:
		return "/dev/kvm has no driver behind it (virtualization disabled?)";
	default:
		return "/dev/kvm cannot be opened";
	}
}

/* Return: 1 when a guest_memfd of @flags can be created on @vm_fd, else 0. */
static int try_guest_memfd(int vm_fd, uint64_t flags)
{
	struct kvm_create_guest_memfd gmem;
	int fd;

	memset(&gmem, 0, sizeof(gmem));
	gmem.size = GM_PROBE_GMEM_SIZE;
	gmem.flags = flags;
	fd = ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &gmem);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* The VM-scoped capabilities every VM type shares; a default VM is asked. */
static void probe_default_vm(struct gm_kvm_caps *caps, int vm_fd)
{
	caps->user_memory2 = cap_value(vm_fd, KVM_CAP_USER_MEMORY2) != 0;
	caps->memory_fault_info = cap_value(vm_fd, KVM_CAP_MEMORY_FAULT_INFO) != 0;

	/* Before KVM_CAP_VM_TYPES only the default type existed, and it works. */
	caps->vm_types = cap_value(vm_fd, KVM_CAP_VM_TYPES);
	if (!caps->vm_types)
		caps->vm_types = 1ULL << KVM_X86_DEFAULT_VM;
}

/*
 * guest_memfd and private attributes on a VM of @type.  Return: 1 when
 * guest_memfd works there (and @caps says so), else 0.
 */
static int probe_gmem_vm(struct gm_kvm_caps *caps, int vm_fd, int type)
{
	uint64_t attrs = cap_value(vm_fd, KVM_CAP_MEMORY_ATTRIBUTES);

	if (!cap_value(vm_fd, KVM_CAP_GUEST_MEMFD) || !try_guest_memfd(vm_fd, 0))
		return 0;
	caps->guest_memfd = true;
	caps->guest_memfd_vm_type = type;
	caps->guest_memfd_flags = cap_value(vm_fd, KVM_CAP_GUEST_MEMFD_FLAGS);
	caps->memory_attributes = (attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0;
	if (!caps->memory_attributes)
		caps->why = "KVM offers no private memory attributes for the VMs that have guest_memfd";
	return 1;
}

/*
 * Which VM type has guest_memfd: the default one from Linux 6.18; from 6.8
 * only the software-protected type (KVM_SW_PROTECTED_VM), where the kernel
 * was built with it.  A default VM is tried first.
 */
static void probe_guest_memfd(struct gm_kvm_caps *caps, int kvm_fd, int default_vm_fd)
{
	int vm_fd;

	caps->guest_memfd_vm_type = -1;
	if (probe_gmem_vm(caps, default_vm_fd, KVM_X86_DEFAULT_VM))
		return;
	if (!(caps->vm_types & (1ULL << KVM_X86_SW_PROTECTED_VM))) {
		caps->why = "KVM has no guest_memfd for a default VM (Linux 6.18 has it) and no "
			    "software-protected VM type (Linux 6.8 with KVM_SW_PROTECTED_VM)";
		return;
	}
	vm_fd = gm_kvm_create_vm(kvm_fd, KVM_X86_SW_PROTECTED_VM);
	if (vm_fd < 0) {
		caps->why = "KVM lists the software-protected VM type but cannot create one";
		return;
	}
	if (!probe_gmem_vm(caps, vm_fd, KVM_X86_SW_PROTECTED_VM))
		caps->why = "KVM_CREATE_GUEST_MEMFD fails on both a default and a "
			    "software-protected VM";
	close(vm_fd);
}

int gm_kvm_probe(struct gm_kvm_caps *caps)
{
	int kvm_fd, vm_fd;

	if (!caps)
		return -EINVAL;
	memset(caps, 0, sizeof(*caps));

	kvm_fd = gm_kvm_open();
	if (kvm_fd < 0) {
		caps->api_version = kvm_fd;
		caps->why = open_why(kvm_fd);
		return 0;
	}
	caps->api_version = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (caps->api_version < 0)
		caps->api_version = -errno;
	if (caps->api_version < 0) {
		caps->why = "/dev/kvm does not answer KVM_GET_API_VERSION (not a KVM device?)";
		goto close_kvm;
	}
	if (caps->api_version != GM_KVM_API_VERSION) {
		caps->why = "/dev/kvm speaks an API version other than 12";
		goto close_kvm;
	}
	vm_fd = gm_kvm_create_vm(kvm_fd, KVM_X86_DEFAULT_VM);
	if (vm_fd < 0) {
		caps->why = "/dev/kvm opens but KVM_CREATE_VM fails";
		goto close_kvm;
	}
	caps->kvm = true;
	probe_default_vm(caps, vm_fd);
	probe_guest_memfd(caps, kvm_fd, vm_fd);
	close(vm_fd);
close_kvm:
	close(kvm_fd);
	return 0;
}
