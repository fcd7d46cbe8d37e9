/* SPDX-License-Identifier: MIT */
/*
 * Private launch (gm_vm_launch_populate, gm_vm_launch_digest): the VMM puts
 * bytes in private pages before the first run, the guest reads them there
 * and the host cannot; the digest measures what went in, in order; after
 * the run nothing more goes in.  And the PC calls refuse a VM that is not
 * a PC (or an engine that cannot make one).
 */
#include <inttypes.h>

#include "vmtest.h"

#define RAM	(4 * MiB)
#define RAM0	GM_GUEST_RAM_BASE

static enum gm_engine_kind engine_arg;

/* Report the qword at rdi (GM_REPORT_VALUE), then exit 0. */
static const uint8_t read_guest[] = {
	0x48, 0x8b, 0x37,		/* mov (%rdi), %rsi */
	0xbf, 0x04, 0x00, 0x00, 0x00,	/* mov $GM_REPORT_VALUE, %edi */
	0xb8, 0x04, 0x00, 0x00, 0x00,	/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,			/* out %eax, $GM_HC_PORT */
	GUEST_EXIT_OK
};

static void digest_of(struct gm_vm *vm, uint8_t d[GM_LAUNCH_DIGEST_SIZE])
{
	assert_int_equal(gm_vm_launch_digest(vm, d), 0);
}

/* A VM whose first MiB of RAM is private, the rest shared. */
static void make(struct vmtest *t)
{
	vmtest_create(t, engine_arg, RAM, true);
	assert_int_equal(gm_vm_set_memory_attributes(t->vm, RAM0, MiB, PRIVATE, 0), 0);
}

static void test_private_page_reaches_guest_only(void **state)
{
	uint64_t secret = 0x5ec7e75ec7e75ec7ULL, shared = 0x1122334455667788ULL, got = 0;
	struct gm_exit exits[1];
	struct gm_vm_stats st;
	struct vmtest t;

	make(&t);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0, &secret, sizeof(secret)), 0);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0 + 2 * MiB, &shared, sizeof(shared)), 0);
	/* The host cannot read the private page, by the VM or by its file. */
	assert_int_equal(gm_vm_read_shared(t.vm, RAM0, &got, sizeof(got)), -EPERM);
	assert_true(gm_pread(t.private, &got, sizeof(got), 0) < 0);
	assert_int_equal(gm_pread(t.shared, &got, sizeof(got), 0), sizeof(got));
	assert_int_equal(got, 0);
	/* The shared one went to the shared file. */
	assert_int_equal(gm_vm_read_shared(t.vm, RAM0 + 2 * MiB, &got, sizeof(got)), 0);
	assert_int_equal(got, shared);

	vmtest_boot(&t, read_guest, sizeof(read_guest), 1, 0, 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, exits), 0);
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(st.report[GM_REPORT_VALUE], secret);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_digest_measures_order_and_bytes(void **state)
{
	uint8_t a[GM_LAUNCH_DIGEST_SIZE], b[GM_LAUNCH_DIGEST_SIZE], c[GM_LAUNCH_DIGEST_SIZE];
	uint8_t empty[GM_LAUNCH_DIGEST_SIZE], page[4096];
	struct vmtest t1, t2, t3;

	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7);
	make(&t1);
	make(&t2);
	make(&t3);
	digest_of(t1.vm, empty);
	/* Same bytes, same places, same order: same digest, on any VM. */
	assert_int_equal(gm_vm_launch_populate(t1.vm, RAM0, page, sizeof(page)), 0);
	assert_int_equal(gm_vm_launch_populate(t1.vm, RAM0 + 3 * MiB, page, 100), 0);
	assert_int_equal(gm_vm_launch_populate(t2.vm, RAM0, page, sizeof(page)), 0);
	assert_int_equal(gm_vm_launch_populate(t2.vm, RAM0 + 3 * MiB, page, 100), 0);
	digest_of(t1.vm, a);
	digest_of(t2.vm, b);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, empty, sizeof(a));
	/* Reading the digest does not end it: it goes on measuring. */
	assert_int_equal(gm_vm_launch_populate(t2.vm, RAM0 + 8192, page, 1), 0);
	digest_of(t2.vm, b);
	assert_memory_not_equal(a, b, sizeof(a));
	/* The other order, or one byte changed, is another launch. */
	assert_int_equal(gm_vm_launch_populate(t3.vm, RAM0 + 3 * MiB, page, 100), 0);
	assert_int_equal(gm_vm_launch_populate(t3.vm, RAM0, page, sizeof(page)), 0);
	digest_of(t3.vm, c);
	assert_memory_not_equal(a, c, sizeof(a));
	vmtest_destroy(&t3);
	make(&t3);
	page[4095] ^= 1;
	assert_int_equal(gm_vm_launch_populate(t3.vm, RAM0, page, sizeof(page)), 0);
	assert_int_equal(gm_vm_launch_populate(t3.vm, RAM0 + 3 * MiB, page, 100), 0);
	digest_of(t3.vm, c);
	assert_memory_not_equal(a, c, sizeof(a));
	vmtest_destroy(&t1);
	vmtest_destroy(&t2);
	vmtest_destroy(&t3);
	gm_test_assert_no_frames();
}

static void test_refused(void **state)
{
	uint8_t before[GM_LAUNCH_DIGEST_SIZE], after[GM_LAUNCH_DIGEST_SIZE];
	uint64_t word = 42, got = 0;
	struct gm_exit exits[1];
	struct vmtest t;

	make(&t);
	digest_of(t.vm, before);
	assert_int_equal(gm_vm_launch_populate(NULL, RAM0, &word, 8), -EFAULT);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0, NULL, 8), -EFAULT);
	assert_int_equal(gm_vm_launch_digest(t.vm, NULL), -EFAULT);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0, &word, 0), -EINVAL);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0 | GM_GUEST_SHARED_BIT, &word, 8),
			 -EINVAL);
	assert_int_equal(gm_vm_launch_populate(t.vm, UINT64_MAX - 3, &word, 8), -EINVAL);
	/* Off the end of RAM: checked before anything is written. */
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0 + RAM - 4, &word, 8), -EINVAL);
	assert_int_equal(gm_vm_read_shared(t.vm, RAM0 + RAM - 8, &got, 8), 0);
	assert_int_equal(got, 0);
	digest_of(t.vm, after);
	assert_memory_equal(before, after, sizeof(before));

	/* Once the VM has run, only the guest writes its memory. */
	vmtest_boot(&t, read_guest, sizeof(read_guest), 1, 0, 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, exits), 0);
	assert_int_equal(gm_vm_launch_populate(t.vm, RAM0 + 2 * MiB, &word, 8), -EPERM);
	assert_int_equal(gm_vm_read_shared(t.vm, RAM0 + 2 * MiB, &got, 8), 0);
	assert_int_equal(got, 0);
	digest_of(t.vm, after);
	assert_memory_equal(before, after, sizeof(before));
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

/* A VM that is not a PC has no interrupt lines; emu cannot make one. */
static void test_pc_calls_refused(void **state)
{
	struct gm_vm_x86_boot boot = { .nr_vcpus = 1 };
	struct vmtest t;

	make(&t);
	assert_int_equal(gm_vm_irq_line(t.vm, 4, true), -EINVAL);
	assert_int_equal(gm_vm_irq_line(NULL, 4, true), -EFAULT);
	assert_int_equal(gm_vm_boot_x86(NULL, &boot), -EFAULT);
	boot.nr_vcpus = 0;
	assert_int_equal(gm_vm_boot_x86(t.vm, &boot), -EINVAL);
	boot.nr_vcpus = GM_GUEST_MAX_VCPUS + 1;
	assert_int_equal(gm_vm_boot_x86(t.vm, &boot), -EINVAL);
	boot.nr_vcpus = 1;
	if (engine_arg == GM_ENGINE_EMU)
		assert_int_equal(gm_vm_boot_x86(t.vm, &boot), -EOPNOTSUPP);
	vmtest_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_page_reaches_guest_only),
		cmocka_unit_test(test_digest_measures_order_and_bytes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_pc_calls_refused),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
