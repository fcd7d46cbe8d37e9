/* SPDX-License-Identifier: MIT */
/*
 * Private launch: the VMM fills guest memory, private pages included,
 * before the VM first runs, and every fill is measured into the launch
 * digest.  Private pages are written through the slot's private alias (the
 * provider's own mapping, as a restore writes them), never through the
 * window the guest sees: the page enters the window on the guest's first
 * touch, like any other.
 *
 * Locks: memslot_lock across a call, so that no slot or attribute changes
 * between the check of the range and the writes; vm->ran is read under it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vm-internal.h"

struct gm_launch {
	crypto_generichash_state hash;
};

static struct gm_launch *launch_get(struct gm_vm *vm)
{
	if (vm->launch)
		return vm->launch;
	if (sodium_init() < 0)
		return NULL;
	vm->launch = sodium_malloc(sizeof(*vm->launch));
	if (vm->launch)
		crypto_generichash_init(&vm->launch->hash, NULL, 0, GM_LAUNCH_DIGEST_SIZE);
	return vm->launch;
}

void gm_vm_launch_free(struct gm_vm *vm)
{
	sodium_free(vm->launch);
	vm->launch = NULL;
}

/* Every page of [gpa, gpa + len) is in a slot.  Caller holds memslot_lock. */
static int check_range(struct gm_vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;
	int ret = 0;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	while (gpa < end) {
		struct gm_slot *s = gm_vm_find_slot(vm, gpa);

		if (!s) {
			ret = -EINVAL;
			break;
		}
		gpa = s->desc.gpa + s->desc.size;
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

/* One private page's bytes, through the provider's alias.  Caller holds memslot_lock. */
static int write_private(struct gm_slot *s, uint64_t page, uint64_t off, const void *buf,
			 size_t len)
{
	unsigned int order = 0;
	gm_pfn_t pfn;
	int ret;

	ret = gm_slot_private_pin(s, page, &order, &pfn);
	if (ret)
		return ret;
	memcpy(s->mm->private_alias.addr + (page << GM_PAGE_SHIFT) + off, buf, len);
	if (s->mm->kept)
		s->mm->kept[page] = 1;	/* no let-in records it until the guest runs */
	s->mm->mem_ops->put_unlock_pfn(pfn);
	return 0;
}

/* The part of the copy that falls in slot @s, a page at a time. */
static int populate_slot(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, const uint8_t *buf,
			 uint64_t len)
{
	int ret = 0;

	if ((s->desc.flags & GM_SLOT_PRIVATE) && (ret = gm_slot_aliases(vm, s)))
		return ret;
	while (len && !ret) {
		uint64_t off = gpa - s->desc.gpa, page = off >> GM_PAGE_SHIFT;
		uint64_t in_page = off & GM_PAGE_MASK;
		size_t n = (size_t)(GM_PAGE_SIZE - in_page < len ? GM_PAGE_SIZE - in_page : len);

		if (s->private_attr && gm_slot_page_private(s, page))
			ret = write_private(s, page, in_page, buf, n);
		else
			ret = gm_vm_write_shared(vm, gpa, buf, n);
		gpa += n;
		buf += n;
		len -= n;
	}
	return ret;
}

static void digest_fold(struct gm_launch *l, uint64_t gpa, const void *buf, size_t len)
{
	uint8_t head[16];

	for (int i = 0; i < 8; i++) {
		head[i] = (uint8_t)(gpa >> (8 * i));
		head[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	crypto_generichash_update(&l->hash, head, sizeof(head));
	crypto_generichash_update(&l->hash, buf, len);
}

static int populate_locked(struct gm_vm *vm, uint64_t gpa, const uint8_t *buf, size_t len)
{
	uint64_t end = gpa + len;
	int ret;

	if (vm->ran)
		return -EPERM;
	if (!launch_get(vm))
		return -ENOMEM;
	ret = check_range(vm, gpa, len);
	while (!ret && gpa < end) {
		struct gm_slot *s;
		uint64_t piece;

		gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
		s = gm_vm_find_slot(vm, gpa);
		gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
		/* memslot_lock keeps @s as check_range() found it. */
		piece = s->desc.gpa + s->desc.size - gpa;
		if (piece > end - gpa)
			piece = end - gpa;
		ret = populate_slot(vm, s, gpa, buf, piece);
		gpa += piece;
		buf += piece;
	}
	return ret;
}

int gm_vm_launch_populate(struct gm_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	int ret;

	if (!vm || !buf)
		return -EFAULT;
	if (!len || (gpa & GM_GUEST_SHARED_BIT) || gpa + len < gpa)
		return -EINVAL;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	ret = populate_locked(vm, gpa, buf, len);
	if (!ret)
		digest_fold(vm->launch, gpa, buf, len);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return ret;
}

int gm_vm_launch_digest(struct gm_vm *vm, uint8_t digest[GM_LAUNCH_DIGEST_SIZE])
{
	crypto_generichash_state copy;
	int ret = 0;

	if (!vm || !digest)
		return -EFAULT;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	if (!launch_get(vm)) {
		ret = -ENOMEM;
		goto out;
	}
	/* Final() ends a state: finish a copy, so that populating may go on. */
	copy = vm->launch->hash;
	crypto_generichash_final(&copy, digest, GM_LAUNCH_DIGEST_SIZE);
	sodium_memzero(&copy, sizeof(copy));
out:
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	return ret;
}
