/* SPDX-License-Identifier: MIT */
/*
 * The subcommands' option tables (options.h): getopt_long() driven by a
 * table, each value stored by its row's type, and --help written from the
 * same rows.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "runner.h"

#define MAX_ROWS	48	/* a subcommand's, included and shared ones resolved */
#define FIRST_VAL	256	/* getopt_long() returns FIRST_VAL + i for row i: above any char */
#define HELP_WIDTH	79	/* --help's lines, at most */
#define MAX_NAME	22	/* the widest "--name VALUE" that sets the help's column */
#define MAX_PUSH	6	/* how far a wider one may push its help's first line */

const struct gm_opt gm_opt_shared[GM_OPT_NR_SHARED] = {
	[GM_OPT_SHARED_ENGINE] = GM_OPT_ROW("engine", "kvm|emu|auto", GM_OPTION_ENGINE, 0, NULL,
		"CPU engine (default auto: kvm where /dev/kvm works)"),
	[GM_OPT_SHARED_JSON] = GM_OPT_ROW("json", NULL, GM_OPTION_FLAG, 0, NULL,
		"print the summary as one JSON object"),
	[GM_OPT_SHARED_KEY_FILE] = GM_OPT_ROW("key-file", "KEYFILE", GM_OPTION_STRING, 0, NULL,
		"the key that seals snapshots and migration streams: a file of exactly "
		"32 bytes"),
};

/* A subcommand's rows as the parser and the help see them: one table. */
struct flat_table {
	struct gm_opt rows[MAX_ROWS];
	int n;
};

/* Append @table's rows to @flat, with included tables and shared rows in place. */
static void flatten(const struct gm_opt *table, struct flat_table *flat)
{
	for (const struct gm_opt *row = table; row->type != GM_OPTION_END; row++) {
		if (row->type == GM_OPTION_INCLUDE) {
			flatten(row->rows, flat);
			continue;
		}
		/* A table this long is the program's bug, and any --help shows it. */
		if (flat->n == MAX_ROWS)
			abort();
		if (row->type == GM_OPTION_SHARED) {
			flat->rows[flat->n] = *row->rows;
			flat->rows[flat->n].offset = row->offset;
		} else {
			flat->rows[flat->n] = *row;
		}
		flat->n++;
	}
}

/* A decimal count that fits an unsigned int: no sign, no base prefix, no wrap. */
static int parse_count(const char *text, unsigned int *count)
{
	unsigned long long v;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -EINVAL;
	*count = (unsigned int)v;
	return 0;
}

int gm_opt_parse_seconds(const char *text, double *seconds)
{
	char *end;
	double v;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno || *end || !(v > 0) || v > 86400)
		return -EINVAL;
	*seconds = v;
	return 0;
}

/* Store @value (NULL for a flag) as @row says, in @opts.  Return: 0, or -EINVAL. */
static int store(const struct gm_opt *row, const char *value, void *opts)
{
	void *field = (char *)opts + row->offset;

	switch (row->type) {
	case GM_OPTION_FLAG:
		*(bool *)field = true;
		return 0;
	case GM_OPTION_STRING:
		*(const char **)field = value;
		return 0;
	case GM_OPTION_SIZE:
		*(uint64_t *)field = gm_run_parse_size(value);
		return *(uint64_t *)field ? 0 : -EINVAL;
	case GM_OPTION_COUNT:
		return parse_count(value, field);
	case GM_OPTION_SECONDS:
		return gm_opt_parse_seconds(value, field);
	case GM_OPTION_ENGINE:
		return gm_run_parse_engine(value, field) ? -EINVAL : 0;
	case GM_OPTION_CALL:
		return row->parse(value, opts);
	default:
		return -EINVAL;
	}
}

/* getopt_long()'s array for @flat's options, and -h/--help. */
static void make_longopts(const struct flat_table *flat, struct option *longopts)
{
	int n = 0;

	for (int i = 0; i < flat->n; i++) {
		const struct gm_opt *row = &flat->rows[i];

		if (row->type == GM_OPTION_GROUP)
			continue;
		longopts[n++] = (struct option){
			.name = row->name,
			.has_arg = row->metavar ? required_argument : no_argument,
			.val = FIRST_VAL + i,
		};
	}
	longopts[n++] = (struct option){ .name = "help", .val = 'h' };
	longopts[n] = (struct option){ 0 };
}

int gm_opt_parse(const struct gm_opt_cmd *cmd, int argc, char **argv, void *opts)
{
	struct option longopts[MAX_ROWS + 2];
	struct flat_table flat = { .n = 0 };
	const struct gm_opt *row;
	int c;

	flatten(cmd->options, &flat);
	make_longopts(&flat, longopts);
	/* ':' first: getopt_long() says nothing itself, and tells a missing value apart. */
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			gm_opt_usage(cmd, stdout);
			return GM_ARGS_HELP;
		}
		if (c == ':')
			return gm_cli_missing_value(cmd->name, argv);
		if (c < FIRST_VAL)
			return gm_cli_bad_option(cmd->name, argv);
		row = &flat.rows[c - FIRST_VAL];
		if (store(row, optarg, opts)) {
			gm_cli_error(cmd->name, "bad value '%s' for --%s", optarg, row->name);
			return GM_STATUS_USAGE;
		}
	}
	if (optind < argc && !cmd->operands) {
		gm_cli_error(cmd->name, "unexpected argument '%s'", argv[optind]);
		return GM_STATUS_USAGE;
	}
	return 0;
}

/*
 * Write @text from column @at (the cursor is there), its words wrapped at
 * HELP_WIDTH, each further line indented to @col; a word wider than the
 * room left stays whole.
 */
static void put_wrapped(FILE *out, const char *text, int at, int col)
{
	while (*text) {
		int room = HELP_WIDTH - at;
		int n = (int)strlen(text);
		int len;

		if (n > room) {
			for (n = room; n > 0 && text[n] != ' '; n--)
				;
			if (n <= 0)
				n = (int)strcspn(text, " ");
		}
		/* A break after "end.  Next" leaves no space at the line's end. */
		for (len = n; len > 0 && text[len - 1] == ' '; len--)
			;
		fprintf(out, "%.*s\n", len, text);
		text += n;
		while (*text == ' ')
			text++;
		if (*text)
			fprintf(out, "%*s", col, "");
		at = col;
	}
}

/* The width of "--name VALUE". */
static int name_width(const struct gm_opt *row)
{
	return 2 + (int)strlen(row->name) + (row->metavar ? 1 + (int)strlen(row->metavar) : 0);
}

/* The help's column: two spaces after the widest "--name VALUE" that fits. */
static int help_column(const struct flat_table *flat)
{
	int widest = (int)strlen("-h, --help");

	for (int i = 0; i < flat->n; i++) {
		const struct gm_opt *row = &flat->rows[i];
		int width = row->type == GM_OPTION_GROUP ? 0 : name_width(row);

		if (width <= MAX_NAME && width > widest)
			widest = width;
	}
	return 2 + widest + 2;
}

/*
 * "  --name VALUE", then its help from @col; a wider name pushes the help's
 * first line right, or, past MAX_PUSH, down a line.
 */
static void put_option(FILE *out, const struct gm_opt *row, int col)
{
	int at = fprintf(out, "  --%s%s%s", row->name, row->metavar ? " " : "",
			 row->metavar ?: "");

	if (at + 2 <= col) {
		fprintf(out, "%*s", col - at, "");
		at = col;
	} else if (at + 2 <= col + MAX_PUSH) {
		fputs("  ", out);
		at += 2;
	} else {
		fprintf(out, "\n%*s", col, "");
		at = col;
	}
	put_wrapped(out, row->help, at, col);
}

void gm_opt_usage(const struct gm_opt_cmd *cmd, FILE *out)
{
	struct flat_table flat = { .n = 0 };
	int col;

	flatten(cmd->options, &flat);
	col = help_column(&flat);
	if (cmd->synopsis)
		fprintf(out, "usage: guestmem %s\n", cmd->synopsis);
	else
		fprintf(out, "usage: guestmem %s [options]\n", cmd->name);
	if (cmd->about) {
		fputs("  ", out);
		put_wrapped(out, cmd->about, 2, 2);
	}
	fprintf(out, "  %-*sthis text\n", col - 2, "-h, --help");
	for (int i = 0; i < flat.n; i++) {
		if (flat.rows[i].type == GM_OPTION_GROUP)
			fprintf(out, "%s\n", flat.rows[i].help);
		else
			put_option(out, &flat.rows[i], col);
	}
	if (cmd->more)
		cmd->more(out);
}
