/* SPDX-License-Identifier: MIT */
/*
 * Out of address space: under an RLIMIT_AS too small for the emulator's
 * vCPUs (unicorn takes about 1 GiB each and, where it cannot, prints and
 * exits the process), gm_vm_boot() fails with -ENOMEM and the process goes
 * on.  Run in a child, whose limit the test sets; the child's exit status
 * says what happened (0: -ENOMEM as documented).
 */
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmtest.h"

#define LIMIT		(3ULL << 30)
#define VCPUS		4

static const uint8_t guest[] = { GUEST_EXIT_OK };

static int child(void)
{
	struct rlimit lim = { .rlim_cur = LIMIT, .rlim_max = LIMIT };
	struct gm_vm_boot boot = {
		.code = guest, .code_size = sizeof(guest), .ram_base = GM_GUEST_RAM_BASE,
		.ram_size = 2 * MiB, .nr_vcpus = VCPUS,
	};
	struct vmtest t;
	int ret;

	if (setrlimit(RLIMIT_AS, &lim))
		return 2;
	vmtest_create(&t, GM_ENGINE_EMU, 2 * MiB, false);
	ret = gm_vm_boot(t.vm, &boot);
	vmtest_destroy(&t);
	return ret == -ENOMEM ? 0 : 3;
}

static void test_emu_out_of_address_space(void **state)
{
	const char *why;
	int status;
	pid_t pid;

	if (!gm_engine_available(GM_ENGINE_EMU, &why))
		gm_test_skip("emu engine: %s", why);
#if defined(__SANITIZE_ADDRESS__)
	gm_test_skip("AddressSanitizer's shadow memory needs more address space than the limit");
#endif
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_emu_out_of_address_space) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
