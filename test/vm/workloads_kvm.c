// SPDX-License-Identifier: MIT
/*
 * The workloads of workloads.c on the kvm engine (real /dev/kvm): every
 * workload (retouch included) with 1 and 2 vCPUs, shared and private, on
 * shmem at 32 MiB, and fewer, smaller cases on the other stores.  Each
 * run must pass, leave no frame behind and show its counters; what this host
 * cannot do must be refused with its errno.  Skips (77) without /dev/kvm.
 */
#include "workloads.h"

static struct gm_kvm_caps caps;

static void run_one(enum gm_run_store store, const char *workload, uint64_t mem,
		    unsigned int vcpus, bool private)
{
	struct gm_run_config cfg = {
		.engine = GM_ENGINE_KVM, .store = store, .mem = mem, .vcpus = vcpus,
		.workload = workload, .private = private,
	};

	wl_run_case(&cfg, &caps);
}

static void test_shmem(void **state)
{
	static const char *const workloads[] = { "memtest", "touch", "leakcheck", "convert",
						 "retouch" };

	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++)
		for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
			for (int private = 0; private <= 1; private++)
				run_one(GM_RUN_SHMEM, workloads[w], 32 * MiB, vcpus, private);
	gm_test_assert_no_frames();
}

/* KVM's own guest_memfd bound natively; private needs memory attributes. */
static void test_kvm_store(void **state)
{
	for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
		run_one(GM_RUN_KVM, "touch", 4 * MiB, vcpus, false);
	run_one(GM_RUN_KVM, "memtest", 4 * MiB, 1, false);
	run_one(GM_RUN_KVM, "touch", 4 * MiB, 1, true);
	run_one(GM_RUN_KVM, "leakcheck", 4 * MiB, 1, false);
	run_one(GM_RUN_KVM, "convert", 8 * MiB, 1, false);
	gm_test_assert_no_frames();
}

static void test_hugetlb(void **state)
{
	int lock = gm_test_huge_lock();
	const char *why;

	if (gm_test_hugepages_reserve(4, &why)) {
		gm_test_huge_unlock(lock);
		printf("SKIP hugetlb runs: %s\n", why);
		skip();
	}
	for (int private = 0; private <= 1; private++) {
		run_one(GM_RUN_HUGETLB, "touch", 4 * MiB, 2, private);
		run_one(GM_RUN_HUGETLB, "memtest", 2 * MiB, 1, private);
	}
	run_one(GM_RUN_HUGETLB, "leakcheck", 2 * MiB, 1, true);
	run_one(GM_RUN_HUGETLB, "convert", 8 * MiB, 1, false);	/* refused: -EINVAL */
	gm_test_hugepages_release();
	gm_test_huge_unlock(lock);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shmem),
		cmocka_unit_test(test_kvm_store),
		cmocka_unit_test(test_hugetlb),
	};
	const char *why;

	if (!gm_test_have_kvm(&why))
		gm_test_skip("kvm engine: %s", why);
	assert_int_equal(gm_kvm_probe(&caps), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
