/* SPDX-License-Identifier: MIT */
/*
 * The VMM that `guestmem run` and the scenario tests share: build a VM with a
 * boot slot and a RAM slot from a chosen store, boot a guest program, run it,
 * and judge the result.
 */
#ifndef GM_CLI_RUNNER_H
#define GM_CLI_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <guestmem/guestmem.h>

#include "migrate.h"

struct gm_guest_elf;

enum gm_run_store {
	GM_RUN_SHMEM,
	GM_RUN_HUGETLB,
	GM_RUN_KVM,
};

struct gm_run_config {
	enum gm_engine_kind engine;
	enum gm_run_store store;
	uint64_t mem;			/* RAM bytes */
	unsigned int vcpus;
	const char *workload;		/* a guest image name; with @guest, only a label */
	/*
	 * A guest kit program (guest-elf.h) to run instead of the built-in
	 * @workload, opened by the caller and kept open for the run.
	 */
	const struct gm_guest_elf *guest;
	bool private;			/* RAM starts private */
	bool shared_only;		/* no private file: the kernel's own memfd slot */
	/*
	 * In place: RAM is one in-place guest-only file (GM_MFD_GUEST_MMAP,
	 * pages start shared) for both aliases; conversions change the page's
	 * state in the file and free nothing.  Else two files: an ordinary one
	 * for shared pages and a guest-only one for private pages.
	 */
	bool in_place;
	/* In place: ask the guest to keep the bytes when it converts (GM_GUEST_F_KEEP). */
	bool preserve;
	/*
	 * With @shared_only: a helper thread populates RAM ahead of the guest
	 * in 2 MiB steps (MADV_POPULATE_WRITE on the memslot's own mapping of
	 * the memfd: allocate, zero and map), keeping the 2 MiB range the guest
	 * is in and this many after it populated, as the library's prefault
	 * thread does for private memory, so that the kernel's path gets the
	 * same help (the benchmarks).  It follows the guest's GM_HC_PROGRESS
	 * (touch and retouch report every MiB; one vCPU touching in order) and
	 * starts over when retouch's host punches RAM.  0: no helper.
	 */
	unsigned int populate_ahead;
	/*
	 * The guest touches only a few MiB of RAM (convbench): RAM may be
	 * larger than the host's memory (not than 64 GiB).
	 */
	bool sparse;
	/*
	 * On a private/shared mismatch, convert the page to what the guest
	 * asked for and resume (an implicit page-state change), instead of
	 * stopping the guest.  With @private, RAM then starts shared and each
	 * page turns private when the guest first touches it.
	 */
	bool convert_on_fault;
	double timeout;			/* seconds the guest may run; 0: no limit */
	/*
	 * Snapshots (vm.h).  @snapshot_after > 0: stop the guest after that
	 * many seconds and write a snapshot sealed with @key to @snapshot_fd,
	 * holding this configuration and the guest's reports so far for
	 * gm_run_saved_read(); the run then ends with result->snapshotted.  A
	 * guest that ends first (or fails) ends the run as it would have.
	 */
	double snapshot_after;
	int snapshot_fd;
	const uint8_t *key;		/* GM_SNAPSHOT_KEY_SIZE bytes */
	/*
	 * @restore: instead of booting the guest, resume the snapshot at
	 * @restore_fd (sealed with @key), lazily with @restore_lazy, and run it
	 * to its end; its reports so far count in the result.  The rest of the
	 * configuration comes from gm_run_saved_read(); @restore_guest: the
	 * run was of a --guest program, @workload names it.
	 */
	bool restore;
	bool restore_lazy;
	bool restore_guest;
	int restore_fd;
	/*
	 * With @restore: a migration's further rounds, restored in turn after
	 * @restore_fd's.  Called after each restore with its result (0 or
	 * -errno), it returns the next stream's fd, -ENODATA when there are no
	 * more, or -errno to give up.
	 */
	int (*restore_next)(void *opaque, int status);
	void *restore_opaque;
	/*
	 * Live migration (migrate.h).  @migrate_to ("HOST:PORT"): send the
	 * running guest there @migrate_after seconds into the run, sealed with
	 * @key; the run then ends with result->migrated.  When that fails the
	 * guest goes on here: to its end, or, if it was stopped for the last
	 * round, from result->resume_fd, a snapshot of it for the caller to
	 * restore and run.
	 */
	const char *migrate_to;
	double migrate_after;
	/*
	 * Linux (run-linux.c): boot the bzImage at @kernel instead of a guest
	 * program, with @initrd (NULL: none) and @cmdline (NULL: the default),
	 * on a PC whose RAM (at gpa 0) is private, or with !@private the
	 * kernel's own memfd; everything placed by the private launch.  Its
	 * serial console goes to @console.  @ready_marker: console text whose
	 * first appearance is timed (result->ready_seconds).  @search (@search_len
	 * bytes): after the run, look for it in the host's view of guest RAM.
	 */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *ready_marker;
	const uint8_t *search;
	size_t search_len;
	FILE *console;			/* guest prints go here; NULL: discarded */
	/* Called on guest progress: done / total bytes, all vCPUs together. */
	void (*progress)(void *opaque, uint64_t done, uint64_t total);
	void *opaque;
	/*
	 * Called on another thread while the guest runs, with the VM and its
	 * RAM files (the race scenario punches and converts beneath the guest).
	 * Return when *stop becomes true.
	 */
	void (*host_thread)(void *opaque, struct gm_vm *vm, struct gm_file *private_file,
			    uint64_t ram_gpa, uint64_t mem, _Atomic bool *stop);
};

struct gm_run_result {
	const char *engine;
	struct gm_vm_stats stats;
	int64_t frames_peak;		/* pmem frames in use, highest seen */
	int64_t frames_end;		/* pmem frames in use after teardown */
	double seconds;			/* the whole run, set-up and teardown included */
	double guest_seconds;		/* the vCPUs alone, from start to the last exit */
	double retouch_seconds;		/* retouch: from the host's punch to the last exit */
	/* CPU time of the whole process (all threads, user + system) over the same spans. */
	double guest_cpu_seconds;
	double retouch_cpu_seconds;
	bool pass;
	bool exited;			/* every vCPU ended with GM_HC_EXIT */
	bool timed_out;			/* stopped at cfg->timeout */
	bool snapshotted;		/* stopped at cfg->snapshot_after, snapshot written */
	uint64_t snapshot_bytes;
	uint64_t restore_bytes;		/* cfg->restore: the stream's length (all rounds') */
	unsigned int restore_rounds;	/* cfg->restore_next: streams restored */
	bool migrated;			/* cfg->migrate_to: the guest goes on there */
	struct gm_mig_report migration;
	int resume_fd;			/* -1, or see cfg->migrate_to (the caller closes it) */
	int64_t exit_status;		/* the first non-zero GM_HC_EXIT status, else 0 */
	/* cfg->kernel: the launch digest, the console, the host's view after the run. */
	bool linux_boot;
	bool reset;			/* the guest reset the machine */
	uint8_t launch_digest[GM_LAUNCH_DIGEST_SIZE];
	double ready_seconds;		/* to cfg->ready_marker; < 0: never seen */
	uint64_t console_bytes;
	struct {
		uint64_t pages;		/* RAM pages the host tried to read */
		uint64_t pages_read;	/* ... and could, through gm_vm_read_shared() */
		uint64_t file_bytes_read;	/* bytes its files gave to gm_pread() */
		uint64_t search_hits;	/* places cfg->search was found in either */
		uint64_t kernel_pages_seen;	/* pages of the kernel image found */
		uint64_t kernel_pages;	/* pages of the kernel image looked for */
	} host_view;
	char message[256];		/* why it failed, one line */
};

/*
 * Parse "64M", "1G", "4096" (decimal, with an optional K, M or G and an
 * optional "iB" or "B"): bytes, or 0 for nonsense and for overflow.
 */
uint64_t gm_run_parse_size(const char *text);

/* Parse "auto", "kvm" or "emu".  Return: 0, or -EINVAL. */
int gm_run_parse_engine(const char *text, enum gm_engine_kind *engine);

/*
 * gm_run_check - reject a configuration this host cannot run, with a reason
 * in @why (one line).  Return: 0, -EINVAL (bad argument), -ENODEV (missing
 * engine or store), -ENOMEM (more memory than the host can give).
 */
int gm_run_check(const struct gm_run_config *cfg, char *why, size_t why_len);

/* What a snapshot of a run keeps of it, for gm_run_saved_read(). */
struct gm_run_saved {
	char label[256];		/* the workload, or the --guest file */
};

/*
 * gm_run_saved_read - the configuration of the run whose snapshot is at
 * @fd (seekable; not moved), sealed with @key, into @cfg (engine, store,
 * memory, vCPUs, workload (pointing into @saved), private, convert on
 * fault, in place, restore_guest); the caller then sets restore,
 * restore_fd and key.
 * Return: 0, or gm_snapshot_app()'s errno (-EKEYREJECTED: not this key;
 * -EBADMSG: damaged; -EINVAL: not a guestmem snapshot of a run), with the
 * reason in @why.
 */
int gm_run_saved_read(int fd, const uint8_t *key, struct gm_run_config *cfg,
		      struct gm_run_saved *saved, char *why, size_t why_len);

/*
 * gm_run - do it.  Return: 0 when the run happened (pass or fail is in
 * @result), or a negative errno when it could not be set up (reason in
 * result->message).  Either way nothing is left behind.
 */
int gm_run(const struct gm_run_config *cfg, struct gm_run_result *result);

#endif
