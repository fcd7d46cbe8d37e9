/* SPDX-License-Identifier: MIT */
/*
 * 1 GiB folios end to end: a private slot backed by a guest-only hugetlb
 * file of 1 GiB pages.  The touch guest writes every page of it; the fault
 * path must map the whole folio at GM_LEVEL_1G with one fault, the stage-2
 * map must name the folio's frames, and every page must be reachable.  On
 * the engine the program's argument names.  Needs root and one free 1 GiB
 * page; skips with the reason otherwise.
 */
#include <stdio.h>

#include "guest-images.h"
#include "vmtest.h"
#include "../frames.h"
#include "vm-test.h"

#define GiB (1ULL << 30)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static void run_on(enum gm_engine_kind engine)
{
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = GiB,
				  .flags = GM_SLOT_PRIVATE };
	const struct gm_guest_image *touch = gm_guest_image_find("touch");
	struct gm_vm_boot b = { .code = touch->start, .code_size = touch->size,
				.ram_base = GM_GUEST_RAM_BASE, .ram_size = GiB,
				.flags = GM_GUEST_F_PRIVATE, .nr_vcpus = 1 };
	struct gm_file *boot_file, *shared, *private;
	enum gm_level level;
	struct gm_vm_stats s;
	struct gm_exit e;
	struct gm_vm *vm;
	gm_pfn_t first, last;
	uint64_t index = UINT64_MAX;

	assert_int_equal(gm_vm_create(engine, &vm), 0);
	boot_file = vmtest_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	shared = vmtest_file(GM_MFD_CLOEXEC, GiB);
	private = vmtest_file(GM_MFD_GUEST | GM_MFD_HUGETLB | GM_MFD_HUGE_1GB, GiB);
	boot.shared_file = boot_file;
	ram.shared_file = shared;
	ram.private_file = private;
	assert_int_equal(gm_vm_set_memslot(vm, &boot), 0);
	assert_int_equal(gm_vm_set_memslot(vm, &ram), 0);
	assert_int_equal(gm_vm_set_memory_attributes(vm, GM_GUEST_RAM_BASE, GiB, PRIVATE, 0), 0);
	/* A 4 KiB conversion cannot split a 1 GiB folio. */
	assert_int_equal(gm_vm_set_memory_attributes(vm, GM_GUEST_RAM_BASE, GM_PAGE_SIZE, 0, 0),
			 -EINVAL);
	assert_int_equal(gm_vm_boot(vm, &b), 0);
	assert_int_equal(gm_vm_run(vm, NULL, &e), 0);
	assert_int_equal(e.reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(e.status, 0);

	gm_vm_get_stats(vm, &s);
	printf("  %s: faults 4K %llu, 2M %llu, 1G %llu\n", gm_vm_engine_name(vm),
	       (unsigned long long)s.faults[GM_LEVEL_4K], (unsigned long long)s.faults[GM_LEVEL_2M],
	       (unsigned long long)s.faults[GM_LEVEL_1G]);
	assert_int_equal(s.faults[GM_LEVEL_1G], 1);
	assert_int_equal(s.report[GM_REPORT_CHECKS], GiB / GM_PAGE_SIZE);
	assert_int_equal(gm_vm_translate(vm, GM_GUEST_RAM_BASE, &first, &level), 0);
	assert_int_equal(level, GM_LEVEL_1G);
	assert_int_equal(gm_vm_translate(vm, GM_GUEST_RAM_BASE + GiB - GM_PAGE_SIZE, &last, &level), 0);
	assert_int_equal(last, first + GiB / GM_PAGE_SIZE - 1);
	/* The frames are the private file's: its folio at index 0, held. */
	assert_int_equal(first, gm_test_pfn_of(private, 0));
	assert_int_equal(gm_test_frame_owner(first, private, &index), 0);
	assert_int_equal(index, 0);
	assert_int_equal(gm_test_frame_owner(last, private, &index), 0);
	assert_int_equal(index, GiB / GM_PAGE_SIZE - 1);
	assert_int_equal(gm_vm_check_stage2(vm), 0);
	assert_int_equal(gm_test_frames_in_use(GM_HUGE_1G_ORDER), GiB / GM_PAGE_SIZE);

	gm_vm_destroy(vm);
	gm_file_put(boot_file);
	gm_file_put(shared);
	gm_file_put(private);
	gm_test_assert_no_frames();
}

static void test_1g(void **state)
{
	run_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_1g) };
	const char *why;
	int ret;

	engine_arg = gm_test_engine(argc, argv);
	if (gm_test_huge_try_begin(1, true, &why))
		gm_test_skip("1 GiB pages: %s", why);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	gm_test_huge_end();
	return ret;
}
