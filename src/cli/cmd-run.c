/* SPDX-License-Identifier: MIT */
/* guestmem run: boot a guest with memory from a chosen store and run a workload. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>

#include "array.h"
#include "cli.h"
#include "guest-elf.h"
#include "key-file.h"
#include "run.h"
#include "guest-images.h"

#define CMD "run"

static const char *const store_names[] = { "shmem", "hugetlb", "kvm" };	/* gm_run_store */

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

/* ---- the options ---- */

static int check_guest_options(const struct run_opts *o)
{
	if (o->guest && o->workload_given) {
		gm_cli_error(CMD, "--guest and --workload exclude each other");
		return GM_STATUS_USAGE;
	}
	if (o->guest_argc && !o->guest) {
		gm_cli_error(CMD, "--guest-arg needs --guest");
		return GM_STATUS_USAGE;
	}
	return 0;
}

/* A snapshot needs all three of its options; a migration its address and key. */
static int check_snapshot_options(const struct run_opts *o)
{
	bool after = o->cfg.snapshot_after > 0;

	if (o->cfg.migrate_to) {
		if (after || o->snapshot_to) {
			gm_cli_error(CMD, "--migrate-to and --snapshot-after exclude each other");
			return GM_STATUS_USAGE;
		}
		if (!o->key_file) {
			gm_cli_error(CMD, "--migrate-to needs --key-file: the streams are sealed");
			return GM_STATUS_USAGE;
		}
		if (!strrchr(o->cfg.migrate_to, ':') || !strrchr(o->cfg.migrate_to, ':')[1] ||
		    o->cfg.migrate_to[0] == ':') {
			gm_cli_error(CMD, "bad value '%s' for --migrate-to: HOST:PORT, please",
				     o->cfg.migrate_to);
			return GM_STATUS_USAGE;
		}
		return 0;
	}
	if (o->migrate_after_given) {
		gm_cli_error(CMD, "--migrate-after needs --migrate-to");
		return GM_STATUS_USAGE;
	}
	if (after == !!o->snapshot_to && after == !!o->key_file)
		return 0;
	gm_cli_error(CMD, "--snapshot-after, --snapshot-to and --key-file go together");
	return GM_STATUS_USAGE;
}

static int parse_store(const char *value, void *opts)
{
	struct run_opts *o = opts;

	for (size_t i = 0; i < GM_ARRAY_SIZE(store_names); i++) {
		if (!strcmp(value, store_names[i])) {
			o->cfg.store = (enum gm_run_store)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_workload(const char *value, void *opts)
{
	struct run_opts *o = opts;

	o->cfg.workload = value;
	o->workload_given = true;
	return 0;
}

static int add_guest_arg(const char *value, void *opts)
{
	struct run_opts *o = opts;

	/* argc bounds the number of values: the array was sized for it. */
	o->guest_argv[o->guest_argc++] = (char *)value;
	return 0;
}

static int parse_guest_mem_limit(const char *value, void *opts)
{
	/* The process's cap: nothing but this run's guest shares it. */
	if (gm_guest_memory_set_limit(gm_run_parse_size(value)) || !gm_guest_memory_limit())
		return -EINVAL;
	return 0;
}

static int parse_migrate_after(const char *value, void *opts)
{
	struct run_opts *o = opts;

	/* 0 is allowed here: at once. */
	if (strcmp(value, "0") && gm_opt_parse_seconds(value, &o->cfg.migrate_after))
		return -EINVAL;
	o->migrate_after_given = true;
	return 0;
}

#define GM_OPT_STRUCT	struct run_opts

static const struct gm_opt run_options[] = {
	GM_OPT_ENGINE(cfg.engine),
	GM_OPT_CALL("store", "shmem|hugetlb|kvm", parse_store,
		"backing store for guest RAM (default shmem)"),
	GM_OPT_SIZE("mem", "SIZE", cfg.mem, "guest RAM, a multiple of 2M (default 32M)"),
	GM_OPT_COUNT("vcpus", "N", cfg.vcpus, "vCPUs, one host thread each (default 1)"),
	GM_OPT_CALL("workload", "NAME", parse_workload, "guest program (default memtest)"),
	GM_OPT_STRING("guest", "FILE", guest,
		"run FILE, a static x86-64 ELF built with the guest kit (README.md, "
		"\"Your own guest\"), instead of a workload"),
	GM_OPT_CALL("guest-arg", "VALUE", add_guest_arg,
		"pass VALUE to the --guest program (repeatable)"),
	GM_OPT_FLAG("private", cfg.private, "RAM starts private (guest-only)"),
	GM_OPT_FLAG("in-place", cfg.in_place,
		"RAM is one in-place guest-only file for both the private and the shared "
		"alias: a conversion changes the page's state and frees nothing, huge pages "
		"stay whole (default: two files, a conversion punches the side left)"),
	GM_OPT_CALL("guest-mem-limit", "SIZE", parse_guest_mem_limit,
		"cap the host memory guest-only RAM may take (a multiple of 4K): a touch "
		"past it ends the run with \"No space left on device\" (default: no cap)"),
	GM_OPT_FLAG("convert-on-fault", cfg.convert_on_fault,
		"a private/shared mismatch converts the page and resumes (default: the guest "
		"stops with the fault); with --private, pages turn private on first touch"),
	GM_OPT_SECONDS("timeout", "SECONDS", cfg.timeout,
		"stop the guest after SECONDS (a decimal number); the run then fails with "
		"result \"timeout\""),
	GM_OPT_SECONDS("snapshot-after", "SECONDS", cfg.snapshot_after,
		"stop the guest after SECONDS and write a snapshot of it (sealed: see "
		"--key-file) to --snapshot-to's FILE; the run ends with result \"snapshot\", "
		"and `guestmem restore FILE` resumes it"),
	GM_OPT_STRING("snapshot-to", "FILE", snapshot_to,
		"where the snapshot goes (replaced only once written)"),
	GM_OPT_KEY_FILE(key_file),
	GM_OPT_STRING("migrate-to", "HOST:PORT", cfg.migrate_to,
		"move the running guest to `guestmem receive` there (sealed: see --key-file): "
		"memory is copied while the guest runs, then it stops for the rest and goes "
		"on there; the run ends with result \"migrated\".  If that fails, the guest "
		"goes on here and the run fails"),
	GM_OPT_CALL("migrate-after", "SECONDS", parse_migrate_after,
		"start the migration SECONDS into the run (default 0)"),
	GM_OPT_JSON(json),
	GM_OPT_INCLUDE(run_linux_options),
	GM_OPT_END,
};

static void more_help(FILE *out)
{
	size_t n;
	const struct gm_guest_image *img = gm_guest_images(&n);

	fputs("workloads:\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-10s %s\n", img[i].name, img[i].summary);
}

static const struct gm_opt_cmd run_cmd = {
	.name = CMD, .options = run_options, .more = more_help,
};

void gm_cmd_run_usage(FILE *out)
{
	gm_opt_usage(&run_cmd, out);
}

/* In place needs a store with pages of ours; the kvm store's are the kernel's. */
static int check_in_place_options(const struct run_opts *o)
{
	if (!o->cfg.in_place)
		return 0;
	if (o->cfg.store == GM_RUN_KVM) {
		gm_cli_error(CMD, "--in-place needs --store shmem or hugetlb");
		return GM_STATUS_USAGE;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	return gm_opt_parse(&run_cmd, argc, argv, o) ?: check_guest_options(o) ?:
	       check_snapshot_options(o) ?: check_in_place_options(o) ?: run_linux_check(o);
}

/* The reports a guest can make (GM_REPORT_*), by key. */
static const char *const report_names[] = {
	[GM_REPORT_MISMATCHES] = "mismatches", [GM_REPORT_NONZERO] = "nonzero",
	[GM_REPORT_CHECKS] = "checks", [GM_REPORT_VALUE] = "value",
};

#define NR_REPORTS	GM_ARRAY_SIZE(report_names)

/* "pass", "fail", or "timeout" (a fail too: the guest did not finish). */
static const char *result_name(const struct gm_run_result *r)
{
	if (r->snapshotted)
		return "snapshot";
	if (r->migrated)
		return "migrated";
	if (r->reset)
		return "reset";
	return r->pass ? "pass" : r->timed_out ? "timeout" : "fail";
}

static void print_migration_text(const struct run_opts *o, const struct gm_mig_report *m)
{
	if (!m->done) {
		printf("migration       to %s failed: %s\n", o->cfg.migrate_to, m->message);
		return;
	}
	printf("migration       to %s: %u rounds, %.1f MiB sent, %.3f s, downtime %.1f ms\n",
	       o->cfg.migrate_to, m->rounds, (double)m->bytes / (1 << 20), m->seconds,
	       m->downtime * 1e3);
	printf("pages per round");
	for (unsigned int i = 0; i < m->rounds; i++)
		printf(" %" PRIu64 "%s", m->round_pages[i], i + 1 < m->rounds ? "," : "\n");
}

static void json_migration(struct gm_json *w, const char *to, const struct gm_mig_report *m)
{
	gm_json_begin(w, "migration", '{');
	gm_json_str(w, "to", to);
	gm_json_bool(w, "done", m->done);
	gm_json_u64(w, "rounds", m->rounds);
	gm_json_begin(w, "round_pages", '[');
	for (unsigned int i = 0; i < m->rounds; i++)
		gm_json_u64(w, NULL, m->round_pages[i]);
	gm_json_end(w);
	gm_json_u64(w, "bytes", m->bytes);
	gm_json_num(w, "seconds", m->seconds);
	gm_json_num(w, "downtime_seconds", m->downtime);
	if (!m->done)
		gm_json_str(w, "message", m->message);
	gm_json_end(w);
}

static void print_text(const struct run_opts *o, const struct gm_run_result *r)
{
	const struct gm_vm_stats *s = &r->stats;

	printf("engine          %s\n", r->engine);
	printf("store           %s%s\n", store_names[o->cfg.store],
	       o->cfg.in_place ? ", in place" : "");
	printf("memory          %" PRIu64 " MiB, %u vCPU%s, %s, %s %s\n",
	       o->cfg.mem >> 20, o->cfg.vcpus, o->cfg.vcpus > 1 ? "s" : "",
	       o->cfg.private ? "private" : "shared",
	       o->cfg.kernel ? "kernel" : o->guest ? "guest" : "workload",
	       o->cfg.kernel ? o->cfg.kernel : o->cfg.workload);
	printf("faults          4K %" PRIu64 ", 2M %" PRIu64 ", 1G %" PRIu64 "\n",
	       s->faults[1], s->faults[2], s->faults[3]);
	printf("retries         %" PRIu64 "\n", s->retries);
	printf("invalidations   %" PRIu64 "\n", s->invalidations);
	printf("conversions     %" PRIu64 "\n", s->conversions);
	printf("memory faults   %" PRIu64 "\n", s->memory_fault_exits);
	printf("mmio completed  %" PRIu64 "\n", s->mmio_completions);
	printf("populated ahead %" PRIu64 " x 2 MiB\n", s->prefaults);
	printf("frames in use   peak %" PRId64 ", end %" PRId64 "\n", r->frames_peak, r->frames_end);
	printf("reports        ");
	for (size_t k = 1; k < NR_REPORTS; k++)
		printf(" %s %" PRIu64 "%s", report_names[k], s->report[k],
		       k + 1 < NR_REPORTS ? "," : "\n");
	if (r->linux_boot)
		run_linux_print_text(o, r);
	if (r->exited)
		printf("exit status     %" PRId64 "\n", r->exit_status);
	else if (r->reset)
		printf("exit status     none (the guest reset the machine)\n");
	else
		printf("exit status     none (a vCPU did not exit by itself)\n");
	if (r->snapshotted)
		printf("snapshot        %" PRIu64 " bytes, sealed\n", r->snapshot_bytes);
	if (r->migration.attempted)
		print_migration_text(o, &r->migration);
	if (r->restore_rounds)
		printf("received        %u rounds, %" PRIu64 " bytes, %" PRIu64 " pages restored\n",
		       r->restore_rounds, r->restore_bytes, s->restore_pages);
	else if (o->cfg.restore)
		printf("restored        %s: %" PRIu64 " of the stream's %" PRIu64 " bytes read, %"
		       PRIu64 " pages\n", o->cfg.restore_lazy ? "lazily" : "eagerly",
		       s->restore_bytes_read, r->restore_bytes, s->restore_pages);
	printf("time            %.3f s\n", r->seconds);
	printf("result          %s%s%s\n", result_name(r), r->pass ? "" : ": ",
	       r->pass ? "" : r->message);
}

static void json_counters(struct gm_json *w, const struct gm_run_result *r)
{
	const struct gm_vm_stats *s = &r->stats;

	gm_json_faults(w, s->faults);
	gm_json_u64(w, "retries", s->retries);
	gm_json_u64(w, "invalidations", s->invalidations);
	gm_json_u64(w, "conversions", s->conversions);
	gm_json_u64(w, "mmio_completions", s->mmio_completions);
	gm_json_u64(w, "prefaults", s->prefaults);
	gm_json_u64(w, "memory_fault_exits", s->memory_fault_exits);
	gm_json_i64(w, "frames_in_use_peak", r->frames_peak);
	gm_json_i64(w, "frames_in_use_end", r->frames_end);
	gm_json_begin(w, "reports", '{');
	for (size_t k = 1; k < NR_REPORTS; k++)
		gm_json_u64(w, report_names[k], s->report[k]);
	gm_json_end(w);
}

static void json_restore(struct gm_json *w, const struct run_opts *o, const struct gm_run_result *r)
{
	const struct gm_vm_stats *s = &r->stats;

	if (r->restore_rounds) {
		gm_json_begin(w, "received", '{');
		gm_json_u64(w, "rounds", r->restore_rounds);
		gm_json_u64(w, "bytes", r->restore_bytes);
		gm_json_u64(w, "pages", s->restore_pages);
		gm_json_end(w);
	} else if (o->cfg.restore) {
		gm_json_begin(w, "restore", '{');
		gm_json_bool(w, "lazy", o->cfg.restore_lazy);
		gm_json_u64(w, "bytes_read", s->restore_bytes_read);
		gm_json_u64(w, "stream_bytes", r->restore_bytes);
		gm_json_u64(w, "pages", s->restore_pages);
		gm_json_end(w);
	}
}

static void print_json(const struct run_opts *o, const struct gm_run_result *r)
{
	struct gm_json w;

	gm_json_init(&w, stdout);
	gm_json_begin(&w, NULL, '{');
	gm_json_str(&w, "engine", r->engine);
	gm_json_str(&w, "store", store_names[o->cfg.store]);
	gm_json_u64(&w, "mem", o->cfg.mem);
	gm_json_u64(&w, "vcpus", o->cfg.vcpus);
	gm_json_str(&w, "workload", o->cfg.workload);
	gm_json_bool(&w, "guest", o->guest);
	gm_json_bool(&w, "private", o->cfg.private);
	gm_json_bool(&w, "in_place", o->cfg.in_place);
	json_counters(&w, r);
	if (r->exited)
		gm_json_i64(&w, "exit_status", r->exit_status);
	else
		gm_json_null(&w, "exit_status");
	if (r->snapshotted)
		gm_json_u64(&w, "snapshot_bytes", r->snapshot_bytes);
	/* A guest that goes on here after a failed migration: that migration. */
	if (o->failed_migration_to)
		json_migration(&w, o->failed_migration_to, &o->migration);
	else if (r->migration.attempted)
		json_migration(&w, o->cfg.migrate_to, &r->migration);
	json_restore(&w, o, r);
	if (r->linux_boot)
		run_linux_json(&w, o, r);
	gm_json_num(&w, "seconds", r->seconds);
	gm_json_str(&w, "result", result_name(r));
	/* The message is ours, but may quote a guest's file name. */
	if (!r->pass)
		gm_json_str(&w, "message", r->message);
	gm_json_end(&w);
	fputc('\n', stdout);
}

/* Open --guest's file for the run; one line and GM_STATUS_USAGE when it will not do. */
static int open_guest(struct run_opts *o, struct gm_guest_elf *elf)
{
	char why[512];

	if (gm_guest_elf_open(o->guest, elf, why, sizeof(why))) {
		gm_cli_error(CMD, "%s", why);
		return GM_STATUS_USAGE;
	}
	elf->argc = o->guest_argc;
	elf->argv = o->guest_argv;
	o->cfg.guest = elf;
	o->cfg.workload = o->guest;
	return 0;
}

static int run(struct run_opts *o)
{
	struct gm_run_result r;
	char why[512];
	int ret;

	if (gm_run_check(&o->cfg, why, sizeof(why))) {
		gm_cli_error(o->cmd, "%s", why);
		return GM_STATUS_USAGE;
	}
	o->bar = isatty(STDERR_FILENO) && !o->json;
	/* A kernel's console is worth keeping: beside the JSON, on stderr. */
	o->cfg.console = !o->json ? stdout : o->cfg.kernel ? stderr : NULL;
	o->cfg.progress = on_progress;
	o->cfg.opaque = o;
	ret = gm_run(&o->cfg, &r);
	if (o->bar)
		fputs("\r\033[K", stderr);
	o->err = ret;
	o->snapshotted = !ret && r.snapshotted;
	o->migrated = !ret && r.migrated;
	o->resume_fd = r.resume_fd;
	if (ret) {
		gm_cli_error(o->cmd, "%s", r.message);
		return run_linux_refused(o, ret) ? GM_STATUS_USAGE : GM_STATUS_FAIL;
	}
	if (o->json && r.resume_fd >= 0) {
		/* One JSON object: the resumed run's, carrying this migration. */
		o->migration = r.migration;
	} else if (o->json) {
		print_json(o, &r);
	} else {
		print_text(o, &r);
	}
	return r.pass ? GM_STATUS_OK : GM_STATUS_FAIL;
}

/*
 * --snapshot-to: the snapshot goes to a new file beside FILE, which takes
 * FILE's name only once the snapshot is whole; otherwise it goes.
 */
static int run_snapshot(struct run_opts *o)
{
	size_t len = strlen(o->snapshot_to) + sizeof(".XXXXXX");
	char *tmp = malloc(len);
	int ret, fd;

	if (!tmp) {
		gm_cli_error(CMD, "out of memory");
		return GM_STATUS_FAIL;
	}
	snprintf(tmp, len, "%s.XXXXXX", o->snapshot_to);
	ret = gm_cli_read_key(CMD, o->key_file, o->key);
	fd = ret ? -1 : mkostemp(tmp, O_CLOEXEC);
	if (!ret && fd < 0) {
		gm_cli_error(CMD, "cannot write the snapshot beside '%s': %s", o->snapshot_to,
			     strerror(errno));
		ret = GM_STATUS_USAGE;
	}
	if (!ret) {
		o->cfg.snapshot_fd = fd;
		o->cfg.key = o->key;
		ret = run(o);
		if ((close(fd) || (o->snapshotted && rename(tmp, o->snapshot_to))) && o->snapshotted) {
			gm_cli_error(CMD, "cannot write the snapshot to '%s': %s", o->snapshot_to,
				     strerror(errno));
			o->snapshotted = false;
			ret = GM_STATUS_FAIL;
		}
		if (!o->snapshotted)
			unlink(tmp);
	}
	explicit_bzero(o->key, sizeof(o->key));
	free(tmp);
	return ret;
}

/*
 * The guest was stopped for a migration that failed: it goes on here from
 * where it stopped (a second summary in text; with --json, one object, the
 * resumed run's with the migration in it), and the run fails all the same.
 */
static int resume_here(struct run_opts *o)
{
	struct run_opts again = *o;

	gm_cli_error(CMD, "the migration failed; the guest goes on here from where it stopped");
	again.cfg.restore = true;
	again.cfg.restore_fd = o->resume_fd;
	again.cfg.restore_lazy = false;
	again.cfg.restore_guest = o->cfg.guest != NULL;
	again.cfg.guest = NULL;
	again.cfg.migrate_to = NULL;
	again.failed_migration_to = o->cfg.migrate_to;	/* again.migration is the report */
	run(&again);
	close(o->resume_fd);
	o->resume_fd = -1;
	return GM_STATUS_FAIL;
}

/* --migrate-to: exit 0 only once the receiver has the guest. */
static int run_migrate(struct run_opts *o)
{
	int ret = gm_cli_read_key(CMD, o->key_file, o->key);

	if (ret)
		return ret;
	o->cfg.key = o->key;
	ret = run(o);
	if (o->resume_fd >= 0)
		ret = resume_here(o);
	else if (!o->migrated && !o->err)
		ret = GM_STATUS_FAIL;	/* the guest ran to its end here; the summary says why */
	explicit_bzero(o->key, sizeof(o->key));
	return ret;
}

int gm_cmd_run_restored(struct gm_run_config *cfg, const char *cmd, bool json, int *err)
{
	struct run_opts o = {
		.cfg = *cfg, .json = json, .last_percent = -1, .cmd = cmd, .resume_fd = -1,
		.guest = cfg->restore_guest ? cfg->workload : NULL,
	};
	int ret = run(&o);

	*err = o.err;
	return ret;
}

int gm_cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.cfg = { .engine = GM_ENGINE_AUTO, .store = GM_RUN_SHMEM, .mem = 32ULL << 20,
			 .vcpus = 1, .workload = "memtest" },
		.last_percent = -1, .cmd = CMD, .resume_fd = -1,
	};
	struct gm_guest_elf elf = { 0 };
	int ret;

	/* Each --guest-arg takes two words of argv at least: argc bounds them. */
	o.guest_argv = calloc((size_t)argc + 1, sizeof(*o.guest_argv));
	if (!o.guest_argv) {
		gm_cli_error(CMD, "out of memory");
		return GM_STATUS_FAIL;
	}
	ret = parse_args(argc, argv, &o);
	if (ret) {
		ret = ret == GM_ARGS_HELP ? GM_STATUS_OK : ret;
		goto out;
	}
	if (o.guest) {
		ret = open_guest(&o, &elf);
		if (ret)
			goto out;
	}
	ret = o.snapshot_to ? run_snapshot(&o) : o.cfg.migrate_to ? run_migrate(&o) : run(&o);
	gm_guest_elf_close(&elf);
out:
	free(o.guest_argv);
	return ret;
}
