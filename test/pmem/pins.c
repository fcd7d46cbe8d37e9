// SPDX-License-Identifier: MIT
/*
 * Pins across threads.  Pins nest up to GM_PMEM_MAX_PINS, and one unpin too
 * many changes nothing.
 * Freeing never waits for a pin: gm_backing_release() returns at once,
 * punches the unpinned folios of its range and counts the pinned ones
 * (gm_backing_doomed() counts them too, until they go).  A pinned one is doomed:
 * it takes no new pin, keeps its bytes in the memfd, cannot be allocated
 * again (-EAGAIN), and is punched by its last unpin, whichever thread drops
 * it.  Under a storm of lookups every free ends with the folio gone once the
 * storm's pins drop, and the last unpin orders the holders' accesses before
 * the reuse that follows (TSan checks that through a plain variable).  A
 * pfn kept past its backing never unpins a later backing's page.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pmem.h"
#include "../common.h"

#define NR_HOLDERS	4
#define NR_HAMMERS	4
#define HAMMER_LOOPS	20000
#define NR_PAGES	16

static struct gm_backing *backing;
static uint8_t *view;		/* the whole backing, mapped: what a window would show */
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
	if (gm_backing_alloc(backing, 0, NR_PAGES) != NR_PAGES)
		return -1;
	view = mmap(NULL, NR_PAGES * GM_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (view == MAP_FAILED)
		return -1;
	return gm_backing_map(backing, 0, NR_PAGES * GM_PAGE_SIZE, view);
}

static int destroy_backing(void **state)
{
	for (uint64_t i = 0; i < NR_PAGES; i++)
		if (gm_pfn_pins(gm_backing_pfn(backing, i)) != 0)
			return -1;
	munmap(view, NR_PAGES * GM_PAGE_SIZE);
	gm_backing_destroy(backing);
	backing = NULL;
	return gm_pmem_frames_in_use(0) != 0 ? -1 : 0;
}

/*
 * Unpublish [start, end) and release it: never waits.  Return the number of
 * folios it left doomed, which gm_backing_doomed() agrees with.
 */
static int free_range(uint64_t start, uint64_t end)
{
	int doomed;

	gm_backing_unpublish(backing, start, end);
	doomed = gm_backing_release(backing, start, end);
	assert_true(doomed >= 0);
	assert_true(gm_backing_doomed(backing, start, end) <= (uint64_t)doomed);
	return doomed;
}

/* Does page @index of the memfd hold anything (mincore through the view)? */
static bool in_memfd(uint64_t index)
{
	unsigned char vec;

	if (mincore(view + index * GM_PAGE_SIZE, GM_PAGE_SIZE, &vec))
		return false;
	return vec & 1;
}

static void mark(uint64_t index, uint8_t byte)
{
	uint8_t page[GM_PAGE_SIZE];

	memset(page, byte, sizeof(page));
	assert_int_equal(gm_backing_write(backing, index * GM_PAGE_SIZE, page, sizeof(page)), 0);
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
	/* Up to the limit, and not past it; one unpin makes room again. */
	for (uint32_t i = 1; i <= GM_PMEM_MAX_PINS; i++)
		assert_int_equal(gm_backing_lookup_pin(backing, 0), pfn);
	assert_int_equal(gm_backing_lookup_pin(backing, 0), GM_PFN_NONE);
	assert_int_equal(gm_pfn_pins(pfn), GM_PMEM_MAX_PINS);
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_backing_lookup_pin(backing, 0), pfn);
	for (uint32_t i = 1; i <= GM_PMEM_MAX_PINS; i++)
		gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	/* One unpin too many: ignored, the count stays at zero. */
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	/* Nothing pinned: the page is gone when the release returns. */
	mark(0, 0x5a);
	free_range(0, 1);
	assert_false(gm_backing_present(backing, 0));
	assert_false(in_memfd(0));
	assert_int_equal(gm_backing_alloc(backing, 0, 1), 1);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	assert_int_equal(view[0], 0);
}

/* Holds two nested pins on page 0, drops them when main says, one by one. */
static void *holder(void *arg)
{
	gm_pfn_t pfn = gm_backing_lookup_pin(backing, 0);

	if (pfn == GM_PFN_NONE || gm_backing_lookup_pin(backing, 0) != pfn)
		atomic_store(&released, -1);
	atomic_store(&ready, 1);
	while (atomic_load(&done) < 1)
		sched_yield();
	gm_pfn_unpin(pfn);
	atomic_store(&ready, 2);
	while (atomic_load(&done) < 2)
		sched_yield();
	gm_pfn_unpin(pfn);
	atomic_store(&ready, 3);
	return NULL;
}

/*
 * A folio freed while another thread pins it: the release returns at once;
 * the folio takes no new pin and cannot be allocated again, its bytes stay
 * until the holder's last unpin (not its first), which punches them.
 */
static void test_release_dooms_pinned(void **state)
{
	gm_pfn_t pfn = gm_backing_pfn(backing, 0);
	pthread_t t;

	mark(0, 0xa5);
	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	while (atomic_load(&ready) < 1)
		sched_yield();
	assert_int_equal(gm_backing_unpublish(backing, 0, 1), 1);
	assert_int_equal(gm_backing_lookup_pin(backing, 0), GM_PFN_NONE);
	assert_int_equal(gm_backing_release(backing, 0, 1), 1);
	assert_int_equal(gm_backing_doomed(backing, 0, 1), 1);
	assert_false(gm_backing_present(backing, 0));
	assert_int_equal(gm_pfn_pins(pfn), 2);
	assert_true(in_memfd(0));
	assert_int_equal(view[0], 0xa5);
	assert_int_equal(gm_backing_alloc(backing, 0, 1), -EAGAIN);

	atomic_store(&done, 1);			/* first unpin: still doomed */
	while (atomic_load(&ready) < 2)
		sched_yield();
	assert_int_equal(gm_pfn_pins(pfn), 1);
	assert_true(in_memfd(0));
	assert_int_equal(gm_backing_alloc(backing, 0, 1), -EAGAIN);
	assert_int_equal(gm_backing_doomed(backing, 0, 1), 1);

	atomic_store(&done, 2);			/* last unpin: punched */
	pthread_join(t, NULL);
	assert_int_not_equal(atomic_load(&released), -1);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	assert_int_equal(gm_backing_doomed(backing, 0, 1), 0);
	assert_false(in_memfd(0));
	assert_int_equal(gm_backing_alloc(backing, 0, 1), 1);
	assert_int_equal(view[0], 0);
}

/* Thread @arg pins page 2 * (arg + 1) and drops it after 10 ms * (arg + 1). */
static void *range_holder(void *arg)
{
	uintptr_t k = (uintptr_t)arg;
	gm_pfn_t pfn = gm_backing_lookup_pin(backing, 2 * (k + 1));

	if (pfn == GM_PFN_NONE)
		atomic_store(&released, -1);
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&done))
		sched_yield();
	sleep_ms(10 * (long)(k + 1));
	gm_pfn_unpin(pfn);
	return NULL;
}

/*
 * One release over pinned and unpinned folios: the unpinned ones are gone
 * when it returns, each pinned one when its own holder lets go; a pin
 * outside the range is left alone.
 */
static void test_release_mixed_range(void **state)
{
	const uint64_t end = 2 * NR_HOLDERS + 2;
	gm_pfn_t outside = gm_backing_lookup_pin(backing, NR_PAGES - 1);
	pthread_t t[NR_HOLDERS];

	assert_int_equal(outside, gm_backing_pfn(backing, NR_PAGES - 1));
	for (uint64_t i = 0; i < NR_PAGES; i++)
		mark(i, (uint8_t)(i + 1));
	for (uintptr_t k = 0; k < NR_HOLDERS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, range_holder, (void *)k), 0);
	while (atomic_load(&ready) < NR_HOLDERS)
		sched_yield();
	assert_int_equal(free_range(0, end), NR_HOLDERS);
	for (uint64_t i = 0; i < end; i++) {
		bool pinned = i >= 2 && i % 2 == 0 && i < end;

		assert_false(gm_backing_present(backing, i));
		assert_int_equal(in_memfd(i), pinned);
	}
	atomic_store(&done, 1);
	for (int k = 0; k < NR_HOLDERS; k++)
		pthread_join(t[k], NULL);
	assert_int_not_equal(atomic_load(&released), -1);
	assert_int_equal(gm_backing_doomed(backing, 0, end), 0);
	for (uint64_t i = 0; i < end; i++) {
		assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, i)), 0);
		assert_false(in_memfd(i));
	}
	/* The pin outside: untouched, and its page keeps its bytes. */
	assert_int_equal(gm_pfn_pins(outside), 1);
	assert_true(gm_backing_present(backing, NR_PAGES - 1));
	assert_int_equal(view[(NR_PAGES - 1) * GM_PAGE_SIZE], NR_PAGES);
	gm_pfn_unpin(outside);
}

/*
 * The store's pattern: readers pin through the lookup and use the page;
 * the remover frees, waits for the doomed folio's pins to drop, and
 * reuses.  @payload is a plain int so that TSan reports a race if the last
 * unpin does not order the readers before the reuse.
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

/* Allocate page @index again, waiting for a doomed folio to go. */
static void realloc_page(uint64_t index)
{
	int64_t ret;

	while ((ret = gm_backing_alloc(backing, index, 1)) == -EAGAIN)
		sched_yield();
	assert_int_equal(ret, 1);
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
		while (gm_pfn_pins(gm_backing_pfn(backing, 0)))
			sched_yield();
		payload = 0;			/* the reuse: no reader may see it */
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
 * a freed folio takes no new pin, every allocation gets through once the
 * pins drop, and none is left at the end.
 */
static void test_release_under_load(void **state)
{
	pthread_t t[NR_HAMMERS];
	int rounds = 0;

	for (int i = 0; i < NR_HAMMERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	while (atomic_load(&done) < NR_HAMMERS || rounds < 100) {
		free_range(1, 2);
		assert_int_equal(gm_backing_lookup_pin(backing, 1), GM_PFN_NONE);
		realloc_page(1);
		rounds++;
	}
	for (int i = 0; i < NR_HAMMERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(backing, 1)), 0);
	printf("# %d releases under load\n", rounds);
	assert_int_equal(free_range(1, 2), 0);
	assert_false(in_memfd(1));
}

/*
 * A pfn kept past its backing's end names nothing: through thousands of
 * backings made and destroyed after it (enough for its id's slot to be
 * taken again), an unpin of the stale pfn never drops the new backing's pin
 * and the new pfns never equal it.
 */
static void test_stale_pfn(void **state)
{
	struct gm_backing *old, *b;
	gm_pfn_t stale, pfn;

	assert_int_equal(gm_backing_create(0, &old), 0);
	assert_int_equal(gm_backing_alloc(old, 0, 1), 1);
	stale = gm_backing_lookup_pin(old, 0);
	assert_int_not_equal(stale, GM_PFN_NONE);
	gm_backing_destroy(old);
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(gm_backing_create(0, &b), 0);
		assert_int_equal(gm_backing_alloc(b, 0, 1), 1);
		pfn = gm_backing_lookup_pin(b, 0);
		assert_int_not_equal(pfn, stale);
		gm_pfn_unpin(stale);
		assert_int_equal(gm_pfn_pins(pfn), 1);
		assert_int_equal(gm_pfn_pins(stale), 0);
		gm_pfn_unpin(pfn);
		gm_backing_destroy(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nesting, setup_backing, destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_dooms_pinned, setup_backing,
						destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_mixed_range, setup_backing,
						destroy_backing),
		cmocka_unit_test_setup_teardown(test_remover_pattern, setup_backing, destroy_backing),
		cmocka_unit_test_setup_teardown(test_release_under_load, setup_backing,
						destroy_backing),
		cmocka_unit_test(test_stale_pfn),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	if (!ret && gm_frames_in_use() != 0)
		return 1;
	return ret;
}
