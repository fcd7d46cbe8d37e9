// SPDX-License-Identifier: MIT
/*
 * GM_SEAL_GUEST on an ordinary file: refused (-EBUSY) while the file holds
 * data or has a host mapping, whether made through gm_mmap() or through the
 * raw fd; on an empty, unmapped file it turns the file guest-only for good,
 * and the kernel memfd behind it is sealed shut, so that an fd the caller
 * kept can neither grow nor be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "store.h"
#include "../common.h"

#define PG	((off_t)GM_PAGE_SIZE)

static struct gm_file *ordinary(void)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("seal-guest", GM_MFD_ALLOW_SEALING, &file), 0);
	return file;
}

/* The refused seal changed nothing. */
static void assert_still_ordinary(struct gm_file *file, int64_t size, int seals)
{
	assert_int_equal(gm_file_is_guest(file), 0);
	assert_int_equal(gm_file_size(file), size);
	assert_int_equal(gm_get_seals(file), seals);
	assert_true(gm_file_fd(file) >= 0);
}

static void test_non_empty(void **state)
{
	struct gm_file *file = ordinary();
	char buf[6] = { 0 };

	assert_int_equal(gm_pwrite(file, "hello", 5, 0), 5);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EBUSY);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST | GM_SEAL_GROW), -EBUSY);
	assert_still_ordinary(file, 5, 0);
	assert_int_equal(gm_pread(file, buf, 5, 0), 5);
	assert_string_equal(buf, "hello");
	/* Size alone, without data, counts too. */
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(gm_ftruncate(file, PG), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EBUSY);
	assert_still_ordinary(file, PG, 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_gm_mmap(void **state)
{
	struct gm_file *file = ordinary();
	void *p;

	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 0, &p), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EBUSY);
	assert_still_ordinary(file, 0, 0);
	assert_int_equal(gm_munmap(file, p, PG), 0);
	/* Unmapped: now it may be sealed. */
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_file_is_guest(file), 1);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_raw_fd_writable_mapping(void **state)
{
	struct gm_file *file = ordinary();
	void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, gm_file_fd(file), 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EBUSY);
	/* The kernel refused the write seal: nothing was sealed. */
	assert_still_ordinary(file, 0, 0);
	assert_int_equal(gm_ftruncate(file, PG), 0);
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(munmap(p, PG), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_file_is_guest(file), 1);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_refusals_before_state(void **state)
{
	struct gm_file *file;

	/* Without ALLOW_SEALING, or after GM_SEAL_SEAL: -EPERM, even if busy. */
	assert_int_equal(gm_memfd_create("no-sealing", 0, &file), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EPERM);
	assert_int_equal(gm_ftruncate(file, PG), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EPERM);
	assert_still_ordinary(file, PG, GM_SEAL_SEAL);
	gm_file_put(file);

	file = ordinary();
	assert_int_equal(gm_add_seals(file, GM_SEAL_SEAL), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EPERM);
	assert_still_ordinary(file, 0, GM_SEAL_SEAL);
	gm_file_put(file);

	file = ordinary();
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST | 0x40), -EINVAL);
	assert_still_ordinary(file, 0, 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_seal_empty_file(void **state)
{
	struct gm_file *file = ordinary();
	int kept = dup(gm_file_fd(file));
	char buf[16], data[16] = "guest secret!";
	struct stat st;

	assert_true(kept >= 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_file_is_guest(file), 1);
	assert_int_equal(gm_get_seals(file), GM_SEAL_GUEST);
	/* Sealing again is a no-op. */
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);

	/* The host has lost the file's contents... */
	assert_int_equal(gm_file_fd(file), -EPERM);
	assert_int_equal(gm_pread(file, buf, 1, 0), -EPERM);
	assert_int_equal(gm_pwrite(file, buf, 1, 0), -EPERM);
	void *p;
	assert_int_equal(gm_mmap(file, PG, PROT_READ, MAP_SHARED, 0, &p), -EPERM);

	/* ...and the old fd can never hold data. */
	assert_int_equal(ftruncate(kept, PG), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(write(kept, "x", 1), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(pwrite(kept, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fallocate(kept, 0, 0, PG), -1);
	assert_int_equal(errno, EPERM);
	assert_true(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, kept, 0) == MAP_FAILED);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(kept, F_ADD_SEALS, 0), -1);	/* sealed shut */
	assert_int_equal(errno, EPERM);

	/* The guest-only file works, and its data never shows in the old fd. */
	assert_int_equal(gm_ftruncate(file, 4 * PG), 0);
	assert_int_equal(gm_file_guest_write(file, PG, data, sizeof(data)), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gm_file_guest_read(file, PG, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(gm_file_pages_held(file), 1);
	assert_int_equal(fstat(kept, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(pread(kept, buf, sizeof(buf), PG), 0);
	close(kept);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_seal_with_others(void **state)
{
	struct gm_file *file = ordinary();

	assert_int_equal(gm_add_seals(file, GM_SEAL_SHRINK), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST | GM_SEAL_GROW), 0);
	assert_int_equal(gm_get_seals(file), GM_SEAL_GUEST | GM_SEAL_GROW | GM_SEAL_SHRINK);
	assert_int_equal(gm_ftruncate(file, PG), -EPERM);
	assert_int_equal(gm_fallocate(file, 0, 0, PG), -EPERM);
	assert_int_equal(gm_file_size(file), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_SEAL), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_WRITE), -EPERM);
	gm_file_put(file);

	/* A file born guest-only: same seal rules, and GM_SEAL_GUEST is a no-op. */
	assert_int_equal(gm_memfd_create("born", GM_MFD_GUEST | GM_MFD_ALLOW_SEALING, &file), 0);
	assert_int_equal(gm_ftruncate(file, 2 * PG), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_get_seals(file), GM_SEAL_GUEST);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_non_empty),
		cmocka_unit_test(test_gm_mmap),
		cmocka_unit_test(test_raw_fd_writable_mapping),
		cmocka_unit_test(test_refusals_before_state),
		cmocka_unit_test(test_seal_empty_file),
		cmocka_unit_test(test_seal_with_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
