/* SPDX-License-Identifier: MIT */
/*
 * Lazy restore: the pages of private-capable slots come from the snapshot's
 * stream when first reached, through the slot's hook (vm/slot-hook.h): the
 * fault path calls it before it lets a range in (the prefault thread's
 * ranges come the same way), and so do the host's reads and writes of
 * shared memory (vm/attr.c).
 *
 * A fill claims each page (PENDING -> FILLING, see snapshot.h), reads the
 * records of a run of claimed pages in one read, checks each against the
 * index and opens it: a private page straight into the slot's private
 * alias once get_lock_pfn has made it present and pinned it (libsodium
 * writes nothing there unless the tag checks), a shared page into the
 * shared file under mmu_lock (in place, as a private page: the file's
 * alias is the shared one too).  No lock is held across the reads, and no
 * pin across get_lock_pfn, so a punch waiting for pins never waits for a
 * fill.  A page that fails to open stops the run with -EBADMSG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"

#define RUN_PAGES	64	/* records read at once */

void gm_lazy_src_put(struct gm_lazy_src *src)
{
	if (!src || atomic_fetch_sub(&src->refs, 1) != 1)
		return;
	close(src->fd);
	snap_crypto_wipe(&src->crypto);
	free(src);
}

static struct gm_lazy_slot *lazy_of(struct gm_slot *s)
{
	return s->mm->hook == &gm_lazy_hook ? s->mm->hook_data : NULL;
}

static void lazy_release(struct gm_slot *s)
{
	struct gm_lazy_slot *l = lazy_of(s);

	if (!l)
		return;
	gm_lazy_src_put(l->src);
	free(l->data);
	free(l->rank);
	free((void *)l->state);
	free(l);
	s->mm->hook = NULL;
	s->mm->hook_data = NULL;
}

/* The PAGE record of data page @p, from 0. */
static uint64_t rank_of(const struct gm_lazy_slot *l, uint64_t p)
{
	uint64_t below = l->data[p / 64] & ((1ULL << (p % 64)) - 1);

	return l->rank[p / 64] + (uint64_t)__builtin_popcountll(below);
}

/* FILLING or FORGOTTEN -> DONE: the page may be let in. */
static void finish(struct gm_lazy_slot *l, uint64_t p)
{
	atomic_store(&l->state[p], LAZY_DONE);
}

/* Was the page forgotten while it was being filled? */
static bool forgotten(struct gm_lazy_slot *l, uint64_t p)
{
	return atomic_load(&l->state[p]) == LAZY_FORGOTTEN;
}

/* A private page: pinned, opened into the alias unless it was forgotten meanwhile. */
static int fill_private(struct gm_slot *s, struct gm_lazy_slot *l, uint64_t p,
			const struct snap_rec *rec, const uint8_t *sealed)
{
	uint64_t index = (s->desc.private_offset >> GM_PAGE_SHIFT) + p;
	unsigned int order = GM_HUGE_2M_ORDER;	/* as the fault path would ask */
	gm_pfn_t pfn;
	int ret;

	ret = s->mm->mem_ops->get_lock_pfn(s->desc.private_file, index, &pfn, &order);
	if (ret == -EAGAIN)
		return 0;	/* being freed: it reads zero, as a punched page does */
	if (ret)
		return ret;
	/*
	 * Forgotten before the pin: a conversion or punch is over, and the page
	 * must read zero.  Forgotten after: the punch waits for our pin, and
	 * takes what we write.
	 */
	if (!forgotten(l, p))
		ret = snap_open(&l->src->crypto, rec, sealed,
				s->mm->private_alias.addr + (p << GM_PAGE_SHIFT), false);
	s->mm->mem_ops->put_unlock_pfn(pfn);
	return ret;
}

/* A shared page: written under mmu_lock, which a conversion takes to forget it. */
static int fill_shared(struct gm_vm *vm, struct gm_slot *s, struct gm_lazy_slot *l, uint64_t p,
		       const struct snap_rec *rec, const uint8_t *sealed, uint8_t *plain)
{
	int ret = snap_open(&l->src->crypto, rec, sealed, plain, false);

	if (ret)
		return ret;
	gm_mutex_lock(&vm->mmu_lock, GM_LOCK_MMU);
	if (!forgotten(l, p))
		memcpy(s->mm->shared_alias + (p << GM_PAGE_SHIFT), plain, GM_PAGE_SIZE);
	gm_mutex_unlock(&vm->mmu_lock, GM_LOCK_MMU);
	return 0;
}

static int read_records(struct gm_lazy_src *src, uint64_t rank, uint8_t *buf, size_t len)
{
	uint64_t off = src->base + src->pages_off + rank * SNAP_PAGE_REC;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(src->fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		done += (size_t)n;
	}
	gm_stat_add(&src->vm->stats.restore_bytes_read, len);
	return 0;
}

/* Fill claimed pages [p, end) of @s, whose records follow one another. */
static void fill_run(struct gm_vm *vm, struct gm_slot *s, struct gm_lazy_slot *l, uint64_t p,
		     uint64_t end, bool private, uint8_t *buf, uint8_t *plain)
{
	uint64_t rank = rank_of(l, p), n = end - p;
	int ret = read_records(l->src, rank, buf, n * SNAP_PAGE_REC);

	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *at = buf + i * SNAP_PAGE_REC;
		struct snap_rec rec;

		if (!ret) {
			memcpy(&rec, at, sizeof(rec));
			if (rec.kind != SNAP_PAGE || rec.slot != l->slot || rec.index != p + i ||
			    rec.len != GM_PAGE_SIZE + SNAP_TAG ||
			    rec.recno != l->src->page_recno + rank + i)
				ret = -EBADMSG;
		}
		if (!ret)
			/* In place, a shared page is the file's too: as a private one. */
			ret = private || s->mm->in_place ?
			      fill_private(s, l, p + i, &rec, at + sizeof(rec)) :
			      fill_shared(vm, s, l, p + i, &rec, at + sizeof(rec), plain);
		if (!ret)
			gm_stat_add(&vm->stats.restore_pages, 1);
		/* A page that failed reads zero; the run stops (below). */
		finish(l, p + i);
	}
	if (ret)
		gm_vm_fail(vm, ret);
}

/* Claim page @p for filling. */
static bool claim(struct gm_lazy_slot *l, uint64_t p)
{
	uint8_t want = LAZY_PENDING;

	return atomic_compare_exchange_strong(&l->state[p], &want, LAZY_FILLING);
}

static void lazy_fill(struct gm_vm *vm, struct gm_slot *s, uint64_t first, uint64_t n,
		      bool private)
{
	struct gm_lazy_slot *l = lazy_of(s);
	uint64_t end = first + n, q;
	uint8_t *buf = NULL, plain[GM_PAGE_SIZE];

	if (!l)
		return;
	if (end > l->nr_pages)
		end = l->nr_pages;
	for (uint64_t p = first; p < end; p = q) {
		q = p + 1;
		if (atomic_load(&l->state[p]) != LAZY_PENDING ||
		    gm_slot_page_private(s, p) != private || !claim(l, p))
			continue;
		while (q < end && q - p < RUN_PAGES && gm_slot_page_private(s, q) == private &&
		       claim(l, q))
			q++;
		if (!buf)
			buf = malloc(RUN_PAGES * SNAP_PAGE_REC);
		if (!buf) {
			for (uint64_t i = p; i < q; i++)
				finish(l, i);
			gm_vm_fail(vm, -ENOMEM);
			continue;
		}
		fill_run(vm, s, l, p, q, private, buf, plain);
	}
	sodium_memzero(plain, sizeof(plain));
	free(buf);
}

static bool lazy_busy(struct gm_slot *s, uint64_t first, uint64_t n)
{
	struct gm_lazy_slot *l = lazy_of(s);

	if (!l)
		return false;
	for (uint64_t p = first; p < first + n && p < l->nr_pages; p++) {
		uint8_t st = atomic_load(&l->state[p]);

		if (st == LAZY_FILLING || st == LAZY_FORGOTTEN)
			return true;
	}
	return false;
}

static void lazy_forget(struct gm_slot *s, uint64_t first, uint64_t n)
{
	struct gm_lazy_slot *l = lazy_of(s);

	if (!l)
		return;
	for (uint64_t p = first; p < first + n && p < l->nr_pages; p++) {
		uint8_t st = LAZY_PENDING;

		if (!atomic_compare_exchange_strong(&l->state[p], &st, LAZY_DONE) &&
		    st == LAZY_FILLING)
			atomic_compare_exchange_strong(&l->state[p], &st, LAZY_FORGOTTEN);
	}
}

const struct gm_slot_hook gm_lazy_hook = {
	.fill = lazy_fill,
	.busy = lazy_busy,
	.forget = lazy_forget,
	.release = lazy_release,
};

/* The next page of @s still owed, from @p, or nr_pages. */
static uint64_t next_pending(struct gm_lazy_slot *l, uint64_t p)
{
	while (p < l->nr_pages && atomic_load(&l->state[p]) == LAZY_DONE)
		p++;
	return p;
}

int gm_lazy_bring_all(struct gm_vm *vm)
{
	int err;

	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS; i++) {
		struct gm_slot *s = &vm->slots[i];
		struct gm_exit exit;
		uint64_t p = 0;
		int ret;

		struct gm_lazy_slot *l = s->used ? lazy_of(s) : NULL;

		if (!l)
			continue;
		while ((p = next_pending(l, p)) < s->nr_pages) {
			struct gm_access acc = { .gpa = s->desc.gpa + (p << GM_PAGE_SHIFT), .len = 1 };

			if (!gm_slot_page_private(s, p))
				acc.gpa |= GM_GUEST_SHARED_BIT;
			ret = gm_vm_handle_fault(vm, NULL, &acc, &exit);
			if (ret)
				return ret < 0 ? ret : -EIO;
			if (atomic_load(&l->state[p]) != LAZY_DONE)
				return -EIO;	/* let in without its record: cannot be */
			p++;
		}
	}
	err = atomic_load(&vm->fail_error);
	return err;
}
