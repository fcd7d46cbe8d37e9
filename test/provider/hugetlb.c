// SPDX-License-Identifier: MIT
/*
 * The hugetlb provider: guest-only files of 2 MiB pages served from the
 * huge pool.  get_lock_pfn returns order 9 and every 4 KiB index of a folio
 * lands in that folio; mapping level is 2 MiB.  When the host's huge pages
 * run out, the next fault fails with -ENOMEM and leaves nothing half done.
 *
 * Needs root (to reserve huge pages through /proc/sys/vm/nr_hugepages);
 * skips with the reason otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"
#include "../frames.h"

#define MiB		(1ULL << 20)
#define PAGES_2M	512U
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)

struct owner {
	unsigned int calls;
	uint64_t start, end;
};

static void record_invalidate(struct gm_file *file, void *p, uint64_t start, uint64_t end)
{
	struct owner *o = p;

	o->calls++;
	o->start = start;
	o->end = end;
}

static const struct gm_guest_ops ops = { .invalidate_page_range = record_invalidate };

static struct gm_file *huge_file(uint64_t size)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("huge", GM_MFD_GUEST | GM_MFD_HUGETLB, &file), 0);
	assert_int_equal(gm_file_store(file), GM_STORE_HUGETLB);
	assert_int_equal(gm_file_page_shift(file), GM_HUGE_2M_SHIFT);
	assert_int_equal(gm_ftruncate(file, (off_t)size), 0);
	return file;
}

/*
 * The head of the folio that @pfn (a page @file holds) belongs to: the pfn
 * of the folio's first page, whose index is 2 MiB aligned; the folio's
 * pages have consecutive pfns from it.
 */
static gm_pfn_t folio_head(struct gm_file *file, gm_pfn_t pfn)
{
	uint64_t index = UINT64_MAX, head_index;

	assert_int_equal(gm_test_frame_owner(pfn, file, &index), 0);
	head_index = index & ~(uint64_t)(PAGES_2M - 1);
	assert_int_equal(gm_test_pfn_of(file, head_index), pfn - (index - head_index));
	assert_int_equal(gm_test_pfn_of(file, head_index + PAGES_2M - 1),
			 pfn - (index - head_index) + PAGES_2M - 1);
	return pfn - (index - head_index);
}

static void test_folios(void **state)
{
	struct gm_file *file = huge_file(4 * MiB);
	const struct gm_provider *p = gm_provider_find(file);
	const struct gm_mem_ops *mem;
	struct owner o = { 0 };
	gm_pfn_t a, b, c;
	unsigned int order = 0;
	uint64_t index = UINT64_MAX;

	assert_non_null(p);
	assert_string_equal(p->name, "hugetlb");
	assert_int_equal(gm_register_guest(file, &o, &ops, &mem), 0);

	assert_int_equal(mem->get_lock_pfn(file, 0, &a, &order), 0);
	assert_int_equal(order, GM_HUGE_2M_ORDER);
	assert_int_equal(a, gm_test_pfn_of(file, 0));
	assert_int_equal(folio_head(file, a), a);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), PAGES_2M);
	assert_int_equal(mem->pfn_mapping_level(file, 0), GM_LEVEL_2M);
	assert_int_equal(gm_test_frame_owner(a, file, &index), 0);
	assert_int_equal(index, 0);

	/* Another 4 KiB index of the same folio: the same folio, no allocation. */
	order = 0;
	assert_int_equal(mem->get_lock_pfn(file, 77, &b, &order), 0);
	assert_int_equal(order, GM_HUGE_2M_ORDER);
	assert_int_equal(folio_head(file, b), a);
	assert_int_equal(b, a + 77);
	assert_int_equal(gm_test_frame_owner(b, file, &index), 0);
	assert_int_equal(index, 77);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), PAGES_2M);
	assert_int_equal(mem->pfn_mapping_level(file, 77), GM_LEVEL_2M);
	/* Pins of any page are counted on the folio: every page sees them. */
	assert_int_equal(gm_test_pins(a), 2);
	assert_int_equal(gm_test_pins(b), 2);
	assert_int_equal(gm_test_pins(a + PAGES_2M - 1), 2);
	mem->put_unlock_pfn(b);
	assert_int_equal(gm_test_pins(a), 1);
	assert_int_equal(gm_test_pins(a + 300), 1);
	mem->put_unlock_pfn(a);
	assert_int_equal(gm_test_pins(a), 0);
	assert_int_equal(gm_test_pins(b), 0);

	/* The second folio is another huge page. */
	assert_int_equal(mem->get_lock_pfn(file, PAGES_2M + 1, &c, &order), 0);
	assert_int_equal(order, GM_HUGE_2M_ORDER);
	assert_int_not_equal(folio_head(file, c), a);
	assert_int_equal(c, folio_head(file, c) + 1);
	assert_int_equal(gm_test_frame_owner(c, file, &index), 0);
	assert_int_equal(index, PAGES_2M + 1);
	/* Its pins are its own, not the first folio's. */
	assert_int_equal(gm_test_pins(c), 1);
	assert_int_equal(gm_test_pins(a), 0);
	mem->put_unlock_pfn(c);
	assert_int_equal(gm_test_pins(c), 0);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), 2 * PAGES_2M);
	assert_int_equal(gm_file_pages_held(file), 2 * PAGES_2M);
	/* No 4 KiB frames were used. */
	assert_int_equal(gm_test_frames_in_use(0), 0);

	/* Past the end. */
	assert_int_equal(mem->get_lock_pfn(file, 2 * PAGES_2M, &c, &order), -EINVAL);
	assert_int_equal(mem->pfn_mapping_level(file, 2 * PAGES_2M), -EINVAL);

	/* A punch is by whole huge pages; the owner hears the 4 KiB range. */
	assert_int_equal(gm_fallocate(file, PUNCH, 0, GM_PAGE_SIZE), -EINVAL);
	assert_int_equal(gm_fallocate(file, PUNCH, (off_t)(2 * MiB), (off_t)(2 * MiB)), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.start, PAGES_2M);
	assert_int_equal(o.end, 2 * PAGES_2M);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), PAGES_2M);
	/* The punched folio's pages are the file's no longer; the first's still are. */
	assert_int_equal(gm_test_frame_owner(c, file, &index), -ENOENT);
	assert_int_equal(gm_test_frame_owner(b, file, &index), 0);
	assert_int_equal(index, 77);

	assert_int_equal(gm_unregister_guest(file, &o), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_pool_exhausted(void **state)
{
	struct gm_file *file;
	const struct gm_mem_ops *mem;
	struct owner o = { 0 };
	gm_pfn_t a, b = GM_PFN_NONE;
	unsigned int order = 0;
	long free_now = (long)gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT);

	if (*state) {
		print_message("SKIP exhaustion: %s\n", (const char *)*state);
		skip();
	}
	if (free_now != 1) {
		print_message("SKIP exhaustion: %ld free 2 MiB pages, not 1 (others use the pool?)\n",
			      free_now);
		skip();
	}
	file = huge_file(4 * MiB);
	assert_int_equal(gm_register_guest(file, &o, &ops, &mem), 0);
	assert_int_equal(mem->get_lock_pfn(file, 0, &a, &order), 0);
	mem->put_unlock_pfn(a);
	assert_int_equal(mem->get_lock_pfn(file, PAGES_2M, &b, &order), -ENOMEM);
	assert_int_equal(b, GM_PFN_NONE);

	/* Nothing half done: the first folio alone is held, the second is a hole. */
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), PAGES_2M);
	assert_int_equal(gm_file_pages_held(file), PAGES_2M);
	assert_int_equal(gm_test_frames_in_use(0), 0);
	/* fallocate over both: -ENOSPC, and still only the first folio. */
	assert_int_equal(gm_fallocate(file, 0, 0, (off_t)(4 * MiB)), -ENOSPC);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_2M_ORDER), PAGES_2M);
	assert_int_equal(gm_file_pages_held(file), PAGES_2M);
	assert_int_equal(o.calls, 0);
	/* The first folio still works; a retry of the second still fails cleanly. */
	assert_int_equal(mem->get_lock_pfn(file, 3, &b, &order), 0);
	assert_int_equal(folio_head(file, b), a);
	assert_int_equal(b, a + 3);
	mem->put_unlock_pfn(b);
	assert_int_equal(mem->get_lock_pfn(file, PAGES_2M + 5, &b, &order), -ENOMEM);

	/* Freed, the huge page serves the other folio. */
	assert_int_equal(gm_fallocate(file, PUNCH, 0, (off_t)(2 * MiB)), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(mem->get_lock_pfn(file, PAGES_2M, &b, &order), 0);
	mem->put_unlock_pfn(b);

	assert_int_equal(gm_unregister_guest(file, &o), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static int setup(void **state)
{
	const char *why;

	if (gm_test_huge_try_begin(4, false, &why))
		gm_test_skip("hugetlb provider: %s", why);
	return 0;
}

/* One huge page only; a failure is reported by the test as a skip. */
static int setup_one(void **state)
{
	const char *why = NULL;

	*state = gm_test_huge_try_begin(1, false, &why) ? (void *)why : NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_folios, setup, gm_test_huge_teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted, setup_one,
						gm_test_huge_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
