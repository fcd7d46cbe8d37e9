/* SPDX-License-Identifier: MIT */
/*
 * No guest reads another guest's bytes, on the engine named by the
 * program's argument.  A first VM's guest fills its private RAM with a
 * secret; then a second VM's guest reads every word of its own private RAM
 * and counts the ones that are not zero:
 *
 * - same file: the first VM goes, its private file is punched and bound by
 *   the second VM, whose guest gets the very same frames (the same pfns)
 *   again;
 * - new file: the first VM and its file go, the second VM gets a new file of
 *   the same size (its frames may carry the dead file's numbers: backing ids
 *   are reused);
 * - punched live: the file is punched under the first VM, which is still
 *   there (its guest has exited), while the second VM takes a new file.
 */
#include <stdio.h>

#include "vmtest.h"
#include "../frames.h"

#define RAM		(16 * MiB)
#define SECRET		0x5ec2e75ec2e75ec2ULL

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* rdi = RAM base, rsi = RAM size: every qword gets SECRET. */
static const uint8_t writer_guest[] = {
	0x48, 0x89, 0xf1,			/* mov %rsi, %rcx */
	0x48, 0xc1, 0xe9, 0x03,			/* shr $3, %rcx */
	0x48, 0xb8, 0xc2, 0x5e, 0xe7, 0xc2, 0x5e, 0xe7, 0xc2, 0x5e, /* movabs $SECRET, %rax */
	0xf3, 0x48, 0xab,			/* rep stosq */
	GUEST_EXIT_OK,
};

/* rdi = RAM base, rsi = RAM size: report the qwords that are not zero. */
static const uint8_t reader_guest[] = {
	0x48, 0x89, 0xf1,			/* mov %rsi, %rcx */
	0x48, 0xc1, 0xe9, 0x03,			/* shr $3, %rcx */
	0x4d, 0x31, 0xd2,			/* xor %r10, %r10 */
	0x48, 0x83, 0x3f, 0x00,			/* 1: cmpq $0, (%rdi) */
	0x74, 0x03,				/* je 2f */
	0x49, 0xff, 0xc2,			/* inc %r10 */
	0x48, 0x83, 0xc7, 0x08,			/* 2: add $8, %rdi */
	0x48, 0xff, 0xc9,			/* dec %rcx */
	0x75, 0xee,				/* jnz 1b */
	0xbf, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_MISMATCHES, %edi */
	0x4c, 0x89, 0xd6,			/* mov %r10, %rsi */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	GUEST_EXIT_OK,
};

enum scenario { SAME_FILE, NEW_FILE, PUNCHED_LIVE };

static const char *const scenario_name[] = {
	[SAME_FILE] = "same file", [NEW_FILE] = "new file", [PUNCHED_LIVE] = "punched live",
};

/* Run @code on @t, all RAM private; return what the guest reported. */
static uint64_t run_private(struct vmtest *t, const uint8_t *code, size_t len)
{
	struct gm_vm_stats s;
	struct gm_exit e;

	assert_int_equal(gm_vm_set_memory_attributes(t->vm, GM_GUEST_RAM_BASE, t->ram_size,
						     PRIVATE, 0), 0);
	vmtest_boot(t, code, len, 1, 0, 0);
	assert_int_equal(gm_vm_run(t->vm, NULL, &e), 0);
	assert_int_equal(e.reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(e.status, 0);
	gm_vm_get_stats(t->vm, &s);
	return s.report[GM_REPORT_MISMATCHES];
}

/* The second VM, on @private (a file the test holds), as vmtest_create() builds one. */
static void create_on(struct vmtest *t, enum gm_engine_kind engine, struct gm_file *private)
{
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = RAM,
				  .flags = GM_SLOT_PRIVATE };

	memset(t, 0, sizeof(*t));
	t->ram_size = RAM;
	assert_int_equal(gm_vm_create(engine, &t->vm), 0);
	t->boot = vmtest_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	t->shared = vmtest_file(GM_MFD_CLOEXEC, RAM);
	t->private = private;
	boot.shared_file = t->boot;
	ram.shared_file = t->shared;
	ram.private_file = private;
	assert_int_equal(gm_vm_set_memslot(t->vm, &boot), 0);
	assert_int_equal(gm_vm_set_memslot(t->vm, &ram), 0);
}

static void scenario_on(enum gm_engine_kind engine, enum scenario sc)
{
	struct vmtest a, b;
	struct gm_file *kept = NULL;
	gm_pfn_t first_pfn;
	uint64_t nonzero;

	vmtest_create(&a, engine, RAM, true);
	assert_int_equal(run_private(&a, writer_guest, sizeof(writer_guest)), 0);
	first_pfn = gm_test_pfn_of(a.private, 0);
	assert_int_equal(gm_file_pages_held(a.private), RAM / GM_PAGE_SIZE);

	switch (sc) {
	case SAME_FILE:
		kept = a.private;
		gm_file_get(kept);
		vmtest_destroy(&a);
		assert_int_equal(gm_fallocate(kept, PUNCH, 0, RAM), 0);
		assert_int_equal(gm_file_pages_held(kept), 0);
		create_on(&b, engine, kept);
		break;
	case NEW_FILE:
		vmtest_destroy(&a);
		vmtest_create(&b, engine, RAM, true);
		break;
	case PUNCHED_LIVE:
		assert_int_equal(gm_fallocate(a.private, PUNCH, 0, RAM), 0);
		vmtest_create(&b, engine, RAM, true);
		break;
	}
	nonzero = run_private(&b, reader_guest, sizeof(reader_guest));
	printf("  %s, %s: %llu words not zero; page 0 was pfn %#llx, now %#llx\n",
	       gm_vm_engine_name(b.vm), scenario_name[sc], (unsigned long long)nonzero,
	       (unsigned long long)first_pfn, (unsigned long long)gm_test_pfn_of(b.private, 0));
	assert_int_equal(nonzero, 0);
	if (sc == SAME_FILE)
		assert_int_equal(gm_test_pfn_of(b.private, 0), first_pfn);
	assert_int_equal(gm_file_pages_held(b.private), RAM / GM_PAGE_SIZE);
	if (sc == PUNCHED_LIVE)
		vmtest_destroy(&a);
	vmtest_destroy(&b);
	gm_test_assert_no_frames();
}

static void same_file_on(enum gm_engine_kind engine)
{
	scenario_on(engine, SAME_FILE);
}

static void new_file_on(enum gm_engine_kind engine)
{
	scenario_on(engine, NEW_FILE);
}

static void punched_live_on(enum gm_engine_kind engine)
{
	scenario_on(engine, PUNCHED_LIVE);
}

static void test_same_file(void **state)
{
	same_file_on(engine_arg);
}

static void test_new_file(void **state)
{
	new_file_on(engine_arg);
}

static void test_punched_live(void **state)
{
	punched_live_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_file),
		cmocka_unit_test(test_new_file),
		cmocka_unit_test(test_punched_live),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
