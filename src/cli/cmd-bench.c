/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench: DESIGN.md §3's targets and issue 10's measures, each
 * guestmem figure beside the kernel's own path for the same work in the
 * same run, at several memory sizes.  This file reads the options, picks
 * the sizes and runs the measures (bench.h says which file holds what).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "bench.h"
#include "cli.h"
#include "runner.h"

#define CMD		"bench"
#define MIN_MEM		(8ULL << 20)
#define QUICK_MEM	(32ULL << 20)
#define FULL_MEM	(8ULL << 30)
#define MAX_SPARSE	(32ULL << 30)

/* The ladder of sizes below --mem. */
static const uint64_t ladder[] = { 64ULL << 20, 1ULL << 30, 8ULL << 30 };

void gm_cmd_bench_usage(FILE *out)
{
	fputs("usage: guestmem bench [--engine kvm|emu|auto] [--mem SIZE] [--quick] [--json]\n"
	      "                      [--plot FILE.svg] [--only PARTS] [--kernel FILE --initrd FILE]\n"
	      "  --mem SIZE     the largest size measured (default 8G; --quick: 32M); the sizes\n"
	      "                 of 64M, 1G, 8G below it are measured too, and 4 times it, up to\n"
	      "                 32G, where no resident memory is needed\n"
	      "  --quick        small sizes and 3 rounds: proves the command works (CI)\n"
	      "  --json         one JSON object: headline figures, scaling, the full table\n"
	      "  --plot FILE    an SVG chart of the cost per page against memory size\n"
	      "  --only PARTS   run only these parts, comma-separated (default: all):\n"
	      "                 guest (first touch, retouch, convert), host (host files,\n"
	      "                 lookup, stall, sparse), memory (memory, invalidate),\n"
	      "                 linux (with --kernel; --kernel alone adds it to the rest)\n"
	      "  --kernel FILE  a bzImage to boot with --initrd FILE, guestmem's Linux init\n"
	      "                 (guests/linux), in 256M: the linux part\n"
	      "measures, each the median [min-max] of rounds after a warm-up, beside a reference:\n"
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

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "mem", required_argument, NULL, 'm' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
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
		case 'q':
			o->quick = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'p':
			o->plot = optarg;
			break;
		case 'o':
			if (parse_parts(optarg, &o->parts))
				goto bad_value;
			break;
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'h':
			gm_cmd_bench_usage(stdout);
			return GM_ARGS_HELP;
		case ':':
			return gm_cli_missing_value(CMD, argv);
		default:
			return gm_cli_bad_option(CMD, argv);
		}
	}
	if (optind == argc)
		return 0;
	gm_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
	return GM_STATUS_USAGE;
bad_value:
	gm_cli_error(CMD, "bad value '%s'", optarg);
	return GM_STATUS_USAGE;
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

	ret = parse_args(argc, argv, &b.o);
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
