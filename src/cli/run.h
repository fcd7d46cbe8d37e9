/* SPDX-License-Identifier: MIT */
/*
 * guestmem run, private to its files: cmd-run.c (the options, the run, its
 * summary) and run-linux-opts.c (--kernel and the options that go with it,
 * and what a Linux run adds to the summary).
 */
#ifndef GM_CLI_RUN_H
#define GM_CLI_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "options.h"
#include "runner.h"

struct run_opts {
	struct gm_run_config cfg;
	bool json;
	bool bar;
	int last_percent;
	bool workload_given;
	const char *guest;		/* --guest FILE */
	const char *cmd;		/* "run", or "restore" (gm_cmd_run_restored) */
	int err;			/* gm_run()'s error */
	bool snapshotted;
	const char *snapshot_to;	/* --snapshot-to FILE */
	const char *key_file;		/* --key-file FILE */
	bool migrate_after_given;
	bool migrated;			/* the receiver took the guest */
	int resume_fd;			/* the stopped guest, when the migration failed */
	struct gm_mig_report migration;	/* that migration, for the resumed run's JSON */
	const char *failed_migration_to;	/* set in the run resumed here after it */
	uint8_t key[GM_SNAPSHOT_KEY_SIZE];
	bool shared;			/* --shared */
	uint8_t search[256];		/* --search-host-view */
	char **guest_argv;		/* --guest-arg values, in order */
	unsigned int guest_argc;
};

/* The Linux options, under their heading: rows of run's table. */
extern const struct gm_opt run_linux_options[];

/*
 * The Linux options need --kernel, and --kernel no --workload or --private;
 * with it, RAM is private unless --shared.  Return: 0, or GM_STATUS_USAGE
 * after one line.
 */
int run_linux_check(struct run_opts *o);

/* --kernel or --initrd files that cannot be read or booted: a usage error. */
bool run_linux_refused(const struct run_opts *o, int err);

/* What a Linux run adds to the summary: in text, and in the JSON object. */
void run_linux_print_text(const struct run_opts *o, const struct gm_run_result *r);
void run_linux_json(struct gm_json *w, const struct run_opts *o, const struct gm_run_result *r);

#endif
