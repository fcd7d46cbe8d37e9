// SPDX-License-Identifier: MIT
/*
 * The owner's invalidate callback: called once per punch or truncate that
 * takes pages away, with the page range, while the old frames still belong
 * to the file (before they can be reused); never for a range that held no
 * pages; and only for the file's own owner, however many others there are.
 *
 * "Still belong to the file", with pmem backings: inside the callback the
 * old pfn still names the file's page and the page still holds its data
 * (seen through a window on the backing, as a VM sees it), though it is
 * already unpublished (no new pin can be taken); after the call the page is
 * punched out of the backing and the window reads zero.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"
#include "../frames.h"
#include "clock.h"
#include "store.h"

#define MiB		(1ULL << 20)
#define FILE_PAGES	2048U		/* 8 MiB */
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)
#define NR_OTHERS	10000U
#define NR_PUNCHES	1000U
#define OWNER_MAGIC	0x6f776e6572ULL
#define WINDOW_BYTES	((size_t)(2 * FILE_PAGES) * GM_PAGE_SIZE)

struct owner {
	uint64_t magic;
	struct gm_file *file;
	unsigned int calls;
	uint64_t start, end;
	/*
	 * A frame (that of page @watch_page) to look at from inside the
	 * callback, and what was seen: the frame's owner, and whether the
	 * page still held its data in @window (a mapping of the backing).
	 */
	unsigned char *window;
	gm_pfn_t watch;
	uint64_t watch_page;
	int watch_ret;
	uint64_t watch_index;
	int watch_intact;
	unsigned int wrong;		/* calls with a file or magic not ours */
};

/* The byte that fault() fills page @page with (never zero). */
static unsigned char pattern_of(uint64_t page)
{
	return (unsigned char)(0x5a ^ page) | 1;
}

/* Every byte of page @page in the window is its pattern byte. */
static int page_has_pattern(struct owner *o, uint64_t page)
{
	const unsigned char *p = o->window + page * GM_PAGE_SIZE;

	for (size_t i = 0; i < GM_PAGE_SIZE; i++)
		if (p[i] != pattern_of(page))
			return 0;
	return 1;
}

/* Page @page (present) reads zero through the window: punched and not reused. */
static int page_is_zero(struct owner *o, uint64_t page)
{
	const unsigned char *p = o->window + page * GM_PAGE_SIZE;

	for (size_t i = 0; i < GM_PAGE_SIZE; i++)
		if (p[i])
			return 0;
	return 1;
}

static void record_invalidate(struct gm_file *file, void *p, uint64_t start, uint64_t end)
{
	struct owner *o = p;

	if (o->magic != OWNER_MAGIC || file != o->file)
		o->wrong++;
	o->calls++;
	o->start = start;
	o->end = end;
	if (o->watch != GM_PFN_NONE && o->window) {
		o->watch_ret = gm_test_frame_owner(o->watch, o->file, &o->watch_index);
		o->watch_intact = page_has_pattern(o, o->watch_page);
	}
}

static const struct gm_guest_ops ops = { .invalidate_page_range = record_invalidate };

struct fixture {
	struct owner owner;
	const struct gm_mem_ops *mem;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || gm_memfd_create("inval", GM_MFD_GUEST, &f->owner.file) ||
	    gm_ftruncate(f->owner.file, (off_t)FILE_PAGES * GM_PAGE_SIZE) ||
	    gm_register_guest(f->owner.file, &f->owner, &ops, &f->mem))
		return -1;
	f->owner.magic = OWNER_MAGIC;
	f->owner.watch = GM_PFN_NONE;
	/* The backing of the file's pages, mapped as a VM maps a private window. */
	f->owner.window = mmap(NULL, WINDOW_BYTES, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->owner.window == MAP_FAILED ||
	    gm_file_map_range(f->owner.file, 0, WINDOW_BYTES, f->owner.window))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(gm_unregister_guest(f->owner.file, &f->owner), 0);
	assert_int_equal(munmap(f->owner.window, WINDOW_BYTES), 0);
	gm_file_put(f->owner.file);
	assert_int_equal(f->owner.wrong, 0);
	free(f);
	gm_test_assert_no_frames();
	return 0;
}

/*
 * Fault pages [start, end) in and fill each with its pattern through the
 * window while pinned; return the frame of @want (unpinned).
 */
static gm_pfn_t fault(struct fixture *f, uint64_t start, uint64_t end, uint64_t want)
{
	gm_pfn_t pfn, found = GM_PFN_NONE;

	for (uint64_t i = start; i < end; i++) {
		assert_int_equal(f->mem->get_lock_pfn(f->owner.file, i, &pfn, NULL), 0);
		assert_int_equal(pfn, gm_test_pfn_of(f->owner.file, i));
		memset(f->owner.window + i * GM_PAGE_SIZE, pattern_of(i), GM_PAGE_SIZE);
		if (i == want)
			found = pfn;
		f->mem->put_unlock_pfn(pfn);
	}
	return found;
}

/* Look at page @page's frame @pfn from inside the next callback. */
static void watch(struct owner *o, gm_pfn_t pfn, uint64_t page)
{
	o->watch = pfn;
	o->watch_page = page;
}

/*
 * What the callback saw of the watched page: the pfn still named the
 * file's page, already unpublished (-ENOENT: no new pin), and its data was
 * still there.  Afterwards it is gone: freed, and punched out of the window.
 */
static void check_watched(struct owner *o)
{
	uint64_t index = UINT64_MAX;

	assert_int_equal(o->watch_ret, -ENOENT);
	assert_int_equal(o->watch, gm_test_pfn_of(o->file, o->watch_page));
	assert_true(o->watch_intact);
	assert_int_equal(gm_test_frame_owner(o->watch, o->file, &index), -ENOENT);
	assert_int_equal(index, UINT64_MAX);
	assert_true(page_is_zero(o, o->watch_page));
}

static void reset(struct owner *o)
{
	o->calls = 0;
	o->start = o->end = UINT64_MAX;
	o->watch = GM_PFN_NONE;
	o->watch_page = UINT64_MAX;
	o->watch_ret = 1;
	o->watch_intact = 0;
}

static int punch(struct gm_file *file, uint64_t start, uint64_t end)
{
	return gm_fallocate(file, PUNCH, (off_t)(start * GM_PAGE_SIZE),
			    (off_t)((end - start) * GM_PAGE_SIZE));
}

static void test_punch(void **state)
{
	struct fixture *f = *state;
	struct owner *o = &f->owner;
	gm_pfn_t old;

	old = fault(f, 0, 32, 15);
	reset(o);
	watch(o, old, 15);
	assert_int_equal(punch(o->file, 10, 20), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 10);
	assert_int_equal(o->end, 20);
	/* Inside the callback the frame was still this file's page 15; now it is free. */
	check_watched(o);
	/* Pages outside the range kept their data. */
	assert_true(page_has_pattern(o, 9));
	assert_true(page_has_pattern(o, 20));
	assert_int_equal(gm_file_pages_held(o->file), 22);

	/* The same range again: it holds no pages, so no callback. */
	reset(o);
	assert_int_equal(punch(o->file, 10, 20), 0);
	assert_int_equal(o->calls, 0);
	/* Nor for a range never touched, in a 2 MiB range never touched. */
	assert_int_equal(punch(o->file, 600, 700), 0);
	assert_int_equal(punch(o->file, FILE_PAGES - 512, FILE_PAGES), 0);
	assert_int_equal(o->calls, 0);

	/* A range with one page inside: the whole range is reported, once. */
	reset(o);
	watch(o, fault(f, 100, 101, 100), 100);
	assert_int_equal(punch(o->file, 96, 128), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 96);
	assert_int_equal(o->end, 128);
	check_watched(o);

	/* Across two 2 MiB ranges. */
	fault(f, 500, 530, 0);
	reset(o);
	assert_int_equal(punch(o->file, 505, 520), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 505);
	assert_int_equal(o->end, 520);

	/* Allocating never invalidates. */
	reset(o);
	assert_int_equal(gm_fallocate(o->file, 0, 0, 64 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_fallocate(o->file, GM_FALLOC_KEEP_SIZE, 0, 128 * GM_PAGE_SIZE), 0);
	assert_int_equal(o->calls, 0);

	/* The whole file: one call from 0 that covers every page it held. */
	reset(o);
	assert_int_equal(punch(o->file, 0, FILE_PAGES), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 0);
	assert_true(o->end >= 530 && o->end <= FILE_PAGES);
	assert_int_equal(gm_file_pages_held(o->file), 0);
}

static void test_truncate(void **state)
{
	struct fixture *f = *state;
	struct owner *o = &f->owner;
	gm_pfn_t old;

	old = fault(f, 0, 40, 30);
	/* Growing, or shrinking past no page, invalidates nothing. */
	reset(o);
	assert_int_equal(gm_ftruncate(o->file, (off_t)(2 * FILE_PAGES) * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_ftruncate(o->file, (off_t)FILE_PAGES * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_ftruncate(o->file, 64 * GM_PAGE_SIZE), 0);
	assert_int_equal(o->calls, 0);

	/* Down to 16 pages: [16, ...) lost, page 30 still the file's inside. */
	reset(o);
	watch(o, old, 30);
	assert_int_equal(gm_ftruncate(o->file, 16 * GM_PAGE_SIZE), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 16);
	assert_true(o->end >= 40);
	check_watched(o);
	assert_true(page_has_pattern(o, 15));
	assert_int_equal(gm_file_pages_held(o->file), 16);

	/* Down to 0. */
	reset(o);
	assert_int_equal(gm_ftruncate(o->file, 0), 0);
	assert_int_equal(o->calls, 1);
	assert_int_equal(o->start, 0);
	assert_true(o->end >= 16);
	assert_int_equal(gm_file_pages_held(o->file), 0);

	/* An empty file truncated again: nothing. */
	reset(o);
	assert_int_equal(gm_ftruncate(o->file, 0), 0);
	assert_int_equal(o->calls, 0);
}

/* After unregistering, the owner hears nothing more. */
static void test_unregistered_is_silent(void **state)
{
	struct fixture *f = *state;
	struct owner *o = &f->owner;

	fault(f, 0, 8, 0);
	assert_int_equal(gm_unregister_guest(o->file, o), 0);
	reset(o);
	assert_int_equal(punch(o->file, 0, 8), 0);
	assert_int_equal(o->calls, 0);
	/* Back for teardown. */
	assert_int_equal(gm_register_guest(o->file, o, &ops, &f->mem), 0);
}

/* Fault a page and punch it, NR_PUNCHES times; seconds taken. */
static double time_punches(struct fixture *f)
{
	double t0 = gm_clock_now();

	for (unsigned int i = 0; i < NR_PUNCHES; i++) {
		uint64_t page = i % 64;

		fault(f, page, page + 1, 0);
		assert_int_equal(punch(f->owner.file, page, page + 1), 0);
	}
	return gm_clock_now() - t0;
}

static void test_ten_thousand_owners(void **state)
{
	struct fixture *f = *state;
	struct owner *others = calloc(NR_OTHERS, sizeof(*others));
	const struct gm_mem_ops *mem;
	double alone, crowded;
	unsigned int stray = 0;

	assert_non_null(others);
	reset(&f->owner);
	alone = time_punches(f);
	assert_int_equal(f->owner.calls, NR_PUNCHES);

	for (unsigned int i = 0; i < NR_OTHERS; i++) {
		struct owner *o = &others[i];

		o->magic = OWNER_MAGIC;
		o->watch = GM_PFN_NONE;
		assert_int_equal(gm_memfd_create("other", GM_MFD_GUEST, &o->file), 0);
		assert_int_equal(gm_ftruncate(o->file, 4 * GM_PAGE_SIZE), 0);
		assert_int_equal(gm_register_guest(o->file, o, &ops, &mem), 0);
	}

	reset(&f->owner);
	crowded = time_punches(f);
	assert_int_equal(f->owner.calls, NR_PUNCHES);
	assert_int_equal(f->owner.start, (NR_PUNCHES - 1) % 64);

	/* One of the others loses a page: only that one hears of it. */
	assert_int_equal(gm_fallocate(others[4242].file, 0, 0, GM_PAGE_SIZE), 0);
	assert_int_equal(punch(others[4242].file, 0, 4), 0);
	assert_int_equal(others[4242].calls, 1);
	others[4242].calls = 0;

	for (unsigned int i = 0; i < NR_OTHERS; i++) {
		stray += others[i].calls + others[i].wrong;
		assert_int_equal(gm_unregister_guest(others[i].file, &others[i]), 0);
		gm_file_put(others[i].file);
	}
	free(others);
	assert_int_equal(stray, 0);
	printf("# %u punches: %.3f ms alone, %.3f ms with %u other owners (%.2fx)\n",
	       NR_PUNCHES, alone * 1e3, crowded * 1e3, NR_OTHERS, crowded / alone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_punch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregistered_is_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ten_thousand_owners, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
