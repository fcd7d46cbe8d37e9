/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs. */
#ifndef GM_TEST_COMMON_H
#define GM_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <guestmem/vm.h>

/* Exit status that meson (and liburing's test/) read as "skipped". */
#define GM_TEST_SKIP 77

/* Print why and exit 77: the host lacks something this test needs. */
void gm_test_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Fail the current test unless no pmem frame is in use (leak check). */
void gm_test_assert_no_frames(void);

/*
 * Fill @buf with bytes that follow from @seed and the offset, none of them
 * zero: a read that lands on a hole, or a stale page, does not match it.
 */
void gm_test_fill_pattern(void *buf, size_t len, unsigned int seed);

/* Fail the current test, naming the first byte of @buf that is not zero. */
void gm_test_assert_zero(const void *buf, size_t len);

/*
 * The guestmem program that meson built (env GUESTMEM_BIN), safe to quote
 * in a shell command; skips (77) when there is none.
 */
const char *gm_test_guestmem_bin(void);

/* 1 when /dev/kvm opens and creates a VM, else 0 with the reason in *why. */
int gm_test_have_kvm(const char **why);

/*
 * True inside the KVM lab (scripts/kvm-lab.sh sets GUESTMEM_LAB), where
 * every instruction of the lab machine is emulated: tests that scale take
 * a size the lab can afford there, and say so.
 */
bool gm_test_in_lab(void);

/* The next of a seeded sequence of 64-bit numbers (splitmix64), from *@state. */
uint64_t gm_test_splitmix(uint64_t *state);

/*
 * The engine a scenario program runs on, named by its first argument
 * ("emu" or "kvm"; meson registers the program once per engine).  Anything
 * else: a usage line and exit 1.  An engine that cannot run here: exit 77
 * with the reason (gm_test_require_engine()).
 */
enum gm_engine_kind gm_test_engine(int argc, char **argv);

/* Exit 77 with the reason unless @engine runs here (kvm: /dev/kvm works too). */
void gm_test_require_engine(enum gm_engine_kind engine);

/* "emu" or "kvm": how `guestmem run --engine` and the test names spell @engine. */
const char *gm_test_engine_name(enum gm_engine_kind engine);

/*
 * Serialise the tests that change or rely on the host's huge-page count
 * (meson runs test programs in parallel; nr_hugepages is global).  Returns
 * a token for gm_test_huge_unlock().  A test that only looks at the free
 * count takes this; one that needs pages uses gm_test_huge_begin().
 */
int gm_test_huge_lock(void);
/* Let go of the lock gm_test_huge_lock() returned @token for. */
void gm_test_huge_unlock(int token);

/*
 * Take the huge-page lock and reserve @nr huge pages (1 GiB ones when
 * @one_gig, else 2 MiB; as root, on top of what is reserved now) until
 * gm_test_huge_end().  Return: 0, or -ENOENT/-EPERM/-ENOMEM with the reason
 * in *why and the lock given up.
 */
int gm_test_huge_try_begin(unsigned long nr, bool one_gig, const char **why);

/*
 * gm_test_huge_try_begin(), or skip the current cmocka test saying why;
 * @no_pages, unless NULL, runs first, still under the lock: what the test
 * checks on a host without the pages.
 */
void gm_test_huge_begin(unsigned long nr, bool one_gig, void (*no_pages)(void));

/* Give back the pages gm_test_huge_begin() took and unlock; idle if none. */
void gm_test_huge_end(void);

/* gm_test_huge_end() as a cmocka teardown (for a test that fails half-way). */
int gm_test_huge_teardown(void **state);

#endif
