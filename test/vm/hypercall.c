/* SPDX-License-Identifier: MIT */
/*
 * Every hypercall argument comes from the guest and is checked: a table of
 * bad (and good) arguments for each call, made through the VMM's own
 * dispatcher on a booted VM's vCPU, with the value the guest would get in
 * rax.  A bad argument returns a negative errno and changes nothing.
 */
#include <inttypes.h>
#include <stdio.h>

#include "array.h"
#include "vm-internal.h"
#include "vmtest.h"

#define RAM	(4 * MiB)
#define RAM0	GM_GUEST_RAM_BASE

struct printed {
	unsigned int calls;
	char text[64];
	size_t len;
};

static void on_print(void *opaque, unsigned int vcpu, const char *text, size_t len)
{
	struct printed *p = opaque;

	p->calls++;
	p->len = len < sizeof(p->text) ? len : sizeof(p->text);
	memcpy(p->text, text, p->len);
}

static const struct {
	const char *name;
	uint64_t nr, a0, a1, a2;
	int64_t rax;
} cases[] = {
	{ "unknown call", 99, 0, 0, 0, -ENOSYS },
	{ "call 0", 0, 0, 0, 0, -ENOSYS },
	{ "print: too long", GM_HC_PRINT, 0x1000, GM_HC_MAX_PRINT + 1, 0, -EINVAL },
	{ "print: no memslot", GM_HC_PRINT, 0x50000000, 4, 0, -EFAULT },
	{ "print: wraps around", GM_HC_PRINT, UINT64_MAX - 1, 16, 0, -EFAULT },
	{ "print: private page", GM_HC_PRINT, RAM0, 8, 0, -EPERM },
	{ "print: runs off the boot slot", GM_HC_PRINT, GM_GUEST_BOOT_SIZE - 2, 8, 0, -EFAULT },
	{ "convert: direction 2", GM_HC_CONVERT, RAM0 + 2 * MiB, 4096, 2, -EINVAL },
	{ "convert: shared alias", GM_HC_CONVERT, (RAM0 + 2 * MiB) | GM_GUEST_SHARED_BIT, 4096, 0,
	  -EINVAL },
	{ "convert: unaligned", GM_HC_CONVERT, RAM0 + 2 * MiB + 8, 4096, 0, -EINVAL },
	{ "convert: size 0", GM_HC_CONVERT, RAM0 + 2 * MiB, 0, 0, -EINVAL },
	{ "convert: wraps around", GM_HC_CONVERT, UINT64_MAX & ~0xfffULL, 8192, 0, -EINVAL },
	{ "convert: past RAM", GM_HC_CONVERT, RAM0 + RAM - 4096, 8192, 0, -EINVAL },
	{ "convert: boot slot", GM_HC_CONVERT, 0, 4096, 1, -EINVAL },
	{ "report: bad key", GM_HC_REPORT, 8, 1, 0, -EINVAL },
	{ "report: huge key", GM_HC_REPORT, UINT64_MAX, 1, 0, -EINVAL },
	{ "host_read64: unaligned", GM_HC_HOST_READ64, RAM0 + 4, 0, 0, -EINVAL },
	{ "host_read64: shared alias", GM_HC_HOST_READ64, RAM0 | GM_GUEST_SHARED_BIT, 0, 0, -EINVAL },
	{ "host_read64: no memslot", GM_HC_HOST_READ64, 0x50000000, 0, 0, -EFAULT },
	/* Good ones, so that the table also shows what passes. */
	{ "print: boot slot", GM_HC_PRINT, 0x800, 4, 0, 0 },
	{ "report: good key", GM_HC_REPORT, GM_REPORT_CHECKS, 5, 0, 0 },
	{ "convert: to shared", GM_HC_CONVERT, RAM0 + 2 * MiB, 4096, 0, 0 },
	{ "host_read64: the host's view", GM_HC_HOST_READ64, RAM0 + 2 * MiB, 0, 0, 0x1122334455667788 },
	{ "progress", GM_HC_PROGRESS, 123, 0, 0, 0 },
};

static void test_arguments(void **state)
{
	enum gm_engine_kind engine = (enum gm_engine_kind)(uintptr_t)*state;
	struct printed printed = { 0 };
	struct gm_vm_handlers h = { .opaque = &printed, .print = on_print };
	static const uint8_t code[] = { GUEST_EXIT_OK };
	uint64_t host_word = 0x1122334455667788ULL;
	struct gm_vm_stats before, after;
	struct vmtest t;
	bool done;

	vmtest_create(&t, engine, RAM, true);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, RAM0, RAM, PRIVATE, 0), 0);
	vmtest_boot(&t, code, sizeof(code), 1, 0, 0);
	/* What the host will find in the shared file once the page is shared. */
	assert_int_equal(gm_pwrite(t.shared, &host_word, 8, 2 * MiB), 8);
	assert_int_equal(gm_vm_write_shared(t.vm, 0x800, "ping", 4), 0);
	t.vm->handlers = &h;
	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int64_t attr = gm_vm_get_memory_attributes(t.vm, RAM0 + 2 * MiB);
		int64_t rax;

		gm_vm_get_stats(t.vm, &before);
		rax = (int64_t)gm_vm_hypercall(&t.vm->vcpus[0], cases[i].nr, cases[i].a0,
					       cases[i].a1, cases[i].a2, &done);
		gm_vm_get_stats(t.vm, &after);
		if (rax != cases[i].rax)
			fail_msg("%s: rax %" PRId64 ", expected %" PRId64, cases[i].name, rax,
				 cases[i].rax);
		assert_false(done);
		/* A refused call converts nothing and reports nothing. */
		if (cases[i].rax < 0 && cases[i].rax > -4096) {
			assert_int_equal(gm_vm_get_memory_attributes(t.vm, RAM0 + 2 * MiB), attr);
			assert_int_equal(after.conversions, before.conversions);
			assert_memory_equal(after.report, before.report, sizeof(after.report));
		}
	}
	assert_int_equal(printed.calls, 1);
	assert_memory_equal(printed.text, "ping", 4);
	gm_vm_get_stats(t.vm, &after);
	assert_int_equal(after.report[GM_REPORT_CHECKS], 5);

	/* EXIT ends the vCPU with the guest's status. */
	assert_int_equal(gm_vm_hypercall(&t.vm->vcpus[0], GM_HC_EXIT, 7, 0, 0, &done), 0);
	assert_true(done);
	assert_int_equal(t.vm->vcpus[0].exit.reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(t.vm->vcpus[0].exit.status, 7);
	t.vm->handlers = NULL;
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_arguments, (void *)(uintptr_t)GM_ENGINE_EMU),
	};

	gm_test_require_engine(GM_ENGINE_EMU);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
