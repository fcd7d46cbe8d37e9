/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection, for tests only.
 *
 * A test program linked with failinject_link_args (test/meson.build: the
 * optional fourth element of a test_programs entry) and failinject.c has
 * every call to the allocators below, its own and the static library's,
 * routed through here by the linker (-Wl,--wrap=...).  After fi_arm(n) the
 * n-th counted call fails as the real one does when out of memory: NULL,
 * MAP_FAILED or -1 with errno ENOMEM (pthread_create: EAGAIN); every other
 * call goes through.  Shared libraries (libc's own calls, unicorn, liburcu,
 * cmocka) are untouched: --wrap rewrites only the references of the objects
 * linked into the program.
 *
 * Counted: malloc, calloc, realloc, mmap, memfd_create, eventfd,
 * pthread_create, fallocate that allocates (a punch frees, and shmem and
 * hugetlbfs punches fail only on seals), and ftruncate that grows a file.
 * Calls from every thread count, so a scenario with threads may count a
 * little differently from one run to the next.
 */
#ifndef GM_TEST_FAILINJECT_H
#define GM_TEST_FAILINJECT_H

#include <stdbool.h>
#include <stddef.h>

enum fi_kind {
	FI_MALLOC,
	FI_CALLOC,
	FI_REALLOC,
	FI_MMAP,
	FI_MEMFD_CREATE,
	FI_EVENTFD,
	FI_PTHREAD_CREATE,
	FI_FALLOCATE,
	FI_FTRUNCATE,
	FI_NR_KINDS,
};

/* The call that failed. */
struct fi_site {
	unsigned long nr;	/* its number, counted from fi_arm() */
	enum fi_kind kind;
	const void *caller;	/* return address into whoever called it */
};

/*
 * Start counting from 0: call number @n fails, every other goes through.
 * @n == 0 counts only.  Counting goes on (over fi_pause/fi_resume) until
 * the next fi_arm() or fi_disarm().
 */
void fi_arm(unsigned long n);
/* The same, but call @n and every counted call after it fail (memory stays short). */
void fi_arm_from(unsigned long n);
/* Stop counting and failing. */
void fi_disarm(void);
/* Let calls through uncounted for a while (the test's own checks), then go on. */
void fi_pause(void);
void fi_resume(void);

/* Calls counted since fi_arm(). */
unsigned long fi_calls(void);
/* Calls failed since fi_arm(). */
unsigned long fi_failures(void);
/* Has the armed call failed?  If so, where, in *@site (may be NULL). */
bool fi_fired(struct fi_site *site);

/* "malloc", "mmap", ... */
const char *fi_kind_name(enum fi_kind kind);
/*
 * @site in words, for a message: "#3 calloc from libfoo+0x1234" (the
 * offset is what addr2line -e takes).
 */
void fi_describe(const struct fi_site *site, char *buf, size_t len);

#endif
