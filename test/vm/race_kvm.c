// SPDX-License-Identifier: MIT
/*
 * The race of race.c on the kvm engine: real vCPUs fault private pages
 * (MMIO exits or KVM_EXIT_MEMORY_FAULT) while the host punches and
 * converts.  RAM stays small: guest memory accesses are slow on nested KVM.
 * Skips (77) without /dev/kvm.
 */
#include "race.h"

static void test_race_by_hand_1vcpu(void **state)
{
	race_by_hand(GM_ENGINE_KVM, 4 * MiB, 1, 300, 1, -1);
}

/* At CPL 0 this KVM reports empty windows as MMIO exits: the other fault path. */
static void test_race_by_hand_cpl0(void **state)
{
	race_by_hand(GM_ENGINE_KVM, 4 * MiB, 2, 100, 3, 0);
}

static void test_race_by_hand_2vcpus(void **state)
{
	race_by_hand(GM_ENGINE_KVM, 4 * MiB, 2, 300, 2, -1);
}

static void test_race_through_runner(void **state)
{
	race_through_runner(GM_ENGINE_KVM, 4 * MiB, 2, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_race_by_hand_1vcpu),
		cmocka_unit_test(test_race_by_hand_2vcpus),
		cmocka_unit_test(test_race_by_hand_cpl0),
		cmocka_unit_test(test_race_through_runner),
	};

	vmtest_require(GM_ENGINE_KVM);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
