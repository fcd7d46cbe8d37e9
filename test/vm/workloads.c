// SPDX-License-Identifier: MIT
/*
 * Every guest workload (memtest, touch, leakcheck, convert) on the emu
 * engine, through gm_run as `guestmem run` does it: for each store this host
 * offers, with 1 and 2 vCPUs, RAM starting shared and private.  Each run must
 * pass, leave no frame behind and show the counters its workload implies.
 * Cases the host or the runner cannot do (hugetlb + convert, hugetlb slices
 * that are not 2 MiB multiples, private memory in KVM's guest_memfd where
 * KVM has no memory attributes) must be refused with their errno.
 */
#include "workloads.h"

static const char *const workloads[] = { "memtest", "touch", "leakcheck", "convert" };

static struct gm_kvm_caps caps;

static void run_store(enum gm_run_store store, uint64_t mem)
{
	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++)
		for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
			for (int private = 0; private <= 1; private++) {
				struct gm_run_config cfg = {
					.engine = GM_ENGINE_EMU, .store = store, .mem = mem,
					.vcpus = vcpus, .workload = workloads[w],
					.private = private,
				};

				wl_run_case(&cfg, &caps);
			}
	gm_test_assert_no_frames();
}

static void test_shmem(void **state)
{
	run_store(GM_RUN_SHMEM, 8 * MiB);
}

/* The kvm store holds RAM in KVM's guest_memfd (owned by a helper KVM VM). */
static void test_kvm_store(void **state)
{
	run_store(GM_RUN_KVM, 8 * MiB);
}

static void test_hugetlb(void **state)
{
	/* 8 MiB of shared and 8 MiB of private RAM, in 2 MiB pages. */
	int lock = gm_test_huge_lock();
	struct gm_run_config slices = {
		.engine = GM_ENGINE_EMU, .store = GM_RUN_HUGETLB, .mem = 2 * MiB,
		.vcpus = 2, .workload = "touch",
	};
	const char *why;
	char text[256];

	if (gm_test_hugepages_reserve(8, &why)) {
		/* No huge pages: the store must be refused, not half run. */
		if (gm_hugetlb_free_pages(21) <= 0)
			assert_int_equal(gm_run_check(&slices, text, sizeof(text)), -ENODEV);
		gm_test_huge_unlock(lock);
		printf("SKIP hugetlb runs: %s\n", why);
		skip();
	}
	run_store(GM_RUN_HUGETLB, 8 * MiB);
	/* 1 MiB per vCPU cannot be whole huge pages. */
	wl_run_case(&slices, &caps);
	gm_test_hugepages_release();
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shmem),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_kvm_store),
	};
	const char *why;

	if (!gm_engine_available(GM_ENGINE_EMU, &why))
		gm_test_skip("emu engine: %s", why);
	assert_int_equal(gm_kvm_probe(&caps), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
