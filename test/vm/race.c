// SPDX-License-Identifier: MIT
/*
 * vCPUs faulting private pages while the host punches and converts
 * beneath them, on the emu engine (race.h says what is checked).  In the
 * 'concurrency' suite, so CI also runs it under ThreadSanitizer: sizes stay
 * small, as TSan slows the emulator a lot.
 */
#include "race.h"

static void test_race_by_hand_1vcpu(void **state)
{
	race_by_hand(GM_ENGINE_EMU, 4 * MiB, 1, 300, 1, -1);
}

static void test_race_by_hand_2vcpus(void **state)
{
	race_by_hand(GM_ENGINE_EMU, 4 * MiB, 2, 300, 2, -1);
}

static void test_race_through_runner(void **state)
{
	race_through_runner(GM_ENGINE_EMU, 4 * MiB, 2, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_race_by_hand_1vcpu),
		cmocka_unit_test(test_race_by_hand_2vcpus),
		cmocka_unit_test(test_race_through_runner),
	};

	vmtest_require(GM_ENGINE_EMU);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
