/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer for the program's --json output: objects put one
 * member a line, indented; arrays stay on one line, except that an object
 * inside one lays its members out as any object does.  Nesting is at most
 * GM_JSON_MAX_DEPTH deep; the caller keeps begin and end paired.
 */
#ifndef GM_CLI_JSON_H
#define GM_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GM_JSON_MAX_DEPTH	16

struct gm_json {
	FILE *f;
	int depth;				/* containers open */
	int objects;				/* objects among them: the indentation */
	char kind[GM_JSON_MAX_DEPTH];		/* '{' or '[' for each */
	bool need_comma;
};

void gm_json_init(struct gm_json *w, FILE *f);
/* Open an object ('{') or array ('['); @key inside an object, else NULL. */
void gm_json_begin(struct gm_json *w, const char *key, char open);
/* Close the innermost one. */
void gm_json_end(struct gm_json *w);
void gm_json_str(struct gm_json *w, const char *key, const char *val);
void gm_json_u64(struct gm_json *w, const char *key, uint64_t val);
void gm_json_i64(struct gm_json *w, const char *key, int64_t val);
void gm_json_bool(struct gm_json *w, const char *key, bool val);
void gm_json_null(struct gm_json *w, const char *key);
/* A number, or null when @val is not finite. */
void gm_json_num(struct gm_json *w, const char *key, double val);
/*
 * "faults": the faults by mapping level of a VM's counters
 * (gm_vm_stats.faults, indexed by gm_level), as run and bench print them.
 */
void gm_json_faults(struct gm_json *w, const uint64_t faults[4]);
/* @s as a JSON string, escaped, on @f. */
void gm_json_string(FILE *f, const char *s);

#endif
