// SPDX-License-Identifier: MIT
/*
 * pmem allocation: alignment of every order, placement at @near, split and
 * fresh-chunk blocks, frees that do not name a block, zeroed reuse, in-use
 * accounting, the metadata budget, bad arguments, and the huge pool with and
 * without reserved huge pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <guestmem/pmem.h>
#include "../common.h"

#define CHUNK	512U

static void test_orders_aligned(void **state)
{
	for (unsigned int order = 0; order <= GM_PMEM_MAX_ORDER; order++) {
		gm_pfn_t pfn = GM_PFN_NONE;

		assert_int_equal(gm_pmem_alloc(GM_POOL_4K, order, GM_PFN_NONE, &pfn), 0);
		assert_true(pfn < GM_PFN_HUGE_BASE);
		assert_int_equal(pfn & ((1ULL << order) - 1), 0);
		/* A block never straddles a 2 MiB chunk. */
		assert_int_equal(pfn / CHUNK, (pfn + (1ULL << order) - 1) / CHUNK);
		assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 1LL << order);
		assert_int_equal(gm_pmem_folio_head(pfn), pfn);
		assert_int_equal(gm_pmem_free(pfn, order), 0);
		assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 0);
	}
	gm_test_assert_no_frames();
}

static void test_near(void **state)
{
	gm_pfn_t base, a, b, c, d;

	/* An empty chunk of our own, with its first frame taken. */
	assert_int_equal(gm_pmem_alloc_fresh_chunk(0, 0, &base), 0);
	assert_int_equal(base % CHUNK, 0);
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, base + 5, &a), 0);
	assert_int_equal(a, base + 5);
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 3, base + 8, &b), 0);
	assert_int_equal(b, base + 8);
	/* Taken: placed elsewhere. */
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, base + 5, &c), 0);
	assert_true(c != base + 5 && c != base);
	assert_true(c < base + 8 || c >= base + 16);
	/* Misaligned for the order: placed elsewhere, aligned. */
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 1, base + 3, &d), 0);
	assert_int_not_equal(d, base + 3);
	assert_int_equal(d & 1, 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 1 + 1 + 8 + 1 + 2);
	assert_int_equal(gm_pmem_free(d, 1), 0);
	assert_int_equal(gm_pmem_free(c, 0), 0);
	assert_int_equal(gm_pmem_free(b, 3), 0);
	assert_int_equal(gm_pmem_free(a, 0), 0);
	assert_int_equal(gm_pmem_free(base, 0), 0);
	gm_test_assert_no_frames();
}

static void test_alloc_split(void **state)
{
	gm_pfn_t pfn, other;

	assert_int_equal(gm_pmem_alloc_split(GM_PMEM_MAX_ORDER + 1, &pfn), -EINVAL);
	assert_int_equal(gm_pmem_alloc_split(0, NULL), -EINVAL);
	assert_int_equal(gm_pmem_alloc_split(GM_HUGE_2M_ORDER, &pfn), 0);
	assert_int_equal(pfn % CHUNK, 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), CHUNK);
	/* Every frame is its own block: the whole is not one. */
	assert_int_equal(gm_pmem_free(pfn, GM_HUGE_2M_ORDER), -EINVAL);
	assert_int_equal(gm_pmem_free(pfn + 2, 1), -EINVAL);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), CHUNK);
	/* Free one in the middle; near puts a new frame back exactly there. */
	assert_int_equal(gm_pmem_free(pfn + 100, 0), 0);
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, pfn + 100, &other), 0);
	assert_int_equal(other, pfn + 100);
	for (unsigned int i = 0; i < CHUNK; i++)
		assert_int_equal(gm_pmem_free(pfn + i, 0), 0);
	gm_test_assert_no_frames();
}

static void test_fresh_chunk(void **state)
{
	gm_pfn_t a, b, fill;

	assert_int_equal(gm_pmem_alloc_fresh_chunk(GM_PMEM_MAX_ORDER + 1, 0, &a), -EINVAL);
	assert_int_equal(gm_pmem_alloc_fresh_chunk(0, CHUNK, &a), -EINVAL);
	assert_int_equal(gm_pmem_alloc_fresh_chunk(2, 3, &a), -EINVAL);
	assert_int_equal(gm_pmem_alloc_fresh_chunk(0, 0, NULL), -EINVAL);

	assert_int_equal(gm_pmem_alloc_fresh_chunk(0, 7, &a), 0);
	assert_int_equal(a % CHUNK, 7);
	assert_int_equal(gm_pmem_alloc_fresh_chunk(3, 8, &b), 0);
	assert_int_equal(b % CHUNK, 8);
	assert_int_not_equal(a / CHUNK, b / CHUNK);
	/* The rest of a's chunk is free: fill the frame before it via near. */
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, a - 1, &fill), 0);
	assert_int_equal(fill, a - 1);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 1 + 8 + 1);
	assert_int_equal(gm_pmem_free(fill, 0), 0);
	assert_int_equal(gm_pmem_free(b, 3), 0);
	assert_int_equal(gm_pmem_free(a, 0), 0);
	gm_test_assert_no_frames();
}

static void test_free_not_a_block(void **state)
{
	gm_pfn_t pfn;

	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 2, GM_PFN_NONE, &pfn), 0);
	static const struct { int64_t delta; unsigned int order; } bad[] = {
		{ 0, 0 }, { 0, 1 }, { 0, 3 }, { 0, 9 }, { 1, 0 }, { 2, 1 }, { 3, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gm_pmem_free(pfn + bad[i].delta, bad[i].order), -EINVAL);
		assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 4);
	}
	assert_int_equal(gm_pmem_free(pfn, 2), 0);
	/* Double free, and frames no pool handed out. */
	assert_int_equal(gm_pmem_free(pfn, 2), -EINVAL);
	assert_int_equal(gm_pmem_free(GM_PFN_NONE, 0), -EINVAL);
	assert_int_equal(gm_pmem_free(GM_PFN_HUGE_BASE, GM_HUGE_2M_ORDER), -EINVAL);
	assert_int_equal(gm_pmem_free((gm_pfn_t)gm_pmem_capacity(GM_POOL_4K), 0), -EINVAL);
	gm_test_assert_no_frames();
}

static void fill_pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31 + seed) | 1;
}

static void assert_zero(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			fail_msg("byte %zu is %#x, not zero", i, buf[i]);
}

static void test_reuse_reads_zero(void **state)
{
	static unsigned char in[8 * GM_PAGE_SIZE], out[8 * GM_PAGE_SIZE];
	static const unsigned int orders[] = { 0, 3 };

	for (size_t k = 0; k < 2; k++) {
		unsigned int order = orders[k];
		size_t len = GM_PAGE_SIZE << order;
		gm_pfn_t pfn, again;

		assert_int_equal(gm_pmem_alloc_fresh_chunk(order, 0, &pfn), 0);
		/* Fresh frames read zero too. */
		assert_int_equal(gm_pmem_read(pfn, 0, out, len), 0);
		assert_zero(out, len);
		fill_pattern(in, len, order);
		assert_int_equal(gm_pmem_write(pfn, 0, in, len), 0);
		assert_int_equal(gm_pmem_read(pfn, 0, out, len), 0);
		assert_memory_equal(in, out, len);
		assert_int_equal(gm_pmem_read(pfn, 100, out, 10), 0);
		assert_memory_equal(in + 100, out, 10);
		assert_int_equal(gm_pmem_free(pfn, order), 0);
		/* A freed frame is not readable or writable any more. */
		assert_int_equal(gm_pmem_read(pfn, 0, out, 1), -EINVAL);
		assert_int_equal(gm_pmem_write(pfn, 0, in, 1), -EINVAL);
		assert_int_equal(gm_pmem_alloc(GM_POOL_4K, order, pfn, &again), 0);
		assert_int_equal(again, pfn);
		memset(out, 0xaa, len);
		assert_int_equal(gm_pmem_read(again, 0, out, len), 0);
		assert_zero(out, len);
		/* I/O past the block's allocated frames is refused. */
		assert_int_equal(gm_pmem_read(again, len - 1, out, 2), -EINVAL);
		assert_int_equal(gm_pmem_free(again, order), 0);
	}
	gm_test_assert_no_frames();
}

static void test_in_use_accounting(void **state)
{
	gm_pfn_t pfn[GM_PMEM_MAX_ORDER + 1];
	int64_t want = 0;

	for (unsigned int order = 0; order <= GM_PMEM_MAX_ORDER; order++) {
		assert_int_equal(gm_pmem_alloc(GM_POOL_4K, order, GM_PFN_NONE, &pfn[order]), 0);
		want += 1LL << order;
		assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), want);
	}
	/* Distinct blocks do not overlap. */
	for (unsigned int i = 0; i <= GM_PMEM_MAX_ORDER; i++)
		for (unsigned int j = i + 1; j <= GM_PMEM_MAX_ORDER; j++)
			assert_true(pfn[i] + (1ULL << i) <= pfn[j] || pfn[j] + (1ULL << j) <= pfn[i]);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_2M), 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_1G), 0);
	for (unsigned int order = 0; order <= GM_PMEM_MAX_ORDER; order++) {
		assert_int_equal(gm_pmem_free(pfn[order], order), 0);
		want -= 1LL << order;
		assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), want);
	}
	gm_test_assert_no_frames();
}

static void test_meta_size(void **state)
{
	assert_true(gm_pmem_frame_meta_size() > 0);
	assert_true(gm_pmem_frame_meta_size() <= 16);
	gm_test_assert_no_frames();
}

static void test_bad_arguments(void **state)
{
	static const struct { int pool; unsigned int order; } bad[] = {
		{ GM_NR_POOLS, 0 }, { -1, 0 }, { 1000, 9 },
		{ GM_POOL_4K, GM_PMEM_MAX_ORDER + 1 }, { GM_POOL_4K, 18 }, { GM_POOL_4K, ~0U },
		{ GM_POOL_2M, 0 }, { GM_POOL_2M, 8 }, { GM_POOL_2M, 18 },
		{ GM_POOL_1G, 0 }, { GM_POOL_1G, 9 },
	};
	const char *why = NULL;
	gm_pfn_t pfn;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pfn = 12345;
		assert_int_equal(gm_pmem_alloc((enum gm_pool_id)bad[i].pool, bad[i].order,
					       GM_PFN_NONE, &pfn), -EINVAL);
		assert_int_equal(pfn, 12345);
	}
	assert_int_equal(gm_pmem_alloc(GM_POOL_4K, 0, GM_PFN_NONE, NULL), -EINVAL);
	assert_int_equal(gm_pmem_frames_in_use(GM_NR_POOLS), -EINVAL);
	assert_int_equal(gm_pmem_frames_in_use((enum gm_pool_id)-1), -EINVAL);
	assert_int_equal(gm_pmem_capacity(GM_NR_POOLS), -EINVAL);
	assert_true(gm_pmem_capacity(GM_POOL_4K) >= CHUNK);
	assert_int_equal(gm_pmem_capacity(GM_POOL_2M) % CHUNK, 0);
	assert_int_equal(gm_pmem_huge_available(GM_POOL_4K, &why), 0);
	assert_non_null(why);
	assert_int_equal(gm_pmem_huge_available(GM_NR_POOLS, NULL), 0);
	/* I/O on frames nobody allocated. */
	assert_int_equal(gm_pmem_read(GM_PFN_HUGE_BASE, 0, &pfn, 1), -EINVAL);
	assert_int_equal(gm_pmem_read(GM_PFN_NONE, 0, &pfn, 1), -EINVAL);
	gm_test_assert_no_frames();
}

static void test_huge_absent(void **state)
{
	const char *why = NULL;
	int lock = gm_test_huge_lock();
	gm_pfn_t pfn = 7;

	if (gm_pmem_huge_available(GM_POOL_2M, &why)) {
		gm_test_huge_unlock(lock);
		printf("SKIP case: the host has free 2 MiB huge pages now\n");
		skip();
	}
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	printf("# huge pool unavailable: %s\n", why);
	assert_int_equal(gm_pmem_alloc(GM_POOL_2M, GM_HUGE_2M_ORDER, GM_PFN_NONE, &pfn), -ENOMEM);
	assert_int_equal(pfn, 7);
	/* Asking again (the pool retries its setup) still fails cleanly. */
	assert_int_equal(gm_pmem_alloc(GM_POOL_2M, GM_HUGE_2M_ORDER, GM_PFN_NONE, &pfn), -ENOMEM);
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

static void test_huge_reserved(void **state)
{
	static unsigned char in[GM_PAGE_SIZE], out[GM_PAGE_SIZE];
	const size_t huge = GM_PAGE_SIZE << GM_HUGE_2M_ORDER;
	const char *why = NULL;
	gm_pfn_t a, b, c;
	int lock;

	if (geteuid() != 0) {
		printf("SKIP case: not root, cannot reserve huge pages\n");
		skip();
	}
	lock = gm_test_huge_lock();
	if (gm_test_hugepages_reserve(2, &why)) {
		gm_test_huge_unlock(lock);
		printf("SKIP case: %s\n", why);
		skip();
	}
	assert_int_equal(gm_pmem_huge_available(GM_POOL_2M, &why), 1);
	assert_int_equal(gm_pmem_alloc(GM_POOL_2M, GM_HUGE_2M_ORDER, GM_PFN_NONE, &a), 0);
	assert_int_equal(gm_pmem_alloc(GM_POOL_2M, GM_HUGE_2M_ORDER, GM_PFN_NONE, &b), 0);
	assert_true(a >= GM_PFN_HUGE_BASE && b >= GM_PFN_HUGE_BASE);
	assert_int_not_equal(a, b);
	assert_int_equal(a % CHUNK, 0);
	assert_int_equal(b % CHUNK, 0);
	assert_int_equal(gm_pmem_folio_head(a + 77), a);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_2M), 2 * CHUNK);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), 0);
	assert_int_equal(gm_pmem_free(a, 0), -EINVAL);

	fill_pattern(in, sizeof(in), 9);
	assert_int_equal(gm_pmem_write(a, huge - GM_PAGE_SIZE, in, sizeof(in)), 0);
	assert_int_equal(gm_pmem_read(a, huge - GM_PAGE_SIZE, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(gm_pmem_write(b + 3, 5, in, 100), 0);
	assert_int_equal(gm_pmem_read(b, 3 * GM_PAGE_SIZE + 5, out, 100), 0);
	assert_memory_equal(in, out, 100);

	assert_int_equal(gm_pmem_free(a, GM_HUGE_2M_ORDER), 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_2M), CHUNK);
	/* The huge page went back to the host; the next one reads zero. */
	assert_int_equal(gm_pmem_alloc(GM_POOL_2M, GM_HUGE_2M_ORDER, GM_PFN_NONE, &c), 0);
	assert_int_equal(gm_pmem_read(c, huge - GM_PAGE_SIZE, out, sizeof(out)), 0);
	assert_zero(out, sizeof(out));
	assert_int_equal(gm_pmem_free(c, GM_HUGE_2M_ORDER), 0);
	assert_int_equal(gm_pmem_free(b, GM_HUGE_2M_ORDER), 0);
	assert_int_equal(gm_pmem_free(b, GM_HUGE_2M_ORDER), -EINVAL);
	gm_test_hugepages_release();
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_aligned),
		cmocka_unit_test(test_near),
		cmocka_unit_test(test_alloc_split),
		cmocka_unit_test(test_fresh_chunk),
		cmocka_unit_test(test_free_not_a_block),
		cmocka_unit_test(test_reuse_reads_zero),
		cmocka_unit_test(test_in_use_accounting),
		cmocka_unit_test(test_meta_size),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_huge_absent),
		cmocka_unit_test_teardown(test_huge_reserved, gm_test_hugepages_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
