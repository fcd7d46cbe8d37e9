// SPDX-License-Identifier: MIT
/*
 * gm_munmap takes back only a whole, live mapping that gm_mmap of the same
 * file made.  Everything else is -EINVAL and stays mapped: memory the file
 * never mapped, another file's mapping, a part of a mapping or more than
 * one, an address already unmapped and reused.  Each case runs while the
 * file has a live mapping of its own, so that a count of mappings alone
 * cannot pass it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "../common.h"

#define PAGES	4

static size_t pg;

/* A file of PAGES pages holding "file" at the start of each. */
static struct gm_file *new_file(void)
{
	struct gm_file *file;

	pg = (size_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(gm_memfd_create("munmap", GM_MFD_ALLOW_SEALING, &file), 0);
	for (size_t i = 0; i < PAGES; i++)
		assert_int_equal(gm_pwrite(file, "file", 4, (off_t)(i * pg)), 4);
	return file;
}

static void *map(struct gm_file *file, size_t length)
{
	void *p;

	assert_int_equal(gm_mmap(file, length, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), 0);
	return p;
}

/* Every page of [p, p + len) is still mapped and starts with @text. */
static void assert_mapped(const void *p, size_t len, const char *text)
{
	unsigned char vec[PAGES * 2];

	assert_true(len / pg <= sizeof(vec));
	assert_int_equal(mincore((void *)p, len, vec), 0);
	for (size_t off = 0; off < len; off += pg)
		assert_memory_equal((const char *)p + off, text, strlen(text));
}

static void test_foreign_memory(void **state)
{
	struct gm_file *file = new_file();
	char *own = map(file, pg);
	char *anon = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_ptr_not_equal(anon, MAP_FAILED);
	memcpy(anon, "anon", 4);
	assert_int_equal(gm_munmap(file, anon, pg), -EINVAL);
	assert_mapped(anon, pg, "anon");
	assert_int_equal(gm_munmap(file, NULL, pg), -EINVAL);
	assert_int_equal(gm_munmap(file, own, pg), 0);
	munmap(anon, pg);
	gm_file_put(file);
}

static void test_other_files_mapping(void **state)
{
	struct gm_file *a = new_file(), *b = new_file();
	char *pa = map(a, pg), *pb = map(b, pg);

	assert_int_equal(gm_munmap(a, pb, pg), -EINVAL);
	assert_mapped(pb, pg, "file");
	assert_int_equal(gm_munmap(b, pa, pg), -EINVAL);
	assert_mapped(pa, pg, "file");
	assert_int_equal(gm_munmap(a, pa, pg), 0);
	assert_int_equal(gm_munmap(b, pb, pg), 0);
	gm_file_put(a);
	gm_file_put(b);
}

static void test_wrong_range(void **state)
{
	struct gm_file *file = new_file();
	char *p = map(file, 2 * pg);

	assert_int_equal(gm_munmap(file, p, pg), -EINVAL);		/* a part */
	assert_int_equal(gm_munmap(file, p + pg, pg), -EINVAL);		/* the other part */
	assert_int_equal(gm_munmap(file, p, 3 * pg), -EINVAL);		/* and a page past it */
	assert_int_equal(gm_munmap(file, p + 1, 2 * pg), -EINVAL);	/* unaligned */
	assert_int_equal(gm_munmap(file, p, 0), -EINVAL);
	assert_int_equal(gm_munmap(file, p, SIZE_MAX), -EINVAL);
	assert_mapped(p, 2 * pg, "file");
	/* The length as given to gm_mmap, or rounded up to whole pages. */
	assert_int_equal(gm_munmap(file, p, 2 * pg - 100), 0);
	assert_int_equal(mincore(p, 2 * pg, (unsigned char[2]){ 0 }), -1);
	assert_int_equal(errno, ENOMEM);
	p = map(file, 100);
	assert_int_equal(gm_munmap(file, p, pg), 0);
	gm_file_put(file);
}

/*
 * Two mappings together are not one: each goes back on its own.  (The
 * kernel places the second right below the first, so the range covers both.)
 */
static void test_two_mappings(void **state)
{
	struct gm_file *file = new_file();
	char *q = map(file, pg), *p = map(file, pg);

	assert_int_equal(gm_munmap(file, p < q ? p : q, 2 * pg), -EINVAL);
	assert_mapped(p, pg, "file");
	assert_mapped(q, pg, "file");
	assert_int_equal(gm_munmap(file, p, pg), 0);
	assert_int_equal(gm_munmap(file, q, pg), 0);
	gm_file_put(file);
}

static void test_unmapped_and_reused(void **state)
{
	struct gm_file *file = new_file();
	char *keep = map(file, pg), *p = map(file, pg), *anon;

	assert_int_equal(gm_munmap(file, p, pg), 0);
	assert_int_equal(gm_munmap(file, p, pg), -EINVAL);
	/* Someone else's memory now lives at the old address. */
	anon = mmap(p, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(anon, p);
	memcpy(anon, "anon", 4);
	assert_int_equal(gm_munmap(file, p, pg), -EINVAL);
	assert_mapped(anon, pg, "anon");
	munmap(anon, pg);
	assert_int_equal(gm_munmap(file, keep, pg), 0);
	/* No mapping left: the guest seal goes on, as with one never mapped. */
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign_memory),
		cmocka_unit_test(test_other_files_mapping),
		cmocka_unit_test(test_wrong_range),
		cmocka_unit_test(test_two_mappings),
		cmocka_unit_test(test_unmapped_and_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
