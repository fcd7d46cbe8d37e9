// SPDX-License-Identifier: MIT
/*
 * The shmem provider's memory operations as an owner uses them:
 * get_lock_pfn allocates and pins, put_unlock_pfn unpins, and
 * pfn_mapping_level reports 2 MiB only where a whole aligned 2 MiB range of
 * the file sits, in order, on one aligned 2 MiB range of frames (in the
 * backing, page i's pfn is page 0's plus i, whatever order pages came in).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"
#include "../frames.h"

#define MiB		(1ULL << 20)
#define PAGES_2M	512U

static void noop_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops ops = { .invalidate_page_range = noop_invalidate };

struct fixture {
	struct gm_file *file;
	const struct gm_mem_ops *mem;
	int owner;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || gm_memfd_create("getlock", GM_MFD_GUEST, &f->file) ||
	    gm_ftruncate(f->file, (off_t)(8 * MiB)) ||
	    gm_register_guest(f->file, &f->owner, &ops, &f->mem))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(gm_unregister_guest(f->file, &f->owner), 0);
	gm_file_put(f->file);
	free(f);
	gm_test_assert_no_frames();
	return 0;
}

static void check_owner(struct gm_file *file, gm_pfn_t pfn, uint64_t index)
{
	uint64_t idx = UINT64_MAX;

	assert_int_equal(gm_test_frame_owner(pfn, file, &idx), 0);
	assert_int_equal(idx, index);
	assert_int_equal(pfn, gm_test_pfn_of(file, index));
}

static void test_pin_and_unpin(void **state)
{
	struct fixture *f = *state;
	uint64_t last = 8 * MiB / GM_PAGE_SIZE - 1;
	gm_pfn_t pfn, again, other, last_pfn;
	unsigned int order = 0;
	int64_t before = gm_test_frames_in_use(0);

	assert_int_equal(f->mem->get_lock_pfn(f->file, 3, &pfn, &order), 0);
	assert_int_equal(order, 0);
	assert_int_equal(gm_test_frames_in_use(0), before + 1);
	assert_int_equal(gm_file_pages_held(f->file), 1);
	assert_int_equal(gm_test_pins(pfn), 1);
	check_owner(f->file, pfn, 3);

	/* The same page again: same frame, nothing allocated, one more pin. */
	assert_int_equal(f->mem->get_lock_pfn(f->file, 3, &again, &order), 0);
	assert_int_equal(again, pfn);
	assert_int_equal(gm_test_pins(pfn), 2);
	assert_int_equal(gm_test_frames_in_use(0), before + 1);
	f->mem->put_unlock_pfn(again);
	assert_int_equal(gm_test_pins(pfn), 1);
	f->mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_test_pins(pfn), 0);
	/* Unpinned is not freed: the file still holds the page. */
	check_owner(f->file, pfn, 3);

	/* A NULL order is allowed (no hint, nothing returned). */
	assert_int_equal(f->mem->get_lock_pfn(f->file, 3, &again, NULL), 0);
	assert_int_equal(again, pfn);
	f->mem->put_unlock_pfn(again);

	/* The last page, and a different page gets a different frame. */
	assert_int_equal(f->mem->get_lock_pfn(f->file, last, &other, &order), 0);
	assert_int_not_equal(other, pfn);
	check_owner(f->file, other, last);
	f->mem->put_unlock_pfn(other);
	last_pfn = other;

	/* Past the end: -EINVAL, nothing allocated. */
	other = GM_PFN_NONE;
	assert_int_equal(f->mem->get_lock_pfn(f->file, last + 1, &other, &order), -EINVAL);
	assert_int_equal(f->mem->get_lock_pfn(f->file, UINT64_MAX, &other, &order), -EINVAL);
	assert_int_equal(other, GM_PFN_NONE);
	assert_int_equal(f->mem->pfn_mapping_level(f->file, last + 1), -EINVAL);
	assert_int_equal(gm_test_frames_in_use(0), before + 2);

	/* A lone page maps at 4 KiB. */
	assert_int_equal(f->mem->pfn_mapping_level(f->file, 3), GM_LEVEL_4K);
	/* So does a hole. */
	assert_int_equal(f->mem->pfn_mapping_level(f->file, 1000), GM_LEVEL_4K);

	/* After a punch the page is gone; a new fault gets a zeroed frame. */
	assert_int_equal(gm_fallocate(f->file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, 0,
				      (off_t)(8 * MiB)), 0);
	assert_int_equal(gm_file_pages_held(f->file), 0);
	assert_int_equal(gm_test_frames_in_use(0), before);
	{
		uint64_t idx = UINT64_MAX;

		/* The old frames name the file's pages, no longer held. */
		assert_int_equal(gm_test_frame_owner(pfn, f->file, &idx), -ENOENT);
		assert_int_equal(gm_test_frame_owner(last_pfn, f->file, &idx), -ENOENT);
		assert_int_equal(idx, UINT64_MAX);
		assert_int_equal(gm_test_pins(pfn), 0);
	}
}

/* Every page of [base, base + 512) maps at @level; its frames are in order. */
static void check_range_level(struct fixture *f, uint64_t base, int level)
{
	for (uint64_t i = base; i < base + PAGES_2M; i++)
		assert_int_equal(f->mem->pfn_mapping_level(f->file, i), level);
}

static void check_on_one_chunk(struct fixture *f, uint64_t base)
{
	gm_pfn_t first = GM_PFN_NONE;

	for (uint64_t i = base; i < base + PAGES_2M; i++) {
		gm_pfn_t pfn;
		unsigned int order = 0;

		assert_int_equal(f->mem->get_lock_pfn(f->file, i, &pfn, &order), 0);
		if (i == base) {
			first = pfn;
			assert_int_equal(first % PAGES_2M, 0);
		}
		assert_int_equal(pfn, first + (i - base));
		check_owner(f->file, pfn, i);
		f->mem->put_unlock_pfn(pfn);
	}
}

/* *order = 9 on an empty aligned range: the store fills the whole chunk. */
static void test_level_2m_whole_chunk(void **state)
{
	struct fixture *f = *state;
	int64_t before = gm_test_frames_in_use(0);
	unsigned int order = GM_HUGE_2M_ORDER;
	uint64_t base = 2 * PAGES_2M;		/* the third 2 MiB range */
	gm_pfn_t pfn;

	assert_int_equal(f->mem->get_lock_pfn(f->file, base + 7, &pfn, &order), 0);
	/* The folio is still a 4 KiB page: each frame is freed on its own. */
	assert_int_equal(order, 0);
	assert_int_equal(gm_test_frames_in_use(0), before + PAGES_2M);
	assert_int_equal(gm_file_pages_held(f->file), PAGES_2M);
	check_owner(f->file, pfn, base + 7);
	f->mem->put_unlock_pfn(pfn);
	check_range_level(f, base, GM_LEVEL_2M);
	check_on_one_chunk(f, base);
	/* Nothing outside the range moved. */
	assert_int_equal(f->mem->pfn_mapping_level(f->file, base - 1), GM_LEVEL_4K);
	assert_int_equal(f->mem->pfn_mapping_level(f->file, base + PAGES_2M), GM_LEVEL_4K);

	/* One page punched out: 4 KiB for the whole range. */
	assert_int_equal(gm_fallocate(f->file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
				      (off_t)((base + 100) * GM_PAGE_SIZE), GM_PAGE_SIZE), 0);
	check_range_level(f, base, GM_LEVEL_4K);
	/* Faulted again, it goes back to its place in the chunk. */
	assert_int_equal(f->mem->get_lock_pfn(f->file, base + 100, &pfn, NULL), 0);
	f->mem->put_unlock_pfn(pfn);
	check_range_level(f, base, GM_LEVEL_2M);
	check_on_one_chunk(f, base);

	/* Without the order hint only the page is taken, and the range maps at 4 KiB. */
	assert_int_equal(f->mem->get_lock_pfn(f->file, 5, &pfn, NULL), 0);
	f->mem->put_unlock_pfn(pfn);
	order = 0;
	assert_int_equal(f->mem->get_lock_pfn(f->file, 7, &pfn, &order), 0);
	f->mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_file_pages_held(f->file), PAGES_2M + 2);
	assert_int_equal(f->mem->pfn_mapping_level(f->file, 5), GM_LEVEL_4K);
	/*
	 * With it, a range that is not empty is filled too: every page has its
	 * place in the backing whatever came first (no chunk to find), so the
	 * pages already there stay, the rest come, and the range maps at 2 MiB.
	 */
	order = GM_HUGE_2M_ORDER;
	assert_int_equal(f->mem->get_lock_pfn(f->file, 6, &pfn, &order), 0);
	assert_int_equal(order, 0);
	f->mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_file_pages_held(f->file), 2 * PAGES_2M);
	assert_int_equal(gm_test_frames_in_use(0), before + 2 * PAGES_2M);
	check_range_level(f, 0, GM_LEVEL_2M);
	check_on_one_chunk(f, 0);
}

/* Order 9 asked on the last, partial 2 MiB range: only the page is taken. */
static void test_order_hint_partial_range(void **state)
{
	struct fixture *f = *state;
	uint64_t base = 3 * PAGES_2M;		/* [6 MiB, 7 MiB): half a range */
	unsigned int order = GM_HUGE_2M_ORDER;
	gm_pfn_t pfn;

	assert_int_equal(gm_ftruncate(f->file, (off_t)(7 * MiB)), 0);
	assert_int_equal(f->mem->get_lock_pfn(f->file, base + 1, &pfn, &order), 0);
	f->mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_file_pages_held(f->file), 1);
	assert_int_equal(f->mem->pfn_mapping_level(f->file, base + 1), GM_LEVEL_4K);
}

static void fill_in(struct fixture *f, uint64_t base, const unsigned int *order_of)
{
	for (unsigned int k = 0; k < PAGES_2M; k++) {
		uint64_t i = base + (order_of ? order_of[k] : k);
		gm_pfn_t pfn;

		/* Until the last page is in, the range maps at 4 KiB. */
		assert_int_equal(f->mem->pfn_mapping_level(f->file, base), GM_LEVEL_4K);
		assert_int_equal(f->mem->get_lock_pfn(f->file, i, &pfn, NULL), 0);
		check_owner(f->file, pfn, i);
		f->mem->put_unlock_pfn(pfn);
	}
}

/* Page by page in order: neighbour placement keeps the range on one chunk. */
static void test_level_2m_page_by_page(void **state)
{
	struct fixture *f = *state;
	uint64_t base = PAGES_2M;

	fill_in(f, base, NULL);
	assert_int_equal(gm_file_pages_held(f->file), PAGES_2M);
	check_range_level(f, base, GM_LEVEL_2M);
	check_on_one_chunk(f, base);
}

/* In a shuffled order, starting in the middle of the range: the same. */
static void test_level_2m_shuffled(void **state)
{
	struct fixture *f = *state;
	unsigned int perm[PAGES_2M];
	uint64_t base = 3 * PAGES_2M;
	unsigned int seed = 12345;

	for (unsigned int i = 0; i < PAGES_2M; i++)
		perm[i] = i;
	for (unsigned int i = PAGES_2M - 1; i > 0; i--) {
		unsigned int j = rand_r(&seed) % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	fill_in(f, base, perm);
	check_range_level(f, base, GM_LEVEL_2M);
	check_on_one_chunk(f, base);
}

/* A NULL file is -EFAULT for each operation that takes one, map_range too. */
static void test_null_file(void **state)
{
	struct fixture *f = *state;
	gm_pfn_t pfn = GM_PFN_NONE;
	void *win = mmap(NULL, 2 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(win != MAP_FAILED);
	assert_int_equal(f->mem->get_lock_pfn(NULL, 0, &pfn, NULL), -EFAULT);
	assert_int_equal(f->mem->pfn_mapping_level(NULL, 0), -EFAULT);
	assert_int_equal(f->mem->map_range(NULL, 0, 2 * MiB, win), -EFAULT);
	munmap(win, 2 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pin_and_unpin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_2m_whole_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_hint_partial_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_2m_page_by_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_2m_shuffled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
