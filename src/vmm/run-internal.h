/* SPDX-License-Identifier: MIT */
/*
 * Inside gm_run(): a run's state, and what runner.c, run-populate.c (the
 * kernel side's populate helper) and run-snapshot.c (snapshots, restores
 * and live migration's hooks) call of each other.
 */
#ifndef GM_VMM_RUN_INTERNAL_H
#define GM_VMM_RUN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <guestmem/guest-abi.h>

#include "runner.h"

#define SZ_2M		(2ULL << 20)

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

/* ---- runner.c ---- */

/* Stops the VM when the run's time is up, unless told the run ended first. */
struct watchdog {
	struct gm_vm *vm;
	double seconds;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;		/* under lock */
	bool fired;
};

/* A memory file @name made with @flags, @size bytes long.  Return: 0 or -errno. */
int run_make_sized(const char *name, unsigned int flags, uint64_t size, struct gm_file **f);
/*
 * RAM in place: one in-place guest-only file of @mem bytes (pages start
 * shared), in *@private, with a second reference in *@shared.
 */
int run_in_place_file(uint64_t mem, unsigned int huge, struct gm_file **shared,
		      struct gm_file **private);

/* Start @w's thread.  Return: 0, or -errno (nothing started). */
int run_watchdog_start(struct watchdog *w, pthread_t *thread);
/* Tell it the run ended and join it.  Return: did it stop the VM? */
bool run_watchdog_end(struct watchdog *w, pthread_t thread);

/* ---- run-linux.c ---- */

/* gm_run() for cfg->kernel: build, launch, boot and run a Linux PC; 0 or -errno. */
int run_linux(struct run_ctx *ctx);

/* ---- run-populate.c ---- */

/* Start the helper over the RAM memslot's mapping.  Return: 0, -ENOENT, -EAGAIN. */
int run_populate_start(struct run_ctx *ctx);
/* Stop it (nothing if it never started). */
void run_populate_stop(struct populate *p);
/* Populate up to the 2 MiB range after @pos's and populate_ahead more; @restart: from 0. */
void run_populate_upto(struct run_ctx *ctx, uint64_t pos, bool restart);
/* GM_HC_PROGRESS from a vCPU: bytes done; retouch's second pass counts from RAM's size. */
void run_populate_follow(struct run_ctx *ctx, uint64_t done);

/* ---- run-snapshot.c ---- */

/* Was a vCPU stopped mid-way, and did every other end well? */
bool run_snapshot_wanted(const struct run_ctx *ctx, const struct gm_exit *exits);
/* Write the stopped guest's snapshot to cfg->snapshot_fd; 0 or -errno. */
int run_take_snapshot(struct run_ctx *ctx);
/* Why a snapshot was refused, in words. */
const char *run_restore_error(int err);
/* Boot the VM as the run did, then restore cfg->restore_fd (and further rounds) over it. */
int run_restore_vm(struct run_ctx *ctx);
/* Start the migration sender (cfg->migrate_to); 0 or -errno. */
int run_migrate_start(struct run_ctx *ctx, struct gm_mig_sender **mig);
/* End it once the vCPUs are back: the last round, or the guest kept here. */
void run_migrate_finish(struct run_ctx *ctx, struct gm_mig_sender *mig,
			const struct gm_exit *exits);

#endif
