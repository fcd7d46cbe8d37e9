/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench, the figures: statistics over rounds, the table of rows,
 * the headline figures and targets, and the three ways out (text for
 * people, one JSON object, an SVG chart written as text).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "bench.h"
#include "json.h"

#define BIG_SIZE	(4ULL << 30)	/* from here on, fewer rounds */

int bench_rounds(const struct bench *b, uint64_t size)
{
	if (b->o.quick)
		return 3;
	return size >= BIG_SIZE ? 3 : 5;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_stat_of(double *v, int n, struct bench_stat *st)
{
	*st = (struct bench_stat){ .n = n };
	if (n <= 0)
		return;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	st->min = v[0];
	st->max = v[n - 1];
}

/*
 * The median of the rounds' own ratios: each round measures both sides back
 * to back, and this machine's two CPUs differ (README, bench), so a thread
 * that moves between them makes one side of a round faster than the other
 * side of another; pairing each round with itself cancels that.  A round
 * with no reference time falls back to the ratio of the medians.
 */
static double paired_ratio(const double *ours, const double *theirs, int n)
{
	double r[BENCH_MAX_ROUNDS];
	struct bench_stat st;

	for (int i = 0; i < n; i++) {
		if (!(theirs[i] > 0))
			return NAN;
		r[i] = ours[i] / theirs[i];
	}
	bench_stat_of(r, n, &st);
	return st.median;
}

int bench_add(struct bench *b, const struct bench_row *proto, uint64_t size,
	      double *ours, double *theirs, int n)
{
	double copy[BENCH_MAX_ROUNDS];
	struct bench_row *row;

	if (b->nr_rows == b->cap_rows) {
		int cap = b->cap_rows ? 2 * b->cap_rows : 64;
		struct bench_row *rows = realloc(b->rows, (size_t)cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		b->rows = rows;
		b->cap_rows = cap;
	}
	row = &b->rows[b->nr_rows++];
	*row = *proto;
	row->size = size;
	memcpy(copy, ours, (size_t)n * sizeof(*copy));
	bench_stat_of(copy, n, &row->ours);
	row->theirs = (struct bench_stat){ 0 };
	row->ratio = NAN;
	if (theirs && proto->ref) {
		memcpy(copy, theirs, (size_t)n * sizeof(*copy));
		bench_stat_of(copy, n, &row->theirs);
		row->ratio = paired_ratio(ours, theirs, n);
	}
	return 0;
}

const struct bench_row *bench_find(const struct bench *b, const char *measure, uint64_t size)
{
	for (int i = 0; i < b->nr_rows; i++)
		if (!strcmp(b->rows[i].measure, measure) && b->rows[i].size == size)
			return &b->rows[i];
	return NULL;
}

int bench_fail(struct bench *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return err;
}

static double ratio(const struct bench_row *r)
{
	if (!r || !r->theirs.n)
		return NAN;
	return isnan(r->ratio) ? r->ours.median / r->theirs.median : r->ratio;
}

/* Inside the KVM lab, figures of a nested guest on an emulated CPU. */
static bool nested_lab(void)
{
	const char *lab = getenv("GUESTMEM_LAB");

	return lab && *lab;
}

/* ---- headline figures ---- */

/*
 * The largest over the smallest per-page cost of @measure, for guestmem
 * (@theirs false) or the reference.  NAN when it ran at one size only.
 */
static double scaling(const struct bench *b, const char *measure, bool theirs)
{
	const struct bench_row *lo = NULL, *hi = NULL;

	for (int i = 0; i < b->nr_rows; i++) {
		const struct bench_row *r = &b->rows[i];

		if (strcmp(r->measure, measure) || (theirs && !r->theirs.n))
			continue;
		lo = !lo || r->size < lo->size ? r : lo;
		hi = !hi || r->size > hi->size ? r : hi;
	}
	if (!lo || lo == hi)
		return NAN;
	return theirs ? hi->theirs.median / lo->theirs.median : hi->ours.median / lo->ours.median;
}

/* Whether row @i is the first of its measure. */
static bool first_of_measure(const struct bench *b, int i)
{
	for (int j = 0; j < i; j++)
		if (!strcmp(b->rows[j].measure, b->rows[i].measure))
			return false;
	return true;
}

static double scaling_worst(const struct bench *b, const char **which)
{
	double worst = NAN, s;

	*which = "";
	for (int i = 0; i < b->nr_rows; i++) {
		if (!b->rows[i].per_page || !first_of_measure(b, i))
			continue;
		s = scaling(b, b->rows[i].measure, false);
		if (isfinite(s) && !(s <= worst)) {
			worst = s;
			*which = b->rows[i].measure;
		}
	}
	return worst;
}

enum how { RATIO, OURS, FRACTION, SCALING };

struct headline {
	const char *key, *measure;
	enum how how;
	const char *target;
	double limit;			/* value <= limit meets it (>= when @at_least) */
	bool at_least;
};

static const struct headline headlines[] = {
	{ "first_touch_ratio", "first_touch", RATIO, "<= 0.7 on kvm", 0.7, false },
	{ "first_touch_cpu_ratio", "first_touch_cpu", RATIO, "<= 1.0", 1.0, false },
	{ "first_touch_demand_ratio", "first_touch_demand", RATIO, "", NAN, false },
	{ "retouch_ratio", "retouch", RATIO, "<= 1.0", 1.0, false },
	{ "convert_4k_over_exit", "convert_4k", RATIO, "<= 3", 3, false },
	{ "convert_4k_in_place_over_exit", "convert_4k_in_place", RATIO, "<= 3", 3, false },
	{ "convert_4k_in_place_zero_over_exit", "convert_4k_in_place_zero", RATIO, "", NAN,
	  false },
	{ "convert_2m_over_exit", "convert_2m", RATIO, "", NAN, false },
	{ "host_alloc_ratio", "alloc", RATIO, "", NAN, false },
	{ "host_punch_ratio", "punch", RATIO, "<= 1.0", 1.0, false },
	{ "host_truncate_ratio", "truncate", RATIO, "", NAN, false },
	{ "lookup_seq_ns", "lookup_seq", OURS, "<= 40", 40, false },
	{ "lookup_random_ns", "lookup_random", OURS, "<= 2x lookup_seq_ns", NAN, false },
	{ "lookup_2t_speedup", "lookup_seq_2t", OURS, ">= 1.8", 1.8, true },
	{ "stall_ratio", "stall", RATIO, "<= 2", 2, false },
	{ "scaling_worst", NULL, SCALING, "<= 1.5", 1.5, false },
	{ "metadata_bytes_per_frame", "metadata", OURS, "<= 16", 16, false },
	{ "churn_rss_growth", "churn_rss_growth", FRACTION, "<= 0.10", 0.10, false },
	{ "invalidate_ratio", "invalidate_10000", RATIO, "<= 1.1", 1.1, false },
};

#define NR_HEADLINES	(int)GM_ARRAY_SIZE(headlines)

/* The row of @measure at the largest size it ran at. */
static const struct bench_row *largest(const struct bench *b, const char *measure)
{
	const struct bench_row *best = NULL;

	for (int i = 0; i < b->nr_rows; i++)
		if (!strcmp(b->rows[i].measure, measure) && (!best || b->rows[i].size > best->size))
			best = &b->rows[i];
	return best;
}

static double headline_value(const struct bench *b, const struct headline *h)
{
	const struct bench_row *r = h->measure ? largest(b, h->measure) : NULL;
	const char *which;

	switch (h->how) {
	case RATIO:
		return ratio(r);
	case OURS:
		return r ? r->ours.median : NAN;
	case FRACTION:
		return r ? r->ours.median / 100 : NAN;
	default:
		return scaling_worst(b, &which);
	}
}

/* "met", "not met", or "" (no target, or nothing to judge). */
static const char *verdict(const struct bench *b, const struct headline *h, double v)
{
	double limit = h->limit;

	if (!strcmp(h->key, "lookup_random_ns")) {
		const struct bench_row *seq = largest(b, "lookup_seq");

		limit = seq ? 2 * seq->ours.median : NAN;
	}
	if (isnan(limit) || !isfinite(v))
		return "";
	return (h->at_least ? v >= limit : v <= limit) ? "met" : "not met";
}

/* ---- text ---- */

static const char *fmt_val(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static const char *fmt_size(char *buf, size_t len, uint64_t size)
{
	if (!size)
		snprintf(buf, len, "-");
	else if (!(size % (1ULL << 30)))
		snprintf(buf, len, "%lluG", (unsigned long long)(size >> 30));
	else
		snprintf(buf, len, "%lluM", (unsigned long long)(size >> 20));
	return buf;
}

/* "median [min-max]" of @st, or "-". */
static const char *fmt_stat(char *buf, size_t len, const struct bench_stat *st)
{
	char a[32], b[32], c[32];

	if (!st->n)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s [%s-%s]", fmt_val(a, sizeof(a), st->median),
			 fmt_val(b, sizeof(b), st->min), fmt_val(c, sizeof(c), st->max));
	return buf;
}

static void print_measure(const struct bench *b, const char *measure)
{
	char size[16], ours[96], theirs[96], q[32];

	for (int i = 0; i < b->nr_rows; i++) {
		const struct bench_row *r = &b->rows[i];

		if (strcmp(r->measure, measure))
			continue;
		if (first_of_measure(b, i))
			printf("%s (%s)%s%s\n", r->label, r->unit, r->ref ? "; reference: " : "",
			       r->ref ? r->ref : "");
		printf("  %-22s %5s  %-28s %-28s %s\n", r->measure,
		       fmt_size(size, sizeof(size), r->size), fmt_stat(ours, sizeof(ours), &r->ours),
		       fmt_stat(theirs, sizeof(theirs), &r->theirs),
		       fmt_val(q, sizeof(q), ratio(r)));
	}
}

static void print_headlines(const struct bench *b)
{
	const char *which;
	char v[32];

	printf("\n%-26s %10s  %-22s %s\n", "headline (largest size)", "value", "target", "");
	for (int i = 0; i < NR_HEADLINES; i++) {
		double x = headline_value(b, &headlines[i]);

		printf("%-26s %10s  %-22s %s\n", headlines[i].key, fmt_val(v, sizeof(v), x),
		       headlines[i].target, verdict(b, &headlines[i], x));
	}
	scaling_worst(b, &which);
	printf("(scaling_worst is %s; first_touch_ratio's target is for kvm)\n", which);
}

void bench_print_text(const struct bench *b)
{
	char s[16];

	printf("guestmem bench: engine %s, sizes", b->engine ? b->engine : "-");
	for (int i = 0; i < b->o.nr_sizes; i++)
		printf(" %s", fmt_size(s, sizeof(s), b->o.sizes[i]));
	if (b->o.sparse_size)
		printf(" (sparse %s)", fmt_size(s, sizeof(s), b->o.sparse_size));
	printf("; median [min-max] of %d rounds (%d from %s on) after a warm-up\n\n",
	       bench_rounds(b, 0), bench_rounds(b, BIG_SIZE), fmt_size(s, sizeof(s), BIG_SIZE));
	printf("  %-22s %5s  %-28s %-28s %s\n", "measure", "size", "guestmem", "reference",
	       "ratio");
	for (int i = 0; i < b->nr_rows; i++)
		if (first_of_measure(b, i))
			print_measure(b, b->rows[i].measure);
	print_headlines(b);
	if (largest(b, "linux_ready"))
		printf("\nlinux: private RAM against the kernel's memfd, ready line %.2fx, run %.2fx;"
		       " the first private boot faulted 4K %llu, 2M %llu, 1G %llu%s\n",
		       ratio(largest(b, "linux_ready")), ratio(largest(b, "linux_run")),
		       (unsigned long long)b->linux_stats.faults[1],
		       (unsigned long long)b->linux_stats.faults[2],
		       (unsigned long long)b->linux_stats.faults[3],
		       nested_lab() ? "\n(KVM lab: a nested guest on an emulated CPU; the figures "
		       "compare the paths, they time nothing)" : "");
}

/* ---- JSON ---- */

static void json_stat(struct gm_json *w, const char *key, const struct bench_stat *st)
{
	gm_json_begin(w, key, '{');
	gm_json_num(w, "median", st->median);
	gm_json_num(w, "min", st->min);
	gm_json_num(w, "max", st->max);
	gm_json_u64(w, "rounds", (uint64_t)st->n);
	gm_json_end(w);
}

static void json_row(struct gm_json *w, const struct bench_row *r)
{
	gm_json_begin(w, NULL, '{');
	gm_json_str(w, "measure", r->measure);
	gm_json_str(w, "label", r->label);
	gm_json_str(w, "unit", r->unit);
	gm_json_u64(w, "size", r->size);
	json_stat(w, "guestmem", &r->ours);
	if (r->theirs.n) {
		gm_json_str(w, "reference_is", r->ref);
		json_stat(w, "reference", &r->theirs);
		gm_json_num(w, "ratio", ratio(r));
	}
	gm_json_end(w);
}

static int plot_series_count(const struct bench *b);

static void json_scaling(struct gm_json *w, const struct bench *b)
{
	gm_json_begin(w, "scaling", '{');
	for (int i = 0; i < b->nr_rows; i++) {
		const struct bench_row *r = &b->rows[i];

		if (!r->per_page || !first_of_measure(b, i))
			continue;
		gm_json_begin(w, r->measure, '{');
		gm_json_num(w, "guestmem", scaling(b, r->measure, false));
		if (r->ref)
			gm_json_num(w, "reference", scaling(b, r->measure, true));
		gm_json_end(w);
	}
	gm_json_end(w);
}

/* The Linux part: its ratio, where it ran, and the first private boot's faults. */
static void json_linux(struct gm_json *w, const struct bench *b)
{
	const struct gm_vm_stats *s = &b->linux_stats;

	gm_json_begin(w, "linux", '{');
	gm_json_num(w, "ready_ratio", ratio(largest(b, "linux_ready")));
	gm_json_num(w, "run_ratio", ratio(largest(b, "linux_run")));
	gm_json_bool(w, "nested_lab", nested_lab());
	gm_json_faults(w, s->faults);
	gm_json_u64(w, "prefaults", s->prefaults);
	gm_json_end(w);
}

void bench_print_json(const struct bench *b)
{
	const char *which;
	struct gm_json w;

	gm_json_init(&w, stdout);
	gm_json_begin(&w, NULL, '{');
	if (b->engine)
		gm_json_str(&w, "engine", b->engine);
	else
		gm_json_null(&w, "engine");	/* no guest ran: --only host,memory */
	gm_json_u64(&w, "mem", b->o.mem);
	gm_json_bool(&w, "quick", b->o.quick);
	for (int i = 0; i < NR_HEADLINES; i++)
		gm_json_num(&w, headlines[i].key, headline_value(b, &headlines[i]));
	scaling_worst(b, &which);
	gm_json_str(&w, "scaling_worst_measure", which);
	gm_json_begin(&w, "sizes", '[');
	for (int i = 0; i < b->o.nr_sizes; i++)
		gm_json_u64(&w, NULL, b->o.sizes[i]);
	gm_json_end(&w);
	gm_json_u64(&w, "sparse_size", b->o.sparse_size);
	gm_json_u64(&w, "plot_series", (uint64_t)plot_series_count(b));
	json_scaling(&w, b);
	if (largest(b, "linux_ready"))
		json_linux(&w, b);
	gm_json_begin(&w, "table", '[');
	for (int i = 0; i < b->nr_rows; i++)
		json_row(&w, &b->rows[i]);
	gm_json_end(&w);
	gm_json_end(&w);
	fputc('\n', stdout);
}

/* ---- the SVG chart: per-page cost against memory size, log-log ---- */

#define SVG_W		980
#define SVG_H		600
#define PLOT_X0		90
#define PLOT_X1		660
#define PLOT_Y0		50
#define PLOT_Y1		530
#define MAX_SERIES	32

static const char *const colours[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939",
};

struct series {
	const char *measure;
	bool theirs;
	int colour;
};

/* One series per per-page measure and side that has a figure. */
static int plot_series(const struct bench *b, struct series *out)
{
	int n = 0, colour = 0;

	for (int i = 0; i < b->nr_rows && n + 2 <= MAX_SERIES; i++) {
		const struct bench_row *r = &b->rows[i];

		if (!r->per_page || !first_of_measure(b, i))
			continue;
		out[n++] = (struct series){ r->measure, false, colour };
		if (r->ref && r->theirs.n)
			out[n++] = (struct series){ r->measure, true, colour };
		colour = (colour + 1) % (int)GM_ARRAY_SIZE(colours);
	}
	return n;
}

static int plot_series_count(const struct bench *b)
{
	struct series s[MAX_SERIES];

	return plot_series(b, s);
}

struct axes {
	double x_lo, x_hi, y_lo, y_hi;	/* log2 bytes, log10 ns */
};

static double value_of(const struct bench_row *r, bool theirs)
{
	return theirs ? r->theirs.median : r->ours.median;
}

static void find_axes(const struct bench *b, const struct series *s, int n, struct axes *a)
{
	*a = (struct axes){ INFINITY, -INFINITY, INFINITY, -INFINITY };
	for (int k = 0; k < n; k++)
		for (int i = 0; i < b->nr_rows; i++) {
			const struct bench_row *r = &b->rows[i];
			double v = value_of(r, s[k].theirs);

			if (strcmp(r->measure, s[k].measure) || !(v > 0) || !r->size)
				continue;
			a->x_lo = fmin(a->x_lo, log2((double)r->size));
			a->x_hi = fmax(a->x_hi, log2((double)r->size));
			a->y_lo = fmin(a->y_lo, floor(log10(v)));
			a->y_hi = fmax(a->y_hi, ceil(log10(v)));
		}
	if (!isfinite(a->x_lo)) {
		*a = (struct axes){ 20, 30, 0, 1 };
		return;
	}
	if (a->x_hi - a->x_lo < 1) {
		a->x_lo -= 1;
		a->x_hi += 1;
	}
	if (a->y_hi - a->y_lo < 1)
		a->y_hi = a->y_lo + 1;
}

static double px(const struct axes *a, uint64_t size)
{
	return PLOT_X0 + (log2((double)size) - a->x_lo) / (a->x_hi - a->x_lo) * (PLOT_X1 - PLOT_X0);
}

static double py(const struct axes *a, double v)
{
	return PLOT_Y1 - (log10(v) - a->y_lo) / (a->y_hi - a->y_lo) * (PLOT_Y1 - PLOT_Y0);
}

static void svg_axes(FILE *f, const struct bench *b, const struct axes *a)
{
	uint64_t sizes[BENCH_MAX_SIZES + 1];
	int n = 0;
	char s[16];

	fprintf(f, "<g stroke=\"#444\" stroke-width=\"1\">\n"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n</g>\n",
		PLOT_X0, PLOT_Y1, PLOT_X1, PLOT_Y1, PLOT_X0, PLOT_Y0, PLOT_X0, PLOT_Y1);
	for (int i = 0; i < b->o.nr_sizes; i++)
		sizes[n++] = b->o.sizes[i];
	if (b->o.sparse_size)
		sizes[n++] = b->o.sparse_size;
	for (int i = 0; i < n; i++)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			px(a, sizes[i]), PLOT_Y0, px(a, sizes[i]), PLOT_Y1, px(a, sizes[i]),
			PLOT_Y1 + 18, fmt_size(s, sizeof(s), sizes[i]));
	for (double e = a->y_lo; e <= a->y_hi; e++)
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			PLOT_X0, py(a, pow(10, e)), PLOT_X1, py(a, pow(10, e)), PLOT_X0 - 6,
			py(a, pow(10, e)) + 4, pow(10, e));
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">memory size</text>\n"
		"<text x=\"20\" y=\"%d\" transform=\"rotate(-90 20 %d)\" text-anchor=\"middle\">"
		"ns per page (per lookup, per 4 KiB conversion)</text>\n",
		(PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 42, (PLOT_Y0 + PLOT_Y1) / 2,
		(PLOT_Y0 + PLOT_Y1) / 2);
}

static void svg_series(FILE *f, const struct bench *b, const struct axes *a,
		       const struct series *s, int k)
{
	const char *colour = colours[s->colour];
	int ly = PLOT_Y0 + 14 * k;

	fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
		"points=\"", colour, s->theirs ? " stroke-dasharray=\"6 4\"" : "");
	for (int i = 0; i < b->nr_rows; i++) {
		const struct bench_row *r = &b->rows[i];
		double v = value_of(r, s->theirs);

		if (!strcmp(r->measure, s->measure) && v > 0 && r->size)
			fprintf(f, "%.1f,%.1f ", px(a, r->size), py(a, v));
	}
	fprintf(f, "\"><title>%s, %s</title></polyline>\n", s->measure,
		s->theirs ? "reference" : "guestmem");
	for (int i = 0; i < b->nr_rows; i++) {
		const struct bench_row *r = &b->rows[i];
		double v = value_of(r, s->theirs);

		if (!strcmp(r->measure, s->measure) && v > 0 && r->size)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
				px(a, r->size), py(a, v), colour);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>"
		"<text x=\"%d\" y=\"%d\">%s, %s</text>\n", PLOT_X1 + 20, ly, PLOT_X1 + 50, ly,
		colour, s->theirs ? " stroke-dasharray=\"6 4\"" : "", PLOT_X1 + 56, ly + 4,
		s->measure, s->theirs ? "kernel / reference" : "guestmem");
}

int bench_plot(const struct bench *b, const char *path)
{
	struct series s[MAX_SERIES];
	int n = plot_series(b, s);
	char date[32];
	time_t now = time(NULL);
	struct axes a;
	FILE *f;

	f = fopen(path, "we");
	if (!f)
		return -errno;
	strftime(date, sizeof(date), "%Y-%m-%d", localtime(&now));
	find_axes(b, s, n, &a);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"%d\" y=\"28\" font-size=\"15\">guestmem bench: cost per page against "
		"memory size (engine %s, %s); solid guestmem, dashed the kernel's path</text>\n",
		SVG_W, SVG_H, SVG_W, SVG_H, PLOT_X0, b->engine ? b->engine : "-", date);
	svg_axes(f, b, &a);
	for (int k = 0; k < n; k++)
		svg_series(f, b, &a, &s[k], k);
	fputs("</svg>\n", f);
	return fclose(f) ? -errno : 0;
}
