/* SPDX-License-Identifier: MIT */
/*
 * A subcommand's options as a table, one row each, in the manner of
 * kvmtool's and git's parse-options: from it gm_opt_parse() builds
 * getopt_long()'s array and stores each value, and gm_opt_usage() writes
 * --help.  Values go into the subcommand's own options struct, at the
 * row's offset: a file defines GM_OPT_STRUCT as that struct's type before
 * its table, and the row macros check each field's type at compile time.
 *
 * Options that several subcommands share (--engine, --json, --key-file)
 * are described once, in gm_opt_shared[]; a subcommand's row takes one of
 * them and says only where its value goes.  --help and -h are every
 * subcommand's, without a row.
 */
#ifndef GM_CLI_OPTIONS_H
#define GM_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <guestmem/vm.h>

/* How a row's value is read and stored; the comment says into what. */
enum gm_opt_type {
	GM_OPTION_END,		/* the table's last row */
	GM_OPTION_GROUP,	/* no option: a heading in the help */
	GM_OPTION_INCLUDE,	/* another table's rows, into the same struct */
	GM_OPTION_SHARED,	/* a row of gm_opt_shared[], into this row's field */
	GM_OPTION_FLAG,		/* bool: no value, set */
	GM_OPTION_STRING,	/* const char *: the value as given */
	GM_OPTION_SIZE,		/* uint64_t: gm_run_parse_size(), not 0 */
	GM_OPTION_COUNT,	/* unsigned int: decimal, no sign */
	GM_OPTION_SECONDS,	/* double: decimal, over 0, a day at most */
	GM_OPTION_ENGINE,	/* enum gm_engine_kind: kvm, emu or auto */
	GM_OPTION_CALL,		/* @parse stores it, anywhere in the struct */
};

struct gm_opt {
	const char *name;		/* the long name, without "--" */
	const char *metavar;		/* the value in the help; NULL: takes none */
	enum gm_opt_type type;
	size_t offset;			/* the field in the options struct */
	/* GM_OPTION_CALL: store @value in @opts.  Return: 0, or -EINVAL. */
	int (*parse)(const char *value, void *opts);
	const struct gm_opt *rows;	/* INCLUDE: a table; SHARED: one row */
	const char *help;		/* one paragraph, wrapped when printed */
};

/* The shared options, by index into gm_opt_shared[]. */
enum {
	GM_OPT_SHARED_ENGINE,
	GM_OPT_SHARED_JSON,
	GM_OPT_SHARED_KEY_FILE,
	GM_OPT_NR_SHARED,
};

extern const struct gm_opt gm_opt_shared[GM_OPT_NR_SHARED];

/* @field's offset in GM_OPT_STRUCT; it does not compile unless @field is a @ctype. */
#define GM_OPT_AT(field, ctype)						\
	(offsetof(GM_OPT_STRUCT, field) +				\
	 sizeof(struct { int: -!__builtin_types_compatible_p(		\
		__typeof__(((GM_OPT_STRUCT *)NULL)->field), ctype); }) * 0)

#define GM_OPT_ROW(n, m, t, off, fn, h) \
	{ .name = (n), .metavar = (m), .type = (t), .offset = (off), .parse = (fn), .help = (h) }

#define GM_OPT_FLAG(n, field, h) \
	GM_OPT_ROW(n, NULL, GM_OPTION_FLAG, GM_OPT_AT(field, bool), NULL, h)
#define GM_OPT_STRING(n, m, field, h) \
	GM_OPT_ROW(n, m, GM_OPTION_STRING, GM_OPT_AT(field, const char *), NULL, h)
#define GM_OPT_SIZE(n, m, field, h) \
	GM_OPT_ROW(n, m, GM_OPTION_SIZE, GM_OPT_AT(field, uint64_t), NULL, h)
#define GM_OPT_COUNT(n, m, field, h) \
	GM_OPT_ROW(n, m, GM_OPTION_COUNT, GM_OPT_AT(field, unsigned int), NULL, h)
#define GM_OPT_SECONDS(n, m, field, h) \
	GM_OPT_ROW(n, m, GM_OPTION_SECONDS, GM_OPT_AT(field, double), NULL, h)
#define GM_OPT_CALL(n, m, fn, h)	GM_OPT_ROW(n, m, GM_OPTION_CALL, 0, fn, h)
#define GM_OPT_GROUP(heading)		GM_OPT_ROW(NULL, NULL, GM_OPTION_GROUP, 0, NULL, heading)
#define GM_OPT_INCLUDE(table)		{ .type = GM_OPTION_INCLUDE, .rows = (table) }
#define GM_OPT_END			{ .type = GM_OPTION_END }

#define GM_OPT_USE(which, off) \
	{ .type = GM_OPTION_SHARED, .rows = &gm_opt_shared[which], .offset = (off) }
#define GM_OPT_ENGINE(field) \
	GM_OPT_USE(GM_OPT_SHARED_ENGINE, GM_OPT_AT(field, enum gm_engine_kind))
#define GM_OPT_JSON(field)	GM_OPT_USE(GM_OPT_SHARED_JSON, GM_OPT_AT(field, bool))
#define GM_OPT_KEY_FILE(field) \
	GM_OPT_USE(GM_OPT_SHARED_KEY_FILE, GM_OPT_AT(field, const char *))

/* A subcommand's command line, for its parser and its --help. */
struct gm_opt_cmd {
	const char *name;		/* "run" */
	const char *synopsis;		/* after "usage: guestmem "; NULL: "NAME [options]" */
	const char *about;		/* a paragraph after the synopsis, or NULL */
	const struct gm_opt *options;
	bool operands;			/* words after the options are the subcommand's */
	void (*more)(FILE *out);	/* after the options (run's workloads), or NULL */
};

/*
 * gm_opt_parse - read @argv's options by @cmd's table into @opts, the
 * subcommand's options struct.  A bad option, a missing or bad value, or
 * (unless @cmd takes operands) a word after the options is one line on
 * stderr.  Operands start at optind.
 *
 * Return: 0, GM_STATUS_USAGE, or GM_ARGS_HELP once --help is printed.
 */
int gm_opt_parse(const struct gm_opt_cmd *cmd, int argc, char **argv, void *opts);

/* GM_OPTION_SECONDS's value: decimal, over 0, a day at most.  Return: 0, or -EINVAL. */
int gm_opt_parse_seconds(const char *text, double *seconds);

/* Write @cmd's --help: its synopsis, about, and each option with its help. */
void gm_opt_usage(const struct gm_opt_cmd *cmd, FILE *out);

#endif
