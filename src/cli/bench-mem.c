/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench, memory held: the process's RSS after a long punch and
 * refault churn against before it (metadata of released frames must be
 * given back or reused), with the same churn on a kernel memfd beside it,
 * and the cost of invalidation with many unrelated owners registered
 * (DESIGN.md §3), against none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"

#define CHURN_MAX	(1ULL << 30)	/* the churned file's size, at most */
#define CHURN_OPS	10000		/* punch + refault cycles (--quick: a tenth) */
#define CHURN_ORDERS	11		/* runs of 1 to 1024 pages */
#define OTHER_OWNERS	10000
#define PUNCHES		2000

enum side { OURS, THEIRS, NR_SIDES };

static void no_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops quiet_ops = { .invalidate_page_range = no_invalidate };

/* Resident bytes of the process (/proc/self/statm), or -1. */
static double rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

/* ---- churn ---- */

struct churn_file {
	int fd;					/* kernel */
	struct gm_file *gm;			/* guestmem */
	const struct gm_mem_ops *ops;
};

/* Bring pages [first, first + n) back: guestmem through the fault path's get_lock_pfn. */
static int refault(struct churn_file *c, uint64_t first, uint64_t n)
{
	gm_pfn_t pfn;
	int ret = 0;

	if (!c->gm)
		return fallocate(c->fd, 0, (off_t)(first * GM_PAGE_SIZE),
				 (off_t)(n * GM_PAGE_SIZE)) ? -errno : 0;
	for (uint64_t i = first; i < first + n && !ret; i++) {
		ret = c->ops->get_lock_pfn(c->gm, i, &pfn, NULL);
		if (!ret)
			c->ops->put_unlock_pfn(pfn);
	}
	return ret;
}

static int punch(struct churn_file *c, uint64_t first, uint64_t n)
{
	int mode = GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE;
	off_t off = (off_t)(first * GM_PAGE_SIZE), len = (off_t)(n * GM_PAGE_SIZE);

	if (!c->gm)
		return fallocate(c->fd, mode, off, len) ? -errno : 0;
	return gm_fallocate(c->gm, mode, off, len);
}

static int churn_open(struct churn_file *c, bool kernel, uint64_t size)
{
	*c = (struct churn_file){ .fd = -1 };
	if (kernel) {
		c->fd = memfd_create("guestmem-bench-churn", MFD_CLOEXEC);
		return c->fd < 0 ? -errno : ftruncate(c->fd, (off_t)size) ? -errno : 0;
	}
	return gm_memfd_create("guestmem-bench-churn", GM_MFD_GUEST, &c->gm) ?:
	       gm_ftruncate(c->gm, (off_t)size) ?:
	       gm_register_guest(c->gm, c, &quiet_ops, &c->ops);
}

static void churn_close(struct churn_file *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->ops)
		gm_unregister_guest(c->gm, c);
	gm_file_put(c->gm);
}

/*
 * Populate a file of @size bytes, then punch runs of 1 to 1024 pages at
 * random and fault them back @ops times: the RSS growth in percent, and
 * guestmem's metadata bytes per page held after it.
 */
static int churn_round(bool kernel, uint64_t size, uint64_t ops, double *growth, double *meta)
{
	uint64_t pages = size / GM_PAGE_SIZE, x = 0x2545F4914F6CDD1DULL, n, first;
	struct churn_file c;
	double before;
	int ret;

	ret = churn_open(&c, kernel, size) ?: refault(&c, 0, pages);
	before = rss_bytes();
	for (uint64_t i = 0; i < ops && !ret; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		n = 1ULL << ((x >> 33) % CHURN_ORDERS);
		n = n < pages ? n : pages;
		first = (x >> 13) % (pages - n + 1);
		ret = punch(&c, first, n) ?: refault(&c, first, n);
	}
	*growth = (rss_bytes() / before - 1) * 100;
	*meta = kernel ? 0 : (double)gm_frames_meta_bytes() / (double)gm_file_pages_held(c.gm);
	churn_close(&c);
	return ret;
}

static const struct bench_row churn_rows[] = {
	BENCH_ROW("churn_rss_growth", "process RSS after a punch/refault churn over before it",
	  "%", "the same churn on a kernel memfd", false),
	BENCH_ROW("metadata_after_churn", "frame metadata per 4 KiB page held, after the churn",
	  "B/page", NULL, false),
};

static int churn(struct bench *b)
{
	double growth[NR_SIDES][BENCH_MAX_ROUNDS], meta[NR_SIDES][BENCH_MAX_ROUNDS], g, m;
	uint64_t size = b->o.mem < CHURN_MAX ? b->o.mem : CHURN_MAX;
	uint64_t ops = b->o.quick ? CHURN_OPS / 10 : CHURN_OPS;
	int rounds = bench_rounds(b, 0), ret;

	for (int i = -1; i < rounds; i++)
		for (int side = 0; side < NR_SIDES; side++) {
			ret = churn_round(side == THEIRS, size, ops, &g, &m);
			if (ret)
				return bench_fail(b, ret, "churn over %llu MiB: %s",
						  (unsigned long long)(size >> 20), strerror(-ret));
			if (i >= 0) {
				growth[side][i] = g;
				meta[side][i] = m;
			}
		}
	return bench_add(b, &churn_rows[0], size, growth[OURS], growth[THEIRS], rounds) ?:
	       bench_add(b, &churn_rows[1], size, meta[OURS], NULL, rounds);
}

/* ---- invalidation with many owners ---- */

/* Punch one page of @file and fault it back, PUNCHES times: microseconds per cycle. */
static int punch_refault(struct gm_file *file, const struct gm_mem_ops *ops, double *us)
{
	double start = gm_clock_now();
	gm_pfn_t pfn;
	int ret = 0;

	for (int i = 0; i < PUNCHES && !ret; i++) {
		ret = ops->get_lock_pfn(file, 0, &pfn, NULL);
		if (ret)
			break;
		ops->put_unlock_pfn(pfn);
		ret = gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, 0, GM_PAGE_SIZE);
	}
	*us = (gm_clock_now() - start) / PUNCHES * 1e6;
	return ret;
}

static void unregister_others(struct gm_file **files, int *owners, int n)
{
	for (int i = 0; i < n; i++) {
		gm_unregister_guest(files[i], &owners[i]);
		gm_file_put(files[i]);
	}
}

/* Register @n owners on files of their own; all or none. */
static int register_others(struct gm_file **files, int *owners, int n)
{
	const struct gm_mem_ops *ops;
	int ret = 0, i;

	for (i = 0; i < n; i++) {
		ret = gm_memfd_create("guestmem-bench-other", GM_MFD_GUEST, &files[i]);
		if (ret)
			break;
		ret = gm_register_guest(files[i], &owners[i], &quiet_ops, &ops);
		if (ret) {
			gm_file_put(files[i]);
			break;
		}
	}
	if (ret)
		unregister_others(files, owners, i);
	return ret;
}

static const struct bench_row invalidate_row =
	BENCH_ROW("invalidate_10000", "punch + refault of a page, 10,000 other owners registered",
		  "us", "no other owners", false);

static int invalidate_rounds(struct gm_file *file, const struct gm_mem_ops *ops, int rounds,
			     double *us)
{
	double ignored;
	int ret = punch_refault(file, ops, &ignored);	/* the warm-up */

	for (int i = 0; i < rounds && !ret; i++)
		ret = punch_refault(file, ops, &us[i]);
	return ret;
}

static int invalidate(struct bench *b)
{
	struct gm_file **others = calloc(OTHER_OWNERS, sizeof(*others)), *file = NULL;
	int *owners = calloc(OTHER_OWNERS, sizeof(*owners)), owner, ret;
	double none[BENCH_MAX_ROUNDS], many[BENCH_MAX_ROUNDS];
	int rounds = bench_rounds(b, 0);
	const struct gm_mem_ops *ops;

	ret = !others || !owners ? -ENOMEM :
	      gm_memfd_create("guestmem-bench-inval", GM_MFD_GUEST, &file);
	if (ret)
		goto out;
	ret = gm_ftruncate(file, GM_PAGE_SIZE) ?: gm_register_guest(file, &owner, &quiet_ops, &ops);
	if (ret)
		goto out;
	ret = invalidate_rounds(file, ops, rounds, none);
	if (!ret) {
		ret = register_others(others, owners, OTHER_OWNERS);
		if (!ret) {
			ret = invalidate_rounds(file, ops, rounds, many);
			unregister_others(others, owners, OTHER_OWNERS);
		}
	}
	gm_unregister_guest(file, &owner);
	ret = ret ?: bench_add(b, &invalidate_row, 0, many, none, rounds);
out:
	gm_file_put(file);
	free(others);
	free(owners);
	return ret ? bench_fail(b, ret, "invalidation with %d owners: %s", OTHER_OWNERS,
				strerror(-ret)) : 0;
}

int bench_mem(struct bench *b)
{
	return churn(b) ?: invalidate(b);
}
