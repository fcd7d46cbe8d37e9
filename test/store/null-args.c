// SPDX-License-Identifier: MIT
/*
 * The NULL rule at the top of file.h, for every public function there, as a
 * table: a NULL file or a NULL pointer the call would use is -EFAULT where
 * the call returns an errno, and wins over every other bad argument (each
 * row passes some); gm_file_get/gm_file_put take NULL as a no-op; the getters
 * that cannot return an errno give what no file has.  Each row is a test of
 * its own, so a crash names its function.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include <guestmem/file.h>
#include "array.h"
#include "../common.h"

/* One ordinary and one guest-only file, for rows where only a buffer is NULL. */
static struct gm_file *ordinary, *guest;

static int64_t memfd_create_null_name(void)
{
	struct gm_file *file;

	return gm_memfd_create(NULL, 0x80000000U, &file);
}

static int64_t memfd_create_null_filep(void)
{
	return gm_memfd_create("null", 0, NULL);
}

static int64_t memfd_create_guest_null_filep(void)
{
	return gm_memfd_create("null", GM_MFD_GUEST, NULL);
}

static int64_t guest_memfd_create_null_filep(void)
{
	return gm_guest_memfd_create(-1, 1, ~0ULL, NULL);
}

static int64_t file_get_null(void)
{
	return (int64_t)(intptr_t)gm_file_get(NULL);
}

static int64_t file_put_null(void)
{
	gm_file_put(NULL);
	return 0;
}

static int64_t ftruncate_null(void)
{
	return gm_ftruncate(NULL, -1);
}

static int64_t fallocate_null(void)
{
	return gm_fallocate(NULL, 0x7f, -1, 0);
}

static int64_t pread_null_file(void)
{
	char buf[1];

	return gm_pread(NULL, buf, 1, -1);
}

static int64_t pread_null_buf(void)
{
	return gm_pread(ordinary, NULL, 1, -1);
}

static int64_t pread_null_buf_guest(void)
{
	return gm_pread(guest, NULL, 1, 0);
}

static int64_t pwrite_null_file(void)
{
	return gm_pwrite(NULL, "x", 1, -1);
}

static int64_t pwrite_null_buf(void)
{
	return gm_pwrite(ordinary, NULL, 1, -1);
}

static int64_t pwrite_null_buf_guest(void)
{
	return gm_pwrite(guest, NULL, 1, 0);
}

static int64_t add_seals_null(void)
{
	return gm_add_seals(NULL, ~0U);
}

static int64_t get_seals_null(void)
{
	return gm_get_seals(NULL);
}

static int64_t mmap_null_file(void)
{
	void *p;

	return gm_mmap(NULL, 0, PROT_READ, MAP_SHARED, -1, &p);
}

static int64_t mmap_null_addrp(void)
{
	return gm_mmap(ordinary, 4096, PROT_READ, MAP_SHARED, 0, NULL);
}

static int64_t munmap_null(void)
{
	return gm_munmap(NULL, (void *)1, 0);
}

static int64_t file_fd_null(void)
{
	return gm_file_fd(NULL);
}

static int64_t file_size_null(void)
{
	return gm_file_size(NULL);
}

static int64_t file_is_guest_null(void)
{
	return gm_file_is_guest(NULL);
}

static int64_t file_store_null(void)
{
	return gm_file_store(NULL);
}

static int64_t file_page_shift_null(void)
{
	return gm_file_page_shift(NULL);
}

static int64_t file_id_null(void)
{
	return gm_file_id(NULL);
}

static int64_t file_pages_held_null(void)
{
	return (int64_t)gm_file_pages_held(NULL);
}

static const struct row {
	const char *name;
	int64_t (*call)(void);
	int64_t expect;
} rows[] = {
	{ "gm_memfd_create(NULL name, bad flags)", memfd_create_null_name, -EFAULT },
	{ "gm_memfd_create(NULL filep)", memfd_create_null_filep, -EFAULT },
	{ "gm_memfd_create(GUEST, NULL filep)", memfd_create_guest_null_filep, -EFAULT },
	{ "gm_guest_memfd_create(bad fd, NULL filep)", guest_memfd_create_null_filep, -EFAULT },
	{ "gm_file_get(NULL)", file_get_null, 0 },
	{ "gm_file_put(NULL)", file_put_null, 0 },
	{ "gm_ftruncate(NULL, -1)", ftruncate_null, -EFAULT },
	{ "gm_fallocate(NULL, bad mode, -1, 0)", fallocate_null, -EFAULT },
	{ "gm_pread(NULL, -1)", pread_null_file, -EFAULT },
	{ "gm_pread(ordinary, NULL buf, -1)", pread_null_buf, -EFAULT },
	{ "gm_pread(guest-only, NULL buf)", pread_null_buf_guest, -EFAULT },
	{ "gm_pwrite(NULL, -1)", pwrite_null_file, -EFAULT },
	{ "gm_pwrite(ordinary, NULL buf, -1)", pwrite_null_buf, -EFAULT },
	{ "gm_pwrite(guest-only, NULL buf)", pwrite_null_buf_guest, -EFAULT },
	{ "gm_add_seals(NULL, unknown seals)", add_seals_null, -EFAULT },
	{ "gm_get_seals(NULL)", get_seals_null, -EFAULT },
	{ "gm_mmap(NULL, length 0)", mmap_null_file, -EFAULT },
	{ "gm_mmap(ordinary, NULL addrp)", mmap_null_addrp, -EFAULT },
	{ "gm_munmap(NULL, bad address)", munmap_null, -EFAULT },
	{ "gm_file_fd(NULL)", file_fd_null, -EFAULT },
	{ "gm_file_size(NULL)", file_size_null, -EFAULT },
	{ "gm_file_is_guest(NULL)", file_is_guest_null, -EFAULT },
	{ "gm_file_store(NULL)", file_store_null, GM_STORE_NONE },
	{ "gm_file_page_shift(NULL)", file_page_shift_null, 0 },
	{ "gm_file_id(NULL)", file_id_null, 0 },
	{ "gm_file_pages_held(NULL)", file_pages_held_null, 0 },
};

#define NR_ROWS (GM_ARRAY_SIZE(rows))

static void test_row(void **state)
{
	const struct row *row = *state;

	assert_int_equal(row->call(), row->expect);
}

static int setup_files(void **state)
{
	if (gm_memfd_create("null-ordinary", 0, &ordinary) ||
	    gm_memfd_create("null-guest", GM_MFD_GUEST, &guest))
		return -1;
	/* Data where the NULL buffer would point, so only the check stops it. */
	if (gm_pwrite(ordinary, "data", 4, 0) != 4 || gm_ftruncate(guest, 4096))
		return -1;
	return 0;
}

static int teardown_files(void **state)
{
	/* Nothing of a refused call is left: both files as set up. */
	int bad = gm_file_size(ordinary) != 4 || gm_file_size(guest) != 4096 ||
		  gm_file_pages_held(guest) != 0;

	gm_file_put(ordinary);
	gm_file_put(guest);
	gm_test_assert_no_frames();
	return bad ? -1 : 0;
}

int main(void)
{
	struct CMUnitTest tests[NR_ROWS];
	size_t i;

	for (i = 0; i < NR_ROWS; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].name, .test_func = test_row,
						.initial_state = (void *)&rows[i] };
	return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
