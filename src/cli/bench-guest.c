/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench, with a guest: the first touch of all RAM, the host
 * punching all RAM under the guest which touches it again, and conversions
 * the guest asks for.
 *
 * The kernel's path is a RAM memslot on a plain kernel memfd (no guest-only
 * file), populated the same way as guestmem's private memory: guestmem's
 * fault thread lets pages in 2 MiB at a time and its prefault thread
 * populates the next PREFAULT_AHEAD (4) ranges past one the guest faulted
 * (src/vm/prefault.c); on the kernel's side one helper thread keeps the
 * 2 MiB range the guest is in and the 4 after it populated, 2 MiB per
 * MADV_POPULATE_WRITE (gm_run_config.populate_ahead).  The kernel's demand
 * faults alone, with no helper, are a row of their own.  Each run is timed
 * on the wall and by the CPU time of the whole process (all threads).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "runner.h"
#include "convbench.h"

#define AHEAD		4		/* 2 MiB ranges, as PREFAULT_AHEAD */
#define WARM_MAX	(1ULL << 30)	/* the warm-up runs over at most this */
#define DEMAND_MAX	(1ULL << 30)

enum path { GUESTMEM, KERNEL, KERNEL_DEMAND, NR_PATHS };

static const char *const path_names[] = {
	"guestmem private memory", "kernel memfd with a helper", "kernel memfd, demand faults",
};

/* The phases of convbench, timed by its GM_HC_PROGRESS calls. */
struct phases {
	double at[CB_DONE + 1];
};

static void on_phase(void *opaque, uint64_t done, uint64_t total)
{
	struct phases *p = opaque;

	if (done <= CB_DONE)
		p->at[done] = gm_clock_now();
}

static int run_one(struct bench *b, struct gm_run_config *cfg, enum path path,
		   struct gm_run_result *r)
{
	int ret;

	cfg->engine = b->o.engine;
	cfg->vcpus = 1;
	cfg->private = path == GUESTMEM;
	cfg->shared_only = path != GUESTMEM;
	cfg->populate_ahead = path == KERNEL ? AHEAD : 0;
	ret = gm_run(cfg, r);
	if (!ret && !r->pass)
		ret = -EIO;
	if (ret)
		return bench_fail(b, ret, "%s over %llu MiB, %s: %s", cfg->workload,
				  (unsigned long long)(cfg->mem >> 20), path_names[path], r->message);
	b->engine = r->engine;
	return 0;
}

static uint64_t warm_size(uint64_t mem)
{
	return mem < WARM_MAX ? mem : WARM_MAX;
}

/* ---- first touch and retouch ---- */

struct touch_samples {
	double wall[NR_PATHS][BENCH_MAX_ROUNDS];
	double cpu[NR_PATHS][BENCH_MAX_ROUNDS];
};

/* @workload over @mem on @paths paths; ns per page into @s. */
static int touch_rounds(struct bench *b, const char *workload, enum gm_run_store store,
			uint64_t mem, int paths, struct touch_samples *s)
{
	struct gm_run_config cfg = { .store = store, .workload = workload };
	bool retouch = !strcmp(workload, "retouch");
	double pages = (double)(mem / GM_PAGE_SIZE);
	int rounds = bench_rounds(b, mem), ret;
	struct gm_run_result r;

	for (int i = -1; i < rounds; i++) {
		cfg.mem = i < 0 ? warm_size(mem) : mem;
		for (int p = 0; p < paths; p++) {
			ret = run_one(b, &cfg, (enum path)p, &r);
			if (ret)
				return ret;
			if (i < 0)
				continue;
			s->wall[p][i] = (retouch ? r.retouch_seconds : r.guest_seconds) / pages * 1e9;
			s->cpu[p][i] = (retouch ? r.retouch_cpu_seconds : r.guest_cpu_seconds) /
				       pages * 1e9;
		}
	}
	return rounds;
}

static const struct bench_row touch_rows[] = {
	BENCH_ROW("first_touch", "first touch of all RAM by the guest, wall", "ns/page",
	  "kernel memfd slot, a helper populating ahead", true),
	BENCH_ROW("first_touch_cpu", "first touch, CPU time of all threads", "ns/page",
	  "kernel memfd slot, a helper populating ahead", true),
	BENCH_ROW("first_touch_demand", "first touch, wall, against demand faults", "ns/page",
	  "kernel memfd slot, no helper", false),
	BENCH_ROW("first_touch_hugetlb", "first touch, hugetlb store, wall", "ns/page",
	  "kernel hugetlb memfd slot, a helper populating ahead", false),
	BENCH_ROW("first_touch_hugetlb_cpu", "first touch, hugetlb store, CPU time", "ns/page",
	  "kernel hugetlb memfd slot, a helper populating ahead", false),
	BENCH_ROW("retouch", "host punches all RAM, guest touches it again, wall", "ns/page",
	  "kernel memfd slot, a helper populating ahead", true),
	BENCH_ROW("retouch_cpu", "punch and retouch, CPU time of all threads", "ns/page",
	  "kernel memfd slot, a helper populating ahead", false),
};

static int add_touch(struct bench *b, int row, uint64_t mem, struct touch_samples *s, int n,
		     enum path theirs)
{
	bool cpu = strstr(touch_rows[row].measure, "_cpu") != NULL;

	return bench_add(b, &touch_rows[row], mem, cpu ? s->cpu[GUESTMEM] : s->wall[GUESTMEM],
			 cpu ? s->cpu[theirs] : s->wall[theirs], n);
}

/* Demand faults (a row for context, no target) only up to DEMAND_MAX: they are slow. */
static int first_touch(struct bench *b, uint64_t mem)
{
	bool demand = mem <= DEMAND_MAX;
	struct touch_samples s;
	int n = touch_rounds(b, "touch", GM_RUN_SHMEM, mem, demand ? NR_PATHS : KERNEL_DEMAND, &s);

	if (n < 0)
		return n;
	return add_touch(b, 0, mem, &s, n, KERNEL) ?: add_touch(b, 1, mem, &s, n, KERNEL) ?:
	       (demand ? add_touch(b, 2, mem, &s, n, KERNEL_DEMAND) : 0);
}

/* The hugetlb store, where the host has huge pages reserved for both sides. */
static int first_touch_hugetlb(struct bench *b, uint64_t mem)
{
	struct touch_samples s;
	int n;

	if (gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT) < (int64_t)(mem / BENCH_2M))
		return 0;
	n = touch_rounds(b, "touch", GM_RUN_HUGETLB, mem, KERNEL_DEMAND, &s);
	if (n < 0)
		return n;
	return add_touch(b, 3, mem, &s, n, KERNEL) ?: add_touch(b, 4, mem, &s, n, KERNEL);
}

static int retouch(struct bench *b, uint64_t mem)
{
	struct touch_samples s;
	int n = touch_rounds(b, "retouch", GM_RUN_SHMEM, mem, KERNEL_DEMAND, &s);

	if (n < 0)
		return n;
	return add_touch(b, 5, mem, &s, n, KERNEL) ?: add_touch(b, 6, mem, &s, n, KERNEL);
}

/* ---- conversions ---- */

static const struct bench_row convert_rows[] = {
	BENCH_ROW("convert_4k", "4 KiB conversion by the guest, half a round trip", "ns/page",
	  "a bare hypercall exit, same engine and run", true),
	BENCH_ROW("convert_4k_touch", "4 KiB conversion, the page written after each", "us",
	  "a bare hypercall exit, same engine and run", false),
	BENCH_ROW("convert_2m", "2 MiB conversion, each page written after each", "us",
	  "a bare hypercall exit, same engine and run", false),
	BENCH_ROW("convert_4k_in_place", "4 KiB conversion in place, bytes kept, half a round trip",
	  "ns/page", "a bare hypercall exit, same engine and run", true),
	BENCH_ROW("convert_4k_in_place_zero", "4 KiB conversion in place, zeroed, half a round trip",
	  "ns/page", "a bare hypercall exit, same engine and run", true),
};

/* One convbench run's phases: seconds per phase, scaled per exit, page or range. */
struct convbench_times {
	double exit_ns, exit_us, c4k, c4k_touch, c2m;
};

/*
 * convbench in a VM of @mem bytes of RAM, of which it touches 4 MiB,
 * @rounds times after a warm-up; RAM in two files, or in place (@in_place:
 * conversions keep the bytes with @preserve, else zero them).
 */
static int convbench_rounds(struct bench *b, uint64_t mem, bool in_place, bool preserve,
			    struct convbench_times *t, int rounds)
{
	struct phases ph;
	struct gm_run_config cfg = { .store = GM_RUN_SHMEM, .workload = "convbench",
				     .sparse = true, .in_place = in_place,
				     .preserve = preserve,
				     .progress = on_phase, .opaque = &ph };
	struct gm_run_result r;
	double *at = ph.at;
	int ret;

	for (int i = -1; i < rounds; i++) {
		cfg.mem = i < 0 ? warm_size(mem) : mem;
		memset(&ph, 0, sizeof(ph));
		ret = run_one(b, &cfg, GUESTMEM, &r);
		if (ret)
			return ret;
		if (i < 0)
			continue;
		t[i].exit_ns = (at[CB_PHASE_4K] - at[CB_PHASE_EXITS]) / CB_EXITS * 1e9;
		t[i].exit_us = t[i].exit_ns / 1e3;
		t[i].c4k = (at[CB_PHASE_4K_TOUCH] - at[CB_PHASE_4K]) / (2 * CB_4K) * 1e9;
		t[i].c4k_touch = (at[CB_PHASE_2M] - at[CB_PHASE_4K_TOUCH]) / (2 * CB_4K) * 1e6;
		t[i].c2m = (at[CB_DONE] - at[CB_PHASE_2M]) / (2 * CB_2M) * 1e6;
	}
	return 0;
}

/* Add row @row of the samples @field picks, against the bare exit (ns or us). */
static int add_convert(struct bench *b, int row, uint64_t mem, const struct convbench_times *t,
		       int rounds, size_t field, bool us)
{
	double ours[BENCH_MAX_ROUNDS], exits[BENCH_MAX_ROUNDS];

	for (int i = 0; i < rounds; i++) {
		ours[i] = *(const double *)((const char *)&t[i] + field);
		exits[i] = us ? t[i].exit_us : t[i].exit_ns;
	}
	return bench_add(b, &convert_rows[row], mem, ours, exits, rounds);
}

static int convert(struct bench *b, uint64_t mem)
{
	struct convbench_times t[BENCH_MAX_ROUNDS];
	int rounds = bench_rounds(b, mem);

	return convbench_rounds(b, mem, false, false, t, rounds) ?:
	       add_convert(b, 0, mem, t, rounds, offsetof(struct convbench_times, c4k), false) ?:
	       add_convert(b, 1, mem, t, rounds, offsetof(struct convbench_times, c4k_touch), true) ?:
	       add_convert(b, 2, mem, t, rounds, offsetof(struct convbench_times, c2m), true) ?:
	       convbench_rounds(b, mem, true, true, t, rounds) ?:
	       add_convert(b, 3, mem, t, rounds, offsetof(struct convbench_times, c4k), false) ?:
	       convbench_rounds(b, mem, true, false, t, rounds) ?:
	       add_convert(b, 4, mem, t, rounds, offsetof(struct convbench_times, c4k), false);
}

int bench_guest(struct bench *b)
{
	int ret = 0;

	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = first_touch(b, b->o.sizes[i]);
	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = first_touch_hugetlb(b, b->o.sizes[i]);
	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = retouch(b, b->o.sizes[i]);
	for (int i = 0; i < b->o.nr_sizes && !ret; i++)
		ret = convert(b, b->o.sizes[i]);
	if (!ret && b->o.sparse_size)
		ret = convert(b, b->o.sparse_size);
	return ret;
}
