/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs. */
#ifndef GM_TEST_COMMON_H
#define GM_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Exit status that meson (and liburing's test/) read as "skipped". */
#define GM_TEST_SKIP 77

/* Print why and exit 77: the host lacks something this test needs. */
void gm_test_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Fail the current test unless no pmem frame is in use (leak check). */
void gm_test_assert_no_frames(void);

/*
 * The guestmem program that meson built (env GUESTMEM_BIN), safe to quote
 * in a shell command; skips (77) when there is none.
 */
const char *gm_test_guestmem_bin(void);

/* 1 when /dev/kvm opens and creates a VM, else 0 with the reason in *why. */
int gm_test_have_kvm(const char **why);

/*
 * Serialise the tests that change or rely on the host's huge-page count
 * (meson runs test programs in parallel; nr_hugepages is global).  Returns
 * a token for gm_test_huge_unlock().
 */
int gm_test_huge_lock(void);
void gm_test_huge_unlock(int token);

/*
 * Reserve @nr 2 MiB huge pages (as root, through /proc/sys/vm/nr_hugepages)
 * on top of what is reserved now; gm_test_hugepages_release() gives them
 * back.  Return: 0, or -EPERM/-ENOMEM with the reason in *why.
 */
int gm_test_hugepages_reserve(unsigned long nr, const char **why);
/* The same for 1 GiB pages (which a fragmented host may fail to find). */
int gm_test_hugepages_reserve_1g(unsigned long nr, const char **why);
/* Give back what the last reserve took. */
void gm_test_hugepages_release(void);
/* The same, as a cmocka teardown (for a test that fails half-way). */
int gm_test_hugepages_teardown(void **state);

#endif
