/* SPDX-License-Identifier: MIT */
/*
 * The guestmem program: one file per subcommand, dispatched from main.c.
 *
 * A subcommand gets argv with its own name in argv[0] and returns the
 * program's exit status: GM_STATUS_OK, GM_STATUS_FAIL (it ran and something
 * failed) or GM_STATUS_USAGE (bad command line).  Errors are one line on
 * stderr, written with gm_cli_error().
 */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define GM_STATUS_OK	0
#define GM_STATUS_FAIL	1
#define GM_STATUS_USAGE	2

/*
 * A subcommand's option parser returns 0 to go on, an exit status to stop
 * with (GM_STATUS_USAGE), or GM_ARGS_HELP once --help is printed (exit 0):
 * a value no exit status has.
 */
#define GM_ARGS_HELP	(-1)

struct gm_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);	/* the options, for --help */
	const char *summary;		/* one line for `guestmem --help` */
};

/* Print "guestmem[ <cmd>]: <message>\n" on stderr. */
void gm_cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Report a bad option of @cmd as one line on stderr.  Call right after
 * getopt_long() returned '?' or ':'.  Return: GM_STATUS_USAGE.
 */
int gm_cli_bad_option(const char *cmd, char **argv);

/*
 * Report an option of @cmd given without its value as one line on stderr.
 * Call right after getopt_long() returned ':' (':' leads the optstring).
 * Return: GM_STATUS_USAGE.
 */
int gm_cli_missing_value(const char *cmd, char **argv);

int gm_cmd_info(int argc, char **argv);
void gm_cmd_info_usage(FILE *out);
int gm_cmd_run(int argc, char **argv);
void gm_cmd_run_usage(FILE *out);
int gm_cmd_bench(int argc, char **argv);
void gm_cmd_bench_usage(FILE *out);
int gm_cmd_restore(int argc, char **argv);
void gm_cmd_restore_usage(FILE *out);
int gm_cmd_receive(int argc, char **argv);
void gm_cmd_receive_usage(FILE *out);

struct gm_run_config;
/*
 * gm_cmd_run_restored - run @cfg (a snapshot's run, restore set) as `run`
 * runs a guest: progress bar, summary (@json), exit status, errors in the
 * name of @cmd; *@err is gm_run()'s error, for `restore` and `receive` to
 * tell a refused stream.
 */
int gm_cmd_run_restored(struct gm_run_config *cfg, const char *cmd, bool json, int *err);

#endif
