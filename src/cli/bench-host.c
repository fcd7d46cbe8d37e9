/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench, host-side: file operations with pages resident (allocate,
 * punch, truncate), lookups of populated pages (get_lock_pfn +
 * put_unlock_pfn, in order and at random, 1 and 2 threads), isolation (the
 * latency of allocating in one file while another of the same size is
 * truncated), frame metadata, and operations on sparse files.  The kernel's
 * path is a real memfd of the same size in the same run: fallocate(2),
 * ftruncate(2), and pread(2) of 8 bytes for a lookup (its page-cache
 * lookup plus a system call).
 *
 * Each round runs one side and then the other, freeing everything in
 * between, so that the largest size fits in memory once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"

#define LOOKUPS		2000000		/* per thread and round (--quick: a tenth) */
#define ISO_WINDOW	(256ULL << 20)	/* the allocating file uses at most this */
#define WARM_MAX	(1ULL << 30)

enum side { OURS, THEIRS, NR_SIDES };

/* A file of either side. */
struct hfile {
	bool kernel;
	int fd;					/* kernel: the memfd */
	struct gm_file *gm;			/* guestmem: a guest-only file */
	const struct gm_mem_ops *ops;		/* its provider, with this as owner */
};

static void no_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops quiet_ops = { .invalidate_page_range = no_invalidate };

static int hf_truncate(struct hfile *f, uint64_t len)
{
	if (f->kernel)
		return ftruncate(f->fd, (off_t)len) ? -errno : 0;
	return gm_ftruncate(f->gm, (off_t)len);
}

static int hf_alloc(struct hfile *f, uint64_t off, uint64_t len)
{
	if (f->kernel)
		return fallocate(f->fd, 0, (off_t)off, (off_t)len) ? -errno : 0;
	return gm_fallocate(f->gm, 0, (off_t)off, (off_t)len);
}

static int hf_punch(struct hfile *f, uint64_t off, uint64_t len)
{
	int mode = GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE;

	if (f->kernel)
		return fallocate(f->fd, mode, (off_t)off, (off_t)len) ? -errno : 0;
	return gm_fallocate(f->gm, mode, (off_t)off, (off_t)len);
}

static void hf_close(struct hfile *f)
{
	if (f->kernel) {
		if (f->fd >= 0)
			close(f->fd);
		return;
	}
	if (f->ops)
		gm_unregister_guest(f->gm, f);
	gm_file_put(f->gm);
}

/* A file of @size bytes, no page allocated; guestmem's has a guest (@f itself). */
static int hf_open(struct hfile *f, bool kernel, uint64_t size)
{
	int ret;

	*f = (struct hfile){ .kernel = kernel, .fd = -1 };
	if (kernel) {
		f->fd = memfd_create("guestmem-bench", MFD_CLOEXEC);
		ret = f->fd < 0 ? -errno : hf_truncate(f, size);
	} else {
		ret = gm_memfd_create("guestmem-bench", GM_MFD_GUEST, &f->gm) ?:
		      gm_ftruncate(f->gm, (off_t)size) ?:
		      gm_register_guest(f->gm, f, &quiet_ops, &f->ops);
	}
	if (ret)
		hf_close(f);
	return ret;
}

static double ns_per_page(double start, uint64_t size)
{
	return (gm_clock_now() - start) / (double)(size / GM_PAGE_SIZE) * 1e9;
}

/* ---- lookups ---- */

/* One a thread, each in cache lines of its own: a shared line would be the measure. */
struct lookup_job {
	_Alignas(64) struct hfile *f;
	uint64_t pages, first, ops;
	uint64_t span;				/* in order: pages [first, first + span) */
	uint64_t seed;				/* 0: in order from @first */
	double seconds;
	int err;
};

/* The next of a xorshift64* sequence, and an index below @n from it. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

static int lookup_one(struct hfile *f, uint64_t index)
{
	gm_pfn_t pfn;
	uint64_t v;
	int ret;

	if (f->kernel)
		return pread(f->fd, &v, sizeof(v), (off_t)(index * GM_PAGE_SIZE)) == sizeof(v) ?
		       0 : -EIO;
	ret = f->ops->get_lock_pfn(f->gm, index, &pfn, NULL);
	if (!ret)
		f->ops->put_unlock_pfn(pfn);
	return ret;
}

static void *lookup_loop(void *arg)
{
	struct lookup_job *j = arg;
	uint64_t x = j->seed, index = j->first;
	double start = gm_clock_now();
	int err = 0;

	for (uint64_t i = 0; i < j->ops && !err; i++) {
		if (x) {
			index = below(next_random(&x), j->pages);
		} else if (++index == j->first + j->span) {
			index = j->first;
		}
		err = lookup_one(j->f, index);
	}
	j->seconds = gm_clock_now() - start;
	j->err = err;
	return NULL;
}

/* Nanoseconds per lookup and thread, with @threads (1 or 2) threads. */
static int lookups(const struct bench *b, struct hfile *f, uint64_t pages, bool random,
		   int threads, double *ns)
{
	struct lookup_job jobs[2];
	uint64_t ops = b->o.quick ? LOOKUPS / 10 : LOOKUPS;
	pthread_t t[2];
	double sum = 0;
	int err = 0;

	for (int i = 0; i < threads; i++) {
		/*
		 * In order, each thread walks its own share of the pages, as
		 * vCPUs fault their own: two threads sweeping the same pages
		 * fall into step and fight over each cache line of metadata
		 * (the kernel's page cache the same), which measures that
		 * convoy rather than the lookups.
		 */
		jobs[i] = (struct lookup_job){ .f = f, .pages = pages, .ops = ops,
					       .first = (uint64_t)i * pages / threads,
					       .span = pages / threads,
					       .seed = random ? 0x9E3779B97F4A7C15ULL * (i + 1) : 0 };
		if (pthread_create(&t[i], NULL, lookup_loop, &jobs[i])) {
			threads = i;
			err = -EAGAIN;
		}
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		err = err ?: jobs[i].err;
		sum += jobs[i].seconds;
	}
	*ns = sum / threads / (double)ops * 1e9;
	return err;
}

/* ---- isolation ---- */

struct allocator {
	struct hfile a;
	uint64_t window;			/* pages it cycles through */
	_Atomic bool stop;
	_Atomic bool watching;			/* the other file is being truncated */
	_Atomic uint64_t done, seen;		/* allocations; those the truncate overlapped */
	double worst;				/* seconds, of those seen */
	int err;
};

static void *allocator_loop(void *arg)
{
	struct allocator *al = arg;
	uint64_t i = 0;
	bool watched;
	double start, took;

	while (!atomic_load(&al->stop) && !al->err) {
		if (i == al->window) {
			al->err = hf_punch(&al->a, 0, al->window * GM_PAGE_SIZE);
			i = 0;
			continue;
		}
		watched = atomic_load(&al->watching);
		start = gm_clock_now();
		al->err = hf_alloc(&al->a, i++ * GM_PAGE_SIZE, GM_PAGE_SIZE);
		took = gm_clock_now() - start;
		if (watched || atomic_load(&al->watching)) {
			al->worst = took > al->worst ? took : al->worst;
			atomic_fetch_add(&al->seen, 1);
		}
		atomic_fetch_add(&al->done, 1);
	}
	return NULL;
}

/*
 * Truncate @f (resident, @size bytes) to 0 while another thread allocates
 * pages one at a time in a second file of the same size: the worst
 * latency of an allocation that overlapped the truncate, in microseconds.
 */
static int isolation(struct hfile *f, uint64_t size, double *worst_us)
{
	struct allocator *al = calloc(1, sizeof(*al));
	pthread_t t;
	int ret;

	if (!al)
		return -ENOMEM;
	al->window = (size < ISO_WINDOW ? size : ISO_WINDOW) / GM_PAGE_SIZE;
	ret = hf_open(&al->a, f->kernel, size);
	if (ret)
		goto out_free;
	ret = -pthread_create(&t, NULL, allocator_loop, al);
	if (ret)
		goto out_close;
	while (atomic_load(&al->done) < 64 && !al->err)
		sched_yield();			/* running on its core */
	atomic_store(&al->watching, true);
	ret = hf_truncate(f, 0);
	while (!atomic_load(&al->seen) && !al->err)
		sched_yield();			/* at least one overlapped */
	atomic_store(&al->watching, false);
	atomic_store(&al->stop, true);
	pthread_join(t, NULL);
	ret = ret ?: al->err;
	*worst_us = al->worst * 1e6;
out_close:
	hf_close(&al->a);
out_free:
	free(al);
	return ret;
}

/* ---- a round of one side ---- */

enum figure {
	F_ALLOC, F_PUNCH, F_TRUNC, F_SEQ, F_RAND, F_SEQ2, F_RAND2, F_STALL, F_META, NR_FIGURES
};

static const struct bench_row host_rows[NR_FIGURES] = {
	[F_ALLOC] = BENCH_ROW("alloc", "allocate all pages (fallocate)", "ns/page",
		      "kernel memfd, fallocate", true),
	[F_PUNCH] = BENCH_ROW("punch", "punch all pages, resident", "ns/page",
		      "kernel memfd, fallocate(PUNCH_HOLE)", true),
	[F_TRUNC] = BENCH_ROW("truncate", "truncate to 0, all pages resident", "ns/page",
		      "kernel memfd, ftruncate", true),
	[F_SEQ] = BENCH_ROW("lookup_seq", "get_lock_pfn + put_unlock_pfn, in order, 1 thread", "ns",
		    "pread of 8 bytes, kernel memfd", true),
	[F_RAND] = BENCH_ROW("lookup_random", "get_lock_pfn + put_unlock_pfn, random, 1 thread", "ns",
		     "pread of 8 bytes, kernel memfd", true),
	[F_SEQ2] = BENCH_ROW("lookup_seq_2t", "lookups in order: 2 threads' throughput / 1's", "x",
		     "pread of 8 bytes, kernel memfd", false),
	[F_RAND2] = BENCH_ROW("lookup_random_2t", "lookups at random: 2 threads' throughput / 1's", "x",
		      "pread of 8 bytes, kernel memfd", false),
	[F_STALL] = BENCH_ROW("stall", "worst allocation latency while another file is truncated",
		      "us", "two kernel memfds", false),
	[F_META] = BENCH_ROW("metadata",
			     "frame metadata per 4 KiB page held (the kernel: a 64-byte struct page)",
			     "B/page", NULL, false),
};

static int lookup_figures(const struct bench *b, struct hfile *f, uint64_t pages, double *v)
{
	double seq2, rand2;
	int ret;

	ret = lookups(b, f, pages, false, 1, &v[F_SEQ]) ?:
	      lookups(b, f, pages, true, 1, &v[F_RAND]) ?:
	      lookups(b, f, pages, false, 2, &seq2) ?:
	      lookups(b, f, pages, true, 2, &rand2);
	v[F_SEQ2] = 2 * v[F_SEQ] / seq2;
	v[F_RAND2] = 2 * v[F_RAND] / rand2;
	return ret;
}

/* Every figure of one side over @size bytes into @v[NR_FIGURES]. */
static int host_round(const struct bench *b, bool kernel, uint64_t size, double *v)
{
	struct hfile f;
	double t;
	int ret;

	ret = hf_open(&f, kernel, size);
	if (ret)
		return ret;
	t = gm_clock_now();
	ret = hf_alloc(&f, 0, size);
	v[F_ALLOC] = ns_per_page(t, size);
	v[F_META] = kernel ? 0 : (double)gm_frames_meta_bytes() / (double)gm_file_pages_held(f.gm);
	ret = ret ?: lookup_figures(b, &f, size / GM_PAGE_SIZE, v);
	t = gm_clock_now();
	ret = ret ?: hf_punch(&f, 0, size);
	v[F_PUNCH] = ns_per_page(t, size);
	ret = ret ?: hf_alloc(&f, 0, size);
	t = gm_clock_now();
	ret = ret ?: hf_truncate(&f, 0);
	v[F_TRUNC] = ns_per_page(t, size);
	ret = ret ?: hf_truncate(&f, size) ?: hf_alloc(&f, 0, size) ?:
	      isolation(&f, size, &v[F_STALL]);
	hf_close(&f);
	return ret;
}

static int host_size(struct bench *b, uint64_t size)
{
	double v[NR_SIDES][NR_FIGURES], s[NR_FIGURES][NR_SIDES][BENCH_MAX_ROUNDS];
	int rounds = bench_rounds(b, size), ret = 0;

	for (int i = -1; i < rounds; i++) {
		uint64_t at = i < 0 && size > WARM_MAX ? WARM_MAX : size;

		for (int side = 0; side < NR_SIDES; side++) {
			ret = host_round(b, side == THEIRS, at, v[side]);
			if (ret)
				return bench_fail(b, ret, "host file operations over %llu MiB, %s: %s",
						  (unsigned long long)(at >> 20),
						  side == THEIRS ? "kernel memfd" : "guestmem",
						  strerror(-ret));
			for (int k = 0; k < NR_FIGURES && i >= 0; k++)
				s[k][side][i] = v[side][k];
		}
	}
	for (int k = 0; k < NR_FIGURES && !ret; k++)
		ret = bench_add(b, &host_rows[k], size, s[k][OURS],
				host_rows[k].ref ? s[k][THEIRS] : NULL, rounds);
	return ret;
}

/* ---- sparse files ---- */

static const struct bench_row sparse_rows[] = {
	BENCH_ROW("sparse_truncate", "grow an empty file to the size and truncate it to 0", "ns/page",
	  "kernel memfd, ftruncate", true),
	BENCH_ROW("sparse_punch", "punch all of an empty file", "ns/page",
	  "kernel memfd, fallocate(PUNCH_HOLE)", true),
};

static int sparse_round(bool kernel, uint64_t size, double *grow, double *punch)
{
	struct hfile f;
	double t;
	int ret;

	ret = hf_open(&f, kernel, 0);
	if (ret)
		return ret;
	t = gm_clock_now();
	ret = hf_truncate(&f, size) ?: hf_truncate(&f, 0);
	*grow = ns_per_page(t, size);
	ret = ret ?: hf_truncate(&f, size);
	t = gm_clock_now();
	ret = ret ?: hf_punch(&f, 0, size);
	*punch = ns_per_page(t, size);
	hf_close(&f);
	return ret;
}

static int sparse_size(struct bench *b, uint64_t size)
{
	double grow[NR_SIDES][BENCH_MAX_ROUNDS], punch[NR_SIDES][BENCH_MAX_ROUNDS], g, p;
	int rounds = bench_rounds(b, 0), ret;

	for (int i = -1; i < rounds; i++)
		for (int side = 0; side < NR_SIDES; side++) {
			ret = sparse_round(side == THEIRS, size, &g, &p);
			if (ret)
				return bench_fail(b, ret, "sparse file over %llu MiB: %s",
						  (unsigned long long)(size >> 20), strerror(-ret));
			if (i >= 0) {
				grow[side][i] = g;
				punch[side][i] = p;
			}
		}
	return bench_add(b, &sparse_rows[0], size, grow[OURS], grow[THEIRS], rounds) ?:
	       bench_add(b, &sparse_rows[1], size, punch[OURS], punch[THEIRS], rounds);
}

int bench_host(struct bench *b)
{
	int ret = 0;

	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = host_size(b, b->o.sizes[i]);
	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = sparse_size(b, b->o.sizes[i]);
	if (!ret && b->o.sparse_size)
		ret = sparse_size(b, b->o.sparse_size);
	return ret;
}
