/* SPDX-License-Identifier: MIT */
/*
 * provider: the layer between backing stores and their consumer (a VM).
 *
 * Each store registers as a provider.  A consumer hands a guest-only file to
 * gm_register_guest(); the registry finds the file's provider and returns its
 * memory operations.  Those are the consumer's only way to the file's pages:
 * it maps a range once (map_range), and when its guest first touches a page
 * it asks get_lock_pfn() for it and lets the page into its mapping.  The
 * provider calls the owner back whenever a range of the file loses its
 * pages, and then punches them out of every mapping before reusing them.
 */
#ifndef GUESTMEM_PROVIDER_H
#define GUESTMEM_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>
#include <guestmem/file.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A frame number: one 4 KiB page of the memory a provider serves, unique in
 * the process while the page is held.  Only the provider that returned it
 * knows what it names.
 */
typedef uint64_t gm_pfn_t;
/* An impossible pfn, for "no frame". */
#define GM_PFN_NONE	UINT64_MAX

/* The owner's side: what the provider calls. */
struct gm_guest_ops {
	/*
	 * Pages [@start, @end) (4 KiB page indexes of @file) are about to lose
	 * their frames: drop every mapping of them before returning; the
	 * frames are freed after.  Called with @file's lock held and inside an
	 * RCU read-side section: it must not fault holes of @file in (nor wait
	 * for a thread that does), and must not call gm_unregister_guest().
	 * Frames it still sees pinned are waited for after it returns.
	 */
	void (*invalidate_page_range)(struct gm_file *file, void *owner,
				      uint64_t start, uint64_t end);
};

/* The provider's side: what the owner calls. */
struct gm_mem_ops {
	/*
	 * The frame of page @index, allocated (zeroed) if needed, pinned so
	 * that no punch or truncate frees it until put_unlock_pfn().  *@order is
	 * the order of the folio holding it.
	 * Return: 0, -EINVAL (index past the end), -ENOMEM/-ENOSPC, -EPERM (no
	 * owner holds the file: unregistered), -EAGAIN (the page is being
	 * freed under pins still held: drop yours and retry).
	 */
	int (*get_lock_pfn)(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			    unsigned int *order);
	/* Drop the pin that get_lock_pfn() took. */
	void (*put_unlock_pfn)(gm_pfn_t pfn);
	/*
	 * The largest aligned mapping the store can give at @index now:
	 * a gm_level, or -EINVAL past the end.
	 */
	int (*pfn_mapping_level)(struct gm_file *file, uint64_t index);
	/*
	 * Map bytes [@offset, @offset + @len) of @file at the fixed host
	 * address @addr (over whatever is there), shared and read-write,
	 * populating nothing: the consumer's one window onto the file.  It
	 * must be a mapping of a shmem or hugetlbfs file, so that the consumer
	 * can resolve first touches with userfaultfd's missing and minor
	 * modes.  A page shows in it only once get_lock_pfn() made it present,
	 * and leaves it when the provider punches it, before any reuse.
	 * Return: 0, -EFAULT (NULL @file), -EINVAL (unaligned, not this
	 * provider's), or mmap's errno.
	 */
	int (*map_range)(struct gm_file *file, uint64_t offset, uint64_t len, void *addr);
	/*
	 * Make pages [@index, @index + @n) of a file the consumer maps itself
	 * (a VM's shared memory: an ordinary file, with no owner) present, as
	 * a first touch of its mapping would, so that the consumer can let
	 * them into that mapping.  Pages present stay as they are.  May be
	 * NULL in a provider that serves guest-only files only.
	 * Return: 0, -EINVAL (past the end), -ENOMEM/-ENOSPC, -EFAULT.
	 */
	int (*populate)(struct gm_file *file, uint64_t index, uint64_t n);
	/*
	 * In-place files (GM_MFD_GUEST_MMAP): the owner converts pages [@index,
	 * @index + @n) to private (@private) or shared with content policy
	 * @policy (GM_CONVERT_*), as gm_file_set_attributes() does for a file
	 * no guest holds, and with the same refusals (-EAGAIN, the first page
	 * in *@error_index).  The provider calls no invalidate callback for
	 * it: the owner keeps its own mappings in step.  With
	 * GM_CONVERT_ZERO the pages read zero on their new side.  May be NULL
	 * in a provider without in-place files.
	 * Return: 0, -EAGAIN, -EINVAL (not in place, past the end), -EPERM
	 * (no owner holds the file).
	 */
	int (*set_attributes)(struct gm_file *file, uint64_t index, uint64_t n, bool private,
			      unsigned int policy, uint64_t *error_index);
};

/*
 * The provider's files are the host kernel's guest_memfd: a KVM engine
 * binds them to its VM itself (KVM_MEM_GUEST_MEMFD).  Their pages are the
 * kernel's, never lent by frame number nor copied by the library (no
 * snapshots), they have no seals, and such a file may be a guest's without
 * being guest-only.
 */
#define GM_PROVIDER_KERNEL	(1U << 0)

struct gm_provider {
	const char *name;
	/* Does this provider serve @file? */
	int (*owns)(struct gm_file *file);
	const struct gm_mem_ops *mem_ops;
	unsigned int flags;		/* GM_PROVIDER_* */
};

/**
 * gm_provider_register - add a provider to the registry.  Providers are
 * asked whether they own a file newest first, so a provider of one's own
 * can claim guest-only files that a built-in store would otherwise serve.
 * Providers are never removed: @provider must live as long as the process.
 * Return: 0, or -EINVAL (NULL or incomplete), -EEXIST (name taken),
 * -ENOSPC (registry full).
 */
int gm_provider_register(const struct gm_provider *provider);

/**
 * gm_provider_find - the provider that serves @file.
 * Return: the provider, or NULL (no provider claims it).
 */
const struct gm_provider *gm_provider_find(struct gm_file *file);

/**
 * gm_register_guest - make @owner the guest of @file.
 * @guest_ops: callbacks into the owner; must outlive the registration.
 * @mem_ops: on success, the provider's memory operations.
 *
 * Return: 0, or -EINVAL (NULL owner, ops or mem_ops), -EFAULT (NULL file),
 * -EPERM (file not guest-only, or held by another owner), -EOPNOTSUPP (no
 * provider claims the file), -ENOMEM.
 */
int gm_register_guest(struct gm_file *file, void *owner,
		      const struct gm_guest_ops *guest_ops,
		      const struct gm_mem_ops **mem_ops);

/**
 * gm_unregister_guest - end @owner's hold on @file.  Returns only when no
 * invalidate callback for @owner is running or can start.
 * Return: 0, or -EINVAL (@owner does not hold @file), -EFAULT.
 */
int gm_unregister_guest(struct gm_file *file, void *owner);

#ifdef __cplusplus
}
#endif
#endif
