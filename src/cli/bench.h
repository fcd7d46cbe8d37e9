/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench, private to its files: cmd-bench.c (options, the sizes to
 * run, the order), bench-guest.c (guests: first touch, punch and retouch,
 * conversions), bench-host.c (host-side file operations, lookup,
 * isolation), bench-mem.c (metadata, churn, invalidation with many owners)
 * and bench-report.c (statistics, the table, text, JSON and the SVG plot).
 *
 * Every figure is the median of rounds run after a warm-up, with the
 * smallest and largest round beside it, and each guestmem figure comes
 * with a reference measured in the same run: the kernel's own path for the
 * same work where there is one.
 */
#ifndef GM_CLI_BENCH_H
#define GM_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include <guestmem/guestmem.h>

#define BENCH_MAX_SIZES		5
#define BENCH_MAX_ROUNDS	9
#define BENCH_2M		(2ULL << 20)

/* The parts --only picks, in the order they run. */
#define BENCH_PART_GUEST	(1U << 0)
#define BENCH_PART_HOST		(1U << 1)
#define BENCH_PART_MEMORY	(1U << 2)
#define BENCH_PART_LINUX	(1U << 3)	/* with --kernel only */
#define BENCH_PART_ALL		(BENCH_PART_GUEST | BENCH_PART_HOST | BENCH_PART_MEMORY)

struct bench_opts {
	enum gm_engine_kind engine;
	unsigned int parts;		/* BENCH_PART_* */
	uint64_t mem;			/* the largest size measured */
	bool quick, json;
	const char *plot;		/* --plot FILE.svg, or NULL */
	const char *kernel, *initrd;	/* --kernel, --initrd: the linux part */
	/* Sizes measured with memory resident, ascending; the last is @mem. */
	uint64_t sizes[BENCH_MAX_SIZES];
	int nr_sizes;
	/* One more size for what needs no resident memory (0: none). */
	uint64_t sparse_size;
};

/* One figure over the rounds (n == 0: not measured). */
struct bench_stat {
	double median, min, max;
	int n;
};

struct bench_row {
	const char *measure;		/* a key: "first_touch", "punch", ... */
	const char *label;		/* for people */
	const char *unit;		/* "ns/page", "us", "x", ... */
	const char *ref;		/* what the reference is: the kernel's path, ... */
	uint64_t size;			/* bytes of memory it ran over (0: none) */
	struct bench_stat ours, theirs;	/* guestmem; the reference (n == 0: none) */
	double ratio;			/* ours / theirs: see bench_add() */
	bool per_page;			/* a cost per page: scaling and the plot */
};

/* A row's description, for the tables of rows in each file. */
#define BENCH_ROW(m, l, u, r, pp) \
	{ .measure = (m), .label = (l), .unit = (u), .ref = (r), .per_page = (pp) }

struct bench {
	struct bench_opts o;
	struct bench_row *rows;
	int nr_rows, cap_rows;
	const char *engine;		/* the engine the guests ran on */
	struct gm_vm_stats linux_stats;	/* the first private Linux boot's counters */
	char why[256];			/* why a measure failed */
};

/* Rounds after the warm-up for work over @size bytes. */
int bench_rounds(const struct bench *b, uint64_t size);

/* Median, min and max of @v[0..n) (reorders @v). */
void bench_stat_of(double *v, int n, struct bench_stat *st);

/*
 * Append a row with @ours and @theirs (NULL or n == 0: no reference) over
 * @n rounds.  Return: 0 or -ENOMEM.
 */
int bench_add(struct bench *b, const struct bench_row *proto, uint64_t size,
	      double *ours, double *theirs, int n);

/* The row of @measure at @size, or NULL. */
const struct bench_row *bench_find(const struct bench *b, const char *measure, uint64_t size);

/* Say why a measure failed (b->why), and return @err. */
int bench_fail(struct bench *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The measures: each appends its rows.  Return: 0, or -errno with b->why. */
int bench_guest(struct bench *b);
int bench_host(struct bench *b);
int bench_mem(struct bench *b);
int bench_linux(struct bench *b);

/* Output. */
void bench_print_text(const struct bench *b);
void bench_print_json(const struct bench *b);
/* Write the SVG chart to @path.  Return: 0 or -errno. */
int bench_plot(const struct bench *b, const char *path);

#endif
