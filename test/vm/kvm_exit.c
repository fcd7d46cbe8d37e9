// SPDX-License-Identifier: MIT
/*
 * gm_kvm_decode_access on synthetic kvm_run contents: an MMIO exit (how this
 * workplace's KVM reports an unpopulated window) and -EFAULT with
 * KVM_EXIT_MEMORY_FAULT (upstream Linux) become guest accesses; every other
 * exit is not a memory access.  Needs no /dev/kvm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/guest-abi.h>

#include "array.h"
#include "../common.h"
#include "kvm-exit.h"
#include "kvm-uapi.h"

static struct kvm_run *new_run(uint32_t reason)
{
	struct kvm_run *run = calloc(1, sizeof(*run));

	assert_non_null(run);
	run->exit_reason = reason;
	return run;
}

static void test_mmio(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint8_t is_write;
	} cases[] = {
		{ GM_GUEST_RAM_BASE + 0x1008, 8, 0 },
		{ GM_GUEST_RAM_BASE + 0x2004, 4, 1 },
		{ (GM_GUEST_RAM_BASE + 0x3001) | GM_GUEST_SHARED_BIT, 1, 1 },
		{ 0x50000000, 2, 0 },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		struct kvm_run *run = new_run(KVM_EXIT_MMIO);
		struct gm_access acc;

		memset(&acc, 0x5a, sizeof(acc));
		run->mmio.phys_addr = cases[i].addr;
		run->mmio.len = cases[i].len;
		run->mmio.is_write = cases[i].is_write;
		assert_int_equal(gm_kvm_decode_access(0, run, &acc), GM_KVM_MMIO);
		assert_int_equal(acc.gpa, cases[i].addr);
		assert_int_equal(acc.len, cases[i].len);
		assert_int_equal(acc.write, cases[i].is_write);
		/* The VMM completes the access in place, in kvm_run. */
		assert_ptr_equal(acc.data, run->mmio.data);
		free(run);
	}
	gm_test_assert_no_frames();
}

static void test_memory_fault(void **state)
{
	static const struct {
		uint64_t gpa, size, flags;
		unsigned int len;
	} cases[] = {
		{ GM_GUEST_RAM_BASE + 0x2000, 0x1000, KVM_MEMORY_EXIT_FLAG_PRIVATE, 0x1000 },
		{ GM_GUEST_RAM_BASE + 0x5000, 0x1000, 0, 0x1000 },
		/* A huge range is resolved one page at a time. */
		{ GM_GUEST_RAM_BASE + 0x200000, 0x200000, KVM_MEMORY_EXIT_FLAG_PRIVATE, 0x1000 },
		{ (GM_GUEST_RAM_BASE + 0x7000) | GM_GUEST_SHARED_BIT, 0x1000, 0, 0x1000 },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		struct kvm_run *run = new_run(KVM_EXIT_MEMORY_FAULT);
		struct gm_kvm_memory_fault *mf = gm_kvm_run_memory_fault(run);
		struct gm_access acc;

		memset(&acc, 0x5a, sizeof(acc));
		mf->gpa = cases[i].gpa;
		mf->size = cases[i].size;
		mf->flags = cases[i].flags;
		assert_int_equal(gm_kvm_decode_access(-EFAULT, run, &acc), GM_KVM_MEMORY_FAULT);
		/* The kind of access is in the address, not in the flag. */
		assert_int_equal(acc.gpa, cases[i].gpa);
		assert_int_equal(acc.len, cases[i].len);
		assert_false(acc.write);
		assert_null(acc.data);
		free(run);
	}
	gm_test_assert_no_frames();
}

static void test_not_memory(void **state)
{
	static const struct {
		const char *name;
		int ret;
		uint32_t reason;
	} cases[] = {
		{ "IO", 0, KVM_EXIT_IO },
		{ "HLT", 0, KVM_EXIT_HLT },
		{ "SHUTDOWN", 0, KVM_EXIT_SHUTDOWN },
		{ "FAIL_ENTRY", 0, KVM_EXIT_FAIL_ENTRY },
		{ "INTERNAL_ERROR", 0, KVM_EXIT_INTERNAL_ERROR },
		{ "EFAULT with IO", -EFAULT, KVM_EXIT_IO },
		{ "EFAULT with MMIO", -EFAULT, KVM_EXIT_MMIO },
		{ "EFAULT with UNKNOWN", -EFAULT, KVM_EXIT_UNKNOWN },
		{ "MEMORY_FAULT without EFAULT", 0, KVM_EXIT_MEMORY_FAULT },
		{ "MEMORY_FAULT with EINTR", -EINTR, KVM_EXIT_MEMORY_FAULT },
		{ "MMIO with EINTR", -EINTR, KVM_EXIT_MMIO },
		{ "MMIO with EAGAIN", -EAGAIN, KVM_EXIT_MMIO },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		struct kvm_run *run = new_run(cases[i].reason);
		struct gm_access acc;
		int kind;

		run->mmio.phys_addr = GM_GUEST_RAM_BASE;
		run->mmio.len = 8;
		kind = gm_kvm_decode_access(cases[i].ret, run, &acc);
		if (kind != GM_KVM_NOT_MEMORY)
			fail_msg("%s: decoded as %d", cases[i].name, kind);
		free(run);
	}
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio),
		cmocka_unit_test(test_memory_fault),
		cmocka_unit_test(test_not_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
