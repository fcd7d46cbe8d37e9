// SPDX-License-Identifier: MIT
/*
 * Pins across threads: pins nest; gm_backing_release() sleeps until the
 * last pin on the unpublished folios of its range is dropped, by whichever
 * thread holds it (not after the first of two, not while any folio of the
 * range is pinned), and does not wait for pins outside its range; an
 * unpublished folio takes no new pin, so a release under a storm of
 * lookups ends with no pin left; and the release orders the holders'
 * accesses before what the releaser does next (TSan checks the last
 * through a plain, non-atomic variable).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "pmem/pmem.h"
#include "../common.h"

#define NR_HOLDERS	4
#define NR_HAMMERS	4
#define HAMMER_LOOPS	20000
#define NR_PAGES	16

static struct gm_backing *backing;
static _Atomic int ready, released, done;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int setup_backing(void **state)
{
	atomic_store(&ready, 0);
	atomic_store(&released, 0);
	atomic_store(&done, 0);
	if (gm_backing_create(0, &backing))
		return -1;
	return gm_backing_alloc(backing, 0, NR_PAGES) == NR_PAGES ? 0 : -1;
}

static int destroy_backing(void **state)
{
	for (uint64_t i = 0; i < NR_PAGES; i++)
		if (gm_pfn_pins(gm_backing_pfn(backing, i)) != 0)
			return -1;
	gm_backing_destroy(backing);
	backing = NULL;
	return gm_pmem_frames_in_use(0) != 0 ? -1 : 0;
}

/* Unpublish [start, end) and release it (which waits for its pins). */
static void free_range(uint64_t start, uint64_t end)
{
	gm_backing_unpublish(backing, start, end);
	assert_int_equal(gm_backing_release(backing, start, end), 0);
}

static void test_nesting(void **state)
{
	gm_pfn_t pfn = gm_backing_pfn(backing, 0);

	assert_int_equal(gm_pfn_pins(pfn), 0);
	for (uint32_t i = 1; i <= 3; i++) {
		assert_int_equal(gm_backing_lookup_pin(backing, 0), pfn);
		assert_int_equal(gm_pfn_pins(pfn), i);
	}
	for (uint32_t i = 3; i > 0; i--) {
		gm_pfn_unpin(pfn);
		assert_int_equal(gm_pfn_pins(pfn), i - 1);
	}
	/* One unpin too many: ignored, the count stays at zero. */
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	/* Nothing pinned: the release returns at once and the page is gone. */
	free_range(0, 1);
	assert_false(gm_backing_present(backing, 0));
	assert_int_equal(gm_backing_alloc(backing, 0, 1), 1);
	assert_int_equal(gm_pfn_pins(pfn), 0);
}

/* Holds two nested pins on page 0 for a while, then drops them one by one. */
static void *holder(void *arg)
{
	gm_pfn_t pfn = gm_backing_lookup_pin(backing, 0);

	if (pfn == GM_PFN_NONE || gm_backing_lookup_pin(backing, 0) != pfn)
		atomic_store(&released, -1);
	atomic_store(&ready, 1);
	sleep_ms(30);
	gm_pfn_unpin(pfn);
	sleep_ms(30);
	atomic_store(&released, 1);
	gm_pfn_unpin(pfn);
	return NULL;
}

static void test_release_waits_for_other_thread(void **state)
{
	gm_pfn_t pfn = gm_backing_pfn(backing, 0);
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	while (!atomic_load(&ready))
		sched_yield();
	assert_int_equal(gm_backing_unpublish(backing, 0, 1), 1);
	/* Unpublished: no new pin, though the holder's still count. */
	assert_int_equal(gm_backing_lookup_pin(backing, 0), GM_PFN_NONE);
	assert_true(gm_pfn_pins(pfn) >= 1);
	assert_int_equal(gm_backing_release(backing, 0, 1), 0);
	/* Not after the first unpin: only after the last. */
	assert_int_equal(atomic_load(&released), 1);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	assert_false(gm_backing_present(backing, 0));
	pthread_join(t, NULL);
}

/* Thread @arg holds a pin on page 2 * (arg + 1) and drops it after 20 ms * (arg + 1). */
static void *range_holder(void *arg)
{
	uintptr_t k = (uintptr_t)arg;
	gm_pfn_t pfn = gm_backing_lookup_pin(backing, 2 * (k + 1));

	if (pfn == GM_PFN_NONE)
		atomic_store(&released, -1);
	atomic_fetch_add(&ready, 1);
	sleep_ms(20 * (long)(k + 1));
	atomic_fetch_add(&done, 1);
	gm_pfn_unpin(pfn);
	return NULL;
}

/*
 * Several pinned folios in one range, dropped at different times by
 * different threads: the release returns after the last.  A pin outside
 * the range does not hold it up.
 */
static void test_release_waits_for_every_folio(void **state)
{
	pthread_t t[NR_HOLDERS];
	gm_pfn_t outside = gm_backing_lookup_pin(backing, NR_PAGES - 1);

	assert_int_equal(outside, gm_backing_pfn(backing, NR_PAGES - 1));
	for (uintptr_t k = 0; k < NR_HOLDERS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, range_holder, (void *)k), 0);
	while (atomic_load(&ready) < NR_HOLDERS)
		sched_yield();
	assert_int_equal(atomic_load(&released), 0);
	free_range(0, 2 * NR_HOLDERS + 2);
	assert_int_equal(atomic_load(&done), NR_HOLDERS);
	for (uint64_t i = 0; i < 2 * NR_HOLDERS + 2; i++) {
		assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, i)), 0);
		assert_false(gm_backing_present(backing, i));
	}
	for (int k = 0; k < NR_HOLDERS; k++)
		pthread_join(t[k], NULL);

	/* The pinned page outside: its release is still to come, and must wait for it. */
	assert_int_equal(gm_pfn_pins(outside), 1);
	assert_true(gm_backing_present(backing, NR_PAGES - 1));
	free_range(NR_PAGES - 2, NR_PAGES - 1);	/* its neighbour, unpinned: at once */
	gm_pfn_unpin(outside);
	free_range(NR_PAGES - 1, NR_PAGES);
	assert_int_equal(gm_pfn_pins(outside), 0);
}

/*
 * The store's pattern: readers pin through the lookup and use the page;
 * the remover unpublishes, releases, then reuses.  @payload is a plain int
 * so that TSan reports a race if the release does not order them.
 */
static int payload;
static _Atomic long uses;

static void *reader(void *arg)
{
	for (int i = 0; i < HAMMER_LOOPS; i++) {
		gm_pfn_t pfn = gm_backing_lookup_pin(backing, 0);

		if (pfn == GM_PFN_NONE)
			continue;
		if (payload != 42)
			atomic_store(&released, -1);	/* reported by main */
		atomic_fetch_add(&uses, 1);
		gm_pfn_unpin(pfn);
	}
	return NULL;
}

static void test_remover_pattern(void **state)
{
	pthread_t t[NR_HAMMERS];

	for (int round = 0; round < 20; round++) {
		payload = 42;
		if (round)
			assert_int_equal(gm_backing_alloc(backing, 0, 1), 1);
		for (int i = 0; i < NR_HAMMERS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
		sleep_ms(1);
		free_range(0, 1);
		payload = 0;			/* the "free": no reader may see it */
		assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, 0)), 0);
		for (int i = 0; i < NR_HAMMERS; i++)
			pthread_join(t[i], NULL);
		assert_int_not_equal(atomic_load(&released), -1);
		assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, 0)), 0);
	}
	printf("# %ld published uses\n", atomic_load(&uses));
}

static void *hammer(void *arg)
{
	for (int i = 0; i < HAMMER_LOOPS; i++) {
		gm_pfn_t pfn = gm_backing_lookup_pin(backing, 1);

		if (pfn != GM_PFN_NONE)
			gm_pfn_unpin(pfn);
	}
	atomic_fetch_add(&done, 1);
	return NULL;
}

/*
 * Free and allocate page 1 again and again while threads pin and unpin it:
 * every release returns, and with no pin left (an unpublished folio takes
 * none, so none can slip in after the wait).
 */
static void test_release_under_load(void **state)
{
	pthread_t t[NR_HAMMERS];
	int rounds = 0;

	for (int i = 0; i < NR_HAMMERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	while (atomic_load(&done) < NR_HAMMERS || rounds < 100) {
		free_range(1, 2);
		assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, 1)), 0);
		assert_int_equal(gm_backing_lookup_pin(backing, 1), GM_PFN_NONE);
		assert_int_equal(gm_backing_alloc(backing, 1, 1), 1);
		rounds++;
	}
	for (int i = 0; i < NR_HAMMERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, 1)), 0);
	printf("# %d releases under load\n", rounds);
	/* A last release with nothing held must not sleep. */
	free_range(1, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nesting, setup_backing, destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_waits_for_other_thread, setup_backing,
						destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_waits_for_every_folio, setup_backing,
						destroy_backing),
		cmocka_unit_test_setup_teardown(test_remover_pattern, setup_backing, destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_under_load, setup_backing,
						destroy_backing),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	if (!ret && gm_frames_in_use() != 0)
		return 1;
	return ret;
}
