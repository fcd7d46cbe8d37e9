// SPDX-License-Identifier: MIT
/*
 * pmem huge backings (order 9: a hugetlb memfd of 2 MiB pages) with huge
 * pages reserved for the test: whole folios only, pfns of a folio's pages
 * consecutive from its head (index folio aligned), pins of any page counted
 * on the folio, byte I/O (hugetlbfs has no write(2)), all-or-nothing
 * allocation when the host runs out (the present folio keeps its data and
 * the huge pages taken on the way are given back), unpublish and release
 * giving the huge page back to the host, accounting back to the start.
 *
 * Needs root (to reserve huge pages through /proc/sys/vm/nr_hugepages);
 * skips (77) with the reason otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmem.h"
#include "../common.h"

#define PAGES_2M	512U
#define HUGE_BYTES	((uint64_t)PAGES_2M * GM_PAGE_SIZE)
#define NR_RESERVED	3

static void test_huge_backing(void **state)
{
	static unsigned char in[2 * GM_PAGE_SIZE], out[2 * GM_PAGE_SIZE];
	int64_t frames = gm_pmem_frames_in_use(GM_HUGE_2M_ORDER);
	int64_t frames_4k = gm_pmem_frames_in_use(0), meta = gm_pmem_meta_bytes();
	int64_t free_before = gm_pmem_huge_free(GM_HUGE_2M_ORDER);
	struct gm_backing *b;
	gm_pfn_t head, pfn, other;

	assert_true(free_before >= NR_RESERVED);
	assert_int_equal(gm_pmem_huge_available(GM_HUGE_2M_ORDER, NULL), 1);
	assert_int_equal(gm_backing_create(GM_HUGE_2M_ORDER, &b), 0);
	assert_int_equal(gm_backing_order(b), GM_HUGE_2M_ORDER);

	/* Two folios: 0 and 2. */
	assert_int_equal(gm_backing_alloc(b, 0, PAGES_2M), PAGES_2M);
	assert_int_equal(gm_backing_alloc(b, 2 * PAGES_2M, PAGES_2M), PAGES_2M);
	assert_int_equal(gm_backing_alloc(b, 0, PAGES_2M), 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), frames + 2 * PAGES_2M);
	assert_int_equal(gm_pmem_frames_in_use(0), frames_4k);
	assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), free_before - 2);
	for (uint64_t i = 0; i < 3 * PAGES_2M; i += 37)
		assert_int_equal(gm_backing_present(b, i), i < PAGES_2M || i >= 2 * PAGES_2M);
	assert_true(gm_backing_full_2m(b, 0));
	assert_true(gm_backing_full_2m(b, 2 * PAGES_2M + 511));
	assert_false(gm_backing_full_2m(b, PAGES_2M + 3));

	/* Any page of a folio: its pfn is the head's plus its offset; pins are the folio's. */
	head = gm_backing_pfn(b, 0);
	pfn = gm_backing_lookup_pin(b, 77);
	assert_int_equal(pfn, head + 77);
	assert_int_equal(gm_pfn_pins(head), 1);
	assert_int_equal(gm_pfn_pins(head + PAGES_2M - 1), 1);
	other = gm_backing_lookup_pin(b, 3);
	assert_int_equal(other, head + 3);
	assert_int_equal(gm_pfn_pins(pfn), 2);
	assert_int_equal(gm_pfn_pins(head), 2);
	/* The other folio's pins are its own. */
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, 2 * PAGES_2M)), 0);
	gm_pfn_unpin(other);
	assert_int_equal(gm_pfn_pins(head + 200), 1);
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(head), 0);
	gm_pfn_unpin(pfn);		/* a second unpin: ignored */
	assert_int_equal(gm_pfn_pins(head), 0);

	/* I/O at the end of a folio, and in the middle of the other. */
	gm_test_fill_pattern(in, sizeof(in), 9);
	assert_int_equal(gm_backing_write(b, HUGE_BYTES - GM_PAGE_SIZE, in, GM_PAGE_SIZE), 0);
	assert_int_equal(gm_backing_read(b, HUGE_BYTES - GM_PAGE_SIZE, out, GM_PAGE_SIZE), 0);
	assert_memory_equal(in, out, GM_PAGE_SIZE);
	assert_int_equal(gm_backing_write(b, 2 * HUGE_BYTES + 3 * GM_PAGE_SIZE + 5, in, 100), 0);
	assert_int_equal(gm_backing_read(b, 2 * HUGE_BYTES + 3 * GM_PAGE_SIZE + 5, out, 100), 0);
	assert_memory_equal(in, out, 100);
	/* Into the hole between them: refused, nothing written. */
	assert_int_equal(gm_backing_write(b, HUGE_BYTES - 10, in, 20), -EINVAL);
	assert_int_equal(gm_backing_read(b, HUGE_BYTES, out, 1), -EINVAL);
	assert_int_equal(gm_backing_read(b, HUGE_BYTES - GM_PAGE_SIZE, out, GM_PAGE_SIZE), 0);
	assert_memory_equal(in, out, GM_PAGE_SIZE);

	/*
	 * Folios 0 to 3 asked for while one huge page is free: folios 1 and 3
	 * need two.  All or nothing: -ENOMEM, neither published, the page
	 * taken for the first given back, folios 0 and 2 untouched.
	 */
	assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), free_before - 2);
	if (gm_pmem_huge_free(GM_HUGE_2M_ORDER) == 1) {
		assert_int_equal(gm_backing_alloc(b, 0, 4 * PAGES_2M), -ENOMEM);
		assert_false(gm_backing_present(b, PAGES_2M));
		assert_false(gm_backing_present(b, 3 * PAGES_2M));
		assert_int_equal(gm_backing_lookup_pin(b, PAGES_2M), GM_PFN_NONE);
		assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), frames + 2 * PAGES_2M);
		assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), 1);
		assert_true(gm_backing_present(b, 0));
		assert_true(gm_backing_present(b, 2 * PAGES_2M));
		assert_int_equal(gm_backing_read(b, HUGE_BYTES - GM_PAGE_SIZE, out, GM_PAGE_SIZE), 0);
		assert_memory_equal(in, out, GM_PAGE_SIZE);
		/* The one that fits still does. */
		assert_int_equal(gm_backing_alloc(b, 3 * PAGES_2M, PAGES_2M), PAGES_2M);
		assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), 0);
		assert_int_equal(gm_backing_unpublish(b, 3 * PAGES_2M, 4 * PAGES_2M), PAGES_2M);
		assert_int_equal(gm_backing_release(b, 3 * PAGES_2M, 4 * PAGES_2M), 0);
		assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), 1);
	} else {
		print_message("# %lld huge pages free, not 1: all-or-nothing case not run\n",
			      (long long)gm_pmem_huge_free(GM_HUGE_2M_ORDER));
	}

	/* Folio 0 freed: the huge page goes back to the host; again, it reads zero. */
	assert_int_equal(gm_backing_unpublish(b, 0, PAGES_2M), PAGES_2M);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), frames + PAGES_2M);
	assert_int_equal(gm_backing_lookup_pin(b, 5), GM_PFN_NONE);
	assert_int_equal(gm_backing_release(b, 0, PAGES_2M), 0);
	assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), free_before - 1);
	assert_int_equal(gm_backing_alloc(b, 0, PAGES_2M), PAGES_2M);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(gm_backing_read(b, HUGE_BYTES - GM_PAGE_SIZE, out, GM_PAGE_SIZE), 0);
	gm_test_assert_zero(out, GM_PAGE_SIZE);

	/* Destroyed with folios held: pages, metadata and huge pages all come back. */
	gm_backing_destroy(b);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), frames);
	assert_int_equal(gm_pmem_meta_bytes(), meta);
	assert_int_equal(gm_pmem_huge_free(GM_HUGE_2M_ORDER), free_before);
	gm_test_assert_no_frames();
}

static int setup(void **state)
{
	const char *why = NULL;

	if (gm_test_huge_try_begin(NR_RESERVED, false, &why))
		gm_test_skip("pmem huge backings: %s", why);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_huge_backing, setup, gm_test_huge_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
