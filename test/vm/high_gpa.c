/* SPDX-License-Identifier: MIT */
/*
 * An access to a guest address no memslot holds ends as a memory-fault exit
 * that names the address as the guest used it: in the shared alias the
 * canonical address, not private; below it, private; past the alias's range
 * (bit 40 and up, where bit 39 means nothing) every bit kept, bit 39
 * included.  Driven through the fault path's entry point, which both
 * engines call with the faulting address, on the engine the argument names.
 */
#include "array.h"
#include "vm-internal.h"
#include "vmtest.h"

#define RAM		(2 * MiB)
#define HOLE		0x70000000ULL	/* no slot here */

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static const struct {
	uint64_t gpa;		/* as the guest accessed it */
	uint64_t want_gpa;	/* as the exit names it */
	bool want_private;
} cases[] = {
	{ HOLE + 0x123, HOLE, true },
	{ GM_GUEST_SHARED_BIT | (HOLE + 0x123), HOLE, false },
	{ (1ULL << 40) | 0x2345, (1ULL << 40) | 0x2000, true },
	{ (1ULL << 40) | GM_GUEST_SHARED_BIT | 0x1234,
	  (1ULL << 40) | GM_GUEST_SHARED_BIT | 0x1000, false },
	{ (1ULL << 51) | GM_GUEST_SHARED_BIT | 0xfff, (1ULL << 51) | GM_GUEST_SHARED_BIT, false },
	/* Past the RAM slot's end, in both aliases. */
	{ GM_GUEST_RAM_BASE + RAM + 8, GM_GUEST_RAM_BASE + RAM, true },
	{ GM_GUEST_SHARED_BIT | (GM_GUEST_RAM_BASE + RAM), GM_GUEST_RAM_BASE + RAM, false },
};

static void high_gpa(enum gm_engine_kind engine)
{
	struct gm_vm_stats st;
	struct vmtest t;

	vmtest_create(&t, engine, RAM, true);
	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		struct gm_access acc = { .gpa = cases[i].gpa, .len = 8 };
		struct gm_exit exit;

		memset(&exit, 0xaa, sizeof(exit));
		assert_int_equal(gm_vm_handle_fault(t.vm, NULL, &acc, &exit), 1);
		assert_int_equal(exit.reason, GM_EXIT_MEMORY_FAULT);
		if (exit.fault.gpa != cases[i].want_gpa)
			fail_msg("%s: access at %#llx reported at %#llx, want %#llx",
				 gm_vm_engine_name(t.vm), (unsigned long long)cases[i].gpa,
				 (unsigned long long)exit.fault.gpa,
				 (unsigned long long)cases[i].want_gpa);
		assert_int_equal(exit.fault.size, GM_PAGE_SIZE);
		assert_int_equal(exit.fault.private, cases[i].want_private);
	}
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(st.memory_fault_exits, GM_ARRAY_SIZE(cases));
	vmtest_destroy(&t);
}

static void test_high_gpa(void **state)
{
	high_gpa(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_high_gpa) };

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
