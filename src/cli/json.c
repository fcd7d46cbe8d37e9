/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <math.h>

#include "json.h"

void gm_json_init(struct gm_json *w, FILE *f)
{
	*w = (struct gm_json){ .f = f };
}

void gm_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);	/* UTF-8 passes through */
	}
	fputc('"', f);
}

static bool in_array(const struct gm_json *w)
{
	return w->depth > 0 && w->kind[w->depth - 1] == '[';
}

/* Separate from the previous value and write "key": when in an object. */
static void prefix(struct gm_json *w, const char *key)
{
	if (in_array(w)) {
		fputs(w->need_comma ? ", " : "", w->f);
	} else if (w->depth > 0) {
		fprintf(w->f, "%s\n%*s", w->need_comma ? "," : "", 2 * w->objects, "");
		if (key) {
			gm_json_string(w->f, key);
			fputs(": ", w->f);
		}
	}
	w->need_comma = true;
}

void gm_json_begin(struct gm_json *w, const char *key, char open)
{
	if (w->depth >= GM_JSON_MAX_DEPTH)
		return;
	prefix(w, key);
	fputc(open, w->f);
	w->kind[w->depth++] = open;
	w->objects += open == '{';
	w->need_comma = false;
}

void gm_json_end(struct gm_json *w)
{
	char open;

	if (!w->depth)
		return;
	open = w->kind[--w->depth];
	if (open == '{') {
		w->objects--;
		if (w->need_comma)	/* an empty object stays {} */
			fprintf(w->f, "\n%*s", 2 * w->objects, "");
	}
	fputc(open == '{' ? '}' : ']', w->f);
	w->need_comma = true;
}

void gm_json_str(struct gm_json *w, const char *key, const char *val)
{
	prefix(w, key);
	gm_json_string(w->f, val);
}

void gm_json_u64(struct gm_json *w, const char *key, uint64_t val)
{
	prefix(w, key);
	fprintf(w->f, "%" PRIu64, val);
}

void gm_json_i64(struct gm_json *w, const char *key, int64_t val)
{
	prefix(w, key);
	fprintf(w->f, "%" PRId64, val);
}

void gm_json_null(struct gm_json *w, const char *key)
{
	prefix(w, key);
	fputs("null", w->f);
}

void gm_json_bool(struct gm_json *w, const char *key, bool val)
{
	prefix(w, key);
	fputs(val ? "true" : "false", w->f);
}

void gm_json_num(struct gm_json *w, const char *key, double val)
{
	prefix(w, key);
	if (isfinite(val))
		fprintf(w->f, "%.6g", val);
	else
		fputs("null", w->f);
}

void gm_json_faults(struct gm_json *w, const uint64_t faults[4])
{
	gm_json_begin(w, "faults", '{');
	gm_json_u64(w, "4k", faults[1]);
	gm_json_u64(w, "2m", faults[2]);
	gm_json_u64(w, "1g", faults[3]);
	gm_json_end(w);
}
