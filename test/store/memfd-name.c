// SPDX-License-Identifier: MIT
/*
 * gm_memfd_create's name, against memfd_create(2): the kernel reads at most
 * 250 bytes and takes names of up to 249 (EINVAL past that).  Each name is
 * tried for an ordinary and a guest-only file, both terminated and, for the
 * names too long, without a NUL, right before a PROT_NONE page: reading one
 * byte past the 250 would fault (and ASan sees nothing there to excuse it).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "array.h"
#include "../common.h"

/* Two pages, the second PROT_NONE: a name placed at its end has no NUL. */
static char *guarded;
static size_t page;

static int setup_guard(void **state)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	guarded = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guarded == MAP_FAILED || mprotect(guarded + page, page, PROT_NONE))
		return -1;
	return 0;
}

static int teardown_guard(void **state)
{
	return munmap(guarded, 2 * page);
}

/* A name of @len 'n' bytes, ending with a NUL or at the guard page. */
static const char *make_name(size_t len, bool terminated)
{
	char *name = guarded + page - len - (terminated ? 1 : 0);

	memset(name, 'n', len);
	if (terminated)
		name[len] = '\0';
	return name;
}

/* memfd_create's answer, 0 or -errno. */
static int kernel_answer(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void check(size_t len, bool terminated, unsigned int flags, int expect)
{
	const char *name = make_name(len, terminated);
	struct gm_file *file = NULL;
	int ret;

	print_message("%zu bytes, %s, %s\n", len, terminated ? "terminated" : "no NUL",
		      (flags & GM_MFD_GUEST) ? "guest-only" : "ordinary");
	assert_int_equal(kernel_answer(name), expect);
	ret = gm_memfd_create(name, flags, &file);
	assert_int_equal(ret, expect);
	if (!ret)
		gm_file_put(file);
}

static const struct {
	size_t len;
	bool terminated;
	int expect;
} names[] = {
	{ 0, true, 0 },
	{ 248, true, 0 },
	{ 249, true, 0 },
	{ 250, true, -EINVAL },
	{ 251, true, -EINVAL },
	{ 4000, true, -EINVAL },
	/* No NUL in the 250 bytes the kernel reads: too long, not a fault. */
	{ 250, false, -EINVAL },
	{ 251, false, -EINVAL },
	{ 4000, false, -EINVAL },
};

static void test_names(void **state)
{
	size_t i;

	for (i = 0; i < GM_ARRAY_SIZE(names); i++) {
		check(names[i].len, names[i].terminated, 0, names[i].expect);
		check(names[i].len, names[i].terminated, GM_MFD_GUEST, names[i].expect);
	}
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names, setup_guard, teardown_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
