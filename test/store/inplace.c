// SPDX-License-Identifier: MIT
/*
 * In-place files (GM_MFD_GUEST | GM_MFD_GUEST_MMAP): creation flags; the
 * page state each 4 KiB page has, from birth and as the file grows, read a
 * page or a run at a time (gm_file_find_attributes); host
 * I/O and host mappings of shared pages only (a private page read through
 * a mapping is SIGBUS); conversions, refused to private while a page is
 * mapped or pinned, with their content policy; the owner's set_attributes
 * op; a huge page that stays one allocation through mixed conversions.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>
#include "array.h"
#include "store.h"
#include "../common.h"
#include "../frames.h"

#define PG		((off_t)GM_PAGE_SIZE)
#define HP		((off_t)2 << 20)
#define PRIV		((int64_t)GM_FILE_ATTR_PRIVATE)
#define ZERO		GM_CONVERT_ZERO
#define KEEP		GM_CONVERT_PRESERVE
#define INPLACE		(GM_MFD_GUEST | GM_MFD_GUEST_MMAP)
#define SHARED_START	(INPLACE | GM_MFD_GUEST_INIT_SHARED)

static struct gm_file *new_file(unsigned int flags, off_t size)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("inplace", flags, &file), 0);
	assert_int_equal(gm_file_in_place(file), 1);
	assert_int_equal(gm_ftruncate(file, size), 0);
	return file;
}

static void assert_attr(struct gm_file *file, off_t offset, int64_t want)
{
	int64_t got = gm_file_get_attributes(file, offset);

	if (got != want)
		fail_msg("page at %#llx: attribute %lld, want %lld", (unsigned long long)offset,
			 (long long)got, (long long)want);
}

/* ---- SIGBUS probes ---- */

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* Does reading (or, @write, writing) the byte at @p raise SIGBUS? */
static bool faults(volatile char *p, bool write)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool faulted;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0) {
		if (write)
			*p = *p;
		else
			(void)*p;
		faulted = false;
	} else {
		faulted = true;
	}
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

/* ---- creation ---- */

static void test_create_flags(void **state)
{
	static const struct { const char *what; unsigned int flags; int want, in_place; } t[] = {
		{ "MMAP without GUEST", GM_MFD_GUEST_MMAP, -EINVAL, 0 },
		{ "INIT_SHARED without MMAP", GM_MFD_GUEST | GM_MFD_GUEST_INIT_SHARED, -EINVAL, 0 },
		{ "INIT_SHARED alone", GM_MFD_GUEST_INIT_SHARED, -EINVAL, 0 },
		{ "MMAP | INIT_SHARED without GUEST", GM_MFD_GUEST_MMAP | GM_MFD_GUEST_INIT_SHARED,
		  -EINVAL, 0 },
		{ "in place", INPLACE, 0, 1 },
		{ "in place, shared", SHARED_START, 0, 1 },
		{ "in place, sealable", INPLACE | GM_MFD_ALLOW_SEALING, 0, 1 },
		{ "in place, hugetlb", INPLACE | GM_MFD_HUGETLB, 0, 1 },
		{ "guest-only", GM_MFD_GUEST, 0, 0 },
		{ "ordinary", 0, 0, 0 },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		struct gm_file *file = NULL;
		int ret = gm_memfd_create("flags", t[i].flags, &file);

		if (ret != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].what, ret, t[i].want);
		if (ret)
			continue;
		assert_int_equal(gm_file_in_place(file), t[i].in_place);
		assert_int_equal(gm_file_is_guest(file), !!(t[i].flags & GM_MFD_GUEST));
		gm_file_put(file);
	}
	assert_int_equal(gm_file_in_place(NULL), -EFAULT);
	gm_test_assert_no_frames();
}

/* A guest-only file that is not in place behaves as before: no state, no host access. */
static void test_plain_guest_only(void **state)
{
	struct gm_file *file;
	char buf[16] = { 0 };
	void *p;

	assert_int_equal(gm_memfd_create("plain", GM_MFD_GUEST, &file), 0);
	assert_int_equal(gm_ftruncate(file, 4 * PG), 0);
	assert_int_equal(gm_file_set_attributes(file, 0, PG, 0, KEEP, NULL), -EINVAL);
	assert_int_equal(gm_file_get_attributes(file, 0), -EINVAL);
	assert_int_equal(gm_pread(file, buf, sizeof(buf), 0), -EPERM);
	assert_int_equal(gm_pwrite(file, buf, sizeof(buf), 0), -EPERM);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 0, &p), -EPERM);
	gm_file_put(file);
}

static void test_attribute_errors(void **state)
{
	struct gm_file *file = new_file(INPLACE, 4 * PG);
	static const struct { const char *what; off_t off, len; uint64_t attr; unsigned int pol;
			      int want; } t[] = {
		{ "unaligned offset", 100, PG, PRIV, KEEP, -EINVAL },
		{ "unaligned length", 0, 100, PRIV, KEEP, -EINVAL },
		{ "zero length", 0, 0, PRIV, KEEP, -EINVAL },
		{ "negative offset", -PG, PG, PRIV, KEEP, -EINVAL },
		{ "negative length", 0, -PG, PRIV, KEEP, -EINVAL },
		{ "past the end", 3 * PG, 2 * PG, 0, KEEP, -EINVAL },
		{ "unknown attribute", 0, PG, 1, KEEP, -EINVAL },
		{ "unknown policy", 0, PG, 0, 2, -EINVAL },
		{ "to shared", 0, PG, 0, KEEP, 0 },
		{ "to private", 0, PG, PRIV, KEEP, 0 },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		int ret = gm_file_set_attributes(file, t[i].off, t[i].len, t[i].attr, t[i].pol, NULL);

		if (ret != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].what, ret, t[i].want);
	}
	assert_int_equal(gm_file_set_attributes(NULL, 0, PG, 0, KEEP, NULL), -EFAULT);
	assert_int_equal(gm_file_get_attributes(NULL, 0), -EFAULT);
	assert_int_equal(gm_file_get_attributes(file, -1), -EINVAL);
	assert_int_equal(gm_file_get_attributes(file, 4 * PG), -EINVAL);
	for (off_t off = 0; off < 4 * PG; off += PG)
		assert_attr(file, off, PRIV);
	gm_file_put(file);
}

/* The first page at or after @offset with attribute @attr, read a page at a time. */
static int64_t find_slowly(struct gm_file *file, off_t offset, int64_t attr)
{
	for (off_t off = offset; off < gm_file_size(file); off += PG)
		if (gm_file_get_attributes(file, off) == attr)
			return off;
	return -ENXIO;
}

/* gm_file_find_attributes finds what a page-by-page walk finds, from every page, both ways. */
static void test_find_attributes(void **state)
{
	static const off_t shared[][2] = { { 3, 5 }, { 63, 130 }, { 199, 200 } };
	struct gm_file *file = new_file(INPLACE, 200 * PG), *plain;

	assert_int_equal(gm_file_find_attributes(NULL, 0, 0), -EFAULT);
	assert_int_equal(gm_file_find_attributes(file, -PG, 0), -EINVAL);
	assert_int_equal(gm_file_find_attributes(file, 100, 0), -EINVAL);
	assert_int_equal(gm_file_find_attributes(file, 0, 1), -EINVAL);
	assert_int_equal(gm_file_find_attributes(file, 200 * PG, PRIV), -ENXIO);
	assert_int_equal(gm_file_find_attributes(file, 300 * PG, PRIV), -ENXIO);
	assert_int_equal(gm_file_find_attributes(file, 0, 0), -ENXIO);	/* all private */
	assert_int_equal(gm_memfd_create("plain", GM_MFD_GUEST, &plain), 0);
	assert_int_equal(gm_file_find_attributes(plain, 0, 0), -EINVAL);
	gm_file_put(plain);

	for (size_t i = 0; i < GM_ARRAY_SIZE(shared); i++)
		assert_int_equal(gm_file_set_attributes(file, shared[i][0] * PG,
							(shared[i][1] - shared[i][0]) * PG, 0,
							KEEP, NULL), 0);
	for (off_t off = 0; off < 200 * PG; off += PG) {
		for (int64_t attr = 0; attr <= PRIV; attr += PRIV) {
			int64_t got = gm_file_find_attributes(file, off, (uint64_t)attr);
			int64_t want = find_slowly(file, off, attr);

			if (got != want)
				fail_msg("from %#llx, attribute %lld: %lld, want %lld",
					 (unsigned long long)off, (long long)attr, (long long)got,
					 (long long)want);
		}
	}
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(gm_file_find_attributes(file, 0, PRIV), -ENXIO);
	gm_file_put(file);
}

/* Pages start private, or shared with INIT_SHARED, and so do the pages a file grows by. */
static void test_initial_state(void **state)
{
	static const unsigned int flags[] = { INPLACE, SHARED_START };

	for (size_t i = 0; i < GM_ARRAY_SIZE(flags); i++) {
		int64_t init = (flags[i] & GM_MFD_GUEST_INIT_SHARED) ? 0 : PRIV;
		struct gm_file *file = new_file(flags[i], 130 * PG);

		for (off_t off = 0; off < 130 * PG; off += PG)
			assert_attr(file, off, init);
		/* Flip every page, shrink, grow: the pages past the old end start anew. */
		assert_int_equal(gm_file_set_attributes(file, 0, 130 * PG, init ^ PRIV, KEEP, NULL), 0);
		assert_int_equal(gm_ftruncate(file, 3 * PG), 0);
		assert_int_equal(gm_ftruncate(file, 200 * PG), 0);
		for (off_t off = 0; off < 200 * PG; off += PG)
			assert_attr(file, off, off < 3 * PG ? (init ^ PRIV) : init);
		/* fallocate that grows the file does the same. */
		assert_int_equal(gm_fallocate(file, 0, 200 * PG, 2 * PG), 0);
		assert_int_equal(gm_file_size(file), 202 * PG);
		assert_attr(file, 201 * PG, init);
		assert_int_equal(gm_ftruncate(file, 0), 0);
		assert_int_equal(gm_ftruncate(file, 64 * PG), 0);
		assert_attr(file, 0, init);
		gm_file_put(file);
	}
	gm_test_assert_no_frames();
}

/* ---- host I/O ---- */

static void test_io_shared(void **state)
{
	static char in[3 * PG], out[3 * PG];
	struct gm_file *file = new_file(SHARED_START, 4 * PG);

	/* A hole reads zero, and nothing is allocated for it. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(gm_pread(file, out, PG, PG), PG);
	gm_test_assert_zero(out, PG);
	assert_int_equal(gm_file_pages_held(file), 0);

	gm_test_fill_pattern(in, sizeof(in), 1);
	assert_int_equal(gm_pwrite(file, in, 2 * PG + 10, 100), 2 * PG + 10);
	assert_int_equal(gm_file_pages_held(file), 3);
	assert_int_equal(gm_pread(file, out, 2 * PG + 10, 100), 2 * PG + 10);
	assert_memory_equal(in, out, 2 * PG + 10);
	/* The guest's path sees the same bytes. */
	assert_int_equal(gm_file_guest_read(file, 100, out, 2 * PG + 10), 0);
	assert_memory_equal(in, out, 2 * PG + 10);

	/* As a file: reads stop at the end; a write may not pass it. */
	assert_int_equal(gm_pread(file, out, 10, 4 * PG), 0);
	assert_int_equal(gm_pread(file, out, 10, 5 * PG), 0);
	assert_int_equal(gm_pread(file, out, 2 * PG, 3 * PG), PG);
	assert_int_equal(gm_pwrite(file, in, 10, 4 * PG), -EFBIG);
	assert_int_equal(gm_pwrite(file, in, 0, 4 * PG), 0);
	assert_int_equal(gm_pwrite(file, in, 2 * PG, 3 * PG + 8), PG - 8);
	assert_int_equal(gm_file_size(file), 4 * PG);
	assert_int_equal(gm_pread(file, out, 10, -1), -EINVAL);
	assert_int_equal(gm_pread(file, NULL, 10, 0), -EFAULT);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_io_private(void **state)
{
	static char in[2 * PG], out[2 * PG];
	struct gm_file *file = new_file(INPLACE, 4 * PG);

	/* Only page 1 is shared. */
	assert_int_equal(gm_file_set_attributes(file, PG, PG, 0, KEEP, NULL), 0);
	gm_test_fill_pattern(in, sizeof(in), 2);
	assert_int_equal(gm_pwrite(file, in, PG, PG), PG);
	assert_int_equal(gm_pread(file, out, PG, PG), PG);
	assert_memory_equal(in, out, PG);

	/* A range that touches a private page moves nothing. */
	static const struct { off_t off; size_t len; } t[] = {
		{ 0, PG }, { PG - 1, 2 }, { 2 * PG - 1, 2 }, { PG, PG + 1 }, { 3 * PG, 10 },
	};
	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		uint64_t held = gm_file_pages_held(file);

		memset(out, 0x5a, sizeof(out));
		assert_int_equal(gm_pread(file, out, t[i].len, t[i].off), -EPERM);
		for (size_t b = 0; b < t[i].len; b++)
			assert_int_equal(out[b], 0x5a);
		assert_int_equal(gm_pwrite(file, in, t[i].len, t[i].off), -EPERM);
		assert_int_equal(gm_file_pages_held(file), held);
	}
	assert_int_equal(gm_pread(file, out, PG, PG), PG);
	assert_memory_equal(in, out, PG);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* Writes allocate through pmem: its limit holds, and a write over it moves nothing. */
static void test_io_limit(void **state)
{
	static char in[4 * PG];
	struct gm_file *file = new_file(SHARED_START, 8 * PG);

	assert_int_equal(gm_guest_memory_set_limit(2 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_pwrite(file, in, 3 * PG, 0), -ENOSPC);
	assert_int_equal(gm_file_pages_held(file), 0);
	assert_int_equal(gm_pwrite(file, in, 2 * PG, 0), 2 * PG);
	assert_int_equal(gm_file_pages_held(file), 2);
	assert_int_equal(gm_guest_memory_set_limit(0), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_io_seals(void **state)
{
	char buf[8] = { 1 };
	struct gm_file *file = new_file(SHARED_START | GM_MFD_ALLOW_SEALING, 2 * PG);
	void *p;

	assert_int_equal(gm_mmap(file, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_WRITE), -EBUSY);
	assert_int_equal(gm_munmap(file, p, PG), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_WRITE), 0);
	assert_int_equal(gm_pwrite(file, buf, sizeof(buf), 0), -EPERM);
	assert_int_equal(gm_pread(file, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(gm_mmap(file, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), -EPERM);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 0, &p), 0);
	assert_int_equal(gm_munmap(file, p, PG), 0);
	/* ZERO rewrites pages: a write seal forbids it, as it forbids a punch. */
	assert_int_equal(gm_file_set_attributes(file, 0, PG, PRIV, ZERO, NULL), -EPERM);
	assert_int_equal(gm_file_set_attributes(file, 0, PG, PRIV, KEEP, NULL), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* ---- host mappings ---- */

static void test_mmap_errors(void **state)
{
	struct gm_file *file = new_file(SHARED_START, 4 * PG);
	void *p;

	assert_int_equal(gm_mmap(file, 0, PROT_READ, MAP_SHARED, 0, &p), -EINVAL);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 100, &p), -EINVAL);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, -PG, &p), -EINVAL);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_PRIVATE, 0, &p), -EINVAL);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED | MAP_FIXED, 0, &p), -EINVAL);
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 0, NULL), -EFAULT);
	assert_int_equal(gm_file_pages_held(file), 0);
	gm_file_put(file);
}

static void test_mmap_shared(void **state)
{
	static char in[8 * PG], out[8 * PG];
	struct gm_file *file = new_file(SHARED_START, 8 * PG);
	off_t err = -1;
	char *p;

	gm_test_fill_pattern(in, sizeof(in), 3);
	assert_int_equal(gm_pwrite(file, in, 4 * PG, 0), 4 * PG);
	/* Mapping shows every shared page: the holes are allocated for it, and counted. */
	assert_int_equal(gm_mmap(file, 10 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				 (void **)&p), 0);
	assert_int_equal(gm_file_pages_held(file), 8);
	assert_memory_equal(p, in, 4 * PG);
	gm_test_assert_zero(p + 4 * PG, 4 * PG);
	/* Past the end: SIGBUS, as a memfd's mapping. */
	assert_true(faults(p + 8 * PG, false));
	assert_true(faults(p + 9 * PG + 5, true));

	/* The mapping and host I/O are one set of bytes. */
	memcpy(p + 5 * PG + 3, in, 100);
	assert_int_equal(gm_pread(file, out, 100, 5 * PG + 3), 100);
	assert_memory_equal(out, in, 100);
	assert_int_equal(gm_pwrite(file, in + 7, 200, 6 * PG), 200);
	assert_memory_equal(p + 6 * PG, in + 7, 200);

	/* To private is refused while mapped, and nothing changes. */
	assert_int_equal(gm_file_set_attributes(file, 0, 8 * PG, PRIV, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 0);
	for (off_t off = 0; off < 8 * PG; off += PG)
		assert_attr(file, off, 0);
	/* Punch and shrink would take pages from under it. */
	assert_int_equal(gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, PG, PG),
			 -EBUSY);
	assert_int_equal(gm_ftruncate(file, 4 * PG), -EBUSY);
	assert_int_equal(gm_file_size(file), 8 * PG);
	assert_int_equal(gm_munmap(file, p, 10 * PG), 0);

	assert_int_equal(gm_file_set_attributes(file, 0, 8 * PG, PRIV, KEEP, &err), 0);
	assert_int_equal(gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, PG, PG), 0);
	assert_int_equal(gm_ftruncate(file, 4 * PG), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* A private page of a mapping is SIGBUS; to shared shows it where it is mapped. */
static void test_mmap_private_page(void **state)
{
	static char in[8 * PG];
	struct gm_file *file = new_file(SHARED_START, 8 * PG);
	off_t err = -1;
	char *p, *q;

	gm_test_fill_pattern(in, sizeof(in), 4);
	assert_int_equal(gm_pwrite(file, in, 8 * PG, 0), 8 * PG);
	assert_int_equal(gm_file_set_attributes(file, 3 * PG, PG, PRIV, KEEP, NULL), 0);
	assert_int_equal(gm_mmap(file, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				 (void **)&p), 0);
	assert_true(faults(p + 3 * PG, false));
	assert_true(faults(p + 3 * PG + PG - 1, true));
	assert_false(faults(p + 2 * PG, false));
	assert_false(faults(p + 4 * PG, false));
	assert_memory_equal(p + 4 * PG, in + 4 * PG, 4 * PG);

	/*
	 * A second mapping of pages 2..4.  To private over [0, 8): page 3 is
	 * private already and changes nothing, so the first page refused is
	 * page 0 (the big mapping); once that is gone, page 2.
	 */
	assert_int_equal(gm_mmap(file, 3 * PG, PROT_READ, MAP_SHARED, 2 * PG, (void **)&q), 0);
	assert_true(faults(q + PG, false));
	assert_int_equal(gm_file_set_attributes(file, 0, 8 * PG, PRIV, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 0);
	assert_int_equal(gm_munmap(file, p, 8 * PG), 0);
	assert_int_equal(gm_file_set_attributes(file, 3 * PG, 5 * PG, PRIV, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 4 * PG);
	assert_int_equal(gm_file_set_attributes(file, 0, 8 * PG, PRIV, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 2 * PG);
	assert_int_equal(gm_file_set_attributes(file, 5 * PG, 3 * PG, PRIV, KEEP, NULL), 0);

	/* To shared while mapped: the page shows, its bytes kept (PRESERVE). */
	assert_int_equal(gm_file_set_attributes(file, 3 * PG, PG, 0, KEEP, NULL), 0);
	assert_false(faults(q + PG, false));
	assert_memory_equal(q, in + 2 * PG, 3 * PG);
	assert_int_equal(gm_munmap(file, q, 3 * PG), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* To shared while mapped, a hole: allocated for the mapping, zero, counted. */
static void test_mmap_shared_hole(void **state)
{
	struct gm_file *file = new_file(INPLACE, 4 * PG);
	char *p;

	assert_int_equal(gm_mmap(file, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				 (void **)&p), 0);
	assert_int_equal(gm_file_pages_held(file), 0);
	for (int i = 0; i < 4; i++)
		assert_true(faults(p + i * PG, false));
	assert_int_equal(gm_file_set_attributes(file, PG, 2 * PG, 0, ZERO, NULL), 0);
	assert_int_equal(gm_file_pages_held(file), 2);
	assert_true(faults(p, false));
	assert_true(faults(p + 3 * PG, false));
	gm_test_assert_zero(p + PG, 2 * PG);
	p[PG] = 42;
	assert_int_equal(gm_munmap(file, p, 4 * PG), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* Growing: the new pages start shared, but show only in a mapping made after. */
static void test_mmap_grow(void **state)
{
	struct gm_file *file = new_file(SHARED_START, 2 * PG);
	char *p, *q;

	assert_int_equal(gm_mmap(file, 4 * PG, PROT_READ, MAP_SHARED, 0, (void **)&p), 0);
	assert_false(faults(p + PG, false));
	assert_true(faults(p + 2 * PG, false));
	assert_int_equal(gm_ftruncate(file, 4 * PG), 0);
	assert_attr(file, 3 * PG, 0);
	assert_true(faults(p + 2 * PG, false));
	assert_int_equal(gm_file_pages_held(file), 2);
	assert_int_equal(gm_mmap(file, 4 * PG, PROT_READ, MAP_SHARED, 0, (void **)&q), 0);
	assert_false(faults(q + 3 * PG, false));
	gm_test_assert_zero(q, 4 * PG);
	assert_int_equal(gm_file_pages_held(file), 4);
	assert_int_equal(gm_munmap(file, p, 4 * PG), 0);
	assert_int_equal(gm_munmap(file, q, 4 * PG), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* ---- content policies ---- */

static void test_policies(void **state)
{
	static char in[4 * PG], out[4 * PG];
	struct gm_file *file = new_file(SHARED_START, 4 * PG);

	gm_test_fill_pattern(in, sizeof(in), 5);
	assert_int_equal(gm_pwrite(file, in, 4 * PG, 0), 4 * PG);

	/* PRESERVE both ways: the bytes stay, on the guest's side too. */
	assert_int_equal(gm_file_set_attributes(file, 0, 2 * PG, PRIV, KEEP, NULL), 0);
	assert_int_equal(gm_file_guest_read(file, 0, out, 2 * PG), 0);
	assert_memory_equal(out, in, 2 * PG);
	assert_int_equal(gm_file_set_attributes(file, 0, 2 * PG, 0, KEEP, NULL), 0);
	assert_int_equal(gm_pread(file, out, 4 * PG, 0), 4 * PG);
	assert_memory_equal(out, in, 4 * PG);

	/* ZERO to private: the guest reads zero; the pages stay allocated. */
	assert_int_equal(gm_file_set_attributes(file, 0, PG, PRIV, ZERO, NULL), 0);
	assert_int_equal(gm_file_pages_held(file), 4);
	assert_int_equal(gm_file_guest_read(file, 0, out, PG), 0);
	gm_test_assert_zero(out, PG);

	/* ZERO to shared: the host never sees the private bytes. */
	assert_int_equal(gm_file_guest_write(file, 0, in, PG), 0);
	assert_int_equal(gm_file_set_attributes(file, 0, PG, 0, ZERO, NULL), 0);
	assert_int_equal(gm_pread(file, out, PG, 0), PG);
	gm_test_assert_zero(out, PG);

	/* A page already on the side asked for keeps its bytes, ZERO or not. */
	assert_int_equal(gm_file_set_attributes(file, PG, 3 * PG, 0, ZERO, NULL), 0);
	assert_int_equal(gm_pread(file, out, 3 * PG, PG), 3 * PG);
	assert_memory_equal(out, in + PG, 3 * PG);

	/* ZERO over a hole allocates nothing. */
	assert_int_equal(gm_ftruncate(file, 6 * PG), 0);
	assert_int_equal(gm_file_set_attributes(file, 4 * PG, 2 * PG, PRIV, ZERO, NULL), 0);
	assert_int_equal(gm_file_pages_held(file), 4);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* ---- the owner's op ---- */

static _Atomic int invalidations;

static void count_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
	invalidations++;
}

static const struct gm_guest_ops guest_ops = { .invalidate_page_range = count_invalidate };

static void test_owner_pins(void **state)
{
	static char in[PG], out[PG];
	struct gm_file *file = new_file(SHARED_START, 8 * PG);
	const struct gm_mem_ops *mem;
	uint64_t err = 0;
	unsigned int order = 0;
	gm_pfn_t pfn;
	int owner;

	invalidations = 0;
	assert_int_equal(gm_register_guest(file, &owner, &guest_ops, &mem), 0);
	assert_non_null(mem->set_attributes);
	/* The public call is for files no guest holds. */
	assert_int_equal(gm_file_set_attributes(file, 0, PG, PRIV, KEEP, NULL), -EBUSY);

	gm_test_fill_pattern(in, sizeof(in), 6);
	assert_int_equal(gm_pwrite(file, in, PG, 2 * PG), PG);
	assert_int_equal(mem->get_lock_pfn(file, 2, &pfn, &order), 0);
	assert_int_equal(mem->set_attributes(file, 2, 1, true, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 2);
	err = 0;
	assert_int_equal(mem->set_attributes(file, 0, 8, true, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 2);
	assert_attr(file, 0, 0);
	/* To shared is never refused for a pin. */
	assert_int_equal(mem->set_attributes(file, 0, 8, false, KEEP, &err), 0);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(mem->set_attributes(file, 2, 1, true, KEEP, &err), 0);
	assert_attr(file, 2 * PG, PRIV);
	assert_int_equal(gm_pread(file, out, PG, 2 * PG), -EPERM);

	/* Errors: past the end, nothing, unknown policy. */
	assert_int_equal(mem->set_attributes(file, 8, 1, true, KEEP, NULL), -EINVAL);
	assert_int_equal(mem->set_attributes(file, 7, 2, true, KEEP, NULL), -EINVAL);
	assert_int_equal(mem->set_attributes(file, 0, 0, true, KEEP, NULL), -EINVAL);
	assert_int_equal(mem->set_attributes(file, 0, 1, true, 7, NULL), -EINVAL);

	/* ZERO from the owner: back to shared, the page reads zero. */
	assert_int_equal(mem->set_attributes(file, 2, 1, false, ZERO, NULL), 0);
	assert_int_equal(gm_pread(file, out, PG, 2 * PG), PG);
	gm_test_assert_zero(out, PG);

	/* populate: the shared side's pages, allocated as the VM asks. */
	assert_int_equal(mem->populate(file, 4, 4), 0);
	assert_int_equal(gm_file_pages_held(file), 5);
	assert_int_equal(invalidations, 0);

	assert_int_equal(gm_unregister_guest(file, &owner), 0);
	assert_int_equal(mem->set_attributes(file, 0, 1, true, KEEP, NULL), -EPERM);
	assert_int_equal(mem->set_attributes(NULL, 0, 1, true, KEEP, NULL), -EFAULT);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * One 4 KiB page back and forth 100,000 times with PRESERVE, its state
 * checked each time; then the owner's op alone, timed.
 */
#define FLIPS	100000

static void test_flip_loop(void **state)
{
	struct gm_file *file = new_file(INPLACE, 64 * PG);
	const struct gm_mem_ops *mem;
	double t0, t1;
	int owner;

	assert_int_equal(gm_pwrite(file, "x", 1, 0), -EPERM);
	assert_int_equal(gm_fallocate(file, 0, 0, 64 * PG), 0);
	for (int i = 0; i < FLIPS; i++) {
		bool private = i & 1;

		if (gm_file_set_attributes(file, 17 * PG, PG, private ? PRIV : 0, KEEP, NULL))
			fail_msg("flip %d failed", i);
		if (gm_file_get_attributes(file, 17 * PG) != (private ? PRIV : 0))
			fail_msg("flip %d: wrong state", i);
	}
	assert_attr(file, 16 * PG, PRIV);
	assert_attr(file, 18 * PG, PRIV);

	assert_int_equal(gm_register_guest(file, &owner, &guest_ops, &mem), 0);
	t0 = now_ns();
	for (int i = 0; i < FLIPS; i++)
		if (mem->set_attributes(file, 17, 1, !(i & 1), KEEP, NULL))
			fail_msg("owner flip %d failed", i);
	t1 = now_ns();
	printf("# owner set_attributes, one 4 KiB page, PRESERVE: %.0f ns a call\n",
	       (t1 - t0) / FLIPS);
	assert_attr(file, 17 * PG, 0);
	assert_int_equal(gm_file_pages_held(file), 64);
	assert_int_equal(gm_unregister_guest(file, &owner), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

/* ---- a huge page ---- */

static void test_hugetlb(void **state)
{
	static char in[HP], out[HP];
	struct gm_file *file;
	off_t err = -1;
	char *p;

	gm_test_huge_begin(2, false, NULL);
	file = new_file(SHARED_START | GM_MFD_HUGETLB, HP);
	gm_test_fill_pattern(in, sizeof(in), 7);
	assert_int_equal(gm_pwrite(file, in, HP, 0), HP);
	assert_int_equal(gm_file_pages_held(file), 512);

	/* One 4 KiB page alone: the folio stays whole, the other 511 pages intact. */
	assert_int_equal(gm_file_set_attributes(file, 5 * PG, PG, PRIV, KEEP, NULL), 0);
	assert_int_equal(gm_file_pages_held(file), 512);
	assert_int_equal(gm_pread(file, out, 5 * PG, 0), 5 * PG);
	assert_memory_equal(out, in, 5 * PG);
	assert_int_equal(gm_pread(file, out, HP - 6 * PG, 6 * PG), HP - 6 * PG);
	assert_memory_equal(out, in + 6 * PG, HP - 6 * PG);
	assert_int_equal(gm_pread(file, out, PG, 5 * PG), -EPERM);

	/* Mixed, the host page is SIGBUS whole; uniform again, it shows. */
	assert_int_equal(gm_mmap(file, HP, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p), 0);
	assert_true(faults(p, false));
	assert_true(faults(p + 5 * PG, false));
	assert_true(faults(p + HP - 1, true));
	assert_int_equal(gm_file_set_attributes(file, 0, PG, PRIV, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 0);
	assert_int_equal(gm_file_set_attributes(file, 5 * PG, PG, 0, KEEP, NULL), 0);
	assert_false(faults(p + 5 * PG, false));
	assert_memory_equal(p, in, HP);
	assert_int_equal(gm_file_pages_held(file), 512);
	assert_int_equal(gm_munmap(file, p, HP), 0);

	/* ZERO on one 4 KiB page of the folio: that page alone. */
	assert_int_equal(gm_file_set_attributes(file, 9 * PG, PG, PRIV, ZERO, NULL), 0);
	assert_int_equal(gm_file_set_attributes(file, 9 * PG, PG, 0, KEEP, NULL), 0);
	assert_int_equal(gm_pread(file, out, HP, 0), HP);
	gm_test_assert_zero(out + 9 * PG, PG);
	assert_memory_equal(out, in, 9 * PG);
	assert_memory_equal(out + 10 * PG, in + 10 * PG, HP - 10 * PG);
	assert_int_equal(gm_file_pages_held(file), 512);
	gm_file_put(file);
	gm_test_huge_end();
	gm_test_assert_no_frames();
}

/* A pin on any 4 KiB page of a huge folio holds all of it. */
static void test_hugetlb_pin(void **state)
{
	struct gm_file *file;
	const struct gm_mem_ops *mem;
	uint64_t err = 0;
	gm_pfn_t pfn;
	int owner;

	gm_test_huge_begin(1, false, NULL);
	file = new_file(SHARED_START | GM_MFD_HUGETLB, HP);
	assert_int_equal(gm_register_guest(file, &owner, &guest_ops, &mem), 0);
	assert_int_equal(mem->get_lock_pfn(file, 300, &pfn, NULL), 0);
	assert_int_equal(mem->set_attributes(file, 7, 1, true, KEEP, &err), -EAGAIN);
	assert_int_equal(err, 7);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(mem->set_attributes(file, 7, 1, true, KEEP, &err), 0);
	assert_int_equal(gm_unregister_guest(file, &owner), 0);
	gm_file_put(file);
	gm_test_huge_end();
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_flags),
		cmocka_unit_test(test_plain_guest_only),
		cmocka_unit_test(test_attribute_errors),
		cmocka_unit_test(test_find_attributes),
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_io_shared),
		cmocka_unit_test(test_io_private),
		cmocka_unit_test(test_io_limit),
		cmocka_unit_test(test_io_seals),
		cmocka_unit_test(test_mmap_errors),
		cmocka_unit_test(test_mmap_shared),
		cmocka_unit_test(test_mmap_private_page),
		cmocka_unit_test(test_mmap_shared_hole),
		cmocka_unit_test(test_mmap_grow),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_owner_pins),
		cmocka_unit_test(test_flip_loop),
		cmocka_unit_test_teardown(test_hugetlb, gm_test_huge_teardown),
		cmocka_unit_test_teardown(test_hugetlb_pin, gm_test_huge_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
