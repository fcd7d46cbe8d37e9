/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench: DESIGN.md §3's targets, each measured in this run, with
 * the kernel's own path beside it where there is one.  Machines here are
 * noisy: every figure is the median of several rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/runner.h"

#define CMD		"bench"
#define ROUNDS		5
#define LOCK_PAGES	1024
#define LOCK_OPS	4000000
#define OTHER_OWNERS	10000
#define PUNCHES		2000

struct bench_opts {
	bool json;
	enum gm_engine_kind engine;
	uint64_t mem;
};

void gm_cmd_bench_usage(FILE *out)
{
	fputs("usage: guestmem bench [--engine kvm|emu|auto] [--mem SIZE] [--json]\n"
	      "  lock         get_lock_pfn + put_unlock_pfn of a populated page, 1 and 2 threads\n"
	      "  invalidate   punch + invalidate with 10,000 other owners registered vs none\n"
	      "  first-touch  a guest touching all RAM: guestmem private memory vs the kernel's\n"
	      "               own memfd-backed memslot (default --mem 64M)\n"
	      "  retouch      the host punches all RAM under the guest, which touches it again\n"
	      "  metadata     bytes of frame metadata per 4 KiB frame\n", out);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ---- lock ---- */

static void no_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops quiet_ops = { .invalidate_page_range = no_invalidate };

struct lock_job {
	struct gm_file *file;
	const struct gm_mem_ops *ops;
	uint64_t first;
	double seconds;
};

static void *lock_loop(void *arg)
{
	struct lock_job *j = arg;
	double start = now();
	gm_pfn_t pfn;

	for (uint64_t i = 0; i < LOCK_OPS; i++) {
		if (j->ops->get_lock_pfn(j->file, j->first + (i % LOCK_PAGES), &pfn, NULL))
			return (void *)1;
		j->ops->put_unlock_pfn(pfn);
	}
	j->seconds = now() - start;
	return NULL;
}

/* Nanoseconds per operation with @threads threads, each on its own pages. */
static int lock_round(struct gm_file *file, const struct gm_mem_ops *ops, int threads,
		      double *ns)
{
	struct lock_job jobs[2];
	pthread_t t[2];
	double total = 0;
	void *bad = NULL, *r;

	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct lock_job){ file, ops, (uint64_t)i * LOCK_PAGES * 4, 0 };
		if (pthread_create(&t[i], NULL, lock_loop, &jobs[i]))
			return -EAGAIN;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], &r);
		bad = bad ? bad : r;
		total += jobs[i].seconds;
	}
	*ns = total / threads / LOCK_OPS * 1e9;
	return bad ? -EIO : 0;
}

/* Also measures the metadata bytes per page of the file it fills (@meta). */
static int bench_lock(double *ns1, double *ns2, double *meta)
{
	const struct gm_mem_ops *ops;
	double r1[ROUNDS], r2[ROUNDS];
	struct gm_file *file;
	int owner, ret;

	ret = gm_memfd_create("bench-lock", GM_MFD_GUEST, &file);
	if (ret)
		return ret;
	ret = gm_ftruncate(file, 8 * LOCK_PAGES * GM_PAGE_SIZE) ?:
	      gm_fallocate(file, 0, 0, 8 * LOCK_PAGES * GM_PAGE_SIZE) ?:
	      gm_register_guest(file, &owner, &quiet_ops, &ops);
	if (ret)
		goto out;
	*meta = (double)gm_frames_meta_bytes() / (double)gm_file_pages_held(file);
	for (int i = 0; i < ROUNDS && !ret; i++)
		ret = lock_round(file, ops, 1, &r1[i]) ?: lock_round(file, ops, 2, &r2[i]);
	gm_unregister_guest(file, &owner);
	*ns1 = median(r1, ROUNDS);
	*ns2 = median(r2, ROUNDS);
out:
	gm_file_put(file);
	return ret;
}

/* ---- invalidate ---- */

static int punch_refault(struct gm_file *file, const struct gm_mem_ops *ops, double *us)
{
	double start = now();
	gm_pfn_t pfn;
	int ret = 0;

	for (int i = 0; i < PUNCHES && !ret; i++) {
		ret = ops->get_lock_pfn(file, 0, &pfn, NULL);
		if (ret)
			break;
		ops->put_unlock_pfn(pfn);
		ret = gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, 0, GM_PAGE_SIZE);
	}
	*us = (now() - start) / PUNCHES * 1e6;
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
		ret = gm_memfd_create("bench-other", GM_MFD_GUEST, &files[i]);
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

static int bench_invalidate(double *us_none, double *us_many)
{
	struct gm_file **others = calloc(OTHER_OWNERS, sizeof(*others)), *file = NULL;
	int *owners = calloc(OTHER_OWNERS, sizeof(*owners)), owner, ret;
	double none[ROUNDS], many[ROUNDS];
	const struct gm_mem_ops *ops;

	ret = !others || !owners ? -ENOMEM : gm_memfd_create("bench-inval", GM_MFD_GUEST, &file);
	if (ret)
		goto out;
	ret = gm_ftruncate(file, GM_PAGE_SIZE) ?: gm_register_guest(file, &owner, &quiet_ops, &ops);
	if (ret)
		goto out;
	for (int i = 0; i < ROUNDS && !ret; i++)
		ret = punch_refault(file, ops, &none[i]);
	if (!ret)
		ret = register_others(others, owners, OTHER_OWNERS);
	for (int i = 0; i < ROUNDS && !ret; i++)
		ret = punch_refault(file, ops, &many[i]);
	if (!ret)
		unregister_others(others, owners, OTHER_OWNERS);
	gm_unregister_guest(file, &owner);
	*us_none = median(none, ROUNDS);
	*us_many = median(many, ROUNDS);
out:
	gm_file_put(file);
	free(others);
	free(owners);
	return ret;
}

/* ---- first touch ---- */

/*
 * One guest run: guestmem private memory, or (@kernel) a memslot on the
 * kernel's own memfd.  touch: the guest's time; retouch: from the host's
 * punch of all RAM to the end of the guest's second pass.
 */
static int guest_round(const struct bench_opts *o, const char *workload, bool kernel,
		       double *seconds, const char **engine)
{
	struct gm_run_config cfg = {
		.engine = o->engine, .store = GM_RUN_SHMEM, .mem = o->mem, .vcpus = 1,
		.workload = workload, .private = !kernel, .shared_only = kernel,
	};
	struct gm_run_result r;
	int ret = gm_run(&cfg, &r);

	if (ret)
		return ret;
	if (!r.pass)
		return -EIO;
	*seconds = strcmp(workload, "retouch") ? r.guest_seconds : r.retouch_seconds;
	*engine = r.engine;
	return 0;
}

static int bench_guest(const struct bench_opts *o, const char *workload, double *ours,
		       double *kernel, const char **engine)
{
	double a[ROUNDS], b[ROUNDS];
	int ret = 0;

	/* Alternate so that drift on a noisy machine hits both sides alike. */
	for (int i = 0; i < ROUNDS && !ret; i++)
		ret = guest_round(o, workload, true, &b[i], engine) ?:
		      guest_round(o, workload, false, &a[i], engine);
	if (ret)
		return ret;
	*ours = median(a, ROUNDS);
	*kernel = median(b, ROUNDS);
	return 0;
}

/* ---- output ---- */

struct figures {
	double lock1, lock2, inval_none, inval_many, touch_ours, touch_kernel;
	double retouch_ours, retouch_kernel, meta;
	const char *engine;
};

static void print_text(const struct bench_opts *o, const struct figures *f)
{
	printf("%-12s %-44s %12s %s\n", "bench", "measure", "value", "target");
	printf("%-12s %-44s %9.1f ns %s\n", "lock", "get_lock_pfn+put_unlock_pfn, 1 thread",
	       f->lock1, "<= 40 ns");
	printf("%-12s %-44s %11.2fx %s\n", "lock", "2 threads' throughput / 1 thread's",
	       2 * f->lock1 / f->lock2, ">= 1.8x");
	printf("%-12s %-44s %9.2f us\n", "invalidate", "punch + refault, no other owners",
	       f->inval_none);
	printf("%-12s %-44s %9.2f us\n", "invalidate", "punch + refault, 10,000 other owners",
	       f->inval_many);
	printf("%-12s %-44s %11.2fx %s\n", "invalidate", "ratio", f->inval_many / f->inval_none,
	       "<= 1.1x");
	printf("%-12s %-44s %10.3f s\n", "first-touch", "guestmem private memory", f->touch_ours);
	printf("%-12s %-44s %10.3f s\n", "first-touch", "kernel memfd memslot", f->touch_kernel);
	printf("%-12s %-44s %11.2fx %s\n", "first-touch", "ratio (engine and size below)",
	       f->touch_ours / f->touch_kernel, "<= 0.7x");
	printf("%-12s %-44s %10.3f s\n", "retouch", "punch all RAM + touch again, guestmem",
	       f->retouch_ours);
	printf("%-12s %-44s %10.3f s\n", "retouch", "punch all RAM + touch again, kernel memfd",
	       f->retouch_kernel);
	printf("%-12s %-44s %11.2fx %s\n", "retouch", "ratio", f->retouch_ours / f->retouch_kernel,
	       "<= 1.0x");
	printf("%-12s %-44s %9.1f B  %s\n", "metadata", "per 4 KiB frame held", f->meta,
	       "<= 16 B");
	printf("(first-touch, retouch: engine %s, %llu MiB, median of %d rounds)\n", f->engine,
	       (unsigned long long)(o->mem >> 20), ROUNDS);
}

static void print_json(const struct bench_opts *o, const struct figures *f)
{
	printf("{\"lock_ns\": %.2f, \"lock_ns_2threads\": %.2f, \"lock_scaling\": %.3f, "
	       "\"invalidate_us_none\": %.3f, \"invalidate_us_10000\": %.3f, "
	       "\"invalidate_ratio\": %.3f, \"touch_engine\": \"%s\", \"touch_mem\": %llu, "
	       "\"touch_s_guestmem\": %.4f, \"touch_s_kernel\": %.4f, \"touch_ratio\": %.3f, "
	       "\"retouch_s_guestmem\": %.4f, \"retouch_s_kernel\": %.4f, \"retouch_ratio\": %.3f, "
	       "\"metadata_bytes_per_frame\": %.2f}\n",
	       f->lock1, f->lock2, 2 * f->lock1 / f->lock2, f->inval_none, f->inval_many,
	       f->inval_many / f->inval_none, f->engine, (unsigned long long)o->mem,
	       f->touch_ours, f->touch_kernel, f->touch_ours / f->touch_kernel,
	       f->retouch_ours, f->retouch_kernel, f->retouch_ours / f->retouch_kernel,
	       f->meta);
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "mem", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (gm_run_parse_engine(optarg, &o->engine))
				goto bad_value;
			break;
		case 'm':
			o->mem = gm_run_parse_size(optarg);
			if (!o->mem)
				goto bad_value;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			gm_cmd_bench_usage(stdout);
			return 1;
		default:
			return gm_cli_bad_option(CMD, argv);
		}
	}
	if (optind == argc)
		return 0;
	gm_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
	return GM_EXIT_USAGE;
bad_value:
	gm_cli_error(CMD, "bad value '%s'", optarg);
	return GM_EXIT_USAGE;
}

int gm_cmd_bench(int argc, char **argv)
{
	struct bench_opts o = { .engine = GM_ENGINE_AUTO, .mem = 64ULL << 20 };
	struct gm_run_config probe = { .engine = GM_ENGINE_AUTO, .store = GM_RUN_SHMEM,
				       .vcpus = 1, .workload = "touch", .shared_only = true };
	struct figures f = { 0 };
	char why[256];
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret == 1 ? GM_EXIT_OK : ret;
	probe.engine = o.engine;
	probe.mem = o.mem;
	if (gm_run_check(&probe, why, sizeof(why))) {
		gm_cli_error(CMD, "%s", why);
		return GM_EXIT_USAGE;
	}
	ret = bench_lock(&f.lock1, &f.lock2, &f.meta) ?: bench_invalidate(&f.inval_none, &f.inval_many) ?:
	      bench_guest(&o, "touch", &f.touch_ours, &f.touch_kernel, &f.engine) ?:
	      bench_guest(&o, "retouch", &f.retouch_ours, &f.retouch_kernel, &f.engine);
	if (ret) {
		gm_cli_error(CMD, "a benchmark failed: %s", strerror(-ret));
		return GM_EXIT_FAIL;
	}
	if (o.json)
		print_json(&o, &f);
	else
		print_text(&o, &f);
	return GM_EXIT_OK;
}
