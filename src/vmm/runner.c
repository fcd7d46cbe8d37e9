/* SPDX-License-Identifier: MIT */
/*
 * gm_run(): a run's configuration checked, its VM built from memory files,
 * a guest booted (or restored), its vCPUs run under the run's watchdogs and
 * helper threads, and the outcome judged.  Snapshots, restores and live
 * migration's hooks are in run-snapshot.c, the kernel side's populate
 * helper in run-populate.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>

#include "array.h"
#include "guest-images.h"
#include "clock.h"
#include "guest-elf.h"
#include "linux-boot.h"
#include "run-internal.h"

#define MAX_MEM		(64ULL << 30)

uint64_t gm_run_parse_size(const char *text)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!text || *text < '0' || *text > '9')
		return 0;
	errno = 0;
	/* Base 10 always: "010M" is ten MiB, as a person means it, not octal eight. */
	v = strtoull(text, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return 0;
	return (uint64_t)v << shift;
}

int gm_run_parse_engine(const char *text, enum gm_engine_kind *engine)
{
	/* In enum gm_engine_kind's order. */
	static const char *const names[] = { "auto", "kvm", "emu" };

	for (unsigned int i = 0; i < GM_ARRAY_SIZE(names); i++)
		if (!strcmp(text, names[i])) {
			*engine = (enum gm_engine_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* Whether the run is the built-in workload @name (never for a --guest file). */
static bool is_builtin(const struct gm_run_config *cfg, const char *name)
{
	return !cfg->guest && !cfg->restore_guest && cfg->workload && !strcmp(cfg->workload, name);
}

static bool needs_private(const struct gm_run_config *cfg)
{
	return cfg->private || is_builtin(cfg, "leakcheck") || is_builtin(cfg, "convert");
}


static int check_store(const struct gm_run_config *cfg, char *why, size_t len)
{
	struct gm_host_caps caps;

	switch (cfg->store) {
	case GM_RUN_SHMEM:
		return 0;
	case GM_RUN_HUGETLB:
		if (gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT) < (int64_t)(cfg->mem / SZ_2M)) {
			snprintf(why, len, "--store hugetlb needs %" PRIu64 " free 2 MiB huge pages, "
				 "the host has %" PRId64 " (see /proc/sys/vm/nr_hugepages)",
				 (uint64_t)(cfg->mem / SZ_2M), gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT));
			return -ENODEV;
		}
		if (is_builtin(cfg, "convert") || (!cfg->guest && !cfg->kernel && (cfg->mem / cfg->vcpus) % SZ_2M)) {
			snprintf(why, len, "--store hugetlb converts whole 2 MiB pages only: the "
				 "convert workload and RAM slices that are not 2 MiB multiples need 4 KiB");
			return -EINVAL;
		}
		return 0;
	case GM_RUN_KVM:
		gm_host_caps_get(&caps);
		if (!caps.store_kvm) {
			snprintf(why, len, "--store kvm needs KVM's guest_memfd: %s",
				 caps.store_kvm_why);
			return -ENODEV;
		}
		if (needs_private(cfg) && !caps.store_kvm_private) {
			snprintf(why, len, "--store kvm cannot hold private memory here: %s",
				 caps.store_kvm_private_why);
			return -ENODEV;
		}
		return 0;
	default:
		snprintf(why, len, "unknown store");
		return -EINVAL;
	}
}

/* gm_run_check() for a --guest program: its placement and a RAM slot it can live in. */
static int check_guest(const struct gm_run_config *cfg, char *why, size_t len)
{
	int ret = gm_guest_elf_check_ram(cfg->guest, cfg->mem, why, len);

	if (ret)
		return ret;
	/* The program lives in RAM's shared alias, which only a private-capable slot has. */
	if (cfg->store == GM_RUN_KVM || cfg->shared_only) {
		snprintf(why, len, "--guest needs RAM with a shared alias (--store shmem or "
			 "hugetlb): %s", cfg->shared_only ? "a shared-only RAM slot has none" :
			 "the kvm store's slot is shared-only here");
		return -EINVAL;
	}
	return 0;
}

/* gm_run_check() for a built-in workload. */
static int check_workload(const struct gm_run_config *cfg, char *why, size_t len)
{
	if (!cfg->workload || !gm_guest_image_find(cfg->workload)) {
		snprintf(why, len, "unknown workload '%s'", cfg->workload ? cfg->workload : "");
		return -EINVAL;
	}
	if (is_builtin(cfg, "convert") && cfg->mem < (8ULL << 20)) {
		snprintf(why, len, "the convert workload needs --mem 8M or more");
		return -EINVAL;
	}
	if (cfg->shared_only && needs_private(cfg)) {
		snprintf(why, len, "a shared-only RAM slot cannot run private memory");
		return -EINVAL;
	}
	return 0;
}

/* --kernel: a PC on KVM, alone (what it cannot be combined with yet is refused). */
static int check_linux(const struct gm_run_config *cfg, char *why, size_t len)
{
	const char *reason;

	if (cfg->engine == GM_ENGINE_EMU ||
	    (cfg->engine == GM_ENGINE_AUTO && !gm_engine_available(GM_ENGINE_KVM, NULL))) {
		snprintf(why, len, "--kernel needs the kvm engine: the emulator runs guestmem's "
			 "guest programs, not an operating system");
		return -EINVAL;
	}
	if (!gm_engine_available(GM_ENGINE_KVM, &reason)) {
		snprintf(why, len, "engine not available: %s", reason);
		return -ENODEV;
	}
	if (cfg->mem < GM_LINUX_MIN_MEM || cfg->mem > GM_LINUX_MAX_MEM) {
		snprintf(why, len, "--kernel needs --mem between 32M and 3G (RAM below 4 GiB)");
		return -EINVAL;
	}
	if (cfg->guest || cfg->snapshot_after > 0 || cfg->restore || cfg->migrate_to ||
	    cfg->convert_on_fault || cfg->store == GM_RUN_KVM) {
		snprintf(why, len, "--kernel does not go with --guest, --convert-on-fault, "
			 "--store kvm, snapshots or migration");
		return -EINVAL;
	}
	return check_store(cfg, why, len);
}

int gm_run_check(const struct gm_run_config *cfg, char *why, size_t len)
{
	const char *reason;
	int ret;

	if (!cfg->mem || cfg->mem % SZ_2M) {
		snprintf(why, len, "--mem must be a positive multiple of 2M");
		return -EINVAL;
	}
	if (cfg->mem > MAX_MEM ||
	    (!cfg->sparse && cfg->mem / 4096 > (uint64_t)sysconf(_SC_PHYS_PAGES))) {
		snprintf(why, len, "--mem %" PRIu64 "M is more than this host can give", cfg->mem >> 20);
		return -ENOMEM;
	}
	if (!cfg->vcpus || cfg->vcpus > GM_GUEST_MAX_VCPUS) {
		snprintf(why, len, "--vcpus must be between 1 and %d", GM_GUEST_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->kernel)
		return check_linux(cfg, why, len);
	/* A restored --guest program is in the snapshot, not in a file. */
	ret = cfg->guest ? check_guest(cfg, why, len) :
	      cfg->restore_guest ? 0 : check_workload(cfg, why, len);
	if (ret)
		return ret;
	if (!gm_engine_available(cfg->engine, &reason)) {
		snprintf(why, len, "engine not available: %s", reason);
		return -ENODEV;
	}
	if ((cfg->snapshot_after > 0 || cfg->restore || cfg->migrate_to) &&
	    cfg->store == GM_RUN_KVM) {
		snprintf(why, len, "snapshots and migration need --store shmem or hugetlb: the "
			 "kvm store's memory is the kernel's");
		return -EINVAL;
	}
	return check_store(cfg, why, len);
}

/* ---- handlers ---- */

static void on_print(void *opaque, unsigned int vcpu, const char *text, size_t len)
{
	struct run_ctx *ctx = opaque;

	if (ctx->cfg->console)
		fprintf(ctx->cfg->console, "[vcpu %u] %.*s", vcpu, (int)len, text);
}

/* Accesses with no memslot always stop; a mismatch converts when asked to. */
static int on_memory_fault(void *opaque, struct gm_vm *vm, unsigned int vcpu,
			   const struct gm_exit *exit)
{
	struct run_ctx *ctx = opaque;

	if (!ctx->cfg->convert_on_fault)
		return -EFAULT;
	return gm_vm_set_memory_attributes(vm, exit->fault.gpa, exit->fault.size,
					   exit->fault.private ? GM_MEMORY_ATTRIBUTE_PRIVATE : 0, 0);
}

/* 4 KiB frames in use in every pool. */
static int64_t frames_in_use(void)
{
	return gm_frames_in_use();
}

static void note_frames(struct run_ctx *ctx)
{
	int64_t now = frames_in_use();
	int64_t peak = atomic_load(&ctx->frames_peak);

	while (now > peak && !atomic_compare_exchange_weak(&ctx->frames_peak, &peak, now))
		;
}

static void on_progress(void *opaque, unsigned int vcpu, uint64_t done)
{
	struct run_ctx *ctx = opaque;
	uint64_t sum = 0;

	note_frames(ctx);
	if (ctx->pop.running)
		run_populate_follow(ctx, done);
	if (vcpu >= GM_GUEST_MAX_VCPUS || !ctx->cfg->progress)
		return;
	atomic_store(&ctx->done[vcpu], done);
	for (unsigned int i = 0; i < GM_GUEST_MAX_VCPUS; i++)
		sum += atomic_load(&ctx->done[i]);
	ctx->cfg->progress(ctx->cfg->opaque, sum, ctx->cfg->mem);
}

/* ---- building the VM ---- */

int run_make_sized(const char *name, unsigned int flags, uint64_t size, struct gm_file **f)
{
	int ret = gm_memfd_create(name, flags, f);

	if (!ret)
		ret = gm_ftruncate(*f, (off_t)size);
	return ret;
}

int run_in_place_file(uint64_t mem, unsigned int huge, struct gm_file **shared,
		      struct gm_file **private)
{
	int ret = run_make_sized("guestmem-ram", GM_MFD_GUEST | GM_MFD_GUEST_MMAP |
				 GM_MFD_GUEST_INIT_SHARED | huge, mem, private);

	if (!ret)
		*shared = gm_file_get(*private);	/* both aliases' file: a reference each */
	return ret;
}

static int make_ram_files(struct run_ctx *ctx)
{
	const struct gm_run_config *cfg = ctx->cfg;
	unsigned int huge = cfg->store == GM_RUN_HUGETLB ? GM_MFD_HUGETLB : 0;
	int vm_fd;

	if (cfg->store == GM_RUN_KVM) {
		vm_fd = gm_vm_kvm_fd(ctx->vm);
		if (vm_fd < 0) {
			/* The emu engine has no KVM VM: make one to own the file. */
			vm_fd = ctx->owner_vm_fd = gm_host_kvm_vm_create();
			if (vm_fd < 0)
				return vm_fd;
		}
		return gm_guest_memfd_create(vm_fd, cfg->mem, GM_GUEST_MEMFD_FLAG_MMAP |
					     GM_GUEST_MEMFD_FLAG_INIT_SHARED, &ctx->shared);
	}
	if (cfg->shared_only)
		return run_make_sized("guestmem-ram", GM_MFD_CLOEXEC | huge, cfg->mem, &ctx->shared);
	if (cfg->in_place)
		return run_in_place_file(cfg->mem, huge, &ctx->shared, &ctx->private);
	return run_make_sized("guestmem-ram", GM_MFD_CLOEXEC | huge, cfg->mem, &ctx->shared) ?:
	       run_make_sized("guestmem-private", GM_MFD_GUEST | huge, cfg->mem, &ctx->private);
}

static int build_vm(struct run_ctx *ctx)
{
	const struct gm_run_config *cfg = ctx->cfg;
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = cfg->mem };
	int ret;

	ret = gm_vm_create(cfg->engine, &ctx->vm);
	if (ret)
		return ret;
	ret = run_make_sized("guestmem-boot", GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE, &ctx->boot) ?:
	      make_ram_files(ctx);
	if (ret)
		return ret;
	boot.shared_file = ctx->boot;
	ram.shared_file = ctx->shared;
	ram.private_file = ctx->private;
	ram.flags = ctx->private ? GM_SLOT_PRIVATE : 0;
	ret = gm_vm_set_memslot(ctx->vm, &boot) ?: gm_vm_set_memslot(ctx->vm, &ram);
	/* With convert_on_fault, private RAM becomes private page by page, on first touch. */
	if (ret || !cfg->private || cfg->convert_on_fault)
		return ret;
	return gm_vm_set_memory_attributes(ctx->vm, GM_GUEST_RAM_BASE, cfg->mem,
					   GM_MEMORY_ATTRIBUTE_PRIVATE, 0);
}

/*
 * Put a --guest program into RAM (see guest-elf.h): its span must be shared
 * for the host to write it, so RAM made private by build_vm() gives the span
 * back (nothing is lost: converting to private freed the shared copy, and
 * the private side of the span is empty).  The segments go in through a
 * mapping of the RAM file, not gm_vm_write_shared(): hugetlbfs files take
 * no write(2).
 */
static int load_guest(struct run_ctx *ctx)
{
	const struct gm_run_config *cfg = ctx->cfg;
	uint64_t base, size;
	void *span;
	int ret;

	gm_guest_elf_span(cfg->guest, &base, &size);
	if (cfg->private && !cfg->convert_on_fault) {
		ret = gm_vm_set_memory_attributes(ctx->vm, base, size, 0, 0);
		if (ret)
			return ret;
	}
	ret = gm_mmap(ctx->shared, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      (off_t)(base - GM_GUEST_RAM_BASE), &span);
	if (ret)
		return ret;
	gm_guest_elf_copy(cfg->guest, span);
	return gm_munmap(ctx->shared, span, size);
}

static int boot_guest(struct run_ctx *ctx)
{
	const struct gm_run_config *cfg = ctx->cfg;
	struct gm_vm_boot boot = {
		.ram_base = GM_GUEST_RAM_BASE, .ram_size = cfg->mem,
		.flags = (cfg->private ? GM_GUEST_F_PRIVATE : 0) |
			 (cfg->in_place ? GM_GUEST_F_IN_PLACE : 0) |
			 (cfg->in_place && cfg->preserve ? GM_GUEST_F_KEEP : 0),
		.nr_vcpus = cfg->vcpus,
	};
	const struct gm_guest_image *img;
	void *code = NULL;
	int ret;

	if (cfg->guest) {
		ret = load_guest(ctx) ?: gm_guest_elf_boot_code(cfg->guest, cfg->mem, cfg->vcpus,
							       boot.flags, &code, &boot.code_size);
		if (ret)
			return ret;
		boot.code = code;
	} else {
		img = gm_guest_image_find(cfg->workload);
		boot.code = img->start;
		boot.code_size = img->size;
	}
	/* Shared RAM of a private-capable slot is reached through the shared alias. */
	if (ctx->private && !cfg->private)
		boot.ram_base |= GM_GUEST_SHARED_BIT;
	ret = gm_vm_boot(ctx->vm, &boot);
	free(code);
	return ret;
}

static void teardown(struct run_ctx *ctx)
{
	gm_vm_destroy(ctx->vm);
	gm_file_put(ctx->boot);
	gm_file_put(ctx->shared);
	gm_file_put(ctx->private);
	if (ctx->owner_vm_fd >= 0)
		close(ctx->owner_vm_fd);
}

/* ---- running and judging ---- */

struct host_args {
	struct run_ctx *ctx;
	_Atomic bool stop;
	double punched_at, punched_cpu;
};

/*
 * The host's half of the retouch workload: wait for the guest's first pass,
 * punch all of RAM (the private file for private RAM, else the kernel
 * memfd), and let the guest go on.
 */
static void *retouch_host(void *arg)
{
	struct host_args *h = arg;
	struct run_ctx *ctx = h->ctx;
	struct gm_file *ram = ctx->cfg->private ? ctx->private : ctx->shared;
	uint64_t mailbox = 0;

	while (mailbox != GM_MAILBOX_TOUCHED) {
		if (atomic_load(&h->stop))
			return NULL;
		gm_vm_read_shared(ctx->vm, GM_GUEST_MAILBOX, &mailbox, sizeof(mailbox));
		sched_yield();
	}
	h->punched_at = gm_clock_now();
	h->punched_cpu = gm_clock_cpu();
	gm_fallocate(ram, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, 0, (off_t)ctx->cfg->mem);
	if (ctx->pop.running)
		run_populate_upto(ctx, 0, true);
	mailbox = GM_MAILBOX_PUNCHED;
	gm_vm_write_shared(ctx->vm, GM_GUEST_MAILBOX, &mailbox, sizeof(mailbox));
	return NULL;
}

static void *host_thread(void *arg)
{
	struct host_args *h = arg;

	h->ctx->cfg->host_thread(h->ctx->cfg->opaque, h->ctx->vm, h->ctx->private,
				 GM_GUEST_RAM_BASE, h->ctx->cfg->mem, &h->stop);
	return NULL;
}

static void describe_exit(struct gm_run_result *r, unsigned int vcpu, const struct gm_exit *e)
{
	switch (e->reason) {
	case GM_EXIT_GUEST_EXIT:
		snprintf(r->message, sizeof(r->message), "vCPU %u exited with status %" PRId64,
			 vcpu, e->status);
		break;
	case GM_EXIT_MEMORY_FAULT:
		snprintf(r->message, sizeof(r->message),
			 "vCPU %u: memory fault at gpa %#" PRIx64 " (%s access, no memslot or the "
			 "page is %s)", vcpu, e->fault.gpa, e->fault.private ? "private" : "shared",
			 e->fault.private ? "shared" : "private");
		break;
	case GM_EXIT_ERROR:
		/* A lazy restore's page that failed to open (gm_vm_restore). */
		if (e->status == -EBADMSG)
			snprintf(r->message, sizeof(r->message), "vCPU %u: a page of the snapshot "
				 "failed to authenticate when first touched", vcpu);
		else
			snprintf(r->message, sizeof(r->message), "vCPU %u: engine error: %s", vcpu,
				 strerror((int)-e->status));
		break;
	default:
		snprintf(r->message, sizeof(r->message), "vCPU %u stopped because another failed",
			 vcpu);
		break;
	}
}

static void judge(struct gm_run_result *r, const struct gm_exit *exits, unsigned int n)
{
	r->pass = true;
	r->exited = true;
	for (unsigned int i = 0; i < n; i++) {
		if (exits[i].reason != GM_EXIT_GUEST_EXIT)
			r->exited = false;
		else if (!r->exit_status)
			r->exit_status = exits[i].status;
	}
	for (unsigned int i = 0; i < n && r->pass; i++) {
		if (exits[i].reason == GM_EXIT_GUEST_EXIT && exits[i].status == 0)
			continue;
		r->pass = false;
		describe_exit(r, i, &exits[i]);
	}
	for (unsigned int i = 0; i < n && r->pass; i++)
		if (exits[i].reason == GM_EXIT_STOPPED)
			describe_exit(r, i, &exits[i]);
	if (r->pass && (r->stats.report[GM_REPORT_MISMATCHES] || r->stats.report[GM_REPORT_NONZERO])) {
		r->pass = false;
		snprintf(r->message, sizeof(r->message), "the guest saw %" PRIu64
			 " mismatched and %" PRIu64 " non-zero words",
			 r->stats.report[GM_REPORT_MISMATCHES], r->stats.report[GM_REPORT_NONZERO]);
	}
}

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)w->seconds;
	deadline.tv_nsec += (long)((w->seconds - (double)(time_t)w->seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
	if (!w->done) {
		w->fired = true;
		gm_vm_stop(w->vm);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int run_watchdog_start(struct watchdog *w, pthread_t *thread)
{
	pthread_condattr_t attr;
	int ret;

	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = -pthread_create(thread, NULL, watchdog_thread, w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
	return ret;
}

bool run_watchdog_end(struct watchdog *w, pthread_t thread)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return w->fired;
}

/* gm_vm_run(), stopped by the snapshot timer when asked (ctx->snap_fired). */
static int run_vcpus(struct run_ctx *ctx, const struct gm_vm_handlers *handlers,
		     struct gm_exit *exits)
{
	struct watchdog dog = { .vm = ctx->vm, .seconds = ctx->cfg->snapshot_after };
	pthread_t thread;
	int ret;

	if (!(ctx->cfg->snapshot_after > 0))
		return gm_vm_run(ctx->vm, handlers, exits);
	ret = run_watchdog_start(&dog, &thread);
	if (ret)
		return ret;
	ret = gm_vm_run(ctx->vm, handlers, exits);
	ctx->snap_fired = run_watchdog_end(&dog, thread);
	return ret;
}

static int run_guest(struct run_ctx *ctx)
{
	struct gm_vm_handlers handlers = {
		.opaque = ctx, .print = on_print, .progress = on_progress,
		.memory_fault = on_memory_fault,
	};
	struct gm_exit exits[GM_GUEST_MAX_VCPUS];
	struct host_args host = { .ctx = ctx };
	struct watchdog dog = { .vm = ctx->vm, .seconds = ctx->cfg->timeout };
	bool retouch = is_builtin(ctx->cfg, "retouch");
	struct gm_mig_sender *mig = NULL;
	pthread_t thread, dog_thread;
	bool hosted = false, watched = false;
	double start, end, cpu_start, cpu_end;
	int ret;

	if (ctx->cfg->timeout > 0) {
		ret = run_watchdog_start(&dog, &dog_thread);
		if (ret)
			return ret;	/* a run without its limit is not what was asked */
		watched = true;
	}
	/* The helper first: the retouch host thread reads pop.running. */
	ret = ctx->cfg->shared_only && ctx->cfg->populate_ahead ? run_populate_start(ctx) : 0;
	if (!ret && (ctx->cfg->host_thread || retouch))
		hosted = !pthread_create(&thread, NULL, retouch ? retouch_host : host_thread, &host);
	if (!ret && retouch && !hosted)
		ret = -EAGAIN;	/* the guest would wait for the host forever */
	if (!ret && ctx->cfg->migrate_to)
		ret = run_migrate_start(ctx, &mig);
	if (ret) {
		if (hosted) {
			atomic_store(&host.stop, true);
			pthread_join(thread, NULL);
		}
		run_populate_stop(&ctx->pop);
		if (watched)
			run_watchdog_end(&dog, dog_thread);
		return ret;
	}
	start = gm_clock_now();
	cpu_start = gm_clock_cpu();
	ret = run_vcpus(ctx, &handlers, exits);
	end = gm_clock_now();
	cpu_end = gm_clock_cpu();
	if (watched)
		ctx->result->timed_out = run_watchdog_end(&dog, dog_thread);
	ctx->result->guest_seconds = end - start;
	ctx->result->guest_cpu_seconds = cpu_end - cpu_start;
	if (hosted) {
		atomic_store(&host.stop, true);
		pthread_join(thread, NULL);
	}
	run_populate_stop(&ctx->pop);	/* after the host thread, which may restart it */
	if (host.punched_at) {
		ctx->result->retouch_seconds = end - host.punched_at;
		ctx->result->retouch_cpu_seconds = cpu_end - host.punched_cpu;
	}
	if (ret && ret != -EIO && ret != -EINTR) {
		if (mig)
			gm_mig_send_finish(mig, false, NULL, 0, &ctx->result->migration);
		return ret;
	}
	note_frames(ctx);
	gm_vm_get_stats(ctx->vm, &ctx->result->stats);
	for (unsigned int k = 0; k < 8; k++)
		ctx->result->stats.report[k] += ctx->saved_report[k];
	judge(ctx->result, exits, ctx->cfg->vcpus);
	if (ctx->result->timed_out) {
		ctx->result->pass = false;
		snprintf(ctx->result->message, sizeof(ctx->result->message),
			 "timed out after %g s", ctx->cfg->timeout);
	}
	if (mig)
		run_migrate_finish(ctx, mig, exits);
	/* Stopped for the snapshot, and nothing failed first: take it. */
	if (ctx->snap_fired && !ctx->result->timed_out && run_snapshot_wanted(ctx, exits))
		return run_take_snapshot(ctx);
	return 0;
}

int gm_run(const struct gm_run_config *cfg, struct gm_run_result *result)
{
	struct run_ctx *ctx = calloc(1, sizeof(*ctx));
	double start = gm_clock_now();
	int ret;

	memset(result, 0, sizeof(*result));
	result->resume_fd = -1;
	if (!ctx)
		return -ENOMEM;
	ctx->cfg = cfg;
	ctx->result = result;
	ctx->owner_vm_fd = -1;
	ret = gm_run_check(cfg, result->message, sizeof(result->message));
	if (ret)
		goto out;
	if (cfg->kernel) {
		ret = run_linux(ctx);
		goto out;
	}
	ret = build_vm(ctx) ?: (cfg->restore ? run_restore_vm(ctx) : boot_guest(ctx));
	if (ret) {
		if (cfg->restore)
			snprintf(result->message, sizeof(result->message),
				 "the snapshot cannot be restored: %s", run_restore_error(ret));
		else
			snprintf(result->message, sizeof(result->message),
				 "could not set up the VM: %s", strerror(-ret));
		goto out;
	}
	result->engine = gm_vm_engine_name(ctx->vm);
	ret = run_guest(ctx);
	if (ret)
		snprintf(result->message, sizeof(result->message), "could not run the VM: %s",
			 strerror(-ret));
out:
	teardown(ctx);
	result->frames_peak = atomic_load(&ctx->frames_peak);
	result->frames_end = frames_in_use();
	result->seconds = gm_clock_now() - start;
	free(ctx);
	return ret;
}
