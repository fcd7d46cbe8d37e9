// SPDX-License-Identifier: MIT
/*
 * In-place files under a race: one thread turns a page private, writes a
 * secret into it through the guest's path and turns it shared again with
 * GM_CONVERT_ZERO, over and over; another reads the page as the host.
 * Each read either fails with -EPERM or returns zeros: the host never sees
 * a private page's bytes, not even half a page of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/file.h>
#include "store.h"
#include "../common.h"

#define PG		((off_t)GM_PAGE_SIZE)
#define ROUNDS		20000

struct race {
	struct gm_file *file;
	atomic_bool done;
	long reads, refused;		/* the reader's; read once it is joined */
	const char *_Atomic bad;
};

static void *host_reader(void *arg)
{
	static unsigned char buf[GM_PAGE_SIZE];
	struct race *r = arg;

	while (!atomic_load(&r->done) && !atomic_load(&r->bad)) {
		ssize_t n = gm_pread(r->file, buf, sizeof(buf), PG);

		if (n == -EPERM) {
			r->refused++;
			continue;
		}
		if (n != PG) {
			atomic_store(&r->bad, "a read neither refused nor whole");
			break;
		}
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i]) {
				atomic_store(&r->bad, "the host read a private page's bytes");
				break;
			}
		r->reads++;
	}
	return NULL;
}

static void test_zero_race(void **state)
{
	static unsigned char secret[GM_PAGE_SIZE];
	struct race r = { 0 };
	pthread_t reader;

	assert_int_equal(gm_memfd_create("race", GM_MFD_GUEST | GM_MFD_GUEST_MMAP |
					 GM_MFD_GUEST_INIT_SHARED, &r.file), 0);
	assert_int_equal(gm_ftruncate(r.file, 4 * PG), 0);
	memset(secret, 0xa5, sizeof(secret));
	assert_int_equal(pthread_create(&reader, NULL, host_reader, &r), 0);
	for (int i = 0; i < ROUNDS && !atomic_load(&r.bad); i++) {
		assert_int_equal(gm_file_set_attributes(r.file, PG, PG, GM_FILE_ATTR_PRIVATE,
							GM_CONVERT_PRESERVE, NULL), 0);
		assert_int_equal(gm_file_guest_write(r.file, PG, secret, sizeof(secret)), 0);
		assert_int_equal(gm_file_set_attributes(r.file, PG, PG, 0, GM_CONVERT_ZERO, NULL), 0);
	}
	atomic_store(&r.done, true);
	pthread_join(reader, NULL);
	if (atomic_load(&r.bad))
		fail_msg("%s", atomic_load(&r.bad));
	printf("# %ld reads whole and zero, %ld refused\n", r.reads, r.refused);
	gm_file_put(r.file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_zero_race) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
