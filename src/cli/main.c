// SPDX-License-Identifier: MIT
/*
 * guestmem: the program.  main() only finds the subcommand in the table
 * below and hands it the rest of the command line, as kvmtool's kvm-cmd.c
 * does; each subcommand lives in its own cmd-<name>.c.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cli.h"

static const struct gm_cmd commands[] = {
	{ "info", gm_cmd_info, gm_cmd_info_usage,
	  "show what this host offers: KVM, guest_memfd, huge pages, engines, stores" },
	{ "run", gm_cmd_run, gm_cmd_run_usage,
	  "boot a guest with memory from a chosen store and run a workload" },
	{ "restore", gm_cmd_restore, gm_cmd_restore_usage,
	  "resume a run from the sealed snapshot that run --snapshot-after wrote" },
	{ "receive", gm_cmd_receive, gm_cmd_receive_usage,
	  "take a guest that run --migrate-to sends, and run it to its end here" },
	{ "bench", gm_cmd_bench, gm_cmd_bench_usage,
	  "measure guestmem's paths beside the kernel's own (DESIGN.md section 3)" },
};

#define NR_COMMANDS	GM_ARRAY_SIZE(commands)

void gm_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(cmd ? "guestmem " : "guestmem", stderr);
	if (cmd)
		fputs(cmd, stderr);
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int gm_cli_bad_option(const char *cmd, char **argv)
{
	/* getopt_long leaves the offending word just before optind. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	if (optopt && word[0] == '-' && word[1] != '-')
		gm_cli_error(cmd, "bad option '-%c' (try 'guestmem %s --help')", optopt, cmd);
	else
		gm_cli_error(cmd, "bad option '%s' (try 'guestmem %s --help')", word, cmd);
	return GM_STATUS_USAGE;
}

int gm_cli_missing_value(const char *cmd, char **argv)
{
	/* The option is the last word getopt_long read: nothing came after it. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	gm_cli_error(cmd, "'%s' needs a value (try 'guestmem %s --help')", word, cmd);
	return GM_STATUS_USAGE;
}

static const struct gm_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fputs("usage: guestmem <command> [options]\n"
	      "       guestmem help <command>\n\n"
	      "fd-based guest private memory for KVM, in user space.\n\n"
	      "commands:\n", out);
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'guestmem <command> --help' shows a command's options.\n", out);
}

static int is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
	       strcmp(arg, "help") == 0;
}

/* `guestmem help [<command>]`. */
static int cmd_help(int argc, char **argv)
{
	const struct gm_cmd *cmd;

	if (argc < 2) {
		usage(stdout);
		return GM_STATUS_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		gm_cli_error(NULL, "no command '%s' (try 'guestmem help')", argv[1]);
		return GM_STATUS_USAGE;
	}
	cmd->usage(stdout);
	return GM_STATUS_OK;
}

/* Output that never reached stdout (a full disk, a closed pipe) is a failure. */
static int finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		gm_cli_error(NULL, "cannot write the output");
		return status == GM_STATUS_OK ? GM_STATUS_FAIL : status;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct gm_cmd *cmd;

	if (argc < 2) {
		usage(stderr);
		return GM_STATUS_USAGE;
	}
	if (is_help(argv[1]))
		return finish(cmd_help(argc - 1, argv + 1));

	cmd = find_command(argv[1]);
	if (!cmd) {
		gm_cli_error(NULL, "no command '%s' (try 'guestmem --help')", argv[1]);
		return GM_STATUS_USAGE;
	}
	return finish(cmd->run(argc - 1, argv + 1));
}
