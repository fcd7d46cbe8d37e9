// SPDX-License-Identifier: MIT
/*
 * Frame pins across threads: pins nest, gm_frame_wait_unlocked() sleeps
 * until the last pin is dropped by whichever thread holds it, wakes every
 * waiter, and orders the holder's accesses before the waiter's (TSan checks
 * the last through a plain, non-atomic variable).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/pmem.h>
#include "../common.h"

#define NR_WAITERS	4
#define NR_HAMMERS	4
#define HAMMER_LOOPS	20000

static gm_pfn_t frame;
static _Atomic int ready, released, done;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int setup_frame(void **state)
{
	atomic_store(&ready, 0);
	atomic_store(&released, 0);
	atomic_store(&done, 0);
	return gm_pmem_alloc(GM_POOL_4K, 0, GM_PFN_NONE, &frame) ? -1 : 0;
}

static int free_frame(void **state)
{
	return gm_pmem_free(frame, 0) ? -1 : 0;
}

static void test_nesting(void **state)
{
	assert_int_equal(gm_frame_pins(frame), 0);
	gm_frame_wait_unlocked(frame);		/* nothing held: returns at once */
	for (uint32_t i = 1; i <= 3; i++) {
		gm_frame_lock(frame);
		assert_int_equal(gm_frame_pins(frame), i);
	}
	for (uint32_t i = 3; i > 0; i--) {
		gm_frame_unlock(frame);
		assert_int_equal(gm_frame_pins(frame), i - 1);
	}
	gm_frame_wait_unlocked(frame);
	assert_int_equal(gm_pmem_free(frame, 0), 0);
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, GM_PFN_NONE, &frame), 0);
}

/* Holds two nested pins for a while, then drops them one by one. */
static void *holder(void *arg)
{
	gm_frame_lock(frame);
	gm_frame_lock(frame);
	atomic_store(&ready, 1);
	sleep_ms(30);
	gm_frame_unlock(frame);
	sleep_ms(30);
	atomic_store(&released, 1);
	gm_frame_unlock(frame);
	return NULL;
}

static void test_wait_for_other_thread(void **state)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	while (!atomic_load(&ready))
		sched_yield();
	gm_frame_wait_unlocked(frame);
	/* Not after the first unlock: only after the last. */
	assert_int_equal(atomic_load(&released), 1);
	assert_int_equal(gm_frame_pins(frame), 0);
	pthread_join(t, NULL);
}

static void *waiter(void *arg)
{
	gm_frame_wait_unlocked(frame);
	atomic_fetch_add(&done, 1);
	return NULL;
}

static void test_every_waiter_wakes(void **state)
{
	pthread_t t[NR_WAITERS];

	gm_frame_lock(frame);
	for (int i = 0; i < NR_WAITERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, waiter, NULL), 0);
	sleep_ms(50);
	assert_int_equal(atomic_load(&done), 0);
	gm_frame_lock(frame);
	gm_frame_unlock(frame);
	sleep_ms(20);
	assert_int_equal(atomic_load(&done), 0);
	gm_frame_unlock(frame);
	for (int i = 0; i < NR_WAITERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&done), NR_WAITERS);
	assert_int_equal(gm_frame_pins(frame), 0);
}

/*
 * The store's pattern: readers pin, check the frame is still published, use
 * it, unpin; the remover unpublishes, waits, then reuses.  @payload is a
 * plain int so that TSan reports a race if the wait does not order them.
 */
static _Atomic int published;
static int payload;
static _Atomic long uses;

static void *reader(void *arg)
{
	for (int i = 0; i < HAMMER_LOOPS; i++) {
		gm_frame_lock(frame);
		if (atomic_load(&published)) {
			if (payload != 42)
				atomic_store(&released, -1);	/* reported by main */
			atomic_fetch_add(&uses, 1);
		}
		gm_frame_unlock(frame);
	}
	return NULL;
}

static void test_remover_pattern(void **state)
{
	pthread_t t[NR_HAMMERS];

	for (int round = 0; round < 20; round++) {
		payload = 42;
		atomic_store(&published, 1);
		for (int i = 0; i < NR_HAMMERS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
		sleep_ms(1);
		atomic_store(&published, 0);
		gm_frame_wait_unlocked(frame);
		payload = 0;			/* the "free": no reader may see it */
		for (int i = 0; i < NR_HAMMERS; i++)
			pthread_join(t[i], NULL);
		assert_int_not_equal(atomic_load(&released), -1);
		assert_int_equal(gm_frame_pins(frame), 0);
	}
	printf("# %ld published uses\n", atomic_load(&uses));
}

static void *hammer(void *arg)
{
	for (int i = 0; i < HAMMER_LOOPS; i++) {
		gm_frame_lock(frame);
		gm_frame_unlock(frame);
	}
	return NULL;
}

static void test_waits_under_load(void **state)
{
	pthread_t t[NR_HAMMERS];

	for (int i = 0; i < NR_HAMMERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 2000; i++)
		gm_frame_wait_unlocked(frame);
	for (int i = 0; i < NR_HAMMERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(gm_frame_pins(frame), 0);
	/* A last wait with nothing held must not sleep. */
	gm_frame_wait_unlocked(frame);
}

static int check_no_frames(void **state)
{
	int ret = free_frame(state);

	if (gm_pmem_frames_in_use(GM_POOL_4K) != 0)
		return -1;
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nesting, setup_frame, check_no_frames),
		cmocka_unit_test_setup_teardown(test_wait_for_other_thread, setup_frame,
						check_no_frames),
		cmocka_unit_test_setup_teardown(test_every_waiter_wakes, setup_frame,
						check_no_frames),
		cmocka_unit_test_setup_teardown(test_remover_pattern, setup_frame, check_no_frames),
		cmocka_unit_test_setup_teardown(test_waits_under_load, setup_frame, check_no_frames),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	if (!ret && gm_pmem_frames_in_use(GM_POOL_4K) != 0)
		return 1;
	return ret;
}
