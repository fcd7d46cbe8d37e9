/* SPDX-License-Identifier: MIT */
/*
 * The kvm store: the host kernel's own guest_memfd.  Its pages belong to the
 * kernel, not to pmem, and its semantics are the kernel's: every call goes
 * straight to the fd, so guestmem neither hides nor changes what KVM does
 * (fixed size, fallocate only with KEEP_SIZE, no read or write).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-uapi.h"
#include "store.h"

_Static_assert(GM_GUEST_MEMFD_FLAG_MMAP == GUEST_MEMFD_FLAG_MMAP &&
	       GM_GUEST_MEMFD_FLAG_INIT_SHARED == GUEST_MEMFD_FLAG_INIT_SHARED,
	       "the public guest_memfd flags are KVM's");

int gm_guest_memfd_create(int vm_fd, uint64_t size, uint64_t flags, struct gm_file **filep)
{
	struct kvm_create_guest_memfd args = { .size = size, .flags = flags };
	struct gm_file *file;
	int fd;

	if (!filep)
		return -EFAULT;
	fd = ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &args);
	if (fd < 0)
		return -errno;
	file = gm_file_alloc(GM_STORE_KVM, GM_PAGE_SHIFT);
	if (!file) {
		close(fd);
		return -ENOMEM;
	}
	file->fd = fd;
	atomic_store(&file->size, (int64_t)size);
	*filep = file;
	return 0;
}
