// SPDX-License-Identifier: MIT
/*
 * The guest-only memory budget (gm_guest_memory_set_limit): allocation past
 * it is -ENOSPC and allocates nothing, by the host or by a guest's path;
 * pages already held cost nothing again; freeing makes room; a fallocate of
 * 64 GiB on a 4 MiB budget is refused at once instead of waking the OOM
 * killer; no cap (0) is the default, and the cap is read back.
 */
#include <errno.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"

#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define KEEP		GM_FALLOC_KEEP_SIZE
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)

static struct gm_file *guest_file(uint64_t size)
{
	struct gm_file *f = NULL;

	assert_int_equal(gm_memfd_create("budget", GM_MFD_GUEST, &f), 0);
	assert_int_equal(gm_ftruncate(f, (off_t)size), 0);
	return f;
}

static int teardown(void **state)
{
	assert_int_equal(gm_guest_memory_set_limit(0), 0);
	gm_test_assert_no_frames();
	return 0;
}

static void test_host_fallocate(void **state)
{
	struct gm_file *a = guest_file(64 * GiB), *b = guest_file(8 * MiB);

	assert_int_equal(gm_guest_memory_limit(), 0);
	assert_int_equal(gm_guest_memory_set_limit(4 * MiB + 1), -EINVAL);
	assert_int_equal(gm_guest_memory_set_limit(4 * MiB), 0);
	assert_int_equal(gm_guest_memory_limit(), 4 * MiB);

	/* 64 GiB on a 24 GiB machine: refused at once, nothing held. */
	assert_int_equal(gm_fallocate(a, KEEP, 0, (off_t)(64 * GiB)), -ENOSPC);
	assert_int_equal(gm_file_pages_held(a), 0);

	/* Up to the cap, across files; one page more is refused, in either. */
	assert_int_equal(gm_fallocate(a, KEEP, 0, (off_t)(3 * MiB)), 0);
	assert_int_equal(gm_fallocate(b, KEEP, 0, (off_t)MiB), 0);
	assert_int_equal(gm_fallocate(b, KEEP, (off_t)MiB, 4096), -ENOSPC);
	assert_int_equal(gm_fallocate(a, KEEP, (off_t)(3 * MiB), 4096), -ENOSPC);
	assert_int_equal(gm_file_pages_held(a), 3 * MiB / 4096);
	assert_int_equal(gm_file_pages_held(b), MiB / 4096);

	/* Pages already held cost nothing again. */
	assert_int_equal(gm_fallocate(a, KEEP, 0, (off_t)(3 * MiB)), 0);
	/* A range half held, half not: all or nothing. */
	assert_int_equal(gm_fallocate(a, KEEP, (off_t)(2 * MiB), (off_t)(2 * MiB)), -ENOSPC);
	assert_int_equal(gm_file_pages_held(a), 3 * MiB / 4096);

	/* Freeing makes room. */
	assert_int_equal(gm_fallocate(a, PUNCH, 0, (off_t)MiB), 0);
	assert_int_equal(gm_fallocate(b, KEEP, (off_t)MiB, (off_t)MiB), 0);
	assert_int_equal(gm_file_pages_held(b), 2 * MiB / 4096);

	/* A lower cap frees nothing; allocations fail until there is room again. */
	assert_int_equal(gm_guest_memory_set_limit(MiB), 0);
	assert_int_equal(gm_file_pages_held(a) + gm_file_pages_held(b), 4 * MiB / 4096);
	assert_int_equal(gm_fallocate(b, KEEP, (off_t)(2 * MiB), 4096), -ENOSPC);
	/* No cap: as before. */
	assert_int_equal(gm_guest_memory_set_limit(0), 0);
	assert_int_equal(gm_fallocate(b, KEEP, (off_t)(2 * MiB), (off_t)(6 * MiB)), 0);
	gm_file_put(a);
	gm_file_put(b);
}

static void noop_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops ops = { .invalidate_page_range = noop_invalidate };

/* A guest's first touch: the page it needs, not its 2 MiB range, once the cap is near. */
static void test_guest_path(void **state)
{
	struct gm_file *f = guest_file(8 * MiB);
	const struct gm_mem_ops *mem;
	gm_pfn_t pfn;
	int owner;

	assert_int_equal(gm_register_guest(f, &owner, &ops, &mem), 0);
	assert_int_equal(gm_guest_memory_set_limit(2 * MiB + 8192), 0);
	/* The first touch takes its whole 2 MiB range (the store's order hint). */
	assert_int_equal(mem->get_lock_pfn(f, 0, &pfn, &(unsigned int){ 9 }), 0);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_file_pages_held(f), 512);
	/* 2 MiB more would pass the cap: the page alone is let in, twice, then no more. */
	assert_int_equal(mem->get_lock_pfn(f, 512, &pfn, &(unsigned int){ 9 }), 0);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(mem->get_lock_pfn(f, 513, &pfn, &(unsigned int){ 9 }), 0);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_file_pages_held(f), 514);
	assert_int_equal(mem->get_lock_pfn(f, 514, &pfn, &(unsigned int){ 9 }), -ENOSPC);
	assert_int_equal(gm_file_pages_held(f), 514);
	assert_int_equal(gm_unregister_guest(f, &owner), 0);
	gm_file_put(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_host_fallocate, teardown),
		cmocka_unit_test_teardown(test_guest_path, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
