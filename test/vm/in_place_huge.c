/* SPDX-License-Identifier: MIT */
/*
 * In place on a huge page (issue 20): RAM is one in-place guest-only file
 * of one 1 GiB page (a 2 MiB one where this host cannot reserve 1 GiB),
 * private, which the touch guest writes whole: one fault maps the folio at
 * its level.  Then one 4 KiB page of it goes to shared and back, keeping
 * its bytes, 100,000 times: the folio stays one allocation, the page the
 * conversions take leaves the stage-2 record, the rest of the folio is
 * recorded at 4 KiB while mixed, no fault is taken for any of it, and the
 * page's bytes are the guest's each time the host reads it shared.  The
 * emulator's: the kvm engine converts whole huge pages only (-EINVAL).
 */
#include <stdio.h>

#include "guest-images.h"
#include "vmtest.h"
#include "../frames.h"
#include "vm-test.h"

#define ROUNDS		100000
#define PAGE_AT		(37 * GM_PAGE_SIZE)	/* the page converted */
#define NEIGHBOUR_AT	(38 * GM_PAGE_SIZE)

static unsigned int page_shift;		/* the huge page's */

static enum gm_level level_of(struct gm_vm *vm, uint64_t off)
{
	enum gm_level level = 0;
	gm_pfn_t pfn;

	if (gm_vm_translate(vm, GM_GUEST_RAM_BASE + off, &pfn, &level))
		return 0;
	return level;
}

static bool nonzero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return true;
	return false;
}

static void convert(struct gm_vm *vm, uint64_t off, bool private)
{
	assert_int_equal(gm_vm_set_memory_attributes2(vm, GM_GUEST_RAM_BASE + off, GM_PAGE_SIZE,
						      private ? PRIVATE : 0, GM_CONVERT_PRESERVE,
						      NULL), 0);
}

static void test_one_page_of_a_huge_page(void **state)
{
	uint64_t size = 1ULL << page_shift, pages = size >> GM_PAGE_SHIFT;
	enum gm_level huge = page_shift == GM_HUGE_1G_SHIFT ? GM_LEVEL_1G : GM_LEVEL_2M;
	const struct gm_guest_image *touch = gm_guest_image_find("touch");
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = size,
				  .flags = GM_SLOT_PRIVATE };
	struct gm_vm_boot b = { .code = touch->start, .code_size = touch->size,
				.ram_base = GM_GUEST_RAM_BASE, .ram_size = size,
				.flags = GM_GUEST_F_PRIVATE | GM_GUEST_F_IN_PLACE, .nr_vcpus = 1 };
	uint8_t written[GM_PAGE_SIZE], now[GM_PAGE_SIZE];
	struct gm_file *boot_file, *file;
	struct gm_vm_stats before, after;
	struct gm_exit e;
	struct gm_vm *vm;

	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &vm), 0);
	boot_file = vmtest_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	file = vmtest_file(GM_MFD_GUEST | GM_MFD_GUEST_MMAP | GM_MFD_HUGETLB |
			   (huge == GM_LEVEL_1G ? GM_MFD_HUGE_1GB : 0), size);
	boot.shared_file = boot_file;
	ram.shared_file = ram.private_file = file;
	assert_int_equal(gm_vm_set_memslot(vm, &boot), 0);
	assert_int_equal(gm_vm_set_memslot(vm, &ram), 0);
	/* Private from birth: the file says so, and the slot took its attributes. */
	assert_int_equal(gm_vm_get_memory_attributes(vm, GM_GUEST_RAM_BASE), PRIVATE);
	assert_int_equal(gm_vm_boot(vm, &b), 0);
	assert_int_equal(gm_vm_run(vm, NULL, &e), 0);
	assert_int_equal(e.reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(e.status, 0);
	gm_vm_get_stats(vm, &before);
	assert_int_equal(before.faults[huge], 1);
	assert_int_equal(level_of(vm, NEIGHBOUR_AT), huge);

	/* What the guest wrote, seen once the page is shared, bytes kept. */
	convert(vm, PAGE_AT, false);
	assert_int_equal(gm_vm_read_shared(vm, GM_GUEST_RAM_BASE + PAGE_AT, written,
					   sizeof(written)), 0);
	assert_true(nonzero(written, sizeof(written)));
	convert(vm, PAGE_AT, true);
	for (int r = 0; r < ROUNDS; r++) {
		convert(vm, PAGE_AT, false);
		/* Mixed: the page is not private, the rest of the folio is at 4 KiB. */
		if (level_of(vm, PAGE_AT) || level_of(vm, NEIGHBOUR_AT) != GM_LEVEL_4K)
			fail_msg("round %d: levels %d and %d", r, level_of(vm, PAGE_AT),
				 level_of(vm, NEIGHBOUR_AT));
		if (r % 10000 == 0) {
			assert_int_equal(gm_vm_read_shared(vm, GM_GUEST_RAM_BASE + PAGE_AT, now,
							   sizeof(now)), 0);
			assert_memory_equal(now, written, sizeof(now));
		}
		convert(vm, PAGE_AT, true);
	}
	gm_vm_get_stats(vm, &after);
	printf("  %u conversions of one 4 KiB page of a %s page: faults 4K %llu, 2M %llu, "
	       "1G %llu; %llu 4 KiB frames held\n", 2 * ROUNDS + 2,
	       huge == GM_LEVEL_1G ? "1 GiB" : "2 MiB",
	       (unsigned long long)after.faults[GM_LEVEL_4K],
	       (unsigned long long)after.faults[GM_LEVEL_2M],
	       (unsigned long long)after.faults[GM_LEVEL_1G],
	       (unsigned long long)gm_file_pages_held(file));
	assert_int_equal(after.conversions - before.conversions, 2 * ROUNDS + 2);
	for (int l = GM_LEVEL_4K; l <= GM_LEVEL_1G; l++)
		assert_int_equal(after.faults[l], before.faults[l]);
	/* One allocation all along: the folio was never split nor freed. */
	assert_int_equal(gm_file_pages_held(file), pages);
	assert_int_equal(gm_test_frames_in_use(page_shift - GM_PAGE_SHIFT), pages);
	assert_int_equal(gm_vm_check_stage2(vm), 0);

	gm_vm_destroy(vm);
	gm_file_put(boot_file);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_one_page_of_a_huge_page) };
	const char *why, *why_2m;
	int ret;

	if (gm_engine_available(GM_ENGINE_EMU, &why) != 1)
		gm_test_skip("the emulator: %s", why);
	page_shift = GM_HUGE_1G_SHIFT;
	if (gm_test_huge_try_begin(1, true, &why)) {
		page_shift = GM_HUGE_2M_SHIFT;
		if (gm_test_huge_try_begin(1, false, &why_2m))
			gm_test_skip("huge pages: 1 GiB: %s; 2 MiB: %s", why, why_2m);
		printf("  no 1 GiB page (%s): on a 2 MiB one\n", why);
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	gm_test_huge_end();
	return ret;
}
