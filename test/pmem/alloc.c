// SPDX-License-Identifier: MIT
/*
 * pmem backings (src/pmem/pmem.h), single-threaded: creation and bad
 * orders, pfns (unique per backing, page i at page 0's pfn plus i),
 * allocation of a range (folio aligned, returning only the pages newly
 * published), unpublish and release (holes read zero when allocated again),
 * presence, lookup_pin / unpin (nesting, a second unpin never underflows,
 * no pin on a hole or an unpublished folio), full_2m, byte I/O on present
 * pages only, the in-use and metadata accounting (back to the start after
 * destroy; leaves given back when their pages are), no 64 GiB cap (a page
 * at 80 GiB and the last addressable page), and a huge backing when the
 * host has no huge pages free.  Huge backings with reserved huge pages are
 * in huge.c; pins across threads in pins.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "pmem.h"
#include "../common.h"

#define PAGES_2M	512U		/* also the folios per metadata leaf */
#define MIN_LEAF_BYTES	(PAGES_2M * 2)	/* a leaf: a 16-bit word per folio, at least */

static struct gm_backing *new_backing(unsigned int order)
{
	struct gm_backing *b = NULL;

	assert_int_equal(gm_backing_create(order, &b), 0);
	assert_non_null(b);
	return b;
}

/* Unpublish and release [start, end); return the pages that were present. */
static uint64_t free_range(struct gm_backing *b, uint64_t start, uint64_t end)
{
	uint64_t n = gm_backing_unpublish(b, start, end);

	assert_int_equal(gm_backing_release(b, start, end), 0);
	return n;
}

static void test_create_destroy(void **state)
{
	static const unsigned int bad[] = { 1, 2, 8, 10, 12, 17, 19, 21, 30, 64, ~0U };
	static const unsigned int good[] = { 0, GM_HUGE_2M_ORDER, GM_HUGE_1G_ORDER };
	int64_t meta = gm_pmem_meta_bytes(), frames = gm_frames_in_use();
	struct gm_backing *a, *b;

	for (size_t i = 0; i < GM_ARRAY_SIZE(bad); i++) {
		b = (struct gm_backing *)&bad;
		assert_int_equal(gm_backing_create(bad[i], &b), -EINVAL);
		assert_ptr_equal(b, (struct gm_backing *)&bad);
		assert_int_equal(gm_pmem_frames_in_use(bad[i]), -EINVAL);
	}
	for (size_t i = 0; i < GM_ARRAY_SIZE(good); i++) {
		b = new_backing(good[i]);
		assert_int_equal(gm_backing_order(b), good[i]);
		/* An empty backing costs no page metadata, holds nothing. */
		assert_int_equal(gm_pmem_meta_bytes(), meta);
		assert_int_equal(gm_pmem_frames_in_use(good[i]), 0);
		assert_false(gm_backing_present(b, 0));
		assert_false(gm_backing_full_2m(b, 0));
		assert_int_equal(gm_backing_lookup_pin(b, 0), GM_PFN_NONE);
		/* Page i's pfn is page 0's plus i, over the whole 2^36 pages. */
		for (uint64_t p = 1; p < GM_PMEM_MAX_PAGES; p = p * 7 + 1)
			assert_int_equal(gm_backing_pfn(b, p), gm_backing_pfn(b, 0) + p);
		assert_int_equal(gm_backing_pfn(b, GM_PMEM_MAX_PAGES - 1),
				 gm_backing_pfn(b, 0) + GM_PMEM_MAX_PAGES - 1);
		assert_int_not_equal(gm_backing_pfn(b, GM_PMEM_MAX_PAGES - 1), GM_PFN_NONE);
		gm_backing_destroy(b);
	}
	/* Two live backings: their pfn ranges do not overlap. */
	a = new_backing(0);
	b = new_backing(0);
	if (gm_backing_pfn(a, 0) < gm_backing_pfn(b, 0))
		assert_true(gm_backing_pfn(b, 0) - gm_backing_pfn(a, 0) >= GM_PMEM_MAX_PAGES);
	else
		assert_true(gm_backing_pfn(a, 0) - gm_backing_pfn(b, 0) >= GM_PMEM_MAX_PAGES);
	gm_backing_destroy(a);
	gm_backing_destroy(b);
	gm_backing_destroy(NULL);
	assert_int_equal(gm_pmem_meta_bytes(), meta);
	assert_int_equal(gm_frames_in_use(), frames);
	gm_test_assert_no_frames();
}

static void test_alloc_range(void **state)
{
	struct gm_backing *b = new_backing(0), *h = new_backing(GM_HUGE_2M_ORDER);
	int64_t base = gm_pmem_frames_in_use(0), base_2m = gm_pmem_frames_in_use(GM_HUGE_2M_ORDER);

	assert_int_equal(gm_backing_alloc(b, 10, 5), 5);
	for (uint64_t i = 8; i < 18; i++)
		assert_int_equal(gm_backing_present(b, i), i >= 10 && i < 15);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 5);
	/* Over a range partly present: only the new pages count. */
	assert_int_equal(gm_backing_alloc(b, 8, 10), 5);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 10);
	for (uint64_t i = 8; i < 18; i++)
		assert_true(gm_backing_present(b, i));
	assert_false(gm_backing_present(b, 7));
	assert_false(gm_backing_present(b, 18));
	/* All present: nothing new. */
	assert_int_equal(gm_backing_alloc(b, 8, 10), 0);
	assert_int_equal(gm_backing_alloc(b, 12, 1), 0);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 10);

	/* Bad ranges: refused, nothing published. */
	assert_int_equal(gm_backing_alloc(b, 0, 0), -EINVAL);
	assert_int_equal(gm_backing_alloc(b, GM_PMEM_MAX_PAGES, 1), -EINVAL);
	assert_int_equal(gm_backing_alloc(b, GM_PMEM_MAX_PAGES - 1, 2), -EINVAL);
	assert_int_equal(gm_backing_alloc(b, 0, GM_PMEM_MAX_PAGES + 1), -EINVAL);
	assert_int_equal(gm_backing_alloc(b, 1, UINT64_MAX), -EINVAL);
	assert_int_equal(gm_backing_alloc(b, UINT64_MAX, 1), -EINVAL);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 10);
	assert_false(gm_backing_present(b, 0));

	/* A huge backing takes whole folios only (checked before any huge page is needed). */
	assert_int_equal(gm_backing_alloc(h, 1, PAGES_2M), -EINVAL);
	assert_int_equal(gm_backing_alloc(h, 0, PAGES_2M - 1), -EINVAL);
	assert_int_equal(gm_backing_alloc(h, PAGES_2M, PAGES_2M + 1), -EINVAL);
	assert_int_equal(gm_backing_alloc(h, PAGES_2M / 2, PAGES_2M), -EINVAL);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), base_2m);
	assert_false(gm_backing_present(h, 0));

	assert_int_equal(free_range(b, 0, 64), 10);
	assert_int_equal(gm_pmem_frames_in_use(0), base);
	gm_backing_destroy(h);
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

static void test_unpublish_release(void **state)
{
	static unsigned char in[16 * GM_PAGE_SIZE], out[16 * GM_PAGE_SIZE];
	struct gm_backing *b = new_backing(0);
	int64_t base = gm_pmem_frames_in_use(0);

	assert_int_equal(gm_backing_alloc(b, 0, 16), 16);
	gm_test_fill_pattern(in, sizeof(in), 3);
	assert_int_equal(gm_backing_write(b, 0, in, sizeof(in)), 0);

	/* Unpublish: absent at once, counted out at once, no new pin. */
	assert_int_equal(gm_backing_unpublish(b, 4, 8), 4);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(gm_backing_present(b, i), i < 4 || i >= 8);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 12);
	assert_int_equal(gm_backing_lookup_pin(b, 5), GM_PFN_NONE);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, 5)), 0);
	assert_int_equal(gm_backing_read(b, 5 * GM_PAGE_SIZE, out, 1), -EINVAL);
	/* Twice: nothing more was present. */
	assert_int_equal(gm_backing_unpublish(b, 4, 8), 0);
	assert_int_equal(gm_backing_release(b, 4, 8), 0);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 12);

	/* The neighbours kept their data. */
	assert_int_equal(gm_backing_read(b, 0, out, 4 * GM_PAGE_SIZE), 0);
	assert_memory_equal(in, out, 4 * GM_PAGE_SIZE);
	assert_int_equal(gm_backing_read(b, 8 * GM_PAGE_SIZE, out, 8 * GM_PAGE_SIZE), 0);
	assert_memory_equal(in + 8 * GM_PAGE_SIZE, out, 8 * GM_PAGE_SIZE);

	/* Allocated again, the released pages read zero: the punch freed them. */
	assert_int_equal(gm_backing_alloc(b, 0, 16), 4);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(gm_backing_read(b, 0, out, sizeof(out)), 0);
	assert_memory_equal(in, out, 4 * GM_PAGE_SIZE);
	gm_test_assert_zero(out + 4 * GM_PAGE_SIZE, 4 * GM_PAGE_SIZE);
	assert_memory_equal(in + 8 * GM_PAGE_SIZE, out + 8 * GM_PAGE_SIZE, 8 * GM_PAGE_SIZE);

	/* Ranges that were never allocated, or lie past all metadata: nothing to do. */
	assert_int_equal(gm_backing_unpublish(b, 100, 200), 0);
	assert_int_equal(gm_backing_release(b, 100, 200), 0);
	assert_int_equal(gm_backing_unpublish(b, 1ULL << 30, (1ULL << 30) + 512), 0);
	assert_int_equal(gm_backing_release(b, 1ULL << 30, (1ULL << 30) + 512), 0);
	assert_int_equal(gm_pmem_frames_in_use(0), base + 16);

	assert_int_equal(free_range(b, 0, GM_PMEM_MAX_PAGES), 16);
	assert_int_equal(gm_pmem_frames_in_use(0), base);
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

static void test_lookup_pin_unpin(void **state)
{
	struct gm_backing *b = new_backing(0);
	gm_pfn_t pfn, again, other;

	/* A hole: nothing pinned. */
	assert_int_equal(gm_backing_lookup_pin(b, 5), GM_PFN_NONE);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, 5)), 0);

	assert_int_equal(gm_backing_alloc(b, 4, 4), 4);
	pfn = gm_backing_lookup_pin(b, 5);
	assert_int_equal(pfn, gm_backing_pfn(b, 5));
	assert_int_equal(gm_pfn_pins(pfn), 1);
	/* Pins nest; 4 KiB folios are pinned one by one. */
	again = gm_backing_lookup_pin(b, 5);
	assert_int_equal(again, pfn);
	assert_int_equal(gm_pfn_pins(pfn), 2);
	other = gm_backing_lookup_pin(b, 6);
	assert_int_equal(other, gm_backing_pfn(b, 6));
	assert_int_equal(gm_pfn_pins(other), 1);
	assert_int_equal(gm_pfn_pins(pfn), 2);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, 4)), 0);

	gm_pfn_unpin(again);
	assert_int_equal(gm_pfn_pins(pfn), 1);
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	/* A second unpin changes nothing: the count does not go below zero... */
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	assert_int_equal(gm_pfn_pins(other), 1);
	/* ...and the folio pins and unpins as before, and can be freed. */
	pfn = gm_backing_lookup_pin(b, 5);
	assert_int_equal(gm_pfn_pins(pfn), 1);
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	gm_pfn_unpin(other);
	assert_int_equal(gm_pfn_pins(other), 0);
	/* Unpinned is not freed. */
	assert_true(gm_backing_present(b, 5));

	/* Pfns that name no pinned folio: a hole, a page past all metadata, nothing. */
	gm_pfn_unpin(gm_backing_pfn(b, 100));
	gm_pfn_unpin(gm_backing_pfn(b, GM_PMEM_MAX_PAGES - 1));
	gm_pfn_unpin(GM_PFN_NONE);
	assert_int_equal(gm_pfn_pins(GM_PFN_NONE), 0);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, GM_PMEM_MAX_PAGES - 1)), 0);

	/* A pinned folio, unpublished: no new pin, the old one still counts. */
	pfn = gm_backing_lookup_pin(b, 7);
	assert_int_equal(gm_backing_unpublish(b, 7, 8), 1);
	assert_false(gm_backing_present(b, 7));
	assert_int_equal(gm_backing_lookup_pin(b, 7), GM_PFN_NONE);
	assert_int_equal(gm_pfn_pins(pfn), 1);
	gm_pfn_unpin(pfn);
	assert_int_equal(gm_pfn_pins(pfn), 0);
	assert_int_equal(gm_backing_release(b, 7, 8), 0);

	assert_int_equal(free_range(b, 0, 64), 3);
	pfn = gm_backing_pfn(b, 4);
	gm_backing_destroy(b);
	/* The pfn of a destroyed backing names nothing. */
	assert_int_equal(gm_pfn_pins(pfn), 0);
	gm_pfn_unpin(pfn);
	gm_test_assert_no_frames();
}

static void test_full_2m(void **state)
{
	struct gm_backing *b = new_backing(0);
	const uint64_t base = 3 * PAGES_2M;

	assert_false(gm_backing_full_2m(b, base));
	/* Every page but one. */
	assert_int_equal(gm_backing_alloc(b, base, 300), 300);
	assert_int_equal(gm_backing_alloc(b, base + 301, PAGES_2M - 301), PAGES_2M - 301);
	for (uint64_t i = base; i < base + PAGES_2M; i += 37)
		assert_false(gm_backing_full_2m(b, i));
	assert_int_equal(gm_backing_alloc(b, base + 300, 1), 1);
	for (uint64_t i = base; i < base + PAGES_2M; i++)
		assert_true(gm_backing_full_2m(b, i));
	/* Only the aligned range that holds the index counts. */
	assert_false(gm_backing_full_2m(b, base - 1));
	assert_false(gm_backing_full_2m(b, base + PAGES_2M));
	/* A full range straddling two aligned ranges is not full. */
	assert_int_equal(gm_backing_alloc(b, 5 * PAGES_2M + 256, PAGES_2M), PAGES_2M);
	assert_false(gm_backing_full_2m(b, 5 * PAGES_2M + 256));
	assert_false(gm_backing_full_2m(b, 6 * PAGES_2M + 10));
	/* One page unpublished: not full any more. */
	assert_int_equal(gm_backing_unpublish(b, base + 7, base + 8), 1);
	assert_false(gm_backing_full_2m(b, base));
	assert_int_equal(gm_backing_release(b, base + 7, base + 8), 0);
	assert_false(gm_backing_full_2m(b, base + 100));

	assert_int_equal(free_range(b, 0, 8 * PAGES_2M), 2 * PAGES_2M - 1);
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

static void test_read_write(void **state)
{
	static unsigned char in[4 * GM_PAGE_SIZE], out[4 * GM_PAGE_SIZE], expect[3 * GM_PAGE_SIZE];
	struct gm_backing *b = new_backing(0);

	/* Nothing present (not even a memfd yet): refused. */
	assert_int_equal(gm_backing_read(b, 0, out, 1), -EINVAL);
	assert_int_equal(gm_backing_write(b, 0, in, 1), -EINVAL);

	assert_int_equal(gm_backing_alloc(b, 2, 3), 3);
	/* Fresh pages read zero. */
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE, out, 3 * GM_PAGE_SIZE), 0);
	gm_test_assert_zero(out, 3 * GM_PAGE_SIZE);

	gm_test_fill_pattern(in, sizeof(in), 5);
	assert_int_equal(gm_backing_write(b, 2 * GM_PAGE_SIZE, in, 3 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE, out, 3 * GM_PAGE_SIZE), 0);
	assert_memory_equal(in, out, 3 * GM_PAGE_SIZE);
	/* Unaligned, across a page boundary. */
	assert_int_equal(gm_backing_write(b, 3 * GM_PAGE_SIZE - 10, in + 1000, 20), 0);
	assert_int_equal(gm_backing_read(b, 3 * GM_PAGE_SIZE - 10, out, 20), 0);
	assert_memory_equal(in + 1000, out, 20);
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE + 100, out, 10), 0);
	assert_memory_equal(in + 100, out, 10);
	memcpy(expect, in, sizeof(expect));
	memcpy(expect + GM_PAGE_SIZE - 10, in + 1000, 20);

	/* A hole anywhere in the range: -EINVAL, and nothing written. */
	assert_int_equal(gm_backing_read(b, 1 * GM_PAGE_SIZE, out, 1), -EINVAL);
	assert_int_equal(gm_backing_read(b, 5 * GM_PAGE_SIZE, out, 1), -EINVAL);
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE - 1, out, 2), -EINVAL);
	assert_int_equal(gm_backing_read(b, 5 * GM_PAGE_SIZE - 1, out, 2), -EINVAL);
	assert_int_equal(gm_backing_write(b, 2 * GM_PAGE_SIZE - 1, in, 2), -EINVAL);
	assert_int_equal(gm_backing_write(b, 4 * GM_PAGE_SIZE, in, 2 * GM_PAGE_SIZE), -EINVAL);
	assert_int_equal(gm_backing_write(b, 1 * GM_PAGE_SIZE, in, 4 * GM_PAGE_SIZE), -EINVAL);
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE, out, 3 * GM_PAGE_SIZE), 0);
	assert_memory_equal(expect, out, sizeof(expect));
	/* Past the last addressable page, and ranges that wrap. */
	assert_int_equal(gm_backing_read(b, GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT, out, 1), -EINVAL);
	assert_int_equal(gm_backing_read(b, UINT64_MAX - 5, out, 10), -EINVAL);
	assert_int_equal(gm_backing_write(b, UINT64_MAX - 5, in, 10), -EINVAL);

	/* A freed page is not readable or writable any more. */
	assert_int_equal(free_range(b, 4, 5), 1);
	assert_int_equal(gm_backing_read(b, 4 * GM_PAGE_SIZE, out, 1), -EINVAL);
	assert_int_equal(gm_backing_write(b, 4 * GM_PAGE_SIZE, in, 1), -EINVAL);
	assert_int_equal(gm_backing_read(b, 2 * GM_PAGE_SIZE, out, 2 * GM_PAGE_SIZE), 0);
	assert_memory_equal(expect, out, 2 * GM_PAGE_SIZE);

	assert_int_equal(free_range(b, 0, 8), 2);
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

static void test_accounting(void **state)
{
	int64_t frames = gm_pmem_frames_in_use(0), meta = gm_pmem_meta_bytes();
	struct gm_backing *a = new_backing(0), *b = new_backing(0);
	int64_t meta_full;

	assert_int_equal(gm_backing_alloc(a, 0, 3), 3);
	assert_int_equal(gm_backing_alloc(a, 10 * PAGES_2M, PAGES_2M), PAGES_2M);
	assert_int_equal(gm_backing_alloc(b, 7, 1), 1);
	assert_int_equal(gm_pmem_frames_in_use(0), frames + 3 + PAGES_2M + 1);
	assert_int_equal(gm_frames_in_use(), frames + 3 + PAGES_2M + 1);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), 0);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_1G_ORDER), 0);
	/* Three leaves in use (two in a, one in b), each a word per folio at least. */
	meta_full = gm_pmem_meta_bytes();
	assert_true(meta_full - meta >= 3 * MIN_LEAF_BYTES);
	assert_int_equal(gm_frames_meta_bytes(), meta_full);

	assert_int_equal(free_range(a, 0, 2), 2);
	assert_int_equal(gm_pmem_frames_in_use(0), frames + 1 + PAGES_2M + 1);
	/* A backing destroyed with pages still held gives back pages and metadata. */
	gm_backing_destroy(a);
	assert_int_equal(gm_pmem_frames_in_use(0), frames + 1);
	gm_backing_destroy(b);
	assert_int_equal(gm_pmem_frames_in_use(0), frames);
	assert_int_equal(gm_pmem_meta_bytes(), meta);
	assert_int_equal(gm_frames_meta_bytes(), meta);
	gm_test_assert_no_frames();
}

/* The metadata of a leaf goes when its last folio does, not before. */
static void test_leaves_given_back(void **state)
{
	struct gm_backing *b = new_backing(0);
	int64_t meta0, meta_all, meta_now;

	/* Leaf 0 (pages 0-3) and leaf 9 (whole) first, so the later leaf 5 needs no directory growth. */
	assert_int_equal(gm_backing_alloc(b, 9 * PAGES_2M, PAGES_2M), PAGES_2M);
	assert_int_equal(gm_backing_alloc(b, 0, 4), 4);
	meta0 = gm_pmem_meta_bytes();
	assert_int_equal(gm_backing_alloc(b, 5 * PAGES_2M + 7, 1), 1);
	meta_all = gm_pmem_meta_bytes();
	assert_true(meta_all - meta0 >= MIN_LEAF_BYTES);
	/* At most a page of overhead besides the words of its 512 folios. */
	assert_true(meta_all - meta0 <= MIN_LEAF_BYTES + 4096);

	/* Leaf 5 emptied: its bytes come back. */
	assert_int_equal(free_range(b, 5 * PAGES_2M, 6 * PAGES_2M), 1);
	assert_int_equal(gm_pmem_meta_bytes(), meta0);
	/* Half of leaf 9: the leaf stays. */
	assert_int_equal(free_range(b, 9 * PAGES_2M, 9 * PAGES_2M + 256), 256);
	assert_int_equal(gm_pmem_meta_bytes(), meta0);
	/* The rest of leaf 9: it goes. */
	assert_int_equal(free_range(b, 9 * PAGES_2M + 256, 10 * PAGES_2M), 256);
	meta_now = gm_pmem_meta_bytes();
	assert_true(meta0 - meta_now >= MIN_LEAF_BYTES);
	/* Leaf 0, page by page: it stays while any page does. */
	for (uint64_t i = 0; i < 3; i++) {
		assert_int_equal(free_range(b, i, i + 1), 1);
		assert_int_equal(gm_pmem_meta_bytes(), meta_now);
	}
	assert_int_equal(free_range(b, 3, 4), 1);
	assert_true(meta_now - gm_pmem_meta_bytes() >= MIN_LEAF_BYTES);
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

/*
 * Everything freed, every byte of page metadata is given back
 * (gm_frames_meta_bytes: "given back with the pages"), not only the leaves.
 */
static void test_meta_back_to_baseline(void **state)
{
	struct gm_backing *b = new_backing(0);
	int64_t meta = gm_pmem_meta_bytes();

	assert_int_equal(gm_backing_alloc(b, 0, 1), 1);
	assert_int_equal(gm_backing_alloc(b, 100 * PAGES_2M, 1), 1);
	assert_true(gm_pmem_meta_bytes() > meta);
	assert_int_equal(free_range(b, 0, GM_PMEM_MAX_PAGES), 2);
	assert_int_equal(gm_pfn_pins(gm_backing_pfn(b, 0)), 0);
	if (gm_pmem_meta_bytes() != meta)
		fail_msg("nothing held, yet %lld bytes of page metadata are still allocated",
			 (long long)(gm_pmem_meta_bytes() - meta));
	gm_backing_destroy(b);
	gm_test_assert_no_frames();
}

/*
 * The cost of one page's metadata does not depend on where it lies: a
 * single page far out in a sparse backing needs a leaf and a few small
 * directory nodes, not a table as long as the backing's used range.
 */
static void test_sparse_meta_bounded(void **state)
{
	static const uint64_t where[] = { 80ULL << (30 - GM_PAGE_SHIFT), GM_PMEM_MAX_PAGES - 1 };

	for (size_t i = 0; i < GM_ARRAY_SIZE(where); i++) {
		struct gm_backing *b = new_backing(0);
		int64_t meta = gm_pmem_meta_bytes(), cost;

		assert_int_equal(gm_backing_alloc(b, where[i], 1), 1);
		cost = gm_pmem_meta_bytes() - meta;
		printf("# one page at index %#llx: %lld bytes of metadata\n",
		       (unsigned long long)where[i], (long long)cost);
		assert_int_equal(free_range(b, where[i], where[i] + 1), 1);
		gm_backing_destroy(b);
		assert_int_equal(gm_pmem_meta_bytes(), meta);
		if (cost > 64 * 1024)
			fail_msg("one page at index %#llx costs %lld bytes of metadata",
				 (unsigned long long)where[i], (long long)cost);
	}
	gm_test_assert_no_frames();
}

/* No 64 GiB cap: a backing addresses 2^36 pages. */
static void test_no_64g_cap(void **state)
{
	static unsigned char in[GM_PAGE_SIZE], out[GM_PAGE_SIZE];
	static const uint64_t where[] = { 80ULL << (30 - GM_PAGE_SHIFT), GM_PMEM_MAX_PAGES - 1 };
	int64_t frames = gm_pmem_frames_in_use(0);

	for (size_t i = 0; i < GM_ARRAY_SIZE(where); i++) {
		struct gm_backing *b = new_backing(0);
		uint64_t idx = where[i];
		gm_pfn_t pfn;

		assert_int_equal(gm_backing_alloc(b, idx, 1), 1);
		assert_true(gm_backing_present(b, idx));
		assert_false(gm_backing_present(b, idx - 1));
		assert_int_equal(gm_pmem_frames_in_use(0), frames + 1);
		pfn = gm_backing_lookup_pin(b, idx);
		assert_int_equal(pfn, gm_backing_pfn(b, idx));
		assert_int_equal(gm_pfn_pins(pfn), 1);
		gm_pfn_unpin(pfn);

		memset(out, 0xaa, sizeof(out));
		assert_int_equal(gm_backing_read(b, idx << GM_PAGE_SHIFT, out, sizeof(out)), 0);
		gm_test_assert_zero(out, sizeof(out));
		gm_test_fill_pattern(in, sizeof(in), (unsigned int)i + 11);
		assert_int_equal(gm_backing_write(b, idx << GM_PAGE_SHIFT, in, sizeof(in)), 0);
		assert_int_equal(gm_backing_read(b, idx << GM_PAGE_SHIFT, out, sizeof(out)), 0);
		assert_memory_equal(in, out, sizeof(in));
		/* One past the last page: the limit. */
		assert_int_equal(gm_backing_alloc(b, GM_PMEM_MAX_PAGES, 1), -EINVAL);

		assert_int_equal(free_range(b, idx, idx + 1), 1);
		assert_int_equal(gm_pmem_frames_in_use(0), frames);
		gm_backing_destroy(b);
	}
	gm_test_assert_no_frames();
}

/* A huge backing with no free huge page of its size: -ENOMEM, nothing half done. */
static void test_huge_absent(void **state)
{
	const char *why = NULL;
	int lock = gm_test_huge_lock();
	int64_t meta = gm_pmem_meta_bytes();
	struct gm_backing *b;

	if (gm_pmem_huge_available(GM_HUGE_2M_ORDER, &why)) {
		gm_test_huge_unlock(lock);
		printf("SKIP case: the host has free 2 MiB huge pages now\n");
		skip();
	}
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	printf("# huge pages unavailable: %s\n", why);
	b = new_backing(GM_HUGE_2M_ORDER);
	assert_int_equal(gm_backing_alloc(b, 0, PAGES_2M), -ENOMEM);
	assert_false(gm_backing_present(b, 0));
	assert_int_equal(gm_backing_lookup_pin(b, 0), GM_PFN_NONE);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), 0);
	/* Asking again still fails cleanly. */
	assert_int_equal(gm_backing_alloc(b, PAGES_2M, 2 * PAGES_2M), -ENOMEM);
	assert_int_equal(gm_pmem_frames_in_use(GM_HUGE_2M_ORDER), 0);
	assert_int_equal(gm_backing_read(b, 0, &why, 1), -EINVAL);
	gm_backing_destroy(b);
	assert_int_equal(gm_pmem_meta_bytes(), meta);
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

static void test_huge_bad_arguments(void **state)
{
	const char *why = NULL;
	int lock;

	assert_int_equal(gm_pmem_huge_free(0), -EINVAL);
	assert_int_equal(gm_pmem_huge_free(10), -EINVAL);
	assert_int_equal(gm_pmem_huge_available(0, &why), 0);
	assert_non_null(why);
	assert_int_equal(gm_pmem_huge_available(7, NULL), 0);
	/* The public names agree with pmem's. */
	assert_int_equal(gm_hugetlb_free_pages(12), -EINVAL);
	lock = gm_test_huge_lock();
	assert_int_equal(gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT), gm_pmem_huge_free(GM_HUGE_2M_ORDER));
	assert_int_equal(gm_hugetlb_free_pages(GM_HUGE_1G_SHIFT), gm_pmem_huge_free(GM_HUGE_1G_ORDER));
	assert_int_equal(gm_hugetlb_available(GM_HUGE_2M_SHIFT, NULL),
			 gm_pmem_huge_available(GM_HUGE_2M_ORDER, NULL));
	gm_test_huge_unlock(lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_destroy),
		cmocka_unit_test(test_alloc_range),
		cmocka_unit_test(test_unpublish_release),
		cmocka_unit_test(test_lookup_pin_unpin),
		cmocka_unit_test(test_full_2m),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_leaves_given_back),
		cmocka_unit_test(test_meta_back_to_baseline),
		cmocka_unit_test(test_sparse_meta_bounded),
		cmocka_unit_test(test_no_64g_cap),
		cmocka_unit_test(test_huge_absent),
		cmocka_unit_test(test_huge_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
