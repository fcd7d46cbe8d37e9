/* SPDX-License-Identifier: MIT */
/*
 * A run's snapshots (gm_run_config.snapshot_after), restores
 * (gm_run_config.restore, with a migration's further rounds) and live
 * migration's hooks (gm_run_config.migrate_to; the protocol is migrate.c).
 * Each stream carries the run's configuration and reports (struct run_blob)
 * as its caller's bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest-images.h"
#include "run-internal.h"

/* The caller's bytes of a run's snapshot: its configuration and reports. */
#define RUN_BLOB_MAGIC	"gmrun\0\0\1"

enum { BLOB_PRIVATE = 1, BLOB_CONVERT = 2, BLOB_GUEST = 4, BLOB_IN_PLACE = 8 };

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

/* Was a vCPU stopped mid-way, and did every other end well? */
bool run_snapshot_wanted(const struct run_ctx *ctx, const struct gm_exit *exits)
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
		      (cfg->guest || cfg->restore_guest ? BLOB_GUEST : 0) |
		      (cfg->in_place ? BLOB_IN_PLACE : 0);
	blob->mem = cfg->mem;
	memcpy(blob->report, ctx->result->stats.report, sizeof(blob->report));
	snprintf(blob->label, sizeof(blob->label), "%s", cfg->workload ? cfg->workload : "");
}

int run_take_snapshot(struct run_ctx *ctx)
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
const char *run_restore_error(int err)
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
		snprintf(why, why_len, "%s", run_restore_error(ret));
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
	cfg->in_place = blob.flags & BLOB_IN_PLACE;
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
int run_restore_vm(struct run_ctx *ctx)
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

int run_migrate_start(struct run_ctx *ctx, struct gm_mig_sender **mig)
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

void run_migrate_finish(struct run_ctx *ctx, struct gm_mig_sender *mig,
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
