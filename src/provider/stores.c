/* SPDX-License-Identifier: MIT */
/*
 * The stores guestmem ships, as providers.  shmem and hugetlb serve frames
 * from pmem through the store's guest path; kvm is the kernel's guest_memfd,
 * whose pages the kernel keeps to itself: a VM binds it natively.
 */
#include <errno.h>

#include "provider.h"
#include "store.h"

static int shmem_owns(struct gm_file *file)
{
	return gm_file_store(file) == GM_STORE_SHMEM;
}

static int hugetlb_owns(struct gm_file *file)
{
	return gm_file_store(file) == GM_STORE_HUGETLB;
}

static int kvm_owns(struct gm_file *file)
{
	return gm_file_store(file) == GM_STORE_KVM;
}

/* Only for an owner: once unregistered, the file's pages are nobody's to lock. */
static int pmem_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			     unsigned int *order)
{
	if (!file)
		return -EFAULT;
	if (!gm_file_binding(file))
		return -EPERM;
	return gm_file_get_lock_pfn(file, index, pfn, order);
}

/* Shared memory: the file's own pages, allocated as a first touch would. */
static int file_populate(struct gm_file *file, uint64_t index, uint64_t n)
{
	if (index > (UINT64_MAX >> GM_PAGE_SHIFT) - n)
		return -EINVAL;
	return gm_fallocate(file, GM_FALLOC_KEEP_SIZE, (off_t)(index << GM_PAGE_SHIFT),
			    (off_t)(n << GM_PAGE_SHIFT));
}

/*
 * In place: the owner's conversion, on its own say: no invalidate callback,
 * since no page is freed and the owner keeps its windows in step itself.
 * With GM_CONVERT_PRESERVE and no host mapping it makes no system call.
 */
static int pmem_set_attributes(struct gm_file *file, uint64_t index, uint64_t n, bool private,
			       unsigned int policy, uint64_t *error_index)
{
	if (!file)
		return -EFAULT;
	if (!gm_file_binding(file))
		return -EPERM;
	return gm_file_convert(file, index, n, private, policy, error_index);
}

static const struct gm_mem_ops pmem_mem_ops = {
	.get_lock_pfn = pmem_get_lock_pfn,
	.put_unlock_pfn = gm_file_put_unlock_pfn,
	.pfn_mapping_level = gm_file_mapping_level,
	.map_range = gm_file_map_range,
	.populate = file_populate,
	.set_attributes = pmem_set_attributes,
};

/* The kernel does not lend guest_memfd's pages out by frame number. */
static int kvm_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			    unsigned int *order)
{
	return -EOPNOTSUPP;
}

static void kvm_put_unlock_pfn(gm_pfn_t pfn)
{
}

static int kvm_mapping_level(struct gm_file *file, uint64_t index)
{
	int64_t size = gm_file_size(file);

	if (size < 0 || index >= ((uint64_t)size >> GM_PAGE_SHIFT))
		return -EINVAL;
	/* guest_memfd in Linux 6.18 allocates order-0 folios only. */
	return GM_LEVEL_4K;
}

/* Its pages are never in a host mapping: KVM binds the file itself. */
static int kvm_map_range(struct gm_file *file, uint64_t offset, uint64_t len, void *addr)
{
	return -EOPNOTSUPP;
}

static const struct gm_mem_ops kvm_mem_ops = {
	.get_lock_pfn = kvm_get_lock_pfn,
	.put_unlock_pfn = kvm_put_unlock_pfn,
	.pfn_mapping_level = kvm_mapping_level,
	.map_range = kvm_map_range,
	.populate = file_populate,
};

static const struct gm_provider shmem_provider = {
	.name = "shmem", .owns = shmem_owns, .mem_ops = &pmem_mem_ops,
};
static const struct gm_provider hugetlb_provider = {
	.name = "hugetlb", .owns = hugetlb_owns, .mem_ops = &pmem_mem_ops,
};
static const struct gm_provider kvm_provider = {
	.name = "kvm", .owns = kvm_owns, .mem_ops = &kvm_mem_ops, .flags = GM_PROVIDER_KERNEL,
};

const struct gm_provider *const gm_builtin_providers[] = {
	&shmem_provider, &hugetlb_provider, &kvm_provider, NULL,
};
