/* SPDX-License-Identifier: MIT */
/*
 * The harness of the allocation-failure test (alloc_failure.c holds its
 * scenarios): what a scenario can see as named values, steps that must
 * fail cleanly or complete, and the loop that fails each allocation of a
 * scenario in turn (../failinject.h), with a hang alarm over each run.
 */
#ifndef GM_TEST_VM_ALLOCTEST_H
#define GM_TEST_VM_ALLOCTEST_H

#include "vmtest.h"

#define SNAP_MAX	24

/* What a scenario can see: up to SNAP_MAX named values. */
struct snap {
	unsigned int n;
	const char *name[SNAP_MAX];
	int64_t v[SNAP_MAX];
};

void snap_add(struct snap *s, const char *name, int64_t v);

/* Entries of a directory (/proc/self/task, say), dot files left out. */
int64_t count_dir(const char *path);
/* Mappings of memfds in this process: the VM's windows. */
int64_t memfd_mappings(void);
/* Open fds. */
int64_t open_fds(void);

/* One run of a scenario, failing allocation @n. */
struct run {
	const char *scenario;
	unsigned long n;		/* the allocation that fails; 0: none */
	const char *fired_in;		/* the step during which it failed */
	int fired_ret;			/* what that step returned */
	bool retried;			/* and whether it was retried (a VM run is not) */
	bool from_n_on;			/* allocation n and every later one fail */
	unsigned int failed, absorbed;	/* points: step failed cleanly / completed anyway */
};

typedef int (*op_fn)(void *ctx);
typedef void (*take_fn)(void *ctx, struct snap *s);

/*
 * A failed operation's return: the injected failure (@failures_before: the
 * count of failed calls when it began), as a negative errno.
 */
void check_failure(const struct run *r, const char *what, int ret,
		   unsigned long failures_before);

/*
 * Run @op with the injector counting.  If it fails, it must be the injected
 * failure, as a negative errno, with @take's view as before; then @op,
 * retried uncounted, must complete.  Return: what @op first returned.
 */
int step(struct run *r, const char *what, op_fn op, take_fn take, void *ctx);

/*
 * Run @scenario once counting, then once failing each allocation in turn
 * (with @from_n_on, that one and every later one), checking that nothing
 * is left over after each run.
 */
void for_each_point(const char *name, void (*scenario)(struct run *r), bool from_n_on);

/* Before the first run: the hang alarm, and stdout a line at a time. */
void alloctest_init(void);

#endif
