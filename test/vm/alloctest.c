/* SPDX-License-Identifier: MIT */
/* The allocation-failure test's harness: see alloctest.h. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "../failinject.h"
#include "alloctest.h"

#define MAX_POINTS	1000	/* more injection points than this: something loops */
#define HANG_S		30	/* one run of a scenario, at most */

/* ---- what a scenario can see: named values ---- */

void snap_add(struct snap *s, const char *name, int64_t v)
{
	assert_true(s->n < SNAP_MAX);
	s->name[s->n] = name;
	s->v[s->n++] = v;
}

int64_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int64_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int64_t memfd_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int64_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

/* Less the one opendir() holds while counting. */
int64_t open_fds(void)
{
	return count_dir("/proc/self/fd") - 1;
}

/* What must be back as it was when a run has put everything. */
static void take_process(struct snap *s)
{
	snap_add(s, "frames in use", gm_frames_in_use());
	snap_add(s, "frame metadata bytes", gm_frames_meta_bytes());
	snap_add(s, "open fds", open_fds());
	snap_add(s, "memfd mappings", memfd_mappings());
	snap_add(s, "threads", count_dir("/proc/self/task"));
}

/* ---- runs and steps ---- */

static void snap_compare(const struct run *r, const char *what, const struct snap *before,
			 const struct snap *after)
{
	char site[160] = "";
	struct fi_site fs;

	if (fi_fired(&fs))
		fi_describe(&fs, site, sizeof(site));
	for (unsigned int i = 0; i < before->n; i++)
		if (before->v[i] != after->v[i])
			fail_msg("%s, allocation %lu (%s): %s failed but changed %s: %lld -> %lld",
				 r->scenario, r->n, site, what, before->name[i],
				 (long long)before->v[i], (long long)after->v[i]);
}

void check_failure(const struct run *r, const char *what, int ret,
			  unsigned long failures_before)
{
	if (fi_failures() == failures_before)
		fail_msg("%s, run %lu: %s failed with %d and no allocation failed in it",
			 r->scenario, r->n, what, ret);
	if (ret >= 0 || ret < -4095)
		fail_msg("%s, allocation %lu: %s returned %d, not a negative errno",
			 r->scenario, r->n, what, ret);
}

int step(struct run *r, const char *what, op_fn op, take_fn take, void *ctx)
{
	struct snap before = { 0 }, after = { 0 };
	unsigned long failures_before;
	bool fired_before;
	int ret;

	fi_pause();
	fired_before = fi_fired(NULL);
	failures_before = fi_failures();
	if (take)
		take(ctx, &before);
	fi_resume();
	ret = op(ctx);
	fi_pause();
	if (!fired_before && fi_fired(NULL)) {
		r->fired_in = what;
		r->fired_ret = ret;
	}
	if (ret < 0) {
		check_failure(r, what, ret, failures_before);
		if (take)
			take(ctx, &after);
		snap_compare(r, what, &before, &after);
		ret = op(ctx);
		if (ret)
			fail_msg("%s, allocation %lu: %s, retried after the failure, returned %d",
				 r->scenario, r->n, what, ret);
		ret = -1;
	}
	fi_resume();
	return ret;
}

/* ---- hangs ---- */

static const char *volatile hang_scenario;
static volatile unsigned long hang_n;
static volatile bool hang_from_n_on;

static void on_alarm(int sig)
{
	char msg[160];
	int len = snprintf(msg, sizeof(msg), "HANG: %s, allocation %lu%s failed: no end after %d s\n",
			   hang_scenario, hang_n, hang_from_n_on ? " and all after it" : "", HANG_S);

	if (write(STDOUT_FILENO, msg, (size_t)len) < 0)
		_exit(2);
	_exit(1);
}

/* ---- the loop over injection points ---- */

/* A joined thread may take a moment to leave /proc/self/task. */
static void settle_threads(int64_t want)
{
	for (int i = 0; i < 100 && count_dir("/proc/self/task") != want; i++)
		usleep(1000);
}

/* One run failing allocation @n (0: none); @check: against leftovers. */
static void run_once(struct run *r, void (*scenario)(struct run *r), unsigned long n, bool check)
{
	struct snap before = { 0 }, after = { 0 };
	int64_t threads = count_dir("/proc/self/task");

	take_process(&before);
	r->n = n;
	r->fired_in = NULL;
	r->retried = true;
	hang_scenario = r->scenario;
	hang_n = n;
	hang_from_n_on = r->from_n_on;
	alarm(HANG_S);
	if (r->from_n_on)
		fi_arm_from(n);
	else
		fi_arm(n);
	scenario(r);
	fi_disarm();
	alarm(0);
	settle_threads(threads);
	take_process(&after);
	if (check)
		snap_compare(r, "the run (everything put)", &before, &after);
}

/* Count the point; @print: say where it was and what it did. */
static void report_point(struct run *r, bool print)
{
	struct fi_site fs;
	char site[160];

	fi_fired(&fs);
	fi_describe(&fs, site, sizeof(site));
	if (r->fired_ret < 0)
		r->failed++;
	else
		r->absorbed++;
	if (print)
		printf("    %s: %s %s\n", site, r->fired_in ? r->fired_in : "(between steps)",
		       r->fired_ret >= 0 ? "completed anyway" :
		       r->retried ? "failed cleanly, then completed" : "failed cleanly");
}

void for_each_point(const char *name, void (*scenario)(struct run *r), bool from_n_on)
{
	struct run r = { .scenario = name, .from_n_on = from_n_on };
	unsigned long counted, n;

	printf("  %s: %s\n", name, from_n_on ? "allocation n and all after it fail" :
					       "allocation n fails");
	/* First use starts what lives as long as the process (RCU's thread, id tables). */
	run_once(&r, scenario, 0, false);
	run_once(&r, scenario, 0, true);
	counted = fi_calls();
	for (n = 1; n <= MAX_POINTS; n++) {
		run_once(&r, scenario, n, true);
		if (!fi_fired(NULL))
			break;
		report_point(&r, !from_n_on);
	}
	if (n > MAX_POINTS)
		fail_msg("%s: still failing allocations after %d runs", name, MAX_POINTS);
	printf("  %s: %lu allocations counted, %lu runs with a failure: %u failed cleanly, "
	       "%u absorbed\n", name, counted, n - 1, r.failed, r.absorbed);
	assert_true(n > 1);
}

void alloctest_init(void)
{
	signal(SIGALRM, on_alarm);
	setvbuf(stdout, NULL, _IOLBF, 0);
}
