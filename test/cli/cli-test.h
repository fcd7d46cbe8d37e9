/* SPDX-License-Identifier: MIT */
/*
 * Running `guestmem` (GUESTMEM_BIN) as a user does, for the test/cli
 * programs: the exit status, stdout and stderr of one command line.
 */
#ifndef GM_TEST_CLI_TEST_H
#define GM_TEST_CLI_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common.h"

#define CLI_OUT_MAX	65536

struct cli_result {
	int status;			/* exit status, -1 when killed */
	char out[CLI_OUT_MAX];
	char err[4096];
};

/* Read @f to its end or until @buf (@size bytes) is full; NUL-terminated. */
void cli_slurp(FILE *f, char *buf, size_t size);

/*
 * Run `guestmem <args>` through the shell; @fmt builds the arguments, and
 * the caller quotes what needs it.  Returns a result to free().
 */
struct cli_result *cli_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The number of newlines in @text. */
int cli_count_lines(const char *text);

/*
 * Top-level JSON objects in @out, which must start with one: the program's
 * JSON writer closes each with "}" alone at the start of a line.
 */
int cli_count_json_objects(const char *out);

/* Fail unless @r exited with @status and its stdout holds every string in @want (NULL-ended). */
void cli_expect(const struct cli_result *r, int status, const char *const *want);

#endif
