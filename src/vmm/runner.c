/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>

#include "array.h"
#include "guest-images.h"
#include "clock.h"
#include "guest-elf.h"
#include "runner.h"

#define MAX_MEM		(64ULL << 30)
#define SZ_2M		(2ULL << 20)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

/*
 * The kernel side's helper (cfg->populate_ahead): populates [done, want)
 * of the RAM memslot's mapping in 2 MiB steps.  Lock order: lock alone.
 */
struct populate {
	uint8_t *win;			/* the memslot's mapping of the RAM memfd */
	uint64_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t done, want;		/* under lock; bytes from RAM's start */
	uint64_t generation;		/* under lock: bumped when RAM is punched */
	bool stop;			/* under lock */
	pthread_t thread;
	bool running;
};

struct run_ctx {
	const struct gm_run_config *cfg;
	struct gm_run_result *result;
	struct gm_vm *vm;
	struct gm_file *boot, *shared, *private;
	int owner_vm_fd;		/* a VM that owns the kvm store's file, for emu */
	bool snap_fired;		/* the snapshot timer stopped the guest */
	uint64_t saved_report[8];	/* cfg->restore: the reports before the snapshot */
	_Atomic uint64_t done[GM_GUEST_MAX_VCPUS];
	_Atomic int64_t frames_peak;
	struct populate pop;
};

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
		if (is_builtin(cfg, "convert") || (!cfg->guest && (cfg->mem / cfg->vcpus) % SZ_2M)) {
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

static void populate_follow(struct run_ctx *ctx, uint64_t done);

static void on_progress(void *opaque, unsigned int vcpu, uint64_t done)
{
	struct run_ctx *ctx = opaque;
	uint64_t sum = 0;

	note_frames(ctx);
	if (ctx->pop.running)
		populate_follow(ctx, done);
	if (vcpu >= GM_GUEST_MAX_VCPUS || !ctx->cfg->progress)
		return;
	atomic_store(&ctx->done[vcpu], done);
	for (unsigned int i = 0; i < GM_GUEST_MAX_VCPUS; i++)
		sum += atomic_load(&ctx->done[i]);
	ctx->cfg->progress(ctx->cfg->opaque, sum, ctx->cfg->mem);
}

/* ---- building the VM ---- */

static int make_sized(const char *name, unsigned int flags, uint64_t size, struct gm_file **f)
{
	int ret = gm_memfd_create(name, flags, f);

	if (!ret)
		ret = gm_ftruncate(*f, (off_t)size);
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
		return make_sized("guestmem-ram", GM_MFD_CLOEXEC | huge, cfg->mem, &ctx->shared);
	return make_sized("guestmem-ram", GM_MFD_CLOEXEC | huge, cfg->mem, &ctx->shared) ?:
	       make_sized("guestmem-private", GM_MFD_GUEST | huge, cfg->mem, &ctx->private);
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
	ret = make_sized("guestmem-boot", GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE, &ctx->boot) ?:
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
		.flags = cfg->private ? GM_GUEST_F_PRIVATE : 0, .nr_vcpus = cfg->vcpus,
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

/* ---- the kernel side's helper (cfg->populate_ahead) ---- */

/*
 * The RAM memslot's mapping of @fd (@size bytes from offset 0).  The
 * library maps each memslot once and keeps the address to itself, so look
 * for it in /proc/self/maps by the memfd's device and inode.  NULL: none.
 */
static uint8_t *find_window(int fd, uint64_t size)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	uint8_t *win = NULL;
	char line[512];
	struct stat st;
	FILE *maps;

	if (fstat(fd, &st))
		return NULL;
	maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return NULL;
	while (!win && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &off, &maj, &min,
			   &ino) == 6 && ino == st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && !off && end - start == size)
			win = (uint8_t *)(uintptr_t)start;
	fclose(maps);
	return win;
}

static void *populate_thread(void *arg)
{
	struct populate *p = arg;
	uint64_t off, len, generation;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->done >= p->want) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		off = p->done;
		len = p->size - off < SZ_2M ? p->size - off : SZ_2M;
		generation = p->generation;
		pthread_mutex_unlock(&p->lock);
		madvise(p->win + off, len, MADV_POPULATE_WRITE);
		pthread_mutex_lock(&p->lock);
		if (generation == p->generation)	/* else RAM was punched meanwhile */
			p->done = off + len;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Populate up to the end of the range after @pos's and populate_ahead more; @restart: from 0. */
static void populate_upto(struct run_ctx *ctx, uint64_t pos, bool restart)
{
	struct populate *p = &ctx->pop;
	uint64_t want = (pos & ~(SZ_2M - 1)) + (1 + (uint64_t)ctx->cfg->populate_ahead) * SZ_2M;

	pthread_mutex_lock(&p->lock);
	if (restart) {
		p->generation++;
		p->done = 0;
		p->want = 0;
	}
	if (want > p->size)
		want = p->size;
	if (want > p->want) {
		p->want = want;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

/* GM_HC_PROGRESS from a vCPU: bytes done; retouch's second pass counts from RAM's size. */
static void populate_follow(struct run_ctx *ctx, uint64_t done)
{
	populate_upto(ctx, done > ctx->cfg->mem ? done - ctx->cfg->mem : done, false);
}

static int populate_start(struct run_ctx *ctx)
{
	struct populate *p = &ctx->pop;
	int fd = gm_file_fd(ctx->shared);

	p->win = fd >= 0 ? find_window(fd, ctx->cfg->mem) : NULL;
	if (!p->win)
		return -ENOENT;
	p->size = ctx->cfg->mem;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	populate_upto(ctx, 0, true);	/* as a guest's first fault starts the library's */
	if (pthread_create(&p->thread, NULL, populate_thread, p)) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		return -EAGAIN;
	}
	p->running = true;
	return 0;
}

static void populate_stop(struct populate *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
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
		populate_upto(ctx, 0, true);
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

/* Stops the VM when the run's time is up, unless told the run ended first. */
struct watchdog {
	struct gm_vm *vm;
	double seconds;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;		/* under lock */
	bool fired;
};

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

static int watchdog_start(struct watchdog *w, pthread_t *thread)
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

static bool watchdog_end(struct watchdog *w, pthread_t thread)
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

/* ---- snapshots (cfg->snapshot_after, cfg->restore) ---- */

/* The caller's bytes of a run's snapshot: its configuration and reports. */
#define RUN_BLOB_MAGIC	"gmrun\0\0\1"

enum { BLOB_PRIVATE = 1, BLOB_CONVERT = 2, BLOB_GUEST = 4 };

struct run_blob {
	char magic[8];
	uint32_t engine;		/* enum gm_engine_kind: the one that ran */
	uint32_t store;
	uint32_t vcpus;
	uint32_t flags;
	uint64_t mem;
	uint64_t report[8];
	char label[256];
};

/* A progress bar for long work: @done() against @total, every 100 ms. */
struct work_bar {
	struct run_ctx *ctx;
	uint64_t (*done)(struct work_bar *bar);
	uint64_t total, start;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;			/* under lock */
	pthread_t thread;
	bool running;
};

static void *work_bar_thread(void *arg)
{
	struct work_bar *b = arg;
	struct timespec at;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		uint64_t done = b->done(b);

		b->ctx->cfg->progress(b->ctx->cfg->opaque, done < b->total ? done : b->total, b->total);
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_nsec += 100000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cond, &b->lock, &at);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static void work_bar_start(struct work_bar *b)
{
	if (!b->ctx->cfg->progress || !b->total)
		return;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->running = !pthread_create(&b->thread, NULL, work_bar_thread, b);
	if (!b->running) {
		pthread_cond_destroy(&b->cond);
		pthread_mutex_destroy(&b->lock);
	}
}

static void work_bar_end(struct work_bar *b)
{
	if (!b->running)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

/* Bytes written to the snapshot so far. */
static uint64_t written(struct work_bar *b)
{
	off_t at = lseek(b->ctx->cfg->snapshot_fd, 0, SEEK_CUR);

	return at > 0 && (uint64_t)at > b->start ? (uint64_t)at - b->start : 0;
}

/* Bytes the restore has read. */
static uint64_t restored(struct work_bar *b)
{
	struct gm_vm_stats st;

	gm_vm_get_stats(b->ctx->vm, &st);
	return st.restore_bytes_read;
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
	ret = watchdog_start(&dog, &thread);
	if (ret)
		return ret;
	ret = gm_vm_run(ctx->vm, handlers, exits);
	ctx->snap_fired = watchdog_end(&dog, thread);
	return ret;
}

/* Was a vCPU stopped mid-way, and did every other end well? */
static bool snapshot_wanted(const struct run_ctx *ctx, const struct gm_exit *exits)
{
	bool stopped = false;

	for (unsigned int i = 0; i < ctx->cfg->vcpus; i++) {
		if (exits[i].reason == GM_EXIT_STOPPED)
			stopped = true;
		else if (exits[i].reason != GM_EXIT_GUEST_EXIT || exits[i].status)
			return false;
	}
	return stopped;
}

static void fill_blob(const struct run_ctx *ctx, struct run_blob *blob)
{
	const struct gm_run_config *cfg = ctx->cfg;
	enum gm_engine_kind engine = GM_ENGINE_EMU;

	memset(blob, 0, sizeof(*blob));
	memcpy(blob->magic, RUN_BLOB_MAGIC, sizeof(blob->magic));
	gm_run_parse_engine(gm_vm_engine_name(ctx->vm), &engine);
	blob->engine = engine;
	blob->store = cfg->store;
	blob->vcpus = cfg->vcpus;
	blob->flags = (cfg->private ? BLOB_PRIVATE : 0) | (cfg->convert_on_fault ? BLOB_CONVERT : 0) |
		      (cfg->guest || cfg->restore_guest ? BLOB_GUEST : 0);
	blob->mem = cfg->mem;
	memcpy(blob->report, ctx->result->stats.report, sizeof(blob->report));
	snprintf(blob->label, sizeof(blob->label), "%s", cfg->workload ? cfg->workload : "");
}

static int take_snapshot(struct run_ctx *ctx)
{
	struct gm_run_result *r = ctx->result;
	struct work_bar bar = { .ctx = ctx, .done = written, .total = ctx->cfg->mem };
	off_t start = lseek(ctx->cfg->snapshot_fd, 0, SEEK_CUR), end;
	struct run_blob blob;
	int ret;

	fill_blob(ctx, &blob);
	bar.start = start > 0 ? (uint64_t)start : 0;
	work_bar_start(&bar);
	ret = gm_vm_snapshot(ctx->vm, ctx->cfg->snapshot_fd, ctx->cfg->key, 0, &blob, sizeof(blob));
	work_bar_end(&bar);
	if (ret) {
		snprintf(r->message, sizeof(r->message), "could not write the snapshot: %s",
			 strerror(-ret));
		return ret;
	}
	end = lseek(ctx->cfg->snapshot_fd, 0, SEEK_CUR);
	r->snapshot_bytes = start >= 0 && end > start ? (uint64_t)(end - start) : 0;
	r->snapshotted = true;
	r->pass = true;
	r->message[0] = '\0';
	return 0;
}

/* Why a snapshot was refused, in words. */
static const char *restore_error(int err)
{
	switch (err) {
	case -EKEYREJECTED:
		return "the key does not open it";
	case -EBADMSG:
		return "it was changed, reordered or cut short (a record fails to authenticate)";
	case -EINVAL:
		return "it is not a snapshot of a guestmem run, or not of this VM";
	default:
		return strerror(-err);
	}
}

int gm_run_saved_read(int fd, const uint8_t *key, struct gm_run_config *cfg,
		      struct gm_run_saved *saved, char *why, size_t why_len)
{
	struct run_blob blob;
	size_t len = sizeof(blob);
	int ret = gm_snapshot_app(fd, key, &blob, &len);

	if (ret == -ENOBUFS || (!ret && (len != sizeof(blob) || memcmp(blob.magic, RUN_BLOB_MAGIC,
								      sizeof(blob.magic)))))
		ret = -EINVAL;	/* a snapshot, but not of a guestmem run */
	if (!ret && (blob.engine < GM_ENGINE_KVM || blob.engine > GM_ENGINE_EMU ||
		     blob.store > GM_RUN_KVM || !blob.vcpus || blob.vcpus > GM_GUEST_MAX_VCPUS))
		ret = -EINVAL;
	if (ret) {
		snprintf(why, why_len, "%s", restore_error(ret));
		return ret;
	}
	blob.label[sizeof(blob.label) - 1] = '\0';
	memcpy(saved->label, blob.label, sizeof(saved->label));
	cfg->engine = (enum gm_engine_kind)blob.engine;
	cfg->store = (enum gm_run_store)blob.store;
	cfg->vcpus = blob.vcpus;
	cfg->mem = blob.mem;
	cfg->workload = saved->label;
	cfg->private = blob.flags & BLOB_PRIVATE;
	cfg->convert_on_fault = blob.flags & BLOB_CONVERT;
	cfg->restore_guest = blob.flags & BLOB_GUEST;
	return 0;
}

/* Restore one stream of a run onto ctx->vm; its reports so far count. */
static int restore_stream(struct run_ctx *ctx, int fd, bool lazy)
{
	struct run_blob blob;
	size_t len = sizeof(blob);
	int ret;

	ret = gm_vm_restore(ctx->vm, fd, ctx->cfg->key, lazy ? GM_RESTORE_LAZY : 0, &blob, &len);
	if (!ret && (len != sizeof(blob) || memcmp(blob.magic, RUN_BLOB_MAGIC, sizeof(blob.magic))))
		ret = -EINVAL;
	if (!ret)
		memcpy(ctx->saved_report, blob.report, sizeof(ctx->saved_report));
	return ret;
}

/* A migration's further rounds (cfg->restore_next), each answered with its result. */
static int restore_rounds(struct run_ctx *ctx, int status)
{
	struct stat st;

	ctx->result->restore_rounds = 1;
	for (;;) {
		int fd = ctx->cfg->restore_next(ctx->cfg->restore_opaque, status);

		if (status)
			return status;
		if (fd == -ENODATA)
			return 0;
		if (fd < 0)
			return fd;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode))
			ctx->result->restore_bytes += (uint64_t)st.st_size;
		ctx->result->restore_rounds++;
		status = restore_stream(ctx, fd, false);
	}
}

/*
 * Boot the VM as the run did (a built-in workload's code, or one hlt: the
 * boot slot comes back from the snapshot with the --guest trampoline), then
 * restore the snapshot over it.
 */
static int restore_vm(struct run_ctx *ctx)
{
	static const uint8_t halt = 0xf4;
	const struct gm_run_config *cfg = ctx->cfg;
	const struct gm_guest_image *img = cfg->restore_guest ? NULL :
					   gm_guest_image_find(cfg->workload);
	struct gm_vm_boot boot = {
		.code = img ? img->start : &halt, .code_size = img ? img->size : 1,
		.ram_base = GM_GUEST_RAM_BASE, .ram_size = cfg->mem,
		.flags = cfg->private ? GM_GUEST_F_PRIVATE : 0, .nr_vcpus = cfg->vcpus,
	};
	struct work_bar bar = { .ctx = ctx, .done = restored };
	struct stat st;
	int ret;

	if (ctx->private && !cfg->private)
		boot.ram_base |= GM_GUEST_SHARED_BIT;
	if (!fstat(cfg->restore_fd, &st) && S_ISREG(st.st_mode))
		ctx->result->restore_bytes = (uint64_t)st.st_size;
	ret = gm_vm_boot(ctx->vm, &boot);
	if (ret)
		return ret;
	/* Eager: checked, then applied, each a read of the whole stream. */
	bar.total = cfg->restore_lazy ? 0 : 2 * ctx->result->restore_bytes;
	work_bar_start(&bar);
	ret = restore_stream(ctx, cfg->restore_fd, cfg->restore_lazy);
	work_bar_end(&bar);
	return cfg->restore_next ? restore_rounds(ctx, ret) : ret;
}

/* ---- live migration (cfg->migrate_to; migrate.h) ---- */

static int migrate_start(struct run_ctx *ctx, struct gm_mig_sender **mig)
{
	static const uint32_t slots[] = { 0, 1 };	/* boot and RAM (build_vm) */
	struct run_blob blob;

	fill_blob(ctx, &blob);
	return gm_mig_send_start(mig, ctx->vm, ctx->cfg->migrate_to, ctx->cfg->migrate_after,
				 slots, 2, ctx->cfg->key, &blob, sizeof(blob));
}

/* Every vCPU stopped where it stood or ended well: the guest can move. */
static bool migration_ready(const struct run_ctx *ctx, const struct gm_exit *exits)
{
	if (ctx->result->timed_out)
		return false;
	for (unsigned int i = 0; i < ctx->cfg->vcpus; i++)
		if (exits[i].reason != GM_EXIT_STOPPED &&
		    (exits[i].reason != GM_EXIT_GUEST_EXIT || exits[i].status))
			return false;
	return true;
}

/*
 * The guest was stopped for a migration that failed: keep it, with @blob
 * (the run's configuration and reports), for the caller to resume.
 */
static void keep_here(struct run_ctx *ctx, const struct run_blob *blob)
{
	struct gm_run_result *r = ctx->result;
	int fd = memfd_create("guestmem-resume", MFD_CLOEXEC);
	int ret;

	ret = fd < 0 ? -errno : gm_vm_snapshot(ctx->vm, fd, ctx->cfg->key, 0, blob, sizeof(*blob));
	if (!ret && lseek(fd, 0, SEEK_SET))
		ret = -errno;
	if (ret) {
		if (fd >= 0)
			close(fd);
		snprintf(r->message, sizeof(r->message), "the migration failed (%.120s) and "
			 "the stopped guest cannot go on here: %s", r->migration.message, strerror(-ret));
		return;
	}
	r->resume_fd = fd;
	snprintf(r->message, sizeof(r->message), "the migration failed: %.200s",
		 r->migration.message);
}

static void migrate_finish(struct run_ctx *ctx, struct gm_mig_sender *mig,
			   const struct gm_exit *exits)
{
	struct gm_run_result *r = ctx->result;
	bool ready = migration_ready(ctx, exits);
	struct run_blob blob;

	fill_blob(ctx, &blob);
	if (!gm_mig_send_finish(mig, ready, &blob, sizeof(blob), &r->migration)) {
		r->migrated = true;
		r->pass = true;
		r->message[0] = '\0';
		return;
	}
	if (r->migration.stopped) {
		r->pass = false;
		keep_here(ctx, &blob);
	} else if (r->pass) {
		r->pass = false;
		snprintf(r->message, sizeof(r->message),
			 "the migration failed: %.180s (the guest ran to its end here)",
			 r->migration.message);
	}
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
		ret = watchdog_start(&dog, &dog_thread);
		if (ret)
			return ret;	/* a run without its limit is not what was asked */
		watched = true;
	}
	/* The helper first: the retouch host thread reads pop.running. */
	ret = ctx->cfg->shared_only && ctx->cfg->populate_ahead ? populate_start(ctx) : 0;
	if (!ret && (ctx->cfg->host_thread || retouch))
		hosted = !pthread_create(&thread, NULL, retouch ? retouch_host : host_thread, &host);
	if (!ret && retouch && !hosted)
		ret = -EAGAIN;	/* the guest would wait for the host forever */
	if (!ret && ctx->cfg->migrate_to)
		ret = migrate_start(ctx, &mig);
	if (ret) {
		if (hosted) {
			atomic_store(&host.stop, true);
			pthread_join(thread, NULL);
		}
		populate_stop(&ctx->pop);
		if (watched)
			watchdog_end(&dog, dog_thread);
		return ret;
	}
	start = gm_clock_now();
	cpu_start = gm_clock_cpu();
	ret = run_vcpus(ctx, &handlers, exits);
	end = gm_clock_now();
	cpu_end = gm_clock_cpu();
	if (watched)
		ctx->result->timed_out = watchdog_end(&dog, dog_thread);
	ctx->result->guest_seconds = end - start;
	ctx->result->guest_cpu_seconds = cpu_end - cpu_start;
	if (hosted) {
		atomic_store(&host.stop, true);
		pthread_join(thread, NULL);
	}
	populate_stop(&ctx->pop);	/* after the host thread, which may restart it */
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
		migrate_finish(ctx, mig, exits);
	/* Stopped for the snapshot, and nothing failed first: take it. */
	if (ctx->snap_fired && !ctx->result->timed_out && snapshot_wanted(ctx, exits))
		return take_snapshot(ctx);
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
	ret = build_vm(ctx) ?: (cfg->restore ? restore_vm(ctx) : boot_guest(ctx));
	if (ret) {
		if (cfg->restore)
			snprintf(result->message, sizeof(result->message),
				 "the snapshot cannot be restored: %s", restore_error(ret));
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
