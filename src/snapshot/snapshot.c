/* SPDX-License-Identifier: MIT */
/*
 * Writing a sealed snapshot (the format: snapshot.h).
 *
 * The VM's run has ended, so its memory changes only if the host changes
 * it, and memslot_lock keeps its slots as they are throughout.  A live
 * snapshot (pre-copy) runs beside the guest instead: it copies what the
 * harvest of the dirty log names, and what the guest changes meanwhile is
 * logged again for the next round; a page whose attribute changes after
 * the plan reads zero here and is in the next round too (conversions log
 * the pages they convert).  Which pages
 * go in is planned first, because the index (SLOT records) comes before the
 * pages: a private page if the stage-2 record says the VM let it in (no
 * other private page holds anything but zeros), a shared page if the
 * shared file holds data there that is not all zeros.  Private pages are
 * copied out of the slot's private alias under mmu_lock, which an
 * invalidation needs before the store may punch them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"

#define WRITE_BUF	(1U << 20)

struct writer {
	int fd;
	struct snap_crypto c;
	uint64_t recno;
	uint64_t offset;		/* bytes of the stream so far */
	uint8_t *buf;
	size_t len, cap;
};

/* What goes in for one slot. */
struct slot_plan {
	struct gm_slot *s;
	uint32_t id;
	uint64_t words;
	uint64_t *attr, *data, *zero;
	uint64_t *dirty;		/* DIFF: the harvested log, put back on failure */
	uint64_t nr_data;
};

struct plan {
	struct slot_plan slots[GM_VM_MAX_SLOTS];
	unsigned int nr_slots;
	uint64_t nr_pages;
	bool diff;
	bool live;
};

/* ---- the stream ---- */

static int w_flush(struct writer *w)
{
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	w->len = 0;
	return 0;
}

static int w_room(struct writer *w, size_t need)
{
	uint8_t *bigger;
	int ret;

	if (w->len + need <= w->cap)
		return 0;
	ret = w_flush(w);
	if (ret || need <= w->cap)
		return ret;
	bigger = realloc(w->buf, need);
	if (!bigger)
		return -ENOMEM;
	w->buf = bigger;
	w->cap = need;
	return 0;
}

static int w_bytes(struct writer *w, const void *data, size_t len)
{
	int ret = w_room(w, len);

	if (ret)
		return ret;
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	w->offset += len;
	return 0;
}

/* Append a record of @kind sealing @len bytes of @plain. */
static int w_record(struct writer *w, uint32_t kind, uint32_t slot, uint64_t index,
		    const void *plain, size_t len)
{
	struct snap_rec r = {
		.kind = kind, .slot = slot, .index = index, .len = len + SNAP_TAG,
		.recno = w->recno,
	};
	size_t need = sizeof(r) + len + SNAP_TAG;
	int ret = w_room(w, need);

	if (ret)
		return ret;
	memcpy(w->buf + w->len, &r, sizeof(r));
	snap_seal(&w->c, &r, plain, len, w->buf + w->len + sizeof(r));
	w->len += need;
	w->offset += need;
	w->recno++;
	return 0;
}

/* ---- planning ---- */

static void plan_free(struct plan *p)
{
	for (unsigned int i = 0; i < p->nr_slots; i++) {
		free(p->slots[i].attr);
		free(p->slots[i].data);
		free(p->slots[i].zero);
		free(p->slots[i].dirty);
	}
}

/* Is any byte of @buf non-zero? */
static bool nonzero(const uint8_t *buf, size_t len)
{
	return len && (buf[0] || memcmp(buf, buf + 1, len - 1));
}

/*
 * Shared page @p of @s, from the shared file: the bytes read (a short read
 * past its end).  In place, a page the guest is converting may be private
 * in the file already (to private: the file agrees first) or still (to
 * shared: the file follows the attribute): the file refuses it (-EPERM),
 * and it reads as zero here, since the conversion marks the page dirty once
 * the file has changed, so the next round of a live snapshot carries it.
 */
static ssize_t read_shared(const struct gm_slot *s, uint64_t p, uint8_t *buf)
{
	ssize_t n = gm_pread(s->desc.shared_file, buf, GM_PAGE_SIZE,
			     (off_t)(s->desc.shared_offset + (p << GM_PAGE_SHIFT)));

	return n == -EPERM && s->mm->in_place ? 0 : n;
}

/*
 * Mark the pages of [first, end) of the shared file that hold data and are
 * not all zeros in @sp->data, among those @sp wants (shared by attribute,
 * and dirty for a diff).
 */
static int plan_shared_range(struct slot_plan *sp, uint64_t first, uint64_t end, uint8_t *buf)
{
	const struct gm_slot *s = sp->s;

	for (uint64_t p = first; p < end; p++) {
		ssize_t n;

		if (snap_bit(sp->attr, p) || (sp->dirty && !snap_bit(sp->dirty, p)))
			continue;
		n = read_shared(s, p, buf);
		if (n < 0)
			return (int)n;
		if (nonzero(buf, (size_t)n))
			snap_set_bit(sp->data, p);
	}
	return 0;
}

/* The shared file's data ranges over the slot (SEEK_DATA), or all of it. */
static int plan_shared(struct slot_plan *sp, uint8_t *buf)
{
	const struct gm_slot *s = sp->s;
	int fd = gm_file_fd(s->desc.shared_file);
	off_t start = (off_t)s->desc.shared_offset, end = start + (off_t)s->desc.size;
	off_t pos = start, data, hole;
	int ret;

	while (pos < end) {
		data = fd >= 0 ? lseek(fd, pos, SEEK_DATA) : pos;
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			data = pos;	/* no SEEK_DATA here: read it all */
		if (data >= end)
			break;
		hole = fd >= 0 ? lseek(fd, data, SEEK_HOLE) : end;
		if (hole < 0 || hole > end)
			hole = end;
		ret = plan_shared_range(sp, (uint64_t)(data - start) >> GM_PAGE_SHIFT,
					((uint64_t)(hole - start) + GM_PAGE_MASK) >> GM_PAGE_SHIFT, buf);
		if (ret)
			return ret;
		pos = hole;
	}
	return 0;
}

/*
 * Attributes, and the private pages the VM let in, or that kept their bytes
 * across an in-place conversion (wanted ones for a diff).
 */
static void plan_private(struct gm_vm *vm, struct slot_plan *sp)
{
	const struct gm_slot *s = sp->s;

	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	for (uint64_t p = 0; p < s->nr_pages; p++) {
		if (!gm_slot_page_private(s, p))
			continue;
		snap_set_bit(sp->attr, p);
		if ((s->mm->s2_pfn[p] != GM_PFN_NONE || (s->mm->kept && s->mm->kept[p])) &&
		    (!sp->dirty || snap_bit(sp->dirty, p)))
			snap_set_bit(sp->data, p);
	}
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
}

/* Zero: every other page (full), or every other dirty page (diff). */
static void plan_zero(struct slot_plan *sp)
{
	uint64_t tail = sp->s->nr_pages % 64;

	for (uint64_t w = 0; w < sp->words; w++) {
		sp->zero[w] = ~sp->data[w] & (sp->dirty ? sp->dirty[w] : ~0ULL);
		sp->nr_data += (uint64_t)__builtin_popcountll(sp->data[w]);
	}
	if (tail)
		sp->zero[sp->words - 1] &= (1ULL << tail) - 1;
}

static int plan_slot(struct gm_vm *vm, struct slot_plan *sp, uint8_t *buf)
{
	int64_t n;
	int ret;

	sp->words = snap_words(sp->s->nr_pages);
	sp->attr = calloc(sp->words, sizeof(uint64_t));
	sp->data = calloc(sp->words, sizeof(uint64_t));
	sp->zero = calloc(sp->words, sizeof(uint64_t));
	if (!sp->attr || !sp->data || !sp->zero)
		return -ENOMEM;
	if (sp->dirty) {
		n = gm_vm_dirty_harvest(vm, sp->id, sp->dirty);
		if (n < 0) {
			free(sp->dirty);	/* nothing harvested: nothing to put back */
			sp->dirty = NULL;
			return (int)n;
		}
	}
	if (sp->s->desc.flags & GM_SLOT_PRIVATE)
		plan_private(vm, sp);
	ret = plan_shared(sp, buf);
	if (ret)
		return ret;
	plan_zero(sp);
	return 0;
}

/* Whatever a failed diff harvested is dirty again. */
static void plan_put_back(struct plan *p)
{
	for (unsigned int i = 0; p->diff && i < p->nr_slots; i++) {
		struct slot_plan *sp = &p->slots[i];

		for (uint64_t pg = 0; sp->dirty && pg < sp->s->nr_pages; pg++)
			if (snap_bit(sp->dirty, pg))
				gm_slot_mark_dirty(sp->s, pg, 1);
	}
}

/* Every used slot, checked: no memory the kernel keeps, logged for a diff. */
static int plan_slots(struct gm_vm *vm, struct plan *p)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];
		struct slot_plan *sp = &p->slots[p->nr_slots];

		if (!s->used)
			continue;
		if (s->mm->kernel_memory)
			return -EOPNOTSUPP;	/* the kernel's pages are its own */
		if (p->diff && !s->dirty)
			return -EINVAL;
		sp->s = s;
		sp->id = i;
		p->nr_slots++;
	}
	return 0;
}

static int make_plan(struct gm_vm *vm, struct plan *p)
{
	uint8_t *buf;
	int ret = plan_slots(vm, p);

	if (ret)
		return ret;
	for (unsigned int i = 0; p->diff && i < p->nr_slots; i++) {
		p->slots[i].dirty = calloc(snap_words(p->slots[i].s->nr_pages), sizeof(uint64_t));
		if (!p->slots[i].dirty)
			return -ENOMEM;
	}
	buf = malloc(GM_PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->nr_slots && !ret; i++) {
		ret = gm_slot_aliases(vm, p->slots[i].s);
		if (!ret)
			ret = plan_slot(vm, &p->slots[i], buf);
		p->nr_pages += p->slots[i].nr_data;
	}
	free(buf);
	return ret;
}

/* ---- records ---- */

static int write_slot(struct writer *w, const struct slot_plan *sp)
{
	size_t maps = sp->words * sizeof(uint64_t);
	size_t len = sizeof(struct snap_slot) + 3 * maps;
	struct snap_slot *rec = malloc(len);
	uint8_t *at;
	int ret;

	if (!rec)
		return -ENOMEM;
	*rec = (struct snap_slot){
		.slot = sp->id, .flags = sp->s->desc.flags, .gpa = sp->s->desc.gpa,
		.size = sp->s->desc.size, .nr_pages = sp->s->nr_pages, .nr_data = sp->nr_data,
	};
	at = (uint8_t *)(rec + 1);
	memcpy(at, sp->attr, maps);
	memcpy(at + maps, sp->data, maps);
	memcpy(at + 2 * maps, sp->zero, maps);
	ret = w_record(w, SNAP_SLOT, sp->id, 0, rec, len);
	free(rec);
	return ret;
}

static int write_vcpu(struct gm_vm *vm, struct writer *w, struct gm_vcpu *v, bool live)
{
	struct snap_vcpu rec = { .index = v->index, .state = SNAP_VCPU_ENDED };
	int ret;

	/* A live stream holds no vCPU state: the vCPU may be running. */
	if (live) {
		rec.state = SNAP_VCPU_FRESH;
		return w_record(w, SNAP_VCPU, 0, v->index, &rec, sizeof(rec));
	}
	if (!atomic_load(&v->started)) {
		rec.state = SNAP_VCPU_FRESH;
	} else if (v->exit.reason == GM_EXIT_STOPPED) {
		rec.state = SNAP_VCPU_RESUME;
		ret = vm->engine->vcpu_get_regs(v, &rec.regs);
		if (ret)
			return ret;
	}
	rec.reason = (int32_t)v->exit.reason;
	rec.status = v->exit.status;
	rec.fault_gpa = v->exit.fault.gpa;
	rec.fault_size = v->exit.fault.size;
	rec.fault_private = v->exit.fault.private;
	rec.rip = v->exit.rip;
	return w_record(w, SNAP_VCPU, 0, v->index, &rec, sizeof(rec));
}

/*
 * In place, a private page no let-in recorded that kept its bytes: pinned
 * (present from then on) and read through the alias.
 */
static int read_kept(const struct gm_slot *s, uint64_t p, uint8_t *buf)
{
	gm_pfn_t pfn;
	int ret;

	ret = gm_slot_private_pin((struct gm_slot *)s, p, NULL, &pfn);
	if (ret)
		return ret;
	memcpy(buf, s->mm->private_alias.addr + (p << GM_PAGE_SHIFT), GM_PAGE_SIZE);
	s->mm->mem_ops->put_unlock_pfn(pfn);
	return 0;
}

/* A page's bytes, from the side its attribute says. */
static int read_page(struct gm_vm *vm, const struct slot_plan *sp, uint64_t p, uint8_t *buf)
{
	const struct gm_slot *s = sp->s;
	ssize_t n;

	if (snap_bit(sp->attr, p)) {
		gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
		if (s->mm->s2_pfn[p] != GM_PFN_NONE) {
			memcpy(buf, s->mm->private_alias.addr + (p << GM_PAGE_SHIFT), GM_PAGE_SIZE);
		} else if (s->mm->kept && s->mm->kept[p]) {
			gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
			return read_kept(s, p, buf);
		} else {
			memset(buf, 0, GM_PAGE_SIZE);	/* punched since: it reads zero */
		}
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
		return 0;
	}
	n = read_shared(s, p, buf);
	if (n < 0)
		return (int)n;
	memset(buf + n, 0, GM_PAGE_SIZE - (size_t)n);
	return 0;
}

static int write_pages(struct gm_vm *vm, struct writer *w, const struct plan *p)
{
	uint8_t *buf = malloc(GM_PAGE_SIZE);
	int ret = buf ? 0 : -ENOMEM;

	for (unsigned int i = 0; i < p->nr_slots && !ret; i++) {
		const struct slot_plan *sp = &p->slots[i];

		for (uint64_t pg = 0; pg < sp->s->nr_pages && !ret; pg++) {
			if (!snap_bit(sp->data, pg))
				continue;
			ret = read_page(vm, sp, pg, buf);
			if (!ret)
				ret = w_record(w, SNAP_PAGE, sp->id, pg, buf, GM_PAGE_SIZE);
		}
	}
	if (buf)
		sodium_memzero(buf, GM_PAGE_SIZE);
	free(buf);
	return ret;
}

static int write_trailer(struct writer *w)
{
	struct snap_trailer t = { .nr_records = w->recno + 1, .length = w->offset + SNAP_TRAILER_REC };

	snap_tags_final(&w->c, t.hash);
	return w_record(w, SNAP_TRAILER, 0, 0, &t, sizeof(t));
}

static int write_stream(struct gm_vm *vm, struct writer *w, const struct plan *p,
			const void *app, size_t app_len)
{
	struct snap_head head = {
		.flags = (p->diff ? SNAP_F_DIFF : 0) | (p->live ? SNAP_F_LIVE : 0),
		.nr_slots = p->nr_slots,
		.nr_vcpus = vm->nr_vcpus, .page_size = GM_PAGE_SIZE, .nr_pages = p->nr_pages,
		.app_len = app_len,
	};
	int ret;

	ret = w_bytes(w, &w->c.fh, sizeof(w->c.fh)) ?:
	      w_record(w, SNAP_HEAD, 0, 0, &head, sizeof(head));
	for (unsigned int i = 0; i < p->nr_slots && !ret; i++)
		ret = write_slot(w, &p->slots[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = write_vcpu(vm, w, &vm->vcpus[i], p->live);
	if (!ret)
		ret = w_record(w, SNAP_APP, 0, 0, app, app_len);
	if (!ret)
		ret = write_pages(vm, w, p);
	if (!ret)
		ret = write_trailer(w);
	return ret ?: w_flush(w);
}

/* Can @vm be snapshotted now (@live: beside its run)?  Under memslot_lock. */
static int check_vm(struct gm_vm *vm, bool live)
{
	if (live) {
		if (!vm->nr_vcpus)
			return -EINVAL;
		for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
			if (vm->slots[i].used && vm->slots[i].mm->hook)
				return -EBUSY;
		return 0;
	}
	if (atomic_load(&vm->running))
		return -EBUSY;
	if (!vm->nr_vcpus || !vm->ran)
		return -EINVAL;
	if (!vm->engine->vcpu_get_regs)
		return -EOPNOTSUPP;
	return 0;
}

int gm_vm_snapshot(struct gm_vm *vm, int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE],
		   unsigned int flags, const void *app, size_t app_len)
{
	struct writer w = { .fd = fd };
	struct plan *p;
	int ret;

	if (!vm || !key || (!app && app_len))
		return -EFAULT;
	if (fd < 0 || (flags & ~(GM_SNAPSHOT_DIFF | GM_SNAPSHOT_LIVE)) ||
	    app_len > GM_SNAPSHOT_APP_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	w.buf = malloc(WRITE_BUF);
	w.cap = WRITE_BUF;
	if (!p || !w.buf) {
		free(p);
		free(w.buf);
		return -ENOMEM;
	}
	p->diff = flags & GM_SNAPSHOT_DIFF;
	p->live = flags & GM_SNAPSHOT_LIVE;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	ret = check_vm(vm, p->live) ?: snap_crypto_new(&w.c, key);
	/* A lazy restore's untouched pages first: the stage-2 record then names them. */
	if (!ret && !p->live)
		ret = gm_lazy_bring_all(vm);
	if (!ret)
		ret = make_plan(vm, p);
	if (!ret)
		ret = write_stream(vm, &w, p, app, app_len);
	if (ret)
		plan_put_back(p);
	else
		gm_stat_add(&vm->stats.snapshot_pages, p->nr_pages);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	plan_free(p);
	free(p);
	sodium_memzero(w.buf, w.len);
	free(w.buf);
	snap_crypto_wipe(&w.c);
	return ret;
}
