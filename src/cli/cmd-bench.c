/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench: DESIGN.md §3's targets and issue 10's measures, each
 * guestmem figure beside the kernel's own path for the same work in the
 * same run, at several memory sizes.  This file reads the options, picks
 * the sizes and runs the measures (bench.h says which file holds what).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "bench.h"
#include "cli.h"
#include "options.h"
#include "runner.h"

#define CMD		"bench"
#define MIN_MEM		(8ULL << 20)
#define QUICK_MEM	(32ULL << 20)
#define FULL_MEM	(8ULL << 30)
#define MAX_SPARSE	(32ULL << 30)

/* The ladder of sizes below --mem. */
static const uint64_t ladder[] = { 64ULL << 20, 1ULL << 30, 8ULL << 30 };

/* The measures, after the options in --help. */
static void more_help(FILE *out)
{
	fputs("measures, each the median [min-max] of rounds after a warm-up, beside a reference:\n"
	      "  first touch   a guest touching all RAM: guestmem private memory vs a kernel\n"
	      "                memfd memslot populated the same way (wall and CPU time)\n"
	      "  retouch       the host punches all RAM under the guest, which touches it again\n"
	      "  convert       guest-driven 4 KiB and 2 MiB conversions vs a bare hypercall exit\n"
	      "  host files    allocate, punch, truncate with pages resident vs a kernel memfd\n"
	      "  lookup        get_lock_pfn + put_unlock_pfn, in order and random, 1 and 2 threads\n"
	      "  stall         allocation latency in one file while another is truncated\n"
	      "  sparse        truncate and punch of empty files, up to 32G\n"
	      "  memory        metadata bytes per page; RSS growth after a punch/refault churn\n"
	      "  invalidate    punch + refault with 10,000 other owners registered vs none\n"
	      "  linux         Linux to its init's ready line and exit, guest-only RAM vs the\n"
	      "                kernel's memfd as the memslot (kvm; in the KVM lab, nested)\n", out);
}

/* --only's list into a mask of BENCH_PART_*.  Return: 0 or -EINVAL. */
static int parse_parts(const char *list, unsigned int *parts)
{
	static const char *const names[] = { "guest", "host", "memory", "linux" };
	const char *p = list;

	*parts = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < GM_ARRAY_SIZE(names); i++)
			if (len == strlen(names[i]) && !strncmp(p, names[i], len))
				break;
		if (i == GM_ARRAY_SIZE(names))
			return -EINVAL;	/* an empty name included: "", "a,", "a,,b" */
		*parts |= 1U << i;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_only(const char *value, void *opts)
{
	struct bench_opts *o = opts;

	return parse_parts(value, &o->parts);
}

#define GM_OPT_STRUCT	struct bench_opts

static const struct gm_opt bench_options[] = {
	GM_OPT_ENGINE(engine),
	GM_OPT_SIZE("mem", "SIZE", mem,
		"the largest size measured (default 8G; --quick: 32M); the sizes of 64M, 1G, "
		"8G below it are measured too, and 4 times it, up to 32G, where no resident "
		"memory is needed"),
	GM_OPT_FLAG("quick", quick, "small sizes and 3 rounds: proves the command works (CI)"),
	GM_OPT_JSON(json),
	GM_OPT_STRING("plot", "FILE", plot,
		"an SVG chart of the cost per page against memory size"),
	GM_OPT_CALL("only", "PARTS", parse_only,
		"run only these parts, comma-separated (default: all): guest (first touch, "
		"retouch, convert), host (host files, lookup, stall, sparse), memory (memory, "
		"invalidate), linux (with --kernel; --kernel alone adds it to the rest)"),
	GM_OPT_STRING("kernel", "FILE", kernel,
		"a bzImage to boot with --initrd FILE, guestmem's Linux init (guests/linux), "
		"in 256M: the linux part"),
	GM_OPT_STRING("initrd", "FILE", initrd, "the linux part's initramfs"),
	GM_OPT_END,
};

static const struct gm_opt_cmd bench_cmd = {
	.name = CMD,
	.about = "measure guestmem's paths beside the kernel's own (DESIGN.md section 3), at "
		 "several memory sizes; the summary, in text or with --json, holds the "
		 "headline figures, the scaling and the full table",
	.options = bench_options,
	.more = more_help,
};

void gm_cmd_bench_usage(FILE *out)
{
	gm_opt_usage(&bench_cmd, out);
}

/* The sizes: the ladder's below --mem, then --mem; at least two. */
static void pick_sizes(struct bench_opts *o)
{
	uint64_t sparse = 4 * o->mem;

	o->nr_sizes = 0;
	for (size_t i = 0; i < GM_ARRAY_SIZE(ladder); i++)
		if (ladder[i] < o->mem)
			o->sizes[o->nr_sizes++] = ladder[i];
	if (!o->nr_sizes && o->mem / 4 >= MIN_MEM)
		o->sizes[o->nr_sizes++] = o->mem / 4 & ~(BENCH_2M - 1);
	o->sizes[o->nr_sizes++] = o->mem;
	o->sparse_size = sparse > MAX_SPARSE ? (o->mem < MAX_SPARSE ? MAX_SPARSE : 0) : sparse;
}

/* Refuse what this host cannot run, in one line.  Return: 0 or GM_STATUS_USAGE. */
static int check(const struct bench_opts *o)
{
	struct gm_run_config probe = { .engine = o->engine, .store = GM_RUN_SHMEM,
				       .mem = o->mem, .vcpus = 1, .workload = "touch",
				       .shared_only = true };
	uint64_t avail = (uint64_t)sysconf(_SC_AVPHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	char why[256];

	if ((o->parts & BENCH_PART_LINUX) && (!o->kernel || !o->initrd)) {
		gm_cli_error(CMD, "the linux part needs --kernel and --initrd");
		return GM_STATUS_USAGE;
	}
	if (!(o->parts & BENCH_PART_LINUX) && (o->kernel || o->initrd)) {
		gm_cli_error(CMD, "--kernel and --initrd are for the linux part");
		return GM_STATUS_USAGE;
	}
	/* The linux part alone boots in its own 256M: --mem is for the others. */
	if (o->parts == BENCH_PART_LINUX)
		return 0;
	if (o->mem < MIN_MEM || o->mem % BENCH_2M) {
		gm_cli_error(CMD, "--mem must be a multiple of 2M, 8M or more");
		return GM_STATUS_USAGE;
	}
	if (gm_run_check(&probe, why, sizeof(why))) {
		gm_cli_error(CMD, "%s", why);
		return GM_STATUS_USAGE;
	}
	/* One side at a time holds --mem, and a little more while it allocates beside it. */
	if (o->mem + o->mem / 4 > avail) {
		gm_cli_error(CMD, "--mem %lluM needs %lluM of free memory; the host has %lluM",
			     (unsigned long long)(o->mem >> 20),
			     (unsigned long long)((o->mem + o->mem / 4) >> 20),
			     (unsigned long long)(avail >> 20));
		return GM_STATUS_USAGE;
	}
	return 0;
}

int gm_cmd_bench(int argc, char **argv)
{
	struct bench b = { .o = { .engine = GM_ENGINE_AUTO, .parts = BENCH_PART_ALL } };
	int ret;

	ret = gm_opt_parse(&bench_cmd, argc, argv, &b.o);
	if (ret)
		return ret == GM_ARGS_HELP ? GM_STATUS_OK : ret;
	if (!b.o.mem)
		b.o.mem = b.o.quick ? QUICK_MEM : FULL_MEM;
	if (b.o.kernel && b.o.parts == BENCH_PART_ALL)
		b.o.parts |= BENCH_PART_LINUX;
	ret = check(&b.o);
	if (ret)
		return ret;
	pick_sizes(&b.o);
	if (b.o.parts & BENCH_PART_GUEST)
		ret = bench_guest(&b);
	if (!ret && (b.o.parts & BENCH_PART_HOST))
		ret = bench_host(&b);
	if (!ret && (b.o.parts & BENCH_PART_MEMORY))
		ret = bench_mem(&b);
	if (!ret && (b.o.parts & BENCH_PART_LINUX))
		ret = bench_linux(&b);
	if (ret) {
		gm_cli_error(CMD, "a benchmark failed: %s", b.why);
		free(b.rows);
		return GM_STATUS_FAIL;
	}
	if (b.o.json)
		bench_print_json(&b);
	else
		bench_print_text(&b);
	ret = b.o.plot ? bench_plot(&b, b.o.plot) : 0;
	if (ret)
		gm_cli_error(CMD, "cannot write %s: %s", b.o.plot, strerror(-ret));
	free(b.rows);
	return ret ? GM_STATUS_FAIL : GM_STATUS_OK;
}
