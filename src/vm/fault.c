/* SPDX-License-Identifier: MIT */
/*
 * The fault path and invalidation: KVM's mmu_invalidate_seq protocol over
 * windows that are mapped once.
 *
 * A private fault snapshots vm->mmu_seq, calls get_lock_pfn() with no vm
 * lock held, then, under mmu_lock, lets the pages into the window only if
 * no invalidation ran or is running over the range meanwhile; otherwise it
 * drops the pin and retries.  An invalidation clears the stage-2 record and
 * bumps the sequence under mmu_lock; the store punches the pages after it,
 * which takes them out of the window (and out of KVM's own mappings, through
 * its MMU notifier), so nothing needs unmapping here.
 *
 * The stage-2 record (s2_pfn, s2_level) says which private pages this VM
 * let in and at what level: for counters, gm_vm_translate() and checks.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm-internal.h"
#include "vm-test.h"

const struct gm_guest_ops gm_vm_guest_ops = {
	.invalidate_page_range = gm_vm_invalidate,
};

static uint64_t slot_page(const struct gm_slot *s, uint64_t gpa)
{
	return (gm_canonical_gpa(gpa) - s->desc.gpa) >> GM_PAGE_SHIFT;
}

/* Are pages [first, first + n) all inside @s with attribute @private? */
static bool attr_uniform(const struct gm_slot *s, uint64_t first, uint64_t n, bool private)
{
	if (first + n > s->nr_pages)
		return false;
	if (!s->private_attr)
		return !private;
	for (uint64_t i = first; i < first + n; i++)
		if (gm_slot_page_private(s, i) != private)
			return false;
	return true;
}

/*
 * The largest level at which @page may be let in given the slot's alignment
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

static void fill_memory_fault(struct gm_exit *exit, uint64_t gpa, bool private)
{
	memset(exit, 0, sizeof(*exit));
	exit->reason = GM_EXIT_MEMORY_FAULT;
	exit->fault.gpa = gm_canonical_gpa(gpa) & ~GM_PAGE_MASK;
	exit->fault.size = GM_PAGE_SIZE;
	exit->fault.private = private;
}

void gm_vm_mismatch_exit(struct gm_vm *vm, uint64_t gpa, bool private, struct gm_exit *exit)
{
	fill_memory_fault(exit, gpa, private);
	gm_stat_add(&vm->stats.memory_fault_exits, 1);
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

/* ---- letting pages in ---- */

/*
 * Set or clear @bit (GM_IN_*) of pages [first, end).  Every writer holds
 * mmu_lock (or owns a slot no one else sees), so a plain store will do;
 * engines read the bytes without it.
 */
static void set_in_window(struct gm_slot *s, uint64_t first, uint64_t end, uint8_t bit, bool in)
{
	for (uint64_t p = first; p < end; p++) {
		uint8_t v = atomic_load_explicit(&s->in_window[p], memory_order_relaxed);

		atomic_store_explicit(&s->in_window[p], in ? v | bit : v & (uint8_t)~bit,
				      memory_order_relaxed);
	}
}

void gm_slot_shared_forget(struct gm_slot *s, uint64_t first, uint64_t n)
{
	if (s->in_window)
		set_in_window(s, first, first + n, GM_IN_SHARED, false);
}

/* Must the folio at page @p of the @private or shared window be asked for? */
static bool wanted(const struct gm_slot *s, bool private, uint64_t p, uint64_t folio,
		   uint64_t page)
{
	return !gm_slot_page_in_window(s, p, private) || (page >= p && page < p + folio);
}

/*
 * The next run of folios in [*@run, @end) of the @private or shared window
 * to ask for: those in_window does not show, and the one holding @page
 * whatever it shows, so that a record or hint that were wrong costs an
 * ioctl, not a vCPU faulting for ever.  Moves *@run to the run's start;
 * returns its length in pages (0: none).  A 2 MiB let-in around one
 * punched page would otherwise meet 511 pages already in, and
 * UFFDIO_CONTINUE stops at each with -EEXIST.
 */
static uint64_t next_run(const struct gm_slot *s, bool private, uint64_t *run, uint64_t end,
			 uint64_t folio, uint64_t page)
{
	uint64_t p = *run, len = 0;

	while (p < end && !wanted(s, private, p, folio, page))
		p += folio;
	*run = p;
	while (p + len < end && wanted(s, private, p + len, folio, page))
		len += folio;
	return len;
}

/*
 * Have the shared file's provider populate the pages of [first, end) that
 * the hint does not show in the window (a 2 MiB fallocate over 511 pages
 * the file holds costs the kernel a walk of them all).  No lock held: the hint may
 * change meanwhile, and a page it wrongly skipped fails its let-in
 * (-ENOENT), which retries the fault.
 */
static int fill_shared(struct gm_slot *s, uint64_t first, uint64_t end, uint64_t folio,
		       uint64_t page)
{
	uint64_t run = first, len;
	int ret;

	for (; (len = next_run(s, false, &run, end, folio, page)); run += len) {
		ret = s->mm->shared_ops->populate(s->desc.shared_file,
						  (s->desc.shared_offset >> GM_PAGE_SHIFT) + run, len);
		if (ret)
			return ret;
	}
	return 0;
}

/* Let in the runs of [first, end) the hint does not show.  Under mmu_lock. */
static int let_in_shared(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t end,
			 uint64_t folio, uint64_t page)
{
	uint64_t run = first, len;
	int ret;

	for (; (len = next_run(s, false, &run, end, folio, page)); run += len) {
		ret = gm_vm_uffd_let_in(vm, s->shared_win + (run << GM_PAGE_SHIFT),
					len << GM_PAGE_SHIFT, folio << GM_PAGE_SHIFT);
		if (ret)
			return ret;
		set_in_window(s, run, run + len, GM_IN_SHARED, true);
	}
	return 0;
}

/*
 * Shared pages: the shared file's own pages.  The file gets them first (as
 * a fault on a plain mapping would have), then they are let in, unless a
 * conversion made them private meanwhile.  @force: let them in whatever
 * the attribute (see gm_engine_ops.mismatch).
 */
/* Return (both): 0, -EAGAIN (converted or punched meanwhile: look again), -errno. */
static int fault_shared(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			struct gm_access *acc, bool force)
{
	uint64_t folio = 1ULL << (gm_file_page_shift(s->desc.shared_file) - GM_PAGE_SHIFT);
	uint64_t page = slot_page(s, acc->gpa), n = folio, first;
	_Atomic uint64_t *counter;
	int ret;

	if (n < GM_2M_PAGES && slot_max_level(s, page, false) == GM_LEVEL_2M)
		n = GM_2M_PAGES;
	first = page & ~(n - 1);
	gm_slot_hook_fill(vm, s, first, n, false);	/* what a layer above owes first */
	if (s->mm->uffd_registered) {
		ret = fill_shared(s, first, first + n, folio, page);
		if (ret)
			return ret;
	}
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	if ((!force && !attr_uniform(s, page, 1, false)) || gm_slot_hook_busy(s, first, n)) {
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
		return -EAGAIN;	/* converted meanwhile, or still being filled */
	}
	/* Counted first: UFFDIO_CONTINUE wakes the vCPU (see let_in_private). */
	counter = vcpu ? &vm->stats.faults[n == 1 ? GM_LEVEL_4K : GM_LEVEL_2M] : &vm->stats.prefaults;
	gm_stat_add(counter, 1);
	ret = 0;
	if (s->mm->uffd_registered)
		ret = let_in_shared(vm, s, first, first + n, folio, page);
	if (ret)
		atomic_fetch_sub(counter, 1);
	else
		complete_access(vm, s->shared_win + (gm_canonical_gpa(acc->gpa) - s->desc.gpa), acc);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	/* Punched by a conversion between fallocate and here: try again. */
	return ret == -ENOENT ? -EAGAIN : ret;
}

static void note_mapped(struct gm_vm *vm, uint64_t n)
{
	uint64_t now = atomic_fetch_add(&vm->stats.frames_mapped, n) + n;
	uint64_t peak = atomic_load(&vm->stats.frames_mapped_peak);

	while (now > peak && !atomic_compare_exchange_weak(&vm->stats.frames_mapped_peak, &peak, now))
		;
}

/* @n frames left the stage-2 record; none, as often, costs no atomic operation. */
static void note_unmapped(struct gm_vm *vm, uint64_t n)
{
	if (n)
		atomic_fetch_sub(&vm->stats.frames_mapped, n);
}

static void record_let_in(struct gm_slot *s, uint64_t first, uint64_t end, gm_pfn_t pfn,
			  enum gm_level level)
{
	for (uint64_t i = first; i < end; i++) {
		s->mm->s2_pfn[i] = pfn + (i - first);
		s->mm->s2_level[i] = (uint8_t)level;
	}
	set_in_window(s, first, end, GM_IN_PRIVATE, true);
}

/*
 * Let @n pages from @first in, on frames from @pfn; @page is the one the
 * access needs.  Under mmu_lock, after the sequence check: no invalidation
 * has run since, so the store has not punched them (it punches only after
 * telling us).  Only the runs the record does not show are asked for.  A
 * run's counters come first: UFFDIO_CONTINUE wakes the vCPU, which may
 * finish and have its counters read before this thread runs again.
 */
static int let_in_private(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			  uint64_t first, uint64_t n, uint64_t page, gm_pfn_t pfn,
			  enum gm_level level)
{
	_Atomic uint64_t *counter = vcpu ? &vm->stats.faults[level] : &vm->stats.prefaults;
	uint64_t page_size = 1ULL << gm_file_page_shift(s->desc.private_file);
	uint64_t folio = page_size >> GM_PAGE_SHIFT, end = first + n, run = first, len;
	bool any = false;
	int ret = 0;

	gm_stat_add(counter, 1);
	for (; (len = next_run(s, true, &run, end, folio, page)); run += len) {
		uint64_t newly = 0;

		for (uint64_t i = run; i < run + len; i++)
			newly += s->mm->s2_pfn[i] == GM_PFN_NONE;
		note_mapped(vm, newly);
		ret = gm_vm_uffd_let_in(vm, s->private_win + (run << GM_PAGE_SHIFT),
					len << GM_PAGE_SHIFT, page_size);
		if (ret) {
			/* Nothing of this run is in: its record stays as it was. */
			note_unmapped(vm, newly);
			break;
		}
		any = true;
	}
	if (!any)
		atomic_fetch_sub(counter, 1);
	if (ret) {
		/* What comes before the run that failed is in, but not as one let-in. */
		record_let_in(s, first, run, pfn, GM_LEVEL_4K);
		return ret;
	}
	/* Pages already in are in at this level now, as one let-in. */
	record_let_in(s, first, end, pfn, level);
	return 0;
}

/*
 * In place, on an engine that checks every access: a huge folio whose 4 KiB
 * pages are of both kinds.  The window maps it whole (a hugetlb mapping
 * maps no part of a page), but the record takes @page alone, at 4 KiB: the
 * level says what the guest reaches privately, and comes back to the
 * folio's once the range is uniform again.  Under mmu_lock, after the
 * sequence check.
 */
static int let_in_mixed(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			uint64_t page, gm_pfn_t pfn, unsigned int order)
{
	_Atomic uint64_t *counter = vcpu ? &vm->stats.faults[GM_LEVEL_4K] : &vm->stats.prefaults;
	uint64_t folio = 1ULL << order, first = page & ~(folio - 1);
	bool newly = s->mm->s2_pfn[page] == GM_PFN_NONE;
	int ret;

	gm_stat_add(counter, 1);	/* first: the let-in wakes the vCPU */
	note_mapped(vm, newly);
	ret = gm_vm_uffd_let_in(vm, s->private_win + (first << GM_PAGE_SHIFT),
				folio << GM_PAGE_SHIFT, folio << GM_PAGE_SHIFT);
	if (ret) {
		atomic_fetch_sub(counter, 1);
		note_unmapped(vm, newly);
		return ret;
	}
	record_let_in(s, page, page + 1, pfn, GM_LEVEL_4K);
	return 0;
}

/* The level to let page @page in at, given the provider's and the slot's. */
static enum gm_level pick_level(enum gm_level provider, enum gm_level slot, unsigned int order)
{
	/*
	 * A huge folio can only be let in whole; memslot and conversion checks
	 * keep such slots folio-aligned and uniform.
	 */
	if (!order && slot < provider)
		return slot;
	return provider;
}

/*
 * What the slot's hook owes of whatever this fault may let in: the range
 * of @want or the file's folio, the larger.  Before get_lock_pfn, with no
 * pin held (see slot-hook.h).
 */
static void hook_fill_private(struct gm_vm *vm, struct gm_slot *s, uint64_t page,
			      enum gm_level want)
{
	uint64_t n = 1ULL << gm_level_order(want);
	uint64_t folio = 1ULL << (gm_file_page_shift(s->desc.private_file) - GM_PAGE_SHIFT);

	if (folio > n)
		n = folio;
	gm_slot_hook_fill(vm, s, page & ~(n - 1), n, true);
}

static int fault_private(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			 struct gm_access *acc, bool force)
{
	uint64_t page = slot_page(s, acc->gpa), first, n, seq;
	uint64_t index = (s->desc.private_offset >> GM_PAGE_SHIFT) + page;
	struct gm_file *file = s->desc.private_file;
	enum gm_level want, level;
	unsigned int order;
	gm_pfn_t pfn;
	bool mixed;
	int ret;

retry:
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	if (!force && !attr_uniform(s, page, 1, true)) {
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
		return -EAGAIN;	/* converted meanwhile */
	}
	seq = vm->mmu_seq;
	want = force ? GM_LEVEL_4K : slot_max_level(s, page, true);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	if (s->mm->hook)
		hook_fill_private(vm, s, page, want);

	order = want == GM_LEVEL_2M ? GM_HUGE_2M_ORDER : 0;
	ret = s->mm->mem_ops->get_lock_pfn(file, index, &pfn, &order);
	if (ret == -EAGAIN) {
		/* Freed under someone's pin, gone when it drops: we hold none. */
		sched_yield();
		goto retry;
	}
	if (ret)
		return ret;
	ret = s->mm->mem_ops->pfn_mapping_level(file, index);
	if (ret < 0) {
		s->mm->mem_ops->put_unlock_pfn(pfn);
		return ret;
	}
	level = pick_level((enum gm_level)ret, want, order);
	/* A conversion since is caught by the sequence check below. */
	mixed = s->mm->in_place && order &&
		!attr_uniform(s, page & ~((1ULL << order) - 1), 1ULL << order, true);
	n = mixed ? 1 : 1ULL << gm_level_order(level);
	first = page & ~(n - 1);

	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	if (vm->mmu_seq != seq || gm_slot_hook_busy(s, first, n)) {
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
		s->mm->mem_ops->put_unlock_pfn(pfn);
		gm_stat_add(&vm->stats.retries, 1);
		sched_yield();
		goto retry;
	}
	if (mixed)
		ret = let_in_mixed(vm, vcpu, s, page, pfn, order);
	else
		ret = let_in_private(vm, vcpu, s, first, n, page, pfn - (page - first), level);
	if (!ret)
		complete_access(vm, s->private_win + (gm_canonical_gpa(acc->gpa) - s->desc.gpa), acc);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	s->mm->mem_ops->put_unlock_pfn(pfn);
	if (!ret && vcpu && !mixed && level == GM_LEVEL_2M)
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

static bool attr_private(const struct gm_slot *s, uint64_t gpa)
{
	return s->private_attr && gm_slot_page_private(s, slot_page(s, gpa));
}

struct gm_vcpu *gm_vm_vcpu_of_tid(struct gm_vm *vm, pid_t tid)
{
	unsigned int n = atomic_load_explicit(&vm->nr_vcpus_ready, memory_order_acquire);

	for (unsigned int i = 0; i < n; i++)
		if (atomic_load(&vm->vcpus[i].tid) == tid)
			return &vm->vcpus[i];
	return NULL;
}

/*
 * A mismatched access on a window is reported only when seen twice in a
 * row, with no invalidation or conversion between: a fault event can be
 * stale.  Any let-in wakes every thread waiting in its range, so a vCPU
 * whose fault another let-in served goes on, converts, and the event it
 * left in the queue, read now, would judge an access it no longer makes
 * against the new attribute.  So the first sighting only wakes the thread:
 * a vCPU that really makes the access faults again at once, and the
 * second sighting is the exit.  Fault thread only; caller holds slots_lock.
 */
static bool mismatch_seen_twice(struct gm_vm *vm, pid_t tid, uint64_t gpa)
{
	uint64_t seq;

	gm_lock_assert_held(GM_LOCK_SLOTS);
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	seq = vm->mmu_seq;
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	if (vm->mismatch_seen.tid == tid && vm->mismatch_seen.gpa == gpa &&
	    vm->mismatch_seen.seq == seq)
		return true;
	vm->mismatch_seen.tid = tid;
	vm->mismatch_seen.gpa = gpa;
	vm->mismatch_seen.seq = seq;
	return false;
}

/*
 * @acc does not match its page's attribute, or reaches no slot (@s NULL).
 * An engine's access becomes a memory-fault exit in @exit.  A touch of a
 * window goes to the engine's mismatch op once seen twice; where the
 * engine resolves it all the same (emu) or the toucher is no vCPU, the
 * page is let in whatever its attribute.  Return: 1 (reported: nothing is
 * let in), or 0 (let it in, forced).  Caller holds slots_lock.
 */
static int report_mismatch(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_slot *s,
			   bool private, struct gm_access *acc, struct gm_exit *exit)
{
	struct gm_exit window_exit;

	if (!acc->window_tid) {
		fill_memory_fault(exit, acc->gpa, s ? private : !(acc->gpa & GM_GUEST_SHARED_BIT));
		/* Past the shared alias's range the shared bit means nothing: keep every bit. */
		if (!s && acc->gpa >= 2 * GM_GUEST_SHARED_BIT)
			exit->fault.gpa = acc->gpa & ~GM_PAGE_MASK;
		gm_stat_add(&vm->stats.memory_fault_exits, 1);
		return 1;
	}
	if (vcpu && !mismatch_seen_twice(vm, acc->window_tid, acc->gpa))
		return 1;	/* woken, it faults again if it still makes the access */
	if (!vm->engine->mismatch)
		return 0;
	/*
	 * Counted before the engine has the vCPU report it: the run may end,
	 * and its counters be read, before mismatch() returns.
	 */
	fill_memory_fault(&window_exit, acc->gpa, private);
	gm_stat_add(&vm->stats.memory_fault_exits, 1);
	if (vm->engine->mismatch(vm, acc->window_tid, &window_exit))
		return 1;
	gm_stat_sub(&vm->stats.memory_fault_exits, 1);	/* resolved after all */
	return 0;
}

int gm_vm_handle_fault(struct gm_vm *vm, struct gm_vcpu *vcpu, struct gm_access *acc,
		       struct gm_exit *exit)
{
	bool private = false, force;
	struct gm_slot *s;
	int ret;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = slot_for_access(vm, acc->gpa, &private);
	if (!s && acc->window_tid) {
		ret = -EFAULT;	/* the window's slot went away meanwhile */
		goto out;
	}
	for (;;) {
		force = !s || private != attr_private(s, acc->gpa);
		if (force && report_mismatch(vm, vcpu, s, private, acc, exit)) {
			ret = 1;
			break;
		}
		ret = private ? fault_private(vm, vcpu, s, acc, force)
			      : fault_shared(vm, vcpu, s, acc, force);
		if (ret != -EAGAIN)
			break;
	}
out:
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

/* ---- the windows ---- */

/* The registered slot whose window holds @hva; *@private: which window.  Under slots_lock. */
static struct gm_slot *slot_for_hva(struct gm_vm *vm, uint8_t *hva, bool *private)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];

		if (!s->used || !s->mm->uffd_registered)
			continue;
		if (hva >= s->private_win && hva < s->private_win + s->desc.size) {
			*private = true;
			return s;
		}
		if (hva >= s->shared_win && hva < s->shared_win + s->desc.size) {
			*private = false;
			return s;
		}
	}
	return NULL;
}

int gm_vm_window_gpa(struct gm_vm *vm, uint8_t *hva, uint64_t *gpa)
{
	struct gm_slot *s;
	bool private;
	int ret = 0;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = slot_for_hva(vm, hva, &private);
	if (!s)
		ret = -EFAULT;
	else if (private)
		*gpa = s->desc.gpa + (uint64_t)(hva - s->private_win);
	else
		*gpa = (s->desc.gpa + (uint64_t)(hva - s->shared_win)) | GM_GUEST_SHARED_BIT;
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

int gm_vm_window_fence(struct gm_vm *vm, uint8_t *hva)
{
	struct gm_slot *s;
	uint64_t folio;
	uint8_t *win;
	bool private;
	int ret;

	if (!gm_vm_stopping(vm))
		return -EBUSY;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = slot_for_hva(vm, hva, &private);
	if (!s) {
		ret = -EFAULT;
		goto out;
	}
	/* A hugetlb window can only be replaced a whole folio at a time. */
	folio = 1ULL << gm_file_page_shift(private ? s->desc.private_file : s->desc.shared_file);
	win = private ? s->private_win : s->shared_win;
	hva = win + ((uint64_t)(hva - win) & ~(folio - 1));
	ret = gm_vm_uffd_fence(vm, hva, folio);
out:
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

/* ---- invalidation ---- */

/* Widen [*first, *end) to whole huge let-ins it cuts.  Under mmu_lock. */
static void widen_to_mappings(const struct gm_slot *s, uint64_t *first, uint64_t *end)
{
	gm_lock_assert_held(GM_LOCK_MMU);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t p = pass ? *end - 1 : *first;
		uint64_t n;

		if (s->mm->s2_pfn[p] == GM_PFN_NONE || s->mm->s2_level[p] == GM_LEVEL_4K)
			continue;
		n = 1ULL << gm_level_order((enum gm_level)s->mm->s2_level[p]);
		if (pass)
			*end = (p & ~(n - 1)) + n;
		else
			*first = p & ~(n - 1);
	}
}

/*
 * The pages of [first, end) that stay in the window: huge let-ins an
 * invalidation cuts keep the rest of their pages, now as small ones.
 */
static void demote_stage2(struct gm_slot *s, uint64_t first, uint64_t end)
{
	for (uint64_t i = first; i < end; i++)
		s->mm->s2_level[i] = GM_LEVEL_4K;
}

static uint64_t clear_stage2(struct gm_slot *s, uint64_t first, uint64_t end)
{
	uint64_t cleared = 0;

	for (uint64_t i = first; i < end; i++) {
		cleared += s->mm->s2_pfn[i] != GM_PFN_NONE;
		s->mm->s2_pfn[i] = GM_PFN_NONE;
		s->mm->s2_level[i] = 0;
	}
	set_in_window(s, first, end, GM_IN_PRIVATE, false);
	return cleared;
}

void gm_slot_stage2_forget(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t end)
{
	uint64_t wide_first = first, wide_end = end;

	gm_lock_assert_held(GM_LOCK_MMU);
	widen_to_mappings(s, &wide_first, &wide_end);
	demote_stage2(s, wide_first, first);
	demote_stage2(s, end, wide_end);
	note_unmapped(vm, clear_stage2(s, first, end));
}

/*
 * Pages [first, end) of @s lose their frames: faults in flight over them,
 * or over a huge let-in they cut, must retry, and the record forgets them.
 * The store punches them from the window after we return; the other pages
 * of a huge let-in it cuts stay there, and in the record (a snapshot saves
 * what the record shows).
 *
 * One step, not KVM's invalidate_range_start/end pair: the store has
 * unpublished the pages before it calls us, so a fault that read the
 * sequence before the bump is caught by it, and one that reads it after
 * cannot pin them: its lookup misses, and asks again under file->lock,
 * which the store holds until the pages are gone.
 */
static void invalidate_slot_range(struct gm_vm *vm, struct gm_slot *s, uint64_t first,
				  uint64_t end)
{
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	vm->mmu_seq++;
	gm_slot_stage2_forget(vm, s, first, end);
	gm_slot_mark_dirty(s, first, end - first);	/* they read zero from now on */
	if (s->mm->kept)
		memset(s->mm->kept + first, 0, end - first);
	gm_slot_hook_forget(s, first, end - first);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
}

void gm_vm_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
	struct gm_vm *vm = ((struct gm_vm_owner *)owner)->vm;

	/* Under the store's file->lock: bind_lock, never slots_lock (see the order). */
	gm_mutex_lock(&vm->bind_lock, GM_LOCK_BIND);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];
		uint64_t o, lo, hi;

		if (!s->used || s->desc.private_file != file)
			continue;
		o = s->desc.private_offset >> GM_PAGE_SHIFT;
		lo = start > o ? start : o;
		hi = end < o + s->nr_pages ? end : o + s->nr_pages;
		if (lo < hi)
			invalidate_slot_range(vm, s, lo - o, hi - o);
	}
	gm_mutex_unlock(&vm->bind_lock, GM_LOCK_BIND);
	gm_stat_add(&vm->stats.invalidations, 1);
}

void gm_vm_slot_forget(struct gm_vm *vm, struct gm_slot *s)
{
	if (s->mm->s2_pfn)
		note_unmapped(vm, clear_stage2(s, 0, s->nr_pages));
}

int gm_vm_translate(struct gm_vm *vm, uint64_t gpa, gm_pfn_t *pfn, enum gm_level *level)
{
	struct gm_slot *s;
	int ret = -ENOENT;

	if (!vm || !pfn || !level)
		return -EFAULT;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = gm_vm_find_slot(vm, gpa);
	if (s && s->mm->s2_pfn) {
		gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
		if (s->mm->s2_pfn[slot_page(s, gpa)] != GM_PFN_NONE) {
			*pfn = s->mm->s2_pfn[slot_page(s, gpa)];
			*level = (enum gm_level)s->mm->s2_level[slot_page(s, gpa)];
			ret = 0;
		}
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

/*
 * Every page the record says was let in is still held by the file (it is
 * in the page cache behind the window: mincore).  Under mmu_lock: a page is
 * punched only after the invalidation that clears its record, which needs
 * that lock.
 */
static int check_slot_stage2(const struct gm_slot *s)
{
	unsigned char resident;

	for (uint64_t i = 0; i < s->nr_pages; i++) {
		if (s->mm->s2_pfn[i] == GM_PFN_NONE)
			continue;
		if (mincore(s->private_win + (i << GM_PAGE_SHIFT), GM_PAGE_SIZE, &resident) ||
		    !(resident & 1))
			return -EUCLEAN;
	}
	return 0;
}

int gm_vm_check_stage2(struct gm_vm *vm)
{
	int ret = 0;

	if (!vm)
		return -EFAULT;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS && !ret; i++)
		if (vm->slots[i].used && vm->slots[i].mm->s2_pfn)
			ret = check_slot_stage2(&vm->slots[i]);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}
