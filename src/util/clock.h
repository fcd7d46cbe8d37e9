/* SPDX-License-Identifier: MIT */
/* Clocks for the program's timings: wall time and the process's CPU time. */
#ifndef GM_UTIL_CLOCK_H
#define GM_UTIL_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double gm_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CPU seconds of the whole process: every thread, live or ended, user and
 * system time together (what getrusage(RUSAGE_SELF) sums, at nanosecond
 * resolution).
 */
static inline double gm_clock_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
