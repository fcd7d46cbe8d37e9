/* SPDX-License-Identifier: MIT */
/*
 * Private/shared attributes and conversions.  With two files, converting a
 * range frees the side no longer in use, so a guest never holds two copies
 * of a page: to private punches the shared file, to shared punches the
 * private file (whose provider invalidates what we let in before it
 * punches).  Punching is also what takes the pages out of the windows: no
 * window is remapped or reprotected, whatever the guest converts.
 *
 * In place, both windows map the one file and a conversion changes the
 * page's state in the file (its provider's set_attributes): no page is
 * freed, a huge page stays whole, and GM_CONVERT_PRESERVE keeps the bytes.
 * The kvm engine needs the page out of the window it left (zap_window);
 * the emulator checks every access against the attribute, so there a
 * conversion makes no system call at all.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "vm-internal.h"

/* One slot's part of a range: [gpa, gpa + size) lies in slot @s. */
struct piece {
	struct gm_slot *s;
	uint64_t gpa, size;
};

/* A range cut at slot boundaries: slots do not overlap, so one piece per slot at most. */
struct pieces {
	unsigned int nr;
	struct piece p[GM_VM_MAX_SLOTS];
};

typedef int (*piece_fn)(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			void *arg);

/* The lowest slot start in (gpa, end), or @end.  Caller holds slots_lock or convert_lock. */
static uint64_t next_slot_start(struct gm_vm *vm, uint64_t gpa, uint64_t end)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		const struct gm_slot *s = &vm->slots[i];

		if (s->used && s->desc.gpa > gpa && s->desc.gpa < end)
			end = s->desc.gpa;
	}
	return end;
}

/*
 * Cut [gpa, gpa + size) into @ps, in address order.  A range that no slot
 * covers is -EFAULT, unless @skip_shared: then pieces that can only be
 * shared (no slot, or a slot with no private file) are left out, since
 * making them shared changes nothing, as KVM accepts for any address.
 * Addresses with the shared bit are aliases, in no slot: were they looked
 * up as the page they alias, a piece would end before it began.  Caller
 * holds slots_lock or convert_lock, until it is done with @ps.
 */
static int pieces_find(struct gm_vm *vm, uint64_t gpa, uint64_t size, bool skip_shared,
		       struct pieces *ps)
{
	uint64_t end = gpa + size;

	ps->nr = 0;
	while (gpa < end) {
		struct gm_slot *s = gpa < GM_GUEST_SHARED_BIT ? gm_vm_find_slot(vm, gpa) : NULL;
		uint64_t slot_end, n;

		if (!s && !skip_shared)
			return -EFAULT;
		if (!s) {
			gpa = next_slot_start(vm, gpa, end);
			continue;
		}
		slot_end = s->desc.gpa + s->desc.size;
		n = (end < slot_end ? end : slot_end) - gpa;
		if (!skip_shared || (s->desc.flags & GM_SLOT_PRIVATE))
			ps->p[ps->nr++] = (struct piece){ .s = s, .gpa = gpa, .size = n };
		gpa += n;
	}
	return 0;
}

/* Call @fn on the first @nr pieces of @ps, in order, up to the first that fails. */
static int pieces_each(struct gm_vm *vm, const struct pieces *ps, unsigned int nr, piece_fn fn,
		       void *arg)
{
	for (unsigned int i = 0; i < nr; i++) {
		int ret = fn(vm, ps->p[i].s, ps->p[i].gpa, ps->p[i].size, arg);

		if (ret)
			return ret;
	}
	return 0;
}

/* Can the side that a conversion frees be punched?  A write seal forbids it. */
static int check_punchable(struct gm_file *file)
{
	int seals = gm_get_seals(file);

	if (seals < 0)
		return seals;
	return (seals & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE)) ? -EPERM : 0;
}

/* What one conversion asks, and what it found. */
struct conversion {
	bool to_private;
	unsigned int policy;		/* GM_CONVERT_* */
	uint64_t error_gpa;		/* -EAGAIN: the page the file refused */
	unsigned int nr_in_file;	/* to private: pieces the files agreed to */
};

/*
 * In place, a conversion frees nothing, so any piece of whole pages will
 * do where the engine checks each access; else the windows can only be
 * emptied a folio at a time (hugetlb), so whole folios.
 */
static int check_in_place(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size)
{
	uint64_t mask = (1ULL << gm_file_page_shift(s->desc.private_file)) - 1;

	if (vm->engine->checks_access)
		return 0;
	return ((s->desc.private_offset + gpa - s->desc.gpa) | size) & mask ? -EINVAL : 0;
}

/*
 * Can this piece change attribute?  Whole folios of both files,
 * private-capable, and the side to free punchable: all is checked before
 * anything changes, so that a conversion is all or nothing.
 */
static int check_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	struct conversion *c = arg;
	uint64_t off = gpa - s->desc.gpa;
	uint64_t pmask, smask;
	int ret;

	if (!(s->desc.flags & GM_SLOT_PRIVATE))
		return -EINVAL;
	if (s->mm->in_place) {
		ret = check_in_place(vm, s, gpa, size);
		/* Zeroing rewrites the file, as a punch would: refused before anything changes. */
		if (!ret && c->policy == GM_CONVERT_ZERO)
			ret = check_punchable(s->desc.private_file);
		return ret;
	}
	if (c->policy != GM_CONVERT_ZERO)
		return -EINVAL;	/* two files: a page's bytes cannot follow it */
	pmask = (1ULL << gm_file_page_shift(s->desc.private_file)) - 1;
	smask = (1ULL << gm_file_page_shift(s->desc.shared_file)) - 1;
	if (((s->desc.private_offset + off) | size) & pmask)
		return -EINVAL;
	if (((s->desc.shared_offset + off) | size) & smask)
		return -EINVAL;
	if (s->mm->kernel_memory)
		return 0;	/* the kernel's guest_memfd has no seals */
	return check_punchable(c->to_private ? s->desc.shared_file : s->desc.private_file);
}

static uint64_t file_index(const struct gm_slot *s, uint64_t gpa)
{
	return (s->desc.private_offset + gpa - s->desc.gpa) >> GM_PAGE_SHIFT;
}

/*
 * Bytes to keep must be there first: what a layer above still owes of the
 * piece (a lazy restore's pages) comes in before the conversion, on both
 * sides.  A conversion that zeroes needs nothing: it forgets what is owed.
 */
static int fill_owed(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	uint64_t first = (gpa - s->desc.gpa) >> GM_PAGE_SHIFT, n = size >> GM_PAGE_SHIFT;

	gm_slot_hook_fill(vm, s, first, n, true);
	gm_slot_hook_fill(vm, s, first, n, false);
	return 0;
}

/*
 * How long a refused conversion to private is asked again.  The VM's own
 * threads pin a page only for a moment (a let-in, the prefault thread, a
 * lazy restore's fill), though a loaded host may not run them for a while;
 * a host mapping or a host's pin stays until the host lets go.  So: yield
 * a few times, then poll, for up to a second.
 */
#define REFUSED_YIELDS		64
#define REFUSED_POLL_US		100
#define REFUSED_WAIT_S		1.0

/*
 * In place, to private: the file first, which refuses while the host maps
 * or pins a page and then changes nothing; the host can read none of the
 * pages once it agrees.  Before the attributes change.
 */
static int file_to_private(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			   void *arg)
{
	struct conversion *c = arg;
	uint64_t error_index = 0;
	double start = 0;
	int ret;

	if (!s->mm->in_place)
		return 0;
	for (int tries = 0;; tries++) {
		ret = s->mm->mem_ops->set_attributes(s->desc.private_file, file_index(s, gpa),
						     size >> GM_PAGE_SHIFT, true, c->policy,
						     &error_index);
		if (ret != -EAGAIN)
			break;
		if (tries < REFUSED_YIELDS) {
			sched_yield();
			continue;
		}
		if (tries == REFUSED_YIELDS)
			start = gm_clock_now();
		else if (gm_clock_now() - start > REFUSED_WAIT_S)
			break;
		usleep(REFUSED_POLL_US);
	}
	if (ret == -EAGAIN)
		c->error_gpa = s->desc.gpa + (error_index << GM_PAGE_SHIFT) - s->desc.private_offset;
	if (!ret)
		c->nr_in_file++;
	return ret;
}

/* Undo file_to_private() for a conversion that another piece refused. */
static int file_undo(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	if (s->mm->in_place)
		s->mm->mem_ops->set_attributes(s->desc.private_file, file_index(s, gpa),
					       size >> GM_PAGE_SHIFT, false, GM_CONVERT_PRESERVE,
					       NULL);
	return 0;
}

/* Set the attribute of a piece.  Faults that checked the old one retry. */
static int set_piece_attr(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			  void *arg)
{
	const struct conversion *c = arg;
	bool to_private = c->to_private;
	uint64_t first = (gpa - s->desc.gpa) >> GM_PAGE_SHIFT, n = size >> GM_PAGE_SHIFT;

	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	if (s->mm->kept)
		memset(s->mm->kept + first, to_private && c->policy == GM_CONVERT_PRESERVE, n);
	for (uint64_t i = first; i < first + n; i++)
		atomic_store_explicit(&s->private_attr[i], to_private, memory_order_relaxed);
	vm->mmu_seq++;
	if (to_private)
		gm_slot_shared_forget(s, first, n);	/* out of the shared window below */
	else if (s->mm->in_place)
		gm_slot_stage2_forget(vm, s, first, first + n);	/* no punch will tell us */
	/* The page the guest sees now is the other side's: zero, as far as a copy goes. */
	gm_slot_mark_dirty(s, first, n);
	gm_slot_hook_forget(s, first, n);	/* nothing is owed for it any more */
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	return 0;
}

/*
 * Free the side no longer in use.  The punch takes its pages out of the
 * window; for the private side the store first tells us (invalidate).
 */
static int punch_piece(struct gm_slot *s, uint64_t gpa, uint64_t size, bool to_private)
{
	uint64_t off = gpa - s->desc.gpa;
	int ret;

	if (to_private) {
		ret = gm_fallocate(s->desc.shared_file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
				   (off_t)(s->desc.shared_offset + off), (off_t)size);
		return ret == -EOPNOTSUPP ? 0 : ret;
	}
	return gm_fallocate(s->desc.private_file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
			    (off_t)(s->desc.private_offset + off), (off_t)size);
}

/*
 * Take [gpa, gpa + size) of an in-place slot out of the window of the side
 * it left, whole folios (a hugetlb mapping drops only whole pages); the
 * file keeps the pages, and the fault path lets back in what the other
 * side still uses.
 */
static void zap_window(struct gm_slot *s, uint64_t gpa, uint64_t size, bool private)
{
	uint64_t folio = 1ULL << gm_file_page_shift(s->desc.private_file);
	uint64_t start = (gpa - s->desc.gpa) & ~(folio - 1);
	uint64_t end = (gpa - s->desc.gpa + size + folio - 1) & ~(folio - 1);

	madvise((private ? s->private_win : s->shared_win) + start, end - start, MADV_DONTNEED);
}

/*
 * After the attributes changed and the engine synced: the side left.  Two
 * files: punch it.  In place: to shared, the file changes (zeroing first
 * under GM_CONVERT_ZERO; the stage-2 record forgot the pages with the
 * attribute change); either way, an engine that does not check accesses
 * gets the pages out of the window of the side they left.
 */
static int finish_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size,
			void *arg)
{
	struct conversion *c = arg;
	int ret;

	if (!s->mm->in_place)
		return punch_piece(s, gpa, size, c->to_private);
	if (!c->to_private) {
		ret = s->mm->mem_ops->set_attributes(s->desc.private_file, file_index(s, gpa),
						     size >> GM_PAGE_SHIFT, false, c->policy, NULL);
		if (ret)
			return ret;
		/* Now the file shows it: a live snapshot that read it before must read it again. */
		gm_slot_mark_dirty(s, (gpa - s->desc.gpa) >> GM_PAGE_SHIFT, size >> GM_PAGE_SHIFT);
	}
	if (!vm->engine->checks_access)
		zap_window(s, gpa, size, !c->to_private);
	return 0;
}

/*
 * Convert: attributes first, then wait until no vCPU is inside an access
 * that saw the old ones (engine sync), then free or zap the side left.  An
 * access that began before the change therefore lands on the old side
 * before it is freed, and any access after it is checked against the new
 * attribute.  In place, to private, the file agrees first: it is the one
 * step that may refuse.  Caller holds convert_lock, which keeps the slots
 * still.
 */
static int convert(struct gm_vm *vm, uint64_t gpa, uint64_t size, struct conversion *c,
		   bool skip_shared)
{
	struct pieces ps;
	int ret;

	ret = pieces_find(vm, gpa, size, skip_shared, &ps);
	if (!ret)
		ret = pieces_each(vm, &ps, ps.nr, check_piece, c);
	if (ret)
		return ret == -EFAULT ? -EINVAL : ret;	/* no slot: nothing could become private */
	if (c->policy == GM_CONVERT_PRESERVE)
		pieces_each(vm, &ps, ps.nr, fill_owed, c);
	if (c->to_private) {
		ret = pieces_each(vm, &ps, ps.nr, file_to_private, c);
		if (ret) {
			pieces_each(vm, &ps, c->nr_in_file, file_undo, c);
			return ret;
		}
	}
	pieces_each(vm, &ps, ps.nr, set_piece_attr, c);
	if (vm->engine->sync)
		vm->engine->sync(vm);
	return pieces_each(vm, &ps, ps.nr, finish_piece, c);
}

static int set_attributes(struct gm_vm *vm, uint64_t gpa, uint64_t size, uint64_t attributes,
			  uint64_t flags, unsigned int policy, bool shared_anywhere,
			  uint64_t *error_gpa)
{
	struct conversion c = {
		.to_private = attributes & GM_MEMORY_ATTRIBUTE_PRIVATE, .policy = policy,
	};
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
	if (policy != GM_CONVERT_ZERO && policy != GM_CONVERT_PRESERVE)
		return -EINVAL;
	/* One at a time: two conversions of one page must not interleave. */
	gm_mutex_lock(&vm->convert_lock, GM_LOCK_CONVERT);
	ret = convert(vm, gpa, size, &c, shared_anywhere && !c.to_private);
	if (!ret)
		gm_stat_add_serialized(&vm->stats.conversions, 1);	/* under convert_lock */
	gm_mutex_unlock(&vm->convert_lock, GM_LOCK_CONVERT);
	if (ret == -EAGAIN && error_gpa)
		*error_gpa = c.error_gpa;
	return ret;
}

int gm_vm_set_memory_attributes(struct gm_vm *vm, uint64_t gpa, uint64_t size,
				uint64_t attributes, uint64_t flags)
{
	return set_attributes(vm, gpa, size, attributes, flags, GM_CONVERT_ZERO, true, NULL);
}

int gm_vm_set_memory_attributes2(struct gm_vm *vm, uint64_t gpa, uint64_t size,
				 uint64_t attributes, unsigned int policy, uint64_t *error_gpa)
{
	return set_attributes(vm, gpa, size, attributes, 0, policy, true, error_gpa);
}

/*
 * A guest's own conversion: as gm_vm_set_memory_attributes2(), but every
 * page must lie in a private-capable slot, either way: a guest converts
 * its RAM, and a request for anything else is a guest bug to report.
 */
int gm_vm_guest_convert(struct gm_vm *vm, uint64_t gpa, uint64_t size, bool to_private,
			unsigned int policy)
{
	return set_attributes(vm, gpa, size, to_private ? GM_MEMORY_ATTRIBUTE_PRIVATE : 0, 0,
			      policy, false, NULL);
}

int64_t gm_vm_get_memory_attributes(struct gm_vm *vm, uint64_t gpa)
{
	struct gm_slot *s;
	int64_t ret = 0;

	if (!vm)
		return -EFAULT;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	s = gm_vm_find_slot(vm, gpa);
	if (s && s->private_attr &&
	    gm_slot_page_private(s, (gm_canonical_gpa(gpa) - s->desc.gpa) >> GM_PAGE_SHIFT))
		ret = GM_MEMORY_ATTRIBUTE_PRIVATE;
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

/* ---- host access to shared memory, through the shared file ---- */

struct io {
	void *buf;
	bool write;
	bool ignore_attr;	/* the host's view of the file, whatever the guest uses */
};

/*
 * Under mmu_lock with two files, so that no conversion punches the shared
 * side between the attribute check and the I/O.  In place the file checks
 * each page's state itself, under its own lock (which comes before
 * mmu_lock), and a page the guest is converting reads as the file says.
 */
static ssize_t io_file(struct gm_vm *vm, struct gm_slot *s, struct io *io, uint64_t off,
		       uint64_t size)
{
	uint64_t first = off >> GM_PAGE_SHIFT, last = (off + size - 1) >> GM_PAGE_SHIFT;
	off_t pos = (off_t)(s->desc.shared_offset + off);
	ssize_t n = -EPERM;

	if (!s->mm->in_place)
		gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	for (uint64_t p = first; !io->ignore_attr && s->private_attr && p <= last; p++)
		if (gm_slot_page_private(s, p))
			goto out;
	n = io->write ? gm_pwrite(s->desc.shared_file, io->buf, size, pos)
		      : gm_pread(s->desc.shared_file, io->buf, size, pos);
out:
	if (!s->mm->in_place)
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	return n;
}

static int io_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	struct io *io = arg;
	uint64_t off = gpa - s->desc.gpa;
	ssize_t n;

	n = io_file(vm, s, io, off, size);
	if (n < 0)
		return (int)n;
	if (io->write)
		gm_slot_mark_dirty(s, off >> GM_PAGE_SHIFT,
				   ((off + size - 1) >> GM_PAGE_SHIFT) - (off >> GM_PAGE_SHIFT) + 1);
	if (!io->write && (uint64_t)n < size)
		memset((char *)io->buf + n, 0, size - (uint64_t)n);
	io->buf = (char *)io->buf + size;
	return 0;
}

static int lazy_piece(struct gm_vm *vm, struct gm_slot *s, uint64_t gpa, uint64_t size, void *arg)
{
	uint64_t first = (gpa - s->desc.gpa) >> GM_PAGE_SHIFT;
	uint64_t last = (gpa + size - 1 - s->desc.gpa) >> GM_PAGE_SHIFT;

	gm_slot_hook_fill(vm, s, first, last - first + 1, false);
	return 0;
}

static int shared_io(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len, bool write,
		     bool ignore_attr)
{
	struct io io = { .buf = buf, .write = write, .ignore_attr = ignore_attr };
	struct pieces ps;
	int ret;

	if (!vm || (!buf && len))
		return -EFAULT;
	if (!len)
		return 0;
	gpa = gm_canonical_gpa(gpa);
	if (gpa + len < gpa)
		return -EFAULT;
	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	ret = pieces_find(vm, gpa, len, false, &ps);
	if (!ret) {
		/* A lazy restore's shared pages come in first. */
		pieces_each(vm, &ps, ps.nr, lazy_piece, NULL);
		ret = pieces_each(vm, &ps, ps.nr, io_piece, &io);
	}
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
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
