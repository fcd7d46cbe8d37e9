/* SPDX-License-Identifier: MIT */
/*
 * The fault path and invalidation: KVM's mmu_invalidate_seq protocol.
 *
 * A private fault snapshots vm->mmu_seq, calls get_lock_pfn() with no vm
 * lock held, then maps only if no invalidation ran or is running over the
 * range meanwhile; otherwise it drops the pin and retries.  An invalidation
 * clears the stage-2 entries and bumps the sequence under mmu_lock, then
 * makes the host pages unreachable (engine mappings first, then the
 * window) before it returns, and the store frees frames only after that.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/vm-internal.h"

const struct gm_guest_ops gm_vm_guest_ops = {
	.invalidate_page_range = gm_vm_invalidate,
};

static uint64_t slot_page(const struct gm_slot *s, uint64_t gpa)
{
	return (gm_canonical_gpa(gpa) - s->desc.gpa) >> GM_PAGE_SHIFT;
}

/* Caller holds mmu_lock. */
static bool range_busy(struct gm_vm *vm, uint64_t start, uint64_t end)
{
	return vm->invalidate_in_progress && start < vm->inval_end && vm->inval_start < end;
}

/* Are pages [first, first + n) all inside @s with attribute @private?  Under mmu_lock. */
static bool attr_uniform(const struct gm_slot *s, uint64_t first, uint64_t n, bool private)
{
	if (first + n > s->nr_pages)
		return false;
	if (!s->private_attr)
		return !private;
	for (uint64_t i = first; i < first + n; i++)
		if (s->private_attr[i] != private)
			return false;
	return true;
}

/*
 * The largest level at which @page may be mapped given the slot's alignment
 * (guest address and file offset congruent) and uniform attributes.
 */
static enum gm_level slot_max_level(const struct gm_slot *s, uint64_t page, bool private)
{
	uint64_t offset = private ? s->desc.private_offset : s->desc.shared_offset;
	uint64_t first = page & ~(uint64_t)(GM_2M_PAGES - 1);

	if ((s->desc.gpa - offset) & (GM_2M - 1))
		return GM_LEVEL_4K;
	if (!attr_uniform(s, first, GM_2M_PAGES, private))
		return GM_LEVEL_4K;
	return GM_LEVEL_2M;
}

static bool is_private_access(const struct gm_slot *s, uint64_t gpa)
{
	return (s->desc.flags & GM_SLOT_PRIVATE) && !(gpa & GM_GUEST_SHARED_BIT);
}

static int fill_memory_fault(struct gm_vm *vm, struct gm_exit *exit, uint64_t gpa, bool private)
{
	memset(exit, 0, sizeof(*exit));
	exit->reason = GM_EXIT_MEMORY_FAULT;
	exit->fault.gpa = gm_canonical_gpa(gpa) & ~GM_PAGE_MASK;
	exit->fault.size = GM_PAGE_SIZE;
	exit->fault.private = private;
	gm_stat_add(&vm->stats.memory_fault_exits, 1);
	return 1;
}

/* Complete an access the guest could not make (kvm MMIO exits).  Under mmu_lock. */
static void complete_access(struct gm_vm *vm, uint8_t *hva, struct gm_access *acc)
{
	if (!acc->data)
		return;
	if (acc->write)
		memcpy(hva, acc->data, acc->len);
	else
		memcpy(acc->data, hva, acc->len);
	acc->completed = true;
	gm_stat_add(&vm->stats.mmio_completions, 1);
}

static int fault_shared(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			struct gm_access *acc)
{
	uint64_t page = slot_page(s, acc->gpa), first = page, n = 1;
	uint64_t bit = acc->gpa & GM_GUEST_SHARED_BIT;
	int ret = 0;

	pthread_mutex_lock(&vm->mmu_lock);
	if (!attr_uniform(s, page, 1, false)) {
		pthread_mutex_unlock(&vm->mmu_lock);
		return 0;	/* converted meanwhile: let the guest retry */
	}
	if (slot_max_level(s, page, false) == GM_LEVEL_2M) {
		first = page & ~(uint64_t)(GM_2M_PAGES - 1);
		n = GM_2M_PAGES;
	}
	if (vm->engine->map && vcpu)
		ret = vm->engine->map(vm, vcpu, (s->desc.gpa + (first << GM_PAGE_SHIFT)) | bit,
				      n << GM_PAGE_SHIFT, s->shared_win + (first << GM_PAGE_SHIFT));
	if (!ret) {
		gm_stat_add(&vm->stats.faults[n == 1 ? GM_LEVEL_4K : GM_LEVEL_2M], 1);
		complete_access(vm, s->shared_win + (gm_canonical_gpa(acc->gpa) - s->desc.gpa), acc);
	}
	pthread_mutex_unlock(&vm->mmu_lock);
	return ret;
}

static void note_mapped(struct gm_vm *vm, uint64_t n)
{
	uint64_t now = atomic_fetch_add(&vm->stats.frames_mapped, n) + n;
	uint64_t peak = atomic_load(&vm->stats.frames_mapped_peak);

	while (now > peak && !atomic_compare_exchange_weak(&vm->stats.frames_mapped_peak, &peak, now))
		;
}

/*
 * Map @n pages from @first onto frames from @pfn.  Under mmu_lock, after
 * the sequence check.
 */
static int map_private(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
		       uint64_t first, uint64_t n, gm_pfn_t pfn, enum gm_level level)
{
	uint8_t *hva = s->private_win + (first << GM_PAGE_SHIFT);
	uint64_t newly = 0;
	int ret;

	ret = gm_pmem_map(pfn, n, hva, PROT_READ | PROT_WRITE);
	if (ret)
		return ret;
	if (vm->engine->map && vcpu) {
		ret = vm->engine->map(vm, vcpu, s->desc.gpa + (first << GM_PAGE_SHIFT),
				      n << GM_PAGE_SHIFT, hva);
		if (ret)
			return ret;
	}
	for (uint64_t i = 0; i < n; i++) {
		newly += s->s2_pfn[first + i] == GM_PFN_NONE;
		s->s2_pfn[first + i] = pfn + i;
		s->s2_level[first + i] = (uint8_t)level;
	}
	note_mapped(vm, newly);
	gm_stat_add(vcpu ? &vm->stats.faults[level] : &vm->stats.prefaults, 1);
	return 0;
}

static int fault_private(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			 struct gm_access *acc)
{
	uint64_t page = slot_page(s, acc->gpa), first, n, seq;
	uint64_t index = (s->desc.private_offset >> GM_PAGE_SHIFT) + page;
	struct gm_file *file = s->desc.private_file;
	enum gm_level want, level;
	unsigned int order;
	gm_pfn_t pfn;
	int ret;

retry:
	pthread_mutex_lock(&vm->mmu_lock);
	if (!attr_uniform(s, page, 1, true)) {
		pthread_mutex_unlock(&vm->mmu_lock);
		return 0;	/* converted meanwhile: the guest retries */
	}
	seq = vm->mmu_seq;
	want = slot_max_level(s, page, true);
	pthread_mutex_unlock(&vm->mmu_lock);

	order = want == GM_LEVEL_2M ? GM_HUGE_2M_ORDER : 0;
	ret = s->mem_ops->get_lock_pfn(file, index, &pfn, &order);
	if (ret)
		return ret;
	ret = s->mem_ops->pfn_mapping_level(file, index);
	if (ret < 0) {
		s->mem_ops->put_unlock_pfn(pfn);
		return ret;
	}
	/*
	 * A huge folio can only be mapped whole on the host; memslot and
	 * conversion checks keep such slots folio-aligned and uniform.
	 */
	level = (enum gm_level)ret;
	if (!order && want < level)
		level = want;
	n = 1ULL << gm_level_order(level);
	first = page & ~(n - 1);

	pthread_mutex_lock(&vm->mmu_lock);
	if (vm->mmu_seq != seq ||
	    range_busy(vm, s->desc.gpa + (first << GM_PAGE_SHIFT),
		       s->desc.gpa + ((first + n) << GM_PAGE_SHIFT))) {
		pthread_mutex_unlock(&vm->mmu_lock);
		s->mem_ops->put_unlock_pfn(pfn);
		gm_stat_add(&vm->stats.retries, 1);
		sched_yield();
		goto retry;
	}
	ret = map_private(vm, vcpu, s, first, n, pfn - (page - first), level);
	if (!ret)
		complete_access(vm, s->private_win + (gm_canonical_gpa(acc->gpa) - s->desc.gpa), acc);
	pthread_mutex_unlock(&vm->mmu_lock);
	s->mem_ops->put_unlock_pfn(pfn);
	if (!ret && vcpu && level == GM_LEVEL_2M)
		gm_vm_prefault_hint(vm, s->desc.gpa + ((first + n) << GM_PAGE_SHIFT));
	return ret;
}

/*
 * The slot an access at @gpa (either alias) reaches, and in *@private
 * whether the access is private; NULL when no slot serves it (the shared
 * alias of a shared-only slot included).  Caller holds slots_lock.
 */
static struct gm_slot *slot_for_access(struct gm_vm *vm, uint64_t gpa, bool *private)
{
	struct gm_slot *s = gm_vm_find_slot(vm, gpa);

	if (!s || ((gpa & GM_GUEST_SHARED_BIT) && !(s->desc.flags & GM_SLOT_PRIVATE)))
		return NULL;
	*private = is_private_access(s, gpa);
	return s;
}

int gm_vm_handle_fault(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_access *acc,
		       struct gm_exit *exit)
{
	struct gm_slot *s;
	bool private, attr_private;
	int ret;

	pthread_rwlock_rdlock(&vm->slots_lock);
	s = slot_for_access(vm, acc->gpa, &private);
	if (!s) {
		ret = fill_memory_fault(vm, exit, acc->gpa, !(acc->gpa & GM_GUEST_SHARED_BIT));
		goto out;
	}
	pthread_mutex_lock(&vm->mmu_lock);
	attr_private = s->private_attr && s->private_attr[slot_page(s, acc->gpa)];
	pthread_mutex_unlock(&vm->mmu_lock);
	if (private != attr_private) {
		ret = fill_memory_fault(vm, exit, acc->gpa, private);
		goto out;
	}
	ret = private ? fault_private(vm, vcpu, s, acc) : fault_shared(vm, vcpu, s, acc);
out:
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

int gm_vm_peek_page(struct gm_vm *vm, uint64_t gpa, void *buf)
{
	uint64_t page_gpa = gm_canonical_gpa(gpa) & ~GM_PAGE_MASK;
	struct gm_slot *s;
	gm_pfn_t pfn = GM_PFN_NONE;
	bool private, mapped;
	uint64_t page;
	int ret;

	pthread_rwlock_rdlock(&vm->slots_lock);
	s = slot_for_access(vm, gpa, &private);
	if (!s) {
		ret = -EFAULT;
		goto out;
	}
	page = (page_gpa - s->desc.gpa) >> GM_PAGE_SHIFT;
	pthread_mutex_lock(&vm->mmu_lock);
	if (private)
		pfn = s->s2_pfn[page];
	mapped = private ? pfn != GM_PFN_NONE : !(s->private_attr && s->private_attr[page]);
	pthread_mutex_unlock(&vm->mmu_lock);
	if (!mapped) {
		ret = -ENOENT;
		goto out;
	}
	/* Copies, through the files: a page freed meanwhile reads zero, never faults. */
	if (private)
		ret = gm_pmem_read(pfn, 0, buf, GM_PAGE_SIZE) ? -ENOENT : 0;
	else
		ret = gm_pread(s->desc.shared_file, buf, GM_PAGE_SIZE,
			       (off_t)(s->desc.shared_offset + (page << GM_PAGE_SHIFT))) < 0 ? -EFAULT : 0;
out:
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

/* ---- invalidation ---- */

/* Widen [*first, *end) to whole huge mappings it cuts.  Under mmu_lock. */
static void widen_to_mappings(const struct gm_slot *s, uint64_t *first, uint64_t *end)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t p = pass ? *end - 1 : *first;
		uint64_t n;

		if (s->s2_pfn[p] == GM_PFN_NONE || s->s2_level[p] == GM_LEVEL_4K)
			continue;
		n = 1ULL << gm_level_order((enum gm_level)s->s2_level[p]);
		if (pass)
			*end = (p & ~(n - 1)) + n;
		else
			*first = p & ~(n - 1);
	}
}

static void begin_invalidate(struct gm_vm *vm, uint64_t start, uint64_t end)
{
	if (!vm->invalidate_in_progress++) {
		vm->inval_start = start;
		vm->inval_end = end;
	} else {
		vm->inval_start = start < vm->inval_start ? start : vm->inval_start;
		vm->inval_end = end > vm->inval_end ? end : vm->inval_end;
	}
	vm->mmu_seq++;
}

static void end_invalidate(struct gm_vm *vm)
{
	pthread_mutex_lock(&vm->mmu_lock);
	vm->invalidate_in_progress--;
	pthread_mutex_unlock(&vm->mmu_lock);
}

static uint64_t clear_stage2(struct gm_slot *s, uint64_t first, uint64_t end)
{
	uint64_t cleared = 0;

	for (uint64_t i = first; i < end; i++) {
		cleared += s->s2_pfn[i] != GM_PFN_NONE;
		s->s2_pfn[i] = GM_PFN_NONE;
		s->s2_level[i] = 0;
	}
	return cleared;
}

void gm_vm_zap_range(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
		     bool private_side)
{
	uint64_t first = slot_page(s, gpa), end = first + (size >> GM_PAGE_SHIFT);
	uint64_t bit = private_side ? 0 : ((s->desc.flags & GM_SLOT_PRIVATE) ? GM_GUEST_SHARED_BIT : 0);
	uint64_t start_gpa;

	pthread_mutex_lock(&vm->mmu_lock);
	if (private_side)
		widen_to_mappings(s, &first, &end);
	start_gpa = s->desc.gpa + (first << GM_PAGE_SHIFT);
	size = (end - first) << GM_PAGE_SHIFT;
	begin_invalidate(vm, start_gpa, start_gpa + size);
	if (private_side)
		atomic_fetch_sub(&vm->stats.frames_mapped, clear_stage2(s, first, end));
	pthread_mutex_unlock(&vm->mmu_lock);

	/* Engine mappings first: they point into the window. */
	if (vm->engine->zap)
		vm->engine->zap(vm, start_gpa | bit, size);
	if (private_side)
		mmap(s->private_win + (first << GM_PAGE_SHIFT), size, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	else
		mprotect(s->shared_win + (first << GM_PAGE_SHIFT), size, PROT_NONE);
	end_invalidate(vm);
}

void gm_vm_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
	struct gm_vm *vm = owner;

	/* Under the store's file->lock: bind_lock, never slots_lock (see the order). */
	pthread_mutex_lock(&vm->bind_lock);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];
		uint64_t o, lo, hi;

		if (!s->used || s->desc.private_file != file)
			continue;
		o = s->desc.private_offset >> GM_PAGE_SHIFT;
		lo = start > o ? start : o;
		hi = end < o + s->nr_pages ? end : o + s->nr_pages;
		if (lo >= hi)
			continue;
		gm_vm_zap_range(vm, s, s->desc.gpa + ((lo - o) << GM_PAGE_SHIFT),
				(hi - lo) << GM_PAGE_SHIFT, true);
	}
	pthread_mutex_unlock(&vm->bind_lock);
	gm_stat_add(&vm->stats.invalidations, 1);
}

int gm_vm_translate(struct gm_vm *vm, uint64_t gpa, gm_pfn_t *pfn, enum gm_level *level)
{
	struct gm_slot *s;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&vm->slots_lock);
	s = gm_vm_find_slot(vm, gpa);
	if (s && s->s2_pfn) {
		pthread_mutex_lock(&vm->mmu_lock);
		if (s->s2_pfn[slot_page(s, gpa)] != GM_PFN_NONE) {
			*pfn = s->s2_pfn[slot_page(s, gpa)];
			*level = (enum gm_level)s->s2_level[slot_page(s, gpa)];
			ret = 0;
		}
		pthread_mutex_unlock(&vm->mmu_lock);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}

/*
 * Every stage-2 entry names a live frame that its file's page at that index
 * owns (frame metadata, pmem).  Under mmu_lock: a frame is freed only after
 * the invalidation that clears its entries, which needs that lock.
 */
static int check_slot_stage2(const struct gm_slot *s)
{
	uint32_t id = gm_file_id(s->desc.private_file), fid, index;

	for (uint64_t i = 0; i < s->nr_pages; i++) {
		gm_pfn_t pfn = s->s2_pfn[i];

		if (pfn == GM_PFN_NONE)
			continue;
		if (gm_frame_owner(pfn, &fid, &index) || fid != id ||
		    index != (s->desc.private_offset >> GM_PAGE_SHIFT) + i)
			return -EUCLEAN;
	}
	return 0;
}

int gm_vm_check_stage2(struct gm_vm *vm)
{
	int ret = 0;

	pthread_rwlock_rdlock(&vm->slots_lock);
	pthread_mutex_lock(&vm->mmu_lock);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS && !ret; i++)
		if (vm->slots[i].used && vm->slots[i].s2_pfn)
			ret = check_slot_stage2(&vm->slots[i]);
	pthread_mutex_unlock(&vm->mmu_lock);
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}
