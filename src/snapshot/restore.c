/* SPDX-License-Identifier: MIT */
/*
 * Reading a sealed snapshot back (the format: snapshot.h).
 *
 * Check first, then act: the stream is read once to check it (every record
 * opens, in its place, and the trailer's count, length and hash agree), and
 * only then read again to apply it, so that nothing of a refused stream
 * reaches the VM.  An unseekable stream is copied into a memfd on the way.
 * A lazy restore checks the header, the index, the vCPU records, the pages
 * of the slots it fills now and the trailer; the pages of private-capable
 * slots are checked when they are first reached (lazy.c).
 *
 * Applying: attributes (conversions), pages that read zero (punched), pages
 * with records (private ones through get_lock_pfn and the slot's private
 * alias, shared ones through its shared alias), private pages let in
 * through the fault path (so that the stage-2 record names them for the
 * next snapshot), then the vCPUs.  memslot_lock is held throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"

#define CHUNK_RECS	64	/* PAGE records read at once */

struct reader {
	int fd;
	uint64_t base;			/* the stream's offset in fd */
	uint64_t size;			/* bytes from base to the end; UINT64_MAX: unknown */
	struct snap_crypto c;
	uint64_t recno, offset;		/* the next record's */
	_Atomic uint64_t *counter;	/* bytes read, or NULL */
};

struct pslot {
	struct snap_slot hdr;
	void *rec;			/* the opened SLOT record */
	uint64_t *attr, *data, *zero;	/* inside it */
	uint64_t first_rank;		/* its first PAGE record, from 0 */
	struct gm_slot *s;		/* the VM's */
};

struct parsed {
	struct snap_head head;
	struct pslot slots[GM_VM_MAX_SLOTS];
	struct snap_vcpu vcpus[GM_GUEST_MAX_VCPUS];
	uint8_t *app;
	uint64_t pages_off, page_recno;	/* the first PAGE record's */
};

/* ---- reading ---- */

static int r_pread(struct reader *r, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(r->fd, (uint8_t *)buf + done, len - done,
				  (off_t)(r->base + off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EBADMSG;	/* the stream ends early: cut short */
		done += (size_t)n;
	}
	if (r->counter)
		gm_stat_add(r->counter, len);
	return 0;
}

/*
 * The next record, which must be of @kind and hold at most @max bytes:
 * opened into *@plain (malloc'ed; free it).  Its tag goes into the hash.
 */
static int r_record(struct reader *r, uint32_t kind, size_t max, struct snap_rec *rec,
		    void **plain)
{
	uint8_t *sealed;
	void *out;
	int ret;

	ret = r_pread(r, r->offset, rec, sizeof(*rec));
	if (ret)
		return ret;
	if (rec->kind != kind || rec->recno != r->recno || rec->len < SNAP_TAG ||
	    rec->len - SNAP_TAG > max)
		return -EBADMSG;
	sealed = malloc(rec->len);
	out = malloc(rec->len - SNAP_TAG ? rec->len - SNAP_TAG : 1);
	ret = sealed && out ? r_pread(r, r->offset + sizeof(*rec), sealed, rec->len) : -ENOMEM;
	if (!ret)
		ret = snap_open(&r->c, rec, sealed, out, true);
	free(sealed);
	if (ret) {
		free(out);
		return ret;
	}
	*plain = out;
	r->offset += sizeof(*rec) + rec->len;
	r->recno++;
	return 0;
}

/* Where the stream starts in @fd, and how long it can be. */
static int r_init(struct reader *r, int fd, _Atomic uint64_t *counter)
{
	struct stat st;
	off_t pos = lseek(fd, 0, SEEK_CUR);

	memset(r, 0, sizeof(*r));
	if (pos < 0)
		return -errno;
	r->fd = fd;
	r->base = (uint64_t)pos;
	r->size = UINT64_MAX;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		r->size = (uint64_t)st.st_size > r->base ? (uint64_t)st.st_size - r->base : 0;
	r->counter = counter;
	return 0;
}

/* Copy an unseekable stream into a memfd, to read it twice.  Return the memfd or -errno. */
static int copy_stream(int fd)
{
	size_t cap = 1U << 20;
	uint8_t *buf = malloc(cap);
	int copy = memfd_create("guestmem-restore", MFD_CLOEXEC), ret = 0;

	if (copy < 0 || !buf) {
		ret = copy < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, cap), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		while (done < n && !ret) {
			ssize_t w = write(copy, buf + done, (size_t)(n - done));

			ret = w < 0 ? -errno : 0;
			done += w > 0 ? w : 0;
		}
		if (ret)
			break;
	}
	if (!ret && lseek(copy, 0, SEEK_SET) < 0)
		ret = -errno;
out:
	free(buf);
	if (ret && copy >= 0)
		close(copy);
	return ret ? ret : copy;
}

/* ---- the index ---- */

static void parsed_free(struct parsed *p)
{
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		free(p->slots[i].rec);
	free(p->app);
	memset(p, 0, sizeof(*p));
}

static int check_head(const struct snap_head *h)
{
	if (h->page_size != GM_PAGE_SIZE || h->nr_slots > GM_VM_MAX_SLOTS ||
	    h->nr_vcpus > GM_GUEST_MAX_VCPUS || h->app_len > GM_SNAPSHOT_APP_MAX ||
	    (h->flags & ~(SNAP_F_DIFF | SNAP_F_LIVE)))
		return -EBADMSG;
	return 0;
}

/* A SLOT record that the writer could have written. */
static int check_slot(struct pslot *ps, const struct snap_rec *rec, size_t len, uint32_t prev)
{
	const struct snap_slot *h = ps->rec;
	uint64_t words, nr_data = 0;

	if (len < sizeof(*h))
		return -EBADMSG;
	words = snap_words(h->nr_pages);
	if (h->slot != rec->slot || h->slot >= GM_VM_MAX_SLOTS || (prev != UINT32_MAX &&
	    h->slot <= prev) || h->nr_pages != h->size >> GM_PAGE_SHIFT ||
	    len != sizeof(*h) + 3 * words * sizeof(uint64_t))
		return -EBADMSG;
	ps->hdr = *h;
	ps->attr = (uint64_t *)((uint8_t *)ps->rec + sizeof(*h));
	ps->data = ps->attr + words;
	ps->zero = ps->data + words;
	for (uint64_t w = 0; w < words; w++) {
		/* No bit past the slot's end: the last word's tail. */
		uint64_t past = w + 1 == words && h->nr_pages % 64 ? ~0ULL << (h->nr_pages % 64) : 0;

		if ((ps->data[w] & ps->zero[w]) || ((ps->attr[w] | ps->data[w] | ps->zero[w]) & past) ||
		    (!(h->flags & GM_SLOT_PRIVATE) && ps->attr[w]))
			return -EBADMSG;
		nr_data += (uint64_t)__builtin_popcountll(ps->data[w]);
	}
	return nr_data == h->nr_data ? 0 : -EBADMSG;
}

static int read_slots(struct reader *r, struct parsed *p)
{
	uint32_t prev = UINT32_MAX;
	uint64_t rank = 0;
	struct snap_rec rec;
	int ret;

	for (uint32_t i = 0; i < p->head.nr_slots; i++) {
		struct pslot *ps = &p->slots[i];

		ret = r_record(r, SNAP_SLOT, SIZE_MAX, &rec, &ps->rec);
		if (!ret)
			ret = check_slot(ps, &rec, rec.len - SNAP_TAG, prev);
		if (ret)
			return ret;
		prev = ps->hdr.slot;
		ps->first_rank = rank;
		rank += ps->hdr.nr_data;
	}
	return rank == p->head.nr_pages ? 0 : -EBADMSG;
}

static int read_vcpus(struct reader *r, struct parsed *p)
{
	struct snap_rec rec;
	struct snap_vcpu *v;
	int ret;

	for (uint32_t i = 0; i < p->head.nr_vcpus; i++) {
		ret = r_record(r, SNAP_VCPU, sizeof(*v), &rec, (void **)&v);
		if (ret)
			return ret;
		if (rec.len - SNAP_TAG != sizeof(*v) || rec.index != i || v->index != i ||
		    v->state > SNAP_VCPU_ENDED || v->reason < 0 || v->reason > GM_EXIT_STOPPED ||
		    ((p->head.flags & SNAP_F_LIVE) && v->state != SNAP_VCPU_FRESH))
			ret = -EBADMSG;
		p->vcpus[i] = *v;
		free(v);
		if (ret)
			return ret;
	}
	return 0;
}

/* The file header, key check, head, index, vCPUs and the caller's bytes. */
static int read_index(struct reader *r, const uint8_t *key, struct parsed *p)
{
	struct snap_file_header fh;
	struct snap_head *head;
	struct snap_rec rec;
	int ret;

	ret = r_pread(r, 0, &fh, sizeof(fh));
	if (ret)
		return ret == -EBADMSG ? -EINVAL : ret;	/* too short to be a snapshot */
	ret = snap_crypto_open(&r->c, &fh, key);
	if (ret)
		return ret;
	r->offset = sizeof(fh);
	ret = r_record(r, SNAP_HEAD, sizeof(*head), &rec, (void **)&head);
	if (ret)
		return ret;
	p->head = *head;
	free(head);
	ret = rec.len - SNAP_TAG == sizeof(*head) ? check_head(&p->head) : -EBADMSG;
	if (!ret)
		ret = read_slots(r, p);
	if (!ret)
		ret = read_vcpus(r, p);
	if (!ret)
		ret = r_record(r, SNAP_APP, p->head.app_len, &rec, (void **)&p->app);
	if (!ret && rec.len - SNAP_TAG != p->head.app_len)
		ret = -EBADMSG;
	p->pages_off = r->offset;
	p->page_recno = r->recno;
	return ret;
}

/* ---- pages ---- */

typedef int (*page_fn)(void *ctx, struct pslot *ps, uint64_t page, const struct snap_rec *rec,
		       const uint8_t *sealed);

/*
 * Call @fn on each PAGE record of slot @ps, in order, read CHUNK_RECS at a
 * time; each header is checked against the index first.
 */
static int for_slot_pages(struct reader *r, const struct parsed *p, struct pslot *ps,
			  uint8_t *buf, page_fn fn, void *ctx)
{
	uint64_t rank = ps->first_rank, left = ps->hdr.nr_data, page = 0;
	int ret;

	while (left) {
		uint64_t n = left < CHUNK_RECS ? left : CHUNK_RECS;

		ret = r_pread(r, p->pages_off + rank * SNAP_PAGE_REC, buf, n * SNAP_PAGE_REC);
		if (ret)
			return ret;
		for (uint64_t i = 0; i < n; i++, page++) {
			uint8_t *at = buf + i * SNAP_PAGE_REC;
			struct snap_rec rec;

			while (!snap_bit(ps->data, page))
				page++;
			memcpy(&rec, at, sizeof(rec));
			if (rec.kind != SNAP_PAGE || rec.slot != ps->hdr.slot || rec.index != page ||
			    rec.len != GM_PAGE_SIZE + SNAP_TAG || rec.recno != p->page_recno + rank + i)
				return -EBADMSG;
			ret = fn(ctx, ps, page, &rec, at + sizeof(rec));
			if (ret)
				return ret;
		}
		rank += n;
		left -= n;
	}
	return 0;
}

/* @fn on the pages of every slot (@lazy_only: of the slots a lazy restore fills now). */
static int for_pages(struct reader *r, struct parsed *p, bool lazy_only, page_fn fn, void *ctx)
{
	uint8_t *buf = malloc(CHUNK_RECS * SNAP_PAGE_REC);
	int ret = buf ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < p->head.nr_slots && !ret; i++)
		if (!lazy_only || !(p->slots[i].hdr.flags & GM_SLOT_PRIVATE))
			ret = for_slot_pages(r, p, &p->slots[i], buf, fn, ctx);
	free(buf);
	return ret;
}

/* Check one page record: open it into a scratch page. */
static int check_page(void *ctx, struct pslot *ps, uint64_t page, const struct snap_rec *rec,
		      const uint8_t *sealed)
{
	struct reader *r = ctx;
	uint8_t plain[GM_PAGE_SIZE];
	int ret = snap_open(&r->c, rec, sealed, plain, true);

	sodium_memzero(plain, sizeof(plain));
	return ret;
}

/* The trailer: in its place, last, and (@hash) agreeing with every tag before it. */
static int check_trailer(struct reader *r, struct parsed *p, bool hash)
{
	uint8_t want[32];
	struct snap_trailer *t;
	struct snap_rec rec;
	int ret;

	if (hash)
		snap_tags_final(&r->c, want);
	r->offset = p->pages_off + p->head.nr_pages * SNAP_PAGE_REC;
	r->recno = p->page_recno + p->head.nr_pages;
	ret = r_record(r, SNAP_TRAILER, sizeof(*t), &rec, (void **)&t);
	if (ret)
		return ret;
	if (rec.len - SNAP_TAG != sizeof(*t) || t->nr_records != r->recno ||
	    t->length != r->offset || (r->size != UINT64_MAX && r->size != r->offset) ||
	    (hash && sodium_memcmp(want, t->hash, sizeof(want))))
		ret = -EBADMSG;
	free(t);
	return ret;
}

/* ---- the VM ---- */

/* Is @vm one this snapshot fits: booted, not run, the same slots and vCPUs? */
static int check_layout(struct gm_vm *vm, struct parsed *p)
{
	unsigned int used = 0;

	if (p->head.nr_vcpus != vm->nr_vcpus)
		return -EINVAL;
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		used += vm->slots[i].used;
	if (used != p->head.nr_slots)
		return -EINVAL;
	for (uint32_t i = 0; i < p->head.nr_slots; i++) {
		struct pslot *ps = &p->slots[i];
		struct gm_slot *s = &vm->slots[ps->hdr.slot];

		if (!s->used || s->desc.flags != ps->hdr.flags || s->desc.gpa != ps->hdr.gpa ||
		    s->desc.size != ps->hdr.size)
			return -EINVAL;
		if (s->mm->kernel_memory)
			return -EOPNOTSUPP;	/* the kernel's pages are its own */
		ps->s = s;
	}
	return 0;
}

static int check_vm(struct gm_vm *vm)
{
	if (atomic_load(&vm->running))
		return -EBUSY;
	if (!vm->nr_vcpus || vm->ran)
		return -EINVAL;
	if (!vm->engine->vcpu_set_regs)
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].mm->hook)
			return -EBUSY;
	return 0;
}

/* Convert the pages whose attribute differs from the snapshot's. */
static int apply_attrs(struct gm_vm *vm, const struct pslot *ps)
{
	const struct gm_slot *s = ps->s;
	uint64_t p = 0, end;
	bool want;
	int ret;

	if (!(s->desc.flags & GM_SLOT_PRIVATE))
		return 0;
	while (p < s->nr_pages) {
		want = snap_bit(ps->attr, p);
		if (gm_slot_page_private(s, p) == want) {
			p++;
			continue;
		}
		for (end = p + 1; end < s->nr_pages && snap_bit(ps->attr, end) == want &&
		     gm_slot_page_private(s, end) != want; end++)
			;
		ret = gm_vm_set_memory_attributes(vm, s->desc.gpa + (p << GM_PAGE_SHIFT),
						  (end - p) << GM_PAGE_SHIFT,
						  want ? GM_MEMORY_ATTRIBUTE_PRIVATE : 0, 0);
		if (ret)
			return ret;
		p = end;
	}
	return 0;
}

/* Make page @p of @s zero on @private's side without freeing its folio. */
static int zero_page(struct gm_slot *s, uint64_t p, bool private)
{
	gm_pfn_t pfn;
	int ret;

	/* In place, both sides are the file's alias: pinned first, as a private page. */
	if (!private && !s->mm->in_place) {
		memset(s->mm->shared_alias + (p << GM_PAGE_SHIFT), 0, GM_PAGE_SIZE);
		return 0;
	}
	ret = gm_slot_private_pin(s, p, NULL, &pfn);
	if (ret)
		return ret;
	memset(s->mm->private_alias.addr + (p << GM_PAGE_SHIFT), 0, GM_PAGE_SIZE);
	s->mm->mem_ops->put_unlock_pfn(pfn);
	return 0;
}

/* Pages [first, end) of @s read zero on @private's side: punch whole folios, zero the rest. */
static int zero_run(struct gm_slot *s, uint64_t first, uint64_t end, bool private)
{
	struct gm_file *file = private ? s->desc.private_file : s->desc.shared_file;
	uint64_t off = private ? s->desc.private_offset : s->desc.shared_offset;
	uint64_t folio = 1ULL << (gm_file_page_shift(file) - GM_PAGE_SHIFT);
	uint64_t base = off >> GM_PAGE_SHIFT;
	uint64_t lo = ((base + first + folio - 1) & ~(folio - 1)) - base;
	uint64_t hi = ((base + end) & ~(folio - 1)) - base;
	int ret = 0;

	if (lo >= hi)
		lo = hi = end;
	for (uint64_t p = first; p < lo && !ret; p++)
		ret = zero_page(s, p, private);
	for (uint64_t p = hi; p < end && !ret; p++)
		ret = zero_page(s, p, private);
	if (!ret && lo < hi)
		ret = gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
				   (off_t)((base + lo) << GM_PAGE_SHIFT),
				   (off_t)((hi - lo) << GM_PAGE_SHIFT));
	return ret;
}

static int apply_zero(const struct pslot *ps)
{
	struct gm_slot *s = ps->s;
	uint64_t p = 0, end;
	bool private;
	int ret;

	while (p < s->nr_pages) {
		if (!snap_bit(ps->zero, p)) {
			p++;
			continue;
		}
		private = s->private_attr && gm_slot_page_private(s, p);
		for (end = p + 1; end < s->nr_pages && snap_bit(ps->zero, end) &&
		     (s->private_attr && gm_slot_page_private(s, end)) == private; end++)
			;
		ret = zero_run(s, p, end, private);
		if (ret)
			return ret;
		p = end;
	}
	return 0;
}

struct apply_ctx {
	struct gm_vm *vm;
	struct reader *r;
};

/* Put one checked page record in place, on the side its attribute says. */
static int apply_page(void *arg, struct pslot *ps, uint64_t page, const struct snap_rec *rec,
		      const uint8_t *sealed)
{
	struct apply_ctx *a = arg;
	struct gm_slot *s = ps->s;
	int ret;

	/* In place, a shared page is the file's too: pinned, then written. */
	if (s->mm->in_place || (s->private_attr && gm_slot_page_private(s, page)))
		ret = snap_open_private_page(s, page, &a->r->c, rec, sealed, false);
	else
		ret = snap_open(&a->r->c, rec, sealed, s->mm->shared_alias + (page << GM_PAGE_SHIFT),
				false);
	if (!ret)
		gm_stat_add(&a->vm->stats.restore_pages, 1);
	return ret;
}

/* Let the restored private pages in (fault path, as the prefault thread does). */
static int let_in_private(struct gm_vm *vm, const struct pslot *ps)
{
	struct gm_slot *s = ps->s;
	struct gm_exit exit;
	bool in;
	int ret;

	for (uint64_t p = 0; s->mm->s2_pfn && p < s->nr_pages; p++) {
		struct gm_access acc = { .gpa = s->desc.gpa + (p << GM_PAGE_SHIFT), .len = 1 };

		if (!snap_bit(ps->data, p) || !gm_slot_page_private(s, p))
			continue;
		gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
		in = s->mm->s2_pfn[p] != GM_PFN_NONE;
		gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
		if (in)
			continue;
		ret = gm_vm_handle_fault(vm, NULL, &acc, &exit);
		if (ret)
			return ret < 0 ? ret : -EIO;
	}
	return 0;
}

static int apply_vcpus(struct gm_vm *vm, const struct parsed *p)
{
	int ret;

	for (uint32_t i = 0; i < p->head.nr_vcpus; i++) {
		const struct snap_vcpu *v = &p->vcpus[i];
		struct gm_vcpu *vcpu = &vm->vcpus[i];

		if (v->state == SNAP_VCPU_RESUME) {
			ret = vm->engine->vcpu_set_regs(vcpu, &v->regs);
			if (ret)
				return ret;
			vcpu->resume = true;
		} else if (v->state == SNAP_VCPU_ENDED) {
			vcpu->ended = true;
			vcpu->ended_exit = (struct gm_exit){
				.reason = (enum gm_exit_reason)v->reason, .status = v->status,
				.fault = { .gpa = v->fault_gpa, .size = v->fault_size,
					   .private = v->fault_private },
				.rip = v->rip,
			};
		}
	}
	return 0;
}

/* ---- lazy ---- */

static void lazy_slot_free(struct gm_lazy_slot *l)
{
	if (!l)
		return;
	free(l->data);
	free(l->rank);
	free((void *)l->state);
	free(l);
}

static struct gm_lazy_slot *lazy_slot_new(const struct pslot *ps, struct gm_lazy_src *src)
{
	uint64_t words = snap_words(ps->hdr.nr_pages), rank = ps->first_rank;
	struct gm_lazy_slot *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->data = malloc(words * sizeof(uint64_t));
	l->rank = malloc(words * sizeof(uint64_t));
	l->state = malloc(ps->hdr.nr_pages);
	if (!l->data || !l->rank || !l->state) {
		lazy_slot_free(l);
		return NULL;
	}
	for (uint64_t w = 0; w < words; w++) {
		l->data[w] = ps->data[w];
		l->rank[w] = rank;
		rank += (uint64_t)__builtin_popcountll(ps->data[w]);
	}
	for (uint64_t p = 0; p < ps->hdr.nr_pages; p++)
		atomic_init(&l->state[p], snap_bit(ps->data, p) ? LAZY_PENDING : LAZY_DONE);
	l->slot = ps->hdr.slot;
	l->nr_pages = ps->hdr.nr_pages;
	l->src = src;
	return l;
}

/* The private-capable slots' pages come on first touch from now on. */
static int apply_lazy(struct gm_vm *vm, struct reader *r, const struct parsed *p)
{
	struct gm_lazy_slot *made[GM_VM_MAX_SLOTS] = { 0 };
	struct gm_lazy_src *src = calloc(1, sizeof(*src));
	int ret = src ? 0 : -ENOMEM;

	if (!ret) {
		src->fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
		ret = src->fd < 0 ? -errno : 0;
	}
	if (ret) {
		free(src);
		return ret;
	}
	src->base = r->base;
	src->pages_off = p->pages_off;
	src->page_recno = p->page_recno;
	src->crypto = r->c;
	src->vm = vm;
	atomic_init(&src->refs, 1);
	for (uint32_t i = 0; i < p->head.nr_slots && !ret; i++) {
		const struct pslot *ps = &p->slots[i];

		if (!(ps->hdr.flags & GM_SLOT_PRIVATE) || !ps->hdr.nr_data)
			continue;
		made[i] = lazy_slot_new(ps, src);
		if (!made[i])
			ret = -ENOMEM;
		else
			atomic_fetch_add(&src->refs, 1);
	}
	if (!ret) {
		gm_vm_slots_write_lock(vm);
		for (uint32_t i = 0; i < p->head.nr_slots; i++)
			if (made[i]) {
				p->slots[i].s->mm->hook_data = made[i];
				p->slots[i].s->mm->hook = &gm_lazy_hook;
			}
		gm_vm_slots_write_unlock(vm);
	}
	for (uint32_t i = 0; ret && i < p->head.nr_slots; i++) {
		if (made[i])
			gm_lazy_src_put(src);
		lazy_slot_free(made[i]);
	}
	gm_lazy_src_put(src);	/* the slots hold it now */
	return ret;
}

/* ---- the whole ---- */

/* Read and check: everything (eager), or what a lazy restore checks now. */
static int check_stream(struct gm_vm *vm, struct reader *r, const uint8_t *key, struct parsed *p,
			bool lazy)
{
	int ret = read_index(r, key, p);

	if (!ret)
		ret = check_layout(vm, p);
	if (!ret)
		ret = for_pages(r, p, lazy, check_page, r);
	if (!ret)
		ret = check_trailer(r, p, !lazy);
	return ret;
}

static int apply(struct gm_vm *vm, struct reader *r, struct parsed *p, bool lazy)
{
	struct apply_ctx a = { .vm = vm, .r = r };
	int ret = 0;

	for (uint32_t i = 0; i < p->head.nr_slots && !ret; i++)
		ret = gm_slot_aliases(vm, p->slots[i].s) ?: apply_attrs(vm, &p->slots[i]) ?:
		      apply_zero(&p->slots[i]);
	if (!ret)
		ret = for_pages(r, p, lazy, apply_page, &a);
	for (uint32_t i = 0; i < p->head.nr_slots && !ret && !lazy; i++)
		ret = let_in_private(vm, &p->slots[i]);
	if (!ret && lazy)
		ret = apply_lazy(vm, r, p);
	return ret ?: apply_vcpus(vm, p);
}

static int give_app(const struct parsed *p, void *app, size_t *app_len)
{
	if (!app_len)
		return 0;
	if (*app_len < p->head.app_len) {
		*app_len = p->head.app_len;
		return -ENOBUFS;
	}
	if (p->head.app_len)
		memcpy(app, p->app, p->head.app_len);
	*app_len = p->head.app_len;
	return 0;
}

static int restore_locked(struct gm_vm *vm, int fd, const uint8_t *key, bool lazy, void *app,
			  size_t *app_len, struct parsed *p)
{
	struct reader r;
	int copy = -1, ret;

	ret = check_vm(vm);
	if (ret)
		return ret;
	ret = r_init(&r, fd, &vm->stats.restore_bytes_read);
	if (ret == -ESPIPE && !lazy) {
		copy = copy_stream(fd);
		ret = copy < 0 ? copy : r_init(&r, copy, &vm->stats.restore_bytes_read);
	}
	if (!ret)
		ret = check_stream(vm, &r, key, p, lazy);
	if (!ret)
		ret = give_app(p, app, app_len);
	if (!ret)
		ret = apply(vm, &r, p, lazy);
	snap_crypto_wipe(&r.c);
	if (copy >= 0)
		close(copy);
	return ret;
}

int gm_vm_restore(struct gm_vm *vm, int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE],
		  unsigned int flags, void *app, size_t *app_len)
{
	struct parsed *p;
	int ret;

	if (!vm || !key || (app && !app_len))
		return -EFAULT;
	if (fd < 0 || (flags & ~GM_RESTORE_LAZY))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	ret = restore_locked(vm, fd, key, flags & GM_RESTORE_LAZY, app, app_len, p);
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	parsed_free(p);
	free(p);
	return ret;
}

int gm_snapshot_app(int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE], void *app, size_t *app_len)
{
	struct parsed *p;
	struct reader r;
	int ret;

	if (!key || !app_len || (!app && *app_len))
		return -EFAULT;
	if (fd < 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = r_init(&r, fd, NULL) ?: read_index(&r, key, p) ?: give_app(p, app, app_len);
	snap_crypto_wipe(&r.c);
	parsed_free(p);
	free(p);
	return ret;
}
