// SPDX-License-Identifier: MIT
/*
 * A host read racing with GM_SEAL_GUEST never returns guest data: thread A
 * loops gm_pread() on an ordinary file while thread B seals it and writes
 * guest data through the guest's path.  A may see what the file held before
 * the seal (here: nothing, a count of 0) or -EPERM, never anything else, and
 * its buffer never holds a guest byte.  A fresh empty file each round.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/file.h>
#include "store.h"
#include "../common.h"

#define ROUNDS		2000
#define PG		((size_t)GM_PAGE_SIZE)
#define GUEST_BYTE	0x5a

static pthread_barrier_t barrier;
static struct gm_file *shared_file;	/* set before the first barrier of a round */
static _Atomic int sealed;		/* B has sealed and written this round */
static _Atomic long bad_count, bad_bytes, saw_eperm, saw_zero, reads;

static void *reader(void *arg)
{
	static unsigned char buf[2 * GM_PAGE_SIZE];

	for (int round = 0; round < ROUNDS; round++) {
		pthread_barrier_wait(&barrier);
		for (int spin = 0; ; spin++) {
			int done = atomic_load(&sealed);
			ssize_t n;

			memset(buf, 0, sizeof(buf));
			n = gm_pread(shared_file, buf, sizeof(buf), 0);
			atomic_fetch_add(&reads, 1);
			if (n == -EPERM)
				atomic_fetch_add(&saw_eperm, 1);
			else if (n == 0)
				atomic_fetch_add(&saw_zero, 1);
			else
				atomic_fetch_add(&bad_count, 1);
			for (size_t i = 0; i < sizeof(buf); i++)
				if (buf[i])
					atomic_fetch_add(&bad_bytes, 1);
			/* Keep reading a little after the seal too. */
			if (done && spin > 4)
				break;
		}
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

static void test_read_races_seal(void **state)
{
	static unsigned char data[2 * GM_PAGE_SIZE];
	pthread_t t;

	memset(data, GUEST_BYTE, sizeof(data));
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
	for (int round = 0; round < ROUNDS; round++) {
		struct gm_file *file;

		assert_int_equal(gm_memfd_create("race", GM_MFD_ALLOW_SEALING, &file), 0);
		shared_file = file;
		atomic_store(&sealed, 0);
		pthread_barrier_wait(&barrier);
		assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
		assert_int_equal(gm_ftruncate(file, 4 * PG), 0);
		assert_int_equal(gm_file_guest_write(file, 0, data, sizeof(data)), 0);
		atomic_store(&sealed, 1);
		pthread_barrier_wait(&barrier);
		gm_file_put(file);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&barrier);
	printf("# %ld reads: %ld empty, %ld -EPERM\n", atomic_load(&reads),
	       atomic_load(&saw_zero), atomic_load(&saw_eperm));
	assert_int_equal(atomic_load(&bad_count), 0);
	assert_int_equal(atomic_load(&bad_bytes), 0);
	assert_true(atomic_load(&saw_eperm) >= ROUNDS);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_races_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
