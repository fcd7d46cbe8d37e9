/* SPDX-License-Identifier: MIT */
/*
 * Private/shared attributes and conversions.  Converting a range drops its
 * mappings and frees the side no longer in use, so a guest never holds two
 * copies of a page: to private punches the shared file, to shared punches
 * the private file (whose provider then invalidates what we mapped).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/vm-internal.h"

/* Call @fn on each slot piece of [gpa, gpa + size).  Caller holds slots_lock. */
typedef int (*piece_fn)(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			void *arg);

static int for_each_piece(struct gm_vm *vm, uint64_t gpa, uint64_t size, piece_fn fn, void *arg)
{
	uint64_t end = gpa + size;
	int ret;

	while (gpa < end) {
		struct gm_slot *s = gm_vm_find_slot(vm, gpa);
		uint64_t slot_end, n;

		if (!s)
			return -EFAULT;
		slot_end = s->desc.gpa + s->desc.size;
		n = (end < slot_end ? end : slot_end) - gpa;
		ret = fn(vm, s, gpa, n, arg);
		if (ret)
			return ret;
		gpa += n;
	}
	return 0;
}

/* Can this piece change attribute?  Whole folios of both files, private-capable. */
static int check_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	uint64_t off = gpa - s->desc.gpa;
	uint64_t pmask = (1ULL << gm_file_page_shift(s->desc.private_file ?
				s->desc.private_file : s->desc.shared_file)) - 1;
	uint64_t smask = (1ULL << gm_file_page_shift(s->desc.shared_file)) - 1;

	if (!(s->desc.flags & GM_SLOT_PRIVATE))
		return -EINVAL;
	if (((s->desc.private_offset + off) | size) & pmask)
		return -EINVAL;
	if (((s->desc.shared_offset + off) | size) & smask)
		return -EINVAL;
	return 0;
}

/*
 * Set the attribute of @n pages from @first.  Going shared, the shared
 * window opens in the same critical section: a fault that sees the page
 * shared (under mmu_lock) may map or complete an access through the window
 * at once, so the window must never be PROT_NONE by then.  Going private,
 * the caller closes the window after: an access that saw the page shared
 * happened before the conversion.
 */
static int set_attr(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t n, bool private)
{
	int ret = 0;

	pthread_mutex_lock(&vm->mmu_lock);
	if (!private && mprotect(s->shared_win + (first << GM_PAGE_SHIFT), n << GM_PAGE_SHIFT,
				 PROT_READ | PROT_WRITE) < 0)
		ret = -errno;
	if (!ret) {
		memset(s->private_attr + first, private, n);
		/* Faults that checked the old attribute must not map. */
		vm->mmu_seq++;
	}
	pthread_mutex_unlock(&vm->mmu_lock);
	return ret;
}

static int convert_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			 void *arg)
{
	bool to_private = *(bool *)arg;
	uint64_t off = gpa - s->desc.gpa;
	int ret;

	ret = set_attr(vm, s, off >> GM_PAGE_SHIFT, size >> GM_PAGE_SHIFT, to_private);
	if (ret)
		return ret;
	if (to_private) {
		gm_vm_zap_range(vm, s, gpa, size, false);
		ret = gm_fallocate(s->desc.shared_file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
				   (off_t)(s->desc.shared_offset + off), (off_t)size);
		return ret == -EOPNOTSUPP ? 0 : ret;	/* a store that cannot punch keeps its zeroes */
	}
	gm_vm_zap_range(vm, s, gpa, size, true);
	return gm_fallocate(s->desc.private_file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
			    (off_t)(s->desc.private_offset + off), (off_t)size);
}

int gm_vm_set_memory_attributes(struct gm_vm *vm, uint64_t gpa, uint64_t size,
				uint64_t attributes, uint64_t flags)
{
	bool to_private = attributes & GM_MEMORY_ATTRIBUTE_PRIVATE;
	int ret;

	if (!vm)
		return -EFAULT;
	/* KVM_SET_MEMORY_ATTRIBUTES' checks, in its order. */
	if (flags || (attributes & ~GM_MEMORY_ATTRIBUTE_PRIVATE))
		return -EINVAL;
	if (!size || gpa + size <= gpa)
		return -EINVAL;
	if ((gpa | size) & GM_PAGE_MASK)
		return -EINVAL;
	pthread_rwlock_rdlock(&vm->slots_lock);
	ret = for_each_piece(vm, gpa, size, check_piece, NULL);
	if (ret == -EFAULT)
		ret = -EINVAL;	/* no slot: nothing that could become private */
	if (!ret)
		ret = for_each_piece(vm, gpa, size, convert_piece, &to_private);
	pthread_rwlock_unlock(&vm->slots_lock);
	if (!ret)
		gm_stat_add(&vm->stats.conversions, 1);
	return ret;
}

int64_t gm_vm_get_memory_attributes(struct gm_vm *vm, uint64_t gpa)
{
	struct gm_slot *s;
	int64_t ret = 0;

	if (!vm)
		return -EFAULT;
	pthread_rwlock_rdlock(&vm->slots_lock);
	s = gm_vm_find_slot(vm, gpa);
	if (s && s->private_attr) {
		pthread_mutex_lock(&vm->mmu_lock);
		if (s->private_attr[(gm_canonical_gpa(gpa) - s->desc.gpa) >> GM_PAGE_SHIFT])
			ret = GM_MEMORY_ATTRIBUTE_PRIVATE;
		pthread_mutex_unlock(&vm->mmu_lock);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

/* ---- host access to shared memory, through the shared file ---- */

struct io {
	void *buf;
	bool write;
	bool ignore_attr;	/* the host's view of the file, whatever the guest uses */
};

static int io_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	struct io *io = arg;
	uint64_t off = gpa - s->desc.gpa;
	off_t pos = (off_t)(s->desc.shared_offset + off);
	ssize_t n;

	if (!io->ignore_attr && s->private_attr) {
		uint64_t first = off >> GM_PAGE_SHIFT;
		uint64_t last = (off + size - 1) >> GM_PAGE_SHIFT;

		for (uint64_t p = first; p <= last; p++)
			if (s->private_attr[p])
				return -EPERM;
	}
	n = io->write ? gm_pwrite(s->desc.shared_file, io->buf, size, pos)
		      : gm_pread(s->desc.shared_file, io->buf, size, pos);
	if (n < 0)
		return (int)n;
	if (!io->write && (uint64_t)n < size)
		memset((char *)io->buf + n, 0, size - (uint64_t)n);
	io->buf = (char *)io->buf + size;
	return 0;
}

static int shared_io(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len, bool write,
		     bool ignore_attr)
{
	struct io io = { .buf = buf, .write = write, .ignore_attr = ignore_attr };
	int ret;

	if (!vm || (!buf && len))
		return -EFAULT;
	if (!len)
		return 0;
	gpa = gm_canonical_gpa(gpa);
	if (gpa + len < gpa)
		return -EFAULT;
	pthread_rwlock_rdlock(&vm->slots_lock);
	pthread_mutex_lock(&vm->mmu_lock);
	ret = for_each_piece(vm, gpa, len, io_piece, &io);
	pthread_mutex_unlock(&vm->mmu_lock);
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

int gm_vm_write_shared(struct gm_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	return shared_io(vm, gpa, (void *)buf, len, true, false);
}

int gm_vm_read_shared(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len)
{
	return shared_io(vm, gpa, buf, len, false, false);
}

int gm_vm_read_host_view(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len)
{
	return shared_io(vm, gpa, buf, len, false, true);
}
