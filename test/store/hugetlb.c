// SPDX-License-Identifier: MIT
/*
 * Guest-only hugetlb files (GM_MFD_GUEST | GM_MFD_HUGETLB, 2 MiB pages):
 * sizes, offsets and lengths must be 2 MiB multiples; without huge pages an
 * allocation fails with -ENOSPC and leaves nothing half done; with huge pages
 * reserved (root only) pages are allocated, punched and truncated, and the
 * count of 4 KiB pages held in 2 MiB folios follows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "array.h"
#include "store.h"
#include "../common.h"
#include "../frames.h"

#define HP		((off_t)2 << 20)
#define PG		((off_t)GM_PAGE_SIZE)
#define FRAMES		512	/* 4 KiB frames per huge page */
#define KEEP		GM_FALLOC_KEEP_SIZE
#define PUNCH		GM_FALLOC_PUNCH_HOLE

static struct gm_file *huge_file(void)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("huge", GM_MFD_GUEST | GM_MFD_HUGETLB |
					 GM_MFD_ALLOW_SEALING, &file), 0);
	assert_int_equal(gm_file_page_shift(file), GM_HUGE_2M_SHIFT);
	assert_int_equal(gm_file_store(file), GM_STORE_HUGETLB);
	return file;
}

static void test_alignment(void **state)
{
	static const struct { const char *what; int op; int mode; off_t a, b; int want; } t[] = {
		{ "ftruncate 4 KiB", 0, 0, PG, 0, -EINVAL },
		{ "ftruncate 2 MiB + 4 KiB", 0, 0, HP + PG, 0, -EINVAL },
		{ "ftruncate 1 MiB", 0, 0, HP / 2, 0, -EINVAL },
		{ "ftruncate past the most a file addresses", 0, 0, -1, 0, -EFBIG },
		{ "fallocate 4 KiB", 1, 0, 0, PG, -EINVAL },
		{ "fallocate at 4 KiB", 1, KEEP, PG, HP, -EINVAL },
		{ "fallocate 2 MiB + 4 KiB", 1, 0, 0, HP + PG, -EINVAL },
		{ "punch 4 KiB", 1, PUNCH | KEEP, 0, PG, -EINVAL },
		{ "punch at 1 MiB", 1, PUNCH | KEEP, HP / 2, HP, -EINVAL },
		{ "punch without KEEP_SIZE", 1, PUNCH, 0, HP, -EOPNOTSUPP },
		{ "fallocate past the most a file addresses", 1, KEEP, -1, HP, -EFBIG },
		{ "ftruncate 2 MiB", 0, 0, HP, 0, 0 },
		{ "punch a hole", 1, PUNCH | KEEP, 0, HP, 0 },
		{ "ftruncate 0", 0, 0, 0, 0, 0 },
	};
	off_t cap = (off_t)gm_test_max_file_bytes();
	struct gm_file *file = huge_file();

	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		off_t a = t[i].a == -1 ? cap + (t[i].op ? 0 : HP) : t[i].a;
		int64_t size = gm_file_size(file);
		int ret = t[i].op ? gm_fallocate(file, t[i].mode, a, t[i].b) : gm_ftruncate(file, a);

		if (ret != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].what, ret, t[i].want);
		if (ret)
			assert_int_equal(gm_file_size(file), size);
		assert_int_equal(gm_file_pages_held(file), 0);
	}
	/* The most a file addresses is a valid (empty) size. */
	assert_int_equal(cap % HP, 0);
	assert_int_equal(gm_ftruncate(file, cap), 0);
	assert_int_equal(gm_ftruncate(file, 0), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_no_huge_pages(void **state)
{
	const char *why;
	int lock = gm_test_huge_lock();
	struct gm_file *file;
	gm_pfn_t pfn;

	if (gm_hugetlb_available(GM_HUGE_2M_SHIFT, &why)) {
		gm_test_huge_unlock(lock);
		printf("SKIP case: the host has free 2 MiB huge pages now\n");
		skip();
	}
	printf("# %s\n", why);
	file = huge_file();
	assert_int_equal(gm_ftruncate(file, 4 * HP), 0);
	static const struct { int mode; off_t off, len; } t[] = {
		{ 0, 0, HP }, { KEEP, 0, 4 * HP }, { 0, 2 * HP, 4 * HP }, { KEEP, 6 * HP, HP },
	};
	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		assert_int_equal(gm_fallocate(file, t[i].mode, t[i].off, t[i].len), -ENOSPC);
		assert_int_equal(gm_file_size(file), 4 * HP);
		assert_int_equal(gm_file_pages_held(file), 0);
		assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 0);
	}
	/* The guest's path fails the same way, and holds nothing. */
	assert_true(gm_file_get_lock_pfn(file, 0, &pfn, NULL) < 0);
	assert_int_equal(gm_file_pages_held(file), 0);
	/* Punching and truncating need no pages. */
	assert_int_equal(gm_fallocate(file, PUNCH | KEEP, 0, 4 * HP), 0);
	assert_int_equal(gm_ftruncate(file, HP), 0);
	gm_file_put(file);
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

static void test_with_huge_pages(void **state)
{
	static char in[PG], out[PG];
	struct gm_file *file;

	gm_test_huge_begin(4, false, NULL);
	file = huge_file();
	assert_int_equal(gm_ftruncate(file, 4 * HP), 0);
	assert_int_equal(gm_fallocate(file, 0, 0, 2 * HP), 0);
	assert_int_equal(gm_file_pages_held(file), 2 * FRAMES);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 2 * FRAMES);
	assert_int_equal(gm_test_frames_in_use(0), 0);
	assert_int_equal(gm_file_mapping_level(file, FRAMES + 3), GM_LEVEL_2M);

	memset(in, 0x77, sizeof(in));
	assert_int_equal(gm_file_guest_write(file, HP + 100, in, sizeof(in)), 0);
	assert_int_equal(gm_file_guest_read(file, HP + 100, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* Punch the second page: its data is gone, the first stays. */
	assert_int_equal(gm_fallocate(file, PUNCH | KEEP, HP, HP), 0);
	assert_int_equal(gm_file_pages_held(file), FRAMES);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), FRAMES);
	assert_int_equal(gm_file_guest_read(file, HP + 100, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);

	/* Fill the reservation (4 pages), then ask for 2 more: all or nothing. */
	assert_int_equal(gm_fallocate(file, KEEP, HP, 3 * HP), 0);
	assert_int_equal(gm_file_pages_held(file), 4 * FRAMES);
	if (!gm_hugetlb_available(GM_HUGE_2M_SHIFT, NULL)) {
		assert_int_equal(gm_fallocate(file, 0, 4 * HP, 2 * HP), -ENOSPC);
		assert_int_equal(gm_file_size(file), 4 * HP);
		assert_int_equal(gm_file_pages_held(file), 4 * FRAMES);
		assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 4 * FRAMES);
	}

	/* Truncate frees the pages past the new end. */
	assert_int_equal(gm_ftruncate(file, HP), 0);
	assert_int_equal(gm_file_pages_held(file), FRAMES);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), FRAMES);
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(gm_file_pages_held(file), 0);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 0);

	/* A file put with pages still held gives them all back. */
	assert_int_equal(gm_ftruncate(file, 2 * HP), 0);
	assert_int_equal(gm_fallocate(file, 0, 0, 2 * HP), 0);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 2 * FRAMES);
	gm_file_put(file);
	gm_test_huge_end();
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_no_huge_pages),
		cmocka_unit_test_teardown(test_with_huge_pages, gm_test_huge_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
