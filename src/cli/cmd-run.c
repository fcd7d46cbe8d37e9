/* SPDX-License-Identifier: MIT */
/* guestmem run: boot a guest with memory from a chosen store and run a workload. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/runner.h"
#include "guest-images.h"

#define CMD "run"

struct run_opts {
	struct gm_run_config cfg;
	bool json;
	bool bar;
	int last_percent;
};

void gm_cmd_run_usage(FILE *out)
{
	size_t n;
	const struct gm_guest_image *img = gm_guest_images(&n);

	fputs("usage: guestmem run [options]\n"
	      "  --engine kvm|emu|auto   CPU engine (default auto: kvm where /dev/kvm works)\n"
	      "  --store shmem|hugetlb|kvm  backing store for guest RAM (default shmem)\n"
	      "  --mem SIZE              guest RAM, a multiple of 2M (default 32M)\n"
	      "  --vcpus N               vCPUs, one host thread each (default 1)\n"
	      "  --workload NAME         guest program (default memtest)\n"
	      "  --private               RAM starts private (guest-only)\n"
	      "  --convert-on-fault      a private/shared mismatch converts the page and\n"
	      "                          resumes (default: the guest stops with the fault);\n"
	      "                          with --private, pages turn private on first touch\n"
	      "  --json                  print the summary as one JSON object\n"
	      "workloads:\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-10s %s\n", img[i].name, img[i].summary);
}

static const char *const store_names[] = { "shmem", "hugetlb", "kvm" };	/* gm_run_store */

/* The index of @s in @names, or -1. */
static int parse_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static void on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct run_opts *o = opaque;
	int percent = total ? (int)(done * 100 / total) : 100;
	int filled = percent / 5;

	if (!o->bar || percent == o->last_percent || percent > 100)
		return;
	o->last_percent = percent;
	fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "####################", 20 - filled, "",
		percent);
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "store", required_argument, NULL, 's' },
		{ "mem", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "workload", required_argument, NULL, 'w' },
		{ "private", no_argument, NULL, 'p' },
		{ "convert-on-fault", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, idx = 0;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		switch (c) {
		case 'e':
			if (gm_run_parse_engine(optarg, &o->cfg.engine))
				goto bad_value;
			break;
		case 's':
			c = parse_name(optarg, store_names, 3);
			if (c < 0)
				goto bad_value;
			o->cfg.store = (enum gm_run_store)c;
			break;
		case 'm':
			o->cfg.mem = gm_run_parse_size(optarg);
			if (!o->cfg.mem)
				goto bad_value;
			break;
		case 'v':
			o->cfg.vcpus = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				goto bad_value;
			break;
		case 'w':
			o->cfg.workload = optarg;
			break;
		case 'p':
			o->cfg.private = true;
			break;
		case 'c':
			o->cfg.convert_on_fault = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			gm_cmd_run_usage(stdout);
			return 1;
		default:
			return gm_cli_bad_option(CMD, argv);
		}
	}
	if (optind < argc) {
		gm_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
		return GM_EXIT_USAGE;
	}
	return 0;

bad_value:
	gm_cli_error(CMD, "bad value '%s' for --%s", optarg, longopts[idx].name);
	return GM_EXIT_USAGE;
}

static void print_text(const struct run_opts *o, const struct gm_run_result *r)
{
	const struct gm_vm_stats *s = &r->stats;

	printf("engine          %s\n", r->engine);
	printf("store           %s\n", store_names[o->cfg.store]);
	printf("memory          %" PRIu64 " MiB, %u vCPU%s, %s, workload %s\n",
	       o->cfg.mem >> 20, o->cfg.vcpus, o->cfg.vcpus > 1 ? "s" : "",
	       o->cfg.private ? "private" : "shared", o->cfg.workload);
	printf("faults          4K %" PRIu64 ", 2M %" PRIu64 ", 1G %" PRIu64 "\n",
	       s->faults[1], s->faults[2], s->faults[3]);
	printf("retries         %" PRIu64 "\n", s->retries);
	printf("invalidations   %" PRIu64 "\n", s->invalidations);
	printf("conversions     %" PRIu64 "\n", s->conversions);
	printf("memory faults   %" PRIu64 "\n", s->memory_fault_exits);
	printf("mmio completed  %" PRIu64 "\n", s->mmio_completions);
	printf("populated ahead %" PRIu64 " x 2 MiB\n", s->prefaults);
	printf("frames in use   peak %" PRId64 ", end %" PRId64 "\n", r->frames_peak, r->frames_end);
	printf("time            %.3f s\n", r->seconds);
	printf("result          %s%s%s\n", r->pass ? "pass" : "fail", r->pass ? "" : ": ",
	       r->pass ? "" : r->message);
}

static void print_json(const struct run_opts *o, const struct gm_run_result *r)
{
	const struct gm_vm_stats *s = &r->stats;

	printf("{\"engine\": \"%s\", \"store\": \"%s\", \"mem\": %" PRIu64 ", \"vcpus\": %u, "
	       "\"workload\": \"%s\", \"private\": %s, ",
	       r->engine, store_names[o->cfg.store],
	       o->cfg.mem, o->cfg.vcpus, o->cfg.workload, o->cfg.private ? "true" : "false");
	printf("\"faults\": {\"4k\": %" PRIu64 ", \"2m\": %" PRIu64 ", \"1g\": %" PRIu64 "}, "
	       "\"retries\": %" PRIu64 ", \"invalidations\": %" PRIu64 ", \"conversions\": %"
	       PRIu64 ", \"mmio_completions\": %" PRIu64 ", \"prefaults\": %" PRIu64 ", "
	       "\"memory_fault_exits\": %" PRIu64 ", ",
	       s->faults[1], s->faults[2], s->faults[3], s->retries, s->invalidations,
	       s->conversions, s->mmio_completions, s->prefaults, s->memory_fault_exits);
	printf("\"frames_in_use_peak\": %" PRId64 ", \"frames_in_use_end\": %" PRId64 ", "
	       "\"seconds\": %.6f, \"result\": \"%s\"", r->frames_peak, r->frames_end, r->seconds,
	       r->pass ? "pass" : "fail");
	if (!r->pass) {
		/* The message is ours: no quotes or control characters in it. */
		printf(", \"message\": \"%s\"", r->message);
	}
	printf("}\n");
}

int gm_cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.cfg = { .engine = GM_ENGINE_AUTO, .store = GM_RUN_SHMEM, .mem = 32ULL << 20,
			 .vcpus = 1, .workload = "memtest" },
		.last_percent = -1,
	};
	struct gm_run_result r;
	char why[256];
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret == 1 ? GM_EXIT_OK : ret;
	if (gm_run_check(&o.cfg, why, sizeof(why))) {
		gm_cli_error(CMD, "%s", why);
		return GM_EXIT_USAGE;
	}
	o.bar = isatty(STDERR_FILENO) && !o.json;
	o.cfg.console = o.json ? NULL : stdout;
	o.cfg.progress = on_progress;
	o.cfg.opaque = &o;
	ret = gm_run(&o.cfg, &r);
	if (o.bar)
		fputs("\r\033[K", stderr);
	if (ret) {
		gm_cli_error(CMD, "%s", r.message);
		return GM_EXIT_FAIL;
	}
	if (o.json)
		print_json(&o, &r);
	else
		print_text(&o, &r);
	return r.pass ? GM_EXIT_OK : GM_EXIT_FAIL;
}
