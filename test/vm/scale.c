/* SPDX-License-Identifier: MIT */
/*
 * Scale: guests that fault and convert memory 4 KiB at a time over GiBs,
 * while the host's mappings (lines of /proc/self/maps) stay as many as the
 * memslots need, whatever the guest does.  On the engine the argument names.
 *
 * - alternate: every other 4 KiB page of a 4 GiB private slot is converted
 *   to shared (524,288 conversions), then a guest writes and reads back
 *   every page, odd ones through the shared alias;
 * - random: a guest touches every 4 KiB page of a 1 GiB private slot once,
 *   in a pseudo-random order, each page its own 4 KiB fault (the slot's
 *   file offset is not 2 MiB-congruent with its guest address).
 *
 * In the KVM lab (an emulated CPU) both are smaller, still 4 KiB at a time
 * and still past 65,536 pages: 1 GiB alternate, 512 MiB random.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vmtest.h"

#define GiB		(1ULL << 30)
/*
 * Mappings a run may add besides the slots' windows: threads' stacks, and
 * the regions malloc maps as the metadata grows (AddressSanitizer's
 * allocator maps each size class apart: 86 lines seen on a 1 GiB run).  A
 * mapping per fault or per conversion would add 262,144 or 524,288.
 */
#define MAPS_SLACK	256

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* rdi = RAM base, rsi = RAM size: page i gets qword i, odd pages through the shared alias. */
static const uint8_t alternate_guest[] = {
	0x49, 0x89, 0xf1,			/* mov %rsi, %r9 */
	0x49, 0xc1, 0xe9, 0x0c,			/* shr $12, %r9: pages */
	0x48, 0x31, 0xc9,			/* xor %rcx, %rcx */
	0x48, 0x89, 0xc8,			/* 1: mov %rcx, %rax */
	0x48, 0xc1, 0xe0, 0x0c,			/* shl $12, %rax */
	0x48, 0x01, 0xf8,			/* add %rdi, %rax */
	0xf6, 0xc1, 0x01,			/* test $1, %cl */
	0x74, 0x05,				/* jz 2f */
	0x48, 0x0f, 0xba, 0xe8, 0x27,		/* bts $39, %rax */
	0x48, 0x89, 0x08,			/* 2: mov %rcx, (%rax) */
	0x48, 0xff, 0xc1,			/* inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xe1,				/* jb 1b */
	0x48, 0x31, 0xc9,			/* xor %rcx, %rcx */
	0x4d, 0x31, 0xd2,			/* xor %r10, %r10: mismatches */
	0x48, 0x89, 0xc8,			/* 3: mov %rcx, %rax */
	0x48, 0xc1, 0xe0, 0x0c,			/* shl $12, %rax */
	0x48, 0x01, 0xf8,			/* add %rdi, %rax */
	0xf6, 0xc1, 0x01,			/* test $1, %cl */
	0x74, 0x05,				/* jz 4f */
	0x48, 0x0f, 0xba, 0xe8, 0x27,		/* bts $39, %rax */
	0x48, 0x39, 0x08,			/* 4: cmp %rcx, (%rax) */
	0x74, 0x03,				/* je 5f */
	0x49, 0xff, 0xc2,			/* inc %r10 */
	0x48, 0xff, 0xc1,			/* 5: inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xdc,				/* jb 3b */
	0xbf, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_MISMATCHES, %edi */
	0x4c, 0x89, 0xd6,			/* mov %r10, %rsi */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	GUEST_EXIT_OK,
};

/* rdi = RAM base, rsi = RAM size (a power of two): page x gets qword x, x = 5x + 1 mod pages. */
static const uint8_t random_guest[] = {
	0x49, 0x89, 0xf1,			/* mov %rsi, %r9 */
	0x49, 0xc1, 0xe9, 0x0c,			/* shr $12, %r9 */
	0x4d, 0x8d, 0x59, 0xff,			/* lea -1(%r9), %r11: mask */
	0x48, 0x31, 0xd2,			/* xor %rdx, %rdx: x */
	0x48, 0x31, 0xc9,			/* xor %rcx, %rcx */
	0x48, 0x8d, 0x54, 0x92, 0x01,		/* 1: lea 1(%rdx,%rdx,4), %rdx */
	0x4c, 0x21, 0xda,			/* and %r11, %rdx */
	0x48, 0x89, 0xd0,			/* mov %rdx, %rax */
	0x48, 0xc1, 0xe0, 0x0c,			/* shl $12, %rax */
	0x48, 0x89, 0x14, 0x07,			/* mov %rdx, (%rdi,%rax) */
	0x48, 0xff, 0xc1,			/* inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xe5,				/* jb 1b */
	0x48, 0x31, 0xc9,			/* xor %rcx, %rcx */
	0x4d, 0x31, 0xd2,			/* xor %r10, %r10 */
	0x48, 0x89, 0xc8,			/* 3: mov %rcx, %rax */
	0x48, 0xc1, 0xe0, 0x0c,			/* shl $12, %rax */
	0x48, 0x39, 0x0c, 0x07,			/* cmp %rcx, (%rdi,%rax) */
	0x74, 0x03,				/* je 5f */
	0x49, 0xff, 0xc2,			/* inc %r10 */
	0x48, 0xff, 0xc1,			/* 5: inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xe8,				/* jb 3b */
	0xbf, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_MISMATCHES, %edi */
	0x4c, 0x89, 0xd6,			/* mov %r10, %rsi */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	GUEST_EXIT_OK,
};

/* The test's size: @bytes, or @lab_bytes in the KVM lab. */
static uint64_t scaled(uint64_t bytes, uint64_t lab_bytes)
{
	return gm_test_in_lab() ? lab_bytes : bytes;
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long lines = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

static void run_and_check(struct vmtest *t, long maps_before, uint64_t pages)
{
	struct gm_vm_stats s;
	struct gm_exit e;

	assert_int_equal(gm_vm_run(t->vm, NULL, &e), 0);
	assert_int_equal(e.status, 0);
	gm_vm_get_stats(t->vm, &s);
	printf("  %s: %llu pages, faults 4K %llu 2M %llu, maps %ld -> %ld\n",
	       gm_vm_engine_name(t->vm), (unsigned long long)pages,
	       (unsigned long long)s.faults[GM_LEVEL_4K], (unsigned long long)s.faults[GM_LEVEL_2M],
	       maps_before, count_maps());
	assert_int_equal(s.report[GM_REPORT_MISMATCHES], 0);
	assert_true(s.faults[GM_LEVEL_4K] >= pages);
	assert_true(count_maps() <= maps_before + MAPS_SLACK);
}

static void alternate_on(enum gm_engine_kind engine)
{
	const uint64_t ram = scaled(4 * GiB, GiB), pages = ram / GM_PAGE_SIZE;
	struct vmtest t;
	long maps;

	vmtest_create(&t, engine, ram, true);
	maps = count_maps();
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, ram, PRIVATE, 0), 0);
	for (uint64_t i = 1; i < pages; i += 2)
		assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + i * GM_PAGE_SIZE,
							     GM_PAGE_SIZE, 0, 0), 0);
	assert_true(count_maps() <= maps + MAPS_SLACK);
	vmtest_boot(&t, alternate_guest, sizeof(alternate_guest), 1, 0, 0);
	run_and_check(&t, maps, pages);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void random_on(enum gm_engine_kind engine)
{
	const uint64_t ram = scaled(GiB, GiB / 2), pages = ram / GM_PAGE_SIZE;
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot slot = { .slot = 1, .flags = GM_SLOT_PRIVATE, .gpa = GM_GUEST_RAM_BASE,
				   .size = ram, .private_offset = GM_PAGE_SIZE };
	struct vmtest t = { .ram_size = ram };
	long maps;

	assert_int_equal(gm_vm_create(engine, &t.vm), 0);
	t.boot = vmtest_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	t.shared = vmtest_file(GM_MFD_CLOEXEC, ram);
	/* One page of offset: no 2 MiB of the file lines up with 2 MiB of the guest. */
	t.private = vmtest_file(GM_MFD_GUEST, ram + GM_PAGE_SIZE);
	boot.shared_file = t.boot;
	slot.shared_file = t.shared;
	slot.private_file = t.private;
	assert_int_equal(gm_vm_set_memslot(t.vm, &boot), 0);
	assert_int_equal(gm_vm_set_memslot(t.vm, &slot), 0);
	maps = count_maps();
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, ram, PRIVATE, 0), 0);
	vmtest_boot(&t, random_guest, sizeof(random_guest), 1, 0, 0);
	run_and_check(&t, maps, pages);
	assert_int_equal(gm_file_pages_held(t.private), pages);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_alternate(void **state)
{
	alternate_on(engine_arg);
}

static void test_random(void **state)
{
	random_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_alternate),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
