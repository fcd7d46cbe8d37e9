/* SPDX-License-Identifier: MIT */
/*
 * Instructions that both read and write memory, as the first touch of a
 * private page: `addq $5, (A)` and `xchg %rax, (B)` on two fresh 4 KiB
 * pages.  Each is resolved where it happens, through userfaultfd: inside
 * KVM's own fault path on kvm (at CPL 0, which this workplace's KVM
 * emulates, and at CPL 3, which it runs natively), and inside the
 * emulator's access on emu, so no MMIO exit or replay reaches the VMM.
 * The guest reports (A) + (B) + the old value xchg returned, which must be
 * 5 + 7 + 0.  On the engine named by the program's argument.
 */
#include <stdio.h>

#include "kvm-engine.h"
#include "vmtest.h"

#define RAM	(4 * MiB)
#define PAGE_A	(GM_GUEST_RAM_BASE + 0x3000)
#define PAGE_B	(GM_GUEST_RAM_BASE + 0x5000)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static const uint8_t guest[] = {
	GUEST_RMW(PAGE_A, PAGE_B),
	GUEST_EXIT_OK,
};

/* @cpl: for kvm, the guest's privilege level (-1: the engine's default). */
static void run_at(enum gm_engine_kind engine, int cpl)
{
	struct gm_vm_stats s;
	struct gm_exit e;
	struct vmtest t;

	vmtest_create(&t, engine, RAM, true);
	if (cpl >= 0)
		assert_int_equal(gm_kvm_set_guest_cpl(t.vm, (unsigned int)cpl), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, RAM, PRIVATE, 0), 0);
	/* One shared page in each 2 MiB keeps the private faults at 4 KiB. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 0x1ff000,
						     GM_PAGE_SIZE, 0, 0), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 0x3ff000,
						     GM_PAGE_SIZE, 0, 0), 0);
	vmtest_boot(&t, guest, sizeof(guest), 1, 0, 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), 0);
	assert_int_equal(e.status, 0);
	gm_vm_get_stats(t.vm, &s);
	printf("  %s (cpl %d): value %llu, private faults 4K %llu, MMIO accesses completed %llu\n",
	       gm_vm_engine_name(t.vm), cpl, (unsigned long long)s.report[GM_REPORT_VALUE],
	       (unsigned long long)s.faults[GM_LEVEL_4K], (unsigned long long)s.mmio_completions);
	assert_int_equal(s.report[GM_REPORT_VALUE], 12);
	assert_int_equal(s.faults[GM_LEVEL_4K], 2);
	/* No access needed the VMM to complete it: the page was let in under it. */
	assert_int_equal(s.mmio_completions, 0);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_rmw(void **state)
{
	run_at(engine_arg, -1);
}

/* KVM's own fault path, where this workplace's KVM emulates the instruction. */
static void test_rmw_cpl0(void **state)
{
	run_at(engine_arg, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest emu_tests[] = { cmocka_unit_test(test_rmw) };
	/* The guest's privilege level is a kvm setting: emu has one fault path. */
	const struct CMUnitTest kvm_tests[] = {
		cmocka_unit_test(test_rmw),
		cmocka_unit_test(test_rmw_cpl0),
	};

	engine_arg = gm_test_engine(argc, argv);
	if (engine_arg == GM_ENGINE_KVM)
		return cmocka_run_group_tests(kvm_tests, NULL, NULL);
	return cmocka_run_group_tests(emu_tests, NULL, NULL);
}
